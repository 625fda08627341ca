import assert from 'node:assert/strict';
import { test } from 'node:test';

import { niceMax, polylinePoints, terminalPhase } from '../src/widgets/logic';

void test('terminalPhase: what the Python Terminal.status mirrors', () => {
  assert.equal(terminalPhase('', false, false), 'connecting');
  assert.equal(terminalPhase('', true, false), 'connected');
  assert.equal(terminalPhase('starting…', false, false), 'connecting');
  assert.equal(terminalPhase('connection lost: reconnecting…', false, false), 'reconnecting');
  assert.equal(terminalPhase('detached', false, false), 'detached');
  assert.equal(terminalPhase('exited with status 3', false, true), 'exited');
  assert.equal(terminalPhase('no such container', false, false), 'error');
  assert.equal(terminalPhase('container is exited', false, false), 'error');
});

void test('niceMax: 1, 2, 5 x 10^n at or above the value, never below the floor', () => {
  assert.equal(niceMax(0, 1), 1);
  assert.equal(niceMax(0.3, 1), 1);
  assert.equal(niceMax(1.5, 1), 2);
  assert.equal(niceMax(3, 1), 5);
  assert.equal(niceMax(7, 1), 10);
  assert.equal(niceMax(100, 1), 100);
  assert.equal(niceMax(101, 1), 200);
  assert.equal(niceMax(3 * 1024 * 1024, 1024 * 1024), 5000000);
  assert.equal(niceMax(NaN, 1), 1);
});

void test('polylinePoints: right-aligned in the slots, scaled to max, clamped', () => {
  assert.equal(polylinePoints([], 100, 10, 1), '');
  assert.equal(polylinePoints([0, 1], 100, 10, 1), '0,10 100,0');
  // two values in five slots: the last two positions (x = 75, 100)
  assert.equal(polylinePoints([0, 0.5], 100, 10, 1, 5), '75,10 100,5');
  // more values than slots: the newest ones; values above max and below 0 are clamped
  assert.equal(polylinePoints([9, 2, -1], 100, 10, 1, 2), '0,0 100,10');
  assert.equal(polylinePoints([5], 100, 10, 10, 1), '100,5');
});

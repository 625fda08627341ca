import assert from 'node:assert/strict';
import { test } from 'node:test';

import { splitRowActions } from '../src/rowmenu';
import { kindLabel, nextStep, positionAfter, reasonSummary, settlePosition, stepFromApi, stepProblem } from '../src/timeline/model';

void test('stepFromApi: the REST object as a step, with the kind label', () => {
  const s = stepFromApi({ Name: 'step-1', Kind: 'filesystem', Created: '2026-11-30T13:00:00.5Z', Size: 2048, Reason: 'Error (criu/sk-inet.c:1)\nmore' });
  assert.deepEqual(s, {
    name: 'step-1',
    kind: 'filesystem',
    label: 'filesystem only',
    created: Date.UTC(2026, 10, 30, 13, 0, 0, 500) / 1000,
    size: 2048,
    reason: 'Error (criu/sk-inet.c:1)\nmore'
  });
  assert.equal(stepFromApi({ Name: 'a', Kind: 'checkpoint', Created: 'garbage' }).created, 0);
  assert.equal(kindLabel('checkpoint'), 'checkpoint');
  assert.equal(reasonSummary('first line \nsecond'), 'first line');
});

void test('positionAfter: snapshot and rewind move it, removing the current step clears it', () => {
  assert.equal(positionAfter('', 'snapshot', 'step-1'), 'step-1');
  assert.equal(positionAfter('step-3', 'rewind', 'step-2'), 'step-2');
  assert.equal(positionAfter('step-2', 'snapshot_remove', 'step-3'), 'step-2');
  assert.equal(positionAfter('step-2', 'snapshot_remove', 'step-2'), '');
  assert.equal(positionAfter('step-2', 'start', undefined), 'step-2');
  assert.equal(positionAfter('step-2', 'rewind', undefined), 'step-2');
});

void test('settlePosition: a known position if still there, else the newest when nothing is known', () => {
  assert.equal(settlePosition('b', ['a', 'b', 'c'], true), 'b');
  assert.equal(settlePosition('x', ['a', 'b'], true), '');
  assert.equal(settlePosition('', ['a', 'b'], false), 'b');
  assert.equal(settlePosition('', [], false), '');
});

void test('nextStep and stepProblem: the engine rule for names', () => {
  assert.equal(nextStep([]), 'step-1');
  assert.equal(nextStep(['step-1', 'step-7', 'x-9', 'step-a']), 'step-8');
  assert.equal(stepProblem('step-2'), '');
  assert.equal(stepProblem('a.b_c-1'), '');
  assert.match(stepProblem(''), /name/);
  assert.match(stepProblem('-x'), /starting with/);
  assert.match(stepProblem('a/b'), /letters/);
  assert.match(stepProblem('x'.repeat(129)), /128/);
});

void test('splitRowActions: rare lifecycle actions and inline:false extras go to the ... menu', () => {
  const extras = [{ id: 'terminal' }, { id: 'edit-cell', inline: false }, { id: 'logs', inline: true }, { id: 'timeline', inline: false }];
  const split = splitRowActions(['stop', 'pause', 'restart', 'kill', 'checkpoint', 'remove'], extras);
  assert.deepEqual(split.lifecycle, { inline: ['stop', 'pause', 'checkpoint', 'remove'], more: ['restart', 'kill'] });
  assert.deepEqual(split.extras.inline.map(e => e.id), ['terminal', 'logs']);
  assert.deepEqual(split.extras.more.map(e => e.id), ['edit-cell', 'timeline']);
  // a running row: at most 4 lifecycle buttons + terminal + logs (+ "...")
  assert.ok(split.lifecycle.inline.length + split.extras.inline.length <= 6);
});

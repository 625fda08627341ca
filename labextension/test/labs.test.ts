import assert from 'node:assert/strict';
import { test } from 'node:test';

import { failureLines, groupLabs, ILabResult, labConfirmText, resultSummary } from '../src/labmodel';
import { containerFromList, IContainer } from '../src/model';

function ctr(name: string, state: string, lab?: string): IContainer {
  return { id: name, name, image: 'i', state, startedAt: 0, exitCode: 0, command: [], restorable: false, lab };
}

void test('containerFromList reads the lab label', () => {
  const item = { Id: 'x', Names: ['a'], State: 'running', Labels: { 'jupyter-ctr.lab': 'lab1', k: 'v' } };
  assert.equal(containerFromList(item).lab, 'lab1');
  assert.equal(containerFromList({ Id: 'y', Labels: null }).lab, undefined);
  assert.equal(containerFromList({ Id: 'z', Labels: { 'jupyter-ctr.lab': '' } }).lab, undefined);
});

void test('groupLabs counts containers and running ones per lab, by name', () => {
  const labs = groupLabs([
    ctr('a', 'running', 'zeta'),
    ctr('b', 'exited', 'alpha'),
    ctr('c', 'running', 'alpha'),
    ctr('d', 'running')
  ]);
  assert.deepEqual(labs, [
    { name: 'alpha', containers: 2, running: 1 },
    { name: 'zeta', containers: 1, running: 1 }
  ]);
  assert.deepEqual(groupLabs([ctr('d', 'running')]), []);
});

void test('results: summary and failure lines', () => {
  const results: ILabResult[] = [
    { Id: '1', Name: 'a', Owner: 'alice', Ok: true, Error: '' },
    { Id: '2', Name: 'b', Owner: 'bob', Ok: false, Error: 'no snapshot step-2' }
  ];
  assert.equal(resultSummary('lab1', 'reset', results), 'Reset 1 of 2 containers of lab1; 1 failed');
  assert.equal(resultSummary('lab1', 'stop', results.slice(0, 1)), 'Stopped 1 container of lab1');
  assert.deepEqual(failureLines(results), ['b (bob): no snapshot step-2']);
  assert.match(labConfirmText({ name: 'lab1', containers: 2, running: 2 }, 'remove'), /Remove all 2 containers of lab lab1/);
  assert.match(labConfirmText({ name: 'lab1', containers: 2, running: 2 }, 'reset', 's1'), /to step s1/);
});

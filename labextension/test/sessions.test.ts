import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeMessage } from '../src/terminal/protocol';
import {
  ISessionState,
  canResize,
  canType,
  decodeSession,
  listNames,
  recordBadge,
  recordButton,
  recordMessage,
  releaseMessage,
  sessionBanner,
  sessionsOf,
  shadowButton,
  takeOverMessage
} from '../src/terminal/sessions';

function state(over: Partial<ISessionState> = {}): ISessionState {
  return { recording: false, required: false, recordingId: null, role: 'owner', viewers: [], ...over };
}

void test('the session message decodes; a malformed one is null', () => {
  const frame = JSON.stringify(['session', {
    recording: true, required: false, recording_id: 'r1', role: 'owner',
    viewers: [{ user: 'teacher', role: 'watching' }]
  }]);
  assert.deepEqual(decodeMessage(frame), {
    kind: 'session',
    state: state({ recording: true, recordingId: 'r1', viewers: [{ user: 'teacher', role: 'watching' }] })
  });
  assert.equal(decodeMessage('["session", 3]'), null);
  assert.equal(decodeMessage('["session", [1]]'), null);
  // unknown roles fall back; missing fields are their defaults
  assert.deepEqual(decodeSession({ role: 'boss', recording_id: '' }), state());
});

void test('client messages of recording and shadowing', () => {
  assert.equal(recordMessage(true), '["record",true]');
  assert.equal(recordMessage(false), '["record",false]');
  assert.equal(takeOverMessage(), '["take_over"]');
  assert.equal(releaseMessage(), '["release"]');
});

void test('only the owner resizes; a watcher cannot type until it takes over', () => {
  assert.equal(canType(null, false), true);
  assert.equal(canType(null, true), false); // a shadow tab before the server said
  assert.equal(canType(state({ role: 'watching' }), true), false);
  assert.equal(canType(state({ role: 'typing' }), true), true);
  assert.equal(canResize(state({ role: 'typing' }), true), false);
  assert.equal(canResize(state(), false), true);
  assert.equal(canResize(null, true), false);
});

void test('the REC badge shows while recording, and says when it is required', () => {
  assert.equal(recordBadge(null).shown, false);
  assert.equal(recordBadge(state()).shown, false);
  const b = recordBadge(state({ recording: true, recordingId: 'abc' }));
  assert.equal(b.shown, true);
  assert.match(b.tooltip, /being recorded.*abc/);
  assert.match(recordBadge(state({ recording: true, required: true })).tooltip, /required for this lab/);
});

void test('the owner sees who watches or types', () => {
  assert.equal(sessionBanner(state(), false).text, '');
  assert.deepEqual(sessionBanner(state({ viewers: [{ user: 'teacher', role: 'watching' }] }), false),
    { text: 'teacher is watching this terminal', level: 'info' });
  assert.deepEqual(sessionBanner(state({ viewers: [{ user: 'teacher', role: 'typing' }, { user: 'ta', role: 'watching' }] }), false),
    { text: 'teacher is typing in this terminal', level: 'warn' });
  assert.equal(sessionBanner(state({ viewers: [{ user: 'a', role: 'watching' }, { user: 'b', role: 'watching' }] }), false).text,
    'a and b are watching this terminal');
  assert.match(sessionBanner(state({ role: 'watching' }), true).text, /read-only.*Take over/);
  assert.match(sessionBanner(state({ role: 'typing' }), true).text, /took over/);
  assert.match(sessionBanner(null, true).text, /read-only/);
  assert.equal(listNames(['a', 'b', 'c', 'a']), 'a, b and c');
  assert.equal(sessionBanner(state({ viewers: [{ user: 'b25a645ece6e4cab9431715b1ca9dc52', role: 'typing' }] }), false).text,
    'someone in another page is typing in this terminal');
});

void test('the Record button: start, stop, or disabled with the reason when required', () => {
  assert.equal(recordButton(null).shown, false);
  assert.equal(recordButton(state({ role: 'watching' })).shown, false);
  assert.deepEqual(
    [recordButton(state()).label, recordButton(state()).enabled, recordButton(state()).on],
    ['Record', true, true]
  );
  const stop = recordButton(state({ recording: true }));
  assert.deepEqual([stop.label, stop.enabled, stop.on], ['Stop recording', true, false]);
  const req = recordButton(state({ recording: true, required: true }));
  assert.equal(req.enabled, false);
  assert.match(req.title, /required/);
});

void test('a viewer takes over, then releases', () => {
  assert.equal(shadowButton(state(), false), null);
  assert.deepEqual(shadowButton(state({ role: 'watching' }), true), { label: 'Take over', message: '["take_over"]' });
  assert.deepEqual(shadowButton(state({ role: 'typing' }), true), { label: 'Release', message: '["release"]' });
});

void test('live sessions of a container: exec shells first, with a label to pick by', () => {
  const list = [
    { Key: 'k1', Container: 'c1id', ContainerName: 'box', ExecID: null, Owner: 'alice', Viewers: 0, Recording: false },
    { Key: 'k2', Container: 'c1id', ContainerName: 'box', ExecID: 'e123456789abcdef', Owner: 'alice', Viewers: 1, Recording: true },
    { Key: 'k3', Container: 'c2id', ContainerName: 'other', ExecID: 'e2', Owner: 'bob' }
  ];
  const got = sessionsOf(list, 'box');
  assert.deepEqual(got.map(t => t.execId), ['e123456789abcdef', null]);
  assert.equal(got[0].label, 'box: shell e123456789ab (of alice, recording, 1 watching)');
  assert.equal(got[1].label, 'box: main process (of alice)');
  assert.equal(sessionsOf(list, 'c2id')[0].container, 'other');
  assert.equal(sessionsOf(list, '').length, 3);
});

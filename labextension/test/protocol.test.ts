import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  DetachMatcher,
  ResizeScheduler,
  SessionTracker,
  closeStdinMessage,
  decodeMessage,
  exitNote,
  parseDetachKeys,
  sizeMessage,
  stdinMessage,
  splitCommand,
  AUTO_SHELL
} from '../src/terminal/protocol';

void test('client messages are the JSON arrays of the protocol', () => {
  assert.equal(stdinMessage('ls\n'), '["stdin","ls\\n"]');
  assert.equal(sizeMessage(24, 80), '["set_size",24,80]');
  assert.equal(closeStdinMessage(), '["close_stdin"]');
  assert.deepEqual(JSON.parse(stdinMessage('é"\u0003')), ['stdin', 'é"\u0003']);
});

void test('server messages decode; anything else is null', () => {
  assert.deepEqual(decodeMessage('["stdout","hi\\r\\n"]'), { kind: 'stdout', text: 'hi\r\n' });
  assert.deepEqual(decodeMessage('["stderr","oops"]'), { kind: 'stderr', text: 'oops' });
  assert.deepEqual(decodeMessage('["exit",3]'), { kind: 'exit', code: 3 });
  assert.deepEqual(decodeMessage('["exit",null]'), { kind: 'exit', code: null });
  assert.deepEqual(decodeMessage('["error","resize failed"]'), { kind: 'error', message: 'resize failed' });
  assert.equal(decodeMessage('not json'), null);
  assert.equal(decodeMessage('{"stdout":"x"}'), null);
  assert.equal(decodeMessage('["stdout",5]'), null);
  assert.equal(decodeMessage('["bogus","x"]'), null);
  assert.equal(decodeMessage('[]'), null);
});

void test('detach keys in podman syntax', () => {
  assert.equal(parseDetachKeys('ctrl-p,ctrl-q'), '\x10\x11');
  assert.equal(parseDetachKeys('ctrl-a,x'), '\x01x');
  assert.equal(parseDetachKeys('ctrl-@,ctrl-['), '\x00\x1b');
  assert.equal(parseDetachKeys(''), '');
  assert.throws(() => parseDetachKeys('ctrl-p,alt-q'), /invalid detach key/);
  assert.throws(() => parseDetachKeys('ctrl-1'), /no control code/);
});

void test('the detach matcher holds a prefix back and releases it on a mismatch', () => {
  const m = new DetachMatcher('\x10\x11');
  assert.deepEqual(m.feed('ls'), { send: 'ls', detach: false });
  assert.deepEqual(m.feed('\x10'), { send: '', detach: false });
  assert.deepEqual(m.feed('a'), { send: '\x10a', detach: false });
  assert.deepEqual(m.feed('\x10'), { send: '', detach: false });
  assert.deepEqual(m.feed('\x11'), { send: '', detach: true });
  assert.deepEqual(m.feed('x\x10\x11'), { send: 'x', detach: true });
  assert.deepEqual(new DetachMatcher('').feed('\x10\x11'), { send: '\x10\x11', detach: false });
});

void test('resizes: the first at once, later ones debounced and deduplicated', () => {
  const sent: [number, number][] = [];
  const timers: (() => void)[] = [];
  let cleared = 0;
  const r = new ResizeScheduler(
    (rows, cols) => sent.push([rows, cols]),
    100,
    fn => timers.push(fn) - 1,
    () => (cleared += 1)
  );
  r.request(0, 80); // not laid out yet
  assert.deepEqual(sent, []);
  r.request(24, 80);
  assert.deepEqual(sent, [[24, 80]]);
  r.request(30, 90);
  r.request(31, 91);
  assert.deepEqual(sent, [[24, 80]]);
  assert.equal(cleared, 1);
  timers[timers.length - 1]();
  assert.deepEqual(sent, [[24, 80], [31, 91]]);
  r.request(31, 91);
  timers[timers.length - 1]();
  assert.equal(sent.length, 2); // same size twice: not sent again
  r.reset(); // a new connection gets its size at once, even unchanged
  r.request(31, 91);
  assert.deepEqual(sent[2], [31, 91]);
  assert.deepEqual(r.lastSent, [31, 91]);
});

void test('session: a new exec connects with its size, reconnects replay and clear first', () => {
  const s = new SessionTracker(false);
  assert.deepEqual(s.query(24, 80), { rows: 24, cols: 80 });
  assert.equal(s.clearBeforeReplay(), false);
  s.opened();
  s.message({ kind: 'stdout', text: '$ ' });
  // network drop: backoff doubles, then resets after a successful open
  assert.deepEqual(s.closed(1006), { kind: 'reconnect', delayMs: 250 });
  assert.deepEqual(s.query(24, 80), { replay: 1 });
  assert.equal(s.clearBeforeReplay(), true);
  assert.deepEqual(s.closed(1006), { kind: 'reconnect', delayMs: 500 });
  assert.deepEqual(s.closed(1006), { kind: 'reconnect', delayMs: 1000 });
  s.opened();
  // the bridge dropped a slow client (1008): reconnect with replay
  assert.deepEqual(s.closed(1008), { kind: 'reconnect', delayMs: 250 });
  s.opened();
  s.message({ kind: 'exit', code: 130 });
  assert.equal(s.ended, true);
  assert.deepEqual(s.closed(1000), { kind: 'ended', code: 130 });
});

void test('session: refused before the upgrade, given up after maxAttempts, detached', () => {
  const s = new SessionTracker(false, 2);
  assert.deepEqual(s.closed(1006), { kind: 'failed', opened: false });
  s.opened();
  assert.equal(s.closed(1006).kind, 'reconnect');
  assert.equal(s.closed(1006).kind, 'reconnect');
  assert.deepEqual(s.closed(1006), { kind: 'failed', opened: false });
  s.resume();
  s.opened();
  s.detach();
  assert.deepEqual(s.closed(1000), { kind: 'detached' });
});

void test('session: a restored tab or an attach replays from the first connection', () => {
  const s = new SessionTracker(true);
  assert.deepEqual(s.query(24, 80), { replay: 1 });
  assert.equal(s.clearBeforeReplay(), false); // nothing shown yet: nothing to clear
  s.opened();
  s.message({ kind: 'exit', code: 0 });
  s.restart(false); // "restart shell": a new exec session
  assert.equal(s.ended, false);
  assert.deepEqual(s.query(10, 20), { rows: 10, cols: 20 });
  assert.equal(exitNote(0), 'exited with status 0');
  assert.equal(exitNote(null), 'exited (status unknown)');
});

void test('command lines split as sh would, empty is the automatic shell', () => {
  assert.deepEqual(splitCommand('bash -l'), ['bash', '-l']);
  assert.deepEqual(splitCommand(`  python3 -c 'print("a b")'  `), ['python3', '-c', 'print("a b")']);
  assert.deepEqual(splitCommand('echo "x \\"y\\"" a\\ b ""'), ['echo', 'x "y"', 'a b', '']);
  assert.deepEqual(splitCommand(''), AUTO_SHELL);
  assert.deepEqual(splitCommand('   '), AUTO_SHELL);
  assert.throws(() => splitCommand("echo 'x"), /unterminated/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { PlayerClock, coalesce, downloadName, eventsUntil, formatTime, parseCast, parseResize } from '../src/widgets/cast';

const CAST = [
  JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1700000000, title: 'demo' }),
  '[0.5, "o", "$ "]',
  '[1.0, "i", "l"]',
  '[1.0, "o", "ls\\r\\n"]',
  '[2.0, "r", "100x30"]',
  '[3.0, "o", "a  b\\r\\n"]',
  '[3.0, "m", "step"]',
  ''
].join('\n');

void test('a cast parses: header, events, duration', () => {
  const cast = parseCast(CAST);
  assert.deepEqual(cast.header, { version: 2, width: 80, height: 24, timestamp: 1700000000, title: 'demo' });
  assert.equal(cast.events.length, 6);
  assert.equal(cast.duration, 3);
  assert.deepEqual(cast.events[3], { time: 2, code: 'r', data: '100x30' });
});

void test('a bad cast names its problem', () => {
  assert.throws(() => parseCast('hello'), /line 1 is not a JSON header/);
  assert.throws(() => parseCast('{"version": 1, "width": 80, "height": 24}'), /v2.*version is 1/);
  assert.throws(() => parseCast('{"version": 2, "width": 0, "height": 24}'), /width and height/);
  assert.throws(() => parseCast('{"version": 2, "width": 80, "height": 24}\n[1, "o"]'), /line 2: an event is/);
  assert.throws(() => parseCast('{"version": 2, "width": 80, "height": 24}\n\n{'), /line 3: not JSON/);
});

void test('times never go back; resizes parse', () => {
  const cast = parseCast('{"version": 2, "width": 8, "height": 2}\n[2, "o", "a"]\n[1.9, "o", "b"]');
  assert.deepEqual(cast.events.map(e => e.time), [2, 2]);
  assert.deepEqual(parseResize('100x30'), { cols: 100, rows: 30 });
  assert.equal(parseResize('x'), null);
  assert.equal(parseResize('0x3'), null);
});

void test('eventsUntil and coalesce', () => {
  const cast = parseCast(CAST);
  assert.equal(eventsUntil(cast.events, 0), 0);
  assert.equal(eventsUntil(cast.events, 1), 3);
  assert.equal(eventsUntil(cast.events, 99), 6);
  const joined = coalesce(cast.events);
  assert.deepEqual(joined.map(e => [e.code, e.data]), [['o', '$ ls\r\n'], ['r', '100x30'], ['o', 'a  b\r\n']]);
  assert.equal(cast.events[0].data, '$ '); // the cast itself is untouched
});

void test('the clock plays at its speed, pauses, and ends', () => {
  const clock = new PlayerClock(parseCast(CAST));
  assert.deepEqual(clock.play(1000), { reset: false, events: [] });
  assert.equal(clock.nextDueMs(), 500);
  assert.deepEqual(clock.advance(1600).events.map(e => e.data), ['$ ']);
  clock.setSpeed(2, 1600);
  assert.equal(clock.nextDueMs(), 200); // (1.0 - 0.6) s at 2x
  assert.deepEqual(clock.advance(1800).events.map(e => e.data), ['ls\r\n']);
  clock.pause(1900);
  assert.equal(clock.playing, false);
  assert.deepEqual(clock.advance(9000).events, []);
  clock.play(10000);
  const rest = clock.advance(20000);
  assert.deepEqual(rest.events.map(e => e.code), ['r', 'o']);
  assert.equal(clock.ended, true);
  assert.equal(clock.playing, false);
  assert.equal(clock.nextDueMs(), null);
  // play again after the end: from the start, the screen reset
  assert.deepEqual(clock.play(30000), { reset: true, events: [] });
});

void test('seeking back replays from the start in one step; forward writes what is between', () => {
  const clock = new PlayerClock(parseCast(CAST));
  const fwd = clock.seek(2.5);
  assert.equal(fwd.reset, false);
  assert.deepEqual(fwd.events.map(e => e.data), ['$ ls\r\n', '100x30']);
  const back = clock.seek(1);
  assert.equal(back.reset, true);
  assert.deepEqual(back.events.map(e => e.data), ['$ ls\r\n']);
  assert.deepEqual(clock.seek(99).events.map(e => e.data), ['100x30', 'a  b\r\n']);
  assert.equal(clock.position, 3);
  assert.equal(clock.seek(-5).reset, true);
});

void test('time and file names', () => {
  assert.equal(formatTime(0), '0:00');
  assert.equal(formatTime(65.7), '1:05');
  assert.equal(formatTime(3725), '1:02:05');
  assert.equal(downloadName('my lab: step 2', 'r1'), 'my_lab_step_2.cast');
  assert.equal(downloadName('', 'r1'), 'r1.cast');
  assert.equal(downloadName('', ''), 'recording.cast');
});

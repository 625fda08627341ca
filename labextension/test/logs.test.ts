import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LogBuffer } from '../src/logs/buffer';
import { LineSplitter, MuxParser, STDERR, STDOUT, deframe, joinRuns } from '../src/logs/frames';

function frame(stream: number, text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + data.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, data.length);
  out.set(data, 8);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

void test('frames cut anywhere are reassembled, streams kept apart', () => {
  const body = concat(frame(STDOUT, 'a\n'), frame(STDERR, 'err\n'), frame(STDOUT, 'héllo\n'));
  for (let cut = 0; cut <= body.length; cut++) {
    const p = new MuxParser();
    const frames = [...p.push(body.subarray(0, cut)), ...p.push(body.subarray(cut))];
    assert.deepEqual(
      frames.map(f => [f.stream, new TextDecoder().decode(f.data)]),
      [[1, 'a\n'], [2, 'err\n'], [1, 'héllo\n']]
    );
    assert.equal(p.pending, 0);
  }
  const p = new MuxParser();
  assert.deepEqual(deframe(p, frame(STDOUT, 'x')).map(d => d.length), [1]);
});

void test('frames: neighbours of one stream joined, the order of the streams kept', () => {
  const body = concat(frame(STDOUT, 'a\n'), frame(STDOUT, 'b'), frame(STDERR, 'e\n'), frame(STDOUT, 'c\n'));
  const runs = joinRuns(new MuxParser().push(body));
  assert.deepEqual(
    runs.map(f => [f.stream, new TextDecoder().decode(f.data)]),
    [[STDOUT, 'a\nb'], [STDERR, 'e\n'], [STDOUT, 'c\n']]
  );
  assert.deepEqual(joinRuns([]), []);
});

void test('lines: per stream, partial lines carried, timestamps split off, UTF-8 whole', () => {
  const s = new LineSplitter(true);
  assert.deepEqual(s.push(STDOUT, new TextEncoder().encode('2026-11-30T06:00:00.1Z one\n2026-11-30T06:00:00.2Z tw')), [
    { stream: STDOUT, time: '2026-11-30T06:00:00.1Z', text: 'one' }
  ]);
  assert.deepEqual(s.push(STDERR, new TextEncoder().encode('2026-11-30T06:00:00.3Z bad\r\n')), [
    { stream: STDERR, time: '2026-11-30T06:00:00.3Z', text: 'bad' }
  ]);
  const e = new TextEncoder().encode('o é\n');
  assert.deepEqual(s.push(STDOUT, e.subarray(0, 3)), []);
  assert.deepEqual(s.push(STDOUT, e.subarray(3)), [{ stream: STDOUT, time: '2026-11-30T06:00:00.2Z', text: 'two é' }]);
  assert.deepEqual(s.push(STDOUT, new TextEncoder().encode('2026-11-30T06:00:00.4Z end')), []);
  assert.deepEqual(s.flush(), [{ stream: STDOUT, time: '2026-11-30T06:00:00.4Z', text: 'end' }]);
  assert.deepEqual(new LineSplitter(false).push(STDOUT, new TextEncoder().encode('a b\n')), [
    { stream: STDOUT, time: '', text: 'a b' }
  ]);
});

void test('the buffer keeps the newest `capacity` lines and counts the dropped ones', () => {
  const b = new LogBuffer<number>(3);
  b.append([1, 2]);
  assert.equal(b.length, 2);
  assert.equal(b.dropped, 0);
  b.append([3, 4, 5]);
  assert.deepEqual([b.get(0), b.get(1), b.get(2)], [3, 4, 5]);
  assert.equal(b.dropped, 2);
  assert.equal(b.total, 5);
  b.append([6, 7, 8, 9, 10, 11, 12]); // a batch larger than the buffer
  assert.deepEqual([b.get(0), b.get(1), b.get(2)], [10, 11, 12]);
  assert.equal(b.dropped, 9);
  assert.equal(b.total, 12);
  assert.throws(() => b.get(3), RangeError);
  assert.throws(() => new LogBuffer(0));
  b.clear();
  assert.deepEqual([b.length, b.dropped, b.total], [0, 0, 0]);
});

void test('a million lines stay within capacity', () => {
  const b = new LogBuffer<string>(1000);
  for (let i = 0; i < 1000; i++) {
    b.append(Array.from({ length: 1000 }, (_, j) => `line ${i * 1000 + j}`));
  }
  assert.equal(b.length, 1000);
  assert.equal(b.dropped, 999000);
  assert.equal(b.get(0), 'line 999000');
  assert.equal(b.get(999), 'line 999999');
});

void test('search finds forwards and backwards with wrap-around; filter lists matches', () => {
  const b = new LogBuffer<string>(4);
  b.append(['x', 'apple', 'pear', 'apple pie', 'plum']); // keeps apple, pear, apple pie, plum
  const has = (s: string) => s.includes('apple');
  assert.equal(b.find(has, 0), 0);
  assert.equal(b.find(has, 1), 2);
  assert.equal(b.find(has, 3), 0); // wraps
  assert.equal(b.find(has, 1, true), 0);
  assert.equal(b.find(has, 0, true), 0);
  assert.equal(b.find(s => s === 'none'), -1);
  assert.deepEqual(b.filter(has), [0, 2]);
});

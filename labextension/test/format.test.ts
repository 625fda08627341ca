import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatBytes, formatDuration, formatPercent } from '../src/format';

void test('formatBytes picks the unit and precision', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(200 * 1024 * 1024), '200 MiB');
  assert.equal(formatBytes(null), '-');
  assert.equal(formatBytes(-1), '-');
});

void test('formatDuration keeps two units', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(45.9), '45s');
  assert.equal(formatDuration(200), '3m 20s');
  assert.equal(formatDuration(2 * 3600 + 5 * 60 + 7), '2h 5m');
  assert.equal(formatDuration(3 * 86400 + 4 * 3600), '3d 4h');
  assert.equal(formatDuration(-5), '-');
});

void test('formatPercent', () => {
  assert.equal(formatPercent(3.14159), '3.1%');
  assert.equal(formatPercent(123.4), '123%');
  assert.equal(formatPercent(undefined), '-');
});

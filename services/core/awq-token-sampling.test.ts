import { test } from 'node:test';
import assert from 'node:assert/strict';
import { awqTokenRows, awqTokenStride } from './awq-token-sampling.js';

test('AWQ token rows: as many rows as the reference, one per window, every row when the stride is 1', () => {
  for (const tokens of [1, 63, 64, 127, 128, 129, 1000, 2560, 4096]) {
    const s = awqTokenStride(tokens, 64);
    const rows = awqTokenRows(tokens, 64);
    const reference = Math.ceil(tokens / s); // rows 0, s, 2s, ...
    assert.ok(rows.length === reference || rows.length === reference - 1, `${tokens}: ${rows.length} vs ${reference}`);
    rows.forEach((r, i) => assert.ok(r >= i * s && r < (i + 1) * s && r < tokens));
    if (s === 1) assert.deepEqual(rows, Array.from({ length: tokens }, (_, i) => i));
  }
});

test('AWQ token rows: 64 samples x 40 tokens (ppocr_rec) cover every sequence position, not position 0 only', () => {
  const rows = awqTokenRows(64 * 40, 64);
  assert.equal(rows.length, 64);
  const positions = new Set(rows.map((r) => r % 40));
  assert.equal(positions.size, 40);
  const samples = new Set(rows.map((r) => Math.floor(r / 40)));
  assert.equal(samples.size, 64);
});

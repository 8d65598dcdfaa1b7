import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symmetricInt8Scale } from './weight-scales.js';

test('INT8 scale: absmax/127 as float32, same as onnxruntime for ordinary ranges', () => {
  assert.equal(symmetricInt8Scale(-2, 1), Math.fround(4 / 254));
  assert.equal(symmetricInt8Scale(0, 0), 1);
  assert.equal(symmetricInt8Scale(-1e-40, 0), 1);
});

test('INT8 scale near float32 max stays finite (onnxruntime and the reference write inf here)', () => {
  const FLT_MAX = 3.4028234663852886e38;
  const s = symmetricInt8Scale(-FLT_MAX, 0);
  assert.ok(Number.isFinite(s), `scale ${s}`);
  assert.equal(s, Math.fround((2 * FLT_MAX) / 254));
  // Dequantizing the most negative code gives back (about) the sentinel, not NaN.
  assert.ok(Math.fround(-127 * s) <= -3.4e38);
});

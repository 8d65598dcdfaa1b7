import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTensorBundle, decodeTensorBundle } from './tensor-bundle.js';
import { InvalidArgument } from './errors.js';

test('tensor bundle round trip keeps names, shapes and values', () => {
  const a = { name: 'x', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) };
  const b = { name: 'y/with:odd.chars', shape: [1], data: Float32Array.from([Math.PI]) };
  const out = decodeTensorBundle(encodeTensorBundle([a, b]));
  assert.deepEqual(out.map((t) => [t.name, t.shape, Array.from(t.data)]), [a, b].map((t) => [t.name, t.shape, Array.from(t.data)]));
});

test('tensor bundle rejects garbage, truncation and shape mismatches', () => {
  assert.throws(() => decodeTensorBundle(Buffer.from('nope')), InvalidArgument);
  const good = encodeTensorBundle([{ name: 'x', shape: [4], data: new Float32Array(4) }]);
  assert.throws(() => decodeTensorBundle(good.subarray(0, good.length - 2)), InvalidArgument);
  assert.throws(() => encodeTensorBundle([{ name: 'x', shape: [3], data: new Float32Array(4) }]), InvalidArgument);
});

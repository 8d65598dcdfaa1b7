import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arraySplitBounds, modelBatch, modelInputs, planCalibration, randomFeeds } from './calibration-data.js';
import { InvalidArgument } from '../core/errors.js';
import { loadModel } from '../core/onnx/index.js';
import { twoInputModel } from '../../test/helpers/calib-models.js';
import { modelPath, dataPath } from '../../test/helpers/shared.js';

const f32 = (n: number, f: (i: number) => number = (i) => i) => Float32Array.from({ length: n }, (_, i) => f(i));

function arrays(rowsA: number, rowsB: number, rowsN = rowsA) {
  return {
    a: { dtype: 'float32' as const, shape: [rowsA, 3], data: f32(rowsA * 3) },
    b: { dtype: 'float32' as const, shape: [rowsB, 2], data: f32(rowsB * 2, (i) => 100 + i) },
    n: { dtype: 'int64' as const, shape: [rowsN], data: BigInt64Array.from({ length: rowsN }, (_, i) => BigInt(i)) },
  };
}

test('array_split bounds follow numpy (first len % n sections one longer)', () => {
  assert.deepEqual(arraySplitBounds(10, 3), [0, 4, 7, 10]);
  assert.deepEqual(arraySplitBounds(64, 64), Array.from({ length: 65 }, (_, i) => i));
  assert.deepEqual(arraySplitBounds(5, 2), [0, 3, 5]);
});

test('N comes from the alphabetically first input; every input is split into N chunks; each step has its own feed', () => {
  const model = twoInputModel();
  assert.deepEqual(modelInputs(model).map((i) => i.name), ['b', 'a', 'n']);
  assert.equal(modelBatch(modelInputs(model)), 1);
  // a (alphabetically first) has 3 rows → N = 3, although b (first in graph order) has 7
  const plan = planCalibration(model, { kind: 'arrays', arrays: arrays(3, 7) });
  assert.equal(plan.steps, 3);
  const feeds = [0, 1, 2].map((i) => plan.feed(i));
  // b is split 3/2/2 (array_split), a 1/1/1
  assert.deepEqual(feeds.map((f) => f.find((x) => x.name === 'b')!.dims), [[3, 2], [2, 2], [2, 2]]);
  assert.deepEqual(feeds.map((f) => f.find((x) => x.name === 'a')!.dims), [[1, 3], [1, 3], [1, 3]]);
  // separate feeds per step (the reference's "every step sees the last chunk" quirk is not reproduced)
  const firstA = Array.from(feeds[0].find((x) => x.name === 'a')!.data as Float32Array);
  const lastA = Array.from(feeds[2].find((x) => x.name === 'a')!.data as Float32Array);
  assert.deepEqual(firstA, [0, 1, 2]);
  assert.deepEqual(lastA, [6, 7, 8]);
  assert.deepEqual(plan.notes.some((n) => /alphabetically/.test(n)), true);
});

test('bad data: names, shapes, dtypes, a single array for a multi-input model, too few rows, an empty data set', () => {
  const model = twoInputModel();
  const bad = (arr: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => planCalibration(model, { kind: 'arrays', arrays: arr as never }), (e: Error) => e instanceof InvalidArgument && re.test(e.message));
  const ok = arrays(4, 4);
  bad({ a: ok.a, b: ok.b }, /missing n/);
  bad({ ...ok, zz: ok.a }, /not model inputs: zz/);
  bad({ ...ok, a: { dtype: 'float32', shape: [4, 5], data: f32(20) } }, /shape \[4,5\] does not match the model's \[\?,3\]/);
  bad({ ...ok, a: { dtype: 'int32', shape: [4, 3], data: new Int32Array(12) } }, /dtype int32 does not match the model's float32/);
  bad({ ...ok, b: { dtype: 'float32', shape: [2, 2], data: f32(4) } }, /at least 4 batch/);
  bad(arrays(0, 0), /nothing to calibrate/);
  // a single array (an .npy) for a three-input model
  const mn = loadModel(modelPath('mnist8'));
  assert.throws(
    () => planCalibration(model, { kind: 'sources', sources: new Map([['', { name: 'x', dtype: 'float32', shape: [1, 3], readRows: () => f32(3) }]]) }),
    (e: Error) => e instanceof InvalidArgument && /single array/.test(e.message),
  );
  assert.throws(() => planCalibration(mn, { kind: 'file', path: '/nonexistent/x.txt' }), InvalidArgument);
});

test('real npz: silero (three inputs of different row counts) splits into 64 per-sample feeds', () => {
  const model = loadModel(modelPath('silero_vad_ifless'));
  const plan = planCalibration(model, { kind: 'file', path: dataPath('silero_vad_ifless', 'calib') });
  assert.equal(plan.steps, 64);
  const f = plan.feed(5);
  const dims = Object.fromEntries(f.map((x) => [x.name, x.dims]));
  assert.deepEqual(dims, { input: [1, 576], sr: [1], state: [2, 1, 128] });
  plan.close();
});

test('random data: one feed, uniform [0,1), dynamic dims 1, integers zero', () => {
  const model = twoInputModel();
  const plan = planCalibration(model, undefined);
  assert.equal(plan.steps, 1);
  const feeds = plan.feed(0);
  const a = feeds.find((f) => f.name === 'a')!;
  assert.deepEqual(a.dims, [1, 3]);
  assert.ok(Array.from(a.data as Float32Array).every((v) => v >= 0 && v < 1));
  const n = feeds.find((f) => f.name === 'n')!;
  assert.deepEqual(Array.from(n.data as BigInt64Array), [0n]);
  // deterministic per seed
  assert.deepEqual(randomFeeds(modelInputs(model), 3)[0].data, randomFeeds(modelInputs(model), 3)[0].data);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectStatistics } from './calibrate.js';
import { ReducingSession } from './capture-session.js';
import { SessionCache, sessionKey, type CalibrationSession } from './session-cache.js';
import { Cancelled } from '../core/errors.js';
import { loadModel } from '../core/onnx/index.js';
import { batchFixedInsideModel, fiveTensorModel } from '../../test/helpers/calib-models.js';
import { dataPath, modelPath } from '../../test/helpers/shared.js';

type Stats = Awaited<ReturnType<typeof collectStatistics>>;
const ranges = (s: Stats) => Object.fromEntries(Object.entries(s.tensors).map(([t, v]) => [t, [v.min, v.max, v.count, v.nanCount, v.infCount]]));

test('ppocr_cls: a second job with the same model, tensors and dims runs in the kept session and gives the same statistics; shards of one size share it', async () => {
  const model = loadModel(modelPath('ppocr_cls'));
  const tensors = model.graph!.node.filter((n) => n.opType === 'Conv').map((n) => n.output[0]!);
  const data = { kind: 'file' as const, path: dataPath('ppocr_cls', 'calib') };
  const cache = new SessionCache<ReducingSession>(2);
  const sessions = { cache, model: 'ppocr_cls-digest' };
  const uncached = await collectStatistics(model, { method: 'minmax', tensors, data });
  const first = await collectStatistics(model, { method: 'minmax', tensors, data, sessions });
  assert.deepEqual([cache.hits, cache.misses, cache.size], [0, 1, 1]);
  const second = await collectStatistics(model, { method: 'minmax', tensors, data, sessions });
  assert.deepEqual([cache.hits, cache.misses, cache.size], [1, 1, 1]);
  assert.deepEqual(ranges(first), ranges(uncached));
  assert.deepEqual(ranges(second), ranges(uncached));
  // shards of 32 steps: runs of 8 like the whole (the same fixed dims), so the same session
  const [a, b] = [await collectStatistics(model, { method: 'minmax', tensors, data, sessions, range: { start: 0, end: 32 } }), await collectStatistics(model, { method: 'minmax', tensors, data, sessions, range: { start: 32, end: 64 } })];
  assert.deepEqual([cache.hits, cache.misses, cache.size], [3, 1, 1]);
  for (const t of tensors) {
    assert.equal(Math.min(a.tensors[t]!.min, b.tensors[t]!.min), uncached.tensors[t]!.min, t);
    assert.equal(Math.max(a.tensors[t]!.max, b.tensors[t]!.max), uncached.tensors[t]!.max, t);
  }
  // another model name, or other tensors: other sessions
  await collectStatistics(model, { method: 'minmax', tensors, data, sessions: { cache, model: 'another-digest' } });
  await collectStatistics(model, { method: 'minmax', tensors: tensors.slice(1), data, sessions });
  assert.deepEqual([cache.hits, cache.misses, cache.size], [3, 3, 2]);
  await cache.clear();
  assert.equal(cache.size, 0);
});

test('only a job that went well hands its session back: a cancelled one releases it; a session for any dim 0 whose grouped run failed is kept', async () => {
  const cache = new SessionCache<ReducingSession>(4);
  const n = 16;
  const rows = 20;
  const model = fiveTensorModel(n);
  const x = Float32Array.from({ length: rows * n * n }, (_, i) => Math.sin(i * 0.3));
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [rows, n, n], data: x } } };
  const tensors = ['x', 'a', 'b', 'c', 'd', 'e'];
  const stop = new AbortController();
  const job = collectStatistics(model, { method: 'minmax', tensors, data, sessions: { cache, model: 'five' }, signal: stop.signal, reductionStepsPerRun: 1, onProgress: () => stop.abort() });
  await assert.rejects(job, Cancelled);
  assert.deepEqual([cache.misses, cache.size], [1, 0]);
  // x [?, 4] reshaped to [1, 4] inside: the grouped run fails and the pass goes on in a session for any dim 0
  const fixedInside = batchFixedInsideModel();
  const d2 = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [10, 4], data: Float32Array.from({ length: 40 }, (_, i) => i - 20) } } };
  // (its shapes are not inferred, so the session was built for any dim 0 from the start: it serves the next job)
  const t = await collectStatistics(fixedInside, { method: 'minmax', tensors: ['rx', 'r'], data: d2, sessions: { cache, model: 'fixed-inside' } });
  assert.ok(t.notes.some((m) => /one step at a time/.test(m)), t.notes.join(' | '));
  assert.deepEqual([cache.hits, cache.size], [0, 1]);
  const again = await collectStatistics(fixedInside, { method: 'minmax', tensors: ['rx', 'r'], data: d2, sessions: { cache, model: 'fixed-inside' } });
  assert.deepEqual([cache.hits, cache.size], [1, 1]);
  assert.deepEqual(ranges(again), ranges(t));
  await cache.clear();
  // a job that goes well is kept
  await collectStatistics(model, { method: 'minmax', tensors, data, sessions: { cache, model: 'five' } });
  assert.equal(cache.size, 1);
  await cache.clear();
});

test('the cache keeps at most maxIdle sessions, releasing the least recently handed back; 0 keeps none', async () => {
  const model = fiveTensorModel(8);
  const feed = [{ name: 'x', dtype: 'float32' as const, dims: [2, 8, 8], data: new Float32Array(128).fill(0.5) }];
  const make = () => ReducingSession.create(model, ['a', 'b']);
  const cache = new SessionCache<ReducingSession>(2);
  const [s1, s2, s3] = [await make(), await make(), await make()];
  await cache.give('k1', s1);
  await cache.give('k2', s2);
  await cache.give('k3', s3);
  assert.equal(cache.size, 2);
  assert.equal(cache.take('k1'), undefined, 'the oldest went');
  await assert.rejects(s1.run(feed), 'and was released');
  assert.equal(cache.take('k2'), s2);
  assert.equal((await s2.run(feed)).get('a')!.max, 0.5, 'a kept session still runs');
  // a second session for a key replaces the first, which is released
  const s4 = await make();
  await cache.give('k3', s4);
  await assert.rejects(s3.run(feed));
  assert.equal(cache.take('k3'), s4);
  const none = new SessionCache<ReducingSession>(0);
  await none.give('k', s2);
  assert.equal(none.size, 0);
  await assert.rejects(s2.run(feed));
  await s4.release();
  await cache.clear();
  assert.throws(() => new SessionCache(-1), RangeError);
  assert.equal(sessionKey(['m', ['a'], { level: 'all' }]), sessionKey(['m', ['a'], { level: 'all' }]));
  assert.notEqual(sessionKey(['m', ['a'], { level: 'all' }]), sessionKey(['m', ['a', 'b'], { level: 'all' }]));
});

test('a histogram method keeps both its sessions (min/max pass and capture pass) and the next job takes both', async () => {
  const cache = new SessionCache<CalibrationSession>(4);
  const n = 16;
  const rows = 12;
  const model = fiveTensorModel(n);
  const x = Float32Array.from({ length: rows * n * n }, (_, i) => Math.sin(i * 0.11) * 3);
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [rows, n, n], data: x } } };
  const tensors = ['x', 'a', 'b', 'c', 'd', 'e'];
  const table = (s: Stats) => JSON.stringify(Object.values(s.tensors).map((t) => [t.min, t.max, t.count, t.ortAbs ? Array.from(t.ortAbs.hist) : null]));
  const plain = await collectStatistics(model, { method: 'percentile', tensors, data });
  assert.ok(Object.values(plain.tensors).every((t) => t.ortAbs && t.ortAbs.hist.length === 2048), 'percentile histograms to compare');
  const first = await collectStatistics(model, { method: 'percentile', tensors, data, sessions: { cache, model: 'five' } });
  assert.deepEqual([cache.hits, cache.misses, cache.size], [0, 2, 2]);
  const second = await collectStatistics(model, { method: 'percentile', tensors, data, sessions: { cache, model: 'five' } });
  assert.deepEqual([cache.hits, cache.misses, cache.size], [2, 2, 2]);
  assert.equal(table(first), table(plain));
  assert.equal(table(second), table(plain));
  await cache.clear();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { profileOrt, summariseOrtTrace, type OrtProfile } from './ort-profile.js';
import { latencyStats, percentile } from './stats.js';
import { floatToHalf } from '../core/onnx/index.js';
import { mulberry32 } from '../core/random.js';
import { addEngineHeader } from '../core/engine/header.js';
import { Cancelled, InvalidArgument } from '../core/errors.js';
import path from 'node:path';
import { MODELS_DIR } from '../../test/helpers/shared.js';

const model = (name: string) => new Uint8Array(fs.readFileSync(path.join(MODELS_DIR, name)));
// short timing window so the suite stays quick; the loop rule itself is the reference's
const FAST = { warmUpS: 0.05, minDurationS: 0.3 };

function assertOrdered(p: OrtProfile) {
  const l = p.latencyMs;
  assert.ok(l.min > 0, 'min > 0');
  assert.ok(l.min <= l.median && l.median <= l.p90 && l.p90 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.max, JSON.stringify(l));
  assert.ok(l.min <= l.mean && l.mean <= l.max, `mean within [min, max]: ${JSON.stringify(l)}`);
  assert.ok(p.iterations >= 10 && p.iterations <= 1000, `iterations ${p.iterations}`);
  assert.ok(p.throughput > 0, 'throughput > 0');
  assert.ok(p.nodes.length > 0, 'per-node table non-empty');
  assert.ok(p.opTypes.length > 0, 'per-op table non-empty');
  const share = p.opTypes.reduce((a, o) => a + o.share, 0);
  assert.ok(Math.abs(share - 1) < 1e-6, `op shares sum to 1 (${share})`);
  assert.ok(p.referenceLatencyMs > 0, `reference latency ${p.referenceLatencyMs}`);
  for (let i = 1; i < p.nodes.length; i++) assert.ok(p.nodes[i - 1]!.meanMs >= p.nodes[i]!.meanMs);
}

test('profileOrt on mnist8: ordered stats, per-node and per-op tables', async () => {
  const p = await profileOrt({ onnx: model('mnist8.onnx') }, FAST);
  assertOrdered(p);
  assert.deepEqual(p.inputs, [{ name: 'Input3', dtype: 'float32', shape: [1, 1, 28, 28] }]);
  assert.ok(p.opTypes.some((o) => o.opType === 'Conv'), p.opTypes.map((o) => o.opType).join(','));
  // The loop runs for at least minDurationS unless the 1000-iteration cap ends it first (mnist8 is fast).
  assert.ok(p.elapsedS >= 0.3 || p.iterations === 1000, `elapsed ${p.elapsedS} s after ${p.iterations} runs`);
});

test('profileOrt on ppocr_cls (dynamic dims → 1 unless shapes given)', async () => {
  const bytes = model('ppocr_cls.onnx');
  const p = await profileOrt({ onnx: bytes }, { ...FAST, layerwiseRuns: 3, shapes: { x: [1, 3, 48, 192] } });
  assertOrdered(p);
  assert.equal(p.layerwiseRuns, 3);
  assert.deepEqual(p.inputs, [{ name: 'x', dtype: 'float32', shape: [1, 3, 48, 192] }]);
  const d = await profileOrt({ onnx: bytes }, { warmUpS: 0, minDurationS: 0, layerwise: false });
  assert.deepEqual(d.inputs[0]!.shape, [1, 3, 1, 1]);
});

test('profileOrt accepts a hashed engine and rejects a tampered one', async () => {
  const engine = addEngineHeader(model('mnist8.onnx'));
  const p = await profileOrt({ engine }, { warmUpS: 0, minDurationS: 0, minIterations: 10, layerwise: false });
  assert.equal(p.iterations, 10);
  assert.equal(p.nodes.length, 0);
  assert.ok(Number.isNaN(p.referenceLatencyMs));
  const tampered = new Uint8Array(engine);
  tampered[100]! ^= 1;
  await assert.rejects(profileOrt({ engine: tampered }), InvalidArgument);
  await assert.rejects(profileOrt({ onnx: new Uint8Array([8, 1, 2]) }), InvalidArgument);
  await assert.rejects(profileOrt({ onnx: model('mnist8.onnx') }, { minIterations: -1 }), InvalidArgument);
});

test('iteration cap: maxIterations bounds the loop even below the duration', async () => {
  const p = await profileOrt({ onnx: model('mnist8.onnx') }, { warmUpS: 0, minDurationS: 60, maxIterations: 25, layerwise: false });
  assert.equal(p.iterations, 25);
});

test('stats: numpy-style linear percentiles', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.ok(Math.abs(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) - 9.1) < 1e-12);
  const s = latencyStats([5, 1, 3]);
  assert.deepEqual([s.min, s.median, s.max, s.mean], [1, 3, 5, 3]);
});

test('random inputs: uniform in [0,1), half conversion', () => {
  const r = mulberry32(1);
  for (let i = 0; i < 1000; i++) {
    const x = r();
    assert.ok(x >= 0 && x < 1);
  }
  assert.equal(floatToHalf(0.5), 0x3800);
  assert.equal(floatToHalf(0), 0);
  assert.equal(floatToHalf(0.333251953125), 0x3555);
});

test('summariseOrtTrace: drops the warm-up run, averages per run, groups by op', () => {
  const ev = (name: string, ts: number, dur: number, op?: string) =>
    op ? { cat: 'Node', name: `${name}_kernel_time`, ts, dur, args: { op_name: op } } : { cat: 'Session', name, ts, dur };
  const trace = [
    ev('model_run', 0, 1000), ev('a', 10, 900, 'Conv'),
    ev('model_run', 2000, 300), ev('a', 2010, 200, 'Conv'), ev('b', 2210, 100, 'Relu'),
    ev('model_run', 3000, 500), ev('a', 3010, 400, 'Conv'), ev('b', 3410, 100, 'Relu'),
  ];
  const s = summariseOrtTrace(JSON.stringify(trace));
  assert.equal(s.runs, 2);
  assert.equal(s.referenceLatencyMs, 0.6);
  assert.deepEqual(s.nodes.map((n) => [n.name, n.opType, n.meanMs]), [['a', 'Conv', 0.3], ['b', 'Relu', 0.1]]);
  assert.deepEqual(s.opTypes.map((o) => [o.opType, o.nodes]), [['Conv', 1], ['Relu', 1]]);
  assert.throws(() => summariseOrtTrace('{"a":1}'), InvalidArgument);
  assert.throws(() => summariseOrtTrace('[]'), InvalidArgument);
});

test('int64 inputs (gpt2_small input_ids) are generated; a model that fails on dims → 1 names its inputs', async () => {
  const one = { warmUpS: 0, minDurationS: 0, minIterations: 2, maxIterations: 2, layerwise: false };
  const g = await profileOrt({ onnx: model('gpt2_small.onnx') }, one);
  assert.deepEqual(g.inputs, [{ name: 'input_ids', dtype: 'int64', shape: [1, 128] }]);
  assert.equal(g.iterations, 2);
  await assert.rejects(
    profileOrt({ onnx: model('silero_vad_ifless.onnx') }, one),
    (e: unknown) => e instanceof InvalidArgument && /input:float32\[1x1\], sr:int64\[\], state:float32\[2x1x128\]/.test(e.message),
  );
});

test('an aborted signal stops profiling with Cancelled', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const t0 = performance.now();
  await assert.rejects(
    profileOrt({ onnx: model('mnist8.onnx') }, { warmUpS: 0, minDurationS: 30, maxIterations: 1000000, signal: ac.signal }),
    (e: unknown) => e instanceof Cancelled,
  );
  assert.ok(performance.now() - t0 < 10_000);
});

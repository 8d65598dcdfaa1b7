import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { calibrate, collectStatistics, globalRangesOf } from './calibrate.js';
import { mergeStatistics, mergeToTable } from './merge.js';
import { computeTable, symmetricInt8Scale } from './methods.js';
import { calibratorKernels, kernelsOnFirstUse } from './kernels.js';
import { SessionCache } from './session-cache.js';
import type { ReducingSession } from './capture-session.js';
import { encodeNpy, openNpz, readAll } from '../core/npy.js';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { zipSync } from 'fflate';
import { InvalidArgument } from '../core/errors.js';
import { CALIBRATION_METHODS, type CalibrationMethod, type CalibrationTable } from '../core/quant-types.js';
import { loadModel } from '../core/onnx/index.js';
import { batchFixedInsideModel, dvi, fiveTensorModel, twoInputModel } from '../../test/helpers/calib-models.js';
import { buildModel, makeNode } from '../../test/helpers/tiny-models.js';
import { DataType, onnx } from '../core/onnx/index.js';
import { dataPath, modelPath, tmpDir, GOLDENS_DIR } from '../../test/helpers/shared.js';

const kernels = calibratorKernels().kernels;

function twoInputData(rows: number, bValues: (i: number) => number) {
  return {
    kind: 'arrays' as const,
    arrays: {
      a: { dtype: 'float32' as const, shape: [rows, 3], data: Float32Array.from({ length: rows * 3 }, (_, i) => Math.sin(i) * 4) },
      b: { dtype: 'float32' as const, shape: [rows, 2], data: Float32Array.from({ length: rows * 2 }, (_, i) => bValues(i)) },
      n: { dtype: 'int64' as const, shape: [rows], data: new BigInt64Array(rows) },
    },
  };
}

test('the default kernels are chosen on first use and forward every call to the chosen ones', async () => {
  for (const name of Object.keys(kernelsOnFirstUse)) assert.equal(typeof (kernels as unknown as Record<string, unknown>)[name], 'function', name);
  const h = await kernelsOnFirstUse.ortHistogramCollect(null, Float32Array.from([-3, 0.5, 2, 7]), 8);
  assert.deepEqual(h, await kernels.ortHistogramCollect(null, Float32Array.from([-3, 0.5, 2, 7]), 8));
  await assert.rejects(kernelsOnFirstUse.torchPercentileAmax({ hist: new Float64Array(0), amax: 0 } as never, 200), Error);
});

test('NaN and Inf in activations are counted and reported, never break any method', async () => {
  const model = twoInputModel();
  // b = 0 gives Log = -Inf, b < 0 gives NaN; the rest are ordinary
  const data = twoInputData(8, (i) => (i === 3 ? 0 : i === 9 ? -1 : i === 12 ? -2 : 0.5 + i));
  for (const method of CALIBRATION_METHODS) {
    const t = await calibrate(model, { method, tensors: ['lb', 'ma'], data });
    const lb = t.ranges['lb'];
    assert.equal(lb.nanCount, 2, method);
    assert.equal(lb.infCount, 1, method);
    assert.ok(Number.isFinite(lb.low) && Number.isFinite(lb.high), `${method}: finite range ${lb.low}..${lb.high}`);
    assert.ok(lb.min >= Math.log(0.5) - 1e-6 && lb.max <= Math.log(15.5) + 1e-6, method);
    assert.ok(lb.warnings?.some((w) => /2 NaN and 1 ±Inf/.test(w)), `${method}: ${lb.warnings}`);
    assert.equal(t.ranges['ma'].nanCount, 0);
    assert.equal(t.ranges['ma'].warnings, undefined, `${method}: ${t.ranges['ma'].warnings}`);
    if (method === 'distribution') assert.ok(lb.scale! > 0);
  }
});

test('bad requests are InvalidArgument: unknown tensor, initializer, non-float tensor, unknown method, empty list, bad range', async () => {
  const model = twoInputModel();
  const data = twoInputData(4, (i) => i + 1);
  const rejects = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: Error) => e instanceof InvalidArgument && re.test(e.message));
  await rejects(calibrate(model, { method: 'minmax', tensors: ['nope'], data }), /not in the graph: nope/);
  await rejects(calibrate(model, { method: 'minmax', tensors: ['nf', 'n'], data }), /only float32\/float16|dtype int64/);
  await rejects(calibrate(model, { method: 'bogus' as CalibrationMethod, tensors: ['ma'], data }), /unknown calibration method/);
  await rejects(calibrate(model, { method: 'minmax', tensors: [], data }), /no tensors/);
  await rejects(calibrate(model, { method: 'minmax', tensors: ['ma'], data, range: { start: 2, end: 9 } }), /step range/);
  await rejects(calibrate(model, { method: 'distribution', tensors: ['ma'], data, histogram: { numBins: 128 } }), /512 bins/);
  const mn = loadModel(modelPath('mnist8'));
  await rejects(calibrate(mn, { method: 'minmax', tensors: ['Parameter5'], data: { kind: 'file', path: dataPath('mnist8', 'calib') } }), /initializers/);
});

test('a compressed .npz is inflated while the session is built; one whose stream is damaged after its header is InvalidArgument', async () => {
  const mn = loadModel(modelPath('mnist8'));
  const tensors = ['Input3', 'Convolution28_Output_0'];
  const good = await calibrate(mn, { method: 'minmax', tensors, data: { kind: 'file', path: dataPath('mnist8', 'calib') } });
  const x = readAll(openNpz(dataPath('mnist8', 'calib')).get('Input3')!) as Float32Array;
  const inMemory = await calibrate(mn, { method: 'minmax', tensors, data: { kind: 'arrays', arrays: { Input3: { dtype: 'float32', shape: [x.length / 784, 1, 28, 28], data: x } } } });
  assert.deepEqual(good.ranges, inMemory.ranges);
  const zipped = zipSync({ 'Input3.npy': encodeNpy('float32', [x.length / 784, 1, 28, 28], x) }, { level: 6 });
  for (let k = 4000; k < zipped.length - 200; k++) zipped[k] = 0xff;
  const dir = tmpDir('calib-corrupt');
  const p = path.join(dir, 'corrupt.npz');
  fs.writeFileSync(p, zipped);
  for (const method of ['minmax', 'entropy'] as const) {
    await assert.rejects(calibrate(mn, { method, tensors, data: { kind: 'file', path: p } }), (e: Error) => e instanceof InvalidArgument && /Input3\.npy is truncated/.test(e.message), method);
  }
});

test('progress is reported once per run: per batch, or per group of batches in the min/max pass', async () => {
  const model = twoInputModel();
  const data = twoInputData(5, (i) => i + 1);
  const seen: string[] = [];
  await calibrate(model, { method: 'minmax', tensors: ['ma'], data, reductionStepsPerRun: 1, onProgress: (p) => seen.push(`${p.phase}:${p.step}/${p.steps}:${p.samples}`) });
  assert.deepEqual(seen, ['minmax:1/5:1', 'minmax:2/5:2', 'minmax:3/5:3', 'minmax:4/5:4', 'minmax:5/5:5']);
  const seen1: string[] = [];
  await calibrate(model, { method: 'minmax', tensors: ['ma'], data, onProgress: (p) => seen1.push(`${p.phase}:${p.step}/${p.steps}:${p.samples}`) });
  assert.deepEqual(seen1, ['minmax:5/5:5']); // tiny tensors (inferred shapes, before the first run): up to 8 steps per run
  const seen2: string[] = [];
  await calibrate(model, { method: 'entropy', tensors: ['ma'], data, histogram: { numBins: 512 }, onProgress: (p) => seen2.push(p.phase) });
  assert.deepEqual(seen2, ['minmax', ...Array(5).fill('collect')]);
  // default entropy (128/128 bins): one candidate window, so the min/max pass is all it needs
  const seen3: string[] = [];
  await calibrate(model, { method: 'entropy', tensors: ['ma'], data, onProgress: (p) => seen3.push(p.phase) });
  assert.deepEqual(seen3, ['minmax']);
});

test('entropy with a single candidate window (the defaults): same table as with the histogram collected, in one pass, sharded too', async () => {
  for (const name of ['mnist8', 'ppocr_cls'] as const) {
    const model = loadModel(modelPath(name));
    const data = { kind: 'file' as const, path: dataPath(name, 'calib') };
    const tensors = model.graph!.node.filter((n) => n.opType === 'Conv' || n.opType === 'Relu' || n.opType === 'Add').slice(0, 12).map((n) => n.output[0]!);
    const fast = await collectStatistics(model, { method: 'entropy', tensors, data });
    assert.ok(fast.notes.some((n) => /single candidate window/.test(n)), 'says why the histogram pass was skipped');
    assert.ok(tensors.every((t) => fast.tensors[t].ort === undefined), 'no histogram collected');
    const full = await collectStatistics(model, { method: 'entropy', tensors, data, alwaysCollectHistograms: true });
    assert.ok(tensors.every((t) => full.tensors[t].ort !== undefined));
    const a = await computeTable(fast, kernels);
    const b = await computeTable(full, kernels);
    // without a histogram pass the min/max pass runs at level 'all', with one at 'basic': the same
    // values up to the layout-optimised kernels' rounding (measured up to ~3e-6 relative)
    const close = (x: number, y: number) => Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(y));
    for (const t of tensors) assert.ok(close(a.ranges[t].low, b.ranges[t].low) && close(a.ranges[t].high, b.ranges[t].high), `${name} ${t}: ${a.ranges[t].low}..${a.ranges[t].high} vs ${b.ranges[t].low}..${b.ranges[t].high}`);
    // sharded: ranges per shard, merged, then the second round has nothing to run
    const cuts = [0, 20, 64];
    const r1 = await Promise.all([0, 1].map((k) => collectStatistics(model, { method: 'entropy', tensors, data, range: { start: cuts[k]!, end: cuts[k + 1]! }, stopAfterRanges: true })));
    const ranges = globalRangesOf(await mergeStatistics(r1));
    const r2 = await Promise.all([0, 1].map((k) => collectStatistics(model, { method: 'entropy', tensors, data, range: { start: cuts[k]!, end: cuts[k + 1]! }, globalRanges: ranges })));
    const merged = await mergeToTable(r2);
    assert.equal(merged.samples, a.samples);
    for (const t of tensors) assert.deepEqual([merged.ranges[t].low, merged.ranges[t].high], [a.ranges[t].low, a.ranges[t].high], `${name} ${t} sharded`);
  }
});

test('gpt2_small entropy/percentile succeed where onnxruntime fails (float32-max attention masks), with a note', async () => {
  assert.equal(fs.existsSync(`${GOLDENS_DIR}/gpt2_small.ort.entropy.json`), false, 'onnxruntime has no entropy golden for gpt2_small');
  const model = loadModel(modelPath('gpt2_small'));
  const tensors = ['/m/transformer/h.0/attn/Add_output_0', '/m/transformer/h.0/attn/c_attn/Reshape_output_0'];
  for (const method of ['entropy', 'percentile', 'distribution'] as const) {
    const t = await calibrate(model, { method, tensors, data: { kind: 'file', path: dataPath('gpt2_small', 'calib') } });
    const mask = t.ranges[tensors[0]];
    assert.ok(mask.min < -3e38, `${method}: mask min ${mask.min}`);
    assert.ok(Number.isFinite(mask.low) && Number.isFinite(mask.high), method);
    assert.ok(mask.warnings?.some((w) => /float32 max/.test(w)), `${method}: ${mask.warnings}`);
    const ln = t.ranges[tensors[1]];
    assert.ok(Number.isFinite(symmetricInt8Scale(ln)) && symmetricInt8Scale(ln) > 0);
    assert.equal(ln.warnings, undefined);
  }
});

test('sharded calibration merges to the unsharded result: minmax exactly; histograms exactly with shared global ranges', async () => {
  const model = loadModel(modelPath('mnist8'));
  const data = { kind: 'file' as const, path: dataPath('mnist8', 'calib') };
  const tensors = ['Input3', 'Convolution28_Output_0', 'ReLU32_Output_0', 'Plus214_Output_0'];
  for (const method of ['minmax', 'entropy', 'percentile', 'distribution', 'torch_entropy'] as const) {
    const histogramRange = 'global' as const;
    // entropy over 512 bins: several candidate windows, so the histogram is collected and searched
    const histogram = method === 'entropy' ? { numBins: 512 } : undefined;
    const whole = await collectStatistics(model, { method, tensors, data, histogramRange, histogram });
    const wholeTable = await computeTable(whole, kernels);
    const cuts = [0, 20, 41, 64];
    let merged: CalibrationTable;
    if (method === 'minmax') {
      const shards = await Promise.all([0, 1, 2].map((k) => collectStatistics(model, { method, tensors, data, range: { start: cuts[k], end: cuts[k + 1] } })));
      merged = await mergeToTable(shards.reverse());
    } else {
      // round 1: ranges per shard, merged; round 2: histograms per shard over the shared ranges
      const r1 = await Promise.all([0, 1, 2].map((k) => collectStatistics(model, { method, tensors, data, range: { start: cuts[k], end: cuts[k + 1] }, stopAfterRanges: true, histogramRange, histogram })));
      const ranges = globalRangesOf(await mergeStatistics(r1));
      const r2 = await Promise.all([0, 1, 2].map((k) => collectStatistics(model, { method, tensors, data, range: { start: cuts[k], end: cuts[k + 1] }, globalRanges: ranges, histogramRange, histogram })));
      const m = await mergeStatistics(r2);
      for (const t of tensors) {
        const a = (whole.tensors[t].ort ?? whole.tensors[t].ortAbs ?? whole.tensors[t].torch)!;
        const b = (m.tensors[t].ort ?? m.tensors[t].ortAbs ?? m.tensors[t].torch)!;
        assert.deepEqual(Array.from(b.hist), Array.from(a.hist), `${method} ${t} histogram`);
        assert.deepEqual(Array.from(b.edges), Array.from(a.edges), `${method} ${t} edges`);
      }
      merged = await computeTable(m, kernels);
    }
    assert.equal(merged.samples, 64);
    for (const t of tensors) {
      const a = wholeTable.ranges[t];
      const b = merged.ranges[t];
      assert.deepEqual([b.min, b.max, b.low, b.high, b.scale], [a.min, a.max, a.low, a.high, a.scale], `${method} ${t}`);
    }
  }
});

test('sharded calibration without shared ranges (streaming layouts) stays close to the unsharded thresholds', async () => {
  const model = loadModel(modelPath('mnist8'));
  const data = { kind: 'file' as const, path: dataPath('mnist8', 'calib') };
  const tensors = ['Convolution28_Output_0', 'Plus214_Output_0'];
  for (const method of ['torch_percentile', 'torch_mse', 'percentile'] as const) {
    const whole = await calibrate(model, { method, tensors, data, histogramRange: 'streaming' });
    const shards = await Promise.all([[0, 32], [32, 64]].map(([start, end]) => collectStatistics(model, { method, tensors, data, range: { start, end }, histogramRange: 'streaming' })));
    const merged = await mergeToTable(shards);
    for (const t of tensors) {
      const a = Math.max(Math.abs(whole.ranges[t].low), Math.abs(whole.ranges[t].high));
      const b = Math.max(Math.abs(merged.ranges[t].low), Math.abs(merged.ranges[t].high));
      const width = whole.ranges[t].histogram!.edges[1] - whole.ranges[t].histogram!.edges[0];
      assert.ok(Math.abs(a - b) <= 2 * width + 1e-6 * a, `${method} ${t}: ${a} vs ${b} (bin ${width})`);
    }
  }
});

test('merge rejects shards that overlap or mix methods', async () => {
  const model = loadModel(modelPath('mnist8'));
  const data = { kind: 'file' as const, path: dataPath('mnist8', 'calib') };
  const a = await collectStatistics(model, { method: 'minmax', tensors: ['Input3'], data, range: { start: 0, end: 10 } });
  const b = await collectStatistics(model, { method: 'minmax', tensors: ['Input3'], data, range: { start: 5, end: 12 } });
  const c = await collectStatistics(model, { method: 'entropy', tensors: ['Input3'], data, range: { start: 10, end: 12 } });
  await assert.rejects(mergeStatistics([a, b]), /overlap/);
  await assert.rejects(mergeStatistics([a, c]), /mix methods/);
  await assert.rejects(mergeStatistics([]), /no shards/);
});

test('torch methods: amax from the |x| histogram (entropy from bin 128, MSE, percentile 99.99) lies within [0, max|x|]', async () => {
  const model = loadModel(modelPath('mnist8'));
  const data = { kind: 'file' as const, path: dataPath('mnist8', 'calib') };
  const mm = await calibrate(model, { method: 'minmax', tensors: ['Convolution28_Output_0'], data });
  const amax = Math.max(Math.abs(mm.ranges['Convolution28_Output_0'].min), mm.ranges['Convolution28_Output_0'].max);
  for (const method of ['torch_entropy', 'torch_mse', 'torch_percentile'] as const) {
    const t = await calibrate(model, { method, tensors: ['Convolution28_Output_0'], data });
    const r = t.ranges['Convolution28_Output_0'];
    assert.equal(r.low, -r.high);
    assert.ok(r.high > 0 && r.high <= amax * (1 + 1e-6), `${method}: ${r.high} vs ${amax}`);
    assert.equal(r.histogram!.counts.length >= 2048, true);
  }
});

test('distribution (FP8): scale = std / std(E4M3) matches the reference FP8 golden on its calibration data (last sample)', async () => {
  const model = loadModel(modelPath('mnist8'));
  const z = openNpz(dataPath('mnist8', 'calib'));
  const x = z.get('Input3')!;
  const arrays = { Input3: { dtype: x.dtype, shape: [1, ...x.shape.slice(1)], data: x.readRows(x.shape[0] - 1, 1) } };
  const golden = JSON.parse(fs.readFileSync(`${GOLDENS_DIR}/mnist8.modelopt.fp8.json`, 'utf8')) as { dequantize: { source: string; scales: number[] }[] };
  const dq = golden.dequantize.filter((d) => d.source === 'Pooling160_Output_0_reshape0' || d.source === 'Parameter193_reshape1');
  assert.equal(dq.length, 2);
  const t = await calibrate(model, { method: 'distribution', tensors: dq.map((d) => d.source), data: { kind: 'arrays', arrays } });
  for (const d of dq) assert.ok(Math.abs(t.ranges[d.source].scale! - d.scales[0]) <= 1e-6 * d.scales[0], `${d.source}: ${t.ranges[d.source].scale} vs ${d.scales[0]}`);
});

test('random data is used when no data is given, with a note', async () => {
  const model = loadModel(modelPath('mnist8'));
  const t = await calibrate(model, { method: 'minmax', tensors: ['Input3'] });
  assert.equal(t.samples, 1);
  assert.ok(t.ranges['Input3'].min >= 0 && t.ranges['Input3'].max < 1);
  assert.ok(t.notes?.some((n) => /random/.test(n)));
});

test('stepsPerRun groups steps into one run; min/max and global-range thresholds agree to float rounding', async () => {
  const model = twoInputModel();
  const data = twoInputData(24, (i) => 0.25 + ((i * 7) % 13));
  for (const method of ['minmax', 'entropy', 'percentile'] as const) {
    const one = await calibrate(model, { method, tensors: ['lb', 'ma'], data });
    const runs: number[] = [];
    const grouped = await calibrate(model, { method, tensors: ['lb', 'ma'], data, stepsPerRun: 5, reductionStepsPerRun: 5, onProgress: (p) => runs.push(p.step) });
    // onnxruntime's vectorised kernels may differ by an ulp with bigger batches
    for (const t of ['lb', 'ma']) {
      const a = one.ranges[t];
      const b = grouped.ranges[t];
      for (const k of ['min', 'max', 'low', 'high'] as const) assert.ok(Math.abs(a[k] - b[k]) <= 1e-6 * Math.max(1, Math.abs(a[k])), `${method} ${t} ${k}: ${a[k]} vs ${b[k]}`);
      assert.equal(a.nanCount, b.nanCount);
    }
    assert.equal(grouped.samples, 24);
    assert.deepEqual(runs.slice(0, 5), [5, 10, 15, 20, 24], method); // min/max pass: groups of 5
  }
  // a fixed batch dimension (mnist8: [1,1,28,28]) cannot be grouped: noted, results as usual
  const mn = loadModel(modelPath('mnist8'));
  const t = await calibrate(mn, { method: 'minmax', tensors: ['Input3'], data: { kind: 'file', path: dataPath('mnist8', 'calib') }, stepsPerRun: 8 });
  assert.equal(t.samples, 64);
  assert.ok(t.notes?.some((n) => /stepsPerRun ignored/.test(n)));
});

test('the min/max pass groups steps by default, and goes on step by step where the model fixes its batch inside', async () => {
  // x [?, 4] → Reshape to [1, 4] (fails for a batch of 4) → r = Relu
  const model = batchFixedInsideModel();
  const rows = 10;
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [rows, 4], data: Float32Array.from({ length: rows * 4 }, (_, i) => Math.sin(i) * 3) } } };
  const steps: number[] = [];
  const t = await calibrate(model, { method: 'minmax', tensors: ['rx', 'r'], data, onProgress: (p) => steps.push(p.step) });
  assert.ok(t.notes?.some((n) => /one step at a time: a run of 8 grouped steps failed/.test(n)), String(t.notes));
  const xs = data.arrays.x.data;
  assert.equal(t.ranges['rx'].min, Math.min(...xs));
  assert.equal(t.ranges['rx'].max, Math.max(...xs));
  assert.equal(t.samples, rows);
  assert.equal(steps.at(-1), rows);
  // grouping steps where the model allows it (here 2 runs of 5: tiny tensors, 8 at most, cut evenly): the same ranges as one step per run
  const m2 = twoInputModel();
  const d2 = twoInputData(10, (i) => 0.5 + i);
  const runs: number[] = [];
  const g4 = await calibrate(m2, { method: 'minmax', tensors: ['lb', 'ma'], data: d2, onProgress: (p) => runs.push(p.step) });
  const g1 = await calibrate(m2, { method: 'minmax', tensors: ['lb', 'ma'], data: d2, reductionStepsPerRun: 1 });
  assert.deepEqual(runs, [5, 10]);
  for (const k of ['lb', 'ma']) {
    assert.ok(Math.abs(g4.ranges[k].min - g1.ranges[k].min) <= 1e-6 && Math.abs(g4.ranges[k].max - g1.ranges[k].max) <= 1e-6, k);
  }
});

test('onnxruntime refusing the session with every dim fixed, or a grouped run in it, is noted and the pass goes on in one for any dim 0 (fault injection)', async () => {
  // our shape rules are strict enough that no model of ours reaches these paths: onnxruntime's refusals are injected
  const n = 64;
  const rows = 20;
  const model = buildModel({
    nodes: [makeNode('Relu', ['x'], ['a'], 'a'), makeNode('Neg', ['x'], ['b'], 'b')],
    inputs: [dvi('x', [null, n, n])],
    outputs: ['a', 'b'].map((o) => dvi(o, [null, n, n])),
  });
  const x = Float32Array.from({ length: rows * n * n }, (_, i) => Math.fround(((i * 7919) % 10007) / 1000 - 5));
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [rows, n, n], data: x } } };
  const tensors = ['x', 'a', 'b'];
  const ranges = (t: Awaited<ReturnType<typeof collectStatistics>>) => tensors.map((k) => [t.tensors[k]!.min, t.tensors[k]!.max, t.tensors[k]!.count]);
  const want = ranges(await collectStatistics(model, { method: 'minmax', tensors, data }));
  const fixedBatch = (bytes: Uint8Array) => {
    const m = onnx.ModelProto.decode(bytes) as unknown as { graph: { input: { type: { tensorType: { shape: { dim: { dimValue?: unknown }[] } } } }[] } };
    return Number(m.graph.input[0]?.type.tensorType.shape.dim[0]?.dimValue ?? 0) > 1;
  };
  const create = ort.InferenceSession.create;
  const patched = (fault: 'build' | 'run') =>
    (async (bytes: Uint8Array, ...rest: unknown[]) => {
      if (fault === 'build' && fixedBatch(bytes)) throw new Error('injected: no session with these dims');
      const session = await (create as (...a: unknown[]) => Promise<ort.InferenceSession>)(bytes, ...rest);
      if (fault === 'run' && fixedBatch(bytes)) session.run = () => Promise.reject(new Error('injected: this run failed'));
      return session;
    }) as typeof create;
  try {
    for (const [fault, note, steps] of [
      ['build', /no session with every dim fixed \(.*injected: no session/, ['5/20', '10/20', '15/20', '20/20']],
      ['run', /one step at a time: a run of 5 grouped steps failed \(.*injected: this run failed/, ['5/20', ...Array.from({ length: 15 }, (_, i) => `${i + 6}/20`)]],
    ] as const) {
      ort.InferenceSession.create = patched(fault);
      const seen: string[] = [];
      const cache = new SessionCache<ReducingSession>(2);
      const t = await collectStatistics(model, { method: 'minmax', tensors, data, onProgress: (p) => seen.push(`${p.step}/${p.steps}`), sessions: { cache, model: fault } });
      assert.equal(cache.size, 0, `${fault}: the session for any dim 0 it fell back to is not kept under the fixed dims' key`);
      assert.ok(t.notes.some((m) => note.test(m)), `${fault}: ${t.notes.join(' | ')}`);
      assert.deepEqual(seen, steps, fault);
      assert.deepEqual(ranges(t), want, fault);
    }
  } finally {
    ort.InferenceSession.create = create;
  }
});

test('a float16 model is reduced in the graph (its reductions widened to float) and matches the values', async () => {
  // x [?, 3] float → h = Cast(x, float16) → s = Sigmoid(h) (float16) → y = Cast(s, float)
  const model = buildModel({
    nodes: [
      makeNode('Cast', ['x'], ['h'], 'to_half', { to: DataType.FLOAT16 }),
      makeNode('Sigmoid', ['h'], ['s'], 'sig'),
      makeNode('Cast', ['s'], ['y'], 'to_float', { to: DataType.FLOAT }),
    ],
    inputs: [dvi('x', [null, 3])],
    outputs: [dvi('y', [null, 3])],
  });
  const rows = 6;
  const xs = Float32Array.from({ length: rows * 3 }, (_, i) => (i - 9) / 2);
  const t = await calibrate(model, { method: 'minmax', tensors: ['h', 's'], data: { kind: 'arrays', arrays: { x: { dtype: 'float32', shape: [rows, 3], data: xs } } } });
  assert.equal(t.ranges['h'].min, -4.5);
  assert.equal(t.ranges['h'].max, 4);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  assert.ok(Math.abs(t.ranges['s'].min - sig(-4.5)) < 1e-3 && Math.abs(t.ranges['s'].max - sig(4)) < 1e-3, JSON.stringify(t.ranges['s']));
  assert.equal(t.ranges['s'].nanCount, 0);
});

test('only what the calibrated tensors need is run: a model tail that fails on the data does not stop any method', async () => {
  // x [?, 4] → r = Relu(x) (calibrated) → y = Reshape(r, [7, 7, 7]) (the output; fails for every batch)
  const shape = onnx.TensorProto.create({ name: 'shape', dims: [3], dataType: DataType.INT64, int64Data: [7, 7, 7] });
  const model = buildModel({
    nodes: [makeNode('Relu', ['x'], ['r'], 'relu'), makeNode('Reshape', ['r', 'shape'], ['y'], 'tail')],
    inputs: [dvi('x', [null, 4])],
    outputs: [dvi('y', [7, 7, 7])],
    initializers: [shape as never],
  });
  const rows = 6;
  const xs = Float32Array.from({ length: rows * 4 }, (_, i) => Math.cos(i) * 2);
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [rows, 4], data: xs } } };
  for (const method of ['minmax', 'entropy', 'percentile', 'torch_entropy'] as const) {
    const t = await calibrate(model, { method, tensors: ['x', 'r'], data, alwaysCollectHistograms: true });
    assert.equal(t.ranges['r'].max, Math.max(...xs), method);
    assert.equal(t.ranges['r'].min, 0, method);
    assert.equal(t.ranges['x'].min, Math.min(...xs), method);
    assert.equal(t.samples, rows, method);
  }
});

test('float32-max values whose sums overflow are not taken for NaN/Inf; both-way overflow is counted exactly too', async () => {
  // x [?, 4] → n = Neg(x); rows of ±3e38 sentinels (sums overflow) and one row mixing both signs
  const model = buildModel({ nodes: [makeNode('Neg', ['x'], ['n'], 'neg')], inputs: [dvi('x', [null, 4])], outputs: [dvi('n', [null, 4])] });
  const big = 3e38;
  const rows = [
    [-big, -big, -big, 1],
    [-big, -big, 2, -big],
    [big, big, -big, -big],
    [0.5, -0.25, 3, 4],
  ];
  const xs = Float32Array.from(rows.flat());
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [rows.length, 4], data: xs } } };
  for (const reductionStepsPerRun of [1, 4]) {
    const t = await calibrate(model, { method: 'minmax', tensors: ['x', 'n'], data, reductionStepsPerRun });
    // x and its negation n both span [-3e38, 3e38] exactly
    for (const name of ['x', 'n']) {
      const r = t.ranges[name];
      assert.equal(r.min, -Math.fround(big), name);
      assert.equal(r.max, Math.fround(big), name);
      assert.equal(r.nanCount, 0, name);
      assert.equal(r.infCount, 0, name);
      assert.ok(!r.warnings?.some((w) => /NaN|Inf/.test(w)), `${name}: ${r.warnings}`);
    }
  }
});

test('min/max pass: scalar, rank-1 and rank-2 activations (views with and without the Unsqueeze a scalar needs) give exact ranges', async () => {
  const W = [0.5, -1, 2, 1.5, 0.25, -0.75, -2, 1, 0.125, 3, -0.5, 1];
  const sumW = W.reduce((a, b) => a + b, 0);
  const model = buildModel({
    nodes: [
      makeNode('MatMul', ['x', 'W'], ['m'], 'mm'), // x: read by MatMul, so known to have rank >= 1
      makeNode('ReduceSum', ['W'], ['s'], 'sum', { keepdims: 0 }), // s: a scalar
      makeNode('Mul', ['m', 's'], ['y'], 'scale'),
      makeNode('Gather', ['m', 'one'], ['col'], 'col', { axis: 1 }), // col: rank 1; m read by Gather's data input
      makeNode('Relu', ['col'], ['r'], 'relu'),
    ],
    inputs: [dvi('x', [null, 4])],
    outputs: [dvi('y', [null, 3]), dvi('r', [null])],
    initializers: [
      onnx.TensorProto.create({ name: 'W', dims: [4, 3], dataType: DataType.FLOAT, floatData: W }) as never,
      onnx.TensorProto.create({ name: 'one', dims: [], dataType: DataType.INT64, int64Data: [1] }) as never,
    ],
  });
  const rows = 6;
  const x = Float32Array.from({ length: rows * 4 }, (_, i) => Math.cos(i * 1.3) * 3);
  const m = Array.from({ length: rows * 3 }, (_, q) => {
    const [r, c] = [Math.floor(q / 3), q % 3];
    let acc = 0;
    for (let k = 0; k < 4; k++) acc += x[r * 4 + k]! * W[k * 3 + c]!;
    return acc;
  });
  const range = (v: number[]) => [Math.min(...v), Math.max(...v)];
  const expected: Record<string, number[]> = {
    x: range([...x]),
    m: range(m),
    s: [sumW, sumW],
    y: range(m.map((v) => v * sumW)),
    col: range(m.filter((_, q) => q % 3 === 1)),
  };
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [rows, 4], data: x } } };
  for (const reductionStepsPerRun of [1, 4, 6]) {
    const t = await collectStatistics(model, { method: 'minmax', tensors: Object.keys(expected), data, reductionStepsPerRun });
    for (const [name, [lo, hi]] of Object.entries(expected)) {
      const s = t.tensors[name]!;
      assert.ok(Math.abs(s.min - lo!) <= 1e-5 * Math.max(1, Math.abs(lo!)), `${name} (${reductionStepsPerRun}/run): min ${s.min} vs ${lo}`);
      assert.ok(Math.abs(s.max - hi!) <= 1e-5 * Math.max(1, Math.abs(hi!)), `${name} (${reductionStepsPerRun}/run): max ${s.max} vs ${hi}`);
    }
    assert.equal(t.tensors['x']!.count, rows * 4);
    assert.equal(t.tensors['m']!.count, rows * 3);
    assert.equal(t.tensors['col']!.count, rows);
  }
});

test('min/max pass: rank-3 and rank-4 activations reduced in per-channel rows (or per-sample rows, six samples per run) give exact ranges and counts, NaN included', async () => {
  const [C, H, W] = [2, 3, 4];
  const scale = [1.5, -2];
  const model = buildModel({
    nodes: [
      makeNode('Mul', ['x', 'k'], ['y'], 'scale'), // rank 4, per-channel factors (not a derivable step)
      makeNode('Reshape', ['x', 'shape3'], ['r3'], 'reshape'), // rank 3: [N, 6, 4]
      makeNode('Relu', ['y'], ['out'], 'relu'),
    ],
    inputs: [dvi('x', [null, C, H, W])],
    outputs: [dvi('out', [null, C, H, W]), dvi('r3', [null, 6, 4])],
    initializers: [
      onnx.TensorProto.create({ name: 'k', dims: [1, C, 1, 1], dataType: DataType.FLOAT, floatData: scale }) as never,
      onnx.TensorProto.create({ name: 'shape3', dims: [3], dataType: DataType.INT64, int64Data: [0, 6, 4] }) as never,
    ],
  });
  const rows = 6;
  const per = C * H * W;
  const x = Float32Array.from({ length: rows * per }, (_, i) => Math.fround(Math.sin(i * 0.7) * 5 + (i % 7)));
  x[3 * per + 17] = NaN; // one NaN in the fourth sample, channel 0
  const y = Array.from(x, (v, i) => Math.fround(v * scale[Math.floor((i % per) / (H * W))]!));
  const range = (v: number[]) => {
    const f = v.filter((a) => !Number.isNaN(a));
    return [Math.min(...f), Math.max(...f)];
  };
  const expected: Record<string, number[]> = { y: range(y), r3: range([...x]) };
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [rows, C, H, W], data: x } } };
  for (const reductionStepsPerRun of [1, 4, 6]) {
    const t = await collectStatistics(model, { method: 'minmax', tensors: Object.keys(expected), data, reductionStepsPerRun });
    for (const [name, [lo, hi]] of Object.entries(expected)) {
      const s = t.tensors[name]!;
      assert.equal(s.min, lo, `${name} (${reductionStepsPerRun}/run): min`);
      assert.equal(s.max, hi, `${name} (${reductionStepsPerRun}/run): max`);
      assert.equal(s.count, rows * per, `${name} (${reductionStepsPerRun}/run): count`);
      assert.equal(s.nanCount, 1, `${name} (${reductionStepsPerRun}/run): NaN count`);
    }
  }
});

test('a requested input over the grouping limit settles one step per run up front; steps of equal dims get a session with every dim fixed', async () => {
  const [H, W] = [1025, 1024]; // 1,049,600 values per row: over the 2^20 limit
  const model = buildModel({
    nodes: [makeNode('Relu', ['x'], ['r'], 'relu')],
    inputs: [dvi('x', [null, H, W])],
    outputs: [dvi('r', [null, H, W])],
  });
  const rows = 3;
  const x = Float32Array.from({ length: rows * H * W }, (_, i) => Math.fround(((i * 7919) % 10007) / 1000 - 5));
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [rows, H, W], data: x } } };
  const seen: string[] = [];
  const t = await collectStatistics(model, { method: 'minmax', tensors: ['x', 'r'], data, onProgress: (p) => seen.push(`${p.step}/${p.steps}`) });
  assert.deepEqual(seen, ['1/3', '2/3', '3/3']);
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  assert.equal(t.tensors['x']!.min, lo);
  assert.equal(t.tensors['x']!.max, hi);
  assert.equal(t.tensors['r']!.min, Math.max(0, lo));
  assert.equal(t.tensors['x']!.count, rows * H * W);
});

test('the min/max pass groups steps only where the calibrated tensors hold at most 250K values per sample on average, more of them the smaller they are: decided from their inferred shapes, else after a first step alone', async () => {
  // x [?, n, n] and five tensors of its size: 8 steps per run (the most) at 64 x 64 (4,096 values each) and at
  // 256 x 256 (65,536: 1M / 65,536 would allow 15), none at 512 x 512 (262,144: over 250K on average), each cut
  // to runs of one size where the shapes are known (20 steps: 4 runs of 5); where the tensors come after an op
  // whose output shape is not inferred (CumSum), the first step runs alone
  for (const [n, unknownShapes, want] of [
    [64, false, ['5/20', '10/20', '15/20', '20/20']],
    [256, false, ['5/20', '10/20', '15/20', '20/20']],
    [512, false, Array.from({ length: 20 }, (_, i) => `${i + 1}/20`)],
    [256, true, ['1/20', '9/20', '17/20', '20/20']],
    [512, true, Array.from({ length: 20 }, (_, i) => `${i + 1}/20`)],
  ] as const) {
    const model = fiveTensorModel(n, unknownShapes);
    const rows = 20;
    const x = Float32Array.from({ length: rows * n * n }, (_, i) => Math.fround(((i * 7919) % 10007) / 1000 - 5));
    const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [rows, n, n], data: x } } };
    const seen: string[] = [];
    const tensors = unknownShapes ? ['cx', 'a', 'b', 'c', 'd', 'e'] : ['x', 'a', 'b', 'c', 'd', 'e'];
    const t = await collectStatistics(model, { method: 'minmax', tensors, data, onProgress: (p) => seen.push(`${p.step}/${p.steps}`) });
    assert.deepEqual(seen, want, `${n} x ${n}${unknownShapes ? ', shapes unknown' : ''}`);
    if (!unknownShapes) {
      let lo = Infinity;
      for (const v of x) lo = Math.min(lo, v);
      assert.equal(t.tensors['b']!.max, -lo);
    }
    assert.equal(t.tensors['a']!.count, rows * n * n);
  }
});

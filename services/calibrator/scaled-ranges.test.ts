import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perChannelTensors, scaledRange, scaledRanges } from './scaled-ranges.js';
import { graphConstants } from './derived-ranges.js';
import { knownRanks } from './tensor-ranks.js';
import { ReducingSession } from './capture-session.js';
import { collectStatistics } from './calibrate.js';
import { DataType, defaultOpset, onnx, type ModelProto } from '../core/onnx/index.js';
import { inferShapes } from './tensor-shapes.js';
import { dvi, exactStatistics } from '../../test/helpers/calib-models.js';
import { buildModel, makeNode, weight } from '../../test/helpers/tiny-models.js';

const scalar = (name: string, v: number) => onnx.TensorProto.create({ name, dims: [], dataType: DataType.FLOAT, floatData: [v] }) as never;

/**
 * A squeeze-excitation block on x [N, 4, 5, 6]: a = HardSigmoid(Conv1x1(Relu(Conv1x1(GAP(x))))) in [0, 1],
 * s = x * a, r = x + x * a; b = Conv1x1(GAP(x)) may be negative: p = x * b, q = x + x * b; w = x * Sigmoid(x)
 * (not per channel); y [1, 4, 5, 6] -> g = GAP(y) [1, 4, 1, 1], m = z * g with z [N, 1, 5, 6] (g widens z).
 */
function seModel(): ModelProto {
  return buildModel({
    nodes: [
      makeNode('GlobalAveragePool', ['x'], ['pool'], 'gap'),
      makeNode('Conv', ['pool', 'w1', 'b1'], ['sq'], 'squeeze', { kernel_shape: [1, 1] }),
      makeNode('Relu', ['sq'], ['sqr'], 'relu'),
      makeNode('Conv', ['sqr', 'w2', 'b2'], ['ex'], 'excite', { kernel_shape: [1, 1] }),
      makeNode('HardSigmoid', ['ex'], ['a'], 'hsig', { alpha: 0.2, beta: 0.5 } as never),
      makeNode('Mul', ['x', 'a'], ['s'], 'scale'),
      makeNode('Mul', ['a', 'x'], ['s2'], 'scale2'),
      makeNode('Add', ['x', 's2'], ['r'], 'residual'),
      makeNode('Conv', ['pool', 'w3', 'b3'], ['b'], 'signed', { kernel_shape: [1, 1] }),
      makeNode('Mul', ['x', 'b'], ['p'], 'scale3'),
      makeNode('Mul', ['b', 'x'], ['pb'], 'scale4'),
      makeNode('Add', ['pb', 'x'], ['q'], 'residual2'),
      makeNode('Sigmoid', ['x'], ['sig'], 'sig'),
      makeNode('Mul', ['x', 'sig'], ['w'], 'swish'),
      makeNode('GlobalAveragePool', ['y'], ['g'], 'gapy'),
      makeNode('Mul', ['z', 'g'], ['m'], 'widen'),
      makeNode('Add', ['pool', 'three'], ['pool3'], 'add3'),
    ],
    inputs: [dvi('x', [null, 4, 5, 6]), dvi('y', [1, 4, 5, 6]), dvi('z', [null, 1, 5, 6])],
    outputs: ['s', 'r', 'p', 'q', 'w', 'm', 'pool3'].map((n) => dvi(n, [null, null, null, null])),
    initializers: [weight('w1', [2, 4, 1, 1], 1), weight('b1', [2], 2), weight('w2', [4, 2, 1, 1], 3), weight('b2', [4], 4), weight('w3', [4, 4, 1, 1], 5), weight('b3', [4], 6), scalar('three', 3)],
  });
}
const TENSORS = ['x', 'a', 's', 's2', 'r', 'b', 'p', 'pb', 'q', 'sig', 'w', 'y', 'z', 'g', 'm'];

test('scaled ranges: x * a and x + x * a where a is per channel by its making', () => {
  const model = seModel();
  const g = model.graph!;
  const ranks = knownRanks(g, 13);
  const consts = graphConstants(g);
  const per = perChannelTensors(g, ranks, consts);
  for (const t of ['pool', 'sq', 'sqr', 'ex', 'a', 'b', 'g', 'pool3']) assert.ok(per.has(t), t);
  for (const t of ['x', 's', 'sig', 'w', 'm']) assert.ok(!per.has(t), t);
  const found = Object.fromEntries([...scaledRanges(g, TENSORS, ranks, consts)].map(([t, r]) => [t, `${r.form} ${r.source} ${r.factor}`]));
  // r and q follow from x and a (b) whether their inner product is calibrated or not; m's rows do not line
  // up with z's (g widens z): chosen here, refused at run time; w's factor is not per channel
  assert.deepEqual(found, { s: 'product x a', s2: 'product x a', r: 'plusProduct x a', p: 'product x b', pb: 'product x b', q: 'plusProduct x b', m: 'product z g' });
  // a factor that is not reduced (here: not requested) cannot serve
  assert.deepEqual([...scaledRanges(g, TENSORS.filter((t) => t !== 'a'), ranks, consts).keys()], ['p', 'pb', 'q', 'm']);
});

test('scaled range: rows line up by samples and channels, negative factors flip a product and stop x + x * a', () => {
  const rows = (samples: number, channels: number, min: number[], max: number[], rest = 30) => ({ samples, rows: samples * channels, rest, min, max, finite: true });
  const x = rows(2, 2, [-1, -2, 0.5, -4], [3, 1, 2, 8]);
  // one factor per sample and channel
  assert.deepEqual(scaledRange('product', x, rows(2, 2, [0.5, 2, 1, 0.25], [0.5, 2, 1, 0.25], 1)), { min: -4, max: 2 });
  // one per channel, for both samples; a negative one swaps min and max
  assert.deepEqual(scaledRange('product', x, rows(1, 2, [-1, 1], [-1, 1], 1)), { min: -4, max: 8 });
  assert.deepEqual(scaledRange('product', x, rows(1, 2, [-1, -1], [-1, -1], 1)), { min: -8, max: 4 });
  assert.equal(scaledRange('plusProduct', x, rows(1, 2, [-1, 1], [-1, 1], 1)), undefined);
  assert.deepEqual(scaledRange('plusProduct', x, rows(1, 2, [0.5, 1], [0.5, 1], 1)), { min: -8, max: 16 });
  // float32 steps: 0.1 * 3 rounds once, then the sum rounds once
  const f = Math.fround;
  assert.deepEqual(scaledRange('plusProduct', rows(1, 1, [f(0.1)], [3]), rows(1, 1, [f(0.1)], [f(0.1)], 1)), { min: f(f(0.1) + f(f(0.1) * f(0.1))), max: f(3 + f(3 * f(0.1))) });
  // rows that do not line up, a factor with more than one value per row, a source not finite
  assert.equal(scaledRange('product', x, rows(1, 4, [1, 1, 1, 1], [1, 1, 1, 1], 1)), undefined);
  assert.equal(scaledRange('product', x, rows(2, 2, [1, 1, 1, 1], [1, 1, 1, 1], 2)), undefined);
  assert.equal(scaledRange('product', { ...x, finite: false }, rows(1, 2, [1, 1], [1, 1], 1)), undefined);
  // overflow to Inf: not derived (the tensor is fetched and its Inf counted)
  assert.equal(scaledRange('product', rows(1, 1, [1], [3e38]), rows(1, 1, [4], [4], 1)), undefined);
});

test('scaled ranges equal the reduced ones bit for bit, one and four samples per run; those not derived are fetched exactly', async () => {
  const model = seModel();
  const derived = await ReducingSession.create(model, TENSORS);
  const reduced = await ReducingSession.create(model, TENSORS, { deriveRanges: false });
  // built for four samples per run: tensors are cut one row per sample, except those whose channel rows the
  // scaled ranges read
  const inputDims = new Map<string, number[]>([['x', [4, 4, 5, 6]], ['y', [1, 4, 5, 6]], ['z', [4, 1, 5, 6]]]);
  const fixed = await ReducingSession.create(model, TENSORS, { inputDims });
  assert.deepEqual([...derived.scaled.keys()].sort(), ['m', 'p', 'pb', 'q', 'r', 's', 's2']);
  assert.deepEqual([...fixed.scaled.keys()].sort(), ['m', 'p', 'pb', 'q', 'r', 's', 's2']);
  for (const t of ['x', 'a', 'b']) assert.equal(fixed.rowsOf(t), 'sample and channel', t);
  for (const t of ['sig', 'w']) assert.equal(fixed.rowsOf(t), 'sample', t);
  for (const t of ['sig', 'w']) assert.equal(derived.rowsOf(t), 'sample and channel', `${t}, any dim 0`);
  for (const n of [1, 4]) {
    const x = Float32Array.from({ length: n * 120 }, (_, i) => Math.fround(Math.sin(i * 0.91) * 3 + (i % 7) * 0.01));
    const feeds = [
      { name: 'x', dtype: 'float32' as const, dims: [n, 4, 5, 6], data: x },
      { name: 'y', dtype: 'float32' as const, dims: [1, 4, 5, 6], data: x.subarray(0, 120) },
      { name: 'z', dtype: 'float32' as const, dims: [n, 1, 5, 6], data: x.subarray(0, n * 30) },
    ];
    const a = await derived.run(feeds);
    const b = await reduced.run(feeds);
    for (const t of TENSORS.filter((u) => u !== 'm' && u !== 'q')) assert.deepEqual(a.get(t), b.get(t), `${t}, ${n} per run`);
    if (n === 4) {
      const c = await fixed.run(feeds);
      for (const t of TENSORS.filter((u) => u !== 'm' && u !== 'q')) assert.deepEqual(c.get(t), b.get(t), `${t}, built for 4 per run`);
    }
    // z [n, 1, 5, 6] * g [1, 4, 1, 1]: z's rows (one per sample) do not line up with g's (one per channel)
    assert.equal(a.get('m')!.finite, false);
    // x + x * b with a negative factor in b: not derived
    assert.ok(b.get('b')!.min < 0);
    assert.equal(a.get('q')!.finite, false);
  }
  await Promise.all([derived.release(), reduced.release(), fixed.release()]);
  // through the whole pass, NaN in x included: every count and range equals the tensors' own
  const x = Float32Array.from({ length: 4 * 120 }, (_, i) => Math.sin(i * 0.37) * 2);
  x[17] = NaN;
  const arrays = { x: { shape: [4, 4, 5, 6], data: x }, y: { shape: [4, 4, 5, 6], data: x }, z: { shape: [4, 1, 5, 6], data: x.subarray(0, 120) } };
  const data = { kind: 'arrays' as const, arrays: Object.fromEntries(Object.entries(arrays).map(([k, v]) => [k, { dtype: 'float32' as const, ...v }])) };
  // y is fed whole to every run ([1, 4, 5, 6] is its only shape): one sample of each per run
  const runs = [0, 1, 2, 3].map((i) => [
    { name: 'x', dtype: 'float32' as const, dims: [1, 4, 5, 6], data: x.subarray(i * 120, (i + 1) * 120) },
    { name: 'y', dtype: 'float32' as const, dims: [1, 4, 5, 6], data: x.subarray(i * 120, (i + 1) * 120) },
    { name: 'z', dtype: 'float32' as const, dims: [1, 1, 5, 6], data: x.subarray(i * 30, (i + 1) * 30) },
  ]);
  const want = await exactStatistics(model, TENSORS, runs, 'all');
  const got = await collectStatistics(model, { method: 'minmax', tensors: TENSORS, data, reductionStepsPerRun: 1 });
  for (const t of TENSORS) {
    const u = got.tensors[t]!;
    assert.deepEqual([u.min, u.max, u.count, u.nanCount, u.infCount], want.get(t), t);
  }
});

test('scaled range: extremes taken in doubles and rounded once equal float32 arithmetic row by row', () => {
  // float32 values over a wide range of exponents (products near float32's limits, sums of very different sizes)
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const f = Math.fround;
  const value = () => f((rnd() < 0.5 ? -1 : 1) * (0.5 + rnd()) * 2 ** Math.floor(rnd() * 120 - 60));
  for (let round = 0; round < 200; round++) {
    const [samples, channels] = [1 + Math.floor(rnd() * 3), 1 + Math.floor(rnd() * 5)];
    const rows = samples * channels;
    const [lo, hi, a] = [new Float32Array(rows), new Float32Array(rows), new Float32Array(rows)];
    for (let r = 0; r < rows; r++) {
      const [u, v] = [value(), value()];
      [lo[r], hi[r]] = [Math.min(u, v), Math.max(u, v)];
      a[r] = round % 2 ? Math.abs(value()) : value();
    }
    const x = { samples, rows, rest: 3, min: lo, max: hi, finite: true };
    const factor = { samples, rows, rest: 1, min: a, max: a, finite: true };
    for (const form of ['product', 'plusProduct'] as const) {
      // row by row in float32, as onnxruntime computes each element
      const step = (v: number, m: number) => (form === 'product' ? f(v * m) : f(v + f(v * m)));
      let [min, max, monotone] = [Infinity, -Infinity, true];
      for (let r = 0; r < rows; r++) {
        if (form === 'plusProduct' && !(a[r]! >= 0)) monotone = false;
        for (const v of [step(lo[r]!, a[r]!), step(hi[r]!, a[r]!)]) [min, max] = [Math.min(min, v), Math.max(max, v)];
      }
      const want = monotone && Number.isFinite(min) && Number.isFinite(max) ? { min, max } : undefined;
      assert.deepEqual(scaledRange(form, x, factor), want, `${form}, round ${round}`);
    }
  }
});

test('small tensors handed back whole give the ranges, sizes and NaN checks of their reductions bit for bit', async () => {
  const model = seModel();
  const dims = new Map<string, number[]>([['x', [4, 4, 5, 6]], ['y', [1, 4, 5, 6]], ['z', [4, 1, 5, 6]]]);
  const knownShapes = { dims, shapes: inferShapes(model.graph!, dims, defaultOpset(model)) };
  const whole = await ReducingSession.create(model, TENSORS, { inputDims: dims, knownShapes });
  const reduced = await ReducingSession.create(model, TENSORS, { inputDims: dims, knownShapes, rawValuesUpTo: 0 });
  // no dims fixed: nothing handed back whole
  const dynamic = await ReducingSession.create(model, TENSORS, { knownShapes });
  try {
    // the factors (one value per sample and channel) are handed back whole and their values are the rows the
    // scaled ranges read; x's rows of 30 values are still reduced
    for (const t of ['a', 'b', 'g', 'sig', 'w', 'y']) assert.equal(whole.rowsOf(t), 'values', t);
    for (const t of ['x', 'z']) assert.equal(whole.rowsOf(t), 'sample and channel', t);
    for (const t of ['a', 'sig']) assert.notEqual(reduced.rowsOf(t), 'values', t);
    for (const t of ['a', 'sig']) assert.notEqual(dynamic.rowsOf(t), 'values', t);
    for (const nanAt of [-1, 17, 300]) {
      const x = Float32Array.from({ length: 480 }, (_, i) => Math.fround(Math.sin(i * 0.91) * 3 + (i % 7) * 0.01));
      if (nanAt >= 0) x[nanAt] = NaN;
      const feeds = [
        { name: 'x', dtype: 'float32' as const, dims: [4, 4, 5, 6], data: x },
        { name: 'y', dtype: 'float32' as const, dims: [1, 4, 5, 6], data: x.subarray(0, 120) },
        { name: 'z', dtype: 'float32' as const, dims: [4, 1, 5, 6], data: x.subarray(0, 120) },
      ];
      const [a, b] = [await whole.run(feeds), await reduced.run(feeds)];
      for (const t of TENSORS) {
        const [u, w] = [a.get(t)!, b.get(t)!];
        assert.equal(u.finite, w.finite, `${t}, NaN at ${nanAt}`);
        assert.equal(u.size, w.size, `${t}, NaN at ${nanAt}`);
        // a tensor that may hold NaN is fetched and counted exactly by the caller: only its flag matters
        if (w.finite) assert.deepEqual(u, w, `${t}, NaN at ${nanAt}`);
      }
      if (nanAt >= 0) for (const t of ['x', 'a', 'sig', 'w', 's']) assert.equal(a.get(t)!.finite, false, `${t} after NaN in x`);
      else for (const t of TENSORS.filter((u) => u !== 'm' && u !== 'q')) assert.equal(a.get(t)!.finite, true, t);
    }
  } finally {
    await Promise.all([whole.release(), reduced.release(), dynamic.release()]);
  }
});

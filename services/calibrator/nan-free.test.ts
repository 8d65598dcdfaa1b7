import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nanChecks, nanFreeConditions } from './nan-free.js';
import { collectStatistics } from './calibrate.js';
import { CaptureSession, ReducingSession } from './capture-session.js';
import { planCalibration } from './calibration-data.js';
import { prepare } from '../graph-analyzer/prepare.js';
import { analyze } from '../graph-analyzer/analyze.js';
import { DataType, loadModel, onnx, type ModelProto } from '../core/onnx/index.js';
import { dvi, exactStatistics, withNaNAt } from '../../test/helpers/calib-models.js';
import { buildModel, makeNode, weight } from '../../test/helpers/tiny-models.js';
import { dataPath, modelPath } from '../../test/helpers/shared.js';

const scalar = (name: string, v: number) => onnx.TensorProto.create({ name, dims: [], dataType: DataType.FLOAT, floatData: [v] }) as never;

test('NaN-free conditions: the reduced tensors each proved tensor depends on, none through steps that can make NaN', () => {
  const model = buildModel({
    nodes: [
      makeNode('Add', ['x', 'three'], ['x3'], 'add3'),
      makeNode('Clip', ['x3', 'zero', 'six'], ['c'], 'clip'),
      makeNode('Mul', ['x', 'c'], ['xc'], 'mul'),
      makeNode('Div', ['xc', 'six'], ['h'], 'hswish'), // hard-swish of x: no NaN while x is finite
      makeNode('Mul', ['two', 'h'], ['h2'], 'scale'),
      makeNode('Add', ['h2', 'one'], ['g'], 'shift'), // an affine step of h: no NaN while h is finite
      makeNode('Sigmoid', ['h'], ['q'], 'sig'), // finite h: finite
      makeNode('Add', ['x', 'x'], ['xx'], 'double'), // may overflow to Inf
      makeNode('Sigmoid', ['xx'], ['s'], 'sig2'), // of a value that may be Inf: unknown
      makeNode('Mul', ['xx', 'zero'], ['z'], 'times0'), // Inf * 0: NaN
      makeNode('Mul', ['x', 'zero'], ['xz'], 'x0'), // finite x * 0: no NaN while x is finite
      makeNode('Div', ['x', 'x'], ['d'], 'div'), // 0 / 0
      makeNode('Concat', ['h', 'g'], ['cat'], 'cat', { axis: 1 }),
      makeNode('MatMul', ['x', 'w'], ['mm'], 'mm'), // an accumulation: unknown
      makeNode('Relu', ['mm'], ['r'], 'relu'), // of a reduced tensor: no NaN while it is finite
      makeNode('MatMul', ['x', 'w'], ['mm2'], 'mm2'), // not reduced
      makeNode('Relu', ['mm2'], ['r2'], 'relu2'), // of an unknown: unknown
      makeNode('MaxPool', ['x'], ['mp'], 'pool', { kernel_shape: [2] }), // not reduced: no NaN while x is finite, maybe -Inf
      makeNode('Relu', ['mp'], ['mpr'], 'relu3'), // no NaN while x is finite
      makeNode('Mul', ['mp', 'zero'], ['mpz'], 'mp0'), // -Inf * 0 is possible: unknown
    ],
    inputs: [dvi('x', [null, 4])],
    outputs: [dvi('cat', [null, 8])],
    initializers: [scalar('three', 3), scalar('zero', 0), scalar('six', 6), scalar('two', 2), scalar('one', 1), onnx.TensorProto.create({ name: 'w', dims: [4, 4], dataType: DataType.FLOAT, floatData: new Array(16).fill(0.5) }) as never],
  });
  const reduced = ['x', 'h', 'g', 'q', 's', 'z', 'xz', 'd', 'cat', 'mm', 'r', 'r2', 'mpr', 'mpz'];
  const got = nanFreeConditions(model.graph!, reduced);
  const asObject = Object.fromEntries([...got].map(([t, c]) => [t, [...c].sort()]));
  assert.deepEqual(asObject, { h: ['x'], g: ['h'], q: ['h'], xz: ['x'], cat: ['g', 'h'], r: ['mm'], mpr: ['x'] });
});

test('a tensor without its NaN check is re-fetched and counted exactly when a tensor it depends on holds NaN; one that keeps its check sees NaN made inside', async () => {
  // h = hard-swish(x) has no NaN check (nan-free while x is finite); m = (x + x) * (x - x) makes NaN out of
  // finite values (Inf * 0) and keeps its check
  const model = buildModel({
    nodes: [
      makeNode('Add', ['x', 'three'], ['x3'], 'add3'),
      makeNode('Clip', ['x3', 'zero', 'six'], ['c'], 'clip'),
      makeNode('Mul', ['x', 'c'], ['xc'], 'mul'),
      makeNode('Div', ['xc', 'six'], ['h'], 'hswish'),
      makeNode('Add', ['x', 'x'], ['xx'], 'double'),
      makeNode('Sub', ['x', 'x'], ['zero_like'], 'sub'),
      makeNode('Mul', ['xx', 'zero_like'], ['m'], 'm'),
    ],
    inputs: [dvi('x', [null, 4])],
    outputs: [dvi('h', [null, 4]), dvi('m', [null, 4])],
    initializers: [scalar('three', 3), scalar('zero', 0), scalar('six', 6)],
  });
  assert.deepEqual([...nanFreeConditions(model.graph!, ['x', 'h', 'm']).keys()], ['h']);
  const rows = 4;
  const x = Float32Array.from({ length: rows * 4 }, (_, i) => (i % 5) - 2);
  x[6] = NaN; // row 1: NaN in x, so in h (and in m)
  x[13] = 3e38; // row 3: x + x = Inf, x - x = 0, Inf * 0 = NaN in m only (and h = 3e38 * 6 / 6 = Inf)
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [rows, 4], data: x } } };
  for (const reductionStepsPerRun of [1, 4]) {
    const t = await collectStatistics(model, { method: 'minmax', tensors: ['x', 'h', 'm'], data, reductionStepsPerRun });
    assert.equal(t.tensors['x']!.nanCount, 1, `x (${reductionStepsPerRun}/run)`);
    assert.equal(t.tensors['h']!.nanCount, 1, `h (${reductionStepsPerRun}/run)`);
    assert.equal(t.tensors['m']!.nanCount, 2, `m (${reductionStepsPerRun}/run)`);
    assert.equal(t.tensors['h']!.infCount, 1, `h (${reductionStepsPerRun}/run)`);
    assert.equal(t.tensors['h']!.count, rows * 4);
    const hs = Array.from(x, (v) => Math.fround(Math.fround(v * Math.min(Math.max(Math.fround(v + 3), 0), 6)) / 6)).filter((v) => Number.isFinite(v));
    assert.equal(t.tensors['h']!.max, Math.max(...hs));
    assert.equal(t.tensors['h']!.min, Math.min(...hs));
  }
});

/**
 * x [1, 2, 8, 8] through convolutions that read every input or skip some, and steps that keep NaN or may
 * drop it; each reduced tensor's witness is the later tensor with sums that its NaN reaches.
 */
function witnessModel(): ModelProto {
  const f32 = (name: string, v: number[]) => onnx.TensorProto.create({ name, dims: [v.length], dataType: DataType.FLOAT, floatData: v }) as never;
  return buildModel({
    nodes: [
      makeNode('Conv', ['x', 'w3', 'b'], ['c1'], 'c1', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), // reads all of x
      makeNode('Conv', ['x', 'w1'], ['skip'], 'skip', { kernel_shape: [1, 1], strides: [2, 2] }), // reads every other row and column
      makeNode('Add', ['c1', 'skip'], ['sum1'], 'add'),
      makeNode('Relu', ['sum1'], ['r'], 'relu'), // may drop NaN
      makeNode('Resize', ['r', '', 'up2'], ['u'], 'up', { mode: 'nearest', coordinate_transformation_mode: 'asymmetric' }),
      makeNode('Conv', ['u', 'w3', 'b'], ['c2'], 'c2', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
      makeNode('Mul', ['c2', 'c2'], ['sq'], 'sq'),
      makeNode('GlobalAveragePool', ['sq'], ['gap'], 'gap'),
      makeNode('Pow', ['c2', 'two'], ['p'], 'pow'), // NaN^0 is 1: keeps no NaN for certain
      makeNode('MaxPool', ['c2'], ['mp'], 'mp', { kernel_shape: [2, 2], strides: [2, 2] }),
    ],
    inputs: [dvi('x', [1, 2, 8, 8])],
    outputs: ['gap', 'p', 'mp'].map((n) => dvi(n, [null, null, null, null])),
    initializers: [weight('w3', [2, 2, 3, 3], 3), weight('w1', [2, 2, 1, 1], 4), weight('b', [2], 5), f32('up2', [1, 1, 2, 2]), onnx.TensorProto.create({ name: 'two', dims: [], dataType: DataType.FLOAT, floatData: [2] }) as never],
  });
}

test('NaN witnesses: a tensor whose every element reaches a later one with sums through steps that keep NaN needs no sum', () => {
  const g = witnessModel().graph!;
  const kinds = Object.fromEntries([...nanChecks(g, ['x', 'skip', 'sum1', 'r', 'c2', 'gap', 'p', 'mp'])].map(([t, c]) => [t, c.kind === 'witness' ? `witness ${c.witness}` : c.kind]));
  assert.deepEqual(kinds, {
    // x reaches sum1 through the full convolution c1 (the strided 1x1 one alone would not do)
    x: 'witness sum1',
    skip: 'witness sum1',
    sum1: 'sum', // Relu may drop NaN, so r's witness cannot vouch for sum1
    r: 'witness gap', // nearest 2x upsampling, a stride-1 convolution, a square, a global average
    c2: 'witness gap',
    gap: 'sum',
    p: 'sum',
    mp: 'sources', // max-pooling of c2 makes no NaN while c2 is finite
  });
  // without the full convolution, x's NaN may miss every later tensor
  const g2 = { ...g, node: g.node.filter((n) => n.name !== 'c1') };
  assert.equal(nanChecks({ ...g2, node: g2.node.map((n) => (n.name === 'add' ? { ...n, input: ['skip', 'skip'] } : n)) } as never, ['x', 'sum1']).get('x')!.kind, 'sum');
});

test('a NaN anywhere in a tensor without sums is seen through its witness: counts and ranges equal the tensors\' own', async () => {
  const model = witnessModel();
  const tensors = ['x', 'skip', 'sum1', 'r', 'c2', 'gap', 'p', 'mp'];
  const x = Float32Array.from({ length: 128 }, (_, i) => Math.sin(i * 0.37) * 2);
  // NaN in the corners and edges of x (positions the strided convolution skips, and the last one), then clean
  for (const at of [[0], [63], [127], [9, 120], []]) {
    const v = x.slice();
    for (const i of at) v[i] = NaN;
    const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [1, 2, 8, 8], data: v } } };
    const got = await collectStatistics(model, { method: 'minmax', tensors, data });
    const want = await exactStatistics(model, tensors, [[{ name: 'x', dtype: 'float32', dims: [1, 2, 8, 8], data: v }]]);
    for (const t of tensors) {
      const w = want.get(t)!;
      const a = got.tensors[t]!;
      assert.deepEqual([a.count, a.nanCount, a.infCount], w.slice(2), `${t}, NaN at ${at}`);
      // a re-fetched tensor comes from the capture session, whose fusions may sum in another order: a few
      // float32 roundings of the tensor's scale apart
      const scale = Math.max(Math.abs(w[0]!), Math.abs(w[1]!));
      for (const [k, u] of [a.min, a.max].entries()) assert.ok(Math.abs(u - w[k]!) <= 1e-6 * scale, `${t} ${u} vs ${w[k]}, NaN at ${at}`);
    }
    assert.equal(got.tensors['x']!.nanCount, at.length);
  }
});


test('on ppocr_cls, a NaN put into a tensor without sums (its last element, or a middle one) is seen through its witness', async () => {
  const model = loadModel(modelPath('ppocr_cls'));
  prepare(model);
  const tensors = analyze(model, { quantizeMode: 'int8' }).tensorsToCalibrate;
  const plan = planCalibration(model, { kind: 'file', path: dataPath('ppocr_cls', 'calib') });
  const feeds = plan.feedSteps(0, 1);
  const inputDims = plan.sameStepDims(0, 1);
  const probe = await ReducingSession.create(model, tensors, { graphOptimizationLevel: 'all', inputDims });
  const witnessed = [...probe.nanChecks].filter(([, c]) => c.kind === 'witness').map(([t]) => t);
  assert.ok(witnessed.length >= 50, `${witnessed.length} tensors seen through witnesses`);
  const clean = await probe.run(feeds);
  await probe.release();
  // every eighth one, through the graph
  const chosen = witnessed.filter((_, i) => i % 8 === 0);
  const capture = await CaptureSession.create(model, chosen, { graphOptimizationLevel: 'all', inputDims });
  const dims = await capture.run(feeds, chosen);
  await capture.release();
  for (const [k, t] of chosen.entries()) {
    assert.equal(clean.get(t)!.finite, true, t);
    const d = dims.get(t)!.dims;
    const n = d.reduce((a, b) => a * b, 1);
    const s = await ReducingSession.create(withNaNAt(model, t, d, k % 2 ? n - 1 : n >> 1), tensors, { graphOptimizationLevel: 'all', inputDims });
    const red = await s.run(feeds);
    await s.release();
    assert.equal(red.get(t)!.finite, false, `NaN in ${t} not seen`);
  }
  plan.close();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureSession, ReducingSession } from './capture-session.js';
import { calibrate } from './calibrate.js';
import { planCalibration } from './calibration-data.js';
import { prepare } from '../graph-analyzer/prepare.js';
import { analyze } from '../graph-analyzer/analyze.js';
import { DataType, defaultOpset, loadModel, onnx } from '../core/onnx/index.js';
import { inferShapes } from './tensor-shapes.js';
import { dvi } from '../../test/helpers/calib-models.js';
import { buildModel, makeNode } from '../../test/helpers/tiny-models.js';
import { dataPath, modelPath } from '../../test/helpers/shared.js';

test('feedDims: the model dim 0 where the data is batched along it, the data dims after; random feeds fix every dim', () => {
  const model = buildModel({
    nodes: [makeNode('Relu', ['img'], ['a'], 'r1'), makeNode('Relu', ['vec'], ['b'], 'r2'), makeNode('Relu', ['odd'], ['c'], 'r3')],
    inputs: [dvi('img', [null, 3, null, null]), dvi('vec', [1, 4]), dvi('odd', [null, 2])],
    outputs: [dvi('a', [null, 3, null, null]), dvi('b', [1, 4]), dvi('c', [null, 2])],
  });
  const arrays = {
    img: { dtype: 'float32' as const, shape: [5, 3, 8, 6], data: new Float32Array(5 * 3 * 8 * 6) },
    vec: { dtype: 'float32' as const, shape: [5, 4], data: new Float32Array(20) },
    odd: { dtype: 'float32' as const, shape: [5, 2], data: new Float32Array(10) },
  };
  const dims = planCalibration(model, { kind: 'arrays', arrays }).feedDims();
  assert.deepEqual(dims.get('img'), [null, 3, 8, 6]);
  assert.deepEqual(dims.get('vec'), [1, 4]);
  assert.deepEqual(dims.get('odd'), [null, 2]);
  const random = planCalibration(model, { kind: 'random' }).feedDims();
  assert.deepEqual(random.get('img'), [1, 3, 1, 1]);
});

test('sessions built for the data dims give the same values bit for bit, and reject a feed of other dims', async () => {
  // ppocr_cls: input [?, 3, 48, 192] in its data, declared with dynamic height and width
  const prepared = prepare(loadModel(modelPath('ppocr_cls'))).model;
  const tensors = analyze(prepared, { quantizeMode: 'int8' }).tensorsToCalibrate;
  const plan = planCalibration(prepared, { kind: 'file', path: dataPath('ppocr_cls', 'calib') });
  const inputDims = plan.feedDims();
  assert.ok([...inputDims.values()].some((d) => d.slice(1).every((x) => x !== null)), 'the data fixes the image dims');
  const feeds = [plan.feedSteps(0, 1), plan.feedSteps(1, 4)];
  try {
    const plain = await ReducingSession.create(prepared, tensors, { graphOptimizationLevel: 'all' });
    const fixed = await ReducingSession.create(prepared, tensors, { graphOptimizationLevel: 'all', inputDims });
    for (const f of feeds) {
      const [a, b] = [await plain.run(f), await fixed.run(f)];
      for (const t of tensors) assert.deepEqual(b.get(t), a.get(t), t);
    }
    // a feed of other image dims: onnxruntime refuses it
    const x = feeds[0]![0]!;
    const [h, w] = [x.dims[2]!, x.dims[3]!];
    const other = [{ ...x, dims: [1, 3, h, w - 32], data: (x.data as Float32Array).slice(0, 3 * h * (w - 32)) }];
    await assert.rejects(fixed.run(other), /dimension|shape|Got invalid/i);
    await plain.run(other);
    await Promise.all([plain.release(), fixed.release()]);

    const some = tensors.slice(0, 12);
    const capPlain = await CaptureSession.create(prepared, some, { graphOptimizationLevel: 'all' });
    const capFixed = await CaptureSession.create(prepared, some, { graphOptimizationLevel: 'all', inputDims });
    const [ca, cb] = [await capPlain.run(feeds[1]!), await capFixed.run(feeds[1]!)];
    for (const t of some) assert.deepEqual(cb.get(t), ca.get(t), t);
    await Promise.all([capPlain.release(), capFixed.release()]);
  } finally {
    plan.close();
  }
});

test('inputDims leaves inputs alone where the declared rank differs or no shape is declared', async () => {
  const noShape = onnx.ValueInfoProto.create({ name: 'y', type: { tensorType: { elemType: DataType.FLOAT } } }) as never;
  const model = buildModel({
    nodes: [makeNode('Add', ['x', 'y'], ['s'], 'add')],
    inputs: [dvi('x', [null, 4]), noShape],
    outputs: [dvi('s', [null, 4])],
  });
  const s = await CaptureSession.create(model, ['s'], { inputDims: new Map([['x', [null, 4, 1]], ['y', [2, 4]]]) });
  const feeds = [
    { name: 'x', dtype: 'float32' as const, dims: [2, 4], data: Float32Array.from({ length: 8 }, (_, i) => i) },
    { name: 'y', dtype: 'float32' as const, dims: [2, 4], data: new Float32Array(8).fill(0.5) },
  ];
  const out = await s.run(feeds);
  assert.deepEqual([...out.get('s')!.data], [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]);
  await s.release();
});

test('sameStepDims: every dim of each input when all steps of the range feed the same ones', () => {
  const model = buildModel({ nodes: [makeNode('Relu', ['x'], ['y'], 'r')], inputs: [dvi('x', [null, 2])], outputs: [dvi('y', [null, 2])] });
  const arrays = (rows: number) => ({ x: { dtype: 'float32' as const, shape: [rows, 2], data: new Float32Array(rows * 2) } });
  assert.deepEqual(planCalibration(model, { kind: 'arrays', arrays: arrays(5) }).sameStepDims(0, 5)?.get('x'), [1, 2]);
  // a fixed batch of 2: 5 rows make 2 steps of 3 and 2 rows (array_split), 4 rows 2 steps of 2
  const batched = buildModel({ nodes: [makeNode('Relu', ['x'], ['y'], 'r')], inputs: [dvi('x', [2, 2])], outputs: [dvi('y', [2, 2])] });
  assert.equal(planCalibration(batched, { kind: 'arrays', arrays: arrays(5) }).sameStepDims(0, 2), undefined);
  assert.deepEqual(planCalibration(batched, { kind: 'arrays', arrays: arrays(5) }).sameStepDims(1, 2)?.get('x'), [2, 2]);
  assert.deepEqual(planCalibration(batched, { kind: 'arrays', arrays: arrays(4) }).sameStepDims(0, 2)?.get('x'), [2, 2]);
});

test('tensors sized from their inferred shapes and tensors that report their dims give the same reductions, mixed in one graph', async () => {
  // a: shape known from the feed dims; r and b: shaped by a runtime input, so they report their dims (Shape/Cast);
  // s: a scalar (viewed as [1])
  const model = buildModel({
    nodes: [
      makeNode('Conv', ['x', 'w'], ['c'], 'conv'),
      makeNode('Relu', ['c'], ['a'], 'relu'),
      makeNode('Reshape', ['a', 'spec'], ['r'], 'reshape'),
      makeNode('Sigmoid', ['r'], ['b'], 'sig'),
      makeNode('ReduceMax', ['a'], ['s'], 'rmax', { keepdims: 0 }),
    ],
    inputs: [dvi('x', [null, 2, 5, 5]), dvi('spec', [2], DataType.INT64)],
    outputs: [dvi('b', [null, null]), dvi('s', [])],
    initializers: [onnx.TensorProto.create({ name: 'w', dims: [3, 2, 3, 3], dataType: DataType.FLOAT, floatData: Array.from({ length: 54 }, (_, i) => Math.sin(i)) }) as never],
  });
  const tensors = ['a', 'r', 'b', 's'];
  const inputDims = new Map<string, (number | null)[]>([['x', [null, 2, 5, 5]]]);
  const feed = (n: number) => [
    { name: 'x', dtype: 'float32' as const, dims: [n, 2, 5, 5], data: Float32Array.from({ length: n * 50 }, (_, i) => Math.cos(i * 0.37) * (i % 7)) },
    { name: 'spec', dtype: 'int64' as const, dims: [2], data: BigInt64Array.from([BigInt(n * 3), -1n]) },
  ];
  const sized = await ReducingSession.create(model, tensors, { inputDims, deriveRanges: false });
  const reported = await ReducingSession.create(model, tensors, { inputDims, deriveRanges: false, staticShapes: false });
  const capture = await CaptureSession.create(model, tensors);
  try {
    for (const n of [1, 4, 3]) {
      const [x, y, z] = [await sized.run(feed(n)), await reported.run(feed(n)), await capture.run(feed(n))];
      for (const t of tensors) {
        assert.deepEqual(x.get(t), y.get(t), `${t}, ${n} sample(s)`);
        const data = z.get(t)!.data;
        assert.equal(x.get(t)!.size, data.length, `${t} size`);
        assert.equal(x.get(t)!.max, Math.max(...data), `${t} max`);
        assert.equal(x.get(t)!.min, Math.min(...data), `${t} min`);
      }
    }
  } finally {
    await Promise.all([sized.release(), reported.release(), capture.release()]);
  }
});

test('requested Constant node outputs are ranged from their values, equal to reducing them in the graph; one holding NaN is fetched and counted', async () => {
  const constant = (name: string, values: number[]) =>
    onnx.NodeProto.create({
      opType: 'Constant',
      output: [name],
      name: `${name}_node`,
      attribute: [onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: onnx.TensorProto.create({ name, dims: [values.length], dataType: DataType.FLOAT, floatData: values }) })],
    }) as never;
  const model = buildModel({
    nodes: [
      constant('k', [0.5, -2.25, 3, 1e-3]),
      constant('bad', [1, NaN, -4, 2]),
      constant('odd', [1, 9, 2, 0.5, -7]), // the last value outside the two lanes, and the least
      constant('inf', [1, Infinity, 2]),
      makeNode('Mul', ['x', 'k'], ['y'], 'mul'),
      makeNode('Add', ['y', 'bad'], ['z'], 'add'),
      makeNode('Mul', ['k', 'two'], ['k2'], 'k2'), // derived from a constant (Mul by a positive scalar)
    ],
    inputs: [dvi('x', [null, 4])],
    outputs: [dvi('z', [null, 4]), dvi('k2', [4]), dvi('odd', [5]), dvi('inf', [3])],
    initializers: [onnx.TensorProto.create({ name: 'two', dims: [], dataType: DataType.FLOAT, floatData: [2] }) as never],
  });
  const feeds = [{ name: 'x', dtype: 'float32' as const, dims: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i - 5.5) }];
  const tensors = ['k', 'bad', 'y', 'k2', 'odd', 'inf'];
  const fromValues = await ReducingSession.create(model, tensors);
  const inGraph = await ReducingSession.create(model, tensors, { deriveRanges: false, nanChecks: 'all' });
  try {
    const [a, b] = [await fromValues.run(feeds), await inGraph.run(feeds)];
    for (const t of ['k', 'y', 'k2', 'odd']) assert.deepEqual(a.get(t), b.get(t), t);
    assert.deepEqual(a.get('k'), { min: -2.25, max: 3, size: 4, finite: true });
    assert.deepEqual(a.get('odd'), { min: -7, max: 9, size: 5, finite: true });
    assert.equal(a.get('inf')!.finite, false, 'a constant holding Inf is not finite');
    assert.equal(b.get('inf')!.finite, false);
    assert.deepEqual(a.get('k2'), { min: -4.5, max: 6, size: 4, finite: true });
    assert.equal(a.get('bad')!.finite, false, 'a constant holding NaN is not finite');
    assert.equal(b.get('bad')!.finite, false);
  } finally {
    await Promise.all([fromValues.release(), inGraph.release()]);
  }
  // through calibrate: the NaN constant is fetched and counted once per run; only constants requested: still reduced in the graph
  const t = await calibrate(model, { method: 'minmax', tensors, data: { kind: 'arrays', arrays: { x: { dtype: 'float32', shape: [3, 4], data: feeds[0]!.data } } }, reductionStepsPerRun: 1 });
  assert.equal(t.ranges['bad'].min, -4);
  assert.equal(t.ranges['bad'].max, 2);
  assert.equal(t.ranges['bad'].nanCount, 3, 'one NaN per run, 3 runs');
  // captured: the constant is handed out from its values (a fresh copy each run), the rest fetched as usual
  const cap = await CaptureSession.create(model, ['k', 'y', 'bad']);
  const c1 = await cap.run(feeds);
  assert.deepEqual([...c1.get('k')!.data], [0.5, -2.25, 3, Math.fround(1e-3)]);
  assert.deepEqual(c1.get('k')!.dims, [4]);
  assert.deepEqual([...c1.get('y')!.data], Array.from(feeds[0]!.data, (x, i) => Math.fround(x * [0.5, -2.25, 3, Math.fround(1e-3)][i % 4]!)));
  c1.get('k')!.data.fill(0);
  assert.equal((await cap.run(feeds, ['k'])).get('k')!.data[2], 3, 'a caller writing into what it was handed changes nothing');
  assert.ok(Number.isNaN((await cap.run(feeds, ['bad'])).get('bad')!.data[1]));
  await cap.release();
  const only = await ReducingSession.create(model, ['k']);
  assert.deepEqual((await only.run(feeds)).get('k'), { min: -2.25, max: 3, size: 4, finite: true });
  await only.release();
});

test('ppocr_cls, 8 samples per run: small tensors handed back whole give the same ranges as their reductions, bit for bit', async () => {
  const prepared = prepare(loadModel(modelPath('ppocr_cls'))).model;
  const tensors = analyze(prepared, { quantizeMode: 'int8' }).tensorsToCalibrate;
  const plan = planCalibration(prepared, { kind: 'file', path: dataPath('ppocr_cls', 'calib') });
  const feeds = [plan.feedSteps(0, 8), plan.feedSteps(8, 16)];
  const dims = new Map(feeds[0]!.map((f) => [f.name, f.dims]));
  const knownShapes = { dims, shapes: inferShapes(prepared.graph!, dims, defaultOpset(prepared)) };
  const opts = { graphOptimizationLevel: 'all' as const, inputDims: dims, knownShapes };
  const whole = await ReducingSession.create(prepared, tensors, opts);
  const reduced = await ReducingSession.create(prepared, tensors, { ...opts, rawValuesUpTo: 0 });
  try {
    const handedBack = tensors.filter((t) => whole.rowsOf(t) === 'values');
    assert.ok(handedBack.length >= 20, `${handedBack.length} tensors handed back whole`);
    assert.equal(tensors.filter((t) => reduced.rowsOf(t) === 'values').length, 0);
    for (const f of feeds) {
      const [a, b] = [await whole.run(f), await reduced.run(f)];
      for (const t of tensors) assert.deepEqual(a.get(t), b.get(t), t);
    }
  } finally {
    await Promise.all([whole.release(), reduced.release()]);
    plan.close();
  }
});

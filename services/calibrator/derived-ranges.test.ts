import { test } from 'node:test';
import assert from 'node:assert/strict';
import { derivableRanges } from './derived-ranges.js';
import { ReducingSession } from './capture-session.js';
import { planCalibration } from './calibration-data.js';
import { prepare } from '../graph-analyzer/prepare.js';
import { analyze } from '../graph-analyzer/analyze.js';
import { DataType, loadModel, onnx } from '../core/onnx/index.js';
import { dvi } from '../../test/helpers/calib-models.js';
import { buildModel, makeNode } from '../../test/helpers/tiny-models.js';
import { dataPath, modelPath } from '../../test/helpers/shared.js';

const scalar = (name: string, v: number) => onnx.TensorProto.create({ name, dims: [], dataType: DataType.FLOAT, floatData: [v] }) as never;

/** x -> Relu -> a; hard-swish's Clip(Add(a, 3), 0, 6) -> b; b / 6 -> c; a * b -> d; and steps that do not qualify. */
function chainModel() {
  return buildModel({
    nodes: [
      makeNode('Relu', ['x'], ['a'], 'relu'),
      makeNode('Add', ['a', 'three'], ['a3'], 'add'),
      makeNode('Clip', ['a3', 'zero', 'six'], ['b'], 'clip'),
      makeNode('Div', ['b', 'six'], ['c'], 'div'),
      makeNode('Mul', ['a', 'b'], ['d'], 'mul'), // two activations: not a step
      makeNode('Mul', ['x', 'minus'], ['e'], 'neg'), // a negative factor reverses the order: not a step
      makeNode('Sub', ['three', 'x'], ['f'], 'rsub'), // c - x: decreasing
      makeNode('ReduceMax', ['x'], ['mx'], 'rmax', { keepdims: 0 }),
      makeNode('Clip', ['x', 'mx', 'six'], ['g'], 'clipvar'), // a bound that is an activation
      makeNode('Transpose', ['c'], ['h'], 'tr', { perm: [1, 0] }),
      makeNode('Sub', ['h', 'half'], ['k'], 'sub'),
      makeNode('Mul', ['half', 'k'], ['l'], 'mulc'),
    ],
    inputs: [dvi('x', [null, 5])],
    outputs: ['d', 'e', 'f', 'g', 'l'].map((n) => dvi(n, [null, null])),
    initializers: [scalar('three', 3), scalar('zero', 0), scalar('six', 6), scalar('minus', -2), scalar('half', 0.5)],
  });
}

test('derived ranges: which requested tensors follow exactly from another requested one', () => {
  const g = chainModel().graph!;
  const all = ['x', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'l'];
  const d = derivableRanges(g, all);
  assert.deepEqual([...d.keys()].sort(), ['a', 'b', 'c', 'l']);
  // every source is reduced: c and l follow a (through b, which is itself derived), a follows x
  assert.deepEqual(Object.fromEntries([...d].map(([t, r]) => [t, r.source])), { a: 'x', b: 'x', c: 'x', l: 'x' });
  // without x requested, a is the root
  const d2 = derivableRanges(g, ['a', 'c', 'd']);
  assert.deepEqual(Object.fromEntries([...d2].map(([t, r]) => [t, r.source])), { c: 'a' });
});

test('derived ranges equal the reduced ones bit for bit, and a NaN in the source makes them non-finite', async () => {
  const model = chainModel();
  const tensors = ['x', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'l'];
  const derived = await ReducingSession.create(model, tensors);
  const reduced = await ReducingSession.create(model, tensors, { deriveRanges: false });
  assert.equal(derived.derived.size, 4);
  assert.equal(reduced.derived.size, 0);
  const rows = 4;
  // amplitude 4: the Clip caps the maximum (a + 3 > 6); 2.4: it does not, and the maximum 2.5 + 2^-22 makes
  // a + 3 round to float32 (5.5 + 2^-22 is not a float32)
  const sample = (amp: number) => {
    const v = Float32Array.from({ length: rows * 5 }, (_, i) => Math.fround(Math.sin(i * 2.1) * amp + (i % 3) * 1e-7));
    if (amp < 2.5) v[3] = 2.5 + 2 ** -22;
    return v;
  };
  const feeds = (data: Float32Array) => [{ name: 'x', dtype: 'float32' as const, dims: [rows, 5], data }];
  for (const amp of [4, 2.4]) {
    const a = await derived.run(feeds(sample(amp)));
    const b = await reduced.run(feeds(sample(amp)));
    for (const t of tensors) assert.deepEqual(a.get(t), b.get(t), `${t}, amplitude ${amp}`);
  }
  const x = sample(4);
  const withNaN = x.slice();
  withNaN[7] = NaN;
  const n = await derived.run(feeds(withNaN));
  for (const t of ['x', 'a', 'b', 'c', 'l']) assert.equal(n.get(t)!.finite, false, `${t} follows a source holding NaN`);
  await derived.release();
  await reduced.release();
});

/**
 * On a shipped model with graph-analyzer's INT8 list: the derived ranges (and scaled ones) of `steps` runs of
 * one step each equal the reduced ones bit for bit; `check` looks at what was derived.
 */
async function derivedEqualReduced(name: string, steps: number, check: (s: ReducingSession) => void): Promise<void> {
  const model = loadModel(modelPath(name));
  prepare(model);
  const tensors = analyze(model, { quantizeMode: 'int8' }).tensorsToCalibrate;
  const plan = planCalibration(model, { kind: 'file', path: dataPath(name, 'calib') });
  const inputDims = plan.sameStepDims(0, plan.steps) ?? plan.feedDims();
  const derived = await ReducingSession.create(model, tensors, { graphOptimizationLevel: 'all', inputDims });
  const reduced = await ReducingSession.create(model, tensors, { graphOptimizationLevel: 'all', inputDims, deriveRanges: false });
  check(derived);
  for (let i = 0; i < steps; i++) {
    const a = await derived.run(plan.feedSteps(i, i + 1));
    const b = await reduced.run(plan.feedSteps(i, i + 1));
    for (const t of tensors) assert.deepEqual(a.get(t), b.get(t), `${name}: ${t}`);
  }
  plan.close();
  await derived.release();
  await reduced.release();
}

test('derived ranges on ppocr_rec (graph-analyzer\'s INT8 list) equal the reduced ones bit for bit', async () => {
  await derivedEqualReduced('ppocr_rec', 3, (s) => assert.ok(s.derived.size >= 20, `${s.derived.size} derived`));
});

/** x [1, 2, 3, 4] -> nearest Resize by scales; only a whole-factor asymmetric enlargement is a range step. */
function resizeModel() {
  const f32 = (name: string, v: number[]) => onnx.TensorProto.create({ name, dims: [v.length], dataType: DataType.FLOAT, floatData: v }) as never;
  const resize = (out: string, scales: string, attrs: Record<string, string>) => makeNode('Resize', ['x', '', scales], [out], out, { mode: 'nearest', ...attrs });
  return buildModel({
    nodes: [
      resize('up', 's2x3', { coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }),
      resize('upround', 's2x3', { coordinate_transformation_mode: 'asymmetric', nearest_mode: 'round_prefer_ceil' }),
      resize('halfpixel', 's2x3', { coordinate_transformation_mode: 'half_pixel' }),
      resize('fraction', 's1x5', { coordinate_transformation_mode: 'asymmetric' }),
      resize('down', 'shalf', { coordinate_transformation_mode: 'asymmetric' }),
      makeNode('Resize', ['x', '', 's2x3'], ['linear'], 'linear', { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }),
    ],
    inputs: [dvi('x', [1, 2, 3, 4])],
    outputs: ['up', 'upround', 'halfpixel', 'fraction', 'down', 'linear'].map((n) => dvi(n, [null, null, null, null])),
    initializers: [f32('s2x3', [1, 1, 2, 3]), f32('s1x5', [1, 1, 1.5, 1]), f32('shalf', [1, 1, 0.5, 0.5])],
    opset: 13,
  });
}

test('derived ranges: a nearest Resize that enlarges by whole factors keeps the range and multiplies the size', async () => {
  const model = resizeModel();
  const tensors = ['x', 'up', 'upround', 'halfpixel', 'fraction', 'down', 'linear'];
  const d = derivableRanges(model.graph!, tensors);
  assert.deepEqual([...d.keys()].sort(), ['up', 'upround']);
  assert.equal(d.get('up')!.sizeFactor, 6);
  const derived = await ReducingSession.create(model, tensors);
  const reduced = await ReducingSession.create(model, tensors, { deriveRanges: false });
  const data = Float32Array.from({ length: 24 }, (_, i) => Math.fround(Math.cos(i * 1.7) * 3));
  const feeds = (v: Float32Array) => [{ name: 'x', dtype: 'float32' as const, dims: [1, 2, 3, 4], data: v }];
  const a = await derived.run(feeds(data));
  const b = await reduced.run(feeds(data));
  for (const t of tensors) assert.deepEqual(a.get(t), b.get(t), t);
  assert.equal(a.get('up')!.size, 144);
  const withInf = data.slice();
  withInf[5] = -Infinity;
  const n = await derived.run(feeds(withInf));
  assert.equal(n.get('up')!.finite, false);
  assert.equal(n.get('up')!.min, -Infinity);
  await derived.release();
  await reduced.release();
});

test('derived ranges on ppocr_det (its neck upsamples by 2; squeeze-excitation products) equal the reduced ones bit for bit', async () => {
  await derivedEqualReduced('ppocr_det', 2, (s) => {
    const upsampled = [...s.derived.values()].filter((r) => r.sizeFactor > 1).length;
    assert.ok(upsampled >= 3, `${upsampled} upsampled tensors derived`);
    assert.ok(s.scaled.size >= 10, `${s.scaled.size} squeeze-excitation products`);
  });
});

test('derived and squeeze-excitation ranges on ppocr_cls equal the reduced ones bit for bit', async () => {
  await derivedEqualReduced('ppocr_cls', 3, (s) => assert.ok(s.scaled.size >= 5, `${s.scaled.size} squeeze-excitation products`));
});

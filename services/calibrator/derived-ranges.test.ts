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

test('derived ranges on ppocr_rec (graph-analyzer\'s INT8 list) equal the reduced ones bit for bit', async () => {
  const model = loadModel(modelPath('ppocr_rec'));
  prepare(model);
  const tensors = analyze(model, { quantizeMode: 'int8' }).tensorsToCalibrate;
  const plan = planCalibration(model, { kind: 'file', path: dataPath('ppocr_rec', 'calib') });
  const derived = await ReducingSession.create(model, tensors, { graphOptimizationLevel: 'all' });
  const reduced = await ReducingSession.create(model, tensors, { graphOptimizationLevel: 'all', deriveRanges: false });
  assert.ok(derived.derived.size >= 20, `${derived.derived.size} derived`);
  for (let i = 0; i < 3; i++) {
    const a = await derived.run(plan.feedSteps(i, i + 1));
    const b = await reduced.run(plan.feedSteps(i, i + 1));
    for (const t of tensors) assert.deepEqual(a.get(t), b.get(t), t);
  }
  plan.close();
  await derived.release();
  await reduced.release();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { inferShapes } from './tensor-shapes.js';
import { DataType, defaultOpset, encodeModel, onnx } from '../core/onnx/index.js';
import type { ModelProto } from '../core/onnx/index.js';
import { prepareFile } from '../graph-analyzer/prepare.js';
import { planCalibration } from './calibration-data.js';
import { dvi } from '../../test/helpers/calib-models.js';
import { buildModel, makeNode } from '../../test/helpers/tiny-models.js';
import { DATA_DIR, MODELS_DIR } from '../../test/helpers/shared.js';

const int64 = (name: string, values: number[], dims = [values.length]) => onnx.TensorProto.create({ name, dims, dataType: DataType.INT64, int64Data: values }) as never;
const floats = (name: string, dims: number[], v = 0.5) =>
  onnx.TensorProto.create({ name, dims, dataType: DataType.FLOAT, floatData: new Array(dims.reduce((a, b) => a * b, 1)).fill(v) }) as never;

/** Every node output's dims as onnxruntime computes them on `feeds` (all outputs fetched). */
async function actualShapes(model: ModelProto, feeds: Record<string, ort.Tensor>): Promise<Map<string, readonly number[]>> {
  const g = model.graph!;
  const outs = g.node.flatMap((n) => n.output.filter((o) => o));
  const m = { ...model, graph: { ...g, output: outs.map((o) => onnx.ValueInfoProto.create({ name: o })) } } as unknown as ModelProto;
  const s = await ort.InferenceSession.create(encodeModel(m), { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  try {
    const res = await s.run(feeds);
    return new Map(outs.map((o) => [o, (res[o] as ort.Tensor).dims] as const));
  } finally {
    await s.release();
  }
}

test('shape rules: windows, reshapes, slices, shape arithmetic; an unknown op leaves what follows unknown', async () => {
  const model = buildModel({
    nodes: [
      makeNode('Conv', ['x', 'w'], ['c'], 'conv', { strides: [2, 2], pads: [1, 1, 1, 1] }),
      makeNode('Conv', ['x', 'w'], ['same'], 'same', { strides: [2, 2], auto_pad: 'SAME_UPPER' }),
      makeNode('MaxPool', ['c'], ['pool'], 'pool', { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }),
      makeNode('ConvTranspose', ['c', 'wt'], ['up'], 'deconv', { strides: [2, 2] }),
      makeNode('Shape', ['c'], ['shp'], 'shape'),
      makeNode('Gather', ['shp', 'zero'], ['n'], 'gather', { axis: 0 }),
      makeNode('Unsqueeze', ['n', 'ax0'], ['n1'], 'unsq'),
      makeNode('Concat', ['n1', 'minus1'], ['spec'], 'cat', { axis: 0 }),
      makeNode('Reshape', ['c', 'spec'], ['flat'], 'reshape'),
      makeNode('Slice', ['flat', 'starts', 'ends', 'axes1', 'steps'], ['sl'], 'slice'),
      makeNode('Transpose', ['c'], ['tr'], 'tr', { perm: [0, 2, 3, 1] }),
      makeNode('NonZero', ['c'], ['nz'], 'nz'),
      makeNode('Relu', ['nz'], ['after_unknown'], 'relu'),
    ],
    inputs: [dvi('x', [null, 3, null, null])],
    outputs: [dvi('sl', [null, null])],
    initializers: [
      floats('w', [4, 3, 3, 3]), floats('wt', [4, 2, 2, 2]), int64('zero', [0], []), int64('ax0', [0]), int64('minus1', [-1]),
      int64('starts', [-1]), int64('ends', [-1000]), int64('axes1', [1]), int64('steps', [-3]),
    ],
  });
  const x = [2, 3, 11, 16];
  const shapes = inferShapes(model.graph!, new Map([['x', x]]), 13);
  const expected: Record<string, number[] | undefined> = {
    c: [2, 4, 6, 8], same: [2, 4, 6, 8], pool: [2, 4, 3, 4], up: [2, 2, 12, 16], shp: [4], flat: [2, 192], sl: [2, 64], tr: [2, 6, 8, 4],
    nz: undefined, after_unknown: undefined,
  };
  for (const [t, s] of Object.entries(expected)) assert.deepEqual(shapes.get(t), s, t);
  // and onnxruntime agrees on every tensor the rules cover
  const actual = await actualShapes(
    { ...model, graph: { ...model.graph!, node: model.graph!.node.filter((n) => n.opType !== 'NonZero' && n.name !== 'relu') } } as unknown as ModelProto,
    { x: new ort.Tensor('float32', new Float32Array(x.reduce((a, b) => a * b, 1)), x) },
  );
  for (const [t, dims] of actual) assert.deepEqual(shapes.get(t), dims, t);
});

// the real models: every tensor's inferred shape equals onnxruntime's, and every tensor is covered
for (const [name, rows] of [
  ['ppocr_cls', 3],
  ['ppocr_rec', 1],
  ['ultraface_rfb320', 2],
  ['gpt2_small', 1],
] as const) {
  test(`${name}: inferred shapes equal onnxruntime's for every tensor (${rows} sample(s) per run)`, async () => {
    const model = prepareFile(path.join(MODELS_DIR, `${name}.onnx`)).model;
    const plan = planCalibration(model, { kind: 'file', path: path.join(DATA_DIR, `${name}.calib.npz`) });
    try {
      const feeds = plan.feedSteps(0, plan.canGroupSteps() ? rows : 1);
      const shapes = inferShapes(model.graph!, new Map(feeds.map((f) => [f.name, f.dims])), defaultOpset(model));
      const actual = await actualShapes(model, Object.fromEntries(feeds.map((f) => [f.name, new ort.Tensor(f.dtype as never, f.data as never, f.dims)])));
      let covered = 0;
      for (const [t, dims] of actual) {
        const s = shapes.get(t);
        if (s === undefined) continue;
        covered++;
        assert.deepEqual(s, dims, t);
      }
      assert.equal(covered, actual.size, 'every tensor covered');
    } finally {
      plan.close();
    }
  });
}

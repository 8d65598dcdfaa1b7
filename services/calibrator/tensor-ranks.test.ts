import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knownRanks } from './tensor-ranks.js';
import { DataType, onnx } from '../core/onnx/index.js';
import { dvi } from '../../test/helpers/calib-models.js';
import { buildModel, makeNode } from '../../test/helpers/tiny-models.js';

const int64 = (name: string, values: number[]) => onnx.TensorProto.create({ name, dims: [values.length], dataType: DataType.INT64, int64Data: values }) as never;
const floats = (name: string, dims: number[]) =>
  onnx.TensorProto.create({ name, dims, dataType: DataType.FLOAT, floatData: new Array(dims.reduce((a, b) => a * b, 1)).fill(0.5) }) as never;

test('ranks follow from inputs, initializers and the ops whose output rank is a function of their inputs', () => {
  const model = buildModel({
    nodes: [
      makeNode('Conv', ['x', 'w'], ['c'], 'conv'), // 4
      makeNode('Relu', ['c'], ['r'], 'relu'), // 4
      makeNode('Add', ['r', 'bias'], ['a'], 'add'), // max(4, 3) = 4
      makeNode('GlobalAveragePool', ['a'], ['gap'], 'gap'), // 4
      makeNode('Reshape', ['gap', 'shape3'], ['rs'], 'reshape'), // 3 (constant shape of length 3)
      makeNode('MatMul', ['rs', 'm'], ['mm'], 'mm'), // max(3, 2) = 3
      makeNode('MatMul', ['rs', 'vec'], ['mv'], 'mv'), // 3 - 1 = 2 (a vector on the right)
      makeNode('Flatten', ['a'], ['f'], 'flatten', { axis: 1 }), // 2
      makeNode('Unsqueeze', ['f', 'ax0'], ['u'], 'unsq'), // 3 (opset 13: axes input)
      makeNode('ReduceMean', ['a'], ['rm'], 'rmean', { axes: [2, 3], keepdims: 0 }), // 2
      makeNode('ReduceSum', ['a'], ['rsum'], 'rsum', { keepdims: 1 }), // 4 (keepdims)
      makeNode('Concat', ['c', 'r'], ['cat'], 'cat', { axis: 1 }), // 4
      makeNode('Split', ['cat'], ['s0', 's1'], 'split', { axis: 1 }), // 4, 4
      makeNode('NonZero', ['c'], ['nz'], 'nz'), // not a rank rule: unknown
      makeNode('Relu', ['nz'], ['after_unknown'], 'relu2'), // unknown in, unknown out
      makeNode('Reshape', ['c', 'dyn'], ['dynshape'], 'dynreshape'), // shape not a constant: unknown
    ],
    inputs: [dvi('x', [null, 3, null, null]), dvi('dyn', [null], DataType.INT64)],
    outputs: [dvi('mm', [null, null, null])],
    initializers: [floats('w', [4, 3, 3, 3]), floats('bias', [4, 1, 1]), int64('shape3', [1, 1, 4]), floats('m', [4, 5]), floats('vec', [4]), int64('ax0', [0])],
  });
  const ranks = knownRanks(model.graph!, 13);
  const expected: Record<string, number | undefined> = {
    x: 4, c: 4, r: 4, a: 4, gap: 4, rs: 3, mm: 3, mv: 2, f: 2, u: 3, rm: 2, rsum: 4, cat: 4, s0: 4, s1: 4,
    nz: undefined, after_unknown: undefined, dynshape: undefined,
  };
  for (const [t, r] of Object.entries(expected)) assert.equal(ranks.get(t), r, t);
});

test('opset 11 Unsqueeze/Squeeze take their axes from the attribute; a Constant node gives a Reshape its rank', () => {
  const shapeConst = onnx.NodeProto.create({
    opType: 'Constant',
    output: ['shape2'],
    name: 'k',
    attribute: [onnx.AttributeProto.create({ name: 'value', t: int64('shape2v', [2, -1]), type: onnx.AttributeProto.AttributeType.TENSOR })],
  }) as never;
  const model = buildModel({
    opset: 11,
    nodes: [
      makeNode('Unsqueeze', ['x', ], ['u'], 'u', { axes: [0, 1] }), // 2 + 2 = 4
      makeNode('Squeeze', ['u'], ['s'], 's', { axes: [0] }), // 3
      makeNode('Squeeze', ['u'], ['s_all'], 's_all'), // no axes: every 1-dim goes, unknown
      shapeConst,
      makeNode('Reshape', ['s', 'shape2'], ['r'], 'r'), // 2
    ],
    inputs: [dvi('x', [null, 8])],
    outputs: [dvi('r', [null, null])],
  });
  const ranks = knownRanks(model.graph!, 11);
  assert.equal(ranks.get('u'), 4);
  assert.equal(ranks.get('s'), 3);
  assert.equal(ranks.get('s_all'), undefined);
  assert.equal(ranks.get('r'), 2);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nanFreeConditions } from './nan-free.js';
import { collectStatistics } from './calibrate.js';
import { DataType, onnx } from '../core/onnx/index.js';
import { dvi } from '../../test/helpers/calib-models.js';
import { buildModel, makeNode } from '../../test/helpers/tiny-models.js';

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

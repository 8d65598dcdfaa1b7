import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnx, type GraphProto } from './proto.js';
import { Graph, makeNode } from './graph.js';
import { makeFloatTensor, makeInt64Tensor } from './tensor.js';
import { loadModel } from './model.js';
import { InvalidArgument } from '../errors.js';
import { modelPath } from '../../../test/helpers/shared.js';

function graphOf(nodes: ReturnType<typeof makeNode>[], inputs = ['x'], outputs = ['y']): Graph {
  const vi = (n: string) => onnx.ValueInfoProto.create({ name: n });
  return new Graph(onnx.GraphProto.create({ node: nodes as never, input: inputs.map(vi), output: outputs.map(vi) }) as unknown as GraphProto);
}

test('toposort orders producers before consumers and keeps valid order stable', () => {
  const g = graphOf([makeNode('Relu', ['a'], ['y'], 'n2'), makeNode('Abs', ['x'], ['a'], 'n1')]);
  g.toposort();
  assert.deepEqual(g.nodes.map((n) => n.name), ['n1', 'n2']);
  g.toposort();
  assert.deepEqual(g.nodes.map((n) => n.name), ['n1', 'n2']);
});

test('cycles, dangling inputs and duplicate producers are InvalidArgument naming the node', () => {
  const cyc = graphOf([makeNode('Add', ['x', 'b'], ['a'], 'first'), makeNode('Relu', ['a'], ['b'], 'second'), makeNode('Abs', ['b'], ['y'], 'out')]);
  assert.throws(() => cyc.toposort(), (e: unknown) => e instanceof InvalidArgument && /cycle/.test((e as Error).message));
  const dangling = graphOf([makeNode('Relu', ['ghost'], ['y'], 'reader')]);
  assert.throws(() => dangling.validate(), (e: unknown) => e instanceof InvalidArgument && /reader/.test((e as Error).message) && /ghost/.test((e as Error).message));
  const dup = graphOf([makeNode('Relu', ['x'], ['y'], 'p1'), makeNode('Abs', ['x'], ['y'], 'p2')]);
  assert.throws(() => dup.validate(), (e: unknown) => e instanceof InvalidArgument && /p1/.test((e as Error).message) && /p2/.test((e as Error).message));
});

test('producers, consumers, constants from initializers and Constant nodes', () => {
  const model = loadModel(modelPath('ppocr_cls'));
  const g = new Graph(model.graph!);
  const conv = g.nodes.find((n) => n.opType === 'Conv')!;
  const w = g.constantValue(conv.input[1]!);
  assert.ok(w, 'ppocr_cls keeps its weights in Constant nodes; they must count as constants');
  assert.equal(w!.dims.length, 4);
  assert.equal(g.constantValue(g.inputs[0]!.name), undefined);
  const child = g.children(conv);
  assert.ok(child.length >= 1);
  assert.ok(g.parents(child[0]!).includes(conv));
});

test('cleanup drops dead nodes and unused initializers', () => {
  const g = graphOf([makeNode('Relu', ['x'], ['y'], 'live'), makeNode('Abs', ['x'], ['dead'], 'dead')]);
  g.addInitializer(makeFloatTensor('unused', [1], [1]));
  g.cleanup();
  assert.deepEqual(g.nodes.map((n) => n.name), ['live']);
  assert.equal(g.proto.initializer.length, 0);
});

test('int64 tensors saturate instead of wrapping: INT64_MAX (a Slice end) stays INT64_MAX', () => {
  const t = makeInt64Tensor('ends', [2], [9223372036854775807, -9223372036854775808]);
  const v = new DataView(t.rawData.buffer, t.rawData.byteOffset, 16);
  assert.equal(v.getBigInt64(0, true), 2n ** 63n - 1n);
  assert.equal(v.getBigInt64(8, true), -(2n ** 63n));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { prepare, prepareFile } from './prepare.js';
import { analyze } from './analyze.js';
import { nameNodes } from './naming.js';
import { duplicateSharedWeights } from './shared-weights.js';
import { convertToOpset13 } from './opset-convert.js';
import { buildModel, floatInit, int64Init } from './test-models.js';
import { attrInt, attrInts, constantNodeValue, tensorToNumbers, defaultOpset, saveModel, onnx, type GraphProto, type NodeProto } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';
import { NameTable } from './name-table.js';
import { AGraph } from './agraph.js';

const ops = (g: GraphProto): string[] => g.node.map((n) => n.opType);
const constValue = (g: GraphProto, t: string): number[] => {
  const c = g.node.find((n) => n.opType === 'Constant' && n.output[0] === t) as NodeProto;
  return tensorToNumbers(constantNodeValue(c.attribute, t)!);
};

test('naming: k starts at the number of distinct names (empty counts) and grows only on collisions', () => {
  const m = buildModel({
    nodes: [
      { op: 'Relu', in: ['x'], out: ['a'], name: 'Relu_3' },
      { op: 'Relu', in: ['a'], out: ['b'] },
      { op: 'Relu', in: ['b'], out: ['c'] },
      { op: 'Sigmoid', in: ['c'], out: ['d'] },
      { op: 'Relu', in: ['d'], out: ['e'], name: 'keep' },
    ],
  });
  assert.deepEqual(nameNodes(m.graph as GraphProto).map((r) => r.index), [1, 2, 3]);
  // distinct names {Relu_3, '', keep} = 3 → Relu_3 taken → Relu_4; next Relu_4 taken → Relu_5; Sigmoid_5
  assert.deepEqual(
    m.graph!.node.map((n) => n.name),
    ['Relu_3', 'Relu_4', 'Relu_5', 'Sigmoid_5', 'keep'],
  );
  assert.deepEqual(nameNodes(m.graph as GraphProto), []);
});

test('shared weights: copies for consumers 2..n when the first consumer is linear and the dtype is float', () => {
  const m = buildModel({
    nodes: [
      { op: 'MatMul', in: ['x', 'W'], out: ['a'], name: 'm1' },
      { op: 'MatMul', in: ['a', 'W'], out: ['b'], name: 'm2' },
      { op: 'Add', in: ['b', 'W'], out: ['c'], name: 'add' },
      { op: 'Mul', in: ['c', 'S'], out: ['d'], name: 'mul' },
      { op: 'MatMul', in: ['d', 'S'], out: ['e'], name: 'm3' },
      { op: 'Gather', in: ['I', 'e'], out: ['f'], name: 'g' },
      { op: 'MatMul', in: ['f', 'I'], out: ['h'], name: 'm4' },
    ],
    inits: [floatInit('W', [4, 4]), floatInit('S', [4, 4]), int64Init('I', [0])],
  });
  const g = m.graph as GraphProto;
  assert.deepEqual(duplicateSharedWeights(g), [
    { original: 'W', copy: 'W_1', consumer: 'm2' },
    { original: 'W', copy: 'W_2', consumer: 'add' },
  ]);
  assert.deepEqual(g.node.map((n) => n.input.join(',')), ['x,W', 'a,W_1', 'b,W_2', 'c,S', 'd,S', 'I,e', 'f,I']);
  assert.deepEqual(g.initializer.map((t) => t.name), ['W', 'S', 'I', 'W_1', 'W_2']);
  assert.deepEqual(g.initializer[3]!.dims, [4, 4]);
});

test('opset conversion 9 → 13: attributes become Constant inputs placed before the node, Softmax gets Flatten/Reshape', () => {
  const m = buildModel({
    opset: 9,
    nodes: [
      { op: 'Unsqueeze', in: ['x'], out: ['u'], name: 'unsq', attrs: { axes: [0] } },
      { op: 'Clip', in: ['u'], out: ['c'], name: 'clip', attrs: { min: 0, max: 6.5 } },
      { op: 'Slice', in: ['c'], out: ['s'], name: 'slice', attrs: { starts: [0], ends: [2], axes: [1] } },
      { op: 'Squeeze', in: ['s'], out: ['q'], name: 'sq', attrs: { axes: [0] } },
      { op: 'Softmax', in: ['q'], out: ['y'], name: 'sm', attrs: { axis: 1 } },
    ],
    outputs: ['y'],
  });
  const r = convertToOpset13(m);
  assert.deepEqual(r, { converted: true, from: 9 });
  assert.equal(defaultOpset(m), 13);
  const g = m.graph as GraphProto;
  assert.deepEqual(ops(g), ['Constant', 'Unsqueeze', 'Constant', 'Constant', 'Clip', 'Constant', 'Constant', 'Constant', 'Slice', 'Constant', 'Squeeze', 'Shape', 'Flatten', 'Softmax', 'Reshape']);
  const unsq = g.node[1]!;
  assert.equal(attrInts(unsq, 'axes'), undefined);
  assert.deepEqual(constValue(g, unsq.input[1]!), [0]);
  const clip = g.node[4]!;
  assert.deepEqual([constValue(g, clip.input[1]!)[0], constValue(g, clip.input[2]!)[0]], [0, 6.5]);
  const slice = g.node[8]!;
  assert.deepEqual(slice.input.slice(1).map((t) => constValue(g, t)), [[0], [2], [1]]);
  const sm = g.node[13]!;
  assert.equal(attrInt(sm, 'axis', 99), -1);
  assert.equal(g.node[12]!.opType, 'Flatten');
  assert.equal(attrInt(g.node[12]!, 'axis', 0), 1);
  assert.equal(g.node[14]!.output[0], 'y');
  assert.equal(g.node.every((n) => n.opType !== 'Constant' || n.name === ''), true);
});

test('opset conversion: Softmax on the last axis of a known rank only gets its axis; Upsample becomes Resize', () => {
  const m = buildModel({
    opset: 8,
    nodes: [
      { op: 'Gemm', in: ['x', 'w'], out: ['g'], name: 'gemm' },
      { op: 'Softmax', in: ['g'], out: ['y'], name: 'sm' },
      { op: 'Upsample', in: ['x'], out: ['u'], name: 'up', attrs: { scales: [1, 1, 2, 2] } },
    ],
    inits: [floatInit('w', [4, 4])],
    outputs: ['y', 'u'],
  });
  convertToOpset13(m);
  const g = m.graph as GraphProto;
  assert.deepEqual(ops(g), ['Gemm', 'Softmax', 'Constant', 'Resize']);
  assert.equal(attrInt(g.node[1]!, 'axis', 99), 1);
  assert.deepEqual(g.node[3]!.input.slice(0, 2), ['x', '']);
});

test('opset conversion: an op it cannot convert and opsets below 7 are named in InvalidArgument', () => {
  const scan = buildModel({ opset: 8, nodes: [{ op: 'Scan', in: ['', 'x'], out: ['y'], name: 'my_scan' }] });
  assert.throws(() => convertToOpset13(scan), (e: Error) => e instanceof InvalidArgument && /my_scan/.test(e.message) && /Scan/.test(e.message));
  const old = buildModel({ opset: 6, nodes: [{ op: 'Relu', in: ['x'], out: ['y'], name: 'r' }] });
  assert.throws(() => convertToOpset13(old), InvalidArgument);
  const spatial = buildModel({ opset: 7, nodes: [{ op: 'BatchNormalization', in: ['x', 's', 'b', 'm', 'v'], out: ['y'], name: 'bn0', attrs: { spatial: 0 } }] });
  assert.throws(() => convertToOpset13(spatial), /bn0/);
});

test('[quirk] opset 1 in the default domain is converted (here: rejected as too old), a contrib version 1 is ignored', () => {
  const m1 = buildModel({ opset: 1, nodes: [{ op: 'Relu', in: ['x'], out: ['y'], name: 'r' }] });
  assert.throws(() => prepare(m1), InvalidArgument);
  const contrib = buildModel({ opset: 13, nodes: [{ op: 'Relu', in: ['x'], out: ['y'], name: 'r' }] });
  contrib.opsetImport = [{ domain: 'ai.onnx.contrib', version: 1 }, ...contrib.opsetImport];
  const r = prepare(contrib);
  assert.equal(r.converted, false);
  assert.equal(r.opset, 13);
});

test('prepare writes <model>_opset13.onnx and <model>_named.onnx only with keepIntermediateFiles', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prep-'));
  const mk = () =>
    buildModel({
      opset: 11,
      nodes: [
        { op: 'Conv', in: ['x', 'w'], out: ['c'] },
        { op: 'Conv', in: ['c', 'w'], out: ['y'] },
      ],
      inits: [floatInit('w', [16, 16, 1, 1])],
      outputs: ['y'],
    });
  const file = path.join(dir, 'tiny.onnx');
  saveModel(mk(), file);
  const a = prepareFile(file);
  assert.deepEqual(a.intermediateFiles, []);
  assert.deepEqual(fs.readdirSync(dir), ['tiny.onnx']);
  const b = prepareFile(file, { keepIntermediateFiles: true });
  assert.deepEqual(b.intermediateFiles.map((f) => path.basename(f)), ['tiny_opset13.onnx', 'tiny_named.onnx']);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['tiny.onnx', 'tiny_named.onnx', 'tiny_opset13.onnx']);
  assert.deepEqual(b.model.graph!.node.map((n) => n.name), ['Conv_1', 'Conv_2']);
  assert.deepEqual(b.model.graph!.node[1]!.input, ['c', 'w_1']);
  assert.throws(() => prepareFile(path.join(dir, 'tiny.txt')), InvalidArgument);
});

test('bad input: cycles, dangling inputs, duplicate producers, unknown ops and unsupported opsets name the node', () => {
  const cases: [string, ReturnType<typeof buildModel>, RegExp][] = [
    ['cycle', buildModel({ nodes: [{ op: 'Relu', in: ['b'], out: ['a'], name: 'n1' }, { op: 'Relu', in: ['a'], out: ['b'], name: 'n2' }] }), /cycle.*n[12]/],
    ['dangling', buildModel({ nodes: [{ op: 'Relu', in: ['nowhere'], out: ['a'], name: 'lost' }] }), /lost.*nowhere/],
    ['duplicate', buildModel({ nodes: [{ op: 'Relu', in: ['x'], out: ['a'], name: 'p1' }, { op: 'Relu', in: ['x'], out: ['a'], name: 'p2' }] }), /p1.*p2/],
    ['unknown op', buildModel({ nodes: [{ op: 'FancyOp', in: ['x'], out: ['a'], name: 'fancy' }] }), /fancy.*FancyOp/],
    ['opset', buildModel({ opset: 99, nodes: [{ op: 'Relu', in: ['x'], out: ['a'], name: 'r' }] }), /opset 99/],
  ];
  for (const [what, m, re] of cases) assert.throws(() => prepare(m), (e: Error) => e instanceof InvalidArgument && re.test(e.message), what);
  // a custom domain is accepted
  const custom = buildModel({ nodes: [{ op: 'FancyOp', in: ['x'], out: ['a'], name: 'fancy', domain: 'com.example' }], extraOpsets: [{ domain: 'com.example', version: 1 }] });
  assert.equal(prepare(custom).named, false);
  // an unknown default-domain op inside a subgraph, and one in the 'ai.onnx' domain, are named too (Prepare
  // checks the top graph from the index's per-node flags and walks subgraphs; Analyze does the same unprepared)
  const inBranch = buildModel({ nodes: [{ op: 'If', in: ['x'], out: ['a'], name: 'cond' }] });
  const branch = onnx.GraphProto.create({ name: 'then', node: [onnx.NodeProto.create({ opType: 'FancyOp', name: 'deep', input: ['x'], output: ['y'] })], output: [onnx.ValueInfoProto.create({ name: 'y' })] });
  inBranch.graph!.node[0]!.attribute.push(onnx.AttributeProto.create({ name: 'then_branch', g: branch, type: onnx.AttributeProto.AttributeType.GRAPH }) as never);
  const aiOnnx = buildModel({ nodes: [{ op: 'FancyOp', in: ['x'], out: ['a'], name: 'fancy2', domain: 'ai.onnx' }] });
  for (const [what, m, re] of [['subgraph', inBranch, /deep.*FancyOp/], ['ai.onnx', aiOnnx, /fancy2.*FancyOp/]] as const) {
    assert.throws(() => prepare(m), (e: Error) => e instanceof InvalidArgument && re.test(e.message), `prepare: ${what}`);
    assert.throws(() => analyze(m), (e: Error) => e instanceof InvalidArgument && re.test(e.message), `analyze: ${what}`);
  }
});

test('the name table grows past its first capacity, keeping first-seen ids; a graph of many dangling reads still gets InvalidArgument', () => {
  const t = new NameTable(2);
  const names = Array.from({ length: 1000 }, (_, i) => `t${i}`);
  names.forEach((n, i) => assert.equal(t.intern(n), i));
  names.forEach((n, i) => assert.equal(t.get(n), i));
  assert.equal(t.intern('t7'), 7);
  assert.equal(t.get('nope'), -1);
  // 300 nodes reading names nothing provides: more names than outputs + initializers + inputs
  const nodes = Array.from({ length: 300 }, (_, i) => ({ op: 'Add', in: [`x${i}`, `y${i}`], out: [`z${i}`], name: `add${i}` }));
  assert.throws(() => prepare(buildModel({ nodes })), (e: Error) => e instanceof InvalidArgument && /add0.*x0/.test(e.message));
});

test('level order: a node waits for what its subgraphs read from outside; a node writing one tensor twice is released once', () => {
  const m = buildModel({
    nodes: [
      { op: 'Relu', in: ['x'], out: ['c'], name: 'c0' },
      { op: 'If', in: ['c'], out: ['y'], name: 'if' },
      { op: 'Relu', in: ['x'], out: ['a0'], name: 'a0' },
      { op: 'Relu', in: ['a0'], out: ['a'], name: 'a1' },
      { op: 'Relu', in: ['y'], out: ['z'], name: 'z' },
      { op: 'Split', in: ['x'], out: ['s', 's'], name: 'split' },
      { op: 'Add', in: ['s', 's'], out: ['t'], name: 'twice' },
    ],
  });
  const branch = onnx.GraphProto.create({ name: 'then', node: [onnx.NodeProto.create({ opType: 'Identity', name: 'inner', input: ['a'], output: ['yy'] })], output: [onnx.ValueInfoProto.create({ name: 'yy' })] });
  m.graph!.node[1]!.attribute.push(onnx.AttributeProto.create({ name: 'then_branch', g: branch, type: onnx.AttributeProto.AttributeType.GRAPH }) as never);
  const g = new AGraph(m.graph as GraphProto);
  // levels: c0, a0, split 0; a1, twice 1; if 2 (after a1, which its branch reads); z 3
  assert.deepEqual(Array.from(g.order, (i) => g.names[i]), ['c0', 'a0', 'split', 'a1', 'twice', 'if', 'z']);
});

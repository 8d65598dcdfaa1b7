import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, loadModel, saveModel } from './model.js';
import { encodeEdited, sourceOf, spliceEdited } from './splice.js';
import { onnx, type ModelProto, type NodeProto, type ValueInfoProto } from './proto.js';
import { DataType } from './dtype.js';
import { SHARED, tmpDir } from '../../../test/helpers/shared.js';
import { buildModel, makeNode, vi, weight } from '../../../test/helpers/tiny-models.js';

const CLS = path.join(SHARED, 'models', 'ppocr_cls.onnx');

/** The spliced bytes hold the same model as protobufjs's full encoding of the edit. */
function assertSameModel(spliced: Uint8Array | undefined, edited: ModelProto): void {
  assert.ok(spliced, 'the edit was spliced');
  assert.deepEqual(Buffer.from(encodeModel(decodeModel(spliced))), Buffer.from(encodeModel(edited)));
}

const INT = onnx.AttributeProto.AttributeType.INT;
const INTS = onnx.AttributeProto.AttributeType.INTS;
const FLOAT = onnx.AttributeProto.AttributeType.FLOAT;
const TENSOR = onnx.AttributeProto.AttributeType.TENSOR;

/** Nodes like those a calibration session adds: int, ints (negative too), float and int64-tensor attributes. */
function addedNodes(x: string): NodeProto[] {
  const axis = onnx.TensorProto.create({ name: 'axis', dims: [1], dataType: DataType.INT64, int64Data: [-1] });
  return [
    onnx.NodeProto.create({ opType: 'Constant', output: ['axis_c'], name: 'axis_c__node', attribute: [onnx.AttributeProto.create({ name: 'value', t: axis, type: TENSOR })] }),
    onnx.NodeProto.create({ opType: 'Flatten', input: [x], output: ['rows'], name: 'rows__node', attribute: [onnx.AttributeProto.create({ name: 'axis', i: 1, type: INT })] }),
    onnx.NodeProto.create({ opType: 'ReduceMin', input: ['rows'], output: ['mn'], name: 'mn__node', attribute: [onnx.AttributeProto.create({ name: 'keepdims', i: 0, type: INT }), onnx.AttributeProto.create({ name: 'axes', ints: [-1], type: INTS })] }),
    onnx.NodeProto.create({ opType: 'LeakyRelu', input: ['mn'], output: ['lr'], name: 'ünïcode', domain: '', attribute: [onnx.AttributeProto.create({ name: 'alpha', f: 0.25, type: FLOAT })] }),
  ] as unknown as NodeProto[];
}

test('splice: a real model edited as the calibration sessions edit it encodes to the same model', () => {
  const bytes = fs.readFileSync(CLS);
  const model = decodeModel(bytes, 'cls', { keepSource: true });
  assert.equal(sourceOf(model), bytes);
  const g = model.graph!;
  // cut to the first half, new outputs, an input with fixed dims
  const kept = g.node.slice(0, Math.floor(g.node.length / 2));
  const last = kept[kept.length - 1]!.output[0]!;
  const input = g.input.map((i) =>
    onnx.ValueInfoProto.create({ ...i, type: { ...i.type, tensorType: { ...i.type!.tensorType!, shape: { dim: [{ dimValue: 8 }, { dimValue: 3 }, { dimValue: 48 }, { dimValue: 192 }] } } } } as never),
  ) as unknown as ValueInfoProto[];
  const output = [onnx.ValueInfoProto.create({ name: last })] as unknown as ValueInfoProto[];
  const cut = { ...model, graph: { ...g, node: kept, input, output } } as ModelProto;
  assertSameModel(spliceEdited(cut, model), cut);
  // reductions appended after every original node
  const reduced = { ...model, graph: { ...g, node: [...g.node, ...addedNodes(last)], output: [onnx.ValueInfoProto.create({ name: 'lr' })] } } as ModelProto;
  assertSameModel(spliceEdited(reduced, model), reduced);
  // new nodes between original ones, and a node taken out
  const mixed = { ...model, graph: { ...g, node: [g.node[0]!, ...addedNodes(g.node[0]!.output[0]!), ...g.node.slice(2)] } } as ModelProto;
  assertSameModel(spliceEdited(mixed, model), mixed);
  // the graph unchanged
  assert.deepEqual(Buffer.from(spliceEdited({ ...model, graph: { ...g } } as ModelProto, model)!), Buffer.from(bytes));
});

test('splice: initializers cut and added', () => {
  const model0 = buildModel({
    nodes: [makeNode('MatMul', ['x', 'w1'], ['h'], 'mm1'), makeNode('MatMul', ['h', 'w2'], ['y'], 'mm2')],
    inputs: [vi('x', [2, 4])],
    outputs: [vi('y', [2, 4])],
    initializers: [weight('w1', [4, 4], 1), weight('w2', [4, 4], 2)],
  });
  const bytes = encodeModel(model0);
  const model = decodeModel(bytes, 'mm', { keepSource: true });
  const g = model.graph!;
  const edited = { ...model, graph: { ...g, node: [g.node[0]!], initializer: [g.initializer[0]!, weight('extra', [1], 3)], output: [vi('h', [2, 4])] } } as ModelProto;
  assertSameModel(spliceEdited(edited, model), edited);
});

test('splice: what it cannot match falls back to the full encoding', () => {
  const bytes = fs.readFileSync(CLS);
  const withSource = decodeModel(bytes, 'cls', { keepSource: true });
  const g = withSource.graph!;
  const edits: [string, ModelProto, ModelProto][] = [];
  // no source kept
  const plain = decodeModel(bytes, 'cls');
  edits.push(['no source', { ...plain, graph: { ...plain.graph!, output: [] } } as ModelProto, plain]);
  // a field outside the graph replaced
  edits.push(['opset replaced', { ...withSource, opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 17 })] } as unknown as ModelProto, withSource]);
  // a graph field that is not a list changed
  edits.push(['graph renamed', { ...withSource, graph: { ...g, name: 'renamed' } } as ModelProto, withSource]);
  for (const [what, edited, original] of edits) {
    assert.equal(spliceEdited(edited, original), undefined, what);
    assert.deepEqual(Buffer.from(encodeEdited(edited, original)), Buffer.from(encodeModel(edited)), what);
  }
  // a list changed in place no longer lines up with the bytes
  const m = decodeModel(bytes, 'cls', { keepSource: true });
  const popped = m.graph!.node.pop()!;
  assert.equal(spliceEdited({ ...m, graph: { ...m.graph!, output: [] } } as ModelProto, m), undefined);
  assert.ok(popped);
});

test('splice: loadModel keeps the source only where asked and where no external data was read in', () => {
  const dir = tmpDir('splice');
  try {
    const model = buildModel({ nodes: [makeNode('MatMul', ['x', 'w'], ['y'], 'mm')], inputs: [vi('x', [1, 256])], outputs: [vi('y', [1, 256])], initializers: [weight('w', [256, 256])] });
    const inline = path.join(dir, 'inline.onnx');
    const external = path.join(dir, 'external.onnx');
    saveModel(model, inline);
    saveModel(model, external, { externalData: true, sizeThreshold: 1024 });
    assert.ok(sourceOf(loadModel(inline, { keepSource: true })));
    assert.equal(sourceOf(loadModel(inline)), undefined);
    const ext = loadModel(external, { keepSource: true });
    assert.equal(sourceOf(ext), undefined, 'external data read in: the bytes only point to it');
    // its edit still encodes (fully), with the data inline
    const edited = { ...ext, graph: { ...ext.graph!, output: [vi('y', [1, 256])] } } as ModelProto;
    assert.equal(decodeModel(encodeEdited(edited, ext)).graph!.initializer[0]!.rawData.length, 256 * 256 * 4);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('splice: onnxruntime runs a spliced session model as it runs the fully encoded one', async () => {
  const bytes = fs.readFileSync(CLS);
  const model = decodeModel(bytes, 'cls', { keepSource: true });
  const g = model.graph!;
  const mid = g.node[Math.floor(g.node.length / 3)]!.output[0]!;
  const edited = { ...model, graph: { ...g, node: [...g.node, ...addedNodes(mid).slice(1, 3)], output: [onnx.ValueInfoProto.create({ name: 'mn' })] } } as ModelProto;
  const spliced = spliceEdited(edited, model);
  assert.ok(spliced);
  const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * 3 * 48 * 192 }, (_, i) => Math.sin(i)), [2, 3, 48, 192]);
  const results: Float32Array[] = [];
  for (const b of [spliced, encodeModel(edited)]) {
    const s = await ort.InferenceSession.create(b);
    results.push((await s.run({ [g.input[0]!.name]: x }))['mn']!.data as Float32Array);
    await s.release();
  }
  assert.ok(results[0]!.length > 0);
  assert.deepEqual(results[0], results[1]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType, encodeModel, loadModel, makeFloatTensor, makeInt8Tensor, makeTensor, type ModelProto } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';
import { checkModel } from './checker.js';
import { exportModel } from './export.js';
import { summarize } from './summary.js';
import { compareModels } from './compare.js';
import { buildModel, makeNode, rand, vi, weight } from '../../test/helpers/tiny-models.js';
import { tmpDir } from '../../test/helpers/shared.js';

/** X -> Q/DQ -> MatMul(W behind per-channel Q/DQ) -> O */
function qdqModel(opts: { opset?: number; axis?: number; scaleDims?: number[]; zpType?: number; blockSize?: number; unsorted?: boolean } = {}): ModelProto {
  const scaleDims = opts.scaleDims ?? [4];
  const n = scaleDims.reduce((a, b) => a * b, 1);
  const zp = opts.zpType === DataType.FLOAT8E4M3FN ? makeTensor('w_zp', DataType.FLOAT8E4M3FN, scaleDims, new Uint8Array(n)) : makeInt8Tensor('w_zp', scaleDims, new Int8Array(n));
  const wAttrs: Record<string, number> = { axis: opts.axis ?? 1 };
  if (opts.blockSize) wAttrs.block_size = opts.blockSize;
  const nodes = [
    makeNode('QuantizeLinear', ['X', 'x_s', 'x_zp'], ['Xq'], 'xq'),
    makeNode('DequantizeLinear', ['Xq', 'x_s', 'x_zp'], ['Xd'], 'xdq'),
    makeNode('QuantizeLinear', ['W', 'w_s', 'w_zp'], ['Wq'], 'wq', wAttrs),
    makeNode('DequantizeLinear', ['Wq', 'w_s', 'w_zp'], ['Wd'], 'wdq', wAttrs),
    makeNode('MatMul', ['Xd', 'Wd'], ['O'], 'mm'),
  ];
  return buildModel({
    opset: opts.opset ?? 13,
    inputs: [vi('X', [2, 8])],
    outputs: [vi('O', [2, 4])],
    initializers: [weight('W', [8, 4]), makeFloatTensor('x_s', [], [0.01]), makeInt8Tensor('x_zp', [], new Int8Array(1)), makeFloatTensor('w_s', scaleDims, new Float32Array(n).fill(0.01)), zp],
    nodes: opts.unsorted ? [nodes[4]!, ...nodes.slice(0, 4)] : nodes,
  });
}

test('checker accepts a valid Q/DQ model and reports its defects', () => {
  assert.deepEqual(checkModel(qdqModel()).errors, []);
  const cases: [ReturnType<typeof qdqModel>, RegExp][] = [
    [qdqModel({ axis: 2 }), /axis 2 out of range/],
    [qdqModel({ scaleDims: [5] }), /per-axis scale has 5 entries, axis 1 has 4/],
    [qdqModel({ opset: 17, zpType: DataType.FLOAT8E4M3FN }), /FLOAT8E4M3FN needs opset 19/],
    [qdqModel({ opset: 13, scaleDims: [1, 4], axis: 0, blockSize: 128 }), /block_size\) needs opset 21/],
    [qdqModel({ opset: 21, scaleDims: [3, 4], axis: 0, blockSize: 4 }), /blocked scale shape \[3,4\], expected \[2,4\]/],
    [qdqModel({ unsorted: true }), /not topologically sorted/],
  ];
  for (const [m, re] of cases) {
    m.irVersion = 10;
    const r = checkModel(m);
    assert.equal(r.passed, false, String(re));
    assert.ok(r.errors.some((e) => re.test(e)), `${re} not in ${JSON.stringify(r.errors)}`);
  }
  // scale/zero-point shape mismatch
  const m = qdqModel();
  m.graph!.initializer = m.graph!.initializer.map((t) => (t.name === 'w_zp' ? makeInt8Tensor('w_zp', [3], new Int8Array(3)) : t));
  assert.ok(checkModel(m).errors.some((e) => /zero-point shape/.test(e)));
  // dangling input
  const d = qdqModel();
  d.graph!.node[4]!.input = ['Xd', 'nowhere'];
  assert.ok(checkModel(d).errors.some((e) => /nowhere/.test(e)));
});

test('exportModel writes inline and with external data; onnxruntime loads both; summary counts quantized nodes', async () => {
  const dir = tmpDir('export');
  const inline = path.join(dir, 'a.onnx');
  const r1 = exportModel(qdqModel(), inline);
  assert.equal(r1.external, false);
  assert.deepEqual(r1.files, [inline]);
  assert.equal(Number(loadModel(inline).irVersion), 9);
  assert.deepEqual(r1.summary.quantizedNodes, ['mm']);
  assert.deepEqual(r1.summary.quantizedByOpType, { MatMul: 1 });
  const ext = path.join(dir, 'b.onnx');
  const r2 = exportModel(qdqModel(), ext, { externalData: true });
  assert.equal(r2.external, true);
  assert.ok(fs.existsSync(path.join(dir, 'b.onnx_data')));
  assert.ok(r2.files.includes(path.join(dir, 'b.onnx_data')));
  const x = new ort.Tensor('float32', rand(16, 3), [2, 8]);
  const o1 = (await (await ort.InferenceSession.create(inline)).run({ X: x }))['O']!.data as Float32Array;
  const o2 = (await (await ort.InferenceSession.create(ext)).run({ X: x }))['O']!.data as Float32Array;
  assert.deepEqual([...o1], [...o2]);
});

test('a model that fails the check is not written (no partial file)', () => {
  const dir = tmpDir('export-bad');
  const out = path.join(dir, 'bad.onnx');
  assert.throws(() => exportModel(qdqModel({ axis: 3 }), out), InvalidArgument);
  assert.deepEqual(fs.readdirSync(dir), []);
  assert.throws(() => exportModel(qdqModel(), path.join(dir, 'bad.txt')), InvalidArgument);
});

test('compare: identical models agree exactly; a quantized one reports cosine, SNR, errors and top-1', async () => {
  const plain = buildModel({ inputs: [vi('X', [2, 8])], outputs: [vi('O', [2, 4])], initializers: [weight('W', [8, 4])], nodes: [makeNode('MatMul', ['X', 'W'], ['O'], 'mm')] });
  const feeds = [0, 1, 2].map((k) => ({ X: new ort.Tensor('float32', rand(16, 10 + k), [2, 8]) }));
  const same = await compareModels(encodeModel(plain), encodeModel(plain), feeds);
  assert.equal(same.outputs[0]!.cosine, 1);
  assert.equal(same.outputs[0]!.snrDb, Infinity);
  assert.equal(same.outputs[0]!.top1Agreement, 1);
  assert.equal(same.batches, 3);
  const q = await compareModels(encodeModel(plain), encodeModel(qdqModel()), feeds);
  const o = q.outputs[0]!;
  assert.ok(o.cosine > 0.99 && o.cosine < 1, `cosine ${o.cosine}`);
  assert.ok(o.snrDb > 20 && Number.isFinite(o.snrDb));
  assert.ok(o.maxAbsError > 0 && o.meanAbsError <= o.maxAbsError);
  assert.equal(summarize(qdqModel()).dequantizeNodes, 2);
});

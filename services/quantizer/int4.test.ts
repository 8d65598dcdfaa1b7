import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { DataType, Graph, encodeModel, tensorToFloat32, type GraphProto } from '../core/onnx/index.js';
import { FailedPrecondition, InvalidArgument } from '../core/errors.js';
import * as R from '../../native/reference.js';
import * as Native from '../../native/index.js';
import { packInt4, unpackInt4 } from './int4-pack.js';
import { int4BlockScales, int4DequantizeBlocks, int4QuantizeBlocks } from './int4-rtn.js';
import { awqClipSearch, awqClipSearchPlain } from './int4-awq.js';
import { quantizeModel } from './quantize.js';
import { buildModel, makeNode, rand, vi, weight } from '../../test/helpers/tiny-models.js';

/** Packing written the slow, obvious way: two's-complement nibbles, low nibble first. */
function packPlain(values: number[]): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < values.length; i += 2) {
    const lo = values[i]! & 0xf;
    const hi = i + 1 < values.length ? values[i + 1]! & 0xf : 0;
    bytes.push(lo | (hi << 4));
  }
  return bytes;
}

test('INT4 packing bit for bit: plain implementation, native/reference.ts, round trip', () => {
  const vals = Array.from({ length: 1001 }, (_, i) => ((i * 7919) % 16) - 8);
  const ours = packInt4(Int8Array.from(vals));
  assert.deepEqual([...ours], packPlain(vals));
  assert.deepEqual([...ours], [...R.packInt4(Int8Array.from(vals))]);
  assert.deepEqual([...unpackInt4(ours, vals.length)], vals);
  // element 2k low nibble, 2k+1 high nibble; -1 -> 0xF, 7 -> 0x7
  assert.deepEqual([...packInt4(Int8Array.of(-1, 7, 3))], [0x7f, 0x03]);
  // clipping and half-even rounding before the cast
  assert.deepEqual([...unpackInt4(packInt4(Float32Array.of(9, -9.5, 2.5, 3.5)), 4)], [7, -8, 2, 4]);
});

test('INT4 RTN scales, codes and dequantized values equal native/reference.ts (padded Cin)', () => {
  const cin = 200;
  const cout = 24;
  const w = rand(cin * cout, 5);
  const s = int4BlockScales(w, cin, cout);
  assert.deepEqual([...s], [...R.int4BlockScales(w, cin, cout)]);
  assert.equal(s.length, 2 * cout);
  const q = int4QuantizeBlocks(w, cin, cout, s);
  assert.deepEqual([...q], [...R.int4QuantizeBlocks(w, cin, cout, s)]);
  assert.deepEqual([...int4DequantizeBlocks(q, cin, cout, s)], [...R.int4DequantizeBlocks(q, cin, cout, s)]);
  assert.ok(q.every((v) => v >= -8 && v <= 7));
});

test('AWQ clip search: plain implementation and the kernels choose the same alphas', async () => {
  const cin = 256;
  const cout = 48;
  const tokens = 100;
  const w = rand(cin * cout, 7);
  const x = rand(tokens * cin, 8);
  const plain = awqClipSearchPlain(w, cin, cout, x, tokens);
  const ref = R.awqClipSearch(w, cin, cout, x, tokens);
  assert.equal(plain.tokensUsed, ref.tokensUsed);
  let differ = 0;
  for (let i = 0; i < ref.alphas.length; i++) if (Math.abs(plain.alphas[i]! - ref.alphas[i]!) > 1e-6) differ++;
  assert.ok(differ <= ref.alphas.length * 0.02, `${differ} of ${ref.alphas.length} alphas differ (float summation order)`);
  const used = await awqClipSearch(w, cin, cout, x, tokens);
  if (Native.isNativeAvailable()) {
    assert.equal(used.native, true);
    assert.deepEqual([...used.alphas], [...ref.alphas]);
  }
  assert.ok(plain.alphas.every((a) => a >= 0.5 && a <= 1));
});

function linearModel(opset = 17) {
  return buildModel({
    opset,
    inputs: [vi('X', [3, 200])],
    outputs: [vi('O', [3, 16]), vi('P', [3, 24])],
    initializers: [weight('W', [200, 16], 3), weight('WT', [24, 200], 4), weight('b1', [16], 5), weight('b2', [24], 6)],
    nodes: [
      makeNode('MatMul', ['X', 'W'], ['M'], 'mm'),
      makeNode('Add', ['M', 'b1'], ['O'], 'add'),
      makeNode('Gemm', ['X', 'WT', 'b2'], ['P'], 'gemm', { transB: 1 }),
    ],
  });
}

test('int4_rtn_dq: packed INT4 weights, blocked DQ (axis 0, or 1 for transB), opset 21, runs in onnxruntime', async () => {
  const model = linearModel();
  const r = await quantizeModel({ model, options: { quantizeMode: 'int4_rtn_dq' } });
  assert.equal(r.opset, 21);
  assert.equal(Number(model.irVersion), 10);
  const graph = new Graph(model.graph as GraphProto);
  const dq = graph.nodes.find((n) => n.name === 'W_DequantizeLinear')!;
  assert.deepEqual(dq.input, ['W_i4', 'W_scale', 'W_zp']);
  assert.equal(Number(dq.attribute.find((a) => a.name === 'axis')!.i), 0);
  assert.equal(Number(dq.attribute.find((a) => a.name === 'block_size')!.i), 128);
  assert.deepEqual(graph.initializers.get('W_scale')!.dims.map(Number), [2, 16]);
  assert.equal(Number(graph.initializers.get('W_i4')!.dataType), DataType.INT4);
  assert.equal(Number(graph.initializers.get('W_zp')!.dataType), DataType.INT4);
  const dqT = graph.nodes.find((n) => n.name === 'WT_DequantizeLinear')!;
  assert.equal(Number(dqT.attribute.find((a) => a.name === 'axis')!.i), 1);
  assert.deepEqual(graph.initializers.get('WT_scale')!.dims.map(Number), [24, 2]);
  assert.ok(!graph.initializers.has('W') && !graph.initializers.has('WT'), 'float weights dropped');
  // The biases (1-D) stay float.
  assert.ok(graph.initializers.has('b1'));
  // Packed bytes are the plain packing of the RTN codes.
  const w = r.weights.find((x) => x.weight === 'W')!;
  assert.deepEqual([...graph.initializers.get('W_i4')!.rawData], packPlain([...w.codes]));
  // onnxruntime (CPU, blocked INT4 DequantizeLinear) computes X·dequant(W): compare with our own
  // dequantization. Unoptimized: exact DQ semantics; optimized: ORT fuses DQ+MatMul into
  // MatMulNBits, which may quantize the activations, hence the looser bound.
  const x = rand(600, 11);
  const wdq = int4DequantizeBlocks(w.codes, 200, 16, w.scales);
  const b1 = tensorToFloat32(graph.initializers.get('b1')!);
  for (const [level, tol] of [['disabled', 1e-4], ['all', 5e-2]] as const) {
    const s = await ort.InferenceSession.create(encodeModel(model), { graphOptimizationLevel: level });
    const out = await s.run({ X: new ort.Tensor('float32', x, [3, 200]) });
    const o = out['O']!.data as Float32Array;
    for (let i = 0; i < 3; i++)
      for (let c = 0; c < 16; c++) {
        let acc = b1[c]!;
        for (let k = 0; k < 200; k++) acc += x[i * 200 + k]! * wdq[k * 16 + c]!;
        assert.ok(Math.abs(o[i * 16 + c]! - acc) <= tol * Math.max(1, Math.abs(acc)), `${level}: O[${i},${c}] ${o[i * 16 + c]} vs ${acc}`);
      }
    await s.release();
  }
});

test('int4_rtn (Q+DQ) keeps the float weight behind Q; TRT modes use TRT_INT4 ops with no domain and keep the opset', async () => {
  const m1 = linearModel();
  await quantizeModel({ model: m1, options: { quantizeMode: 'int4_rtn' } });
  const g1 = new Graph(m1.graph as GraphProto);
  assert.deepEqual(g1.nodes.find((n) => n.name === 'W_QuantizeLinear')!.input, ['W', 'W_scale', 'W_zp']);
  assert.deepEqual(g1.nodes.find((n) => n.name === 'W_DequantizeLinear')!.input, ['W_QuantizeLinear_Output', 'W_scale', 'W_zp']);
  const m2 = linearModel();
  const r2 = await quantizeModel({ model: m2, options: { quantizeMode: 'int4_rtn_trt_dq' } });
  assert.equal(r2.opset, 17);
  const dq = new Graph(m2.graph as GraphProto).nodes.find((n) => n.name === 'W_DequantizeLinear')!;
  assert.equal(dq.opType, 'TRT_INT4DequantizeLinear');
  assert.equal(dq.domain, '');
  assert.equal(dq.attribute.length, 0);
});

test('INT4 bad input: rank-1 weights are skipped, no quantizable weight, invalid block size, missing AWQ activations', async () => {
  const onlyVec = buildModel({ opset: 17, inputs: [vi('X', [3, 4])], outputs: [vi('O', [3])], initializers: [weight('v', [4])], nodes: [makeNode('MatMul', ['X', 'v'], ['O'], 'mv')] });
  await assert.rejects(quantizeModel({ model: onlyVec, options: { quantizeMode: 'int4_rtn_dq' } }), (e: unknown) => e instanceof FailedPrecondition && /rank 1/.test((e as Error).message));
  const mixed = buildModel({
    opset: 17,
    inputs: [vi('X', [3, 4])],
    outputs: [vi('O', [3]), vi('P', [3, 2])],
    initializers: [weight('v', [4]), weight('W', [4, 2])],
    nodes: [makeNode('MatMul', ['X', 'v'], ['O'], 'mv'), makeNode('MatMul', ['X', 'W'], ['P'], 'mm')],
  });
  const r = await quantizeModel({ model: mixed, options: { quantizeMode: 'int4_rtn_dq' } });
  assert.equal(r.weights.length, 1);
  assert.ok(r.warnings.some((w) => w.includes('skipped v')));
  await assert.rejects(quantizeModel({ model: linearModel(), options: { quantizeMode: 'int4_rtn_dq' }, blockSize: 0 }), InvalidArgument);
  await assert.rejects(quantizeModel({ model: linearModel(), options: { quantizeMode: 'int4_rtn_dq' }, blockSize: 1.5 }), InvalidArgument);
  await assert.rejects(quantizeModel({ model: linearModel(), options: { quantizeMode: 'int4_awq_clip' } }), (e: unknown) => e instanceof FailedPrecondition && /captured activation/.test((e as Error).message));
  await assert.rejects(
    quantizeModel({ model: linearModel(), options: { quantizeMode: 'int4_awq_clip' }, activations: [{ tensor: 'X', shape: [3, 100], data: new Float32Array(300) }] }),
    (e: unknown) => e instanceof InvalidArgument && /channels/.test((e as Error).message),
  );
  await assert.rejects(quantizeModel({ model: linearModel(12), options: { quantizeMode: 'int4_rtn_dq' } }), (e: unknown) => e instanceof FailedPrecondition && /opset 13/.test((e as Error).message));
});

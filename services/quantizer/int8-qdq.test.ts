import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType, Graph, makeFloatTensor, makeInt64Tensor, onnx, tensorToFloat32, type GraphProto, type ModelProto } from '../core/onnx/index.js';
import { FailedPrecondition, InvalidArgument } from '../core/errors.js';
import type { CalibrationTable, TensorRange } from '../core/quant-types.js';
import { quantizeModel } from './quantize.js';
import { symmetricInt8Scale } from './weight-scales.js';
import { buildModel, makeNode, vi, weight } from '../../test/helpers/tiny-models.js';

function table(names: string[], lo = -2, hi = 1, scale?: number): CalibrationTable {
  const ranges: Record<string, TensorRange> = {};
  for (const t of names) ranges[t] = { tensor: t, min: lo, max: hi, low: lo, high: hi, scale };
  return { method: 'minmax', samples: 1, ranges };
}

function analysis(nodes: string[], edges: { producer: string; consumer: string; tensor: string }[] = []) {
  return { quantizableNodes: nodes, noQuantizeEdges: edges, decisions: [], tensorsToCalibrate: [], opTypeCounts: {} };
}

function g(model: ModelProto): Graph {
  return new Graph(model.graph as GraphProto);
}

/** X -> Relu -> R; R -> ConvA, R -> ConvB, R -> Add(R, ConvA) */
function branchy(opset = 13): ModelProto {
  return buildModel({
    opset,
    inputs: [vi('X', [1, 4, 8, 8])],
    outputs: [vi('Y', [1, 4, 8, 8]), vi('Z', [1, 4, 8, 8])],
    initializers: [weight('WA', [4, 4, 3, 3], 1), weight('WB', [4, 4, 1, 1], 2), weight('BA', [4], 3)],
    nodes: [
      makeNode('Relu', ['X'], ['R'], 'relu'),
      makeNode('Conv', ['R', 'WA', 'BA'], ['CA'], 'convA', { pads: [1, 1, 1, 1] }),
      makeNode('Conv', ['R', 'WB'], ['Z'], 'convB'),
      makeNode('Add', ['R', 'CA'], ['Y'], 'add'),
    ],
  });
}

test('dedicated Q/DQ pairs per selected consumer, reference naming, per-channel Conv weights on axis 0, no bias quantization', async () => {
  const model = branchy();
  await quantizeModel({ model, options: { quantizeMode: 'int8' }, analysis: analysis(['convA', 'convB', 'add']), calibration: table(['X', 'R', 'CA']) });
  const graph = g(model);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  for (const k of [1, 2, 3]) {
    assert.ok(byName.has(`R_QuantizeLinear_${k}`), `R_QuantizeLinear_${k}`);
    assert.deepEqual(byName.get(`R_DequantizeLinear_${k}`)!.output, [`R_DequantizeLinear_Output_${k}`]);
  }
  assert.equal(byName.get('convA')!.input[0], 'R_DequantizeLinear_Output_1');
  assert.equal(byName.get('convB')!.input[0], 'R_DequantizeLinear_Output_2');
  assert.deepEqual(byName.get('add')!.input, ['R_DequantizeLinear_Output_3', 'CA_DequantizeLinear_Output']);
  // Weights: float behind Q->DQ, per-channel axis 0, scale [Cout].
  assert.equal(byName.get('convA')!.input[1], 'WA_DequantizeLinear_Output');
  const wq = byName.get('WA_QuantizeLinear')!;
  assert.deepEqual(wq.input, ['WA', 'WA_scale', 'WA_zero_point']);
  assert.equal(Number(wq.attribute.find((a) => a.name === 'axis')!.i), 0);
  assert.deepEqual(graph.initializers.get('WA_scale')!.dims.map(Number), [4]);
  assert.equal(Number(graph.initializers.get('WA_zero_point')!.dataType), DataType.INT8);
  // Bias untouched, outputs not quantized.
  assert.equal(byName.get('convA')!.input[2], 'BA');
  assert.ok(!graph.nodes.some((n) => n.input[0] === 'Y' || n.input[0] === 'Z'));
  // Activation scale: symmetric, max(|low|, |high|) / 127, zero point 0.
  const s = tensorToFloat32(graph.initializers.get('R_scale')!)[0]!;
  assert.equal(s, Math.fround(4 / 254));
  assert.equal(s, symmetricInt8Scale(-2, 1));
  assert.deepEqual([...graph.initializers.get('R_zero_point')!.rawData], [0]);
});

test('one selected consumer: a shared pair that every consumer reads (onnxruntime behaviour)', async () => {
  const model = branchy();
  await quantizeModel({ model, options: { quantizeMode: 'int8' }, analysis: analysis(['convA']), calibration: table(['X', 'R', 'CA']) });
  const byName = new Map(g(model).nodes.map((n) => [n.name, n]));
  assert.ok(byName.has('R_DequantizeLinear'));
  assert.equal(byName.get('convB')!.input[0], 'R_DequantizeLinear_Output');
  assert.equal(byName.get('add')!.input[0], 'R_DequantizeLinear_Output');
  assert.equal(byName.get('add')!.input[1], 'CA');
  assert.ok(!byName.has('WB_QuantizeLinear'), 'unselected conv keeps a float weight');
});

test('no-quantize edge: only the pair feeding that consumer is removed (not the first pair, the reference quirk)', async () => {
  const model = branchy();
  await quantizeModel({
    model,
    options: { quantizeMode: 'int8' },
    analysis: analysis(['convA', 'convB', 'add'], [{ producer: 'relu', consumer: 'add', tensor: 'R' }]),
    calibration: table(['X', 'R', 'CA']),
  });
  const graph = g(model);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  assert.equal(byName.get('add')!.input[0], 'R');
  assert.equal(byName.get('add')!.input[1], 'CA_DequantizeLinear_Output');
  // The reference would have stripped pair _1 (convA's); we keep convA's and convB's pairs.
  assert.equal(byName.get('convA')!.input[0], 'R_DequantizeLinear_Output_1');
  assert.equal(byName.get('convB')!.input[0], 'R_DequantizeLinear_Output_2');
  assert.ok(!byName.has('R_DequantizeLinear_3') && !byName.has('R_QuantizeLinear_3'));
});

test('per-channel axes: ConvTranspose 1, MatMul 1, Gemm 0 with transB else 1; BatchNormalization input 0 only; Constant-node weights are weights', async () => {
  const model = buildModel({
    inputs: [vi('X', [1, 4, 4, 4]), vi('M', [2, 8])],
    outputs: [vi('O1', [1, 6, 4, 4]), vi('O2', [2, 5]), vi('O3', [2, 3]), vi('O4', [2, 7]), vi('O5', [1, 6, 4, 4])],
    initializers: [weight('WT', [4, 6, 1, 1]), weight('WM', [8, 5]), weight('WG', [3, 8]), weight('bn_s', [6]), weight('bn_b', [6]), weight('bn_m', [6]), makeFloatTensor('bn_v', [6], [1, 1, 1, 1, 1, 1])],
    nodes: [
      makeNode('ConvTranspose', ['X', 'WT'], ['T'], 'convT'),
      makeNode('BatchNormalization', ['T', 'bn_s', 'bn_b', 'bn_m', 'bn_v'], ['O1'], 'bn'),
      makeNode('MatMul', ['M', 'WM'], ['O2'], 'mm'),
      makeNode('Gemm', ['M', 'WG'], ['O3'], 'gemmT', { transB: 1 }),
      Object.assign(makeNode('Constant', [], ['WC'], 'const'), {
        attribute: [onnx.AttributeProto.create({ name: 'value', type: 4, t: weight('WC', [8, 7], 9) as never })],
      }) as never,
      makeNode('Gemm', ['M', 'WC'], ['O4'], 'gemmC'),
      makeNode('Relu', ['T'], ['O5'], 'relu'),
    ],
  });
  await quantizeModel({ model, options: { quantizeMode: 'int8' }, analysis: analysis(['convT', 'bn', 'mm', 'gemmT', 'gemmC']), calibration: table(['X', 'M', 'T']) });
  const graph = g(model);
  const axis = (n: string) => Number(graph.nodes.find((x) => x.name === n)!.attribute.find((a) => a.name === 'axis')?.i);
  assert.equal(axis('WT_DequantizeLinear'), 1);
  assert.deepEqual(graph.initializers.get('WT_scale')!.dims.map(Number), [6]);
  assert.equal(axis('WM_DequantizeLinear'), 1);
  assert.deepEqual(graph.initializers.get('WM_scale')!.dims.map(Number), [5]);
  assert.equal(axis('WG_DequantizeLinear'), 0);
  assert.deepEqual(graph.initializers.get('WG_scale')!.dims.map(Number), [3]);
  assert.equal(axis('WC_DequantizeLinear'), 1);
  assert.deepEqual(graph.initializers.get('WC_scale')!.dims.map(Number), [7]);
  const bn = graph.nodes.find((n) => n.name === 'bn')!;
  assert.deepEqual(bn.input, ['T_DequantizeLinear_Output_2', 'bn_s', 'bn_b', 'bn_m', 'bn_v'].slice(0, 5).map((x, i) => (i === 0 ? bn.input[0] : x)));
  assert.match(bn.input[0]!, /^T_DequantizeLinear_Output/);
  assert.ok(!graph.nodes.some((n) => n.name.startsWith('bn_s_')), 'BatchNormalization scale not quantized');
});

test('a graph output read by one selected node keeps its name: the DQ writes it', async () => {
  const model = buildModel({
    inputs: [vi('X', [2, 8])],
    outputs: [vi('H', [2, 8]), vi('O', [2, 4])],
    initializers: [weight('W', [8, 4])],
    nodes: [makeNode('Sigmoid', ['X'], ['H'], 'sig'), makeNode('MatMul', ['H', 'W'], ['O'], 'mm')],
  });
  await quantizeModel({ model, options: { quantizeMode: 'int8' }, analysis: analysis(['mm']), calibration: table(['X', 'H']) });
  const graph = g(model);
  assert.deepEqual(graph.nodes.find((n) => n.name === 'sig')!.output, ['H_QuantizeLinear_Input']);
  assert.deepEqual(graph.nodes.find((n) => n.name === 'H_DequantizeLinear')!.output, ['H']);
  graph.validate();
});

test('FP8: opset raised to 19 (Reduce axes moved to inputs), IR 9, E4M3FN zero points, per-tensor weights, scales from distribution', async () => {
  const model = buildModel({
    opset: 13,
    ir: 7,
    inputs: [vi('X', [2, 8])],
    outputs: [vi('O', [2, 1])],
    initializers: [weight('W', [8, 4])],
    nodes: [makeNode('MatMul', ['X', 'W'], ['Y'], 'mm'), makeNode('ReduceMean', ['Y'], ['O'], 'rm', { axes: [1], keepdims: 1 })],
  });
  await quantizeModel({ model, options: { quantizeMode: 'fp8' }, analysis: analysis(['mm']), calibration: table(['X', 'Y'], -1, 1, 0.0123) });
  const graph = g(model);
  assert.equal(model.opsetImport[0]!.version, 19);
  assert.equal(Number(model.irVersion), 9);
  const rm = graph.nodes.find((n) => n.name === 'rm')!;
  assert.equal(rm.input.length, 2);
  assert.ok(!rm.attribute.some((a) => a.name === 'axes'));
  assert.equal(Number(graph.initializers.get('X_zero_point')!.dataType), DataType.FLOAT8E4M3FN);
  assert.equal(tensorToFloat32(graph.initializers.get('X_scale')!)[0], Math.fround(0.0123));
  assert.deepEqual(graph.initializers.get('W_scale')!.dims.map(Number), []);
  assert.ok(!graph.nodes.find((n) => n.name === 'W_DequantizeLinear')!.attribute.some((a) => a.name === 'axis'));
});

test('bad input: unknown mode, no selection, missing range, FP8 without distribution scale, opset below 10', async () => {
  await assert.rejects(quantizeModel({ model: branchy(), options: { quantizeMode: 'int9' as never } }), InvalidArgument);
  await assert.rejects(quantizeModel({ model: branchy(), options: { quantizeMode: 'int8' }, analysis: analysis([]), calibration: table(['R']) }), (e: unknown) => e instanceof FailedPrecondition && /no node is selected/.test((e as Error).message));
  const typed = branchy();
  typed.graph!.valueInfo = [vi('R', [1, 4, 8, 8])];
  await assert.rejects(quantizeModel({ model: typed, options: { quantizeMode: 'int8' }, analysis: analysis(['convA']), calibration: table(['X']) }), (e: unknown) => e instanceof FailedPrecondition && /no calibration range/.test((e as Error).message));
  const untyped = await quantizeModel({ model: branchy(), options: { quantizeMode: 'int8' }, analysis: analysis(['convA']), calibration: table(['X']) });
  assert.ok(untyped.warnings.some((w) => /"R".*no calibration range/.test(w)));
  await assert.rejects(quantizeModel({ model: branchy(), options: { quantizeMode: 'fp8' }, analysis: analysis(['convA']), calibration: table(['R', 'X', 'CA']) }), (e: unknown) => e instanceof FailedPrecondition && /distribution/.test((e as Error).message));
  await assert.rejects(quantizeModel({ model: branchy(9), options: { quantizeMode: 'int8' }, analysis: analysis(['convA']), calibration: table(['R']) }), FailedPrecondition);
  const gn = buildModel({ opset: 18, inputs: [vi('X', [2, 8])], outputs: [vi('O', [2, 4])], initializers: [weight('W', [8, 4]), makeInt64Tensor('S', [1], [1])], nodes: [makeNode('MatMul', ['X', 'W'], ['Y'], 'mm'), makeNode('GroupNormalization', ['Y', 'S', 'S'], ['O'], 'gn', { num_groups: 1 })] });
  await assert.rejects(quantizeModel({ model: gn, options: { quantizeMode: 'int4_rtn_dq' } }), (e: unknown) => e instanceof FailedPrecondition && /GroupNormalization/.test((e as Error).message));
});

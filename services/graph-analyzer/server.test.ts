/** Prepare and Analyze over a real socket, and the status of bad requests. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { callUnary, createClient } from '../core/grpc/client.js';
import { GraphAnalyzerServiceClient, PartitionKind } from '../../gen/modelopt/v1/graph_analyzer.js';
import { QuantizeMode, QuantizeConfig } from '../../gen/modelopt/v1/common.js';
import { decodeModel, encodeModel } from '../core/onnx/index.js';
import { modelPath } from '../../test/helpers/shared.js';
import { buildModel } from './test-models.js';
import { startService, grpcStatus } from '../../test/helpers/service-harness.js';
import { graphAnalyzerService } from './server.js';

const svc = await startService('graph-analyzer', graphAnalyzerService, GraphAnalyzerServiceClient);
const { client, runtime } = svc;
after(() => svc.close());

const status = grpcStatus;

test('Prepare converts ultraface to opset 13, names its nodes and returns intermediates when asked', async () => {
  const ref = await runtime.artifacts.putFile(modelPath('ultraface_rfb320'), { mediaType: 'application/x-onnx' });
  const r = await callUnary(client, client.prepare, { model: ref, config: QuantizeConfig.fromPartial({ keepIntermediateFiles: true }), modelName: 'tiny' });
  assert.deepEqual(r.opset, { fromOpset: 9, toOpset: 13, converted: true });
  assert.ok(r.renamedNodes.length > 200);
  assert.equal(r.renamedNodes[0]!.newName, `${r.renamedNodes[0]!.opType}_1`);
  assert.equal(r.intermediates.length, 2);
  const prepared = decodeModel(await runtime.artifacts.get(r.preparedModel!));
  assert.ok(prepared.graph!.node.every((n) => n.name));
  assert.notEqual(r.preparedModel!.sha256, ref.sha256);
});

test('Analyze returns the selection, decisions, calibration tensors and statistics for mnist8', async () => {
  const ref = await runtime.artifacts.putFile(modelPath('mnist8'), { mediaType: 'application/x-onnx' });
  const prep = await callUnary(client, client.prepare, { model: ref, modelName: '' });
  const r = await callUnary(client, client.analyze, { model: prep.preparedModel, config: QuantizeConfig.fromPartial({ quantizeMode: QuantizeMode.QUANTIZE_MODE_INT8 }) });
  assert.deepEqual(r.selectedNodes, ['Convolution28', 'Pooling66', 'Convolution110', 'Pooling160', 'Times212']);
  assert.deepEqual([...r.predictedQuantizedNodes].sort(), ['Convolution110', 'Convolution28', 'Pooling160', 'Pooling66', 'Times212']);
  assert.equal(r.decisions.length, 12);
  assert.ok(r.decisions.every((d) => d.rule && d.reason));
  assert.ok(r.tensorsToCalibrate.includes('Input3'));
  assert.equal(r.opset, 13);
  assert.deepEqual(r.inputs, [{ name: 'Input3', dims: [1, 1, 28, 28] }]);
  assert.equal(r.batchSize, 1);
  assert.ok(r.partitions.some((p) => p.kind === PartitionKind.PARTITION_KIND_CASK));
  assert.ok(r.opStatistics.some((s) => s.opType === 'Conv' && s.count === 2));
  const fp8 = await callUnary(client, client.analyze, { model: prep.preparedModel, config: QuantizeConfig.fromPartial({ quantizeMode: QuantizeMode.QUANTIZE_MODE_FP8 }) });
  assert.deepEqual(fp8.predictedQuantizedNodes, ['Times212']);
  assert.deepEqual(fp8.opTypesToQuantize, ['Gemm', 'MatMul', 'Conv']);
});

test('bad models and requests are INVALID_ARGUMENT naming the problem', async () => {
  const cyc = buildModel({ nodes: [{ op: 'Relu', in: ['b'], out: ['a'], name: 'n1' }, { op: 'Relu', in: ['a'], out: ['b'], name: 'n2' }] });
  const ref = await runtime.artifacts.put(Buffer.from(encodeModel(cyc)), { mediaType: 'application/x-onnx' });
  await assert.rejects(callUnary(client, client.analyze, { model: ref }), status(grpc.status.INVALID_ARGUMENT, /cycle/));
  await assert.rejects(callUnary(client, client.prepare, { model: ref, modelName: '' }), status(grpc.status.INVALID_ARGUMENT, /cycle/));
  const junk = await runtime.artifacts.put(Buffer.from('not a model'), { mediaType: 'application/x-onnx' });
  await assert.rejects(callUnary(client, client.prepare, { model: junk, modelName: '' }), status(grpc.status.INVALID_ARGUMENT, /ONNX/));
  await assert.rejects(callUnary(client, client.analyze, {}), status(grpc.status.INVALID_ARGUMENT, /model artifact is required/));
  const unk = buildModel({ nodes: [{ op: 'Mystery', in: ['x'], out: ['y'], name: 'm0' }] });
  const uref = await runtime.artifacts.put(Buffer.from(encodeModel(unk)), { mediaType: 'application/x-onnx' });
  await assert.rejects(callUnary(client, client.analyze, { model: uref }), status(grpc.status.INVALID_ARGUMENT, /m0.*Mystery/));
});

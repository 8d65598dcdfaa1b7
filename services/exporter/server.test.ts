/** Export and Compare over a real socket, and the status of bad requests. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { callUnary, createClient } from '../core/grpc/client.js';
import { encodeModel } from '../core/onnx/index.js';
import { CompareRequest, ExportRequest, ExporterServiceClient } from '../../gen/modelopt/v1/exporter.js';
import { quantizeModel } from '../quantizer/quantize.js';
import { calibrate, loadFeeds, loadPrepared, preparedModelPath } from '../../test/helpers/ort-calib.js';
import { dataPath } from '../../test/helpers/shared.js';
import { startService, grpcStatus } from '../../test/helpers/service-harness.js';
import { exporterService } from './server.js';

const svc = await startService('exporter', exporterService, ExporterServiceClient);
const { client, runtime } = svc;
after(() => svc.close());

const status = grpcStatus;

async function quantizedMnist() {
  const model = loadPrepared('mnist8');
  const table = await calibrate(model, loadFeeds('mnist8', 'calib', 8), 'minmax');
  await quantizeModel({ model, options: { quantizeMode: 'int8' }, analysis: { quantizableNodes: ['Convolution28', 'Pooling66', 'Convolution110', 'Pooling160', 'Times212'], noQuantizeEdges: [], decisions: [], tensorsToCalibrate: [], opTypeCounts: {} }, calibration: table });
  return runtime.artifacts.put(Buffer.from(encodeModel(model)), { mediaType: 'application/x-onnx' });
}

test('Export writes the model (and external data when asked), runs the checker and summarises', async () => {
  const ref = await quantizedMnist();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x-out-'));
  const out = path.join(dir, 'mnist8.quant.onnx');
  const r = await callUnary(client, client.export, ExportRequest.fromPartial({ model: ref, outputPath: out, useExternalDataFormat: true }));
  assert.ok(r.checker!.passed);
  assert.equal(r.written.length, 2);
  assert.ok(fs.existsSync(out) && fs.existsSync(`${out}_data`));
  assert.equal(r.summary!.quantizedNodes, 5);
  assert.equal(r.summary!.irVersion, 9);
  assert.equal(r.summary!.opset, 13);
  assert.deepEqual(r.summary!.quantizedByOpType.map((c) => `${c.opType}:${c.count}`).sort(), ['Conv:2', 'MatMul:1', 'MaxPool:2']);
  const inline = await callUnary(client, client.export, ExportRequest.fromPartial({ model: ref }));
  assert.equal(inline.written.length, 1);
});

test('Compare reports cosine, SNR, errors and top-1 on the evaluation npz', async () => {
  const quantized = await quantizedMnist();
  const original = await runtime.artifacts.putFile(preparedModelPath('mnist8'));
  const evalData = await runtime.artifacts.putFile(dataPath('mnist8', 'eval'));
  const r = await callUnary(client, client.compare, CompareRequest.fromPartial({ original, quantized, evalData, maxBatches: 16 }));
  assert.equal(r.batches, 16);
  const o = r.outputs[0]!;
  assert.ok(o.cosine > 0.99 && o.cosine <= 1, `cosine ${o.cosine}`);
  assert.ok(o.snrDb > 20);
  assert.ok(o.maxAbsError > 0);
  assert.ok(o.top1Agreement !== undefined && o.top1Agreement >= 0.9);
});

test('bad requests are INVALID_ARGUMENT naming the problem', async () => {
  await assert.rejects(callUnary(client, client.export, ExportRequest.fromPartial({})), status(grpc.status.INVALID_ARGUMENT, /model/));
  const quantized = await quantizedMnist();
  await assert.rejects(callUnary(client, client.compare, CompareRequest.fromPartial({ quantized })), status(grpc.status.INVALID_ARGUMENT, /original/));
  const original = await runtime.artifacts.putFile(preparedModelPath('mnist8'));
  const wrongData = await runtime.artifacts.putFile(dataPath('ppocr_cls', 'eval'));
  await assert.rejects(callUnary(client, client.compare, CompareRequest.fromPartial({ original, quantized, evalData: wrongData })), status(grpc.status.INVALID_ARGUMENT, /Input3/));
  await assert.rejects(callUnary(client, client.export, ExportRequest.fromPartial({ model: quantized, outputPath: '/nonexistent-dir/x.onnx' })), status(grpc.status.INVALID_ARGUMENT, /does not exist/));
});

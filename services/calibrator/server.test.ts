/** Calibrate, MergeHistograms and CaptureActivations over a real socket, and the status of bad requests. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { callServerStream, callUnary } from '../core/grpc/client.js';
import { decodeTensorBundle } from '../core/tensor-bundle.js';
import { CalibrateRequest, CalibrationOptions, CaptureActivationsRequest, CalibratorServiceClient, HistogramRange, type CalibrateResponse, type CalibrateResult, type CaptureActivationsResponse } from '../../gen/modelopt/v1/calibrator.js';
import { CalibrationMethod, QuantizeMode } from '../../gen/modelopt/v1/common.js';
import { dataPath, modelPath } from '../../test/helpers/shared.js';
import { startService, grpcStatus } from '../../test/helpers/service-harness.js';
import { calibratorService } from './server.js';
import { calibrationSessions } from './session-cache.js';

const svc = await startService('calibrator', calibratorService, CalibratorServiceClient);
const { client, runtime } = svc;
after(() => svc.close());

const status = grpcStatus;

const model = await runtime.artifacts.putFile(modelPath('mnist8'), { mediaType: 'application/x-onnx' });
const data = await runtime.artifacts.putFile(dataPath('mnist8', 'calib'), { mediaType: 'application/x-npz' });
const tensors = ['Input3', 'Convolution28_Output_0', 'Plus214_Output_0'];

async function calibrateOnce(partial: Partial<CalibrateRequest>): Promise<{ progress: number; result: CalibrateResult }> {
  let progress = 0;
  let result: CalibrateResult | undefined;
  const req: CalibrateRequest = { ...CalibrateRequest.fromPartial({}), ...partial };
  for await (const m of callServerStream<CalibratorServiceClient, CalibrateRequest, CalibrateResponse>(client, client.calibrate, req)) {
    if (m.progress) progress++;
    if (m.result) result = m.result;
  }
  assert.ok(result, 'a result message');
  return { progress, result };
}

test('Calibrate streams progress per batch, then the table and mergeable statistics', async () => {
  const { progress, result } = await calibrateOnce({ model, tensorNames: tensors, method: CalibrationMethod.CALIBRATION_METHOD_ENTROPY, calibrationData: data } );
  assert.equal(progress, 64, 'one pass of 64 batches (default entropy needs only the global range)');
  const t = result.table!;
  assert.equal(t.numBatches, 64);
  assert.deepEqual(t.ranges.map((r) => r.tensor).sort(), [...tensors].sort());
  const input = t.ranges.find((r) => r.tensor === 'Input3')!;
  assert.ok(Math.abs(input.thresholdHigh / 127 - 0.007874015718698502) < 1e-7, 'Input3 scale as onnxruntime (entropy golden)');
  assert.equal(result.statistics!.tensors.length, 3);
  assert.equal(result.statistics!.tensors[0]!.histogram, undefined, 'no histogram: the single candidate window is the range');
  assert.ok(result.table!.notes.some((n) => /single candidate window/.test(n)), 'the table says so');
});

test('sharded Calibrate + MergeHistograms equals the unsharded table (global ranges shared)', async () => {
  const method = CalibrationMethod.CALIBRATION_METHOD_PERCENTILE;
  const whole = await calibrateOnce({ model, tensorNames: tensors, method, calibrationData: data } );
  const r1 = await Promise.all([[0, 30], [30, 64]].map(([a, b]) => calibrateOnce({ model, tensorNames: tensors, method, calibrationData: data, shardStart: a, shardEnd: b, rangesOnly: true } )));
  const ranges = await callUnary(client, client.mergeHistograms, { shards: r1.map((r) => r.result.statistics!) });
  assert.equal(ranges.table, undefined);
  const globalRanges = ranges.merged!.tensors.map((s) => ({ tensor: s.tensor, min: s.min, max: s.max, absMin: s.absMin }));
  const r2 = await Promise.all([[0, 30], [30, 64]].map(([a, b]) => calibrateOnce({ model, tensorNames: tensors, method, calibrationData: data, shardStart: a, shardEnd: b, globalRanges } )));
  const merged = await callUnary(client, client.mergeHistograms, { shards: r2.map((r) => r.result.statistics!) });
  const key = (t: typeof merged.table) => Object.fromEntries(t!.ranges.map((r) => [r.tensor, [r.min, r.max, r.thresholdLow, r.thresholdHigh]]));
  assert.deepEqual(key(merged.table), key(whole.result.table));
  assert.equal(merged.merged!.samples, 64);
});

test('Calibrate: FP8 mode uses distribution (scale set); streaming layout option is honoured', async () => {
  const fp8 = await calibrateOnce({ model, tensorNames: ['Plus214_Output_0'], quantizeMode: QuantizeMode.QUANTIZE_MODE_FP8, calibrationData: data } );
  assert.equal(fp8.result.table!.method, CalibrationMethod.CALIBRATION_METHOD_DISTRIBUTION);
  assert.ok(fp8.result.table!.ranges[0]!.scale > 0);
  const streaming = await calibrateOnce({ model, tensorNames: ['Plus214_Output_0'], method: CalibrationMethod.CALIBRATION_METHOD_ENTROPY, calibrationData: data, options: CalibrationOptions.fromPartial({ histogramRange: HistogramRange.HISTOGRAM_RANGE_STREAMING }) } );
  assert.equal(streaming.progress, 64, 'one pass');
});

test('bad requests map to INVALID_ARGUMENT', async () => {
  await assert.rejects(calibrateOnce({ model, tensorNames: ['no_such_tensor'], calibrationData: data } ), status(grpc.status.INVALID_ARGUMENT, /not in the graph/));
  await assert.rejects(calibrateOnce({ tensorNames: tensors } ), status(grpc.status.INVALID_ARGUMENT, /model artifact/));
  await assert.rejects(callUnary(client, client.mergeHistograms, { shards: [] }), status(grpc.status.INVALID_ARGUMENT, /no shards/));
});

test('CaptureActivations streams each activation and a tensor bundle artifact', async () => {
  const gpt2 = await runtime.artifacts.putFile(modelPath('gpt2_small'), { mediaType: 'application/x-onnx' });
  const ids = await runtime.artifacts.putFile(dataPath('gpt2_small', 'calib'), { mediaType: 'application/x-npz' });
  const t = '/m/transformer/h.0/mlp/c_fc/Reshape_output_0';
  const msgs: CaptureActivationsResponse[] = [];
  for await (const m of callServerStream<CalibratorServiceClient, CaptureActivationsRequest, CaptureActivationsResponse>(client, client.captureActivations, { model: gpt2, tensorNames: [t], calibrationData: ids, maxTokens: 0 } )) msgs.push(m);
  const chunk = msgs.find((m) => m.chunk)!.chunk!;
  assert.deepEqual(chunk.shape, [64, 256]);
  assert.equal(chunk.data.length, 64 * 256 * 4);
  const ref = msgs[msgs.length - 1]!.activations!;
  const bundle = decodeTensorBundle(await runtime.artifacts.get(ref));
  assert.deepEqual(bundle.map((b) => [b.name, b.shape]), [[t, [64, 256]]]);
  assert.ok(msgs.filter((m) => m.progress).length >= 32);
});

test('a second Calibrate of the same model, tensors and data runs in the session the first one built, with the same table', async () => {
  const sessions = calibrationSessions();
  const req = { model, tensorNames: tensors, method: CalibrationMethod.CALIBRATION_METHOD_MINMAX, calibrationData: data };
  const first = await calibrateOnce(req);
  const hits = sessions.hits;
  const second = await calibrateOnce(req);
  assert.equal(sessions.hits, hits + 1, 'the second job took the kept session');
  assert.deepEqual(second.result.table, first.result.table);
});

/** Quantize over a real socket: progress then one result, and the status of bad requests. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { callServerStream, createClient } from '../core/grpc/client.js';
import { calibrationTableToProto } from '../core/grpc/convert.js';
import { encodeTensorBundle } from '../core/tensor-bundle.js';
import { QuantizerServiceClient, type QuantizeResponse } from '../../gen/modelopt/v1/quantizer.js';
import { AnalyzeResponse } from '../../gen/modelopt/v1/graph_analyzer.js';
import { QuantizeConfig, QuantizeMode } from '../../gen/modelopt/v1/common.js';
import { decodeModel, Graph, type GraphProto } from '../core/onnx/index.js';
import { calibrate, captureActivations, loadFeeds, loadPrepared, preparedModelPath } from '../../test/helpers/ort-calib.js';
import { startService, grpcStatus } from '../../test/helpers/service-harness.js';
import { quantizerService } from './server.js';

const svc = await startService('quantizer', quantizerService, QuantizerServiceClient);
const { client, runtime } = svc;
after(() => svc.close());

async function collect(req: Parameters<typeof client.quantize>[0]): Promise<QuantizeResponse[]> {
  const out: QuantizeResponse[] = [];
  for await (const m of callServerStream(client, client.quantize, req)) out.push(m as QuantizeResponse);
  return out;
}

const MNIST_SELECTION = ['Convolution28', 'Pooling66', 'Convolution110', 'Pooling160', 'Times212'];

test('Quantize INT8 mnist8: streams progress, then the quantized model and its statistics', async () => {
  const model = await runtime.artifacts.putFile(preparedModelPath('mnist8'), { mediaType: 'application/x-onnx' });
  const table = await calibrate(loadPrepared('mnist8'), loadFeeds('mnist8', 'calib', 8), 'minmax');
  const msgs = await collect({
    model,
    config: QuantizeConfig.fromPartial({ quantizeMode: QuantizeMode.QUANTIZE_MODE_INT8 }),
    analysis: AnalyzeResponse.fromPartial({ selectedNodes: MNIST_SELECTION }),
    calibration: calibrationTableToProto(table),
  });
  assert.ok(msgs.length >= 2 && msgs.slice(0, -1).every((m) => m.progress));
  const result = msgs.at(-1)!.result!;
  assert.equal(result.stats!.quantizedNodes, 5);
  assert.equal(result.stats!.dequantizeLinearNodes, 8);
  const q = decodeModel(await runtime.artifacts.get(result.quantizedModel!));
  assert.ok(new Graph(q.graph as GraphProto).nodes.some((n) => n.name === 'Input3_QuantizeLinear'));
});

test('Quantize INT4 AWQ-clip takes captured activations as a tensor bundle artifact', async () => {
  const m = loadPrepared('gpt2_small');
  const inits = new Set(m.graph!.initializer.map((t) => t.name));
  const acts = [...new Set(m.graph!.node.filter((n) => (n.opType === 'Gemm' || n.opType === 'MatMul') && inits.has(n.input[1]!)).map((n) => n.input[0]!))];
  const captured = await captureActivations(m, loadFeeds('gpt2_small', 'calib', 2), acts);
  const bundle = await runtime.artifacts.put(encodeTensorBundle(captured.map((c) => ({ name: c.tensor, shape: c.shape, data: c.data }))));
  const model = await runtime.artifacts.putFile(preparedModelPath('gpt2_small'), { mediaType: 'application/x-onnx' });
  const msgs = await collect({ model, config: QuantizeConfig.fromPartial({ quantizeMode: QuantizeMode.QUANTIZE_MODE_INT4_AWQ_CLIP }), activations: bundle });
  const result = msgs.at(-1)!.result!;
  assert.equal(result.stats!.quantizedWeights, 17);
  assert.equal(result.stats!.quantizedNodes, 17);
});

test('bad requests: INVALID_ARGUMENT without a model, FAILED_PRECONDITION without a selection or AWQ activations', async () => {
  const status = (code: grpc.status, re: RegExp) => (err: unknown) => {
    const e = err as grpc.ServiceError;
    assert.equal(e.code, code, `expected ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`);
    assert.match(e.details, re);
    return true;
  };
  await assert.rejects(collect({ config: QuantizeConfig.fromPartial({}) }), status(grpc.status.INVALID_ARGUMENT, /model/));
  const model = await runtime.artifacts.putFile(preparedModelPath('mnist8'), { mediaType: 'application/x-onnx' });
  await assert.rejects(
    collect({ model, config: QuantizeConfig.fromPartial({ quantizeMode: QuantizeMode.QUANTIZE_MODE_INT8 }), analysis: AnalyzeResponse.fromPartial({ selectedNodes: [] }), calibration: calibrationTableToProto({ method: 'minmax', samples: 0, ranges: {} }) }),
    status(grpc.status.FAILED_PRECONDITION, /no node is selected/),
  );
  const gpt = await runtime.artifacts.putFile(preparedModelPath('gpt2_small'), { mediaType: 'application/x-onnx' });
  await assert.rejects(collect({ model: gpt, config: QuantizeConfig.fromPartial({ quantizeMode: QuantizeMode.QUANTIZE_MODE_INT4_AWQ_CLIP }) }), status(grpc.status.FAILED_PRECONDITION, /captured activation/));
});

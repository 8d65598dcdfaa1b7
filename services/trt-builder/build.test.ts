import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import ort from 'onnxruntime-node';
import { build } from './build.js';
import { capabilities } from './capabilities.js';
import {
  addEngineHeader, verifyEngineHeader, stripEngineHeader, referenceEngineHeader, ENGINE_HEADER_BYTES,
} from './engine-header.js';
import { FailedPrecondition, InvalidArgument } from '../core/errors.js';
import { modelPath } from '../../test/helpers/shared.js';

const MNIST = new Uint8Array(fs.readFileSync(modelPath('mnist8')));

test('capabilities: ORT available, TensorRT absent here, tables exposed', async () => {
  const caps = await capabilities();
  const ortCap = caps.runtimes.find((r) => r.runtime === 'ORT')!;
  const trtCap = caps.runtimes.find((r) => r.runtime === 'TRT')!;
  assert.equal(ortCap.available, true);
  assert.equal(caps.tensorrt.present, false);
  assert.equal(trtCap.available, false);
  assert.match(trtCap.reason, /TensorRT|native addon/);
  assert.deepEqual(trtCap.table.precision, ['fp32', 'fp16', 'fp8', 'int8', 'int4']);
  assert.equal(caps.onnxruntimeVersion, '1.30.0');
  assert.ok(caps.devices.length >= 1);
});

test('ORT build: header is SHA-256 of the optimised model, which loads and runs', async () => {
  const res = await build({ onnx: MNIST, deployment: { runtime: 'ORT', version: '1.16' } });
  assert.equal(res.deployment.accelerator, 'CPU');
  const body = res.engine.subarray(ENGINE_HEADER_BYTES);
  const expected = createHash('sha256').update(body).digest('hex');
  assert.equal(Buffer.from(res.engine.subarray(0, 32)).toString('hex'), expected);
  assert.equal(res.sha256, expected);
  const v = verifyEngineHeader(res.engine);
  assert.equal(v.sha256, expected);
  const stripped = stripEngineHeader(res.engine);
  assert.equal(stripped.length, res.engine.length - 32);
  const s = await ort.InferenceSession.create(stripped);
  const out = await s.run({ Input3: new ort.Tensor('float32', new Float32Array(784).fill(0.5), [1, 1, 28, 28]) });
  assert.equal(out['Plus214_Output_0']!.dims.join('x'), '1x10');
  await s.release();
});

test('ORT build: bad ONNX bytes → InvalidArgument', async () => {
  await assert.rejects(build({ onnx: new Uint8Array([1, 2, 3, 4]), deployment: { runtime: 'ORT', version: '1.16' } }), InvalidArgument);
  await assert.rejects(build({ onnx: MNIST, deployment: { runtime: 'ORT' } }), InvalidArgument);
});

test('TRT build where TensorRT is absent → FailedPrecondition saying so', async () => {
  await assert.rejects(
    build({ onnx: MNIST, deployment: { runtime: 'TRT', version: '10.0', precision: 'fp16' } }),
    (err: unknown) => err instanceof FailedPrecondition && /TensorRT is not available/.test(err.message),
  );
});

test('TRT int8/fp8/int4 on a model without Q/DQ → InvalidArgument (no implicit calibration)', async () => {
  for (const precision of ['int8', 'fp8', 'int4']) {
    await assert.rejects(
      build({ onnx: MNIST, deployment: { runtime: 'TRT', version: '10.0', precision } }),
      (err: unknown) => err instanceof InvalidArgument && /explicitly quantized/.test(err.message),
    );
  }
});

test('tampered engine: header mismatch → InvalidArgument', async () => {
  const res = await build({ onnx: MNIST, deployment: { runtime: 'ORT', version: '1.16' } });
  const tampered = new Uint8Array(res.engine);
  tampered[tampered.length - 7]! ^= 0x01;
  assert.throws(() => verifyEngineHeader(tampered), (e: unknown) => e instanceof InvalidArgument && /mismatch/.test(e.message));
  const badHeader = new Uint8Array(res.engine);
  badHeader[0]! ^= 0xff;
  assert.throws(() => stripEngineHeader(badHeader), InvalidArgument);
  assert.throws(() => verifyEngineHeader(new Uint8Array(32)), (e: unknown) => e instanceof InvalidArgument && /too short/.test(e.message));
});

test('compatibility: the reference hashes the engine twice; we hash once and recognise theirs', () => {
  const engine = new TextEncoder().encode('pretend engine bytes');
  const ours = addEngineHeader(engine).subarray(0, 32);
  const theirs = referenceEngineHeader(engine);
  assert.equal(Buffer.from(ours).toString('hex'), createHash('sha256').update(engine).digest('hex'));
  assert.equal(Buffer.from(theirs).toString('hex'), createHash('sha256').update(Buffer.concat([engine, engine])).digest('hex'));
  assert.notDeepEqual(ours, theirs);
  const refHashed = new Uint8Array(32 + engine.length);
  refHashed.set(theirs, 0);
  refHashed.set(engine, 32);
  assert.throws(() => verifyEngineHeader(refHashed), (e: unknown) => e instanceof InvalidArgument && /double-fed/.test(e.message));
});

test('engine layers: ORT build lists optimised nodes; inspector JSON parses both verbosities', async () => {
  const res = await build({ onnx: MNIST, deployment: { runtime: 'ORT', version: '1.16' } });
  assert.ok(res.layers.length > 0);
  assert.ok(res.layers.some((l) => /Conv/.test(l.layerType)), res.layers.map((l) => l.layerType).join(','));
  const { layersFromInspectorJson } = await import('./layers.js');
  const detailed = layersFromInspectorJson(JSON.stringify({
    Layers: [{ Name: '/conv1/Conv + /relu/Relu', LayerType: 'CaskConvolution', Outputs: [{ Name: 'x', 'Format/Datatype': 'Channel major FP16 format' }] }],
    Bindings: ['input', 'output'],
  }));
  assert.deepEqual(detailed.map((l) => [l.name, l.layerType, l.precision]), [['/conv1/Conv + /relu/Relu', 'CaskConvolution', 'Channel major FP16 format']]);
  assert.deepEqual(layersFromInspectorJson('{"Layers":["a","b"]}').map((l) => l.name), ['a', 'b']);
  assert.deepEqual(layersFromInspectorJson('not json'), []);
});

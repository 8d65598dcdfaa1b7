/**
 * trt-builder and profiler over real sockets: Capabilities, Build (stream), Profile, ParseTrtexecLog,
 * MapTrtLayers, and the statuses of bad requests.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createServer, type RunningServer } from '../../services/core/grpc/server.js';
import { callUnary, callServerStream, createClient } from '../../services/core/grpc/client.js';
import { defaultConfig } from '../../services/core/config.js';
import { silentLogger } from '../../services/core/logging.js';
import { createRuntime } from '../../services/core/runtime.js';
import { trtBuilderService } from '../../services/trt-builder/server.js';
import { profilerService } from '../../services/profiler/server.js';
import { TrtBuilderServiceClient, type BuildResponse } from '../../gen/modelopt/v1/trt_builder.js';
import { ProfilerServiceClient, TrtexecLogKind } from '../../gen/modelopt/v1/profiler.js';
import { verifyEngineHeader, addEngineHeader } from '../../services/core/engine/header.js';
import { modelPath } from '../helpers/shared.js';

const fixtures = new URL('../fixtures/trtexec/', import.meta.url);
const storeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'trt-prof-grpc-'));
const runtime = await createRuntime({ storeRoot });
const deps = { config: defaultConfig(), logger: silentLogger(), runtime };
const builderSrv: RunningServer = await createServer({ name: 'trt-builder', port: 0, host: '127.0.0.1', services: [trtBuilderService(deps)] });
const profilerSrv: RunningServer = await createServer({ name: 'profiler', port: 0, host: '127.0.0.1', services: [profilerService(deps)] });
const builder = createClient(TrtBuilderServiceClient, builderSrv.address);
const profiler = createClient(ProfilerServiceClient, profilerSrv.address);
after(async () => {
  builder.close();
  profiler.close();
  await builderSrv.shutdown();
  await profilerSrv.shutdown();
  await runtime.close();
  fs.rmSync(storeRoot, { recursive: true, force: true });
});

const mnist = await runtime.artifacts.putFile(modelPath('mnist8'), { mediaType: 'application/x-onnx' });

function status(code: grpc.status, re?: RegExp) {
  return (err: unknown) => {
    const e = err as grpc.ServiceError;
    assert.equal(e.code, code, `expected ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`);
    if (re) assert.match(e.details, re);
    assert.ok(!/\n\s+at /.test(e.details), 'no stack trace in details');
    return true;
  };
}

async function collect(it: AsyncIterable<BuildResponse>): Promise<BuildResponse[]> {
  const out: BuildResponse[] = [];
  for await (const m of it) out.push(m);
  return out;
}

test('Capabilities: ORT and TRT runtimes in the table, no TensorRT here', async () => {
  const caps = await callUnary(builder, builder.capabilities, {});
  assert.equal(caps.cpu, true);
  assert.equal(caps.tensorrt, false);
  assert.equal(caps.tensorrtVersion, '');
  assert.deepEqual(caps.runtimes, ['ORT', 'TRT']);
  assert.ok(caps.devices.length >= 1 && caps.devices[0]!.totalMemoryBytes > 0);
});

test('Build ORT → engine artifact with a valid header; Profile it; tampered engine rejected', async () => {
  const msgs = await collect(callServerStream(builder, builder.build, { model: mnist, deployment: { runtime: 'ORT', version: '1.16' } }));
  assert.ok(msgs.filter((m) => m.progress).length >= 2, 'progress before the result');
  const last = msgs[msgs.length - 1]!;
  assert.ok(last.result && last.result.engine, 'one result at the end');
  const res = last.result!;
  assert.ok(res.layers.length > 0);
  assert.ok(res.buildSeconds > 0);
  assert.match(res.buildLog, /graphOptimizationLevel=all/);
  const engineBytes = await runtime.artifacts.get(res.engine!);
  assert.equal(verifyEngineHeader(engineBytes).engine.length, engineBytes.length - 32);

  const prof = await callUnary(profiler, profiler.profile, { engine: res.engine, deployment: {}, layerwise: true, nodeNames: [] });
  const l = prof.latency!;
  assert.equal(prof.runtime, 'ORT');
  assert.ok(l.minMs > 0 && l.minMs <= l.medianMs && l.medianMs <= l.p99Ms && l.p99Ms <= l.maxMs, JSON.stringify(l));
  assert.ok(l.iterations >= 10 && l.throughput > 0);
  assert.ok(prof.nodeTimes.length > 0 && prof.opTypeTimes.length > 0);
  assert.ok(prof.rawProfile && prof.rawProfile.sizeBytes > 0);
  const trace = JSON.parse((await runtime.artifacts.get(prof.rawProfile)).toString('utf8')) as Array<{ name?: string }>;
  assert.ok(trace.some((e) => e.name === 'model_run'));

  const tampered = Buffer.from(engineBytes);
  tampered[tampered.length - 3]! ^= 0x10;
  const bad = await runtime.artifacts.put(tampered);
  await assert.rejects(callUnary(profiler, profiler.profile, { engine: bad, deployment: {}, layerwise: false, nodeNames: [] }), status(grpc.status.INVALID_ARGUMENT, /SHA-256 header mismatch/));
});

test('Build: TRT without TensorRT → FAILED_PRECONDITION; bad deployment → INVALID_ARGUMENT', async () => {
  await assert.rejects(
    collect(callServerStream(builder, builder.build, { model: mnist, deployment: { runtime: 'TRT', version: '10.0', precision: 'fp16' } })),
    status(grpc.status.FAILED_PRECONDITION, /TensorRT is not available/),
  );
  await assert.rejects(
    collect(callServerStream(builder, builder.build, { model: mnist, deployment: { runtime: 'ORT', version: '1.16', batch: '8' } })),
    status(grpc.status.INVALID_ARGUMENT, /unknown key\(s\) "batch"/),
  );
  await assert.rejects(
    collect(callServerStream(builder, builder.build, { model: mnist, deployment: { runtime: 'TRT' } })),
    status(grpc.status.INVALID_ARGUMENT, /"version" must be provided/),
  );
  await assert.rejects(
    callUnary(profiler, profiler.profile, { model: mnist, deployment: { runtime: 'TRT', version: '10.0' }, layerwise: false, nodeNames: [] }),
    status(grpc.status.INVALID_ARGUMENT, /profiles an `engine`/),
  );
  const fakeEngine = await runtime.artifacts.put(addEngineHeader(new TextEncoder().encode('engine')));
  const savedPath = process.env['PATH'];
  process.env['PATH'] = '/nonexistent';
  try {
    await assert.rejects(
      callUnary(profiler, profiler.profile, { engine: fakeEngine, deployment: { runtime: 'TRT', version: '10.0' }, layerwise: false, nodeNames: [] }),
      status(grpc.status.FAILED_PRECONDITION, /needs trtexec/),
    );
  } finally {
    process.env['PATH'] = savedPath;
  }
});

test('ParseTrtexecLog: profile and build fixtures; not a log → INVALID_ARGUMENT', async () => {
  const profileLog = fs.readFileSync(new URL('profile.log', fixtures));
  const p = await callUnary(profiler, profiler.parseTrtexecLog, { log: profileLog, kind: TrtexecLogKind.TRTEXEC_LOG_KIND_PROFILE });
  assert.equal(p.latencyMs, 1.23112);
  assert.equal(p.numbers['Throughput'], 805.243);
  assert.equal(p.numbers['SMs'], 132);
  assert.equal(p.lists['GPU Compute Time']!.p99Ms, 1.03526);
  assert.deepEqual(p.sections.map((s) => s.name), ['Performance summary', 'Inference Options', 'Device Information']);
  const b = await callUnary(profiler, profiler.parseTrtexecLog, { log: fs.readFileSync(new URL('build.log', fixtures)), kind: TrtexecLogKind.TRTEXEC_LOG_KIND_BUILD });
  assert.equal(b.sections[0]!.fields['Format'], 'ONNX');
  await assert.rejects(
    callUnary(profiler, profiler.parseTrtexecLog, { log: Buffer.from('hello'), kind: TrtexecLogKind.TRTEXEC_LOG_KIND_PROFILE }),
    status(grpc.status.INVALID_ARGUMENT, /not a trtexec profiling log/),
  );
  await assert.rejects(
    callUnary(profiler, profiler.parseTrtexecLog, { log: profileLog, kind: TrtexecLogKind.TRTEXEC_LOG_KIND_UNSPECIFIED }),
    status(grpc.status.INVALID_ARGUMENT, /kind must be/),
  );
});

test('MapTrtLayers over gRPC; wrong JSON shape → INVALID_ARGUMENT', async () => {
  const r = await callUnary(profiler, profiler.mapTrtLayers, {
    profileJson: fs.readFileSync(new URL('profile.json', fixtures)),
    onnxNodeNames: ['/conv1/Conv', '/relu/Relu', '/maxpool/MaxPool', '/layer1/layer1.0/conv1/Conv', '/layer1/layer1.0/relu/Relu', '/fc/Gemm'],
  });
  assert.ok(r.nodeTimes.some((n) => n.node === 'other') && r.nodeTimes.some((n) => n.node === 'output_data'));
  const byNode = new Map(r.nodeTimes.map((n) => [n.node, n.ms]));
  assert.ok(Math.abs(byNode.get('/conv1/Conv + /relu/Relu')! - 0.0399) < 1e-9);
  assert.ok(Math.abs(byNode.get('/fc/Gemm')! - 0.009) < 1e-9);
  await assert.rejects(
    callUnary(profiler, profiler.mapTrtLayers, { profileJson: Buffer.from('{"a":1}'), onnxNodeNames: [] }),
    status(grpc.status.INVALID_ARGUMENT, /expected a JSON array/),
  );
});

/**
 * The six services over real sockets: health checking, UNIMPLEMENTED answers, reflection.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createServer, type RunningServer } from '../../services/core/grpc/server.js';
import { callUnary, callServerStream, callClientStream, checkHealth, createClient } from '../../services/core/grpc/client.js';
import { HealthClient, ServingStatus } from '../../services/core/grpc/health.js';
import { defaultConfig } from '../../services/core/config.js';
import { silentLogger } from '../../services/core/logging.js';
import { SERVICES } from '../../services/cli/service-table.js';
import { GraphAnalyzerServiceClient, GraphAnalyzerServiceService } from '../../gen/modelopt/v1/graph_analyzer.js';
import { defineService, unimplemented } from '../../services/core/grpc/handlers.js';
import { CalibratorServiceClient } from '../../gen/modelopt/v1/calibrator.js';
import { QuantizerServiceClient, QuantizeRequest } from '../../gen/modelopt/v1/quantizer.js';
import { ExporterServiceClient } from '../../gen/modelopt/v1/exporter.js';
import { TrtBuilderServiceClient } from '../../gen/modelopt/v1/trt_builder.js';
import { ProfilerServiceClient } from '../../gen/modelopt/v1/profiler.js';
import { ArtifactServiceClient } from '../../gen/modelopt/v1/artifacts.js';
import { artifactService } from '../../services/core/grpc/artifact-service.js';
import { createRuntime } from '../../services/core/runtime.js';
import fs from 'node:fs';
import os from 'node:os';

const storeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'grpc-services-'));
const runtime = await createRuntime({ storeRoot });
const deps = { config: defaultConfig(), logger: silentLogger(), runtime };
const servers: RunningServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.shutdown()));
  await runtime.close();
  fs.rmSync(storeRoot, { recursive: true, force: true });
});

async function start(entry: (typeof SERVICES)[number]): Promise<RunningServer> {
  const srv = await createServer({ name: entry.name, port: 0, host: '127.0.0.1', services: [entry.create(deps)] });
  servers.push(srv);
  return srv;
}

function grpcCode(err: unknown): number {
  assert.ok(err && typeof (err as { code?: unknown }).code === 'number', `expected a gRPC error, got ${String(err)}`);
  return (err as grpc.ServiceError).code;
}

for (const entry of SERVICES) {
  test(`${entry.name}: starts on a free port and answers the standard health check with SERVING`, async () => {
    const srv = await start(entry);
    assert.ok(srv.port > 0);
    assert.deepEqual(srv.serviceNames, [entry.grpcName]);
    assert.equal(await checkHealth(srv.address, entry.grpcName), ServingStatus.SERVING);
    assert.equal(await checkHealth(srv.address, ''), ServingStatus.SERVING);
    // A name that is not hosted: NOT_FOUND, as the health protocol says.
    await assert.rejects(checkHealth(srv.address, 'modelopt.v1.NoSuchService'), (e) => grpcCode(e) === grpc.status.NOT_FOUND);
    // Shutting down flips to NOT_SERVING before the port closes (observed through Watch).
    const client = createClient(HealthClient, srv.address);
    const seen: ServingStatus[] = [];
    const watching = (async () => {
      for await (const m of callServerStream(client, client.watch, { service: entry.grpcName })) seen.push(m.status);
    })();
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 10));
    await srv.shutdown('test');
    await watching;
    client.close();
    assert.deepEqual(seen, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  });
}

test('every RPC answers an empty/minimal request with a clean status: OK, UNIMPLEMENTED (unwired) or a domain code with a reason, never UNKNOWN or a stack', async () => {
  const byName = new Map<string, RunningServer>();
  for (const e of SERVICES) byName.set(e.name, await start(e));
  const addr = (n: string): string => byName.get(n)!.address;
  const CLEAN = new Set([grpc.status.UNIMPLEMENTED, grpc.status.INVALID_ARGUMENT, grpc.status.FAILED_PRECONDITION, grpc.status.NOT_FOUND]);
  const outcomes: Record<string, string> = {};
  const expectClean = async (label: string, p: Promise<unknown>): Promise<void> => {
    try {
      await p;
      outcomes[label] = 'OK';
    } catch (err) {
      const e = err as grpc.ServiceError;
      assert.ok(CLEAN.has(e.code), `${label}: unexpected status ${e.code} ${e.details}`);
      assert.ok(e.details.length > 0, `${label}: empty reason`);
      assert.doesNotMatch(e.details, /\n\s+at /, `${label}: stack trace in status details`);
      if (e.code === grpc.status.UNIMPLEMENTED) assert.match(e.details, /not (implemented|wired)/, label);
      outcomes[label] = grpc.status[e.code]!;
    }
  };
  const drain = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
    const out: T[] = [];
    for await (const m of it) out.push(m);
    return out;
  };
  const ga = createClient(GraphAnalyzerServiceClient, addr('graph-analyzer'));
  await expectClean('Prepare', callUnary(ga, ga.prepare, { model: undefined, config: undefined, modelName: '' }));
  await expectClean('Analyze', callUnary(ga, ga.analyze, { model: undefined, config: undefined }));
  const cal = createClient(CalibratorServiceClient, addr('calibrator'));
  await expectClean('Calibrate', drain(callServerStream(cal, cal.calibrate, { tensorNames: ['x'], method: 0, shardStart: 0, shardEnd: 0, quantizeMode: 0, rangesOnly: false, globalRanges: [] })));
  await expectClean('MergeHistograms', callUnary(cal, cal.mergeHistograms, { shards: [] }));
  await expectClean('CaptureActivations', drain(callServerStream(cal, cal.captureActivations, { tensorNames: [], maxTokens: 0 })));
  const q = createClient(QuantizerServiceClient, addr('quantizer'));
  await expectClean('Quantize', drain(callServerStream(q, q.quantize, QuantizeRequest.fromPartial({}))));
  const ex = createClient(ExporterServiceClient, addr('exporter'));
  await expectClean('Export', callUnary(ex, ex.export, { outputPath: '', useExternalDataFormat: false }));
  await expectClean('Compare', callUnary(ex, ex.compare, { maxBatches: 0 }));
  const trt = createClient(TrtBuilderServiceClient, addr('trt-builder'));
  await expectClean('Capabilities', callUnary(trt, trt.capabilities, {}));
  await expectClean('Build', drain(callServerStream(trt, trt.build, { deployment: { runtime: 'ORT' } })));
  const prof = createClient(ProfilerServiceClient, addr('profiler'));
  await expectClean('Profile', callUnary(prof, prof.profile, { deployment: {}, layerwise: false, nodeNames: [] }));
  await expectClean('ParseTrtexecLog', callUnary(prof, prof.parseTrtexecLog, { log: Buffer.from('x'), kind: 1 }));
  await expectClean('MapTrtLayers', callUnary(prof, prof.mapTrtLayers, { profileJson: Buffer.from('[]'), onnxNodeNames: [] }));
  for (const c of [ga, cal, q, ex, trt, prof]) c.close();
  assert.equal(Object.keys(outcomes).length, 13);
  // Requests that can never be valid must not succeed: no model reference.
  for (const label of ['Prepare', 'Analyze', 'Quantize', 'Export', 'Compare']) assert.notEqual(outcomes[label], 'OK', `${label} accepted a request without a model`);
});

test('an unimplemented RPC answers UNIMPLEMENTED with its message', async () => {
  const srv = await createServer({
    name: 'unimpl',
    port: 0,
    host: '127.0.0.1',
    services: [
      defineService(GraphAnalyzerServiceService, {
        prepare: unimplemented('GraphAnalyzer.Prepare is not implemented yet'),
        analyze: unimplemented('GraphAnalyzer.Analyze is not implemented yet'),
      }),
    ],
  });
  servers.push(srv);
  const ga = createClient(GraphAnalyzerServiceClient, srv.address);
  await assert.rejects(callUnary(ga, ga.analyze, { model: undefined, config: undefined }), (e: grpc.ServiceError) => {
    assert.equal(e.code, grpc.status.UNIMPLEMENTED);
    assert.equal(e.details, 'GraphAnalyzer.Analyze is not implemented yet');
    return true;
  });
  // A method the server does not know at all is UNIMPLEMENTED too (grpc-js default).
  const cal = createClient(CalibratorServiceClient, srv.address);
  await assert.rejects(callUnary(cal, cal.mergeHistograms, { shards: [] }), (e: grpc.ServiceError) => e.code === grpc.status.UNIMPLEMENTED);
  ga.close();
  cal.close();
});

test('ArtifactService (client-streaming Upload, server-streaming Download) answers UNIMPLEMENTED until a store is wired', async () => {
  const srv = await createServer({ name: 'artifacts', port: 0, host: '127.0.0.1', services: [artifactService()] });
  servers.push(srv);
  const c = createClient(ArtifactServiceClient, srv.address);
  await assert.rejects(
    callClientStream(c, c.upload, [{ header: { name: 'm.onnx', mediaType: 'application/onnx', sizeBytes: 3, sha256: '' } }, { chunk: Buffer.from('abc') }]),
    (e: grpc.ServiceError) => e.code === grpc.status.UNIMPLEMENTED && /store/.test(e.details),
  );
  await assert.rejects(
    (async () => {
      for await (const _ of callServerStream(c, c.download, { chunkSize: 0 })) void _;
    })(),
    (e: grpc.ServiceError) => e.code === grpc.status.UNIMPLEMENTED,
  );
  c.close();
});

test('reflection lists the hosted service and the health service', async () => {
  const srv = await start(SERVICES.find((s) => s.name === 'calibrator')!);
  const require = createRequire(import.meta.url);
  const reflDir = path.join(path.dirname(require.resolve('@grpc/reflection')), '..', 'proto');
  const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [reflDir], keepCase: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<object, { list_services_response?: { service: { name: string }[] }; file_descriptor_response?: { file_descriptor_proto: Buffer[] } }> } } } };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(srv.address, grpc.credentials.createInsecure());
  const call = client.ServerReflectionInfo();
  const replies: { list_services_response?: { service: { name: string }[] }; file_descriptor_response?: { file_descriptor_proto: Buffer[] } }[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (m) => replies.push(m));
    call.on('end', resolve);
    call.on('error', reject);
  });
  call.write({ list_services: '' });
  call.write({ file_containing_symbol: 'modelopt.v1.CalibratorService' });
  call.end();
  await done;
  client.close();
  const names = replies[0]!.list_services_response!.service.map((s) => s.name).sort();
  assert.deepEqual(names, ['grpc.health.v1.Health', 'modelopt.v1.CalibratorService']);
  assert.ok(replies[1]!.file_descriptor_response!.file_descriptor_proto.length >= 1, 'descriptor for CalibratorService');
});

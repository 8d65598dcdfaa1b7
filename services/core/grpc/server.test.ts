/**
 * The server kit over real sockets: error mapping, deadlines, cancellation, message limits,
 * metrics, graceful and forced shutdown, client helpers.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { createServer, type RunningServer } from './server.js';
import { defineService, unary, serverStream, clientStream, unimplemented, type CallContext } from './handlers.js';
import { callUnary, callServerStream, callClientStream, createClient } from './client.js';
import { ERROR_CLASS_KEY } from './status.js';
import { FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted, Internal, Unimplemented, DeadlineExceeded, Cancelled } from '../errors.js';
import { createMetrics } from '../metrics.js';
import { ProfilerServiceClient, ProfilerServiceService, type ParseTrtexecLogRequest } from '../../../gen/modelopt/v1/profiler.js';
import { CalibratorServiceClient, CalibratorServiceService, type CalibrateResponse } from '../../../gen/modelopt/v1/calibrator.js';
import { ArtifactServiceClient, ArtifactServiceService } from '../../../gen/modelopt/v1/artifacts.js';

const servers: RunningServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.shutdown()));
});

/** Errors thrown by domain code, selected by the request's log text. */
function throwFor(req: ParseTrtexecLogRequest): never {
  const what = req.log.toString();
  switch (what) {
    case 'invalid':
      throw new InvalidArgument('quantize_mode "int3" is not one of int8|fp8|int4_*');
    case 'precondition':
      throw new FailedPrecondition('TensorRT is not available on this node');
    case 'notfound':
      throw new NotFound('artifact file:///x.onnx does not exist');
    case 'exhausted':
      throw new ResourceExhausted('calibration would need 90 GiB');
    case 'unimplemented':
      throw new Unimplemented('INT2 is not supported');
    case 'internal':
      throw new Internal('histogram totals disagree');
    default:
      throw new TypeError(`boom ${what}\n    at secret (/src/file.ts:1:1)`);
  }
}

const observed: { reason?: unknown; at?: number } = {};
const metrics = createMetrics({ defaultMetrics: false });

async function waitAborted(ctx: CallContext, maxMs: number): Promise<void> {
  await sleep(maxMs, undefined, { signal: ctx.signal }).catch(() => undefined);
  observed.reason = ctx.signal.reason;
  observed.at = Date.now();
  ctx.throwIfAborted();
}

const profiler = defineService(ProfilerServiceService, {
  profile: unary(async (_req, ctx) => {
    await waitAborted(ctx, 20_000);
    return { nodeTimes: [], opTypeTimes: [], runtime: 'never' };
  }),
  parseTrtexecLog: unary((req) => throwFor(req)),
  mapTrtLayers: unary((req) => ({ nodeTimes: req.onnxNodeNames.map((node, i) => ({ node, ms: i + req.profileJson.length, opType: '' })) })),
});

let streamStarted = 0;
const calibrator = defineService(CalibratorServiceService, {
  calibrate: serverStream(async function* (req, ctx) {
    streamStarted++;
    for (let i = 0; i < req.tensorNames.length; i++) {
      yield { progress: { fraction: (i + 1) / req.tensorNames.length, message: req.tensorNames[i]!, done: i + 1, total: req.tensorNames.length } };
      if (req.tensorNames[i] === 'slow') await waitAborted(ctx, 20_000);
    }
    if (req.tensorNames.includes('fail')) throw new InvalidArgument('tensor "fail" is not in the graph');
    yield { result: { table: { method: req.method, ranges: [], numBatches: 3, notes: [] } } };
  }),
  mergeHistograms: unary((req) => ({ table: { method: 0, ranges: [], numBatches: req.shards.length, notes: [] } })),
  captureActivations: unimplemented('not here'),
});

const artifacts = defineService(ArtifactServiceService, {
  upload: clientStream(async (reqs) => {
    let name = '';
    let size = 0;
    for await (const r of reqs) {
      if (r.header) name = r.header.name;
      if (r.chunk) size += r.chunk.length;
    }
    return { ref: { uri: `mem://${name}`, sha256: '', sizeBytes: size, mediaType: 'application/octet-stream' } };
  }),
  download: unimplemented('no store'),
});

async function startKit(maxMessageBytes?: number): Promise<RunningServer> {
  const srv = await createServer({ name: 'kit-test', port: 0, host: '127.0.0.1', services: [profiler, calibrator, artifacts], metrics, maxMessageBytes });
  servers.push(srv);
  return srv;
}

test('domain errors map to their status codes with the message as reason; unexpected errors become INTERNAL without a stack', async () => {
  const srv = await startKit();
  const c = createClient(ProfilerServiceClient, srv.address);
  const cases: [string, grpc.status, string][] = [
    ['invalid', grpc.status.INVALID_ARGUMENT, 'InvalidArgument'],
    ['precondition', grpc.status.FAILED_PRECONDITION, 'FailedPrecondition'],
    ['notfound', grpc.status.NOT_FOUND, 'NotFound'],
    ['exhausted', grpc.status.RESOURCE_EXHAUSTED, 'ResourceExhausted'],
    ['unimplemented', grpc.status.UNIMPLEMENTED, 'Unimplemented'],
    ['internal', grpc.status.INTERNAL, 'Internal'],
  ];
  for (const [what, code, cls] of cases) {
    await assert.rejects(callUnary(c, c.parseTrtexecLog, { log: Buffer.from(what), kind: 0 }), (e: grpc.ServiceError) => {
      assert.equal(e.code, code, what);
      assert.equal(e.metadata.get(ERROR_CLASS_KEY)[0], cls);
      return true;
    });
  }
  await assert.rejects(callUnary(c, c.parseTrtexecLog, { log: Buffer.from('invalid'), kind: 0 }), (e: grpc.ServiceError) => {
    assert.equal(e.details, 'quantize_mode "int3" is not one of int8|fp8|int4_*');
    return true;
  });
  await assert.rejects(callUnary(c, c.parseTrtexecLog, { log: Buffer.from('other'), kind: 0 }), (e: grpc.ServiceError) => {
    assert.equal(e.code, grpc.status.INTERNAL);
    assert.match(e.details, /^ProfilerService\/ParseTrtexecLog failed: boom other$/);
    assert.doesNotMatch(e.details, /secret|file\.ts/);
    return true;
  });
  // A good call still works and round-trips bytes and repeated fields.
  const res = await callUnary(c, c.mapTrtLayers, { profileJson: Buffer.from('[1]'), onnxNodeNames: ['a', 'b'] });
  assert.deepEqual(res.nodeTimes, [{ node: 'a', ms: 3, opType: '' }, { node: 'b', ms: 4, opType: '' }]);
  c.close();
  const text = await metrics.registry.metrics();
  assert.match(text, /modelopt_grpc_server_handled_total\{service="modelopt.v1.ProfilerService",method="ParseTrtexecLog",code="INVALID_ARGUMENT"\} 2/);
  assert.match(text, /method="MapTrtLayers",code="OK"\} 1/);
});

test('a deadline is honoured: the client gets DEADLINE_EXCEEDED and the handler is aborted', async () => {
  const srv = await startKit();
  const c = createClient(ProfilerServiceClient, srv.address);
  observed.reason = undefined;
  const t0 = Date.now();
  await assert.rejects(callUnary(c, c.profile, { deployment: {}, layerwise: false, nodeNames: [] }, { timeoutMs: 300 }), (e: grpc.ServiceError) => {
    assert.equal(e.code, grpc.status.DEADLINE_EXCEEDED);
    return true;
  });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 3000, `answered after ${elapsed} ms`);
  for (let i = 0; i < 100 && observed.reason === undefined; i++) await sleep(20);
  assert.ok(observed.reason instanceof DeadlineExceeded, `handler saw ${String(observed.reason)}`);
  assert.ok(observed.at! - t0 < 3000);
  c.close();
});

test('server streaming: progress then result, domain error after messages, client cancellation aborts the handler', async () => {
  const srv = await startKit();
  const c = createClient(CalibratorServiceClient, srv.address);
  const msgs: CalibrateResponse[] = [];
  for await (const m of callServerStream(c, c.calibrate, { tensorNames: ['a', 'b'], method: 2, shardStart: 0, shardEnd: 0, quantizeMode: 0, rangesOnly: false, globalRanges: [] })) msgs.push(m);
  assert.deepEqual(msgs.map((m) => m.progress?.message ?? `result:${m.result?.table?.numBatches}`), ['a', 'b', 'result:3']);
  assert.equal(msgs[2]!.result!.table!.method, 2);

  const got: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const m of callServerStream(c, c.calibrate, { tensorNames: ['x', 'fail'], method: 0, shardStart: 0, shardEnd: 0, quantizeMode: 0, rangesOnly: false, globalRanges: [] })) got.push(m.progress!.message);
    })(),
    (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /not in the graph/.test(e.details),
  );
  assert.deepEqual(got, ['x', 'fail']);

  observed.reason = undefined;
  const ac = new AbortController();
  await assert.rejects(
    (async () => {
      for await (const m of callServerStream(c, c.calibrate, { tensorNames: ['slow', 'never'], method: 0, shardStart: 0, shardEnd: 0, quantizeMode: 0, rangesOnly: false, globalRanges: [] }, { signal: ac.signal })) {
        if (m.progress?.message === 'slow') ac.abort();
      }
    })(),
    (e: grpc.ServiceError) => e.code === grpc.status.CANCELLED,
  );
  for (let i = 0; i < 100 && observed.reason === undefined; i++) await sleep(20);
  assert.ok(observed.reason instanceof Cancelled, `handler saw ${String(observed.reason)}`);
  c.close();
});

test('client streaming via callClientStream', async () => {
  const srv = await startKit();
  const c = createClient(ArtifactServiceClient, srv.address);
  async function* parts() {
    yield { header: { name: 'w.bin', mediaType: '', sizeBytes: 0, sha256: '' } };
    for (let i = 0; i < 5; i++) yield { chunk: Buffer.alloc(100_000, i) };
  }
  const res = await callClientStream(c, c.upload, parts(), { timeoutMs: 10_000 });
  assert.deepEqual(res.ref, { uri: 'mem://w.bin', sha256: '', sizeBytes: 500_000, mediaType: 'application/octet-stream' });
  c.close();
});

test('messages above maxMessageBytes are refused with RESOURCE_EXHAUSTED', async () => {
  const srv = await startKit(64 * 1024);
  const c = createClient(ProfilerServiceClient, srv.address);
  await assert.rejects(callUnary(c, c.mapTrtLayers, { profileJson: Buffer.alloc(200 * 1024), onnxNodeNames: [] }), (e: grpc.ServiceError) => e.code === grpc.status.RESOURCE_EXHAUSTED);
  const ok = await callUnary(c, c.mapTrtLayers, { profileJson: Buffer.alloc(1024), onnxNodeNames: ['n'] });
  assert.equal(ok.nodeTimes[0]!.ms, 1024);
  c.close();
});

test('graceful shutdown lets an in-flight call finish; past the timeout the call is cancelled', async () => {
  // Graceful: a short call in flight completes.
  const srv = await createServer({
    name: 'shutdown-test',
    port: 0,
    host: '127.0.0.1',
    shutdownTimeoutMs: 300,
    services: [
      defineService(ProfilerServiceService, {
        profile: unary(async (_r, ctx) => {
          await waitAborted(ctx, 20_000);
          return { nodeTimes: [], opTypeTimes: [], runtime: '' };
        }),
        parseTrtexecLog: unary(async () => {
          await sleep(150);
          return { sections: [], numbers: { Throughput: 1 }, lists: {}, latencyMs: 2 };
        }),
        mapTrtLayers: unimplemented('x'),
      }),
    ],
  });
  const c = createClient(ProfilerServiceClient, srv.address);
  const inflight = callUnary(c, c.parseTrtexecLog, { log: Buffer.from(''), kind: 2 });
  const stuck = callUnary(c, c.profile, { deployment: {}, layerwise: false, nodeNames: [] }).catch((e: grpc.ServiceError) => e);
  await sleep(50);
  observed.reason = undefined;
  const t0 = Date.now();
  await srv.shutdown('test');
  assert.equal((await inflight).latencyMs, 2);
  const err = (await stuck) as grpc.ServiceError;
  assert.ok(err instanceof Error, 'the stuck call fails');
  assert.ok(Date.now() - t0 < 3000);
  assert.ok(observed.reason instanceof Cancelled, `stuck handler saw ${String(observed.reason)}`);
  c.close();
});

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { getNats, type TestNats } from '../../../test/harness/nats.js';
import { FileArtifactStore, NatsObjectArtifactStore, type ArtifactRef, type ArtifactStore } from '../artifacts/index.js';
import { MemoryEventBus, NatsEventBus, type EventBus, type JobEvent } from '../events/index.js';
import { InvalidArgument } from '../errors.js';
import {
  createPlan,
  canonicalJson,
  computeJobKey,
  runJob,
  submitJob,
  waitForJob,
  startWorkers,
  watchJobEvents,
  JobFailedError,
  getJobState,
  CACHED_MESSAGE,
  type StageHandler,
  type JobPlan,
} from './index.js';

// ---- three trivial but real stages over a float32 "model" ----
const f32 = (buf: Buffer): Float32Array => new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));

function makeHandlers(calls: Record<string, number>, failOnce: Set<string>) {
  const prepare: StageHandler = async (ctx) => {
    calls['prepare'] = (calls['prepare'] ?? 0) + 1;
    const x = f32(await ctx.store.get(ctx.inputs['model']!));
    const scale = Number(ctx.stage.config['scale'] ?? 1);
    const y = x.map((v) => (Number.isFinite(v) ? v * scale : 0));
    ctx.progress.report(0.5, 'scaled');
    const model = await ctx.store.put(Buffer.from(y.buffer), { mediaType: 'application/x-f32' });
    return { outputs: { model }, summary: { count: y.length } };
  };
  const calibrate: StageHandler = async (ctx) => {
    calls['calibrate'] = (calls['calibrate'] ?? 0) + 1;
    if (failOnce.has(ctx.plan.jobId) && ctx.attempt === 1) throw new Error('transient calibrator hiccup');
    const x = f32(await ctx.store.get(ctx.inputs['model']!));
    let amax = 0;
    for (let i = 0; i < x.length; i++) {
      amax = Math.max(amax, Math.abs(x[i]!));
      if (i % 1000 === 0) ctx.progress.report(i / x.length, `tensor ${i}`);
    }
    const table = await ctx.store.put(Buffer.from(canonicalJson({ amax })), { mediaType: 'application/json' });
    return { outputs: { table }, summary: { amax } };
  };
  const quantize: StageHandler = async (ctx) => {
    calls['quantize'] = (calls['quantize'] ?? 0) + 1;
    const bits = Number(ctx.stage.config['bits'] ?? 8);
    if (bits !== 8 && bits !== 4) throw new InvalidArgument(`unsupported bits ${bits}`);
    const x = f32(await ctx.store.get(ctx.inputs['model']!));
    const { amax } = JSON.parse((await ctx.store.get(ctx.inputs['table']!)).toString()) as { amax: number };
    const q = quantizeRef(x, amax, bits);
    const quantized = await ctx.store.put(Buffer.from(q.buffer), { mediaType: 'application/x-i8' });
    return { outputs: { quantized } };
  };
  return { 'graph-analyzer': { prepare }, calibrator: { calibrate }, quantizer: { quantize } };
}

function quantizeRef(x: Float32Array, amax: number, bits: number): Int8Array {
  const qmax = 2 ** (bits - 1) - 1;
  return Int8Array.from(x, (v) => Math.max(-qmax, Math.min(qmax, Math.round((v / amax) * qmax))));
}

function planFor(model: Awaited<ReturnType<ArtifactStore['put']>>, scale: number, bits: number, jobId?: string): JobPlan {
  return createPlan({
    inputs: { model },
    jobId,
    stages: [
      { name: 'prepare', config: { scale } },
      { name: 'calibrate', config: { method: 'minmax' } },
      { name: 'quantize', config: { bits } },
    ],
  });
}

interface Env {
  bus: EventBus;
  store: ArtifactStore;
  cleanup(): Promise<void>;
}

function pipelineContract(name: string, open: () => Promise<Env>): void {
  describe(`pipeline on the ${name} bus`, () => {
    let env: Env;
    const calls: Record<string, number> = {};
    const failOnce = new Set<string>();
    let stopWorkers: () => Promise<void>;
    let model: Awaited<ReturnType<ArtifactStore['put']>>;
    const weights = Float32Array.from({ length: 50_000 }, (_, i) => Math.sin(i) * (1 + (i % 7)));

    before(async () => {
      env = await open();
      const handlers = makeHandlers(calls, failOnce);
      // two replicas of the calibrator share its queue
      const a = await startWorkers({ bus: env.bus, store: env.store, progressIntervalMs: 0, consume: { maxDeliver: 3 } }, handlers);
      const b = await startWorkers({ bus: env.bus, store: env.store, progressIntervalMs: 0, consume: { maxDeliver: 3 } }, { calibrator: handlers.calibrator });
      stopWorkers = async () => {
        await a.stop();
        await b.stop();
      };
      model = await env.store.put(Buffer.from(weights.buffer), { mediaType: 'application/x-f32' });
    });
    after(async () => {
      await stopWorkers();
      await env.cleanup();
    });

    test('a 3-stage plan runs end to end, publishing events in order', async () => {
      const plan = planFor(model, 2, 8);
      assert.equal(plan.jobId, plan.jobKey);
      const events: string[] = [];
      const unsub = await watchJobEvents(env.bus, plan.jobId, (e: JobEvent, subject) => {
        assert.equal(e.jobId, plan.jobId);
        assert.equal(subject, `modelopt.jobs.${plan.jobId}.${e.stage}.${e.kind}`);
        if (e.kind !== 'progress') events.push(`${e.stage}.${e.kind}`);
      });
      const state = await runJob(env.bus, plan, { timeoutMs: 20_000 });
      await new Promise((r) => setTimeout(r, 100));
      await unsub();
      assert.equal(state.status, 'completed');
      assert.deepEqual(Object.keys(state.outputs!).sort(), ['model', 'quantized', 'table']);
      const expectedModel = weights.map((v) => v * 2);
      const amax = expectedModel.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.deepEqual(JSON.parse((await env.store.get(state.outputs!['table']!)).toString()), { amax });
      const q = await env.store.get(state.outputs!['quantized']!);
      assert.deepEqual(new Int8Array(q.buffer, q.byteOffset, q.byteLength), quantizeRef(expectedModel, amax, 8));
      assert.deepEqual(events, [
        'job.started',
        'prepare.started',
        'prepare.completed',
        'calibrate.started',
        'calibrate.completed',
        'quantize.started',
        'quantize.completed',
        'job.completed',
      ]);
      // a late subscriber asking for history sees the same sequence, progress included
      const replay: string[] = [];
      const unsubReplay = await watchJobEvents(env.bus, plan.jobId, (e) => void replay.push(`${e.stage}.${e.kind}`), { history: true });
      const deadline = Date.now() + 5000;
      while (replay.filter((r) => r === 'job.completed').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await unsubReplay();
      assert.deepEqual(replay.filter((r) => !r.endsWith('.progress')), events);
      assert.ok(replay.includes('calibrate.progress') && replay.includes('prepare.progress'));
      for (const s of ['prepare', 'calibrate', 'quantize']) {
        assert.equal(state.stages[s]!.status, 'completed');
        assert.equal(state.stages[s]!.cached, false);
        assert.equal(state.stages[s]!.attempts, 1);
      }
      assert.deepEqual(calls, { prepare: 1, calibrate: 1, quantize: 1 });
    });

    test('re-running the same job recomputes nothing', async () => {
      const plan = planFor(model, 2, 8);
      const again = await submitJob(env.bus, plan);
      assert.equal(again.alreadyCompleted, true);
      const cachedEvents: JobEvent[] = [];
      const unsub = await watchJobEvents(env.bus, plan.jobId, (e) => void cachedEvents.push(e));
      const forced = await runJob(env.bus, plan, { force: true, timeoutMs: 20_000 });
      assert.equal(forced.status, 'completed');
      await new Promise((r) => setTimeout(r, 100));
      await unsub();
      assert.deepEqual(
        cachedEvents.map((e) => `${e.stage}.${e.kind}`),
        ['job.started', 'prepare.started', 'prepare.completed', 'calibrate.started', 'calibrate.completed', 'quantize.started', 'quantize.completed', 'job.completed'],
      );
      for (const e of cachedEvents.filter((x) => x.kind === 'completed' && x.stage !== 'job')) {
        assert.ok(e.progress?.message.startsWith(CACHED_MESSAGE), `cached marker on ${e.stage}`);
      }
      for (const s of ['prepare', 'calibrate', 'quantize']) assert.equal(forced.stages[s]!.cached, true, `${s} from cache`);
      // a different job id over identical content hits the stage cache too
      const twin = await runJob(env.bus, planFor(model, 2, 8, 'twin-job'), { timeoutMs: 20_000 });
      assert.equal(twin.outputs!['quantized']!.sha256, forced.outputs!['quantized']!.sha256);
      assert.deepEqual(calls, { prepare: 1, calibrate: 1, quantize: 1 });
      // config key order does not change the key
      assert.equal(
        computeJobKey({ model }, [{ name: 'a', service: 's', config: { x: 1, y: { b: 2, a: 1 } } }]),
        computeJobKey({ model }, [{ name: 'a', service: 's', config: { y: { a: 1, b: 2 }, x: 1 } }]),
      );
    });

    test('changing only the last stage config recomputes only that stage', async () => {
      const st = await runJob(env.bus, planFor(model, 2, 4), { timeoutMs: 20_000 });
      assert.equal(st.stages['prepare']!.cached, true);
      assert.equal(st.stages['calibrate']!.cached, true);
      assert.equal(st.stages['quantize']!.cached, false);
      assert.deepEqual(calls, { prepare: 1, calibrate: 1, quantize: 2 });
    });

    test('a transient failure is retried through redelivery', async () => {
      const plan = planFor(model, 3, 8);
      failOnce.add(plan.jobId);
      const st = await runJob(env.bus, plan, { timeoutMs: 20_000 });
      assert.equal(st.status, 'completed');
      assert.equal(st.stages['calibrate']!.attempts, 2);
      assert.equal(st.stages['prepare']!.attempts, 1);
      assert.deepEqual(calls, { prepare: 2, calibrate: 3, quantize: 3 });
    });

    test('a bad config fails the job once, with the reason, and no retry', async () => {
      const plan = planFor(model, 2, 3);
      const failed: JobEvent[] = [];
      const unsub = await watchJobEvents(env.bus, plan.jobId, (e) => void (e.kind === 'failed' && failed.push(e)));
      const sub = await submitJob(env.bus, plan);
      await assert.rejects(waitForJob(env.bus, sub.jobId, { timeoutMs: 20_000 }), (err: unknown) => {
        assert.ok(err instanceof JobFailedError);
        assert.match(err.message, /stage quantize: INVALID_ARGUMENT: unsupported bits 3/);
        return true;
      });
      await new Promise((r) => setTimeout(r, 300));
      await unsub();
      const st = (await getJobState(env.bus.kv, plan.jobId))!;
      assert.equal(st.status, 'failed');
      assert.equal(st.stages['quantize']!.status, 'failed');
      assert.equal(st.stages['quantize']!.attempts, 1);
      assert.deepEqual(failed.map((e) => [e.stage, e.error?.code]), [['quantize', 'INVALID_ARGUMENT'], ['job', 'INVALID_ARGUMENT']]);
      assert.equal(calls['quantize'], 4);
    });

    test('a cached stage whose output artifact vanished is recomputed', async () => {
      const first = await runJob(env.bus, planFor(model, 5, 8), { timeoutMs: 20_000 });
      const before = { ...calls };
      assert.equal(await env.store.delete(first.outputs!['table']!), true);
      const st = await runJob(env.bus, planFor(model, 5, 8), { force: true, timeoutMs: 20_000 });
      assert.equal(st.stages['prepare']!.cached, true);
      assert.equal(st.stages['calibrate']!.cached, false);
      assert.equal(calls['calibrate'], before['calibrate']! + 1);
      assert.equal(calls['prepare'], before['prepare']);
      assert.ok(await env.store.exists(st.outputs!['table']!));
    });

    test('plans are validated', () => {
      assert.throws(() => createPlan({ inputs: { model }, stages: [] }), InvalidArgument);
      assert.throws(() => createPlan({ inputs: { model }, stages: [{ name: 'mystery' }] }), /no standard service/);
      assert.throws(() => createPlan({ inputs: { model }, stages: [{ name: 'prepare', config: { x: Number.NaN } }] }), /finite/);
      assert.throws(() => createPlan({ inputs: { model: { ...model, sha256: '' } }, stages: [{ name: 'prepare' }] }), /sha256/);
      assert.throws(() => createPlan({ inputs: { model }, stages: [{ name: 'job' }] }), /reserved/);
    });
  });
}

pipelineContract('in-memory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'modelopt-pipe-'));
  const bus = new MemoryEventBus({ onError: () => undefined });
  return {
    bus,
    store: new FileArtifactStore(dir),
    cleanup: async () => {
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

pipelineContract('NATS JetStream', async () => {
  const nats: TestNats = await getNats();
  const nc: NatsConnection = await connect({ servers: nats.url });
  const tag = `p${process.pid}${randomBytes(3).toString('hex')}`;
  const bus = await NatsEventBus.connect({ nc, namespace: tag, onError: () => undefined });
  const bucket = `modelopt_art_${tag}`;
  return {
    bus,
    store: new NatsObjectArtifactStore(nc, bucket),
    cleanup: async () => {
      await bus.destroyResources();
      await bus.close();
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(`OBJ_${bucket}`).catch(() => undefined);
      await nc.close();
      await nats.stop();
    },
  };
});

describe('handler results are normalised', () => {
  test('undefined roles are dropped; a malformed ref fails the job as INTERNAL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelopt-pipe-'));
    const bus = new MemoryEventBus({ onError: () => undefined });
    const store = new FileArtifactStore(dir);
    try {
      const input = await store.put(Buffer.from('input'));
      const w = await startWorkers(
        { bus, store },
        {
          odd: {
            weird: async (ctx) => ({ outputs: { kept: ctx.inputs['model'], dropped: undefined }, summary: { a: 1, b: undefined } }),
            broken: async () => ({ outputs: { x: { uri: '' } as unknown as ArtifactRef } }),
          },
        },
      );
      const ok = await runJob(bus, createPlan({ inputs: { model: input }, stages: [{ name: 'weird', service: 'odd' }] }), { timeoutMs: 5000 });
      assert.deepEqual(Object.keys(ok.stages['weird']!.outputs!), ['kept']);
      assert.deepEqual(ok.stages['weird']!.summary, { a: 1 });
      await assert.rejects(
        runJob(bus, createPlan({ inputs: { model: input }, stages: [{ name: 'broken', service: 'odd' }] }), { timeoutMs: 5000 }),
        /INTERNAL: handler for broken output x is not an artifact ref/,
      );
      await w.stop();
    } finally {
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

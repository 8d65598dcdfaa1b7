/**
 * Batch mode on a real NATS JetStream server: jobs spread over two embedded meshes (two worker
 * sets sharing the work queues), each job a content-addressed plan whose outputs run in
 * onnxruntime-node; an identical resubmission is served from the stage cache; a corrupt model
 * fails alone with a clear error. Plus the in-memory variant (no NATS) for one job.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { getNats, type TestNats } from '../harness/nats.js';
import { defaultConfig } from '../../services/core/config.js';
import { createLogger } from '../../services/core/logging.js';
import { createRuntime, type MeshRuntime } from '../../services/core/runtime.js';
import { NatsEventBus } from '../../services/core/events/nats-bus.js';
import type { JobEvent } from '../../services/core/events/types.js';
import { getJobState, stageKvKey, type JobState, type StageRecord } from '../../services/core/pipeline/index.js';
import { startEmbedded, type EmbeddedMesh } from '../../services/cli/embedded.js';
import { countByStatus, downloadJobOutputs, parseJobs, submitBatch, waitBatch, type BatchJobSpec } from '../../services/cli/batch.js';
import { readNpz } from '../../services/exporter/npz.js';
import { SHARED as SHARED_DIR } from '../helpers/shared.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED = SHARED_DIR;
const model = (n: string): string => path.join(SHARED, 'models', `${n}.onnx`);
const data = (n: string, k: 'calib' | 'eval'): string => path.join(SHARED, 'data', `${n}.${k}.npz`);
const execFileP = promisify(execFile);

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

async function startMesh(natsUrl: string, namespace: string | undefined, storeRoot: string): Promise<EmbeddedMesh> {
  const config = defaultConfig({ host: '127.0.0.1', storeRoot, natsUrl, logLevel: 'error' });
  return startEmbedded({ config, logger: createLogger({ name: 'batch-test', level: 'error' }), basePort: 0, natsNamespace: namespace });
}

/** Runs the exported model and the original on the first eval rows; returns top-1 agreement. */
async function runInOrt(quantFile: string, original: string, evalFile: string): Promise<{ agreement: number; rows: number }> {
  const arrays = readNpz(evalFile);
  const [name, arr] = Object.entries(arrays)[0]!;
  const rowSize = arr.shape.slice(1).reduce((a, b) => a * b, 1);
  const q = await ort.InferenceSession.create(quantFile, { logSeverityLevel: 3 });
  const o = await ort.InferenceSession.create(original, { logSeverityLevel: 3 });
  try {
    assert.deepEqual(q.inputNames, o.inputNames);
    let agree = 0;
    const rows = 8;
    for (let r = 0; r < rows; r++) {
      const x = new ort.Tensor('float32', (arr.data as Float32Array).slice(r * rowSize, (r + 1) * rowSize), [1, ...arr.shape.slice(1)]);
      const feed = { [q.inputNames[0] ?? name]: x };
      const yq = (await q.run(feed))[q.outputNames[0]!]!;
      const yo = (await o.run(feed))[o.outputNames[0]!]!;
      assert.deepEqual(yq.dims, yo.dims);
      const a = yq.data as Float32Array;
      const b = yo.data as Float32Array;
      assert.ok(a.every(Number.isFinite), 'quantized outputs are finite');
      const argmax = (v: Float32Array): number => v.reduce((best, x, i) => (x > v[best]! ? i : best), 0);
      if (argmax(a) === argmax(b)) agree++;
    }
    return { agreement: agree / rows, rows };
  } finally {
    await q.release();
    await o.release();
  }
}

describe('modelopt batch on a real NATS server (two worker sets)', () => {
  let nats: TestNats;
  const namespace = `batch${process.pid}${randomBytes(3).toString('hex')}`;
  const dirs: string[] = [];
  let meshA: EmbeddedMesh;
  let meshB: EmbeddedMesh;
  let client: MeshRuntime;
  const events: { subject: string; e: JobEvent }[] = [];
  let unsubscribe: () => Promise<void>;
  let specs: BatchJobSpec[];
  let states: JobState[];
  let corruptJobId: string;
  let elapsedMs: number;
  const extraMeshes: EmbeddedMesh[] = [];

  before(async () => {
    nats = await getNats();
    const d = (p: string) => (dirs.push(tmp(p)), dirs[dirs.length - 1]!);
    meshA = await startMesh(nats.url, namespace, d('batch-a-'));
    meshB = await startMesh(nats.url, namespace, d('batch-b-'));
    client = await createRuntime({ natsUrl: nats.url, storeRoot: d('batch-client-'), natsNamespace: namespace });
    unsubscribe = await client.bus.subscribe('modelopt.jobs.>', (e, subject) => void events.push({ subject, e }));
  });

  after(async () => {
    await unsubscribe?.();
    await meshA?.stop('test done');
    await meshB?.stop('test done');
    for (const m of extraMeshes) await m.stop('test done');
    await client?.close();
    const bus = await NatsEventBus.connect({ servers: nats.url, namespace, onError: () => undefined });
    await bus.destroyResources();
    await bus.close();
    await nats.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('4 (model × config) jobs and a corrupt one: the good ones complete over both worker sets, the bad one fails alone', async () => {
    const work = tmp('batch-jobs-');
    dirs.push(work);
    const corrupt = path.join(work, 'corrupt.onnx');
    fs.writeFileSync(corrupt, Buffer.concat([Buffer.from([0x08, 0x07, 0x12]), randomBytes(2048)]));
    specs = parseJobs(
      {
        models: [
          { model: model('mnist8'), calibrationData: data('mnist8', 'calib'), evalData: data('mnist8', 'eval') },
          { model: model('ppocr_cls'), calibrationData: data('ppocr_cls', 'calib'), evalData: data('ppocr_cls', 'eval') },
        ],
        configs: [
          { name: 'minmax', quantizeMode: 'int8', calibrationMethod: 'minmax' },
          { name: 'entropy', quantizeMode: 'int8', calibrationMethod: 'entropy' },
        ],
        jobs: [{ model: corrupt, calibrationData: data('mnist8', 'calib'), options: { quantizeMode: 'int8', calibrationMethod: 'minmax' } }],
      },
      work,
    );
    assert.equal(specs.length, 5);
    const t0 = Date.now();
    const submitted = await submitBatch(client, specs);
    assert.equal(submitted.length, 5);
    assert.ok(submitted.every((j) => !j.alreadyCompleted));
    corruptJobId = submitted.find((j) => j.name.startsWith('corrupt'))!.jobId;
    const progress: string[] = [];
    states = await waitBatch(client.bus, submitted.map((j) => j.jobId), { timeoutMs: 8 * 60_000, onProgress: (c) => progress.push(JSON.stringify(c)) });
    elapsedMs = Date.now() - t0;
    const good = states.filter((s) => s.jobId !== corruptJobId);
    const jobsPerMin = (good.length / elapsedMs) * 60_000;
    console.log(`# batch: ${good.length} jobs completed in ${(elapsedMs / 1000).toFixed(1)} s on 2 worker sets = ${jobsPerMin.toFixed(1)} jobs/min`);

    assert.deepEqual(countByStatus(states), { queued: 0, running: 0, completed: 4, failed: 1 });
    assert.ok(progress.length >= 2, 'progress reported as counts by status');
    const bad = states.find((s) => s.jobId === corruptJobId)!;
    assert.equal(bad.status, 'failed');
    assert.equal(bad.error?.stage, 'prepare');
    assert.equal(bad.error?.code, 'INVALID_ARGUMENT');
    assert.match(bad.error!.message, /model/i);
    assert.equal(bad.stages['prepare']?.status, 'failed');
    assert.equal(bad.stages['prepare']?.attempts, 1, 'a corrupt model is not retried');

    for (const st of good) {
      assert.equal(st.status, 'completed', `${st.jobId}: ${JSON.stringify(st.error)}`);
      assert.deepEqual(st.plan.stages.map((s) => s.name), ['prepare', 'analyze', 'calibrate', 'quantize', 'export', 'compare']);
      assert.ok(st.outputs?.['output_model']?.uri.startsWith('nats-os://'), 'outputs live in the object store');
      assert.match(st.outputs!['output_model']!.sha256, /^[0-9a-f]{64}$/);
    }
    // the same model under two configs shares its prepare stage: computed once, reused once
    for (const m of ['mnist8', 'ppocr_cls']) {
      const two = good.filter((s) => s.jobId.startsWith(`${m}_`));
      assert.equal(two.length, 2);
      assert.equal(two[0]!.stages['prepare']!.stageKey, two[1]!.stages['prepare']!.stageKey);
      assert.notEqual(two[0]!.stages['calibrate']!.stageKey, two[1]!.stages['calibrate']!.stageKey);
      assert.notEqual(two[0]!.outputs!['calibration_table']!.sha256, two[1]!.outputs!['calibration_table']!.sha256, 'minmax and entropy give different tables');
    }

    // work sharing: both worker sets ran stages (sources are per StageWorker instance)
    await new Promise((r) => setTimeout(r, 200));
    const started = events.filter((x) => x.e.kind === 'started' && x.e.stage !== 'job' && !x.e.progress);
    const sources = new Set(started.map((x) => x.e.source));
    const byService = new Map<string, Set<string>>();
    for (const x of started) {
      const service = x.e.source!.split('@')[0]!;
      byService.set(service, (byService.get(service) ?? new Set()).add(x.e.source!));
    }
    assert.ok(sources.size > 4, `stages ran on more than one worker per service: ${[...sources].join(', ')}`);
    assert.ok([...byService.values()].some((s) => s.size === 2), 'some service shared its queue between the two meshes');
  });

  test('the outputs download and run in onnxruntime-node', async () => {
    const out = tmp('batch-out-');
    dirs.push(out);
    for (const st of states.filter((s) => s.status === 'completed')) {
      const dl = await downloadJobOutputs(client.artifacts, st, out);
      const file = path.join(dl.dir, 'model.quant.onnx');
      assert.ok(dl.files.includes(file));
      const m = st.jobId.startsWith('mnist8') ? 'mnist8' : 'ppocr_cls';
      const r = await runInOrt(file, model(m), data(m, 'eval'));
      assert.ok(r.agreement >= 0.75, `${st.jobId}: top-1 agreement ${r.agreement}`);
      const cmp = JSON.parse(fs.readFileSync(path.join(dl.dir, 'comparison.json'), 'utf8')) as { outputs: { cosine: number }[] };
      assert.ok(cmp.outputs[0]!.cosine > 0.95, `${st.jobId}: cosine ${cmp.outputs[0]!.cosine}`);
      const job = JSON.parse(fs.readFileSync(path.join(dl.dir, 'job.json'), 'utf8')) as { stages: Record<string, { summary?: { quantizeNodes?: number } }> };
      assert.ok((job.stages['export']!.summary!.quantizeNodes ?? 0) > 0, 'the exported model has Q/DQ nodes');
    }
  });

  test('an identical resubmission completes from the cache without recomputing', async () => {
    const spec = specs.find((s) => s.name === 'ppocr_cls_entropy')!;
    const first = states.find((s) => s.jobId.startsWith('ppocr_cls_entropy-'))!;
    const again = await submitBatch(client, [spec]);
    assert.equal(again[0]!.jobId, first.jobId, 'the job id is content-addressed');
    assert.equal(again[0]!.alreadyCompleted, true);

    const recordsBefore = new Map<string, StageRecord>();
    for (const s of first.plan.stages) recordsBefore.set(s.name, (await client.bus.kv.get<StageRecord>(stageKvKey(first.stages[s.name]!.stageKey)))!.value);
    const t0 = Date.now();
    const forced = await submitBatch(client, [spec], { force: true });
    assert.equal(forced[0]!.alreadyCompleted, false);
    const [st] = await waitBatch(client.bus, [forced[0]!.jobId], { timeoutMs: 60_000 });
    const rerunMs = Date.now() - t0;
    assert.equal(st!.status, 'completed');
    assert.equal(st!.runId, forced[0]!.runId);
    const computeMs = Object.values(first.stages).reduce((a, s) => a + ((s.finishedAtMs ?? 0) - (s.startedAtMs ?? 0)), 0);
    console.log(`# resubmission from cache: ${rerunMs} ms (first run's stages: ${computeMs} ms of compute)`);
    for (const s of st!.plan.stages) {
      assert.equal(st!.stages[s.name]!.cached, true, `${s.name} came from the cache`);
      const rec = (await client.bus.kv.get<StageRecord>(stageKvKey(st!.stages[s.name]!.stageKey)))!.value;
      assert.deepEqual(rec, recordsBefore.get(s.name), `stage record of ${s.name} untouched (not recomputed)`);
    }
    assert.deepEqual(st!.outputs, first.outputs);
    // the first run's calibrate (entropy on 64 images) alone costs more than the whole cached rerun's stages
    assert.ok(rerunMs < computeMs, `cached rerun ${rerunMs} ms < first compute ${computeMs} ms`);
    assert.equal((await getJobState(client.bus.kv, first.jobId))!.status, 'completed');
  });

  test('jobs wait in the queue without workers and resume where they stopped when workers come back', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await meshA.stop('no workers');
    await meshB.stop('no workers');
    const spec = parseJobs([{ model: model('ppocr_cls'), calibrationData: data('ppocr_cls', 'calib'), evalData: data('ppocr_cls', 'eval'), options: { calibrationMethod: 'percentile' } }], ROOT);
    const [job] = await submitBatch(client, spec);
    await sleep(1000);
    assert.equal((await getJobState(client.bus.kv, job!.jobId))!.status, 'queued', 'no worker: the job waits in the queue');

    const dir = tmp('batch-c-');
    dirs.push(dir);
    const c = await startMesh(nats.url, namespace, dir);
    extraMeshes.push(c);
    const t0 = Date.now();
    while ((await getJobState(client.bus.kv, job!.jobId))!.stages['prepare']!.status !== 'completed') {
      assert.ok(Date.now() - t0 < 60_000, 'prepare did not finish');
      await sleep(50);
    }
    await c.stop('worker set goes away mid-job');
    const mid = (await getJobState(client.bus.kv, job!.jobId))!;
    assert.notEqual(mid.status, 'completed', 'the job is not finished when its workers stop');
    const doneBefore = mid.plan.stages.map((s) => s.name).filter((n) => mid.stages[n]!.status === 'completed');
    assert.ok(doneBefore.includes('prepare') && doneBefore.length < mid.plan.stages.length, doneBefore.join(','));

    const restartAt = Date.now();
    const dir2 = tmp('batch-d-');
    dirs.push(dir2);
    extraMeshes.push(await startMesh(nats.url, namespace, dir2));
    const [fin] = await waitBatch(client.bus, [job!.jobId], { timeoutMs: 240_000 });
    assert.equal(fin!.status, 'completed', JSON.stringify(fin!.error));
    for (const n of doneBefore) {
      assert.equal(fin!.stages[n]!.finishedAtMs, mid.stages[n]!.finishedAtMs, `${n} was not run again`);
      assert.ok(fin!.stages[n]!.finishedAtMs! < restartAt);
    }
    for (const s of fin!.plan.stages.filter((x) => !doneBefore.includes(x.name))) assert.ok(fin!.stages[s.name]!.finishedAtMs! > restartAt, `${s.name} ran after the restart`);
    await sleep(200);
    const starts = events.filter((x) => x.e.jobId === job!.jobId && x.e.kind === 'started' && x.e.stage !== 'job');
    for (const s of fin!.plan.stages) assert.equal(starts.filter((x) => x.e.stage === s.name).length, 1, `${s.name} started exactly once`);
  });

  test('modelopt batch status reads the job bucket', async () => {
    const ids = states.map((s) => s.jobId);
    const r = await execFileP(process.execPath, ['--import', 'tsx', path.join(ROOT, 'services/cli/main.ts'), 'batch', 'status', '--nats', nats.url, '--namespace', namespace, '--json', ...ids], { cwd: ROOT }).catch((e: { stdout: string; code: number }) => e);
    const res = JSON.parse(r.stdout) as { counts: Record<string, number>; jobs: { jobId: string; status: string; error?: { stage: string } }[] };
    assert.deepEqual(res.counts, { queued: 0, running: 0, completed: 4, failed: 1 });
    assert.equal(res.jobs.find((j) => j.jobId === corruptJobId)?.error?.stage, 'prepare');
  });
});

describe('modelopt batch in process (in-memory bus, embedded workers)', () => {
  test('one job runs end to end on the in-memory bus and its output runs in onnxruntime-node', async () => {
    const store = tmp('batch-mem-');
    const out = tmp('batch-mem-out-');
    const mesh = await startMesh('', undefined, store);
    try {
      assert.equal(mesh.runtime.bus.kind, 'memory');
      const specs = parseJobs([{ model: model('mnist8'), calibrationData: data('mnist8', 'calib'), evalData: data('mnist8', 'eval'), options: { calibrationMethod: 'entropy' } }], ROOT);
      const submitted = await submitBatch(mesh.runtime, specs);
      const [st] = await waitBatch(mesh.runtime.bus, [submitted[0]!.jobId], { timeoutMs: 120_000 });
      assert.equal(st!.status, 'completed', JSON.stringify(st!.error));
      assert.ok(st!.outputs!['output_model']!.uri.startsWith('file://'));
      const dl = await downloadJobOutputs(mesh.runtime.artifacts, st!, out);
      const r = await runInOrt(path.join(dl.dir, 'model.quant.onnx'), model('mnist8'), data('mnist8', 'eval'));
      assert.ok(r.agreement >= 0.75, `top-1 agreement ${r.agreement}`);
    } finally {
      await mesh.stop();
      fs.rmSync(store, { recursive: true, force: true });
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

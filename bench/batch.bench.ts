/**
 * Batch throughput on a real NATS server: the same (model × config) jobs with one worker process
 * and with two (`modelopt up --nats` processes sharing the work queues), each run in a fresh
 * namespace so nothing comes from the stage cache. Prints jobs/min per run, the ratio of the two,
 * compute time per stage, and the time of an identical resubmission served from the cache.
 *
 * Run: node --import tsx bench/batch.bench.ts [--jobs N]   (N = 4 (default) or 8: adds more configs)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNats } from '../test/harness/nats.js';
import { createRuntime } from '../services/core/runtime.js';
import { NatsEventBus } from '../services/core/events/nats-bus.js';
import { parseJobs, submitBatch, waitBatch } from '../services/cli/batch.js';
import { SHARED as SHARED_DIR } from '../test/helpers/shared.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = SHARED_DIR;
const jobsArg = process.argv.indexOf('--jobs');
const nJobs = jobsArg > 0 ? Number(process.argv[jobsArg + 1]) : 4;

const m = (n: string) => ({ model: `${SHARED}/models/${n}.onnx`, calibrationData: `${SHARED}/data/${n}.calib.npz`, evalData: `${SHARED}/data/${n}.eval.npz` });
const configs = [
  { name: 'minmax', quantizeMode: 'int8', calibrationMethod: 'minmax' },
  { name: 'entropy', quantizeMode: 'int8', calibrationMethod: 'entropy' },
  { name: 'percentile', quantizeMode: 'int8', calibrationMethod: 'percentile' },
  { name: 'fp8', quantizeMode: 'fp8' },
].slice(0, Math.max(2, nJobs / 2));
const specs = parseJobs({ models: [m('mnist8'), m('ppocr_cls')], configs }, ROOT);

async function startWorker(url: string, namespace: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'up', '--nats', url, '--base-port', '0', '--host', '127.0.0.1'], {
    cwd: ROOT,
    env: { ...process.env, MODELOPT_NATS_NAMESPACE: namespace, MODELOPT_LOG_LEVEL: 'error', MODELOPT_STORE_ROOT: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-batch-')) },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${out}`)));
  });
  return child;
}

async function run(url: string, workers: number): Promise<{ jobsPerMin: number; seconds: number; stageMs: Record<string, number>; cachedMs: number }> {
  const namespace = `bench${process.pid}${randomBytes(3).toString('hex')}`;
  const procs: ChildProcess[] = [];
  const client = await createRuntime({ natsUrl: url, storeRoot: os.tmpdir(), natsNamespace: namespace });
  try {
    for (let i = 0; i < workers; i++) procs.push(await startWorker(url, namespace));
    const t0 = performance.now();
    const submitted = await submitBatch(client, specs);
    const states = await waitBatch(client.bus, submitted.map((j) => j.jobId), { timeoutMs: 20 * 60_000 });
    const seconds = (performance.now() - t0) / 1000;
    const failed = states.filter((s) => s.status !== 'completed');
    if (failed.length) throw new Error(`failed: ${failed.map((s) => `${s.jobId}: ${s.error?.message}`).join('; ')}`);
    const stageMs: Record<string, number> = {};
    for (const st of states) for (const [name, s] of Object.entries(st.stages)) if (!s.cached) stageMs[name] = (stageMs[name] ?? 0) + ((s.finishedAtMs ?? 0) - (s.startedAtMs ?? 0));
    const t1 = performance.now();
    const again = await submitBatch(client, specs, { force: true });
    await waitBatch(client.bus, again.map((j) => j.jobId), { timeoutMs: 60_000 });
    const cachedMs = performance.now() - t1;
    return { jobsPerMin: (states.length / seconds) * 60, seconds, stageMs, cachedMs };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    await client.close();
    const bus = await NatsEventBus.connect({ servers: url, namespace, onError: () => undefined });
    await bus.destroyResources();
    await bus.close();
  }
}

const nats = await getNats();
try {
  console.log(`${specs.length} jobs (mnist8, ppocr_cls × ${configs.map((c) => c.name).join(', ')}), ${os.cpus().length} CPU(s)`);
  const results: { workers: number; r: Awaited<ReturnType<typeof run>> }[] = [];
  for (const workers of [1, 2]) {
    const r = await run(nats.url, workers);
    results.push({ workers, r });
    const stages = Object.entries(r.stageMs).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`).join(', ');
    console.log(`${workers} worker process(es): ${r.seconds.toFixed(1)} s, ${r.jobsPerMin.toFixed(1)} jobs/min; stage compute: ${stages}; resubmission from cache ${r.cachedMs.toFixed(0)} ms`);
  }
  console.log(`2 workers vs 1: ×${(results[1]!.r.jobsPerMin / results[0]!.r.jobsPerMin).toFixed(2)} jobs/min`);
} finally {
  await nats.stop();
}

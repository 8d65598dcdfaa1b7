/**
 * `modelopt batch`: many (model × config) quantization jobs at once, spread over the cluster
 * through the NATS JetStream work queues. Each job is a content-addressed plan (same inputs and
 * options → same job id and stage keys), resumable, and its finished stages are cached.
 *
 *   modelopt batch submit jobs.json [--nats URL] [--wait] [--out DIR] [--force] [--workers]
 *   modelopt batch status [job ids... | --all] [--nats URL]
 *
 * Without NATS (no --nats, no $NATS_URL) everything runs in this process on the in-memory bus
 * with the embedded stage workers (the same code path), and submit waits.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgument, NotFound } from '../core/errors.js';
import { defaultConfig } from '../core/config.js';
import { createLogger } from '../core/logging.js';
import { createRuntime, type MeshRuntime } from '../core/runtime.js';
import type { ArtifactRef, ArtifactStore } from '../core/artifacts/types.js';
import type { EventBus } from '../core/events/types.js';
import { getJobState, jobKvKey, submitJob, type JobState, type JobStatus } from '../core/pipeline/index.js';
import { ROLES, createQuantizePlan, normalizeJobOptions, type JobQuantizeOptions } from '../core/pipeline/quantize-flow.js';
import { flagHelp, parseFlags, type FlagSpec } from './args.js';
import type { Command } from './command.js';
import { startEmbedded, type EmbeddedMesh } from './embedded.js';

// ---------------------------------------------------------------- jobs file

export interface BatchJobSpec {
  /** readable label: becomes the prefix of the job id */
  name: string;
  model: string;
  calibrationData?: string;
  evalData?: string;
  /** false: no compare stage (default: compare when eval or calibration data is given) */
  compare?: boolean;
  options: JobQuantizeOptions;
}

interface RawModel {
  model?: unknown;
  calibrationData?: unknown;
  evalData?: unknown;
  name?: unknown;
  compare?: unknown;
}

const str = (v: unknown, what: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new InvalidArgument(`${what} must be a non-empty string`);
  return v;
};

const baseName = (p: string): string => path.basename(p).replace(/\.onnx$/i, '');

function configName(o: JobQuantizeOptions): string {
  return o.quantizeMode.startsWith('int4') ? o.quantizeMode : `${o.quantizeMode}_${o.calibrationMethod}`;
}

function modelEntry(raw: unknown, baseDir: string, what: string): { model: string; calibrationData?: string; evalData?: string; name?: string; compare?: boolean } {
  const r: RawModel = typeof raw === 'string' ? { model: raw } : (raw as RawModel);
  if (!r || typeof r !== 'object') throw new InvalidArgument(`${what} must be a path or an object with "model"`);
  const model = str(r.model, `${what}.model`);
  if (!model) throw new InvalidArgument(`${what}: "model" (path of the ONNX file) is required`);
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(baseDir, p));
  if (r.compare !== undefined && typeof r.compare !== 'boolean') throw new InvalidArgument(`${what}.compare must be true or false`);
  return {
    model: abs(model)!,
    calibrationData: abs(str(r.calibrationData, `${what}.calibrationData`)),
    evalData: abs(str(r.evalData, `${what}.evalData`)),
    name: str(r.name, `${what}.name`),
    ...(r.compare !== undefined ? { compare: r.compare } : {}),
  };
}

/**
 * Jobs from the parsed JSON of a jobs file. Paths are relative to `baseDir`. Accepted shapes:
 *  - `[{ model, calibrationData?, evalData?, compare?, options?, name? }, ...]` or `{ jobs: [...] }`
 *  - `{ models: [path | { model, calibrationData?, evalData?, compare?, name? }], configs: [{ name?, ...QuantizeOptions } | { name?, options }] }`
 *    (the cross product; `jobs` and `models`/`configs` may be combined)
 */
export function parseJobs(json: unknown, baseDir: string): BatchJobSpec[] {
  const specs: BatchJobSpec[] = [];
  const obj = (Array.isArray(json) ? { jobs: json } : json) as { jobs?: unknown; models?: unknown; configs?: unknown } | null;
  if (!obj || typeof obj !== 'object') throw new InvalidArgument('the jobs file must hold a list of jobs or { models, configs }');
  const extra = Object.keys(obj).filter((k) => !['jobs', 'models', 'configs'].includes(k));
  if (extra.length) throw new InvalidArgument(`the jobs file has unknown key(s) ${extra.join(', ')} (expected jobs, or models and configs)`);
  if (obj.jobs !== undefined) {
    if (!Array.isArray(obj.jobs)) throw new InvalidArgument('"jobs" must be a list');
    obj.jobs.forEach((j: unknown, i) => {
      const what = `jobs[${i}]`;
      const m = modelEntry(j, baseDir, what);
      const options = normalizeJobOptions((j as { options?: unknown }).options, `${what}.options`);
      specs.push({ ...m, name: m.name ?? `${baseName(m.model)}_${configName(options)}`, options });
    });
  }
  if (obj.models !== undefined || obj.configs !== undefined) {
    if (!Array.isArray(obj.models) || !obj.models.length) throw new InvalidArgument('"models" must be a non-empty list');
    if (!Array.isArray(obj.configs) || !obj.configs.length) throw new InvalidArgument('"configs" must be a non-empty list');
    const models = obj.models.map((m: unknown, i) => modelEntry(m, baseDir, `models[${i}]`));
    const configs = obj.configs.map((c: unknown, i) => {
      const what = `configs[${i}]`;
      if (!c || typeof c !== 'object' || Array.isArray(c)) throw new InvalidArgument(`${what} must be an object`);
      const { name, options, ...rest } = c as { name?: unknown; options?: unknown };
      const o = normalizeJobOptions(options !== undefined ? options : rest, what);
      return { name: str(name, `${what}.name`) ?? configName(o), options: o };
    });
    for (const m of models) for (const c of configs) specs.push({ model: m.model, calibrationData: m.calibrationData, evalData: m.evalData, compare: m.compare, name: `${m.name ?? baseName(m.model)}_${c.name}`, options: c.options });
  }
  if (!specs.length) throw new InvalidArgument('the jobs file lists no job');
  return specs;
}

export function loadJobsFile(file: string): BatchJobSpec[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new NotFound(`cannot read jobs file ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgument(`jobs file ${file} is not JSON: ${(err as Error).message}`);
  }
  const specs = parseJobs(json, path.dirname(path.resolve(file)));
  for (const s of specs) {
    for (const p of [s.model, s.calibrationData, s.evalData]) if (p !== undefined && !fs.existsSync(p)) throw new NotFound(`job ${s.name}: file not found: ${p}`);
  }
  return specs;
}

// ---------------------------------------------------------------- submit / wait / download

export interface SubmittedJob {
  name: string;
  jobId: string;
  runId: string;
  alreadyCompleted: boolean;
}

function mediaTypeOf(file: string): string {
  return file.endsWith('.onnx') ? 'application/x-onnx' : file.endsWith('.npz') ? 'application/x-npz' : file.endsWith('.npy') ? 'application/x-npy' : 'application/octet-stream';
}

/** Uploads every distinct input file once, creates the plans and submits them. */
export async function submitBatch(runtime: MeshRuntime, specs: readonly BatchJobSpec[], opts: { force?: boolean; onSubmitted?: (j: SubmittedJob) => void } = {}): Promise<SubmittedJob[]> {
  const uploads = new Map<string, Promise<ArtifactRef>>();
  const upload = (file: string): Promise<ArtifactRef> => {
    let p = uploads.get(file);
    if (!p) uploads.set(file, (p = runtime.artifacts.putFile(file, { mediaType: mediaTypeOf(file) })));
    return p;
  };
  const out: SubmittedJob[] = [];
  const seen = new Set<string>();
  for (const s of specs) {
    const [model, calibrationData, evalData] = await Promise.all([upload(s.model), s.calibrationData ? upload(s.calibrationData) : undefined, s.evalData ? upload(s.evalData) : undefined]);
    const plan = createQuantizePlan({ model, calibrationData, evalData }, s.options, { label: s.name, compare: s.compare });
    if (seen.has(plan.jobId)) continue; // the same job twice in one file
    seen.add(plan.jobId);
    const r = await submitJob(runtime.bus, plan, { force: opts.force });
    const j = { name: s.name, jobId: r.jobId, runId: r.runId, alreadyCompleted: r.alreadyCompleted };
    out.push(j);
    opts.onSubmitted?.(j);
  }
  return out;
}

export type StatusCounts = Record<JobStatus, number>;

export function countByStatus(states: Iterable<JobState | undefined>): StatusCounts {
  const c: StatusCounts = { queued: 0, running: 0, completed: 0, failed: 0 };
  for (const s of states) if (s) c[s.status] += 1;
  return c;
}

export function formatCounts(c: StatusCounts, total: number): string {
  return `${total} job(s): ${c.completed} completed, ${c.failed} failed, ${c.running} running, ${c.queued} queued`;
}

/**
 * Waits until every job is completed or failed (watching the job KV bucket); calls `onProgress`
 * whenever the counts change. Resolves with the final states in the order of `jobIds`.
 */
export async function waitBatch(bus: EventBus, jobIds: readonly string[], opts: { timeoutMs?: number; onProgress?: (c: StatusCounts, states: Map<string, JobState>) => void } = {}): Promise<JobState[]> {
  const want = new Set(jobIds);
  const states = new Map<string, JobState>();
  let last = '';
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const check = (): void => {
    const c = countByStatus(states.values());
    const key = JSON.stringify(c);
    if (key !== last) {
      last = key;
      opts.onProgress?.(c, states);
    }
    if (c.completed + c.failed === want.size && states.size === want.size) done();
  };
  const stop = await bus.kv.watch<JobState>('job.*', (e) => {
    const st = e.value;
    if (!st || !want.has(st.jobId)) return;
    states.set(st.jobId, st);
    check();
  });
  // states written before the watch started (and jobs no watch event reaches) are read directly
  for (const id of want) {
    if (!states.has(id)) {
      const st = await getJobState(bus.kv, id);
      if (st) states.set(id, st);
    }
  }
  check();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      finished,
      new Promise<never>((_r, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${opts.timeoutMs} ms: ${formatCounts(countByStatus(states.values()), want.size)}`)), opts.timeoutMs ?? 60 * 60_000);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    await stop();
  }
  return jobIds.map((id) => states.get(id)!);
}

export interface DownloadedJob {
  jobId: string;
  dir: string;
  files: string[];
}

/** Writes a completed job's outputs under `<outDir>/<jobId>/`: the model, comparison.json, job.json. */
export async function downloadJobOutputs(store: ArtifactStore, state: JobState, outDir: string): Promise<DownloadedJob> {
  const dir = path.join(outDir, state.jobId);
  await fs.promises.mkdir(dir, { recursive: true });
  const files: string[] = [];
  const write = async (ref: ArtifactRef | undefined, name: string): Promise<void> => {
    if (!ref) return;
    const file = path.join(dir, name);
    await fs.promises.writeFile(file, await store.get(ref));
    files.push(file);
  };
  const o = state.outputs ?? {};
  const exportSummary = state.stages['export']?.summary as { fileName?: string } | undefined;
  const modelName = exportSummary?.fileName ?? 'model.quant.onnx';
  await write(o[ROLES.outputModel], modelName);
  await write(o[ROLES.outputModelData], `${modelName}_data`);
  await write(o[ROLES.comparison], 'comparison.json');
  const jobFile = path.join(dir, 'job.json');
  await fs.promises.writeFile(jobFile, JSON.stringify(jobSummary(state), null, 2));
  files.push(jobFile);
  return { jobId: state.jobId, dir, files };
}

/** What a user wants to see of a job state (no plan, no refs beyond the outputs). */
export function jobSummary(st: JobState): Record<string, unknown> {
  return {
    jobId: st.jobId,
    jobKey: st.jobKey,
    status: st.status,
    ...(st.error ? { error: st.error } : {}),
    stages: Object.fromEntries(
      st.plan.stages.map((s) => {
        const x = st.stages[s.name];
        return [
          s.name,
          {
            status: x?.status,
            cached: x?.cached ?? false,
            attempts: x?.attempts ?? 0,
            durationMs: x?.startedAtMs && x?.finishedAtMs ? x.finishedAtMs - x.startedAtMs : undefined,
            ...(x?.error ? { error: x.error } : {}),
            ...(x?.summary !== undefined ? { summary: x.summary } : {}),
          },
        ];
      }),
    ),
    outputs: st.outputs ?? {},
    submittedAtMs: st.submittedAtMs,
    updatedAtMs: st.updatedAtMs,
  };
}

/** Every job state in the bucket. */
export async function listJobs(bus: EventBus): Promise<JobState[]> {
  const all = new Map<string, JobState>();
  const stop = await bus.kv.watch<JobState>('job.*', (e) => {
    if (e.value) all.set(e.key, e.value);
    else all.delete(e.key);
  });
  await new Promise((r) => setTimeout(r, 300)); // let the delivered initial values drain
  await stop();
  return [...all.values()].sort((a, b) => a.submittedAtMs - b.submittedAtMs);
}

// ---------------------------------------------------------------- command

const COMMON: FlagSpec[] = [
  { name: 'nats', kind: 'string', help: 'NATS URL of the cluster (default $NATS_URL; none: run in this process on the in-memory bus)' },
  { name: 'namespace', kind: 'string', help: 'NATS namespace of the work queues and job bucket (default $MODELOPT_NATS_NAMESPACE; unset in production)' },
  { name: 'json', kind: 'bool', help: 'print JSON on stdout' },
];
const SUBMIT_FLAGS: FlagSpec[] = [
  { name: 'wait', kind: 'bool', help: 'wait for every job, showing counts by status (implied without NATS)' },
  { name: 'out', kind: 'string', help: 'with --wait: download each completed job into DIR/<job id>/ (model, comparison.json, job.json); default without NATS: ./modelopt-batch-out' },
  { name: 'force', kind: 'bool', help: 'run jobs that already completed again (finished stages still come from the cache)' },
  { name: 'workers', kind: 'bool', help: 'with NATS: also run stage workers of all services in this process' },
  { name: 'timeout', kind: 'int', help: 'with --wait: give up after this many seconds (default 3600)' },
  ...COMMON,
];
const STATUS_FLAGS: FlagSpec[] = [{ name: 'all', kind: 'bool', help: 'every job in the bucket' }, ...COMMON];

const USAGE = `usage: modelopt batch submit <jobs.json> [options]
       modelopt batch status [<job id> ... | --all] [options]

jobs.json: a list of jobs { "model": "a.onnx", "calibrationData": "a.calib.npz", "evalData": "a.eval.npz", "compare": true,
"options": { "quantizeMode": "int8", "calibrationMethod": "minmax" } } or a cross product
{ "models": [...], "configs": [{ "name": "mm", "quantizeMode": "int8", "calibrationMethod": "minmax" }] }
(options are QuantizeOptions fields; paths are relative to the jobs file).

submit options:
${flagHelp(SUBMIT_FLAGS)}

status options:
${flagHelp(STATUS_FLAGS)}`;

interface Session {
  runtime: MeshRuntime;
  nats: boolean;
  close(): Promise<void>;
}

async function openSession(values: Record<string, unknown>, workers: boolean): Promise<Session> {
  const natsUrl = (typeof values['nats'] === 'string' ? values['nats'] : process.env['NATS_URL']) ?? '';
  const namespace = (typeof values['namespace'] === 'string' ? values['namespace'] : process.env['MODELOPT_NATS_NAMESPACE']) || undefined;
  const storeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'modelopt-batch-'));
  const cleanup = (): void => fs.rmSync(storeRoot, { recursive: true, force: true });
  try {
    if (natsUrl && !workers) {
      const runtime = await createRuntime({ natsUrl, storeRoot, natsNamespace: namespace });
      return { runtime, nats: true, close: async () => (await runtime.close(), cleanup()) };
    }
    const config = defaultConfig({ host: '127.0.0.1', storeRoot, natsUrl, logLevel: 'error' });
    const mesh: EmbeddedMesh = await startEmbedded({ config, logger: createLogger({ name: 'modelopt-batch', level: 'error' }), basePort: 0, natsNamespace: namespace });
    return { runtime: mesh.runtime, nats: Boolean(natsUrl), close: async () => (await mesh.stop('batch finished'), cleanup()) };
  } catch (err) {
    cleanup();
    throw err;
  }
}

const print = (s: string): void => void process.stdout.write(`${s}\n`);

async function runSubmit(argv: string[]): Promise<number> {
  const { values, positional } = parseFlags(argv, SUBMIT_FLAGS);
  if (positional.length !== 1) throw new InvalidArgument('batch submit takes one jobs file');
  const specs = loadJobsFile(positional[0]!);
  const session = await openSession(values, values['workers'] === true);
  try {
    const wait = values['wait'] === true || !session.nats;
    // in process the store is temporary: keep the results unless told where
    const outDir = typeof values['out'] === 'string' ? path.resolve(values['out']) : session.nats ? undefined : path.resolve('modelopt-batch-out');
    if (outDir && !wait) throw new InvalidArgument('--out needs --wait');
    const t0 = Date.now();
    const submitted = await submitBatch(session.runtime, specs, {
      force: values['force'] === true,
      onSubmitted: (j) => {
        if (!values['json']) print(`${j.jobId}${j.alreadyCompleted ? '  (already completed)' : ''}`);
      },
    });
    if (!wait) {
      if (values['json']) print(JSON.stringify({ jobs: submitted }, null, 2));
      return 0;
    }
    const ids = submitted.map((j) => j.jobId);
    let lastLine = 0;
    const states = await waitBatch(session.runtime.bus, ids, {
      timeoutMs: (typeof values['timeout'] === 'number' ? values['timeout'] : 3600) * 1000,
      onProgress: (c) => {
        // at most one line a second (hundreds of jobs change state often), and always the last one
        const now = Date.now();
        if (values['json'] || (now - lastLine < 1000 && c.completed + c.failed < ids.length)) return;
        lastLine = now;
        process.stderr.write(`[batch ${((now - t0) / 1000).toFixed(1)}s] ${formatCounts(c, ids.length)}\n`);
      },
    });
    const downloads = new Map<string, DownloadedJob>();
    if (outDir) for (const st of states) if (st.status === 'completed') downloads.set(st.jobId, await downloadJobOutputs(session.runtime.artifacts, st, outDir));
    const elapsedS = (Date.now() - t0) / 1000;
    const counts = countByStatus(states);
    if (outDir) {
      await fs.promises.writeFile(path.join(outDir, 'batch.json'), JSON.stringify({ elapsedS, counts, jobs: states.map(jobSummary) }, null, 2));
    }
    if (values['json']) {
      print(JSON.stringify({ elapsedS, counts, jobs: states.map((s) => ({ ...jobSummary(s), files: downloads.get(s.jobId)?.files ?? [] })) }, null, 2));
    } else {
      for (const st of states) {
        const cached = Object.values(st.stages).filter((s) => s.cached).length;
        const where = downloads.get(st.jobId)?.dir;
        print(
          st.status === 'completed'
            ? `completed  ${st.jobId}${cached ? `  (${cached} stage(s) from cache)` : ''}${where ? `  → ${where}` : ''}`
            : `${st.status.padEnd(9)}  ${st.jobId}  ${st.error ? `at ${st.error.stage}: ${st.error.code}: ${st.error.message}` : ''}`,
        );
      }
      print(`${formatCounts(counts, states.length)} in ${elapsedS.toFixed(1)} s`);
    }
    return counts.failed ? 1 : 0;
  } finally {
    await session.close();
  }
}

async function runStatus(argv: string[]): Promise<number> {
  const { values, positional } = parseFlags(argv, STATUS_FLAGS);
  if (!values['all'] && positional.length === 0) throw new InvalidArgument('batch status needs job ids or --all');
  const natsUrl = (typeof values['nats'] === 'string' ? values['nats'] : process.env['NATS_URL']) ?? '';
  if (!natsUrl) throw new InvalidArgument('batch status reads the cluster\'s job bucket: give --nats URL (or set NATS_URL)');
  const session = await openSession(values, false);
  try {
    let states: JobState[];
    const missing: string[] = [];
    if (values['all']) states = await listJobs(session.runtime.bus);
    else {
      states = [];
      for (const id of positional) {
        const st = await getJobState(session.runtime.bus.kv, id);
        if (st) states.push(st);
        else missing.push(id);
      }
    }
    if (values['json']) print(JSON.stringify({ counts: countByStatus(states), jobs: states.map(jobSummary), missing }, null, 2));
    else {
      for (const st of states) {
        const stages = st.plan.stages.map((s) => `${s.name}:${st.stages[s.name]?.status ?? '?'}${st.stages[s.name]?.cached ? '*' : ''}`).join(' ');
        print(`${st.status.padEnd(9)}  ${st.jobId}  ${stages}${st.error ? `  ${st.error.stage}: ${st.error.code}: ${st.error.message}` : ''}`);
      }
      for (const id of missing) print(`unknown    ${id}  (no ${jobKvKey(id)} in the job bucket)`);
      print(formatCounts(countByStatus(states), states.length));
    }
    return missing.length ? 1 : 0;
  } finally {
    await session.close();
  }
}

export const batchCommand: Command = {
  summary: 'submit many quantization jobs to the cluster (NATS JetStream) and follow them',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'submit') return runSubmit(rest);
    if (sub === 'status') return runStatus(rest);
    throw new InvalidArgument(sub ? `unknown batch subcommand "${sub}" (submit or status)` : 'batch needs a subcommand: submit or status');
  },
};

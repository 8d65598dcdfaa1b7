/**
 * ORT profiling (SPEC §6) with onnxruntime-node on the CPU execution provider.
 *
 * Timing follows the reference: random uniform [0,1) inputs; warm up until 0.2 s of cumulative
 * run time; then run while iterations < 10 or elapsed run time < 3.0 s, capped at 1000. Each run
 * is timed on its own (wall clock around `session.run`), giving min/max/mean/median/p90/p95/p99.
 *
 * Per-node and per-op-type times come from a second session with onnxruntime's profiler on
 * (profiling every node slows each run, so it does not share the timed session): one warm-up run,
 * then `layerwiseRuns` runs whose `cat: "Node"` `*_kernel_time` events are averaged per run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { Cancelled, InvalidArgument, isDomainError } from '../core/errors.js';
import { verifyEngineHeader } from '../core/engine/header.js';
import { inputSpecs, randomFeeds, type InputSpec } from './random-inputs.js';
import { latencyStats, type LatencyStats } from './stats.js';

export const ORT_PROFILE_DEFAULTS = {
  warmUpS: 0.2,
  minIterations: 10,
  minDurationS: 3.0,
  maxIterations: 1000,
  layerwiseRuns: 10,
} as const;

/** The model to profile: plain ONNX bytes, or an engine from trt-builder's ORT build (header checked). */
export type ProfileInput = { onnx: Uint8Array } | { engine: Uint8Array };

export interface OrtProfileOptions {
  warmUpS?: number;
  minIterations?: number;
  minDurationS?: number;
  maxIterations?: number;
  /** Per-node times from onnxruntime's profiler (default true). */
  layerwise?: boolean;
  layerwiseRuns?: number;
  /** Input shapes by name; dynamic dims not given here are 1. */
  shapes?: Readonly<Record<string, number[]>>;
  seed?: number;
  intraOpNumThreads?: number;
  /** Return onnxruntime's raw profile JSON as `rawTrace` (layerwise only). */
  keepTrace?: boolean;
  /** Stops the loops between runs (the call then rejects with Cancelled). */
  signal?: AbortSignal;
}

export interface NodeTime {
  name: string;
  opType: string;
  /** Mean ms per profiled run. */
  meanMs: number;
  /** Share of all node time, 0..1. */
  share: number;
}

export interface OpTypeTime {
  opType: string;
  nodes: number;
  /** Sum over the op type's nodes of their mean ms per run. */
  totalMs: number;
  share: number;
}

export interface OrtProfile {
  runtime: 'ORT';
  executionProvider: 'CPUExecutionProvider';
  inputs: InputSpec[];
  warmUpIterations: number;
  iterations: number;
  /** Wall time of the timed loop, seconds. */
  elapsedS: number;
  latencyMs: LatencyStats;
  /** Inferences per second over the timed loop. */
  throughput: number;
  /** The reference's figure: mean `model_run` duration of the profiled session, ms (NaN without layerwise). */
  referenceLatencyMs: number;
  layerwiseRuns: number;
  /** Slowest first. */
  nodes: NodeTime[];
  /** Slowest first. */
  opTypes: OpTypeTime[];
  /** onnxruntime's profile JSON, when `keepTrace` was set. */
  rawTrace?: string;
}

interface TraceEvent {
  cat?: unknown;
  name?: unknown;
  dur?: unknown;
  ts?: unknown;
  args?: unknown;
}

function modelBytes(input: ProfileInput): Uint8Array {
  if ('engine' in input) return verifyEngineHeader(input.engine).engine;
  if (!(input.onnx instanceof Uint8Array) || input.onnx.length === 0) throw new InvalidArgument('profile: empty model bytes');
  return input.onnx;
}

async function createSession(bytes: Uint8Array, opts: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], logSeverityLevel: 4, ...opts });
  } catch (err) {
    throw new InvalidArgument(`profile: onnxruntime cannot load the model: ${(err as Error).message}`);
  }
}

function positive(name: string, v: number, integer: boolean): number {
  if (!Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new InvalidArgument(`profile: ${name} must be a non-negative ${integer ? 'integer' : 'number'}, got ${v}`);
  }
  return v;
}

/** Profiles a model on onnxruntime-node's CPU provider. */
export async function profileOrt(input: ProfileInput, options: OrtProfileOptions = {}): Promise<OrtProfile> {
  const warmUpS = positive('warmUpS', options.warmUpS ?? ORT_PROFILE_DEFAULTS.warmUpS, false);
  const minIterations = positive('minIterations', options.minIterations ?? ORT_PROFILE_DEFAULTS.minIterations, true);
  const minDurationS = positive('minDurationS', options.minDurationS ?? ORT_PROFILE_DEFAULTS.minDurationS, false);
  const maxIterations = positive('maxIterations', options.maxIterations ?? ORT_PROFILE_DEFAULTS.maxIterations, true);
  const layerwiseRuns = positive('layerwiseRuns', options.layerwiseRuns ?? ORT_PROFILE_DEFAULTS.layerwiseRuns, true);
  if (minIterations < 1 || maxIterations < 1) throw new InvalidArgument('profile: iterations must be ≥ 1');
  const bytes = modelBytes(input);
  const threads = options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {};

  const session = await createSession(bytes, { graphOptimizationLevel: 'all', ...threads });
  let inputs: InputSpec[];
  let timed: { samples: number[]; warmUp: number; elapsedS: number };
  try {
    inputs = inputSpecs(session, options.shapes);
    const feeds = randomFeeds(inputs, options.seed ?? 0);
    try {
      timed = await timedLoop(session, feeds, { warmUpS, minIterations, minDurationS, maxIterations }, options.signal);
    } catch (err) {
      if (isDomainError(err)) throw err;
      throw new InvalidArgument(`profile: inference failed with inputs ${inputs.map((i) => `${i.name}:${i.dtype}[${i.shape.join('x')}]`).join(', ')}: ${(err as Error).message}`);
    }
  } finally {
    await session.release();
  }

  const layers = options.layerwise === false || layerwiseRuns === 0
    ? { nodes: [], opTypes: [], referenceLatencyMs: NaN, runs: 0, raw: '' }
    : await nodeTimes(bytes, inputs, options.seed ?? 0, layerwiseRuns, threads, options.signal);

  return {
    runtime: 'ORT',
    executionProvider: 'CPUExecutionProvider',
    inputs,
    warmUpIterations: timed.warmUp,
    iterations: timed.samples.length,
    elapsedS: timed.elapsedS,
    latencyMs: latencyStats(timed.samples),
    throughput: timed.samples.length / timed.elapsedS,
    referenceLatencyMs: layers.referenceLatencyMs,
    layerwiseRuns: layers.runs,
    nodes: layers.nodes,
    opTypes: layers.opTypes,
    ...(options.keepTrace && layers.raw ? { rawTrace: layers.raw } : {}),
  };
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Cancelled('profile: cancelled');
}

interface LoopLimits {
  warmUpS: number;
  minIterations: number;
  minDurationS: number;
  maxIterations: number;
}

/** The reference's loop: warm-up by cumulative run time, then iterations/duration bounds. */
export async function timedLoop(
  session: ort.InferenceSession,
  feeds: ort.InferenceSession.FeedsType,
  limits: LoopLimits,
  signal?: AbortSignal,
): Promise<{ samples: number[]; warmUp: number; elapsedS: number }> {
  let runTime = 0;
  let warmUp = 0;
  while (runTime < limits.warmUpS * 1e3) {
    checkAborted(signal);
    const t0 = performance.now();
    await session.run(feeds);
    runTime += performance.now() - t0;
    warmUp++;
  }
  const samples: number[] = [];
  runTime = 0;
  const start = performance.now();
  while ((samples.length < limits.minIterations || runTime < limits.minDurationS * 1e3) && samples.length < limits.maxIterations) {
    checkAborted(signal);
    const t0 = performance.now();
    await session.run(feeds);
    const dt = performance.now() - t0;
    samples.push(dt);
    runTime += dt;
  }
  return { samples, warmUp, elapsedS: (performance.now() - start) / 1e3 };
}

async function nodeTimes(
  bytes: Uint8Array,
  inputs: InputSpec[],
  seed: number,
  runs: number,
  threads: { intraOpNumThreads?: number },
  signal?: AbortSignal,
): Promise<{ nodes: NodeTime[]; opTypes: OpTypeTime[]; referenceLatencyMs: number; runs: number; raw: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort-profile-'));
  try {
    const session = await createSession(bytes, {
      graphOptimizationLevel: 'all',
      enableProfiling: true,
      profileFilePrefix: path.join(dir, 'ort_profile'),
      ...threads,
    });
    try {
      const feeds = randomFeeds(inputs, seed);
      for (let i = 0; i < runs + 1; i++) {
        checkAborted(signal);
        await session.run(feeds);
      }
      session.endProfiling();
    } finally {
      await session.release();
    }
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new InvalidArgument('profile: onnxruntime wrote no profile file');
    const raw = fs.readFileSync(path.join(dir, file), 'utf8');
    return { ...summariseOrtTrace(raw), raw };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * onnxruntime's profile JSON (Chrome trace events) → per-node and per-op-type mean ms per run.
 * The first `model_run` is a warm-up and its node events are left out; `referenceLatencyMs` is the
 * mean over all `model_run` events, as the reference computes it.
 */
export function summariseOrtTrace(json: string): { nodes: NodeTime[]; opTypes: OpTypeTime[]; referenceLatencyMs: number; runs: number } {
  let events: unknown;
  try {
    events = JSON.parse(json);
  } catch (err) {
    throw new InvalidArgument(`profile: onnxruntime profile is not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(events)) throw new InvalidArgument('profile: onnxruntime profile is not an array of trace events');
  const evs = events.filter((e): e is TraceEvent => typeof e === 'object' && e !== null);
  const runsEv = evs
    .filter((e) => e.name === 'model_run' && typeof e.dur === 'number' && typeof e.ts === 'number')
    .sort((a, b) => (a.ts as number) - (b.ts as number));
  if (runsEv.length === 0) throw new InvalidArgument('profile: onnxruntime profile has no model_run events');
  const referenceLatencyMs = runsEv.reduce((a, e) => a + (e.dur as number), 0) / runsEv.length / 1e3;
  const firstEnd = runsEv.length > 1 ? (runsEv[0]!.ts as number) + (runsEv[0]!.dur as number) : -Infinity;
  const runs = runsEv.length > 1 ? runsEv.length - 1 : 1;

  const perNode = new Map<string, { opType: string; us: number }>();
  for (const e of evs) {
    if (e.cat !== 'Node' || typeof e.name !== 'string' || !e.name.endsWith('_kernel_time')) continue;
    if (typeof e.dur !== 'number' || typeof e.ts !== 'number' || e.ts < firstEnd) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    const args = (typeof e.args === 'object' && e.args !== null ? e.args : {}) as Record<string, unknown>;
    const opType = typeof args['op_name'] === 'string' ? args['op_name'] : 'unknown';
    const cur = perNode.get(name) ?? { opType, us: 0 };
    cur.us += e.dur;
    perNode.set(name, cur);
  }
  const totalUs = [...perNode.values()].reduce((a, n) => a + n.us, 0);
  const nodes: NodeTime[] = [...perNode.entries()]
    .map(([name, n]) => ({ name, opType: n.opType, meanMs: n.us / runs / 1e3, share: totalUs > 0 ? n.us / totalUs : 0 }))
    .sort((a, b) => b.meanMs - a.meanMs);
  const byOp = new Map<string, OpTypeTime>();
  for (const n of nodes) {
    const cur = byOp.get(n.opType) ?? { opType: n.opType, nodes: 0, totalMs: 0, share: 0 };
    cur.nodes++;
    cur.totalMs += n.meanMs;
    cur.share += n.share;
    byOp.set(n.opType, cur);
  }
  const opTypes = [...byOp.values()].sort((a, b) => b.totalMs - a.totalMs);
  return { nodes, opTypes, referenceLatencyMs, runs };
}

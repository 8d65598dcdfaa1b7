/**
 * TRT profiling through trtexec (SPEC §5 constants, §6 parsing): the engine (header verified and
 * stripped) is written to a temp file and run by trtexec with the reference's settings — 500 ms
 * warm-up, one profiling run of 100 inferences, GPU 0 — and, for layerwise times, a separate
 * profiling run whose exported JSON is mapped onto ONNX node names. Where trtexec is not found the
 * call answers FailedPrecondition.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FailedPrecondition, Internal, InvalidArgument } from '../core/errors.js';
import { verifyEngineHeader } from '../core/engine/header.js';
import { parseTrtexecLog, type TrtexecProfileLog } from './trtexec-log.js';
import { mapTrtLayers } from './trt-layers.js';
import type { LatencyStats } from './stats.js';

/** The reference's trtexec location, then $PATH. `MODELOPT_TRTEXEC` overrides both. */
export const TRTEXEC_CANDIDATES = ['/usr/src/tensorrt/bin/trtexec'];

export const TRT_PROFILE_DEFAULTS = {
  warmUpMs: 500,
  iterations: 100,
  avgRuns: 100,
  device: 0,
  timeoutMs: 600_000,
} as const;

export interface TrtProfileOptions {
  trtexecPath?: string;
  /** ONNX node names in graph order, for the layerwise mapping. */
  nodeNames?: readonly string[];
  layerwise?: boolean;
  /** trtexec --shapes, e.g. "input:4x3x224x224" (dynamic engines). */
  shapes?: string;
  timeoutMs?: number;
}

export interface TrtProfile {
  runtime: 'TRT';
  /** Host latency statistics from the performance summary, ms. */
  latencyMs: LatencyStats;
  /** GPU compute time statistics, ms (when trtexec printed them). */
  gpuComputeMs: LatencyStats | undefined;
  throughput: number;
  /** Latency[1] = max, as the reference reports [quirk]. */
  referenceLatencyMs: number;
  /** ONNX node key (" + "-joined) → ms, in trtexec's layer order; empty without layerwise. */
  layers: Array<{ node: string; ms: number }>;
  log: TrtexecProfileLog;
  rawLog: string;
  rawProfileJson: string;
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The trtexec to run, or undefined. */
export function findTrtexec(explicit?: string): string | undefined {
  const env = process.env['MODELOPT_TRTEXEC'];
  for (const p of [explicit, env, ...TRTEXEC_CANDIDATES]) if (p && isExecutable(p)) return p;
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, 'trtexec'))) return path.join(dir, 'trtexec');
  }
  return undefined;
}

function stats(log: TrtexecProfileLog, key: string): LatencyStats | undefined {
  const l = log.performanceSummary.lists[key];
  if (!l || l.min === undefined || l.max === undefined || l.mean === undefined || l.median === undefined) return undefined;
  const p = (v: number | undefined) => v ?? NaN;
  return { min: l.min, max: l.max, mean: l.mean, median: l.median, p90: p(l.p90), p95: p(l.p95), p99: p(l.p99) };
}

function run(bin: string, args: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** Profiles a hashed engine with trtexec. */
export async function profileTrt(hashedEngine: Uint8Array, opts: TrtProfileOptions = {}): Promise<TrtProfile> {
  const engine = verifyEngineHeader(hashedEngine).engine;
  if (opts.shapes !== undefined && !/^[^,:]+:\d+(x\d+)*(,[^,:]+:\d+(x\d+)*)*$/.test(opts.shapes)) {
    throw new InvalidArgument(`profile: shapes "${opts.shapes}" is not name:d0xd1x…[,…]`);
  }
  const bin = findTrtexec(opts.trtexecPath);
  if (!bin) {
    throw new FailedPrecondition(
      `profile: runtime TRT needs trtexec (looked at $MODELOPT_TRTEXEC, ${TRTEXEC_CANDIDATES.join(', ')} and $PATH); this host has no TensorRT`,
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trt-profile-'));
  try {
    const enginePath = path.join(dir, 'model.engine');
    const profilePath = path.join(dir, 'profile.json');
    fs.writeFileSync(enginePath, engine);
    const args = [
      `--loadEngine=${enginePath}`,
      `--warmUp=${TRT_PROFILE_DEFAULTS.warmUpMs}`,
      `--iterations=${TRT_PROFILE_DEFAULTS.iterations}`,
      `--avgRuns=${TRT_PROFILE_DEFAULTS.avgRuns}`,
      '--duration=0',
      `--device=${TRT_PROFILE_DEFAULTS.device}`,
      '--percentile=90,95,99',
      ...(opts.shapes ? [`--shapes=${opts.shapes}`] : []),
      ...(opts.layerwise ? ['--separateProfileRun', `--exportProfile=${profilePath}`] : []),
    ];
    const { code, out } = await run(bin, args, opts.timeoutMs ?? TRT_PROFILE_DEFAULTS.timeoutMs);
    if (code !== 0) {
      const tail = out.trim().split('\n').slice(-8).join('\n');
      throw new Internal(`profile: trtexec exited with ${code}:\n${tail}`);
    }
    const log = parseTrtexecLog(out, 'profile');
    const latencyMs = stats(log, 'Latency')!;
    let rawProfileJson = '';
    let layers: Array<{ node: string; ms: number }> = [];
    if (opts.layerwise) {
      if (!fs.existsSync(profilePath)) throw new Internal('profile: trtexec wrote no layer profile (--exportProfile)');
      rawProfileJson = fs.readFileSync(profilePath, 'utf8');
      layers = [...mapTrtLayers(rawProfileJson, opts.nodeNames ?? []).entries()].map(([node, ms]) => ({ node, ms }));
    }
    return {
      runtime: 'TRT',
      latencyMs,
      gpuComputeMs: stats(log, 'GPU Compute Time'),
      throughput: log.performanceSummary.numbers['Throughput'] ?? NaN,
      referenceLatencyMs: log.referenceLatencyMs,
      layers,
      log,
      rawLog: out,
      rawProfileJson,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One measured run for bench/calibrator.bench.ts, in its own process so that peak RSS is clean.
 *   node --import tsx bench/calibrator-child.ts <json args>
 * args: { model, data?, tensors (file of a JSON list) | tensorList, method | 'bare' | 'ort' | 'capture', level?, range?, repeat?, keepSessions? }
 * Prints one JSON line: wall seconds, CPU seconds (all threads), peak RSS (KB) and minor page faults of this process, samples.
 * `repeat` n > 1: the whole job n times in this process; wall seconds are the median of
 * jobs 2..n (JavaScript warm, as in a long-lived service), CPU seconds are all jobs'.
 */
import fs from 'node:fs';
import os from 'node:os';
import ort from 'onnxruntime-node';
import { loadModel, type ModelProto } from '../services/core/onnx/index.js';
import { calibrate } from '../services/calibrator/calibrate.js';
import { CaptureSession } from '../services/calibrator/capture-session.js';
import { SessionCache, type CalibrationSession } from '../services/calibrator/session-cache.js';
import { planCalibration } from '../services/calibrator/calibration-data.js';
import type { CalibrationMethod } from '../services/core/quant-types.js';

interface Args {
  model: string;
  data: string;
  tensors?: string;
  /** bare: our CaptureSession with no tensors (the model re-encoded, as a calibration session is); ort: onnxruntime-node
   * straight on the file's bytes, as a user would call it */
  method: CalibrationMethod | 'bare' | 'ort' | 'capture';
  level?: 'disabled' | 'basic' | 'extended' | 'all';
  histogramRange?: 'global' | 'streaming';
  stepsPerRun?: number;
  reductionStepsPerRun?: number;
  /** histogram bins (entropy: 2048 gives the search 961 candidate windows). */
  numBins?: number;
  alwaysCollectHistograms?: boolean;
  /** bare/capture: declare the inputs with the data's dims, as calibrate() does (CaptureSessionOptions.inputDims). */
  fixInputDims?: boolean;
  /** ort: onnxruntime's memory pattern (its default: on; the calibrator's sessions turn it off, see capture-session.ts) */
  memPattern?: boolean;
  /** the whole job this many times in one process (see above) */
  repeat?: number;
  /** minmax/entropy: keep the built session between the repeated jobs, as the calibrator service does */
  keepSessions?: boolean;
}
const a = JSON.parse(process.argv[2]!) as Args;
const sessions = a.keepSessions ? { cache: new SessionCache<CalibrationSession>(2), model: a.model } : undefined;
const tensors: string[] = a.tensors ? JSON.parse(fs.readFileSync(a.tensors, 'utf8')) : [];
const c0 = process.cpuUsage();
let samples = 0;
const walls: number[] = [];
for (let job = 0; job < (a.repeat ?? 1); job++) {
  // the baseline's data plan reads the model's inputs; onnxruntime itself is handed the file's bytes in the timed part
  const decoded = a.method === 'ort' ? loadModel(a.model) : undefined;
  const t0 = performance.now();
  samples = await runJob(decoded);
  walls.push((performance.now() - t0) / 1000);
}
const later = walls.slice(1).sort((x, y) => x - y);
const wall = later.length ? later[Math.floor((later.length - 1) / 2)]! : walls[0]!;
const cpu = process.cpuUsage(c0);
console.log(JSON.stringify({ wall_s: wall, cpu_s: (cpu.user + cpu.system) / 1e6, max_rss_kb: process.resourceUsage().maxRSS, minor_faults: process.resourceUsage().minorPageFault, samples }));

/** One job from the model file: reading and decoding it are part of the job (the calibrator is handed the path). */
async function runJob(decoded: ModelProto | undefined): Promise<number> {
  let samples = 0;
  if (a.method === 'ort') {
    const model = decoded!;
    // the model file's bytes as they are, the calibrator's session settings (level, one thread per core)
    const plan = planCalibration(model, { kind: 'file', path: a.data });
    const s = await ort.InferenceSession.create(fs.readFileSync(a.model), { graphOptimizationLevel: a.level ?? 'all', executionProviders: ['cpu'], intraOpNumThreads: os.availableParallelism(), logSeverityLevel: 3, enableMemPattern: a.memPattern ?? true });
    for (let i = 0; i < plan.steps; i++) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const f of plan.feedSteps(i, i + 1)) feeds[f.name] = new ort.Tensor(f.dtype as never, f.data as never, f.dims);
      await s.run(feeds);
      samples += plan.stepRows(i);
    }
    await s.release();
    plan.close();
  } else if (a.method === 'bare' || a.method === 'capture') {
    const model = loadModel(a.model, { keepSource: true });
    // plain inference over the same feeds (bare: the model's outputs only; capture: + the tensors as outputs)
    const plan = planCalibration(model, { kind: 'file', path: a.data });
    const s = await CaptureSession.create(model, a.method === 'bare' ? [] : tensors, { graphOptimizationLevel: a.level ?? 'all', inputDims: a.fixInputDims ? plan.feedDims() : undefined });
    const g = a.stepsPerRun && plan.canGroupSteps() ? a.stepsPerRun : 1;
    for (let i = 0; i < plan.steps; i += g) {
      const j = Math.min(plan.steps, i + g);
      await s.run(plan.feedSteps(i, j), a.method === 'bare' ? [] : tensors);
      for (let k = i; k < j; k++) samples += plan.stepRows(k);
    }
    await s.release();
    plan.close();
  } else {
    const t = await calibrate(a.model, { method: a.method, tensors, data: { kind: 'file', path: a.data }, session: a.level ? { graphOptimizationLevel: a.level } : undefined, histogramRange: a.histogramRange, stepsPerRun: a.stepsPerRun, reductionStepsPerRun: a.reductionStepsPerRun, histogram: a.numBins ? { numBins: a.numBins } : undefined, alwaysCollectHistograms: a.alwaysCollectHistograms, sessions });
    samples = t.samples;
  }
  return samples;
}

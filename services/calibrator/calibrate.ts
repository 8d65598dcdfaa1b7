/**
 * Calibrate: run the model batch by batch, capturing the requested tensors as extra graph outputs,
 * and reduce every batch into per-tensor statistics at once. Memory is O(tensors × bins) plus one
 * batch of activations (two while the previous batch's statistics are still being reduced), never
 * O(samples × activation size).
 */
import type { ModelProto } from '../core/onnx/index.js';
import { loadModel } from '../core/onnx/index.js';
import { Cancelled, InvalidArgument } from '../core/errors.js';
import type { CalibrationMethod, CalibrationTable } from '../core/quant-types.js';
import { CALIBRATION_METHODS } from '../core/quant-types.js';
import { planCalibration, type CalibrationDataSpec, type CalibrationPlan, type Feed } from './calibration-data.js';
import { CaptureSession, ReducingSession, checkCapturable, type CaptureSessionOptions, type Captured, type Reduced } from './capture-session.js';
import { kernelsOnFirstUse, type CalibratorKernels } from './kernels.js';
import { MAX_GROUP_STEPS, groupSteps, planReductionRuns } from './reduction-runs.js';
import { sessionKey, type CalibrationSession, type SessionCache } from './session-cache.js';
import { observeBatch } from './collectors/minmax.js';
import { ortAbsCollect, ortAbsCollectFixed, ortAbsEmptyHistogram, ortCollect, ortEmptyHistogram, WIDE_THRESHOLD } from './collectors/ort-histogram.js';
import { torchCollect } from './collectors/torch-histogram.js';
import { linspaceF32 } from '../../native/reference.js';
import { computeTable } from './methods.js';
import {
  defaultHistogramOptions,
  emptyTensorStatistics,
  type CalibrationStatistics,
  type GlobalRange,
  type HistogramOptions,
  type TensorStatistics,
  entropyHasSingleCandidate,
} from './statistics.js';

export interface CalibrationProgress {
  /** 'minmax' is the first pass of the global-range mode; 'collect' the (only or second) pass. */
  phase: 'minmax' | 'collect';
  /** steps done in this phase (1-based after each batch) and steps in this phase. */
  step: number;
  steps: number;
  /** rows of the first input fed so far in this phase. */
  samples: number;
  elapsedMs: number;
}

export interface CalibrateOptions {
  method: CalibrationMethod;
  /** activation tensors to calibrate (names in the graph). */
  tensors: readonly string[];
  /** the data; random data when absent. */
  data?: CalibrationDataSpec;
  /** a shard: steps [start, end) of the N steps (default all). */
  range?: { start: number; end: number };
  /** histogram parameters (method defaults otherwise). */
  histogram?: Partial<HistogramOptions>;
  /**
   * entropy/distribution/percentile histogram range:
   *  - 'global' (default): a min/max pass first, then every batch is histogrammed over the final
   *    [-T, T]; identical to onnxruntime's quantize_static, which histograms all samples at once;
   *  - 'streaming': one pass; the first batch sets [-T, T] and later batches use ORT's merge
   *    (the batch-wise collector semantics); cheaper, thresholds can differ by a bin or two.
   * torch_* methods default to 'streaming' (ModelOpt's torch calibrator collects batch by batch);
   * 'global' gives them a fixed [0, max|x|] layout, which makes sharded runs merge exactly.
   */
  histogramRange?: 'global' | 'streaming';
  /**
   * Sharded global-range mode: the [min, max] (and min |x| for percentile) of every tensor over ALL
   * samples, from `globalRangesOf(mergeStatistics(rangeShards))`. The min/max pass is skipped and the
   * histograms of every shard share one layout, so merged shards equal the unsharded run exactly.
   */
  globalRanges?: Record<string, GlobalRange>;
  /** run only the min/max pass (phase 'ranges'), for the first round of a sharded global-range run. */
  stopAfterRanges?: boolean;
  /**
   * Steps fed to onnxruntime per run (default 1). Larger values group consecutive steps into one run
   * when every input has a dynamic batch dimension: the statistics are the same (min/max and
   * global-range histograms do not depend on the grouping; streaming histograms then see bigger
   * batches) and per-node overhead is amortised, but onnxruntime holds every captured activation of
   * the whole group at once: measured on ppocr_rec (722 tensors), 16 steps per run took peak RSS from
   * 0.9 GB to 10.6 GB and was slower. Keep 1 unless a model has few captured tensors and a large
   * per-run overhead. The min/max pass has its own setting, `reductionStepsPerRun`.
   */
  stepsPerRun?: number;
  /**
   * Steps per run in the min/max pass, which reduces every tensor inside the graph right after it is
   * produced. Grouping amortises onnxruntime's per-node cost over the reductions (bench/calibrator.bench.ts
   * part 3). Only when every input has a dynamic batch dimension and the calibrated tensors are small enough
   * (reduction-runs.ts: larger ones gain nothing and multiply onnxruntime's arena); by default 4 steps, and
   * up to 8 where the tensors are smaller still, cut to runs of one size where the shapes are known. If a
   * grouped run fails (a model that fixes its batch inside the graph), the pass goes on one step per run and
   * says so in the notes.
   */
  reductionStepsPerRun?: number;
  session?: CaptureSessionOptions;
  /**
   * Built sessions kept between jobs of a long-lived process (session-cache.ts): `model` names the model's
   * bytes (their sha256). A job takes the min/max session and the capture session built for the same model,
   * tensors, options and feed dims where they are idle, and hands them back when it went well.
   */
  sessions?: { cache: SessionCache<CalibrationSession>; model: string };
  onProgress?: (p: CalibrationProgress) => void;
  signal?: AbortSignal;
  /** kernels to use (default: native when built, else the TS reference, chosen on first use). */
  kernels?: CalibratorKernels;
  /**
   * Collect the entropy histogram even when its counts cannot change the threshold (see
   * `entropyHasSingleCandidate`); only useful to look at the histogram. Default false.
   */
  alwaysCollectHistograms?: boolean;
}


function checkOptions(opts: CalibrateOptions): void {
  if (!CALIBRATION_METHODS.includes(opts.method)) {
    throw new InvalidArgument(`unknown calibration method '${String(opts.method)}' (one of ${CALIBRATION_METHODS.join(', ')})`);
  }
  if (!opts.tensors || opts.tensors.length === 0) throw new InvalidArgument('no tensors to calibrate were given');
  const p = opts.histogram?.percentile;
  if (p !== undefined && !(p >= 0 && p <= 100)) throw new InvalidArgument(`percentile must be in [0, 100], got ${p}`);
  const b = opts.histogram?.numBins;
  if (b !== undefined && !(Number.isInteger(b) && b >= 1)) throw new InvalidArgument(`numBins must be a positive integer, got ${b}`);
  if (opts.method === 'distribution' && b !== undefined && b < 512) {
    throw new InvalidArgument(`distribution needs at least 512 bins (onnxruntime's rule), got ${b}`);
  }
}

/** methods whose onnxruntime histogram depends on the range of all samples (see histogramRange). */
function usesOrtHistogram(m: CalibrationMethod): boolean {
  return m === 'entropy' || m === 'distribution' || m === 'percentile';
}

function minAbs(data: Float32Array): number {
  let m = Infinity;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]);
    if (a < m) m = a;
  }
  return m;
}

function resolveModel(model: ModelProto | string): ModelProto {
  // the calibrator never changes a model in place: its sessions are spliced from the file's bytes
  return typeof model === 'string' ? loadModel(model, { keepSource: true }) : model;
}

function firstInputRows(plan: CalibrationPlan, feedsDims: number[][]): number {
  // the alphabetically first input's rows in this feed
  const sorted = [...plan.inputs].map((i, k) => ({ name: i.name, k })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const d = feedsDims[sorted[0].k];
  return d.length === 0 ? 1 : d[0];
}

/** Collects mergeable statistics over the steps [start, end) (all by default). */
export async function collectStatistics(modelOrPath: ModelProto | string, options: CalibrateOptions): Promise<CalibrationStatistics> {
  checkOptions(options);
  // a tensor listed twice is calibrated once
  const opts: CalibrateOptions = { ...options, tensors: [...new Set(options.tensors)] };
  const model = resolveModel(modelOrPath);
  const kernels = opts.kernels ?? kernelsOnFirstUse;
  const hopts: HistogramOptions = { ...defaultHistogramOptions(opts.method), ...(opts.histogram ?? {}) };
  // a compressed .npz inflates on the thread pool while the sessions are built (each pass awaits plan.loaded())
  const plan = planCalibration(model, opts.data, { inflateInBackground: true });
  // the full-capture session is made on first use (a minmax run may never need it)
  let capture: CaptureSession | null = null;
  let reducing: ReducingSession | null = null;
  // sessions are built for the dims the data has (CaptureSessionOptions.inputDims)
  const inputDims = plan.feedDims();
  // sessions kept from an earlier job of this model (session-cache.ts): the capture session by its own key
  const kept = opts.sessions;
  const captureKey = kept && sessionKey(['capture', kept.model, opts.tensors, { ...opts.session, inputDims: undefined }, [...inputDims]]);
  const keptCapture = () => {
    const s = captureKey === undefined ? undefined : kept!.cache.take(captureKey);
    return s instanceof CaptureSession ? s : undefined;
  };
  const captureSession = async () => (capture ??= keptCapture() ?? (await CaptureSession.create(model, opts.tensors, { ...opts.session, inputDims })));
  /** the job went well: its capture session is handed back for the next one */
  const succeeded = async (stats: CalibrationStatistics): Promise<CalibrationStatistics> => {
    if (capture && captureKey !== undefined) {
      const done = capture;
      capture = null;
      await kept!.cache.give(captureKey, done);
    }
    return stats;
  };
  try {
    checkCapturable(model, opts.tensors);
    const start = opts.range?.start ?? 0;
    const end = opts.range?.end ?? plan.steps;
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= plan.steps && start < end)) {
      throw new InvalidArgument(`step range [${start}, ${end}) is not a non-empty part of [0, ${plan.steps})`);
    }
    const stats: CalibrationStatistics = {
      method: opts.method,
      options: hopts,
      start,
      end,
      totalSteps: plan.steps,
      samples: 0,
      tensors: Object.fromEntries(opts.tensors.map((t) => [t, emptyTensorStatistics(t)])),
      notes: [...plan.notes],
      phase: 'complete',
    };
    const groupOf = (name: string, requested: number): number => {
      if (!(Number.isInteger(requested) && requested >= 1)) throw new InvalidArgument(`${name} must be a positive integer, got ${requested}`);
      return requested > 1 && plan.canGroupSteps() ? requested : 1;
    };
    const spr = opts.stepsPerRun ?? 1;
    const group = groupOf('stepsPerRun', spr);
    if (spr > 1 && group === 1) stats.notes.push('stepsPerRun ignored: an input has a fixed batch dimension');
    // the default is settled by the tensors' sizes (groupSteps); MAX_GROUP_STEPS until then
    let reductionGroup = groupOf('reductionStepsPerRun', opts.reductionStepsPerRun ?? MAX_GROUP_STEPS);
    const isTorch = opts.method.startsWith('torch_');
    const global = (usesOrtHistogram(opts.method) || isTorch) && (opts.histogramRange ?? (isTorch ? 'streaming' : 'global')) === 'global';
    const t0 = Date.now();
    // the min/max pass alone decides the table: minmax, and entropy whose only candidate window is the range
    const rangesDecide = opts.method === 'minmax' || (opts.method === 'entropy' && entropyHasSingleCandidate(hopts) && !opts.alwaysCollectHistograms);

    /** the steps [start, end) in groups of `group`: feeds and rows of the first input (checks for cancellation). */
    function* stepGroups(size = group, from = start, to = end): Generator<{ j: number; feeds: Feed[]; rows: number }> {
      for (let i = from; i < to; i += size) {
        if (opts.signal?.aborted) throw new Cancelled('calibration cancelled');
        const j = Math.min(to, i + size);
        const feeds = plan.feedSteps(i, j);
        yield { j, feeds, rows: firstInputRows(plan, feeds.map((f) => f.dims)) };
      }
    }

    /** runs every step, handing each batch's captures to `reduce`; reduction overlaps the next inference. */
    const pass = async (phase: CalibrationProgress['phase'], reduce: (out: Map<string, Captured>) => Promise<void>): Promise<number> => {
      let pending: Promise<void> = Promise.resolve();
      let samples = 0;
      await captureSession();
      await plan.loaded();
      for (const { j, feeds, rows } of stepGroups()) {
        samples += rows;
        const out = await (await captureSession()).run(feeds);
        await pending;
        pending = reduce(out);
        // report after the reduction of this batch has been scheduled
        const step = j - start;
        const s = samples;
        pending = pending.then(() =>
          opts.onProgress?.({ phase, step, steps: end - start, samples: s, elapsedMs: Date.now() - t0 }),
        );
      }
      await pending;
      return samples;
    };

    /**
     * The min/max pass: min, max, size and a NaN/Inf check reduced inside the graph; a batch where a
     * tensor holds NaN/Inf is run again with that tensor fetched, so that its values are counted exactly.
     */
    const minmaxPass = async (): Promise<number> => {
      // Where this pass alone decides the table, level 'all' unless the caller set one (layout-optimised
      // kernels, ranges within a few 1e-6 of 'basic'); where a histogram pass follows, the capture level,
      // so that both passes see the same values (docs/compatibility.md).
      const level = opts.session?.graphOptimizationLevel ?? (rangesDecide ? 'all' : undefined);
      // steps per run, decided before the first run where the shapes follow from the data's dims (reduction-runs.ts)
      const planned = planReductionRuns(model, plan, opts.tensors, { start, end }, reductionGroup, opts.reductionStepsPerRun);
      reductionGroup = planned.group;
      let sized = planned.sized;
      let fixedDims = planned.fixedDims;
      const knownShapes = planned.knownShapes;
      const sessionOptions = { ...opts.session, graphOptimizationLevel: level, absMin: opts.method === 'percentile' };
      /** a session for feeds of any dim 0, where the fixed one fails to build or a grouped run fails in it */
      const dynamicSession = async () => {
        fixedDims = undefined;
        cacheKey = undefined;
        return ReducingSession.create(model, opts.tensors, { ...sessionOptions, inputDims });
      };
      // a session kept from an earlier job with the same model, tensors, options and feed dims (session-cache.ts)
      let cacheKey = kept && sessionKey(['reducing', kept.model, opts.tensors, { ...sessionOptions, inputDims: undefined }, [...(fixedDims ?? inputDims)]]);
      const keptReducing = cacheKey === undefined ? undefined : kept!.cache.take(cacheKey);
      reducing = keptReducing instanceof ReducingSession ? keptReducing : null;
      if (!reducing) {
        try {
          reducing = await ReducingSession.create(model, opts.tensors, { ...sessionOptions, inputDims: fixedDims ?? inputDims, knownShapes });
        } catch (e) {
          if (!(e instanceof InvalidArgument) || fixedDims === undefined || reductionGroup === 1) throw e;
          stats.notes.push(`min/max pass: no session with every dim fixed (${e.message.slice(0, 200)})`);
          reducing = await dynamicSession();
        }
      }
      await plan.loaded();
      let samples = 0;
      /** the reductions of steps [i, j) in one run; a grouped run that onnxruntime rejects is redone step by step. */
      const reduceSteps = async (i: number, j: number): Promise<{ feeds: Feed[]; rows: number; red: Map<string, Reduced> }[]> => {
        const runs = [...stepGroups(j - i, i, j)];
        if (j - i > 1) {
          try {
            return [{ ...runs[0]!, red: await reducing!.run(runs[0]!.feeds) }];
          } catch (e) {
            if (!(e instanceof InvalidArgument)) throw e;
            stats.notes.push(`min/max pass runs one step at a time: a run of ${j - i} grouped steps failed (${e.message.slice(0, 200)})`);
            reductionGroup = 1;
            if (fixedDims) {
              await reducing!.release();
              reducing = await dynamicSession();
            }
            runs.splice(0, 1, ...stepGroups(1, i, j));
          }
        }
        const res = [];
        for (const r of runs) res.push({ ...r, red: await reducing!.run(r.feeds) });
        return res;
      };
      /** folds one run's reductions into the statistics; tensors holding NaN/Inf are fetched and counted exactly. */
      const observe = async (feeds: Feed[], red: Map<string, Reduced>): Promise<void> => {
        const bad: string[] = [];
        for (const t of opts.tensors) {
          const r = red.get(t)!;
          const s = stats.tensors[t];
          if (!r.finite) {
            bad.push(t);
            continue;
          }
          s.count += r.size;
          if (r.size > 0) {
            if (!s.seen) {
              s.min = r.min;
              s.max = r.max;
              s.seen = true;
            } else {
              if (r.min < s.min) s.min = r.min;
              if (r.max > s.max) s.max = r.max;
            }
            if (r.absMin !== undefined) s.absMin = Math.min(s.absMin ?? Infinity, r.absMin);
          }
        }
        if (bad.length) {
          const out = await (await captureSession()).run(feeds, bad);
          for (const t of bad) {
            const s = stats.tensors[t];
            const finite = await observeBatch(s, out.get(t)!.data, kernels);
            if (opts.method === 'percentile' && finite.length > 0) s.absMin = Math.min(s.absMin ?? Infinity, minAbs(finite));
          }
        }
      };
      // Unless the shapes decided it, the first step runs alone and its sizes decide the grouping. Grouping
      // pays where the tensors are small (onnxruntime's per-node cost dominates) and hurts where they are
      // large (ppocr_det, tens of MB each: 2.8 s / 1.1 GB -> 4.5 s / 3.3 GB with 4 steps).
      for (let i = start; i < end; ) {
        const j = Math.min(end, i + (sized ? reductionGroup : 1));
        for (const { feeds, rows, red } of await reduceSteps(i, j)) {
          samples += rows;
          await observe(feeds, red);
          if (!sized) {
            sized = true;
            if (reductionGroup > 1) reductionGroup = groupSteps([...red.values()].map((r) => r.size / Math.max(1, rows)), opts.reductionStepsPerRun);
          }
        }
        opts.onProgress?.({ phase: 'minmax', step: j - start, steps: end - start, samples, elapsedMs: Date.now() - t0 });
        i = j;
      }
      const done = reducing;
      reducing = null;
      if (cacheKey !== undefined) await kept!.cache.give(cacheKey, done);
      else await done.release();
      return samples;
    };

    const tensorsOf = (out: Map<string, Captured>) => opts.tensors.map((t) => [stats.tensors[t], out.get(t)!.data] as const);

    if (global || opts.stopAfterRanges) {
      if (opts.globalRanges && !opts.stopAfterRanges) {
        for (const t of opts.tensors) {
          const g = opts.globalRanges[t];
          if (!g) throw new InvalidArgument(`globalRanges has no range for tensor ${t}`);
          if (opts.method === 'percentile' && g.absMin === undefined) throw new InvalidArgument(`globalRanges for ${t} lacks absMin (needed by percentile)`);
        }
      } else {
        stats.samples = await minmaxPass();
        if (opts.stopAfterRanges) {
          stats.phase = 'ranges';
          for (const s of Object.values(stats.tensors)) annotate(s);
          return succeeded(stats);
        }
      }
      if (opts.method === 'entropy' && entropyHasSingleCandidate(hopts) && !opts.alwaysCollectHistograms) {
        // the range decides the threshold (entropyHasSingleCandidate): no histogram pass
        stats.notes.push(
          `entropy with num_bins ${hopts.numBins} and num_quantized_bins ${hopts.numQuantizedBins} has a single candidate window (the whole histogram): the threshold is the global range, so the histogram pass was skipped`,
        );
        if (opts.globalRanges) {
          // a shard handed the global ranges has nothing left to run
          for (const t of opts.tensors) Object.assign(stats.tensors[t], rangeStatistics(opts.globalRanges[t]!));
          for (let i = start; i < end; i++) stats.samples += plan.stepRows(i);
        }
        for (const s of Object.values(stats.tensors)) annotate(s);
        return succeeded(stats);
      }
      const ranges: Record<string, GlobalRange> = opts.globalRanges ?? globalRangesOf(stats);
      for (const s of Object.values(stats.tensors)) {
        const g = ranges[s.tensor];
        if (isTorch) {
          const amax = Math.fround(Math.max(Math.abs(g.min), Math.abs(g.max)));
          s.torch = amax > 0 ? { hist: new Float64Array(hopts.numBins), edges: linspaceF32(0, amax, hopts.numBins) } : null;
        } else if (opts.method === 'percentile') {
          // absMin is only known when some finite value was seen
          if (g.absMin !== undefined && Number.isFinite(g.absMin)) s.ortAbs = await ortAbsEmptyHistogram(g.min, g.max, g.absMin, hopts.numBins, kernels);
        } else {
          s.ort = ortEmptyHistogram(g.min, g.max, hopts.numBins);
        }
      }
      const countInPass2 = opts.globalRanges !== undefined;
      const n2 = await pass('collect', async (out) => {
        await Promise.all(
          tensorsOf(out).map(async ([s, data]) => {
            const finite = countInPass2 ? await observeBatch(s, data, kernels) : s.nanCount + s.infCount > 0 ? finiteOnly(data) : data;
            if (isTorch) {
              s.torch = await torchCollect(s.torch ?? null, finite, hopts.numBins, hopts.skipZeros, kernels);
            } else if (opts.method === 'percentile') {
              if (s.ortAbs && finite.length > 0) s.ortAbs = await ortAbsCollectFixed(s.ortAbs, finite, kernels);
            } else {
              // every batch lies within the global [-T, T]
              s.ort = (await ortCollect(s.ort!, finite, hopts.numBins, kernels, 0)).state;
            }
          }),
        );
      });
      if (countInPass2) stats.samples = n2;
    } else if (opts.method === 'minmax') {
      stats.samples = await minmaxPass();
    } else {
      stats.samples = await pass('collect', async (out) => {
        await Promise.all(tensorsOf(out).map(([s, data]) => collectOne(s, data, opts.method, hopts, kernels)));
      });
    }
    for (const s of Object.values(stats.tensors)) annotate(s);
    return succeeded(stats);
  } finally {
    await (capture as CaptureSession | null)?.release().catch(() => undefined);
    await (reducing as ReducingSession | null)?.release().catch(() => undefined);
    plan.close();
  }
}

function finiteOnly(data: Float32Array): Float32Array {
  let bad = 0;
  for (let i = 0; i < data.length; i++) if (data[i] - data[i] !== 0) bad++;
  if (bad === 0) return data;
  const out = new Float32Array(data.length - bad);
  let k = 0;
  for (let i = 0; i < data.length; i++) if (data[i] - data[i] === 0) out[k++] = data[i];
  return out;
}

async function collectOne(s: TensorStatistics, data: Float32Array, method: CalibrationMethod, o: HistogramOptions, kernels: CalibratorKernels): Promise<void> {
  const finite = await observeBatch(s, data, kernels);
  switch (method) {
    case 'minmax':
      return;
    case 'entropy':
    case 'distribution': {
      if (finite.length === 0 && !s.ort) return;
      s.ort = (await ortCollect(s.ort ?? null, finite, o.numBins, kernels)).state;
      return;
    }
    case 'percentile':
      if (finite.length === 0 && !s.ortAbs) return;
      s.ortAbs = await ortAbsCollect(s.ortAbs ?? null, finite, o.numBins, kernels);
      return;
    case 'torch_entropy':
    case 'torch_mse':
    case 'torch_percentile':
      s.torch = await torchCollect(s.torch ?? null, finite, o.numBins, o.skipZeros, kernels);
      return;
  }
}

/** Min/max statistics standing for a given global range (a shard that only needs the range). */
function rangeStatistics(g: GlobalRange): Partial<TensorStatistics> {
  return { min: g.min, max: g.max, seen: true };
}

/** The global range of every tensor from min/max statistics (merged shards or one run). */
export function globalRangesOf(stats: CalibrationStatistics): Record<string, GlobalRange> {
  const out: Record<string, GlobalRange> = {};
  for (const [t, s] of Object.entries(stats.tensors)) {
    out[t] = { min: s.seen ? s.min : 0, max: s.seen ? s.max : 0, ...(s.absMin !== undefined ? { absMin: s.absMin } : {}) };
  }
  return out;
}

/** Adds the warnings that explain how unusual values were treated. */
function annotate(s: TensorStatistics): void {
  if (s.nanCount > 0 || s.infCount > 0) {
    s.warnings.push(
      `${s.nanCount} NaN and ${s.infCount} ±Inf value(s) of ${s.count} were counted and left out of min/max and the histogram`,
    );
  }
  const t = Math.max(Math.abs(s.min), Math.abs(s.max));
  if (s.seen && t > WIDE_THRESHOLD) {
    s.warnings.push(
      `range reaches ${t.toExponential(4)} (near float32 max, e.g. an attention-mask sentinel): 2T overflows float32, so the histogram was binned in float64 (onnxruntime fails on this tensor)`,
    );
  }
}

/** Calibrate end to end: statistics over all steps (or a shard) and the range of every tensor. */
export async function calibrate(model: ModelProto | string, opts: CalibrateOptions): Promise<CalibrationTable> {
  const stats = await collectStatistics(model, opts);
  return computeTable(stats, opts.kernels ?? kernelsOnFirstUse);
}

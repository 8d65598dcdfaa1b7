/**
 * How the min/max pass feeds its steps to onnxruntime: how many steps per run, and the dims to build its
 * session with. Grouping saves onnxruntime's per-node cost where each reduction has little to do; large
 * tensors gain nothing and multiply onnxruntime's arena. Decided from the calibrated tensors' shapes inferred
 * for the data's dims (tensor-shapes.ts) where they all follow, else after a first step run alone (calibrate.ts).
 */
import type { ModelProto } from '../core/onnx/index.js';
import { defaultOpset } from '../core/onnx/index.js';
import type { CalibrationPlan } from './calibration-data.js';
import { inferShapes, prod, type Shape } from './tensor-shapes.js';

/** the min/max pass groups steps only while no calibrated tensor holds more than this many values per sample (4 MB of float32)... */
const MAX_GROUPED_TENSOR_ELEMENTS_PER_SAMPLE = 1 << 20;
/**
 * ... and the calibrated tensors hold at most this many values per sample on average. Grouping saves
 * onnxruntime's per-node cost where each reduction has little to do, and loses cache locality where each has
 * much. First measured with 100K (2-vCPU AVX-512 VM, x bare inference, grouped vs one step per run): ppocr_cls
 * 15K values per tensor 1.44x vs 1.90x; ppocr_rec with onnxruntime's 722 tensors 74K, 2.08x vs 3.56x;
 * ultraface_rfb320 78K, even. Since the sessions are built with fixed dims and runs of one size, ppocr_rec with
 * graph-analyzer's 147 tensors (~115K; its weights held in Constant nodes do not grow with the batch) gains
 * too: 8 steps per run 1.11x against 1.24x one step per run (medians of 10 alternated rounds; peak RSS 217
 * vs 192 MB, bare inference 219 MB).
 */
const MAX_GROUPED_MEAN_ELEMENTS_PER_SAMPLE = 250_000;

/** Steps per run where the tensors are at the limits above; smaller tensors get more, up to MAX_GROUP_STEPS. */
const DEFAULT_GROUP_STEPS = 4;
/**
 * Groups grow while a run's tensors stay within 4x the per-sample limits (4M values the largest, 1M on
 * average), up to 8 steps. ppocr_cls (15K values per tensor, 38K the largest) on a 2-vCPU Zen 4 EPYC: 16 steps
 * per run 1.10x bare inference against 1.22x with 4 (medians of 12 alternated rounds). On a 2-vCPU Zen 5 EPYC
 * (1 MB L2 per core), where a fresh page costs ~11 us to fault in: 4 steps 1.22x, 8 1.25x, 16 1.35x, 32 1.61x
 * (10 rounds): every sample more in a run grows onnxruntime's arena, whose pages each process faults in once.
 * 8 is the compromise. onnxruntime's 722 ppocr_rec tensors (74K) and graph-analyzer's 147 (122K) get 4 or 5.
 */
export const MAX_GROUP_STEPS = 8;

/**
 * Steps per run of the min/max pass, given each calibrated tensor's values per sample: 1 where they are
 * over the limits above, else `requested` where the caller set it, else 4 to 16 by their size.
 */
export function groupSteps(perSample: Iterable<number>, requested: number | undefined): number {
  let [largest, total, n] = [0, 0, 0];
  for (const v of perSample) {
    largest = Math.max(largest, v);
    total += v;
    n++;
  }
  const mean = total / Math.max(1, n);
  if (largest > MAX_GROUPED_TENSOR_ELEMENTS_PER_SAMPLE || mean > MAX_GROUPED_MEAN_ELEMENTS_PER_SAMPLE) return 1;
  if (requested !== undefined) return requested;
  const fit = Math.min(
    Math.floor((DEFAULT_GROUP_STEPS * MAX_GROUPED_TENSOR_ELEMENTS_PER_SAMPLE) / Math.max(1, largest)),
    Math.floor((DEFAULT_GROUP_STEPS * MAX_GROUPED_MEAN_ELEMENTS_PER_SAMPLE) / Math.max(1, mean)),
  );
  return Math.max(DEFAULT_GROUP_STEPS, Math.min(MAX_GROUP_STEPS, fit));
}

/**
 * Steps per run that cut `n` steps into runs of one size: the largest divisor of n from ceil(group / 2) to
 * `group` (just `group` where the caller asked for it), or undefined where there is none.
 */
function evenGroup(n: number, group: number, requested: boolean): number | undefined {
  if (n <= group) return n;
  for (let g = group; g >= (requested ? group : Math.ceil(group / 2)); g--) if (n % g === 0) return g;
  return undefined;
}

/** Steps per run of the min/max pass and what its session is built for. */
export interface ReductionRuns {
  /** steps per run */
  group: number;
  /** whether the tensors' sizes decided `group` (else the first step runs alone and its sizes decide) */
  sized: boolean;
  /** every input's dims where every run feeds the same ones (dim 0 too): the session is built for them */
  fixedDims?: Map<string, (number | null)[]>;
  /** the shapes inferred for `fixedDims` (or for the group's feed), which the session then needs not infer again */
  knownShapes?: { dims: Map<string, number[]>; shapes: Map<string, Shape> };
}

/**
 * Plans the runs over steps [start, end): `group` is the most steps per run allowed (1 where steps cannot be
 * grouped), `requested` the caller's reductionStepsPerRun. An input over the per-sample limit runs one step
 * at a time. Where every step feeds the same dims and the shapes follow from them, the group is chosen from
 * the tensors' sizes (groupSteps) and cut to one that divides the steps evenly (evenGroup), so that every run
 * feeds the same dims and the session is built with all of them fixed (ppocr_cls: 8 runs of 8 samples;
 * onnxruntime builds and runs it ~10 ms faster). One step per run over steps of equal dims is built fixed too
 * (onnxruntime then folds the shape nodes away: ppocr_det's five runs ~25 ms faster).
 */
export function planReductionRuns(model: ModelProto, plan: CalibrationPlan, tensors: readonly string[], range: { start: number; end: number }, group: number, requested: number | undefined): ReductionRuns {
  const { start, end } = range;
  const steps = end - start;
  const inputDims = plan.feedDims();
  const inputRowElements = (t: string): number => inputDims.get(t)?.slice(1).reduce<number>((a, b) => a * (b ?? 0), 1) ?? 0;
  if (group > 1 && tensors.some((t) => inputRowElements(t) > MAX_GROUPED_TENSOR_ELEMENTS_PER_SAMPLE)) return { group: 1, sized: true, fixedDims: plan.sameStepDims(start, end) };
  if (group === 1) return { group, sized: false, fixedDims: plan.sameStepDims(start, end) };
  const oneStep = plan.sameStepDims(start, end);
  if (!oneStep || ![...oneStep.values()].every((d) => d.every((x) => x !== null))) return { group, sized: false };
  const stepDims = oneStep as Map<string, number[]>;
  /** the feed dims of `n` grouped steps, and the shapes inferred for them */
  const shapesOf = (n: number) => {
    const dims = new Map([...stepDims].map(([name, d]) => [name, d.length ? [d[0]! * n, ...d.slice(1)] : []]));
    return { dims, shapes: inferShapes(model.graph!, dims, defaultOpset(model)) };
  };
  const candidateSteps = Math.min(group, steps);
  const candidate = shapesOf(candidateSteps);
  const perSample = tensors.map((t) => candidate.shapes.get(t)).map((s) => (s ? prod(s) : undefined));
  if (!perSample.every((v) => v !== undefined)) return { group, sized: false };
  const groupRows = plan.stepRows(start) * candidateSteps;
  const sizedGroup = groupSteps(perSample.map((v) => v! / Math.max(1, groupRows)), requested);
  if (sizedGroup === 1) return { group: 1, sized: true, fixedDims: oneStep, knownShapes: candidateSteps === 1 ? candidate : undefined };
  const even = evenGroup(steps, sizedGroup, requested !== undefined);
  if (even === undefined) return { group: sizedGroup, sized: true, knownShapes: Math.min(sizedGroup, steps) === candidateSteps ? candidate : undefined };
  const known = even === candidateSteps ? candidate : shapesOf(even);
  return { group: even, sized: true, fixedDims: known.dims, knownShapes: known };
}

/**
 * Ranges of squeeze-excitation products, found from the per-channel rows that the min/max pass reduces
 * anyway. A squeeze-excitation block multiplies an activation x by a factor a that holds one value per sample
 * and channel (dims [N or 1, C or 1, 1, ...]), and often adds x back: t = x * a, or t = x + x * a. Both x and
 * a are calibrated, so the pass has each row's min and max of x (one row per sample and channel, see
 * ReducingSession) and each row's single value of a. Within a row, v -> f32(v * m) is monotone for a fixed
 * factor m (non-decreasing for m >= 0, non-increasing below), and v -> f32(v + f32(v * m)) is non-decreasing
 * for m >= 0 (a sum of two non-decreasing float32 steps, each rounded once, as onnxruntime computes them). So
 * t's range is the min and max over rows of those steps applied to the row's min and max of x: bit for bit
 * what reducing t would give, without reading t.
 *
 * Per run, the rows must line up: a's dims after the second are 1, and its first two are each 1 or x's. Where
 * they do not, where a factor is negative for x + x * a, or where x or a is not finite, the range is not
 * derived and the pass re-fetches t to count it exactly. ppocr_det: 14 of graph-analyzer's 144 tensors
 * (7.6M of the 56.3M elements per sample the pass reduced).
 */
import type { GraphProto, NodeProto } from '../core/onnx/index.js';
import { attrInt, attrInts, tensorToNumbers } from '../core/onnx/index.js';
import { inDefaultDomain, type GraphConstants } from './derived-ranges.js';

export interface ScaledRange {
  /** the activation x, with rows of one sample and channel each */
  source: string;
  /** the factor a: one value per sample and channel */
  factor: string;
  /** t = x * a, or t = x + x * a */
  form: 'product' | 'plusProduct';
}

/** One reduced tensor's per-row results for a run: rows = samples * channels. */
export interface ChannelRows {
  /** dim 0 of the tensor */
  samples: number;
  rows: number;
  /** elements per row */
  rest: number;
  min: ArrayLike<number>;
  max: ArrayLike<number>;
  finite: boolean;
}

const binary = (n: NodeProto, op: string) => n.opType === op && inDefaultDomain(n) && n.input.length === 2 && n.output.length === 1 && !!n.input[0] && !!n.input[1];

/** Element-wise ops of one data input. */
const UNARY = new Set(['Relu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Clip', 'Tanh', 'LeakyRelu', 'Neg', 'Identity', 'Exp', 'Softplus', 'Elu', 'Selu', 'Abs']);
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min']);
const GLOBAL_POOLS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']);
const REDUCTIONS = new Set(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSum', 'ReduceL1', 'ReduceL2']);

/**
 * Tensors of known rank >= 3 whose dims after the second are all 1, by their making: global pools, reductions
 * over every axis after the second (dims kept), and from those: element-wise steps with one-element float32
 * constants, and 1x1 unpadded convolutions (a squeeze-excitation branch: pool, 1x1 convolutions, Relu,
 * HardSigmoid).
 */
export function perChannelTensors(g: GraphProto, ranks: ReadonlyMap<string, number>, consts: GraphConstants): Set<string> {
  const out = new Set<string>();
  for (const n of g.node) {
    const t = n.output[0];
    const rank = t ? ranks.get(t) : undefined;
    if (!t || rank === undefined || rank < 3 || !inDefaultDomain(n)) continue;
    const [x] = n.input;
    let trivial = false;
    if (GLOBAL_POOLS.has(n.opType)) trivial = true;
    else if (REDUCTIONS.has(n.opType) && attrInt(n, 'keepdims', 1) === 1) {
      const axesInput = n.input[1] ? consts.tensors.get(n.input[1]) : undefined;
      const axes = (attrInts(n, 'axes') ?? (axesInput ? tensorToNumbers(axesInput) : undefined))?.map((a) => (a < 0 ? a + rank : a));
      trivial = axes !== undefined && Array.from({ length: rank - 2 }, (_, i) => i + 2).every((a) => axes.includes(a));
    } else if (UNARY.has(n.opType)) trivial = !!x && out.has(x);
    else if (ELEMENTWISE.has(n.opType)) trivial = n.input.length === 2 && n.input.every((i) => out.has(i) || consts.scalars.has(i)) && n.input.some((i) => out.has(i));
    else if (n.opType === 'Conv') {
      const kernel = attrInts(n, 'kernel_shape') ?? consts.tensors.get(n.input[1] ?? '')?.dims.slice(2).map(Number);
      const pads = attrInts(n, 'pads') ?? [];
      const autoPad = n.attribute.find((a) => a.name === 'auto_pad');
      trivial = !!x && out.has(x) && !!kernel && kernel.length === rank - 2 && kernel.every((k) => k === 1) && pads.every((p) => p === 0) && !autoPad;
    }
    if (trivial) out.add(t);
  }
  return out;
}

/**
 * The tensors among `candidates` that are x * a or x + x * a of two others of them (x and a of equal known
 * rank >= 3, a per channel by its making; reduced, so neither is itself one of these). Graph order decides:
 * a tensor chosen here is no longer a candidate source for a later one.
 */
export function scaledRanges(g: GraphProto, candidates: readonly string[], ranks: ReadonlyMap<string, number>, consts: GraphConstants): Map<string, ScaledRange> {
  const perChannel = perChannelTensors(g, ranks, consts);
  const producer = new Map<string, NodeProto>();
  for (const n of g.node) for (const o of n.output) if (o) producer.set(o, n);
  const wanted = new Set(candidates);
  const found = new Map<string, ScaledRange>();
  const reduced = (t: string) => wanted.has(t) && !found.has(t);
  const pair = (x: string, a: string) => reduced(x) && reduced(a) && x !== a && perChannel.has(a) && (ranks.get(x) ?? 0) >= 3 && ranks.get(a) === ranks.get(x);
  /** x and a of a product node, in either order */
  const productOf = (n: NodeProto | undefined): { x: string; a: string } | undefined => {
    if (!n || !binary(n, 'Mul')) return undefined;
    const [p, q] = n.input as [string, string];
    if (pair(p, q)) return { x: p, a: q };
    if (pair(q, p)) return { x: q, a: p };
    return undefined;
  };
  for (const n of g.node) {
    const t = n.output[0];
    if (!t || !wanted.has(t)) continue;
    const prod = productOf(n);
    if (prod) {
      found.set(t, { source: prod.x, factor: prod.a, form: 'product' });
      continue;
    }
    if (!binary(n, 'Add')) continue;
    for (const [x, m] of [n.input, [...n.input].reverse()] as [string, string][]) {
      const inner = productOf(producer.get(m));
      if (inner && inner.x === x) {
        found.set(t, { source: x, factor: inner.a, form: 'plusProduct' });
        break;
      }
    }
  }
  return found;
}

/**
 * t's range from x's and a's rows for one run, or undefined where it does not follow (rows that do not line
 * up, a negative factor for x + x * a, x or a not finite): t is then fetched and counted exactly.
 */
export function scaledRange(form: ScaledRange['form'], x: ChannelRows, a: ChannelRows): { min: number; max: number } | undefined {
  if (!x.finite || !a.finite || a.rest !== 1 || x.samples <= 0 || a.samples <= 0 || x.rows === 0) return undefined;
  const xChannels = x.rows / x.samples;
  const aChannels = a.rows / a.samples;
  if ((a.samples !== x.samples && a.samples !== 1) || (aChannels !== xChannels && aChannels !== 1)) return undefined;
  // a's value for sample n and channel c sits at n * sampleStride + c * channelStride
  const sampleStride = a.samples === 1 ? 0 : aChannels;
  const channelStride = aChannels === 1 ? 0 : 1;
  const ok = rowsRange(x.min, x.max, a.min, x.samples, xChannels, sampleStride, channelStride, form === 'plusProduct');
  const [lo, hi] = [rangeOut[0]!, rangeOut[1]!];
  return ok && Number.isFinite(lo) && Number.isFinite(hi) ? { min: lo, max: hi } : undefined;
}

// The row loops below run cold in a short pass (ppocr_cls: 72 calls over ~52K rows, 8-13 ms in V8's interpreter
// when written as one loop with a division per row and a destructuring swap): nested loops without division,
// results in a module-level pair (rangeOut).
const rangeOut = new Float64Array(2);

/**
 * min and max over rows of f32(v * m), or of f32(v + f32(v * m)) with `plus`, for v each row's min and max:
 * into rangeOut. false where `plus` meets a negative (or NaN) m: x + x * m is not monotone then.
 *
 * The outer rounding to float32 is done once, on the extremes: rounding is monotone, so the least of the
 * rounded values is the rounded least. A product of two float32 values is exact in a double, and so is the
 * double sum of two float32 values up to a rounding that float32 rounding then settles exactly as float32
 * addition would (53 >= 2 * 24 + 2 bits), so the extremes in doubles round to the float32 results bit for bit.
 */
function rowsRange(xmin: ArrayLike<number>, xmax: ArrayLike<number>, am: ArrayLike<number>, samples: number, channels: number, sampleStride: number, channelStride: number, plus: boolean): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  let r = 0;
  for (let n = 0; n < samples; n++) {
    let k = n * sampleStride;
    for (let c = 0; c < channels; c++, r++, k += channelStride) {
      const m = am[k]!;
      let u: number;
      let v: number;
      if (plus) {
        if (!(m >= 0)) return false;
        u = xmin[r]! + Math.fround(xmin[r]! * m);
        v = xmax[r]! + Math.fround(xmax[r]! * m);
      } else {
        u = xmin[r]! * m;
        v = xmax[r]! * m;
      }
      const least = u < v ? u : v;
      const most = u < v ? v : u;
      if (least < lo) lo = least;
      if (most > hi) hi = most;
    }
  }
  rangeOut[0] = Math.fround(lo);
  rangeOut[1] = Math.fround(hi);
  return true;
}

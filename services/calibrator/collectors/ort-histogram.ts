/**
 * onnxruntime's HistogramCollector semantics, streamed batch by batch.
 *
 * collect_value (entropy, distribution): the first batch is histogrammed over [-T, T] (T = max|x| of
 * the batch), a later batch with a larger T widens the histogram by whole strides on both sides
 * (ORT merge_histogram). With `globalThreshold` the histogram starts empty over the final [-T, T]
 * (T from a min/max pass), which gives exactly onnxruntime's one-shot histogram of all samples.
 *
 * collect_absolute_value (percentile, symmetric): |x| histogram over [min|x|, max|x|], later batches
 * extend the edges at the same width (np.arange) and add.
 *
 * Ranges whose 2T overflows float32 (values near float32 max, e.g. attention-mask sentinels, where
 * onnxruntime fails) are binned with float64 arithmetic (`wide` path): same rules, no overflow.
 */
import type { OrtAbsHistogram, OrtHistogram } from '../../../native/types.js';
import { linspaceF32 } from '../../../native/reference.js';
import type { CalibratorKernels } from '../kernels.js';

const f = Math.fround;
export const FLT_MAX = 3.4028234663852886e38;
/** above this T, 2T overflows float32 and the float32 binning of the kernels breaks down. */
export const WIDE_THRESHOLD = FLT_MAX / 2;

function minMaxOf(data: Float32Array): { min: number; max: number } {
  if (data.length === 0) return { min: 0, max: 0 };
  let mn = Infinity;
  let mx = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x < mn) mn = x;
    if (x > mx) mx = x;
  }
  return { min: mn, max: mx };
}

/** float64 histogram of data over [lo, hi] with n equal bins (last bin closed). */
function histogramWide(data: Float32Array, n: number, lo: number, hi: number, hist: Float64Array, offset = 0): void {
  const width = (hi - lo) / n;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (!(x >= lo && x <= hi)) continue;
    let b = Math.floor((x - lo) / width);
    if (b >= n) b = n - 1;
    if (b < 0) b = 0;
    hist[offset + b] += 1;
  }
}

function linspaceWide(lo: number, hi: number, n: number): Float32Array {
  const e = new Float32Array(n + 1);
  for (let k = 0; k <= n; k++) e[k] = lo + ((hi - lo) * k) / n;
  e[0] = lo;
  e[n] = hi;
  return e;
}

/** ORT collect_value + merge_histogram in float64 (for T near float32 max). Data must be finite. */
export function ortCollectWide(state: OrtHistogram | null, data: Float32Array, numBins: number): OrtHistogram {
  const { min, max } = minMaxOf(data);
  const t = Math.max(Math.abs(min), Math.abs(max));
  if (!state) {
    const hist = new Float64Array(numBins);
    const lo = t === 0 ? -0.5 : -t;
    const hi = t === 0 ? 0.5 : t;
    histogramWide(data, numBins, lo, hi, hist);
    return { hist, edges: linspaceWide(lo, hi, numBins), min, max, threshold: t };
  }
  const mn = Math.min(state.min, min);
  const mx = Math.max(state.max, max);
  const nOld = state.hist.length;
  if (t <= state.threshold) {
    const hist = Float64Array.from(state.hist);
    histogramWide(data, nOld, -state.threshold, state.threshold, hist);
    return { hist, edges: state.edges, min: mn, max: mx, threshold: state.threshold };
  }
  if (state.threshold === 0) {
    const hist = Float64Array.from(state.hist);
    histogramWide(data, nOld, -t, t, hist);
    return { hist, edges: linspaceWide(-t, t, nOld), min: mn, max: mx, threshold: t };
  }
  const stride = (2 * state.threshold) / nOld;
  const half = Math.floor((t - state.threshold) / stride) + 1;
  const n = nOld + 2 * half;
  const nt = Math.min(half * stride + state.threshold, FLT_MAX);
  const hist = new Float64Array(n);
  histogramWide(data, n, -nt, nt, hist);
  for (let i = 0; i < nOld; i++) hist[half + i] += state.hist[i];
  return { hist, edges: linspaceWide(-nt, nt, n), min: mn, max: mx, threshold: nt };
}

/**
 * One batch into an ORT value histogram. `data` must be finite. `batchAbsMax` (max |x| of the batch,
 * when the caller knows it already) saves a scan; in the global-range mode it is at most the state's T.
 */
export async function ortCollect(
  state: OrtHistogram | null,
  data: Float32Array,
  numBins: number,
  kernels: CalibratorKernels,
  batchAbsMax?: number,
): Promise<{ state: OrtHistogram; wide: boolean }> {
  let t = batchAbsMax ?? -1;
  if (t < 0 && data.length > 0) {
    const { min, max } = minMaxOf(data);
    t = Math.max(Math.abs(min), Math.abs(max));
  }
  if (t > WIDE_THRESHOLD || (state && state.threshold > WIDE_THRESHOLD)) {
    return { state: ortCollectWide(state, data, numBins), wide: true };
  }
  return { state: await kernels.ortHistogramCollect(state, data, numBins), wide: false };
}

/**
 * An empty histogram over [-T, T] for the global-range mode: every batch then takes ORT's
 * `new_threshold <= old_threshold` path, which bins exactly as one np.histogram over all samples.
 */
export function ortEmptyHistogram(min: number, max: number, numBins: number): OrtHistogram {
  const t = f(Math.max(Math.abs(min), Math.abs(max)));
  if (t > WIDE_THRESHOLD) {
    return { hist: new Float64Array(numBins), edges: linspaceWide(-t, t, numBins), min, max, threshold: t };
  }
  const edges = t === 0 ? linspaceF32(f(-0.5), f(0.5), numBins) : linspaceF32(f(-t), t, numBins);
  return { hist: new Float64Array(numBins), edges, min, max, threshold: t };
}

/** Merges two ORT value histograms (shards): exact when their edges agree, otherwise by bin centres. */
export async function ortMerge(a: OrtHistogram, b: OrtHistogram, kernels: CalibratorKernels): Promise<OrtHistogram> {
  if (a.threshold > WIDE_THRESHOLD || b.threshold > WIDE_THRESHOLD) {
    // wide: widen a (float64, ORT's stride rule) to cover b, then add b's counts at its bin centres
    let base: OrtHistogram = { ...a, hist: Float64Array.from(a.hist) };
    if (b.threshold > a.threshold) {
      if (a.threshold === 0) {
        base = { hist: Float64Array.from(a.hist), edges: linspaceWide(-b.threshold, b.threshold, a.hist.length), min: a.min, max: a.max, threshold: b.threshold };
      } else {
        const nOld = a.hist.length;
        const stride = (2 * a.threshold) / nOld;
        const half = Math.floor((b.threshold - a.threshold) / stride) + 1;
        const n = nOld + 2 * half;
        const nt = Math.min(half * stride + a.threshold, FLT_MAX);
        const hist = new Float64Array(n);
        for (let i = 0; i < nOld; i++) hist[half + i] = a.hist[i];
        base = { hist, edges: linspaceWide(-nt, nt, n), min: a.min, max: a.max, threshold: nt };
      }
    }
    const n = base.hist.length;
    const width = (2 * base.threshold) / n;
    for (let i = 0; i < b.hist.length; i++) {
      if (b.hist[i] === 0) continue;
      const c = (b.edges[i] + b.edges[i + 1]) / 2;
      let k = width > 0 ? Math.floor((c + base.threshold) / width) : 0;
      k = Math.min(Math.max(k, 0), n - 1);
      base.hist[k] += b.hist[i];
    }
    return { ...base, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
  }
  return kernels.ortHistogramMerge(a, b);
}

/** One batch into an ORT |x| histogram (percentile). `data` must be finite. */
export async function ortAbsCollect(
  state: OrtAbsHistogram | null,
  data: Float32Array,
  numBins: number,
  kernels: CalibratorKernels,
): Promise<OrtAbsHistogram> {
  if (data.length === 0) return state ?? kernels.ortAbsHistogramCollect(null, data, numBins);
  return kernels.ortAbsHistogramCollect(state, data, numBins);
}

/**
 * An empty |x| histogram with the edges onnxruntime's first (and, in quantize_static, only) call makes:
 * np.histogram(|x|, numBins) over [min|x|, max|x|]. Built by histogramming the two end values and
 * taking them out again, so the edges are bit-identical to the kernel's.
 */
export async function ortAbsEmptyHistogram(
  min: number,
  max: number,
  absMin: number,
  numBins: number,
  kernels: CalibratorKernels,
): Promise<OrtAbsHistogram> {
  const absMax = Math.max(Math.abs(min), Math.abs(max));
  const probe = await kernels.ortAbsHistogramCollect(null, Float32Array.of(absMin, absMax), numBins);
  const hist = new Float64Array(probe.hist.length);
  return { hist, edges: probe.edges, min, max };
}

/**
 * One batch into a fixed-range |x| histogram (global mode): np.histogram(|x|, numBins) over the
 * state's [first edge, last edge], through the kernel's uniform-bin path. The batch is extended by the
 * two end values (so the kernel picks exactly the state's range), whose counts are then taken out.
 */
export async function ortAbsCollectFixed(state: OrtAbsHistogram, data: Float32Array, kernels: CalibratorKernels): Promise<OrtAbsHistogram> {
  if (data.length === 0) return state;
  const n = state.hist.length;
  const lo = state.edges[0];
  const hi = state.edges[n];
  const buf = new Float32Array(data.length + 2);
  buf.set(data);
  buf[data.length] = lo;
  buf[data.length + 1] = hi;
  const r = await kernels.ortAbsHistogramCollect(null, buf, n);
  const hist = Float64Array.from(state.hist);
  for (let i = 0; i < n; i++) hist[i] += r.hist[i];
  hist[0] -= 1;
  hist[n - 1] -= 1;
  return { hist, edges: state.edges, min: state.min, max: state.max };
}

/** Merges two |x| histograms: b's counts at its bin centres are added into a's (extended) edges. */
export function ortAbsMerge(a: OrtAbsHistogram, b: OrtAbsHistogram): OrtAbsHistogram {
  const sameEdges = a.edges.length === b.edges.length && a.edges.every((v, i) => v === b.edges[i]);
  const nmin = Math.min(a.min, b.min);
  const nmax = Math.max(a.max, b.max);
  if (sameEdges) {
    const hist = new Float64Array(a.hist.length);
    for (let i = 0; i < hist.length; i++) hist[i] = a.hist[i] + b.hist[i];
    return { hist, edges: a.edges, min: nmin, max: nmax };
  }
  // the one with the lower first edge is the base; extend it at its width to cover the other's last edge
  const [base, other] = a.edges[0] <= b.edges[0] ? [a, b] : [b, a];
  let edges = base.edges;
  const last = other.edges[other.edges.length - 1];
  if (last > edges[edges.length - 1]) {
    const width = f(edges[1] - edges[0]);
    const extra: number[] = [];
    let e = edges[edges.length - 1];
    while (e < last) {
      e = f(e + width);
      extra.push(e);
    }
    const ne = new Float32Array(edges.length + extra.length);
    ne.set(edges);
    ne.set(extra, edges.length);
    edges = ne;
  }
  const n = edges.length - 1;
  const hist = new Float64Array(n);
  hist.set(base.hist);
  for (let i = 0; i < other.hist.length; i++) {
    const w = other.hist[i];
    if (w === 0) continue;
    const c = f((other.edges[i] + other.edges[i + 1]) * 0.5);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] <= c) lo = mid + 1;
      else hi = mid;
    }
    hist[Math.min(Math.max(lo - 1, 0), n - 1)] += w;
  }
  return { hist, edges, min: nmin, max: nmax };
}

/**
 * Plain TypeScript reference implementations of every native kernel (see ./types.ts for the
 * contract). They are the test oracle of the C++ addon and a readable statement of the maths.
 *
 * Float32 arithmetic is emulated with Math.fround at every step where the original (numpy /
 * onnxruntime / ModelOpt) computes in float32, so that results match bit for bit where stated:
 *  - ORT histograms: counts and edges identical to numpy.histogram on float32 data;
 *  - numpy float32 sums use numpy's pairwise summation (8 accumulators, blocks of 128);
 *  - AWQ clip search follows the float32 evaluation order of the numpy reference.
 */
import type {
  AmaxAxisResult,
  AmaxResult,
  AwqClipOptions,
  AwqClipResult,
  DistributionStats,
  Int4Options,
  IntQuantOptions,
  Kernels,
  OrtAbsHistogram,
  OrtHistogram,
  QuantizeIntResult,
  QuantizeLinearOptions,
  Thresholds,
  TorchHistogram,
  TorchHistogramOptions,
  TorchMseOptions,
  TorchSearchOptions,
} from './types.js';

export type * from './types.js';

const f = Math.fround;
export const FLT_MAX = 3.4028234663852886e38;
export const FLT_TINY = 1.1754943508222875e-38;
const EPS_2_24 = 1 / (1 << 24);
/** Largest histogram a merge may create (numpy would run out of memory long before ORT's 1e45-bin requests). */
export const MAX_MERGED_BINS = 1 << 26;

// ---------------------------------------------------------------------------------------------
// numeric helpers (numpy semantics)
// ---------------------------------------------------------------------------------------------

/** round half to even (numpy.rint / C rint in the default rounding mode). */
export function rintHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x); // half up
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** numpy pairwise summation of float32 values (np.add.reduce on a contiguous float32 run). */
export function pairwiseSumF32(a: ArrayLike<number>, off = 0, n = a.length - off): number {
  if (n < 8) {
    let r = 0;
    for (let i = 0; i < n; i++) r = f(r + a[off + i]!);
    return r;
  }
  if (n <= 128) {
    const r = [a[off]!, a[off + 1]!, a[off + 2]!, a[off + 3]!, a[off + 4]!, a[off + 5]!, a[off + 6]!, a[off + 7]!];
    let i = 8;
    const lim = n - (n % 8);
    for (; i < lim; i += 8) for (let j = 0; j < 8; j++) r[j] = f(r[j]! + a[off + i + j]!);
    let res = f(f(f(r[0]! + r[1]!) + f(r[2]! + r[3]!)) + f(f(r[4]! + r[5]!) + f(r[6]! + r[7]!)));
    for (; i < n; i++) res = f(res + a[off + i]!);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f(pairwiseSumF32(a, off, n2) + pairwiseSumF32(a, off + n2, n - n2));
}

/** numpy pairwise summation in float64. */
export function pairwiseSumF64(a: ArrayLike<number>, off = 0, n = a.length - off): number {
  if (n < 8) {
    let r = 0;
    for (let i = 0; i < n; i++) r += a[off + i]!;
    return r;
  }
  if (n <= 128) {
    const r = [a[off]!, a[off + 1]!, a[off + 2]!, a[off + 3]!, a[off + 4]!, a[off + 5]!, a[off + 6]!, a[off + 7]!];
    let i = 8;
    const lim = n - (n % 8);
    for (; i < lim; i += 8) for (let j = 0; j < 8; j++) r[j] = r[j]! + a[off + i + j]!;
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[off + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSumF64(a, off, n2) + pairwiseSumF64(a, off + n2, n - n2);
}

/** numpy.linspace(first, last, nBins + 1) evaluated in float32 (float32 endpoints). */
export function linspaceF32(first: number, last: number, nBins: number): Float32Array {
  const e = new Float32Array(nBins + 1);
  const delta = f(last - first);
  const step = f(delta / nBins);
  if (step === 0) {
    for (let k = 0; k <= nBins; k++) e[k] = f(f(f(k / nBins) * delta) + first);
  } else {
    for (let k = 0; k <= nBins; k++) e[k] = f(f(k * step) + first);
  }
  if (nBins >= 1) e[nBins] = last;
  return e;
}

/** numpy.linspace evaluated in float64 (python-number endpoints), cast to float32. */
function linspaceF64(first: number, last: number, nBins: number): Float32Array {
  const e = new Float32Array(nBins + 1);
  const delta = last - first;
  const step = delta / nBins;
  for (let k = 0; k <= nBins; k++) e[k] = step === 0 ? (k / nBins) * delta + first : k * step + first;
  if (nBins >= 1) e[nBins] = last;
  return e;
}

/**
 * numpy.histogram(data, bins=nBins, range=(first, last)) on float32 data: the uniform-bin fast path
 * (float32 index computation followed by the edge corrections).
 */
export function npHistogramUniform(
  data: Float32Array,
  nBins: number,
  first: number,
  last: number,
  pythonRange = false,
): { hist: Float64Array; edges: Float32Array } {
  if (first === last) {
    first = pythonRange ? first - 0.5 : f(first - 0.5);
    last = pythonRange ? last + 0.5 : f(last + 0.5);
  }
  const edges = pythonRange ? linspaceF64(first, last, nBins) : linspaceF32(first, last, nBins);
  for (let k = 0; k < nBins; k++) {
    if (edges[k]! >= edges[k + 1]!) throw new RangeError(`Too many bins for data range. Cannot create ${nBins} finite-sized bins.`);
  }
  const hist = new Float64Array(nBins);
  const f1 = f(first);
  const l1 = f(last);
  const denom = f(l1 - f1);
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (!(x >= first && x <= last)) continue;
    const fi = f(f(f(x - f1) / denom) * nBins);
    let idx = Number.isNaN(fi) ? 0 : Math.trunc(fi);
    if (idx === nBins) idx -= 1;
    if (x < edges[idx]!) idx -= 1;
    if (idx !== nBins - 1 && x >= edges[idx + 1]!) idx += 1;
    hist[idx]! += 1;
  }
  return { hist, edges };
}

/** numpy.histogram(data, bins=edges) (explicit edges, searchsorted semantics; last bin closed). */
export function npHistogramEdges(data: Float32Array, edges: ArrayLike<number>): Float64Array {
  const n = edges.length - 1;
  const hist = new Float64Array(n);
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (Number.isNaN(x)) continue;
    // j = number of edges among edges[0..n-1] that are <= x
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    const j = lo;
    if (j === 0) continue;
    if (j < n) hist[j - 1]! += 1;
    else if (x <= edges[n]!) hist[n - 1]! += 1;
  }
  return hist;
}

/** numpy float32 floor_divide (npy_divmodf). */
export function floorDivideF32(a: number, b: number): number {
  if (b === 0) return f(a / b);
  let mod = f(a % b);
  let div = f(f(a - mod) / b);
  if (mod !== 0) {
    if (b < 0 !== mod < 0) {
      mod = f(mod + b);
      div = f(div - 1);
    }
  }
  let floordiv: number;
  if (div !== 0) {
    floordiv = Math.floor(div);
    if (f(div - floordiv) > 0.5) floordiv = f(floordiv + 1);
  } else {
    floordiv = a / b < 0 ? -0 : 0;
  }
  return floordiv;
}

/**
 * numpy.arange(start, stop, step) with float32 scalar arguments: numpy returns float64 values
 * start, fl32(start + step), then start + i * (second - start) in float64; the length is
 * ceil(fl32(fl32(stop - start) / step)).
 */
export function arangeFromF32(start: number, stop: number, step: number): Float64Array {
  const len = Math.ceil(f(f(stop - start) / step));
  if (!(len > 0)) return new Float64Array(0);
  const out = new Float64Array(len);
  out[0] = start;
  if (len > 1) out[1] = f(start + step);
  const delta = len > 1 ? out[1]! - start : 0;
  for (let i = 2; i < len; i++) out[i] = start + i * delta;
  return out;
}

function checkShape(data: { length: number }, shape: readonly number[]): number[] {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d} in shape [${shape.join(',')}]`);
    n *= d;
  }
  if (n !== data.length) throw new RangeError(`shape [${shape.join(',')}] has ${n} elements, data has ${data.length}`);
  return [...shape];
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new RangeError(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

// ---------------------------------------------------------------------------------------------
// amax
// ---------------------------------------------------------------------------------------------

export function amax(data: Float32Array): AmaxResult {
  let am = 0;
  let mn = Infinity;
  let mx = -Infinity;
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x !== x) {
      nan++;
      continue;
    }
    if (x === Infinity || x === -Infinity) inf++;
    if (x < mn) mn = x;
    if (x > mx) mx = x;
    const a = Math.abs(x);
    if (a > am) am = a;
  }
  if (mn === Infinity && mx === -Infinity && data.length - nan === 0) {
    mn = 0;
    mx = 0;
  }
  return { amax: am, min: mn, max: mx, count: data.length, nanCount: nan, infCount: inf };
}

export function amaxPerAxis(data: Float32Array, shape: readonly number[], keepAxes: readonly number[]): AmaxAxisResult {
  const dims = checkShape(data, shape);
  const rank = dims.length;
  const keep = [...new Set(keepAxes.map((a) => normAxis(a, rank)))].sort((x, y) => x - y);
  const outShape = keep.map((a) => dims[a]!);
  const outN = outShape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(outN);
  // strides of the output for each input axis (0 for reduced axes)
  const ostr = new Array<number>(rank).fill(0);
  let s = 1;
  for (let k = keep.length - 1; k >= 0; k--) {
    ostr[keep[k]!] = s;
    s *= outShape[k]!;
  }
  const idx = new Array<number>(rank).fill(0);
  let nan = 0;
  let inf = 0;
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x !== x) nan++;
    else {
      if (x === Infinity || x === -Infinity) inf++;
      const a = Math.abs(x);
      if (a > out[o]!) out[o] = a;
    }
    // increment the multi-index
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      o += ostr[d]!;
      if (idx[d]! < dims[d]!) break;
      o -= ostr[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
  return { amax: out, shape: outShape, nanCount: nan, infCount: inf };
}

// ---------------------------------------------------------------------------------------------
// ONNX Runtime histogram collectors (with ModelOpt's NaN/Inf patch on collect_value)
// ---------------------------------------------------------------------------------------------

/** min and max like np.min / np.max on float32 (NaN propagates), 0 for empty. */
function npMinMax(data: Float32Array): { min: number; max: number } {
  if (data.length === 0) return { min: 0, max: 0 };
  let mn = Infinity;
  let mx = -Infinity;
  let nan = false;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x !== x) nan = true;
    else {
      if (x < mn) mn = x;
      if (x > mx) mx = x;
    }
  }
  return nan ? { min: NaN, max: NaN } : { min: mn, max: mx };
}

function ortMergeHistogram(old: OrtHistogram, data: Float32Array, newMin: number, newMax: number, newT: number): OrtHistogram {
  const mn = Math.min(old.min, newMin);
  const mx = Math.max(old.max, newMax);
  const nOld = old.hist.length;
  if (newT <= old.threshold) {
    const { hist } = npHistogramUniform(data, nOld, f(-old.threshold), old.threshold);
    for (let i = 0; i < nOld; i++) hist[i]! += old.hist[i]!;
    return { hist, edges: old.edges, min: mn, max: mx, threshold: old.threshold };
  }
  if (old.threshold === 0) {
    const { hist, edges } = npHistogramUniform(data, nOld, -newT, newT);
    for (let i = 0; i < nOld; i++) hist[i]! += old.hist[i]!;
    return { hist, edges, min: mn, max: mx, threshold: newT };
  }
  const oldStride = f(f(2 * old.threshold) / nOld);
  const half = Math.trunc(f(floorDivideF32(f(newT - old.threshold), oldStride) + 1));
  const newBins = nOld + 2 * half;
  if (!(newBins <= MAX_MERGED_BINS)) {
    throw new RangeError(`merge_histogram: widening the range from ${old.threshold} to ${newT} needs ${newBins} bins (limit ${MAX_MERGED_BINS})`);
  }
  const t = f(f(half * oldStride) + old.threshold);
  const { hist, edges } = npHistogramUniform(data, newBins, -t, t);
  for (let i = 0; i < nOld; i++) hist[half + i]! += old.hist[i]!;
  return { hist, edges, min: mn, max: mx, threshold: t };
}

export function ortHistogramCollect(state: OrtHistogram | null, data: Float32Array, numBins = 128): OrtHistogram {
  if (!Number.isInteger(numBins) || numBins < 1) throw new RangeError(`numBins must be a positive integer, got ${numBins}`);
  let { min, max } = npMinMax(data);
  if (!Number.isFinite(min)) min = FLT_TINY;
  if (!Number.isFinite(max)) max = FLT_MAX;
  const t = Math.max(Math.abs(min), Math.abs(max));
  if (state) return ortMergeHistogram(state, data, min, max, t);
  const { hist, edges } = npHistogramUniform(data, numBins, -t, t, data.length === 0);
  return { hist, edges, min, max, threshold: t };
}

export function ortHistogramMerge(a: OrtHistogram, b: OrtHistogram): OrtHistogram {
  const sameEdges = a.edges.length === b.edges.length && a.edges.every((v, i) => Object.is(v, b.edges[i]) || v === b.edges[i]);
  if (sameEdges) {
    const hist = new Float64Array(a.hist.length);
    for (let i = 0; i < hist.length; i++) hist[i] = a.hist[i]! + b.hist[i]!;
    return { hist, edges: a.edges, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max), threshold: a.threshold };
  }
  // b's counts sit at its bin centres; merge them into a with ORT's merge rule.
  const { centres, weights } = centresOf(b.hist, b.edges);
  const merged = ortMergeHistogram(a, new Float32Array(0), b.min, b.max, b.threshold);
  addWeighted(merged.hist, merged.edges, centres, weights);
  return merged;
}

function centresOf(hist: Float64Array, edges: Float32Array): { centres: Float32Array; weights: Float64Array } {
  const centres = new Float32Array(hist.length);
  for (let i = 0; i < hist.length; i++) centres[i] = f(f(edges[i]! + edges[i + 1]!) * 0.5);
  return { centres, weights: hist };
}

function addWeighted(hist: Float64Array, edges: Float32Array, values: Float32Array, weights: Float64Array): void {
  const n = hist.length;
  for (let i = 0; i < values.length; i++) {
    const w = weights[i]!;
    if (w === 0) continue;
    const x = values[i]!;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    const j = Math.min(Math.max(lo - 1, 0), n - 1);
    hist[j]! += w;
  }
}

export function ortAbsHistogramCollect(state: OrtAbsHistogram | null, data: Float32Array, numBins = 2048): OrtAbsHistogram {
  if (!Number.isInteger(numBins) || numBins < 1) throw new RangeError(`numBins must be a positive integer, got ${numBins}`);
  // nanmin / nanmax of the signed data (0 for empty; NaN when everything is NaN)
  let mn = 0;
  let mx = 0;
  if (data.length > 0) {
    mn = Infinity;
    mx = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      if (x < mn) mn = x;
      if (x > mx) mx = x;
    }
    if (mn === Infinity) {
      mn = NaN;
      mx = NaN;
    }
  }
  const abs = new Float32Array(data.length);
  let aMin = Infinity;
  let aMax = -Infinity;
  let hasNaN = false;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]!);
    abs[i] = a;
    if (a !== a) hasNaN = true;
    else {
      if (a < aMin) aMin = a;
      if (a > aMax) aMax = a;
    }
  }
  if (!state) {
    if (data.length === 0) {
      const { hist, edges } = npHistogramUniform(abs, numBins, 0, 1, true);
      return { hist, edges, min: mn, max: mx };
    }
    if (hasNaN || !Number.isFinite(aMin) || !Number.isFinite(aMax)) {
      throw new RangeError(`autodetected range of [${hasNaN ? NaN : aMin}, ${hasNaN ? NaN : aMax}] is not finite`);
    }
    const { hist, edges } = npHistogramUniform(abs, numBins, aMin, aMax);
    return { hist, edges, min: mn, max: mx };
  }
  let edges: Float32Array = state.edges;
  let countEdges: ArrayLike<number> = state.edges;
  const tempAmax = aMax === -Infinity ? NaN : aMax; // np.nanmax
  if (tempAmax === Infinity) throw new RangeError('absolute-value histogram: data contains Inf');
  if (tempAmax > edges[edges.length - 1]!) {
    // np.hstack(float32 edges, float64 arange) is float64: this batch is counted against the
    // float64 edges, which are then stored as float32.
    const width = f(edges[1]! - edges[0]!);
    const ext = arangeFromF32(f(edges[edges.length - 1]! + width), f(tempAmax + width), width);
    const e64 = new Float64Array(edges.length + ext.length);
    e64.set(edges);
    e64.set(ext, edges.length);
    countEdges = e64;
    edges = Float32Array.from(e64);
  }
  const hist = npHistogramEdges(abs, countEdges);
  for (let i = 0; i < state.hist.length; i++) hist[i]! += state.hist[i]!;
  const nmin = Number.isNaN(state.min) || Number.isNaN(mn) ? (Number.isNaN(state.min) ? state.min : mn) : Math.min(state.min, mn);
  const nmax = Number.isNaN(state.max) || Number.isNaN(mx) ? (Number.isNaN(state.max) ? state.max : mx) : Math.max(state.max, mx);
  return { hist, edges, min: nmin, max: nmax };
}

/** ORT smooth_distribution on integer counts; null when all are zero. */
export function ortSmoothDistribution(p: Float64Array, eps = 0.0001): Float32Array | null {
  let nZeros = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === 0) nZeros++;
  const nNonzeros = p.length - nZeros;
  if (nNonzeros === 0) return null;
  const eps1 = (eps * nZeros) / nNonzeros;
  if (!(eps1 < 1.0)) throw new RangeError(`smooth_distribution: n_zeros=${nZeros}, n_nonzeros=${nNonzeros}, eps1=${eps1} >= 1`);
  const addZero = f(eps);
  const addNonzero = f(-eps1);
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    out[i] = p[i] === 0 ? f(0 + addZero) : f(f(p[i]!) + addNonzero);
    if (!(out[i]! > 0)) throw new RangeError('smooth_distribution produced a non-positive entry');
  }
  return out;
}

/** ORT's entropy(p, q): float32 normalisation, float32 rel_entr, pairwise float32 sum. */
export function ortEntropy(pk: Float32Array, qk: Float32Array): number {
  const sp = pairwiseSumF32(pk);
  const sq = pairwiseSumF32(qk);
  const vec = new Float32Array(pk.length);
  for (let i = 0; i < pk.length; i++) {
    const p = f(pk[i]! / sp);
    const q = f(qk[i]! / sq);
    let v: number;
    if (p > 0 && q > 0) v = f(p * f(Math.log(f(p / q))));
    else if (p === 0 && q >= 0) v = 0;
    else v = Infinity;
    vec[i] = v;
  }
  return pairwiseSumF32(vec);
}

export function ortEntropyThreshold(h: OrtHistogram, numQuantizedBins = 128): Thresholds {
  const hist = h.hist;
  const edges = h.edges;
  const numBins = hist.length;
  const zero = Math.floor(numBins / 2);
  const halfQ = Math.floor(numQuantizedBins / 2);
  const nCand = zero - halfQ + 1;
  if (nCand < 1) throw new RangeError(`histogram has ${numBins} bins, fewer than num_quantized_bins=${numQuantizedBins}`);
  // prefix sums of counts for the outlier masses
  const prefix = new Float64Array(numBins + 1);
  for (let i = 0; i < numBins; i++) prefix[i + 1] = prefix[i]! + hist[i]!;
  let best = Infinity;
  let bestIdx = -1;
  let firstNaN = -1;
  const thr: Array<[number, number]> = [];
  const divergences = new Float32Array(nCand);
  for (let i = halfQ; i <= zero; i++) {
    const start = zero - i;
    const end = Math.min(zero + i + 1, numBins);
    thr.push([edges[start]!, edges[end]!]);
    const size = end - start;
    const p = new Float64Array(size);
    for (let k = 0; k < size; k++) p[k] = hist[start + k]!;
    p[0]! += prefix[start]!;
    p[size - 1]! += prefix[numBins]! - prefix[end]!;
    const merged = Math.floor(size / numQuantizedBins);
    const qb = new Float64Array(numQuantizedBins);
    for (let b = 0; b < numQuantizedBins; b++) {
      let s = 0;
      for (let k = b * merged; k < b * merged + merged; k++) s += hist[start + k]!;
      qb[b] = s;
    }
    for (let k = numQuantizedBins * merged; k < size; k++) qb[numQuantizedBins - 1]! += hist[start + k]!;
    const q = new Float64Array(size);
    for (let b = 0; b < numQuantizedBins; b++) {
      const s0 = b * merged;
      let norm = 0;
      for (let k = s0; k < s0 + merged; k++) if (p[k] !== 0) norm++;
      if (norm !== 0) {
        const v = Math.trunc(qb[b]! / norm);
        for (let k = s0; k < s0 + merged; k++) q[k] = v;
      }
    }
    const ps = ortSmoothDistribution(p);
    const qs = ortSmoothDistribution(q);
    const div = ps === null || qs === null ? Infinity : ortEntropy(ps, qs);
    const idx = i - halfQ;
    divergences[idx] = div;
    if (Number.isNaN(div)) {
      if (firstNaN < 0) firstNaN = idx;
    } else if (div < best) {
      best = div;
      bestIdx = idx;
    }
  }
  // np.argmin: first NaN wins, otherwise the first minimum (all-inf -> 0)
  const sel = firstNaN >= 0 ? firstNaN : bestIdx < 0 ? 0 : bestIdx;
  let [low, high] = thr[sel]!;
  if (low < h.min) low = h.min;
  if (high > h.max) high = h.max;
  return { low, high, divergences };
}

/** np.searchsorted(cumsum(hist / total), v, 'left') with float64 cumsum. */
function percentileIndex(hist: Float64Array, v: number): number {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i]!;
  let c = 0;
  for (let i = 0; i < hist.length; i++) {
    c += hist[i]! / total;
    if (c >= v) return i;
  }
  return hist.length;
}

export function ortPercentile(h: OrtHistogram | OrtAbsHistogram, percentile = 99.999, symmetric = true): Thresholds {
  if (percentile < 0 || percentile > 100) throw new RangeError('Invalid percentile. Must be in range 0 <= percentile <= 100.');
  let low: number;
  let high: number;
  if (symmetric) {
    const idx = percentileIndex(h.hist, percentile / 100.0);
    high = h.edges[idx]!;
    low = -high;
  } else {
    const cut = (100.0 - percentile) / 200.0;
    high = h.edges[percentileIndex(h.hist, 1.0 - cut)]!;
    low = h.edges[percentileIndex(h.hist, cut)]!;
  }
  if (low < h.min) low = h.min;
  if (high > h.max) high = h.max;
  return { low, high };
}

export function ortDistribution(h: OrtHistogram, scenario: 'same' | 'p3' = 'same'): DistributionStats {
  if (h.hist.length < 512) throw new RangeError('Invalid num_bins. Must be in range 512 <= num_bins.');
  const n = h.hist.length;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = f(f(h.edges[i]! + h.edges[i + 1]!) * 0.5);
  if (scenario === 'p3') {
    const power = f(1.0 / 3.0);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      let fact = f(Math.abs(v) / v);
      if (!Number.isFinite(fact)) fact = 1;
      values[i] = f(f(Math.pow(Math.abs(v), power)) * fact);
    }
  } else if (scenario !== 'same') {
    throw new RangeError("Invalid scenario. Must be in {'same', 'p3'}.");
  }
  const hv = new Float64Array(n);
  const hv2 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    hv[i] = h.hist[i]! * values[i]!;
    hv2[i] = h.hist[i]! * f(values[i]! * values[i]!);
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += h.hist[i]!;
  const avg = pairwiseSumF64(hv) / total;
  const std = Math.pow(pairwiseSumF64(hv2) / total - avg * avg, 0.5);
  let lowest = Infinity;
  let highest = -Infinity;
  for (const e of h.edges) {
    if (e < lowest) lowest = e;
    if (e > highest) highest = e;
  }
  return { avg: f(avg), std: f(std), lowest, highest };
}

// ---------------------------------------------------------------------------------------------
// ModelOpt torch histogram calibrator
// ---------------------------------------------------------------------------------------------

/** torch.histc-style counting of non-negative values over [0, hi] with n equal bins. */
function histcZeroTo(values: Float32Array, n: number, hi: number, out: Float64Array): void {
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (!(x >= 0 && x <= hi)) continue;
    let b = hi > 0 ? Math.floor((x * n) / hi) : 0;
    if (b >= n) b = n - 1;
    out[b]! += 1;
  }
}

export function torchHistogramCollect(state: TorchHistogram | null, data: Float32Array, opts: TorchHistogramOptions = {}): TorchHistogram | null {
  const numBins = opts.numBins ?? 2048;
  if (!Number.isInteger(numBins) || numBins < 1) throw new RangeError(`numBins must be a positive integer, got ${numBins}`);
  // |x| (taking abs is a no-op on non-negative data), optional zero skipping, NaN dropped
  const vals: number[] = [];
  let xmax = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]!);
    if (a !== a) continue;
    if (opts.skipZeros && a === 0) continue;
    vals.push(a);
    if (a > xmax) xmax = a;
  }
  if (vals.length === 0) return state;
  const x = Float32Array.from(vals);
  if (!Number.isFinite(xmax)) throw new RangeError('torch histogram: data contains Inf');
  const oldWidth = state ? f(state.edges[1]! - state.edges[0]!) : 0;
  if (!state || oldWidth === 0) {
    // first batch (or a previous histogram of only zeros): numBins bins over [0, max]
    const edges = linspaceF32(0, xmax, numBins);
    const hist = new Float64Array(numBins);
    histcZeroTo(x, numBins, xmax, hist);
    if (state) hist[0]! += state.hist.reduce((p, v) => p + v, 0);
    return { hist, edges };
  }
  let edges = state.edges;
  let n = state.hist.length;
  if (xmax > edges[edges.length - 1]!) {
    n = Math.ceil(f(xmax / oldWidth));
    edges = new Float32Array(n + 1);
    for (let i = 0; i <= n; i++) edges[i] = f(i * oldWidth);
  }
  const hist = new Float64Array(n);
  histcZeroTo(x, n, edges[n]!, hist);
  for (let i = 0; i < state.hist.length; i++) hist[i]! += state.hist[i]!;
  return { hist, edges };
}

/** scipy.stats.entropy(p, q) in float64 with natural log (inputs normalised). */
function klDivergence(p: Float64Array, q: Float64Array): number {
  const sp = pairwiseSumF64(p);
  const sq = pairwiseSumF64(q);
  const v = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    if (pi > 0 && qi > 0) v[i] = pi * Math.log(pi / qi);
    else if (pi === 0 && qi >= 0) v[i] = 0;
    else v[i] = Infinity;
  }
  return pairwiseSumF64(v);
}

export function torchEntropyAmax(h: TorchHistogram | null, opts: TorchSearchOptions = {}): number | null {
  if (!h) return null;
  const numBits = opts.numBits ?? 8;
  const unsigned = opts.unsigned ?? false;
  const startBin = opts.startBin ?? 128;
  const stride = opts.stride ?? 1;
  if (!(stride >= 1)) throw new RangeError('stride must be >= 1');
  if (!(startBin >= 1)) throw new RangeError('startBin must be >= 1');
  const bins = Float64Array.from(h.hist);
  if (bins.length > 1) bins[0] = bins[1]!;
  let totalData = 0;
  for (const b of bins) totalData += b;
  const nLevels = 2 ** (numBits - 1 + (unsigned ? 1 : 0));
  const stop = bins.length;
  const suffix = new Float64Array(stop + 1);
  for (let i = stop - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + bins[i]!;
  let best = Infinity;
  let bestI = -1;
  const level = new Int32Array(stop);
  const levelSum = new Float64Array(nLevels);
  const levelCnt = new Float64Array(nLevels);
  for (let i = startBin; i <= stop; i += stride) {
    // level of source bin j: digitize(j, linspace(0, i, nLevels + 1)) - 1
    const step = i / nLevels;
    levelSum.fill(0);
    levelCnt.fill(0);
    for (let j = 0; j < i; j++) {
      let l = Math.floor(j / step);
      // np.digitize against float64 edges k*step: correct the floating division
      while (l + 1 <= nLevels && (l + 1) * step <= j) l++;
      while (l > 0 && l * step > j) l--;
      if (l > nLevels - 1) l = nLevels - 1;
      level[j] = l;
      if (bins[j] !== 0) {
        levelSum[l]! += bins[j]!;
        levelCnt[l]! += 1;
      }
    }
    const q = new Float64Array(i);
    const p = new Float64Array(i);
    let totalNew = 0;
    for (let j = 0; j < i; j++) {
      p[j] = bins[j]!;
      if (bins[j] !== 0) {
        const l = level[j]!;
        q[j] = levelSum[l]! / levelCnt[l]!;
        totalNew += q[j]!;
      }
    }
    const tail = suffix[i]!;
    totalNew += tail;
    p[i - 1]! += tail;
    let totalOld = 0; // integer counts: exact in any order
    for (let j = 0; j < i; j++) totalOld += p[j]!;
    if (Math.round(totalNew) !== totalData || Math.round(totalOld) !== totalData) {
      throw new Error(`Count mismatch! total_counts_new=${totalNew}, total_counts_old=${totalOld}, total_data=${totalData}`);
    }
    const ent = klDivergence(p, q);
    if (ent <= best) {
      best = ent;
      bestI = i;
    }
  }
  if (bestI < 0) {
    // every divergence NaN / no candidate: fall back like np.argmin on the reversed list
    bestI = startBin <= stop ? startBin + Math.floor((stop - startBin) / stride) * stride : stop;
  }
  return h.edges[Math.min(bestI, h.edges.length - 1)]!;
}

export function torchMseAmax(h: TorchHistogram | null, opts: TorchMseOptions = {}): number | null {
  if (!h) return null;
  const numBits = opts.numBits ?? 8;
  const unsigned = opts.unsigned ?? false;
  const startBin = opts.startBin ?? 128;
  const stride = opts.stride ?? 1;
  const n = h.hist.length;
  const centres = new Float32Array(n);
  for (let i = 0; i < n; i++) centres[i] = f(f(h.edges[i + 1]! + h.edges[i]!) / 2);
  let best = Infinity;
  let bestI = -1;
  for (let i = startBin; i < n; i += stride) {
    const am = centres[i]!;
    const q =
      opts.format === 'e4m3' ? fakeQuantE4M3(centres, am) : fakeQuantInt(centres, am, { numBits, unsigned, narrow: true });
    const terms = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const d = q[k]! - centres[k]!;
      terms[k] = d * d * h.hist[k]!;
    }
    const mse = pairwiseSumF64(terms) / n;
    if (mse < best) {
      best = mse;
      bestI = i;
    }
  }
  if (bestI < 0) return n > startBin ? centres[startBin]! : null;
  return centres[bestI]!;
}

export function torchPercentileAmax(h: TorchHistogram | null, percentile = 99.99): number | null {
  if (percentile < 0 || percentile > 100) throw new RangeError('Invalid percentile. Must be in range 0 <= percentile <= 100.');
  if (!h) return null;
  const idx = percentileIndex(h.hist, percentile / 100);
  return h.edges[Math.min(idx, h.edges.length - 1)]!;
}

// ---------------------------------------------------------------------------------------------
// integer quantization
// ---------------------------------------------------------------------------------------------

function intBounds(opts: IntQuantOptions, maxBits: number): { B: number; lo: number } {
  const numBits = opts.numBits ?? 8;
  if (!Number.isInteger(numBits) || numBits < 2 || numBits > maxBits) throw new RangeError(`numBits must be in [2, ${maxBits}], got ${numBits}`);
  const unsigned = opts.unsigned ?? false;
  const B = 2 ** (numBits - 1 + (unsigned ? 1 : 0)) - 1;
  const lo = unsigned ? 0 : opts.narrow ? -B : -B - 1;
  return { B, lo };
}

function fq(x: number, amax: number, B: number, lo: number): number {
  if (amax < EPS_2_24) return 0;
  const scale = f(B / amax);
  let o = rintHalfEven(f(x * scale));
  if (o > B) o = B;
  if (o < lo) o = lo;
  return f(o / scale);
}

function checkAmax(a: number): void {
  if (a < 0) throw new RangeError(`amax must be non-negative, got ${a}`);
}

function checkUnsigned(data: Float32Array, unsigned: boolean | undefined): void {
  if (!unsigned) return;
  for (let i = 0; i < data.length; i++) if (data[i]! < 0) throw new RangeError('unsigned quantization needs non-negative inputs');
}

export function fakeQuantInt(data: Float32Array, amaxV: number, opts: IntQuantOptions = {}): Float32Array {
  const { B, lo } = intBounds(opts, 16);
  checkAmax(amaxV);
  checkUnsigned(data, opts.unsigned);
  const a = f(amaxV);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = fq(data[i]!, a, B, lo);
  return out;
}

/** channel index of every element for a per-axis op. */
function axisGeometry(data: { length: number }, shape: readonly number[], axis: number): { inner: number; size: number } {
  const dims = checkShape(data, shape);
  const ax = normAxis(axis, dims.length);
  let inner = 1;
  for (let d = ax + 1; d < dims.length; d++) inner *= dims[d]!;
  return { inner, size: dims[ax]! };
}

export function fakeQuantIntPerAxis(
  data: Float32Array,
  shape: readonly number[],
  axis: number,
  amaxV: Float32Array,
  opts: IntQuantOptions = {},
): Float32Array {
  const { B, lo } = intBounds(opts, 16);
  const { inner, size } = axisGeometry(data, shape, axis);
  if (amaxV.length !== size) throw new RangeError(`amax has ${amaxV.length} entries, axis has ${size}`);
  amaxV.forEach(checkAmax);
  checkUnsigned(data, opts.unsigned);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = fq(data[i]!, amaxV[Math.floor(i / inner) % size]!, B, lo);
  return out;
}

function qInt(x: number, amax: number, B: number, lo: number): number {
  if (amax < EPS_2_24) return 0;
  const scale = f(B / amax);
  let o = rintHalfEven(f(x * scale));
  if (Number.isNaN(o)) return 0;
  if (o > B) o = B;
  if (o < lo) o = lo;
  return o;
}

export function quantizeInt(data: Float32Array, amaxV: number, opts: IntQuantOptions = {}): QuantizeIntResult {
  const { B, lo } = intBounds(opts, 8);
  checkAmax(amaxV);
  checkUnsigned(data, opts.unsigned);
  const a = f(amaxV);
  const values = opts.unsigned ? new Uint8Array(data.length) : new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) values[i] = qInt(data[i]!, a, B, lo);
  const scales = Float32Array.of(a < EPS_2_24 ? 1 : f(a / B));
  return { values, scales };
}

export function quantizeIntPerAxis(
  data: Float32Array,
  shape: readonly number[],
  axis: number,
  amaxV: Float32Array,
  opts: IntQuantOptions = {},
): QuantizeIntResult {
  const { B, lo } = intBounds(opts, 8);
  const { inner, size } = axisGeometry(data, shape, axis);
  if (amaxV.length !== size) throw new RangeError(`amax has ${amaxV.length} entries, axis has ${size}`);
  amaxV.forEach(checkAmax);
  checkUnsigned(data, opts.unsigned);
  const values = opts.unsigned ? new Uint8Array(data.length) : new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) values[i] = qInt(data[i]!, amaxV[Math.floor(i / inner) % size]!, B, lo);
  const scales = new Float32Array(size);
  for (let c = 0; c < size; c++) scales[c] = amaxV[c]! < EPS_2_24 ? 1 : f(amaxV[c]! / B);
  return { values, scales };
}

function linearGeometry(n: number, scale: Float32Array, zp: Int32Array, opts: QuantizeLinearOptions): { inner: number; size: number } {
  if (scale.length !== zp.length) throw new RangeError('scale and zeroPoint must have the same length');
  if (scale.length === 1 && opts.shape === undefined) return { inner: Math.max(n, 1), size: 1 };
  if (!opts.shape) throw new RangeError('per-axis quantizeLinear needs shape and axis');
  const g = axisGeometry({ length: n }, opts.shape, opts.axis ?? 1);
  if (scale.length === 1) return { inner: Math.max(n, 1), size: 1 };
  if (scale.length !== g.size) throw new RangeError(`scale has ${scale.length} entries, axis has ${g.size}`);
  return g;
}

export function quantizeLinear(data: Float32Array, scale: Float32Array, zeroPoint: Int32Array, opts: QuantizeLinearOptions = {}): Int8Array | Uint8Array {
  const signed = opts.signed ?? true;
  const { inner, size } = linearGeometry(data.length, scale, zeroPoint, opts);
  const qmin = signed ? -128 : 0;
  const qmax = signed ? 127 : 255;
  const out = signed ? new Int8Array(data.length) : new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const c = size === 1 ? 0 : Math.floor(i / inner) % size;
    let v = f(rintHalfEven(f(data[i]! / scale[c]!)) + zeroPoint[c]!);
    if (Number.isNaN(v)) v = 0;
    if (v < qmin) v = qmin;
    if (v > qmax) v = qmax;
    out[i] = v;
  }
  return out;
}

export function dequantizeLinear(q: Int8Array | Uint8Array, scale: Float32Array, zeroPoint: Int32Array, opts: QuantizeLinearOptions = {}): Float32Array {
  const { inner, size } = linearGeometry(q.length, scale, zeroPoint, opts);
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const c = size === 1 ? 0 : Math.floor(i / inner) % size;
    out[i] = f((q[i]! - zeroPoint[c]!) * scale[c]!);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// FP8 E4M3FN
// ---------------------------------------------------------------------------------------------

/** round |x| (float32) to the E4M3FN grid with RNE and saturation; returns the magnitude. */
function e4m3Magnitude(a: number): number {
  if (a > 448) return 448;
  if (a < 2 ** -6) return rintHalfEven(a * 512) / 512;
  const e = Math.floor(Math.log2(a));
  let ex = e;
  // guard against log2 rounding at exact powers of two
  if (2 ** ex > a) ex--;
  else if (2 ** (ex + 1) <= a) ex++;
  const ulp = 2 ** (ex - 3);
  return rintHalfEven(a / ulp) * ulp;
}

function e4m3BitsOf(x: number, signBit: number): number {
  const neg = signBit ? 0x80 : 0;
  if (Number.isNaN(x)) return neg | 0x7f;
  const m = e4m3Magnitude(Math.abs(x));
  if (m === 0) return neg;
  if (m < 2 ** -6) return neg | Math.round(m * 512);
  let ex = Math.floor(Math.log2(m));
  if (2 ** ex > m) ex--;
  else if (2 ** (ex + 1) <= m) ex++;
  const mant = Math.round((m / 2 ** ex - 1) * 8);
  return neg | ((ex + 7) << 3) | mant;
}

export function e4m3DecodeOne(b: number): number {
  const s = b & 0x80 ? -1 : 1;
  const e = (b >> 3) & 0xf;
  const m = b & 7;
  if (e === 15 && m === 7) return NaN;
  if (e === 0) return s * m * 2 ** -9;
  return s * (1 + m / 8) * 2 ** (e - 7);
}

export function e4m3Encode(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length);
  // sign bits straight from the float32 encoding (keeps the sign of -0 and of NaN)
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i++) out[i] = e4m3BitsOf(data[i]!, bits[i]! >>> 31);
  return out;
}

export function e4m3Decode(bits: Uint8Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = e4m3DecodeOne(bits[i]!);
  return out;
}

function e4m3RoundTrip(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const m = e4m3Magnitude(Math.abs(x));
  return x < 0 || Object.is(x, -0) ? -m : m;
}

export function fakeQuantE4M3(data: Float32Array, amaxV?: number): Float32Array {
  const out = new Float32Array(data.length);
  if (amaxV === undefined) {
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      out[i] = Math.abs(x) < EPS_2_24 ? 0 : e4m3RoundTrip(x);
    }
    return out;
  }
  checkAmax(amaxV);
  const s = f(448 / f(amaxV));
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    out[i] = Math.abs(x) < EPS_2_24 ? 0 : f(e4m3RoundTrip(f(x * s)) / s);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// INT4 block quantization and packing
// ---------------------------------------------------------------------------------------------

function checkMatrix(w: { length: number }, rows: number, cols: number, what: string): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) throw new RangeError(`${what}: invalid shape [${rows}, ${cols}]`);
  if (w.length !== rows * cols) throw new RangeError(`${what}: shape [${rows}, ${cols}] needs ${rows * cols} elements, got ${w.length}`);
}

function checkBlock(bs: number): void {
  if (!Number.isInteger(bs) || bs < 1) throw new RangeError(`blockSize must be a positive integer, got ${bs}`);
}

/** block absmax [nBlocks, cout] of w [cin, cout] zero-padded along axis 0 (NaN ignored). */
function blockAmax(w: Float32Array, cin: number, cout: number, bs: number): Float32Array {
  const nb = Math.ceil(cin / bs);
  const out = new Float32Array(nb * cout);
  for (let r = 0; r < cin; r++) {
    const b = Math.floor(r / bs);
    for (let c = 0; c < cout; c++) {
      const a = Math.abs(w[r * cout + c]!);
      if (a > out[b * cout + c]!) out[b * cout + c] = a;
    }
  }
  return out;
}

export function int4BlockScales(weight: Float32Array, cin: number, cout: number, opts: Int4Options = {}): Float32Array {
  const bs = opts.blockSize ?? 128;
  checkBlock(bs);
  checkMatrix(weight, cin, cout, 'int4BlockScales');
  const am = blockAmax(weight, cin, cout, bs);
  const alpha = opts.alpha ?? 1;
  if (typeof alpha !== 'number' && alpha.length !== am.length) throw new RangeError(`alpha has ${alpha.length} entries, expected ${am.length}`);
  const out = new Float32Array(am.length);
  for (let i = 0; i < am.length; i++) {
    const al = f(typeof alpha === 'number' ? alpha : alpha[i]!);
    out[i] = f(f(am[i]! * al) / 7);
  }
  return out;
}

function q4(w: number, s: number): number {
  let q = rintHalfEven(f(w / s));
  if (Number.isNaN(q)) return 0;
  if (q > 7) q = 7;
  if (q < -8) q = -8;
  return q;
}

export function int4QuantizeBlocks(weight: Float32Array, cin: number, cout: number, scales: Float32Array, blockSize = 128): Int8Array {
  checkBlock(blockSize);
  checkMatrix(weight, cin, cout, 'int4QuantizeBlocks');
  checkMatrix(scales, Math.ceil(cin / blockSize), cout, 'int4QuantizeBlocks scales');
  const out = new Int8Array(weight.length);
  for (let r = 0; r < cin; r++) {
    const b = Math.floor(r / blockSize);
    for (let c = 0; c < cout; c++) out[r * cout + c] = q4(weight[r * cout + c]!, scales[b * cout + c]!);
  }
  return out;
}

export function int4DequantizeBlocks(q: Int8Array, cin: number, cout: number, scales: Float32Array, blockSize = 128): Float32Array {
  checkBlock(blockSize);
  checkMatrix(q, cin, cout, 'int4DequantizeBlocks');
  checkMatrix(scales, Math.ceil(cin / blockSize), cout, 'int4DequantizeBlocks scales');
  const out = new Float32Array(q.length);
  for (let r = 0; r < cin; r++) {
    const b = Math.floor(r / blockSize);
    for (let c = 0; c < cout; c++) out[r * cout + c] = f(q[r * cout + c]! * scales[b * cout + c]!);
  }
  return out;
}

export function packInt4(values: Int8Array | Uint8Array | Float32Array, unsigned = false): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(Math.ceil(n / 2));
  const lo = unsigned ? 0 : -8;
  const hi = unsigned ? 15 : 7;
  for (let i = 0; i < n; i++) {
    let v = values[i]!;
    if (Number.isNaN(v)) v = 0;
    v = rintHalfEven(Math.min(Math.max(v, lo), hi));
    const nib = v & 0xf;
    if (i % 2 === 0) out[i >> 1] = nib;
    else out[i >> 1]! |= nib << 4;
  }
  return out;
}

export function unpackInt4(packed: Uint8Array, count: number, unsigned = false): Int8Array | Uint8Array {
  if (!Number.isInteger(count) || count < 0 || Math.ceil(count / 2) > packed.length) throw new RangeError(`cannot unpack ${count} nibbles from ${packed.length} bytes`);
  const out = unsigned ? new Uint8Array(count) : new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const nib = (packed[i >> 1]! >> ((i & 1) * 4)) & 0xf;
    out[i] = unsigned ? nib : nib >= 8 ? nib - 16 : nib;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// AWQ clip search
// ---------------------------------------------------------------------------------------------

/** alpha grid 0.50, 0.55, ..., 0.95, 1.00 (as float32). */
export const AWQ_ALPHAS: readonly number[] = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0].map(f);

/** rows kept from [tokens, cin] activations: every max(1, floor(tokens / maxTokens))-th. */
export function awqTokenRows(tokens: number, maxTokens = 64): number[] {
  const step = Math.max(1, Math.floor(tokens / maxTokens));
  const rows: number[] = [];
  for (let t = 0; t < tokens; t += step) rows.push(t);
  return rows;
}

/**
 * One block's partial sum sum_k x[k] * w[k] in float32 as numpy evaluates `np.sum(x * w, -1)` in
 * the reference: the broadcast product takes the layout of the transposed weight (output
 * channel fastest), so the reduction over k is sequential; only a batch of width 1 is
 * contiguous along k and gets numpy's pairwise summation.
 */
function blockDot(x: Float32Array, xo: number, w: ArrayLike<number>, wo: number, bs: number, pairwise: boolean, tmp: Float32Array): number {
  if (pairwise) {
    for (let k = 0; k < bs; k++) tmp[k] = f(x[xo + k]! * w[wo + k]!);
    return pairwiseSumF32(tmp, 0, bs);
  }
  let s = 0;
  for (let k = 0; k < bs; k++) s = f(s + f(x[xo + k]! * w[wo + k]!));
  return s;
}

export function awqClipSearch(
  weight: Float32Array,
  cin: number,
  cout: number,
  activations: Float32Array,
  tokens: number,
  opts: AwqClipOptions = {},
): AwqClipResult {
  const bs = opts.blockSize ?? 128;
  checkBlock(bs);
  checkMatrix(weight, cin, cout, 'awqClipSearch weight');
  checkMatrix(activations, tokens, cin, 'awqClipSearch activations');
  const coBatch = opts.coBatch ?? 1024;
  if (!Number.isInteger(coBatch) || coBatch < 1) throw new RangeError(`coBatch must be a positive integer, got ${coBatch}`);
  const rows = awqTokenRows(tokens, opts.maxTokens ?? 64);
  const T = rows.length;
  const nb = Math.ceil(cin / bs);
  const cinP = nb * bs;
  // x padded [T, cinP]
  const x = new Float32Array(T * cinP);
  rows.forEach((r, t) => x.set(activations.subarray(r * cin, r * cin + cin), t * cinP));
  const scales1 = blockAmax(weight, cin, cout, bs);
  const alphas = new Float32Array(nb * cout).fill(1);
  const bestLoss = new Float32Array(nb * cout).fill(Infinity);
  const wcol = new Float32Array(cinP);
  const wq = new Float32Array(bs);
  const tmp = new Float32Array(bs);
  const org = new Float32Array(T);
  const d2 = new Float32Array(T);
  for (let c = 0; c < cout; c++) {
    // numpy's summation order depends on the width of this output-channel batch (see blockDot)
    const batchStart = c - (c % coBatch);
    const width = Math.min(coBatch, cout - batchStart);
    const pairwiseK = width === 1;
    const pairwiseT = width === 1 && nb === 1;
    wcol.fill(0);
    for (let r = 0; r < cin; r++) wcol[r] = weight[r * cout + c]!;
    for (let b = 0; b < nb; b++) {
      for (let t = 0; t < T; t++) org[t] = blockDot(x, t * cinP + b * bs, wcol, b * bs, bs, pairwiseK, tmp);
      const am = scales1[b * cout + c]!;
      for (const al of AWQ_ALPHAS) {
        const s = f(f(am * al) / 7);
        for (let k = 0; k < bs; k++) wq[k] = f(q4(wcol[b * bs + k]!, s) * s);
        for (let t = 0; t < T; t++) {
          const cur = blockDot(x, t * cinP + b * bs, wq, 0, bs, pairwiseK, tmp);
          const d = f(org[t]! - cur);
          d2[t] = f(d * d);
        }
        let sum: number;
        if (pairwiseT) sum = pairwiseSumF32(d2, 0, T);
        else {
          sum = 0;
          for (let t = 0; t < T; t++) sum = f(sum + d2[t]!);
        }
        const loss = f(sum / T);
        const o = b * cout + c;
        if (loss < bestLoss[o]!) {
          bestLoss[o] = loss;
          alphas[o] = al;
        }
      }
    }
  }
  return { alphas, loss: bestLoss, nBlocks: nb, tokensUsed: T };
}

// ---------------------------------------------------------------------------------------------
// 2:4 sparsity
// ---------------------------------------------------------------------------------------------

/** the 6 two-of-four patterns as 0/1 tuples in ascending lexicographic order. */
export const PATTERNS_2_4: ReadonlyArray<readonly [number, number, number, number]> = [
  [0, 0, 1, 1],
  [0, 1, 0, 1],
  [0, 1, 1, 0],
  [1, 0, 0, 1],
  [1, 0, 1, 0],
  [1, 1, 0, 0],
];

export function sparsity24Mask(weight: Float32Array, rows: number, cols: number): Uint8Array {
  checkMatrix(weight, rows, cols, 'sparsity24Mask');
  if (cols % 4 !== 0) throw new RangeError(`sparsity24Mask: cols (${cols}) must be a multiple of 4`);
  const out = new Uint8Array(weight.length);
  for (let g = 0; g < weight.length; g += 4) {
    let best = -1;
    let bi = 0;
    for (let p = 0; p < 6; p++) {
      const pat = PATTERNS_2_4[p]!;
      let s = 0;
      for (let k = 0; k < 4; k++) if (pat[k]) s += Math.abs(weight[g + k]!) || 0;
      if (s > best) {
        best = s;
        bi = p;
      }
    }
    for (let k = 0; k < 4; k++) out[g + k] = PATTERNS_2_4[bi]![k]!;
  }
  return out;
}

/** All reference kernels as one object implementing the contract. */
export const reference: Kernels = {
  amax,
  amaxPerAxis,
  ortHistogramCollect,
  ortHistogramMerge,
  ortAbsHistogramCollect,
  ortEntropyThreshold,
  ortPercentile,
  ortDistribution,
  torchHistogramCollect,
  torchEntropyAmax,
  torchMseAmax,
  torchPercentileAmax,
  fakeQuantInt,
  fakeQuantIntPerAxis,
  quantizeInt,
  quantizeIntPerAxis,
  quantizeLinear,
  dequantizeLinear,
  e4m3Encode,
  e4m3Decode,
  fakeQuantE4M3,
  int4BlockScales,
  int4QuantizeBlocks,
  int4DequantizeBlocks,
  packInt4,
  unpackInt4,
  awqClipSearch,
  sparsity24Mask,
};

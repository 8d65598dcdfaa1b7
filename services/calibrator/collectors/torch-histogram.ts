/**
 * ModelOpt's torch HistogramCalibrator collection (|x|, 2048 bins over [0, max] on the first batch,
 * later batches extend at the same width), plus a shard merge.
 */
import type { TorchHistogram } from '../../../native/types.js';
import type { CalibratorKernels } from '../kernels.js';

const f = Math.fround;

export function torchCollect(
  state: TorchHistogram | null,
  data: Float32Array,
  numBins: number,
  skipZeros: boolean,
  kernels: CalibratorKernels,
): Promise<TorchHistogram | null> {
  return kernels.torchHistogramCollect(state, data, { numBins, skipZeros });
}

/** Merges two torch histograms: b's counts at its bin centres go into a's edges, extended at a's width. */
export function torchMerge(a: TorchHistogram | null | undefined, b: TorchHistogram | null | undefined): TorchHistogram | null {
  if (!a) return b ?? null;
  if (!b) return a;
  const sameEdges = a.edges.length === b.edges.length && a.edges.every((v, i) => v === b.edges[i]);
  if (sameEdges) {
    const hist = new Float64Array(a.hist.length);
    for (let i = 0; i < hist.length; i++) hist[i] = a.hist[i] + b.hist[i];
    return { hist, edges: a.edges };
  }
  // base: the finer histogram (smaller width); counts of the other are re-binned at their centres
  const wa = a.edges[1] - a.edges[0];
  const wb = b.edges[1] - b.edges[0];
  const [base, other] = wa > 0 && (wa <= wb || wb === 0) ? [a, b] : [b, a];
  const width = f(base.edges[1] - base.edges[0]);
  let edges = base.edges;
  const last = other.edges[other.edges.length - 1];
  if (width > 0 && last > edges[edges.length - 1]) {
    const n = Math.ceil(f(last / width));
    edges = new Float32Array(n + 1);
    for (let i = 0; i <= n; i++) edges[i] = f(i * width);
  }
  const n = edges.length - 1;
  const hist = new Float64Array(n);
  hist.set(base.hist);
  const top = edges[n];
  for (let i = 0; i < other.hist.length; i++) {
    const w = other.hist[i];
    if (w === 0) continue;
    const c = (other.edges[i] + other.edges[i + 1]) * 0.5;
    let k = top > 0 ? Math.floor((c * n) / top) : 0;
    if (k >= n) k = n - 1;
    hist[k] += w;
  }
  return { hist, edges };
}

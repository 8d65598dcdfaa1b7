/**
 * Per-batch min/max with NaN/Inf accounting. Every collector goes through `observeBatch` first: it
 * updates counts and the finite min/max, and returns the batch's finite values (the batch itself when
 * it has no NaN/Inf), which is what the histogram collectors see.
 */
import type { CalibratorKernels } from '../kernels.js';
import type { TensorStatistics } from '../statistics.js';

export async function observeBatch(stats: TensorStatistics, data: Float32Array, kernels: CalibratorKernels): Promise<Float32Array> {
  const r = await kernels.amax(data);
  stats.count += r.count;
  stats.nanCount += r.nanCount;
  stats.infCount += r.infCount;
  let finite = data;
  let mn = r.min;
  let mx = r.max;
  if (r.nanCount + r.infCount > 0) {
    finite = finiteValues(data, r.count - r.nanCount - r.infCount);
    mn = Infinity;
    mx = -Infinity;
    for (let i = 0; i < finite.length; i++) {
      const x = finite[i];
      if (x < mn) mn = x;
      if (x > mx) mx = x;
    }
  }
  if (finite.length > 0) {
    if (!stats.seen) {
      stats.min = mn;
      stats.max = mx;
      stats.seen = true;
    } else {
      if (mn < stats.min) stats.min = mn;
      if (mx > stats.max) stats.max = mx;
    }
  }
  return finite;
}

export function finiteValues(data: Float32Array, expected = -1): Float32Array {
  const out = new Float32Array(expected >= 0 ? expected : data.length);
  let k = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x - x === 0) out[k++] = x; // finite: Inf - Inf and NaN - NaN are NaN
  }
  return k === out.length ? out : out.slice(0, k);
}

/** Merges the min/max/count part of b into a (a is modified). Exact. */
export function mergeMinMax(a: TensorStatistics, b: TensorStatistics): void {
  a.count += b.count;
  a.nanCount += b.nanCount;
  a.infCount += b.infCount;
  if (b.seen) {
    if (!a.seen) {
      a.min = b.min;
      a.max = b.max;
      a.seen = true;
    } else {
      a.min = Math.min(a.min, b.min);
      a.max = Math.max(a.max, b.max);
    }
  }
}

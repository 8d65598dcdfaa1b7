/**
 * From collected statistics to a range per tensor, per method:
 *  - minmax: [min, max] of the finite values;
 *  - entropy: onnxruntime get_entropy_threshold (128 quantized bins) on the value histogram;
 *  - percentile: onnxruntime compute_percentile (99.999, symmetric) on the |x| histogram;
 *  - distribution: onnxruntime compute_distribution ('same'): low/high = histogram edges, FP8 scale
 *    = std / std(all finite E4M3 values), zero point 0;
 *  - torch_entropy / torch_mse / torch_percentile: ModelOpt's torch HistogramCalibrator amax (±amax).
 */
import type { CalibrationTable, TensorRange } from '../core/quant-types.js';
import type { CalibratorKernels } from './kernels.js';
import { entropyHasSingleCandidate, entropySingleWindow, type CalibrationStatistics, type TensorStatistics } from './statistics.js';
import { ortEmptyHistogram } from './collectors/ort-histogram.js';

let e4m3Std: number | null = null;

/** std of the 254 finite FP8 E4M3FN values (numpy float32 std, as onnxruntime computes it). */
export async function e4m3ValuesStd(kernels: CalibratorKernels): Promise<number> {
  if (e4m3Std !== null) return e4m3Std;
  const all = await kernels.e4m3Decode(Uint8Array.from({ length: 256 }, (_, i) => i));
  const vals = [...all].filter((v) => Number.isFinite(v));
  const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
  const v = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length;
  e4m3Std = Math.fround(Math.sqrt(v));
  return e4m3Std;
}

function histogramOf(s: TensorStatistics): { counts: number[]; edges: number[] } | undefined {
  const h = s.ort ?? s.ortAbs ?? s.torch ?? undefined;
  if (!h) return undefined;
  return { counts: Array.from(h.hist), edges: Array.from(h.edges) };
}

export async function rangeOf(stats: CalibrationStatistics, s: TensorStatistics, kernels: CalibratorKernels): Promise<TensorRange> {
  const o = stats.options;
  const r: TensorRange = {
    tensor: s.tensor,
    min: s.min,
    max: s.max,
    low: s.min,
    high: s.max,
    nanCount: s.nanCount,
    infCount: s.infCount,
  };
  const warnings = [...s.warnings];
  if (!s.seen) {
    warnings.push(s.count === 0 ? 'no values were captured (empty tensor): range [0, 0]' : 'no finite values were captured: range [0, 0]');
    r.low = 0;
    r.high = 0;
    if (stats.method === 'distribution') r.scale = 1;
    r.warnings = warnings;
    return r;
  }
  switch (stats.method) {
    case 'minmax':
      break;
    case 'entropy': {
      if (!s.ort && entropyHasSingleCandidate(o)) {
        // the single window is the whole histogram over the global range (no counts needed)
        const edges = ortEmptyHistogram(s.min, s.max, o.numBins).edges;
        const w = entropySingleWindow(o.numBins, o.numQuantizedBins);
        // onnxruntime then clamps the window to the observed [min, max]
        r.low = Math.max(edges[w.start]!, s.min);
        r.high = Math.min(edges[w.end]!, s.max);
        break;
      }
      const t = await kernels.ortEntropyThreshold(s.ort!, o.numQuantizedBins);
      r.low = t.low;
      r.high = t.high;
      break;
    }
    case 'percentile': {
      const t = await kernels.ortPercentile(s.ortAbs!, o.percentile, true);
      r.low = t.low;
      r.high = t.high;
      break;
    }
    case 'distribution': {
      const d = await kernels.ortDistribution(s.ort!, o.scenario);
      r.low = d.lowest;
      r.high = d.highest;
      const std8 = await e4m3ValuesStd(kernels);
      r.scale = Math.fround(d.std / std8);
      if (!Number.isFinite(r.scale) || r.scale <= 0) {
        warnings.push(`distribution std ${d.std} gives no usable FP8 scale; scale 1 used`);
        r.scale = 1;
      }
      break;
    }
    case 'torch_entropy':
    case 'torch_mse':
    case 'torch_percentile': {
      const h = s.torch ?? null;
      const opts = { numBits: o.numBits, unsigned: o.unsigned, startBin: o.startBin, stride: o.stride };
      let amax: number | null;
      if (stats.method === 'torch_entropy') amax = await kernels.torchEntropyAmax(h, opts);
      else if (stats.method === 'torch_mse') amax = await kernels.torchMseAmax(h, opts);
      else amax = await kernels.torchPercentileAmax(h, o.percentile);
      if (amax === null) {
        // e.g. all zeros skipped, or fewer bins than start_bin: fall back to max |x|
        amax = Math.max(Math.abs(s.min), Math.abs(s.max));
        warnings.push(`${stats.method}: no amax from the histogram (too few bins or no data); max |x| used`);
      }
      r.low = o.unsigned ? 0 : -amax;
      r.high = amax;
      break;
    }
  }
  const hist = histogramOf(s);
  if (hist) r.histogram = hist;
  if (warnings.length) r.warnings = warnings;
  return r;
}

/** Chooses the range of every tensor. */
export async function computeTable(stats: CalibrationStatistics, kernels: CalibratorKernels): Promise<CalibrationTable> {
  const names = Object.keys(stats.tensors);
  const ranges: Record<string, TensorRange> = {};
  const out = await Promise.all(names.map((n) => rangeOf(stats, stats.tensors[n], kernels)));
  names.forEach((n, i) => (ranges[n] = out[i]));
  const table: CalibrationTable = { method: stats.method, samples: stats.samples, ranges };
  if (stats.notes.length) table.notes = [...stats.notes];
  return table;
}

/** Symmetric INT8 activation scale as onnxruntime's QDQ quantizer computes it: max(|min(low,0)|, |max(high,0)|) / 127. */
export function symmetricInt8Scale(r: Pick<TensorRange, 'low' | 'high'>): number {
  const absmax = Math.max(Math.abs(Math.min(r.low, 0)), Math.abs(Math.max(r.high, 0)));
  const s = Math.fround(absmax / 127);
  return s < 1.1754943508222875e-38 ? 1 : s;
}

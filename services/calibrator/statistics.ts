/**
 * Mergeable per-tensor statistics: what one Calibrate run (or one shard of it) leaves behind before
 * thresholds are chosen. Plain data (numbers and typed arrays), so it can be shipped between shards.
 */
import type { OrtAbsHistogram, OrtHistogram, TorchHistogram } from '../../native/types.js';
import type { CalibrationMethod } from '../core/quant-types.js';

export interface TensorStatistics {
  tensor: string;
  /** elements seen (finite and not). */
  count: number;
  nanCount: number;
  infCount: number;
  /** min / max over the finite values (0 when there were none). */
  min: number;
  max: number;
  /** whether any finite value was seen (min/max are meaningful). */
  seen: boolean;
  /** min |x| over the finite values (tracked for percentile, whose ORT histogram starts there). */
  absMin?: number;
  /** onnxruntime HistogramCollector.collect_value state (entropy, distribution). */
  ort?: OrtHistogram;
  /** onnxruntime collect_absolute_value state (percentile, symmetric). */
  ortAbs?: OrtAbsHistogram;
  /** ModelOpt torch HistogramCalibrator state (torch_*). */
  torch?: TorchHistogram | null;
  /** how unusual values were treated (non-finite values, float32-max ranges...). */
  warnings: string[];
}

export interface HistogramOptions {
  /** bins of the first histogram: entropy 128, percentile 2048, distribution 2048, torch 2048. */
  numBins: number;
  /** entropy: quantized bins (128). */
  numQuantizedBins: number;
  /** percentile: 99.999 (ORT) or 99.99 (torch). */
  percentile: number;
  /** distribution scenario. */
  scenario: 'same' | 'p3';
  /** torch: drop exact zeros. */
  skipZeros: boolean;
  /** torch entropy/mse: start bin, stride, bits, unsigned. */
  startBin: number;
  stride: number;
  numBits: number;
  unsigned: boolean;
}

export interface CalibrationStatistics {
  method: CalibrationMethod;
  options: HistogramOptions;
  /** the steps (batches) this covers: [start, end) of `totalSteps`. */
  start: number;
  end: number;
  totalSteps: number;
  /** rows of the first (alphabetical) input fed. */
  samples: number;
  tensors: Record<string, TensorStatistics>;
  notes: string[];
  /** 'ranges': only the min/max pass ran (stopAfterRanges); 'complete': the statistics of the method. */
  phase: 'ranges' | 'complete';
}

/** The global range of one tensor, for the histogram pass of the global-range mode. */
export interface GlobalRange {
  min: number;
  max: number;
  absMin?: number;
}

export function defaultHistogramOptions(method: CalibrationMethod): HistogramOptions {
  const base: HistogramOptions = {
    numBins: 128,
    numQuantizedBins: 128,
    percentile: 99.999,
    scenario: 'same',
    skipZeros: false,
    startBin: 128,
    stride: 1,
    numBits: 8,
    unsigned: false,
  };
  switch (method) {
    case 'entropy':
      return base;
    case 'percentile':
      return { ...base, numBins: 2048 };
    case 'distribution':
      // onnxruntime's create_calibrator default; its compute_distribution rejects fewer than 512 bins
      return { ...base, numBins: 2048 };
    case 'torch_entropy':
    case 'torch_mse':
      return { ...base, numBins: 2048 };
    case 'torch_percentile':
      return { ...base, numBins: 2048, percentile: 99.99 };
    case 'minmax':
      return base;
  }
}

export function emptyTensorStatistics(tensor: string): TensorStatistics {
  return { tensor, count: 0, nanCount: 0, infCount: 0, min: 0, max: 0, seen: false, warnings: [] };
}

/**
 * onnxruntime's entropy search tries the windows of i = num_quantized_bins/2 … num_bins/2 bins on
 * each side of the zero bin. With num_bins/2 == num_quantized_bins/2 (the defaults, 128 and 128) there
 * is exactly one window, the whole histogram, so the threshold is its range whatever the counts: in
 * the global-range mode [-T, T] with T = max(|min|, |max|), clamped to [min, max] as onnxruntime
 * does, all known after the min/max pass.
 * (The goldens show it: onnxruntime 1.30's entropy and minmax scales are identical on every tensor.)
 */
export function entropyHasSingleCandidate(o: Pick<HistogramOptions, 'numBins' | 'numQuantizedBins'>): boolean {
  return Math.floor(o.numBins / 2) === Math.floor(o.numQuantizedBins / 2);
}

/** The one window's edges [start, end] of that single candidate (onnxruntime's thresholds[0]). */
export function entropySingleWindow(numBins: number, numQuantizedBins: number): { start: number; end: number } {
  const zero = Math.floor(numBins / 2);
  const half = Math.floor(numQuantizedBins / 2);
  return { start: zero - half, end: Math.min(zero + half + 1, numBins) };
}

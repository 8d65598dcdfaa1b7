/**
 * Shared types of the native kernel contract.
 *
 * Every kernel exists twice with the same arguments:
 *  - `native/reference.ts`: plain TypeScript, synchronous, returns `T` (the oracle and a readable spec);
 *  - `native/index.ts`: the C++ addon, runs off the JS thread, returns `Promise<T>`.
 *
 * Conventions
 *  - Tensors are flat, row-major (C-contiguous) typed arrays plus an explicit shape.
 *  - Float inputs are float32 (Float32Array). Scalars that come back as "float32" are plain JS
 *    numbers holding a float32 value (Math.fround-exact).
 *  - Histogram counts are Float64Array (integers, exact up to 2^53).
 *  - Input arrays are never modified; outputs are fresh arrays.
 */

/** Result of `amax`: NaN elements are ignored, ±Inf participate (so amax may be Infinity). */
export interface AmaxResult {
  /** max |x| over non-NaN elements; 0 when there are none. */
  amax: number;
  /** min / max over non-NaN elements; 0 when there are none. */
  min: number;
  max: number;
  /** number of elements, NaN and ±Inf elements. */
  count: number;
  nanCount: number;
  infCount: number;
}

export interface AmaxAxisResult {
  /** max |x| over every axis except `keepAxes`, row-major over the kept axes (NaN ignored; 0 if none). */
  amax: Float32Array;
  /** shape of `amax`: the kept axes' sizes in increasing axis order. */
  shape: number[];
  nanCount: number;
  infCount: number;
}

/**
 * State of ONNX Runtime's HistogramCollector.collect_value for one tensor, with ModelOpt's patch
 * (NaN/Inf min -> float32 tiny, NaN/Inf max -> float32 max). Symmetric range [-threshold, threshold].
 */
export interface OrtHistogram {
  hist: Float64Array;
  /** hist.length + 1 float32 edges. */
  edges: Float32Array;
  /** running min / max of the (patched) batch minima / maxima (float32). */
  min: number;
  max: number;
  threshold: number;
}

/** State of ONNX Runtime's HistogramCollector.collect_absolute_value (percentile, symmetric). */
export interface OrtAbsHistogram {
  hist: Float64Array;
  edges: Float32Array;
  /** nanmin / nanmax of the raw (signed) data seen so far. */
  min: number;
  max: number;
}

/** ModelOpt torch HistogramCalibrator state: |x| histogram over [0, edges[last]], equal widths. */
export interface TorchHistogram {
  hist: Float64Array;
  edges: Float32Array;
}

export interface Thresholds {
  low: number;
  high: number;
  /** onnxruntime's entropy search only: the KL divergence of every candidate window, smallest window first
   * (Infinity where smoothing left a distribution empty); the threshold is the first minimum. */
  divergences?: Float32Array;
}

export interface DistributionStats {
  avg: number;
  std: number;
  lowest: number;
  highest: number;
}

export interface IntQuantOptions {
  /** bit width, 2..8 for real quantize, 2..16 for fake-quant (default 8). */
  numBits?: number;
  /** unsigned range [0, 2^bits-1] (inputs must be >= 0). Default false. */
  unsigned?: boolean;
  /** narrow range: lower bound -B instead of -B-1 (signed only). Default false. */
  narrow?: boolean;
}

export interface QuantizeIntResult {
  /** integer codes, Int8Array (signed) or Uint8Array (unsigned). */
  values: Int8Array | Uint8Array;
  /** scale = amax / B, or 1 where amax is 0 (below 2^-24). One entry per tensor / channel. */
  scales: Float32Array;
}

export interface QuantizeLinearOptions {
  /** per-axis: tensor shape and axis; scale/zeroPoint then have shape[axis] entries. */
  shape?: readonly number[];
  axis?: number;
  /** int8 (default) or uint8 codes. */
  signed?: boolean;
}

export interface Int4Options {
  /** block size along axis 0 (Cin). Default 128. */
  blockSize?: number;
  /** clip factor: one number, or one per (block, output channel) laid out [nBlocks, cout]. Default 1. */
  alpha?: number | Float32Array;
}

export interface AwqClipOptions {
  blockSize?: number;
  /**
   * output channels per batch, as in the reference (default 1024). It only matters for a batch of
   * width 1, where numpy sums in a different order (pairwise instead of sequential).
   */
  coBatch?: number;
  /** keep every floor(tokens / maxTokens)-th activation row. Default 64. */
  maxTokens?: number;
  /** worker threads (native only; default: hardware concurrency). */
  threads?: number;
}

export interface AwqClipResult {
  /** best alpha per (block, output channel), shape [nBlocks, cout] (the layout of the INT4 scales). */
  alphas: Float32Array;
  /** loss of the chosen alpha, same layout (Infinity where no alpha gave a finite loss). */
  loss: Float32Array;
  nBlocks: number;
  /** number of activation rows actually used after sub-sampling. */
  tokensUsed: number;
}

export interface TorchHistogramOptions {
  /** bins of the first batch (default 2048). */
  numBins?: number;
  /** drop exact zeros (default false). */
  skipZeros?: boolean;
}

export interface TorchSearchOptions {
  numBits?: number;
  unsigned?: boolean;
  startBin?: number;
  stride?: number;
}

export interface TorchMseOptions extends TorchSearchOptions {
  /** 'e4m3' selects the scaled-E4M3 fake quantizer instead of the narrow integer one. */
  format?: 'int' | 'e4m3';
}

export interface DeviceInfo {
  kind: 'cpu' | 'cuda';
  index: number;
  name: string;
  /** bytes of device memory when known. */
  memory?: number;
}

export interface Capabilities {
  cpu: true;
  cuda: boolean;
  tensorrt: boolean;
  devices: DeviceInfo[];
  /** worker threads the CPU kernels use by default. */
  threads: number;
}

/**
 * The kernel contract. `reference.ts` implements `Kernels` directly; the addon implements
 * `AsyncKernels<Kernels>` (same arguments, Promise results).
 */
export interface Kernels {
  amax(data: Float32Array): AmaxResult;
  amaxPerAxis(data: Float32Array, shape: readonly number[], keepAxes: readonly number[]): AmaxAxisResult;

  /** ORT collect_value (+ModelOpt patch) for one batch; `state` null starts a new histogram. numBins default 128. */
  ortHistogramCollect(state: OrtHistogram | null, data: Float32Array, numBins?: number): OrtHistogram;
  /**
   * Merge two ORT histograms (shards). Equal edges: counts add exactly. Otherwise `b` is treated as
   * a batch whose values are its bin centres weighted by counts and merged with ORT's merge rule.
   */
  ortHistogramMerge(a: OrtHistogram, b: OrtHistogram): OrtHistogram;
  /** ORT collect_absolute_value for one batch (percentile, symmetric). numBins default 2048. */
  ortAbsHistogramCollect(state: OrtAbsHistogram | null, data: Float32Array, numBins?: number): OrtAbsHistogram;
  /** ORT get_entropy_threshold (default 128 quantized bins), clamped to [min, max]. */
  ortEntropyThreshold(h: OrtHistogram, numQuantizedBins?: number): Thresholds;
  /** ORT compute_percentile (default 99.999, symmetric true), clamped to [min, max]. */
  ortPercentile(h: OrtHistogram | OrtAbsHistogram, percentile?: number, symmetric?: boolean): Thresholds;
  /** ORT compute_distribution mean/std from the histogram ('same': power 1, 'p3': power 1/3). */
  ortDistribution(h: OrtHistogram, scenario?: 'same' | 'p3'): DistributionStats;

  /** ModelOpt torch histogram collection; returns the (new) state, or `state` when the batch is empty. */
  torchHistogramCollect(state: TorchHistogram | null, data: Float32Array, opts?: TorchHistogramOptions): TorchHistogram | null;
  /** KL (entropy) amax: start_bin 128, stride 1, last minimum. null without data. */
  torchEntropyAmax(h: TorchHistogram | null, opts?: TorchSearchOptions): number | null;
  /** MSE amax over bin centres from start_bin; first minimum. null without data. */
  torchMseAmax(h: TorchHistogram | null, opts?: TorchMseOptions): number | null;
  /** percentile amax (default 99.99): left edge of the first bin where the CDF >= p/100. */
  torchPercentileAmax(h: TorchHistogram | null, percentile?: number): number | null;

  /** out = clamp(rint(x*B/amax))*amax/B, B = 2^(bits-1+unsigned)-1; amax < 2^-24 gives 0. */
  fakeQuantInt(data: Float32Array, amax: number, opts?: IntQuantOptions): Float32Array;
  /** per-axis fake-quant: amax has shape[axis] entries. */
  fakeQuantIntPerAxis(data: Float32Array, shape: readonly number[], axis: number, amax: Float32Array, opts?: IntQuantOptions): Float32Array;
  /** real quantize per tensor: codes and scale amax/B (scale 1 and codes 0 where amax is 0). */
  quantizeInt(data: Float32Array, amax: number, opts?: IntQuantOptions): QuantizeIntResult;
  quantizeIntPerAxis(data: Float32Array, shape: readonly number[], axis: number, amax: Float32Array, opts?: IntQuantOptions): QuantizeIntResult;
  /** ONNX/ORT QuantizeLinear: saturate(round_half_even(x / scale) + zeroPoint), float32 division. */
  quantizeLinear(data: Float32Array, scale: Float32Array, zeroPoint: Int32Array, opts?: QuantizeLinearOptions): Int8Array | Uint8Array;
  /** ONNX DequantizeLinear: (q - zeroPoint) * scale in float32. */
  dequantizeLinear(q: Int8Array | Uint8Array, scale: Float32Array, zeroPoint: Int32Array, opts?: QuantizeLinearOptions): Float32Array;

  /** float32 -> FP8 E4M3FN bits: round-to-nearest-even, saturate to ±448 (Inf too), NaN -> 0x7F|sign. */
  e4m3Encode(data: Float32Array): Uint8Array;
  e4m3Decode(bits: Uint8Array): Float32Array;
  /** e4m3 round trip; with amax: s = 448/amax, out = e4m3(x*s)/s, |x| < 2^-24 gives 0. */
  fakeQuantE4M3(data: Float32Array, amax?: number): Float32Array;

  /** INT4 block scales [ceil(cin/bs), cout] = alpha * block absmax / 7 of the zero-padded [cin, cout] weight. */
  int4BlockScales(weight: Float32Array, cin: number, cout: number, opts?: Int4Options): Float32Array;
  /** INT4 RTN codes [cin, cout]: clip(rint(w / scale), -8, 7); scales [nBlocks, cout]. */
  int4QuantizeBlocks(weight: Float32Array, cin: number, cout: number, scales: Float32Array, blockSize?: number): Int8Array;
  int4DequantizeBlocks(q: Int8Array, cin: number, cout: number, scales: Float32Array, blockSize?: number): Float32Array;
  /** nibble packing: element 2k low nibble, 2k+1 high nibble, odd length padded with 0. Values are clipped + rounded. */
  packInt4(values: Int8Array | Uint8Array | Float32Array, unsigned?: boolean): Uint8Array;
  unpackInt4(packed: Uint8Array, count: number, unsigned?: boolean): Int8Array | Uint8Array;
  /**
   * AWQ clip search on weight [cin, cout] with activations [tokens, cin] (flattened).
   * alphas 0.50..1.00 step 0.05; strict improvement in ascending order; default 1.
   */
  awqClipSearch(weight: Float32Array, cin: number, cout: number, activations: Float32Array, tokens: number, opts?: AwqClipOptions): AwqClipResult;

  /** 2:4 mask over groups of 4 consecutive elements of each row (cols % 4 == 0): keep the 2 largest |w| (first pattern on ties). */
  sparsity24Mask(weight: Float32Array, rows: number, cols: number): Uint8Array;
}

export type AsyncKernels<K> = {
  [P in keyof K]: K[P] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;
};

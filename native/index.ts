/**
 * Typed loader of the native addon (native/build/Release/modelopt_native.node).
 *
 * Every kernel of `Kernels` (./types.ts) is exported here as an async function with the same
 * arguments as in ./reference.ts; the work runs on a libuv worker thread (Napi::AsyncWorker),
 * typed arrays are read in place (no copies) and must not be modified until the promise settles.
 *
 * Build the addon with `npm run build:native`.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { numel, normAxis, axisGeometry, intBounds, checkMatrix, checkBlock, checkBins, linearGeometry, rejectAsync, awqClipArgs } from './arg-checks.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  AmaxAxisResult,
  AmaxResult,
  AsyncKernels,
  AwqClipOptions,
  AwqClipResult,
  Capabilities,
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

type Ints = Int8Array | Uint8Array;

/** The raw binding as exported by native/src/addon.cc (positional arguments, validated here first). */
interface RawAddon {
  capabilities(): Capabilities;
  amax(data: Float32Array): Promise<AmaxResult>;
  amaxPerAxis(data: Float32Array, shape: number[], keep: number[]): Promise<{ amax: Float32Array; nanCount: number; infCount: number }>;
  ortHistogramCollect(state: OrtHistogram | null, data: Float32Array, numBins: number): Promise<OrtHistogram>;
  ortHistogramMerge(a: OrtHistogram, b: OrtHistogram): Promise<OrtHistogram>;
  ortAbsHistogramCollect(state: OrtAbsHistogram | null, data: Float32Array, numBins: number): Promise<OrtAbsHistogram>;
  ortEntropyThreshold(h: OrtHistogram, numQuantizedBins: number): Promise<Thresholds>;
  ortPercentile(h: OrtHistogram | OrtAbsHistogram, percentile: number, symmetric: boolean): Promise<Thresholds>;
  ortDistribution(h: OrtHistogram, p3: boolean): Promise<DistributionStats>;
  torchHistogramCollect(state: TorchHistogram | null, data: Float32Array, numBins: number, skipZeros: boolean): Promise<TorchHistogram | null>;
  torchEntropyAmax(h: TorchHistogram, numBits: number, unsigned: boolean, startBin: number, stride: number): Promise<number>;
  torchMseAmax(h: TorchHistogram, numBits: number, unsigned: boolean, startBin: number, stride: number, e4m3: boolean): Promise<number | null>;
  torchPercentileAmax(h: TorchHistogram, percentile: number): Promise<number>;
  fakeQuantInt(data: Float32Array, amax: Float32Array, inner: number, size: number, bound: number, lo: number): Promise<Float32Array>;
  quantizeInt(data: Float32Array, amax: Float32Array, inner: number, size: number, bound: number, lo: number, unsigned: boolean): Promise<QuantizeIntResult>;
  quantizeLinear(data: Float32Array, scale: Float32Array, zp: Int32Array, inner: number, size: number, signed: boolean): Promise<Ints>;
  dequantizeLinear(q: Ints, scale: Float32Array, zp: Int32Array, inner: number, size: number): Promise<Float32Array>;
  e4m3Encode(data: Float32Array): Promise<Uint8Array>;
  e4m3Decode(bits: Uint8Array): Promise<Float32Array>;
  fakeQuantE4M3(data: Float32Array, amax: number, scaled: boolean): Promise<Float32Array>;
  int4BlockScales(w: Float32Array, cin: number, cout: number, blockSize: number, alpha: number, alphas: Float32Array | null): Promise<Float32Array>;
  int4QuantizeBlocks(w: Float32Array, cin: number, cout: number, scales: Float32Array, blockSize: number): Promise<Int8Array>;
  int4DequantizeBlocks(q: Int8Array, cin: number, cout: number, scales: Float32Array, blockSize: number): Promise<Float32Array>;
  packInt4(values: Int8Array | Uint8Array | Float32Array, unsigned: boolean): Promise<Uint8Array>;
  unpackInt4(packed: Uint8Array, count: number, unsigned: boolean): Promise<Ints>;
  awqClipSearch(w: Float32Array, cin: number, cout: number, x: Float32Array, tokens: number, blockSize: number, maxTokens: number, threads: number, coBatch: number): Promise<AwqClipResult>;
  sparsity24Mask(w: Float32Array, rows: number, cols: number): Promise<Uint8Array>;
}

const here = dirname(fileURLToPath(import.meta.url));
/** Candidate locations of the compiled addon, first existing wins. */
export const ADDON_PATHS: readonly string[] = [
  process.env['MODELOPT_NATIVE_ADDON'] ?? '',
  join(here, 'build', 'Release', 'modelopt_native.node'),
  join(here, 'build', 'Debug', 'modelopt_native.node'),
].filter((p) => p !== '');

let addon: RawAddon | null = null;
let loadError: Error | null = null;

/** Loads (once) and returns the raw addon; throws a clear error when it has not been built. */
function raw(): RawAddon {
  if (addon) return addon;
  if (loadError) throw loadError;
  const path = ADDON_PATHS.find((p) => existsSync(p));
  if (!path) {
    loadError = new Error(
      `modelopt native addon not found (looked in ${ADDON_PATHS.join(', ')}). Build it with \`npm run build:native\`.`,
    );
    throw loadError;
  }
  try {
    addon = createRequire(import.meta.url)(path) as RawAddon;
  } catch (e) {
    loadError = new Error(`modelopt native addon at ${path} failed to load (${(e as Error).message}); rebuild it with \`npm run build:native\`.`);
    throw loadError;
  }
  return addon;
}

/** true when the compiled addon exists and loads. */
export function isNativeAvailable(): boolean {
  try {
    raw();
    return true;
  } catch {
    return false;
  }
}

/** What this build supports: `{ cpu: true, cuda, tensorrt, devices, threads }`. */
export function capabilities(): Capabilities {
  return raw().capabilities();
}

// ---------------------------------------------------------------------------------------------
// kernels
// ---------------------------------------------------------------------------------------------

export function amax(data: Float32Array): Promise<AmaxResult> {
  return rejectAsync(() => raw().amax(data));
}

export function amaxPerAxis(data: Float32Array, shape: readonly number[], keepAxes: readonly number[]): Promise<AmaxAxisResult> {
  return rejectAsync(async () => {
    numel(shape, data.length);
    const keep = [...new Set(keepAxes.map((a) => normAxis(a, shape.length)))].sort((x, y) => x - y);
    const r = await raw().amaxPerAxis(data, [...shape], keep);
    return { amax: r.amax, shape: keep.map((a) => shape[a]!), nanCount: r.nanCount, infCount: r.infCount };
  });
}

export function ortHistogramCollect(state: OrtHistogram | null, data: Float32Array, numBins = 128): Promise<OrtHistogram> {
  return rejectAsync(() => {
    checkBins(numBins);
    return raw().ortHistogramCollect(state, data, numBins);
  });
}

export function ortHistogramMerge(a: OrtHistogram, b: OrtHistogram): Promise<OrtHistogram> {
  return rejectAsync(() => raw().ortHistogramMerge(a, b));
}

export function ortAbsHistogramCollect(state: OrtAbsHistogram | null, data: Float32Array, numBins = 2048): Promise<OrtAbsHistogram> {
  return rejectAsync(() => {
    checkBins(numBins);
    return raw().ortAbsHistogramCollect(state, data, numBins);
  });
}

export function ortEntropyThreshold(h: OrtHistogram, numQuantizedBins = 128): Promise<Thresholds> {
  return rejectAsync(() => raw().ortEntropyThreshold(h, numQuantizedBins));
}

export function ortPercentile(h: OrtHistogram | OrtAbsHistogram, percentile = 99.999, symmetric = true): Promise<Thresholds> {
  return rejectAsync(() => {
    if (!(percentile >= 0 && percentile <= 100)) throw new RangeError('Invalid percentile. Must be in range 0 <= percentile <= 100.');
    return raw().ortPercentile(h, percentile, symmetric);
  });
}

export function ortDistribution(h: OrtHistogram, scenario: 'same' | 'p3' = 'same'): Promise<DistributionStats> {
  return rejectAsync(() => {
    if (scenario !== 'same' && scenario !== 'p3') throw new RangeError("Invalid scenario. Must be in {'same', 'p3'}.");
    if (h.hist.length < 512) throw new RangeError('Invalid num_bins. Must be in range 512 <= num_bins.');
    return raw().ortDistribution(h, scenario === 'p3');
  });
}

export function torchHistogramCollect(state: TorchHistogram | null, data: Float32Array, opts: TorchHistogramOptions = {}): Promise<TorchHistogram | null> {
  return rejectAsync(() => {
    const numBins = opts.numBins ?? 2048;
    checkBins(numBins);
    return raw().torchHistogramCollect(state, data, numBins, opts.skipZeros ?? false);
  });
}

export function torchEntropyAmax(h: TorchHistogram | null, opts: TorchSearchOptions = {}): Promise<number | null> {
  return rejectAsync(async () => (h ? raw().torchEntropyAmax(h, opts.numBits ?? 8, opts.unsigned ?? false, opts.startBin ?? 128, opts.stride ?? 1) : null));
}

export function torchMseAmax(h: TorchHistogram | null, opts: TorchMseOptions = {}): Promise<number | null> {
  return rejectAsync(async () =>
    h ? raw().torchMseAmax(h, opts.numBits ?? 8, opts.unsigned ?? false, opts.startBin ?? 128, opts.stride ?? 1, opts.format === 'e4m3') : null,
  );
}

export function torchPercentileAmax(h: TorchHistogram | null, percentile = 99.99): Promise<number | null> {
  return rejectAsync(async () => {
    if (!(percentile >= 0 && percentile <= 100)) throw new RangeError('Invalid percentile. Must be in range 0 <= percentile <= 100.');
    return h ? raw().torchPercentileAmax(h, percentile) : null;
  });
}

export function fakeQuantInt(data: Float32Array, amaxV: number, opts: IntQuantOptions = {}): Promise<Float32Array> {
  return rejectAsync(() => {
    const { B, lo } = intBounds(opts, 16);
    if (!(amaxV >= 0)) throw new RangeError(`amax must be non-negative, got ${amaxV}`);
    return raw().fakeQuantInt(data, Float32Array.of(amaxV), Math.max(data.length, 1), 1, B, lo);
  });
}

export function fakeQuantIntPerAxis(data: Float32Array, shape: readonly number[], axis: number, amaxV: Float32Array, opts: IntQuantOptions = {}): Promise<Float32Array> {
  return rejectAsync(() => {
    const { B, lo } = intBounds(opts, 16);
    const { inner, size } = axisGeometry(data.length, shape, axis);
    if (amaxV.length !== size) throw new RangeError(`amax has ${amaxV.length} entries, axis has ${size}`);
    return raw().fakeQuantInt(data, amaxV, inner, size, B, lo);
  });
}

export function quantizeInt(data: Float32Array, amaxV: number, opts: IntQuantOptions = {}): Promise<QuantizeIntResult> {
  return rejectAsync(() => {
    const { B, lo } = intBounds(opts, 8);
    if (!(amaxV >= 0)) throw new RangeError(`amax must be non-negative, got ${amaxV}`);
    return raw().quantizeInt(data, Float32Array.of(amaxV), Math.max(data.length, 1), 1, B, lo, opts.unsigned ?? false);
  });
}

export function quantizeIntPerAxis(data: Float32Array, shape: readonly number[], axis: number, amaxV: Float32Array, opts: IntQuantOptions = {}): Promise<QuantizeIntResult> {
  return rejectAsync(() => {
    const { B, lo } = intBounds(opts, 8);
    const { inner, size } = axisGeometry(data.length, shape, axis);
    if (amaxV.length !== size) throw new RangeError(`amax has ${amaxV.length} entries, axis has ${size}`);
    return raw().quantizeInt(data, amaxV, inner, size, B, lo, opts.unsigned ?? false);
  });
}

export function quantizeLinear(data: Float32Array, scale: Float32Array, zeroPoint: Int32Array, opts: QuantizeLinearOptions = {}): Promise<Int8Array | Uint8Array> {
  return rejectAsync(() => {
    const { inner, size } = linearGeometry(data.length, scale, zeroPoint, opts);
    return raw().quantizeLinear(data, scale, zeroPoint, inner, size, opts.signed ?? true);
  });
}

export function dequantizeLinear(q: Int8Array | Uint8Array, scale: Float32Array, zeroPoint: Int32Array, opts: QuantizeLinearOptions = {}): Promise<Float32Array> {
  return rejectAsync(() => {
    const { inner, size } = linearGeometry(q.length, scale, zeroPoint, opts);
    return raw().dequantizeLinear(q, scale, zeroPoint, inner, size);
  });
}

export function e4m3Encode(data: Float32Array): Promise<Uint8Array> {
  return rejectAsync(() => raw().e4m3Encode(data));
}

export function e4m3Decode(bits: Uint8Array): Promise<Float32Array> {
  return rejectAsync(() => raw().e4m3Decode(bits));
}

export function fakeQuantE4M3(data: Float32Array, amaxV?: number): Promise<Float32Array> {
  return rejectAsync(() => {
    if (amaxV !== undefined && !(amaxV >= 0)) throw new RangeError(`amax must be non-negative, got ${amaxV}`);
    return raw().fakeQuantE4M3(data, amaxV ?? 0, amaxV !== undefined);
  });
}

export function int4BlockScales(weight: Float32Array, cin: number, cout: number, opts: Int4Options = {}): Promise<Float32Array> {
  return rejectAsync(() => {
    const bs = opts.blockSize ?? 128;
    checkBlock(bs);
    checkMatrix(weight.length, cin, cout, 'int4BlockScales');
    const alpha = opts.alpha ?? 1;
    if (typeof alpha !== 'number' && alpha.length !== Math.ceil(cin / bs) * cout) {
      throw new RangeError(`alpha has ${alpha.length} entries, expected ${Math.ceil(cin / bs) * cout}`);
    }
    return raw().int4BlockScales(weight, cin, cout, bs, typeof alpha === 'number' ? alpha : 1, typeof alpha === 'number' ? null : alpha);
  });
}

export function int4QuantizeBlocks(weight: Float32Array, cin: number, cout: number, scales: Float32Array, blockSize = 128): Promise<Int8Array> {
  return rejectAsync(() => {
    checkBlock(blockSize);
    checkMatrix(weight.length, cin, cout, 'int4QuantizeBlocks');
    checkMatrix(scales.length, Math.ceil(cin / blockSize), cout, 'int4QuantizeBlocks scales');
    return raw().int4QuantizeBlocks(weight, cin, cout, scales, blockSize);
  });
}

export function int4DequantizeBlocks(q: Int8Array, cin: number, cout: number, scales: Float32Array, blockSize = 128): Promise<Float32Array> {
  return rejectAsync(() => {
    checkBlock(blockSize);
    checkMatrix(q.length, cin, cout, 'int4DequantizeBlocks');
    checkMatrix(scales.length, Math.ceil(cin / blockSize), cout, 'int4DequantizeBlocks scales');
    return raw().int4DequantizeBlocks(q, cin, cout, scales, blockSize);
  });
}

export function packInt4(values: Int8Array | Uint8Array | Float32Array, unsigned = false): Promise<Uint8Array> {
  return rejectAsync(() => raw().packInt4(values, unsigned));
}

export function unpackInt4(packed: Uint8Array, count: number, unsigned = false): Promise<Int8Array | Uint8Array> {
  return rejectAsync(() => {
    if (!Number.isInteger(count) || count < 0 || Math.ceil(count / 2) > packed.length) throw new RangeError(`cannot unpack ${count} nibbles from ${packed.length} bytes`);
    return raw().unpackInt4(packed, count, unsigned);
  });
}

export function awqClipSearch(
  weight: Float32Array,
  cin: number,
  cout: number,
  activations: Float32Array,
  tokens: number,
  opts: AwqClipOptions = {},
): Promise<AwqClipResult> {
  return rejectAsync(() => {
    const a = awqClipArgs(weight, cin, cout, activations, tokens, opts);
    return raw().awqClipSearch(weight, cin, cout, activations, tokens, a.blockSize, a.maxTokens, a.threads, a.coBatch);
  });
}

export function sparsity24Mask(weight: Float32Array, rows: number, cols: number): Promise<Uint8Array> {
  return rejectAsync(() => {
    checkMatrix(weight.length, rows, cols, 'sparsity24Mask');
    if (cols % 4 !== 0) throw new RangeError(`sparsity24Mask: cols (${cols}) must be a multiple of 4`);
    return raw().sparsity24Mask(weight, rows, cols);
  });
}

/** All native kernels as one object (same shape as `reference` in ./reference.ts, async). */
export const native: AsyncKernels<Kernels> = {
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

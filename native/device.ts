/**
 * Device selection for the native kernels: `'cpu' | 'cuda' | 'auto'`.
 *
 * `kernelsOn(device)` returns the full async kernel contract (`AsyncKernels<Kernels>`, see
 * ./types.ts). With `'cuda'` (or `'auto'` when the addon was built with CUDA and a GPU is
 * present) the kernels that have a GPU implementation (native/cuda) run there; every other kernel
 * is the CPU addon's (./index.ts). The GPU path honours the same contract: identical results where
 * the maths is exact (amax, histogram counts, integer / E4M3 / INT4 quantization, packing, AWQ
 * alphas and losses, ORT entropy, torch MSE); the float64 `log` of the torch entropy search may
 * differ in the last ulp (see native/cuda/README.md).
 *
 * The default device comes from `MODELOPT_DEVICE` (`cpu`, `cuda` or `auto`; default `auto`).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { rejectAsync, intBounds, checkUnsigned, axisGeometry, checkBlock, checkMatrix, checkAmax, awqClipArgs } from './arg-checks.js';
import * as cpu from './index.js';
import type {
  AmaxAxisResult,
  AmaxResult,
  AsyncKernels,
  AwqClipOptions,
  AwqClipResult,
  Int4Options,
  IntQuantOptions,
  Kernels,
  OrtHistogram,
  QuantizeIntResult,
  Thresholds,
  TorchHistogram,
  TorchMseOptions,
  TorchSearchOptions,
} from './types.js';

export type DeviceChoice = 'cpu' | 'cuda' | 'auto';
export type Device = 'cpu' | 'cuda';

export interface CudaDevice {
  kind: 'cuda';
  index: number;
  name: string;
  memory: number;
  computeCapability: string;
  multiprocessors: number;
}

/** exports.cuda of the addon (native/cuda/bindings_cuda.cc): positional arguments like index.ts's raw calls. */
interface RawCuda {
  info(): { available: boolean; reason: string; devices: CudaDevice[] };
  amax(data: Float32Array): Promise<AmaxResult>;
  amaxPerAxis(data: Float32Array, shape: number[], keep: number[]): Promise<{ amax: Float32Array; nanCount: number; infCount: number }>;
  minMax(data: Float32Array): Promise<{ min: number; max: number }>;
  histogram(data: Float32Array, nbins: number, lo: number, hi: number, mode: 0 | 1, abs: boolean, edges: Float32Array | null): Promise<Float64Array>;
  ortEntropyThreshold(h: OrtHistogram, numQuantizedBins: number): Promise<Thresholds>;
  torchEntropyAmax(h: TorchHistogram, numBits: number, unsigned: boolean, startBin: number, stride: number): Promise<number>;
  torchMseAmax(h: TorchHistogram, numBits: number, unsigned: boolean, startBin: number, stride: number, e4m3: boolean): Promise<number | null>;
  fakeQuantInt(data: Float32Array, amax: Float32Array, inner: number, size: number, bound: number, lo: number): Promise<Float32Array>;
  quantizeInt(data: Float32Array, amax: Float32Array, inner: number, size: number, bound: number, lo: number, unsigned: boolean): Promise<QuantizeIntResult>;
  e4m3Encode(data: Float32Array): Promise<Uint8Array>;
  fakeQuantE4M3(data: Float32Array, amax: number, scaled: boolean): Promise<Float32Array>;
  int4BlockScales(w: Float32Array, cin: number, cout: number, blockSize: number, alpha: number, alphas: Float32Array | null): Promise<Float32Array>;
  int4QuantizeBlocks(w: Float32Array, cin: number, cout: number, scales: Float32Array, blockSize: number): Promise<Int8Array>;
  int4DequantizeBlocks(q: Int8Array, cin: number, cout: number, scales: Float32Array, blockSize: number): Promise<Float32Array>;
  packInt4(values: Int8Array | Uint8Array | Float32Array, unsigned: boolean): Promise<Uint8Array>;
  awqClipSearch(w: Float32Array, cin: number, cout: number, x: Float32Array, tokens: number, blockSize: number, maxTokens: number, threads: number, coBatch: number): Promise<AwqClipResult>;
}

let cudaRaw: RawCuda | null | undefined;

/** The addon's CUDA bindings, or null when the addon is missing or was built without CUDA. */
function rawCuda(): RawCuda | null {
  if (cudaRaw !== undefined) return cudaRaw;
  cudaRaw = null;
  if (!cpu.isNativeAvailable()) return cudaRaw;
  const path = cpu.ADDON_PATHS.find((p) => existsSync(p));
  if (!path) return cudaRaw;
  const mod = createRequire(import.meta.url)(path) as { cuda?: RawCuda };
  cudaRaw = mod.cuda ?? null;
  return cudaRaw;
}

/** true when the addon has CUDA kernels and a usable GPU (never throws). */
export function cudaAvailable(): boolean {
  try {
    const r = rawCuda();
    return r !== null && r.info().available;
  } catch {
    return false;
  }
}

/** Why CUDA cannot be used, or '' when it can. */
export function cudaUnavailableReason(): string {
  try {
    if (!cpu.isNativeAvailable()) return 'native addon not built';
    const r = rawCuda();
    if (!r) return 'native addon built without CUDA (nvcc not found at build time)';
    return r.info().reason;
  } catch (e) {
    return (e as Error).message;
  }
}

/** CUDA devices visible to the addon (empty without a GPU). */
export function cudaDevices(): CudaDevice[] {
  try {
    return rawCuda()?.info().devices ?? [];
  } catch {
    return [];
  }
}

/** `MODELOPT_DEVICE` ('cpu' | 'cuda' | 'auto'), default 'auto'. */
export function defaultDevice(): DeviceChoice {
  const v = (process.env['MODELOPT_DEVICE'] ?? 'auto').toLowerCase();
  if (v === 'cpu' || v === 'cuda' || v === 'auto') return v;
  throw new RangeError(`MODELOPT_DEVICE must be cpu, cuda or auto, got ${v}`);
}

/** 'cuda' when allowed and available; 'cpu' otherwise. An explicit 'cuda' without a GPU throws. */
export function resolveDevice(choice: DeviceChoice = defaultDevice()): Device {
  if (choice === 'cpu') return 'cpu';
  if (choice !== 'cuda' && choice !== 'auto') throw new RangeError(`device must be cpu, cuda or auto, got ${String(choice)}`);
  const ok = cudaAvailable();
  if (choice === 'cuda' && !ok) throw new Error(`device 'cuda' requested but CUDA is unavailable: ${cudaUnavailableReason()}`);
  return ok ? 'cuda' : 'cpu';
}

// ---------------------------------------------------------------------------------------------

/** The CUDA-backed kernels; the rest of the contract comes from the CPU addon. */
function cudaKernels(g: RawCuda): AsyncKernels<Kernels> {
  return {
    ...cpu.native,
    amax: (data) => rejectAsync(() => g.amax(data)),
    amaxPerAxis: (data, shape, keepAxes) =>
      rejectAsync(async (): Promise<AmaxAxisResult> => {
        const rank = shape.length;
        let n = 1;
        for (const d of shape) {
          if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d} in shape [${shape.join(',')}]`);
          n *= d;
        }
        if (n !== data.length) throw new RangeError(`shape [${shape.join(',')}] has ${n} elements, data has ${data.length}`);
        const keep = [...new Set(keepAxes.map((a) => (a < 0 ? a + rank : a)))].sort((x, y) => x - y);
        for (const a of keep) if (!Number.isInteger(a) || a < 0 || a >= rank) throw new RangeError(`axis out of range for rank ${rank}`);
        const r = await g.amaxPerAxis(data, [...shape], keep);
        return { amax: r.amax, shape: keep.map((a) => shape[a]!), nanCount: r.nanCount, infCount: r.infCount };
      }),
    ortEntropyThreshold: (h, numQuantizedBins = 128) => rejectAsync(() => g.ortEntropyThreshold(h, numQuantizedBins)),
    torchEntropyAmax: (h: TorchHistogram | null, opts: TorchSearchOptions = {}) =>
      rejectAsync(async () => (h ? g.torchEntropyAmax(h, opts.numBits ?? 8, opts.unsigned ?? false, opts.startBin ?? 128, opts.stride ?? 1) : null)),
    torchMseAmax: (h: TorchHistogram | null, opts: TorchMseOptions = {}) =>
      rejectAsync(async () =>
        h ? g.torchMseAmax(h, opts.numBits ?? 8, opts.unsigned ?? false, opts.startBin ?? 128, opts.stride ?? 1, opts.format === 'e4m3') : null,
      ),
    fakeQuantInt: (data, amaxV, opts: IntQuantOptions = {}) =>
      rejectAsync(() => {
        const { B, lo } = intBounds(opts, 16);
        checkAmax(amaxV);
        checkUnsigned(data, opts.unsigned);
        return g.fakeQuantInt(data, Float32Array.of(amaxV), Math.max(data.length, 1), 1, B, lo);
      }),
    fakeQuantIntPerAxis: (data, shape, axis, amaxV, opts: IntQuantOptions = {}) =>
      rejectAsync(() => {
        const { B, lo } = intBounds(opts, 16);
        const { inner, size } = axisGeometry(data.length, shape, axis);
        if (amaxV.length !== size) throw new RangeError(`amax has ${amaxV.length} entries, axis has ${size}`);
        amaxV.forEach(checkAmax);
        checkUnsigned(data, opts.unsigned);
        return g.fakeQuantInt(data, amaxV, inner, size, B, lo);
      }),
    quantizeInt: (data, amaxV, opts: IntQuantOptions = {}) =>
      rejectAsync(() => {
        const { B, lo } = intBounds(opts, 8);
        checkAmax(amaxV);
        checkUnsigned(data, opts.unsigned);
        return g.quantizeInt(data, Float32Array.of(amaxV), Math.max(data.length, 1), 1, B, lo, opts.unsigned ?? false);
      }),
    quantizeIntPerAxis: (data, shape, axis, amaxV, opts: IntQuantOptions = {}) =>
      rejectAsync(() => {
        const { B, lo } = intBounds(opts, 8);
        const { inner, size } = axisGeometry(data.length, shape, axis);
        if (amaxV.length !== size) throw new RangeError(`amax has ${amaxV.length} entries, axis has ${size}`);
        amaxV.forEach(checkAmax);
        checkUnsigned(data, opts.unsigned);
        return g.quantizeInt(data, amaxV, inner, size, B, lo, opts.unsigned ?? false);
      }),
    e4m3Encode: (data) => rejectAsync(() => g.e4m3Encode(data)),
    fakeQuantE4M3: (data, amaxV?: number) =>
      rejectAsync(() => {
        if (amaxV !== undefined) checkAmax(amaxV);
        return g.fakeQuantE4M3(data, amaxV ?? 0, amaxV !== undefined);
      }),
    int4BlockScales: (weight, cin, cout, opts: Int4Options = {}) =>
      rejectAsync(() => {
        const bs = opts.blockSize ?? 128;
        checkBlock(bs);
        checkMatrix(weight.length, cin, cout, 'int4BlockScales');
        const alpha = opts.alpha ?? 1;
        if (typeof alpha !== 'number' && alpha.length !== Math.ceil(cin / bs) * cout) {
          throw new RangeError(`alpha has ${alpha.length} entries, expected ${Math.ceil(cin / bs) * cout}`);
        }
        return g.int4BlockScales(weight, cin, cout, bs, typeof alpha === 'number' ? alpha : 1, typeof alpha === 'number' ? null : alpha);
      }),
    int4QuantizeBlocks: (weight, cin, cout, scales, blockSize = 128) =>
      rejectAsync(() => {
        checkBlock(blockSize);
        checkMatrix(weight.length, cin, cout, 'int4QuantizeBlocks');
        checkMatrix(scales.length, Math.ceil(cin / blockSize), cout, 'int4QuantizeBlocks scales');
        return g.int4QuantizeBlocks(weight, cin, cout, scales, blockSize);
      }),
    int4DequantizeBlocks: (q, cin, cout, scales, blockSize = 128) =>
      rejectAsync(() => {
        checkBlock(blockSize);
        checkMatrix(q.length, cin, cout, 'int4DequantizeBlocks');
        checkMatrix(scales.length, Math.ceil(cin / blockSize), cout, 'int4DequantizeBlocks scales');
        return g.int4DequantizeBlocks(q, cin, cout, scales, blockSize);
      }),
    packInt4: (values, unsigned = false) => rejectAsync(() => g.packInt4(values, unsigned)),
    awqClipSearch: (weight, cin, cout, activations, tokens, opts: AwqClipOptions = {}) =>
      rejectAsync(() => {
        const a = awqClipArgs(weight, cin, cout, activations, tokens, opts);
        return g.awqClipSearch(weight, cin, cout, activations, tokens, a.blockSize, a.maxTokens, a.threads, a.coBatch);
      }),
  };
}

/** Kernel names that run on the GPU when the device resolves to 'cuda'. */
export const CUDA_KERNELS: readonly (keyof Kernels)[] = [
  'amax',
  'amaxPerAxis',
  'ortEntropyThreshold',
  'torchEntropyAmax',
  'torchMseAmax',
  'fakeQuantInt',
  'fakeQuantIntPerAxis',
  'quantizeInt',
  'quantizeIntPerAxis',
  'e4m3Encode',
  'fakeQuantE4M3',
  'int4BlockScales',
  'int4QuantizeBlocks',
  'int4DequantizeBlocks',
  'packInt4',
  'awqClipSearch',
];

/** The async kernel contract on the chosen device (see the module comment). */
export function kernelsOn(choice: DeviceChoice = defaultDevice()): AsyncKernels<Kernels> & { device: Device } {
  const device = resolveDevice(choice);
  const g = device === 'cuda' ? rawCuda() : null;
  const k = g ? cudaKernels(g) : cpu.native;
  return { ...k, device };
}

/**
 * GPU histogram primitive (numpy.histogram float32 semantics with `mode: 'numpy'`, the torch
 * |x| histc-style count with `mode: 'histc'`): counts of `data` over [lo, hi] in `nbins` bins.
 * Throws when CUDA is unavailable.
 */
export function cudaHistogram(
  data: Float32Array,
  nbins: number,
  lo: number,
  hi: number,
  mode: 'numpy' | 'histc' = 'numpy',
  opts: { abs?: boolean; edges?: Float32Array } = {},
): Promise<Float64Array> {
  return rejectAsync(() => {
    const g = rawCuda();
    if (!g || !g.info().available) throw new Error(`CUDA is unavailable: ${cudaUnavailableReason()}`);
    if (!Number.isInteger(nbins) || nbins < 1) throw new RangeError(`nbins must be a positive integer, got ${nbins}`);
    return g.histogram(data, nbins, lo, hi, mode === 'numpy' ? 0 : 1, opts.abs ?? false, opts.edges ?? null);
  });
}

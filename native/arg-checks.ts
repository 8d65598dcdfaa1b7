/** Argument checks shared by the CPU (./index.ts) and CUDA (./device.ts) kernel bindings: cheap, synchronous RangeErrors before any native call. */
import type { AwqClipOptions, IntQuantOptions, QuantizeLinearOptions } from './types.js';

export function numel(shape: readonly number[], length: number): void {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d} in shape [${shape.join(',')}]`);
    n *= d;
  }
  if (n !== length) throw new RangeError(`shape [${shape.join(',')}] has ${n} elements, data has ${length}`);
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new RangeError(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function axisGeometry(length: number, shape: readonly number[], axis: number): { inner: number; size: number } {
  numel(shape, length);
  const ax = normAxis(axis, shape.length);
  let inner = 1;
  for (let d = ax + 1; d < shape.length; d++) inner *= shape[d]!;
  return { inner, size: shape[ax]! };
}

export function intBounds(opts: IntQuantOptions, maxBits: number): { B: number; lo: number } {
  const numBits = opts.numBits ?? 8;
  if (!Number.isInteger(numBits) || numBits < 2 || numBits > maxBits) throw new RangeError(`numBits must be in [2, ${maxBits}], got ${numBits}`);
  const B = 2 ** (numBits - 1 + (opts.unsigned ? 1 : 0)) - 1;
  return { B, lo: opts.unsigned ? 0 : opts.narrow ? -B : -B - 1 };
}

export function checkMatrix(length: number, rows: number, cols: number, what: string): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) throw new RangeError(`${what}: invalid shape [${rows}, ${cols}]`);
  if (length !== rows * cols) throw new RangeError(`${what}: shape [${rows}, ${cols}] needs ${rows * cols} elements, got ${length}`);
}

export function checkBlock(bs: number): void {
  if (!Number.isInteger(bs) || bs < 1) throw new RangeError(`blockSize must be a positive integer, got ${bs}`);
}

export function checkBins(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`numBins must be a positive integer, got ${n}`);
}

export function linearGeometry(n: number, scale: Float32Array, zp: Int32Array, opts: QuantizeLinearOptions): { inner: number; size: number } {
  if (scale.length !== zp.length) throw new RangeError('scale and zeroPoint must have the same length');
  if (scale.length === 1) {
    if (opts.shape) numel(opts.shape, n);
    return { inner: Math.max(n, 1), size: 1 };
  }
  if (!opts.shape) throw new RangeError('per-axis quantizeLinear needs shape and axis');
  const g = axisGeometry(n, opts.shape, opts.axis ?? 1);
  if (scale.length !== g.size) throw new RangeError(`scale has ${scale.length} entries, axis has ${g.size}`);
  return g;
}

export function rejectAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (e) {
    return Promise.reject(e);
  }
}

export function checkUnsigned(data: Float32Array, unsigned: boolean | undefined): void {
  if (!unsigned) return;
  for (let i = 0; i < data.length; i++) if (data[i]! < 0) throw new RangeError('unsigned quantization needs non-negative inputs');
}

export function checkAmax(a: number): void {
  if (!(a >= 0)) throw new RangeError(`amax must be non-negative, got ${a}`);
}

/** Checked AWQ clip-search parameters (defaults: block 128, 64 tokens, output channels in batches of 1024, threads 0 = all). */
export function awqClipArgs(
  weight: Float32Array,
  cin: number,
  cout: number,
  activations: Float32Array,
  tokens: number,
  opts: AwqClipOptions,
): { blockSize: number; maxTokens: number; coBatch: number; threads: number } {
  const blockSize = opts.blockSize ?? 128;
  checkBlock(blockSize);
  checkMatrix(weight.length, cin, cout, 'awqClipSearch weight');
  checkMatrix(activations.length, tokens, cin, 'awqClipSearch activations');
  const maxTokens = opts.maxTokens ?? 64;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError(`maxTokens must be a positive integer, got ${maxTokens}`);
  const coBatch = opts.coBatch ?? 1024;
  if (!Number.isInteger(coBatch) || coBatch < 1) throw new RangeError(`coBatch must be a positive integer, got ${coBatch}`);
  return { blockSize, maxTokens, coBatch, threads: opts.threads ?? 0 };
}

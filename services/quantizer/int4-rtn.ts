/**
 * INT4 block round-to-nearest on a [cin, cout] weight, blocks of `blockSize` along axis 0 (cin):
 * zero-pad cin to a multiple of the block size, scale = α·block absmax / 7 ([nBlocks, cout]),
 * q = clip(rint_half_even(w / scale), -8, 7) (0 where the scale is 0), w' = q·scale.
 */
export const INT4_BLOCK_SIZE = 128;
export const INT4_SCALE = 7;
export const INT4_MIN = -8;
export const INT4_MAX = 7;

function rintHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function numBlocks(cin: number, blockSize: number): number {
  return Math.ceil(cin / blockSize);
}

/** Block scales [nBlocks, cout]; `alpha` is one number or one per (block, cout). */
export function int4BlockScales(w: Float32Array, cin: number, cout: number, blockSize = INT4_BLOCK_SIZE, alpha: number | Float32Array = 1): Float32Array {
  const nb = numBlocks(cin, blockSize);
  const amax = new Float32Array(nb * cout);
  for (let r = 0; r < cin; r++) {
    const b = Math.floor(r / blockSize);
    const row = r * cout;
    const base = b * cout;
    for (let c = 0; c < cout; c++) {
      const a = Math.abs(w[row + c]!);
      if (a > amax[base + c]!) amax[base + c] = a;
    }
  }
  const out = new Float32Array(nb * cout);
  for (let i = 0; i < out.length; i++) {
    const a = typeof alpha === 'number' ? alpha : alpha[i]!;
    out[i] = Math.fround(Math.fround(amax[i]! * Math.fround(a)) / INT4_SCALE);
  }
  return out;
}

export function int4QuantizeBlocks(w: Float32Array, cin: number, cout: number, scales: Float32Array, blockSize = INT4_BLOCK_SIZE): Int8Array {
  const q = new Int8Array(cin * cout);
  for (let r = 0; r < cin; r++) {
    const sb = Math.floor(r / blockSize) * cout;
    for (let c = 0; c < cout; c++) {
      const s = scales[sb + c]!;
      if (s === 0) continue;
      const v = rintHalfEven(Math.fround(w[r * cout + c]! / s));
      q[r * cout + c] = Math.min(INT4_MAX, Math.max(INT4_MIN, v));
    }
  }
  return q;
}

export function int4DequantizeBlocks(q: Int8Array, cin: number, cout: number, scales: Float32Array, blockSize = INT4_BLOCK_SIZE): Float32Array {
  const out = new Float32Array(cin * cout);
  for (let r = 0; r < cin; r++) {
    const sb = Math.floor(r / blockSize) * cout;
    for (let c = 0; c < cout; c++) out[r * cout + c] = Math.fround(q[r * cout + c]! * scales[sb + c]!);
  }
  return out;
}

/** Transpose of a row-major [rows, cols] matrix. */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array;
export function transpose2d(a: Int8Array, rows: number, cols: number): Int8Array;
export function transpose2d(a: Float32Array | Int8Array, rows: number, cols: number): Float32Array | Int8Array {
  const out = a instanceof Int8Array ? new Int8Array(a.length) : new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

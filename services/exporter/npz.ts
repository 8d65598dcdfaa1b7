/** Reading .npz files (numpy savez / savez_compressed): float32, float64, int64, int32, bool, uint8. */
import fs from 'node:fs';
import { unzipSync } from 'fflate';
import { InvalidArgument } from '../core/errors.js';
import { parseNpyRawHeader } from '../core/npy.js';

export interface NpyArray {
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

export function parseNpy(buf: Uint8Array, what = 'npy payload'): NpyArray {
  const { descr, shape, headerBytes } = parseNpyRawHeader(buf, what);
  const ab = buf.buffer.slice(buf.byteOffset + headerBytes, buf.byteOffset + buf.byteLength); // one aligned copy
  switch (descr) {
    case '<f4': return { dtype: 'float32', shape, data: new Float32Array(ab) };
    case '<f8': return { dtype: 'float64', shape, data: new Float64Array(ab) };
    case '<i8': return { dtype: 'int64', shape, data: new BigInt64Array(ab) };
    case '<i4': return { dtype: 'int32', shape, data: new Int32Array(ab) };
    case '|b1': case '|u1': return { dtype: descr === '|b1' ? 'bool' : 'uint8', shape, data: new Uint8Array(ab) };
    default: throw new InvalidArgument(`${what}: unsupported dtype '${descr}' (supported: float32, float64, int64, int32, bool, uint8)`);
  }
}

export function readNpz(file: string): Record<string, NpyArray> {
  return parseNpz(fs.readFileSync(file));
}

/** An .npz (zip) or a single .npy payload (named "x"). */
export function parseNpz(bytes: Uint8Array): Record<string, NpyArray> {
  if (bytes[0] === 0x93) return { x: parseNpy(bytes) };
  const files = unzipSync(bytes);
  const out: Record<string, NpyArray> = {};
  for (const [name, bytes] of Object.entries(files)) {
    if (name.endsWith('.npy')) out[name.slice(0, -4)] = parseNpy(bytes, name);
  }
  return out;
}

/** Splits every array into n nearly equal chunks along axis 0 (numpy array_split). */
export function splitFeeds(arrays: Record<string, NpyArray>, n: number): Record<string, NpyArray>[] {
  const feeds: Record<string, NpyArray>[] = Array.from({ length: n }, () => ({}));
  for (const [k, a] of Object.entries(arrays)) {
    const rows = a.shape[0] ?? 1;
    const rowSize = a.shape.slice(1).reduce((x, y) => x * y, 1);
    const base = Math.floor(rows / n);
    const extra = rows % n;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const cnt = base + (i < extra ? 1 : 0);
      const data = a.data.slice(start * rowSize, (start + cnt) * rowSize) as NpyArray['data'];
      feeds[i]![k] = { dtype: a.dtype, shape: [cnt, ...a.shape.slice(1)], data };
      start += cnt;
    }
  }
  return feeds;
}

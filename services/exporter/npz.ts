/** Reading .npz files (numpy savez / savez_compressed): float32, float64, int64, int32, bool, uint8. */
import fs from 'node:fs';
import { unzipSync } from 'fflate';

export interface NpyArray {
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

export function parseNpy(buf: Uint8Array): NpyArray {
  const magic = String.fromCharCode(...buf.subarray(1, 6));
  if (buf[0] !== 0x93 || magic !== 'NUMPY') throw new Error('not a .npy payload');
  const major = buf[6]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  const header = Buffer.from(buf.subarray(hstart, hstart + hlen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)![1]!;
  const fortran = /'fortran_order':\s*True/.test(header);
  if (fortran) throw new Error('fortran-order arrays are not supported');
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)![1]!;
  const shape = shapeStr.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const body = buf.slice(hstart + hlen);
  const ab = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength);
  switch (descr) {
    case '<f4': return { dtype: 'float32', shape, data: new Float32Array(ab) };
    case '<f8': return { dtype: 'float64', shape, data: new Float64Array(ab) };
    case '<i8': return { dtype: 'int64', shape, data: new BigInt64Array(ab) };
    case '<i4': return { dtype: 'int32', shape, data: new Int32Array(ab) };
    case '|b1': case '|u1': return { dtype: descr === '|b1' ? 'bool' : 'uint8', shape, data: new Uint8Array(ab) };
    default: throw new Error(`unsupported npy dtype ${descr}`);
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
    if (name.endsWith('.npy')) out[name.slice(0, -4)] = parseNpy(bytes);
  }
  return out;
}

/** Splits every array into n nearly equal chunks along axis 0 (numpy array_split). */
export function splitRows(arrays: Record<string, NpyArray>, n: number): Record<string, NpyArray>[] {
  return splitFeeds(arrays, n);
}

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

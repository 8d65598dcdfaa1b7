/** Minimal .npy (format 1.0) reader/writer for float32 arrays, used by tests and benches. */
import { readFileSync, writeFileSync } from 'node:fs';
import { encodeNpy } from '../services/core/npy.js';

export function writeNpyF32(path: string, x: Float32Array, shape: readonly number[] = [x.length]): void {
  writeFileSync(path, encodeNpy('float32', shape, x));
}

export function readNpyF32(path: string): { data: Float32Array; shape: number[] } {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6]!;
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  if (!header.includes("'<f4'")) throw new Error(`${path}: expected float32 data, header ${header}`);
  if (header.includes("'fortran_order': True")) throw new Error(`${path}: fortran order is not supported`);
  const m = /'shape': \(([^)]*)\)/.exec(header);
  const shape = m ? m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number) : [];
  const off = start + hlen;
  const bytes = buf.subarray(off);
  const data = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(data.buffer).set(bytes);
  return { data, shape };
}

/** Minimal .npy (format 1.0) reader/writer for float32 arrays, used by tests and benches. */
import { readFileSync, writeFileSync } from 'node:fs';

export function writeNpyF32(path: string, x: Float32Array, shape: readonly number[] = [x.length]): void {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(x.buffer, x.byteOffset, x.byteLength)]));
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

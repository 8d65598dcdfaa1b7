/**
 * A tensor bundle: several named float32 tensors in one artifact (e.g. the activations the
 * calibrator captures for INT4 AWQ, handed to the quantizer).
 *
 * Layout: magic "MOTB" (4 bytes), u32 LE header length, JSON header
 * `{ tensors: [{ name, shape, offset, length }] }`, then the raw little-endian float32 data of
 * each tensor at `offset` (bytes from the start of the data section, 4-byte aligned).
 */
import { InvalidArgument } from './errors.js';

const MAGIC = Buffer.from('MOTB');

export interface BundleTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export function encodeTensorBundle(tensors: BundleTensor[]): Buffer {
  const entries: HeaderEntry[] = [];
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new InvalidArgument(`tensor bundle: ${t.name} has shape [${t.shape}] but ${t.data.length} values`);
    entries.push({ name: t.name, shape: t.shape, offset, length: t.data.length });
    offset += t.data.length * 4;
  }
  const header = Buffer.from(JSON.stringify({ tensors: entries }));
  const pad = (4 - ((8 + header.length) % 4)) % 4;
  const headerLen = Buffer.alloc(4);
  headerLen.writeUInt32LE(header.length + pad);
  const parts: Buffer[] = [MAGIC, headerLen, header, Buffer.alloc(pad, 0x20)];
  for (const t of tensors) parts.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return Buffer.concat(parts);
}

export function decodeTensorBundle(bytes: Uint8Array): BundleTensor[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 4).equals(MAGIC)) throw new InvalidArgument('not a tensor bundle (bad magic)');
  const headerLen = buf.readUInt32LE(4);
  if (8 + headerLen > buf.length) throw new InvalidArgument('tensor bundle: truncated header');
  let header: { tensors: HeaderEntry[] };
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as { tensors: HeaderEntry[] };
  } catch {
    throw new InvalidArgument('tensor bundle: header is not JSON');
  }
  const dataStart = 8 + headerLen;
  return header.tensors.map((e) => {
    const start = dataStart + e.offset;
    const end = start + e.length * 4;
    if (end > buf.length) throw new InvalidArgument(`tensor bundle: ${e.name} extends past the end`);
    const aligned = (buf.byteOffset + start) % 4 === 0;
    const data = aligned ? new Float32Array(buf.buffer, buf.byteOffset + start, e.length) : new Float32Array(buf.subarray(start, end).slice().buffer);
    return { name: e.name, shape: e.shape, data };
  });
}

/**
 * `.npy` and `.npz` readers that never hold more than the rows asked for.
 *
 * An array is exposed as an `ArraySource`: dtype, shape and `readRows(start, count)`, which returns
 * rows [start, start+count) along axis 0 as a typed array that callers only read (a view where the data is
 * in memory, else a fresh array). `.npy` files and stored (method 0)
 * npz entries are read at file offsets; deflated npz entries (np.savez_compressed) are inflated as a
 * stream, so reading rows in increasing order costs one pass over the entry and O(rows asked) memory.
 *
 * Supported: little-endian float32, float16, int64, int32, bool in C order. Anything else is an
 * InvalidArgument naming the dtype or the order.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { Inflate } from 'fflate';
import { InvalidArgument, NotFound } from './errors.js';

export type NpDtype = 'float32' | 'float16' | 'int64' | 'int32' | 'bool';
export type NpTypedArray = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

/** numpy's descr for each dtype we read and write. */
export const DTYPE_DESCR: Record<NpDtype, string> = { float32: '<f4', float16: '<f2', int64: '<i8', int32: '<i4', bool: '|b1' };
const DESCR: Record<string, NpDtype> = Object.fromEntries(Object.entries(DTYPE_DESCR).map(([dtype, descr]) => [descr, dtype as NpDtype]));
export const DTYPE_BYTES: Record<NpDtype, number> = { float32: 4, float16: 2, int64: 8, int32: 4, bool: 1 };

export interface ArraySource {
  readonly name: string;
  readonly dtype: NpDtype;
  readonly shape: readonly number[];
  /** rows [start, start + count) along axis 0 in the source's dtype: read only (a view of data held in memory) */
  readRows(start: number, count: number): NpTypedArray;
  close?(): void;
  /** settles when the source's data is in memory (sources inflated in the background; reads never wait for it) */
  readonly loaded?: Promise<void>;
}

export interface NpyHeader {
  dtype: NpDtype;
  shape: number[];
  /** bytes before the data. */
  headerBytes: number;
}

/** An .npy header with its dtype as numpy wrote it ('<f4', '<f8', '|b1', ...). */
export interface NpyRawHeader {
  descr: string;
  shape: number[];
  /** bytes before the data. */
  headerBytes: number;
}

/** Parses the header of an .npy byte stream, any dtype (at least the header's bytes must be present). */
export function parseNpyRawHeader(buf: Uint8Array, what: string): NpyRawHeader {
  if (buf.length < 10 || buf[0] !== 0x93 || String.fromCharCode(...buf.subarray(1, 6)) !== 'NUMPY') {
    throw new InvalidArgument(`${what}: not an .npy array (bad magic)`);
  }
  const major = buf[6];
  let len: number;
  let off: number;
  if (major === 1) {
    len = buf[8] | (buf[9] << 8);
    off = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new InvalidArgument(`${what}: truncated .npy header`);
    len = (buf[8] | (buf[9] << 8) | (buf[10] << 16)) + buf[11] * 2 ** 24;
    off = 12;
  } else {
    throw new InvalidArgument(`${what}: unsupported .npy version ${major}`);
  }
  if (buf.length < off + len) throw new InvalidArgument(`${what}: truncated .npy header`);
  const text = Buffer.from(buf.buffer, buf.byteOffset + off, len).toString('latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new InvalidArgument(`${what}: malformed .npy header ${JSON.stringify(text.trim())}`);
  }
  if (fortran === 'True') throw new InvalidArgument(`${what}: Fortran-order arrays are not supported (C order only)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s));
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new InvalidArgument(`${what}: bad shape (${shapeText})`);
  return { descr, shape, headerBytes: off + len };
}

/** Parses the header of an .npy byte stream whose dtype calibration data may have. */
export function parseNpyHeader(buf: Uint8Array, what: string): NpyHeader {
  const raw = parseNpyRawHeader(buf, what);
  const dtype = DESCR[raw.descr];
  if (!dtype) {
    throw new InvalidArgument(`${what}: unsupported dtype '${raw.descr}' (supported: float32, float16, int64, int32, bool, little-endian)`);
  }
  return { dtype, shape: raw.shape, headerBytes: raw.headerBytes };
}

export function typedArrayOf(dtype: NpDtype, bytes: Uint8Array): NpTypedArray {
  // copy into a fresh, aligned buffer
  return viewOf(dtype, new Uint8Array(bytes));
}

/** `b`'s bytes seen as `dtype` values, in place (b's offset must be aligned for the dtype). */
function viewOf(dtype: NpDtype, b: Uint8Array): NpTypedArray {
  const [buf, off, n] = [b.buffer, b.byteOffset, b.byteLength];
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, off, n / 4);
    case 'float16':
      return new Uint16Array(buf, off, n / 2);
    case 'int64':
      return new BigInt64Array(buf, off, n / 8);
    case 'int32':
      return new Int32Array(buf, off, n / 4);
    case 'bool':
      return b;
  }
}

function rowBytes(h: { dtype: NpDtype; shape: readonly number[] }): number {
  let n = DTYPE_BYTES[h.dtype];
  for (let i = 1; i < h.shape.length; i++) n *= h.shape[i];
  return n;
}

function checkRange(src: ArraySource, start: number, count: number): void {
  const rows = src.shape.length === 0 ? 1 : src.shape[0];
  if (start < 0 || count < 0 || start + count > rows) {
    throw new InvalidArgument(`${src.name}: rows [${start}, ${start + count}) out of range (${rows} rows)`);
  }
}

/** An array already in memory. */
export class MemoryArray implements ArraySource {
  constructor(
    readonly name: string,
    readonly dtype: NpDtype,
    readonly shape: readonly number[],
    readonly data: NpTypedArray,
  ) {}
  readRows(start: number, count: number): NpTypedArray {
    checkRange(this, start, count);
    const per = this.shape.length === 0 ? 1 : this.data.length / Math.max(1, this.shape[0]);
    // a view, not a copy: feeds are only read (ppocr_det's 5 samples: ~14 ms of copying saved)
    return this.data.subarray(start * per, (start + count) * per) as NpTypedArray;
  }
}

/** Rows read with positioned reads from a byte range of a file (.npy, or a stored npz entry). */
class FileRangeArray implements ArraySource {
  private fd: number | null;
  constructor(
    readonly name: string,
    readonly dtype: NpDtype,
    readonly shape: readonly number[],
    private readonly file: string,
    private readonly dataOffset: number,
  ) {
    this.fd = fs.openSync(file, 'r');
  }
  readRows(start: number, count: number): NpTypedArray {
    checkRange(this, start, count);
    if (this.fd === null) this.fd = fs.openSync(this.file, 'r');
    const rb = rowBytes(this);
    const buf = new Uint8Array(rb * count);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(this.fd, buf, got, buf.length - got, this.dataOffset + start * rb + got);
      if (n <= 0) throw new InvalidArgument(`${this.name}: file ${this.file} is truncated`);
      got += n;
    }
    return typedArrayOf(this.dtype, buf);
  }
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** A deflated npz entry, inflated as a stream; rows must be read in increasing order to stay one pass. */
class DeflateEntryArray implements ArraySource {
  private fd: number | null = null;
  private inflater!: Inflate;
  private compPos = 0; // bytes of compressed data fed
  private outChunks: Uint8Array[] = [];
  private outBytes = 0; // bytes buffered in outChunks
  private outStart = 0; // absolute decompressed offset of outChunks[0][0]
  private ended = false;
  readonly dtype: NpDtype;
  readonly shape: readonly number[];
  private headerBytes: number;

  constructor(
    readonly name: string,
    private readonly file: string,
    private readonly compOffset: number,
    private readonly compSize: number,
  ) {
    this.reset();
    const head = this.take(0, 10);
    const major = head[6];
    const need = major === 1 ? 10 + (head[8] | (head[9] << 8)) : 12 + (head[8] | (head[9] << 8) | (head[10] << 16));
    const h = parseNpyHeader(this.take(0, need), `${file}:${name}.npy`);
    this.dtype = h.dtype;
    this.shape = h.shape;
    this.headerBytes = h.headerBytes;
  }

  private reset(): void {
    if (this.fd === null) this.fd = fs.openSync(this.file, 'r');
    this.compPos = 0;
    this.outChunks = [];
    this.outBytes = 0;
    this.outStart = 0;
    this.ended = false;
    this.inflater = new Inflate((chunk, final) => {
      if (chunk.length) {
        this.outChunks.push(chunk);
        this.outBytes += chunk.length;
      }
      if (final) this.ended = true;
    });
  }

  /** bytes [pos, pos+len) of the decompressed entry. Drops everything before pos. */
  private take(pos: number, len: number): Uint8Array {
    if (pos < this.outStart) this.reset();
    const chunkSize = 1 << 20;
    const buf = new Uint8Array(chunkSize);
    while (this.outStart + this.outBytes < pos + len) {
      if (this.ended || this.compPos >= this.compSize) {
        throw new InvalidArgument(`${this.file}: entry ${this.name}.npy is truncated`);
      }
      const want = Math.min(chunkSize, this.compSize - this.compPos);
      const n = fs.readSync(this.fd!, buf, 0, want, this.compOffset + this.compPos);
      if (n <= 0) throw new InvalidArgument(`${this.file} is truncated`);
      this.compPos += n;
      try {
        this.inflater.push(buf.slice(0, n), this.compPos >= this.compSize);
      } catch (e) {
        throw new InvalidArgument(`${this.file}: entry ${this.name}.npy is corrupt (${(e as Error).message})`, { cause: e });
      }
    }
    // drop chunks wholly before pos
    while (this.outChunks.length && this.outStart + this.outChunks[0].length <= pos) {
      this.outStart += this.outChunks[0].length;
      this.outBytes -= this.outChunks[0].length;
      this.outChunks.shift();
    }
    const out = new Uint8Array(len);
    let written = 0;
    let abs = this.outStart;
    for (const c of this.outChunks) {
      if (written >= len) break;
      const from = Math.max(0, pos + written - abs);
      if (from < c.length) {
        const n = Math.min(c.length - from, len - written);
        out.set(c.subarray(from, from + n), written);
        written += n;
      }
      abs += c.length;
    }
    return out;
  }

  readRows(start: number, count: number): NpTypedArray {
    checkRange(this, start, count);
    const rb = rowBytes(this);
    return typedArrayOf(this.dtype, this.take(this.headerBytes + start * rb, rb * count));
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.outChunks = [];
  }
}

function openOrThrow(file: string): number {
  if (!fs.existsSync(file)) throw new NotFound(`calibration data file ${file} not found`);
  return fs.openSync(file, 'r');
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, b, got, len - got, pos + got);
    if (n <= 0) break;
    got += n;
  }
  return b.subarray(0, got);
}

/** Opens an .npy file (one array named after the file, without extension). */
export function openNpy(file: string, name?: string): ArraySource {
  const fd = openOrThrow(file);
  try {
    const head = readAt(fd, 0, 4096);
    let h: NpyHeader;
    try {
      h = parseNpyHeader(head, file);
    } catch (e) {
      if (head.length === 4096 && /truncated/.test(String(e))) h = parseNpyHeader(readAt(fd, 0, 1 << 20), file);
      else throw e;
    }
    const size = fs.fstatSync(fd).size;
    const need = h.headerBytes + rowBytes(h) * (h.shape.length === 0 ? 1 : h.shape[0]);
    if (size < need) throw new InvalidArgument(`${file}: truncated (${size} bytes, need ${need})`);
    return new FileRangeArray(name ?? 'array', h.dtype, h.shape, file, h.headerBytes);
  } finally {
    fs.closeSync(fd);
  }
}

interface ZipEntry {
  name: string;
  method: number;
  compSize: number;
  size: number;
  localOffset: number;
}

function readZipDirectory(fd: number, file: string): ZipEntry[] {
  const size = fs.fstatSync(fd).size;
  const tailLen = Math.min(size, 65557);
  const tail = readAt(fd, size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new InvalidArgument(`${file}: not an .npz (zip) file`);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    // zip64 end of central directory locator just before the EOCD
    const loc = eocd - 20;
    if (loc >= 0 && tail.readUInt32LE(loc) === 0x07064b50) {
      const z64Off = Number(tail.readBigUInt64LE(loc + 8));
      const z64 = readAt(fd, z64Off, 56);
      count = Number(z64.readBigUInt64LE(32));
      cdSize = Number(z64.readBigUInt64LE(40));
      cdOffset = Number(z64.readBigUInt64LE(48));
    }
  }
  const cd = readAt(fd, cdOffset, cdSize);
  const out: ZipEntry[] = [];
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (cd.readUInt32LE(p) !== 0x02014b50) throw new InvalidArgument(`${file}: corrupt zip central directory`);
    const method = cd.readUInt16LE(p + 10);
    let compSize = cd.readUInt32LE(p + 20);
    let usize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    // zip64 extended information: present values replace the 0xFFFFFFFF fields, in this order
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (usize === 0xffffffff) {
          usize = Number(cd.readBigUInt64LE(q));
          q += 8;
        }
        if (compSize === 0xffffffff) {
          compSize = Number(cd.readBigUInt64LE(q));
          q += 8;
        }
        if (localOffset === 0xffffffff) localOffset = Number(cd.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    out.push({ name, method, compSize, size: usize, localOffset });
    p = eEnd + commentLen;
  }
  return out;
}

/**
 * Deflated entries up to this size are inflated whole by Node's zlib (native, ~5x faster than the streaming
 * JavaScript inflater: ppocr_det's 24.6 MB of samples in ~40 instead of ~150 ms); larger ones stream, so that
 * memory stays bounded whatever the data set's size.
 */
const WHOLE_INFLATE_MAX_BYTES = 64 << 20;

/** A deflated entry inflated whole into memory. */
function inflateWhole(fd: number, file: string, key: string, dataOffset: number, compSize: number, size: number): MemoryArray {
  const bytes = inflatedEntry(readAt(fd, dataOffset, compSize), size, file, key);
  const h = parseNpyHeader(bytes.subarray(0, Math.min(bytes.length, 1 << 16)), `${file}:${key}.npy`);
  return new MemoryArray(key, h.dtype, h.shape, entryData(bytes, h, file, key));
}

const inflateOptions = (size: number): zlib.ZlibOptions => ({ maxOutputLength: Math.max(size, 1), chunkSize: Math.max(size, 64) });
const corruptEntry = (file: string, key: string, e: unknown) =>
  new InvalidArgument(`${file}: entry ${key}.npy is truncated or corrupt (${(e as Error).message})`, { cause: e });

function inflatedEntry(comp: Uint8Array, size: number, file: string, key: string): Uint8Array {
  try {
    return zlib.inflateRawSync(comp, inflateOptions(size));
  } catch (e) {
    throw corruptEntry(file, key, e);
  }
}

/** The values after an inflated entry's header: a view where aligned for the dtype (Node's inflate output owns its buffer), else a copy. */
function entryData(bytes: Uint8Array, h: NpyHeader, file: string, key: string): NpTypedArray {
  const end = h.headerBytes + rowBytes(h) * (h.shape.length === 0 ? 1 : h.shape[0]);
  if (bytes.length < end) throw new InvalidArgument(`${file}: entry ${key}.npy is truncated`);
  const body = bytes.subarray(h.headerBytes, end);
  return (body.byteOffset & 7) === 0 ? viewOf(h.dtype, body) : typedArrayOf(h.dtype, body);
}

/**
 * A deflated entry inflated whole on libuv's thread pool, so that the caller's other start-up work (a session
 * build) overlaps it. Its header is read at open from a sync-flushed prefix of the stream. A read before the
 * background inflate has been delivered inflates on the spot instead; `loaded` settles either way, and a
 * corrupt entry's error is thrown by the reads, not by `loaded`.
 */
class BackgroundInflatedArray implements ArraySource {
  private memory: MemoryArray | null = null;
  private failure: InvalidArgument | null = null;
  readonly loaded: Promise<void>;

  readonly dtype: NpDtype;
  readonly shape: readonly number[];

  constructor(
    readonly name: string,
    private readonly header: NpyHeader,
    private comp: Uint8Array | null,
    private readonly size: number,
    private readonly file: string,
  ) {
    [this.dtype, this.shape] = [header.dtype, header.shape];
    this.loaded = new Promise((resolve) => {
      zlib.inflateRaw(comp!, inflateOptions(size), (err, bytes) => {
        if (this.memory === null && this.failure === null) {
          try {
            if (err) throw corruptEntry(file, name, err);
            this.hold(bytes);
          } catch (e) {
            this.failure = e as InvalidArgument;
          }
        }
        this.comp = null;
        resolve();
      });
    });
  }

  /** the inflated entry's values, held for the reads */
  private hold(bytes: Uint8Array): MemoryArray {
    return (this.memory = new MemoryArray(this.name, this.dtype, this.shape, entryData(bytes, this.header, this.file, this.name)));
  }

  /** the header of a deflated entry from the first bytes of its stream, or null where they do not hold it whole */
  static header(comp: Uint8Array, file: string, key: string): NpyHeader | null {
    let head: Uint8Array;
    try {
      // 4 KiB of deflate inflates to at most ~4 MiB
      head = zlib.inflateRawSync(comp.subarray(0, Math.min(comp.length, 4096)), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      return null;
    }
    try {
      return parseNpyHeader(head.subarray(0, Math.min(head.length, 1 << 16)), `${file}:${key}.npy`);
    } catch {
      return null;
    }
  }

  readRows(start: number, count: number): NpTypedArray {
    if (this.failure) throw this.failure;
    return (this.memory ?? this.hold(inflatedEntry(this.comp!, this.size, this.file, this.name))).readRows(start, count);
  }
}

/**
 * Opens every array of an .npz; keys are the entry names without `.npy`. `wholeInflateMaxBytes`: deflated
 * entries up to this size are inflated whole (default 64 MiB), larger ones stream. `inflateInBackground`: the
 * whole inflates run on the thread pool (each source's `loaded`), not before this returns.
 */
export function openNpz(file: string, opts: { wholeInflateMaxBytes?: number; inflateInBackground?: boolean } = {}): Map<string, ArraySource> {
  const wholeMax = opts.wholeInflateMaxBytes ?? WHOLE_INFLATE_MAX_BYTES;
  const fd = openOrThrow(file);
  const out = new Map<string, ArraySource>();
  try {
    for (const ent of readZipDirectory(fd, file)) {
      if (!ent.name.endsWith('.npy')) continue;
      const key = ent.name.slice(0, -4);
      const lh = readAt(fd, ent.localOffset, 30);
      if (lh.length < 30 || lh.readUInt32LE(0) !== 0x04034b50) throw new InvalidArgument(`${file}: corrupt zip entry ${ent.name}`);
      const dataOffset = ent.localOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
      if (ent.method === 0) {
        const head = readAt(fd, dataOffset, Math.min(ent.size, 1 << 16));
        const h = parseNpyHeader(head, `${file}:${ent.name}`);
        const need = h.headerBytes + rowBytes(h) * (h.shape.length === 0 ? 1 : h.shape[0]);
        if (ent.size < need) throw new InvalidArgument(`${file}:${ent.name} is truncated`);
        out.set(key, new FileRangeArray(key, h.dtype, h.shape, file, dataOffset + h.headerBytes));
      } else if (ent.method === 8 && ent.size <= wholeMax) {
        const comp = opts.inflateInBackground ? readAt(fd, dataOffset, ent.compSize) : null;
        const h = comp && BackgroundInflatedArray.header(comp, file, key);
        if (h) out.set(key, new BackgroundInflatedArray(key, h, comp, ent.size, file));
        else out.set(key, inflateWhole(fd, file, key, dataOffset, ent.compSize, ent.size));
      } else if (ent.method === 8) {
        out.set(key, new DeflateEntryArray(key, file, dataOffset, ent.compSize));
      } else {
        throw new InvalidArgument(`${file}: entry ${ent.name} uses zip method ${ent.method} (only stored and deflate are supported)`);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  if (out.size === 0) throw new InvalidArgument(`${file}: the .npz holds no arrays`);
  return out;
}

/** Reads a whole source into memory (tests and small data). */
export function readAll(src: ArraySource): NpTypedArray {
  return src.readRows(0, src.shape.length === 0 ? 1 : src.shape[0]);
}

/** The .npy (version 1.0) header for `descr` ('<f4', '<f8', ...) and `shape`, padded so data starts 64-byte aligned. */
export function npyHeaderBytes(descr: string, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(Buffer.from(header, 'latin1'), 10);
  return out;
}

/** Serialises an array as .npy bytes (version 1.0). Used by tests and benchmarks to write data. */
export function encodeNpy(dtype: NpDtype, shape: readonly number[], data: NpTypedArray): Uint8Array {
  const header = npyHeaderBytes(DTYPE_DESCR[dtype], shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return out;
}

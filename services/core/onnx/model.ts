/**
 * Loading and saving ONNX models: lossless (see proto.ts), external data both ways, atomic writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs/minimal.js';
import { onnx, type ModelProto, type TensorProto, type GraphProto } from './proto.js';
import { InvalidArgument, NotFound } from '../errors.js';
import { writeFilesAtomic } from '../artifacts/atomic.js';
import { bitsPerElement } from './dtype.js';
import { toInt64 } from './tensor.js';
import { keepSource } from './splice.js';

export const TWO_GIB = 2 ** 31;
const DATA_LOCATION_EXTERNAL = 1;

/** Decodes ONNX bytes. Throws InvalidArgument for anything that is not a well-formed ModelProto. */
export function decodeModel(bytes: Uint8Array, what = 'model', opts: { keepSource?: boolean } = {}): ModelProto {
  if (bytes.length === 0) throw new InvalidArgument(`${what}: file is empty, not an ONNX model`);
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes) as ModelProto;
  } catch (err) {
    throw new InvalidArgument(`${what}: not a valid ONNX model (protobuf decode failed: ${(err as Error).message})`);
  }
  if (!model.graph || (model.irVersion as number) <= 0 || !model.opsetImport || model.opsetImport.length === 0) {
    throw new InvalidArgument(`${what}: not a valid ONNX model (missing graph, ir_version or opset_import)`);
  }
  // the caller will not change the decoded objects in place: edited copies are spliced from these bytes (splice.ts)
  if (opts.keepSource) keepSource(model, bytes);
  return model;
}

/** All tensors of a graph that can carry data, subgraphs included. */
export function* allTensors(graph: GraphProto): Generator<TensorProto> {
  for (const t of graph.initializer) yield t as TensorProto;
  for (const node of graph.node) {
    for (const a of node.attribute) {
      if (a.t) yield a.t as TensorProto;
      for (const t of a.tensors ?? []) yield t as TensorProto;
      if (a.g) yield* allTensors(a.g as GraphProto);
      for (const g of a.graphs ?? []) yield* allTensors(g as GraphProto);
    }
  }
}

function externalInfo(t: TensorProto): { location: string; offset: number; length: number | undefined } {
  let location = '';
  let offset = 0;
  let length: number | undefined;
  for (const kv of t.externalData) {
    if (kv.key === 'location') location = kv.value;
    else if (kv.key === 'offset') offset = Number(kv.value);
    else if (kv.key === 'length') length = Number(kv.value);
  }
  return { location, offset, length };
}

export function isExternal(t: TensorProto): boolean {
  return (t.dataLocation as number) === DATA_LOCATION_EXTERNAL;
}

/** Reads the external data of every tensor into raw_data (one open file per location); returns how many tensors had some. */
export function loadExternalData(model: ModelProto, baseDir: string): number {
  const fds = new Map<string, number>();
  let loaded = 0;
  try {
    for (const t of allTensors(model.graph as GraphProto)) {
      if (!isExternal(t)) continue;
      const { location, offset, length } = externalInfo(t);
      const file = path.resolve(baseDir, location);
      if (!location || path.relative(baseDir, file).startsWith('..')) {
        throw new InvalidArgument(`tensor ${t.name}: external data location "${location}" is outside the model directory`);
      }
      let fd = fds.get(file);
      if (fd === undefined) {
        if (!fs.existsSync(file)) throw new NotFound(`tensor ${t.name}: external data file ${file} not found`);
        fd = fs.openSync(file, 'r');
        fds.set(file, fd);
      }
      const size = fs.fstatSync(fd).size;
      const len = length ?? size - offset;
      if (offset + len > size) throw new InvalidArgument(`tensor ${t.name}: external data [${offset}, ${offset + len}) beyond end of ${location} (${size} bytes)`);
      const buf = Buffer.allocUnsafe(len);
      let read = 0;
      while (read < len) {
        const n = fs.readSync(fd, buf, read, len - read, offset + read);
        if (n === 0) throw new InvalidArgument(`tensor ${t.name}: external data truncated`);
        read += n;
      }
      t.rawData = buf;
      t.externalData = [];
      t.dataLocation = 0;
      loaded++;
    }
  } finally {
    for (const fd of fds.values()) fs.closeSync(fd);
  }
  return loaded;
}

export interface LoadOptions {
  /** Load external data into memory (default true). */
  externalData?: boolean;
  /**
   * The caller will not change the decoded objects in place: sessions built from edited copies are spliced from the
   * file's bytes (splice.ts). Not kept where external data was read in (the bytes only point to it).
   */
  keepSource?: boolean;
}

/** Loads a model from a file; external data is read relative to the model's directory. */
export function loadModel(file: string, opts: LoadOptions = {}): ModelProto {
  if (!fs.existsSync(file)) throw new NotFound(`model file ${file} not found`);
  const stat = fs.statSync(file);
  if (!stat.isFile()) throw new InvalidArgument(`${file} is not a file`);
  const bytes = fs.readFileSync(file);
  const model = decodeModel(bytes, file);
  const external = opts.externalData !== false ? loadExternalData(model, path.dirname(path.resolve(file))) : 0;
  if (opts.keepSource && external === 0) keepSource(model, bytes);
  return model;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model as never).finish();
}

/** Bytes the tensor's payload takes (raw_data or typed fields), used to decide on external data. */
export function tensorPayloadBytes(t: TensorProto): number {
  if (t.rawData && t.rawData.length) return t.rawData.length;
  const n = t.dims.reduce((a: number, d) => a * Number(d), 1);
  try {
    return Math.ceil((n * bitsPerElement(t.dataType as number)) / 8);
  } catch {
    return 0;
  }
}

type TypedField = 'floatData' | 'int64Data' | 'doubleData' | 'int32Data';

/** Raw little-endian bytes for a tensor stored in a typed repeated field (external data needs raw bytes). */
function typedFieldsToRaw(t: TensorProto): { raw: Uint8Array; field: TypedField } | undefined {
  if (t.rawData && t.rawData.length) return undefined;
  const dt = t.dataType as number;
  if (t.floatData.length && (dt === 1)) return { raw: new Uint8Array(Float32Array.from(t.floatData).buffer), field: 'floatData' };
  if (t.doubleData.length && dt === 11) return { raw: new Uint8Array(Float64Array.from(t.doubleData).buffer), field: 'doubleData' };
  if (t.int64Data.length && dt === 7) return { raw: new Uint8Array(BigInt64Array.from(t.int64Data.map(toInt64)).buffer), field: 'int64Data' };
  if (t.int32Data.length && dt === 6) return { raw: new Uint8Array(Int32Array.from(t.int32Data).buffer), field: 'int32Data' };
  return undefined;
}

export interface SaveOptions {
  /** true: every tensor's raw data goes to `<file name>_data`; 'auto' (default): only when the model exceeds 2 GiB. */
  externalData?: boolean | 'auto';
  /** Tensors smaller than this stay inline when writing external data (default 1024 bytes, as onnx's
   *  own default: onnxruntime cannot infer shapes from shape tensors held outside the model). */
  sizeThreshold?: number;
}

/**
 * Saves atomically: the model (and its `<name>_data` file when external data is used) appear
 * under their final names only when fully written.
 */
export function saveModel(model: ModelProto, file: string, opts: SaveOptions = {}): { external: boolean; bytes: number } {
  const graph = model.graph as GraphProto;
  let external = opts.externalData === true;
  if (opts.externalData === 'auto' || opts.externalData === undefined) {
    let total = 0;
    for (const t of allTensors(graph)) total += tensorPayloadBytes(t);
    external = total > TWO_GIB - 64 * 1024 * 1024;
  }
  if (!external) {
    for (const t of allTensors(graph)) {
      if (isExternal(t)) throw new InvalidArgument(`tensor ${t.name} still refers to external data; load it first`);
    }
    const bytes = encodeModel(model);
    writeFilesAtomic([{ path: file, chunks: [bytes] }]);
    return { external: false, bytes: bytes.length };
  }
  const location = `${path.basename(file)}_data`;
  const threshold = opts.sizeThreshold ?? 1024;
  const chunks: Uint8Array[] = [];
  const restore: Array<() => void> = [];
  let offset = 0;
  try {
    for (const t of allTensors(graph)) {
      if (isExternal(t)) continue;
      const typed = typedFieldsToRaw(t);
      if (!typed && (!t.rawData || t.rawData.length === 0)) continue;
      const raw = typed ? typed.raw : t.rawData;
      if (raw.length < threshold) continue;
      // Align each tensor to 4 KiB so that readers can memory-map it.
      const pad = (4096 - (offset % 4096)) % 4096;
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      chunks.push(raw);
      const entry = [
        onnx.StringStringEntryProto.create({ key: 'location', value: location }),
        onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
        onnx.StringStringEntryProto.create({ key: 'length', value: String(raw.length) }),
      ];
      offset += raw.length;
      const prev = { rawData: t.rawData, dataLocation: t.dataLocation, field: typed?.field, values: typed ? t[typed.field] : undefined };
      t.rawData = new Uint8Array(0);
      if (typed) t[typed.field] = [];
      t.externalData = entry;
      t.dataLocation = DATA_LOCATION_EXTERNAL;
      restore.push(() => {
        t.rawData = prev.rawData;
        if (prev.field) t[prev.field] = prev.values as number[];
        t.externalData = [];
        t.dataLocation = prev.dataLocation;
      });
    }
    const bytes = encodeModel(model);
    writeFilesAtomic([
      { path: path.join(path.dirname(file), location), chunks },
      { path: file, chunks: [bytes] },
    ]);
    return { external: true, bytes: bytes.length + offset };
  } finally {
    // The in-memory model keeps its data inline.
    for (const r of restore) r();
  }
}

export { protobuf };

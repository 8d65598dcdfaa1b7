/**
 * The ONNX protobuf schema, from the `onnx-proto` package (onnx 1.10), made lossless.
 *
 * onnx-proto's generated decoders drop fields they do not know (anything added to onnx after
 * 1.10: node metadata_props, ModelProto.functions, ...). We wrap every message type's decode so
 * that such fields are kept as raw wire bytes on the decoded object (`$unknown`), and every encode
 * so that they are written back. Enum values the schema does not know (float8, int4 data types)
 * already survive because protobufjs keeps enums as plain integers.
 *
 * int64 fields decode as JS numbers (exact up to 2^53, which covers dims, offsets and attributes).
 */
import protobuf from 'protobufjs/minimal.js';
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
/*
 * Strict views of the decoded messages. protobufjs fills every absent field from the prototype
 * (empty string, 0, a FROZEN empty array), so these fields are always present on decoded objects.
 * Because the shared empty arrays are frozen, never push into a repeated field you did not
 * assign yourself: assign a new array instead (`node.attribute = [...node.attribute, a]`).
 */
export interface StringStringEntryProto { key: string; value: string }
export interface TensorProto extends HasUnknown {
  dims: number[];
  dataType: number;
  segment?: unknown;
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: number[];
  name: string;
  docString: string;
  rawData: Uint8Array;
  externalData: StringStringEntryProto[];
  dataLocation: number;
  doubleData: number[];
  uint64Data: number[];
}
export interface AttributeProto extends HasUnknown {
  name: string;
  refAttrName: string;
  docString: string;
  type: number;
  f: number;
  i: number;
  s: Uint8Array;
  t?: TensorProto | null;
  g?: GraphProto | null;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
}
export interface NodeProto extends HasUnknown {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: AttributeProto[];
  docString: string;
}
export interface TensorShapeDim { dimValue?: number | null; dimParam?: string | null; denotation?: string }
export interface TypeProto extends HasUnknown {
  tensorType?: { elemType: number; shape?: { dim: TensorShapeDim[] } | null } | null;
  sequenceType?: unknown;
  mapType?: unknown;
  optionalType?: unknown;
  sparseTensorType?: unknown;
  denotation?: string;
}
export interface ValueInfoProto extends HasUnknown {
  name: string;
  type?: TypeProto | null;
  docString: string;
}
export interface GraphProto extends HasUnknown {
  node: NodeProto[];
  name: string;
  initializer: TensorProto[];
  sparseInitializer: unknown[];
  docString: string;
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  quantizationAnnotation: unknown[];
}
export interface OperatorSetIdProto { domain: string; version: number }
export interface ModelProto extends HasUnknown {
  irVersion: number;
  opsetImport: OperatorSetIdProto[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  graph?: GraphProto | null;
  metadataProps: StringStringEntryProto[];
  trainingInfo: unknown[];
  functions?: unknown[];
}

/** Raw wire-format segments (tag + payload) of fields the schema does not know. */
export interface HasUnknown {
  $unknown?: Uint8Array[];
}

type Reader = protobuf.Reader & { __unknownSeen?: number };

let patched = false;

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    if (shift < 28) result |= (b & 0x7f) << shift;
    else result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 63) throw new Error('varint too long');
  }
  return [result >>> 0 === result ? result : result, pos];
}

/** Returns the raw segments of fields whose number is not in `known`, for bytes [start, end). */
function scanUnknown(buf: Uint8Array, start: number, end: number, known: Set<number>): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = start;
  while (pos < end) {
    const tagStart = pos;
    let tag: number;
    [tag, pos] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    switch (wire) {
      case 0:
        [, pos] = readVarint(buf, pos);
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        let len: number;
        [len, pos] = readVarint(buf, pos);
        pos += len;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wire}`);
    }
    if (pos > end) throw new Error('truncated message');
    if (!known.has(field)) out.push(buf.subarray(tagStart, pos));
  }
  return out;
}

function writeRaw(val: Uint8Array, buf: Uint8Array, pos: number): void {
  buf.set(val, pos);
}

interface MessageStatics {
  decode: (reader: protobuf.Reader | Uint8Array, length?: number) => HasUnknown;
  encode: (message: HasUnknown, writer?: protobuf.Writer) => protobuf.Writer;
}

function patchType(type: MessageStatics): void {
  const src = type.decode.toString();
  const known = new Set<number>();
  for (const m of src.matchAll(/case (\d+):/g)) known.add(Number(m[1]));
  const origDecode = type.decode;
  const origEncode = type.encode;
  type.decode = function decode(r: protobuf.Reader | Uint8Array, length?: number) {
    const reader = (r instanceof protobuf.Reader ? r : protobuf.Reader.create(r)) as Reader;
    const start = reader.pos;
    const before = reader.__unknownSeen ?? 0;
    const msg = origDecode(reader, length);
    if ((reader.__unknownSeen ?? 0) !== before) {
      const unknown = scanUnknown(reader.buf, start, reader.pos, known);
      if (unknown.length > 0) msg.$unknown = unknown;
    }
    return msg;
  };
  type.encode = function encode(message: HasUnknown, writer?: protobuf.Writer) {
    const w = origEncode(message, writer);
    if (message.$unknown) {
      for (const seg of message.$unknown) {
        (w as unknown as { _push: (fn: typeof writeRaw, len: number, val: Uint8Array) => void })._push(writeRaw, seg.length, seg);
      }
    }
    return w;
  };
}

function patchNamespace(ns: Record<string, unknown>): void {
  for (const value of Object.values(ns)) {
    if (typeof value === 'function' && 'decode' in value && 'encode' in value) {
      patchType(value as unknown as MessageStatics);
      patchNamespace(value as unknown as Record<string, unknown>);
    }
  }
}

/** Installs the lossless decode/encode wrappers (idempotent). */
export function ensureLossless(): void {
  if (patched) return;
  patched = true;
  // int64 as plain numbers.
  (protobuf.util as { Long: unknown }).Long = null;
  protobuf.configure();
  // INT64_MAX (common in Slice ends) decodes to 2^63 as a double; write it back as INT64_MAX
  // instead of letting it wrap to INT64_MIN.
  const LongBits = (protobuf.util as unknown as { LongBits: { fromNumber: (v: number) => unknown; new (lo: number, hi: number): unknown } }).LongBits;
  const origFromNumber = LongBits.fromNumber;
  LongBits.fromNumber = function fromNumber(value: number) {
    if (value >= 9223372036854775807) return new LongBits(0xffffffff, 0x7fffffff);
    if (value <= -9223372036854775808) return new LongBits(0, 0x80000000);
    return origFromNumber(value);
  };
  const origSkip = protobuf.Reader.prototype.skipType;
  protobuf.Reader.prototype.skipType = function skipType(this: Reader, wireType: number) {
    this.__unknownSeen = (this.__unknownSeen ?? 0) + 1;
    return origSkip.call(this, wireType);
  };
  patchNamespace(onnx as unknown as Record<string, unknown>);
}

ensureLossless();

/**
 * Encoding an edited copy of a decoded model from the bytes it was decoded from.
 *
 * A calibration session is the model with its graph edited (cut down, outputs replaced, reduction nodes
 * appended, inputs given fixed dims); everything else is the model as it came. protobufjs re-encodes every
 * node and tensor of it, which on a cold process costs more than onnxruntime's own parse (ppocr_cls: ~14 ms
 * of a ~170 ms job). Here the parts of the edit that are the original objects are copied as the byte ranges
 * they were decoded from, and only the new objects are encoded.
 *
 * The bytes are kept only where the decoder was asked to (`decodeModel(bytes, what, { keepSource: true })`),
 * by code that promises never to change the decoded objects in place: a spliced encoding would not see such a
 * change. An edit that replaces an object (a spread copy of the graph with new arrays, a new input list) is
 * seen, and anything this encoder cannot match to the source falls back to the full encoding.
 */
import { onnx, type ModelProto } from './proto.js';

const sources = new WeakMap<ModelProto, Uint8Array>();

/** Records that `model` was decoded from `bytes` and will not be changed in place. */
export function keepSource(model: ModelProto, bytes: Uint8Array): void {
  sources.set(model, bytes);
}

/** The bytes `model` was decoded from, where they were kept. */
export function sourceOf(model: ModelProto): Uint8Array | undefined {
  return sources.get(model);
}

/** One field of a message: its number and its whole [start, end) range, tag included. */
interface WireField {
  field: number;
  start: number;
  end: number;
  /** where a length-delimited field's payload starts */
  payload: number;
}

/** The fields of the message in buf[start, end), or undefined where they cannot be read (groups, a cut-off field). */
function fieldsOf(buf: Uint8Array, start: number, end: number): WireField[] | undefined {
  const out: WireField[] = [];
  let p = start;
  const varint = (): number | undefined => {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      if (p >= end) return undefined;
      const b = buf[p++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    return undefined;
  };
  while (p < end) {
    const at = p;
    const tag = varint();
    if (tag === undefined) return undefined;
    const wire = tag % 8;
    const field = Math.floor(tag / 8);
    let payload = p;
    if (wire === 0) {
      if (varint() === undefined) return undefined;
    } else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const len = varint();
      if (len === undefined) return undefined;
      payload = p;
      p += len;
    } else return undefined;
    if (p > end) return undefined;
    out.push({ field, start: at, end: p, payload });
  }
  return out;
}

/** A piece of the output: a range of the source, or bytes of its own. */
type Piece = { from: number; to: number } | Uint8Array;

/** Appends the source range [from, to), joined to the last piece where it follows on (one copy for a run of kept fields). */
function pushRange(pieces: Piece[], from: number, to: number): void {
  const last = pieces[pieces.length - 1];
  if (last !== undefined && !(last instanceof Uint8Array) && last.to === from) last.to = to;
  else pieces.push({ from, to });
}

/** Repeated GraphProto fields an edit may replace: their field numbers. */
const GRAPH_LISTS: Record<string, number> = {
  node: 1,
  initializer: 5,
  input: 11,
  output: 12,
  valueInfo: 13,
  quantizationAnnotation: 14,
  sparseInitializer: 15,
};

/** Same value, counting an absent field and its default (empty string, 0, empty list, null) as one. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const empty = (x: unknown) => x === undefined || x === null || x === '' || x === 0 || (Array.isArray(x) && x.length === 0);
  return empty(a) && empty(b);
}

function keysOf(...objs: object[]): Set<string> {
  const keys = new Set<string>();
  for (const o of objs) for (const k of Object.keys(o)) keys.add(k);
  return keys;
}

/** tag and length of a length-delimited field */
function header(field: number, len: number): Uint8Array {
  const out = new Sink();
  out.varint(field * 8 + 2);
  out.varint(len);
  return out.buf.slice(0, out.pos);
}

/**
 * The encoding of `edited`, a model whose graph is an edit of `original`'s (same non-graph fields; graph lists
 * replaced, their elements original objects or new ones; other graph fields the same). Spliced from the source
 * bytes where `original` has them, else the full encoding.
 */
export function encodeEdited(edited: ModelProto, original: ModelProto): Uint8Array {
  return spliceEdited(edited, original) ?? onnx.ModelProto.encode(edited as never).finish();
}

/** encodeEdited's splice alone: undefined where it cannot be done (no source kept, or an edit it cannot match). */
export function spliceEdited(edited: ModelProto, original: ModelProto): Uint8Array | undefined {
  const src = sources.get(original);
  if (!src || !edited.graph || !original.graph) return undefined;
  for (const k of keysOf(edited, original)) {
    if (k !== 'graph' && !same((edited as never)[k], (original as never)[k])) return undefined;
  }
  const eg = edited.graph as unknown as Record<string, unknown>;
  const og = original.graph as unknown as Record<string, unknown>;
  for (const k of keysOf(eg, og)) {
    if (!(k in GRAPH_LISTS) && !same(eg[k], og[k])) return undefined;
  }
  const top = fieldsOf(src, 0, src.length);
  const graphFields = top?.filter((f) => f.field === 7);
  if (!top || graphFields!.length !== 1) return undefined;
  const gField = graphFields![0]!;
  const gf = fieldsOf(src, gField.payload, gField.end);
  if (!gf) return undefined;

  // the pieces of each replaced list, put where the list's first field was (or at the end)
  const replaced = new Map<number, Piece[]>();
  for (const [key, field] of Object.entries(GRAPH_LISTS)) {
    const now = (eg[key] ?? []) as object[];
    const was = (og[key] ?? []) as object[];
    const ranges = gf.filter((f) => f.field === field);
    // a list changed in place (elements pushed or removed) no longer lines up with the bytes
    if (ranges.length !== was.length) return undefined;
    if (now === was) continue;
    const at = new Map<object, WireField>();
    was.forEach((o, i) => at.set(o, ranges[i]!));
    const pieces: Piece[] = [];
    // new elements in a row are encoded together, as a graph holding only them (the same tags and lengths)
    let fresh: object[] = [];
    const flush = () => {
      if (fresh.length) pieces.push((key === 'node' && plainNodes(fresh)) || onnx.GraphProto.encode({ [key]: fresh } as never).finish());
      fresh = [];
    };
    for (const o of now) {
      const r = at.get(o);
      if (!r) fresh.push(o);
      else {
        flush();
        pushRange(pieces, r.start, r.end);
      }
    }
    flush();
    replaced.set(field, pieces);
  }
  const graphPieces: Piece[] = [];
  const placed = new Set<number>();
  for (const f of gf) {
    const pieces = replaced.get(f.field);
    if (!pieces) pushRange(graphPieces, f.start, f.end);
    else if (!placed.has(f.field)) {
      placed.add(f.field);
      for (const p of pieces) {
        if (p instanceof Uint8Array) graphPieces.push(p);
        else pushRange(graphPieces, p.from, p.to);
      }
    }
  }
  for (const [field, pieces] of replaced) if (!placed.has(field)) graphPieces.push(...pieces);

  const size = (ps: Piece[]) => ps.reduce((n, p) => n + (p instanceof Uint8Array ? p.length : p.to - p.from), 0);
  const graphLen = size(graphPieces);
  const pieces: Piece[] = [];
  for (const f of top!) {
    if (f !== gField) pushRange(pieces, f.start, f.end);
    else pieces.push(header(7, graphLen), ...graphPieces);
  }
  // not zero-filled first: every byte is written below
  const out = Buffer.allocUnsafe(size(pieces));
  let q = 0;
  for (const p of pieces) {
    if (p instanceof Uint8Array) {
      out.set(p, q);
      q += p.length;
    } else {
      out.set(src.subarray(p.from, p.to), q);
      q += p.to - p.from;
    }
  }
  return out;
}

// Nodes an edit adds (reductions, views, small constants) are encoded here where every field is one of a few plain
// kinds, with protobufjs's rules (a field is written where the object has it as its own property): protobufjs's
// encoder, run once in a cold process, took ~8 ms for ppocr_cls's ~300 added nodes.

const NODE_KEYS = new Set(['input', 'output', 'name', 'opType', 'attribute', 'docString', 'domain']);
const ATTRIBUTE_KEYS = new Set(['name', 'type', 'i', 'f', 'ints', 'floats', 't', 'strings', 'tensors', 'graphs', 'typeProtos', 'sparseTensors']);
const TENSOR_KEYS = new Set(['name', 'dims', 'dataType', 'int64Data', 'floatData', 'rawData', 'int32Data', 'stringData', 'doubleData', 'uint64Data', 'externalData']);

/** A growing byte buffer; a message's length goes in front of it once it is written (the bytes move up). */
class Sink {
  buf = new Uint8Array(1 << 16);
  pos = 0;

  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
  }

  varint(v: number): void {
    this.room(10);
    if (v < 0) {
      // int64 two's complement: ten bytes
      let b = BigInt.asUintN(64, BigInt(v));
      while (b >= 0x80n) {
        this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
        b >>= 7n;
      }
      this.buf[this.pos++] = Number(b);
      return;
    }
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  bytes(field: number, b: Uint8Array): void {
    this.varint(field * 8 + 2);
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(field: number, s: string): void {
    this.varint(field * 8 + 2);
    // one native call per string (a loop over its characters is slow in a cold process); a short string's length
    // takes one byte even as UTF-8 (at most 3 bytes a UTF-16 unit)
    if (s.length * 3 < 0x80) {
      this.room(1 + s.length * 3);
      const { written } = utf8.encodeInto(s, this.buf.subarray(this.pos + 1));
      this.buf[this.pos] = written;
      this.pos += 1 + written;
    } else {
      const b = utf8.encode(s);
      this.varint(b.length);
      this.room(b.length);
      this.buf.set(b, this.pos);
      this.pos += b.length;
    }
  }

  /** opens a length-delimited field: returns where its body starts */
  open(field: number): number {
    this.varint(field * 8 + 2);
    return this.pos;
  }

  /** closes the field opened at `start`: its length goes in front of the body */
  close(start: number): void {
    const len = this.pos - start;
    let n = 1;
    for (let v = len; v >= 0x80; v = Math.floor(v / 128)) n++;
    this.room(n);
    this.buf.copyWithin(start + n, start, this.pos);
    this.pos = start;
    this.varint(len);
    this.pos = start + n + len;
  }

  packedVarints(field: number, vs: readonly number[]): void {
    if (vs.length === 0) return;
    const at = this.open(field);
    for (const v of vs) this.varint(Number(v));
    this.close(at);
  }

  floats(field: number, vs: readonly number[]): void {
    if (vs.length) this.bytes(field, new Uint8Array(Float32Array.from(vs).buffer));
  }
}

const utf8 = new TextEncoder();
const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k) && (o as Record<string, unknown>)[k] != null;
const emptyList = (x: unknown) => x === undefined || (Array.isArray(x) && x.length === 0);
const plainKeys = (o: object, keys: Set<string>) => Object.keys(o).every((k) => keys.has(k));

/** A tensor of plain fields (dims, type, int64 or float values, raw bytes, name); false where it has others. */
function plainTensor(out: Sink, t: Record<string, unknown>): boolean {
  if (!plainKeys(t, TENSOR_KEYS) || !emptyList(t.int32Data) || !emptyList(t.stringData) || !emptyList(t.doubleData) || !emptyList(t.uint64Data) || !emptyList(t.externalData)) return false;
  out.packedVarints(1, (t.dims as number[] | undefined) ?? []);
  if (own(t, 'dataType')) {
    out.varint(2 * 8);
    out.varint(t.dataType as number);
  }
  out.floats(4, (t.floatData as number[] | undefined) ?? []);
  out.packedVarints(7, (t.int64Data as number[] | undefined) ?? []);
  if (own(t, 'name')) out.string(8, t.name as string);
  if (own(t, 'rawData')) out.bytes(9, t.rawData as Uint8Array);
  return true;
}

function plainAttribute(out: Sink, a: Record<string, unknown>): boolean {
  if (!plainKeys(a, ATTRIBUTE_KEYS) || !emptyList(a.strings) || !emptyList(a.tensors) || !emptyList(a.graphs) || !emptyList(a.typeProtos) || !emptyList(a.sparseTensors)) return false;
  if (own(a, 'name')) out.string(1, a.name as string);
  if (own(a, 'f')) {
    out.varint(2 * 8 + 5);
    out.room(4);
    out.buf.set(new Uint8Array(Float32Array.of(a.f as number).buffer), out.pos);
    out.pos += 4;
  }
  if (own(a, 'i')) {
    out.varint(3 * 8);
    out.varint(a.i as number);
  }
  if (own(a, 't')) {
    const at = out.open(5);
    if (!plainTensor(out, a.t as Record<string, unknown>)) return false;
    out.close(at);
  }
  out.floats(7, (a.floats as number[] | undefined) ?? []);
  out.packedVarints(8, (a.ints as number[] | undefined) ?? []);
  if (own(a, 'type')) {
    out.varint(20 * 8);
    out.varint(a.type as number);
  }
  return true;
}

/** GraphProto node fields for `nodes` where each is plain (see above), else undefined. */
function plainNodes(nodes: object[]): Uint8Array | undefined {
  const out = new Sink();
  for (const n of nodes as Record<string, unknown>[]) {
    if (!plainKeys(n, NODE_KEYS)) return undefined;
    const at = out.open(1);
    for (const x of (n.input as string[] | undefined) ?? []) out.string(1, x);
    for (const x of (n.output as string[] | undefined) ?? []) out.string(2, x);
    if (own(n, 'name')) out.string(3, n.name as string);
    if (own(n, 'opType')) out.string(4, n.opType as string);
    for (const a of (n.attribute as Record<string, unknown>[] | undefined) ?? []) {
      const a0 = out.open(5);
      if (!plainAttribute(out, a)) return undefined;
      out.close(a0);
    }
    if (own(n, 'docString')) out.string(6, n.docString as string);
    if (own(n, 'domain')) out.string(7, n.domain as string);
    out.close(at);
  }
  return out.buf.slice(0, out.pos);
}

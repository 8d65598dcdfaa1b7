/** Reading and making TensorProto values. */
import { onnx, type TensorProto, type AttributeProto } from './proto.js';
import { DataType, dataTypeName } from './dtype.js';
import { InvalidArgument } from '../errors.js';

export function numel(dims: ArrayLike<number | { toString(): string }>): number {
  let n = 1;
  for (let i = 0; i < dims.length; i++) n *= Number(dims[i]);
  return n;
}

export function tensorDims(t: TensorProto): number[] {
  return t.dims.map((d) => Number(d));
}

/** A copy of `raw` aligned for typed-array access (only copies when misaligned). */
function aligned(raw: Uint8Array, bytesPerElement: number): ArrayBuffer {
  if (raw.byteOffset % bytesPerElement === 0) return raw.buffer as ArrayBuffer;
  // Copy explicitly: Buffer.prototype.slice returns a view, not a copy.
  return new Uint8Array(raw).buffer as ArrayBuffer;
}

function alignedOffset(raw: Uint8Array, bytesPerElement: number): number {
  return raw.byteOffset % bytesPerElement === 0 ? raw.byteOffset : 0;
}

export function halfToFloat(h: number): number {
  const s = (h & 0x8000) >> 15;
  const e = (h & 0x7c00) >> 10;
  const f = h & 0x03ff;
  let v: number;
  if (e === 0) v = f * 2 ** -24;
  else if (e === 0x1f) v = f ? NaN : Infinity;
  else v = (1 + f / 1024) * 2 ** (e - 15);
  return s ? -v : v;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE half bits, round to nearest even. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

export function bf16ToFloat(b: number): number {
  u32[0] = b << 16;
  return f32[0]!;
}

/** Values of a numeric tensor as float32 (copy for non-float32 types). */
export function tensorToFloat32(t: TensorProto): Float32Array {
  const n = numel(t.dims as number[]);
  const dt = t.dataType as number;
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  switch (dt) {
    case DataType.FLOAT:
      if (raw) return new Float32Array(aligned(raw, 4), alignedOffset(raw, 4), raw.length / 4);
      return Float32Array.from(t.floatData);
    case DataType.DOUBLE:
      if (raw) return Float32Array.from(new Float64Array(aligned(raw, 8), alignedOffset(raw, 8), raw.length / 8));
      return Float32Array.from(t.doubleData);
    case DataType.FLOAT16:
    case DataType.BFLOAT16: {
      const conv = dt === DataType.FLOAT16 ? halfToFloat : bf16ToFloat;
      const out = new Float32Array(n);
      if (raw) {
        const u = new Uint16Array(aligned(raw, 2), alignedOffset(raw, 2), raw.length / 2);
        for (let i = 0; i < n; i++) out[i] = conv(u[i]!);
      } else for (let i = 0; i < n; i++) out[i] = conv(t.int32Data[i]!);
      return out;
    }
    case DataType.INT64:
    case DataType.INT32:
    case DataType.INT8:
    case DataType.UINT8:
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.BOOL:
      return Float32Array.from(tensorToNumbers(t));
    default:
      throw new InvalidArgument(`tensor ${t.name}: cannot read ${dataTypeName(dt)} as float`);
  }
}

/** Values of an integer (or bool) tensor as JS numbers. */
export function tensorToNumbers(t: TensorProto): number[] {
  const dt = t.dataType as number;
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  if (!raw) {
    if (dt === DataType.INT64) return t.int64Data.map(Number);
    if (dt === DataType.FLOAT) return Array.from(t.floatData);
    if (dt === DataType.DOUBLE) return Array.from(t.doubleData);
    return Array.from(t.int32Data);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: number[] = [];
  switch (dt) {
    case DataType.INT64:
      for (let i = 0; i < raw.length; i += 8) out.push(Number(view.getBigInt64(i, true)));
      return out;
    case DataType.INT32:
      for (let i = 0; i < raw.length; i += 4) out.push(view.getInt32(i, true));
      return out;
    case DataType.INT16:
      for (let i = 0; i < raw.length; i += 2) out.push(view.getInt16(i, true));
      return out;
    case DataType.UINT16:
      for (let i = 0; i < raw.length; i += 2) out.push(view.getUint16(i, true));
      return out;
    case DataType.INT8:
      for (let i = 0; i < raw.length; i++) out.push(view.getInt8(i));
      return out;
    case DataType.UINT8:
    case DataType.BOOL:
      return Array.from(raw);
    case DataType.FLOAT:
      return Array.from(tensorToFloat32(t));
    default:
      throw new InvalidArgument(`tensor ${t.name}: cannot read ${dataTypeName(dt)} as integers`);
  }
}

function u8(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

export function makeTensor(name: string, dataType: number, dims: number[], raw: Uint8Array): TensorProto {
  return onnx.TensorProto.create({ name, dataType, dims, rawData: raw }) as TensorProto;
}

export function makeFloatTensor(name: string, dims: number[], values: Float32Array | number[]): TensorProto {
  const arr = values instanceof Float32Array ? values : Float32Array.from(values);
  return makeTensor(name, DataType.FLOAT, dims, u8(arr));
}

export function makeFloat16Tensor(name: string, dims: number[], values: Float32Array): TensorProto {
  const u = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) u[i] = floatToHalf(values[i]!);
  return makeTensor(name, DataType.FLOAT16, dims, u8(u));
}

export function makeInt8Tensor(name: string, dims: number[], values: Int8Array): TensorProto {
  return makeTensor(name, DataType.INT8, dims, u8(values));
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * A JS number as int64, saturating: int64 values beyond 2^53 reach us as doubles, and INT64_MAX
 * (Slice's "to the end") rounds to 2^63, which must not wrap around to INT64_MIN.
 */
export function toInt64(v: number): bigint {
  const b = BigInt(Math.trunc(v));
  return b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
}

export function makeInt64Tensor(name: string, dims: number[], values: number[]): TensorProto {
  const b = new BigInt64Array(values.map(toInt64));
  return makeTensor(name, DataType.INT64, dims, u8(b));
}

/** Typed-array view of a tensor's float32 values that writes through to raw_data when possible. */
export function setTensorFloat32(t: TensorProto, values: Float32Array): void {
  t.dataType = DataType.FLOAT;
  t.floatData = [];
  t.rawData = u8(values);
}

/** The tensor a `Constant` node produces, from whichever value attribute it uses. */
export function constantNodeValue(attrs: AttributeProto[], name: string): TensorProto | undefined {
  for (const a of attrs) {
    switch (a.name) {
      case 'value':
        return a.t ? (Object.assign(onnx.TensorProto.create(), a.t, { name }) as TensorProto) : undefined;
      case 'value_float':
        return makeFloatTensor(name, [], [a.f]);
      case 'value_floats':
        return makeFloatTensor(name, [a.floats.length], a.floats);
      case 'value_int':
        return makeInt64Tensor(name, [], [Number(a.i)]);
      case 'value_ints':
        return makeInt64Tensor(name, [a.ints.length], a.ints.map(Number));
      default:
    }
  }
  return undefined;
}

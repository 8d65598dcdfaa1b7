/** ONNX TensorProto.DataType values, including those newer than onnx-proto's schema. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(DataType).map(([k, v]) => [v, k]));

export function dataTypeName(code: number): string {
  return NAMES[code] ?? `DATATYPE_${code}`;
}

/** Bits per element; 4 for the packed int4 types. */
export function bitsPerElement(code: number): number {
  switch (code) {
    case DataType.FLOAT:
    case DataType.INT32:
    case DataType.UINT32:
      return 32;
    case DataType.DOUBLE:
    case DataType.INT64:
    case DataType.UINT64:
    case DataType.COMPLEX64:
      return 64;
    case DataType.COMPLEX128:
      return 128;
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
    case DataType.INT16:
    case DataType.UINT16:
      return 16;
    case DataType.INT8:
    case DataType.UINT8:
    case DataType.BOOL:
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
      return 8;
    case DataType.INT4:
    case DataType.UINT4:
      return 4;
    default:
      throw new Error(`unsupported tensor data type ${dataTypeName(code)}`);
  }
}

export function isFloatType(code: number): boolean {
  return code === DataType.FLOAT || code === DataType.FLOAT16 || code === DataType.DOUBLE || code === DataType.BFLOAT16;
}

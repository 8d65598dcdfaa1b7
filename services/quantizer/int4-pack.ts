/**
 * INT4 nibble packing (ONNX INT4/UINT4 raw_data): element 2k in the low nibble, 2k+1 in the high
 * nibble, an odd length padded with one 0; values clipped to [-8, 7] ([0, 15] unsigned) and rounded
 * half to even first.
 */
function rintHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function packInt4(values: ArrayLike<number>, unsigned = false): Uint8Array {
  const lo = unsigned ? 0 : -8;
  const hi = unsigned ? 15 : 7;
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    v = Number.isNaN(v) ? 0 : rintHalfEven(Math.min(hi, Math.max(lo, v)));
    const nib = v & 0x0f;
    out[i >> 1]! |= i & 1 ? nib << 4 : nib;
  }
  return out;
}

export function unpackInt4(packed: Uint8Array, count: number, unsigned = false): Int8Array | Uint8Array {
  const out = unsigned ? new Uint8Array(count) : new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const nib = (packed[i >> 1]! >> (i & 1 ? 4 : 0)) & 0x0f;
    out[i] = unsigned ? nib : nib >= 8 ? nib - 16 : nib;
  }
  return out;
}

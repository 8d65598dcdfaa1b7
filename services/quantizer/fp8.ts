/**
 * FP8 E4M3FN helpers: decoding, the standard deviation of the finite E4M3FN values, and onnxruntime's
 * distribution-based scale (std(data) / std(E4M3FN finite values), zero point 0).
 */

/** Value of an E4M3FN byte (1 sign, 4 exponent bits with bias 7, 3 mantissa bits; 0x7F/0xFF are NaN). */
export function e4m3fnToFloat(bits: number): number {
  const sign = bits & 0x80 ? -1 : 1;
  const exp = (bits >> 3) & 0x0f;
  const man = bits & 0x07;
  if (exp === 0x0f && man === 0x07) return NaN;
  if (exp === 0) return sign * man * 2 ** -9;
  return sign * (1 + man / 8) * 2 ** (exp - 7);
}

let stdE4M3: number | undefined;

/** Population standard deviation (float32) of the 254 finite E4M3FN values, as onnxruntime computes it. */
export function e4m3fnStd(): number {
  if (stdE4M3 === undefined) {
    const vals: number[] = [];
    for (let b = 0; b < 256; b++) {
      const v = e4m3fnToFloat(b);
      if (Number.isFinite(v)) vals.push(v);
    }
    stdE4M3 = Math.fround(populationStd(vals));
  }
  return stdE4M3;
}

export function populationStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i]!;
  mean /= n;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    acc += d * d;
  }
  return Math.sqrt(acc / n);
}

/** FP8 scale for a tensor with standard deviation `std` (float32). A zero or non-finite result gives 1. */
export function fp8ScaleFromStd(std: number): number {
  const s = Math.fround(std / e4m3fnStd());
  return Number.isFinite(s) && s > 0 ? s : 1;
}

/** FP8 scale of a weight from its own distribution. */
export function fp8WeightScale(values: Float32Array): number {
  return fp8ScaleFromStd(Math.fround(populationStd(values)));
}

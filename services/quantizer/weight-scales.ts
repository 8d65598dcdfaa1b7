/**
 * INT8 scale computation as onnxruntime does it for the reference's options: symmetric signed INT8 with
 * range ±127 and zero point 0, scale = 2·absmax / 254 cast to float32; a scale below float32's smallest
 * normal becomes 1.
 *
 * onnxruntime doubles absmax in float32, which overflows to Infinity for ranges near float32 max
 * (attention-mask sentinels such as -3.4e38 in GPT-2): the reference then writes scale = inf and the
 * quantized model's output is garbage. We double in float64 (identical for every finite result,
 * since doubling is exact in float32), so such a tensor gets the finite scale absmax/127.
 * See docs/compatibility.md, "quantizer".
 */
import { InvalidArgument } from '../core/errors.js';

const FLOAT32_TINY = 1.1754943508222875e-38;

/** Symmetric INT8 scale of the range [rmin, rmax] (0 is always included). */
export function symmetricInt8Scale(rmin: number, rmax: number): number {
  const lo = Math.fround(Math.min(rmin, 0));
  const hi = Math.fround(Math.max(rmax, 0));
  const absmax = Math.fround(Math.max(Math.abs(lo), Math.abs(hi)));
  if (!Number.isFinite(absmax)) return 1;
  const dr = absmax + absmax; // float64: no overflow (see above)
  const scale = dr / 254;
  if (scale < FLOAT32_TINY) return 1;
  return Math.fround(scale);
}

/** Per-tensor symmetric INT8 scale of constant data. */
export function perTensorInt8Scale(values: Float32Array): number {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
  }
  return symmetricInt8Scale(lo, hi);
}

/** Per-channel symmetric INT8 scales of a row-major tensor along `axis`. */
export function perChannelInt8Scales(values: Float32Array, dims: readonly number[], axis: number): Float32Array {
  if (axis < 0 || axis >= dims.length) throw new InvalidArgument(`per-channel axis ${axis} out of range for rank ${dims.length}`);
  const channels = dims[axis]!;
  let inner = 1;
  for (let i = axis + 1; i < dims.length; i++) inner *= dims[i]!;
  const outer = values.length / (channels * inner);
  const lo = new Float64Array(channels);
  const hi = new Float64Array(channels);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      let l = lo[c]!;
      let h = hi[c]!;
      for (let k = 0; k < inner; k++) {
        const v = values[base + k]!;
        if (v < l) l = v;
        if (v > h) h = v;
      }
      lo[c] = l;
      hi[c] = h;
    }
  }
  const out = new Float32Array(channels);
  for (let c = 0; c < channels; c++) out[c] = symmetricInt8Scale(lo[c]!, hi[c]!);
  return out;
}

// Scalar building blocks shared by the CUDA kernels and the CPU reference in gpu_bench.
// Every function here is __host__ __device__ so that the GPU and the CPU evaluate the
// same float32 expression in the same order: results are bit-identical wherever the
// maths is elementwise (fake-quant, RNE quantize, E4M3 cast, INT4 RTN, histogram bin index).
//
// Conventions (the contract the CPU addon in native/src mirrors):
//  * integer fake-quant: B = 2^(bits-1+unsigned)-1, lower = unsigned ? 0 : (narrow ? -B : -B-1);
//    amax < 2^-24 -> 0; else s = B/amax (f32), q = clamp(rint(x*s)), out = q/s.
//  * E4M3 (FN): saturate to +-448, round-to-nearest-even, NaN stays NaN.
//    scaled form: s = 448/amax, out = e4m3(x*s)/s, and |x| < 2^-24 -> 0.
//  * INT4 block RTN: s = (amax_block * alpha)/7 (f32), q = clamp(rint(w/s), -8, 7); s == 0 -> q = 0.
//  * numpy histogram bin: f = ((x-lo)/(hi-lo))*n (f32), i = trunc(f), i==n -> n-1, then the
//    +-1 correction against the float32 edges numpy's linspace produces (numpyLinspaceF32).
//  * torch histc-style bin: i = floor((x-lo)*n/(hi-lo)) in float64, i>=n -> n-1; outside skipped.
//  * NaN: amax/min/max ignore NaN; integer codes and INT4 codes of NaN are 0; fake-quant keeps NaN.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define MO_HD __host__ __device__ __forceinline__
#else
#define MO_HD inline
#endif

namespace modelopt {
namespace qm {

MO_HD uint32_t f2u(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
MO_HD float u2f(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// Round half to even (IEEE default rounding mode); rintf on both sides.
MO_HD float rne(float x) { return rintf(x); }

// ---- integer fake quant -------------------------------------------------------------------
constexpr float kMinAmax = 1.0f / 16777216.0f;  // 2^-24

MO_HD float intMaxBound(int bits, bool isUnsigned) {
  return (float)((1 << (bits - 1 + (isUnsigned ? 1 : 0))) - 1);
}
MO_HD float intMinBound(int bits, bool isUnsigned, bool narrow) {
  float b = intMaxBound(bits, isUnsigned);
  return isUnsigned ? 0.0f : (narrow ? -b : -b - 1.0f);
}
MO_HD float fakeQuantInt(float x, float amax, float minB, float maxB) {
  if (amax < kMinAmax) return 0.0f;
  float s = maxB / amax;
  float q = rintf(x * s);
  q = q > maxB ? maxB : q;
  q = q < minB ? minB : q;
  return q / s;
}
// Real quantize: integer code (NaN input -> 0; a zero channel -> 0).
MO_HD float quantIntCode(float x, float amax, float minB, float maxB) {
  if (amax < kMinAmax) return 0.0f;
  float s = maxB / amax;
  float q = rintf(x * s);
  if (q != q) return 0.0f;
  q = q > maxB ? maxB : q;
  q = q < minB ? minB : q;
  return q;
}

// ---- FP8 E4M3 (FN) ---------------------------------------------------------------------------
// Software float32 -> e4m3 with saturation to the finite range and RNE. Matches
// __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3) (checked exhaustively-by-sampling in gpu_bench).
MO_HD uint8_t e4m3FromFloat(float f) {
  uint32_t u = f2u(f);
  uint8_t sign = (uint8_t)((u >> 24) & 0x80);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint8_t)(sign | 0x7f);  // NaN
  if (a >= 0x43e00000u) return (uint8_t)(sign | 0x7e);  // >= 448 (and inf): saturate
  if (a < 0x3c800000u) {                                // below 2^-6: subnormal range
    float af = u2f(a);
    float q = rintf(af * 512.0f);                       // units of 2^-9, exact scaling
    return (uint8_t)(sign | (uint8_t)q);                // q == 8 encodes the smallest normal
  }
  int e = (int)(a >> 23) - 127;  // -6..8
  uint32_t m = a & 0x7fffffu;
  uint32_t keep = m >> 20;
  uint32_t rest = m & 0xfffffu;
  if (rest > 0x80000u || (rest == 0x80000u && (keep & 1u))) keep++;
  if (keep == 8u) {
    keep = 0;
    e++;
  }
  if (e > 8 || (e == 8 && keep == 7u)) {  // cannot exceed 448 after the checks above
    return (uint8_t)(sign | 0x7e);
  }
  return (uint8_t)(sign | (uint8_t)(((e + 7) << 3) | keep));
}
MO_HD float e4m3ToFloat(uint8_t v) {
  uint32_t sign = (v & 0x80u) ? 0x80000000u : 0u;
  uint32_t e = (v >> 3) & 0xfu;
  uint32_t m = v & 7u;
  if (e == 0xfu && m == 7u) return u2f(sign | 0x7fc00000u);
  float mag;
  if (e == 0) {
    mag = (float)m * (1.0f / 512.0f);
  } else {
    mag = u2f(((e - 7u + 127u) << 23) | (m << 20));
  }
  return sign ? -mag : mag;
}
MO_HD float fakeE4m3Soft(float x) { return e4m3ToFloat(e4m3FromFloat(x)); }

// ---- INT4 block RTN ---------------------------------------------------------------------------
MO_HD float int4Scale(float blockAmax, float alpha) { return (blockAmax * alpha) / 7.0f; }
MO_HD float int4Code(float w, float s) {
  float q = rintf(w / s);
  if (q != q) return 0.0f;  // 0/0 (all-zero block) or NaN weight: numpy's NaN->int8 cast gives 0
  q = q > 7.0f ? 7.0f : q;
  q = q < -8.0f ? -8.0f : q;
  return q;
}

// ---- histogram bin indices ------------------------------------------------------------------
// numpy.histogram(a, bins=n, range=(lo,hi)) for float32 data with float32 range.
// Returns -1 when the value is not counted (outside [lo,hi] or NaN).
MO_HD int numpyBin(float x, float lo, float hi, float denom, int n, const float* edges) {
  if (!(x >= lo) || !(x <= hi)) return -1;
  float f = ((x - lo) / denom) * (float)n;
  int i = (f != f) ? 0 : (int)f;
  if (i == n) i -= 1;
  if (x < edges[i]) i -= 1;
  if (i < 0) return -1;  // cannot happen with numpy's edges; the TS contract drops it too
  if (i != n - 1 && x >= edges[i + 1]) i += 1;
  return i;
}
// Same result as numpyBin, cheaper. g = (x-lo)*scale (scale = n/denom) is within a few ulps of
// numpy's f. numpy's float32 edges sit within `eps` bin widths of the ideal boundaries k/n (eps is
// derived from float32 rounding of k*step + lo, see histogramEps), so when g's fractional part is
// farther than eps from 0 and 1, x lies strictly inside bin floor(g), both edge checks are false
// and numpy's answer is floor(g). Otherwise numpy's exact evaluation (division + edge checks).
MO_HD int numpyBinFast(float x, float lo, float hi, float denom, float scale, float eps, int n, const float* edges) {
  if (!(x >= lo) || !(x <= hi)) return -1;
  float g = (x - lo) * scale;
  float fl = floorf(g);
  float fr = g - fl;
  if (fr > eps && fr < 1.0f - eps && fl < (float)n) return (int)fl;
  return numpyBin(x, lo, hi, denom, n, edges);
}
// Bin-width fraction within which numpy's float32 edges (and g) may stray from k/n: the edge
// k*step + lo carries ~2 ulps of max(|lo|,|hi|) ~ 2^-22 * 2T, i.e. n * 2^-22 bin widths for a
// symmetric range; 8x margin. Returns 1 (never take the shortcut) when that is not small.
inline float histogramEps(int n) {
  float e = (float)n * (8.0f / 4194304.0f) + 1e-5f;
  return e < 0.05f ? e : 1.0f;
}

// torch.histc-style count over [lo, hi] (the contract of native/reference.ts histcZeroTo):
// b = floor((x - lo) * n / (hi - lo)) evaluated in float64, b >= n -> n-1, hi == lo -> bin 0.
MO_HD int histcBin(float x, float lo, float hi, int n) {
  if (!(x >= lo) || !(x <= hi)) return -1;
  if (!(hi > lo)) return 0;
  double v = (((double)x - (double)lo) * (double)n) / ((double)hi - (double)lo);
  int i = (int)floor(v);
  if (i >= n) i = n - 1;
  return i;
}

// histcBin with a float32 first guess (scale = n/(hi-lo)); the float64 division runs only when
// the guess is within 1e-6 (relative) of an integer, where the two could floor differently.
MO_HD int histcBinFast(float x, float lo, float hi, float scale, int n) {
  if (!(x >= lo) || !(x <= hi)) return -1;
  if (!(hi > lo)) return 0;
  float g = (x - lo) * scale;
  int i;
  if (fabsf(g - rintf(g)) > fmaxf(fabsf(g), 1.0f) * 1e-6f) {
    i = (int)floorf(g);
  } else {
    double v = (((double)x - (double)lo) * (double)n) / ((double)hi - (double)lo);
    i = (int)floor(v);
  }
  if (i >= n) i = n - 1;
  return i;
}

// INT4 nibble value from a float: NaN -> 0, clip to [lo, hi], rint (half-even).
MO_HD int int4NibbleValue(float v, bool isUnsigned) {
  if (v != v) return 0;
  float lo = isUnsigned ? 0.f : -8.f, hi = isUnsigned ? 15.f : 7.f;
  v = v < lo ? lo : (v > hi ? hi : v);
  return (int)rintf(v);
}

}  // namespace qm
}  // namespace modelopt

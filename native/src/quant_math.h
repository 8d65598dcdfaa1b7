// Scalar quantization maths shared by the CPU kernels (header-only, no Node).
// Mirrors native/reference.ts (fq, qInt, e4m3Magnitude, e4m3BitsOf, q4).
#pragma once

#include <cmath>
#include <cstdint>

#include "numpy_compat.h"

namespace modelopt {
namespace qm {

constexpr float kEps24 = 1.0f / 16777216.0f;  // 2^-24

// Integer fake-quant: clamp(rint(x * (B/amax))) / (B/amax); amax < 2^-24 gives 0.
inline float FakeQuantInt(float x, float amax, float bound, float lo) {
  if (amax < kEps24) return 0.0f;
  const float scale = bound / amax;
  float o = np::Rint(x * scale);
  o = o > bound ? bound : o;
  o = o < lo ? lo : o;
  return o / scale;
}

// Integer code of the same maths (NaN -> 0).
inline float QuantInt(float x, float amax, float bound, float lo) {
  if (amax < kEps24) return 0.0f;
  const float scale = bound / amax;
  float o = np::Rint(x * scale);
  if (std::isnan(o)) return 0.0f;
  o = o > bound ? bound : o;
  o = o < lo ? lo : o;
  return o;
}

// |x| rounded onto the E4M3FN grid (RNE), saturated to 448. a >= 0, not NaN.
inline double E4M3Magnitude(double a) {
  if (a > 448.0) return 448.0;
  if (a < 0.015625) return np::Rint(a * 512.0) / 512.0;  // subnormals: multiples of 2^-9
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  const double ulp = std::ldexp(1.0, e - 1 - 3);
  return np::Rint(a / ulp) * ulp;
}

inline float E4M3RoundTrip(float x) {
  if (std::isnan(x)) return x;
  return std::copysign(static_cast<float>(E4M3Magnitude(std::fabs(static_cast<double>(x)))), x);
}

inline uint8_t E4M3Bits(float x) {
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  if (std::isnan(x)) return sign | 0x7F;
  const double m = E4M3Magnitude(std::fabs(static_cast<double>(x)));
  if (m == 0.0) return sign;
  if (m < 0.015625) return sign | static_cast<uint8_t>(std::lround(m * 512.0));
  int e;
  double fr = std::frexp(m, &e);  // m = fr * 2^e, fr in [0.5, 1)
  const int ex = e - 1;
  const int mant = static_cast<int>(std::lround((fr * 2.0 - 1.0) * 8.0));
  return sign | static_cast<uint8_t>(((ex + 7) << 3) | mant);
}

inline float E4M3Decode(uint8_t b) {
  const float s = (b & 0x80) ? -1.0f : 1.0f;
  const int e = (b >> 3) & 0xF;
  const int m = b & 7;
  if (e == 15 && m == 7) return std::nanf("");
  if (e == 0) return s * static_cast<float>(std::ldexp(static_cast<double>(m), -9));
  return s * static_cast<float>(std::ldexp(1.0 + m / 8.0, e - 7));
}

// Scaled E4M3 fake-quant (s = 448/amax), or plain round trip when !scaled; |x| < 2^-24 gives 0.
inline float FakeQuantE4M3(float x, float s, bool scaled) {
  if (std::fabs(x) < kEps24) return 0.0f;
  if (!scaled) return E4M3RoundTrip(x);
  return E4M3RoundTrip(x * s) / s;
}

// INT4 code: clip(rint(w / s), -8, 7), NaN -> 0.
inline float Q4(float w, float s) {
  float q = np::Rint(w / s);
  if (std::isnan(q)) return 0.0f;
  q = q > 7.0f ? 7.0f : q;
  q = q < -8.0f ? -8.0f : q;
  return q;
}

}  // namespace qm
}  // namespace modelopt

// Natural logarithm with the fdlibm algorithm (e_log.c: argument reduction to [sqrt(2)/2, sqrt(2)),
// s = f/(2+f), a degree-14 polynomial in s), which is what V8's Math.log computes, so the kernels give
// the TypeScript reference's values bit for bit. LogArray runs four values per AVX2 vector (the same
// IEEE operations in the same order, no contraction); the entropy searches take ~2M logarithms each.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "cpu.h"

#ifdef __x86_64__
#include <immintrin.h>
#endif

namespace modelopt {
namespace fdlibm {

constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kTwo54 = 1.80143985094819840000e+16;
constexpr double kLg1 = 6.666666666666735130e-01;
constexpr double kLg2 = 3.999999999940941908e-01;
constexpr double kLg3 = 2.857142874366239149e-01;
constexpr double kLg4 = 2.222219843214978396e-01;
constexpr double kLg5 = 1.818357216161805012e-01;
constexpr double kLg6 = 1.531383769920937332e-01;
constexpr double kLg7 = 1.479819860511658591e-01;

inline uint64_t Bits(double x) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
inline double FromBits(uint64_t b) {
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

inline double Log(double x) {
  uint64_t bits = Bits(x);
  int32_t hx = static_cast<int32_t>(bits >> 32);
  const uint32_t lx = static_cast<uint32_t>(bits);
  int32_t k = 0;
  if (hx < 0x00100000) {  // x < 2^-1022
    if (((hx & 0x7fffffff) | lx) == 0) return -std::numeric_limits<double>::infinity();
    if (hx < 0) return std::numeric_limits<double>::quiet_NaN();
    k -= 54;
    x *= kTwo54;  // subnormal: scale up
    bits = Bits(x);
    hx = static_cast<int32_t>(bits >> 32);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const int32_t i = (hx + 0x95f64) & 0x100000;
  x = FromBits((static_cast<uint64_t>(static_cast<uint32_t>(hx | (i ^ 0x3ff00000))) << 32) | (bits & 0xffffffffu));
  k += (i >> 20);
  const double f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) {  // -2^-20 <= f < 2^-20
    if (f == 0.0) {
      if (k == 0) return 0.0;
      const double dk = k;
      return dk * kLn2Hi + dk * kLn2Lo;
    }
    const double R = f * f * (0.5 - 0.33333333333333333 * f);
    if (k == 0) return f - R;
    const double dk = k;
    return dk * kLn2Hi - ((R - dk * kLn2Lo) - f);
  }
  const double s = f / (2.0 + f);
  const double dk = k;
  const double z = s * s;
  int32_t ii = hx - 0x6147a;
  const double w = z * z;
  const int32_t j = 0x6b851 - hx;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  ii |= j;
  const double R = t2 + t1;
  if (ii > 0) {
    const double hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + R));
    return dk * kLn2Hi - ((hfsq - (s * (hfsq + R) + dk * kLn2Lo)) - f);
  }
  if (k == 0) return f - s * (f - R);
  return dk * kLn2Hi - ((s * (f - R) - dk * kLn2Lo) - f);
}

#ifdef __x86_64__
// Four logs of positive normal finite values (the caller checks); every branch of Log computed and
// blended.
__attribute__((target("avx2"))) inline __m256d Log4(__m256d x) {
  const __m256i bits = _mm256_castpd_si256(x);
  __m256i hx = _mm256_srli_epi64(bits, 32);
  const __m256i k0 = _mm256_sub_epi64(_mm256_srli_epi64(hx, 20), _mm256_set1_epi64x(1023));
  hx = _mm256_and_si256(hx, _mm256_set1_epi64x(0x000fffff));
  const __m256i i = _mm256_and_si256(_mm256_add_epi64(hx, _mm256_set1_epi64x(0x95f64)), _mm256_set1_epi64x(0x100000));
  const __m256i high = _mm256_or_si256(hx, _mm256_xor_si256(i, _mm256_set1_epi64x(0x3ff00000)));
  const __m256i nb = _mm256_or_si256(_mm256_slli_epi64(high, 32), _mm256_and_si256(bits, _mm256_set1_epi64x(0xffffffffLL)));
  const __m256d xr = _mm256_castsi256_pd(nb);
  const __m256i k = _mm256_add_epi64(k0, _mm256_srli_epi64(i, 20));
  // (double)k, exact for |k| < 2^51: the bits of 1.5 * 2^52 plus k are the double 1.5 * 2^52 + k
  const __m256d magic = _mm256_set1_pd(6755399441055744.0);
  const __m256d dk = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(k, _mm256_castpd_si256(magic))), magic);
  const __m256d one = _mm256_set1_pd(1.0);
  const __m256d f = _mm256_sub_pd(xr, one);
  const __m256d zero = _mm256_setzero_pd();
  const __m256d kIsZero = _mm256_castsi256_pd(_mm256_cmpeq_epi64(k, _mm256_setzero_si256()));
  const __m256d ln2hi = _mm256_set1_pd(kLn2Hi), ln2lo = _mm256_set1_pd(kLn2Lo);
  const __m256d dkHi = _mm256_mul_pd(dk, ln2hi), dkLo = _mm256_mul_pd(dk, ln2lo);
  // general
  const __m256d s = _mm256_div_pd(f, _mm256_add_pd(_mm256_set1_pd(2.0), f));
  const __m256d z = _mm256_mul_pd(s, s);
  const __m256d w = _mm256_mul_pd(z, z);
  const __m256d t1 = _mm256_mul_pd(w, _mm256_add_pd(_mm256_set1_pd(kLg2), _mm256_mul_pd(w, _mm256_add_pd(_mm256_set1_pd(kLg4), _mm256_mul_pd(w, _mm256_set1_pd(kLg6))))));
  const __m256d t2 = _mm256_mul_pd(
      z, _mm256_add_pd(_mm256_set1_pd(kLg1), _mm256_mul_pd(w, _mm256_add_pd(_mm256_set1_pd(kLg3), _mm256_mul_pd(w, _mm256_add_pd(_mm256_set1_pd(kLg5), _mm256_mul_pd(w, _mm256_set1_pd(kLg7))))))));
  const __m256d R = _mm256_add_pd(t2, t1);
  const __m256i ii = _mm256_or_si256(_mm256_sub_epi64(hx, _mm256_set1_epi64x(0x6147a)), _mm256_sub_epi64(_mm256_set1_epi64x(0x6b851), hx));
  const __m256d iiPos = _mm256_castsi256_pd(_mm256_cmpgt_epi64(ii, _mm256_setzero_si256()));
  const __m256d hfsq = _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(0.5), f), f);
  const __m256d sh = _mm256_mul_pd(s, _mm256_add_pd(hfsq, R));
  const __m256d aK0 = _mm256_sub_pd(f, _mm256_sub_pd(hfsq, sh));
  const __m256d aK = _mm256_sub_pd(dkHi, _mm256_sub_pd(_mm256_sub_pd(hfsq, _mm256_add_pd(sh, dkLo)), f));
  const __m256d sfr = _mm256_mul_pd(s, _mm256_sub_pd(f, R));
  const __m256d bK0 = _mm256_sub_pd(f, sfr);
  const __m256d bK = _mm256_sub_pd(dkHi, _mm256_sub_pd(_mm256_sub_pd(sfr, dkLo), f));
  const __m256d a = _mm256_blendv_pd(aK, aK0, kIsZero);
  const __m256d b = _mm256_blendv_pd(bK, bK0, kIsZero);
  const __m256d general = _mm256_blendv_pd(b, a, iiPos);
  const __m256i small = _mm256_cmpgt_epi64(_mm256_set1_epi64x(3), _mm256_and_si256(_mm256_add_epi64(hx, _mm256_set1_epi64x(2)), _mm256_set1_epi64x(0x000fffff)));
  if (_mm256_testz_si256(small, small)) return general;  // no lane within 2^-20 of a power of two
  // tiny f (x within about 2^-20 of a power of two)
  const __m256d Rt = _mm256_mul_pd(_mm256_mul_pd(f, f), _mm256_sub_pd(_mm256_set1_pd(0.5), _mm256_mul_pd(_mm256_set1_pd(0.33333333333333333), f)));
  const __m256d tinyK0 = _mm256_sub_pd(f, Rt);
  const __m256d tinyK = _mm256_sub_pd(dkHi, _mm256_sub_pd(_mm256_sub_pd(Rt, dkLo), f));
  __m256d tiny = _mm256_blendv_pd(tinyK, tinyK0, kIsZero);
  const __m256d fZero = _mm256_cmp_pd(f, zero, _CMP_EQ_OQ);
  const __m256d exactK = _mm256_add_pd(dkHi, dkLo);
  tiny = _mm256_blendv_pd(tiny, _mm256_blendv_pd(exactK, zero, kIsZero), fZero);
  return _mm256_blendv_pd(general, tiny, _mm256_castsi256_pd(small));
}

__attribute__((target("avx2"))) inline void LogArrayAvx2(const double* in, double* out, size_t n) {
  size_t i = 0;
  const __m256i lo = _mm256_set1_epi64x(0x0010000000000000LL);  // smallest normal
  const __m256i hi = _mm256_set1_epi64x(0x7ff0000000000000LL);  // +Inf
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_loadu_pd(in + i);
    const __m256i b = _mm256_castpd_si256(x);
    // positive normal finite: lo <= bits < hi as signed 64-bit integers (negative values have the sign bit)
    const __m256i bad = _mm256_or_si256(_mm256_cmpgt_epi64(lo, b), _mm256_cmpgt_epi64(b, _mm256_sub_epi64(hi, _mm256_set1_epi64x(1))));
    if (_mm256_testz_si256(bad, bad)) {
      _mm256_storeu_pd(out + i, Log4(x));
    } else {
      for (size_t k = i; k < i + 4; k++) out[k] = Log(in[k]);
    }
  }
  for (; i < n; i++) out[i] = Log(in[i]);
}

#endif

// out[i] = Log(in[i]) for i < n (in and out may be the same array).
inline void LogArray(const double* in, double* out, size_t n) {
#ifdef __x86_64__
  if (CpuHasAvx2()) {
    LogArrayAvx2(in, out, n);
    return;
  }
#endif
  for (size_t i = 0; i < n; i++) out[i] = Log(in[i]);
}

}  // namespace fdlibm
}  // namespace modelopt

// numpy float32 semantics needed to reproduce onnxruntime's / ModelOpt's numpy code bit for bit:
// pairwise summation, linspace, arange, floor_divide, histogram counting. Pure C++, no Node.
// Each function mirrors the same-named helper of native/reference.ts.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace modelopt {
namespace np {

constexpr float kFltMax = std::numeric_limits<float>::max();
constexpr float kFltTiny = std::numeric_limits<float>::min();

// numpy.rint: round half to even, branch-light and inlinable (std::nearbyint is a libm call on
// baseline x86-64). Adding 2^23 (2^52) to |x| below it rounds at integer granularity with
// ties-to-even; larger magnitudes, Inf and NaN are returned unchanged. Keeps the sign (rint(-0.3) = -0).
inline float Rint(float x) {
  const float ax = std::fabs(x);
  if (!(ax < 8388608.0f)) return x;
  const float r = (ax + 8388608.0f) - 8388608.0f;
  return std::copysign(r, x);
}
inline double Rint(double x) {
  const double ax = std::fabs(x);
  if (!(ax < 4503599627370496.0)) return x;
  const double r = (ax + 4503599627370496.0) - 4503599627370496.0;
  return std::copysign(r, x);
}

// numpy pairwise summation (np.add.reduce over a contiguous run): blocks of <= 128 use 8
// accumulators, longer runs split in halves rounded down to a multiple of 8.
template <typename T>
T PairwiseSum(const T* a, size_t n) {
  if (n < 8) {
    T r = 0;
    for (size_t i = 0; i < n; i++) r += a[i];
    return r;
  }
  if (n <= 128) {
    T r[8];
    for (int j = 0; j < 8; j++) r[j] = a[j];
    size_t i = 8;
    size_t lim = n - (n % 8);
    for (; i < lim; i += 8)
      for (int j = 0; j < 8; j++) r[j] += a[i + j];
    T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return PairwiseSum(a, n2) + PairwiseSum(a + n2, n - n2);
}

// numpy.linspace(first, last, n + 1) with float32 endpoints (computed in float32).
inline std::vector<float> LinspaceF32(float first, float last, int64_t n) {
  std::vector<float> e(static_cast<size_t>(n + 1));
  float delta = last - first;
  float step = delta / static_cast<float>(n);
  if (step == 0.0f) {
    for (int64_t k = 0; k <= n; k++) e[k] = (static_cast<float>(k) / static_cast<float>(n)) * delta + first;
  } else {
    for (int64_t k = 0; k <= n; k++) e[k] = static_cast<float>(k) * step + first;
  }
  if (n >= 1) e[n] = last;
  return e;
}

// numpy.linspace with python-float endpoints (float64), cast to float32.
inline std::vector<float> LinspaceF64(double first, double last, int64_t n) {
  std::vector<float> e(static_cast<size_t>(n + 1));
  double delta = last - first;
  double step = delta / static_cast<double>(n);
  for (int64_t k = 0; k <= n; k++) {
    e[k] = static_cast<float>(step == 0.0 ? (static_cast<double>(k) / n) * delta + first : static_cast<double>(k) * step + first);
  }
  if (n >= 1) e[n] = static_cast<float>(last);
  return e;
}

// numpy float32 floor_divide (npy_divmodf).
inline float FloorDivide(float a, float b) {
  if (b == 0.0f) return a / b;
  float mod = std::fmod(a, b);
  float div = (a - mod) / b;
  if (mod != 0.0f) {
    if ((b < 0) != (mod < 0)) {
      mod += b;
      div -= 1.0f;
    }
  }
  float floordiv;
  if (div != 0.0f) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5f) floordiv += 1.0f;
  } else {
    floordiv = std::copysign(0.0f, a / b);
  }
  return floordiv;
}

// numpy.arange(start, stop, step) with float32 scalars: float64 values start,
// fl32(start + step), then start + i * (second - start); length ceil(fl32(fl32(stop-start)/step)).
inline std::vector<double> ArangeFromF32(float start, float stop, float step) {
  double len = std::ceil(static_cast<double>((stop - start) / step));
  if (!(len > 0)) return {};
  std::vector<double> out(static_cast<size_t>(len));
  out[0] = start;
  if (out.size() > 1) out[1] = static_cast<float>(start + step);
  const double delta = out.size() > 1 ? out[1] - static_cast<double>(start) : 0.0;
  for (size_t i = 2; i < out.size(); i++) out[i] = static_cast<double>(start) + static_cast<double>(i) * delta;
  return out;
}

// Bin of x for numpy.histogram's uniform fast path, or -1 when x is outside [first, last].
// `first`/`last` are the outer edges as float32, edges the n+1 bin edges.
inline int64_t UniformBin(float x, int64_t n, float first, float last, float denom, const float* edges) {
  if (!(x >= first && x <= last)) return -1;
  float fi = ((x - first) / denom) * static_cast<float>(n);
  int64_t idx = std::isnan(fi) ? 0 : static_cast<int64_t>(fi);
  if (idx == n) idx -= 1;
  if (x < edges[idx]) idx -= 1;
  if (idx != n - 1 && x >= edges[idx + 1]) idx += 1;
  return idx;
}

// Bin of x for numpy.histogram with explicit edges (searchsorted semantics, last bin closed),
// or -1 when outside / NaN.
template <typename E>
inline int64_t EdgesBin(float x, const E* edges, int64_t n) {
  if (std::isnan(x)) return -1;
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = (lo + hi) >> 1;
    if (edges[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return -1;
  if (lo < n) return lo - 1;
  return x <= edges[n] ? n - 1 : -1;
}

}  // namespace np
}  // namespace modelopt

// numpy's pairwise summation on the device (shared by the .cu files; internal).
#pragma once

#include <cuda_runtime.h>

namespace modelopt {
namespace cuda {
namespace {
// numpy pairwise summation (8 accumulators, leaves of <= 128 elements, halves rounded down to a
// multiple of 8), float32 and float64, over a generator g(k). Iterative post-order walk of the
// recursion tree (device recursion would need a large stack). Explicit _rn intrinsics keep the
// compiler from contracting into FMAs.
__device__ __forceinline__ float addRn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double addRn(double a, double b) { return __dadd_rn(a, b); }

template <typename T, typename G>
__device__ T pairwiseLeaf(const G& g, int off, int n) {
  if (n < 8) {
    T r = 0;
    for (int i = 0; i < n; ++i) r = addRn(r, (T)g(off + i));
    return r;
  }
  T r[8];
#pragma unroll
  for (int j = 0; j < 8; ++j) r[j] = g(off + j);
  int i = 8;
  const int lim = n - (n % 8);
  for (; i < lim; i += 8)
#pragma unroll
    for (int j = 0; j < 8; ++j) r[j] = addRn(r[j], (T)g(off + i + j));
  T res = addRn(addRn(addRn(r[0], r[1]), addRn(r[2], r[3])), addRn(addRn(r[4], r[5]), addRn(r[6], r[7])));
  for (; i < n; ++i) res = addRn(res, (T)g(off + i));
  return res;
}
template <typename T, typename G>
__device__ T pairwiseSum(const G& g, int off, int n) {
  if (n <= 128) return pairwiseLeaf<T>(g, off, n);
  struct Frame {
    int off, n, state;
    T left;
  };
  Frame st[20];  // depth <= log2(n/64): n < 2^26
  int sp = 0;
  st[0] = {off, n, 0, (T)0};
  T ret = 0;
  while (sp >= 0) {
    Frame& f = st[sp];
    int n2 = f.n / 2;
    n2 -= n2 % 8;
    if (f.n <= 128) {
      ret = pairwiseLeaf<T>(g, f.off, f.n);
      --sp;
    } else if (f.state == 0) {
      f.state = 1;
      st[++sp] = {f.off, n2, 0, (T)0};
    } else if (f.state == 1) {
      f.left = ret;
      f.state = 2;
      st[++sp] = {f.off + n2, f.n - n2, 0, (T)0};
    } else {
      ret = addRn(f.left, ret);
      --sp;
    }
  }
  return ret;
}
template <typename G>
__device__ float pairwiseF32(const G& g, int off, int n) {
  return pairwiseSum<float>(g, off, n);
}
template <typename G>
__device__ double pairwiseF64(const G& g, int off, int n) {
  return pairwiseSum<double>(g, off, n);
}

}  // namespace
}  // namespace cuda
}  // namespace modelopt

// Reductions, histograms and histogram threshold searches.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cuda_common.cuh"
#include "quant_math.h"
#include "cuda_pairwise.cuh"

namespace modelopt {
namespace cuda {

using qm::f2u;
using qm::u2f;

// ============================================================================ amax / min-max
namespace {
__device__ __forceinline__ unsigned warpMaxU(unsigned v) {
  for (int o = 16; o; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ unsigned warpMinU(unsigned v) {
  for (int o = 16; o; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ unsigned warpSumU(unsigned v) {
  for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
// |x| bit pattern: unsigned order equals float order; NaN (> 0x7f800000) maps to 0 (ignored).
__device__ __forceinline__ unsigned absBitsNoNan(float x) {
  unsigned a = __float_as_uint(x) & 0x7fffffffu;
  return a > 0x7f800000u ? 0u : a;
}
// Total order key for non-NaN signed floats.
__device__ __forceinline__ unsigned orderKey(float x) {
  unsigned u = __float_as_uint(x);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
inline float keyToFloat(unsigned k) {
  unsigned u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
  return qm::u2f(u);
}

struct StatAcc {
  unsigned amax = 0, mn = 0xffffffffu, mx = 0, nan = 0, inf = 0;
  __device__ void take(float v) {
    unsigned a = __float_as_uint(v) & 0x7fffffffu;
    if (a > 0x7f800000u) {
      nan++;
      return;
    }
    if (a == 0x7f800000u) inf++;
    amax = max(amax, a);
    unsigned k = orderKey(v);
    mn = min(mn, k);
    mx = max(mx, k);
  }
};

// out: [amaxBits, minKey, maxKey, nanLo, nanHi, infLo, infHi] (counts as 64-bit pairs)
template <bool FULL>
__global__ void stats_kernel(const float* __restrict__ x, size_t n, unsigned* out) {
  StatAcc s;
  size_t stride = (size_t)gridDim.x * blockDim.x;
  size_t tid = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  size_t n4 = ((reinterpret_cast<uintptr_t>(x) & 15) == 0) ? n / 4 : 0;
  const float4* x4 = reinterpret_cast<const float4*>(x);
  size_t i = tid;
  for (; i + stride < n4; i += 2 * stride) {
    float4 v = __ldg(x4 + i), w = __ldg(x4 + i + stride);
    if (FULL) {
      s.take(v.x); s.take(v.y); s.take(v.z); s.take(v.w);
      s.take(w.x); s.take(w.y); s.take(w.z); s.take(w.w);
    } else {
      s.amax = max(s.amax, max(max(absBitsNoNan(v.x), absBitsNoNan(v.y)), max(absBitsNoNan(v.z), absBitsNoNan(v.w))));
      s.amax = max(s.amax, max(max(absBitsNoNan(w.x), absBitsNoNan(w.y)), max(absBitsNoNan(w.z), absBitsNoNan(w.w))));
    }
  }
  for (; i < n4; i += stride) {
    float4 v = __ldg(x4 + i);
    if (FULL) {
      s.take(v.x); s.take(v.y); s.take(v.z); s.take(v.w);
    } else {
      s.amax = max(s.amax, max(max(absBitsNoNan(v.x), absBitsNoNan(v.y)), max(absBitsNoNan(v.z), absBitsNoNan(v.w))));
    }
  }
  for (size_t j = n4 * 4 + tid; j < n; j += stride) {
    if (FULL) s.take(x[j]);
    else s.amax = max(s.amax, absBitsNoNan(x[j]));
  }
  s.amax = warpMaxU(s.amax);
  if (FULL) {
    s.mn = warpMinU(s.mn);
    s.mx = warpMaxU(s.mx);
    s.nan = warpSumU(s.nan);
    s.inf = warpSumU(s.inf);
  }
  if ((threadIdx.x & 31) == 0) {
    atomicMax(out, s.amax);
    if (FULL) {
      atomicMin(out + 1, s.mn);
      atomicMax(out + 2, s.mx);
      if (s.nan) atomicAdd(reinterpret_cast<unsigned long long*>(out + 4), (unsigned long long)s.nan);
      if (s.inf) atomicAdd(reinterpret_cast<unsigned long long*>(out + 6), (unsigned long long)s.inf);
    }
  }
}

// Rows of `inner` contiguous elements, one block per row (kept axes form a prefix).
__global__ void amax_rows_kernel(const float* __restrict__ x, size_t rows, size_t inner, unsigned* out) {
  __shared__ unsigned sm[32];
  for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * inner;
    unsigned m = 0;
    for (size_t i = threadIdx.x; i < inner; i += blockDim.x) m = max(m, absBitsNoNan(row[i]));
    m = warpMaxU(m);
    if ((threadIdx.x & 31) == 0) sm[threadIdx.x >> 5] = m;
    __syncthreads();
    if (threadIdx.x < 32) {
      unsigned v = threadIdx.x < (blockDim.x >> 5) ? sm[threadIdx.x] : 0u;
      v = warpMaxU(v);
      if (threadIdx.x == 0) out[r] = v;
    }
    __syncthreads();
  }
}

struct AxesMap {
  int ndim;
  long long dims[8];
  long long outStride[8];  // 0 for reduced axes
};
__global__ void amax_general_kernel(const float* __restrict__ x, size_t n, AxesMap map, unsigned* out) {
  size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    size_t rem = i;
    long long o = 0;
    for (int d = map.ndim - 1; d >= 0; --d) {
      long long c = (long long)(rem % (size_t)map.dims[d]);
      rem /= (size_t)map.dims[d];
      o += c * map.outStride[d];
    }
    unsigned a = absBitsNoNan(x[i]);
    if (a) atomicMax(out + o, a);
  }
}

// np.min/np.max: NaN anywhere -> NaN.  out: [minKey, maxKey, nanFlag]
__global__ void minmax_kernel(const float* __restrict__ x, size_t n, unsigned* out) {
  unsigned mn = 0xffffffffu, mx = 0, nan = 0;
  size_t stride = (size_t)gridDim.x * blockDim.x;
  size_t tid = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  size_t n4 = ((reinterpret_cast<uintptr_t>(x) & 15) == 0) ? n / 4 : 0;
  const float4* x4 = reinterpret_cast<const float4*>(x);
  auto take = [&](float v) {
    if (v != v) {
      nan = 1;
    } else {
      unsigned k = orderKey(v);
      mn = min(mn, k);
      mx = max(mx, k);
    }
  };
  size_t i = tid;
  for (; i + stride < n4; i += 2 * stride) {
    float4 v = __ldg(x4 + i), w = __ldg(x4 + i + stride);
    take(v.x); take(v.y); take(v.z); take(v.w);
    take(w.x); take(w.y); take(w.z); take(w.w);
  }
  for (; i < n4; i += stride) {
    float4 v = __ldg(x4 + i);
    take(v.x); take(v.y); take(v.z); take(v.w);
  }
  for (size_t j = n4 * 4 + tid; j < n; j += stride) take(x[j]);
  mn = warpMinU(mn);
  mx = warpMaxU(mx);
  nan = warpMaxU(nan);
  if ((threadIdx.x & 31) == 0) {
    atomicMin(out, mn);
    atomicMax(out + 1, mx);
    if (nan) atomicMax(out + 2, 1u);
  }
}
}  // namespace

namespace dev {
AmaxStats amaxStats(const float* dx, size_t n) {
  unsigned init[8] = {0u, 0xffffffffu, 0u, 0u, 0u, 0u, 0u, 0u};
  DevBuf<unsigned> r(8);
  r.upload(init, 8);
  if (n) {
    stats_kernel<true><<<gridFor(n, 256, 16), 256>>>(dx, n, r.p);
    MO_LAUNCH_CHECK(stats);
  }
  unsigned h[8];
  r.download(h, 8);
  AmaxStats s;
  s.amax = u2f(h[0]);
  s.nanCount = (uint64_t)h[4] | ((uint64_t)h[5] << 32);
  s.infCount = (uint64_t)h[6] | ((uint64_t)h[7] << 32);
  if (s.nanCount < n) {
    s.min = keyToFloat(h[1]);
    s.max = keyToFloat(h[2]);
  }
  return s;
}
float amax(const float* dx, size_t n) {
  DevBuf<unsigned> r(1);
  r.zero();
  if (n) {
    stats_kernel<false><<<gridFor(n, 256, 16), 256>>>(dx, n, r.p);
    MO_LAUNCH_CHECK(amax);
  }
  unsigned u = 0;
  r.download(&u, 1);
  return u2f(u);
}
void minMax(const float* dx, size_t n, float* mn, float* mx) {
  if (n == 0) {
    *mn = 0;
    *mx = 0;
    return;
  }
  unsigned init[3] = {0xffffffffu, 0u, 0u};
  DevBuf<unsigned> r(3);
  r.upload(init, 3);
  minmax_kernel<<<gridFor(n, 256, 16), 256>>>(dx, n, r.p);
  MO_LAUNCH_CHECK(minmax);
  unsigned h[3];
  r.download(h, 3);
  if (h[2]) {
    *mn = *mx = std::numeric_limits<float>::quiet_NaN();
    return;
  }
  *mn = keyToFloat(h[0]);
  *mx = keyToFloat(h[1]);
}
}  // namespace dev

AmaxStats amaxStats(const float* x, size_t n) {
  DevBuf<float> d(n);
  d.upload(x, n);
  return dev::amaxStats(d.p, n);
}
float amax(const float* x, size_t n) {
  DevBuf<float> d(n);
  d.upload(x, n);
  return dev::amax(d.p, n);
}
void minMax(const float* x, size_t n, float* mn, float* mx) {
  DevBuf<float> d(n);
  d.upload(x, n);
  dev::minMax(d.p, n, mn, mx);
}

void amaxAxes(const float* x, const std::vector<int64_t>& shape, const std::vector<int>& keepAxesIn,
              float* out) {
  int nd = (int)shape.size();
  if (nd > 8) throw CudaError("amaxAxes: at most 8 dimensions");
  std::vector<int> keep;
  for (int a : keepAxesIn) {
    int b = a < 0 ? a + nd : a;
    if (b < 0 || b >= nd) throw CudaError("amaxAxes: axis out of range");
    keep.push_back(b);
  }
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  size_t n = 1;
  for (auto s : shape) n *= (size_t)s;
  size_t nout = 1;
  for (int a : keep) nout *= (size_t)shape[a];
  DevBuf<float> dx(n);
  dx.upload(x, n);
  DevBuf<unsigned> dout(nout);
  dout.zero();
  bool prefix = true;
  for (size_t i = 0; i < keep.size(); ++i)
    if (keep[i] != (int)i) prefix = false;
  if (n) {
    if (prefix) {
      size_t inner = n / (nout ? nout : 1);
      unsigned grid = (unsigned)std::min<size_t>(nout, (size_t)smCount() * 32);
      if (grid) amax_rows_kernel<<<grid, 256>>>(dx.p, nout, inner, dout.p);
    } else {
      AxesMap m{};
      m.ndim = nd;
      long long st = 1;
      for (int d = nd - 1; d >= 0; --d) {
        m.dims[d] = shape[d];
        bool kept = std::find(keep.begin(), keep.end(), d) != keep.end();
        m.outStride[d] = kept ? st : 0;
        if (kept) st *= shape[d];
      }
      amax_general_kernel<<<gridFor(n, 256, 4), 256>>>(dx.p, n, m, dout.p);
    }
    MO_LAUNCH_CHECK(amaxAxes);
  }
  std::vector<unsigned> h(nout);
  dout.download(h.data(), nout);
  for (size_t i = 0; i < nout; ++i) out[i] = u2f(h[i]);
}

// ============================================================================ histogram
std::vector<float> numpyLinspaceF32(float lo, float hi, int num) {
  std::vector<float> y((size_t)std::max(num, 0));
  if (num <= 0) return y;
  int div = num - 1;
  float delta = hi - lo;
  if (div > 0) {
    float step = delta / (float)div;
    for (int k = 0; k < num; ++k) {
      float v = (step == 0.0f) ? ((float)k / (float)div) * delta : (float)k * step;
      y[k] = v + lo;
    }
    y[num - 1] = hi;
  } else {
    y[0] = 0.0f * delta + lo;
  }
  return y;
}

namespace {
constexpr int kHistThreads = 512;
// Shared-memory privatised histogram. Layouts:
//  * lanes: nbins*32 counters, counter (bin, lane) at bin*32+lane: no two lanes of a warp ever
//    hit the same word or bank; all warps of the block share the 32 copies.
//  * copies: `copies` full histograms, warp w uses copy w % copies.
template <int MODE, bool ABS, bool LANES>
__global__ void __launch_bounds__(kHistThreads) hist_kernel(const float* __restrict__ x, size_t n, int nbins,
                                                            float lo, float hi, float denom, float scale,
                                                            float eps, const float* __restrict__ edges, int copies,
                                                            unsigned long long* __restrict__ counts) {
  extern __shared__ unsigned char smraw[];
  unsigned* sh = reinterpret_cast<unsigned*>(smraw);
  int ncount = LANES ? nbins * 32 : nbins * copies;
  float* sedges = reinterpret_cast<float*>(sh + ncount);
  for (int i = threadIdx.x; i < ncount; i += blockDim.x) sh[i] = 0;
  if (MODE == 0)
    for (int i = threadIdx.x; i <= nbins; i += blockDim.x) sedges[i] = edges[i];
  __syncthreads();
  const int lane = threadIdx.x & 31;
  unsigned* mine = LANES ? sh + lane : sh + ((threadIdx.x >> 5) % copies) * nbins;
  auto add = [&](float v) {
    if (ABS) v = fabsf(v);
    int b = MODE == 0 ? qm::numpyBinFast(v, lo, hi, denom, scale, eps, nbins, sedges) : qm::histcBinFast(v, lo, hi, scale, nbins);
    if (b >= 0) atomicAdd(mine + (LANES ? b * 32 : b), 1u);
  };
  size_t stride = (size_t)gridDim.x * blockDim.x;
  size_t tid = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  size_t n4 = ((reinterpret_cast<uintptr_t>(x) & 15) == 0) ? n / 4 : 0;
  const float4* x4 = reinterpret_cast<const float4*>(x);
  size_t i = tid;
  for (; i + stride < n4; i += 2 * stride) {  // two 16-byte loads in flight per thread
    float4 a = __ldg(x4 + i);
    float4 c = __ldg(x4 + i + stride);
    add(a.x); add(a.y); add(a.z); add(a.w);
    add(c.x); add(c.y); add(c.z); add(c.w);
  }
  for (; i < n4; i += stride) {
    float4 a = __ldg(x4 + i);
    add(a.x); add(a.y); add(a.z); add(a.w);
  }
  for (size_t j = n4 * 4 + tid; j < n; j += stride) add(x[j]);
  __syncthreads();
  for (int b = threadIdx.x; b < nbins; b += blockDim.x) {
    unsigned long long s = 0;
    if (LANES) {
      for (int l = 0; l < 32; ++l) s += sh[b * 32 + ((l + b) & 31)];
    } else {
      for (int c = 0; c < copies; ++c) s += sh[c * nbins + b];
    }
    if (s) atomicAdd(counts + b, s);
  }
}

template <int MODE, bool ABS>
void launchHist(const float* dx, size_t n, int nbins, float lo, float hi, float denom,
                const float* dedges, unsigned long long* dcounts) {
  int dev = 0, maxSmem = 0;
  MO_CUDA(cudaGetDevice(&dev));
  MO_CUDA(cudaDeviceGetAttribute(&maxSmem, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  size_t edgeBytes = MODE == 0 ? (size_t)(nbins + 1) * 4 : 0;
  size_t budget = std::min<size_t>((size_t)maxSmem, 96 * 1024);
  bool lanes = (size_t)nbins * 32 * 4 + edgeBytes <= 64 * 1024;
  int copies = 1;
  size_t smem;
  if (lanes) {
    smem = (size_t)nbins * 32 * 4 + edgeBytes;
  } else {
    size_t one = (size_t)nbins * 4;
    if (one + edgeBytes > (size_t)maxSmem) throw CudaError("histogram: too many bins for shared memory");
    copies = (int)std::max<size_t>(1, std::min<size_t>(kHistThreads / 32, (budget - edgeBytes) / one));
    smem = one * copies + edgeBytes;
  }
  auto kern = lanes ? hist_kernel<MODE, ABS, true> : hist_kernel<MODE, ABS, false>;
  // multiply-based first guess (exact path taken near bin boundaries, see quant_math.h)
  const float scale = MODE == 0 ? (float)nbins / denom : (float)((double)nbins / ((double)hi - (double)lo));
  // the shortcut also needs the edges to be numpy's linspace of [lo, hi] (they are, from
  // numpyLinspaceF32 / the ORT collector); a degenerate range takes the exact path
  const float eps = (MODE == 0 && denom > 0 && scale < 3.0e38f) ? qm::histogramEps(nbins) : 1.0f;
  MO_CUDA(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  int perSm = 0;
  MO_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, kern, kHistThreads, smem));
  unsigned grid = (unsigned)std::max(1, perSm) * (unsigned)smCount();
  // per-block 32-bit counters: keep each launch's share of a block under 2^31 elements
  const size_t chunk = (size_t)grid * ((size_t)1 << 30);
  for (size_t off = 0; off < n; off += chunk) {
    size_t m = std::min(chunk, n - off);
    unsigned g = (unsigned)std::min<size_t>(grid, (m + kHistThreads * 8 - 1) / (kHistThreads * 8));
    kern<<<std::max(1u, g), kHistThreads, smem>>>(dx + off, m, nbins, lo, hi, denom, scale, eps, dedges, copies, dcounts);
    MO_LAUNCH_CHECK(hist);
  }
}
}  // namespace

namespace dev {
void histogram(const float* dx, size_t n, int nbins, float lo, float hi, HistMode mode, bool absValues,
               const float* dedges, int64_t* dcounts) {
  if (nbins <= 0) throw CudaError("histogram: nbins must be positive");
  if (!(hi >= lo)) throw CudaError("histogram: range must satisfy lo <= hi");
  if (mode == HistMode::Numpy && !dedges) throw CudaError("histogram: numpy mode needs edges");
  if (n == 0) return;
  float denom = hi - lo;
  auto* c = reinterpret_cast<unsigned long long*>(dcounts);
  if (mode == HistMode::Numpy) {
    if (absValues) launchHist<0, true>(dx, n, nbins, lo, hi, denom, dedges, c);
    else launchHist<0, false>(dx, n, nbins, lo, hi, denom, dedges, c);
  } else {
    if (absValues) launchHist<1, true>(dx, n, nbins, lo, hi, denom, dedges, c);
    else launchHist<1, false>(dx, n, nbins, lo, hi, denom, dedges, c);
  }
  MO_CUDA(cudaDeviceSynchronize());
}
}  // namespace dev

void histogram(const float* x, size_t n, int nbins, float lo, float hi, HistMode mode, bool absValues,
               const float* edges, int64_t* counts) {
  if (nbins <= 0) throw CudaError("histogram: nbins must be positive");
  DevBuf<float> dx(n);
  dx.upload(x, n);
  DevBuf<float> de(mode == HistMode::Numpy ? (size_t)nbins + 1 : 0);
  if (mode == HistMode::Numpy) {
    if (!edges) throw CudaError("histogram: numpy mode needs edges");
    de.upload(edges, (size_t)nbins + 1);
  }
  DevBuf<int64_t> dc((size_t)nbins);
  dc.upload(counts, (size_t)nbins);
  dev::histogram(dx.p, n, nbins, lo, hi, mode, absValues, de.p, dc.p);
  dc.download(counts, (size_t)nbins);
}

// ============================================================================ searches
namespace {
// prefix[k] = sum(counts[:k]), k = 0..nbins (exact int64)
__global__ void prefix_kernel(const long long* counts, int nbins, long long* prefix) {
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    long long s = 0;
    prefix[0] = 0;
    for (int k = 0; k < nbins; ++k) {
      s += counts[k];
      prefix[k + 1] = s;
    }
  }
}

enum : int { kErrNone = 0, kErrEps1 = 1, kErrNonPositive = 2, kErrCountMismatch = 3 };

// ORT get_entropy_threshold, one thread per candidate (replays native/reference.ts exactly).
__global__ void ort_entropy_kernel(const long long* __restrict__ h, const long long* __restrict__ P, int nbins,
                                   int nq, int ncand, double* __restrict__ qscratch, float* __restrict__ kl,
                                   int* __restrict__ err) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= ncand) return;
  const int zb = nbins / 2, half = nq / 2;
  const int i = half + c;
  const int start = zb - i, end = min(zb + i + 1, nbins), L = end - start;
  const int m = L / nq;
  const long long left = P[start], right = P[nbins] - P[end];
  double* qv = qscratch + (size_t)c * nq;
  auto pval = [&](int k) -> long long {
    long long v = h[start + k];
    if (k == 0) v += left;
    if (k == L - 1) v += right;
    return v;
  };
  for (int b = 0; b < nq; ++b) {
    long long qb = (m > 0) ? P[start + (b + 1) * m] - P[start + b * m] : 0;
    if (b == nq - 1) qb += P[end] - P[start + nq * m];
    int norm = 0;
    for (int k = b * m; k < b * m + m; ++k) norm += pval(k) != 0;
    qv[b] = norm != 0 ? trunc((double)qb / (double)norm) : 0.0;
  }
  auto qval = [&](int k) -> double { return (m > 0 && k < nq * m) ? qv[k / m] : 0.0; };
  int zp = 0, zq = 0;
  for (int k = 0; k < L; ++k) {
    zp += pval(k) == 0;
    zq += qval(k) == 0.0;
  }
  const int nzp = L - zp, nzq = L - zq;
  if (nzp == 0 || nzq == 0) {
    kl[c] = INFINITY;
    return;
  }
  const double e1p = (0.0001 * (double)zp) / (double)nzp;
  const double e1q = (0.0001 * (double)zq) / (double)nzq;
  if (!(e1p < 1.0) || !(e1q < 1.0)) {
    atomicMax(err, kErrEps1);
    kl[c] = NAN;
    return;
  }
  const float addZero = (float)0.0001;
  const float addP = (float)(-e1p), addQ = (float)(-e1q);
  auto smP = [&](int k) -> float {
    long long v = pval(k);
    return v == 0 ? __fadd_rn(0.f, addZero) : __fadd_rn((float)(double)v, addP);
  };
  auto smQ = [&](int k) -> float {
    double v = qval(k);
    return v == 0.0 ? __fadd_rn(0.f, addZero) : __fadd_rn((float)v, addQ);
  };
  for (int k = 0; k < L; ++k)
    if (!(smP(k) > 0.f) || !(smQ(k) > 0.f)) {
      atomicMax(err, kErrNonPositive);
      kl[c] = NAN;
      return;
    }
  const float sp = pairwiseF32(smP, 0, L);
  const float sq = pairwiseF32(smQ, 0, L);
  auto term = [&](int k) -> float {
    float p = __fdiv_rn(smP(k), sp);
    float q = __fdiv_rn(smQ(k), sq);
    if (p > 0.f && q > 0.f) return __fmul_rn(p, (float)log((double)__fdiv_rn(p, q)));
    if (p == 0.f && q >= 0.f) return 0.f;
    return INFINITY;
  };
  kl[c] = pairwiseF32(term, 0, L);
}

// torch _compute_amax_entropy, one thread per candidate (replays native/reference.ts exactly).
__global__ void torch_entropy_kernel(const long long* __restrict__ b, const long long* __restrict__ suffixFromP,
                                     int nbins, int nlev, int startBin, int stride, int ncand, int lvCap,
                                     double* __restrict__ scratch, double* __restrict__ kl, int* __restrict__ err) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= ncand) return;
  const int i = startBin + c * stride;
  const long long* P = suffixFromP;  // prefix sums of b (P[k] = sum b[:k])
  const int nl = lvCap;
  double* lsum = scratch + (size_t)c * 2 * lvCap;
  double* lcnt = lsum + lvCap;
  for (int l = 0; l < nl; ++l) lsum[l] = lcnt[l] = 0.0;
  auto level = [&](int j) -> int { return (int)(((long long)j * nlev) / i); };
  for (int j = 0; j < i; ++j) {
    long long v = b[j];
    if (v != 0) {
      int l = level(j);
      lsum[l] += (double)v;
      lcnt[l] += 1.0;
    }
  }
  const double tail = (double)(P[nbins] - P[i]);
  auto qv = [&](int j) -> double {
    long long v = b[j];
    if (v == 0) return 0.0;
    int l = level(j);
    return __ddiv_rn(lsum[l], lcnt[l]);
  };
  auto pv = [&](int j) -> double {
    double v = (double)b[j];
    return j == i - 1 ? __dadd_rn(v, tail) : v;
  };
  double totalNew = 0, totalOld = 0;
  for (int j = 0; j < i; ++j) totalNew = __dadd_rn(totalNew, qv(j));
  totalNew = __dadd_rn(totalNew, tail);
  for (int j = 0; j < i; ++j) totalOld = __dadd_rn(totalOld, pv(j));
  const double totalData = (double)P[nbins];
  auto jsRound = [](double x) {
    double r = floor(x);
    return (x - r >= 0.5) ? r + 1.0 : r;
  };
  if (jsRound(totalNew) != totalData || jsRound(totalOld) != totalData) {
    atomicMax(err, kErrCountMismatch);
    kl[c] = NAN;
    return;
  }
  const double sp = pairwiseF64(pv, 0, i);
  const double sq = pairwiseF64(qv, 0, i);
  auto term = [&](int j) -> double {
    double pi = __ddiv_rn(pv(j), sp), qi = __ddiv_rn(qv(j), sq);
    if (pi > 0 && qi > 0) return __dmul_rn(pi, log(__ddiv_rn(pi, qi)));
    if (pi == 0 && qi >= 0) return 0.0;
    return INFINITY;
  };
  kl[c] = pairwiseF64(term, 0, i);
}

// ---- warp-cooperative variants: one warp per candidate. The pairwise sums keep numpy's tree:
// lane 0 enumerates the leaves (<= 128 elements each) in order, the lanes sum the leaves in
// parallel (each leaf with numpy's 8 accumulators), lane 0 combines them in the tree's order.
constexpr int kWarpMaxLeaves = 64;
constexpr int kWarpsPerBlock = 4;

template <typename T, typename Leaf>
__device__ T pairwiseWalk(int off, int n, const Leaf& leaf) {
  if (n <= 128) return leaf(off, n);
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
      ret = leaf(f.off, f.n);
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

struct WarpLeaves {
  int off[kWarpMaxLeaves];
  int n[kWarpMaxLeaves];
  double sum[kWarpMaxLeaves];
};

template <typename T, typename G>
__device__ T warpPairwise(const G& g, int n, WarpLeaves& wl) {
  const int lane = threadIdx.x & 31;
  int nl = 0;
  if (lane == 0) {
    pairwiseWalk<T>(0, n, [&](int o, int m) -> T {
      if (nl < kWarpMaxLeaves) {
        wl.off[nl] = o;
        wl.n[nl] = m;
      }
      ++nl;
      return (T)0;
    });
  }
  nl = __shfl_sync(0xffffffffu, nl, 0);
  __syncwarp();
  T ret = 0;
  if (nl > kWarpMaxLeaves) {  // very long runs: lane 0 alone
    if (lane == 0) ret = pairwiseSum<T>(g, 0, n);
  } else {
    for (int l = lane; l < nl; l += 32) wl.sum[l] = (double)pairwiseLeaf<T>(g, wl.off[l], wl.n[l]);
    __syncwarp();
    if (lane == 0) {
      int idx = 0;
      ret = pairwiseWalk<T>(0, n, [&](int, int) -> T { return (T)wl.sum[idx++]; });
    }
  }
  __syncwarp();
  return __shfl_sync(0xffffffffu, ret, 0);
}

__device__ __forceinline__ int warpSumI(int v) { return __reduce_add_sync(0xffffffffu, v); }
__device__ __forceinline__ double warpSumD(double v) {
  for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// ORT get_entropy_threshold, one warp per candidate (same arithmetic as ort_entropy_kernel).
// Shared per warp: qv[nq] (doubles) + leaves. nq <= kWarpMaxNq.
constexpr int kWarpMaxNq = 256;
__global__ void __launch_bounds__(32 * kWarpsPerBlock) ort_entropy_warp_kernel(
    const long long* __restrict__ h, const long long* __restrict__ P, int nbins, int nq, int ncand,
    float* __restrict__ kl, int* __restrict__ err) {
  __shared__ double qvS[kWarpsPerBlock][kWarpMaxNq];
  __shared__ WarpLeaves leaves[kWarpsPerBlock];
  const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int c = blockIdx.x * kWarpsPerBlock + w;
  if (c >= ncand) return;  // whole warp exits together
  double* qv = qvS[w];
  const int zb = nbins / 2, half = nq / 2;
  const int i = half + c;
  const int start = zb - i, end = min(zb + i + 1, nbins), L = end - start;
  const int m = L / nq;
  const long long left = P[start], right = P[nbins] - P[end];
  auto pval = [&](int k) -> long long {
    long long v = h[start + k];
    if (k == 0) v += left;
    if (k == L - 1) v += right;
    return v;
  };
  for (int b = lane; b < nq; b += 32) {
    long long qb = (m > 0) ? P[start + (b + 1) * m] - P[start + b * m] : 0;
    if (b == nq - 1) qb += P[end] - P[start + nq * m];
    int norm = 0;
    for (int k = b * m; k < b * m + m; ++k) norm += pval(k) != 0;
    qv[b] = norm != 0 ? trunc((double)qb / (double)norm) : 0.0;
  }
  __syncwarp();
  auto qval = [&](int k) -> double { return (m > 0 && k < nq * m) ? qv[k / m] : 0.0; };
  int zp = 0, zq = 0;
  for (int k = lane; k < L; k += 32) {
    zp += pval(k) == 0;
    zq += qval(k) == 0.0;
  }
  zp = warpSumI(zp);
  zq = warpSumI(zq);
  const int nzp = L - zp, nzq = L - zq;
  if (nzp == 0 || nzq == 0) {
    if (lane == 0) kl[c] = INFINITY;
    return;
  }
  const double e1p = (0.0001 * (double)zp) / (double)nzp;
  const double e1q = (0.0001 * (double)zq) / (double)nzq;
  if (!(e1p < 1.0) || !(e1q < 1.0)) {
    if (lane == 0) {
      atomicMax(err, kErrEps1);
      kl[c] = NAN;
    }
    return;
  }
  const float addZero = (float)0.0001;
  const float addP = (float)(-e1p), addQ = (float)(-e1q);
  auto smP = [&](int k) -> float {
    long long v = pval(k);
    return v == 0 ? __fadd_rn(0.f, addZero) : __fadd_rn((float)(double)v, addP);
  };
  auto smQ = [&](int k) -> float {
    double v = qval(k);
    return v == 0.0 ? __fadd_rn(0.f, addZero) : __fadd_rn((float)v, addQ);
  };
  int bad = 0;
  for (int k = lane; k < L; k += 32) bad |= !(smP(k) > 0.f) || !(smQ(k) > 0.f);
  if (__any_sync(0xffffffffu, bad)) {
    if (lane == 0) {
      atomicMax(err, kErrNonPositive);
      kl[c] = NAN;
    }
    return;
  }
  WarpLeaves& wl = leaves[w];
  const float sp = warpPairwise<float>(smP, L, wl);
  const float sq = warpPairwise<float>(smQ, L, wl);
  auto term = [&](int k) -> float {
    float p = __fdiv_rn(smP(k), sp);
    float q = __fdiv_rn(smQ(k), sq);
    if (p > 0.f && q > 0.f) return __fmul_rn(p, (float)log((double)__fdiv_rn(p, q)));
    if (p == 0.f && q >= 0.f) return 0.f;
    return INFINITY;
  };
  const float r = warpPairwise<float>(term, L, wl);
  if (lane == 0) kl[c] = r;
}

// torch _compute_amax_entropy, one warp per candidate. Level sums are integer-valued doubles
// (exact in any order). The original's count check uses a warp tree sum here (it can differ from
// the sequential sum only when total_counts_new lies within ~1e-12 of a half-integer).
constexpr int kWarpMaxLev = 256;
__global__ void __launch_bounds__(32 * kWarpsPerBlock) torch_entropy_warp_kernel(
    const long long* __restrict__ b, const long long* __restrict__ P, int nbins, int nlev, int startBin, int stride,
    int ncand, double* __restrict__ kl, int* __restrict__ err) {
  __shared__ double lsumS[kWarpsPerBlock][kWarpMaxLev];
  __shared__ int lcntS[kWarpsPerBlock][kWarpMaxLev];
  __shared__ WarpLeaves leaves[kWarpsPerBlock];
  const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int c = blockIdx.x * kWarpsPerBlock + w;
  if (c >= ncand) return;
  const int i = startBin + c * stride;
  double* lsum = lsumS[w];
  int* lcnt = lcntS[w];
  for (int l = lane; l < nlev; l += 32) {
    lsum[l] = 0.0;
    lcnt[l] = 0;
  }
  __syncwarp();
  auto level = [&](int j) -> int { return (int)(((long long)j * nlev) / i); };
  for (int j = lane; j < i; j += 32) {
    long long v = b[j];
    if (v != 0) {
      int l = level(j);
      atomicAdd(lsum + l, (double)v);
      atomicAdd(lcnt + l, 1);
    }
  }
  __syncwarp();
  const double tail = (double)(P[nbins] - P[i]);
  auto qv = [&](int j) -> double {
    long long v = b[j];
    if (v == 0) return 0.0;
    int l = level(j);
    return __ddiv_rn(lsum[l], (double)lcnt[l]);
  };
  auto pv = [&](int j) -> double {
    double v = (double)b[j];
    return j == i - 1 ? __dadd_rn(v, tail) : v;
  };
  double tn = 0, to = 0;
  for (int j = lane; j < i; j += 32) {
    tn += qv(j);
    to += pv(j);
  }
  tn = warpSumD(tn) + tail;
  to = warpSumD(to);
  const double totalData = (double)P[nbins];
  auto jsRound = [](double x) {
    double r = floor(x);
    return (x - r >= 0.5) ? r + 1.0 : r;
  };
  if (jsRound(tn) != totalData || jsRound(to) != totalData) {
    if (lane == 0) {
      atomicMax(err, kErrCountMismatch);
      kl[c] = NAN;
    }
    return;
  }
  WarpLeaves& wl = leaves[w];
  const double sp = warpPairwise<double>(pv, i, wl);
  const double sq = warpPairwise<double>(qv, i, wl);
  auto term = [&](int j) -> double {
    double pi = __ddiv_rn(pv(j), sp), qi = __ddiv_rn(qv(j), sq);
    if (pi > 0 && qi > 0) return __dmul_rn(pi, log(__ddiv_rn(pi, qi)));
    if (pi == 0 && qi >= 0) return 0.0;
    return INFINITY;
  };
  const double r = warpPairwise<double>(term, i, wl);
  if (lane == 0) kl[c] = r;
}

__global__ void mse_kernel(const long long* __restrict__ counts, const float* __restrict__ edges, int nbins,
                           int numBits, bool isUnsigned, int startBin, int stride, int ncand,
                           double* __restrict__ loss) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= ncand) return;
  const int i = startBin + c * stride;
  auto centre = [&](int k) { return __fdiv_rn(__fadd_rn(edges[k + 1], edges[k]), 2.0f); };
  const float amax = centre(i);
  const float maxB = numBits > 0 ? qm::intMaxBound(numBits, isUnsigned) : 0.f;
  const float minB = numBits > 0 ? qm::intMinBound(numBits, isUnsigned, true) : 0.f;
  const float s8 = numBits > 0 ? 0.f : __fdiv_rn(448.0f, amax);
  double acc = 0;
  for (int k = 0; k < nbins; ++k) {
    float x = centre(k);
    float q;
    if (numBits > 0) {
      q = qm::fakeQuantInt(x, amax, minB, maxB);
    } else {
      q = fabsf(x) < qm::kMinAmax ? 0.f : __fdiv_rn(qm::fakeE4m3Soft(__fmul_rn(x, s8)), s8);
    }
    double d = __dsub_rn((double)q, (double)x);
    acc = __dadd_rn(acc, __dmul_rn(__dmul_rn(d, d), (double)counts[k]));
  }
  loss[c] = __ddiv_rn(acc, (double)nbins);
}

void throwSearchError(int e, const char* what) {
  if (e == kErrEps1) throw CudaError(std::string(what) + ": smooth_distribution eps1 >= 1");
  if (e == kErrNonPositive) throw CudaError(std::string(what) + ": smooth_distribution produced a non-positive entry");
  if (e == kErrCountMismatch) throw CudaError(std::string(what) + ": Count mismatch (as the original raises)");
}
}  // namespace

void ensureStack() {
  static bool done = false;
  if (!done) {
    MO_CUDA(cudaDeviceSetLimit(cudaLimitStackSize, 4096));
    done = true;
  }
}

namespace dev {
int ortEntropySearch(const int64_t* dcounts, int nbins, int nq, double* klOut) {
  ensureStack();
  if (nq <= 0 || nbins <= 0) throw CudaError("ortEntropySearch: bad bin counts");
  const int zb = nbins / 2, half = nq / 2;
  const int ncand = zb - half + 1;
  if (ncand <= 0) throw CudaError("ortEntropySearch: fewer bins than quantized bins");
  DevBuf<long long> P((size_t)nbins + 1);
  prefix_kernel<<<1, 1>>>((const long long*)dcounts, nbins, P.p);
  MO_LAUNCH_CHECK(prefix);
  DevBuf<float> kl((size_t)ncand);
  DevBuf<double> qs(nq <= kWarpMaxNq ? 0 : (size_t)ncand * nq);
  DevBuf<int> err(1);
  err.zero();
  if (nq <= kWarpMaxNq) {
    ort_entropy_warp_kernel<<<(ncand + kWarpsPerBlock - 1) / kWarpsPerBlock, 32 * kWarpsPerBlock>>>(
        (const long long*)dcounts, P.p, nbins, nq, ncand, kl.p, err.p);
  } else {
    ort_entropy_kernel<<<(ncand + 31) / 32, 32>>>((const long long*)dcounts, P.p, nbins, nq, ncand, qs.p, kl.p, err.p);
  }
  MO_LAUNCH_CHECK(ort_entropy);
  int he = 0;
  err.download(&he, 1);
  throwSearchError(he, "ortEntropySearch");
  std::vector<float> h((size_t)ncand);
  kl.download(h.data(), h.size());
  int best = -1, firstNan = -1;
  for (int c = 0; c < ncand; ++c) {
    if (h[c] != h[c]) {
      if (firstNan < 0) firstNan = c;
    } else if (best < 0 ? h[c] < INFINITY : h[c] < h[best]) {
      best = c;
    }
  }
  if (klOut)
    for (int c = 0; c < ncand; ++c) klOut[c] = h[c];
  return firstNan >= 0 ? firstNan : (best < 0 ? 0 : best);
}

int torchEntropySearch(const int64_t* dcounts, int nbins, int numBits, bool isUnsigned, int startBin, int stride,
                       double* klOut) {
  ensureStack();
  if (numBits < 1 || numBits > 16) throw CudaError("torchEntropySearch: numBits out of range");
  if (stride < 1) throw CudaError("torchEntropySearch: stride must be >= 1");
  const int nlev = 1 << (numBits - 1 + (isUnsigned ? 1 : 0));
  if (nbins < 1) throw CudaError("torchEntropySearch: empty histogram");
  const int ncand = startBin <= nbins ? (nbins - startBin) / stride + 1 : 0;
  if (startBin < 1 || ncand <= 0) return -1;  // no candidate: the caller applies the fallback
  DevBuf<long long> b((size_t)nbins);
  MO_CUDA(cudaMemcpy(b.p, dcounts, (size_t)nbins * 8, cudaMemcpyDeviceToDevice));
  if (nbins > 1) MO_CUDA(cudaMemcpy(b.p, b.p + 1, 8, cudaMemcpyDeviceToDevice));  // bins[0] := bins[1]
  DevBuf<long long> P((size_t)nbins + 1);
  prefix_kernel<<<1, 1>>>(b.p, nbins, P.p);
  MO_LAUNCH_CHECK(prefix);
  const int lvCap = nlev;
  const bool warpPath = nlev <= kWarpMaxLev;
  if (!warpPath && (double)ncand * 2 * lvCap * 8 > 1024.0 * 1024 * 1024)
    throw CudaError("torchEntropySearch: too many levels x candidates for the scratch buffer");
  DevBuf<double> scratch(warpPath ? 0 : (size_t)ncand * 2 * lvCap);
  DevBuf<double> kl((size_t)ncand);
  DevBuf<int> err(1);
  err.zero();
  if (warpPath)
    torch_entropy_warp_kernel<<<(ncand + kWarpsPerBlock - 1) / kWarpsPerBlock, 32 * kWarpsPerBlock>>>(
        b.p, P.p, nbins, nlev, startBin, stride, ncand, kl.p, err.p);
  else
    torch_entropy_kernel<<<(ncand + 31) / 32, 32>>>(b.p, P.p, nbins, nlev, startBin, stride, ncand, lvCap, scratch.p,
                                                     kl.p, err.p);
  MO_LAUNCH_CHECK(torch_entropy);
  int he = 0;
  err.download(&he, 1);
  throwSearchError(he, "torchEntropySearch");
  std::vector<double> h((size_t)ncand);
  kl.download(h.data(), h.size());
  double best = INFINITY;
  int bestI = -1;
  for (int c = 0; c < ncand; ++c)
    if (h[c] <= best) {
      best = h[c];
      bestI = startBin + c * stride;
    }
  if (klOut) std::copy(h.begin(), h.end(), klOut);
  if (bestI < 0) bestI = startBin + ((nbins - startBin) / stride) * stride;
  return bestI;
}
}  // namespace dev

int ortEntropySearch(const int64_t* counts, int nbins, int nq, double* klOut) {
  DevBuf<int64_t> d((size_t)nbins);
  d.upload(counts, (size_t)nbins);
  return dev::ortEntropySearch(d.p, nbins, nq, klOut);
}
int torchEntropySearch(const int64_t* counts, int nbins, int numBits, bool isUnsigned, int startBin, int stride,
                       double* klOut) {
  DevBuf<int64_t> d((size_t)nbins);
  d.upload(counts, (size_t)nbins);
  return dev::torchEntropySearch(d.p, nbins, numBits, isUnsigned, startBin, stride, klOut);
}

int mseSearch(const int64_t* counts, const float* edges, int nbins, int numBits, bool isUnsigned, int startBin,
              int stride, double* lossOut) {
  if (numBits != -43 && (numBits < 2 || numBits > 16)) throw CudaError("mseSearch: numBits must be 2..16 or -43 (E4M3)");
  if (stride < 1) throw CudaError("mseSearch: stride must be >= 1");
  const int ncand = (startBin >= 0 && startBin < nbins) ? (nbins - 1 - startBin) / stride + 1 : 0;
  if (ncand <= 0) return -1;
  DevBuf<int64_t> dc((size_t)nbins);
  dc.upload(counts, (size_t)nbins);
  DevBuf<float> de((size_t)nbins + 1);
  de.upload(edges, (size_t)nbins + 1);
  DevBuf<double> dl((size_t)ncand);
  mse_kernel<<<(ncand + 31) / 32, 32>>>((const long long*)dc.p, de.p, nbins, numBits, isUnsigned, startBin, stride,
                                        ncand, dl.p);
  MO_LAUNCH_CHECK(mse);
  std::vector<double> h((size_t)ncand);
  dl.download(h.data(), h.size());
  double best = INFINITY;
  int bestI = -1;
  for (int c = 0; c < ncand; ++c)
    if (h[c] < best) {
      best = h[c];
      bestI = startBin + c * stride;
    }
  if (lossOut) std::copy(h.begin(), h.end(), lossOut);
  return bestI;
}

int percentileIndex(const int64_t* counts, int nbins, double percentile) {
  if (!(percentile >= 0 && percentile <= 100)) throw CudaError("percentile must be in [0, 100]");
  double total = 0;
  for (int k = 0; k < nbins; ++k) total += (double)counts[k];
  const double target = percentile / 100.0;
  double c = 0;
  for (int k = 0; k < nbins; ++k) {
    c += (double)counts[k] / total;
    if (c >= target) return k;
  }
  return nbins;  // searchsorted past the end
}

}  // namespace cuda
}  // namespace modelopt

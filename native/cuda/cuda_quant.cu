// Elementwise quantizers, INT4 block RTN, nibble packing and the AWQ clip search.
#include <cuda_fp8.h>

#include <algorithm>
#include <cmath>

#include "cuda_common.cuh"
#include "quant_math.h"
#include "cuda_pairwise.cuh"

namespace modelopt {
namespace cuda {

namespace {
constexpr int kThreads = 128;  // SPEC 7: blocks of 128 threads, 4 elements per thread

__device__ __forceinline__ float channelAmax(const float* amax, QuantAxis ax, size_t i) {
  return ax.size > 0 ? amax[(i / (size_t)ax.stride) % (size_t)ax.size] : amax[0];
}

__global__ void fq_int_kernel(const float* __restrict__ x, size_t n, const float* __restrict__ amax, QuantAxis ax,
                              float minB, float maxB, float* __restrict__ out) {
  size_t base = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * 4;
  size_t stride = (size_t)gridDim.x * blockDim.x * 4;
  for (; base < n; base += stride)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      size_t i = base + j;
      if (i < n) out[i] = qm::fakeQuantInt(x[i], channelAmax(amax, ax, i), minB, maxB);
    }
}
__global__ void q_int_kernel(const float* __restrict__ x, size_t n, const float* __restrict__ amax, QuantAxis ax,
                             float minB, float maxB, int8_t* __restrict__ out) {
  size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = (int8_t)(int)qm::quantIntCode(x[i], channelAmax(amax, ax, i), minB, maxB);
}
// The software encoder of quant_math.h (bit-identical to the CPU contract). The hardware
// conversion (__nv_cvt_float_to_fp8, satfinite) is compared against it in gpu_bench.
__device__ __forceinline__ uint8_t e4m3hw(float v) { return qm::e4m3FromFloat(v); }
__global__ void e4m3_hw_kernel(const float* __restrict__ x, size_t n, uint8_t* __restrict__ out) {
  size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = (uint8_t)__nv_cvt_float_to_fp8(x[i], __NV_SATFINITE, __NV_E4M3);
}
__global__ void fq_e4m3_kernel(const float* __restrict__ x, size_t n, const float* __restrict__ amax,
                               float* __restrict__ out) {
  size_t stride = (size_t)gridDim.x * blockDim.x;
  float s = amax ? 448.0f / amax[0] : 1.0f;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    float v = x[i];
    float o = amax ? __fdiv_rn(qm::e4m3ToFloat(e4m3hw(__fmul_rn(v, s))), s) : qm::e4m3ToFloat(e4m3hw(v));
    out[i] = fabsf(v) < qm::kMinAmax ? 0.0f : o;
  }
}
__global__ void q_e4m3_kernel(const float* __restrict__ x, size_t n, const float* __restrict__ amax,
                              uint8_t* __restrict__ out) {
  size_t stride = (size_t)gridDim.x * blockDim.x;
  float s = amax ? 448.0f / amax[0] : 1.0f;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = e4m3hw(amax ? __fmul_rn(x[i], s) : x[i]);
}

// One thread per (block row, column): amax over the block's rows, then scale and codes.
__global__ void int4_quant_kernel(const float* __restrict__ w, long long rows, long long cols, int B,
                                  const float* __restrict__ alpha, int8_t* __restrict__ codes,
                                  float* __restrict__ scales) {
  long long nb = (rows + B - 1) / B;
  long long total = nb * cols;
  long long stride = (long long)gridDim.x * blockDim.x;
  for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += stride) {
    long long b = t / cols, c = t % cols;
    long long r0 = b * B, r1 = min(rows, r0 + B);
    float m = 0.f;
    for (long long r = r0; r < r1; ++r) m = fmaxf(m, fabsf(w[r * cols + c]));
    float s = qm::int4Scale(m, alpha ? alpha[t] : 1.0f);
    scales[t] = s;
    for (long long r = r0; r < r1; ++r) codes[r * cols + c] = (int8_t)(int)qm::int4Code(w[r * cols + c], s);
  }
}
__global__ void int4_q_scales_kernel(const float* __restrict__ w, long long rows, long long cols, int B,
                                     const float* __restrict__ scales, int8_t* __restrict__ codes) {
  long long n = rows * cols;
  long long stride = (long long)gridDim.x * blockDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    long long r = i / cols, c = i % cols;
    codes[i] = (int8_t)(int)qm::int4Code(w[i], scales[(r / B) * cols + c]);
  }
}
__global__ void int4_dq_kernel(const int8_t* __restrict__ codes, const float* __restrict__ scales, long long rows,
                               long long cols, int B, float* __restrict__ out) {
  long long n = rows * cols;
  long long stride = (long long)gridDim.x * blockDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    long long r = i / cols, c = i % cols;
    out[i] = __fmul_rn((float)codes[i], scales[(r / B) * cols + c]);
  }
}
__device__ __forceinline__ int packVal(float v, bool isUnsigned) { return qm::int4NibbleValue(v, isUnsigned); }
__global__ void pack_f_kernel(const float* __restrict__ x, size_t n, bool isUnsigned, uint8_t* __restrict__ out) {
  size_t m = (n + 1) / 2;
  size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < m; k += stride) {
    int a = packVal(x[2 * k], isUnsigned);
    int b = 2 * k + 1 < n ? packVal(x[2 * k + 1], isUnsigned) : 0;
    out[k] = (uint8_t)((a & 0xF) | ((b & 0xF) << 4));
  }
}
__global__ void pack_c_kernel(const int8_t* __restrict__ x, size_t n, uint8_t* __restrict__ out) {
  size_t m = (n + 1) / 2;
  size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < m; k += stride) {
    int a = x[2 * k];
    int b = 2 * k + 1 < n ? x[2 * k + 1] : 0;
    out[k] = (uint8_t)((a & 0xF) | ((b & 0xF) << 4));
  }
}

void checkAmax(const float* amax, size_t count) {
  for (size_t i = 0; i < count; ++i)
    if (amax[i] < 0) throw CudaError("negative amax");
}
size_t amaxCount(QuantAxis ax) { return ax.size > 0 ? (size_t)ax.size : 1; }
}  // namespace

void fakeQuantInt(const float* x, size_t n, const float* amax, QuantAxis ax, int bits, bool isUnsigned, bool narrow,
                  float* out) {
  if (bits < 2 || bits > 16) throw CudaError("fakeQuantInt: bits must be 2..16");
  size_t na = amaxCount(ax);
  checkAmax(amax, na);
  DevBuf<float> dx(n), da(na), dout(n);
  dx.upload(x, n);
  da.upload(amax, na);
  if (n) {
    fq_int_kernel<<<gridFor(n, kThreads, 4), kThreads>>>(dx.p, n, da.p, ax, qm::intMinBound(bits, isUnsigned, narrow),
                                                          qm::intMaxBound(bits, isUnsigned), dout.p);
    MO_LAUNCH_CHECK(fq_int);
  }
  dout.download(out, n);
}

void quantizeInt(const float* x, size_t n, const float* amax, QuantAxis ax, int bits, bool isUnsigned, bool narrow,
                 int8_t* codes, float* scaleOut) {
  if (bits < 2 || bits > 8) throw CudaError("quantizeInt: int8 codes need bits 2..8");
  size_t na = amaxCount(ax);
  checkAmax(amax, na);
  float maxB = qm::intMaxBound(bits, isUnsigned);
  for (size_t c = 0; c < na; ++c) scaleOut[c] = amax[c] < qm::kMinAmax ? 1.0f : amax[c] / maxB;
  DevBuf<float> dx(n), da(na);
  DevBuf<int8_t> dq(n);
  dx.upload(x, n);
  da.upload(amax, na);
  if (n) {
    q_int_kernel<<<gridFor(n, 256, 4), 256>>>(dx.p, n, da.p, ax, qm::intMinBound(bits, isUnsigned, narrow), maxB, dq.p);
    MO_LAUNCH_CHECK(q_int);
  }
  dq.download(codes, n);
}

void fakeQuantE4m3(const float* x, size_t n, const float* amax, float* out) {
  if (amax) checkAmax(amax, 1);
  DevBuf<float> dx(n), dout(n), da(amax ? 1 : 0);
  dx.upload(x, n);
  if (amax) da.upload(amax, 1);
  if (n) {
    fq_e4m3_kernel<<<gridFor(n, 256, 4), 256>>>(dx.p, n, amax ? da.p : nullptr, dout.p);
    MO_LAUNCH_CHECK(fq_e4m3);
  }
  dout.download(out, n);
}
void quantizeE4m3(const float* x, size_t n, const float* amax, uint8_t* out) {
  if (amax) checkAmax(amax, 1);
  DevBuf<float> dx(n), da(amax ? 1 : 0);
  DevBuf<uint8_t> dout(n);
  dx.upload(x, n);
  if (amax) da.upload(amax, 1);
  if (n) {
    q_e4m3_kernel<<<gridFor(n, 256, 4), 256>>>(dx.p, n, amax ? da.p : nullptr, dout.p);
    MO_LAUNCH_CHECK(q_e4m3);
  }
  dout.download(out, n);
}

void e4m3EncodeHardware(const float* x, size_t n, uint8_t* out) {
  DevBuf<float> dx(n);
  DevBuf<uint8_t> dout(n);
  dx.upload(x, n);
  if (n) {
    e4m3_hw_kernel<<<gridFor(n, 256, 4), 256>>>(dx.p, n, dout.p);
    MO_LAUNCH_CHECK(e4m3_hw);
  }
  dout.download(out, n);
}

void int4BlockQuantize(const float* w, int64_t rows, int64_t cols, int B, const float* alpha, int8_t* codes,
                       float* scales) {
  if (B <= 0 || rows < 0 || cols < 0) throw CudaError("int4BlockQuantize: bad shape");
  size_t n = (size_t)rows * cols, ns = (size_t)((rows + B - 1) / B) * cols;
  DevBuf<float> dw(n), ds(ns), da(alpha ? ns : 0);
  DevBuf<int8_t> dq(n);
  dw.upload(w, n);
  if (alpha) da.upload(alpha, ns);
  if (ns) {
    int4_quant_kernel<<<gridFor(ns, 256), 256>>>(dw.p, rows, cols, B, alpha ? da.p : nullptr, dq.p, ds.p);
    MO_LAUNCH_CHECK(int4_quant);
  }
  dq.download(codes, n);
  ds.download(scales, ns);
}
void int4QuantizeWithScales(const float* w, int64_t rows, int64_t cols, int B, const float* scales, int8_t* codes) {
  if (B <= 0 || rows < 0 || cols < 0) throw CudaError("int4QuantizeWithScales: bad shape");
  size_t n = (size_t)rows * cols, ns = (size_t)((rows + B - 1) / B) * cols;
  DevBuf<float> dw(n), ds(ns);
  DevBuf<int8_t> dq(n);
  dw.upload(w, n);
  ds.upload(scales, ns);
  if (n) {
    int4_q_scales_kernel<<<gridFor(n, 256, 4), 256>>>(dw.p, rows, cols, B, ds.p, dq.p);
    MO_LAUNCH_CHECK(int4_q_scales);
  }
  dq.download(codes, n);
}
void int4BlockDequantize(const int8_t* codes, const float* scales, int64_t rows, int64_t cols, int B, float* out) {
  if (B <= 0 || rows < 0 || cols < 0) throw CudaError("int4BlockDequantize: bad shape");
  size_t n = (size_t)rows * cols, ns = (size_t)((rows + B - 1) / B) * cols;
  DevBuf<int8_t> dq(n);
  DevBuf<float> ds(ns), dout(n);
  dq.upload(codes, n);
  ds.upload(scales, ns);
  if (n) {
    int4_dq_kernel<<<gridFor(n, 256, 4), 256>>>(dq.p, ds.p, rows, cols, B, dout.p);
    MO_LAUNCH_CHECK(int4_dq);
  }
  dout.download(out, n);
}
void packInt4(const float* x, size_t n, bool isUnsigned, uint8_t* out) {
  size_t m = (n + 1) / 2;
  DevBuf<float> dx(n);
  DevBuf<uint8_t> dout(m);
  dx.upload(x, n);
  if (m) {
    pack_f_kernel<<<gridFor(m, 256), 256>>>(dx.p, n, isUnsigned, dout.p);
    MO_LAUNCH_CHECK(pack_f);
  }
  dout.download(out, m);
}
void packInt4Codes(const int8_t* codes, size_t n, uint8_t* out) {
  size_t m = (n + 1) / 2;
  DevBuf<int8_t> dx(n);
  DevBuf<uint8_t> dout(m);
  dx.upload(codes, n);
  if (m) {
    pack_c_kernel<<<gridFor(m, 256), 256>>>(dx.p, n, dout.p);
    MO_LAUNCH_CHECK(pack_c);
  }
  dout.download(out, m);
}

// ============================================================================ AWQ clip search
const float* awqAlphas() {
  static const float a[kAwqNumAlphas] = {0.5f, 0.55f, 0.6f, 0.65f, 0.7f, 0.75f, 0.8f, 0.85f, 0.9f, 0.95f, 1.0f};
  return a;
}
std::vector<int64_t> awqSelectTokens(int64_t tokens, int64_t maxTokens) {
  std::vector<int64_t> r;
  int64_t step = std::max<int64_t>(1, tokens / std::max<int64_t>(1, maxTokens));
  for (int64_t t = 0; t < tokens; t += step) r.push_back(t);
  return r;
}

namespace {
__constant__ float cAlphas[kAwqNumAlphas];

// One thread per (block, output channel) for channels [c0, c0 + ncols): a literal replay of the
// contract (any block size). pairwise: numpy's pairwise sums over k (and over tokens when there
// is one block) — the order numpy uses for an output-channel batch of width 1.
__global__ void awq_simple_kernel(const float* __restrict__ x, int T, const float* __restrict__ w, int cin, int cout,
                                  int bs, int nb, int c0, int ncols, bool pairwise, float* __restrict__ bestAlpha,
                                  float* __restrict__ bestLoss) {
  long long id = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (id >= (long long)nb * ncols) return;
  const int b = (int)(id / ncols), c = c0 + (int)(id % ncols);
  auto wv = [&](int k) -> float {
    int r = b * bs + k;
    return r < cin ? w[(size_t)r * cout + c] : 0.f;
  };
  auto xv = [&](int t, int k) -> float {
    int r = b * bs + k;
    return r < cin ? x[(size_t)t * cin + r] : 0.f;
  };
  float am = 0.f;
  for (int k = 0; k < bs; ++k) am = fmaxf(am, fabsf(wv(k)));  // NaN ignored
  float best = INFINITY, bestA = 1.0f;
  for (int a = 0; a < kAwqNumAlphas; ++a) {
    const float s = qm::int4Scale(am, cAlphas[a]);
    auto d2 = [&](int t) -> float {
      float org, cur;
      if (pairwise) {
        org = pairwiseF32([&](int k) { return __fmul_rn(xv(t, k), wv(k)); }, 0, bs);
        cur = pairwiseF32([&](int k) { return __fmul_rn(xv(t, k), __fmul_rn(qm::int4Code(wv(k), s), s)); }, 0, bs);
      } else {
        org = 0.f;
        cur = 0.f;
        for (int k = 0; k < bs; ++k) {
          float xk = xv(t, k), wk = wv(k);
          org = __fadd_rn(org, __fmul_rn(xk, wk));
          cur = __fadd_rn(cur, __fmul_rn(xk, __fmul_rn(qm::int4Code(wk, s), s)));
        }
      }
      float d = __fsub_rn(org, cur);
      return __fmul_rn(d, d);
    };
    float sum = 0.f;
    if (pairwise && nb == 1) {
      sum = pairwiseF32(d2, 0, T);
    } else {
      for (int t = 0; t < T; ++t) sum = __fadd_rn(sum, d2(t));
    }
    const float loss = __fdiv_rn(sum, (float)T);
    if (loss < best) {
      best = loss;
      bestA = cAlphas[a];
    }
  }
  size_t o = (size_t)b * cout + c;
  bestAlpha[o] = bestA;
  if (bestLoss) bestLoss[o] = best;
}

constexpr int AWQ_CO = 64;   // output channels per CTA
constexpr int AWQ_K = 128;   // block size handled by the tiled kernel
constexpr int AWQ_THREADS = 256;
constexpr int AWQ_T = 64;    // tokens per chunk: 8 token groups of 8
constexpr int XS = AWQ_K + 4;  // padded X row (floats), keeps 16-byte alignment

// Tiled kernel: CTA = 64 output channels x one 128-row block of cin, 256 threads; thread =
// (channels tx, tx+32 with tx = tid & 31; tokens 8*(tid>>5) .. +7 of the current 64-token
// chunk). Shared: X chunk [64][132], B [128][64] (the original weight, then each alpha's
// dequantized weight), D2 [64][64]. Every dot is a sequential float32 sum over k of rounded
// products (numpy's order for the original's memory layout); org stays in registers across the
// 11 alphas; the token sum is sequential (one thread per channel walks D2).
__global__ void __launch_bounds__(AWQ_THREADS, 2) awq_tiled_kernel(const float* __restrict__ x, int T,
                                                                   const float* __restrict__ w, int cin, int cout,
                                                                   float* __restrict__ bestAlpha,
                                                                   float* __restrict__ bestLoss) {
  extern __shared__ float4 smem4[];
  float* Xs = reinterpret_cast<float*>(smem4);  // AWQ_T * XS
  float* Bs = Xs + AWQ_T * XS;                  // AWQ_K * AWQ_CO
  float* D2 = Bs + AWQ_K * AWQ_CO;              // AWQ_T * AWQ_CO
  __shared__ float amaxPart[AWQ_THREADS / AWQ_CO][AWQ_CO];
  __shared__ float runS[kAwqNumAlphas][AWQ_CO];

  const int tid = threadIdx.x;
  const int blk = blockIdx.y;
  const int co0 = blockIdx.x * AWQ_CO;
  // weights handled by this thread when filling B: column wc = tid & 63, rows (tid >> 6) + 4r
  const int wc = tid & 63;
  const int gco = co0 + wc;
  // the weight tile is re-read (L1/L2 resident) rather than held in registers
  auto wload = [&](int r) -> float {
    int gk = blk * AWQ_K + (tid >> 6) + 4 * r;
    return (gk < cin && gco < cout) ? __ldg(w + (size_t)gk * cout + gco) : 0.f;
  };
  float m = 0.f;
#pragma unroll 8
  for (int r = 0; r < 32; ++r) m = fmaxf(m, fabsf(wload(r)));  // NaN ignored
  amaxPart[tid >> 6][wc] = m;
  for (int e = tid; e < kAwqNumAlphas * AWQ_CO; e += AWQ_THREADS) (&runS[0][0])[e] = 0.f;
  __syncthreads();
  const float amax = fmaxf(fmaxf(amaxPart[0][wc], amaxPart[1][wc]), fmaxf(amaxPart[2][wc], amaxPart[3][wc]));

  const int tx = tid & 31, tg = tid >> 5;
  const int nChunks = (T + AWQ_T - 1) / AWQ_T;

  auto dots = [&](float (&r0)[8], float (&r1)[8]) {
#pragma unroll
    for (int t = 0; t < 8; ++t) r0[t] = r1[t] = 0.f;
    const float* xr = Xs + (tg * 8) * XS;
#pragma unroll 2
    for (int k = 0; k < AWQ_K; k += 4) {
      float b0[4], b1[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        b0[j] = Bs[(k + j) * AWQ_CO + tx];
        b1[j] = Bs[(k + j) * AWQ_CO + tx + 32];
      }
#pragma unroll
      for (int t = 0; t < 8; ++t) {
        float4 xv = *reinterpret_cast<const float4*>(xr + t * XS + k);
        float xa[4] = {xv.x, xv.y, xv.z, xv.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          r0[t] = __fadd_rn(r0[t], __fmul_rn(xa[j], b0[j]));
          r1[t] = __fadd_rn(r1[t], __fmul_rn(xa[j], b1[j]));
        }
      }
    }
  };

  for (int ch = 0; ch < nChunks; ++ch) {
    __syncthreads();  // previous chunk's readers of Xs / Bs / D2 are done
    for (int e = tid; e < AWQ_T * AWQ_K; e += AWQ_THREADS) {
      int t = e / AWQ_K, k = e % AWQ_K;
      int gt = ch * AWQ_T + t, gk = blk * AWQ_K + k;
      Xs[t * XS + k] = (gt < T && gk < cin) ? x[(size_t)gt * cin + gk] : 0.f;
    }
#pragma unroll 8
    for (int r = 0; r < 32; ++r) Bs[((tid >> 6) + 4 * r) * AWQ_CO + wc] = wload(r);
    __syncthreads();
    float org0[8], org1[8];
    dots(org0, org1);
    const int tn = min(AWQ_T, T - ch * AWQ_T);
    for (int a = 0; a < kAwqNumAlphas; ++a) {
      __syncthreads();  // all readers of Bs (and D2) finished
      const float s = qm::int4Scale(amax, cAlphas[a]);
#pragma unroll 8
      for (int r = 0; r < 32; ++r)
        Bs[((tid >> 6) + 4 * r) * AWQ_CO + wc] = __fmul_rn(qm::int4Code(wload(r), s), s);
      __syncthreads();
      float cur0[8], cur1[8];
      dots(cur0, cur1);
#pragma unroll
      for (int t = 0; t < 8; ++t) {
        float d0 = __fsub_rn(org0[t], cur0[t]), d1 = __fsub_rn(org1[t], cur1[t]);
        D2[(tg * 8 + t) * AWQ_CO + tx] = __fmul_rn(d0, d0);
        D2[(tg * 8 + t) * AWQ_CO + tx + 32] = __fmul_rn(d1, d1);
      }
      __syncthreads();
      if (tid < AWQ_CO) {
        float S = runS[a][tid];
        for (int t = 0; t < tn; ++t) S = __fadd_rn(S, D2[t * AWQ_CO + tid]);
        runS[a][tid] = S;
      }
    }
  }
  __syncthreads();
  if (tid < AWQ_CO && co0 + tid < cout) {
    float best = INFINITY, bestA = 1.0f;
    for (int a = 0; a < kAwqNumAlphas; ++a) {
      float loss = __fdiv_rn(runS[a][tid], (float)T);
      if (loss < best) {
        best = loss;
        bestA = cAlphas[a];
      }
    }
    size_t o = (size_t)blk * cout + co0 + tid;
    bestAlpha[o] = bestA;
    if (bestLoss) bestLoss[o] = best;
  }
}

size_t awqSmem() { return (size_t)(AWQ_T * XS + AWQ_K * AWQ_CO + AWQ_T * AWQ_CO) * sizeof(float); }
}  // namespace

namespace dev {
void awqClipSearch(const float* dx, int64_t tokens, const float* dw, int64_t cin, int64_t cout, int blockSize,
                   float* dBest, float* dLoss, bool forceSimple, int64_t coBatch) {
  if (blockSize <= 0) throw CudaError("awqClipSearch: block size must be positive");
  if (tokens <= 0 || cin <= 0 || cout <= 0) throw CudaError("awqClipSearch: empty input");
  if (tokens > INT32_MAX || cin > INT32_MAX || cout > INT32_MAX) throw CudaError("awqClipSearch: too large");
  MO_CUDA(cudaMemcpyToSymbol(cAlphas, awqAlphas(), sizeof(float) * kAwqNumAlphas));
  const int nb = (int)((cin + blockSize - 1) / blockSize);
  if (!forceSimple && blockSize == AWQ_K) {
    size_t smem = awqSmem();
    MO_CUDA(cudaFuncSetAttribute(awq_tiled_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    dim3 grid((unsigned)((cout + AWQ_CO - 1) / AWQ_CO), (unsigned)nb);
    awq_tiled_kernel<<<grid, AWQ_THREADS, smem>>>(dx, (int)tokens, dw, (int)cin, (int)cout, dBest, dLoss);
    MO_LAUNCH_CHECK(awq_tiled);
  } else {
    long long n = (long long)nb * cout;
    awq_simple_kernel<<<(unsigned)((n + 127) / 128), 128>>>(dx, (int)tokens, dw, (int)cin, (int)cout, blockSize, nb, 0,
                                                            (int)cout, false, dBest, dLoss);
    MO_LAUNCH_CHECK(awq_simple);
  }
  // output-channel batches of width 1 (coBatch == 1, or a last batch of one channel): numpy sums
  // those contiguously, i.e. pairwise; recompute them in that order.
  if (coBatch < 1) throw CudaError("awqClipSearch: coBatch must be positive");
  int c1 = coBatch == 1 ? 0 : (cout % coBatch == 1 ? (int)cout - 1 : (int)cout);
  if (c1 < cout) {
    long long n = (long long)nb * (cout - c1);
    awq_simple_kernel<<<(unsigned)((n + 127) / 128), 128>>>(dx, (int)tokens, dw, (int)cin, (int)cout, blockSize, nb, c1,
                                                            (int)(cout - c1), true, dBest, dLoss);
    MO_LAUNCH_CHECK(awq_simple_pairwise);
  }
  MO_CUDA(cudaDeviceSynchronize());
}
}  // namespace dev

void awqClipSearch(const float* x, int64_t tokens, const float* w, int64_t cin, int64_t cout, int blockSize,
                   float* bestAlpha, float* bestLoss, int64_t coBatch) {
  if (blockSize <= 0) throw CudaError("awqClipSearch: block size must be positive");
  size_t nb = (size_t)((cin + blockSize - 1) / blockSize);
  DevBuf<float> dx((size_t)tokens * cin), dw((size_t)cin * cout), db(nb * cout), dl(bestLoss ? nb * cout : 0);
  dx.upload(x, (size_t)tokens * cin);
  dw.upload(w, (size_t)cin * cout);
  dev::awqClipSearch(dx.p, tokens, dw.p, cin, cout, blockSize, db.p, bestLoss ? dl.p : nullptr, false, coBatch);
  db.download(bestAlpha, nb * cout);
  if (bestLoss) dl.download(bestLoss, nb * cout);
}

}  // namespace cuda
}  // namespace modelopt

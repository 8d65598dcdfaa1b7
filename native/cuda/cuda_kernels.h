// Host API of the CUDA kernels (native/cuda). Plain C++: no CUDA types in this header, so the
// node-addon-api bindings (bindings_cuda.cc) compile with the host compiler alone.
//
// Two families:
//  * host-pointer functions: copy the inputs to the device, run, copy the results back;
//  * `dev::` functions: take device pointers, run on the current device's default stream and
//    synchronise (used by gpu_bench for timing without transfers).
// Every function throws modelopt::cuda::CudaError (a std::runtime_error) on any CUDA failure or
// bad argument. Nothing here aborts the process; cudaAvailable() is safe without a driver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace modelopt {
namespace cuda {

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;
  int multiprocessors = 0;
  size_t totalMemory = 0;
};

// True when a driver is present and at least one device can be used. Never throws.
bool cudaAvailable();
// Why CUDA is unavailable ("" when available). Never throws.
std::string cudaUnavailableReason();
// Devices visible to the runtime (empty without a driver/GPU). Never throws.
std::vector<DeviceInfo> cudaDevices();
// Selects the device for subsequent calls on this thread.
void setDevice(int index);

// ---------------------------------------------------------------------------------------------
// Reductions (contract of native/types.ts AmaxResult: NaN elements are ignored, +-Inf count).
struct AmaxStats {
  float amax = 0, min = 0, max = 0;  // over non-NaN elements; 0 when there are none
  uint64_t nanCount = 0, infCount = 0;
};
AmaxStats amaxStats(const float* x, size_t n);
float amax(const float* x, size_t n);
// Reduce |x| over every axis except `keepAxes` (normalised, deduplicated, sorted ascending);
// out has prod(shape[keepAxes]) entries in row-major order of the kept axes. NaN ignored.
void amaxAxes(const float* x, const std::vector<int64_t>& shape, const std::vector<int>& keepAxes,
              float* out);
// np.min / np.max semantics for the ORT collector: NaN anywhere -> both NaN; n == 0 -> 0, 0.
void minMax(const float* x, size_t n, float* mn, float* mx);

// ---------------------------------------------------------------------------------------------
// Histograms. Counts are added into `counts` (int64, nbins entries), so a caller can accumulate
// over several batches with the same edges.
enum class HistMode : int {
  Numpy = 0,  // numpy.histogram(x, nbins, range=(lo,hi)) float32 semantics (needs edges)
  Histc = 1,  // torch.histc(x, nbins, lo, hi) float32 semantics
};
// When `absValues`, the histogram is taken over |x| (the torch calibrator's |x| when min < 0 is
// the caller's decision). `edges` (nbins+1 float32) is required for Numpy mode and ignored
// otherwise; numpyLinspaceF32 produces exactly numpy's edges.
void histogram(const float* x, size_t n, int nbins, float lo, float hi, HistMode mode,
               bool absValues, const float* edges, int64_t* counts);
// numpy.linspace(lo, hi, num, dtype=float32) for float32 lo/hi (numpy >= 2 promotion rules).
std::vector<float> numpyLinspaceF32(float lo, float hi, int num);

// ---------------------------------------------------------------------------------------------
// Threshold searches over a histogram; every candidate is evaluated in parallel on the GPU.
// Each candidate is evaluated by one GPU thread that replays the CPU contract's exact
// arithmetic (native/reference.ts: numpy pairwise float32/float64 sums, float32 rounding at
// every step), so the divergences are bit-identical to the CPU path up to the last-ulp
// behaviour of log() (CUDA's double log vs the host libm, then rounded to float32).
//
// ORT entropy (onnxruntime get_entropy_threshold): histogram over [-T,T] with nbins bins.
// Returns the chosen candidate index c (i = nq/2 + c, bins [zero-i, zero+i+1)); `klOut`
// (optional) receives every candidate's divergence (nbins/2 - nq/2 + 1 values). np.argmin:
// the first NaN, else the first minimum. Throws where ORT asserts (eps1 >= 1).
int ortEntropySearch(const int64_t* counts, int nbins, int numQuantizedBins, double* klOut);
// torch HistogramCalibrator entropy: bins[0] := bins[1]; candidates i = startBin..nbins step
// `stride`; returns the chosen i (last minimum; edge index); `klOut` (optional) gets one value
// per candidate. Float64, like the original. Throws on the original's count mismatch.
int torchEntropySearch(const int64_t* counts, int nbins, int numBits, bool isUnsigned, int startBin,
                       int stride, double* klOut);
// torch MSE: centres c = (e[k+1]+e[k])/2 (f32); for i = startBin, startBin+stride, .. < nbins:
// amax = c[i]; loss = sum_k ((fq(c_k)-c_k)^2 * count_k) / nbins in float64 (sequential), fq the
// narrow-range integer fake-quant, or scaled E4M3 when numBits == -43 (i.e. (4,3)).
// Returns the chosen centre index (first minimum, -1 if none); lossOut gets one per candidate.
int mseSearch(const int64_t* counts, const float* edges, int nbins, int numBits, bool isUnsigned,
              int startBin, int stride, double* lossOut);
// Percentile: first index where cdf >= p/100 (cdf = cumsum(hist/total) in float64, as numpy).
// Host computation (O(nbins)); exported so both device paths share one definition.
int percentileIndex(const int64_t* counts, int nbins, double percentile);

// ---------------------------------------------------------------------------------------------
// Quantization. `amax` has 1 entry (per tensor) or shape[axis] entries (per axis).
struct QuantAxis {
  // Per-axis layout for a contiguous tensor: channel = (idx / stride) % size. size==0: per tensor.
  int64_t size = 0;
  int64_t stride = 1;
};
void fakeQuantInt(const float* x, size_t n, const float* amax, QuantAxis axis, int bits,
                  bool isUnsigned, bool narrow, float* out);
// Integer codes (as int8 when bits <= 8, else throws; unsigned codes fit uint8 — reinterpret)
// and the per-channel scale amax/B (1 where amax < 2^-24; types.ts QuantizeIntResult).
// scaleOut has max(1, axis.size) entries. Negative amax throws. NaN input -> code 0.
void quantizeInt(const float* x, size_t n, const float* amax, QuantAxis axis, int bits,
                 bool isUnsigned, bool narrow, int8_t* codes, float* scaleOut);
// E4M3 fake quant: amax == nullptr -> plain cast round trip; else s = 448/amax,
// e4m3(x*s)/s. Both forms give 0 where |x| < 2^-24 (types.ts fakeQuantE4M3).
void fakeQuantE4m3(const float* x, size_t n, const float* amax, float* out);
// E4M3 real cast (saturating, RNE, NaN -> 0x7f|sign): bytes of e4m3(x*448/amax) (or e4m3(x)).
void quantizeE4m3(const float* x, size_t n, const float* amax, uint8_t* out);
// The hardware conversion (cvt.rn.satfinite.e4m3x2.f32) for comparison (diagnostics only).
void e4m3EncodeHardware(const float* x, size_t n, uint8_t* out);

// INT4 block RTN along axis 0 of w[rows, cols] (block 128 by default): scales[ceil(rows/B), cols]
// = alpha*blockAmax/7 (alpha: nullptr -> 1, else [ceil(rows/B), cols]); codes int8 [rows, cols].
void int4BlockQuantize(const float* w, int64_t rows, int64_t cols, int blockSize,
                       const float* alpha, int8_t* codes, float* scales);
// codes = clip(rint(w / scale), -8, 7) with given scales [ceil(rows/B), cols] (NaN -> 0).
void int4QuantizeWithScales(const float* w, int64_t rows, int64_t cols, int blockSize, const float* scales,
                            int8_t* codes);
// codes * repeated scales -> float [rows, cols].
void int4BlockDequantize(const int8_t* codes, const float* scales, int64_t rows, int64_t cols,
                         int blockSize, float* out);
// Nibble packing: element 2k -> low nibble, 2k+1 -> high nibble; odd length padded with 0.
// From floats: clip to [-8,7] (or [0,15] when isUnsigned), rint (half-even), cast.
void packInt4(const float* x, size_t n, bool isUnsigned, uint8_t* out /* (n+1)/2 bytes */);
void packInt4Codes(const int8_t* codes, size_t n, uint8_t* out /* (n+1)/2 bytes */);

// AWQ clip search (SPEC 3 "INT4 AWQ-clip"). x: [tokens, cin] activations already subsampled
// (awqSelectTokens), w: [cin, cout]. For each (block, output channel) and each of the 11 alphas
// 0.50..1.00 the loss is mean_t (sum_k x[t,k] * (w[k] - wq_alpha[k]))^2 with zero padding of
// cin to a multiple of blockSize. bestAlpha: [ceil(cin/B), cout] (scale layout); ties and
// non-finite losses keep the smaller alpha / 1.0. bestLoss (optional): the chosen loss, same
// layout (+inf where none was finite). The float32 evaluation order is the numpy reference's
// for the original's memory layout (w.T.reshape views make numpy reduce sequentially): org and
// cur are sequential sums over k of rounded products (no FMA), d = org - cur, d*d, sequential
// sum over tokens, divided by T. Exception (numpy sums contiguous runs pairwise): channels in an
// output-channel batch of width 1 (coBatch == 1, or cout % coBatch == 1 for the last channel)
// use numpy's pairwise sums over k, and over tokens too when there is a single block. Alphas
// and losses are then bit-identical to bench/awq_numpy_ref.py (checked on the device machine)
// and to native/reference.ts awqClipSearch.
void awqClipSearch(const float* x, int64_t tokens, const float* w, int64_t cin, int64_t cout,
                   int blockSize, float* bestAlpha, float* bestLoss, int64_t coBatch = 1024);
// Rows kept by the original: x[0::max(1, tokens/maxTokens)].
std::vector<int64_t> awqSelectTokens(int64_t tokens, int64_t maxTokens);
// The 11 alphas as float32 (round(k,2) for 0.50..0.95, then 1.0).
const float* awqAlphas();
constexpr int kAwqNumAlphas = 11;

// ---------------------------------------------------------------------------------------------
// Device-pointer variants (benchmarks). All synchronise before returning.
namespace dev {
void* alloc(size_t bytes);
void free(void* p);
void copyToDevice(void* dst, const void* src, size_t bytes);
void copyToHost(void* dst, const void* src, size_t bytes);
void memset0(void* p, size_t bytes);
float amax(const float* dx, size_t n);
AmaxStats amaxStats(const float* dx, size_t n);
void minMax(const float* dx, size_t n, float* mn, float* mx);
// dcounts: device int64[nbins], accumulated into; dedges: device float[nbins+1] (Numpy mode).
void histogram(const float* dx, size_t n, int nbins, float lo, float hi, HistMode mode,
               bool absValues, const float* dedges, int64_t* dcounts);
int ortEntropySearch(const int64_t* dcounts, int nbins, int numQuantizedBins, double* klOut);
int torchEntropySearch(const int64_t* dcounts, int nbins, int numBits, bool isUnsigned,
                       int startBin, int stride, double* klOut);
// Fast tiled kernel (block size 128) or the one-thread-per-(block,channel)
// kernel otherwise; forceSimple selects the latter (cross-check in gpu_bench).
void awqClipSearch(const float* dx, int64_t tokens, const float* dw, int64_t cin, int64_t cout,
                   int blockSize, float* dBestAlpha, float* dBestLoss /* may be null */,
                   bool forceSimple = false, int64_t coBatch = 1024);
// Bandwidth probes: out[i] = in[i] (float4), and a read-only sum; return elapsed ms (events).
float copyKernelMs(const float* din, float* dout, size_t n, int reps);
float readKernelMs(const float* din, size_t n, int reps);
}  // namespace dev

}  // namespace cuda
}  // namespace modelopt

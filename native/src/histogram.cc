#include "histogram.h"

#include "common.h"
#include "numpy_compat.h"

#include <immintrin.h>

namespace modelopt {
namespace {

constexpr size_t kChunk = 1 << 18;  // elements per thread at least
constexpr int64_t kMaxMergedBins = int64_t(1) << 26;  // same limit as reference.ts MAX_MERGED_BINS

// Counts of numpy.histogram's uniform fast path for x[0..len) into c[0..n) (int64).
// Pass 1 (vectorisable) computes the float32 bin estimate, pass 2 applies numpy's edge
// corrections; four interleaved sub-histograms avoid store-to-load stalls on repeated bins.
// Pass 1: bin estimates idx[i] = trunc(((x - first) / denom) * n), -1 outside [first, last]
// (NaN estimates -> 0). Explicit 8-lane vectors: GCC does not if-convert the scalar form.
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
inline __attribute__((always_inline)) void UniformEstimateBody(const float* xs, size_t m, float first, float last, float denom, float nf, int32_t* idx) {
  size_t i = 0;
  const v8f vf = {first, first, first, first, first, first, first, first};
  const v8f vl = {last, last, last, last, last, last, last, last};
  const v8f vd = {denom, denom, denom, denom, denom, denom, denom, denom};
  const v8f vn = {nf, nf, nf, nf, nf, nf, nf, nf};
  const v8f neg1 = {-1, -1, -1, -1, -1, -1, -1, -1};
  for (; i + 8 <= m; i += 8) {
    v8f v;
    std::memcpy(&v, xs + i, sizeof(v));
    v8f g = ((v - vf) / vd) * vn;
    const v8i in = (v >= vf) & (v <= vl);
    v8i gi = ((v8i)g & in) | ((v8i)neg1 & ~in);
    g = (v8f)gi;
    const v8i ok = g == g;
    gi = (v8i)g & ok;  // NaN -> +0.0f
    const v8i r = __builtin_convertvector((v8f)gi, v8i);
    std::memcpy(idx + i, &r, sizeof(r));
  }
  for (; i < m; i++) {
    const float v = xs[i];
    float g = ((v - first) / denom) * nf;
    g = (v >= first) & (v <= last) ? g : -1.0f;
    g = g == g ? g : 0.0f;
    idx[i] = static_cast<int32_t>(g);
  }
}
// AVX2: final bins in one pass, numpy's edge corrections included, with the edges computed in-vector
// (on the AMD EPYC this was measured on, gathering them was slower than scalar corrections). Valid when the
// edges are numpy.linspace's float32 step form, edges[k] = float(k) * step + first (k < n): the same
// two roundings (no FMA: intrinsics are not contracted) give the same floats as np::LinspaceF32, so
// numpy's corrections (decrement = x < edges[k]; increment = !decrement && k != n-1 && x >= edges[k+1])
// see identical edges. edges[n] = last is never read: k+1 == n only when k == n-1, where no increment is
// considered. Values outside [first, last] get bin n (a bin the caller drops).
// kScaled: the estimate multiplies by n / denom instead of dividing by denom and multiplying by n (numpy's
// order); the division was the costliest instruction of the loop (1M values: 0.94 -> 0.75 ms on one thread).
// The final bins stay numpy's: (v - first) is the same float in both, and the two estimates differ from the exact
// quotient by a few 1e-7 * n bins, so for n <= 2^16 both lie within one bin of the bin that the edges define
// (edges off their ideal places by a bin or more are collapsed, which HistUniform rejects first); numpy's
// correction takes any estimate within one bin to that bin. Above 2^16 bins the division repeats numpy's
// arithmetic. Tested on values on and beside every edge, and on ranges narrow next to their magnitude.
bool ScaledEstimateIsSafe(int64_t n) { return n <= (int64_t(1) << 16); }
template <bool kScaled>
__attribute__((target("avx2"))) void UniformBinsArithAvx2(const float* xs, size_t m, float first, float last, float denom, float nf,
                                                          int32_t n, float step, int32_t* idx) {
  size_t i = 0;
  const __m256 vf = _mm256_set1_ps(first), vl = _mm256_set1_ps(last), vscale = _mm256_set1_ps(nf / denom);
  const __m256 vd = _mm256_set1_ps(denom), vn = _mm256_set1_ps(nf);
  const __m256 vs = _mm256_set1_ps(step);
  const __m256i vnI = _mm256_set1_epi32(n), vn1 = _mm256_set1_epi32(n - 1), one = _mm256_set1_epi32(1), zero = _mm256_setzero_si256();
  const __m256i minus1 = _mm256_set1_epi32(-1);
  const __m256 vone = _mm256_set1_ps(1.0f);
  for (; i + 8 <= m; i += 8) {
    const __m256 v = _mm256_loadu_ps(xs + i);
    __m256 g = kScaled ? _mm256_mul_ps(_mm256_sub_ps(v, vf), vscale) : _mm256_mul_ps(_mm256_div_ps(_mm256_sub_ps(v, vf), vd), vn);
    g = _mm256_and_ps(g, _mm256_cmp_ps(g, g, _CMP_ORD_Q));  // NaN -> 0
    const __m256 in = _mm256_and_ps(_mm256_cmp_ps(v, vf, _CMP_GE_OQ), _mm256_cmp_ps(v, vl, _CMP_LE_OQ));
    __m256i k = _mm256_cvttps_epi32(g);
    k = _mm256_min_epi32(_mm256_max_epi32(k, zero), vnI);
    k = _mm256_sub_epi32(k, _mm256_and_si256(_mm256_cmpeq_epi32(k, vnI), one));  // k == n -> n - 1
    const __m256 kf = _mm256_cvtepi32_ps(k);
    const __m256 e0 = _mm256_add_ps(_mm256_mul_ps(kf, vs), vf);
    const __m256 e1 = _mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(kf, vone), vs), vf);  // k + 1 < 2^24: exact
    const __m256i dec = _mm256_castps_si256(_mm256_cmp_ps(v, e0, _CMP_LT_OQ));
    const __m256i notLast = _mm256_xor_si256(_mm256_cmpeq_epi32(k, vn1), minus1);
    const __m256i inc = _mm256_andnot_si256(dec, _mm256_and_si256(notLast, _mm256_castps_si256(_mm256_cmp_ps(v, e1, _CMP_GE_OQ))));
    k = _mm256_add_epi32(k, dec);  // dec lanes are -1
    k = _mm256_sub_epi32(k, inc);  // inc lanes are -1
    k = _mm256_blendv_epi8(vnI, k, _mm256_castps_si256(in));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + i), k);
  }
  for (; i < m; i++) {
    const float v = xs[i];
    float g = ((v - first) / denom) * nf;
    g = g == g ? g : 0.0f;
    int32_t k = static_cast<int32_t>(std::min(std::max(g, 0.0f), nf));
    if (k == n) k -= 1;
    if (v < static_cast<float>(k) * step + first) k -= 1;
    else if (k != n - 1 && v >= static_cast<float>(k + 1) * step + first) k += 1;
    idx[i] = (v >= first) & (v <= last) ? k : n;
  }
}
void UniformEstimateDefault(const float* xs, size_t m, float first, float last, float denom, float nf, int32_t* idx) {
  UniformEstimateBody(xs, m, first, last, denom, nf, idx);
}
__attribute__((target("avx2"))) void UniformEstimateAvx2(const float* xs, size_t m, float first, float last, float denom, float nf, int32_t* idx) {
  UniformEstimateBody(xs, m, first, last, denom, nf, idx);
}

// Adds counts of bin indices in [0, n] into c[0..n) (index n: dropped values, not counted), through four
// sub-histograms so that repeated bins do not wait on each other's stores; 32-bit, flushed before they can
// wrap and when the counter goes.
class BinCounter {
 public:
  BinCounter(int64_t n, int64_t* c) : n_(n), w_(static_cast<size_t>(n) + 1), c_(c), sub_(4 * w_, 0) {}
  ~BinCounter() { Flush(); }
  void Add(const int32_t* idx, size_t m) {
    uint32_t *s0 = sub_.data(), *s1 = s0 + w_, *s2 = s1 + w_, *s3 = s2 + w_;
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
      s0[idx[i]]++;
      s1[idx[i + 1]]++;
      s2[idx[i + 2]]++;
      s3[idx[i + 3]]++;
    }
    for (; i < m; i++) s0[idx[i]]++;
    if ((sinceFlush_ += m) >= (size_t(1) << 30)) Flush();
  }

 private:
  void Flush() {
    const uint32_t *s0 = sub_.data(), *s1 = s0 + w_, *s2 = s1 + w_, *s3 = s2 + w_;
    for (int64_t k = 0; k < n_; k++) c_[k] += int64_t(s0[k]) + s1[k] + s2[k] + s3[k];
    std::fill(sub_.begin(), sub_.end(), 0u);
    sinceFlush_ = 0;
  }
  int64_t n_;
  size_t w_;
  int64_t* c_;
  std::vector<uint32_t> sub_;
  size_t sinceFlush_ = 0;
};

// `step` != 0: the edges are np::LinspaceF32's step form (see UniformBinsArithAvx2); 0: anything else.
void CountUniform(const float* x, size_t len, int64_t n, float first, float last, float denom, const float* edges, float step, int64_t* c) {
  constexpr size_t kBlock = 2048;
  int32_t idx[kBlock];
  const float nf = static_cast<float>(n);
  if (CpuHasAvx2() && step != 0.0f && n < (int64_t(1) << 24)) {
    // final bins in one vector pass (n: outside the range), then counted
    BinCounter counts(n, c);
    const bool scaled = ScaledEstimateIsSafe(n);
    for (size_t s = 0; s < len; s += kBlock) {
      const size_t m = std::min(kBlock, len - s);
      if (scaled) UniformBinsArithAvx2<true>(x + s, m, first, last, denom, nf, static_cast<int32_t>(n), step, idx);
      else UniformBinsArithAvx2<false>(x + s, m, first, last, denom, nf, static_cast<int32_t>(n), step, idx);
      counts.Add(idx, m);
    }
    return;
  }
  const int ways = n <= 65536 ? 4 : 1;
  std::vector<int64_t> sub(static_cast<size_t>(n) * static_cast<size_t>(ways), 0);
  const bool avx2 = CpuHasAvx2();
  for (size_t s = 0; s < len; s += kBlock) {
    const size_t m = std::min(kBlock, len - s);
    const float* xs = x + s;
    if (avx2) UniformEstimateAvx2(xs, m, first, last, denom, nf, idx);
    else UniformEstimateDefault(xs, m, first, last, denom, nf, idx);
    for (size_t i = 0; i < m; i++) {
      int64_t k = idx[i];
      if (k < 0) continue;
      const float v = xs[i];
      if (k == n) k -= 1;
      if (v < edges[k]) k -= 1;
      if (k != n - 1 && v >= edges[k + 1]) k += 1;
      sub[static_cast<size_t>(k) * ways + (i & (ways - 1))]++;
    }
  }
  for (int64_t k = 0; k < n; k++)
    for (int w = 0; w < ways; w++) c[k] += sub[static_cast<size_t>(k) * ways + w];
}

// numpy.histogram(x, n, range=(first, last)) counts added into `hist`; returns the edges.
std::vector<float> HistUniform(const float* x, size_t len, int64_t n, float first, float last, bool pythonRange,
                               std::vector<double>& hist) {
  if (first == last) {
    first = first - 0.5f;
    last = last + 0.5f;
  }
  if (n > (int64_t(1) << 30)) throw KernelError("histogram: too many bins");
  std::vector<float> edges = pythonRange ? np::LinspaceF64(first, last, n) : np::LinspaceF32(first, last, n);
  for (int64_t k = 0; k < n; k++) {
    if (edges[k] >= edges[k + 1]) {
      throw KernelError("Too many bins for data range. Cannot create " + std::to_string(n) + " finite-sized bins.");
    }
  }
  hist.assign(static_cast<size_t>(n), 0.0);
  const float denom = last - first;
  const float* e = edges.data();
  // the step form of np::LinspaceF32 (its zero-step and float64 forms are not)
  const float step = pythonRange ? 0.0f : (last - first) / static_cast<float>(n);
  int threads = DefaultThreads();
  std::vector<std::vector<int64_t>> local(static_cast<size_t>(threads));
  ParallelFor(len, kChunk, threads, [&](size_t b, size_t end, int w) {
    auto& c = local[w];
    c.assign(static_cast<size_t>(n), 0);
    CountUniform(x + b, end - b, n, first, last, denom, e, step, c.data());
  });
  for (auto& c : local)
    for (size_t k = 0; k < c.size(); k++) hist[k] += static_cast<double>(c[k]);
  return edges;
}

// numpy.histogram(x, bins=edges) counts (x given through a transform, e.g. |x|).
template <typename E, typename Tf>
std::vector<double> HistEdges(const float* x, size_t len, const std::vector<E>& edges, Tf tf) {
  const int64_t n = static_cast<int64_t>(edges.size()) - 1;
  std::vector<double> hist(static_cast<size_t>(n), 0.0);
  int threads = DefaultThreads();
  std::vector<std::vector<int64_t>> local(static_cast<size_t>(threads));
  ParallelFor(len, kChunk, threads, [&](size_t b, size_t end, int w) {
    auto& c = local[w];
    c.assign(static_cast<size_t>(n), 0);
    for (size_t i = b; i < end; i++) {
      int64_t k = np::EdgesBin(tf(x[i]), edges.data(), n);
      if (k >= 0) c[k]++;
    }
  });
  for (auto& c : local)
    for (size_t k = 0; k < c.size(); k++) hist[k] += static_cast<double>(c[k]);
  return hist;
}

// ScanMinMax's AVX2 body: 32 values per step in four independent accumulators (one accumulator is
// bound by the latency of min/max, not by loads). Returns how many values it covered.
__attribute__((target("avx2"))) size_t ScanMinMaxAvx2(const float* x, size_t n, float& a, float& b, bool& anyNan) {
  size_t i = 0;
  __m256 va[4], vb[4], vn = _mm256_setzero_ps();
  for (int k = 0; k < 4; k++) {
    va[k] = _mm256_set1_ps(a);
    vb[k] = _mm256_set1_ps(b);
  }
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; k++) {
      const __m256 v = _mm256_loadu_ps(x + i + 8 * k);
      va[k] = _mm256_min_ps(v, va[k]);  // v < va ? v : va (NaN keeps va)
      vb[k] = _mm256_max_ps(v, vb[k]);
      vn = _mm256_or_ps(vn, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
  }
  float ta[32], tb[32];
  for (int k = 0; k < 4; k++) {
    _mm256_storeu_ps(ta + 8 * k, va[k]);
    _mm256_storeu_ps(tb + 8 * k, vb[k]);
  }
  for (int k = 0; k < 32; k++) {
    a = ta[k] < a ? ta[k] : a;
    b = tb[k] > b ? tb[k] : b;
  }
  anyNan |= _mm256_movemask_ps(vn) != 0;
  return i;
}

// min / max over non-NaN values of x[0..n) and whether a NaN was seen (AVX2 / SSE2 when available).
void ScanMinMax(const float* x, size_t n, float& mn, float& mx, bool& nan) {
  float a = std::numeric_limits<float>::infinity(), b = -a;
  size_t i = 0;
  bool anyNan = false;
  if (n >= 32 && CpuHasAvx2()) i = ScanMinMaxAvx2(x, n, a, b, anyNan);
#ifdef __SSE2__
  if (n - i >= 8) {
    __m128 va = _mm_set1_ps(a), vb = _mm_set1_ps(b), vn = _mm_setzero_ps();
    for (; i + 4 <= n; i += 4) {
      const __m128 v = _mm_loadu_ps(x + i);
      va = _mm_min_ps(v, va);  // v < va ? v : va (NaN keeps va)
      vb = _mm_max_ps(v, vb);
      vn = _mm_or_ps(vn, _mm_cmpunord_ps(v, v));
    }
    float ta[4], tb[4];
    _mm_storeu_ps(ta, va);
    _mm_storeu_ps(tb, vb);
    for (int k = 0; k < 4; k++) {
      a = ta[k] < a ? ta[k] : a;
      b = tb[k] > b ? tb[k] : b;
    }
    anyNan |= _mm_movemask_ps(vn) != 0;
  }
#endif
  for (; i < n; i++) {
    const float v = x[i];
    anyNan |= v != v;
    a = v < a ? v : a;
    b = v > b ? v : b;
  }
  mn = a;
  mx = b;
  nan = anyNan;
}

// np.min / np.max (NaN propagates); 0, 0 for empty.
void NpMinMax(const float* x, size_t n, float& mn, float& mx) {
  if (n == 0) {
    mn = mx = 0.0f;
    return;
  }
  const int threads = DefaultThreads();
  std::vector<float> pa(static_cast<size_t>(threads), std::numeric_limits<float>::infinity()), pb(static_cast<size_t>(threads), -std::numeric_limits<float>::infinity());
  std::vector<char> pn(static_cast<size_t>(threads), 0);
  ParallelFor(n, kChunk, threads, [&](size_t b, size_t e, int w) {
    bool nan = false;
    ScanMinMax(x + b, e - b, pa[w], pb[w], nan);
    pn[w] = nan;
  });
  float a = std::numeric_limits<float>::infinity(), b = -a;
  bool nan = false;
  for (int w = 0; w < threads; w++) {
    a = pa[w] < a ? pa[w] : a;
    b = pb[w] > b ? pb[w] : b;
    nan |= pn[w] != 0;
  }
  if (nan) mn = mx = std::numeric_limits<float>::quiet_NaN();
  else {
    mn = a;
    mx = b;
  }
}

HistState OrtMerge(const HistState& old, const float* x, size_t len, float newMin, float newMax, float newT) {
  HistState r;
  r.min = std::min(old.min, newMin);
  r.max = std::max(old.max, newMax);
  const int64_t nOld = static_cast<int64_t>(old.hist.size());
  if (newT <= old.threshold) {
    HistUniform(x, len, nOld, -old.threshold, old.threshold, false, r.hist);
    for (int64_t i = 0; i < nOld; i++) r.hist[i] += old.hist[i];
    r.edges = old.edges;
    r.threshold = old.threshold;
    return r;
  }
  if (old.threshold == 0.0f) {
    r.edges = HistUniform(x, len, nOld, -newT, newT, false, r.hist);
    for (int64_t i = 0; i < nOld; i++) r.hist[i] += old.hist[i];
    r.threshold = newT;
    return r;
  }
  const float stride = (2.0f * old.threshold) / static_cast<float>(nOld);
  const float halfF = np::FloorDivide(newT - old.threshold, stride) + 1.0f;
  const double nbD = static_cast<double>(nOld) + 2.0 * static_cast<double>(halfF);
  if (!(nbD <= static_cast<double>(kMaxMergedBins))) {
    throw KernelError("merge_histogram: widening the range needs " + std::to_string(nbD) + " bins (limit " + std::to_string(kMaxMergedBins) + ")");
  }
  const int64_t half = static_cast<int64_t>(halfF);
  const int64_t nb = nOld + 2 * half;
  const float t = static_cast<float>(half) * stride + old.threshold;
  r.edges = HistUniform(x, len, nb, -t, t, false, r.hist);
  for (int64_t i = 0; i < nOld; i++) r.hist[half + i] += old.hist[i];
  r.threshold = t;
  return r;
}

bool SameEdges(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

struct OrtCollectBaton : Baton {
  bool hasState = false;
  HistState state, out;
  View<float> data;
  int64_t numBins = 128;
  void Execute() override {
    float mn, mx;
    NpMinMax(data.data, data.size, mn, mx);
    if (!std::isfinite(mn)) mn = np::kFltTiny;
    if (!std::isfinite(mx)) mx = np::kFltMax;
    float t = std::max(std::fabs(mn), std::fabs(mx));
    if (hasState) {
      out = OrtMerge(state, data.data, data.size, mn, mx, t);
      return;
    }
    out.edges = HistUniform(data.data, data.size, numBins, -t, t, data.size == 0, out.hist);
    out.min = mn;
    out.max = mx;
    out.threshold = t;
  }
  Napi::Value Result(Napi::Env env) override { return WriteHistState(env, out, true, true); }
};

struct OrtMergeBaton : Baton {
  HistState a, b, out;
  void Execute() override {
    if (SameEdges(a.edges, b.edges) && a.hist.size() == b.hist.size()) {
      out = a;
      for (size_t i = 0; i < a.hist.size(); i++) out.hist[i] = a.hist[i] + b.hist[i];
      out.min = std::min(a.min, b.min);
      out.max = std::max(a.max, b.max);
      return;
    }
    out = OrtMerge(a, nullptr, 0, b.min, b.max, b.threshold);
    const int64_t n = static_cast<int64_t>(out.hist.size());
    for (size_t i = 0; i < b.hist.size(); i++) {
      double w = b.hist[i];
      if (w == 0) continue;
      float c = (b.edges[i] + b.edges[i + 1]) * 0.5f;
      int64_t lo = 0, hi = n;
      while (lo < hi) {
        int64_t mid = (lo + hi) >> 1;
        if (out.edges[mid] <= c) lo = mid + 1;
        else hi = mid;
      }
      int64_t j = std::min(std::max<int64_t>(lo - 1, 0), n - 1);
      out.hist[j] += w;
    }
  }
  Napi::Value Result(Napi::Env env) override { return WriteHistState(env, out, true, true); }
};

struct OrtAbsBaton : Baton {
  bool hasState = false;
  HistState state, out;
  View<float> data;
  int64_t numBins = 2048;
  void Execute() override {
    const float* x = data.data;
    const size_t n = data.size;
    // nanmin / nanmax of the signed data
    float mn = 0, mx = 0;
    if (n > 0) {
      float a = std::numeric_limits<float>::infinity(), b = -a;
      for (size_t i = 0; i < n; i++) {
        float v = x[i];
        a = v < a ? v : a;
        b = v > b ? v : b;
      }
      if (a == std::numeric_limits<float>::infinity() && b == -a) a = b = std::numeric_limits<float>::quiet_NaN();
      mn = a;
      mx = b;
    }
    float aMin = std::numeric_limits<float>::infinity(), aMax = -aMin;
    bool hasNaN = false;
    for (size_t i = 0; i < n; i++) {
      float v = std::fabs(x[i]);
      if (std::isnan(v)) {
        hasNaN = true;
        continue;
      }
      aMin = v < aMin ? v : aMin;
      aMax = v > aMax ? v : aMax;
    }
    auto absf = [](float v) { return std::fabs(v); };
    if (!hasState) {
      out.min = mn;
      out.max = mx;
      if (n == 0) {
        out.edges = np::LinspaceF64(0.0, 1.0, numBins);
        out.hist.assign(static_cast<size_t>(numBins), 0.0);
        return;
      }
      if (hasNaN || !std::isfinite(aMin) || !std::isfinite(aMax)) throw KernelError("autodetected range of the absolute values is not finite");
      std::vector<float> absx(n);
      for (size_t i = 0; i < n; i++) absx[i] = std::fabs(x[i]);
      out.edges = HistUniform(absx.data(), n, numBins, aMin, aMax, false, out.hist);
      return;
    }
    float tempAmax = aMax == -std::numeric_limits<float>::infinity() ? std::numeric_limits<float>::quiet_NaN() : aMax;
    if (std::isinf(tempAmax)) throw KernelError("absolute-value histogram: data contains Inf");
    if (tempAmax > state.edges.back()) {
      // float32 edges + float64 arange -> float64 edges for counting, stored as float32
      const float width = state.edges[1] - state.edges[0];
      auto ext = np::ArangeFromF32(state.edges.back() + width, tempAmax + width, width);
      std::vector<double> e64(state.edges.begin(), state.edges.end());
      e64.insert(e64.end(), ext.begin(), ext.end());
      out.hist = HistEdges(x, n, e64, absf);
      out.edges.assign(e64.begin(), e64.end());
    } else {
      out.hist = HistEdges(x, n, state.edges, absf);
      out.edges = state.edges;
    }
    for (size_t i = 0; i < state.hist.size(); i++) out.hist[i] += state.hist[i];
    auto nanMin = [](float a, float b) { return std::isnan(a) ? a : std::isnan(b) ? b : std::min(a, b); };
    auto nanMax = [](float a, float b) { return std::isnan(a) ? a : std::isnan(b) ? b : std::max(a, b); };
    out.min = nanMin(state.min, mn);
    out.max = nanMax(state.max, mx);
  }
  Napi::Value Result(Napi::Env env) override { return WriteHistState(env, out, true, false); }
};

// torch histc bins of |x| over [0, hi] (hi > 0) for x[0..m): floor((|x| * n) / hi) in float64, n - 1 at
// the top, n (a bin the caller drops) for NaN, |x| > hi and, with skipZeros, zeros.
__attribute__((target("avx2"))) void TorchBinsAvx2(const float* xs, size_t m, int32_t n, float hi, bool skipZeros, int32_t* idx) {
  const __m256 signMask = _mm256_set1_ps(-0.0f), vhi = _mm256_set1_ps(hi), zero = _mm256_setzero_ps();
  const __m256d nd = _mm256_set1_pd(static_cast<double>(n)), hd = _mm256_set1_pd(static_cast<double>(hi));
  const __m256i vn = _mm256_set1_epi32(n), vn1 = _mm256_set1_epi32(n - 1);
  const __m256 skip = skipZeros ? _mm256_castsi256_ps(_mm256_set1_epi32(-1)) : zero;
  size_t i = 0;
  for (; i + 8 <= m; i += 8) {
    const __m256 a = _mm256_andnot_ps(signMask, _mm256_loadu_ps(xs + i));
    const __m256 keep = _mm256_andnot_ps(_mm256_and_ps(skip, _mm256_cmp_ps(a, zero, _CMP_EQ_OQ)), _mm256_cmp_ps(a, vhi, _CMP_LE_OQ));
    const __m256d lo = _mm256_div_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)), nd), hd);
    const __m256d up = _mm256_div_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)), nd), hd);
    // kept quotients lie in [0, n]: truncation is floor; dropped lanes are replaced below
    __m256i k = _mm256_set_m128i(_mm256_cvttpd_epi32(up), _mm256_cvttpd_epi32(lo));
    k = _mm256_min_epi32(k, vn1);
    k = _mm256_blendv_epi8(vn, k, _mm256_castps_si256(keep));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + i), k);
  }
  const double ndS = static_cast<double>(n), hdS = static_cast<double>(hi);
  for (; i < m; i++) {
    const float a = std::fabs(xs[i]);
    const bool keep = (a <= hi) & !(skipZeros & (a == 0.0f));
    idx[i] = keep ? std::min<int32_t>(static_cast<int32_t>((static_cast<double>(a) * ndS) / hdS), n - 1) : n;
  }
}

// max of the kept |x| (not NaN; not zero with skipZeros) over x[0..m) into `mx`; whether any was kept.
__attribute__((target("avx2"))) bool TorchKeptMaxAvx2(const float* x, size_t m, bool skipZeros, float& mx) {
  const __m256 signMask = _mm256_set1_ps(-0.0f), zero = _mm256_setzero_ps(), ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  const __m256 skip = skipZeros ? _mm256_castsi256_ps(_mm256_set1_epi32(-1)) : zero;
  __m256 vm0 = ninf, vm1 = ninf, any = zero;
  size_t i = 0;
  for (; i + 16 <= m; i += 16) {
    for (int h = 0; h < 2; h++) {
      const __m256 a = _mm256_andnot_ps(signMask, _mm256_loadu_ps(x + i + 8 * h));
      const __m256 keep = _mm256_andnot_ps(_mm256_and_ps(skip, _mm256_cmp_ps(a, zero, _CMP_EQ_OQ)), _mm256_cmp_ps(a, a, _CMP_ORD_Q));
      const __m256 v = _mm256_blendv_ps(ninf, a, keep);
      if (h == 0) vm0 = _mm256_max_ps(vm0, v);
      else vm1 = _mm256_max_ps(vm1, v);
      any = _mm256_or_ps(any, keep);
    }
  }
  float t[8];
  _mm256_storeu_ps(t, _mm256_max_ps(vm0, vm1));
  bool kept = _mm256_movemask_ps(any) != 0;
  float r = mx;
  for (float v : t) r = v > r ? v : r;
  for (; i < m; i++) {
    const float a = std::fabs(x[i]);
    if (a != a || (skipZeros && a == 0.0f)) continue;
    kept = true;
    r = a > r ? a : r;
  }
  mx = r;
  return kept;
}

struct TorchCollectBaton : Baton {
  bool hasState = false, skipZeros = false, empty = false;
  HistState state, out;
  View<float> data;
  int64_t numBins = 2048;

  bool Keep(float a) const { return !(a != a) && !(skipZeros && a == 0.0f); }

  // torch.histc-style counts of the kept |x| over [0, hi] with n bins (float64 bin index).
  void Histc(int64_t n, float hi, std::vector<double>& hist) const {
    const int threads = DefaultThreads();
    std::vector<std::vector<int64_t>> local(static_cast<size_t>(threads));
    const double nd = static_cast<double>(n), hd = static_cast<double>(hi);
    ParallelFor(data.size, kChunk, threads, [&](size_t b, size_t e, int w) {
      auto& c = local[w];
      c.assign(static_cast<size_t>(n), 0);
      constexpr size_t kBlock = 2048;
      if (CpuHasAvx2() && hi > 0 && n < (int64_t(1) << 30)) {
        // bin n collects what is dropped
        BinCounter counts(n, c.data());
        int32_t bins[kBlock];
        for (size_t s = b; s < e; s += kBlock) {
          const size_t m = std::min(kBlock, e - s);
          TorchBinsAvx2(data.data + s, m, static_cast<int32_t>(n), hi, skipZeros, bins);
          counts.Add(bins, m);
        }
        return;
      }
      int64_t idx[kBlock];
      for (size_t s = b; s < e; s += kBlock) {
        const size_t m = std::min(kBlock, e - s);
        const float* xs = data.data + s;
        // pass 1 (branch-free): bin of |x| or -1 when dropped / outside [0, hi]
        for (size_t i = 0; i < m; i++) {
          const float a = std::fabs(xs[i]);
          const bool keep = (a <= hi) & !(skipZeros & (a == 0.0f));
          // the quotient is >= 0 and <= n, so truncation is floor
          double g = hi > 0 ? (static_cast<double>(a) * nd) / hd : 0.0;
          g = keep ? g : -1.0;
          idx[i] = static_cast<int64_t>(g);
        }
        for (size_t i = 0; i < m; i++) {
          int64_t k = idx[i];
          if (k < 0) continue;
          if (k >= n) k = n - 1;
          c[k]++;
        }
      }
    });
    for (auto& c : local)
      for (size_t k = 0; k < c.size(); k++) hist[k] += static_cast<double>(c[k]);
  }

  void Execute() override {
    // max of the kept |x| and whether anything is kept
    const int threads = DefaultThreads();
    std::vector<float> pm(static_cast<size_t>(threads), -std::numeric_limits<float>::infinity());
    std::vector<char> pk(static_cast<size_t>(threads), 0);
    ParallelFor(data.size, kChunk, threads, [&](size_t b, size_t e, int w) {
      float m = -std::numeric_limits<float>::infinity();
      if (CpuHasAvx2()) {
        pk[w] = TorchKeptMaxAvx2(data.data + b, e - b, skipZeros, m);
        pm[w] = m;
        return;
      }
      bool any = false;
      for (size_t i = b; i < e; i++) {
        const float a = std::fabs(data.data[i]);
        if (!Keep(a)) continue;
        any = true;
        m = a > m ? a : m;
      }
      pm[w] = m;
      pk[w] = any;
    });
    float xmax = -std::numeric_limits<float>::infinity();
    bool any = false;
    for (int w = 0; w < threads; w++) {
      xmax = pm[w] > xmax ? pm[w] : xmax;
      any |= pk[w] != 0;
    }
    if (!any) {
      empty = true;
      return;
    }
    if (std::isinf(xmax)) throw KernelError("torch histogram: data contains Inf");
    const float oldWidth = hasState ? state.edges[1] - state.edges[0] : 0.0f;
    if (!hasState || oldWidth == 0.0f) {
      out.edges = np::LinspaceF32(0.0f, xmax, numBins);
      out.hist.assign(static_cast<size_t>(numBins), 0.0);
      Histc(numBins, xmax, out.hist);
      if (hasState) {
        double s = 0;
        for (double c : state.hist) s += c;
        out.hist[0] += s;
      }
      return;
    }
    out.edges = state.edges;
    int64_t n = static_cast<int64_t>(state.hist.size());
    if (xmax > out.edges.back()) {
      n = static_cast<int64_t>(std::ceil(static_cast<float>(static_cast<double>(xmax) / static_cast<double>(oldWidth))));
      out.edges.resize(static_cast<size_t>(n + 1));
      for (int64_t i = 0; i <= n; i++) out.edges[i] = static_cast<float>(static_cast<double>(i) * static_cast<double>(oldWidth));
    }
    out.hist.assign(static_cast<size_t>(n), 0.0);
    Histc(n, out.edges[n], out.hist);
    for (size_t i = 0; i < state.hist.size(); i++) out.hist[i] += state.hist[i];
  }
  Napi::Value Result(Napi::Env env) override {
    if (empty) return hasState ? static_cast<Napi::Value>(WriteHistState(env, state, false, false)) : env.Null();
    return WriteHistState(env, out, false, false);
  }
};

}  // namespace

HistState ReadHistState(const Napi::Value& v, const char* name, bool withRange, bool withThreshold) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a histogram object");
  auto o = v.As<Napi::Object>();
  HistState s;
  s.hist = CopyArray<double>(o.Get("hist"), "hist");
  s.edges = CopyArray<float>(o.Get("edges"), "edges");
  if (s.edges.size() != s.hist.size() + 1) throw Napi::RangeError::New(v.Env(), std::string(name) + ": edges must have hist.length + 1 entries");
  if (s.hist.empty()) throw Napi::RangeError::New(v.Env(), std::string(name) + ": empty histogram");
  auto num = [&](const char* k) {
    Napi::Value x = o.Get(k);
    if (!x.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(name) + "." + k + " must be a number");
    return static_cast<float>(x.As<Napi::Number>().DoubleValue());
  };
  if (withRange) {
    s.min = num("min");
    s.max = num("max");
  }
  if (withThreshold) s.threshold = num("threshold");
  return s;
}

Napi::Object WriteHistState(Napi::Env env, const HistState& s, bool withRange, bool withThreshold) {
  auto o = Napi::Object::New(env);
  o.Set("hist", ToTyped(env, s.hist));
  o.Set("edges", ToTyped(env, s.edges));
  if (withRange) {
    o.Set("min", static_cast<double>(s.min));
    o.Set("max", static_cast<double>(s.max));
  }
  if (withThreshold) o.Set("threshold", static_cast<double>(s.threshold));
  return o;
}

Napi::Value OrtHistogramCollect(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<OrtCollectBaton>();
  b->hasState = !info[0].IsNull() && !info[0].IsUndefined();
  if (b->hasState) b->state = ReadHistState(info[0], "state", true, true);
  b->data = Borrow<float>(*b, info[1], "data");
  b->numBins = IntArg(info, 2, "numBins");
  if (b->numBins < 1) throw Napi::RangeError::New(info.Env(), "numBins must be a positive integer");
  return Queue(info.Env(), std::move(b));
}

Napi::Value OrtHistogramMerge(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<OrtMergeBaton>();
  b->a = ReadHistState(info[0], "a", true, true);
  b->b = ReadHistState(info[1], "b", true, true);
  return Queue(info.Env(), std::move(b));
}

Napi::Value OrtAbsHistogramCollect(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<OrtAbsBaton>();
  b->hasState = !info[0].IsNull() && !info[0].IsUndefined();
  if (b->hasState) b->state = ReadHistState(info[0], "state", true, false);
  b->data = Borrow<float>(*b, info[1], "data");
  b->numBins = IntArg(info, 2, "numBins");
  if (b->numBins < 1) throw Napi::RangeError::New(info.Env(), "numBins must be a positive integer");
  return Queue(info.Env(), std::move(b));
}

Napi::Value TorchHistogramCollect(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<TorchCollectBaton>();
  b->hasState = !info[0].IsNull() && !info[0].IsUndefined();
  if (b->hasState) b->state = ReadHistState(info[0], "state", false, false);
  b->data = Borrow<float>(*b, info[1], "data");
  b->numBins = IntArg(info, 2, "numBins");
  b->skipZeros = BoolArg(info, 3);
  if (b->numBins < 1) throw Napi::RangeError::New(info.Env(), "numBins must be a positive integer");
  return Queue(info.Env(), std::move(b));
}

}  // namespace modelopt

#include "calib.h"

#include "common.h"
#include "fdlibm_log.h"
#include "histogram.h"
#include "numpy_compat.h"
#include "quant_math.h"

namespace modelopt {
namespace {

// ---- onnxruntime ---------------------------------------------------------------------------

// smooth_distribution on integer counts (float32 result) whose number of zero bins the caller knows (the search
// has it from prefix counts, without a pass): out[i] = (float)eps where p[i] == 0, else (float)p[i] + (float)-eps1,
// the operations numpy does; false when all counts are zero.
#ifdef __x86_64__
// four bins per step; returns how many it covered and ORs into `bad` whether a result was not positive
__attribute__((target("avx2"))) size_t SmoothAvx2(const double* p, size_t n, float addZero, float addNonzero, float* o, bool& bad) {
  const __m256d zero = _mm256_setzero_pd();
  const __m128 vz = _mm_set1_ps(addZero), vnz = _mm_set1_ps(addNonzero), fzero = _mm_setzero_ps();
  const __m256i evens = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  int positive = 0xF;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d v = _mm256_loadu_pd(p + i);
    const __m128 f = _mm256_cvtpd_ps(v);
    // the four 64-bit p == 0 masks as four 32-bit ones
    const __m128 isZero = _mm_castsi128_ps(_mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(_mm256_cmp_pd(v, zero, _CMP_EQ_OQ)), evens)));
    const __m128 r = _mm_blendv_ps(_mm_add_ps(f, vnz), vz, isZero);
    positive &= _mm_movemask_ps(_mm_cmp_ps(r, fzero, _CMP_GT_OQ));
    _mm_storeu_ps(o + i, r);
  }
  bad |= positive != 0xF;
  return i;
}
#endif
bool Smooth(const double* p, size_t n, size_t zeros, std::vector<float>& out) {
  const size_t nonzeros = n - zeros;
  if (nonzeros == 0) return false;
  const double eps = 0.0001;
  const double eps1 = eps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
  if (!(eps1 < 1.0)) throw KernelError("smooth_distribution: eps1 >= 1 (too many empty bins)");
  const float addZero = static_cast<float>(eps);
  const float addNonzero = static_cast<float>(-eps1);
  out.resize(n);
  float* o = out.data();
  bool bad = false;
  size_t i = 0;
#ifdef __x86_64__
  if (CpuHasAvx2()) i = SmoothAvx2(p, n, addZero, addNonzero, o, bad);
#endif
  for (; i < n; i++) {
    const float v = p[i] == 0 ? addZero : static_cast<float>(p[i]) + addNonzero;
    o[i] = v;
    bad |= !(v > 0);
  }
  if (bad) throw KernelError("smooth_distribution produced a non-positive entry");
  return true;
}

// The element-wise terms of the entropy sums, p * log(p / q), with the logarithms from fdlibm (V8's
// Math.log, so equal to the TS reference's). The scalar forms define the values; the AVX2 forms compute
// the same IEEE operations four (float64) or eight (float32) lanes at a time in one pass, and hand any
// lane whose quotient is not a positive normal float64 (where Log4 does not apply) to the scalar form.

// onnxruntime's entropy in float32: a = pk / sp, b = qk / sq, v = a * (float)log((double)(a / b)) where
// a > 0 and b > 0; 0 where a == 0 and b >= 0; +Inf otherwise. a and b are kept for nothing else.
inline float OrtTerm(float pk, float qk, float sp, float sq) {
  const float a = pk / sp;
  const float b = qk / sq;
  if (a > 0 && b > 0) return a * static_cast<float>(fdlibm::Log(static_cast<double>(a / b)));
  return a == 0 && b >= 0 ? 0.0f : std::numeric_limits<float>::infinity();
}
// scipy's entropy terms in float64 from p and q already divided by their sums.
inline double KlTerm(double p, double q) {
  if (p > 0 && q > 0) return p * fdlibm::Log(p / q);
  return p == 0 && q >= 0 ? 0.0 : std::numeric_limits<double>::infinity();
}

#ifdef __x86_64__
// lanes of x that are not positive normal finite float64 (Log4's domain)
__attribute__((target("avx2"))) inline bool OutsideLog4(__m256d x) {
  const __m256i b = _mm256_castpd_si256(x);
  const __m256i bad = _mm256_or_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(0x0010000000000000LL), b),
                                      _mm256_cmpgt_epi64(b, _mm256_set1_epi64x(0x7fefffffffffffffLL)));
  return !_mm256_testz_si256(bad, bad);
}
__attribute__((target("avx2"))) void OrtTermsAvx2(const float* pk, const float* qk, size_t n, float sp, float sq, float* v) {
  const __m256 vsp = _mm256_set1_ps(sp), vsq = _mm256_set1_ps(sq), zero = _mm256_setzero_ps();
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 a = _mm256_div_ps(_mm256_loadu_ps(pk + i), vsp);
    const __m256 b = _mm256_div_ps(_mm256_loadu_ps(qk + i), vsq);
    const __m256 pos = _mm256_and_ps(_mm256_cmp_ps(a, zero, _CMP_GT_OQ), _mm256_cmp_ps(b, zero, _CMP_GT_OQ));
    const __m256 r = _mm256_blendv_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(a, b), pos);
    const __m256d rl = _mm256_cvtps_pd(_mm256_castps256_ps128(r)), rh = _mm256_cvtps_pd(_mm256_extractf128_ps(r, 1));
    if (OutsideLog4(rl) || OutsideLog4(rh)) {
      for (size_t k = i; k < i + 8; k++) v[k] = OrtTerm(pk[k], qk[k], sp, sq);
      continue;
    }
    const __m256 logs = _mm256_set_m128(_mm256_cvtpd_ps(fdlibm::Log4(rh)), _mm256_cvtpd_ps(fdlibm::Log4(rl)));
    const __m256 special = _mm256_andnot_ps(_mm256_and_ps(_mm256_cmp_ps(a, zero, _CMP_EQ_OQ), _mm256_cmp_ps(b, zero, _CMP_GE_OQ)), inf);
    _mm256_storeu_ps(v + i, _mm256_blendv_ps(special, _mm256_mul_ps(a, logs), pos));
  }
  for (; i < n; i++) v[i] = OrtTerm(pk[i], qk[i], sp, sq);
}
__attribute__((target("avx2"))) void KlTermsAvx2(const double* p, const double* q, size_t n, double* v) {
  const __m256d zero = _mm256_setzero_pd(), inf = _mm256_set1_pd(std::numeric_limits<double>::infinity());
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d a = _mm256_loadu_pd(p + i), b = _mm256_loadu_pd(q + i);
    const __m256d pos = _mm256_and_pd(_mm256_cmp_pd(a, zero, _CMP_GT_OQ), _mm256_cmp_pd(b, zero, _CMP_GT_OQ));
    const __m256d r = _mm256_blendv_pd(_mm256_set1_pd(1.0), _mm256_div_pd(a, b), pos);
    if (OutsideLog4(r)) {
      for (size_t k = i; k < i + 4; k++) v[k] = KlTerm(p[k], q[k]);
      continue;
    }
    const __m256d special = _mm256_andnot_pd(_mm256_and_pd(_mm256_cmp_pd(a, zero, _CMP_EQ_OQ), _mm256_cmp_pd(b, zero, _CMP_GE_OQ)), inf);
    _mm256_storeu_pd(v + i, _mm256_blendv_pd(special, _mm256_mul_pd(a, fdlibm::Log4(r)), pos));
  }
  for (; i < n; i++) v[i] = KlTerm(p[i], q[i]);
}
#endif

void OrtTerms(const float* pk, const float* qk, size_t n, float sp, float sq, float* v) {
#ifdef __x86_64__
  if (CpuHasAvx2()) return OrtTermsAvx2(pk, qk, n, sp, sq, v);
#endif
  for (size_t i = 0; i < n; i++) v[i] = OrtTerm(pk[i], qk[i], sp, sq);
}
void KlTerms(const double* p, const double* q, size_t n, double* v) {
#ifdef __x86_64__
  if (CpuHasAvx2()) return KlTermsAvx2(p, q, n, v);
#endif
  for (size_t i = 0; i < n; i++) v[i] = KlTerm(p[i], q[i]);
}

// Running sums over histogram bins: of the counts (sum[i] = bins[0] + ... + bins[i-1], added in that order) and of
// the non-empty bins; `integral` when the counts are whole numbers whose total is below 2^53, so that any sum of
// them is exact in any order.
struct BinPrefix {
  std::vector<double> sum, nonzero;
  bool integral = false;
};
BinPrefix PrefixOf(const std::vector<double>& bins) {
  const size_t n = bins.size();
  BinPrefix r{std::vector<double>(n + 1, 0.0), std::vector<double>(n + 1, 0.0), false};
  r.integral = true;
  for (size_t i = 0; i < n; i++) {
    r.sum[i + 1] = r.sum[i] + bins[i];
    r.nonzero[i + 1] = r.nonzero[i] + (bins[i] != 0 ? 1.0 : 0.0);
    r.integral = r.integral && bins[i] >= 0 && bins[i] == std::floor(bins[i]);
  }
  r.integral = r.integral && r.sum[n] < 9007199254740992.0;
  return r;
}

// Scratch of one entropy evaluation (one per thread).
struct EntropyScratch {
  std::vector<float> vf;
  std::vector<double> v;
};

// onnxruntime's entropy(p, q) in float32 with numpy pairwise sums.
float OrtEntropy(const std::vector<float>& pk, const std::vector<float>& qk, EntropyScratch& w) {
  const size_t n = pk.size();
  const float sp = np::PairwiseSum(pk.data(), n);
  const float sq = np::PairwiseSum(qk.data(), n);
  w.vf.resize(n);
  OrtTerms(pk.data(), qk.data(), n, sp, sq, w.vf.data());
  return np::PairwiseSum(w.vf.data(), n);
}

struct OrtEntropyBaton : Baton {
  HistState h;
  int64_t nq = 128;
  float low = 0, high = 0;
  std::vector<float> div;  // per candidate window, smallest first
  void Execute() override {
    const auto& hist = h.hist;
    const int64_t numBins = static_cast<int64_t>(hist.size());
    const int64_t zero = numBins / 2;
    const int64_t halfQ = nq / 2;
    const int64_t nCand = zero - halfQ + 1;
    if (nq < 1) throw KernelError("numQuantizedBins must be positive");
    if (nCand < 1) throw KernelError("histogram has fewer bins than num_quantized_bins");
    const BinPrefix pre = PrefixOf(hist);
    const std::vector<double>& prefix = pre.sum;
    const std::vector<double>& nonzero = pre.nonzero;
    const bool integral = pre.integral;
    div.assign(static_cast<size_t>(nCand), 0.0f);
    // A candidate costs in proportion to its window (129 to 2049 bins here): each worker takes every T-th
    // candidate (T workers) rather than a contiguous run, which left the first worker idle for half the search.
    const size_t lanes = std::min<size_t>(static_cast<size_t>(DefaultThreads()), static_cast<size_t>(nCand));
    ParallelFor(lanes, 1, static_cast<int>(lanes), [&](size_t lb, size_t le, int) {
      std::vector<double> p, q, qb(static_cast<size_t>(nq));
      std::vector<float> ps, qs;
      EntropyScratch scratch;
      for (size_t lane = lb; lane < le; lane++)
      for (size_t c = lane; c < static_cast<size_t>(nCand); c += lanes) {
        const int64_t i = static_cast<int64_t>(c) + halfQ;
        const int64_t start = zero - i;
        const int64_t end = std::min(zero + i + 1, numBins);
        const int64_t size = end - start;
        p.assign(hist.begin() + start, hist.begin() + end);
        p[0] += prefix[start];
        p[size - 1] += prefix[numBins] - prefix[end];
        const int64_t merged = size / nq;
        // sums of whole counts: exact in any order while the total stays below 2^53, so from the prefix sums
        if (integral) {
          for (int64_t b = 0; b < nq; b++) qb[b] = prefix[start + (b + 1) * merged] - prefix[start + b * merged];
          qb[nq - 1] += prefix[end] - prefix[start + nq * merged];
        } else {
          for (int64_t b = 0; b < nq; b++) {
            double s = 0;
            for (int64_t k = b * merged; k < b * merged + merged; k++) s += hist[start + k];
            qb[b] = s;
          }
          for (int64_t k = nq * merged; k < size; k++) qb[nq - 1] += hist[start + k];
        }
        q.assign(static_cast<size_t>(size), 0.0);
        // non-empty bins of p in [s0, s0 + len): the source bins' count from its prefix, corrected at the two
        // folded ends
        const auto nonzeroP = [&](int64_t s0, int64_t len) -> double {
          double count = nonzero[start + s0 + len] - nonzero[start + s0];
          const auto correct = [&](int64_t k) {
            if (k >= s0 && k < s0 + len) count += (p[k] != 0 ? 1 : 0) - (hist[start + k] != 0 ? 1 : 0);
          };
          correct(0);
          if (size > 1) correct(size - 1);  // one bin: both folds landed on it, corrected once
          return count;
        };
        size_t nonzeroQ = 0;
        for (int64_t b = 0; b < nq; b++) {
          const int64_t s0 = b * merged;
          const double norm = nonzeroP(s0, merged);
          if (norm != 0) {
            const double v = std::trunc(qb[b] / norm);
            for (int64_t k = s0; k < s0 + merged; k++) q[k] = v;
            if (v != 0) nonzeroQ += static_cast<size_t>(merged);
          }
        }
        const size_t usize = static_cast<size_t>(size);
        const bool okP = Smooth(p.data(), usize, usize - static_cast<size_t>(nonzeroP(0, size)), ps);
        const bool okQ = Smooth(q.data(), usize, usize - nonzeroQ, qs);
        div[c] = (!okP || !okQ) ? std::numeric_limits<float>::infinity() : OrtEntropy(ps, qs, scratch);
      }
    });
    // np.argmin: the first NaN if any, else the first minimum
    int64_t sel = -1;
    for (int64_t c = 0; c < nCand; c++)
      if (std::isnan(div[c])) {
        sel = c;
        break;
      }
    if (sel < 0) {
      float best = std::numeric_limits<float>::infinity();
      for (int64_t c = 0; c < nCand; c++)
        if (div[c] < best) {
          best = div[c];
          sel = c;
        }
      if (sel < 0) sel = 0;
    }
    const int64_t i = sel + halfQ;
    low = h.edges[zero - i];
    high = h.edges[std::min(zero + i + 1, numBins)];
    if (low < h.min) low = h.min;
    if (high > h.max) high = h.max;
  }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("low", static_cast<double>(low));
    o.Set("high", static_cast<double>(high));
    o.Set("divergences", ToTyped(env, div));
    return o;
  }
};

// np.searchsorted(np.cumsum(hist / total), v) (left) with float64 cumsum.
int64_t PercentileIndex(const std::vector<double>& hist, double v) {
  double total = 0;
  for (double c : hist) total += c;
  double c = 0;
  for (size_t i = 0; i < hist.size(); i++) {
    c += hist[i] / total;
    if (c >= v) return static_cast<int64_t>(i);
  }
  return static_cast<int64_t>(hist.size());
}

struct OrtPercentileBaton : Baton {
  HistState h;
  double percentile = 99.999;
  bool symmetric = true;
  float low = 0, high = 0;
  void Execute() override {
    if (symmetric) {
      high = h.edges[PercentileIndex(h.hist, percentile / 100.0)];
      low = -high;
    } else {
      const double cut = (100.0 - percentile) / 200.0;
      high = h.edges[PercentileIndex(h.hist, 1.0 - cut)];
      low = h.edges[PercentileIndex(h.hist, cut)];
    }
    if (low < h.min) low = h.min;
    if (high > h.max) high = h.max;
  }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("low", static_cast<double>(low));
    o.Set("high", static_cast<double>(high));
    return o;
  }
};

struct OrtDistributionBaton : Baton {
  HistState h;
  bool p3 = false;
  float avg = 0, stdv = 0, lowest = 0, highest = 0;
  void Execute() override {
    const size_t n = h.hist.size();
    std::vector<float> values(n);
    for (size_t i = 0; i < n; i++) values[i] = (h.edges[i] + h.edges[i + 1]) * 0.5f;
    if (p3) {
      const float power = static_cast<float>(1.0 / 3.0);
      for (size_t i = 0; i < n; i++) {
        const float v = values[i];
        float fact = std::fabs(v) / v;
        if (!std::isfinite(fact)) fact = 1.0f;
        values[i] = static_cast<float>(std::pow(static_cast<double>(std::fabs(v)), static_cast<double>(power))) * fact;
      }
    }
    std::vector<double> hv(n), hv2(n);
    double total = 0;
    for (size_t i = 0; i < n; i++) {
      hv[i] = h.hist[i] * static_cast<double>(values[i]);
      hv2[i] = h.hist[i] * static_cast<double>(values[i] * values[i]);
      total += h.hist[i];
    }
    const double a = np::PairwiseSum(hv.data(), n) / total;
    const double s = std::pow(np::PairwiseSum(hv2.data(), n) / total - a * a, 0.5);
    avg = static_cast<float>(a);
    stdv = static_cast<float>(s);
    lowest = std::numeric_limits<float>::infinity();
    highest = -lowest;
    for (float e : h.edges) {
      lowest = e < lowest ? e : lowest;
      highest = e > highest ? e : highest;
    }
  }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("avg", static_cast<double>(avg));
    o.Set("std", static_cast<double>(stdv));
    o.Set("lowest", static_cast<double>(lowest));
    o.Set("highest", static_cast<double>(highest));
    return o;
  }
};

// ---- ModelOpt torch calibrators -------------------------------------------------------------

// scipy.stats.entropy(p, q) in float64 (pairwise sums), matching reference.ts klDivergence, given
// pd = p / sum(p) and qd = q / sum(q) already divided.
double KlDivergenceScaled(const double* pd, const double* qd, size_t n, EntropyScratch& w) {
  w.v.resize(n);
  KlTerms(pd, qd, n, w.v.data());
  return np::PairwiseSum(w.v.data(), n);
}

struct TorchEntropyBaton : Baton {
  HistState h;
  int64_t numBits = 8, startBin = 128, stride = 1;
  bool isUnsigned = false;
  float amax = 0;
  void Execute() override {
    if (stride < 1) throw KernelError("stride must be >= 1");
    if (startBin < 1) throw KernelError("startBin must be >= 1");
    if (numBits < 1 || numBits > 30) throw KernelError("numBits out of range");
    std::vector<double> bins = h.hist;
    if (bins.size() > 1) bins[0] = bins[1];
    const int64_t nLevels = int64_t(1) << (numBits - 1 + (isUnsigned ? 1 : 0));
    const int64_t stop = static_cast<int64_t>(bins.size());
    std::vector<double> suffix(static_cast<size_t>(stop + 1), 0.0);
    for (int64_t i = stop - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + bins[i];
    const BinPrefix pre = PrefixOf(bins);
    const std::vector<double>& prefix = pre.sum;
    const std::vector<double>& nonzero = pre.nonzero;
    const double totalData = prefix[stop];
    std::vector<int64_t> cands;
    for (int64_t i = startBin; i <= stop; i += stride) cands.push_back(i);
    // Integer counts whose total is below 2^53 add up exactly in any order, so sum(p) (the source bins,
    // the tail folded into the last one) is the total itself; otherwise it is summed as numpy would.
    const bool integral = pre.integral;
    std::vector<double> ent(cands.size());
    // A candidate costs in proportion to its bin count: each worker takes every T-th candidate (T
    // workers) rather than a contiguous run, so that all finish together.
    const size_t lanes = std::min<size_t>(static_cast<size_t>(DefaultThreads()), cands.size());
    ParallelFor(lanes, 1, static_cast<int>(lanes), [&](size_t lb, size_t le, int) {
      std::vector<double> p, q, qd, cachedPd(static_cast<size_t>(stop));
      double cachedSp = std::numeric_limits<double>::quiet_NaN();
      int64_t cachedUpTo = 0;
      EntropyScratch scratch;
      std::vector<int64_t> starts(static_cast<size_t>(nLevels + 1));
      std::vector<double> levelAvg(static_cast<size_t>(nLevels));
      for (size_t lane = lb; lane < le; lane++)
        for (size_t c = lane; c < cands.size(); c += lanes) {
          const int64_t i = cands[c];
          const double step = static_cast<double>(i) / static_cast<double>(nLevels);
          // level l holds the source bins j with l*step <= j < (l+1)*step (np.digitize on
          // linspace(0, i, nLevels + 1)); its sums come from exact integer prefix sums
          for (int64_t l = 0; l < nLevels; l++) {
            const int64_t st = static_cast<int64_t>(std::ceil(static_cast<double>(l) * step));
            starts[l] = std::min<int64_t>(std::max<int64_t>(st, 0), i);
          }
          starts[nLevels] = i;
          // q: the level's average on its non-zero source bins (the levels tile [0, i))
          q.resize(static_cast<size_t>(i));
          qd.resize(static_cast<size_t>(i));
          double totalNew = 0;
          for (int64_t l = 0; l < nLevels; l++) {
            const int64_t a = starts[l], e = std::max(starts[l], starts[l + 1]);
            const double cnt = nonzero[e] - nonzero[a];
            const double avg = cnt > 0 ? (prefix[e] - prefix[a]) / cnt : 0.0;
            levelAvg[l] = avg;
            for (int64_t j = a; j < e; j++) q[j] = bins[j] != 0 ? avg : 0.0;
            totalNew += avg * cnt;  // only checked against the total after rounding
          }
          const double tail = suffix[i];
          totalNew += tail;
          const double last = bins[i - 1] + tail;  // p[i - 1]; p[j] = bins[j] below
          const double totalOld = prefix[i] + tail;
          if (std::round(totalNew) != totalData || std::round(totalOld) != totalData) {
            throw KernelError("Count mismatch in the entropy calibrator");
          }
          double sp;
          if (integral) sp = totalOld;
          else {
            p.assign(bins.begin(), bins.begin() + i);
            p[i - 1] = last;
            sp = np::PairwiseSum(p.data(), static_cast<size_t>(i));
          }
          const double sq = np::PairwiseSum(q.data(), static_cast<size_t>(i));
          // p / sum(p) and q / sum(q) as the reference divides them, with fewer divisions: below its last
          // element p is the source bins, so while sum(p) repeats the earlier quotients are reused (the
          // last slot is written for this candidate and recomputed for the next); q is one value per level.
          if (!(sp == cachedSp)) {
            cachedSp = sp;
            cachedUpTo = 0;
          }
          for (; cachedUpTo < i - 1; cachedUpTo++) cachedPd[cachedUpTo] = bins[cachedUpTo] / sp;
          cachedPd[i - 1] = last / sp;
          cachedUpTo = std::min(cachedUpTo, i - 1);
          // q / sum(q): one division per level (a level with no non-zero bin writes only zeros)
          const double zero = 0.0 / sq;
          for (int64_t l = 0; l < nLevels; l++) {
            const double v = levelAvg[l] / sq;
            for (int64_t j = starts[l], e = std::max(starts[l], starts[l + 1]); j < e; j++) qd[j] = bins[j] != 0 ? v : zero;
          }
          ent[c] = KlDivergenceScaled(cachedPd.data(), qd.data(), static_cast<size_t>(i), scratch);
        }
    });
    double best = std::numeric_limits<double>::infinity();
    int64_t bestI = -1;
    for (size_t c = 0; c < cands.size(); c++)
      if (ent[c] <= best) {
        best = ent[c];
        bestI = cands[c];
      }
    if (bestI < 0) bestI = startBin <= stop ? startBin + ((stop - startBin) / stride) * stride : stop;
    amax = h.edges[std::min<int64_t>(bestI, static_cast<int64_t>(h.edges.size()) - 1)];
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, amax); }
};

// qm::FakeQuantInt over a row with its amax test hoisted (am >= 2^-24 here) and np::Rint's range test as a
// select: the same operations in the same order, so bit-identical, with no branch in the loop. calib.cc is
// compiled with -fno-trapping-math (native/CMakeLists.txt), which lets GCC turn the selects into vector
// blends (values are IEEE's either way; only floating-point exception flags are not kept): the MSE search's
// fake-quant loop then runs four lanes wide.
static void FakeQuantIntRow(const float* x, float* out, int64_t n, float am, float bound, float lo) {
  const float scale = bound / am;
  for (int64_t k = 0; k < n; k++) {
    const float v = x[k] * scale;
    const float av = std::fabs(v);
    const float r = std::copysign((av + 8388608.0f) - 8388608.0f, v);
    float o = av < 8388608.0f ? r : v;
    o = o > bound ? bound : o;
    o = o < lo ? lo : o;
    out[k] = o / scale;
  }
}

struct TorchMseBaton : Baton {
  HistState h;
  int64_t numBits = 8, startBin = 128, stride = 1;
  bool isUnsigned = false, e4m3 = false, none = false;
  float amax = 0;
  void Execute() override {
    if (stride < 1) throw KernelError("stride must be >= 1");
    if (!e4m3 && (numBits < 2 || numBits > 16)) throw KernelError("numBits must be in [2, 16]");
    const int64_t n = static_cast<int64_t>(h.hist.size());
    std::vector<float> centres(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++) centres[i] = (h.edges[i + 1] + h.edges[i]) / 2.0f;
    const float bound = static_cast<float>((int64_t(1) << (numBits - 1 + (isUnsigned ? 1 : 0))) - 1);
    const float lo = isUnsigned ? 0.0f : -bound;
    std::vector<int64_t> cands;
    for (int64_t i = startBin; i < n; i += stride) cands.push_back(i);
    std::vector<double> mse(cands.size());
    ParallelFor(cands.size(), 16, 0, [&](size_t cb, size_t ce, int) {
      std::vector<double> terms(static_cast<size_t>(n));
      std::vector<float> fq(static_cast<size_t>(n));
      for (size_t c = cb; c < ce; c++) {
        const float am = centres[cands[c]];
        // one loop per quantizer, chosen outside it (a choice inside kept the compiler from hoisting
        // the per-candidate work: 12 -> 4.5 ms on 2048 bins); the float fake-quant and the double error
        // terms in separate loops, each of which the compiler vectorises (the two in one loop it did not)
        if (e4m3) {
          const float s = 448.0f / am;
          for (int64_t k = 0; k < n; k++) fq[k] = qm::FakeQuantE4M3(centres[k], s, true);
        } else if (am < qm::kEps24) {
          std::fill(fq.begin(), fq.end(), 0.0f);
        } else {
          FakeQuantIntRow(centres.data(), fq.data(), n, am, bound, lo);
        }
        for (int64_t k = 0; k < n; k++) {
          const double d = static_cast<double>(fq[k]) - static_cast<double>(centres[k]);
          terms[k] = d * d * h.hist[k];
        }
        mse[c] = np::PairwiseSum(terms.data(), static_cast<size_t>(n)) / static_cast<double>(n);
      }
    });
    double best = std::numeric_limits<double>::infinity();
    int64_t bestI = -1;
    for (size_t c = 0; c < cands.size(); c++)
      if (mse[c] < best) {
        best = mse[c];
        bestI = cands[c];
      }
    if (bestI < 0) {
      if (n > startBin) bestI = startBin;
      else {
        none = true;
        return;
      }
    }
    amax = centres[bestI];
  }
  Napi::Value Result(Napi::Env env) override { return none ? env.Null() : Napi::Number::New(env, amax); }
};

struct TorchPercentileBaton : Baton {
  HistState h;
  double percentile = 99.99;
  float amax = 0;
  void Execute() override {
    int64_t idx = PercentileIndex(h.hist, percentile / 100.0);
    amax = h.edges[std::min<int64_t>(idx, static_cast<int64_t>(h.edges.size()) - 1)];
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, amax); }
};

void CheckPercentile(const Napi::CallbackInfo& info, double p) {
  if (!(p >= 0 && p <= 100)) throw Napi::RangeError::New(info.Env(), "Invalid percentile. Must be in range 0 <= percentile <= 100.");
}

}  // namespace

Napi::Value OrtEntropyThreshold(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<OrtEntropyBaton>();
  b->h = ReadHistState(info[0], "histogram", true, false);
  b->nq = IntArg(info, 1, "numQuantizedBins");
  return Queue(info.Env(), std::move(b));
}

Napi::Value OrtPercentile(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<OrtPercentileBaton>();
  b->h = ReadHistState(info[0], "histogram", true, false);
  b->percentile = NumberArg(info, 1, "percentile");
  CheckPercentile(info, b->percentile);
  b->symmetric = BoolArg(info, 2);
  return Queue(info.Env(), std::move(b));
}

Napi::Value OrtDistribution(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<OrtDistributionBaton>();
  b->h = ReadHistState(info[0], "histogram", false, false);
  b->p3 = BoolArg(info, 1);
  if (b->h.hist.size() < 512) throw Napi::RangeError::New(info.Env(), "Invalid num_bins. Must be in range 512 <= num_bins.");
  return Queue(info.Env(), std::move(b));
}

Napi::Value TorchEntropyAmax(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<TorchEntropyBaton>();
  b->h = ReadHistState(info[0], "histogram", false, false);
  b->numBits = IntArg(info, 1, "numBits");
  b->isUnsigned = BoolArg(info, 2);
  b->startBin = IntArg(info, 3, "startBin");
  b->stride = IntArg(info, 4, "stride");
  return Queue(info.Env(), std::move(b));
}

Napi::Value TorchMseAmax(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<TorchMseBaton>();
  b->h = ReadHistState(info[0], "histogram", false, false);
  b->numBits = IntArg(info, 1, "numBits");
  b->isUnsigned = BoolArg(info, 2);
  b->startBin = IntArg(info, 3, "startBin");
  b->stride = IntArg(info, 4, "stride");
  b->e4m3 = BoolArg(info, 5);
  return Queue(info.Env(), std::move(b));
}

Napi::Value TorchPercentileAmax(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<TorchPercentileBaton>();
  b->h = ReadHistState(info[0], "histogram", false, false);
  b->percentile = NumberArg(info, 1, "percentile");
  CheckPercentile(info, b->percentile);
  return Queue(info.Env(), std::move(b));
}

}  // namespace modelopt

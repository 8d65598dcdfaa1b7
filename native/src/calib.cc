#include "calib.h"

#include "common.h"
#include "fdlibm_log.h"
#include "histogram.h"
#include "numpy_compat.h"
#include "quant_math.h"

namespace modelopt {
namespace {

// ---- onnxruntime ---------------------------------------------------------------------------

// smooth_distribution on integer counts (float32 result); false when all counts are zero.
bool Smooth(const double* p, size_t n, std::vector<float>& out) {
  size_t zeros = 0;
  for (size_t i = 0; i < n; i++) zeros += p[i] == 0 ? 1 : 0;
  const size_t nonzeros = n - zeros;
  if (nonzeros == 0) return false;
  const double eps = 0.0001;
  const double eps1 = eps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
  if (!(eps1 < 1.0)) throw KernelError("smooth_distribution: eps1 >= 1 (too many empty bins)");
  const float addZero = static_cast<float>(eps);
  const float addNonzero = static_cast<float>(-eps1);
  out.resize(n);
  float* o = out.data();
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    const float v = p[i] == 0 ? addZero : static_cast<float>(p[i]) + addNonzero;
    o[i] = v;
    bad |= !(v > 0);
  }
  if (bad) throw KernelError("smooth_distribution produced a non-positive entry");
  return true;
}

// Element-wise parts of the entropy sums, in passes around one batch of logarithms (fdlibm::LogArray,
// four per AVX2 vector): the quotients, then the terms p * log(p / q).
inline void OrtRatios(const float* pk, const float* qk, size_t n, float sp, float sq, float* p, float* q, double* ratio) {
  for (size_t i = 0; i < n; i++) {
    const float a = pk[i] / sp;
    const float b = qk[i] / sq;
    const float r = a / b;
    p[i] = a;
    q[i] = b;
    ratio[i] = a > 0 && b > 0 ? static_cast<double>(r) : 1.0;
  }
}
inline void OrtTerms(const float* p, const float* q, const double* logs, size_t n, float* v) {
  const float inf = std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; i++) {
    const float t = p[i] * static_cast<float>(logs[i]);
    v[i] = p[i] > 0 && q[i] > 0 ? t : (p[i] == 0 && q[i] >= 0 ? 0.0f : inf);
  }
}
inline void ScaledRatios(const double* p, const double* q, size_t n, double* ratio) {
  for (size_t i = 0; i < n; i++) {
    const double r = p[i] / q[i];
    ratio[i] = p[i] > 0 && q[i] > 0 ? r : 1.0;
  }
}
inline void KlTerms(const double* p, const double* q, double* v, size_t n) {
  const double inf = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < n; i++) {
    const double t = p[i] * v[i];
    v[i] = p[i] > 0 && q[i] > 0 ? t : (p[i] == 0 && q[i] >= 0 ? 0.0 : inf);
  }
}

// Scratch of one entropy evaluation (one per thread).
struct EntropyScratch {
  std::vector<float> pf, qf, vf;
  std::vector<double> ratio;
};

// onnxruntime's entropy(p, q) in float32 with numpy pairwise sums (the logarithms in float64, all at
// once: fdlibm::LogArray).
float OrtEntropy(const std::vector<float>& pk, const std::vector<float>& qk, EntropyScratch& w) {
  const size_t n = pk.size();
  const float sp = np::PairwiseSum(pk.data(), n);
  const float sq = np::PairwiseSum(qk.data(), n);
  w.pf.resize(n);
  w.qf.resize(n);
  w.vf.resize(n);
  w.ratio.resize(n);
  OrtRatios(pk.data(), qk.data(), n, sp, sq, w.pf.data(), w.qf.data(), w.ratio.data());
  fdlibm::LogArray(w.ratio.data(), w.ratio.data(), n);
  OrtTerms(w.pf.data(), w.qf.data(), w.ratio.data(), n, w.vf.data());
  return np::PairwiseSum(w.vf.data(), n);
}

struct OrtEntropyBaton : Baton {
  HistState h;
  int64_t nq = 128;
  float low = 0, high = 0;
  void Execute() override {
    const auto& hist = h.hist;
    const int64_t numBins = static_cast<int64_t>(hist.size());
    const int64_t zero = numBins / 2;
    const int64_t halfQ = nq / 2;
    const int64_t nCand = zero - halfQ + 1;
    if (nq < 1) throw KernelError("numQuantizedBins must be positive");
    if (nCand < 1) throw KernelError("histogram has fewer bins than num_quantized_bins");
    std::vector<double> prefix(static_cast<size_t>(numBins + 1), 0.0);
    for (int64_t i = 0; i < numBins; i++) prefix[i + 1] = prefix[i] + hist[i];
    std::vector<float> div(static_cast<size_t>(nCand));
    ParallelFor(static_cast<size_t>(nCand), 16, 0, [&](size_t cb, size_t ce, int) {
      std::vector<double> p, q, qb(static_cast<size_t>(nq));
      std::vector<float> ps, qs;
      EntropyScratch scratch;
      for (size_t c = cb; c < ce; c++) {
        const int64_t i = static_cast<int64_t>(c) + halfQ;
        const int64_t start = zero - i;
        const int64_t end = std::min(zero + i + 1, numBins);
        const int64_t size = end - start;
        p.assign(hist.begin() + start, hist.begin() + end);
        p[0] += prefix[start];
        p[size - 1] += prefix[numBins] - prefix[end];
        const int64_t merged = size / nq;
        for (int64_t b = 0; b < nq; b++) {
          double s = 0;
          for (int64_t k = b * merged; k < b * merged + merged; k++) s += hist[start + k];
          qb[b] = s;
        }
        for (int64_t k = nq * merged; k < size; k++) qb[nq - 1] += hist[start + k];
        q.assign(static_cast<size_t>(size), 0.0);
        for (int64_t b = 0; b < nq; b++) {
          const int64_t s0 = b * merged;
          double norm = 0;
          for (int64_t k = s0; k < s0 + merged; k++) norm += p[k] != 0 ? 1 : 0;
          if (norm != 0) {
            const double v = std::trunc(qb[b] / norm);
            for (int64_t k = s0; k < s0 + merged; k++) q[k] = v;
          }
        }
        const bool okP = Smooth(p.data(), p.size(), ps);
        const bool okQ = Smooth(q.data(), q.size(), qs);
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
  w.ratio.resize(n);
  ScaledRatios(pd, qd, n, w.ratio.data());
  fdlibm::LogArray(w.ratio.data(), w.ratio.data(), n);
  KlTerms(pd, qd, w.ratio.data(), n);
  return np::PairwiseSum(w.ratio.data(), n);
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
    double totalData = 0;
    for (double b : bins) totalData += b;
    const int64_t nLevels = int64_t(1) << (numBits - 1 + (isUnsigned ? 1 : 0));
    const int64_t stop = static_cast<int64_t>(bins.size());
    std::vector<double> suffix(static_cast<size_t>(stop + 1), 0.0);
    for (int64_t i = stop - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + bins[i];
    std::vector<double> prefix(static_cast<size_t>(stop + 1), 0.0), nonzero(static_cast<size_t>(stop + 1), 0.0);
    for (int64_t i = 0; i < stop; i++) {
      prefix[i + 1] = prefix[i] + bins[i];
      nonzero[i + 1] = nonzero[i] + (bins[i] != 0 ? 1.0 : 0.0);
    }
    std::vector<int64_t> cands;
    for (int64_t i = startBin; i <= stop; i += stride) cands.push_back(i);
    std::vector<double> ent(cands.size());
    std::vector<std::string> errors(static_cast<size_t>(DefaultThreads()));
    ParallelFor(cands.size(), 8, 0, [&](size_t cb, size_t ce, int) {
      std::vector<double> p, q, pd, qd, cachedPd(static_cast<size_t>(stop));
      double cachedSp = std::numeric_limits<double>::quiet_NaN();
      int64_t cachedUpTo = 0;
      EntropyScratch scratch;
      std::vector<int64_t> starts(static_cast<size_t>(nLevels + 1));
      for (size_t c = cb; c < ce; c++) {
        const int64_t i = cands[c];
        const double step = static_cast<double>(i) / static_cast<double>(nLevels);
        // level l holds the source bins j with l*step <= j < (l+1)*step (np.digitize on
        // linspace(0, i, nLevels + 1)); its sums come from exact integer prefix sums
        for (int64_t l = 0; l < nLevels; l++) {
          const int64_t st = static_cast<int64_t>(std::ceil(static_cast<double>(l) * step));
          starts[l] = std::min<int64_t>(std::max<int64_t>(st, 0), i);
        }
        starts[nLevels] = i;
        p.assign(static_cast<size_t>(i), 0.0);
        q.assign(static_cast<size_t>(i), 0.0);
        double totalNew = 0;
        for (int64_t l = 0; l < nLevels; l++) {
          const int64_t a = starts[l], e = std::max(starts[l], starts[l + 1]);
          const double sum = prefix[e] - prefix[a];
          const double cnt = nonzero[e] - nonzero[a];
          const double avg = cnt > 0 ? sum / cnt : 0.0;
          for (int64_t j = a; j < e; j++) {
            p[j] = bins[j];
            if (bins[j] != 0) {
              q[j] = avg;
              totalNew += avg;
            }
          }
        }
        const double tail = suffix[i];
        totalNew += tail;
        p[i - 1] += tail;
        const double totalOld = prefix[i] + tail;
        if (std::round(totalNew) != totalData || std::round(totalOld) != totalData) {
          throw KernelError("Count mismatch in the entropy calibrator");
        }
        // p / sum(p) and q / sum(q) as the reference divides them, with fewer divisions: p holds the
        // (fixed) source bins but for its last element, so while sum(p) repeats, the quotients of the
        // previous candidate are reused; q is one value per level.
        const double sp = np::PairwiseSum(p.data(), static_cast<size_t>(i));
        const double sq = np::PairwiseSum(q.data(), static_cast<size_t>(i));
        if (!(sp == cachedSp)) {
          cachedSp = sp;
          cachedUpTo = 0;
        }
        for (; cachedUpTo < i - 1; cachedUpTo++) cachedPd[cachedUpTo] = bins[cachedUpTo] / sp;
        pd.assign(cachedPd.begin(), cachedPd.begin() + (i - 1));
        pd.push_back(p[i - 1] / sp);
        qd.resize(static_cast<size_t>(i));
        const double zero = 0.0 / sq;
        double lastQ = std::numeric_limits<double>::quiet_NaN(), lastQd = 0;
        for (int64_t j = 0; j < i; j++) {
          const double v = q[j];
          if (v == 0) qd[j] = zero;
          else {
            if (!(v == lastQ)) {
              lastQ = v;
              lastQd = v / sq;
            }
            qd[j] = lastQd;
          }
        }
        ent[c] = KlDivergenceScaled(pd.data(), qd.data(), static_cast<size_t>(i), scratch);
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
      for (size_t c = cb; c < ce; c++) {
        const float am = centres[cands[c]];
        // one loop per quantizer, chosen outside it (a choice inside kept the compiler from hoisting
        // the per-candidate work: 12 -> 4.5 ms on 2048 bins)
        if (e4m3) {
          const float s = 448.0f / am;
          for (int64_t k = 0; k < n; k++) {
            const float x = centres[k];
            const double d = static_cast<double>(qm::FakeQuantE4M3(x, s, true)) - static_cast<double>(x);
            terms[k] = d * d * h.hist[k];
          }
        } else {
          for (int64_t k = 0; k < n; k++) {
            const float x = centres[k];
            const double d = static_cast<double>(qm::FakeQuantInt(x, am, bound, lo)) - static_cast<double>(x);
            terms[k] = d * d * h.hist[k];
          }
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

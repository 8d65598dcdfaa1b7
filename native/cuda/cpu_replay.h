// Host (CPU) replays of the native kernel contract (native/reference.ts), used by gpu_bench as
// the correctness oracle and as the multi-threaded CPU baseline. Built with -ffp-contract=off so
// every float operation rounds where the contract rounds.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "quant_math.h"

namespace modelopt {
namespace cpu {

template <typename G>
float pairwiseF32(const G& g, int off, int n) {
  if (n < 8) {
    float r = 0.f;
    for (int i = 0; i < n; ++i) r = r + g(off + i);
    return r;
  }
  if (n <= 128) {
    float r[8];
    for (int j = 0; j < 8; ++j) r[j] = g(off + j);
    int i = 8;
    const int lim = n - (n % 8);
    for (; i < lim; i += 8)
      for (int j = 0; j < 8; ++j) r[j] = r[j] + g(off + i + j);
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res = res + g(off + i);
    return res;
  }
  int n2 = n / 2;
  n2 -= n2 % 8;
  return pairwiseF32(g, off, n2) + pairwiseF32(g, off + n2, n - n2);
}
template <typename G>
double pairwiseF64(const G& g, int off, int n) {
  if (n < 8) {
    double r = 0.;
    for (int i = 0; i < n; ++i) r = r + g(off + i);
    return r;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = g(off + j);
    int i = 8;
    const int lim = n - (n % 8);
    for (; i < lim; i += 8)
      for (int j = 0; j < 8; ++j) r[j] = r[j] + g(off + i + j);
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res = res + g(off + i);
    return res;
  }
  int n2 = n / 2;
  n2 -= n2 % 8;
  return pairwiseF64(g, off, n2) + pairwiseF64(g, off + n2, n - n2);
}

template <typename F>
void parallelFor(size_t n, int threads, F&& f) {  // f(begin, end, threadIndex)
  threads = std::max(1, threads);
  std::vector<std::thread> ts;
  size_t chunk = (n + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    size_t b = t * chunk, e = std::min(n, b + chunk);
    if (b >= e) break;
    ts.emplace_back([&f, b, e, t] { f(b, e, t); });
  }
  for (auto& th : ts) th.join();
}

// np.min / np.max (NaN -> NaN)
inline void minMax(const float* x, size_t n, int threads, float* mn, float* mx) {
  std::vector<float> a(threads, INFINITY), b(threads, -INFINITY);
  std::vector<char> nan(threads, 0);
  parallelFor(n, threads, [&](size_t s, size_t e, int t) {
    float lo = INFINITY, hi = -INFINITY;
    bool nn = false;
    for (size_t i = s; i < e; ++i) {
      float v = x[i];
      if (v != v) nn = true;
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    a[t] = lo;
    b[t] = hi;
    nan[t] = nn;
  });
  float lo = INFINITY, hi = -INFINITY;
  bool nn = false;
  for (int t = 0; t < threads; ++t) {
    lo = std::min(lo, a[t]);
    hi = std::max(hi, b[t]);
    nn = nn || nan[t];
  }
  if (n == 0) lo = hi = 0;
  if (nn) lo = hi = std::numeric_limits<float>::quiet_NaN();
  *mn = lo;
  *mx = hi;
}

// histogram (numpy or histc semantics), per-thread private counts
inline void histogram(const float* x, size_t n, int nbins, float lo, float hi, int mode, bool absValues,
                      const float* edges, int threads, int64_t* counts) {
  std::vector<std::vector<int64_t>> priv(threads, std::vector<int64_t>(nbins, 0));
  const float denom = hi - lo;
  parallelFor(n, threads, [&](size_t s, size_t e, int t) {
    int64_t* c = priv[t].data();
    for (size_t i = s; i < e; ++i) {
      float v = absValues ? std::fabs(x[i]) : x[i];
      int b = mode == 0 ? qm::numpyBin(v, lo, hi, denom, nbins, edges) : qm::histcBin(v, lo, hi, nbins);
      if (b >= 0) c[b]++;
    }
  });
  for (int t = 0; t < threads; ++t)
    for (int b = 0; b < nbins; ++b) counts[b] += priv[t][b];
}

// ORT entropy, one candidate (native/reference.ts ortEntropyThreshold). err != 0 on ORT assertion.
inline float ortEntropyCandidate(const int64_t* h, const int64_t* P, int nbins, int nq, int c, int* err) {
  const int zb = nbins / 2, half = nq / 2;
  const int i = half + c;
  const int start = zb - i, end = std::min(zb + i + 1, nbins), L = end - start;
  const int m = L / nq;
  const int64_t left = P[start], right = P[nbins] - P[end];
  auto pval = [&](int k) -> int64_t {
    int64_t v = h[start + k];
    if (k == 0) v += left;
    if (k == L - 1) v += right;
    return v;
  };
  std::vector<double> qv(nq);
  for (int b = 0; b < nq; ++b) {
    int64_t qb = (m > 0) ? P[start + (b + 1) * m] - P[start + b * m] : 0;
    if (b == nq - 1) qb += P[end] - P[start + nq * m];
    int norm = 0;
    for (int k = b * m; k < b * m + m; ++k) norm += pval(k) != 0;
    qv[b] = norm != 0 ? std::trunc((double)qb / (double)norm) : 0.0;
  }
  auto qval = [&](int k) -> double { return (m > 0 && k < nq * m) ? qv[k / m] : 0.0; };
  int zp = 0, zq = 0;
  for (int k = 0; k < L; ++k) {
    zp += pval(k) == 0;
    zq += qval(k) == 0.0;
  }
  const int nzp = L - zp, nzq = L - zq;
  if (nzp == 0 || nzq == 0) return INFINITY;
  const double e1p = (0.0001 * (double)zp) / (double)nzp;
  const double e1q = (0.0001 * (double)zq) / (double)nzq;
  if (!(e1p < 1.0) || !(e1q < 1.0)) {
    *err = 1;
    return NAN;
  }
  const float addZero = (float)0.0001;
  const float addP = (float)(-e1p), addQ = (float)(-e1q);
  auto smP = [&](int k) -> float {
    int64_t v = pval(k);
    return v == 0 ? 0.f + addZero : (float)(double)v + addP;
  };
  auto smQ = [&](int k) -> float {
    double v = qval(k);
    return v == 0.0 ? 0.f + addZero : (float)v + addQ;
  };
  for (int k = 0; k < L; ++k)
    if (!(smP(k) > 0.f) || !(smQ(k) > 0.f)) {
      *err = 2;
      return NAN;
    }
  const float sp = pairwiseF32(smP, 0, L), sq = pairwiseF32(smQ, 0, L);
  auto term = [&](int k) -> float {
    float p = smP(k) / sp, q = smQ(k) / sq;
    if (p > 0.f && q > 0.f) return p * (float)std::log((double)(p / q));
    if (p == 0.f && q >= 0.f) return 0.f;
    return INFINITY;
  };
  return pairwiseF32(term, 0, L);
}

// torch entropy, one candidate i (bins[0] already replaced; P prefix of bins)
inline double torchEntropyCandidate(const int64_t* b, const int64_t* P, int nbins, int nlev, int i, int* err) {
  std::vector<double> lsum((size_t)nlev, 0.0), lcnt(lsum.size(), 0.0);
  auto level = [&](int j) -> int { return (int)(((long long)j * nlev) / i); };
  for (int j = 0; j < i; ++j)
    if (b[j] != 0) {
      lsum[level(j)] += (double)b[j];
      lcnt[level(j)] += 1.0;
    }
  const double tail = (double)(P[nbins] - P[i]);
  auto qv = [&](int j) -> double { return b[j] == 0 ? 0.0 : lsum[level(j)] / lcnt[level(j)]; };
  auto pv = [&](int j) -> double { return j == i - 1 ? (double)b[j] + tail : (double)b[j]; };
  double tn = 0, to = 0;
  for (int j = 0; j < i; ++j) tn = tn + qv(j);
  tn = tn + tail;
  for (int j = 0; j < i; ++j) to = to + pv(j);
  auto jsRound = [](double x) {
    double r = std::floor(x);
    return (x - r >= 0.5) ? r + 1.0 : r;
  };
  if (jsRound(tn) != (double)P[nbins] || jsRound(to) != (double)P[nbins]) {
    *err = 3;
    return NAN;
  }
  const double sp = pairwiseF64(pv, 0, i), sq = pairwiseF64(qv, 0, i);
  auto term = [&](int j) -> double {
    double pi = pv(j) / sp, qi = qv(j) / sq;
    if (pi > 0 && qi > 0) return pi * std::log(pi / qi);
    if (pi == 0 && qi >= 0) return 0.0;
    return INFINITY;
  };
  return pairwiseF64(term, 0, i);
}

inline double mseCandidate(const int64_t* counts, const float* edges, int nbins, int numBits, bool isUnsigned, int i) {
  auto centre = [&](int k) { return (edges[k + 1] + edges[k]) / 2.0f; };
  const float amax = centre(i);
  const float maxB = numBits > 0 ? qm::intMaxBound(numBits, isUnsigned) : 0.f;
  const float minB = numBits > 0 ? qm::intMinBound(numBits, isUnsigned, true) : 0.f;
  const float s8 = numBits > 0 ? 0.f : 448.0f / amax;
  double acc = 0;
  for (int k = 0; k < nbins; ++k) {
    float x = centre(k);
    float q = numBits > 0 ? qm::fakeQuantInt(x, amax, minB, maxB)
                          : (std::fabs(x) < qm::kMinAmax ? 0.f : qm::fakeE4m3Soft(x * s8) / s8);
    double d = (double)q - (double)x;
    acc = acc + (d * d) * (double)counts[k];
  }
  return acc / (double)nbins;
}

// AWQ replay for one (block b, channel c); x [T, cin], w [cin, cout]. Sequential float32 sums
// of rounded products over k and over tokens: numpy's evaluation order for the original's
// memory layout (checked bit for bit against bench/awq_numpy_ref.py).
inline void awqCell(const float* x, int T, const float* w, int cin, int cout, int bs, int nb, int b, int c,
                    const float* alphas, float* bestAlpha, float* bestLoss, bool pairwise = false) {
  std::vector<float> wv(bs), xv((size_t)T * bs), org(T), wq(bs);
  float am = 0.f;
  for (int k = 0; k < bs; ++k) {
    int r = b * bs + k;
    wv[k] = r < cin ? w[(size_t)r * cout + c] : 0.f;
    float a = std::fabs(wv[k]);
    am = a > am ? a : am;  // NaN ignored
  }
  for (int t = 0; t < T; ++t)
    for (int k = 0; k < bs; ++k) {
      int r = b * bs + k;
      xv[(size_t)t * bs + k] = r < cin ? x[(size_t)t * cin + r] : 0.f;
    }
  auto dot = [&](int t, const std::vector<float>& v) -> float {
    if (pairwise) return pairwiseF32([&](int k) { return xv[(size_t)t * bs + k] * v[k]; }, 0, bs);
    float s = 0.f;
    for (int k = 0; k < bs; ++k) s = s + xv[(size_t)t * bs + k] * v[k];
    return s;
  };
  for (int t = 0; t < T; ++t) org[t] = dot(t, wv);
  std::vector<float> d2(T);
  float best = INFINITY, bestA = 1.0f;
  for (int a = 0; a < 11; ++a) {
    const float s = qm::int4Scale(am, alphas[a]);
    for (int k = 0; k < bs; ++k) wq[k] = qm::int4Code(wv[k], s) * s;
    for (int t = 0; t < T; ++t) {
      float d = org[t] - dot(t, wq);
      d2[t] = d * d;
    }
    float sum = 0.f;
    if (pairwise && nb == 1) sum = pairwiseF32([&](int t) { return d2[t]; }, 0, T);
    else
      for (int t = 0; t < T; ++t) sum = sum + d2[t];
    float loss = sum / (float)T;
    if (loss < best) {
      best = loss;
      bestA = alphas[a];
    }
  }
  bestAlpha[(size_t)b * cout + c] = bestA;
  bestLoss[(size_t)b * cout + c] = best;
}

}  // namespace cpu
}  // namespace modelopt

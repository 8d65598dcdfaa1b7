// Standalone correctness + benchmark driver for the CUDA kernels (no Node needed).
//   gpu_bench [--out DIR] [--quick] [--threads N]
// Checks every GPU kernel against the CPU replay of the contract (cpu_replay.h), then times
//  (1) histogram + entropy statistics over 1 GiB of float32 activations, GPU vs multi-threaded CPU;
//  (2) the AWQ clip search on a 4096x4096 weight with 64 tokens (GPU; numpy baseline is
//      bench/awq_numpy_ref.py on the same inputs, written to DIR).
// Prints one table at the end and writes DIR/gpu_bench.json.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "cpu_replay.h"
#include "cuda_kernels.h"
#include "quant_math.h"

using namespace modelopt;
namespace mc = modelopt::cuda;

// ---------------------------------------------------------------------------------------------
static int g_fail = 0, g_pass = 0;
static std::vector<std::string> g_failures;
static void check(bool ok, const std::string& what) {
  if (ok) {
    ++g_pass;
    std::printf("  [ok]   %s\n", what.c_str());
  } else {
    ++g_fail;
    g_failures.push_back(what);
    std::printf("  [FAIL] %s\n", what.c_str());
  }
  std::fflush(stdout);
}
static bool sameBits(float a, float b) { return qm::f2u(a) == qm::f2u(b) || (a != a && b != b); }
static bool sameBitsD(double a, double b) {
  uint64_t x, y;
  std::memcpy(&x, &a, 8);
  std::memcpy(&y, &b, 8);
  return x == y || (a != a && b != b);
}
template <typename T>
static size_t countDiff(const T* a, const T* b, size_t n) {
  size_t d = 0;
  for (size_t i = 0; i < n; ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) {
      if constexpr (std::is_floating_point<T>::value) {
        if (a[i] != a[i] && b[i] != b[i]) continue;
      }
      ++d;
    }
  return d;
}

// deterministic RNG (splitmix64) — fresh seed per check
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 12345) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uni() { return (float)((next() >> 40) * (1.0 / 16777216.0)); }  // [0,1)
  float normal() {
    float u1 = std::max(uni(), 1e-7f), u2 = uni();
    return std::sqrt(-2.f * std::log(u1)) * std::cos(6.2831853f * u2);
  }
};
static std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.f) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = r.normal() * scale;
  return v;
}
// Activation-like data in parallel: gaussian, a heavy tail, exact zeros. seed-deterministic.
static void fillActivations(float* x, size_t n, uint64_t seed, int threads) {
  cpu::parallelFor(n, threads, [&](size_t b, size_t e, int) {
    const size_t blk = 1 << 16;
    for (size_t s0 = b; s0 < e; s0 += blk) {
      Rng r(seed ^ (s0 * 0x2545F4914F6CDD1Dull));
      size_t s1 = std::min(e, s0 + blk);
      for (size_t i = s0; i < s1; ++i) {
        float v = r.normal();
        uint64_t u = r.next();
        if ((u & 1023) == 0) v *= 12.f;           // outliers
        else if ((u & 1023) < 40) v = 0.f;        // ReLU-ish zeros
        x[i] = v * 0.75f + 0.05f;
      }
    }
  });
}

static double nowMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
template <typename F>
static double timeMedian(int reps, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    double a = nowMs();
    f();
    t.push_back(nowMs() - a);
  }
  return median(t);
}

struct Row {
  std::string name, gpu, base, ratio, rate;
};
static std::vector<Row> g_rows;
static std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// =============================================================================== correctness
static void testReductions() {
  std::printf("reductions\n");
  for (int trial = 0; trial < 3; ++trial) {
    size_t n = 1000003 + trial * 17;
    auto x = randn(n, 100 + trial, 3.f);
    x[5] = NAN;
    x[77] = INFINITY;
    x[n - 1] = -INFINITY;
    x[n / 2] = -1e30f;
    auto s = mc::amaxStats(x.data(), n);
    float am = 0, mn = INFINITY, mx = -INFINITY;
    uint64_t nan = 0, inf = 0;
    for (float v : x) {
      if (v != v) {
        nan++;
        continue;
      }
      if (std::isinf(v)) inf++;
      am = std::max(am, std::fabs(v));
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
    check(sameBits(s.amax, am) && sameBits(s.min, mn) && sameBits(s.max, mx) && s.nanCount == nan &&
              s.infCount == inf,
          "amaxStats (NaN ignored, Inf counted) n=" + std::to_string(n));
    x[77] = 5.f;
    x[n - 1] = 1.f;
    float gmn, gmx, cmn, cmx;
    mc::minMax(x.data(), n, &gmn, &gmx);
    cpu::minMax(x.data(), n, 4, &cmn, &cmx);
    check(gmn != gmn && gmx != gmx && cmn != cmn, "minMax propagates NaN (np.min/np.max)");
    x[5] = 0.5f;
    mc::minMax(x.data(), n, &gmn, &gmx);
    cpu::minMax(x.data(), n, 4, &cmn, &cmx);
    check(sameBits(gmn, cmn) && sameBits(gmx, cmx), "minMax without NaN");
  }
  // per-axis
  std::vector<int64_t> shape = {7, 33, 129};
  size_t n = 7 * 33 * 129;
  auto x = randn(n, 7, 2.f);
  x[100] = NAN;
  std::vector<std::vector<int>> keeps = {{0}, {1}, {2}, {0, 2}, {-1}, {0, 1}};
  for (auto& keep : keeps) {
    std::vector<int> k2;
    for (int a : keep) k2.push_back(a < 0 ? a + 3 : a);
    std::sort(k2.begin(), k2.end());
    size_t nout = 1;
    for (int a : k2) nout *= shape[a];
    std::vector<float> ref(nout, 0.f), got(nout, -1.f);
    for (size_t i = 0; i < n; ++i) {
      size_t c2 = i % 129, c1 = (i / 129) % 33, c0 = i / (129 * 33);
      size_t coords[3] = {c0, c1, c2};
      size_t o = 0;
      for (int a : k2) o = o * shape[a] + coords[a];
      float v = x[i];
      if (v == v) ref[o] = std::max(ref[o], std::fabs(v));
    }
    mc::amaxAxes(x.data(), shape, keep, got.data());
    std::string ks;
    for (int a : keep) ks += std::to_string(a) + ",";
    check(countDiff(ref.data(), got.data(), nout) == 0, "amaxAxes keep {" + ks + "} bit-identical");
  }
}

static void testHistograms(int threads) {
  std::printf("histograms\n");
  for (int trial = 0; trial < 2; ++trial) {
    size_t n = 3000001 + trial;
    auto x = randn(n, 200 + trial);
    float mn, mx;
    cpu::minMax(x.data(), n, threads, &mn, &mx);
    float T = std::max(std::fabs(mn), std::fabs(mx));
    for (int nb : {128, 2048, 1001}) {
      auto edges = mc::numpyLinspaceF32(-T, T, nb + 1);
      // values exactly on every edge and at +-T exercise numpy's corrections
      for (int e = 0; e <= nb && 3 * e + 2 < (int)n; ++e) {
        x[3 * e] = edges[e];
        x[3 * e + 1] = std::nextafter(edges[e], -INFINITY);
        x[3 * e + 2] = std::nextafter(edges[e], INFINITY);
      }
      std::vector<int64_t> ref(nb, 0), got(nb, 0);
      cpu::histogram(x.data(), n, nb, -T, T, 0, false, edges.data(), threads, ref.data());
      mc::histogram(x.data(), n, nb, -T, T, mc::HistMode::Numpy, false, edges.data(), got.data());
      int64_t tot = 0, inside = 0;
      for (auto c : got) tot += c;
      for (size_t i = 0; i < n; ++i) inside += (x[i] >= -T && x[i] <= T);
      size_t nd = countDiff(ref.data(), got.data(), nb);
      check(nd == 0 && tot == inside, "numpy histogram [-T,T] " + std::to_string(nb) + " bins (values on and next to every edge): " +
                                          std::to_string(nd) + " counts differ, total " + std::to_string(tot) + " of " +
                                          std::to_string(inside) + " in range");
    }
    // torch |x| over [0, amax]
    float am = 0;
    for (float v : x) am = std::max(am, std::fabs(v));
    for (int k = 0; k <= 3000 && 3 * k + 2 < (int)n; ++k) {  // values on and next to k*am/n
      float e = (float)((double)am * k / 2048.0);
      x[n / 2 + 3 * k] = e;
      x[n / 2 + 3 * k + 1] = std::nextafter(e, 0.f);
      x[n / 2 + 3 * k + 2] = std::min(am, std::nextafter(e, INFINITY));
    }
    for (int nb : {2048, 3000}) {
      std::vector<int64_t> ref(nb, 0), got(nb, 0);
      cpu::histogram(x.data(), n, nb, 0.f, am, 1, true, nullptr, threads, ref.data());
      mc::histogram(x.data(), n, nb, 0.f, am, mc::HistMode::Histc, true, nullptr, got.data());
      check(countDiff(ref.data(), got.data(), nb) == 0, "histc |x| histogram " + std::to_string(nb) + " bins identical");
    }
  }
}

static std::vector<int64_t> prefixOf(const std::vector<int64_t>& h) {
  std::vector<int64_t> P(h.size() + 1, 0);
  for (size_t i = 0; i < h.size(); ++i) P[i + 1] = P[i] + h[i];
  return P;
}

static void testSearches(int threads) {
  std::printf("threshold searches\n");
  for (int trial = 0; trial < 2; ++trial) {
    size_t n = 2000000;
    auto x = randn(n, 300 + trial);
    for (size_t i = 0; i < n; i += 997) x[i] *= 9.f;
    float mn, mx;
    cpu::minMax(x.data(), n, threads, &mn, &mx);
    float T = std::max(std::fabs(mn), std::fabs(mx));
    for (int nb : {128, 2048, 2176}) {
      auto edges = mc::numpyLinspaceF32(-T, T, nb + 1);
      std::vector<int64_t> h(nb, 0);
      cpu::histogram(x.data(), n, nb, -T, T, 0, false, edges.data(), threads, h.data());
      auto P = prefixOf(h);
      int nq = 128, ncand = nb / 2 - nq / 2 + 1;
      std::vector<double> kl(ncand);
      int sel = mc::ortEntropySearch(h.data(), nb, nq, kl.data());
      int err = 0, best = -1;
      size_t diff = 0;
      float bestv = INFINITY;
      for (int c = 0; c < ncand; ++c) {
        float v = cpu::ortEntropyCandidate(h.data(), P.data(), nb, nq, c, &err);
        if (!sameBits((float)kl[c], v)) diff++;
        if (v < bestv) {
          bestv = v;
          best = c;
        }
      }
      if (best < 0) best = 0;
      check(err == 0 && diff == 0 && sel == best,
            "ORT entropy " + std::to_string(nb) + " bins: " + std::to_string(ncand) + " KL values bit-identical (" +
                std::to_string(diff) + " differ), chosen " + std::to_string(sel) + " vs " + std::to_string(best));
    }
    // torch
    float am = 0;
    for (float v : x) am = std::max(am, std::fabs(v));
    int nb = 2048;
    std::vector<int64_t> h(nb, 0);
    cpu::histogram(x.data(), n, nb, 0.f, am, 1, true, nullptr, threads, h.data());
    auto edges = mc::numpyLinspaceF32(0.f, am, nb + 1);
    {
      std::vector<int64_t> b = h;
      b[0] = b[1];
      auto P = prefixOf(b);
      int ncand = nb - 128 + 1;
      std::vector<double> kl(ncand);
      int sel = mc::torchEntropySearch(h.data(), nb, 8, false, 128, 1, kl.data());
      int err = 0, bestI = -1;
      double best = INFINITY;
      size_t diff = 0;
      double maxRel = 0;
      for (int c = 0; c < ncand; ++c) {
        double v = cpu::torchEntropyCandidate(b.data(), P.data(), nb, 128, 128 + c, &err);
        if (!sameBitsD(v, kl[c])) {
          diff++;
          maxRel = std::max(maxRel, std::fabs(v - kl[c]) / std::max(std::fabs(v), 1e-300));
        }
        if (v <= best) {
          best = v;
          bestI = 128 + c;
        }
      }
      // float64 log: CUDA's log and the host libm may differ in the last ulp
      check(err == 0 && maxRel <= 1e-14 && sel == bestI,
            "torch entropy 2048 bins: " + std::to_string(ncand) + " KL values, " + std::to_string(diff) +
                " differ in the last bits (max rel " + fmt("%.1e", maxRel) + " <= 1e-14), chosen " + std::to_string(sel) +
                " vs " + std::to_string(bestI));
    }
    for (int bits : {8, 4, -43}) {
      int ncand = nb - 128;
      std::vector<double> loss(ncand);
      int sel = mc::mseSearch(h.data(), edges.data(), nb, bits, false, 128, 1, loss.data());
      size_t diff = 0;
      double best = INFINITY;
      int bestI = -1;
      for (int c = 0; c < ncand; ++c) {
        double v = cpu::mseCandidate(h.data(), edges.data(), nb, bits, false, 128 + c);
        if (!sameBitsD(v, loss[c])) diff++;
        if (v < best) {
          best = v;
          bestI = 128 + c;
        }
      }
      check(diff == 0 && sel == bestI, "MSE search " + std::string(bits == -43 ? "e4m3" : ("int" + std::to_string(bits))) +
                                           ": losses bit-identical (" + std::to_string(diff) + " differ), chosen " +
                                           std::to_string(sel) + " vs " + std::to_string(bestI));
    }
  }
}

static void testQuant() {
  std::printf("quantizers\n");
  size_t n = 1 << 20;
  auto x = randn(n, 400, 2.f);
  x[3] = NAN;
  x[4] = INFINITY;
  x[5] = 0.5f / 127.f * 3.f;  // a tie after scaling for amax 3
  struct Cfg {
    int bits;
    bool uns, narrow;
  };
  for (Cfg c : {Cfg{8, false, false}, Cfg{8, false, true}, Cfg{4, false, true}, Cfg{8, true, false}, Cfg{16, false, false}}) {
    std::vector<float> xin = x;
    if (c.uns)
      for (auto& v : xin) v = v == v ? std::fabs(v) : v;
    float amax = 3.f;
    std::vector<float> got(n, -7.f), ref(n);
    float maxB = qm::intMaxBound(c.bits, c.uns), minB = qm::intMinBound(c.bits, c.uns, c.narrow);
    for (size_t i = 0; i < n; ++i) ref[i] = qm::fakeQuantInt(xin[i], amax, minB, maxB);
    mc::fakeQuantInt(xin.data(), n, &amax, mc::QuantAxis{}, c.bits, c.uns, c.narrow, got.data());
    std::string tag = std::to_string(c.bits) + (c.uns ? "u" : "s") + (c.narrow ? " narrow" : "");
    check(countDiff(ref.data(), got.data(), n) == 0, "fakeQuantInt per tensor " + tag);
    // per axis: shape [256, 4096] axis 0 and axis 1
    for (int axis : {0, 1}) {
      int64_t rows = 256, cols = (int64_t)n / 256;
      int64_t size = axis == 0 ? rows : cols, stride = axis == 0 ? cols : 1;
      std::vector<float> am(size);
      Rng r(500 + axis);
      for (auto& a : am) a = r.uni() * 4.f;
      am[1] = 0.f;
      for (size_t i = 0; i < n; ++i) ref[i] = qm::fakeQuantInt(xin[i], am[(i / stride) % size], minB, maxB);
      mc::fakeQuantInt(xin.data(), n, am.data(), mc::QuantAxis{size, stride}, c.bits, c.uns, c.narrow, got.data());
      check(countDiff(ref.data(), got.data(), n) == 0, "fakeQuantInt axis " + std::to_string(axis) + " " + tag);
      if (c.bits <= 8) {
        std::vector<int8_t> codes(n, 99), rc(n);
        std::vector<float> sc(size), rs(size);
        mc::quantizeInt(xin.data(), n, am.data(), mc::QuantAxis{size, stride}, c.bits, c.uns, c.narrow, codes.data(),
                        sc.data());
        for (size_t i = 0; i < n; ++i) rc[i] = (int8_t)(int)qm::quantIntCode(xin[i], am[(i / stride) % size], minB, maxB);
        for (int64_t k = 0; k < size; ++k) rs[k] = am[k] < qm::kMinAmax ? 1.f : am[k] / maxB;
        check(countDiff(rc.data(), codes.data(), n) == 0 && countDiff(rs.data(), sc.data(), size) == 0,
              "quantizeInt codes + scales axis " + std::to_string(axis) + " " + tag);
      }
    }
  }
  // E4M3: hardware conversion vs the software encoder over 2^24 sampled bit patterns + specials
  {
    size_t m = 1 << 24;
    std::vector<float> v(m);
    Rng r(600);
    for (size_t i = 0; i < m; ++i) {
      uint32_t u = (uint32_t)r.next();
      if (i % 4 == 0) u = (u & 0x80000000u) | (0x3a800000u + (u & 0x07ffffffu) % 0x0a000000u);  // 2^-10 .. 2^10
      v[i] = qm::u2f(u);
    }
    float specials[] = {0.f, -0.f, 448.f, 464.f, 463.99f, 449.f, -448.f, INFINITY, -INFINITY, NAN,
                        1.f / 512, 1.f / 1024, 3.f / 1024, 0.0625f * 1.0625f, 240.f, 232.f, 248.f};
    for (size_t i = 0; i < sizeof specials / 4; ++i) v[i] = specials[i];
    std::vector<uint8_t> got(m), ref(m);
    mc::quantizeE4m3(v.data(), m, nullptr, got.data());
    for (size_t i = 0; i < m; ++i) ref[i] = qm::e4m3FromFloat(v[i]);
    check(countDiff(ref.data(), got.data(), m) == 0, "E4M3 encode (GPU) bit-identical to the CPU encoder on 2^24 inputs");
    std::vector<uint8_t> hw(m);
    mc::e4m3EncodeHardware(v.data(), m, hw.data());
    size_t nd = 0;
    for (size_t i = 0; i < m; ++i)
      if (hw[i] != ref[i]) {
        if (nd < 6)
          std::printf("         info: hardware cvt differs for x=%a (0x%08x): hw 0x%02x, sw 0x%02x\n", v[i], qm::f2u(v[i]), hw[i], ref[i]);
        ++nd;
      }
    std::printf("         info: hardware satfinite cvt vs software encoder: %zu of %zu codes differ\n", nd, m);
    std::vector<float> fq(m), rq(m);
    float amax = 5.f;
    mc::fakeQuantE4m3(v.data(), m, &amax, fq.data());
    float s = 448.f / amax;
    for (size_t i = 0; i < m; ++i) rq[i] = std::fabs(v[i]) < qm::kMinAmax ? 0.f : qm::fakeE4m3Soft(v[i] * s) / s;
    check(countDiff(rq.data(), fq.data(), m) == 0, "E4M3 scaled fake-quant bit-identical");
    mc::fakeQuantE4m3(v.data(), m, nullptr, fq.data());
    for (size_t i = 0; i < m; ++i) rq[i] = std::fabs(v[i]) < qm::kMinAmax ? 0.f : qm::fakeE4m3Soft(v[i]);
    check(countDiff(rq.data(), fq.data(), m) == 0, "E4M3 round trip bit-identical");
  }
  // INT4 block RTN + packing
  for (int64_t rows : {300, 256, 1}) {
    int64_t cols = 77, B = 128, nb = (rows + B - 1) / B;
    auto w = randn((size_t)(rows * cols), 700 + rows, 0.1f);
    for (int64_t c = 0; c < cols; ++c) w[c] = 0.f;  // zero column start
    if (rows > 128)
      for (int64_t r = 0; r < 128; ++r) w[r * cols + 3] = 0.f;  // an all-zero block
    w[5] = NAN;
    std::vector<float> alpha((size_t)(nb * cols));
    Rng r(800);
    for (auto& a : alpha) a = mc::awqAlphas()[r.next() % 11];
    for (int useAlpha : {0, 1}) {
      std::vector<int8_t> codes((size_t)(rows * cols), 99), rc((size_t)(rows * cols));
      std::vector<float> sc((size_t)(nb * cols)), rs((size_t)(nb * cols));
      mc::int4BlockQuantize(w.data(), rows, cols, (int)B, useAlpha ? alpha.data() : nullptr, codes.data(), sc.data());
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t c = 0; c < cols; ++c) {
          float m = 0;
          for (int64_t rr = b * B; rr < std::min(rows, (b + 1) * B); ++rr) {
            float a = std::fabs(w[rr * cols + c]);
            m = a > m ? a : m;
          }
          rs[b * cols + c] = qm::int4Scale(m, useAlpha ? alpha[b * cols + c] : 1.f);
        }
      for (int64_t rr = 0; rr < rows; ++rr)
        for (int64_t c = 0; c < cols; ++c) rc[rr * cols + c] = (int8_t)qm::int4Code(w[rr * cols + c], rs[(rr / B) * cols + c]);
      check(countDiff(rs.data(), sc.data(), rs.size()) == 0 && countDiff(rc.data(), codes.data(), rc.size()) == 0,
            "INT4 block RTN rows=" + std::to_string(rows) + (useAlpha ? " with alphas" : ""));
      std::vector<float> dq((size_t)(rows * cols)), rdq((size_t)(rows * cols));
      mc::int4BlockDequantize(codes.data(), sc.data(), rows, cols, (int)B, dq.data());
      for (int64_t i = 0; i < rows * cols; ++i) rdq[i] = (float)rc[i] * rs[(i / cols / B) * cols + i % cols];
      check(countDiff(rdq.data(), dq.data(), dq.size()) == 0, "INT4 dequantize rows=" + std::to_string(rows));
      size_t np = (size_t)(rows * cols);
      std::vector<uint8_t> pk((np + 1) / 2), rp((np + 1) / 2);
      mc::packInt4Codes(codes.data(), np, pk.data());
      for (size_t k = 0; k < (np + 1) / 2; ++k) {
        int a = rc[2 * k], b = 2 * k + 1 < np ? rc[2 * k + 1] : 0;
        rp[k] = (uint8_t)((a & 15) | ((b & 15) << 4));
      }
      check(countDiff(rp.data(), pk.data(), rp.size()) == 0, "INT4 pack codes (odd length " + std::to_string(np % 2) + ")");
    }
  }
  {
    std::vector<float> v = {0.5f, 1.5f, 2.5f, -0.5f, -8.7f, 9.f, NAN, -3.5f, 7.49f, 6.5f, 15.5f};
    for (int uns : {0, 1}) {
      std::vector<uint8_t> got((v.size() + 1) / 2), ref(got.size());
      mc::packInt4(v.data(), v.size(), uns, got.data());
      for (size_t k = 0; k < ref.size(); ++k) {
        int a = qm::int4NibbleValue(v[2 * k], uns), b = 2 * k + 1 < v.size() ? qm::int4NibbleValue(v[2 * k + 1], uns) : 0;
        ref[k] = (uint8_t)((a & 15) | ((b & 15) << 4));
      }
      // spot values: 0.5->0, 1.5->2, 2.5->2 (half-even), NaN->0
      bool spot = (got[0] & 15) == 0 && (got[0] >> 4) == 2 && (got[1] & 15) == 2 && (got[3] & 15) == 0;
      check(countDiff(ref.data(), got.data(), ref.size()) == 0 && spot,
            std::string("INT4 pack floats ") + (uns ? "unsigned" : "signed") + " (half-even, clip, NaN->0)");
    }
  }
}

static void awqReference(const std::vector<float>& x, int T, const std::vector<float>& w, int cin, int cout, int bs,
                         int threads, std::vector<float>& alpha, std::vector<float>& loss, int coBatch = 1024) {
  int nb = (cin + bs - 1) / bs;
  alpha.assign((size_t)nb * cout, 0.f);
  loss.assign((size_t)nb * cout, 0.f);
  int c1 = coBatch == 1 ? 0 : (cout % coBatch == 1 ? cout - 1 : cout);
  cpu::parallelFor((size_t)nb * cout, threads, [&](size_t b, size_t e, int) {
    for (size_t id = b; id < e; ++id) {
      int c = (int)(id % cout);
      cpu::awqCell(x.data(), T, w.data(), cin, cout, bs, nb, (int)(id / cout), c, mc::awqAlphas(), alpha.data(),
                   loss.data(), c >= c1);
    }
  });
}

static void testAwq(int threads) {
  std::printf("AWQ clip search\n");
  struct Case {
    int cin, cout, T, bs, coBatch;
  };
  for (Case c : {Case{300, 70, 37, 128, 1024}, Case{512, 130, 100, 128, 1024}, Case{128, 64, 64, 128, 1024},
                 Case{100, 33, 20, 128, 1024}, Case{256, 64, 64, 64, 1024}, Case{1024, 256, 64, 128, 1024},
                 Case{300, 65, 40, 128, 16}, Case{100, 9, 150, 128, 1}, Case{640, 20, 64, 128, 1}}) {
    auto w = randn((size_t)c.cin * c.cout, 900 + c.cin + c.T, 0.05f);
    auto x = randn((size_t)c.T * c.cin, 901 + c.cout, 1.f);
    std::vector<float> ra, rl;
    awqReference(x, c.T, w, c.cin, c.cout, c.bs, threads, ra, rl, c.coBatch);
    int nb = (c.cin + c.bs - 1) / c.bs;
    std::vector<float> ga((size_t)nb * c.cout, -1.f), gl((size_t)nb * c.cout, -1.f);
    mc::awqClipSearch(x.data(), c.T, w.data(), c.cin, c.cout, c.bs, ga.data(), gl.data(), c.coBatch);
    // the one-thread-per-cell kernel too
    float *dx = (float*)mc::dev::alloc(x.size() * 4), *dw = (float*)mc::dev::alloc(w.size() * 4),
          *da = (float*)mc::dev::alloc(ga.size() * 4), *dl = (float*)mc::dev::alloc(gl.size() * 4);
    mc::dev::copyToDevice(dx, x.data(), x.size() * 4);
    mc::dev::copyToDevice(dw, w.data(), w.size() * 4);
    mc::dev::awqClipSearch(dx, c.T, dw, c.cin, c.cout, c.bs, da, dl, true, c.coBatch);
    std::vector<float> sa(ga.size()), sl(gl.size());
    mc::dev::copyToHost(sa.data(), da, sa.size() * 4);
    mc::dev::copyToHost(sl.data(), dl, sl.size() * 4);
    for (void* p : {(void*)dx, (void*)dw, (void*)da, (void*)dl}) mc::dev::free(p);
    std::string tag = "cin=" + std::to_string(c.cin) + " cout=" + std::to_string(c.cout) + " T=" + std::to_string(c.T) +
                      " bs=" + std::to_string(c.bs) + " coBatch=" + std::to_string(c.coBatch);
    check(countDiff(ra.data(), ga.data(), ra.size()) == 0 && countDiff(rl.data(), gl.data(), rl.size()) == 0,
          "AWQ " + tag + ": alphas + losses bit-identical to the CPU replay");
    check(countDiff(ra.data(), sa.data(), ra.size()) == 0 && countDiff(rl.data(), sl.data(), rl.size()) == 0,
          "AWQ " + tag + ": simple kernel bit-identical too");
  }
}

// =============================================================================== benchmarks
static float fp32PeakTflops();

static void benchStats(int threads, bool quick, std::string& json) {
  const size_t n = quick ? (size_t)1 << 26 : (size_t)1 << 28;  // 1 GiB of float32 (quick: 256 MiB)
  const double gib = n * 4.0 / (1 << 30);
  std::printf("\nbenchmark: statistics over %.2f GiB float32 (%zu values), CPU threads=%d\n", gib, n, threads);
  float* hx = nullptr;
  if (cudaMallocHost(&hx, n * 4) != cudaSuccess) {
    std::printf("pinned allocation failed\n");
    std::exit(2);
  }
  fillActivations(hx, n, 1234, threads);
  float* dx = (float*)mc::dev::alloc(n * 4);
  float* dy = (float*)mc::dev::alloc(n * 4);
  double h2d = timeMedian(3, [&] { mc::dev::copyToDevice(dx, hx, n * 4); });
  // ceilings
  float copyMs = mc::dev::copyKernelMs(dx, dy, n, 10);
  float readMs = mc::dev::readKernelMs(dx, n, 10);
  double copyBw = 2.0 * n * 4 / (copyMs * 1e-3) / 1e9, readBw = 1.0 * n * 4 / (readMs * 1e-3) / 1e9;
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  cudaEventRecord(e0);
  cudaMemcpy(dy, dx, n * 4, cudaMemcpyDeviceToDevice);
  cudaEventRecord(e1);
  cudaEventSynchronize(e1);
  float memcpyMs;
  cudaEventElapsedTime(&memcpyMs, e0, e1);
  double memcpyBw = 2.0 * n * 4 / (memcpyMs * 1e-3) / 1e9;
  std::printf("  ceilings: copy kernel %.0f GB/s (read+write), cudaMemcpy D2D %.0f GB/s, read-only kernel %.0f GB/s; H2D pinned %.1f GB/s\n",
              copyBw, memcpyBw, readBw, n * 4 / (h2d * 1e-3) / 1e9);
  mc::dev::free(dy);

  const int nbOrt = 2048, nq = 128, nbT = 2048;
  int64_t* dcount = (int64_t*)mc::dev::alloc(nbOrt * 8);
  float* dedges = (float*)mc::dev::alloc((nbOrt + 1) * 4);
  // ---- GPU ORT pipeline
  float gmn = 0, gmx = 0, T = 0;
  std::vector<float> edges;
  std::vector<int64_t> gh(nbOrt);
  int gsel = -1;
  double tMinmax = timeMedian(10, [&] { mc::dev::minMax(dx, n, &gmn, &gmx); });
  T = std::max(std::fabs(gmn), std::fabs(gmx));
  edges = mc::numpyLinspaceF32(-T, T, nbOrt + 1);
  mc::dev::copyToDevice(dedges, edges.data(), edges.size() * 4);
  double tHist = timeMedian(10, [&] {
    mc::dev::memset0(dcount, nbOrt * 8);
    mc::dev::histogram(dx, n, nbOrt, -T, T, mc::HistMode::Numpy, false, dedges, dcount);
  });
  mc::dev::copyToHost(gh.data(), dcount, nbOrt * 8);
  double tEnt = timeMedian(10, [&] { gsel = mc::dev::ortEntropySearch(dcount, nbOrt, nq, nullptr); });
  double gpuOrt = tMinmax + tHist + tEnt;
  // ---- GPU torch pipeline (|x| histogram, entropy + mse + percentile)
  float gam = 0;
  std::vector<int64_t> gth(nbT);
  int gtsel = -1, gmsel = -1, gpsel = -1;
  double tAmax = timeMedian(10, [&] { gam = mc::dev::amax(dx, n); });
  double tHistT = timeMedian(10, [&] {
    mc::dev::memset0(dcount, nbT * 8);
    mc::dev::histogram(dx, n, nbT, 0.f, gam, mc::HistMode::Histc, true, nullptr, dcount);
  });
  mc::dev::copyToHost(gth.data(), dcount, nbT * 8);
  auto tedges = mc::numpyLinspaceF32(0.f, gam, nbT + 1);
  double tEntT = timeMedian(10, [&] { gtsel = mc::dev::torchEntropySearch(dcount, nbT, 8, false, 128, 1, nullptr); });
  double tMse = timeMedian(5, [&] { gmsel = mc::mseSearch(gth.data(), tedges.data(), nbT, 8, false, 128, 1, nullptr); });
  double tPct = timeMedian(5, [&] { gpsel = mc::percentileIndex(gth.data(), nbT, 99.99); });
  double gpuTorch = tAmax + tHistT + tEntT + tMse + tPct;

  // ---- CPU pipelines (same arithmetic, multi-threaded)
  std::vector<int64_t> ch(nbOrt), cth(nbT);
  int csel = -1, ctsel = -1, cmsel = -1;
  float cmn, cmx;
  double cMinmax = timeMedian(3, [&] { cpu::minMax(hx, n, threads, &cmn, &cmx); });
  double cHist = timeMedian(3, [&] {
    std::fill(ch.begin(), ch.end(), 0);
    cpu::histogram(hx, n, nbOrt, -T, T, 0, false, edges.data(), threads, ch.data());
  });
  auto P = prefixOf(ch);
  int ncand = nbOrt / 2 - nq / 2 + 1;
  double cEnt = timeMedian(3, [&] {
    std::vector<float> kl(ncand);
    cpu::parallelFor(ncand, threads, [&](size_t b, size_t e, int) {
      int err = 0;
      for (size_t c = b; c < e; ++c) kl[c] = cpu::ortEntropyCandidate(ch.data(), P.data(), nbOrt, nq, (int)c, &err);
    });
    float best = INFINITY;
    csel = 0;
    for (int c = 0; c < ncand; ++c)
      if (kl[c] < best) {
        best = kl[c];
        csel = c;
      }
  });
  double cpuOrt = cMinmax + cHist + cEnt;
  float cam = 0;
  double cAmax = timeMedian(3, [&] {
    std::vector<float> part(threads, 0.f);
    cpu::parallelFor(n, threads, [&](size_t b, size_t e, int t) {
      float m = 0;
      for (size_t i = b; i < e; ++i) {
        float a = std::fabs(hx[i]);
        m = a > m ? a : m;
      }
      part[t] = m;
    });
    cam = *std::max_element(part.begin(), part.end());
  });
  double cHistT = timeMedian(3, [&] {
    std::fill(cth.begin(), cth.end(), 0);
    cpu::histogram(hx, n, nbT, 0.f, cam, 1, true, nullptr, threads, cth.data());
  });
  std::vector<int64_t> b = cth;
  b[0] = b[1];
  auto Pb = prefixOf(b);
  int ncT = nbT - 128 + 1;
  double cEntT = timeMedian(3, [&] {
    std::vector<double> kl(ncT);
    cpu::parallelFor(ncT, threads, [&](size_t s, size_t e, int) {
      int err = 0;
      for (size_t c = s; c < e; ++c) kl[c] = cpu::torchEntropyCandidate(b.data(), Pb.data(), nbT, 128, 128 + (int)c, &err);
    });
    double best = INFINITY;
    for (int c = 0; c < ncT; ++c)
      if (kl[c] <= best) {
        best = kl[c];
        ctsel = 128 + c;
      }
  });
  double cMse = timeMedian(3, [&] {
    int nc = nbT - 128;
    std::vector<double> l(nc);
    cpu::parallelFor(nc, threads, [&](size_t s, size_t e, int) {
      for (size_t c = s; c < e; ++c) l[c] = cpu::mseCandidate(cth.data(), tedges.data(), nbT, 8, false, 128 + (int)c);
    });
    double best = INFINITY;
    for (int c = 0; c < nc; ++c)
      if (l[c] < best) {
        best = l[c];
        cmsel = 128 + c;
      }
  });
  double cPct = timeMedian(3, [&] { mc::percentileIndex(cth.data(), nbT, 99.99); });
  double cpuTorch = cAmax + cHistT + cEntT + cMse + cPct;

  check(sameBits(cmn, gmn) && sameBits(cmx, gmx), "1 GiB: min/max identical");
  check(countDiff(ch.data(), gh.data(), nbOrt) == 0, "1 GiB: ORT histogram counts identical");
  check(csel == gsel, "1 GiB: ORT entropy threshold identical (candidate " + std::to_string(gsel) + ")");
  check(sameBits(cam, gam) && countDiff(cth.data(), gth.data(), nbT) == 0, "1 GiB: torch |x| histogram identical");
  check(ctsel == gtsel && cmsel == gmsel, "1 GiB: torch entropy / MSE amax identical (bins " + std::to_string(gtsel) + ", " +
                                              std::to_string(gmsel) + ")");

  double histBw = n * 4 / (tHist * 1e-3) / 1e9, histBwT = n * 4 / (tHistT * 1e-3) / 1e9;
  std::printf("  GPU ORT : minmax %.3f ms, histogram %.3f ms (%.0f GB/s), entropy(961 cand.) %.3f ms, total %.3f ms\n",
              tMinmax, tHist, histBw, tEnt, gpuOrt);
  std::printf("  CPU ORT : minmax %.1f ms, histogram %.1f ms, entropy %.1f ms, total %.1f ms\n", cMinmax, cHist, cEnt, cpuOrt);
  std::printf("  GPU torch: amax %.3f, histc %.3f ms (%.0f GB/s), entropy(1921) %.3f, mse(1920) %.3f, pct %.3f, total %.3f ms\n",
              tAmax, tHistT, histBwT, tEntT, tMse, tPct, gpuTorch);
  std::printf("  CPU torch: amax %.1f, histc %.1f, entropy %.1f, mse %.1f, pct %.3f, total %.1f ms\n", cAmax, cHistT, cEntT,
              cMse, cPct, cpuTorch);

  g_rows.push_back({"ORT hist(2048)+entropy, " + fmt("%.2f", gib) + " GiB", fmt("%.3f ms", gpuOrt),
                    fmt("%.1f ms", cpuOrt) + " CPU x" + std::to_string(threads), fmt("%.0fx", cpuOrt / gpuOrt),
                    "end-to-end incl. H2D: " + fmt("%.1fx", cpuOrt / (gpuOrt + h2d))});
  g_rows.push_back({"  histogram pass (numpy bins)", fmt("%.3f ms", tHist), fmt("%.1f ms", cHist), fmt("%.0fx", cHist / tHist),
                    fmt("%.0f GB/s = ", histBw) + fmt("%.0f%% of read ceiling, ", 100 * histBw / readBw) +
                        fmt("%.0f%% of copy", 100 * histBw / copyBw)});
  g_rows.push_back({"  ORT entropy search (961 cand.)", fmt("%.3f ms", tEnt), fmt("%.1f ms", cEnt), fmt("%.1fx", cEnt / tEnt), ""});
  g_rows.push_back({"torch hist(2048)+KL+MSE+pct", fmt("%.3f ms", gpuTorch), fmt("%.1f ms", cpuTorch), fmt("%.0fx", cpuTorch / gpuTorch),
                    "end-to-end incl. H2D: " + fmt("%.1fx", cpuTorch / (gpuTorch + h2d))});
  g_rows.push_back({"  histc |x| pass", fmt("%.3f ms", tHistT), fmt("%.1f ms", cHistT), fmt("%.0fx", cHistT / tHistT),
                    fmt("%.0f GB/s = ", histBwT) + fmt("%.0f%% of read ceiling, ", 100 * histBwT / readBw) +
                        fmt("%.0f%% of copy", 100 * histBwT / copyBw)});
  g_rows.push_back({"  torch KL (1921) / MSE (1920)", fmt("%.3f ms", tEntT) + fmt(" / %.3f ms", tMse), fmt("%.1f", cEntT) + fmt(" / %.1f ms", cMse),
                    fmt("%.1fx", cEntT / tEntT) + fmt(" / %.1fx", cMse / tMse), ""});
  g_rows.push_back({"H2D copy of the data (pinned)", fmt("%.2f ms", h2d), "", "", fmt("%.1f GB/s", n * 4 / (h2d * 1e-3) / 1e9)});
  g_rows.push_back({"ceilings", "", "", "", fmt("copy kernel %.0f GB/s (r+w), ", copyBw) + fmt("read kernel %.0f GB/s", readBw)});
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                ",\"stats\":{\"gib\":%.3f,\"threads\":%d,\"gpu_ort_ms\":%.4f,\"cpu_ort_ms\":%.3f,\"gpu_hist_ms\":%.4f,\"cpu_hist_ms\":%.3f,"
                "\"gpu_entropy_ms\":%.4f,\"cpu_entropy_ms\":%.3f,\"gpu_torch_ms\":%.4f,\"cpu_torch_ms\":%.3f,\"hist_gbps\":%.1f,"
                "\"histc_gbps\":%.1f,\"copy_gbps\":%.1f,\"read_gbps\":%.1f,\"memcpy_gbps\":%.1f,\"h2d_ms\":%.3f}",
                gib, threads, gpuOrt, cpuOrt, tHist, cHist, tEnt, cEnt, gpuTorch, cpuTorch, histBw, histBwT, copyBw, readBw,
                memcpyBw, h2d);
  json += buf;
  mc::dev::free(dx);
  mc::dev::free(dcount);
  mc::dev::free(dedges);
  cudaFreeHost(hx);
}

// FP32 issue-rate probe: each thread runs 8 independent FMA chains.
__global__ void fma_peak_kernel(float* out, int iters, float a, float b) {
  float r[8];
#pragma unroll
  for (int j = 0; j < 8; ++j) r[j] = threadIdx.x * 1e-3f + j;
  for (int i = 0; i < iters; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) r[j] = fmaf(r[j], a, b);
  float s = 0;
#pragma unroll
  for (int j = 0; j < 8; ++j) s += r[j];
  if (s == 1.2345f) out[0] = s;
}
static float fp32PeakTflops() {
  int dev, sms;
  cudaGetDevice(&dev);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  float* o;
  cudaMalloc(&o, 4);
  int iters = 1 << 14, blocks = sms * 8, threads = 256;
  fma_peak_kernel<<<blocks, threads>>>(o, 16, 0.999f, 0.001f);
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  cudaEventRecord(a);
  fma_peak_kernel<<<blocks, threads>>>(o, iters, 0.999f, 0.001f);
  cudaEventRecord(b);
  cudaEventSynchronize(b);
  float ms;
  cudaEventElapsedTime(&ms, a, b);
  cudaFree(o);
  return (float)(2.0 * 8 * iters * (double)blocks * threads / (ms * 1e-3) / 1e12);
}

static void writeFile(const std::string& path, const void* p, size_t bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write((const char*)p, (std::streamsize)bytes);
}

static void benchAwq(int threads, bool quick, const std::string& outDir, std::string& json) {
  const int cin = 4096, cout = 4096, tokensRaw = 64, bs = 128;
  std::printf("\nbenchmark: AWQ clip search, weight %dx%d, %d tokens\n", cin, cout, tokensRaw);
  auto w = randn((size_t)cin * cout, 4242, 0.02f);
  auto x = randn((size_t)tokensRaw * cin, 4343, 1.f);
  for (size_t i = 0; i < x.size(); i += 61) x[i] *= 8.f;  // salient channels
  auto rows = mc::awqSelectTokens(tokensRaw, 64);
  int T = (int)rows.size();
  int nb = cin / bs;
  float *dx = (float*)mc::dev::alloc(x.size() * 4), *dw = (float*)mc::dev::alloc(w.size() * 4),
        *da = (float*)mc::dev::alloc((size_t)nb * cout * 4), *dl = (float*)mc::dev::alloc((size_t)nb * cout * 4);
  mc::dev::copyToDevice(dx, x.data(), x.size() * 4);
  mc::dev::copyToDevice(dw, w.data(), w.size() * 4);
  mc::dev::awqClipSearch(dx, T, dw, cin, cout, bs, da, dl);  // warm-up
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  std::vector<double> ts;
  for (int r = 0; r < 10; ++r) {
    cudaEventRecord(e0);
    mc::dev::awqClipSearch(dx, T, dw, cin, cout, bs, da, dl);
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float ms;
    cudaEventElapsedTime(&ms, e0, e1);
    ts.push_back(ms);
  }
  double gms = median(ts);
  std::vector<float> ga((size_t)nb * cout), gl((size_t)nb * cout);
  mc::dev::copyToHost(ga.data(), da, ga.size() * 4);
  mc::dev::copyToHost(gl.data(), dl, gl.size() * 4);
  double hostMs = timeMedian(3, [&] {
    std::vector<float> a2(ga.size());
    mc::awqClipSearch(x.data(), T, w.data(), cin, cout, bs, a2.data(), nullptr);
  });
  for (void* p : {(void*)dx, (void*)dw, (void*)da, (void*)dl}) mc::dev::free(p);
  // CPU replay (multi-threaded) — also the bit-identity check at full size
  std::vector<float> ra, rl;
  double cms = 0;
  if (!quick) {
    cms = timeMedian(1, [&] { awqReference(x, T, w, cin, cout, bs, threads, ra, rl); });
    check(countDiff(ra.data(), ga.data(), ra.size()) == 0 && countDiff(rl.data(), gl.data(), rl.size()) == 0,
          "AWQ 4096x4096: alphas + losses bit-identical to the CPU replay");
  }
  double flops = 2.0 * T * (double)bs * cout * nb * (mc::kAwqNumAlphas + 1);
  float peak = fp32PeakTflops();
  double tf = flops / (gms * 1e-3) / 1e12;
  std::printf("  GPU %.3f ms (host API incl. transfers %.3f ms), %.2f TFLOP/s (mul+add, no FMA) vs FFMA peak %.1f TFLOP/s; CPU replay x%d %.1f ms\n",
              gms, hostMs, tf, peak, threads, cms);
  g_rows.push_back({"AWQ clip 4096x4096, T=64", fmt("%.3f ms", gms), quick ? "-" : fmt("%.1f ms", cms) + " C++ x" + std::to_string(threads),
                    quick ? "-" : fmt("%.0fx", cms / gms),
                    fmt("%.2f TFLOP/s; ", tf) + fmt("FFMA peak %.1f (mul+add ceiling = half)", peak)});
  g_rows.push_back({"  host API incl. H2D/D2H", fmt("%.3f ms", hostMs), "", "", ""});
  // inputs + GPU result for bench/awq_numpy_ref.py
  if (!outDir.empty()) {
    writeFile(outDir + "/awq_x.f32", x.data(), x.size() * 4);
    writeFile(outDir + "/awq_w.f32", w.data(), w.size() * 4);
    writeFile(outDir + "/awq_gpu_alpha.f32", ga.data(), ga.size() * 4);
    writeFile(outDir + "/awq_gpu_loss.f32", gl.data(), gl.size() * 4);
  }
  char buf[512];
  std::snprintf(buf, sizeof buf,
                ",\"awq\":{\"cin\":%d,\"cout\":%d,\"tokens\":%d,\"gpu_ms\":%.4f,\"host_api_ms\":%.3f,\"cpu_replay_ms\":%.2f,"
                "\"tflops\":%.3f,\"ffma_peak_tflops\":%.2f}",
                cin, cout, T, gms, hostMs, cms, tf, peak);
  json += buf;
}

int main(int argc, char** argv) {
  std::string outDir;
  bool quick = false, noBench = false;
  int threads = (int)std::thread::hardware_concurrency();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) outDir = argv[++i];
    else if (a == "--quick") quick = true;
    else if (a == "--no-bench") noBench = true;
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
  }
  if (!mc::cudaAvailable()) {
    std::printf("cuda: false (%s)\n", mc::cudaUnavailableReason().c_str());
    return 3;
  }
  auto devs = mc::cudaDevices();
  std::printf("device: %s (sm_%d%d, %d SMs, %.1f GiB), CPU threads %d\n", devs[0].name.c_str(), devs[0].major, devs[0].minor,
              devs[0].multiprocessors, devs[0].totalMemory / 1073741824.0, threads);
  std::string json = "{\"device\":\"" + devs[0].name + "\"";
  try {
    testReductions();
    testHistograms(threads);
    testSearches(threads);
    testQuant();
    testAwq(threads);
    if (!noBench) {
      benchStats(threads, quick, json);
      benchAwq(threads, quick, outDir, json);
    }
  } catch (const std::exception& e) {
    std::printf("EXCEPTION: %s\n", e.what());
    g_fail++;
  }
  json += ",\"checks_passed\":" + std::to_string(g_pass) + ",\"checks_failed\":" + std::to_string(g_fail) + "}";
  std::printf("\n=== %s: %d checks passed, %d failed ===\n", devs[0].name.c_str(), g_pass, g_fail);
  for (auto& f : g_failures) std::printf("  failed: %s\n", f.c_str());
  if (!g_rows.empty()) {
    std::printf("\n%-34s | %-18s | %-22s | %-8s | %s\n", "benchmark", "GPU", "CPU baseline", "ratio", "rate vs ceiling");
    std::printf("%s\n", std::string(130, '-').c_str());
    for (auto& r : g_rows)
      std::printf("%-34s | %-18s | %-22s | %-8s | %s\n", r.name.c_str(), r.gpu.c_str(), r.base.c_str(), r.ratio.c_str(),
                  r.rate.c_str());
  }
  if (!outDir.empty()) {
    std::ofstream f(outDir + "/gpu_bench.json");
    f << json << "\n";
  }
  return g_fail ? 1 : 0;
}

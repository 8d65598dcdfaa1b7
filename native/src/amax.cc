#include "amax.h"

#include "common.h"

#ifdef __SSE2__
#include <immintrin.h>
#endif

namespace modelopt {
namespace {

struct AmaxStats {
  float amax = 0.0f;
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  double nan = 0, inf = 0;
  void Merge(const AmaxStats& o) {
    amax = std::max(amax, o.amax);
    min = std::min(min, o.min);
    max = std::max(max, o.max);
    nan += o.nan;
    inf += o.inf;
  }
};

AmaxStats Scan(const float* x, size_t n) {
  AmaxStats s;
  float am = 0.0f, mn = s.min, mx = s.max;
  size_t nan = 0, inf = 0;
  size_t i = 0;
#ifdef __SSE2__
  if (n >= 16) {
    // min/max ignore NaN lanes (MINPS/MAXPS return the second operand on NaN)
    __m128 vmn = _mm_set1_ps(mn), vmx = _mm_set1_ps(mx), vam = _mm_setzero_ps();
    const __m128 absMask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    const __m128 vinf = _mm_set1_ps(std::numeric_limits<float>::infinity());
    for (; i + 4 <= n; i += 4) {
      const __m128 v = _mm_loadu_ps(x + i);
      vmn = _mm_min_ps(v, vmn);
      vmx = _mm_max_ps(v, vmx);
      const __m128 a = _mm_and_ps(v, absMask);
      vam = _mm_max_ps(a, vam);
      const int nanMask = _mm_movemask_ps(_mm_cmpunord_ps(v, v));
      const int infMask = _mm_movemask_ps(_mm_cmpeq_ps(a, vinf));
      if (nanMask | infMask) {
        nan += static_cast<size_t>(__builtin_popcount(nanMask));
        inf += static_cast<size_t>(__builtin_popcount(infMask));
      }
    }
    float t0[4], t1[4], t2[4];
    _mm_storeu_ps(t0, vmn);
    _mm_storeu_ps(t1, vmx);
    _mm_storeu_ps(t2, vam);
    for (int k = 0; k < 4; k++) {
      mn = t0[k] < mn ? t0[k] : mn;
      mx = t1[k] > mx ? t1[k] : mx;
      am = t2[k] > am ? t2[k] : am;
    }
  }
#endif
  for (; i < n; i++) {
    float v = x[i];
    if (std::isnan(v)) {
      nan++;
      continue;
    }
    if (std::isinf(v)) inf++;
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
    float a = std::fabs(v);
    am = a > am ? a : am;
  }
  s.amax = am;
  s.min = mn;
  s.max = mx;
  s.nan = static_cast<double>(nan);
  s.inf = static_cast<double>(inf);
  return s;
}

struct AmaxBaton : Baton {
  View<float> data;
  AmaxStats stats;
  void Execute() override {
    std::vector<AmaxStats> parts(static_cast<size_t>(DefaultThreads()));
    ParallelFor(data.size, 1 << 20, 0, [&](size_t b, size_t e, int w) { parts[w] = Scan(data.data + b, e - b); });
    for (auto& p : parts) stats.Merge(p);
    if (static_cast<double>(data.size) - stats.nan == 0) stats.min = stats.max = 0.0f;
  }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("amax", stats.amax);
    o.Set("min", stats.min);
    o.Set("max", stats.max);
    o.Set("count", static_cast<double>(data.size));
    o.Set("nanCount", stats.nan);
    o.Set("infCount", stats.inf);
    return o;
  }
};

struct AmaxAxisBaton : Baton {
  View<float> data;
  std::vector<int64_t> shape, keep;
  std::vector<float> out;
  double nan = 0, inf = 0;
  void Execute() override {
    const size_t rank = shape.size();
    size_t total = 1;
    for (auto d : shape) total *= static_cast<size_t>(d);
    if (total != data.size) throw KernelError("amaxPerAxis: shape does not match the data length");
    std::vector<int64_t> ostr(rank, 0);
    size_t outN = 1;
    for (size_t k = keep.size(); k-- > 0;) {
      ostr[keep[k]] = static_cast<int64_t>(outN);
      outN *= static_cast<size_t>(shape[keep[k]]);
    }
    out.assign(outN, 0.0f);
    if (total == 0) return;
    // Collapse to (outer rows of the innermost axis): iterate rows of the last axis.
    const int64_t last = shape[rank - 1];
    const int64_t lastStride = ostr[rank - 1];
    const size_t rows = total / static_cast<size_t>(last);
    std::vector<int64_t> idx(rank, 0);
    size_t nanC = 0, infC = 0;
    for (size_t r = 0; r < rows; r++) {
      int64_t o = 0;
      for (size_t d = 0; d + 1 < rank; d++) o += idx[d] * ostr[d];
      const float* x = data.data + r * static_cast<size_t>(last);
      if (lastStride == 0) {
        float m = out[o];
        for (int64_t k = 0; k < last; k++) {
          float v = x[k];
          if (std::isnan(v)) {
            nanC++;
            continue;
          }
          if (std::isinf(v)) infC++;
          float a = std::fabs(v);
          m = a > m ? a : m;
        }
        out[o] = m;
      } else {
        for (int64_t k = 0; k < last; k++) {
          float v = x[k];
          if (std::isnan(v)) {
            nanC++;
            continue;
          }
          if (std::isinf(v)) infC++;
          float a = std::fabs(v);
          float& m = out[o + k * lastStride];
          m = a > m ? a : m;
        }
      }
      for (size_t d = rank - 1; d-- > 0;) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
    nan = static_cast<double>(nanC);
    inf = static_cast<double>(infC);
  }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("amax", ToTyped(env, out));
    o.Set("nanCount", nan);
    o.Set("infCount", inf);
    return o;
  }
};

}  // namespace

Napi::Value Amax(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<AmaxBaton>();
  b->data = Borrow<float>(*b, info[0], "data");
  return Queue(info.Env(), std::move(b));
}

Napi::Value AmaxPerAxis(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<AmaxAxisBaton>();
  b->data = Borrow<float>(*b, info[0], "data");
  b->shape = IntArrayArg(info, 1, "shape");
  b->keep = IntArrayArg(info, 2, "keepAxes");
  for (auto d : b->shape)
    if (d < 0) throw Napi::RangeError::New(info.Env(), "shape has a negative dimension");
  for (auto k : b->keep)
    if (k < 0 || k >= static_cast<int64_t>(b->shape.size())) throw Napi::RangeError::New(info.Env(), "keep axis out of range");
  if (b->shape.empty()) {
    // rank 0: one element, nothing kept
    b->shape = {1};
  }
  return Queue(info.Env(), std::move(b));
}

}  // namespace modelopt

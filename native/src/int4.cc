#include "int4.h"

#include "common.h"
#include "numpy_compat.h"
#include "quant_math.h"

namespace modelopt {
namespace {

constexpr int kNumAlphas = 11;
// 0.50, 0.55, ..., 0.95, 1.00 as float32 (python floats cast by numpy's weak-scalar rule).
const float kAlphas[kNumAlphas] = {0.5f, 0.55f, 0.6f, 0.65f, 0.7f, 0.75f, 0.8f, 0.85f, 0.9f, 0.95f, 1.0f};

void CheckMatrix(const Napi::CallbackInfo& info, size_t len, int64_t rows, int64_t cols, const char* what) {
  if (rows < 0 || cols < 0 || static_cast<size_t>(rows) * static_cast<size_t>(cols) != len) {
    throw Napi::RangeError::New(info.Env(), std::string(what) + ": shape does not match the data length");
  }
}

// block absmax [nb, cout] of w [cin, cout], zero padding implied, NaN ignored.
std::vector<float> BlockAmax(const float* w, int64_t cin, int64_t cout, int64_t bs) {
  const int64_t nb = (cin + bs - 1) / bs;
  std::vector<float> out(static_cast<size_t>(nb * cout), 0.0f);
  for (int64_t r = 0; r < cin; r++) {
    float* o = out.data() + (r / bs) * cout;
    const float* x = w + r * cout;
    for (int64_t c = 0; c < cout; c++) {
      const float a = std::fabs(x[c]);
      o[c] = a > o[c] ? a : o[c];
    }
  }
  return out;
}

struct ScalesBaton : Baton {
  View<float> w, alphas, out;
  bool hasAlphas = false;
  float alpha = 1;
  int64_t cin = 0, cout = 0, bs = 128;
  Napi::ObjectReference outRef;
  void Execute() override {
    auto am = BlockAmax(w.data, cin, cout, bs);
    for (size_t i = 0; i < am.size(); i++) {
      const float al = hasAlphas ? alphas.data[i] : alpha;
      out.data[i] = (am[i] * al) / 7.0f;
    }
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

struct QuantBaton : Baton {
  View<float> w, scales;
  View<int8_t> out;
  int64_t cin = 0, cout = 0, bs = 128;
  Napi::ObjectReference outRef;
  void Execute() override {
    ParallelFor(static_cast<size_t>(cin), 256, 0, [&](size_t rb, size_t re, int) {
      for (size_t r = rb; r < re; r++) {
        const float* s = scales.data + (static_cast<int64_t>(r) / bs) * cout;
        const float* x = w.data + r * cout;
        int8_t* o = out.data + r * cout;
        for (int64_t c = 0; c < cout; c++) o[c] = static_cast<int8_t>(qm::Q4(x[c], s[c]));
      }
    });
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

struct DequantBaton : Baton {
  View<int8_t> q;
  View<float> scales, out;
  int64_t cin = 0, cout = 0, bs = 128;
  Napi::ObjectReference outRef;
  void Execute() override {
    ParallelFor(static_cast<size_t>(cin), 256, 0, [&](size_t rb, size_t re, int) {
      for (size_t r = rb; r < re; r++) {
        const float* s = scales.data + (static_cast<int64_t>(r) / bs) * cout;
        const int8_t* x = q.data + r * cout;
        float* o = out.data + r * cout;
        for (int64_t c = 0; c < cout; c++) o[c] = static_cast<float>(x[c]) * s[c];
      }
    });
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

struct PackBaton : Baton {
  View<int8_t> s8;
  View<uint8_t> u8;
  View<float> f32;
  int kind = 0;  // 0 int8, 1 uint8, 2 float32
  size_t n = 0;
  bool isUnsigned = false;
  View<uint8_t> out;
  Napi::ObjectReference outRef;
  void Execute() override {
    const double lo = isUnsigned ? 0 : -8, hi = isUnsigned ? 15 : 7;
    for (size_t i = 0; i < n; i++) {
      double v = kind == 0 ? s8.data[i] : kind == 1 ? u8.data[i] : f32.data[i];
      if (std::isnan(v)) v = 0;
      v = np::Rint(std::min(std::max(v, lo), hi));
      const uint8_t nib = static_cast<uint8_t>(static_cast<int>(v) & 0xF);
      if ((i & 1) == 0) out.data[i >> 1] = nib;
      else out.data[i >> 1] |= static_cast<uint8_t>(nib << 4);
    }
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

struct UnpackBaton : Baton {
  View<uint8_t> packed;
  size_t count = 0;
  bool isUnsigned = false;
  View<int8_t> s8;
  View<uint8_t> u8;
  Napi::ObjectReference outRef;
  void Execute() override {
    for (size_t i = 0; i < count; i++) {
      const int nib = (packed.data[i >> 1] >> ((i & 1) * 4)) & 0xF;
      if (isUnsigned) u8.data[i] = static_cast<uint8_t>(nib);
      else s8.data[i] = static_cast<int8_t>(nib >= 8 ? nib - 16 : nib);
    }
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

// ---- AWQ clip search -------------------------------------------------------------------------
//
// Float32 evaluation order of the numpy reference (see reference.ts blockDot): the block partial
// sums are sequential over k and the token mean is sequential over t, except for an output
// batch of width 1 (pairwise over k; pairwise over t too when there is a single block).
// The fast path vectorises across 8 output channels, which is exactly numpy's inner loop.

typedef float v8f __attribute__((vector_size(32)));

inline __attribute__((always_inline)) v8f Load8(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline __attribute__((always_inline)) void Store8(float* p, v8f v) { std::memcpy(p, &v, sizeof(v)); }

constexpr int kLanes = 8;
constexpr int kVecs = kNumAlphas + 1;  // original weight + 11 fake-quantized ones

// For one block and 8 output channels: w12 holds [kVecs][bs][8] weights; for every token t,
// acc[a] = sum_k x[t, k] * w12[a][k] (sequential in k, per lane), d = acc[0] - acc[a+1],
// sumT[a] += d*d (sequential in t). Writes sumT [kNumAlphas][8].
inline __attribute__((always_inline)) void AwqTileBody(const float* x, int64_t T, int64_t xStride, const float* w12, int bs, float* sumT) {
  v8f st[kNumAlphas];
  for (int a = 0; a < kNumAlphas; a++) st[a] = v8f{} ;
  for (int64_t t = 0; t < T; t++) {
    const float* xt = x + t * xStride;
    v8f acc[kVecs];
    for (int a = 0; a < kVecs; a++) acc[a] = v8f{};
    for (int k = 0; k < bs; k++) {
      const float xs = xt[k];
      const v8f xv = {xs, xs, xs, xs, xs, xs, xs, xs};
      const float* wk = w12 + static_cast<size_t>(k) * kLanes;
      for (int a = 0; a < kVecs; a++) acc[a] += xv * Load8(wk + static_cast<size_t>(a) * bs * kLanes);
    }
    for (int a = 0; a < kNumAlphas; a++) {
      const v8f d = acc[0] - acc[a + 1];
      st[a] += d * d;
    }
  }
  for (int a = 0; a < kNumAlphas; a++) Store8(sumT + a * kLanes, st[a]);
}

__attribute__((target("avx2"))) void AwqTileAvx2(const float* x, int64_t T, int64_t xs, const float* w, int bs, float* s) { AwqTileBody(x, T, xs, w, bs, s); }
void AwqTileDefault(const float* x, int64_t T, int64_t xs, const float* w, int bs, float* s) { AwqTileBody(x, T, xs, w, bs, s); }

using AwqTileFn = void (*)(const float*, int64_t, int64_t, const float*, int, float*);
AwqTileFn PickAwqTile() {
  return CpuHasAvx2() ? AwqTileAvx2 : AwqTileDefault;
}

struct AwqBaton : Baton {
  View<float> w, x;
  int64_t cin = 0, cout = 0, tokens = 0, bs = 128, maxTokens = 64, coBatch = 1024;
  int threads = 0;
  std::vector<float> alphas, loss;
  int64_t nb = 0, used = 0;

  // Scalar path for a column in a batch of width 1 (numpy pairwise orders).
  void SingleColumn(int64_t c, const std::vector<float>& xp, int64_t T, int64_t cinP) {
    std::vector<float> wc(static_cast<size_t>(cinP), 0.0f), wq(static_cast<size_t>(bs)), tmp(static_cast<size_t>(bs)), org(static_cast<size_t>(T)),
        d2(static_cast<size_t>(T));
    for (int64_t r = 0; r < cin; r++) wc[r] = w.data[r * cout + c];
    auto dot = [&](const float* a, const float* b) {
      for (int64_t k = 0; k < bs; k++) tmp[k] = a[k] * b[k];
      return np::PairwiseSum(tmp.data(), static_cast<size_t>(bs));
    };
    for (int64_t b = 0; b < nb; b++) {
      const float* wb = wc.data() + b * bs;
      float am = 0.0f;
      for (int64_t k = 0; k < bs; k++) {
        const float a = std::fabs(wb[k]);
        am = a > am ? a : am;
      }
      for (int64_t t = 0; t < T; t++) org[t] = dot(xp.data() + t * cinP + b * bs, wb);
      const int64_t o = b * cout + c;
      for (int a = 0; a < kNumAlphas; a++) {
        const float s = (am * kAlphas[a]) / 7.0f;
        for (int64_t k = 0; k < bs; k++) wq[k] = qm::Q4(wb[k], s) * s;
        for (int64_t t = 0; t < T; t++) {
          const float d = org[t] - dot(xp.data() + t * cinP + b * bs, wq.data());
          d2[t] = d * d;
        }
        float sum = 0.0f;
        if (nb == 1) sum = np::PairwiseSum(d2.data(), static_cast<size_t>(T));
        else
          for (int64_t t = 0; t < T; t++) sum += d2[t];
        const float l = static_cast<float>(static_cast<double>(sum) / static_cast<double>(T));
        if (l < loss[o]) {
          loss[o] = l;
          alphas[o] = kAlphas[a];
        }
      }
    }
  }

  void Execute() override {
    const int64_t step = std::max<int64_t>(1, tokens / maxTokens);
    std::vector<int64_t> rows;
    for (int64_t t = 0; t < tokens; t += step) rows.push_back(t);
    const int64_t T = static_cast<int64_t>(rows.size());
    used = T;
    nb = (cin + bs - 1) / bs;
    const int64_t cinP = nb * bs;
    std::vector<float> xp(static_cast<size_t>(T * cinP), 0.0f);
    for (int64_t t = 0; t < T; t++) std::memcpy(xp.data() + t * cinP, x.data + rows[t] * cin, sizeof(float) * static_cast<size_t>(cin));
    alphas.assign(static_cast<size_t>(nb * cout), 1.0f);
    loss.assign(static_cast<size_t>(nb * cout), std::numeric_limits<float>::infinity());
    if (T == 0 || cout == 0 || nb == 0) return;

    // Columns alone in their batch (width 1) follow numpy's pairwise orders.
    std::vector<char> single(static_cast<size_t>(cout), 0);
    for (int64_t s = 0; s < cout; s += coBatch)
      if (std::min(coBatch, cout - s) == 1) single[s] = 1;

    const AwqTileFn tileFn = PickAwqTile();
    const int64_t nTiles = (cout + kLanes - 1) / kLanes;
    ParallelFor(static_cast<size_t>(nTiles), 1, threads, [&](size_t tb, size_t te, int) {
      std::vector<float> w12(static_cast<size_t>(kVecs * bs * kLanes));
      float sumT[kNumAlphas * kLanes];
      for (size_t tile = tb; tile < te; tile++) {
        const int64_t c0 = static_cast<int64_t>(tile) * kLanes;
        const int64_t nc = std::min<int64_t>(kLanes, cout - c0);
        for (int64_t b = 0; b < nb; b++) {
          // gather [bs][8] original weights (zero rows past cin, zero lanes past cout)
          float* w0 = w12.data();
          for (int64_t k = 0; k < bs; k++) {
            const int64_t r = b * bs + k;
            float* dst = w0 + k * kLanes;
            for (int j = 0; j < kLanes; j++) dst[j] = (r < cin && j < nc) ? w.data[r * cout + c0 + j] : 0.0f;
          }
          float am[kLanes];
          for (int j = 0; j < kLanes; j++) {
            float m = 0.0f;
            for (int64_t k = 0; k < bs; k++) {
              const float a = std::fabs(w0[k * kLanes + j]);
              m = a > m ? a : m;
            }
            am[j] = m;
          }
          for (int a = 0; a < kNumAlphas; a++) {
            float s[kLanes];
            for (int j = 0; j < kLanes; j++) s[j] = (am[j] * kAlphas[a]) / 7.0f;
            float* dst = w12.data() + static_cast<size_t>(a + 1) * bs * kLanes;
            for (int64_t k = 0; k < bs; k++)
              for (int j = 0; j < kLanes; j++) dst[k * kLanes + j] = qm::Q4(w0[k * kLanes + j], s[j]) * s[j];
          }
          tileFn(xp.data() + b * bs, T, cinP, w12.data(), static_cast<int>(bs), sumT);
          for (int64_t j = 0; j < nc; j++) {
            const int64_t c = c0 + j;
            if (single[c]) continue;
            const int64_t o = b * cout + c;
            for (int a = 0; a < kNumAlphas; a++) {
              const float l = static_cast<float>(static_cast<double>(sumT[a * kLanes + j]) / static_cast<double>(T));
              if (l < loss[o]) {
                loss[o] = l;
                alphas[o] = kAlphas[a];
              }
            }
          }
        }
        for (int64_t j = 0; j < nc; j++)
          if (single[c0 + j]) SingleColumn(c0 + j, xp, T, cinP);
      }
    });
  }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("alphas", ToTyped(env, alphas));
    o.Set("loss", ToTyped(env, loss));
    o.Set("nBlocks", static_cast<double>(nb));
    o.Set("tokensUsed", static_cast<double>(used));
    return o;
  }
};

}  // namespace

Napi::Value Int4BlockScales(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<ScalesBaton>();
  b->w = Borrow<float>(*b, info[0], "weight");
  b->cin = IntArg(info, 1, "cin");
  b->cout = IntArg(info, 2, "cout");
  b->bs = IntArg(info, 3, "blockSize");
  b->alpha = static_cast<float>(NumberArg(info, 4, "alpha"));
  if (b->bs < 1) throw Napi::RangeError::New(info.Env(), "blockSize must be positive");
  CheckMatrix(info, b->w.size, b->cin, b->cout, "int4BlockScales");
  const size_t n = static_cast<size_t>(((b->cin + b->bs - 1) / b->bs) * b->cout);
  b->hasAlphas = !info[5].IsNull() && !info[5].IsUndefined();
  if (b->hasAlphas) {
    b->alphas = Borrow<float>(*b, info[5], "alpha");
    if (b->alphas.size != n) throw Napi::RangeError::New(info.Env(), "alpha must have [nBlocks, cout] entries");
  }
  b->out = Allocate<float>(*b, info.Env(), n, b->outRef);
  return Queue(info.Env(), std::move(b));
}

Napi::Value Int4QuantizeBlocks(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<QuantBaton>();
  b->w = Borrow<float>(*b, info[0], "weight");
  b->cin = IntArg(info, 1, "cin");
  b->cout = IntArg(info, 2, "cout");
  b->scales = Borrow<float>(*b, info[3], "scales");
  b->bs = IntArg(info, 4, "blockSize");
  if (b->bs < 1) throw Napi::RangeError::New(info.Env(), "blockSize must be positive");
  CheckMatrix(info, b->w.size, b->cin, b->cout, "int4QuantizeBlocks");
  CheckMatrix(info, b->scales.size, (b->cin + b->bs - 1) / b->bs, b->cout, "int4QuantizeBlocks scales");
  b->out = Allocate<int8_t>(*b, info.Env(), b->w.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}

Napi::Value Int4DequantizeBlocks(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<DequantBaton>();
  b->q = Borrow<int8_t>(*b, info[0], "q");
  b->cin = IntArg(info, 1, "cin");
  b->cout = IntArg(info, 2, "cout");
  b->scales = Borrow<float>(*b, info[3], "scales");
  b->bs = IntArg(info, 4, "blockSize");
  if (b->bs < 1) throw Napi::RangeError::New(info.Env(), "blockSize must be positive");
  CheckMatrix(info, b->q.size, b->cin, b->cout, "int4DequantizeBlocks");
  CheckMatrix(info, b->scales.size, (b->cin + b->bs - 1) / b->bs, b->cout, "int4DequantizeBlocks scales");
  b->out = Allocate<float>(*b, info.Env(), b->q.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}

Napi::Value PackInt4(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<PackBaton>();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "values must be an Int8Array, Uint8Array or Float32Array");
  switch (info[0].As<Napi::TypedArray>().TypedArrayType()) {
    case napi_int8_array: b->kind = 0; b->s8 = Borrow<int8_t>(*b, info[0], "values"); b->n = b->s8.size; break;
    case napi_uint8_array: b->kind = 1; b->u8 = Borrow<uint8_t>(*b, info[0], "values"); b->n = b->u8.size; break;
    case napi_float32_array: b->kind = 2; b->f32 = Borrow<float>(*b, info[0], "values"); b->n = b->f32.size; break;
    default: throw Napi::TypeError::New(info.Env(), "values must be an Int8Array, Uint8Array or Float32Array");
  }
  b->isUnsigned = BoolArg(info, 1);
  b->out = Allocate<uint8_t>(*b, info.Env(), (b->n + 1) / 2, b->outRef);
  return Queue(info.Env(), std::move(b));
}

Napi::Value UnpackInt4(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<UnpackBaton>();
  b->packed = Borrow<uint8_t>(*b, info[0], "packed");
  const int64_t count = IntArg(info, 1, "count");
  b->isUnsigned = BoolArg(info, 2);
  if (count < 0 || static_cast<size_t>((count + 1) / 2) > b->packed.size) throw Napi::RangeError::New(info.Env(), "count exceeds the packed data");
  b->count = static_cast<size_t>(count);
  if (b->isUnsigned) b->u8 = Allocate<uint8_t>(*b, info.Env(), b->count, b->outRef);
  else b->s8 = Allocate<int8_t>(*b, info.Env(), b->count, b->outRef);
  return Queue(info.Env(), std::move(b));
}

Napi::Value AwqClipSearch(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<AwqBaton>();
  b->w = Borrow<float>(*b, info[0], "weight");
  b->cin = IntArg(info, 1, "cin");
  b->cout = IntArg(info, 2, "cout");
  b->x = Borrow<float>(*b, info[3], "activations");
  b->tokens = IntArg(info, 4, "tokens");
  b->bs = IntArg(info, 5, "blockSize");
  b->maxTokens = IntArg(info, 6, "maxTokens");
  b->threads = static_cast<int>(IntArg(info, 7, "threads"));
  b->coBatch = IntArg(info, 8, "coBatch");
  if (b->bs < 1 || b->maxTokens < 1 || b->coBatch < 1) throw Napi::RangeError::New(info.Env(), "blockSize, maxTokens and coBatch must be positive");
  CheckMatrix(info, b->w.size, b->cin, b->cout, "awqClipSearch weight");
  CheckMatrix(info, b->x.size, b->tokens, b->cin, "awqClipSearch activations");
  return Queue(info.Env(), std::move(b));
}

}  // namespace modelopt

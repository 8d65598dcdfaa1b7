// node-addon-api bindings of the CUDA kernels: exports.cuda (see native/src/hooks.h).
// Same positional arguments and results as the CPU raw bindings (native/index.ts RawAddon), for
// the kernels that have a GPU path; every call is an AsyncWorker (libuv thread) over borrowed
// typed arrays, and returns a Promise. native/device.ts routes calls here when the device is
// 'cuda' (or 'auto' with a GPU present).
#include <napi.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../src/common.h"
#include "../src/hooks.h"
#include "cuda_kernels.h"

namespace modelopt {
namespace cuda {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto o = Napi::Object::New(env);
  bool ok = cudaAvailable();
  o.Set("available", ok);
  o.Set("reason", cudaUnavailableReason());
  auto devs = cudaDevices();
  auto arr = Napi::Array::New(env, devs.size());
  for (size_t i = 0; i < devs.size(); ++i) {
    auto d = Napi::Object::New(env);
    d.Set("kind", "cuda");
    d.Set("index", devs[i].index);
    d.Set("name", devs[i].name);
    d.Set("memory", static_cast<double>(devs[i].totalMemory));
    d.Set("computeCapability", std::to_string(devs[i].major) + "." + std::to_string(devs[i].minor));
    d.Set("multiprocessors", devs[i].multiprocessors);
    arr.Set(static_cast<uint32_t>(i), d);
  }
  o.Set("devices", arr);
  return o;
}

void RequireCuda(Napi::Env env) {
  if (!cudaAvailable()) throw Napi::Error::New(env, "CUDA is not available: " + cudaUnavailableReason());
}

// ---------------------------------------------------------------------------------------------
struct AmaxBaton : Baton {
  View<float> x;
  AmaxStats s;
  void Execute() override { s = amaxStats(x.data, x.size); }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("amax", (double)s.amax);
    o.Set("min", (double)s.min);
    o.Set("max", (double)s.max);
    o.Set("count", (double)x.size);
    o.Set("nanCount", (double)s.nanCount);
    o.Set("infCount", (double)s.infCount);
    return o;
  }
};
Napi::Value Amax(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<AmaxBaton>();
  b->x = Borrow<float>(*b, info[0], "data");
  return Queue(info.Env(), std::move(b));
}

struct AmaxAxisBaton : Baton {
  View<float> x;
  std::vector<int64_t> shape;
  std::vector<int> keep;
  View<float> out;
  Napi::ObjectReference outRef;
  AmaxStats s;
  void Execute() override {
    amaxAxes(x.data, shape, keep, out.data);
    s = amaxStats(x.data, x.size);
  }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("amax", outRef.Value());
    o.Set("nanCount", (double)s.nanCount);
    o.Set("infCount", (double)s.infCount);
    return o;
  }
};
Napi::Value AmaxPerAxis(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<AmaxAxisBaton>();
  b->x = Borrow<float>(*b, info[0], "data");
  b->shape = IntArrayArg(info, 1, "shape");
  auto keep = IntArrayArg(info, 2, "keepAxes");
  size_t n = 1, nout = 1;
  const int rank = (int)b->shape.size();
  for (auto d : b->shape) n *= (size_t)d;
  if (n != b->x.size) throw Napi::RangeError::New(info.Env(), "shape does not match the data length");
  std::vector<bool> seen(rank, false);
  for (auto a : keep) {
    int ax = (int)(a < 0 ? a + rank : a);
    if (ax < 0 || ax >= rank) throw Napi::RangeError::New(info.Env(), "axis out of range");
    if (!seen[ax]) nout *= (size_t)b->shape[ax];
    seen[ax] = true;
    b->keep.push_back(ax);
  }
  b->out = Allocate<float>(*b, info.Env(), nout, b->outRef);
  return Queue(info.Env(), std::move(b));
}

// histogram(data, nbins, lo, hi, mode 0 numpy | 1 histc, abs, edges|null) -> Float64Array counts
struct HistBaton : Baton {
  View<float> x;
  int nbins = 0, mode = 0;
  float lo = 0, hi = 0;
  bool absValues = false;
  std::vector<float> edges;
  std::vector<int64_t> counts;
  void Execute() override {
    counts.assign((size_t)nbins, 0);
    histogram(x.data, x.size, nbins, lo, hi, mode == 0 ? HistMode::Numpy : HistMode::Histc, absValues,
              edges.empty() ? nullptr : edges.data(), counts.data());
  }
  Napi::Value Result(Napi::Env env) override {
    auto ta = Napi::Float64Array::New(env, counts.size());
    for (size_t i = 0; i < counts.size(); ++i) ta[i] = (double)counts[i];
    return ta;
  }
};
Napi::Value Histogram(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<HistBaton>();
  b->x = Borrow<float>(*b, info[0], "data");
  b->nbins = (int)IntArg(info, 1, "nbins");
  b->lo = (float)NumberArg(info, 2, "lo");
  b->hi = (float)NumberArg(info, 3, "hi");
  b->mode = (int)IntArg(info, 4, "mode");
  b->absValues = BoolArg(info, 5);
  if (b->nbins < 1) throw Napi::RangeError::New(info.Env(), "nbins must be positive");
  if (b->mode == 0) {
    if (info.Length() > 6 && info[6].IsTypedArray()) b->edges = CopyArray<float>(info[6], "edges");
    else b->edges = numpyLinspaceF32(b->lo, b->hi, b->nbins + 1);
    if ((int)b->edges.size() != b->nbins + 1) throw Napi::RangeError::New(info.Env(), "edges must have nbins + 1 entries");
  }
  return Queue(info.Env(), std::move(b));
}

// minMax(data) -> {min, max} with np.min/np.max semantics (NaN propagates)
struct MinMaxBaton : Baton {
  View<float> x;
  float mn = 0, mx = 0;
  void Execute() override { minMax(x.data, x.size, &mn, &mx); }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("min", (double)mn);
    o.Set("max", (double)mx);
    return o;
  }
};
Napi::Value MinMax(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<MinMaxBaton>();
  b->x = Borrow<float>(*b, info[0], "data");
  return Queue(info.Env(), std::move(b));
}

struct HistIn {
  std::vector<int64_t> counts;
  std::vector<float> edges;
  double min = 0, max = 0;
};
HistIn ReadHist(const Napi::Value& v, bool withRange) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "histogram must be an object");
  auto o = v.As<Napi::Object>();
  auto h = CopyArray<double>(o.Get("hist"), "hist");
  HistIn r;
  r.edges = CopyArray<float>(o.Get("edges"), "edges");
  if (h.empty() || r.edges.size() != h.size() + 1) throw Napi::RangeError::New(v.Env(), "edges must have hist.length + 1 entries");
  r.counts.resize(h.size());
  for (size_t i = 0; i < h.size(); ++i) {
    if (!(h[i] >= 0) || h[i] != std::floor(h[i]) || h[i] > 9007199254740992.0)
      throw Napi::RangeError::New(v.Env(), "histogram counts must be non-negative integers");
    r.counts[i] = (int64_t)h[i];
  }
  if (withRange) {
    r.min = o.Get("min").ToNumber().DoubleValue();
    r.max = o.Get("max").ToNumber().DoubleValue();
  }
  return r;
}

struct OrtEntropyBaton : Baton {
  HistIn h;
  int nq = 128;
  double low = 0, high = 0;
  void Execute() override {
    const int nb = (int)h.counts.size();
    int c = ortEntropySearch(h.counts.data(), nb, nq, nullptr);
    const int zb = nb / 2, i = nq / 2 + c;
    const int start = zb - i, end = std::min(zb + i + 1, nb);
    low = h.edges[start];
    high = h.edges[end];
    if (low < h.min) low = h.min;
    if (high > h.max) high = h.max;
  }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("low", low);
    o.Set("high", high);
    return o;
  }
};
Napi::Value OrtEntropyThreshold(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<OrtEntropyBaton>();
  b->h = ReadHist(info[0], true);
  b->nq = (int)IntArg(info, 1, "numQuantizedBins");
  const int nb = (int)b->h.counts.size();
  if (b->nq < 1 || nb / 2 - b->nq / 2 + 1 < 1)
    throw Napi::RangeError::New(info.Env(), "histogram has " + std::to_string(nb) + " bins, fewer than num_quantized_bins=" +
                                                std::to_string(b->nq));
  return Queue(info.Env(), std::move(b));
}

struct TorchSearchBaton : Baton {
  HistIn h;
  int numBits = 8, startBin = 128, stride = 1;
  bool isUnsigned = false, mse = false, e4m3 = false;
  double result = 0;
  bool isNull = false;
  void Execute() override {
    const int nb = (int)h.counts.size();
    if (!mse) {
      int i = torchEntropySearch(h.counts.data(), nb, numBits, isUnsigned, startBin, stride, nullptr);
      if (i < 0) i = nb;  // no candidate: the reference falls back to the last edge
      result = h.edges[std::min<size_t>((size_t)i, h.edges.size() - 1)];
    } else {
      int i = mseSearch(h.counts.data(), h.edges.data(), nb, e4m3 ? -43 : numBits, isUnsigned, startBin, stride, nullptr);
      if (i < 0) {
        if (nb > startBin && startBin >= 0) i = startBin;
        else {
          isNull = true;
          return;
        }
      }
      result = (double)((h.edges[i + 1] + h.edges[i]) / 2.0f);
    }
  }
  Napi::Value Result(Napi::Env env) override { return isNull ? env.Null() : Napi::Number::New(env, result); }
};
Napi::Value TorchEntropyAmax(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<TorchSearchBaton>();
  b->h = ReadHist(info[0], false);
  b->numBits = (int)IntArg(info, 1, "numBits");
  b->isUnsigned = BoolArg(info, 2);
  b->startBin = (int)IntArg(info, 3, "startBin");
  b->stride = (int)IntArg(info, 4, "stride");
  return Queue(info.Env(), std::move(b));
}
Napi::Value TorchMseAmax(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<TorchSearchBaton>();
  b->h = ReadHist(info[0], false);
  b->numBits = (int)IntArg(info, 1, "numBits");
  b->isUnsigned = BoolArg(info, 2);
  b->startBin = (int)IntArg(info, 3, "startBin");
  b->stride = (int)IntArg(info, 4, "stride");
  b->mse = true;
  b->e4m3 = BoolArg(info, 5);
  return Queue(info.Env(), std::move(b));
}

// bits / unsigned / narrow from (bound B, lower bound lo) as native/index.ts passes them
void BitsOf(Napi::Env env, double B, double lo, int* bits, bool* uns, bool* narrow) {
  *uns = lo == 0;
  *narrow = !*uns && lo == -B;
  int k = 0;
  while ((double)((1LL << k) - 1) < B && k < 62) ++k;
  if ((double)((1LL << k) - 1) != B) throw Napi::RangeError::New(env, "bound must be 2^k - 1");
  *bits = k + (*uns ? 0 : 1);
}

struct FakeQuantBaton : Baton {
  View<float> x, amax, out;
  Napi::ObjectReference outRef;
  QuantAxis ax;
  int bits = 8;
  bool uns = false, narrow = false;
  void Execute() override { fakeQuantInt(x.data, x.size, amax.data, ax, bits, uns, narrow, out.data); }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};
Napi::Value FakeQuantInt(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<FakeQuantBaton>();
  b->x = Borrow<float>(*b, info[0], "data");
  b->amax = Borrow<float>(*b, info[1], "amax");
  int64_t inner = IntArg(info, 2, "inner"), size = IntArg(info, 3, "size");
  BitsOf(info.Env(), NumberArg(info, 4, "bound"), NumberArg(info, 5, "lo"), &b->bits, &b->uns, &b->narrow);
  if (b->amax.size == 1 && size <= 1) b->ax = QuantAxis{};
  else b->ax = QuantAxis{size, inner};
  if ((size_t)std::max<int64_t>(1, b->ax.size) != b->amax.size) throw Napi::RangeError::New(info.Env(), "amax length mismatch");
  b->out = Allocate<float>(*b, info.Env(), b->x.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}

struct QuantizeBaton : Baton {
  View<float> x, amax;
  Napi::ObjectReference valuesRef;
  View<int8_t> s8;
  View<uint8_t> u8;
  std::vector<float> scales;
  QuantAxis ax;
  int bits = 8;
  bool uns = false, narrow = false;
  void Execute() override {
    std::vector<int8_t> codes(x.size);
    scales.assign(std::max<size_t>(1, (size_t)ax.size), 0.f);
    quantizeInt(x.data, x.size, amax.data, ax, bits, uns, narrow, codes.data(), scales.data());
    if (uns) std::memcpy(u8.data, codes.data(), codes.size());
    else std::memcpy(s8.data, codes.data(), codes.size());
  }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("values", valuesRef.Value());
    o.Set("scales", ToTyped(env, scales));
    return o;
  }
};
Napi::Value QuantizeInt(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<QuantizeBaton>();
  b->x = Borrow<float>(*b, info[0], "data");
  b->amax = Borrow<float>(*b, info[1], "amax");
  int64_t inner = IntArg(info, 2, "inner"), size = IntArg(info, 3, "size");
  BitsOf(info.Env(), NumberArg(info, 4, "bound"), NumberArg(info, 5, "lo"), &b->bits, &b->uns, &b->narrow);
  if (b->amax.size == 1 && size <= 1) b->ax = QuantAxis{};
  else b->ax = QuantAxis{size, inner};
  if ((size_t)std::max<int64_t>(1, b->ax.size) != b->amax.size) throw Napi::RangeError::New(info.Env(), "amax length mismatch");
  if (b->uns) b->u8 = Allocate<uint8_t>(*b, info.Env(), b->x.size, b->valuesRef);
  else b->s8 = Allocate<int8_t>(*b, info.Env(), b->x.size, b->valuesRef);
  return Queue(info.Env(), std::move(b));
}

struct E4m3Baton : Baton {
  View<float> x;
  View<uint8_t> bytes;
  View<float> out;
  Napi::ObjectReference outRef;
  bool encode = true, scaled = false;
  float amax = 0;
  void Execute() override {
    if (encode) quantizeE4m3(x.data, x.size, nullptr, bytes.data);
    else fakeQuantE4m3(x.data, x.size, scaled ? &amax : nullptr, out.data);
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};
Napi::Value E4m3Encode(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<E4m3Baton>();
  b->x = Borrow<float>(*b, info[0], "data");
  b->bytes = Allocate<uint8_t>(*b, info.Env(), b->x.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}
Napi::Value FakeQuantE4M3(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<E4m3Baton>();
  b->encode = false;
  b->x = Borrow<float>(*b, info[0], "data");
  b->amax = (float)NumberArg(info, 1, "amax");
  b->scaled = BoolArg(info, 2);
  if (b->scaled && b->amax < 0) throw Napi::RangeError::New(info.Env(), "amax must be non-negative");
  b->out = Allocate<float>(*b, info.Env(), b->x.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}

void CheckMat(const Napi::CallbackInfo& info, size_t len, int64_t rows, int64_t cols, const char* what) {
  if (rows < 0 || cols < 0 || (size_t)(rows * cols) != len)
    throw Napi::RangeError::New(info.Env(), std::string(what) + ": shape does not match the data length");
}

struct Int4Baton : Baton {
  int op = 0;  // 0 scales, 1 quantize, 2 dequantize
  View<float> w, scalesIn, alphas, outF;
  View<int8_t> q, outQ;
  Napi::ObjectReference outRef;
  int64_t cin = 0, cout = 0;
  int bs = 128;
  float alpha = 1.f;
  void Execute() override {
    const size_t ns = (size_t)((cin + bs - 1) / bs) * (size_t)cout;
    if (op == 0) {
      std::vector<int8_t> codes((size_t)(cin * cout));
      std::vector<float> al;
      if (!alphas.data) al.assign(ns, alpha);
      int4BlockQuantize(w.data, cin, cout, bs, alphas.data ? alphas.data : al.data(), codes.data(), outF.data);
    } else if (op == 1) {
      int4QuantizeWithScales(w.data, cin, cout, bs, scalesIn.data, outQ.data);
    } else {
      int4BlockDequantize(q.data, scalesIn.data, cin, cout, bs, outF.data);
    }
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};
Napi::Value Int4BlockScales(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<Int4Baton>();
  b->w = Borrow<float>(*b, info[0], "weight");
  b->cin = IntArg(info, 1, "cin");
  b->cout = IntArg(info, 2, "cout");
  b->bs = (int)IntArg(info, 3, "blockSize");
  b->alpha = (float)NumberArg(info, 4, "alpha");
  if (b->bs < 1) throw Napi::RangeError::New(info.Env(), "blockSize must be positive");
  CheckMat(info, b->w.size, b->cin, b->cout, "int4BlockScales");
  const size_t ns = (size_t)((b->cin + b->bs - 1) / b->bs) * (size_t)b->cout;
  if (info.Length() > 5 && info[5].IsTypedArray()) {
    b->alphas = Borrow<float>(*b, info[5], "alphas");
    if (b->alphas.size != ns) throw Napi::RangeError::New(info.Env(), "alpha has the wrong number of entries");
  }
  b->outF = Allocate<float>(*b, info.Env(), ns, b->outRef);
  return Queue(info.Env(), std::move(b));
}
Napi::Value Int4QuantizeBlocks(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<Int4Baton>();
  b->op = 1;
  b->w = Borrow<float>(*b, info[0], "weight");
  b->cin = IntArg(info, 1, "cin");
  b->cout = IntArg(info, 2, "cout");
  b->scalesIn = Borrow<float>(*b, info[3], "scales");
  b->bs = (int)IntArg(info, 4, "blockSize");
  if (b->bs < 1) throw Napi::RangeError::New(info.Env(), "blockSize must be positive");
  CheckMat(info, b->w.size, b->cin, b->cout, "int4QuantizeBlocks");
  CheckMat(info, b->scalesIn.size, (b->cin + b->bs - 1) / b->bs, b->cout, "int4QuantizeBlocks scales");
  b->outQ = Allocate<int8_t>(*b, info.Env(), b->w.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}
Napi::Value Int4DequantizeBlocks(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<Int4Baton>();
  b->op = 2;
  b->q = Borrow<int8_t>(*b, info[0], "q");
  b->cin = IntArg(info, 1, "cin");
  b->cout = IntArg(info, 2, "cout");
  b->scalesIn = Borrow<float>(*b, info[3], "scales");
  b->bs = (int)IntArg(info, 4, "blockSize");
  if (b->bs < 1) throw Napi::RangeError::New(info.Env(), "blockSize must be positive");
  CheckMat(info, b->q.size, b->cin, b->cout, "int4DequantizeBlocks");
  CheckMat(info, b->scalesIn.size, (b->cin + b->bs - 1) / b->bs, b->cout, "int4DequantizeBlocks scales");
  b->outF = Allocate<float>(*b, info.Env(), b->q.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}

struct PackBaton : Baton {
  std::vector<float> vals;
  View<float> f;
  View<uint8_t> out;
  Napi::ObjectReference outRef;
  bool uns = false;
  void Execute() override {
    if (f.data) packInt4(f.data, f.size, uns, out.data);
    else packInt4(vals.data(), vals.size(), uns, out.data);
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};
Napi::Value PackInt4(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<PackBaton>();
  b->uns = BoolArg(info, 1);
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "values must be an Int8Array, Uint8Array or Float32Array");
  auto t = info[0].As<Napi::TypedArray>().TypedArrayType();
  size_t n = 0;
  if (t == napi_float32_array) {
    b->f = Borrow<float>(*b, info[0], "values");
    n = b->f.size;
  } else if (t == napi_int8_array) {
    auto v = CopyArray<int8_t>(info[0], "values");
    b->vals.assign(v.begin(), v.end());
    n = v.size();
  } else if (t == napi_uint8_array) {
    auto v = CopyArray<uint8_t>(info[0], "values");
    b->vals.assign(v.begin(), v.end());
    n = v.size();
  } else {
    throw Napi::TypeError::New(info.Env(), "values must be an Int8Array, Uint8Array or Float32Array");
  }
  b->out = Allocate<uint8_t>(*b, info.Env(), (n + 1) / 2, b->outRef);
  return Queue(info.Env(), std::move(b));
}

struct AwqBaton : Baton {
  View<float> w, x;
  int64_t cin = 0, cout = 0, tokens = 0, bs = 128, maxTokens = 64, coBatch = 1024;
  std::vector<float> alphas, loss;
  int64_t T = 0;
  void Execute() override {
    auto rows = awqSelectTokens(tokens, maxTokens);
    T = (int64_t)rows.size();
    std::vector<float> xs((size_t)T * (size_t)cin);
    for (int64_t t = 0; t < T; ++t)
      std::memcpy(xs.data() + (size_t)t * cin, x.data + (size_t)rows[t] * cin, (size_t)cin * sizeof(float));
    const size_t nb = (size_t)((cin + bs - 1) / bs);
    alphas.assign(nb * (size_t)cout, 1.f);
    loss.assign(nb * (size_t)cout, INFINITY);
    awqClipSearch(xs.data(), T, w.data, cin, cout, (int)bs, alphas.data(), loss.data(), coBatch);
  }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("alphas", ToTyped(env, alphas));
    o.Set("loss", ToTyped(env, loss));
    o.Set("nBlocks", (double)((cin + bs - 1) / bs));
    o.Set("tokensUsed", (double)T);
    return o;
  }
};
Napi::Value AwqClipSearch(const Napi::CallbackInfo& info) {
  RequireCuda(info.Env());
  auto b = std::make_unique<AwqBaton>();
  b->w = Borrow<float>(*b, info[0], "weight");
  b->cin = IntArg(info, 1, "cin");
  b->cout = IntArg(info, 2, "cout");
  b->x = Borrow<float>(*b, info[3], "activations");
  b->tokens = IntArg(info, 4, "tokens");
  b->bs = IntArg(info, 5, "blockSize");
  b->maxTokens = IntArg(info, 6, "maxTokens");
  // info[7] (threads) is a CPU option
  if (info.Length() > 8) b->coBatch = IntArg(info, 8, "coBatch");
  if (b->bs < 1 || b->maxTokens < 1 || b->coBatch < 1)
    throw Napi::RangeError::New(info.Env(), "blockSize, maxTokens and coBatch must be positive");
  if (b->tokens < 1 || b->cin < 1 || b->cout < 1) throw Napi::RangeError::New(info.Env(), "awqClipSearch: empty input");
  CheckMat(info, b->w.size, b->cin, b->cout, "awqClipSearch weight");
  CheckMat(info, b->x.size, b->tokens, b->cin, "awqClipSearch activations");
  return Queue(info.Env(), std::move(b));
}

}  // namespace

Napi::Object InitCuda(Napi::Env env) {
  auto o = Napi::Object::New(env);
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  static const Entry entries[] = {
      {"info", Info},
      {"amax", Amax},
      {"amaxPerAxis", AmaxPerAxis},
      {"minMax", MinMax},
      {"histogram", Histogram},
      {"ortEntropyThreshold", OrtEntropyThreshold},
      {"torchEntropyAmax", TorchEntropyAmax},
      {"torchMseAmax", TorchMseAmax},
      {"fakeQuantInt", FakeQuantInt},
      {"quantizeInt", QuantizeInt},
      {"e4m3Encode", E4m3Encode},
      {"fakeQuantE4M3", FakeQuantE4M3},
      {"int4BlockScales", Int4BlockScales},
      {"int4QuantizeBlocks", Int4QuantizeBlocks},
      {"int4DequantizeBlocks", Int4DequantizeBlocks},
      {"packInt4", PackInt4},
      {"awqClipSearch", AwqClipSearch},
  };
  for (const auto& e : entries) o.Set(e.name, Napi::Function::New(env, e.fn, e.name));
  return o;
}

}  // namespace cuda
}  // namespace modelopt

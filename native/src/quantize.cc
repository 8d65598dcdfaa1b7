#include "quantize.h"

#include "common.h"
#include "numpy_compat.h"
#include "quant_math.h"

namespace modelopt {
namespace {

constexpr size_t kChunk = 1 << 16;

// Per-tensor / per-axis geometry: channel of element i = (i / inner) % size.
struct Axis {
  int64_t inner = 1, size = 1;
  inline int64_t Channel(size_t i) const { return size == 1 ? 0 : static_cast<int64_t>((i / static_cast<size_t>(inner)) % static_cast<size_t>(size)); }
};

Axis ReadAxis(const Napi::CallbackInfo& info, size_t at) {
  Axis a;
  a.inner = IntArg(info, at, "inner");
  a.size = IntArg(info, at + 1, "size");
  if (a.inner < 1 || a.size < 1) throw Napi::RangeError::New(info.Env(), "inner and size must be positive");
  return a;
}

void CheckUnsigned(const View<float>& x, bool isUnsigned) {
  if (!isUnsigned) return;
  for (size_t i = 0; i < x.size; i++)
    if (x.data[i] < 0) throw KernelError("unsigned quantization needs non-negative inputs");
}

void CheckAmax(const View<float>& amax) {
  for (size_t i = 0; i < amax.size; i++)
    if (amax.data[i] < 0) throw KernelError("amax must be non-negative");
}

struct FakeQuantIntBaton : Baton {
  View<float> x, amax, out;
  Napi::ObjectReference outRef;
  Axis axis;
  float bound = 127, lo = -128;
  void Execute() override {
    CheckAmax(amax);
    CheckUnsigned(x, lo == 0);
    ParallelFor(x.size, kChunk, 0, [&](size_t b, size_t e, int) {
      if (axis.size == 1) {
        const float a = amax.data[0];
        for (size_t i = b; i < e; i++) out.data[i] = qm::FakeQuantInt(x.data[i], a, bound, lo);
      } else {
        for (size_t i = b; i < e; i++) out.data[i] = qm::FakeQuantInt(x.data[i], amax.data[axis.Channel(i)], bound, lo);
      }
    });
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

struct QuantizeIntBaton : Baton {
  View<float> x, amax;
  Axis axis;
  float bound = 127, lo = -128;
  bool isUnsigned = false;
  Napi::ObjectReference valuesRef;
  View<int8_t> s8;
  View<uint8_t> u8;
  std::vector<float> scales;
  void Execute() override {
    CheckAmax(amax);
    CheckUnsigned(x, isUnsigned);
    ParallelFor(x.size, kChunk, 0, [&](size_t b, size_t e, int) {
      for (size_t i = b; i < e; i++) {
        const float q = qm::QuantInt(x.data[i], amax.data[axis.Channel(i)], bound, lo);
        if (isUnsigned) u8.data[i] = static_cast<uint8_t>(q);
        else s8.data[i] = static_cast<int8_t>(q);
      }
    });
    scales.resize(amax.size);
    for (size_t c = 0; c < amax.size; c++) scales[c] = amax.data[c] < qm::kEps24 ? 1.0f : amax.data[c] / bound;
  }
  Napi::Value Result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("values", valuesRef.Value());
    o.Set("scales", ToTyped(env, scales));
    return o;
  }
};

struct QuantizeLinearBaton : Baton {
  View<float> x, scale;
  View<int32_t> zp;
  Axis axis;
  bool isSigned = true;
  Napi::ObjectReference outRef;
  View<int8_t> s8;
  View<uint8_t> u8;
  void Execute() override {
    const float qmin = isSigned ? -128.0f : 0.0f, qmax = isSigned ? 127.0f : 255.0f;
    ParallelFor(x.size, kChunk, 0, [&](size_t b, size_t e, int) {
      for (size_t i = b; i < e; i++) {
        const int64_t c = axis.Channel(i);
        float v = np::Rint(x.data[i] / scale.data[c]) + static_cast<float>(zp.data[c]);
        if (std::isnan(v)) v = 0;
        v = v < qmin ? qmin : v;
        v = v > qmax ? qmax : v;
        if (isSigned) s8.data[i] = static_cast<int8_t>(v);
        else u8.data[i] = static_cast<uint8_t>(v);
      }
    });
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

struct DequantizeLinearBaton : Baton {
  View<int8_t> s8;
  View<uint8_t> u8;
  bool isSigned = true;
  size_t n = 0;
  View<float> scale, out;
  View<int32_t> zp;
  Axis axis;
  Napi::ObjectReference outRef;
  void Execute() override {
    ParallelFor(n, kChunk, 0, [&](size_t b, size_t e, int) {
      for (size_t i = b; i < e; i++) {
        const int64_t c = axis.Channel(i);
        const int32_t q = isSigned ? s8.data[i] : u8.data[i];
        out.data[i] = static_cast<float>(static_cast<double>(q - zp.data[c]) * static_cast<double>(scale.data[c]));
      }
    });
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

struct E4M3EncodeBaton : Baton {
  View<float> x;
  View<uint8_t> out;
  Napi::ObjectReference outRef;
  void Execute() override {
    ParallelFor(x.size, kChunk, 0, [&](size_t b, size_t e, int) {
      for (size_t i = b; i < e; i++) out.data[i] = qm::E4M3Bits(x.data[i]);
    });
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

struct E4M3DecodeBaton : Baton {
  View<uint8_t> bits;
  View<float> out;
  Napi::ObjectReference outRef;
  void Execute() override {
    float table[256];
    for (int k = 0; k < 256; k++) table[k] = qm::E4M3Decode(static_cast<uint8_t>(k));
    for (size_t i = 0; i < bits.size; i++) out.data[i] = table[bits.data[i]];
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

struct FakeQuantE4M3Baton : Baton {
  View<float> x, out;
  float amax = 0;
  bool scaled = false;
  Napi::ObjectReference outRef;
  void Execute() override {
    if (scaled && amax < 0) throw KernelError("amax must be non-negative");
    const float s = scaled ? 448.0f / amax : 1.0f;
    ParallelFor(x.size, kChunk, 0, [&](size_t b, size_t e, int) {
      for (size_t i = b; i < e; i++) out.data[i] = qm::FakeQuantE4M3(x.data[i], s, scaled);
    });
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

}  // namespace

Napi::Value FakeQuantInt(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<FakeQuantIntBaton>();
  b->x = Borrow<float>(*b, info[0], "data");
  b->amax = Borrow<float>(*b, info[1], "amax");
  b->axis = ReadAxis(info, 2);
  b->bound = static_cast<float>(NumberArg(info, 4, "bound"));
  b->lo = static_cast<float>(NumberArg(info, 5, "lo"));
  if (b->amax.size != static_cast<size_t>(b->axis.size)) throw Napi::RangeError::New(info.Env(), "amax length must equal the axis size");
  b->out = Allocate<float>(*b, info.Env(), b->x.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}

Napi::Value QuantizeInt(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<QuantizeIntBaton>();
  b->x = Borrow<float>(*b, info[0], "data");
  b->amax = Borrow<float>(*b, info[1], "amax");
  b->axis = ReadAxis(info, 2);
  b->bound = static_cast<float>(NumberArg(info, 4, "bound"));
  b->lo = static_cast<float>(NumberArg(info, 5, "lo"));
  b->isUnsigned = BoolArg(info, 6);
  if (b->amax.size != static_cast<size_t>(b->axis.size)) throw Napi::RangeError::New(info.Env(), "amax length must equal the axis size");
  if (b->isUnsigned) b->u8 = Allocate<uint8_t>(*b, info.Env(), b->x.size, b->valuesRef);
  else b->s8 = Allocate<int8_t>(*b, info.Env(), b->x.size, b->valuesRef);
  return Queue(info.Env(), std::move(b));
}

Napi::Value QuantizeLinear(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<QuantizeLinearBaton>();
  b->x = Borrow<float>(*b, info[0], "data");
  b->scale = Borrow<float>(*b, info[1], "scale");
  b->zp = Borrow<int32_t>(*b, info[2], "zeroPoint");
  b->axis = ReadAxis(info, 3);
  b->isSigned = BoolArg(info, 5);
  if (b->scale.size != static_cast<size_t>(b->axis.size) || b->zp.size != b->scale.size) throw Napi::RangeError::New(info.Env(), "scale / zeroPoint length must equal the axis size");
  if (b->isSigned) b->s8 = Allocate<int8_t>(*b, info.Env(), b->x.size, b->outRef);
  else b->u8 = Allocate<uint8_t>(*b, info.Env(), b->x.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}

Napi::Value DequantizeLinear(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<DequantizeLinearBaton>();
  if (info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    b->isSigned = false;
    b->u8 = Borrow<uint8_t>(*b, info[0], "q");
    b->n = b->u8.size;
  } else {
    b->s8 = Borrow<int8_t>(*b, info[0], "q");
    b->n = b->s8.size;
  }
  b->scale = Borrow<float>(*b, info[1], "scale");
  b->zp = Borrow<int32_t>(*b, info[2], "zeroPoint");
  b->axis = ReadAxis(info, 3);
  if (b->scale.size != static_cast<size_t>(b->axis.size) || b->zp.size != b->scale.size) throw Napi::RangeError::New(info.Env(), "scale / zeroPoint length must equal the axis size");
  b->out = Allocate<float>(*b, info.Env(), b->n, b->outRef);
  return Queue(info.Env(), std::move(b));
}

Napi::Value E4M3Encode(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<E4M3EncodeBaton>();
  b->x = Borrow<float>(*b, info[0], "data");
  b->out = Allocate<uint8_t>(*b, info.Env(), b->x.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}

Napi::Value E4M3Decode(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<E4M3DecodeBaton>();
  b->bits = Borrow<uint8_t>(*b, info[0], "bits");
  b->out = Allocate<float>(*b, info.Env(), b->bits.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}

Napi::Value FakeQuantE4M3(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<FakeQuantE4M3Baton>();
  b->x = Borrow<float>(*b, info[0], "data");
  b->amax = static_cast<float>(NumberArg(info, 1, "amax"));
  b->scaled = BoolArg(info, 2);
  b->out = Allocate<float>(*b, info.Env(), b->x.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}

}  // namespace modelopt

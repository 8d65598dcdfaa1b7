// JS ↔ C++ for the TensorRT engine builder, in the baton pattern: arguments are read into a
// BuildRequest on the JS thread (typed arrays borrowed through persistent references, no
// copies), buildEngine() runs on a libuv worker thread, and OnOK() hands the engine and timing
// cache to JS as external buffers owned by their IHostMemory (no copies either).
#include "trt_binding.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine_builder.h"

namespace modelopt {
namespace trt {
namespace {

const char* errorCode(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument: return "INVALID_ARGUMENT";
    case ErrorKind::kFailedPrecondition: return "FAILED_PRECONDITION";
    case ErrorKind::kInternal: return "INTERNAL";
    case ErrorKind::kNone: break;
  }
  return "INTERNAL";
}

std::vector<int64_t> readDims(const Napi::Value& v, const std::string& what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), what + " must be an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value d = a.Get(i);
    if (!d.IsNumber()) throw Napi::TypeError::New(v.Env(), what + " must be an array of integers");
    out.push_back(d.As<Napi::Number>().Int64Value());
  }
  return out;
}

// Turns the released IHostMemory into a Buffer that frees it when collected.
Napi::Value hostMemoryBuffer(Napi::Env env, HostMemoryPtr mem) {
  if (!mem || mem->size() == 0) return Napi::Buffer<uint8_t>::New(env, 0);
  nvinfer1::IHostMemory* raw = mem.release();
  return Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(raw->data()), raw->size(),
                                    [](Napi::Env, uint8_t*, nvinfer1::IHostMemory* m) { delete m; }, raw);
}

class BuildWorker final : public Napi::AsyncWorker {
 public:
  BuildWorker(Napi::Env env, BuildRequest request, std::vector<Napi::ObjectReference> refs)
      : Napi::AsyncWorker(env, "modelopt_tensorrt_build"),
        deferred_(Napi::Promise::Deferred::New(env)),
        request_(std::move(request)),
        refs_(std::move(refs)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override { result_ = buildEngine(request_); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Array log = Napi::Array::New(env, result_.log.size());
    for (size_t i = 0; i < result_.log.size(); ++i) {
      Napi::Object rec = Napi::Object::New(env);
      rec.Set("severity", result_.log[i].severity);
      rec.Set("message", result_.log[i].message);
      log.Set(static_cast<uint32_t>(i), rec);
    }
    if (result_.error != ErrorKind::kNone) {
      Napi::Error err = Napi::Error::New(env, result_.message);
      err.Set("code", Napi::String::New(env, errorCode(result_.error)));
      err.Set("log", log);
      deferred_.Reject(err.Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("engine", hostMemoryBuffer(env, std::move(result_.engine)));
    out.Set("timingCache", hostMemoryBuffer(env, std::move(result_.timingCache)));
    out.Set("layerInfoJson", result_.layerInfoJson);
    out.Set("log", log);
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override {
    Napi::HandleScope scope(Env());
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  BuildRequest request_;
  std::vector<Napi::ObjectReference> refs_;  // keep the borrowed typed arrays alive
  BuildResult result_;
};

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), versionString());
}

Napi::Value Build(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "build(args): args must be an object");
  Napi::Object args = info[0].As<Napi::Object>();
  BuildRequest req;
  std::vector<Napi::ObjectReference> refs;

  Napi::Value onnx = args.Get("onnx");
  if (!onnx.IsTypedArray() || onnx.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "args.onnx must be a Uint8Array");
  }
  Napi::Uint8Array onnxArr = onnx.As<Napi::Uint8Array>();
  req.onnx = onnxArr.Data();
  req.onnxSize = onnxArr.ByteLength();
  refs.push_back(Napi::Persistent(onnxArr.As<Napi::Object>()));

  Napi::Value cache = args.Get("timingCache");
  if (cache.IsTypedArray() && cache.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    Napi::Uint8Array cacheArr = cache.As<Napi::Uint8Array>();
    req.timingCache = cacheArr.Data();
    req.timingCacheSize = cacheArr.ByteLength();
    refs.push_back(Napi::Persistent(cacheArr.As<Napi::Object>()));
  } else if (!cache.IsUndefined() && !cache.IsNull()) {
    throw Napi::TypeError::New(env, "args.timingCache must be a Uint8Array when given");
  }

  if (args.Get("precision").IsString()) req.precision = args.Get("precision").As<Napi::String>().Utf8Value();
  if (args.Get("stronglyTyped").IsBoolean()) req.stronglyTyped = args.Get("stronglyTyped").As<Napi::Boolean>().Value();
  if (args.Get("workspaceBytes").IsNumber()) {
    req.workspaceBytes = static_cast<size_t>(args.Get("workspaceBytes").As<Napi::Number>().Int64Value());
  }
  if (args.Get("avgTimingIterations").IsNumber()) {
    req.avgTimingIterations = args.Get("avgTimingIterations").As<Napi::Number>().Int32Value();
  }
  if (args.Get("tacticSources").IsString()) req.tacticSources = args.Get("tacticSources").As<Napi::String>().Utf8Value();
  if (args.Get("logSeverity").IsNumber()) req.logSeverity = args.Get("logSeverity").As<Napi::Number>().Int32Value();

  Napi::Value profiles = args.Get("profiles");
  if (profiles.IsArray()) {
    Napi::Array list = profiles.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value pv = list.Get(i);
      if (!pv.IsObject()) throw Napi::TypeError::New(env, "args.profiles[] must be objects");
      Napi::Object p = pv.As<Napi::Object>();
      if (!p.Get("name").IsString()) throw Napi::TypeError::New(env, "args.profiles[].name must be a string");
      ShapeProfile sp;
      sp.name = p.Get("name").As<Napi::String>().Utf8Value();
      sp.min = readDims(p.Get("min"), "profiles[" + sp.name + "].min");
      sp.opt = readDims(p.Get("opt"), "profiles[" + sp.name + "].opt");
      sp.max = readDims(p.Get("max"), "profiles[" + sp.name + "].max");
      req.profiles.push_back(std::move(sp));
    }
  }

  auto* worker = new BuildWorker(env, std::move(req), std::move(refs));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

Napi::Object InitTensorRt(Napi::Env env) {
  Napi::Object trt = Napi::Object::New(env);
  trt.Set("version", Napi::Function::New(env, Version, "version"));
  trt.Set("build", Napi::Function::New(env, Build, "build"));
  return trt;
}

}  // namespace trt
}  // namespace modelopt

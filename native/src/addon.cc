// Module registration of modelopt_native: one entry per kernel (see native/index.ts for the
// typed wrapper and native/types.ts for the contract).
#include <fstream>

#include "amax.h"
#include "calib.h"
#include "common.h"
#include "histogram.h"
#include "hooks.h"
#include "int4.h"
#include "quantize.h"

namespace modelopt {
namespace {

std::string CpuName() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos) {
        auto s = line.substr(p + 1);
        s.erase(0, s.find_first_not_of(' '));
        return s;
      }
    }
  }
  return "cpu";
}

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct DeviceDescription {
    std::string kind;
    int index;
    std::string name;
    double memory;
  };
  std::vector<DeviceDescription> devices;
  devices.push_back({"cpu", 0, CpuName(), 0});
  bool cuda = false, tensorrt = false;
#ifdef MODELOPT_WITH_CUDA
  cuda = modelopt::cuda::cudaAvailable();
  if (cuda) {
    for (const auto& d : modelopt::cuda::cudaDevices()) devices.push_back({"cuda", d.index, d.name, static_cast<double>(d.totalMemory)});
  }
#endif
#ifdef MODELOPT_WITH_TENSORRT
  tensorrt = true;
#endif
  auto o = Napi::Object::New(env);
  o.Set("cpu", true);
  o.Set("cuda", cuda);
  o.Set("tensorrt", tensorrt);
  auto arr = Napi::Array::New(env, devices.size());
  for (size_t i = 0; i < devices.size(); i++) {
    auto d = Napi::Object::New(env);
    d.Set("kind", devices[i].kind);
    d.Set("index", devices[i].index);
    d.Set("name", devices[i].name);
    if (devices[i].memory > 0) d.Set("memory", devices[i].memory);
    arr.Set(static_cast<uint32_t>(i), d);
  }
  o.Set("devices", arr);
  o.Set("threads", DefaultThreads());
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  const Entry entries[] = {
      {"amax", Amax},
      {"amaxPerAxis", AmaxPerAxis},
      {"ortHistogramCollect", OrtHistogramCollect},
      {"ortHistogramMerge", OrtHistogramMerge},
      {"ortAbsHistogramCollect", OrtAbsHistogramCollect},
      {"ortEntropyThreshold", OrtEntropyThreshold},
      {"ortPercentile", OrtPercentile},
      {"ortDistribution", OrtDistribution},
      {"torchHistogramCollect", TorchHistogramCollect},
      {"torchEntropyAmax", TorchEntropyAmax},
      {"torchMseAmax", TorchMseAmax},
      {"torchPercentileAmax", TorchPercentileAmax},
      {"fakeQuantInt", FakeQuantInt},
      {"quantizeInt", QuantizeInt},
      {"quantizeLinear", QuantizeLinear},
      {"dequantizeLinear", DequantizeLinear},
      {"e4m3Encode", E4M3Encode},
      {"e4m3Decode", E4M3Decode},
      {"fakeQuantE4M3", FakeQuantE4M3},
      {"int4BlockScales", Int4BlockScales},
      {"int4QuantizeBlocks", Int4QuantizeBlocks},
      {"int4DequantizeBlocks", Int4DequantizeBlocks},
      {"packInt4", PackInt4},
      {"unpackInt4", UnpackInt4},
      {"awqClipSearch", AwqClipSearch},
      {"sparsity24Mask", Sparsity24Mask},
  };
  for (const auto& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
#ifdef MODELOPT_WITH_CUDA
  exports.Set("cuda", modelopt::cuda::InitCuda(env));
#endif
#ifdef MODELOPT_WITH_TENSORRT
  exports.Set("tensorrt", modelopt::trt::InitTensorRt(env));
#endif
  return exports;
}

}  // namespace
}  // namespace modelopt

static Napi::Object InitModeloptNative(Napi::Env env, Napi::Object exports) { return modelopt::Init(env, exports); }

NODE_API_MODULE(modelopt_native, InitModeloptNative)

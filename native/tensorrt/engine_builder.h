// TensorRT engine builder of ModelOpt mesh (compiled only where TensorRT is found).
// Plain C++ over TensorRT's C++ API: no Node-API here. trt_binding.cc turns JS arguments into a
// BuildRequest "baton", runs buildEngine() on a worker thread and turns the BuildResult into JS.
#pragma once

#include <NvInfer.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace modelopt {
namespace trt {

struct ShapeProfile {
  std::string name;
  std::vector<int64_t> min;
  std::vector<int64_t> opt;
  std::vector<int64_t> max;
};

struct BuildRequest {
  // The ONNX model, borrowed (the JS side keeps the buffer alive until the build settles).
  const uint8_t* onnx = nullptr;
  size_t onnxSize = 0;
  // fp32 | fp16 | fp8 | int8 | int4
  std::string precision = "fp32";
  // Q/DQ models: types come from the graph, no precision flags.
  bool stronglyTyped = false;
  size_t workspaceBytes = size_t(256) << 20;
  int32_t avgTimingIterations = 1;
  // "" = all sources; else trtexec-style "+cublasLt,-cudnn".
  std::string tacticSources;
  // Previous timing cache to reuse (may be empty), borrowed like onnx.
  const uint8_t* timingCache = nullptr;
  size_t timingCacheSize = 0;
  std::vector<ShapeProfile> profiles;
  // ILogger threshold: 0 internal error, 1 error, 2 warning, 3 info, 4 verbose.
  int32_t logSeverity = 2;
};

struct LogRecord {
  std::string severity;
  std::string message;
};

enum class ErrorKind { kNone, kInvalidArgument, kFailedPrecondition, kInternal };

struct HostMemoryDeleter {
  void operator()(nvinfer1::IHostMemory* m) const noexcept { delete m; }
};
using HostMemoryPtr = std::unique_ptr<nvinfer1::IHostMemory, HostMemoryDeleter>;

struct BuildResult {
  ErrorKind error = ErrorKind::kNone;
  std::string message;
  HostMemoryPtr engine;
  HostMemoryPtr timingCache;
  // IEngineInspector::getEngineInformation(kJSON); empty if the engine could not be inspected.
  std::string layerInfoJson;
  std::vector<LogRecord> log;
};

// Builds a serialized engine. Never throws; errors come back in BuildResult::error/message.
BuildResult buildEngine(const BuildRequest& request) noexcept;

// "major.minor.patch" of the libnvinfer loaded at run time.
std::string versionString() noexcept;

// Parses "+cublasLt,-cudnn" against `defaults`; false on a bad token.
bool parseTacticSources(const std::string& spec, nvinfer1::TacticSources defaults, nvinfer1::TacticSources& out,
                        std::string& error);

}  // namespace trt
}  // namespace modelopt

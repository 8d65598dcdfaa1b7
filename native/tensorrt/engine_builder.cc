// See engine_builder.h.
#include "engine_builder.h"

#include <NvInfer.h>
#include <NvInferPlugin.h>
#include <NvOnnxParser.h>

#include <mutex>
#include <sstream>
#include <utility>

namespace modelopt {
namespace trt {
namespace {

template <typename T>
struct TrtDeleter {
  void operator()(T* p) const noexcept { delete p; }
};
template <typename T>
using TrtPtr = std::unique_ptr<T, TrtDeleter<T>>;

const char* severityName(nvinfer1::ILogger::Severity s) noexcept {
  switch (s) {
    case nvinfer1::ILogger::Severity::kINTERNAL_ERROR: return "internal_error";
    case nvinfer1::ILogger::Severity::kERROR: return "error";
    case nvinfer1::ILogger::Severity::kWARNING: return "warning";
    case nvinfer1::ILogger::Severity::kINFO: return "info";
    case nvinfer1::ILogger::Severity::kVERBOSE: return "verbose";
  }
  return "unknown";
}

// Collects TensorRT's build log (thread-safe: TensorRT may log from its own threads).
class CollectingLogger final : public nvinfer1::ILogger {
 public:
  explicit CollectingLogger(int32_t threshold) : threshold_(threshold) {}

  void log(Severity severity, nvinfer1::AsciiChar const* msg) noexcept override {
    if (static_cast<int32_t>(severity) > threshold_) return;
    try {
      std::lock_guard<std::mutex> lock(mutex_);
      records_.push_back(LogRecord{severityName(severity), msg ? msg : ""});
    } catch (...) {
      // out of memory while logging: drop the record
    }
  }

  void note(const char* severity, std::string message) {
    std::lock_guard<std::mutex> lock(mutex_);
    records_.push_back(LogRecord{severity, std::move(message)});
  }

  std::vector<LogRecord> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(records_);
  }

  // The last error-level message, for a failure summary.
  std::string lastError() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = records_.rbegin(); it != records_.rend(); ++it) {
      if (it->severity == "error" || it->severity == "internal_error") return it->message;
    }
    return {};
  }

 private:
  int32_t threshold_;
  std::mutex mutex_;
  std::vector<LogRecord> records_;
};

const char* orEmpty(const char* s) noexcept { return s ? s : ""; }

std::string dimsString(const nvinfer1::Dims& d) {
  std::ostringstream os;
  for (int32_t i = 0; i < d.nbDims; ++i) os << (i ? "x" : "") << d.d[i];
  return os.str();
}

bool toDims(const std::vector<int64_t>& v, nvinfer1::Dims& out) {
  if (v.size() > static_cast<size_t>(nvinfer1::Dims::MAX_DIMS)) return false;
  out.nbDims = static_cast<int32_t>(v.size());
  for (size_t i = 0; i < v.size(); ++i) out.d[i] = v[i];
  return true;
}

BuildResult fail(BuildResult r, ErrorKind kind, std::string message, CollectingLogger& logger) {
  r.error = kind;
  r.message = std::move(message);
  r.log = logger.take();
  return r;
}

// Weakly typed networks: builder flags per precision. TensorRT 10.x deprecates these flags in
// favour of strongly typed networks, but engines for the 8.6–10.0 deployment table still use them.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
bool setPrecisionFlags(nvinfer1::IBuilderConfig& config, const std::string& precision) {
  if (precision == "fp32") return true;
  if (precision == "fp16") {
    config.setFlag(nvinfer1::BuilderFlag::kFP16);
    return true;
  }
  return false;  // int8 / fp8 / int4 need an explicitly quantized (Q/DQ) model
}

nvinfer1::TacticSources tacticBit(nvinfer1::TacticSource s) {
  return 1U << static_cast<uint32_t>(s);
}

bool tacticByName(const std::string& name, nvinfer1::TacticSource& out) {
  if (name == "cublas") out = nvinfer1::TacticSource::kCUBLAS;
  else if (name == "cublasLt") out = nvinfer1::TacticSource::kCUBLAS_LT;
  else if (name == "cudnn") out = nvinfer1::TacticSource::kCUDNN;
  else if (name == "edgeMaskConvolutions") out = nvinfer1::TacticSource::kEDGE_MASK_CONVOLUTIONS;
  else if (name == "jitConvolutions") out = nvinfer1::TacticSource::kJIT_CONVOLUTIONS;
  else return false;
  return true;
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

}  // namespace

bool parseTacticSources(const std::string& spec, nvinfer1::TacticSources defaults, nvinfer1::TacticSources& out,
                        std::string& error) {
  out = defaults;
  if (spec.empty()) return true;
  std::stringstream ss(spec);
  std::string token;
  while (std::getline(ss, token, ',')) {
    if (token.size() < 2 || (token[0] != '+' && token[0] != '-')) {
      error = "tactic source \"" + token + "\" must start with + or -";
      return false;
    }
    nvinfer1::TacticSource source;
    if (!tacticByName(token.substr(1), source)) {
      error = "unknown tactic source \"" + token.substr(1) + "\"";
      return false;
    }
    if (token[0] == '+') out |= tacticBit(source);
    else out &= ~tacticBit(source);
  }
  return true;
}

std::string versionString() noexcept {
  const int32_t v = getInferLibVersion();  // major * 10000 + minor * 100 + patch (TensorRT 10)
  std::ostringstream os;
  os << v / 10000 << '.' << (v / 100) % 100 << '.' << v % 100;
  return os.str();
}

BuildResult buildEngine(const BuildRequest& req) noexcept {
  BuildResult result;
  CollectingLogger logger(req.logSeverity);
  try {
    if (req.onnx == nullptr || req.onnxSize == 0) {
      return fail(std::move(result), ErrorKind::kInvalidArgument, "empty ONNX model", logger);
    }
    if (!initLibNvInferPlugins(&logger, "")) {
      logger.note("warning", "initLibNvInferPlugins failed; plugin layers will not be available");
    }
    TrtPtr<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(logger));
    if (!builder) {
      return fail(std::move(result), ErrorKind::kFailedPrecondition,
                  "TensorRT could not create a builder (no usable CUDA device?): " + logger.lastError(), logger);
    }
    nvinfer1::NetworkDefinitionCreationFlags flags = 0;
    if (req.stronglyTyped) {
      flags |= 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
    }
    TrtPtr<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(flags));
    if (!network) return fail(std::move(result), ErrorKind::kInternal, "createNetworkV2 failed", logger);

    TrtPtr<nvonnxparser::IParser> parser(nvonnxparser::createParser(*network, logger));
    if (!parser) return fail(std::move(result), ErrorKind::kInternal, "createParser failed", logger);
    if (!parser->parse(req.onnx, req.onnxSize)) {
      std::ostringstream os;
      os << "TensorRT's ONNX parser rejected the model:";
      for (int i = 0; i < parser->getNbErrors(); ++i) {
        const nvonnxparser::IParserError* e = parser->getError(i);
        os << "\n  " << orEmpty(e->desc()) << " (node " << e->node() << " " << orEmpty(e->nodeName()) << ", op "
           << orEmpty(e->nodeOperator()) << ")";
      }
      return fail(std::move(result), ErrorKind::kInvalidArgument, os.str(), logger);
    }

    TrtPtr<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
    if (!config) return fail(std::move(result), ErrorKind::kInternal, "createBuilderConfig failed", logger);
    config->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, req.workspaceBytes);
    config->setAvgTimingIterations(req.avgTimingIterations);
    config->setProfilingVerbosity(nvinfer1::ProfilingVerbosity::kDETAILED);

    if (!req.stronglyTyped && !setPrecisionFlags(*config, req.precision)) {
      return fail(std::move(result), ErrorKind::kInvalidArgument,
                  "precision " + req.precision +
                      " needs an explicitly quantized model (QuantizeLinear/DequantizeLinear nodes); quantize it first",
                  logger);
    }
    nvinfer1::TacticSources tactics = 0;
    std::string tacticError;
    if (!parseTacticSources(req.tacticSources, config->getTacticSources(), tactics, tacticError)) {
      return fail(std::move(result), ErrorKind::kInvalidArgument, tacticError, logger);
    }
    if (!req.tacticSources.empty() && !config->setTacticSources(tactics)) {
      return fail(std::move(result), ErrorKind::kInvalidArgument, "TensorRT rejected tactic sources " + req.tacticSources,
                  logger);
    }

    // Timing cache: reuse the caller's, or start an empty one; serialized back after the build.
    TrtPtr<nvinfer1::ITimingCache> cache(config->createTimingCache(req.timingCache, req.timingCacheSize));
    if (!cache && req.timingCacheSize > 0) {
      logger.note("warning", "the given timing cache could not be read; starting an empty one");
      cache.reset(config->createTimingCache(nullptr, 0));
    }
    if (cache && !config->setTimingCache(*cache, false)) {
      logger.note("warning", "the timing cache does not match this device/TensorRT; starting an empty one");
      cache.reset(config->createTimingCache(nullptr, 0));
      if (cache) config->setTimingCache(*cache, false);
    }

    // Optimization profile 0 from the min/opt/max shapes; every dynamic input must have one.
    std::vector<std::string> missing;
    nvinfer1::IOptimizationProfile* profile = req.profiles.empty() ? nullptr : builder->createOptimizationProfile();
    for (const ShapeProfile& p : req.profiles) {
      nvinfer1::ITensor* input = nullptr;
      for (int32_t i = 0; i < network->getNbInputs(); ++i) {
        if (p.name == network->getInput(i)->getName()) input = network->getInput(i);
      }
      if (!input) {
        return fail(std::move(result), ErrorKind::kInvalidArgument,
                    "dynamic_shapes names \"" + p.name + "\", which is not a network input", logger);
      }
      const nvinfer1::Dims declared = input->getDimensions();
      nvinfer1::Dims mn{}, op{}, mx{};
      if (!toDims(p.min, mn) || !toDims(p.opt, op) || !toDims(p.max, mx) || mn.nbDims != declared.nbDims) {
        return fail(std::move(result), ErrorKind::kInvalidArgument,
                    "dynamic_shapes for \"" + p.name + "\" has rank " + std::to_string(p.min.size()) +
                        ", the input has shape " + dimsString(declared),
                    logger);
      }
      if (!profile->setDimensions(p.name.c_str(), nvinfer1::OptProfileSelector::kMIN, mn) ||
          !profile->setDimensions(p.name.c_str(), nvinfer1::OptProfileSelector::kOPT, op) ||
          !profile->setDimensions(p.name.c_str(), nvinfer1::OptProfileSelector::kMAX, mx)) {
        return fail(std::move(result), ErrorKind::kInvalidArgument,
                    "TensorRT rejected the min/opt/max shapes of \"" + p.name + "\": " + logger.lastError(), logger);
      }
    }
    for (int32_t i = 0; i < network->getNbInputs(); ++i) {
      nvinfer1::ITensor* input = network->getInput(i);
      const nvinfer1::Dims d = input->getDimensions();
      bool dynamic = false;
      for (int32_t k = 0; k < d.nbDims; ++k) dynamic = dynamic || d.d[k] < 0;
      bool covered = false;
      for (const ShapeProfile& p : req.profiles) covered = covered || p.name == input->getName();
      if (dynamic && !covered) missing.push_back(std::string(input->getName()) + " (" + dimsString(d) + ")");
    }
    if (!missing.empty()) {
      std::string list;
      for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
      return fail(std::move(result), ErrorKind::kInvalidArgument,
                  "inputs with dynamic dimensions need min/opt/max shapes (dynamic_shapes): " + list, logger);
    }
    if (profile && config->addOptimizationProfile(profile) < 0) {
      return fail(std::move(result), ErrorKind::kInvalidArgument,
                  "the optimization profile is invalid: " + logger.lastError(), logger);
    }

    result.engine.reset(builder->buildSerializedNetwork(*network, *config));
    if (!result.engine || result.engine->size() == 0) {
      return fail(std::move(result), ErrorKind::kInternal, "TensorRT engine build failed: " + logger.lastError(), logger);
    }
    if (const nvinfer1::ITimingCache* used = config->getTimingCache()) result.timingCache.reset(used->serialize());

    // Layer information through the engine inspector (needs the engine deserialized).
    TrtPtr<nvinfer1::IRuntime> runtime(nvinfer1::createInferRuntime(logger));
    TrtPtr<nvinfer1::ICudaEngine> engine(
        runtime ? runtime->deserializeCudaEngine(result.engine->data(), result.engine->size()) : nullptr);
    if (engine) {
      TrtPtr<nvinfer1::IEngineInspector> inspector(engine->createEngineInspector());
      const char* info = inspector ? inspector->getEngineInformation(nvinfer1::LayerInformationFormat::kJSON) : nullptr;
      if (info) result.layerInfoJson = info;
    } else {
      logger.note("warning", "the built engine could not be deserialized for layer information");
    }
    result.log = logger.take();
    return result;
  } catch (const std::exception& e) {
    return fail(std::move(result), ErrorKind::kInternal, std::string("engine build threw: ") + e.what(), logger);
  } catch (...) {
    return fail(std::move(result), ErrorKind::kInternal, "engine build threw an unknown exception", logger);
  }
}

}  // namespace trt
}  // namespace modelopt

// Histogram collection: onnxruntime's HistogramCollector (collect_value with ModelOpt's NaN/Inf
// patch, merge_histogram, collect_absolute_value) and ModelOpt's torch HistogramCalibrator.
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

namespace modelopt {

// Plain C++ histogram state (counts are exact integers stored as double).
struct HistState {
  std::vector<double> hist;
  std::vector<float> edges;
  float min = 0, max = 0, threshold = 0;
};

// ortHistogramCollect(state | null, data, numBins) -> Promise<OrtHistogram>
Napi::Value OrtHistogramCollect(const Napi::CallbackInfo& info);
// ortHistogramMerge(a, b) -> Promise<OrtHistogram>
Napi::Value OrtHistogramMerge(const Napi::CallbackInfo& info);
// ortAbsHistogramCollect(state | null, data, numBins) -> Promise<OrtAbsHistogram>
Napi::Value OrtAbsHistogramCollect(const Napi::CallbackInfo& info);
// torchHistogramCollect(state | null, data, numBins, skipZeros) -> Promise<TorchHistogram | null>
Napi::Value TorchHistogramCollect(const Napi::CallbackInfo& info);

// Helpers shared with calib.cc: read a histogram state object {hist, edges, min?, max?, threshold?}.
HistState ReadHistState(const Napi::Value& v, const char* name, bool withRange, bool withThreshold);
Napi::Object WriteHistState(Napi::Env env, const HistState& s, bool withRange, bool withThreshold);

}  // namespace modelopt

// Threshold searches over collected histograms: onnxruntime entropy / percentile / distribution
// and ModelOpt torch entropy / MSE / percentile.
#pragma once
#include <napi.h>

namespace modelopt {
// ortEntropyThreshold(h, numQuantizedBins) -> Promise<{low, high}>
Napi::Value OrtEntropyThreshold(const Napi::CallbackInfo& info);
// ortPercentile(h, percentile, symmetric) -> Promise<{low, high}>
Napi::Value OrtPercentile(const Napi::CallbackInfo& info);
// ortDistribution(h, p3: boolean) -> Promise<{avg, std, lowest, highest}>
Napi::Value OrtDistribution(const Napi::CallbackInfo& info);
// torchEntropyAmax(h, numBits, unsigned, startBin, stride) -> Promise<number>
Napi::Value TorchEntropyAmax(const Napi::CallbackInfo& info);
// torchMseAmax(h, numBits, unsigned, startBin, stride, e4m3) -> Promise<number | null>
Napi::Value TorchMseAmax(const Napi::CallbackInfo& info);
// torchPercentileAmax(h, percentile) -> Promise<number>
Napi::Value TorchPercentileAmax(const Napi::CallbackInfo& info);
}  // namespace modelopt

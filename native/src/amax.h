// amax family: max |x| per tensor and per kept axes (NaN ignored, NaN/Inf counted).
#pragma once
#include <napi.h>

namespace modelopt {
// amax(data: Float32Array) -> Promise<{amax, min, max, count, nanCount, infCount}>
Napi::Value Amax(const Napi::CallbackInfo& info);
// amaxPerAxis(data, shape: number[], keep: number[] (normalised, ascending)) -> Promise<{amax, nanCount, infCount}>
Napi::Value AmaxPerAxis(const Napi::CallbackInfo& info);
}  // namespace modelopt

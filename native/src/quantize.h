// Quantization kernels: integer fake-quant / real quantize (per tensor and per axis), ONNX
// QuantizeLinear / DequantizeLinear (int8/uint8), FP8 E4M3FN cast and scaled fake-quant.
#pragma once
#include <napi.h>

namespace modelopt {
// fakeQuantInt(data, amax: Float32Array, inner, size, bound, lo) -> Promise<Float32Array>
Napi::Value FakeQuantInt(const Napi::CallbackInfo& info);
// quantizeInt(data, amax, inner, size, bound, lo, unsigned) -> Promise<{values, scales}>
Napi::Value QuantizeInt(const Napi::CallbackInfo& info);
// quantizeLinear(data, scale, zp: Int32Array, inner, size, signed) -> Promise<Int8Array | Uint8Array>
Napi::Value QuantizeLinear(const Napi::CallbackInfo& info);
// dequantizeLinear(q, scale, zp, inner, size) -> Promise<Float32Array>
Napi::Value DequantizeLinear(const Napi::CallbackInfo& info);
// e4m3Encode(data) -> Promise<Uint8Array>; e4m3Decode(bits) -> Promise<Float32Array>
Napi::Value E4M3Encode(const Napi::CallbackInfo& info);
Napi::Value E4M3Decode(const Napi::CallbackInfo& info);
// fakeQuantE4M3(data, amax, scaled) -> Promise<Float32Array>
Napi::Value FakeQuantE4M3(const Napi::CallbackInfo& info);
}  // namespace modelopt

// INT4 kernels: block RTN scales / quantize / dequantize along axis 0, nibble packing, and the
// AWQ clip search (multi-threaded, numpy-order float32 arithmetic).
#pragma once
#include <napi.h>

namespace modelopt {
// int4BlockScales(w, cin, cout, blockSize, alpha: number, alphas: Float32Array | null) -> Promise<Float32Array>
Napi::Value Int4BlockScales(const Napi::CallbackInfo& info);
// int4QuantizeBlocks(w, cin, cout, scales, blockSize) -> Promise<Int8Array>
Napi::Value Int4QuantizeBlocks(const Napi::CallbackInfo& info);
// int4DequantizeBlocks(q, cin, cout, scales, blockSize) -> Promise<Float32Array>
Napi::Value Int4DequantizeBlocks(const Napi::CallbackInfo& info);
// packInt4(values: Int8Array | Uint8Array | Float32Array, unsigned) -> Promise<Uint8Array>
Napi::Value PackInt4(const Napi::CallbackInfo& info);
// unpackInt4(packed, count, unsigned) -> Promise<Int8Array | Uint8Array>
Napi::Value UnpackInt4(const Napi::CallbackInfo& info);
// awqClipSearch(w, cin, cout, x, tokens, blockSize, maxTokens, threads) -> Promise<{alphas, loss, nBlocks, tokensUsed}>
Napi::Value AwqClipSearch(const Napi::CallbackInfo& info);
// sparsity24Mask(w, rows, cols) -> Promise<Uint8Array>   (sparsity.cc)
Napi::Value Sparsity24Mask(const Napi::CallbackInfo& info);
}  // namespace modelopt

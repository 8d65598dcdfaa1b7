// Node-API registration of the TensorRT engine builder. native/src/addon.cc calls this when the
// addon is compiled with MODELOPT_WITH_TENSORRT (see tensorrt.cmake):
//
//   #ifdef MODELOPT_WITH_TENSORRT
//   #include "../tensorrt/trt_binding.h"
//   ...  exports.Set("tensorrt", modelopt::trt::InitTensorRt(env));
//   #endif
//
// The object has version(): string and build(args): Promise<result> (see
// services/trt-builder/tensorrt-native.ts for the argument and result shapes).
#pragma once

#include <napi.h>

namespace modelopt {
namespace trt {

Napi::Object InitTensorRt(Napi::Env env);

}  // namespace trt
}  // namespace modelopt

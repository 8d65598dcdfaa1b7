// Optional extensions of the addon, compiled in by native/cuda/cuda.cmake and
// native/tensorrt/tensorrt.cmake (included from native/CMakeLists.txt when nvcc / TensorRT exist).
//
// Contract for an extension's .cmake file (included after the CPU target exists):
//   - add its sources:   target_sources(modelopt_native PRIVATE ...)
//   - define the switch: target_compile_definitions(modelopt_native PRIVATE MODELOPT_WITH_CUDA=1)
//                        (resp. MODELOPT_WITH_TENSORRT=1) and set(MODELOPT_WITH_CUDA ON)
//   - implement the entry points below: addon.cc sets exports.cuda = modelopt::cuda::InitCuda(env)
//     and exports.tensorrt = modelopt::trt::InitTensorRt(env); capabilities() asks
//     modelopt::cuda::cudaAvailable() / cudaDevices() (cuda_kernels.h).
#pragma once
#include <napi.h>

#ifdef MODELOPT_WITH_CUDA
#include "../cuda/cuda_kernels.h"  // modelopt::cuda::cudaAvailable(), cudaDevices()
namespace modelopt {
namespace cuda {
// The CUDA bindings object, set as exports.cuda (defined in native/cuda/bindings_cuda.cc).
Napi::Object InitCuda(Napi::Env env);
}  // namespace cuda
}  // namespace modelopt
#endif

#ifdef MODELOPT_WITH_TENSORRT
#include "../tensorrt/trt_binding.h"  // modelopt::trt::InitTensorRt(env) -> exports.tensorrt
#endif

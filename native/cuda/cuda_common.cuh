// Internal helpers for the .cu files (not part of the public API).
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "cuda_kernels.h"

namespace modelopt {
namespace cuda {

[[noreturn]] inline void throwCuda(cudaError_t e, const char* what, const char* file, int line) {
  cudaGetLastError();  // clear a sticky non-fatal error so later calls can proceed
  throw CudaError(std::string("CUDA error in ") + what + " (" + file + ":" + std::to_string(line) +
                  "): " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

#define MO_CUDA(call)                                                       \
  do {                                                                      \
    cudaError_t mo_e_ = (call);                                             \
    if (mo_e_ != cudaSuccess) ::modelopt::cuda::throwCuda(mo_e_, #call, __FILE__, __LINE__); \
  } while (0)

#define MO_LAUNCH_CHECK(name) MO_CUDA(cudaGetLastError())

// RAII device buffer.
template <typename T>
struct DevBuf {
  T* p = nullptr;
  size_t n = 0;
  DevBuf() = default;
  explicit DevBuf(size_t count) : n(count) {
    if (count) MO_CUDA(cudaMalloc(&p, count * sizeof(T)));
  }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  ~DevBuf() {
    if (p) cudaFree(p);
  }
  void upload(const T* src, size_t count) {
    if (count) MO_CUDA(cudaMemcpy(p, src, count * sizeof(T), cudaMemcpyHostToDevice));
  }
  void download(T* dst, size_t count) const {
    if (count) MO_CUDA(cudaMemcpy(dst, p, count * sizeof(T), cudaMemcpyDeviceToHost));
  }
  void zero() {
    if (n) MO_CUDA(cudaMemset(p, 0, n * sizeof(T)));
  }
};

inline int smCount() {
  int dev = 0, sms = 0;
  MO_CUDA(cudaGetDevice(&dev));
  MO_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  return sms;
}

inline unsigned gridFor(size_t n, int threads, int perThread = 1) {
  size_t blocks = (n + (size_t)threads * perThread - 1) / ((size_t)threads * perThread);
  size_t cap = (size_t)smCount() * 16;
  if (blocks > cap) blocks = cap;
  if (blocks == 0) blocks = 1;
  return (unsigned)blocks;
}

}  // namespace cuda
}  // namespace modelopt

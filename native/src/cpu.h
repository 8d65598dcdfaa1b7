// CPU feature checks for the kernels' runtime dispatch (the addon is built for baseline x86-64).
#pragma once

namespace modelopt {

// Whether this CPU runs AVX2 code (checked once).
inline bool CpuHasAvx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return yes;
#else
  return false;
#endif
}

}  // namespace modelopt

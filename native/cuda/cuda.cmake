# CUDA part of the modelopt native addon. Included by native/CMakeLists.txt after
# `check_language(CUDA)` found nvcc; expects the addon target name in MODELOPT_ADDON_TARGET
# (default: the project's target, modelopt_native). The bindings implement InitCuda(env)
# declared in native/src/hooks.h (exports.cuda).
#
#  * adds the .cu kernels and the node-addon-api bindings (bindings_cuda.cc) to the target;
#  * defines MODELOPT_WITH_CUDA (the registration file then calls RegisterCuda(env, exports));
#  * builds SASS for sm_90 (H100/H200) plus compute_90 PTX, so newer GPUs JIT-compile it;
#  * links the CUDA runtime statically: the addon loads where only the driver is installed,
#    and on a machine without a driver it still loads and reports cuda: false.
if(NOT DEFINED MODELOPT_ADDON_TARGET)
  set(MODELOPT_ADDON_TARGET ${PROJECT_NAME})
endif()

enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)

set(MODELOPT_CUDA_DIR ${CMAKE_CURRENT_LIST_DIR})
target_sources(${MODELOPT_ADDON_TARGET} PRIVATE
  ${MODELOPT_CUDA_DIR}/cuda_device.cu
  ${MODELOPT_CUDA_DIR}/cuda_stats.cu
  ${MODELOPT_CUDA_DIR}/cuda_quant.cu
  ${MODELOPT_CUDA_DIR}/bindings_cuda.cc)
target_include_directories(${MODELOPT_ADDON_TARGET} PRIVATE ${MODELOPT_CUDA_DIR})
target_compile_definitions(${MODELOPT_ADDON_TARGET} PRIVATE MODELOPT_WITH_CUDA=1)
set(MODELOPT_WITH_CUDA ON)

# sm_90 machine code + compute_90 PTX ("90-real;90-virtual")
set_property(TARGET ${MODELOPT_ADDON_TARGET} PROPERTY CUDA_ARCHITECTURES 90-real 90-virtual)
set_property(TARGET ${MODELOPT_ADDON_TARGET} PROPERTY CUDA_RUNTIME_LIBRARY Static)
set_property(TARGET ${MODELOPT_ADDON_TARGET} PROPERTY CUDA_STANDARD 17)
set_property(TARGET ${MODELOPT_ADDON_TARGET} PROPERTY CUDA_SEPARABLE_COMPILATION OFF)
set_property(TARGET ${MODELOPT_ADDON_TARGET} PROPERTY POSITION_INDEPENDENT_CODE ON)
target_compile_options(${MODELOPT_ADDON_TARGET} PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-O3 --expt-relaxed-constexpr -Xcompiler=-fPIC -Xcompiler=-ffp-contract=off>)
target_link_libraries(${MODELOPT_ADDON_TARGET} PRIVATE CUDA::cudart_static)

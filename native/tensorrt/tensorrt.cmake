# TensorRT engine builder, included by native/CMakeLists.txt when NvInfer.h and libnvinfer are
# found (TENSORRT_INCLUDE_DIR, TENSORRT_NVINFER_LIB). Adds the sources, links nvinfer,
# nvinfer_plugin, nvonnxparser and the CUDA runtime, and defines MODELOPT_WITH_TENSORRT so that
# src/addon.cc registers `exports.tensorrt` (see trt_binding.h).
get_filename_component(_trt_lib_dir ${TENSORRT_NVINFER_LIB} DIRECTORY)
find_library(TENSORRT_ONNXPARSER_LIB nvonnxparser HINTS ${_trt_lib_dir} $ENV{TENSORRT_ROOT} PATH_SUFFIXES lib lib64)
find_library(TENSORRT_PLUGIN_LIB nvinfer_plugin HINTS ${_trt_lib_dir} $ENV{TENSORRT_ROOT} PATH_SUFFIXES lib lib64)
find_package(CUDAToolkit QUIET)

if(NOT TENSORRT_ONNXPARSER_LIB OR NOT TENSORRT_PLUGIN_LIB OR NOT CUDAToolkit_FOUND)
  message(STATUS "modelopt: TensorRT found but nvonnxparser/nvinfer_plugin/CUDA runtime missing; building without TensorRT")
else()
  target_sources(${PROJECT_NAME} PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/engine_builder.cc
    ${CMAKE_CURRENT_LIST_DIR}/trt_binding.cc)
  # SYSTEM: TensorRT 10.x headers carry their own deprecation notes; keep our warnings readable.
  target_include_directories(${PROJECT_NAME} SYSTEM PRIVATE ${TENSORRT_INCLUDE_DIR})
  target_include_directories(${PROJECT_NAME} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${PROJECT_NAME} PRIVATE
    ${TENSORRT_NVINFER_LIB} ${TENSORRT_PLUGIN_LIB} ${TENSORRT_ONNXPARSER_LIB} CUDA::cudart)
  target_compile_definitions(${PROJECT_NAME} PRIVATE MODELOPT_WITH_TENSORRT=1)
  set(MODELOPT_WITH_TENSORRT ON)
  message(STATUS "modelopt: TensorRT engine builder enabled (${TENSORRT_INCLUDE_DIR})")
endif()

#!/usr/bin/env bash
# Compile-checks (g++ -fsyntax-only, -Wall -Wextra -Werror on our code; TensorRT, CUDA and Node-API
# headers are included as system headers so their own deprecation notes do not count) the TensorRT engine builder against a directory of TensorRT headers, on a host
# without TensorRT. Usage:
#   native/tensorrt/compile_check.sh <dir with NvInfer.h (or its include/)> [cuda include dir]
# Headers are never committed: fetch them (e.g. `git archive release/10.16 include` from
# NVIDIA/TensorRT) into an ignored folder such as /tmp/trt-headers. When no CUDA toolkit headers
# are found, a minimal cuda_runtime_api.h stub (the types TensorRT's headers name) is generated.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[[ $# -ge 1 ]] || { echo "usage: $0 <tensorrt headers dir> [cuda include dir]" >&2; exit 2; }
trt="$1"
[[ -f "$trt/NvInfer.h" ]] || trt="$trt/include"
[[ -f "$trt/NvInfer.h" ]] || { echo "NvInfer.h not found under $1" >&2; exit 2; }
# TensorRT < 10.16 keeps NvOnnxParser.h in the onnx-tensorrt submodule (parsers/onnx): give its
# directory as ONNX_PARSER_INCLUDE when it is not beside NvInfer.h.
parser_inc="${ONNX_PARSER_INCLUDE:-$trt}"
[[ -f "$parser_inc/NvOnnxParser.h" ]] || { echo "NvOnnxParser.h not found under $parser_inc (set ONNX_PARSER_INCLUDE)" >&2; exit 2; }

cuda="${2:-}"
if [[ -z "$cuda" ]]; then
  for c in "${CUDA_HOME:-}/include" /usr/local/cuda/include /usr/local/cuda-*/include /usr/include; do
    if [[ -f "$c/cuda_runtime_api.h" ]]; then cuda="$c"; break; fi
  done
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [[ -n "$cuda" && ! -f "$cuda/cuda_runtime_api.h" ]]; then
  echo "compile_check: $cuda has no cuda_runtime_api.h" >&2
  cuda=""
fi
if [[ -z "$cuda" ]]; then
  cuda="$tmp/cuda-stub"
  mkdir -p "$cuda"
  cat > "$cuda/cuda_runtime_api.h" <<'STUB'
#pragma once
typedef struct CUstream_st* cudaStream_t;
typedef struct CUevent_st* cudaEvent_t;
typedef enum cudaError { cudaSuccess = 0 } cudaError_t;
STUB
  echo "compile_check: no CUDA headers found, using a stub"
fi

napi_inc="$(cd "$repo" && node -p "require('node-addon-api').include_dir")"
[[ "$napi_inc" = /* ]] || napi_inc="$repo/$napi_inc"
node_api_inc="$(cd "$repo" && node -p "require('node-api-headers').include_dir")"

version="$(awk '/#define (TRT_MAJOR_ENTERPRISE|TRT_MINOR_ENTERPRISE|TRT_PATCH_ENTERPRISE|NV_TENSORRT_MAJOR|NV_TENSORRT_MINOR|NV_TENSORRT_PATCH) [0-9]/ {print $3}' "$trt/NvInferVersion.h" | head -3 | paste -sd. -)"
echo "compile_check: TensorRT headers $trt (version $version), CUDA headers $cuda"
status=0
for src in engine_builder.cc trt_binding.cc; do
  if g++ -fsyntax-only -std=c++17 -Wall -Wextra -Werror -Wno-unused-parameter \
      -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -DMODELOPT_WITH_TENSORRT=1 \
      -isystem "$trt" -isystem "$parser_inc" -isystem "$cuda" -isystem "$napi_inc" -isystem "$node_api_inc" -I"$here" "$here/$src"; then
    echo "compile_check: $src OK"
  else
    echo "compile_check: $src FAILED" >&2
    status=1
  fi
done
exit $status

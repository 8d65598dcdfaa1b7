#!/usr/bin/env bash
# End-to-end check of the TensorRT binding on a host without TensorRT or a GPU:
#   1. builds the whole addon with MODELOPT_WITH_TENSORRT against the given TensorRT headers and
#      stub libnvinfer / libnvonnxparser / libnvinfer_plugin (the five C entry points the addon
#      imports; the builder factory returns null, as it does when no CUDA device is usable);
#   2. loads that addon from services/trt-builder and checks: TensorRT reported present with the
#      stub's version, and Build(runtime TRT) travels JS → AsyncWorker → buildEngine() → rejected
#      Promise with code FAILED_PRECONDITION → the domain's FailedPrecondition.
# Usage: native/tensorrt/stub_check.sh <dir with NvInfer.h (or its include/)>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[[ $# -ge 1 ]] || { echo "usage: $0 <tensorrt headers dir>" >&2; exit 2; }
inc="$1"; [[ -f "$inc/NvInfer.h" ]] || inc="$inc/include"
[[ -f "$inc/NvInfer.h" ]] || { echo "NvInfer.h not found under $1" >&2; exit 2; }
inc="$(cd "$inc" && pwd)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/trt/lib"
ln -s "$inc" "$work/trt/include"
cat > "$work/nvinfer.c" <<'C'
int getInferLibVersion(void) { return 101600; }
void* createInferBuilder_INTERNAL(void* logger, int version) { (void)logger; (void)version; return 0; }
void* createInferRuntime_INTERNAL(void* logger, int version) { (void)logger; (void)version; return 0; }
C
cat > "$work/nvonnxparser.c" <<'C'
void* createNvOnnxParser_INTERNAL(void* network, void* logger, int version) { (void)network; (void)logger; (void)version; return 0; }
C
cat > "$work/nvinfer_plugin.c" <<'C'
#include <stdbool.h>
bool initLibNvInferPlugins(void* logger, const char* ns) { (void)logger; (void)ns; return true; }
C
for l in nvinfer nvonnxparser nvinfer_plugin; do gcc -shared -fPIC "$work/$l.c" -o "$work/trt/lib/lib$l.so"; done

echo "stub_check: building the addon with TensorRT headers from $inc"
(cd "$repo" && TENSORRT_ROOT="$work/trt" npx cmake-js compile -d native --out "$work/build" --CDMODELOPT_DISABLE_CUDA=ON >"$work/build.log" 2>&1) \
  || { tail -40 "$work/build.log"; exit 1; }
grep -q 'TensorRT=ON' "$work/build.log" || { echo "stub_check: TensorRT was not enabled" >&2; tail -20 "$work/build.log"; exit 1; }
addon="$work/build/Release/modelopt_native.node"
echo "stub_check: built $addon"

cd "$repo"
MODELOPT_NATIVE_ADDON="$addon" LD_LIBRARY_PATH="$work/trt/lib" node --import tsx --input-type=module -e '
import fs from "node:fs";
import assert from "node:assert/strict";
import { capabilities, build } from "./services/trt-builder/index.ts";
import { FailedPrecondition } from "./services/core/errors.ts";
const caps = await capabilities();
assert.equal(caps.tensorrt.present, true, JSON.stringify(caps.tensorrt));
assert.equal(caps.tensorrt.version, "10.16.0");
assert.equal(caps.runtimes.find((r) => r.runtime === "TRT").available, true);
const onnx = new Uint8Array(fs.readFileSync("../shared/models/mnist8.onnx"));
await assert.rejects(
  build({ onnx, deployment: { runtime: "TRT", version: "10.0", precision: "fp16" }, dynamicShapes: { min: "Input3:1x1x28x28", opt: "Input3:1x1x28x28", max: "Input3:1x1x28x28" } }),
  (e) => e instanceof FailedPrecondition && /could not create a builder/.test(e.message),
);
console.log("stub_check: TensorRT present (stub " + caps.tensorrt.version + "), Build → FAILED_PRECONDITION from the native builder: OK");
'

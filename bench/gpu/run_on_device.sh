#!/usr/bin/env bash
# Runs on the device machine (see /work/.library/device): builds the CUDA test+bench driver for
# sm_90 with the nvcc found there, runs the correctness checks and the benchmarks, runs the numpy
# AWQ baseline on the same inputs, and writes the table and logs to $OUT.
#   usage (from the repo root): bash bench/gpu/run_on_device.sh [--quick]
#   optional: if .device-carry/node.xz exists, also builds the Node addon and runs the native
#   tests with MODELOPT_DEVICE=cuda.
set -uo pipefail
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
LOG="$OUT/gpu_bench.log"
{
  echo "== $(date -u) on $(hostname)"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv 2>&1 || true
  nvcc --version | tail -1
  nproc
} | tee "$OUT/env.txt"

BUILD=/tmp/gpu_build
mkdir -p "$BUILD"
SRC=native/cuda
FLAGS="-std=c++17 -O3 -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_90,code=compute_90 -Xcompiler -ffp-contract=off -Xcompiler -pthread -I$SRC"
t0=$(date +%s)
pids=()
for f in gpu_bench cuda_device cuda_stats cuda_quant; do
  nvcc $FLAGS -Xptxas -v -c $SRC/$f.cu -o $BUILD/$f.o > "$BUILD/$f.ptxas.txt" 2>&1 &
  pids+=($!)
done
ok=1
for p in "${pids[@]}"; do wait $p || ok=0; done
cat $BUILD/*.ptxas.txt | grep -E "error|Used|spill|Compiling entry" > "$OUT/ptxas.txt" || true
if [ $ok != 1 ]; then cat $BUILD/*.ptxas.txt | grep -B2 -A5 error | head -50; echo "BUILD FAILED"; exit 2; fi
nvcc $FLAGS $BUILD/gpu_bench.o $BUILD/cuda_device.o $BUILD/cuda_stats.o $BUILD/cuda_quant.o -o $BUILD/gpu_bench || { echo "LINK FAILED"; exit 2; }
echo "build: $(( $(date +%s) - t0 )) s"

PYTHONUNBUFFERED=1
$BUILD/gpu_bench --out "$OUT" "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}

if [ -f "$OUT/awq_x.f32" ]; then
  echo "== numpy AWQ baseline (same inputs)" | tee -a "$LOG"
  python3 bench/awq_numpy_ref.py "$OUT" --reps 1 2>&1 | tee -a "$LOG"
  rm -f "$OUT"/awq_*.f32
fi
python3 - "$OUT" <<'PY' 2>&1 | tee "$OUT/table.txt"
import json, sys, os
d = sys.argv[1]
g = json.load(open(os.path.join(d, "gpu_bench.json")))
n = json.load(open(os.path.join(d, "awq_numpy.json"))) if os.path.exists(os.path.join(d, "awq_numpy.json")) else {}
s, a = g.get("stats", {}), g.get("awq", {})
print(f"device: {g['device']}   checks: {g['checks_passed']} passed, {g['checks_failed']} failed")
rows = []
if s:
    rows.append(("hist+entropy (ORT, 2048 bins) %.2f GiB" % s["gib"], "%.3f ms" % s["gpu_ort_ms"], "%.1f ms (C++ x%d)" % (s["cpu_ort_ms"], s["threads"]), "%.0fx" % (s["cpu_ort_ms"] / s["gpu_ort_ms"]), "target >= 20x"))
    rows.append(("hist+KL+MSE+pct (torch, 2048 bins)", "%.3f ms" % s["gpu_torch_ms"], "%.1f ms (C++ x%d)" % (s["cpu_torch_ms"], s["threads"]), "%.0fx" % (s["cpu_torch_ms"] / s["gpu_torch_ms"]), ""))
    rows.append(("histogram pass bandwidth", "%.0f GB/s" % s["hist_gbps"], "read ceiling %.0f GB/s" % s["read_gbps"], "%.0f%%" % (100 * s["hist_gbps"] / s["read_gbps"]), "target >= 50%% (copy kernel %.0f GB/s r+w)" % s["copy_gbps"]))
    rows.append(("histc |x| pass bandwidth", "%.0f GB/s" % s["histc_gbps"], "read ceiling %.0f GB/s" % s["read_gbps"], "%.0f%%" % (100 * s["histc_gbps"] / s["read_gbps"]), ""))
if a:
    base = "%.0f ms (numpy %s)" % (n["numpy_ms"], n.get("numpy_version", "")) if n else "-"
    ratio = "%.0fx" % (n["numpy_ms"] / a["gpu_ms"]) if n else "-"
    same = ("alphas: %d/%d differ, loss bits: %d differ" % (n["alpha_mismatch"], n["cells"], n["loss_bit_mismatch"])) if n else ""
    rows.append(("AWQ clip 4096x4096, 64 tok, 11 alphas", "%.3f ms" % a["gpu_ms"], base, ratio, "target >= 50x; " + same))
    rows.append(("AWQ FLOP rate (mul+add, 12 passes)", "%.2f TFLOP/s" % a["tflops"], "FFMA peak %.1f" % a["ffma_peak_tflops"], "%.0f%%" % (100 * a["tflops"] / a["ffma_peak_tflops"]), "no FMA allowed (bit-exactness): ceiling is half the FFMA peak"))
w = [max(len(r[i]) for r in rows) for i in range(5)] if rows else []
for r in rows:
    print(" | ".join(c.ljust(w[i]) for i, c in enumerate(r)))
PY

# optional: the Node addon on the GPU. Needs a carried node binary (.device-carry/node.xz) and
# the two header packages (.device-carry/cuda/node-addon-api, node-api-headers); builds the addon
# with plain cmake (cmake-js is not there) and compares exports.cuda with the CPU bindings.
if [ -f .device-carry/node.xz ] && [ -d .device-carry/cuda/node-addon-api ]; then
  echo "== node addon on the GPU" | tee -a "$LOG"
  mkdir -p /tmp/nodebin && xz -dc .device-carry/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node
  export PATH=/tmp/nodebin:$PATH NODE_PATH=$ROOT/.device-carry/cuda
  ADDON=/tmp/addon_build
  if cmake -S native -B $ADDON -G Ninja -DCMAKE_BUILD_TYPE=Release \
       -DCMAKE_JS_INC="$ROOT/.device-carry/cuda/node-api-headers/include" -DCMAKE_CUDA_COMPILER=$(command -v nvcc) \
       > "$OUT/addon_build.log" 2>&1 && cmake --build $ADDON -j 16 >> "$OUT/addon_build.log" 2>&1; then
    node native/cuda/addon_gpu_check.mjs $ADDON/modelopt_native.node 2>&1 | tee "$OUT/addon_gpu_check.txt" | tee -a "$LOG"
  else
    echo "addon build failed:"; grep -E "error|Error" "$OUT/addon_build.log" | head -20
  fi
fi
exit $rc

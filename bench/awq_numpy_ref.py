#!/usr/bin/env python3
"""The numpy baseline of the GPU AWQ kernel (bench/gpu/run_on_device.sh): runs the search of
bench/awq_clip_numpy.py (one column batch quantized at a time) on the GPU bench's inputs; same float32
evaluation (products rounded to float32, numpy's pairwise sum over each 128-element block, mean over
tokens), so the chosen alphas and their losses must match the GPU bit for bit.

  python3 bench/awq_numpy_ref.py DIR [--cin 4096 --cout 4096 --tokens 64] [--gpu-json DIR/gpu_bench.json]

reads DIR/awq_x.f32 ([tokens, cin]) and DIR/awq_w.f32 ([cin, cout]), and, when present,
DIR/awq_gpu_alpha.f32 / DIR/awq_gpu_loss.f32 ([nblocks, cout]) to compare against.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from awq_clip_numpy import awq_clip_search  # bench/ is on sys.path when this runs as a script


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--cin", type=int, default=4096)
    ap.add_argument("--cout", type=int, default=4096)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args()
    d = args.dir
    x = np.fromfile(os.path.join(d, "awq_x.f32"), np.float32).reshape(args.tokens, args.cin)
    w = np.fromfile(os.path.join(d, "awq_w.f32"), np.float32).reshape(args.cin, args.cout)
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        alpha, loss = awq_clip_search(w, x, whole_weight_per_batch=False)
        times.append(time.perf_counter() - t0)
    ms = sorted(times)[len(times) // 2] * 1e3
    out = {"numpy_ms": ms, "numpy_version": np.__version__}
    ga_path = os.path.join(d, "awq_gpu_alpha.f32")
    if os.path.exists(ga_path):
        ga = np.fromfile(ga_path, np.float32).reshape(alpha.shape)
        gl = np.fromfile(os.path.join(d, "awq_gpu_loss.f32"), np.float32).reshape(loss.shape)
        out["alpha_mismatch"] = int((ga != alpha).sum())
        out["loss_bit_mismatch"] = int((gl.view(np.uint32) != loss.view(np.uint32)).sum())
        out["cells"] = int(alpha.size)
        gj = os.path.join(d, "gpu_bench.json")
        if os.path.exists(gj):
            g = json.load(open(gj))
            gms = g["awq"]["gpu_ms"]
            out["gpu_ms"] = gms
            out["ratio"] = ms / gms
    json.dump(out, open(os.path.join(d, "awq_numpy.json"), "w"))
    print(json.dumps(out))
    if out.get("alpha_mismatch", 0):
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""AWQ clip search in plain numpy, written from SPEC section 3 ("INT4 AWQ-clip").

The baseline for the GPU kernel: same inputs, same float32 evaluation (products rounded to
float32, numpy's pairwise sum over each 128-element block, mean over tokens), so the chosen
alphas and their losses must match the GPU bit for bit.

  python3 bench/awq_numpy_ref.py DIR [--cin 4096 --cout 4096 --tokens 64] [--gpu-json DIR/gpu_bench.json]

reads DIR/awq_x.f32 ([tokens, cin]) and DIR/awq_w.f32 ([cin, cout]), and, when present,
DIR/awq_gpu_alpha.f32 / DIR/awq_gpu_loss.f32 ([nblocks, cout]) to compare against.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

BLOCK = 128
ALPHAS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]


def awq_clip_search(x, w, block=BLOCK, max_tokens=64, co_batch=1024):
    """Returns (best_alpha, best_loss), both float32 [nblocks, cout] (the INT4 scale layout)."""
    x = x.reshape(-1, x.shape[-1])
    x = x[:: max(1, x.shape[0] // max_tokens)]
    cin, cout = w.shape
    nb = math.ceil(cin / block)
    pad = nb * block - cin
    if pad:
        w = np.concatenate([w, np.zeros((pad, cout), np.float32)], axis=0)
        x = np.concatenate([x, np.zeros((x.shape[0], pad), np.float32)], axis=1)
    T = x.shape[0]
    amax = np.abs(w).reshape(nb, block, cout).max(axis=1)  # [nb, cout]
    xb = x.reshape(1, T, nb, block)
    best_loss = np.full((nb, cout), np.inf, np.float32)
    best_alpha = np.ones((nb, cout), np.float32)
    for c0 in range(0, cout, co_batch):
        c1 = min(cout, c0 + co_batch)
        wt = w[:, c0:c1].T.reshape(c1 - c0, 1, nb, block)  # [cc, 1, nb, block]
        org = np.sum(xb * wt, axis=-1)  # [cc, T, nb]
        for a in ALPHAS:
            s = (amax[:, c0:c1] * a) / 7.0  # float32 [nb, cc]
            srep = np.repeat(s, block, axis=0)  # [nb*block, cc]
            with np.errstate(invalid="ignore", divide="ignore"):
                q = np.rint(w[:, c0:c1] / srep)
            q = np.nan_to_num(q, nan=0.0).clip(-8, 7).astype(np.int8)
            wq = (q * srep).T.reshape(c1 - c0, 1, nb, block)
            cur = np.sum(xb * wq, axis=-1)
            loss = np.mean((org - cur) ** 2, axis=1).T  # [nb, cc]
            better = loss < best_loss[:, c0:c1]
            best_loss[:, c0:c1] = np.where(better, loss, best_loss[:, c0:c1])
            best_alpha[:, c0:c1] = np.where(better, np.float32(a), best_alpha[:, c0:c1])
    return best_alpha, best_loss


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
        alpha, loss = awq_clip_search(x, w)
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

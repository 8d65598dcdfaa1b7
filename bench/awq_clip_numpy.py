"""Standalone numpy AWQ clip search, written from SPEC.md section 3 ("INT4 AWQ-clip"), used as
the baseline of bench/kernels.bench.ts and as an oracle in native/awq.test.ts.

usage: python3 awq_clip_numpy.py WEIGHT.npy ACT.npy OUT_ALPHAS.npy OUT_LOSS.npy [block] [co_batch] [max_tokens]
  WEIGHT [cin, cout] float32, ACT [tokens, cin] float32.
  Writes best alpha and its loss, both [n_blocks, cout] float32; prints {"seconds": ...}.

The search works on whole output-channel batches with numpy broadcasting, in float32 throughout:
for each alpha the whole (zero-padded) weight is fake-quantized with block scales
alpha * absmax / 7, and the loss per (output channel, block) is the mean over tokens of the
squared difference between the block partial sums of x.w and x.w_hat.
"""
import json
import sys
import time

import numpy as np

ALPHAS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]


def fake_quant_int4(w_pad, block_amax, alpha, block):
    scale = (block_amax * alpha) / 7.0  # [nb, cout] float32
    rep = np.repeat(scale, block, axis=0)  # [cin_p, cout]
    q = np.clip(np.rint(w_pad / rep), -8, 7).astype(np.int8)
    return q * rep


def awq_clip_search(w, x, block=128, co_batch=1024, max_tokens=64):
    w = np.asarray(w, dtype=np.float32)
    x = np.asarray(x, dtype=np.float32).reshape(-1, w.shape[0])
    x = x[:: max(1, x.shape[0] // max_tokens)]
    cin, cout = w.shape
    nb = -(-cin // block)
    pad = nb * block - cin
    if pad:
        w = np.concatenate([w, np.zeros((pad, cout), np.float32)], axis=0)
        x = np.concatenate([x, np.zeros((x.shape[0], pad), np.float32)], axis=1)
    block_amax = np.abs(w.reshape(nb, block, cout)).max(axis=1)  # [nb, cout]
    xb = x.reshape(1, x.shape[0], nb, block)  # 1, T, nb, bs
    wt = w.T.reshape(cout, 1, nb, block)  # co, 1, nb, bs
    losses = np.zeros((len(ALPHAS), cout, nb), np.float32)
    for s in range(0, cout, co_batch):
        e = min(s + co_batch, cout)
        org = np.sum(xb * wt[s:e], axis=-1)  # co, T, nb
        for ai, alpha in enumerate(ALPHAS):
            dq = fake_quant_int4(w, block_amax, alpha, block)
            dqt = dq.T.reshape(cout, 1, nb, block)[s:e]
            cur = np.sum(xb * dqt, axis=-1)
            losses[ai, s:e] = np.mean(np.power(org - cur, 2), axis=1)
    best = np.full((cout, nb), np.inf, np.float32)
    best_alpha = np.ones((cout, nb), np.float32)
    for ai, alpha in enumerate(ALPHAS):
        better = losses[ai] < best
        best = np.where(better, losses[ai], best)
        best_alpha = np.where(better, alpha, best_alpha)
    return best_alpha.T.copy(), best.T.copy()


if __name__ == "__main__":
    w = np.load(sys.argv[1])
    x = np.load(sys.argv[2])
    args = [int(a) for a in sys.argv[5:8]]
    t0 = time.perf_counter()
    alphas, loss = awq_clip_search(w, x, *args)
    dt = time.perf_counter() - t0
    np.save(sys.argv[3], alphas.astype(np.float32))
    np.save(sys.argv[4], loss.astype(np.float32))
    print(json.dumps({"seconds": dt}))

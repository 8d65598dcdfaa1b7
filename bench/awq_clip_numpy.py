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


def fake_quant_int4(w, block_amax, alpha, block):
    """Dequantized INT4 RTN of `w` [rows, cols] with block scales alpha * absmax / 7 ([rows/block, cols])."""
    scale = (block_amax * alpha) / 7.0  # float32
    rep = np.repeat(scale, block, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.rint(w / rep)
    q = np.nan_to_num(q, nan=0.0).clip(-8, 7).astype(np.int8)  # all-zero blocks: 0/0 -> 0
    return q * rep


def awq_clip_search(w, x, block=128, co_batch=1024, max_tokens=64, whole_weight_per_batch=True):
    """Returns (best_alpha, best_loss), both float32 [n_blocks, cout] (the INT4 scale layout).

    whole_weight_per_batch=True fake-quantizes the whole weight for every alpha in every output-channel
    batch, as the reference does (the CPU benchmark's baseline); False quantizes only the batch's
    columns (the same values with less work; the GPU comparison's baseline).
    """
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
    best_loss = np.full((nb, cout), np.inf, np.float32)
    best_alpha = np.ones((nb, cout), np.float32)
    for s in range(0, cout, co_batch):
        e = min(s + co_batch, cout)
        org = np.sum(xb * w[:, s:e].T.reshape(e - s, 1, nb, block), axis=-1)  # co, T, nb
        for alpha in ALPHAS:
            if whole_weight_per_batch:
                dq = fake_quant_int4(w, block_amax, alpha, block)[:, s:e]
            else:
                dq = fake_quant_int4(w[:, s:e], block_amax[:, s:e], alpha, block)
            cur = np.sum(xb * dq.T.reshape(e - s, 1, nb, block), axis=-1)
            loss = np.mean(np.power(org - cur, 2), axis=1).T  # [nb, co]
            # ascending alphas, strictly smaller loss: ties keep the smaller alpha
            better = loss < best_loss[:, s:e]
            best_loss[:, s:e] = np.where(better, loss, best_loss[:, s:e])
            best_alpha[:, s:e] = np.where(better, np.float32(alpha), best_alpha[:, s:e])
    return best_alpha, best_loss


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

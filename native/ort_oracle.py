"""Oracle for native/ort.test.ts: runs onnxruntime's own HistogramCollector (python, 1.30) on
float32 batches and prints the collected state and the calibration results as JSON.

usage: python3 ort_oracle.py SPEC.json
  SPEC: {"batches": ["a.npy", ...], "num_bins": 128, "num_quantized_bins": 128,
         "percentile": 99.999, "abs_num_bins": 2048, "patched": true}
With "patched", collect_value is replaced by ModelOpt's NaN/Inf patch as SPEC.md section 2
states it (NaN/Inf min -> float32 tiny, NaN/Inf max -> float32 max, T = max(|min|, |max|)).
"""
import json
import sys
import warnings

import numpy as np
from onnxruntime.quantization.calibrate import HistogramCollector

warnings.filterwarnings("ignore")


def patched_collect_value(self, name_to_arr):
    for tensor, data in name_to_arr.items():
        data = np.asarray(data).flatten()
        if data.size > 0:
            mn, mx = np.min(data), np.max(data)
        else:
            mn, mx = 0, 0
        if np.isinf(mn) or np.isnan(mn):
            mn = np.finfo(np.float32).tiny
        if np.isinf(mx) or np.isnan(mx):
            mx = np.finfo(np.float32).max
        t = max(abs(mn), abs(mx))
        if tensor in self.histogram_dict:
            self.histogram_dict[tensor] = self.merge_histogram(self.histogram_dict[tensor], data, mn, mx, t)
        else:
            hist, edges = np.histogram(data, self.num_bins, range=(-t, t))
            self.histogram_dict[tensor] = (hist, edges, mn, mx, t)


def f(v):
    v = float(v)
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def main():
    spec = json.load(open(sys.argv[1]))
    batches = [np.load(p) for p in spec["batches"]]
    out = {}
    if spec.get("patched", True):
        HistogramCollector.collect_value = patched_collect_value
    c = HistogramCollector("entropy", True, spec.get("num_bins", 128), spec.get("num_quantized_bins", 128), 99.999, "same")
    try:
        for b in batches:
            c.collect({"t": b})
    except Exception as e:  # noqa: BLE001  (numpy refuses the edges: reported, compared by the test)
        return {"value": {"error": str(e)}}
    hist, edges, mn, mx, thr = c.histogram_dict["t"]
    out["value"] = {"hist": [int(v) for v in hist], "edges": [f(v) for v in edges.astype(np.float32)], "min": f(mn), "max": f(mx), "threshold": f(thr)}
    try:
        lo, hi = c.get_entropy_threshold(c.histogram_dict["t"], spec.get("num_quantized_bins", 128))
        out["entropy"] = {"low": f(lo), "high": f(hi)}
    except Exception as e:  # noqa: BLE001
        out["entropy"] = {"error": str(e)}
    if spec.get("num_bins", 128) >= 512:
        c.scenario = "same"
        d = c.compute_distribution()["t"]
        out["distribution"] = {"avg": f(d.avg), "std": f(d.std), "lowest": f(d.lowest), "highest": f(d.highest)}
    c.method = "percentile"
    c.percentile = spec.get("percentile", 99.999)
    res = c.compute_percentile()["t"]
    out["percentile_value"] = {"low": f(res[0]), "high": f(res[1])}
    try:
        a = HistogramCollector("percentile", True, spec.get("abs_num_bins", 2048), 128, spec.get("percentile", 99.999), "same")
        for b in batches:
            a.collect({"t": b})
        h2, e2, mn2, mx2 = a.histogram_dict["t"]
        out["abs"] = {"hist": [int(v) for v in h2], "edges": [f(v) for v in e2.astype(np.float32)], "min": f(mn2), "max": f(mx2)}
        r2 = a.compute_percentile()["t"]
        out["percentile_abs"] = {"low": f(r2[0]), "high": f(r2[1])}
    except Exception as e:  # noqa: BLE001
        out["abs"] = {"error": str(e)}
    return out


if __name__ == "__main__":
    import contextlib

    with contextlib.redirect_stdout(sys.stderr):
        result = main()
    print(json.dumps(result))

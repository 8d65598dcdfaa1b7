"""onnxruntime 1.30 quantize_static baseline for bench/calibrator.bench.ts.

prepare <model> <out_model> <out_tensors_json>: opset-13 copy of the model (as the goldens used) and the
    list of tensors onnxruntime's calibrator augments (select_tensors_to_calibrate), for a fair comparison.
quantize <model13> <npz> <method> <out_model>: quantize_static (QDQ, symmetric QInt8 activations,
    per-channel QInt8 weights) over every sample of the npz, one sample per step; prints JSON with the
    wall time and peak RSS of this process.
"""
import json
import resource
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import version_converter


def prepare(model_path, out_model, out_tensors):
    m = onnx.load(model_path)
    ver = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")][0]
    if ver < 13:
        m = version_converter.convert_version(m, 13)
    onnx.save(m, out_model)
    from onnxruntime.quantization.calibrate import EntropyCalibrater
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry
    ops = list(set(list(QLinearOpsRegistry.keys()) + list(QDQRegistry.keys())))
    with tempfile.TemporaryDirectory() as d:
        cal = EntropyCalibrater(out_model, ops, augmented_model_path=f"{d}/aug.onnx")  # loads with shape inference, no augmentation yet
        tensors, _ = cal.select_tensors_to_calibrate(cal.model)
    json.dump(sorted(tensors), open(out_tensors, "w"))


def quantize(model13, npz, method, out_model):
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    data = np.load(npz)
    names = sorted(data.files)
    n = data[names[0]].shape[0]
    arrays = {k: data[k] for k in names}

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i >= n:
                return None
            feed = {k: v[self.i : self.i + 1] for k, v in arrays.items()}
            self.i += 1
            return feed

    cm = {"entropy": CalibrationMethod.Entropy, "minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}[method]
    t0 = time.perf_counter()
    quantize_static(model13, out_model, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    per_channel=True, calibrate_method=cm, extra_options={"ActivationSymmetric": True})
    wall = time.perf_counter() - t0
    print(json.dumps({"wall_s": wall, "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "samples": n}))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(*sys.argv[2:5])
    else:
        quantize(*sys.argv[2:6])

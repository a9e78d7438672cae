"""ONNX Runtime's own static quantization of a model, timed: the peer `scripts/bench end-to-end` compares qcal with.

    python bench-ort-quantize.py MODEL.onnx DATA_DIR OUT.onnx --input NAME [--method minmax|entropy|percentile]
                                 [--batch 16] [--pre-process]

DATA_DIR holds .npy files of [rows, ...] samples for the one input NAME (qcal example-data's x/ folder); they are
fed in file order, --batch rows per call, as qcal feeds them. quantize_static runs in its QDQ format with ONNX
Runtime's defaults for it: uint8 activations, int8 weights, per channel. --pre-process runs quant_pre_process
first (ONNX Runtime's advice; without symbolic shape inference when that fails, as ORT advises). Prints one line: seconds from the interpreter's start (as far as Python can tell),
seconds of imports, pre-processing and quantize_static, and the peak RSS; the caller measures the process's wall.
"""
import argparse
import os
import resource
import sys
import time

t_start = time.time()
p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("data")
p.add_argument("out")
p.add_argument("--input", required=True)
p.add_argument("--method", default="minmax", choices=["minmax", "entropy", "percentile"])
p.add_argument("--batch", type=int, default=16)
p.add_argument("--pre-process", action="store_true")
a = p.parse_args()

import numpy as np  # noqa: E402
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,  # noqa: E402
                                      QuantType, quantize_static)

t_imported = time.time()
model = a.model
pre = "none"
if a.pre_process:
    from onnxruntime.quantization.shape_inference import quant_pre_process
    model = a.out + ".pre.onnx"
    try:
        quant_pre_process(a.model, model)
        pre = "pre-process"
    except Exception:  # symbolic shape inference needs sympy and fails on some graphs: ORT's advice is to skip it
        quant_pre_process(a.model, model, skip_symbolic_shape=True)
        pre = "pre-process (no symbolic shapes)"
t_pre = time.time()


class Files(CalibrationDataReader):
    """Batches of --batch rows, read file by file (memory-mapped, one batch copied at a time)."""

    def __init__(self):
        names = sorted(f for f in os.listdir(a.data) if f.endswith(".npy"))
        self.batches = ((f, i) for f in names for i in range(0, len(np.load(os.path.join(a.data, f), mmap_mode="r")),
                                                           a.batch))

    def get_next(self):
        nxt = next(self.batches, None)
        if nxt is None:
            return None
        f, i = nxt
        rows = np.load(os.path.join(a.data, f), mmap_mode="r")
        return {a.input: np.ascontiguousarray(rows[i:i + a.batch], dtype=np.float32)}


method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
          "percentile": CalibrationMethod.Percentile}[a.method]
quantize_static(model, a.out, Files(), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=method)
t_end = time.time()
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"ort {a.method}: imports {t_imported - t_start:.2f} s, {pre} {t_pre - t_imported:.2f} s, "
      f"quantize_static {t_end - t_pre:.2f} s, peak RSS {rss_mb:.0f} MB", flush=True)
sys.exit(0)

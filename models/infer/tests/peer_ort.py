#!/usr/bin/env python3
"""Runs an ONNX model in Python onnxruntime, for the side-by-side test of coxa-infer.

usage: peer_ort.py MODEL.onnx INPUT_NAME OUTPUT_NAME IN.f32 N,C,D,H,W OUT.f32 THREADS OPT
(OPT: all or disable)
Reads little-endian float32 input of that shape, runs one fresh session (optimisation level
OPT, deterministic compute, THREADS intra-op threads; the same settings as the Rust side) and
writes the output as little-endian float32; prints its shape as JSON.
"""
import json
import sys

import numpy as np
import onnxruntime as ort

model, in_name, out_name, in_path, shape, out_path, threads, opt = sys.argv[1:9]
shape = [int(s) for s in shape.split(",")]
x = np.fromfile(in_path, dtype="<f4").reshape(shape)
so = ort.SessionOptions()
so.intra_op_num_threads = int(threads)
so.inter_op_num_threads = 1
so.graph_optimization_level = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL, "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}[opt]
so.use_deterministic_compute = True
s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
y = s.run([out_name], {in_name: x})[0]
y.astype("<f4").tofile(out_path)
print(json.dumps({"shape": list(y.shape), "onnxruntime": ort.__version__}))

#!/usr/bin/env python3
"""The fair peer for coxa-infer's overhead over ONNX Runtime (benches/benches/infer.rs): ONNX
Runtime alone computes no softmax and no labels, so this times, in the project's .venv,
(a) Python onnxruntime (one intra-op thread, sequential) on the same tiles as the bench, and
(b) numpy's softmax and argmax of the whole output volume (what nnU-Net does after its window,
in torch), and prints the medians of RUNS runs and the sum.

Run from the repository root: `.venv/bin/python benches/ort_softmax_peer.py [RUNS]`.
- nnunet: models/infer/tests/nnunet fold_0.onnx, the 18 tiles (24 x 32 x 28) of ct.nii.gz
  (46 x 52 x 36 at the plans' 2 mm, CT normalisation of the card), output 3 x 36 x 52 x 46;
- phantom: models/infer/phantom/phantom_seg_test.onnx, one 88 x 56 x 80 (k, j, i) tile (two intra-op
  threads, as the bench), output 10 classes over the demo phantom at 4 mm (the bench's CT is
  made in Rust; the tile here is filled with a fixed pattern, the network's time does not depend
  on the values), softmax over the same 10 x tile voxels.
"""
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
import SimpleITK as sitk

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15


def starts(size, patch, step=0.5):
    if size <= patch:
        return [0]
    n = int(np.ceil((size - patch) / (step * patch))) + 1
    actual = (size - patch) / (n - 1)
    return [int(np.round(actual * s)) for s in range(n)]


def session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def softmax_argmax(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    p = e / e.sum(axis=0, keepdims=True)
    return p, p.argmax(axis=0)


def time_it(f):
    f()
    out = []
    for _ in range(RUNS):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def report(name, ort_s, np_s):
    print(f"{name}: ONNX Runtime {ort_s * 1e3:.1f} ms, numpy softmax + argmax {np_s * 1e3:.1f} ms, sum {(ort_s + np_s) * 1e3:.1f} ms (median of {RUNS})")


def nnunet():
    d = os.path.join(ROOT, "models", "infer", "tests", "nnunet")
    ct = sitk.GetArrayFromImage(sitk.ReadImage(os.path.join(d, "ct.nii.gz"))).astype(np.float32)
    img = (np.clip(ct, -820.0, 1350.0) - np.float32(180.5)) / np.float32(310.25)
    patch = (24, 32, 28)
    tiles = [img[None, None, k:k + patch[0], j:j + patch[1], i:i + patch[2]].copy() for k in starts(img.shape[0], patch[0]) for j in starts(img.shape[1], patch[1]) for i in starts(img.shape[2], patch[2])]
    assert len(tiles) == 18
    s = session(os.path.join(d, "fold_0.onnx"), 1)
    ort_s = time_it(lambda: [s.run(None, {"image": t}) for t in tiles])
    logits = np.random.default_rng(0).normal(size=(3,) + img.shape).astype(np.float32)
    report("nnunet fold 0, 18 tiles", ort_s, time_it(lambda: softmax_argmax(logits)))


def phantom():
    d = os.path.join(ROOT, "models", "infer", "phantom")
    s = session(os.path.join(d, "phantom_seg_test.onnx"), 2)
    patch = (88, 56, 80)  # the card's patch_size_ijk [80, 56, 88], as k, j, i
    k, j, i = np.meshgrid(*[np.arange(n) for n in patch], indexing="ij")
    tile = (((i * 7 + j * 3 + k) % 11 < 5) * -2.0 + 0.5).astype(np.float32)[None, None]
    ort_s = time_it(lambda: s.run(None, {s.get_inputs()[0].name: tile}))
    logits = np.random.default_rng(0).normal(size=(10,) + patch).astype(np.float32)
    report(f"phantom model, one {patch} tile", ort_s, time_it(lambda: softmax_argmax(logits)))


if __name__ == "__main__":
    nnunet()
    phantom()

#!/usr/bin/env python3
"""A lesion card's lesion probability on one axial CT slice in Python onnxruntime, for the
side-by-side test of `coxa lesions --model` (scenarios/tests/coxa/lesions_learned.rs).

usage: peer_lesion.py CARD.toml HU.f32 ROWS,COLS OUT.f32
Reads the slice's HU (little-endian float32, rows = j, cols = i), normalises them as the card
says (scheme "ct": clip to the percentiles, minus mean_hu, over std_hu), pads with zeros to the
card's patch (the lower side getting half the difference, nnU-Net's pad_nd_image, which coxa's
sliding window follows), runs the model once (no mirroring; one deterministic thread), crops,
applies the softmax and writes 1 - p(background) as little-endian float32 [ROWS, COLS].
"""
import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import onnxruntime as ort

card_path, hu_path, shape, out_path = sys.argv[1:5]
card = tomllib.loads(Path(card_path).read_text())
rows, cols = (int(s) for s in shape.split(","))
hu = np.fromfile(hu_path, dtype="<f4").reshape(rows, cols)
n = card["input"]["normalisation"]
assert n["scheme"] == "ct"
x = ((np.clip(hu, n["percentile_00_5_hu"], n["percentile_99_5_hu"]) - np.float32(n["mean_hu"])) / np.float32(n["std_hu"])).astype(np.float32)
pi, pj, pk = card["input"]["patch_size_ijk"]
assert pk == 1 and rows <= pj and cols <= pi
lo_j, lo_i = (pj - rows) // 2, (pi - cols) // 2
tile = np.zeros((1, 1, 1, pj, pi), np.float32)
tile[0, 0, 0, lo_j : lo_j + rows, lo_i : lo_i + cols] = x
so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.inter_op_num_threads = 1
so.use_deterministic_compute = True
s = ort.InferenceSession(str(Path(card_path).parent / card["weights"]), so, providers=["CPUExecutionProvider"])
y = s.run([card["output"]["name"]], {card["input"]["name"]: tile})[0][0, :, 0, lo_j : lo_j + rows, lo_i : lo_i + cols].astype(np.float64)
e = np.exp(y - y.max(0, keepdims=True))
p = e / e.sum(0, keepdims=True)
(1.0 - p[0]).astype("<f4").tofile(out_path)
print(json.dumps({"onnxruntime": ort.__version__, "max_lesion_probability": float((1.0 - p[0]).max())}))

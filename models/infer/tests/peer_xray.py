#!/usr/bin/env python3
"""The peer of coxa-infer's image models: the same preprocessing written independently with
Pillow (Image.resize(.., BILINEAR) on a float32 'F' image: the antialiased triangle filter) and
numpy, and the network run by onnxruntime (Python).

    peer_xray.py CARD.toml IMAGE.f32 ROWS COLS SPACING_ROW_MM SPACING_COL_MM OUT.f32

IMAGE.f32 holds ROWS x COLS little-endian float32 presentation values, row-major; a spacing of 0
means "not known". Writes the model's input tensor to OUT.f32 and prints JSON: the output row,
the resized size and the offsets.
"""

import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import onnxruntime
from PIL import Image


def main():
    card_path, image, rows, cols, sr, sc, out = sys.argv[1:8]
    rows, cols, sr, sc = int(rows), int(cols), float(sr), float(sc)
    card = tomllib.loads(Path(card_path).read_text())
    img = np.fromfile(image, dtype="<f4").reshape(rows, cols)
    inp = card["input"]
    R, C = inp["rows"], inp["cols"]
    if inp["resize"] == "stretch":
        size = (R, C)
    else:
        t = inp["pixel_spacing_mm"]
        # the nearest integer, halves away from zero (Rust's f64::round; Python's round() goes to even)
        size = (max(1, int(np.floor(rows * sr / t + 0.5))), max(1, int(np.floor(cols * sc / t + 0.5))))
    if size != (rows, cols):
        resized = np.asarray(Image.fromarray(img, mode="F").resize((size[1], size[0]), Image.BILINEAR), dtype=np.float32)
    else:
        resized = img
    off = ((size[0] - R) // 2, (size[1] - C) // 2)
    canvas = np.full((R, C), inp.get("pad_value", 0.0), dtype=np.float32)
    for r in range(R):
        s = r + off[0]
        if 0 <= s < size[0]:
            c0, c1 = max(0, -off[1]), min(C, size[1] - off[1])
            canvas[r, c0:c1] = resized[s, c0 + off[1]:c1 + off[1]]
    norm = inp["normalisation"]
    ch = inp.get("channels", 1)
    x = np.zeros((1, ch, R, C), dtype=np.float32)
    for k in range(ch):
        if norm["scheme"] == "fixed":
            m = np.atleast_1d(norm["mean"])
            s = np.atleast_1d(norm["std"])
            m, s = float(m[min(k, len(m) - 1)]), float(s[min(k, len(s) - 1)])
        elif norm["scheme"] == "zscore":
            c64 = canvas.astype(np.float64)
            m, s = c64.mean(), max(c64.std(), 1e-8)
        else:
            m, s = 0.0, 1.0
        x[0, k] = ((canvas.astype(np.float64) - m) / s).astype(np.float32)
    x.astype("<f4").tofile(out)
    sess = onnxruntime.InferenceSession(str(Path(card_path).parent / card["weights"]), providers=["CPUExecutionProvider"])
    y = sess.run([card["output"]["name"]], {inp["name"]: x})[0]
    print(json.dumps({"output": [float(v) for v in y[0]], "resized": list(size), "offset": list(off), "onnxruntime": onnxruntime.__version__}))


if __name__ == "__main__":
    main()

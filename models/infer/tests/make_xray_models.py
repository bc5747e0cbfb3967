#!/usr/bin/env python3
"""Makes coxa-infer's X-ray TEST models (issue 22 part 4) and their cards: tiny ONNX graphs with
seeded random weights, one per card path coxa has:

- xray_fracture_test: image-classification, 1 channel, 32 x 32 at 2.0 mm (detector plane),
  fixed normalisation, softmax inside the graph (kind "probabilities"), 2 classes;
- xray_kl_test: image-classification, 3 channels (grey repeated), 24 x 40 stretched, z-score
  normalisation, raw logits (kind "logits": coxa applies the softmax), Kellgren-Lawrence 0-4;
- xray_bmd_test: image-regression, 1 channel, 32 x 32 at 1.5 mm at the patient, no
  normalisation, 2 targets (neck_abmd in g/cm2, yam_percent in %).

THESE ARE TEST MODELS. Their weights are random numbers; their outputs mean nothing clinically.

Peers (scripts/requirements-peers.txt): onnx 1.23, numpy. Run from the repository root:

    .venv/bin/python models/infer/tests/make_xray_models.py models/infer/tests/models
"""

import hashlib
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def linear_model(channels, rows, cols, outputs, out_name, softmax, seed, scale, bias):
    rng = np.random.default_rng(seed)
    n = channels * rows * cols
    w = (rng.standard_normal((n, outputs)) * scale).astype(np.float32)
    b = np.asarray(bias, dtype=np.float32)
    nodes = [
        helper.make_node("Flatten", ["image"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["z" if softmax else out_name]),
    ]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["z"], [out_name], axis=1))
    graph = helper.make_graph(
        nodes,
        "xray_test",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", channels, rows, cols])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", outputs])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="coxa make_xray_models.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write(out, name, onnx_bytes, card_body):
    (out / f"{name}.onnx").write_bytes(onnx_bytes)
    sha = hashlib.sha256(onnx_bytes).hexdigest()
    head = f'card_version = 1\nname = "{name}"\nversion = "0.1.0"\n'
    (out / f"{name}.toml").write_text(head + card_body.replace("@SHA@", sha).replace("@W@", f"{name}.onnx"))


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write(out, "xray_fracture_test", linear_model(1, 32, 32, 2, "probabilities", True, 1, 0.05, [0.0, 0.0]), """task = "image-classification"
test_model = true
description = "TEST MODEL (random weights, made by make_xray_models.py): hip fracture probability path of coxa-infer; not for clinical use"
weights = "@W@"
sha256 = "@SHA@"

[input]
name = "image"
channels = 1
rows = 32
cols = 32
resize = "spacing"
pixel_spacing_mm = 2.0
plane = "detector"
pad_value = 0.0

[input.normalisation]
scheme = "fixed"
mean = 0.5
std = 0.25

[output]
name = "probabilities"
kind = "probabilities"
classes = ["no fracture", "fracture"]
""")
    write(out, "xray_kl_test", linear_model(3, 24, 40, 5, "logits", False, 2, 0.02, [0.1, 0.0, -0.1, 0.2, 0.0]), """task = "image-classification"
test_model = true
description = "TEST MODEL (random weights, made by make_xray_models.py): Kellgren-Lawrence grade path of coxa-infer; not for clinical use"
weights = "@W@"
sha256 = "@SHA@"

[input]
name = "image"
channels = 3
rows = 24
cols = 40
resize = "stretch"

[input.normalisation]
scheme = "zscore"

[output]
name = "logits"
kind = "logits"
classes = ["KL 0", "KL 1", "KL 2", "KL 3", "KL 4"]
""")
    write(out, "xray_bmd_test", linear_model(1, 32, 32, 2, "values", False, 3, 0.002, [0.7, 80.0]), """task = "image-regression"
test_model = true
description = "TEST MODEL (random weights, made by make_xray_models.py): BMD regression path of coxa-infer; not for clinical use"
weights = "@W@"
sha256 = "@SHA@"

[input]
name = "image"
rows = 32
cols = 32
resize = "spacing"
pixel_spacing_mm = 1.5
plane = "patient"
pad_value = 0.0

[input.normalisation]
scheme = "none"

[output]
name = "values"
kind = "values"

[[output.targets]]
name = "neck_abmd"
unit = "g/cm2"

[[output.targets]]
name = "yam_percent"
unit = "%"
""")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "models/infer/tests/models")

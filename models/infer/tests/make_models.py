#!/usr/bin/env python3
"""Writes the tiny ONNX test models of coxa-infer (tests/models/*.onnx) with the `onnx` helper API.

No training and no torch: every weight is set by hand so that the right answer is known
analytically. These are TEST models, made by the coxa project (licence: the project's,
Apache-2.0); they segment nothing clinically meaningful.

  threshold3.onnx  image [N,1,D,H,W] -> logits [N,3,D,H,W]: a 1x1x1 Conv whose argmax is
                   HU thresholding after nnU-Net's CT normalisation (card threshold3.toml):
                   class 0 below -500.5 HU, class 1 up to 250.5 HU, class 2 above.
  threshold3_batch2.onnx  the same, exported with a fixed batch of 2 ([2,1,D,H,W] ->
                   [2,3,D,H,W]; card threshold3_batch2.toml): coxa fills a last batch of one tile.
  mc_dropout.onnx  image [N,1,D,H,W] -> logits [N,2,D,H,W]: a gate g = clip(10 (x - t), 0, 1)
                   (t = 100.5 HU normalised), then Dropout(ratio 0.5, training_mode = true,
                   seed 1234), then logit1 = 40 (d - 1), logit0 = 0. Where g = 0 every pass says
                   class 0 with certainty; where g = 1 each pass says +40 or -40 at random, so the
                   mean softmax is uncertain (card mc_dropout.toml). ONNX Runtime's graph
                   optimiser (level basic and up) removes this Dropout although training_mode is
                   true (seen with 1.31.1), so coxa runs stochastic models unoptimised.
  ramp_up.onnx,    image [N,1,D,H,W] -> logits [N,2,D,H,W]: logit1 = +4 x and -4 x, logit0 = 0
  ramp_down.onnx   (no normalisation): the two folds of card disagree.toml, whose members give
                   p and 1 - p, so their mean is 1/2 everywhere and they disagree more as |x| grows.
  conv3.onnx       image [N,1,D,H,W] -> logits [N,3,D,H,W]: a 3x3x3 Conv (pads 1) with seeded
                   random weights, so a patch's border sees zero padding and the sliding window's
                   overlap and Gaussian weighting matter (card conv3.toml).

Run: .venv/bin/python models/infer/tests/make_models.py  (writes beside this file, then prints
the SHA-256 of each model, which the cards carry).
"""

import hashlib
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = pathlib.Path(__file__).resolve().parent / "models"
OPSET = 17
# nnU-Net CT normalisation of the test cards: clip to [P0.5, P99.5] then (x - mean) / std.
CT_CLIP = (-1000.0, 1500.0)
CT_MEAN, CT_STD = 100.0, 400.0


def norm(hu):
    return (min(max(hu, CT_CLIP[0]), CT_CLIP[1]) - CT_MEAN) / CT_STD


def io(name, channels, batch="N"):
    # batch and spatial dimensions symbolic: any patch size, any batch (unless a batch is given).
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, channels, "D", "H", "W"])


def save(graph, file):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="coxa make_models.py")
    model.ir_version = 8
    model.doc_string = "coxa TEST model: weights set by hand, not trained, not for clinical use."
    onnx.checker.check_model(model, full_check=True)
    path = HERE / file
    # Deterministic bytes: the cards pin the SHA-256.
    path.write_bytes(model.SerializeToString(deterministic=True))
    print(f"{file}  sha256 = {hashlib.sha256(path.read_bytes()).hexdigest()}")


def threshold3(batch="N", file="threshold3.onnx"):
    s = 10.0  # logit slope per normalised unit; boundaries are where logits tie.
    t1, t2 = norm(-500.5), norm(250.5)
    w = np.array([0.0, s, 2 * s], np.float32).reshape(3, 1, 1, 1, 1)
    b = np.array([0.0, -s * t1, -s * (t1 + t2)], np.float32)
    node = helper.make_node("Conv", ["image", "w", "b"], ["logits"], kernel_shape=[1, 1, 1])
    g = helper.make_graph([node], "threshold3", [io("image", 1, batch)], [io("logits", 3, batch)],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    save(g, file)


def mc_dropout():
    t = norm(100.5)
    c = 40.0  # exp(-40) ~ 4e-18: a certain voxel's entropy is ~2e-16 nats, 0 in float32 terms
    nodes = [
        # gate = clip(10 x - 10 t, 0, 1)
        helper.make_node("Mul", ["image", "ten"], ["xs"]),
        helper.make_node("Sub", ["xs", "ten_t"], ["xg"]),
        helper.make_node("Clip", ["xg", "zero", "one"], ["gate"]),
        helper.make_node("Dropout", ["gate", "ratio", "training"], ["dropped"], seed=1234),
        # logits = conv1x1(dropped): channel 0 = 0, channel 1 = c * d - c
        helper.make_node("Conv", ["dropped", "w", "b"], ["logits"], kernel_shape=[1, 1, 1]),
    ]
    inits = [
        numpy_helper.from_array(np.array(10.0, np.float32), "ten"),
        numpy_helper.from_array(np.array(10.0 * t, np.float32), "ten_t"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(0.5, np.float32), "ratio"),
        numpy_helper.from_array(np.array(True), "training"),
        numpy_helper.from_array(np.array([0.0, c], np.float32).reshape(2, 1, 1, 1, 1), "w"),
        numpy_helper.from_array(np.array([0.0, -c], np.float32), "b"),
    ]
    g = helper.make_graph(nodes, "mc_dropout", [io("image", 1)], [io("logits", 2)], inits)
    save(g, "mc_dropout.onnx")


def conv3():
    rng = np.random.default_rng(15)
    w = rng.normal(0.0, 0.5, size=(3, 1, 3, 3, 3)).astype(np.float32)
    b = rng.normal(0.0, 0.5, size=3).astype(np.float32)
    node = helper.make_node("Conv", ["image", "w", "b"], ["logits"], kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1])
    g = helper.make_graph([node], "conv3", [io("image", 1)], [io("logits", 3)],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    save(g, "conv3.onnx")


def ramp(name, slope):
    w = np.array([0.0, slope], np.float32).reshape(2, 1, 1, 1, 1)
    b = np.zeros(2, np.float32)
    node = helper.make_node("Conv", ["image", "w", "b"], ["logits"], kernel_shape=[1, 1, 1])
    g = helper.make_graph([node], name, [io("image", 1)], [io("logits", 2)],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    save(g, f"{name}.onnx")


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    threshold3()
    threshold3(2, "threshold3_batch2.onnx")
    mc_dropout()
    conv3()
    ramp("ramp_up", 4.0)
    ramp("ramp_down", -4.0)

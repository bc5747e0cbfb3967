"""Writes the hand-set ONNX graphs of coxa's image-translation tests (tests/models/translation_*):

- translation_steps.onnx: one step of a toy noisy sampler, to exercise `[sampling]`: inputs `ct`
  (the normalised slice), `x` (the state), `z` (fresh noise), `t` (int64 step index, counting
  down to 0), all [N, 1, rows, cols] but `t` [N]; output
      `y = 0.6 x + 0.4 tanh(conv3x3(ct)) + 0.1 t z`
  (a 3 x 3 binomial smoothing kernel): it iterates on its state and adds noise scaled by the step
  index, so every step but the last (t = 0) leaves noise in the image, and the seed shows.
- translation_rank5.onnx: a one-pass graph whose input is [N, 1, 1, rows, cols] (rank 5): refused.
- translation_3ch.onnx: a one-pass graph whose input has 3 channels: refused.
- translation_fixed.onnx: a one-pass graph exported with a fixed size, [2, 1, 36, 40] in and out
  (batch 2, 36 rows, 40 columns): `t2 = 2 ct`. Slices of another size are refused; a CT whose
  slice count is not a multiple of 2 still runs (coxa pads the last batch).

Hand-set weights, TEST graphs: they learned nothing. Run with the project's .venv (onnx, numpy):
    python make_translation_models.py OUT_DIR
"""

import hashlib
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def image(name, channels=1, rank=4, fixed=None):
    dims = list(fixed) if fixed else ["n", channels] + (["one"] if rank == 5 else []) + ["rows", "cols"]
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def save(graph, path):
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="coxa make_translation_models.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def steps_graph():
    k = np.outer([1, 2, 1], [1, 2, 1]).astype(np.float32) / 16.0
    inits = [
        numpy_helper.from_array(k.reshape(1, 1, 3, 3), "w"),
        numpy_helper.from_array(np.array([0.6], np.float32), "a"),
        numpy_helper.from_array(np.array([0.4], np.float32), "b"),
        numpy_helper.from_array(np.array([0.1], np.float32), "c"),
        numpy_helper.from_array(np.array([-1, 1, 1, 1], np.int64), "shape4"),
    ]
    nodes = [
        helper.make_node("Conv", ["ct", "w"], ["g0"], pads=[1, 1, 1, 1]),
        helper.make_node("Tanh", ["g0"], ["g"]),
        helper.make_node("Cast", ["t"], ["tf"], to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["tf", "shape4"], ["t4"]),
        helper.make_node("Mul", ["x", "a"], ["ax"]),
        helper.make_node("Mul", ["g", "b"], ["bg"]),
        helper.make_node("Mul", ["z", "t4"], ["zt"]),
        helper.make_node("Mul", ["zt", "c"], ["czt"]),
        helper.make_node("Add", ["ax", "bg"], ["s"]),
        helper.make_node("Add", ["s", "czt"], ["y"]),
    ]
    t = helper.make_tensor_value_info("t", TensorProto.INT64, ["n"])
    return helper.make_graph(nodes, "translation_steps", [image("ct"), image("x"), image("z"), t], [image("y")], inits)


def one_pass(name, channels, rank):
    w = np.full((1, channels) + (1,) * (rank - 2), 1.0 / channels, np.float32)
    node = helper.make_node("Conv", ["ct", "w"], ["t2"])
    return helper.make_graph([node], name, [image("ct", channels, rank)], [image("t2", 1, rank)], [numpy_helper.from_array(w, "w")])


def fixed_size():
    node = helper.make_node("Mul", ["ct", "two"], ["t2"])
    shape = (2, 1, 36, 40)
    return helper.make_graph([node], "fixed", [image("ct", fixed=shape)], [image("t2", fixed=shape)], [numpy_helper.from_array(np.array([2.0], np.float32), "two")])


def main():
    out = Path(sys.argv[1])
    for name, graph in [("translation_steps", steps_graph()), ("translation_rank5", one_pass("rank5", 1, 5)), ("translation_3ch", one_pass("three", 3, 4)), ("translation_fixed", fixed_size())]:
        print(name, save(graph, out / f"{name}.onnx"))


if __name__ == "__main__":
    main()

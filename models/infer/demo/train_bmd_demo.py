#!/usr/bin/env python3
"""Trains coxa's DEMONSTRATION BMD-from-radiograph model (issue 22 part 4) and writes it with its
card: a ridge regression (scikit-learn) from the z-scored pixels of an AP hip radiograph to the
femoral neck's areal BMD, trained on radiographs coxa simulates from ONE CT whose bone density is
scaled to known values (the research behind coxa trained on radiographs simulated from CT).

NOT FOR CLINICAL USE. It has seen variants of a single patient: its held-out figures say how well
it recovers a density change of that patient's bone, not how it generalises to other people.

From the repository root, with the project's venv (numpy, scikit-learn 1.6.1, onnx, onnxruntime):

    cargo run -p coxa-scenarios --no-default-features --example drr_bmd_dataset -- \\
        ../shared/data/totalseg/example_ct.nii.gz \\
        ../shared/data/totalseg/example_seg_fast_force_split.nii.gz /tmp/drr_bmd 240 22
    .venv/bin/python models/infer/demo/train_bmd_demo.py /tmp/drr_bmd models/infer/demo

Writes bmd_drr_demo.onnx, bmd_drr_demo.toml (the card) and bmd_drr_demo_metrics.json.
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import sklearn
from onnx import TensorProto, helper, numpy_helper
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score

YAM_NECK_G_CM2 = 0.858  # coxa's young-adult mean (NHANES III, coxa_diagnostics::density)


def presentation(x):
    """What coxa reads from its own DRR DICOM: the window is the image's range."""
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / max(hi - lo, 1e-6)


def zscore(p):
    return (p - p.mean()) / max(p.std(), 1e-8)


def main(data, out):
    data, out = Path(data), Path(out)
    labels = json.loads((data / "labels.json").read_text())
    rows, cols = labels["rows"], labels["cols"]
    X, y, yam = [], [], []
    for v in labels["variants"]:
        img = np.fromfile(data / v["file"], dtype="<f4").reshape(rows, cols).astype(np.float64)
        X.append(zscore(presentation(img)).ravel())
        y.append(v["neck_abmd_g_cm2"])
        yam.append(v["neck_yam_percent"])
    X, y, yam = np.array(X), np.array(y), np.array(yam)
    n = len(y)
    rng = np.random.default_rng(22)
    order = rng.permutation(n)
    n_test = n // 4
    test, train = order[:n_test], order[n_test:]
    model = RidgeCV(alphas=np.logspace(-2, 4, 25)).fit(X[train], y[train])
    pred = model.predict(X[test])
    yam_true = yam[test]
    yam_pred = 100.0 * pred / YAM_NECK_G_CM2
    positives = yam_true <= 70.0
    auc = float(roc_auc_score(positives, -yam_pred)) if 0 < positives.sum() < len(positives) else None
    metrics = {
        "variants": n, "train": len(train), "held_out": len(test),
        "r2": float(r2_score(y[test], pred)), "mae_g_cm2": float(mean_absolute_error(y[test], pred)),
        "held_out_abmd_range_g_cm2": [float(y[test].min()), float(y[test].max())],
        "auc_yam_le_70": auc, "held_out_yam_le_70": int(positives.sum()), "held_out_yam_gt_70": int((~positives).sum()),
        "ridge_alpha": float(model.alpha_), "scikit_learn": sklearn.__version__,
    }
    # The network: coxa z-scores the image (card: scheme "zscore"); Flatten, MatMul, Add.
    w = model.coef_.astype(np.float32).reshape(-1, 1)
    b = np.array([model.intercept_], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"], axis=1), helper.make_node("MatMul", ["flat", "W"], ["mm"]), helper.make_node("Add", ["mm", "b"], ["values"])],
        "bmd_drr_demo",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, rows, cols])],
        [helper.make_tensor_value_info("values", TensorProto.FLOAT, ["N", 1])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="coxa train_bmd_demo.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    data_bytes = m.SerializeToString()
    sess = onnxruntime.InferenceSession(data_bytes, providers=["CPUExecutionProvider"])
    ort = sess.run(["values"], {"image": X[test].reshape(-1, 1, rows, cols).astype(np.float32)})[0][:, 0]
    metrics["max_abs_onnx_vs_sklearn_g_cm2"] = float(np.abs(ort - pred).max())
    out.mkdir(parents=True, exist_ok=True)
    (out / "bmd_drr_demo.onnx").write_bytes(data_bytes)
    sha = hashlib.sha256(data_bytes).hexdigest()
    auc_text = f"{auc:.3f}" if auc is not None else "not defined (one class)"
    card = f'''card_version = 1
name = "bmd-drr-demo"
version = "0.1.0"
task = "image-regression"
test_model = true
description = """DEMONSTRATION model, NOT FOR CLINICAL USE. Femoral neck areal BMD (g/cm2) from an AP \
radiograph centred on the right femoral head (coxa xray --centre hip --side right --pixel-mm 0.8). A ridge \
regression on z-scored pixels, trained on {len(train)} of {n} synthetic variants of ONE CT \
(totalseg example_ct: bone density scaled 0.55-1.6x, pose and magnification varied a little), \
labelled with coxa's own CT-based aBMD. Held out ({len(test)} variants of the same patient): \
R2 {metrics['r2']:.3f}, MAE {metrics['mae_g_cm2']:.4f} g/cm2, AUC for YAM <= 70 % {auc_text}. \
These say how it tracks a density change of that one patient's bone, not how it generalises. \
Made by models/infer/demo/train_bmd_demo.py."""
weights = "bmd_drr_demo.onnx"
sha256 = "{sha}"

[input]
name = "image"
channels = 1
rows = {rows}
cols = {cols}
resize = "spacing"
pixel_spacing_mm = {labels["pixel_mm"]}
plane = "detector"
pad_value = 0.0

[input.normalisation]
scheme = "zscore"

[output]
name = "values"
kind = "values"

[[output.targets]]
name = "neck_abmd"
unit = "g/cm2"
'''
    (out / "bmd_drr_demo.toml").write_text(card)
    (out / "bmd_drr_demo_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "models/infer/demo")

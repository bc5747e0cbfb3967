#!/usr/bin/env python3
"""Makes coxa-infer's tabular TEST model: a scikit-learn LogisticRegression (after a StandardScaler)
trained on synthetic data, exported to ONNX with skl2onnx, its model card, and the expected
probabilities of scikit-learn and onnxruntime side by side.

THIS IS A TEST MODEL. Its training data are random numbers; its output means nothing clinically.

Peers (scripts/requirements-peers.txt): scikit-learn 1.6.1, skl2onnx 1.20.0, onnxruntime 1.31.1.
Run from the repository root:

    .venv/bin/python models/infer/tests/make_tabular_model.py models/infer/tests/models

Writes prognosis_test.onnx, prognosis_test.toml (the card) and prognosis_test_expected.json
(inputs, scikit-learn's predict_proba and onnxruntime's output). The inputs include the
pyradiomics-bhklab 3.1.4 features of the real CT's hip_left (models/diagnostics' fixture), so a
test can run coxa's own features through the model and compare.
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import sklearn
import skl2onnx
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ["original_firstorder_Mean", "original_glcm_Contrast", "original_shape_VoxelVolume", "original_firstorder_Entropy"]
# Scales typical of a hip bone on CT: mean HU, GLCM contrast, volume mm3, entropy bits.
CENTRES = np.array([300.0, 40.0, 2.0e5, 4.0])
SPREADS = np.array([120.0, 25.0, 6.0e4, 0.8])


def main(out):
    out = Path(out)
    rng = np.random.default_rng(2026)
    x = CENTRES + SPREADS * rng.standard_normal((400, len(FEATURES)))
    w = np.array([1.2, -0.8, 0.5, -0.4])
    z = ((x - CENTRES) / SPREADS) @ w + 0.3 * rng.standard_normal(400)
    y = (z > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    onx = convert_sklearn(model, initial_types=[("features", FloatTensorType([None, len(FEATURES)]))], options={id(model.steps[-1][1]): {"zipmap": False}}, target_opset=17)
    onnx_path = out / "prognosis_test.onnx"
    onnx_path.write_bytes(onx.SerializeToString())
    sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()

    fixture = json.loads(Path("models/diagnostics/tests/fixtures/pyradiomics_features.json").read_text())
    hip = dict(next(c for c in fixture["cases"] if c["name"] == "ct_hip_left")["features"])
    rows = [[hip[f] for f in FEATURES]] + (CENTRES + SPREADS * rng.standard_normal((20, len(FEATURES)))).tolist()
    inputs = np.array(rows, dtype=np.float32)
    sess = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    outputs = [o.name for o in sess.get_outputs()]
    ort_probs = sess.run(["probabilities"], {"features": inputs})[0]
    skl_probs = model.predict_proba(inputs.astype(np.float64))
    card = f'''card_version = 1
name = "prognosis-test"
version = "0.1.0"
task = "tabular-classification"
test_model = true
description = "TEST MODEL, NOT FOR CLINICAL USE: scikit-learn {sklearn.__version__} StandardScaler + LogisticRegression trained on 400 rows of synthetic random data (models/infer/tests/make_tabular_model.py), exported by skl2onnx {skl2onnx.__version__}. It only tests that radiomics features reach an ONNX model by name and its probabilities come back."
weights = "prognosis_test.onnx"
sha256 = "{sha}"

[input]
name = "features"
features = {json.dumps(FEATURES)}

[output]
name = "probabilities"
classes = ["class_0", "class_1"]
'''
    (out / "prognosis_test.toml").write_text(card)
    doc = {
        "peers": f"scikit-learn {sklearn.__version__}, skl2onnx {skl2onnx.__version__}, onnxruntime {onnxruntime.__version__}",
        "onnx_outputs": outputs,
        "features": FEATURES,
        "first_row": "pyradiomics-bhklab 3.1.4 features of the real CT's hip_left (label 77)",
        "inputs": inputs.astype(float).tolist(),
        "sklearn_probabilities": skl_probs.tolist(),
        "onnxruntime_probabilities": ort_probs.astype(float).tolist(),
    }
    (out / "prognosis_test_expected.json").write_text(json.dumps(doc, indent=1) + "\n")
    print("max |sklearn - onnxruntime|:", float(np.abs(skl_probs - ort_probs).max()), "hip_left p(class_1):", float(ort_probs[0, 1]))


if __name__ == "__main__":
    main(sys.argv[1])

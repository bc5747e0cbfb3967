#!/usr/bin/env python3
"""nnU-Net v2's own PyTorch CPU inference on the inputs of benches/benches/infer.rs's nnU-Net
group, for the speed ratio: nnUNetPredictor (step 0.5, Gaussian, CPU) with the nnU-Net test
model's fold 0 on models/infer/tests/nnunet/ct.nii.gz, without and with mirroring.

Needs torch and nnunetv2 (a separate venv; see models/infer/tests/nnunet/make_reference.py).
Run from the repository root: `NNUNET_PYTHON benches/compare_nnunet.py [THREADS]`. The trained
model folder is rebuilt in a temporary folder by make_reference.py's plans and seeds (the same
weights as the committed ONNX export, checked by SHA-256 of a fresh export). Prints the median
wall time of predict_single_npy_array (preprocessing, sliding window, export to probabilities)
over 10 runs after a warm-up, and the process' peak resident memory.
"""
import os
import resource
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "infer", "tests", "nnunet"))
import make_reference as ref  # noqa: E402

from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor  # noqa: E402

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
tmp = tempfile.mkdtemp(prefix="coxa-nnunet-bench-")
results = ref.make_results_folder(tmp)
ct = ref.phantom_ct().astype(np.float32)[None]
for mirror in (False, True):
    pred = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=mirror, perform_everything_on_device=False, device=torch.device("cpu"), verbose=False, allow_tqdm=False)
    pred.initialize_from_trained_model_folder(results, use_folds=(0,), checkpoint_name="checkpoint_final.pth")
    torch.set_num_threads(threads)
    pred.predict_single_npy_array(ct, {"spacing": [2.0, 2.0, 2.0]}, None, None, True)
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        pred.predict_single_npy_array(ct, {"spacing": [2.0, 2.0, 2.0]}, None, None, True)
        times.append(time.perf_counter() - t0)
    print(f"nnUNetPredictor fold 0 {'8 mirrors' if mirror else 'no mirror'}, {threads} torch thread(s): median {statistics.median(times) * 1000:.1f} ms (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")
print(f"peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

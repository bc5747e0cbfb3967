"""Trains coxa's learned pseudo-MRI TEST model: a tiny slice-wise convolutional generator (a
one-pass, pix2pix-style generator without the adversary) that turns an axial CT slice into a
pseudo T2-weighted slice.

TEST MODEL that learned to imitate coxa's own MODEL-FREE pseudo-MRI on ONE CT; it has never seen
an MR image and is not MRI; not for clinical use. It shows that `coxa pseudo-mri --model` runs a
user's image-to-image model from its card (task "image-translation") and how such a model is
exported; what it gives is coxa's relaxation model's image, re-learned, no more.

Recipe (every number here is the committed model's):
1. Data: TotalSegmentator's example CT (122 x 101 x 112 voxels, 3 mm) and its model-free pseudo
   T2 written by the current coxa:
       coxa pseudo-mri --ct ../shared/data/totalseg/example_ct.nii.gz --out MF
   Axial slices k with k % 5 == 2 are held out (validation, 22 slices); the other 90 train.
2. Input: HU clipped to [-1000, 1500] and mapped linearly to [-1, 1] (the card's
   `input.clip_hu` and `input.scaled_to`). Target: the pseudo-T2 value (1000 S) mapped from
   [0, 1000] to [-1, 1] (the card's `output.to` and `output.from`). Augmentation: a random
   left-right flip.
3. Network: `Generator` below: five 3 x 3 convolutions of 16 channels, dilated 1, 2, 4, 8, 1
   (a receptive field of 33 pixels, about 10 cm: enough to see the vertebral ring around the
   canal), ReLU between, a 1 x 1 convolution and tanh at the end; fully convolutional, so any
   slice size runs. Loss: L1, weighted 10 on the bright water-density pixels (the canal and
   fluid: `weight`), 1 elsewhere; Adam, learning rate 3e-3 then 1e-3 for the last third, batch 8
   whole slices, ITERATIONS steps; torch seed 0, numpy seed 0, 2 threads.
4. Export: ONNX opset 17, input `ct` float32 [N, 1, rows, cols] (rows and cols dynamic), output
   `t2` [N, 1, rows, cols]; the card written beside it with the file's SHA-256; the errors on the
   training and held-out slices (mean absolute error in the image's unit, 1000 S) written to
   pseudo_t2_test_metrics.json.

Run with a Python that has torch, numpy and nibabel (not the project's .venv; CI never trains):
    python train_pseudo_t2_model.py CT.nii.gz MF/pseudo_t2.nii.gz OUT_DIR
"""

import hashlib
import json
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from torch import nn

ITERATIONS = 900
LO, HI = -1000.0, 1500.0
OUT_LO, OUT_HI = 0.0, 1000.0

CARD = """card_version = 1
name = "coxa-pseudo-t2-test"
version = "1.0.0"
task = "image-translation"
test_model = true
description = "TEST MODEL that learned to imitate coxa's own model-free pseudo-MRI on one CT (TotalSegmentator's example CT, 90 axial slices; 22 held out); it has never seen an MR image: it is not MRI and not for clinical use. A one-pass slice-wise generator (five 3x3 convolutions of 16 channels dilated 1, 2, 4, 8, 1, then a 1x1 convolution and tanh), trained with an L1 loss weighted 10 on the canal and fluid (models/infer/python/train_pseudo_t2_model.py; errors in pseudo_t2_test_metrics.json)."
weights = "{weights}"
sha256 = "{sha}"

[input]
name = "ct"
modality = "CT"
clip_hu = [{lo}, {hi}]
scaled_to = [-1.0, 1.0]

[output]
name = "t2"
from = [-1.0, 1.0]
to = [{out_lo}, {out_hi}]
unit = "1000 S"
tr_ms = 4000.0
te_ms = 100.0
field_t = 3.0

[sampling]
steps = 1
"""


class Generator(nn.Module):
    def __init__(self, c=16):
        super().__init__()
        layers, cin = [], 1
        for d in (1, 2, 4, 8, 1):
            layers += [nn.Conv2d(cin, c, 3, padding=d, dilation=d), nn.ReLU()]
            cin = c
        layers += [nn.Conv2d(c, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def weight(x, y):
    """The loss weight per pixel: 10 where the target is bright (above 250, i.e. 1000 S) but the CT
    is water-to-soft-tissue density (-30..120 HU): the spinal canal and fluid, a few hundred pixels
    of a slice's twelve thousand that the plain L1 loss lets the network miss; 1 elsewhere."""
    hu = (x + 1.0) / 2.0 * (HI - LO) + LO
    t2 = (y + 1.0) / 2.0 * (OUT_HI - OUT_LO) + OUT_LO
    return 1.0 + 9.0 * ((t2 > 250.0) & (hu > -30.0) & (hu < 120.0)).float()


def main():
    ct_path, t2_path, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(2)
    # nibabel's arrays are [i, j, k]; slices as [k, j, i] (rows j, cols i), as coxa holds them.
    ct = np.asanyarray(nib.load(ct_path).dataobj).astype(np.float32).transpose(2, 1, 0)
    t2 = np.asanyarray(nib.load(t2_path).dataobj).astype(np.float32).transpose(2, 1, 0)
    assert ct.shape == t2.shape, (ct.shape, t2.shape)
    x = (np.clip(ct, LO, HI) - LO) / (HI - LO) * 2.0 - 1.0
    y = (t2 - OUT_LO) / (OUT_HI - OUT_LO) * 2.0 - 1.0
    held = np.array([k % 5 == 2 for k in range(ct.shape[0])])
    xt, yt = torch.from_numpy(x[~held, None]), torch.from_numpy(y[~held, None])
    xv, yv = torch.from_numpy(x[held, None]), torch.from_numpy(y[held, None])
    net = Generator()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    t0 = time.time()
    log = []
    for it in range(ITERATIONS):
        if it == 2 * ITERATIONS // 3:
            for g in opt.param_groups:
                g["lr"] = 1e-3
        idx = np.random.choice(len(xt), 8, replace=False)
        xb, yb = xt[idx], yt[idx]
        if np.random.rand() < 0.5:
            xb, yb = xb.flip(-1), yb.flip(-1)
        loss = ((net(xb) - yb).abs() * weight(xb, yb)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % 100 == 0 or it == ITERATIONS - 1:
            log.append({"iteration": it, "l1": loss.item()})
            print(it, loss.item(), f"{time.time() - t0:.0f} s", flush=True)
    net.eval()
    scale = (OUT_HI - OUT_LO) / 2.0

    def mae(xs, ys):
        with torch.no_grad():
            return float((net(xs) - ys).abs().mean()) * scale

    metrics = {
        "what": "mean absolute difference from coxa's model-free pseudo-T2 of the same slices, in the image's unit (1000 S); the model-free image's values span 0..551",
        "ct": "TotalSegmentator example_ct.nii.gz (122 x 101 x 112, 3 mm)",
        "train_slices": int((~held).sum()),
        "held_out_slices": int(held.sum()),
        "held_out_rule": "axial slice k with k % 5 == 2",
        "train_mae": mae(xt, yt),
        "held_out_mae": mae(xv, yv),
        "iterations": ITERATIONS,
        "seconds": time.time() - t0,
        "parameters": sum(p.numel() for p in net.parameters()),
        "torch": torch.__version__,
        "log": log,
    }
    weights = out / "pseudo_t2_test.onnx"
    torch.onnx.export(
        net, torch.zeros(1, 1, 64, 64), str(weights), input_names=["ct"], output_names=["t2"],
        dynamic_axes={"ct": {0: "n", 2: "rows", 3: "cols"}, "t2": {0: "n", 2: "rows", 3: "cols"}}, opset_version=17, dynamo=False,
    )
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    (out / "pseudo_t2_test.toml").write_text(CARD.format(weights=weights.name, sha=sha, lo=LO, hi=HI, out_lo=OUT_LO, out_hi=OUT_HI))
    (out / "pseudo_t2_test_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps({k: v for k, v in metrics.items() if k != "log"}, indent=2))


if __name__ == "__main__":
    main()

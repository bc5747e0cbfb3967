"""Trains coxa's learned lesion TEST model: a tiny 2D U-Net (three levels, 8/16/32 channels) that
marks lytic and blastic bone lesions on axial CT slices at 3 mm.

TEST MODEL trained on lesions inserted into one CT; not for clinical use. It shows that
`coxa lesions --model` runs a slice-wise model from its card and how such a model is scored; it
knows one patient's anatomy and coxa's synthetic spheres, nothing of real metastases.

Recipe (every number here is the committed model's):
1. Data: `cargo run -p coxa-diagnostics --example lesion_training_data -- DATA train=48 held=24`
   (the real example CT; 48 training trials of 4 lesions in the training bones, seeds 1..48; the
   24 held-out trials, seeds 10001..10024, put 2 lesions each in L3 and the right hip, bones that
   never hold a training lesion, and are not read here).
2. Samples: every axial slice of a training trial that holds lesion voxels gives one 48 x 48
   crop holding the lesion's pixels (random offset); as many negatives: 48 x 48 crops centred on a
   random bone pixel of a random slice of a training trial whose pixels hold no lesion. Targets
   per pixel: 0 background, 1 lytic, 2 blastic (`sample::truth_map`: voxel centres within the
   radius).
3. Input: HU clipped to [-250, 1250] then (HU - 100) / 200 (the card's normalisation scheme
   "ct" with those numbers), one channel. Augmentation: a random left-right flip.
4. Network: `TinyUNet` below (batch norm after each convolution, folded into the convolutions
   at export); loss: cross-entropy weighted 1 / 4 / 4 plus the soft Dice loss of the lesion
   pixels; Adam, learning rate 2e-3, batch 32, EPOCHS epochs; torch seeds 0, numpy seed 0, 2
   threads.
5. Export: ONNX opset 17, input `image` [N, 1, 1, 128, 128] (rank 5: coxa's sliding window over
   one-slice patches, `patch_size_ijk = [128, 128, 1]`), output `logits` [N, 3, 1, 128, 128];
   the card written beside it with the file's SHA-256.

Run with a Python that has torch and numpy (not the project's .venv; CI never trains):
    python train_lesion_model.py DATA OUT_DIR
"""

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

EPOCHS = 12
CROP = 48
LO, HI = -250.0, 1250.0
MEAN, STD = 100.0, 200.0


def load(data, stem, shape):
    ct = np.fromfile(data / f"{stem}_ct.f32", dtype="<f4").reshape(shape)
    truth = np.fromfile(data / f"{stem}_truth.u16", dtype="<u2").reshape(shape)
    return ct, truth


def normalise(hu):
    return ((np.clip(hu, LO, HI).astype(np.float32) - np.float32(MEAN)) / np.float32(STD)).astype(np.float32)


def crop_at(a, j0, i0):
    """A CROP x CROP window of the 2D array `a` starting at (j0, i0), zero outside."""
    out = np.zeros((CROP, CROP), dtype=a.dtype)
    nj, ni = a.shape
    js, is_ = max(j0, 0), max(i0, 0)
    je, ie = min(j0 + CROP, nj), min(i0 + CROP, ni)
    out[js - j0 : je - j0, is_ - i0 : ie - i0] = a[js:je, is_:ie]
    return out


def samples(data, meta, rng):
    shape = tuple(meta["shape_kji"])
    bones = np.fromfile(data / "bones.u16", dtype="<u2").reshape(shape)
    xs, ys = [], []
    trials = [t for t in meta["trials"] if t["split"] == "train"]
    for t in trials:
        ct, truth = load(data, t["stem"], shape)
        kinds = np.array([0] + [1 if l["kind"] == "lytic" else 2 for l in t["lesions"]], dtype=np.int64)
        target = kinds[truth]
        x = normalise(ct)
        pos = [k for k in range(shape[0]) if truth[k].any()]
        for k in pos:
            jj, ii = np.nonzero(truth[k])
            j0 = int(rng.integers(jj.max() - CROP + 4, jj.min() - 3))
            i0 = int(rng.integers(ii.max() - CROP + 4, ii.min() - 3))
            xs.append(crop_at(x[k], j0, i0))
            ys.append(crop_at(target[k], j0, i0))
        free = [k for k in range(shape[0]) if not truth[k].any() and bones[k].any()]
        for _ in range(len(pos)):
            k = free[int(rng.integers(len(free)))]
            jj, ii = np.nonzero(bones[k])
            n = int(rng.integers(len(jj)))
            xs.append(crop_at(x[k], jj[n] - CROP // 2, ii[n] - CROP // 2))
            ys.append(np.zeros((CROP, CROP), dtype=np.int64))
    return np.stack(xs)[:, None], np.stack(ys)


def block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class TinyUNet(nn.Module):
    """Three levels (8, 16, 32 channels), batch norm, max-pool down, nearest up, skip concatenations."""

    def __init__(self, classes=3):
        super().__init__()
        self.e1, self.e2, self.e3 = block(1, 8), block(8, 16), block(16, 32)
        self.d2, self.d1 = block(32 + 16, 16), block(16 + 8, 8)
        self.head = nn.Conv2d(8, classes, 1)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        a = self.e1(x)
        b = self.e2(self.pool(a))
        c = self.e3(self.pool(b))
        d = self.d2(torch.cat([self.up(c), b], 1))
        e = self.d1(torch.cat([self.up(d), a], 1))
        return self.head(e)


def dice_loss(logits, target):
    """1 - soft Dice of the lesion pixels (lytic and blastic together) over the batch."""
    p = torch.softmax(logits, 1)[:, 1:].sum(1)
    t = (target > 0).float()
    return 1.0 - (2.0 * (p * t).sum() + 1.0) / (p.sum() + t.sum() + 1.0)


class Slices(nn.Module):
    """The 2D network over coxa's one-slice patches: [N, 1, 1, H, W] in, [N, C, 1, H, W] out."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        return self.net(image[:, :, 0]).unsqueeze(2)


CARD = """card_version = 1
name = "coxa-lesion-test"
version = "1.0.0"
task = "lesion-segmentation"
test_model = true
description = "TEST MODEL trained on lesions inserted into one CT; not for clinical use. A tiny 2D U-Net (8/16/32 channels) marking lytic and blastic lesions on axial CT slices at 3 mm, trained on coxa's synthetic spheres (8-20 mm) inserted into TotalSegmentator's example CT (models/infer/python/train_lesion_model.py; metrics in lesion_test_metrics.json)."
weights = "{weights}"
sha256 = "{sha}"
mirror_axes = [2]

[input]
name = "image"
modality = "CT"
channels = 1
patch_size_ijk = [128, 128, 1]
target_spacing_mm_ijk = [3.0, 3.0, 3.0]

[input.normalisation]
scheme = "ct"
percentile_00_5_hu = -250.0
percentile_99_5_hu = 1250.0
mean_hu = 100.0
std_hu = 200.0

[output]
name = "logits"
kind = "logits"
activation = "softmax"

[[output.classes]]
name = "background"
label = 0

[[output.classes]]
name = "lytic"
label = 1

[[output.classes]]
name = "blastic"
label = 2
"""


def main():
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(0)
    meta = json.loads((data / "meta.json").read_text())
    t0 = time.time()
    x, y = samples(data, meta, rng)
    print(f"{len(x)} crops ({int((y.reshape(len(y), -1).max(1) > 0).sum())} with lesion pixels)", flush=True)
    net = TinyUNet()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 4.0, 4.0]))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for epoch in range(EPOCHS):
        order = torch.from_numpy(rng.permutation(len(x)))
        total = 0.0
        for s in range(0, len(x), 32):
            idx = order[s : s + 32]
            xb, yb = xt[idx], yt[idx]
            flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            yb = torch.where(flip[:, None, None], yb.flip(-1), yb)
            opt.zero_grad()
            logits = net(xb)
            loss = loss_fn(logits, yb) + dice_loss(logits, yb)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        print(f"epoch {epoch + 1}: loss {total / len(x):.4f} ({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0
    net.eval()
    weights = out / "lesion_test.onnx"
    torch.onnx.export(
        Slices(net), torch.zeros(1, 1, 1, 128, 128), str(weights), input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "n"}, "logits": {0: "n"}}, opset_version=17, dynamo=False,
    )
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    (out / "lesion_test.toml").write_text(CARD.format(weights=weights.name, sha=sha))
    params = sum(p.numel() for p in net.parameters())
    (out / "lesion_test_training.json").write_text(json.dumps({
        "crops": len(x), "crop_px": CROP, "epochs": EPOCHS, "parameters": params, "training_s": round(train_s, 1),
        "torch": torch.__version__, "threads": 2, "final_loss": total / len(x),
    }, indent=2) + "\n")
    print(f"wrote {weights} ({weights.stat().st_size} bytes, {params} parameters), {train_s:.0f} s")


if __name__ == "__main__":
    main()

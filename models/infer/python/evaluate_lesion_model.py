"""Scores coxa's learned lesion TEST model on the held-out trials of `lesion_training_data` with
onnxruntime, as `coxa lesions --model CARD --labels SEG` runs it, and writes the metrics file.

    python evaluate_lesion_model.py DATA CARD OUT.json

What is computed (the research's definitions; coxa's path reproduced step by step):
- the model's input: HU clipped to the card's window and normalised; each axial slice padded with
  zeros to 128 x 128 (the lower side getting half the difference, as coxa's sliding window pads);
  the card's mirroring (left-right): the two members' logits averaged, then the softmax; lesion
  probability = 1 - p(background);
- the bone region: the label map's bones, each bone's holes filled per axial slice
  (`scipy.ndimage.binary_fill_holes`); lesions: 26-connected components of probability >= t
  within the region, of at least 0.05 ml;
- per slice: a slice holding lesion voxels (the truth: voxel centres within the inserted
  sphere) is found when a marked voxel of that slice overlaps the truth; a marked slice is a true
  positive when it holds a lesion's voxels. Sensitivity = found / lesion slices, PPV = true
  positive marked slices / marked slices, over every slice of every held-out CT;
- per lesion: an inserted lesion is found when a lesion's centre (probability-weighted) lies
  within its radius + 5 mm (the classical tests' rule); a marked lesion near no inserted one is a
  false positive. FROC: sensitivity against false positives per CT at several thresholds.
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import tomllib
from scipy import ndimage

THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
MIN_ML = 0.05
PATCH = 128


def probabilities(sess, card, hu):
    n = card["input"]["normalisation"]
    lo, hi, mean, std = n["percentile_00_5_hu"], n["percentile_99_5_hu"], n["mean_hu"], n["std_hu"]
    x = ((np.clip(hu, lo, hi) - mean) / std).astype(np.float32)
    nk, nj, ni = x.shape
    pj, pi = (PATCH - nj) // 2, (PATCH - ni) // 2
    pad = np.zeros((nk, 1, 1, PATCH, PATCH), np.float32)
    pad[:, 0, 0, pj : pj + nj, pi : pi + ni] = x
    logits = np.zeros((nk, 3, 1, PATCH, PATCH), np.float32)
    for flip in [False, True]:
        inp = pad[..., ::-1].copy() if flip else pad
        for s in range(0, nk, 16):
            y = sess.run(["logits"], {"image": inp[s : s + 16]})[0]
            logits[s : s + 16] += y[..., ::-1] if flip else y
    logits = logits[:, :, 0, pj : pj + nj, pi : pi + ni] / 2.0
    e = np.exp(logits - logits.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    return p.transpose(1, 0, 2, 3)  # [C, k, j, i]


def bone_region(bones):
    out = bones.copy()
    for k in range(bones.shape[0]):
        for l in np.unique(bones[k]):
            if l == 0:
                continue
            filled = ndimage.binary_fill_holes(bones[k] == l)
            out[k][filled & (out[k] == 0)] = l
    return out


def lesions(p_lesion, region, t, spacing):
    on = (p_lesion >= t) & (region != 0)
    lab, n = ndimage.label(on, structure=np.ones((3, 3, 3)))
    voxel_ml = float(np.prod(spacing)) / 1000.0
    out, keep = [], np.zeros_like(on)
    for c in range(1, n + 1):
        m = lab == c
        if m.sum() * voxel_ml < MIN_ML - 1e-12:
            continue
        keep |= m
        w = p_lesion[m].astype(np.float64)
        kk, jj, ii = np.nonzero(m)
        centre = np.array([(ii * w).sum(), (jj * w).sum(), (kk * w).sum()]) / w.sum()
        out.append(centre)
    return out, keep


def main():
    data, card_path, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    card = tomllib.loads(card_path.read_text())
    sess = ort.InferenceSession(str(card_path.parent / card["weights"]), providers=["CPUExecutionProvider"])
    meta = json.loads((data / "meta.json").read_text())
    shape = tuple(meta["shape_kji"])
    sp = np.array(meta["spacing_mm_ijk"])
    region = bone_region(np.fromfile(data / "bones.u16", dtype="<u2").reshape(shape))
    held = [t for t in meta["trials"] if t["split"] == "held"]
    acc = {t: {"found": 0, "lesions": 0, "fp": 0, "errors": [], "slices": 0, "slices_found": 0, "marked": 0, "marked_tp": 0} for t in THRESHOLDS}
    by_kind = {t: {} for t in THRESHOLDS}
    for trial in held:
        hu = np.fromfile(data / f"{trial['stem']}_ct.f32", dtype="<f4").reshape(shape)
        truth = np.fromfile(data / f"{trial['stem']}_truth.u16", dtype="<u2").reshape(shape)
        p = probabilities(sess, card, hu)
        pl = 1.0 - p[0]
        for t in THRESHOLDS:
            a = acc[t]
            centres, keep = lesions(pl, region, t, sp)
            used = [False] * len(centres)
            for n, l in enumerate(trial["lesions"]):
                c = np.array(l["centre_ijk"])
                d = [float(np.linalg.norm((x - c) * sp)) for x in centres]
                ok = [i for i, v in enumerate(d) if v <= l["diameter_mm"] / 2 + 5]
                a["lesions"] += 1
                k = by_kind[t].setdefault(f"{l['bone']}/{l['kind']}", [0, 0])
                k[1] += 1
                if ok:
                    a["found"] += 1
                    k[0] += 1
                    a["errors"].append(min(d[i] for i in ok))
                    for i in ok:
                        used[i] = True
            a["fp"] += used.count(False)
            lesion_slices = truth.reshape(shape[0], -1).max(1) > 0
            marked = keep.reshape(shape[0], -1).max(1)
            overlap = (keep & (truth > 0)).reshape(shape[0], -1).max(1)
            a["slices"] += int(lesion_slices.sum())
            a["slices_found"] += int((lesion_slices & overlap).sum())
            a["marked"] += int(marked.sum())
            a["marked_tp"] += int((marked & lesion_slices).sum())
        print(trial["stem"], flush=True)
    points = []
    for t in THRESHOLDS:
        a = acc[t]
        points.append({
            "threshold": t,
            "lesion_sensitivity": a["found"] / a["lesions"],
            "found": a["found"], "lesions": a["lesions"],
            "false_positives_per_ct": a["fp"] / len(held),
            "false_positives": a["fp"],
            "per_slice_sensitivity": a["slices_found"] / max(a["slices"], 1),
            "per_slice_ppv": a["marked_tp"] / max(a["marked"], 1),
            "lesion_slices": a["slices"], "marked_slices": a["marked"],
            "centre_error_mm_max": max(a["errors"], default=None),
            "centre_error_mm_mean": float(np.mean(a["errors"])) if a["errors"] else None,
            "found_by_bone_and_kind": {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_kind[t].items())},
        })
    doc = {
        "model": card["name"], "version": card["version"], "sha256": card["sha256"], "test_model": card["test_model"],
        "what": "TEST MODEL trained on lesions inserted into one CT; not for clinical use. Held-out: 24 trials (seeds 10001..10024) of the same CT, 2 lesions each in vertebrae_L3 and hip_right, bones that never held a training lesion.",
        "definitions": __doc__.split("What is computed")[1].strip(),
        "held_out_cts": len(held),
        "froc": points,
    }
    out.write_text(json.dumps(doc, indent=2) + "\n")
    for q in points:
        print(f"t={q['threshold']}: lesions {q['found']}/{q['lesions']} ({q['lesion_sensitivity']:.2f}), FP/CT {q['false_positives_per_ct']:.2f}, "
              f"per-slice sens {q['per_slice_sensitivity']:.2f} PPV {q['per_slice_ppv']:.2f}, centre err max {q['centre_error_mm_max']}")


if __name__ == "__main__":
    main()

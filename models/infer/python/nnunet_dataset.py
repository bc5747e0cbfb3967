#!/usr/bin/env python3
"""Turn labelled CTs into an nnU-Net v2 raw dataset, the first step of training a model coxa runs.

Not needed at run time: coxa runs the trained model from its ONNX export (nnunet_export.py) on
ONNX Runtime. This script and nnU-Net need python with SimpleITK and numpy (and nnunetv2 with
torch for the later steps); docs/TRAINING.md walks through the whole recipe:

  1. nnunet_dataset.py CASES_DIR $nnUNet_raw --id 501 --name HipMuscles   (this script)
  2. nnUNetv2_plan_and_preprocess -d 501 -c 3d_fullres --verify_dataset_integrity
  3. nnUNetv2_train 501 3d_fullres 0      (and folds 1-4 for an ensemble), -device cpu without a GPU
  4. nnunet_export.py $nnUNet_results/Dataset501_HipMuscles/nnUNetTrainer__nnUNetPlans__3d_fullres OUT
  5. coxa anatomy --ct ct.nii.gz --model OUT/card.toml --out case/

usage:
  nnunet_dataset.py CASES_DIR RAW_DIR --id N --name NAME [--label-names TABLE.json]
                    [--classes NAME ...] [--all-classes]

CASES_DIR holds one folder per case (coxa's case-folder layout, as `coxa run`'s `cases_dir`
reads it): CASE/ct.nii.gz (or ct.nii) and CASE/labels.nii.gz on the CT's grid, e.g. a label map
made with TotalSegmentator and corrected by hand, or coxa's own anatomy/labels.nii.gz.

The label ids are coxa's (TotalSegmentator's ids: sacrum 25, femur 75/76, hip 77/78, gluteus
maximus 80/81, medius 82/83, minimus 84/85, iliopsoas 88/89), or any ids named by --label-names
(a JSON class table, {"1": "femur_left", ...}, the form `coxa anatomy --label-names` reads). By
default the dataset keeps coxa's 13 classes that occur in the cases (--classes to choose, or
--all-classes to keep every named class), numbered 1..n in coxa's order, and sets every other
voxel to background. dataset.json names the classes with coxa's names, so the card
nnunet_export.py writes maps them to coxa's classes by name with no editing.

RAW_DIR/DatasetNNN_NAME/ gets imagesTr/CASE_0000.nii.gz (the CT, unchanged), labelsTr/CASE.nii.gz
(uint8, the CT's geometry) and dataset.json (channel CT, so nnU-Net uses its CT normalisation).
An existing dataset folder is never overwritten.
"""
import argparse
import json
import os
import re
import sys

# coxa's classes (coxa_core::labels::COXA_CLASSES): TotalSegmentator's ids and names.
COXA_CLASSES = [
    (25, "sacrum"),
    (75, "femur_left"),
    (76, "femur_right"),
    (77, "hip_left"),
    (78, "hip_right"),
    (80, "gluteus_maximus_left"),
    (81, "gluteus_maximus_right"),
    (82, "gluteus_medius_left"),
    (83, "gluteus_medius_right"),
    (84, "gluteus_minimus_left"),
    (85, "gluteus_minimus_right"),
    (88, "iliopsoas_left"),
    (89, "iliopsoas_right"),
]


def fail(msg):
    sys.exit(f"error: {msg}")


def find_cases(cases_dir):
    cases = []
    for name in sorted(os.listdir(cases_dir)):
        d = os.path.join(cases_dir, name)
        if not os.path.isdir(d):
            continue
        ct = next((os.path.join(d, f) for f in ("ct.nii.gz", "ct.nii") if os.path.exists(os.path.join(d, f))), None)
        labels = os.path.join(d, "labels.nii.gz")
        if ct is None or not os.path.exists(labels):
            print(f"note: {d} skipped (needs ct.nii.gz or ct.nii and labels.nii.gz)", file=sys.stderr)
            continue
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            fail(f"case folder {name!r}: use letters, digits, '-', '_' and '.' (nnU-Net names files after it)")
        cases.append((name, ct, labels))
    if not cases:
        fail(f"{cases_dir} holds no case folder with ct.nii.gz and labels.nii.gz")
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases")
    ap.add_argument("raw")
    ap.add_argument("--id", type=int, required=True, help="nnU-Net dataset id, 1..999 (e.g. 501)")
    ap.add_argument("--name", required=True, help="dataset name (letters, digits), e.g. HipMuscles")
    ap.add_argument("--label-names", help="class table JSON when the ids are not coxa's / TotalSegmentator's")
    ap.add_argument("--classes", nargs="+", help="keep these class names (default: coxa's classes present)")
    ap.add_argument("--all-classes", action="store_true", help="keep every named class present")
    a = ap.parse_args()
    import numpy as np
    import SimpleITK as sitk

    if not 1 <= a.id <= 999:
        fail(f"--id {a.id}: nnU-Net dataset ids are 1..999")
    if not re.fullmatch(r"[A-Za-z0-9]+", a.name):
        fail(f"--name {a.name!r}: letters and digits only")
    if a.label_names:
        with open(a.label_names) as f:
            table = json.load(f)
        if isinstance(table, list):
            table = {str(e["id"]): e["name"] for e in table}
        names = {int(k): v for k, v in table.items()}
    else:
        names = dict(COXA_CLASSES)
    cases = find_cases(a.cases)

    # Which ids occur, and the label maps' geometry against their CTs.
    present = set()
    for name, ct, labels in cases:
        img, lab = sitk.ReadImage(ct), sitk.ReadImage(labels)
        if img.GetSize() != lab.GetSize() or not np.allclose(img.GetSpacing(), lab.GetSpacing(), atol=1e-3) or not np.allclose(img.GetOrigin(), lab.GetOrigin(), atol=1e-2) \
                or not np.allclose(img.GetDirection(), lab.GetDirection(), atol=1e-4):
            fail(f"case {name}: labels.nii.gz is not on the CT's grid (size, spacing, origin or direction differ); resample it onto the CT first")
        ids = set(np.unique(sitk.GetArrayViewFromImage(lab)).tolist()) - {0}
        unnamed = sorted(i for i in ids if i not in names)
        if unnamed and a.label_names:
            fail(f"case {name}: ids {unnamed} are not in {a.label_names}; give the full table")
        present |= ids
    coxa_order = {n: k for k, (_, n) in enumerate(COXA_CLASSES)}
    if a.classes:
        wanted = list(a.classes)
        by_name = {v: k for k, v in names.items()}
        missing = [c for c in wanted if c not in by_name]
        if missing:
            fail(f"--classes {missing}: not named by the class table ({sorted(names.values())})")
        keep = [(by_name[c], c) for c in wanted]
    else:
        keep = [(i, names[i]) for i in present if i in names and (a.all_classes or names[i] in coxa_order)]
        keep.sort(key=lambda t: (coxa_order.get(t[1], len(coxa_order)), t[1]))
    if not keep:
        fail("no class to train: the label maps hold none of coxa's classes (give --label-names, --classes or --all-classes)")
    if len(keep) > 254:
        fail(f"{len(keep)} classes: at most 254 (uint8 labels)")

    out = os.path.join(a.raw, f"Dataset{a.id:03d}_{a.name}")
    if os.path.exists(out):
        fail(f"{out} already exists; choose another --id or remove it")
    clash = [d for d in (os.listdir(a.raw) if os.path.isdir(a.raw) else []) if d.startswith(f"Dataset{a.id:03d}_")]
    if clash:
        fail(f"dataset id {a.id} is already used by {clash[0]} in {a.raw}; choose another --id")
    os.makedirs(os.path.join(out, "imagesTr"))
    os.makedirs(os.path.join(out, "labelsTr"))
    lut = np.zeros(65536, dtype=np.uint8)
    for n, (src, _) in enumerate(keep, start=1):
        lut[src] = n
    for name, ct, labels in cases:
        img = sitk.ReadImage(ct)
        sitk.WriteImage(img, os.path.join(out, "imagesTr", f"{name}_0000.nii.gz"), useCompression=True)
        lab = sitk.ReadImage(labels)
        arr = sitk.GetArrayFromImage(lab).astype(np.int64)
        new = sitk.GetImageFromArray(lut[arr])
        new.CopyInformation(img)
        sitk.WriteImage(new, os.path.join(out, "labelsTr", f"{name}.nii.gz"), useCompression=True)
    dataset = {
        "channel_names": {"0": "CT"},
        "labels": {"background": 0, **{c: n for n, (_, c) in enumerate(keep, start=1)}},
        "numTraining": len(cases),
        "file_ending": ".nii.gz",
        "description": "written by coxa's models/infer/python/nnunet_dataset.py; class names are coxa's (TotalSegmentator's)",
    }
    with open(os.path.join(out, "dataset.json"), "w") as f:
        json.dump(dataset, f, indent=2)
    print(f"wrote {out}: {len(cases)} cases, classes {', '.join(c for _, c in keep)}")
    print(f"next: nnUNetv2_plan_and_preprocess -d {a.id} -c 3d_fullres --verify_dataset_integrity")


if __name__ == "__main__":
    main()

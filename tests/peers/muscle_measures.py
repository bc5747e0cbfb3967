"""Muscle measures computed independently with nibabel + numpy, for the side-by-side test:
per hip-muscle label of a TotalSegmentator label map on the CT's grid, voxel count, volume
(cm3), mean HU and the fat fraction (-190..-30 HU).

usage: muscle_measures.py CT.nii.gz LABELS.nii.gz labels_total_v2.json -> JSON {name: {...}}
"""
import json
import sys

import nibabel as nib
import numpy as np

ct = nib.load(sys.argv[1])
hu = np.asarray(ct.get_fdata(dtype=np.float64))
lab = np.asarray(nib.load(sys.argv[2]).dataobj).astype(np.int64)
names = {int(k): v for k, v in json.load(open(sys.argv[3])).items()}
voxel = float(np.prod(ct.header.get_zooms()[:3]))
out = {}
for k, name in names.items():
    if not any(name.startswith(m) for m in ("gluteus_maximus", "gluteus_medius", "gluteus_minimus", "iliopsoas")):
        continue
    v = hu[lab == k].astype(np.float32)
    if v.size == 0:
        continue
    out[name] = {
        "n_voxels": int(v.size),
        "volume_cm3": v.size * voxel / 1000.0,
        "mean_hu": float(v.astype(np.float64).mean()),
        "fat_fraction": float(((v >= -190) & (v <= -30)).mean()),
    }
print(json.dumps(out))

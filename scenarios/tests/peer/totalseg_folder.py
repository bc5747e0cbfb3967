"""Writes a label map as TotalSegmentator's default output: one uint8 NIfTI mask per class,
named by the class, through nibabel (as TotalSegmentator writes them), in a new folder.

    totalseg_folder.py LABELS.nii.gz OUT_DIR NAMES_JSON

NAMES_JSON maps ids to class names ({"75": "femur_left", ...}); an id it does not name is
written as label_<id>. Prints the number of masks written.
"""

import json
import os
import sys

import nibabel as nib
import numpy as np


def main() -> None:
    labels, out, names = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    img = nib.load(labels)
    a = np.asanyarray(img.dataobj)
    os.makedirs(out)
    ids = [int(i) for i in np.unique(a) if i != 0]
    for i in ids:
        mask = nib.Nifti1Image((a == i).astype(np.uint8), img.affine, img.header)
        mask.set_data_dtype(np.uint8)
        nib.save(mask, os.path.join(out, names.get(str(i), f"label_{i}") + ".nii.gz"))
    print(len(ids))


if __name__ == "__main__":
    main()

"""Writes a label map as a DICOM SEG of its CT series, as PACS and AI products hand it over:
highdicom's Segmentation, one segment per class present, labelled by the class's name.

usage: seg_from_labels.py CT_DIR LABELS_NII OUT_SEG TYPE NAMES_JSON
CT_DIR: the classic CT series the label map lies on (one file a slice); LABELS_NII: the label
map (NIfTI, on that series' grid); TYPE: binary, fractional or labelmap (SegmentationType);
NAMES_JSON: {"id": "name"} for the classes to name (any other id is named label_<id>).
Prints the number of segments.
"""
import json
import os
import sys

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
from pydicom.sr.codedict import codes

ct_dir, labels_path, out, kind, names = sys.argv[1:6]
names = json.loads(names)
sources = [pydicom.dcmread(os.path.join(ct_dir, f)) for f in sorted(os.listdir(ct_dir))]
img = nib.load(labels_path)
labels = np.asarray(img.dataobj).astype(np.int32)
inv = np.linalg.inv(img.affine)
# Each source slice's plane in the label map: its position (LPS) to RAS to a voxel index.
planes = []
for ds in sources:
    x, y, z = (float(v) for v in ds.ImagePositionPatient)
    i, j, k = np.rint(inv @ np.array([-x, -y, z, 1.0]))[:3].astype(int)
    assert i == 0 and j == 0, (i, j)
    planes.append(labels[:, :, k].T)  # rows are j, columns i
stack = np.stack(planes)
ids = [int(v) for v in np.unique(stack) if v != 0]
descriptions = [
    hd.seg.SegmentDescription(
        segment_number=n + 1,
        segment_label=names.get(str(v), f"label_{v}"),
        segmented_property_category=codes.SCT.Tissue,
        segmented_property_type=codes.SCT.Tissue,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
    )
    for n, v in enumerate(ids)
]
if kind == "labelmap":
    pixels = np.zeros(stack.shape, np.uint16)
    for n, v in enumerate(ids):
        pixels[stack == v] = n + 1
    seg_type = hd.seg.SegmentationTypeValues.LABELMAP
else:
    pixels = np.stack([stack == v for v in ids], axis=-1)
    seg_type = hd.seg.SegmentationTypeValues.BINARY if kind == "binary" else hd.seg.SegmentationTypeValues.FRACTIONAL
    if kind == "fractional":
        pixels = pixels.astype(np.float32)
seg = hd.seg.Segmentation(
    source_images=sources,
    pixel_array=pixels,
    segmentation_type=seg_type,
    segment_descriptions=descriptions,
    series_instance_uid=hd.UID(),
    series_number=300,
    sop_instance_uid=hd.UID(),
    instance_number=1,
    manufacturer="coxa tests",
    manufacturer_model_name="seg_from_labels.py",
    software_versions=hd.__version__,
    device_serial_number="0",
)
seg.save_as(out)
print(len(ids))

"""Reads an image with SimpleITK the way a user would, prints its geometry as JSON on stdout and
writes its voxels as raw little-endian float64 in numpy [k, j, i] order to the file given by --raw.

usage: sitk_dump.py PATH [--raw OUT.f64] [--series]
PATH is a NIfTI file, a single DICOM file, or (with --series) a DICOM folder read with
ImageSeriesReader over GetGDCMSeriesFileNames (the first series GDCM finds).
"""
import argparse
import json
import sys

import numpy as np
import SimpleITK as sitk

ap = argparse.ArgumentParser()
ap.add_argument("path")
ap.add_argument("--raw")
ap.add_argument("--series", action="store_true")
a = ap.parse_args()

if a.series:
    reader = sitk.ImageSeriesReader()
    ids = reader.GetGDCMSeriesIDs(a.path)
    files = reader.GetGDCMSeriesFileNames(a.path, ids[0] if ids else "")
    if not files:
        sys.exit(f"no DICOM series in {a.path}")
    reader.SetFileNames(files)
    img = reader.Execute()
    n_files = len(files)
else:
    img = sitk.ReadImage(a.path)
    n_files = 1

arr = sitk.GetArrayFromImage(img).astype(np.float64)
if a.raw:
    np.ascontiguousarray(arr).astype("<f8").tofile(a.raw)
print(json.dumps({
    "size": list(img.GetSize()),
    "spacing_mm": list(img.GetSpacing()),
    "origin_lps_mm": list(img.GetOrigin()),
    "direction": list(img.GetDirection()),
    "pixel_type": img.GetPixelIDTypeAsString(),
    "hu_min": float(arr.min()),
    "hu_max": float(arr.max()),
    "hu_sum": float(arr.sum()),
    "n_files": n_files,
}))

#!/usr/bin/env python3
"""Computes pyradiomics' features for coxa-diagnostics' side-by-side test and writes them as a fixture.

Peer: pyradiomics-bhklab==3.1.4 with PyWavelets 1.8.0 and SimpleITK 2.5.7
(scripts/requirements-peers.txt). Run from the repository root:

    .venv/bin/python models/diagnostics/tests/peer/pyradiomics_features.py \
        models/diagnostics/tests/fixtures/pyradiomics_features.json \
        models/diagnostics/tests/fixtures/pyradiomics_filtered.json

The first file holds the original-image cases, the second the filtered image types (LoG and
wavelet, with pyradiomics' defaults and a few variations: an integer sigma, odd image sizes,
another wavelet, two levels, an image type's own binWidth, resampling).

Inputs (relative to the repository root): ../shared/data/pyradiomics (pyradiomics' own test images)
and the real CT ../shared/data/totalseg/example_ct.nii.gz with TotalSegmentator's labels. Each case
is an image, a mask, a label and a pyradiomics parameter dictionary; the fixture keeps the case
definition with every feature pyradiomics computed (diagnostics_* entries left out) in its order,
or the error pyradiomics raised.
"""

import json
import sys
import time

import pywt
import radiomics
import SimpleITK as sitk
from radiomics import featureextractor

PYRAD = "../shared/data/pyradiomics/"
TS = "../shared/data/totalseg/"
CT = TS + "example_ct.nii.gz"
SEG = TS + "example_seg_fast_force_split.nii.gz"

ORIGINAL = {"imageType": {"Original": {}}}


def params(**setting):
    p = dict(ORIGINAL)
    p["setting"] = setting
    return p


CASES = [
    # pyradiomics' test images, default settings
    ("brain1", PYRAD + "brain1_image.nrrd", PYRAD + "brain1_label.nrrd", 1, params()),
    ("breast1", PYRAD + "breast1_image.nrrd", PYRAD + "breast1_label.nrrd", 1, params()),
    ("prostate_1", PYRAD + "prostate_phantom_subvolume.nrrd", PYRAD + "prostate_phantom_subvolume-label.nrrd", 1, params()),
    ("brain1_bincount", PYRAD + "brain1_image.nrrd", PYRAD + "brain1_label.nrrd", 1, params(binCount=16)),
    ("breast1_reseg", PYRAD + "breast1_image.nrrd", PYRAD + "breast1_label.nrrd", 1, params(resegmentRange=[100, 600])),
    # the real CT, TotalSegmentator labels (labels_total_v2)
    ("ct_hip_left", CT, SEG, 77, params()),
    ("ct_femur_left", CT, SEG, 75, params()),
    ("ct_gluteus_medius_left", CT, SEG, 82, params()),
    ("ct_iliopsoas_left", CT, SEG, 88, params()),
    ("ct_hip_left_bincount", CT, SEG, 77, params(binCount=32)),
    ("ct_hip_left_reseg", CT, SEG, 77, params(resegmentRange=[-200, 2000], binWidth=10)),
    ("ct_gluteus_medius_left_resampled_nn", CT, SEG, 82, params(resampledPixelSpacing=[2, 2, 2], interpolator="sitkNearestNeighbor")),
    ("ct_gluteus_medius_left_resampled_bspline", CT, SEG, 82, params(resampledPixelSpacing=[2, 2, 2])),
    # errors: a label absent, a tiny ROI
    ("ct_label_absent", CT, SEG, 90, params()),
    ("ct_min_size", CT, SEG, 33, params(minimumROISize=100)),
]


def filtered(types, **setting):
    return {"imageType": types, "setting": setting}


LOG_WAVELET = {"Original": {}, "LoG": {"sigma": [1.0, 3.0]}, "Wavelet": {}}
FILTERED_CASES = [
    # pyradiomics' test images (breast1 has odd sizes in x and z: the wavelet's wrap padding)
    ("brain1_log_wavelet", PYRAD + "brain1_image.nrrd", PYRAD + "brain1_label.nrrd", 1, filtered(LOG_WAVELET)),
    ("breast1_log_wavelet", PYRAD + "breast1_image.nrrd", PYRAD + "breast1_label.nrrd", 1, filtered({"LoG": {"sigma": [0.5, 2]}, "Wavelet": {}})),
    ("prostate_1_wavelet_haar_2_levels", PYRAD + "prostate_phantom_subvolume.nrrd", PYRAD + "prostate_phantom_subvolume-label.nrrd", 1,
     filtered({"Wavelet": {"wavelet": "haar", "level": 2}, "Original": {}})),
    # the real CT (3 mm voxels), TotalSegmentator labels
    ("ct_hip_left_log_wavelet", CT, SEG, 77, filtered({"Original": {}, "LoG": {"sigma": [3, 5.0]}, "Wavelet": {}})),
    ("ct_gluteus_medius_left_log_wavelet", CT, SEG, 82, filtered({"LoG": {"sigma": [2.0, 4.0], "binWidth": 5}, "Wavelet": {"binWidth": 10}})),
    ("ct_iliopsoas_left_wavelet_start_level", CT, SEG, 88, filtered({"Wavelet": {"start_level": 1}})),
    ("ct_femur_left_resampled_log_wavelet", CT, SEG, 75, filtered({"LoG": {"sigma": [2.0]}, "Wavelet": {}}, resampledPixelSpacing=[2.5, 2.5, 2.5])),
    ("ct_hip_left_reseg_log", CT, SEG, 77, filtered({"LoG": {"sigma": [3.0]}}, resegmentRange=[-200, 2000], binWidth=10)),
]


def main(out, out_filtered):
    run(CASES, out)
    run(FILTERED_CASES, out_filtered)


def run(case_list, out):
    cases = []
    for name, image, mask, label, p in case_list:
        p = json.loads(json.dumps(p))
        p.setdefault("setting", {})["label"] = label
        ext = featureextractor.RadiomicsFeatureExtractor(p)
        t0 = time.perf_counter()
        try:
            result = ext.execute(image, mask)
            features = [[k, float(v)] for k, v in result.items() if not k.startswith("diagnostics_")]
            error = None
        except Exception as e:  # noqa: BLE001 - the fixture records pyradiomics' refusal
            features, error = [], f"{type(e).__name__}: {e}"
        dt = time.perf_counter() - t0
        cases.append({"name": name, "image": image, "mask": mask, "label": label, "params": p,
                      "features": features, "error": error, "seconds": dt})
        print(f"{name}: {len(features)} features {error or ''} {dt:.2f} s", file=sys.stderr)
    doc = {"peer": f"pyradiomics-bhklab {radiomics.__version__}, PyWavelets {pywt.__version__}, SimpleITK {sitk.Version_VersionString()}", "cases": cases}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""Prints coxa's read times (criterion medians) beside SimpleITK's on the same files.

usage: .venv/bin/python benches/compare_simpleitk.py
Run `cargo bench -p coxa-benches --bench volume_io` first: it writes target/criterion/ and the
generated 300-slice series in target/bench-data/. SimpleITK is timed here the way a user calls
it (series discovery included: GetGDCMSeriesFileNames + ImageSeriesReader; ReadImage for NIfTI),
median of 7 runs after one warm-up, with its default threading on this machine.
"""
import glob
import json
import os
import statistics
import sys
import time

import SimpleITK as sitk

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shared = os.path.join(root, "..", "shared", "data")


def sitk_series(folder):
    r = sitk.ImageSeriesReader()
    r.SetFileNames(r.GetGDCMSeriesFileNames(folder))
    return r.Execute()


cases = [
    ("dicom_jpeg2000_20x512x512", lambda: sitk_series(os.path.join(shared, "totalseg_dicom_uidfixed"))),
    ("dicom_uncompressed_300x512x512", lambda: sitk_series(os.path.join(root, "target", "bench-data", "uncompressed_300"))),
    ("nifti_gz_122x101x112", lambda: sitk.ReadImage(os.path.join(shared, "totalseg", "example_ct.nii.gz"))),
    ("nifti_gz_512x512x300", lambda: sitk.ReadImage(os.path.join(root, "target", "bench-data", "phantom_300.nii.gz"))),
    ("nifti_512x512x300", lambda: sitk.ReadImage(os.path.join(root, "target", "bench-data", "phantom_300.nii"))),
]

print(f"{'case':34} {'coxa ms':>10} {'SimpleITK ms':>13} {'coxa/SimpleITK':>15}")
for name, run in cases:
    est = glob.glob(os.path.join(root, "target", "criterion", "read", f"*{name}", "new", "estimates.json"))
    if not est:
        print(f"{name:34} (no criterion result; run cargo bench first)")
        continue
    coxa_ms = json.load(open(est[0]))["median"]["point_estimate"] / 1e6
    run()
    times = []
    for _ in range(7):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    sitk_ms = statistics.median(times) * 1e3
    print(f"{name:34} {coxa_ms:10.1f} {sitk_ms:13.1f} {coxa_ms / sitk_ms:15.2f}")
sys.exit(0)

#!/usr/bin/env python3
"""pyradiomics-bhklab 3.1.4 on the inputs of benches/benches/radiomics.rs, for the speed ratio.

Run from the repository root: `.venv/bin/python benches/compare_pyradiomics.py [--make-1mm]`.
Prints the median wall time of all default features (107, original image, binWidth 25) of
hip_left (77) and gluteus_medius_left (82) on the real CT (3 mm voxels), of the LoG (sigma 1,
3 mm) and wavelet image types of hip_left, and of the default features on the CT resampled to
1 mm, with the image and mask loaded once (as in the Rust benchmark), and the peak resident
memory of each part (each runs in its own process). `--make-1mm` first writes the 1 mm CT
(SimpleITK B-spline, integers kept) and labels (nearest neighbour) into target/bench-data/,
which the Rust benchmark reads too. Compare with `cargo bench -p coxa-benches --bench radiomics`.
"""

import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time

import SimpleITK as sitk
from radiomics import featureextractor

logging.getLogger("radiomics").setLevel(logging.ERROR)

CT = "../shared/data/totalseg/example_ct.nii.gz"
SEG = "../shared/data/totalseg/example_seg_fast_force_split.nii.gz"
DATA = "target/bench-data"
CT1 = DATA + "/ct_1mm.nii.gz"
SEG1 = DATA + "/seg_1mm.nii.gz"

PARTS = {
    "default_features_hip_left": (CT, SEG, {"setting": {"label": 77}}, 10),
    "default_features_gluteus_medius_left": (CT, SEG, {"setting": {"label": 82}}, 10),
    "log_wavelet_features_hip_left": (CT, SEG, {"imageType": {"LoG": {"sigma": [1.0, 3.0]}, "Wavelet": {}}, "setting": {"label": 77}}, 3),
    "default_features_hip_left_1mm": (CT1, SEG1, {"setting": {"label": 77}}, 3),
    "default_features_gluteus_medius_left_1mm": (CT1, SEG1, {"setting": {"label": 82}}, 3),
}


def make_1mm():
    os.makedirs(DATA, exist_ok=True)
    ct = sitk.ReadImage(CT)
    seg = sitk.ReadImage(SEG)
    size = [int(round(n * s)) for n, s in zip(ct.GetSize(), ct.GetSpacing())]
    args = dict(size=size, outputOrigin=ct.GetOrigin(), outputSpacing=(1.0, 1.0, 1.0), outputDirection=ct.GetDirection())
    sitk.WriteImage(sitk.Resample(ct, interpolator=sitk.sitkBSpline, outputPixelType=ct.GetPixelID(), **args), CT1)
    sitk.WriteImage(sitk.Resample(seg, interpolator=sitk.sitkNearestNeighbor, outputPixelType=seg.GetPixelID(), **args), SEG1)
    print(f"wrote {CT1} and {SEG1}: {size} voxels of 1 mm")


def run(name):
    image_path, mask_path, params, reps = PARTS[name]
    image = sitk.ReadImage(image_path)
    mask = sitk.ReadImage(mask_path)
    ext = featureextractor.RadiomicsFeatureExtractor(params)
    ext.execute(image, mask)  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        n = len([k for k in ext.execute(image, mask) if not k.startswith("diagnostics_")])
        times.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"name": name, "features": n, "median_ms": statistics.median(times) * 1e3, "reps": reps, "peak_rss_mib": rss}))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--part":
        run(sys.argv[2])
        return
    if "--make-1mm" in sys.argv and not os.path.exists(CT1):
        make_1mm()
    for name, (image_path, *_rest) in PARTS.items():
        if not os.path.exists(image_path):
            print(f"{name}: {image_path} missing (run with --make-1mm): skipped")
            continue
        out = subprocess.run([sys.executable, __file__, "--part", name], capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"pyradiomics {r['name']}: {r['features']} features, median {r['median_ms']:.1f} ms of {r['reps']}, peak RSS {r['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""pyradiomics-bhklab 3.1.4 on the inputs of benches/benches/radiomics.rs, for the speed ratio.

Run from the repository root: `.venv/bin/python benches/compare_pyradiomics.py`. Prints the
median wall time of all default features (107, original image, binWidth 25) of hip_left (77) and
gluteus_medius_left (82) on the real CT, with the image and mask loaded once (as in the Rust
benchmark), and the process' peak resident memory. Compare with
`cargo bench -p coxa-benches --bench radiomics`.
"""

import logging
import resource
import statistics
import time

import SimpleITK as sitk
from radiomics import featureextractor

logging.getLogger("radiomics").setLevel(logging.ERROR)

CT = "../shared/data/totalseg/example_ct.nii.gz"
SEG = "../shared/data/totalseg/example_seg_fast_force_split.nii.gz"

image = sitk.ReadImage(CT)
mask = sitk.ReadImage(SEG)
for name, label in [("hip_left", 77), ("gluteus_medius_left", 82)]:
    ext = featureextractor.RadiomicsFeatureExtractor(label=label)
    ext.execute(image, mask)  # warm-up
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        n = len([k for k in ext.execute(image, mask) if not k.startswith("diagnostics_")])
        times.append(time.perf_counter() - t0)
    print(f"pyradiomics default_features_{name}: {n} features, median {statistics.median(times) * 1e3:.1f} ms")
print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

"""A full-length, anatomy-filled CT from the real CT (issue 42, item 5): the real CT
(../shared/data/totalseg/example_ct.nii.gz, 122 x 101 x 112 voxels of 3 mm) resampled by
SimpleITK (linear interpolation) onto a finer grid over the same box, so that every slice holds
anatomy (not air padding). The default, 512 x 512 x 1000 voxels, gives 0.715 x 0.592 x 0.336 mm:
a planning CT's in-plane size and 0.34 mm slices, 1000 of them.

usage: .venv/bin/python benches/make_full_length_ct.py OUT.nii[.gz] [--size NI NJ NK]

The box is kept: the outer faces of the first and last voxels stay where the real CT's are, so
the new voxel centres sit half a new voxel inside them (origin moved along each axis's
direction by (new spacing - old spacing) / 2). HU stay int16 (-1024 outside). The file is a
temporary input for the benchmark and the `#[ignore]`d full-size test (docs/TESTING.md); never
commit it.
"""
import argparse
import os

import numpy as np
import SimpleITK as sitk

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
source = os.path.join(root, "..", "shared", "data", "totalseg", "example_ct.nii.gz")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, nargs=3, default=[512, 512, 1000], metavar=("NI", "NJ", "NK"))
    args = ap.parse_args()
    ct = sitk.ReadImage(source)
    old_size = np.array(ct.GetSize(), dtype=float)
    old_spacing = np.array(ct.GetSpacing())
    size = np.array(args.size, dtype=float)
    spacing = old_size * old_spacing / size
    direction = np.array(ct.GetDirection()).reshape(3, 3)
    origin = np.array(ct.GetOrigin()) + direction @ ((spacing - old_spacing) / 2.0)
    ref = sitk.Image([int(n) for n in args.size], sitk.sitkInt16)
    ref.SetSpacing(spacing.tolist())
    ref.SetOrigin(origin.tolist())
    ref.SetDirection(ct.GetDirection())
    out = sitk.Resample(ct, ref, sitk.Transform(), sitk.sitkLinear, -1024.0, sitk.sitkInt16)
    sitk.WriteImage(out, args.out, useCompression=args.out.endswith(".gz"))
    print(f"{args.out}: {args.size[0]} x {args.size[1]} x {args.size[2]} voxels of "
          f"{spacing[0]:.4f} x {spacing[1]:.4f} x {spacing[2]:.4f} mm")


if __name__ == "__main__":
    main()

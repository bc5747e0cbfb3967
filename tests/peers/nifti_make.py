"""Writes NIfTI-1 files with nibabel whose qform/sform combinations exercise ITK's orientation rules,
for tests/tests/nifti.rs: coxa must read each with the geometry and voxels SimpleITK 2.5 gives.

usage: nifti_make.py OUTDIR [--ct example_ct.nii.gz]
Prints a JSON list of {"name": file name, "what": description} on stdout.
With --ct, also writes copies of that CT with oblique qform/sform headers (voxels unchanged).
"""
import argparse
import json
import os
import struct

import nibabel as nib
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("outdir")
ap.add_argument("--ct")
a = ap.parse_args()
os.makedirs(a.outdir, exist_ok=True)
made = []


def rot(x, y, z):
    """Rotation matrix Rz(z) Ry(y) Rx(x)."""
    cx, sx, cy, sy, cz, sz = np.cos(x), np.sin(x), np.cos(y), np.sin(y), np.cos(z), np.sin(z)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def affine(r, spacing, offset):
    m = np.eye(4)
    m[:3, :3] = r @ np.diag(spacing)
    m[:3, 3] = offset
    return m


SP = [0.75, 0.9765625, 2.5]
A1 = affine(rot(0.3, -0.2, 1.1), SP, [10.5, -20.25, 30.125])
A2 = affine(rot(0.1, 0.5, -0.4), SP, [-15.0, 25.5, -35.75])
rng = np.random.default_rng(20240607)
SMALL = rng.integers(-1024, 3000, size=(9, 7, 5)).astype(np.int16)  # x, y, z


def save(name, what, data, qform=None, qcode=0, sform=None, scode=0, zooms=None, dtype=None, post=None, header=None):
    img = nib.Nifti1Image(data, None, header=header)
    h = img.header
    if dtype is not None:
        h.set_data_dtype(dtype)
    if qform is not None:
        h.set_qform(qform, code=qcode)
    else:
        h["qform_code"] = qcode
    if sform is not None:
        h.set_sform(sform, code=scode)
    else:
        h["sform_code"] = scode
    if zooms is None and qform is None and sform is not None:
        zooms = np.linalg.norm(sform[:3, :3], axis=0)  # pixdim as a careful writer sets it
    if zooms is not None:
        h.set_zooms(list(zooms) + [1.0] * (len(h.get_zooms()) - 3))
    path = os.path.join(a.outdir, name)
    nib.save(img, path)
    if post is not None:
        post(path)
    made.append({"name": name, "what": what})


def patch(fmt, offset, *values):
    """Overwrites header bytes of an uncompressed little-endian .nii after nibabel wrote it."""

    def run(path):
        b = bytearray(open(path, "rb").read())
        struct.pack_into(fmt, b, offset, *values)
        open(path, "wb").write(b)

    return run


save("qform_only.nii.gz", "oblique qform, qform_code 1, no sform", SMALL, qform=A1, qcode=1)
save("sform_only_aligned.nii.gz", "oblique sform, sform_code 2, no qform", SMALL, sform=A2, scode=2)
save("sform_only_scanner.nii", "oblique sform, sform_code 1, no qform", SMALL, sform=A2, scode=1)
save("disagree_q1_s1.nii.gz", "qform and sform differ, codes 1/1 (ITK: sform)", SMALL, qform=A1, qcode=1, sform=A2, scode=1)
save("disagree_q1_s2.nii.gz", "qform and sform differ, codes 1/2 (ITK: qform)", SMALL, qform=A1, qcode=1, sform=A2, scode=2)
save("disagree_q2_s2.nii", "qform and sform differ, codes 2/2 (ITK: qform)", SMALL, qform=A1, qcode=2, sform=A2, scode=2)
save("disagree_q2_s1.nii", "qform and sform differ, codes 2/1 (ITK: sform)", SMALL, qform=A1, qcode=2, sform=A2, scode=1)
save("agree_q1_s2.nii.gz", "the same affine in both, codes 1/2", SMALL, qform=A1, qcode=1, sform=A1, scode=2)
sheared = A2.copy()
sheared[0, 1] += 0.3
save("sheared_sform_with_qform.nii", "sheared sform (code 1) and an oblique qform (ITK: qform)", SMALL, qform=A1, qcode=1, sform=sheared, scode=1)
left = A1.copy()
left[:3, 2] *= -1
save("qform_left_handed.nii", "left-handed qform (qfac -1)", SMALL, qform=left, qcode=1)
save("sform_left_handed.nii", "left-handed sform, no qform", SMALL, sform=left, scode=1)
scaled = A2.copy()
scaled[:3, 0] *= 1.5
save("sform_scale_not_pixdim.nii", "sform column lengths differ from pixdim (spacing from pixdim)", SMALL, sform=scaled, scode=1, zooms=SP)
save("no_transform.nii", "qform_code 0 and sform_code 0", SMALL, zooms=SP)
# A CT written in metres: the same grid as A1, in m (coxa refuses a 750 mm voxel as implausible).
A1_M = affine(rot(0.3, -0.2, 1.1), [s / 1000.0 for s in SP], [0.0105, -0.02025, 0.030125])
save("metres.nii", "xyzt_units metres", SMALL, qform=A1_M, qcode=1, sform=A1_M, scode=1, post=patch("<B", 123, 1 | 8))
save("scaled_int16.nii", "int16 with scl_slope 0.5, scl_inter -1024", SMALL, qform=A1, qcode=1, post=patch("<ff", 112, 0.5, -1024.0))
save("slope_zero_inter.nii", "int16 with scl_slope 0 and scl_inter 7 (slope 0 means 1)", SMALL, qform=A1, qcode=1, post=patch("<ff", 112, 0.0, 7.0))
save("float32.nii.gz", "float32 voxels", SMALL.astype(np.float32) * 0.37, sform=A2, scode=2)
save("uint16.nii.gz", "uint16 voxels", (SMALL.astype(np.int32) + 1024).astype(np.uint16), sform=A2, scode=2, dtype=np.uint16)
save("single_volume_4d.nii.gz", "4D with dim[4] = 1", SMALL[..., None], qform=A1, qcode=1, sform=A1, scode=1)
be = nib.Nifti1Header(endianness=">")
save("big_endian.nii", "big-endian int16", SMALL.astype(">i2"), qform=A1, qcode=1, sform=A2, scode=2, header=be, dtype=">i2")

if a.ct:
    ct = nib.load(a.ct)
    data = np.asanyarray(ct.dataobj)
    spacing = list(ct.header.get_zooms()[:3])
    origin = ct.affine[:3, 3]
    ob1 = affine(rot(0.05, -0.1, 0.2), spacing, origin)
    ob2 = affine(rot(-0.1, 0.02, -0.3), spacing, origin + 3.0)
    save("ct_qform_only.nii.gz", "example CT, oblique qform only", data, qform=ob1, qcode=1, dtype=ct.get_data_dtype())
    save("ct_sform_only.nii.gz", "example CT, oblique sform only (code 2)", data, sform=ob2, scode=2, dtype=ct.get_data_dtype())
    save("ct_disagree.nii.gz", "example CT, qform 1 and sform 2 disagree", data, qform=ob1, qcode=1, sform=ob2, scode=2, dtype=ct.get_data_dtype())

print(json.dumps(made))

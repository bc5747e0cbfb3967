"""Writes a NIfTI-1 image as NIfTI-2 with nibabel (540-byte header, 64-bit sizes, double precision
geometry), its header extensions kept.

usage: nifti2_make.py SRC OUT [big]
With `big`, the copy is big endian (its voxels as big-endian float32).
"""
import sys

import nibabel as nib
import numpy as np

src, out = sys.argv[1:3]
img = nib.load(src)
if len(sys.argv) > 3 and sys.argv[3] == "big":
    header = nib.Nifti2Header(endianness=">")
    two = nib.Nifti2Image(np.asarray(img.dataobj).astype(">f4"), img.affine, header=header)
    two.set_qform(img.affine, code=int(img.header["qform_code"]))
    two.set_sform(img.affine, code=int(img.header["sform_code"]))
else:
    two = nib.Nifti2Image.from_image(img)
nib.save(two, out)
back = nib.load(out)
assert isinstance(back, nib.Nifti2Image) and back.header["sizeof_hdr"] == 540

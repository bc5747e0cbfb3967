"""scikit-image's marching cubes on label masks, for the side-by-side surface test.

For each label: the mask padded by one background voxel (so the surface closes at the volume
border), skimage.measure.marching_cubes at level 0.5 with the NIfTI voxel spacing (Lewiner, the
default), and the enclosed volume and area measured with trimesh.

usage: skimage_surface.py LABELS.nii.gz LABEL [LABEL ...]
  -> JSON {label: {n_voxels, voxel_volume_mm3, volume_mm3, area_mm2, watertight, n_triangles}}
"""
import json
import sys

import nibabel as nib
import numpy as np
import trimesh
from skimage.measure import marching_cubes

img = nib.load(sys.argv[1])
lab = np.asarray(img.dataobj)
spacing = tuple(float(z) for z in img.header.get_zooms()[:3])
voxel = float(np.prod(spacing))
out = {}
for arg in sys.argv[2:]:
    label = int(arg)
    mask = lab == label
    n = int(mask.sum())
    if n == 0:
        continue
    v, f, _, _ = marching_cubes(np.pad(mask, 1).astype(np.float32), 0.5, spacing=spacing)
    mesh = trimesh.Trimesh(v, f, process=False)
    out[label] = {
        "n_voxels": n,
        "voxel_volume_mm3": n * voxel,
        # skimage orients the triangles towards the low values here; the size is what counts.
        "volume_mm3": abs(float(mesh.volume)),
        "area_mm2": float(mesh.area),
        "watertight": bool(mesh.is_watertight),
        "n_triangles": int(len(f)),
    }
print(json.dumps(out))

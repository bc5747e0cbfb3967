"""Independent ray sums for the DRR test (coxa-diagnostics tests/drr.rs).

Reads the CT with nibabel (its own NIfTI reader), converts HU to attenuation relative to water,
w = max(0, 1 + HU/1000), and integrates w along each ray from the source to a pixel centre by
sampling every 0.05 mm with scipy.ndimage.map_coordinates (trilinear, order=1, 0 outside the
grid) and the trapezoid rule. Usage: drr_raysum.py CT.nii.gz rays.json out.json, where rays.json
holds {"source_lps_mm": [x, y, z], "pixels_lps_mm": [[x, y, z], ...]}; out.json gets
{"wepl_mm": [...]}.
"""
import json
import sys

import nibabel as nib
import numpy as np
from scipy.ndimage import map_coordinates

ct_path, rays_path, out_path = sys.argv[1:4]
img = nib.load(ct_path)
hu = np.asarray(img.dataobj, dtype=np.float64)  # indexed [i, j, k]
w = np.maximum(0.0, 1.0 + hu / 1000.0)
# nibabel's affine maps voxel indices to RAS mm; LPS = diag(-1, -1, 1) RAS.
lps_from_vox = np.diag([-1.0, -1.0, 1.0, 1.0]) @ img.affine
vox_from_lps = np.linalg.inv(lps_from_vox)
rays = json.load(open(rays_path))
src = np.array(rays["source_lps_mm"], dtype=np.float64)
out = []
step = 0.05
for p in rays["pixels_lps_mm"]:
    p = np.array(p, dtype=np.float64)
    length = np.linalg.norm(p - src)
    n = int(np.ceil(length / step))
    t = np.linspace(0.0, 1.0, n + 1)
    pts = src[None, :] + t[:, None] * (p - src)[None, :]
    ijk = (vox_from_lps[:3, :3] @ pts.T) + vox_from_lps[:3, 3:4]
    vals = map_coordinates(w, ijk, order=1, mode="constant", cval=0.0)
    out.append(float(np.trapezoid(vals, dx=length / n)))
json.dump({"wepl_mm": out}, open(out_path, "w"))

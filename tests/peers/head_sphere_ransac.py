"""An independent femoral head fit for the landmark tests: RANSAC over the vertices of the
proximal quarter of a femur STL (4-point spheres, radius 15-35 mm, inliers within 0.5 mm, seeded),
then a linear least-squares refit on the best consensus set. Shares nothing with coxa's
detector (no seed point, no normals, no shell re-selection).

usage: head_sphere_ransac.py FEMUR.stl   -> JSON {"centre": [x, y, z], "radius": r, "inliers": n}
"""
import json
import sys

import numpy as np
import trimesh

m = trimesh.load(sys.argv[1])
v = np.asarray(m.vertices, dtype=np.float64)
c = v.mean(axis=0)
w, vec = np.linalg.eigh(np.cov((v - c).T))
axis = vec[:, -1] * np.sign(vec[2, -1])  # proximal = superior (+z in LPS)
t = (v - c) @ axis
prox = v[t > t.max() - 0.25 * np.ptp(t)]


def sphere_lsq(p):
    a = np.c_[2 * p, np.ones(len(p))]
    b = (p ** 2).sum(axis=1)
    x, *_ = np.linalg.lstsq(a, b, rcond=None)
    centre = x[:3]
    return centre, np.sqrt(x[3] + centre @ centre)


rng = np.random.default_rng(12345)
best = None
for _ in range(4000):
    s = prox[rng.choice(len(prox), 4, replace=False)]
    try:
        centre, r = sphere_lsq(s)
    except np.linalg.LinAlgError:
        continue
    if not (15.0 <= r <= 35.0) or not np.isfinite(r):
        continue
    inl = np.abs(np.linalg.norm(prox - centre, axis=1) - r) < 0.5
    if best is None or inl.sum() > best.sum():
        best = inl
centre, r = sphere_lsq(prox[best])
for _ in range(3):  # refit on the inliers of the refined sphere
    inl = np.abs(np.linalg.norm(prox - centre, axis=1) - r) < 0.5
    centre, r = sphere_lsq(prox[inl])
print(json.dumps({"centre": centre.tolist(), "radius": float(r), "inliers": int(inl.sum())}))

"""Points and triangles of legacy VTK (.vtk) and XML (.vtp) PolyData files as VTK's own readers give them.

usage: vtk_read.py OUT_DIR VTK [VTK ...]
  for the i-th file writes OUT_DIR/<i>.points.f64 (x y z per point in file order, as float64
  little endian: VTK's float or double values widened exactly) and OUT_DIR/<i>.triangles.u32
  (the polygons fanned [p0, pk, pk+1], 3 little-endian uint32 per triangle), and prints JSON
  [{path, n_points, n_polys, n_triangles, point_type}, ...].
"""
import json
import os
import sys

import numpy as np
import vtk
from vtk.util.numpy_support import vtk_to_numpy

out_dir = sys.argv[1]
report = []
for i, path in enumerate(sys.argv[2:]):
    r = vtk.vtkXMLPolyDataReader() if path.lower().endswith(".vtp") else vtk.vtkPolyDataReader()
    r.SetFileName(path)
    r.Update()
    if pd_strips := r.GetOutput().GetNumberOfStrips():
        sys.exit(f"{path}: {pd_strips} triangle strips; this peer script fans polygons only")
    if r.GetErrorCode() != 0:
        sys.exit(f"{path}: VTK error code {r.GetErrorCode()}")
    pd = r.GetOutput()
    pts = vtk_to_numpy(pd.GetPoints().GetData())
    polys = pd.GetPolys()
    offsets = vtk_to_numpy(polys.GetOffsetsArray())
    conn = vtk_to_numpy(polys.GetConnectivityArray())
    tris = []
    for a, b in zip(offsets[:-1], offsets[1:]):
        c = conn[a:b]
        tris.extend([c[0], c[k], c[k + 1]] for k in range(1, len(c) - 1))
    np.asarray(pts, dtype="<f8").tofile(os.path.join(out_dir, f"{i}.points.f64"))
    np.asarray(tris, dtype="<u4").reshape(-1, 3).tofile(os.path.join(out_dir, f"{i}.triangles.u32"))
    report.append({"path": path, "n_points": int(len(pts)), "n_polys": int(polys.GetNumberOfCells()), "n_triangles": len(tris),
                   "point_type": pd.GetPoints().GetData().GetDataTypeAsString()})
print(json.dumps(report))

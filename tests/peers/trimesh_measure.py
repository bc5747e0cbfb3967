"""Volume, area and closure of mesh files as trimesh measures them (trimesh.load defaults).

usage: trimesh_measure.py MESH [MESH ...]
  -> JSON {path: {volume_mm3, area_mm2, watertight, n_vertices, n_triangles}}
"""
import json
import sys

import trimesh

out = {}
for path in sys.argv[1:]:
    m = trimesh.load(path, force="mesh")
    out[path] = {
        "volume_mm3": float(m.volume),
        "area_mm2": float(m.area),
        "watertight": bool(m.is_watertight),
        "n_vertices": int(len(m.vertices)),
        "n_triangles": int(len(m.faces)),
    }
print(json.dumps(out))

"""Mesh files read by the peers coxa's meshes are written for: STL, OBJ and GLB by trimesh, VTP by
VTK's own XML reader (vtkXMLPolyDataReader, volume by vtkMassProperties).

    mesh_read.py FILE...

Prints one JSON object: for every file a list of its meshes (a GLB scene's meshes by name, in
the file's order; one mesh for the other formats), each with its vertex count, triangle count,
volume (mm3, in the file's own units) and watertightness (trimesh) as read. STL is a triangle
soup: trimesh merges its vertices (its default), which is how an STL has a vertex count at all;
OBJ and GLB are read without trimesh's processing (process=False), so the count is the file's
own, vertex for vertex.
"""

import json
import sys

import trimesh
import vtk


def trimesh_entry(name, m):
    return {"name": name, "vertices": len(m.vertices), "triangles": len(m.faces), "volume_mm3": float(m.volume), "watertight": bool(m.is_watertight), "reader": f"trimesh {trimesh.__version__}"}


def read(path):
    if path.lower().endswith(".stl"):
        m = trimesh.load(path, process=True)
        return [trimesh_entry("", m)]
    if path.lower().endswith(".obj"):
        return [trimesh_entry("", trimesh.load(path, process=False, force="mesh"))]
    if path.lower().endswith(".glb"):
        scene = trimesh.load(path, process=False, force="scene")
        # The meshes in the file's order (trimesh keeps them by name).
        with open(path, "rb") as f:
            data = f.read()
        n = int.from_bytes(data[12:16], "little")
        doc = json.loads(data[20 : 20 + n])
        out = []
        for mesh in doc["meshes"]:
            e = trimesh_entry(mesh["name"], scene.geometry[mesh["name"]])
            material = doc["materials"][mesh["primitives"][0]["material"]]["name"]
            e["material"] = material
            out.append(e)
        return out
    if path.lower().endswith(".vtp"):
        r = vtk.vtkXMLPolyDataReader()
        r.SetFileName(path)
        r.Update()
        if r.GetErrorCode() != 0:
            raise SystemExit(f"VTK could not read {path}: error {r.GetErrorCode()}")
        poly = r.GetOutput()
        mp = vtk.vtkMassProperties()
        mp.SetInputData(poly)
        mp.Update()
        return [{"name": "", "vertices": poly.GetNumberOfPoints(), "triangles": poly.GetNumberOfPolys(), "volume_mm3": mp.GetVolume(), "reader": f"VTK {vtk.vtkVersion.GetVTKVersion()}"}]
    raise SystemExit(f"{path}: not a mesh format this script reads")


print(json.dumps({p: read(p) for p in sys.argv[1:]}))

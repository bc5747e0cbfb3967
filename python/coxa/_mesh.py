"""Surface meshes as numpy arrays: ``vertices`` (float64 ``[n, 3]``, LPS mm as in the file) and
``triangles`` (uint32 ``[m, 3]``, indices into ``vertices``), read and written by coxa's own mesh
readers and writers, so that a surface computed in Python can go to any call that takes a bone
surface (``coxa.plan(meshes={"hip_right": mesh, ...})``).
"""

from __future__ import annotations

import os
from typing import Optional, Union

import numpy as np

from . import _coxa


class Mesh:
    """A triangle surface: ``vertices`` float64 ``[n, 3]`` (mm), ``triangles`` uint32 ``[m, 3]``."""

    def __init__(self, vertices, triangles):
        v = np.ascontiguousarray(vertices, dtype=np.float64)
        t = np.asarray(triangles)
        if v.ndim != 2 or v.shape[1] != 3 or t.ndim != 2 or t.shape[1] != 3:
            raise _coxa.ArgumentError(f"a mesh is vertices [n, 3] and triangles [m, 3], not {list(v.shape)} and {list(t.shape)}")
        if t.size and (not np.issubdtype(t.dtype, np.integer) or t.min() < 0 or t.max() >= len(v)):
            raise _coxa.ArgumentError(f"the triangles must index the {len(v)} vertices (0 to {len(v) - 1})")
        self.vertices = v
        self.triangles = np.ascontiguousarray(t, dtype=np.uint32)

    def write(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the mesh as a new ``.stl`` (binary) or ``.ply`` (binary, exact doubles) file; an
        existing file is never replaced."""
        _coxa.write_mesh(os.fspath(path), self.vertices, self.triangles)

    def __repr__(self) -> str:
        return f"Mesh({len(self.vertices)} vertices, {len(self.triangles)} triangles)"


def read_mesh(path: Union[str, "os.PathLike[str]"], *, max_memory: Optional[int] = None) -> Mesh:
    """A surface read as coxa reads it (``.stl``, ``.ply``, ``.vtk``, ``.vtp``, ``.step``/``.stp``):
    an STL's coinciding corners are welded into shared vertices."""
    v, t = _coxa.read_mesh(os.fspath(path), max_memory)
    return Mesh(v, t)

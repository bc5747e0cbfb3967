"""coxa.read_mesh / Mesh.write: surfaces as numpy arrays, read as trimesh reads them, written and
read back exactly; bad meshes and files are coxa's exceptions."""

import numpy as np
import pytest
import trimesh

import coxa
from conftest import data


def test_read_mesh_equals_trimesh_corner_by_corner():
    path = data("vsd_bones/z013_Hip_R.stl")
    m = coxa.read_mesh(path)
    assert m.vertices.dtype == np.float64 and m.triangles.dtype == np.uint32
    assert m.vertices.shape[1] == 3 and m.triangles.shape[1] == 3
    peer = trimesh.load_mesh(str(path), process=False)
    # The same triangles in the same order, each corner the same point (float32 in the file):
    # coxa welds coinciding corners into shared vertices, trimesh without processing does not.
    assert len(m.triangles) == len(peer.faces)
    assert np.array_equal(m.vertices[m.triangles], np.asarray(peer.vertices)[np.asarray(peer.faces)])
    assert len(m.vertices) < 3 * len(m.triangles)


def test_a_mesh_written_and_read_back_is_the_same(tmp_path):
    m = coxa.read_mesh(data("vsd_bones/z013_Femur_R.stl"))
    p = tmp_path / "femur.ply"
    m.write(p)
    back = coxa.read_mesh(p)
    assert np.array_equal(back.vertices, m.vertices) and np.array_equal(back.triangles, m.triangles)
    with pytest.raises(coxa.InputError, match="exists"):
        m.write(p)
    # A surface made in Python: a tetrahedron, written as STL and read back.
    tet = coxa.Mesh([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    tet.write(tmp_path / "tet.stl")
    t = coxa.read_mesh(tmp_path / "tet.stl")
    assert np.array_equal(t.vertices[t.triangles], tet.vertices[tet.triangles])


def test_bad_meshes_and_files_are_coxas_exceptions(tmp_path):
    with pytest.raises(coxa.ArgumentError, match=r"\[n, 3\]"):
        coxa.Mesh(np.zeros((4, 2)), [[0, 1, 2]])
    with pytest.raises(coxa.ArgumentError, match="index the 3 vertices"):
        coxa.Mesh(np.zeros((3, 3)), [[0, 1, 3]])
    broken = tmp_path / "broken.stl"
    broken.write_bytes(b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 nan\n")
    with pytest.raises(coxa.ReadError):
        coxa.read_mesh(broken)
    with pytest.raises(coxa.InputError, match="unknown mesh file type"):
        coxa.read_mesh(tmp_path / "surface.fbx")

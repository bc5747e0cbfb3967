"""coxa.read_volume and coxa.read_label_map side by side with SimpleITK on the real CT, its
label map and a real DICOM series; arrays in and out; a broken file's exception."""

import numpy as np
import pytest
import SimpleITK as sitk

import coxa
from conftest import data, run_cli


def same_as_sitk(v, img):
    """The volume `v` equals SimpleITK's image `img`: voxels exactly, geometry within 1e-6."""
    a = sitk.GetArrayFromImage(img)
    assert v.array.shape == a.shape
    assert v.size == img.GetSize()
    np.testing.assert_array_equal(v.array.astype(np.float64), a.astype(np.float64))
    np.testing.assert_allclose(v.spacing, img.GetSpacing(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(v.origin, img.GetOrigin(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(v.direction, img.GetDirection(), rtol=0, atol=1e-6)


def test_real_ct_equals_simpleitk():
    path = data("totalseg/example_ct.nii.gz")
    v = coxa.read_volume(path)
    assert v.source == "nifti" and v.array.dtype in (np.int16, np.float32)
    same_as_sitk(v, sitk.ReadImage(str(path)))
    # RAS on disk, LPS in memory: the direction's first two axes are flipped as SimpleITK flips them.
    assert v.direction_matrix()[0, 0] < 0


def test_dicom_series_equals_simpleitk():
    folder = data("totalseg/example_ct_dicom")
    v = coxa.read_volume(folder)
    assert v.source == "dicom" and v.modality == "CT"
    reader = sitk.ImageSeriesReader()
    files = reader.GetGDCMSeriesFileNames(str(folder))
    assert len(files) == 20
    reader.SetFileNames(files)
    same_as_sitk(v, reader.Execute())


def test_label_map_equals_simpleitk():
    path = data("totalseg/example_seg_fast_force_split.nii.gz")
    m = coxa.read_label_map(path)
    assert m.array.dtype == np.uint16
    same_as_sitk(m, sitk.ReadImage(str(path)))
    assert {75, 76, 77, 78} <= set(np.unique(m.array).tolist())


def test_arrays_written_and_read_back_keep_voxels_and_geometry(tmp_path):
    rng = np.random.default_rng(7)
    hu = rng.integers(-1000, 2000, size=(5, 6, 7)).astype(np.int16)
    c, s = np.cos(0.3), np.sin(0.3)
    direction = (c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0)
    v = coxa.Volume(hu, spacing=(0.7, 0.8, 2.5), origin=(-10.0, 20.5, 33.0), direction=direction)
    v.write(tmp_path / "v.nii.gz")
    back = coxa.read_volume(tmp_path / "v.nii.gz")
    np.testing.assert_array_equal(back.array, hu)
    np.testing.assert_allclose(back.spacing, v.spacing, atol=1e-6)
    np.testing.assert_allclose(back.origin, v.origin, atol=1e-4)
    np.testing.assert_allclose(back.direction, direction, atol=1e-6)
    # SimpleITK reads what coxa wrote the same way.
    same_as_sitk(back, sitk.ReadImage(str(tmp_path / "v.nii.gz")))
    # coxa never overwrites.
    with pytest.raises(coxa.ReadError, match="v.nii.gz"):
        v.write(tmp_path / "v.nii.gz")


def test_broken_file_raises_coxas_message(tmp_path, coxa_bin):
    bad = tmp_path / "ct.nii.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00 this is not a NIfTI file" * 10)
    with pytest.raises(coxa.CoxaError) as e:
        coxa.read_volume(bad)
    assert isinstance(e.value, coxa.ReadError) and isinstance(e.value, coxa.InputError)
    cli = run_cli(coxa_bin, "inspect", str(bad))
    assert cli.returncode == 2
    # The program's one line is "error: " and the message the exception carries.
    assert cli.stderr.strip() == f"error: {e.value}", cli.stderr
    missing = tmp_path / "nothing_here.nii.gz"
    with pytest.raises(coxa.ReadError, match="nothing_here.nii.gz"):
        coxa.read_volume(missing)


def test_not_a_ct_is_refused_unless_any_modality(tmp_path):
    mr = coxa.Volume(np.full((4, 4, 4), 300.0, dtype=np.float32))
    mr.write(tmp_path / "mr.nii")
    with pytest.raises(coxa.ReadError, match="CT"):
        coxa.read_volume(tmp_path / "mr.nii")
    assert coxa.read_volume(tmp_path / "mr.nii", any_modality=True).array.max() == 300.0


def test_bad_geometry_is_an_argument_error():
    with pytest.raises(coxa.ArgumentError, match="spacing"):
        coxa.Volume(np.zeros((2, 2, 2)), spacing=(1.0, 1.0))
    v = coxa.Volume(np.zeros((2, 2, 2), dtype=np.int16), spacing=(1.0, -1.0, 1.0))
    with pytest.raises(coxa.ArgumentError, match="geometry"):
        v.write("/tmp/never-written.nii")


def test_nrrd_equals_simpleitk():
    path = data("pyradiomics/brain1_image.nrrd")
    v = coxa.read_volume(path, any_modality=True)
    assert v.source == "nrrd"
    same_as_sitk(v, sitk.ReadImage(str(path)))


def test_a_file_larger_than_max_memory_is_refused_before_reading(coxa_bin):
    path = data("totalseg/example_ct.nii.gz")
    with pytest.raises(coxa.ReadError) as e:
        coxa.read_volume(path, max_memory=100_000)
    cli = run_cli(coxa_bin, "--max-memory", "100000", "inspect", str(path))
    assert cli.returncode == 2 and cli.stderr.strip() == f"error: {e.value}", (cli.stderr, str(e.value))
    # The limit was this read's only.
    assert coxa.read_volume(path).array.size == 122 * 101 * 112


def test_simpleitk_and_nibabel_bridges_equal_coxas_reader():
    path = data("totalseg/example_ct.nii.gz")
    v = coxa.read_volume(path)
    # SimpleITK's image of the file, and coxa's volume handed to SimpleITK.
    same_as_sitk(coxa.Volume.from_sitk(sitk.ReadImage(str(path))), sitk.ReadImage(str(path)))
    np.testing.assert_array_equal(coxa.Volume.from_sitk(sitk.ReadImage(str(path))).array.astype(np.float64), v.array.astype(np.float64))
    same_as_sitk(v, v.to_sitk())
    # nibabel's image of the same file (RAS+ affine, [i, j, k]): the same voxels and LPS grid.
    nib = pytest.importorskip("nibabel")
    n = coxa.Volume.from_nibabel(nib.load(str(path)))
    assert n.array.shape == v.array.shape
    np.testing.assert_array_equal(n.array.astype(np.float64), v.array.astype(np.float64))
    for a, b in ((n.spacing, v.spacing), (n.origin, v.origin), (n.direction, v.direction)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)
    back = coxa.Volume.from_nibabel(v.to_nibabel())
    np.testing.assert_array_equal(back.array, v.array)
    for a, b in ((back.spacing, v.spacing), (back.origin, v.origin), (back.direction, v.direction)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    # A label map stays uint16 ids; a vector image is refused.
    seg = data("totalseg/example_seg_fast_force_split.nii.gz")
    m = coxa.LabelMap.from_sitk(sitk.ReadImage(str(seg)))
    assert isinstance(m, coxa.LabelMap) and m.array.dtype == np.uint16
    np.testing.assert_array_equal(m.array, coxa.read_label_map(seg).array)
    with pytest.raises(coxa.ArgumentError, match="one value per voxel"):
        coxa.Volume.from_sitk(sitk.Image([4, 4, 4], sitk.sitkVectorFloat32, 3))

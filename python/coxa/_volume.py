"""Volumes and label maps as numpy arrays with their geometry.

The arrays are in SimpleITK's ``GetArrayFromImage`` order, ``array[k, j, i]`` (slice, row,
column), and the geometry is in LPS millimetres as SimpleITK holds it: ``spacing`` and ``origin``
in ``(i, j, k)`` / ``(x, y, z)`` order, ``direction`` the 3x3 direction matrix row-major (column
``c`` is axis ``c``'s unit vector), as ``GetSpacing``, ``GetOrigin`` and ``GetDirection`` return
them. A NIfTI file in RAS is read into LPS as SimpleITK reads it.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type, TypeVar

import numpy as np

from . import _coxa

_V = TypeVar("_V", bound="Volume")

_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def _triple(name: str, v: Sequence[float]) -> Tuple[float, float, float]:
    t = tuple(float(x) for x in v)
    if len(t) != 3:
        raise _coxa.ArgumentError(f"{name} takes 3 numbers (x, y, z), not {len(t)}")
    return t  # type: ignore[return-value]


def _direction(v: Sequence[float]) -> Tuple[float, ...]:
    d = tuple(float(x) for x in np.asarray(v, dtype=float).reshape(-1))
    if len(d) != 9:
        raise _coxa.ArgumentError(f"direction takes 9 numbers (a 3x3 matrix, row-major), not {len(d)}")
    return d


class Volume:
    """A CT (or any scalar image) in Hounsfield units on a grid.

    ``array``: numpy array ``[k, j, i]`` (int16 or float32 as read; any real dtype given is
    converted to float32 when it is written for a command); ``spacing``, ``origin``: ``(x, y, z)``
    mm, LPS; ``direction``: 9 numbers, the direction matrix row-major.
    """

    def __init__(self, array, spacing: Sequence[float] = (1.0, 1.0, 1.0), origin: Sequence[float] = (0.0, 0.0, 0.0), direction: Sequence[float] = _IDENTITY):
        a = np.asarray(array)
        if a.ndim != 3:
            raise _coxa.ArgumentError(f"a volume's array is 3-D ([k, j, i]), not {a.ndim}-D")
        self.array = a
        self.spacing = _triple("spacing", spacing)
        self.origin = _triple("origin", origin)
        self.direction = _direction(direction)
        #: Where it was read from: ``nifti``, ``nrrd``, ``dicom`` or ``None`` (made in Python).
        self.source: Optional[str] = None
        #: The modality where the source says it (DICOM).
        self.modality: Optional[str] = None
        #: What the reader noticed and worked around.
        self.warnings: List[str] = []

    @property
    def size(self) -> Tuple[int, int, int]:
        """Voxels per axis ``(i, j, k)``, as SimpleITK's ``GetSize``."""
        k, j, i = self.array.shape
        return (i, j, k)

    def direction_matrix(self) -> np.ndarray:
        """The direction as a 3x3 matrix (column ``c``: axis ``c`` in LPS)."""
        return np.array(self.direction, dtype=float).reshape(3, 3)

    @staticmethod
    def _voxels(a: np.ndarray) -> np.ndarray:
        """An array as a volume holds it: int16 kept, any other dtype as float32."""
        return a if a.dtype == np.int16 else a.astype(np.float32)

    @classmethod
    def from_sitk(cls: Type[_V], image: Any) -> _V:
        """A 3-D scalar SimpleITK image (its geometry is LPS, as coxa's): the voxels as
        ``GetArrayFromImage`` gives them (``[k, j, i]``), with its spacing, origin and direction."""
        import SimpleITK as sitk

        if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
            raise _coxa.ArgumentError(f"a volume is a 3-D image of one value per voxel, not {image.GetDimension()}-D with {image.GetNumberOfComponentsPerPixel()} components")
        return cls(cls._voxels(sitk.GetArrayFromImage(image)), image.GetSpacing(), image.GetOrigin(), image.GetDirection())

    def to_sitk(self) -> Any:
        """The volume as a SimpleITK image (its array copied; the geometry as SimpleITK holds it)."""
        import SimpleITK as sitk

        image = sitk.GetImageFromArray(np.ascontiguousarray(self.array))
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(self.direction)
        return image

    @classmethod
    def from_nibabel(cls: Type[_V], image: Any) -> _V:
        """A 3-D nibabel image (NIfTI; its affine maps ``(i, j, k)`` to RAS+ mm): the voxels
        (scaled as nibabel scales them) turned to ``[k, j, i]`` and the geometry to LPS, as
        SimpleITK reads the same file."""
        a = np.asanyarray(image.dataobj)
        if a.ndim != 3:
            raise _coxa.ArgumentError(f"a volume is a 3-D image, not {a.ndim}-D")
        lps = np.diag([-1.0, -1.0, 1.0]) @ np.asarray(image.affine, dtype=float)[:3]
        spacing = np.linalg.norm(lps[:, :3], axis=0)
        direction = lps[:, :3] / spacing
        return cls(cls._voxels(np.ascontiguousarray(a.transpose(2, 1, 0))), spacing, lps[:, 3], direction.reshape(-1))

    def to_nibabel(self) -> Any:
        """The volume as a nibabel ``Nifti1Image`` (array ``[i, j, k]``, affine to RAS+ mm)."""
        import nibabel as nib

        affine = np.eye(4)
        affine[:3, :3] = self.direction_matrix() * np.asarray(self.spacing)
        affine[:3, 3] = self.origin
        affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine
        return nib.Nifti1Image(np.ascontiguousarray(self.array.transpose(2, 1, 0)), affine)

    def write(self, path: "os.PathLike[str] | str") -> None:
        """Writes the volume as a new NIfTI file (``.nii`` or ``.nii.gz``) with coxa's writer
        (int16 when every value is an integer in range, else float32); never replaces a file."""
        _coxa.write_volume(os.fspath(path), np.ascontiguousarray(self._voxels(self.array)), self.spacing, self.origin, self.direction)

    def __repr__(self) -> str:
        return f"Volume(shape={self.array.shape}, dtype={self.array.dtype}, spacing={self.spacing}, origin={self.origin})"


class LabelMap(Volume):
    """A label map (uint16 ids, e.g. TotalSegmentator's) on a grid; ``classes`` maps id to name
    where the file holds names."""

    def __init__(self, array, spacing: Sequence[float] = (1.0, 1.0, 1.0), origin: Sequence[float] = (0.0, 0.0, 0.0), direction: Sequence[float] = _IDENTITY, classes: Optional[Dict[int, str]] = None):
        super().__init__(array, spacing, origin, direction)
        self.classes: Dict[int, str] = dict(classes or {})

    @staticmethod
    def _voxels(a: np.ndarray) -> np.ndarray:
        """Labels as a label map holds them: uint16, whole numbers 0..65535."""
        if a.size and (a.min() < 0 or a.max() > 65535 or not np.array_equal(a, np.round(a))):
            raise _coxa.ArgumentError("a label map holds whole numbers 0..65535")
        return a.astype(np.uint16)

    def write(self, path: "os.PathLike[str] | str") -> None:
        """Writes the label map as a new NIfTI file (uint8 when every id is below 256, else
        uint16); never replaces a file."""
        _coxa.write_label_map(os.fspath(path), np.ascontiguousarray(self._voxels(self.array)), self.spacing, self.origin, self.direction)

    def __repr__(self) -> str:
        return f"LabelMap(shape={self.array.shape}, labels={sorted(int(x) for x in np.unique(self.array))[:12]}, spacing={self.spacing})"


def read_volume(path: "os.PathLike[str] | str", *, any_modality: bool = False, series: Optional[str] = None, resample: bool = False, max_memory: Optional[int] = None) -> Volume:
    """Reads a CT as coxa reads it: a NIfTI (``.nii``, ``.nii.gz``) or NRRD file, a DICOM file or a
    DICOM series' folder.

    Not a CT (a DICOM Modality other than CT, a NIfTI without air) raises :class:`coxa.ReadError`
    unless ``any_modality``. ``series`` picks one series of a folder that holds several
    (SeriesInstanceUID, SeriesNumber or the index coxa lists); ``resample`` resamples an irregular
    series; ``max_memory`` (bytes) is the most this file may make coxa allocate, checked from
    its header before reading (the program's ``--max-memory``; default: half the memory available).
    """
    array, spacing, origin, direction, info = _coxa.read_volume(os.fspath(path), any_modality, series, resample, max_memory)
    v = Volume(array, spacing, origin, direction)
    meta = json.loads(info)
    v.source, v.modality, v.warnings = meta["source"], meta["modality"], list(meta["warnings"])
    return v


def read_label_map(path: "os.PathLike[str] | str", *, max_memory: Optional[int] = None) -> LabelMap:
    """Reads a label map (NIfTI or NRRD) as coxa reads it: uint16 ids ``[k, j, i]``."""
    array, spacing, origin, direction, classes = _coxa.read_label_map(os.fspath(path), max_memory)
    m = LabelMap(array, spacing, origin, direction, dict(classes))
    m.source = "nrrd" if str(path).lower().endswith((".nrrd", ".nhdr")) else "nifti"
    return m

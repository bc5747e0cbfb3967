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
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _coxa

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

    def write(self, path: "os.PathLike[str] | str") -> None:
        """Writes the volume as a new NIfTI file (``.nii`` or ``.nii.gz``) with coxa's writer
        (int16 when every value is an integer in range, else float32); never replaces a file."""
        a = self.array
        if a.dtype != np.int16:
            a = a.astype(np.float32)
        _coxa.write_volume(os.fspath(path), np.ascontiguousarray(a), self.spacing, self.origin, self.direction)

    def __repr__(self) -> str:
        return f"Volume(shape={self.array.shape}, dtype={self.array.dtype}, spacing={self.spacing}, origin={self.origin})"


class LabelMap(Volume):
    """A label map (uint16 ids, e.g. TotalSegmentator's) on a grid; ``classes`` maps id to name
    where the file holds names."""

    def __init__(self, array, spacing: Sequence[float] = (1.0, 1.0, 1.0), origin: Sequence[float] = (0.0, 0.0, 0.0), direction: Sequence[float] = _IDENTITY, classes: Optional[Dict[int, str]] = None):
        super().__init__(array, spacing, origin, direction)
        self.classes: Dict[int, str] = dict(classes or {})

    def write(self, path: "os.PathLike[str] | str") -> None:
        """Writes the label map as a new NIfTI file (uint8 when every id is below 256, else
        uint16); never replaces a file."""
        a = self.array
        if a.size and (a.min() < 0 or a.max() > 65535 or not np.array_equal(a, np.round(a))):
            raise _coxa.ArgumentError("a label map holds whole numbers 0..65535")
        _coxa.write_label_map(os.fspath(path), np.ascontiguousarray(a.astype(np.uint16)), self.spacing, self.origin, self.direction)

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

"""Stubs of the compiled module ``coxa._coxa`` (python/src/lib.rs)."""

import os
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

_Path = Union[str, "os.PathLike[str]"]

class CoxaError(Exception):
    """Every error coxa raises: its message is the one line the ``coxa`` program prints."""

class InputError(CoxaError):
    """Bad input: what the ``coxa`` program refuses with exit status 2."""

class ReadError(InputError):
    """A file coxa cannot read (missing, broken, too large, not a CT)."""

class ArgumentError(InputError):
    """An option coxa's command line refuses (unknown, missing, out of range)."""

class SchemaError(InputError):
    """A record that does not fit its JSON Schema."""

class InternalError(CoxaError):
    """A bug in coxa (a panic caught at the boundary)."""

def read_volume(
    path: _Path, any_modality: bool = False, series: Optional[str] = None, resample: bool = False, max_memory: Optional[int] = None
) -> Tuple[npt.NDArray[Union[np.int16, np.float32]], List[float], List[float], List[float], str]: ...
def read_label_map(path: _Path, max_memory: Optional[int] = None) -> Tuple[npt.NDArray[np.uint16], List[float], List[float], List[float], List[Tuple[int, str]]]: ...
def write_volume(path: _Path, array: npt.NDArray[Union[np.int16, np.float32]], spacing: Sequence[float], origin: Sequence[float], direction: Sequence[float]) -> None: ...
def write_label_map(path: _Path, array: npt.NDArray[np.uint16], spacing: Sequence[float], origin: Sequence[float], direction: Sequence[float]) -> None: ...
def read_mesh(path: _Path, max_memory: Optional[int] = None) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]: ...
def write_mesh(path: _Path, vertices: npt.NDArray[np.float64], triangles: npt.NDArray[np.uint32]) -> None: ...
def command(argv: List[str]) -> str: ...
def plan(
    out: _Path,
    *,
    side: Optional[str] = None,
    ct: Optional[Tuple[npt.NDArray[Any], Sequence[float], Sequence[float], Sequence[float]]] = None,
    ct_path: Optional[_Path] = None,
    labels: Optional[Tuple[npt.NDArray[np.uint16], Sequence[float], Sequence[float], Sequence[float], List[Tuple[int, str]]]] = None,
    labels_path: Optional[_Path] = None,
    meshes: List[str] = ...,
    mesh_units: Optional[str] = None,
    case_name: Optional[str] = None,
    head_mm: Optional[float] = None,
    liners: Optional[List[str]] = None,
    cup_inclination_deg: Optional[Tuple[float, float]] = None,
    cup_anteversion_deg: Optional[Tuple[float, float]] = None,
    stem_anteversion_deg: Optional[Tuple[float, float]] = None,
    pelvic_tilt_deg: Optional[float] = None,
    sitting_extra_tilt_deg: Optional[float] = None,
    grid_step_deg: Optional[float] = None,
    catalog: Optional[_Path] = None,
    cup_definition: Optional[str] = None,
    shape_model: Optional[_Path] = None,
    progress: Optional[Callable[[str], None]] = None,
) -> str: ...
def segment(
    card: _Path,
    *,
    ct: Optional[Tuple[npt.NDArray[Any], Sequence[float], Sequence[float], Sequence[float]]] = None,
    ct_path: Optional[_Path] = None,
    out: Optional[_Path] = None,
    no_mirror: bool = False,
    folds: List[int] = ...,
    mc_passes: Optional[int] = None,
    batch: Optional[int] = None,
    threads: Optional[int] = None,
) -> Tuple[npt.NDArray[np.uint16], List[float], List[float], List[float], List[Tuple[int, str]], npt.NDArray[np.float32], str, bool]: ...
def radiomics(
    *,
    image: Optional[Tuple[npt.NDArray[Any], Sequence[float], Sequence[float], Sequence[float]]] = None,
    image_path: Optional[_Path] = None,
    mask: Optional[Tuple[npt.NDArray[np.uint16], Sequence[float], Sequence[float], Sequence[float], List[Tuple[int, str]]]] = None,
    mask_path: Optional[_Path] = None,
    labels: List[str] = ...,
    params: Optional[_Path] = None,
    model: Optional[_Path] = None,
) -> str: ...
def lesions(
    *,
    ct: Optional[Tuple[npt.NDArray[Any], Sequence[float], Sequence[float], Sequence[float]]] = None,
    ct_path: Optional[_Path] = None,
    labels: Optional[Tuple[npt.NDArray[np.uint16], Sequence[float], Sequence[float], Sequence[float], List[Tuple[int, str]]]] = None,
    labels_path: Optional[_Path] = None,
    label_names: Optional[_Path] = None,
    out: Optional[_Path] = None,
) -> Tuple[str, npt.NDArray[np.uint16], List[float], List[float], List[float], List[Tuple[int, str]]]: ...
def rom(
    *,
    meshes: List[Tuple[str, Optional[_Path], Optional[Tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]]]] = ...,
    side: Optional[str] = None,
    mesh_units: Optional[str] = None,
    head_mm: Optional[float] = None,
    head_offset_mm: Optional[float] = None,
    neck_mm: Optional[float] = None,
    liner: Optional[str] = None,
    shell_mm: Optional[float] = None,
    stem_size: Optional[str] = None,
    catalog: Optional[_Path] = None,
    cup_inclination_deg: Optional[float] = None,
    cup_anteversion_deg: Optional[float] = None,
    cup_definition: Optional[str] = None,
    stem_anteversion_deg: Optional[float] = None,
    pelvic_tilt_deg: Optional[float] = None,
    sitting_extra_tilt_deg: Optional[float] = None,
    user_cup: Optional[_Path] = None,
    user_stem: Optional[_Path] = None,
) -> str: ...
def anatomy(
    *,
    ct: Optional[Tuple[npt.NDArray[Any], Sequence[float], Sequence[float], Sequence[float]]] = None,
    ct_path: Optional[_Path] = None,
    labels: Optional[Tuple[npt.NDArray[np.uint16], Sequence[float], Sequence[float], Sequence[float], List[Tuple[int, str]]]] = None,
    labels_path: Optional[_Path] = None,
    label_names: Optional[_Path] = None,
    meshes: List[Tuple[str, Optional[_Path], Optional[Tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]]]] = ...,
    mesh_units: Optional[str] = None,
    any_modality: bool = False,
    series: Optional[str] = None,
    resample: bool = False,
    shape_model: Optional[str] = None,
    out: Optional[_Path] = None,
) -> Tuple[str, str, Optional[Tuple[npt.NDArray[np.uint16], List[float], List[float], List[float], List[Tuple[int, str]]]]]: ...
def validate(kind: str, text: str) -> None: ...
def version() -> str: ...

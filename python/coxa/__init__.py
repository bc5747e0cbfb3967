"""coxa: total hip arthroplasty planning from CT, in Python.

The functions run coxa's own code in this process (the compiled module ``coxa._coxa``, built from
the same crates as the ``coxa`` program), so that a result equals the program's:

- :func:`read_volume`, :func:`read_label_map`: a CT or label map as a numpy array with its
  geometry (:class:`Volume`, :class:`LabelMap`); :func:`read_mesh`: a surface as vertex and
  triangle arrays (:class:`Mesh`), which every call taking surfaces also takes;
- :func:`anatomy`, :func:`plan`, :func:`rom`, :func:`msk`, :func:`radiomics`, :func:`lesions`,
  :func:`case`: coxa's stages on files or arrays, their records as typed objects
  (:class:`PlanRecord`, ...; ``to_dict()`` gives the JSON the program writes);
- :func:`segment`: a CT segmented by a learned model, the label map and its uncertainty as arrays;
- :func:`command`: any ``coxa`` command line, run in this process.

Errors are exceptions, every one a :class:`CoxaError` carrying the one line the program prints:
:class:`InputError` (bad input, the program's exit status 2) and its kinds :class:`ReadError` (a
file coxa cannot read), :class:`ArgumentError` (an option refused), :class:`SchemaError` (a record
that does not fit its schema); :class:`InternalError` is a bug in coxa.

:func:`plan` and :func:`case` take ``coxa plan``'s options as typed keyword arguments and run the
library's call itself (a CT or label map given as an array stays in memory; ``progress`` is told
each stage). The other calls take options as the program's flags: ``grid_step_deg=5`` is ``--grid-step-deg 5``,
``json=True`` a bare flag, a tuple several values of one flag (``cup_inclination_deg=(35, 50)``), a
list the flag repeated (``liner=["neutral", "elevated_rim"]``). See the book's Python chapter and
``coxa <command> --help``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _coxa
from ._coxa import ArgumentError, CoxaError, InputError, InternalError, ReadError, SchemaError
from ._records import (
    AnatomyRecord,
    CaseRecord,
    HcfRecord,
    LandmarksRecord,
    LesionsRecord,
    PlanRecord,
    RadiomicsRecord,
    Record,
    ReportRecord,
    RomRecord,
    SummaryRecord,
)
from ._mesh import Mesh, read_mesh
from ._volume import LabelMap, Volume, read_label_map, read_volume

__all__ = [
    "AnatomyRecord",
    "AnatomyResult",
    "ArgumentError",
    "Case",
    "CaseRecord",
    "CoxaError",
    "HcfRecord",
    "InputError",
    "InternalError",
    "LabelMap",
    "LandmarksRecord",
    "LesionsRecord",
    "LesionsResult",
    "Mesh",
    "PlanRecord",
    "RadiomicsRecord",
    "ReadError",
    "Record",
    "ReportRecord",
    "RomRecord",
    "SchemaError",
    "SegmentResult",
    "SummaryRecord",
    "Volume",
    "anatomy",
    "case",
    "command",
    "hcf",
    "lesions",
    "msk",
    "plan",
    "radiomics",
    "read_case",
    "read_label_map",
    "read_mesh",
    "read_volume",
    "rom",
    "run",
    "segment",
]

__version__ = _coxa.version().split("+")[0]

PathLike = Union[str, "os.PathLike[str]"]


def _flags(options: Mapping[str, Any]) -> List[str]:
    """Keyword arguments as the program's flags (see the module's documentation)."""
    argv: List[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            argv.append(flag)
        elif isinstance(value, tuple):
            argv.append(flag)
            argv.extend(_text(v) for v in value)
        elif isinstance(value, list):
            for v in value:
                argv.append(f"{flag}={_text(v)}")
        else:
            # `--flag=value`: a negative number stays a value, not a flag.
            argv.append(f"{flag}={_text(value)}")
    return argv


def _text(v: Any) -> str:
    if isinstance(v, float):
        return repr(v)
    return os.fspath(v) if isinstance(v, os.PathLike) else str(v)


def command(*argv: Any) -> str:
    """Runs one ``coxa`` command line in this process, e.g.
    ``coxa.command("inspect", "ct.nii.gz", "--json")``: parsed by the program's own parser, run by
    its code. ``plan``, ``rom``, ``hcf`` and ``anatomy`` return their record's JSON text and print
    nothing; ``radiomics`` and ``lesions`` print nothing and return ``""``; the other commands
    print what the program prints and return ``""``.
    """
    return _coxa.command([_text(a) for a in argv])


class _Scratch:
    """The output folder of one call: ``out`` when given (kept), else a temporary folder removed
    when the call has read its records."""

    def __init__(self, out: Optional[PathLike], name: str):
        self.keep = out is not None
        self._tmp: Optional[str] = None
        if out is not None:
            self.path = Path(out)
        else:
            self._tmp = tempfile.mkdtemp(prefix="coxa-")
            self.path = Path(self._tmp) / name

    def file(self, obj: Any, name: str) -> str:
        """``obj`` as a file path: a Volume or LabelMap written as NIfTI, a Mesh as PLY (exact
        doubles), into the scratch space."""
        suffix = ".ply" if isinstance(obj, Mesh) else ".nii.gz" if isinstance(obj, Volume) else None
        if suffix is None:
            return os.fspath(obj)
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="coxa-")
        p = Path(self._tmp) / f"{name}{suffix}"
        obj.write(p)
        return str(p)

    def __enter__(self) -> "_Scratch":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)


def _read(path: Path) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _meshes(meshes: Optional[Mapping[str, Union[PathLike, Mesh]]], scratch: "_Scratch") -> List[str]:
    """``--mesh name=path`` arguments; a :class:`Mesh` is written into ``scratch`` first."""
    return [f"{name}={scratch.file(p, name)}" for name, p in (meshes or {}).items()]


def _volume_parts(v: Volume) -> Tuple[Any, Tuple[float, float, float], Tuple[float, float, float], Tuple[float, ...]]:
    """A CT's array as the compiled module takes it (int16 kept, any other dtype as float32)."""
    return (np.ascontiguousarray(Volume._voxels(v.array)), v.spacing, v.origin, v.direction)


def _label_parts(m: LabelMap) -> Tuple[Any, Tuple[float, float, float], Tuple[float, float, float], Tuple[float, ...], List[Tuple[int, str]]]:
    return (np.ascontiguousarray(LabelMap._voxels(m.array)), m.spacing, m.origin, m.direction, sorted(m.classes.items()))


def _pair(name: str, v: Optional[Sequence[float]]) -> Optional[Tuple[float, float]]:
    if v is None:
        return None
    t = tuple(float(x) for x in v)
    if len(t) != 2:
        raise ArgumentError(f"{name} takes (MIN, MAX), not {len(t)} numbers")
    return (t[0], t[1])


def _plan_into(
    folder: Path,
    scratch: "_Scratch",
    meshes: Optional[Mapping[str, Union[PathLike, Mesh]]],
    ct: Union[PathLike, Volume, None],
    labels: Union[PathLike, LabelMap, None],
    side: Optional[str],
    options: "_PlanOptions",
) -> str:
    """Plans into ``folder`` through the library (``coxa._coxa.plan``): a CT or label map given as
    an array stays in memory; only :class:`Mesh` objects are written (into the scratch space)."""
    if isinstance(labels, LabelMap) and ct is not None and not isinstance(ct, Volume):
        ct = read_volume(ct)
    if isinstance(ct, Volume) and labels is not None and not isinstance(labels, LabelMap):
        labels = read_label_map(labels)
    o = options
    return _coxa.plan(
        os.fspath(folder),
        side=side,
        ct=_volume_parts(ct) if isinstance(ct, Volume) else None,
        ct_path=os.fspath(ct) if ct is not None and not isinstance(ct, Volume) else None,
        labels=_label_parts(labels) if isinstance(labels, LabelMap) else None,
        labels_path=os.fspath(labels) if labels is not None and not isinstance(labels, LabelMap) else None,
        meshes=_meshes(meshes, scratch),
        mesh_units=o.mesh_units,
        case_name=o.case_name,
        head_mm=o.head_mm,
        liners=None if o.liner is None else ([o.liner] if isinstance(o.liner, str) else list(o.liner)),
        cup_inclination_deg=_pair("cup_inclination_deg", o.cup_inclination_deg),
        cup_anteversion_deg=_pair("cup_anteversion_deg", o.cup_anteversion_deg),
        stem_anteversion_deg=_pair("stem_anteversion_deg", o.stem_anteversion_deg),
        pelvic_tilt_deg=o.pelvic_tilt_deg,
        sitting_extra_tilt_deg=o.sitting_extra_tilt_deg,
        grid_step_deg=o.grid_step_deg,
        catalog=o.catalog,
        cup_definition=o.cup_definition,
        shape_model=None if o.shape_model is None else os.fspath(o.shape_model),
        progress=o.progress,
    )


@dataclass
class _PlanOptions:
    """``coxa plan``'s options as :func:`plan` and :func:`case` take them (``None``: the program's
    default)."""

    mesh_units: Optional[str] = None
    case_name: Optional[str] = None
    head_mm: Optional[float] = None
    liner: Union[str, Sequence[str], None] = None
    cup_inclination_deg: Optional[Sequence[float]] = None
    cup_anteversion_deg: Optional[Sequence[float]] = None
    stem_anteversion_deg: Optional[Sequence[float]] = None
    pelvic_tilt_deg: Optional[float] = None
    sitting_extra_tilt_deg: Optional[float] = None
    grid_step_deg: Optional[float] = None
    catalog: Optional[PathLike] = None
    cup_definition: Optional[str] = None
    shape_model: Optional[PathLike] = None
    progress: Optional[Callable[[str], None]] = None


def plan(
    meshes: Optional[Mapping[str, Union[PathLike, Mesh]]] = None,
    *,
    ct: Union[PathLike, Volume, None] = None,
    labels: Union[PathLike, LabelMap, None] = None,
    side: Optional[str] = None,
    out: Optional[PathLike] = None,
    mesh_units: Optional[str] = None,
    case_name: Optional[str] = None,
    head_mm: Optional[float] = None,
    liner: Union[str, Sequence[str], None] = None,
    cup_inclination_deg: Optional[Sequence[float]] = None,
    cup_anteversion_deg: Optional[Sequence[float]] = None,
    stem_anteversion_deg: Optional[Sequence[float]] = None,
    pelvic_tilt_deg: Optional[float] = None,
    sitting_extra_tilt_deg: Optional[float] = None,
    grid_step_deg: Optional[float] = None,
    catalog: Optional[PathLike] = None,
    cup_definition: Optional[str] = None,
    shape_model: Optional[PathLike] = None,
    progress: Optional[Callable[[str], None]] = None,
) -> PlanRecord:
    """Plans a total hip (``coxa plan``): implant sizes and placement optimised for
    impingement-free daily-life motion, leg length and offset.

    From bone surfaces ``meshes`` (``{"hip_right": "HR.stl", "femur_right": "FR.stl", ...}``, STL
    or PLY, LPS mm) or from a CT ``ct`` (a file, a DICOM folder or a :class:`Volume`; ``labels``
    a label map on its grid, a file or a :class:`LabelMap`). A CT or label map given as an array
    is planned in memory (no file is written for it but the case's own ``input/ct.nii.gz`` and
    ``input/labels.nii.gz``). ``side``: ``"left"`` or ``"right"``. The whole case folder is
    written into ``out`` (a new folder) when given, else into a temporary folder removed
    afterwards. Returns plan.json as written (with its ``$schema`` and ``provenance``).

    The other keyword arguments are ``coxa plan``'s flags of the same name (``liner`` one name or
    several, the ranges ``(MIN, MAX)`` pairs); left out, the program's default (``coxa plan
    --help``). ``progress`` is called with each stage's name as it starts.
    """
    options = _PlanOptions(
        mesh_units=mesh_units,
        case_name=case_name,
        head_mm=head_mm,
        liner=liner,
        cup_inclination_deg=cup_inclination_deg,
        cup_anteversion_deg=cup_anteversion_deg,
        stem_anteversion_deg=stem_anteversion_deg,
        pelvic_tilt_deg=pelvic_tilt_deg,
        sitting_extra_tilt_deg=sitting_extra_tilt_deg,
        grid_step_deg=grid_step_deg,
        catalog=catalog,
        cup_definition=cup_definition,
        shape_model=shape_model,
        progress=progress,
    )
    with _Scratch(out, "plan") as s:
        _plan_into(s.path, s, meshes, ct, labels, side, options)
        return PlanRecord(_read(s.path / "plan.json"))


class Case:
    """A whole case as ``coxa plan --ct`` (or a case of ``coxa run``) writes it: ``plan``,
    ``anatomy``, ``landmarks``, ``report`` and ``summary`` (case.json) as records, ``folder`` the
    case folder (``None`` when it was temporary)."""

    plan: Optional[PlanRecord]
    landmarks: Optional[LandmarksRecord]

    def __init__(self, folder: Path, keep: bool):
        if not (folder / "case.json").is_file():
            raise InputError(f"{folder}: not a finished case folder (no case.json): run the case again")
        plan = folder / "plan.json"
        # A scenario case with a fixed [placement] is not planned: no plan.json.
        self.plan = PlanRecord(_read(plan)) if plan.is_file() else None
        self.anatomy = AnatomyRecord(_read(folder / "anatomy" / "anatomy.json"))
        landmarks = folder / "anatomy" / "landmarks.json"
        self.landmarks = LandmarksRecord(_read(landmarks)) if landmarks.exists() else None
        self.report = ReportRecord(_read(folder / "report.json"))
        self.summary = CaseRecord(_read(folder / "case.json"))
        self.folder: Optional[Path] = folder if keep else None

    def to_dict(self) -> Dict[str, Any]:
        """Every record as plain values: ``{"plan": ..., "anatomy": ..., ...}``."""
        d = {"plan": self.plan, "anatomy": self.anatomy, "landmarks": self.landmarks, "report": self.report, "summary": self.summary}
        return {k: (v.to_dict() if v is not None else None) for k, v in d.items()}

    def __repr__(self) -> str:
        if self.plan is None:
            return f"Case(folder={self.folder}, not planned)"
        return f"Case(folder={self.folder}, cup={self.plan.cup.outer_diameter_mm} mm, stem={self.plan.stem.catalog!r} {self.plan.stem.size!r})"


def case(
    ct: Union[PathLike, Volume],
    *,
    side: str,
    labels: Union[PathLike, LabelMap, None] = None,
    out: Optional[PathLike] = None,
    case_name: Optional[str] = None,
    head_mm: Optional[float] = None,
    liner: Union[str, Sequence[str], None] = None,
    cup_inclination_deg: Optional[Sequence[float]] = None,
    cup_anteversion_deg: Optional[Sequence[float]] = None,
    stem_anteversion_deg: Optional[Sequence[float]] = None,
    pelvic_tilt_deg: Optional[float] = None,
    sitting_extra_tilt_deg: Optional[float] = None,
    grid_step_deg: Optional[float] = None,
    catalog: Optional[PathLike] = None,
    cup_definition: Optional[str] = None,
    shape_model: Optional[PathLike] = None,
    progress: Optional[Callable[[str], None]] = None,
) -> Case:
    """The whole case from a CT (``coxa plan --ct``): anatomy (bones segmented, or from
    ``labels``), plan, range of motion, pictures, report.html and report.pdf, implants, manifest.
    ``out`` keeps the case folder (a new folder); the other keyword arguments are :func:`plan`'s.
    A CT or label map given as an array is planned in memory."""
    options = _PlanOptions(
        case_name=case_name,
        head_mm=head_mm,
        liner=liner,
        cup_inclination_deg=cup_inclination_deg,
        cup_anteversion_deg=cup_anteversion_deg,
        stem_anteversion_deg=stem_anteversion_deg,
        pelvic_tilt_deg=pelvic_tilt_deg,
        sitting_extra_tilt_deg=sitting_extra_tilt_deg,
        grid_step_deg=grid_step_deg,
        catalog=catalog,
        cup_definition=cup_definition,
        shape_model=shape_model,
        progress=progress,
    )
    with _Scratch(out, "case") as s:
        _plan_into(s.path, s, None, ct, labels, side, options)
        return Case(s.path, s.keep)


class SegmentResult:
    """What :func:`segment` returns: ``labels`` (a :class:`LabelMap` on the CT's grid, with the
    model's class names), ``uncertainty`` (the voxels' entropy in nats, a float32 :class:`Volume`
    on the same grid), ``record`` (segment.json) and ``test_model`` (the card says it is a test
    model: never use its labels clinically)."""

    def __init__(self, labels: LabelMap, uncertainty: Volume, record: Dict[str, Any], test_model: bool):
        self.labels = labels
        self.uncertainty = uncertainty
        self.record = record
        self.test_model = test_model

    def __repr__(self) -> str:
        return f"SegmentResult(model={self.record.get('model')!r}, labels={self.labels!r}, test_model={self.test_model})"


def segment(
    ct: Union[PathLike, Volume],
    model: PathLike,
    *,
    out: Optional[PathLike] = None,
    no_mirror: bool = False,
    folds: Optional[Sequence[int]] = None,
    mc_passes: Optional[int] = None,
    batch: Optional[int] = None,
    threads: Optional[int] = None,
) -> SegmentResult:
    """Segments a CT with a learned model (``coxa segment``; the TotalSegmentator-shaped call):
    ``ct`` a file, a DICOM folder or a :class:`Volume` (planned in memory), ``model`` the model
    card (TOML) beside its ONNX weights. The options are ``coxa segment``'s flags (``folds`` its
    ``--fold`` repeated); left out, the program's defaults. ``out`` (a new folder) also writes
    what the program writes there (labels.nii.gz, uncertainty.nii.gz, segment.json)."""
    arrays = _volume_parts(ct) if isinstance(ct, Volume) else None
    labels, spacing, origin, direction, classes, entropy, record, test_model = _coxa.segment(
        os.fspath(model),
        ct=arrays,
        ct_path=None if isinstance(ct, Volume) else os.fspath(ct),
        out=None if out is None else os.fspath(out),
        no_mirror=no_mirror,
        folds=[int(k) for k in folds or []],
        mc_passes=mc_passes,
        batch=batch,
        threads=threads,
    )
    return SegmentResult(LabelMap(labels, spacing, origin, direction, dict(classes)), Volume(entropy, spacing, origin, direction), json.loads(record), test_model)


class AnatomyResult(AnatomyRecord):
    """anatomy.json's record, with ``landmarks`` (landmarks.json, unrounded) and ``labels`` (the
    label map coxa used, a :class:`LabelMap`, for a CT) beside it."""

    __slots__ = ("landmarks_record", "labels")
    landmarks_record: Optional[LandmarksRecord]
    # The label map itself where anatomy.json's `labels` field is its summary (to_dict() keeps that).
    labels: Optional[LabelMap]  # type: ignore[assignment]


def anatomy(
    ct: Union[PathLike, Volume, None] = None,
    *,
    meshes: Optional[Mapping[str, Union[PathLike, Mesh]]] = None,
    labels: Union[PathLike, LabelMap, None] = None,
    label_names: Optional[PathLike] = None,
    mesh_units: Optional[str] = None,
    any_modality: bool = False,
    series: Optional[str] = None,
    resample: bool = False,
    shape_model: Optional[str] = None,
    model: Optional[PathLike] = None,
    model_use: Optional[str] = None,
    out: Optional[PathLike] = None,
) -> AnatomyResult:
    """Anatomy (``coxa anatomy``) from a CT (bones segmented, or taken from ``labels``; muscles
    from ``labels``) or from bone surfaces ``meshes``: landmarks, axes, femora, acetabula, canals,
    density, muscles. The CT, the label map and the surfaces are files or a :class:`Volume`, a
    :class:`LabelMap` and :class:`Mesh` objects, handed to coxa in memory (nothing is written
    unless ``out`` is given: then the folder ``coxa anatomy --out`` writes). Every keyword argument
    is ``coxa anatomy``'s flag of the same name. ``model`` (a learned segmentation model's card,
    with ``model_use``) still runs through the program's parser and writes its scratch files."""
    if model is not None:
        return _anatomy_with_model(ct, labels=labels, model=model, model_use=model_use, out=out, any_modality=any_modality, series=series, resample=resample, shape_model=shape_model)
    if model_use is not None:
        raise ArgumentError("model_use goes with model: give the model's card")

    def one(name: str, m: Union[PathLike, Mesh]) -> Tuple[str, Optional[str], Optional[Tuple[Any, Any]]]:
        return (name, None, (m.vertices, m.triangles)) if isinstance(m, Mesh) else (name, os.fspath(m), None)

    path = lambda p: None if p is None else os.fspath(p)
    record, landmarks, label_parts = _coxa.anatomy(
        ct=_volume_parts(ct) if isinstance(ct, Volume) else None,
        ct_path=None if ct is None or isinstance(ct, Volume) else os.fspath(ct),
        labels=_label_parts(labels) if isinstance(labels, LabelMap) else None,
        labels_path=None if labels is None or isinstance(labels, LabelMap) else os.fspath(labels),
        label_names=path(label_names),
        meshes=[one(name, m) for name, m in (meshes or {}).items()],
        mesh_units=mesh_units,
        any_modality=any_modality,
        series=series,
        resample=resample,
        shape_model=shape_model,
        out=path(out),
    )
    r = AnatomyResult(json.loads(record))
    object.__setattr__(r, "landmarks_record", LandmarksRecord(json.loads(landmarks)))
    if label_parts is None:
        object.__setattr__(r, "labels", None)
    else:
        ids, spacing, origin, direction, classes = label_parts
        object.__setattr__(r, "labels", LabelMap(ids, spacing, origin, direction, dict(classes)))
    return r


def _anatomy_with_model(ct: Union[PathLike, Volume, None], *, labels: Union[PathLike, LabelMap, None], model: PathLike, model_use: Optional[str], out: Optional[PathLike], **options: Any) -> AnatomyResult:
    """``coxa anatomy --model``: through the program's parser, a scratch folder for what is not kept."""
    with _Scratch(out, "anatomy") as s:
        argv = ["anatomy"]
        if ct is not None:
            argv += ["--ct", s.file(ct, "ct")]
        if labels is not None:
            argv += ["--labels", s.file(labels, "labels")]
        argv += _flags({"out": s.path, "model": model, "model_use": model_use, **options})
        _coxa.command(argv)
        r = AnatomyResult(_read(s.path / "anatomy.json"))
        lm = s.path / "landmarks.json"
        object.__setattr__(r, "landmarks_record", LandmarksRecord(_read(lm)) if lm.exists() else None)
        lab = s.path / "labels.nii.gz"
        object.__setattr__(r, "labels", read_label_map(lab) if lab.exists() else None)
        return r


def rom(
    meshes: Optional[Mapping[str, Union[PathLike, Mesh]]] = None,
    *,
    side: Optional[str] = None,
    mesh_units: Optional[str] = None,
    head_mm: Optional[float] = None,
    head_offset_mm: Optional[float] = None,
    neck_mm: Optional[float] = None,
    liner: Optional[str] = None,
    shell_mm: Optional[float] = None,
    stem_size: Optional[str] = None,
    catalog: Optional[PathLike] = None,
    cup_inclination_deg: Optional[float] = None,
    cup_anteversion_deg: Optional[float] = None,
    cup_definition: Optional[str] = None,
    stem_anteversion_deg: Optional[float] = None,
    pelvic_tilt_deg: Optional[float] = None,
    sitting_extra_tilt_deg: Optional[float] = None,
    user_cup: Optional[PathLike] = None,
    user_stem: Optional[PathLike] = None,
) -> RomRecord:
    """Range of motion and impingement of an implanted hip (``coxa rom``): implants alone, or
    with bone surfaces ``meshes`` (the operated side's hip bone and femur; files, or
    :class:`Mesh` objects handed to coxa in memory). Every keyword argument is ``coxa rom``'s flag
    of the same name; left out, the program's default. Nothing is written."""

    def one(name: str, m: Union[PathLike, Mesh]) -> Tuple[str, Optional[str], Optional[Tuple[Any, Any]]]:
        return (name, None, (m.vertices, m.triangles)) if isinstance(m, Mesh) else (name, os.fspath(m), None)

    path = lambda p: None if p is None else os.fspath(p)
    text = _coxa.rom(
        meshes=[one(name, m) for name, m in (meshes or {}).items()],
        side=side,
        mesh_units=mesh_units,
        head_mm=head_mm,
        head_offset_mm=head_offset_mm,
        neck_mm=neck_mm,
        liner=liner,
        shell_mm=shell_mm,
        stem_size=stem_size,
        catalog=path(catalog),
        cup_inclination_deg=cup_inclination_deg,
        cup_anteversion_deg=cup_anteversion_deg,
        cup_definition=cup_definition,
        stem_anteversion_deg=stem_anteversion_deg,
        pelvic_tilt_deg=pelvic_tilt_deg,
        sitting_extra_tilt_deg=sitting_extra_tilt_deg,
        user_cup=path(user_cup),
        user_stem=path(user_stem),
    )
    return RomRecord(json.loads(text))


def msk(
    pelvis_landmarks: Optional[PathLike] = None,
    femur_landmarks: Optional[PathLike] = None,
    *,
    side: Optional[str] = None,
    body_weight_n: float,
    activity: Optional[str] = None,
    model: Optional[PathLike] = None,
    offset_change_mm: Optional[float] = None,
    leg_length_change_mm: Optional[float] = None,
    cor_shift_mm: Optional[Tuple[float, float, float]] = None,
    walking_hip_moment: Optional[Tuple[float, float]] = None,
    muscles: Optional[PathLike] = None,
    bones: Optional[PathLike] = None,
    bone_geometry: Optional[PathLike] = None,
    export_osim: Optional[PathLike] = None,
    forces_sto: Optional[PathLike] = None,
    motion_mot: Optional[PathLike] = None,
    motion: Optional[PathLike] = None,
    grf: Optional[PathLike] = None,
    grf_body: Optional[str] = None,
    grf_body_1: Optional[str] = None,
    lowpass_hz: Optional[float] = None,
    start_s: Optional[float] = None,
    end_s: Optional[float] = None,
    isometric: bool = False,
    no_passive_force: bool = False,
    out: Optional[PathLike] = None,
    id_sto: Optional[PathLike] = None,
) -> HcfRecord:
    """The hip contact force (``coxa hcf``) of ``activity`` (``one-leg-stance``, ``walking``, ...)
    by static optimisation on an OpenSim model, from 3D Slicer landmark files (``.fcsv``,
    ``.mrk.json``), in the OrthoLoad femoral frame (%BW); or of a measured ``motion`` with its
    ground reaction forces ``grf``. Every keyword argument is ``coxa hcf``'s flag of the same name
    (``cor_shift_mm`` three numbers A, S, L; ``walking_hip_moment`` two); left out, the program's
    default. Runs through the program's parser, which keeps the flags' rules (which go together)."""
    numbers = lambda t: None if t is None else ",".join(_text(float(x)) for x in t)
    options: Dict[str, Any] = {
        "pelvis_landmarks": pelvis_landmarks,
        "femur_landmarks": femur_landmarks,
        "side": side,
        "body_weight_n": body_weight_n,
        "activity": activity,
        "model": model,
        "offset_change_mm": offset_change_mm,
        "leg_length_change_mm": leg_length_change_mm,
        "cor_shift_mm": numbers(cor_shift_mm),
        "walking_hip_moment": numbers(walking_hip_moment),
        "muscles": muscles,
        "bones": bones,
        "bone_geometry": bone_geometry,
        "export_osim": export_osim,
        "forces_sto": forces_sto,
        "motion_mot": motion_mot,
        "motion": motion,
        "grf": grf,
        "grf_body": grf_body,
        "grf_body_1": grf_body_1,
        "lowpass_hz": lowpass_hz,
        "start_s": start_s,
        "end_s": end_s,
        "isometric": isometric,
        "no_passive_force": no_passive_force,
        "out": out,
        "id_sto": id_sto,
    }
    return HcfRecord(json.loads(_coxa.command(["hcf", *_flags(options)])))


#: ``coxa hcf``'s name in the book's musculoskeletal chapter.
hcf = msk


def radiomics(
    image: Union[PathLike, Volume],
    mask: Union[PathLike, LabelMap],
    *,
    labels: Optional[Sequence[Union[int, str]]] = None,
    params: Optional[PathLike] = None,
    model: Optional[PathLike] = None,
) -> RadiomicsRecord:
    """pyradiomics' features (``coxa radiomics``) of ``image``'s ``labels`` (ids or names; default
    every label of ``mask``); ``params`` a pyradiomics parameter file (YAML); ``model`` a tabular
    model's card whose class probabilities are added to each row. ``image`` and ``mask`` are files
    or a :class:`Volume` and a :class:`LabelMap`, handed to coxa in memory (no file is written).
    Returns the JSON record (``to_rows()`` for a table)."""
    text = _coxa.radiomics(
        image=_volume_parts(image) if isinstance(image, Volume) else None,
        image_path=None if isinstance(image, Volume) else os.fspath(image),
        mask=_label_parts(mask) if isinstance(mask, LabelMap) else None,
        mask_path=None if isinstance(mask, LabelMap) else os.fspath(mask),
        labels=[str(label) for label in labels or []],
        params=None if params is None else os.fspath(params),
        model=None if model is None else os.fspath(model),
    )
    return RadiomicsRecord(json.loads(text))


class LesionsResult(LesionsRecord):
    """lesions.json's record with ``map``: the lesions as a :class:`LabelMap` on the CT's grid
    (0 none, else the lesion's id)."""

    __slots__ = ("map",)
    map: LabelMap


def lesions(ct: Union[PathLike, Volume], *, labels: Union[PathLike, LabelMap, None] = None, label_names: Optional[PathLike] = None, out: Optional[PathLike] = None) -> LesionsResult:
    """Bone metastasis candidates (``coxa lesions``) on a CT: in the bones of ``labels``
    (TotalSegmentator ids, or names from ``label_names``), else in a whole-skeleton threshold
    mask. ``ct`` and ``labels`` are files (a DICOM folder too) or a :class:`Volume` and a
    :class:`LabelMap`, handed to coxa in memory (issue 58: no scratch file, no command line; the
    map's own class names are not used, as the program does not use a file's: its ids are
    TotalSegmentator's or ``label_names``'). ``out`` (a new folder) also writes what the program
    writes there (lesions.json, lesions.nii.gz, and for a DICOM CT lesions_seg.dcm); without it
    nothing is written."""
    text, ids, spacing, origin, direction, classes = _coxa.lesions(
        ct=_volume_parts(ct) if isinstance(ct, Volume) else None,
        ct_path=None if isinstance(ct, Volume) else os.fspath(ct),
        labels=_label_parts(labels) if isinstance(labels, LabelMap) else None,
        labels_path=None if labels is None or isinstance(labels, LabelMap) else os.fspath(labels),
        label_names=None if label_names is None else os.fspath(label_names),
        out=None if out is None else os.fspath(out),
    )
    r = LesionsResult(json.loads(text))
    object.__setattr__(r, "map", LabelMap(ids, spacing, origin, direction, dict(classes)))
    return r


def run(scenario: PathLike, out: PathLike, **options: Any) -> SummaryRecord:
    """Runs a scenario file (``coxa run``): every case into the results folder ``out`` (the cases
    in ``out/cases/NAME``, read them with :class:`Case`), a report per case, ``summary.json``;
    run again to finish what failed. ``options``: ``coxa run``'s flags (``shard="0/4"``,
    ``cases_file``, ``merge``, ``yes``). Progress bars are off; the program's summary lines are
    printed. Returns summary.json."""
    _coxa.command(["run", os.fspath(scenario), *_flags({"out": out, "quiet": True, **options})])
    return SummaryRecord(_read(Path(out) / "summary.json"))


def read_case(folder: PathLike) -> Case:
    """The records of a finished case folder (``coxa plan``'s ``out``, or ``out/cases/NAME`` of
    :func:`run`)."""
    return Case(Path(folder), True)

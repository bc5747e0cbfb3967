"""The typed results of coxa's Python functions.

Every result is a :class:`Record`: a read-only view of one JSON record coxa writes (plan.json,
anatomy.json, ...), its fields as attributes (nested objects as records, lists as lists),
``to_dict()`` giving the record back as plain ``dict``/``list``/``float`` values (what the JSON file
holds, ready for ``json.dump`` or ``pandas.json_normalize``). A record read back from a dict
(``PlanRecord.from_dict``) is checked against coxa's own type of it: a record that does not fit
its schema raises :class:`coxa.SchemaError`.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any, ClassVar, Dict, Iterator, List, Optional

from . import _coxa


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Record(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class Record:
    """One JSON record of coxa's, its fields as attributes.

    ``record.cup.outer_diameter_mm`` reads field ``cup`` then ``outer_diameter_mm``; a field whose
    name is not an identifier (``$schema``) is read as ``record["$schema"]``. ``to_dict()`` is the
    record as the JSON file holds it.
    """

    #: The record's kind (its schema is ``schemas/<kind>.schema.json``), ``None`` for a part.
    kind: ClassVar[Optional[str]] = None

    __slots__ = ("_data",)

    def __init__(self, data: Dict[str, Any]):
        if not isinstance(data, dict):
            raise TypeError(f"a record is a dict, not {type(data).__name__}")
        object.__setattr__(self, "_data", data)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]):
        """The record ``data`` (e.g. a plan.json read with ``json.load``), checked against coxa's
        own type of it: :class:`coxa.SchemaError` when it does not fit."""
        if not isinstance(data, dict):
            raise _coxa.SchemaError(f"not a {cls.kind or 'coxa'} record: a JSON object is expected, not {type(data).__name__}")
        if cls.kind in _VALIDATED:
            _coxa.validate(cls.kind, json.dumps(data))
        return cls(copy.deepcopy(data))

    @classmethod
    def from_json(cls, path: "os.PathLike[str] | str"):
        """The record in the JSON file ``path``, checked as :meth:`from_dict` checks it."""
        with open(path, encoding="utf-8") as f:
            try:
                data = json.load(f)
            except json.JSONDecodeError as e:
                raise _coxa.SchemaError(f"{path}: not JSON ({e})") from None
        return cls.from_dict(data)

    def to_dict(self) -> Dict[str, Any]:
        """The record as plain Python values (a deep copy), as its JSON file holds it."""
        return copy.deepcopy(self._data)

    def to_json(self, indent: Optional[int] = 2) -> str:
        """The record as JSON text."""
        return json.dumps(self._data, indent=indent)

    def fields(self) -> List[str]:
        """The record's field names."""
        return list(self._data)

    def __getattr__(self, name: str) -> Any:
        try:
            return _wrap(self._data[name])
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r} (fields: {', '.join(self._data)})") from None

    def __getitem__(self, name: str) -> Any:
        return _wrap(self._data[name])

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only; edit a copy: d = record.to_dict()")

    def __dir__(self) -> List[str]:
        return sorted(set(super().__dir__()) | {k for k in self._data if k.isidentifier()})

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return self._data == other._data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in list(self._data.items())[:6])
        more = ", ..." if len(self._data) > 6 else ""
        return f"{type(self).__name__}({shown}{more})"


def _short(v: Any) -> str:
    if isinstance(v, dict):
        return "{...}"
    if isinstance(v, list):
        return f"[{len(v)} items]"
    return repr(v)


# The kinds coxa's extension reads back into its own types.
_VALIDATED = {"plan", "anatomy", "landmarks", "rom", "report", "inputs"}


class PlanRecord(Record):
    """A planned hip (plan.json): ``cup``, ``head``, ``liner``, ``stem``, ``motions``, leg length
    and offset changes, ``objective``, ``notes``; see schemas/plan.schema.json."""

    kind = "plan"


class AnatomyRecord(Record):
    """The anatomy stage's measures (anatomy.json): ``femoral_heads``, ``acetabula``, ``femora``,
    ``pelvis``, ``muscles``, ``warnings``; see schemas/anatomy.schema.json."""

    kind = "anatomy"


class LandmarksRecord(Record):
    """Every landmark the later stages used, unrounded, LPS mm (landmarks.json)."""

    kind = "landmarks"


class RomRecord(Record):
    """Range of motion of an implanted hip: every motion's limit and first contact (``coxa rom``)."""

    kind = "rom"


class ReportRecord(Record):
    """A case's report (report.json): plan, sweep, range of motion, safe zone, muscles, warnings."""

    kind = "report"


class HcfRecord(Record):
    """The hip contact force (``coxa hcf``): magnitude in %BW, its direction in the OrthoLoad
    femoral frame, the muscle forces."""

    kind = "hcf"


class RadiomicsRecord(Record):
    """pyradiomics' features (``coxa radiomics``): ``rows``, one per image and label, each with its
    ``features`` as pyradiomics names them; ``to_rows()`` flattens them for ``pandas.DataFrame``."""

    kind = "radiomics"

    def to_rows(self) -> List[Dict[str, Any]]:
        """One flat dict per row (image, label, label_name, then every feature)."""
        out = []
        for row in self._data.get("rows", []):
            flat = {k: v for k, v in row.items() if not isinstance(v, dict)}
            for k, v in row.items():
                if isinstance(v, dict):
                    flat.update(v)
            out.append(flat)
        return out


class LesionsRecord(Record):
    """Bone lesion candidates (lesions.json): ``lesions``, each with its kind, bone, volume and place."""

    kind = "lesions"


class CaseRecord(Record):
    """A finished case's summary line (case.json)."""

    kind = "case"


class SummaryRecord(Record):
    """A run's summary (summary.json): every case's line (``cases``), or why it is not done."""

    kind = "summary"

"""coxa.plan on the z013 surfaces equals the program's plan.json; records read back are checked
against their schema; usage errors are ArgumentError."""

import json
import logging
import os
import subprocess
from typing import List

import pytest

import coxa
from conftest import data, run_cli


def z013(*names):
    return {n: data(f"vsd_bones/z013_{f}.stl") for n, f in names}


RIGHT = (("hip_right", "Hip_R"), ("femur_right", "Femur_R"))


# The program's stage lines in its log (COXA_LOG; the terminal shows the same events).
PROGRESS_LOG = "coxa_scenarios::cli::progress: "


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, coxa_bin):
    """`coxa plan` on the z013 surfaces: plan.json and the stages its log names, in order."""
    out = tmp_path_factory.mktemp("cli") / "plan"
    m = z013(*RIGHT)
    env = {**os.environ, "COXA_LOG": "coxa_scenarios::cli::progress=info", "NO_COLOR": "1"}
    argv = [str(coxa_bin), "plan", "--mesh", f"hip_right={m['hip_right']}", "--mesh", f"femur_right={m['femur_right']}", "--side", "right", "--out", str(out)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    stages = [line.split(PROGRESS_LOG, 1)[1] for line in r.stderr.splitlines() if PROGRESS_LOG in line]
    with open(out / "plan.json") as f:
        return json.load(f), stages


@pytest.fixture(scope="module")
def cli_plan(cli_run):
    return cli_run[0]


class _Kept(logging.Handler):
    """Keeps the records of the logger it is added to."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def py_run():
    """`coxa.plan` on the same surfaces: its record, the stages its callback received, and the
    records Python's logger `coxa` received at INFO (issue 58: the logging bridge)."""
    stages: List[str] = []
    logger, kept = logging.getLogger("coxa"), _Kept()
    level = logger.level
    logger.addHandler(kept)
    logger.setLevel(logging.INFO)
    try:
        p = coxa.plan(meshes={"hip_right": data("vsd_bones/z013_Hip_R.stl"), "femur_right": data("vsd_bones/z013_Femur_R.stl")}, side="right", progress=stages.append)
    finally:
        logger.removeHandler(kept)
        logger.setLevel(level)
    return p, stages, kept.records


@pytest.fixture(scope="module")
def py_plan(py_run):
    return py_run[0]


def test_progress_callback_receives_every_stage_the_program_shows(cli_run, py_run):
    cli_stages, py_stages = cli_run[1], py_run[1]
    assert len(cli_stages) >= 5 and cli_stages[0] == "input", cli_stages
    assert py_stages == cli_stages


def test_python_logging_receives_the_stages_as_they_begin(py_run):
    # The same stages, in order, as INFO records of the logger "coxa" (and nothing below INFO:
    # the logger's level decides, as in any Python program).
    stages, records = py_run[1], py_run[2]
    logged = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert [m for m in logged if m in stages] == stages, logged
    assert all(r.levelno >= logging.INFO and r.name == "coxa" for r in records)


def test_a_progress_callback_that_raises_is_raised_after_the_case(tmp_path):
    def fail(stage):
        raise RuntimeError(f"stop at {stage}")

    with pytest.raises(RuntimeError, match="stop at input"):
        coxa.plan(meshes=z013(*RIGHT), side="right", out=tmp_path / "p", grid_step_deg=10, progress=fail)
    # The case itself finished: the exception is the caller's, not a failed plan.
    assert (tmp_path / "p" / "plan.json").is_file()


def test_plan_equals_the_programs_plan_json(cli_plan, py_plan):
    d = py_plan.to_dict()
    # Provenance: the same coxa version and models; the git revision is the one each was built
    # at (the program in target/ may predate the last commit).
    p, q = d.pop("provenance"), cli_plan.pop("provenance")
    assert p.keys() == q.keys() and p["coxa_version"] == q["coxa_version"] and p["models"] == q["models"]
    assert d == cli_plan


def test_plan_from_mesh_arrays_equals_the_plan_from_files(py_plan):
    # The surfaces read into numpy arrays (coxa.read_mesh) and handed over as Mesh objects: the
    # same plan as from the files.
    meshes = {n: coxa.read_mesh(p) for n, p in z013(*RIGHT).items()}
    d, e = coxa.plan(meshes=meshes, side="right").to_dict(), py_plan.to_dict()
    d.pop("provenance"), e.pop("provenance")
    assert d == e


def test_plan_is_a_typed_record(py_plan):
    assert isinstance(py_plan, coxa.PlanRecord)
    assert py_plan["$schema"] == "plan.schema.json"
    cup = py_plan.cup
    assert isinstance(cup, coxa.Record) and cup.outer_diameter_mm == py_plan.to_dict()["cup"]["outer_diameter_mm"]
    assert 30 <= cup.radiographic_inclination_deg <= 55
    assert all(isinstance(m.name, str) for m in py_plan.motions)
    with pytest.raises(AttributeError):
        py_plan.cup = None  # type: ignore[assignment]
    # to_dict is a copy: editing it leaves the record as it was.
    d = py_plan.to_dict()
    d["cup"]["outer_diameter_mm"] = -1
    assert py_plan.cup.outer_diameter_mm > 0


def test_records_fed_back_are_checked_against_their_schema(py_plan, tmp_path):
    d = py_plan.to_dict()
    assert coxa.PlanRecord.from_dict(d) == py_plan
    bad = py_plan.to_dict()
    del bad["cup"]
    with pytest.raises(coxa.SchemaError, match="cup"):
        coxa.PlanRecord.from_dict(bad)
    bad = py_plan.to_dict()
    bad["cup"]["outer_diameter_mm"] = "fifty-two"
    with pytest.raises(coxa.SchemaError, match="plan"):
        coxa.PlanRecord.from_dict(bad)
    (tmp_path / "p.json").write_text("{ not json")
    with pytest.raises(coxa.CoxaError):
        coxa.PlanRecord.from_json(tmp_path / "p.json")


def test_bad_input_raises_the_programs_line(tmp_path, coxa_bin):
    # A value out of range: the program's check (exit status 2), an InputError.
    with pytest.raises(coxa.InputError, match="grid-step-deg = -3 is out of range"):
        coxa.plan(meshes=z013(*RIGHT), side="right", grid_step_deg=-3)
    # The options are typed keyword arguments: an unknown one is Python's TypeError, a value
    # outside a choice the program's line.
    with pytest.raises(TypeError, match="no_such_flag"):
        coxa.plan(meshes=z013(*RIGHT), side="right", no_such_flag=1)  # type: ignore[call-arg]
    with pytest.raises(coxa.ArgumentError, match="side=\"middle\": use one of left, right"):
        coxa.plan(meshes=z013(*RIGHT), side="middle")
    with pytest.raises(coxa.ArgumentError, match="cup_definition"):
        coxa.plan(meshes=z013(*RIGHT), side="right", cup_definition="sideways")
    broken = tmp_path / "hip.stl"
    broken.write_bytes(b"solid nothing\nendsolid\n")
    m = {"hip_right": broken, "femur_right": data("vsd_bones/z013_Femur_R.stl")}
    with pytest.raises(coxa.InputError) as e:
        coxa.plan(meshes=m, side="right", out=tmp_path / "p1")
    cli = run_cli(coxa_bin, "plan", "--mesh", f"hip_right={broken}", "--mesh", f"femur_right={m['femur_right']}", "--side", "right", "--out", str(tmp_path / "p2"))
    assert cli.returncode == 2
    assert cli.stderr.strip().endswith(str(e.value).replace(str(tmp_path / "p1"), str(tmp_path / "p2"))), (cli.stderr, str(e.value))
    assert not (tmp_path / "p1").exists()

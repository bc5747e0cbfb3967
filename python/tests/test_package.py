"""The package itself: its stubs are in step with the schemas, its version is coxa's, and any
command line runs in-process with the program's parser."""

import subprocess
import sys
from pathlib import Path

import pytest

import coxa
from conftest import ROOT


def test_record_stubs_match_the_schemas():
    r = subprocess.run([sys.executable, str(ROOT / "python" / "stubs.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # The installed package carries them (py.typed, the stubs).
    pkg = Path(coxa.__file__).parent
    for f in ("py.typed", "_coxa.pyi", "_records.pyi"):
        assert (pkg / f).is_file(), f


def test_version_and_exception_tree():
    assert coxa.__version__ == coxa._coxa.version().split("+")[0]
    for e in (coxa.ReadError, coxa.ArgumentError, coxa.SchemaError):
        assert issubclass(e, coxa.InputError) and issubclass(e, coxa.CoxaError)
    assert issubclass(coxa.InternalError, coxa.CoxaError) and not issubclass(coxa.InternalError, coxa.InputError)


def test_command_runs_the_programs_parser():
    with pytest.raises(coxa.ArgumentError, match="unrecognized subcommand 'plna'"):
        coxa.command("plna")
    with pytest.raises(coxa.ArgumentError, match="--out"):
        coxa.command("plan", "--mesh", "hip_right=x.stl")
    with pytest.raises(coxa.ArgumentError, match="no record kind"):
        coxa._coxa.validate("nothing", "{}")

"""Shared fixtures of the Python package's tests (scripts/test-python runs them in a fresh
virtual environment where `pip install <checkout>` installed coxa)."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = (ROOT / ".." / "shared" / "data").resolve()


def data(rel: str) -> Path:
    """A file of the shared test data (../shared/data); the test is skipped where it is absent,
    as the Rust tests skip (docs/TESTING.md)."""
    p = DATA / rel
    if not p.exists():
        pytest.skip(f"{p} is not here (../shared/data)")
    return p


@pytest.fixture(scope="session")
def coxa_bin() -> Path:
    """The `coxa` program built from this checkout ($COXA_BIN, else target/debug/coxa)."""
    p = Path(os.environ.get("COXA_BIN", ROOT / "target" / "debug" / "coxa"))
    if not p.exists():
        pytest.fail(f"{p}: build the program first (cargo build -p coxa-scenarios --bin coxa) or set COXA_BIN")
    return p


def run_cli(coxa_bin: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(coxa_bin), *argv], capture_output=True, text=True, timeout=600)

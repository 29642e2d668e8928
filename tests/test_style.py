"""The code style the project keeps: ruff's lint rules and formatter (configured in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PATHS = ["hfprobe", "tests", "benchmarks", "space"]


def _ruff() -> str:
    found = shutil.which("ruff") or str(Path(__import__("sys").executable).with_name("ruff"))
    if not Path(found).exists():
        pytest.fail("ruff is not installed; `pip install -e .[dev]` installs it")
    return found


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(args):
    proc = subprocess.run([_ruff(), *args, *PATHS], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

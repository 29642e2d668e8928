"""The code style the project keeps: ruff's lint rules and formatter (configured in pyproject.toml)."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("path", sorted((REPO / "hfprobe" / "data").glob("*.json")), ids=lambda p: p.name)
def test_package_data_repeats_no_key(path):
    """The registries are hand-edited JSON, where a key written twice silently keeps the last value."""

    def unique(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"{path.name} repeats {sorted({k for k in keys if keys.count(k) > 1})}"
        return dict(pairs)

    json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=unique)

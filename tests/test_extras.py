"""The lean install: without the optional extras hfprobe still inspects, and a command that needs an extra says
which one in one line, exit 2. The extras' top modules are blocked by an import hook in a fresh interpreter (the
same failure a base `pip install hfprobe` gives)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
EXTRA_MODULES = {
    "space": ["gradio", "gradio_client"],
    "search": ["lancedb"],
    "ray": ["ray"],
    "bench": ["matplotlib"],
    "clip": ["open_clip", "torchvision"],
}
ALL_BLOCKED = sorted(m for mods in EXTRA_MODULES.values() for m in mods)

RUNNER = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
from hfprobe.cli import main
code = main(sys.argv[2:])
leaked = sorted(m for m in BLOCKED if m in sys.modules)
assert not leaked, leaked
sys.exit(code)
"""


def run_blocked(blocked, *argv, cwd=None):
    return subprocess.run(
        [sys.executable, "-c", RUNNER, ",".join(blocked), *argv],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def embedding(tmp_path_factory):
    from tests.builders import save_textual_inversion

    return save_textual_inversion(tmp_path_factory.mktemp("ti") / "embedding")


def test_inspect_needs_no_extra(embedding):
    res = run_blocked(ALL_BLOCKED, "inspect", str(embedding), "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert '"format": "textual-inversion"' in res.stdout


@pytest.mark.parametrize(
    "extra, argv",
    [
        ("search", ["query", "a photo of a dog"]),
        ("search", ["index", "info"]),
        ("search", ["demo", "--preset", "test", "--out", "demo"]),  # before building anything
        ("space", ["space", "run"]),
        ("bench", ["bench", "--zoo", "no-such-zoo", "--out", "bench.json"]),
    ],
)
def test_a_command_names_its_extra(extra, argv, tmp_path):
    res = run_blocked(ALL_BLOCKED, *argv, cwd=tmp_path)
    assert res.returncode == 2, (res.stdout, res.stderr[-2000:])
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pip install 'hfprobe[{extra}]'" in lines[0], res.stderr
    assert "Traceback" not in res.stderr and not list(tmp_path.iterdir())  # nothing half-written


def test_ray_engine_names_its_extra(tmp_path):
    res = run_blocked(["ray"], "index", "add", "org/x", "--engine", "ray", "--index", str(tmp_path / "idx"))
    assert res.returncode == 2 and "pip install 'hfprobe[ray]'" in res.stderr, res.stderr[-2000:]


def test_pyproject_is_lean():
    """Base dependencies are bounded ranges (no exact pins), the optional libraries live in extras, [dev] holds them
    all, and the exact torch pair lives in constraints.txt, which install.sh uses."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = project["dependencies"]
    assert not [d for d in base if "==" in d], base
    assert all(">=" in d and "<" in d for d in base), base
    names = {d.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower() for d in base}
    assert not names & {"gradio", "lancedb", "ray", "matplotlib", "open_clip_torch", "torchvision"}, names
    extras = project["optional-dependencies"]
    assert set(extras) == {"space", "search", "ray", "bench", "clip", "dev"}
    assert any(
        d.startswith("hfprobe[") and all(e in d for e in ("space", "search", "ray", "bench", "clip"))
        for d in extras["dev"]
    )
    assert {"pytest", "ruff", "gradio_client", "playwright"} <= {d.split(">")[0].split("<")[0] for d in extras["dev"]}
    pins = [ln for ln in (REPO / "constraints.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    assert {p.split("==")[0] for p in pins} >= {"torch", "torchvision"}
    assert '-e ".[dev]" -c constraints.txt' in (REPO / "install.sh").read_text()
    # the license as an SPDX expression (PEP 639): setuptools stops building a `license = { text = … }` table after
    # 2027-02-18, and takes the expression from setuptools 77
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert isinstance(project["license"], str) and pyproject["build-system"]["requires"] == ["setuptools>=77"]

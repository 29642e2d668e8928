"""`hf probe …` through the real `hf` CLI (huggingface_hub's extension mechanism).

`hf extensions install OWNER/hf-probe` pip-installs the repo into its own venv and writes a manifest under
~/.local/share/hf/extensions/hf-probe/ pointing at that venv's `hf-probe` console script; `hf probe ARGS` then runs
that script with ARGS. Here the manifest is written with huggingface_hub's own ExtensionManifest, as the installer
writes it, pointing at this venv's `hf-probe` (the download from GitHub is the only step skipped), under a temporary
HOME; the output of `hf probe …` must equal that of `hfprobe …`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory):
    """A HOME with hf-probe installed as an `hf` extension, and the environment to run `hf` in it."""
    from huggingface_hub.cli.extensions import EXTENSIONS_ROOT, ExtensionManifest

    script = BIN / "hf-probe"
    if not script.is_file() or not (BIN / "hf").is_file():
        pytest.fail(
            f"{script} or {BIN / 'hf'} is missing: reinstall hfprobe (bash install.sh) to get the console script"
        )
    home = tmp_path_factory.mktemp("home")
    ext_dir = home / EXTENSIONS_ROOT.relative_to("~") / "hf-probe"
    ExtensionManifest(
        owner="someone",
        repo="hf-probe",
        repo_id="someone/hf-probe",
        short_name="probe",
        executable_path=str(script),
        type="python",
        installed_at=datetime.now(timezone.utc),
        description="Read a model's weights and say what it is.",
        commit_sha=None,
    ).save(ext_dir)
    env = dict(os.environ, HOME=str(home), HF_HUB_DISABLE_UPDATE_CHECK="1", HF_HUB_OFFLINE="1")
    return home, env


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    """A textual-inversion embedding: a real format whose inspect needs no heavy library (fast subprocesses)."""
    from tests.builders import save_textual_inversion

    return save_textual_inversion(tmp_path_factory.mktemp("ti") / "embedding").parent


def _run(cmd, env):
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_hf_probe_runs_the_same_command_as_hfprobe(hf_home, adapter):
    _, env = hf_home
    via_hf = _run([str(BIN / "hf"), "probe", "inspect", str(adapter), "--json"], env)
    direct = _run([str(BIN / "hfprobe"), "inspect", str(adapter), "--json"], env)
    assert via_hf.returncode == direct.returncode == 0, via_hf.stderr[-2000:]
    assert via_hf.stdout == direct.stdout
    assert '"format": "textual-inversion"' in via_hf.stdout


def test_hf_probe_errors_and_help(hf_home, tmp_path):
    _, env = hf_home
    missing = str(tmp_path / "no-such-lora")
    via_hf = _run([str(BIN / "hf"), "probe", "inspect", missing], env)
    direct = _run([str(BIN / "hfprobe"), "inspect", missing], env)
    assert via_hf.returncode == direct.returncode == 2
    assert via_hf.stderr == direct.stderr and "no such file or folder" in via_hf.stderr
    helped = _run([str(BIN / "hf"), "probe", "--help"], env)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: hf probe")
    listed = _run([str(BIN / "hf"), "extensions", "list"], env)
    assert listed.returncode == 0 and "hf probe" in listed.stdout and "someone/hf-probe" in listed.stdout


def test_console_script_is_declared():
    """The installed metadata declares both scripts (what `hf extensions install` looks for in the venv)."""
    from importlib.metadata import entry_points

    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts") if ep.value.startswith("hfprobe.")}
    assert scripts == {"hfprobe": "hfprobe.cli:main", "hf-probe": "hfprobe.cli:hf_main"}
    assert shutil.which("hf-probe", path=str(BIN))

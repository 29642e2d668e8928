"""Every test session gets its own HF_HOME and hfprobe cache, no token, and never reaches the network; a worker of a
parallel run gets one thread.

huggingface_hub reads HF_HOME and friends when it is first imported, so they are set here, at import
time, before any test module imports it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REALZOO = Path(os.environ.get("HFPROBE_REALZOO", REPO.parent / "shared" / "realzoo"))

_TMP = Path(tempfile.mkdtemp(prefix="hfprobe-tests-"))
os.environ["HF_HOME"] = str(_TMP / "hf_home")
os.environ["HF_TOKEN_PATH"] = str(_TMP / "hf_home" / "token")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HFPROBE_CACHE"] = str(_TMP / "hfprobe_cache")
for _var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HFPROBE_DEBUG", "HF_ENDPOINT", "HF_HUB_OFFLINE"):
    os.environ.pop(_var, None)
if "PYTEST_XDIST_WORKER" in os.environ:
    # the workers share the cores (`-n auto`: one a core): one thread each for torch and numpy's BLAS, which both read
    # this when they load. Two BLAS threads a worker waited on each other: a 17 ms scoring took 0.2-3.4 s.
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def realzoo() -> Path:
    """The folder of real third-party adapters; tests that need it skip where it is absent."""
    if not (REALZOO / "manifest.jsonl").is_file():
        pytest.skip(f"realzoo not found at {REALZOO} (set HFPROBE_REALZOO to the shared/realzoo folder)")
    return REALZOO


@pytest.fixture()
def realzoo_views(realzoo):
    """A view of each realzoo model whose weights are complete safetensors files (what the numpy reads cover); they
    close after the test."""
    from hfprobe.errors import HfprobeError
    from hfprobe.formats import open_weights

    views = []
    for folder in sorted((realzoo / "files").iterdir()):
        try:
            view = open_weights(folder)
        except HfprobeError:
            continue
        if view.truncated or not all(f.endswith(".safetensors") for f in view.files):
            view.close()
            continue
        views.append(view)
    yield views
    for view in views:
        view.close()


@pytest.fixture(scope="session")
def zoo() -> Path:
    """The `test` zoo preset, built once per session (it is cached by recipe hash in the session's cache)."""
    from hfprobe.zoo import build_zoo

    return build_zoo("test", seed=0, progress=False)


def manifest_rows(zoo: Path) -> list[dict]:
    """A built zoo's manifest.jsonl, one dict per model."""
    return [json.loads(line) for line in (zoo / "manifest.jsonl").read_text().splitlines()]


@pytest.fixture(scope="session")
def unet():
    """build(**config) -> {module: (d_out, d_in)} of diffusers' UNet2DConditionModel with that config (on meta)."""
    import torch
    from diffusers import UNet2DConditionModel

    from tests.model_shapes import module_shapes

    cache = {}

    def build(**config):
        key = repr(sorted(config.items()))
        if key not in cache:
            with torch.device("meta"):
                cache[key] = module_shapes(UNet2DConditionModel(**config))
        return cache[key]

    return build


@pytest.fixture(scope="session")
def hf_shapes():
    """build(family) -> {module: (d_out, d_in)} of the transformers model LLM_CONFIGS names for it (on meta)."""
    import torch
    from transformers import AutoConfig, AutoModel

    from tests.model_shapes import LLM_CONFIGS, module_shapes

    cache = {}

    def build(family: str) -> dict:
        if family not in cache:
            model_type, kwargs, _ = LLM_CONFIGS[family]
            config = AutoConfig.for_model(model_type, **kwargs)
            with torch.device("meta"):
                cache[family] = module_shapes(AutoModel.from_config(config))
        return cache[family]

    return build


@pytest.fixture(scope="session")
def unet_lora():
    """(a tiny diffusers UNet with a rank-4, alpha-8 PEFT LoRA, {module: its reference ΔW})."""
    from tests import builders as B

    unet = B.add_unet_lora(B.tiny_unet(), r=4, alpha=8)
    return unet, B.unet_lora_deltas(unet)

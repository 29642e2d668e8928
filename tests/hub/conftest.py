"""Fixtures of the Hub-read tests: fast timeouts and backoff for every test here, and a served adapter repo."""

from __future__ import annotations

import pytest

from tests.fakehub import FakeHub

from .faults import REPO, adapter_files


@pytest.fixture(autouse=True)
def fast_network(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 1)
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 1)
    monkeypatch.setenv("HFPROBE_HUB_BACKOFF", "0.05")
    for var in ("HFPROBE_HUB_RETRIES", "HFPROBE_MAX_DOWNLOAD", "HFPROBE_MAX_UNRANGED"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture()
def hub(tmp_path):
    hub = FakeHub(tmp_path / "hub")
    files, tensors = adapter_files()
    hub.add_repo(REPO, files)
    hub.tensors = tensors
    with hub.serving():
        yield hub

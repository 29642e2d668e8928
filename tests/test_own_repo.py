"""A Hub repo is never its own base. Read from the Hub (a server on 127.0.0.1), a model whose config.json was saved
from the repo itself (`_name_or_path` naming it, as a reload-and-push leaves it), whose card's usage code names it,
or which is a registry root's own repo (whose weights fit that root alone), had itself written as `base_model`."""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.tree.inspect import inspect_source
from tests.builders import write_header
from tests.fakehub import FakeHub


@pytest.fixture
def hub(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf_cache"))
    h = FakeHub(tmp_path / "hub")
    with h.serving():
        yield h


def _checkpoint(tmp_path, cls: str, config_cls: str, name_or_path: str | None) -> dict[str, bytes]:
    import transformers as tf

    with torch.device("meta"):
        model = getattr(tf, cls)(getattr(tf, config_cls)())
    weights = tmp_path / "w" / "model.safetensors"
    write_header(weights, {k: ("F16", tuple(v.shape)) for k, v in model.state_dict().items()}, data=False)
    config = model.config.to_dict()
    if name_or_path:
        config["_name_or_path"] = name_or_path
    return {"model.safetensors": weights.read_bytes(), "config.json": json.dumps(config, default=str)}


def test_a_config_saved_from_the_repo_itself_is_no_claim(hub, tmp_path):
    files = _checkpoint(tmp_path, "BertForSequenceClassification", "BertConfig", "org/bert-ft")
    hub.add_repo("org/bert-ft", {**files, "README.md": 'model = AutoModel.from_pretrained("org/bert-ft")\n'})
    report = inspect_source("org/bert-ft")
    assert report["base_model"]["id"] != "org/bert-ft", report["base_model"]  # was org/bert-ft, declared
    assert "this repo itself" in report["declared"]["ignored"]["config.json _name_or_path"]
    assert "config.json _name_or_path" not in report["declared"]


def test_a_roots_own_repo_has_no_base(hub, tmp_path):
    files = _checkpoint(tmp_path, "GPT2LMHeadModel", "GPT2Config", None)
    hub.add_repo("openai-community/gpt2", {**files, "README.md": "# GPT-2\nopenai-community/gpt2 is ...\n"})
    report = inspect_source("openai-community/gpt2")
    assert report["root"]["id"] == "openai-community/gpt2"  # the tree is its own
    assert report["base_model"]["id"] is None and "this repo itself" in report["base_model"]["reason"]


def test_a_fine_tune_still_gets_the_base_its_config_names(hub, tmp_path):
    """The neighbour: a config saved from the base it was tuned from names that base."""
    files = _checkpoint(tmp_path, "GPT2LMHeadModel", "GPT2Config", "openai-community/gpt2")
    hub.add_repo("org/gpt2-poems", files)
    assert inspect_source("org/gpt2-poems")["base_model"]["id"] == "openai-community/gpt2"


def test_a_snapshot_in_the_hugging_face_cache_is_its_repo(tmp_path):
    """The same repo read from huggingface_hub's cache folder (`models--org--name/snapshots/<sha>`): its config
    saved from the repo itself names no base."""
    folder = tmp_path / "hub" / "models--org--bert-ft" / "snapshots" / "0123abc"
    for name, data in _checkpoint(tmp_path, "BertForSequenceClassification", "BertConfig", "org/bert-ft").items():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)
    report = inspect_source(str(folder))
    assert report["base_model"]["id"] != "org/bert-ft" and "config.json _name_or_path" not in report["declared"]

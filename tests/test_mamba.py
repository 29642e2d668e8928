"""Mamba 1 (state-spaces' 130M to 2.8B) and Falcon Mamba 7B: one selective-scan mixer per block, no attention, no MLP
(`backbone.layers.N.mixer.in_proj`, `conv1d`, `x_proj`, `dt_proj`, `A_log`, `out_proj`). `x_proj` and `dt_proj` are
Mamba 1's own: Mamba-2 (Nemotron-H's mixers, Codestral Mamba) has neither, but a per-head `dt_bias`. Models are built
by transformers on the meta device at the published sizes and written as header-only safetensors files.

Before: Mamba had no family (its names no rule's, its sizes no root's), and `falcon-mamba` was a name hint to none.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

MAMBA = {  # hidden, layers, vocabulary, dt rank
    "state-spaces/mamba-130m-hf": (768, 24, 50280, 48),
    "state-spaces/mamba-370m-hf": (1024, 48, 50280, 64),
    "state-spaces/mamba-1.4b-hf": (2048, 48, 50280, 128),
    "state-spaces/mamba-2.8b-hf": (2560, 64, 50280, 160),
    "tiiuae/falcon-mamba-7b": (4096, 64, 65024, 256),
}


def _mamba(root: str, cls: str = "MambaForCausalLM", config: str = "MambaConfig"):
    import transformers as tf

    hidden, layers, vocab, dt_rank = MAMBA[root]
    kw = dict(hidden_size=hidden, num_hidden_layers=layers, vocab_size=vocab, intermediate_size=2 * hidden)
    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(state_size=16, time_step_rank=dt_rank, **kw))


@pytest.mark.parametrize("root", sorted(MAMBA))
def test_a_mamba_checkpoint_is_named_by_its_mixers(root, tmp_path):
    report = inspect_built(_mamba(root), tmp_path)
    assert report["family"] == "mamba" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report)[0] == root and not report["conflicts"]
    if root != "tiiuae/falcon-mamba-7b":  # (its instruct tune has its every shape)
        assert report["base_model"]["id"] == root and report["base_model"]["status"] == "weights"


def test_falcon_mamba_s_own_class_saves_mamba_s_names(tmp_path):
    report = inspect_built(_mamba("tiiuae/falcon-mamba-7b", "FalconMambaForCausalLM", "FalconMambaConfig"), tmp_path)
    assert report["family"] == "mamba" and set(_ids(report)[:2]) == {
        "tiiuae/falcon-mamba-7b",
        "tiiuae/falcon-mamba-7b-instruct",
    }


@pytest.mark.parametrize("lora", [["x_proj", "in_proj", "out_proj"], ["in_proj", "out_proj"]])
def test_a_mamba_lora_names_its_size(lora, tmp_path):
    """PEFT's Mamba recipe adapts `x_proj`, `in_proj` and `out_proj`; without `x_proj` the sizes still place it."""
    report = inspect_built(_mamba("state-spaces/mamba-1.4b-hf"), tmp_path, lora=lora)
    assert report["family"] == "mamba" and _ids(report)[0] == "state-spaces/mamba-1.4b-hf"
    assert not report["conflicts"]


def test_a_declared_falcon_mamba_instruct_is_written(tmp_path):
    config = {"peft_type": "LORA", "base_model_name_or_path": "tiiuae/falcon-mamba-7b-instruct"}
    report = inspect_built(_mamba("tiiuae/falcon-mamba-7b"), tmp_path, lora=["x_proj", "in_proj"], config=config)
    assert report["base_model"]["id"] == "tiiuae/falcon-mamba-7b-instruct" and not report["conflicts"]


def test_a_mamba_2_is_no_mamba(tmp_path):
    """Mamba-2's mixer has Mamba 1's `in_proj`, `conv1d` and `out_proj` names, but no `x_proj` nor `dt_proj`."""
    import transformers as tf

    with torch.device("meta"):
        model = tf.Mamba2ForCausalLM(tf.Mamba2Config(hidden_size=768, num_hidden_layers=24, num_heads=24, head_dim=64))
    report = inspect_built(model, tmp_path)
    assert report["family"] == "mamba2" and not any(i.startswith("state-spaces/mamba-") for i in _ids(report))


@pytest.mark.parametrize(
    "name, family",
    [
        ("tiiuae/falcon-mamba-7b-instruct", "mamba"),
        ("someorg/falcon-mamba-7b-sft", "mamba"),
        ("havenhq/mamba-chat", "mamba"),
        ("someorg/mamba-2.8b-slimpj-ft", "mamba"),
        ("mistralai/Mamba-Codestral-7B-v0.1", "mamba2"),
        ("someorg/mamba2-1.3b-ft", "mamba2"),
        ("tiiuae/Falcon-H1-7B-Instruct", "falcon_h1"),
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

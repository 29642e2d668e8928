"""Mamba hybrids beside Granite 4.0's: Falcon-H1 (TII; attention and a Mamba-2 mixer side by side in every layer),
Bamba (IBM; Mamba-2 layers and attention in three), Jamba (AI21; Mamba 1 layers, attention in one of eight, a
mixture in every other). Models are built by transformers on the meta device at the published sizes and written as
header-only files.

Before: Falcon-H1 read Mistral at 0.27 (its name: "an architecture the registry lacks"), Jamba Mistral at 0.3,
Bamba no family.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built, meta_causal_lm, meta_model

torch.set_num_threads(1)

FALCON_H1 = {  # hidden, layers, heads, kv heads, head width, MLP, vocabulary, Mamba heads, their width, state, norm
    "0.5B": (1024, 36, 8, 2, 64, 2048, 32784, 24, 64, 128, False),
    "1.5B-Deep": (1280, 66, 6, 2, 128, 3072, 65536, 24, 64, 256, True),
    "7B": (3072, 44, 12, 2, 128, 12288, 130048, 24, 128, 256, True),
}


def _falcon_h1(size: str):
    import transformers as tf

    hidden, layers, heads, kv, head, ffn, vocab, m_heads, m_head, state, norm = FALCON_H1[size]
    return meta_causal_lm(
        tf.FalconH1Config(
            hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
            head_dim=head, intermediate_size=ffn, vocab_size=vocab, mamba_d_ssm=m_heads * m_head,
            mamba_n_heads=m_heads, mamba_d_head=m_head, mamba_d_state=state, mamba_n_groups=1, mamba_rms_norm=norm,
        )
    )  # fmt: skip


def _bamba():
    import transformers as tf

    return meta_causal_lm(
        tf.BambaConfig(
            hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
            intermediate_size=14336, vocab_size=128256, attn_layer_indices=[9, 18, 27], mamba_n_heads=128,
            mamba_d_head=64, mamba_d_state=128, mamba_n_groups=1, mamba_expand=2, tie_word_embeddings=False,
        )
    )  # fmt: skip


def _jamba():
    import transformers as tf

    return meta_causal_lm(
        tf.JambaConfig(
            hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
            intermediate_size=14336, vocab_size=65536, num_experts=16, mamba_dt_rank=256, tie_word_embeddings=False,
        )
    )  # fmt: skip


@pytest.mark.parametrize("size", sorted(FALCON_H1))
def test_a_falcon_h1_checkpoint_is_its_size(size, tmp_path):
    report = inspect_built(_falcon_h1(size), tmp_path)
    assert report["family"] == "falcon_h1" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)[:2]) == {f"tiiuae/Falcon-H1-{size}-Base", f"tiiuae/Falcon-H1-{size}-Instruct"}
    assert report["base_model"]["id"] is None  # (a base and its instruct model share every shape)


@pytest.mark.parametrize("targets", [("q_proj", "v_proj"), ("in_proj",)], ids=["attention", "mamba"])
def test_a_lora_on_falcon_h1_is_falcon_h1_s(targets, tmp_path):
    # its attention heads are narrower than the width (8 of 64 on 1024), its Mamba-2 in_proj of its own size
    report = inspect_built(_falcon_h1("0.5B"), tmp_path, lora=targets)
    assert report["family"] == "falcon_h1" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {"tiiuae/Falcon-H1-0.5B-Base", "tiiuae/Falcon-H1-0.5B-Instruct"}


def test_a_declared_falcon_h1_adapter_is_written(tmp_path):
    config = {"peft_type": "LORA", "base_model_name_or_path": "tiiuae/Falcon-H1-7B-Instruct"}
    report = inspect_built(_falcon_h1("7B"), tmp_path, lora=("q_proj", "v_proj"), config=config)
    assert report["family"] == "falcon_h1" and report["base_model"]["id"] == "tiiuae/Falcon-H1-7B-Instruct"
    assert not report["conflicts"]


def test_a_bamba_checkpoint_is_bamba_s(tmp_path):
    report = inspect_built(_bamba(), tmp_path)
    assert report["family"] == "bamba" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert all(i.startswith("ibm-ai-platform/Bamba-9B-") for i in _ids(report)), _ids(report)
    assert report["base_model"]["id"] is None  # (v1, v2 and the intermediate checkpoints share every shape)


@pytest.mark.parametrize("targets", [("q_proj", "v_proj"), ("q_proj", "v_proj", "in_proj")], ids=["attention", "all"])
def test_a_lora_on_bamba_names_bamba_first(targets, tmp_path):
    # its attention (layers 9, 18, 27) has LLaMA 3 8B's sizes: its three layers alone, or its Mamba beside them
    report = inspect_built(_bamba(), tmp_path, lora=targets)
    assert report["family"] == "bamba" and _ids(report)[0].startswith("ibm-ai-platform/Bamba-9B-")
    assert report["base_model"]["id"] is None
    if "in_proj" in targets:
        assert report["family_confidence"] == 1.0 and all("Bamba" in i for i in _ids(report)), _ids(report)


def test_a_jamba_checkpoint_is_jamba_mini_s(tmp_path):
    report = inspect_built(_jamba(), tmp_path)
    assert report["family"] == "jamba" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {
        "ai21labs/Jamba-v0.1",
        *(f"ai21labs/AI21-Jamba-{v}" for v in ("1.5-Mini", "Mini-1.6", "Mini-1.7")),
    }


def test_a_lora_on_jamba_s_mamba_is_jamba_s(tmp_path):
    report = inspect_built(_jamba(), tmp_path, lora=("q_proj", "v_proj", "x_proj", "in_proj"))
    assert report["family"] == "jamba" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert all("Jamba" in i and "Large" not in i for i in _ids(report)), _ids(report)


@pytest.mark.parametrize(
    "name, family",
    [
        ("tiiuae/Falcon-H1-1.5B-Deep-Instruct", "falcon_h1"),
        ("someone/Falcon-H1R-7B-sft", "falcon_h1"),
        ("ibm-ai-platform/Bamba-9B-v2", "bamba"),
        ("ai21labs/AI21-Jamba-Mini-1.7", "jamba"),
        ("someone/mamba2-1.3b-ft", "mamba2"),
        ("ibm-granite/granite-4.0-h-tiny", "granite4"),
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


@pytest.mark.parametrize("model_type", ["zamba", "zamba2"])
def test_zamba_is_none_of_them(model_type, tmp_path):
    # Zamba's Mamba layers have their names; its shared transformer block (`shared_transf`) and Mamba decoder layers
    # are its own: it read Bamba at 0.3 in a first draft
    model = meta_model(model_type)
    assert inspect_built(model, tmp_path)["family"] not in ("bamba", "falcon_h1", "jamba", "granite4")

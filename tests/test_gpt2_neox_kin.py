"""Decoders in GPT-2's and GPT-NeoX's names that are not OpenAI's or EleutherAI's models: AI Sweden's GPT-SW3 (GPT-2's
model with 64,000 tokens and 2,048 positions; its config.json says `gpt2`) as GPT-2 roots, and ABEJA's
GPT-NeoX-Japanese (its own model type and prefix, pythia-2.8b's every layer size) as a family. Before, a GPT-SW3
checkpoint read gpt2 or gpt2-medium with a resized vocabulary, or no root at all (1.3B and up), and
GPT-NeoX-Japanese pythia-2.8b at 1.0, sure and wrong. Checkpoints are built by transformers on the meta device at
their published sizes and written as header-only safetensors files."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids, inspect_built, meta_class

torch.set_num_threads(1)

SW3 = dict(vocab_size=64000, n_positions=2048)
SW3_SIZES = {
    "126m": dict(SW3, n_embd=768, n_layer=12, n_head=12),
    "1.3b": dict(SW3, n_embd=2048, n_layer=24, n_head=32),
    "20b": dict(SW3, n_embd=6144, n_layer=44, n_head=48),
    "40b": dict(SW3, n_embd=8192, n_layer=48, n_head=64),
}
PYTHIA_2_8B = dict(hidden_size=2560, num_hidden_layers=32, intermediate_size=10240, vocab_size=50304)
ABEJA = "abeja/gpt-neox-japanese-2.7b"


@pytest.mark.parametrize("size", SW3_SIZES)
def test_a_gpt_sw3_checkpoint_names_its_release(size, tmp_path):
    """Its vocabulary and position table tell it from OpenAI's GPT-2 of the same widths (126m is gpt2's)."""
    report = inspect_built(meta_class("GPT2LMHeadModel", "GPT2Config", **SW3_SIZES[size]), tmp_path)
    root = f"AI-Sweden-Models/gpt-sw3-{size}"
    assert report["family"] == "gpt2" and report["family_confidence"] == 1.0
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, candidate_ids(report)


def test_a_lora_on_gpt_sw3_126m_lists_it_beside_gpt2_and_writes_none(tmp_path):
    """Its attention is gpt2's every size: the LoRA cannot tell them apart, and says so."""
    report = inspect_built(meta_class("GPT2LMHeadModel", "GPT2Config", **SW3_SIZES["126m"]), tmp_path, lora=("c_attn",))
    assert {"openai-community/gpt2", "AI-Sweden-Models/gpt-sw3-126m"} <= set(candidate_ids(report))
    assert report["base_model"]["id"] is None


def test_a_lora_on_gpt_sw3_6_7b_s_attention_lists_qwen_7b_beside_it():
    """Qwen 1 keeps GPT-2's names in Linear layers: a LoRA on `c_attn` alone, 12,288 x 4,096 in 32 blocks, is either;
    GPT-SW3's prior (0.3: its fine-tunes are far fewer) leaves Qwen's reading first, and none is written."""
    from hfprobe.tree.classify import classify

    # (PEFT's factors on GPT-2's Conv1D are [r, in] and [out, r], as on a Linear layer)
    report = classify({f"base_model.model.transformer.h.{i}.attn.c_attn": (12288, 4096) for i in range(32)})
    ids = {c["id"] for c in report.candidates}
    assert report.family == "qwen" and report.base_model["id"] is None, report.candidates
    assert {"Qwen/Qwen-7B", "AI-Sweden-Models/gpt-sw3-6.7b", "AI-Sweden-Models/gpt-sw3-6.7b-v2"} <= ids, ids


def test_a_lora_declaring_a_gpt_sw3_instruct_model_is_its_tree_s(tmp_path):
    model = meta_class("GPT2LMHeadModel", "GPT2Config", **SW3_SIZES["1.3b"])
    config = {"peft_type": "LORA", "base_model_name_or_path": "AI-Sweden-Models/gpt-sw3-1.3b-instruct"}
    report = inspect_built(model, tmp_path, lora=("c_attn",), config=config)
    assert report["root"]["id"] == "AI-Sweden-Models/gpt-sw3-1.3b", candidate_ids(report)
    assert report["root"]["tree"]["id"] == "AI-Sweden-Models/gpt-sw3-1.3b"
    assert not report["conflicts"]


@pytest.mark.parametrize("lora", [(), ("query_key_value",)])
def test_gpt_neox_japanese_is_its_own_family(lora, tmp_path):
    """Its prefix places it; its 32,000 tokens name ABEJA's release where the file holds the token table."""
    report = inspect_built(meta_class("GPTNeoXJapaneseForCausalLM", "GPTNeoXJapaneseConfig"), tmp_path, lora=lora)
    assert report["family"] == "gpt_neox_japanese" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert candidate_ids(report) == [ABEJA]
    assert report["base_model"]["id"] == (None if lora else ABEJA)


@pytest.mark.parametrize("lora", [(), ("query_key_value",)])
def test_pythia_keeps_its_reading(lora, tmp_path):
    """GPT-NeoX's own prefix: no GPT-NeoX-Japanese root beside pythia-2.8b, whose every layer size ABEJA's has."""
    model = meta_class("GPTNeoXForCausalLM", "GPTNeoXConfig", **PYTHIA_2_8B)
    report = inspect_built(model, tmp_path, lora=lora)
    assert report["family"] == "gpt_neox" and report["root"]["id"] == "EleutherAI/pythia-2.8b"
    assert ABEJA not in candidate_ids(report)


def test_a_bare_gpt_neox_japanese_is_kept_by_its_config(tmp_path):
    """Saved without its prefix it holds GPT-NeoX's every name; its config.json's model type keeps it."""
    model = meta_class("GPTNeoXJapaneseModel", "GPTNeoXJapaneseConfig")
    report = inspect_built(model, tmp_path, config={"model_type": "gpt_neox_japanese"})
    assert report["family"] == "gpt_neox_japanese" and report["root"]["id"] == ABEJA
    assert not report["conflicts"]


@pytest.mark.parametrize(
    "name, family",
    [
        ("AI-Sweden-Models/gpt-sw3-6.7b-v2-translator", "gpt2"),
        ("someone/gpt-sw3-356m-finetuned-swedish-news", "gpt2"),
        ("abeja/gpt-neox-japanese-2.7b", "gpt_neox_japanese"),
        ("someone/gpt-neox-japanese-2.7b-chat", "gpt_neox_japanese"),
        ("rinna/japanese-gpt-neox-3.6b", "gpt_neox"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


def test_prose_names_gpt_neox_japanese_not_gpt_neox():
    from hfprobe.tree.declared import declared_claims

    mentions = declared_claims(texts={"README.md": "A LoRA of GPT-NeoX-Japanese."})[0]["README.md mentions"]
    assert mentions == {"gpt_neox_japanese": 1}, mentions
    mentions = declared_claims(texts={"README.md": "A LoRA of GPT-SW3 1.3B."})[0]["README.md mentions"]
    assert mentions == {"gpt2": 1}, mentions

"""Gemma 3n (E2B and E4B): LLaMA's decoder names at 2048 wide, with LAuReL, AltUp and per-layer embedding layers beside
each block and vision and audio towers. Built by transformers on the meta device at each root's published sizes.
Before the family existed a Gemma 3n LoRA read as LLaMA at 0.3 with no root (an adapter on attention alone as
SmolLM3-3B, whose attention is E4B's), and `unsloth/gemma-3n-E4B-it`, Unsloth's notebooks' base, was "not in the
registry"."""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import built_shapes, lora_like

# each model's published text config (the fields that set its sizes), and its roots (a base and its instruct tune)
MODELS = {
    "e4b": ({}, {"google/gemma-3n-E4B", "google/gemma-3n-E4B-it"}),
    "e2b": ({"num_hidden_layers": 30, "intermediate_size": 8192, "num_kv_shared_layers": 10},
            {"google/gemma-3n-E2B", "google/gemma-3n-E2B-it"}),
}  # fmt: skip
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
ALL_LINEAR = (*ATTENTION, "gate_proj", "up_proj", "down_proj")


def built(name: str) -> dict:
    """{module: (d_out, d_in)} of the whole model, towers too, named as its checkpoint (`model.language_model.`)."""
    return {f"model.{k}": v for k, v in built_shapes("gemma3n", text_config=MODELS[name][0]).items()}


def _text(shapes: dict) -> dict:
    return {k: v for k, v in shapes.items() if ".language_model." in k}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_full_models_and_their_adapters_name_their_tree(name):
    """The whole checkpoint (its towers set aside), and LoRAs as Unsloth's notebooks train them: on the language
    model's every projection, and on the towers' too."""
    full = built(name)
    for shapes in (full, lora_like(_text(full), *ALL_LINEAR, prefix="base_model.model."), lora_like(full, *ALL_LINEAR)):
        r = classify(shapes)
        assert r.family == "gemma3n" and r.family_confidence >= 0.9, r.evidence
        assert {c["id"] for c in r.candidates[:2]} == MODELS[name][1], r.candidates


def test_an_adapter_on_attention_alone_leaves_smollm3_s_look_alike():
    """E4B's attention (8 heads and 2 key/value heads of 256 on 2048) is SmolLM3-3B's in every size (16 heads and 4
    of 128), 35 layers within its 36: an adapter on attention alone leaves both, unsure; its MLP (16384 wide,
    SmolLM3's 11008) rules SmolLM3 out."""
    lora = lora_like(_text(built("e4b")), *ATTENTION, prefix="base_model.model.")
    r = classify(lora)
    ids = {c["id"] for c in r.candidates}
    assert MODELS["e4b"][1] | {"HuggingFaceTB/SmolLM3-3B"} <= ids and r.confidence < 0.9, r.candidates
    with_mlp = lora_like(_text(built("e4b")), *ALL_LINEAR, prefix="base_model.model.")
    assert "HuggingFaceTB/SmolLM3-3B" not in {c["id"] for c in classify(with_mlp).candidates}


@pytest.mark.parametrize(
    "model, declared, written",
    [
        ("e4b", "unsloth/gemma-3n-E4B-it", "unsloth/gemma-3n-E4B-it"),  # Unsloth's notebooks' base, by its name
        ("e2b", "google/gemma-3n-E2B-it", "google/gemma-3n-E2B-it"),
        ("e4b", "google/gemma-3n-E2B-it", None),  # 35 layers of 16384, not E2B's 30 of 8192
        ("e4b", "google/gemma-3-4b-it", None),  # Gemma 3 4B: 2560 wide
    ],
)
def test_a_declared_base_is_checked_against_the_weights(model, declared, written):
    lora = lora_like(_text(built(model)), *ALL_LINEAR, prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.family == "gemma3n" and r.base_model["id"] == written, (r.base_model, r.conflicts)
    assert bool(r.conflicts) == (written is None), r.conflicts


@pytest.mark.parametrize(
    "name, root, family",
    [
        ("google/gemma-3n-E4B-it", "google/gemma-3n-E4B-it", "gemma3n"),
        ("unsloth/gemma-3n-E2B-it-unsloth-bnb-4bit", "google/gemma-3n-E2B-it", "gemma3n"),  # a re-upload's name
        ("someone/gemma-3n-medical-sft", None, "gemma3n"),
        ("google/gemma-3-4b-it", "google/gemma-3-4b-it", "gemma3"),  # Gemma 3 stays Gemma 3's
        ("google/recurrentgemma-2b", "google/recurrentgemma-2b", "recurrent_gemma"),  # Griffin: its own family
    ],
)
def test_names_resolve(name, root, family):
    assert resolve_name(name) == (root, family)


@pytest.mark.parametrize(
    "prose, families",
    [
        ("A LoRA of Gemma 3n E4B, trained with Unsloth.", {"gemma3n": 1}),
        ("Fine-tuned Gemma-3n on medical Q&A", {"gemma3n": 1}),
        ("A Gemma 2B adapter", {"gemma": 1}),
    ],
)
def test_a_readme_s_prose_names_the_family(prose, families):
    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions")
    assert mentions == families, mentions

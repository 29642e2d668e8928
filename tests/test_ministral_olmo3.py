"""Later models in an existing family's layout: Ministral 8B (2410) and Ministral 3 (3B, 8B, 14B) are Mistral's
(LLaMA's names; Ministral 3 under a Pixtral tower, `mistral3`), OLMo 3 (7B, 32B) is OLMo 2's (its sliding-window
layers add no weight). Their decoders are built by transformers on the meta device at each root's published sizes.
Before, a Ministral 3 LoRA read as Llama 3.2 Vision or LLaMA (no root), Ministral 8B's as Qwen3-8B's at 1.0, and
names with "Ministral" or "Olmo-3" claimed no family."""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import built_shapes, lora_like

_MINISTRAL = dict(num_attention_heads=32, num_key_value_heads=8, head_dim=128, vocab_size=131072)
_OLMO3 = dict(vocab_size=100278)
MODELS = {
    "ministral-3-3b": ("ministral3", dict(_MINISTRAL, hidden_size=3072, intermediate_size=9216, num_hidden_layers=26),
                       "mistralai/Ministral-3-3B-{}-2512"),
    "ministral-3-8b": ("ministral3", dict(_MINISTRAL, hidden_size=4096, intermediate_size=14336, num_hidden_layers=34),
                       "mistralai/Ministral-3-8B-{}-2512"),
    "ministral-3-14b": ("ministral3", dict(_MINISTRAL, hidden_size=5120, intermediate_size=16384,
                                           num_hidden_layers=40),
                        "mistralai/Ministral-3-14B-{}-2512"),
    "ministral-8b-2410": ("mistral", dict(_MINISTRAL, hidden_size=4096, intermediate_size=12288, num_hidden_layers=36),
                          "mistralai/Ministral-8B-Instruct-2410"),
    "olmo-3-7b": ("olmo3", dict(_OLMO3, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                                num_attention_heads=32, num_key_value_heads=32),
                  "allenai/Olmo-3-1025-7B"),
    "olmo-3-32b": ("olmo3", dict(_OLMO3, hidden_size=5120, intermediate_size=27648, num_hidden_layers=64,
                                 num_attention_heads=40, num_key_value_heads=8),
                   "allenai/Olmo-3-1125-32B"),
}  # fmt: skip
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def built(name: str) -> dict:
    model_type, config, _ = MODELS[name]
    return built_shapes(model_type, **config)


def _ids(name: str) -> set[str]:
    pattern = MODELS[name][2]
    return {pattern.format(kind) for kind in ("Base", "Instruct", "Reasoning")} if "{}" in pattern else {pattern}


@pytest.mark.parametrize("name", ["ministral-3-3b", "ministral-3-8b", "ministral-3-14b"])
def test_ministral_3_is_mistral_s_family_and_its_own_roots(name):
    """Ministral 3's 3B has queries wider than the model (4096 on 3072) and its 14B 4096 on 5120: no other root's;
    its 8B has Mistral 7B's and Llama 3 8B's widths in 34 blocks, which an adapter on every block tells apart (Llama
    3.2 11B Vision's 40 text blocks of those widths stay beside it, ranked lower)."""
    for shapes in (built(name), lora_like(built(name), *ALL_LINEAR, prefix="base_model.model.")):
        r = classify(shapes)
        assert r.family == "mistral" and r.candidates[0]["id"] == MODELS[name][2].format("Instruct"), r.evidence
        assert _ids(name) <= {c["id"] for c in r.candidates}, r.candidates  # (a base and its tunes share shapes)


def test_an_adapter_on_ministral_8b_s_36_blocks_leaves_qwen3_8b_beside_it():
    """Ministral 8B (2410) has Qwen3-8B's every width in as many blocks: an adapter on them leaves both roots (its
    full checkpoint's vocabulary and Qwen3's query and key norms tell them apart)."""
    r = classify(lora_like(built("ministral-8b-2410"), *ALL_LINEAR, prefix="base_model.model."))
    assert {"mistralai/Ministral-8B-Instruct-2410", "Qwen/Qwen3-8B"} <= {c["id"] for c in r.candidates}, r.candidates
    r = classify(built("ministral-8b-2410"))
    assert r.family == "mistral" and r.candidates[0]["id"] == "mistralai/Ministral-8B-Instruct-2410", r.candidates


@pytest.mark.parametrize("name", ["olmo-3-7b", "olmo-3-32b"])
def test_olmo_3_s_checkpoint_is_named_by_its_vocabulary(name):
    """OLMo 3 has OLMo 2's every width (and Llama 2 7B's in its 7B), and its norms' names (after attention and the
    MLP, on the queries and keys across the heads): its own vocabulary (100278 rows) ranks it first (a resized
    vocabulary lowers a root, it does not rule it out)."""
    shapes = built(name)
    layers = MODELS[name][1]["num_hidden_layers"]
    norms = [f"layers.{i}.{n}" for i in range(layers) for n in ("self_attn.q_norm", "post_feedforward_layernorm")]
    r = classify(shapes, names=[*shapes, *norms])
    assert r.family == "olmo2", r.evidence
    assert r.candidates[0]["id"].startswith("allenai/Olmo-3-"), r.candidates
    assert MODELS[name][2] in {c["id"] for c in r.candidates}, r.candidates


@pytest.mark.parametrize(
    "model, declared, written",
    [
        ("ministral-3-8b", "mistralai/Ministral-3-8B-Instruct-2512", "mistralai/Ministral-3-8B-Instruct-2512"),
        ("ministral-3-8b", "unsloth/Ministral-3-8B-Instruct-2512", "unsloth/Ministral-3-8B-Instruct-2512"),
        ("ministral-3-8b", "mistralai/Ministral-3-14B-Instruct-2512", None),  # 5120 wide
        ("ministral-3-8b", "meta-llama/Llama-3.1-8B-Instruct", None),  # 34 blocks, Llama's 32
        ("olmo-3-7b", "allenai/Olmo-3-7B-Instruct", "allenai/Olmo-3-7B-Instruct"),
        ("olmo-3-32b", "allenai/Olmo-3.1-32B-Instruct", "allenai/Olmo-3.1-32B-Instruct"),  # a derivative of 3's 32B
        ("olmo-3-32b", "allenai/Olmo-3-7B-Think", None),
    ],
)
def test_a_declared_base_is_checked_against_the_weights(model, declared, written):
    lora = lora_like(built(model), *ALL_LINEAR, prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.base_model["id"] == written, (r.base_model, r.conflicts)
    assert bool(r.conflicts) == (written is None), r.conflicts


@pytest.mark.parametrize(
    "name, root, family",
    [
        ("mistralai/Ministral-8B-Instruct-2410", "mistralai/Ministral-8B-Instruct-2410", "mistral"),
        ("mistralai/Ministral-3-3B-Reasoning-2512", "mistralai/Ministral-3-3B-Reasoning-2512", "mistral"),
        ("someone/Ministral-3-14B-abliterated", None, "mistral"),
        ("allenai/Olmo-3-32B-Think", "allenai/Olmo-3-1125-32B", "olmo2"),  # a derivative: its tune
        ("allenai/Olmo-3.1-32B-Think", "allenai/Olmo-3-1125-32B", "olmo2"),
        ("allenai/OLMoE-1B-7B-0924", "allenai/OLMoE-1B-7B-0924", "olmoe"),  # tests/test_moe_decoders.py
    ],
)
def test_names_resolve(name, root, family):
    assert resolve_name(name) == (root, family)


@pytest.mark.parametrize(
    "prose, families",
    [
        ("A LoRA of Ministral 8B for French law", {"mistral": 1}),
        ("Tuned from Olmo 3 7B Think", {"olmo2": 1}),
        ("fine-tuned from OLMo 2", {"olmo2": 1}),
    ],
)
def test_a_readme_s_prose_names_the_family(prose, families):
    assert declared_claims(texts={"README.md": prose})[0].get("README.md mentions") == families

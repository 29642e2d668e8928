"""Gemma 4: sliding-window layers with 256-wide heads and, every sixth layer (every fifth in E2B), global layers with
512-wide heads and their own key/value heads (in 12B, 26B-A4B and 31B the values are the keys: no `v_proj`); E2B
and E4B with Gemma 3n's per-layer embeddings and last layers that reuse earlier ones' keys and values (no `k_proj`,
`v_proj`; E2B's MLP twice as wide there); 26B-A4B a mixture of 128 experts beside each layer's dense MLP; 12B
(`gemma4_unified`) with no vision or audio encoder. Their decoders are built by transformers on the meta device at
each root's published sizes. Before the family existed a Gemma 4 LoRA read as Gemma 3n (E2B, E4B) or Gemma 3 at
0.3 with no root, and a card declaring `google/gemma-4-E4B-it` got no base_model, its name read as Gemma 1's."""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import built_shapes, lora_like

_E2B_LAYERS = (["sliding_attention"] * 4 + ["full_attention"]) * 7  # (the others: transformers' default, 5:1)
_GLOBAL_KV = dict(attention_k_eq_v=True, hidden_size_per_layer_input=0)
# each model's published text_config (the fields that set its sizes), and the roots its weights cannot tell apart
MODELS = {
    "e2b": ("gemma4_text", dict(hidden_size=1536, intermediate_size=6144, num_hidden_layers=35, num_attention_heads=8,
                                num_key_value_heads=1, layer_types=_E2B_LAYERS, num_kv_shared_layers=20,
                                use_double_wide_mlp=True, hidden_size_per_layer_input=256),
            {"google/gemma-4-E2B", "google/gemma-4-E2B-it"}),
    "e4b": ("gemma4_text", dict(hidden_size=2560, intermediate_size=10240, num_hidden_layers=42, num_attention_heads=8,
                                num_key_value_heads=2, num_kv_shared_layers=18, hidden_size_per_layer_input=256),
            {"google/gemma-4-E4B", "google/gemma-4-E4B-it"}),
    "26b-a4b": ("gemma4_text", dict(hidden_size=2816, intermediate_size=2112, num_hidden_layers=30,
                                    num_attention_heads=16, num_key_value_heads=8, num_global_key_value_heads=2,
                                    enable_moe_block=True, num_experts=128, top_k_experts=8,
                                    moe_intermediate_size=704, **_GLOBAL_KV),
                {"google/gemma-4-26B-A4B", "google/gemma-4-26B-A4B-it"}),
    "31b": ("gemma4_text", dict(hidden_size=5376, intermediate_size=21504, num_hidden_layers=60, num_attention_heads=32,
                                num_key_value_heads=16, num_global_key_value_heads=4, **_GLOBAL_KV),
            {"google/gemma-4-31B", "google/gemma-4-31B-it"}),
    "12b": ("gemma4_unified_text", dict(hidden_size=3840, intermediate_size=15360, num_hidden_layers=48,
                                        num_attention_heads=16, num_key_value_heads=8, num_global_key_value_heads=1,
                                        **_GLOBAL_KV),
            {"google/gemma-4-12B", "google/gemma-4-12B-it"}),
}  # fmt: skip
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
ALL_LINEAR = (*ATTENTION, "gate_proj", "up_proj", "down_proj")
PREFIX = "base_model.model.model.language_model."  # a PEFT adapter on Gemma4ForConditionalGeneration


def built(name: str) -> dict:
    """{module: (d_out, d_in)} of the decoder MODELS names (26B-A4B's routed experts are stacked 3-D parameters, no
    module of it)."""
    model_type, config, _ = MODELS[name]
    return built_shapes(model_type, **config)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("targets", [None, ATTENTION, ("q_proj", "v_proj"), ALL_LINEAR])
def test_full_models_and_their_adapters_name_their_tree(name, targets):
    """The global layers' wider queries (and their own key/value widths) are sized where they are: on layers 5, 11,
    ... (4, 9, ... in E2B)."""
    shapes = built(name) if targets is None else lora_like(built(name), *targets, prefix=PREFIX)
    r = classify(shapes)
    assert r.family == "gemma4" and r.family_confidence == 1.0, r.evidence
    assert {c["id"] for c in r.candidates} == MODELS[name][2], r.evidence


def test_a_gemma_3_adapter_is_no_gemma_4_s():
    """Gemma 3 4B has E4B's width, query width and MLP, and its key/value width is that of E4B's global layers: its
    queries on layers 5, 11, ... (E4B's global layers, twice as wide there) keep Gemma 4 out."""
    gemma3 = built_shapes("gemma3_text", hidden_size=2560, intermediate_size=10240, num_hidden_layers=34,
                          num_attention_heads=8, num_key_value_heads=4, head_dim=256, vocab_size=262208)  # fmt: skip
    for targets in (ATTENTION, ALL_LINEAR):
        r = classify(lora_like(gemma3, *targets, prefix="base_model.model."))
        assert r.family == "gemma3" and r.family_confidence == 1.0, r.evidence
        assert {c["id"] for c in r.candidates} == {"google/gemma-3-4b-pt", "google/gemma-3-4b-it"}, r.candidates


def test_the_hub_checkpoint_s_towers_experts_and_scales(tmp_path):
    """The Hub's 26B-A4B is the multimodal model: its decoder under `model.language_model.` with each layer's
    `layer_scalar` and router scales (Gemma 4's own names), the routed experts stacked in two 3-D parameters (read
    at one expert's shape), and a vision tower (`model.vision_tower.`, `model.embed_vision.`) set aside."""
    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    tensors = {f"model.language_model.{k}.weight": ("BF16", v) for k, v in built("26b-a4b").items()}
    for i in range(30):
        p = f"model.language_model.layers.{i}."
        tensors |= {p + "layer_scalar": ("BF16", (1,)), p + "router.per_expert_scale": ("BF16", (128,))}
        tensors |= {p + "experts.gate_up_proj": ("BF16", (128, 1408, 2816))}
        tensors |= {p + "experts.down_proj": ("BF16", (128, 2816, 704))}
    for i in range(27):
        p = f"model.vision_tower.encoder.layers.{i}."
        tensors |= {p + f"self_attn.{w}_proj.linear.weight": ("BF16", (1152, 1152)) for w in "qkvo"}
        tensors |= {p + f"mlp.{w}_proj.linear.weight": ("BF16", (4304, 1152)) for w in ("gate", "up")}
        tensors |= {p + "mlp.down_proj.linear.weight": ("BF16", (1152, 4304))}
    tensors["model.embed_vision.embedding_projection.weight"] = ("BF16", (2816, 1152))
    write_header(tmp_path / "model.safetensors", tensors, data=False)
    r = inspect_source(str(tmp_path))
    assert r["family"] == "gemma4" and r["family_confidence"] == 1.0, r["root"]
    assert {c["id"] for c in r["root"]["candidates"]} == MODELS["26b-a4b"][2], r["root"]
    assert any("vision or audio tower" in e for e in r["root"]["evidence"]), r["root"]["evidence"]


@pytest.mark.parametrize(
    "model, declared, written",
    [
        ("e4b", "google/gemma-4-E4B-it", "google/gemma-4-E4B-it"),
        ("e4b", "unsloth/gemma-4-E4B-it", "unsloth/gemma-4-E4B-it"),  # a re-upload, by its name
        ("31b", "google/gemma-4-31B", "google/gemma-4-31B"),
        ("e4b", "google/gemma-3-4b-it", None),  # E4B's width, but not its global layers' queries
        ("26b-a4b", "google/gemma-4-31B-it", None),
        ("e2b", "google/gemma-3n-E2B-it", None),
    ],
)
def test_a_declared_base_is_checked_against_the_weights(model, declared, written):
    lora = lora_like(built(model), *ALL_LINEAR, prefix=PREFIX)
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.family == "gemma4" and r.base_model["id"] == written, (r.base_model, r.conflicts)
    assert bool(r.conflicts) == (written is None), r.conflicts


@pytest.mark.parametrize(
    "name, root, family",
    [
        ("google/gemma-4-31B-it", "google/gemma-4-31B-it", "gemma4"),
        ("google/gemma-4-12B", "google/gemma-4-12B", "gemma4"),
        ("unsloth/gemma-4-26B-A4B-it-GGUF", "google/gemma-4-26B-A4B-it", "gemma4"),  # a re-upload, by its name
        ("someone/gemma-4-31b-it-abliterated", None, "gemma4"),
        ("google/gemma-4-E2B-it-assistant", None, None),  # a drafter: an architecture of its own
        ("google/gemma-3n-E4B-it", "google/gemma-3n-E4B-it", "gemma3n"),
        ("google/gemma-7b", "google/gemma-7b", "gemma"),
    ],
)
def test_names_resolve(name, root, family):
    assert resolve_name(name) == (root, family)


@pytest.mark.parametrize(
    "prose, families",
    [
        ("A LoRA for Gemma 4 E4B, trained with Unsloth.", {"gemma4": 1}),
        ("QLoRA of Gemma-4 31B on legal Q&A", {"gemma4": 1}),
        ("Fine-tuned Gemma 3n on charts", {"gemma3n": 1}),
        ("Fine-tuned Gemma on charts", {"gemma": 1}),
    ],
)
def test_a_readme_s_prose_names_the_family(prose, families):
    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions")
    assert mentions == families, mentions

"""Qwen3.5 (and Qwen3.6): three of every four layers Gated DeltaNet linear attention (`linear_attn.in_proj_qkv`,
`in_proj_z`, `in_proj_a`, `in_proj_b`, `out_proj`), the fourth gated full attention whose `q_proj` is twice the
queries (each head's output gate beside them); dense models with LLaMA's MLP, mixtures with 256 or 512 small routed
experts and one shared. Their models are built by transformers on the meta device at each root's published sizes.
Before the family existed a Qwen3.5 LoRA read as LLaMA at 0.3 with no root, and a card declaring Qwen3.5-9B got no
base_model ("not in the registry"), its name read as Qwen3's."""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import LLM_CONFIGS, built_shapes, inspect_declaring, lora_like

_9B = LLM_CONFIGS["qwen3_5"][1]
_MOE = dict(_9B, hidden_size=2048, num_hidden_layers=40, num_key_value_heads=2, num_experts=256,
            moe_intermediate_size=512, shared_expert_intermediate_size=512)  # fmt: skip
_MOE.pop("intermediate_size")
# each model's published text_config (the fields that set its sizes), and the roots its weights cannot tell apart
MODELS = {
    "0.8b": ("qwen3_5_text", dict(_9B, hidden_size=1024, intermediate_size=3584, num_hidden_layers=24,
                                  num_attention_heads=8, num_key_value_heads=2, linear_num_value_heads=16),
             {"Qwen/Qwen3.5-0.8B-Base", "Qwen/Qwen3.5-0.8B"}),
    "4b": ("qwen3_5_text", dict(_9B, hidden_size=2560, intermediate_size=9216),
           {"Qwen/Qwen3.5-4B-Base", "Qwen/Qwen3.5-4B"}),
    "9b": ("qwen3_5_text", _9B, {"Qwen/Qwen3.5-9B-Base", "Qwen/Qwen3.5-9B"}),
    "27b": ("qwen3_5_text", dict(_9B, hidden_size=5120, intermediate_size=17408, num_hidden_layers=64,
                                 num_attention_heads=24, linear_num_value_heads=48),
            {"Qwen/Qwen3.5-27B"}),
    "35b-a3b": ("qwen3_5_moe_text", _MOE,
                {"Qwen/Qwen3.5-35B-A3B-Base", "Qwen/Qwen3.5-35B-A3B", "Qwen/Qwen3.6-35B-A3B"}),
    "122b-a10b": ("qwen3_5_moe_text", dict(_MOE, hidden_size=3072, num_hidden_layers=48, num_attention_heads=32,
                                           linear_num_value_heads=64, moe_intermediate_size=1024,
                                           shared_expert_intermediate_size=1024),
                  {"Qwen/Qwen3.5-122B-A10B"}),
}  # fmt: skip
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
LINEAR = ("in_proj_qkv", "in_proj_z", "out_proj")
ALL_LINEAR = (*ATTENTION, *LINEAR, "gate_proj", "up_proj", "down_proj")  # (the dense MLP and the shared expert's)
PREFIX = "base_model.model.model.language_model."  # a PEFT adapter on Qwen3_5ForConditionalGeneration


def built(name: str, **over) -> dict:
    """{module: (d_out, d_in)} of the decoder MODELS names (a mixture's routed experts are transformers 5's stacked
    3-D parameters, no module of it)."""
    model_type, config, _ = MODELS[name]
    return built_shapes(model_type, **{**config, **over})


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("targets", [None, ATTENTION, ("q_proj", "v_proj"), LINEAR, ALL_LINEAR])
def test_full_models_and_their_adapters_name_their_tree(name, targets):
    """An adapter on the full attention alone (every fourth layer) has LLaMA's names, and its widths place it: a
    query projection twice the queries (the output gate), 256-wide heads. (27B's queries and values alone are
    GLM-4.5's too, 12288 and 1024 on 5120, which takes a little of the score.)"""
    shapes = built(name) if targets is None else lora_like(built(name), *targets, prefix=PREFIX)
    r = classify(shapes)
    assert r.family == "qwen3_5" and r.family_confidence >= 0.85, r.evidence
    assert {c["id"] for c in r.candidates} >= MODELS[name][2], r.evidence
    top = sum(c["score"] for c in r.candidates if c["id"] in MODELS[name][2])
    assert top >= 0.75, r.candidates  # (a base and its chat tune share shapes; a look-alike scores little)


def test_a_query_projection_without_its_gate_is_no_qwen3_5_root_s():
    """Qwen3's own attention at 9B's widths (4096 queries on 4096, no output gate) fits no Qwen3.5 root; nor do
    linear-attention value heads of another count (48 on 9B's width)."""
    lora = lora_like(built("9b"), *ATTENTION, prefix=PREFIX)
    ungated = {k: (4096, 4096) if k.endswith("q_proj") else v for k, v in lora.items()}
    assert not {c["id"] for c in classify(ungated).candidates} & MODELS["9b"][2]
    heads48 = lora_like(built("9b", linear_num_value_heads=48), *LINEAR, prefix=PREFIX)
    assert not {c["id"] for c in classify(heads48).candidates} & MODELS["9b"][2]


def test_full_attention_on_every_layer_is_no_qwen3_5_s():
    """Qwen3.5's full attention is on layers 3, 7, 11, ... (the others are linear attention): its 9B's attention
    widths on every one of 32 layers, or Llama 3 8B's keys and values (1024 on 4096, 32 layers, as 9B's), fit no
    Qwen3.5 root; the multi-token prediction layer's attention (`mtp.layers.0`) is its own."""
    lora = lora_like(built("9b"), *ATTENTION, prefix=PREFIX)
    every = {
        k.replace(".layers.3.", f".layers.{i}."): v for k, v in lora.items() if ".layers.3." in k for i in range(32)
    }
    assert not {c["id"] for c in classify(every).candidates} & MODELS["9b"][2]
    mtp = lora | {k.replace(PREFIX + "layers.3.", "base_model.model.mtp.layers.0."): v for k, v in lora.items()}
    assert {c["id"] for c in classify(mtp).candidates} >= MODELS["9b"][2]


@pytest.mark.parametrize("targets", [None, (*ATTENTION, "in_proj_qkvz", "out_proj")])
def test_qwen3_next_s_fused_linear_attention_is_no_qwen3_5(targets):
    """Qwen3-Next (80B-A3B), Qwen3.5's forerunner, fuses its linear attention's projections (`in_proj_qkvz`,
    `in_proj_ba`): a family of its own (it was Qwen3's or LLaMA's at 0.3, and with the Gated DeltaNet's shared names
    Qwen3.5's; then no family while the registry lacked it)."""
    shapes = built_shapes("qwen3_next", num_hidden_layers=8)
    r = classify(shapes if targets is None else lora_like(shapes, *targets, prefix="base_model.model."))
    assert r.family == "qwen3_next", r.evidence


def test_the_hub_checkpoint_s_vision_tower_and_prediction_layer():
    """The Hub's checkpoint is the whole multimodal model: its language model under `model.language_model.`, a vision
    tower under `model.visual.` (set aside: the tree is the decoder's) and a multi-token prediction layer under
    `mtp.` (one full-attention layer and its input projection), all within the root's sizes."""
    full = built_shapes("qwen3_5", text_config=MODELS["9b"][1], vision_config={"out_hidden_size": 4096})
    shapes = {f"model.{k}": v for k, v in full.items()}
    assert any(k.startswith("model.visual.blocks.") for k in shapes)
    shapes |= {f"mtp.{k.removeprefix('model.language_model.')}": v for k, v in shapes.items() if ".layers.3." in k}
    shapes["mtp.fc"] = (4096, 8192)
    r = classify(shapes)
    assert r.family == "qwen3_5" and r.family_confidence == 1.0, r.evidence
    assert {c["id"] for c in r.candidates} == MODELS["9b"][2], r.evidence
    assert any("vision or audio tower" in e for e in r.evidence), r.evidence


def test_a_mixture_s_stacked_experts_are_read_at_one_expert_s_shape(tmp_path):
    """The Hub's Qwen3.5-35B-A3B holds each layer's routed experts stacked in two 3-D parameters, [experts, out,
    in] with no `.weight` (`mlp.experts.gate_up_proj`, `mlp.experts.down_proj`): read at one expert's shape. They
    were read as [experts, out], which ruled out every root of the family (a down projection "256x2048")."""
    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    tensors = {f"model.language_model.{k}.weight": ("BF16", v) for k, v in built("35b-a3b").items()}
    for i in range(40):
        tensors[f"model.language_model.layers.{i}.mlp.experts.gate_up_proj"] = ("BF16", (256, 1024, 2048))
        tensors[f"model.language_model.layers.{i}.mlp.experts.down_proj"] = ("BF16", (256, 2048, 512))
    write_header(tmp_path / "model.safetensors", tensors, data=False)
    r = inspect_source(str(tmp_path))
    assert r["family"] == "qwen3_5" and r["family_confidence"] == 1.0, r["root"]
    assert {c["id"] for c in r["root"]["candidates"]} == MODELS["35b-a3b"][2], r["root"]
    wide = dict(tensors, **{"model.language_model.layers.0.mlp.experts.down_proj": ("BF16", (256, 2048, 1024))})
    write_header(tmp_path / "model.safetensors", wide, data=False)
    assert not {c["id"] for c in inspect_source(str(tmp_path))["root"]["candidates"]}  # one layer's 1024 wide: no root


@pytest.mark.parametrize(
    "model, declared, written",
    [
        ("9b", "Qwen/Qwen3.5-9B", "Qwen/Qwen3.5-9B"),
        ("9b", "unsloth/Qwen3.5-9B", "unsloth/Qwen3.5-9B"),  # a re-upload, by its name
        ("27b", "Qwen/Qwen3.6-27B", "Qwen/Qwen3.6-27B"),  # Qwen3.5's architecture, by its name (no root: one source)
        ("35b-a3b", "Qwen/Qwen3.6-35B-A3B", "Qwen/Qwen3.6-35B-A3B"),
        ("9b", "Qwen/Qwen3.5-4B", None),  # 2560 wide, the weights 4096
        ("9b", "Qwen/Qwen3-8B", None),  # Qwen3: no linear attention, a query projection without its gate
        ("35b-a3b", "Qwen/Qwen3-Next-80B-A3B-Instruct", None),  # Qwen3-Next's linear attention is fused
    ],
)
def test_a_declared_base_is_checked_against_the_weights(model, declared, written):
    lora = lora_like(built(model), *ALL_LINEAR, prefix=PREFIX)
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.family == "qwen3_5" and r.base_model["id"] == written, (r.base_model, r.conflicts)
    if written is None:
        assert r.conflicts, r.conflicts


@pytest.mark.parametrize(
    "name, root, family",
    [
        ("Qwen/Qwen3.5-9B", "Qwen/Qwen3.5-9B", "qwen3_5"),
        ("Qwen/Qwen3.5-35B-A3B-Base", "Qwen/Qwen3.5-35B-A3B-Base", "qwen3_5"),
        ("Qwen/Qwen3.6-35B-A3B", "Qwen/Qwen3.6-35B-A3B", "qwen3_5"),
        ("Qwen/Qwen3.6-27B", None, "qwen3_5"),
        ("unsloth/Qwen3.5-4B-GGUF", "Qwen/Qwen3.5-4B", "qwen3_5"),  # a re-upload, by its name
        ("Qwen/Qwen3-Next-80B-A3B-Instruct", "Qwen/Qwen3-Next-80B-A3B-Instruct", "qwen3_next"),  # not Qwen3's
        ("Qwen/Qwen3-8B", "Qwen/Qwen3-8B", "qwen3"),
    ],
)
def test_names_resolve(name, root, family):
    assert resolve_name(name) == (root, family)


@pytest.mark.parametrize(
    "prose, families",
    [
        ("A LoRA for Qwen3.5-9B, trained with Unsloth.", {"qwen3_5": 1}),
        ("QLoRA of Qwen 3.6 on legal Q&A", {"qwen3_5": 1}),
        ("Fine-tuned Qwen3-8B on charts", {"qwen3": 1}),
        ("A Qwen3-Next adapter", {"qwen3_next": 1}),  # not Qwen3's
        ("Qwen3-Coder-Next, fine-tuned", {"qwen3_next": 1}),
    ],
)
def test_a_readme_s_prose_names_the_family(prose, families):
    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions")
    assert mentions == families, mentions


@pytest.mark.parametrize(
    "text_over, base_model",
    [
        ({}, "someorg/qwen3.5-9b-sft"),  # 9B's sizes: the registry's roots stay the candidates
        ({"linear_num_value_heads": 48}, None),  # 6144-wide linear values, not the weights' 4096
        ({"num_attention_heads": 8}, None),  # a 4096-wide gated query, not 8192
    ],
)
def test_a_declared_base_the_registry_lacks_is_checked_by_its_config(tmp_path, monkeypatch, text_over, base_model):
    """The Hub's config.json is the multimodal model's, its sizes under `text_config`: the linear attention's
    widths from its heads, the full attention's query twice its heads (their gates)."""
    from huggingface_hub import constants
    from transformers import AutoConfig

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf_cache"))
    lora = lora_like(built("9b"), *ALL_LINEAR, prefix=PREFIX)
    config = AutoConfig.for_model("qwen3_5", text_config={**_9B, **text_over}).to_dict()
    assert "hidden_size" not in config and config["text_config"]["hidden_size"] == 4096
    r = inspect_declaring(tmp_path, lora, "someorg/qwen3.5-9b-sft", config)
    assert r["family"] == "qwen3_5" and r["base_model"]["id"] == base_model, r["base_model"]
    assert bool(r["conflicts"]) is (base_model is None), r["conflicts"]
    if base_model:
        assert "config.json" in r["base_model"]["reason"]
        assert {c["id"] for c in r["root"]["candidates"]} >= MODELS["9b"][2], r["root"]

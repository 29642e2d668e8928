"""GLM-4.5 and 4.6 (and GLM-4.5-Air): grouped-query attention with 96 query heads of 128 on a 4096 or 5120 width,
over DeepSeek-V3's mixture (many small routed experts, one shared, the first layers dense). Their models are built by
transformers on the meta device at each root's published sizes. Before the family existed a GLM-4.5-Air LoRA read
as LLaMA at 0.3 with no root, and a card declaring GLM-4.5-Air or GLM-4.6 got no base_model ("not in the
registry")."""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import LLM_CONFIGS, built_shapes, expert_lora, inspect_declaring, lora_like

_AIR = LLM_CONFIGS["glm4_moe"][1]
# each model's published config.json (the fields that set its sizes), and the roots its weights cannot tell apart
MODELS = {
    "air": (_AIR, {"zai-org/GLM-4.5-Air-Base", "zai-org/GLM-4.5-Air"}),
    "glm-4.5": (dict(_AIR, hidden_size=5120, intermediate_size=12288, moe_intermediate_size=1536, num_hidden_layers=92,
                     n_routed_experts=160, first_k_dense_replace=3, use_qk_norm=True),
                {"zai-org/GLM-4.5-Base", "zai-org/GLM-4.5"}),
}  # fmt: skip
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
ALL_LINEAR = (*ATTENTION, "gate_proj", "up_proj", "down_proj")  # (the dense layers' MLP and the shared experts')


def built(name: str, **over) -> dict:
    """{module: (d_out, d_in)} of the model MODELS names (its per-expert weights are transformers 5's stacked 3-D
    parameters, no module of it)."""
    return built_shapes("glm4_moe", **{**MODELS[name][0], **over})


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("targets", [None, ATTENTION, ("q_proj", "v_proj"), ALL_LINEAR])
def test_full_models_and_their_adapters_name_their_tree(name, targets):
    """A LoRA on the attention alone has LLaMA's names, and its widths (12288 queries on 4096) place it."""
    shapes = built(name) if targets is None else lora_like(built(name), *targets, prefix="base_model.model.")
    r = classify(shapes)
    assert r.family == "glm4_moe" and r.family_confidence == 1.0, r.evidence
    assert {c["id"] for c in r.candidates} == MODELS[name][1], r.evidence  # (a base and its chat tune share shapes)


def test_a_lora_on_every_expert_as_peft_saves_it_for_transformers_4():
    """Under transformers 4 each routed expert is a module of its own, and a LoRA on `gate_proj` adapts all 128 of
    Air's in every mixture layer: sized by the experts' width (1408), their count the root's; a width of GLM-4.5's
    (1536) on Air's layers is no root's."""
    lora = lora_like(built("air"), *ATTENTION, prefix="base_model.model.")
    lora |= expert_lora(range(1, 46), 128, 4096, 1408, 1408)
    r = classify(lora)
    assert r.family == "glm4_moe" and {c["id"] for c in r.candidates} == MODELS["air"][1], r.evidence
    wide = {
        k: (1536, 4096) if ".mlp.experts." in k and k.endswith(("gate_proj", "up_proj")) else v for k, v in lora.items()
    }
    assert not {c["id"] for c in classify(wide).candidates} & MODELS["air"][1]
    fewer = {k: v for k, v in lora.items() if ".experts." not in k or int(k.split(".experts.")[1].split(".")[0]) < 64}
    assert not {c["id"] for c in classify(fewer).candidates} & MODELS["air"][1]  # 64 experts: not Air's 128


def test_the_hub_checkpoint_s_prediction_block_and_stacked_experts():
    """GLM-4.5-Air's own checkpoint holds a 47th block (`model.layers.46`: its multi-token prediction, which
    transformers leaves out) and, saved by transformers 5, each layer's experts stacked in one 3-D parameter: the
    block is within the root's depth, the stacks no layer the family does not know; a 48th block is past it."""
    shapes = {f"model.{k}": v for k, v in built("air").items()}
    for k, v in list(shapes.items()):
        if k.startswith("model.layers.45."):
            shapes[k.replace("layers.45.", "layers.46.")] = v
    shapes |= {"model.layers.46.eh_proj": (4096, 8192), "model.layers.46.shared_head.head": (151552, 4096)}
    shapes |= {
        "model.layers.5.mlp.experts.gate_up_proj": (2816, 4096),
        "model.layers.5.mlp.experts.down_proj": (4096, 1408),
    }
    r = classify(shapes)
    assert r.family == "glm4_moe" and {c["id"] for c in r.candidates} == MODELS["air"][1], r.evidence
    deeper = shapes | {"model.layers.47.self_attn.q_proj": (12288, 4096)}
    assert not {c["id"] for c in classify(deeper).candidates} & MODELS["air"][1]


@pytest.mark.parametrize(
    "model, declared, written",
    [
        ("air", "zai-org/GLM-4.5-Air", "zai-org/GLM-4.5-Air"),
        ("air", "unsloth/GLM-4.5-Air", "unsloth/GLM-4.5-Air"),  # a re-upload, by its name
        ("glm-4.5", "zai-org/GLM-4.6", "zai-org/GLM-4.6"),  # GLM-4.5's shapes, listed as a derivative of it
        ("air", "zai-org/GLM-4.6", None),  # 4096 wide, GLM-4.6's 5120
        ("air", "zai-org/GLM-4.5", None),
        ("air", "meta-llama/Llama-2-7b-hf", None),
    ],
)
def test_a_declared_base_is_checked_against_the_weights(model, declared, written):
    lora = lora_like(built(model), *ALL_LINEAR, prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.family == "glm4_moe" and r.base_model["id"] == written, (r.base_model, r.conflicts)
    assert bool(r.conflicts) == (written is None), r.conflicts


@pytest.mark.parametrize(
    "name, root, family",
    [
        ("zai-org/GLM-4.5-Air", "zai-org/GLM-4.5-Air", "glm4_moe"),
        ("zai-org/GLM-4.5-Air-Base", "zai-org/GLM-4.5-Air-Base", "glm4_moe"),
        ("zai-org/GLM-4.6", "zai-org/GLM-4.5", "glm4_moe"),
        ("someone/GLM-4.5-Air-abliterated", None, "glm4_moe"),
        # GLM-4.5-Air's decoder under a vision tower (`glm4v_moe`): a derivative of its base (tests/test_vlm_bases.py)
        ("zai-org/GLM-4.5V", "zai-org/GLM-4.5-Air-Base", "glm4_moe"),
        ("zai-org/GLM-4.6V-Flash", None, None),  # GLM-4-9B-0414's (`glm4v`), as the registry lacks it
        ("zai-org/GLM-4.7", None, None),
        ("THUDM/glm-4-9b-chat", "THUDM/glm-4-9b-chat", "chatglm"),  # GLM-4 (9B) stays ChatGLM's
    ],
)
def test_names_resolve(name, root, family):
    assert resolve_name(name) == (root, family)


@pytest.mark.parametrize(
    "prose, families",
    [
        ("A LoRA for GLM-4.5-Air, trained with ms-swift.", {"glm4_moe": 1}),
        ("QLoRA of GLM 4.6 on legal Q&A", {"glm4_moe": 1}),
        ("Fine-tuned GLM-4.5V on charts", {"glm4_moe": 1}),  # Air's decoder
        ("A GLM-4.6V-Flash adapter", None),  # a vision model the registry lacks
    ],
)
def test_a_readme_s_prose_names_the_family(prose, families):
    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions")
    assert mentions == families, mentions


@pytest.mark.parametrize(
    "config_over, base_model",
    [
        ({}, "someorg/glm-4.5-air-sft"),  # Air's sizes: the registry's roots stay the candidates
        ({"num_attention_heads": 64}, None),  # 8192-wide queries, not the weights' 12288
        ({"moe_intermediate_size": 2048, "n_shared_experts": 1}, None),  # a 2048-wide shared expert, not 1408
    ],
)
def test_a_declared_base_the_registry_lacks_is_checked_by_its_config(tmp_path, monkeypatch, config_over, base_model):
    """Its config.json gives the experts' widths in DeepSeek's terms (`moe_intermediate_size` the routed and, times
    `n_shared_experts`, the shared ones'), not `intermediate_size` (the dense layers')."""
    from huggingface_hub import constants
    from transformers import AutoConfig

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf_cache"))
    lora = lora_like(built("air"), *ALL_LINEAR, prefix="base_model.model.")
    config = AutoConfig.for_model("glm4_moe", **{**_AIR, **config_over}).to_dict()
    r = inspect_declaring(tmp_path, lora, "someorg/glm-4.5-air-sft", config)
    assert r["family"] == "glm4_moe" and r["base_model"]["id"] == base_model, r["base_model"]
    assert bool(r["conflicts"]) is (base_model is None), r["conflicts"]
    if base_model:
        assert "config.json" in r["base_model"]["reason"]
        assert {c["id"] for c in r["root"]["candidates"]} >= MODELS["air"][1], r["root"]

"""DeepSeek-V2 and V3 (and Moonshot's Moonlight and Kimi K2, built on them): multi-head latent attention over a
mixture of many small experts. Their models are built by transformers on the meta device at each root's published
sizes; before the family existed a DeepSeek-V2 model in LLaMA-2-7B's widths read as LLaMA-2-7B and its card got
that base_model."""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import built_shapes, expert_lora, inspect_declaring, lora_like

_LITE = dict(
    hidden_size=2048,
    moe_intermediate_size=1408,
    num_hidden_layers=27,
    num_attention_heads=16,
    num_key_value_heads=16,
    n_routed_experts=64,
    n_shared_experts=2,
    first_k_dense_replace=1,
    q_lora_rank=None,
    kv_lora_rank=512,
)
_V3 = dict(
    hidden_size=7168,
    intermediate_size=18432,
    moe_intermediate_size=2048,
    num_hidden_layers=61,
    n_shared_experts=1,
    q_lora_rank=1536,
    kv_lora_rank=512,
    vocab_size=129280,
)
# each model's published config.json (the fields that set its sizes), and the roots its weights cannot tell apart
MODELS = {
    "v2-lite": ("deepseek_v2", dict(_LITE, intermediate_size=10944, vocab_size=102400),
                {"deepseek-ai/DeepSeek-V2-Lite", "deepseek-ai/DeepSeek-V2-Lite-Chat"}),
    "moonlight": ("deepseek_v3", dict(_LITE, intermediate_size=11264, vocab_size=163840),
                  {"moonshotai/Moonlight-16B-A3B", "moonshotai/Moonlight-16B-A3B-Instruct"}),
    "v2": ("deepseek_v2", dict(hidden_size=5120, intermediate_size=12288, moe_intermediate_size=1536,
                               num_hidden_layers=60, num_attention_heads=128, num_key_value_heads=128,
                               n_routed_experts=160, n_shared_experts=2, first_k_dense_replace=1, q_lora_rank=1536,
                               kv_lora_rank=512, vocab_size=102400),
           {"deepseek-ai/DeepSeek-V2", "deepseek-ai/DeepSeek-V2-Chat"}),
    "v3": ("deepseek_v3", dict(_V3, num_attention_heads=128, num_key_value_heads=128, n_routed_experts=256,
                               first_k_dense_replace=3),
           {"deepseek-ai/DeepSeek-V3-Base", "deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-R1"}),
    "kimi-k2": ("deepseek_v3", dict(_V3, num_attention_heads=64, num_key_value_heads=64, n_routed_experts=384,
                                    first_k_dense_replace=1, vocab_size=163840),
                {"moonshotai/Kimi-K2-Base", "moonshotai/Kimi-K2-Instruct"}),
}  # fmt: skip
ATTENTION = ("q_proj", "q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj")
ALL_LINEAR = (*ATTENTION, "gate_proj", "up_proj", "down_proj")  # (the dense layers' MLP and the shared experts')


def built(name: str, **over) -> dict:
    """{module: (d_out, d_in)} of the model MODELS names, or of a model type's default configuration (its
    per-expert weights are transformers 5's stacked 3-D parameters, no module of it)."""
    model_type, kwargs, _ = MODELS.get(name, (name, {}, None))
    return built_shapes(model_type, **kwargs, **over)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_full_models_and_their_adapters_name_their_tree(name):
    roots = MODELS[name][2]
    for shapes in (built(name), lora_like(built(name), *ALL_LINEAR, prefix="base_model.model.")):
        r = classify(shapes)
        assert r.family == "deepseek_v3" and r.family_confidence == 1.0, r.evidence
        assert {c["id"] for c in r.candidates} == roots, r.evidence  # (a base and its chat tune share every shape)


def test_a_lora_on_every_expert_as_peft_saves_it_for_transformers_4():
    """Under transformers 4 (and DeepSeek's own code) each routed expert is a module of its own, and a LoRA on
    `gate_proj` adapts all 64 of V2-Lite's in every mixture layer (`mlp.experts.N.gate_proj`): sized by the experts'
    width (1408), their count the root's; the shared experts' (2816) and the dense layer's (10944) apart."""
    lora = lora_like(built("v2-lite"), *ATTENTION, prefix="base_model.model.")
    lora |= expert_lora(range(1, 27), 64, 2048, 1408, 2816)
    r = classify(lora)
    assert r.family == "deepseek_v3" and r.family_confidence == 1.0, r.evidence
    assert {c["id"] for c in r.candidates} == MODELS["v2-lite"][2] | MODELS["moonlight"][2], r.evidence
    routed = ("gate_proj", "up_proj")  # V2's experts' width (1536) on V2-Lite's layers: no root of them
    wide = {k: (1536, 2048) if ".mlp.experts." in k and k.endswith(routed) else v for k, v in lora.items()}
    assert not {c["id"] for c in classify(wide).candidates} & MODELS["v2-lite"][2]


def test_attention_alone_cannot_tell_v2_lite_from_moonlight():
    """Moonlight was pretrained apart in DeepSeek-V2-Lite's attention: an adapter on it leaves both, unsure; its
    dense layer's MLP (10944 wide, Moonlight's 11264) tells them apart."""
    lora = lora_like(built("v2-lite"), *ATTENTION, prefix="base_model.model.")
    r = classify(lora)
    assert {c["id"] for c in r.candidates} == MODELS["v2-lite"][2] | MODELS["moonlight"][2]
    assert r.confidence < 0.5 and r.base_model["id"] is None
    with_mlp = lora_like(built("v2-lite"), *ALL_LINEAR, prefix="base_model.model.")
    assert "moonshotai/Moonlight-16B-A3B" not in {c["id"] for c in classify(with_mlp).candidates}


@pytest.mark.parametrize(
    "declared, written",
    [
        ("deepseek-ai/DeepSeek-V2-Lite-Chat", "deepseek-ai/DeepSeek-V2-Lite-Chat"),
        ("deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct", "deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct"),
        ("moonshotai/Moonlight-16B-A3B-Instruct", None),  # its dense layer is 11264 wide
        ("deepseek-ai/DeepSeek-V3", None),  # 7168 wide
        ("meta-llama/Llama-2-7b-hf", None),  # no latent attention
    ],
)
def test_a_declared_base_is_checked_against_the_weights(declared, written):
    lora = lora_like(built("v2-lite"), *ALL_LINEAR, prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.family == "deepseek_v3" and r.base_model["id"] == written, (r.base_model, r.conflicts)
    assert bool(r.conflicts) == (written is None), r.conflicts


def test_kimi_k2_is_no_deepseek_v3_whatever_its_card_says():
    """Kimi K2 has DeepSeek-V3's every width but its 64 heads (V3's 128): its query and value up-projections are
    half as wide, which rules V3 out."""
    lora = lora_like(built("kimi-k2"), "q_b_proj", "kv_b_proj", prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": "deepseek-ai/DeepSeek-V3"})
    assert r.base_model["id"] is None and any("DeepSeek-V3" in c for c in r.conflicts), r.conflicts
    r = classify(lora, config={"base_model_name_or_path": "moonshotai/Kimi-K2-Instruct-0905"})  # a derivative
    assert r.base_model["id"] == "moonshotai/Kimi-K2-Instruct-0905" and not r.conflicts


def test_a_model_in_llama_2_7b_widths_is_not_llama_2_7b():
    """transformers' default DeepSeek-V2 config has LLaMA-2-7B's hidden size and depth, and its attention's output
    as wide: it was read as LLaMA-2-7B and written as its base_model. Its latent attention places it; no root has
    its sizes."""
    shapes = built("deepseek_v2")
    assert shapes["layers.31.self_attn.o_proj"] == (4096, 4096) and "layers.32.self_attn.o_proj" not in shapes
    r = classify(shapes)
    assert r.family == "deepseek_v3" and r.base_model["id"] is None and r.root is None, r.evidence
    assert not {c["id"] for c in r.candidates} & {"meta-llama/Llama-2-7b-hf"}


def test_the_hub_checkpoint_s_prediction_block_and_stacked_experts():
    """DeepSeek-V3's own checkpoint holds a 62nd block (`model.layers.61`: its multi-token prediction, which
    transformers leaves out) and, saved by transformers 5, each layer's experts stacked in one 3-D parameter: the
    block is within the root's depth, the stacks no layer the family does not know."""
    shapes = {f"model.{k}": v for k, v in built("v3").items()}
    for k, v in list(shapes.items()):
        if k.startswith("model.layers.60."):
            shapes[k.replace("layers.60.", "layers.61.")] = v
    shapes |= {"model.layers.61.eh_proj": (7168, 14336), "model.layers.61.shared_head.head": (129280, 7168)}
    shapes |= {"model.layers.5.mlp.experts.gate_up_proj": (4096, 7168)}
    shapes |= {"model.layers.5.mlp.experts.down_proj": (7168, 2048)}
    r = classify(shapes)
    assert r.family == "deepseek_v3" and {c["id"] for c in r.candidates} == MODELS["v3"][2], r.evidence
    assert not any("block index" in e for e in r.evidence)


@pytest.mark.parametrize(
    "name, root, family",
    [
        ("deepseek-ai/DeepSeek-V2-Lite-Chat", "deepseek-ai/DeepSeek-V2-Lite-Chat", "deepseek_v3"),
        ("deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct", "deepseek-ai/DeepSeek-V2-Lite", "deepseek_v3"),
        ("deepseek-ai/DeepSeek-V2.5", "deepseek-ai/DeepSeek-V2", "deepseek_v3"),
        ("deepseek-ai/DeepSeek-V3.2-Exp", None, "deepseek_v3"),
        ("perplexity-ai/r1-1776", "deepseek-ai/DeepSeek-R1", "deepseek_v3"),
        ("moonshotai/Kimi-K2-Thinking", "moonshotai/Kimi-K2-Base", "deepseek_v3"),
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "Qwen/Qwen2.5-7B", "qwen2"),  # R1's distillations are not it
        ("someone/DeepSeek-R1-Distill-Qwen-14B-abliterated", None, "qwen2"),
        ("someone/DeepSeek-R1-Distill-Llama-8B-lora", None, "llama"),
        ("deepseek-ai/deepseek-math-7b-base", None, "llama"),  # DeepSeek's first models are LLaMA's layout
        ("deepseek-ai/DeepSeek-Math-V2", None, "deepseek_v3"),
    ],
)
def test_names_resolve(name, root, family):
    assert resolve_name(name) == (root, family)


@pytest.mark.parametrize(
    "config_over, base_model",
    [
        ({}, "someorg/deepseek-v2-lite-sft"),  # V2-Lite's sizes: the registry's roots stay the candidates
        ({"kv_lora_rank": 256}, None),  # a 320-wide key-value latent, not the weights' 576: a conflict
        ({"num_attention_heads": 32}, None),  # twice the heads
    ],
)
def test_a_declared_base_the_registry_lacks_is_checked_by_its_config(tmp_path, monkeypatch, config_over, base_model):
    """Its config.json's latent widths give its projections' sizes (`qk_nope_head_dim` + `qk_rope_head_dim` a key's,
    `v_head_dim` a value's, `kv_lora_rank` the latent), whatever its `head_dim` says."""
    from huggingface_hub import constants
    from transformers import AutoConfig

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf_cache"))
    lora = lora_like(built("v2-lite"), *ATTENTION, prefix="base_model.model.")
    model_type, kwargs, _ = MODELS["v2-lite"]
    config = AutoConfig.for_model(model_type, **{**kwargs, **config_over}).to_dict()
    r = inspect_declaring(tmp_path, lora, "someorg/deepseek-v2-lite-sft", config)
    assert r["family"] == "deepseek_v3" and r["base_model"]["id"] == base_model, r["base_model"]
    assert bool(r["conflicts"]) is (base_model is None), r["conflicts"]
    if base_model:
        assert "config.json" in r["base_model"]["reason"]
        assert {c["id"] for c in r["root"]["candidates"]} >= MODELS["v2-lite"][2], r["root"]


@pytest.mark.parametrize(
    "prose, families",
    [
        ("A LoRA for DeepSeek-V3, trained with ms-swift.", {"deepseek_v3": 1}),
        ("Fine-tuned DeepSeek R1 on legal Q&A", {"deepseek_v3": 1}),
        ("Kimi K2 adapter", {"deepseek_v3": 1}),
        ("Distilled: DeepSeek-R1-Distill-Qwen-7B with a LoRA", {"qwen2": 1}),  # the distillation's own words
        ("DeepSeek-R1-Distill-Llama-8B, 4-bit", {"llama": 1}),
    ],
)
def test_a_readme_s_prose_names_the_family(prose, families):
    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions")
    assert mentions == families, mentions

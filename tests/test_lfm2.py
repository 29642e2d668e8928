"""LFM2 and LFM2.5 (Liquid AI): short gated convolutions in most layers (`conv.in_proj`, three times the width; the
depthwise `conv.conv`; `conv.out_proj`), grouped-query attention with heads of 64 and an `out_proj` in the rest, a
SwiGLU feed-forward under Meta's names (`feed_forward.w1`); LFM2-8B-A1B's later layers a mixture of 32 experts under
Mixtral's. Their models are built by transformers on the meta device at each root's published sizes (the
feed-forward width 2/3 of `block_ff_dim`, rounded up to 256). Before the family existed a full LFM2 read as CodeGen
at 0.5 and an adapter of its attention as one of LLaMA's look-alikes."""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import built_shapes, lora_like

_ATTN = [2, 5, 8, 10, 12, 14]  # the 16-layer models' attention layers (the rest convolutions)
MODELS = {
    "350m": ("lfm2", dict(hidden_size=1024, intermediate_size=6656, num_hidden_layers=16, num_attention_heads=16,
                          num_key_value_heads=8, full_attn_idxs=_ATTN),
             {"LiquidAI/LFM2-350M", "LiquidAI/LFM2.5-350M"}),
    "1.2b": ("lfm2", dict(hidden_size=2048, intermediate_size=12288, num_hidden_layers=16, num_attention_heads=32,
                          num_key_value_heads=8, full_attn_idxs=_ATTN),
             {"LiquidAI/LFM2-1.2B", "LiquidAI/LFM2.5-1.2B-Base", "LiquidAI/LFM2.5-1.2B-Instruct",
              "LiquidAI/LFM2.5-1.2B-Thinking"}),
    "2.6b": ("lfm2", dict(hidden_size=2048, intermediate_size=10752, block_auto_adjust_ff_dim=False,
                          num_hidden_layers=30, num_attention_heads=32, num_key_value_heads=8,
                          full_attn_idxs=[2, 5, 9, 13, 17, 21, 24, 27]),
             {"LiquidAI/LFM2-2.6B", "LiquidAI/LFM2.5-2.6B"}),
    "8b-a1b": ("lfm2_moe", dict(hidden_size=2048, intermediate_size=7168, moe_intermediate_size=1792,
                                num_hidden_layers=24, num_attention_heads=32, num_key_value_heads=8, num_experts=32,
                                num_experts_per_tok=4, num_dense_layers=2,
                                layer_types=["full_attention" if i in (2, 6, 10, 14, 18, 21) else "conv"
                                             for i in range(24)]),
               {"LiquidAI/LFM2-8B-A1B", "LiquidAI/LFM2.5-8B-A1B"}),
}  # fmt: skip
ATTENTION = ("q_proj", "k_proj", "v_proj", "out_proj")
ALL_LINEAR = (*ATTENTION, "in_proj", "w1", "w2", "w3")  # Liquid's fine-tuning recipes' targets
PREFIX = "base_model.model.model."


def built(name: str) -> dict:
    model_type, config, _ = MODELS[name]
    return built_shapes(model_type, **config)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("targets", [None, ATTENTION, ALL_LINEAR])
def test_full_models_and_their_adapters_name_their_tree(name, targets):
    shapes = built(name) if targets is None else lora_like(built(name), *targets, prefix=PREFIX)
    r = classify(shapes)
    assert r.family == "lfm2" and r.family_confidence == 1.0, r.evidence
    ids = {c["id"] for c in r.candidates}
    assert ids >= MODELS[name][2] and sum(c["score"] for c in r.candidates if c["id"] in MODELS[name][2]) >= 0.8


def test_an_adapter_on_queries_and_values_alone_leaves_smollm3_beside_it():
    """LFM2-1.2B's queries and values (2048 and 512 on 2048) are SmolLM3-3B's too, and nothing else in such an
    adapter says convolution: both stay candidates, neither sure. Its blocks, 2, 5, 8, 10, 12 and 14, are every
    attention block LFM2-1.2B has, and scattered ones of SmolLM3-3B's 36: LFM2 leads (under half sure before that
    was weighed)."""
    r = classify(lora_like(built("1.2b"), "q_proj", "v_proj", prefix=PREFIX))
    assert {"LiquidAI/LFM2-1.2B", "HuggingFaceTB/SmolLM3-3B"} <= {c["id"] for c in r.candidates}, r.candidates
    assert r.family == "lfm2" and 0.5 < r.family_confidence < 0.9


def test_attention_on_a_convolution_layer_is_no_lfm2_s():
    """Llama 3.2 1B has LFM2-1.2B's width, attention widths and depth (16 layers): an adapter on its attention
    touches layer 0, a convolution in every LFM2, and stays Llama's (it read as LFM2 before attention layers were
    told from convolution layers)."""
    llama = built_shapes("llama", hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                         num_attention_heads=32, num_key_value_heads=8, vocab_size=128256)  # fmt: skip
    r = classify(lora_like(llama, "q_proj", "v_proj", prefix="base_model.model."))
    assert r.family == "llama" and not any(c["id"].startswith("LiquidAI/") for c in r.candidates), r.candidates


def test_another_model_s_convolution_is_no_lfm2_s(tmp_path):
    """VibeVoice's audio tokenizers wrap their convolutions as `conv_layers.N.conv.conv`: no LFM2 convolution (its
    `conv.in_proj` and `conv.out_proj` are). The first name rule had VibeVoice's checkpoint (transformers' default
    config, a Qwen2.5 decoder beside them) LFM2 at 0.3."""
    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    shapes = built_shapes("vibevoice")
    assert any(".conv_layers.0.conv.conv" in k for k in shapes)
    write_header(tmp_path / "model.safetensors", {f"{k}.weight": ("BF16", v) for k, v in shapes.items()}, data=False)
    assert inspect_source(str(tmp_path))["family"] != "lfm2"


def test_the_hub_checkpoint_s_names_and_per_expert_weights(tmp_path):
    """The Hub's LFM2-8B-A1B: each expert saved apart under Mixtral's names (`feed_forward.experts.7.w1`) beside a
    router (`feed_forward.gate`) and its bias; the convolution a [width, 1, kernel] tensor; no `lm_head` (tied)."""
    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    shapes = {k: v for k, v in built("8b-a1b").items() if ".experts." not in k and not k.endswith("conv.conv")}
    tensors = {f"model.{k}.weight": ("BF16", v) for k, v in shapes.items()}
    for i in range(24):
        p = f"model.layers.{i}."
        tensors |= {p + "operator_norm.weight": ("BF16", (2048,)), p + "ffn_norm.weight": ("BF16", (2048,))}
        if i not in (2, 6, 10, 14, 18, 21):
            tensors[p + "conv.conv.weight"] = ("BF16", (2048, 1, 3))
        if i >= 2:
            tensors |= {
                p + "feed_forward.gate.weight": ("BF16", (32, 2048)),
                p + "feed_forward.expert_bias": ("F32", (32,)),
            }
            for e in range(32):
                tensors |= {p + f"feed_forward.experts.{e}.w{w}.weight": ("BF16", (1792, 2048)) for w in (1, 3)}
                tensors[p + f"feed_forward.experts.{e}.w2.weight"] = ("BF16", (2048, 1792))
    write_header(tmp_path / "model.safetensors", tensors, data=False)
    r = inspect_source(str(tmp_path))
    assert r["family"] == "lfm2" and r["family_confidence"] == 1.0, r["root"]
    assert {c["id"] for c in r["root"]["candidates"]} == MODELS["8b-a1b"][2], r["root"]


@pytest.mark.parametrize(
    "model, declared, written",
    [
        ("1.2b", "LiquidAI/LFM2-1.2B", "LiquidAI/LFM2-1.2B"),
        ("1.2b", "LiquidAI/LFM2.5-1.2B-Instruct", "LiquidAI/LFM2.5-1.2B-Instruct"),
        ("1.2b", "unsloth/LFM2-1.2B", "unsloth/LFM2-1.2B"),  # a re-upload, by its name
        ("1.2b", "LiquidAI/LFM2-350M", None),
        ("1.2b", "HuggingFaceTB/SmolLM3-3B", None),  # no convolutions
    ],
)
def test_a_declared_base_is_checked_against_the_weights(model, declared, written):
    r = classify(lora_like(built(model), *ALL_LINEAR, prefix=PREFIX), config={"base_model_name_or_path": declared})
    assert r.family == "lfm2" and r.base_model["id"] == written, (r.base_model, r.conflicts)
    assert bool(r.conflicts) == (written is None), r.conflicts


@pytest.mark.parametrize(
    "name, root, family",
    [
        ("LiquidAI/LFM2-1.2B", "LiquidAI/LFM2-1.2B", "lfm2"),
        ("LiquidAI/LFM2.5-1.2B-Thinking", "LiquidAI/LFM2.5-1.2B-Thinking", "lfm2"),
        ("LiquidAI/LFM2-VL-1.6B", None, "lfm2"),  # its language model's family
        ("someone/lfm2-350m-finetuned-sql", None, "lfm2"),  # a fine-tune: the family, no root
    ],
)
def test_names_resolve(name, root, family):
    assert resolve_name(name) == (root, family)


@pytest.mark.parametrize(
    "prose, families",
    [("A LoRA of LFM2-1.2B for tool calls", {"lfm2": 1}), ("Fine-tuned from LFM2.5 1.2B", {"lfm2": 1})],
)
def test_a_readme_s_prose_names_the_family(prose, families):
    assert declared_claims(texts={"README.md": prose})[0].get("README.md mentions") == families

"""DeepSeek-V4 (`deepseek_v4`: Flash and Pro, base and instruct): one shared key-value head, a grouped low-rank
output, compressed attention, residual streams mixed by learned weights, and a mixture in every layer; its Hub
checkpoints keep DeepSeek's own names (`layers.N.attn.wq_a`, `layers.N.ffn.experts.E.w1`, `embed`), which
transformers renames on loading. Before, a checkpoint named no family (its own names) and an adapter trained under
transformers (`self_attn.q_a_proj`, `kv_proj`, `o_b_proj`) read as DeepSeek-V3 at 0.3. The checkpoints are
transformers' own model at each published configuration (its defaults are Flash's), built on the meta device and
written header-only under the names the Hub's files have (the renaming below, transformers' own run backwards).
"""

from __future__ import annotations

import re

import pytest
import torch

from hfprobe.tree.inspect import inspect_source
from tests.builders import write_header
from tests.model_shapes import candidate_ids, inspect_shapes

torch.set_num_threads(1)

PRO = dict(hidden_size=7168, num_hidden_layers=61, num_attention_heads=128, q_lora_rank=1536, o_groups=16,
           moe_intermediate_size=3072, n_routed_experts=384)  # fmt: skip
# transformers' name -> the Hub's (conversion_mapping.py's `deepseek_v4` renames, backwards), in this order
_HUB = [
    (r"^model\.embed_tokens\.", "embed."), (r"^lm_head\.", "head."), (r"^model\.norm\.", "norm."),
    (r"^model\.hc_head\.hc_(fn|base|scale)$", r"hc_head_\1"), (r"^model\.layers\.", "layers."),
    (r"\.input_layernorm\.", ".attn_norm."), (r"\.post_attention_layernorm\.", ".ffn_norm."),
    (r"\.(attn|ffn)_hc\.(fn|base|scale)$", r".hc_\1_\2"),
    (r"\.self_attn\.compressor\.indexer\.scorer\.weights_proj\.", ".attn.indexer.weights_proj."),
    (r"\.self_attn\.compressor\.indexer\.q_b_proj\.", ".attn.indexer.wq_b."),
    (r"\.self_attn\.compressor\.indexer\.", ".attn.indexer.compressor."),
    (r"\.self_attn\.compressor\.", ".attn.compressor."), (r"\.self_attn\.", ".attn."),
    (r"\.position_bias$", ".ape"), (r"compressor\.kv_proj\.", "compressor.wkv."),
    (r"compressor\.gate_proj\.", "compressor.wgate."), (r"compressor\.kv_norm\.", "compressor.norm."),
    (r"\.attn\.sinks$", ".attn.attn_sink"), (r"\.attn\.q_a_proj\.", ".attn.wq_a."),
    (r"\.attn\.q_a_norm\.", ".attn.q_norm."), (r"\.attn\.q_b_proj\.", ".attn.wq_b."),
    (r"\.attn\.kv_proj\.", ".attn.wkv."), (r"\.attn\.o_a_proj\.", ".attn.wo_a."),
    (r"\.attn\.o_b_proj\.", ".attn.wo_b."), (r"\.mlp\.gate\.e_score_correction_bias$", ".ffn.gate.bias"),
    (r"\.mlp\.gate\.", ".ffn.gate."), (r"\.mlp\.shared_experts\.gate_proj\.", ".ffn.shared_experts.w1."),
    (r"\.mlp\.shared_experts\.up_proj\.", ".ffn.shared_experts.w3."),
    (r"\.mlp\.shared_experts\.down_proj\.", ".ffn.shared_experts.w2."),
]  # fmt: skip


def hub_checkpoint(**config) -> dict:
    """{name: shape} of a DeepSeek-V4 checkpoint as the Hub stores it: DeepSeek's names, each expert its own."""
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model("deepseek_v4", **config))
    out = {}
    for key, value in model.state_dict().items():
        shape = tuple(value.shape)
        if key.endswith("mlp.experts.gate_up_proj"):  # [E, 2I, H]: each expert's w1 and w3
            layer = key.removeprefix("model.").removesuffix(".mlp.experts.gate_up_proj")
            for e in range(shape[0]):
                out |= {f"{layer}.ffn.experts.{e}.{w}.weight": (shape[1] // 2, shape[2]) for w in ("w1", "w3")}
            continue
        if key.endswith("mlp.experts.down_proj"):
            layer = key.removeprefix("model.").removesuffix(".mlp.experts.down_proj")
            out |= {f"{layer}.ffn.experts.{e}.w2.weight": shape[1:] for e in range(shape[0])}
            continue
        for pattern, repl in _HUB:
            key = re.sub(pattern, repl, key)
        out[key] = shape
    return out


@pytest.fixture(scope="module")
def flash() -> dict:
    return hub_checkpoint()


def test_a_flash_checkpoint_under_deepseek_s_names_names_its_tree(flash, tmp_path):
    assert {"embed.weight", "layers.0.attn.wkv.weight", "layers.5.ffn.experts.255.w2.weight"} <= set(flash)
    report = inspect_shapes(tmp_path, flash)
    assert report["family"] == "deepseek_v4" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(candidate_ids(report)) == {
        "deepseek-ai/DeepSeek-V4-Flash-Base", "deepseek-ai/DeepSeek-V4-Flash", "deepseek-ai/DeepSeek-V4-Flash-0731"
    }  # fmt: skip
    assert report["base_model"]["id"] is None  # (the base and its instruct releases share every size)


def test_pro_is_told_from_flash_and_from_deepseek_v3_whose_width_and_depth_it_shares(tmp_path):
    report = inspect_shapes(tmp_path, hub_checkpoint(**PRO))
    assert report["family"] == "deepseek_v4"
    assert set(candidate_ids(report)) == {"deepseek-ai/DeepSeek-V4-Pro-Base", "deepseek-ai/DeepSeek-V4-Pro"}


def test_an_adapter_trained_under_transformers_names_it_by_its_own_projections(flash, tmp_path):
    """transformers' names for its attention (`self_attn.q_a_proj`, `kv_proj`, `o_a_proj`, `o_b_proj`) and its shared
    experts: DeepSeek-V3's `q_a_proj` and `q_b_proj` among them, but its key-value and output projections no V3 has."""
    hf = {"wq_a": "q_a_proj", "wq_b": "q_b_proj", "wkv": "kv_proj", "wo_a": "o_a_proj", "wo_b": "o_b_proj"}
    lora = {}
    for key, shape in flash.items():
        m = re.fullmatch(r"layers\.(\d+)\.attn\.(wq_a|wq_b|wkv|wo_a|wo_b)\.weight", key)
        if m:
            base = f"base_model.model.model.layers.{m[1]}.self_attn.{hf[m[2]]}"
            lora[f"{base}.lora_A.weight"], lora[f"{base}.lora_B.weight"] = (
                ("BF16", (8, shape[1])),
                ("BF16", (shape[0], 8)),
            )
    write_header(tmp_path / "adapter_model.safetensors", lora, data=False)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "deepseek_v4" and "deepseek-ai/DeepSeek-V4-Flash" in candidate_ids(report), report[
        "root"
    ]


def test_a_checkpoint_transformers_saved_is_read_with_its_config(tmp_path):
    """transformers saves V4 under names of both kinds (`model.layers.N.attn.wq_a`, `ffn.experts.E.w1`); beside its
    config.json, the reader maps them toward transformers' own (`mlp.experts.E.w1`): both are V4's roles, so the
    experts count among its layers (they were "unlike" it, the family 0.5)."""
    import json

    from transformers import AutoConfig, AutoModelForCausalLM

    from tests.model_shapes import saved_shapes

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model("deepseek_v4"))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "deepseek_v4"}))
    report = inspect_shapes(tmp_path, saved_shapes(model))
    assert report["family"] == "deepseek_v4" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert "deepseek-ai/DeepSeek-V4-Flash" in candidate_ids(report)

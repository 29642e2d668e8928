"""Three mixtures the registry lacked until stop 82, each a layout of its own, built by transformers on the meta device
at its published size and written as a header-only file (a checkpoint, or a PEFT LoRA on some of its modules):

- Kimi-Linear (Moonshot): Kimi Delta Attention (`q_conv1d`, `f_a_proj`, `g_b_proj`, `b_proj` beside LLaMA's
  `q_proj`) in most layers, DeepSeek's latent attention in seven, experts under Mixtral's names;
- JetMoE (MyShell): a mixture of attention heads and one of MLPs, each expert stacked in one 3-D tensor
  (`self_attention.experts.input_linear`, `mlp.input_linear`);
- LongCat-Flash (Meituan): two latent-attention blocks and two MLPs in each layer (`self_attn.0`, `mlps.1`).

Before: Kimi-Linear read Mixtral at 0.3, JetMoE Zamba2 at 0.5 (its embeddings' shape alone), LongCat-Flash no family.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built, inspect_shapes, meta_causal_lm, meta_model, saved_shapes

torch.set_num_threads(1)

KIMI = {"moonshotai/Kimi-Linear-48B-A3B-Base", "moonshotai/Kimi-Linear-48B-A3B-Instruct"}
JETMOE = {"jetmoe/jetmoe-8b", "jetmoe/jetmoe-8b-sft", "jetmoe/jetmoe-8b-chat"}
LONGCAT = {f"meituan-longcat/LongCat-Flash-{v}" for v in ("Chat", "Thinking", "Thinking-2601")}
KIMI_ATTENTION = (4, 8, 12, 16, 20, 24, 27)  # its config's `full_attn_layers`, counted from 1


def _kimi(layers: int = 27, layer_types: list | None = None):
    import transformers as tf

    if layer_types is None:
        layer_types = ["full_attention" if i + 1 in KIMI_ATTENTION else "linear_attention" for i in range(layers)]
    return meta_causal_lm(
        tf.KimiLinearConfig(
            hidden_size=2304, num_hidden_layers=layers, num_attention_heads=32, num_key_value_heads=32,
            intermediate_size=9216, moe_intermediate_size=1024, num_local_experts=256, num_experts_per_tok=8,
            n_shared_experts=1, kv_lora_rank=512, q_lora_rank=None, qk_nope_head_dim=128, qk_rope_head_dim=64,
            v_head_dim=128, linear_num_heads=32, linear_head_dim=128, linear_conv_kernel_dim=4, layer_types=layer_types,
            mlp_layer_types=["dense"] + ["sparse"] * (layers - 1), vocab_size=163840, tie_word_embeddings=False,
        )
    )  # fmt: skip


def _jetmoe():
    import transformers as tf

    return meta_causal_lm(
        tf.JetMoeConfig(
            vocab_size=32000, hidden_size=2048, num_hidden_layers=24, num_key_value_heads=16, kv_channels=128,
            intermediate_size=5632, num_local_experts=8, num_experts_per_tok=2, tie_word_embeddings=True,
        )
    )  # fmt: skip


def _longcat():
    import transformers as tf

    return meta_causal_lm(
        tf.LongcatFlashConfig(
            vocab_size=131072, hidden_size=6144, num_layers=28, num_attention_heads=64, ffn_hidden_size=12288,
            q_lora_rank=1536, kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, head_dim=64,
            v_head_dim=128, n_routed_experts=512, zero_expert_num=256, moe_topk=12, expert_ffn_hidden_size=2048,
        )
    )  # fmt: skip


@pytest.mark.parametrize(
    "lora",
    [(), ("q_proj", "v_proj"), ("f_a_proj", "f_b_proj", "g_a_proj", "g_b_proj", "b_proj")],
    ids=["checkpoint", "lora-qv", "lora-kda"],
)
def test_kimi_linear_is_its_own(lora, tmp_path):
    # its queries are 32 heads of 128 (linear layers) or of 192 (latent attention) on a 2,304 width: no other root's
    report = inspect_built(_kimi(), tmp_path, lora=lora)
    assert report["family"] == "kimi_linear" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == KIMI, _ids(report)


def test_kimi_linear_as_the_hub_stores_it(tmp_path):
    # transformers 5.25 saves layer 0's dense MLP under `block_sparse_moe.` (its rename reversed); the Hub's is `mlp.`
    shapes = {k.replace("layers.0.block_sparse_moe.", "layers.0.mlp."): s for k, s in saved_shapes(_kimi()).items()}
    assert "model.layers.0.mlp.gate_proj.weight" in shapes
    report = inspect_shapes(tmp_path, shapes)
    assert report["family"] == "kimi_linear" and set(_ids(report)) == KIMI, report["root"]["evidence"]


def test_kimi_linear_s_latent_attention_where_it_has_none_rules_it_out(tmp_path):
    # transformers' default layer types put latent attention in layers 4 and 8 (the checkpoint's in 3 and 7)
    layer_types = ["full_attention" if i > 0 and i % 4 == 0 else "linear_attention" for i in range(9)]
    report = inspect_built(_kimi(9, layer_types), tmp_path, lora=("kv_a_proj_with_mqa", "kv_b_proj", "b_proj"))
    assert report["family"] == "kimi_linear" and not _ids(report), report["root"]["evidence"]
    assert any("attention in block 4" in e for e in report["root"]["evidence"]), report["root"]["evidence"]


def test_a_mixtral_checkpoint_is_no_kimi_linear(tmp_path):
    # Mixtral's expert names are Kimi-Linear's too: its sizes and its attention tell them apart
    report = inspect_built(meta_model("mixtral", num_hidden_layers=2, num_local_experts=4), tmp_path)
    assert report["family"] != "kimi_linear" and not KIMI & set(_ids(report)), report["root"]["evidence"]


@pytest.mark.parametrize("lora", [(), ("kv_proj",)], ids=["checkpoint", "lora"])
def test_jetmoe_is_its_own(lora, tmp_path):
    # a checkpoint's experts are stacked [8, out, in]: one expert's shape is checked (2 x 5,632 on 2,048)
    report = inspect_built(_jetmoe(), tmp_path, lora=lora)
    assert report["family"] == "jetmoe" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == JETMOE, _ids(report)
    assert not lora or any("kv_proj is 4096x2048" in e for e in report["root"]["evidence"]), report["root"]["evidence"]


def test_jetmoe_s_stacked_experts_are_read_one_expert_at_a_time(tmp_path):
    # read as a convolution's weight ([8, 11264, kernel 2048]) the MLP's experts had ruled every JetMoE root out
    shapes = saved_shapes(_jetmoe())
    shapes["model.layers.0.mlp.input_linear.weight"] = (8, 11264, 4096)  # one expert twice as wide as any root's
    report = inspect_shapes(tmp_path, shapes)
    assert report["family"] == "jetmoe" and not _ids(report), report["root"]["evidence"]
    assert any("mlp.input_linear is 11264x4096" in e for e in report["root"]["evidence"]), report["root"]["evidence"]


@pytest.mark.parametrize("lora", [(), ("q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj")],
                         ids=["checkpoint", "lora"])  # fmt: skip
def test_longcat_flash_is_its_own(lora, tmp_path):
    report = inspect_built(_longcat(), tmp_path, lora=lora)
    assert report["family"] == "longcat_flash" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == LONGCAT, _ids(report)


def test_longcat_flash_with_its_multi_token_prediction_layer(tmp_path):
    # the Hub's files hold `model.mtp.*` (transformers drops it on loading): its latent attention is read too
    shapes = saved_shapes(_longcat())
    mtp = "model.mtp.layers.0."
    shapes |= {
        "model.mtp.embed_tokens.weight": (131072, 6144), f"{mtp}eh_proj.weight": (6144, 12288),
        f"{mtp}self_attn.q_a_proj.weight": (1536, 6144), f"{mtp}self_attn.q_b_proj.weight": (12288, 1536),
        f"{mtp}self_attn.kv_a_proj_with_mqa.weight": (576, 6144), f"{mtp}self_attn.kv_b_proj.weight": (16384, 512),
        f"{mtp}self_attn.o_proj.weight": (6144, 8192), f"{mtp}transformer_layer.mlp.gate_proj.weight": (12288, 6144),
        f"{mtp}enorm.m.weight": (6144,), "model.mtp.norm.weight": (6144,),
    }  # fmt: skip
    report = inspect_shapes(tmp_path, shapes)
    assert report["family"] == "longcat_flash" and set(_ids(report)) == LONGCAT, report["root"]["evidence"]


@pytest.mark.parametrize(
    "name, family",
    [
        ("moonshotai/Kimi-Linear-48B-A3B-Instruct", "kimi_linear"),
        ("moonshotai/Kimi-K2-Instruct", "deepseek_v3"),  # (Kimi K2 is DeepSeek-V3's layout)
        ("jetmoe/jetmoe-8b-chat", "jetmoe"),
        ("meituan-longcat/LongCat-Flash-Chat-FP8", "longcat_flash"),
        ("meituan-longcat/LongCat-Flash-Lite", None),  # (N-gram embeddings: another architecture)
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


@pytest.mark.parametrize(
    "prose, family",
    [
        ("A LoRA of Kimi-Linear 48B for long documents", "kimi_linear"),
        ("JetMoE 8B, tuned on chat", "jetmoe"),
        ("Distilled from LongCat-Flash-Thinking", "longcat_flash"),
        ("Quantized LongCat-Flash-Lite", None),
    ],
)
def test_a_readme_s_prose_names_the_family(prose, family):
    from hfprobe.tree.declared import declared_claims

    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions") or {}
    assert (family in mentions) if family else "longcat_flash" not in mentions, mentions

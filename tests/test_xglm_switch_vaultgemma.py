"""XGLM, Switch Transformers and VaultGemma, which the registry lacked until stop 82, each built by transformers on the
meta device at its published size and written as a header-only file (a checkpoint, or a PEFT LoRA on some of its
modules).

- XGLM (Meta, 564M to 7.5B): OPT's layer names under `model.layers` (OPT's under `model.decoder.layers`);
- Switch Transformers (Google, switch-base-8 to -256, switch-large-128): T5's attention, its feed-forward blocks
  `mlp.wi` and `mlp.wo`, every other one a mixture (`mlp.router.classifier`, `mlp.experts.expert_M.wi`);
- VaultGemma 1B: Gemma 2's layers without the norms after attention and the MLP.

Before: XGLM read OPT at 0.5 (its bare model) or LLaMA-like families, Switch Transformers T5, VaultGemma Gemma 2 (its
name: an architecture the registry lacks).
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built, meta_causal_lm, meta_model

torch.set_num_threads(1)

XGLM = {"564M": (1024, 4096, 24), "2.9B": (2048, 8192, 48)}


def _xglm(size: str):
    import transformers as tf

    hidden, ffn, layers = XGLM[size]
    config = tf.XGLMConfig(d_model=hidden, ffn_dim=ffn, num_layers=layers, attention_heads=16, vocab_size=256008)
    return meta_causal_lm(config)


def _switch(experts: int = 8, d_ff: int = 3072):
    import transformers as tf

    with torch.device("meta"):
        return tf.AutoModelForSeq2SeqLM.from_config(
            tf.SwitchTransformersConfig(
                d_model=768, d_ff=d_ff, d_kv=64, num_heads=12, num_layers=12, num_decoder_layers=12,
                num_experts=experts, num_sparse_encoder_layers=6, num_sparse_decoder_layers=6, vocab_size=32128,
            )
        )  # fmt: skip


def _t5_base():
    import transformers as tf

    with torch.device("meta"):
        return tf.AutoModelForSeq2SeqLM.from_config(
            tf.T5Config(d_model=768, d_ff=3072, d_kv=64, num_heads=12, num_layers=12, vocab_size=32128)
        )


def _vaultgemma():
    import transformers as tf

    return meta_causal_lm(
        tf.VaultGemmaConfig(
            vocab_size=256000, hidden_size=1152, intermediate_size=6912, num_hidden_layers=26, num_attention_heads=4,
            num_key_value_heads=4, head_dim=256, query_pre_attn_scalar=256, max_position_embeddings=1024,
            layer_types=["full_attention"] * 26, attn_logit_softcapping=None, final_logit_softcapping=None,
        )
    )  # fmt: skip


@pytest.mark.parametrize("size", sorted(XGLM))
def test_an_xglm_checkpoint_names_its_size(size, tmp_path):
    report = inspect_built(_xglm(size), tmp_path)
    assert report["family"] == "xglm" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == f"facebook/xglm-{size}", report["base_model"]


def test_a_lora_on_xglm_s_mlp_is_xglm_s(tmp_path):
    # `fc1` and `fc2` under `model.layers`: its rule (an adapter on `q_proj` and `v_proj` alone has LLaMA's names, and
    # the 564M's sizes are Qwen1.5-0.5B's: read as theirs; `self_attn.out_proj` is MiniMax-01's lightning attention's)
    report = inspect_built(_xglm("564M"), tmp_path, lora=("q_proj", "v_proj", "out_proj", "fc1", "fc2"))
    assert report["family"] == "xglm" and _ids(report) == ["facebook/xglm-564M"], report["root"]["evidence"]


def test_a_bare_xglm_model_is_xglm_s_by_its_vocabulary(tmp_path):
    # XGLMModel alone (no `model.` prefix): OPT-350m's widths and depth, XGLM's 256,008 tokens
    report = inspect_built(meta_model("xglm"), tmp_path)
    assert report["family"] == "xglm" and _ids(report)[0] == "facebook/xglm-564M", report["root"]["evidence"]


@pytest.mark.parametrize("experts", [8, 32])
def test_a_switch_checkpoint_names_its_experts_count(experts, tmp_path):
    report = inspect_built(_switch(experts), tmp_path)
    assert report["family"] == "switch_transformers" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == f"google/switch-base-{experts}", report["base_model"]


def test_a_lora_on_switch_s_feed_forward_is_switch_s(tmp_path):
    # `wi` and `wo` adapt the dense blocks and every expert: 8 of them name switch-base-8
    report = inspect_built(_switch(), tmp_path, lora=("wi", "wo"))
    assert report["family"] == "switch_transformers", report["root"]["evidence"]
    assert _ids(report) == ["google/switch-base-8"], report["root"]["evidence"]


def test_a_switch_with_other_widths_is_no_root_of_it(tmp_path):
    report = inspect_built(_switch(d_ff=2048), tmp_path)
    assert report["family"] == "switch_transformers" and not _ids(report), report["root"]["evidence"]


def test_a_lora_on_t5_base_s_attention_stays_t5_s(tmp_path):
    # Switch's attention is T5-base's every size; its roots' low priors (research checkpoints) keep T5 first
    report = inspect_built(_t5_base(), tmp_path, lora=("q", "v"))
    assert report["family"] == "t5" and report["family_confidence"] >= 0.9, report["root"]["evidence"]


@pytest.mark.parametrize("lora", [(), ("q_proj", "v_proj")], ids=["checkpoint", "lora"])
def test_vaultgemma_is_its_own(lora, tmp_path):
    # 4 key/value heads of 256 on 1,152 (Gemma 3 1B's one), 256,000 tokens
    report = inspect_built(_vaultgemma(), tmp_path, lora=lora)
    assert report["family"] == "vaultgemma" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == "google/vaultgemma-1b", report["base_model"]


def test_a_gemma_3_1b_checkpoint_stays_gemma_3_s(tmp_path):
    model = meta_model(
        "gemma3_text", hidden_size=1152, intermediate_size=6912, num_hidden_layers=26, num_attention_heads=4,
        num_key_value_heads=1, head_dim=256, vocab_size=262144,
    )  # fmt: skip
    report = inspect_built(model, tmp_path)
    assert report["family"] == "gemma3" and "google/gemma-3-1b-pt" in _ids(report), report["root"]["evidence"]


@pytest.mark.parametrize(
    "name, family",
    [
        ("facebook/xglm-7.5B", "xglm"),
        ("google/switch-base-128", "switch_transformers"),
        ("someone/switch-base-8-finetuned-samsum", "switch_transformers"),
        ("google/vaultgemma-1b", "vaultgemma"),
        ("google/t5gemma-2b-2b-ul2", "t5gemma"),
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


@pytest.mark.parametrize(
    "prose, family",
    [
        ("An XGLM 564M adapter for Swahili", "xglm"),
        ("Switch Transformers base, 8 experts, tuned on SAMSum", "switch_transformers"),
        ("VaultGemma fine-tuned with DP-SGD", "vaultgemma"),
    ],
)
def test_a_readme_s_prose_names_the_family(prose, family):
    from hfprobe.tree.declared import declared_claims

    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions") or {}
    assert family in mentions, mentions

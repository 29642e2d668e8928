"""Mamba-2 (state-spaces' five sizes, Codestral Mamba), DBRX and BioGPT, which the registry lacked until stop 82, each
built by transformers on the meta device at its published size and written as a header-only file (a checkpoint, or
a PEFT LoRA on some of its modules), under transformers' names and, where their makers' files differ, under those.

Before: Mamba-2 no family (its name: an architecture the registry lacks), DBRX's default config builds nothing in
transformers 5.25 (its checkpoint: no family), BioGPT OPT (its layer names, at OPT-350m's widths).
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built, inspect_shapes, meta_causal_lm, meta_model, saved_shapes

torch.set_num_threads(1)

MAMBA2 = {"130m": (768, 24), "2.7b": (2560, 64)}


def _mamba2(size: str):
    import transformers as tf

    codestral = size == "codestral"
    hidden, layers = (4096, 64) if codestral else MAMBA2[size]
    return meta_causal_lm(
        tf.Mamba2Config(
            hidden_size=hidden, num_hidden_layers=layers, num_heads=2 * hidden // 64, head_dim=64, expand=2,
            state_size=128, n_groups=8 if codestral else 1, conv_kernel=4, vocab_size=32768 if codestral else 50288,
            tie_word_embeddings=not codestral,
        )
    )  # fmt: skip


def _dbrx():
    import transformers as tf

    return meta_causal_lm(
        tf.DbrxConfig(
            d_model=6144, n_heads=48, n_layers=40, max_seq_len=32768, vocab_size=100352,
            attn_config={"kv_n_heads": 8, "clip_qkv": 8, "rope_theta": 500000},
            ffn_config={"ffn_hidden_size": 10752, "moe_num_experts": 16, "moe_top_k": 4},
            rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
        )
    )  # fmt: skip


def _biogpt(large: bool = False):
    import transformers as tf

    if not large:  # transformers' defaults are microsoft/biogpt's
        return meta_causal_lm(tf.BioGptConfig())
    return meta_causal_lm(
        tf.BioGptConfig(
            hidden_size=1600, num_hidden_layers=48, num_attention_heads=25, intermediate_size=6400, vocab_size=57717,
            max_position_embeddings=2048,
        )
    )  # fmt: skip


@pytest.mark.parametrize("size", sorted(MAMBA2))
@pytest.mark.parametrize("lora", [(), ("in_proj",)], ids=["checkpoint", "lora"])
def test_mamba2_names_its_size(size, lora, tmp_path):
    # its `in_proj` is 2 x d_inner + 2 x 128 + its heads wide: each size its own
    report = inspect_built(_mamba2(size), tmp_path, lora=lora)
    assert report["family"] == "mamba2" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report) == [f"state-spaces/mamba2-{size}"], _ids(report)
    assert lora or report["base_model"]["id"] == f"state-spaces/mamba2-{size}", report["base_model"]


def test_mamba2_as_mamba_ssm_saves_it(tmp_path):
    # state-spaces' own files name the embedding `backbone.embedding` (transformers: `embeddings`)
    shapes = {
        k.replace("backbone.embeddings.", "backbone.embedding."): s for k, s in saved_shapes(_mamba2("130m")).items()
    }
    assert "backbone.embedding.weight" in shapes
    report = inspect_shapes(tmp_path, shapes)
    assert report["family"] == "mamba2" and _ids(report) == ["state-spaces/mamba2-130m"], report["root"]["evidence"]


def test_codestral_mamba_in_its_own_files(tmp_path):
    # `consolidated.safetensors`: mamba_ssm's names under `model.` (8 groups: a wider `in_proj` than one group's)
    shapes = {"model." + k.replace("backbone.embeddings.", "backbone.embedding."): s
              for k, s in saved_shapes(_mamba2("codestral")).items()}  # fmt: skip
    assert "model.lm_head.weight" in shapes
    report = inspect_shapes(tmp_path, shapes)
    assert report["family"] == "mamba2", report["root"]["evidence"]
    assert _ids(report) == ["mistralai/Mamba-Codestral-7B-v0.1"], report["root"]["evidence"]


def test_mamba_1_stays_mamba_s(tmp_path):
    # Mamba 1's `x_proj` and `dt_proj` rule Mamba-2 out; Mamba-2's `dt_bias` Mamba 1
    model = meta_model("mamba", hidden_size=768, num_hidden_layers=24, state_size=16, vocab_size=50280)
    report = inspect_built(model, tmp_path)
    assert report["family"] == "mamba" and _ids(report)[0] == "state-spaces/mamba-130m-hf", report["root"]["evidence"]


@pytest.mark.parametrize("lora", [(), ("Wqkv", "out_proj")], ids=["checkpoint", "lora"])
def test_dbrx_is_its_own(lora, tmp_path):
    # its experts are three 2-D tensors a block ([16 x 10752, 6144]); an adapter can reach attention and the router
    report = inspect_built(_dbrx(), tmp_path, lora=lora)
    assert report["family"] == "dbrx" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {"databricks/dbrx-base", "databricks/dbrx-instruct"}, _ids(report)


@pytest.mark.parametrize(
    "large, root", [(False, "microsoft/biogpt"), (True, "microsoft/BioGPT-Large")], ids=["biogpt", "large"]
)
def test_a_biogpt_checkpoint_names_its_root(large, root, tmp_path):
    # OPT's layer names under `biogpt.`: microsoft/biogpt has OPT-350m's widths and depth, which read OPT before
    report = inspect_built(_biogpt(large), tmp_path)
    assert report["family"] == "biogpt" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == root, report["base_model"]


def test_a_lora_on_biogpt_is_biogpt_s(tmp_path):
    report = inspect_built(_biogpt(), tmp_path, lora=("q_proj", "v_proj", "fc1", "fc2"))
    assert report["family"] == "biogpt" and _ids(report) == ["microsoft/biogpt"], report["root"]["evidence"]


@pytest.mark.parametrize(
    "name, family",
    [
        ("state-spaces/mamba2-1.3b", "mamba2"),
        ("AntonV/mamba2-780m-hf", "mamba2"),
        ("mistralai/Mamba-Codestral-7B-v0.1", "mamba2"),
        ("state-spaces/mamba2attn-2.7b", None),  # (Mamba-2 with attention layers: another architecture)
        ("state-spaces/mamba-2.8b-hf", "mamba"),
        ("databricks/dbrx-instruct", "dbrx"),
        ("microsoft/BioGPT-Large-PubMedQA", "biogpt"),
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


@pytest.mark.parametrize(
    "prose, family",
    [
        ("A LoRA of Mamba-2 2.7B", "mamba2"),
        ("Fine-tuned from Codestral Mamba", "mamba2"),
        ("DBRX Instruct, tuned on SQL", "dbrx"),
        ("BioGPT fine-tuned for relation extraction", "biogpt"),
    ],
)
def test_a_readme_s_prose_names_the_family(prose, family):
    from hfprobe.tree.declared import declared_claims

    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions") or {}
    assert family in mentions, mentions

"""Recurrent and shared-block hybrids the registry lacked until stop 81: RecurrentGemma (Griffin: two recurrent
blocks, `temporal_block.linear_x` and an RG-LRU, for every local-attention block), Zamba (Mamba 1 layers and one
attention and MLP block shared by some of them, `shared_transf`) and Zamba2 (Mamba-2 layers, one or two shared blocks,
`shared_transformer`, with a LoRA of their own per layer served). Built by transformers on the meta device at the
published sizes and written as header-only files: a checkpoint, or a PEFT LoRA on some of its modules.

Before: RecurrentGemma read no family (its name: an architecture the registry lacks), Zamba and Zamba2 none (the
Mamba hybrids' rule names them, each hybrid excludes their shared block).
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built, meta_causal_lm

torch.set_num_threads(1)

RGEMMA = {  # hidden, layers, heads, MLP (the config's: each projection is half of it)
    "2b": (2560, 26, 10, 15360),
    "9b": (4096, 38, 16, 24576),
}
ZAMBA2 = {  # hidden, layers, state, groups, shared blocks, hybrid layers, LoRAs on attention too
    "1.2B": (2048, 38, 128, 1, 1, [5, 11, 17, 23, 29, 35], True),
    "2.7B": (2560, 54, 64, 1, 2, [6, 12, 18, 24, 30, 36, 42, 47, 51], False),
    "7B": (3584, 81, 64, 2, 2, [6, 11, 17, 23, 29, 35, 41, 47, 53, 59, 65, 71, 77], False),
}


def _recurrent_gemma(size: str):
    import transformers as tf

    hidden, layers, heads, mlp = RGEMMA[size]
    return meta_causal_lm(
        tf.RecurrentGemmaConfig(
            hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=1,
            head_dim=256, lru_width=hidden, intermediate_size=mlp, vocab_size=256000,
        )
    )  # fmt: skip


def _zamba():
    import transformers as tf

    return meta_causal_lm(
        tf.ZambaConfig(
            hidden_size=3712, intermediate_size=14848, num_hidden_layers=76, num_attention_heads=16,
            num_key_value_heads=16, n_mamba_heads=2, mamba_d_state=16, mamba_dt_rank=232, vocab_size=32000,
            attn_layer_period=6, attn_layer_offset=4,
        )
    )  # fmt: skip


def _zamba2(size: str):
    import transformers as tf

    hidden, layers, state, groups, blocks, hybrid, attention_lora = ZAMBA2[size]
    return meta_causal_lm(
        tf.Zamba2Config(
            hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers, num_attention_heads=32,
            num_key_value_heads=32, mamba_d_state=state, mamba_ngroups=groups, mamba_headdim=64,
            n_mamba_heads=2 * hidden // 64, num_mem_blocks=blocks, adapter_rank=128,
            layers_block_type=["hybrid" if i in hybrid else "mamba" for i in range(layers)],
            use_shared_attention_adapter=attention_lora, vocab_size=32000,
        )
    )  # fmt: skip


@pytest.mark.parametrize("size", sorted(RGEMMA))
def test_a_recurrentgemma_checkpoint_is_its_size(size, tmp_path):
    report = inspect_built(_recurrent_gemma(size), tmp_path)
    assert report["family"] == "recurrent_gemma" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)[:2]) == {f"google/recurrentgemma-{size}", f"google/recurrentgemma-{size}-it"}


@pytest.mark.parametrize("targets", [("linear_x", "linear_y"), ("q_proj", "v_proj", "gate_proj")])
def test_a_lora_on_recurrentgemma_is_recurrentgemma_s(targets, tmp_path):
    report = inspect_built(_recurrent_gemma("2b"), tmp_path, lora=targets)
    assert report["family"] == "recurrent_gemma", report["root"]["evidence"]
    assert _ids(report)[0].startswith("google/recurrentgemma-2b"), _ids(report)


@pytest.mark.parametrize("lora", [(), ("in_proj", "out_proj", "q_proj", "v_proj")], ids=["checkpoint", "lora"])
def test_zamba_7b_is_zamba_s(lora, tmp_path):
    report = inspect_built(_zamba(), tmp_path, lora=lora)
    assert report["family"] == "zamba" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report)[0] == "Zyphra/Zamba-7B-v1", _ids(report)


@pytest.mark.parametrize("size", sorted(ZAMBA2))
def test_a_zamba2_checkpoint_is_its_size(size, tmp_path):
    report = inspect_built(_zamba2(size), tmp_path)
    assert report["family"] == "zamba2" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert all(i.startswith(f"Zyphra/Zamba2-{size}") for i in _ids(report)), _ids(report)


@pytest.mark.parametrize("targets", [("in_proj", "out_proj"), ("q_proj", "v_proj", "gate_up_proj")])
def test_a_lora_on_zamba2_is_zamba2_s(targets, tmp_path):
    report = inspect_built(_zamba2("2.7B"), tmp_path, lora=targets)
    assert report["family"] == "zamba2", report["root"]["evidence"]
    assert _ids(report)[0].startswith("Zyphra/Zamba2-2.7B"), _ids(report)


def test_a_bamba_lora_on_its_mamba_layers_is_no_zamba2(tmp_path):
    # `layers.N.mamba.in_proj` is Bamba's, Granite 4.0's and Zamba2's name: Bamba's widths are its own
    from tests.test_mamba_hybrids import _bamba

    report = inspect_built(_bamba(), tmp_path, lora=("in_proj", "out_proj"))
    assert report["family"] == "bamba", report["root"]["evidence"]


@pytest.mark.parametrize(
    "name, family",
    [
        ("google/recurrentgemma-9b-it", "recurrent_gemma"),
        ("Zyphra/Zamba-7B-v1", "zamba"),
        ("Zyphra/Zamba2-1.2B-Instruct-v2", "zamba2"),
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

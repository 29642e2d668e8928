"""Sesame's CSM and Nari Labs' Dia (`csm`, `dia`): text-to-speech models people fine-tune (CSM through Unsloth's
LoRA recipe). Before, CSM read as Phi at 0.3 (LLaMA's names under its own prefixes), Dia as Phi-3 at 0.3 (its fused
`mlp.gate_up_proj`)."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.declared import resolve_name
from tests.model_shapes import candidate_ids, inspect_built

torch.set_num_threads(1)

# a small Mimi codec (the real one, 79M parameters, is no part of what is read)
MIMI = dict(model_type="mimi", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4)
MIMI |= dict(head_dim=16, intermediate_size=128, codebook_dim=32, num_filters=8, upsample_groups=64)
CSM_IDS = dict(pad_token_id=None, bos_token_id=None, audio_token_id=None, audio_eos_token_id=None)
UNSLOTH = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def _csm():
    import transformers as tf

    config = tf.CsmConfig(depth_decoder_config=dict(backbone_hidden_size=2048), codec_config=MIMI, **CSM_IDS)
    with torch.device("meta"):
        return tf.CsmForConditionalGeneration(config)


def _dia():
    import transformers as tf

    with torch.device("meta"):
        return tf.DiaForConditionalGeneration(tf.DiaConfig())  # (its defaults: Dia 1.6B's)


@pytest.mark.parametrize("lora", [(), UNSLOTH])
def test_csm_is_csm_and_no_llama(lora, tmp_path):
    """Its backbone is LLaMA 3.2 1B's every size and name but under `backbone_model.`: Unsloth's LoRA (LLaMA's seven
    projections, the codec's attention too) is CSM's, sure, and no Llama's."""
    report = inspect_built(_csm(), tmp_path, lora=lora)
    assert report["family"] == "csm" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == "sesame/csm-1b", report["root"]
    assert not any(i.startswith("meta-llama/") for i in candidate_ids(report))


@pytest.mark.parametrize("lora", [(), ("q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj")])
def test_dia_is_dia_and_its_two_releases_tie(lora, tmp_path):
    """Dia 1.6B (Nari's own format) and Dia-1.6B-0626 share every size: both candidates, no `base_model`."""
    report = inspect_built(_dia(), tmp_path, lora=lora)
    assert report["family"] == "dia" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert {"nari-labs/Dia-1.6B", "nari-labs/Dia-1.6B-0626"} <= set(candidate_ids(report))
    assert report["base_model"]["id"] is None, report["base_model"]


@pytest.mark.parametrize(
    "name, family", [("sesame/csm-1b", "csm"), ("unsloth/csm-1b", "csm"), ("nari-labs/Dia-1.6B-0626", "dia")]
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

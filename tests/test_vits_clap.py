"""VITS and CLAP (`vits`, `clap`): Meta's MMS-TTS and Kakao's VITS (text to speech), LAION's CLAP (audio and text
towers, the text encoder of AudioLDM 2 and MusicLDM). Before, a VITS checkpoint or LoRA read as wav2vec 2.0 at 0.3
(its `attention.q_proj`), a CLAP one as Swin at 0.5 (its audio tower's blocks), and MMS-TTS's name hinted none."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.declared import resolve_name
from tests.model_shapes import inspect_built

torch.set_num_threads(1)


def _vits(**config):
    import transformers as tf

    with torch.device("meta"):
        return tf.VitsModel(tf.VitsConfig(**config))


@pytest.mark.parametrize(
    "config, root",
    [
        ({}, "facebook/mms-tts-eng"),  # (transformers' default configuration: MMS-TTS English's)
        (dict(vocab_size=178, num_speakers=109, speaker_embedding_size=256), "kakao-enterprise/vits-vctk"),
    ],
)
def test_a_vits_checkpoint_names_its_root_by_its_vocabulary_and_speakers(config, root, tmp_path):
    report = inspect_built(_vits(**config), tmp_path)
    assert report["family"] == "vits" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, report["root"]


def test_another_mms_language_is_vits_and_no_english_model(tmp_path):
    """MMS-TTS Vietnamese (95 characters): every size English's has but its vocabulary, which names the language: the
    family is sure, and English's model is not written as its base."""
    report = inspect_built(_vits(vocab_size=95), tmp_path)
    assert report["family"] == "vits" and report["family_confidence"] == 1.0
    assert report["base_model"]["id"] is None, report["base_model"]


def test_a_lora_on_its_text_encoder_is_vits(tmp_path):
    """The text encoder's `attention.q_proj` and `v_proj` are wav2vec 2.0's names too (its rule yields: precedence)."""
    report = inspect_built(_vits(), tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "vits" and report["family_confidence"] == 1.0, report["root"]["evidence"]


def _clap(larger: bool = False, fused: bool = False):
    import transformers as tf

    audio = dict(patch_embeds_hidden_size=128, depths=[2, 2, 12, 2], hidden_size=1024) if larger else {}
    config = tf.ClapConfig(audio_config=dict(audio, enable_fusion=fused))
    with torch.device("meta"):
        return tf.ClapModel(config)


@pytest.mark.parametrize(
    "larger, fused, roots",
    [
        (False, False, {"laion/clap-htsat-unfused", "laion/clap-htsat-fused"}),
        (False, True, {"laion/clap-htsat-unfused", "laion/clap-htsat-fused"}),
        (True, False, {"laion/larger_clap_general", "laion/larger_clap_music", "laion/larger_clap_music_and_speech"}),
    ],
)
def test_a_clap_checkpoint_names_its_size_s_roots(larger, fused, roots, tmp_path):
    report = inspect_built(_clap(larger, fused), tmp_path)
    assert report["family"] == "clap" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert {c["id"] for c in report["root"]["candidates"][: len(roots)]} == roots, report["root"]["candidates"]


def test_a_lora_on_both_towers_is_clap(tmp_path):
    """`query` and `value` in both towers: BERT's names under `text_model.` and Swin's under `audio_model.`."""
    report = inspect_built(_clap(), tmp_path, lora=("query", "value"))
    assert report["family"] == "clap" and report["family_confidence"] == 1.0, report["root"]["evidence"]


@pytest.mark.parametrize(
    "name, family",
    [
        ("facebook/mms-tts-fra", "vits"),
        ("kakao-enterprise/vits-ljs", "vits"),
        ("facebook/mms-1b-all", "wav2vec2"),
        ("laion/larger_clap_music", "clap"),
        ("laion/clap-htsat-unfused", "clap"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

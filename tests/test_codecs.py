"""Neural audio codecs as families: XCodec2 and NeuCodec (w2v-BERT 2.0 inside, a Vocos decoder), X-Codec (HuBERT or
WavLM beside DAC's encoder and decoder), DAC and EnCodec. Before, XCodec2 and NeuCodec read DeBERTa-v3-large at 0.12
by sizes alone, X-Codec wav2vec 2.0 at 0.5 by its semantic model's names, DAC Whisper at 0.3 by its `encoder.conv1`,
EnCodec nothing. Checkpoints are built by transformers on the meta device at their published sizes (transformers'
defaults, or the published configs' values below) and written as header-only safetensors files."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids, inspect_built, meta_class, meta_model

torch.set_num_threads(1)

DAC_16K = dict(downsampling_ratios=[2, 4, 5, 8], n_codebooks=12, sampling_rate=16000)
DAC_24K = dict(downsampling_ratios=[2, 4, 5, 8], n_codebooks=32, sampling_rate=24000)
DAC_44K = dict(downsampling_ratios=[2, 4, 8, 8], n_codebooks=9, sampling_rate=44100)
ENCODEC_32K = dict(sampling_rate=32000, codebook_size=2048, num_filters=64, target_bandwidths=[2.2])
ENCODEC_32K |= dict(upsampling_ratios=[8, 5, 4, 4], use_causal_conv=False, use_conv_shortcut=False)
ENCODEC_48K = dict(sampling_rate=48000, audio_channels=2, normalize=True, target_bandwidths=[3.0, 6.0, 12.0, 24.0])
ENCODEC_48K |= dict(norm_type="time_group_norm", use_causal_conv=False)
HUBERT_XCODECS = {f"hf-audio/xcodec-hubert-{n}" for n in ("librispeech", "general", "general-balanced")}
WAVLM_XCODECS = {"hf-audio/xcodec-wavlm-mls", "hf-audio/xcodec-wavlm-more-data"}


@pytest.mark.parametrize(
    "model_type, kw, root",
    [
        ("xcodec2", {}, "HKUSTAudio/xcodec2"),
        ("neucodec", {}, "neuphonic/neucodec"),  # XCodec2's every layer but its 24 kHz head
        ("dac", DAC_16K, "descript/dac_16khz"),
        ("dac", DAC_24K, "descript/dac_24khz"),
        ("dac", DAC_44K, "descript/dac_44khz"),
        ("encodec", {}, "facebook/encodec_24khz"),
        ("encodec", ENCODEC_32K, "facebook/encodec_32khz"),
        ("encodec", ENCODEC_48K, "facebook/encodec_48khz"),
    ],
)
def test_each_names_its_release(model_type, kw, root, tmp_path):
    """DAC's and EnCodec's releases differ by their codebooks' count (and EnCodec 48 kHz by its two channels, 32 kHz
    by its width and codes); XCodec2 and NeuCodec by their ISTFT head alone."""
    report = inspect_built(meta_model(model_type, **kw), tmp_path)
    assert report["family"] == root_family(root) and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, candidate_ids(report)


def root_family(root: str) -> str:
    from hfprobe.tree.registry import roots

    return roots()["_by_id"][root]["family"]


@pytest.mark.parametrize("semantic, listed", [("hubert", HUBERT_XCODECS), ("wavlm", WAVLM_XCODECS)])
def test_x_codec_lists_the_releases_of_its_semantic_model(semantic, listed, tmp_path):
    """X-Codec's HuBERT releases share every size, as its WavLM ones do; WavLM's relative positions tell the two
    kinds apart. None is written."""
    report = inspect_built(meta_model("xcodec", semantic_model_config={"model_type": semantic}), tmp_path)
    assert report["family"] == "xcodec" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(candidate_ids(report)) == listed
    assert report["base_model"]["id"] is None


@pytest.mark.parametrize(
    "cls, config, family, root",
    [
        ("HubertForCTC", "HubertConfig", "hubert", "facebook/hubert-base-ls960"),
        ("WavLMForCTC", "WavLMConfig", "wavlm", None),
        ("Wav2Vec2BertModel", "Wav2Vec2BertConfig", "wav2vec2_bert", "facebook/w2v-bert-2.0"),
        ("MimiModel", "MimiConfig", "mimi", "kyutai/mimi"),
    ],
)
def test_the_models_they_hold_keep_their_readings(cls, config, family, root, tmp_path):
    """A speech encoder saved alone has no codec's layers: no codec root beside it."""
    report = inspect_built(meta_class(cls, config), tmp_path)
    assert report["family"] == family, report["root"]["evidence"]
    if root:
        assert report["root"]["id"] == root
    codecs = {"xcodec", "xcodec2", "dac", "encodec"}
    assert not {root_family(i) for i in candidate_ids(report)} & codecs, candidate_ids(report)


@pytest.mark.parametrize(
    "name, family",
    [
        ("HKUSTAudio/xcodec2-hf", "xcodec2"),
        ("someone/neucodec-finetuned-french", "xcodec2"),
        ("m-a-p/xcodec_mini_infer", "xcodec"),
        ("hf-audio/xcodec-wavlm-mls", "xcodec"),
        ("parler-tts/dac_44khZ_8kbps", "dac"),
        ("facebook/encodec_32khz", "encodec"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


def test_prose_names_them_as_their_papers_spell_them():
    from hfprobe.tree.declared import declared_claims

    prose = "Tokens from XCodec2, X-Codec and EnCodec; the Descript Audio Codec decodes."
    mentions = declared_claims(texts={"README.md": prose})[0]["README.md mentions"]
    assert mentions == {"xcodec2": 1, "xcodec": 1, "encodec": 1, "dac": 1}, mentions
    mentions = declared_claims(texts={"README.md": "A DAC and an encoder-decoder codec."})[0]
    assert not mentions.get("README.md mentions"), mentions


def _first_release_names(shapes: dict) -> dict:
    """XCodec2's checkpoint as HKUSTAudio first released it (its remote code's names, which transformers' converter
    maps from): w2v-BERT 2.0's every layer under `semantic_model.`, `SemanticEncoder_module.`, the decoder under
    `generator.backbone.` with a fused `att.c_attn`, `fc_prior` and `fc_post_a`; the acoustic encoder (`CodecEnc.`,
    unsized) left out."""
    adapter = {"conv1": "initial_conv", "conv2": "residual_blocks.1", "conv3": "residual_blocks.3"}
    adapter["conv4"] = "final_conv"
    out = {}
    for key, shape in shapes.items():
        head, _, rest = key.partition(".")
        if head == "semantic_encoder":
            out[f"semantic_model.{rest}"] = shape
        elif head == "semantic_adapter":
            conv, _, tail = rest.partition(".")
            out[f"SemanticEncoder_module.{adapter[conv]}.{tail}"] = shape
        elif key.startswith("fc_encoder."):
            out[key.replace("fc_encoder", "fc_prior")] = shape
        elif key.startswith("quantizer."):
            out[f"generator.{key}"] = shape
        elif key.startswith("acoustic_decoder.fc."):
            out[key.replace("acoustic_decoder.fc", "fc_post_a")] = shape
        elif key.startswith("acoustic_decoder.head.linear."):
            out[key.replace("acoustic_decoder.head.linear", "generator.head.out")] = shape
        elif key.startswith("acoustic_decoder.layers.") and ".self_attn." in key:
            block = key.split(".")[2]
            part = key.rsplit(".", 2)[-2]
            if part == "q_proj":  # q, k and v fused, as the first release has them
                out[f"generator.backbone.transformers.{block}.att.c_attn.weight"] = (3 * shape[0], shape[1])
            elif part == "o_proj":
                out[f"generator.backbone.transformers.{block}.att.c_proj.weight"] = shape
        elif key.startswith("acoustic_decoder.layers."):
            out[key.replace("acoustic_decoder.layers.", "generator.backbone.transformers.")] = shape
        elif key.startswith("acoustic_decoder."):
            out[key.replace("acoustic_decoder.", "generator.backbone.")] = shape
    for n in range(16, 24):  # the first release keeps w2v-BERT 2.0's every layer
        for key, shape in shapes.items():
            if key.startswith("semantic_encoder.encoder.layers.0."):
                out[key.replace("semantic_encoder.encoder.layers.0.", f"semantic_model.encoder.layers.{n}.")] = shape
    return out


def test_xcodec2_as_first_released_is_its_family_s(tmp_path):
    from tests.model_shapes import inspect_shapes, saved_shapes

    shapes = _first_release_names(saved_shapes(meta_model("xcodec2")))
    assert "generator.backbone.transformers.11.att.c_attn.weight" in shapes and "fc_post_a.weight" in shapes
    report = inspect_shapes(tmp_path, shapes)
    assert report["family"] == "xcodec2" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == "HKUSTAudio/xcodec2", candidate_ids(report)

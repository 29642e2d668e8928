"""Parakeet, Moonshine and BlenderBot (`parakeet`, `moonshine`, `blenderbot`, `blenderbot_small`): NVIDIA's
FastConformer speech recognisers, Useful Sensors' Moonshine and Meta's BlenderBot chat models. Before, a Parakeet
checkpoint read as CLIP at 0.4 (or as nothing: its 1.1B model), Moonshine and BlenderBot as Whisper at 0.3."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.declared import resolve_name
from tests.model_shapes import candidate_ids, inspect_built

torch.set_num_threads(1)

XL = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=8, intermediate_size=4096)
V3 = dict(XL, num_mel_bins=128, attention_bias=False, convolution_bias=False, scale_input=False)  # v2's and v3's


def _meta(build):
    with torch.device("meta"):
        return build()


def _parakeet(kind: str):
    import transformers as tf

    if kind == "ctc-1.1b":
        config = tf.ParakeetCTCConfig(vocab_size=1025, pad_token_id=1024, encoder_config=dict(XL, num_hidden_layers=42))
        return _meta(lambda: tf.ParakeetForCTC(config))
    if kind == "tdt-0.6b-v3":
        config = tf.ParakeetTDTConfig(vocab_size=8193, blank_token_id=8192, encoder_config=V3)
        return _meta(lambda: tf.ParakeetForTDT(config))
    config = tf.NemotronAsrStreamingConfig(vocab_size=1025, blank_token_id=1024, encoder_config=V3)
    return _meta(lambda: tf.NemotronAsrStreamingForRNNT(config))


@pytest.mark.parametrize(
    "kind, root",
    [
        ("ctc-1.1b", "nvidia/parakeet-ctc-1.1b"),
        ("tdt-0.6b-v3", "nvidia/parakeet-tdt-0.6b-v3"),
        ("streaming", "nvidia/nemotron-speech-streaming-en-0.6b"),  # Parakeet's blocks under a causal stem
    ],
)
def test_a_parakeet_checkpoint_names_its_root(kind, root, tmp_path):
    report = inspect_built(_parakeet(kind), tmp_path)
    assert report["family"] == "parakeet" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, report["root"]


def test_a_parakeet_lora_is_parakeet_and_keeps_its_size_s_models(tmp_path):
    """Attention (`o_proj`, which Whisper's encoder names `out_proj`) and the feed-forwards' `linear1`, `linear2`:
    24 blocks of 1,024, so the 0.6B models, not the 1.1B's 42 blocks."""
    lora = ("q_proj", "k_proj", "v_proj", "o_proj", "linear1", "linear2")
    report = inspect_built(_parakeet("tdt-0.6b-v3"), tmp_path, lora=lora)
    assert report["family"] == "parakeet" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    ids = candidate_ids(report)
    assert "nvidia/parakeet-tdt-0.6b-v3" in ids and not {i for i in ids if "1.1b" in i}, ids


def test_its_encoder_saved_bare_is_parakeet(tmp_path):
    """`layers.N.feed_forward1.linear1` and `subsampling.linear` at the top (no `encoder.`): transformers' default
    encoder, the 0.6B models' on 80 mel bins, whichever head they had."""
    import transformers as tf

    report = inspect_built(_meta(lambda: tf.ParakeetEncoder(tf.ParakeetEncoderConfig())), tmp_path)
    assert report["family"] == "parakeet" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert {"nvidia/parakeet-ctc-0.6b", "nvidia/parakeet-rnnt-0.6b"} <= set(candidate_ids(report)), report["root"]


@pytest.mark.parametrize(
    "model_type, cls",
    [("lasr_ctc", "LasrForCTC"), ("gemma4_audio", "Gemma4AudioModel"), ("granite_speech5_ctc", "GraniteSpeech5ForCTC")],
)
def test_conformers_of_other_lineages_are_no_parakeet(model_type, cls, tmp_path):
    """Google's MedASR (LASR) keeps Parakeet's block names (`feed_forward1.linear1`, `conv.pointwise_conv1`) beside
    an `encoder.out_norm` and a `subsampler`; Gemma 4's audio tower its `relative_k_proj` and `norm_out`; IBM's
    Granite Speech 5 its feed-forwards and attention (`conv.pointwise_lin1` and a learned `rel_pos_emb` beside them)."""
    import transformers as tf

    model = _meta(lambda: getattr(tf, cls)(tf.AutoConfig.for_model(model_type)))
    report = inspect_built(model, tmp_path)
    assert report["family"] != "parakeet", report["root"]["evidence"]


def test_a_decoder_s_attention_alone_is_no_parakeet_s(tmp_path):
    """A bare XGLM (`layers.N.self_attn.q_proj` at the top, 1,024 wide): Parakeet's sizes, none of its blocks' names.
    Parakeet expects them (a convention), so its roots are no candidates (they were, and made XGLM less sure)."""
    import transformers as tf

    report = inspect_built(_meta(lambda: tf.XGLMModel(tf.XGLMConfig())), tmp_path)
    assert report["family"] == "xglm" and not any(i.startswith("nvidia/") for i in candidate_ids(report))


def _moonshine(hidden, ffn, layers):
    import transformers as tf

    config = tf.MoonshineConfig(
        hidden_size=hidden,
        intermediate_size=ffn,
        encoder_num_hidden_layers=layers,
        decoder_num_hidden_layers=layers,
        encoder_num_attention_heads=8,
        decoder_num_attention_heads=8,
        vocab_size=32768,
        max_position_embeddings=194,
    )
    return _meta(lambda: tf.MoonshineForConditionalGeneration(config))


@pytest.mark.parametrize("lora", [(), ("q_proj", "k_proj", "v_proj", "o_proj")])
@pytest.mark.parametrize(
    "size, root", [((288, 1152, 6), "UsefulSensors/moonshine-tiny"), ((416, 1664, 8), "UsefulSensors/moonshine-base")]
)
def test_moonshine_is_no_whisper(size, root, lora, tmp_path):
    """Its stem's `conv3` and `groupnorm`, or (a LoRA) its cross-attention's `o_proj`, which Whisper's names lack."""
    report = inspect_built(_moonshine(*size), tmp_path, lora=lora)
    assert report["family"] == "moonshine" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == root, report["root"]


def _blenderbot(small: bool = False, ffn: int = 0, **config):
    import transformers as tf

    if small:
        config = tf.BlenderbotSmallConfig(vocab_size=54944, max_position_embeddings=512)  # (its defaults: 90M's)
        return _meta(lambda: tf.BlenderbotSmallForConditionalGeneration(config))
    sizes = dict(encoder_layers=2, encoder_attention_heads=32, decoder_attention_heads=32, vocab_size=8008)
    sizes |= dict(encoder_ffn_dim=ffn, decoder_ffn_dim=ffn, max_position_embeddings=128, scale_embedding=True)
    config = tf.BlenderbotConfig(**sizes, **config)
    return _meta(lambda: tf.BlenderbotForConditionalGeneration(config))


@pytest.mark.parametrize(
    "small, config, root",
    [
        (False, dict(d_model=1280, decoder_layers=12, ffn=5120), "facebook/blenderbot-400M-distill"),
        (False, dict(d_model=2560, decoder_layers=24, ffn=10240), "facebook/blenderbot-3B"),
        (True, {}, "facebook/blenderbot_small-90M"),
    ],
)
def test_a_blenderbot_checkpoint_names_its_root(small, config, root, tmp_path):
    report = inspect_built(_blenderbot(small, **config), tmp_path)
    assert report["family"] == ("blenderbot_small" if small else "blenderbot"), report["root"]["evidence"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, report["root"]


def test_a_blenderbot_lora_is_blenderbot(tmp_path):
    """BART's names (a PEFT LoRA on `q_proj`, `v_proj`), BlenderBot's 1,280 width and 5,120 feed-forward."""
    model = _blenderbot(d_model=1280, decoder_layers=12, ffn=5120)
    report = inspect_built(model, tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "blenderbot", report["root"]["evidence"]
    assert report["root"]["id"] == "facebook/blenderbot-400M-distill", report["root"]


def test_a_whisper_lora_stays_whisper(tmp_path):
    """Whisper's names are BlenderBot's and Moonshine's query and value: sizes keep it Whisper's."""
    import transformers as tf

    sizes = dict(encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048, decoder_ffn_dim=2048)
    config = tf.WhisperConfig(d_model=512, encoder_layers=6, decoder_layers=6, **sizes)
    model = _meta(lambda: tf.WhisperForConditionalGeneration(config))
    report = inspect_built(model, tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "whisper" and report["root"]["id"] == "openai/whisper-base", report["root"]


@pytest.mark.parametrize(
    "name, family",
    [
        ("nvidia/parakeet-tdt-0.6b-v3", "parakeet"),
        ("nvidia/nemotron-speech-streaming-en-0.6b", "parakeet"),
        ("UsefulSensors/moonshine-tiny-ko", "moonshine"),
        ("facebook/blenderbot-400M-distill", "blenderbot"),
        ("facebook/blenderbot_small-90M", "blenderbot_small"),
        ("nvidia/Nemotron-H-8B-Base-8K", "nemotron_h"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

"""Kyutai's speech models as families: the Mimi codec (`mimi`), Moshi (`moshi`) and the streaming STT models
(`kyutai_speech_to_text`). Before, each read as Phi at 0.3 with no root: Moshi's and STT's gated MLP is named
`mlp.fc1` and `fc2` (Phi's names), Mimi's transformers `self_attn.q_proj` and `mlp.fc1` under `encoder_transformer.`.
Checkpoints are built by transformers on the meta device at their published sizes (transformers' defaults are
kyutai/mimi's, hf-moshika's and stt-2.6b-en-trfs's) and written as header-only safetensors files."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.declared import resolve_name
from tests.model_shapes import candidate_ids, inspect_built

torch.set_num_threads(1)

# kyutai/stt-1b-en_fr: 16 layers of 16 heads of 128, 8,000 text tokens (Kyutai's original config)
STT_1B = dict(num_hidden_layers=16, num_attention_heads=16, num_key_value_heads=16, head_dim=128, vocab_size=8001)
STT_1B |= dict(audio_pad_token_id=73569, sliding_window=750, max_position_embeddings=750)
# PEFT's names for Kyutai's wrapped projections (`self_attn.q_proj.linear`) and MLP; the codec's `mlp.fc1` too
KYUTAI_LORA = ("linear", "fc1", "fc2")


def _built(cls: str, config: str, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**kw))


def _moshi():
    # (its depth decoder's config as a dict, so the parent's sizes are copied into it)
    return _built("MoshiForConditionalGeneration", "MoshiConfig", audio_vocab_size=2048, depth_decoder_config={})


def test_mimi_names_its_root_and_base(tmp_path):
    report = inspect_built(_built("MimiModel", "MimiConfig"), tmp_path)
    assert report["family"] == "mimi" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == "kyutai/mimi" and report["base_model"]["id"] == "kyutai/mimi"


@pytest.mark.parametrize("model_type", ["mimi_encoder", "mimi_decoder", "pocket_tts_audio_tokenizer_decoder"])
def test_a_half_of_mimi_is_mimi_and_pocket_tts_s_codec_names_no_base(model_type, tmp_path):
    """Mimi's halves (`mimi_encoder`, `mimi_decoder`) are kyutai/mimi's; Pocket TTS's audio tokenizer is Mimi's code
    with a continuous bottleneck and 2 transformer layers, not 8: Mimi's, its base unnamed."""
    import transformers as tf

    with torch.device("meta"):
        model = tf.AutoModel.from_config(tf.AutoConfig.for_model(model_type))
    report = inspect_built(model, tmp_path)
    assert report["family"] == "mimi", report["root"]["evidence"]
    mimi = model_type.startswith("mimi")
    assert report["base_model"]["id"] == ("kyutai/mimi" if mimi else None), report["base_model"]


@pytest.mark.parametrize("lora", [(), KYUTAI_LORA])
def test_moshi_is_moshi_and_its_two_voices_tie(lora, tmp_path):
    """moshiko and moshika share every size: both candidates, no `base_model`; Mimi, its codec, is set aside."""
    report = inspect_built(_moshi(), tmp_path, lora=lora)
    assert report["family"] == "moshi" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(candidate_ids(report)) == {"kmhf/hf-moshiko", "kmhf/hf-moshika"}
    assert report["base_model"]["id"] is None


def test_moshi_s_temporal_transformer_alone_is_moshi_and_no_stt(tmp_path):
    """MoshiForCausalLM saves the temporal transformer under `model.`, as Kyutai STT does: its 4,096 width tells."""
    report = inspect_built(_built("MoshiForCausalLM", "MoshiConfig", audio_vocab_size=2048), tmp_path)
    assert report["family"] == "moshi" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(candidate_ids(report)) == {"kmhf/hf-moshiko", "kmhf/hf-moshika"}


@pytest.mark.parametrize("kw, root", [({}, "kyutai/stt-2.6b-en-trfs"), (STT_1B, "kyutai/stt-1b-en_fr-trfs")])
def test_kyutai_stt_names_its_size_s_root(kw, root, tmp_path):
    """Its Mimi codec (`codec_model.`, a transformer of 512 with `mlp.fc1`) is no part of its sizes."""
    model = _built("KyutaiSpeechToTextForConditionalGeneration", "KyutaiSpeechToTextConfig", **kw)
    report = inspect_built(model, tmp_path)
    assert report["family"] == "kyutai_speech_to_text" and report["family_confidence"] == 1.0
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, report["base_model"]


def test_a_lora_on_kyutai_stt_is_its_and_no_moshi(tmp_path):
    """A LoRA on its projections and MLP (the codec's MLP adapted too) has Moshi's layer names, under `model.`."""
    model = _built("KyutaiSpeechToTextForConditionalGeneration", "KyutaiSpeechToTextConfig")
    report = inspect_built(model, tmp_path, lora=KYUTAI_LORA)
    assert report["family"] == "kyutai_speech_to_text" and report["family_confidence"] == 1.0
    assert candidate_ids(report) == ["kyutai/stt-2.6b-en-trfs"], report["root"]["evidence"]


@pytest.mark.parametrize(
    "cls, config, kw, family",
    [
        ("PhiForCausalLM", "PhiConfig", dict(hidden_size=2560, intermediate_size=10240, num_hidden_layers=32), "phi"),
        ("WhisperModel", "WhisperConfig", {}, "whisper"),  # its `encoder.embed_positions`: RoFormer's rotary table
        ("LlamaForCausalLM", "LlamaConfig", dict(num_hidden_layers=2), "llama"),
    ],
)
def test_their_neighbours_keep_their_readings(cls, config, kw, family, tmp_path):
    """Phi's `mlp.fc1` rule lists Moshi and Kyutai STT; LLaMA's attention rule sets Mimi's transformers aside."""
    report = inspect_built(_built(cls, config, **kw), tmp_path)
    assert report["family"] == family, report["root"]["evidence"]
    assert not any(i.startswith(("kyutai/", "kmhf/", "junnyu/")) for i in candidate_ids(report))


@pytest.mark.parametrize("model_type", ["gemma4_audio", "gemma4_vision"])
def test_other_wrapped_attention_is_no_kyutai_model(model_type, tmp_path):
    """Gemma 4's audio and vision towers wrap their attention as Kyutai's does (`self_attn.q_proj.linear`), with
    other MLPs: no Kyutai family, checkpoint or LoRA (the first draft read them as Moshi)."""
    import transformers as tf

    with torch.device("meta"):
        model = tf.AutoModel.from_config(tf.AutoConfig.for_model(model_type))
    for lora in ((), ("linear",)):
        report = inspect_built(model, tmp_path / str(len(lora)), lora=lora)
        assert report["family"] not in ("moshi", "kyutai_speech_to_text", "mimi"), report["root"]["evidence"]


@pytest.mark.parametrize(
    "name, family",
    [
        ("kyutai/mimi", "mimi"),
        ("kyutai/moshika-pytorch-bf16", "moshi"),
        ("kmhf/hf-moshiko", "moshi"),
        ("kyutai/stt-1b-en_fr", "kyutai_speech_to_text"),
        ("someone/stt-2.6b-en-finetuned", "kyutai_speech_to_text"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

"""SpeechT5: one encoder-decoder (12 and 6 layers, 768 wide) for every task, with pre- and post-nets per modality:
text in and mel frames out (microsoft/speecht5_tts, the base of the Audio Course's text-to-speech fine-tunes),
speech in and text out (speecht5_asr), speech in and out (speecht5_vc). Which of them a checkpoint holds says which
model it was fine-tuned from. Models are built by transformers on the meta device at the published sizes
(SpeechT5Config's defaults are Microsoft's) and written as header-only safetensors files.

Before: a fine-tune of any of them read as wav2vec 2.0 at 0.5 (facebook/wav2vec2-base-960h first), and its name
(`…/speecht5_finetuned_voxpopuli_nl`) named no family.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

TTS, ASR, VC = "microsoft/speecht5_tts", "microsoft/speecht5_asr", "microsoft/speecht5_vc"


def _speecht5(cls: str, **config):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(tf.SpeechT5Config(**config))


@pytest.mark.parametrize(
    "cls, root",
    [("SpeechT5ForTextToSpeech", TTS), ("SpeechT5ForSpeechToText", ASR), ("SpeechT5ForSpeechToSpeech", VC)],
)
def test_a_fine_tune_s_pre_and_post_nets_name_its_base(cls, root, tmp_path):
    model = _speecht5(cls)
    for report in (
        inspect_built(model, tmp_path / "bare"),
        inspect_built(model, tmp_path / "cfg", config=model.config.to_dict()),
    ):
        assert report["family"] == "speecht5" and report["family_confidence"] >= 0.9
        assert [c["id"] for c in report["root"]["candidates"]] == [root]
        assert report["base_model"]["id"] == root and not report["conflicts"]


def test_a_resized_vocabulary_keeps_the_root_and_writes_none(tmp_path):
    """Some fine-tunes for other scripts resize the text pre-net (the Audio Course's map their letters to its 81)."""
    report = inspect_built(_speecht5("SpeechT5ForTextToSpeech", vocab_size=120), tmp_path)
    assert report["family"] == "speecht5" and report["root"]["id"] == TTS and report["base_model"]["id"] is None


def test_the_shared_layers_alone_say_the_family_not_the_model(tmp_path):
    """A LoRA on the attention (or the bare SpeechT5Model) has none of the pre- and post-nets: every root fits it."""
    model = _speecht5("SpeechT5ForTextToSpeech")
    lora = inspect_built(model, tmp_path / "lora", lora=("q_proj", "v_proj"))
    assert lora["family"] == "speecht5" and {c["id"] for c in lora["root"]["candidates"]} == {TTS, ASR, VC}
    assert lora["base_model"]["id"] is None
    config = {"peft_type": "LORA", "base_model_name_or_path": TTS, "r": 8, "lora_alpha": 16}
    declared = inspect_built(model, tmp_path / "declared", lora=("q_proj", "v_proj"), config=config)
    assert declared["base_model"]["id"] == TTS and not declared["conflicts"]


def test_wav2vec2_is_no_speecht5(tmp_path):
    import transformers as tf

    with torch.device("meta"):
        model = tf.Wav2Vec2ForCTC(tf.Wav2Vec2Config(vocab_size=32))
    assert inspect_built(model, tmp_path)["family"] == "wav2vec2"


def test_names_say_speecht5():
    assert resolve_name("someone/speecht5_finetuned_voxpopuli_nl") == (None, "speecht5")
    assert resolve_name("microsoft/speecht5_tts") == (TTS, "speecht5")


def test_fastspeech2_is_no_speecht5(tmp_path):
    """FastSpeech 2 (Conformer) has a module of SpeechT5's name, `speech_decoder_postnet`, and nothing else of it."""
    import transformers as tf

    with torch.device("meta"):
        model = tf.FastSpeech2ConformerModel(tf.FastSpeech2ConformerConfig())
    assert inspect_built(model, tmp_path)["family"] != "speecht5"

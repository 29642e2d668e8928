"""data2vec (Baevski et al. 2022): one self-supervised method, three models in the layouts of others, each pretrained
apart: data2vec-vision has BEiT's every layer (LayerScale, relative position biases), data2vec-text RoBERTa-base's
every shape, data2vec-audio wav2vec 2.0's but for its relative positions (five plain convolutions,
`encoder.pos_conv_embed.layers.N.conv`, in place of one weight-normed). Their fine-tunes keep transformers' prefixes
(`data2vec_vision.`, `data2vec_text.`, `data2vec_audio.`), which name them; a bare data2vec-audio is told by its
positional convolutions.

Models are built by transformers on the meta device at the published sizes and written as header-only safetensors
files.

Before: each prefix was an architecture the registry lacked (no root written; a data2vec-audio CTC fine-tune read
wav2vec 2.0 at 0.6 with facebook/wav2vec2-base-960h first, a bare data2vec-vision BEiT at 1.0, data2vec-text BERT
at 0.99 with bert-base-uncased first in the transformers sweep).
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

ROBERTA_BASE = dict(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1)
LARGE = dict(hidden_size=1024, num_hidden_layers=24, intermediate_size=4096, num_attention_heads=16)


def _model(cls: str, config: str, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**kw))


def _vision(**kw):
    return _model("Data2VecVisionForImageClassification", "Data2VecVisionConfig", use_relative_position_bias=True, **kw)


def _audio(cls: str = "Data2VecAudioForCTC", **kw):
    return _model(cls, "Data2VecAudioConfig", **kw)


def _inspect(model, folder, **kw):
    folder.mkdir(parents=True, exist_ok=True)
    return inspect_built(model, folder, **kw)


@pytest.mark.parametrize("kind", ["checkpoint", "lora"])
@pytest.mark.parametrize(
    "build, first",
    [
        (lambda: _vision(num_labels=10), ["facebook/data2vec-vision-base-ft1k", "facebook/data2vec-vision-base"]),
        (lambda: _vision(num_labels=10, **LARGE), ["facebook/data2vec-vision-large-ft1k"]),
    ],
    ids=["base", "large"],
)
def test_a_data2vec_vision_fine_tune_names_facebook_s_checkpoints_not_beit_s(build, first, kind, tmp_path):
    report = _inspect(build(), tmp_path, lora=["query", "value"] if kind == "lora" else ())
    assert report["family"] == "data2vec_vision" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report)[: len(first)] == first
    assert all(i.startswith("facebook/data2vec-vision") for i in _ids(report))


def test_a_data2vec_vision_fine_tune_s_config_names_its_base(tmp_path):
    config = {"model_type": "data2vec-vision", "_name_or_path": "facebook/data2vec-vision-base-ft1k"}
    report = _inspect(_vision(num_labels=10), tmp_path, config=config)
    assert report["base_model"]["id"] == "facebook/data2vec-vision-base-ft1k" and not report["conflicts"]


@pytest.mark.parametrize("kind", ["checkpoint", "lora"])
def test_data2vec_text_is_named_by_its_prefix_among_roberta_s_shapes(kind, tmp_path):
    model = _model("Data2VecTextForSequenceClassification", "Data2VecTextConfig", **ROBERTA_BASE)
    report = _inspect(model, tmp_path, lora=["query", "value"] if kind == "lora" else ())
    assert report["family"] == "data2vec_text" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report) == ["facebook/data2vec-text-base"]
    if kind == "checkpoint":  # the one text checkpoint, its vocabulary and positions in the file
        assert report["base_model"]["id"] == "facebook/data2vec-text-base"


@pytest.mark.parametrize("kind", ["checkpoint", "lora"])
@pytest.mark.parametrize(
    "sizes, first",
    [
        ({}, ["facebook/data2vec-audio-base-960h", "facebook/data2vec-audio-base"]),
        (LARGE, ["facebook/data2vec-audio-large-960h", "facebook/data2vec-audio-large"]),
    ],
    ids=["base", "large"],
)
def test_a_data2vec_audio_ctc_fine_tune_names_its_size_s_checkpoints(sizes, first, kind, tmp_path):
    report = _inspect(_audio(vocab_size=40, **sizes), tmp_path, lora=["q_proj", "v_proj"] if kind == "lora" else ())
    assert report["family"] == "data2vec_audio" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report)[: len(first)] == first
    assert all(i.startswith("facebook/data2vec-audio") for i in _ids(report))
    # the pretrained model and its three CTC fine-tunes share every shape but the CTC head, which a fine-tune replaces
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"


def test_a_bare_data2vec_audio_is_placed_by_its_positional_convolutions(tmp_path):
    report = _inspect(_audio("Data2VecAudioModel"), tmp_path)
    assert report["family"] == "data2vec_audio" and report["family_confidence"] == 1.0
    assert any("positional convolutions" in e for e in report["root"]["evidence"]), report["root"]["evidence"]


def test_a_data2vec_audio_fine_tune_s_config_names_its_base(tmp_path):
    config = {"model_type": "data2vec-audio", "_name_or_path": "facebook/data2vec-audio-base-960h"}
    report = _inspect(_audio(vocab_size=40), tmp_path, config=config)
    assert report["base_model"]["id"] == "facebook/data2vec-audio-base-960h" and not report["conflicts"]


@pytest.mark.parametrize(
    "cls, config, kw, lora, family",
    [
        ("BeitForImageClassification", "BeitConfig", dict(use_relative_position_bias=True), "query value", "beit"),
        ("RobertaForSequenceClassification", "RobertaConfig", ROBERTA_BASE, "query value", "roberta"),
        ("Wav2Vec2ForCTC", "Wav2Vec2Config", dict(vocab_size=40), "q_proj v_proj", "wav2vec2"),
        ("HubertForCTC", "HubertConfig", dict(vocab_size=40), "q_proj v_proj", "hubert"),
        ("Wav2Vec2Model", "Wav2Vec2Config", {}, "", "wav2vec2"),
    ],
)
def test_the_architectures_data2vec_shares_keep_their_own_roots(cls, config, kw, lora, family, tmp_path):
    for kind, modules in (("full", ()), ("lora", lora.split())):
        if kind == "lora" and not modules:
            continue
        report = _inspect(_model(cls, config, **kw), tmp_path / kind, lora=modules)
        assert report["family"] == family, (kind, report["root"]["evidence"])
        assert not any(i.startswith("facebook/data2vec") for i in _ids(report)), (kind, _ids(report))

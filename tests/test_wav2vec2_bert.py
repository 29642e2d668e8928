"""Wav2Vec2-BERT (facebook/w2v-bert-2.0, Seamless's speech encoder pretrained on 4.5M hours): the base of the
low-resource speech recognisers fine-tuned as CTC models since 2024. A Conformer over 80 log-mel bins stacked two by
two (160 features, no convolutional feature encoder): 24 layers 1,024 wide, each two half-step feed-forwards
(`ffn1`, `ffn2`), attention with a relative position table per layer (`self_attn.linear_q`, `distance_embedding`, 73
distances of a 64-wide head) and a convolution module (`conv_module.pointwise_conv1`, a depthwise kernel of 31). Its
CTC fine-tunes save it under `wav2vec2_bert.` with a vocabulary head and, most of them, a one-layer adapter.
Models are built by transformers on the meta device at the published sizes and written as header-only safetensors
files.

Before: `wav2vec2_bert.` was a prefix of an architecture the registry lacked and no rule knew its layers, so a CTC
fine-tune was BERT at 0.5 (bert-large-uncased first, by its 1,024 x 4,096 feed-forwards), the base wav2vec 2.0 at 0.3.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

ROOT = "facebook/w2v-bert-2.0"
CTC = dict(vocab_size=40, add_adapter=True, num_adapter_layers=1, adapter_kernel_size=3, adapter_stride=2)


def _model(cls: str, config: str = "Wav2Vec2BertConfig", **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**kw))


@pytest.mark.parametrize("cls, kw", [("Wav2Vec2BertModel", {}), ("Wav2Vec2BertForCTC", CTC)], ids=["base", "ctc"])
def test_the_base_and_a_ctc_fine_tune_name_w2v_bert(cls, kw, tmp_path):
    report = inspect_built(_model(cls, **kw), tmp_path)
    assert report["family"] == "wav2vec2_bert" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == ROOT and report["base_model"]["status"] == "weights"
    assert not report["conflicts"]


def test_a_lora_on_its_attention_is_w2v_bert(tmp_path):
    report = inspect_built(_model("Wav2Vec2BertForCTC", **CTC), tmp_path, lora=["linear_q", "linear_v"])
    assert report["family"] == "wav2vec2_bert" and _ids(report) == [ROOT]


def test_a_wav2vec2_conformer_is_no_w2v_bert(tmp_path):
    """Wav2Vec2-Conformer has the same Conformer layer names, at XLS-R large's sizes, over wav2vec 2.0's
    convolutional feature encoder: not Wav2Vec2-BERT, no root of it listed; its own family's root, written (a family
    now: tests/test_speech_encoders.py)."""
    conformer = _model("Wav2Vec2ConformerForCTC", "Wav2Vec2ConformerConfig", vocab_size=32, hidden_size=1024,
                       num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                       position_embeddings_type="relative")  # fmt: skip
    report = inspect_built(conformer, tmp_path)
    assert report["family"] == "wav2vec2_conformer" and ROOT not in _ids(report)
    assert report["base_model"]["id"] == "facebook/wav2vec2-conformer-rel-pos-large"


def test_wav2vec2_is_no_w2v_bert(tmp_path):
    xlsr = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, vocab_size=32)
    report = inspect_built(_model("Wav2Vec2ForCTC", "Wav2Vec2Config", **xlsr), tmp_path)
    assert report["family"] == "wav2vec2" and ROOT not in _ids(report)


def test_w2v_bert_names_claim_the_family():
    assert resolve_name(ROOT) == (ROOT, "wav2vec2_bert")
    assert resolve_name("someone/w2v-bert-2.0-mongolian-colab-CV16.0")[1] == "wav2vec2_bert"


@pytest.mark.parametrize("model_type", ["xcodec2", "neucodec"])
def test_a_codec_holding_w2v_bert_is_no_w2v_bert(model_type, tmp_path):
    """XCodec2 and NeuCodec hold w2v-BERT 2.0's encoder as their semantic encoder (`semantic_encoder.encoder.layers`)
    beside a codec's acoustic encoder and decoder, which no Wav2Vec2-BERT has (`excludes`): no fine-tune of it, but
    their own family's (tests/test_codecs.py). Before, their defaults read Wav2Vec2-BERT at 1.0 (0.5 while the
    Conformer rule's other family was wav2vec 2.0), then DeBERTa-v3 at 0.12 by sizes alone."""
    from tests.model_shapes import meta_model

    report = inspect_built(meta_model(model_type), tmp_path)
    assert report["family"] == "xcodec2", report["root"]["evidence"]
    assert ROOT not in _ids(report)

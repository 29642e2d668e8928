"""Longformer and LED, the long-document models. Longformer: RoBERTa's layers, warm-started from RoBERTa's weights
and pretrained further on long documents, with a sliding-window attention whose globally attending tokens have
projections of their own (`query_global`, `key_global`, `value_global`) and a position table copied out to 4,098
rows. The long-document classifiers and question-answering models of NLP courses start from
allenai/longformer-base-4096 (or -large-4096). LED, the Longformer-Encoder-Decoder that long-document summarizers
start from (allenai/led-base-16384, -large-16384), is BART's weights with that attention in its encoder
(`self_attn.longformer_self_attn.query`, then `self_attn.output`) and the encoder's position table copied out to
16,384 rows. Models are built by transformers on the meta device at the
published sizes and written as header-only safetensors files.

Before: the two Longformers were derivatives of RoBERTa (a declared one was checked against roberta-base's sizes) and
`longformer.` a prefix of an architecture the registry lacked, so a Longformer fine-tune named no root (RoBERTa at
0.61 once); an LED was BART at 0.5, its prefix `led.` another unknown architecture's.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

BASE, LARGE = "allenai/longformer-base-4096", "allenai/longformer-large-4096"
LED_BASE, LED_LARGE = "allenai/led-base-16384", "allenai/led-large-16384"
SIZES = {
    BASE: dict(vocab_size=50265, max_position_embeddings=4098, type_vocab_size=1, attention_window=512),
    LARGE: dict(vocab_size=50265, max_position_embeddings=4098, type_vocab_size=1, attention_window=512,
                hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
    LED_BASE: dict(d_model=768, encoder_layers=6, decoder_layers=6, encoder_attention_heads=12,
                   decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072, attention_window=[1024] * 6),
    LED_LARGE: dict(attention_window=[1024] * 12),  # (LEDConfig's defaults are led-large's sizes)
}  # fmt: skip


def _model(cls: str, config: str = "LongformerConfig", root: str = BASE, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**(SIZES[root] | kw)))


@pytest.mark.parametrize("root", [BASE, LARGE])
@pytest.mark.parametrize("cls", ["LongformerForSequenceClassification", "LongformerModel"])
def test_a_longformer_checkpoint_is_named_from_its_weights(cls, root, tmp_path):
    """Under its task head's prefix or bare (as sentence-transformers saves one): the global projections place it."""
    report = inspect_built(_model(cls, root=root), tmp_path)
    assert report["family"] == "longformer" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == root and report["base_model"]["status"] == "weights"
    assert not any("roberta" in i.lower() for i in _ids(report))


def test_a_lora_under_longformer_s_prefix_is_longformer(tmp_path):
    report = inspect_built(_model("LongformerForSequenceClassification"), tmp_path, lora=["query", "value"])
    assert report["family"] == "longformer" and _ids(report)[0] == BASE and not report["conflicts"]
    # its layers are RoBERTa-base's shapes, which other Longformers (Clinical-Longformer) share: named if declared
    declared = inspect_built(_model("LongformerForSequenceClassification"), tmp_path / "declared", ["query", "value"],
                             config={"base_model_name_or_path": BASE})  # fmt: skip
    assert declared["base_model"]["id"] == BASE and declared["base_model"]["status"] == "declared"


def test_a_lora_on_a_bare_longformer_is_roberta_like_unless_declared(tmp_path):
    """A LoRA on a bare `LongformerModel`'s query and value has BERT's every name and RoBERTa-base's every size."""
    bare = inspect_built(_model("LongformerModel"), tmp_path / "bare", lora=["query", "value"])
    assert bare["family"] != "longformer" and bare["base_model"]["id"] is None
    config = {"base_model_name_or_path": BASE}
    declared = inspect_built(_model("LongformerModel"), tmp_path / "declared", ["query", "value"], config=config)
    assert declared["family"] == "longformer" and declared["base_model"]["id"] == BASE
    assert not declared["conflicts"]


def test_roberta_is_no_longformer(tmp_path):
    import transformers as tf

    with torch.device("meta"):
        config = tf.RobertaConfig(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1)
        model = tf.RobertaForSequenceClassification(config)
    report = inspect_built(model, tmp_path)
    assert report["family"] == "roberta" and report["base_model"]["id"] == "FacebookAI/roberta-base"
    assert BASE not in _ids(report)


def test_longformer_names_claim_the_family():
    assert resolve_name(BASE) == (BASE, "longformer")
    assert resolve_name("yikuan8/Clinical-Longformer")[1] == "longformer"
    # an encoder-decoder warm-started from a Longformer and a RoBERTa is neither
    assert resolve_name("patrickvonplaten/longformer2roberta-cnn_dailymail-fp16")[1] != "longformer"


@pytest.mark.parametrize("root", [LED_BASE, LED_LARGE])
def test_an_led_checkpoint_is_named_from_its_weights(root, tmp_path):
    report = inspect_built(_model("LEDForConditionalGeneration", "LEDConfig", root=root), tmp_path)
    assert report["family"] == "led" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == root and report["base_model"]["status"] == "weights"


def test_an_led_lora_is_led_and_written_where_declared(tmp_path):
    """A LoRA on `q_proj` and `v_proj` adapts the decoder alone (the encoder's are `query`, `value`): BART's names
    and sizes under `led.`."""
    led = _model("LEDForConditionalGeneration", "LEDConfig", root=LED_BASE)
    bare = inspect_built(led, tmp_path / "bare", lora=["q_proj", "v_proj"])
    assert bare["family"] == "led" and _ids(bare)[0] == LED_BASE and not bare["conflicts"]
    config = {"base_model_name_or_path": LED_BASE}
    declared = inspect_built(led, tmp_path / "declared", lora=["q_proj", "v_proj"], config=config)
    assert declared["base_model"]["id"] == LED_BASE and not declared["conflicts"]


def test_bart_is_no_led_and_led_no_longformer(tmp_path):
    import transformers as tf

    with torch.device("meta"):
        bart = tf.BartForConditionalGeneration(tf.BartConfig(**SIZES[LED_BASE] | dict(attention_window=None)))
    report = inspect_built(bart, tmp_path / "bart")
    assert report["family"] == "bart" and report["base_model"]["id"] == "facebook/bart-base"
    led = inspect_built(_model("LEDModel", "LEDConfig", root=LED_BASE), tmp_path / "led")  # bare, no prefix
    assert led["family"] == "led" and not any("longformer" in i for i in _ids(led))


def test_led_names_claim_the_family():
    assert resolve_name(LED_BASE) == (LED_BASE, "led")
    assert resolve_name("pszemraj/led-large-book-summary")[1] == "led"

"""Longformer: RoBERTa's layers, warm-started from RoBERTa's weights and pretrained further on long documents, with a
sliding-window attention whose globally attending tokens have projections of their own (`query_global`,
`key_global`, `value_global`) and a position table copied out to 4,098 rows. The long-document classifiers and
question-answering models of NLP courses start from allenai/longformer-base-4096 (or -large-4096). Models are built
by transformers on the meta device at the published sizes and written as header-only safetensors files.

Before: the two were derivatives of RoBERTa (a declared one was checked against roberta-base's sizes) and `longformer.`
a prefix of an architecture the registry lacked, so a Longformer fine-tune named no root (RoBERTa at 0.61 once).
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

BASE, LARGE = "allenai/longformer-base-4096", "allenai/longformer-large-4096"
SIZES = {
    BASE: dict(vocab_size=50265, max_position_embeddings=4098, type_vocab_size=1, attention_window=512),
    LARGE: dict(vocab_size=50265, max_position_embeddings=4098, type_vocab_size=1, attention_window=512,
                hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}  # fmt: skip


def _model(cls: str, config: str = "LongformerConfig", root: str = BASE, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**(SIZES[root] | kw)))


def _ids(report) -> list[str]:
    return [c["id"] for c in report["root"]["candidates"]]


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

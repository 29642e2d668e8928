"""Encoders with BERT's every layer name beside a layer no BERT has, Nyströmformer's convolution over values
(`attention.self.conv`): such a layer rules out BERT and every family of its layout (`excludes`). Nyströmformer's
convolution, once read by sizes alone at most 0.5 sure, is Nyströmformer's own now (its family,
tests/test_efficient_encoders.py), as RoFormer's rotary table (`encoder.embed_positions`) is RoFormer's and ConvBERT's
span-based convolutions are ConvBERT's (tests/test_bert_likes.py). Models are built by transformers on the meta device
(default configurations) and written as header-only safetensors files.

Before: a bare RoFormer (RoFormerModel, saved without its `roformer.` prefix) was BERT at 0.77 with
indobenchmark/indobert-base-p1 written as its base model (its 50,000-token vocabulary and BERT-base's sizes), a bare
Nyströmformer BERT at 0.97 with google-bert/bert-base-german-cased written.
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import inspect_built

torch.set_num_threads(1)


def _built(cls: str, config: str, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**kw))


@pytest.mark.parametrize(
    "cls, config",
    [("NystromformerModel", "NystromformerConfig"), ("NystromformerForSequenceClassification", "NystromformerConfig")],
)
def test_bert_s_names_beside_a_layer_no_bert_has_name_no_bert(cls, config, tmp_path):
    from hfprobe.tree.registry import roots

    report = inspect_built(_built(cls, config), tmp_path)
    bert_layout = {"bert", "roberta", "esm", "electra", "ernie", "rembert", "roc_bert", "roformer", "big_bird"}
    bert_layout |= {"layoutlm", "layoutlmv3", "data2vec_text", "yoso", "mra", "ibert"}
    assert report["family"] == "nystromformer", report["root"]
    ids = {c["id"] for c in report["root"]["candidates"]}
    assert not {r["family"] for r in roots()["roots"] if r["id"] in ids} & bert_layout, ids


@pytest.mark.parametrize(
    "cls, config", [("RoFormerModel", "RoFormerConfig"), ("NystromformerModel", "NystromformerConfig")]
)
def test_a_lora_on_their_attention_has_bert_s_names_and_sizes_and_names_no_base(cls, config, tmp_path):
    """An adapter on `query` and `value` holds none of the layers that tell them apart: BERT's, no base model."""
    report = inspect_built(_built(cls, config), tmp_path, lora=["query", "value"])
    assert report["family"] == "bert" and report["base_model"]["id"] is None


@pytest.mark.parametrize(
    "cls, config, kw, family",
    [
        ("BertModel", "BertConfig", {}, "bert"),
        (
            "RobertaForSequenceClassification",
            "RobertaConfig",
            {"vocab_size": 50265, "max_position_embeddings": 514},
            "roberta",
        ),
        ("EsmModel", "EsmConfig", {"vocab_size": 33, "pad_token_id": 1, "position_embedding_type": "rotary"}, "bert"),
        ("ElectraForSequenceClassification", "ElectraConfig", {}, "electra"),
    ],
)
def test_bert_and_its_layout_s_families_keep_their_names(cls, config, kw, family, tmp_path):
    report = inspect_built(_built(cls, config, **kw), tmp_path)
    assert report["family"] == family, report["root"]["evidence"]  # (a bare ESM-2, no `esm.` prefix: BERT's layout)
    assert not any("which no BERT" in e for e in report["root"]["evidence"])

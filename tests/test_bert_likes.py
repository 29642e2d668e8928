"""Encoders with BERT's names that are not BERTs: MobileBERT, ConvBERT, RemBERT, RoFormer and RoCBert, each a family
of its own. Before, MobileBERT, ConvBERT and RemBERT read as BERT at 0.3 with no root (their layers' sizes are no
BERT's), RoFormer as DeBERTa-v3 at 0.36 (a bare one) and its LoRAs as BERT, RoCBert as bert-base-chinese at 0.5
(its BERT layers have that model's every size). Checkpoints are built by transformers on the meta device at their
published sizes and written as header-only safetensors files."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.declared import resolve_name
from tests.model_shapes import candidate_ids, inspect_built

torch.set_num_threads(1)

CONVBERT_MEDIUM_SMALL = dict(hidden_size=384, embedding_size=128, num_attention_heads=8, intermediate_size=1536)
ROFORMER_BASE = dict(vocab_size=50000, max_position_embeddings=1536)
ROFORMER_DISCRIMINATOR = dict(hidden_size=256, embedding_size=128, num_attention_heads=4, intermediate_size=1024)
ROFORMER_DISCRIMINATOR |= dict(vocab_size=30522, max_position_embeddings=128, rotary_value=True)


def _built(cls: str, config: str, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**kw))


@pytest.mark.parametrize(
    "cls, config, kw, root",
    [
        (
            "MobileBertForPreTraining",
            "MobileBertConfig",
            dict(classifier_activation=False),
            "google/mobilebert-uncased",
        ),
        ("MobileBertForSequenceClassification", "MobileBertConfig", {}, "google/mobilebert-uncased"),
        ("ConvBertModel", "ConvBertConfig", {}, "YituTech/conv-bert-base"),  # saved bare, as YituTech's are
        (
            "ConvBertModel",
            "ConvBertConfig",
            dict(CONVBERT_MEDIUM_SMALL, num_groups=2),
            "YituTech/conv-bert-medium-small",
        ),
        ("RemBertModel", "RemBertConfig", {}, "google/rembert"),
        ("RemBertForSequenceClassification", "RemBertConfig", {}, "google/rembert"),
        ("RoFormerForMaskedLM", "RoFormerConfig", ROFORMER_BASE, "junnyu/roformer_chinese_base"),
        ("RoFormerModel", "RoFormerConfig", ROFORMER_DISCRIMINATOR, "junnyu/roformer_small_discriminator"),
        ("RoCBertForPreTraining", "RoCBertConfig", dict(vocab_size=21128), "weiweishi/roc-bert-base-zh"),
    ],
)
def test_each_names_its_root_and_base(cls, config, kw, root, tmp_path):
    """ConvBERT medium-small's feed-forwards are grouped (3-D weights); RemBERT's embedding projection is ALBERT's
    name; RoFormer's discriminator is ELECTRA-small's width; RoCBert's BERT layers are bert-base-chinese's sizes."""
    report = inspect_built(_built(cls, config, **kw), tmp_path)
    family = config.removesuffix("Config").lower().replace("rocbert", "roc_bert")
    assert report["family"] == family and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, report["base_model"]


@pytest.mark.parametrize(
    "cls, config, kw, root",
    [
        ("MobileBertForSequenceClassification", "MobileBertConfig", {}, "google/mobilebert-uncased"),
        ("ConvBertForSequenceClassification", "ConvBertConfig", {}, "YituTech/conv-bert-base"),
        ("RemBertForSequenceClassification", "RemBertConfig", {}, "google/rembert"),
        ("RoFormerForSequenceClassification", "RoFormerConfig", ROFORMER_BASE, "junnyu/roformer_chinese_base"),
        ("RoCBertForSequenceClassification", "RoCBertConfig", dict(vocab_size=21128), "weiweishi/roc-bert-base-zh"),
    ],
)
def test_a_lora_on_a_classifier_keeps_its_family_and_no_bert(cls, config, kw, root, tmp_path):
    """PEFT keeps the task model's prefix (`base_model.model.roc_bert.…`): a LoRA on query and value is its family's,
    sure, with no BERT root among its candidates (RoCBert's layers are bert-base-chinese's every size)."""
    report = inspect_built(_built(cls, config, **kw), tmp_path, lora=("query", "value"))
    assert report["family"] != "bert" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    ids = candidate_ids(report)
    assert ids[0] == root and not any(i.startswith(("google-bert/", "hfl/")) for i in ids), ids


def test_conv_bert_small_is_not_electra_small_nor_the_reverse(tmp_path):
    """ConvBERT small has ELECTRA-small's sizes (256 wide, 128-wide embeddings); its convolutions tell them apart."""
    small = dict(hidden_size=256, embedding_size=128, num_attention_heads=4, intermediate_size=1024)
    report = inspect_built(_built("ConvBertForSequenceClassification", "ConvBertConfig", **small), tmp_path / "c")
    assert report["root"]["id"] == "YituTech/conv-bert-small" and report["family_confidence"] == 1.0
    electra = inspect_built(_built("ElectraForSequenceClassification", "ElectraConfig"), tmp_path / "e")
    assert electra["family"] == "electra" and not any("YituTech" in i for i in candidate_ids(electra))


@pytest.mark.parametrize(
    "cls, config, family",
    [
        ("BertForSequenceClassification", "BertConfig", "bert"),
        ("AlbertForSequenceClassification", "AlbertConfig", "albert"),  # its `embedding_hidden_mapping_in`: RemBERT's
        ("NystromformerModel", "NystromformerConfig", None),  # BERT's names beside `attention.self.conv`
    ],
)
def test_their_neighbours_keep_their_readings(cls, config, family, tmp_path):
    report = inspect_built(_built(cls, config), tmp_path)
    new = ("mobilebert", "convbert", "rembert", "roformer", "roc_bert")
    assert report["family"] not in new, report["root"]["evidence"]
    assert family is None or report["family"] == family
    fams = {r["family"] for r in _roots() if r["id"] in candidate_ids(report)}
    assert not fams & set(new), fams


def _roots() -> list[dict]:
    from hfprobe.tree.registry import roots

    return roots()["roots"]


def test_a_lora_on_a_bare_roformer_says_nothing_of_it(tmp_path):
    """Saved bare (no `roformer.` prefix), a LoRA on query and value holds BERT's names and sizes only: no root."""
    report = inspect_built(
        _built("RoFormerModel", "RoFormerConfig", **ROFORMER_BASE), tmp_path, lora=("query", "value")
    )
    assert report["family"] != "roformer" and report["base_model"]["id"] is None


@pytest.mark.parametrize(
    "name, family",
    [
        ("google/mobilebert-uncased", "mobilebert"),
        ("YituTech/conv-bert-medium-small", "convbert"),
        ("google/rembert", "rembert"),
        ("junnyu/roformer_chinese_char_small", "roformer"),
        ("someone/roformer-sim-small", "roformer"),
        ("weiweishi/roc-bert-base-zh", "roc_bert"),
        ("google-bert/bert-base-uncased", "bert"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

"""Encoders in BERT's layer names that change what attention computes: I-BERT (integer-only, RoBERTa's weights with an
integer copy of each and activation scales), Nyströmformer (a convolution over values beside BERT's names), YOSO and
MRA (nothing of their own in the weights but their prefix), each a family of its own. Before, I-BERT read RoBERTa
at 0.5 (roberta-base listed, nothing written), Nyströmformer ViT at 0.44 (google/vit-base-patch16-224-in21k first),
YOSO and MRA RoBERTa at 0.5. Checkpoints are built by transformers on the meta device at their published sizes and
written as header-only safetensors files."""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids, inspect_built, meta_class

torch.set_num_threads(1)

ROBERTA_BASE = dict(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)
ROBERTA_LARGE = ROBERTA_BASE | dict(
    hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16
)
NYSTROMFORMER = dict(vocab_size=30000, num_landmarks=64, segment_means_seq_len=64, conv_kernel_size=65)
LONG = dict(vocab_size=50265, max_position_embeddings=4096, type_vocab_size=1)


@pytest.mark.parametrize(
    "cls, config, kw, root",
    [
        (
            "IBertForMaskedLM",
            "IBertConfig",
            dict(ROBERTA_BASE, max_position_embeddings=514),
            "kssteven/ibert-roberta-base",
        ),
        ("IBertForSequenceClassification", "IBertConfig", ROBERTA_LARGE, "kssteven/ibert-roberta-large"),
        ("IBertModel", "IBertConfig", ROBERTA_BASE, "kssteven/ibert-roberta-base"),  # bare: its integer weights
        (
            "NystromformerForMaskedLM",
            "NystromformerConfig",
            dict(NYSTROMFORMER, max_position_embeddings=510),
            "uw-madison/nystromformer-512",
        ),
        (
            "NystromformerForMaskedLM",
            "NystromformerConfig",
            dict(NYSTROMFORMER, max_position_embeddings=4096),
            "uw-madison/nystromformer-4096",
        ),
        (
            "NystromformerModel",
            "NystromformerConfig",
            dict(NYSTROMFORMER, max_position_embeddings=1024),
            "uw-madison/nystromformer-1024",
        ),
        ("YosoForMaskedLM", "YosoConfig", LONG, "uw-madison/yoso-4096"),
        ("MraForMaskedLM", "MraConfig", dict(ROBERTA_BASE, max_position_embeddings=512), "uw-madison/mra-base-512-4"),
        ("MraForMaskedLM", "MraConfig", dict(LONG, block_per_row=8), "uw-madison/mra-base-4096-8-d3"),
    ],
)
def test_each_names_its_root_and_base(cls, config, kw, root, tmp_path):
    """I-BERT's RoBERTa sizes, YOSO's and MRA-4096's shared sizes and MRA-512's RoBERTa-base sizes are told by their
    names (I-BERT's integer weights, the prefix); Nyströmformer's four releases by their position tables."""
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    assert report["family"] == config.removesuffix("Config").lower(), report["root"]["evidence"]
    assert report["family_confidence"] == 1.0
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, candidate_ids(report)
    assert not any(i.startswith(("google-bert/", "FacebookAI/")) for i in candidate_ids(report)), candidate_ids(report)


@pytest.mark.parametrize(
    "cls, config, kw, prefix",
    [
        ("NystromformerForSequenceClassification", "NystromformerConfig", NYSTROMFORMER, "uw-madison/nystromformer-"),
        ("YosoForSequenceClassification", "YosoConfig", LONG, "uw-madison/yoso-"),
        ("MraForSequenceClassification", "MraConfig", ROBERTA_BASE, "uw-madison/mra-"),
    ],
)
def test_a_lora_on_a_classifier_keeps_its_family_and_no_bert(cls, config, kw, prefix, tmp_path):
    """PEFT keeps the task model's prefix (`base_model.model.yoso.…`): a LoRA on query and value is its family's,
    sure, with only its roots listed, none written (an adapter holds no position table)."""
    report = inspect_built(meta_class(cls, config, **kw), tmp_path, lora=("query", "value"))
    assert report["family"] == config.removesuffix("Config").lower() and report["family_confidence"] == 1.0
    ids = candidate_ids(report)
    assert ids and all(i.startswith(prefix) for i in ids), ids
    assert report["base_model"]["id"] is None


@pytest.mark.parametrize(
    "cls, config, kw",
    [("YosoModel", "YosoConfig", LONG), ("MraModel", "MraConfig", dict(ROBERTA_BASE, max_position_embeddings=512))],
)
def test_bare_yoso_and_mra_are_read_by_sizes_and_their_config_names_them(cls, config, kw, tmp_path):
    """Saved bare, YOSO and MRA hold BERT's every name and RoBERTa's sizes and nothing of their own: RoBERTa's reading,
    as before (documented, not mended: docs/tree.md); beside their config.json, its model type names the family and
    the root."""
    model = meta_class(cls, config, **kw)
    bare = inspect_built(model, tmp_path / "bare")
    assert bare["family"] == "roberta", bare["root"]["evidence"]
    declared = json.loads(model.config.to_json_string(use_diff=False))
    report = inspect_built(model, tmp_path / "config", config=declared)
    family = config.removesuffix("Config").lower()
    assert report["family"] == family and candidate_ids(report)[0].startswith(f"uw-madison/{family}"), report["root"]


@pytest.mark.parametrize(
    "cls, config, kw, family",
    [
        ("RobertaForMaskedLM", "RobertaConfig", ROBERTA_BASE, "roberta"),
        ("BertForSequenceClassification", "BertConfig", {}, "bert"),
        (
            "LongformerForMaskedLM",
            "LongformerConfig",
            dict(LONG, max_position_embeddings=4098, pad_token_id=1),
            "longformer",
        ),
        ("AlbertForMaskedLM", "AlbertConfig", {}, "albert"),  # ALBERT's vocabulary, Nyströmformer's
    ],
)
def test_their_neighbours_keep_their_readings(cls, config, kw, family, tmp_path):
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    assert report["family"] == family, report["root"]["evidence"]
    assert not any(i.startswith(("kssteven/", "uw-madison/")) for i in candidate_ids(report)), candidate_ids(report)
    if family == "roberta":  # RoBERTa base's every size, MRA-512's too: still written
        assert report["base_model"]["id"] == "FacebookAI/roberta-base", report["base_model"]


@pytest.mark.parametrize(
    "name, family",
    [
        ("kssteven/ibert-roberta-large-mnli", "ibert"),
        ("someone/ibert-roberta-base-sst2", "ibert"),  # before RoBERTa's hint
        ("uw-madison/nystromformer-4096", "nystromformer"),
        ("someone/nystromformer-512-imdb", "nystromformer"),
        ("uw-madison/yoso-4096", "yoso"),
        ("uw-madison/mra-base-512-4", "mra"),
        ("FacebookAI/roberta-base", "roberta"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

"""Encoders whose layers no BERT has: the Funnel Transformer (blocks that pool the sequence, a decoder that upsamples
it, relative attention named `q_head`, `post_proj`) and XLM with FlauBERT (flat lists `attentions.N.q_lin`,
`ffns.N.lin1`), each a family of its own. Before, a Funnel Transformer read BERT at 0.5 (its word table alone) and a
LoRA on it nothing; XLM and FlauBERT read BERT at 0.5 (bert-large-uncased for XLM's English-French 1024, bert-base for
FlauBERT base) or nothing, and their LoRAs nothing. Checkpoints are built by transformers on the meta device at their
published sizes and written as header-only safetensors files."""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids, inspect_built, meta_class

torch.set_num_threads(1)

FUNNEL = {
    "small": dict(block_sizes=[4, 4, 4]),
    "medium": dict(block_sizes=[6, 3, 3], block_repeats=[1, 2, 2]),
    "intermediate": dict(block_sizes=[6, 6, 6]),
    "large": dict(block_sizes=[8, 8, 8], d_model=1024, n_head=16, d_inner=4096),
    "xlarge": dict(block_sizes=[10, 10, 10], d_model=1024, n_head=16, d_inner=4096),
}
XLM = {
    "xlm-mlm-en-2048": dict(vocab_size=30145, emb_dim=2048, n_layers=12, n_heads=16, n_langs=1),
    "xlm-mlm-enro-1024": dict(vocab_size=64592, emb_dim=1024, n_layers=6, n_heads=8, n_langs=2, use_lang_emb=True),
    "xlm-mlm-enfr-1024": dict(vocab_size=64139, emb_dim=1024, n_layers=6, n_heads=8, n_langs=2, use_lang_emb=True),
    "xlm-mlm-100-1280": dict(vocab_size=200000, emb_dim=1280, n_layers=16, n_heads=16, n_langs=100, use_lang_emb=False),
    "xlm-mlm-xnli15-1024": dict(vocab_size=95000, emb_dim=1024, n_layers=12, n_heads=8, n_langs=15, use_lang_emb=True),
}
FLAUBERT = {
    "flaubert_small_cased": dict(vocab_size=68729, emb_dim=512, n_layers=6, n_heads=8, n_langs=1, pre_norm=True),
    "flaubert_base_uncased": dict(vocab_size=67542, emb_dim=768, n_layers=12, n_heads=12, n_langs=1),
    "flaubert_base_cased": dict(vocab_size=68729, emb_dim=768, n_layers=12, n_heads=12, n_langs=1),
    "flaubert_large_cased": dict(vocab_size=68729, emb_dim=1024, n_layers=24, n_heads=16, n_langs=1, pre_norm=True),
}


@pytest.mark.parametrize(
    "cls, config, kw, root",
    [
        *(("FunnelModel", "FunnelConfig", kw, f"funnel-transformer/{size}") for size, kw in FUNNEL.items()),
        *(
            ("XLMWithLMHeadModel", "XLMConfig", XLM[n], f"FacebookAI/{n}")
            for n in ("xlm-mlm-en-2048", "xlm-mlm-enro-1024")
        ),
        *(("FlaubertWithLMHeadModel", "FlaubertConfig", kw, f"flaubert/{n}") for n, kw in FLAUBERT.items()),
    ],
)
def test_each_names_its_root_and_base(cls, config, kw, root, tmp_path):
    """Funnel's sizes are told by its blocks' depths (medium's later blocks hold 3 layers, each run twice) and its
    decoder, which a `-base` release lacks; FlauBERT base cased and uncased by their vocabularies alone."""
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    assert report["family"] == config.removesuffix("Config").lower().replace("flaubert", "xlm")
    assert report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, candidate_ids(report)


@pytest.mark.parametrize(
    "cls, config, kw, ids",
    [
        # a FunnelBaseModel (and every classifier, built on one) holds no decoder: small or small-base, one encoder
        (
            "FunnelBaseModel",
            "FunnelConfig",
            FUNNEL["small"],
            ("funnel-transformer/small", "funnel-transformer/small-base"),
        ),
        (
            "FunnelForSequenceClassification",
            "FunnelConfig",
            FUNNEL["large"],
            ("funnel-transformer/large", "funnel-transformer/large-base"),
        ),
        (
            "XLMWithLMHeadModel",
            "XLMConfig",
            XLM["xlm-mlm-enfr-1024"],
            ("FacebookAI/xlm-mlm-enfr-1024", "FacebookAI/xlm-clm-enfr-1024"),
        ),
        (
            "XLMWithLMHeadModel",
            "XLMConfig",
            XLM["xlm-mlm-100-1280"],
            ("FacebookAI/xlm-mlm-100-1280", "FacebookAI/xlm-mlm-17-1280"),
        ),
        (
            "XLMForSequenceClassification",
            "XLMConfig",
            XLM["xlm-mlm-xnli15-1024"],
            ("FacebookAI/xlm-mlm-xnli15-1024", "FacebookAI/xlm-mlm-tlm-xnli15-1024"),
        ),
    ],
)
def test_releases_of_one_model_s_every_size_are_listed_and_none_written(cls, config, kw, ids, tmp_path):
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    assert report["family_confidence"] == 1.0 and set(candidate_ids(report)[:2]) == set(ids), candidate_ids(report)
    assert report["base_model"]["id"] is None


def test_a_decoder_rules_out_the_releases_without_one(tmp_path):
    report = inspect_built(meta_class("FunnelForMaskedLM", "FunnelConfig", **FUNNEL["intermediate"]), tmp_path)
    assert report["base_model"]["id"] == "funnel-transformer/intermediate"
    assert not any(i.endswith("-base") for i in candidate_ids(report)), candidate_ids(report)


@pytest.mark.parametrize(
    "cls, config, kw, modules, first",
    [
        (
            "FunnelForSequenceClassification",
            "FunnelConfig",
            FUNNEL["small"],
            ("q_head", "v_head"),
            "funnel-transformer/",
        ),
        ("FunnelModel", "FunnelConfig", FUNNEL["large"], ("linear_1", "linear_2"), "funnel-transformer/large"),
        ("XLMForSequenceClassification", "XLMConfig", XLM["xlm-mlm-enro-1024"], ("q_lin", "v_lin"), "FacebookAI/xlm-"),
        (
            "FlaubertForSequenceClassification",
            "FlaubertConfig",
            FLAUBERT["flaubert_base_cased"],
            ("q_lin", "v_lin"),
            "flaubert/flaubert_base",
        ),
    ],
)
def test_a_lora_is_its_family_s_sure_with_no_bert(cls, config, kw, modules, first, tmp_path):
    """PEFT's target names are the architecture's own (`q_head`, `q_lin`); an adapter holds no table, so the roots of
    its width are listed and none is written."""
    report = inspect_built(meta_class(cls, config, **kw), tmp_path, lora=modules)
    assert report["family"] in ("funnel", "xlm") and report["family_confidence"] == 1.0, report["root"]["evidence"]
    ids = candidate_ids(report)
    assert ids[0].startswith(first) and not any(i.startswith(("google-bert/", "FacebookAI/roberta")) for i in ids), ids
    assert report["base_model"]["id"] is None


def test_flaubert_s_config_is_xlm_s_architecture(tmp_path):
    """transformers' `flaubert` model type is read as XLM's family, the claim the weights agree with."""
    model = meta_class("FlaubertForSequenceClassification", "FlaubertConfig", **FLAUBERT["flaubert_base_uncased"])
    config = json.loads(model.config.to_json_string(use_diff=False))
    report = inspect_built(model, tmp_path, config=config)
    assert report["family"] == "xlm" and not report["conflicts"], report["conflicts"]
    assert report["root"]["id"] == "flaubert/flaubert_base_uncased"


@pytest.mark.parametrize(
    "cls, config, kw, family",
    [
        ("DistilBertForSequenceClassification", "DistilBertConfig", {}, "distilbert"),  # `attention.q_lin`, `ffn.lin1`
        ("XLMRobertaForSequenceClassification", "XLMRobertaConfig", dict(vocab_size=250002), "roberta"),
        ("BertForSequenceClassification", "BertConfig", {}, "bert"),
        ("ElectraForPreTraining", "ElectraConfig", {}, "electra"),
    ],
)
def test_their_neighbours_keep_their_readings(cls, config, kw, family, tmp_path):
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    assert report["family"] == family, report["root"]["evidence"]
    assert not any(
        i.startswith(("funnel-transformer/", "flaubert/", "FacebookAI/xlm-m")) for i in candidate_ids(report)
    )


@pytest.mark.parametrize(
    "name, family",
    [
        ("funnel-transformer/small-base", "funnel"),
        ("someone/funnel-large-squad", "funnel"),
        ("xlm-mlm-en-2048", "xlm"),
        ("someone/xlm-mlm-17-1280-finetuned-ner", "xlm"),
        ("flaubert/flaubert_base_cased", "xlm"),
        ("someone/flaubert-base-sentiment", "xlm"),
        ("FacebookAI/xlm-roberta-base", "roberta"),  # XLM-R is RoBERTa's, not XLM's
        ("someone/xlm-roberta-large-finetuned-conll03", "roberta"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


def test_prose_names_flaubert_and_funnel_but_xlm_r_claims_no_xlm():
    from hfprobe.tree.declared import declared_claims

    named = declared_claims(texts={"README.md": "FlauBERT fine-tuned; a Funnel Transformer beside it."})[0]
    assert {"xlm", "funnel"} <= set(named.get("README.md mentions") or {}), named
    prose = "Fine-tuned from XLM-R (XLM-RoBERTa large) on cross-lingual XLM benchmarks."
    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions") or {}
    assert "xlm" not in mentions and "funnel" not in mentions, mentions

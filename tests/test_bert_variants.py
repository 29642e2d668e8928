"""BERT and RoBERTa variants told by a table, an adapter or a norm of their own: TAPAS (seven token-type tables for a
table's cells), VisualBERT (embeddings of image regions), X-MOD (a language adapter in each layer, under RoBERTa's
prefix), MegatronBERT (norms before each sublayer, under BERT's prefix) and RoBERTa-PreLayerNorm, each a family of
its own. Before, TAPAS read BERT at 0.9 (tapas-base's 1,024 positions a resized table), VisualBERT BERT at 0.99, X-MOD
RoBERTa at 0.5, MegatronBERT bert-large-uncased at 1.0 (sure and wrong), RoBERTa-PreLayerNorm RoBERTa-large.
Checkpoints are built by transformers on the meta device at their published sizes and written as header-only
safetensors files."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids, inspect_built, meta_class

torch.set_num_threads(1)

TAPAS_BASE = dict(max_position_embeddings=1024)
TAPAS_SMALL = dict(hidden_size=512, num_hidden_layers=4, num_attention_heads=8, intermediate_size=2048)
TAPAS_SMALL |= dict(max_position_embeddings=512)
TAPAS_TINY = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512)
TAPAS_TINY |= dict(max_position_embeddings=512)
XMOD = dict(vocab_size=250002, max_position_embeddings=514, type_vocab_size=1, languages=["en_XX", "de_DE", "ar_AR"])
XMOD_LARGE = dict(XMOD, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
XMOD_LARGE |= dict(pre_norm=True, adapter_layer_norm=True, adapter_reuse_layer_norm=False, ln_before_adapter=False)
XMOD_LARGE |= dict(adapter_reduction_factor=4)
PRELN = dict(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, hidden_size=1024, num_hidden_layers=24)
PRELN |= dict(num_attention_heads=16, intermediate_size=4096)


@pytest.mark.parametrize(
    "cls, config, kw, root",
    [
        ("TapasForQuestionAnswering", "TapasConfig", dict(TAPAS_BASE, num_aggregation_labels=4), "google/tapas-base"),
        ("TapasModel", "TapasConfig", TAPAS_BASE, "google/tapas-base"),  # saved bare, as Google's pretrained models are
        ("TapasForQuestionAnswering", "TapasConfig", TAPAS_TINY, "google/tapas-tiny"),
        ("XmodForMaskedLM", "XmodConfig", XMOD_LARGE, "facebook/xmod-large-prenorm"),
        ("MegatronBertForPreTraining", "MegatronBertConfig", dict(vocab_size=29056), "nvidia/megatron-bert-cased-345m"),
        ("MegatronBertModel", "MegatronBertConfig", dict(vocab_size=30592), "nvidia/megatron-bert-uncased-345m"),
    ],
)
def test_each_names_its_root_and_base(cls, config, kw, root, tmp_path):
    """TAPAS's sizes are BERT's miniatures' and BERT-base's, told by its token-type tables; X-MOD large's layers are
    XLM-R large's, told by its adapters; MegatronBERT's bert-large's, told by its norms."""
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    assert report["family"] == config.removesuffix("Config").lower().replace("megatronbert", "megatron_bert")
    assert report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, candidate_ids(report)
    assert not any(i.startswith(("google-bert/", "FacebookAI/", "prajjwal1/")) for i in candidate_ids(report))


@pytest.mark.parametrize(
    "cls, config, kw, ids",
    [
        ("TapasForSequenceClassification", "TapasConfig", TAPAS_SMALL, ("google/tapas-small",)),  # medium deeper
        (
            "VisualBertForQuestionAnswering",
            "VisualBertConfig",
            dict(visual_embedding_dim=2048, num_labels=3129),
            ("uclanlp/visualbert-vqa-coco-pre", "uclanlp/visualbert-vqa-pre"),
        ),
        (
            "VisualBertForVisualReasoning",
            "VisualBertConfig",
            dict(visual_embedding_dim=1024),
            ("uclanlp/visualbert-nlvr2-coco-pre", "uclanlp/visualbert-nlvr2-pre"),
        ),
        ("XmodForMaskedLM", "XmodConfig", XMOD, ("facebook/xmod-base", "facebook/xmod-base-13-125k")),
        (
            "RobertaPreLayerNormForMaskedLM",
            "RobertaPreLayerNormConfig",
            PRELN,
            ("andreasmadsen/efficient_mlm_m0.15", "andreasmadsen/efficient_mlm_m0.20"),
        ),
    ],
)
def test_their_family_is_sure_and_its_look_alikes_listed(cls, config, kw, ids, tmp_path):
    """VisualBERT's region features tell its task (2,048 for VQA, 1,024 for NLVR2), not which pretraining stage; X-MOD
    base's releases differ in their languages only, RoBERTa-PreLayerNorm's in their masking rate: listed, none
    written. A TAPAS classifier of small's sizes: small's, ahead of medium (deeper)."""
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    assert report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert candidate_ids(report)[: len(ids)] == list(ids) or set(candidate_ids(report)[:2]) == set(ids[:2])
    assert not any(i.startswith(("google-bert/", "FacebookAI/", "prajjwal1/")) for i in candidate_ids(report))
    if len(ids) > 1:
        assert report["base_model"]["id"] is None


@pytest.mark.parametrize(
    "cls, config, kw, family",
    [
        ("TapasForQuestionAnswering", "TapasConfig", TAPAS_TINY, "tapas"),
        ("VisualBertForVisualReasoning", "VisualBertConfig", dict(visual_embedding_dim=1024), "visual_bert"),
        ("RobertaPreLayerNormForSequenceClassification", "RobertaPreLayerNormConfig", PRELN, "roberta_prelayernorm"),
    ],
)
def test_a_lora_on_a_task_model_keeps_its_family(cls, config, kw, family, tmp_path):
    """PEFT keeps the task model's prefix (`base_model.model.tapas.…`): a LoRA on query and value is its family's, with
    no BERT or RoBERTa root listed."""
    report = inspect_built(meta_class(cls, config, **kw), tmp_path, lora=("query", "value"))
    assert report["family"] == family and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert not any(i.startswith(("google-bert/", "FacebookAI/", "prajjwal1/")) for i in candidate_ids(report))


@pytest.mark.parametrize(
    "cls, config, kw, family",
    [
        ("XmodForSequenceClassification", "XmodConfig", XMOD, "roberta"),  # under `roberta.`, no adapter adapted
        (
            "MegatronBertForSequenceClassification",
            "MegatronBertConfig",
            dict(vocab_size=29056),
            "bert",
        ),  # under `bert.`
    ],
)
def test_a_lora_on_query_and_value_alone_is_their_prefix_s_family(cls, config, kw, family, tmp_path):
    """X-MOD's and MegatronBERT's adapters on query and value hold RoBERTa's and BERT's every name and size: their
    reading, as before (documented, not mended: docs/tree.md); their adapter_config.json names the base."""
    report = inspect_built(meta_class(cls, config, **kw), tmp_path, lora=("query", "value"))
    assert report["family"] == family and report["base_model"]["id"] is None, report["base_model"]


@pytest.mark.parametrize(
    "cls, config, kw, family",
    [
        ("BertForSequenceClassification", "BertConfig", {}, "bert"),
        (
            "RobertaForSequenceClassification",
            "RobertaConfig",
            dict(vocab_size=50265, max_position_embeddings=514),
            "roberta",
        ),
        ("XLMRobertaForMaskedLM", "XLMRobertaConfig", XMOD, "roberta"),
        (
            "BertForPreTraining",
            "BertConfig",
            dict(hidden_size=512, num_hidden_layers=4, num_attention_heads=8, intermediate_size=2048),
            "bert",
        ),
    ],
)
def test_their_neighbours_keep_their_readings(cls, config, kw, family, tmp_path):
    kw = {k: v for k, v in kw.items() if k != "languages"}
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    assert report["family"] == family, report["root"]["evidence"]
    new = ("google/tapas", "uclanlp/", "facebook/xmod", "nvidia/megatron", "andreasmadsen/")
    assert not any(i.startswith(new) for i in candidate_ids(report)), candidate_ids(report)


@pytest.mark.parametrize(
    "name, family",
    [
        ("google/tapas-base-finetuned-wtq", "tapas"),
        ("someone/tapas-small-finetuned-sqa-custom", "tapas"),
        ("uclanlp/visualbert-nlvr2", "visual_bert"),
        ("facebook/xmod-base-60-265k", "xmod"),
        ("EMBO/BioMegatron345mUncased", "megatron_bert"),
        ("andreasmadsen/efficient_mlm_m0.40", "roberta_prelayernorm"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


def test_prose_names_them_as_their_papers_spell_them():
    """TAPAS in capitals (not the dish), VisualBERT, X-MOD and MegatronBERT claim their families; Megatron alone
    (NVIDIA's GPT trainer) claims none of them."""
    from hfprobe.tree.declared import declared_claims

    named = declared_claims(texts={"README.md": "A TAPAS, a VisualBERT, an X-MOD and a Megatron-BERT."})[0]
    assert {"tapas", "visual_bert", "xmod", "megatron_bert"} <= set(named.get("README.md mentions") or {}), named
    prose = "Trained with Megatron on a dataset of tapas recipes; a visual bert-like encoder."
    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions") or {}
    assert not set(mentions) & {"tapas", "visual_bert", "xmod", "megatron_bert"}, mentions

"""More encoders with BERT's names that are not BERTs, each a family now: MarkupLM, BROS and LiLT (web pages and
documents), LUKE and mLUKE (entities), Splinter (span selection), CANINE (characters), FNet (Fourier mixing) and
SqueezeBERT (grouped convolutions). Before, a bare BROS read as bert-base-uncased at 0.99, FNet as BERT at 0.97,
CANINE as BERT at 0.73, MarkupLM as RoBERTa at 0.5 to 0.86, LUKE as BERT at 0.5, LiLT as LayoutLM at 0.3 (its
layout stream's 2-D position tables), SqueezeBERT as BERT at 0.5. Checkpoints are built by transformers on the meta
device at their published sizes and written as header-only safetensors files."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.declared import resolve_name
from tests.model_shapes import candidate_ids, inspect_built

torch.set_num_threads(1)

# RoBERTa's vocabulary plus 2 tokens, its positions and single token type (MarkupLM, LUKE)
ROBERTA_PLUS_2 = dict(vocab_size=50267, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)
LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
LILT_EN = dict(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1)


def _built(cls: str, config: str, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**kw))


@pytest.mark.parametrize(
    "cls, config, kw, root",
    [
        ("MarkupLMForSequenceClassification", "MarkupLMConfig", ROBERTA_PLUS_2, "microsoft/markuplm-base"),
        ("MarkupLMModel", "MarkupLMConfig", dict(ROBERTA_PLUS_2, **LARGE), "microsoft/markuplm-large"),
        ("BrosModel", "BrosConfig", {}, "naver-clova-ocr/bros-base-uncased"),  # bert-base-uncased's every size
        ("LiltForTokenClassification", "LiltConfig", LILT_EN, "SCUT-DLVCLab/lilt-roberta-en-base"),
        ("SplinterForQuestionAnswering", "SplinterConfig", dict(vocab_size=28996), "tau/splinter-base"),
        ("FNetForPreTraining", "FNetConfig", {}, "google/fnet-base"),
        ("FNetModel", "FNetConfig", {}, "google/fnet-base"),  # saved bare: its embedding projection places it
        ("SqueezeBertForMaskedLM", "SqueezeBertConfig", dict(vocab_size=30528), "squeezebert/squeezebert-uncased"),
    ],
)
def test_each_names_its_root_and_base(cls, config, kw, root, tmp_path):
    report = inspect_built(_built(cls, config, **kw), tmp_path)
    family = config.removesuffix("Config").lower()
    assert report["family"] == family and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, report["base_model"]


@pytest.mark.parametrize(
    "cls, config, kw, ids",
    [
        ("LukeModel", "LukeConfig", {}, ("studio-ousia/luke-base", "studio-ousia/mluke-base")),
        (
            "LukeForMaskedLM",
            "LukeConfig",
            dict(vocab_size=250004),
            ("studio-ousia/mluke-base", "studio-ousia/luke-base"),
        ),
        ("CanineModel", "CanineConfig", {}, ("google/canine-s", "google/canine-c")),
    ],
)
def test_roots_a_vocabulary_or_a_loss_alone_tells_apart_are_listed(cls, config, kw, ids, tmp_path):
    """LUKE and mLUKE differ in their vocabulary only (a resized one keeps the lineage: the first named, the other
    beside it, none written); CANINE-S and -C in their pretraining loss only (a tie)."""
    report = inspect_built(_built(cls, config, **kw), tmp_path)
    family = config.removesuffix("Config").lower()
    assert report["family"] == family and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(candidate_ids(report)) == set(ids) and report["base_model"]["id"] is None
    if family == "luke":
        assert candidate_ids(report)[0] == ids[0]


@pytest.mark.parametrize(
    "cls, config, kw, root",
    [
        ("MarkupLMForSequenceClassification", "MarkupLMConfig", ROBERTA_PLUS_2, "microsoft/markuplm-base"),
        ("BrosForTokenClassification", "BrosConfig", LARGE, "naver-clova-ocr/bros-large-uncased"),
        ("LiltForTokenClassification", "LiltConfig", LILT_EN, "SCUT-DLVCLab/lilt-roberta-en-base"),
        ("LukeForMaskedLM", "LukeConfig", LARGE, "studio-ousia/luke-large"),
        ("SplinterForQuestionAnswering", "SplinterConfig", dict(vocab_size=28996), "tau/splinter-base"),
        ("CanineForSequenceClassification", "CanineConfig", {}, "google/canine-s"),
    ],
)
def test_a_lora_on_a_task_model_keeps_its_family_and_no_bert(cls, config, kw, root, tmp_path):
    """PEFT keeps the task model's prefix (`base_model.model.bros.…`): a LoRA on query and value is its family's,
    sure, with no BERT or RoBERTa root among its candidates."""
    report = inspect_built(_built(cls, config, **kw), tmp_path, lora=("query", "value"))
    assert report["family_confidence"] == 1.0 and root in candidate_ids(report), report["root"]["evidence"]
    assert not any(i.startswith(("google-bert/", "FacebookAI/")) for i in candidate_ids(report))


def test_a_lora_on_fnet_s_feed_forwards_is_fnet_s(tmp_path):
    report = inspect_built(_built("FNetForSequenceClassification", "FNetConfig", **LARGE), tmp_path, lora=("dense",))
    assert report["family"] == "fnet" and report["root"]["id"] == "google/fnet-large", report["root"]["evidence"]


def test_a_bare_splinter_is_bert_base_cased_s_every_name_and_size(tmp_path):
    """Saved bare and headless, Splinter (pretrained from scratch) holds nothing of its own: BERT's reading, as
    before; documented, not mended (docs/tree.md)."""
    report = inspect_built(_built("SplinterModel", "SplinterConfig", vocab_size=28996), tmp_path)
    assert report["family"] == "bert" and report["root"]["id"] == "google-bert/bert-base-cased"


@pytest.mark.parametrize(
    "cls, config, kw, family",
    [
        ("BertForSequenceClassification", "BertConfig", {}, "bert"),
        ("LayoutLMForTokenClassification", "LayoutLMConfig", {}, "layoutlm"),  # its 2-D tables, not LiLT's
        ("RobertaForSequenceClassification", "RobertaConfig", dict(LILT_EN, pad_token_id=1), "roberta"),
        ("ViTForImageClassification", "ViTConfig", {}, "vit"),  # `patch_embeddings.projection`: no FNet's
    ],
)
def test_their_neighbours_keep_their_readings(cls, config, kw, family, tmp_path):
    report = inspect_built(_built(cls, config, **kw), tmp_path)
    assert report["family"] == family, report["root"]["evidence"]
    new = ("microsoft/markuplm", "naver-clova-ocr/", "SCUT-DLVCLab/", "studio-ousia/", "tau/", "google/canine")
    assert not any(i.startswith(new + ("google/fnet", "squeezebert/")) for i in candidate_ids(report))


@pytest.mark.parametrize(
    "name, family",
    [
        ("microsoft/markuplm-base-finetuned-websrc", "markuplm"),
        ("jinho8345/bros-base-uncased", "bros"),
        ("SCUT-DLVCLab/lilt-infoxlm-base", "lilt"),
        ("studio-ousia/luke-large-finetuned-tacred", "luke"),
        ("tau/splinter-base-qass", "splinter"),
        ("google/canine-c", "canine"),
        ("google/fnet-large", "fnet"),
        ("squeezebert/squeezebert-mnli", "squeezebert"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


def test_words_that_are_names_in_prose_claim_none_of_these_families():
    """A character LoRA's card (Master Splinter, Luke, a canine companion, "Moshi moshi") names no encoder family;
    the model names themselves, as papers spell them, do."""
    from hfprobe.tree.declared import declared_claims

    prose = "Master Splinter and LUKE, a CANINE companion. Moshi moshi! Trained on SDXL."
    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions") or {}
    assert not set(mentions) & {"splinter", "luke", "canine", "moshi"}, mentions
    named = declared_claims(texts={"README.md": "A MarkupLM and an mLUKE, beside FNet and SqueezeBERT."})[0]
    assert {"markuplm", "luke", "fnet", "squeezebert"} <= set(named.get("README.md mentions") or {}), named

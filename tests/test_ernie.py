"""ERNIE 1.0 to 3.0 (`ernie`): Baidu's encoders as nghuyong converted them, BERT's layers and names under `ernie.`.
Before, an ERNIE 3.0 checkpoint read as RoBERTa at 0.37 (RobBERT's root), ERNIE 1.0 and 2.0 as BERT at 0.5."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.declared import resolve_name
from tests.model_shapes import candidate_ids, inspect_built

torch.set_num_threads(1)

ZH3 = dict(vocab_size=40000, max_position_embeddings=2048, type_vocab_size=4, use_task_id=True)


def _ernie(head: str = "ErnieForSequenceClassification", **config):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, head)(tf.ErnieConfig(**config))


@pytest.mark.parametrize(
    "head, config, root",
    [
        ("ErnieForMaskedLM", dict(ZH3, task_type_vocab_size=3), "nghuyong/ernie-3.0-base-zh"),
        (
            "ErnieModel",
            dict(ZH3, hidden_size=312, num_hidden_layers=4, intermediate_size=1248),
            "nghuyong/ernie-3.0-nano-zh",
        ),
        ("ErnieForSequenceClassification", dict(type_vocab_size=4), "nghuyong/ernie-2.0-base-en"),  # bert-base's sizes
        (
            "ErnieForSequenceClassification",
            dict(vocab_size=18000, max_position_embeddings=513),
            "nghuyong/ernie-1.0-base-zh",
        ),
    ],
)
def test_an_ernie_checkpoint_names_its_root(head, config, root, tmp_path):
    """ERNIE 2.0's English model has bert-base-uncased's every size: its prefix (`ernie.`) tells it; ERNIE 3.0 Nano,
    saved bare, TinyBERT's width: its task-type embeddings and its feed-forward tell it."""
    report = inspect_built(_ernie(head, **config), tmp_path)
    assert report["family"] == "ernie" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, report["root"]


def test_a_lora_on_an_ernie_classifier_is_ernie_and_keeps_its_width_s_models(tmp_path):
    report = inspect_built(_ernie(**ZH3, task_type_vocab_size=3), tmp_path, lora=("query", "value"))
    assert report["family"] == "ernie" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    ids = candidate_ids(report)
    assert "nghuyong/ernie-3.0-base-zh" in ids and not any(i.startswith("google-bert/") for i in ids), ids


def test_a_bert_stays_bert(tmp_path):
    """No `ernie.` prefix and no task-type embeddings: ERNIE's roots, in BERT's sizes, are not its candidates."""
    import transformers as tf

    with torch.device("meta"):
        model = tf.BertForSequenceClassification(tf.BertConfig())
    report = inspect_built(model, tmp_path)
    assert report["family"] == "bert" and report["root"]["id"] == "google-bert/bert-base-uncased", report["root"]
    assert not any(i.startswith("nghuyong/") for i in candidate_ids(report))


@pytest.mark.parametrize(
    "name, family",
    [
        ("nghuyong/ernie-3.0-base-zh", "ernie"),
        ("nghuyong/ernie-health-zh", "ernie"),
        ("baidu/ERNIE-4.5-0.3B-PT", "ernie4_5"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

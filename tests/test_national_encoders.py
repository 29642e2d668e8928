"""BERT and RoBERTa models pretrained for one language, the bases most of its classifiers are fine-tuned from
(BERTimbau, BETO, Tohoku's Japanese BERTs, AraBERT, RuBERT, IndoBERT, CamemBERT, PhoBERT, RobBERT, MarIA): a
full fine-tune keeps the base's own vocabulary, which names it. Each is built by transformers on the meta device
at its published sizes, with a classification head, and written as a header-only safetensors file.

Before, such a fine-tune read as bert-base-uncased or roberta-base with no `base_model` ("fits its layers but not
all its sizes"), and a CamemBERT one beside its config.json as "an architecture the registry has no roots for"
(`model_type: camembert`).
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import inspect_built

torch.set_num_threads(1)

ROBERTA = dict(max_position_embeddings=514, type_vocab_size=1)
JAPANESE_32K = {"tohoku-nlp/bert-base-japanese", "tohoku-nlp/bert-base-japanese-whole-word-masking"}

# (classes, config, the roots the weights fit, the one written as base_model or None)
CASES = {
    "bertimbau": ("Bert", dict(vocab_size=29794), {"neuralmind/bert-base-portuguese-cased"}, "single"),
    "bertimbau-large": (
        "Bert",
        dict(vocab_size=29794, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
        {"neuralmind/bert-large-portuguese-cased"},
        "single",
    ),
    "beto": (
        "Bert",
        dict(vocab_size=31002),
        {"dccuchile/bert-base-spanish-wwm-cased", "dccuchile/bert-base-spanish-wwm-uncased"},
        None,
    ),  # fmt: skip
    "japanese-32k": ("Bert", dict(vocab_size=32000), JAPANESE_32K | {"dbmdz/bert-base-turkish-cased"}, None),
    # RuBERT kept multilingual BERT's vocabulary size (a new Russian vocabulary of 119,547 tokens): mBERT's shapes
    "japanese-v3": ("Bert", dict(vocab_size=32768), {"tohoku-nlp/bert-base-japanese-v3"}, "single"),
    "rubert": (
        "Bert",
        dict(vocab_size=119547),
        {"DeepPavlov/rubert-base-cased", "google-bert/bert-base-multilingual-cased"},
        None,
    ),
    "indobert": ("Bert", dict(vocab_size=50000), {"indobenchmark/indobert-base-p1"}, "single"),
    "camembert": ("Camembert", dict(vocab_size=32005, **ROBERTA), {"almanach/camembert-base"}, "single"),
    "distilcamembert": (
        "Camembert",
        dict(vocab_size=32005, num_hidden_layers=6, **ROBERTA),
        {"cmarkea/distilcamembert-base"},
        "single",
    ),
    "phobert": (
        "Roberta",
        dict(vocab_size=64001, max_position_embeddings=258, type_vocab_size=1),
        {"vinai/phobert-base", "vinai/phobert-base-v2"},
        None,
    ),
    "robbert": ("Roberta", dict(vocab_size=40000, **ROBERTA), {"pdelobelle/robbert-v2-dutch-base"}, "single"),
    "maria": ("Roberta", dict(vocab_size=50262, **ROBERTA), {"PlanTL-GOB-ES/roberta-base-bne"}, "single"),
}


def _fine_tune(arch: str, config: dict, folder, with_config: bool):
    """inspect's report on a header-only `<arch>ForSequenceClassification` (and its config.json, if asked)."""
    import transformers as tf

    with torch.device("meta"):
        model = getattr(tf, f"{arch}ForSequenceClassification")(getattr(tf, f"{arch}Config")(num_labels=3, **config))
    return inspect_built(model, folder, config=model.config.to_dict() if with_config else None)


@pytest.mark.parametrize("with_config", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_full_fine_tune_is_named_by_its_vocabulary(name, with_config, tmp_path):
    arch, config, fit, written = CASES[name]
    report = _fine_tune(arch, config, tmp_path, with_config)
    ids = [c["id"] for c in report["root"]["candidates"]]
    assert report["family"] == ("roberta" if arch != "Bert" else "bert") and report["family_confidence"] >= 0.9
    assert fit <= set(ids), ids  # (bert-base-uncased, resized, may rank among look-alikes of one vocabulary)
    if written:
        assert ids[0] == report["base_model"]["id"] == next(iter(fit)), report["base_model"]
        assert report["base_model"]["status"] == "weights"
    else:
        assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"
    assert not report["conflicts"]

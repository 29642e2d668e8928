"""A masked language model's output head (`lm_head.decoder`, `cls.predictions.decoder`, XLM's `pred_layer.proj`) is
its vocabulary again, tied to the token table in the model and saved beside it in most Hub files: it counts among
the embedding tables left out of a family's share of the parameters, as the token table does. Before, such a head
over a large vocabulary outweighed the layers: XLM-R base's own masked-LM checkpoint read RoBERTa at 0.5 with no
root written ("31% of the parameters are in layers RoBERTa roots have"), multilingual BERT's pretraining checkpoint
BERT at 0.5. Checkpoints are built by transformers on the meta device at the published sizes, the tied head written
as its own tensor, and saved as header-only safetensors files."""

from __future__ import annotations

import torch

from tests.model_shapes import candidate_ids, inspect_built, meta_class

torch.set_num_threads(1)


def test_xlm_r_base_s_own_masked_lm_checkpoint_names_it(tmp_path):
    xlmr_base = dict(vocab_size=250002, max_position_embeddings=514, type_vocab_size=1)
    model = meta_class("XLMRobertaForMaskedLM", "XLMRobertaConfig", **xlmr_base)
    report = inspect_built(model, tmp_path)
    assert report["family"] == "roberta" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == "FacebookAI/xlm-roberta-base"
    assert not any("of the parameters are in layers" in e for e in report["root"]["evidence"])


def test_multilingual_bert_s_pretraining_checkpoint_is_bert_sure(tmp_path):
    """Its every size is DeepPavlov's RuBERT's too (started from it): both listed, none written."""
    report = inspect_built(meta_class("BertForPreTraining", "BertConfig", vocab_size=119547), tmp_path)
    assert report["family"] == "bert" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert candidate_ids(report)[0] == "google-bert/bert-base-multilingual-cased"


def test_a_layer_no_family_has_still_counts(tmp_path):
    """Only output heads are left out: a mixture's experts, which no Command R has, still outweigh its attention."""
    report = inspect_built(meta_class("Cohere2MoeForCausalLM", "Cohere2MoeConfig"), tmp_path)
    assert report["base_model"]["id"] is None
    assert any("of the parameters are in layers" in e for e in report["root"]["evidence"]), report["root"]["evidence"]

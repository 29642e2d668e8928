"""BigBird and BigBird-Pegasus, Google's sparse-attention models for long inputs (Zaheer et al. 2020).

BigBird (google/bigbird-roberta-base, -large) keeps BERT's every layer name under BERT's prefix (`bert.`), with
RoBERTa's vocabulary grown to 50,358 tokens and 4,096 positions; its pooler is a bare Linear (`bert.pooler`, where
BERT's is `bert.pooler.dense`) and its question-answering head an MLP of its own (`qa_classifier`).
google/bigbird-base-trivia-itc is bigbird-roberta-base fine-tuned on TriviaQA (16 token types).
BigBird-Pegasus (google/bigbird-pegasus-large-arxiv, -pubmed, -bigpatent: summarizers, and no checkpoint before
their fine-tuning was published) is Pegasus-large's sizes with BigBird's attention in its encoder
(`self_attn.self.query`, then `self_attn.output`) and learned position tables of 4,096 rows. Models are built by
transformers on the meta device at the published sizes and written as header-only safetensors files.

Before: "bigbird" was a name of an architecture the registry lacked. A BigBird fine-tune read BERT with no root; a
BigBird-Pegasus checkpoint read PEGASUS at 0.97 and wrote google/pegasus-large as its base model.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

BASE, LARGE, TRIVIA = "google/bigbird-roberta-base", "google/bigbird-roberta-large", "google/bigbird-base-trivia-itc"
ARXIV = "google/bigbird-pegasus-large-arxiv"
PEGASUS_ROOTS = [ARXIV, "google/bigbird-pegasus-large-pubmed", "google/bigbird-pegasus-large-bigpatent"]
SIZES = {
    BASE: {},  # BigBirdConfig's defaults are bigbird-roberta-base's sizes
    LARGE: dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
    TRIVIA: dict(type_vocab_size=16),
}


def _bigbird(cls: str = "BigBirdForSequenceClassification", root: str = BASE, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(tf.BigBirdConfig(**SIZES[root] | kw))


def _bigbird_pegasus(cls: str = "BigBirdPegasusForConditionalGeneration"):
    import transformers as tf

    with torch.device("meta"):  # BigBirdPegasusConfig's defaults are the arXiv summarizer's sizes
        return getattr(tf, cls)(tf.BigBirdPegasusConfig())


@pytest.mark.parametrize("root", [BASE, LARGE])
@pytest.mark.parametrize("cls", ["BigBirdForSequenceClassification", "BigBirdForMaskedLM", "BigBirdModel"])
def test_a_bigbird_checkpoint_is_named_from_its_weights(cls, root, tmp_path):
    """Under its task head's prefix (`bert.`) or bare: its bare pooler and its sizes place it (a bare one as surely
    as a bare RoBERTa is RoBERTa: BERT's and RoBERTa's roots fit its every layer but the tables)."""
    report = inspect_built(_bigbird(cls, root), tmp_path)
    assert report["family"] == "big_bird", report["root"]["evidence"]
    assert report["family_confidence"] == 1.0 or cls == "BigBirdModel"
    assert report["base_model"]["id"] == root and report["base_model"]["status"] == "weights"
    assert _ids(report)[0] == root
    assert cls == "BigBirdModel" or not any(i.startswith(("google-bert/", "FacebookAI/")) for i in _ids(report))


def test_the_trivia_qa_model_is_bigbird_roberta_base_s(tmp_path):
    """BigBird's question-answering head (`qa_classifier`, no pooler) marks it; its root is the model it tuned."""
    report = inspect_built(_bigbird("BigBirdForQuestionAnswering", TRIVIA), tmp_path / "trivia")
    assert report["family"] == "big_bird" and report["base_model"]["id"] == BASE
    config = {"model_type": "big_bird", "_name_or_path": TRIVIA}
    declared = inspect_built(_bigbird("BigBirdForQuestionAnswering", TRIVIA), tmp_path / "declared", config=config)
    assert declared["base_model"]["id"] == TRIVIA and not declared["conflicts"]


def test_a_lora_on_bigbird_s_attention_is_named_where_declared(tmp_path):
    """A LoRA on `query` and `value` has BERT's every name and bert-base's every size: named only if declared."""
    bare = inspect_built(_bigbird(), tmp_path / "bare", lora=["query", "value"])
    assert bare["base_model"]["id"] is None
    config = {"base_model_name_or_path": BASE}
    declared = inspect_built(_bigbird(), tmp_path / "declared", lora=["query", "value"], config=config)
    assert declared["family"] == "big_bird" and declared["base_model"]["id"] == BASE
    assert declared["base_model"]["status"] == "declared" and not declared["conflicts"]


def test_a_lora_that_adapts_the_pooler_is_bigbird(tmp_path):
    """PEFT's `all-linear` adapts BigBird's bare pooler too (`bert.pooler`): that names the family."""
    lora = ["query", "key", "value", "dense", "pooler"]
    report = inspect_built(_bigbird(), tmp_path, lora=lora)
    assert report["family"] == "big_bird" and _ids(report)[0] == BASE and not report["conflicts"]


@pytest.mark.parametrize(
    "config, family, root",
    [
        ("BertConfig", "bert", "google-bert/bert-base-uncased"),
        ("RobertaConfig", "roberta", "FacebookAI/roberta-base"),
    ],
)
def test_bert_and_roberta_are_no_bigbird(config, family, root, tmp_path):
    import transformers as tf

    kw = dict(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1) if family == "roberta" else {}
    with torch.device("meta"):
        model = getattr(tf, config.replace("Config", "ForSequenceClassification"))(getattr(tf, config)(**kw))
    report = inspect_built(model, tmp_path / "full")
    assert report["family"] == family and _ids(report)[0] == root  # (bert-base ties with BGE's and GTE's)
    assert not any(i.startswith("google/bigbird") for i in _ids(report))
    lora = inspect_built(model, tmp_path / "lora", lora=["query", "value"])
    assert lora["family"] == family and not any(i.startswith("google/bigbird") for i in _ids(lora))


def test_a_bigbird_pegasus_checkpoint_is_its_family_and_names_its_three_models(tmp_path):
    """The three summarizers share every shape: the family is sure, the model is named where metadata says it."""
    report = inspect_built(_bigbird_pegasus(), tmp_path / "bare")
    assert report["family"] == "bigbird_pegasus" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)[:3]) == set(PEGASUS_ROOTS) and report["base_model"]["id"] is None
    config = {"model_type": "bigbird_pegasus", "_name_or_path": ARXIV}
    declared = inspect_built(_bigbird_pegasus(), tmp_path / "declared", config=config)
    assert declared["base_model"]["id"] == ARXIV and not declared["conflicts"]


def test_a_bigbird_pegasus_declared_as_pegasus_is_a_conflict(tmp_path):
    """Its encoder's attention (`self_attn.self.query`) is no PEGASUS's: google/pegasus-large is never written."""
    config = {"model_type": "bigbird_pegasus", "_name_or_path": "google/pegasus-large"}
    report = inspect_built(_bigbird_pegasus(), tmp_path, config=config)
    assert report["base_model"]["id"] != "google/pegasus-large" and report["conflicts"]


def test_a_bigbird_pegasus_lora_on_both_sides_is_bigbird_pegasus(tmp_path):
    """The encoder's `query`/`value` beside the decoder's `q_proj`/`v_proj`."""
    report = inspect_built(_bigbird_pegasus(), tmp_path, lora=["query", "value", "q_proj", "v_proj"])
    assert report["family"] == "bigbird_pegasus" and set(_ids(report)[:3]) == set(PEGASUS_ROOTS)


def test_pegasus_is_no_bigbird_pegasus(tmp_path):
    import transformers as tf

    sizes = dict(d_model=1024, encoder_layers=16, decoder_layers=16, encoder_attention_heads=16,
                 decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, vocab_size=96103)  # fmt: skip
    with torch.device("meta"):
        model = tf.PegasusForConditionalGeneration(tf.PegasusConfig(**sizes))
    report = inspect_built(model, tmp_path / "full")
    assert report["family"] == "pegasus" and report["base_model"]["id"] == "google/pegasus-large"
    lora = inspect_built(model, tmp_path / "lora", lora=["q_proj", "v_proj"])
    assert lora["family"] == "pegasus" and not any(i.startswith("google/bigbird") for i in _ids(lora))


def test_bigbird_names_claim_their_families():
    assert resolve_name(BASE) == (BASE, "big_bird")
    assert resolve_name(ARXIV) == (ARXIV, "bigbird_pegasus")
    assert resolve_name("l-yohai/bigbird-roberta-base-mnli")[1] == "big_bird"
    assert resolve_name("pszemraj/bigbird-pegasus-large-K-booksum")[1] == "bigbird_pegasus"

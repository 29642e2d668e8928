"""The task head a model was trained with (`formats.head`): a classifier's output count, its labels where config.json
names them and the task where adapter_config.json says it, in inspect's report, its text and the card. Built with
transformers and peft on tiny configs; a causal LM's vocabulary head is no task head."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    GPT2Config,
    GPT2LMHeadModel,
    RobertaConfig,
    RobertaForSequenceClassification,
)

from hfprobe.tree.inspect import format_report, inspect_source

torch.set_num_threads(1)
EMOTIONS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}


def _save(model, folder, **config):
    model.config.update(config)
    model.save_pretrained(folder)
    return inspect_source(str(folder))


def test_a_classifier_checkpoint_names_its_labels(tmp_path):
    labels = dict(enumerate(EMOTIONS))
    model = BertForSequenceClassification(BertConfig(**TINY, num_labels=6))
    report = _save(model, tmp_path, id2label=labels, label2id={v: k for k, v in labels.items()})
    assert report["head"] == {"module": "classifier", "outputs": 6, "task": None, "labels": EMOTIONS}
    assert "  head     classifier, 6 outputs: sadness, joy, love, anger, fear, surprise" in format_report(report)


def test_default_label_names_are_no_labels_and_roberta_s_head_is_its_out_proj(tmp_path):
    model = RobertaForSequenceClassification(RobertaConfig(**TINY, num_labels=3))
    head = _save(model, tmp_path)["head"]  # transformers' LABEL_0, LABEL_1, LABEL_2
    sets = [
        {"name": "SNLI", "id": "stanfordnlp/snli"},
        {"name": "MultiNLI", "id": "nyu-mll/multi_nli"},
        {"name": "financial_phrasebank (sentiment)", "id": "takala/financial_phrasebank"},
    ]  # no label names: the well-known text label sets of three classes, as a hint
    assert head == {"module": "classifier.out_proj", "outputs": 3, "task": None, "labels": None, "label_sets": sets}


def test_a_head_s_size_names_the_well_known_label_sets_of_its_modality_and_task():
    """The output count of a head nothing names: as many as the classes of which well-known sets, of the family's
    kind (a ViT's 101 outputs are Food-101's or Caltech-101's, never a text set's) and the adapter's task (a
    token-classification head of 9 is CoNLL-2003's). Two-way heads name none: too many sets have two classes."""
    from hfprobe.formats.head import head_words, label_sets

    assert [s["id"] for s in label_sets(101, "vision")] == ["ethz/food101", None]
    assert label_sets(101, "text") == [] and label_sets(2, "vision") == [] and label_sets(6, None) == []
    assert [s["name"] for s in label_sets(9, "text", "TOKEN_CLS")] == ["CoNLL-2003 (named entities)"]
    assert label_sets(9, "text", "SEQ_CLS") == []
    assert [s["name"] for s in label_sets(3, "vision-text")][:2] == ["beans (leaf diseases)", "SNLI"]
    head = {"module": "classifier", "outputs": 6, "task": "SEQ_CLS", "labels": None}
    words = head_words({**head, "label_sets": label_sets(6, "text", "SEQ_CLS")})
    assert (
        words
        == "classifier, 6 outputs (SEQ_CLS), as many as the classes of dair-ai emotion, TREC (coarse question types)"
    )


def test_a_peft_classification_adapter_keeps_its_head_and_task(tmp_path):
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(
        BertForSequenceClassification(BertConfig(**TINY, num_labels=8)),
        LoraConfig(r=4, target_modules=["query", "value"], task_type="SEQ_CLS"),
    )
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "adapter_config.json").read_text())["modules_to_save"]  # peft keeps the head
    report = inspect_source(str(tmp_path))
    assert report["kind"] == "adapter"
    assert report["head"] == {"module": "classifier", "outputs": 8, "task": "SEQ_CLS", "labels": None}


def test_an_adapter_saved_beside_its_config_json_takes_the_labels_from_it(tmp_path):
    """adapter_config.json is the view's config (the task); the labels are in config.json beside it."""
    from peft import LoraConfig, get_peft_model

    labels = dict(enumerate(EMOTIONS))
    base = BertForSequenceClassification(BertConfig(**TINY, num_labels=6))
    base.config.update({"id2label": labels, "label2id": {v: k for k, v in labels.items()}})
    model = get_peft_model(base, LoraConfig(r=4, target_modules=["query", "value"], task_type="SEQ_CLS"))
    model.save_pretrained(tmp_path)
    base.config.save_pretrained(tmp_path)  # as a training script that saves the tokenizer and config beside it does
    head = inspect_source(str(tmp_path))["head"]
    assert head == {"module": "classifier", "outputs": 6, "task": "SEQ_CLS", "labels": EMOTIONS}


def test_a_head_under_a_wrapper_s_name_is_found(tmp_path):
    """`torch.save(self.state_dict())` of a LightningModule holding the model as `self.model`: `model.classifier`.
    A head at the top still wins over one under a wrapper."""
    from safetensors.torch import save_file

    from hfprobe.formats.base import Module
    from hfprobe.formats.head import task_head

    model = BertForSequenceClassification(BertConfig(**TINY, num_labels=4))
    save_file({f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "model.safetensors")
    head = inspect_source(str(tmp_path))["head"]
    ag_news = [{"name": "AG News", "id": "fancyzhx/ag_news"}]  # the text label set of four classes, as a hint
    assert head == {"module": "model.classifier", "outputs": 4, "task": None, "labels": None, "label_sets": ag_news}
    both = {n: Module(n, "full", d, 32, None, None, None, None, {}) for n, d in (("model.fc", 9), ("classifier", 3))}
    assert task_head(both, None)["module"] == "classifier"


def test_bart_s_head_is_its_classification_head(tmp_path):
    from transformers import BartConfig, BartForSequenceClassification

    config = BartConfig(d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=4,
                        decoder_attention_heads=4, encoder_ffn_dim=37, decoder_ffn_dim=37, num_labels=4)  # fmt: skip
    head = _save(BartForSequenceClassification(config), tmp_path)["head"]
    assert (head["module"], head["outputs"]) == ("classification_head.out_proj", 4)


def test_a_cnn_s_flattened_head_is_its_classifier_1_unless_a_later_layer_follows():
    """transformers' ResNet and RegNet flatten before their head (`classifier.1`); torchvision's AlexNet has hidden
    layers there too (`classifier.1` of 4096 outputs, `classifier.4`, `classifier.6` the head, none found)."""
    from hfprobe.formats.base import Module
    from hfprobe.formats.head import task_head

    def modules(*named):
        return {n: Module(n, "full", d, 32, None, None, None, None, {}) for n, d in named}

    assert task_head(modules(("classifier.1", 10)), None)["outputs"] == 10
    alexnet = modules(("classifier.1", 4096), ("classifier.4", 4096), ("classifier.6", 1000))
    assert task_head(alexnet, None) is None


def test_a_language_model_s_vocabulary_is_no_task_head(tmp_path):
    model = GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=50257))
    assert _save(model, tmp_path)["head"] is None


@pytest.mark.parametrize("labels", [EMOTIONS, None])
def test_the_card_says_the_head(labels, tmp_path):
    from hfprobe.cards.batch import annotate_one

    model = BertForSequenceClassification(BertConfig(**TINY, num_labels=6))
    config = {"id2label": dict(enumerate(labels)), "label2id": {v: k for k, v in enumerate(labels)}} if labels else {}
    _save(model, tmp_path, **config)
    annotate_one(str(tmp_path))
    card = (tmp_path / "README.md").read_text()
    words = ": " + ", ".join(EMOTIONS) if labels else ", as many as the classes of dair-ai emotion, TREC"
    assert f"**Task head:** classifier, 6 outputs{words}" in card


def test_the_space_shows_the_head_as_code():
    """Label names are the uploader's text: the Space shows them inside a code span, never as Markdown."""
    from hfprobe.space.endpoints import _summary

    head = {"module": "classifier", "outputs": 2, "task": None, "labels": ["<img src=x>", "[a](http://e)"]}
    text = _summary({"source": "org/name", "root": {}, "head": head}, "")
    line = next(x for x in text.splitlines() if "task head" in x)
    assert "`classifier, 2 outputs: <img src=x>, [a](http://e)`" in line


def test_the_space_shows_the_declared_data_and_prompts_as_code():
    """What a model's files say it was trained on is the uploader's text too: shown in code spans, as the CLI's `data`
    and `prompts` lines and the card's sections say it."""
    from hfprobe.space.endpoints import _summary

    report = {"source": "org/name", "root": {}, "datasets": [{"id": "org/data", "source": "README.md"}],
              "prompts": [{"text": "a photo of <b>sks</b> dog", "source": "README.md instance_prompt"}]}  # fmt: skip
    lines = _summary(report, "").splitlines()
    assert "- **training data, as declared:** `org/data (README.md)`" in lines
    assert '- **training prompts, as declared:** `"a photo of <b>sks</b> dog" (README.md instance_prompt)`' in lines


def test_predict_says_the_head_where_no_expert_answers(tmp_path):
    """A classifier adapter with no expert for its tree: predict abstains, but its head, read from the weights, is
    already part of what it was trained on."""
    from peft import LoraConfig, get_peft_model

    from hfprobe.cli.predict import format_prediction
    from hfprobe.experts.predict import predict

    labels = dict(enumerate(EMOTIONS))
    base = BertForSequenceClassification(BertConfig(**TINY, num_labels=6))
    base.config.update({"id2label": labels, "label2id": {v: k for k, v in labels.items()}})
    get_peft_model(base, LoraConfig(r=4, target_modules=["query", "value"], task_type="SEQ_CLS")).save_pretrained(
        tmp_path / "m"
    )
    base.config.save_pretrained(tmp_path / "m")
    (tmp_path / "experts").mkdir()
    out = predict(str(tmp_path / "m"), experts_dir=tmp_path / "experts")
    assert out["method"] == "abstain" and out["head"]["labels"] == EMOTIONS
    text = format_prediction(out)
    assert "head:    classifier, 6 outputs (SEQ_CLS): sadness, joy, love, anger, fear, surprise" in text

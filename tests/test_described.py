"""What a model's own texts say it is (`tree.described`): its classifier's label names, checked against the head's
output count, and its card's one line; in inspect's report, its text and the Space's summary. Adapters built with
peft on tiny transformers configs."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from hfprobe.tree.described import declared_labels, described
from hfprobe.tree.inspect import format_report, inspect_source
from hfprobe.tree.trained_on import declared_datasets

torch.set_num_threads(1)
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}
EMOTIONS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


@pytest.mark.parametrize(
    "name, text, outputs, labels, source",
    [
        ("train.py", 'id2label = {0: "Normal Prompt", 1: "Prompt Injection"}', 2,
         ["Normal Prompt", "Prompt Injection"], "train.py id2label"),
        ("train.py", "label2id = {'pos': 1, 'neg': 0}", 2, ["neg", "pos"], "train.py label2id"),
        ("app.py", "EMOTION_LABELS: list = None\nEMOTION_LABELS = ['sadness', 'joy', 'love', 'anger', 'fear',\n"
         "    'surprise']", 6, EMOTIONS, "app.py EMOTION_LABELS"),
        ("README.md", 'model = AutoModel.from_pretrained(x, id2label={"0": "left", "1": "center", "2": "right"})', 3,
         ["left", "center", "right"], "README.md id2label"),
        ("config.yaml", "data:\n  class_names: [cat, dog]\n", 2, ["cat", "dog"], "config.yaml class_names"),
        ("src/config.py", 'CATEGORIES = {"Vehicle": "doors, brakes", "Station": "escalators"}', 2,
         ["Vehicle", "Station"], "src/config.py CATEGORIES"),
        ("README.md", "It classifies customer feedback into:\n\n- **Positive** - happy customers\n  - sub point\n"
         "- **Negative**: unhappy ones\n\nMore text.", 2, ["Positive", "Negative"], "README.md list"),
        ("README.md", "## Categories\n\n| id | category |\n|---|---|\n| 0 | sports |\n| 1 | politics |\n"
         "| 2 | tech |\n", 3, ["sports", "politics", "tech"], "README.md list"),
        ("README.md", "## Kategoriler\n\n| kategori | kapsam |\n| --- | --- |\n| Araç / Tren | kapı |\n"
         "| Elektrik | trafo |\n", 2, ["Araç / Tren", "Elektrik"], "README.md list"),
        ("README.md", "This dataset features texts labeled with six core emotions: sadness, joy, love, anger, fear, "
         "and surprise.", 6, EMOTIONS, "README.md list"),
    ],
)  # fmt: skip
def test_labels_as_the_texts_name_them(name, text, outputs, labels, source):
    assert declared_labels({name: text}, outputs) == ({"labels": labels, "source": source}, [])


@pytest.mark.parametrize(
    "text, outputs",
    [
        ("Classify feedback into:\n- Positive\n- Negative\n- Neutral", 2),  # three named, the head has two outputs
        ("labels = ['LABEL_0', 'LABEL_1']", 2),  # transformers' defaults are no names
        ("classes = [0, 1, 2]", 3),  # indices, not names
        ("results = ['a', 'b']", 2),  # a name that does not say labels
        ("## Results on the emotion classification task:\n- Accuracy up 85%\n- Loss down 96%", 2),  # no label word
        ("labels = ['a', 'a']", 2),  # not distinct
        ("labels = __import__('os').system('x')", 2),  # code, never run
        ("labels = [" * 5000, 2),  # unbalanced, deep
        ("labels = " + "[" * 200 + "]" * 200, 2),  # nested past the parser's limits
    ],
)
def test_no_labels_where_the_texts_give_no_list_of_the_head_s_size(text, outputs):
    assert declared_labels({"README.md": text}, outputs)[0] is None


def test_an_explicit_label_map_of_another_size_is_a_note_and_a_later_match_still_counts():
    texts = {"id2label.json": json.dumps({"0": "a", "1": "b", "2": "c"}), "train.py": "labels = ['neg', 'pos']"}
    found, notes = declared_labels(texts, 2)
    assert found == {"labels": ["neg", "pos"], "source": "train.py labels"}
    assert notes == ["id2label.json names 3 labels; the head in the weights has 2 outputs"]
    assert declared_labels(texts, 1) == (None, [])  # a one-output head (a regression score) has no label names


def test_label_files_json_and_text():
    assert declared_labels({"labels.txt": "cat\n\ndog\nbird\n"}, 3)[0]["labels"] == ["cat", "dog", "bird"]
    config = {"label2id": {"b": 1, "a": 0}}
    assert declared_labels({"label_map.json": json.dumps(config)}, 2)[0] == {"labels": ["a", "b"],
                                                                             "source": "label_map.json"}  # fmt: skip
    assert declared_labels({"classes.json": "not json"}, 2) == (None, [])


def test_described_takes_the_title_and_the_first_sentence():
    card = "---\nlicense: mit\n---\n# 😊 Emotion Classification using DistilBERT\n\n![banner](b.png)\n\n" + (
        "A project for classifying text (e.g. tweets) into **6 emotion categories** with [LoRA](http://x). It is small."
    )
    assert described({"README.md": card}) == {
        "text": "Emotion Classification using DistilBERT: A project for classifying text (e.g. tweets) into 6 emotion "
        "categories with LoRA.",
        "source": "README.md",
    }


@pytest.mark.parametrize(
    "card, text",
    [
        # the Hub's template, unfilled: nothing of its own
        ("# Model Card for Model ID\n\n<!-- Provide a quick summary -->\n\n## Model Details\n\n### Model Description"
         "\n\n[More Information Needed]\n\n### Model Sources [optional]\n\nCarbon emissions can be estimated here.",
         None),
        # a section heading is no title; the sentence under it describes
        ("## Overview\n\nThis repository removes unwanted objects from sky photos. More.", "This repository removes "
         "unwanted objects from sky photos."),
        # a line that leads into an example ends the search
        ("# 05A. Stable diffusion. LoRA\n\n[a/b](https://huggingface.co/datasets/a/b)\n\n----\n\nNegative prompt:\n\n"
         "colored background. black background.", "05A. Stable diffusion. LoRA"),
        # diffusers' DreamBooth card: the sentence after the base's says what it was trained on
        ("# LoRA DreamBooth - me/dog\n\nThese are LoRA adaption weights for runwayml/stable-diffusion-v1-5. The "
         "weights were trained on a photo of sks dog using [DreamBooth](https://d). You can find some example images.",
         "LoRA DreamBooth - me/dog: These are LoRA adaption weights for runwayml/stable-diffusion-v1-5. The weights "
         "were trained on a photo of sks dog using DreamBooth."),
        # code blocks and tree drawings are no prose
        ("# Tool\n\n```bash\npython train.py --lr 1e-4 and more words\n```\n\n├── train.py  the script\n\nWords "
         "of its own here.", "Tool: Words of its own here."),
        # a notice opening the card is not the model: the prose after it is
        ("⚠️ Note on anonymisation\n\nThis repository generates CV portraits with Stable Diffusion. Data removed.",
         "This repository generates CV portraits with Stable Diffusion."),
        ("## 🚨 Archived\n\n**⚠ Moved elsewhere, see the new repo**\n\n# Dog LoRA\n\nIt draws dogs.",
         "Dog LoRA: It draws dogs."),
        # a heading below a tree drawing or a list names a section, not the model (an unfenced README)
        ("project/\n├── config.yaml  # config\n└── train.py\n# Training\npython train.py\nRun the UI:\npython ui.py",
         None),
        ("- item one\n- item two\n# Usage notes\n\nRun it on a GPU with enough memory.",
         "Run it on a GPU with enough memory."),
        # badges above the title are decoration
        ("[![CI](https://x/b.svg)](https://x)\n<p>logo</p>\n\n# Cat LoRA\n\nIt draws cats.",
         "Cat LoRA: It draws cats."),
        ("", None),
        # trainers' cards, whatever the model: Unsloth's, AutoTrain's, ai-toolkit's (its trigger line is a prompt)
        ("# Uploaded  model\n\n- **Developed by:** me\n- **Finetuned from model :** unsloth/qwen2.5-7b-bnb-4bit\n\n"
         "This qwen2 model was trained 2x faster with [Unsloth](https://u) and Huggingface's TRL library.\n\n"
         "[<img src=\"https://u/made.png\" width=\"200\"/>](https://u)", None),
        ("# Model Trained Using AutoTrain\n\nThis model was trained using AutoTrain. For more information, visit it.",
         None),
        ("# my_flux_lora\n\nModel trained with [AI Toolkit by Ostris](https://a)\n\n<Gallery />\n\n## Trigger words"
         "\n\nYou should use `TOK` to trigger the image generation.", "my_flux_lora"),
        # axolotl's card: its config, collapsed, is no description ("axolotl version: 0.4.1" was); the Trainer's
        # sentence for a dataset it did not know says "on the None dataset"
        ("[<img src=\"https://a/badge.png\" alt=\"Built with Axolotl\"/>](https://a)\n<details><summary>See axolotl "
         "config</summary>\n\naxolotl version: `0.4.1`\n```yaml\nbase_model: m/x\n```\n\n</details><br>\n\n# my-model"
         "\n\nThis model is a fine-tuned version of [m/x](https://h/m/x) on the None dataset.\nIt achieves the "
         "following results on the evaluation set:\n- Loss: 1.1",
         "my-model: This model is a fine-tuned version of m/x."),
    ],
)  # fmt: skip
def test_described_leaves_out_what_is_not_the_author_s_description(card, text):
    found = described({"README.md": card})
    assert (found or {}).get("text") == text


def test_described_is_cut_and_a_note_stands_in_without_a_readme():
    found = described({"raport.md": "# Report\n\n" + "word " * 100})
    assert found["source"] == "raport.md" and len(found["text"]) <= 200 and found["text"].endswith("\u2026")
    assert described({"config.yaml": "a: b"}) is None


def _adapter(folder, num_labels=2):
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(
        BertForSequenceClassification(BertConfig(**TINY, num_labels=num_labels)),
        LoraConfig(r=4, target_modules=["query", "value"], task_type="SEQ_CLS"),
    )
    model.save_pretrained(folder)


def test_inspect_names_an_adapter_s_labels_from_its_readme_and_says_what_it_is(tmp_path):
    _adapter(tmp_path)
    (tmp_path / "README.md").write_text(
        "# Prompt Injection Detector\n\nA BERT LoRA that flags prompt injections.\n\n"
        "## Labels\n\n- Normal\n- Injection\n"
    )
    report = inspect_source(str(tmp_path))
    assert report["head"]["labels"] == ["Normal", "Injection"] and report["head"]["labels_source"] == "README.md list"
    assert report["described"] == {
        "text": "Prompt Injection Detector: A BERT LoRA that flags prompt injections.",
        "source": "README.md",
    }
    text = format_report(report)
    about = '"Prompt Injection Detector: A BERT LoRA that flags prompt injections." (README.md)'
    assert f"  about    declared: {about}" in text
    assert "  head     classifier, 2 outputs (SEQ_CLS): Normal, Injection (as README.md list names them)" in text

    from hfprobe.space.endpoints import _summary

    summary = _summary(report, "")
    assert "described, in its card:" in summary and "Prompt Injection Detector" in summary


def test_inspect_reads_a_label_file_and_the_training_code(tmp_path):
    _adapter(tmp_path, num_labels=3)
    (tmp_path / "train.py").write_text('id2label = {0: "left", 1: "center", 2: "right"}\n')
    head = inspect_source(str(tmp_path))["head"]
    assert (head["labels"], head["labels_source"]) == (["left", "center", "right"], "train.py id2label")
    (tmp_path / "id2label.json").write_text(json.dumps({"0": "L", "1": "C"}))  # another model's map: a note
    report = inspect_source(str(tmp_path))
    assert report["head"]["labels"] == ["left", "center", "right"]
    assert "id2label.json names 2 labels; the head in the weights has 3 outputs" in report["notes"]


def test_hostile_texts_are_read_in_linear_time():
    """Long lines of list-like text (a regex that backtracks would take hours on the first), for the label, the
    description and the dataset readers: an alarm fails the test instead of hanging the suite."""
    import signal

    def fail(*_):
        raise TimeoutError("declared_labels or described backtracked")

    texts = [
        "labels: " + "a, " * 20_000 + "b.",
        "It sorts into:\n" + "- x\n" * 100_000,
        "labels = " + "{" * 100_000,
        ("labels: " + "aaaa " * 10 + ",") * 2_000,
        "id2label = {" + "1: 'a', " * 40_000 + "}",
        "[" * 50_000 + "]" * 50_000,  # the link pattern's worst case
        "labels = [" * 50_000,  # a literal to read at every match
    ]
    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(20)
    try:
        for text in texts:
            assert declared_labels({"README.md": text, "train.py": text}, 3)[0] is None
            described({"README.md": text})
            declared_datasets({"README.md": text, "NOTES.md": "trained on " * 30_000 + text})
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_a_weights_file_alone_is_described_by_its_header():
    """A LoRA downloaded from a model site, no card: sd-scripts records a title and a description in the header."""
    header = {"modelspec.title": "naruto_style", "modelspec.description": "Naruto <b>anime</b> style, 200 frames",
              "ss_output_name": "ignored"}  # fmt: skip
    assert described({}, header) == {
        "text": "naruto_style: Naruto anime style, 200 frames",
        "source": "header modelspec.title modelspec.description",
    }
    assert described({}, {"ss_output_name": "lisa_v2"}) == {"text": "lisa_v2", "source": "header ss_output_name"}
    comment = {"ss_output_name": "lisa_v2", "ss_training_comment": "trigger: lsa, 40 photos"}
    assert described({}, comment)["text"] == "lisa_v2: trigger: lsa, 40 photos"
    assert described({"README.md": "# Mine\n\nMy own card says this."}, header)["source"] == "README.md"
    assert described({}, {"modelspec.title": "  "}) is None


def test_a_label_file_of_many_labels_names_the_first_fifty(tmp_path):
    """Food-101's classes in an `id2label.json` beside the adapter, as a ViT fine-tune's repo keeps them."""
    _adapter(tmp_path, num_labels=101)
    (tmp_path / "id2label.json").write_text(json.dumps({str(i): f"food {i}" for i in range(101)}))
    head = inspect_source(str(tmp_path))["head"]
    assert head["labels"] == [f"food {i}" for i in range(50)] and head["labels_source"] == "id2label.json"
    assert "food 49, … (51 more) (as id2label.json names them)" in format_report({**_minimal(), "head": head})


def _minimal():
    root = {"id": None, "confidence": 0.0, "candidates": [], "evidence": []}
    return {"source": "x", "format": "peft", "family": None, "root": root, "declared": {}, "conflicts": [],
            "modules": 1, "bytes_read": 1}  # fmt: skip

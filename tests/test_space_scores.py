"""What the Space shows of a prediction and of a model's card: every score labelled as what it is (one kind of
number per chart, best first, probabilities on [0, 1]), the CLI's warnings on the page, third-party card text
shown and never rendered, and search by tree listing the tree's models without scores.

The predictions are shaped as `hfprobe predict --json` answers them (hfprobe/experts/predict.py); the Markdown is
rendered with markdown-it (CommonMark, as the page's renderer) to see what a browser would get."""

from __future__ import annotations

import html
import os
import re

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
pytest.importorskip("gradio")

from hfprobe.space import endpoints  # noqa: E402

# the readout answered a 10-label question on an SD LoRA: z-scores, and its top label's chance of being right
READOUT = {
    "source": "org/drum-lora",
    "method": "readout",
    "expert": None,
    "readout": {"abstained": False, "labels": 10, "margin": 1.8, "probability_right": 0.999, "reason": "margin"},
    "predictions": [
        {"label": "drum", "score": 3.05, "method": "readout", "probability": 0.999, "calibration": "readout-margin"},
        {"label": "guitar", "score": 0.4, "method": "readout"},
        {"label": "zebra", "score": -1.21, "method": "readout"},
        {"label": "apple", "score": 1.1, "method": "readout"},
    ],
    "calibration": {"method": "readout-margin", "note": "z-scores over 10 labels; the top label is right with p 1.00"},
    "decision": {"labels": ["drum"], "rule": "top-1 of the readout"},
    "near_chance": False,
    "routing": {"reason": "no expert for this tree"},
}
# a multi-label expert: calibrated per-label probabilities, and a decision at its threshold
MULTILABEL = {
    "source": "org/shirt-vit",
    "method": "probex",
    "expert": {"name": "fashion", "layer": "x"},
    "predictions": [
        {"label": "Coat", "score": 0.7, "probability": 0.41, "calibration": "platt", "decided": False},
        {"label": "Shirt", "score": 0.8, "probability": 0.749, "calibration": "platt", "decided": True},
        {"label": "Bag", "score": 0.9, "probability": 0.95, "calibration": "platt", "decided": True},
    ],
    "calibration": {"method": "platt", "note": "per-label probability, platt fitted on 40 validation models"},
    "decision": {"labels": ["Bag", "Shirt"], "threshold": 0.5, "rule": "calibrated probability >= threshold"},
    "near_chance": True,
    "near_chance_reason": "expert fashion scores 0.12 on its own test models against chance 0.10: "
    "treat this as a guess",
    "routing": {"reason": "closest expert"},
}


def _frame(plot):
    return plot.constructor_args["value"]


def test_a_readout_chart_shows_z_scores_only_and_says_so():
    """Before: the top bar was the readout's 0.999 among z-scores, titled 'calibrated probability'."""
    plot = endpoints._bars(READOUT)
    frame = _frame(plot)
    assert list(frame["score"]) == [3.05, 1.1, 0.4, -1.21]  # z-scores only, best first
    assert list(frame["category"]) == ["drum", "apple", "guitar", "zebra"]
    assert "z-score" in plot.title and "probabilit" in plot.title and "not" in plot.title
    assert plot.constructor_args.get("y_lim") is None and plot.sort == "-y"


def test_a_probability_chart_is_on_zero_to_one_best_first():
    plot = endpoints._bars(MULTILABEL)
    frame = _frame(plot)
    assert list(frame["category"]) == ["Bag", "Shirt", "Coat"] and list(frame["score"]) == [0.95, 0.749, 0.41]
    assert plot.y_lim == [0, 1] and plot.sort == "-y"
    assert plot.title == "calibrated per-label probability"
    text = dict(MULTILABEL, method="zero-shot", calibration={"method": "temperature", "note": "softmax"})
    text["predictions"] = [{k: v for k, v in p.items() if k != "decided"} for p in MULTILABEL["predictions"]]
    assert endpoints._bars(text).title == "calibrated softmax probability over the labels"
    assert endpoints._bars(dict(text, calibration={"method": "none"})).title.startswith("uncalibrated")


def _shown(markdown: str) -> str:
    """The text a visitor reads: the Markdown rendered, tags dropped."""
    return html.unescape(re.sub(r"<[^>]+>", "", _html(markdown)))


def _note(monkeypatch, out):
    import importlib

    mod = importlib.import_module("hfprobe.experts.predict")  # the module (the package re-exports the function)
    monkeypatch.delenv("HFPROBE_EXPERTS", raising=False)
    monkeypatch.setattr(mod, "predict", lambda *a, **k: dict(out))
    return endpoints._predict(None, ["a", "b"], None)[1]


def test_the_clis_warnings_reach_the_page(monkeypatch):
    note = _shown(_note(monkeypatch, MULTILABEL))
    assert "warning: expert fashion scores 0.12" in note and "treat this as a guess" in note
    assert "scores: calibrated per-label probability; per-label probability, platt fitted" in note
    assert "decided labels: Bag, Shirt (p >= 0.50)" in note
    abstained = dict(
        READOUT,
        readout={"abstained": True, "labels": 10, "probability_right": None, "reason": "margin 0.2 below 0.9"},
        predictions=[{k: v for k, v in p.items() if k in ("label", "score")} for p in READOUT["predictions"]],
        near_chance=True,
        near_chance_reason="the readout abstained (margin 0.2 below 0.9): this ranking is a guess",
        decision={"labels": [], "rule": "none: the readout abstained"},
    )
    note = _shown(_note(monkeypatch, abstained))
    assert "readout: abstained: margin 0.2 below 0.9" in note and "this ranking is a guess" in note
    assert "decided labels: none" in note and "z-scores" in note


EVIL = [
    "<img src=http://evil.example/pixel.png>",
    "![x](http://evil.example/pixel.png)",
    "[click me](http://evil.example/phish)",
    "`<img src=http://evil.example/tick.png>`",
    "<script>alert(1)</script>",
]


def _html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).render(markdown)


@pytest.mark.parametrize("evil", EVIL)
def test_card_text_in_the_summary_is_shown_not_rendered(evil):
    report = {
        "source": "org/x",
        "format": evil,
        "family": "sd15",
        "root": {"id": evil, "confidence": "low", "candidates": [{"id": evil, "score": 0.5}], "evidence": [evil]},
        "conflicts": [evil],
        "declared": {"base_model": evil, evil: "x"},
        "unreadable": [f"adapter_config.json is not valid JSON ({evil})"],
        "bytes_read": 10,
    }
    rendered = _html(endpoints._summary(report, ""))
    assert not re.search(r"<(img|a|script)\b", rendered), rendered
    assert evil.strip("`") in _shown(endpoints._summary(report, ""))  # shown, as text
    assert "not read:" in rendered  # a companion file read without is said on the page too


def test_a_note_with_card_text_is_escaped(monkeypatch):
    out = {"predictions": [], "reason": EVIL[1] + " " + EVIL[0], "routing": {}}
    note = _note(monkeypatch, out)
    assert not re.search(r"<(img|a)\b", _html(note)) and out["reason"] in _shown(note)


@pytest.fixture()
def tree_index(tmp_path):
    from hfprobe.search.index import ModelIndex
    from hfprobe.search.rows import IndexRow, embed_categories
    from hfprobe.text.encoders import get_text_encoder

    enc = get_text_encoder("minilm")
    cats = [{"label": "dog", "score": 0.9}]
    root = "runwayml/stable-diffusion-v1-5"
    rows = [
        IndexRow(
            id="/home/operator/secret/dog.safetensors",
            source="/home/operator/secret/dog.safetensors",
            embedding=embed_categories(cats, enc),
            text_encoder="minilm",
            root=root,
            family="sd15",
            categories=cats,
        ),
        IndexRow(
            id="org/plain-lora",
            source="org/plain-lora",
            embedding=[],
            text_encoder="",
            repo="org/plain-lora",
            root="google/vit-base-patch16-224",
            family="vit",
            reason="no expert for this tree",
        ),
    ]
    ModelIndex(tmp_path / "index").add(rows)
    return str(tmp_path / "index")


def test_search_by_tree_lists_models_without_scores(tree_index):
    status, table = endpoints.search_fn(tree_index)("a dog", "google/vit-base-patch16-224", 10)
    assert status == "1 model (1 without a score)"
    assert table["model"].tolist() == ["`org/plain-lora`"] and "no score" in table["why"][0]


def test_search_without_text_lists_the_chosen_tree(tree_index):
    search = endpoints.search_fn(tree_index)
    status, table = search("  ", "google/vit-base-patch16-224", 10)
    assert status == "1 model of google/vit-base-patch16-224, by name (1 without categories)"
    assert table["model"].tolist() == ["`org/plain-lora`"] and table["score"].isna().all()
    status, table = search("", "runwayml/stable-diffusion-v1-5", 10)
    assert (
        status == "1 model of runwayml/stable-diffusion-v1-5, by name" and table["why"][0] == "top categories: dog 0.90"
    )
    from hfprobe.search.index import ModelIndex
    from hfprobe.search.rows import IndexRow

    vit = "google/vit-base-patch16-224"
    more = IndexRow(id="org/more", source="org/more", repo="org/more", embedding=[], text_encoder="", root=vit)
    more.reason = "no expert"
    ModelIndex(tree_index).add([more])
    status, table = search("", vit, 1)
    assert status == f"the first 1 model of {vit}, by name (1 without categories); raise results for more"
    assert table["model"].tolist() == ["`org/more`"]
    assert search("", vit, 2)[0] == f"2 models of {vit}, by name (2 without categories)"
    with pytest.raises(Exception, match="or pick a tree to list its models") as err:
        search("", "all trees", 10)
    assert type(err.value).__name__ == "Error"  # gradio's, shown on the page


def test_a_search_that_finds_nothing_says_why(tmp_path):
    """A text query ranks every model with categories, so finding none is never the text's fault: the page says
    why in the index's terms (the CLI's cases, ModelIndex.no_hits) and what the visitor can do instead."""
    from hfprobe.search.index import ModelIndex
    from hfprobe.search.rows import IndexRow

    bare = IndexRow(id="org/bare", source="org/bare", embedding=[], text_encoder="", family="bert", reason="none")
    ModelIndex(tmp_path / "index").add([bare])
    status, table = endpoints.search_fn(str(tmp_path / "index"))("a dog", "all trees", 10)
    assert status.startswith("0 models: none of the 1 models indexed has categories to rank")
    assert status.endswith("; pick a tree to list its models") and table.empty


def test_search_shows_no_local_path(tree_index):
    status, table = endpoints.search_fn(tree_index)("a dog", "all trees", 10)
    assert status == "1 model" and table["model"].tolist() == ["`dog.safetensors`"]
    assert "/home/operator" not in str(table.to_dict())


def test_a_quantized_model_says_so_in_the_summary():
    report = {
        "source": "org/x-GGUF",
        "format": "gguf",
        "kind": "checkpoint",
        "family": "llama",
        "root": {"id": "meta-llama/Llama-2-7b-hf", "confidence": 0.9, "candidates": [], "evidence": []},
        "quantized": {"method": "gguf", "bits": None, "type": "Q4_K", "modules": 226},
        "bytes_read": 10,
    }
    assert "quantized: gguf Q4_K" in _shown(endpoints._summary(report, "")).replace("*", "")


def test_declared_counts_and_ignored_fields_read_as_words_not_python():
    report = {
        "source": "org/x",
        "format": "peft",
        "family": "bert",
        "root": {"id": "google-bert/bert-base-uncased", "confidence": 0.8, "candidates": [], "evidence": []},
        "declared": {"README.md mentions": {"bert": 2, "roberta": 1}, "ignored": {"adapter_config.json r": "null"}},
        "bytes_read": 10,
    }
    shown = _shown(endpoints._summary(report, "")).replace("*", "")
    assert "README.md mentions): bert x2, roberta x1" in shown
    assert "adapter_config.json r: null" in shown and "{" not in shown


def test_the_summary_says_what_the_card_s_base_model_would_be_and_what_a_merge_merged():
    report = {
        "source": "org/merge",
        "format": "transformers-checkpoint",
        "kind": "merge",
        "family": "mistral",
        "root": {"id": "mistralai/Mistral-7B-v0.1", "confidence": 0.8, "candidates": [], "evidence": []},
        "merge": {"tool": "mergekit", "method": "ties", "models": ["mistralai/Mistral-7B-v0.1", "a/hermes"],
                  "unnamed": 0, "source": "mergekit_config.yml", "base_model": "mistralai/Mistral-7B-v0.1"},
        "base_model": {"id": "mistralai/Mistral-7B-v0.1", "status": "declared", "reason": "the weights fit it",
                       "merged": ["mistralai/Mistral-7B-v0.1", "a/hermes"]},
        "bytes_read": 10,
    }  # fmt: skip
    shown = _shown(endpoints._summary(report, "")).replace("*", "")
    assert "merged (ties, from mergekit_config.yml): mistralai/Mistral-7B-v0.1, a/hermes" in shown
    assert "base_model for the card: mistralai/Mistral-7B-v0.1, a/hermes (the weights fit it)" in shown
    none = dict(report, merge=None, base_model={"id": None, "status": "ambiguous", "reason": "several fit"})
    assert "base_model for the card: none (several fit)" in _shown(endpoints._summary(none, "")).replace("*", "")

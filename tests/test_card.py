"""hfprobe.cards.card: expected cards kept as files under tests/cards/, byte for byte.

Regenerate the expected files (then read every diff before keeping it) with
`HFPROBE_REGEN_CARDS=1 .venv/bin/pytest tests/test_card.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from hfprobe.cards.card import (
    MD_BEGIN,
    MD_END,
    YAML_BEGIN,
    strip_generated,
    update_card,
)
from hfprobe.errors import CardError

CARDS = Path(__file__).parent / "cards"
DAY = "2026-01-01"

BERT = {
    "source": "someone/bert-sentiment-lora",
    "format": "peft",
    "family": "bert",
    "kind": "adapter",
    "root": {
        "id": "google-bert/bert-base-uncased",
        "confidence": "high",
        "candidates": [
            {"id": "google-bert/bert-base-uncased", "score": 0.99},
            {"id": "google-bert/bert-base-cased", "score": 0.41},
        ],
        "evidence": [
            "vocabulary size 30522 and 12 layers of width 768 (BERT-base)",
            "adapter_config.json names bert-base-uncased",
        ],
    },
    "declared": {},
    "conflicts": [],
    "modules": 24,
    "rank": 8,
}
SD1 = {
    "source": "haseebae/indian-roads",
    "format": "diffusers-lora",
    "family": "sd1",
    "root": {
        "id": "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "confidence": "high",
        "candidates": [
            {"id": "stable-diffusion-v1-5/stable-diffusion-v1-5", "score": 1.0},
            {"id": "CompVis/stable-diffusion-v1-4", "score": 1.0},
        ],
        "evidence": ["cross-attention context width 768 (SD 1.x; SDXL is 2048)"],
    },
    "declared": {"base_model": "stabilityai/stable-diffusion-xl-base-1.0", "source": "README.md"},
    "conflicts": [
        "README.md declares stabilityai/stable-diffusion-xl-base-1.0 (SDXL), but cross-attention width 768 is SD 1.x"
    ],
}
PREDICTIONS = {
    "source": "someone/bert-sentiment-lora",
    "tree": {"family": "bert"},
    "expert": {"id": "bert-base-uncased-textcls", "version": "0.1.0"},
    "method": "probex",
    "predictions": [
        {"label": "sentiment", "score": 0.8123, "method": "probex"},
        {"label": "emotion", "score": 0.1234, "method": "probex"},
    ],
}


def _expect(name: str, text: str) -> None:
    path = CARDS / name
    if os.environ.get("HFPROBE_REGEN_CARDS"):
        path.write_bytes(text.encode("utf-8"))
    assert text == path.read_bytes().decode("utf-8"), f"{name} differs; see the module docstring to regenerate"


def _read(name: str) -> str:
    return (CARDS / name).read_bytes().decode("utf-8")


def _yaml_and_body(text: str) -> tuple[str, str]:
    match = REGEX_YAML_BLOCK.search(text)
    return match.group(2), text[match.end() :]


def test_fresh_card():
    result = update_card(None, BERT, today=DAY)
    assert result.changed and result.base_model_action == "added"
    _expect("fresh.expected.md", result.text)
    card = ModelCard(result.text)
    assert card.data.base_model == "google-bert/bert-base-uncased"
    assert card.data.base_model_relation == "adapter"
    assert "no category prediction is available for this tree" in result.text


def test_user_content_kept_byte_identical():
    original = _read("user_content.input.md")
    result = update_card(original, BERT, PREDICTIONS, today=DAY)
    _expect("user_content.expected.md", result.text)
    old_yaml, old_body = _yaml_and_body(original)
    new_yaml, new_body = _yaml_and_body(result.text)
    # Everything the author wrote is a prefix: comments, quoting, key order, trailing spaces.
    assert new_yaml.startswith(old_yaml + "\n" + YAML_BEGIN)
    assert new_body.startswith(old_body)
    assert list(yaml.safe_load(new_yaml))[:5] == ["license", "language", "tags", "datasets", "widget"]
    assert "| sentiment | 0.812 |" in result.text
    assert result.notes == []


def test_conflicting_base_model_is_reported_not_overwritten():
    original = _read("conflict.input.md")
    result = update_card(original, SD1, today=DAY)
    assert result.base_model_action == "conflict"
    _expect("conflict.expected.md", result.text)
    card = ModelCard(result.text)
    assert card.data.base_model == "stabilityai/stable-diffusion-xl-base-1.0"  # untouched
    assert "--fix-base-model" in result.text and "cross-attention width 768" in result.text
    assert result.conflicts and "contradicted" in result.conflicts[0]


def test_fix_base_model_replaces_and_stays_idempotent():
    result = update_card(_read("conflict.input.md"), SD1, today=DAY, fix_base_model=True)
    assert result.base_model_action == "replaced"
    _expect("conflict.fixed.expected.md", result.text)
    card = ModelCard(result.text)
    assert card.data.base_model == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert card.data.base_model_relation == "adapter"
    assert "# the base model, as the author remembers it" in result.text
    again = update_card(result.text, SD1, today="2026-02-02", fix_base_model=True)
    assert not again.changed and again.base_model_action == "replaced"


def test_card_without_yaml_keeps_body():
    original = _read("no_yaml.input.md")
    result = update_card(original, BERT, today=DAY)
    _expect("no_yaml.expected.md", result.text)
    assert _yaml_and_body(result.text)[1].startswith(original)


def test_low_confidence_adds_no_base_model():
    report = dict(BERT, root=dict(BERT["root"], confidence=0.4))
    result = update_card("# x\n", report, today=DAY)
    assert result.base_model_action == "none"
    assert ModelCard(result.text).data.base_model is None
    assert "confidence low" in result.text


def test_broken_yaml_raises_one_line_card_error():
    with pytest.raises(CardError) as err:
        update_card(_read("broken_yaml.input.md"), BERT, today=DAY)
    assert "\n" not in str(err.value) and "README.md" in str(err.value) and "not valid YAML" in str(err.value)
    with pytest.raises(CardError, match="not a mapping"):
        update_card("---\n- a\n- b\n---\nx\n", BERT, today=DAY)


def test_crlf_and_bom_are_kept():
    original = "\ufeff---\r\nlicense: mit # keep\r\n---\r\n# Title\r\n"
    result = update_card(original, BERT, today=DAY)
    assert result.text.startswith("\ufeff---\r\nlicense: mit # keep\r\n")
    assert result.text.count("\r\n") == result.text.count("\n")
    assert not update_card(result.text, BERT, today="2027-01-01").changed


def test_flow_style_block_falls_back_to_card_api_and_says_so():
    result = update_card("---\n{license: mit, tags: [a]}\n---\nbody\n", BERT, today=DAY)
    data = ModelCard(result.text).data.to_dict()
    assert data["license"] == "mit" and data["tags"] == ["a"] and data["hfprobe"]["root"]
    assert result.notes and "re-serialised" in result.notes[0]


def test_strip_generated_returns_the_authors_card():
    original = _read("user_content.input.md")
    result = update_card(original, BERT, today=DAY)
    stripped = strip_generated(result.text)
    assert "hfprobe" not in stripped
    old_yaml = _yaml_and_body(original)[0]
    assert stripped.startswith(original[: original.index(old_yaml) + len(old_yaml)] + "\n---\n")
    assert yaml.safe_load(_yaml_and_body(stripped)[0]) == yaml.safe_load(_yaml_and_body(original)[0])
    assert MD_END not in stripped


def test_second_run_is_byte_identical_and_new_results_replace_in_place():
    first = update_card(_read("user_content.input.md"), BERT, PREDICTIONS, today=DAY)
    again = update_card(first.text, BERT, PREDICTIONS, today="2026-06-30")
    assert not again.changed and again.text == first.text
    for name in ("fresh", "conflict", "no_yaml"):
        text = _read(f"{name}.expected.md")
        report = SD1 if name == "conflict" else BERT
        assert not update_card(text, report, today="2027-01-01").changed, name
    # New results: the region and the section are replaced where they are, and dated today.
    newer = dict(PREDICTIONS, predictions=[{"label": "emotion", "score": 0.7}])
    changed = update_card(first.text, BERT, newer, today="2026-06-30")
    _expect("user_content.rerun.expected.md", changed.text)
    assert changed.text.count(MD_BEGIN) == 1 and changed.text.count(YAML_BEGIN) == 1
    assert "2026-06-30" in changed.text and DAY not in changed.text


def test_empty_yaml_block_is_filled_not_duplicated():
    for original in ("---\n---\n# x\n", "---\n\n---\n# x\n"):
        result = update_card(original, BERT, today=DAY)
        assert result.text.count("\n---\n") == 1 and result.text.startswith("---\n# >>> hfprobe")
        assert "\n---\n# x\n" in result.text
        assert not update_card(result.text, BERT, today="2027-01-01").changed


def test_unknown_root_and_hostile_strings():
    report = {
        "source": "x",
        "format": "custom-lora",
        "family": None,
        "root": {"id": None, "confidence": 0.0, "candidates": [], "evidence": []},
        "declared": {},
        "conflicts": ["README says <!-- hfprobe:end --> then\nmore"],
    }
    result = update_card("# t\n", report, today=DAY)
    assert result.base_model_action == "none" and "base_model:" not in result.text.split(MD_BEGIN)[0]
    assert "**Descends from:** unknown" in result.text
    assert result.text.count(MD_END) == 1
    assert not update_card(result.text, report, today="2027-01-01").changed


def test_predict_output_shape_is_rendered():
    """The dict hfprobe.experts.predict returns (expert by name, no version) renders without nulls."""
    out = {
        "source": "x",
        "tree": {"family": "bert", "root": "google-bert/bert-base-uncased"},
        "method": "probex-text",
        "expert": {
            "name": "bert-textcls",
            "root": "google-bert/bert-base-uncased",
            "layer": "bert.encoder.layer.7.attention.self.value",
            "head": "text",
            "metrics": {"val": 0.7},
        },
        "predictions": [{"label": "sport | news", "score": 0.61, "method": "probex-text"}],
        "routing": {},
    }
    result = update_card(None, BERT, out, today=DAY)
    block = ModelCard(result.text).data.to_dict()["hfprobe"]["prediction"]
    assert block == {
        "expert": "bert-textcls",
        "expert_root": "google-bert/bert-base-uncased",
        "layer": "bert.encoder.layer.7.attention.self.value",
        "method": "probex-text",
        "categories": [{"label": "sport | news", "score": 0.61}],
    }
    assert "| sport / news | 0.610 |" in result.text and "expert `bert-textcls`" in result.text

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
    same_findings,
    strip_generated,
    update_card,
)
from hfprobe.cards.section import MAX_BLOCK_LINES, categories_of
from hfprobe.errors import CardError

CARDS = Path(__file__).parent / "cards"
DAY = "2026-01-01"

BERT = {  # what inspect says about a real PEFT adapter (realzoo peft-haresh-bert-sentiment), trimmed
    "source": "someone/bert-sentiment-lora",
    "format": "peft",
    "family": "bert",
    "kind": "adapter",
    "root": {
        "id": "google-bert/bert-base-uncased",
        "confidence": 0.9,
        "candidates": [
            {"id": "google-bert/bert-base-uncased", "score": 0.99},
            {"id": "google-bert/bert-base-cased", "score": 0.41},
        ],
        "evidence": [
            "vocabulary size 30522 and 12 layers of width 768 (BERT-base)",
            "adapter_config.json names bert-base-uncased",
        ],
    },
    "declared": {"adapter_config.json base_model_name_or_path": "bert-base-uncased", "agrees": True},
    "conflicts": [],
    "conflict_codes": [],
    "base_model": {
        "id": "bert-base-uncased",
        "root": "google-bert/bert-base-uncased",
        "status": "declared",
        "source": "adapter_config.json base_model_name_or_path",
        "reason": "adapter_config.json base_model_name_or_path names bert-base-uncased; the weights fit it",
    },
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
    "conflict_codes": ["card-base-model-family"],
    "base_model": {"id": None, "status": "contradicted", "source": "README.md base_model", "reason": "ruled out"},
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
    assert card.data.base_model == "bert-base-uncased"  # the spelling the adapter_config used: a valid alias
    assert card.data.base_model_relation == "adapter"
    assert "no category prediction for this tree yet" in result.text


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


def test_an_unsure_root_never_offers_fix_base_model():
    """Where the weights' root is not 'high', even --fix-base-model leaves the author's line: the card says so
    instead of telling readers that flag would replace it."""
    unsure = {**SD1, "root": {**SD1["root"], "confidence": 0.74}}
    for fix in (False, True):
        result = update_card(_read("conflict.input.md"), unsure, today=DAY, fix_base_model=fix)
        assert result.base_model_action == "conflict"
        assert ModelCard(result.text).data.base_model == "stabilityai/stable-diffusion-xl-base-1.0"
        assert "not sure enough (confidence below 0.8)" in result.text and "replaces it" not in result.text


def test_card_without_yaml_keeps_body():
    original = _read("no_yaml.input.md")
    result = update_card(original, BERT, today=DAY)
    _expect("no_yaml.expected.md", result.text)
    assert _yaml_and_body(result.text)[1].startswith(original)


def test_no_decision_adds_no_base_model_and_lists_candidates():
    """Several roots left by the weights and nothing declared (an SD 1.x LoRA without a README mention)."""
    report = dict(
        SD1,
        declared={},
        conflicts=[],
        conflict_codes=[],
        root=dict(SD1["root"], confidence=0.635),
        base_model={"id": None, "status": "ambiguous", "reason": "the weights fit several roots"},
    )
    result = update_card("# x\n", report, today=DAY)
    assert result.base_model_action == "none" and ModelCard(result.text).data.base_model is None
    assert "**base_model:** not set: the weights fit several roots." in result.text
    assert "If you know which it was trained from, add it as `base_model` to this card's metadata" in result.text
    assert "`CompVis/stable-diffusion-v1-4` 1.00" in result.text.split(MD_BEGIN)[1]  # candidates in the body
    assert "CompVis" not in result.text.split(MD_BEGIN)[0]  # not in the metadata


def test_report_without_a_decision_falls_back_to_a_high_confidence_root():
    legacy = {k: v for k, v in BERT.items() if k != "base_model"}
    assert update_card("# x\n", legacy, today=DAY).base_model == "google-bert/bert-base-uncased"
    low = dict(legacy, root=dict(BERT["root"], confidence=0.4))
    assert update_card("# x\n", low, today=DAY).base_model_action == "none"


def test_broken_yaml_raises_one_line_card_error():
    with pytest.raises(CardError) as err:
        update_card(_read("broken_yaml.input.md"), BERT, today=DAY)
    assert "\n" not in str(err.value) and "README.md" in str(err.value) and "not valid YAML" in str(err.value)
    with pytest.raises(CardError, match="not a mapping"):
        update_card("---\n- a\n- b\n---\nx\n", BERT, today=DAY)


def test_crlf_is_kept_and_a_byte_order_mark_removed():
    """Behind a UTF-8 byte-order mark huggingface_hub's ModelCard (like most front-matter readers) sees no metadata
    and says nothing: the base_model written there would be read by no one. The mark goes, and the notes say so."""
    from huggingface_hub import ModelCard

    original = "\ufeff---\r\nlicense: mit # keep\r\n---\r\n# Title\r\n"
    assert ModelCard(original).data.to_dict() == {}  # the premise
    result = update_card(original, BERT, today=DAY)
    assert result.text.startswith("---\r\nlicense: mit # keep\r\n")
    assert result.text.count("\r\n") == result.text.count("\n")
    meta = ModelCard(result.text).data.to_dict()
    assert meta["license"] == "mit" and meta["base_model"] == BERT["base_model"]["id"] and "hfprobe" in meta
    assert any("byte-order mark" in note for note in result.notes)
    again = update_card(result.text, BERT, today="2027-01-01")
    assert not again.changed and not again.notes


@pytest.mark.parametrize(
    "declared, said",
    [
        ("https://huggingface.co/google-bert/bert-base-uncased", "google-bert/bert-base-uncased"),
        (
            "/root/.cache/huggingface/hub/models--google-bert--bert-base-uncased/snapshots/86b5e09",
            "google-bert/bert-base-uncased",
        ),
        ("google-bert/bert-base-uncased", None),  # an id: nothing to say
    ],
)
def test_a_base_model_written_as_an_address_or_a_cache_path_is_told_its_id(declared, said):
    """The card's own base_model names the right model but not as a model id, which is what the Hub's model tree
    and filters read: the author's line is kept, and the section says which id it names."""
    from huggingface_hub import ModelCard

    card = f"---\nbase_model: {declared}\n---\n# mine\n"
    result = update_card(card, BERT, today=DAY)
    assert ModelCard(result.text).data.base_model == declared and result.base_model_action == "agrees"
    hint = "the Hub's model tree reads a model id"
    assert (f"{hint}: `{said}`." in result.text) if said else (hint not in result.text)


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


@pytest.mark.parametrize("empty", ["''", '""', "null", ""])
def test_a_base_model_line_that_names_nothing_gives_way_to_the_decision(empty):
    """peft's card template writes `base_model: ''` for a base it had no name for: that is no declaration, and the
    line gives way to ours (before: read as a declared base_model, so none was written). Reruns are identical."""
    original = f"---\nbase_model: {empty}\nlibrary_name: peft # kept\n---\n# x\n"
    result = update_card(original, BERT, today=DAY)
    card = ModelCard(result.text)
    assert card.data.base_model == "bert-base-uncased" and result.base_model_action == "added"
    header = result.text.split("\n---\n")[0]
    assert "library_name: peft # kept\n" in header and header.count("\nbase_model:") == 1
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
    assert "**Tree:** unknown" in result.text
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
    block = ModelCard(result.text).data.to_dict()["hfprobe"]
    assert block["categories"] == {"sport | news": 0.61} and block["prediction"] == "ok"
    assert "| sport / news | 0.610 |" in result.text and "expert `bert-textcls`" in result.text


def test_calibrated_predictions_decided_first_and_near_chance_marked():
    """Calibrated experts give `probability` and decided labels; the card shows those, decided first."""
    out = {
        "expert": {"name": "sd1-styles", "near_chance": True},
        "predictions": [
            {"label": "anime", "score": 0.99, "probability": 0.41},
            {"label": "portrait", "score": 0.80, "probability": 0.77, "decided": True},
        ],
    }
    result = update_card(None, BERT, out, today=DAY)
    block = ModelCard(result.text).data.to_dict()["hfprobe"]
    assert list(block["categories"].items()) == [("portrait", 0.77), ("anime", 0.41)]
    assert block["prediction"] == "near-chance"
    assert "| portrait | 0.770 | yes |" in result.text and "near chance" in result.text
    top = {"predictions": [{"label": "a", "score": 0.5}], "decided": ["b"]}  # decided as a top-level list
    assert (
        categories_of(dict(top, predictions=[{"label": "a", "score": 0.5}, {"label": "b", "score": 0.1}]))[0][0][
            "label"
        ]
        == "b"
    )


def test_block_is_compact_and_the_card_holds_no_local_state():
    predictions = dict(PREDICTIONS, status="no trained expert; none installed in /root/.cache/hfprobe/experts/")
    for preds in (None, PREDICTIONS, predictions, {"predictions": [], "status": "/home/me/experts: no such folder"}):
        for report in (BERT, SD1):
            text = update_card(_read("user_content.input.md"), report, preds, today=DAY).text
            region = text[text.index(YAML_BEGIN) : text.index("# <<< hfprobe")]
            block_lines = region[region.index("hfprobe:") :].splitlines()
            assert len(block_lines) <= MAX_BLOCK_LINES, block_lines
            assert "/root" not in text and "/home" not in text and ".cache" not in text
            assert "hfprobe inspect <this repo>" in text  # a local folder's card names no path
    hub = update_card(None, BERT, today=DAY, repo_id="org/lora").text
    assert "`hfprobe inspect org/lora`" in hub and "<this repo>" not in hub


def test_same_findings_ignores_version_and_date_only():
    first = update_card(None, BERT, today=DAY).text
    later = first.replace("2026-01-01", "2027-05-05").replace("version: 0.1.0", "version: 9.9.9")
    assert later != first and same_findings(first, later)
    assert not same_findings(first, update_card(None, BERT, PREDICTIONS, today=DAY).text)


SHA256 = {  # the published checkpoints' SHA-256, as kohya's ss_new_sd_model_hash records them
    "sd-v1-4.ckpt": "fe4efff1e174c627256e44ec2991ba279b3816e364b49f9be2abc0b3ff3f8556",
    "sd_xl_base_1.0.safetensors": "31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b",
    "sd-v1-5-inpainting.ckpt": "c6bbc15e3224e6973459ba78de4998b80b50112b0ae5b5c67113d56b4e366b19",
}
KOHYA_SD1 = {  # one kohya LoRA module of an SD 1.x UNet: cross-attention key, 768-wide text context
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (4, 768),
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": (320, 4),
}


@pytest.mark.parametrize(
    "metadata,texts,status,written",
    [
        ({"ss_sd_model_name": "runwayml/stable-diffusion-v1-5"}, {}, "declared", "runwayml/stable-diffusion-v1-5"),
        (
            {"ss_sd_model_name": "/content/v1-5-pruned-emaonly.safetensors"},
            {},
            "declared",
            "stable-diffusion-v1-5/stable-diffusion-v1-5",
        ),
        (  # a diffusers model kohya loaded from a snapshot in the Hub's cache: the folder names the repo
            {"ss_sd_model_name": "/root/.cache/huggingface/hub/models--runwayml--stable-diffusion-v1-5/snapshots/45"},
            {},
            "declared",
            "runwayml/stable-diffusion-v1-5",
        ),
        (  # a root's published file kept under another name: kohya's SHA-256 of it names the root
            {"ss_sd_model_name": "model.ckpt", "ss_new_sd_model_hash": SHA256["sd-v1-4.ckpt"]},
            {},
            "declared",
            "CompVis/stable-diffusion-v1-4",
        ),
        (  # SD 1.5's inpainting checkpoint, renamed: its hash names it (the LoRA has no conv_in to tell it by)
            {"ss_sd_model_name": "inpaint.ckpt", "ss_new_sd_model_hash": SHA256["sd-v1-5-inpainting.ckpt"]},
            {},
            "declared",
            "stable-diffusion-v1-5/stable-diffusion-inpainting",
        ),
        ({"ss_new_sd_model_hash": SHA256["sd_xl_base_1.0.safetensors"]}, {}, "contradicted", None),  # SDXL's file
        ({"ss_new_sd_model_hash": "ab" * 32}, {}, "ambiguous", None),  # a file hfprobe does not know: no claim
        ({"ss_sd_model_name": "sd_xl_base_1.0.safetensors"}, {}, "contradicted", None),  # SDXL: the weights say no
        (  # a fine-tune's file, under the name its Hub repo has (Lykon/dreamshaper-8): that repo is the base
            {"ss_sd_model_name": "dreamshaper_8.safetensors", "ss_base_model_version": "sd_v1"},
            {},
            "declared",
            "Lykon/dreamshaper-8",
        ),
        ({"ss_sd_model_name": "chilloutmix_NiPrunedFp32Fix.safetensors"}, {}, "unchecked", None),
        (  # the header names the checkpoint trained on, a fine-tune hfprobe does not know: prose cannot overrule it
            {"ss_sd_model_name": "chilloutmix_NiPrunedFp32Fix.safetensors"},
            {"README.md": "A LoRA for runwayml/stable-diffusion-v1-5."},
            "unchecked",
            None,
        ),
        ({}, {"README.md": "Trained on CompVis/stable-diffusion-v1-4."}, "mentioned", "CompVis/stable-diffusion-v1-4"),
        (  # a checkpoint file's name in prose, as kohya users write it: the root's id is written, not the file's
            {},
            {"README.md": "Trained with kohya on `v1-5-pruned-emaonly.safetensors`, 10 epochs."},
            "mentioned",
            "stable-diffusion-v1-5/stable-diffusion-v1-5",
        ),
        ({}, {"README.md": "Trained on sd_xl_base_1.0.safetensors"}, "ambiguous", None),  # SDXL: the weights say no
        (
            {},
            {"README.md": "Base: sd-legacy/stable-diffusion-v1-5 or CompVis/stable-diffusion-v1-4"},
            "ambiguous",
            None,
        ),
        ({}, {"README.md": "An SDXL LoRA for stabilityai/stable-diffusion-xl-base-1.0."}, "ambiguous", None),
        ({}, {"README.md": "no id here, just Stable Diffusion"}, "ambiguous", None),
    ],
)
def test_base_model_decision_rules(metadata, texts, status, written):
    """Weights and metadata must agree on one root; SD 1.x LoRA weights alone leave several."""
    from hfprobe.tree.classify import classify
    from hfprobe.tree.names import shapes_from_raw

    r = classify(shapes_from_raw(KOHYA_SD1), names=KOHYA_SD1, metadata=metadata, texts=texts)
    assert r.family == "sd1" and (r.base_model["status"], r.base_model["id"]) == (status, written), r.base_model


def test_readme_mentions_are_whole_ids():
    """`stabilityai/stable-diffusion-2-1-base` is not a mention of `stabilityai/stable-diffusion-2-1`."""
    from hfprobe.tree.declared import declared_claims

    _, claims = declared_claims(texts={"README.md": "We fine-tuned stabilityai/stable-diffusion-2-1-base."})
    assert [(c.value, c.root) for c in claims if c.root] == [
        ("stabilityai/stable-diffusion-2-1-base", "stabilityai/stable-diffusion-2-1-base")
    ]


def test_a_family_short_of_sure_says_how_sure():
    """A CLIP vision tower's LoRA is Whisper's family at 0.5 by inspect (its attention has Whisper's encoder's names,
    its MLP does not): the card said "family `whisper`" as if that were certain, beside a root confidence only."""
    unsure = dict(BERT, family_confidence=0.5)
    assert "family `bert` at 0.50, format `peft`" in update_card("# x\n", unsure, today=DAY).text
    sure = dict(BERT, family_confidence=1.0)
    assert "family `bert`, format `peft`" in update_card("# x\n", sure, today=DAY).text

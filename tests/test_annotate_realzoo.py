"""`hfprobe annotate` on every folder of shared/realzoo (real third-party adapters), in a temp copy.

Real inspect, real predict (no experts are trained in the test cache, so every card must say that no
category prediction is available). Proof asked for by issue 5: no crash, every card valid YAML that
ModelCard.load reads back, the author's metadata intact, the weight/README conflicts the manifest's
notes describe reported, and a second run changes nothing (our own words are not read back as claims).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
import torch
import yaml
from huggingface_hub import ModelCard
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from hfprobe.cards.batch import annotate_batch
from hfprobe.cards.card import MD_BEGIN, strip_generated

DAY = "2026-01-01"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".ckpt")
# notes that describe README text contradicting the weights (other notes are about file layouts)
README_CONFLICT = re.compile(r"README (claims|says|names)", re.I)


@pytest.fixture(scope="module")
def zoo_copy(realzoo, tmp_path_factory):
    """Companion files copied (writable), weights symlinked: annotate writes README.md only."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("realzoo-copy")
    manifest = [json.loads(line) for line in (realzoo / "manifest.jsonl").read_text().splitlines() if line.strip()]
    for item in manifest:
        src = realzoo / "files" / item["id"]
        dest = root / item["id"]
        dest.mkdir()
        for f in src.iterdir():
            if f.name.endswith(WEIGHT_SUFFIXES):
                (dest / f.name).symlink_to(f)
            else:
                shutil.copyfile(f, dest / f.name)
    originals = {
        i["id"]: (root / i["id"] / "README.md").read_text() if (root / i["id"] / "README.md").exists() else None
        for i in manifest
    }
    folders = [str(root / i["id"]) for i in manifest]
    first = annotate_batch(folders, workers=1, progress=False, echo=lambda s: None, today=DAY)
    return root, manifest, originals, {r.target: r for r in first}


def text_of(path) -> str:
    return path.read_text()


def test_every_folder_annotated_and_reads_back(zoo_copy):
    root, manifest, originals, results = zoo_copy
    failed = [r.line() for r in results.values() if r.status != "annotated"]
    assert not failed, failed
    for item in manifest:
        path = root / item["id"] / "README.md"
        card = ModelCard.load(path)
        block = card.data.to_dict()["hfprobe"]
        assert block["family"] and block["prediction"] == "unavailable", item["id"]
        assert "no category prediction for this tree yet" in card.text
        assert card.text.count(MD_BEGIN) == 1
        assert str(root) not in text_of(path) and "hfprobe inspect <this repo>" in card.text  # nothing local
        text = path.read_text()
        yaml.safe_load(REGEX_YAML_BLOCK.search(text).group(2))  # valid YAML as a whole
        old = originals[item["id"]]
        if old is not None:  # the author's metadata and body survive untouched
            stripped = strip_generated(text)
            old_match = REGEX_YAML_BLOCK.search(old)
            if old_match:
                assert yaml.safe_load(REGEX_YAML_BLOCK.search(stripped).group(2)) == yaml.safe_load(old_match.group(2))
                assert text[REGEX_YAML_BLOCK.search(text).end() :].startswith(old[old_match.end() :])
            else:
                assert text[REGEX_YAML_BLOCK.search(text).end() :].startswith(old)


def test_manifest_readme_conflicts_are_reported(zoo_copy):
    root, manifest, _, results = zoo_copy
    expected = [i for i in manifest if README_CONFLICT.search(i["notes"]) and "README.md" in i["companion_files"]]
    assert expected, "the manifest should name at least one README/weights conflict"
    for item in expected:
        card = ModelCard.load(root / item["id"] / "README.md")
        conflicts = card.data.to_dict()["hfprobe"]["conflicts"]
        assert conflicts, f"{item['id']}: notes say {item['notes']!r} but no conflict was reported"
        assert "**Conflicts:** none found." not in card.text
        assert all(re.fullmatch(r"[a-z0-9-]+-(family|shapes)", c) for c in conflicts), conflicts  # short codes
        said = card.text.split("**Conflicts:**", 1)[1].split("**Reproduce:**", 1)[0]
        assert said.count("\n- ") >= len(conflicts)  # the section says in words what the block codes


def test_base_model_is_right_or_absent(zoo_copy):
    """Every base_model the cards carry names the true base (under an alias of the same weights), never another;
    a card without one lists the candidates. The figure itself: benchmarks/bench_base_model.py."""
    from hfprobe.tree.naming import resolve_name
    from hfprobe.tree.registry import canonical_id

    root, manifest, originals, results = zoo_copy
    right = 0
    for item in manifest:
        card = ModelCard.load(root / item["id"] / "README.md")
        written = card.data.base_model
        truth = item["ground_truth"]["base_model"]
        if written is None:
            assert "- **base_model:** not set:" in card.text or "(declared by the card" in card.text, item["id"]
            continue
        if truth.lower().startswith(("unknown", "unspecified")):
            pytest.fail(f"{item['id']}: base_model {written} written where even the manifest does not know it")
        named = [resolve_name(n.strip())[0] for n in re.findall(r"\(([^,)]+)", truth)]  # "SAM ViT-B (sam_vit_b.pth)"
        known = canonical_id(truth) if " " not in truth else next((n for n in named if n), truth)
        assert canonical_id(written) == known, (item["id"], written, truth)
        right += 1
    # SD 1.x LoRAs whose folder names no base (no README mention, no metadata): the weights cannot tell
    # SD 1.4 from 1.5 or the inpainting model, so none of them gets one.
    for name in ("sd-timohavdk-plw", "sd-edinsl-reddit-bin", "sd-riniii09-sam123"):
        assert ModelCard.load(root / name / "README.md").data.base_model is None, name
    assert right >= 26  # measured 26 of 40 (benchmarks/bench_base_model.py): a floor against regressions


def test_second_run_changes_nothing(zoo_copy):
    root, manifest, _, _ = zoo_copy
    before = {i["id"]: (root / i["id"] / "README.md").read_bytes() for i in manifest}
    again = annotate_batch(
        [str(root / i["id"]) for i in manifest], workers=1, progress=False, echo=lambda s: None, today="2027-01-01"
    )
    changed = [r.line() for r in again if r.status != "unchanged"]
    assert not changed, changed
    assert {i["id"]: (root / i["id"] / "README.md").read_bytes() for i in manifest} == before


# ---- the base_model rules on realzoo-derived repos, through the test Hub (a pull request each) ------------------
WRITE = "hf_WriteTokenAbcdef123456"
MENTION = "# Dog LoRA\n\nLoRA adaption weights for runwayml/stable-diffusion-v1-5, trained on my dog.\n"
CASES = {
    # name: (realzoo folder, README.md to put beside its weights or None to keep the folder's own, expected)
    "declared-and-consistent": ("peft-haresh-bert-sentiment", None, ("added", "bert-base-uncased")),
    "readme-mention-alias": ("sd-commonpike-skope", None, ("added", "runwayml/stable-diffusion-v1-5")),
    "card-alias-agrees": (
        "sd-timohavdk-plw",
        "---\nbase_model: sd-legacy/stable-diffusion-v1-5\n---\n# LoRA\n",
        ("agrees", "sd-legacy/stable-diffusion-v1-5"),
    ),
    "contradiction": (
        "peft-lockheed-vit-food101",
        "---\nbase_model: distilbert-base-uncased\n---\n# ViT on food101\n",
        ("conflict", "distilbert-base-uncased"),
    ),
    "ambiguous-sd1-no-mention": ("sd-timohavdk-plw", None, ("none", None)),
    "ambiguous-sd1-with-mention": ("sd-timohavdk-plw", MENTION, ("added", "runwayml/stable-diffusion-v1-5")),
}


@pytest.fixture(scope="module")
def realzoo_hub(realzoo, tmp_path_factory):
    import hfprobe.cards.annotate as ann
    from tests.fakehub import FakeHub
    from tests.fakehub_write import install_write

    hub = FakeHub(tmp_path_factory.mktemp("hub"))
    install_write(hub)
    hub.tokens = {WRITE: "write"}
    for name, (folder, readme, _) in CASES.items():
        files = {f.name: f for f in (realzoo / "files" / folder).iterdir()}
        if readme is not None:
            files["README.md"] = readme
        hub.add_repo(f"zoo/{name}", files)
    saved = ann._default_predict
    ann._default_predict = lambda spec, token: None  # predict has its own tests; no experts here
    try:
        with hub.serving():
            yield hub
    finally:
        ann._default_predict = saved


@pytest.mark.parametrize("name", list(CASES))
def test_base_model_rules_on_realzoo_repos(realzoo_hub, name):
    from hfprobe.cards.annotate import annotate_repo

    _, readme, (action, base_model) = CASES[name]
    res = annotate_repo(f"zoo/{name}", push=True, token=WRITE, today=DAY)
    assert res.status == "annotated" and res.base_model_action == action, (res.line(), res.base_model_action)
    card_text = (realzoo_hub.repo_dir(f"zoo/{name}", "refs/pr/1") / "README.md").read_text()
    card = ModelCard(card_text)
    assert card.data.base_model == base_model
    block = card.data.to_dict()["hfprobe"]
    assert len(yaml.safe_dump({"hfprobe": block}, default_flow_style=None, width=1000).splitlines()) <= 12
    if action == "added":
        assert card.data.base_model_relation == "adapter"
    if action == "none":  # the candidates are named in the body, not in the metadata
        body = card_text.split(MD_BEGIN, 1)[1]
        assert "- **base_model:** not set" in body and "CompVis/stable-diffusion-v1-4" in body
        assert "CompVis" not in card_text.split(MD_BEGIN, 1)[0]
    if action == "conflict":
        assert any(c.startswith("card-base-model") for c in block["conflicts"]) and "--fix-base-model" in card_text
    assert "hfprobe inspect zoo/" + name in card_text and "/tmp" not in card_text
    # a second run finds the same: no new commit, no new pull request
    commits = len(realzoo_hub.commits)
    again = annotate_repo(f"zoo/{name}", push=True, token=WRITE, today="2027-01-01")
    assert again.status == "unchanged" and len(realzoo_hub.commits) == commits


def test_sam_lora_family_from_its_training_config(realzoo, tmp_path):
    """The custom w_a_NNN/w_b_NNN layout names nothing; its config.yaml names the SAM checkpoint (issue 17)."""
    from hfprobe.tree.inspect import inspect_source

    src = realzoo / "files" / "other-mathieunlp-sam-r16"
    folder = tmp_path / "sam-lora"
    folder.mkdir()
    (folder / "config.yaml").write_text((src / "config.yaml").read_text())  # no README: the config alone
    (folder / "lora_rank16.safetensors").symlink_to(src / "lora_rank16.safetensors")
    report = inspect_source(str(folder))
    assert report["family"] == "sam" and report["family_confidence"] >= 0.5
    assert report["declared"]["config.yaml SAM.CHECKPOINT"] == "sam_vit_b_01ec64.pth"
    assert report["base_model"]["id"] == "facebook/sam-vit-base" and report["base_model"]["status"] == "declared"
    (folder / "config.yaml").write_text("SAM:\n  CHECKPOINT: ./sam_vit_l_0b3195.pth\n")  # ViT-L: 1024 wide
    ruled_out = inspect_source(str(folder))
    assert ruled_out["base_model"]["id"] is None and ruled_out["base_model"]["status"] == "contradicted"

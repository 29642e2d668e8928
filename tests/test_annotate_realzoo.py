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

from hfprobe.cards.annotate import annotate_batch
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


def test_every_folder_annotated_and_reads_back(zoo_copy):
    root, manifest, originals, results = zoo_copy
    failed = [r.line() for r in results.values() if r.status != "annotated"]
    assert not failed, failed
    for item in manifest:
        path = root / item["id"] / "README.md"
        card = ModelCard.load(path)
        block = card.data.to_dict()["hfprobe"]
        assert block["format"] and block["family"], item["id"]
        assert "no category prediction is available" in block["prediction"]["status"]
        assert card.text.count(MD_BEGIN) == 1
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
        assert all(c in card.text for c in conflicts)  # the section shows what the block records


def test_high_confidence_only_sets_base_model(zoo_copy):
    root, manifest, originals, results = zoo_copy
    added = {t.rsplit("/", 1)[-1]: r for t, r in results.items() if r.base_model_action == "added"}
    for name in added:
        data = ModelCard.load(root / name / "README.md").data.to_dict()
        assert data["hfprobe"]["confidence"] == "high" and data["base_model"] == data["hfprobe"]["root"]
    # SD 1.x LoRAs cannot tell SD 1.4 from 1.5: none of them may get a base_model from us.
    for item in manifest:
        if item["id"].startswith("sd-") and item["id"] in added:
            pytest.fail(f"{item['id']}: base_model written although SD 1.4 / 1.5 cannot be told apart")


def test_second_run_changes_nothing(zoo_copy):
    root, manifest, _, _ = zoo_copy
    before = {i["id"]: (root / i["id"] / "README.md").read_bytes() for i in manifest}
    again = annotate_batch(
        [str(root / i["id"]) for i in manifest], workers=1, progress=False, echo=lambda s: None, today="2027-01-01"
    )
    changed = [r.line() for r in again if r.status != "unchanged"]
    assert not changed, changed
    assert {i["id"]: (root / i["id"] / "README.md").read_bytes() for i in manifest} == before

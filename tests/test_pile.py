"""`hfprobe trees DIR` on a folder whose models declare no labels: grouped by the root `inspect` names for each
(hfprobe/tree/pile.py). Synthetic files at real models' sizes (zeros: only shapes matter), and the realzoo."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.cli import main
from hfprobe.tree.pile import group_by_root


def _sd15_lora(path, seed: int = 0, context: int = 768) -> None:
    t = {}
    for block, width in ((0, 320), (1, 640)):
        name = f"lora_unet_down_blocks_{block}_attentions_0_transformer_blocks_0_attn2_to_k"
        t[f"{name}.lora_down.weight"] = torch.zeros(4, context, dtype=torch.float16)
        t[f"{name}.lora_up.weight"] = torch.full((width, 4), float(seed), dtype=torch.float16)
    save_file(t, str(path))


def _bert_adapter(folder) -> None:
    folder.mkdir()
    t = {}
    for i in range(12):
        for proj in ("query", "value"):
            key = f"base_model.model.bert.encoder.layer.{i}.attention.self.{proj}"
            t[f"{key}.lora_A.weight"] = torch.zeros(8, 768)
            t[f"{key}.lora_B.weight"] = torch.zeros(768, 8)
    save_file(t, str(folder / "adapter_model.safetensors"))
    config = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "base_model_name_or_path": "bert-base-uncased"}
    (folder / "adapter_config.json").write_text(json.dumps(config))


@pytest.fixture()
def pile(tmp_path):
    """Two loose SD 1.5 LoRA files, a PEFT adapter's folder and a folder with nothing in it."""
    root = tmp_path / "pile"
    root.mkdir()
    _sd15_lora(root / "style_a.safetensors")
    _sd15_lora(root / "style_b.safetensors", seed=1)
    _bert_adapter(root / "bert-sentiment")
    (root / "notes").mkdir()
    (root / "notes" / "todo.txt").write_text("nothing here")
    return root


def test_a_pile_is_grouped_by_root(pile):
    res = group_by_root(pile)
    trees = {t["tree"]: sorted(m["source"] for m in t["models"]) for t in res["trees"]}
    assert trees == {
        "stable-diffusion-v1-5/stable-diffusion-v1-5": ["style_a.safetensors", "style_b.safetensors"],
        "google-bert/bert-base-uncased": ["bert-sentiment"],
    }
    assert res["models"] == 3 and res["trees"][0]["family"] == "sd1" and not res["skipped"]


def test_the_cli_groups_a_pile_and_refuses_zoo_flags(pile, capsys):
    assert main(["trees", str(pile), "--json"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(out) == 1 and out[0]["models"] == 3
    assert main(["trees", str(pile)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("3 models in 2 trees (no labels declared") and "bert-sentiment" in text
    assert main(["trees", str(pile), "--layer", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert "declare no labels" in err and "--layer" in err and "\n" not in err


def test_a_pile_is_grouped_without_torch(pile):
    """Grouping a pile reads headers alone, as `inspect` does: a fresh process never imports torch for it."""
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io; from hfprobe.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): rc = main(['trees', sys.argv[1], '--json'])\n"
        "print(rc, [m for m in ('torch', 'transformers', 'diffusers') if m in sys.modules])"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(pile)], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "0 []", proc.stdout + proc.stderr[-2000:]


def test_an_unreadable_model_stops_the_pile_unless_skipped(pile):
    (pile / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(Exception, match="broken.safetensors"):
        group_by_root(pile)
    res = group_by_root(pile, skip_bad=True)
    assert res["models"] == 3 and [s for s, _ in res["skipped"]] == ["broken.safetensors"]


def test_the_realzoo_pile_groups_each_model_with_its_family(realzoo):
    manifest = [json.loads(line) for line in (realzoo / "manifest.jsonl").read_text().splitlines() if line.strip()]
    res = group_by_root(realzoo / "files")
    family_of = {m["source"]: t["family"] for t in res["trees"] for m in t["models"]}
    assert res["models"] == len(manifest) == len(family_of) and not res["skipped"]
    wrong = {e["id"]: (family_of[e["id"]], e["ground_truth"]["family"]) for e in manifest}
    wrong = {k: v for k, v in wrong.items() if v[0] != v[1]}
    assert not wrong, wrong


def test_a_declared_root_names_its_tree_however_many_look_alikes(pile, monkeypatch):
    """The adapter that declares bert-base-uncased is grouped under it because its card's base_model is that root,
    not because of a score: each root the registry adds in BERT-base's shapes lowers the declared root's share (it
    fell below 0.5 at 433 roots, and the pile had said "bert (root unsure)"). Undeclared SD LoRAs stay as sure as
    their scores."""
    monkeypatch.setattr("hfprobe.tree.pile.SURE", 0.99)
    trees = {t["tree"]: sorted(m["source"] for m in t["models"]) for t in group_by_root(pile)["trees"]}
    assert trees == {
        "sd1 (root unsure)": ["style_a.safetensors", "style_b.safetensors"],
        "google-bert/bert-base-uncased": ["bert-sentiment"],
    }


def test_look_alike_roots_of_one_tree_are_that_tree(tmp_path, capsys):
    """SD 2.1 and 2.1-base share every shape, so an SD 2.x LoRA's root is a third sure; both were tuned from SD 2-base
    (as were SD 2 and its inpainting model), so its tree is sure. The pile had said "sd2 (root unsure)"."""
    (tmp_path / "pile").mkdir()
    for name in ("a", "b"):
        _sd15_lora(tmp_path / "pile" / f"{name}.safetensors", context=1024)
    (tree,) = group_by_root(tmp_path / "pile")["trees"]
    assert tree["tree"] == tree["root"] == "stabilityai/stable-diffusion-2-base" and tree["family"] == "sd2"
    for m in tree["models"]:
        assert m["root_confidence"] < 0.5 <= m["tree_confidence"] and m["root"] == "stabilityai/stable-diffusion-2-1"
    assert main(["trees", str(tmp_path / "pile")]) == 0
    assert "(root stabilityai/stable-diffusion-2-1 0.33, its tree 0.90)" in capsys.readouterr().out

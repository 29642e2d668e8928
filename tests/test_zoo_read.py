"""Zoo readers: a built zoo, a folder of model folders (labels in cards), manifests (JSONL/CSV), bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hfprobe.cli import main
from hfprobe.errors import ZooError
from hfprobe.zoo import open_zoo
from tests.conftest import manifest_rows

LAYERS = {
    "vit-fmnist-a": "vit.layers.0.attention.k_proj",  # canonical (in-memory) name of the saved
    # vit.encoder.layer.0.attention.attention.key.weight
    "minilm-fortunes": "bert.encoder.layer.0.attention.self.query",
    "unet-shapes": "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k",
}


SAVED_VIT_KEY = "vit.encoder.layer.0.attention.attention.key.weight"


def expected(folder: Path, weights: str, layer: str) -> torch.Tensor:
    """The layer straight from the saved tensors: W for full checkpoints, B @ A for LoRAs (unscaled)."""
    sd = load_file(folder / weights)
    short = layer.split(".", 1)[1] if layer.startswith("unet.") else layer
    if weights == "model.safetensors":
        return sd[SAVED_VIT_KEY]
    a = next(v for k, v in sd.items() if short in k and (".lora_A." in k or ".lora.down." in k))
    b = next(v for k, v in sd.items() if short in k and (".lora_B." in k or ".lora.up." in k))
    return b @ a


@pytest.mark.parametrize("tree", sorted(LAYERS))
def test_read_built_zoo_layers(zoo, tree):
    z = open_zoo(zoo)
    assert z.kind == "zoo" and not z.skipped
    items = list(z.read(LAYERS[tree], tree=tree))
    by_id = {r["id"]: r for r in manifest_rows(zoo)}
    assert len(items) == len([r for r in manifest_rows(zoo) if r["tree"] == tree])
    for item in items[:3]:
        row = by_id[item.id]
        assert item.labels == row["labels"] and item.split == row["split"] and item.root == row["root"]
        torch.testing.assert_close(item.matrix, expected(zoo / row["path"], row["weights"], LAYERS[tree]))
    _, stacked = z.stack(LAYERS[tree], tree=tree, split="train")
    assert stacked.ndim == 3 and stacked.shape[0] == len(z.select(tree=tree, split="train"))


def _flat_copy(zoo: Path, dest: Path, ids: list[str]) -> Path:
    by_id = {r["id"]: r for r in manifest_rows(zoo)}
    for mid in ids:
        shutil.copytree(zoo / by_id[mid]["path"], dest / mid)
    return dest


def test_folder_of_model_folders_with_cards(zoo, tmp_path):
    ids = ["vit-fmnist-a-0000", "vit-fmnist-a-0001", "unet-shapes-0000"]
    z = open_zoo(_flat_copy(zoo, tmp_path / "mine", ids))
    assert z.kind == "cards" and sorted(m.id for m in z.models) == sorted(ids)
    by_id = {r["id"]: r for r in manifest_rows(zoo)}
    for m in z.models:
        assert m.labels == by_id[m.id]["labels"] and m.tree == by_id[m.id]["tree"] and m.split == by_id[m.id]["split"]
    assert len(list(z.read(LAYERS["vit-fmnist-a"], tree="vit-fmnist-a"))) == 2


def test_csv_manifest(zoo, tmp_path):
    base = _flat_copy(zoo, tmp_path / "csvzoo", ["vit-fmnist-b-0000", "vit-fmnist-b-0001"])
    for d in base.iterdir():
        (d / "README.md").unlink()  # labels come from the manifest only
    (base / "manifest.csv").write_text(
        'id,path,tree,split,labels\nm0,vit-fmnist-b-0000,t,train,Coat;Bag\nm1,vit-fmnist-b-0001,t,test,"[""Dress""]"\n'
    )
    z = open_zoo(base)
    assert z.kind == "manifest" and [m.labels for m in z.models] == [["Coat", "Bag"], ["Dress"]]
    assert [i.id for i in z.read(LAYERS["vit-fmnist-a"])] == ["m0", "m1"]


def test_missing_and_malformed_labels(zoo, tmp_path):
    base = _flat_copy(zoo, tmp_path / "bad", ["vit-fmnist-a-0000", "vit-fmnist-a-0001", "vit-fmnist-a-0002"])
    (base / "vit-fmnist-a-0001" / "README.md").write_text("---\ntree: vit-fmnist-a\n---\nno labels here\n")
    (base / "vit-fmnist-a-0002" / "README.md").write_text("---\nlabels: {a: 1}\n---\n")
    with pytest.raises(ZooError, match="vit-fmnist-a-0001.*no labels"):
        open_zoo(base)
    z = open_zoo(base, skip_bad=True)
    assert [m.id for m in z.models] == ["vit-fmnist-a-0000"]
    reasons = dict(z.skipped)
    assert "no labels" in reasons["vit-fmnist-a-0001"] and "non-empty list" in reasons["vit-fmnist-a-0002"]


def test_manifest_pointing_at_missing_files(zoo, tmp_path):
    base = _flat_copy(zoo, tmp_path / "m", ["vit-fmnist-a-0000"])
    lines = [
        {"id": "ok", "path": "vit-fmnist-a-0000", "labels": ["Coat"]},
        {"id": "gone", "path": "nowhere", "labels": ["Bag"]},
    ]
    (base / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    with pytest.raises(ZooError, match="gone.*does not exist"):
        open_zoo(base)
    z = open_zoo(base, skip_bad=True)
    assert [m.id for m in z.models] == ["ok"] and z.skipped[0][0] == "gone"


def test_layer_absent_and_mixed_architectures(zoo, tmp_path):
    from transformers import ViTConfig, ViTForImageClassification

    base = _flat_copy(zoo, tmp_path / "mix", ["vit-fmnist-a-0000", "vit-fmnist-a-0001", "minilm-fortunes-0000"])
    wide = ViTForImageClassification(
        ViTConfig(
            image_size=28,
            patch_size=7,
            num_channels=1,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
        )
    )
    wide.save_pretrained(base / "zz-odd")
    (base / "zz-odd" / "README.md").write_text("---\nlabels: [Coat]\ntree: vit-fmnist-a\nsplit: train\n---\n")
    z = open_zoo(base)
    with pytest.raises(ZooError, match="zz-odd.*vit-fmnist-a-0000.*mixed architectures"):
        list(z.read(LAYERS["vit-fmnist-a"], tree="vit-fmnist-a"))
    with pytest.raises(ZooError, match="minilm-fortunes-0000.*cannot read layer"):
        list(z.read(LAYERS["vit-fmnist-a"]))
    z = open_zoo(base, skip_bad=True)
    got = [i.id for i in z.read(LAYERS["vit-fmnist-a"])]
    assert got == ["vit-fmnist-a-0000", "vit-fmnist-a-0001"]
    assert sorted(mid for mid, _ in z.skipped) == ["minilm-fortunes-0000", "zz-odd"]


def test_cli_info_skip_bad(zoo, tmp_path, capsys):
    base = _flat_copy(zoo, tmp_path / "c", ["vit-fmnist-a-0000", "vit-fmnist-a-0001"])
    (base / "vit-fmnist-a-0001" / "README.md").unlink()
    assert main(["zoo", "info", str(base)]) == 2
    assert "vit-fmnist-a-0001" in capsys.readouterr().err
    assert main(["zoo", "info", str(base), "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1" in out and "vit-fmnist-a: root" in out


@pytest.mark.parametrize("form", ["{name}", "./{name}", "{name}/"])
def test_a_zoo_named_by_a_relative_path_opens(zoo, monkeypatch, capsys, form):
    """`hfprobe bench --zoo myzoo` from the zoo's parent folder: the manifest found in the folder is read
    from there, not from myzoo/myzoo/ (every command that takes --zoo opens it this way)."""
    monkeypatch.chdir(zoo.parent)
    rel = form.format(name=zoo.name)
    z = open_zoo(rel)
    assert z.kind == "zoo" and len(z) == len(manifest_rows(zoo)) and not z.skipped
    assert main(["zoo", "info", rel]) == 0
    assert "vit-fmnist-a: root" in capsys.readouterr().out

"""The Model-J reader against files written here in Model-J's published layout, served by tests/fakehub.py:
labels from safetensors metadata, the five generative splits, one layer streamed per model with ranged reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from hfprobe.errors import ZooError
from hfprobe.zoo import open_modelj, open_zoo
from tests.conftest import manifest_rows
from tests.fakehub import FakeHub

GEN_LAYER = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"
DISC_LAYER = "vit.layers.0.attention.k_proj"  # saved as vit.encoder.layer.0.attention.attention.key.weight


def _with_metadata(path: Path, metadata: dict) -> bytes:
    """The same tensors re-saved with Model-J's label metadata (as its trainers wrote it)."""
    out = path.parent / f".mj-{path.name}"
    save_file(load_file(path), out, metadata={"format": "pt", **metadata})
    data = out.read_bytes()
    out.unlink()
    return data


@pytest.fixture(scope="session")
def modelj_hub(zoo, tmp_path_factory):
    hub = FakeHub(tmp_path_factory.mktemp("modelj-hub"))
    gen = [r for r in manifest_rows(zoo) if r["tree"] == "unet-shapes"]
    files, truth = {}, {}
    for n, r in enumerate(gen):
        name = f"{r['split']}/model_idx_{n:04d}/pytorch_lora_weights.safetensors"
        class_id = str(100 + n)
        files[name] = _with_metadata(zoo / r["path"] / r["weights"], {"imagenet_class_id": class_id})
        truth[f"{r['split']}/model_idx_{n:04d}"] = (class_id, r)
    files["README.md"] = "---\nlicense: mit\n---\n"
    hub.add_repo("ProbeX/Model-J__SD_200", files)
    disc = [r for r in manifest_rows(zoo) if r["tree"] == "vit-fmnist-a"][:4]
    disc_rows = []
    for n, r in enumerate(disc):
        repo = f"ProbeX/SupViT-model-{n}"
        hub.add_repo(
            repo,
            {
                "model.safetensors": _with_metadata(
                    zoo / r["path"] / r["weights"], {"dataset_chosen_targets": repr(r["labels"])}
                ),
                "config.json": (zoo / r["path"] / "config.json").read_text(),
            },
        )
        disc_rows.append({"hf_model_id": repo, "split": r["split"], "_row": r})
    return hub, truth, disc_rows


def test_generative_repo_five_splits_streamed(zoo, modelj_hub):
    hub, truth, _ = modelj_hub
    with hub.serving():
        z = open_modelj("ProbeX/Model-J__SD_200")
        assert {m.split for m in z.models} == {"train", "val", "test", "val_holdout", "test_holdout"}
        assert all(m.tree == "SD_200" and m.labels is None for m in z.models)
        hub.bytes_sent = 0
        items = list(z.read(GEN_LAYER))
    total = sum(p.stat().st_size for p in (hub.root / "ProbeX/Model-J__SD_200").rglob("*.safetensors"))
    assert len(items) == len(truth)
    assert hub.bytes_sent < total / 2  # headers plus one layer's A and B, never whole files
    local = {i.id: i for i in open_zoo(zoo).read(GEN_LAYER, tree="unet-shapes")}
    for item in items:
        class_id, row = truth[item.id]
        assert item.labels == [class_id] and item.split == row["split"]
        torch.testing.assert_close(item.matrix, local[row["id"]].matrix)


def test_generative_split_filter(modelj_hub):
    hub, truth, _ = modelj_hub
    with hub.serving():
        z = open_modelj("ProbeX/Model-J__SD_200", splits=["val_holdout", "test_holdout"])
    assert z.models and all(m.split.endswith("_holdout") for m in z.models)


def test_discriminative_rows(zoo, modelj_hub, tmp_path):
    hub, _, rows = modelj_hub
    rows_file = tmp_path / "rows.jsonl"
    rows_file.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "_row"}) + "\n" for r in rows))
    with hub.serving():
        items = list(open_modelj(rows_file, subset="SupViT").read(DISC_LAYER))
    assert [i.labels for i in items] == [r["_row"]["labels"] for r in rows]
    assert all(i.root == "google/vit-base-patch16-224" for i in items)
    from safetensors.torch import load_file as lf

    first = rows[0]["_row"]
    torch.testing.assert_close(
        items[0].matrix,
        lf(zoo / first["path"] / "model.safetensors")["vit.encoder.layer.0.attention.attention.key.weight"],
    )


def test_missing_label_metadata(zoo, tmp_path):
    hub = FakeHub(tmp_path / "hub")
    r = next(r for r in manifest_rows(zoo) if r["tree"] == "unet-shapes")
    good = _with_metadata(zoo / r["path"] / r["weights"], {"imagenet_class_id": "7"})
    bare = (zoo / r["path"] / r["weights"]).read_bytes()
    hub.add_repo(
        "ProbeX/Model-J__SD_1k",
        {
            "train/model_idx_0000/pytorch_lora_weights.safetensors": good,
            "train/model_idx_0001/pytorch_lora_weights.safetensors": bare,
        },
    )
    with hub.serving():
        with pytest.raises(ZooError, match="model_idx_0001.*no label in safetensors metadata"):
            list(open_modelj("ProbeX/Model-J__SD_1k").read(GEN_LAYER))
        z = open_modelj("ProbeX/Model-J__SD_1k", skip_bad=True)
        assert [i.labels for i in z.read(GEN_LAYER)] == [["7"]]
        assert z.skipped[0][0] == "train/model_idx_0001"

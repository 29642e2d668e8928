"""The Model-J reader against files written here in Model-J's published layout (tests/modelj_hub.py), served by
tests/fakehub.py: labels from safetensors metadata (WordNet ids named), the five generative splits, one layer
streamed per model with ranged reads, the discriminative rows found in the dataset repo, and the layer cache
(coalesced reads, resumable, bad models recorded)."""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.errors import UsageError, ZooError
from hfprobe.experts.data import load_tree
from hfprobe.zoo import open_modelj, open_zoo, open_zoo_spec
from hfprobe.zoo.modelj import _row_files, labels_from_metadata, modelj_rows, parse_modelj_spec
from tests import modelj_hub
from tests.conftest import manifest_rows
from tests.fakehub import FakeHub

GEN_LAYER = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"
DISC_LAYER = "vit.layers.0.attention.k_proj"  # saved as vit.encoder.layer.0.attention.attention.key.weight
DISC_QKV = [f"vit.layers.{i}.attention.{p}_proj" for i in (0, 1) for p in ("q", "k", "v")]


@pytest.fixture(scope="session")
def modelj_hub_(zoo, tmp_path_factory):
    return modelj_hub.build(zoo, tmp_path_factory.mktemp("modelj-hub"))


def test_generative_repo_five_splits_streamed(zoo, modelj_hub_):
    hub, truth = modelj_hub_
    with hub.serving():
        z = open_modelj("ProbeX/Model-J__SD_200")
        assert {m.split for m in z.models} == {"train", "val", "test", "val_holdout", "test_holdout"}
        assert all(m.tree == "SD_200" and m.labels is None for m in z.models)
        hub.bytes_sent = 0
        items = list(z.read(GEN_LAYER))
    total = sum(p.stat().st_size for p in (hub.root / "ProbeX/Model-J__SD_200").rglob("*.safetensors"))
    assert len(items) == len(truth["SD_200"])
    assert hub.bytes_sent < total / 2  # headers plus one layer's A and B, never whole files
    local = {i.id: i for i in open_zoo(zoo).read(GEN_LAYER, tree="unet-shapes")}
    for item in items:
        row = truth["SD_200"][item.id]
        assert item.labels == row["labels"] and item.split == row["split"]  # WordNet ids back as the names
        torch.testing.assert_close(item.matrix, local[row["id"]].matrix)


def test_wordnet_ids_are_named():
    assert labels_from_metadata({"imagenet_class_id": "n02099601"}, "m") == ["golden retriever"]
    assert labels_from_metadata({"imagenet_class_id": "n02012849"}, "m") == ["crane bird"]  # ImageNet's two cranes
    assert labels_from_metadata({"imagenet_class_id": "n03126707"}, "m") == ["construction crane"]
    assert labels_from_metadata({"imagenet_class_id": "not-a-wnid"}, "m") == ["not-a-wnid"]
    assert modelj_hub.wnid("golden retriever") == "n02099601"


def test_generative_split_filter(modelj_hub_):
    hub, _ = modelj_hub_
    with hub.serving():
        z = open_modelj("ProbeX/Model-J__SD_200", splits=["val_holdout", "test_holdout"])
    assert z.models and all(m.split.endswith("_holdout") for m in z.models)


def test_discriminative_rows_file(zoo, modelj_hub_, tmp_path):
    hub, truth = modelj_hub_
    rows = [{"hf_model_id": repo, "split": r["split"]} for repo, r in truth["SupViT"].items()]
    rows_file = tmp_path / "rows.jsonl"
    rows_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with hub.serving():
        items = list(open_modelj(rows_file, subset="SupViT").read(DISC_LAYER))
    assert [i.labels for i in items] == [truth["SupViT"][r["hf_model_id"]]["labels"] for r in rows]
    assert all(i.root == "google/vit-base-patch16-224" for i in items)
    from safetensors.torch import load_file as lf

    first = truth["SupViT"][rows[0]["hf_model_id"]]
    torch.testing.assert_close(
        items[0].matrix,
        lf(zoo / first["path"] / "model.safetensors")["vit.encoder.layer.0.attention.attention.key.weight"],
    )


def test_discriminative_rows_from_the_dataset_repo(modelj_hub_):
    hub, truth = modelj_hub_
    with hub.serving():
        rows = modelj_rows("SupViT")
        z = open_zoo_spec("modelj:SupViT")
    assert sorted((r["hf_model_id"], r["split"]) for r in rows) == sorted(
        (repo, r["split"]) for repo, r in truth["SupViT"].items()
    )
    assert z.kind == "modelj" and list(z.trees()) == ["SupViT"] and len(z) == len(truth["SupViT"])


@pytest.mark.parametrize("read", ["/api/datasets/", "/api/models/ProbeX/Model-J__SD_200"])
def test_zoo_reads_outlive_the_shared_client_being_closed(modelj_hub_, read):
    """huggingface_hub closes the client every thread shares after a connect error in any one of them: the zoo's
    listings (the dataset's rows, a model repo's files) are retried as hfprobe's reads are."""
    from tests.hub.faults import close_client_under

    hub, truth = modelj_hub_
    closed = close_client_under(hub, "GET", lambda path: path.startswith(read))
    try:
        with hub.serving():
            if "datasets" in read:
                assert len(modelj_rows("SupViT")) == len(truth["SupViT"])
            else:
                assert len(open_modelj("ProbeX/Model-J__SD_200").models) == len(truth["SD_200"])
    finally:
        hub.fault = None  # the server is shared by this file's tests
    assert closed


def test_dataset_card_configs_name_the_files():
    files = ["README.md", "data/supvit-tr.csv", "data/supvit-va.csv", "SupViT/train-0.parquet", "DINO/train.csv"]
    card = {
        "configs": [
            {
                "config_name": "SupViT",
                "data_files": [
                    {"split": "train", "path": "data/supvit-tr*"},
                    {"split": "val", "path": ["data/supvit-va*"]},
                ],
            }
        ]
    }
    assert _row_files(files, "SupViT", card) == {"train": ["data/supvit-tr.csv"], "val": ["data/supvit-va.csv"]}
    assert _row_files(files, "SupViT", None) == {"train": ["SupViT/train-0.parquet"]}  # by path without a card
    assert _row_files(files, "DINO", {"configs": []}) == {"train": ["DINO/train.csv"]}


def test_spec_errors():
    assert parse_modelj_spec("modelj:SupViT,DINO@v1") == (["SupViT", "DINO"], "v1")
    for bad in ("modelj:", "modelj:sd_200"):
        with pytest.raises(UsageError, match="choose from SupViT, DINO, MAE, ResNet, SD_200, SD_1k"):
            parse_modelj_spec(bad)


def _requests(hub, repo_prefix: str) -> int:
    return sum(1 for _, path, _ in hub.requests if "/resolve/" in path and path.startswith("/" + repo_prefix))


def test_layer_cache_coalesces_and_resumes(modelj_hub_):
    hub, truth = modelj_hub_
    n = len(truth["SupViT"])
    with hub.serving():
        zoo = open_zoo_spec("modelj:SupViT")
        hub.requests.clear()
        first = load_tree(zoo, "SupViT", DISC_QKV[:2])  # an interrupted run that read two layers
        part = _requests(hub, "ProbeX/SupViT-model")
        hub.requests.clear()
        d = load_tree(open_zoo_spec("modelj:SupViT"), "SupViT", DISC_QKV)  # the rest: only what is missing
        rest = _requests(hub, "ProbeX/SupViT-model")
        hub.requests.clear()
        load_tree(open_zoo_spec("modelj:SupViT"), "SupViT", DISC_QKV)
        assert _requests(hub, "ProbeX/SupViT-model") == 0  # all cached
    # per model: the header (size probe, length, JSON), the data offset, then the 6 tensors in one or two reads
    assert part <= n * 6 and rest <= n * 6, (part, rest)
    for name in DISC_QKV[:2]:
        for split in first.X[name]:
            torch.testing.assert_close(first.X[name][split], d.X[name][split])
    assert d.head == "multilabel" and sum(len(v) for v in d.ids.values()) == n


def test_missing_label_metadata(zoo, tmp_path):
    hub = FakeHub(tmp_path / "hub")
    r = next(r for r in manifest_rows(zoo) if r["tree"] == "unet-shapes")
    good = modelj_hub.with_metadata(zoo / r["path"] / r["weights"], {"imagenet_class_id": "7"})
    bare = (zoo / r["path"] / r["weights"]).read_bytes()
    hub.add_repo(
        "ProbeX/Model-J__SD_1k",
        {
            "train/model_idx_0000/pytorch_lora_weights.safetensors": good,
            "train/model_idx_0001/pytorch_lora_weights.safetensors": bare,
            "val/model_idx_0002/pytorch_lora_weights.safetensors": good,
        },
    )
    with hub.serving():
        with pytest.raises(ZooError, match="model_idx_0001.*no label in safetensors metadata"):
            list(open_modelj("ProbeX/Model-J__SD_1k").read(GEN_LAYER))
        z = open_modelj("ProbeX/Model-J__SD_1k", skip_bad=True)
        assert [i.labels for i in z.read(GEN_LAYER)] == [["7"], ["7"]]
        assert z.skipped[0][0] == "train/model_idx_0001"
        # the layer cache: the bad model is recorded (and not fetched again), or named in one error
        with pytest.raises(ZooError, match="model_idx_0001.*no label in safetensors metadata.*--skip-bad"):
            load_tree(open_modelj("ProbeX/Model-J__SD_1k"), "SD_1k", [GEN_LAYER])
        hub.requests.clear()
        z = open_modelj("ProbeX/Model-J__SD_1k", skip_bad=True)
        d = load_tree(z, "SD_1k", [GEN_LAYER])
        fetched = {path.split("/")[-2] for _, path, _ in hub.requests if "/resolve/" in path}
        assert fetched == {"model_idx_0002"}  # the row the failed run did not reach; the bad one is remembered
    assert d.ids == {"train": ["train/model_idx_0000"], "val": ["val/model_idx_0002"]}
    assert [m for m, _ in z.skipped] == ["train/model_idx_0001"]

"""`hfprobe bench/train --zoo modelj:SUBSET` end to end on the local fake Hub, in Model-J's exact layout
(tests/modelj_hub.py): the layer cache matches reading the same models from a zoo folder, the paper's protocol
is applied (every attention layer, its training settings), and the bench writes the same JSON and plot as on
our zoos. Tiny ranks and a few epochs: this checks the plumbing, not the paper's figures."""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.cli import main
from hfprobe.experts.data import candidate_layers, load_tree
from hfprobe.zoo import open_zoo, open_zoo_spec
from hfprobe.zoo.layercache import LazyLayers
from tests import modelj_hub

FAST = ["--rank", "8", "--epochs", "3", "--device", "cpu", "-q"]


@pytest.fixture(scope="module")
def hub(zoo, tmp_path_factory):
    return modelj_hub.build(zoo, tmp_path_factory.mktemp("modelj-hub"))


def _resolves(hub) -> int:
    return sum(1 for method, path, _ in hub[0].requests if "/resolve/" in path)


def test_layer_cache_is_the_zoo_read_one_layer_at_a_time(zoo, hub):
    fake, truth = hub
    local = open_zoo(zoo)
    with fake.serving():
        mj = open_zoo_spec("modelj:SD_200")
        layers = candidate_layers(mj, "SD_200", limit=0)
        assert layers == candidate_layers(local, modelj_hub.GEN_TREE, limit=0) and len(layers) > 8
        d = load_tree(mj, "SD_200", layers)
        before = _resolves(hub)
        again = load_tree(open_zoo_spec("modelj:SD_200"), "SD_200", layers)  # a second run: all from the cache
        assert _resolves(hub) == before
    ref = load_tree(local, modelj_hub.GEN_TREE, layers)
    assert isinstance(d.X, LazyLayers) and d.head == ref.head == "text"
    assert d.labels == ref.labels and d.holdout_labels == ref.holdout_labels  # WordNet ids came back as names
    for split, ids in d.ids.items():
        assert [truth["SD_200"][i]["id"] for i in ids] == ref.ids[split]
        assert torch.equal(d.Y[split], ref.Y[split])
    for name in layers:
        for split in ref.X[name]:
            torch.testing.assert_close(d.X[name][split], ref.X[name][split])
            torch.testing.assert_close(again.X[name][split], ref.X[name][split])


def test_bench_modelj_writes_the_same_json_and_plot(zoo, hub, tmp_path, capsys):
    fake, truth = hub
    out = tmp_path / "sd200.json"
    with fake.serving():
        assert main(["bench", "--zoo", "modelj:SD_200", "--out", str(out), *FAST]) == 0
    text = capsys.readouterr().out
    assert "one tree, nothing to route between" in text
    res = json.loads(out.read_text())
    row = res["trees"]["SD_200"]
    assert res["max_layers"] == 0 and res["routing"] is None and res["device"]["device"] == "cpu"
    assert len(row["layer_sweep"]) == len([n for n in row["layer_sweep"] if n.endswith(("to_q", "to_k", "to_v"))])
    # every q/k/v of both attentions of the tiny UNet's 4 transformer blocks (down, mid, 2 up): 24, not the bench's 4
    assert sorted(row["layer_sweep"]) == sorted(candidate_layers(open_zoo(zoo), modelj_hub.GEN_TREE, limit=0))
    assert len(row["layer_sweep"]) == 24
    for key in ("probex", "probex_gram", "dense", "statnn", "bilinear"):
        assert 0.0 <= row[key] <= 1.0
    # the paper's generative settings, the rank and epochs the flags gave
    assert {k: res["config"][k] for k in ("lr", "weight_decay", "dropout", "batch_size", "patience")} == {
        "lr": 0.002,
        "weight_decay": 0.0,
        "dropout": 0.0,
        "batch_size": 128,
        "patience": 200,
    }
    assert res["config"]["max_epochs"] == 3 and res["config"]["r_U"] == 8
    zs = res["zero_shot"]
    assert zs["tree"] == "SD_200" and zs["n_models"] == len([i for i in truth["SD_200"] if "test_holdout" in i])
    assert out.with_suffix(".png").stat().st_size > 1000


def test_train_modelj_discriminative(hub, tmp_path):
    fake, truth = hub
    with fake.serving():
        code = main(
            ["train", "--zoo", "modelj:SupViT", "--tree", "SupViT", "--out", str(tmp_path / "e"), "--json", *FAST]
        )
    assert code == 0
    cfg = json.loads((tmp_path / "e" / "expert.json").read_text())
    assert cfg["head"] == "multilabel" and cfg["root"] == "google/vit-base-patch16-224"
    assert cfg["train"]["lr"] == 0.001 and cfg["train"]["weight_decay"] == 1e-05 and cfg["train"]["patience"] == 500
    assert len(cfg["metrics"]["layer_sweep"]) == 6  # query, key and value of the tiny ViT's 2 layers
    assert cfg["labels"] == sorted({c for r in truth["SupViT"].values() if r["split"] != "x" for c in r["labels"]})


def test_mixed_kinds_and_unknown_subsets_are_usage_errors(hub, capsys):
    fake, _ = hub
    with fake.serving():
        assert main(["bench", "--zoo", "modelj:SD_200,SupViT", *FAST]) == 2
        assert main(["train", "--zoo", "modelj:SD_2k", "--tree", "x", *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert "run them separately" in err[0] and "unknown Model-J subset SD_2k" in err[1]


def test_clip_text_space_without_weights_is_one_line(hub, capsys, monkeypatch):
    fake, _ = hub
    monkeypatch.delenv("HFPROBE_CLIP_WEIGHTS", raising=False)
    with fake.serving():
        code = main(["bench", "--zoo", "modelj:SD_200", "--text-encoder", "clip-vit-l-14", *FAST])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "HFPROBE_CLIP_WEIGHTS" in err[0]

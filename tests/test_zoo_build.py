"""The zoo builder: the `test` recipe is built once per session (into the per-session cache) and checked
with the libraries that wrote each file, for labels, held-out categories, determinism, resume and cache."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import torch

from hfprobe.cli import main
from hfprobe.errors import ZooError
from hfprobe.zoo import build_zoo, default_zoo_dir, load_recipe
from hfprobe.zoo.read import zoo_info
from tests.conftest import manifest_rows


def card(folder: Path) -> dict:
    from huggingface_hub import ModelCard

    return ModelCard.load(folder / "README.md").data.to_dict()


def files_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "build.json"
    }


def test_layout_and_cards(zoo):
    rows = manifest_rows(zoo)
    meta = json.loads((zoo / "zoo.json").read_text())
    assert meta["hash"] == zoo.name and meta["versions"]["torch"] == torch.__version__
    trees = {r["tree"] for r in rows}
    assert trees == {"vit-fmnist-a", "vit-fmnist-b", "minilm-fortunes", "unet-shapes"}
    for r in rows:
        folder = zoo / r["path"]
        assert (folder / r["weights"]).is_file(), r["id"]
        data = card(folder)
        assert data["labels"] == r["labels"] and data["split"] == r["split"] and data["tree"] == r["tree"]
        assert data["base_model"] == r["root"] == meta["trees"][r["tree"]]["root"]
    assert meta["trees"]["minilm-fortunes"]["root"] == "sentence-transformers/all-MiniLM-L6-v2"
    # The two ViT roots share one architecture: only the weights tell the trees apart.
    a = json.loads((zoo / "roots/vit-fmnist-a/config.json").read_text())
    b = json.loads((zoo / "roots/vit-fmnist-b/config.json").read_text())
    assert {k: v for k, v in a.items()} == {k: v for k, v in b.items()}


def test_vit_full_finetunes_load(zoo):
    from transformers import ViTForImageClassification

    row = next(r for r in manifest_rows(zoo) if r["tree"] == "vit-fmnist-a")
    model = ViTForImageClassification.from_pretrained(zoo / row["path"])
    assert list(model.config.id2label.values()) == row["labels"]
    from safetensors.torch import load_file

    key = "vit.encoder.layer.0.attention.attention.key.weight"  # the key save_pretrained writes
    tuned, root = (
        load_file(zoo / row["path"] / "model.safetensors"),
        load_file(zoo / "roots/vit-fmnist-a/model.safetensors"),
    )
    assert not torch.equal(tuned[key], root[key])  # the fine-tune moved the weights
    assert tuned["classifier.weight"].shape[0] == len(row["labels"]) == 5


def test_minilm_peft_adapters_load(zoo):
    from peft import PeftModel
    from transformers import BertForSequenceClassification

    from hfprobe.zoo.discriminative import minilm_path

    row = next(r for r in manifest_rows(zoo) if r["tree"] == "minilm-fortunes")
    cfg = json.loads((zoo / row["path"] / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == "sentence-transformers/all-MiniLM-L6-v2"
    base = BertForSequenceClassification.from_pretrained(minilm_path(), num_labels=len(row["labels"]))
    model = PeftModel.from_pretrained(base, zoo / row["path"])
    out = model(input_ids=torch.tensor([[101, 7592, 102]])).logits
    assert out.shape == (1, len(row["labels"]))


def test_unet_loras_load_and_change_output(zoo):
    from diffusers import UNet2DConditionModel

    row = next(r for r in manifest_rows(zoo) if r["tree"] == "unet-shapes")
    unet = UNet2DConditionModel.from_pretrained(zoo / "roots/unet-shapes")
    x, t, s = torch.randn(1, 3, 16, 16), torch.tensor([10]), torch.randn(1, 12, 384)
    with torch.no_grad():
        before = unet(x, t, encoder_hidden_states=s).sample
        unet.load_lora_adapter(zoo / row["path"], weight_name="pytorch_lora_weights.safetensors", prefix="unet")
        after = unet(x, t, encoder_hidden_states=s).sample
    assert not torch.allclose(before, after)
    assert card(zoo / row["path"])["instance_prompt"] == f"a photo of a {row['labels'][0]}"


def test_holdout_categories_never_trained(zoo):
    rows = [r for r in manifest_rows(zoo) if r["tree"] == "unet-shapes"]
    tree = json.loads((zoo / "zoo.json").read_text())["trees"]["unet-shapes"]
    held = set(tree["holdout_categories"])
    assert held and not held & set(tree["categories"])
    seen = {c for r in rows if r["split"] in ("train", "val", "test") for c in r["labels"]}
    assert not seen & held
    holdout = [r for r in rows if r["split"].endswith("_holdout")]
    assert holdout and all(r["labels"][0] in held for r in holdout)
    val_h = {r["labels"][0] for r in holdout if r["split"] == "val_holdout"}
    test_h = {r["labels"][0] for r in holdout if r["split"] == "test_holdout"}
    assert val_h and test_h and not val_h & test_h
    assert all(len(r["labels"]) == 1 for r in rows)


def test_discriminative_labels_are_subsets(zoo):
    meta = json.loads((zoo / "zoo.json").read_text())["trees"]
    rows = [r for r in manifest_rows(zoo) if r["tree"] == "minilm-fortunes"]
    k = load_recipe("test")["trees"][2]["subset"]
    assert all(len(r["labels"]) == k and set(r["labels"]) <= set(meta["minilm-fortunes"]["categories"]) for r in rows)
    assert len({tuple(r["labels"]) for r in rows}) > 1
    assert {r["split"] for r in manifest_rows(zoo)} >= {"train", "val", "test"}


def test_rebuild_same_seed_identical_bytes_and_resume(zoo, tmp_path):
    """Delete the finish marker, one root and one model per tree; the resumed build rewrites them byte for byte,
    here with two trees at a time in worker processes (the fixture built the zoo one tree after another)."""
    copy = tmp_path / "zoo"
    shutil.copytree(zoo, copy)
    (copy / "zoo.json").unlink()
    shutil.rmtree(copy / "roots/vit-fmnist-b")
    shutil.rmtree(copy / "roots/unet-shapes")
    for tree in ("vit-fmnist-a", "vit-fmnist-b", "minilm-fortunes", "unet-shapes"):
        shutil.rmtree(copy / "models" / tree / f"{tree}-0001")
    kept = copy / "models/vit-fmnist-a/vit-fmnist-a-0000/model.safetensors"
    mtime = kept.stat().st_mtime_ns
    build_zoo("test", out=copy, seed=0, progress=False, jobs=2)
    assert kept.stat().st_mtime_ns == mtime  # finished models are kept, not rewritten
    assert files_bytes(copy) == files_bytes(zoo)


def test_other_seed_differs():
    assert load_recipe("test", 1) != load_recipe("test", 0)
    assert default_zoo_dir(load_recipe("test", 1)) != default_zoo_dir(load_recipe("test", 0))


def test_cache_returns_at_once(zoo, tmp_path):
    start = time.time()
    assert build_zoo("test", seed=0, progress=False) == zoo
    out = build_zoo("test", seed=0, out=tmp_path / "copy", progress=False)  # copied from the cache
    assert time.time() - start < 10
    assert files_bytes(out) == files_bytes(zoo)


def test_interrupted_model_leaves_no_half_folder(zoo, tmp_path, monkeypatch):
    copy = tmp_path / "zoo"
    shutil.copytree(zoo, copy)
    (copy / "zoo.json").unlink()
    shutil.rmtree(copy / "models/vit-fmnist-a/vit-fmnist-a-0002")
    import hfprobe.zoo.discriminative as disc

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(disc, "finetune_vit", boom)
    with pytest.raises(KeyboardInterrupt):
        build_zoo("test", out=copy, seed=0, progress=False)
    left = sorted(p.name for p in (copy / "models/vit-fmnist-a").iterdir())
    assert "vit-fmnist-a-0002" not in left and not any(n.startswith(".tmp") for n in left)
    assert not (copy / "zoo.json").exists()


def test_other_recipe_in_folder_is_refused(zoo, tmp_path):

    copy = tmp_path / "zoo"
    shutil.copytree(zoo, copy)
    with pytest.raises(ZooError, match="another zoo"):
        build_zoo("test", out=copy, seed=5, progress=False)


def test_cli_info(zoo, capsys):
    assert main(["zoo", "info", str(zoo)]) == 0
    out = capsys.readouterr().out
    for name in (
        "vit-fmnist-a",
        "minilm-fortunes",
        "unet-shapes",
        "val_holdout",
        "held-out",
        "sentence-transformers/all-MiniLM-L6-v2",
    ):
        assert name in out
    assert main(["zoo", "info", str(zoo), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    t = info["trees"]["unet-shapes"]
    assert t["models"] == sum(t["splits"].values()) and t["disk_bytes"] > 0 and t["build_seconds"] > 0
    assert zoo_info(zoo)["trees"]["vit-fmnist-a"]["splits"] == info["trees"]["vit-fmnist-a"]["splits"]


def test_cli_build_unknown_preset(capsys):
    assert main(["zoo", "build", "--preset", "nope"]) == 2
    assert "unknown zoo preset" in capsys.readouterr().err


def test_cli_build_uses_cache(zoo, tmp_path, capsys):
    assert main(["zoo", "build", "--preset", "test", "--out", str(tmp_path / "z"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert zoo.name in out and (tmp_path / "z" / "zoo.json").is_file()
    assert main(["zoo", "build", "--preset", "test", "--seed", "3", "--out", str(tmp_path / "z")]) == 2
    assert "another zoo" in capsys.readouterr().err


def test_text_categories_fall_back_when_fortunes_has_too_few(tmp_path, monkeypatch):
    """`fortunes-min` ships 3 categories; a tree asking for 6 gets templated topics, never a silent 3."""
    from hfprobe.zoo import datasets

    for name in ("alpha", "beta", "gamma"):
        (tmp_path / name).write_text("\n%\n".join(f"{name} fortune number {i} is long enough" for i in range(30)))
    monkeypatch.setattr(datasets, "FORTUNES_DIR", tmp_path)
    texts, used = datasets.fortunes(20, need=2)
    assert used == "debian-fortunes" and sorted(texts) == ["alpha", "beta", "gamma"]
    texts, used = datasets.fortunes(20, need=6)
    assert used.startswith("templated-sentences") and "3 fortune categories" in used
    assert len(texts) >= 6 and all(len(v) == 20 for v in texts.values())
    with pytest.raises(ZooError, match="apt-get install fortunes"):
        datasets.fortunes(20, need=40)


def test_mini_generative_vocabulary_extends_the_named_categories():
    base = load_recipe("tiny")["generative_categories"]
    mini = load_recipe("mini")
    names = mini["generative_categories"]
    tree = next(t for t in mini["trees"] if t["kind"] == "unet-lora")
    assert names[: len(base)] == base and len(set(names)) == len(names)
    assert len(names) >= tree["train_categories"] + tree["holdout_categories"]


def test_candidate_layers_put_cross_attention_first(zoo):
    from hfprobe.experts.data import candidate_layers
    from hfprobe.zoo import open_zoo

    z = open_zoo(zoo)
    unet = next(t for t in z.trees() if t.startswith("unet"))
    assert all(".attn2." in n for n in candidate_layers(z, unet, limit=2))
    every = candidate_layers(z, unet, limit=100)
    assert any(".attn1." in n for n in every)  # self-attention still fills the places left
    assert sorted(candidate_layers(z, unet, limit=0)) == sorted(every)  # 0: every candidate, the paper's full sweep
    assert len(set(every)) == len(every)
    with pytest.raises(ValueError, match="limit must be 0"):
        candidate_layers(z, unet, limit=-1)
    vit = next(t for t in z.trees() if t.startswith("vit"))
    assert len(candidate_layers(z, vit, limit=3)) == 3


def test_generative_val_and_test_categories_were_trained_on():
    """With 2+ models per category, in-distribution val/test only hold categories that train has (a category
    never trained on would be a zero-shot question scored as an in-distribution one)."""
    from collections import Counter

    from hfprobe.zoo.recipe import plan_tree

    recipe = load_recipe("mini")
    tree = next(t for t in recipe["trees"] if t["kind"] == "unet-lora")
    assert tree["per_category"] >= 2
    plans = plan_tree(recipe, tree)
    trained = {p["labels"][0] for p in plans if p["split"] == "train"}
    in_dist = [p for p in plans if p["split"] in ("val", "test")]
    assert in_dist and all(p["labels"][0] in trained for p in in_dist)
    counts = Counter(p["split"] for p in plans if not p["split"].endswith("_holdout"))
    n = tree["train_categories"] * tree["per_category"]
    ratios = recipe["splits"]["generative"]
    assert counts["val"] == round(n * ratios["val"]) and counts["test"] == round(n * ratios["test"])
    assert counts["train"] == n - counts["val"] - counts["test"]


def test_extra_test_loras_leave_the_other_models_as_they_were():
    """`extra_test_per_category` appends test LoRAs of the training categories (`extra_test_holdout_per_category`:
    of the test_holdout ones); every other model keeps its index, split, labels and seeds, so a zoo with them holds
    the same models plus unseen ones."""
    from hfprobe.zoo.recipe import generative_categories, plan_tree
    from hfprobe.zoo.trees import TREE_BUILDERS

    recipe = load_recipe("test")
    tree = next(t for t in recipe["trees"] if t["kind"] == "unet-lora")
    plain, more = plan_tree(recipe, tree), plan_tree(recipe, dict(tree, extra_test_per_category=2))
    assert more[: len(plain)] == plain
    added = more[len(plain) :]
    assert len(added) == 2 * tree["train_categories"] and {p["split"] for p in added} == {"test"}
    assert sorted({p["labels"][0] for p in added}) == generative_categories(recipe, tree)[0]
    assert len({p["hparams"]["seed"] for p in more}) == len(more)
    # held-out categories: more LoRAs of the test_holdout ones only (val_holdout's stay as they were), after the rest
    both = plan_tree(recipe, dict(tree, extra_test_per_category=2, extra_test_holdout_per_category=3))
    assert both[: len(more)] == more
    held = both[len(more) :]
    test_hold = {p["labels"][0] for p in plain if p["split"] == "test_holdout"}
    assert test_hold and {p["split"] for p in held} == {"test_holdout"}
    assert sorted(p["labels"][0] for p in held) == sorted(c for c in test_hold for _ in range(3))
    builder = TREE_BUILDERS["unet-lora"](recipe, dict(tree, extra_test_holdout_per_category=3), Path("unused"))
    assert builder.count() == len(plain) + 3 * len(test_hold) + 1


def test_extra_holdout_categories_are_new_names_after_every_other_model():
    """`extra_test_holdout_categories`: one test_holdout LoRA of each of N categories no other model has, appended;
    the other models and their caption states stay as they were."""
    from hfprobe.zoo.recipe import extra_holdout_categories, generative_categories, plan_tree
    from hfprobe.zoo.trees import TREE_BUILDERS

    recipe = load_recipe("test")
    tree = next(t for t in recipe["trees"] if t["kind"] == "unet-lora")
    base = dict(tree, extra_test_holdout_per_category=2)
    grown = dict(base, extra_test_holdout_categories=7)
    before, after = plan_tree(recipe, base), plan_tree(recipe, grown)
    assert after[: len(before)] == before and len(after) == len(before) + 7
    added = after[len(before) :]
    names = [p["labels"][0] for p in added]
    train, hold = generative_categories(recipe, tree)
    assert names == extra_holdout_categories(recipe, grown) and len(set(names)) == 7
    assert not set(names) & (set(recipe["generative_categories"]) | set(train) | set(hold))
    assert {p["split"] for p in added} == {"test_holdout"}
    assert names != extra_holdout_categories(dict(recipe, seed=1), grown)  # the seed orders them
    with pytest.raises(ZooError, match="extra held-out categories"):
        extra_holdout_categories(recipe, dict(tree, extra_test_holdout_categories=10**6))
    old, new = (TREE_BUILDERS["unet-lora"](recipe, t, Path("unused")) for t in (base, grown))
    assert new.count() == old.count() + 7
    s_old, s_new = old._states(), new._states()
    assert set(s_new) == set(s_old) | set(names)
    assert all(torch.equal(s_old[c], s_new[c]) for c in s_old)


def test_candidate_layers_spread_over_depth_and_projections():
    from hfprobe.experts.data import _spread

    names = [f"blocks.{b}.attn.{p}" for b in range(4) for p in ("to_k", "to_q", "to_v")]
    four = _spread(names, 4)
    assert [n.split(".")[1] for n in four] == ["0", "1", "2", "3"]
    assert {n.rsplit(".", 1)[1] for n in four} == {"to_k", "to_q", "to_v"}
    assert sorted(_spread(names, 12)) == sorted(names) and len(set(_spread(names, 12))) == 12
    deep = [f"blocks.{b}.attn.{p}" for b in range(16) for p in ("q", "k", "v")]
    assert sorted({int(n.split(".")[1]) for n in _spread(deep, 4)}) == [0, 4, 8, 12]

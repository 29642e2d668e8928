"""ProbeX experts end to end on the `test` zoo recipe: train (CLI), route, predict (local and from a Hub repo
served on 127.0.0.1), zero-shot, the bench on a small budget, and bad input exiting 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from hfprobe.cli import main
from hfprobe.experts.expert import Expert, load_experts
from hfprobe.experts.predict import predict
from hfprobe.experts.probes import HEAD_DEFAULTS, n_params
from hfprobe.zoo import open_zoo
from tests.fakehub import FakeHub

torch.set_num_threads(1)
FAST = ["--rank", "8", "--epochs", "15", "--quiet"]


@pytest.fixture(scope="session")
def experts_dir(zoo, tmp_path_factory):
    out = tmp_path_factory.mktemp("experts")
    assert main(["train", "--zoo", str(zoo), "--all-trees", "--out", str(out), *FAST]) == 0
    return out


def test_train_writes_one_expert_per_tree(zoo, experts_dir):
    experts = load_experts(experts_dir)
    assert sorted(e.name for e in experts) == sorted(open_zoo(zoo).trees())
    for e in experts:
        cfg = e.config
        assert cfg["zoo_hash"] and cfg["version"] and cfg["layer"] in cfg["metrics"]["layer_sweep"]
        assert cfg["head"] == ("text" if e.name == "unet-shapes" else "multilabel")
        if cfg["head"] == "text":
            assert cfg["text_encoder"]["id"] == "minilm"
            # the tree has held-out categories: the expert was chosen with zero-shot validation and says how it does
            m = cfg["metrics"]
            assert 0 <= m["zero_shot_val"] <= 1 and 0 <= m["zero_shot_test"] <= 1 and 0 < m["zero_shot_chance"] < 1
            assert m["layer_sweep"][cfg["layer"]] == pytest.approx((m["val"] + m["zero_shot_val"]) / 2)


def test_routes_every_test_model_to_its_expert(zoo, experts_dir):
    z = open_zoo(zoo)
    models = z.select(split=["test", "test_holdout"])
    assert models
    for m in models:
        out = predict(m.spec, experts_dir=experts_dir, top_k=3)
        assert out["expert"] and out["expert"]["name"] == m.tree, out["routing"]
        assert len(out["predictions"]) == 3 and out["bytes_read"] > 0
        assert set(out) >= {"source", "tree", "expert", "method", "predictions", "bytes_read"}
        # calibrated probabilities, best first, a decision, and whether the expert is near chance on its own test
        assert set(out) >= {"calibration", "decision", "near_chance"} and isinstance(out["near_chance"], bool)
        probs = [p["probability"] for p in out["predictions"]]
        assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
        assert all(p["calibration"] == out["calibration"]["method"] for p in out["predictions"])
        exp = Expert.load(experts_dir / m.tree)
        # the tree is the routed expert's root; how sure `inspect` is of it where the weights fit it, none where not
        assert out["tree"]["root"] == exp.config["root"] and set(out["tree"]) == {
            "id", "confidence", "family", "family_confidence", "root", "root_confidence"
        }  # fmt: skip
        conf = out["tree"]["root_confidence"]
        assert conf is None or 0 < conf <= 1
        # the zoo's roots are no registry model's: each is its own tree, as sure as the root
        assert out["tree"]["id"] == exp.config["root"] and out["tree"]["confidence"] == conf
        assert out["near_chance"] == exp.config["metrics"]["near_chance"]
        assert out["expert"]["metrics"]["chance"] == exp.config["metrics"]["chance"]
        if exp.config["head"] == "multilabel":
            t = exp.config["calibration"]["threshold"]
            assert all(p["decided"] == (p["probability"] >= t) for p in out["predictions"])
            assert out["decision"]["threshold"] == t
            top = [p["label"] for p in out["predictions"] if p["decided"]]
            assert top == out["decision"]["labels"][: len(top)]  # the decided labels come first, all of them listed
        else:
            assert out["decision"]["labels"] == [out["predictions"][0]["label"]]


def test_unseen_tree_is_abstained_on(zoo, experts_dir, tmp_path):
    # experts for every tree but vit-fmnist-b: its models have a ViT expert of the same family, but are not its tree
    for e in load_experts(experts_dir):
        if e.name != "vit-fmnist-b":
            shutil.copytree(experts_dir / e.name, tmp_path / e.name)
    for m in open_zoo(zoo).select(tree="vit-fmnist-b"):
        out = predict(m.spec, experts_dir=tmp_path)
        assert out["method"] == "abstain" and out["expert"] is None and out["predictions"] == []
        assert "no known tree" in out["routing"]["reason"]


def test_zero_shot_through_predict(zoo, experts_dir, capsys):
    m = open_zoo(zoo).select(tree="unet-shapes", split="test_holdout")[0]
    rc = main(["predict", m.spec, "--experts", str(experts_dir), "--labels", f"{m.labels[0]},zebra,pizza", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["method"] == "zero-shot"
    assert sorted(p["label"] for p in out["predictions"]) == sorted([m.labels[0], "zebra", "pizza"])
    # a softmax over the labels asked, at the temperature fitted on the held-out validation models
    assert sum(p["probability"] for p in out["predictions"]) == pytest.approx(1.0, abs=1e-3)
    assert "held-out validation" in out["calibration"]["note"]


def test_predict_from_hub_reads_only_the_layer(zoo, experts_dir, tmp_path):
    m = open_zoo(zoo).select(tree="unet-shapes", split="test")[0]
    hub = FakeHub(tmp_path / "hub")
    weights = next(p for p in Path(m.spec).iterdir() if p.suffix == ".safetensors")
    hub.add_repo("someone/unet-lora", {p.name: p for p in Path(m.spec).iterdir()})
    with hub.serving():
        out = predict("someone/unet-lora", experts_dir=experts_dir)
    assert out["expert"]["name"] == "unet-shapes"
    exp = Expert.load(experts_dir / "unet-shapes")
    size = weights.stat().st_size
    # the layer is the product of two rank-4 factors: a few kB of an ~87 kB file (plus header and card)
    layer_bytes = 4 * 4 * sum(exp.shape)
    assert out["bytes_read"] < size / 3, (out["bytes_read"], size)
    assert out["bytes_read"] >= layer_bytes


def test_bench_small_budget(zoo, tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = main(["bench", "--zoo", str(zoo), "--out", str(out), "--max-layers", "1", *FAST])
    assert rc == 0
    res = json.loads(out.read_text())
    assert set(res) >= {"trees", "zero_shot", "routing", "params", "train_seconds", "predict_models_per_s"}
    for row in res["trees"].values():
        assert {"probex", "mixed", "dense", "statnn", "probex_gram"} <= set(row)
    assert res["trees"]["vit-fmnist-a"]["mixed"] is not None  # the two ViT trees share a layer shape
    assert res["routing"]["accuracy"] == 1.0 and res["routing"]["abstain_unseen"] == 1.0
    assert set(res["zero_shot"]) >= {"top1", "chance", "in_dist_top1", "bilinear_top1", "bilinear_val_top1"}
    for row in res["trees"].values():
        assert ("bilinear" in row) == (row["head"] == "text")
        assert row["regularisation"] == HEAD_DEFAULTS[row["head"]]  # neither was set: each head trained with its own
    assert out.with_suffix(".png").stat().st_size > 1000
    # calibration per tree and method: ECE (15 bins) and Brier on test, before and after, with reliability points
    for row in res["trees"].values():
        methods = {"probex", "probex_gram", "dense"} | ({"bilinear"} if row["head"] == "text" else set())
        assert methods <= set(row["calibration"])
        for c in row["calibration"].values():
            assert 0 <= c["ece_before"] <= 1 and 0 <= c["ece_after"] <= 1 and c["n"] > 0
            assert 0 <= c["brier_before"] <= (2 if row["head"] == "text" else 1)
            assert all(0 <= p["confidence"] <= 1 and p["n"] > 0 for p in c["reliability_after"])
        # the expert's own row uses the calibration it was trained with (fitted on validation)
        assert row["calibration"]["probex"]["method"] in ("none", "temperature", "platt", "platt-per-label")
    assert res["zero_shot"]["calibration"]["n"] == res["zero_shot"]["n_models"]
    printed = capsys.readouterr().out
    assert "calibration on test (ECE 15 bins, Brier" in printed and "vit-fmnist-a" in printed
    # the expert-free readout has its own rows on the generative tree, beside ProbeX and dense
    text_trees = [row for row in res["trees"].values() if row["head"] == "text"]
    assert text_trees and all(row["readout"] is not None for row in text_trees)
    ro = text_trees[0]["readout"]
    assert ro["n_test"] > 0 and ro["n_test_holdout"] > 0
    for key in (
        "in_dist_top1",
        "zero_shot_top1",
        "all_top1",
        "abstain_rate",
        "combined_in_dist_top1",
        "combined_zero_shot_top1",
        "expert_in_dist_top1_same_labels",
        "expert_zero_shot_top1_same_labels",
    ):
        assert 0.0 <= ro[key] <= 1.0  # quality is tested in test_readout.py; the `test` zoo's LoRAs take 3 steps


def _fail(argv, capsys, match):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert match in err and err.count("\n") == 1, err


def test_bad_input_exits_2(zoo, experts_dir, tmp_path, capsys):
    m = open_zoo(zoo).select(tree="vit-fmnist-a", split="test")[0]
    # expert folder with a missing file
    broken = tmp_path / "broken"
    shutil.copytree(experts_dir / "vit-fmnist-a", broken)
    (broken / "expert.json").unlink()
    _fail(["predict", m.spec, "--experts", str(broken)], capsys, "expert.json is missing")
    # mismatched pair of files
    mixed = tmp_path / "mixed"
    shutil.copytree(experts_dir / "vit-fmnist-a", mixed)
    shutil.copy(experts_dir / "vit-fmnist-b" / "expert.safetensors", mixed / "expert.safetensors")
    _fail(["predict", m.spec, "--experts", str(mixed)], capsys, "do not belong together")
    # a model without the layer the only expert given reads; a model where that layer has another shape
    u = open_zoo(zoo).select(tree="minilm-fortunes")[0]
    _fail(["predict", u.spec, "--experts", str(experts_dir / "vit-fmnist-a")], capsys, "no module")
    exp = Expert.load(experts_dir / "vit-fmnist-a")
    odd = tmp_path / "odd"
    shutil.copytree(m.spec, odd)
    tensors = load_file(odd / "model.safetensors")
    key = next(
        k
        for k in tensors
        if k.startswith(exp.layer.replace("vit.layers.", "vit.encoder.layer.").rsplit(".", 2)[0])
        and k.endswith(
            exp.layer.rsplit(".", 1)[1].replace("v_proj", "value").replace("k_proj", "key").replace("q_proj", "query")
            + ".weight"
        )
    )
    tensors[key] = tensors[key][:, :-1].contiguous()
    save_file(tensors, odd / "model.safetensors", metadata={"format": "pt"})
    _fail(["predict", str(odd), "--experts", str(experts_dir / "vit-fmnist-a")], capsys, "expects")
    # the bilinear probe on a multi-label tree
    _fail(
        [
            "train",
            "--zoo",
            str(zoo),
            "--tree",
            "vit-fmnist-a",
            "--kind",
            "bilinear",
            "--out",
            str(tmp_path / "bl"),
            *FAST,
        ],
        capsys,
        "needs a text-aligned tree",
    )
    assert not (tmp_path / "bl").exists()
    # empty label list; zero-shot labels for a classification expert
    _fail(["predict", m.spec, "--experts", str(experts_dir), "--labels", ""], capsys, "label")
    _fail(["predict", m.spec, "--experts", str(experts_dir), "--labels", "dog,cat"], capsys, "classification head")
    # a zoo with one tree only
    one = tmp_path / "one"
    one.mkdir()
    rows = [json.loads(x) for x in (zoo / "manifest.jsonl").read_text().splitlines() if x.strip()]
    rows = [dict(r, path=str(zoo / r["path"])) for r in rows if r["tree"] == "vit-fmnist-a"]
    (one / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    _fail(["bench", "--zoo", str(one), "--out", str(tmp_path / "b.json"), *FAST], capsys, "one tree only")
    assert not (tmp_path / "b.json").exists()
    _fail(
        ["bench", "--zoo", str(zoo), "--out", str(tmp_path / "b.json"), "--max-layers", "-1", *FAST],
        capsys,
        "--max-layers -1",
    )
    assert not (tmp_path / "b.json").exists()


def test_unseen_labels_go_to_the_readout_unless_it_abstains(zoo, experts_dir, monkeypatch):
    """Labels the generative expert never trained on are read by the readout (better on held-out categories,
    docs/benchmarks.md); its own labels stay with the expert; an abstaining readout hands back to the expert, unless
    the expert's own zero-shot is near chance, where the readout's ranking is the better guess."""
    import hfprobe.experts.readout as readout_mod

    m = open_zoo(zoo).select(tree="unet-shapes", split="test_holdout")[0]
    own = Expert.load(experts_dir / "unet-shapes").config["labels"][:3]
    out = predict(m.spec, experts_dir=experts_dir, labels=own)
    assert out["method"] == "zero-shot" and "readout" not in out
    unseen = [m.labels[0], "zebra", "pizza"]
    out = predict(m.spec, experts_dir=experts_dir, labels=unseen)
    assert out["expert"]["name"] == "unet-shapes" and "readout" in out
    near = Expert.load(experts_dir / "unet-shapes").config["metrics"]["zero_shot_near_chance"]
    assert out["method"] == ("zero-shot" if out["readout"]["abstained"] and not near else "readout")

    def confident(view, labels, **kw):
        return {
            "method": "readout",
            "abstained": False,
            "reason": "",
            "margin": 3.0,
            "predictions": [{"label": lab, "score": 1.0 - i, "method": "readout"} for i, lab in enumerate(labels)],
        }

    monkeypatch.setattr(readout_mod, "readout_predict", confident)
    out = predict(m.spec, experts_dir=experts_dir, labels=unseen)
    assert out["method"] == "readout" and [p["label"] for p in out["predictions"]] == unseen
    assert out["decision"]["labels"] == [unseen[0]] and out["near_chance"] is False

    def unsure(view, labels, **kw):
        return dict(confident(view, labels), abstained=True, reason="top label does not stand out")

    monkeypatch.setattr(readout_mod, "readout_predict", unsure)
    expert = Expert.load(experts_dir / "unet-shapes")
    for near, method in ((True, "readout"), (False, "zero-shot")):
        expert.config["metrics"]["zero_shot_near_chance"] = near
        out = predict(m.spec, experts=[expert], labels=unseen)
        assert out["method"] == method and out["readout"]["abstained"]
        if method == "readout":
            assert "below the abstain threshold" in out["calibration"]["note"]


def test_bilinear_expert_trains_and_predicts(zoo, tmp_path, capsys):
    out = tmp_path / "bilinear"
    assert (
        main(["train", "--zoo", str(zoo), "--tree", "unet-shapes", "--kind", "bilinear", "--out", str(out), *FAST]) == 0
    )
    exp = Expert.load(out)
    assert exp.config["train"]["kind"] == "bilinear" and exp.config["head"] == "text"
    # the sizes it reports are the ones it has: no r_V, r_T or views (those are ProbeX's)
    assert set(exp.config["sizes"]) == {"r_U", "params"} and exp.config["sizes"]["params"] == n_params(exp.model)
    m = open_zoo(zoo).select(tree="unet-shapes", split="test")[0]
    res = predict(m.spec, experts=[out], top_k=3)
    assert res["expert"]["kind"] == "bilinear" and res["method"] == "bilinear-text" and len(res["predictions"]) == 3


def test_bilinear_candidates_are_the_layers_that_read_the_caption(zoo):
    from hfprobe.experts.data import candidate_layers

    z = open_zoo(zoo)
    names = candidate_layers(z, "unet-shapes", limit=6, kind="bilinear")
    kinds = [n.rsplit(".", 1)[1] for n in names]
    assert names and all(".attn2." in n for n in names)
    assert kinds == sorted(kinds, key=lambda k: k != "to_v") and kinds[0] == "to_v" and set(kinds) <= {"to_v", "to_k"}
    assert len(names) == 6 and len(set(names)) == 6
    # no cross-attention: the ordinary candidates
    assert candidate_layers(z, "vit-fmnist-a", limit=4, kind="bilinear") == candidate_layers(z, "vit-fmnist-a", limit=4)


def test_kind_auto_keeps_the_better_probe_on_text_trees(zoo, tmp_path, capsys):
    out = tmp_path / "auto"
    assert main(["train", "--zoo", str(zoo), "--all-trees", "--kind", "auto", "--out", str(out), "--json", *FAST]) == 0
    rows = {r["tree"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    for e in load_experts(out):
        kind, metrics = e.config["train"]["kind"], e.config["metrics"]
        assert rows[e.name]["kind"] == kind
        if e.config["head"] == "text":
            sweep = metrics["kind_sweep"]
            assert set(sweep) == {"probex", "bilinear"} and kind == max(sweep, key=lambda k: (sweep[k], k == "probex"))
            assert sweep[kind] == pytest.approx(metrics["layer_sweep"][e.layer])
        else:
            assert kind == "probex" and "kind_sweep" not in metrics


def test_predict_prints_calibrated_probabilities_and_the_decision(zoo, experts_dir, capsys):
    m = open_zoo(zoo).select(tree="vit-fmnist-a", split="test")[0]
    assert main(["predict", m.spec, "--experts", str(experts_dir), "--top-k", "10"]) == 0
    text = capsys.readouterr().out
    exp = Expert.load(experts_dir / "vit-fmnist-a")
    t = exp.config["calibration"]["threshold"]
    assert "scores:  probabilities, per-label probability" in text and f"p >= {t:.2f}" in text
    assert "p=" in text and ("decided" in text or "below threshold" in text)
    assert ("warning: expert vit-fmnist-a scores" in text) == exp.config["metrics"]["near_chance"]


def test_a_loha_of_the_same_delta_predicts_as_the_lora_and_says_it_is_extrapolated(zoo, experts_dir, tmp_path):
    """A LyCORIS LoHa whose second Hadamard factor is all ones has exactly the LoRA's ΔW: predict reads it alike,
    and says the expert's probabilities were fitted on other kinds of layer."""
    m = open_zoo(zoo).select(tree="unet-shapes", split="test")[0]
    from hfprobe.formats import open_weights

    view = open_weights(m.spec)
    loha = {}
    for name, mod in view.modules.items():
        kohya = "lora_unet_" + name.removeprefix("unet.").replace(".", "_")
        b, a = view.tensor(mod.keys["B"]).float(), view.tensor(mod.keys["A"]).float()
        loha[f"{kohya}.hada_w1_a"], loha[f"{kohya}.hada_w1_b"] = b.contiguous(), a.contiguous()
        loha[f"{kohya}.hada_w2_a"], loha[f"{kohya}.hada_w2_b"] = torch.ones(b.shape[0], 1), torch.ones(1, a.shape[1])
        loha[f"{kohya}.alpha"] = torch.tensor(float(mod.alpha))
    view.close()
    save_file(loha, str(tmp_path / "loha.safetensors"))
    lora = predict(m.spec, experts=str(experts_dir))
    same = predict(str(tmp_path / "loha.safetensors"), experts=str(experts_dir))
    assert same["expert"]["name"] == lora["expert"]["name"] and same["method"] == lora["method"]
    assert [p["label"] for p in same["predictions"]] == [p["label"] for p in lora["predictions"]]
    assert same["calibration"]["note"].endswith("this layer is a loha, not what the expert saw: extrapolated")
    assert "extrapolated" not in lora["calibration"]["note"]

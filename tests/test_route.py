"""Routing to tree experts, abstaining on an unseen tree, and clustering models into trees."""

from __future__ import annotations

import pytest
import torch

from hfprobe.errors import LayerNotFoundError, UsageError
from hfprobe.experts.fit import train_expert
from hfprobe.experts.probes import TrainConfig
from hfprobe.experts.route import Router, cluster_trees
from tests.probex_synth import multilabel_tree

torch.set_num_threads(1)
LAYER = "blocks.1.attn.k"


@pytest.fixture(scope="session")
def trees():
    # three known trees (different roots), one unseen tree; 40 models each: 24 train, 8 val, 8 test
    return {f"root-{s}": multilabel_tree(40, seed=s, strength=0.1, noise=0.05) for s in (0, 1, 2, 7)}


@pytest.fixture(scope="session")
def router(trees):
    experts = []
    for name in ("root-0", "root-1", "root-2"):
        X, Y = trees[name]
        cfg = TrainConfig(r_U=4, r_V=4, r_T=4, max_epochs=2, patience=2)
        experts.append(
            train_expert(
                X[:24],
                Y[:24],
                X[24:32],
                Y[24:32],
                labels=list("abcdef"),
                cfg=cfg,
                root=name,
                family="synth",
                layer=LAYER,
                progress=False,
            )
        )
    return Router(experts)


def test_every_test_model_goes_to_its_tree(router, trees):
    for name in ("root-0", "root-1", "root-2"):
        for x in trees[name][0][32:]:
            d = router.route(lambda layer, x=x: x, family="synth")
            assert not d["abstain"] and d["expert"] == name, d


def test_unseen_tree_abstains_and_says_why(router, trees):
    for x in trees["root-7"][0]:
        d = router.route(lambda layer, x=x: x, family="synth")
        assert d["abstain"] and d["expert"] is None
        assert "belongs to no known tree" in d["reason"] and d["distance"] > d["threshold"]


def test_family_and_layer_filters(router, trees):
    x = trees["root-0"][0][35]
    d = router.route(lambda layer: x, family="llama")
    assert d["abstain"] and "no expert for family 'llama'" in d["reason"]

    def missing(layer):
        raise LayerNotFoundError(f"model: no layer {layer}")

    d = router.route(missing, family="synth")
    assert d["abstain"] and "lacks the layer" in d["reason"]
    d = router.route(lambda layer: torch.zeros(5, 5), family="synth")
    assert d["abstain"]
    # a declared root that disagrees with the weights is reported, the weights decide
    d = router.route(lambda layer: x, family="synth", root="root-1")
    assert d["expert"] == "root-0" and "inspect suggested root root-1" in d["reason"]


def test_cluster_trees_recovers_truth(trees):
    layers, truth = [], []
    for name in ("root-0", "root-1", "root-2"):
        layers += list(trees[name][0][:15])
        truth += [name] * 15
    out = cluster_trees(layers, truth=truth)
    assert out["n_trees"] == 3 and out["ari"] == pytest.approx(1.0)
    one = cluster_trees(layers[:15], truth=truth[:15])
    assert one["n_trees"] == 1
    with pytest.raises(UsageError, match="only 15 models"):  # not a quiet answer of 15
        cluster_trees(layers[:15], n_trees=99)

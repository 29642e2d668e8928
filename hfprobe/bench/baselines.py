"""The baselines the benchmark compares ProbeX with (StatNN, one mixed ProbeX over several trees), the
multi-label chance level, prediction throughput, and the routing checks (accuracy, abstaining on a
tree left out).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..experts.data import (
    HOLDOUT_SPLITS,
)
from ..experts.probes import TrainConfig
from ..experts.train import predict_logits, train_probe

QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


def weight_stats(X: torch.Tensor) -> np.ndarray:
    """StatNN features of layers X [n, d_H, d_W]: mean, variance, quantiles, mean |w|, RMS (per model).

    Computed a few models at a time (about 16M numbers), so a float64 copy of a whole Model-J split never exists.
    """
    step = max(1, (1 << 24) // max(1, X[0].numel()))
    if len(X) > step:
        return np.concatenate([weight_stats(X[i : i + step]) for i in range(0, len(X), step)])
    flat = X.flatten(1).double()
    q = torch.quantile(flat, torch.tensor(QUANTILES, dtype=torch.float64), dim=1).T
    feats = [
        flat.mean(1, keepdim=True),
        flat.var(1, keepdim=True),
        q,
        flat.abs().mean(1, keepdim=True),
        flat.pow(2).mean(1, keepdim=True).sqrt(),
    ]
    return torch.cat(feats, 1).numpy()


def statnn(Ftr, Ytr, Fte, Yte, head: str, seed: int = 0) -> tuple[float, int]:
    """Gradient boosting on weight statistics. Returns (test figure, number of tree nodes)."""
    from sklearn.ensemble import GradientBoostingClassifier

    def gb():
        return GradientBoostingClassifier(n_estimators=100, max_depth=3, learning_rate=0.1, random_state=seed)

    if head == "multilabel":
        preds, nodes = [], 0
        for c in range(Ytr.shape[1]):
            y = Ytr[:, c].numpy().astype(int)
            if len(set(y)) < 2:  # a class always (or never) present in training: predict that
                preds.append(np.full(len(Fte), y[0]))
                continue
            m = gb().fit(Ftr, y)
            preds.append(m.predict(Fte))
            nodes += sum(t.tree_.node_count for t in m.estimators_.ravel())
        acc = float((np.stack(preds, 1) == Yte.numpy()).mean())
        return acc, nodes
    m = gb().fit(Ftr, Ytr.numpy())
    return float((m.predict(Fte) == Yte.numpy()).mean()), sum(t.tree_.node_count for t in m.estimators_.ravel())


def models_per_second(model, X: torch.Tensor, text_emb=None, n: int = 50) -> float:
    """Throughput of one-model-at-a-time prediction with the layer already in memory."""
    xs = [X[i % len(X)].unsqueeze(0) for i in range(n)]
    model.eval()
    with torch.no_grad():
        t0 = time.perf_counter()
        for x in xs:
            model(x, text_emb)
        return n / (time.perf_counter() - t0)


def _chance(Ytr, Yte, head, n_labels):
    """Multi-label: test accuracy of the best constant guess per label learned on train (the paper's
    "about 0.5"); text: 1 / number of classes."""
    if head == "multilabel":
        guess = (Ytr.float().mean(0) > 0.5).float()
        return float((guess == Yte).float().mean())
    return 1.0 / n_labels


def _mixed(data, experts, out_trees, cfg, progress):
    """One ProbeX over every multi-label tree sharing a layer shape; label space = union of their labels."""
    groups: dict = {}
    for tree, exp in experts.items():
        if data[tree].head == "multilabel":
            groups.setdefault((exp.layer.split(".")[0], exp.shape), []).append(tree)
    for trees in groups.values():
        if len(trees) < 2:
            continue
        vocab = sorted({c for t in trees for c in data[t].labels})
        layer = {t: experts[t].layer for t in trees}  # each tree contributes its expert's layer

        def stack(split, trees=trees, vocab=vocab, layer=layer):
            xs, ys, owner = [], [], []
            for t in trees:
                d = data[t]
                cols = [vocab.index(c) for c in d.labels]
                Y = torch.zeros(len(d.Y[split]), len(vocab))
                Y[:, cols] = d.Y[split]
                xs.append(d.X[layer[t]][split])
                ys.append(Y)
                owner += [t] * len(Y)
            return torch.cat(xs), torch.cat(ys), owner

        Xtr, Ytr, _ = stack("train")
        Xva, Yva, _ = stack("val")
        res = train_probe(
            Xtr,
            Ytr,
            Xva,
            Yva,
            TrainConfig.from_dict({**cfg.to_dict(), "head": "multilabel"}),
            progress=progress,
            desc="mixed",
        )
        for t in trees:
            d = data[t]
            cols = [vocab.index(c) for c in d.labels]
            logits = predict_logits(res.model, d.X[layer[t]]["test"])[:, cols]
            out_trees[t]["mixed"] = float(((logits > 0).float() == d.Y["test"]).float().mean())
            out_trees[t]["mixed_trees"] = trees


def _getter(d, split: str, i: int):
    """get_layer for model i of a split, from the layers already in memory (absent layer: LayerNotFoundError)."""
    from ..errors import LayerNotFoundError

    def get(name):
        if name not in d.X or split not in d.X[name]:
            raise LayerNotFoundError(f"{d.tree}: layer {name} was not read")
        return d.X[name][split][i]

    return get


def _routing(data, experts) -> dict:
    """Routing accuracy on test models, and leave-one-tree-out abstain rates."""
    from ..experts.route import Router

    router = Router(list(experts.values()))
    hits = total = 0
    for tree, d in data.items():
        for split in ("test",) + HOLDOUT_SPLITS:
            for i in range(len(d.ids.get(split, []))):
                hits += router.route(_getter(d, split, i), family=d.family)["expert"] == tree
                total += 1
    unseen, same_family = {}, {}
    for tree, d in data.items():
        others = [e for t, e in experts.items() if t != tree]
        router = Router(others)
        decs = [
            router.route(_getter(d, split, i), family=d.family) for split in d.ids for i in range(len(d.ids[split]))
        ]
        unseen[tree] = float(np.mean([dec["abstain"] for dec in decs]))
        if any(e.config.get("family") == d.family for e in others):
            same_family[tree] = unseen[tree]
    return {
        "accuracy": hits / max(total, 1),
        "n": total,
        "abstain_unseen": float(np.mean(list(unseen.values()))),
        "abstain_unseen_by_tree": unseen,
        "abstain_unseen_same_family": float(np.mean(list(same_family.values()))) if same_family else None,
        "same_family_trees": sorted(same_family),
    }

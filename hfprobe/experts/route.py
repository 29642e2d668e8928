"""Which tree, hence which expert: routing a model, and finding trees in an unlabelled pile of models.

Routing (the hard mixture of experts): the family and declared root from `inspect` narrow the candidate
experts to one family; inside it the model goes to the tree whose centroid (the mean probed layer of the
tree's training models, stored in each expert) is nearest. A model farther from the nearest centroid than
that tree's own spread is NOT forced into it: the router abstains and says why.

Distances are RMS distances (Frobenius norm / sqrt(number of entries)), so they read the same on
layers of any size.

    >>> router = Router(experts)                                      # doctest: +SKIP
    >>> router.route(lambda name: view.layer(name), family="vit")     # doctest: +SKIP
    {'expert': 'tiny-vit-a', 'abstain': False, 'distance': 0.012, 'threshold': 0.020, ...}
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import LayerNotFoundError
from ..tree.registry import tree_root

if TYPE_CHECKING:  # the router narrows by family before any layer is read; the distances are tensor math on them
    import torch

SPREAD_QUANTILE = 0.95  # the 95th-percentile distance of the tree's training/validation models ...


# ... times this margin. Not the farthest model: a few high-learning-rate fine-tunes sit 1.3-2x beyond the
# 95th percentile, and 2x the farthest one reached into the next ViT tree on the mini zoo (leave-one-tree-out
# abstention fell to 67%). Measured there (mini, layer 0 k / the chosen LoRA layers): a tree's own test
# models lie within 1.1x this spread, LoRAs of held-out categories within 1.53x (their deltas point
# elsewhere); models of another ViT tree at 2.6x or more. 2.0 sits between the two.
SPREAD_SLACK = 2.0


def rms_distance(X: torch.Tensor, centroid: torch.Tensor) -> torch.Tensor:
    """RMS distance of each layer in X [B, d_H, d_W] (or one [d_H, d_W]) to a centroid [d_H, d_W]."""
    if X.dim() == 2:
        X = X.unsqueeze(0)
    return (X.float() - centroid).flatten(1).pow(2).mean(1).sqrt()


def _distance(X, expert) -> float:
    """rms_distance of one layer to an expert's centroid; in numpy (float64, no torch) for a numpy layer."""
    if isinstance(X, np.ndarray):
        return float(np.sqrt(np.mean(np.square(X.astype(np.float64) - expert.arrays["model.mean"]))))
    return float(rms_distance(X, expert.centroid)[0])


def spread_stats(
    X: torch.Tensor, centroid: torch.Tensor, *, quantile: float = SPREAD_QUANTILE, slack: float = SPREAD_SLACK
) -> dict:
    """The tree's spread from its own models X; stored in expert.json under "routing"."""
    d = rms_distance(X, centroid).numpy()
    spread = float(np.quantile(d, quantile))
    return {
        "threshold": spread * slack,
        "spread": spread,
        "quantile": quantile,
        "slack": slack,
        "median": float(np.median(d)),
        "n": int(len(d)),
        "metric": "rms",
    }


class Router:
    """Routes a model to one of `experts` (hfprobe.experts.Expert), or abstains."""

    def __init__(self, experts):
        self.experts = list(experts)

    def route(self, get_layer, *, family: str | None = None, root: str | None = None) -> dict:
        """Decide from the model's layers (`get_layer(name) -> tensor [d_H, d_W]`) and inspect's family/root.

        Returns {expert, root, abstain, reason, distance, threshold, candidates[{expert, root, distance, threshold}]}.
        """
        out = {"expert": None, "root": None, "abstain": True, "distance": None, "threshold": None, "candidates": []}
        pool = [e for e in self.experts if family is None or e.config.get("family") in (None, family)]
        if not self.experts:
            return dict(out, reason="no experts are installed; train one with `hfprobe train`")
        if not pool:
            fams = sorted({str(e.config.get("family")) for e in self.experts})
            return dict(out, reason=f"no expert for family {family!r} (experts cover: {', '.join(fams)})")
        layers, skipped = {}, []
        for exp in pool:
            if exp.layer not in layers:
                try:
                    layers[exp.layer] = get_layer(exp.layer)
                except LayerNotFoundError:
                    layers[exp.layer] = None
            X = layers[exp.layer]
            if X is None or tuple(X.shape[-2:]) != exp.shape:
                skipped.append(exp.name)
                continue
            d = _distance(X, exp)
            out["candidates"].append(
                {
                    "expert": exp.name,
                    "root": exp.config["root"],
                    "distance": d,
                    "threshold": float(exp.config["routing"]["threshold"]),
                }
            )
        if not out["candidates"]:
            return dict(
                out,
                reason=f"the model lacks the layer (or its shape) every candidate expert reads ({', '.join(skipped)})",
            )
        out["candidates"].sort(key=lambda c: c["distance"])
        best = out["candidates"][0]
        out.update(distance=best["distance"], threshold=best["threshold"])
        if not math.isfinite(best["distance"]) or best["distance"] > best["threshold"]:
            ratio = best["distance"] / max(best["threshold"], 1e-30)
            return dict(
                out,
                reason=(
                    f"nearest tree {best['root']} is at distance {best['distance']:.4g}, {ratio:.1f}x its spread "
                    f"threshold {best['threshold']:.4g}: the model belongs to no known tree"
                ),
            )
        note = ""
        if root and tree_root(root) != tree_root(best["root"]):  # (a root's instruct tune is in its tree)
            note = f"; inspect suggested root {root}, but the weights are nearest to {best['root']}"
        return dict(
            out,
            expert=best["expert"],
            root=best["root"],
            abstain=False,
            reason=f"nearest tree centroid ({best['distance']:.4g} <= spread threshold {best['threshold']:.4g}){note}",
        )


def _as_matrix(layers, max_dim: int = 4096, seed: int = 0) -> np.ndarray:
    import torch

    X = torch.stack([torch.as_tensor(x).float().flatten() for x in layers]).numpy().astype(np.float64)
    if X.shape[1] > max_dim:  # a Gaussian random projection keeps pairwise distances (Johnson-Lindenstrauss)
        rng = np.random.default_rng(seed)
        X = X @ (rng.standard_normal((X.shape[1], max_dim)) / math.sqrt(max_dim))
    return X


def cluster_trees(layers, *, n_trees: int | None = None, truth=None) -> dict:
    """Cluster models of one family into trees from one layer's weights (Ward linkage).

    With n_trees=None the cut is at the largest jump in merge height (the gap between within-tree and
    between-tree distances). `truth` (tree ids, optional) adds the adjusted Rand index.

    >>> cluster_trees([a1, a2, b1, b2], truth=["a", "a", "b", "b"])["ari"]   # doctest: +SKIP
    1.0
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    X = _as_matrix(layers)
    n = len(X)
    if n_trees is not None and n_trees > n:
        from ..errors import UsageError

        raise UsageError(f"--n-trees {n_trees}: there are only {n} models to cluster; ask for at most {n}")
    if n < 2:
        labels = np.ones(n, dtype=int)
        heights = np.array([])
    else:
        Z = linkage(X, method="ward")
        heights = Z[:, 2]
        if n_trees is None:
            # merge heights ascend; the largest ratio between consecutive heights is the cut
            h = np.maximum(heights, 1e-12)
            ratios = h[1:] / h[:-1]
            if len(ratios) == 0 or ratios.max() < 2.0:
                n_trees = 1
            else:
                n_trees = n - 1 - int(np.argmax(ratios))
        labels = fcluster(Z, t=n_trees, criterion="maxclust")
    out = {"n_trees": int(len(set(labels.tolist()))), "labels": [int(x) for x in labels]}
    if truth is not None:
        from sklearn.metrics import adjusted_rand_score

        out["ari"] = float(adjusted_rand_score(list(truth), labels))
    return out


def tree_layers(zoo) -> dict[str, set]:
    """Per tree, the 2-D layers its first model has (models of one tree share an architecture)."""
    from ..formats import open_weights

    out = {}
    for tree, models in zoo.trees().items():
        m = models[0]
        with open_weights(m.spec, filename=m.filename) as view:
            out[tree] = {
                (n, (mod.d_out, mod.d_in)) for n, mod in view.modules.items() if mod.d_in > 1 and mod.d_out > 1
            }
    return out


def pick_layer(per_tree: dict[str, set]) -> tuple:
    """The (layer, shape) shared by the most trees (one family), ties broken by name."""
    from ..errors import UsageError

    counts: dict[str, int] = {}
    for names in per_tree.values():
        for n in names:
            counts[n] = counts.get(n, 0) + 1
    if not counts:
        raise UsageError("the models have no 2-D layer to compare; pass --layer")
    from .data import ATTENTION_PROJECTIONS

    # attention q/k/v first: classifier heads are re-initialised per fine-tune and say nothing of the tree
    return min(counts, key=lambda n: (-counts[n], not n[0].endswith(ATTENTION_PROJECTIONS), n[0]))


def cluster_zoo(zoo, *, layer: str | None = None, n_trees: int | None = None, split: str | None = None) -> dict:
    """Cluster a zoo's (or a folder's) models into trees from one layer: `cluster_trees` on the layer the
    most trees share (or `layer`), restricted to the family that has it. Adds layer, models, ids, truth.

    >>> cluster_zoo(open_zoo("zoo-dir"))["ari"]        # doctest: +SKIP
    1.0
    """
    from ..errors import ZooError

    per_tree = tree_layers(zoo)
    if layer:
        shapes = sorted({shape for names in per_tree.values() for n, shape in names if n == layer})
        if not shapes:
            raise ZooError(f"{zoo.path}: no model has layer {layer}; see `hfprobe inspect` for layer names")
        key = (layer, max(shapes, key=lambda sh: sum((layer, sh) in v for v in per_tree.values())))
    else:
        key = pick_layer(per_tree)
    layer = key[0]
    trees = [t for t, names in per_tree.items() if key in names]  # the family that has this layer and shape
    items = [i for t in sorted(trees) for i in zoo.read(layer, tree=t, split=split)]
    if len(items) < 2:
        raise ZooError(f"{zoo.path}: fewer than 2 models with layer {layer}; nothing to cluster")
    shapes = {tuple(i.matrix.shape) for i in items}
    if len(shapes) > 1:
        raise ZooError(
            f"{zoo.path}: layer {layer} has shapes {sorted(shapes)}: several families; cluster one family at a time"
        )
    known = all(i.tree not in (None, "default") for i in items)
    truth = [i.tree for i in items] if known else None
    res = cluster_trees([i.matrix for i in items], n_trees=n_trees, truth=truth)
    res.update(layer=layer, models=len(items), ids=[i.id for i in items], truth=truth)
    return res

"""One tree of a zoo as tensors: which layers are worth probing (`candidate_layers`), every model's
candidate layers read in one pass (`load_tree`), labels encoded per head, and the held-out splits.

    >>> data = load_tree(zoo, "vit-fmnist-a", candidate_layers(zoo, "vit-fmnist-a"))   # doctest: +SKIP
    >>> data.head, data.X[layer]["train"].shape                                       # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import progress_bar
from .train import ZeroShotVal

# the q/k/v projection names of transformers, diffusers and PEFT layouts (the paper's best layers are among them)
ATTENTION_PROJECTIONS = (
    "query",
    "key",
    "value",
    "to_q",
    "to_k",
    "to_v",
    "q_proj",
    "k_proj",
    "v_proj",
    ".q",
    ".k",
    ".v",
)


HOLDOUT_SPLITS = ("val_holdout", "test_holdout")


@dataclass
class TreeData:
    """One tree's models as tensors. X[layer][split] is [n, d_H, d_W]; Y[split] multi-hot (multilabel)
    or indices into `labels` (text; holdout splits index into `holdout_labels`)."""

    tree: str
    root: str | None
    head: str
    labels: list
    holdout_labels: list
    X: dict
    Y: dict
    ids: dict
    family: str | None = None


def candidate_layers(zoo, tree: str, *, limit: int = 8, kind: str = "probex") -> list[str]:
    """Layers worth probing in a tree: attention q/k/v matrices (the paper's best layers are there),
    spread over depth and projections up to `limit` (`_spread`; 0: all of them, the paper's full sweep);
    any 2-D module if the model has no attention names.

    kind="bilinear": the layers that read the caption, cross-attention values then keys, spread over depth
    (values first because the readout found the caption in them and not in the keys;
    docs/experiments/2026-11-30-mini-zoo.md).
    A tree without cross-attention gets the ordinary candidates.
    """
    from ..formats import open_weights

    first = zoo.select(tree=tree)[0]
    with open_weights(first.spec, filename=first.filename) as view:
        mats = [n for n, m in view.modules.items() if m.kind != "embedding" and m.d_out > 1 and m.d_in > 1]
    attn = [
        n
        for n in mats
        if n.endswith(ATTENTION_PROJECTIONS) or any(f".{a}" in n for a in ("attn1", "attn2", "attention"))
    ]
    attn = [n for n in attn if n.endswith(ATTENTION_PROJECTIONS)] or mats
    if limit < 0:
        raise ValueError(f"limit must be 0 (every candidate) or positive, not {limit}")
    limit = limit or len(attn)
    # Cross-attention first: in a text-conditioned UNet it is where the caption enters the weights (the
    # paper's best SD layer is there, and so is ours on the mini zoo); the rest fill any places left.
    cross = [n for n in attn if ".attn2." in n]
    reads_text = [n for suffix in ("to_v", "to_k") for n in cross if n.endswith(suffix)]
    if kind == "bilinear" and reads_text:
        values = [n for n in reads_text if n.endswith("to_v")]
        picked = _thin(values, limit)
        return picked + _thin([n for n in reads_text if n not in values], limit - len(picked))
    rest = [n for n in attn if n not in cross]
    picked = _spread(cross, limit)
    return picked + _spread(rest, limit - len(picked))


def _spread(names: list[str], k: int) -> list[str]:
    """k layers spread over depth and over the projections (q, k, v) alike.

    Layers are grouped by block (the name up to its last part). Pass r takes from block b its
    ((b + r) mod n)-th projection, so one pass already rotates q, k, v down the depth; each pass is
    thinned evenly over the blocks, and the next pass fills what is left. (Thinning the flat list with
    a stride of 3 would pick the same projection in every block.)
    """
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(n.rsplit(".", 1)[0], []).append(n)
    blocks = list(groups.values())
    picked: list[str] = []
    for r in range(max(map(len, blocks), default=0)):
        picked += _thin([g[(b + r) % len(g)] for b, g in enumerate(blocks) if r < len(g)], k - len(picked))
    return picked


def _thin(names: list[str], k: int) -> list[str]:
    """k names spread evenly over `names` (all of them if there are no more than k)."""
    if len(names) <= k:
        return list(names)
    if k <= 0:
        return []
    step = len(names) / k
    return [names[int(i * step)] for i in range(k)]


def load_tree(zoo, tree: str, layers: list[str], *, progress: bool = False) -> TreeData:
    """Read `layers` of every model of `tree` (one open per model), with labels encoded for training.

    A zoo too big for memory (Model-J: `zoo.layer_stacks`) gives a lazy X instead, one layer at a time.
    """
    from ..errors import ZooError

    models = zoo.select(tree=tree)
    if not models:
        raise ZooError(f"{zoo.path}: no models in tree {tree!r}; trees here: {', '.join(sorted(zoo.trees()))}")
    lazy = zoo.layer_stacks(tree, layers, progress=progress) if hasattr(zoo, "layer_stacks") else None
    X, raw_labels, ids = lazy or _read_models(zoo, tree, models, layers, progress)
    for need in ("train", "val"):
        if need not in raw_labels:
            raise ZooError(f"{zoo.path}: tree {tree} has no {need!r} models; an expert needs train and val splits")
    single = all(len(lab) == 1 for rows in raw_labels.values() for lab in rows)
    has_holdout = any(s in raw_labels for s in HOLDOUT_SPLITS)
    head = "text" if single and (has_holdout or len({lab[0] for lab in raw_labels["train"]}) > 2) else "multilabel"
    in_dist = [s for s in raw_labels if s not in HOLDOUT_SPLITS]
    labels = sorted({c for s in in_dist for lab in raw_labels[s] for c in lab})
    holdout = sorted({c for s in HOLDOUT_SPLITS for lab in raw_labels.get(s, []) for c in lab})
    Y = {}
    for split, rows in raw_labels.items():
        vocab = holdout if split in HOLDOUT_SPLITS else labels
        if head == "multilabel":
            Y[split] = torch.tensor([[1.0 if c in lab else 0.0 for c in vocab] for lab in rows])
        else:
            Y[split] = torch.tensor([vocab.index(lab[0]) for lab in rows])
    return TreeData(tree, models[0].root, head, labels, holdout, X, Y, ids)


def _read_models(zoo, tree: str, models, layers: list[str], progress: bool):
    """Every model's `layers` stacked in memory per split, its labels and ids (one open per model)."""
    from ..errors import HfprobeError, ZooError
    from ..formats import open_weights

    X: dict = {name: {} for name in layers}
    raw_labels: dict = {}
    ids: dict = {}
    for m in progress_bar(models, desc=f"read {tree}", disable=not progress, leave=False):
        try:
            with open_weights(m.spec, filename=m.filename) as view:
                labels = zoo.labels_for(m, view)
                mats = [view.layer(name) for name in layers]
        except HfprobeError as err:
            zoo.report_bad(m.id, f"cannot read: {err}")
            continue
        for name, mat in zip(layers, mats):
            X[name].setdefault(m.split, []).append(mat.float())
        raw_labels.setdefault(m.split, []).append(list(labels))
        ids.setdefault(m.split, []).append(m.id)
    for name in layers:
        for split, mats in X[name].items():
            shapes = {tuple(t.shape) for t in mats}
            if len(shapes) > 1:
                raise ZooError(
                    f"{zoo.path}: tree {tree} layer {name} has several shapes {sorted(shapes)}: mixed architectures"
                )
            X[name][split] = torch.stack(mats)
    return X, raw_labels, ids


def holdout_targets(data: TreeData, split: str, text_encoder) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """A holdout split's targets against its own categories only: (y, their text embeddings, their names)."""
    idx = sorted(set(data.Y[split].tolist()))
    remap = {c: i for i, c in enumerate(idx)}
    names = [data.holdout_labels[c] for c in idx]
    return torch.tensor([remap[int(c)] for c in data.Y[split]]), text_encoder.embed_labels(names), names


def zero_shot_vals(data: TreeData, layers: list[str], text_encoder):
    """{layer: ZeroShotVal} from the tree's val_holdout models, or None (not a text tree, or no such split with
    at least 2 categories: picking among one name is no question)."""
    if data.head != "text" or len(set(data.Y.get("val_holdout", torch.empty(0)).tolist())) < 2 or text_encoder is None:
        return None
    from ..zoo.layercache import LazyLayers

    y, emb, _ = holdout_targets(data, "val_holdout", text_encoder)
    return LazyLayers(layers, lambda n: ZeroShotVal(data.X[n]["val_holdout"], y, emb))  # one layer at a time

"""`hfprobe trees DIR`: cluster a pile of models into trees from their weights (unsupervised)."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("trees", help="cluster models into trees from their weights (Ward linkage)",
                       description="Cluster the models of a folder or zoo into trees from one layer's weights; "
                                   "reports agreement (adjusted Rand) with the trees the folder declares, where known.")
    p.add_argument("dir", help="zoo folder, or folder of model folders")
    p.add_argument("--layer", help="layer to compare (default: the first layer every model has)")
    p.add_argument("--n-trees", type=int, help="number of trees (default: cut at the largest gap)")
    p.add_argument("--split", help="only models of this split")
    p.add_argument("--skip-bad", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def tree_layers(zoo) -> dict[str, set]:
    """Per tree, the 2-D layers its first model has (models of one tree share an architecture)."""
    from ..formats import open_weights

    out = {}
    for tree, models in zoo.trees().items():
        m = models[0]
        with open_weights(m.spec, filename=m.filename) as view:
            out[tree] = {(n, (mod.d_out, mod.d_in)) for n, mod in view.modules.items() if mod.d_in > 1 and mod.d_out > 1}
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
    from ..train import _ATTN

    # attention q/k/v first: classifier heads are re-initialised per fine-tune and say nothing of the tree
    return min(counts, key=lambda n: (-counts[n], not n[0].endswith(_ATTN), n[0]))


def run(args) -> int:
    from ..errors import ZooError
    from ..route import cluster_trees
    from ..zoo import open_zoo

    zoo = open_zoo(args.dir, skip_bad=args.skip_bad)
    per_tree = tree_layers(zoo)
    if args.layer:
        shapes = sorted({shape for names in per_tree.values() for n, shape in names if n == args.layer})
        if not shapes:
            raise ZooError(f"{args.dir}: no model has layer {args.layer}; see `hfprobe inspect` for layer names")
        key = (args.layer, max(shapes, key=lambda sh: sum((args.layer, sh) in v for v in per_tree.values())))
    else:
        key = pick_layer(per_tree)
    layer = key[0]
    trees = [t for t, names in per_tree.items() if key in names]  # the family that has this layer and shape
    items = [i for t in sorted(trees) for i in zoo.read(layer, tree=t, split=args.split)]
    if len(items) < 2:
        raise ZooError(f"{args.dir}: fewer than 2 models with layer {layer}; nothing to cluster")
    shapes = {tuple(i.matrix.shape) for i in items}
    if len(shapes) > 1:
        raise ZooError(f"{args.dir}: layer {layer} has shapes {sorted(shapes)}: several families; cluster one family at a time")
    known = all(i.tree not in (None, "default") for i in items)
    res = cluster_trees([i.matrix for i in items], n_trees=args.n_trees, truth=[i.tree for i in items] if known else None)
    res.update(layer=layer, models=len(items), ids=[i.id for i in items], truth=[i.tree for i in items] if known else None)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{len(items)} models, layer {layer}: {res['n_trees']} trees" + (f", adjusted Rand vs declared trees {res['ari']:.3f}" if "ari" in res else ""))
    for c in sorted(set(res["labels"])):
        members = [i for i, lab in zip(items, res["labels"]) if lab == c]
        trees = sorted({i.tree for i in members})
        print(f"  tree {c}: {len(members)} models" + (f" (declared: {', '.join(trees)})" if known else ""))
    return 0

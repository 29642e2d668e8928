"""`hfprobe trees DIR`: group a zoo's models into trees by their weights, or other models by their roots' trees."""

from __future__ import annotations

from .common import add_flags, emit, positive_int


def register(sub) -> None:
    p = sub.add_parser(
        "trees",
        help="group models into trees: a zoo by its weights (Ward linkage), other folders by the trees of their roots",
        description="Cluster the models of a zoo into trees from one layer's weights and report agreement "
        "(adjusted Rand) with the trees it declares; a folder whose models declare no labels is grouped by the "
        "tree of the root `inspect` names for each model.",
    )
    p.add_argument("dir", help="zoo folder, or folder of model folders")
    p.add_argument("--layer", help="layer to compare (default: the layer most trees share, attention q/k/v first)")
    p.add_argument("--n-trees", type=positive_int, help="number of trees (default: cut at the largest gap)")
    p.add_argument("--split", help="only models of this split")
    p.add_argument("--skip-bad", action="store_true", help="skip (and report) unreadable models")
    add_flags(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..zoo.read import declares_labels

    if not declares_labels(args.dir):  # grouped by inspect's roots: headers only, no torch
        return _pile(args)
    from ..experts.route import cluster_zoo
    from ..zoo import open_zoo

    zoo = open_zoo(args.dir, skip_bad=args.skip_bad)
    res = cluster_zoo(zoo, layer=args.layer, n_trees=args.n_trees, split=args.split)
    if args.json:
        emit(res)
        return 0
    known = res["truth"] is not None
    print(
        f"{res['models']} models, layer {res['layer']}: {res['n_trees']} trees"
        + (f", adjusted Rand vs declared trees {res['ari']:.3f}" if "ari" in res else "")
    )
    for c in sorted(set(res["labels"])):
        members = [i for i, lab in enumerate(res["labels"]) if lab == c]
        trees = sorted({res["truth"][i] for i in members}) if known else []
        print(f"  tree {c}: {len(members)} models" + (f" (declared: {', '.join(trees)})" if known else ""))
    return 0


def _pile(args) -> int:
    """A folder whose models declare no labels: grouped by the tree of the root inspect names for each."""
    from ..errors import UsageError
    from ..tree.pile import SURE, group_by_root

    given = [
        flag for flag, value in (("--layer", args.layer), ("--n-trees", args.n_trees), ("--split", args.split)) if value
    ]
    if given:
        raise UsageError(
            f"{args.dir}: its models declare no labels, so they are grouped by their roots' trees and "
            f"{', '.join(given)} do not apply; drop {'it' if len(given) == 1 else 'them'}"
        )
    res = group_by_root(args.dir, skip_bad=args.skip_bad)
    if args.json:
        emit(res)
        return 0
    print(
        f"{res['models']} models in {len(res['trees'])} trees (no labels declared: grouped by the tree of the roots "
        f"inspect names, or by family below {SURE:.2f})"
    )
    for tree in res["trees"]:
        print(f"  {tree['tree']}: {len(tree['models'])} model{'' if len(tree['models']) == 1 else 's'}")
        for m in tree["models"]:
            also = f", its tree {m['tree_confidence']:.2f}" if m["tree_confidence"] > m["root_confidence"] else ""
            print(f"    {m['source']}  (root {m['root'] or 'unknown'} {m['root_confidence']:.2f}{also})")
    for source, why in res["skipped"]:
        print(f"  skipped {source}: {why}")
    return 0

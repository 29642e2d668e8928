"""`hfprobe trees DIR`: cluster a pile of models into trees from their weights (unsupervised)."""

from __future__ import annotations

from .common import add_flags, emit, positive_int


def register(sub) -> None:
    p = sub.add_parser(
        "trees",
        help="cluster models into trees from their weights (Ward linkage)",
        description="Cluster the models of a folder or zoo into trees from one layer's weights; "
        "reports agreement (adjusted Rand) with the trees the folder declares, where known.",
    )
    p.add_argument("dir", help="zoo folder, or folder of model folders")
    p.add_argument("--layer", help="layer to compare (default: the layer most trees share, attention q/k/v first)")
    p.add_argument("--n-trees", type=positive_int, help="number of trees (default: cut at the largest gap)")
    p.add_argument("--split", help="only models of this split")
    p.add_argument("--skip-bad", action="store_true", help="skip (and report) unreadable models")
    add_flags(p)
    p.set_defaults(run=run)


def run(args) -> int:
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

"""`hfprobe train`: train a ProbeX tree expert (or one per tree) from a zoo, optionally push it to the Hub."""

from __future__ import annotations

from pathlib import Path

from .common import (
    add_flags,
    emit,
    fraction,
    non_negative,
    pick_device,
    positive_int,
    progress,
    use_threads,
)


def add_probe_flags(p) -> None:
    """The probe and training settings `train` and `bench` share."""
    p.add_argument("--rank", type=positive_int, default=128, help="r_U = r_V = r_T (paper: 128)")
    p.add_argument(
        "--dropout",
        type=fraction,
        default=None,
        help="dropout on the ReLU features (default: 0 on multi-label trees, 0.5 on text-aligned ones)",
    )
    p.add_argument(
        "--weight-decay",
        type=non_negative,
        default=None,
        help="Adam's weight decay (default: 1e-5 on multi-label trees, 1e-2 on text-aligned ones)",
    )
    p.add_argument("--epochs", type=positive_int, default=None, help="maximum epochs (early stopping on validation)")
    p.add_argument("--seed", type=int, default=0, help="seed of the training run (default 0)")
    p.add_argument(
        "--text-encoder", default="minilm", help="text space for text-aligned trees (minilm | clip-vit-l-14)"
    )


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train ProbeX tree experts on a zoo",
        description="Train one ProbeX expert per tree: sweep candidate layers on validation, keep the best.",
    )
    p.add_argument(
        "--zoo",
        required=True,
        help="zoo folder (built by `hfprobe zoo build`, or a folder of models with labels), or modelj:SUBSET "
        "(Model-J from the Hub with the paper's settings, e.g. modelj:SD_200; docs/reproduce.md)",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--tree", help="tree name or root id to train")
    who.add_argument("--all-trees", action="store_true", help="train every tree of the zoo")
    p.add_argument(
        "--out", help="expert folder (with --all-trees: a folder of expert folders); default: the hfprobe cache"
    )
    p.add_argument(
        "--layers",
        default="auto",
        help="'auto' (sweep attention layers, keep the best on val) or comma-separated layer names",
    )
    p.add_argument(
        "--kind",
        choices=("probex", "bilinear", "auto"),
        default="probex",
        help="'probex' (as published), 'bilinear' (text-aligned trees only, see docs/experts.md) or 'auto' "
        "(ProbeX; on text-aligned trees the better of the two on validation)",
    )
    p.add_argument("--views", default="", help="'gram' adds MVProbe-style second-order views")
    add_probe_flags(p)
    p.add_argument(
        "--push",
        metavar="ORG/NAME",
        help="also publish to this Hub model repo, with a model card (with --all-trees: one repo, a sub-folder "
        "per tree)",
    )
    p.add_argument("--private", action="store_true", help="with --push: create the repo private")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable models instead of failing")
    add_flags(p, quiet=True, threads=True, device=True, token=True)
    p.set_defaults(run=run)


def config_from_args(args, protocol: dict | None = None):
    """The TrainConfig the flags ask for; `protocol` (TrainConfig fields, e.g. the paper's for Model-J,
    `hfprobe.zoo.paper_protocol`) fills what the flags leave unset."""
    from ..errors import UsageError
    from ..experts.probes import VIEWS, TrainConfig

    views = tuple(v for v in getattr(args, "views", "").split(",") if v)
    if any(v not in VIEWS for v in views):
        raise UsageError(f"--views {args.views!r}: the only extra view is 'gram'")
    cfg = TrainConfig(
        r_U=args.rank,
        r_V=args.rank,
        r_T=args.rank,
        seed=args.seed,
        kind=getattr(args, "kind", "probex"),
        views=views,
        **(protocol or {}),
    )
    for field, value in (("dropout", args.dropout), ("weight_decay", args.weight_decay), ("max_epochs", args.epochs)):
        if value is not None:
            setattr(cfg, field, value)
    return cfg


def _check_expert_folder(folder: Path) -> None:
    """Saving an expert replaces its folder whole: refuse a folder that holds something else (a typo'd --out
    such as a home folder must never be emptied)."""
    from ..errors import UsageError

    if folder.is_dir() and any(folder.iterdir()) and not (folder / "expert.json").is_file():
        raise UsageError(
            f"--out {folder}: a folder that is not an expert (no expert.json) and not empty; saving would replace "
            "it, so pass a new folder or an expert folder to overwrite"
        )


def run(args) -> int:
    from ..config import cache_dir, check_output_path, writing
    from ..device import use_device
    from ..experts.data import candidate_layers
    from ..experts.fit import fit_tree
    from ..source.hub import check_repo_id
    from ..text.encoders import get_text_encoder
    from ..tree.inspect import family_of
    from ..zoo import is_modelj_spec, modelj_kind, open_zoo_spec, paper_protocol

    if args.push:
        check_repo_id(args.push, "--push")  # now, not after the training
    out = Path(args.out) if args.out else cache_dir() / "experts"
    where = "--out" if args.out else "the experts' cache (HFPROBE_CACHE)"
    check_output_path(out, where, folder=True)  # before any work: a bad path fails now, not after training
    use_threads(args)
    dev = pick_device(args)
    if is_modelj_spec(args.zoo) and modelj_kind(args.zoo) == "generative":
        get_text_encoder(args.text_encoder)  # a text space that cannot load fails now, before the Hub is read
    zoo = open_zoo_spec(args.zoo, skip_bad=args.skip_bad, token=getattr(args, "token", None))
    modelj = zoo.kind == "modelj"
    cfg = config_from_args(args, paper_protocol(zoo) if modelj else None)
    trees = sorted(zoo.trees()) if args.all_trees else [zoo.resolve_tree(args.tree)]
    layers = "auto" if args.layers == "auto" else [x.strip() for x in args.layers.split(",") if x.strip()]
    folders = {tree: out / tree if (args.all_trees or not args.out) else out for tree in trees}
    for folder in folders.values():
        _check_expert_folder(folder)
    for tree in trees:
        first = zoo.select(tree=tree)[0]
        with use_device(dev):
            expert, _ = fit_tree(
                zoo,
                tree,
                cfg,
                # Model-J: every attention layer, as the paper sweeps (a zoo of ours: the spread of 8)
                layers=candidate_layers(zoo, tree, limit=0) if modelj and layers == "auto" else layers,
                progress=progress(args),
                family=family_of(first.spec),
                text_encoder=args.text_encoder,
            )
        with writing(folders[tree], where):
            folder = expert.save(folders[tree])
        m = expert.config["metrics"]
        row = {
            "tree": tree,
            "root": expert.config["root"],
            "layer": expert.layer,
            "head": expert.config["head"],
            "kind": expert.config["train"]["kind"],
            "val": m["val"],
            "test": m.get("test"),
            "zero_shot_test": m.get("zero_shot_test"),
            "train_seconds": m["train_seconds"],
            "device": str(dev),
            "folder": str(folder),
        }
        if args.push and not args.all_trees:
            from ..experts.publish import push_expert

            row["pushed"] = push_expert(expert, args.push, private=args.private, token=args.token)
        if args.json:
            emit(row)
        else:
            print(
                f"{tree}: {row['kind']} on layer {row['layer']} {row['head']} val {row['val']:.3f}"
                + (f" test {row['test']:.3f}" if row["test"] is not None else "")
                + (f" zero-shot test {row['zero_shot_test']:.3f}" if row["zero_shot_test"] is not None else "")
                + f" -> {folder}"
            )
    if args.push and args.all_trees:  # one repo for the zoo's experts: one commit, one card
        from ..experts.publish import push_experts

        url = push_experts(out, args.push, trees=trees, private=args.private, token=args.token)
        if args.json:
            emit({"pushed": url, "repo": args.push, "trees": trees})
        else:
            print(f"pushed {len(trees)} experts to {args.push}: {url}")
    return 0

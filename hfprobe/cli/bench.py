"""`hfprobe bench --zoo DIR [--out FILE]`: ProbeX experts vs mixed, dense and StatNN, zero-shot and routing."""

from __future__ import annotations

from .common import add_flags, emit, progress, use_threads
from .train import add_probe_flags


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark ProbeX tree experts against the baselines on a zoo",
        description="Train and evaluate, on the same splits: ProbeX per tree, one mixed ProbeX, the dense "
        "baseline, StatNN, the Gram-view variant, zero-shot, routing and abstaining. "
        "--out writes the JSON and a PNG plot beside it.",
    )
    p.add_argument("--zoo", required=True)
    p.add_argument("--out", metavar="FILE", help="write the results here as JSON (and the plot beside it as .png)")
    p.add_argument("--trees", help="comma-separated subset of trees (default: all)")
    p.add_argument(
        "--max-layers",
        type=int,
        default=4,
        help="candidate layers swept per tree (0: every attention q/k/v layer, as the paper sweeps)",
    )
    add_probe_flags(p)
    p.add_argument("--no-plot", action="store_true", help="with --out: no PNG")
    add_flags(p, quiet=True, threads=True)
    p.set_defaults(run=run, views="")


def run(args) -> int:
    from ..bench import run_bench
    from ..errors import UsageError
    from .train import config_from_args

    if args.max_layers < 0:
        raise UsageError(
            f"--max-layers {args.max_layers}: give 0 (every attention layer) or a positive number of layers"
        )
    use_threads(args)
    trees = [t.strip() for t in args.trees.split(",")] if args.trees else None
    res = run_bench(
        args.zoo,
        args.out,
        cfg=config_from_args(args),
        max_layers=args.max_layers,
        text_encoder=args.text_encoder,
        trees=trees,
        progress=progress(args),
        plot=not args.no_plot,
    )
    if args.json:
        emit(res)
        return 0
    print(
        f"{'tree':<20} {'metric':<22} {'probex':>7} {'gram':>7} {'mixed':>7} {'dense':>7} {'statnn':>7} "
        f"{'bilin.':>7} {'chance':>7}"
    )
    for t, r in res["trees"].items():
        f = lambda v: f"{v:7.3f}" if isinstance(v, float) else f"{'-':>7}"  # noqa: E731
        print(
            f"{t:<20} {r['metric']:<22} {f(r['probex'])} {f(r['probex_gram'])} {f(r['mixed'])} {f(r['dense'])} "
            f"{f(r['statnn'])} "
            f"{f(r.get('bilinear'))} {f(r['chance'])}"
        )
    zs, ro = res["zero_shot"], res["routing"]
    if zs:
        print(
            f"zero-shot ({zs['tree']}): top-1 {zs['top1']:.3f} vs chance {zs['chance']:.3f} (dense "
            f"{zs['dense_top1']:.3f}, "
            f"bilinear {zs['bilinear_top1']:.3f}); in-dist {zs['in_dist_top1']:.3f}"
        )
    print(
        f"routing: accuracy {ro['accuracy']:.3f} on {ro['n']} test models; abstain on unseen trees "
        f"{ro['abstain_unseen']:.2f}"
        + (
            f" (same family only: {ro['abstain_unseen_same_family']:.2f})"
            if ro["abstain_unseen_same_family"] is not None
            else ""
        )
    )
    print(
        f"predict: {res['predict_models_per_s']:.0f} models/s; total {res['seconds_total']:.0f} s"
        + (f" -> {args.out}" if args.out else "")
    )
    if res.get("plot"):
        print(f"plot: {res['plot']}")
    return 0

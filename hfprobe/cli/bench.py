"""`hfprobe bench --zoo DIR [--out FILE]`: ProbeX experts vs mixed, dense and StatNN, zero-shot and routing."""

from __future__ import annotations

from pathlib import Path

from .common import add_flags, emit, pick_device, progress, use_threads
from .train import add_probe_flags


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark ProbeX tree experts against the baselines on a zoo",
        description="Train and evaluate, on the same splits: ProbeX per tree, one mixed ProbeX, the dense "
        "baseline, StatNN, the Gram-view variant, zero-shot, routing and abstaining, and each method's calibration "
        "(ECE over 15 bins and Brier score on test, before and after calibration on validation). "
        "--out writes the JSON and a PNG plot beside it.",
    )
    p.add_argument(
        "--zoo",
        required=True,
        help="zoo folder, or modelj:SUBSET[,SUBSET...] (Model-J from the Hub, the paper's protocol; docs/reproduce.md)",
    )
    p.add_argument("--out", metavar="FILE", help="write the results here as JSON (and the plot beside it as .png)")
    p.add_argument("--trees", help="comma-separated subset of trees (default: all)")
    p.add_argument(
        "--max-layers",
        type=int,
        default=None,
        help="candidate layers swept per tree (default 4; 0: every attention q/k/v layer, as the paper sweeps, "
        "the default on modelj:)",
    )
    add_probe_flags(p)
    p.add_argument("--no-plot", action="store_true", help="with --out: no PNG")
    add_flags(p, quiet=True, threads=True, device=True)
    p.set_defaults(run=run, views="")


def run(args) -> int:
    from ..bench import run_bench
    from ..config import check_output_path
    from ..device import use_device
    from ..errors import UsageError
    from ..text.encoders import get_text_encoder
    from ..zoo import is_modelj_spec, modelj_kind, paper_protocol
    from .train import config_from_args

    if args.max_layers is not None and args.max_layers < 0:
        raise UsageError(
            f"--max-layers {args.max_layers}: give 0 (every attention layer) or a positive number of layers"
        )
    if args.out:  # before any work: a bad path must fail now, not after an hour of benchmark
        check_output_path(args.out, "--out")
        if not args.no_plot:
            check_output_path(Path(args.out).with_suffix(".png"), "--out (its plot)")
    trees = bench_trees(args.zoo, args.trees)
    use_threads(args)
    dev = pick_device(args)
    protocol = paper_protocol(args.zoo) if is_modelj_spec(args.zoo) else None  # the paper's settings
    if protocol is not None and modelj_kind(args.zoo) == "generative":
        get_text_encoder(args.text_encoder)  # a text space that cannot load fails now, before the Hub is read
    with use_device(dev):
        res = run_bench(
            args.zoo,
            args.out,
            cfg=config_from_args(args, protocol),
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
    print_calibration(res)
    zs, ro = res["zero_shot"], res["routing"]
    if zs:
        print(
            f"zero-shot ({zs['tree']}): top-1 {zs['top1']:.3f} vs chance {zs['chance']:.3f} (dense "
            f"{zs['dense_top1']:.3f}, "
            f"bilinear {zs['bilinear_top1']:.3f}); in-dist {zs['in_dist_top1']:.3f}"
        )
    print(
        "routing: one tree, nothing to route between"
        if ro is None
        else f"routing: accuracy {ro['accuracy']:.3f} on {ro['n']} test models; abstain on unseen trees "
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


def bench_trees(zoo: str, trees: str | None) -> list[str] | None:
    """The trees `--trees` names, each checked against the zoo's before any work (None: all of them)."""
    from ..errors import UsageError
    from ..zoo import is_modelj_spec, open_zoo_spec
    from ..zoo.modelj import parse_modelj_spec

    if trees is None:
        return None
    names = [t.strip() for t in trees.split(",") if t.strip()]
    known = parse_modelj_spec(zoo)[0] if is_modelj_spec(zoo) else sorted(open_zoo_spec(zoo).trees())
    unknown = [t for t in names if t not in known]
    if not names or unknown:
        raise UsageError(
            f"--trees {trees}: {'no tree ' + ', '.join(map(repr, unknown)) if unknown else 'no tree named'} in "
            f"{zoo}; trees here: {', '.join(known)}"
        )
    return names


def print_calibration(res: dict) -> None:
    """Test ECE (15 bins) and Brier score per tree and method, before -> after calibration on validation."""
    print("calibration on test (ECE 15 bins, Brier; raw -> calibrated on validation):")
    for t, r in res["trees"].items():
        for method, c in (r.get("calibration") or {}).items():
            print(
                f"  {t:<20} {method:<12} ECE {c['ece_before']:.3f} -> {c['ece_after']:.3f}   "
                f"Brier {c['brier_before']:.3f} -> {c['brier_after']:.3f}   ({c['method']}, n={c['n']})"
            )
    zc = (res.get("zero_shot") or {}).get("calibration")
    if zc:
        print(
            f"  {res['zero_shot']['tree']:<20} {'zero-shot':<12} ECE {zc['ece_before']:.3f} -> {zc['ece_after']:.3f}   "
            f"Brier {zc['brier_before']:.3f} -> {zc['brier_after']:.3f}   ({zc['method']}, n={zc['n']})"
        )

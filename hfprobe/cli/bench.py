"""`hfprobe bench --zoo DIR --json OUT`: ProbeX experts vs mixed, dense and StatNN, zero-shot and routing."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmark ProbeX tree experts against the baselines on a zoo",
                       description="Train and evaluate, on the same splits: ProbeX per tree, one mixed ProbeX, the dense "
                                   "baseline, StatNN, the Gram-view variant, zero-shot, routing and abstaining. "
                                   "Writes JSON and a PNG plot beside it.")
    p.add_argument("--zoo", required=True)
    p.add_argument("--json", required=True, metavar="OUT", help="where to write the results (the plot goes to OUT with .png)")
    p.add_argument("--trees", help="comma-separated subset of trees (default: all)")
    p.add_argument("--max-layers", type=int, default=4,
                   help="candidate layers swept per tree (0: every attention q/k/v layer, as the paper sweeps)")
    p.add_argument("--rank", type=int, default=128)
    p.add_argument("--dropout", type=float, default=None, help="default per head, as in `hfprobe train`")
    p.add_argument("--weight-decay", type=float, default=None, help="default per head, as in `hfprobe train`")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--text-encoder", default="minilm")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=run, views="")


def run(args) -> int:
    import torch

    from ..bench import run_bench
    from ..errors import UsageError
    from .train import config_from_args

    if args.max_layers < 0:
        raise UsageError(f"--max-layers {args.max_layers}: give 0 (every attention layer) or a positive number of layers")
    torch.set_num_threads(max(1, args.threads))
    trees = [t.strip() for t in args.trees.split(",")] if args.trees else None
    res = run_bench(args.zoo, args.json, cfg=config_from_args(args), max_layers=args.max_layers, text_encoder=args.text_encoder,
                    trees=trees, progress=not args.quiet, plot=not args.no_plot)
    print(f"{'tree':<20} {'metric':<22} {'probex':>7} {'gram':>7} {'mixed':>7} {'dense':>7} {'statnn':>7} {'bilin.':>7} {'chance':>7}")
    for t, r in res["trees"].items():
        f = lambda v: f"{v:7.3f}" if isinstance(v, float) else f"{'-':>7}"  # noqa: E731
        print(f"{t:<20} {r['metric']:<22} {f(r['probex'])} {f(r['probex_gram'])} {f(r['mixed'])} {f(r['dense'])} {f(r['statnn'])} "
              f"{f(r.get('bilinear'))} {f(r['chance'])}")
    zs, ro = res["zero_shot"], res["routing"]
    if zs:
        print(f"zero-shot ({zs['tree']}): top-1 {zs['top1']:.3f} vs chance {zs['chance']:.3f} (dense {zs['dense_top1']:.3f}, "
              f"bilinear {zs['bilinear_top1']:.3f}); in-dist {zs['in_dist_top1']:.3f}")
    print(f"routing: accuracy {ro['accuracy']:.3f} on {ro['n']} test models; abstain on unseen trees {ro['abstain_unseen']:.2f}"
          + (f" (same family only: {ro['abstain_unseen_same_family']:.2f})" if ro["abstain_unseen_same_family"] is not None else ""))
    print(f"predict: {res['predict_models_per_s']:.0f} models/s; total {res['seconds_total']:.0f} s -> {args.json}")
    if args.quiet is False and res.get("plot"):
        print(f"plot: {res['plot']}")
    return 0

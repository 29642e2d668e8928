"""`hfprobe demo`: build a small zoo, train its experts, inspect/predict/annotate/index/query, explain."""

from __future__ import annotations

from .common import add_flags, emit, progress, use_threads


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline on a small local zoo (a few minutes, no network)")
    p.add_argument("--preset", default="tiny", help="zoo preset (default tiny; 'test' is smaller and faster)")
    p.add_argument("--out", metavar="DIR", help="where the card copy, index and summary go (default <cache>/demo)")
    p.add_argument("--query", help="the text query of the last step (default: shoes)")
    add_flags(p, quiet=True, threads=True)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..demo import run_demo

    use_threads(args)
    summary = run_demo(preset=args.preset, workdir=args.out, query=args.query, progress=progress(args))
    if args.json:
        emit(summary)
    return 0

"""`hfprobe demo`: build a small zoo, train its experts, inspect/predict/annotate/index/query, explain."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline on a small local zoo (a few minutes, no network)")
    p.add_argument("--preset", default="tiny", help="zoo preset (default tiny; 'test' is smaller and faster)")
    p.add_argument("--out", metavar="DIR", help="where the card copy, index and summary go (default <cache>/demo)")
    p.add_argument("--query", help="the text query of the last step (default: shoes)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the summary as JSON at the end")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..demo import run_demo

    summary = run_demo(preset=args.preset, workdir=args.out, query=args.query, progress=not args.quiet)
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
    return 0

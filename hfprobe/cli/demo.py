"""`hfprobe demo`: build a small zoo, train its experts, show how hfprobe answers, annotate, index, query, explain.
Exit 1 when a figure misses the target its preset sets (the demo is also the project's end-to-end check)."""

from __future__ import annotations

import sys

from .common import OK, PARTIAL, add_flags, emit, fail, progress, use_threads


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole pipeline on a small local zoo (a few minutes, no network)",
        description="Build a small zoo, train and calibrate its experts, print each tree's test figure next to "
        "chance, show the three ways hfprobe answers and an abstention, annotate a card, index and query. "
        "Exits 1 when a figure misses its preset's target.",
    )
    p.add_argument("--preset", default="demo", help="zoo preset (default demo; 'test' and 'tiny' are smaller)")
    p.add_argument("--out", metavar="DIR", help="where the card copy, index and summary go (default <cache>/demo)")
    p.add_argument("--query", help="the text query of the last step (default: shoes)")
    # the demo trains on every core (torch's default): one thread would make the fresh demo slower
    add_flags(p, quiet=True, threads=True, threads_default=0)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..config import cache_dir, check_output_path
    from ..demo import run_demo

    # before any work: the zoo and experts go to the cache, the card copy, index and summary to --out
    check_output_path(cache_dir(), "the cache (HFPROBE_CACHE)", folder=True)
    if args.out:
        check_output_path(args.out, "--out", folder=True)
    use_threads(args)
    say = (lambda text: print(text, file=sys.stderr)) if args.json else print  # stdout: the JSON line only
    summary = run_demo(preset=args.preset, workdir=args.out, query=args.query, progress=progress(args), out=say)
    if args.json:
        emit(summary)
    for line in summary["missed"]:
        fail(f"demo target missed: {line}")
    return PARTIAL if summary["missed"] else OK

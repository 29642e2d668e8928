"""`hfprobe query "TEXT"`: models whose weights say they match the text, best first."""

from __future__ import annotations

from .common import add_flags, emit


def register(sub) -> None:
    p = sub.add_parser("query", help='search the index with free text (e.g. "a photo of a dog")')
    p.add_argument("text", help="what to look for")
    p.add_argument(
        "--tree",
        metavar="ROOT",
        help="only models whose root (under any alias) or family is ROOT; models of it without categories are "
        "listed after the ranked ones, with the reason they have no score",
    )
    p.add_argument("--top-k", type=int, default=10, help="how many hits (default 10)")
    p.add_argument("--index", metavar="DIR", help="index folder (default: $HFPROBE_INDEX or <cache>/index)")
    add_flags(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..search.index import ModelIndex

    hits = ModelIndex(args.index, create=False).query(args.text, tree=args.tree, top_k=args.top_k, unscored=True)
    if args.json:
        for rank, h in enumerate(hits, 1):
            emit({"rank": rank, **h})
        return 0
    if not hits:
        print(
            "no models match" + (f" in tree {args.tree}" if args.tree else "") + "; add some with `hfprobe index add`"
        )
        return 0
    for rank, h in enumerate(hits, 1):
        where = h["url"] or h["source"]
        score = "  -  " if h["score"] is None else f"{h['score']:.3f}"
        print(f"{rank:>3}. {score}  {h['id']}  [{h['root'] or h['family'] or '?'}]  {h['why']}")
        if where != h["id"]:
            print(f"       {where}")
    return 0

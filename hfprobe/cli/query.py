"""`hfprobe query "TEXT"`: models whose weights say they match the text, best first; `hfprobe query --tree ROOT`
without a text lists that tree's models."""

from __future__ import annotations

from .common import add_flags, emit


def register(sub) -> None:
    p = sub.add_parser("query", help='search the index with free text (e.g. "a photo of a dog")')
    p.add_argument("text", nargs="?", help="what to look for (leave it out with --tree to list that tree's models)")
    p.add_argument(
        "--tree",
        metavar="ROOT",
        help="only models in ROOT's tree (its root or any root tuned from the same one, under any alias) or of "
        "family ROOT; models of it without categories are listed after the ranked ones, with the reason they have "
        "no score",
    )
    p.add_argument("--top-k", type=int, default=10, help="how many hits (default 10)")
    p.add_argument("--index", metavar="DIR", help="index folder (default: $HFPROBE_INDEX or <cache>/index)")
    add_flags(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..errors import UsageError
    from ..search.index import ModelIndex

    if not (args.text or "").strip() and not args.tree:
        raise UsageError('no text to look for; give one, e.g. "a photo of a dog", or --tree ROOT to list its models')

    index = ModelIndex(args.index, create=False)
    listing = not (args.text or "").strip()  # a tree's models by id: one more asked, to tell whether there are more
    hits = index.query(args.text, tree=args.tree, top_k=args.top_k + listing, unscored=True)
    more, hits = len(hits) > args.top_k, hits[: args.top_k]
    if args.json:
        for rank, h in enumerate(hits, 1):
            emit({"rank": rank, **h})
        return 0
    if not hits:
        print(no_hits(index, args.tree))
        return 0
    for rank, h in enumerate(hits, 1):
        where = h["url"] or h["source"]
        score = "  -  " if h["score"] is None else f"{h['score']:.3f}"
        print(f"{rank:>3}. {score}  {h['id']}  [{_lineage(h)}]  {h['why']}")
        if where != h["id"]:
            print(f"       {where}")
    if more:
        print(f"(the first {args.top_k} of tree {args.tree} by id; raise --top-k to list more)")
    return 0


NO_HITS_ADVICE = {  # what a user of the command line can do, by the case ModelIndex.no_hits names
    "empty": "add some with `hfprobe index add`",
    "unscored": "add --tree ROOT to this query to list that tree's models",
}


def _lineage(hit: dict) -> str:
    """A hit's root, and its tree where that is another root (a chat tune's tree is its base's), as `--tree` takes it.

    >>> _lineage({"root": "org/chat", "tree": "org/base", "family": "llama"}), _lineage({"root": None, "family": "sd1"})
    ('org/chat, tree org/base', 'sd1')
    """
    root = hit.get("root") or hit.get("family") or "?"
    tree = hit.get("tree")
    return f"{root}, tree {tree}" if tree and hit.get("root") and tree != hit["root"] else root


def no_hits(index, tree: str | None) -> str:
    """Why a query found nothing, with the index's place and what to do."""
    case, why = index.no_hits(tree)
    return f"{index.path}: {why}" + (f"; {NO_HITS_ADVICE[case]}" if case in NO_HITS_ADVICE else "")

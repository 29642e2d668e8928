"""`hfprobe inspect SOURCE...`: format, family, root candidates, evidence, declared metadata, conflicts."""

from __future__ import annotations

from .common import add_flags, each_source, hub_command

# sources of a batch answered at once where it holds Hub repos: a Hub repo's answer is mostly round trips (a
# listing, then the headers and the companions side by side); local files are answered one after another (threads
# made 42 realzoo folders 15% slower: the work is Python's, under one lock)
BATCH_WORKERS = 4


def register(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="say what a model is: format, family, root (tree), evidence, conflicts",
        description="Read the headers of a weights file, folder or Hub repo (no tensor data) and "
        "report its format, architecture family, root candidates with scores, the "
        "evidence, what the metadata declares and where it contradicts the weights.",
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="local file or folder, Hub repo (org/name, org/name@rev), hf://org/name/file or a Hub URL",
    )
    add_flags(p, token=True, hub=True)
    p.set_defaults(run=run)


@hub_command
def run(args) -> int:
    """Inspect each source (BATCH_WORKERS at a time where the batch holds a Hub repo), printed in order; a bad one
    prints its one-line error and the others still run."""
    from ..tree.inspect import format_report, inspect_source

    workers = BATCH_WORKERS if len(args.sources) > 1 and any(map(_remote, args.sources)) else 1
    return each_source(args, lambda spec: inspect_source(spec, token=args.token), format_report, workers)


def _remote(spec: str) -> bool:
    import os

    from ..source.resolve import is_hub_spec

    return is_hub_spec(spec) and not os.path.exists(spec)  # a local path of that spelling wins, as in `resolve`

"""`hfprobe inspect SOURCE...`: format, family, root candidates, evidence, declared metadata, conflicts."""

from __future__ import annotations

from .common import SOURCE_HELP, add_flags, each_source, hub_command


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
        help=SOURCE_HELP,
    )
    add_flags(p, token=True, hub=True)
    p.set_defaults(run=run)


@hub_command
def run(args) -> int:
    """Inspect each source, printed in order; a bad one prints its one-line error and the others still run."""
    from ..tree.inspect import format_report, inspect_source

    return each_source(args, lambda spec: inspect_source(spec, token=args.token), format_report)

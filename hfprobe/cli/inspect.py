"""`hfprobe inspect SOURCE...`: format, family, root candidates, evidence, declared metadata, conflicts."""

from __future__ import annotations

from .common import add_flags, batch_status, emit, fail, hub_command


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
    """Inspect each source; a bad one prints its one-line error and the others still run."""
    from ..config import debug
    from ..errors import HfprobeError
    from ..tree.inspect import format_report, inspect_source

    failed = 0
    for i, spec in enumerate(args.sources):
        try:
            report = inspect_source(spec, token=args.token)
        except HfprobeError as err:
            if debug() or len(args.sources) == 1:
                raise
            fail(str(err), spec if args.json else None)
            failed += 1
            continue
        if args.json:
            emit(report)
        else:
            print(("\n" if i else "") + format_report(report), flush=True)
    return batch_status(len(args.sources), failed)

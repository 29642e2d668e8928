"""`hfprobe inspect SOURCE...`: format, family, root candidates, evidence, declared metadata, conflicts."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("inspect", help="say what a model is: format, family, root (tree), evidence, conflicts",
                       description="Read the headers of a weights file, folder or Hub repo (no tensor data) and "
                                   "report its format, architecture family, root candidates with scores, the "
                                   "evidence, what the metadata declares and where it contradicts the weights.")
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="local file or folder, Hub repo (org/name, org/name@rev) or hf://org/name/file")
    p.add_argument("--json", action="store_true", help="one JSON object per source, one per line")
    p.add_argument("--token", help="Hub token (default: HF_TOKEN or the logged-in one)")
    p.set_defaults(run=run)


def run(args) -> int:
    """Inspect each source; a bad one prints its one-line error and the others still run (exit 2 if any failed)."""
    from ..config import debug
    from ..errors import HfprobeError
    from ..inspect import format_report, inspect_source

    status = 0
    for i, spec in enumerate(args.sources):
        try:
            report = inspect_source(spec, token=args.token)
        except HfprobeError as err:
            if debug():
                raise
            print(f"hfprobe: error: {err}", file=sys.stderr)
            status = err.exit_code
            continue
        if args.json:
            print(json.dumps(report, ensure_ascii=False), flush=True)
        else:
            print(("\n" if i else "") + format_report(report), flush=True)
    return status

"""`hfprobe index`: build and look after the search index (see hfprobe/search/)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import UsageError
from .common import SOURCE_HELP, add_flags, batch_status, emit, fail, hub_command, positive_int, progress, use_threads


def register(sub) -> None:
    p = sub.add_parser("index", help="build the search index over models (add, info)")
    isub = p.add_subparsers(dest="index_command", metavar="ACTION")
    add = isub.add_parser(
        "add",
        help="inspect, predict and index models (resumable); a model no expert scores is indexed by its tree",
    )
    add.add_argument("sources", nargs="*", metavar="SOURCE", help=SOURCE_HELP)
    add.add_argument("--from-file", metavar="FILE", help="a text file with one source a line")
    add.add_argument("--filter", metavar="FILTER", help="Hub list_models filter, e.g. base_model:adapter:org/root")
    add.add_argument(
        "--limit", type=positive_int, default=100, help="at most this many models from --filter (default 100)"
    )
    add.add_argument("--index", metavar="DIR", help="index folder (default: $HFPROBE_INDEX or <cache>/index)")
    add.add_argument("--experts", metavar="DIR", help="experts to predict with (default: the cached ones)")
    add.add_argument("--engine", choices=["local", "ray"], default="local", help="where the per-model work runs")
    add.add_argument("--no-resume", action="store_true", help="re-index models already in the index")
    add_flags(add, quiet=True, threads=True, token=True, hub=True)
    add.set_defaults(run=run_add)
    info = isub.add_parser("info", help="where the index is, how many models, which text spaces")
    info.add_argument("--index", metavar="DIR")
    add_flags(info)
    info.set_defaults(run=run_info)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_info(args) -> int:
    from ..search.flat import FLAT_FILE
    from ..search.index import ModelIndex

    idx = ModelIndex(args.index, create=False)
    out = {
        "path": str(idx.path),
        "models": len(idx),
        "without_categories": idx.count_unscored(),
        "spaces": idx.meta.get("spaces", {}),
        "format": idx.meta.get("format"),
        "flat_copy": (idx.path / FLAT_FILE).exists(),  # a query scans it without the database (docs/search.md)
    }
    if args.json:
        emit(out)
    else:
        print(
            f"{out['path']}: {out['models']} models ({out['without_categories']} without categories); "
            f"text spaces: {', '.join(out['spaces']) or 'none'}"
            + (f"; queries scan its flat copy ({FLAT_FILE})" if out["flat_copy"] else "")
        )
    return 0


@hub_command
def run_add(args) -> int:
    from ..config import check_output_path
    from ..search.index import ModelIndex, default_index_dir
    from ..search.ingest import add_sources, list_hub_models, read_spec_file

    # before any work: an index folder that cannot be written fails now, not after the models are read
    check_output_path(args.index or default_index_dir(), "--index" if args.index else "the index folder", folder=True)
    use_threads(args, deferred=True)  # a model no expert or readout answers for is indexed without torch
    specs = list(args.sources)
    if args.from_file:
        specs += read_spec_file(args.from_file)
    if args.filter:
        specs += list_hub_models(args.filter, limit=args.limit, token=args.token)
    if not specs:
        raise UsageError("index add: no sources; pass SOURCE..., --from-file FILE or --filter FILTER")
    kwargs = {"token": args.token}
    if args.experts:
        kwargs["experts"] = args.experts
    fresh = not Path(args.index or default_index_dir()).exists()
    idx = ModelIndex(args.index)

    def report(spec: str, status: str, error: str | None) -> None:
        if args.json:
            emit({"source": spec, "status": status, **({"error": error} if error else {})})
        elif error:
            fail(error)

    try:
        summary = add_sources(
            idx,
            specs,
            describe_kwargs=kwargs,
            engine=args.engine,
            resume=not args.no_resume,
            progress=progress(args),
            on_result=report,
        )
    finally:
        n = len(idx)
        if fresh and n == 0:  # nothing went in: leave no empty index behind
            shutil.rmtree(idx.path, ignore_errors=True)
    if not args.json:
        where = f"{n} models in {idx.path}" if n or not fresh else "no index written"
        print(
            f"indexed {summary['added']}, skipped {summary['skipped']} already indexed, failed "
            f"{len(summary['failed'])}; {where}"
        )
    return batch_status(len(specs), len(summary["failed"]))

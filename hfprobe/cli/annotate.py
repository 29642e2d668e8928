"""`hfprobe annotate`: write what the weights say into model cards (see hfprobe/cards/annotate.py)."""

from __future__ import annotations

import sys

from ..errors import UsageError
from .common import add_flags, batch_status, emit, hub_command, non_negative, positive_int, progress


def register(sub) -> None:
    p = sub.add_parser(
        "annotate",
        help="write the tree, evidence, conflicts and categories into model cards",
        description="Local folder: README.md rewritten atomically. Hub repo: --push opens (or "
        "updates) one pull request; --out DIR writes the card locally instead.",
    )
    p.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="local model folder or weights file, or a Hub repo (org/name[@rev], hf://org/name or a Hub URL)",
    )
    p.add_argument("--push", action="store_true", help="Hub repos: open or update a pull request (needs a write token)")
    p.add_argument("--out", metavar="DIR", help="Hub repos without --push: write DIR/<org>/<name>/README.md")
    p.add_argument("--dry-run", action="store_true", help="print a unified diff; write nothing")
    p.add_argument(
        "--fix-base-model",
        action="store_true",
        help="replace a declared base_model that the weights contradict (default: report the conflict only)",
    )
    p.add_argument("--from-file", metavar="FILE", help="targets, one a line (# comments allowed)")
    p.add_argument("--filter", metavar="FILTER", help="Hub list_models filter, e.g. base_model:adapter:org/root")
    p.add_argument(
        "--limit", type=positive_int, default=100, help="at most this many repos from --filter (default 100)"
    )
    p.add_argument("--workers", type=positive_int, default=4, help="targets annotated at once (default 4)")
    p.add_argument(
        "--pr-interval",
        type=non_negative,
        default=None,
        metavar="SECONDS",
        help="with --push, wait at least this long between two Hub writes of a batch (default 10; 0: no wait)",
    )
    p.add_argument(
        "--summary", metavar="FILE", help="JSONL of results; targets already done there are skipped (resume)"
    )
    add_flags(p, quiet=True, token=True, hub=True)
    p.set_defaults(run=run)


@hub_command
def run(args) -> int:
    from ..cards.batch import annotate_batch, read_summary, read_targets, repos_matching
    from ..config import check_output_path

    if args.push and args.out:
        raise UsageError("annotate: --push and --out do not go together; --push writes to the Hub, --out locally")
    # before any work: the paths written must be writable, and a --summary to resume from must be one
    if args.out and not args.dry_run:
        check_output_path(args.out, "--out", folder=True)
    if args.summary:
        check_output_path(args.summary, "--summary")
        read_summary(args.summary)
    targets = list(args.targets)
    if args.from_file:
        targets += read_targets(args.from_file)
    if args.filter:
        targets += repos_matching(args.filter, token=args.token, limit=args.limit)
    if not targets:
        raise UsageError("annotate: no targets; pass a folder or org/name, --from-file FILE or --filter FILTER")
    kw = {
        "push": args.push,
        "out": args.out,
        "token": args.token,
        "dry_run": args.dry_run,
        "fix_base_model": args.fix_base_model,
    }
    if args.pr_interval is not None:
        kw["pr_interval"] = args.pr_interval
    single = len(targets) == 1
    echo = (lambda s: None) if args.json or single else None  # a batch prints each line as it finishes
    results = annotate_batch(
        targets,
        workers=args.workers,
        summary=args.summary,
        echo=echo,
        progress=progress(args) and not single and sys.stderr.isatty(),
        **kw,
    )
    for res in results:
        if args.json:
            emit({**res.to_json(), **({"diff": res.diff} if res.diff else {})})
            continue
        if single and res.status != "failed":
            print(res.line())
        if res.diff:
            sys.stdout.write(res.diff)
    failed = [r for r in results if r.status == "failed"]
    if single and failed:
        print(f"hfprobe: error: {failed[0].target}: {failed[0].reason}", file=sys.stderr)
    return batch_status(len(results), len(failed))

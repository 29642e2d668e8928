"""The grammar every command shares, written once: flags, JSON Lines on stdout, progress, threads, exit codes.

- `--json`: JSON Lines on stdout, one object per result (per source, target, tree or hit).
- `--out PATH`: where a command writes files; stdout carries only what the user reads.
- `-q/--quiet`: no progress bars (bars are huggingface_hub's tqdm, so HF_HUB_DISABLE_PROGRESS_BARS=1 works too).
- `--threads N`: torch threads wherever torch runs (default 1: fair on shared machines; 0: torch's default).
- Exit codes: 0 ok; 1 some items of a batch failed (or an internal error); 2 bad input or usage; 130 interrupted.
"""

from __future__ import annotations

import json
import sys

from ..errors import UsageError

OK, PARTIAL, BAD_INPUT, INTERRUPTED = 0, 1, 2, 130


def add_flags(p, *, json_lines: bool = True, quiet: bool = False, threads: bool = False, token: bool = False) -> None:
    """Add the shared flags a command uses, spelled and explained the same everywhere."""
    if json_lines:
        p.add_argument("--json", action="store_true", help="JSON Lines on stdout: one object per result")
    if quiet:
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    if threads:
        p.add_argument(
            "--threads",
            type=int,
            default=1,
            metavar="N",
            help="torch threads (default 1, fair on shared machines; 0: torch's default)",
        )
    if token:
        p.add_argument("--token", help="Hub token (default: HF_TOKEN or the logged-in one); never printed")


def emit(obj) -> None:
    """One JSON object on one line of stdout."""
    print(json.dumps(obj, ensure_ascii=False, default=str), flush=True)


def progress(args) -> bool:
    """Whether to show progress bars (stderr only, never in the JSON)."""
    return not getattr(args, "quiet", False)


def use_threads(args) -> None:
    """Apply `--threads` (the CLI owns its process; library functions never change torch's thread count)."""
    n = getattr(args, "threads", None)
    if n is None:
        return
    if n < 0:
        raise UsageError(f"--threads {n}: give a positive number, or 0 for torch's default")
    if n:
        import torch

        torch.set_num_threads(n)


def fail(message: str) -> None:
    """One line on stderr for one failed item of a batch (the batch goes on)."""
    print(f"hfprobe: error: {message}", file=sys.stderr, flush=True)


def batch_status(n_items: int, n_failed: int) -> int:
    """0 when all went well; 2 when the only item failed; 1 when some items of a batch failed."""
    if not n_failed:
        return OK
    return BAD_INPUT if n_items == 1 else PARTIAL

"""The grammar every command shares, written once: flags, JSON Lines on stdout, progress, threads, exit codes.

- `--json`: JSON Lines on stdout, one object per result (per source, target, tree or hit).
- `--out PATH`: where a command writes files; stdout carries only what the user reads.
- `-q/--quiet`: no progress bars (bars are huggingface_hub's tqdm, so HF_HUB_DISABLE_PROGRESS_BARS=1 works too).
- `--threads N`: torch threads wherever torch runs (default 1: fair on shared machines; 0: torch's default).
- `--device auto|cpu|cuda|mps`: where torch trains and predicts (default auto: the accelerator torch sees, else
  the CPU); checked by `hfprobe.device.resolve_device`, so a device torch does not see is one line and exit 2.
- Hub commands (`add_flags(hub=True)` + `@hub_command`): `--revision REV`, `--max-download SIZE`,
  `--max-unranged SIZE` (see docs/source.md).
- Exit codes: 0 ok; 1 some items of a batch failed (or an internal error); 2 bad input or usage; 130 interrupted.
"""

from __future__ import annotations

import json
import sys

from ..errors import UsageError

OK, PARTIAL, BAD_INPUT, INTERRUPTED = 0, 1, 2, 130


def add_flags(
    p,
    *,
    json_lines: bool = True,
    quiet: bool = False,
    threads: bool = False,
    token: bool = False,
    device: bool = False,
    hub: bool = False,
) -> None:
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
    if hub:  # applied by @hub_command around the command's run()
        p.add_argument(
            "--revision", metavar="REV", help="branch, tag or commit of the Hub repos named (same as org/name@REV)"
        )
        p.add_argument(
            "--max-download",
            metavar="SIZE",
            help="largest Hub file downloaded whole, i.e. a pickle (default 2GiB; also HFPROBE_MAX_DOWNLOAD)",
        )
        p.add_argument(
            "--max-unranged",
            metavar="SIZE",
            help="most bytes read from a server that ignores Range (default 64MiB; also HFPROBE_MAX_UNRANGED)",
        )
    if device:
        p.add_argument(
            "--device",
            default="auto",
            metavar="{auto,cpu,cuda,mps}",
            help="where torch runs (default auto: the accelerator torch sees, else the CPU; cuda:N picks a GPU)",
        )


def hub_command(run):
    """Wrap a command's `run(args)` with the Hub flags of `add_flags(hub=True)`: `--revision` folded into the
    positional sources (`args.sources` or `args.targets`), the size limits set in the environment for the run."""
    import functools
    import os

    @functools.wraps(run)
    def wrapped(args):
        from ..config import parse_size
        from ..source.resolve import at_revision

        for attr in ("sources", "targets"):
            if getattr(args, "revision", None) and getattr(args, attr, None):
                setattr(args, attr, at_revision(getattr(args, attr), args.revision))
        env = {}
        for flag, var in (("max_download", "HFPROBE_MAX_DOWNLOAD"), ("max_unranged", "HFPROBE_MAX_UNRANGED")):
            if getattr(args, flag, None) is not None:
                env[var] = str(parse_size(getattr(args, flag), "--" + flag.replace("_", "-")))
        saved = {var: os.environ.get(var) for var in env}
        os.environ.update(env)  # the environment, so worker threads and processes see the limits too
        try:
            return run(args)
        finally:
            for var, value in saved.items():
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value

    return wrapped


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


def pick_device(args):
    """The torch device `--device` names, checked once (a device torch does not see: UsageError, exit 2)."""
    from ..device import resolve_device

    return resolve_device(getattr(args, "device", None) or "auto")


def fail(message: str) -> None:
    """One line on stderr for one failed item of a batch (the batch goes on)."""
    print(f"hfprobe: error: {message}", file=sys.stderr, flush=True)


def batch_status(n_items: int, n_failed: int) -> int:
    """0 when all went well; 2 when the only item failed; 1 when some items of a batch failed."""
    if not n_failed:
        return OK
    return BAD_INPUT if n_items == 1 else PARTIAL

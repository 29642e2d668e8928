"""The grammar every command shares, written once: flags, JSON Lines on stdout, progress, threads, exit codes.

- `--json`: JSON Lines on stdout, one object per result (per source, target, tree or hit).
- `--out PATH`: where a command writes files; stdout carries only what the user reads.
- `-q/--quiet`: no progress bars (bars are huggingface_hub's tqdm, so HF_HUB_DISABLE_PROGRESS_BARS=1 works too;
  into a log rather than a terminal they update every 30 s at most: `hfprobe.config.progress_bar`).
- `--threads N`: torch threads wherever torch runs (default 1: fair on shared machines; 0: torch's default).
- `--device auto|cpu|cuda|mps`: where torch trains and predicts (default auto: the accelerator torch sees, else
  the CPU; `predict` runs an expert in numpy on the CPU unless it names a GPU); checked by
  `hfprobe.device.resolve_device`, so a device torch does not see is one line and exit 2.
- Hub commands (`add_flags(hub=True)` + `@hub_command`): `--revision REV`, `--max-download SIZE`,
  `--max-unranged SIZE` (see docs/source.md).
- Exit codes: 0 ok; 1 some items of a batch failed (or an internal error); 2 bad input or usage; 130 interrupted.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys

from ..errors import UsageError

OK, PARTIAL, BAD_INPUT, INTERRUPTED = 0, 1, 2, 130
# what a SOURCE argument takes, in every command's help (resolve() reads each form)
SOURCE_HELP = "local file or folder, Hub repo (org/name[@rev]), hf://org/name[/file-or-folder] or a Hub URL"


def _number(text: str, kind, low, high, closed_high: bool, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give {what}") from None
    if value != value or value < low or (value > high if closed_high else value >= high):  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text}: give {what}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (epochs, rank, workers, trees, a limit).

    >>> positive_int("3")
    3
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 0: give a whole number of at least 1
    """
    return _number(text, int, 1, float("inf"), True, "a whole number of at least 1")


def non_negative(text: str) -> float:
    """argparse type: a number of 0 or more (a weight decay, seconds to wait)."""
    return _number(text, float, 0.0, float("inf"), False, "a number of 0 or more")


def fraction(text: str) -> float:
    """argparse type: a fraction from 0 up to (not including) 1, e.g. a dropout rate (1 would drop everything)."""
    return _number(text, float, 0.0, 1.0, False, "a fraction from 0 up to (not including) 1, e.g. 0.5")


def port(text: str) -> int:
    """argparse type: a TCP port, 1 to 65535."""
    return _number(text, int, 1, 65535, True, "a port from 1 to 65535")


def add_flags(
    p,
    *,
    json_lines: bool = True,
    quiet: bool = False,
    threads: bool = False,
    token: bool = False,
    device: bool = False,
    hub: bool = False,
    threads_default: int = 1,
) -> None:
    """Add the shared flags a command uses, spelled and explained the same everywhere (`threads_default` 0: a
    command that uses all the cores by default, as the demo does)."""
    if json_lines:
        p.add_argument("--json", action="store_true", help="JSON Lines on stdout: one object per result")
    if quiet:
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    if threads:
        p.add_argument(
            "--threads",
            type=int,
            default=threads_default,
            metavar="N",
            help="torch threads (default 0: torch's default, every core, for speed; 1: fair on shared machines)"
            if threads_default == 0
            else f"torch threads (default {threads_default}, fair on shared machines; 0: torch's default)",
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
            help="where torch runs (default auto: the accelerator torch sees, else the CPU; cuda:N picks a GPU); "
            "predict runs an expert in numpy on the CPU unless this names a GPU",
        )


def hub_command(run):
    """Wrap a command's `run(args)` with the Hub flags of `add_flags(hub=True)`: `--revision` folded into the
    positional sources (`args.sources` or `args.targets`), the size limits set in the environment for the run."""

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


def check_listen(host: str, port: int, command: str) -> None:
    """Check that a server can listen on host:port before it starts (and before its workers do): an address
    that does not resolve or is not this machine's, a port in use or reserved, is one line and exit 2.

    >>> check_listen("256.1.1.1", 7860, "webhook serve")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hfprobe.errors.UsageError: webhook serve: cannot listen on 256.1.1.1:7860 (...); pass an address of this machine ...
    """
    import errno
    import socket

    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server's own socket does
            sock.bind(addr)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            fix = "another program listens there; stop it or pass a free --port"
        elif err.errno == errno.EACCES:
            fix = "ports below 1024 need administrator rights; pass a --port from 1024 to 65535"
        else:
            fix = "pass an address of this machine as --host (127.0.0.1, or 0.0.0.0 for every interface)"
        raise UsageError(f"{command}: cannot listen on {host}:{port} ({err.strerror or err}); {fix}") from None


def emit(obj) -> None:
    """One JSON object on one line of stdout: UTF-8 where stdout takes it, else every non-ASCII character escaped
    (`\\u4e2d`), so the JSON stays exact on any console."""
    print(json.dumps(obj, ensure_ascii=not utf8(sys.stdout), default=str), flush=True)


def utf8(stream) -> bool:
    """Whether a text stream encodes UTF-8 (a Windows console redirected to a file, PYTHONIOENCODING=ascii or a
    Latin-1 terminal do not).

    >>> import io
    >>> utf8(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")), utf8(io.TextIOWrapper(io.BytesIO(), encoding="cp1252"))
    (True, False)
    """
    import codecs

    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name.startswith("utf")
    except LookupError:
        return False


def tolerant_output() -> None:
    """Text a model's card brings (a CJK description, an emoji) may not encode on this stdout: such characters are
    written as `\\u4e2d` escapes instead of failing the command (stderr does this already)."""
    stream = sys.stdout
    if not utf8(stream) and callable(getattr(stream, "reconfigure", None)):
        stream.reconfigure(errors="backslashreplace")


def progress(args) -> bool:
    """Whether to show progress bars (stderr only, never in the JSON)."""
    return not getattr(args, "quiet", False)


def use_threads(args, *, deferred: bool = False) -> None:
    """Apply `--threads` (the CLI owns its process; library functions never change torch's thread count).

    `deferred`: for a command whose answer may need no torch (`predict`): where torch is not imported yet, the count
    goes to OMP_NUM_THREADS, which torch reads if and when it loads, instead of importing it here, and numpy's BLAS
    (OpenBLAS) when it loads: the threads of `predict`'s numpy paths (the expert's probe, the readout's scoring)."""
    n = getattr(args, "threads", None)
    if n is None:
        return
    if n < 0:
        raise UsageError(f"--threads {n}: give a positive number, or 0 for torch's default")
    if n and deferred and "torch" not in sys.modules:
        os.environ["OMP_NUM_THREADS"] = str(n)
    elif n:
        import torch

        torch.set_num_threads(n)


def pick_device(args):
    """The torch device `--device` names, checked once (a device torch does not see: UsageError, exit 2)."""
    from ..device import resolve_device

    return resolve_device(getattr(args, "device", None) or "auto")


def fail(message: str, item: str | None = None) -> None:
    """One line on stderr for one failed item of a batch (the batch goes on); with `item` (under --json) also its
    object on stdout, `{"source", "status": "failed", "error"}`, as `annotate` and `index add` write theirs."""
    print(f"hfprobe: error: {message}", file=sys.stderr, flush=True)
    if item is not None:
        emit({"source": item, "status": "failed", "error": message})


def each_source(args, answer, text) -> int:
    """Answer each of `args.sources` (`answer(spec)` -> a dict) and print it (`text(answer)`, or a JSON line under
    --json), in the order given. A batch that holds a Hub repo is answered `config.BATCH_WORKERS` at a time (a Hub
    repo's answer is mostly waiting for round trips; `resolve.batch_workers`). A bad source of a batch prints its
    one-line error and the others still run; a lone source's error propagates (exit 2, its one line). Returns the
    batch's exit status."""
    from ..config import debug, side_by_side
    from ..errors import HfprobeError
    from ..source.resolve import batch_workers

    specs = list(args.sources)
    failed = 0
    with side_by_side(answer, specs, batch_workers(specs), "hfprobe-batch") as results:
        for i, (spec, result) in enumerate(zip(specs, results)):
            try:
                out = result()
            except HfprobeError as err:
                if debug() or len(specs) == 1:
                    raise
                fail(str(err), spec if args.json else None)
                failed += 1
                continue
            if args.json:
                emit(out)
            else:
                print(("\n" if i else "") + text(out), flush=True)
    return batch_status(len(specs), failed)


def batch_status(n_items: int, n_failed: int) -> int:
    """0 when all went well; 2 when the only item failed; 1 when some items of a batch failed."""
    if not n_failed:
        return OK
    return BAD_INPUT if n_items == 1 else PARTIAL

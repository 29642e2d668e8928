"""The `hfprobe` command (also `hf probe`). This file only registers subcommands and maps errors to one line.

Each subcommand lives in `hfprobe/cli/<name>.py` with `register(subparsers)` and `run(args) -> int`;
it parses, calls library functions a user could call from Python, and prints. The flags and exit codes
all commands share are in `common.py`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from .. import __version__
from ..config import QUIET_LIBRARIES, debug, set_library_levels
from ..errors import HfprobeError
from .common import BAD_INPUT, INTERRUPTED, OK, PARTIAL, tolerant_output

# Order is the order `hfprobe --help` lists them.
COMMANDS = [
    "inspect",
    "predict",
    "annotate",
    "index",
    "query",
    "webhook",
    "train",
    "experts",
    "trees",
    "zoo",
    "bench",
    "space",
    "demo",
]


def build_parser(prog: str = "hfprobe") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Read a model's weights and say what it is.")
    parser.add_argument("--version", action="version", version=f"hfprobe {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log what hfprobe does on stderr (-v: steps, -vv: every request and file)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def _logging(verbosity: int) -> None:
    """The `hfprobe` logger on stderr; other libraries' loggers are left as they are, but for
    `config.QUIET_LIBRARIES`' warnings, which show with -v."""
    log = logging.getLogger("hfprobe")
    for old in [h for h in log.handlers if getattr(h, "_hfprobe_cli", False)]:  # one per process, not one per main()
        log.removeHandler(old)
    set_library_levels({name: logging.WARNING if verbosity else logging.ERROR for name in QUIET_LIBRARIES})
    if not verbosity:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._hfprobe_cli = True
    handler.setFormatter(logging.Formatter("hfprobe: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)


def main(argv: list[str] | None = None, prog: str = "hfprobe") -> int:
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, a flag argparse refuses: its code, returned like any other
        return OK if stop.code is None else stop.code if isinstance(stop.code, int) else BAD_INPUT
    if not getattr(args, "run", None):
        parser.print_help()
        return BAD_INPUT
    _logging(args.verbose)
    tolerant_output()
    try:
        return int(args.run(args) or OK)
    except HfprobeError as err:
        if debug():
            raise
        print(f"hfprobe: error: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:  # `hfprobe inspect ... | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except KeyboardInterrupt:
        print("hfprobe: interrupted; nothing half-written was kept.", file=sys.stderr)
        return INTERRUPTED
    except Exception as err:  # noqa: BLE001 - a bug of ours: one line, never a traceback without the debug variable
        if debug():
            raise
        if isinstance(err, OSError) and err.filename and not isinstance(err, ConnectionError):
            # a local file the commands' own checks missed (a disk that filled up, a folder that vanished):
            # the user's to fix, so one line naming it, not a bug report
            print(
                f"hfprobe: error: {err.filename}: {err.strerror or type(err).__name__}; check the path, its "
                "permissions and the free space, and rerun",
                file=sys.stderr,
            )
            return BAD_INPUT
        print(
            f"hfprobe: internal error ({type(err).__name__}); rerun with HFPROBE_DEBUG=1 and report it", file=sys.stderr
        )
        return PARTIAL


def hf_main() -> int:
    """The `hf-probe` console script: `hf probe ...` once installed as an `hf` extension (`hf extensions install`)."""
    return main(prog="hf probe")


if __name__ == "__main__":
    sys.exit(main())

"""The `hfprobe` command. This file only registers subcommands and maps errors to one line.

Each subcommand lives in `hfprobe/cli/<name>.py` with `register(subparsers)` and `run(args) -> int`;
the work itself is done by library functions a user could call from Python.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..config import debug
from ..errors import HfprobeError

# Order is the order `hfprobe --help` lists them.
COMMANDS = ["inspect", "predict", "annotate", "index", "query", "train", "trees", "zoo", "bench", "demo"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hfprobe", description="Read a model's weights and say what it is.")
    parser.add_argument("--version", action="version", version=f"hfprobe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"{__name__}.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except HfprobeError as err:
        if debug():
            raise
        print(f"hfprobe: error: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:  # `hfprobe inspect ... | head`: the reader left; that is not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("hfprobe: interrupted; nothing half-written was kept.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Process-wide settings read from the environment, and the one check for optional dependencies, in one place."""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from .errors import HfprobeError, OutputPathError, UsageError

T = TypeVar("T")

# extra -> what it adds, for the one-line message a command prints when its extra is missing
EXTRAS = {
    "space": "the Gradio Space",
    "search": "the search index",
    "ray": "indexing on Ray",
    "bench": "the benchmark's plot",
    "clip": "the CLIP ViT-L/14 text space",
}


# libraries whose import-time advice is no concern of a CLI user: bitsandbytes, which peft imports where it is
# installed, warns on every import that an optional CPU kernel package is missing (the CLI shows them with -v)
QUIET_LIBRARIES = ("bitsandbytes",)


def library_levels() -> dict[str, int]:
    """QUIET_LIBRARIES' log levels in this process, for worker processes to start with (`set_library_levels`)."""
    return {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}


def set_library_levels(levels: dict[str, int]) -> None:
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def cache_dir() -> Path:
    """Where hfprobe keeps zoos, experts and indexes: $HFPROBE_CACHE or ~/.cache/hfprobe."""
    root = os.environ.get("HFPROBE_CACHE") or os.path.join(Path.home(), ".cache", "hfprobe")
    path = Path(root)
    with writing(path, "the cache (HFPROBE_CACHE)"):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            check_output_path(path, "the cache (HFPROBE_CACHE)", folder=True)  # says what is wrong, in one line
            raise
    return path


def debug() -> bool:
    """HFPROBE_DEBUG=1 shows tracebacks instead of one-line errors."""
    return os.environ.get("HFPROBE_DEBUG", "") not in ("", "0", "false", "False")


def require(module: str, extra: str, *, load: bool = True):
    """Import `module`, which the optional extra `extra` installs; if it is absent, a UsageError (exit 2) that
    names the extra in one line. Call it where the optional library is first needed. `load=False` only checks
    that it is installed (no import, None), for a command that has cheaper checks to make before the import.

    >>> require("json", "search").__name__
    'json'
    >>> require("json", "search", load=False) is None
    True
    >>> require("no_such_module_xyz", "search")
    Traceback (most recent call last):
    ...
    hfprobe.errors.UsageError: no_such_module_xyz is not installed (it comes with hfprobe's 'search' extra, for the \
search index); install it with: pip install 'hfprobe[search]'
    """
    try:
        if not load:
            if importlib.util.find_spec(module) is None:
                raise ModuleNotFoundError(f"No module named {module!r}", name=module)
            return None
        return importlib.import_module(module)
    except ImportError as err:
        missing = (err.name or "").split(".")[0]
        what = EXTRAS.get(extra, extra)
        fix = f"pip install 'hfprobe[{extra}]'"
        if missing == module.split(".")[0]:
            raise UsageError(
                f"{module} is not installed (it comes with hfprobe's '{extra}' extra, for {what}); "
                f"install it with: {fix}"
            ) from None
        # installed but broken (one of its own dependencies is missing or mismatched)
        raise UsageError(f"{module} is installed but does not import ({err}); reinstall it with: {fix}") from None


# ---- local paths a command writes or reads as a list (docs/cli.md) -------------------------------------------------
def _exists(path: Path, what: str) -> bool:
    try:
        return path.exists()
    except OSError as err:  # a name too long, a loop of links: Path.exists lets these through
        raise OutputPathError(f"{what} {path}: not a usable path ({err.strerror}); pass another path") from None


def check_output_path(path: str | os.PathLike, what: str = "--out", *, folder: bool = False) -> Path:
    """Check, before any work, that `path` can be written: a file (or with `folder=True` a folder to create or
    fill). The nearest folder that exists must be a folder, and a file is really created in it (and removed)
    because permission bits say nothing to root, nor of a read-only disk or an immutable folder; an existing
    file must open for writing. Anything else: OutputPathError (exit 2) naming the flag, the path and a fix.

    >>> import tempfile; d = tempfile.mkdtemp()
    >>> check_output_path(f"{d}/new/result.json").name
    'result.json'
    >>> _ = open(f"{d}/afile", "w").close()
    >>> check_output_path(f"{d}/afile/x.json", "--out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hfprobe.errors.OutputPathError: --out .../afile/x.json: .../afile is a file, so no folder can be made there; ...
    """
    p = Path(path).expanduser()
    kind = "folder" if folder else "file"
    if _exists(p, what):
        if folder and not p.is_dir():
            raise OutputPathError(f"{what} {p}: is a file, not a folder; pass a new or existing folder")
        if not folder and p.is_dir():
            raise OutputPathError(f"{what} {p}: is a folder; pass the path of a file (new or existing)")
    parent = p if folder and p.is_dir() else p.parent
    while not _exists(parent, what) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(
            f"{what} {p}: {parent} is a file, so no folder can be made there; pass a path inside a folder"
        )
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".hfprobe-write-check-")
        os.close(fd)
        os.unlink(probe)
        if p.is_file():
            with open(p, "ab"):  # opened, not written: its bytes and time stay as they are
                pass
    except OSError as err:
        where = p if p.is_file() else parent
        raise OutputPathError(
            f"{what} {p}: cannot write the {kind} ({where}: {err.strerror}); pass a path in a writable folder, "
            "or fix its permissions"
        ) from None
    return p


@contextlib.contextmanager
def writing(path: str | os.PathLike, what: str = "--out"):
    """Turn an OSError raised while writing `path` (the disk filled up, the folder vanished or turned read-only
    after `check_output_path`) into an OutputPathError: one line, exit 2, never an "internal error".

    >>> with writing("/nonexistent-dir/x.json", "--out"):
    ...     open("/nonexistent-dir/x.json", "w")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hfprobe.errors.OutputPathError: --out /nonexistent-dir/x.json: cannot write ... (No such file or directory); ...
    """
    try:
        yield
    except HfprobeError:
        raise
    except OSError as err:
        if isinstance(err, ConnectionError):  # a socket, not the local path
            raise
        raise OutputPathError(
            f"{what} {path}: cannot write {err.filename or path} ({err.strerror or type(err).__name__}); check the "
            "free space and permissions there, or pass another path"
        ) from err


def write_atomic(path: str | os.PathLike, data: str | bytes, *, durable: bool = True) -> None:
    """Write `path` whole or not at all: into a temporary file of this writer's own in the same folder (fsync'd when
    `durable`), then renamed over it. An interruption leaves the old file; two writers of one path (threads of a
    batch, two processes) each write a whole file. A replaced file keeps its mode, a new one is 0644."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".hfprobe-tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# sources of a batch answered at once where it holds a Hub repo (`inspect`, `predict`, `index add`): a Hub repo's
# answer is mostly round trips (a listing, then headers and companions side by side); a batch of local files is
# answered one after another (threads made 42 realzoo folders 15% slower: the work is Python's, under one lock)
PROGRESS_LOG_EVERY_S = 30.0  # a bar written into a log, not a terminal, updates at most this often


def progress_bar(*args, **kwargs):
    """A progress bar: huggingface_hub's tqdm under hfprobe's name, so `-q`, HF_HUB_DISABLE_PROGRESS_BARS and
    `disable_progress_bars("hfprobe")` apply (`bar_settings`)."""
    from huggingface_hub.utils import tqdm

    return tqdm(*args, **bar_settings(kwargs))


def bar_settings(kwargs: dict) -> dict:
    """Every bar's settings: hfprobe's name, and into a log rather than a terminal (CI, a Space's logs) an update every
    PROGRESS_LOG_EVERY_S seconds at most instead of ten a second, and a bar meant to vanish (`leave=False`) not at all
    for a task done within that time: a line now and then, not thousands of carriage returns (the demo's bars were
    100 kB of a CI log), nor a training bar that shows 0% and is gone."""
    stream = kwargs.get("file") or sys.stderr
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream
        terminal = False
    if not terminal:  # (tqdm's monitor thread redraws a bar after `maxinterval`, 10 s by default)
        kwargs.setdefault("mininterval", PROGRESS_LOG_EVERY_S)
        kwargs.setdefault("maxinterval", PROGRESS_LOG_EVERY_S)
        if kwargs.get("leave") is False:  # a bar meant to vanish: none at all for a task done sooner (not one at 0%)
            kwargs.setdefault("delay", PROGRESS_LOG_EVERY_S)
    return {**kwargs, "name": "hfprobe"}


BATCH_WORKERS = 4


@contextlib.contextmanager
def side_by_side(fn: Callable[[Any], T], items, workers: int, name: str = "hfprobe") -> Iterator[list[Callable[[], T]]]:
    """The one way hfprobe runs work side by side (a sharded checkpoint's headers, a batch of Hub repos): yields, for
    each of `items` in order, a callable that returns `fn(item)` or raises its error. With `workers` > 1 and more
    than one item, the calls run that many at a time in threads; else each runs here when its callable is called.
    Leaving the block (at the end, or on the first error a caller lets through) cancels the calls not yet begun and
    waits for those under way, each bounded by its own timeouts.

    >>> with side_by_side(len, ["a", "bb", "ccc"], workers=2) as results:
    ...     [result() for result in results]
    [1, 2, 3]
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        yield [functools.partial(fn, item) for item in items]
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix=name)
    try:
        yield [pool.submit(fn, item).result for item in items]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def read_text_lines(path: str | os.PathLike, what: str, fix: str) -> list[str]:
    """The lines of a user's UTF-8 text file (a list of targets, labels, a JSONL summary); a file that is
    missing, a folder, unreadable or not UTF-8 is a UsageError (exit 2) naming `what` and saying `fix`.

    >>> read_text_lines("/nonexistent.txt", "the list", "pass a text file")
    Traceback (most recent call last):
    ...
    hfprobe.errors.UsageError: /nonexistent.txt: cannot read the list (No such file or directory); pass a text file
    """
    try:
        return Path(path).read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise UsageError(f"{path}: {what} is not UTF-8 text (byte {err.start}); {fix}") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot read {what} ({err.strerror or type(err).__name__}); {fix}") from None


# ---- Hub reads (hfprobe/source/transport.py, ranged.py; see docs/source.md) ------------------------------------
_SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def parse_size(text: str | int, what: str = "size") -> int:
    """Bytes from `1234`, `64MB`, `64MiB`, `2GB` (decimal and binary units, case-insensitive).

    >>> parse_size("64MiB"), parse_size("2GB"), parse_size(1024)
    (67108864, 2000000000, 1024)
    """
    if isinstance(text, int):
        return text
    s = str(text).strip().lower().replace(" ", "")
    num = s.rstrip("kmgib")
    unit = s[len(num) :]
    try:
        value = float(num)
    except ValueError:
        value = -1.0
    if unit not in _SIZE_UNITS or not value > 0:
        raise UsageError(f"{what} {text!r}: give a positive size such as 1048576, 64MB or 2GiB")
    return int(value * _SIZE_UNITS[unit])


def _env_number(name: str, default: float, *, integer: bool = False) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise UsageError(f"{name}={raw!r}: give a number of {'tries' if integer else 'seconds'} (0 or more)")
    return value


def hub_retries() -> int:
    """How many times a failed Hub request is retried (timeouts, resets, 5xx, 429): $HFPROBE_HUB_RETRIES, default 2."""
    return int(_env_number("HFPROBE_HUB_RETRIES", 2, integer=True))


def hub_backoff() -> float:
    """Seconds before the first retry, doubled each time up to 8 s: $HFPROBE_HUB_BACKOFF, default 1."""
    return float(_env_number("HFPROBE_HUB_BACKOFF", 1.0))


def max_download() -> int:
    """Largest file hfprobe downloads whole (remote pickles): $HFPROBE_MAX_DOWNLOAD or --max-download, default 2GiB."""
    return parse_size(os.environ.get("HFPROBE_MAX_DOWNLOAD") or "2GiB", "HFPROBE_MAX_DOWNLOAD")


def max_unranged() -> int:
    """Most bytes read from a server that ignores Range: $HFPROBE_MAX_UNRANGED or --max-unranged, default 64MiB."""
    return parse_size(os.environ.get("HFPROBE_MAX_UNRANGED") or "64MiB", "HFPROBE_MAX_UNRANGED")

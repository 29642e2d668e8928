"""`Source`: one local file, local folder or Hub repo at one commit, which lists, opens and reads its files,
counting every byte. Build one with `resolve(spec)` (resolve.py, the one parser of source specs).

A Hub source is pinned on first use: one listing request (`model_info`'s) names the commit sha, and every
later read of that Source (weights, companions, pickles) asks for that commit, so a push in the middle of a
run cannot mix two revisions. The sha is `Source.revision_sha`. Files already in huggingface_hub's cache
are read from disk; companion files and pickles are downloaded into it (`hf_hub_download`); weights
files are read with ranged GETs (`ranged.RemoteFile`). With HF_HUB_OFFLINE=1 only the caches are read.

    >>> src = resolve("stabilityai/some-lora@main")            # doctest: +SKIP
    >>> f = src.open("pytorch_lora_weights.safetensors")       # doctest: +SKIP
    >>> f.read(0, 8); src.bytes_read, src.revision_sha         # doctest: +SKIP
    (8, 'c0ffee…')
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import HfprobeError, NetworkError, SourceAccessError, SourceNotFoundError, UsageError
from .hub import (
    DOWNLOAD_FIX,
    REPO_ID,
    cached_listing,
    download,
    fetch_listing,
    head_cache,
    hub_cache_dir,
    hub_errors,
    remember_listing,
    too_large,
)
from .local import ByteCounter, LocalFile

MAX_TEXT_BYTES = 5 * 1024 * 1024  # companion files (cards, configs) are small; refuse anything larger
COMPANION_FIX = "companion files are read up to 5 MB"
PREFETCH_WORKERS = 4  # companion downloads at once (`Source.prefetch`): a card, two configs and a note
# a sharded checkpoint's files read at once from the Hub (`Source.read_each`): 32 headers 100 ms away take 4
# round trips, not 32; huggingface_hub's snapshot_download downloads 8 files at once too
READ_WORKERS = 8
# a declared diffusers pipeline's parts whose configs give the sizes its declaration is checked by (`base_config`)
PIPELINE_PARTS = ("unet", "transformer", "text_encoder", "text_encoder_2")
_ABSENT = object()  # a file the repo (or, for a local source, the cache) does not have
log = logging.getLogger(__name__)
T = TypeVar("T")


# a folder source lists the files below it, except in hidden folders (.git, .cache, .venv ...), these, and Python
# environments (a folder with pyvenv.cfg or conda-meta/): weights there are a library's, not the user's model
_SKIP_DIRS = {"__pycache__", "site-packages", "dist-packages", "node_modules"}
MAX_FOLDER_ENTRIES = 100_000  # files and folders walked below a folder source (a zoo of 10,000 LoRAs is ~30,000)


@dataclass
class Source:
    """A place weights live. Build one with `resolve(spec)`; see the module docstring.

    Hub sources: `revision_sha` is the commit every read is pinned to (None for local sources);
    `max_download` / `max_unranged` override the limits of `hfprobe.config` for this source.
    """

    kind: str  # "file" | "folder" | "hub"
    display: str
    root: Path | None = None  # local folder (for "file": the file's folder)
    repo_id: str | None = None
    revision: str | None = None
    default_file: str | None = None
    token: str | bool | None = field(default=None, repr=False)  # never in a repr, a log or a message
    range_ignored: bool = False
    max_download: int | None = None
    max_unranged: int | None = None
    _files: list[str] | None = field(default=None, repr=False)
    _counter: ByteCounter = field(default_factory=ByteCounter, repr=False)
    _open: dict = field(default_factory=dict, repr=False)
    _sha: str | None = field(default=None, repr=False)
    _sizes: dict[str, int | None] | None = field(default=None, repr=False)
    _prefetched: dict = field(default_factory=dict, repr=False)  # name -> Future of its download (`prefetch`)
    _pool: object = field(default=None, repr=False)
    _declared: dict = field(default_factory=dict, repr=False)  # (repo id, file) -> what `_base_file` gave
    _declared_begun: dict = field(default_factory=dict, repr=False)  # (repo id, file) -> its read under way
    _declared_down: bool = field(default=False, repr=False)  # a declared model's read met a network fault: no more
    local_hint: str | None = field(default=None, repr=False)  # added to a Hub error: a local path it may have meant

    @property
    def bytes_read(self) -> int:
        return self._counter.bytes

    @property
    def revision_sha(self) -> str | None:
        """The commit sha every read of this Hub source is pinned to (one listing request on first use)."""
        if self.kind != "hub":
            return None
        self._pin()
        return self._sha

    def _pin(self) -> None:
        if self._sha is not None:
            return
        from huggingface_hub import constants

        try:
            if constants.is_offline_mode():  # never touch the network: what an earlier run or a download left
                self._sha, self._sizes = cached_listing(self.repo_id, self.revision, self.display)
            else:
                self._sha, self._sizes = fetch_listing(self.repo_id, self.revision, self.token, self.display)
                remember_listing(self.repo_id, self.revision, self._sha, self._sizes)
        except HfprobeError as err:
            if self.local_hint is None:
                raise
            raise type(err)(f"{err}; {self.local_hint}") from err

    def files(self) -> list[str]:
        """Relative file names (posix). For a single local file: just that file."""
        if self._files is None:
            if self.kind == "file":
                self._files = [self.default_file]
            elif self.kind == "folder":
                self._files = _walk(self.root, self.display)
            else:
                self._pin()
                self._files = sorted(self._sizes)
        return list(self._files)

    def exists(self, name: str) -> bool:
        if self.kind == "hub":
            return name in self.files()
        return (self.root / name).is_file()

    def size(self, name: str) -> int | None:
        """A listed file's size in bytes without reading it (the Hub listing's, or the disk's); None if unknown."""
        if self.kind == "hub":
            return self._sizes.get(name) if name in self.files() else None
        path = self.root / name
        return path.stat().st_size if path.is_file() else None

    def close(self) -> None:
        """Close every file opened so far (a later `open` opens afresh). Also `with resolve(...) as src:`."""
        files, self._open = list(self._open.values()), {}
        for f in files:
            f.close()
        pool, self._pool, self._prefetched, self._declared_begun = self._pool, None, {}, {}
        if pool is not None:  # downloads under way run out within their time bound; queued ones never start
            pool.shutdown(wait=False, cancel_futures=True)

    def prefetch(self, names) -> None:
        """Start downloading small companion files of a Hub repo into the Hub cache, side by side (`read_text`
        waits for its own): their round trips then overlap each other's and the weights' reads. Names the repo
        does not list, files over the companion limit and local or offline sources are left alone; a download
        that fails raises its one-line error when `read_text` asks for the file (one that failed untyped is
        downloaded again there)."""
        if self.kind != "hub":
            return
        from huggingface_hub import constants

        if constants.is_offline_mode():
            return
        todo = [
            n
            for n in dict.fromkeys(names)
            if n not in self._prefetched and self.exists(n) and (self._sizes.get(n) or 0) <= MAX_TEXT_BYTES
        ]
        if not todo:
            return
        for name in todo:
            self._prefetched[name] = self._executor().submit(self._download_companion, name)

    def _executor(self):
        """The source's pool for downloads side by side (companions, a declared pipeline's parts), made on first
        use; `close` shuts it down."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=PREFETCH_WORKERS, thread_name_prefix="hfprobe-prefetch")
        return self._pool

    def _download_companion(self, name: str) -> None:
        if self._hub_cached(name) is None:
            download(
                self.repo_id,
                name,
                self._sha,
                token=self.token,
                max_bytes=MAX_TEXT_BYTES,
                what=self._label(name),
                progress=False,
                fix=COMPANION_FIX,
            )

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self, name: str):
        """A random-access view of one file (`.name`, `.size`, `.read(offset, length)`)."""
        if name not in self._open:
            self._open[name] = self._open_new(name)
        return self._open[name]

    def read_each(self, names, read: Callable[[Any], T]) -> list[T]:
        """`read(self.open(name))` for each name, in order: side by side for a Hub source, where each read is a
        round trip away (a sharded checkpoint's headers), one after another for local files; a name given twice is
        read once. Where reads fail, the first name's error is raised, and reads not yet begun are not made."""
        from ..config import side_by_side

        names = list(names)
        distinct = list(dict.fromkeys(names))
        workers = READ_WORKERS if self.kind == "hub" else 1
        if workers > 1 and len(distinct) > 1:
            self._pin()  # once, before the threads: every read is of the commit it names
        with side_by_side(lambda name: read(self.open(name)), distinct, workers, "hfprobe-read") as results:
            got = {name: result() for name, result in zip(distinct, results)}
        return [got[name] for name in names]

    def _label(self, name: str) -> str:
        return f"{self.display}/{name}" if self.kind != "file" else self.display

    def _open_new(self, name: str):
        label = self._label(name)
        if self.kind != "hub":
            path = self.root / name
            if not path.is_file():
                raise SourceNotFoundError(f"{label}: no such file")
            return LocalFile(path, self._counter, label)
        cached = self._hub_cached(name)
        if cached is not None:
            return LocalFile(Path(cached), self._counter, label)
        from huggingface_hub import constants, hf_hub_url
        from huggingface_hub.utils import build_hf_headers

        from .ranged import CachedFile, RemoteFile

        head = head_cache(self.repo_id, self._sha, name)
        if constants.is_offline_mode():
            if head.is_file() and self._sizes.get(name) is not None:
                return CachedFile(head.read_bytes(), self._sizes[name], label, self._counter)
            raise NetworkError(
                f"{label}: HF_HUB_OFFLINE is set and this file is not in the local cache; unset HF_HUB_OFFLINE, or "
                "inspect or download it once online"
            )
        return RemoteFile(
            hf_hub_url(self.repo_id, name, revision=self._sha),
            label,
            build_hf_headers(token=self.token),
            self._counter,
            size=self._sizes.get(name),
            on_range_ignored=self._mark_range_ignored,
            max_unranged=self.max_unranged,
            head_cache=head,
            errors=hub_errors,
        )

    def _hub_cached(self, name: str) -> str | None:
        """The file's path in huggingface_hub's cache at the pinned commit, or None (a missing file is an error)."""
        from huggingface_hub import try_to_load_from_cache

        self._pin()
        if name not in self._sizes:
            raise SourceNotFoundError(
                f"{self._label(name)}: file not found in the repo at commit {self._sha[:12]}; run `hfprobe inspect "
                f"{self.repo_id}` to list its files"
            )
        hit = try_to_load_from_cache(self.repo_id, name, revision=self._sha)
        return hit if isinstance(hit, str) else None

    def _mark_range_ignored(self) -> None:
        self.range_ignored = True

    def fetch(self, name: str, *, max_bytes: int | None = None, progress: bool = True, fix: str | None = None):
        """The whole file on local disk, opened like `open` (for files read whole: pickles, companions).

        A Hub file is downloaded into huggingface_hub's cache first (a progress bar on stderr), unless it is
        larger than `max_bytes` (default: `max_download`, i.e. --max-download / HFPROBE_MAX_DOWNLOAD).
        """
        if self.kind != "hub":
            return self.open(name)
        from huggingface_hub import constants

        from ..config import max_download

        limit = max_bytes or self.max_download or max_download()
        label = self._label(name)
        cached = self._hub_cached(name)
        if cached is None:
            if constants.is_offline_mode():
                raise NetworkError(
                    f"{label}: HF_HUB_OFFLINE is set and this file is not in the local cache; unset HF_HUB_OFFLINE, "
                    "or download it once online"
                )
            size, fix = self._sizes.get(name), fix or DOWNLOAD_FIX
            if size is not None and size > limit:
                raise too_large(label, size, limit, fix)
            cached = download(
                self.repo_id, name, self._sha, token=self.token, max_bytes=limit, what=label, progress=progress, fix=fix
            )
        old = self._open.pop(name, None)
        if old is not None:
            old.close()
        self._open[name] = LocalFile(Path(cached), self._counter, label)
        return self._open[name]

    def read_text(self, name: str) -> str | None:
        """A small companion file (README.md, adapter_config.json, config.json) as text, or None if absent.

        From the Hub it goes through huggingface_hub's cache, so an offline rerun finds it there. A UTF-8 byte-order
        mark, which some editors save, is left out: it means nothing in any of these files, and JSON and front-matter
        parsers refuse what follows one; a UTF-16 one is read as such (`_text`)."""
        if not self.exists(name):
            return None
        started = self._prefetched.pop(name, None)
        if started is not None:
            try:
                started.result()
            except HfprobeError:  # what the same download here would raise, after as long a wait
                raise
            except Exception:  # noqa: BLE001 - anything else: fetched again below, which says what is wrong
                log.debug("prefetch of %s failed; fetching it again", name)
        f = self.fetch(name, max_bytes=MAX_TEXT_BYTES, progress=False, fix=COMPANION_FIX)
        if f.size > MAX_TEXT_BYTES:
            raise SourceAccessError(
                f"{f.name}: {f.size} bytes is too large for a companion text file; remove or shrink it"
            )
        return _text(f.read(0, f.size))

    def base_config(self, repo_id: str) -> dict | None:
        """The config of a model the metadata declares (`tree.base_config` checks the declaration by its sizes), or
        None where it cannot be had: its config.json, or for a diffusers pipeline its model_index.json with the
        configs of the parts the check reads (`PIPELINE_PARTS`) in place of their [library, class] entries. From
        huggingface_hub's cache (the main branch), and for a Hub source (not offline) from the Hub; a local source
        reads nothing over the network. It never raises: a declaration it cannot check stays unchecked, as it was."""
        if not self._may_look_up(repo_id):
            return None
        if self.kind == "hub":  # its card is read next wherever the sizes fit or are unread: it downloads meanwhile
            self._start_base_file(repo_id, "README.md", _text)
        config = self._base_file(repo_id, "config.json", _json_object)
        if config is not _ABSENT:
            return config
        index = self._base_file(repo_id, "model_index.json", _json_object)  # a diffusers pipeline, perhaps
        if not isinstance(index, dict):
            return None
        parts = [p for p in PIPELINE_PARTS if isinstance(index.get(p), list)]  # (at once: one round trip for all)
        got = self._executor().map(lambda part: self._base_file(repo_id, f"{part}/config.json", _json_object), parts)
        return {**index, **{p: c for p, c in zip(parts, got) if isinstance(c, dict)}}

    def prefetch_cards(self, repo_ids) -> None:
        """Start reading the model cards of models the metadata names (a merge's, which `base_card` is asked for
        next), side by side on the source's pool: a Hub source only, and never offline."""
        if self.kind == "hub":
            for repo_id in repo_ids:
                if self._may_look_up(repo_id):
                    self._start_base_file(repo_id, "README.md", _text)

    def base_card(self, repo_id: str) -> str | None:
        """The model card (README.md) of a model the metadata declares, read as `base_config` reads its config, or
        None: `tree.base_config` follows its `base_model` to the model it was fine-tuned from."""
        if not self._may_look_up(repo_id):
            return None
        card = self._base_file(repo_id, "README.md", _text)
        return card if isinstance(card, str) else None

    def _may_look_up(self, repo_id: str) -> bool:
        """Whether a declared model's files may be looked for: a Hub id, and for a local source one the cache holds
        (a local inspect imports huggingface_hub only then)."""
        if self._declared_down or not REPO_ID.fullmatch(repo_id):
            return False  # (after one network fault, no more: each would cost its own timeout)
        return self.kind == "hub" or (hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))).is_dir()

    def _base_file(self, repo_id: str, name: str, parse):
        """`parse` of one file of a declared model, as `base_config` reads it; None where it could not be had (a
        log line says why) or `_ABSENT` where the repo does not have it (or, for a local source, the cache does
        not). Once per source: `inspect` may weigh the metadata twice."""
        if (repo_id, name) not in self._declared:
            begun = self._declared_begun.pop((repo_id, name), None)
            got = begun.result() if begun is not None else self._read_base_file(repo_id, name, parse)
            self._declared[repo_id, name] = got
        return self._declared[repo_id, name]

    def _start_base_file(self, repo_id: str, name: str, parse) -> None:
        """`_base_file`'s read begun on the source's pool, for a file that is likely asked for next."""
        from huggingface_hub import constants

        key = (repo_id, name)
        if key not in self._declared and key not in self._declared_begun and not constants.is_offline_mode():
            self._declared_begun[key] = self._executor().submit(self._read_base_file, repo_id, name, parse)

    def _read_base_file(self, repo_id: str, name: str, parse):
        from huggingface_hub import constants, try_to_load_from_cache

        what = f"{repo_id}/{name}"
        try:
            path = try_to_load_from_cache(repo_id, name)
            if not isinstance(path, str):
                if path is not None or self.kind != "hub" or constants.is_offline_mode():
                    return _ABSENT  # (not None: the cache knows the repo has no such file)
                path = download(
                    repo_id,
                    name,
                    "main",
                    token=self.token,
                    max_bytes=MAX_TEXT_BYTES,
                    what=what,
                    progress=False,
                    fix=COMPANION_FIX,
                    retries=0,  # one try: without it, the declaration is only left unchecked
                )
            with open(path, "rb") as fh:
                data = fh.read(MAX_TEXT_BYTES + 1)
            self._counter.add(len(data))
            return parse(data) if len(data) <= MAX_TEXT_BYTES else None
        except SourceNotFoundError:
            return _ABSENT
        except (HfprobeError, OSError, ValueError, RecursionError) as err:
            self._declared_down = self._declared_down or isinstance(err, NetworkError)
            log.info("%s not read (%s): the declaration stays unchecked", what, str(err).splitlines()[0][:200])
            return None


def _json_object(data: bytes) -> dict | None:
    config = json.loads(data)
    return config if isinstance(config, dict) else None


def _text(data: bytes) -> str:
    """A companion file's text: UTF-8 (its byte-order mark left out), or UTF-16 where a byte-order mark says so
    (what Windows PowerShell 5's `>` and older Notepad's "Unicode" write)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _walk(root: Path, display: str) -> list[str]:
    """The files below `root` (relative posix names, sorted), leaving out the folders `_SKIP_DIRS` names, hidden
    ones and Python environments; a UsageError past MAX_FOLDER_ENTRIES (a home folder, not a model's)."""
    out, seen = [], 0
    for here, dirs, names in os.walk(root):
        if here != str(root) and ("pyvenv.cfg" in names or "conda-meta" in dirs):
            dirs[:] = []  # a virtualenv or conda environment: its packages' files are not this source's
            continue
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS]
        seen += len(dirs) + len(names)
        if seen > MAX_FOLDER_ENTRIES:
            raise UsageError(
                f"{shorten(display)}: over {MAX_FOLDER_ENTRIES:,} files and folders below it; point hfprobe at the "
                "model's own folder or at its weights file"
            )
        rel = Path(here).relative_to(root)
        out.extend((rel / n).as_posix() for n in names if os.path.isfile(os.path.join(here, n)))
    return sorted(out)


def shorten(text: str, limit: int = 200) -> str:
    """A spec as quoted in a message: at most `limit` characters.

    >>> shorten("x" * 300)[-3:], len(shorten("x" * 300))
    ('xx…', 201)
    """
    return text if len(text) <= limit else text[:limit] + "…"

"""Where bytes come from: a local file, a local folder, or a Hub repo, read only as far as needed.

One spec syntax, parsed here and nowhere else:

    ./adapter_model.safetensors        a local file (its folder's companions, e.g. adapter_config.json, are readable)
    ./my-lora/                         a local folder
    org/name  |  org/name@revision     a Hub model repo
    hf://org/name[@revision]/path      one file in a Hub repo

Hub reads go through huggingface_hub (endpoint, token, offline mode and cache all honoured): files
already in the local cache are read from disk; everything else is fetched with ranged GETs. A server
that ignores Range (200 with the whole body) still gives the right bytes; `range_ignored` records it.
Every byte read, text files included, is counted in `bytes_read`.

Example:
    >>> src = resolve("stabilityai/some-lora@main")            # doctest: +SKIP
    >>> f = src.open("pytorch_lora_weights.safetensors")       # doctest: +SKIP
    >>> f.read(0, 8); src.bytes_read                           # doctest: +SKIP
    8
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import NetworkError, SourceAccessError, SourceNotFoundError

MAX_TEXT_BYTES = 5 * 1024 * 1024  # companion files (cards, configs) are small; refuse anything larger
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[^\s]+)?$")
_SKIP_DIRS = {".git", ".cache", "__pycache__", ".huggingface"}


class _Counter:
    def __init__(self) -> None:
        self.bytes = 0


class LocalFile:
    """A local file opened for ranged reads."""

    def __init__(self, path: Path, counter: _Counter, display: str | None = None):
        self.path = path
        self.name = display or str(path)
        self._counter = counter
        try:
            self.size = path.stat().st_size
            self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()/GC; files are read many times
        except PermissionError:
            raise SourceAccessError(f"{self.name}: permission denied; check the file's permissions") from None
        except IsADirectoryError:
            raise SourceNotFoundError(f"{self.name}: is a folder, not a file") from None
        except OSError as err:
            raise SourceAccessError(f"{self.name}: cannot be read ({err.strerror}); check the path") from None

    def read(self, offset: int, length: int) -> bytes:
        self._fh.seek(offset)
        data = self._fh.read(length)
        self._counter.bytes += len(data)
        return data

    def close(self) -> None:
        self._fh.close()


class RemoteFile:
    """A file on the Hub (or HF_ENDPOINT) read with ranged GETs through huggingface_hub's session."""

    def __init__(self, url: str, name: str, headers: dict, counter: _Counter, on_range_ignored):
        self.url, self.name, self._headers, self._counter = url, name, headers, counter
        self._on_range_ignored = on_range_ignored
        self._whole: tempfile.SpooledTemporaryFile | None = None  # set once a server ignored Range
        self._size: int | None = None

    @property
    def size(self) -> int:
        if self._size is None:
            self.read(0, 8)  # the Content-Range of a first small read tells the size
        return self._size  # type: ignore[return-value]

    def read(self, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        if self._whole is not None:
            self._whole.seek(offset)
            return self._whole.read(length)
        end = offset + length - 1
        with _hub_call(self.name):
            from huggingface_hub import get_session
            from huggingface_hub.utils import hf_raise_for_status

            headers = {**self._headers, "Range": f"bytes={offset}-{end}"}
            with get_session().stream("GET", self.url, headers=headers) as resp:
                if resp.status_code == 416:  # asked past the end: the file is shorter than the header claims
                    self._size = self._size if self._size is not None else offset
                    return b""
                hf_raise_for_status(resp)
                if resp.status_code == 206:
                    data = b"".join(resp.iter_bytes())
                    self._counter.bytes += len(data)
                    match = re.search(r"/(\d+)$", resp.headers.get("content-range", ""))
                    if match:
                        self._size = int(match.group(1))
                    return data
                # 200: the server ignored Range and sends everything; keep it so later reads cost nothing.
                self._on_range_ignored()
                spool = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)
                for chunk in resp.iter_bytes():
                    spool.write(chunk)
                    self._counter.bytes += len(chunk)
                self._size = spool.tell()
                self._whole = spool
        return self.read(offset, length)

    def close(self) -> None:
        if self._whole is not None:
            self._whole.close()


class _hub_call:
    """Turn huggingface_hub / HTTP failures into hfprobe's typed, one-line errors (never with the token)."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None:
            return False
        from huggingface_hub import errors as hf

        what = self.what
        if isinstance(exc, hf.GatedRepoError):
            raise SourceAccessError(f"{what}: the repo is gated; accept its terms on the Hub and pass a token (--token or HF_TOKEN)") from None
        if isinstance(exc, hf.RepositoryNotFoundError):
            raise SourceNotFoundError(f"{what}: repo not found (or private); check the name, or pass a token with read access") from None
        if isinstance(exc, hf.RevisionNotFoundError):
            raise SourceNotFoundError(f"{what}: revision not found; check the branch, tag or commit after '@'") from None
        if isinstance(exc, hf.EntryNotFoundError):
            raise SourceNotFoundError(f"{what}: file not found in the repo; run `hfprobe inspect` on the repo to list its files") from None
        if isinstance(exc, hf.OfflineModeIsEnabled):
            raise NetworkError(f"{what}: HF_HUB_OFFLINE is set and this is not in the local cache; unset it or download the files first") from None
        if isinstance(exc, hf.HfHubHTTPError):
            status = getattr(exc.response, "status_code", "?")
            if status in (401, 403):
                raise SourceAccessError(f"{what}: access denied (HTTP {status}); pass a token with read access") from None
            raise NetworkError(f"{what}: the Hub answered HTTP {status}; try again later") from None
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)) or type(exc).__module__.startswith(("httpx", "httpcore")):
            from huggingface_hub import constants

            raise NetworkError(
                f"{what}: cannot reach {constants.ENDPOINT} ({type(exc).__name__}); check the network, "
                "or set HF_HUB_OFFLINE=1 to use the local cache"
            ) from None
        return False


@dataclass
class Source:
    """A place weights live. Build one with `resolve(spec)`; see the module docstring."""

    kind: str  # "file" | "folder" | "hub"
    display: str
    root: Path | None = None  # local folder (for "file": the file's folder)
    repo_id: str | None = None
    revision: str | None = None
    default_file: str | None = None
    token: str | bool | None = None
    range_ignored: bool = False
    _files: list[str] | None = None
    _counter: _Counter = field(default_factory=_Counter)
    _open: dict = field(default_factory=dict)

    @property
    def bytes_read(self) -> int:
        return self._counter.bytes

    def files(self) -> list[str]:
        """Relative file names (posix). For a single local file: just that file."""
        if self._files is None:
            if self.kind == "file":
                self._files = [self.default_file]
            elif self.kind == "folder":
                self._files = sorted(
                    p.relative_to(self.root).as_posix()
                    for p in self.root.rglob("*")
                    if p.is_file() and not (_SKIP_DIRS & set(p.relative_to(self.root).parts))
                )
            else:
                self._files = self._hub_files()
        return list(self._files)

    def _hub_files(self) -> list[str]:
        from huggingface_hub import HfApi, constants, snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        if constants.is_offline_mode():  # list what the cache holds; never touch the network
            try:
                snap = Path(snapshot_download(self.repo_id, revision=self.revision, local_files_only=True))
            except (LocalEntryNotFoundError, FileNotFoundError, OSError):
                raise NetworkError(
                    f"{self.display}: HF_HUB_OFFLINE is set and the repo is not in the local cache; "
                    "unset HF_HUB_OFFLINE or download it first"
                ) from None
            return sorted(p.relative_to(snap).as_posix() for p in snap.rglob("*") if p.is_file())
        with _hub_call(self.display):
            # model_info is one request without retries: no network fails in a second, not after 20 s of backoff
            info = HfApi().model_info(self.repo_id, revision=self.revision, token=self.token)
            return sorted(s.rfilename for s in info.siblings or [])

    def exists(self, name: str) -> bool:
        if self.kind == "hub":
            return name in self.files()
        return (self.root / name).is_file()

    def close(self) -> None:
        """Close every file opened so far (a later `open` opens afresh). Also `with resolve(...) as src:`."""
        files, self._open = list(self._open.values()), {}
        for f in files:
            f.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self, name: str):
        """A random-access view of one file (`.name`, `.size`, `.read(offset, length)`)."""
        if name not in self._open:
            self._open[name] = self._open_new(name)
        return self._open[name]

    def _open_new(self, name: str):
        label = f"{self.display}/{name}" if self.kind != "file" else self.display
        if self.kind != "hub":
            path = self.root / name
            if not path.is_file():
                raise SourceNotFoundError(f"{label}: no such file")
            return LocalFile(path, self._counter, label)
        cached = self._cached_path(name)
        if cached is not None:
            return LocalFile(Path(cached), self._counter, label)
        from huggingface_hub import constants, hf_hub_url
        from huggingface_hub.utils import build_hf_headers

        if constants.is_offline_mode():
            raise NetworkError(f"{label}: HF_HUB_OFFLINE is set and this file is not in the local cache; unset it or download the file first")
        url = hf_hub_url(self.repo_id, name, revision=self.revision)
        headers = build_hf_headers(token=self.token)
        return RemoteFile(url, label, headers, self._counter, self._mark_range_ignored)

    def _mark_range_ignored(self) -> None:
        self.range_ignored = True

    def _cached_path(self, name: str) -> str | None:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(self.repo_id, name, revision=self.revision)
        return hit if isinstance(hit, str) else None

    def read_text(self, name: str) -> str | None:
        """A small companion file (README.md, adapter_config.json, config.json) as text, or None if absent."""
        if not self.exists(name):
            return None
        f = self.open(name)
        if f.size > MAX_TEXT_BYTES:
            raise SourceAccessError(f"{f.name}: {f.size} bytes is too large for a companion text file; remove or shrink it")
        return f.read(0, f.size).decode("utf-8", errors="replace")


def resolve(spec: str | os.PathLike | Source, *, token: str | bool | None = None, revision: str | None = None) -> Source:
    """Turn a user's spec into a `Source`. Local paths win over Hub ids of the same spelling.

    >>> resolve("org/name@v1").repo_id, resolve("org/name@v1").revision   # doctest: +SKIP
    ('org/name', 'v1')
    """
    if isinstance(spec, Source):
        return spec
    text = os.fspath(spec)
    path = Path(text).expanduser()
    if path.is_file():
        return Source("file", text, root=path.parent, default_file=path.name)
    if path.is_dir():
        return Source("folder", text, root=path)
    if text.startswith("hf://") or (_REPO_ID.match(text) and not text.startswith((".", "/", "~"))):
        return _hub_source(text, token=token, revision=revision)
    if path.exists():  # a socket, fifo, ...
        raise SourceNotFoundError(f"{text}: not a regular file or folder")
    raise SourceNotFoundError(f"{text}: no such file or folder, and not a Hub repo id (expected org/name[@revision] or hf://org/name/file)")


def _hub_source(text: str, *, token, revision) -> Source:
    from huggingface_hub import parse_hf_uri
    from huggingface_hub.errors import HfUriError

    uri_text = text if text.startswith("hf://") else "hf://" + text
    try:
        uri = parse_hf_uri(uri_text)
    except HfUriError as err:
        raise SourceNotFoundError(f"{text}: not a valid Hub id ({err}); expected org/name[@revision] or hf://org/name/file") from None
    if uri.type != "model":
        raise SourceNotFoundError(f"{text}: hfprobe reads model repos, not {uri.type}s")
    rev = revision or uri.revision
    display = uri.id + (f"@{rev}" if rev else "")
    return Source("hub", display, repo_id=uri.id, revision=rev, default_file=uri.path_in_repo or None, token=token)

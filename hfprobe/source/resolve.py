"""`resolve(spec)` -> `Source`: the one parser of source specs (see the package docstring), and the
`Source` that lists, opens and reads a source's files, counting every byte.

Hub reads go through huggingface_hub (endpoint, token, offline mode and cache all honoured): files
already in the local cache are read from disk; everything else is fetched with ranged GETs.

    >>> src = resolve("stabilityai/some-lora@main")            # doctest: +SKIP
    >>> f = src.open("pytorch_lora_weights.safetensors")       # doctest: +SKIP
    >>> f.read(0, 8); src.bytes_read                           # doctest: +SKIP
    8
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NetworkError, SourceAccessError, SourceNotFoundError
from .hub import RemoteFile, hub_errors
from .local import ByteCounter, LocalFile

MAX_TEXT_BYTES = 5 * 1024 * 1024  # companion files (cards, configs) are small; refuse anything larger


_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[^\s]+)?$")


_SKIP_DIRS = {".git", ".cache", "__pycache__", ".huggingface"}


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
    _counter: ByteCounter = field(default_factory=ByteCounter)
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
        with hub_errors(self.display):
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
            raise NetworkError(
                f"{label}: HF_HUB_OFFLINE is set and this file is not in the local cache; unset it or download the "
                "file first"
            )
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
            raise SourceAccessError(
                f"{f.name}: {f.size} bytes is too large for a companion text file; remove or shrink it"
            )
        return f.read(0, f.size).decode("utf-8", errors="replace")


def resolve(
    spec: str | os.PathLike | Source, *, token: str | bool | None = None, revision: str | None = None
) -> Source:
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
    raise SourceNotFoundError(
        f"{text}: no such file or folder, and not a Hub repo id (expected org/name[@revision] or hf://org/name/file)"
    )


def _hub_source(text: str, *, token, revision) -> Source:
    from huggingface_hub import parse_hf_uri
    from huggingface_hub.errors import HfUriError

    uri_text = text if text.startswith("hf://") else "hf://" + text
    try:
        uri = parse_hf_uri(uri_text)
    except HfUriError as err:
        raise SourceNotFoundError(
            f"{text}: not a valid Hub id ({err}); expected org/name[@revision] or hf://org/name/file"
        ) from None
    if uri.type != "model":
        raise SourceNotFoundError(f"{text}: hfprobe reads model repos, not {uri.type}s")
    rev = revision or uri.revision
    display = uri.id + (f"@{rev}" if rev else "")
    return Source("hub", display, repo_id=uri.id, revision=rev, default_file=uri.path_in_repo or None, token=token)

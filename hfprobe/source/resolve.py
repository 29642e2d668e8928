"""`resolve(spec)` -> `Source`: the one parser of source specs (see the package docstring) and of
`--revision`, which it folds into a spec. Nothing here reads a byte: a Hub source is listed on first use.

    >>> resolve("org/name@v1").kind, with_revision("org/name", "v2")
    ('hub', 'org/name@v2')
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import SourceNotFoundError, UsageError
from .hub import safe_name
from .source import Source, shorten

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[^\s]+)?$")
_REPO_PATH = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+/[^\s]+$")  # org/name/path, as a Hub path is often pasted
_WEB_ROUTES = ("blob/", "resolve/", "tree/")  # org/name/blob/main/w.safetensors: a Hub web address without its host
_URL = re.compile(r"^(hf://|https?://)", re.IGNORECASE)
_HOST = re.compile(r"^(huggingface\.co|hf\.co)/", re.IGNORECASE)  # a web URL without its scheme


def resolve(
    spec: str | os.PathLike | Source, *, token: str | bool | None = None, revision: str | None = None
) -> Source:
    """Turn a user's spec into a `Source`. Local paths win over Hub ids of the same spelling; URLs
    (`hf://…`, `https://huggingface.co/…`, the `HF_ENDPOINT`'s own) are always the Hub. No I/O for the Hub
    until the Source is read.

    >>> resolve("org/name@v1").repo_id, resolve("org/name@v1").revision
    ('org/name', 'v1')
    >>> resolve("https://huggingface.co/org/name/tree/dev").revision
    'dev'
    """
    if isinstance(spec, Source):
        return spec
    text = os.fspath(spec)
    if not text.strip():
        raise UsageError(
            f"{text!r} is not a source: name a weights file, a folder ('.' for this one), or a Hub repo (org/name)"
        )
    if _URL.match(text):
        return _hub_source(text, token=token, revision=revision)
    path = Path(text).expanduser()
    try:
        kind = "file" if path.is_file() else "folder" if path.is_dir() else "other" if path.exists() else None
    except (OSError, ValueError) as err:  # a name too long for the filesystem, a NUL byte
        why = getattr(err, "strerror", None) or "not a valid path"
        raise SourceNotFoundError(f"{shorten(text)}: cannot be used as a path ({why}); check the name") from None
    if kind == "file":
        return Source("file", text, root=path.parent, default_file=path.name)
    if kind == "folder":
        return Source("folder", text, root=path)
    if is_hub_spec(text):
        hint = _mistyped_path(text)
        try:
            src = _hub_source(text, token=token, revision=revision)
        except SourceNotFoundError as err:
            if hint is None:
                raise
            raise SourceNotFoundError(f"{err}; {hint}") from err
        src.local_hint = hint  # for the Hub's own errors, on first use
        return src
    if kind == "other":  # a socket, fifo, ...
        raise SourceNotFoundError(f"{shorten(text)}: not a regular file or folder")
    if _REPO_PATH.match(text):  # org/name/sub/w.safetensors: most likely a file or folder of a Hub repo
        web = text.split("/", 2)[2].startswith(_WEB_ROUTES)
        hub = f"https://huggingface.co/{text}" if web else f"hf://{text}"
        raise SourceNotFoundError(
            f"{shorten(text)}: no such file or folder here; for a file or folder inside a Hub repo, write "
            f"{shorten(hub)}"
        )
    raise SourceNotFoundError(
        f"{shorten(text)}: no such file or folder, and not a Hub repo (expected org/name[@revision], "
        "hf://org/name/file or https://huggingface.co/org/name)"
    )


def _mistyped_path(text: str) -> str | None:
    """What to add to a Hub error for `org/name` where a local folder `org` exists: most likely a path misspelt."""
    head = text.split("/", 1)[0]
    if _URL.match(text) or _HOST.match(text) or not os.path.isdir(head):
        return None
    return f"{shorten(head)}/ is a local folder without {shorten(text)} in it; if you meant a path, check its name"


def is_hub_spec(text: str) -> bool:
    """Whether `text` is written as a Hub spec (org/name[@revision], hf://…, a Hub URL) rather than as a path; where
    a path of that spelling exists, `resolve` still reads the path.

    >>> is_hub_spec("org/name@v1"), is_hub_spec("hf://org/name/sub"), is_hub_spec("/abs/org/name"), is_hub_spec("a/b/c")
    (True, True, False, False)
    """
    return bool(
        _URL.match(text) or _HOST.match(text) or (_REPO_ID.match(text) and not text.startswith((".", "/", "~")))
    )


def reads_hub(spec: str) -> bool:
    """Whether `resolve(spec)` reads the Hub: a Hub spec with no local path of that spelling (no Hub I/O)."""
    return is_hub_spec(spec) and not os.path.exists(spec)


def batch_workers(specs) -> int:
    """How many of a batch's sources to answer at once: `config.BATCH_WORKERS` where it holds more than one and a
    Hub repo among them, else 1 (each here, one after another)."""
    from ..config import BATCH_WORKERS

    specs = list(specs)
    return BATCH_WORKERS if len(specs) > 1 and any(map(reads_hub, specs)) else 1


def parse_hub_spec(text: str):
    """A Hub spec (org/name[@rev], hf://…, or a web URL of the Hub or of HF_ENDPOINT) as huggingface_hub's `HfUri`.

    >>> u = parse_hub_spec("hf://org/name@refs/pr/3/sub/w.safetensors")
    >>> u.id, u.revision, u.path_in_repo
    ('org/name', 'refs/pr/3', 'sub/w.safetensors')
    """
    from huggingface_hub import constants, parse_hf_uri
    from huggingface_hub.errors import HfUriError

    uri_text = text if _URL.match(text) or _HOST.match(text) else "hf://" + text
    try:
        uri = parse_hf_uri(uri_text, endpoint=constants.ENDPOINT)
    except HfUriError as err:
        detail = " ".join(str(err).split())[:200]
        raise SourceNotFoundError(
            f"{shorten(text)}: not a Hub model ({detail}); expected org/name[@revision], hf://org/name/file or "
            "https://huggingface.co/org/name"
        ) from None
    if uri.type != "model":
        raise SourceNotFoundError(f"{shorten(text)}: hfprobe reads model repos, not {uri.type}s")
    return uri


def repo_spec(text: str) -> tuple[str, str | None]:
    """(repo id, revision) of a spec that names a whole Hub model repo, in any form `resolve` reads for one (an expert
    repo, a repo to deploy with); SourceNotFoundError for anything else, a file or folder inside a repo included.

    >>> repo_spec("https://huggingface.co/org/experts/tree/v1"), repo_spec("org/experts")
    (('org/experts', 'v1'), ('org/experts', None))
    """
    if not is_hub_spec(text):
        raise SourceNotFoundError(f"{shorten(text)}: not a Hub repo (org/name[@revision], hf://org/name or its URL)")
    uri = parse_hub_spec(text)
    path = uri.path_in_repo.strip("/")
    if path:
        raise SourceNotFoundError(f"{shorten(text)}: names {shorten(path)!r} inside {uri.id}; name the repo itself")
    return uri.id, uri.revision


def _hub_source(text: str, *, token, revision) -> Source:
    uri = parse_hub_spec(text)
    if revision and uri.revision and revision != uri.revision:
        raise UsageError(f"{shorten(text)}: names revision {uri.revision!r} and also {revision!r}; give one")
    rev = revision or uri.revision
    path = uri.path_in_repo.strip("/") or None
    if path is not None and not safe_name(path):
        raise SourceNotFoundError(f"{shorten(text)}: {shorten(path)!r} is not a file path inside a repo")
    display = uri.id + (f"@{rev}" if rev else "")
    return Source("hub", display, repo_id=uri.id, revision=rev, default_file=path, token=token)


def with_revision(spec: str, revision: str | None) -> str:
    """`spec` with `--revision` folded in, as a spec string (what the CLI passes to library functions).

    >>> with_revision("org/name", "v2"), with_revision("org/name@v2", "v2"), with_revision("org/name", None)
    ('org/name@v2', 'org/name@v2', 'org/name')
    >>> with_revision("hf://org/name/w.safetensors", "feature/x")
    'hf://models/org/name@feature%2Fx/w.safetensors'
    """
    if not revision:
        return spec
    src = resolve(spec)
    if src.kind != "hub":
        raise UsageError(f"--revision {revision}: {spec} is a local path; --revision is for Hub repos")
    if src.revision and src.revision != revision:
        raise UsageError(f"{spec}: names revision {src.revision!r} and --revision {revision!r}; give one")
    if src.default_file is None and "/" not in revision:
        return f"{src.repo_id}@{revision}"
    from huggingface_hub import HfUri

    return HfUri(type="model", id=src.repo_id, revision=revision, path_in_repo=src.default_file or "").to_uri()


def at_revision(specs: list[str], revision: str | None) -> list[str]:
    """Every spec of a command's arguments at `--revision` (unchanged without one)."""
    return [with_revision(s, revision) for s in specs]

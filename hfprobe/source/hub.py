"""The Hub side of a source: the one listing of a repo at one commit, companion files and pickles through
huggingface_hub's cache, a small cache of what an offline rerun needs, and the one place where
huggingface_hub's and the network's exceptions become hfprobe's typed, one-line errors (`hub_errors`).

Every read of one run is pinned to the commit sha the listing returned; see docs/source.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from pathlib import Path
from urllib.parse import quote

from ..config import write_atomic
from ..errors import (
    CardError,
    HfprobeError,
    HubWriteError,
    NetworkError,
    SourceAccessError,
    SourceNotFoundError,
    UsageError,
)
from .transport import backoff, raise_for_status, read_at_most, reply_budget, timeouts, with_retries, within

log = logging.getLogger(__name__)

MAX_LISTING_BYTES = 16 * 1024 * 1024  # a repo's file listing (about 80,000 files); a larger answer is refused
_SHA = re.compile(r"^[0-9a-f]{40}$")


# ---- the listing: one commit, its files and their sizes ------------------------------------------------------
def fetch_listing(repo_id: str, revision: str | None, token, what: str) -> tuple[str, dict[str, int | None]]:
    """(commit sha, {file: size or None}) of a model repo at `revision`: the request `HfApi.model_info(...,
    files_metadata=True)` makes, with a timeout, retries and a size cap on the answer."""
    from huggingface_hub import constants, get_session
    from huggingface_hub.utils import build_hf_headers

    url = f"{constants.ENDPOINT}/api/models/{repo_id}"
    if revision is not None:
        url += f"/revision/{quote(revision, safe='')}"
    headers = build_hf_headers(token=token)
    timeout, _ = timeouts()

    def once() -> bytearray:
        with get_session().stream("GET", url, headers=headers, params={"blobs": "true"}, timeout=timeout) as resp:
            raise_for_status(resp)
            body = read_at_most(resp, MAX_LISTING_BYTES + 1, copy=False, timeout=timeout)
        if len(body) > MAX_LISTING_BYTES:
            raise NetworkError(
                f"{what}: the Hub's file listing is over {MAX_LISTING_BYTES // 2**20} MB; point hfprobe at one file "
                "(hf://org/name/path)"
            )
        return body

    with hub_errors(what, token=token):
        body = with_retries(what, once, timeout=timeout)
    return parse_listing(body, what)


def parse_listing(body: bytes, what: str) -> tuple[str, dict[str, int | None]]:
    """The sha and files of a model_info answer, checked: a malformed answer is a NetworkError, not a crash.

    >>> parse_listing(b'{"sha": "' + b"a" * 40 + b'", "siblings": [{"rfilename": "w.safetensors", "size": 9}]}', "x")
    ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', {'w.safetensors': 9})
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    sha = data.get("sha") if isinstance(data, dict) else None
    if not isinstance(sha, str) or not _SHA.match(sha):
        raise NetworkError(
            f"{what}: the Hub's answer names no commit sha, so reads cannot be pinned to one revision; check "
            "HF_ENDPOINT points at a Hub-compatible server"
        )
    files: dict[str, int | None] = {}
    for sib in data.get("siblings") or []:
        name = sib.get("rfilename") if isinstance(sib, dict) else None
        if not isinstance(name, str) or not safe_name(name):
            continue  # a name that is not a plain relative path is never read (nor used to build a cache path)
        size = sib.get("size")
        files[name] = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
    return sha, files


def safe_name(name: str) -> bool:
    """A plain relative posix path inside a repo: no '..', no absolute path, no backslash or control character.

    >>> safe_name("unet/w.safetensors"), safe_name("../x"), safe_name("/etc/passwd"), safe_name("a\\b")
    (True, False, False, False)
    """
    if not name or len(name) > 1000 or name.startswith("/") or "\\" in name:
        return False
    if any(ord(c) < 32 for c in name):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # ORG/NAME, as hfprobe's writes and Hub specs spell it


def check_repo_id(repo_id: str | None, what: str = "") -> str:
    """`repo_id` when it reads as ORG/NAME, else a UsageError (one line), raised before any work is done.

    >>> check_repo_id("my-org/experts")
    'my-org/experts'
    >>> check_repo_id("notarepo", "--push")
    Traceback (most recent call last):
    ...
    hfprobe.errors.UsageError: --push 'notarepo': not a Hub repo id; expected ORG/NAME
    """
    if not REPO_ID.fullmatch(repo_id or "") or ".." in (repo_id or ""):
        raise UsageError(f"{what + ' ' if what else ''}{repo_id!r}: not a Hub repo id; expected ORG/NAME")
    return repo_id


# ---- what an offline rerun needs: the listing per revision, and each weights file's header -------------------
def _assets(repo_id: str, *parts: str) -> Path:
    from huggingface_hub import constants

    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id) or ".." in repo_id:  # never a path outside the cache
        raise SourceNotFoundError(f"{repo_id[:200]}: not a Hub repo id (org/name)")
    folder = "models--" + repo_id.replace("/", "--")
    return Path(constants.HF_ASSETS_CACHE) / "hfprobe" / folder / Path(*parts)


def remember_listing(repo_id: str, revision: str | None, sha: str, files: dict[str, int | None]) -> None:
    """Keep the listing (by commit) and which commit `revision` named, in huggingface_hub's assets cache."""
    try:
        listing = _assets(repo_id, sha, "files.json")
        if not listing.is_file():
            siblings = [
                {"rfilename": name, **({"size": size} if size is not None else {})} for name, size in files.items()
            ]
            listing.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(listing, json.dumps({"sha": sha, "siblings": siblings}), durable=False)  # the listing's shape
        ref = _assets(repo_id, "refs", quote(revision or "main", safe=""))
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(sha)
    except OSError as err:  # a read-only cache costs the offline rerun, never this run
        log.debug("could not cache the listing of %s: %s", repo_id, err)


def cached_listing(repo_id: str, revision: str | None, what: str) -> tuple[str, dict[str, int | None]]:
    """The listing an earlier run kept, or huggingface_hub's own snapshot; offline mode reads only this."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    rev = revision or "main"
    repo_cache = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="model")
    sha = rev if _SHA.match(rev) else None
    refs = [p for p in (_assets(repo_id, "refs", quote(rev, safe="")), repo_cache / "refs" / rev) if p.is_file()]
    if sha is None and refs:  # ours or huggingface_hub's, whichever was written last
        sha = max(refs, key=lambda p: p.stat().st_mtime_ns).read_text().strip()
    if sha is not None and _SHA.match(sha):
        listing = _assets(repo_id, sha, "files.json")
        with contextlib.suppress(OSError, ValueError, NetworkError):
            if listing.is_file():
                return parse_listing(listing.read_bytes(), what)
        snap = repo_cache / "snapshots" / sha
        if snap.is_dir():
            return sha, {
                p.relative_to(snap).as_posix(): p.stat().st_size for p in sorted(snap.rglob("*")) if p.is_file()
            }
    raise NetworkError(
        f"{what}: HF_HUB_OFFLINE is set and the repo is not in the local cache; unset HF_HUB_OFFLINE, or inspect "
        "or download it once online"
    )


def head_cache(repo_id: str, sha: str, name: str) -> Path:
    """Where the first bytes (the header) of a weights file at one commit are kept for offline reruns."""
    return _assets(repo_id, sha, "heads", quote(name, safe=""))


# ---- whole files through huggingface_hub's cache -------------------------------------------------------------
def hub_cache_dir() -> Path:
    """huggingface_hub's cache folder: its own setting where it is loaded, else as it works it out from the
    environment (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME), without loading it (tests/test_base_config.py compares)."""
    if "huggingface_hub" in sys.modules:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    env = os.environ
    if env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE"):
        return Path(env.get("HF_HUB_CACHE") or env["HUGGINGFACE_HUB_CACHE"]).expanduser()
    home = env.get("HF_HOME") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface"
    )
    return Path(home).expanduser() / "hub"


def _bar(quiet: bool):
    from huggingface_hub.utils import tqdm

    from ..config import bar_settings

    class Bar(tqdm):  # huggingface_hub's download bar, with hfprobe's settings (name, updates into a log)
        def __init__(self, *args, **kwargs):
            if quiet:
                kwargs["disable"] = True
            super().__init__(*args, **bar_settings(kwargs))

    return Bar


DOWNLOAD_FIX = (
    "raise --max-download (HFPROBE_MAX_DOWNLOAD), or convert it to safetensors, which hfprobe reads in ranges"
)


def download(
    repo_id: str,
    name: str,
    sha: str,
    *,
    token,
    max_bytes: int,
    what: str,
    progress: bool,
    fix: str = DOWNLOAD_FIX,
    retries: int | None = None,
) -> str:
    """A file of the repo at commit `sha`, downloaded into huggingface_hub's cache; its local path.

    First one HEAD under hfprobe's timeout and retries (so a server that hangs fails within the bound, and the
    size is checked against `max_bytes` before any byte is downloaded), then `hf_hub_download`, retried as the
    HEAD is (it retries a reply cut short itself, but not a connection reset before one: what every thread's
    request meets when huggingface_hub closes the client they share after one thread's connect error), and held
    to the time those retries of a reply of that size may take (`transport.within`: a trickling server cannot
    hold it longer). `retries` (default `config.hub_retries()`): 0 for a file the caller can do without.
    """
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    from ..config import hub_backoff, hub_retries

    get_timeout, head_timeout = timeouts()
    with hub_errors(what, token=token):
        url = hf_hub_url(repo_id, name, revision=sha)
        meta = with_retries(
            what,
            lambda: get_hf_file_metadata(url, token=token, timeout=head_timeout, retry_on_errors=False),
            timeout=head_timeout,
            retries=retries,
        )
        if meta.size is not None and meta.size > max_bytes:
            raise too_large(what, meta.size, max_bytes, fix)
        log.debug("download %s/%s@%s (%s bytes) through the Hub cache", repo_id, name, sha[:12], meta.size)
        tries = (hub_retries() if retries is None else retries) + 1
        seconds = tries * (head_timeout + reply_budget(get_timeout, meta.size or max_bytes))
        seconds += sum(backoff(n, hub_backoff()) for n in range(tries - 1))

        def fetch() -> str:
            bar = _bar(not progress)
            return hf_hub_download(repo_id, name, revision=sha, token=token, etag_timeout=head_timeout, tqdm_class=bar)

        path = within(what, seconds, lambda: with_retries(what, fetch, timeout=get_timeout, retries=retries))
    if Path(path).stat().st_size > max_bytes:  # the HEAD did not say, or said less than came
        raise too_large(what, Path(path).stat().st_size, max_bytes, fix)
    return path


def too_large(what: str, size: int, limit: int, fix: str = DOWNLOAD_FIX) -> SourceAccessError:
    return SourceAccessError(f"{what}: {size} bytes is over the {limit}-byte limit for files read whole; {fix}")


def scrub(text: str, token: str | None = None) -> str:
    """A message safe to print or log: the token (if any) replaced, and no 'hf_…' secrets.

    >>> scrub("bad token hf_abcdefghijkl", None)
    'bad token hf_***'
    """
    if token and isinstance(token, str):
        text = text.replace(token, "***")
    return re.sub(r"\bhf_[A-Za-z0-9]{8,}\b", "hf_***", text)


@contextlib.contextmanager
def hub_errors(what: str, *, token: str | None = None, write: bool = False, instead: str | None = None):
    """Turn huggingface_hub / HTTP / network failures into hfprobe's typed, one-line errors, tokens scrubbed.

    The one place this mapping is written. `write=True` words the access errors for writes (commits, pull
    requests) and maps the Hub's card-metadata refusal to CardError. `instead` is what the user can do instead
    of the write that was refused, for the message's advice (e.g. "write the card locally with --out DIR"); by
    default a refused pull request (`annotate --push`, the only one hfprobe opens) suggests omitting --push, and
    any other write suggests nothing beyond a write token.

    >>> from huggingface_hub.errors import HfHubHTTPError
    >>> import httpx
    >>> resp = httpx.Response(403, request=httpx.Request("POST", "https://hf.co/api/repos/create"))
    >>> with hub_errors("org/lora", write=True, instead="write the card locally with --out DIR"):
    ...     raise HfHubHTTPError("403 Forbidden", response=resp)
    Traceback (most recent call last):
    hfprobe.errors.HubWriteError: org/lora: the token has no write access to this repo; use a token with write \
permission (or write the card locally with --out DIR)
    """
    try:
        yield
    except HfprobeError as err:
        raise type(err)(scrub(str(err), token)) from None
    except Exception as exc:  # noqa: BLE001 - mapped below, or re-raised unchanged
        mapped = _mapped(exc, what, token, write, instead)
        if mapped is None:
            raise
        raise mapped from None


def _pull_request(exc) -> bool:
    """Whether the refused request opened or touched a pull request (`create_pr=1`, a discussions route)."""
    try:
        url = exc.response.request.url
        return bool(url.params.get("create_pr")) or "/discussions" in url.path
    except Exception:  # noqa: BLE001 - no request to look at: no guess
        return False


def _mapped(exc: Exception, what: str, token, write: bool, instead: str | None = None) -> Exception | None:
    from huggingface_hub import constants
    from huggingface_hub import errors as hf

    if isinstance(exc, hf.GatedRepoError):
        return SourceAccessError(
            f"{what}: the repo is gated; accept its terms on the Hub and pass a token (--token or HF_TOKEN)"
        )
    if isinstance(exc, hf.RepositoryNotFoundError):
        return SourceNotFoundError(
            f"{what}: repo not found (or private); check the name, or pass a token with read access"
        )
    if isinstance(exc, hf.RevisionNotFoundError):
        return SourceNotFoundError(f"{what}: revision not found; check the branch, tag or commit after '@'")
    if isinstance(exc, hf.EntryNotFoundError) and not isinstance(exc, hf.LocalEntryNotFoundError):
        return SourceNotFoundError(
            f"{what}: file not found in the repo; run `hfprobe inspect` on the repo to list its files"
        )
    if isinstance(exc, (hf.OfflineModeIsEnabled, hf.LocalEntryNotFoundError)) and constants.is_offline_mode():
        return NetworkError(
            f"{what}: HF_HUB_OFFLINE is set and this is not in the local cache; unset it or download the files first"
        )
    if isinstance(exc, hf.HfHubHTTPError):
        status = getattr(exc.response, "status_code", "?")
        if write and status == 401:
            return HubWriteError(
                f"{what}: the Hub rejected the token (invalid or expired); create a new write token and set HF_TOKEN"
            )
        if write and status == 403:  # three causes a user fixes in three different places
            said = " ".join(
                [str(getattr(exc, "server_message", "") or ""), exc.response.headers.get("X-Error-Message", "")]
            ).lower()
            if re.search(r"discussions?\b.*\b(disabled|closed)|(pull requests?|community).*\bdisabled", said):
                return HubWriteError(
                    f"{what}: the repo's discussions (and so pull requests) are disabled by its owner; "
                    "nothing was changed; write the card locally with --out DIR and send it another way"
                )
            if re.search(r"fine[- ]?grained|scope|permission|discussion\.write", said):
                return HubWriteError(
                    f"{what}: the token is not allowed to open pull requests here (a fine-grained token without "
                    "the 'discussion.write' permission for this repo); nothing was changed; add that permission at "
                    "https://huggingface.co/settings/tokens or use a write token"
                )
            if instead is None and _pull_request(exc):
                instead = "omit --push to write locally"
            alternative = f" (or {instead})" if instead else ""
            return HubWriteError(
                f"{what}: the token has no write access to this repo; use a token with write permission{alternative}"
            )
        if write and status == 412:  # parent_commit no longer the head: someone pushed while we read
            return HubWriteError(
                f"{what}: the repo changed while hfprobe was reading it (HTTP 412); nothing was changed; rerun"
            )
        if status in (401, 403):
            return SourceAccessError(f"{what}: access denied (HTTP {status}); pass a token with read access")
        first = scrub(str(exc), token).strip().splitlines()[0][:120] if str(exc).strip() else ""
        done = "; nothing was changed" if write else ""
        return (HubWriteError if write else NetworkError)(
            f"{what}: the Hub answered HTTP {status} ({first}){done}; try again later"
        )
    if (
        write and isinstance(exc, ValueError) and "metadata" in str(exc).lower()
    ):  # create_commit's validate-yaml refusal
        return CardError(f"{what}: the Hub refused the card's YAML ({scrub(' '.join(str(exc).split()), token)[:150]})")
    if isinstance(exc, (ConnectionError, TimeoutError, OSError, hf.LocalEntryNotFoundError)) or type(
        exc
    ).__module__.startswith(("httpx", "httpcore")):
        done = "; nothing was changed" if write else ""
        return NetworkError(
            f"{what}: cannot reach {constants.ENDPOINT} ({type(exc).__name__}){done}; check the network, "
            "or set HF_HUB_OFFLINE=1 to use the local cache"
        )
    return None

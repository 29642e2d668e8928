"""Hub transport: ranged reads of one file on the Hub (or HF_ENDPOINT), and the one place where
huggingface_hub's and the network's exceptions become hfprobe's typed, one-line errors (`hub_errors`).

A server that ignores Range (200 with the whole body) still gives the right bytes; the source records it.
"""

from __future__ import annotations

import contextlib
import re
import tempfile

from ..errors import CardError, HfprobeError, HubWriteError, NetworkError, SourceAccessError, SourceNotFoundError
from .local import ByteCounter


class RemoteFile:
    """A file on the Hub (or HF_ENDPOINT) read with ranged GETs through huggingface_hub's session."""

    def __init__(self, url: str, name: str, headers: dict, counter: ByteCounter, on_range_ignored):
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
        with hub_errors(self.name):
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


def scrub(text: str, token: str | None = None) -> str:
    """A message safe to print or log: the token (if any) replaced, and no 'hf_…' secrets.

    >>> scrub("bad token hf_abcdefghijkl", None)
    'bad token hf_***'
    """
    if token and isinstance(token, str):
        text = text.replace(token, "***")
    return re.sub(r"\bhf_[A-Za-z0-9]{8,}\b", "hf_***", text)


@contextlib.contextmanager
def hub_errors(what: str, *, token: str | None = None, write: bool = False):
    """Turn huggingface_hub / HTTP / network failures into hfprobe's typed, one-line errors, tokens scrubbed.

    The one place this mapping is written. `write=True` words the access errors for writes (commits, pull
    requests) and maps the Hub's card-metadata refusal to CardError.
    """
    try:
        yield
    except HfprobeError as err:
        raise type(err)(scrub(str(err), token)) from None
    except Exception as exc:  # noqa: BLE001 - mapped below, or re-raised unchanged
        mapped = _mapped(exc, what, token, write)
        if mapped is None:
            raise
        raise mapped from None


def _mapped(exc: Exception, what: str, token, write: bool) -> Exception | None:
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
        if write and status == 403:
            return HubWriteError(
                f"{what}: the token has no write access to this repo; use a token with write permission "
                "(or omit --push to write locally)"
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

"""HTTP for Hub reads: a timeout on every request, bounded retries with backoff, and replies read only as far
as they were asked for. Used by `hub.py` (listings, companion files) and by `ranged.RemoteFile` (ranged reads).

- Timeouts are huggingface_hub's: `HF_HUB_DOWNLOAD_TIMEOUT` for GETs, `HF_HUB_ETAG_TIMEOUT` for HEADs (10 s each).
- A request that times out, loses its connection, is cut short, or gets 408/429/500/502/503/504 is retried
  `HFPROBE_HUB_RETRIES` times (default 2), waiting `HFPROBE_HUB_BACKOFF` s (default 1) doubled each time, or what
  a 429/503's `Retry-After` asks for (up to 30 s; a longer wait is refused at once). Then one `NetworkError` line.
- A reply may take its timeout plus one more per MiB asked (`reply_budget`: slower than 100 KiB/s at the default
  10 s is a stall, retried like a timeout), so a server that trickles a byte at a time cannot hold a read
  forever; a download through `hf_hub_download` (companions, pickles) is held to the same rate (`within`).
- A body is never read past what was asked: a 206 larger than asked is cut, an error body is read to 64 KiB,
  a server that ignores Range is read only up to `--max-unranged` (spooled to disk past 8 MiB; ranged.py).

    >>> backoff(0, 1.0), backoff(1, 1.0), backoff(5, 1.0)
    (1.0, 2.0, 8.0)
    >>> reply_budget(10.0, 0), reply_budget(10.0, 3 * 1024 * 1024)
    (10.0, 40.0)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import NetworkError
from .local import ByteCounter

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_STATUS = (408, 429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 30.0  # seconds; a server asking for longer is refused at once, not waited for
MAX_BACKOFF = 8.0
ERROR_BODY_BYTES = 64 * 1024  # enough for the Hub's JSON error message; the rest of an error body is never read
SLOW_BYTES = 1024 * 1024  # a reply may take one timeout more per this many bytes (100 KiB/s at a 10 s timeout)


class ShortReply(Exception):
    """A reply with fewer bytes than it promised: a network fault, retried like a dropped connection."""

    def __init__(self, got: int, wanted: int, first: int):
        super().__init__(f"{got} of {wanted} bytes")
        self.got, self.wanted, self.first = got, wanted, first


class Stalled(Exception):
    """A reply slower than `reply_budget` allows: a server trickling bytes, retried like a timeout."""

    def __init__(self, got: int, wanted: int, seconds: float):
        super().__init__(f"{got} of {wanted} bytes in {seconds:.1f} s")
        self.got, self.wanted, self.seconds = got, wanted, seconds


def reply_budget(timeout: float, nbytes: int) -> float:
    """Seconds a reply of `nbytes` may take in all: the timeout, plus one timeout per SLOW_BYTES."""
    return timeout * (1 + nbytes / SLOW_BYTES)


def within(what: str, seconds: float, work: Callable[[], T]) -> T:
    """`work()` run in a daemon thread and waited for at most `seconds`; past that one `NetworkError` line (the
    thread is left to its own timeouts: a library call cannot be interrupted from outside)."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed over to the caller's thread as is
            box["error"] = exc

    worker = threading.Thread(target=run, name="hfprobe-download", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        timeout, _ = timeouts()
        raise NetworkError(
            f"{what}: the download did not finish within {seconds:.0f} s (slower than 1 MiB per {timeout:g} s); "
            "check the network, or raise HF_HUB_DOWNLOAD_TIMEOUT"
        )
    if "error" in box:
        raise box["error"]
    return box["value"]


def timeouts() -> tuple[float, float]:
    """(GET timeout, HEAD timeout) in seconds, as huggingface_hub reads them from the environment."""
    from huggingface_hub import constants

    return float(constants.HF_HUB_DOWNLOAD_TIMEOUT), float(constants.HF_HUB_ETAG_TIMEOUT)


def backoff(attempt: int, base: float) -> float:
    """Seconds to wait before retry number `attempt + 1`."""
    return min(MAX_BACKOFF, base * 2**attempt)


def _transient(exc: BaseException) -> tuple[bool, float | None]:
    """(whether `exc` is worth retrying, the Retry-After the server asked for)."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    faults = ShortReply | Stalled | httpx2.TimeoutException | httpx2.NetworkError | httpx2.RemoteProtocolError
    if isinstance(exc, faults):
        return True, None
    if isinstance(exc, HfHubHTTPError) and exc.response is not None and exc.response.status_code in RETRY_STATUS:
        value = (exc.response.headers.get("retry-after") or "").strip()
        return True, float(value) if value.isdigit() else None
    return False, None


def _give_up(what: str, exc: BaseException, tries: int, timeout: float) -> NetworkError:
    import httpx2
    from huggingface_hub import constants

    where = constants.ENDPOINT
    offline = "or set HF_HUB_OFFLINE=1 to use the local cache"
    if isinstance(exc, httpx2.TimeoutException):
        return NetworkError(
            f"{what}: no answer from {where} within {timeout:g} s ({tries} tries); check the network and HF_ENDPOINT, "
            f"raise HF_HUB_DOWNLOAD_TIMEOUT / HF_HUB_ETAG_TIMEOUT, {offline}"
        )
    if isinstance(exc, Stalled):
        return NetworkError(
            f"{what}: the server sent {exc.got} of {exc.wanted} bytes in {exc.seconds:.0f} s, slower than 1 MiB per "
            f"{timeout:g} s ({tries} tries); check the network, or raise HF_HUB_DOWNLOAD_TIMEOUT"
        )
    if isinstance(exc, ShortReply):
        return NetworkError(
            f"{what}: the server sent {exc.got} of the {exc.wanted} bytes asked from byte {exc.first} ({tries} tries); "
            "the connection or the server is faulty, try again later"
        )
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is not None:
        return NetworkError(f"{what}: the Hub answered HTTP {status} ({tries} tries); try again later")
    return NetworkError(
        f"{what}: cannot reach {where} ({type(exc).__name__}, {tries} tries); check the network and HF_ENDPOINT, "
        f"{offline}"
    )


def with_retries(what: str, attempt: Callable[[], T], *, timeout: float, retries: int | None = None) -> T:
    """`attempt()` (one request, read and checked), retried on transient failures (`retries` times, default
    `config.hub_retries()`); see the module docstring."""
    from ..config import hub_backoff, hub_retries

    retries, base = hub_retries() if retries is None else retries, hub_backoff()
    for n in range(retries + 1):
        try:
            return attempt()
        except Exception as exc:  # noqa: BLE001 - classified just below; anything else goes up unchanged
            transient, retry_after = _transient(exc)
            if not transient:
                raise
            if retry_after is not None and retry_after > MAX_RETRY_AFTER:
                raise NetworkError(
                    f"{what}: the Hub is rate-limiting (asks to retry in {retry_after:g} s); try again later"
                ) from None
            if n == retries:
                raise _give_up(what, exc, n + 1, timeout) from None
            wait = retry_after if retry_after is not None else backoff(n, base)
            log.info("%s: %s; retry %d/%d in %.1f s", what, type(exc).__name__, n + 1, retries, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


def hub_read(what: str, read: Callable[[], T]) -> T:
    """`read()`, one read through huggingface_hub (`model_info`, a listing, `hf_hub_download`, `snapshot_download`),
    retried on transient failures as hfprobe's own requests are. Needed because huggingface_hub closes the client
    every thread shares after a connect error in any one of them, under every request in flight (a batch, the
    webhook's workers, a Space's visitors), and `hf_hub_download` does not retry a connection lost before its reply.
    Never a write, where one cut short may have been made (`create_repo(exist_ok=True)` is a read here: asked again,
    it finds the repo made)."""
    return with_retries(what, read, timeout=timeouts()[0])


def raise_for_status(resp) -> None:
    """huggingface_hub's own error for a failed reply (so `hub_errors` maps it), reading at most 64 KiB of its body."""
    if resp.status_code < 400:
        return
    import httpx2
    from huggingface_hub.utils import hf_raise_for_status

    body = read_at_most(resp, ERROR_BODY_BYTES)
    headers = {k: v for k, v in resp.headers.items() if k.lower() not in ("content-encoding", "content-length")}
    hf_raise_for_status(httpx2.Response(resp.status_code, headers=headers, content=body, request=resp.request))


def read_at_most(
    resp, limit: int, *, counter: ByteCounter | None = None, copy: bool = True, timeout: float | None = None
):
    """Up to `limit` bytes of a streamed body (fewer only at its end); what follows is never read. Raises
    `Stalled` when the body comes slower than `reply_budget(timeout, limit)` allows (timeout: the GET timeout).
    `copy=False` returns the bytearray it filled (no second copy of a large body)."""
    budget = reply_budget(timeout if timeout is not None else timeouts()[0], limit)
    started = time.monotonic()
    out = bytearray()
    for chunk in resp.iter_bytes():  # as it arrives (a fixed size would wait for a full chunk)
        take = chunk[: limit - len(out)]
        out += take
        if counter is not None:
            counter.add(len(take))
        if len(out) >= limit:
            break
        if time.monotonic() - started > budget:
            raise Stalled(len(out), limit, time.monotonic() - started)
    return bytes(out) if copy else out

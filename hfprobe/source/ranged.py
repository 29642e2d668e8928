"""Ranged reads of one remote weights file (`RemoteFile`), and the cached first bytes or index ranges an
offline rerun reads instead (`CachedFile`). Each GET goes through transport.py: a timeout, bounded retries, a
reply read only as far as it was asked for.

- The first read asks for the length prefix and a typical header at once (`SPECULATIVE_BYTES`); the file's
  first bytes are kept and written to the head cache (`hub.head_cache`), zip and GGUF index reads as segments.
- A server that ignores Range is read from the start only as far as needed, never past `--max-unranged`.

    >>> content_range("bytes 0-7/100")
    (0, 7, 100)
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..config import write_atomic
from ..errors import NetworkError
from .local import ByteCounter
from .transport import ShortReply, Stalled, raise_for_status, read_at_most, reply_budget, timeouts, with_retries

log = logging.getLogger(__name__)

# The first read of a remote file asks for this much: the 8-byte length prefix and a typical header in one GET
# (every realzoo header is under 40 kB), capped at an eighth of the file so small files are not read whole.
SPECULATIVE_BYTES = 64 * 1024
HEAD_MAX = 16 * 1024 * 1024  # a file's first bytes kept in memory (its header cached for offline reruns) up to this
# Zip pickles, GGUF and ONNX files keep their index in several places (a zip's directory is at its end, an ONNX
# tensor's fields before its data): every ranged read of one, up to this much in all, is cached for offline reruns
# (never tensor data by intent: hfprobe reads no value of these formats in ranges; a pickle's tensors come whole
# through the Hub cache, a GGUF's or an ONNX model's not at all)
SEGMENTS_MAX = 16 * 1024 * 1024
SEGMENTS_MAGIC = b"hfprobe-segments\x01"  # a cache file of several byte ranges; otherwise it is a file's first bytes
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # a Range-ignoring server's body past this goes to a temporary file

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


def content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """(first, last, total or None) from a Content-Range header.

    >>> content_range("bytes 0-7/100"), content_range("bytes 5-9/*"), content_range("nonsense")
    ((0, 7, 100), (5, 9, None), None)
    """
    m = _CONTENT_RANGE.match(value or "")
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), (int(m.group(3)) if m.group(3) != "*" else None)


class RemoteFile:
    """A file on the Hub (or HF_ENDPOINT) read with ranged GETs, each bounded, retried and counted.

    The first read asks for the length prefix and a typical header at once; the file's first bytes are kept
    (and written to `head_cache`, so an offline rerun can read the header). A server that ignores Range is
    read from the start only as far as needed (the whole body when it is known to fit the cap), never past
    `max_unranged` bytes.
    """

    def __init__(
        self,
        url: str,
        name: str,
        headers: dict,
        counter: ByteCounter,
        *,
        size: int | None = None,
        on_range_ignored: Callable[[], None] | None = None,
        max_unranged: int | None = None,
        head_cache: Path | None = None,
        errors: Callable[[str], contextlib.AbstractContextManager] | None = None,
    ):
        self.url, self.name, self._counter = url, name, counter
        self._headers = {**headers, "Accept-Encoding": "identity"}  # Range counts raw bytes; never a gzip stream
        self._size = size
        self._on_range_ignored = on_range_ignored or (lambda: None)
        self._max_unranged = max_unranged
        self._head_cache = head_cache
        self._errors = errors or (lambda what: contextlib.nullcontext())  # hub.hub_errors: HTTP errors -> ours
        self._head = bytearray()  # bytes 0..len(_head) of the file
        self._segments: dict[int, bytes] = {}  # other ranges read, kept for a zip or GGUF file (`SEGMENTS_MAX`)
        self._spool: tempfile.SpooledTemporaryFile | None = None  # a Range-ignoring server's body, from byte 0
        self._spooled = 0
        self._complete = False  # the spool holds the whole file
        self._unranged = 0  # bytes read from bodies that ignored Range (all count against max_unranged)

    @property
    def size(self) -> int:
        if self._size is None:
            self.read(0, 8)  # the speculative first read; its Content-Range (or Content-Length) tells the size
        if self._size is None:
            raise NetworkError(
                f"{self.name}: the server does not say how long the file is (no Content-Range total or Content-Length "
                "within the read limit); use a Hub-compatible server"
            )
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        end = offset + length
        if self._size is not None:
            end = min(end, self._size)
            if offset >= end:
                return b""
        if end <= len(self._head):
            return bytes(self._head[offset:end])
        if self._spool is not None:
            return self._read_unranged(offset, end)
        if offset <= len(self._head) and end <= HEAD_MAX:  # contiguous with the first bytes: extend them
            start = len(self._head)
            want = max(end, self._speculative()) if start == 0 else end
            if self._size is not None:
                want = min(want, self._size)
            data = self._get(start, want)
            if self._spool is not None:  # the server ignored Range on this very request
                return data[offset - start : end - start]
            self._head += data
            self._save_head()
            return bytes(self._head[offset:end])
        for first, data in self._segments.items():
            if first <= offset and end <= first + len(data):
                return data[offset - first : end - first]
        data = self._get(offset, end)
        if self._indexed() and sum(map(len, self._segments.values())) + len(data) <= SEGMENTS_MAX:
            self._segments[offset] = data
            self._save_head()
        return data

    @property
    def whole(self) -> bool:
        """Whether the whole file is already in hand (a server that ignored Range sent it, within the cap)."""
        return self._complete

    def _speculative(self) -> int:
        if self._size is None:
            return SPECULATIVE_BYTES
        return max(1024, min(SPECULATIVE_BYTES, self._size // 8))

    def _get(self, first: int, end: int) -> bytes:
        """Bytes [first, end) (fewer only at the end of the file), retried on transient failures."""
        timeout, _ = timeouts()
        with self._errors(self.name):
            return with_retries(self.name, lambda: self._get_once(first, end, timeout), timeout=timeout)

    def _get_once(self, first: int, end: int, timeout: float) -> bytes:
        from huggingface_hub import get_session

        headers = {**self._headers, "Range": f"bytes={first}-{end - 1}"}
        log.debug("GET %s bytes=%d-%d", self.name, first, end - 1)  # the name, never the headers (a token)
        with get_session().stream("GET", self.url, headers=headers, timeout=timeout) as resp:
            if resp.status_code == 416:  # asked past the end: the file is shorter than the header claims
                rng = content_range((resp.headers.get("content-range") or "").replace("*", "0-0"))
                self._size = rng[2] if rng and rng[2] is not None else (self._size if self._size is not None else first)
                return b""
            raise_for_status(resp)
            if resp.status_code == 200:
                return self._from_whole_body(resp, first, end, timeout)
            if resp.status_code != 206:
                raise NetworkError(f"{self.name}: unexpected HTTP {resp.status_code} to a ranged read; try again later")
            encoding = (resp.headers.get("content-encoding") or "identity").lower()
            if encoding != "identity":
                raise NetworkError(
                    f"{self.name}: the server compressed a ranged reply ({encoding}); hfprobe needs the raw bytes, "
                    "so use a server or proxy that passes them through"
                )
            rng = content_range(resp.headers.get("content-range"))
            if rng is None or rng[0] != first:
                got = resp.headers.get("content-range") or "no Content-Range"
                raise NetworkError(
                    f"{self.name}: asked for bytes {first}-{end - 1}, the server answered {got}; the server or a proxy "
                    "mishandles Range requests"
                )
            if rng[2] is not None:
                self._size = rng[2]
            wanted = (min(end, self._size) if self._size is not None else end) - first
            data = read_at_most(resp, wanted, counter=self._counter, timeout=timeout)  # one larger than asked: cut
            if len(data) < wanted:
                raise ShortReply(len(data), wanted, first)
            return data

    # ---- servers that ignore Range ------------------------------------------------------------------------
    def _unranged_cap(self) -> int:
        from ..config import max_unranged

        return self._max_unranged if self._max_unranged is not None else max_unranged()

    def _refuse_unranged(self, end: int) -> NetworkError:
        cap = self._unranged_cap()
        return NetworkError(
            f"{self.name}: the server ignored Range (it sends whole files) and reading this needs the first {end} "
            f"bytes, over the {cap}-byte limit; raise --max-unranged (HFPROBE_MAX_UNRANGED) or use a server that "
            "honours Range"
        )

    def _from_whole_body(self, resp, first: int, end: int, timeout: float) -> bytes:
        """A 200 to a ranged GET: the body is the file from byte 0. Spool it as far as needed: the whole file when
        it fits the cap, else only up to `end`; all bodies of this file together never pass the cap."""
        self._on_range_ignored()
        remaining = self._unranged_cap() - self._unranged
        length = resp.headers.get("content-length")
        if self._size is None and length and length.isdigit() and not resp.headers.get("content-encoding"):
            self._size = int(length)
        if self._size is None:
            target = remaining  # no length: read on to the end of the body, or to the cap
        elif self._size <= remaining:
            target = self._size  # the whole file fits: one body now, and later reads cost nothing
        else:
            target = min(end, self._size)
        if min(end, self._size or end) > remaining:
            raise self._refuse_unranged(end)
        if self._spool is None:
            self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed in close()
        skip, pos, ended = self._spooled, 0, True
        budget, started = reply_budget(timeout, target), time.monotonic()
        for chunk in resp.iter_bytes():  # as it arrives (a fixed size would wait for a full chunk)
            take = chunk[: max(0, target - pos)]
            if pos + len(take) > skip:
                new = take[max(0, skip - pos) :]
                self._spool.seek(self._spooled)
                self._spool.write(new)
                self._spooled += len(new)
            pos += len(take)
            self._counter.add(len(take))
            self._unranged += len(take)
            if pos >= target:
                ended = False
                break
            if time.monotonic() - started > budget:
                raise Stalled(pos, target, time.monotonic() - started)
        if self._size is None:
            if not ended:
                raise NetworkError(
                    f"{self.name}: the server ignored Range and sends more than the {self._unranged_cap()}-byte limit "
                    "without saying how long the file is; raise --max-unranged (HFPROBE_MAX_UNRANGED) or use a "
                    "server that honours Range"
                )
            self._size = pos  # the body ended: that is the whole file
        elif ended and pos < min(target, self._size):
            raise ShortReply(pos, target, 0)
        self._complete = self._spooled >= self._size
        return self._spooled_bytes(first, end)

    def _spooled_bytes(self, first: int, end: int) -> bytes:
        end = min(end, self._spooled)
        if first >= end:
            return b""
        self._spool.seek(first)
        return self._spool.read(end - first)

    def _read_unranged(self, first: int, end: int) -> bytes:
        if end <= self._spooled or self._complete:
            return self._spooled_bytes(first, end)
        if self._unranged + end > self._unranged_cap():  # a new body starts again at byte 0
            raise self._refuse_unranged(end)
        return self._get(first, end)  # asks with Range again; a 200 continues the spool, a 206 just answers

    # ---- the header cache -----------------------------------------------------------------------------------
    def _indexed(self) -> bool:
        """A zip (torch pickle), GGUF or ONNX file: its index is every byte hfprobe reads of it in ranges."""
        return self._head[:4] in (b"PK\x03\x04", b"GGUF") or self.name.lower().endswith(".onnx")

    def _save_head(self) -> None:
        """Cache what an offline rerun needs to read the file's index, and no tensor data: a safetensors header
        (the length prefix and the JSON) once it is all here; every range read of a zip or GGUF file so far."""
        if self._head_cache is None or len(self._head) < 8:
            return
        if self._indexed():
            data = _segments_file({0: bytes(self._head), **self._segments})
        else:
            end = 8 + int.from_bytes(self._head[:8], "little")
            if end > len(self._head) or self._head_cache.is_file():
                return
            data = bytes(self._head[:end])
        try:
            self._head_cache.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self._head_cache, data, durable=False)
        except OSError as err:  # a read-only cache costs the offline rerun, never this run
            log.debug("could not cache the first bytes of %s: %s", self.name, err)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool, self._spooled, self._complete, self._unranged = None, 0, False, 0


def _segments_file(segments: dict[int, bytes]) -> bytes:
    """Byte ranges as one cache file: the magic, an 8-byte count, (offset, length) pairs of 8 bytes each, the data."""
    ranges = sorted(segments.items())
    table = b"".join(o.to_bytes(8, "little") + len(d).to_bytes(8, "little") for o, d in ranges)
    return SEGMENTS_MAGIC + len(ranges).to_bytes(8, "little") + table + b"".join(d for _, d in ranges)


def read_segments(data: bytes) -> dict[int, bytes]:
    """A cache file's byte ranges: {offset: bytes}; a file without the magic is a file's first bytes.

    >>> read_segments(_segments_file({0: b"PK", 10: b"end"})), read_segments(b"header")
    ({0: b'PK', 10: b'end'}, {0: b'header'})
    """
    if not data.startswith(SEGMENTS_MAGIC):
        return {0: data}
    pos = len(SEGMENTS_MAGIC)
    count = int.from_bytes(data[pos : pos + 8], "little")
    table, pos = data[pos + 8 : pos + 8 + 16 * count], pos + 8 + 16 * count
    out = {}
    for n in range(count):
        offset = int.from_bytes(table[16 * n : 16 * n + 8], "little")
        length = int.from_bytes(table[16 * n + 8 : 16 * n + 16], "little")
        out[offset], pos = data[pos : pos + length], pos + length
    return out


class CachedFile:
    """A Hub file of which only what indexes it is cached (a safetensors header, a zip pickle's directory and
    data.pkl, a GGUF header): what an offline rerun can read."""

    def __init__(self, data: bytes, size: int, name: str, counter: ByteCounter):
        self._segments, self.size, self.name, self._counter = read_segments(data), size, name, counter

    def read(self, offset: int, length: int) -> bytes:
        end = min(offset + max(length, 0), self.size)
        if offset >= end:
            return b""
        for first, data in self._segments.items():
            if first <= offset and end <= first + len(data):
                self._counter.add(end - offset)
                return data[offset - first : end - first]
        cached = sum(map(len, self._segments.values()))
        raise NetworkError(
            f"{self.name}: HF_HUB_OFFLINE is set and only {cached} bytes of this file (what indexes it) are cached; "
            "unset HF_HUB_OFFLINE to read its tensors"
        )

    def close(self) -> None:
        pass

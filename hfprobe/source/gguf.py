"""GGUF headers (llama.cpp's single-file format), read from any random-access file and checked as they are parsed.

    [magic "GGUF"][u32 version 2|3][u64 tensor count][u64 metadata count]
    [metadata: key (u64 length + UTF-8), u32 value type, value]...
    [tensor infos: name, u32 n_dims, u64 dims (innermost first), u32 ggml type, u64 offset]...
    [padding to `general.alignment`][tensor data]

Only the header is read, in chunks that grow as it goes (a header is mostly the tokenizer: 1-10 MB for real
models), never the tensor data. Scalars and strings of the metadata are kept; arrays (the vocabulary, merges)
are skipped over and kept as their length. Every bound (`MAX_*`) is a clear `InvalidWeightsError`, so any file
parses in time linear in its header. A tensor's shape is given in torch's order (outermost first), so a Linear's
weight is (out, in) as in a safetensors file; its dtype is the ggml type's name (`Q4_K`, `F16`, ...).

Example:
    >>> from hfprobe.source import resolve
    >>> src = resolve("llama-2-7b.Q4_K_M.gguf")                # doctest: +SKIP
    >>> hdr = read_gguf_header(src.open(src.default_file))     # doctest: +SKIP
    >>> hdr.metadata["general.architecture"], hdr.tensors["blk.0.attn_q.weight"].shape  # doctest: +SKIP
    ('llama', (4096, 4096))
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import InvalidWeightsError
from .safetensors import TensorInfo, quote
from .sniff import not_weights, renamed

MAGIC = b"GGUF"
MAX_HEADER_BYTES = 256 * 1024 * 1024  # the largest vocabularies (256k tokens with scores) take ~20 MB
MAX_TENSORS = 100_000
MAX_METADATA = 100_000
MAX_KEY_BYTES = 65_536
MAX_ARRAY = 16 * 1024 * 1024  # elements of one metadata array
MAX_DIMS = 8  # ggml tensors have at most 4
FIRST_CHUNK = 64 * 1024
MAX_CHUNK = 8 * 1024 * 1024

# ggml tensor types (llama.cpp's ggml.h) -> name; a type not listed is named by its number
GGML_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K",
    12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
    20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
    29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
}  # fmt: skip
# metadata value types: fixed-size scalars (struct format), 8 = string, 9 = array
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
STRING, ARRAY = 8, 9


@dataclass
class GgufHeader:
    version: int
    metadata: dict  # key -> int | float | bool | str, or ("array", length) for arrays
    tensors: dict[str, TensorInfo]  # begin/end relative to the data section; end = begin (sizes are not computed)
    header_bytes: int


class _Cursor:
    """Sequential reads over a random-access file, fetched in chunks that double up to MAX_CHUNK."""

    def __init__(self, f):
        self.f, self.name, self.size = f, f.name, f.size
        self.buf, self.start, self.pos, self.chunk = b"", 0, 0, FIRST_CHUNK

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > MAX_HEADER_BYTES:
            raise _bad(self.name, f"the header runs past {MAX_HEADER_BYTES // 2**20} MB, hfprobe's limit")
        if end > self.size:
            raise _bad(self.name, f"the header runs past the end of the {self.size}-byte file (truncated?)")
        if end > self.start + len(self.buf):
            keep = self.buf[self.pos - self.start :]
            want = max(n - len(keep), self.chunk)
            self.chunk = min(self.chunk * 2, MAX_CHUNK)
            more = self.f.read(self.start + len(self.buf), min(want, self.size - self.start - len(self.buf)))
            self.buf, self.start = keep + more, self.pos
            if self.pos + n > self.start + len(self.buf):
                raise _bad(self.name, "the file ended inside its header (truncated?)")
        out = self.buf[self.pos - self.start : end - self.start]
        self.pos = end
        return out

    def unpack(self, fmt: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self, what: str, limit: int) -> str:
        n = self.unpack("Q")
        if n > limit:
            raise _bad(self.name, f"a {what} of {n} bytes, over hfprobe's limit of {limit}")
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(self.name, f"a {what} that is not UTF-8") from None


def _bad(name: str, what: str) -> InvalidWeightsError:
    return InvalidWeightsError(f"{name}: not a valid GGUF file: {what}; re-download or re-convert it")


def is_gguf(f) -> bool:
    """Whether the file starts with GGUF's magic."""
    return f.size >= 4 and f.read(0, 4) == MAGIC


def _value(c: _Cursor, kind: int, key: str):
    if kind in _SCALARS:
        return c.unpack(_SCALARS[kind])
    if kind == STRING:
        return c.string(f"value of {quote(key, 60)}", MAX_HEADER_BYTES)
    if kind != ARRAY:
        raise _bad(c.name, f"metadata {quote(key, 60)} has unknown value type {kind}")
    inner, n = c.unpack("I"), c.unpack("Q")
    if n > MAX_ARRAY:
        raise _bad(c.name, f"metadata {quote(key, 60)} is an array of {n} elements, over hfprobe's limit")
    if inner in _SCALARS:
        c.take(struct.calcsize(_SCALARS[inner]) * n)
    elif inner == STRING:
        for _ in range(n):
            c.take(c.unpack("Q"))  # each bounded by the header limit in take()
    else:  # arrays of arrays do not occur in real files
        raise _bad(c.name, f"metadata {quote(key, 60)} is an array of type {inner}, which hfprobe does not read")
    return ("array", n)


def read_gguf_header(f) -> GgufHeader:
    """Parse and check a GGUF header (metadata and tensor infos); reads the header's bytes and nothing more."""
    c = _Cursor(f)
    if f.size < 24 or c.take(4) != MAGIC:
        head = f.read(0, min(f.size, 512))
        if instead := not_weights(head):
            raise InvalidWeightsError(f"{f.name}: {instead}")
        if (other := renamed(head[:16])) and other[1] != ".gguf":
            raise InvalidWeightsError(f"{f.name}: {other[0]} under a .gguf name; rename it to {other[1]}")
        raise InvalidWeightsError(f"{f.name}: not a GGUF file (no GGUF magic at its start); point hfprobe at a .gguf")
    version = c.unpack("I")
    if version not in (2, 3):
        raise _bad(f.name, f"version {version} (hfprobe reads GGUF 2 and 3)")
    n_tensors, n_meta = c.unpack("Q"), c.unpack("Q")
    if n_tensors > MAX_TENSORS or n_meta > MAX_METADATA:
        raise _bad(f.name, f"{n_tensors} tensors and {n_meta} metadata entries, over hfprobe's limits")
    metadata: dict = {}
    for _ in range(n_meta):
        key = c.string("metadata key", MAX_KEY_BYTES)
        kind = c.unpack("I")
        metadata[key] = _value(c, kind, key)
    tensors: dict[str, TensorInfo] = {}
    for _ in range(n_tensors):
        name = c.string("tensor name", MAX_KEY_BYTES)
        n_dims = c.unpack("I")
        if n_dims > MAX_DIMS:
            raise _bad(f.name, f"tensor {quote(name)} has {n_dims} dimensions")
        dims = struct.unpack(f"<{n_dims}Q", c.take(8 * n_dims))
        ggml_type, offset = c.unpack("I"), c.unpack("Q")
        if name in tensors:
            raise _bad(f.name, f"the header names tensor {quote(name)} twice")
        dtype = GGML_TYPES.get(ggml_type, f"ggml type {ggml_type}")
        tensors[name] = TensorInfo(name, dtype, tuple(reversed(dims)), offset, offset)
    return GgufHeader(version, metadata, tensors, c.pos)

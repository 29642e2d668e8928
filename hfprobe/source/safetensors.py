"""Safetensors headers and tensors, read from any random-access file and trusted only after checking.

The `safetensors` library reads whole local files; hfprobe must read a header and then one tensor
from a remote file with ranged GETs, so it parses the (tiny, documented) container itself and
validates every field before it allocates anything:

    [8 bytes: little-endian u64 N][N bytes: JSON header][data: tensors back to back]

Every problem raises `InvalidWeightsError` with the file name, what is wrong, and what to do.

Example:
    >>> from hfprobe.source import resolve
    >>> src = resolve("adapter_model.safetensors")            # doctest: +SKIP
    >>> f = src.open(src.default_file)                         # doctest: +SKIP
    >>> hdr = read_header(f)                                   # doctest: +SKIP
    >>> w = read_tensor(f, hdr, "base_model.model.q.lora_A.weight")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Protocol

import torch

from ..errors import InvalidWeightsError

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the format's own limit; a larger header is not a safetensors file


# safetensors dtype name -> (torch dtype, bytes per element)
DTYPES: dict[str, tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "F8_E4M3": (torch.float8_e4m3fn, 1),
    "F8_E5M2": (torch.float8_e5m2, 1),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "U16": (torch.uint16, 2),
    "U32": (torch.uint32, 4),
    "U64": (torch.uint64, 8),
    "BOOL": (torch.bool, 1),
}


class RandomAccessFile(Protocol):
    """What the readers need of a file: a name for messages, its size, and ranged reads."""

    name: str
    size: int

    def read(self, offset: int, length: int) -> bytes: ...


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's entry in a header; `begin`/`end` are relative to the data section."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass
class Header:
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str] = field(default_factory=dict)
    data_offset: int = 8  # absolute offset of the data section: 8 + header length
    file_size: int = 0


def _bad(name: str, problem: str, fix: str = "re-download or re-export the file") -> InvalidWeightsError:
    return InvalidWeightsError(f"{name}: {problem}; {fix}")


def read_header(f: RandomAccessFile) -> Header:
    """Read and validate the header of a safetensors file (reads 8 + N bytes, nothing more)."""
    name, size = f.name, f.size
    if size == 0:
        raise _bad(name, "the file is empty")
    if size < 8:
        raise _bad(name, f"the file is {size} bytes, too short for a safetensors header (truncated?)")
    (n,) = struct.unpack("<Q", f.read(0, 8))
    if n > MAX_HEADER_BYTES:
        raise _bad(name, f"header length {n} exceeds the 100 MB limit, so this is not a safetensors file")
    if 8 + n > size:
        raise _bad(name, f"header length {n} runs past the end of the {size}-byte file (truncated?)")
    raw = f.read(8, n)
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _bad(name, f"the header is not valid JSON ({err.__class__.__name__})") from None
    if not isinstance(obj, dict):
        raise _bad(name, f"the header is a JSON {type(obj).__name__}, not an object")
    meta = obj.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _bad(name, "__metadata__ must map strings to strings")
    data_size = size - 8 - n
    tensors = {key: _tensor_info(name, key, entry, data_size) for key, entry in obj.items()}
    _check_overlaps(name, tensors)
    return Header(tensors=tensors, metadata=dict(meta), data_offset=8 + n, file_size=size)


def _tensor_info(name: str, key: str, entry: object, data_size: int) -> TensorInfo:
    if not isinstance(entry, dict):
        raise _bad(name, f"tensor {key!r} has a malformed header entry")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPES:
        raise _bad(name, f"tensor {key!r} has unknown dtype {dtype!r}", "hfprobe reads " + ", ".join(DTYPES))
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise _bad(name, f"tensor {key!r} has an invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        raise _bad(name, f"tensor {key!r} has data offsets {offsets!r} outside the file's data section (truncated?)")
    begin, end = offsets
    expected = math.prod(shape) * DTYPES[dtype][1]
    if end - begin != expected:
        raise _bad(name, f"tensor {key!r} spans {end - begin} bytes but its shape {shape} of {dtype} needs {expected}")
    return TensorInfo(key, dtype, tuple(shape), begin, end)


def _check_overlaps(name: str, tensors: dict[str, TensorInfo]) -> None:
    spans = sorted((t.begin, t.end, t.name) for t in tensors.values() if t.end > t.begin)
    for (_, end_a, a), (begin_b, _, b) in zip(spans, spans[1:]):
        if begin_b < end_a:
            raise _bad(name, f"tensors {a!r} and {b!r} overlap in the data section")


def read_tensor(f: RandomAccessFile, header: Header, key: str, *, check_finite: bool = True) -> torch.Tensor:
    """Read exactly one tensor's bytes and decode them; NaN or Inf in a float tensor is an error."""
    info = header.tensors[key]
    raw = f.read(header.data_offset + info.begin, info.end - info.begin)
    return decode(f.name, info, raw, check_finite=check_finite)


def decode(name: str, info: TensorInfo, raw: bytes, *, check_finite: bool = True) -> torch.Tensor:
    """Turn a tensor's raw little-endian bytes into a torch tensor (a copy, so it owns its memory)."""
    dtype = DTYPES[info.dtype][0]
    if len(raw) != info.end - info.begin:
        raise _bad(name, f"tensor {info.name!r}: got {len(raw)} bytes, expected {info.end - info.begin} (truncated?)")
    if info.numel == 0:
        return torch.empty(info.shape, dtype=dtype)
    tensor = torch.frombuffer(bytearray(raw), dtype=dtype).reshape(info.shape)
    if check_finite and tensor.is_floating_point() and not bool(torch.isfinite(tensor.float()).all()):
        raise _bad(
            name, f"tensor {info.name!r} contains NaN or Inf values", "the weights are corrupt; retrain or re-export"
        )
    return tensor

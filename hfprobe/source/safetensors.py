"""Safetensors headers and tensors, read from any random-access file and trusted only after checking.

The `safetensors` library reads whole local files; hfprobe must read a header and then one tensor
from a remote file with ranged GETs, so it parses the (tiny, documented) container itself and
validates every field before it allocates anything:

    [8 bytes: little-endian u64 N][N bytes: JSON header][data: tensors back to back]

Every problem raises `InvalidWeightsError` with the file name, what is wrong, and what to do. The header
has bounds (`MAX_*` below: header size, tensor count, key length, dimensions, metadata), each a clear error,
so that reading any header is linear in its size and fast. Reading a header imports no torch; only
`read_tensor`/`decode` do.

A *truncated* file (header intact, data section shorter than the header says) is refused by default;
`read_header(f, allow_truncated=True)` returns its header with `truncated=True`, and `read_tensor` then
refuses any tensor whose bytes are missing with `TruncatedWeightsError`.

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
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ..errors import InvalidWeightsError, TruncatedWeightsError
from .sniff import not_weights, renamed

if TYPE_CHECKING:
    import torch

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the format's own limit; a larger header is not a safetensors file
# tensors in one header: a LoRA on every expert of a mixture holds tens of thousands (Qwen3-30B-A3B's on every
# Linear: 37,248; Qwen3-Next's: 147,840), other single files a few thousand; and their names' characters together,
# which bound the work on a hostile header (regexes run over names): those LoRAs' come to 3 MB and 12 MB
MAX_TENSORS = 200_000
MAX_NAME_CHARS = 16 * 1024 * 1024
MAX_KEY_CHARS = 512  # characters in a tensor name or metadata key (real names are under 300)
MAX_DIMS = 16  # dimensions of one tensor (real weights have at most 5)
MAX_METADATA_ENTRIES = 100_000  # entries in __metadata__
MAX_DIM = 2**62  # one dimension; with the byte check below no product can exceed a u64 file offset
QUOTE_CHARS = 200  # a key or value quoted in a message is cut here, with an ellipsis

# safetensors dtype name -> bytes per element (torch's dtype is looked up only when bytes are decoded)
DTYPE_SIZES: dict[str, int] = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "U16": 2,
    "U32": 4,
    "U64": 8,
    "BOOL": 1,
}
_TORCH_NAMES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "U16": "uint16",
    "U32": "uint32",
    "U64": "uint64",
    "BOOL": "bool",
}


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype of a safetensors dtype name (imports torch).

    >>> str(torch_dtype("BF16"))
    'torch.bfloat16'
    """
    import torch

    return getattr(torch, _TORCH_NAMES[name])


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """`repr(value)` for a one-line message, cut to `limit` characters with an ellipsis.

    >>> quote("abc"), len(quote("x" * 500)), quote("x" * 500)[-3:]
    ("'abc'", 201, 'xx…')
    """
    cut = isinstance(value, str | bytes | list | tuple) and len(value) > limit
    text = repr(value[:limit] if cut else value)
    return text[:limit] + "…" if cut or len(text) > limit else text


class RandomAccessFile(Protocol):
    """What the readers need of a file: a name for messages, its size, and ranged reads."""

    name: str
    size: int

    def read(self, offset: int, length: int) -> bytes: ...


class TensorInfo(NamedTuple):
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
    """A checked header. `truncated`: the data section is shorter than the tensors it describes need."""

    tensors: dict[str, TensorInfo]
    metadata: dict[str, str] = field(default_factory=dict)
    data_offset: int = 8  # absolute offset of the data section: 8 + header length
    file_size: int = 0
    truncated: bool = False
    data_end: int = 0  # where the last tensor ends (relative to the data section)

    @property
    def missing_bytes(self) -> int:
        """Bytes the header describes beyond the end of the file (0 unless truncated)."""
        return max(0, self.data_offset + self.data_end - self.file_size)


_SHARD = "save it in shards (`save_pretrained(…, max_shard_size=…)`), which hfprobe reads as one model"


def _bad(name: str, problem: str, fix: str = "re-download or re-export the file") -> InvalidWeightsError:
    return InvalidWeightsError(f"{name}: {problem}; {fix}")


def _read_exact(f: RandomAccessFile, offset: int, length: int) -> bytes:
    data = f.read(offset, length)
    if len(data) != length:
        raise _bad(f.name, f"got {len(data)} of the {length} bytes at offset {offset} (the file changed while read?)")
    return data


def _unique_object(pairs: list) -> dict:
    """json object hook: a key given twice makes the header ambiguous (the last would silently win)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _Duplicate(dup)
    return out


class _Duplicate(Exception):
    pass


def read_header(f: RandomAccessFile, *, allow_truncated: bool = False) -> Header:
    """Read and validate the header of a safetensors file (reads 8 + N bytes, nothing more).

    `allow_truncated`: accept a data section shorter than the header describes (see the module docstring).
    """
    name, size = f.name, f.size
    if size == 0:
        raise _bad(name, "the file is empty")
    if size < 8:
        raise _bad(name, f"the file is {size} bytes, too short for a safetensors header (truncated?)")
    first = _read_exact(f, 0, 8)
    (n,) = struct.unpack("<Q", first)
    if n > MAX_HEADER_BYTES or 8 + n > size:  # no safetensors file: what it is, where it says so at its start
        text = first.startswith(b"version ") or first.lstrip()[:1] in (b"<", b"")  # (a pointer's or a page's start)
        if text and (instead := not_weights(f.read(0, min(size, 512)))):
            raise InvalidWeightsError(f"{name}: {instead}")
        if (other := renamed(first)) and other[1] != ".safetensors":
            raise InvalidWeightsError(f"{name}: {other[0]} under a .safetensors name; rename it to {other[1]}")
    if n > MAX_HEADER_BYTES:
        raise _bad(name, f"header length {n} exceeds the 100 MB limit, so this is not a safetensors file")
    if 8 + n > size:
        raise _bad(name, f"header length {n} runs past the end of the {size}-byte file (truncated?)")
    raw = _read_exact(f, 8, n)
    try:
        text = raw.decode("utf-8")
        obj = json.loads(text)
        if isinstance(obj, dict) and raw.count(b'"data_offsets"') != len(obj) - ("__metadata__" in obj):
            obj = json.loads(text, object_pairs_hook=_unique_object)  # a name given twice? (slow path, exact)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        kind = "nested too deeply" if isinstance(err, RecursionError) else err.__class__.__name__
        raise _bad(name, f"the header is not valid JSON ({kind})") from None
    except _Duplicate as dup:
        raise _bad(name, f"the header names {quote(dup.args[0])} twice") from None
    if not isinstance(obj, dict):
        raise _bad(name, f"the header is a JSON {type(obj).__name__}, not an object")
    meta = obj.pop("__metadata__", None) or {}
    _check_metadata(name, meta)
    if len(obj) > MAX_TENSORS:
        raise _bad(name, f"the header lists {len(obj)} tensors, over hfprobe's limit of {MAX_TENSORS}", _SHARD)
    if sum(map(len, obj)) > MAX_NAME_CHARS:
        raise _bad(
            name,
            f"the header's {len(obj)} tensor names run over hfprobe's limit of {MAX_NAME_CHARS} characters",
            _SHARD,
        )
    if b"\\u" in raw:  # JSON escapes can spell lone surrogates, which are not text (safetensors refuses them too)
        _check_text(name, list(obj) + list(meta) + list(meta.values()))
    data_size = size - 8 - n
    tensors = {key: _tensor_info(name, key, entry) for key, entry in obj.items()}
    _check_overlaps(name, tensors)
    data_end = max((t.end for t in tensors.values()), default=0)
    truncated = data_end > data_size
    if truncated and not allow_truncated:
        worst = max(tensors.values(), key=lambda t: t.end)
        raise _bad(
            name,
            f"tensor {quote(worst.name)} has data offsets {[worst.begin, worst.end]} outside the file's "
            f"{data_size}-byte data section (truncated?)",
        )
    return Header(tensors, dict(meta), 8 + n, size, truncated=truncated, data_end=data_end)


def _check_metadata(name: str, meta: object) -> None:
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _bad(name, "__metadata__ must map strings to strings")
    if len(meta) > MAX_METADATA_ENTRIES:
        raise _bad(name, f"__metadata__ has {len(meta)} entries, over hfprobe's limit of {MAX_METADATA_ENTRIES}")
    long = next((k for k in meta if len(k) > MAX_KEY_CHARS), None)
    if long is not None:
        raise _bad(name, f"metadata key {quote(long)} is {len(long)} characters, over the limit of {MAX_KEY_CHARS}")


def _check_text(name: str, strings: list[str]) -> None:
    for s in strings:
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            raise _bad(name, f"the header holds {quote(s)}, which is not valid Unicode (a lone surrogate)") from None


def _tensor_info(name: str, key: str, entry: object) -> TensorInfo:
    if len(key) > MAX_KEY_CHARS:
        raise _bad(name, f"tensor name {quote(key)} is {len(key)} characters, over the limit of {MAX_KEY_CHARS}")
    if type(entry) is not dict:
        raise _bad(name, f"tensor {quote(key)} has a malformed header entry ({type(entry).__name__}, not an object)")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    size = DTYPE_SIZES.get(dtype) if type(dtype) is str else None
    if size is None:
        raise _bad(
            name, f"tensor {quote(key)} has unknown dtype {quote(dtype, 40)}", "hfprobe reads " + ", ".join(DTYPE_SIZES)
        )
    numel = 1
    if type(shape) is not list or len(shape) > MAX_DIMS:
        numel = -1
    else:
        for d in shape:  # a loop, not all(...): this runs once per tensor of every header
            if type(d) is not int or not 0 <= d <= MAX_DIM:
                numel = -1
                break
            numel *= d
    if numel < 0:
        raise _bad(name, f"tensor {quote(key)} has an invalid shape {quote(shape, 80)} (at most {MAX_DIMS} sizes >= 0)")
    if type(offsets) is not list or len(offsets) != 2:
        begin = end = None
    else:
        begin, end = offsets
    if type(begin) is not int or type(end) is not int or not 0 <= begin <= end < 2**64:
        raise _bad(name, f"tensor {quote(key)} has invalid data offsets {quote(offsets, 80)}")
    if end - begin != numel * size:
        raise _bad(
            name, f"tensor {quote(key)} spans {end - begin} bytes but its shape {shape} of {dtype} needs {numel * size}"
        )
    return TensorInfo(key, dtype, tuple(shape), begin, end)


def _check_overlaps(name: str, tensors: dict[str, TensorInfo]) -> None:
    end = 0
    for t in tensors.values():  # usually already in offset order: one pass, no sort
        if t.end > t.begin:
            if t.begin < end:
                break
            end = t.end
    else:
        return
    spans = sorted(((t.begin, t.end, t.name) for t in tensors.values() if t.end > t.begin), key=lambda s: s[:2])
    for (_, end_a, a), (begin_b, _, b) in zip(spans, spans[1:]):
        if begin_b < end_a:
            raise _bad(name, f"tensors {quote(a)} and {quote(b)} overlap in the data section")


def check_present(name: str, header: Header, key: str) -> None:
    """Raise `TruncatedWeightsError` if the bytes of tensor `key` lie past the end of a truncated file."""
    info = header.tensors[key]
    if header.data_offset + info.end > header.file_size:
        raise TruncatedWeightsError(
            f"{name}: the file is truncated ({header.file_size} bytes; its header describes "
            f"{header.data_offset + header.data_end}), so the bytes of tensor {quote(info.name)} are missing; "
            "inspect answers from the header, but this needs the whole file: re-download it"
        )


_SCALAR_FORMATS = {"F64": "<d", "F32": "<f", "F16": "<e", "I64": "<q", "I32": "<i", "I16": "<h", "I8": "<b"}
_SCALAR_FORMATS.update({"U64": "<Q", "U32": "<I", "U16": "<H", "U8": "<B", "BOOL": "<?"})


def _f8_e4m3(byte: int) -> float:
    """float8_e4m3fn (no infinities; S.1111.111 is NaN)."""
    sign = -1.0 if byte & 0x80 else 1.0
    exp, man = (byte >> 3) & 0xF, byte & 0x7
    if exp == 0xF and man == 0x7:
        return math.nan
    return sign * (man / 8 * 2.0**-6 if exp == 0 else (1 + man / 8) * 2.0 ** (exp - 7))


def scalar_value(name: str, info: TensorInfo, raw: bytes) -> float:
    """The value of a one-element tensor from its raw bytes, without torch (kohya's `.alpha`).

    >>> scalar_value("f", TensorInfo("a", "BF16", (), 0, 2), bytes([0x80, 0x3F]))
    1.0
    """
    if info.numel != 1 or len(raw) != DTYPE_SIZES[info.dtype]:
        raise _bad(name, f"tensor {quote(info.name)} is not one value ({list(info.shape)}, {len(raw)} bytes)")
    if info.dtype == "BF16":  # the upper half of a float32
        value = struct.unpack("<f", b"\0\0" + raw)[0]
    elif info.dtype == "F8_E5M2":  # the upper half of a float16
        value = struct.unpack("<e", b"\0" + raw)[0]
    elif info.dtype == "F8_E4M3":
        value = _f8_e4m3(raw[0])
    else:
        value = float(struct.unpack(_SCALAR_FORMATS[info.dtype], raw)[0])
    if not math.isfinite(value):
        raise _bad(name, f"tensor {quote(info.name)} is {value}", "the weights are corrupt; retrain or re-export")
    return value


def read_scalar(f: RandomAccessFile, header: Header, key: str) -> float:
    """Read a one-element tensor (a few bytes) and return its value as a float; no torch needed."""
    check_present(f.name, header, key)
    info = header.tensors[key]
    return scalar_value(f.name, info, f.read(header.data_offset + info.begin, info.end - info.begin))


def read_tensor(f: RandomAccessFile, header: Header, key: str, *, check_finite: bool = True) -> torch.Tensor:
    """Read exactly one tensor's bytes and decode them; NaN or Inf in a float tensor is an error."""
    info, raw = _tensor_bytes(f, header, key)
    return decode(f.name, info, raw, check_finite=check_finite)


def read_array(f: RandomAccessFile, header: Header, key: str, *, check_finite: bool = True):
    """`read_tensor` as a float32 numpy array, without torch (for dtypes `numpy_readable` accepts)."""
    info, raw = _tensor_bytes(f, header, key)
    return decode_array(f.name, info, raw, check_finite=check_finite)


def _tensor_bytes(f: RandomAccessFile, header: Header, key: str) -> tuple[TensorInfo, bytes]:
    check_present(f.name, header, key)
    info = header.tensors[key]
    return info, f.read(header.data_offset + info.begin, info.end - info.begin)


def _check_length(name: str, info: TensorInfo, raw: bytes) -> None:
    if len(raw) != info.end - info.begin:
        raise _bad(
            name, f"tensor {quote(info.name)}: got {len(raw)} bytes, expected {info.end - info.begin} (truncated?)"
        )


def _not_finite(name: str, info: TensorInfo) -> InvalidWeightsError:
    return _bad(
        name, f"tensor {quote(info.name)} contains NaN or Inf values", "the weights are corrupt; retrain or re-export"
    )


def decode(name: str, info: TensorInfo, raw: bytes, *, check_finite: bool = True) -> torch.Tensor:
    """Turn a tensor's raw little-endian bytes into a torch tensor (a copy, so it owns its memory)."""
    import torch

    dtype = torch_dtype(info.dtype)
    _check_length(name, info, raw)
    if info.numel == 0:
        return torch.empty(info.shape, dtype=dtype)
    tensor = torch.frombuffer(bytearray(raw), dtype=dtype).reshape(info.shape)
    if check_finite and tensor.is_floating_point() and not bool(torch.isfinite(tensor.float()).all()):
        raise _not_finite(name, info)
    return tensor


# numpy's spelling of the dtypes it holds as they are; BF16 is widened to float32 below, the FP8 ones it lacks
_NUMPY_NAMES = {n: t for n, t in _TORCH_NAMES.items() if n not in ("BF16", "F8_E4M3", "F8_E5M2")}


def numpy_readable(dtype: str) -> bool:
    """Whether `decode_array` reads this dtype (FP8 needs torch's decoding: `decode`)."""
    return dtype in _NUMPY_NAMES or dtype == "BF16"


def decode_array(name: str, info: TensorInfo, raw: bytes, *, check_finite: bool = True):
    """A tensor's raw little-endian bytes as a float32 numpy array (what `decode(...).float()` gives); BF16 is the
    upper half of a float32, so it widens exactly."""
    import numpy as np

    _check_length(name, info, raw)
    if info.dtype == "BF16":
        array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        array = np.frombuffer(raw, dtype=np.dtype(_NUMPY_NAMES[info.dtype]).newbyteorder("<")).astype(np.float32)
    array = array.reshape(info.shape)
    if check_finite and info.dtype[0] in "FB" and not np.isfinite(array).all():
        raise _not_finite(name, info)
    return array

"""Pickle `.bin` / `.pt` / `.ckpt` weights, read only through `torch.load(weights_only=True)`.

A pickle can run code when it is loaded. `weights_only=True` makes torch use its restricted
unpickler, which builds only tensors and plain containers and refuses every other global; hfprobe
turns that refusal into `UnsafeFileError` and never retries with a laxer loader.

The names, dtypes and shapes of a torch zip-format pickle (every `torch.save` since 1.6) are read first
from its `data.pkl` alone (`read_index`), by an unpickler that knows six globals and builds only plain
records, never a tensor and never torch: so `inspect` on a `.bin` reads a few kilobytes and imports
nothing heavy. Anything that index reader does not know, it leaves to `load_tensors`, which decides.

Example:
    >>> tensors = load_tensors(src.open("pytorch_lora_weights.bin"))   # doctest: +SKIP
    >>> index = read_index(src.open("pytorch_lora_weights.bin"))       # doctest: +SKIP
"""

from __future__ import annotations

import collections
import io
import pickle
import re
import warnings
import zipfile
from typing import TYPE_CHECKING

from ..errors import InvalidWeightsError, UnsafeFileError, UnsupportedFormatError
from ..source.safetensors import MAX_DIMS, MAX_KEY_CHARS, MAX_TENSORS, TensorInfo, quote
from ..source.sniff import not_weights, renamed, starts_with

if TYPE_CHECKING:
    import torch

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pth.lora", ".pth.adapter", ".pth.adapter_v2", ".pth.tar")
# (litgpt's LoRA and adapters, PyTorch's examples')
_NUMBERED = re.compile(r"\.pth\.tar-\d{1,9}\Z")  # Dassl's (CoOp's) `model.pth.tar-50`: the epoch after the suffix


def is_pickle_name(name: str) -> bool:
    """A file name torch pickles go by: PICKLE_SUFFIXES, or Dassl's numbered `model.pth.tar-50`.

    >>> [is_pickle_name(n) for n in ("a.bin", "model_best.pth.tar", "model.pth.tar-50", "x.tar", "a.safetensors")]
    [True, True, True, False, False]
    """
    return name.endswith(PICKLE_SUFFIXES) or _NUMBERED.search(name) is not None


MAX_NESTING = 32  # dicts inside dicts; a real state dict nests two or three deep
TAIL_BYTES = 64 * 1024  # read_index's first read of a zip's end: its directory too, up to about 600 tensors


def load_tensors(f) -> dict[str, torch.Tensor]:
    """All tensors of a pickled state dict, nested dicts flattened with dots.

    A local file (`f.path`; `Source.fetch` gives one for Hub pickles too) in torch's zip format is memory-mapped
    (`torch.load(path, mmap=True)`): its tensors are views of the file, never a second copy in memory. An old-format
    (pre-1.6) pickle has its declared sizes checked first, then is loaded from the file; anything else is read whole.
    """
    import torch

    if f.size == 0:
        raise InvalidWeightsError(f"{f.name}: the file is empty; re-download or re-export it")
    path = getattr(f, "path", None)
    if path is not None:
        zipped = f.read(0, 4) == b"PK\x03\x04"  # what torch takes for its zip format
        if not zipped:
            with open(path, "rb") as fh:
                _check_legacy_sizes(f.name, fh, f.size)
        counter = getattr(f, "_counter", None)
        if counter is not None:  # mapped or read by torch, not through `f`: counted as read, as a whole read was
            counter.add(f.size - 4)
        obj = _load(f, lambda: torch.load(path, map_location="cpu", weights_only=True, mmap=zipped))
    else:
        data = f.read(0, f.size)
        if not data.startswith(b"PK"):
            _check_legacy_sizes(f.name, io.BytesIO(data), len(data))
        obj = _load(f, lambda: torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
    obj = positional(unwrap(obj), torch.Tensor)
    if not isinstance(obj, dict):
        raise UnsupportedFormatError(
            f"{f.name}: the pickle holds a {type(obj).__name__}, not a dict of tensors; save a state_dict instead"
        )
    out: dict[str, torch.Tensor] = {}
    _flatten(f.name, obj, "", out, 0)
    if not out:
        raise UnsupportedFormatError(f"{f.name}: {_no_tensors(obj)}")
    return out


def _no_tensors(obj: dict) -> str:
    """Why a pickle's dict gave no tensors: what it is, where that can be told, and what to do."""
    if "layer_structure" in obj and any(isinstance(k, int) for k in obj):
        return (
            "an AUTOMATIC1111 hypernetwork (small networks in lists, keyed by the context widths they extend); "
            "hfprobe reads LoRAs, adapters and checkpoints, not hypernetworks"
        )
    if any(isinstance(v, list | tuple) and v for v in obj.values()):
        return "its values are lists, not a state dict of tensors; save `model.state_dict()` and point hfprobe at it"
    return "the pickle holds no tensors; point hfprobe at the weights file"


# where training code keeps the weights inside what it saves: Lightning's and LDM's `.ckpt`, PyTorch's tutorials
# (`{"model_state_dict": …, "optimizer_state_dict": …}`), litgpt's and Fabric's `{"model": …}`, DeepSpeed's `module`
WRAPPERS = ("state_dict", "model_state_dict", "model", "module")


def unwrap(obj):
    """The state dict inside a training checkpoint, else `obj`: the first WRAPPERS key holding a dict. The rest
    (optimizer states, step counts) is not the model's: its tensors were read as modules (`optimizer.state.0.…`).

    >>> unwrap({"model": {"w": 1}, "optimizer": {"state": {}}, "iter_num": 5}), unwrap({"w": 1})
    ({'w': 1}, {'w': 1})
    """
    if isinstance(obj, dict):
        for key in WRAPPERS:
            if isinstance(obj.get(key), dict):
                return obj[key]
    return obj


def positional(obj, tensor_type):
    """A list of tensors (lora_diffusion's `save_lora_weight`: up, down, up, down, …) as {"0": …, "1": …}, so it
    is read by position; anything else unchanged.

    >>> positional(["up", "down"], str), positional({"w": 1}, str)
    ({'0': 'up', '1': 'down'}, {'w': 1})
    """
    if isinstance(obj, list | tuple) and obj and all(isinstance(t, tensor_type) for t in obj):
        return {str(i): t for i, t in enumerate(obj)}
    return obj


def _load(f, load):
    """`load()` (a torch.load with weights_only=True) with torch's warnings kept off stderr, its failures as the
    one-line typed error `_diagnose` words from the file's bytes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the error below says what matters
            return load()
    except Exception as err:  # noqa: BLE001 - every failure of torch.load becomes one typed line
        raise _diagnose(f, err) from None


# ---- what a file torch.load refused is: read from its opcodes (pickletools), never by running them ---------------
TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # the first pickle of a pre-1.6 torch.save file
_TENSOR_MODULES = ("torch", "collections", "_codecs")  # the modules a pickled state dict imports from
_STRING_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
_NAME = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+")  # module.name, as a real global is spelled
MAX_SCAN_BYTES = 4 * 1024 * 1024  # of a refused file's pickles: a state dict's names and shapes take far less
REFUSED_FIX = "it was refused, not run; get a .safetensors copy, or re-save just the state dict where it was made"


class _Scan(collections.namedtuple("_Scan", "pickles broken globals torch_magic")):
    """Pickles that parsed, why the next one did not (or None), the globals they import, and whether the first one
    is torch.save's magic number."""


def _scan(data: bytes, most: int, whole: bool = True) -> _Scan:
    """Up to `most` pickles in a row at the start of `data`, read with `pickletools.genops` (which decodes opcodes
    and runs nothing). The module and name of a STACK_GLOBAL are the last two strings pushed (or memo reads).
    `whole=False`: `data` is the file's first MAX_SCAN_BYTES, so a pickle cut at its end is not called broken.

    >>> import os, pickle
    >>> _scan(pickle.dumps({"w": os.system}, protocol=4), 5).globals
    ['posix.system']
    >>> _scan(b"\\x13 not a pickle", 5)
    _Scan(pickles=0, broken="at position 0, opcode b'\\\\x13' unknown", globals=[], torch_magic=False)
    """
    import pickletools

    stream, found, done, broken, magic = io.BytesIO(data), [], 0, None, False
    while done < most and stream.tell() < len(data):
        recent: list = [None, None]
        memo: dict = {}
        try:
            for op, arg, _pos in pickletools.genops(stream):
                kind = op.name
                if kind in ("GLOBAL", "INST"):
                    found.append(str(arg).replace(" ", "."))
                elif kind == "STACK_GLOBAL":
                    module, name = recent[-2:]
                    found.append(f"{module}.{name}" if isinstance(module, str) and isinstance(name, str) else "?")
                if done == 0 and arg == TORCH_MAGIC and not isinstance(arg, bool):
                    magic = True
                if kind == "MEMOIZE":
                    memo[len(memo)] = recent[-1]
                elif kind in ("PUT", "BINPUT", "LONG_BINPUT"):
                    memo[arg] = recent[-1]
                elif kind not in ("FRAME", "PROTO", "STOP"):
                    pushed = arg if kind in _STRING_OPS else memo.get(arg) if kind.endswith("GET") else None
                    recent = [recent[-1], pushed]
        except Exception as err:  # noqa: BLE001 - a stream that is not (or no longer) pickle opcodes
            if whole or stream.tell() < len(data):
                broken = " ".join(str(err).split())[:100]
            else:
                done += 1  # cut by the scan's own limit, not by the file
            break
        done += 1
    return _Scan(done, broken, found, magic)


def _foreign(name: str) -> bool:
    """A global a pickled state dict never needs (anything outside torch and its containers)."""
    return name == "?" or name.split(".")[0] not in _TENSOR_MODULES


def _torch_says(err: Exception) -> str | None:
    """What torch's safe unpickler refused, as a short phrase of our own (torch's text suggests loading unsafely,
    so it is never passed on): the global, function or class it named, or the opcode it does not take."""
    import pickletools

    inner = err.__context__ if isinstance(err.__context__, pickle.UnpicklingError) else err
    text = " ".join(str(inner).split())
    m = re.search(r"GLOBAL (\S+?)\.?(?: was not| whose|$)", text)
    if m and _NAME.fullmatch(m[1]):
        return f"it imports {m[1]}"
    m = re.search(r"unrecognized function (<[^>]{1,120}>|\S{1,120})", text)
    if m:
        return f"it calls {m[1]}"
    m = re.search(r"but got <class '([^']{1,120})'>", text)
    if m:
        return f"it builds a {m[1]}"
    m = re.search(r"Unsupported operand (\d{1,3})\b", text)
    if m:
        op = pickletools.code2op.get(chr(int(m[1])))
        return f"opcode {op.name if op else int(m[1])}, which torch's safe loader does not take"
    if "persistent" in text:
        return "a persistent id other than a tensor storage"
    return None


def _sentence(err: Exception, limit: int = 120) -> str:
    """The first sentence of a library's message, on one line, cut at a word (nothing that suggests an unsafe
    load: then just the exception's type)."""
    text = " ".join(str(err).split())
    first = re.split(r"(?<=[.;])\s", text, maxsplit=1)[0].rstrip(".;")
    if "weights_only" in first or not first:
        return type(err).__name__
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + "…"


def archived_weights(f) -> list[str] | None:
    """The weights files (by name) a zip archive holds, or None where `f` is no readable zip archive (its directory
    alone is read: a few ranged reads of a Hub file)."""
    try:
        with zipfile.ZipFile(io.BufferedReader(_FileView(f))) as archive:
            names = archive.namelist()
    except Exception:  # noqa: BLE001 - not a zip archive, or a damaged one: the caller's line says what it reads
        return None
    return [n for n in names if n.endswith((".safetensors", ".gguf")) or is_pickle_name(n)]


def _data_pkl(f) -> bytes | None:
    """The data.pkl of a zip-format torch file, or None where the archive cannot be read."""
    try:
        with zipfile.ZipFile(io.BufferedReader(_FileView(f))) as archive:
            pkls = [i for i in archive.infolist() if i.filename.endswith("/data.pkl") or i.filename == "data.pkl"]
            if len(pkls) != 1 or pkls[0].file_size > MAX_INDEX_BYTES:
                return None
            return archive.read(pkls[0])
    except Exception:  # noqa: BLE001 - a damaged archive, said by the caller
        return None


def _diagnose(f, err: Exception) -> Exception:
    """The one-line typed error for a file torch.load(weights_only=True) refused, from what the file is:

    not a pickle at all (random bytes, an HTML page, a Git LFS pointer, a safetensors file under a pickle's name)
    or a damaged one or a damaged zip archive: InvalidWeightsError; a pickle that imports or builds more than
    tensors: UnsafeFileError naming the global (or the opcode) that was refused. Never the advice to load it
    unsafely.
    """
    name = f.name
    told = _torch_says(err) if isinstance(err, pickle.UnpicklingError) else None
    zipped = f.read(0, 4) == b"PK\x03\x04"
    if zipped:
        data = _data_pkl(f)
        if data is None:
            return InvalidWeightsError(
                f"{name}: not a readable torch file: a damaged zip archive ({_sentence(err)}); re-download or "
                "re-export it"
            )
        scan = _scan(data[:MAX_SCAN_BYTES], 1, whole=len(data) <= MAX_SCAN_BYTES)
    else:
        data = f.read(0, min(f.size, MAX_SCAN_BYTES))
        if instead := not_weights(data):
            return InvalidWeightsError(f"{name}: {instead}")
        if (other := renamed(data[:16])) and other[1] in (".safetensors", ".gguf"):
            return InvalidWeightsError(f"{name}: {other[0]} under a pickle's name; rename it to {other[1]}")
        # a pre-1.6 file is five pickles: magic number, protocol, sys info, the object, its storage keys
        scan = _scan(data, 5, whole=f.size <= MAX_SCAN_BYTES)
    foreign = [g for g in scan.globals if g == "?" or (_foreign(g) and _NAME.fullmatch(g))]
    if (told or "").startswith("it imports ") or foreign:  # a global no state dict needs: whatever else is wrong
        what = told if (told or "").startswith("it imports ") else f"it imports {foreign[0]}"
        what = what.replace("imports ?", "imports a global it names at run time")
        return UnsafeFileError(f"{name}: the pickle holds more than tensors ({what}); {REFUSED_FIX}")
    if scan.pickles == 0:
        if data[:1] == b"\x80":  # PROTO: it began as a pickle
            return InvalidWeightsError(f"{name}: a damaged pickle ({scan.broken}); re-download or re-export it")
        return InvalidWeightsError(
            f"{name}: not a torch weights file: neither a zip archive nor a pickle (it starts with "
            f"{starts_with(data)}); re-download it, or point hfprobe at the weights file itself"
        )
    if not zipped and not scan.torch_magic:
        return InvalidWeightsError(
            f"{name}: a plain pickle, not a file torch.save wrote; save the weights with torch.save or as safetensors"
        )
    if isinstance(err, pickle.UnpicklingError) and (told or "").startswith("opcode"):
        return UnsafeFileError(f"{name}: the pickle uses {told}; {REFUSED_FIX}")
    if isinstance(err, pickle.UnpicklingError):
        what = told or "something torch's safe loader refuses"
        return UnsafeFileError(f"{name}: the pickle holds more than tensors ({what}); {REFUSED_FIX}")
    return InvalidWeightsError(
        f"{name}: not a readable torch pickle ({type(err).__name__}: {_sentence(err)}); re-download or re-export it"
    )


def _check_legacy_sizes(name: str, stream, size: int) -> None:
    """Pre-1.6 torch files allocate each storage at the size the pickle declares before reading its bytes.

    No honest storage holds more elements than the file has bytes, so any integer in the pickles larger
    than the file (`size` bytes, read from `stream`) is refused before torch sees it (the zip format checks
    record sizes itself).
    """
    import pickletools

    try:
        for i in range(4):  # magic number, protocol, sys info, then the object (with the storage sizes)
            for _op, arg, _pos in pickletools.genops(stream):
                if i == 3 and isinstance(arg, int) and not isinstance(arg, bool) and arg > size:
                    raise InvalidWeightsError(
                        f"{name}: the pickle declares a size of {arg} in a {size}-byte file; "
                        "it is corrupt or hostile, so it was not loaded"
                    )
    except InvalidWeightsError:
        raise
    except Exception:  # not five pickles in a row: torch.load below gives the precise error
        return


def _flatten(name: str, obj: dict, prefix: str, out: dict[str, torch.Tensor], depth: int) -> None:
    """Tensors of nested dicts under dotted keys, held to the bounds safetensors headers are held to."""
    import torch

    if depth > MAX_NESTING:
        raise InvalidWeightsError(f"{name}: the pickle nests dicts over {MAX_NESTING} deep; save a flat state_dict")
    for key, value in obj.items():
        full = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            if len(full) > MAX_KEY_CHARS:
                raise InvalidWeightsError(
                    f"{name}: tensor name {quote(full)} is {len(full)} characters, over the limit of {MAX_KEY_CHARS}"
                )
            if value.layout != torch.strided or value.is_quantized or value.dim() > MAX_DIMS:
                raise InvalidWeightsError(
                    f"{name}: tensor {quote(full)} is not a plain dense tensor (layout "
                    f"{str(value.layout).replace('torch.', '')}, {value.dim()} dims); save dense weights"
                )
            out[full] = value
            if len(out) > MAX_TENSORS:
                raise InvalidWeightsError(f"{name}: the pickle holds over {MAX_TENSORS} tensors, hfprobe's limit")
        elif isinstance(value, dict):
            _flatten(name, value, full + ".", out, depth + 1)


# ---- the index of a zip-format pickle, without torch -------------------------------------------------------------
MAX_INDEX_BYTES = 64 * 1024 * 1024  # data.pkl holds names and shapes only; a real one is kilobytes to a few MB
# torch's typed storages as pickled by torch.save -> safetensors' dtype names
_STORAGES = {
    "FloatStorage": "F32", "DoubleStorage": "F64", "HalfStorage": "F16", "BFloat16Storage": "BF16",
    "LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8", "ByteStorage": "U8",
    "BoolStorage": "BOOL",
}  # fmt: skip


class _Storage(collections.namedtuple("_Storage", "dtype key numel")):
    """A storage named in data.pkl: its dtype and element count (its bytes stay in the archive)."""


class _Tensor(collections.namedtuple("_Tensor", "dtype shape")):
    """What `_rebuild_tensor_v2` would have built: only its dtype and shape."""


class _StorageType(str):
    """A storage class named in data.pkl (e.g. `torch FloatStorage`), standing for its dtype."""


def _rebuild_tensor(storage, offset, size, stride, *_):
    if not isinstance(storage, _Storage) or not isinstance(size, tuple) or not all(isinstance(d, int) for d in size):
        raise pickle.UnpicklingError("not a plain tensor")
    return _Tensor(storage.dtype, size)


def _rebuild_parameter(data, requires_grad, hooks):
    return data


class _IndexUnpickler(pickle.Unpickler):
    """Builds containers, `_Tensor` and `_Storage` records and nothing else; any other global is refused."""

    _GLOBALS = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    }

    def find_class(self, module, name):
        if (module, name) in self._GLOBALS:
            return self._GLOBALS[(module, name)]
        if module == "torch" and name in _STORAGES:
            return _StorageType(_STORAGES[name])
        raise pickle.UnpicklingError(f"global {module}.{name} is not known to the index reader")

    def persistent_load(self, pid):
        if isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType):
            return _Storage(str(pid[1]), pid[2], pid[4])
        raise pickle.UnpicklingError("unknown persistent id")


class _FileView(io.RawIOBase):
    """A seekable file object over hfprobe's ranged `read(offset, length)` (so every byte is counted), serving
    reads within `tail` (offset, bytes), the file's last bytes read at once, from memory."""

    def __init__(self, f, tail: tuple[int, bytes] = (0, b"")):
        self._f, self._pos, self._tail = f, 0, tail

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = {0: offset, 1: self._pos + offset, 2: self._f.size + offset}[whence]
        return self._pos

    def readinto(self, buffer) -> int:
        n = min(len(buffer), max(0, self._f.size - self._pos))
        start, tail = self._tail
        if start <= self._pos and self._pos + n <= start + len(tail):
            data = tail[self._pos - start : self._pos - start + n]
        else:
            data = self._f.read(self._pos, n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def read_index(f) -> dict[str, TensorInfo] | None:
    """{name: TensorInfo} of a zip-format torch pickle's tensors, read from its data.pkl alone, without torch.

    None when the file is not one this reader fully understands (an old-format pickle, a global it does not
    know, a damaged archive, no plain state dict): then `load_tensors` reads the file and says what is wrong.
    Names are flattened as `load_tensors` flattens them, and the same bounds apply.
    """
    if f.size < 4 or f.read(0, 4) != b"PK\x03\x04":
        return None
    try:
        # one read of the end: the end records and the directory (about 100 bytes a tensor); data.pkl is the first
        # record, in the first read of a Hub file (64 KiB) or right after it
        start = max(0, f.size - TAIL_BYTES)
        with zipfile.ZipFile(io.BufferedReader(_FileView(f, (start, f.read(start, f.size - start))))) as archive:
            pkls = [i for i in archive.infolist() if i.filename.endswith("/data.pkl") or i.filename == "data.pkl"]
            if len(pkls) != 1 or pkls[0].file_size > MAX_INDEX_BYTES:
                return None
            obj = _IndexUnpickler(io.BytesIO(archive.read(pkls[0]))).load()
    except Exception:  # noqa: BLE001 - anything unexpected: torch.load's own reading decides
        return None
    obj = positional(unwrap(obj), _Tensor)
    if not isinstance(obj, dict):
        return None
    found: dict[str, _Tensor] = {}
    try:
        _flatten_index(obj, "", found, 0)
    except ValueError:
        return None
    if not found or len(found) > MAX_TENSORS:
        return None
    return {key: TensorInfo(key, t.dtype, tuple(t.shape), 0, 0) for key, t in found.items()}


def _flatten_index(obj: dict, prefix: str, out: dict, depth: int) -> None:
    if depth > MAX_NESTING:
        raise ValueError("nested too deep")
    for key, value in obj.items():
        full = f"{prefix}{key}"
        if isinstance(value, _Tensor):
            if len(full) > MAX_KEY_CHARS or len(value.shape) > MAX_DIMS:
                raise ValueError("out of bounds")
            out[full] = value
        elif isinstance(value, dict):
            _flatten_index(value, full + ".", out, depth + 1)

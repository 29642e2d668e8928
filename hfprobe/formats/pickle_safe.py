"""Pickle `.bin` / `.pt` / `.ckpt` weights, read only through `torch.load(weights_only=True)`.

A pickle can run code when it is loaded. `weights_only=True` makes torch use its restricted
unpickler, which builds only tensors and plain containers and refuses every other global; hfprobe
turns that refusal into `UnsafeFileError` and never retries with a laxer loader.

Example:
    >>> tensors = load_tensors(src.open("pytorch_lora_weights.bin"))   # doctest: +SKIP
"""

from __future__ import annotations

import io
import pickle

import torch

from ..errors import InvalidWeightsError, UnsafeFileError, UnsupportedFormatError
from .base import one_line

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt")


def load_tensors(f) -> dict[str, torch.Tensor]:
    """All tensors of a pickled state dict, nested dicts flattened with dots (reads the whole file)."""
    if f.size == 0:
        raise InvalidWeightsError(f"{f.name}: the file is empty; re-download or re-export it")
    data = f.read(0, f.size)
    if not data.startswith(b"PK"):
        _check_legacy_sizes(f.name, data)
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        lines = str(err).strip().splitlines()
        detail = one_line(
            next((ln for ln in lines if "Unsupported global" in ln or "GLOBAL" in ln), lines[0] if lines else "")
        )
        raise UnsafeFileError(
            f"{f.name}: the pickle holds more than tensors ({detail}); it was refused, not run. "
            "Convert it to safetensors from a trusted environment"
        ) from None
    except Exception as err:  # truncated zip, garbage bytes, wrong magic number ...
        raise InvalidWeightsError(
            f"{f.name}: not a readable torch pickle ({type(err).__name__}: {one_line(err, 120)}); re-download or "
            "re-export it"
        ) from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]  # Lightning / LDM .ckpt
    if not isinstance(obj, dict):
        raise UnsupportedFormatError(
            f"{f.name}: the pickle holds a {type(obj).__name__}, not a dict of tensors; save a state_dict instead"
        )
    out: dict[str, torch.Tensor] = {}
    _flatten(obj, "", out)
    if not out:
        raise UnsupportedFormatError(f"{f.name}: the pickle holds no tensors; point hfprobe at the weights file")
    return out


def _check_legacy_sizes(name: str, data: bytes) -> None:
    """Pre-1.6 torch files allocate each storage at the size the pickle declares before reading its bytes.

    No honest storage holds more elements than the file has bytes, so any integer in the pickles larger
    than the file is refused before torch sees it (the zip format checks record sizes itself).
    """
    import pickletools

    stream = io.BytesIO(data)
    try:
        for i in range(4):  # magic number, protocol, sys info, then the object (with the storage sizes)
            for _op, arg, _pos in pickletools.genops(stream):
                if i == 3 and isinstance(arg, int) and not isinstance(arg, bool) and arg > len(data):
                    raise InvalidWeightsError(
                        f"{name}: the pickle declares a size of {arg} in a {len(data)}-byte file; "
                        "it is corrupt or hostile, so it was not loaded"
                    )
    except InvalidWeightsError:
        raise
    except Exception:  # not five pickles in a row: torch.load below gives the precise error
        return


def _flatten(obj: dict, prefix: str, out: dict[str, torch.Tensor]) -> None:
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            out[name] = value
        elif isinstance(value, dict):
            _flatten(value, name + ".", out)

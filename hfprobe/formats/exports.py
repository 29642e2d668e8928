"""Exported models (ONNX, OpenVINO IR): one export's files, each already named as torch names its tensors
(onnx.py for ONNX; an IR keeps the names), read as one model at their shapes; values are never read.

An exporter may split a model into parts (optimum: `encoder_model`, `decoder_model_merged`); a tensor two parts
hold (a shared embedding table) counts once. optimum exports a seq2seq model's encoder as the module it is
(`layers.0.self_attn.q_proj`) and its decoder within the whole model (`model.decoder.layers.0…`): the encoder is
put back where the decoder says the model keeps it (`model.encoder.`).

    >>> encoder_prefix({"encoder_model.onnx": {"layers.0.fc1.weight": 1}, "decoder_model.onnx": {"model.decoder.x": 1}})
    'model.encoder.'
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter

from ..source.safetensors import TensorInfo

_BITS = {"I8": 8, "U8": 8, "I4": 4, "U4": 4, "NF4": 4}


def merge_parts(
    named: dict[str, dict[str, TensorInfo | None]], what: str, *, external: bool = False
) -> tuple[dict[str, TensorInfo], list[str]]:
    """({torch name: info}, notes) of one export's parts, {file: {name: info, or None for a tensor left out}};
    `what` names the export in the notes ("ONNX export (pytorch 2.1)")."""
    out: dict[str, TensorInfo] = {}
    dropped = 0
    prefix = encoder_prefix(named)
    for file, names in named.items():
        for key, info in names.items():
            if info is None:
                dropped += 1
                continue
            name = prefix + key if prefix and _is_encoder(file) else key
            if name not in out:  # an encoder's and a decoder's shared table once; the first of a clash
                out[name] = info._replace(name=name)
    notes = [
        f"{what}: {len(out)} tensors under torch's names, mostly {_main_type(out) or 'none'}; read at their shapes"
    ]
    if prefix:
        notes.append(f"its encoder's tensors put under `{prefix}`, where its decoder says the model keeps them")
    if dropped:
        notes.append(f"{dropped} tensors left out (a quantization's scales, constants no weight-taking node names)")
    if external:
        notes.append("its tensor data lives in another file (external data), which is not read")
    return out, notes


def _is_encoder(file: str) -> bool:
    return re.match(r"(?:openvino_)?encoder_model", posixpath.basename(file).lower()) is not None


def encoder_prefix(named: dict[str, dict]) -> str:
    """The prefix an export's encoder part lacks (see the module docstring); "" where nothing is missing."""
    decoder = [n for f, names in named.items() if not _is_encoder(f) for n, i in names.items() if i is not None]
    encoder = [n for f, names in named.items() if _is_encoder(f) for n, i in names.items() if i is not None]
    head = next((n[: n.index("decoder.")] for n in decoder if n.startswith("decoder.") or ".decoder." in n), None)
    if head is None or not encoder or any(n.startswith((f"{head}encoder.", "encoder.")) for n in encoder):
        return ""
    return f"{head}encoder."


def openvino_names(tensors: dict[str, TensorInfo]) -> dict[str, TensorInfo | None]:
    """An IR's parameters at torch's shapes: a weight NNCF compressed to 4 bits in groups, [out, groups, group
    size], is [out, in]."""
    return {
        name: info._replace(shape=(info.shape[0], info.shape[1] * info.shape[2]))
        if _BITS.get(info.dtype) == 4 and len(info.shape) == 3
        else info
        for name, info in tensors.items()
    }


def quantized_of(tensors: dict[str, TensorInfo], modules: int, method: str) -> dict:
    """The report's `quantized` of an export (`method` onnx or openvino) at its weights' main type: a conversion, as
    a GGUF is; `bits` only for 8- and 4-bit weights."""
    main = _main_type(tensors)
    return {"method": method, "bits": _BITS.get(main or ""), "type": main, "modules": modules}


def _main_type(tensors: dict[str, TensorInfo]) -> str | None:
    """The most common type of the weights (tensors of 2 or more dimensions), or None."""
    types = Counter(info.dtype for info in tensors.values() if len(info.shape) >= 2)
    return types.most_common(1)[0][0] if types else None

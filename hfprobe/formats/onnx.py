"""ONNX exports (optimum's, torch.onnx's, Transformers.js's `onnx/model*.onnx`): their weights under torch's names
and layout, read at their shapes; values are never read.

An exporter keeps a parameter's name where the graph uses it as it is (an embedding table, a bias, a norm's
weight) and names a Linear's weight after the MatMul that takes it, transposed to [in, out]
(`onnx::MatMul_1459`, or `..._quantized` as onnxruntime's int8 MatMulInteger's). Such a weight is named here
after its node, whose name is the module's path (`/encoder/layer.0/attention/self/query/MatMul` is
`encoder.layer.0.attention.self.query`), and put back in torch's [out, in] (a Gemm's with `transB` is so
already; a 4-bit MatMulNBits weight is [N, K] from its node's attributes). A quantization's scales and zero
points, and unnamed constants no weight-taking node explains, are left out. Several ONNX files of one export (an
encoder and a decoder) read as one model; a tensor both hold (shared embeddings) counts once.

    >>> module_of("/encoder/layer.0/attention/self/query/MatMul"), module_of("MatMul_12")
    ('encoder.layer.0.attention.self.query', None)
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter

from ..source.onnx import OnnxModel
from ..source.safetensors import TensorInfo

# ops that take a Linear's weight, and which input holds it
_WEIGHT_INPUT = {"MatMul": 1, "MatMulInteger": 1, "FusedMatMul": 1, "Gemm": 1, "MatMulNBits": 1, "QLinearMatMul": 3}
_CONV_INPUT = {"Conv": 1, "ConvInteger": 1, "ConvTranspose": 1, "QLinearConv": 3}
# a quantization's own tensors and the suffixes onnxruntime gives a quantized weight
_QUANT_PARAM = re.compile(r"(?:_scales?|_zero_points?|_zp|_quantized_scale|_quantized_zero_point)$")
_QUANT_SUFFIX = re.compile(r"_(?:quantized|fp16|int8|uint8|q4|dequantized)$")
_ANONYMOUS = re.compile(r"^(?:onnx::|/|val_|_val_|\d)|^(?:[A-Za-z]+_)?\d+$")


def module_of(node: str) -> str | None:
    """The module a node belongs to, from the path torch.onnx names it by; None for a name with no path."""
    if not node.startswith("/") or node.count("/") < 2:
        return None
    return ".".join(part for part in node.strip("/").split("/")[:-1] if part) or None


def _named(name: str) -> str | None:
    """A parameter's own name (`encoder.layer.0.output.dense.bias`), without a quantizer's suffix; None when the
    exporter made the name up (`onnx::MatMul_1459`, `/encoder/Constant_output_0`, `val_12`)."""
    base = _QUANT_SUFFIX.sub("", name)
    if _ANONYMOUS.search(base) or "." not in base or _QUANT_PARAM.search(name):
        return None
    return base


def _as_weight(info: TensorInfo, use) -> tuple[int, ...] | None:
    """A Linear's weight in torch's [out, in] as the node that takes it holds it; None where it cannot be told."""
    shape = info.shape
    if use.op == "MatMulNBits":
        k, n = use.attrs.get("K"), use.attrs.get("N")
        return (n, k) if isinstance(k, int) and isinstance(n, int) and k > 0 and n > 0 else None
    if len(shape) != 2:
        return None
    if use.op == "Gemm" and use.attrs.get("transB"):
        return shape
    return shape[::-1]


def torch_tensors(parts: dict[str, OnnxModel]) -> tuple[dict[str, TensorInfo], list[str]]:
    """({torch name: info in torch's layout}, notes) of one export's ONNX files, by file name."""
    out: dict[str, TensorInfo] = {}
    dropped = 0
    named = {file: _names(model) for file, model in parts.items()}
    prefix = _encoder_prefix(named)
    for file, names in named.items():
        for key, info in names.items():
            if info is None:
                dropped += 1
                continue
            name = prefix + key if prefix and _is_encoder(file) else key
            if name not in out:  # an encoder's and a decoder's shared table once; the first of a clash
                out[name] = info._replace(name=name)
    producers = sorted({m.producer for m in parts.values() if m.producer})
    types = Counter(out[k].dtype for k in out if len(out[k].shape) >= 2)
    notes = [
        f"ONNX export ({', '.join(producers) or 'producer not named'}): {len(out)} tensors under torch's names, mostly "
        f"{types.most_common(1)[0][0] if types else 'none'}; read at their shapes"
    ]
    if prefix:
        notes.append(f"its encoder's tensors put under `{prefix}`, where its decoder says the model keeps them")
    if dropped:
        notes.append(f"{dropped} tensors left out (a quantization's scales, constants no weight-taking node names)")
    if any(m.external for m in parts.values()):
        notes.append("its tensor data lives in another file (external data), which is not read")
    return out, notes


def _names(model: OnnxModel) -> dict[str, TensorInfo | None]:
    """{torch name (the ONNX name for a tensor left out): info in torch's layout, or None where it is left out}."""
    out: dict[str, TensorInfo | None] = {}
    for key, info in model.tensors.items():
        uses = model.uses.get(key, [])
        weight = next((u for u in uses if _WEIGHT_INPUT.get(u.op) == u.index), None)
        conv = next((u for u in uses if _CONV_INPUT.get(u.op) == u.index), None)
        name, shape = _named(key), info.shape
        if weight is not None:
            shape = _as_weight(info, weight)
            module = name.removesuffix(".weight") if name else (weight.scope or module_of(weight.node))
            name = f"{module}.weight" if module and shape else None
        elif conv is not None and name is None and (module := conv.scope or module_of(conv.node)):
            name = f"{module}.weight"
        if name is None or shape is None:
            out[key] = None
            continue
        nbits = weight is not None and weight.op == "MatMulNBits"
        out.setdefault(name, TensorInfo(name, f"U{weight.attrs.get('bits', 4)}" if nbits else info.dtype, shape, 0, 0))
    return out


def _is_encoder(file: str) -> bool:
    return posixpath.basename(file).lower().startswith("encoder_model")


def _encoder_prefix(named: dict[str, dict]) -> str:
    """The prefix an export's encoder part lacks: optimum exports a seq2seq model's encoder as the module it is
    (`layers.0.self_attn.q_proj`) and its decoder within the whole model (`model.decoder.layers.0…`), so the encoder
    is put back where the decoder says the model keeps it (`model.encoder.`); "" where nothing is missing."""
    decoder = [n for f, names in named.items() if not _is_encoder(f) for n, i in names.items() if i is not None]
    encoder = [n for f, names in named.items() if _is_encoder(f) for n, i in names.items() if i is not None]
    head = next((n[: n.index("decoder.")] for n in decoder if n.startswith("decoder.") or ".decoder." in n), None)
    if head is None or not encoder or any(n.startswith((f"{head}encoder.", "encoder.")) for n in encoder):
        return ""
    return f"{head}encoder."


def quantized_of(tensors: dict[str, TensorInfo], modules: int) -> dict:
    """The report's `quantized` of an export: ONNX, at its weights' main type (a conversion, as a GGUF is)."""
    types = Counter(info.dtype for info in tensors.values() if len(info.shape) >= 2)
    main = types.most_common(1)[0][0] if types else None
    bits = {"I8": 8, "U8": 8, "I4": 4, "U4": 4}.get(main or "")
    return {"method": "onnx", "bits": bits, "type": main, "modules": modules}

"""ONNX exports (optimum's, torch.onnx's, Transformers.js's `onnx/model*.onnx`): their weights under torch's names
and layout, read at their shapes; values are never read.

An exporter keeps a parameter's name where the graph uses it as it is (an embedding table, a bias, a norm's
weight) and names a Linear's weight after the MatMul that takes it, transposed to [in, out]
(`onnx::MatMul_1459`, or `..._quantized` as onnxruntime's int8 MatMulInteger's). Such a weight is named here
after its node, whose name is the module's path (`/encoder/layer.0/attention/self/query/MatMul` is
`encoder.layer.0.attention.self.query`), and put back in torch's [out, in] (a Gemm's with `transB` is so
already; a 4-bit MatMulNBits weight is [N, K] from its node's attributes). torch.onnx's dynamo exporter names the
weight `val_37` and its node `node_MatMul_36`: the module scope the node records names it then. A quantization's
scales and zero points, and unnamed constants no weight-taking node explains, are left out. Several ONNX files of
one export (an encoder and a decoder) read as one model (exports.py).

    >>> module_of("/encoder/layer.0/attention/self/query/MatMul"), module_of("MatMul_12")
    ('encoder.layer.0.attention.self.query', None)
"""

from __future__ import annotations

import re

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


def onnx_names(model: OnnxModel) -> dict[str, TensorInfo | None]:
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

"""Quantized checkpoints: each quantized Linear's logical (out, in) from the header shapes of its packed tensors.

A quantized Linear `<m>` is stored as several tensors whose shapes are not (out, in); read as plain weights they
would rule out the very model that was quantized. The layouts (b = bits, g = group size):

- GPTQ (AutoGPTQ, GPTQModel, optimum): `qweight` int32 [in*b/32, out], `qzeros` [in/g, out*b/32],
  `scales` [in/g, out], `g_idx` [in].
- AWQ (AutoAWQ's GEMM layout): `qweight` int32 [in, out*b/32], `qzeros` [in/g, out*b/32], `scales` [in/g, out].
- bitsandbytes 4-bit: `weight` uint8 [out*in/2, 1] beside `weight.absmax`, `weight.quant_map` and
  `weight.quant_state.bitsandbytes__nf4|fp4`. The shape is inside the quant state's bytes, not in the header,
  so it stays unknown here (checkpoint.py reads it for one layer of each name in local files); the rest of the
  tree is read from the layers left dense (embeddings, norms, the head).
- bitsandbytes 8-bit: `weight` int8 [out, in] beside `SCB` [out].
- FP8 (transformers' fp8 and fbgemm_fp8, compressed-tensors' float formats): `weight` float8 [out, in] beside
  `weight_scale`, `weight_scale_inv` or `input_scale`; ComfyUI's scaled fp8 (`*_fp8_scaled.safetensors`) beside
  `scale_weight` and `scale_input`; a plain float8 cast (`*_fp8_e4m3fn.safetensors`) with no scale at all.
- compressed-tensors pack-quantized: `weight_packed` int32 [out, in*b/32] beside `weight_scale` [out, in/g],
  `weight_zero_point`, `weight_shape`; its NVFP4 packs into uint8 [out, in*b/8] beside `weight_global_scale`.
- NVFP4 (NVIDIA ModelOpt): `weight` uint8 [out, in/2], two 4-bit values a byte, beside `weight_scale` float8
  [out, in/16] and `weight_scale_2`.
- MLX: `weight` uint32 [out, in*b/32] beside `scales` and `biases` [out, in/g].
- EXL2: `q_weight` int32 [~in*b/32, out] beside `q_invperm` [in], `q_scale`, `q_groups` and the rest.
- BitNet b1.58 (transformers' `bitnet`, `microsoft/bitnet-b1.58-2B-4T`): `weight` uint8 [out/4, in], four ternary
  weights a byte along the rows, beside one `weight_scale` (a single value: NVFP4's uint8 weights have one a block).

Where the packing hides b, it comes from config.json (`quantization_config`, or MLX's `quantization`); without
it the in-features stay unknown. Values are never dequantized: `WeightsView.layer()` refuses a quantized module.

>>> from hfprobe.source.safetensors import TensorInfo
>>> raw = {k: TensorInfo(k, d, s, 0, 0) for k, d, s in [("l.qweight", "I32", (512, 4096)),
...        ("l.qzeros", "I32", (32, 512)), ("l.scales", "F16", (32, 4096)), ("l.g_idx", "I32", (4096,))]}
>>> mods, info = read_quantized(raw, None, "x")
>>> info, (mods["l"].d_out, mods["l"].d_in)
({'method': 'gptq', 'bits': 4, 'modules': 1}, (4096, 4096))
"""

from __future__ import annotations

from ..errors import InvalidWeightsError
from ..source.safetensors import TensorInfo, quote

__all__ = ["PARTS", "QuantizedLinear", "quantized_bases", "read_quantized"]

# method -> the suffixes of one quantized Linear's tensors (its bias, when it has one, stays a plain tensor)
PARTS: dict[str, tuple[str, ...]] = {
    "gptq": ("qweight", "qzeros", "scales", "g_idx"),
    "awq": ("qweight", "qzeros", "scales"),
    "bitsandbytes": (
        "weight",
        "SCB",
        "weight_format",
        "weight.absmax",
        "weight.quant_map",
        "weight.nested_absmax",
        "weight.nested_quant_map",
        "weight.quant_state.bitsandbytes__nf4",
        "weight.quant_state.bitsandbytes__fp4",
    ),
    "fp8": ("weight", "weight_scale", "weight_scale_inv", "input_scale", "scale_weight", "scale_input"),
    "compressed-tensors": (
        "weight_packed",
        "weight_scale",
        "weight_zero_point",
        "weight_shape",
        "weight_g_idx",
        "weight_global_scale",
        "input_global_scale",
    ),
    "nvfp4": ("weight", "weight_scale", "weight_scale_2", "input_scale"),
    "mlx": ("weight", "scales", "biases"),
    "exl2": ("q_weight", "q_invperm", "q_perm", "q_scale", "q_scale_max", "q_groups", "q_group_map"),
    "bitnet": ("weight", "weight_scale"),
}
# the suffix of the tensor that marks a quantized Linear -> its method (GPTQ or AWQ is settled by shapes)
MARKERS: dict[str, str] = {
    ".qweight": "gptq",
    ".weight_packed": "compressed-tensors",
    ".q_invperm": "exl2",
    ".weight.absmax": "bitsandbytes",
    ".SCB": "bitsandbytes",
}
_FP8 = ("F8_E4M3", "F8_E5M2")
_FP8_SCALES = (".weight_scale", ".weight_scale_inv", ".input_scale", ".scale_weight", ".scale_input")


class QuantizedLinear:
    """One quantized Linear: its method, bits (None: unknown), logical out/in (0: unknown) and tensor keys."""

    __slots__ = ("method", "bits", "d_out", "d_in", "keys")

    def __init__(self, method: str, bits: int | None, d_out: int, d_in: int, keys: dict[str, str]):
        self.method, self.bits, self.d_out, self.d_in, self.keys = method, bits, d_out, d_in, keys


def quantized_bases(raw: dict[str, TensorInfo]) -> dict[str, str]:
    """{module base name: method} for every quantized Linear in the header."""
    out: dict[str, str] = {}
    for key, info in raw.items():
        for suffix, method in MARKERS.items():
            if key.endswith(suffix):
                out[key[: -len(suffix)]] = method
                break
        else:
            if key.endswith(".weight"):
                base = key[:-7]
                if info.dtype in _FP8 and (len(info.shape) == 2 or any(base + s in raw for s in _FP8_SCALES)):
                    out[base] = "fp8"
                elif info.dtype == "U32" and base + ".scales" in raw and base + ".biases" in raw:
                    out[base] = "mlx"
                elif info.dtype == "U8" and len(info.shape) == 2 and _one(raw.get(base + ".weight_scale")):
                    out[base] = "bitnet"  # (NVFP4's uint8 `weight` has a scale per block, `weight_scale` 2-D)
                elif info.dtype == "U8" and len(info.shape) == 2 and base + ".weight_scale_2" in raw:
                    out[base] = "nvfp4"
    return out


def _one(info: TensorInfo | None) -> bool:
    """Whether a tensor holds one value (BitNet's `weight_scale`, shape [1] or [])."""
    return info is not None and all(d == 1 for d in info.shape)


def _config_bits(config: dict | None) -> tuple[str | None, int | None]:
    """(quant_method, bits) as config.json declares them; (None, None) where it does not."""
    if not isinstance(config, dict):
        return None, None
    qc = config.get("quantization_config")
    qc = qc if isinstance(qc, dict) else config.get("quantization")  # MLX
    if not isinstance(qc, dict):
        return None, None
    method = qc.get("quant_method") if isinstance(qc.get("quant_method"), str) else None
    bits = qc.get("bits", qc.get("w_bit"))
    if bits is None and isinstance(qc.get("config_groups"), dict):  # compressed-tensors: one group's weights
        group = next(iter(qc["config_groups"].values()), None)
        weights = group.get("weights") if isinstance(group, dict) else None
        bits = weights.get("num_bits") if isinstance(weights, dict) else None
    if bits is None and qc.get("load_in_4bit") is True:
        bits = 4
    if bits is None and qc.get("load_in_8bit") is True:
        bits = 8
    ok = isinstance(bits, int) and not isinstance(bits, bool) and 1 <= bits <= 32
    return method, bits if ok else None


def _div(a: int, b: int | None) -> int:
    """a / b when it divides exactly, else 0 (unknown)."""
    return a // b if b and a % b == 0 else 0


def _shape(method: str, parts: dict[str, TensorInfo], bits: int | None) -> tuple[str, int | None, int, int]:
    """(method, bits, out, in) of one quantized Linear from its parts' shapes; 0 where they do not say."""
    s = {k: v.shape for k, v in parts.items()}
    if method == "gptq":
        qw, sc, qz = s["qweight"], s.get("scales"), s.get("qzeros")
        if sc and len(sc) == 2 and sc[1] != qw[1]:  # packed along out, not in: AWQ's layout
            return _shape("awq", parts, bits)
        if not bits and qz and sc and len(qz) == 2 and len(sc) == 2:
            bits = _div(32 * qz[1], sc[1]) or None
        g_idx = s.get("g_idx")
        d_in = g_idx[0] if g_idx and len(g_idx) == 1 else _div(qw[0] * 32, bits)
        return "gptq", bits, qw[1], d_in
    if method == "awq":
        qw, sc = s["qweight"], s.get("scales")
        d_out = sc[1] if sc and len(sc) == 2 else _div(qw[1] * 32, bits)
        return "awq", bits or (_div(32 * qw[1], d_out) or None), d_out, qw[0]
    if method == "bitsandbytes":
        w = s.get("weight")
        if "SCB" in parts:
            return (method, 8, w[0], w[1]) if w and len(w) == 2 else (method, 8, 0, 0)
        return method, 4, 0, 0  # 4-bit: the shape is in the quant state's bytes
    if method == "fp8":
        return method, 8, s["weight"][0], s["weight"][1]
    if method == "compressed-tensors":
        wp, word = s["weight_packed"], 8 if parts["weight_packed"].dtype in ("U8", "I8") else 32
        return method, bits, wp[0], _div(wp[1] * word, bits)
    if method == "nvfp4":
        w = s["weight"]
        return method, 4, w[0], w[1] * 2
    if method == "mlx":
        w = s["weight"]
        return method, bits, w[0], _div(w[1] * 32, bits)
    if method == "bitnet":
        w = s["weight"]
        return method, 2, w[0] * 4, w[1]
    qw, perm = s.get("q_weight"), s["q_invperm"]  # exl2: bits vary by layer
    return method, None, (qw[1] if qw and len(qw) == 2 else 0), perm[0]


# the tensor each method's shapes are read from, which must be there with the rank the layout gives it
_MARK = {
    "gptq": "qweight",
    "compressed-tensors": "weight_packed",
    "exl2": "q_invperm",
    "fp8": "weight",
    "mlx": "weight",
    "bitnet": "weight",
    "nvfp4": "weight",
}


def read_quantized(
    raw: dict[str, TensorInfo], config: dict | None, where: str
) -> tuple[dict[str, QuantizedLinear], dict | None]:
    """({module base name: QuantizedLinear}, {method, bits, modules} or None when nothing is quantized)."""
    bases = quantized_bases(raw)
    if not bases:
        return {}, None
    declared_method, bits = _config_bits(config)
    out: dict[str, QuantizedLinear] = {}
    for base, method in bases.items():
        parts = {p: raw[f"{base}.{p}"] for p in PARTS[method] if f"{base}.{p}" in raw}
        mark = _MARK.get(method)
        if method == "gptq" and declared_method == "awq":
            method = "awq"
        if mark is not None and (mark not in parts or len(parts[mark].shape) != (1 if mark == "q_invperm" else 2)):
            got = parts[mark].shape if mark in parts else None
            raise InvalidWeightsError(
                f"{where}: the {method} tensors of {quote(base)} do not fit its layout ({mark} has shape "
                f"{quote(list(got) if got is not None else None, 60)}); the file is corrupt or mislabelled, "
                "re-export it"
            )
        method, b, d_out, d_in = _shape(method, parts, bits)
        out[base] = QuantizedLinear(method, b, d_out, d_in, {p: i.name for p, i in parts.items()})
    methods = sorted({q.method for q in out.values()})
    found_bits = sorted({q.bits for q in out.values() if q.bits})
    info = {
        "method": "+".join(methods),
        "bits": found_bits[0] if len(found_bits) == 1 else None,
        "modules": len(out),
    }
    return out, info

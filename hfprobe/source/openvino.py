"""OpenVINO IR models (`openvino_model.xml` and its `.bin`), read for their weights' names, shapes and types from the
XML graph alone; the `.bin` of values is never opened.

The PyTorch frontend (`ov.convert_model`, optimum-intel's export) keeps each parameter as a `Const` layer named by
its path in the traced module (`self.model.layers.0.self_attn.q_proj.weight`, `…_compressed` where the IR stores it
in f16), at torch's own shape; a weight NNCF compressed to 4 bits in groups is [out, groups, group size]. Graph
constants (`__module.bert.embeddings/aten::slice/Slice`, `Constant_59`) are not parameters and are left out.

The XML is scanned with regular expressions over its `<layer>` and `<data>` tags, not an XML parser: a file with a
DOCTYPE (where entity expansion lives) is refused, and the scan is linear in the file's size, bounded by
`MAX_XML_BYTES`.

    >>> consts('<layer id="1" name="self.w.weight_compressed" type="Const" version="opset1">'
    ...        '<data element_type="f16" shape="4, 2" offset="0" size="16" />')
    {'w.weight': TensorInfo(name='w.weight', dtype='F16', shape=(4, 2), begin=0, end=0)}
"""

from __future__ import annotations

import re

from ..errors import InvalidWeightsError
from .safetensors import TensorInfo
from .sniff import not_weights

MAX_XML_BYTES = 256 * 1024 * 1024
# OpenVINO element types -> safetensors' spelling where it has one
DTYPES = {
    "f32": "F32", "f16": "F16", "bf16": "BF16", "f64": "F64", "i64": "I64", "i32": "I32", "i16": "I16", "i8": "I8",
    "u8": "U8", "u16": "U16", "u32": "U32", "u64": "U64", "boolean": "BOOL", "u4": "U4", "i4": "I4",
    "f8e4m3": "F8_E4M3", "f8e5m2": "F8_E5M2", "nf4": "NF4", "u1": "U1",
}  # fmt: skip
# one tag at a time, each pattern a single run of non-brackets: linear in the file (a pattern with two runs around
# `type="Const"` took 3.7 s on 100 kB of `type="Const" ` repeated, quadratically)
_LAYER = re.compile(r"<layer\b([^<>]*)>")
_DATA = re.compile(r"\s*<data\b([^<>]*)>")
_ATTR = re.compile(r'([\w.-]+)="([^"]*)"')
# a parameter's path: dotted names with no graph punctuation (`/`, `:`), once the frontend's `self.` and the f16
# suffix are off
_PARAM = re.compile(r"[A-Za-z_]\w*(?:\.\w+)+")


def consts(xml: str) -> dict[str, TensorInfo]:
    """{torch name: info} of the IR's parameters (see the module docstring)."""
    out: dict[str, TensorInfo] = {}
    for layer in _LAYER.finditer(xml):
        tag = dict(_ATTR.findall(layer.group(1)))
        data = _DATA.match(xml, layer.end())
        if tag.get("type") != "Const" or data is None:
            continue
        name = tag.get("name", "").removeprefix("self.").removesuffix("_compressed")
        attrs = dict(_ATTR.findall(data.group(1)))
        shape_text = attrs.get("shape", "").strip()
        if not _PARAM.fullmatch(name) or not re.fullmatch(r"\d+(?:\s*,\s*\d+)*", shape_text):
            continue
        shape = tuple(int(d) for d in shape_text.split(","))
        kind = attrs.get("element_type", "")
        out.setdefault(name, TensorInfo(name, DTYPES.get(kind, kind.upper() or "?"), shape, 0, 0))
    return out


def read_openvino(f) -> tuple[dict[str, TensorInfo], str]:
    """({torch name: info}, the runtime that wrote it) of an IR's XML file `f`; reads the XML, never the `.bin`."""
    if f.size > MAX_XML_BYTES:
        raise InvalidWeightsError(
            f"{f.name}: an OpenVINO IR graph of {f.size} bytes, over hfprobe's limit of {MAX_XML_BYTES // 2**20} MB"
        )
    data = f.read(0, f.size)
    head = data[:512]
    if instead := not_weights(head):
        raise InvalidWeightsError(f"{f.name}: {instead}")
    text = data.decode("utf-8", "replace")
    if "<net" not in text[:4096] or "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise InvalidWeightsError(
            f"{f.name}: not an OpenVINO IR graph (no <net> element at its start, or a DOCTYPE); re-export it with "
            "openvino's save_model"
        )
    runtime = re.search(r'<Runtime_version value="([^"]{1,100})"', text)
    return consts(text), f"OpenVINO {runtime.group(1).split('-')[0]}" if runtime else "OpenVINO"

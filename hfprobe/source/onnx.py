"""ONNX models (a protobuf `ModelProto`), skimmed for their tensors' names, shapes and types and the nodes that use
them, from any random-access file, never reading a tensor's data.

    ModelProto   2 producer_name, 3 producer_version, 7 graph
    GraphProto   1 node (NodeProto), 5 initializer (TensorProto)
    NodeProto    1 input, 2 output, 3 name, 4 op_type, 5 attribute (AttributeProto: 1 name, 3 i)
    TensorProto  1 dims, 2 data_type, 8 name, 9 raw_data (or typed data, or 13 external_data: another file)

A tensor's fields come before its data in every exporter's output (protobuf writes fields in number order), so
a weight costs one small read and its data is skipped by its length. Reads come in windows that grow while the
parse runs through small fields (the nodes) and start small again after a skip. Every bound (`MAX_*`) is a
clear `InvalidWeightsError`, so any file parses in time linear in what is read. Shapes are ONNX's own (a MatMul's
weight is [in, out]); formats/onnx.py gives them torch's names and layout.

    >>> from hfprobe.source import resolve
    >>> src = resolve("Xenova/bert-base-uncased")                              # doctest: +SKIP
    >>> onnx = read_onnx(src.open("onnx/model.onnx"))                         # doctest: +SKIP
    >>> onnx.tensors["onnx::MatMul_1459"].shape, onnx.uses["onnx::MatMul_1459"][0].op  # doctest: +SKIP
    ((768, 768), 'MatMul')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InvalidWeightsError
from .safetensors import TensorInfo, quote
from .sniff import not_weights, renamed

MAX_STRUCTURE_BYTES = 256 * 1024 * 1024  # bytes read that are not tensor data (nodes, names, dims)
MAX_TENSORS = 1_000_000
MAX_NODES = 2_000_000
MAX_STRING = 65_536  # a name, an op type
MAX_DIMS = 16
MAX_DEPTH = 100  # nested messages skipped by length never recurse; this bounds the ones parsed
FIRST_WINDOW = 16 * 1024
MAX_WINDOW = 8 * 1024 * 1024

# ONNX TensorProto.DataType -> safetensors' spelling where it has one
DTYPES = {
    1: "F32", 2: "U8", 3: "I8", 4: "U16", 5: "I16", 6: "I32", 7: "I64", 8: "STRING", 9: "BOOL", 10: "F16",
    11: "F64", 12: "U32", 13: "U64", 16: "BF16", 17: "F8_E4M3", 19: "F8_E5M2", 21: "U4", 22: "I4",
}  # fmt: skip


@dataclass
class Use:
    """A node that takes a tensor as one of its inputs: its op type, its name, the input's index, its int attributes."""

    op: str
    node: str
    index: int
    attrs: dict = field(default_factory=dict)
    scope: str = ""  # the module torch.onnx's dynamo exporter says the node is in (its last name scope but the op's)


@dataclass
class OnnxModel:
    producer: str  # "pytorch 2.1.0", "onnx.quantize 0.1.0", …
    tensors: dict[str, TensorInfo]  # the graph's initializers, in ONNX's layout; begin = end = 0 (data not read)
    uses: dict[str, list[Use]]  # initializer name -> the nodes that take it
    external: bool  # some tensors' data lives in another file (`model.onnx_data`)
    bytes_read: int


class _Reader:
    """Varints and fields over a random-access file, through a window that doubles while reads run on."""

    def __init__(self, f):
        self.f, self.name, self.size = f, f.name, f.size
        self.buf, self.start, self.window, self.read_bytes = b"", 0, FIRST_WINDOW, 0

    def bytes(self, pos: int, n: int) -> bytes:
        end = pos + n
        if end > self.size:
            raise _bad(self.name, f"a field runs past the end of the {self.size}-byte file (truncated?)")
        if pos < self.start or end > self.start + len(self.buf):
            ahead = pos - (self.start + len(self.buf))  # past the window's end: small fields run on, a skip jumps
            self.window = min(self.window * 2, MAX_WINDOW) if 0 <= ahead < self.window else FIRST_WINDOW
            want = min(max(n, self.window), self.size - pos)
            self.read_bytes += want
            if self.read_bytes > MAX_STRUCTURE_BYTES:
                raise _bad(self.name, f"its structure runs past {MAX_STRUCTURE_BYTES // 2**20} MB, hfprobe's limit")
            self.buf, self.start = self.f.read(pos, want), pos
            if len(self.buf) < n:
                raise _bad(self.name, "the file ended inside a field (truncated?)")
        return self.buf[pos - self.start : end - self.start]

    def varint(self, pos: int) -> tuple[int, int]:
        value = 0
        for shift in range(0, 70, 7):
            byte = self.bytes(pos, 1)[0]
            pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value, pos
        raise _bad(self.name, "a varint longer than 10 bytes")

    def fields(self, pos: int, end: int):
        """(field number, wire type, value or (start, length), next position) of each field in [pos, end): a
        varint's value, a length-delimited field's span (not read), fixed-size fields skipped."""
        while pos < end:
            tag, pos = self.varint(pos)
            number, wire = tag >> 3, tag & 7
            if wire == 0:
                value, pos = self.varint(pos)
            elif wire == 2:
                length, pos = self.varint(pos)
                value = (pos, length)
                pos += length
            elif wire in (1, 5):
                value, pos = None, pos + (8 if wire == 1 else 4)
            else:
                raise _bad(self.name, f"wire type {wire} (field {number}), which ONNX does not use")
            if pos > end:
                held = "the end of the file (truncated?)" if end == self.size else "the message that holds it"
                raise _bad(self.name, f"field {number} runs past {held}")
            yield number, wire, value, pos

    def string(self, span: tuple[int, int]) -> str:
        start, length = span
        if length > MAX_STRING:
            raise _bad(self.name, f"a name of {length} bytes, over hfprobe's limit of {MAX_STRING}")
        return self.bytes(start, length).decode("utf-8", "replace")


def _bad(name: str, what: str) -> InvalidWeightsError:
    return InvalidWeightsError(f"{name}: not a valid ONNX model: {what}; re-export it")


def _ints(r: _Reader, wire: int, value) -> list[int]:
    """A repeated int64 field's values: one varint, or a packed run of them."""
    if wire == 0:
        return [value]
    start, length = value
    out, pos = [], start
    while pos < start + length:
        v, pos = r.varint(pos)
        out.append(v)
        if len(out) > MAX_DIMS:
            raise _bad(r.name, f"a tensor of over {MAX_DIMS} dimensions")
    return out


def _tensor(r: _Reader, span: tuple[int, int]) -> tuple[str, TensorInfo, bool]:
    dims: list[int] = []
    dtype, name, external = 0, "", False
    for number, wire, value, _ in r.fields(span[0], span[0] + span[1]):
        if number == 1:
            dims += _ints(r, wire, value)
            if len(dims) > MAX_DIMS:
                raise _bad(r.name, f"a tensor of over {MAX_DIMS} dimensions")
        elif number == 2 and wire == 0:
            dtype = value
        elif number == 8 and wire == 2:
            name = r.string(value)
        elif number == 14 and wire == 0:
            external = value == 1
    shape = tuple(d if d < 2**63 else d - 2**64 for d in dims)
    if any(d < 0 for d in shape):
        raise _bad(r.name, f"tensor {quote(name)} has a negative dimension {shape}")
    return name, TensorInfo(name, DTYPES.get(dtype, f"onnx type {dtype}"), shape, 0, 0), external


def _node(r: _Reader, span: tuple[int, int]) -> tuple[str, str, list[str], dict, list[tuple[int, int]], str]:
    """(name, op type, inputs, int attributes, the spans of its subgraphs: an If's branches, a Loop's body, module
    scope)."""
    inputs: list[str] = []
    name = op = scope = ""
    attrs: dict = {}
    graphs: list[tuple[int, int]] = []
    for number, wire, value, _ in r.fields(span[0], span[0] + span[1]):
        if wire != 2:
            continue
        if number == 1:
            inputs.append(r.string(value))
        elif number == 3:
            name = r.string(value)
        elif number == 4:
            op = r.string(value)
        elif number == 5:  # an attribute: its name and int (transB, K, N) or graphs; a tensor one is skipped
            key, ival = "", None
            for n2, w2, v2, _ in r.fields(value[0], value[0] + value[1]):
                if n2 == 1 and w2 == 2:
                    key = r.string(v2)
                elif n2 == 3 and w2 == 0:
                    ival = v2 if v2 < 2**63 else v2 - 2**64
                elif n2 in (6, 11) and w2 == 2:  # g, graphs
                    graphs.append(v2)
            if key and ival is not None:
                attrs[key] = ival
        elif number == 9:  # metadata_props: the dynamo exporter's module path, where the node's name has none
            entry = dict((n2, v2) for n2, w2, v2, _ in r.fields(value[0], value[0] + value[1]) if w2 == 2)
            if 1 in entry and 2 in entry and entry[1][1] < 64 and r.string(entry[1]) == _SCOPES:
                scopes = _SCOPE.findall(r.bytes(*entry[2]).decode("utf-8", "replace")) if entry[2][1] <= 65_536 else []
                scope = scopes[-2] if len(scopes) >= 2 else ""
    return name, op, inputs, attrs, graphs, scope


_SCOPES = "pkg.torch.onnx.name_scopes"  # "['', 'bert', …, 'bert.encoder.layer.0.attention.self.query', 'linear']"
_SCOPE = re.compile(r"'([^']*)'")


class _Graph:
    """What the graph and its subgraphs hold, gathered as they are parsed (an exporter's merged decoder keeps its
    weights at the top and its MatMuls in an If's two branches)."""

    def __init__(self, r: _Reader):
        self.r, self.tensors, self.uses, self.external, self.nodes = r, {}, {}, False, 0

    def parse(self, span: tuple[int, int], depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise _bad(self.r.name, f"subgraphs nested over {MAX_DEPTH} deep")
        for number, wire, value, _ in self.r.fields(span[0], span[0] + span[1]):
            if wire != 2:
                continue
            if number == 1:
                self.nodes += 1
                if self.nodes > MAX_NODES:
                    raise _bad(self.r.name, f"over {MAX_NODES} nodes, hfprobe's limit")
                name, op, inputs, attrs, graphs, scope = _node(self.r, value)
                for i, used in enumerate(inputs):
                    if used:
                        self.uses.setdefault(used, []).append(Use(op, name, i, attrs, scope))
                for graph in graphs:
                    self.parse(graph, depth + 1)
            elif number == 5:
                name, info, outside = _tensor(self.r, value)
                if len(self.tensors) >= MAX_TENSORS:
                    raise _bad(self.r.name, f"over {MAX_TENSORS} tensors, hfprobe's limit")
                self.tensors.setdefault(name, info)
                self.external |= outside


def read_onnx(f) -> OnnxModel:
    """The initializers (names, shapes, types) of an ONNX model and the nodes that take them; reads no tensor data."""
    r = _Reader(f)
    head = f.read(0, min(f.size, 512))
    if not head or head[0] != 0x08:  # every ModelProto begins with its ir_version (field 1, a varint)
        if instead := not_weights(head):
            raise InvalidWeightsError(f"{f.name}: {instead}")
        if (other := renamed(head[:16])) and other[1] != ".onnx":
            raise InvalidWeightsError(f"{f.name}: {other[0]} under an .onnx name; rename it to {other[1]}")
        raise _bad(f.name, "it does not begin with a model's ir_version")
    producer, graph = [], None
    for number, wire, value, _ in r.fields(0, f.size):
        if number in (2, 3) and wire == 2:
            producer.append(r.string(value))
        elif number == 7 and wire == 2:
            graph = value
    if graph is None:
        raise _bad(f.name, "it holds no graph")
    g = _Graph(r)
    g.parse(graph)
    uses = {k: v for k, v in g.uses.items() if k in g.tensors}
    return OnnxModel(" ".join(p for p in producer if p), g.tensors, uses, g.external, r.read_bytes)

"""Writers of exported models for the fuzz seeds and the tests: a few lines of protobuf, enough to build small ONNX
models (`onnx_bytes`) without the `onnx` package, which the tests keep as the oracle of what these bytes mean; and
an OpenVINO IR's XML graph (`openvino_xml`) laid out as openvino 2026.4's `save_model` writes one (its Const layers
and their output ports; docs/formats.md); and the fuzz seeds of both formats (`onnx_seed`, `openvino_seed`).

    >>> varint(300), field(8, "w")
    (b'\\xac\\x02', b'B\\x01w')
"""

from __future__ import annotations

import json
import math


def varint(n: int) -> bytes:
    n &= 2**64 - 1  # int64 as protobuf writes a negative one: ten bytes
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def field(number: int, value: int | str | bytes) -> bytes:
    """One field: a varint for an int, length-delimited for text and bytes (a nested message's bytes)."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def onnx_bytes(
    initializers: dict[str, tuple[int, list[int]]], nodes: list[tuple], *, producer="hfprobe-seed", external=False
) -> bytes:
    """An ONNX ModelProto: `initializers` {name: (ONNX data type, dims)} with zero-valued raw data (1 = float,
    3 = int8, 2 = uint8), or `external`ly in `model.onnx_data` (not written), as exports over 2 GB keep them;
    `nodes` [(op_type, name, inputs, {attribute: an int, or a subgraph's `graph_bytes`}[, {metadata_props}])]."""
    graph = graph_bytes(initializers, nodes, external=external)
    return field(1, 8) + field(2, producer) + field(3, "1.0") + field(7, graph) + field(8, field(2, 17))


def graph_bytes(initializers: dict[str, tuple[int, list[int]]], nodes: list[tuple], *, external=False) -> bytes:
    """A GraphProto's bytes (see `onnx_bytes`): a model's graph, or an If node's branch."""
    size = {1: 4, 2: 1, 3: 1, 10: 2}

    def attribute(key: str, value: int | bytes) -> bytes:  # type 2 INT in field 3, type 5 GRAPH in field 6
        return field(1, key) + (
            field(6, value) + field(20, 5) if isinstance(value, bytes) else field(3, value) + field(20, 2)
        )

    def node(op: str, name: str, inputs: list[str], attrs: dict, metadata: dict | None = None) -> bytes:
        return (
            b"".join(field(1, i) for i in inputs) + field(2, f"{name}_out") + field(3, name) + field(4, op)
            + b"".join(field(5, attribute(k, v)) for k, v in attrs.items())
            + b"".join(field(9, field(1, k) + field(2, v)) for k, v in (metadata or {}).items())
        )  # fmt: skip

    graph = b"".join(field(1, node(*n)) for n in nodes) + field(2, "graph")
    for name, (dtype, dims) in initializers.items():
        packed = b"".join(varint(d) for d in dims)
        data = bytes(size.get(dtype, 4) * math.prod(dims))
        where = field(13, field(1, "location") + field(2, "model.onnx_data")) + field(14, 1) if external else b""
        graph += field(5, field(1, packed) + field(2, dtype) + field(8, name) + (where or field(9, data)))
    return graph


_PRECISION = {"f16": "FP16", "f32": "FP32", "bf16": "BF16"}


def openvino_xml(consts: dict[str, tuple[str, tuple[int, ...]]], runtime: str = "2026.4.1-22982-e213a147257") -> str:
    """An IR's XML graph holding `consts` {layer name: (element type, shape)} as Const layers (no edges: hfprobe
    reads the parameters, not the graph)."""
    layers = []
    for i, (name, (kind, shape)) in enumerate(consts.items()):
        dims = "".join(f"\n\t\t\t\t\t<dim>{d}</dim>" for d in shape)
        port = name.removesuffix("_compressed")
        named = f' names="{port}"' if "." in port else ""  # a graph constant's port has no name
        layers.append(
            f'\t\t<layer id="{i}" name="{name}" type="Const" version="opset1">\n'
            f'\t\t\t<data element_type="{kind}" shape="{", ".join(map(str, shape))}" offset="0" size="0" />\n'
            f'\t\t\t<output>\n\t\t\t\t<port id="0" precision="{_PRECISION.get(kind, kind.upper())}"{named}>{dims}\n'
            "\t\t\t\t</port>\n\t\t\t</output>\n\t\t</layer>\n"
        )
    return (
        '<?xml version="1.0"?>\n<net name="Model0" version="11">\n\t<layers>\n' + "".join(layers) + "\t</layers>\n"
        f'\t<edges />\n\t<rt_info>\n\t\t<Runtime_version value="{runtime}" />\n\t</rt_info>\n</net>\n'
    )


# ---------------------------------------------------------------- the fuzz seeds (seeds.py)
def onnx_seed(rng):
    """A BERT exported by torch.onnx, as Transformers.js lays it out: its Linears' weights named by their MatMul
    nodes (or the module scope a node records) and stored [in, out], its config.json above the onnx/ folder."""
    tensors = {"embeddings.word_embeddings.weight": (1, [100, 32]), "embeddings.LayerNorm.weight": (1, [32])}
    nodes = []
    for i in range(2):
        for n, (module, dims) in enumerate(
            [("attention/self/query", [32, 32]), ("attention/self/value", [32, 32]), ("intermediate/dense", [32, 64])]
        ):
            weight = f"onnx::MatMul_{100 + 10 * i + n}"
            tensors[weight] = (1, dims)
            tensors[f"encoder.layer.{i}.{module.replace('/', '.')}.bias"] = (1, dims[1:])
            nodes.append(("MatMul", f"/encoder/layer.{i}/{module}/MatMul", [f"h{i}", weight], {}))
    # the dynamo exporter's way: a weight `val_N` of a node named `node_MatMul_N`, its module in the node's metadata
    tensors["val_7"] = (1, [64, 32])
    scopes = "['', 'encoder', 'encoder.layer.1', 'encoder.layer.1.output', 'encoder.layer.1.output.dense', 'linear']"
    nodes.append(("MatMul", "node_MatMul_6", ["h2", "val_7"], {}, {"pkg.torch.onnx.name_scopes": scopes}))
    config = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "vocab_size": 100}
    return {
        "onnx/model.onnx": onnx_bytes(tensors, nodes, producer="pytorch"),
        "config.json": json.dumps(config).encode(),
    }


def openvino_seed(rng):
    """A BERT's OpenVINO IR as optimum-intel saves it: its XML graph (Const layers), its .bin (not read)."""
    layers = {"self.bert.embeddings.word_embeddings.weight_compressed": ("f16", (100, 32)), "Constant_5": ("i64", (1,))}
    for i in range(2):
        layers[f"self.bert.encoder.layer.{i}.attention.self.query.weight_compressed"] = ("f16", (32, 32))
        layers[f"self.bert.encoder.layer.{i}.intermediate.dense.weight"] = ("u4", (64, 1, 32))
    config = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "vocab_size": 100}
    return {
        "openvino_model.xml": openvino_xml(layers).encode(),
        "openvino_model.bin": b"",
        "config.json": json.dumps(config).encode(),
    }

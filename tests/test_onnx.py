"""ONNX exports (Transformers.js' onnx/ folders, optimum's, torch.onnx's): a model's weights read at their shapes under
torch's names, from its tensors' fields alone. Models are exported by torch.onnx itself; the `onnx` package (the
dev extra) is the oracle of what the bytes hold; graphs torch does not write (onnxruntime's int8 and 4-bit
MatMuls, a seq2seq export's parts) are built with hfprobe's protobuf writer, which the oracle reads back first.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from hfprobe.cards.card import update_card
from hfprobe.errors import InvalidWeightsError, UnsupportedFormatError
from hfprobe.formats import open_weights
from hfprobe.formats.fuzz.exports import graph_bytes, onnx_bytes
from hfprobe.source.local import ByteCounter, LocalFile
from hfprobe.source.onnx import read_onnx
from hfprobe.tree.inspect import inspect_source
from tests.fakehub import FakeHub

onnx = pytest.importorskip("onnx", reason="the onnx package (the dev extra) is the oracle of the ONNX files read")
torch.set_num_threads(1)


class _Encoder(torch.nn.Module):
    """A BERT as Transformers.js exports it (the model's own forward, traced from input ids)."""

    def __init__(self, model):
        super().__init__()
        self.bert = model

    def forward(self, ids):
        out = self.bert(input_ids=ids)
        return out.last_hidden_state, out.pooler_output


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(the folder: onnx/model.onnx and config.json above it, the BERT's state dict under its exported names)."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=256, num_hidden_layers=2, num_attention_heads=4, intermediate_size=512, vocab_size=2000
    )
    model = BertModel(config).eval()
    for p in model.parameters():  # trained values: an exporter folds identical initializers (fresh norms) into one
        torch.nn.init.normal_(p, std=0.02)
    root = tmp_path_factory.mktemp("export")
    (root / "onnx").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Encoder(model), (torch.ones(1, 8, dtype=torch.long),), str(root / "onnx" / "model.onnx"),
                          dynamo=False, input_names=["input_ids"])  # fmt: skip
    config.save_pretrained(root)
    return root, {k: tuple(v.shape) for k, v in _Encoder(model).state_dict().items()}


def _skim(path: Path):
    return read_onnx(LocalFile(path, ByteCounter()))


def test_the_skim_reads_what_the_onnx_package_reads(exported):
    root, _ = exported
    path = root / "onnx" / "model.onnx"
    mine, theirs = _skim(path), onnx.load(str(path))
    dtypes = {1: "F32", 7: "I64"}
    assert {k: (i.dtype, i.shape) for k, i in mine.tensors.items()} == {
        t.name: (dtypes[t.data_type], tuple(t.dims)) for t in theirs.graph.initializer
    }
    uses = {
        (name, n.op_type, n.name, i)
        for n in theirs.graph.node
        for i, name in enumerate(n.input)
        if name in mine.tensors
    }
    assert {(k, u.op, u.node, u.index) for k, us in mine.uses.items() for u in us} == uses
    assert mine.producer.startswith("pytorch") and not mine.external
    assert mine.bytes_read < path.stat().st_size / 4  # fields, not the tensors' data


def test_an_export_reads_as_its_model_under_torch_names(exported):
    """Before, a Transformers.js repo was "holds ONNX weights only; point hfprobe at the PyTorch weights"."""
    root, state = exported
    view = open_weights(str(root))
    assert view.format == "onnx" and view.files == ["onnx/model.onnx"]
    linears = {k.removesuffix(".weight"): s for k, s in state.items() if k.endswith(".weight") and len(s) == 2}
    # every Linear and embedding of the model, at torch's own [out, in], named as torch names it
    assert {n: (m.d_out, m.d_in) for n, m in view.modules.items()} == linears
    report = inspect_source(str(root))
    assert report["family"] == "bert" and report["declared"]["config.json model_type"] == "bert"
    assert report["quantized"] == {"method": "onnx", "bits": None, "type": "F32", "modules": len(linears)}
    with pytest.raises(UnsupportedFormatError, match="ONNX model's tensor values are not read"):
        view.layer("bert.encoder.layer.0.attention.self.query")


def _bert_base(external=True, quantized=False) -> bytes:
    """BERT-base's weights as an exporter writes them, data outside (as over 2 GB) or int8 as onnxruntime's."""
    h, inner = 768, 3072
    table = "embeddings.word_embeddings.weight" + ("_quantized" if quantized else "")  # uint8, as onnxruntime's
    tensors = {table: (2 if quantized else 1, [30522, h]), "embeddings.position_embeddings.weight": (1, [512, h])}
    if quantized:
        tensors[table + "_scale"], tensors[table + "_zero_point"] = (1, []), (2, [])
    nodes = [("Gather", "/embeddings/word_embeddings/Gather", [table, "input_ids"], {})]
    for i in range(12):
        for n, (module, dims) in enumerate([
            ("attention/self/query", [h, h]), ("attention/self/key", [h, h]), ("attention/self/value", [h, h]),
            ("attention/output/dense", [h, h]), ("intermediate/dense", [h, inner]), ("output/dense", [inner, h]),
        ]):  # fmt: skip
            weight = f"onnx::MatMul_{1000 + 6 * i + n}" + ("_quantized" if quantized else "")
            tensors[weight] = (3 if quantized else 1, dims)
            tensors[f"encoder.layer.{i}.{module.replace('/', '.')}.bias"] = (1, dims[1:])
            op, inputs = (
                ("MatMulInteger", ["x_q", weight, "x_zp", weight + "_zero_point"])
                if quantized
                else ("MatMul", ["x", weight])
            )
            if quantized:
                tensors[weight + "_scale"], tensors[weight + "_zero_point"] = (1, []), (3, [])
            nodes.append((op, f"/encoder/layer.{i}/{module}/MatMul" + ("_quant" if quantized else ""), inputs, {}))
    return onnx_bytes(tensors, nodes, producer="onnx.quantize" if quantized else "pytorch", external=external)


def test_a_declared_base_model_the_shapes_fit_is_written_as_a_conversion(tmp_path):
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "model.onnx").write_bytes(_bert_base())
    (tmp_path / "config.json").write_text(json.dumps({"_name_or_path": "bert-base-uncased", "model_type": "bert"}))
    assert [
        t.name for t in onnx.load(str(tmp_path / "onnx" / "model.onnx"), load_external_data=False).graph.initializer
    ][:1] == ["embeddings.word_embeddings.weight"]
    report = inspect_source(str(tmp_path))
    assert report["root"]["id"] == "google-bert/bert-base-uncased" and report["base_model"]["id"] == "bert-base-uncased"
    assert any("external data" in n for n in report["notes"])
    text = update_card(None, report, today="2026-12-06").text
    assert "base_model: bert-base-uncased" in text and "base_model_relation: quantized" in text
    # the weights alone cannot tell which BERT-base was exported: nothing declared, nothing written
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    alone = inspect_source(str(tmp_path))
    assert alone["base_model"]["id"] is None and "an ONNX export of BERT" in alone["base_model"]["reason"]


def test_onnxruntime_int8_weights_are_named_by_their_node_and_read_at_torch_shapes(tmp_path):
    (tmp_path / "model_quantized.onnx").write_bytes(_bert_base(quantized=True))
    checked = onnx.load(str(tmp_path / "model_quantized.onnx"), load_external_data=False)
    assert {n.op_type for n in checked.graph.node} == {"Gather", "MatMulInteger"}
    view = open_weights(str(tmp_path))
    assert view.store.raw["embeddings.word_embeddings.weight"].shape == (30522, 768)  # a Gather's table, as it is
    out = view.modules["encoder.layer.3.intermediate.dense"]
    assert (out.d_out, out.d_in) == (3072, 768)
    assert not any("scale" in k or "zero_point" in k or k.startswith("onnx::") for k in view.store.raw)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "bert" and report["quantized"]["bits"] == 8 and report["quantized"]["type"] == "I8"
    assert report["modules"] == 74


def test_a_4_bit_matmul_is_read_at_the_shape_its_node_says(tmp_path):
    blob = onnx_bytes(
        {"onnx::MatMul_7_Q4": (2, [128, 2, 16]), "h.0.ln.weight": (1, [64])},
        [("MatMulNBits", "/h.0/mlp/fc/MatMul_Q4", ["x", "onnx::MatMul_7_Q4"], {"K": 64, "N": 128, "bits": 4})],
    )
    (tmp_path / "model_q4.onnx").write_bytes(blob)
    assert onnx.load(str(tmp_path / "model_q4.onnx")).graph.node[0].attribute[1].i == 128
    view = open_weights(str(tmp_path))
    assert (view.modules["h.0.mlp.fc"].d_out, view.modules["h.0.mlp.fc"].d_in) == (128, 64)
    assert view.store.raw["h.0.mlp.fc.weight"].dtype == "U4"


def test_a_seq2seq_export_reads_its_encoder_and_one_decoder_with_shared_tables_once(tmp_path):
    shared = {"shared.weight": (1, [100, 32])}
    enc = onnx_bytes(
        {**shared, "onnx::MatMul_1": (1, [32, 32])},
        [("MatMul", "/encoder/block.0/q/MatMul", ["x", "onnx::MatMul_1"], {})],
    )
    dec = onnx_bytes(
        {**shared, "onnx::MatMul_2": (1, [32, 48])},
        [("MatMul", "/decoder/block.0/q/MatMul", ["x", "onnx::MatMul_2"], {})],
    )
    for name, blob in {"encoder_model.onnx": enc, "decoder_model.onnx": dec, "decoder_with_past_model.onnx": dec,
                       "encoder_model_quantized.onnx": enc}.items():  # fmt: skip
        (tmp_path / name).write_bytes(blob)
    view = open_weights(str(tmp_path))
    assert view.files == ["encoder_model.onnx", "decoder_model.onnx"]
    assert set(view.store.raw) == {"shared.weight", "encoder.block.0.q.weight", "decoder.block.0.q.weight"}
    assert view.store.raw["decoder.block.0.q.weight"].shape == (48, 32)
    hub = FakeHub(tmp_path / "hub")  # a Hub export's parts are read side by side, of one commit
    hub.add_repo("org/t5-ONNX", {f"onnx/{p.name}": p.read_bytes() for p in tmp_path.glob("*.onnx")})
    with hub.serving():
        remote = open_weights("org/t5-ONNX")
        assert remote.files == ["onnx/encoder_model.onnx", "onnx/decoder_model.onnx"]
        assert {k: i.shape for k, i in remote.store.raw.items()} == {k: i.shape for k, i in view.store.raw.items()}
        remote.close()


def test_a_merged_decoder_s_weights_are_named_by_the_matmuls_in_its_branches(tmp_path):
    """optimum's `decoder_model_merged.onnx` keeps its weights at the top and its MatMuls in an If's two branches
    (with and without the past): before, its every Linear went unnamed and was left out."""
    branch = graph_bytes({}, [("MatMul", "/model/decoder/layers.0/fc1/MatMul", ["h", "onnx::MatMul_9"], {})])
    blob = onnx_bytes(
        {"onnx::MatMul_9": (1, [32, 64]), "model.decoder.embed_tokens.weight": (1, [100, 32])},
        [("If", "optimum::if", ["use_cache_branch"], {"then_branch": branch, "else_branch": branch})],
    )
    (tmp_path / "decoder_model_merged.onnx").write_bytes(blob)
    checked = onnx.load(str(tmp_path / "decoder_model_merged.onnx"))
    assert checked.graph.node[0].attribute[0].g.node[0].input[1] == "onnx::MatMul_9"
    view = open_weights(str(tmp_path))
    assert (view.modules["model.decoder.layers.0.fc1"].d_out, view.modules["model.decoder.layers.0.fc1"].d_in) == (
        64,
        32,
    )


def test_the_dynamo_exporter_s_weights_are_named_by_the_module_scope_it_records(tmp_path):
    """torch.onnx's default exporter (torch 2.9 on) names a Linear's transposed weight `val_37` and its MatMul
    `node_MatMul_36`; the module is in the node's metadata (`pkg.torch.onnx.name_scopes`). Before, such weights
    were left out: a BERT export was 4 embedding and pooler modules, BERT-mini at 0.38."""
    scopes = "['', 'bert', 'bert.encoder', 'bert.encoder.layer.0', 'bert.encoder.layer.0.intermediate', "
    scopes += "'bert.encoder.layer.0.intermediate.dense', 'linear']"
    blob = onnx_bytes(
        {"val_37": (1, [32, 64]), "bert.embeddings.word_embeddings.weight": (1, [100, 32])},
        [("MatMul", "node_MatMul_36", ["layer_norm", "val_37"], {}, {"pkg.torch.onnx.name_scopes": scopes})],
    )
    (tmp_path / "model.onnx").write_bytes(blob)
    assert onnx.load(str(tmp_path / "model.onnx")).graph.node[0].metadata_props[0].value == scopes
    view = open_weights(str(tmp_path))
    dense = view.modules["bert.encoder.layer.0.intermediate.dense"]
    assert (dense.d_out, dense.d_in) == (64, 32)


def _export_part(shapes: dict[str, list[int]]) -> bytes:
    """A part of an export as torch.onnx writes it (Linear weights named by their MatMul, [in, out]), data outside."""
    tensors, nodes = {}, []
    for n, (key, shape) in enumerate(shapes.items()):
        if key.endswith(".weight") and len(shape) == 2 and "embed" not in key and "proj_out" not in key:
            tensors[f"onnx::MatMul_{n}"] = (1, shape[::-1])
            node = "/" + key.removesuffix(".weight").replace(".", "/").replace("/layers/", "/layers.") + "/MatMul"
            nodes.append(("MatMul", node, ["x", f"onnx::MatMul_{n}"], {}))
        else:
            tensors[key] = (1, shape)
    return onnx_bytes(tensors, nodes, producer="pytorch", external=True)


def test_a_seq2seq_encoder_exported_as_its_own_module_is_put_back_under_the_model(tmp_path):
    """optimum exports Whisper's encoder as the module it is (`layers.0.self_attn.q_proj`, `conv1`) and its decoder
    within the model (`model.decoder.…`): read apart, the encoder's names were LLaMA's (0.30, a CONFLICT with
    model_type whisper); put back under `model.encoder.`, the export is whisper-tiny's."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    config = WhisperConfig(
        d_model=384, encoder_layers=4, decoder_layers=4, encoder_attention_heads=6, decoder_attention_heads=6,
        encoder_ffn_dim=1536, decoder_ffn_dim=1536, num_mel_bins=80, vocab_size=51865,
    )  # fmt: skip
    with torch.device("meta"):
        shapes = {k: list(v.shape) for k, v in WhisperForConditionalGeneration(config).state_dict().items()}
    (tmp_path / "onnx").mkdir()
    encoder = {k.removeprefix("model.encoder."): s for k, s in shapes.items() if k.startswith("model.encoder.")}
    decoder = {k: s for k, s in shapes.items() if not k.startswith("model.encoder.")}
    (tmp_path / "onnx" / "encoder_model.onnx").write_bytes(_export_part(encoder))
    (tmp_path / "onnx" / "decoder_model_merged.onnx").write_bytes(_export_part(decoder))
    config.save_pretrained(tmp_path)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "whisper" and report["root"]["id"] == "openai/whisper-tiny" and not report["conflicts"]
    view = open_weights(str(tmp_path))
    assert {(k, i.shape) for k, i in view.store.raw.items()} >= {
        ("model.encoder.conv1.weight", (384, 80, 3)),
        ("model.encoder.layers.3.self_attn.q_proj.weight", (384, 384)),
        ("model.decoder.layers.0.encoder_attn.k_proj.weight", (384, 384)),
    }


@pytest.mark.parametrize(
    "blob, says",
    [
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 9\n", "Git LFS pointer"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{}      ", "not a valid ONNX model: it does not begin"),
        (None, "runs past the end of the file \\(truncated\\?\\)"),  # cut short
        (onnx_bytes({}, [])[:6] + b"\x3b", "not a valid ONNX model"),  # wire type 3, which ONNX never uses
    ],
)
def test_a_bad_onnx_file_is_one_typed_line(tmp_path, blob, says):
    path = tmp_path / "model.onnx"
    path.write_bytes(blob if blob is not None else _bert_base()[:5000])
    with pytest.raises(InvalidWeightsError, match=says) as err:
        inspect_source(str(path))
    assert "\n" not in str(err.value) and "model.onnx" in str(err.value)


def test_a_hub_export_is_read_by_its_fields_and_an_offline_rerun_answers(tmp_path, monkeypatch, exported):
    from huggingface_hub import constants

    root, _ = exported
    blob = (root / "onnx" / "model.onnx").read_bytes()
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/tiny-bert-ONNX", {"onnx/model.onnx": blob, "config.json": (root / "config.json").read_text()})
    with hub.serving():
        report = inspect_source("org/tiny-bert-ONNX")
    assert report["format"] == "onnx" and report["family"] == "bert" and report["revision_sha"]
    assert report["bytes_read"] < len(blob) / 4
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the server is gone too
    offline = inspect_source("org/tiny-bert-ONNX")
    assert {k: offline[k] for k in ("format", "family", "modules")} == {
        k: report[k] for k in ("format", "family", "modules")
    }


def test_separate_onnx_models_side_by_side_ask_which_and_a_named_one_is_read_alone(tmp_path):
    """Two models' exports in one folder were read as parts of one model, their tensors merged."""
    from hfprobe.errors import UsageError
    from hfprobe.formats.fuzz.seeds import seed_files

    blob = seed_files("onnx")["onnx/model.onnx"]
    for name in ("yolov8n.onnx", "resnet50.onnx", "resnet50_int8.onnx"):
        (tmp_path / name).write_bytes(blob)
    with pytest.raises(UsageError, match=r"holds 2 weights files of different models \(resnet50.onnx, yolov8n.onnx\)"):
        open_weights(str(tmp_path))
    assert open_weights(str(tmp_path / "yolov8n.onnx")).files == ["yolov8n.onnx"]

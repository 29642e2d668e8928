"""OpenVINO IR models (optimum-intel's `openvino_model.xml` and `.bin`): their weights read at their shapes from the
XML graph alone. The IRs are written by `hfprobe.formats.fuzz.exports.openvino_xml`, laid out as openvino 2026.4.1's
`save_model` writes a converted BERT (its Const layers; the openvino package, 180 MB, is no dependency: its own
reader gave the same 16 parameters at the same shapes as `consts` on that file, docs/formats.md).
"""

from __future__ import annotations

import json

import pytest

from hfprobe.cards.card import update_card
from hfprobe.errors import InvalidWeightsError, UnsupportedFormatError
from hfprobe.formats import open_weights
from hfprobe.formats.fuzz.exports import openvino_xml
from hfprobe.tree.inspect import inspect_source


def _bert_base(kind: str = "f16") -> dict[str, tuple[str, tuple[int, ...]]]:
    """BERT-base's Const layers as the PyTorch frontend names them (`self.` + the parameter's path, `_compressed`
    for f16), 4-bit weights in NNCF's groups of 128 (as nncf 3.4's `compress_weights` writes them, checked once),
    beside graph constants that are no parameters."""
    h, inner = 768, 3072
    layers = {
        "self.bert.embeddings.word_embeddings.weight_compressed": ("f16", (30522, h)),
        "__module.bert.embeddings/aten::slice/Slice": ("i64", (1, 512)),
        "Constant_5126_compressed": ("f16", (1, h)),
    }
    for i in range(12):
        for module, (out, inp) in {
            "attention.self.query": (h, h), "attention.self.key": (h, h), "attention.self.value": (h, h),
            "attention.output.dense": (h, h), "intermediate.dense": (inner, h), "output.dense": (h, inner),
        }.items():  # fmt: skip
            name = f"self.bert.encoder.layer.{i}.{module}.weight_compressed"
            layers[name] = (kind, (out, inp)) if kind != "u4" else ("u4", (out, inp // 128, 128))
            if kind == "u4":  # NNCF's INT4_ASYM: a zero point and a scale per group, named below the weight
                layers[name + "/zero_point"], layers[name + "/scale"] = (
                    ("u4", (out, inp // 128, 1)),
                    ("f16", (out, inp // 128, 1)),
                )
    return layers


def _ir(folder, layers, config=None):
    (folder / "openvino_model.xml").write_text(openvino_xml(layers))
    (folder / "openvino_model.bin").write_bytes(b"")  # never opened
    (folder / "openvino_tokenizer.xml").write_text(openvino_xml({}))  # optimum-intel's tokenizer IR: no model
    (folder / "openvino_tokenizer.bin").write_bytes(b"")
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))


def test_an_ir_reads_as_its_model_and_a_declared_base_it_fits_is_written_as_a_conversion(tmp_path):
    """Before, an OpenVINO repo's .bin was read as a torch pickle: "not a torch weights file …; re-download it"."""
    _ir(tmp_path, _bert_base(), {"_name_or_path": "bert-base-uncased", "model_type": "bert"})
    view = open_weights(str(tmp_path))
    assert view.format == "openvino" and view.files == ["openvino_model.xml"]
    assert (
        view.modules["bert.encoder.layer.11.output.dense"].d_out,
        view.modules["bert.encoder.layer.11.output.dense"].d_in,
    ) == (768, 3072)
    assert not any("/" in k or k.startswith("Constant") for k in view.store.raw)  # graph constants left out
    with pytest.raises(UnsupportedFormatError, match="OpenVINO IR's tensor values are not read"):
        view.layer("bert.encoder.layer.0.attention.self.query")
    report = inspect_source(str(tmp_path))
    assert report["family"] == "bert" and report["root"]["id"] == "google-bert/bert-base-uncased"
    assert report["base_model"]["id"] == "bert-base-uncased" and report["quantized"]["method"] == "openvino"
    assert (
        report["bytes_read"] < 100_000 and report.get("passed_over") is None
    )  # the graph only; its .bin is no other model
    text = update_card(None, report, today="2026-12-06").text
    assert "base_model_relation: quantized" in text
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    assert "an OpenVINO export of BERT" in inspect_source(str(tmp_path))["base_model"]["reason"]


def test_nncf_4_bit_weights_in_groups_are_read_at_the_linear_s_shape(tmp_path):
    _ir(tmp_path, _bert_base("u4"), {"model_type": "bert"})
    view = open_weights(str(tmp_path))
    dense = view.modules["bert.encoder.layer.0.intermediate.dense"]
    assert (dense.d_out, dense.d_in) == (3072, 768)
    assert not any("zero_point" in k or "scale" in k for k in view.store.raw)
    report = inspect_source(str(tmp_path))
    assert report["quantized"]["bits"] == 4 and report["quantized"]["type"] == "U4" and report["family"] == "bert"


@pytest.mark.parametrize(
    "text, says",
    [
        ('<?xml version="1.0"?>\n<!DOCTYPE net [<!ENTITY a "aaaa">]>\n<net name="x" version="11"/>', "a DOCTYPE"),
        ('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>\n', "no <net> element"),
        ("version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 9\n", "Git LFS pointer"),
    ],
)
def test_a_bad_ir_graph_is_one_typed_line(tmp_path, text, says):
    (tmp_path / "openvino_model.xml").write_text(text)
    (tmp_path / "openvino_model.bin").write_bytes(b"")
    with pytest.raises(InvalidWeightsError, match=says) as err:
        inspect_source(str(tmp_path))
    assert "\n" not in str(err.value) and "openvino_model.xml" in str(err.value)


def test_a_hub_ir_is_read_by_its_graph_through_the_hub_cache_and_an_offline_rerun_answers(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from tests.fakehub import FakeHub

    hub = FakeHub(tmp_path / "hub")
    xml = openvino_xml(_bert_base())
    files = {
        "openvino_model.xml": xml,
        "openvino_model.bin": bytes(1024 * 1024),
        "config.json": '{"model_type": "bert"}',
    }
    hub.add_repo("OpenVINO/bert-base-uncased-fp16-ov", files)
    with hub.serving():
        report = inspect_source("OpenVINO/bert-base-uncased-fp16-ov")
    assert report["format"] == "openvino" and report["family"] == "bert" and report["revision_sha"]
    assert report["bytes_read"] < len(xml) + 64 * 1024  # the graph (and the config), never the 1 MB of values
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the server is gone too
    offline = inspect_source("OpenVINO/bert-base-uncased-fp16-ov")
    assert {k: offline[k] for k in ("format", "family", "modules")} == {
        k: report[k] for k in ("format", "family", "modules")
    }


def test_a_folder_of_exported_models_names_them_and_trees_reads_each(tmp_path):
    """A folder of two models' folders, an ONNX export and an IR: inspect read the ONNX one silently and `trees`
    saw only the IR (its .bin taken for a pickle)."""
    from hfprobe.errors import UsageError
    from hfprobe.formats import models_in
    from hfprobe.formats.fuzz.seeds import seed_files
    from hfprobe.source import resolve

    for name, blob in seed_files("onnx").items():
        (tmp_path / "a" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "a" / name).write_bytes(blob)
    (tmp_path / "b").mkdir()
    _ir(tmp_path / "b", _bert_base())
    with pytest.raises(UsageError, match=r"holds 2 separate models \(a/, b/\); name one, e.g. .*/a$"):
        open_weights(str(tmp_path))
    assert models_in(resolve(str(tmp_path))) == ["a", "b"]
    assert open_weights(str(tmp_path / "a")).files == ["onnx/model.onnx"]


def test_a_hostile_graph_is_scanned_in_linear_time(tmp_path):
    """A first scan matched `type="Const"` between two runs of any attribute text: 100 kB of `type="Const" `
    repeated took 3.7 s, quadratically (this file, 2.6 MB, would have taken an hour); a tag at a time, it is
    refused at once."""
    from hfprobe.errors import HfprobeError

    (tmp_path / "openvino_model.xml").write_text(
        '<?xml version="1.0"?>\n<net><layers><layer ' + 'type="Const" ' * 200_000
    )
    (tmp_path / "openvino_model.bin").write_bytes(b"")
    with pytest.raises(HfprobeError, match="holds no tensors"):
        inspect_source(str(tmp_path))


def test_separate_irs_side_by_side_ask_which(tmp_path):
    """Two IRs of other names than optimum-intel's in one folder crashed (`min()` of no ONNX files)."""
    from hfprobe.errors import UsageError

    for stem in ("a_model", "b_model"):
        (tmp_path / f"{stem}.xml").write_text(openvino_xml(_bert_base()))
        (tmp_path / f"{stem}.bin").write_bytes(b"")
    with pytest.raises(UsageError, match=r"holds 2 weights files of different models \(a_model.xml, b_model.xml\)"):
        open_weights(str(tmp_path))
    assert open_weights(str(tmp_path / "b_model.xml")).format == "openvino"

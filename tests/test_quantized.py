"""Quantized checkpoints (GPTQ, AWQ, bitsandbytes 4/8-bit, FP8, compressed-tensors, MLX, EXL2): each quantized
Linear is one module at its logical (out, in), the tree is read as for the dense model, and the weights alone
never name the `base_model` of a quantized checkpoint.

The layouts are written here from each quantizer's published tensor layout (`LAYOUTS`); the reader recovers
shapes from them independently. The bitsandbytes rows match what bitsandbytes 0.50.2 saves through transformers
on CPU (checked against the library once; its 125 MB wheel is not a test dependency).
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest
import torch

from hfprobe.cards.card import update_card
from hfprobe.errors import InvalidWeightsError, UnsupportedFormatError
from hfprobe.formats import open_weights
from hfprobe.tree.inspect import inspect_source
from tests.builders import LLAMA2_7B, SIZES, save_checkpoint, write_header

torch.set_num_threads(1)


def _gptq(o, i, b=4, g=16):
    return {"qweight": ("I32", (i * b // 32, o)), "qzeros": ("I32", (i // g, o * b // 32)),
            "scales": ("F16", (i // g, o)), "g_idx": ("I32", (i,))}  # fmt: skip


def _awq(o, i, b=4, g=16):
    return {"qweight": ("I32", (i, o * b // 32)), "qzeros": ("I32", (i // g, o * b // 32)),
            "scales": ("F16", (i // g, o))}  # fmt: skip


def _bnb4(o, i, b=4, g=64):
    return {"weight": ("U8", (o * i // 2, 1)), "weight.absmax": ("F32", (o * i // g,)),
            "weight.quant_map": ("F32", (16,)), "weight.quant_state.bitsandbytes__nf4": ("U8", (78,))}  # fmt: skip


def _bnb8(o, i, b=8, g=0):
    return {"weight": ("I8", (o, i)), "SCB": ("F32", (o,)), "weight_format": ("U8", ())}


def _fp8(o, i, b=8, g=0):
    return {"weight": ("F8_E4M3", (o, i)), "weight_scale": ("F32", ()), "input_scale": ("F32", ())}


def _comfy_fp8(o, i, b=8, g=0):  # ComfyUI's `*_fp8_scaled.safetensors`: one scale per tensor
    return {"weight": ("F8_E4M3", (o, i)), "scale_weight": ("F32", ())}


def _fp8_cast(o, i, b=8, g=0):  # a plain cast (`*_fp8_e4m3fn.safetensors`): no scale at all
    return {"weight": ("F8_E4M3", (o, i))}


def _packed(o, i, b=4, g=16):
    return {"weight_packed": ("I32", (o, i * b // 32)), "weight_scale": ("F16", (o, i // g)),
            "weight_shape": ("I64", (2,))}  # fmt: skip


def _mlx(o, i, b=4, g=16):
    return {"weight": ("U32", (o, i * b // 32)), "scales": ("F16", (o, i // g)), "biases": ("F16", (o, i // g))}


def _exl2(o, i, b=4, g=16):
    return {"q_weight": ("I32", (i * b // 32, o)), "q_invperm": ("I16", (i,)), "q_scale": ("I32", (i // g, o // 8)),
            "q_scale_max": ("F16", (i // g,)), "q_groups": ("I16", (2 * (i // g),))}  # fmt: skip


def _bitnet(o, i, b=2, g=0):  # BitNet b1.58: four ternary weights a byte along the rows, one scale
    return {"weight": ("U8", (o // 4, i)), "weight_scale": ("BF16", (1,))}


def _nvfp4(o, i, b=4, g=16):  # NVIDIA ModelOpt: two 4-bit values a byte, an fp8 scale a block of 16, a global one
    return {"weight": ("U8", (o, i // 2)), "weight_scale": ("F8_E4M3", (o, i // g)), "weight_scale_2": ("F32", ()),
            "input_scale": ("F32", ())}  # fmt: skip


def _packed_nvfp4(o, i, b=4, g=16):  # compressed-tensors' NVFP4: its packed weights in bytes, not int32 words
    return {"weight_packed": ("U8", (o, i // 2)), "weight_scale": ("F8_E4M3", (o, i // g)),
            "weight_global_scale": ("F32", (1,))}  # fmt: skip


# layout -> (tensors of one Linear, what config.json says, the method inspect reports, whether the header alone
# gives the full shape)
LAYOUTS = {
    "gptq": (_gptq, {"quant_method": "gptq", "bits": 4, "group_size": 16}, "gptq", True),
    "awq": (_awq, {"quant_method": "awq", "bits": 4, "group_size": 16}, "awq", True),
    "bnb4": (_bnb4, {"quant_method": "bitsandbytes", "load_in_4bit": True}, "bitsandbytes", False),
    "bnb8": (_bnb8, {"quant_method": "bitsandbytes", "load_in_8bit": True}, "bitsandbytes", True),
    "fp8": (_fp8, {"quant_method": "fp8"}, "fp8", True),
    "comfy-fp8": (_comfy_fp8, {"quant_method": "fp8"}, "fp8", True),
    "fp8-cast": (_fp8_cast, {"quant_method": "fp8"}, "fp8", True),
    "compressed": (
        _packed,
        {"quant_method": "compressed-tensors", "config_groups": {"g0": {"weights": {"num_bits": 4}}}},
        "compressed-tensors",
        False,
    ),
    "mlx": (_mlx, {"bits": 4, "group_size": 16}, "mlx", False),
    "exl2": (_exl2, {"quant_method": "exl2", "bits": 4.0}, "exl2", True),
    "bitnet": (_bitnet, {"quant_method": "bitnet", "linear_class": "autobitlinear"}, "bitnet", True),
    "nvfp4": (_nvfp4, {"quant_method": "modelopt", "quant_algo": "NVFP4"}, "nvfp4", True),
    "compressed-nvfp4": (
        _packed_nvfp4,
        {"quant_method": "compressed-tensors", "config_groups": {"g0": {"weights": {"num_bits": 4, "type": "float"}}}},
        "compressed-tensors",
        False,
    ),
}


def quantize_header(dense: dict[str, tuple], layout: str) -> dict[str, tuple]:
    """{key: (dtype, shape)} of a checkpoint whose decoder Linears are stored in `layout`."""
    make = LAYOUTS[layout][0]
    out = {}
    for key, (dtype, shape) in dense.items():
        if ".layers." in key and key.endswith(".weight") and len(shape) == 2:
            base = key[: -len(".weight")]
            out.update({f"{base}.{part}": v for part, v in make(*shape).items()})
        else:
            out[key] = (dtype, shape)
    return out


def _config(folder: Path, quantization: dict, name_or_path: str | None, **dims) -> None:
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **dims}
    cfg["quantization" if "quant_method" not in quantization else "quantization_config"] = quantization
    if name_or_path:
        cfg["_name_or_path"] = name_or_path
    (folder / "config.json").write_text(json.dumps(cfg))


@pytest.fixture(scope="module")
def tiny_dense(tmp_path_factory):
    """A tiny Llama saved by transformers, and its modules' (d_out, d_in) as hfprobe reads the dense file."""
    model, folder = save_checkpoint("llama", tmp_path_factory.mktemp("dense"))
    sd = {k: ("F32", tuple(v.shape)) for k, v in model.state_dict().items()}
    view = open_weights(str(folder))
    shapes = {n: (m.d_out, m.d_in) for n, m in view.modules.items()}
    view.close()
    return sd, shapes, json.loads((folder / "config.json").read_text())


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_layout_reads_at_the_dense_shapes(layout, tiny_dense, tmp_path):
    sd, dense, config = tiny_dense
    _, quantization, method, header_says_all = LAYOUTS[layout]
    folder = tmp_path / layout
    write_header(folder / "model.safetensors", quantize_header(sd, layout))
    with open_weights(str(folder)) as view:  # the header alone (no config.json)
        assert view.extra["quantized"]["method"] == method
        assert set(view.modules) == set(dense)  # one module per Linear, under the dense model's names
        quantized = {n for n, m in view.modules.items() if m.kind == "quantized"}
        assert quantized == {n for n in dense if ".layers." in n}
        got = {n: (m.d_out or None, m.d_in or None) for n, m in view.modules.items()}
    if header_says_all:
        assert got == dense
    else:  # what the header gives is right; the rest is unknown, never a wrong number
        assert all(g in (d, None) for n in dense for g, d in zip(got[n], dense[n]))
    cfg = {k: config[k] for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "vocab_size")}
    _config(folder, quantization, None, **cfg)
    with open_weights(str(folder)) as view:  # with config.json: the bits it declares complete packed shapes
        got = {n: (m.d_out or None, m.d_in or None) for n, m in view.modules.items()}
        bits = {"exl2": None, "bitnet": 2}.get(layout, 8 if "8" in layout else 4)
        assert view.extra["quantized"]["bits"] == bits
    if layout != "bnb4":
        assert got == dense
    assert any("quantized (" in n for n in view.notes)


def test_a_quantized_layer_is_refused_in_one_line(tiny_dense, tmp_path):
    sd, _, _ = tiny_dense
    write_header(tmp_path / "q" / "model.safetensors", quantize_header(sd, "gptq"))
    with open_weights(str(tmp_path / "q")) as view:
        name = next(n for n, m in view.modules.items() if m.kind == "quantized")
        with pytest.raises(UnsupportedFormatError, match="is stored as gptq.*unquantized model") as err:
            view.layer(name)
        assert "\n" not in str(err.value)
        assert view.layer("model.embed_tokens").shape == (100, 16)  # the dense layers still read


def test_a_corrupt_quantized_tensor_is_a_typed_error(tmp_path):
    tensors = {"model.layers.0.self_attn.q_proj.qweight": ("I32", (64,)), "model.norm.weight": ("F16", (16,))}
    write_header(tmp_path / "bad" / "model.safetensors", tensors)
    with pytest.raises(InvalidWeightsError, match="gptq tensors of 'model.layers.0.self_attn.q_proj'.*re-export"):
        open_weights(str(tmp_path / "bad"))


@pytest.fixture(scope="module")
def llama2_7b():
    """The state dict shapes of Llama-2-7B, built by transformers on the meta device."""
    import transformers as tf

    with torch.device("meta"):
        model = tf.LlamaForCausalLM(tf.LlamaConfig(**LLAMA2_7B))
    return {k: ("F16", tuple(v.shape)) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("layout", ["gptq", "awq", "bnb4", "bnb8", "fp8", "comfy-fp8", "fp8-cast", "mlx"])
def test_real_size_quantized_llama2_keeps_its_tree_and_declared_base(layout, llama2_7b, tmp_path):
    """Header-only files (the data section left out) at Llama-2-7B's sizes: as quantized repos are on the Hub."""
    folder = tmp_path / layout
    write_header(folder / "model.safetensors", quantize_header(llama2_7b, layout), data=False)
    bare = inspect_source(str(folder))  # no config.json: the weights alone
    assert bare["quantized"]["method"] == LAYOUTS[layout][2] and not bare["conflicts"]
    if layout == "bnb4":  # packed 4-bit layers give no sizes: Llama 2 7B's embeddings and depth are Mistral 7B's too,
        # so the two tie, each family under 0.5 sure (a config.json's model_type decides, below)
        top = [c for c in bare["root"]["candidates"] if c["score"] == bare["root"]["candidates"][0]["score"]]
        assert "meta-llama/Llama-2-7b-hf" in [c["id"] for c in top] and bare["family_confidence"] < 0.5
    else:
        assert bare["family"] == "llama" and bare["root"]["id"] == "meta-llama/Llama-2-7b-hf"
    # the root is named, but not as base_model: which model was quantized (base or chat) is not in the weights
    assert bare["base_model"]["id"] is None
    if layout != "bnb4":
        assert "quantized checkpoint" in bare["base_model"]["reason"]
    _config(folder, LAYOUTS[layout][1], "meta-llama/Llama-2-7b-hf", **LLAMA2_7B)
    report = inspect_source(str(folder))
    assert report["truncated"] and report["conflicts"] == []  # bitsandbytes 4-bit used to "rule out" its own base
    assert report["base_model"]["id"] == "meta-llama/Llama-2-7b-hf"
    assert report["base_model"]["status"] == "declared"
    card = update_card(None, report, today="2026-12-02").text
    assert "base_model: meta-llama/Llama-2-7b-hf" in card and "base_model_relation: quantized" in card
    # a card that names it already (as quantizers' do) but not the relation: the Hub would file it as a fine-tune
    declared = "---\nbase_model: meta-llama/Llama-2-7b-hf\n---\n# Llama 2 7B, 4-bit\n"
    upd = update_card(declared, report, today="2026-12-02")
    assert upd.text.startswith("---\nbase_model: meta-llama/Llama-2-7b-hf\n") and upd.relation_added == "quantized"
    assert "base_model_relation: quantized" in upd.text
    assert "`base_model_relation: quantized` added" in upd.text  # said in the section too
    from hfprobe.cards.pull_request import pr_body

    assert "`base_model_relation: quantized` was added" in pr_body("org/llama-2-7b-4bit", upd, report)


@pytest.mark.parametrize(
    "declared, written",
    [
        ("NousResearch/Nous-Hermes-llama-2-7b", "NousResearch/Nous-Hermes-llama-2-7b"),
        ("lmsys/vicuna-7b-v1.5", "lmsys/vicuna-7b-v1.5"),  # a registry derivative of Llama 2 7B
        ("lmsys/longchat-7b-v1.5-32k", None),
    ],
)
def test_a_quantized_finetune_names_what_was_quantized(declared, written, llama2_7b, tmp_path):
    """config.json names the fine-tune that was quantized, a Hub id the registry does not know: it is the card's
    base_model where its name places it in the weights' family, else left unchecked; never the root instead."""
    folder = tmp_path / "finetune"
    write_header(folder / "model.safetensors", quantize_header(llama2_7b, "awq"), data=False)
    _config(folder, LAYOUTS["awq"][1], declared, **LLAMA2_7B)
    report = inspect_source(str(folder))
    assert report["root"]["id"] == "meta-llama/Llama-2-7b-hf" and not report["conflicts"]
    assert report["base_model"]["id"] == written
    assert report["base_model"]["status"] == ("declared" if written else "unchecked")


def _write_bnb4_with_states(path: Path, dense: dict[str, tuple]) -> None:
    """A bitsandbytes 4-bit checkpoint of `dense`'s shapes, truncated after its quant states: each state, the JSON
    bitsandbytes packs into a uint8 tensor (`{"quant_type": "nf4", ..., "shape": [out, in]}`), is placed first in
    the data section and written, the packed weights after it are left out (a partial download, or a test)."""
    tensors = quantize_header(dense, "bnb4")
    states, offset, header = {}, 0, {"__metadata__": {"format": "pt"}}
    for key in tensors:
        if key.endswith(".quant_state.bitsandbytes__nf4"):
            shape = dense[key[: -len(".quant_state.bitsandbytes__nf4")]][1]
            blob = json.dumps({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": list(shape)})
            states[key] = blob.encode()
    for key, blob in states.items():
        header[key] = {"dtype": "U8", "shape": [len(blob)], "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
    for key, (dtype, shape) in tensors.items():
        if key not in states:
            n = SIZES[dtype] * math.prod(shape)
            header[key] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
            offset += n
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + b"".join(states.values()))


def test_a_bnb4_checkpoint_s_layer_shapes_come_from_its_quant_states(tmp_path):
    """bitsandbytes 4-bit keeps a Linear's shape only in its quant state's bytes: with the header alone, a Mistral-7B
    was told from Llama-2-7B by nothing (both 4096 wide, 32,000 tokens), as the key/value width is in the Linears.
    The quant states (read in local files, one per layer name) give k_proj's 1024 rows: Mistral's."""
    import transformers as tf

    with torch.device("meta"):
        model = tf.MistralForCausalLM(tf.MistralConfig(num_hidden_layers=32, vocab_size=32000))
    dense = {k: ("F16", tuple(v.shape)) for k, v in model.state_dict().items()}
    bare = tmp_path / "bare"
    write_header(bare / "model.safetensors", quantize_header(dense, "bnb4"), data=False)
    before = inspect_source(str(bare))
    assert "meta-llama/Llama-2-7b-hf" in {c["id"] for c in before["root"]["candidates"]}  # no Linear has a shape
    states = tmp_path / "states"
    _write_bnb4_with_states(states / "model.safetensors", dense)
    report = inspect_source(str(states))
    assert report["family"] == "mistral" and report["root"]["id"].startswith("mistralai/Mistral-7B")
    assert "meta-llama/Llama-2-7b-hf" not in {c["id"] for c in report["root"]["candidates"]}
    assert any("quant states" in n for n in report["notes"])
    view = open_weights(str(states))
    assert (
        view.modules["model.layers.0.self_attn.k_proj"].d_out,
        view.modules["model.layers.0.self_attn.k_proj"].d_in,
    ) == (1024, 4096)
    assert view.modules["model.layers.5.self_attn.k_proj"].d_out == 0  # one layer of each name is read


def test_bitsandbytes_own_quant_states_give_the_dense_model_s_shapes(tmp_path):
    """Oracle: transformers quantizes a tiny Llama with bitsandbytes on CPU and saves it; the layers read from their
    quant states have the shapes of the dense model's Linears."""
    pytest.importorskip("bitsandbytes", reason="bitsandbytes (the dev extra) writes the quant states")
    import transformers as tf

    cfg = tf.LlamaConfig(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=1000)  # fmt: skip
    dense = tf.LlamaForCausalLM(cfg)
    dense.save_pretrained(tmp_path / "fp")
    quantized = tf.AutoModelForCausalLM.from_pretrained(
        tmp_path / "fp", quantization_config=tf.BitsAndBytesConfig(load_in_4bit=True), device_map="cpu"
    )
    quantized.save_pretrained(tmp_path / "bnb4")
    view = open_weights(str(tmp_path / "bnb4"))
    read = {n: (m.d_out, m.d_in) for n, m in view.modules.items() if m.kind == "quantized" and m.d_out}
    assert read and all(".layers.0." in n for n in read)
    for name, shape in read.items():
        assert shape == tuple(dense.get_submodule(name).weight.shape), name


def test_a_uint8_weight_with_a_scale_per_block_is_no_bitnet(tmp_path):
    # NVFP4 (ModelOpt) also stores a uint8 `weight` beside a `weight_scale`, one per 16 inputs: packed along the
    # inputs, not BitNet's four rows a byte
    header = {"model.layers.0.mlp.down_proj.weight": ("U8", (64, 128)),
              "model.layers.0.mlp.down_proj.weight_scale": ("F8_E4M3", (64, 16)),
              "model.layers.1.mlp.down_proj.weight": ("U8", (16, 256)),
              "model.layers.1.mlp.down_proj.weight_scale": ("BF16", (1,))}  # fmt: skip
    write_header(tmp_path / "model.safetensors", header)
    with open_weights(str(tmp_path)) as view:
        bitnet, nvfp4 = view.modules["model.layers.1.mlp.down_proj"], view.modules["model.layers.0.mlp.down_proj"]
        assert bitnet.kind == "quantized" and (bitnet.d_out, bitnet.d_in) == (64, 256)
        assert nvfp4.kind != "quantized", nvfp4

"""hfprobe.formats on files written by the real libraries (diffusers, peft, transformers), tiny and fast."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.errors import (
    InvalidWeightsError,
    LayerNotFoundError,
    NoWeightsError,
    UnsafeFileError,
    UnsupportedFormatError,
)
from hfprobe.formats import open_weights
from tests import builders as B

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def unet_lora():
    unet = B.add_unet_lora(B.tiny_unet(), r=4, alpha=8)
    return unet, B.unet_lora_deltas(unet)


def _check_deltas(view, deltas, scale):
    assert deltas, "no reference deltas: the builder adapted nothing, so there is nothing to compare"
    assert set(deltas) <= set(view.modules), sorted(set(deltas) - set(view.modules))[:3]
    for name, delta in deltas.items():
        mod = view.modules[name]
        assert mod.scale == pytest.approx(scale)
        assert torch.allclose(view.layer(name, scaled=True), delta.reshape(delta.shape[0], -1), atol=1e-5), name


@pytest.mark.parametrize(
    "style,fmt",
    [
        ("lora_A", "diffusers-lora"),
        ("lora.down", "diffusers-lora"),
        ("processor", "diffusers-lora-processor"),
        ("noprefix", "diffusers-lora"),
    ],
)
def test_diffusers_lora_styles(tmp_path, unet_lora, style, fmt):
    unet, deltas = unet_lora
    B.save_diffusers_lora(unet, tmp_path, style=style)
    view = open_weights(tmp_path)
    assert view.format == fmt
    assert view.files == ["pytorch_lora_weights.safetensors"]
    if style in ("lora_A", "noprefix"):  # the LoraConfig diffusers wrote into the header
        assert view.config["r"] == 4 and view.config["lora_alpha"] == 8
    assert len(view.modules) == len(deltas) and view.rank == 4
    # lora_adapter_metadata carries alpha=8 (scale 2); the older styles store no alpha, so scale 1
    scale = 2.0 if style in ("lora_A", "noprefix") else 1.0
    _check_deltas(view, deltas if scale == 2.0 else {k: v / 2 for k, v in deltas.items()}, scale)
    assert "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k" in view.modules
    assert view.modules["unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"].d_in == B.TEXT_WIDTH


def test_headers_only_until_layer(tmp_path, unet_lora):
    path = B.save_diffusers_lora(unet_lora[0], tmp_path, style="lora_A")
    view = open_weights(path)
    before = view.bytes_read
    assert before < path.stat().st_size / 3  # the header, not the tensors
    view.layer(next(iter(view.modules)))
    assert view.bytes_read > before


def test_diffusers_lora_with_text_encoder(tmp_path, unet_lora):
    te = B.tiny_clip_text()
    B.add_unet_lora(te, r=2, alpha=2, targets=("q_proj", "k_proj", "v_proj", "out_proj"))
    te_deltas = B.lora_deltas(te, "text_encoder.")
    B.save_diffusers_lora(unet_lora[0], tmp_path, style="lora.down", text_encoder=te)
    view = open_weights(tmp_path)
    # transformers 5 keeps CLIPTextModel's layers without text_model.; the canonical name has it, as LoRA files do
    expected = {k.replace("text_encoder.", "text_encoder.text_model.", 1): v for k, v in te_deltas.items()}
    _check_deltas(view, expected, 1.0)


def test_dit_lora_transformer_prefix(tmp_path):
    flux = B.add_unet_lora(B.tiny_flux(), r=2, alpha=4, targets=("to_q", "to_k", "to_v", "proj_mlp"))
    B.save_flux_lora(flux, tmp_path)
    view = open_weights(tmp_path)
    assert view.format == "diffusers-lora"
    assert "transformer.single_transformer_blocks.0.proj_mlp" in view.modules
    _check_deltas(view, B.lora_deltas(flux, "transformer."), 2.0)


def test_sdxl_lora_two_text_encoders(tmp_path, unet_lora):
    te = B.add_unet_lora(B.tiny_clip_text(), r=2, alpha=4, targets=("q_proj", "v_proj"))
    te2 = B.add_unet_lora(B.tiny_clip_text(projection=True), r=2, alpha=1, targets=("q_proj", "fc1"))
    B.save_sdxl_lora(unet_lora[0], te, te2, tmp_path)
    view = open_weights(tmp_path)
    expected = {
        k.replace("text_encoder.", "text_encoder.text_model.", 1): v
        for k, v in B.lora_deltas(te, "text_encoder.").items()
    }
    _check_deltas(view, expected, 2.0)  # per-component lora_adapter_metadata: alpha 4 / r 2
    # CLIPTextModelWithProjection keeps text_model. in memory too
    _check_deltas(view, B.lora_deltas(te2, "text_encoder_2."), 0.5)
    _check_deltas(view, unet_lora[1], 2.0)


def test_kohya_with_alpha_and_text_encoder(tmp_path, unet_lora):
    unet, deltas = unet_lora
    te = B.tiny_clip_text()
    B.add_unet_lora(te, r=2, alpha=2, targets=("q_proj", "v_proj", "fc1"))
    te_deltas = B.lora_deltas(te, "text_encoder.text_model.")
    path = B.save_kohya_lora(unet, tmp_path, text_encoder=te, alpha=2.0)
    view = open_weights(path)
    assert view.format == "kohya" and view.metadata["ss_base_model_version"] == "sd_v1"
    # kohya scale = alpha / rank: 2/4 for the unet, 2/2 for the text encoder; peft's deltas used alpha/r 8/4 and 2/2
    _check_deltas(view, {k: v / 4 for k, v in deltas.items()}, 0.5)
    te_view = {
        k.replace("text_encoder.text_model.text_model.", "text_encoder.text_model."): v for k, v in te_deltas.items()
    }
    _check_deltas(view, te_view, 1.0)
    assert all(m.keys.get("alpha") for m in view.modules.values())


def test_kohya_te1_te2_and_sgm_names(tmp_path):
    a, b = torch.randn(2, 16), torch.randn(16, 2)
    keys = {
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q": "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",  # noqa: E501 - one mapping a line reads best
        "lora_unet_middle_block_1_transformer_blocks_0_attn2_to_k": "unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k",  # noqa: E501 - one mapping a line reads best
        "lora_unet_output_blocks_3_1_proj_in": "unet.up_blocks.1.attentions.0.proj_in",
        "lora_te1_text_model_encoder_layers_0_self_attn_q_proj": "text_encoder.text_model.encoder.layers.0.self_attn.q_proj",  # noqa: E501 - one mapping a line reads best
        "lora_te2_text_model_encoder_layers_3_mlp_fc2": "text_encoder_2.text_model.encoder.layers.3.mlp.fc2",
        # SDXL sgm resnets, samplers and embeddings (checked against diffusers' SDXL single-file layout)
        "lora_unet_input_blocks_1_0_in_layers_2": "unet.down_blocks.0.resnets.0.conv1",
        "lora_unet_input_blocks_1_0_emb_layers_1": "unet.down_blocks.0.resnets.0.time_emb_proj",
        "lora_unet_input_blocks_3_0_op": "unet.down_blocks.0.downsamplers.0.conv",
        "lora_unet_output_blocks_0_0_skip_connection": "unet.up_blocks.0.resnets.0.conv_shortcut",
        "lora_unet_output_blocks_2_2_conv": "unet.up_blocks.0.upsamplers.0.conv",
        "lora_unet_middle_block_0_out_layers_3": "unet.mid_block.resnets.0.conv2",
        "lora_unet_time_embed_0": "unet.time_embedding.linear_1",
        "lora_unet_label_emb_0_0": "unet.add_embedding.linear_1",
    }
    sd = {}
    for k in keys:
        sd.update(
            {f"{k}.lora_down.weight": a.clone(), f"{k}.lora_up.weight": b.clone(), f"{k}.alpha": torch.tensor(1.0)}
        )
    save_file(sd, str(tmp_path / "sdxl.safetensors"))
    view = open_weights(tmp_path / "sdxl.safetensors")
    assert sorted(view.modules) == sorted(keys.values())
    assert all(m.scale == 0.5 for m in view.modules.values())


def test_unreadable_lycoris_and_kohya_keys_are_refused_with_a_reason(tmp_path):
    k = "lora_unet_down_blocks_0_resnets_0_conv1"  # an OFT network: no LoRA-like factors (tests/test_lycoris.py)
    save_file({f"{k}.oft_blocks": torch.zeros(2, 4, 4)}, str(tmp_path / "oft.safetensors"))
    with pytest.raises(UnsupportedFormatError, match="oft.safetensors.*LyCORIS") as err:
        open_weights(tmp_path / "oft.safetensors")
    assert "\n" not in str(err.value)
    # keys diffusers cannot map at all: still one typed line naming the file and sample keys
    save_file({"lora_unet_x.lora_down.weight": torch.zeros(2, 4)}, str(tmp_path / "half.safetensors"))
    with pytest.raises(UnsupportedFormatError, match="half.safetensors.*sample keys") as err:
        open_weights(tmp_path / "half.safetensors")
    assert "\n" not in str(err.value)


def test_kohya_malformed_prefix(tmp_path):
    a, b = torch.randn(2, 16), torch.randn(16, 2)
    k = "lora_unet_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_k"
    save_file({f"{k}_lora_down.weight": a, f"{k}_lora_up.weight": b}, str(tmp_path / "x.safetensors"))
    view = open_weights(tmp_path / "x.safetensors")
    assert list(view.modules) == ["unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k"]
    assert torch.allclose(view.layer(next(iter(view.modules))), b @ a)


def test_cloneofsimo_positional_names(tmp_path):
    path, names, deltas = B.save_cloneofsimo_lora(B.tiny_unet(), tmp_path)
    view = open_weights(path)
    assert view.format == "cloneofsimo"
    assert set(view.modules) == set(names)
    assert any(n.endswith("ff.net.0.proj") for n in names)
    for name in names[:12]:
        assert torch.allclose(view.layer(name), deltas[name], atol=1e-5)
    assert view.modules[names[0]].rank == 2 and view.modules[names[0]].scale == 1.0


@pytest.mark.parametrize("targets", [{"Attention"}, {"Attention", "GEGLU"}])
def test_cloneofsimo_pickled_list_is_named_by_its_layout(targets, tmp_path):
    """lora_diffusion's first format, `save_lora_weight`: torch.save of a bare list, up, down, up, down, … in
    `_find_modules` order (was refused: "the pickle holds a list"). Its pairs get the UNet's names and ΔW = up·down."""
    unet, ups_downs, names = B.tiny_unet(), [], []
    for anc_name, anc in unet.named_modules():
        if type(anc).__name__ in targets:
            for child_name, child in anc.named_modules():
                if isinstance(child, torch.nn.Linear):
                    ups_downs += [torch.randn(child.out_features, 2), torch.randn(2, child.in_features)]
                    names.append(f"unet.{anc_name}.{child_name}")
    torch.save(ups_downs, tmp_path / "lora_weight.pt")
    view = open_weights(tmp_path / "lora_weight.pt")
    assert view.format == "cloneofsimo" and list(view.modules) == names
    assert any(n.endswith("ff.net.0.proj") for n in names) == ("GEGLU" in targets)
    for i in (0, len(names) - 1):
        torch.testing.assert_close(view.layer(names[i]), ups_downs[2 * i] @ ups_downs[2 * i + 1])


def test_cloneofsimo_pickled_list_on_a_text_encoder(tmp_path):
    """`save_lora_weight(text_encoder, "lora_weight.text_encoder.pt", {"CLIPAttention"})`: CLIP's q/k/v/out."""
    from transformers import CLIPTextConfig, CLIPTextModel

    te = CLIPTextModel(CLIPTextConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4))
    pairs = [t for n, m in te.named_modules() if type(m).__name__ == "CLIPAttention"
             for c in m.children() if isinstance(c, torch.nn.Linear)
             for t in (torch.randn(c.out_features, 2), torch.randn(2, c.in_features))]  # fmt: skip
    torch.save(pairs, tmp_path / "lora_weight.text_encoder.pt")
    view = open_weights(tmp_path / "lora_weight.text_encoder.pt")
    assert len(view.modules) == 8 and all(n.startswith("text_encoder.text_model.encoder.layers.") for n in view.modules)


@pytest.mark.parametrize("safe", [False, True])
def test_custom_diffusion_weights_are_an_adapter_under_the_unet_s_names(safe, tmp_path):
    """diffusers' Custom Diffusion (`train_custom_diffusion.py`: its processors saved by `save_attn_procs`) stores
    the cross-attention K/V it trained whole, as `attn2.processor.to_k_custom_diffusion`: read as the UNet's own
    `attn2.to_k`, an adapter loaded onto a base (was a checkpoint of names no root has)."""
    from diffusers.models.attention_processor import CustomDiffusionAttnProcessor

    from hfprobe.tree.inspect import inspect_source

    unet = B.tiny_unet()
    widths = unet.config.block_out_channels
    procs = {}
    for name in unet.attn_processors:
        block, index = name.split(".")[0], int(name.split(".")[1]) if name[0] != "m" else -1
        hidden = widths[-1] if block == "mid_block" else (widths[::-1] if block == "up_blocks" else widths)[index]
        cross = None if name.endswith("attn1.processor") else unet.config.cross_attention_dim
        procs[name] = CustomDiffusionAttnProcessor(cross is not None, hidden_size=hidden, cross_attention_dim=cross)
    unet.set_attn_processor(procs)
    unet.save_attn_procs(tmp_path, safe_serialization=safe)
    view = open_weights(tmp_path)
    name = "down_blocks.0.attentions.0.transformer_blocks.0.attn2"
    assert view.format == "diffusers-checkpoint" and f"unet.{name}.to_k" in view.modules
    want = unet.attn_processors[f"{name}.processor"].to_k_custom_diffusion.weight
    torch.testing.assert_close(view.tensor(view.modules[f"unet.{name}.to_k"].keys["W"]), want.detach())
    report = inspect_source(str(tmp_path))
    assert report["kind"] == "adapter" and any("Custom Diffusion" in n for n in report["notes"])


def test_a_peft_wrapped_unet_s_own_state_dict_reads_its_lora(tmp_path):
    """accelerate's `save_state` (diffusers' training scripts, `checkpoint-500/model.safetensors`) saves the UNet
    peft wrapped: base weights as `to_q.base_layer.weight`, factors with the adapter name, `lora_A.default.weight`.
    Was "recognised as diffusers-lora but no module could be read"; peft's own ΔW is the oracle."""
    from peft import LoraConfig

    unet = B.tiny_unet()
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian", target_modules=["to_q", "to_v"]))
    state = {k: v.contiguous() for k, v in unet.state_dict().items()}
    assert any(k.endswith("to_q.lora_A.default.weight") for k in state)
    save_file(state, str(tmp_path / "model.safetensors"))
    view = open_weights(tmp_path / "model.safetensors")
    wrapped = {n for n, m in unet.named_modules() if hasattr(m, "lora_A")}
    assert view.format == "diffusers-lora" and set(view.modules) == {f"unet.{n}" for n in wrapped}
    name = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v"
    want = unet.get_submodule(name).get_delta_weight("default")
    torch.testing.assert_close(view.layer(f"unet.{name}", scaled=True), want.detach())


def test_cloneofsimo_unmatched_layout_stays_positional(tmp_path):
    save_file(
        {"unet:0:down": torch.randn(1, 7), "unet:0:up": torch.randn(5, 1)},
        str(tmp_path / "l.safetensors"),
        metadata={"unet": '["CrossAttention"]', "unet:0:rank": "1"},
    )
    view = open_weights(tmp_path / "l.safetensors")
    assert list(view.modules) == ["unet.lora_diffusion.0"] and any("positions" in n for n in view.notes)


@pytest.mark.parametrize("kind", ["bert", "gpt2", "vit", "t5", "llama", "whisper"])
def test_peft_adapters(tmp_path, kind):
    model, folder = B.peft_adapter(kind, tmp_path, r=4, alpha=8)
    deltas = B.lora_deltas(model)
    view = open_weights(folder)
    assert view.format == "peft" and view.config["r"] == 4
    lora = {n for n, m in view.modules.items() if m.kind == "lora"}
    assert lora == set(deltas)  # canonical = peft's in-memory module names
    for name, delta in deltas.items():
        assert torch.allclose(view.layer(name, scaled=True), delta, atol=1e-5), name
    if kind == "gpt2":  # Conv1D: fan_in_fan_out, layer() in the stored [in, out] layout
        assert all(view.modules[n].transposed for n in lora)


def test_peft_gpt2_equals_merged_minus_base(tmp_path):
    model, folder = B.peft_adapter("gpt2", tmp_path, r=4, alpha=16)
    base = {k: v.clone() for k, v in model.get_base_model().state_dict().items()}
    merged = model.merge_and_unload().state_dict()
    view = open_weights(folder)
    name = "transformer.h.0.attn.c_attn"
    base_key = next(k for k in base if k.endswith(name + ".base_layer.weight") or k == name + ".weight")
    assert torch.allclose(view.layer(name, scaled=True), merged[name + ".weight"] - base[base_key], atol=1e-5)


def test_peft_rslora_patterns_dora_modules_to_save(tmp_path):
    model, folder = B.peft_adapter(
        "bert",
        tmp_path,
        r=4,
        alpha=8,
        use_rslora=True,
        rank_pattern={"value": 2},
        alpha_pattern={"value": 3},
        modules_to_save=["classifier"],
    )
    view = open_weights(folder)
    q = view.modules["bert.encoder.layer.0.attention.self.query"]
    v = view.modules["bert.encoder.layer.1.attention.self.value"]
    assert (q.rank, q.alpha, q.scale) == (4, 8, pytest.approx(8 / 2))  # rslora: alpha / sqrt(r)
    assert (v.rank, v.alpha, v.scale) == (2, 3, pytest.approx(3 / 2**0.5))
    assert view.modules["classifier"].kind == "full"
    for name, delta in B.lora_deltas(model).items():
        assert torch.allclose(view.layer(name, scaled=True), delta, atol=1e-5), name
    model2, folder2 = B.peft_adapter("bert", tmp_path / "dora", use_dora=True)
    assert all(m.dora for m in open_weights(folder2).modules.values() if m.kind == "lora")


def test_peft_state_dict_with_adapter_names(tmp_path):
    model, _ = B.peft_adapter("bert", tmp_path / "a", modules_to_save=["classifier"])
    # some repos save model.state_dict() itself: adapter names in the keys, base weights alongside
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "dump.safetensors"))
    view = open_weights(tmp_path / "dump.safetensors")
    assert view.format == "peft"
    for name, delta in B.lora_deltas(model).items():  # no adapter_config.json beside it: B@A, unscaled (8/4 = 2)
        assert torch.allclose(view.layer(name), delta / 2, atol=1e-5), name
    assert view.modules["classifier"].kind == "full"


def test_peft_on_unet_gets_unet_prefix(tmp_path, unet_lora):
    unet, deltas = unet_lora
    from peft import get_peft_model_state_dict

    # what PeftModel.save_pretrained writes for a wrapped diffusers UNet: base_model.model.<path> + adapter_config

    sd = {f"base_model.model.{k}": v.contiguous() for k, v in get_peft_model_state_dict(unet).items()}
    save_file(sd, str(tmp_path / "adapter_model.safetensors"))
    (tmp_path / "adapter_config.json").write_text(json.dumps(unet.peft_config["default"].to_dict(), default=list))
    view = open_weights(tmp_path)
    assert view.format == "peft"
    _check_deltas(view, deltas, 2.0)


def test_vit_checkpoint_and_adapter_share_names(tmp_path):
    model, folder = B.save_checkpoint("vit", tmp_path / "ckpt")
    view = open_weights(folder)
    assert view.format == "transformers-checkpoint"
    # saved key vit.encoder.layer.0.attention.attention.query.weight -> in-memory vit.layers.0.attention.q_proj
    name = "vit.layers.0.attention.q_proj"
    assert name in view.modules and torch.equal(view.layer(name), model.state_dict()[name + ".weight"])
    peft_model, pfolder = B.peft_adapter("vit", tmp_path / "adapter")
    assert name in open_weights(pfolder).modules


def test_sharded_checkpoint(tmp_path):
    model, folder = B.save_checkpoint("llama", tmp_path, max_shard_size="20KB")
    assert (folder / "model.safetensors.index.json").exists()
    view = open_weights(folder)
    assert view.format == "transformers-checkpoint" and len(view.files) > 1
    for name in ("model.layers.1.mlp.down_proj", "lm_head", "model.embed_tokens"):
        assert torch.equal(view.layer(name), model.state_dict()[name + ".weight"])


def test_sharded_pickle_checkpoint_reads_every_shard_and_loads_one_when_asked(tmp_path):
    """`pytorch_model.bin.index.json` and its .bin shards (transformers 4's format before safetensors): read by
    their indexes alone, every shard; a layer's values load its own shard only. Before, the index was not
    recognised and one shard was read as the whole model (8 of the tiny Llama's 16 modules)."""
    model, folder = B.save_pickle_shards("llama", tmp_path / "bin")
    view = open_weights(folder)
    whole = open_weights(B.save_checkpoint("llama", tmp_path / "st")[1])
    assert view.files == [f"pytorch_model-0000{i}-of-00002.bin" for i in (1, 2)]
    assert view.format == whole.format and set(view.modules) == set(whole.modules)
    last = "model.layers.1.mlp.down_proj"
    assert torch.equal(view.layer(last), model.state_dict()[last + ".weight"])
    pending = {name for name, _ in view.store._pending.values()}
    assert [Path(n).name for n in pending] == [view.files[0]]  # the first shard is still known by its index alone
    index = json.loads((folder / "pytorch_model.bin.index.json").read_text())
    index["weight_map"][last + ".weight"] = "model-00001-of-00002.safetensors"
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps(index))
    with pytest.raises(InvalidWeightsError, match=r"not a \.bin file; re-export"):
        open_weights(folder)


def test_diffusers_unet_checkpoint(tmp_path):
    unet, folder = B.save_unet_checkpoint(tmp_path)
    view = open_weights(folder)
    assert view.format == "diffusers-checkpoint" and view.files == ["unet/diffusion_pytorch_model.safetensors"]
    assert view.config is None or "_class_name" in view.config
    conv = view.modules["unet.conv_in"]
    assert conv.kernel == (3, 3) and conv.d_in == 4 * 9
    w = unet.state_dict()["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"]
    assert torch.equal(view.layer("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"), w)


def test_conv_lora_reshape(tmp_path):
    unet = B.add_unet_lora(B.tiny_unet(), r=2, alpha=2, targets=("conv1", "conv_shortcut"))
    deltas = B.unet_lora_deltas(unet)
    B.save_diffusers_lora(unet, tmp_path, style="lora_A")
    view = open_weights(tmp_path)
    name = "unet.down_blocks.0.resnets.0.conv1"
    mod = view.modules[name]
    assert mod.kernel == (3, 3) and mod.d_in == 32 * 9
    assert torch.allclose(view.layer(name, scaled=True), deltas[name].reshape(32, -1), atol=1e-5)


def test_textual_inversion(tmp_path):
    B.save_textual_inversion(tmp_path)
    view = open_weights(tmp_path)
    assert view.format == "textual-inversion" and view.extra["tokens"] == {"<cat-toy>": [2, B.TEXT_WIDTH]}
    assert [m.kind for m in view.modules.values()] == ["embedding"]


def test_a1111_textual_inversion_pickle(tmp_path):
    emb = torch.randn(3, B.TEXT_WIDTH)
    torch.save(
        {"string_to_token": {"*": torch.tensor(265)}, "string_to_param": {"*": emb}, "name": "toy", "step": 9},
        tmp_path / "toy.pt",
    )
    view = open_weights(tmp_path / "toy.pt")
    assert view.format == "textual-inversion"
    assert torch.equal(view.layer("text_encoder.token_embedding.*"), emb)


def test_pickle_lora_loads_weights_only(tmp_path, unet_lora):
    B.save_pickle_lora(unet_lora[0], tmp_path)
    view = open_weights(tmp_path)
    assert view.format == "diffusers-lora-processor" and view.files == ["pytorch_lora_weights.bin"]
    assert {info.dtype for info in view.raw.values()} == {"F32"}
    _check_deltas(view, {k: v / 2 for k, v in unet_lora[1].items()}, 1.0)


def _mapped_from(tensor: torch.Tensor, path) -> bool:
    """Whether the tensor's memory is a mapping of `path` (Linux: /proc/self/maps)."""
    ptr = tensor.data_ptr()
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split()
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        if lo <= ptr < hi:
            return len(parts) > 5 and parts[5] == str(path)
    return False


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="needs /proc/self/maps (Linux)")
def test_zip_pickles_are_mapped_not_copied_and_old_ones_still_load(tmp_path):
    weights = {"a.lora_A.weight": torch.randn(64, 768), "a.lora_B.weight": torch.randn(320, 64)}  # 280 kB
    torch.save(weights, tmp_path / "pytorch_lora_weights.bin")
    view = open_weights(tmp_path)
    size = (tmp_path / "pytorch_lora_weights.bin").stat().st_size
    assert view.bytes_read < size / 2  # named from its data.pkl and the archive directory alone
    tensor = view.tensor("a.lora_A.weight")
    assert torch.equal(tensor, weights["a.lora_A.weight"])
    assert _mapped_from(tensor, (tmp_path / "pytorch_lora_weights.bin").resolve())  # a view of the file: one copy
    assert view.bytes_read >= size  # then the whole file, mapped
    old = tmp_path / "old"
    old.mkdir()
    torch.save(weights, old / "pytorch_lora_weights.bin", _use_new_zipfile_serialization=False)
    view = open_weights(old)  # the pre-1.6 format cannot be mapped: checked, then loaded from the file
    assert torch.equal(view.tensor("a.lora_B.weight"), weights["a.lora_B.weight"])
    assert not _mapped_from(view.tensor("a.lora_B.weight"), (old / "pytorch_lora_weights.bin").resolve())


def test_malicious_pickle_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = B.save_malicious_pickle(tmp_path / "evil", marker)
    with pytest.raises(UnsafeFileError, match="refused"):
        open_weights(path)
    assert not marker.exists()
    # the same file really is an exploit when loaded the unsafe way (so the check above means something)
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_custom_lora(tmp_path):
    a, b = torch.randn(4, 16), torch.randn(16, 4)
    save_file(
        {"w_a_000": a, "w_b_000": b, "w_a_001": a.clone(), "w_b_001": b.clone()}, str(tmp_path / "lora.safetensors")
    )
    view = open_weights(tmp_path / "lora.safetensors")
    assert view.format == "custom-lora" and view.rank == 4
    assert torch.allclose(view.layer("lora.000"), b @ a)


def test_no_weights_folder(tmp_path):
    (tmp_path / "README.md").write_text("hello")
    with pytest.raises(NoWeightsError, match="no weights file"):
        open_weights(tmp_path)


def test_lora_shape_mismatch(tmp_path):
    save_file(
        {
            "unet.down_blocks.0.attn.to_q.lora.down.weight": torch.zeros(4, 16),
            "unet.down_blocks.0.attn.to_q.lora.up.weight": torch.zeros(16, 3),
        },
        str(tmp_path / "x.safetensors"),
    )
    with pytest.raises(InvalidWeightsError, match="do not fit"):
        open_weights(tmp_path / "x.safetensors")


def test_unknown_layout(tmp_path):
    save_file({"foo": torch.zeros(3), "bar_baz": torch.zeros(2, 2)}, str(tmp_path / "x.safetensors"))
    with pytest.raises(UnsupportedFormatError, match="unknown weights layout.*bar_baz"):
        open_weights(tmp_path / "x.safetensors")


@pytest.mark.parametrize("honour_range", [True, False])
def test_hub_repo_reads_headers_then_one_layer(tmp_path, unet_lora, honour_range):
    from tests.fakehub import FakeHub

    path = B.save_diffusers_lora(unet_lora[0], tmp_path / "local", style="lora.down")
    hub = FakeHub(tmp_path / "hub")
    hub.honour_range = honour_range
    hub.add_repo("org/lora", {"pytorch_lora_weights.safetensors": path, "README.md": "# a lora"})
    with hub.serving():
        view = open_weights("org/lora")
        name = "unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_v"
        local = open_weights(path)
        assert torch.equal(view.layer(name, scaled=True), local.layer(name, scaled=True))
    size = path.stat().st_size
    if honour_range:  # header + one module's two factors, far below the file
        assert view.bytes_read < size / 4 and not view.range_ignored
    else:  # the whole body once, still the right answer, and the view says so
        assert view.range_ignored and view.bytes_read >= size


def test_legacy_pickle_with_oversized_storage_is_refused(tmp_path):
    import io
    import pickletools
    import struct

    buf = io.BytesIO()
    torch.save({"w": torch.zeros(4)}, buf, _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    # declare 2**30 elements for the 16-byte storage: torch would allocate that before reading the bytes
    stream, out = io.BytesIO(data), bytearray()
    for i in range(5):
        last, chunks = stream.tell(), []
        for op, arg, pos in pickletools.genops(stream):
            if i == 3 and op.name == "BININT1" and arg == 4:
                chunks.append(data[last:pos] + b"J" + struct.pack("<i", 2**30))  # genops positions are absolute
                last = pos + 2
        chunks.append(data[last : stream.tell()])
        out += b"".join(chunks)
    out += data[stream.tell() :]
    (tmp_path / "big.bin").write_bytes(bytes(out))
    (tmp_path / "ok.bin").write_bytes(data)
    from hfprobe.formats.pickle_safe import load_tensors
    from hfprobe.source.resolve import resolve

    assert load_tensors(resolve(tmp_path / "ok.bin").open("ok.bin"))["w"].shape == (4,)  # the honest one loads
    with pytest.raises(InvalidWeightsError, match="declares a size"):
        open_weights(tmp_path / "big.bin")


@pytest.mark.parametrize("size", [50, 8000])  # a small set, and one over Presence.LARGE (pieces reasoned about)
def test_presence_never_misses_a_literal(size):
    import random

    from hfprobe.formats.presence import LARGE, Presence
    from hfprobe.tree.registry import families, layout

    rng = random.Random(size)
    alphabet = "abcdefgh_." * 4 + "0123456789"  # digits split literals into pieces; mostly long ones here
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 120))) for _ in range(size)]
    names += ["unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k", "lora_te1_text_model_é\\u00e9"]
    present = Presence(names)
    assert (len("\n".join(names)) > LARGE) == (size > 1000)
    reg = families()
    literals = {lit for kp, *_ in reg["_rules"] for _, lit in kp.variants if lit}
    literals |= {lit for f in reg["families"] for kp, _, _ in layout(f)[0] for _, lit in kp.variants if lit}
    for name in rng.sample(names, 40):  # pieces of real names, in every length
        i = rng.randrange(len(name))
        literals |= {name[i : i + n] for n in (1, 2, 5, 12, 40)}
    literals |= {"".join(rng.choice(alphabet) for _ in range(n)) for n in (3, 4, 6, 9) for _ in range(30)}
    for lit in sorted(literals, key=lambda _: rng.random()):  # any order: the reasoning must hold in every order
        found = present(lit)  # (absent ones asked too: what is learnt from them must not hide present ones)
        assert found or not any(lit in n for n in names), lit
    assert not present("mask_decoder") and present("attn2_to_k") and present("down_blocks_7")


def test_pickle_index_equals_torch_load(tmp_path, realzoo):
    """The torch-free index of a zip-format pickle names the tensors, dtypes and shapes torch.load gives (the
    oracle), on the realzoo pickles and on a fixture with nesting, a Lightning `state_dict` and a Parameter; the
    tensors themselves are read on the first layer() and checked against the index."""
    from hfprobe.formats.pickle_safe import load_tensors, read_index
    from hfprobe.source.resolve import resolve

    nested = tmp_path / "nested.ckpt"
    torch.save(
        {"state_dict": {"a": {"b": torch.randn(3, 4).half()}, "p": torch.nn.Parameter(torch.ones(2, 2))}, "step": 7},
        nested,
    )
    pickles = [nested] + sorted(realzoo.glob("files/*/*.bin"))
    assert len(pickles) >= 4
    for path in pickles:
        with resolve(str(path)) as src:
            f = src.open(src.default_file)
            index = read_index(f)
            full = load_tensors(f)
        assert index is not None, path
        assert {k: (i.dtype, i.shape) for k, i in index.items()} == {
            k: ({"torch.float32": "F32", "torch.float16": "F16"}[str(t.dtype)], tuple(t.shape)) for k, t in full.items()
        }, path
    view = open_weights(str(pickles[-1]))
    assert view.bytes_read < pickles[-1].stat().st_size / 10  # the index, not the tensors
    name = next(iter(view.modules))
    assert view.layer(name).shape == (view.modules[name].d_out, view.modules[name].d_in)


def test_pickle_index_refuses_what_it_does_not_know(tmp_path):
    """An unknown global, an old-format pickle or a damaged archive: no index, so torch.load decides (and a hostile
    pickle is still refused as unsafe, never run)."""
    from hfprobe.formats.pickle_safe import read_index
    from hfprobe.source.resolve import resolve

    old = tmp_path / "old.bin"
    torch.save({"w": torch.zeros(2, 2)}, old, _use_new_zipfile_serialization=False)
    marker = tmp_path / "ran"
    hostile = B.save_malicious_pickle(tmp_path / "evil", marker)
    damaged = tmp_path / "damaged.bin"
    torch.save({"w": torch.zeros(2, 2)}, damaged)
    damaged.write_bytes(damaged.read_bytes()[:-40])
    for path in (old, hostile, damaged):
        with resolve(str(path)) as src:
            assert read_index(src.open(src.default_file)) is None, path
    with pytest.raises(UnsafeFileError):
        open_weights(str(hostile))
    assert not marker.exists()


def test_a_refused_file_is_closed_not_left_to_the_garbage_collector(tmp_path):
    """open_weights closes the files of a source it opened itself when it refuses them (no ResourceWarning)."""
    import gc
    import warnings

    from safetensors.torch import save_file

    from hfprobe.errors import UnsupportedFormatError
    from hfprobe.formats import open_weights

    save_file({"no_module_here": torch.zeros(2, 2)}, str(tmp_path / "odd.safetensors"))
    gc.collect()  # other tests' leftovers are not this test's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(UnsupportedFormatError):
            open_weights(str(tmp_path / "odd.safetensors"))
        gc.collect()
    ours = [w for w in caught if issubclass(w.category, ResourceWarning) and "odd.safetensors" in str(w.message)]
    assert not ours, [str(w.message) for w in ours]


def test_xlabs_flux_lora_names_follow_diffusers_conversion(tmp_path):
    """XLabs FLUX LoRAs keep FLUX's own layer names; diffusers' converter (the oracle) maps each to the same layer:
    img_attn.qkv -> attn.to_q/k/v (B split in three), txt_attn.qkv -> add_q/k/v_proj, proj -> to_out.0 / to_add_out."""
    from diffusers.loaders.lora_conversion_utils import _convert_xlabs_flux_lora_to_diffusers

    torch.manual_seed(0)
    sd = {}
    for n in range(2):
        for layer, out in (("qkv", 24), ("proj", 8)):
            for stream in "12":
                sd[f"double_blocks.{n}.processor.{layer}_lora{stream}.down.weight"] = torch.randn(2, 8)
                sd[f"double_blocks.{n}.processor.{layer}_lora{stream}.up.weight"] = torch.randn(out, 2)
    save_file(sd, str(tmp_path / "xlabs.safetensors"))
    view = open_weights(tmp_path / "xlabs.safetensors")
    assert view.format == "xlabs" and len(view.modules) == 8
    want = _convert_xlabs_flux_lora_to_diffusers(dict(sd))
    diffusers_of = {
        "img_attn.qkv": ["attn.to_q", "attn.to_k", "attn.to_v"],
        "txt_attn.qkv": ["attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj"],
        "img_attn.proj": ["attn.to_out.0"],
        "txt_attn.proj": ["attn.to_add_out"],
    }
    for name, mod in view.modules.items():
        n, layer = name.split(".")[2], ".".join(name.split(".")[3:])
        parts = [f"transformer.transformer_blocks.{n}.{p}" for p in diffusers_of[layer]]
        torch.testing.assert_close(view.tensor(mod.keys["A"]), want[f"{parts[0]}.lora_A.weight"])
        torch.testing.assert_close(view.tensor(mod.keys["B"]), torch.cat([want[f"{p}.lora_B.weight"] for p in parts]))
        assert mod.scale == 1.0


@pytest.mark.parametrize("suffix", ["safetensors", "pth"])
def test_samed_lora_with_its_decoder_weights(suffix, tmp_path):
    """SAMed saves its w_a_/w_b_ pairs beside every prompt-encoder and mask-decoder tensor of segment_anything's SAM
    state dict, buffers too (the prompt encoder's `pe_layer.positional_encoding_gaussian_matrix`): a custom LoRA
    whose decoder names say Segment Anything, whether saved with torch.save (SAMed's `.pth`) or safetensors."""
    from hfprobe.tree.inspect import inspect_source

    t = {f"w_{r}_{i:03d}": torch.zeros(4, 768) if r == "a" else torch.zeros(768, 4) for i in range(24) for r in "ab"}
    t["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"] = torch.zeros(2, 128)  # a buffer, no .weight
    t["prompt_encoder.point_embeddings.0.weight"] = torch.zeros(1, 256)
    t["prompt_encoder.mask_downscaling.0.weight"] = torch.zeros(4, 1, 2, 2)
    t["mask_decoder.iou_token.weight"] = torch.zeros(1, 256)
    t["mask_decoder.transformer.layers.0.self_attn.q_proj.weight"] = torch.zeros(256, 256)
    t["mask_decoder.transformer.layers.0.self_attn.q_proj.bias"] = torch.zeros(256)
    t["mask_decoder.output_upscaling.0.weight"] = torch.zeros(256, 64, 2, 2)
    path = tmp_path / f"epoch_159.{suffix}"
    save_file(t, str(path)) if suffix == "safetensors" else torch.save(t, path)
    view = open_weights(path)
    assert view.format == "custom-lora" and sum(m.kind == "lora" for m in view.modules.values()) == 24
    assert "mask_decoder.transformer.layers.0.self_attn.q_proj" in view.modules
    report = inspect_source(str(path))
    assert (report["kind"], report["family"], report["root"]["id"]) == ("adapter", "sam", "facebook/sam-vit-base")


def test_lora_vit_saved_with_its_classifier_head(tmp_path):
    """LoRA-ViT's `save_lora_parameters` writes the w_a_/w_b_ pairs and the classifier head it trained, as
    `fc_<in>in_<out>out`: once an 'unknown weights layout', now a custom LoRA on a ViT whose head is noted."""
    from hfprobe.tree.inspect import inspect_source

    t = {f"w_{r}_{i:03d}": torch.zeros(4, 768) if r == "a" else torch.zeros(768, 4) for i in range(24) for r in "ab"}
    t["fc_768in_101out"] = torch.zeros(101, 768)
    save_file(t, str(tmp_path / "lora.safetensors"))
    view = open_weights(tmp_path / "lora.safetensors")
    assert view.format == "custom-lora" and sum(m.kind == "lora" for m in view.modules.values()) == 24
    assert "fc_768in_101out: the classifier head trained with it, 101 classes on 768 features" in view.notes
    report = inspect_source(str(tmp_path / "lora.safetensors"))
    assert (report["kind"], report["family"]) == ("adapter", "vit")
    assert {c["id"] for c in report["root"]["candidates"]} >= {"google/vit-base-patch16-224"}


@pytest.mark.parametrize(
    "call, written",
    [("ViT('B_16_imagenet1k')", "google/vit-base-patch16-384"), ("ViT('B_16')", "google/vit-base-patch16-224-in21k")],
)
def test_lora_vit_s_readme_names_the_pretrained_vit(call, written, tmp_path):
    """LoRA-ViT's README builds its ViT with lukemelas' names: `B_16_imagenet1k` is ViT-B/16 fine-tuned on
    ImageNet-1k at 384 px (google/vit-base-patch16-384; it was written as the 224 px fine-tune), `B_16` the
    ImageNet-21k checkpoint."""
    from hfprobe.tree.inspect import inspect_source

    t = {f"w_{r}_{i:03d}": torch.zeros(4, 768) if r == "a" else torch.zeros(768, 4) for i in range(24) for r in "ab"}
    save_file(t, str(tmp_path / "lora.safetensors"))
    (tmp_path / "README.md").write_text(f"```python\nmodel = {call}\nlora_model = LoRA_ViT(model, r=4)\n```\n")
    assert inspect_source(str(tmp_path))["base_model"]["id"] == written


class _LoRALayer(torch.nn.Module):  # LoRA-ViT's: the Linear it wraps plus w_b(w_a(x)), no scaling
    def __init__(self, w: torch.nn.Linear, r: int):
        super().__init__()
        self.w, self.w_a = w, torch.nn.Linear(w.in_features, r, bias=False)
        self.w_b = torch.nn.Linear(r, w.out_features, bias=False)

    def forward(self, x):
        return self.w(x) + self.w_b(self.w_a(x))


class _LoRAqkv(torch.nn.Module):  # SAMed's `_LoRA_qkv` (and LoRA-ViT's for timm): LoRA on the q and v slices
    def __init__(self, dim: int, r: int):
        super().__init__()
        self.qkv = torch.nn.Linear(dim, 3 * dim)
        self.linear_a_q, self.linear_b_q = torch.nn.Linear(dim, r, bias=False), torch.nn.Linear(r, dim, bias=False)
        self.linear_a_v, self.linear_b_v = torch.nn.Linear(dim, r, bias=False), torch.nn.Linear(r, dim, bias=False)


def test_lora_vit_and_samed_layers_saved_inside_the_whole_model(tmp_path):
    """`torch.save(model.state_dict())` of a LoRA-ViT or SAMed model keeps each LoRA layer under the module it
    replaced: `<layer>.w` + `.w_a` / `.w_b`, or a fused `<qkv>.qkv` + `linear_a_q` / `linear_b_q` / `_v`. They were
    read as a transformers checkpoint of full modules, `proj_q.w_a` among them; now a custom LoRA: each
    `_LoRALayer` a LoRA under its Linear's name whose ΔW is the one its forward adds, each `_LoRA_qkv` a merged
    LoRA at the fused qkv's size, the wrapped weights under their layers' names."""
    torch.manual_seed(0)
    model = torch.nn.Module()
    model.proj_q = _LoRALayer(torch.nn.Linear(16, 16), r=2)
    model.proj_k = torch.nn.Linear(16, 16)
    model.qkv = _LoRAqkv(16, r=2)
    for lin in (model.proj_q.w_b, model.qkv.linear_b_q):  # (both start at zero in the projects' code)
        torch.nn.init.normal_(lin.weight)
    save_file(
        {f"blocks.0.attn.{k}": v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "m.safetensors")
    )
    view = open_weights(tmp_path / "m.safetensors")
    assert view.format == "custom-lora"
    lora = view.modules["blocks.0.attn.proj_q"]
    assert (lora.kind, lora.rank, lora.d_out, lora.d_in, lora.scale) == ("lora", 2, 16, 16, 1.0)
    x = torch.randn(3, 16)
    with torch.no_grad():
        torch.testing.assert_close(x @ view.layer("blocks.0.attn.proj_q").T, model.proj_q(x) - model.proj_q.w(x))
    assert view.modules["blocks.0.attn.proj_k"].kind == "full"
    qkv = view.modules["blocks.0.attn.qkv"]
    assert (qkv.kind, qkv.rank, qkv.d_out, qkv.d_in, qkv.merged_groups) == ("lora", 2, 48, 16, 2)
    with pytest.raises(LayerNotFoundError, match="merged LoRA"):
        view.layer("blocks.0.attn.qkv")
    assert not any(".w_" in n or "linear_" in n or n.endswith((".w", ".qkv.qkv")) for n in view.modules)


@pytest.mark.parametrize("layout", ["lora-vit", "samed"])
def test_whole_lora_vit_and_samed_models_name_their_family(layout, tmp_path):
    """At a real ViT-B's sizes: LoRA-ViT's whole model (lukemelas' names under `lora_vit.`) is an adapter on a ViT
    with its classifier head; SAMed's (`sam.image_encoder.blocks.N.attn.qkv.qkv`) a Segment Anything adapter,
    where its fused qkv names had left the family at 0.5."""
    from hfprobe.tree.inspect import inspect_source

    t = {}
    for i in range(12):
        if layout == "lora-vit":
            p = f"lora_vit.transformer.blocks.{i}."
            for q in "qkv":
                t[p + f"attn.proj_{q}.{'w.' if q != 'k' else ''}weight"] = ("F32", (768, 768))
            for q in "qv":
                t[p + f"attn.proj_{q}.w_a.weight"], t[p + f"attn.proj_{q}.w_b.weight"] = (
                    ("F32", (4, 768)),
                    ("F32", (768, 4)),
                )
            t[p + "pwff.fc1.weight"], t[p + "pwff.fc2.weight"] = ("F32", (3072, 768)), ("F32", (768, 3072))
        else:
            p = f"sam.image_encoder.blocks.{i}.attn."
            t[p + "qkv.qkv.weight"], t[p + "proj.weight"] = ("F32", (2304, 768)), ("F32", (768, 768))
            for q in "qv":
                t[p + f"qkv.linear_a_{q}.weight"], t[p + f"qkv.linear_b_{q}.weight"] = (
                    ("F32", (4, 768)),
                    ("F32", (768, 4)),
                )
            t[f"sam.image_encoder.blocks.{i}.mlp.lin1.weight"] = ("F32", (3072, 768))
    if layout == "lora-vit":
        t["lora_vit.fc.weight"] = ("F32", (10, 768))
    else:
        t["sam.mask_decoder.iou_prediction_head.layers.0.weight"] = ("F32", (256, 256))
    B.write_header(tmp_path / "model.safetensors", t, data=False)
    report = inspect_source(str(tmp_path / "model.safetensors"))
    assert (report["format"], report["kind"]) == ("custom-lora", "adapter")
    if layout == "lora-vit":
        assert (report["family"], report["head"]["module"], report["head"]["outputs"]) == ("vit", "lora_vit.fc", 10)
    else:
        assert (report["family"], report["family_confidence"]) == ("sam", 1.0)
        assert report["root"]["id"] == "facebook/sam-vit-base"


# ViTs saved in the layouts of the code bases research projects build on: lukemelas' PyTorch-Pretrained-ViT (LoRA-ViT's
# base, `ViT('B_16_imagenet1k')`) and ViT-pytorch (jeonsworld's; VPT's backbone, with VPT's prompts beside it). A
# fine-tune saved whole in either was family unknown: no pattern knew their names.
VIT_LAYOUTS = {
    "pytorch-pretrained-vit": (
        "transformer.blocks.{i}.", ("attn.proj_q", "attn.proj_k", "attn.proj_v", "proj"), "pwff",
        {"patch_embedding.weight": ("F32", (768, 3, 16, 16)), "class_token": ("F32", (1, 1, 768)),
         "positional_embedding.pos_embedding": ("F32", (1, 197, 768)), "fc.weight": ("F32", (101, 768))},
    ),
    "vit-pytorch": (
        "transformer.encoder.layer.{i}.", ("attn.query", "attn.key", "attn.value", "attn.out"), "ffn",
        {"transformer.embeddings.patch_embeddings.weight": ("F32", (768, 3, 16, 16)),
         "head.weight": ("F32", (101, 768)), "prompt_embeddings": ("F32", (1, 50, 768)),
         "deep_prompt_embeddings": ("F32", (11, 50, 768))},
    ),
}  # fmt: skip


@pytest.mark.parametrize("layout", sorted(VIT_LAYOUTS))
def test_a_vit_fine_tune_in_a_research_code_base_s_names_is_a_vit(layout, tmp_path):
    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    block, attention, mlp, t = VIT_LAYOUTS[layout]
    for i in range(12):
        for m in attention:
            t[f"{block.format(i=i)}{m}.weight"] = ("F32", (768, 768))
        t[f"{block.format(i=i)}{mlp}.fc1.weight"] = ("F32", (3072, 768))
        t[f"{block.format(i=i)}{mlp}.fc2.weight"] = ("F32", (768, 3072))
    write_header(tmp_path / "finetuned.safetensors", t, data=False)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "vit" and report["family_confidence"] >= 0.9
    assert report["root"]["id"].startswith("google/vit-base-patch16-224") and report["head"]["outputs"] == 101


def test_peft_ia3_and_prompt_tuning_adapters_are_inspected(tmp_path):
    """peft's IA3 (a scaling vector per layer) and prompt-tuning (learned virtual tokens) adapters were refused;
    inspect now reads them, each layer's known side checked against the model peft wrapped (the oracle)."""
    from peft import IA3Config, PromptTuningConfig, get_peft_model

    from hfprobe.tree.inspect import inspect_source

    model = B.tiny_transformer("llama")
    ia3 = get_peft_model(
        model, IA3Config(target_modules=["q_proj", "v_proj", "down_proj"], feedforward_modules=["down_proj"])
    )
    ia3.save_pretrained(str(tmp_path / "ia3"))
    view = open_weights(tmp_path / "ia3")
    assert view.format == "peft" and {m.kind for m in view.modules.values()} == {"ia3"}
    linear = {n: m for n, m in model.named_modules() if type(m).__name__ == "Linear"}
    for name, mod in view.modules.items():
        base = linear[f"{name}.base_layer"]  # the Linear peft wrapped
        if name.endswith("down_proj"):  # feed-forward: scales the input, [1, in]
            assert (mod.d_out, mod.d_in) == (0, base.in_features), name
        else:
            assert (mod.d_out, mod.d_in) == (base.out_features, 0), name
    with pytest.raises(UnsupportedFormatError, match="IA3 scaling vector") as err:
        view.layer(next(iter(view.modules)))
    assert "\n" not in str(err.value)
    assert inspect_source(str(tmp_path / "ia3"))["kind"] == "adapter"

    pt = get_peft_model(B.tiny_transformer("gpt2"), PromptTuningConfig(num_virtual_tokens=5, task_type="CAUSAL_LM"))
    pt.save_pretrained(str(tmp_path / "pt"))
    report = inspect_source(str(tmp_path / "pt"))
    assert (report["format"], report["kind"], report["modules"]) == ("peft", "adapter", 1)
    view = open_weights(tmp_path / "pt")
    assert [(m.d_out, m.d_in, m.kind) for m in view.modules.values()] == [(5, 16, "embedding")]


@pytest.mark.parametrize("kind", ["llama", "vit", "bert"])
def test_a_lora_saved_without_peft_s_prefix_is_the_model_s_not_a_unet_s(tmp_path, kind):
    """PEFT's `lora_A` / `lora_B` under the model's own names, without `base_model.model.` and with no config (a
    state dict saved by hand, mistral-finetune's `lora.safetensors`): it was read as a diffusers UNet LoRA, every
    module named `unet.model.layers.0.self_attn.q_proj`, and a classifier left out."""
    model, folder = B.peft_adapter(kind, tmp_path / "peft", r=4, alpha=4)  # alpha = r: the scale 1 then assumed
    deltas = B.lora_deltas(model)
    state = {k.removeprefix("base_model.model."): v for k, v in B._peft_state(model).items()}
    save_file(state, str(tmp_path / "lora.safetensors"))
    view = open_weights(tmp_path / "lora.safetensors")
    assert view.format == "peft" and not any(n.startswith("unet.") for n in view.modules)
    assert {n for n, m in view.modules.items() if m.kind == "lora"} == set(deltas)
    for name, delta in deltas.items():
        assert torch.allclose(view.layer(name, scaled=True), delta, atol=1e-5), name
    assert any("prefix" in n for n in view.notes) and any("alpha unknown" in n for n in view.notes)


def test_mistral_finetune_and_dotted_llm_factors_keep_their_names(tmp_path):
    mistral = {}  # mistral-finetune's LoRA: Meta's own names, PEFT's factor names, no prefix
    for i in range(2):
        for m, out in (("wq", 64), ("wk", 16)):
            mistral[f"layers.{i}.attention.{m}.lora_A.weight"] = torch.randn(4, 64)
            mistral[f"layers.{i}.attention.{m}.lora_B.weight"] = torch.randn(out, 4)
    save_file(mistral, str(tmp_path / "lora.safetensors"))
    view = open_weights(tmp_path / "lora.safetensors")
    assert view.format == "peft" and sorted(view.modules)[0] == "layers.0.attention.wk"
    dotted = {"model.layers.0.self_attn.q_proj.lora_down.weight": torch.randn(4, 64),
              "model.layers.0.self_attn.q_proj.lora_up.weight": torch.randn(64, 4)}  # fmt: skip
    save_file(dotted, str(tmp_path / "dotted.safetensors"))
    assert list(open_weights(tmp_path / "dotted.safetensors").modules) == ["model.layers.0.self_attn.q_proj"]


def test_an_unprefixed_unet_lora_without_metadata_stays_a_unet_s(tmp_path, unet_lora):
    unet, deltas = unet_lora
    B.save_diffusers_lora(unet, tmp_path, style="noprefix", metadata=False)
    view = open_weights(tmp_path)
    assert view.format == "diffusers-lora" and set(deltas) <= set(view.modules)


def test_split_role_is_the_first_suffix_that_ends_the_key():
    import random

    from hfprobe.formats.lora import ROLE_SUFFIXES, split_role

    def plain(key):  # the suffixes in order, the longest and most specific first
        return next(((key[: -len(s)], role) for s, role in ROLE_SUFFIXES if key.endswith(s)), None)

    rng = random.Random(3)
    pieces = ["x", ".", "_", ".lora_", ".lora_A", ".lora_B", "A", ".weight", ".bias", ".alpha", ".lora_E", "vector"]
    pieces += [s for s, _ in ROLE_SUFFIXES] + [".lora_magnitude_vector", ".lora_embedding_A", "lora_down"]
    keys = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 5))) for _ in range(20000)]
    assert sum(plain(k) is not None for k in keys) > 5000
    assert [split_role(k) for k in keys] == [plain(k) for k in keys]

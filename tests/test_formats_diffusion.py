"""hfprobe.formats on diffusion adapters written by the real libraries (diffusers, kohya's names, cloneofsimo's
lora_diffusion, custom diffusion, XLabs FLUX), textual inversions and UNet checkpoints: tiny and fast."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.errors import UnsupportedFormatError
from hfprobe.formats import open_weights
from tests import builders as B
from tests.builders import check_deltas

torch.set_num_threads(1)


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
    check_deltas(view, deltas if scale == 2.0 else {k: v / 2 for k, v in deltas.items()}, scale)
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
    check_deltas(view, expected, 1.0)


def test_dit_lora_transformer_prefix(tmp_path):
    flux = B.add_unet_lora(B.tiny_flux(), r=2, alpha=4, targets=("to_q", "to_k", "to_v", "proj_mlp"))
    B.save_flux_lora(flux, tmp_path)
    view = open_weights(tmp_path)
    assert view.format == "diffusers-lora"
    assert "transformer.single_transformer_blocks.0.proj_mlp" in view.modules
    check_deltas(view, B.lora_deltas(flux, "transformer."), 2.0)


def test_sdxl_lora_two_text_encoders(tmp_path, unet_lora):
    te = B.add_unet_lora(B.tiny_clip_text(), r=2, alpha=4, targets=("q_proj", "v_proj"))
    te2 = B.add_unet_lora(B.tiny_clip_text(projection=True), r=2, alpha=1, targets=("q_proj", "fc1"))
    B.save_sdxl_lora(unet_lora[0], te, te2, tmp_path)
    view = open_weights(tmp_path)
    expected = {
        k.replace("text_encoder.", "text_encoder.text_model.", 1): v
        for k, v in B.lora_deltas(te, "text_encoder.").items()
    }
    check_deltas(view, expected, 2.0)  # per-component lora_adapter_metadata: alpha 4 / r 2
    # CLIPTextModelWithProjection keeps text_model. in memory too
    check_deltas(view, B.lora_deltas(te2, "text_encoder_2."), 0.5)
    check_deltas(view, unet_lora[1], 2.0)


def test_kohya_with_alpha_and_text_encoder(tmp_path, unet_lora):
    unet, deltas = unet_lora
    te = B.tiny_clip_text()
    B.add_unet_lora(te, r=2, alpha=2, targets=("q_proj", "v_proj", "fc1"))
    te_deltas = B.lora_deltas(te, "text_encoder.text_model.")
    path = B.save_kohya_lora(unet, tmp_path, text_encoder=te, alpha=2.0)
    view = open_weights(path)
    assert view.format == "kohya" and view.metadata["ss_base_model_version"] == "sd_v1"
    # kohya scale = alpha / rank: 2/4 for the unet, 2/2 for the text encoder; peft's deltas used alpha/r 8/4 and 2/2
    check_deltas(view, {k: v / 4 for k, v in deltas.items()}, 0.5)
    te_view = {
        k.replace("text_encoder.text_model.text_model.", "text_encoder.text_model."): v for k, v in te_deltas.items()
    }
    check_deltas(view, te_view, 1.0)
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


def test_peft_on_unet_gets_unet_prefix(tmp_path, unet_lora):
    unet, deltas = unet_lora
    from peft import get_peft_model_state_dict

    # what PeftModel.save_pretrained writes for a wrapped diffusers UNet: base_model.model.<path> + adapter_config

    sd = {f"base_model.model.{k}": v.contiguous() for k, v in get_peft_model_state_dict(unet).items()}
    save_file(sd, str(tmp_path / "adapter_model.safetensors"))
    (tmp_path / "adapter_config.json").write_text(json.dumps(unet.peft_config["default"].to_dict(), default=list))
    view = open_weights(tmp_path)
    assert view.format == "peft"
    check_deltas(view, deltas, 2.0)


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


def test_an_unprefixed_unet_lora_without_metadata_stays_a_unet_s(tmp_path, unet_lora):
    unet, deltas = unet_lora
    B.save_diffusers_lora(unet, tmp_path, style="noprefix", metadata=False)
    view = open_weights(tmp_path)
    assert view.format == "diffusers-lora" and set(deltas) <= set(view.modules)

"""Add-ons to a diffusion model on the Hub: IP-Adapters, ControlNets and FLUX Control LoRAs.

IP-Adapter: `ip_adapter.<k>.to_k_ip` is named after the UNet layer diffusers' loader attaches it to, so the tree is
read from them. The processor order is checked against diffusers' own `attn_processors` on the SD 1.5, SD 2.1 and
SDXL UNets (built on the meta device from their published configs), and each file is written as the IP-Adapter
repos ship them: the `to_k_ip`/`to_v_ip` of every cross-attention layer at that layer's `to_k` shape.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.formats import open_weights
from hfprobe.formats.ip_adapter import processor_names
from hfprobe.tree.inspect import inspect_source
from tests.builders import write_header
from tests.model_shapes import SD15, SD21, SDXL

torch.set_num_threads(1)


def meta_unet(config: dict):
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        return UNet2DConditionModel(**config)


@pytest.fixture(scope="module")
def unets():
    return {"sd15": meta_unet(SD15), "sd21": meta_unet(SD21), "sdxl": meta_unet(SDXL)}


@pytest.mark.parametrize("name, layout", [("sd15", "sd"), ("sd21", "sd"), ("sdxl", "sdxl")])
def test_processor_order_is_diffusers_own(name, layout, unets):
    order = [k.removesuffix(".processor") for k in unets[name].attn_processors]
    assert order == processor_names(layout)


def ip_adapter_tensors(unet, image_dim: int = 1024, tokens: int = 4) -> dict[str, tuple]:
    """{key: (dtype, shape)} of an IP-Adapter for `unet`, numbered as diffusers' loader reads them."""
    cross = unet.config.cross_attention_dim
    out = {"image_proj.proj.weight": ("F16", (tokens * cross, image_dim)), "image_proj.norm.weight": ("F16", (cross,))}
    for k, name in enumerate(unet.attn_processors):
        if name.endswith("attn2.processor"):
            layer = unet.get_submodule(name.removesuffix(".processor"))
            for part in ("k", "v"):
                out[f"ip_adapter.{k}.to_{part}_ip.weight"] = ("F16", tuple(getattr(layer, f"to_{part}").weight.shape))
    return out


@pytest.mark.parametrize(
    "name, family, root",
    [("sd15", "sd1", None), ("sd21", "sd2", None), ("sdxl", "sdxl", "stabilityai/stable-diffusion-xl-base-1.0")],
)
def test_an_ip_adapter_is_read_on_its_unet(name, family, root, unets, tmp_path):
    unet = unets[name]
    path = write_header(tmp_path / f"ip-adapter_{name}.safetensors", ip_adapter_tensors(unet), data=False)
    with open_weights(str(path)) as view:
        assert view.format == "ip-adapter"
        for n, m in view.modules.items():
            if n.startswith("unet."):  # each at the shape of the layer it is named after
                layer = unet.get_submodule(n.removeprefix("unet.").rsplit(".", 1)[0])
                assert (m.d_out, m.d_in) == tuple(layer.to_k.weight.shape)
        assert sum(n.startswith("unet.") for n in view.modules) == 2 * sum(
            k.endswith("attn2.processor") for k in unet.attn_processors
        )
    report = inspect_source(str(path))
    assert report["kind"] == "adapter" and report["family"] == family and not report["conflicts"]
    if root:
        assert report["root"]["id"] == root
    else:  # SD 1.x (and 2.x) roots share these shapes: no base_model from the weights alone
        assert report["base_model"]["id"] is None


def test_an_index_past_the_known_layouts_keeps_its_names(tmp_path):
    tensors = {"ip_adapter.301.to_k_ip.weight": ("F16", (320, 768)), "image_proj.proj.weight": ("F16", (3072, 1024))}
    with open_weights(str(write_header(tmp_path / "odd.safetensors", tensors))) as view:
        assert "ip_adapter.301.to_k_ip" in view.modules and "past the UNet layouts" in view.notes[0]


def test_a_controlnet_keeps_its_declared_base(tmp_path):
    """A ControlNet's hint-image `controlnet_cond_embedding.conv_in` (16 x 3) is not the UNet's `conv_in`; read as
    one, it ruled out the SD 1.5 its config.json names."""
    import json

    from diffusers import ControlNetModel

    with torch.device("meta"):
        cn = ControlNetModel(**{k: v for k, v in SD15.items() if k not in ("sample_size", "out_channels")})
    folder = tmp_path / "sd-controlnet-canny"
    tensors = {k: ("F16", tuple(v.shape)) for k, v in cn.state_dict().items()}
    write_header(folder / "diffusion_pytorch_model.safetensors", tensors, data=False)
    config = {"_class_name": "ControlNetModel", "_name_or_path": "runwayml/stable-diffusion-v1-5"}
    (folder / "config.json").write_text(json.dumps(config))
    report = inspect_source(str(folder))
    assert report["family"] == "sd1" and not report["conflicts"]
    assert report["base_model"]["id"] == "runwayml/stable-diffusion-v1-5"


@pytest.mark.parametrize("channels, declared", [(128, True), (128, False), (32, True)])
def test_a_control_lora_widens_its_base_input(channels, declared, tmp_path):
    """A FLUX Control LoRA (Canny, Depth) widens the x_embedder's input from 64 to 128 channels; diffusers' loader
    expands FLUX.1-dev's to take it, so the declared FLUX.1-dev is not ruled out (it once was, a conflict on
    black-forest-labs/FLUX.1-Canny-dev-lora's own card), but nor do the weights alone name it. Fewer input channels
    than the root's still rule it out."""
    from diffusers import FluxTransformer2DModel

    with torch.device("meta"):  # FLUX.1-dev's config, fewer blocks
        model = FluxTransformer2DModel(
            in_channels=64, num_layers=2, num_single_layers=2, attention_head_dim=128, num_attention_heads=24,
            joint_attention_dim=4096, pooled_projection_dim=768, guidance_embeds=True,
        )  # fmt: skip
    tensors = {}
    for name, m in model.named_modules():
        if name == "x_embedder" or name.endswith(("attn.to_q", "attn.to_v", "attn.add_q_proj")):
            d_out, d_in = m.weight.shape
            d_in = channels if name == "x_embedder" else d_in
            tensors[f"transformer.{name}.lora_A.weight"] = ("BF16", (16, d_in))
            tensors[f"transformer.{name}.lora_B.weight"] = ("BF16", (d_out, 16))
    folder = tmp_path / "control-lora"
    write_header(folder / "flux1-canny-dev-lora.safetensors", tensors)
    if declared:
        (folder / "README.md").write_text("---\nbase_model: black-forest-labs/FLUX.1-dev\n---\n# Canny LoRA\n")
    report = inspect_source(str(folder))
    assert report["family"] == "flux"
    if channels < 64:
        assert report["conflicts"] and report["base_model"]["status"] == "contradicted"
    elif declared:
        assert not report["conflicts"] and report["base_model"]["id"] == "black-forest-labs/FLUX.1-dev"
    else:
        assert report["base_model"]["id"] is None
        assert any("widened input" in e for e in report["root"]["evidence"])

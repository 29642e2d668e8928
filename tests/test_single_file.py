"""Diffusion checkpoints as their users keep them: an A1111 / original-repo Stable Diffusion file (UNet, VAE and text
encoder in one), FLUX.1 in Black Forest Labs' layout, Wan in Wan-AI's original repos; and every registry diffusion
family's full checkpoint in diffusers' layout. `tests/single_file.py` builds each at its published sizes, and the
first test checks its names against diffusers' own single-file converters.

Before: an SD 1.5, 2.1 or XL single file read as SD 1.x at 0.3 with no root (its VAE's `encoder.conv_in` was taken
for the UNet's input convolution, whose sizes it does not have); every full diffusion checkpoint's evidence said
61-91% of it was "unlike" its family (the family's layers were its attention); Wan-AI's own repos (config.json
`_class_name: WanModel`, `model_type: t2v`) read as an unknown architecture `t2v`, family 0.5, no base_model.
"""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.formats import open_weights
from hfprobe.tree.inspect import format_report, inspect_source
from tests import single_file as sf
from tests.builders import write_header

torch.set_num_threads(1)

# Wan-AI/Wan2.1-T2V-1.3B's config.json: Wan's `WanModel`, saved by diffusers' ConfigMixin
WAN_CONFIG = {"_class_name": "WanModel", "_diffusers_version": "0.30.0", "dim": 1536, "eps": 1e-06, "ffn_dim": 8960}
WAN_CONFIG |= {"freq_dim": 256, "in_dim": 16, "model_type": "t2v", "num_heads": 12, "num_layers": 30, "out_dim": 16}


def report(folder, shapes: dict, config: dict | None = None, name: str = "model.safetensors") -> dict:
    write_header(folder / name, {k: ("BF16", v) for k, v in shapes.items()}, data=False)
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    return inspect_source(str(folder))


# layout: (its shapes, the diffusers class and configuration diffusers' converter takes them to, the converter)
ORACLES = {
    **{
        f: (lambda f=f: sf.ldm_unet(f), "UNet2DConditionModel", sf.UNETS[f], "convert_ldm_unet_checkpoint")
        for f in sf.UNETS
    },
    "vae": (sf.ldm_vae, "AutoencoderKL", sf.VAE, "convert_ldm_vae_checkpoint"),
    **{
        f"controlnet {f}": (
            lambda f=f, prefix=prefix: sf.ldm_controlnet(f, prefix),
            "ControlNetModel",
            sf.controlnet_config(f),
            "convert_controlnet_checkpoint",
        )
        for f, prefix in (("sd1", "control_model."), ("sd2", ""))  # (diffusers converts no SDXL one: its label_emb)
    },
    "flux": (sf.bfl_flux, "FluxTransformer2DModel", sf.FLUX1, "convert_flux_transformer_checkpoint_to_diffusers"),
    "flux2": (sf.bfl_flux2, "Flux2Transformer2DModel", {}, "convert_flux2_transformer_checkpoint_to_diffusers"),
    "sd3": (sf.sgm_sd3, "SD3Transformer2DModel", sf.SD35_MEDIUM, "convert_sd3_transformer_checkpoint_to_diffusers"),
    "hunyuan_video": (
        sf.tencent_hunyuan_video,
        "HunyuanVideoTransformer3DModel",
        sf.HUNYUAN_VIDEO,
        "convert_hunyuan_video_transformer_to_diffusers",
    ),
    "wan": (sf.wan_original, "WanTransformer3DModel", sf.WAN_1_3B, "convert_wan_transformer_to_diffusers"),
    "zimage": (
        sf.original_z_image,
        "ZImageTransformer2DModel",
        {},
        "convert_z_image_transformer_checkpoint_to_diffusers",
    ),
}


@pytest.mark.parametrize("layout", ORACLES)
def test_the_layouts_are_the_ones_diffusers_converts(layout):
    """diffusers' single-file converters take each built layout to exactly the diffusers model's names and shapes."""
    import diffusers
    from diffusers.loaders import single_file_utils as convert

    build, cls, config, converter = ORACLES[layout]
    shapes, want = build(), sf.diffusers_shapes(cls, **config)
    checkpoint = {k: torch.empty(v, device="meta") for k, v in shapes.items()}
    ldm = converter.startswith("convert_ldm") or converter == "convert_controlnet_checkpoint"
    if ldm:  # CompVis-layout converters read the model's whole config
        with torch.device("meta"):
            full_config = dict(getattr(diffusers, cls)(**config).config)
        converted = getattr(convert, converter)(checkpoint, full_config)
    else:
        converted = getattr(convert, converter)(checkpoint)
    assert {k: tuple(v.shape) for k, v in converted.items()} == want
    # and nothing of the layout was left aside: the CompVis converters copy what they use (so the layout has one
    # tensor per diffusers tensor); the others take each key they use (splitting fused qkv) or rename in place
    assert len(shapes) == len(want) if ldm else not checkpoint or converted is checkpoint


ROOTS = {
    "sd1": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "sd2": "stabilityai/stable-diffusion-2-1",
    "sdxl": "stabilityai/stable-diffusion-xl-base-1.0",
    "sd3": "stabilityai/stable-diffusion-3.5-medium",
}


def _sd3_all_in_one() -> dict:
    """`sd3.5_medium_incl_clips…`-style: the MMDiT under `model.diffusion_model.`, the VAE, the text encoders."""
    mmdit = {f"model.diffusion_model.{k}": v for k, v in sf.sgm_sd3().items()}
    return mmdit | sf.ldm_vae() | sf.clip_text("text_encoders.clip_l.transformer.")


@pytest.mark.parametrize("family", ["sd1", "sd2", "sdxl", "sd3"])
def test_a_single_file_stable_diffusion_checkpoint_is_its_family_and_root(family, tmp_path):
    """UNet, VAE (and the text encoders where the file has them) in one file, as `v1-5-pruned-emaonly.safetensors`,
    `sd_xl_base_1.0.safetensors` and SD 3.5's all-in-one files are: its family at 1.0, its root first, every layer
    its family's."""
    got = report(tmp_path, _sd3_all_in_one() if family == "sd3" else sf.sd_single_file(family))
    assert got["format"] == "ldm-checkpoint"
    assert (got["family"], got["family_confidence"], got["root"]["id"]) == (family, 1.0, ROOTS[family])
    assert not [e for e in got["root"]["evidence"] if "of the parameters" in e]


def test_an_inpainting_single_file_is_told_by_its_input_channels(tmp_path):
    """The original layout's input convolution (`input_blocks.0.0`) is sized as diffusers' `conv_in` is: 9 channels
    name SD 1.5 inpainting, 4 rule it out."""
    inpainting = sf.ldm_unet("sd1")
    inpainting["model.diffusion_model.input_blocks.0.0.weight"] = (320, 9, 3, 3)
    got = report(tmp_path / "a", inpainting)
    assert got["root"]["id"] == "stable-diffusion-v1-5/stable-diffusion-inpainting"
    plain = report(tmp_path / "b", sf.ldm_unet("sd1"))
    assert "stable-diffusion-v1-5/stable-diffusion-inpainting" not in {c["id"] for c in plain["root"]["candidates"]}


@pytest.mark.parametrize("family, prefix", [("sd1", "control_model."), ("sd2", "")])
def test_an_original_layout_controlnet_is_an_adapter_of_its_family(family, prefix, tmp_path):
    """lllyasviel's ControlNet 1.1 files (`control_v11p_sd15_canny.pth`, ComfyUI's fp16 safetensors copies) and
    thibaud's SD 2.1 ones (no `control_model.`): a ControlNet runs beside its base, as diffusers' does, so its card
    relation is `adapter`; before, each was a transformers checkpoint of kind `checkpoint` (relation `finetune`)."""
    from hfprobe.cards.card import update_card

    card = "---\nbase_model: runwayml/stable-diffusion-v1-5\n---\n" if family == "sd1" else None
    if card:
        (tmp_path / "README.md").write_text(card)
    got = report(tmp_path, sf.ldm_controlnet(family, prefix), name="control_v11p_sd15_canny_fp16.safetensors")
    assert (got["format"], got["kind"], got["family"], got["family_confidence"]) == (
        "ldm-checkpoint",
        "adapter",
        family,
        1.0,
    )
    assert got["root"]["id"] == ROOTS[family] and not got["conflicts"]
    assert not [c for c in got["root"]["candidates"] if "inpainting" in c["id"]]  # its input convolution is sized
    if card:
        assert got["base_model"]["id"] == "runwayml/stable-diffusion-v1-5"
        assert "  relation: adapter" in update_card(card, got, today="2026-12-03").text  # the hfprobe block's
    whole = report(tmp_path / "v1.0", sf.sd_single_file("sd1") | sf.ldm_controlnet("sd1"))  # `control_sd15_canny.pth`
    assert (whole["kind"], whole["family"]) == ("checkpoint", "sd1")  # ControlNet 1.0: SD 1.5 and a ControlNet


FULL = {  # diffusers' layout at published sizes (tests/test_dit_families.py's configs), and the original layouts
    "sd1": lambda: sf.diffusers_shapes("UNet2DConditionModel", **sf.UNETS["sd1"]),
    "sdxl": lambda: sf.diffusers_shapes("UNet2DConditionModel", **sf.UNETS["sdxl"]),
    "flux": lambda: sf.diffusers_shapes("FluxTransformer2DModel", **sf.FLUX1),
    "hunyuan_video": lambda: sf.diffusers_shapes(
        "HunyuanVideoTransformer3DModel",
        num_attention_heads=24,
        attention_head_dim=128,
        num_layers=20,
        num_single_layers=40,
        text_embed_dim=4096,
    ),
    "wan": lambda: sf.diffusers_shapes("WanTransformer3DModel", **sf.WAN_1_3B),
    "sd3": lambda: sf.diffusers_shapes("SD3Transformer2DModel", **sf.SD35_MEDIUM),
    "flux bfl": sf.bfl_flux,
    "flux2 bfl": sf.bfl_flux2,
    "sd3 sgm": sf.sgm_sd3,
    "hunyuan_video tencent": sf.tencent_hunyuan_video,
    "zimage original": sf.original_z_image,
    "wan original": sf.wan_original,
}


@pytest.mark.parametrize("name", FULL)
def test_a_full_diffusion_checkpoint_is_all_its_familys(name, tmp_path):
    """Its resnets, feed-forwards and modulations are its family's layers too (`unsized` in families.json): no share
    of it is said to be unlike the family, and the family is sure."""
    got = report(tmp_path, FULL[name](), name="diffusion_pytorch_model.safetensors")
    assert got["family"] == name.split()[0] and got["family_confidence"] == 1.0
    assert not [e for e in got["root"]["evidence"] if "of the parameters" in e]


@pytest.mark.parametrize("prefix", ["", "model.diffusion_model."])
def test_flux_in_black_forest_labs_layout_is_an_original_layout_checkpoint(prefix, tmp_path):
    """`flux1-dev.safetensors` (and ComfyUI's copy under `model.diffusion_model.`) was labelled a transformers
    checkpoint without the prefix; both are FLUX.1, dev or schnell."""
    got = report(tmp_path, {prefix + k: v for k, v in sf.bfl_flux().items()}, name="flux1-dev.safetensors")
    assert got["format"] == "ldm-checkpoint" and got["family"] == "flux"
    assert "  format   ldm-checkpoint, 314 modules" in format_report(got).splitlines()  # (not "checkpoint checkpoint")
    assert {c["id"] for c in got["root"]["candidates"]} == {
        "black-forest-labs/FLUX.1-dev",
        "black-forest-labs/FLUX.1-schnell",
    }


def test_original_embedders_are_sized_as_diffusers_names_are(tmp_path):
    """BFL's `img_in`, `txt_in` and `vector_in` are diffusers' `x_embedder`, `context_embedder` and pooled text
    embedder, and now checked as they are: FLUX.1 Fill's 384 input channels are a widened input (as in diffusers'
    layout), a T5 of another width rules FLUX.1 out. Before, only the blocks were sized in BFL's names."""
    fill = report(tmp_path / "fill", {**sf.bfl_flux(), "img_in.weight": (3072, 384)})
    assert fill["family"] == "flux" and fill["base_model"]["id"] is None
    assert any("img_in is 3072x384 (inner x in_channels), unlike" in e for e in fill["root"]["evidence"])
    other = report(tmp_path / "t5", {**sf.bfl_flux(), "txt_in.weight": (3072, 2048)})
    assert other["root"]["id"] is None
    # and Stability's `y_embedder` is SD3's pooled-text embedder: a pooled width no SD3 has rules them all out
    sd3 = report(tmp_path / "sd3", {**sf.sgm_sd3(), "y_embedder.mlp.0.weight": (1536, 1280)})
    assert sd3["family"] == "sd3" and sd3["root"]["id"] is None


@pytest.mark.parametrize(
    "build, root, fmt",
    [
        (sf.bfl_flux2, "black-forest-labs/FLUX.2-dev", "ldm-checkpoint"),
        (sf.sgm_sd3, "stabilityai/stable-diffusion-3.5-medium", "ldm-checkpoint"),
        (sf.tencent_hunyuan_video, "hunyuanvideo-community/HunyuanVideo", "ldm-checkpoint"),
        (sf.original_z_image, "Tongyi-MAI/Z-Image-Turbo", "diffusers-checkpoint"),
    ],
    ids=["flux2", "sd3", "hunyuan_video", "zimage"],
)
def test_other_dits_in_their_authors_layouts_name_their_root(build, root, fmt, tmp_path):
    """FLUX.2 as BFL ships it, SD 3.5 Medium as Stability does, HunyuanVideo as Tencent's own code saves it, and
    Z-Image as ComfyUI does (its Llama-like `feed_forward.w1` once made it Llama at 0.3, with no root; its refiners
    are diffusers' top-level names too, so it keeps the diffusers label)."""
    got = report(tmp_path, build())
    assert got["format"] == fmt and got["family_confidence"] == 1.0
    assert got["root"]["id"] == root


@pytest.mark.parametrize("config", [WAN_CONFIG, None], ids=["with its config.json", "alone"])
def test_wan_ai_s_original_repo_is_wan_and_names_its_root(config, tmp_path):
    """Wan-AI/Wan2.1-T2V-1.3B as published: Wan's own names, config.json `_class_name: WanModel` with its
    `model_type: t2v` (an argument of Wan's class, not a transformers architecture)."""
    got = report(tmp_path, sf.wan_original(), config, name="diffusion_pytorch_model.safetensors")
    assert got["format"] == "ldm-checkpoint"
    assert (got["family"], got["family_confidence"]) == ("wan", 1.0)
    assert got["base_model"]["id"] == "Wan-AI/Wan2.1-T2V-1.3B" and not got["conflicts"]
    assert not any(n.startswith(("unet.", "wanmodel.")) for n in open_weights(str(tmp_path)).modules)


def test_a_diffusion_checkpoint_mostly_unlike_its_family_is_no_surer_than_its_shapes(tmp_path):
    """A file whose FLUX.1 blocks are a fifth of it (the rest layers no FLUX.1 has) is not FLUX.1 at 1.0: the
    share-of-layers cap that text families had now holds for diffusion checkpoints, whose layers are all listed."""
    shapes = {k: v for k, v in sf.bfl_flux().items() if k.startswith("double_blocks.")}
    shapes |= {f"decoder.layers.{i}.fc{j}.weight": (12288, 12288) for i in range(24) for j in (1, 2)}
    got = report(tmp_path, shapes)
    assert got["family"] == "flux" and got["family_confidence"] <= 0.5
    assert got["base_model"]["id"] is None
    assert any("the rest is unlike them" in e for e in got["root"]["evidence"])

"""The components diffusion users download alone: text encoders, image encoders and VAEs.

CLIP ViT-L/14's text encoder (SD 1.x's, SDXL's first, FLUX.1's and SD3's `clip_l.safetensors`), OpenCLIP
ViT-bigG/14's (SDXL's second, SD3's `clip_g`) and ViT-H/14's (SD 2.x's, 23 of its 24 blocks), T5 v1.1 XXL's encoder
(FLUX.1's and SD3's `t5xxl`), UMT5-XXL's (Wan's), the CLIP image encoders IP-Adapters load, and the VAE
(`sd-vae-ft-mse`, `sdxl_vae.safetensors`, FLUX.1's `ae.safetensors`). Each is built by transformers or diffusers on
the meta device at its published sizes and written as a header-only file, in the names its file has: transformers 4
and ComfyUI save a CLIP tower under `text_model.` / `vision_model.`, transformers 5 saves one alone without it (as
it saves SigLIP's); a VAE is in diffusers' names or the original ones.

Before: CLIP-L's text encoder was SigLIP (0.5, root siglip-base) under `text_model.` and Whisper without it (root
whisper-small); bigG's had no root; T5-XXL's wrote `google/flan-t5-xxl` as base_model and UMT5-XXL's named it as
root at 0.9, T5 v1.1 XXL and UMT5 being in no registry; a VAE was "a Stable Diffusion UNet" at 0.3, or in the
original names no family ("shapes alone fit bert, t5, whisper, marian, electra").
"""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.tree.inspect import inspect_source
from tests.builders import write_header
from tests.single_file import VAE, diffusers_shapes, ldm_vae

torch.set_num_threads(1)

CLIP_L = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12)
CLIP_H_SD2 = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=23, num_attention_heads=16)
CLIP_G = dict(
    hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20, projection_dim=1280
)
T5_XXL = dict(d_model=4096, d_ff=10240, num_layers=24, num_heads=64, d_kv=64, feed_forward_proj="gated-gelu")
T5_SMALL = dict(d_model=512, d_ff=1024, num_layers=8, num_heads=6, feed_forward_proj="gated-gelu")


def _shapes(cls: str, config: str, **kw) -> dict[str, tuple[int, ...]]:
    """{key: shape} of a transformers model built on the meta device: transformers 5's names (a CLIP tower alone
    has no `text_model.` / `vision_model.`)."""
    import transformers as tf

    with torch.device("meta"):
        model = getattr(tf, cls)(getattr(tf, config)(**kw))
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _towered(shapes: dict, prefix: str) -> dict:
    """The names transformers 4 and ComfyUI save a CLIP tower under."""
    keep = ("text_model.", "vision_model.", "text_projection", "visual_projection")
    return {k if k.startswith(keep) else prefix + k: v for k, v in shapes.items()}


def _inspect(shapes: dict, folder, name: str = "model.safetensors", config: dict | None = None, card: str = "") -> dict:
    write_header(folder / name, {k: ("F16", s) for k, s in shapes.items()}, data=False)
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    if card:
        (folder / "README.md").write_text(card)
    return inspect_source(str(folder))


CLIP_L_ROOTS = {"openai/clip-vit-large-patch14", "laion/CLIP-ViT-L-14-laion2B-s32B-b82K"}
CLIP_H_ROOTS = {
    "laion/CLIP-ViT-H-14-laion2B-s32B-b79K",
    "apple/DFN5B-CLIP-ViT-H-14",
    "facebook/metaclip-h14-fullcc2.5b",
}


@pytest.mark.parametrize("saved_by", ["transformers 4 / ComfyUI", "transformers 5"])
def test_clip_l_text_encoder_is_clip_vit_l(saved_by, tmp_path):
    """CLIP ViT-L/14's text tower alone: its 49,408-token vocabulary and 77 positions are CLIP's (SigLIP's are 32,000
    and 64) and its 12 blocks a ViT-L/14's text tower's (the vision tower has 24). OpenAI's and LAION's ViT-L/14
    share every shape, so the weights name the tree and leave base_model to metadata."""
    shapes = _shapes("CLIPTextModel", "CLIPTextConfig", **CLIP_L)
    report = _inspect(_towered(shapes, "text_model.") if saved_by.startswith("transformers 4") else shapes, tmp_path)
    assert report["family"] == "clip" and report["family_confidence"] >= 0.95, report["root"]["evidence"]
    ids = [c["id"] for c in report["root"]["candidates"]]
    assert report["root"]["id"] == "openai/clip-vit-large-patch14" and CLIP_L_ROOTS <= set(ids[:3])
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"
    assert not any("of the parameters are in layers" in e for e in report["root"]["evidence"])


def test_a_longer_position_table_keeps_clip_l_s_lineage(tmp_path):
    """LongCLIP-L (`zer0int/LongCLIP-L`'s text encoder): CLIP ViT-L/14's, its 77 positions stretched to 248. A resized
    table lowers a root, never rules it out, and is still the position table a full tower must hold."""
    shapes = _shapes("CLIPTextModel", "CLIPTextConfig", max_position_embeddings=248, **CLIP_L)
    report = _inspect(_towered(shapes, "text_model."), tmp_path)
    assert report["family"] == "clip" and report["root"]["id"] == "openai/clip-vit-large-patch14"


def test_sdxl_second_text_encoder_is_openclip_bigg(tmp_path):
    """SDXL's `text_encoder_2` (CLIPTextModelWithProjection, 1280 wide, 32 blocks): OpenCLIP ViT-bigG/14's."""
    report = _inspect(
        _towered(_shapes("CLIPTextModelWithProjection", "CLIPTextConfig", **CLIP_G), "text_model."), tmp_path
    )
    assert report["family"] == "clip" and report["family_confidence"] == 1.0
    assert report["base_model"]["id"] == "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"


def test_sd2_text_encoder_is_openclip_h_one_block_short(tmp_path):
    """SD 2.x's text encoder is OpenCLIP ViT-H/14's text tower less its last block (23 of 24): the root still, but
    a full checkpoint short of the root's blocks is no fit certain enough to write."""
    report = _inspect(_towered(_shapes("CLIPTextModel", "CLIPTextConfig", **CLIP_H_SD2), "text_model."), tmp_path)
    assert report["family"] == "clip" and report["root"]["id"] == "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
    assert report["base_model"]["id"] is None and "23 of 24 te_layers" in report["base_model"]["reason"]


@pytest.mark.parametrize("saved_by", ["transformers 4", "transformers 5"])
def test_clip_image_encoders_are_clip_vision_towers(saved_by, tmp_path):
    """An IP-Adapter's `image_encoder` (CLIPVisionModelWithProjection, OpenCLIP ViT-H/14) and a CLIP ViT-L/14 vision
    tower saved alone: before, the latter, saved by transformers 5, was Whisper's encoder at 0.44 (root
    whisper-medium). ViT-H/14's shapes are LAION's, DFN-5B's and MetaCLIP's: the weights name none of them (LAION's
    was written before those were roots)."""
    h = dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16, patch_size=14)
    encoder = _shapes("CLIPVisionModelWithProjection", "CLIPVisionConfig", projection_dim=1024, **h)
    report = _inspect(encoder, tmp_path / "h")
    assert report["family"] == "clip" and report["base_model"]["status"] == "ambiguous"
    assert CLIP_H_ROOTS <= {c["id"] for c in report["root"]["candidates"]}
    vit_l = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, patch_size=14)
    shapes = _shapes("CLIPVisionModel", "CLIPVisionConfig", **vit_l)
    report = _inspect(_towered(shapes, "vision_model.") if saved_by == "transformers 4" else shapes, tmp_path / "l")
    assert report["family"] == "clip" and report["family_confidence"] >= 0.95
    assert CLIP_L_ROOTS <= {c["id"] for c in report["root"]["candidates"][:3]}


def test_a_clip_vit_b16_is_openai_s_or_laion_s(tmp_path):
    """A whole CLIP ViT-B/16 (`CLIPModel`): OpenAI's and LAION-2B's share every shape, so its weights name neither
    (OpenAI's was written before LAION's was a root); a card that names one decides."""
    shapes = _shapes("CLIPModel", "CLIPConfig", vision_config={"patch_size": 16})
    report = _inspect(shapes, tmp_path / "alone")
    assert report["family"] == "clip" and report["base_model"]["status"] == "ambiguous"
    both = {"openai/clip-vit-base-patch16", "laion/CLIP-ViT-B-16-laion2B-s34B-b88K"}
    assert both <= {c["id"] for c in report["root"]["candidates"][:2]}
    card = "---\nbase_model: laion/CLIP-ViT-B-16-laion2B-s34B-b88K\n---\n"
    assert _inspect(shapes, tmp_path / "card", card=card)["base_model"]["id"] == "laion/CLIP-ViT-B-16-laion2B-s34B-b88K"


def test_a_siglip_vision_tower_saved_alone_is_siglip(tmp_path):
    """FLUX.1 Redux's image encoder, SigLIP so400m's vision tower, as transformers 5 saves it (no `vision_model.`):
    before, Whisper's encoder at 0.3 with no root."""
    so400m = dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16, patch_size=14)
    report = _inspect(_shapes("SiglipVisionModel", "SiglipVisionConfig", image_size=384, **so400m), tmp_path)
    assert report["family"] == "siglip" and report["family_confidence"] == 1.0
    assert report["base_model"]["id"] == "google/siglip-so400m-patch14-384"


def test_a_rotary_vit_in_clip_s_names_is_no_clip_root(tmp_path):
    """MLCD's ViT-bigG (DeepGlint's, default configuration) under `vision_model.` as transformers 4 saved it: CLIP's
    names and OpenCLIP ViT-bigG's every size, but rotary positions (`class_pos_emb`), no position table. With bigG a
    root and nothing telling them apart (`8cf7c44`), bigG was written as its base_model; then a full CLIP vision
    tower's position table (`requires` in families.json) ruled bigG out, the family still CLIP. Its rotary
    embedding, which no CLIP or SigLIP has (`excludes`), now rules the family out, in either layout
    (tests/test_family_evidence.py)."""
    shapes = _towered(_shapes("MLCDVisionModel", "MLCDVisionConfig"), "vision_model.")
    report = _inspect(shapes, tmp_path)
    assert report["family"] not in {"clip", "siglip"} and report["base_model"]["id"] is None
    assert "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k" not in {c["id"] for c in report["root"]["candidates"]}
    assert any("class_pos_emb" in e for e in report["root"]["evidence"])


def test_t5_xxl_encoder_names_no_fine_tune_as_its_base(tmp_path):
    """FLUX.1's and SD3's `t5xxl` is T5 v1.1 XXL's encoder, which Flan-T5-XXL was fine-tuned from in the same
    shapes: the weights name the tree and no base_model; before, the only XXL root, Flan-T5-XXL, was written."""
    report = _inspect(_shapes("T5EncoderModel", "T5Config", vocab_size=32128, **T5_XXL), tmp_path)
    assert report["family"] == "t5" and report["root"]["id"] == "google/t5-v1_1-xxl"
    assert {"google/t5-v1_1-xxl", "google/flan-t5-xxl"} <= {c["id"] for c in report["root"]["candidates"][:2]}
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"


@pytest.mark.parametrize("size, dims", [("xxl", T5_XXL), ("small", T5_SMALL)])
def test_umt5_encoder_is_umt5_by_its_vocabulary(size, dims, tmp_path):
    """Wan's text encoder, UMT5-XXL's encoder: T5 v1.1 XXL's layers over a 256,384-token vocabulary that only UMT5
    has (mT5's is 250,112). UMT5-small was entered twice in the registry, so it "fit 2 known roots" and got none."""
    report = _inspect(_shapes("UMT5EncoderModel", "UMT5Config", vocab_size=256384, **dims), tmp_path)
    assert report["family"] == "t5" and report["base_model"]["id"] == f"google/umt5-{size}"


def test_comfyui_s_fp8_text_encoder_is_quantized(tmp_path):
    """UMT5-XXL as ComfyUI repackages it (`umt5_xxl_fp8_e4m3fn_scaled.safetensors`): each Linear float8 with one
    `scale_weight`, a `scaled_fp8` mark. Its tree is read as the dense encoder's, but it is a quantized copy, whose
    card relation is `quantized` and whose base_model the weights alone do not write (a fine-tune quantized looks
    the same); before, it was a plain checkpoint (relation `finetune`) and `google/umt5-xxl` was written from the
    weights."""
    from hfprobe.cards.card import update_card

    tensors = {"scaled_fp8": ("F8_E4M3", (0,))}
    for key, shape in _shapes("UMT5EncoderModel", "UMT5Config", vocab_size=256384, **T5_XXL).items():
        linear = ".layer." in key and key.endswith(".weight") and len(shape) == 2 and "relative" not in key
        tensors[key] = ("F8_E4M3" if linear else "F16", shape)
        if linear:
            tensors[key.removesuffix(".weight") + ".scale_weight"] = ("F32", ())
    write_header(tmp_path / "umt5_xxl_fp8_e4m3fn_scaled.safetensors", tensors, data=False)
    report = inspect_source(str(tmp_path))
    assert report["quantized"]["method"] == "fp8" and report["quantized"]["bits"] == 8
    assert report["family"] == "t5" and report["root"]["id"] == "google/umt5-xxl"
    assert report["base_model"]["id"] is None and "quantized checkpoint" in report["base_model"]["reason"]
    assert "  relation: quantized" in update_card(None, report, today="2026-12-03").text  # the hfprobe block's


SD_VAES = {"stabilityai/sd-vae-ft-mse", "stabilityai/sdxl-vae", "stabilityai/sd-vae-ft-ema"}


@pytest.mark.parametrize("layout", ["diffusers, config.json", "diffusers", "original"])
def test_an_sd_vae_alone_is_a_vae_of_sd_shapes(layout, tmp_path):
    """SD's VAE as `stabilityai/sd-vae-ft-mse` has it (diffusers' names and a config.json naming AutoencoderKL),
    without the config, and in the original names (`vae-ft-mse-840000-ema-pruned.safetensors`,
    `sdxl_vae.safetensors`): every 4-channel SD VAE (SD 1.x's, its tunes, SDXL's) has these shapes, so the weights
    name the family and the candidates, and leave base_model to metadata."""
    if layout == "original":
        shapes = {k.removeprefix("first_stage_model."): v for k, v in ldm_vae().items()}
        report = _inspect(shapes, tmp_path, "sdxl_vae.safetensors")
    else:
        config = {"_class_name": "AutoencoderKL", "latent_channels": 4} if "config" in layout else None
        shapes = diffusers_shapes("AutoencoderKL", **VAE)
        report = _inspect(shapes, tmp_path, "diffusion_pytorch_model.safetensors", config)
    assert report["format"] == ("ldm-checkpoint" if layout == "original" else "diffusers-checkpoint")
    assert report["family"] == "vae" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert SD_VAES <= {c["id"] for c in report["root"]["candidates"]}
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"


def test_a_declared_vae_is_written_and_a_16_channel_one_fits_no_sd_vae(tmp_path):
    """`madebyollin/sdxl-vae-fp16-fix` declares SDXL's VAE, which its shapes fit: written. FLUX.1's VAE (16 latent
    channels, no quant convolutions) is a VAE no registry root fits: the family from its names, unsure, and the
    evidence says which size ruled SD's out."""
    card = "---\nbase_model: stabilityai/sdxl-vae\n---\nSDXL's VAE, fixed to run in fp16.\n"
    shapes = diffusers_shapes("AutoencoderKL", **VAE)
    report = _inspect(shapes, tmp_path / "fix", "diffusion_pytorch_model.safetensors", card=card)
    assert report["base_model"]["id"] == "stabilityai/sdxl-vae", report["base_model"]
    flux = diffusers_shapes(
        "AutoencoderKL", **{**VAE, "latent_channels": 16, "use_quant_conv": False, "use_post_quant_conv": False}
    )
    report = _inspect(flux, tmp_path / "flux", "ae.safetensors")
    assert report["family"] == "vae" and report["family_confidence"] <= 0.5 and report["root"]["id"] is None
    assert report["base_model"]["id"] is None
    assert any("encoder.conv_out is 32x512" in e and "(2*latent x top)" in e for e in report["root"]["evidence"])

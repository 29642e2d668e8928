"""Family and root of diffusion models, on shapes the diffusers classes build on the meta device with
the published configs of known roots (SD 1.x, SD 2.x, SDXL, SD3, FLUX): no memory, no download."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.classify import classify
from tests.model_shapes import SD15, SD21, SDXL, lora_like, module_shapes

torch.set_num_threads(1)


SDXL_BASE = "stabilityai/stable-diffusion-xl-base-1.0"


def test_sd15_unet_is_sd1_with_honest_candidates(unet):
    r = classify(unet(**SD15))
    assert r.family == "sd1"
    ids = [c["id"] for c in r.candidates]
    # conv_in has 4 channels: the inpainting (9) and pix2pix (8) UNets are ruled out, 1.4 and 1.5 are not
    assert ids[0] == "stable-diffusion-v1-5/stable-diffusion-v1-5" and "CompVis/stable-diffusion-v1-4" in ids
    assert "stable-diffusion-v1-5/stable-diffusion-inpainting" not in ids
    assert r.confidence < 0.9
    assert any("cannot separate" in e for e in r.evidence)


def test_inpainting_unet_is_told_apart_by_conv_in(unet):
    r = classify(unet(**dict(SD15, in_channels=9)))
    assert r.family == "sd1" and r.root == "stable-diffusion-v1-5/stable-diffusion-inpainting"


def test_attention_only_lora_cannot_separate_inpainting(unet):
    r = classify(lora_like(unet(**SD15), "to_q", "to_k", "to_v", "to_out.0", prefix="unet."))
    ids = [c["id"] for c in r.candidates]
    assert r.family == "sd1" and "stable-diffusion-v1-5/stable-diffusion-inpainting" in ids
    assert sum(c["score"] for c in r.candidates) <= 1.0


def test_sd2_by_cross_attention_1024(unet):
    r = classify(lora_like(unet(**SD21), "attn2.to_k", "attn2.to_v"))
    assert r.family == "sd2" and r.root.startswith("stabilityai/stable-diffusion-2")


def test_sdxl_unet(unet):
    r = classify(unet(**SDXL))
    assert r.family == "sdxl" and r.root == "stabilityai/stable-diffusion-xl-base-1.0"


def test_sdxl_kohya_sgm_names_with_te2():
    shapes = {
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k": (640, 2048),
        "lora_unet_output_blocks_0_1_transformer_blocks_9_attn1_to_q": (1280, 1280),
        "lora_te1_text_model_encoder_layers_0_self_attn_q_proj": (768, 768),
        "lora_te2_text_model_encoder_layers_0_self_attn_q_proj": (1280, 1280),
    }
    r = classify(shapes)
    assert r.family == "sdxl" and r.root == "stabilityai/stable-diffusion-xl-base-1.0"


def test_sdxl_lora_with_both_text_encoders_from_the_file(tmp_path):
    """Through the format reader, whose canonical names are `text_encoder_2.…`: the first text encoder's role once
    took those too, and every SDXL LoRA that trained the second encoder was ruled out of SDXL."""
    from safetensors.torch import save_file

    from hfprobe.tree.inspect import inspect_source

    tensors = {}
    for name, d_out, d_in in [
        ("lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k", 640, 2048),
        ("lora_unet_middle_block_1_transformer_blocks_0_attn2_to_k", 1280, 2048),
        ("lora_te1_text_model_encoder_layers_0_self_attn_q_proj", 768, 768),
        ("lora_te2_text_model_encoder_layers_0_self_attn_q_proj", 1280, 1280),
    ]:
        tensors[f"{name}.lora_down.weight"] = torch.zeros(4, d_in, dtype=torch.float16)
        tensors[f"{name}.lora_up.weight"] = torch.zeros(d_out, 4, dtype=torch.float16)
    save_file(tensors, str(tmp_path / "sdxl_lora.safetensors"))
    report = inspect_source(str(tmp_path / "sdxl_lora.safetensors"))
    assert report["family"] == "sdxl" and report["root"]["id"] == "stabilityai/stable-diffusion-xl-base-1.0"


@pytest.mark.parametrize(
    "metadata, status, written",
    [
        # modelspec.architecture is `<architecture>/<adapter kind>`: once written as the Hub id "flux-1-dev/lora"
        ({"modelspec.architecture": "stable-diffusion-xl-v1-base/lora"}, "weights", SDXL_BASE),
        ({"ss_sd_model_name": "sd_xl_base_1.0.safetensors"}, "declared", SDXL_BASE),
        ({"ss_sd_model_name": "sd_xl_base_1.0_0.9vae.safetensors"}, "declared", SDXL_BASE),  # the repo's other file
        # trained on a fine-tune the registry does not know: the weights alone no longer name SDXL base
        (
            {
                "ss_sd_model_name": "ponyDiffusionV6XL_v6StartWithThisOne.safetensors",
                "ss_base_model_version": "sdxl_base_v1-0",
                "modelspec.architecture": "stable-diffusion-xl-v1-base/lora",
            },
            "unchecked",
            None,
        ),
    ],
)
def test_architecture_fields_name_a_family_and_unknown_checkpoints_block_the_weights(metadata, status, written):
    shapes = {
        "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k": (640, 2048),
        "unet.down_blocks.2.attentions.0.transformer_blocks.9.attn2.to_k": (1280, 2048),
    }
    r = classify(shapes, metadata=metadata)
    assert r.family == "sdxl" and (r.base_model["status"], r.base_model["id"]) == (status, written), r.base_model


def test_a_flux_lora_that_trained_t5_is_flux_and_t5_adapters_stay_t5():
    """FLUX's (and SD3's) second text encoder is a T5: its keys once outnumbered the transformer's and made a FLUX
    LoRA a T5 model; a T5 adapter of its own is still T5."""
    flux = {f"transformer.double_blocks.{i}.img_attn.qkv": (9216, 3072) for i in range(2)}
    t5 = {f"text_encoder_2.encoder.block.{i}.layer.0.SelfAttention.{p}": (4096, 4096) for i in range(24) for p in "qv"}
    assert classify({**flux, **t5}).family == "flux"
    r = classify({f"encoder.block.{i}.layer.0.SelfAttention.{p}": (768, 768) for i in range(12) for p in "qv"})
    assert r.family == "t5" and r.root == "google/flan-t5-base"


@pytest.mark.parametrize(
    "declared, written",
    [
        # a local copy named after its root: once "a local path, not a claim", or written as the Hub id "models/…"
        ("/content/drive/MyDrive/stable-diffusion-v1-5", "stable-diffusion-v1-5/stable-diffusion-v1-5"),
        ("models/stable-diffusion-v1-5", "stable-diffusion-v1-5/stable-diffusion-v1-5"),
        ("stable-diffusion-v1-5", "stable-diffusion-v1-5/stable-diffusion-v1-5"),  # the repo name without its org
        ("runwayml/stable-diffusion-v1-5", "runwayml/stable-diffusion-v1-5"),  # as before: the spelling used
        ("/content/my-sd-finetune", None),  # a local folder of no known name: still no claim
    ],
)
def test_local_copies_and_bare_repo_names_of_a_root(declared, written):
    shapes = {"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)}
    r = classify(shapes, config={"base_model_name_or_path": declared})
    assert r.base_model["id"] == written, r.base_model


def test_a_flux_architecture_field_is_not_a_hub_id():
    shapes = {f"transformer.double_blocks.{i}.img_attn.qkv": (9216, 3072) for i in range(19)}
    for arch in ("flux-1-dev/lora", "flux-1-schnell/lora", "flux-1-dev"):
        r = classify(shapes, metadata={"modelspec.architecture": arch})
        assert r.family == "flux" and r.base_model["id"] is None and not r.conflicts, (arch, r.base_model)


def test_flux_transformer():
    from diffusers import FluxTransformer2DModel

    with torch.device("meta"):  # FLUX.1-dev's config, fewer blocks (names and widths are what matter)
        model = FluxTransformer2DModel(
            in_channels=64,
            num_layers=2,
            num_single_layers=3,
            attention_head_dim=128,
            num_attention_heads=24,
            joint_attention_dim=4096,
            pooled_projection_dim=768,
            guidance_embeds=True,
        )
    r = classify(module_shapes(model))
    assert r.family == "flux"
    assert {c["id"] for c in r.candidates} >= {"black-forest-labs/FLUX.1-dev", "black-forest-labs/FLUX.1-schnell"}


def _sd3_medium_lora() -> dict:
    """A LoRA on SD3 Medium's joint attention, at its published sizes (diffusers' SD3Transformer2DModel, meta)."""
    from diffusers import SD3Transformer2DModel

    with torch.device("meta"):
        model = SD3Transformer2DModel(
            sample_size=128,
            patch_size=2,
            in_channels=16,
            num_layers=24,
            attention_head_dim=64,
            num_attention_heads=24,
            joint_attention_dim=4096,
            caption_projection_dim=1536,
            pooled_projection_dim=2048,
            out_channels=16,
        )
    return lora_like(module_shapes(model), "to_q", "to_k", "to_v", "add_q_proj", prefix="transformer.")


def test_sd3_medium_transformer():
    r = classify(_sd3_medium_lora())
    assert r.family == "sd3" and r.root != "stabilityai/stable-diffusion-3.5-large"


def test_sd35_medium_is_told_from_sd3_medium_by_its_second_self_attention(tmp_path):
    """SD 3.5 Medium (MMDiT-X) has SD3 Medium's joint-attention shapes and adds a self-attention (`attn2`; sgm's
    `x_block.attn2.qkv`) to its first 13 blocks. Before, a LoRA on it, attn2 included, led with SD3 Medium (0.6 to
    0.3), and so did its full checkpoint; a full SD3 Medium checkpoint, which holds no attn2, fitted both."""
    from diffusers import SD3Transformer2DModel

    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    def build(**extra):
        config = dict(num_layers=24, attention_head_dim=64, num_attention_heads=24, joint_attention_dim=4096,
                      caption_projection_dim=1536, pooled_projection_dim=2048, out_channels=16)  # fmt: skip
        with torch.device("meta"):
            return SD3Transformer2DModel(**config, **extra)

    medium35 = module_shapes(build(dual_attention_layers=tuple(range(13)), qk_norm="rms_norm"))
    lora = classify(lora_like(medium35, "to_q", "to_k", "to_v", "add_q_proj", prefix="transformer."))
    assert lora.family == "sd3" and [c["id"] for c in lora.candidates] == ["stabilityai/stable-diffusion-3.5-medium"]
    assert lora.base_model["id"] == "stabilityai/stable-diffusion-3.5-medium"
    sgm = {f"lora_unet_joint_blocks_{i}_x_block_attn2_qkv": (3 * 1536, 1536) for i in range(13)}
    assert classify(sgm).root == "stabilityai/stable-diffusion-3.5-medium"
    # a full checkpoint holds every layer of its model: one without attn2 is not SD 3.5 Medium
    tensors = {k: ("BF16", tuple(v.shape)) for k, v in build().state_dict().items()}
    write_header(tmp_path / "diffusion_pytorch_model.safetensors", tensors, data=False)
    report = inspect_source(str(tmp_path))
    assert [c["id"] for c in report["root"]["candidates"]] == ["stabilityai/stable-diffusion-3-medium-diffusers"]


def test_a_sd3_medium_lora_s_checkpoint_hash_tells_sd3_from_sd35_medium():
    """SD3 Medium and SD 3.5 Medium share the joint attention's shapes, which is all a LoRA on it adapts; kohya's
    `ss_new_sd_model_hash` (the SHA-256 of the checkpoint it trained on) names which (roots.json's `hashes`)."""
    lora = _sd3_medium_lora()
    for digest, root in (
        (
            "cc236278d28c8c3eccb8e21ee0a67ebed7dd6e9ce40aa9de914fa34e8282f191",
            "stabilityai/stable-diffusion-3-medium-diffusers",
        ),
        ("11fe06e22364b823dfeedc275912336b932b32a293a0b2f35ffac071990cc4de", "stabilityai/stable-diffusion-3.5-medium"),
    ):
        r = classify(lora, metadata={"ss_sd_model_name": "model.safetensors", "ss_new_sd_model_hash": digest})
        assert r.family == "sd3" and r.root == root and r.base_model["status"] == "declared", digest

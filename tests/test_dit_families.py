"""LoRAs of the diffusion transformers most LoRAs on the Hub are trained on since 2025: Wan 2.x, Qwen-Image,
HunyuanVideo (and Chroma, a FLUX.1-schnell derivative). Each transformer is built by diffusers on the meta device
from its published configuration, its LoRA by peft, and the file written header-only as trainers save them.

Before these families: a Wan or Qwen-Image LoRA had no family (its declared base_model went unwritten), a Qwen-Image
LoRA with its joint-attention layers was read as FLUX or SD3, a HunyuanVideo LoRA as FLUX (0.30), Wan's own names in
ComfyUI's `.lora_down` layout as a full checkpoint of twice as many modules, and musubi-tuner's `lora_unet_blocks_…`
as Stable Diffusion.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.formats import open_weights
from hfprobe.tree.inspect import inspect_source
from tests.builders import diffusers_header, diffusers_lora_header, write_header

torch.set_num_threads(1)

# published transformer configs (the diffusers repos' transformer/config.json), the parts that set shapes
CONFIGS = {
    "wan-14b": (
        "WanTransformer3DModel",
        dict(num_attention_heads=40, attention_head_dim=128, ffn_dim=13824, num_layers=40, text_dim=4096),
    ),
    "wan-1.3b": (
        "WanTransformer3DModel",
        dict(num_attention_heads=12, attention_head_dim=128, ffn_dim=8960, num_layers=30, text_dim=4096),
    ),
    "qwen-image": (
        "QwenImageTransformer2DModel",
        dict(num_layers=60, attention_head_dim=128, num_attention_heads=24, joint_attention_dim=3584, in_channels=64),
    ),
    "hunyuan-video": (
        "HunyuanVideoTransformer3DModel",
        dict(num_attention_heads=24, attention_head_dim=128, num_layers=20, num_single_layers=40, text_embed_dim=4096),
    ),
    "chroma": ("ChromaTransformer2DModel", {}),
    "flux2": ("Flux2Transformer2DModel", {}),  # diffusers' defaults are FLUX.2-dev's published config
    "flux2-klein-4b": (
        "Flux2Transformer2DModel",
        dict(
            num_layers=5, num_single_layers=20, num_attention_heads=24, joint_attention_dim=7680, guidance_embeds=False
        ),
    ),
    "flux2-klein-9b": (
        "Flux2Transformer2DModel",
        dict(
            num_layers=8, num_single_layers=24, num_attention_heads=32, joint_attention_dim=12288, guidance_embeds=False
        ),
    ),
    "zimage": ("ZImageTransformer2DModel", {}),  # ... and Z-Image-Turbo's
    "hunyuan-video-1.5": ("HunyuanVideo15Transformer3DModel", {}),  # ... and HunyuanVideo 1.5's
    "ltx2": ("LTX2VideoTransformer3DModel", {}),  # ... and LTX-2 19B's
    "ltxv-2b": ("LTXVideoTransformer3DModel", {}),  # ... and LTX-Video 2B's
    "hidream": (  # diffusers' conversion script's configuration of HiDream-I1
        "HiDreamImageTransformer2DModel",
        dict(
            patch_size=2,
            in_channels=16,
            out_channels=16,
            num_layers=16,
            num_single_layers=32,
            attention_head_dim=128,
            num_attention_heads=20,
            caption_channels=[4096, 4096],
            text_emb_dim=2048,
            num_routed_experts=4,
            num_activated_experts=2,
            axes_dims_rope=(64, 32, 32),
            max_resolution=(128, 128),
            llama_layers=list(range(32)) + [31] * 16,
        ),
    ),
    "ltxv-13b": (
        "LTXVideoTransformer3DModel",
        dict(num_attention_heads=32, attention_head_dim=128, cross_attention_dim=4096, num_layers=48),
    ),
    "auraflow": ("AuraFlowTransformer2DModel", {}),  # ... and AuraFlow's (4 joint, 32 single blocks)
}
ATTENTION = ["to_q", "to_k", "to_v", "to_out.0"]


def lora_shapes(name: str, targets: list[str]) -> dict[str, tuple]:
    """{key: (dtype, shape)} of a rank-16 PEFT LoRA on the transformer, keys as diffusers saves them."""
    return diffusers_lora_header(*CONFIGS[name], targets)


def report(tmp_path, tensors: dict, card: str | None = None, name: str = "lora.safetensors") -> dict:
    write_header(tmp_path / name, tensors, data=False)
    if card is not None:
        (tmp_path / "README.md").write_text(f"---\nbase_model: {card}\ntags: [lora]\n---\n# a LoRA\n")
    return inspect_source(str(tmp_path))


@pytest.fixture(scope="module")
def wan14():
    return lora_shapes("wan-14b", [*ATTENTION, "ffn.net.0.proj", "ffn.net.2"])


def test_a_wan_lora_gets_its_family_and_its_declared_base(wan14, tmp_path):
    declared = report(tmp_path / "a", wan14, "Wan-AI/Wan2.1-T2V-14B-Diffusers")
    assert declared["family"] == "wan" and declared["family_confidence"] == 1.0 and not declared["conflicts"]
    assert declared["base_model"]["id"] == "Wan-AI/Wan2.1-T2V-14B-Diffusers"
    # attention alone, as most Wan LoRAs are: `transformer.blocks.N.attn1.to_q` normalizes to what PixArt's, LTX's and
    # CogVideoX's unprefixed `transformer_blocks.N.attn1.to_q` do, so the rule reads the key as the file spells it
    # (the family was 0.5 from Wan's sizes alone, 0.8 beside a declared Wan root)
    attention = {k: v for k, v in wan14.items() if ".ffn." not in k}
    alone = report(tmp_path / "d", attention, "Wan-AI/Wan2.1-T2V-14B-Diffusers")
    assert alone["family"] == "wan" and alone["family_confidence"] == 1.0
    assert alone["base_model"]["id"] == "Wan-AI/Wan2.1-T2V-14B-Diffusers"
    undeclared = report(tmp_path / "e", attention)
    assert undeclared["family"] == "wan" and undeclared["family_confidence"] == 1.0
    assert "diffusers' names" in undeclared["root"]["evidence"][0]
    bare = report(tmp_path / "b", wan14)  # Wan 2.1 T2V, I2V and 2.2 A14B share every shape a LoRA touches
    assert bare["family"] == "wan" and bare["base_model"]["status"] == "ambiguous"
    assert {"Wan-AI/Wan2.1-T2V-14B", "Wan-AI/Wan2.2-T2V-A14B"} <= {c["id"] for c in bare["root"]["candidates"]}
    small = report(tmp_path / "c", lora_shapes("wan-1.3b", ATTENTION), "Wan-AI/Wan2.1-T2V-14B")
    assert small["root"]["id"] == "Wan-AI/Wan2.1-T2V-1.3B" and small["conflict_codes"] == ["card-base-model-shapes"]


def wan_native(layout: str, blocks: int = 40, dim: int = 5120, ffn: int = 13824, r: int = 16) -> dict:
    """A Wan LoRA in Wan's own module names, as DiffSynth (`diffusion_model.…lora_A`), ComfyUI
    (`diffusion_model.…lora_down` with `.alpha`) and musubi-tuner (`lora_unet_blocks_0_self_attn_q…`) save it."""
    out = {}
    for i in range(blocks):
        for module in ("self_attn.q", "self_attn.k", "self_attn.v", "self_attn.o", "cross_attn.q", "cross_attn.k"):
            down, up = ("lora_A", "lora_B") if layout == "diffsynth" else ("lora_down", "lora_up")
            name = f"diffusion_model.blocks.{i}.{module}"
            if layout == "musubi":
                name = f"lora_unet_blocks_{i}_{module.replace('.', '_')}"
            out[f"{name}.{down}.weight"] = ("BF16", (r, dim))
            out[f"{name}.{up}.weight"] = ("BF16", (dim, r))
            if layout != "diffsynth":
                out[f"{name}.alpha"] = ("BF16", ())
        out[f"diffusion_model.blocks.{i}.ffn.0.{'lora_A' if layout == 'diffsynth' else 'lora_down'}.weight"] = (
            "BF16",
            (r, dim),
        )
        out[f"diffusion_model.blocks.{i}.ffn.0.{'lora_B' if layout == 'diffsynth' else 'lora_up'}.weight"] = (
            "BF16",
            (ffn, r),
        )
    if layout == "musubi":
        out = {k.replace("diffusion_model.blocks.", "lora_unet_blocks_").replace(".ffn.0.", "_ffn_0."): v
               for k, v in out.items()}  # fmt: skip
    return out


@pytest.mark.parametrize("layout, fmt", [("diffsynth", "diffusers-lora"), ("comfy", "kohya"), ("musubi", "kohya")])
def test_wans_own_names_in_every_trainer_layout(layout, fmt, tmp_path):
    r = report(tmp_path, wan_native(layout))
    assert r["format"] == fmt and r["modules"] == 40 * 7, r["format"]  # never a full checkpoint of 2x the modules
    assert r["family"] == "wan" and r["root"]["id"].startswith("Wan-AI/Wan2"), r["root"]["evidence"]


def test_comfy_lora_down_alphas_are_read(tmp_path):
    """ComfyUI's dotted `.lora_down` layout keeps its `.alpha` per module, as kohya's does."""
    from safetensors.torch import save_file

    tensors = {
        "diffusion_model.blocks.0.self_attn.q.lora_down.weight": torch.randn(4, 64),
        "diffusion_model.blocks.0.self_attn.q.lora_up.weight": torch.randn(64, 4),
        "diffusion_model.blocks.0.self_attn.q.alpha": torch.tensor(8.0),
    }
    save_file(tensors, str(tmp_path / "lora.safetensors"))
    with open_weights(str(tmp_path / "lora.safetensors")) as view:
        assert view.format == "kohya" and len(view.modules) == 1
        (name,) = view.modules
        up, down = tensors["diffusion_model.blocks.0.self_attn.q.lora_up.weight"], tensors[next(iter(tensors))]
        assert torch.allclose(view.layer(name, scaled=True), up @ down * 8.0 / 4, atol=1e-5)


def test_a_qwen_image_lora_is_not_read_as_flux(tmp_path):
    """ai-toolkit's default targets include the joint attention's add_*_proj (FLUX's and SD3's names too) and the
    img/txt MLPs; 60 blocks rule out FLUX's 19."""
    targets = [*ATTENTION, "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out", "img_mlp.net.0.proj"]
    shapes = lora_shapes("qwen-image", targets)
    r = report(tmp_path / "a", shapes, "Qwen/Qwen-Image")
    assert r["family"] == "qwen_image" and r["base_model"]["id"] == "Qwen/Qwen-Image" and not r["conflicts"]
    edit = report(tmp_path / "b", shapes, "Qwen/Qwen-Image-Edit")
    assert edit["base_model"]["id"] == "Qwen/Qwen-Image-Edit" and edit["family"] == "qwen_image"


@pytest.mark.parametrize("declared", ["Qwen/Qwen-Image-Edit-2511", "Qwen/Qwen-Image-2512"])
def test_qwen_image_s_later_releases_are_roots(declared, tmp_path):
    """Qwen-Image's December 2025 releases were written as their cards declare but unchecked, the LoRA's root left at
    Qwen-Image and its family at 0.5; they are roots of Qwen-Image's tree now, checked by every shape."""
    r = report(tmp_path, lora_shapes("qwen-image", ATTENTION), declared)
    assert (r["root"]["id"], r["base_model"]["id"], r["family_confidence"]) == (declared, declared, 0.8)
    assert r["root"]["tree"]["id"] == "Qwen/Qwen-Image" and not r["conflicts"]


def test_a_hunyuan_video_lora_is_not_read_as_flux(tmp_path):
    shapes = lora_shapes("hunyuan-video", ATTENTION)
    r = report(tmp_path, shapes, "hunyuanvideo-community/HunyuanVideo")
    assert r["family"] == "hunyuan_video" and r["family_confidence"] == 1.0 and not r["conflicts"]
    assert r["base_model"]["id"] == "hunyuanvideo-community/HunyuanVideo"


def test_a_chroma_lora_is_a_flux_schnell_derivative(tmp_path):
    r = report(tmp_path, lora_shapes("chroma", ATTENTION), "lodestones/Chroma")
    assert r["family"] == "flux" and r["base_model"]["id"] == "lodestones/Chroma" and not r["conflicts"]


def test_musubi_kohya_names_of_a_qwen_image_lora(tmp_path):
    """musubi-tuner writes kohya's flattened names for every model it trains (`lora_unet_transformer_blocks_0_…`):
    `lora_unet_` no longer means Stable Diffusion (this file was once read as SD 1.x)."""
    tensors = {}
    for i in range(60):
        for module, shape in (("attn_add_q_proj", (3072, 3072)), ("img_mlp_net_0_proj", (12288, 3072))):
            tensors[f"lora_unet_transformer_blocks_{i}_{module}.lora_down.weight"] = ("BF16", (16, shape[1]))
            tensors[f"lora_unet_transformer_blocks_{i}_{module}.lora_up.weight"] = ("BF16", (shape[0], 16))
            tensors[f"lora_unet_transformer_blocks_{i}_{module}.alpha"] = ("BF16", ())
    r = report(tmp_path, tensors)
    assert r["format"] == "kohya" and r["family"] == "qwen_image" and r["root"]["id"] == "Qwen/Qwen-Image"


def test_a_flux2_lora_is_flux2_not_flux1(tmp_path):
    """FLUX.2 keeps FLUX.1's block names at twice the width (6144) with fused single-block projections: its
    LoRAs had family flux at 0.30 and no root, and a declared FLUX.2-dev went unchecked."""
    targets = [*ATTENTION, "add_q_proj", "add_k_proj", "add_v_proj", "to_qkv_mlp_proj", "linear_in", "linear_out"]
    shapes = lora_shapes("flux2", targets)
    bare = report(tmp_path / "a", shapes)
    assert bare["family"] == "flux2" and bare["family_confidence"] == 1.0
    assert bare["root"]["id"] == "black-forest-labs/FLUX.2-dev" and bare["base_model"]["status"] == "weights"
    declared = report(tmp_path / "b", lora_shapes("flux2", ATTENTION), "black-forest-labs/FLUX.2-dev")
    assert declared["family"] == "flux2" and declared["base_model"]["id"] == "black-forest-labs/FLUX.2-dev"
    flux1 = report(tmp_path / "c", lora_shapes("chroma", ATTENTION), "black-forest-labs/FLUX.2-dev")
    assert flux1["family"] == "flux" and flux1["base_model"]["id"] is None and flux1["conflicts"]


@pytest.mark.parametrize("size", ["4B", "9B"])
def test_a_flux2_klein_lora_is_placed_among_its_size_s_releases(size, tmp_path):
    """FLUX.2 [klein] (January 2026) had no root: its LoRAs were FLUX.2 with none, and a declared klein model went
    unchecked. Its undistilled base and step-distilled release share every shape; a declared one is written, a klein
    declared on FLUX.2-dev's layers is not."""
    targets = [*ATTENTION, "add_q_proj", "add_k_proj", "add_v_proj", "to_qkv_mlp_proj"]
    shapes = lora_shapes(f"flux2-klein-{size.lower()}", targets)
    bare = report(tmp_path / "a", shapes)
    releases = {f"black-forest-labs/FLUX.2-klein-{size}", f"black-forest-labs/FLUX.2-klein-base-{size}"}
    assert bare["family"] == "flux2" and {c["id"] for c in bare["root"]["candidates"]} == releases
    assert (
        bare["base_model"]["id"] is None and bare["root"]["tree"]["id"] == f"black-forest-labs/FLUX.2-klein-base-{size}"
    )
    declared = report(tmp_path / "b", shapes, f"black-forest-labs/FLUX.2-klein-base-{size}")
    assert declared["base_model"]["id"] == f"black-forest-labs/FLUX.2-klein-base-{size}" and not declared["conflicts"]
    dev = report(tmp_path / "c", lora_shapes("flux2", ATTENTION), f"black-forest-labs/FLUX.2-klein-{size}")
    assert dev["base_model"]["id"] is None and dev["conflict_codes"] == ["card-base-model-shapes"]


def test_a_flux1_lora_on_a_few_blocks_is_no_flux2_klein(tmp_path):
    """FLUX.2 [klein] 4B has FLUX.1's width (24 heads of 128) in fewer blocks: a FLUX.1 LoRA on its first blocks fits
    its sizes, but FLUX.1's unfused single-block attention (`single_transformer_blocks.N.attn.to_q`) is no FLUX.2's
    (`excludes`), which fuses it into `attn.to_qkv_mlp_proj`."""
    import diffusers
    import peft

    with torch.device("meta"):  # FLUX.1-dev's widths, two blocks of each kind
        model = diffusers.FluxTransformer2DModel(num_layers=2, num_single_layers=2, guidance_embeds=True)
    lora = peft.get_peft_model(model, peft.LoraConfig(r=16, target_modules=ATTENTION))
    tensors = {"transformer." + k.removeprefix("base_model.model."): ("BF16", tuple(v.shape))
               for k, v in peft.get_peft_model_state_dict(lora).items()}  # fmt: skip
    r = report(tmp_path, tensors)
    assert r["family"] == "flux" and not any("klein" in c["id"] for c in r["root"]["candidates"])


def test_a_z_image_lora_gets_its_family_and_its_declared_base(tmp_path):
    """Z-Image (single-stream blocks `layers.N.attention.to_q`, noise and context refiners) had no family: its
    LoRAs, the most trained of late 2025, were unknown and their declared base went unwritten."""
    shapes = lora_shapes("zimage", [*ATTENTION, "w1", "w2", "w3"])
    bare = report(tmp_path / "a", shapes)
    assert bare["family"] == "zimage" and bare["root"]["id"] == "Tongyi-MAI/Z-Image-Turbo"
    declared = report(tmp_path / "b", lora_shapes("zimage", ATTENTION), "Tongyi-MAI/Z-Image-Turbo")
    assert declared["base_model"]["id"] == "Tongyi-MAI/Z-Image-Turbo" and not declared["conflicts"]
    wrong = report(tmp_path / "c", shapes, "black-forest-labs/FLUX.1-dev")
    assert wrong["family"] == "zimage" and wrong["base_model"]["id"] is None and wrong["conflicts"]


def test_a_z_image_lora_in_fused_nextdit_names_is_placed_by_its_sizes(tmp_path):
    """ComfyUI keeps the original NextDiT names (`layers.N.attention.qkv` / `.out`), which Lumina 2 shares: no
    name rule, so the sizes alone place it (0.5), and a declared Z-Image-Turbo that fits them all makes it 0.8."""
    tensors = {}
    for i in range(30):
        for module, (out, inp) in (("attention.qkv", (11520, 3840)), ("attention.out", (3840, 3840))):
            tensors[f"diffusion_model.layers.{i}.{module}.lora_A.weight"] = ("BF16", (16, inp))
            tensors[f"diffusion_model.layers.{i}.{module}.lora_B.weight"] = ("BF16", (out, 16))
    bare = report(tmp_path / "a", tensors)
    assert bare["family"] == "zimage" and bare["family_confidence"] == 0.5 and bare["base_model"]["id"] is None
    declared = report(tmp_path / "b", tensors, "Tongyi-MAI/Z-Image-Turbo")
    assert declared["family_confidence"] == 0.8 and declared["base_model"]["id"] == "Tongyi-MAI/Z-Image-Turbo"


def test_a_z_image_lora_on_its_feed_forward_in_comfyui_names_is_z_image(tmp_path):
    """Z-Image's `feed_forward.w1/w2/w3` are Meta's Llama names: a LoRA on them and on the fused attention, in the
    names ComfyUI keeps, was Llama at 0.3 with no root; Z-Image is among that name rule's families now, and its
    sizes pick it."""
    from tests.single_file import original_z_image

    tensors = {}
    for key, shape in original_z_image().items():
        if key.startswith("layers.") and key.endswith((".attention.qkv.weight", ".feed_forward.w1.weight")):
            (out, inp), module = shape, "diffusion_model." + key.removesuffix(".weight")
            tensors[f"{module}.lora_A.weight"], tensors[f"{module}.lora_B.weight"] = (
                ("BF16", (16, inp)),
                ("BF16", (out, 16)),
            )
    got = report(tmp_path, tensors)
    assert (got["family"], got["root"]["id"]) == ("zimage", "Tongyi-MAI/Z-Image-Turbo")


def test_a_hunyuan_video_15_lora_is_not_read_as_hunyuan_video_1(tmp_path):
    """HunyuanVideo 1.5 keeps HunyuanVideo's names (joint attention, token refiner) at 2048 wide with 54
    double-stream blocks: without its root a LoRA had the family and no root, and a declared 1.5 went unchecked."""
    shapes = lora_shapes("hunyuan-video-1.5", [*ATTENTION, "add_q_proj", "add_k_proj", "add_v_proj"])
    bare = report(tmp_path / "a", shapes)
    assert bare["family"] == "hunyuan_video" and bare["root"]["id"] == "tencent/HunyuanVideo-1.5"
    declared = report(tmp_path / "b", shapes, "tencent/HunyuanVideo-1.5")
    assert declared["base_model"]["id"] == "tencent/HunyuanVideo-1.5" and not declared["conflicts"]
    wrong = report(tmp_path / "c", shapes, "hunyuanvideo-community/HunyuanVideo")
    assert wrong["base_model"]["id"] is None and wrong["conflicts"]


@pytest.mark.parametrize("name", ["wan-1.3b", "qwen-image", "zimage"])
def test_a_dit_checkpoint_without_its_config_is_a_diffusers_checkpoint(name, tmp_path):
    """`diffusion_pytorch_model.safetensors` of a DiT alone (downloaded without its config.json) was labelled a
    transformers checkpoint, its modules left unprefixed; its top-level modules say what it is, as a UNet's did."""
    tensors = diffusers_header(*CONFIGS[name])
    write_header(tmp_path / "diffusion_pytorch_model.safetensors", tensors, data=False)
    view = open_weights(str(tmp_path))
    assert view.format == "diffusers-checkpoint" and all(n.startswith("transformer.") for n in view.modules)
    assert inspect_source(str(tmp_path))["family"] == {"wan-1.3b": "wan", "qwen-image": "qwen_image"}.get(name, name)


def test_an_ltx2_lora_is_ltx2_by_its_audio_stream(tmp_path):
    """LTX-2 LoRAs (its trainer adapts every attention, the audio stream's too) had no family; a LoRA of its video
    attention alone has no name of LTX-2's own, so its sizes alone place it, unsure, and write no base_model."""
    audio = lora_shapes("ltx2", ATTENTION)
    r = report(tmp_path / "a", audio, "Lightricks/LTX-2")
    assert (r["family"], r["root"]["id"], r["base_model"]["id"]) == ("ltx2", "Lightricks/LTX-2", "Lightricks/LTX-2")
    comfy = {k.replace("transformer.", "diffusion_model.", 1): v for k, v in audio.items()}  # ComfyUI's prefix
    assert report(tmp_path / "b", comfy)["root"]["id"] == "Lightricks/LTX-2"
    video = lora_shapes("ltx2", [f"attn{i}.{t}" for i in (1, 2) for t in ATTENTION])
    assert video and not any("audio" in k for k in video)
    r = report(tmp_path / "c", video)
    assert (r["family"], r["family_confidence"], r["base_model"]["id"]) == ("ltx2", 0.5, None)


def ltx_own_names(model) -> dict[str, tuple]:
    """{key: (dtype, shape)} of an LTX transformer as Lightricks' own checkpoints name it: `model.diffusion_model.`,
    and the names diffusers' converter maps to its own (`patchify_proj` to `proj_in`, `adaln_single` to `time_embed`,
    `q_norm` to `norm_q`)."""
    renames = [
        ("proj_in", "patchify_proj"),
        ("norm_q", "q_norm"),
        ("norm_k", "k_norm"),
        ("time_embed.", "adaln_single."),
    ]
    tensors = {}
    for key, value in model.state_dict().items():
        for new, old in renames:
            key = key.replace(new, old)
        tensors["model.diffusion_model." + key] = ("BF16", tuple(value.shape))
    return tensors


def test_an_ltx_video_lora_is_ltx_video(tmp_path):
    """LTX-Video 0.9 LoRAs had no family, and a declared `Lightricks/LTX-Video` went unwritten. Its 2B releases share
    every shape, so the weights leave them open; a declared one is written, a 13B declared on 2B layers is not. Its
    13B has every size of LTX-2's video stream: attention alone leaves both families open."""
    small = lora_shapes("ltxv-2b", ATTENTION)
    r = report(tmp_path / "a", small)
    assert r["family"] == "ltxv" and r["base_model"]["id"] is None
    assert {c["id"] for c in r["root"]["candidates"]} == {
        "Lightricks/LTX-Video",
        "Lightricks/LTX-Video-0.9.1",
        "Lightricks/LTX-Video-0.9.5",
    }
    declared = report(tmp_path / "b", small, "Lightricks/LTX-Video-0.9.5")
    assert declared["family"] == "ltxv" and declared["base_model"]["id"] == "Lightricks/LTX-Video-0.9.5"
    wrong = report(tmp_path / "c", small, "Lightricks/LTX-Video-0.9.7-dev")
    assert wrong["base_model"]["id"] is None and wrong["conflict_codes"] == ["card-base-model-shapes"]
    large = lora_shapes("ltxv-13b", ATTENTION)
    r = report(tmp_path / "d", large)
    assert {"Lightricks/LTX-Video-0.9.7-dev", "Lightricks/LTX-2"} <= {c["id"] for c in r["root"]["candidates"]}
    assert r["family_confidence"] < 0.9 and r["base_model"]["id"] is None
    declared = report(tmp_path / "e", large, "Lightricks/LTX-Video-0.9.7-dev")
    assert (declared["family"], declared["base_model"]["id"]) == ("ltxv", "Lightricks/LTX-Video-0.9.7-dev")
    later = report(tmp_path / "f", large, "Lightricks/LTX-Video-0.9.8-dev")  # a release the registry lacks
    assert later["family"] == "ltxv" and not later["conflicts"]


def test_ltx_video_s_own_single_file_is_ltx_video_not_ltx2(tmp_path):
    """`ltxv-13b-0.9.7-dev.safetensors` in LTX-Video's own names: its T5 text projection (4096 wide) is no LTX-2's."""
    import diffusers

    cls, config = CONFIGS["ltxv-13b"]
    with torch.device("meta"):
        model = getattr(diffusers, cls)(**config)
    r = report(tmp_path, ltx_own_names(model), name="ltxv-13b-0.9.7-dev.safetensors")
    assert (r["family"], r["family_confidence"]) == ("ltxv", 1.0)
    assert r["root"]["id"] == "Lightricks/LTX-Video-0.9.7-dev"  # (its distilled tune shares every shape)


def test_a_hidream_lora_is_hidream(tmp_path):
    """HiDream-I1 (`double_stream_blocks.N.block.attn1.to_q`, a mixture of experts in every MLP) had no family: its
    LoRAs were unknown, a declared HiDream-I1 unwritten. Its Dev and Fast are distilled from Full: every shape is
    theirs too."""
    shapes = lora_shapes("hidream", [*ATTENTION[:3], "to_out", "to_q_t", "to_k_t", "to_v_t", "to_out_t", "w1", "w2"])
    bare = report(tmp_path / "a", shapes)
    assert (bare["family"], bare["family_confidence"], bare["base_model"]["id"]) == ("hidream", 1.0, None)
    assert {c["id"] for c in bare["root"]["candidates"]} == {
        f"HiDream-ai/HiDream-I1-{v}" for v in ("Full", "Dev", "Fast")
    }
    declared = report(tmp_path / "b", shapes, "HiDream-ai/HiDream-I1-Dev")
    assert declared["base_model"]["id"] == "HiDream-ai/HiDream-I1-Dev" and not declared["conflicts"]
    comfy = {k.replace("transformer.", "diffusion_model.", 1): v for k, v in shapes.items()}  # ComfyUI's prefix
    assert report(tmp_path / "c", comfy)["family"] == "hidream"
    wrong = report(tmp_path / "d", shapes, "black-forest-labs/FLUX.1-dev")
    assert wrong["family"] == "hidream" and wrong["base_model"]["id"] is None and wrong["conflicts"]


@pytest.mark.parametrize(
    "name, declared, root",
    [
        ("hidream", "HiDream-ai/HiDream-E1-Full", "HiDream-ai/HiDream-I1-Full"),  # editing models built on I1-Full
        ("hidream", "HiDream-ai/HiDream-E1-1", "HiDream-ai/HiDream-I1-Full"),
        ("ltxv-13b", "Lightricks/LTX-Video-0.9.8-13B-distilled", "Lightricks/LTX-Video-0.9.8-13B-distilled"),
    ],
)
def test_later_releases_a_lora_declares_are_checked_by_their_shapes(name, declared, root, tmp_path):
    """HiDream-E1 (I1-Full's transformer, loaded strictly) and LTX-Video 0.9.8 13B were names the registry lacked:
    written as declared with shapes unchecked, so a 2B LTX LoRA declaring the 13B release got it as its base."""
    shapes = lora_shapes(name, [*ATTENTION[:3], "to_out", "w1", "w2"] if name == "hidream" else ATTENTION)
    r = report(tmp_path / "a", shapes, declared)
    assert (r["base_model"]["id"], r["root"]["id"]) == (declared, root) and not r["conflicts"]
    if name == "ltxv-13b":
        small = report(tmp_path / "b", lora_shapes("ltxv-2b", ATTENTION), declared)
        assert small["base_model"]["id"] is None and small["conflicts"]


def test_a_config_s_class_and_the_sizes_agreeing_make_a_family_surer(tmp_path):
    """LTX-Video's diffusers checkpoint has no name of its own: its sizes alone place it, at 0.5. Its config.json's
    `_class_name` (the class diffusers builds) names the same family, and only that family's roots fit: two sources
    agree, as a declared root does (0.8)."""
    tensors = diffusers_header("LTXVideoTransformer3DModel", {})
    bare = report(tmp_path / "a", tensors, name="diffusion_pytorch_model.safetensors")
    assert (bare["family"], bare["family_confidence"]) == ("ltxv", 0.5)
    write_header(tmp_path / "b" / "diffusion_pytorch_model.safetensors", tensors, data=False)
    (tmp_path / "b" / "config.json").write_text('{"_class_name": "LTXVideoTransformer3DModel"}')
    r = inspect_source(str(tmp_path / "b"))
    assert (r["family"], r["family_confidence"]) == ("ltxv", 0.8)
    (tmp_path / "b" / "config.json").write_text('{"_class_name": "AllegroTransformer3DModel"}')
    assert inspect_source(str(tmp_path / "b"))["family_confidence"] == 0.5  # (a class the registry lacks)


def test_ltx2_s_own_single_file_is_ltx2(tmp_path):
    """The official `ltx-2-19b-dev.safetensors`: `model.diffusion_model.` with its own modulation names (diffusers'
    converter maps `patchify_proj` to `proj_in`, `adaln_single` to `time_embed`, `q_norm` to `norm_q`) and VAEs."""
    import diffusers

    with torch.device("meta"):
        model = diffusers.LTX2VideoTransformer3DModel()
    tensors = ltx_own_names(model)  # (`audio_patchify_proj`, `audio_adaln_single` too)
    tensors["vae.per_channel_statistics.mean-of-means"] = ("F32", (128,))
    r = report(tmp_path, tensors, name="ltx-2-19b-dev.safetensors")
    assert (r["format"], r["family"], r["root"]["id"]) == ("ldm-checkpoint", "ltx2", "Lightricks/LTX-2")


def test_an_auraflow_lora_and_checkpoint_are_auraflow(tmp_path):
    """AuraFlow (and Pony Diffusion V7, built on it) has FLUX.1's width and block kinds under names of its own
    (`joint_transformer_blocks`, `ff.out_projection`): its checkpoint without config.json was HunyuanVideo at 1.00,
    its LoRA FLUX.1 at 0.73."""

    lora = lora_shapes("auraflow", [*ATTENTION, "add_q_proj", "add_k_proj", "add_v_proj"])
    bare = report(tmp_path / "a", lora)
    assert bare["family"] == "auraflow" and bare["base_model"]["id"] is None  # three releases, one architecture
    assert {c["id"] for c in bare["root"]["candidates"]} == {"fal/AuraFlow", "fal/AuraFlow-v0.2", "fal/AuraFlow-v0.3"}
    assert report(tmp_path / "b", lora, "fal/AuraFlow-v0.3")["base_model"]["id"] == "fal/AuraFlow-v0.3"
    tensors = diffusers_header("AuraFlowTransformer2DModel", {})
    full = report(tmp_path / "c", tensors, name="diffusion_pytorch_model.safetensors")
    assert (full["format"], full["family"]) == ("diffusers-checkpoint", "auraflow")

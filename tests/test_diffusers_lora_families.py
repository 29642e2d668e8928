"""The bases diffusers' own LoRA loaders serve that the registry lacked: CogVideoX, CogView, Mochi 1, SANA, PixArt and
Lumina-Image 2.0. Each transformer is built by diffusers on the meta device in its published configuration (diffusers'
conversion scripts, the models' own configs), its LoRA by peft, and the file written header-only.

Before: their LoRAs had no family (a declared base went unwritten), their checkpoints were ViT at 0.3 (a
`patch_embed.proj`, or SANA's `blocks.N.attn.qkv`, read as timm's), Lumina 2's Z-Image at 0.3.
"""

from __future__ import annotations

import pytest

from hfprobe.tree.inspect import inspect_source
from tests.builders import diffusers_header, diffusers_lora_header, write_header

ATTENTION = ["to_q", "to_k", "to_v", "to_out.0"]
CONFIGS = {
    "cogvideox-2b": ("CogVideoXTransformer3DModel", {}),  # diffusers' defaults are CogVideoX-2b's config
    "cogvideox-5b": (
        "CogVideoXTransformer3DModel",
        dict(num_attention_heads=48, num_layers=42, use_rotary_positional_embeddings=True),
    ),
    "cogvideox-5b-i2v": (
        "CogVideoXTransformer3DModel",
        dict(num_attention_heads=48, num_layers=42, in_channels=32, use_rotary_positional_embeddings=True,
             use_learned_positional_embeddings=True),
    ),
    "cogvideox1.5-5b": (
        "CogVideoXTransformer3DModel",
        dict(num_attention_heads=48, num_layers=42, patch_size_t=2, patch_bias=False, sample_height=300,
             sample_width=300, sample_frames=81, use_rotary_positional_embeddings=True),
    ),
    "cogview4": (
        "CogView4Transformer2DModel",  # (the class's defaults are CogView3-Plus's sizes)
        dict(num_layers=28, attention_head_dim=128, num_attention_heads=32, text_embed_dim=4096),
    ),
    "mochi": ("MochiTransformer3DModel", {}),  # ... Mochi 1's
    "sana-1.6b": ("SanaTransformer2DModel", {}),  # ... SANA 1.6B's
    "sana-0.6b": (
        "SanaTransformer2DModel",
        dict(num_attention_heads=36, num_layers=28, num_cross_attention_heads=16, cross_attention_head_dim=72,
             cross_attention_dim=1152),
    ),
    "pixart-sigma": (
        "PixArtTransformer2DModel",
        dict(num_attention_heads=16, attention_head_dim=72, in_channels=4, out_channels=8, num_layers=28,
             cross_attention_dim=1152, caption_channels=4096, sample_size=128, use_additional_conditions=False),
    ),
    "lumina2": ("Lumina2Transformer2DModel", dict(cap_feat_dim=2304)),  # (the class's default caption width is 1024)
}  # fmt: skip


def lora(name: str, targets=ATTENTION) -> dict:
    return diffusers_lora_header(*CONFIGS[name], targets)


def report(tmp_path, tensors: dict, declared: str | None = None, name: str = "lora.safetensors", config=None) -> dict:
    write_header(tmp_path / name, tensors, data=False)
    if declared is not None:
        (tmp_path / "README.md").write_text(f"---\nbase_model: {declared}\ntags: [lora]\n---\n# a LoRA\n")
    if config is not None:
        (tmp_path / "config.json").write_text(f'{{"_class_name": "{config}"}}')
    return inspect_source(str(tmp_path))


def candidates(r: dict) -> list[str]:
    return [c["id"] for c in r["root"]["candidates"]]


def test_a_cogvideox_lora_is_cogvideox_and_its_sizes_tell_2b_from_5b(tmp_path):
    small = report(tmp_path / "a", lora("cogvideox-2b"))
    assert (small["family"], candidates(small)) == ("cogvideox", ["THUDM/CogVideoX-2b"])
    assert small["family_confidence"] == 0.5 and small["base_model"]["id"] is None  # sizes alone: no name of its own
    large = report(tmp_path / "b", lora("cogvideox-5b"))
    assert large["family"] == "cogvideox" and large["base_model"]["id"] is None
    assert {"THUDM/CogVideoX-5b", "THUDM/CogVideoX-5b-I2V", "THUDM/CogVideoX1.5-5B"} <= set(candidates(large))
    assert (
        report(tmp_path / "c", lora("cogvideox-5b"), "THUDM/CogVideoX-5b")["base_model"]["id"] == "THUDM/CogVideoX-5b"
    )
    # the organisation's new name on the Hub is an alias: written as the card spelled it
    renamed = report(tmp_path / "d", lora("cogvideox-5b"), "zai-org/CogVideoX-5b")
    assert renamed["base_model"]["id"] == "zai-org/CogVideoX-5b" and renamed["root"]["id"] == "THUDM/CogVideoX-5b"
    wrong = report(tmp_path / "e", lora("cogvideox-2b"), "THUDM/CogVideoX-5b")
    assert wrong["base_model"]["id"] is None and wrong["conflicts"]


@pytest.mark.parametrize(
    "name, root",
    [("cogvideox-5b-i2v", "THUDM/CogVideoX-5b-I2V"), ("cogvideox1.5-5b", "THUDM/CogVideoX1.5-5B")],
)
def test_cogvideox_checkpoints_tell_their_releases_apart(name, root, tmp_path):
    """The 5B releases share every block; their patch embedders do not (I2V takes twice the latent channels, 1.5
    patches two frames at once with a linear layer)."""
    full = report(tmp_path / "a", diffusers_header(*CONFIGS[name]), name="diffusion_pytorch_model.safetensors")
    assert (full["family"], candidates(full)) == ("cogvideox", [root])
    configured = report(
        tmp_path / "b", diffusers_header(*CONFIGS[name]), name="diffusion_pytorch_model.safetensors",
        config="CogVideoXTransformer3DModel",
    )  # fmt: skip
    assert (configured["family"], configured["family_confidence"]) == ("cogvideox", 0.8)


def test_a_mochi_lora_is_mochi_by_its_text_stream(tmp_path):
    """Mochi's text stream sits in the video's attention (`attn1.add_q_proj`, 1536 wide): a name of its own. Its
    attention alone has CogVideoX 5B's width, in 48 blocks to CogVideoX's 42."""
    joint = report(tmp_path / "a", lora("mochi", [*ATTENTION, "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out"]))
    assert (joint["family"], joint["family_confidence"]) == ("mochi", 1.0)
    assert joint["base_model"]["id"] == "genmo/mochi-1-preview"  # one release: the weights single it out
    alone = report(tmp_path / "b", lora("mochi"))
    assert alone["family"] == "mochi" and candidates(alone) == ["genmo/mochi-1-preview"]


def test_a_cogview4_lora_and_cogview3_plus_checkpoint_are_cogview(tmp_path):
    r = report(tmp_path / "a", lora("cogview4"), "THUDM/CogView4-6B")
    assert r["family"] == "cogview" and r["base_model"]["id"] == "THUDM/CogView4-6B" and not r["conflicts"]
    full = report(tmp_path / "b", diffusers_header("CogView3PlusTransformer2DModel", {}), name="model.safetensors")
    assert (full["family"], candidates(full)) == ("cogview", ["THUDM/CogView3-Plus-3B"])


def test_a_layer_a_family_never_has_rules_it_out_of_a_sizes_only_match(tmp_path):
    """Cosmos 1.0 (a family the registry lacks) has CogView4's width and `attn1` names, and a cross-attention `attn2`
    beside it that no CogView has: CogView is ruled out though no name rule placed any family (was ViT at 0.3, by
    `patch_embed.proj`)."""
    r = report(tmp_path, diffusers_header("CosmosTransformer3DModel", {}), name="diffusion_pytorch_model.safetensors")
    assert r["family"] is None and r["base_model"]["id"] is None


def sana_own_names(inner: int, blocks: int, ffn: int) -> dict:
    """SANA's own checkpoint (NVlabs' `Sana_1600M_1024px.pth` as safetensors): fused self-attention qkv, a
    cross-attention of PixArt's names, a convolutional feed-forward."""
    t = {
        "x_embedder.proj.weight": (inner, 32, 1, 1),
        "y_embedder.y_proj.fc1.weight": (inner, 2304),
        "y_embedder.y_proj.fc2.weight": (inner, inner),
        "t_block.1.weight": (6 * inner, inner),
        "final_layer.linear.weight": (32, inner),
    }
    for n in range(blocks):
        t |= {
            f"blocks.{n}.attn.qkv.weight": (3 * inner, inner),
            f"blocks.{n}.attn.proj.weight": (inner, inner),
            f"blocks.{n}.cross_attn.q_linear.weight": (inner, inner),
            f"blocks.{n}.cross_attn.kv_linear.weight": (2 * inner, inner),
            f"blocks.{n}.cross_attn.proj.weight": (inner, inner),
            f"blocks.{n}.mlp.inverted_conv.conv.weight": (2 * ffn, inner, 1, 1),
            f"blocks.{n}.mlp.depth_conv.conv.weight": (2 * ffn, 1, 3, 3),
            f"blocks.{n}.mlp.point_conv.conv.weight": (inner, ffn, 1, 1),
        }
    return {k: ("BF16", v) for k, v in t.items()}


def test_a_sana_lora_and_checkpoint_are_sana(tmp_path):
    """SANA's feed-forward is convolutional (`ff.conv_inverted`): a name of its own; its attention alone only sizes.
    Its own checkpoint's `blocks.N.attn.qkv` and `mlp` are timm's ViT names, and were read so."""
    ff = report(tmp_path / "a", lora("sana-1.6b", [*ATTENTION, "conv_inverted", "conv_point"]))
    assert (ff["family"], ff["family_confidence"]) == ("sana", 1.0)
    assert "Efficient-Large-Model/Sana_1600M_1024px_diffusers" in candidates(ff) and ff["base_model"]["id"] is None
    declared = report(tmp_path / "b", lora("sana-1.6b"), "Efficient-Large-Model/Sana_1600M_1024px_diffusers")
    assert (declared["family"], declared["family_confidence"]) == ("sana", 0.8)
    assert declared["base_model"]["id"] == "Efficient-Large-Model/Sana_1600M_1024px_diffusers"
    own = report(tmp_path / "c", sana_own_names(2240, 20, 5600), name="Sana_1600M_1024px.safetensors")
    assert own["family"] == "sana" and "Efficient-Large-Model/Sana_1600M_1024px_diffusers" in candidates(own)
    deep = report(tmp_path / "d", sana_own_names(2240, 60, 5600), name="model.safetensors")
    assert candidates(deep) == ["Efficient-Large-Model/SANA1.5_4.8B_1024px_diffusers"]


def test_a_pixart_lora_shares_sana_0_6b_s_shapes_and_says_so(tmp_path):
    """PixArt-Σ's attention and SANA 0.6B's are one shape in one depth: a LoRA of it leaves both, PixArt first (more
    of its releases fit), its root of its family, and no base_model. It was unknown; no Wan, whose diffusers names
    normalize the same."""
    r = report(tmp_path / "a", lora("pixart-sigma"))
    assert (r["family"], r["family_confidence"]) == ("pixart", 0.5) and r["base_model"]["id"] is None
    assert r["root"]["id"].startswith("PixArt-alpha/")  # a tie between families goes to the family chosen
    assert "Efficient-Large-Model/Sana_600M_1024px_diffusers" in candidates(r)
    declared = report(tmp_path / "b", lora("pixart-sigma"), "PixArt-alpha/PixArt-Sigma-XL-2-1024-MS")
    assert declared["base_model"]["id"] == "PixArt-alpha/PixArt-Sigma-XL-2-1024-MS" and not declared["conflicts"]
    sana = report(tmp_path / "c", lora("sana-0.6b"), "Efficient-Large-Model/Sana_600M_1024px_diffusers")
    assert (sana["family"], sana["base_model"]["id"]) == ("sana", "Efficient-Large-Model/Sana_600M_1024px_diffusers")
    # DiT-XL/2 (class-conditional, no text): PixArt's width and depth, its own adaptive norm in every block
    dit = report(
        tmp_path / "d", diffusers_header("DiTTransformer2DModel", {}), name="diffusion_pytorch_model.safetensors"
    )
    assert dit["family"] is None


def lumina_own_names(blocks: int = 26) -> dict:
    """Lumina-Image 2.0's own checkpoint names (Alpha-VLLM's NextDiT): a fused grouped-query qkv (2304 + 2 x 768)."""
    t = {"x_embedder.weight": (2304, 64), "cap_embedder.1.weight": (2304, 2304)}
    for stack, n in [("layers", blocks), ("noise_refiner", 2), ("context_refiner", 2)]:
        for i in range(n):
            t |= {
                f"{stack}.{i}.attention.qkv.weight": (3840, 2304),
                f"{stack}.{i}.attention.out.weight": (2304, 2304),
                f"{stack}.{i}.feed_forward.w1.weight": (9216, 2304),
                f"{stack}.{i}.feed_forward.w2.weight": (2304, 9216),
                f"{stack}.{i}.feed_forward.w3.weight": (9216, 2304),
            }
    return {k: ("BF16", v) for k, v in t.items()}


def test_a_lumina2_lora_is_lumina2_not_z_image(tmp_path):
    """Lumina 2 and Z-Image share Lumina-Next's refiners and caption embedder; Lumina 2's own attention names
    (`layers.N.attn.to_q`, grouped keys of 768) and its sizes tell them apart. It was Z-Image at 0.3."""
    r = report(tmp_path / "a", lora("lumina2", [*ATTENTION, "linear_1", "linear_2", "linear_3"]))
    assert (r["family"], r["family_confidence"]) == ("lumina2", 1.0)
    assert r["base_model"]["id"] == "Alpha-VLLM/Lumina-Image-2.0"
    own = report(tmp_path / "b", lumina_own_names(), name="consolidated.00-of-01.safetensors")
    assert own["family"] == "lumina2" and candidates(own) == ["Alpha-VLLM/Lumina-Image-2.0"]

"""DINOv3's ViTs (S/16, B/16, L/16): DINOv2's LayerScale and register tokens, rotary positions, 16-pixel patches,
blocks under `layer.N`. Built by transformers on the meta device at each root's published sizes (the checkpoint's
names, `layer.N`, and transformers 5's, `model.layer.N`). Before the family existed a DINOv3 fine-tune read as ViT at
0.5 with Google's ViT-B/16 (or DeiT-small) as its root."""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import built_shapes, lora_like

# models pretrained apart in DINOv3's every shape: timm's EUPE (S/16, B/16), LingBot-Vision's (S, B, L), and DINOv3's
# own ViT-L/16 on satellite imagery (SAT-493M)
TWINS = {
    "facebook/dinov3-vits16-pretrain-lvd1689m": {"timm/vit_small_patch16_dinov3_qkvb.eupe_lvd1689m",
                                                 "belfner/vit_small_patch16_lingbot.robbyant"},
    "facebook/dinov3-vitb16-pretrain-lvd1689m": {"timm/vit_base_patch16_dinov3_qkvb.eupe_lvd1689m",
                                                 "belfner/vit_base_patch16_lingbot.robbyant"},
    "facebook/dinov3-vitl16-pretrain-lvd1689m": {"facebook/dinov3-vitl16-pretrain-sat493m",
                                                 "belfner/vit_large_patch16_lingbot.robbyant"},
}  # fmt: skip
MODELS = {
    "facebook/dinov3-vits16-pretrain-lvd1689m": {},
    "facebook/dinov3-vitb16-pretrain-lvd1689m": dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12),
    "facebook/dinov3-vitl16-pretrain-lvd1689m": dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16,
                                                     num_hidden_layers=24),
}  # fmt: skip


def built(root: str, hub_names: bool = True) -> dict:
    """{module: (d_out, d_in)}, the patch embedding's kernel too, under the Hub checkpoint's names (`layer.N`) or
    transformers 5's (`model.layer.N`)."""
    shapes = built_shapes("dinov3_vit", num_register_tokens=4, **MODELS[root])
    shapes = shapes | {"embeddings.register_tokens": (1, 4), "embeddings.patch_embeddings_kernel": (16, 16)}
    return {k.removeprefix("model."): v for k, v in shapes.items()} if hub_names else shapes


@pytest.mark.parametrize("root", sorted(MODELS))
@pytest.mark.parametrize("hub_names", [True, False])
def test_checkpoints_and_adapters_name_their_root(root, hub_names):
    full = built(root, hub_names)
    for shapes in (full, lora_like(full, "q_proj", "v_proj", prefix="base_model.model."), lora_like(full, "proj")):
        r = classify(shapes)
        assert r.family == "dinov3" and r.family_confidence >= 0.9, r.evidence
        assert r.candidates[0]["id"] == root and {c["id"] for c in r.candidates} == {root} | TWINS[root], r.candidates
        assert r.base_model["id"] is None, r.base_model


def test_dinov2_with_registers_is_not_dinov3():
    """DINOv2-small with registers has DINOv3-S/16's every width and depth and its 4 registers; its blocks are under
    `encoder.layer.N` and its position table stays, which DINOv3 has none of."""
    shapes = built_shapes("dinov2_with_registers", hidden_size=384, num_attention_heads=6, num_hidden_layers=12)
    for s in (shapes, lora_like(shapes, "query", "value", "q_proj", "v_proj")):
        r = classify(s)
        assert r.family in ("dinov2", "dinov2_with_registers"), r.evidence
        assert not any("dinov3" in c["id"] for c in r.candidates), r.candidates


@pytest.mark.parametrize(
    "declared, written",
    [
        ("facebook/dinov3-vitb16-pretrain-lvd1689m", "facebook/dinov3-vitb16-pretrain-lvd1689m"),
        ("facebook/dinov3-vitl16-pretrain-lvd1689m", None),  # 1024 wide, 24 blocks
        ("google/vit-base-patch16-224-in21k", None),  # ViT-B/16's widths, DINOv3's names
    ],
)
def test_a_declared_base_is_checked_against_the_weights(declared, written):
    lora = lora_like(built("facebook/dinov3-vitb16-pretrain-lvd1689m"), "q_proj", "v_proj", prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.family == "dinov3" and r.base_model["id"] == written, (r.base_model, r.conflicts)
    assert bool(r.conflicts) == (written is None), r.conflicts


@pytest.mark.parametrize(
    "name, root, family",
    [
        ("facebook/dinov3-vits16-pretrain-lvd1689m", "facebook/dinov3-vits16-pretrain-lvd1689m", "dinov3"),
        ("facebook/dinov3-vith16plus-pretrain-lvd1689m", None, "dinov3"),
        ("facebook/dinov3-convnext-tiny-pretrain-lvd1689m", None, None),
        ("facebook/dinov2-base", "facebook/dinov2-base", "dinov2"),
    ],
)
def test_names_resolve(name, root, family):
    assert resolve_name(name) == (root, family)


@pytest.mark.parametrize(
    "prose, conflicts",
    [
        ("Fine-tuned DINOv3 ViT-B/16 on plant leaves", 0),  # "ViT" too, which DINOv3's own word outweighs
        ("Fine-tuned DINOv2 ViT-B/14 on plant leaves", 2),  # DINOv2 (and ViT) said of DINOv3's weights
    ],
)
def test_a_readme_s_prose_names_the_family(prose, conflicts, tmp_path):
    import json

    from safetensors.numpy import save_file

    from hfprobe.tree.inspect import inspect_source
    from tests.model_shapes import lora_factors

    lora = lora_like(built("facebook/dinov3-vitb16-pretrain-lvd1689m"), "q_proj", "v_proj", prefix="base_model.model.")
    save_file(lora_factors(lora), str(tmp_path / "adapter_model.safetensors"))
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4, "lora_alpha": 8}))
    (tmp_path / "README.md").write_text(prose)
    assert "dinov" in str(declared_claims(texts={"README.md": prose})[0].get("README.md mentions"))
    report = inspect_source(str(tmp_path))
    assert report["family"] == "dinov3" and len(report["conflicts"]) == conflicts, report["conflicts"]


def test_its_own_config_says_dinov3():
    """A checkpoint beside its config.json (`model_type: dinov3_vit`) is the family's, with no conflict; the model type
    read as one the registry lacks had held the family at 0.5. Its config names no model: none is written."""
    from transformers import AutoConfig

    root = "facebook/dinov3-vitb16-pretrain-lvd1689m"
    config = AutoConfig.for_model("dinov3_vit", num_register_tokens=4, **MODELS[root]).to_dict()
    r = classify(built(root), config=config)
    assert r.family == "dinov3" and r.family_confidence == 1.0 and not r.conflicts, (r.evidence, r.conflicts)
    assert r.candidates[0]["id"] == root and r.base_model["id"] is None, r.base_model


@pytest.mark.parametrize("small", [True, False])
def test_the_gated_plus_models_are_not_the_plain_ones(small):
    """ViT-S+/16 and L+/16 have S/16's and L/16's every width (their gated MLPs' 1536 and 4096, after SwiGLU's
    two-thirds) but a `mlp.gate_proj` the plain models lack: neither is written as S/16 or L/16."""
    sizes = (
        {} if small else dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=24)
    )
    shapes = built_shapes("dinov3_vit", num_register_tokens=4, use_gated_mlp=True, **sizes)
    assert any(k.endswith("mlp.gate_proj") for k in shapes)
    for s in (shapes, lora_like(shapes, "proj", prefix="base_model.model.")):
        r = classify(s)
        assert r.family == "dinov3" and not r.candidates and r.base_model["id"] is None, r.candidates

"""SAM 2 / 2.1 and SAM 3 (Meta's Segment Anything after the first): families of their own, in transformers' names and
Meta's. Their models are built by transformers on the meta device at each root's published sizes (transformers'
`Sam3Config` defaults are facebook/sam3's, as Meta's model_builder.py; SAM 2's Hiera sizes are Meta's yaml configs',
as transformers' conversion script sets them).

Before: a SAM 3 checkpoint read as Stable Diffusion 2.1 (its CLIP text tower has SD 2.x's widths) and an adapter on
its ViT as a ViT no root fits; a SAM 2 checkpoint read as facebook/sam-vit-base (its mask decoder's names) at 0.5,
and its video model as nothing."""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import built_shapes, lora_like, module_shapes

PREFIX = "base_model.model."


def full(shapes: dict, **kw):
    return classify(shapes, params={k: o * (i or 1) for k, (o, i) in shapes.items()}, **kw)


def ids(r) -> list[str]:
    return [c["id"] for c in r.candidates]


# ---------------------------------------------------------------------------------------------------------- SAM 3


def sam3(model_type: str = "sam3") -> dict:
    return built_shapes(model_type)


def meta_sam3(shapes: dict) -> dict:
    """facebook/sam3's `sam3.pt` names (Meta's code: `detector.` and `tracker.`), from transformers' model: the ViT's
    query, key and value fused (`attn.qkv`), the text tower in OpenCLIP's names, the DETR's and geometry encoder's
    attention torch's MultiheadAttention (`in_proj_weight`) and their feed-forwards `linear1` / `linear2`."""
    out = {}
    for key, (o, i) in shapes.items():
        k = key
        if k.startswith("vision_encoder.backbone.layers."):
            k = k.replace("vision_encoder.backbone.layers.", "detector.backbone.vision_backbone.trunk.blocks.")
            if k.endswith((".attention.k_proj", ".attention.v_proj")):
                continue
            k = k.replace(".attention.q_proj", ".attn.qkv").replace(".attention.o_proj", ".attn.proj")
            o = 3 * o if k.endswith(".attn.qkv") else o
        elif k.startswith("text_encoder.text_model.encoder.layers."):
            k = k.replace("text_encoder.text_model.encoder.layers.", "detector.backbone.language_backbone.encoder."
                          "transformer.resblocks.")  # fmt: skip
            if k.endswith((".self_attn.k_proj", ".self_attn.v_proj")):
                continue
            k = k.replace(".self_attn.q_proj", ".attn.in_proj_weight").replace(".self_attn.out_proj", ".attn.out_proj")
            k = k.replace(".mlp.fc1", ".mlp.c_fc").replace(".mlp.fc2", ".mlp.c_proj")
            o = 3 * o if k.endswith("in_proj_weight") else o
        elif k.startswith(("detr_encoder.layers.", "detr_decoder.layers.", "geometry_encoder.layers.")):
            k = k.replace("detr_encoder.", "detector.transformer.encoder.").replace(
                "detr_decoder.", "detector.transformer.decoder."
            )
            k = k.replace("geometry_encoder.layers.", "detector.geometry_encoder.encode.")
            k = k.replace(".text_cross_attn.", ".ca_text.").replace(".vision_cross_attn.", ".cross_attn_image.")
            k = k.replace(".cross_attn.", ".cross_attn_image.")
            if k.endswith((".k_proj", ".v_proj")):
                continue
            k = k.replace(".q_proj", ".in_proj_weight").replace(".o_proj", ".out_proj")
            k = k.replace(".mlp.fc1", ".linear1").replace(".mlp.fc2", ".linear2")
            o = 3 * o if k.endswith("in_proj_weight") else o
        else:
            continue
        out[k] = (o, i)
    return out


def test_sam_3_and_its_tracker_are_sam_3_s():
    for model_type in ("sam3", "sam3_video", "sam3_tracker"):
        r = full(sam3(model_type))
        assert r.family == "sam3" and r.family_confidence == 1.0 and r.root == "facebook/sam3", r.evidence
        assert not r.conflicts
    r = full(sam3(), config={"model_type": "sam3_video"})
    assert r.family == "sam3" and r.root == "facebook/sam3" and not r.conflicts, r.evidence


@pytest.mark.parametrize(
    "targets",
    [("q_proj", "v_proj"), ("q_proj", "k_proj", "v_proj", "o_proj", "out_proj", "fc1", "fc2")],
)
def test_an_adapter_on_sam_3_is_sam_3_s(targets):
    r = classify(lora_like(sam3(), *targets, prefix=PREFIX))
    assert r.family == "sam3" and r.family_confidence == 1.0 and r.root == "facebook/sam3", r.evidence


def test_an_adapter_on_sam_3_s_vit_alone_is_sam_3_s():
    """The common recipe: LoRA on the image encoder's attention only (`vision_encoder.backbone.layers.N`)."""
    vit = {k: v for k, v in sam3().items() if k.startswith("vision_encoder.backbone.layers.")}
    r = classify(lora_like(vit, "q_proj", "v_proj", prefix=PREFIX))
    assert r.family == "sam3" and r.root == "facebook/sam3", r.evidence


def test_an_adapter_on_sam_3_s_text_tower_alone_is_not_sure_of_sd_2():
    """SAM 3's text tower has SD 2.x's widths in 24 blocks, SD 2.x's text encoder 23 (its penultimate layer): an
    adapter on it was SD 2.1 at 1.0; now SAM 3 leads, SD 2.x beside it (an adapter may skip blocks)."""
    text = {k: v for k, v in sam3().items() if k.startswith("text_encoder.")}
    r = classify(lora_like(text, "q_proj", "v_proj", prefix=PREFIX))
    assert r.family == "sam3" and r.family_confidence < 0.9, r.evidence
    assert "stabilityai/stable-diffusion-2-1" in ids(r)


def test_sam_3_in_meta_s_names_is_sam_3_s():
    r = full(meta_sam3(sam3()))
    assert r.family == "sam3" and r.family_confidence == 1.0 and r.root == "facebook/sam3", r.evidence
    assert any("in_proj_weight" in e or "attn.qkv" in e for e in r.evidence), r.evidence


def test_sam_3_lite_text_keeps_the_family_not_the_root():
    """SAM3-LiteText: SAM 3's ViT and detector under a 512-wide text tower: SAM 3's family, no root of it."""
    r = full(built_shapes("sam3_lite_text"), config={"model_type": "sam3_lite_text"})
    assert r.family == "sam3" and r.root is None, r.evidence


# ---------------------------------------------------------------------------------------------------------- SAM 2

SAM2 = {  # embed_dim, heads, blocks per stage, global attention blocks, window sizes, position background
    "tiny": (96, 1, [1, 2, 7, 2], [5, 7, 9], [8, 4, 14, 7], [7, 7]),
    "small": (96, 1, [1, 2, 11, 2], [7, 10, 13], [8, 4, 14, 7], [7, 7]),
    "base-plus": (112, 2, [2, 3, 16, 3], [12, 16, 20], [8, 4, 14, 7], [14, 14]),
    "large": (144, 2, [2, 6, 36, 4], [23, 33, 43], [8, 4, 16, 8], [7, 7]),
}
_SAM2_BUILT: dict = {}


def sam2(size: str, video: bool = True) -> dict:
    """transformers' Sam2VideoModel (with the video memory and 2.1's object-pointer projection) or Sam2Model."""
    if (size, video) not in _SAM2_BUILT:
        import torch
        from transformers import AutoConfig, AutoModel

        e, h, blocks, glob, win, bkg = SAM2[size]
        backbone = dict(
            model_type="sam2_hiera_det_model", hidden_size=e, embed_dim_per_stage=[e, 2 * e, 4 * e, 8 * e],
            num_attention_heads_per_stage=[h, 2 * h, 4 * h, 8 * h], blocks_per_stage=blocks,
            global_attention_blocks=glob, window_size_per_stage=win, window_positional_embedding_background_size=bkg,
        )  # fmt: skip
        vision = dict(backbone_config=backbone, backbone_channel_list=[8 * e, 4 * e, 2 * e, e])
        config = AutoConfig.for_model("sam2_video" if video else "sam2", vision_config=vision)
        with torch.device("meta"):
            _SAM2_BUILT[size, video] = module_shapes(AutoModel.from_config(config))
    return _SAM2_BUILT[size, video]


def meta_sam2(shapes: dict) -> dict:
    """A SAM 2.1 checkpoint's names in Meta's code (`sam2.1_hiera_large.pt`), from transformers' (its conversion
    script's renames, reversed)."""
    renames = [
        ("vision_encoder.backbone.", "image_encoder.trunk."), (".mlp.proj_in", ".mlp.layers.0"),
        (".mlp.proj_out", ".mlp.layers.1"), ("mask_decoder.", "sam_mask_decoder."),
        ("prompt_encoder.", "sam_prompt_encoder."),
        ("temporal_positional_encoding_projection_layer", "obj_ptr_tpos_proj"),
    ]  # fmt: skip
    out = {}
    for key, shape in shapes.items():
        if key.startswith("vision_encoder.neck.convs."):
            key = key.replace("vision_encoder.neck.", "image_encoder.neck.") + ".conv"
        for old, new in renames:
            key = key.replace(old, new)
        out[key] = shape
    return out


@pytest.mark.parametrize("size", sorted(SAM2))
def test_sam_2_1_s_video_model_names_its_size(size):
    """The video model holds 2.1's object-pointer projection (256 to 64), which rules SAM 2.0 out."""
    for shapes in (sam2(size), meta_sam2(sam2(size))):
        r = full(shapes)
        assert r.family == "sam2" and r.family_confidence == 1.0, r.evidence
        assert r.root == f"facebook/sam2.1-hiera-{size}" and f"facebook/sam2-hiera-{size}" not in ids(r), r.candidates


@pytest.mark.parametrize("size", sorted(SAM2))
def test_sam_2_s_image_model_and_adapters_leave_2_0_beside_2_1(size):
    """Without the video memory (Sam2Model, or an adapter on the image encoder) 2.0 and 2.1 share every shape."""
    for shapes in (sam2(size, video=False), lora_like(sam2(size, video=False), "qkv", "proj", prefix=PREFIX)):
        r = classify(shapes)
        assert r.family == "sam2" and r.family_confidence == 1.0, r.evidence
        assert ids(r)[:2] == [f"facebook/sam2.1-hiera-{size}", f"facebook/sam2-hiera-{size}"], r.candidates


def test_sam_1_stays_sam_1_s():
    shapes = built_shapes("sam")
    for s in (shapes, lora_like(shapes, "qkv", prefix=PREFIX)):
        r = full(s) if s is shapes else classify(s)
        assert r.family == "sam" and r.root == "facebook/sam-vit-base", r.evidence


# ---------------------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name, root, family",
    [
        ("facebook/sam3", "facebook/sam3", "sam3"),
        ("facebook/sam3.1", None, "sam3"),
        ("facebook/sam2.1-hiera-large", "facebook/sam2.1-hiera-large", "sam2"),
        ("facebook/sam2-hiera-tiny", "facebook/sam2-hiera-tiny", "sam2"),
        ("someone/sam2.1-hiera-small-finetuned-polyps", None, "sam2"),  # a fine-tune: its family
        ("facebook/sam-vit-huge", "facebook/sam-vit-huge", "sam"),
        ("facebook/sam-3d-objects", None, None),
    ],
)
def test_names_resolve(name, root, family):
    assert resolve_name(name) == (root, family)


@pytest.mark.parametrize(
    "prose, families",
    [
        ("We fine-tune SAM 3 on aerial images", {"sam3": 1}),
        ("Segment Anything Model 2 for polyps", {"sam2": 1}),
        ("A SAM 2.1 adapter", {"sam2": 1}),
        ("Fine-tuned Segment Anything (SAM) on cells", {"sam": 2}),
    ],
)
def test_a_readme_s_prose_names_the_family(prose, families):
    assert declared_claims(texts={"README.md": prose})[0].get("README.md mentions") == families

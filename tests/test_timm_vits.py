"""timm's vision transformers, under its names (`blocks.N.attn.qkv`, `patch_embed.proj`, `pos_embed`, `reg_token`),
which DINOv2's torch.hub checkpoints share. Each is built by timm from its default configuration on the meta
device and read from a header-only copy, as `benchmarks/bench_architectures.py --timm` reads all 1,371.

Before, base_model was written from the weights alone for 35 full checkpoints and 14 LoRAs of them, all wrong but
DINOv2's own: DeiT III, RADIO, NaFlexViT, TIPSv2 and InternViT-300M as DINOv2 (their LayerScale, read as DINOv2's),
XCiT, ConViT, PE and AugReg's ViT-Ti as DeiT-tiny (the one root of that width). A ViT's patch size (the kernel of
its patch embedding) and its position table are now sizes a root is checked by, timm's register tokens too, and
AugReg's ViT-Ti and ViT-S are roots beside DeiT's tiny and small, whose shapes they share.

A timm config.json names the pretrained model a fine-tune was built from (its architecture and the pretrained
weights' tag): that is the declared base, which was not read.
"""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.tree.inspect import inspect_source
from tests.builders import write_header

timm = pytest.importorskip("timm")

SURE = 0.9

# timm model: (base_model written, families it may be placed in at SURE or more)
FULL = {
    # Meta's DINOv2 in timm's names (its torch.hub checkpoints'): neighbours, written before and after
    "vit_small_patch14_dinov2": ("facebook/dinov2-small", {"dinov2"}),
    "vit_base_patch14_dinov2": ("facebook/dinov2-base", {"dinov2"}),
    # DINOv2 with registers, whose timm copy keeps 1,369 positions (the class token's apart): the family, no root
    "vit_base_patch14_reg4_dinov2": (None, {"dinov2_with_registers"}),
    # a ViT with LayerScale, at 16 pixels a patch: was facebook/dinov2-base at 1.0
    "deit3_base_patch16_224": (None, {"vit"}),
    "vit_base_patch16_radio_v3": (None, set()),  # distilled from DINOv2 and others, 7 registers: was dinov2-base
    "vit_base_patch14_reg1_tipsv2": (None, set()),  # 1 register: was dinov2-base
    "vit_intern300m_patch14_448": (None, set()),  # dinov2-large's every width, 1,025 positions: was dinov2-large
    "naflexvit_base_patch16_gap": (None, set()),  # patches through a linear layer, `embeds.*`: was dinov2-base
    # DINOv3: 4 registers at 16 pixels a patch, rotary positions (was a model the registry lacks); Meta's S/16 and B/16
    # share every shape with timm's EUPE pretraining, all three with LingBot-Vision's, L/16 with DINOv3's satellite
    # one: the family, no root written
    "vit_small_patch16_dinov3": (None, {"dinov3"}),
    "vit_base_patch16_dinov3": (None, {"dinov3"}),
    "vit_large_patch16_dinov3": (None, {"dinov3"}),
    "xcit_tiny_12_p16_224": (None, set()),  # cross-covariance attention: was facebook/deit-tiny-patch16-224
    "convit_tiny": (None, set()),  # gated positional attention: was deit-tiny
    "vit_pe_core_tiny_patch16_384": (None, {"vit"}),  # Perception Encoder: was deit-tiny
    "vit_tiny_patch16_224": (None, {"vit"}),  # AugReg's ViT-Ti: DeiT-tiny's shapes, trained apart (was deit-tiny)
    "deit_tiny_patch16_224": (None, {"vit"}),  # and DeiT-tiny itself, which the weights cannot tell from it
    "deit_small_patch16_224": (None, {"vit"}),  # and DeiT-small, AugReg's ViT-S's look-alike
    "focalnet_large_fl3": (None, set()),  # Swin-L's stages with focal modulation: no Swin
}

LORA = {  # a PEFT LoRA on every linear layer: attention and MLP sizes only
    "vit_tiny_patch16_224": (None, {"vit"}),  # was deit-tiny
    "xcit_tiny_12_p16_224": (None, {"vit"}),  # was deit-tiny
    "convit_tiny": (None, set()),  # its `attn.qk` is no ViT's: was deit-tiny
    "convit_base": (None, set()),  # nor DINOv3-B/16's (its sizes): XCiT's and ConViT's names exclude DINOv3 too
    "xcit_small_12_p16_224": (None, set()),
    "vit_base_patch14_dinov2": (None, set()),  # ViT-B/16's every name and size: DINOv2 or ViT
}


def _shapes(name: str) -> dict[str, tuple]:
    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False)
    return {k: tuple(v.shape) or (1,) for k, v in model.state_dict().items()}


def _lora(shapes: dict[str, tuple]) -> dict[str, tuple]:
    out = {}
    for key, shape in shapes.items():
        if key.endswith(".weight") and len(shape) == 2 and min(shape) >= 16:
            module = "base_model.model." + key.removesuffix(".weight")
            out[f"{module}.lora_A.weight"], out[f"{module}.lora_B.weight"] = (8, shape[1]), (shape[0], 8)
    return out


def _report(tensors: dict[str, tuple], folder, file: str) -> dict:
    write_header(folder / file, {k: ("F16", s) for k, s in tensors.items()}, data=False)
    return inspect_source(str(folder))


def _check(report: dict, base_model: str | None, sure_in: set[str]) -> None:
    assert report["base_model"]["id"] == base_model, (report["family"], report["base_model"])
    if report["family_confidence"] >= SURE:
        assert report["family"] in sure_in, (report["family"], report["family_confidence"])


@pytest.mark.parametrize("name", sorted(FULL))
def test_a_timm_vit_checkpoint_gets_a_root_only_where_its_patches_and_positions_are_the_root_s(name, tmp_path):
    _check(_report(_shapes(name), tmp_path, "model.safetensors"), *FULL[name])


@pytest.mark.parametrize("name", sorted(LORA))
def test_a_lora_on_a_timm_vit_leaves_look_alike_roots_unwritten(name, tmp_path):
    _check(_report(_lora(_shapes(name)), tmp_path, "adapter_model.safetensors"), *LORA[name])


def test_the_patch_size_is_said_where_no_root_has_it(tmp_path):
    """DINOv2-B with registers but 16-pixel patches: every other size fits DINOv2 with registers' roots, its patches
    none of them. The evidence says so, and the family is no surer than sizes alone make it. A ViT-B/16 with 4
    registers and no LayerScale (timm's `vit_base_patch16_reg4_gap_256`), which once said the same (it was ViT at
    0.88 before that, registers and patches unread), is no DINOv2 at all now: every full DINOv2 has LayerScale."""
    shapes = _shapes("vit_base_patch14_reg4_dinov2") | {"patch_embed.proj.weight": (768, 3, 16, 16)}
    report = _report(shapes, tmp_path / "patch16", "model.safetensors")
    assert report["family_confidence"] <= 0.5
    evidence = " ".join(report["root"]["evidence"])
    assert "no known root has its patch size (patch_embed.proj.kernel is 16x16 (patch x patch))" in evidence
    assert "another patch size" in report["base_model"]["reason"]
    report = _report(_shapes("vit_base_patch16_reg4_gap_256"), tmp_path / "gap", "model.safetensors")
    assert report["family"] == "vit" and report["family_confidence"] <= 0.5 and report["root"]["id"] is None
    assert any("no key of DINOv2's LayerScale" in e for e in report["root"]["evidence"])


def _timm_folder(tmp_path, name: str, tag: str, **cfg) -> str:
    """A fine-tune as timm's `push_to_hf_hub` saves it: model.safetensors and a config.json that keeps the
    architecture and the pretrained weights' config, their tag too."""
    write_header(tmp_path / "model.safetensors", {k: ("F16", s) for k, s in _shapes(name).items()}, data=False)
    pretrained = {"tag": tag, "custom_load": False, "input_size": [3, 224, 224], "num_classes": 10}
    config = {"architecture": name, "num_classes": 10, "pretrained_cfg": pretrained, **cfg}
    (tmp_path / "config.json").write_text(json.dumps(config))
    return str(tmp_path)


@pytest.mark.parametrize(
    "name, tag, family",
    [
        ("vit_base_patch16_224", "augreg2_in21k_ft_in1k", "vit"),  # three registry roots share its shapes
        ("vit_base_patch14_reg4_dinov2", "lvd142m", "dinov2_with_registers"),  # no DINOv2 (was a conflict)
        ("vit_tiny_patch16_224", "augreg_in21k", "vit"),  # a registry root itself
        ("resnet18", "a1_in1k", "resnet"),  # torchvision's names (was no family: its claim went unchecked)
        ("vit_base_patch16_dinov3", "lvd1689m", "dinov3"),  # was ViT at 0.3, the config's DINOv3 against its names
        ("vit_large_patch16_lingbot", "robbyant", "dinov3"),  # LingBot-Vision: DINOv3's shapes, its own pretraining
    ],
)
def test_a_timm_config_names_the_pretrained_model_it_was_built_from(tmp_path, name, tag, family):
    report = inspect_source(_timm_folder(tmp_path, name, tag))
    assert report["family"] == family and not report["conflicts"], report["conflicts"]
    assert report["base_model"]["id"] == f"timm/{name}.{tag}", report["base_model"]
    assert report["base_model"]["source"] == "config.json pretrained_cfg"


def test_a_timm_config_of_an_architecture_the_registry_lacks_writes_nothing(tmp_path):
    """An EfficientNet: the weights place no family, so the timm model its config names stays a claim only."""
    report = inspect_source(_timm_folder(tmp_path, "efficientnet_b0", "ra_in1k"))
    assert report["declared"]["config.json pretrained_cfg"] == "timm/efficientnet_b0.ra_in1k"
    assert report["base_model"]["id"] is None


def test_a_full_checkpoint_without_layerscale_is_no_dinov2(tmp_path):
    """Every full DINOv2 has LayerScale (`ls1.gamma`; transformers' `layer_scale1.lambda1`). CLIP's ViT-L/14 in
    timm's names (`vit_large_patch14_clip_224`), Perception Encoder's, EVA's and a plain ViT-L/14 have DINOv2-large's
    every width and patch, and none: they were DINOv2 at 0.83. They are ViTs of a patch size no ViT root has now (at
    most 0.5 sure). DINOv2 itself, in timm's names and in transformers', stays DINOv2, and a LoRA on its attention,
    which touches no LayerScale, keeps its roots among the candidates (ViT-L/16's attention has its sizes too)."""
    from transformers import Dinov2Config, Dinov2Model

    from tests.model_shapes import saved_shapes

    for name in ("vit_large_patch14_clip_224", "vit_pe_core_large_patch14_336", "eva_large_patch14_336"):
        report = _report(_shapes(name), tmp_path / name, "model.safetensors")
        assert report["family"] == "vit" and report["family_confidence"] <= 0.5, (name, report["family"])
    report = _report(_shapes("vit_large_patch14_dinov2"), tmp_path / "dinov2", "model.safetensors")
    assert report["family"] == "dinov2" and report["root"]["id"] == "facebook/dinov2-large"
    with torch.device("meta"):
        model = Dinov2Model(Dinov2Config(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16))
    report = _report(saved_shapes(model), tmp_path / "hf", "model.safetensors")
    assert report["family"] == "dinov2" and report["root"]["id"] == "facebook/dinov2-large"
    lora = {}
    for key, shape in _shapes("vit_large_patch14_dinov2").items():
        if key.endswith("attn.qkv.weight"):
            module = key.removesuffix(".weight")
            lora |= {f"{module}.lora_A.weight": (8, shape[1]), f"{module}.lora_B.weight": (shape[0], 8)}
    report = _report(lora, tmp_path / "lora", "adapter_model.safetensors")
    assert "facebook/dinov2-large" in {c["id"] for c in report["root"]["candidates"]}, report["root"]["evidence"]

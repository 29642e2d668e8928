"""DeiT distilled and ConvNeXt V2: two image classifiers whose fine-tunes start from Facebook's checkpoints, each in
the layers of a family the registry had (ViT's, ConvNeXt's) with a mark of its own.

A distilled DeiT has a distillation token beside its class token (transformers' `deit.embeddings.distillation_token`,
timm's `dist_token`), so its position table has one row more: 198 at 224 px, 578 at 384. Its task model saves
`deit.` and two heads (`cls_classifier`, `distillation_classifier`). DeiT without distillation is saved as a ViT
(`model_type: vit`, `vit.`) and stays one of ViT's roots. ConvNeXt V2 has a global response normalisation (`grn`)
in each block and no LayerScale, in eight sizes, five of them (atto, femto, pico, nano, huge) in widths no ConvNeXt
has; the runs of one size (ImageNet-1k at 224, 22k at 224, 384 or 512) share every shape. Models are built by
transformers or timm on the meta device at the published sizes and written as header-only safetensors files.

Before: `deit.` and `convnextv2.` were prefixes of architectures the registry lacked, so a distilled DeiT was ViT at
0.5 with no root (a timm one ViT at 1.0, its 198 positions "a resized position table") and a ConvNeXt V2 checkpoint
had no family (its `grn` ruled ConvNeXt out; a LoRA on it ConvNeXt at 0.5, facebook/convnext-tiny-224 first).
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

DEIT_224, DEIT_384 = "facebook/deit-base-distilled-patch16-224", "facebook/deit-base-distilled-patch16-384"
TINY_V2 = ["facebook/convnextv2-tiny-1k-224", "facebook/convnextv2-tiny-22k-224", "facebook/convnextv2-tiny-22k-384"]
DEIT_SIZES = {"tiny": (192, 3, 768), "small": (384, 6, 1536)}
V2_SIZES = {  # depths, widths
    "atto": ([2, 2, 6, 2], [40, 80, 160, 320]),
    "femto": ([2, 2, 6, 2], [48, 96, 192, 384]),
    "pico": ([2, 2, 6, 2], [64, 128, 256, 512]),
}


def _tf(cls: str, config: str, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**kw))


def _timm(name: str):
    import timm

    with torch.device("meta"):
        return timm.create_model(name, pretrained=False)


def _deit(**kw):
    return _tf("DeiTForImageClassificationWithTeacher", "DeiTConfig", **kw)


def _v2(cls: str = "ConvNextV2ForImageClassification", **kw):
    return _tf(cls, "ConvNextV2Config", **kw)


@pytest.mark.parametrize("image_size, root", [(224, DEIT_224), (384, DEIT_384)])
def test_a_distilled_deit_fine_tune_is_named_from_its_position_table(image_size, root, tmp_path):
    report = inspect_built(_deit(image_size=image_size, num_labels=10), tmp_path)
    assert report["family"] == "deit" and report["family_confidence"] == 1.0
    assert report["base_model"]["id"] == root and report["base_model"]["status"] == "weights"
    assert not any(i.startswith("google/") for i in _ids(report))  # no ViT root beside it
    # its head is the class token's (the distillation token's twin has as many outputs)
    assert report["head"]["module"] == "cls_classifier" and report["head"]["outputs"] == 10


def test_a_bare_deit_with_its_config_is_deit(tmp_path):
    """config.json's `model_type: deit` maps the saved names to those transformers 5 holds (`layers.N.attention.q_proj`,
    ViT's, AST's and BEiT's too): with the distillation token beside them, DeiT, not AST (as the architecture sweep
    found it before this was mended, with a false conflict)."""
    model = _tf("DeiTModel", "DeiTConfig")
    report = inspect_built(model, tmp_path, config=model.config.to_dict())
    assert report["family"] == "deit" and report["base_model"]["id"] == DEIT_224 and not report["conflicts"]


@pytest.mark.parametrize("size", sorted(DEIT_SIZES))
def test_a_lora_under_deit_s_prefix_is_named_from_its_width(size, tmp_path):
    hidden, heads, ffn = DEIT_SIZES[size]
    model = _deit(hidden_size=hidden, num_attention_heads=heads, intermediate_size=ffn)
    report = inspect_built(model, tmp_path, lora=["query", "value"])
    assert report["family"] == "deit" and report["base_model"]["id"] == f"facebook/deit-{size}-distilled-patch16-224"


def test_a_lora_on_deit_base_names_its_resolution_only_where_declared(tmp_path):
    bare = inspect_built(_deit(), tmp_path / "bare", lora=["query", "value"])
    assert bare["family"] == "deit" and set(_ids(bare)) == {DEIT_224, DEIT_384}
    assert bare["base_model"]["id"] is None  # (a LoRA has no position table)
    # trained under transformers 5, a PEFT adapter keeps its in-memory names (`deit.layers.N.attention.q_proj`)
    v5 = inspect_built(_deit(), tmp_path / "v5", lora=["q_proj", "v_proj"], saved=False)
    assert v5["family"] == "deit" and set(_ids(v5)) == {DEIT_224, DEIT_384}
    declared = inspect_built(
        _deit(), tmp_path / "declared", ["query", "value"], config={"base_model_name_or_path": DEIT_384}
    )
    assert declared["base_model"]["id"] == DEIT_384 and not declared["conflicts"]


@pytest.mark.parametrize(
    "name, root", [("deit_base_distilled_patch16_224", DEIT_224), ("deit_base_distilled_patch16_384", DEIT_384)]
)
def test_timm_s_distilled_deit_is_deit_and_its_files_are_an_alias(name, root, tmp_path):
    report = inspect_built(_timm(name), tmp_path, saved=False)
    assert report["family"] == "deit" and report["base_model"]["id"] == root
    assert resolve_name(f"timm/{name}.fb_in1k") == (root, "deit")  # the same release files, in timm's names


def test_a_vit_and_an_undistilled_deit_are_no_distilled_deit(tmp_path):
    for name, model in [
        ("vit", _tf("ViTForImageClassification", "ViTConfig")),
        ("timm-deit", _timm("deit_base_patch16_224")),
    ]:
        report = inspect_built(model, tmp_path / name, saved=name == "vit")
        assert report["family"] == "vit" and not any("distilled" in i for i in _ids(report)), name
    # AST keeps its distillation token (it started from a distilled DeiT): still AST, saved bare
    ast = inspect_built(_tf("ASTModel", "ASTConfig"), tmp_path / "ast")
    assert ast["family"] == "ast" and _ids(ast)[0].startswith("MIT/ast-")


def test_a_deit_lora_declaring_an_undistilled_deit_is_a_conflict(tmp_path):
    """`deit.` is DeiTModel's, whose embeddings always hold a distillation token: transformers cannot load the ViT
    that facebook/deit-small-patch16-224 is into it (197 positions against 198), so the declaration is not written."""
    hidden, heads, ffn = DEIT_SIZES["small"]
    model = _deit(hidden_size=hidden, num_attention_heads=heads, intermediate_size=ffn)
    declared = {"base_model_name_or_path": "facebook/deit-small-patch16-224"}
    report = inspect_built(model, tmp_path, lora=["query", "value"], config=declared)
    assert report["family"] == "deit" and report["base_model"]["id"] is None
    assert report["conflicts"] and "DeiT (distilled)" in report["conflicts"][0]


def test_a_convnext_v2_fine_tune_is_convnext_v2_and_its_runs_tie(tmp_path):
    for kind, lora in [("full", ()), ("lora", ["pwconv1", "pwconv2"])]:
        report = inspect_built(_v2(num_labels=10), tmp_path / kind, lora=lora)
        assert report["family"] == "convnextv2" and report["family_confidence"] == 1.0, kind
        assert set(_ids(report)[:3]) == set(TINY_V2) and report["base_model"]["id"] is None, kind
        assert not any("/convnext-" in i for i in _ids(report)), kind  # no ConvNeXt (V1) root


@pytest.mark.parametrize("size", sorted(V2_SIZES))
def test_the_small_convnext_v2_sizes_are_named_from_their_widths(size, tmp_path):
    depths, widths = V2_SIZES[size]
    report = inspect_built(_v2(depths=depths, hidden_sizes=widths), tmp_path)
    assert report["family"] == "convnextv2" and report["base_model"]["id"] == f"facebook/convnextv2-{size}-1k-224"


@pytest.mark.parametrize("name", ["convnextv2_atto", "convnextv2_nano", "convnextv2_tiny"])
def test_timm_s_convnext_v2_is_convnext_v2(name, tmp_path):
    """timm's names (`stages.N.blocks.N.mlp.grn`; atto to nano keep their MLP as 1x1 convolutions)."""
    report = inspect_built(_timm(name), tmp_path, saved=False)
    size = name.removeprefix("convnextv2_")
    assert report["family"] == "convnextv2" and _ids(report)[0].startswith(f"facebook/convnextv2-{size}-")


def test_a_lora_on_a_bare_convnext_v2_is_convnext_unless_declared(tmp_path):
    """A LoRA on `ConvNextV2Model` (no prefix) has ConvNeXt's every name and size: ConvNeXt's, unless its metadata
    names a ConvNeXt V2, by facebook's id or timm's (the same files)."""
    bare = inspect_built(_v2("ConvNextV2Model"), tmp_path / "bare", lora=["pwconv1", "pwconv2"])
    assert bare["family"] == "convnext" and bare["base_model"]["id"] is None
    for i, declared in enumerate(["facebook/convnextv2-tiny-22k-384", "timm/convnextv2_tiny.fcmae_ft_in22k_in1k_384"]):
        config = {"base_model_name_or_path": declared}
        report = inspect_built(_v2("ConvNextV2Model"), tmp_path / str(i), ["pwconv1", "pwconv2"], config=config)
        assert report["family"] == "convnextv2" and report["base_model"]["id"] == declared, declared
        assert report["root"]["id"] == TINY_V2[2] and not report["conflicts"]


def test_convnext_v1_is_no_v2_in_either_s_names(tmp_path):
    v1 = inspect_built(_tf("ConvNextForImageClassification", "ConvNextConfig"), tmp_path / "v1")
    assert v1["family"] == "convnext" and _ids(v1)[0] == "facebook/convnext-tiny-224"
    # timm's V1 blocks at V2's atto widths (LayerScale, no `grn`): ConvNeXt, which has no root of that size
    atto = inspect_built(_timm("convnext_atto"), tmp_path / "atto", saved=False)
    assert atto["family"] == "convnext" and atto["base_model"]["id"] is None
    assert not any("convnextv2" in i for i in _ids(atto))


@pytest.mark.parametrize("name", ["efficientformer_l1", "swiftformer_l1", "pit_s_distilled_224"])
def test_a_distillation_head_alone_is_no_deit(name, tmp_path):
    """timm's EfficientFormer, SwiftFormer and PiT have a distillation head (`head_dist`) and no distillation token:
    not DeiT's (the timm sweep had them DeiT at 0.3 to 0.5 once the head was in DeiT's rule)."""
    report = inspect_built(_timm(name), tmp_path, saved=False)
    assert report["family"] != "deit", report["root"]["evidence"]


@pytest.mark.parametrize("name, lora", [("convnext_base", ["fc1", "fc2"]), ("fastvit_s12", ()), ("rdnet_tiny", ())])
def test_sizes_alone_name_no_convnext_v2_without_its_marks(name, lora, tmp_path):
    """Where no name rule places a family, sizes alone are not tried against a family whose models are saved with a
    mark the file lacks (ConvNeXt V2's `grn` or prefix): a timm ConvNeXt LoRA on `mlp.fc1` stays ConvNeXt (V2's three
    runs of each size had outweighed its two), and FastViT's and RDNet's widths, pico's, name no V2."""
    report = inspect_built(_timm(name), tmp_path, lora=lora, saved=False)
    assert report["family"] != "convnextv2" and not any("convnextv2" in i for i in _ids(report))
    if lora:
        assert report["family"] == "convnext" and _ids(report)[0] == "facebook/convnext-base-224"

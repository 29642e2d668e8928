"""Mask2Former and MaskFormer (facebook's checkpoints): a Swin or ResNet backbone under
`model.pixel_level_module.encoder`, a pixel decoder, a transformer decoder over learned queries and a class head.
Within a backbone only the queries and the class head (the dataset's labels and one for no object) tell facebook's
checkpoints apart, and softly: a fine-tune sets its own labels (`families.json` `mask2former`, `maskformer`; the
soft dim `classes`). Models are built by transformers on the meta device at the published sizes and written as
header-only files.

Before: a Mask2Former or MaskFormer checkpoint over Swin was Swin at 0.74 to 1.0 (a Swin-L one "1.0" with
microsoft/swin-large-patch4-window7-224 first), a MaskFormer over ResNet DETR at 0.5, and a LoRA on their
transformer decoders OPT or Whisper at 0.3.
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

SWIN = {  # embed_dim, depths, heads, window (facebook's conversions)
    "tiny": (96, [2, 2, 6, 2], [3, 6, 12, 24], 7),
    "small": (96, [2, 2, 18, 2], [3, 6, 12, 24], 7),
    "base": (128, [2, 2, 18, 2], [4, 8, 16, 32], 12),
    "large": (192, [2, 2, 18, 2], [6, 12, 24, 48], 12),
}
STAGES = ["stage1", "stage2", "stage3", "stage4"]
M2F = {  # root: (swin, queries, labels)
    "facebook/mask2former-swin-tiny-coco-instance": ("tiny", 100, 80),
    "facebook/mask2former-swin-small-ade-semantic": ("small", 100, 150),
    "facebook/mask2former-swin-tiny-cityscapes-instance": ("tiny", 100, 8),
    "facebook/mask2former-swin-large-coco-panoptic": ("large", 200, 133),
    "facebook/mask2former-swin-large-ade-semantic": ("large", 100, 150),
    "facebook/mask2former-swin-large-mapillary-vistas-semantic": ("large", 100, 65),
}
MF = {  # root: (backbone, labels)
    "facebook/maskformer-swin-tiny-ade": ("tiny", 150),
    "facebook/maskformer-swin-base-coco": ("base", 133),
    "facebook/maskformer-swin-large-ade": ("large", 150),
    "facebook/maskformer-resnet50-ade": ([3, 4, 6, 3], 150),
    "facebook/maskformer-resnet101-coco-stuff": ([3, 4, 23, 3], 171),
    "facebook/maskformer-resnet50-ade20k-full": ([3, 4, 6, 3], 847),
}


def _swin(size: str, maskformer: bool = False):
    import transformers as tf

    dim, depths, heads, window = SWIN[size]
    cls = tf.MaskFormerSwinConfig if maskformer else tf.SwinConfig
    return cls(embed_dim=dim, depths=depths, num_heads=heads, window_size=window, out_features=STAGES)


def _m2f(size: str, queries: int = 100, labels: int = 150):
    import transformers as tf

    config = tf.Mask2FormerConfig(backbone_config=_swin(size), num_queries=queries, num_labels=labels)
    with torch.device("meta"):
        return tf.Mask2FormerForUniversalSegmentation(config)


def _mf(backbone, labels: int = 150):
    import transformers as tf

    if isinstance(backbone, list):  # a ResNet's blocks per stage
        backbone = tf.ResNetConfig(depths=backbone, out_features=STAGES)
    else:
        backbone = _swin(backbone, maskformer=True)
    with torch.device("meta"):
        return tf.MaskFormerForInstanceSegmentation(tf.MaskFormerConfig(backbone_config=backbone, num_labels=labels))


@pytest.mark.parametrize("root", sorted(M2F))
def test_a_full_mask2former_checkpoint_is_its_root(root, tmp_path):
    report = inspect_built(_m2f(*M2F[root]), tmp_path)
    assert report["family"] == "mask2former" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report)[0] == root and report["base_model"]["id"] == root and not report["conflicts"]


@pytest.mark.parametrize("root", sorted(MF))
def test_a_full_maskformer_checkpoint_is_its_root(root, tmp_path):
    report = inspect_built(_mf(*MF[root]), tmp_path)
    assert report["family"] == "maskformer" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report)[0] == root and report["base_model"]["id"] == root and not report["conflicts"]


def test_a_fine_tune_on_its_own_labels_names_no_checkpoint_the_labels_do_not(tmp_path):
    # facebook's Swin-T checkpoints differ in their class heads alone: a head of 3 labels fits each as well
    report = inspect_built(_m2f("tiny", 100, 2), tmp_path)
    assert report["family"] == "mask2former" and report["base_model"]["id"] is None
    ids = _ids(report)
    assert {"facebook/mask2former-swin-tiny-ade-semantic", "facebook/mask2former-swin-tiny-coco-instance"} <= set(ids)
    assert not any("-large-" in i or "-small-" in i for i in ids)


def test_a_declared_fine_tune_on_its_own_labels_is_written(tmp_path):
    config = {"model_type": "mask2former", "_name_or_path": "facebook/mask2former-swin-tiny-coco-instance"}
    report = inspect_built(_m2f("tiny", 100, 2), tmp_path, config=config)
    assert report["base_model"]["id"] == "facebook/mask2former-swin-tiny-coco-instance" and not report["conflicts"]


def test_a_declared_checkpoint_the_backbone_rules_out_is_a_conflict(tmp_path):
    config = {"model_type": "mask2former", "_name_or_path": "facebook/mask2former-swin-large-ade-semantic"}
    report = inspect_built(_m2f("tiny", 100, 150), tmp_path, config=config)
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "contradicted"


@pytest.mark.parametrize("saved", [True, False], ids=["saved", "transformers5"])
def test_a_lora_on_mask2former_s_decoder_is_mask2former_s(saved, tmp_path):
    # self-attention q_proj and v_proj in 9 layers: MaskFormer's decoder has 6 (and BART's names)
    report = inspect_built(_m2f("large", 200, 133), tmp_path, lora=("q_proj", "v_proj"), saved=saved)
    assert report["family"] == "mask2former", report["root"]["evidence"]
    assert report["base_model"]["id"] is None and len(_ids(report)) > 3


def test_a_lora_on_mask2former_s_backbone_names_its_size(tmp_path):
    report = inspect_built(_m2f("large", 200, 133), tmp_path, lora=("query", "value"))
    assert report["family"] == "mask2former"
    assert _ids(report) and all("-large-" in i for i in _ids(report))


def test_a_lora_on_maskformer_s_decoder_is_maskformer_s(tmp_path):
    report = inspect_built(_mf("base", 150), tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "maskformer", report["root"]["evidence"]
    assert report["base_model"]["id"] is None


def test_a_declared_maskformer_adapter_is_written(tmp_path):
    config = {"peft_type": "LORA", "base_model_name_or_path": "facebook/maskformer-swin-base-ade"}
    report = inspect_built(_mf("base", 150), tmp_path, lora=("q_proj", "v_proj"), config=config)
    assert report["family"] == "maskformer" and report["base_model"]["id"] == "facebook/maskformer-swin-base-ade"


@pytest.mark.parametrize("size", ["tiny", "large"])
def test_a_swin_stays_a_swin(size, tmp_path):
    import transformers as tf

    dim, depths, heads, window = SWIN[size]
    with torch.device("meta"):
        model = tf.SwinForImageClassification(tf.SwinConfig(embed_dim=dim, depths=depths, num_heads=heads))
    assert inspect_built(model, tmp_path)["family"] == "swin"


def test_names_claim_their_architecture():
    from hfprobe.tree.naming import resolve_name

    assert resolve_name("someone/mask2former-swin-tiny-finetuned-sidewalk")[1] == "mask2former"
    assert resolve_name("someone/maskformer-swin-base-ade-finetuned-roofs")[1] == "maskformer"
    assert resolve_name("facebook/mask2former-swin-large-coco-panoptic")[1] == "mask2former"
    assert resolve_name("shi-labs/oneformer_ade20k_swin_tiny")[1] == "oneformer"


def test_a_fine_tune_s_own_labels_leave_its_config_s_depth_checked(tmp_path):
    # every root misses the class head of 5 labels; that is no reason to read ResNet-101's 23 blocks as a stack of
    # ResNet-50's 6 (the relaxation for a passthrough merge, which a config.json's model_type alone allows)
    model = _mf([3, 4, 23, 3], 5)
    report = inspect_built(model, tmp_path, config=model.config.to_dict())
    assert report["family"] == "maskformer" and _ids(report)
    assert all("resnet101" in i for i in _ids(report)), _ids(report)

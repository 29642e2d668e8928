"""MobileNetV2, MobileViT and EfficientNet: small image classifiers (and segmenters) that transformers' image
classification guides fine-tune. Each has names of its own (`mobilenet_v2.conv_stem.first_conv`, MobileViT's
`encoder.layer.N.fusion`, EfficientNet's `encoder.blocks.N.depthwise_conv`), and its published sizes differ by a
width multiplier (MobileNetV2's 1.4 to 0.35, MobileViT's small to xx-small) or a width and depth coefficient
(EfficientNet B0 to B7: 16 to 55 blocks). MobileViT's transformers have ViT's attention names. Models are built by
transformers on the meta device from the published configurations and written as header-only safetensors files.

Before: none had a family; a LoRA on MobileViT's attention read as ViT.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

MOBILENET = {  # depth multiplier, image size
    "google/mobilenet_v2_1.4_224": (1.4, 224),
    "google/mobilenet_v2_1.0_224": (1.0, 224),
    "google/mobilenet_v2_0.75_160": (0.75, 160),
    "google/mobilenet_v2_0.35_96": (0.35, 96),
}
MOBILEVIT = {  # hidden sizes, neck hidden sizes, expand ratio
    "apple/mobilevit-small": ([144, 192, 240], [16, 32, 64, 96, 128, 160, 640], 4.0),
    "apple/mobilevit-x-small": ([96, 120, 144], [16, 32, 48, 64, 80, 96, 384], 4.0),
    "apple/mobilevit-xx-small": ([64, 80, 96], [16, 16, 24, 48, 64, 80, 320], 2.0),
}
EFFICIENTNET = {  # width coefficient, depth coefficient, image size, hidden dim
    "google/efficientnet-b0": (1.0, 1.0, 224, 1280),
    "google/efficientnet-b1": (1.0, 1.1, 240, 1280),
    "google/efficientnet-b3": (1.2, 1.4, 300, 1536),
    "google/efficientnet-b7": (2.0, 3.1, 600, 2560),
}


def _built(root: str, task: str = "ForImageClassification"):
    import transformers as tf

    if root in MOBILENET:
        multiplier, size = MOBILENET[root]
        config, cls = tf.MobileNetV2Config(depth_multiplier=multiplier, image_size=size, num_labels=1001), "MobileNetV2"
    elif root in MOBILEVIT:
        hidden, neck, expand = MOBILEVIT[root]
        config = tf.MobileViTConfig(hidden_sizes=hidden, neck_hidden_sizes=neck, expand_ratio=expand)
        cls = "MobileViT"
    else:
        width, depth, size, hidden_dim = EFFICIENTNET[root]
        config = tf.EfficientNetConfig(
            width_coefficient=width, depth_coefficient=depth, image_size=size, hidden_dim=hidden_dim
        )
        cls = "EfficientNet"
    with torch.device("meta"):
        return getattr(tf, cls + task)(config)


FAMILY = {**dict.fromkeys(MOBILENET, "mobilenet_v2"), **dict.fromkeys(MOBILEVIT, "mobilevit")}
FAMILY.update(dict.fromkeys(EFFICIENTNET, "efficientnet"))


@pytest.mark.parametrize("root", sorted(FAMILY))
def test_a_classifier_is_its_family_and_names_its_size(root, tmp_path):
    """The sizes checked are a few layers' (the stem, the last convolution, the transformers' widths): they name the
    size, but hold too small a share of the weights to write a base model from the weights alone (its config.json's
    `_name_or_path` does, below; a MobileViT classifier has its DeepLabV3's every checked shape besides). MobileNetV2
    0.35's 1,001-label head is most of it: the family at 0.5."""
    report = inspect_built(_built(root), tmp_path)
    assert report["family"] == FAMILY[root] and report["family_confidence"] >= 0.5, report["root"]["evidence"]
    assert _ids(report)[0] == root and not report["conflicts"]
    reason = report["base_model"]["reason"]
    assert report["base_model"]["id"] is None and (
        "of the parameters are in layers" in reason or "2 known roots" in reason
    )


@pytest.mark.parametrize(
    "root, segmenter",
    [
        ("google/mobilenet_v2_1.0_224", "google/deeplabv3_mobilenet_v2_1.0_513"),
        ("apple/mobilevit-small", "apple/deeplabv3-mobilevit-small"),
        ("apple/mobilevit-xx-small", "apple/deeplabv3-mobilevit-xx-small"),
    ],
)
def test_a_deeplab_segmenter_is_its_backbone_s_family(root, segmenter, tmp_path):
    report = inspect_built(_built(root, "ForSemanticSegmentation"), tmp_path)
    assert report["family"] == FAMILY[root] and {root, segmenter} <= set(_ids(report)[:2]), _ids(report)
    assert not report["conflicts"]


def test_a_lora_on_mobilevit_s_attention_is_mobilevit_not_vit(tmp_path):
    """MobileViT's transformers are named as ViT's (`attention.attention.query`) under its own prefix."""
    report = inspect_built(_built("apple/mobilevit-x-small"), tmp_path, lora=["query", "value"])
    assert report["family"] == "mobilevit" and _ids(report)[0] == "apple/mobilevit-x-small"


def test_a_declared_mobilenet_is_written_and_a_wrong_size_is_a_conflict(tmp_path):
    config = {"model_type": "mobilenet_v2", "_name_or_path": "google/mobilenet_v2_1.0_224"}
    report = inspect_built(_built("google/mobilenet_v2_1.0_224"), tmp_path / "a", config=config)
    assert report["base_model"]["id"] == "google/mobilenet_v2_1.0_224" and not report["conflicts"]
    config = {"model_type": "efficientnet", "_name_or_path": "google/efficientnet-b0"}
    report = inspect_built(_built("google/efficientnet-b3"), tmp_path / "b", config=config)
    assert report["conflicts"] and report["base_model"]["id"] != "google/efficientnet-b0"


@pytest.mark.parametrize(
    "name, family",
    [
        ("someorg/mobilenet_v2_1.0_224-finetuned-flowers", "mobilenet_v2"),
        ("someorg/mobilevit-small-finetuned-food101", "mobilevit"),
        ("apple/mobilevitv2-1.0-imagenet1k-256", None),
        ("someorg/efficientnet-b0-finetuned-cifar10", "efficientnet"),
        ("timm/tf_efficientnetv2_s.in21k", None),
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

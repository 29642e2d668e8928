"""Depth Anything V1 and V2 (small, base, large): a DINOv2 encoder under `backbone.`, initialised from DINOv2, then
DPT's neck and a depth head of its own (`head.conv1` to `conv3`). Its encoder has DINOv2's every shape, so its prefix,
neck or head tell it from DINOv2 (`expects`, `convention`). Models are built by transformers on the meta device at the
published sizes and written as header-only safetensors files.

Before: a Depth Anything V2 Small fine-tune was DINOv2 at 1.0 with facebook/dinov2-small written as its base model:
its grandparent, and the Hub's model tree would have put it there.
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

SIZES = {  # DINOv2 width, depth, heads; neck widths; fusion width
    "small": (384, 12, 6, [48, 96, 192, 384], 64),
    "base": (768, 12, 12, [96, 192, 384, 768], 128),
    "large": (1024, 24, 16, [256, 512, 1024, 1024], 256),
}


def _depth_anything(size: str):
    import transformers as tf

    hidden, layers, heads, neck, fusion = SIZES[size]
    stages = [f"stage{i}" for i in range(layers // 4, layers + 1, layers // 4)]
    backbone = tf.Dinov2Config(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, image_size=518, patch_size=14,
        out_features=stages, reshape_hidden_states=False,
    )  # fmt: skip
    config = tf.DepthAnythingConfig(
        backbone_config=backbone, neck_hidden_sizes=neck, fusion_hidden_size=fusion, reassemble_hidden_size=hidden
    )
    with torch.device("meta"):
        return tf.DepthAnythingForDepthEstimation(config)


@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_depth_anything_checkpoint_is_its_own_and_not_dinov2_s(size, tmp_path):
    report = inspect_built(_depth_anything(size), tmp_path)
    assert report["family"] == "depth_anything" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    v2 = f"depth-anything/Depth-Anything-V2-{size.title()}-hf"
    assert set(_ids(report)[:2]) == {v2, f"LiheYoung/depth-anything-{size}-hf"} and _ids(report)[0] == v2
    assert report["base_model"]["id"] is None and not report["conflicts"]  # (V1 and V2 share every shape)


def test_a_declared_depth_anything_is_written(tmp_path):
    config = {"model_type": "depth_anything", "_name_or_path": "depth-anything/Depth-Anything-V2-Small-hf"}
    report = inspect_built(_depth_anything("small"), tmp_path, config=config)
    assert report["base_model"]["id"] == "depth-anything/Depth-Anything-V2-Small-hf" and not report["conflicts"]


def test_dinov2_itself_stays_dinov2(tmp_path):
    import transformers as tf

    with torch.device("meta"):
        model = tf.Dinov2Model(tf.Dinov2Config(hidden_size=384, num_attention_heads=6, image_size=518, patch_size=14))
    report = inspect_built(model, tmp_path)
    assert report["family"] == "dinov2" and report["base_model"]["id"] == "facebook/dinov2-small"


def test_names_claim_their_architecture():
    from hfprobe.tree.naming import resolve_name

    assert resolve_name("someorg/Depth-Anything-V2-Small-hf-finetuned-nyu")[1] == "depth_anything"

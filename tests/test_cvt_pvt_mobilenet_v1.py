"""CvT, PVTv2 and MobileNetV1: image classifiers the registry lacked until stop 82, each built by transformers on the
meta device at its published size and written as a header-only file (a fine-tuned classifier's checkpoint, or a
PEFT LoRA on its Linear layers).

- CvT (Microsoft: cvt-13, cvt-21, cvt-w24): convolutional token embeddings and projections
  (`stages.N.embedding.convolution_embeddings.projection`, `attention.attention.convolution_projection_query`);
- PVTv2 (OpenGVLab: b0 to b5, b2-linear): spatially reduced attention (`layers.N.blocks.M.attention.query`,
  `spatial_reduction`) and an MLP with a depthwise convolution (`mlp.dense1`, `dwconv.dwconv`);
- MobileNetV1 (Google: 1.0_224, 0.75_192): 13 depthwise-separable blocks (`layer.2i`, `layer.2i+1`).

Before: none had a family (no name rule, no root of their shapes).
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

CVT = {  # widths, heads, depths per stage
    "microsoft/cvt-13": ([64, 192, 384], [1, 3, 6], [1, 2, 10]),
    "microsoft/cvt-21": ([64, 192, 384], [1, 3, 6], [1, 4, 16]),
    "microsoft/cvt-w24-384-22k": ([192, 768, 1024], [3, 12, 16], [2, 2, 20]),
}
WIDE = [64, 128, 320, 512]
PVT = {  # widths, depths, MLP ratios
    "OpenGVLab/pvt_v2_b0": ([32, 64, 160, 256], [2, 2, 2, 2], [8, 8, 4, 4]),
    "OpenGVLab/pvt_v2_b1": (WIDE, [2, 2, 2, 2], [8, 8, 4, 4]),
    "OpenGVLab/pvt_v2_b3": (WIDE, [3, 4, 18, 3], [8, 8, 4, 4]),
    "OpenGVLab/pvt_v2_b5": (WIDE, [3, 6, 40, 3], [4, 4, 4, 4]),
}
MOBILENET_V1 = {"google/mobilenet_v1_1.0_224": 1.0, "google/mobilenet_v1_0.75_192": 0.75}


def _built(root: str, num_labels: int = 1000):
    import transformers as tf

    if root in CVT:
        widths, heads, depths = CVT[root]
        cls, config = "Cvt", tf.CvtConfig(embed_dim=widths, num_heads=heads, depth=depths, num_labels=num_labels)
    elif root in PVT:
        widths, depths, ratios = PVT[root]
        config = tf.PvtV2Config(hidden_sizes=widths, depths=depths, mlp_ratios=ratios, num_labels=num_labels)
        cls = "PvtV2"
    else:
        cls, config = "MobileNetV1", tf.MobileNetV1Config(depth_multiplier=MOBILENET_V1[root], num_labels=num_labels)
    with torch.device("meta"):
        return getattr(tf, f"{cls}ForImageClassification")(config)


FAMILY = {**dict.fromkeys(CVT, "cvt"), **dict.fromkeys(PVT, "pvt_v2"), **dict.fromkeys(MOBILENET_V1, "mobilenet_v1")}


@pytest.mark.parametrize("root", sorted(FAMILY))
def test_a_fine_tuned_classifier_names_its_family_and_size(root, tmp_path):
    # (a fine-tune's head has its own labels; CvT's 224 and 384 models, and its 22k-pretrained ones, share every shape)
    report = inspect_built(_built(root, num_labels=7), tmp_path)
    assert report["family"] == FAMILY[root] and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report)[0] == root or root.startswith("microsoft/cvt-"), _ids(report)
    assert root in _ids(report), _ids(report)


def test_cvt_s_sizes_tell_13_from_21(tmp_path):
    # cvt-21 has cvt-13's widths in more layers: a checkpoint of cvt-13's depth is no cvt-21's whole
    report = inspect_built(_built("microsoft/cvt-21"), tmp_path)
    assert {i for i in _ids(report) if "cvt-13" in i} == set(), _ids(report)


@pytest.mark.parametrize("root", ["microsoft/cvt-13", "OpenGVLab/pvt_v2_b1"])
def test_a_lora_on_attention_and_mlp_is_its_family_s(root, tmp_path):
    targets = (
        ["projection_query", "projection_value", "dense"] if "cvt" in root else ["query", "value", "dense1", "dense2"]
    )
    report = inspect_built(_built(root), tmp_path, lora=targets)
    assert report["family"] == FAMILY[root] and root in _ids(report), report["root"]["evidence"]


def test_mobilenet_v1_names_its_depth_multiplier(tmp_path):
    # every convolution's width is the stem's times 1 to 32: 0.75's stem is 24, 1.0's 32
    report = inspect_built(_built("google/mobilenet_v1_0.75_192"), tmp_path)
    assert report["base_model"]["id"] == "google/mobilenet_v1_0.75_192", report["base_model"]


def test_a_mobilenet_v2_stays_mobilenet_v2_s(tmp_path):
    import transformers as tf

    with torch.device("meta"):
        model = tf.MobileNetV2ForImageClassification(tf.MobileNetV2Config(depth_multiplier=1.0))
    report = inspect_built(model, tmp_path)
    assert report["family"] == "mobilenet_v2" and "google/mobilenet_v2_1.0_224" in _ids(report), _ids(report)


@pytest.mark.parametrize(
    "name, family",
    [
        ("microsoft/cvt-13", "cvt"),
        ("someone/cvt-21-finetuned-eurosat", "cvt"),
        ("OpenGVLab/pvt_v2_b2_linear", "pvt_v2"),
        ("someone/mobilenet_v1_0.75_192-finetuned-eurosat", "mobilenet_v1"),
        ("google/mobilenet_v2_1.0_224", "mobilenet_v2"),
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


@pytest.mark.parametrize("model_type, not_family", [("swin2sr", "cvt"), ("mobilevitv2", "mobilenet_v1")])
def test_look_alikes_are_not_theirs(model_type, not_family, tmp_path):
    # Swin2SR's layers are `encoder.stages.N.layers.M` with BERT's dense names (a first draft's CvT rule took those);
    # MobileViTV2's stem is `conv_stem.convolution`, MobileNetV1's 32 wide: its inverted residual blocks rule it out
    from tests.model_shapes import meta_model

    report = inspect_built(meta_model(model_type), tmp_path)
    assert report["family"] != not_family, report["root"]["evidence"]

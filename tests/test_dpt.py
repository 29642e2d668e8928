"""DPT (Intel's DPT-Large, DPT-Hybrid and DPT-Large ADE20K): a ViT encoder under `dpt.`, a neck that reassembles
four blocks' tokens into an image pyramid and fuses it, and a depth or segmentation head. Its encoder has a ViT's
every shape, so its prefix, neck and head tell it from one (`families.json` `dpt`, a `backbone` of ViT's layout).
Models are built by transformers on the meta device at the published sizes and written as header-only files.

Before: a DPT-Large fine-tune was ViT at 0.5 with no root, and a DPT over ViT-B/16 at 384 px (transformers' default
DPTConfig) had google/vit-base-patch16-384 written as its base model.
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

LARGE = dict(
    hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, image_size=384,
    backbone_out_indices=[5, 11, 17, 23], neck_hidden_sizes=[256, 512, 1024, 1024],
)  # fmt: skip
HYBRID = dict(
    is_hybrid=True, image_size=384, backbone_out_indices=[2, 5, 8, 11], neck_hidden_sizes=[256, 512, 768, 768]
)
ROOTS = {  # root: (head, config)
    "Intel/dpt-large": ("depth", LARGE),
    "Intel/dpt-hybrid-midas": ("depth", HYBRID),
    "Intel/dpt-large-ade": (
        "segmentation",
        dict(LARGE, num_labels=150, use_auxiliary_head=True, use_batch_norm_in_fusion_residual=True),
    ),
}


def _dpt(head: str, config: dict):
    import transformers as tf

    cls = tf.DPTForDepthEstimation if head == "depth" else tf.DPTForSemanticSegmentation
    with torch.device("meta"):
        return cls(tf.DPTConfig(**config))


@pytest.mark.parametrize("root", sorted(ROOTS))
def test_a_full_dpt_checkpoint_is_its_root(root, tmp_path):
    report = inspect_built(_dpt(*ROOTS[root]), tmp_path)
    assert report["family"] == "dpt" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report) == [root] and report["base_model"]["id"] == root and not report["conflicts"]


def test_a_lora_on_dpt_large_s_attention_is_dpt_s(tmp_path):
    report = inspect_built(_dpt(*ROOTS["Intel/dpt-large"]), tmp_path, lora=("query", "value"))
    assert report["family"] == "dpt" and set(_ids(report)) == {"Intel/dpt-large", "Intel/dpt-large-ade"}
    assert report["base_model"]["id"] is None  # (depth and ADE20K share the encoder's every shape)


def test_a_declared_dpt_is_written(tmp_path):
    config = {"model_type": "dpt", "_name_or_path": "Intel/dpt-large", "peft_type": "LORA"}
    report = inspect_built(_dpt(*ROOTS["Intel/dpt-large"]), tmp_path, lora=("query", "value"), config=config)
    assert report["base_model"]["id"] == "Intel/dpt-large" and not report["conflicts"]


def test_a_dpt_over_a_vit_no_root_has_is_no_vit_s_fine_tune(tmp_path):
    # transformers' default DPTConfig: ViT-B/16 at 384 px, not hybrid; google/vit-base-patch16-384 has its encoder's
    # every shape, and was written as its base model
    report = inspect_built(_dpt("depth", {}), tmp_path)
    assert report["family"] == "dpt" and report["base_model"]["id"] is None


def test_a_vit_stays_a_vit(tmp_path):
    import transformers as tf

    with torch.device("meta"):
        model = tf.ViTForImageClassification(tf.ViTConfig(**{k: LARGE[k] for k in list(LARGE)[:5]}))
    assert inspect_built(model, tmp_path)["family"] == "vit"


def test_a_dpt_over_dinov2_is_no_depth_anything(tmp_path):
    # facebook/dpt-dinov2-small-nyu's layout: DINOv2 under `backbone.`, DPT's neck and `head.head.N`
    import transformers as tf

    backbone = tf.Dinov2Config(
        hidden_size=384, num_attention_heads=6, image_size=518, patch_size=14,
        out_features=["stage3", "stage6", "stage9", "stage12"], reshape_hidden_states=False,
    )  # fmt: skip
    config = dict(backbone_config=backbone, hidden_size=384, neck_hidden_sizes=[48, 96, 192, 384])
    report = inspect_built(_dpt("depth", config), tmp_path)
    assert report["family"] != "depth_anything"


def test_names_claim_their_architecture():
    from hfprobe.tree.naming import resolve_name

    assert resolve_name("someone/dpt-large-finetuned-nyu")[1] == "dpt"
    assert resolve_name("Intel/dpt-hybrid-midas")[1] == "dpt"
    assert resolve_name("Intel/dpt-beit-large-512")[1] != "dpt"

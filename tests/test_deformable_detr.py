"""Deformable DETR (SenseTime's five COCO checkpoints): DETR's ResNet-50 backbone (timm's names) and heads, a
6-layer encoder and decoder of multi-scale deformable attention (`sampling_offsets`, `attention_weights`,
`value_proj`) 256 wide with an MLP of 1024, over 4 feature levels or 1 (single scale, and its dilated DC5 run: no
weight of another shape). The two-stage model proposes its queries from the encoder (`enc_output`, `pos_trans`) and
has no learned queries. Models are built by transformers on the meta device at the published configurations and
written as header-only safetensors files.

Before: DETR `excludes` deformable attention and nothing else claimed it: a full checkpoint had no family, a LoRA
on its decoder's `q_proj` and `v_proj` OPT's names at 0.3.
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

ROOTS = {  # (feature levels, box refinement, two stage): the roots that fit, best first
    (4, False, False): ["SenseTime/deformable-detr", "SenseTime/deformable-detr-with-box-refine"],
    (4, True, True): ["SenseTime/deformable-detr-with-box-refine-two-stage"],
    (1, False, False): ["SenseTime/deformable-detr-single-scale", "SenseTime/deformable-detr-single-scale-dc5"],
}


def _deformable_detr(levels: int = 4, refine: bool = False, two_stage: bool = False, labels: int = 91):
    import transformers as tf

    config = tf.DeformableDetrConfig(
        num_feature_levels=levels, with_box_refine=refine, two_stage=two_stage, num_labels=labels,
        use_timm_backbone=True, backbone="resnet50", use_pretrained_backbone=False,
    )  # fmt: skip
    with torch.device("meta"):
        return tf.DeformableDetrForObjectDetection(config)


@pytest.mark.parametrize("flags", sorted(ROOTS), ids=["single-scale", "multi-scale", "two-stage"])
def test_a_full_checkpoint_is_deformable_detr_s(flags, tmp_path):
    report = inspect_built(_deformable_detr(*flags), tmp_path)
    assert report["family"] == "deformable_detr" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    roots = ROOTS[flags]
    assert _ids(report) == roots
    assert report["base_model"]["id"] == (roots[0] if len(roots) == 1 else None) and not report["conflicts"]


def test_a_fine_tune_on_its_own_labels_keeps_its_root(tmp_path):
    config = {"model_type": "deformable_detr", "_name_or_path": "SenseTime/deformable-detr"}
    report = inspect_built(_deformable_detr(labels=5), tmp_path, config=config)
    assert report["family"] == "deformable_detr" and _ids(report)[0] == "SenseTime/deformable-detr"
    assert report["base_model"]["id"] == "SenseTime/deformable-detr" and not report["conflicts"]


def test_a_lora_on_its_deformable_attention_is_deformable_detr_s(tmp_path):
    report = inspect_built(_deformable_detr(), tmp_path, lora=("sampling_offsets", "attention_weights", "value_proj"))
    assert report["family"] == "deformable_detr"
    assert set(_ids(report)[:2]) == set(ROOTS[(4, False, False)]) and report["base_model"]["id"] is None


def test_detr_stays_detr(tmp_path):
    import transformers as tf

    config = tf.DetrConfig(use_timm_backbone=True, backbone="resnet50", use_pretrained_backbone=False)
    with torch.device("meta"):
        report = inspect_built(tf.DetrForObjectDetection(config), tmp_path)
    assert report["family"] == "detr" and report["base_model"]["id"] is None  # (R50 and its DC5 run tie)
    assert _ids(report)[0] == "facebook/detr-resnet-50"


def test_names_claim_their_architecture():
    from hfprobe.tree.naming import resolve_name

    assert resolve_name("someone/deformable-detr-finetuned-cppe5")[1] == "deformable_detr"
    assert resolve_name("SenseTime/deformable-detr-with-box-refine")[1] == "deformable_detr"

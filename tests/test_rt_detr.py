"""RT-DETR and RT-DETRv2 (PekingU's R18, R34, R50, R101 checkpoints and the Objects365-pretrained ones): a
ResNet-vd, a hybrid encoder (one attention layer, then CSP blocks across levels) and a decoder of deformable
attention. v2 has v1's every shape but a per-point offset scale in each decoder layer, so a full checkpoint tells
them apart and an adapter does not. Models are built by transformers on the meta device at the published sizes
(its conversion scripts' `get_rt_detr_config`) and written as header-only safetensors files.

Before: no family for either (a full checkpoint), and a LoRA on `q_proj` and `v_proj` was OPT's at 0.3.
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

SIZES = {  # layer type, stage widths, depths, encoder inputs, encoder width, its MLP, CSP expansion, decoder layers
    "r18vd": ("basic", [64, 128, 256, 512], [2, 2, 2, 2], [128, 256, 512], 256, 1024, 0.5, 3),
    "r34vd": ("basic", [64, 128, 256, 512], [3, 4, 6, 3], [128, 256, 512], 256, 1024, 0.5, 4),
    "r50vd": ("bottleneck", [256, 512, 1024, 2048], [3, 4, 6, 3], [512, 1024, 2048], 256, 1024, 1.0, 6),
    "r101vd": ("bottleneck", [256, 512, 1024, 2048], [3, 4, 23, 3], [512, 1024, 2048], 384, 2048, 1.0, 6),
}


def _rt_detr(size: str, v2: bool = False, labels: int = 80):
    import transformers as tf

    kind, widths, depths, enc_in, hidden, ffn, expansion, dec = SIZES[size]
    backbone = tf.RTDetrResNetConfig(
        layer_type=kind, hidden_sizes=widths, depths=depths, out_features=["stage2", "stage3", "stage4"]
    )
    config_cls, model_cls = (
        (tf.RTDetrV2Config, tf.RTDetrV2ForObjectDetection) if v2 else (tf.RTDetrConfig, tf.RTDetrForObjectDetection)
    )
    config = config_cls(
        backbone_config=backbone, encoder_in_channels=enc_in, encoder_hidden_dim=hidden, encoder_ffn_dim=ffn,
        hidden_expansion=expansion, decoder_in_channels=[hidden] * 3, decoder_layers=dec, num_labels=labels,
    )  # fmt: skip
    with torch.device("meta"):
        return model_cls(config)


def _root(size: str, v2: bool) -> str:
    return f"PekingU/rtdetr_{'v2_' if v2 else ''}{size}"


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_full_checkpoint_is_its_version_and_size(size, v2, tmp_path):
    report = inspect_built(_rt_detr(size, v2), tmp_path)
    assert report["family"] == ("rt_detr_v2" if v2 else "rt_detr") and report["family_confidence"] == 1.0
    root = _root(size, v2)
    assert _ids(report)[0] == root, report["root"]["evidence"]
    if v2 or size == "r34vd":  # one root of these shapes
        assert report["base_model"]["id"] == root
    else:  # the Objects365-pretrained model has every shape of the COCO one
        assert _ids(report)[1] == f"{root}_coco_o365" and report["base_model"]["id"] is None
    assert not report["conflicts"]


@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_lora_names_the_size_not_the_version(size, tmp_path):
    report = inspect_built(_rt_detr(size, True), tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] in ("rt_detr", "rt_detr_v2"), report["root"]["evidence"]
    assert set(_ids(report)[:2]) == {_root(size, False), _root(size, True)}
    assert report["base_model"]["id"] is None


def test_a_fine_tune_on_other_labels_keeps_its_root(tmp_path):
    report = inspect_built(_rt_detr("r50vd", True, labels=3), tmp_path)
    assert report["base_model"]["id"] == "PekingU/rtdetr_v2_r50vd"


def test_a_declared_base_is_written(tmp_path):
    config = {"model_type": "rt_detr", "_name_or_path": "PekingU/rtdetr_r50vd"}
    report = inspect_built(_rt_detr("r50vd", labels=5), tmp_path, config=config)
    assert report["base_model"]["id"] == "PekingU/rtdetr_r50vd" and not report["conflicts"]


def test_a_deformable_detr_lora_is_no_rt_detr(tmp_path):
    # Deformable DETR's decoder has RT-DETR's self-attention names and widths; its encoder has no hybrid encoder
    import transformers as tf

    backbone = tf.ResNetConfig(out_features=["stage2", "stage3", "stage4"])
    with torch.device("meta"):
        model = tf.DeformableDetrForObjectDetection(
            tf.DeformableDetrConfig(use_timm_backbone=False, backbone_config=backbone)
        )
    report = inspect_built(model, tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] not in ("rt_detr", "rt_detr_v2")


def test_names_claim_their_architecture():
    from hfprobe.tree.naming import resolve_name

    assert resolve_name("someone/rtdetr_v2_r50vd-finetuned-cppe5")[1] == "rt_detr_v2"
    assert resolve_name("someone/rt-detr-r18-aquarium")[1] == "rt_detr"


@pytest.mark.parametrize("model_type", ["d_fine", "pp_doclayout_v3"])
def test_rt_detr_s_kin_are_no_rt_detr(model_type, tmp_path):
    # D-FINE (an HGNetV2 backbone, a fine-grained box decoder) and PP-DocLayout (mask and reading-order heads) keep
    # RT-DETR's hybrid encoder and decoder names: PP-DocLayout V3 was RT-DETR at 1.0 before RT-DETR excluded them
    from transformers import AutoConfig, AutoModel

    with torch.device("meta"):
        model = AutoModel.from_config(AutoConfig.for_model(model_type))
    report = inspect_built(model, tmp_path)
    assert report["family"] not in ("rt_detr", "rt_detr_v2") and report["base_model"]["id"] is None

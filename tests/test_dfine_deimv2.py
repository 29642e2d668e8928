"""D-FINE (USTC; ustc-community's conversions) and DEIMv2 (Intellindust): RT-DETR's kin. D-FINE keeps RT-DETR's layout
over an HGNetV2 backbone, with ELAN blocks in its encoder, a gate after its decoder's deformable attention and a box
head of bins; DEIMv2 puts its backbone (an HGNetV2, or a DINOv3 ViT) behind `model.conv_encoder` and has a SwiGLU
decoder. Models are built by transformers on the meta device at the published sizes (transformers' conversion
scripts' configurations) and written as header-only files.

Before: D-FINE and DEIMv2 named no family (RT-DETR excludes their names), a LoRA on them OPT's names at 0.3.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built, meta_model

torch.set_num_threads(1)

HGNET = {  # stem, stage in, mid and out widths, blocks a stage, layers a block, learnable affine blocks
    "B0": ([3, 16, 16], [16, 64, 256, 512], [16, 32, 64, 128], [64, 256, 512, 1024], [1, 1, 2, 1], 3, True),
    "B2": ([3, 24, 32], [32, 96, 384, 768], [32, 64, 128, 256], [96, 384, 768, 1536], [1, 1, 3, 1], 4, True),
    "B4": ([3, 32, 48], [48, 128, 512, 1024], [48, 96, 192, 384], [128, 512, 1024, 2048], [1, 1, 3, 1], 6, False),
    "B5": ([3, 32, 64], [64, 128, 512, 1024], [64, 128, 256, 512], [128, 512, 1024, 2048], [1, 2, 5, 2], 6, False),
}
DFINE = {  # backbone, stages used, encoder width and MLP, CSP expansion and depth, decoder width, MLP, layers, points
    "nano": ("B0", [3, 4], 128, 512, 0.34, 0.5, 128, 512, 3, [6, 6]),
    "small": ("B0", [2, 3, 4], 256, 1024, 0.5, 0.34, 256, 1024, 3, [3, 6, 3]),
    "medium": ("B2", [2, 3, 4], 256, 1024, 1.0, 0.67, 256, 1024, 4, [3, 6, 3]),
    "large": ("B4", [2, 3, 4], 256, 1024, 1.0, 1.0, 256, 1024, 6, [3, 6, 3]),
    "xlarge": ("B5", [2, 3, 4], 384, 2048, 1.0, 1.0, 256, 1024, 6, [3, 6, 3]),
}


def _hgnet(name: str, stages: list[int], **more):
    import transformers as tf

    stem, ins, mids, outs, blocks, layers, affine = HGNET[name]
    n = len(outs)
    return tf.HGNetV2Config(
        stem_channels=stem, stage_in_channels=ins, stage_mid_channels=mids, stage_out_channels=outs,
        hidden_sizes=outs, stage_num_blocks=blocks, stage_numb_of_layers=[layers] * n, depths=[layers] * n,
        stage_downsample=[False] + [True] * (n - 1), stage_light_block=[False, False] + [True] * (n - 2),
        stage_kernel_size=[3, 3] + [5] * (n - 2), out_indices=stages, use_learnable_affine_block=affine,
        stage_names=["stem"] + [f"stage{i + 1}" for i in range(n)], **more,
    )  # fmt: skip


def _dfine(size: str, labels: int = 80):
    import transformers as tf

    bb, stages, enc, enc_ffn, expansion, depth, d_model, ffn, layers, points = DFINE[size]
    widths = [HGNET[bb][3][s - 1] for s in stages]
    config = tf.DFineConfig(
        backbone_config=_hgnet(bb, stages), encoder_in_channels=widths, feat_strides=[8, 16, 32][-len(stages):],
        num_feature_levels=len(stages), encoder_hidden_dim=enc, encoder_ffn_dim=enc_ffn,
        encode_proj_layers=[len(stages) - 1], hidden_expansion=expansion, depth_mult=depth, d_model=d_model,
        decoder_in_channels=[enc] * len(stages), decoder_ffn_dim=ffn, decoder_layers=layers, decoder_n_points=points,
        num_labels=labels,
    )  # fmt: skip
    with torch.device("meta"):
        return tf.DFineForObjectDetection(config)


def _deimv2(size: str):
    """DEIMv2 Atto (a 3-stage HGNetV2, a light encoder), N (HGNetV2-B0) or S (a DINOv3-distilled ViT 192 wide)."""
    import transformers as tf

    common = dict(num_labels=80, decoder_activation_function="silu")
    if size == "atto":
        outs = [64, 256, 256]
        backbone = tf.HGNetV2Config(
            stem_channels=[3, 16, 16], stage_in_channels=[16, 64, 256], stage_mid_channels=[16, 32, 64],
            stage_out_channels=outs, hidden_sizes=outs, stage_num_blocks=[1, 1, 1], stage_numb_of_layers=[3] * 3,
            depths=[3] * 3, stage_downsample=[False, True, True], stage_light_block=[False, False, True],
            stage_kernel_size=[3, 3, 3], out_indices=[3], use_learnable_affine_block=True,
            stage_names=["stem", "stage1", "stage2", "stage3"],
        )  # fmt: skip
        config = tf.Deimv2Config(
            backbone_config=backbone, encoder_type="lite", encoder_layers=0, encoder_hidden_dim=64,
            encoder_in_channels=[256], feat_strides=[16], hidden_expansion=0.34, depth_mult=0.5, d_model=64,
            decoder_ffn_dim=160, decoder_layers=3, num_feature_levels=2, decoder_n_points=[4, 2], num_queries=100,
            decoder_in_channels=[64, 64], share_bbox_head=True, use_gateway=False, **common,
        )  # fmt: skip
    elif size == "n":
        config = tf.Deimv2Config(
            backbone_config=_hgnet("B0", [3, 4]), encoder_hidden_dim=128, encoder_in_channels=[512, 1024],
            feat_strides=[16, 32], hidden_expansion=0.34, depth_mult=0.5, encoder_ffn_dim=512, encode_proj_layers=[1],
            d_model=128, decoder_ffn_dim=512, decoder_layers=3, num_feature_levels=2, decoder_n_points=[6, 6],
            decoder_in_channels=[128, 128], **common,
        )  # fmt: skip
    else:
        vit = tf.DINOv3ViTConfig(
            hidden_size=192, num_attention_heads=3, num_hidden_layers=12, intermediate_size=768, layerscale_value=1.0,
            num_register_tokens=0, key_bias=False, rope_theta=100.0, out_indices=[4, 8, 12], apply_layernorm=False,
            reshape_hidden_states=True,
        )  # fmt: skip
        config = tf.Deimv2Config(
            backbone_config=vit, spatial_tuning_adapter_inplanes=16, encoder_has_trailing_conv=False,
            encoder_hidden_dim=192, encoder_in_channels=[192] * 3, hidden_expansion=0.34, depth_mult=0.67,
            encoder_ffn_dim=512, d_model=192, decoder_ffn_dim=512, decoder_layers=4, decoder_n_points=[3, 6, 3],
            decoder_in_channels=[192] * 3, **common,
        )  # fmt: skip
    with torch.device("meta"):
        return tf.Deimv2ForObjectDetection(config)


@pytest.mark.parametrize("size", sorted(DFINE))
def test_a_d_fine_checkpoint_is_its_size(size, tmp_path):
    # COCO (80 labels), Objects365 (366) and COCO after Objects365 (`obj2coco`, 80): the labels part them, softly
    report = inspect_built(_dfine(size), tmp_path)
    assert report["family"] == "d_fine" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report)[0] == f"ustc-community/dfine-{size}-coco"
    assert all(f"dfine-{size}-" in i for i in _ids(report)), _ids(report)
    assert report["base_model"]["id"] == (f"ustc-community/dfine-{size}-coco" if size == "nano" else None)


def test_an_objects365_checkpoint_is_the_objects365_model(tmp_path):
    report = inspect_built(_dfine("large", labels=366), tmp_path)
    assert report["family"] == "d_fine" and report["base_model"]["id"] == "ustc-community/dfine-large-obj365"


def test_a_fine_tune_on_labels_of_its_own_keeps_its_size(tmp_path):
    report = inspect_built(_dfine("medium", labels=5), tmp_path)
    assert report["family"] == "d_fine" and all("dfine-medium-" in i for i in _ids(report)), _ids(report)
    assert report["base_model"]["id"] is None  # (COCO's, Objects365's: a fine-tune's labels say neither)


@pytest.mark.parametrize("size", ["small", "xlarge"])
def test_a_lora_on_d_fine_s_attention_ties_rt_detr_s(size, tmp_path):
    # RT-DETR R18's and R101's encoder and decoder have D-FINE-S's and -X's widths and depths: q and v say no more
    report = inspect_built(_dfine(size), tmp_path, lora=("q_proj", "v_proj"), saved=False)
    assert f"ustc-community/dfine-{size}-coco" in _ids(report) and report["base_model"]["id"] is None
    assert report["family"] in ("d_fine", "rt_detr", "rt_detr_v2") and report["family_confidence"] < 0.6


def test_a_declared_d_fine_fine_tune_is_written(tmp_path):
    config = {"model_type": "d_fine", "_name_or_path": "ustc-community/dfine-small-obj2coco"}
    report = inspect_built(_dfine("small", labels=3), tmp_path, config=config)
    assert report["base_model"]["id"] == "ustc-community/dfine-small-obj2coco" and not report["conflicts"]


@pytest.mark.parametrize("size", ["atto", "n", "s"])
def test_a_deimv2_checkpoint_is_its_size(size, tmp_path):
    report = inspect_built(_deimv2(size), tmp_path)
    assert report["family"] == "deimv2" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    name = {"atto": "HGNetv2_ATTO", "n": "HGNetv2_N", "s": "DINOv3_S"}[size]
    assert _ids(report) == [f"Intellindust/DEIMv2_{name}_COCO"]


def test_a_lora_on_deimv2_n_ties_d_fine_n(tmp_path):
    # DEIMv2-N's attention has D-FINE-N's every size: an adapter on q and v writes neither
    report = inspect_built(_deimv2("n"), tmp_path, lora=("q_proj", "v_proj"))
    assert set(_ids(report)[:2]) == {"Intellindust/DEIMv2_HGNetv2_N_COCO", "ustc-community/dfine-nano-coco"}
    assert report["base_model"]["id"] is None and report["family_confidence"] < 0.7


def test_a_lora_on_deimv2_s_is_deimv2_s_by_its_backbone(tmp_path):
    # its ViT's attention (`conv_encoder.backbone.model.layer.N.attention.q_proj`) is no DINOv3 checkpoint's
    report = inspect_built(_deimv2("s"), tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "deimv2" and _ids(report) == ["Intellindust/DEIMv2_DINOv3_S_COCO"]


def test_names_claim_their_architecture():
    assert resolve_name("ustc-community/dfine-xlarge-obj2coco")[1] == "d_fine"
    assert resolve_name("someone/d-fine-s-finetuned-cppe5")[1] == "d_fine"
    assert resolve_name("someone/sd-finetuned-cats")[1] != "d_fine"
    assert resolve_name("Intellindust/DEIMv2_DINOv3_X_COCO")[1] == "deimv2"
    assert resolve_name("PekingU/rtdetr_v2_r18vd")[1] == "rt_detr_v2"


@pytest.mark.parametrize("model_type", ["dab-detr", "omdet-turbo"])
def test_detr_s_backbone_and_rt_detr_s_kin_are_neither(model_type, tmp_path):
    # DAB-DETR's backbone is DETR's `backbone.conv_encoder` (DEIMv2's wrapper is `model.conv_encoder`); OmDet-Turbo
    # keeps RT-DETR's encoder names beside projections of its own: each read D-FINE or DEIMv2 at 0.3 in a first draft
    model = meta_model(model_type)
    assert inspect_built(model, tmp_path)["family"] not in ("d_fine", "deimv2")

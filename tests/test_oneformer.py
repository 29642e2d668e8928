"""OneFormer (shi-labs' checkpoints): Mask2Former's Swin and pixel decoder beside a task encoder, a query transformer
and a transformer decoder of its own names; Swin-T and Swin-L or DiNAT-L backbones (`families.json` `oneformer`).
Within a backbone the queries and the class head tell the checkpoints apart, both soft. Models are built by
transformers on the meta device at the published sizes and written as header-only files (DiNAT's backbone needs the
`natten` package only to run, so its check is skipped while it is built).

Before: a OneFormer checkpoint was Swin at 0.5, a LoRA on its decoder OPT's names at 0.3.
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built
from tests.test_maskformer import STAGES, _m2f, _swin

torch.set_num_threads(1)

ROOTS = {  # root: (backbone, queries, labels)
    "shi-labs/oneformer_ade20k_swin_tiny": ("swin_tiny", 150, 150),
    "shi-labs/oneformer_ade20k_swin_large": ("swin_large", 250, 150),
    "shi-labs/oneformer_coco_swin_large": ("swin_large", 150, 133),
    "shi-labs/oneformer_cityscapes_swin_large": ("swin_large", 250, 19),
    "shi-labs/oneformer_ade20k_dinat_large": ("dinat_large", 250, 150),
    "shi-labs/oneformer_cityscapes_dinat_large": ("dinat_large", 250, 19),
}


def _backbone(name: str, monkeypatch):
    import transformers as tf

    if name.startswith("swin_"):  # Mask2Former's Swin-T and Swin-L
        return _swin(name.removeprefix("swin_"))
    import transformers.models.dinat.modeling_dinat as dinat

    monkeypatch.setattr(dinat, "requires_backends", lambda *args, **kwargs: None)
    return tf.DinatConfig(
        embed_dim=192, depths=[3, 4, 18, 5], num_heads=[6, 12, 24, 48], kernel_size=11, mlp_ratio=2.0,
        dilations=[[1, 20, 1], [1, 5, 1, 10], [1, 2, 1, 3, 1, 4, 1, 5, 1, 2, 1, 3, 1, 4, 1, 5, 1, 5], [1, 1, 1, 1, 1]],
        out_features=STAGES,
    )  # fmt: skip


def _oneformer(backbone: str, queries: int, labels: int, monkeypatch):
    import transformers as tf

    config = tf.OneFormerConfig(
        backbone_config=_backbone(backbone, monkeypatch), num_queries=queries,
        id2label={i: str(i) for i in range(labels)},
    )  # fmt: skip
    with torch.device("meta"):
        return tf.OneFormerForUniversalSegmentation(config)


@pytest.mark.parametrize("root", sorted(ROOTS))
def test_a_full_oneformer_checkpoint_is_its_root(root, tmp_path, monkeypatch):
    report = inspect_built(_oneformer(*ROOTS[root], monkeypatch), tmp_path)
    assert report["family"] == "oneformer" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report)[0] == root and report["base_model"]["id"] == root and not report["conflicts"]


def test_a_dinat_oneformer_is_no_swin_one(tmp_path, monkeypatch):
    # DiNAT-L has Swin-L's stage widths: its names and depths tell them apart
    report = inspect_built(_oneformer("dinat_large", 250, 3, monkeypatch), tmp_path)
    assert report["family"] == "oneformer" and report["base_model"]["id"] is None
    assert _ids(report) and all("dinat" in i for i in _ids(report)), _ids(report)


@pytest.mark.parametrize("saved", [True, False], ids=["saved", "transformers5"])
def test_a_lora_on_oneformer_s_decoder_is_oneformer_s(saved, tmp_path, monkeypatch):
    model = _oneformer("swin_large", 250, 150, monkeypatch)
    report = inspect_built(model, tmp_path, lora=("q_proj", "v_proj"), saved=saved)
    assert report["family"] == "oneformer", report["root"]["evidence"]
    assert report["base_model"]["id"] is None
    if saved:  # the decoder's every shape is every checkpoint's
        ids = _ids(report)
        assert "shi-labs/oneformer_ade20k_swin_tiny" in ids and any("dinat" in i for i in ids), ids
    else:  # transformers 5 names Swin's attention `q_proj` too: the backbone's widths say Swin-L
        assert _ids(report) and all("swin_large" in i for i in _ids(report)), _ids(report)


def test_a_lora_on_the_pixel_decoder_alone_is_no_one_s_for_sure(tmp_path, monkeypatch):
    # Mask2Former's pixel decoder, name for name and size for size: either family, no root written
    report = inspect_built(_oneformer("swin_tiny", 150, 150, monkeypatch), tmp_path, lora=("value_proj", "output_proj"))
    assert report["family"] in {"oneformer", "mask2former"} and report["family_confidence"] < 1.0
    assert report["base_model"]["id"] is None


def test_a_declared_oneformer_is_written(tmp_path, monkeypatch):
    config = {"peft_type": "LORA", "base_model_name_or_path": "shi-labs/oneformer_ade20k_swin_tiny"}
    model = _oneformer("swin_tiny", 150, 150, monkeypatch)
    report = inspect_built(model, tmp_path, lora=("q_proj", "v_proj"), config=config)
    assert report["family"] == "oneformer" and report["base_model"]["id"] == "shi-labs/oneformer_ade20k_swin_tiny"


def test_mask2former_is_no_oneformer(tmp_path):
    assert inspect_built(_m2f("tiny", 100, 150), tmp_path / "full")["family"] == "mask2former"
    (tmp_path / "lora").mkdir()
    assert inspect_built(_m2f("tiny"), tmp_path / "lora", lora=("q_proj", "v_proj"))["family"] == "mask2former"


def test_names_claim_their_architecture():
    from hfprobe.tree.naming import resolve_name

    assert resolve_name("shi-labs/oneformer_ade20k_swin_tiny")[1] == "oneformer"
    assert resolve_name("someone/oneformer-finetuned-sidewalk")[1] == "oneformer"

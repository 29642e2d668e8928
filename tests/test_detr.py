"""Detection transformers: DETR (a ResNet whose last stage feeds a 6-layer encoder and decoder 256 wide over learned
object queries), Table Transformer (DETR over a ResNet-18) and Conditional DETR (its decoder's attention in content
and position projections). Their object-detection fine-tunes start from facebook/detr-resnet-50 (the guides' base),
microsoft/table-transformer-* or microsoft/conditional-detr-resnet-50, and are saved whole with transformers 4's
names: the backbone in timm's ResNet names under `model.backbone.conv_encoder.model`, the layers in BART's. Models
are built by transformers on the meta device at the published sizes and written as header-only safetensors files.

Before: a full checkpoint had no family (its backbone's ResNet names, excluded for its heads, were the first rule)
and a LoRA on its attention read as Whisper at 0.3.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

R50 = "facebook/detr-resnet-50"


def _detr(cls: str = "DetrForObjectDetection", **config):
    import transformers as tf

    config_cls = getattr(tf, cls.replace("ForObjectDetection", "Config"))
    with torch.device("meta"):
        return getattr(tf, cls)(config_cls(use_pretrained_backbone=False, **config))


def test_a_coco_fine_tune_reads_as_detr_with_the_r50_models_first(tmp_path):
    report = inspect_built(_detr(num_labels=5), tmp_path)
    assert report["family"] == "detr" and report["family_confidence"] >= 0.9
    assert _ids(report)[:2] == [R50, "facebook/detr-resnet-50-dc5"]  # (dilation changes no weight's shape)
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"


def test_the_backbone_s_depth_tells_r101_in_either_backbone_s_names(tmp_path):
    import transformers as tf

    timm = inspect_built(_detr(backbone="resnet101", num_labels=5), tmp_path / "timm")
    assert timm["family"] == "detr" and set(_ids(timm)) == {"facebook/detr-resnet-101", "facebook/detr-resnet-101-dc5"}
    # the `no_timm` revision's transformers ResNet (`encoder.stages.2.layers.22`)
    native = tf.ResNetConfig(out_features=["stage4"], depths=[3, 4, 23, 3])
    report = inspect_built(_detr(use_timm_backbone=False, backbone_config=native), tmp_path / "native")
    assert report["family"] == "detr" and report["root"]["id"] == "facebook/detr-resnet-101"


def test_another_number_of_queries_lowers_the_roots_and_writes_none(tmp_path):
    report = inspect_built(_detr(num_labels=5, num_queries=20), tmp_path)
    assert report["family"] == "detr" and report["root"]["id"] == R50 and report["base_model"]["id"] is None
    assert any("another number of object queries" in e for e in report["root"]["evidence"])


@pytest.mark.parametrize(
    "queries, labels, root",
    [(15, 2, "microsoft/table-transformer-detection"), (125, 6, "microsoft/table-transformer-structure-recognition")],
)
def test_table_transformer_is_detr_over_a_resnet_18_its_queries_telling_the_task(queries, labels, root, tmp_path):
    model = _detr("TableTransformerForObjectDetection", backbone="resnet18", num_queries=queries, num_labels=labels)
    report = inspect_built(model, tmp_path, config=model.config.to_dict())  # (model_type table-transformer)
    assert report["family"] == "detr" and report["root"]["id"] == root and not report["conflicts"]
    assert report["base_model"]["id"] == root


def test_conditional_detr_is_told_by_its_decoder(tmp_path):
    report = inspect_built(_detr("ConditionalDetrForObjectDetection", num_labels=91), tmp_path)
    assert report["family"] == "conditional_detr" and _ids(report) == ["microsoft/conditional-detr-resnet-50"]
    detr = inspect_built(_detr(num_labels=91, num_queries=300), tmp_path / "detr")
    assert detr["family"] == "detr"  # (300 queries, Conditional DETR's, but no content and position projections)


@pytest.mark.parametrize("cls", ["DeformableDetrForObjectDetection", "DabDetrForObjectDetection"])
def test_deformable_and_dab_detr_are_neither(cls, tmp_path):
    report = inspect_built(_detr(cls), tmp_path)
    assert report["family"] not in ("detr", "conditional_detr") and report["base_model"]["id"] is None


@pytest.mark.parametrize("saved", [True, False])
def test_a_lora_on_its_attention_takes_its_declared_base(saved, tmp_path):
    """A LoRA on q_proj and v_proj has BART's names at 256 wide and nothing of DETR's own: it stays unsure (Whisper's
    names, no root) unless its adapter_config.json names a DETR, which is then written, not a conflict."""
    model = _detr(num_labels=5)
    plain = inspect_built(model, tmp_path / "plain", lora=("q_proj", "v_proj"), saved=saved)
    assert plain["family"] not in ("detr", "conditional_detr") and plain["base_model"]["id"] is None
    config = {"peft_type": "LORA", "base_model_name_or_path": R50, "r": 8, "lora_alpha": 16}
    declared = inspect_built(model, tmp_path / "declared", lora=("q_proj", "v_proj"), saved=saved, config=config)
    assert declared["family"] == "detr" and declared["base_model"]["id"] == R50 and not declared["conflicts"]


def test_a_bart_256_wide_is_no_detr(tmp_path):
    import transformers as tf

    config = tf.BartConfig(d_model=256, encoder_ffn_dim=2048, decoder_ffn_dim=2048, encoder_layers=6, decoder_layers=6)
    with torch.device("meta"):
        bart = tf.BartForConditionalGeneration(config)
    for report in (inspect_built(bart, tmp_path / "full"), inspect_built(bart, tmp_path / "lora", lora=("q_proj",))):
        assert report["family"] not in ("detr", "conditional_detr")


def test_names_say_detr():
    assert resolve_name("someone/detr-resnet-50-finetuned-cppe5") == (None, "detr")
    assert resolve_name("someone/table-transformer-structure-recognition-v1.1-fin")[1] == "detr"
    assert resolve_name("someone/conditional-detr-resnet-50-finetuned-cppe5")[1] == "conditional_detr"
    assert resolve_name("facebook/detr-resnet-50")[0] == R50


def test_its_class_head_names_the_objects_it_detects(tmp_path):
    """`class_labels_classifier` holds a row per label; DETR's one more, for "no object", which config.json's
    `id2label` does not name (before, the head was not read: a detector's labels went unsaid)."""
    names = {0: "person", 1: "car", 2: "dog"}
    detr = _detr(num_labels=3, id2label=names)
    head = inspect_built(detr, tmp_path / "detr", config=detr.config.to_dict())["head"]
    assert head["module"] == "class_labels_classifier" and head["outputs"] == 4
    assert head["labels"] == ["person", "car", "dog", "(no object)"]
    conditional = _detr("ConditionalDetrForObjectDetection", num_labels=3, id2label=names)
    head = inspect_built(conditional, tmp_path / "cond", config=conditional.config.to_dict())["head"]
    assert head["outputs"] == 3 and head["labels"] == ["person", "car", "dog"]
    assert inspect_built(detr, tmp_path / "bare")["head"] == {  # no config: its size alone
        "module": "class_labels_classifier",
        "outputs": 4,
        "task": None,
        "labels": None,
    }


def test_a_declared_deeper_backbone_is_written_as_declared_and_said_not_to_fit_its_depth(tmp_path):
    """R50 weights whose config.json names detr-resnet-101: a full checkpoint holds every block of its own, so 6
    of R101's 23 blocks in the third stage is a pruned or distilled model, or a wrong claim. It was "the weights
    fit it"."""
    model = _detr(num_labels=5)
    config = dict(model.config.to_dict(), _name_or_path="facebook/detr-resnet-101")
    decision = inspect_built(model, tmp_path, config=config)["base_model"]
    assert decision["id"] == "facebook/detr-resnet-101" and decision["status"] == "declared"
    assert "not its depth (6 of 23 d2" in decision["reason"] and not decision["reason"].endswith("the weights fit it")


@pytest.mark.parametrize("name", ["seresnet50", "resnet50d", "resnet18d"])
def test_timm_s_resnet_variants_are_no_detr(name, tmp_path):
    """timm's SE-ResNet and deep-stemmed ResNets, excluded from ResNet, have a DETR backbone's every size but none
    of its encoder, decoder or heads (`requires`: a full DETR holds its d_model layers): they were DETR at 0.5."""
    import timm

    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False)
    assert inspect_built(model, tmp_path, saved=False)["family"] is None

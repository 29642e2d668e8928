"""ResNet and ConvNeXt, in transformers' names (`resnet.encoder.stages.N.layers.N.layer.N.convolution`,
`convnext.encoder.stages.N.layers.N.pwconv1`) and in torchvision's and timm's (`layer1.0.conv1`,
`stages.N.blocks.N.conv_dw`), on shapes the libraries build on the meta device with the published configs. They
were no family at all: an image classifier fine-tuned from microsoft/resnet-50 or facebook/convnext-tiny-224, the
most fine-tuned CNNs on the Hub, was "unknown"."""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.tree.classify import classify
from hfprobe.tree.inspect import inspect_source
from hfprobe.tree.names import shapes_from_raw
from tests.builders import write_header
from tests.model_shapes import module_shapes

# microsoft/resnet-*'s config.json: basic blocks for 18 and 34, bottlenecks (four times wider out) from 26 on
RESNETS = {
    "microsoft/resnet-18": dict(hidden_sizes=[64, 128, 256, 512], depths=[2, 2, 2, 2], layer_type="basic"),
    "microsoft/resnet-34": dict(hidden_sizes=[64, 128, 256, 512], depths=[3, 4, 6, 3], layer_type="basic"),
    "microsoft/resnet-50": dict(depths=[3, 4, 6, 3]),
    "microsoft/resnet-101": dict(depths=[3, 4, 23, 3]),
    "microsoft/resnet-152": dict(depths=[3, 8, 36, 3]),
}


def _transformers(**kw):
    from transformers import ResNetConfig, ResNetForImageClassification

    with torch.device("meta"):
        return ResNetForImageClassification(ResNetConfig(num_labels=10, **kw))


def _timm(name: str):
    timm = pytest.importorskip("timm")
    return timm.create_model(name, pretrained=False, num_classes=10)


@pytest.mark.parametrize("root", sorted(RESNETS))
def test_a_resnet_is_its_root_by_its_stages(root):
    """Each stage's widths and block count: ResNet-50's third stage of 6 blocks is no ResNet-101's of 23, although
    ResNet-101 has every width of it (a full checkpoint holds each block of its own)."""
    r = classify(module_shapes(_transformers(**RESNETS[root])))
    assert r.family == "resnet" and r.family_confidence == 1.0, r.evidence
    assert r.candidates[0]["id"] == root, r.candidates


@pytest.mark.parametrize(
    "name, root, lookalike",
    [
        ("resnet50", "microsoft/resnet-50", "timm/resnet50.a1_in1k"),
        ("resnet18", "microsoft/resnet-18", "timm/resnet18.a1_in1k"),
    ],
)
def test_torchvision_and_timm_names_are_the_same_resnets(name, root, lookalike):
    """timm's and torchvision's ResNet-50 has microsoft/resnet-50's every shape: the weights leave both (and timm's
    own ImageNet runs, trained apart), each a candidate."""
    r = classify(module_shapes(_timm(name)))
    ids = [c["id"] for c in r.candidates]
    assert r.family == "resnet" and ids[0] == root and lookalike in ids, ids
    assert r.confidence < 0.8  # shapes alone cannot tell the runs apart


@pytest.mark.parametrize("name", ["resnext50_32x4d", "wide_resnet50_2"])
def test_a_resnet_variant_of_other_widths_gets_no_root(name):
    """ResNeXt's grouped 3x3 convolutions and Wide ResNet's doubled bottlenecks have ResNet's names, none of its
    roots' sizes: the family from the names, at most a coin's worth, and no root."""
    r = classify(module_shapes(_timm(name)))
    assert r.family == "resnet" and r.family_confidence <= 0.5 and not r.candidates, r.evidence
    assert r.base_model["id"] is None


@pytest.mark.parametrize("name", ["seresnet50", "resnet50d", "resnetrs50", "legacy_seresnet50"])
def test_a_resnet_variant_trained_apart_at_its_sizes_is_no_resnet(name):
    """SE-ResNet-50 and ResNet-50-D have ResNet-50's every convolution in its stages (they were ResNet at 1.0, root
    microsoft/resnet-50): their squeeze-excitation and deep stem say they are other models."""
    raw = _raw(_timm(name))
    assert classify(shapes_from_raw(raw), names=list(raw)).family != "resnet"


def test_a_detection_transformer_over_a_resnet_is_no_resnet():
    """DETR's backbone is a ResNet-50, most of its weights: the model, a detector, was ResNet at 1.0."""
    from transformers import DetrConfig, DetrForObjectDetection

    with torch.device("meta"):
        raw = _raw(DetrForObjectDetection(DetrConfig(use_timm_backbone=False)))
    assert classify(shapes_from_raw(raw), names=list(raw)).family != "resnet"


def test_a_resnet_fine_tune_writes_its_declared_base_and_reads_its_head(tmp_path):
    """A classifier fine-tuned from microsoft/resnet-50 as transformers saves it: config.json names the base
    (`_name_or_path`) and the labels; base_model is written, the head read; a declaration the stages rule out (a
    ResNet-18 named on ResNet-50's weights) is a conflict."""
    model = _transformers(**RESNETS["microsoft/resnet-50"])
    tensors = {k: ("F32", tuple(v.shape)) for k, v in model.state_dict().items()}
    write_header(tmp_path / "model.safetensors", tensors, data=False)
    labels = {str(i): f"class {i}" for i in range(10)}
    config = {"model_type": "resnet", "_name_or_path": "microsoft/resnet-50", "id2label": labels}
    (tmp_path / "config.json").write_text(json.dumps(config))
    report = inspect_source(str(tmp_path))
    assert report["family"] == "resnet" and not report["conflicts"], report["conflicts"]
    assert report["base_model"]["id"] == "microsoft/resnet-50"
    assert report["head"]["outputs"] == 10
    config["_name_or_path"] = "microsoft/resnet-18"
    (tmp_path / "config.json").write_text(json.dumps(config))
    report = inspect_source(str(tmp_path))
    assert report["base_model"]["id"] is None and report["conflicts"]


def _raw(model) -> dict:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize(
    "sizes, depths, roots",
    [
        ([96, 192, 384, 768], [3, 3, 9, 3], ["facebook/convnext-tiny-224"]),
        ([96, 192, 384, 768], [3, 3, 27, 3], ["facebook/convnext-small-224"]),
        ([128, 256, 512, 1024], [3, 3, 27, 3], ["facebook/convnext-base-224", "facebook/convnext-base-224-22k"]),
    ],
)
def test_a_convnext_is_its_root_by_its_stages(sizes, depths, roots):
    """A width and a block count per stage: tiny and small share every width, not the third stage's depth; base's
    ImageNet-1k and -22k runs share every shape, so both lead."""
    from transformers import ConvNextConfig, ConvNextForImageClassification

    with torch.device("meta"):
        model = ConvNextForImageClassification(ConvNextConfig(hidden_sizes=sizes, depths=depths))
    raw = _raw(model)
    r = classify(shapes_from_raw(raw), names=list(raw))
    assert r.family == "convnext" and r.family_confidence == 1.0, r.evidence
    assert sorted(c["id"] for c in r.candidates[: len(roots)]) == sorted(roots), r.candidates


def test_timm_convnext_names_and_convnext_v2():
    """timm's names (`stages.N.blocks.N.conv_dw`, `mlp.fc1`: a ViT's MLP names under a stage, which no ViT has) are
    the same ConvNeXt; ConvNeXt V2's global response normalisation (`grn`) is no ConvNeXt's, in either's names."""
    from transformers import ConvNextV2Config, ConvNextV2ForImageClassification

    tiny = _raw(_timm("convnext_tiny"))
    r = classify(shapes_from_raw(tiny), names=list(tiny))
    assert r.family == "convnext" and r.candidates[0]["id"] == "facebook/convnext-tiny-224", r.evidence
    with torch.device("meta"):
        v2 = _raw(ConvNextV2ForImageClassification(ConvNextV2Config()))
    for raw in (v2, _raw(_timm("convnextv2_tiny"))):
        assert classify(shapes_from_raw(raw), names=list(raw)).family != "convnext"


@pytest.mark.parametrize(
    "name, family",
    [
        ("someone/resnet50-finetuned-cifar10", "resnet"),
        ("timm/resnet50d.ra2_in1k", None),  # ResNet-D's deep stem: a variant, no claim
        ("timm/resnext50_32x4d.a1h_in1k", None),
        ("google/bit-50", None),
        ("someone/convnext-tiny-224-finetuned-eurosat", "convnext"),
        ("facebook/convnextv2-tiny-1k-224", "convnextv2"),  # (a family since stop 75: tests/test_deit_convnextv2.py)
        ("someone/convnextv2-tiny-1k-224-finetuned-eurosat", "convnextv2"),
        ("timm/convnext_atto.d2_in1k", None),  # timm's V1 blocks at V2's atto widths: sizes no ConvNeXt root has
    ],
)
def test_declared_cnn_names_claim_their_family_or_nothing(name, family):
    from hfprobe.tree.naming import resolve_name

    assert resolve_name(name)[1] == family

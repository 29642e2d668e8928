"""ViTs pretrained without labels: MAE (facebook/vit-mae-base, -large, -huge: masked autoencoding, `model_type:
vit_mae`) and MSN (facebook/vit-msn-*: masked siamese networks, `vit_msn`) are ViT's layers, so they are ViT's roots.
An MAE pretraining checkpoint holds its decoder (`decoder.decoder_layers`: 8 blocks 512 wide, a pixel head of 768
values per 16 px patch, 588 per 14 px one), which names it; its fine-tunes are saved as ViTs
(ViTForImageClassification), in ViT-B/16's every shape, so their metadata names the pretraining they started from.
ViT-H/14 is MAE-huge's and google/vit-huge-patch14-224-in21k's: the weights alone name neither.

Models are built by transformers on the meta device at the published sizes and written as header-only safetensors
files; transformers 5 writes MAE's decoder as `decoder.decoder_encoder.layer.N`, the Hub's files (transformers 4)
as `decoder.decoder_layers.N`: both are read.

Before: an MAE pretraining checkpoint was ViT at 0.3 with no root (its decoder's 512-wide attention ruled out every
ViT), `model_type: vit_mae` an architecture the registry lacked (the family at 0.5 at most), a fine-tune naming
facebook/vit-mae-base got no `base_model`, and a ViT-H/14 had no root.
"""

from __future__ import annotations

import re

import pytest
import torch

from tests.builders import write_header
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built, saved_shapes

torch.set_num_threads(1)

SIZES = {
    "facebook/vit-mae-base": dict(),
    "facebook/vit-mae-large": dict(
        hidden_size=1024, num_hidden_layers=24, intermediate_size=4096, num_attention_heads=16
    ),
    "facebook/vit-mae-huge": dict(
        hidden_size=1280, num_hidden_layers=32, intermediate_size=5120, num_attention_heads=16, patch_size=14
    ),
}


def _model(cls: str, config: str, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**kw))


@pytest.mark.parametrize("root", sorted(SIZES))
def test_an_mae_pretraining_checkpoint_is_named_by_its_decoder(root, tmp_path):
    report = inspect_built(_model("ViTMAEForPreTraining", "ViTMAEConfig", **SIZES[root]), tmp_path)
    assert report["family"] == "vit" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report) == [root] and report["base_model"]["id"] == root


def test_the_hub_s_mae_files_in_transformers_4_s_names_are_read_too(tmp_path):
    """`decoder.decoder_layers.N.attention.attention.query`, as facebook/vit-mae-base's model.safetensors has it."""
    shapes = saved_shapes(_model("ViTMAEForPreTraining", "ViTMAEConfig"))
    hub = {re.sub(r"^decoder\.decoder_encoder\.layer\.", "decoder.decoder_layers.", k): s for k, s in shapes.items()}
    assert any(k.startswith("decoder.decoder_layers.7.attention.attention.query") for k in hub)
    write_header(tmp_path / "model.safetensors", {k: ("F16", s) for k, s in hub.items()}, data=False)
    from hfprobe.tree.inspect import inspect_source

    report = inspect_source(str(tmp_path))
    assert _ids(report) == ["facebook/vit-mae-base"] and report["base_model"]["id"] == "facebook/vit-mae-base"


def test_a_vit_fine_tuned_from_mae_is_written_as_its_config_names_it(tmp_path):
    model = _model("ViTForImageClassification", "ViTConfig", num_labels=10)
    bare = inspect_built(model, tmp_path / "bare")
    assert bare["family"] == "vit" and "facebook/vit-mae-base" in _ids(bare)
    assert _ids(bare)[0].startswith("google/") and bare["base_model"]["id"] is None
    config = {"model_type": "vit", "_name_or_path": "facebook/vit-mae-base"}
    declared = inspect_built(model, tmp_path / "declared", config=config)
    assert declared["base_model"]["id"] == "facebook/vit-mae-base" and not declared["conflicts"]


def test_mae_s_model_type_is_vit_s_family(tmp_path):
    report = inspect_built(_model("ViTMAEModel", "ViTMAEConfig"), tmp_path, config={"model_type": "vit_mae"})
    assert report["family"] == "vit" and report["family_confidence"] == 1.0
    assert "facebook/vit-mae-base" in _ids(report) and not report["conflicts"]


def test_a_vit_h14_is_mae_huge_s_or_google_s(tmp_path):
    model = _model("ViTForImageClassification", "ViTConfig", num_labels=10, **SIZES["facebook/vit-mae-huge"])
    report = inspect_built(model, tmp_path)
    assert set(_ids(report)) == {"google/vit-huge-patch14-224-in21k", "facebook/vit-mae-huge"}
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"


def test_msn_s_patch_4_model_is_named_and_its_fine_tune_s_config_is_written(tmp_path):
    report = inspect_built(_model("ViTMSNModel", "ViTMSNConfig", patch_size=4), tmp_path / "b4")
    assert report["family"] == "vit" and report["base_model"]["id"] == "facebook/vit-msn-base-4"
    model = _model("ViTMSNForImageClassification", "ViTMSNConfig", num_labels=3)
    config = {"model_type": "vit_msn", "_name_or_path": "facebook/vit-msn-base"}
    declared = inspect_built(model, tmp_path / "cls", config=config)
    assert declared["family"] == "vit" and declared["base_model"]["id"] == "facebook/vit-msn-base"

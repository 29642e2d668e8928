"""BEiT and DiT: a ViT with LayerScale (`lambda_1`, `lambda_2`) whose image-classification fine-tunes start from
Microsoft's checkpoints. BEiT has a relative position bias in place of a position table: one shared by every block
in the self-supervised `-pt22k` models (which a fine-tune in transformers keeps shared, and BEiT's own fine-tuning
code copies into every block), one per block in the fine-tuned ones, its size set by the resolution
((2 x side/16 - 1)^2 + 3: 732 at 224 px, 2,212 at 384, 3,972 at 512, 6,244 at 640). DiT, BEiT's layers trained on
document images, has a position table instead. Models are built by transformers (or timm) on the meta device at
the published sizes and written as header-only safetensors files.

Before: `beit.` was a prefix of an architecture the registry lacked, so a BEiT fine-tune was ViT at 0.3 (a LoRA on
it 0.5, google/vit-base-patch16-224-in21k first) with no root of its own, and a timm BEiT ViT at 0.3.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

PT = "microsoft/beit-base-patch16-224-pt22k"
FT22K = "microsoft/beit-base-patch16-224-pt22k-ft22k"
LARGE = dict(hidden_size=1024, num_hidden_layers=24, intermediate_size=4096, num_attention_heads=16)


def _beit(cls: str = "BeitForImageClassification", **config):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(tf.BeitConfig(**config))


def test_a_fine_tune_with_a_bias_per_block_reads_as_beit_and_names_none_of_its_look_alikes(tmp_path):
    report = inspect_built(_beit(use_relative_position_bias=True, num_labels=10), tmp_path)
    assert report["family"] == "beit" and report["family_confidence"] >= 0.9
    ids = _ids(report)
    assert ids[0] == FT22K and {PT, "microsoft/beit-base-patch16-224"} <= set(ids[:3])
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"
    assert not any(i.startswith("google/") or "dit-" in i for i in ids)


def test_a_shared_bias_is_the_self_supervised_model_s(tmp_path):
    report = inspect_built(_beit(use_shared_relative_position_bias=True, use_mask_token=True, num_labels=10), tmp_path)
    assert report["family"] == "beit" and _ids(report) == [PT]
    assert report["base_model"]["id"] == PT and report["base_model"]["status"] == "weights"


@pytest.mark.parametrize(
    "config, root",
    [
        (dict(image_size=384), "microsoft/beit-base-patch16-384"),
        (dict(LARGE, image_size=512), "microsoft/beit-large-patch16-512"),
        (dict(LARGE), "microsoft/beit-large-patch16-224-pt22k-ft22k"),
    ],
)
def test_the_bias_table_and_the_widths_tell_the_resolution_and_the_size(config, root, tmp_path):
    report = inspect_built(_beit(use_relative_position_bias=True, num_labels=10, **config), tmp_path)
    assert report["family"] == "beit" and report["root"]["id"] == root


def test_a_segmentation_fine_tune_at_640_px_is_the_ade20k_model_s(tmp_path):
    model = _beit("BeitForSemanticSegmentation", use_relative_position_bias=True, image_size=640, num_labels=150,
                  out_indices=[3, 5, 7, 11])  # fmt: skip
    report = inspect_built(model, tmp_path)
    assert report["family"] == "beit" and report["root"]["id"] == "microsoft/beit-base-finetuned-ade-640-640"


def test_dit_has_a_position_table_and_no_bias(tmp_path):
    dit = inspect_built(_beit(use_absolute_position_embeddings=True, num_labels=16), tmp_path / "dit")
    assert dit["family"] == "beit" and set(_ids(dit)) == {"microsoft/dit-base", "microsoft/dit-base-finetuned-rvlcdip"}
    assert dit["base_model"]["id"] is None  # (the two share every shape)
    beit = inspect_built(_beit(use_relative_position_bias=True), tmp_path / "beit")
    assert not any("dit-" in i for i in _ids(beit))


@pytest.mark.parametrize("saved, modules", [(True, ("query", "value")), (False, ("q_proj", "v_proj"))])
def test_an_adapter_under_the_prefix_is_beit_s_and_takes_its_declared_base(saved, modules, tmp_path):
    model = _beit(use_relative_position_bias=True, num_labels=10)
    bare = inspect_built(model, tmp_path / "bare", lora=modules, saved=saved)
    assert bare["family"] == "beit" and bare["family_confidence"] >= 0.9 and bare["base_model"]["id"] is None
    config = {"peft_type": "LORA", "base_model_name_or_path": "microsoft/dit-base", "r": 8, "lora_alpha": 16}
    declared = inspect_built(model, tmp_path / "declared", lora=modules, saved=saved, config=config)
    assert declared["base_model"]["id"] == "microsoft/dit-base" and not declared["conflicts"]


def test_an_adapter_saved_without_the_prefix_keeps_its_declared_beit(tmp_path):
    """A LoRA on a bare BeitModel has nothing of BEiT's own (its names and sizes are a ViT-B's): it reads as ViT, as
    before, and where its adapter_config.json names a BEiT, that base is written, not a conflict."""
    model = _beit("BeitModel", use_relative_position_bias=True)
    plain = inspect_built(model, tmp_path / "plain", lora=("query", "value"))
    assert plain["family"] == "vit" and plain["base_model"]["id"] is None
    config = {"peft_type": "LORA", "base_model_name_or_path": FT22K, "r": 8, "lora_alpha": 16}
    declared = inspect_built(model, tmp_path / "declared", lora=("query", "value"), config=config)
    assert declared["family"] == "beit" and declared["base_model"]["id"] == FT22K and not declared["conflicts"]


def test_a_fine_tune_of_the_self_supervised_model_may_copy_its_bias_into_every_block(tmp_path):
    """BEiT's own fine-tuning code copies pt22k's shared bias into each block: a config naming pt22k over biases
    per block is that, not a contradiction."""
    model = _beit(use_relative_position_bias=True, num_labels=10)
    for name in (PT, FT22K):
        config = dict(model.config.to_dict(), _name_or_path=name)
        report = inspect_built(model, tmp_path / name.rsplit("/")[-1], config=config)
        assert report["family"] == "beit" and report["base_model"]["id"] == name and not report["conflicts"]


@pytest.mark.parametrize(
    "name, root", [("beit_base_patch16_224", FT22K), ("beit_base_patch16_384", "microsoft/beit-base-patch16-384")]
)
def test_timm_s_beit_is_beit(name, root, tmp_path):
    """timm's BEiT: `blocks.N.attn.relative_position_bias_table` (its separate q and v biases are EVA's too)."""
    import timm

    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False)
    report = inspect_built(model, tmp_path, saved=False)
    assert report["family"] == "beit" and report["root"]["id"] == root


def test_a_vit_is_no_beit(tmp_path):
    """ViT-B/16's every layer has BEiT-B's and DiT-B's sizes (DiT's position table too): it has no LayerScale."""
    import transformers as tf

    with torch.device("meta"):
        vit = tf.ViTForImageClassification(tf.ViTConfig())
    report = inspect_built(vit, tmp_path / "vit")
    assert report["family"] == "vit" and not any(i.startswith("microsoft/") for i in _ids(report))
    lora = inspect_built(vit.vit, tmp_path / "vit-lora", lora=("query", "value"))  # bare: no `vit.` to place it
    fitted = next(e for e in lora["root"]["evidence"] if e.startswith("weights fit roots of"))
    assert lora["family"] == "vit" and "beit" not in fitted


def test_names_say_beit():
    assert resolve_name("someone/beit-base-patch16-224-pt22k-ft22k-finetuned-eurosat") == (None, "beit")
    assert resolve_name("someone/dit-base-finetuned-rvlcdip-v2")[1] == "beit"
    assert resolve_name("microsoft/beit-base-patch16-224")[0] == "microsoft/beit-base-patch16-224"
    assert resolve_name("someone/beit3-base-vqa")[1] != "beit"  # BEiT-3: another architecture

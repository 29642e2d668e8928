"""Chinese-CLIP (`chinese_clip`): OFA-Sys's CLIP vision towers beside Chinese RoBERTa text towers. Before, its
checkpoints read as CLIP at 0.5 (their vision tower), its text tower's names unread."""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import inspect_built, meta_model

torch.set_num_threads(1)

_TEXT_B = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, vocab_size=21128)
_VISION_L = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, patch_size=14)


def _cnclip(vision: dict, projection: int):
    import transformers as tf

    config = tf.ChineseCLIPConfig(text_config=_TEXT_B, vision_config=vision, projection_dim=projection)
    with torch.device("meta"):
        return tf.ChineseCLIPModel(config)


@pytest.mark.parametrize(
    "image, root",
    [(224, "OFA-Sys/chinese-clip-vit-large-patch14"), (336, "OFA-Sys/chinese-clip-vit-large-patch14-336px")],
)
def test_a_chinese_clip_checkpoint_names_its_root(image, root, tmp_path):
    report = inspect_built(_cnclip(dict(_VISION_L, image_size=image), 768), tmp_path)
    assert report["family"] == "chinese_clip" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, report["root"]


def test_a_lora_on_both_towers_is_chinese_clip_and_on_its_text_tower_alone_unsure(tmp_path):
    """Its text tower has BERT's names and widths under `text_model.` (CLAP's, ALIGN's too): a LoRA on it alone
    (`query`, `value`) is unsure of its family and writes no base; with the vision tower's `q_proj`, `v_proj`,
    Chinese-CLIP."""
    model = _cnclip(dict(_VISION_L, image_size=224), 768)
    both = inspect_built(model, tmp_path / "both", lora=("query", "value", "q_proj", "v_proj"))
    assert both["family"] == "chinese_clip" and both["family_confidence"] == 1.0, both["root"]["evidence"]
    text = inspect_built(model, tmp_path / "text", lora=("query", "value"))
    assert text["family_confidence"] < 0.9, (text["family"], text["family_confidence"])
    assert text["base_model"]["id"] is None


def test_a_clip_vision_tower_alone_stays_clip(tmp_path):
    """CLIP ViT-L/14's vision tower is Chinese-CLIP L/14's in every size: without Chinese-CLIP's text tower, CLIP's."""
    report = inspect_built(meta_model("clip_vision_model", **dict(_VISION_L, image_size=224)), tmp_path)
    assert report["family"] == "clip" and report["root"]["id"] == "openai/clip-vit-large-patch14", report["root"]

"""YOLOS: a ViT that detects, the object-detection base of many fine-tunes (hustvl/yolos-tiny, -small). 100 detection
tokens follow the patches, so its position table holds 1 + patches + 100 rows at the training resolution (4,251 for
tiny at 800 x 1333 px, 1,829 for the small models at 512 x 864, 4,301 for base at 800 x 1344); the small and base
models add a position table before each block (`vit.encoder.mid_position_embeddings`). Its heads are DETR's MLPs,
the class head's last layer 92 wide (COCO's 91 ids and "no object"). It is saved under ViT's prefix, `vit.`. Models
are built by transformers on the meta device at the published sizes and written as header-only safetensors files.

Before: a YOLOS checkpoint was ViT at 1.0 with ViT's roots as candidates (google/vit-base-patch16-224-in21k first
for yolos-base, DeiT-tiny for yolos-tiny; none written, the position table "resized"), and its class head unread.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

SIZES = {  # hidden, heads, ffn, layers, image size, position tables before each block
    "hustvl/yolos-tiny": (192, 3, 768, 12, [800, 1333], False),
    "hustvl/yolos-small": (384, 6, 1536, 12, [512, 864], True),
    "hustvl/yolos-small-dwr": (330, 6, 1320, 14, [512, 864], True),
    "hustvl/yolos-base": (768, 12, 3072, 12, [800, 1344], True),
}


def _yolos(root: str, **kw):
    import transformers as tf

    hidden, heads, ffn, layers, image, mid = SIZES[root]
    sizes = dict(hidden_size=hidden, num_attention_heads=heads, intermediate_size=ffn, num_hidden_layers=layers)
    config = tf.YolosConfig(**sizes, image_size=image, use_mid_position_embeddings=mid, **kw)
    with torch.device("meta"):
        return tf.YolosForObjectDetection(config)


@pytest.mark.parametrize("root", ["hustvl/yolos-tiny", "hustvl/yolos-small-dwr", "hustvl/yolos-base"])
def test_a_yolos_fine_tune_is_named_from_its_position_table_and_widths(root, tmp_path):
    report = inspect_built(_yolos(root, num_labels=91), tmp_path)
    assert report["family"] == "yolos" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == root and report["base_model"]["status"] == "weights"
    assert not any(i.startswith(("google/", "facebook/")) for i in _ids(report))


def test_the_two_small_runs_tie(tmp_path):
    report = inspect_built(_yolos("hustvl/yolos-small", num_labels=91), tmp_path)
    assert report["family"] == "yolos" and _ids(report) == ["hustvl/yolos-small", "hustvl/yolos-small-300"]
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"


def test_its_class_head_is_read_with_the_no_object_class(tmp_path):
    """The class MLP's last layer (`class_labels_classifier.layers.2`) is the head; config.json's id2label names all
    but its last row, DETR's "no object"."""
    model = _yolos("hustvl/yolos-tiny", num_labels=3, id2label={0: "balloon", 1: "kite", 2: "drone"})
    report = inspect_built(model, tmp_path, config=model.config.to_dict())
    head = report["head"]
    assert head["module"] == "class_labels_classifier.layers.2" and head["outputs"] == 4
    assert head["labels"] == ["balloon", "kite", "drone", "(no object)"]


def test_a_lora_on_its_attention_is_vit_s_unless_declared(tmp_path):
    """A LoRA on query and value has ViT's names under ViT's prefix and DeiT-S's sizes: nothing of YOLOS's own."""
    bare = inspect_built(_yolos("hustvl/yolos-small"), tmp_path / "bare", lora=["query", "value"])
    assert bare["family"] == "vit" and bare["base_model"]["id"] is None
    config = {"base_model_name_or_path": "hustvl/yolos-small"}
    declared = inspect_built(_yolos("hustvl/yolos-small"), tmp_path / "declared", ["query", "value"], config=config)
    assert declared["family"] == "yolos" and declared["base_model"]["id"] == "hustvl/yolos-small"
    assert not declared["conflicts"]


def test_a_vit_is_no_yolos(tmp_path):
    import transformers as tf

    with torch.device("meta"):
        model = tf.ViTForImageClassification(tf.ViTConfig())
    report = inspect_built(model, tmp_path)
    assert report["family"] == "vit" and not any(i.startswith("hustvl/") for i in _ids(report))


def test_yolos_names_claim_the_family():
    assert resolve_name("hustvl/yolos-small") == ("hustvl/yolos-small", "yolos")
    assert resolve_name("someone/yolos-tiny-finetuned-balloon")[1] == "yolos"

"""BridgeTower as a family: a RoBERTa text tower and an OpenAI-CLIP vision tower bridged by 6 cross-modal layers a
side, pretrained as a whole. Before, its checkpoints read RoBERTa at 0.92 with roberta-base as their root (its text
tower's every size), its LoRAs BERT at 0.73. Built by transformers on the meta device at the published sizes and
written as header-only safetensors files."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids, inspect_built, meta_class

torch.set_num_threads(1)

LARGE = dict(hidden_size=1024, num_attention_heads=16)
LARGE["text_config"] = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
LARGE["vision_config"] = dict(hidden_size=1024, num_hidden_layers=24, patch_size=14, image_size=294)
LARGES = {f"BridgeTower/bridgetower-large-itm-mlm{s}" for s in ("", "-itc", "-gaudi")}


@pytest.mark.parametrize("cls", ["BridgeTowerModel", "BridgeTowerForImageAndTextRetrieval", "BridgeTowerForMaskedLM"])
@pytest.mark.parametrize("lora", [(), ("query", "value")])
def test_base_is_named_and_large_lists_its_three_releases(cls, lora, tmp_path):
    base = inspect_built(meta_class(cls, "BridgeTowerConfig"), tmp_path / "base", lora=lora)
    assert base["family"] == "bridgetower" and base["family_confidence"] == 1.0, base["root"]["evidence"]
    assert candidate_ids(base) == ["BridgeTower/bridgetower-base"]
    assert base["base_model"]["id"] == (None if lora else "BridgeTower/bridgetower-base")
    large = inspect_built(meta_class(cls, "BridgeTowerConfig", **LARGE), tmp_path / "large", lora=lora)
    assert large["family"] == "bridgetower" and set(candidate_ids(large)) == LARGES
    assert large["base_model"]["id"] is None


def test_a_lora_declaring_the_itm_mlm_base_is_its_tree_s(tmp_path):
    config = {"peft_type": "LORA", "base_model_name_or_path": "BridgeTower/bridgetower-base-itm-mlm"}
    model = meta_class("BridgeTowerModel", "BridgeTowerConfig")
    report = inspect_built(model, tmp_path, lora=("query",), config=config)
    assert report["root"]["tree"]["id"] == "BridgeTower/bridgetower-base" and not report["conflicts"]


def test_its_name_and_prose_claim_it():
    from hfprobe.tree.declared import declared_claims

    assert resolve_name("someone/bridgetower-large-itm-mlm-finetuned-vqa")[1] == "bridgetower"
    mentions = declared_claims(texts={"README.md": "Retrieval with BridgeTower."})[0]["README.md mentions"]
    assert mentions == {"bridgetower": 1}, mentions

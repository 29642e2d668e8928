"""Phi-3.5-MoE (`phimoe`): LLaMA's attention and Mixtral's expert names, 16 experts of 6,400 and Phi-3's 32,064
tokens; GRIN-MoE its twin in every size, SlimMoE's Phi-tiny-MoE pruned from it. Before, a checkpoint read as Mixtral
at 0.3 with no root (an architecture the registry lacked), and one of Phi-tiny-MoE too. Checkpoints are written as
`save_pretrained` names them (`block_sparse_moe.experts.M.w1`), header only, from transformers' own model built on
the meta device at each published configuration.
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.model_shapes import candidate_ids, inspect_shapes, saved_shapes

torch.set_num_threads(1)

PHI_3_5_MOE = dict(hidden_size=4096, intermediate_size=6400, num_hidden_layers=32, num_attention_heads=32,
                   num_key_value_heads=8, num_local_experts=16, vocab_size=32064)  # fmt: skip
# Phi-tiny-MoE-instruct's config: 16 heads of an explicit 128 (not 4096 / 16), experts of 448
PHI_TINY_MOE = dict(PHI_3_5_MOE, intermediate_size=448, num_attention_heads=16, num_key_value_heads=4, head_dim=128)


def _checkpoint(**config) -> dict:
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model("phimoe", **config))
    return saved_shapes(model)


@pytest.fixture(scope="module")
def phi_3_5_moe() -> dict:
    return _checkpoint(**PHI_3_5_MOE)


def test_a_phi_3_5_moe_checkpoint_names_its_tree_not_mixtral_s(phi_3_5_moe, tmp_path):
    assert "model.layers.0.block_sparse_moe.experts.15.w1.weight" in phi_3_5_moe  # (Mixtral's names, as saved)
    report = inspect_shapes(tmp_path, phi_3_5_moe)
    assert report["family"] == "phimoe" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    # GRIN-MoE has every size of it: the weights name the tree, not which of the two
    assert set(candidate_ids(report)) == {"microsoft/Phi-3.5-MoE-instruct", "microsoft/GRIN-MoE"}
    assert report["root"]["id"] == "microsoft/Phi-3.5-MoE-instruct" and report["base_model"]["id"] is None


def test_its_config_s_name_tells_the_twins_apart(phi_3_5_moe, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "grinmoe", "_name_or_path": "microsoft/GRIN-MoE"}))
    report = inspect_shapes(tmp_path, phi_3_5_moe)
    assert report["family"] == "phimoe" and report["root"]["id"] == "microsoft/GRIN-MoE", report["root"]
    assert report["base_model"]["id"] == "microsoft/GRIN-MoE" and not report["conflicts"]


def test_phi_tiny_moe_is_its_own_root(tmp_path):
    report = inspect_shapes(tmp_path, _checkpoint(**PHI_TINY_MOE))
    assert report["family"] == "phimoe" and candidate_ids(report) == ["microsoft/Phi-tiny-MoE-instruct"]
    assert report["base_model"]["id"] == "microsoft/Phi-tiny-MoE-instruct"


def test_mixtral_stays_mixtral(tmp_path):
    """Mixtral 8x7B's names are Phi-3.5-MoE's, its sizes not: 8 experts of 14,336 and 32,000 tokens."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = dict(PHI_3_5_MOE, intermediate_size=14336, num_local_experts=8, vocab_size=32000)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model("mixtral", **config))
    report = inspect_shapes(tmp_path, saved_shapes(model))
    assert report["family"] == "mixtral" and report["family_confidence"] == 1.0
    assert set(candidate_ids(report)) == {"mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"}

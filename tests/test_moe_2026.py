"""2026's open mixtures on layouts the registry had: GLM-5 (`glm_moe_dsa`: DeepSeek-V3.2's names at its own sizes),
Solar Open 100B (`solar_open`: GLM-4.5's names, fewer of them) and Mistral Small 4 (`mistral4`, under `mistral3`'s
vision tower: DeepSeek-V3's names). Before, GLM-5 read as DeepSeek-V3 at 0.3, Solar Open as GLM-4.5 at 0.3, Mistral
Small 4 as DeepSeek-V3 at 0.3 (with its config.json, `mistral3`, a conflict: "config.json says Mistral"), none with a
root. Each checkpoint is transformers' own model at the published configuration, built on the meta device, written
header-only under the names `save_pretrained` gives it.
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.model_shapes import candidate_ids, inspect_shapes, saved_shapes

torch.set_num_threads(1)

GLM_5 = dict(hidden_size=6144, intermediate_size=12288, num_hidden_layers=78, num_attention_heads=64,
             num_key_value_heads=64, q_lora_rank=2048, kv_lora_rank=512, qk_nope_head_dim=192, qk_rope_head_dim=64,
             v_head_dim=256, n_routed_experts=256, n_shared_experts=1, moe_intermediate_size=2048,
             num_experts_per_tok=8, first_k_dense_replace=3, vocab_size=154880, index_n_heads=32,
             index_head_dim=128)  # fmt: skip
GLM_5_RELEASES = ["zai-org/GLM-5", "zai-org/GLM-5.1", "zai-org/GLM-5.2", "zai-org/GLM-5.3"]


def _built(model_type: str, **config) -> dict:
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        return saved_shapes(AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, **config)))


@pytest.fixture(scope="module")
def glm_5() -> dict:
    return _built("glm_moe_dsa", **GLM_5)


def test_a_glm_5_checkpoint_names_its_tree_and_its_metadata_the_release(glm_5, tmp_path):
    assert "model.layers.3.self_attn.indexer.wq_b.weight" in glm_5  # (DeepSeek-V3.2's names)
    report = inspect_shapes(tmp_path / "bare", glm_5)
    assert report["family"] == "glm_moe_dsa" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert sorted(candidate_ids(report)) == GLM_5_RELEASES and report["base_model"]["id"] is None  # (every size shared)
    (tmp_path / "named").mkdir()
    (tmp_path / "named" / "config.json").write_text(json.dumps({"model_type": "glm_moe_dsa",
                                                                "_name_or_path": "zai-org/GLM-5.1"}))  # fmt: skip
    named = inspect_shapes(tmp_path / "named", glm_5)
    assert named["base_model"]["id"] == "zai-org/GLM-5.1" and not named["conflicts"]


def test_a_glm_5_lora_on_its_latent_attention_is_no_deepseek_s(glm_5, tmp_path):
    from tests.builders import write_header

    lora = {}
    for key, (d_out, d_in) in ((k, v) for k, v in glm_5.items() if k.endswith("_proj.weight") and "self_attn" in k):
        if "indexer" in key or ".layers.78." in key:
            continue
        base = "base_model.model." + key.removesuffix(".weight")
        lora[f"{base}.lora_A.weight"], lora[f"{base}.lora_B.weight"] = ("BF16", (16, d_in)), ("BF16", (d_out, 16))
    write_header(tmp_path / "adapter_model.safetensors", lora, data=False)
    from hfprobe.tree.inspect import inspect_source

    report = inspect_source(str(tmp_path))
    assert report["family"] == "glm_moe_dsa" and sorted(candidate_ids(report)) == GLM_5_RELEASES, report["root"]


def test_solar_open_is_its_own_root(tmp_path):
    report = inspect_shapes(tmp_path, _built("solar_open"))  # (transformers' defaults are Solar Open 100B's)
    assert report["family"] == "solar_open" and candidate_ids(report) == ["upstage/Solar-Open-100B"]
    assert report["base_model"]["id"] == "upstage/Solar-Open-100B"


def test_mistral_small_4_under_its_vision_tower_is_read_by_its_text_config(tmp_path):
    """Its config.json says `mistral3` (Mistral Small 3's wrapper too) with a `mistral4` text_config: the language
    model's type names the architecture, so the config agrees with the weights."""
    import transformers as tf

    with torch.device("meta"):
        model = tf.Mistral3ForConditionalGeneration(
            tf.Mistral3Config(text_config=tf.Mistral4Config(), tie_word_embeddings=False)
        )
    shapes = saved_shapes(model)
    assert "language_model.model.layers.0.mlp.experts.gate_up_proj" in shapes  # (as the Hub stores it: fused)
    (tmp_path / "config.json").write_text(
        json.dumps({"model_type": "mistral3", "text_config": {"model_type": "mistral4"}})
    )
    report = inspect_shapes(tmp_path, shapes)
    assert report["family"] == "mistral4" and candidate_ids(report) == ["mistralai/Mistral-Small-4-119B-2603"]
    assert not report["conflicts"], report["conflicts"]


@pytest.mark.parametrize(
    "config, family",
    [
        ({"model_type": "mistral3", "text_config": {"model_type": "mistral4"}}, "mistral4"),
        ({"model_type": "mistral3", "text_config": {"model_type": "mistral"}}, "mistral"),  # (Mistral Small 3.1)
        ({"model_type": "sam3", "text_config": {"model_type": "clip_text_model"}}, "sam3"),  # (a model of its own)
        ({"model_type": "llava", "text_config": {"model_type": "llama"}}, "llama"),  # (a wrapper the registry lacks)
    ],
)
def test_the_text_config_names_a_language_model_s_wrapper_not_a_model_of_its_own(config, family):
    from hfprobe.tree.declared import architecture

    assert architecture(config)[2] == (family,)

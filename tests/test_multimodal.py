"""A multimodal model (a vision or audio tower and a projector over a language model) is read by its language model:
its tree is the decoder's, and the tower's layers are set aside (families.json `towers`), as the registry keeps
LLaVA-1.5 and Qwen2.5-VL as derivatives of their language models. Each model is built by transformers on the meta
device from its published (or default) configuration, written as a header-only file in the names transformers 4
saved (`visual.`, `language_model.model.`) and in transformers 5's (`model.visual.`, `model.language_model.`).

Before: Qwen2.5-VL-7B was LLaMA at 0.3 with no root (its vision blocks' `mlp.gate_proj`, 3420 x 1280, ruled out
every decoder root), LLaVA-1.5-7B LLaMA at 0.3 with no root (its CLIP tower's `self_attn.q_proj`, 1024 wide), Llama
3.2 Vision Phi at 0.3 (its vision MLP's `fc1`/`fc2`), Gemma 3 4B as Google ships it no Gemma 3 root, and a
config.json saying `llava` or `qwen3_vl` capped the family at 0.5 as an architecture the registry lacks, though its
`text_config` names Llama or its decoder is Qwen3's.
"""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.tree.inspect import inspect_source
from tests.builders import write_header
from tests.test_components import _shapes

torch.set_num_threads(1)

# Qwen/Qwen2.5-VL-7B-Instruct's config.json (its vision tower and its Qwen2.5-7B decoder)
QWEN25_VL_7B = dict(
    text_config=dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                     num_key_value_heads=4, vocab_size=152064),
    vision_config=dict(depth=32, hidden_size=1280, intermediate_size=3420, out_hidden_size=3584),
)  # fmt: skip


_T4_NAMES = (  # transformers 5's prefixes -> the ones transformers 4 saved a Qwen2.5-VL or a LLaVA under
    ("model.visual.", "visual."),
    ("model.language_model.", "model."),
    ("model.vision_tower.", "vision_tower."),
    ("model.multi_modal_projector.", "multi_modal_projector."),
)


def _transformers4(shapes: dict) -> dict:
    """transformers 4's saved names (`visual.`, `model.layers.`, `vision_tower.`) for transformers 5's."""
    out = {}
    for key, shape in shapes.items():
        for new, old in _T4_NAMES:
            key = key.replace(new, old, 1) if key.startswith(new) else key
        out[key] = shape
    return out


def _inspect(shapes: dict, folder, config: dict | None = None) -> dict:
    write_header(folder / "model.safetensors", {k: ("BF16", s) for k, s in shapes.items()}, data=False)
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    return inspect_source(str(folder))


@pytest.mark.parametrize("names", ["transformers 4", "transformers 5"])
def test_qwen25_vl_is_its_qwen25_decoder(names, tmp_path):
    shapes = _shapes("Qwen2_5_VLForConditionalGeneration", "Qwen2_5_VLConfig", **QWEN25_VL_7B)
    report = _inspect(_transformers4(shapes) if names == "transformers 4" else shapes, tmp_path)
    assert report["family"] == "qwen2" and report["family_confidence"] >= 0.95, report["root"]["evidence"]
    assert "Qwen/Qwen2.5-VL-7B-Instruct" in {c["id"] for c in report["root"]["candidates"]}
    assert any("set aside: the tree is its language model's" in e for e in report["root"]["evidence"])
    assert report["base_model"]["id"] is None  # Qwen2.5-7B and its VL tune share the decoder's shapes
    config = {"model_type": "qwen2_5_vl", "_name_or_path": "Qwen/Qwen2.5-VL-7B-Instruct"}
    declared = _inspect(shapes, tmp_path / "declared", config)
    assert declared["base_model"]["id"] == "Qwen/Qwen2.5-VL-7B-Instruct" and not declared["conflicts"]


# Qwen/Qwen3-VL-8B-Instruct's config.json: a Qwen3-8B-shaped decoder under its vision tower
QWEN3_VL_8B = dict(
    text_config=dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36, num_attention_heads=32,
                     num_key_value_heads=8, head_dim=128, vocab_size=151936, tie_word_embeddings=False),
    vision_config=dict(depth=27, hidden_size=1152, intermediate_size=4304, num_heads=16, out_hidden_size=4096),
)  # fmt: skip


def test_qwen3_vl_is_its_qwen3_decoder_with_or_without_its_config(tmp_path):
    """Qwen3-VL-8B: before, its config.json's `qwen3_vl` was an architecture the registry lacks (family capped at
    0.5); families.json's `model_types` now reads it as Qwen3's, as `qwen2_vl` is Qwen2's."""
    shapes = _shapes("Qwen3VLForConditionalGeneration", "Qwen3VLConfig", **QWEN3_VL_8B)
    config = {"model_type": "qwen3_vl", "text_config": {"model_type": "qwen3_vl_text"}}
    for folder, cfg in (("bare", None), ("config", config)):
        report = _inspect(shapes, tmp_path / folder, cfg)
        assert report["family"] == "qwen3" and report["family_confidence"] >= 0.95, report["root"]["evidence"]
        assert {"Qwen/Qwen3-8B", "Qwen/Qwen3-8B-Base"} <= {c["id"] for c in report["root"]["candidates"]}


def test_llava_is_its_llama_decoder_and_its_config_names_it(tmp_path):
    """LLaVA-1.5-7B: a CLIP ViT-L/14-336 tower and a projector over a Llama-2-7B-shaped decoder (Vicuna)."""
    shapes = _transformers4(_shapes("LlavaForConditionalGeneration", "LlavaConfig"))
    report = _inspect(shapes, tmp_path / "bare")
    assert report["family"] == "llama" and report["family_confidence"] >= 0.9
    assert "meta-llama/Llama-2-7b-hf" in {c["id"] for c in report["root"]["candidates"]}
    config = {"model_type": "llava", "text_config": {"model_type": "llama"}, "vision_config": {"model_type": "clip"}}
    declared = _inspect(shapes, tmp_path / "config", config)
    assert declared["family"] == "llama" and declared["family_confidence"] >= 0.9
    assert not any("has no roots for" in e for e in declared["root"]["evidence"])
    assert declared["declared"]["config.json model_type"] == "llava"


def test_llama_32_vision_is_mllama(tmp_path):
    """Llama 3.2 Vision (its default configuration): a family of its own by its cross-attention layers; its vision
    tower's `mlp.fc1` / `fc2` and `self_attn.q_proj` were Phi's names."""
    report = _inspect(_shapes("MllamaForConditionalGeneration", "MllamaConfig"), tmp_path)
    assert report["family"] == "mllama", report["root"]["evidence"]


# google/gemma-3-4b-it's config.json: a SigLIP so400m tower over its Gemma 3 decoder
GEMMA3_4B = dict(
    text_config=dict(hidden_size=2560, intermediate_size=10240, num_hidden_layers=34, num_attention_heads=8,
                     num_key_value_heads=4, head_dim=256, vocab_size=262208),
    vision_config=dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                       image_size=896, patch_size=14),
)  # fmt: skip


def test_gemma_3_4b_is_its_gemma_3_decoder(tmp_path):
    """Gemma 3 4B, the model as Google ships it (its SigLIP tower under `vision_tower.`): Gemma 3 4B's roots."""
    report = _inspect(_shapes("Gemma3ForConditionalGeneration", "Gemma3Config", **GEMMA3_4B), tmp_path)
    assert report["family"] == "gemma3" and report["family_confidence"] >= 0.95, report["root"]["evidence"]
    assert {c["id"] for c in report["root"]["candidates"]} == {"google/gemma-3-4b-pt", "google/gemma-3-4b-it"}


def test_gemma_3_is_told_from_gemma_2_by_its_norms(tmp_path):
    """Gemma 3's default text configuration has Gemma 2 2B's sizes; its query and key norms (Qwen3's and Gemma 3's
    alone) and its norms around each feed-forward (Gemma 2's and 3's) name it. Before: Gemma 2 2B at 1.0."""
    report = _inspect(_shapes("Gemma3ForCausalLM", "Gemma3TextConfig"), tmp_path)
    assert report["family"] == "gemma3" and "google/gemma-2-2b" not in {c["id"] for c in report["root"]["candidates"]}


def test_a_lora_on_a_vlm_s_every_linear_layer_is_its_decoder_s(tmp_path):
    """A PEFT LoRA on every Linear of Qwen2.5-VL-7B, its vision tower's too (`target_modules: all-linear` as some
    trainers set it): the tower's adapted layers are set aside with the tower."""
    shapes = _shapes("Qwen2_5_VLForConditionalGeneration", "Qwen2_5_VLConfig", **QWEN25_VL_7B)
    tensors = {}
    for key, shape in _transformers4(shapes).items():
        if key.endswith(".weight") and len(shape) == 2 and "embed" not in key and "lm_head" not in key:
            base = "base_model.model." + key.removesuffix(".weight")
            tensors[f"{base}.lora_A.weight"] = ("F32", (8, shape[1]))
            tensors[f"{base}.lora_B.weight"] = ("F32", (shape[0], 8))
    write_header(tmp_path / "adapter_model.safetensors", tensors, data=False)
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8, "lora_alpha": 16}))
    report = inspect_source(str(tmp_path))
    assert report["family"] == "qwen2" and report["family_confidence"] >= 0.9, report["root"]["evidence"]


def _peft_lora(shapes: dict, folder, base: str | None = None) -> dict:
    """A rank-8 PEFT LoRA on every 2-D weight of `shapes` but the embeddings and the output head."""
    tensors = {}
    for key, shape in shapes.items():
        if key.endswith(".weight") and len(shape) == 2 and "embed" not in key and "lm_head" not in key:
            module = "base_model.model." + key.removesuffix(".weight")
            tensors[f"{module}.lora_A.weight"] = ("F32", (8, shape[1]))
            tensors[f"{module}.lora_B.weight"] = ("F32", (shape[0], 8))
    folder.mkdir()
    write_header(folder / "adapter_model.safetensors", tensors, data=False)
    config = {"peft_type": "LORA", "r": 8, "lora_alpha": 16} | ({"base_model_name_or_path": base} if base else {})
    (folder / "adapter_config.json").write_text(json.dumps(config))
    return inspect_source(str(folder))


def test_a_lora_on_blip_2_is_opt_s_tree_but_not_opt_s_adapter(tmp_path):
    """A LoRA on every Linear of Salesforce/blip2-opt-2.7b (its EVA tower, Q-Former and OPT-2.7b) is OPT-2.7b's tree,
    the only root of its decoder's shapes, and `base_model: facebook/opt-2.7b` was written from the weights: wrong,
    as the adapter plugs into BLIP-2, which the registry does not hold. The weights alone name the tree, not the base;
    a LoRA on its language model's attention alone has none either, and one whose adapter_config names BLIP-2 has
    that written (the neighbour)."""
    from transformers import Blip2Config, Blip2ForConditionalGeneration, OPTConfig

    text = OPTConfig(hidden_size=2560, num_hidden_layers=32, ffn_dim=10240, num_attention_heads=32)
    with torch.device("meta"):
        model = Blip2ForConditionalGeneration(Blip2Config(text_config=text.to_dict()))
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    decoder = {k: s for k, s in shapes.items() if k.startswith("language_model.") and "self_attn" in k}
    for name, part in (("every-linear", shapes), ("decoder-attention", decoder)):
        report = _peft_lora(part, tmp_path / name)
        assert report["family"] == "opt" and report["root"]["id"] == "facebook/opt-2.7b", (name, report["root"])
        assert report["base_model"]["id"] is None, name
    assert "multimodal" in _peft_lora(shapes, tmp_path / "again")["base_model"]["reason"]
    report = _peft_lora(shapes, tmp_path / "declared", base="Salesforce/blip2-opt-2.7b")
    assert report["base_model"]["id"] == "Salesforce/blip2-opt-2.7b" and not report["conflicts"]

"""An adapter of a vision-language model declares the VLM, which the registry keeps as a derivative of the text model
whose shapes its language model has (Qwen3-VL-8B of Qwen3-8B-Base, SmolVLM2-2.2B of SmolLM2-1.7B, InternVL3-8B of
Qwen2.5-7B, PaliGemma 2 3B of Gemma 2 2B): the declaration is checked against those shapes, written where they fit
and a conflict where they do not. Each model is built by transformers on the meta device at its published language
model's sizes (its vision tower at fewer layers where that is all it changes) and saved as `save_pretrained` names
it; the adapter is a rank-8 PEFT LoRA on every attention projection, the tower's too.

Before, SmolVLM2's, Idefics3's and InternVL3's ids were written by no one ("neither the registry nor the weights can
check" them), and a declared VLM of another size was written as declared where its name held no size the weights
rule out (Qwen3-VL-2B on Qwen3-VL-8B's weights, PaliGemma 2 10B on 3B's); MiniCPM-V's SigLIP tower (`vpm.`) was
sized against the decoder's roots, which it ruled out."""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import meta_class, saved_shapes
from tests.test_multimodal import _inspect, _peft_lora

torch.set_num_threads(1)


def _qwen3(hidden: int, ffn: int, layers: int, heads: int, tied: bool) -> dict:
    return dict(hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers, num_attention_heads=heads,
                num_key_value_heads=8, head_dim=128, vocab_size=151936, tie_word_embeddings=tied)  # fmt: skip


def _lm(model_type: str, hidden: int, ffn: int, layers: int, heads: int, kv: int, vocab: int, **kw) -> dict:
    return dict(model_type=model_type, hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers,
                num_attention_heads=heads, num_key_value_heads=kv, vocab_size=vocab, **kw)  # fmt: skip


def _built(cls: str, **config) -> dict:
    """The saved shapes of transformers' `cls` (its config class: `cls` less `ForConditionalGeneration`)."""
    return saved_shapes(meta_class(cls, cls.replace("ForConditionalGeneration", "Config"), **config))


def _qwen3_vl(text: dict, width: int, ffn: int) -> dict:
    vision = dict(depth=2, hidden_size=width, intermediate_size=ffn, num_heads=16, out_hidden_size=text["hidden_size"],
                  deepstack_visual_indexes=[0, 1])  # fmt: skip
    return _built("Qwen3VLForConditionalGeneration", text_config=text, vision_config=vision)


def _minicpm_v_45() -> dict:
    """MiniCPM-V 4.5 (remote code): Qwen3-8B under `llm.`, a SigLIP tower under `vpm.`, as its checkpoints name them."""
    lm = saved_shapes(meta_class("Qwen3ForCausalLM", "Qwen3Config", **_qwen3(4096, 12288, 36, 32, False)))
    vision = dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=2, num_attention_heads=16, patch_size=14)
    tower = saved_shapes(meta_class("SiglipVisionModel", "SiglipVisionConfig", **vision))
    return {"llm." + k: s for k, s in lm.items()} | {
        "vpm." + k.removeprefix("vision_model."): s for k, s in tower.items()
    }


def _glm_41v() -> dict:
    text = dict(hidden_size=4096, intermediate_size=13696, num_hidden_layers=40, num_attention_heads=32,
                num_key_value_heads=2, vocab_size=151552)  # fmt: skip
    return _built("Glm4vForConditionalGeneration", text_config=text, vision_config=dict(depth=2))


def _qwen25_omni_7b() -> dict:
    """Qwen2.5-Omni-7B (transformers' defaults are its sizes): the thinker (Qwen2.5-7B beside its audio and vision
    towers), the talker and token2wav, saved as `thinker.model.`, `talker.model.`, `token2wav.`."""
    from transformers import Qwen2_5OmniConfig

    config = Qwen2_5OmniConfig()
    config.thinker_config.audio_config.encoder_layers = config.thinker_config.vision_config.depth = 2
    return _built("Qwen2_5OmniForConditionalGeneration", **config.to_dict())


def _phi35_vision() -> dict:
    """Phi-3.5-vision (remote code): Phi-3.5-mini beside a CLIP ViT-L/14-336 under `model.vision_embed_tokens.`."""
    text = dict(
        hidden_size=3072, intermediate_size=8192, num_hidden_layers=32, num_attention_heads=32, vocab_size=32064
    )
    lm = saved_shapes(meta_class("Phi3ForCausalLM", "Phi3Config", **text))
    vision = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=2, num_attention_heads=16, image_size=336)
    clip = saved_shapes(meta_class("CLIPVisionModel", "CLIPVisionConfig", patch_size=14, **vision))
    return lm | {"model.vision_embed_tokens.img_processor." + k: s for k, s in clip.items()}


# (the VLM's shapes at its published sizes, its id, the root its language model's shapes are, a VLM of other sizes)
CASES = {
    "Qwen3-VL-2B": (lambda: _qwen3_vl(_qwen3(2048, 6144, 28, 16, True), 1024, 4096),
                    "Qwen/Qwen3-VL-2B-Instruct", "Qwen/Qwen3-1.7B-Base", "Qwen/Qwen3-VL-4B-Thinking"),
    "Qwen3-VL-8B": (lambda: _qwen3_vl(_qwen3(4096, 12288, 36, 32, False), 1152, 4304),
                    "Qwen/Qwen3-VL-8B-Instruct", "Qwen/Qwen3-8B-Base", "Qwen/Qwen3-VL-2B-Instruct"),
    "SmolVLM2-2.2B": (lambda: _built("SmolVLMForConditionalGeneration",
                                     text_config=_lm("llama", 2048, 8192, 24, 32, 32, 49280)),
                      "HuggingFaceTB/SmolVLM2-2.2B-Instruct", "HuggingFaceTB/SmolLM2-1.7B",
                      "HuggingFaceTB/SmolVLM2-500M-Video-Instruct"),
    "Idefics3-8B": (lambda: _built("Idefics3ForConditionalGeneration",
                                   text_config=_lm("llama", 4096, 14336, 32, 32, 8, 128259)),
                    "HuggingFaceM4/Idefics3-8B-Llama3", "meta-llama/Llama-3.1-8B-Instruct",
                    "HuggingFaceTB/SmolVLM-Instruct"),
    "LLaVA-OneVision-7B": (lambda: _built("LlavaOnevisionForConditionalGeneration",
                                          text_config=_lm("qwen2", 3584, 18944, 28, 28, 4, 152128)),
                           "llava-hf/llava-onevision-qwen2-7b-ov-hf", "Qwen/Qwen2-7B",
                           "llava-hf/llava-onevision-qwen2-0.5b-ov-hf"),
    "PaliGemma2-3B": (lambda: _built("PaliGemmaForConditionalGeneration",
                                     text_config=_lm("gemma2", 2304, 9216, 26, 8, 4, 257216, head_dim=256)),
                      "google/paligemma2-3b-pt-224", "google/gemma-2-2b", "google/paligemma2-10b-mix-448"),
    "InternVL3-8B": (lambda: _built("InternVLForConditionalGeneration",
                                    text_config=_lm("qwen2", 3584, 18944, 28, 28, 4, 151674)),
                     "OpenGVLab/InternVL3-8B-hf", "Qwen/Qwen2.5-7B", "OpenGVLab/InternVL3-2B"),
    "Pixtral-12B": (lambda: _built("LlavaForConditionalGeneration",
                                   text_config=_lm("mistral", 5120, 14336, 40, 32, 8, 131072, head_dim=128),
                                   vision_config=dict(model_type="pixtral", num_hidden_layers=2)),
                    "mistral-community/pixtral-12b", "mistralai/Mistral-Nemo-Base-2407",
                    "llava-hf/llava-v1.6-mistral-7b-hf"),
    "GLM-4.1V-9B": (_glm_41v, "zai-org/GLM-4.1V-9B-Thinking", "THUDM/GLM-4-9B-0414", "Qwen/Qwen3-VL-8B-Instruct"),
    "Qwen2.5-Omni-7B": (_qwen25_omni_7b, "Qwen/Qwen2.5-Omni-7B", "Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-Omni-3B"),
    "Phi-3.5-vision": (_phi35_vision, "microsoft/Phi-3.5-vision-instruct", "microsoft/Phi-3.5-mini-instruct",
                       "microsoft/Phi-4-mini-instruct"),
    "MiniCPM-V-4.5": (_minicpm_v_45, "openbmb/MiniCPM-V-4_5", "Qwen/Qwen3-8B-Base", "openbmb/MiniCPM-V-2_6"),
}  # fmt: skip


_ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj", "qkv_proj")


def _lora(shapes: dict, folder, base: str | None) -> dict:
    attention = {k: v for k, v in shapes.items() if k.removesuffix(".weight").rsplit(".", 1)[-1] in _ATTENTION}
    return _peft_lora(attention, folder, base)


@pytest.mark.parametrize("name", list(CASES))
def test_a_vlm_adapter_s_declared_base_is_checked_by_its_language_model(name, tmp_path):
    build, vlm, root, other = CASES[name]
    shapes = build()
    right = _lora(shapes, tmp_path / "right", vlm)
    assert right["base_model"]["id"] == vlm and not right["conflicts"], (right["base_model"], right["conflicts"])
    assert right["root"]["id"] == root, right["root"]["evidence"]
    wrong = _lora(shapes, tmp_path / "wrong", other)
    assert wrong["base_model"]["id"] is None and wrong["conflicts"], wrong["base_model"]
    # nothing declared: the weights name the language model's tree, never the VLM (or any base) on their own
    assert _lora(shapes, tmp_path / "none", None)["base_model"]["id"] is None


@pytest.mark.parametrize("orientation", ["saved", "published"])
def test_a_full_qwen3_vl_moe_checkpoint_is_its_mixture_s_tree_either_way_its_experts_lie(orientation, tmp_path):
    """Qwen3-VL-30B-A3B stacks each layer's experts in 3-D tensors: published [experts, hidden, 2 x ffn], saved by
    transformers 5.25 [experts, 2 x ffn, hidden]. Its experts are no role of the Qwen3 family (its attention places
    it), so either way the checkpoint is Qwen3-30B-A3B's tree (4 experts here, not 128: their shapes are the same)."""
    text = _qwen3(2048, 6144, 48, 32, False) | dict(num_key_value_heads=4, moe_intermediate_size=768, num_experts=4)
    vision = dict(depth=2, hidden_size=1152, intermediate_size=4304, num_heads=16, out_hidden_size=2048,
                  deepstack_visual_indexes=[0, 1])  # fmt: skip
    shapes = _built("Qwen3VLMoeForConditionalGeneration", text_config=text, vision_config=vision)
    experts = [k for k, s in shapes.items() if ".mlp.experts." in k and len(s) == 3]
    assert experts
    if orientation == "published":
        shapes |= {k: (shapes[k][0], shapes[k][2], shapes[k][1]) for k in experts}
    report = _inspect(shapes, tmp_path)
    assert report["family"] == "qwen3" and report["root"]["tree"]["id"] == "Qwen/Qwen3-30B-A3B-Base", report["root"]

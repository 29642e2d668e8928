"""Full checkpoints of architectures the registry does not know must not get a root's `base_model` from the
weights alone, while the registry's own architectures keep it. Each model is built by transformers (or diffusers)
on the meta device from its published configuration and written as a header-only safetensors file.

Before: wav2vec2 and HuBERT were read as ViT (their `encoder.layers.N.attention.q_proj` matched ViT's
transformers-5 names), XLM-R as roberta-base (its 250k vocabulary a "soft" mismatch; XLM-R now has roots of its
own, and CamemBERT, RoBERTa's layers with a 32k vocabulary, stands in for it), Mixtral as Mistral-7B (its
experts, 97% of the parameters, matched no role), each with that root written as `base_model`; DeiT, BEiT and
ViT-MAE as google/vit-base-patch16-224 and Granite as Llama-2-7B, whose config.json's model_type said otherwise.
"""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.tree.inspect import inspect_source
from tests.builders import write_header
from tests.test_tree import LLM_CONFIGS, SDXL

torch.set_num_threads(1)


def _transformers(cls: str, config: str, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**kw))


def _sdxl_unet():
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        return UNet2DConditionModel(**SDXL)


FOREIGN = {
    "data2vec-audio-base": lambda: _transformers("Data2VecAudioModel", "Data2VecAudioConfig"),  # wav2vec2's names
    "camembert-base": lambda: _transformers(
        "CamembertForSequenceClassification",
        "CamembertConfig",
        vocab_size=32005,
        max_position_embeddings=514,
        type_vocab_size=1,
    ),
    "mixtral-8x7b": lambda: _transformers("MixtralForCausalLM", "MixtralConfig"),
}
KNOWN = {
    "xlm-roberta-base": (
        lambda: _transformers(
            "XLMRobertaForSequenceClassification",
            "XLMRobertaConfig",
            vocab_size=250002,
            max_position_embeddings=514,
            type_vocab_size=1,
        ),
        "FacebookAI/xlm-roberta-base",
    ),
    "t5-base": (
        lambda: _transformers(
            "T5ForConditionalGeneration", "T5Config", d_model=768, d_ff=3072, num_heads=12, num_layers=12
        ),
        "google-t5/t5-base",
    ),
    "sdxl-unet": (_sdxl_unet, "stabilityai/stable-diffusion-xl-base-1.0"),
    "clip-vit-base-patch16": (
        lambda: _transformers("CLIPModel", "CLIPConfig", vision_config={"patch_size": 16}),
        "openai/clip-vit-base-patch16",
    ),
    "whisper-small": (
        lambda: _transformers("WhisperForConditionalGeneration", "WhisperConfig", **LLM_CONFIGS["whisper"][1]),
        "openai/whisper-small",
    ),
}


def _checkpoint(model, folder, config: bool = False):
    """inspect's report on a header-only copy of `model` (with its config.json, as the Hub has it, if asked)."""
    tensors = {k: ("F16", tuple(v.shape)) for k, v in model.state_dict().items()}
    write_header(folder / "model.safetensors", tensors, data=False)
    if config:
        (folder / "config.json").write_text(json.dumps(model.config.to_dict(), default=str))
    return inspect_source(str(folder))


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_an_unknown_architecture_gets_no_base_model_from_its_weights(name, tmp_path):
    report = _checkpoint(FOREIGN[name](), tmp_path / name)
    assert report["base_model"]["id"] is None, report["base_model"]
    assert not report["conflicts"]


def test_why_is_said():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        mixtral = _checkpoint(FOREIGN["mixtral-8x7b"](), Path(d) / "m")
        camembert = _checkpoint(FOREIGN["camembert-base"](), Path(d) / "c")
    assert "of the parameters are in layers" in mixtral["base_model"]["reason"]
    assert any("experts" in e for e in mixtral["root"]["evidence"])
    assert "but not all its sizes" in camembert["base_model"]["reason"] and "32005" in camembert["base_model"]["reason"]


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_a_known_architecture_still_names_its_root(name, tmp_path):
    build, root = KNOWN[name]
    report = _checkpoint(build(), tmp_path / name)
    assert report["base_model"]["id"] == root and report["base_model"]["status"] == "weights"


_OPUS_MT = dict(  # Helsinki-NLP/opus-mt-en-de's config
    vocab_size=58101,
    d_model=512,
    encoder_layers=6,
    decoder_layers=6,
    encoder_ffn_dim=2048,
    decoder_ffn_dim=2048,
    encoder_attention_heads=8,
    decoder_attention_heads=8,
)

# speech, protein, self-supervised vision and translation models adapters are trained on (they were read as ViT,
# BERT, Whisper or BART):
# (model, family, the roots its shapes fit, the one the weights alone name or None)
ENCODERS = {
    "wav2vec2-base": (
        lambda: _transformers("Wav2Vec2ForCTC", "Wav2Vec2Config"),
        "wav2vec2",
        {"facebook/wav2vec2-base", "facebook/wav2vec2-base-960h"},
        None,
    ),
    "hubert-base": (
        lambda: _transformers("HubertForCTC", "HubertConfig"),
        "hubert",
        {"facebook/hubert-base-ls960"},
        "facebook/hubert-base-ls960",
    ),
    "wavlm-large": (
        lambda: _transformers(
            "WavLMModel",
            "WavLMConfig",
            hidden_size=1024,
            num_hidden_layers=24,
            num_attention_heads=16,
            intermediate_size=4096,
        ),
        "wavlm",
        {"microsoft/wavlm-large"},
        None,  # HubertModel / WavLMModel name no prefix: hubert-large and wavlm-large share every shape
    ),
    "dinov2-small": (
        lambda: _transformers("Dinov2Model", "Dinov2Config", hidden_size=384, num_attention_heads=6),
        "dinov2",
        {"facebook/dinov2-small"},
        "facebook/dinov2-small",
    ),
    "esm2-35m": (
        lambda: _transformers(
            "EsmForMaskedLM",
            "EsmConfig",
            vocab_size=33,
            hidden_size=480,
            num_hidden_layers=12,
            num_attention_heads=20,
            intermediate_size=1920,
            position_embedding_type="rotary",
            pad_token_id=1,
        ),
        "esm",
        {"facebook/esm2_t12_35M_UR50D"},
        "facebook/esm2_t12_35M_UR50D",
    ),
    # translation models in BART's names (an opus-mt model was read as whisper-base, NLLB-600M as BART-large)
    "opus-mt": (
        lambda: _transformers("MarianMTModel", "MarianConfig", **_OPUS_MT),
        "marian",
        {"Helsinki-NLP/opus-mt-en-de", "openai/whisper-base"},  # every shape alike, to the block
        None,
    ),
    "m2m100-418m": (
        lambda: _transformers("M2M100ForConditionalGeneration", "M2M100Config"),
        "m2m_100",
        {"facebook/m2m100_418M", "facebook/nllb-200-distilled-600M", "facebook/bart-large"},
        None,
    ),
    "mbart-large": (
        lambda: _transformers("MBartForConditionalGeneration", "MBartConfig", vocab_size=250054),
        "mbart",
        {"facebook/mbart-large-50", "facebook/bart-large"},
        None,
    ),
    "albert-base": (  # one layer shared by all 12 and a 128-wide embedding: it had no family
        lambda: _transformers(
            "AlbertForSequenceClassification",
            "AlbertConfig",
            hidden_size=768,
            num_attention_heads=12,
            intermediate_size=3072,
        ),
        "albert",
        {"albert/albert-base-v2", "albert/albert-base-v1"},
        None,
    ),
    "siglip-base": (  # CLIP's tower names; its pooling head and logit bias are its own
        lambda: _transformers("SiglipModel", "SiglipConfig"),
        "siglip",
        {"google/siglip-base-patch16-224", "google/siglip2-base-patch16-224"},
        None,
    ),
    "modernbert-base": (
        lambda: _transformers("ModernBertForSequenceClassification", "ModernBertConfig"),
        "modernbert",
        {"answerdotai/ModernBERT-base"},
        "answerdotai/ModernBERT-base",
    ),
}


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_architectures_that_looked_like_others_are_their_own_families(name, tmp_path):
    """Before: wav2vec2 and HuBERT had no family (a LoRA on them read as ViT at 0.5), DINOv2 was a ViT (its LoRA
    named google/vit-base-patch16-224-in21k), ESM-2 a BERT of no known root, an opus-mt model Whisper (root
    whisper-base), M2M100 / NLLB and mBART BART-large, ModernBERT nothing."""
    build, family, fits, alone = ENCODERS[name]
    report = _checkpoint(build(), tmp_path / name)
    assert fits <= {c["id"] for c in report["root"]["candidates"]}, report["root"]
    assert report["base_model"]["id"] == alone, report["base_model"]
    assert not report["conflicts"]
    declared = _checkpoint(build(), tmp_path / f"{name}-config", config=True)  # model_type names the family
    assert declared["family"] == family and declared["family_confidence"] >= 0.6, declared["root"]["evidence"]


def test_gpt_oss_is_a_family_whose_experts_keep_the_weights_from_naming_a_root(tmp_path):
    """gpt-oss (2025; its LoRAs were `llama` at 0.3 with no root): LLaMA's attention names at its own widths (64 heads
    of 64 over 2880), attention sinks, and 128 experts as 3-D parameters that hold most of its weights."""
    report = _checkpoint(_transformers("GptOssForCausalLM", "GptOssConfig"), tmp_path / "oss", config=True)
    assert report["family"] == "gpt_oss" and report["root"]["candidates"][0]["id"] == "openai/gpt-oss-120b"
    assert report["base_model"]["id"] is None and "of the parameters are in layers" in report["base_model"]["reason"]
    # its experts are gpt-oss's own layers, unsized: they keep the weights from naming a root, not from the family
    assert report["family_confidence"] == 1.0
    assert any("whose sizes the registry does not check (e.g. " in e for e in report["root"]["evidence"])


# what their names and sizes resemble: DeiT/BEiT/ViT-MAE a ViT-B/16, Qwen2-MoE Phi-1.5, StableLM Phi-2, Granite's
# default config Llama-2-7B exactly; their config.json's model_type says what they are
WITH_CONFIG = {
    "deit-base": lambda: _transformers("DeiTForImageClassification", "DeiTConfig"),
    "beit-base": lambda: _transformers("BeitForImageClassification", "BeitConfig"),
    "vit-mae-base": lambda: _transformers("ViTMAEModel", "ViTMAEConfig"),
    "qwen2-moe": lambda: _transformers("Qwen2MoeForCausalLM", "Qwen2MoeConfig"),
    "stablelm": lambda: _transformers("StableLmForCausalLM", "StableLmConfig"),
    "granite": lambda: _transformers("GraniteForCausalLM", "GraniteConfig"),
}


@pytest.mark.parametrize("name", sorted(WITH_CONFIG))
def test_a_model_type_the_registry_lacks_caps_the_family_and_writes_nothing(name, tmp_path):
    report = _checkpoint(WITH_CONFIG[name](), tmp_path / name, config=True)
    assert report["base_model"]["id"] is None and "model_type" in report["base_model"]["reason"]
    assert report["family_confidence"] <= 0.5 and report["root"]["confidence"] <= 0.5


@pytest.mark.parametrize("name", ["xlm-roberta-base", "clip-vit-base-patch16", "whisper-small"])
def test_a_known_model_type_keeps_its_root(name, tmp_path):
    build, root = KNOWN[name]
    report = _checkpoint(build(), tmp_path / name, config=True)
    assert report["base_model"]["id"] == root and report["family_confidence"] == 1.0


def test_a_distilled_checkpoint_is_not_named_after_its_teacher(tmp_path):
    """distil-whisper/distil-large-v2 keeps whisper-large-v2's encoder and 2 of its 32 decoder layers: a full
    checkpoint holds all its blocks, so fewer than a root's is a distilled or pruned model, not the root."""
    large = dict(LLM_CONFIGS["whisper"][1], d_model=1280, encoder_layers=32, encoder_attention_heads=20,
                 decoder_attention_heads=20, encoder_ffn_dim=5120, decoder_ffn_dim=5120)  # fmt: skip
    distilled = _checkpoint(
        _transformers("WhisperForConditionalGeneration", "WhisperConfig", **dict(large, decoder_layers=2)),
        tmp_path / "distil-large-v2",
    )
    assert distilled["root"]["id"] == "openai/whisper-large-v2" and distilled["base_model"]["id"] is None
    assert "fewer blocks than openai/whisper-large-v2 (2 of 32 dec_layers" in distilled["base_model"]["reason"]
    teacher = _checkpoint(
        _transformers("WhisperForConditionalGeneration", "WhisperConfig", **dict(large, decoder_layers=32)),
        tmp_path / "large-v2",
    )
    assert teacher["base_model"]["id"] == "openai/whisper-large-v2"


LOOK_ALIKES = {  # a full checkpoint in the shapes of several registry roots: the weights alone cannot name one
    "Llama-2-7b": (
        lambda: _transformers("LlamaForCausalLM", "LlamaConfig"),
        {"meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-chat-hf", "huggyllama/llama-7b"},
    ),
    "vit-base": (
        lambda: _transformers("ViTForImageClassification", "ViTConfig"),
        {"google/vit-base-patch16-224-in21k", "google/vit-base-patch16-224"},
    ),
    "clip-vit-base-patch32": (  # OpenAI's and LAION's ViT-B/32 (its model.safetensors is in these names too)
        lambda: _transformers("CLIPModel", "CLIPConfig"),
        {"openai/clip-vit-base-patch32", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"},
    ),
}


@pytest.mark.parametrize("name", sorted(LOOK_ALIKES))
def test_look_alike_roots_leave_the_weights_alone_undecided(name, tmp_path):
    """Llama 2 7B, its chat tune and LLaMA 1 7B share every shape, vocabulary included, and so do ViT-B/16 and
    its ImageNet-21k parent: before, the registry called the look-alikes aliases of one root, and the weights
    alone wrote that root as `base_model` for a fine-tune of any of them."""
    build, rivals = LOOK_ALIKES[name]
    report = _checkpoint(build(), tmp_path / name)
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"
    assert rivals <= {c["id"] for c in report["root"]["candidates"]}
    with_config = _checkpoint(build(), tmp_path / f"{name}-declared", config=True)  # model_type alone names none
    # (Qwen1.5-7B has Llama 2 7B's shapes but for its vocabulary, so the family is a little short of certain)
    assert with_config["base_model"]["id"] is None and with_config["family_confidence"] >= 0.95


def _open_clip(**text):
    """OpenCLIP's (and OpenAI CLIP's own) module names, from open_clip itself: a tiny model of its classes."""
    open_clip = pytest.importorskip("open_clip")
    from open_clip.model import CLIPTextCfg, CLIPVisionCfg

    vision = CLIPVisionCfg(layers=2, width=64, head_width=32, patch_size=8, image_size=32)
    return open_clip.model.CLIP(32, vision, CLIPTextCfg(context_length=16, vocab_size=100, width=32, heads=2, layers=2))


def test_open_clip_names_are_clip_s(tmp_path):
    """An OpenCLIP or OpenAI CLIP checkpoint (`transformer.resblocks.N.attn.in_proj_weight`, `visual.conv1`) had
    no family ("shapes only" over 35 families); OpenAI's ViT-B/32 in these names is CLIP, LAION's its look-alike."""
    tiny = _checkpoint(_open_clip(), tmp_path / "tiny")
    assert tiny["family"] == "clip" and tiny["base_model"]["id"] is None  # no root is 64 wide
    shapes = {}  # OpenAI's ViT-B/32 (open_clip's `ViT-B-32`): text 512 wide, vision 768, 12 blocks each
    for tower, width in (("", 512), ("visual.", 768)):
        for i in range(12):
            block = f"{tower}transformer.resblocks.{i}"
            shapes[f"{block}.attn.in_proj_weight"] = ("F16", (3 * width, width))
            shapes[f"{block}.attn.out_proj.weight"] = ("F16", (width, width))
            shapes[f"{block}.mlp.c_fc.weight"] = ("F16", (4 * width, width))
            shapes[f"{block}.mlp.c_proj.weight"] = ("F16", (width, 4 * width))
    shapes["visual.positional_embedding"] = ("F16", (50, 768))
    write_header(tmp_path / "b32" / "open_clip_model.safetensors", shapes, data=False)
    report = inspect_source(str(tmp_path / "b32"))
    assert report["family"] == "clip" and report["base_model"]["status"] == "ambiguous"
    ids = [c["id"] for c in report["root"]["candidates"]]
    assert {"openai/clip-vit-base-patch32", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"} <= set(ids[:2])


# towers and models whose layers are named as a registry family's, though most of each is layers it does not have
SHARED_NAMES = {
    # transformers 5 names a CLIP / SigLIP vision tower's blocks `encoder.layers.N.self_attn.q_proj`, as Whisper's
    # encoder; its MLP is `mlp.fc1`, its stem a patch embedding: 32% of it is in layers Whisper has
    "clip-vision": lambda: _transformers("CLIPVisionModel", "CLIPVisionConfig"),
    "siglip-vision": lambda: _transformers("SiglipVisionModel", "SiglipVisionConfig"),
    "biogpt": lambda: _transformers("BioGptForCausalLM", "BioGptConfig"),  # Qwen2's attention, `fc1` / `fc2`
    "mixtral-8x7b": FOREIGN["mixtral-8x7b"],  # Mistral-7B's attention; its experts, 97% of it, are not Mistral's
}


@pytest.mark.parametrize("name", sorted(SHARED_NAMES))
def test_a_model_mostly_of_layers_its_family_lacks_is_no_surer_of_it_than_shapes_make_it(name, tmp_path):
    """Before: a CLIP or SigLIP vision tower was Whisper at 1.0 (root whisper-small 0.75), BioGPT Qwen2 at 1.0,
    Mixtral Mistral at 0.82, in every report, card and index row, though each said that most of its parameters
    were in layers the family does not have."""
    report = _checkpoint(SHARED_NAMES[name](), tmp_path / name)
    assert report["family_confidence"] <= 0.5 and report["root"]["confidence"] <= 0.5, report["root"]
    assert any("of the parameters are in layers" in e for e in report["root"]["evidence"])
    assert report["base_model"]["id"] is None


_MT5_SMALL = dict(  # google/mt5-small's config.json: T5 v1.1's gated layers, a 250k vocabulary
    vocab_size=250112, d_model=512, d_kv=64, d_ff=1024, num_layers=8, num_heads=6,
    feed_forward_proj="gated-gelu", tie_word_embeddings=False,
)  # fmt: skip


def test_the_model_types_of_registry_roots_are_their_families(tmp_path):
    """google/mt5-small's config.json says model_type `mt5`, Qwen2-VL's `qwen2_vl`: they were "architectures the
    registry has no roots for", so a full mT5 fine-tune with its config got no base_model and a family of 0.5.
    (Its vocabulary, 250,112 of 512, is most of its parameters: left out of the share its layers must hold.)"""
    mt5 = _checkpoint(_transformers("MT5ForConditionalGeneration", "MT5Config", **_MT5_SMALL), tmp_path / "m", True)
    assert mt5["family"] == "t5" and mt5["family_confidence"] == 1.0
    assert mt5["base_model"]["id"] == "google/mt5-small" and mt5["base_model"]["status"] == "weights"
    assert not any("model_type" in e for e in mt5["root"]["evidence"])


def test_gpt_is_not_gpt2(tmp_path):
    """openai-community/openai-gpt has GPT-2's blocks and widths under other embedding names (`tokens_embed`,
    40,478 tokens): a fine-tune of it had openai-community/gpt2 written as its base_model from the weights alone,
    and its config.json's model_type `openai-gpt` was an architecture without a family."""
    gpt = _checkpoint(_transformers("OpenAIGPTForSequenceClassification", "OpenAIGPTConfig"), tmp_path / "g", True)
    assert gpt["family"] == "gpt2" and gpt["family_confidence"] == 1.0
    assert gpt["base_model"]["id"] == "openai-community/openai-gpt" and gpt["base_model"]["status"] == "weights"
    gpt2 = _checkpoint(_transformers("GPT2LMHeadModel", "GPT2Config"), tmp_path / "g2")
    assert gpt2["base_model"]["id"] == "openai-community/gpt2"
    # an adapter on their blocks is either's: the weights alone name neither
    tensors = {}
    for i in range(12):
        tensors[f"base_model.model.transformer.h.{i}.attn.c_attn.lora_A.weight"] = ("F16", (8, 768))
        tensors[f"base_model.model.transformer.h.{i}.attn.c_attn.lora_B.weight"] = ("F16", (2304, 8))
    write_header(tmp_path / "lora" / "adapter_model.safetensors", tensors, data=False)
    lora = inspect_source(str(tmp_path / "lora"))
    assert lora["base_model"]["status"] == "ambiguous"
    assert {"openai-community/gpt2", "openai-community/openai-gpt"} <= {c["id"] for c in lora["root"]["candidates"]}


_BART_BASE = dict(d_model=768, encoder_layers=6, decoder_layers=6, encoder_ffn_dim=3072, decoder_ffn_dim=3072,
                  encoder_attention_heads=12, decoder_attention_heads=12)  # fmt: skip


@pytest.mark.parametrize("vocab", [30000, 50005])  # KoBART (gogamza/kobart-base-v2), PLBART (uclanlp/plbart-base)
def test_a_bart_of_another_vocabulary_is_not_bart_base(vocab, tmp_path):
    """BART's layers in bart-base's widths with another vocabulary: a Korean BART, a BART for code. Before, BART had
    no vocabulary role, and a full fine-tune of either had facebook/bart-base written from its weights alone."""
    other = _checkpoint(
        _transformers("BartForConditionalGeneration", "BartConfig", vocab_size=vocab, **_BART_BASE), tmp_path / "o"
    )
    assert other["family"] == "bart" and other["base_model"]["id"] is None
    assert f"model.shared is {vocab}x768" in other["base_model"]["reason"]
    bart = _checkpoint(_transformers("BartForConditionalGeneration", "BartConfig", **_BART_BASE), tmp_path / "b")
    assert bart["base_model"]["id"] == "facebook/bart-base"


def test_an_adapter_mostly_on_layers_its_family_lacks_is_no_surer_of_it_than_shapes_make_it(tmp_path):
    """A LoRA on every linear layer of a CLIP vision tower (transformers 5's names, no `vision_model.` prefix): its
    attention is named as Whisper's encoder's, its `mlp.fc1` / `mlp.fc2`, most of its weight updates, are not.
    Before: Whisper at 1.0, root whisper-small."""
    tensors = {}
    for key, value in _transformers("CLIPVisionModel", "CLIPVisionConfig").state_dict().items():
        if key.endswith(".weight") and value.dim() == 2 and "embedding" not in key:
            module, (d_out, d_in) = f"base_model.model.{key[: -len('.weight')]}", value.shape
            tensors[f"{module}.lora_A.weight"], tensors[f"{module}.lora_B.weight"] = (
                ("F16", (8, d_in)),
                ("F16", (d_out, 8)),
            )
    write_header(tmp_path / "adapter_model.safetensors", tensors, data=False)
    report = inspect_source(str(tmp_path))
    assert report["family_confidence"] <= 0.5 and report["root"]["confidence"] <= 0.5, report["root"]
    assert any("of the adapted weights are in layers" in e for e in report["root"]["evidence"])


_LONG_T5_BASE = dict(  # google/long-t5-tglobal-base's config.json: T5 v1.1 base's sizes
    vocab_size=32128, d_model=768, d_kv=64, d_ff=2048, num_layers=12, num_heads=12, feed_forward_proj="gated-gelu"
)


def test_long_t5_is_a_family_of_its_own(tmp_path):
    """LongT5 (google/long-t5-tglobal-base, the long-document summarizers tuned from it) has T5 v1.1 base's sizes
    under its own encoder attention names (`TransientGlobalSelfAttention`, `LocalSelfAttention`). Before: family
    T5 at 1.0, root flan-t5-base."""
    tglobal = _checkpoint(
        _transformers("LongT5ForConditionalGeneration", "LongT5Config", encoder_attention_type="transient-global",
                      **_LONG_T5_BASE), tmp_path / "tglobal", config=True,
    )  # fmt: skip
    assert tglobal["family"] == "longt5" and tglobal["family_confidence"] == 1.0
    assert tglobal["base_model"]["id"] == "google/long-t5-tglobal-base"  # its global position bias is the tglobal's
    local = _checkpoint(
        _transformers("LongT5ForConditionalGeneration", "LongT5Config", encoder_attention_type="local",
                      **_LONG_T5_BASE), tmp_path / "local",
    )  # fmt: skip
    assert local["family"] == "longt5" and local["base_model"]["status"] == "ambiguous"  # tglobal's shapes, less one
    t5 = _checkpoint(_transformers("T5ForConditionalGeneration", "T5Config", **_LONG_T5_BASE), tmp_path / "t5")
    assert t5["family"] == "t5" and t5["family_confidence"] == 1.0  # T5 v1.1 base is no LongT5
    assert not {c["id"] for c in t5["root"]["candidates"]} & {
        "google/long-t5-local-base",
        "google/long-t5-tglobal-base",
    }


def test_dinov2_with_registers_is_not_dinov2(tmp_path):
    """DINOv2 retrained with register tokens has DINOv2's shapes and names plus the tokens. Before, a fine-tune of
    facebook/dinov2-with-registers-base had facebook/dinov2-base written from its weights alone."""
    prefixed = _checkpoint(
        _transformers("Dinov2WithRegistersForImageClassification", "Dinov2WithRegistersConfig"), tmp_path / "p"
    )
    assert prefixed["family"] == "dinov2_with_registers"
    assert prefixed["base_model"]["id"] == "facebook/dinov2-with-registers-base"
    bare = _checkpoint(_transformers("Dinov2WithRegistersModel", "Dinov2WithRegistersConfig"), tmp_path / "b", True)
    assert bare["base_model"]["id"] == "facebook/dinov2-with-registers-base" and not bare["conflicts"]
    # a full checkpoint without the tokens is no model that has them: plain DINOv2 keeps its root
    plain = _checkpoint(_transformers("Dinov2Model", "Dinov2Config"), tmp_path / "plain")
    assert plain["family"] == "dinov2" and plain["base_model"]["id"] == "facebook/dinov2-base"
    assert "facebook/dinov2-with-registers-base" not in {c["id"] for c in plain["root"]["candidates"]}


@pytest.mark.parametrize("kind", ["full", "lora"])
def test_a_decoder_only_model_is_no_encoder_decoder(kind, tmp_path):
    """OPT-125m (facebook/opt-125m, in many tutorials) has whisper-small's decoder names and sizes: a fine-tune of it
    was Whisper at 0.5, root whisper-small tied with opt-125m, because nothing weighed that it has no encoder and no
    cross-attention, which every Whisper, BART-style and MusicGen model has (`expects` in families.json)."""
    shapes = {k: ("F16", tuple(v.shape)) for k, v in _transformers("OPTForCausalLM", "OPTConfig").state_dict().items()}
    if kind == "lora":  # PEFT's default targets for OPT
        shapes = {
            f"base_model.model.{k[: -len('.weight')]}.{ab}.weight": (
                "F16",
                (8, v[1][1]) if ab == "lora_A" else (v[1][0], 8),
            )
            for k, v in shapes.items()
            if k.endswith(("q_proj.weight", "v_proj.weight"))
            for ab in ("lora_A", "lora_B")
        }
    write_header(tmp_path / ("adapter_model.safetensors" if kind == "lora" else "model.safetensors"), shapes, False)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "opt" and report["family_confidence"] == 1.0
    assert report["root"]["id"] == "facebook/opt-125m"
    assert "openai/whisper-small" not in {c["id"] for c in report["root"]["candidates"]}


_BART_LARGE = dict(d_model=1024, encoder_layers=12, decoder_layers=12, encoder_ffn_dim=4096, decoder_ffn_dim=4096,
                   encoder_attention_heads=16, decoder_attention_heads=16)  # fmt: skip


@pytest.mark.parametrize(
    "cls, config, vocab, root",
    [
        ("M2M100ForConditionalGeneration", "M2M100Config", 128112, "facebook/m2m100_418M"),
        ("M2M100ForConditionalGeneration", "M2M100Config", 256206, "facebook/nllb-200-distilled-600M"),
        ("MBartForConditionalGeneration", "MBartConfig", 250027, "facebook/mbart-large-cc25"),
        ("BartForConditionalGeneration", "BartConfig", 50265, "facebook/bart-large"),
    ],
)
def test_translation_models_in_bart_large_s_shapes_are_told_apart_by_their_vocabularies(
    cls, config, vocab, root, tmp_path
):
    """M2M100 418M, NLLB-200 600M, mBART and BART-large share every layer's shape; their vocabularies differ. Before,
    none of these families sized its vocabulary, and a full fine-tune of each led with facebook/bart-large."""
    report = _checkpoint(_transformers(cls, config, vocab_size=vocab, **_BART_LARGE), tmp_path / "m")
    assert report["root"]["candidates"][0]["id"] == root, report["root"]["candidates"]
    assert report["base_model"]["id"] in (None, root)

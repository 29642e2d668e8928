"""Full checkpoints of architectures the registry does not know must not get a root's `base_model` from the
weights alone, while the registry's own architectures keep it. Each model is built by transformers (or diffusers)
on the meta device from its published configuration and written as a header-only safetensors file.

Before: wav2vec2 and HuBERT were read as ViT (their `encoder.layers.N.attention.q_proj` matched ViT's
transformers-5 names), XLM-R as roberta-base (its 250k vocabulary a "soft" mismatch; XLM-R now has roots of its
own, and GottBERT, RoBERTa's layers with a 52k vocabulary, stands in; CamemBERT did until it got roots),
Mixtral as Mistral-7B (its experts, 97% of the parameters, matched no role; Mixtral has a family now, and so has
Phi-3.5-MoE, which stood in next; Cohere2-MoE stands in), each with that root written as `base_model`; DeiT, BEiT
and ViT-MAE (a ViT root now) as google/vit-base-patch16-224 (BEiT, data2vec-vision and DPT have roots now; I-JEPA,
ViT's layers, stands in) and Granite as Llama-2-7B, whose config.json's model_type said otherwise.
"""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.formats import open_weights
from hfprobe.tree.inspect import inspect_source
from hfprobe.tree.registry import families
from tests.builders import write_header
from tests.model_shapes import LLM_CONFIGS, SDXL

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
    # Omnilingual ASR's CTC model: wav2vec 2.0's layers under `audio_tower.`, trained apart (data2vec-audio and
    # UniSpeech, once here, have families now)
    "omniasr-ctc": lambda: _transformers("OmniASRForCTC", "OmniASRCTCConfig"),
    # GottBERT: RoBERTa's layers under a 52k vocabulary no root has (CamemBERT stood in until it got roots)
    "gottbert-base": lambda: _transformers(
        "RobertaForSequenceClassification",
        "RobertaConfig",
        vocab_size=52009,
        max_position_embeddings=514,
        type_vocab_size=1,
    ),
    # transformers' Cohere2-MoE, its experts fused (`mlp.experts.gate_up_proj`): Command R's attention, and experts
    # that are 94% of it and no family's (Phi-3.5-MoE stood in until it got a family, tests/test_phimoe.py)
    "cohere2-moe": lambda: _transformers("Cohere2MoeForCausalLM", "Cohere2MoeConfig"),
    # InternViT-300M as transformers' InternVL holds it: DINOv2's transformers-5 attention and MLP names beside its
    # own `attention.projection_layer` and `lambda_1` (was facebook/dinov2-large at 1.0)
    "internvit-300m": lambda: _transformers("InternVLVisionModel", "InternVLVisionConfig"),
    # an Ettin decoder: ModernBERT's layers with attention unfused (was answerdotai/ModernBERT-base at 1.0; its tied
    # head, which safetensors saves once, is left out)
    "ettin-decoder-150m": lambda: _transformers("ModernBertDecoderModel", "ModernBertDecoderConfig"),
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
    # (ViT-B/16's shapes are LAION's too since it is a root: its 336-pixel ViT-L/14 is OpenAI's alone)
    "clip-vit-large-patch14-336": (
        lambda: _transformers(
            "CLIPModel",
            "CLIPConfig",
            projection_dim=768,
            text_config={"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12},
            vision_config={
                "hidden_size": 1024,
                "intermediate_size": 4096,
                "num_hidden_layers": 24,
                "num_attention_heads": 16,
                "patch_size": 14,
                "image_size": 336,
            },
        ),
        "openai/clip-vit-large-patch14-336",
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


@pytest.mark.parametrize(
    "cls, config, module, root",
    [
        # its attention is parameters (`rel_attn.q`, no .weight); XLNet has a family now, the default config large's
        ("XLNetModel", "XLNetConfig", "layer.0.ff.layer_1", "xlnet/xlnet-large-cased"),
        ("LevitModel", "LevitConfig", "encoder.stages.0.layers.0.module.projection.linear", None),  # BatchNorm buffers
        # weight norm: `parametrizations.weight.original1`; EnCodec has a family now, the default config 24 kHz's
        ("EncodecModel", "EncodecConfig", "encoder.layers.0.conv", "facebook/encodec_24khz"),
    ],
)
def test_a_checkpoint_of_parameters_buffers_and_weight_norm_is_read(cls, config, module, root, tmp_path):
    """Saved without config.json, these were "unknown weights layout": fewer than half their keys end in
    .weight / .bias. A state dict of module tensors (parameters and buffers under module paths) is a checkpoint,
    and a weight-normed layer's module is its direction tensor."""
    report = _checkpoint(_transformers(cls, config), tmp_path)
    assert report["format"] == "transformers-checkpoint" and report["kind"] == "checkpoint"
    assert report["base_model"]["id"] == root
    assert module in open_weights(str(tmp_path)).modules


def test_why_is_said():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        moe = _checkpoint(FOREIGN["cohere2-moe"](), Path(d) / "m")
        gottbert = _checkpoint(FOREIGN["gottbert-base"](), Path(d) / "c")
    assert "of the parameters are in layers" in moe["base_model"]["reason"]
    assert any("experts" in e for e in moe["root"]["evidence"])
    assert "but not all its sizes" in gottbert["base_model"]["reason"] and "52009" in gottbert["base_model"]["reason"]


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
        lambda: _transformers("Dinov2Model", "Dinov2Config", hidden_size=384, num_attention_heads=6, image_size=518),
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
        {"Helsinki-NLP/opus-mt-en-de"},  # whisper-base's every shape but the mel convolution, which rules it out
        None,
    ),
    "m2m100-418m": (
        lambda: _transformers("M2M100ForConditionalGeneration", "M2M100Config"),
        "m2m_100",
        {"facebook/m2m100_418M", "facebook/nllb-200-distilled-600M"},  # (BART's layers end in no layer norm)
        "facebook/m2m100_418M",  # M2M100Config's defaults are its sizes, and no other root has its 128,112 tokens
    ),
    "mbart-large": (
        lambda: _transformers("MBartForConditionalGeneration", "MBartConfig", vocab_size=250054),
        "mbart",
        {"facebook/mbart-large-50"},
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
    "siglip-base": (  # CLIP's tower names; its pooling head and logit bias are its own; its 32k vocabulary is
        lambda: _transformers("SiglipModel", "SiglipConfig"),  # SigLIP's, not SigLIP 2's 256k
        "siglip",
        {"google/siglip-base-patch16-224", "google/siglip2-base-patch16-224"},
        "google/siglip-base-patch16-224",
    ),
    "modernbert-base": (
        lambda: _transformers("ModernBertForSequenceClassification", "ModernBertConfig"),
        "modernbert",
        {"answerdotai/ModernBERT-base"},
        "answerdotai/ModernBERT-base",
    ),
    # LayoutLM saved by AutoModel, without its `layoutlm.` prefix: BERT-base's every name and size but its 2-D
    # layout position tables (`embeddings.x_position_embeddings`), which no BERT has
    "layoutlm-base": (
        lambda: _transformers("LayoutLMModel", "LayoutLMConfig"),
        "layoutlm",
        {"microsoft/layoutlm-base-uncased"},
        None,
    ),
    "layoutlmv3-base": (
        lambda: _transformers("LayoutLMv3Model", "LayoutLMv3Config"),
        "layoutlmv3",
        {"microsoft/layoutlmv3-base"},
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_architectures_that_looked_like_others_are_their_own_families(name, tmp_path):
    """Before: wav2vec2 and HuBERT had no family (a LoRA on them read as ViT at 0.5), DINOv2 was a ViT (its LoRA
    named google/vit-base-patch16-224-in21k), ESM-2 a BERT of no known root, an opus-mt model Whisper (root
    whisper-base), M2M100 / NLLB and mBART BART-large, ModernBERT nothing, a bare LayoutLM BERT at 0.99 (root
    bert-base-uncased), a bare LayoutLMv3 BERT at 0.86."""
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


# what their names and sizes resemble: I-JEPA a ViT-B/16, GIT CLIP ViT-B/16, EXAONE-MoE GLM-4.5, Persimmon Phi
# (its `self_attn.dense`); their config.json's model_type says what they are (OLMo 3's, DeiT's, data2vec-vision's,
# StableLM's, DPT's, Qwen2-MoE's and OWL-ViT's, once here, have families now; ViT-MAE's is ViT's, its pretrained
# models ViT roots: tests/test_vit_mae.py)
WITH_CONFIG = {
    "ijepa-base": lambda: _transformers("IJepaForImageClassification", "IJepaConfig"),
    "git": lambda: _transformers("GitForCausalLM", "GitConfig"),
    "exaone_moe": lambda: _transformers("ExaoneMoeForCausalLM", "ExaoneMoeConfig"),
    "persimmon": lambda: _transformers("PersimmonForCausalLM", "PersimmonConfig"),
}


@pytest.mark.parametrize("name", sorted(WITH_CONFIG))
def test_a_model_type_the_registry_lacks_caps_the_family_and_writes_nothing(name, tmp_path):
    report = _checkpoint(WITH_CONFIG[name](), tmp_path / name, config=True)
    assert report["base_model"]["id"] is None and "model_type" in report["base_model"]["reason"]
    assert report["family_confidence"] <= 0.5 and report["root"]["confidence"] <= 0.5


@pytest.mark.parametrize("name", ["xlm-roberta-base", "clip-vit-large-patch14-336", "whisper-small"])
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
    # (Qwen1.5-7B and OLMo 3 7B have Llama 2 7B's shapes but for their vocabularies, so the family is a little short
    # of certain: 0.949 since OLMo 3 joined, 0.95 and more before)
    assert with_config["base_model"]["id"] is None and with_config["family_confidence"] >= 0.9


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
    shapes["positional_embedding"] = ("F16", (77, 512))  # the text tower's position and token tables
    shapes["token_embedding.weight"] = ("F16", (49408, 512))
    write_header(tmp_path / "b32" / "open_clip_model.safetensors", shapes, data=False)
    report = inspect_source(str(tmp_path / "b32"))
    assert report["family"] == "clip" and report["base_model"]["status"] == "ambiguous"
    ids = [c["id"] for c in report["root"]["candidates"]]
    assert {"openai/clip-vit-base-patch32", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"} <= set(ids[:2])


def _diffusers_checkpoint(cls: str, folder, class_name: str | None = None, card: str | None = None, **config):
    """inspect's report on a header-only diffusers model checkpoint with its config.json (`_class_name` first, as
    diffusers writes it), built by diffusers from `config`; `class_name` stands in for the class's own name."""
    import diffusers

    with torch.device("meta"):
        model = getattr(diffusers, cls)(**config)
    tensors = {k: ("BF16", tuple(v.shape)) for k, v in model.state_dict().items()}
    write_header(folder / "diffusion_pytorch_model.safetensors", tensors, data=False)
    saved = {"_class_name": class_name or cls, "_diffusers_version": diffusers.__version__, **dict(model.config)}
    (folder / "config.json").write_text(json.dumps(saved, default=str))
    if card:
        (folder / "README.md").write_text(f"---\nbase_model: {card}\n---\n")
    return inspect_source(str(folder))


def test_a_diffusers_class_the_registry_lacks_caps_the_family_and_writes_nothing(tmp_path):
    """A diffusers config.json's `_class_name` is its model_type. Motif-Video's blocks have HunyuanVideo's names and
    width: its checkpoint, config.json and all, would be HunyuanVideo at 1.0 (AuraFlow's was, before it had a family
    of its own); Chroma (FLUX.1-schnell pruned and retrained) was FLUX.1 at 1.0."""
    motif = _diffusers_checkpoint("MotifVideoTransformer3DModel", tmp_path / "motif", num_layers=2, num_single_layers=2)
    assert motif["family_confidence"] <= 0.5 and motif["root"]["confidence"] <= 0.5
    assert motif["base_model"]["id"] is None
    reason = "_class_name MotifVideoTransformer3DModel, an architecture the registry has no"
    assert reason in motif["base_model"]["reason"]
    assert motif["declared"]["config.json _class_name"] == "MotifVideoTransformer3DModel"
    chroma = _diffusers_checkpoint("ChromaTransformer2DModel", tmp_path / "chroma", num_layers=2, num_single_layers=2)
    assert chroma["family"] == "flux" and chroma["family_confidence"] == 0.5
    # what its card declares is still checked against the weights and written
    card = _diffusers_checkpoint(
        "ChromaTransformer2DModel", tmp_path / "card", card="black-forest-labs/FLUX.1-schnell", num_layers=19
    )
    assert card["base_model"]["id"] == "black-forest-labs/FLUX.1-schnell"


def test_a_diffusers_class_of_the_registry_keeps_the_family_and_its_root(tmp_path):
    """One class for one family (Z-Image) claims it; one for several (UNet2DConditionModel: SD 1.x, 2.x and XL)
    claims none and caps none; a class of another family than the weights' is a conflict."""
    zimage = _diffusers_checkpoint("ZImageTransformer2DModel", tmp_path / "z")
    assert zimage["family_confidence"] == 1.0 and zimage["base_model"]["id"] == "Tongyi-MAI/Z-Image-Turbo"
    assert zimage["declared"]["agrees"] is True
    unet = _diffusers_checkpoint("UNet2DConditionModel", tmp_path / "unet", **SDXL)
    assert unet["family"] == "sdxl" and unet["base_model"]["id"] == "stabilityai/stable-diffusion-xl-base-1.0"
    flux = _diffusers_checkpoint(
        "FluxTransformer2DModel", tmp_path / "f", class_name="WanTransformer3DModel", num_layers=2, num_single_layers=2
    )
    assert flux["family"] == "flux" and flux["base_model"]["status"] == "contradicted"
    assert any("_class_name says WanTransformer3DModel" in c for c in flux["conflicts"])


def test_the_architecture_tables_name_registry_families_and_real_classes():
    """families.json's `model_types` and `diffusers_classes` name families the registry has; each model type is
    one transformers knows (but Falcon's `RefinedWeb*` from before transformers had it, `gpt-j`, a spelling
    other tools write for `gptj`, Kimi K2's `kimi_k2`, MiniMax-Text-01's and -M1's and GRIN-MoE's `grinmoe`, their own
    code's, StableLM's first `stablelm_epoch`, and `xlm-prophetnet`, which transformers 5 dropped and XLM-ProphetNet's
    Hub configs still say), each class one diffusers exports (or Wan's own)."""
    import diffusers
    from transformers import CONFIG_MAPPING

    spec = families()
    known = spec["families"]
    assert all(f in known for f in spec["_model_types"].values())
    assert all(fams and set(fams) <= set(known) for fams in spec["_diffusers_classes"].values())
    foreign = [t for t in spec["_model_types"] if t not in CONFIG_MAPPING]
    assert foreign == [
        "xlm-prophetnet",
        "grinmoe",
        "minimax_text_01",
        "minimax_m1",
        "kimi_k2",
        "gpt-j",
        "stablelm_epoch",
        "RefinedWebModel",
        "RefinedWeb",
    ]
    assert [c for c in spec["_diffusers_classes"] if not hasattr(diffusers, c)] == ["WanModel"]
    assert not set(spec["_model_types"]) & set(known)  # a family's own key needs no row


def test_the_architectures_benchmark_reads_diffusers_classes(tmp_path, capsys):
    """benchmarks/bench_architectures.py --diffusers: each class as a checkpoint, with its `_class_name`, and as an
    attention LoRA, against the families families.json's `diffusers_classes` gives it."""
    import importlib.util
    import logging
    import signal
    import warnings
    from pathlib import Path

    import transformers

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_architectures.py"
    spec = importlib.util.spec_from_file_location("bench_architectures", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "rows.jsonl"
    classes = ["MotifVideoTransformer3DModel", "ZImageTransformer2DModel"]
    verbosity = transformers.logging.get_verbosity()
    with warnings.catch_warnings():  # main() quiets logging, warnings and transformers for its run: undone here
        try:
            assert bench.main(["--diffusers", "--only", *classes, "--out", str(out)]) == 0
        finally:
            logging.disable(logging.NOTSET)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            transformers.logging.set_verbosity(verbosity)
    motif, zimage = (json.loads(line) for line in out.read_text().splitlines())
    assert motif["truth"] == [] and motif["full+config"]["confidence"] <= 0.5
    assert zimage["truth"] == ["zimage"] and zimage["lora"]["family"] == "zimage"
    summary = json.loads(capsys.readouterr().out)
    assert summary["full"]["files"] == 2 and summary["full+config"]["sure and wrong"] == 0
    assert summary["lora"]["right and sure"] >= 1

"""What tells a registry family from the architectures that share its names and sizes: the share of a model in the
family's layers, its vocabulary, a layer every model of the family has (`expects`) or every full checkpoint of it
holds (`requires`), its encoder's names. Each model is built by transformers on the meta device from its published
configuration (or its default one) and written as a header-only safetensors file, as in
`tests/test_foreign_architectures.py`; `benchmarks/bench_architectures.py` runs the same reading over every
architecture transformers has.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.inspect import inspect_source
from tests.builders import write_header
from tests.model_shapes import LLM_CONFIGS
from tests.test_foreign_architectures import _OPUS_MT, FOREIGN, _checkpoint, _transformers

torch.set_num_threads(1)


# towers and models whose layers are named as a registry family's, though most of each is layers it does not have
SHARED_NAMES = {
    # (CLIP's and SigLIP's vision towers were here: transformers 5 saves one alone without `vision_model.`, and so
    # named they were Whisper's encoder; tests/test_components.py reads them as their own; MLCD's, below)
    # (BioGPT was here, OPT's names and OPT-350m's sizes: a family of its own since, tests/test_mamba2_dbrx_biogpt.py)
    "cohere2-moe": FOREIGN["cohere2-moe"],  # Command R's attention; its experts, 94% of it, are not Command R's
}


@pytest.mark.parametrize("name", sorted(SHARED_NAMES))
def test_a_model_mostly_of_layers_its_family_lacks_is_no_surer_of_it_than_shapes_make_it(name, tmp_path):
    """Before: a CLIP or SigLIP vision tower was Whisper at 1.0 (root whisper-small 0.75), BioGPT Qwen2 at 1.0 (a family
    of its own now), Mixtral Mistral at 0.82 (a mixture with fused experts, Cohere2-MoE's, stands in for it now that
    Mixtral's and Phi-3.5-MoE's own names are families'), in every report, card and index row, though each said
    that most of its parameters were in layers the family does not have."""
    report = _checkpoint(SHARED_NAMES[name](), tmp_path / name)
    assert report["family_confidence"] <= 0.5 and report["root"]["confidence"] <= 0.5, report["root"]
    said = ("of the parameters are in layers", "weights fit roots of")  # a names' family's share, or shapes alone
    assert any(words in e for e in report["root"]["evidence"] for words in said)
    assert report["base_model"]["id"] is None


def test_a_lora_whose_diffusion_layers_are_a_text_encoder_s_is_weighed_by_its_share(tmp_path):
    """A LoRA on every Linear of SAM 3 (its default configuration): its CLIP text tower (`text_encoder.…`, OpenCLIP
    ViT-H's shapes) is what SD 2.x's pipeline names its text encoder, so it read as SD 2.1 at 1.0: a diffusion LoRA's
    share of its family's layers was not weighed (a UNet LoRA adapts attention alone). One whose every fitting layer
    is a text encoder's is weighed as any adapter is, and most of SAM 3 is layers SD 2.x lacks. (SAM 3 is a family of
    its own now, tests/test_sam2_sam3.py: here its other layers are renamed into a model the registry lacks, its text
    tower cut to SD 2.x's 23 blocks.) An SD 1.5 LoRA on its text encoder alone (attention and MLP) is all in the
    family's layers, the text encoder's MLP now listed among them (`unsized`)."""
    import transformers as tf

    with torch.device("meta"):
        sam3 = tf.AutoModel.from_config(tf.CONFIG_MAPPING["sam3"]())
    lora = {}
    for n, (key, value) in enumerate(sam3.state_dict().items()):
        if key.endswith(".weight") and value.dim() == 2 and "embed" not in key and ".layers.23." not in key:
            module = key.removesuffix(".weight") if key.startswith("text_encoder.") else f"model.block{n}.proj"
            base = "base_model.model." + module
            lora[f"{base}.lora_A.weight"] = ("F16", (8, value.shape[1]))
            lora[f"{base}.lora_B.weight"] = ("F16", (value.shape[0], 8))
    write_header(tmp_path / "sam3" / "adapter_model.safetensors", lora, data=False)
    report = inspect_source(str(tmp_path / "sam3"))
    assert report["family"] == "sd2" and report["family_confidence"] <= 0.5, report["root"]["evidence"]
    te = {}
    for i in range(12):  # kohya's names for SD 1.5's text encoder: CLIP ViT-L/14's attention and MLP
        for name, (o, i_) in {
            "self_attn_q_proj": (768, 768),
            "self_attn_v_proj": (768, 768),
            "mlp_fc1": (3072, 768),
        }.items():
            key = f"lora_te_text_model_encoder_layers_{i}_{name}"
            te |= {f"{key}.lora_down.weight": ("F16", (8, i_)), f"{key}.lora_up.weight": ("F16", (o, 8))}
            te[f"{key}.alpha"] = ("F16", ())
    write_header(tmp_path / "te" / "te_only.safetensors", te, data=False)
    report = inspect_source(str(tmp_path / "te"))
    assert report["family"] == "sd1", report["root"]["evidence"]  # (SDXL's first text encoder is CLIP-L too)
    assert not any("of the adapted weights are in layers" in e for e in report["root"]["evidence"])


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


@pytest.mark.parametrize("folder", ["output_dir", "checkpoint-1500"])
def test_a_bare_folder_name_in_name_or_path_is_no_claim(folder, tmp_path):
    """from_pretrained records what it was given: a bare name nothing knows is the folder it loaded (`output_dir`),
    no Hub id (those have an org, but for the canonical ones the registry knows). It was "a model hfprobe does not
    know", which kept the weights alone from naming mT5-small."""
    model = _transformers("MT5ForConditionalGeneration", "MT5Config", **_MT5_SMALL)
    model.config._name_or_path = folder
    report = _checkpoint(model, tmp_path / "m", True)
    assert report["base_model"]["id"] == "google/mt5-small" and report["base_model"]["status"] == "weights"
    assert report["declared"]["ignored"] == {
        "config.json _name_or_path": f"{folder} (a local folder's name, not a claim)"
    }


_MISTRAL_SMALL_3 = dict(hidden_size=5120, intermediate_size=32768, num_hidden_layers=40, num_attention_heads=32,
                        num_key_value_heads=8, head_dim=128, vocab_size=131072)  # fmt: skip


@pytest.mark.parametrize("model_type", ["mistral3", "siglip2"])
def test_model_types_of_models_built_on_registry_families(model_type, tmp_path):
    """Mistral Small 3.1 (`mistral3`: Mistral Small 3's decoder under a Pixtral tower) and SigLIP 2's NaFlex models
    (`siglip2`): their config.json made them foreign, family 0.5 and no root from the weights."""
    from transformers import CONFIG_MAPPING, AutoModel

    kw = {"text_config": _MISTRAL_SMALL_3} if model_type == "mistral3" else {}
    config = CONFIG_MAPPING[model_type](**kw)
    with torch.device("meta"):
        model = AutoModel.from_config(config)
    report = _checkpoint(model, tmp_path / model_type, config=True)
    assert report["family"] == {"mistral3": "mistral", "siglip2": "siglip"}[model_type]
    assert report["family_confidence"] == 1.0 and not report["conflicts"]


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


@pytest.mark.parametrize(
    "vocab, family, base",
    [(30000, "bart", None), (50005, "plbart", "uclanlp/plbart-base")],  # KoBART (gogamza/kobart-base-v2), PLBART
)
def test_a_bart_of_another_vocabulary_is_not_bart_base(vocab, family, base, tmp_path):
    """BART's layers in bart-base's widths with another vocabulary: a Korean BART, a BART for code (PLBART, a family
    of its own since stop 87: its 50,005 tokens name its root). Before, BART had no vocabulary role, and a full
    fine-tune of either had facebook/bart-base written from its weights alone."""
    other = _checkpoint(
        _transformers("BartForConditionalGeneration", "BartConfig", vocab_size=vocab, **_BART_BASE), tmp_path / "o"
    )
    assert other["family"] == family and other["base_model"]["id"] == base
    assert base or f"model.shared is {vocab}x768" in other["base_model"]["reason"]
    bart = _checkpoint(_transformers("BartForConditionalGeneration", "BartConfig", **_BART_BASE), tmp_path / "b")
    assert bart["base_model"]["id"] == "facebook/bart-base"


def test_mlcd_s_rotary_positions_rule_out_clip_and_siglip(tmp_path):
    """MLCD's vision tower is OpenCLIP ViT-bigG's blocks, saved alone as transformers 5 saves a CLIP tower, with
    rotary positions (`class_pos_emb`) where every CLIP and SigLIP learns a table: no CLIP, nor read as one."""
    report = _checkpoint(_transformers("MLCDVisionModel", "MLCDVisionConfig"), tmp_path)
    assert report["family"] not in {"clip", "siglip"} and report["family_confidence"] <= 0.5, report["root"]
    assert report["base_model"]["id"] is None
    assert any("class_pos_emb" in e for e in report["root"]["evidence"])


def _tower_lora(cls: str, config: str, folder, only: str = "") -> dict:
    """inspect's report on a PEFT LoRA over every linear layer of a tower transformers 5 saves alone (no
    `vision_model.` / `text_model.` prefix), or on those whose names hold `only`."""
    tensors = {}
    for key, value in _transformers(cls, config).state_dict().items():
        if key.endswith(".weight") and value.dim() == 2 and "embedding" not in key and only in key:
            module, (d_out, d_in) = f"base_model.model.{key[: -len('.weight')]}", value.shape
            tensors[f"{module}.lora_A.weight"], tensors[f"{module}.lora_B.weight"] = (
                ("F16", (8, d_in)),
                ("F16", (d_out, 8)),
            )
    write_header(folder / "adapter_model.safetensors", tensors, data=False)
    return inspect_source(str(folder))


def test_a_lora_on_a_clip_or_siglip_tower_saved_alone_is_theirs(tmp_path):
    """A LoRA on a CLIP or SigLIP tower as transformers 5 names one alone (`encoder.layers.N.self_attn.q_proj`,
    `mlp.fc1`): its attention is named as Whisper's encoder's, which read it as Whisper (at 0.5, root whisper-small,
    most of it being layers Whisper lacks). The tower, text or vision, is unknown: its sizes are checked against
    either tower of each root, and its block count against either stack."""
    vision = _tower_lora("CLIPVisionModel", "CLIPVisionConfig", tmp_path / "clip-vision")  # ViT-B/32's
    ids = [c["id"] for c in vision["root"]["candidates"]]
    assert vision["family"] == "clip" and "openai/clip-vit-base-patch32" in ids, vision["root"]["evidence"]
    assert vision["root"]["confidence"] <= 0.5 and vision["base_model"]["id"] is None  # (L/14's text tower: 768 wide)
    text = _tower_lora("CLIPTextModel", "CLIPTextConfig", tmp_path / "clip-text")  # 512 wide: only ViT-B's text tower
    b_text = {"openai/clip-vit-base-patch32", "openai/clip-vit-base-patch16", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"}
    assert text["family"] == "clip" and text["root"]["id"] in b_text, text["root"]
    siglip = _tower_lora("SiglipVisionModel", "SiglipVisionConfig", tmp_path / "siglip")  # its pooling head's MLP too
    assert siglip["family"] == "siglip" and siglip["root"]["id"].startswith("google/siglip"), siglip["root"]
    # an encoder-decoder's LoRA on its encoder's and decoder's attention stays Whisper's
    whisper = _tower_lora("WhisperModel", "WhisperConfig", tmp_path / "whisper", only="_proj")
    assert whisper["family"] == "whisper", whisper["root"]["evidence"]


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


_DINOV2 = dict(patch_size=14, image_size=518)  # as DINOv2's published configs say (transformers' defaults differ)


def test_dinov2_with_registers_is_not_dinov2(tmp_path):
    """DINOv2 retrained with register tokens has DINOv2's shapes and names plus the tokens. Before, a fine-tune of
    facebook/dinov2-with-registers-base had facebook/dinov2-base written from its weights alone."""
    prefixed = _checkpoint(
        _transformers("Dinov2WithRegistersForImageClassification", "Dinov2WithRegistersConfig", **_DINOV2),
        tmp_path / "p",
    )
    assert prefixed["family"] == "dinov2_with_registers"
    assert prefixed["base_model"]["id"] == "facebook/dinov2-with-registers-base"
    bare = _checkpoint(
        _transformers("Dinov2WithRegistersModel", "Dinov2WithRegistersConfig", **_DINOV2), tmp_path / "b", True
    )
    assert bare["base_model"]["id"] == "facebook/dinov2-with-registers-base" and not bare["conflicts"]
    # a full checkpoint without the tokens is no model that has them: plain DINOv2 keeps its root
    plain = _checkpoint(_transformers("Dinov2Model", "Dinov2Config", **_DINOV2), tmp_path / "plain")
    assert plain["family"] == "dinov2" and plain["base_model"]["id"] == "facebook/dinov2-base"
    assert "facebook/dinov2-with-registers-base" not in {c["id"] for c in plain["root"]["candidates"]}


def test_a_dinov2_lora_on_its_mlp_is_dinov2_and_vitdet_is_not(tmp_path):
    """A DINOv2 LoRA as PEFT saved it under transformers 4 (`encoder.layer.N.attention.attention.query`, ViT's names
    and sizes) was ViT at 0.79: its MLP, `encoder.layer.N.mlp.fc1`, is DINOv2's (ViT's is `intermediate.dense`). ViTDet
    and V-JEPA 2 have that MLP too, beside attention DINOv2 never has (`excludes`): their checkpoints stay unplaced."""
    import transformers as tf

    from hfprobe.tree.classify import classify
    from tests.model_shapes import saved_shapes

    with torch.device("meta"):
        shapes = saved_shapes(tf.Dinov2Model(tf.Dinov2Config()))
    modules = {f"base_model.model.{k.removesuffix('.weight')}": v for k, v in shapes.items() if k.endswith(".weight")}
    lora = {k: v for k, v in modules.items() if k.endswith(("query", "value", "fc1", "fc2"))}
    r = classify(lora)
    assert r.family == "dinov2" and r.candidates[0]["id"] in {
        "facebook/dinov2-base",
        "facebook/dinov2-with-registers-base",
    }
    assert classify({k: v for k, v in lora.items() if "mlp" not in k}).family_confidence < 0.9  # ViT's, or DINOv2's
    for cls, config in (("VitDetModel", "VitDetConfig"), ("VJEPA2Model", "VJEPA2Config")):
        with torch.device("meta"):
            model = getattr(tf, cls)(getattr(tf, config)())
        tensors = {k: ("F16", v) for k, v in saved_shapes(model).items()}
        write_header(tmp_path / cls / "model.safetensors", tensors, data=False)
        report = inspect_source(str(tmp_path / cls))
        assert report["family"] != "dinov2" and report["base_model"]["id"] is None, (cls, report["root"]["evidence"])


def test_a_speech_encoder_is_no_vit_and_no_deberta(tmp_path):
    """Speech models built of layers other families have too. OmniASR's encoder is wav2vec 2.0's under another
    prefix (`audio_tower.layers.N.attention.q_proj`, `feed_forward.intermediate_dense`): its q/k/v names are
    transformers 5's ViT's, so it was ViT-large at 1.0. SEW-D is DeBERTa-v2's layers over a wav2vec 2.0
    convolutional feature encoder: it was DeBERTa-v3-base at 1.0, then unsure, and is SEW-D's own family now
    (tests/test_speech_encoders.py)."""
    omni = _checkpoint(_transformers("OmniASRForCTC", "OmniASRCTCConfig"), tmp_path / "omniasr")
    assert omni["family"] in {"wav2vec2", "hubert", "wavlm"}, omni["root"]["evidence"]
    assert omni["base_model"]["id"] is None  # (wav2vec2-large's, HuBERT-large's and WavLM-large's shapes)
    # its audio model saved bare (`layers.N.attention.q_proj`, no prefix): its out_proj and feed-forwards make the
    # speech rule the larger; it yields to ViT's only in a tie (a sweep in stop 75 had it ViT at 1.0)
    bare = _checkpoint(_transformers("OmniASRAudioModel", "OmniASRAudioConfig"), tmp_path / "omniasr-audio")
    assert bare["family"] in {"wav2vec2", "hubert", "wavlm"}, bare["root"]["evidence"]
    sewd = _checkpoint(_transformers("SEWDForCTC", "SEWDConfig"), tmp_path / "sew-d")
    assert sewd["family"] == "sew_d" and sewd["base_model"]["id"] is None, sewd["root"][
        "evidence"
    ]  # (no release's size)
    # the speech rule leaves a ViT under the names transformers 5 holds (`layers.N.attention.q_proj` to `o_proj`: a
    # PEFT adapter made on it has them) a ViT, whole or adapted on q_proj and v_proj alone, names both rules match
    from hfprobe.tree.classify import classify

    held = {k: tuple(v.shape) for k, v in _transformers("ViTModel", "ViTConfig").state_dict().items()}
    whole = {k.removesuffix(".weight"): v for k, v in held.items() if k.endswith(".weight") and len(v) == 2}
    assert classify(whole).family == "vit"
    assert classify({k: v for k, v in whole.items() if k.endswith(("q_proj", "v_proj"))}).family == "vit"


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


def test_a_text_encoder_that_is_no_clip_is_no_diffusion_pipeline_s(tmp_path):
    """SeamlessM4T names its text encoder `text_encoder.layers.N` (an NLLB-style encoder): a LoRA on it was Stable
    Diffusion 2.1 at 1.0, the rule for a pipeline's text encoder reading only the `text_encoder.` in front. A pipeline's
    text encoder is CLIP's (`text_encoder.text_model.…`, kohya's `lora_te_text_model_…`)."""
    model = _transformers("SeamlessM4TModel", "SeamlessM4TConfig")
    shapes = {
        f"base_model.model.{k[: -len('.weight')]}.{ab}.weight": (
            "F16",
            (8, v.shape[1]) if ab == "lora_A" else (v.shape[0], 8),
        )
        for k, v in model.state_dict().items()
        if k.startswith("text_encoder.") and k.endswith(("q_proj.weight", "v_proj.weight"))
        for ab in ("lora_A", "lora_B")
    }
    write_header(tmp_path / "adapter_model.safetensors", shapes, data=False)
    report = inspect_source(str(tmp_path))
    assert report["family"] not in {"sd1", "sd2", "sdxl", "sd3", "flux"}, report["root"]["evidence"]
    assert report["family_confidence"] < 0.9
    # an SD 2.1 text encoder LoRA in diffusers' and kohya's names is still one
    for name, (module, down, up) in {
        "diffusers": ("text_encoder.text_model.encoder.layers.{}.self_attn.q_proj", "lora_A", "lora_B"),
        "kohya": ("lora_te_text_model_encoder_layers_{}_self_attn_q_proj", "lora_down", "lora_up"),
    }.items():
        te = {}
        for i in range(23):
            te[f"{module.format(i)}.{down}.weight"] = ("F16", (8, 1024))
            te[f"{module.format(i)}.{up}.weight"] = ("F16", (1024, 8))
        write_header(tmp_path / name / "lora.safetensors", te, data=False)
        assert inspect_source(str(tmp_path / name))["family"] == "sd2"


def test_a_full_translation_model_without_whisper_s_audio_layers_is_no_whisper(tmp_path):
    """A full opus-mt checkpoint has Whisper-base's every layer name and size but no convolution over mel bins, which
    every full Whisper checkpoint holds (`requires`). It was Whisper at 0.64 (root openai/whisper-base), the opus-mt
    roots behind at 0.06; a full Whisper checkpoint stays Whisper's."""
    report = _checkpoint(_transformers("MarianMTModel", "MarianConfig", **_OPUS_MT), tmp_path / "opus")
    assert report["family"] == "marian", report["root"]["evidence"]
    assert report["root"]["candidates"][0]["id"].startswith("Helsinki-NLP/opus-mt-"), report["root"]["candidates"]
    whisper = _checkpoint(
        _transformers("WhisperForConditionalGeneration", "WhisperConfig", **LLM_CONFIGS["whisper"][1]), tmp_path / "w"
    )
    assert whisper["family"] == "whisper" and whisper["root"]["id"] == LLM_CONFIGS["whisper"][2], whisper["root"]


@pytest.mark.parametrize("cls, config", [("MBartModel", "MBartConfig"), ("PegasusModel", "PegasusConfig")])
def test_a_final_encoder_layer_norm_is_no_bart_s(cls, config, tmp_path):
    """mBART's and Pegasus's default configs have every tensor shape of BART-large, its vocabulary included; their
    encoder and decoder each end in a layer norm, which BART's do not. With Whisper's roots ruled out (no mel
    convolution) they were BART with `facebook/bart-large` written from the weights; BART itself keeps it."""
    report = _checkpoint(_transformers(cls, config), tmp_path / "m")
    assert report["family"] != "bart" and report["base_model"]["id"] is None, report["root"]
    bart = _checkpoint(_transformers("BartModel", "BartConfig"), tmp_path / "b")
    assert bart["family"] == "bart" and bart["base_model"]["id"] == "facebook/bart-large", bart["root"]


@pytest.mark.parametrize("dim, roots", [(768, True), (1024, False)])
def test_a_lora_on_distilbert_s_classification_head_alone_is_distilbert_s(dim, roots, tmp_path):
    """PEFT on DistilBertForSequenceClassification with `classifier` targeted keeps `pre_classifier` whole: with
    no metadata such a file had no family ("no known architecture pattern"); its `pre_classifier` is DistilBERT's,
    and its width says which roots fit (cased, uncased and multilingual share 768, so none is the base_model)."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    with torch.device("meta"):
        model = DistilBertForSequenceClassification(
            DistilBertConfig(dim=dim, hidden_dim=4 * dim, n_heads=dim // 64, num_labels=6)
        )
    tensors = {f"base_model.model.{n}": ("F32", tuple(p.shape)) for n, p in model.named_parameters() if "pre_" in n}
    tensors["base_model.model.classifier.lora_A.weight"] = ("F32", (8, dim))
    tensors["base_model.model.classifier.lora_B.weight"] = ("F32", (6, 8))
    report = inspect_source(str(write_header(tmp_path / "adapter_model.safetensors", tensors)))
    assert report["family"] == "distilbert", report["root"]["evidence"]
    assert any("pre_classifier" in e for e in report["root"]["evidence"] if e.startswith("names:"))
    assert (report["root"]["id"] or "").startswith("distilbert/") is roots, report["root"]
    assert report["base_model"]["id"] is None


def test_a_vision_tower_in_a_speech_encoder_s_attention_names_is_no_speech_encoder(tmp_path):
    """InternVL's vision tower (`encoder.layer.N.attention.q_proj`, wav2vec 2.0's names) at 14 pixels a patch and
    1,025 positions fits no ViT root but softly: an image's patch embedding rules the speech encoders out, whose
    roots had taken the lead (wav2vec 2.0 at 0.44) once the ViT roots' patch size was read."""
    report = _checkpoint(_transformers("InternVLVisionModel", "InternVLVisionConfig"), tmp_path)
    assert report["family"] not in {"wav2vec2", "hubert", "wavlm"}, report["root"]["evidence"]
    assert report["base_model"]["id"] is None

"""Family and root detection on shapes taken from the libraries' own model classes.

Every fixture instantiates the real diffusers / transformers class on the meta device (no memory, no
download) with the published hyperparameters of a known root, then reads module names and shapes off
it. So the tests check our registry against what the libraries actually build, including families
with no example in the realzoo data (SDXL, SD3, FLUX, LLaMA, Mistral, Gemma, Whisper, CLIP, SAM...).
"""

from __future__ import annotations

import re

import pytest
import torch

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims, resolve_name
from hfprobe.tree.names import normalize_key, shapes_from_raw
from hfprobe.tree.registry import roots

SDXL_BASE = "stabilityai/stable-diffusion-xl-base-1.0"

torch.set_num_threads(1)


def module_shapes(model) -> dict[str, tuple]:
    """(d_out, d_in) of every Linear / Conv / Embedding / GPT-2 Conv1D in a model built on meta."""
    out = {}
    for name, m in model.named_modules():
        w = getattr(m, "weight", None)
        if w is None or w.dim() < 2:
            continue
        kind = type(m).__name__
        if kind == "Conv1D":  # GPT-2 stores [in, out]
            out[name] = (w.shape[1], w.shape[0])
        elif kind == "Embedding":
            out[name] = (w.shape[0], w.shape[1])
        else:
            out[name] = (w.shape[0], w.shape[1])
    return out


def lora_like(shapes: dict, *suffixes: str, prefix: str = "") -> dict:
    """What a LoRA on those modules exposes: the same (d_out, d_in), under the same names."""
    return {prefix + k: v for k, v in shapes.items() if k.endswith(suffixes)}


# ---------------------------------------------------------------- diffusion fixtures (diffusers configs)

SD15 = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    cross_attention_dim=768,
    attention_head_dim=8,
    block_out_channels=(320, 640, 1280, 1280),
    layers_per_block=2,
)
SD21 = dict(SD15, cross_attention_dim=1024, attention_head_dim=[5, 10, 20, 20], use_linear_projection=True)
SDXL = dict(
    sample_size=128,
    in_channels=4,
    out_channels=4,
    block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=[1, 2, 10],
    attention_head_dim=[5, 10, 20],
    cross_attention_dim=2048,
    use_linear_projection=True,
    addition_embed_type="text_time",
    addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816,
)


@pytest.fixture(scope="session")
def unet():
    from diffusers import UNet2DConditionModel

    cache = {}

    def build(**config):
        key = repr(sorted(config.items()))
        if key not in cache:
            with torch.device("meta"):
                cache[key] = module_shapes(UNet2DConditionModel(**config))
        return cache[key]

    return build


def test_sd15_unet_is_sd1_with_honest_candidates(unet):
    r = classify(unet(**SD15))
    assert r.family == "sd1"
    ids = [c["id"] for c in r.candidates]
    # conv_in has 4 channels: the inpainting (9) and pix2pix (8) UNets are ruled out, 1.4 and 1.5 are not
    assert ids[0] == "stable-diffusion-v1-5/stable-diffusion-v1-5" and "CompVis/stable-diffusion-v1-4" in ids
    assert "stable-diffusion-v1-5/stable-diffusion-inpainting" not in ids
    assert r.confidence < 0.9
    assert any("cannot separate" in e for e in r.evidence)


def test_inpainting_unet_is_told_apart_by_conv_in(unet):
    r = classify(unet(**dict(SD15, in_channels=9)))
    assert r.family == "sd1" and r.root == "stable-diffusion-v1-5/stable-diffusion-inpainting"


def test_attention_only_lora_cannot_separate_inpainting(unet):
    r = classify(lora_like(unet(**SD15), "to_q", "to_k", "to_v", "to_out.0", prefix="unet."))
    ids = [c["id"] for c in r.candidates]
    assert r.family == "sd1" and "stable-diffusion-v1-5/stable-diffusion-inpainting" in ids
    assert sum(c["score"] for c in r.candidates) <= 1.0


def test_sd2_by_cross_attention_1024(unet):
    r = classify(lora_like(unet(**SD21), "attn2.to_k", "attn2.to_v"))
    assert r.family == "sd2" and r.root.startswith("stabilityai/stable-diffusion-2")


def test_sdxl_unet(unet):
    r = classify(unet(**SDXL))
    assert r.family == "sdxl" and r.root == "stabilityai/stable-diffusion-xl-base-1.0"


def test_sdxl_kohya_sgm_names_with_te2():
    shapes = {
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k": (640, 2048),
        "lora_unet_output_blocks_0_1_transformer_blocks_9_attn1_to_q": (1280, 1280),
        "lora_te1_text_model_encoder_layers_0_self_attn_q_proj": (768, 768),
        "lora_te2_text_model_encoder_layers_0_self_attn_q_proj": (1280, 1280),
    }
    r = classify(shapes)
    assert r.family == "sdxl" and r.root == "stabilityai/stable-diffusion-xl-base-1.0"


def test_sdxl_lora_with_both_text_encoders_from_the_file(tmp_path):
    """Through the format reader, whose canonical names are `text_encoder_2.…`: the first text encoder's role once
    took those too, and every SDXL LoRA that trained the second encoder was ruled out of SDXL."""
    from safetensors.torch import save_file

    from hfprobe.tree.inspect import inspect_source

    tensors = {}
    for name, d_out, d_in in [
        ("lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k", 640, 2048),
        ("lora_unet_middle_block_1_transformer_blocks_0_attn2_to_k", 1280, 2048),
        ("lora_te1_text_model_encoder_layers_0_self_attn_q_proj", 768, 768),
        ("lora_te2_text_model_encoder_layers_0_self_attn_q_proj", 1280, 1280),
    ]:
        tensors[f"{name}.lora_down.weight"] = torch.zeros(4, d_in, dtype=torch.float16)
        tensors[f"{name}.lora_up.weight"] = torch.zeros(d_out, 4, dtype=torch.float16)
    save_file(tensors, str(tmp_path / "sdxl_lora.safetensors"))
    report = inspect_source(str(tmp_path / "sdxl_lora.safetensors"))
    assert report["family"] == "sdxl" and report["root"]["id"] == "stabilityai/stable-diffusion-xl-base-1.0"


@pytest.mark.parametrize(
    "metadata, status, written",
    [
        # modelspec.architecture is `<architecture>/<adapter kind>`: once written as the Hub id "flux-1-dev/lora"
        ({"modelspec.architecture": "stable-diffusion-xl-v1-base/lora"}, "weights", SDXL_BASE),
        ({"ss_sd_model_name": "sd_xl_base_1.0.safetensors"}, "declared", SDXL_BASE),
        ({"ss_sd_model_name": "sd_xl_base_1.0_0.9vae.safetensors"}, "declared", SDXL_BASE),  # the repo's other file
        # trained on a fine-tune the registry does not know: the weights alone no longer name SDXL base
        (
            {
                "ss_sd_model_name": "ponyDiffusionV6XL_v6StartWithThisOne.safetensors",
                "ss_base_model_version": "sdxl_base_v1-0",
                "modelspec.architecture": "stable-diffusion-xl-v1-base/lora",
            },
            "unchecked",
            None,
        ),
    ],
)
def test_architecture_fields_name_a_family_and_unknown_checkpoints_block_the_weights(metadata, status, written):
    shapes = {
        "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k": (640, 2048),
        "unet.down_blocks.2.attentions.0.transformer_blocks.9.attn2.to_k": (1280, 2048),
    }
    r = classify(shapes, metadata=metadata)
    assert r.family == "sdxl" and (r.base_model["status"], r.base_model["id"]) == (status, written), r.base_model


def test_a_flux_lora_that_trained_t5_is_flux_and_t5_adapters_stay_t5():
    """FLUX's (and SD3's) second text encoder is a T5: its keys once outnumbered the transformer's and made a FLUX
    LoRA a T5 model; a T5 adapter of its own is still T5."""
    flux = {f"transformer.double_blocks.{i}.img_attn.qkv": (9216, 3072) for i in range(2)}
    t5 = {f"text_encoder_2.encoder.block.{i}.layer.0.SelfAttention.{p}": (4096, 4096) for i in range(24) for p in "qv"}
    assert classify({**flux, **t5}).family == "flux"
    r = classify({f"encoder.block.{i}.layer.0.SelfAttention.{p}": (768, 768) for i in range(12) for p in "qv"})
    assert r.family == "t5" and r.root == "google/flan-t5-base"


@pytest.mark.parametrize(
    "declared, written",
    [
        # a local copy named after its root: once "a local path, not a claim", or written as the Hub id "models/…"
        ("/content/drive/MyDrive/stable-diffusion-v1-5", "stable-diffusion-v1-5/stable-diffusion-v1-5"),
        ("models/stable-diffusion-v1-5", "stable-diffusion-v1-5/stable-diffusion-v1-5"),
        ("stable-diffusion-v1-5", "stable-diffusion-v1-5/stable-diffusion-v1-5"),  # the repo name without its org
        ("runwayml/stable-diffusion-v1-5", "runwayml/stable-diffusion-v1-5"),  # as before: the spelling used
        ("/content/my-sd-finetune", None),  # a local folder of no known name: still no claim
    ],
)
def test_local_copies_and_bare_repo_names_of_a_root(declared, written):
    shapes = {"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)}
    r = classify(shapes, config={"base_model_name_or_path": declared})
    assert r.base_model["id"] == written, r.base_model


def test_a_flux_architecture_field_is_not_a_hub_id():
    shapes = {f"transformer.double_blocks.{i}.img_attn.qkv": (9216, 3072) for i in range(19)}
    for arch in ("flux-1-dev/lora", "flux-1-schnell/lora", "flux-1-dev"):
        r = classify(shapes, metadata={"modelspec.architecture": arch})
        assert r.family == "flux" and r.base_model["id"] is None and not r.conflicts, (arch, r.base_model)


def test_flux_transformer():
    from diffusers import FluxTransformer2DModel

    with torch.device("meta"):  # FLUX.1-dev's config, fewer blocks (names and widths are what matter)
        model = FluxTransformer2DModel(
            in_channels=64,
            num_layers=2,
            num_single_layers=3,
            attention_head_dim=128,
            num_attention_heads=24,
            joint_attention_dim=4096,
            pooled_projection_dim=768,
            guidance_embeds=True,
        )
    r = classify(module_shapes(model))
    assert r.family == "flux"
    assert {c["id"] for c in r.candidates} >= {"black-forest-labs/FLUX.1-dev", "black-forest-labs/FLUX.1-schnell"}


def test_sd3_medium_transformer():
    from diffusers import SD3Transformer2DModel

    with torch.device("meta"):
        model = SD3Transformer2DModel(
            sample_size=128,
            patch_size=2,
            in_channels=16,
            num_layers=24,
            attention_head_dim=64,
            num_attention_heads=24,
            joint_attention_dim=4096,
            caption_projection_dim=1536,
            pooled_projection_dim=2048,
            out_channels=16,
        )
    r = classify(lora_like(module_shapes(model), "to_q", "to_k", "to_v", "add_q_proj", prefix="transformer."))
    assert r.family == "sd3" and r.root != "stabilityai/stable-diffusion-3.5-large"


def test_sd35_medium_is_told_from_sd3_medium_by_its_second_self_attention(tmp_path):
    """SD 3.5 Medium (MMDiT-X) has SD3 Medium's joint-attention shapes and adds a self-attention (`attn2`; sgm's
    `x_block.attn2.qkv`) to its first 13 blocks. Before, a LoRA on it, attn2 included, led with SD3 Medium (0.6 to
    0.3), and so did its full checkpoint; a full SD3 Medium checkpoint, which holds no attn2, fitted both."""
    from diffusers import SD3Transformer2DModel

    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    def build(**extra):
        config = dict(num_layers=24, attention_head_dim=64, num_attention_heads=24, joint_attention_dim=4096,
                      caption_projection_dim=1536, pooled_projection_dim=2048, out_channels=16)  # fmt: skip
        with torch.device("meta"):
            return SD3Transformer2DModel(**config, **extra)

    medium35 = module_shapes(build(dual_attention_layers=tuple(range(13)), qk_norm="rms_norm"))
    lora = classify(lora_like(medium35, "to_q", "to_k", "to_v", "add_q_proj", prefix="transformer."))
    assert lora.family == "sd3" and [c["id"] for c in lora.candidates] == ["stabilityai/stable-diffusion-3.5-medium"]
    assert lora.base_model["id"] == "stabilityai/stable-diffusion-3.5-medium"
    sgm = {f"lora_unet_joint_blocks_{i}_x_block_attn2_qkv": (3 * 1536, 1536) for i in range(13)}
    assert classify(sgm).root == "stabilityai/stable-diffusion-3.5-medium"
    # a full checkpoint holds every layer of its model: one without attn2 is not SD 3.5 Medium
    tensors = {k: ("BF16", tuple(v.shape)) for k, v in build().state_dict().items()}
    write_header(tmp_path / "diffusion_pytorch_model.safetensors", tensors, data=False)
    report = inspect_source(str(tmp_path))
    assert [c["id"] for c in report["root"]["candidates"]] == ["stabilityai/stable-diffusion-3-medium-diffusers"]


# ---------------------------------------------------------------- transformers fixtures (real hyperparameters)

_SEQ2SEQ = dict(  # BART-large's layers, which M2M100 418M, mBART and Pegasus-large share
    d_model=1024, encoder_layers=12, decoder_layers=12, encoder_ffn_dim=4096, decoder_ffn_dim=4096,
    encoder_attention_heads=16, decoder_attention_heads=16, max_position_embeddings=1024,
)  # fmt: skip
LLM_CONFIGS = {
    "gpt2": ("gpt2", {}, "openai-community/gpt2"),
    "bert": ("bert", {}, "google-bert/bert-base-uncased"),
    "distilbert": ("distilbert", {}, "distilbert/distilbert-base-uncased"),
    "roberta": ("roberta", dict(vocab_size=50265, max_position_embeddings=514), "FacebookAI/roberta-base"),
    "t5": (
        "t5",
        dict(d_model=512, d_kv=64, num_heads=6, d_ff=1024, num_layers=8, feed_forward_proj="gated-gelu"),
        "google/flan-t5-small",
    ),
    "qwen2": (
        "qwen2",
        dict(
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            vocab_size=151936,
        ),
        "Qwen/Qwen2.5-0.5B-Instruct",
    ),
    "qwen3": (
        "qwen3",
        dict(
            hidden_size=1024,
            intermediate_size=3072,
            num_hidden_layers=28,
            num_attention_heads=16,
            num_key_value_heads=8,
            head_dim=128,
            vocab_size=151936,
        ),
        "Qwen/Qwen3-0.6B",
    ),
    "llama": (
        "llama",
        dict(
            hidden_size=2048,
            intermediate_size=8192,
            num_hidden_layers=16,
            num_attention_heads=32,
            num_key_value_heads=8,
            vocab_size=128256,
        ),
        "meta-llama/Llama-3.2-1B",
    ),
    "mistral": (
        "mistral",
        dict(
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            vocab_size=32000,
        ),
        "mistralai/Mistral-7B-v0.1",
    ),
    "gemma": (
        "gemma",
        dict(
            hidden_size=2048,
            intermediate_size=16384,
            num_hidden_layers=18,
            num_attention_heads=8,
            num_key_value_heads=1,
            head_dim=256,
            vocab_size=256000,
        ),
        "google/gemma-2b",
    ),
    "gemma3": (
        "gemma3_text",
        dict(
            hidden_size=1152,
            intermediate_size=6912,
            num_hidden_layers=26,
            num_attention_heads=4,
            num_key_value_heads=1,
            head_dim=256,
            vocab_size=262144,
        ),
        "google/gemma-3-1b-pt",
    ),
    "bloom": ("bloom", dict(hidden_size=1024, n_layer=24, n_head=16, vocab_size=250880), "bigscience/bloom-560m"),
    "gpt_neox": (
        "gpt_neox",
        dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, vocab_size=50304),
        "EleutherAI/pythia-410m",
    ),
    "whisper": (
        "whisper",
        dict(
            d_model=768,
            encoder_layers=12,
            decoder_layers=12,
            encoder_attention_heads=12,
            decoder_attention_heads=12,
            encoder_ffn_dim=3072,
            decoder_ffn_dim=3072,
        ),
        "openai/whisper-small",
    ),
    "vit": ("vit", {}, "google/vit-base-patch16-224"),
    "clip": (
        "clip",
        dict(
            text_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12),
            vision_config=dict(
                hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, patch_size=14
            ),
        ),
        "openai/clip-vit-large-patch14",
    ),
    "sam": ("sam", {}, "facebook/sam-vit-base"),
    # PEFT's common bases beyond the first families (published configs; the sizes the registry holds)
    "opt": (
        "opt",
        dict(hidden_size=2048, ffn_dim=8192, num_hidden_layers=24, num_attention_heads=32, vocab_size=50272),
        "facebook/opt-1.3b",
    ),
    "phi": (
        "phi",
        dict(hidden_size=2560, intermediate_size=10240, num_hidden_layers=32, num_attention_heads=32, vocab_size=51200),
        "microsoft/phi-2",
    ),
    "phi3": (
        "phi3",
        dict(
            hidden_size=3072,
            intermediate_size=8192,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=32,
            vocab_size=32064,
            pad_token_id=0,
        ),
        "microsoft/Phi-3-mini-4k-instruct",
    ),
    "falcon": (
        "falcon",
        dict(hidden_size=4544, num_hidden_layers=32, num_attention_heads=71, multi_query=True, vocab_size=65024),
        "tiiuae/falcon-7b",
    ),
    "gpt_neo": (
        "gpt_neo",
        dict(
            hidden_size=768, num_layers=12, num_heads=12, vocab_size=50257, attention_types=[[["global", "local"], 6]]
        ),
        "EleutherAI/gpt-neo-125m",
    ),
    "gptj": ("gptj", dict(n_embd=4096, n_layer=28, n_head=16, rotary_dim=64, vocab_size=50400), "EleutherAI/gpt-j-6b"),
    "deberta_v2": (
        "deberta-v2",
        dict(
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=3072,
            vocab_size=128100,
            relative_attention=True,
            position_buckets=256,
            max_relative_positions=-1,
            position_biased_input=False,
            pos_att_type=["p2c", "c2p"],
            norm_rel_ebd="layer_norm",
        ),
        "microsoft/deberta-v3-base",
    ),
    "mpnet": (  # all-mpnet-base-v2, the most fine-tuned sentence encoder, is an MPNet (once read as BERT)
        "mpnet",
        dict(
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=3072,
            vocab_size=30527,
            max_position_embeddings=514,
        ),
        "sentence-transformers/all-mpnet-base-v2",
    ),
    # each one's published config.json (the fields that set its sizes)
    "bart": ("bart", dict(_SEQ2SEQ, d_model=768, encoder_layers=6, decoder_layers=6, encoder_ffn_dim=3072,
                          decoder_ffn_dim=3072, encoder_attention_heads=12, decoder_attention_heads=12,
                          vocab_size=50265), "facebook/bart-base"),
    "m2m_100": ("m2m_100", dict(_SEQ2SEQ, vocab_size=128112), "facebook/m2m100_418M"),
    "mbart": ("mbart", dict(_SEQ2SEQ, vocab_size=250027), "facebook/mbart-large-cc25"),
    "pegasus": ("pegasus", dict(_SEQ2SEQ, encoder_layers=16, decoder_layers=16, vocab_size=96103),
                "google/pegasus-large"),
    "albert": ("albert", dict(hidden_size=768, embedding_size=128, num_hidden_layers=12, num_attention_heads=12,
                              intermediate_size=3072, vocab_size=30000), "albert/albert-base-v2"),
    "modernbert": ("modernbert", dict(hidden_size=768, num_hidden_layers=22, num_attention_heads=12,
                                      intermediate_size=1152, vocab_size=50368), "answerdotai/ModernBERT-base"),
    "gemma2": ("gemma2", dict(hidden_size=2304, num_attention_heads=8, num_key_value_heads=4, head_dim=256,
                              intermediate_size=9216, num_hidden_layers=26, vocab_size=256000), "google/gemma-2-2b"),
    "smollm3": ("smollm3", dict(hidden_size=2048, num_attention_heads=16, num_key_value_heads=4,
                                intermediate_size=11008, num_hidden_layers=36, vocab_size=128256),
                "HuggingFaceTB/SmolLM3-3B-Base"),
    "gpt_oss": ("gpt_oss", dict(hidden_size=2880, num_attention_heads=64, num_key_value_heads=8, head_dim=64,
                                intermediate_size=2880, num_hidden_layers=24, num_local_experts=32,
                                vocab_size=201088), "openai/gpt-oss-20b"),
    "codegen": ("codegen", dict(n_embd=1024, n_layer=20, n_head=16, rotary_dim=32, vocab_size=51200),
                "Salesforce/codegen-350M-mono"),
}  # fmt: skip


@pytest.fixture(scope="session")
def hf_shapes():
    from transformers import AutoConfig, AutoModel

    cache = {}

    def build(family: str) -> dict:
        if family not in cache:
            model_type, kwargs, _ = LLM_CONFIGS[family]
            config = AutoConfig.for_model(model_type, **kwargs)
            with torch.device("meta"):
                cache[family] = module_shapes(AutoModel.from_config(config))
        return cache[family]

    return build


@pytest.mark.parametrize("family", sorted(LLM_CONFIGS))
def test_full_model_family_and_root(hf_shapes, family):
    r = classify(hf_shapes(family))
    assert r.family == family, r.evidence
    assert LLM_CONFIGS[family][2] in [c["id"] for c in r.candidates], r.evidence
    assert sum(c["score"] for c in r.candidates) <= 1.0 and 0 <= r.confidence <= 1


@pytest.mark.parametrize(
    "family,targets",
    [
        ("gpt2", ("c_attn",)),
        ("bert", ("query", "value")),
        ("distilbert", ("q_lin", "v_lin")),
        ("t5", ("SelfAttention.q", "SelfAttention.v")),
        ("qwen2", ("q_proj", "v_proj")),
        ("qwen3", ("q_proj", "v_proj")),
        ("llama", ("q_proj", "v_proj")),
        ("gemma3", ("q_proj", "v_proj")),
        ("bloom", ("query_key_value",)),
        ("gpt_neox", ("query_key_value",)),
        ("whisper", ("q_proj", "v_proj")),
        ("vit", ("q_proj", "v_proj")),
        ("opt", ("q_proj", "v_proj")),
        ("phi", ("q_proj", "v_proj")),
        ("phi", ("dense", "fc1", "fc2")),
        ("phi3", ("qkv_proj", "o_proj")),
        ("falcon", ("query_key_value",)),
        ("gpt_neo", ("q_proj", "v_proj")),
        ("gptj", ("q_proj", "v_proj")),
        ("deberta_v2", ("query_proj", "value_proj")),
        ("mpnet", ("attn.q", "attn.v")),
    ],
)
def test_peft_style_lora_family(hf_shapes, family, targets):
    r = classify(lora_like(hf_shapes(family), *targets, prefix="base_model.model."))
    assert r.family == family, r.evidence


def test_a_family_no_key_name_places_is_half_sure_at_most():
    """Role patterns alone (`self_attn_q_proj`) are shared by architectures the registry does not know: LLaMA-2-7B's
    sizes under names no rule knows once gave family llama at 1.00. Now at most 0.5, and no root from weights."""
    shapes = {}
    for i in range(32):
        shapes[f"model.blocks.{i}.self_attn.q_proj"] = (4096, 4096)
        shapes[f"model.blocks.{i}.self_attn.v_proj"] = (4096, 4096)
    r = classify(shapes)
    assert r.family == "llama" and any("shapes only" in e for e in r.evidence)
    assert r.family_confidence <= 0.5 and r.confidence <= 0.5, (r.family_confidence, r.confidence)
    assert r.base_model["id"] is None


def test_opt_adapters_are_opt_not_llama_or_whisper(hf_shapes):
    """An OPT-6.7B LoRA was once LLaMA-2-7B (0.90, and written as base_model); an OPT-350M one Whisper-medium, and
    until stop 34 tied with it: Whisper-medium's decoder has OPT-350M's sizes, but an adapter on Whisper touches its
    encoder or its cross-attention (PEFT's `q_proj` / `v_proj` targets match both), and this one has neither."""

    def opt_lora(layers: int, hidden: int) -> dict:
        return {
            f"base_model.model.model.decoder.layers.{i}.self_attn.{proj}": (hidden, hidden)
            for i in range(layers)
            for proj in ("q_proj", "v_proj")
        }

    r = classify(opt_lora(32, 4096))
    assert r.family == "opt" and r.root == "facebook/opt-6.7b", r.evidence
    assert r.base_model["id"] in (None, "facebook/opt-6.7b")
    opt350 = opt_lora(24, 1024)
    r = classify(opt350)
    ids = [c["id"] for c in r.candidates]
    assert r.family == "opt" and ids[0] == "facebook/opt-350m" and "openai/whisper-medium" not in ids, r.evidence
    r = classify(opt350, config={"base_model_name_or_path": "facebook/opt-350m"})
    assert r.family == "opt" and r.base_model["id"] == "facebook/opt-350m" and not r.conflicts


@pytest.mark.parametrize(
    "name, root, family",
    [
        ("microsoft/phi-2", "microsoft/phi-2", "phi"),
        ("microsoft/Phi-3.5-mini-instruct", "microsoft/Phi-3.5-mini-instruct", "phi3"),
        ("microsoft/phi-1", None, "phi"),
        ("microsoft/Phi-3-medium-4k-instruct", "microsoft/Phi-3-medium-4k-instruct", "phi3"),
        ("microsoft/Phi-3-small-8k-instruct", None, "phi3"),
        ("facebook/opt-66b", None, "opt"),
        ("tiiuae/falcon-7b-instruct", "tiiuae/falcon-7b-instruct", "falcon"),
        ("tiiuae/falcon-rw-1b", "tiiuae/falcon-rw-1b", "falcon"),
        ("tiiuae/falcon-rw-7b", None, "falcon"),
        ("EleutherAI/gpt-neo-2.7B", "EleutherAI/gpt-neo-2.7B", "gpt_neo"),
        ("EleutherAI/gpt-neox-20b", None, "gpt_neox"),
        ("EleutherAI/gpt-j-6b", "EleutherAI/gpt-j-6b", "gptj"),
        ("microsoft/deberta-v3-large", "microsoft/deberta-v3-large", "deberta_v2"),
        ("google/electra-small-discriminator", "google/electra-small-discriminator", "electra"),
        ("sentence-transformers/all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2", "mpnet"),
        ("my-org/mpnet-finetuned-nli", None, "mpnet"),
        ("my-org/adopt-2-model", None, None),
    ],
)
def test_names_of_the_newer_families_resolve(name, root, family):
    assert resolve_name(name) == (root, family)


def test_llama3_and_mistral_share_shapes_unless_vocab_or_metadata_says(hf_shapes):
    lora = lora_like(hf_shapes("mistral"), "q_proj", "v_proj")
    r = classify(lora)
    ids = [c["id"] for c in r.candidates]
    assert {"meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1"} <= set(ids)
    assert r.confidence < 0.7 and any("same shapes" in e or "equally" in e for e in r.evidence)
    # the embedding's vocabulary (32000) separates them ...
    with_vocab = dict(lora, **{"embed_tokens": hf_shapes("mistral")["embed_tokens"]})
    assert classify(with_vocab).root == "mistralai/Mistral-7B-v0.1"
    # ... and so does a declaration the weights allow
    r = classify(lora, config={"base_model_name_or_path": "meta-llama/Meta-Llama-3-8B"})
    assert r.family == "llama" and r.root == "meta-llama/Meta-Llama-3-8B" and not r.conflicts


@pytest.mark.parametrize(
    "family, targets, declared",
    [
        ("bert", ("query", "value"), "bert-base-uncased"),  # cased, uncased, multilingual, Chinese share its shapes
        ("mistral", ("q_proj", "v_proj"), "meta-llama/Meta-Llama-3-8B"),  # Llama 3 and Mistral share them too
    ],
)
def test_a_declared_root_the_weights_allow_is_as_sure_as_declarations_are(hf_shapes, family, targets, declared):
    """However many look-alikes the registry holds (bert-base-uncased was 0.46 among them), a root a structured
    field declares and every shape fits is at least DECLARED_ROOT sure; the look-alikes share the rest."""
    from hfprobe.tree.classify import DECLARED_ROOT

    lora = lora_like(hf_shapes(family), *targets, prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.confidence == DECLARED_ROOT == r.candidates[0]["score"], r.candidates
    assert sum(c["score"] for c in r.candidates) <= 1.0 and len(r.candidates) > 1
    assert classify(lora).confidence < DECLARED_ROOT  # undeclared: the weights alone cannot choose


@pytest.mark.parametrize("declared", ["dbmdz/bert-base-german-cased", "klue/bert-base", "bert-base-german-cased"])
def test_a_declared_foundation_model_the_registry_lacks_leads_its_look_alikes(hf_shapes, declared):
    """German, Korean BERTs on BERT-base weights: the family agrees and nothing rules them out, so the declared
    model is the root (it was once fifth of five, behind bert-base-uncased), its shapes said to be unchecked."""
    lora = lora_like(hf_shapes("bert"), "query", "value", prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.root == declared and r.base_model["id"] == declared, r.candidates
    assert 0.4 < r.confidence < 0.8  # surer than any look-alike, less than a root whose shapes were checked
    assert any(declared in e and "shapes unchecked" in e for e in r.evidence)
    local = classify(lora, config={"base_model_name_or_path": "./my-bert-base"})  # a folder's name: no candidate
    assert local.root != "./my-bert-base"


def test_declared_root_that_shapes_rule_out_is_a_conflict(hf_shapes):
    lora = lora_like(hf_shapes("mistral"), "q_proj", "v_proj")
    r = classify(lora, config={"base_model_name_or_path": "meta-llama/Llama-2-7b-hf"})
    assert r.root != "meta-llama/Llama-2-7b-hf"
    assert any("Llama-2-7b-hf" in c and "do not fit" in c for c in r.conflicts)


def test_header_claims_sd15_but_weights_are_flux():
    shapes = {
        "transformer.single_transformer_blocks.0.attn.to_q": (3072, 3072),
        "transformer.transformer_blocks.0.attn.add_q_proj": (3072, 3072),
    }
    r = classify(
        shapes, metadata={"ss_base_model_version": "sd_v1", "modelspec.architecture": "stable-diffusion-v1/lora"}
    )
    assert r.family == "flux"
    assert any("ss_base_model_version" in c and "FLUX" in c for c in r.conflicts)
    assert r.declared["header ss_base_model_version"] == "sd_v1"


def test_readme_mentioning_sdxl_on_sd1_weights_is_a_conflict(unet):
    lora = lora_like(unet(**SD15), "attn2.to_k", prefix="unet.")
    r = classify(lora, texts={"README.md": "# My LoRA\nA fine tuned SDXL model for roads."})
    assert r.family == "sd1" and any("README.md mentions Stable Diffusion XL" in c for c in r.conflicts)
    # a card whose base_model agrees with the weights is no conflict
    card = "---\nbase_model: runwayml/stable-diffusion-v1-5\n---\n# Roads\n"
    r = classify(lora, texts={"README.md": card})
    assert not r.conflicts and r.root == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert r.declared["README.md base_model"] == "runwayml/stable-diffusion-v1-5"


def test_local_paths_and_nulls_are_no_claim():
    d, claims = declared_claims(config={"base_model_name_or_path": None})
    assert claims == [] and "null" in d["ignored"]["adapter_config.json base_model_name_or_path"]
    for path in ("/content/drive/sd15", "./models/base", "C:\\models\\sd", "../out/checkpoint-500"):
        assert declared_claims(config={"base_model_name_or_path": path})[1] == []


def test_custom_keys_need_metadata_and_say_so():
    raw = {f"w_a_{i:03d}": (4, 768) for i in range(24)} | {f"w_b_{i:03d}": (768, 4) for i in range(24)}
    shapes = shapes_from_raw(raw)
    blind = classify(shapes, names=raw)
    assert blind.family is None and blind.root is None and blind.confidence == 0
    told = classify(shapes, names=raw, texts={"README.md": "LoRA for Segment Anything (SAM) ViT-B encoder. SAM."})
    assert told.family == "sam" and told.family_confidence <= 0.5
    assert any("metadata picks sam" in e for e in told.evidence)


def test_aliases_and_name_hints():
    assert resolve_name("runwayml/stable-diffusion-v1-5")[0] == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert resolve_name("https://huggingface.co/gpt2") == ("openai-community/gpt2", "gpt2")
    assert resolve_name("v1-5-pruned-emaonly.safetensors")[1] == "sd1"
    assert resolve_name("sdxl_base_v1-0") == (None, "sdxl")
    assert resolve_name("stable-diffusion-xl-v1-base")[1] == "sdxl"
    assert resolve_name("some/unknown-model") == (None, None)


def test_normalize_and_pairing():
    assert (
        normalize_key("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight")
        == "lora_unet_down_blocks_0_attentions_0_proj_in"
    )
    assert normalize_key("base_model.model.classifier.modules_to_save.default.weight") == "classifier"
    pairs = shapes_from_raw(
        {
            "unet:0:down": (4, 320),
            "unet:0:up": (320, 4),
            "w_a_000": (4, 768),
            "x.alpha": (),
            "conv.weight": (320, 4, 3, 3),
        }
    )
    assert pairs == {"unet:0": (320, 320), "w_000": (None, 768), "conv": (320, 4)}


def test_kohya_model_name_is_read_from_its_file_name(unet):
    lora = lora_like(unet(**SD15), "attn2.to_k", prefix="unet.")
    r = classify(
        lora,
        metadata={
            "ss_sd_model_name": "/content/models/v1-5-pruned-emaonly.safetensors",
            "modelspec.architecture": "stable-diffusion-xl-v1-base/lora",
        },
    )
    assert r.declared["header ss_sd_model_name"] == "v1-5-pruned-emaonly.safetensors"
    assert r.root == "stable-diffusion-v1-5/stable-diffusion-v1-5" and r.declared["agrees"] is False
    assert [c for c in r.conflicts if "modelspec.architecture" in c] and not [
        c for c in r.conflicts if "ss_sd_model_name" in c
    ]


# ---------------------------------------------------------------- the fast paths answer as the plain regexes do
# classify never runs the registry's patterns as written on every name (too slow on long names, see
# hfprobe/tree/keymatch.py); these tests keep the plain `re` forms as the oracle, on real names, names sampled from
# the patterns themselves (so each one matches often) and near misses.


def _sample(pattern: str, rng) -> str:
    """A string the pattern matches, more or less: literals, one branch, a few repeats; anchors and lookarounds
    are left out, so some samples are near misses."""
    from re import _constants as c
    from re import _parser

    out: list[str] = []

    def gen(sub):
        for op, av in sub:
            if op is c.LITERAL:
                out.append(chr(av))
            elif op is c.IN:
                choices = [chr(a) for o, a in av if o is c.LITERAL] or ["7"]
                out.append(rng.choice(choices))
            elif op is c.BRANCH:
                gen(rng.choice(av[1]))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
                for _ in range(rng.randint(av[0], min(av[1], av[0] + 2))):
                    gen(av[2])
            elif op is c.SUBPATTERN:
                gen(av[-1])
            elif op in (c.ANY, c.CATEGORY, c.NOT_LITERAL):
                out.append(rng.choice("a5_"))

    gen(_parser.parse(pattern))
    return "".join(out)


def _noisy(texts, rng, pieces) -> set[str]:
    """Each text with random prefixes, suffixes, newlines and one character changed or dropped."""
    out = set()
    for text in texts:
        for _ in range(3):
            pre = "_".join(rng.choice(pieces) for _ in range(rng.randint(0, 3)))
            suf = "_".join(rng.choice(pieces) for _ in range(rng.randint(0, 2)))
            k = (pre + rng.choice(["_", "", "__"]) if pre else rng.choice(["", "_"])) + text
            k += rng.choice(["", "_", "\n", "\n_"]) + suf if rng.random() < 0.5 else ""
            if k and rng.random() < 0.3:
                i = rng.randrange(len(k))
                k = k[:i] + rng.choice(["", "_", "1", "\n", "a"]) + k[i + 1 :]
            out.add(k)
    return out


def _realzoo_names(limit: int = 4000) -> list[str]:
    from hfprobe.source.resolve import resolve
    from hfprobe.source.safetensors import read_header
    from tests.conftest import REALZOO

    names: list[str] = []
    for path in sorted((REALZOO / "files").rglob("*.safetensors")) if REALZOO.is_dir() else []:
        with resolve(str(path)) as src:
            names += list(read_header(src.open(src.default_file), allow_truncated=True).tensors)
    return names[:limit]


def test_key_patterns_match_as_re_does():
    import random
    import re

    from hfprobe.tree.registry import families, layout

    reg = families()
    exist = [kp for kp, *_ in reg["_rules"]] + [kp for f in reg["families"] for kp, _, _ in layout(f)[0]]
    first = [kp for f in reg["families"] for kp, _ in layout(f)[1]]
    rng = random.Random(0)
    pieces = ["", "a", "unet", "model", "text_model", "vision_model", "encoder", "decoder", "single", "layers", "1"]
    real = [normalize_key(k) for k in _realzoo_names()]
    samples = [_sample(kp.pattern, rng) for kp in exist + first for _ in range(12)]
    names = sorted(_noisy(samples, rng, pieces) | set(samples))  # the clean samples too: an anchored pattern's hits
    names += real + ["", "_", "\n", "layers_1_", "_layers_1_self_attn_q_proj", "encoder_layers_0_self_attn_q_proj"]
    assert len(names) > 3000
    # the oracle: `re` over every name, once per pattern (the checks below reuse it: it is most of the cost)
    hit, lead = {}, {}
    for kp in dict.fromkeys(exist):
        rx = re.compile(kp.pattern)
        hit[kp.pattern] = {n for n in names if rx.search(n)}
    for kp in dict.fromkeys(first):
        rx = re.compile(kp.pattern)
        lead[kp.pattern] = {n: m for n in names if (m := rx.search(n))}
    for kp in dict.fromkeys(exist):
        assert {n for n in names if kp.search(n)} == hit[kp.pattern], kp.pattern
        assert hit[kp.pattern], f"the corpus never matches {kp.pattern}"
    for kp in dict.fromkeys(first):
        want = lead[kp.pattern]
        for n in names:
            a, b = kp.first(n), want.get(n)
            assert (a and (a.span(), a.groups())) == (b and (b.span(), b.groups())), (kp.pattern, n)
    # and over a whole set of names at once (joined by newlines, or one by one where a name holds a newline)
    from hfprobe.tree.keymatch import KeySet

    for group in ([n for n in names if "\n" not in n], names):
        keys, members = KeySet(group), set(group)
        for kp in dict.fromkeys(exist):
            assert keys.matches(kp) == hit[kp.pattern] & members, kp.pattern
        for kp in dict.fromkeys(first):
            want = {n: int(m.group(1)) for n, m in lead[kp.pattern].items() if n in members}
            assert keys.index_values(kp) == want, kp.pattern
    # and over small sets, where most of a pattern's literals are absent and its variants are skipped
    for i in range(0, len(names), 60):
        group = names[i : i + 60]
        keys, members = KeySet(group), set(group)
        for kp in dict.fromkeys(exist):
            assert keys.matches(kp) == hit[kp.pattern] & members, kp.pattern
    for kp in dict.fromkeys(exist + first):  # every literal a variant needs is in every name it matches
        for (v, _), need in zip(kp.variants, kp.needs):
            assert all(lit in n for n in names if v.search(n) for lit in need), (v.pattern, need)


def test_required_literals_are_in_every_match():
    import random
    import re

    from hfprobe.tree.keymatch import required_literals

    rng = random.Random(5)
    cases = {
        r"a(bc)?d": ["a", "d"],
        r"x(?=yz)y": ["x", "y"],
        r"(?P<g>abc)_d": ["abc", "_d"],
        r"(?:ab|cd)e_(f(g)h)": ["e_", "f", "g", "h"],
        r"(ab)+c": ["c"],
        r"(ab){0,2}c(?!zz)": ["c"],
        r"(?<!q)w(x|y)z\.v": ["z.v", "w"],
        r"k(l(mn|op)q)*r": ["k", "r"],
        r"[ab]cd(e[fg]h)": ["cd", "e", "h"],
    }
    for pattern, want in cases.items():
        assert required_literals(pattern) == want, pattern
        for _ in range(50):
            text = _sample(pattern, rng)
            m = re.search(pattern, text)  # (the sampler ignores lookarounds: a sample may not match)
            assert m is None or all(lit in m.group(0) for lit in want), (pattern, text)


def test_normalisation_and_pairing_match_the_plain_regexes():
    import random
    import re

    suffix = re.compile(
        r"[._](lora[._]?(a|b|down|up)|lora_embedding_(a|b))(\.default)?$|"
        r"\.(base_layer|original_module|modules_to_save\.default)$"
    )
    part = re.compile(
        r"^(?P<base>.*?)[._:](?P<part>lora_a|lora_b|lora\.down|lora\.up|lora_down|lora_up|down|up)(\.default)?"
        r"(\.weight)?$",
        re.I,
    )

    def plain_normalize(key):
        k = re.sub(r"\.(weight|bias|alpha)$", "", re.sub(r"^base_model\.model\.", "", key.lower()))
        k = suffix.sub("", suffix.sub("", k))
        return re.sub(r"[.:/\-]", "_", re.sub(r"_lora$", "", k))

    def plain_pairs(raw):
        out = {}
        for key, shape in raw.items():
            if key.endswith(".alpha") or len(shape) < 2:
                continue
            m = re.match(r"^w_(a|b)_(\d+)$", key)
            m2 = part.match(key) if not m and ("lora" in key.lower() or ":" in key) else None
            if m:
                base, p = f"w_{m.group(2)}", "down" if m.group(1) == "a" else "up"
            elif m2:
                base, p = m2.group("base"), m2.group("part").lower()
            else:
                out[re.sub(r"\.weight$", "", key)] = (shape[0], shape[1])
                continue
            side = 1 if p in ("lora_a", "lora.down", "lora_down", "down") else 0  # A gives d_in, B d_out
            slot = list(out.get(base, (None, None)))
            slot[side] = shape[side]
            out[base] = tuple(slot)
        return out

    tokens = [
        "base_model",
        "model",
        "lora",
        "lora_A",
        "LORA_b",
        "lora_embedding_A",
        "default",
        "weight",
        "alpha",
        "bias",
        "down",
        "Up",
        "base_layer",
        "original_module",
        "modules_to_save",
        "w_a",
        "w_b",
        "0",
        "x" * 40,
    ]
    rng = random.Random(1)
    keys = sorted(
        {
            "".join(rng.choice(tokens) + rng.choice(".:_-/\n") for _ in range(rng.randint(1, 6)))[:-1]
            for _ in range(30000)
        }
        | set(_realzoo_names())
    )
    from re import _parser

    from hfprobe.tree import names

    for pattern in (names._SUFFIX, names._WEIGHT_TAIL, names._LORA_TAIL, names._DOT_WEIGHT, names._LORA_SUFFIX):
        assert _parser.parse(pattern.pattern).getwidth()[1] + 1 < names.TAIL  # (+1: `$` before a final newline)
    assert [normalize_key(k) for k in keys] == [plain_normalize(k) for k in keys]
    assert names.normalize_keys(keys) == [plain_normalize(k) for k in keys]
    for i in range(0, len(keys), 40):
        raw = {k: (4, 8) for k in keys[i : i + 40]}
        assert shapes_from_raw(raw) == plain_pairs(raw), keys[i : i + 40]


def test_prose_scans_find_what_the_plain_regexes_find():
    import random
    import re

    from hfprobe.tree.mentions import (
        _hub_id_pattern,
        _hub_names,
        _name_pattern,
        _registry_names,
        hub_id_mentions,
        name_mentions,
    )
    from hfprobe.tree.registry import families
    from tests.conftest import REALZOO

    hints = [kp for kp, _ in families()["_text_hints"]]
    names = _hub_names()
    checkpoints = list(_registry_names())
    plain_ids = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, names)) + r")(?![\w/-]|\.\w)", re.I)
    assert _hub_id_pattern().pattern != plain_ids.pattern  # the trie form is what is compared
    rng = random.Random(2)
    words = [
        "SD",
        "SDXL",
        " ",
        ".",
        "1",
        "5",
        "-",
        "x",
        "/",
        "é",
        "\n",
        "Stable Diffusion",
        "v1",
        "FLUX",
        "T5",
        ".ckpt",
    ]
    words += ["İ", ".safetensors", "_"]  # (İ lower-cases to two characters)
    texts = (
        [p.read_text(errors="replace") for p in sorted((REALZOO / "files").rglob("*.md"))] if REALZOO.is_dir() else []
    )
    for _ in range(1500):
        parts = [rng.choice(words) for _ in range(rng.randint(0, 12))]
        for _ in range(rng.randint(1, 4)):
            parts.insert(
                rng.randint(0, len(parts)),
                rng.choice(
                    [
                        _sample(rng.choice(hints).pattern, rng),
                        rng.choice(names).upper(),
                        rng.choice(names),
                        rng.choice(checkpoints),
                        rng.choice(checkpoints).upper(),
                    ]
                ),
            )
        texts.append("".join(parts))
    texts += ["İ" * 80 + " " + checkpoints[-1] + ".ckpt, " + "İ" * 80 + " " + checkpoints[0]]  # (positions shift)
    for text in texts:
        for kp in hints:
            assert kp.count(text) == len(kp.compiled.findall(text)), (kp.pattern, text[:80])
        found = [(m.span(), m.group(1)) for m in hub_id_mentions(text)]
        assert found == [(m.span(), m.group(1)) for m in plain_ids.finditer(text)], text[:80]
        found = [(m.span(), m.group(1)) for m in name_mentions(text)]  # (scanned near the names it holds)
        assert found == [(m.span(), m.group(1)) for m in _name_pattern().finditer(text)], text[:80]


def test_card_metadata_is_read_as_modelcard_reads_it():
    from pathlib import Path

    from huggingface_hub import ModelCard

    from hfprobe.tree.card_yaml import card_metadata
    from tests.conftest import REALZOO

    cards = [p.read_text() for p in sorted(Path(__file__).parent.joinpath("cards").glob("*.md"))]
    cards += [p.read_text() for p in sorted((REALZOO / "files").rglob("README.md"))] if REALZOO.is_dir() else []
    cards += [
        "---\nbase_model: gpt2\n---\nprose",
        "---\r\nbase_model: [a/b, c/d]\r\n---\r\nprose",
        "  ---\nbase_model: x/y\n---",
        "---\n- a list\n---\nprose",
        "---\n1: numeric key\n---\nprose",
        "---\ntags: 5\nbase_model: x/y\n---\nprose",
        "---\nbase_model: [unclosed\n---\nprose",
        "---\n---\nempty block",
        "---\nno closing fence",
    ]
    for text in cards:
        data, body, problem = card_metadata(text)
        try:
            card = ModelCard(text, ignore_metadata_errors=True)
            want = (card.data.to_dict().get("base_model"), card.text)
        except Exception:  # what our reader also treats as prose
            want = (None, text)
        assert (data.get("base_model"), body) == want, text[:80]
        assert problem is None


def test_oversized_or_pathological_yaml_is_no_claim_and_the_weights_still_answer():
    from hfprobe.tree.card_yaml import MAX_YAML_BYTES, load_yaml

    bad = {
        "big": "x: " + "y" * (MAX_YAML_BYTES + 1),
        "deep": "a: " + "[" * 40 + "]" * 40,
        "deep block": "".join("  " * i + f"k{i}:\n" for i in range(40)) + "  " * 40 + "v",
        "aliases": "a: &x 1\n" + "".join(f"b{i}: *x\n" for i in range(30)),
        "not yaml": "a: [1, 2\nb: {",
    }
    for what, text in bad.items():
        data, problem = load_yaml(text)
        assert data is None and problem, what
    lora = {"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)}
    readme = (
        "---\nbase_model: gpt2\n" + "k: v\n" * (MAX_YAML_BYTES // 4) + "---\nweights for runwayml/stable-diffusion-v1-5"
    )
    r = classify(lora, texts={"README.md": readme, "config.yaml": bad["deep"]})
    assert r.family == "sd1" and r.base_model["status"] == "mentioned"  # the prose still speaks; the YAML does not
    assert "over the 128 kB limit" in r.declared["ignored"]["README.md metadata"]
    assert "nested over 32 deep" in r.declared["ignored"]["config.yaml"]
    assert not any("README.md base_model" in c for c in r.conflicts)  # gpt2 in an unread block is no claim
    from hfprobe.tree.described import described

    aliased = "---\n" + bad["aliases"] + "---\nA LoRA of lions.\n"
    assert described({"README.md": aliased}, {})["text"] == "A LoRA of lions."  # not the unread block's first line


def test_an_alias_is_never_a_fine_tune_or_another_model():
    """Aliases are one model's weights under another Hub id (a renamed or mirrored repo). The registry once listed
    Llama-2-7b-chat-hf, Qwen2-0.5B, the pythia `-deduped` runs and ViT's ImageNet-21k parent as aliases, so the
    weights alone wrote one root for fine-tunes of any of them, and a card saying one got the other's id."""
    marks = re.compile(r"instruct|chat|-it$|deduped|turbo|in21k|bloomz|128k|qwen2-|llama-3-|patch16|-v0\.[23]")
    for root in roots()["roots"]:
        for alias in root.get("aliases", []):
            assert set(marks.findall(alias.lower())) <= set(marks.findall(root["id"].lower())), (root["id"], alias)


@pytest.mark.parametrize(
    "family, declared, base_model",
    [
        ("qwen3", "Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B"),  # a family of its own now: was "unchecked", nothing written
        ("qwen3", "unsloth/Qwen3-0.6B-unsloth-bnb-4bit", "unsloth/Qwen3-0.6B-unsloth-bnb-4bit"),
        ("qwen3", None, None),  # Qwen3-0.6B and its -Base share every shape
        ("qwen2", "Qwen/Qwen2-0.5B-Instruct", "Qwen/Qwen2-0.5B-Instruct"),  # a derivative of Qwen2-0.5B
        ("llama", "/home/me/models/Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-1B-Instruct"),  # a local copy
    ],
)
def test_a_lora_gets_the_base_it_declares_and_none_from_look_alike_shapes(hf_shapes, family, declared, base_model):
    lora = lora_like(hf_shapes(family), "q_proj", "v_proj", prefix="base_model.model.")
    config = {"base_model_name_or_path": declared} if declared else None
    r = classify(lora, config=config)
    assert r.family == family and not r.conflicts, r.evidence
    assert r.base_model["id"] == base_model, r.base_model
    if declared is None:
        assert r.base_model["status"] == "ambiguous"


def test_a_qwen25_7b_lora_is_not_named_after_the_instruct_tune():
    """Qwen2.5-7B's only root was once its Instruct tune (the base an alias of it), so a LoRA declaring nothing got
    `base_model: Qwen/Qwen2.5-7B-Instruct` from its weights, whichever of Qwen2.5-7B, its tunes or Qwen2-7B it
    was trained on."""
    lora = {}
    for i in range(28):
        lora[f"base_model.model.model.layers.{i}.self_attn.q_proj"] = (3584, 3584)
        lora[f"base_model.model.model.layers.{i}.self_attn.v_proj"] = (512, 3584)
    r = classify(lora)
    assert r.family == "qwen2" and r.base_model["id"] is None and r.base_model["status"] == "ambiguous"
    assert {"Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2-7B"} <= {c["id"] for c in r.candidates}
    declared = classify(lora, config={"base_model_name_or_path": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"})
    assert declared.base_model["id"] == "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B" and not declared.conflicts


def test_a_parent_is_a_root_of_the_same_family_and_shapes():
    by_id = roots()["_by_id"]
    for root in roots()["roots"]:
        if "parent" in root:
            parent = by_id[root["parent"]]
            assert parent["family"] == root["family"] and parent["dims"] == root["dims"], root["id"]
    for name, target in roots()["derivatives"].items():
        assert target in by_id and name.lower() not in roots()["_same"], name


SD1_LORA = {"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)}


@pytest.mark.parametrize(
    "declared, written",
    [
        ("nitrosocke/mo-di-diffusion", "nitrosocke/mo-di-diffusion"),  # a fine-tune the diffusers guides start from
        ("/content/mo-di-diffusion", "nitrosocke/mo-di-diffusion"),  # its local copy: the fine-tune, not SD 1.5
        ("dreamlike-photoreal-2.0", "dreamlike-art/dreamlike-photoreal-2.0"),
        ("/content/stable-diffusion-v1-5", "stable-diffusion-v1-5/stable-diffusion-v1-5"),
        ("v1-5-pruned-emaonly", "stable-diffusion-v1-5/stable-diffusion-v1-5"),  # a checkpoint file: its root
        ("digiplay/majicMIX_realistic_v6", "digiplay/majicMIX_realistic_v6"),  # stop 40: was "unchecked", unwritten
        ("/content/majicMIX_realistic_v6", "digiplay/majicMIX_realistic_v6"),
    ],
)
def test_a_fine_tune_named_without_its_org_is_written_as_its_own_hub_id(declared, written):
    r = classify(SD1_LORA, config={"base_model_name_or_path": declared})
    assert r.family == "sd1" and r.base_model["id"] == written and not r.conflicts, r.base_model


def test_a_declared_sd_turbo_or_playground_lora_is_checked_against_the_architecture_it_shares():
    sd2 = {"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 1024)}
    r = classify(sd2, config={"base_model_name_or_path": "stabilityai/sd-turbo"})
    assert r.family == "sd2" and r.base_model["id"] == "stabilityai/sd-turbo"
    r = classify(SD1_LORA, config={"base_model_name_or_path": "playgroundai/playground-v2.5-1024px-aesthetic"})
    assert r.base_model["id"] is None and r.conflicts  # an SDXL model: SD 1.x weights rule it out


def test_a_smollm2_lora_names_its_declared_size_and_no_more():
    """SmolLM2 (Llama's layout at 576, 960 and 2048 wide) had no roots: a LoRA on it got family llama at 0.30 and
    no root. 135M: 30 layers, 9 heads of 64, 3 key/value heads (the published config)."""
    lora = {}
    for i in range(30):
        lora[f"base_model.model.model.layers.{i}.self_attn.q_proj"] = (576, 576)
        lora[f"base_model.model.model.layers.{i}.self_attn.v_proj"] = (192, 576)
    r = classify(lora, config={"base_model_name_or_path": "HuggingFaceTB/SmolLM2-135M-Instruct"})
    assert r.family == "llama" and r.root == "HuggingFaceTB/SmolLM2-135M-Instruct" and not r.conflicts
    assert r.base_model["id"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    bare = classify(lora)
    assert bare.base_model["status"] == "ambiguous" and bare.root.startswith("HuggingFaceTB/SmolLM2-135M")


def _llama_like(layers: int, hidden: int, kv: int, q_dim: int | None = None) -> dict:
    """A PEFT LoRA's (d_out, d_in) on q_proj and v_proj of a LLaMA-style decoder."""
    lora = {}
    for i in range(layers):
        lora[f"base_model.model.model.layers.{i}.self_attn.q_proj"] = (q_dim or hidden, hidden)
        lora[f"base_model.model.model.layers.{i}.self_attn.v_proj"] = (kv, hidden)
    return lora


@pytest.mark.parametrize(
    "declared, root",
    [
        ("unsloth/llama-3-8b-bnb-4bit", "meta-llama/Meta-Llama-3-8B"),
        ("unsloth/llama-3-8b-Instruct-bnb-4bit", "meta-llama/Meta-Llama-3-8B-Instruct"),
        ("unsloth/Meta-Llama-3.1-8B-Instruct-bnb-4bit", "meta-llama/Llama-3.1-8B-Instruct"),
        ("unsloth/mistral-7b-v0.3-bnb-4bit", "mistralai/Mistral-7B-v0.3"),
        ("NousResearch/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-8B"),
        ("unsloth/DeepSeek-R1-Distill-Llama-8B", "meta-llama/Llama-3.1-8B"),  # a re-upload of a derivative
    ],
)
def test_a_reupload_of_a_root_is_checked_against_that_root_and_written_as_declared(declared, root):
    """Adapters trained with unsloth declare its quantized re-uploads (`unsloth/llama-3-8b-bnb-4bit`), which the
    registry did not know: the card got `base_model: <the re-upload>` unchecked, even on weights of another size,
    and the root was whichever look-alike sorted first. By its name (less the marks of a re-upload) it is the
    root's weights: shapes are checked against the root, and the declared Hub id is what the card writes."""
    r = classify(_llama_like(32, 4096, 1024), config={"base_model_name_or_path": declared})
    assert r.root == root and not r.conflicts, r.evidence
    assert r.base_model["id"] == declared and r.base_model["root"] == root
    assert declared in r.base_model["reason"] and "re-upload" in r.base_model["reason"], r.base_model


@pytest.mark.parametrize(
    "lora, declared",
    [
        (_llama_like(32, 4096, 4096), "unsloth/llama-3-8b-bnb-4bit"),  # Llama-2-7B shapes
        (_llama_like(32, 4096, 1024), "TheBloke/Llama-2-7B-GPTQ"),  # Llama-3-8B shapes
        (_llama_like(28, 3584, 512), "unsloth/Qwen2.5-1.5B-Instruct-bnb-4bit"),  # Qwen2.5-7B shapes
    ],
)
def test_a_reupload_the_weights_rule_out_is_not_written(lora, declared):
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.base_model["id"] is None and r.base_model["status"] == "contradicted"
    assert any(declared in c and "do not fit" in c for c in r.conflicts), r.conflicts


def test_a_local_copy_of_a_reupload_names_its_root():
    r = classify(_llama_like(32, 4096, 1024), config={"base_model_name_or_path": "/content/llama-3-8b-bnb-4bit"})
    assert r.root == "meta-llama/Meta-Llama-3-8B" and r.base_model["id"] == "meta-llama/Meta-Llama-3-8B"


def _encoder_like(prefix: str, layers: int, hidden: int) -> dict:
    """A PEFT LoRA's (d_out, d_in) on query and value of a BERT-style encoder."""
    return {f"base_model.model.{prefix}encoder.layer.{i}.attention.self.{m}": (hidden, hidden)
            for i in range(layers) for m in ("query", "value")}  # fmt: skip


def _bloom_like(layers: int, hidden: int) -> dict:
    return {f"base_model.model.transformer.h.{i}.self_attention.query_key_value": (3 * hidden, hidden)
            for i in range(layers)}  # fmt: skip


def _t5_like(layers: int, hidden: int, inner: int) -> dict:
    return {f"base_model.model.encoder.block.{i}.layer.0.SelfAttention.{m}": (inner, hidden)
            for i in range(layers) for m in "qv"}  # fmt: skip


def _s2s_like(hidden: int, layers: int) -> dict:
    """A PEFT LoRA on q / v of an encoder-decoder in BART's names (Whisper, BART, Marian, M2M100, mBART)."""
    out = {}
    for i in range(layers):
        for m in "qv":
            out[f"base_model.model.model.encoder.layers.{i}.self_attn.{m}_proj"] = (hidden, hidden)
            out[f"base_model.model.model.decoder.layers.{i}.encoder_attn.{m}_proj"] = (hidden, hidden)
    return out


def _speech_like(prefix: str, layers: int, hidden: int) -> dict:
    return {f"base_model.model.{prefix}encoder.layers.{i}.attention.{m}_proj": (hidden, hidden)
            for i in range(layers) for m in "qv"}  # fmt: skip


def _dino_like(prefix: str, layers: int, hidden: int) -> dict:
    return {f"base_model.model.{prefix}encoder.layer.{i}.attention.attention.{m}": (hidden, hidden)
            for i in range(layers) for m in ("query", "value")}  # fmt: skip


def _neox_like(layers: int, hidden: int) -> dict:
    return {
        f"base_model.model.gpt_neox.layers.{i}.attention.query_key_value": (3 * hidden, hidden) for i in range(layers)
    }


# the small bases that course projects and tutorials fine-tune (the realzoo's kind of repo): before, each was
# "not in the registry", so the card got no base_model (no family hint in the name), or one checked against
# nothing, or the wrong root (a ClinicalBERT adapter named bert-base-uncased)
SMALL_BASES = [
    (_encoder_like("bert.", 12, 768), "emilyalsentzer/Bio_ClinicalBERT", "google-bert/bert-base-cased"),
    (_encoder_like("bert.", 12, 768), "ProsusAI/finbert", "google-bert/bert-base-uncased"),
    (_encoder_like("", 12, 384), "BAAI/bge-small-en-v1.5", "BAAI/bge-small-en-v1.5"),
    (_encoder_like("", 12, 768), "BAAI/bge-base-en-v1.5", "BAAI/bge-base-en-v1.5"),
    (_encoder_like("bert.", 12, 768), "allenai/scibert_scivocab_uncased", "allenai/scibert_scivocab_uncased"),
    (_encoder_like("roberta.", 12, 768), "microsoft/codebert-base", "FacebookAI/roberta-base"),
    (_encoder_like("roberta.", 6, 768), "distilroberta-base", "distilbert/distilroberta-base"),
    (_encoder_like("roberta.", 24, 1024), "intfloat/multilingual-e5-large", "FacebookAI/xlm-roberta-large"),
    (_neox_like(6, 512), "EleutherAI/pythia-70m", "EleutherAI/pythia-70m"),
    (_neox_like(16, 2048), "EleutherAI/pythia-1b", "EleutherAI/pythia-1b"),
    (_llama_like(30, 576, 192), "HuggingFaceTB/SmolLM-135M-Instruct", "HuggingFaceTB/SmolLM-135M-Instruct"),
    (_llama_like(24, 1024, 1024), "Qwen/Qwen1.5-0.5B-Chat", "Qwen/Qwen1.5-0.5B-Chat"),
    (_llama_like(28, 3584, 512), "Qwen/Qwen2.5-Coder-7B-Instruct", "Qwen/Qwen2.5-7B"),
    (_llama_like(40, 5120, 5120), "meta-llama/Llama-2-13b-chat-hf", "meta-llama/Llama-2-13b-chat-hf"),
    (_llama_like(32, 4096, 4096), "lmsys/vicuna-7b-v1.5", "meta-llama/Llama-2-7b-hf"),
    (_encoder_like("esm.", 33, 1280), "facebook/esm2_t33_650M_UR50D", "facebook/esm2_t33_650M_UR50D"),
    (_speech_like("wav2vec2.", 12, 768), "facebook/wav2vec2-base-960h", "facebook/wav2vec2-base-960h"),
    (_speech_like("hubert.", 24, 1024), "facebook/hubert-large-ll60k", "facebook/hubert-large-ll60k"),
    (_dino_like("dinov2.", 12, 768), "facebook/dinov2-base", "facebook/dinov2-base"),
    (_llama_like(24, 2880, 512, 4096), "openai/gpt-oss-20b", "openai/gpt-oss-20b"),  # 2025's: not small
    (_llama_like(24, 2880, 512, 4096), "unsloth/gpt-oss-20b-unsloth-bnb-4bit", "openai/gpt-oss-20b"),
    (_llama_like(36, 2048, 512), "HuggingFaceTB/SmolLM3-3B", "HuggingFaceTB/SmolLM3-3B"),
    (_bloom_like(30, 4096), "bigscience/bloomz-7b1", "bigscience/bloomz-7b1"),  # PEFT's own early examples
    (_t5_like(8, 512, 384), "bigscience/mt0-small", "google/mt5-small"),
    (_t5_like(24, 4096, 4096), "google/flan-t5-xxl", "google/flan-t5-xxl"),
    (_llama_like(40, 5120, 5120), "decapoda-research/llama-13b-hf", "huggyllama/llama-13b"),  # alpaca-lora's era
    (_s2s_like(512, 6), "Helsinki-NLP/opus-mt-en-de", "Helsinki-NLP/opus-mt-en-de"),  # was whisper-base's family
    (_s2s_like(1024, 12), "facebook/nllb-200-distilled-600M", "facebook/nllb-200-distilled-600M"),
    (_s2s_like(1024, 12), "facebook/mbart-large-50", "facebook/mbart-large-50"),
    (
        {
            f"base_model.model.vision_model.encoder.layers.{i}.self_attn.{m}_proj": (1152, 1152)
            for i in range(27)
            for m in "qv"
        },  # fmt: skip
        "google/siglip-so400m-patch14-384",  # PaliGemma's vision tower: no family fit it
        "google/siglip-so400m-patch14-384",
    ),
    (
        {
            f"base_model.model.albert.encoder.albert_layer_groups.0.albert_layers.0.attention.{m}": (768, 768)
            for m in ("query", "value")
        },  # fmt: skip
        "albert-base-v2",
        "albert/albert-base-v2",
    ),
    # stop 33: the small BERTs course projects pick for speed, and the code / Korean / Japanese bases of tutorials
    (_encoder_like("bert.", 2, 128), "prajjwal1/bert-tiny", "prajjwal1/bert-tiny"),
    (_encoder_like("bert.", 4, 256), "google/bert_uncased_L-4_H-256_A-4", "prajjwal1/bert-mini"),
    (_encoder_like("bert.", 4, 312), "huawei-noah/TinyBERT_General_4L_312D", "huawei-noah/TinyBERT_General_4L_312D"),
    (_encoder_like("bert.", 12, 384), "microsoft/MiniLM-L12-H384-uncased", "microsoft/MiniLM-L12-H384-uncased"),
    (_dino_like("deit.", 12, 384), "facebook/deit-small-patch16-224", "facebook/deit-small-patch16-224"),
    (_llama_like(24, 2048, 2048), "deepseek-ai/deepseek-coder-1.3b-instruct", "deepseek-ai/deepseek-coder-1.3b-base"),
    (_neox_like(28, 4096), "beomi/KoAlpaca-Polyglot-5.8B", "EleutherAI/polyglot-ko-5.8b"),
    (_neox_like(36, 2816), "rinna/japanese-gpt-neox-3.6b-instruction-sft", "rinna/japanese-gpt-neox-3.6b"),
    (_neox_like(24, 1536), "cyberagent/open-calm-large", "cyberagent/open-calm-large"),
    (_bloom_like(24, 2048), "tiiuae/falcon-rw-1b", "tiiuae/falcon-rw-1b"),
    # Unsloth's own names for the bases of its 2024 notebooks (not re-upload names of the originals)
    (_llama_like(22, 2048, 256), "unsloth/tinyllama-bnb-4bit", "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T"),
    (_llama_like(32, 4096, 1024), "unsloth/mistral-7b-bnb-4bit", "mistralai/Mistral-7B-v0.1"),
    (_llama_like(32, 4096, 1024), "unsloth/zephyr-sft-bnb-4bit", "mistralai/Mistral-7B-v0.1"),
    (_llama_like(48, 4096, 1024), "unsloth/solar-10.7b-bnb-4bit", "upstage/SOLAR-10.7B-v1.0"),
    (_llama_like(32, 4096, 512), "01-ai/Yi-6B-Chat", "01-ai/Yi-6B"),
    # document AI projects (FUNSD, CORD): their LoRAs were BERT or RoBERTa look-alikes, the declared base unchecked
    (_encoder_like("layoutlmv3.", 12, 768), "microsoft/layoutlmv3-base", "microsoft/layoutlmv3-base"),
    (_encoder_like("layoutlm.", 24, 1024), "microsoft/layoutlm-large-uncased", "microsoft/layoutlm-large-uncased"),
    # the fine-tunes NLP courses start from (NER, emotions, long documents, tweets)
    (_encoder_like("longformer.", 12, 768), "allenai/longformer-base-4096", "FacebookAI/roberta-base"),
    (_encoder_like("roberta.", 6, 768), "sentence-transformers/all-distilroberta-v1", "distilbert/distilroberta-base"),
    (_encoder_like("bert.", 12, 768), "dslim/bert-base-NER", "google-bert/bert-base-cased"),
    (_encoder_like("roberta.", 12, 768), "vinai/bertweet-base", "vinai/bertweet-base"),
    (_s2s_like(1024, 16), "google/pegasus-xsum", "google/pegasus-large"),  # summarization: was Whisper-medium's
]


@pytest.mark.parametrize("declared", ["bert-base-chinese", "bert-base-german-cased", "bert-base-german-dbmdz-uncased"])
def test_a_hub_id_from_before_organisations_is_written_as_declared(declared):
    """transformers' first models kept ids without an org (the Hub still resolves them): one the registry has no
    root for is a Hub id all the same, its family from its name, and written as declared; a made-up bare name is not."""
    r = classify(_encoder_like("bert.", 12, 768), config={"base_model_name_or_path": declared})
    assert r.family == "bert" and r.base_model["id"] == declared and r.base_model["status"] == "declared"
    assert not r.conflicts
    mine = classify(_encoder_like("bert.", 12, 768), config={"base_model_name_or_path": "bert-base-mine"})
    assert mine.base_model["id"] is None  # a name no Hub id has: unchecked, nothing written


def test_an_opus_mt_pair_the_registry_lacks_is_a_marian_and_written():
    """Every opus-mt model has whisper-base's shapes: the declared language pair puts it in Marian's family (its
    best root leads the candidates, not whisper-base's, which has the larger prior) and is written as declared."""
    r = classify(_s2s_like(512, 6), config={"base_model_name_or_path": "Helsinki-NLP/opus-mt-de-en"})
    assert r.family == "marian" and r.root.startswith("Helsinki-NLP/opus-mt-") and not r.conflicts
    assert r.base_model["id"] == "Helsinki-NLP/opus-mt-de-en"
    bare = classify(_s2s_like(512, 6))  # no declaration: Whisper is likelier, not certain
    assert bare.family == "whisper" and bare.family_confidence < 0.8 and bare.base_model["id"] is None
    # names, sizes and a declared root that fits them agree: 0.8, not the 0.6 of a family-level choice
    whisper = classify(_s2s_like(512, 6), config={"base_model_name_or_path": "openai/whisper-base"})
    assert whisper.family == "whisper" and whisper.family_confidence == 0.8 and not whisper.conflicts


def _glm_like(layers: int, qkv: int, v1: bool) -> dict:
    """A ChatGLM LoRA on query_key_value: ChatGLM-6B's `transformer.layers.N.attention`, ChatGLM2/3's
    `transformer.encoder.layers.N.self_attention`."""
    where = "transformer.layers.{i}.attention" if v1 else "transformer.encoder.layers.{i}.self_attention"
    return {f"base_model.model.{where.format(i=i)}.query_key_value": (qkv, 4096) for i in range(layers)}


@pytest.mark.parametrize(
    "lora, declared, root",
    [
        (_glm_like(28, 12288, True), "THUDM/chatglm-6b", "THUDM/chatglm-6b"),
        (_glm_like(28, 4608, False), "THUDM/chatglm2-6b", "THUDM/chatglm2-6b"),
        (_glm_like(28, 4608, False), "THUDM/chatglm3-6b", "THUDM/chatglm3-6b"),
        (_glm_like(28, 12288, True), None, "THUDM/chatglm-6b"),
    ],
)
def test_a_chatglm_lora_is_chatglm_not_a_pythia(lora, declared, root):
    """ChatGLM-6B's `attention.query_key_value` (3 x 4096) is GPT-NeoX's name at Pythia-6.9B's width: its LoRAs
    (the 2023 tutorials' favourite) were GPT-NeoX, root pythia-6.9b at 0.75."""
    r = classify(lora, config={"base_model_name_or_path": declared} if declared else None)
    assert r.family == "chatglm" and r.root == root and not r.conflicts, (r.family, r.root, r.conflicts)
    assert r.base_model["id"] == declared
    wrong = classify(_glm_like(28, 12288, True), config={"base_model_name_or_path": "THUDM/chatglm2-6b"})
    assert wrong.base_model["status"] == "contradicted" and wrong.conflicts


_QWEN1 = {f"base_model.model.transformer.h.{i}.attn.c_attn": (12288, 4096) for i in range(32)}
_BAICHUAN = {f"base_model.model.model.layers.{i}.self_attn.W_pack": (12288, 4096) for i in range(32)}


@pytest.mark.parametrize(
    "lora, declared, family, root",
    [
        (_QWEN1, "Qwen/Qwen-7B-Chat", "qwen", "Qwen/Qwen-7B-Chat"),
        (_QWEN1, None, "qwen", "Qwen/Qwen-7B"),
        (_BAICHUAN, "baichuan-inc/Baichuan2-7B-Chat", "baichuan", "baichuan-inc/Baichuan2-7B-Chat"),
        (_BAICHUAN, "baichuan-inc/Baichuan-7B", "baichuan", "baichuan-inc/Baichuan-7B"),
    ],
)
def test_qwen_1_and_baichuan_loras_are_their_own(lora, declared, family, root):
    """2023's other tutorial favourites (with ChatGLM): Qwen 1 names its layers as GPT-2 does
    (`transformer.h.N.attn.c_attn`), so its LoRA was GPT-2 with no root; Baichuan's fused `W_pack` matched nothing."""
    r = classify(lora, config={"base_model_name_or_path": declared} if declared else None)
    assert r.family == family and r.root == root and r.base_model["id"] == declared and not r.conflicts


def test_internlm2_and_meta_native_names_are_read():
    """InternLM2 (XTuner's tutorials) fuses q / k / v into `attention.wqkv`; Meta's and Mistral's own checkpoint
    names (`layers.N.attention.wq`, `feed_forward.w1`: consolidated checkpoints, mistral-finetune's LoRAs) are
    LLaMA's layers under other names. Both had no family ("shapes only")."""
    intern = {f"base_model.model.model.layers.{i}.attention.wqkv": (6144, 4096) for i in range(32)}
    r = classify(intern, config={"base_model_name_or_path": "internlm/internlm2-chat-7b"})
    assert r.family == "internlm2" and r.root == "internlm/internlm2-chat-7b" and not r.conflicts
    assert r.base_model["id"] == "internlm/internlm2-chat-7b"
    native = {
        f"layers.{i}.attention.{m}": ((4096 if m == "wq" else 1024), 4096)
        for i in range(32)
        for m in ("wq", "wk", "wv")
    }
    r = classify(native)  # Mistral 7B's (and Llama 3 8B's) attention in Mistral's own names
    assert r.family in ("llama", "mistral") and "mistralai/Mistral-7B-v0.1" in {c["id"] for c in r.candidates}
    assert "internlm/internlm2-7b" not in {c["id"] for c in r.candidates}


def test_a_timm_vit_lora_is_a_vit_and_sam_s_blocks_stay_sam():
    """timm names a ViT's layers `blocks.N.attn.qkv` (fused, 3 x 768) and `attn.proj`: a PEFT LoRA on a timm ViT had
    no family at all ("shapes only" over 22 families). SAM's image encoder uses the same names under its prefix."""
    timm = {f"base_model.model.blocks.{i}.attn.{m}": ((2304 if m == "qkv" else 768), 768)
            for i in range(12) for m in ("qkv", "proj")}  # fmt: skip
    r = classify(timm)
    assert r.family == "vit" and r.root == "google/vit-base-patch16-224-in21k" and r.base_model["id"] is None
    assert "facebook/dinov2-base" in {c["id"] for c in r.candidates}  # torch.hub's DINOv2 has timm's names too
    sam = {f"base_model.model.image_encoder.blocks.{i}.attn.qkv": (2304, 768) for i in range(12)}
    assert classify(sam).family == "sam"


def test_speech_and_dino_loras_are_not_vits():
    """A wav2vec2 LoRA read as ViT (0.5, root vit-base), a DINOv2 LoRA as ViT at 1.0 and an ESM-2 one as BERT."""
    assert classify(_speech_like("wav2vec2.", 12, 768)).family == "wav2vec2"
    dino = classify(_dino_like("dinov2.", 12, 768))
    assert dino.family == "dinov2" and dino.root == "facebook/dinov2-base"
    bare = classify(_dino_like("", 12, 768))  # no model prefix: ViT-B and DINOv2-B share every shape
    assert {"google/vit-base-patch16-224-in21k", "facebook/dinov2-base"} <= {c["id"] for c in bare.candidates}
    assert bare.base_model["id"] is None
    assert classify(_encoder_like("esm.", 12, 480)).root == "facebook/esm2_t12_35M_UR50D"


@pytest.mark.parametrize("lora, declared, root", SMALL_BASES, ids=[d for _, d, _ in SMALL_BASES])
def test_a_popular_small_base_is_checked_and_written(lora, declared, root):
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.root == root and not r.conflicts, (r.root, r.conflicts)
    assert r.base_model["id"] == declared and r.base_model["root"] == root and r.base_model["status"] == "declared"


@pytest.mark.parametrize(
    "lora, declared",
    [
        (_llama_like(28, 3584, 512), "Qwen/Qwen2.5-Coder-1.5B-Instruct"),  # was written: "fits its family"
        (_llama_like(32, 960, 320), "HuggingFaceTB/SmolLM-135M"),
        (_neox_like(24, 2048), "EleutherAI/pythia-1b"),  # pythia-1.4b's 24 blocks: the 1b has 16
        (_encoder_like("bert.", 12, 384), "BAAI/bge-base-en-v1.5"),
    ],
)
def test_a_small_base_of_another_size_is_a_conflict(lora, declared):
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.base_model["id"] is None and r.base_model["status"] == "contradicted" and r.conflicts, r.base_model


@pytest.mark.parametrize(
    "lora, declared",
    [
        (_llama_like(28, 3584, 512), "someorg/Qwen2.5-1.5B-sft"),  # Qwen2.5-7B's shapes
        (_llama_like(32, 4096, 4096), "someorg/llama-2-13b-base-v2"),  # Llama 2 7B's
        (_llama_like(36, 4096, 1024), "someorg/mistral-7b-x"),  # Qwen3-8B's: no Mistral 7B has 36 blocks
    ],
)
def test_an_unknown_model_whose_name_states_another_size_is_a_conflict(lora, declared):
    """The registry's models of the name's family and size do not fit, and the roots that fit state another size:
    before, the card got `base_model: someorg/Qwen2.5-1.5B-sft` on 7B weights ("the weights fit its family")."""
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.base_model["id"] is None and r.base_model["status"] == "contradicted", r.base_model
    assert any(declared in c for c in r.conflicts), r.conflicts


def test_an_unknown_model_of_a_family_the_names_allow_is_not_ruled_out_by_another_family_s_sizes():
    """Ministral 8B has Qwen3-8B's attention shapes to the block: before, its adapter's declaration was "ruled
    out" (conflict "the weights are Qwen3") and the family Qwen3 at 1.0, on the registry's ignorance alone."""
    r = classify(
        _llama_like(36, 4096, 1024), config={"base_model_name_or_path": "mistralai/Ministral-8B-Instruct-2410"}
    )
    assert not r.conflicts and r.base_model["status"] == "unchecked" and r.base_model["id"] is None
    assert r.family == "qwen3" and r.family_confidence <= 0.5 and r.confidence <= 0.5
    assert any("does not rule it out" in e for e in r.evidence)
    # where no known root fits at all, a name's size is no evidence against it
    open_llama = _llama_like(26, 3200, 3200)  # OpenLLaMA 3B fits no known root: no Llama 3.2 3B rules it out
    r = classify(open_llama, config={"base_model_name_or_path": "openlm-research/open_llama_3b"})
    assert not r.conflicts and r.base_model["id"] == "openlm-research/open_llama_3b"


def test_every_root_name_resolves_to_its_root_without_its_org():
    """The re-upload marks (`-hf`, `-bnb-4bit`, …) are dropped from both sides; no root may lose its own name."""
    for root in roots()["roots"]:
        for name in [root["id"], *root.get("aliases", [])]:
            assert resolve_name(name.rsplit("/", 1)[-1])[0] == root["id"], name


_SDXL_LORA = {
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k": (640, 2048),
    "lora_unet_output_blocks_0_1_transformer_blocks_9_attn1_to_q": (1280, 1280),
    "lora_te1_text_model_encoder_layers_0_self_attn_q_proj": (768, 768),
    "lora_te2_text_model_encoder_layers_0_self_attn_q_proj": (1280, 1280),
}


@pytest.mark.parametrize(
    "declared",
    ["OnomaAIResearch/Illustrious-xl-early-release-v0", "Laxhar/noobai-XL-1.1", "cagliostrolab/animagine-xl-3.1"],
)
def test_a_lora_on_a_popular_sdxl_tune_gets_the_tune_it_declares(declared):
    """Illustrious, NoobAI and Animagine are the bases most anime LoRAs declare; unknown to the registry, their
    names matched no family hint, so the declaration was `unchecked` and no `base_model` was written."""
    r = classify(_SDXL_LORA, config={"base_model_name_or_path": declared})
    assert r.family == "sdxl" and r.base_model["id"] == declared and r.base_model["status"] == "declared"
    assert r.root == "stabilityai/stable-diffusion-xl-base-1.0" and not r.conflicts


def test_flux2_is_not_flux1s_family_by_its_name():
    """FLUX.2 is another architecture (wider, other blocks): its name once matched FLUX.1's family hint, so a
    FLUX.1-shaped LoRA declaring it got `base_model: black-forest-labs/FLUX.2-dev` written."""
    lora = {f"transformer.single_transformer_blocks.{i}.attn.to_q": (3072, 3072) for i in range(38)}
    assert resolve_name("black-forest-labs/FLUX.2-dev") == ("black-forest-labs/FLUX.2-dev", "flux2")
    assert resolve_name("black-forest-labs/FLUX.1-dev")[1] == resolve_name("my/flux-lora")[1] == "flux"
    r = classify(lora, config={"base_model_name_or_path": "black-forest-labs/FLUX.2-dev"})
    assert r.family == "flux" and r.base_model["id"] is None and r.base_model["status"] == "contradicted"


# published text_config of each Gemma 3 size: hidden, intermediate, layers, heads, key/value heads, head_dim
GEMMA3 = {
    "4b": (2560, 10240, 34, 8, 4, 256),
    "12b": (3840, 15360, 48, 16, 8, 256),
    "27b": (5376, 21504, 62, 32, 16, 128),
}


@pytest.mark.parametrize("size", list(GEMMA3))
def test_a_gemma3_lora_names_its_size_from_the_multimodal_models_text_tower(size):
    """Gemma 3 4B / 12B / 27B (Gemma3ForConditionalGeneration, the most fine-tuned Gemma of 2025) had no roots: a
    LoRA declaring one was written unchecked, one declaring another size too. Built by transformers on meta."""
    import transformers as tf

    hidden, ffn, layers, heads, kv, head_dim = GEMMA3[size]
    text = dict(hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers, num_attention_heads=heads,
                num_key_value_heads=kv, head_dim=head_dim, vocab_size=262208)  # fmt: skip
    with torch.device("meta"):
        model = tf.Gemma3ForConditionalGeneration(
            tf.Gemma3Config(text_config=text, vision_config={"num_hidden_layers": 1})
        )
    shapes = {k: v for k, v in module_shapes(model).items() if ".language_model." in k}
    lora = lora_like(shapes, "q_proj", "v_proj", "down_proj", prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": f"unsloth/gemma-3-{size}-it-bnb-4bit"})
    assert r.family == "gemma3" and r.root == f"google/gemma-3-{size}-it" and not r.conflicts
    assert r.base_model["id"] == f"unsloth/gemma-3-{size}-it-bnb-4bit"
    other = "google/gemma-3-12b-it" if size != "12b" else "google/gemma-3-27b-it"
    wrong = classify(lora, config={"base_model_name_or_path": other})
    assert wrong.base_model["id"] is None and wrong.conflicts
    bare = classify(lora)
    assert bare.base_model["status"] == "ambiguous" and bare.root.startswith(f"google/gemma-3-{size}")


def test_a_flux_fill_lora_is_checked_against_flux1_dev():
    """FLUX.1 Fill / Canny / Depth [dev] widen x_embedder (384, 128 inputs), which lowers FLUX.1-dev without ruling
    it out: as derivatives they are checked against its shapes and written as declared. Before, the `flux` name hint
    alone let them be written unchecked, even on an x_embedder narrower than any FLUX.1's."""
    lora = {f"transformer.single_transformer_blocks.{i}.attn.to_q": (3072, 3072) for i in range(38)}
    lora["transformer.x_embedder"] = (3072, 384)
    r = classify(lora, config={"base_model_name_or_path": "black-forest-labs/FLUX.1-Fill-dev"})
    assert r.family == "flux" and r.base_model["id"] == "black-forest-labs/FLUX.1-Fill-dev" and not r.conflicts
    assert r.root == "black-forest-labs/FLUX.1-dev"
    narrow = dict(lora, **{"transformer.x_embedder": (3072, 32)})
    r = classify(narrow, config={"base_model_name_or_path": "black-forest-labs/FLUX.1-Fill-dev"})
    assert r.base_model["id"] is None and r.conflicts


@pytest.mark.parametrize(
    "shapes, declared, root",
    [  # published configs: layers, hidden, heads x head_dim, key/value heads x head_dim
        ((40, 5120, 4096, 1024), "unsloth/Mistral-Nemo-Instruct-2407-bnb-4bit", "mistralai/Mistral-Nemo-Instruct-2407"),
        (
            (40, 5120, 4096, 1024),
            "mistralai/Mistral-Small-24B-Instruct-2501",
            "mistralai/Mistral-Small-24B-Instruct-2501",
        ),
        ((64, 5120, 5120, 1024), "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "Qwen/Qwen2.5-32B"),
        ((64, 5120, 8192, 1024), "Qwen/Qwen3-32B", "Qwen/Qwen3-32B"),
        ((80, 8192, 8192, 1024), "unsloth/Llama-3.3-70B-Instruct-bnb-4bit", "meta-llama/Llama-3.3-70B-Instruct"),
        ((80, 8192, 8192, 1024), "Qwen/Qwen2.5-72B-Instruct", "Qwen/Qwen2.5-72B-Instruct"),
    ],
)
def test_the_larger_llm_bases_adapters_declare_are_roots(shapes, declared, root):
    """Mistral Nemo and Small, Qwen2.5 32B / 72B, Qwen3 32B and Llama 3.x 70B had no roots: an adapter declaring
    one (or a re-upload of one) was written with its shapes unchecked, and one declaring another size too."""
    layers, hidden, q_dim, kv_dim = shapes
    lora = _llama_like(layers, hidden, kv_dim, q_dim)
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.root == root and r.base_model["id"] == declared and not r.conflicts, (r.root, r.base_model)
    assert "not in the registry" not in r.base_model["reason"]  # checked against the root's shapes
    wrong = classify(lora, config={"base_model_name_or_path": "meta-llama/Llama-3.1-8B"})
    assert wrong.base_model["id"] is None and wrong.conflicts


def test_phi4_is_a_root_of_phi3s_layout():
    lora = {f"base_model.model.model.layers.{i}.self_attn.qkv_proj": (7680, 5120) for i in range(40)}
    r = classify(lora, config={"base_model_name_or_path": "unsloth/phi-4-bnb-4bit"})
    assert r.family == "phi3" and r.root == "microsoft/phi-4" and r.base_model["id"] == "unsloth/phi-4-bnb-4bit"


def test_whisper_large_v3_turbo_is_its_own_root_and_a_full_checkpoint_of_it_ranks_it_first():
    """large-v3-turbo (large-v3's encoder, 4 decoder layers) had no root: its adapters were written unchecked, and a
    full checkpoint of it ranked large-v3 first, whose 32 decoder layers such a checkpoint would all hold."""
    import transformers as tf

    config = tf.WhisperConfig(
        d_model=1280, encoder_layers=32, decoder_layers=4, encoder_attention_heads=20, decoder_attention_heads=20,
        encoder_ffn_dim=5120, decoder_ffn_dim=5120, num_mel_bins=128, vocab_size=51866,
    )  # fmt: skip
    with torch.device("meta"):
        shapes = module_shapes(tf.WhisperForConditionalGeneration(config))
    params = {k: o * i for k, (o, i) in shapes.items()}
    full = classify(shapes, params=params)
    assert full.root == "openai/whisper-large-v3-turbo"
    lora = lora_like(shapes, "q_proj", "v_proj", prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": "openai/whisper-large-v3-turbo"})
    assert r.base_model["id"] == "openai/whisper-large-v3-turbo" and "not in the registry" not in r.base_model["reason"]


def test_a_qwen25_vl_adapter_names_the_vl_model_it_declares():
    """Qwen2.5-VL's language tower has Qwen2.5's shapes: an adapter declaring the VL model (or unsloth's re-upload of
    it) was written unchecked, and one declaring the 3B VL model on 7B weights too. Built by transformers on meta."""
    import transformers as tf

    text = dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                num_key_value_heads=4, vocab_size=152064)  # fmt: skip
    config = tf.Qwen2_5_VLConfig(text_config=text, vision_config=dict(depth=1, out_hidden_size=3584))
    with torch.device("meta"):
        shapes = module_shapes(tf.Qwen2_5_VLForConditionalGeneration(config))
    lora = lora_like(shapes, "q_proj", "v_proj", prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": "unsloth/Qwen2.5-VL-7B-Instruct-bnb-4bit"})
    assert r.root == "Qwen/Qwen2.5-VL-7B-Instruct" and r.base_model["id"] == "unsloth/Qwen2.5-VL-7B-Instruct-bnb-4bit"
    wrong = classify(lora, config={"base_model_name_or_path": "Qwen/Qwen2.5-VL-3B-Instruct"})
    assert wrong.base_model["id"] is None and wrong.conflicts


def test_a_qwen3_moe_lora_names_the_30b_a3b_model_by_its_attention():
    """Qwen3-30B-A3B (a mixture of experts: 32 heads of 128 at 2048 wide) had no root: an adapter declaring it, or
    unsloth's re-upload, was written unchecked. Its experts are no role of the family; its attention places it."""
    import transformers as tf

    config = tf.Qwen3MoeConfig(
        hidden_size=2048,
        num_hidden_layers=48,
        num_attention_heads=32,
        num_key_value_heads=4,
        head_dim=128,
        moe_intermediate_size=768,
        num_experts=4,
        num_experts_per_tok=2,
        vocab_size=151936,
    )  # fmt: skip  (4 experts, not 128: their shapes are the same)
    with torch.device("meta"):
        shapes = module_shapes(tf.Qwen3MoeForCausalLM(config))
    lora = lora_like(shapes, "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": "unsloth/Qwen3-30B-A3B-bnb-4bit"})
    assert r.family == "qwen3" and r.root == "Qwen/Qwen3-30B-A3B" and not r.conflicts
    assert r.base_model["id"] == "unsloth/Qwen3-30B-A3B-bnb-4bit"
    wrong = classify(lora, config={"base_model_name_or_path": "Qwen/Qwen3-1.7B"})
    assert wrong.base_model["id"] is None and wrong.conflicts


def _swin_like(prefix: str, width: int, depths: tuple) -> dict:
    """A PEFT LoRA on query and value of every block of a Swin's four stages (widths C, 2C, 4C, 8C)."""
    return {f"base_model.model.{prefix}encoder.layers.{i}.blocks.{j}.attention.self.{m}": (width << i, width << i)
            for i, n in enumerate(depths) for j in range(n) for m in ("query", "value")}  # fmt: skip


def test_a_swin_lora_is_a_swin():
    """Swin's stages (`encoder.layers.N.blocks.M.attention.self.query`, a width per stage) matched no family:
    a Swin-T LoRA for image classification got "shapes only" and no root."""
    tiny = classify(_swin_like("swin.", 96, (2, 2, 6, 2)))
    assert tiny.family == "swin" and tiny.root == "microsoft/swin-tiny-patch4-window7-224"
    assert tiny.base_model["id"] is None  # Swin-S has Swin-T's widths; an adapter may skip its last 12 blocks
    small = classify(_swin_like("swin.", 96, (2, 2, 18, 2)))
    assert small.base_model["id"] == "microsoft/swin-small-patch4-window7-224"
    declared = classify(
        _swin_like("swin.", 128, (2, 2, 18, 2)),
        config={"base_model_name_or_path": "microsoft/swin-base-patch4-window7-224"},
    )
    assert declared.base_model["id"] == "microsoft/swin-base-patch4-window7-224" and not declared.conflicts
    wrong = classify(
        _swin_like("swin.", 96, (2, 2, 6, 2)),
        config={"base_model_name_or_path": "microsoft/swin-base-patch4-window7-224"},
    )
    assert wrong.conflicts and wrong.base_model["id"] is None  # Swin-B is 128 wide
    v2 = classify(_swin_like("swinv2.", 96, (2, 2, 6, 2)))
    assert v2.family == "swinv2" and v2.root == "microsoft/swinv2-tiny-patch4-window8-256"


def _blip_like(vision: int, vision_layers: int) -> dict:
    """A PEFT LoRA on BLIP's text decoder (query / value, self- and cross-attention) and its vision qkv."""
    lora = {}
    for i in range(12):
        for m in ("query", "value"):
            lora[f"base_model.model.text_decoder.bert.encoder.layer.{i}.attention.self.{m}"] = (768, 768)
        lora[f"base_model.model.text_decoder.bert.encoder.layer.{i}.crossattention.self.value"] = (768, vision)
    for i in range(vision_layers):
        lora[f"base_model.model.vision_model.encoder.layers.{i}.self_attn.qkv"] = (3 * vision, vision)
    return lora


def test_image_captioning_and_vlm_loras_find_their_models():
    """BLIP's text decoder is a BERT with cross-attention: a captioning LoRA was BERT at 1.0, root
    bert-base-uncased, its declared base unchecked. BLIP-2's and LLaVA's language models are OPT's and Llama 2's:
    declared, they are now checked against those and written."""
    base = classify(_blip_like(768, 12))
    assert base.family == "blip" and base.root == "Salesforce/blip-image-captioning-base"
    large = classify(_blip_like(1024, 24), config={"base_model_name_or_path": "Salesforce/blip-image-captioning-large"})
    assert large.root == "Salesforce/blip-image-captioning-large" and not large.conflicts
    assert large.base_model["id"] == "Salesforce/blip-image-captioning-large"
    wrong = classify(_blip_like(768, 12), config={"base_model_name_or_path": "Salesforce/blip-image-captioning-large"})
    assert wrong.conflicts and wrong.base_model["id"] is None  # its cross-attention reads a 768-wide ViT-B
    opt = {
        f"base_model.model.language_model.model.decoder.layers.{i}.self_attn.{m}_proj": (2560, 2560)
        for i in range(32)
        for m in "qk"
    }  # fmt: skip  (PEFT's BLIP-2 captioning example)
    blip2 = classify(opt, config={"base_model_name_or_path": "ybelkada/blip2-opt-2.7b-fp16-sharded"})
    assert blip2.root == "facebook/opt-2.7b" and blip2.base_model["id"] == "ybelkada/blip2-opt-2.7b-fp16-sharded"
    llava = classify(_llama_like(32, 4096, 4096), config={"base_model_name_or_path": "llava-hf/llava-1.5-7b-hf"})
    assert llava.base_model["id"] == "llava-hf/llava-1.5-7b-hf" and not llava.conflicts


def test_another_org_s_model_of_a_root_s_name_is_not_that_root_where_its_vocabulary_differs():
    """`klue/roberta-base` is a Korean RoBERTa of its own (32,000 tokens), not FacebookAI/roberta-base, whose repo
    name it shares: where its embedding is in the adapter, the name-only guess is dropped (written as declared,
    with no root, and no false "re-upload" reason); where it is not, the weights cannot tell, and the reason says
    mirror or namesake. Marked re-uploads keep the stricter reading (see the tests above)."""
    lora = _encoder_like("roberta.", 12, 768)
    with_vocab = dict(lora, **{"base_model.model.roberta.embeddings.word_embeddings": (32000, 768)})
    r = classify(with_vocab, config={"base_model_name_or_path": "klue/roberta-base"})
    assert r.base_model["id"] == "klue/roberta-base" and r.base_model["root"] is None and not r.conflicts
    assert "re-upload" not in r.base_model["reason"]
    assert any("another model of that name" in e for e in r.evidence)
    bare = classify(lora, config={"base_model_name_or_path": "klue/roberta-base"})
    assert bare.base_model["id"] == "klue/roberta-base" and "mirror" in bare.base_model["reason"]
    # the original's own vocabulary keeps the guess
    same = dict(lora, **{"base_model.model.roberta.embeddings.word_embeddings": (50265, 768)})
    assert classify(same, config={"base_model_name_or_path": "klue/roberta-base"}).base_model["root"] == (
        "FacebookAI/roberta-base"
    )


@pytest.mark.parametrize(
    "declared, family",
    [
        ("monologg/kobert", "bert"),  # Korean, Chinese, Indonesian, Polish, Vietnamese, French course favourites:
        ("beomi/kcbert-base", "bert"),  # BERT's or RoBERTa's shapes, names ending in "bert", no org the registry
        ("hfl/chinese-macbert-base", "bert"),  # knows: they were "an unknown family" and not written
        ("indobenchmark/indobert-base-p1", "bert"),
        ("allegro/herbert-base-cased", "bert"),
        ("vinai/phobert-base", "roberta"),
        ("almanach/camembert-base", "roberta"),
    ],
)
def test_a_national_bert_is_written_on_weights_of_its_family(declared, family):
    prefix = "roberta." if family == "roberta" else "bert."
    r = classify(_encoder_like(prefix, 12, 768), config={"base_model_name_or_path": declared})
    assert r.family == family and not r.conflicts
    assert r.base_model["id"] == declared and r.base_model["status"] == "declared"


def test_bert_in_a_name_is_not_every_architecture_ending_in_bert():
    from hfprobe.tree.declared import resolve_name

    assert (
        resolve_name("albert-base-v2")[1] == "albert" and resolve_name("answerdotai/ModernBERT-base")[1] == "modernbert"
    )
    assert resolve_name("google/mobilebert-uncased") == (None, None)  # its own architecture
    assert resolve_name("flaubert/flaubert_base_cased") == (None, None)  # XLM's
    # ConvBERT (`YituTech/conv-bert-base`) and the hyphenated spellings of MobileBERT / SqueezeBERT are their own
    assert resolve_name("YituTech/conv-bert-base") == (None, None)
    assert resolve_name("someone/mobile-bert-finetuned") == (None, None)
    assert resolve_name("dslim/bert-base-NER")[1] == "bert" and resolve_name("my-bert-model")[1] == "bert"


@pytest.mark.parametrize("names", ["transformers 4", "transformers 5"])
def test_peft_s_segmentation_guide_lora_is_a_segformer(names):
    """PEFT's semantic segmentation guide puts LoRA on query / value of SegFormer's nvidia/mit-b0 (widths 32 to 256
    over four stages): it had no family ("shapes only"). transformers 5 names the same layers
    `segformer.stages.N.blocks.M.attention.q_proj`."""
    widths, lora = (32, 64, 160, 256), {}
    for i, w in enumerate(widths):
        for j in range(2):
            for m in ("query", "value"):
                key = (
                    f"segformer.encoder.block.{i}.{j}.attention.self.{m}"
                    if names == "transformers 4"
                    else f"segformer.stages.{i}.blocks.{j}.attention.{m[0]}_proj"
                )
                lora[f"base_model.model.{key}"] = (w, w)
    r = classify(lora)
    assert r.family == "segformer" and r.root == "nvidia/mit-b0" and r.base_model["id"] == "nvidia/mit-b0"
    declared = classify(lora, config={"base_model_name_or_path": "nvidia/mit-b2"})  # 64 to 512 wide
    assert declared.conflicts and declared.base_model["id"] is None


def test_a_swin_lora_under_transformers_5_names_is_a_swin():
    t5 = {f"base_model.model.swin.encoder.layers.{i}.blocks.{j}.attention.{m}_proj": (96 << i, 96 << i)
          for i, n in enumerate((2, 2, 6, 2)) for j in range(n) for m in "qv"}  # fmt: skip
    r = classify(t5)
    assert r.family == "swin" and r.root == "microsoft/swin-tiny-patch4-window7-224"


def test_a_llama_3_2_vision_lora_is_its_own_and_a_shallower_adapter_names_no_root_alone():
    """Llama 3.2 11B Vision's decoder is Llama 3.1 8B's layers with 8 gated cross-attention layers among them
    (40): its LoRA was Llama with root SOLAR-10.7B (48 layers of the same widths), written as `base_model` from
    the weights alone. Now the cross-attention names make it its own family; and an adapter on fewer blocks than
    the only root that fits no longer names that root by its weights alone."""
    vision, plain = {}, {}
    for i in range(44):
        kind = "cross_attn" if i % 5 == 3 else "self_attn"
        for m, out in (("q", 4096), ("v", 1024)):
            if i < 40:
                vision[f"base_model.model.language_model.model.layers.{i}.{kind}.{m}_proj"] = (out, 4096)
            plain[f"base_model.model.model.layers.{i}.self_attn.{m}_proj"] = (out, 4096)
    r = classify(vision)
    assert r.family == "mllama" and r.root.startswith("meta-llama/Llama-3.2-11B-Vision")
    declared = classify(vision, config={"base_model_name_or_path": "unsloth/Llama-3.2-11B-Vision-Instruct-bnb-4bit"})
    assert declared.base_model["id"] == "unsloth/Llama-3.2-11B-Vision-Instruct-bnb-4bit" and not declared.conflicts
    shallow = classify(plain)  # 44 blocks of SOLAR-10.7B's 48 (the others have 32 or 40): no root by weights alone
    assert shallow.root == "upstage/SOLAR-10.7B-v1.0" and shallow.base_model["id"] is None
    assert "fewer blocks" in shallow.base_model["reason"]


def test_new_roots_with_well_known_look_alikes_name_none_by_weights_alone():
    """Each root added is a bet that no unknown model shares its shapes: where a popular one does (Sheared-LLaMA
    1.3B has DeepSeek-Coder 1.3B's, Yi-1.5-6B Yi-6B's), both are roots, so a bare LoRA names neither."""
    for layers, hidden, kv, ffn in ((24, 2048, 2048, 5504), (32, 4096, 512, 11008)):
        lora = {}
        for i in range(layers):
            lora[f"base_model.model.model.layers.{i}.self_attn.q_proj"] = (hidden, hidden)
            lora[f"base_model.model.model.layers.{i}.self_attn.v_proj"] = (kv, hidden)
            lora[f"base_model.model.model.layers.{i}.mlp.up_proj"] = (ffn, hidden)
        r = classify(lora)
        assert r.base_model["id"] is None and r.base_model["status"] == "ambiguous", (layers, r.base_model)


def test_a_deberta_v1_lora_is_not_deberta_v3():
    """DeBERTa v1 (microsoft/deberta-base) fuses query, key and value into `attention.self.in_proj`: its LoRA was
    DeBERTa-v2/v3 with root deberta-v3-base (a model of another vocabulary and layer names)."""
    v1 = {f"base_model.model.deberta.encoder.layer.{i}.attention.self.in_proj": (2304, 768) for i in range(12)}
    r = classify(v1, config={"base_model_name_or_path": "microsoft/deberta-base"})
    assert r.family == "deberta" and r.root == "microsoft/deberta-base" and not r.conflicts
    assert r.base_model["id"] == "microsoft/deberta-base"
    v3 = {f"base_model.model.deberta.encoder.layer.{i}.attention.self.{m}_proj": (768, 768)
          for i in range(12) for m in ("query", "value")}  # fmt: skip
    assert classify(v3).family == "deberta_v2"
    assert classify(v1, config={"base_model_name_or_path": "microsoft/deberta-v3-base"}).conflicts


def test_codegen_and_musicgen_loras_are_not_gpt_j_s_and_whisper_s():
    """CodeGen names its MLP as GPT-J does (`mlp.fc_in`), and CodeGen-6B has GPT-J-6B's widths: a CodeGen LoRA
    was GPT-J with gpt-j-6b written by its weights alone. MusicGen's decoder has Whisper's layer names at
    whisper-medium's sizes: its LoRA was given whisper-medium the same way."""
    codegen = {}
    for i in range(33):
        codegen[f"base_model.model.transformer.h.{i}.attn.qkv_proj"] = (3 * 4096, 4096)
        codegen[f"base_model.model.transformer.h.{i}.mlp.fc_in"] = (4 * 4096, 4096)
    r = classify(codegen)
    assert r.family == "codegen" and r.root == "Salesforce/codegen-6B-mono"
    gptj = {f"base_model.model.transformer.h.{i}.attn.{m}_proj": (4096, 4096) for i in range(28) for m in "qv"}
    assert classify(gptj).family == "gptj"
    musicgen = {f"base_model.model.decoder.model.decoder.layers.{i}.self_attn.{m}_proj": (1024, 1024)
                for i in range(24) for m in "qv"}  # fmt: skip
    r = classify(musicgen)
    assert r.family == "musicgen" and r.root == "facebook/musicgen-small"


@pytest.mark.parametrize(
    "declared, written",
    [
        ("hfl/chinese-roberta-wwm-ext", "hfl/chinese-roberta-wwm-ext"),  # a root now (BertModel, 21,128 tokens)
        ("bert-base-chinese", "bert-base-chinese"),
        ("uer/roberta-base-finetuned-jd-binary-chinese", "uer/roberta-base-finetuned-jd-binary-chinese"),
    ],
)
def test_chinese_roberta_models_are_bert_s_architecture(declared, written):
    """hfl's and uer's Chinese "RoBERTa" models are BertModels (`bert.encoder.layer.N`): an adapter declaring one was
    "contradicted" (its name read as RoBERTa's family, "but the weights are BERT") and got no base_model."""
    r = classify(_encoder_like("bert.", 12, 768), config={"base_model_name_or_path": declared})
    assert not r.conflicts and r.family == "bert" and r.base_model["id"] == written, (r.conflicts, r.base_model)
    assert resolve_name("hfl/chinese-roberta-wwm-ext-large") == ("hfl/chinese-roberta-wwm-ext-large", "bert")
    assert resolve_name("ai4bharat/indic-bert")[1] == "albert" and resolve_name("csebuetnlp/banglabert")[1] == "electra"
    # a RoBERTa by name and architecture is still RoBERTa's: its declaration on BERT's weights a conflict
    r = classify(_encoder_like("bert.", 12, 768), config={"base_model_name_or_path": "FacebookAI/roberta-base"})
    assert r.conflicts and r.base_model["status"] == "contradicted"


@pytest.mark.parametrize(
    "prefix, layers, hidden, declared",
    [
        ("roberta.", 12, 768, "microsoft/graphcodebert-base"),  # RoBERTa's architecture: its name read as BERT's
        ("roberta.", 6, 768, "huggingface/CodeBERTa-small-v1"),  # ... and as DeBERTa's ("CodeBERTa")
        ("roberta.", 24, 1024, "BAAI/bge-m3"),  # embedding models RAG projects fine-tune: registry roots now
        ("roberta.", 24, 1024, "BAAI/bge-reranker-v2-m3"),
        ("bert.", 12, 768, "sentence-transformers/LaBSE"),
        ("bert.", 24, 1024, "mixedbread-ai/mxbai-embed-large-v1"),
        ("bert.", 4, 512, "BAAI/bge-small-zh-v1.5"),  # and the Chinese ones
        ("bert.", 12, 768, "moka-ai/m3e-base"),
        ("bert.", 12, 768, "shibing624/text2vec-base-chinese"),  # MacBERT's fine-tune
    ],
)
def test_code_and_embedding_models_declared_by_their_adapters(prefix, layers, hidden, declared):
    r = classify(_encoder_like(prefix, layers, hidden), config={"base_model_name_or_path": declared})
    assert not r.conflicts and r.base_model["id"] == declared, (r.conflicts, r.base_model)


def test_bge_m3_s_long_position_table_tells_it_from_xlm_roberta_large():
    """A full checkpoint: bge-m3's 8,194 positions, where XLM-RoBERTa-large, whose layers it has, has 514."""
    shapes = {k.removeprefix("base_model.model."): v for k, v in _encoder_like("roberta.", 24, 1024).items()}
    shapes["roberta.embeddings.word_embeddings"] = (250002, 1024)
    shapes["roberta.embeddings.position_embeddings"] = (8194, 1024)
    r = classify(shapes, params={k: a * b for k, (a, b) in shapes.items()})
    assert r.candidates[0]["id"] == "BAAI/bge-m3", r.candidates[:3]


def test_names_that_say_another_architecture_than_theirs():
    """A declared model the registry lacks gets its family from its name: where the name says another architecture
    than the model's (IDEA-CCNL's Erlangshen-Roberta is a BertModel; BigBird's `bigbird-roberta-base` a BigBird,
    saved under `bert.`), its adapter was "contradicted" ("says RoBERTa, but the weights are BERT")."""
    bert = _encoder_like("bert.", 12, 768)
    r = classify(bert, config={"base_model_name_or_path": "IDEA-CCNL/Erlangshen-Roberta-110M-Sentiment"})
    assert not r.conflicts and r.base_model["id"] == "IDEA-CCNL/Erlangshen-Roberta-110M-Sentiment"
    r = classify(bert, config={"base_model_name_or_path": "google/bigbird-roberta-base"})
    assert not r.conflicts and r.base_model["status"] == "unchecked" and r.base_model["id"] is None
    families = {n: resolve_name(n)[1] for n in ("vinai/bartpho-syllable", "facebook/galactica-125m", "google/flan-ul2")}
    assert families == {"vinai/bartpho-syllable": "mbart", "facebook/galactica-125m": "opt", "google/flan-ul2": "t5"}


@pytest.mark.parametrize(
    "declared, shapes",
    [
        ("databricks/dolly-v2-3b", lambda: _neox_like(32, 2560)),  # Pythia-2.8B's fine-tune
        ("togethercomputer/RedPajama-INCITE-Chat-3B-v1", lambda: _neox_like(32, 2560)),
        ("deepseek-ai/deepseek-llm-7b-chat", lambda: _llama_like(30, 4096, 4096)),
    ],
)
def test_2023_chat_models_declared_by_their_adapters_are_written(declared, shapes):
    """Models the registry lacks whose names said no family: their adapters' base was "unchecked" (neither the
    registry nor the weights can check it) and not written; name hints now give their architecture."""
    r = classify(shapes(), config={"base_model_name_or_path": declared})
    assert not r.conflicts and r.base_model["id"] == declared, r.base_model


def test_names_say_which_gemma_falcon_or_qwen():
    """`gemma-2b` is Gemma 1's 2B, `gemma-2-2b` Gemma 2's: a fine-tune named `…/gemma-2b-…` was read as Gemma 2's,
    so its Gemma 1 adapter's base was left "unchecked" and unwritten; `paligemma-3b` was read as Gemma 3's."""
    r = classify(_llama_like(18, 2048, 256), config={"base_model_name_or_path": "someone/gemma-2b-sft"})
    assert r.family == "gemma" and r.base_model["id"] == "someone/gemma-2b-sft" and not r.conflicts
    expected = {
        "someone/gemma-2b-sft": "gemma", "someone/gemma-2-9b-sft": "gemma2", "someone/gemma3-12b-x": "gemma3",
        "google/paligemma-3b-pt-224": "gemma", "google/paligemma2-3b-pt-224": "gemma2",
        "google/gemma-3n-E4B-it": None, "facebook/w2v-bert-2.0": None, "microsoft/speecht5_tts": None,
        # and which Falcon or Qwen: Falcon 3 is a LLaMA, Falcon Mamba none here, Qwen1.5 a Qwen2
        "tiiuae/Falcon3-7B-Instruct": "llama", "tiiuae/falcon-mamba-7b": None, "someone/falcon-7b-sft": "falcon",
        "someone/Qwen1.5-1.8B-sft": "qwen2",
    }  # fmt: skip
    assert {n: resolve_name(n)[1] for n in expected} == expected

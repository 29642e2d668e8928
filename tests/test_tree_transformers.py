"""Family and root of transformers models and their adapters, on shapes the transformers classes build on
the meta device with the published hyperparameters of known roots (GPT-2, BERT, LLaMA, Mistral, Gemma,
Whisper, CLIP, SAM...), and the metadata that declares a root beside them."""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims
from hfprobe.tree.names import normalize_key, shapes_from_raw
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import LLM_CONFIGS, SD15, lora_like


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
        ("starcoder2", ("q_proj", "v_proj", "c_fc")),
    ],
)
def test_peft_style_lora_family(hf_shapes, family, targets):
    r = classify(lora_like(hf_shapes(family), *targets, prefix="base_model.model."))
    assert r.family == family, r.evidence


def test_attention_shapes_two_families_share_leave_both_candidates(hf_shapes):
    # OLMo 1 and OLMo 2 1B have the same attention: an adapter on it alone cannot tell them apart, and says so
    for family in ("olmo", "olmo2"):
        r = classify(lora_like(hf_shapes(family), "q_proj", "v_proj", prefix="base_model.model."))
        ids = [c["id"] for c in r.candidates]
        assert {"allenai/OLMo-1B-hf", "allenai/OLMo-2-0425-1B"} <= set(ids[:2]), r.evidence
        assert r.confidence < 0.5


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
    later tied with it: Whisper-medium's decoder has OPT-350M's sizes, but an adapter on Whisper touches its
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
        ("microsoft/Phi-3-small-8k-instruct", None, None),  # its own layout (fused query_key_value, tiktoken)
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
        ("ibm-granite/granite-3.3-8b-instruct", "ibm-granite/granite-3.3-8b-instruct", "granite"),
        ("ibm-granite/granite-3.2-8b-instruct", None, "granite"),
        ("ibm-granite/granite-4.0-h-small", "ibm-granite/granite-4.0-h-small", "granite4"),  # tests/test_granite4.py
        ("ibm-granite/granite-embedding-125m-english", None, None),  # a RoBERTa
        ("ibm-granite/granite-3b-code-base-2k", None, None),  # LLaMA's layout, not Granite 3's
        ("allenai/OLMo-2-1124-7B-Instruct", "allenai/OLMo-2-1124-7B-Instruct", "olmo2"),
        ("allenai/OLMo-7B-0724-hf", None, "olmo"),
        ("allenai/OLMoE-1B-7B-0924", "allenai/OLMoE-1B-7B-0924", "olmoe"),  # tests/test_moe_decoders.py
        ("allenai/Molmo2-8B", None, None),  # a vision-language model, whatever "olmo2" its name holds
        ("allenai/Olmo-3-1025-7B", "allenai/Olmo-3-1025-7B", "olmo2"),  # OLMo 3: OLMo 2's layers (it was none)
        ("bigcode/starcoder2-15b-instruct-v0.1", None, "starcoder2"),
        ("THUDM/glm-4-9b-chat-hf", "THUDM/glm-4-9b-chat", "chatglm"),  # the same weights in transformers' layout
        ("someone/glm-4-9b-chat-lora", None, "chatglm"),
        ("THUDM/GLM-4-9B-0414", "THUDM/GLM-4-9B-0414", "chatglm"),  # pretrained apart in GLM-4-9B's shapes
        ("THUDM/GLM-Z1-32B-0414", None, "chatglm"),
        ("zai-org/GLM-4.7-Flash", "zai-org/GLM-4.7-Flash", "glm4_moe_lite"),  # DeepSeek's latent attention, its sizes
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
    from hfprobe.tree.rank import DECLARED_ROOT

    lora = lora_like(hf_shapes(family), *targets, prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.confidence == DECLARED_ROOT == r.candidates[0]["score"], r.candidates
    assert sum(c["score"] for c in r.candidates) <= 1.0 and len(r.candidates) > 1
    assert classify(lora).confidence < DECLARED_ROOT  # undeclared: the weights alone cannot choose


@pytest.mark.parametrize("declared", ["deepset/gbert-base", "klue/bert-base", "bert-base-german-dbmdz-cased"])
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


def test_granite_olmo_starcoder2_declared_bases_are_checked(hf_shapes):
    """Granite 3, OLMo and StarCoder2 (once LLaMA at 0.3 with no root, or a shapes-only guess): a declared root the
    weights fit is the base_model; one they rule out (Granite 3.3 8B's widths on its 2B's) a conflict."""
    granite = hf_shapes("granite")  # granite-3.3-2b's sizes, its embedding included
    r = classify(granite, config={"_name_or_path": "ibm-granite/granite-3.3-2b-instruct"})
    assert r.family == "granite" and r.base_model["id"] == "ibm-granite/granite-3.3-2b-instruct" and not r.conflicts
    r = classify(granite, config={"_name_or_path": "ibm-granite/granite-3.3-8b-instruct"})
    assert r.base_model["id"] is None and any("granite-3.3-8b-instruct" in c for c in r.conflicts), r.conflicts
    lora = lora_like(hf_shapes("starcoder2"), "q_proj", "v_proj", "c_fc", prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": "bigcode/starcoder2-3b"})
    assert r.family == "starcoder2" and r.base_model["id"] == "bigcode/starcoder2-3b" and not r.conflicts
    r = classify(lora, config={"base_model_name_or_path": "bigcode/starcoder2-7b"})  # 4608 wide, not 3072
    assert r.base_model["id"] is None and r.conflicts
    olmo2 = lora_like(hf_shapes("olmo2"), "q_proj", "v_proj", prefix="base_model.model.")
    r = classify(olmo2, config={"base_model_name_or_path": "allenai/OLMo-2-0425-1B"})
    assert r.family == "olmo2" and r.base_model["id"] == "allenai/OLMo-2-0425-1B" and not r.conflicts


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


def test_names_prose_capitalises_are_mentions_in_any_case(unet):
    """ "Stable Diffusion 1.5" names SD 1.x as "stable-diffusion-v1" does: a README weighing "Stable Diffusion 1.5 or
    SDXL" on SD 1.x weights mentions both, so there is no conflict (it was read as naming SDXL alone)."""
    lora = lora_like(unet(**SD15), "attn2.to_k", prefix="unet.")
    r = classify(lora, texts={"README.md": "We start from a model such as Stable Diffusion 1.5 or SDXL.\n"})
    assert r.declared["README.md mentions"] == {"sd1": 1, "sdxl": 1} and not r.conflicts
    for prose, fam in [
        ("STABLE DIFFUSION XL", "sdxl"),
        ("a Stable-Diffusion v2 LoRA", "sd2"),
        ("Segment Anything's encoder", "sam"),
        ("a Vision Transformer", "vit"),
        ("DistilBERT, fine-tuned", "distilbert"),
        ("Wav2Vec2 for Urdu", "wav2vec2"),
        ("Whisper small", "whisper"),
        ("fine-tuned from OLMo 2", "olmo2"),
        ("a StarCoder2 LoRA", "starcoder2"),
    ]:
        assert declared_claims(texts={"README.md": prose})[0]["README.md mentions"] == {fam: 1}, prose
    # acronyms keep their case: "sam" and "vit" are words (and names) too
    assert "README.md mentions" not in declared_claims(texts={"README.md": "sam and vit went to the sea"})[0]


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


LLAMA4 = {"meta-llama/Llama-4-Scout-17B-16E", "meta-llama/Llama-4-Scout-17B-16E-Instruct",
          "meta-llama/Llama-4-Maverick-17B-128E", "meta-llama/Llama-4-Maverick-17B-128E-Instruct"}  # fmt: skip


def test_llama4_is_its_mixture_and_its_attention_is_qwen2_5_14b_s():
    """Llama 4 Scout's attention is Qwen2.5-14B's in every size (40 heads and 8 key/value heads of 128, 48 layers): a
    Scout LoRA on attention was Qwen2.5-14B at 0.99, and one declaring Scout got no base_model. Its mixture's names
    (`feed_forward.shared_expert`, `feed_forward.router`) place a full checkpoint; an attention adapter leaves both
    lines, its declaration deciding."""
    import torch
    from transformers import AutoConfig, AutoModel, Llama4ForCausalLM, Llama4TextConfig

    from tests.model_shapes import llama_like, module_shapes

    with torch.device("meta"):
        full = module_shapes(Llama4ForCausalLM(Llama4TextConfig()))  # (transformers' defaults: Scout's sizes)
    r = classify(full)
    assert r.family == "llama4" and r.family_confidence == 1.0 and {c["id"] for c in r.candidates} <= LLAMA4
    lora = llama_like(48, 5120, 1024, 5120)
    alone = classify(lora)
    ids = {c["id"] for c in alone.candidates}
    assert {"Qwen/Qwen2.5-14B", "meta-llama/Llama-4-Scout-17B-16E"} <= ids and alone.family_confidence < 0.9, ids
    unsloth = "unsloth/Llama-4-Scout-17B-16E-Instruct-unsloth-bnb-4bit"  # (the re-upload most Scout LoRAs name)
    scout = classify(lora, config={"base_model_name_or_path": unsloth})
    assert scout.family == "llama4" and scout.root == "meta-llama/Llama-4-Scout-17B-16E-Instruct"
    assert scout.base_model["id"] == unsloth and not scout.conflicts
    qwen = classify(lora, config={"base_model_name_or_path": "Qwen/Qwen2.5-14B-Instruct"})
    assert qwen.family == "qwen2" and qwen.base_model["id"] == "Qwen/Qwen2.5-14B-Instruct" and not qwen.conflicts
    with torch.device("meta"):  # Jamba's mixture has a `feed_forward.router` too, beside its Mamba layers
        jamba = module_shapes(AutoModel.from_config(AutoConfig.for_model("jamba")))
    assert classify(jamba).family != "llama4"
    assert resolve_name("meta-llama/Llama-3.1-8B")[1] == "llama"  # (Llama 4's name hint takes no Llama 3 ...)
    assert resolve_name("someorg/my-llama-4bit-lora")[1] == "llama"  # (... nor a 4-bit quantization)
    mentions = declared_claims(texts={"README.md": "Llama 2, quantized to Llama 4-bit"})[0]["README.md mentions"]
    assert mentions == {"llama": 1}, mentions

"""The small bases that course projects and tutorials fine-tune, and the look-alikes among them: each
checked against its own shapes, written as declared, or refused where its sizes say otherwise."""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.naming import resolve_name
from hfprobe.tree.registry import roots
from tests.model_shapes import (
    bloom_like,
    dino_like,
    encoder_like,
    llama_like,
    neox_like,
    s2s_like,
    speech_like,
    t5_like,
)

# the small bases that course projects and tutorials fine-tune (the realzoo's kind of repo): before, each was
# "not in the registry", so the card got no base_model (no family hint in the name), or one checked against
# nothing, or the wrong root (a ClinicalBERT adapter named bert-base-uncased)
SMALL_BASES = [
    (encoder_like("bert.", 12, 768), "emilyalsentzer/Bio_ClinicalBERT", "google-bert/bert-base-cased"),
    (encoder_like("bert.", 12, 768), "ProsusAI/finbert", "google-bert/bert-base-uncased"),
    (encoder_like("", 12, 384), "BAAI/bge-small-en-v1.5", "BAAI/bge-small-en-v1.5"),
    (encoder_like("", 12, 768), "BAAI/bge-base-en-v1.5", "BAAI/bge-base-en-v1.5"),
    (encoder_like("bert.", 12, 768), "allenai/scibert_scivocab_uncased", "allenai/scibert_scivocab_uncased"),
    (encoder_like("roberta.", 12, 768), "microsoft/codebert-base", "FacebookAI/roberta-base"),
    (encoder_like("roberta.", 6, 768), "distilroberta-base", "distilbert/distilroberta-base"),
    (encoder_like("roberta.", 24, 1024), "intfloat/multilingual-e5-large", "FacebookAI/xlm-roberta-large"),
    (neox_like(6, 512), "EleutherAI/pythia-70m", "EleutherAI/pythia-70m"),
    (neox_like(16, 2048), "EleutherAI/pythia-1b", "EleutherAI/pythia-1b"),
    (llama_like(30, 576, 192), "HuggingFaceTB/SmolLM-135M-Instruct", "HuggingFaceTB/SmolLM-135M-Instruct"),
    (llama_like(24, 1024, 1024), "Qwen/Qwen1.5-0.5B-Chat", "Qwen/Qwen1.5-0.5B-Chat"),
    (llama_like(28, 3584, 512), "Qwen/Qwen2.5-Coder-7B-Instruct", "Qwen/Qwen2.5-7B"),
    (llama_like(40, 5120, 5120), "meta-llama/Llama-2-13b-chat-hf", "meta-llama/Llama-2-13b-chat-hf"),
    (llama_like(32, 4096, 4096), "lmsys/vicuna-7b-v1.5", "meta-llama/Llama-2-7b-hf"),
    (encoder_like("esm.", 33, 1280), "facebook/esm2_t33_650M_UR50D", "facebook/esm2_t33_650M_UR50D"),
    (speech_like("wav2vec2.", 12, 768), "facebook/wav2vec2-base-960h", "facebook/wav2vec2-base-960h"),
    (speech_like("hubert.", 24, 1024), "facebook/hubert-large-ll60k", "facebook/hubert-large-ll60k"),
    (dino_like("dinov2.", 12, 768), "facebook/dinov2-base", "facebook/dinov2-base"),
    (llama_like(24, 2880, 512, 4096), "openai/gpt-oss-20b", "openai/gpt-oss-20b"),  # 2025's: not small
    (llama_like(24, 2880, 512, 4096), "unsloth/gpt-oss-20b-unsloth-bnb-4bit", "openai/gpt-oss-20b"),
    (llama_like(36, 2048, 512), "HuggingFaceTB/SmolLM3-3B", "HuggingFaceTB/SmolLM3-3B"),
    (bloom_like(30, 4096), "bigscience/bloomz-7b1", "bigscience/bloomz-7b1"),  # PEFT's own early examples
    (t5_like(8, 512, 384), "bigscience/mt0-small", "google/mt5-small"),
    (t5_like(24, 4096, 4096), "google/flan-t5-xxl", "google/flan-t5-xxl"),
    (llama_like(40, 5120, 5120), "decapoda-research/llama-13b-hf", "huggyllama/llama-13b"),  # alpaca-lora's era
    (s2s_like(512, 6), "Helsinki-NLP/opus-mt-en-de", "Helsinki-NLP/opus-mt-en-de"),  # was whisper-base's family
    (s2s_like(1024, 12), "facebook/nllb-200-distilled-600M", "facebook/nllb-200-distilled-600M"),
    (s2s_like(1024, 12), "facebook/mbart-large-50", "facebook/mbart-large-50"),
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
    # the small BERTs course projects pick for speed, and the code / Korean / Japanese bases of tutorials
    (encoder_like("bert.", 2, 128), "prajjwal1/bert-tiny", "prajjwal1/bert-tiny"),
    (encoder_like("bert.", 4, 256), "google/bert_uncased_L-4_H-256_A-4", "prajjwal1/bert-mini"),
    (encoder_like("bert.", 4, 312), "huawei-noah/TinyBERT_General_4L_312D", "huawei-noah/TinyBERT_General_4L_312D"),
    (encoder_like("bert.", 12, 384), "microsoft/MiniLM-L12-H384-uncased", "microsoft/MiniLM-L12-H384-uncased"),
    # (DeiT without distillation is saved as a ViT, `vit.`; `deit.` is a distilled DeiT's: test_deit_convnextv2.py)
    (dino_like("vit.", 12, 384), "facebook/deit-small-patch16-224", "facebook/deit-small-patch16-224"),
    (llama_like(24, 2048, 2048), "deepseek-ai/deepseek-coder-1.3b-instruct", "deepseek-ai/deepseek-coder-1.3b-base"),
    (neox_like(28, 4096), "beomi/KoAlpaca-Polyglot-5.8B", "EleutherAI/polyglot-ko-5.8b"),
    (neox_like(36, 2816), "rinna/japanese-gpt-neox-3.6b-instruction-sft", "rinna/japanese-gpt-neox-3.6b"),
    (neox_like(24, 1536), "cyberagent/open-calm-large", "cyberagent/open-calm-large"),
    (bloom_like(24, 2048), "tiiuae/falcon-rw-1b", "tiiuae/falcon-rw-1b"),
    # Unsloth's own names for the bases of its 2024 notebooks (not re-upload names of the originals)
    (llama_like(22, 2048, 256), "unsloth/tinyllama-bnb-4bit", "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T"),
    (llama_like(32, 4096, 1024), "unsloth/mistral-7b-bnb-4bit", "mistralai/Mistral-7B-v0.1"),
    (llama_like(32, 4096, 1024), "unsloth/zephyr-sft-bnb-4bit", "mistralai/Mistral-7B-v0.1"),
    (llama_like(48, 4096, 1024), "unsloth/solar-10.7b-bnb-4bit", "upstage/SOLAR-10.7B-v1.0"),
    (llama_like(32, 4096, 512), "01-ai/Yi-6B-Chat", "01-ai/Yi-6B"),
    # quantized re-uploads named as Red Hat (Neural Magic) names them, an adapter trained on one the original's
    (
        llama_like(32, 4096, 1024),
        "RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w4a16",
        "meta-llama/Llama-3.1-8B-Instruct",
    ),
    # document AI projects (FUNSD, CORD): their LoRAs were BERT or RoBERTa look-alikes, the declared base unchecked
    (encoder_like("layoutlmv3.", 12, 768), "microsoft/layoutlmv3-base", "microsoft/layoutlmv3-base"),
    (encoder_like("layoutlm.", 24, 1024), "microsoft/layoutlm-large-uncased", "microsoft/layoutlm-large-uncased"),
    # the fine-tunes NLP courses start from (NER, emotions, long documents, tweets)
    (encoder_like("longformer.", 12, 768), "allenai/longformer-base-4096", "allenai/longformer-base-4096"),
    (encoder_like("roberta.", 6, 768), "sentence-transformers/all-distilroberta-v1", "distilbert/distilroberta-base"),
    (encoder_like("bert.", 12, 768), "dslim/bert-base-NER", "google-bert/bert-base-cased"),
    (encoder_like("roberta.", 12, 768), "vinai/bertweet-base", "vinai/bertweet-base"),
    (s2s_like(1024, 16), "google/pegasus-xsum", "google/pegasus-large"),  # summarization: was Whisper-medium's
]


@pytest.mark.parametrize("declared", ["bert-base-chinese", "bert-base-german-cased", "bert-base-german-dbmdz-uncased"])
def test_a_hub_id_from_before_organisations_is_written_as_declared(declared):
    """transformers' first models kept ids without an org (the Hub still resolves them): one the registry has no
    root for is a Hub id all the same, its family from its name, and written as declared; a made-up bare name is not."""
    r = classify(encoder_like("bert.", 12, 768), config={"base_model_name_or_path": declared})
    assert r.family == "bert" and r.base_model["id"] == declared and r.base_model["status"] == "declared"
    assert not r.conflicts
    mine = classify(encoder_like("bert.", 12, 768), config={"base_model_name_or_path": "bert-base-mine"})
    assert mine.base_model["id"] is None  # a name no Hub id has: unchecked, nothing written


def test_an_opus_mt_pair_the_registry_lacks_is_a_marian_and_written():
    """Every opus-mt model has whisper-base's shapes: the declared language pair puts it in Marian's family (its
    best root leads the candidates, not whisper-base's, which has the larger prior) and is written as declared."""
    r = classify(s2s_like(512, 6), config={"base_model_name_or_path": "Helsinki-NLP/opus-mt-de-en"})
    assert r.family == "marian" and r.root.startswith("Helsinki-NLP/opus-mt-") and not r.conflicts
    assert r.base_model["id"] == "Helsinki-NLP/opus-mt-de-en"
    bare = classify(s2s_like(512, 6))  # no declaration: Whisper is likelier, not certain
    assert bare.family == "whisper" and bare.family_confidence < 0.8 and bare.base_model["id"] is None
    # names, sizes and a declared root that fits them agree: 0.8, not the 0.6 of a family-level choice
    whisper = classify(s2s_like(512, 6), config={"base_model_name_or_path": "openai/whisper-base"})
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
        (_glm_like(40, 4608, False), "THUDM/glm-4-9b-chat", "THUDM/glm-4-9b-chat"),  # ChatGLM3's widths, 40 layers
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
    # ModelScope's id for it (ZhipuAI/chatglm3-6b) is no Hub id: the Hub's is written
    scope = classify(_glm_like(28, 4608, False), config={"base_model_name_or_path": "ZhipuAI/chatglm3-6b"})
    assert scope.base_model["id"] == "THUDM/chatglm3-6b" and not scope.conflicts, scope.base_model


def test_glm4_in_transformers_layout_is_glm4_9b():
    """GLM-4-9B's weights as transformers lays them out (`THUDM/glm-4-9b-chat-hf`: q_proj to o_proj with 2 key/value
    heads of 128, a fused gate_up_proj) were LLaMA at 0.3 with no root; a declaration of that repo is written as it
    is (the -hf repo holds the same model). GLM-4-9B-0414, pretrained apart in the same shapes and layout (with norms
    after attention and the MLP), is a root beside it: the weights leave both, a declaration names one."""
    lora = {}
    for i in range(40):
        lora[f"base_model.model.model.layers.{i}.self_attn.q_proj"] = (4096, 4096)
        lora[f"base_model.model.model.layers.{i}.self_attn.v_proj"] = (256, 4096)
        lora[f"base_model.model.model.layers.{i}.mlp.gate_up_proj"] = (27392, 4096)
    r = classify(lora, config={"base_model_name_or_path": "THUDM/glm-4-9b-chat-hf"})
    assert r.family == "chatglm" and r.root == "THUDM/glm-4-9b-chat" and not r.conflicts, r.evidence
    assert r.base_model["id"] == "THUDM/glm-4-9b-chat-hf"
    bare = classify(lora)
    assert bare.family == "chatglm" and bare.base_model["id"] is None  # every GLM-4 9B root has these shapes
    assert {"THUDM/glm-4-9b", "THUDM/glm-4-9b-chat", "THUDM/GLM-4-9B-0414"} == {c["id"] for c in bare.candidates}
    z1 = classify(lora, config={"base_model_name_or_path": "THUDM/GLM-4-9B-0414"})
    assert z1.base_model["id"] == "THUDM/GLM-4-9B-0414" and not z1.conflicts
    # in ChatGLM's own layout (fused query_key_value) only GLM-4-9B fits: 0414 was never published so
    chatglm_layout = classify(_glm_like(40, 4608, False))
    assert {c["id"] for c in chatglm_layout.candidates} == {"THUDM/glm-4-9b", "THUDM/glm-4-9b-chat"}


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
    assert classify(speech_like("wav2vec2.", 12, 768)).family == "wav2vec2"
    dino = classify(dino_like("dinov2.", 12, 768))
    assert dino.family == "dinov2" and dino.root == "facebook/dinov2-base"
    bare = classify(dino_like("", 12, 768))  # no model prefix: ViT-B and DINOv2-B share every shape
    assert {"google/vit-base-patch16-224-in21k", "facebook/dinov2-base"} <= {c["id"] for c in bare.candidates}
    assert bare.base_model["id"] is None
    assert classify(encoder_like("esm.", 12, 480)).root == "facebook/esm2_t12_35M_UR50D"


@pytest.mark.parametrize("lora, declared, root", SMALL_BASES, ids=[d for _, d, _ in SMALL_BASES])
def test_a_popular_small_base_is_checked_and_written(lora, declared, root):
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.root == root and not r.conflicts, (r.root, r.conflicts)
    assert r.base_model["id"] == declared and r.base_model["root"] == root and r.base_model["status"] == "declared"


@pytest.mark.parametrize(
    "lora, declared",
    [
        (llama_like(28, 3584, 512), "Qwen/Qwen2.5-Coder-1.5B-Instruct"),  # was written: "fits its family"
        (llama_like(32, 960, 320), "HuggingFaceTB/SmolLM-135M"),
        (neox_like(24, 2048), "EleutherAI/pythia-1b"),  # pythia-1.4b's 24 blocks: the 1b has 16
        (encoder_like("bert.", 12, 384), "BAAI/bge-base-en-v1.5"),
    ],
)
def test_a_small_base_of_another_size_is_a_conflict(lora, declared):
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.base_model["id"] is None and r.base_model["status"] == "contradicted" and r.conflicts, r.base_model


@pytest.mark.parametrize(
    "lora, declared",
    [
        (llama_like(28, 3584, 512), "someorg/Qwen2.5-1.5B-sft"),  # Qwen2.5-7B's shapes
        (llama_like(32, 4096, 4096), "someorg/llama-2-13b-base-v2"),  # Llama 2 7B's
        (llama_like(36, 4096, 1024), "someorg/mistral-7b-x"),  # Qwen3-8B's: no Mistral 7B has 36 blocks
    ],
)
def test_an_unknown_model_whose_name_states_another_size_is_a_conflict(lora, declared):
    """The registry's models of the name's family and size do not fit, and the roots that fit state another size:
    before, the card got `base_model: someorg/Qwen2.5-1.5B-sft` on 7B weights ("the weights fit its family")."""
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.base_model["id"] is None and r.base_model["status"] == "contradicted", r.base_model
    assert any(declared in c for c in r.conflicts), r.conflicts


def test_an_unknown_model_of_a_family_the_names_allow_is_not_ruled_out_by_another_family_s_sizes():
    """A Gemma-named model the registry lacks, in Qwen3-8B's attention shapes to the block (as Ministral 8B was,
    under Mistral's name, before the registry had it): before, its adapter's declaration was "ruled out" (conflict
    "the weights are Qwen3") and the family Qwen3 at 1.0, on the registry's ignorance alone."""
    r = classify(llama_like(36, 4096, 1024), config={"base_model_name_or_path": "someorg/Gemma-8B-36L-Instruct"})
    assert not r.conflicts and r.base_model["status"] == "unchecked" and r.base_model["id"] is None
    assert r.family == "qwen3" and r.family_confidence <= 0.5 and r.confidence <= 0.5
    assert any("does not rule it out" in e for e in r.evidence)
    # where no known root fits at all, a name's size is no evidence against it
    open_llama = llama_like(26, 3200, 3200)  # OpenLLaMA 3B fits no known root: no Llama 3.2 3B rules it out
    r = classify(open_llama, config={"base_model_name_or_path": "openlm-research/open_llama_3b"})
    assert not r.conflicts and r.base_model["id"] == "openlm-research/open_llama_3b"


@pytest.mark.parametrize(
    "lora, declared, written",
    [
        (llama_like(40, 5120, 5120), "Qwen/Qwen1.5-14B-Chat", None),  # Llama 2 13B's shapes; Qwen2.5-14B's are GQA
        (llama_like(28, 3072, 1024), "tiiuae/Falcon3-7B-Instruct", "tiiuae/Falcon3-7B-Instruct"),  # LLaMA's layout
    ],
)
def test_a_size_is_its_own_model_line_s(lora, declared, written):
    """A name's size was checked against the registry's models of its family and size whatever their line: a
    Qwen1.5-14B adapter was "no Qwen2 model of its size" (Qwen2.5-14B has grouped key-value heads, Qwen1.5-14B none)
    and "the weights are LLaMA"; a Falcon3-7B one (LLaMA's layout, 3072 wide) "no LLaMA model of its size" (Llama 2
    7B). Each is a model the registry lacks, which its sizes do not rule out: no conflict."""
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert not r.conflicts and r.base_model["id"] == written, (r.conflicts, r.base_model)


def test_the_registry_holds_each_root_once_and_each_name_of_one_root():
    """roots.json is data a contributor edits by hand: a root entered twice (UMT5-small and -base once were) made
    its own weights "fit 2 known roots", so no base_model was written for either."""
    data = roots()
    ids = [r["id"].lower() for r in data["roots"]]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    owner: dict[str, str] = {}
    for r in data["roots"]:
        for name in [r["id"], *r.get("aliases", []), *r.get("names", [])]:
            assert owner.setdefault(name.lower(), r["id"]) == r["id"], f"{name} names two roots"


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


def test_an_adapter_on_every_block_is_likelier_than_one_that_skips_some():
    """An adapter touches every block of its model far more often than some (all 37 realzoo adapters that count
    blocks do). A Llama-3.2-1B LoRA (16 blocks) also fits SmolLM3-3B's widths, with 36 (and Granite 3's 2B, with 40,
    and Gemma 3n E2B's, with 30): that fit took a third of the family (Llama at 0.667, with three look-alikes of
    more blocks; 0.74 with four); and a LLaMA-style LoRA whose widths fit only a root with more blocks than it touches
    was that root's family at 1.0, though an architecture the registry lacks, in those widths and depth, is likelier."""
    # (0.64: Granite 4.0 1B and its base, 40 blocks, and Hunyuan-1.8B and its base, 32, look alike too)
    llama = classify(llama_like(16, 2048, 512))
    assert llama.family == "llama" and llama.family_confidence >= 0.6, llama.family_confidence
    assert all(c["score"] < llama.candidates[0]["score"] / 4 for c in llama.candidates if "Llama-3.2" not in c["id"])
    short = classify(llama_like(26, 2048, 512))  # SmolLM3-3B's widths, 26 of its 36 blocks (GLM-ASR Nano has 28)
    assert short.family == "smollm3" and short.family_confidence <= 0.5 and short.confidence <= 0.5
    assert any("more blocks than the adapter touches" in e for e in short.evidence)
    assert short.base_model["id"] is None
    # metadata naming the root vouches for an adapter on some blocks
    declared = classify(llama_like(26, 2048, 512), config={"base_model_name_or_path": "HuggingFaceTB/SmolLM3-3B"})
    assert declared.family_confidence >= 0.8 and declared.base_model["id"] == "HuggingFaceTB/SmolLM3-3B"
    # and names that place one family alone keep it: ModernBERT's fused `attn.Wqkv` on 20 of ModernBERT-base's 22
    modern = {f"base_model.model.model.layers.{i}.attn.Wqkv": (2304, 768) for i in range(20)}
    assert classify(modern).family == "modernbert" and classify(modern).family_confidence >= 0.8

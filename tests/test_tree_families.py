"""The newer and multimodal families (Gemma 3, FLUX Fill, Qwen2.5-VL, Qwen3-MoE, Mixtral, Swin, BLIP, Llama 3.2
Vision, DeBERTa, CodeGen, MusicGen...): an adapter names its own model, and names that say another
architecture are not taken at their word."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.classify import classify
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import encoder_like, llama_like, lora_like, module_shapes, neox_like, saved_shapes

torch.set_num_threads(1)


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
    lora = llama_like(layers, hidden, kv_dim, q_dim)
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.root == root and r.base_model["id"] == declared and not r.conflicts, (r.root, r.base_model)
    assert "not in the registry" not in r.base_model["reason"]  # checked against the root's shapes
    wrong = classify(lora, config={"base_model_name_or_path": "meta-llama/Llama-3.1-8B"})
    assert wrong.base_model["id"] is None and wrong.conflicts


@pytest.mark.parametrize(
    "shapes, declared, root, look_alike",
    [  # published configs: layers, hidden, heads x head_dim, key/value heads x head_dim
        ((80, 8192, 8192, 1024), "meta-llama/Llama-2-70b-chat-hf", "meta-llama/Llama-2-70b-chat-hf",
         "meta-llama/Llama-3.1-70B"),
        ((80, 8192, 8192, 1024), "meta-llama/Meta-Llama-3-70B-Instruct", "meta-llama/Meta-Llama-3-70B-Instruct",
         "meta-llama/Llama-3.1-70B"),
        ((46, 4608, 4096, 2048), "google/gemma-2-27b-it", "google/gemma-2-27b-it", None),
        ((80, 8192, 8192, 1024), "Qwen/Qwen2-72B-Instruct", "Qwen/Qwen2-72B", "Qwen/Qwen2.5-72B"),
    ],
)  # fmt: skip
def test_the_70b_class_bases_of_2023_and_2024_are_roots(shapes, declared, root, look_alike):
    """Llama 2 70B, Llama 3 70B, Gemma 2 27B and Qwen2 72B, among the most adapted large bases, had no roots: their
    adapters were read as Llama 3.1 70B's or Qwen2.5 72B's look-alikes, and one declaring its base got none written
    ("not in the registry"). Their declarations are checked now; the weights alone write none (a base, its tuned
    model and their look-alikes share every shape)."""
    layers, hidden, q_dim, kv_dim = shapes
    lora = llama_like(layers, hidden, kv_dim, q_dim)
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.root == root and r.base_model["id"] == declared and not r.conflicts, (r.root, r.base_model)
    assert "not in the registry" not in r.base_model["reason"]
    alone = classify(lora)  # the weights alone: its look-alikes (Llama 3.1 70B, Qwen2.5 72B) fit as well
    assert alone.base_model["id"] is None and (look_alike is None or len(alone.candidates) > 1), alone.candidates
    wrong = classify(lora, config={"base_model_name_or_path": "google/gemma-2-9b"})
    assert wrong.base_model["id"] is None and wrong.conflicts


# (layers, hidden, heads x head_dim, key/value heads x head_dim), the declared model, the root it is checked against
TUNED_FROM_A_ROOT = [  # each model's card names the model it was tuned from
    ((40, 5120, 4096, 1024), "mistralai/Devstral-Small-2505", "mistralai/Mistral-Small-24B-Base-2501"),
    ((40, 5120, 4096, 1024), "mistralai/Mistral-Small-3.2-24B-Instruct-2506",
     "mistralai/Mistral-Small-24B-Base-2501"),
    ((80, 8192, 8192, 1024), "Qwen/Qwen2.5-VL-72B-Instruct", "Qwen/Qwen2.5-72B"),
    ((32, 4096, 4096, 1024), "meta-llama/Llama-Guard-3-8B", "meta-llama/Llama-3.1-8B"),
    ((32, 4096, 4096, 1024), "intfloat/e5-mistral-7b-instruct", "mistralai/Mistral-7B-v0.1"),
    ((40, 5120, 5120, 5120), "codellama/CodeLlama-13b-Instruct-hf", "meta-llama/Llama-2-13b-hf"),
    ((60, 7168, 7168, 1024), "01-ai/Yi-1.5-34B-Chat", "01-ai/Yi-1.5-34B"),
]  # fmt: skip
BASES_OF_2024_AND_2025 = [  # published configs
    ((18, 2048, 2048, 1024), "tiiuae/Falcon3-1B-Instruct", "tiiuae/Falcon3-1B-Instruct"),
    ((22, 3072, 3072, 1024), "tiiuae/Falcon3-3B-Base", "tiiuae/Falcon3-3B-Base"),
    ((28, 3072, 3072, 1024), "tiiuae/Falcon3-7B-Instruct", "tiiuae/Falcon3-7B-Instruct"),
    ((40, 3072, 3072, 1024), "unsloth/Falcon3-10B-Instruct-bnb-4bit", "tiiuae/Falcon3-10B-Instruct"),
    ((48, 4096, 4096, 512), "01-ai/Yi-1.5-9B-Chat", "01-ai/Yi-1.5-9B"),
    ((30, 4096, 4096, 4096), "deepseek-ai/deepseek-llm-7b-chat", "deepseek-ai/deepseek-llm-7b-base"),
    ((95, 8192, 8192, 1024), "deepseek-ai/deepseek-llm-67b-base", "deepseek-ai/deepseek-llm-67b-base"),
    ((32, 3072, 4096, 1024), "nvidia/Llama-3.1-Minitron-4B-Width-Base", "nvidia/Llama-3.1-Minitron-4B-Width-Base"),
    ((40, 4096, 4096, 1024), "nvidia/Mistral-NeMo-Minitron-8B-Instruct", "nvidia/Mistral-NeMo-Minitron-8B-Base"),
    ((42, 4096, 4096, 1024), "utter-project/EuroLLM-9B-Instruct", "utter-project/EuroLLM-9B"),
    ((24, 2048, 2048, 1024), "utter-project/EuroLLM-1.7B", "utter-project/EuroLLM-1.7B"),
    ((32, 4096, 4096, 1024), "BSC-LT/salamandra-7b-instruct", "BSC-LT/salamandra-7b"),
    ((24, 2048, 2048, 2048), "BSC-LT/salamandra-2b", "BSC-LT/salamandra-2b"),
    ((50, 4096, 4096, 1024), "speakleash/Bielik-11B-v2.3-Instruct", "speakleash/Bielik-11B-v2"),
    ((32, 4096, 4096, 4096), "Qwen/Qwen2-Audio-7B-Instruct", "Qwen/Qwen2-Audio-7B-Instruct"),
]  # fmt: skip
POPULAR_FINE_TUNES = [  # of the model each was tuned from
    ((32, 4096, 4096, 1024), "allenai/Llama-3.1-Tulu-3-8B", "meta-llama/Llama-3.1-8B"),
    ((80, 8192, 8192, 1024), "nvidia/Llama-3.1-Nemotron-70B-Instruct-HF", "meta-llama/Llama-3.1-70B-Instruct"),
    ((32, 4096, 4096, 1024), "nvidia/Llama-3.1-Nemotron-Nano-8B-v1", "meta-llama/Llama-3.1-8B-Instruct"),
    ((32, 3072, 4096, 1024), "nvidia/Llama-3.1-Nemotron-Nano-4B-v1.1", "nvidia/Llama-3.1-Minitron-4B-Width-Base"),
    ((32, 4096, 4096, 1024), "openchat/openchat-3.5-0106", "mistralai/Mistral-7B-v0.1"),
    ((32, 4096, 4096, 1024), "berkeley-nest/Starling-LM-7B-alpha", "mistralai/Mistral-7B-v0.1"),
    ((32, 4096, 4096, 1024), "BioMistral/BioMistral-7B", "mistralai/Mistral-7B-Instruct-v0.1"),
    ((32, 4096, 4096, 1024), "princeton-nlp/Llama-3-Instruct-8B-SimPO", "meta-llama/Meta-Llama-3-8B-Instruct"),
    ((40, 5120, 5120, 5120), "WizardLMTeam/WizardLM-13B-V1.2", "meta-llama/Llama-2-13b-hf"),
    ((32, 4096, 4096, 4096), "epfl-llm/meditron-7b", "meta-llama/Llama-2-7b-hf"),
    ((34, 2560, 2048, 1024), "google/medgemma-4b-it", "google/gemma-3-4b-pt"),
    ((62, 5376, 4096, 2048), "google/medgemma-27b-text-it", "google/gemma-3-27b-pt"),
    ((40, 5120, 5120, 5120), "NousResearch/Nous-Hermes-Llama2-13b", "meta-llama/Llama-2-13b-hf"),
    ((32, 4096, 4096, 1024), "Nexusflow/Starling-LM-7B-beta", "mistralai/Mistral-7B-v0.1"),
    ((64, 5120, 5120, 1024), "Qwen/QwQ-32B-Preview", "Qwen/Qwen2.5-32B-Instruct"),
    ((28, 1536, 1536, 256), "agentica-org/DeepScaleR-1.5B-Preview", "Qwen/Qwen2.5-1.5B"),
    ((80, 8192, 8192, 1024), "allenai/Llama-3.1-Tulu-3-70B", "meta-llama/Llama-3.1-70B"),
    ((32, 4096, 4096, 4096), "ise-uiuc/Magicoder-S-DS-6.7B", "deepseek-ai/deepseek-coder-6.7b-base"),
    ((30, 4096, 4096, 4096), "deepseek-ai/Janus-Pro-7B", "deepseek-ai/deepseek-llm-7b-base"),
]  # fmt: skip


@pytest.mark.parametrize("shapes, declared, root", TUNED_FROM_A_ROOT + BASES_OF_2024_AND_2025 + POPULAR_FINE_TUNES)
def test_a_declared_model_the_registry_knows_is_checked_against_its_root(shapes, declared, root):
    """Models adapters name as their base, which the registry lacked, so their shapes went unchecked: Devstral,
    Mistral Small 3.1 and 3.2, Qwen2.5-VL 72B, Llama Guard 3, E5-Mistral, Code Llama 13B and Yi-1.5 34B's chat model
    (their cards got no base_model); Falcon3 (heads of 256), Yi 9B and Yi-1.5 9B (Yi 6B upscaled to 48 blocks),
    DeepSeek-LLM 7B and 67B, NVIDIA's Minitron 4B (width) and Mistral-NeMo-Minitron 8B, EuroLLM, Salamandra and
    Bielik 11B (no roots); and fine-tunes whose names state no family (OpenChat, Starling, WizardLM) or no size the
    registry has, written unchecked on any weights. Each is a root or a derivative of the one it was tuned from now:
    written as declared on its shapes, a conflict on another model's (Gemma 2 2B's)."""
    layers, hidden, q_dim, kv_dim = shapes
    r = classify(llama_like(layers, hidden, kv_dim, q_dim), config={"base_model_name_or_path": declared})
    assert r.root == root and r.base_model["id"] == declared and not r.conflicts, (r.root, r.base_model)
    assert "not in the registry" not in r.base_model["reason"]  # checked against the root's shapes
    wrong = classify(llama_like(26, 2304, 1024, 2048), config={"base_model_name_or_path": declared})
    assert wrong.base_model["id"] is None and wrong.conflicts, wrong.base_model


def test_internvl2_5_is_checked_against_its_language_model():
    """InternVL 2.5 pairs its vision tower with InternLM2.5 (8B) or Qwen2.5 (1B to 78B): an adapter declaring one
    had its shapes unchecked. Each is a derivative of its language model now, as InternVL3 and 3.5 are."""
    internlm = {f"base_model.model.language_model.model.layers.{i}.attention.wqkv": (6144, 4096) for i in range(32)}
    qwen = {f"base_model.model.language_model.model.layers.{i}.self_attn.{m}": shape
            for i in range(24) for m, shape in (("q_proj", (896, 896)), ("v_proj", (128, 896)))}  # fmt: skip
    for lm, declared, other in ((internlm, "OpenGVLab/InternVL2_5-8B", "OpenGVLab/InternVL2_5-1B"),
                                (qwen, "OpenGVLab/InternVL2_5-1B", "OpenGVLab/InternVL2_5-8B")):  # fmt: skip
        r = classify(lm, config={"base_model_name_or_path": declared})
        assert r.base_model["id"] == declared and r.base_model["status"] == "declared" and not r.conflicts
        assert classify(lm, config={"base_model_name_or_path": other}).conflicts


def test_datagemma_is_checked_as_gemma_2_27b_it():
    """DataGemma's line ("datagemma") is not Gemma 2's, so its stated 27B was not checked: declared on Gemma 2 9B's
    weights it was written. It is a derivative of gemma-2-27b-it now."""
    declared = {"base_model_name_or_path": "google/datagemma-rig-27b-it"}
    wrong = classify(llama_like(42, 3584, 2048, 4096), config=declared)  # Gemma 2 9B's attention
    assert wrong.base_model["id"] is None and wrong.conflicts
    right = classify(llama_like(46, 4608, 2048, 4096), config=declared)  # Gemma 2 27B's
    assert right.base_model["id"] == "google/datagemma-rig-27b-it" and not right.conflicts


def test_what_places_a_model_is_listed_before_the_families_its_names_drop():
    """Every LLaMA-style file drops CSM (whose checkpoints hold `backbone_model.`): that line came third in every such
    report, before the shapes that place the model, and a card's six lines of evidence lost one of them to it. It
    comes last where no CSM is of the file's sizes, and stays among the names where one is (Llama 3.2 1B's)."""
    placing = ("shapes:", "ruled out", "weights cannot")
    for lora, csm_fits in ((llama_like(24, 896, 128), False), (llama_like(16, 2048, 512), True)):  # Qwen2.5-0.5B's
        ev = classify(lora).evidence
        dropped = [i for i, e in enumerate(ev) if e.startswith("names: no key of")]
        assert dropped and "CSM" in ev[dropped[0]], ev
        assert all((dropped[0] < i) == csm_fits for i, e in enumerate(ev) if e.startswith(placing)), ev


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


def _qwen3_moe(hidden: int, layers: int, heads: int, expert_ffn: int) -> dict:
    """Module shapes of a Qwen3 mixture (4 key/value heads of 128) built by transformers on meta, with 4 experts, not
    128: their shapes are the same."""
    import transformers as tf

    config = tf.Qwen3MoeConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                               num_key_value_heads=4, head_dim=128, moe_intermediate_size=expert_ffn, num_experts=4,
                               num_experts_per_tok=2, vocab_size=151936)  # fmt: skip
    with torch.device("meta"):
        return module_shapes(tf.Qwen3MoeForCausalLM(config))


def test_a_qwen3_moe_lora_names_the_30b_a3b_model_by_its_attention():
    """Qwen3-30B-A3B (a mixture of experts: 32 heads of 128 at 2048 wide) had no root: an adapter declaring it, or
    unsloth's re-upload, was written unchecked. Its experts are no role of the family; its attention places it."""
    shapes = _qwen3_moe(hidden=2048, layers=48, heads=32, expert_ffn=768)
    lora = lora_like(shapes, "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", prefix="base_model.model.")
    r = classify(lora, config={"base_model_name_or_path": "unsloth/Qwen3-30B-A3B-bnb-4bit"})
    assert r.family == "qwen3" and r.root == "Qwen/Qwen3-30B-A3B" and not r.conflicts
    assert r.base_model["id"] == "unsloth/Qwen3-30B-A3B-bnb-4bit"
    wrong = classify(lora, config={"base_model_name_or_path": "Qwen/Qwen3-1.7B"})
    assert wrong.base_model["id"] is None and wrong.conflicts


def test_qwen3_235b_a22b_is_a_root_named_by_its_attention():
    """Qwen3-235B-A22B (64 heads and 4 key/value heads of 128 at 4096 wide, 94 layers) had no root: an adapter
    declaring it, its 2507 releases or Qwen3-VL-235B-A22B was written unchecked, and one declaring Qwen3-235B-A22B on
    another model's weights too."""
    shapes = _qwen3_moe(hidden=4096, layers=94, heads=64, expert_ffn=1536)
    lora = lora_like(shapes, "q_proj", "k_proj", "v_proj", "o_proj", prefix="base_model.model.")
    for declared in ("Qwen/Qwen3-235B-A22B-Instruct-2507", "Qwen/Qwen3-VL-235B-A22B-Thinking", "Qwen/Qwen3-235B-A22B"):
        r = classify(lora, config={"base_model_name_or_path": declared})
        assert r.family == "qwen3" and r.root == "Qwen/Qwen3-235B-A22B" and not r.conflicts, (declared, r.conflicts)
        assert r.base_model["id"] == declared
    assert classify(lora).root == "Qwen/Qwen3-235B-A22B"  # (no other root has 94 layers of these sizes)
    wrong = classify(llama_like(48, 2048, 512, q_dim=4096), config={"base_model_name_or_path": "Qwen/Qwen3-235B-A22B"})
    assert wrong.base_model["id"] is None and wrong.conflicts


def _mixtral_lora(hidden: int, q: int, kv: int, ffn: int, layers: int, experts: int = 8, moe: bool = True) -> dict:
    """A PEFT LoRA on a mixture's attention and, with `moe`, every expert's w1 / w2 / w3, under the names
    transformers saves a Mixtral with (`block_sparse_moe.experts.N.w1`: tests below check them)."""
    out = {}
    for i in range(layers):
        p = f"base_model.model.model.layers.{i}."
        out |= {p + "self_attn.q_proj": (q, hidden), p + "self_attn.o_proj": (hidden, q)}
        out |= {p + "self_attn.k_proj": (kv, hidden), p + "self_attn.v_proj": (kv, hidden)}
        for e in range(experts if moe else 0):
            w = p + f"block_sparse_moe.experts.{e}."
            out |= {w + "w1": (ffn, hidden), w + "w3": (ffn, hidden), w + "w2": (hidden, ffn)}
    return out


def test_a_saved_mixtral_is_read_as_mixtral(tmp_path):
    """Mixtral had no family: its sparse mixture (`block_sparse_moe.experts.N.w1`, as transformers writes a
    Mixtral to disk) matched no name, so it was read as a LLaMA or Mistral by its attention, 3% of it."""
    import transformers as tf

    from hfprobe.tree.inspect import inspect_source

    config = tf.MixtralConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                              num_key_value_heads=2, num_local_experts=4, vocab_size=100)  # fmt: skip
    tf.MixtralForCausalLM(config).save_pretrained(tmp_path)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "mixtral" and not report["conflicts"], report["root"]["evidence"]
    assert report["base_model"]["id"] is None  # (its sizes are no published Mixtral's)


def test_a_mixtral_lora_is_checked_by_its_experts_sizes():
    """A LoRA on Mixtral 8x7B's attention and experts declaring it was written unchecked under the family
    "mistral" ("its shapes are not in the registry"), and one declaring Mistral 7B went unquestioned. Now the
    experts' sizes (8 of 14336) place it in Mixtral 8x7B's tree, and a Mistral 7B's dense MLP rules Mixtral out. A
    conflict shows the shape only the family's roots have (`fit.telling`), not an attention shape Mistral 7B shares."""
    lora = _mixtral_lora(4096, 4096, 1024, 14336, 32)
    r = classify(lora)
    assert r.family == "mixtral" and r.family_confidence == 1.0
    assert {c["id"] for c in r.candidates} == {"mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"}
    assert r.base_model["id"] is None  # the base and its instruct tune share every shape
    declared = classify(lora, config={"base_model_name_or_path": "unsloth/mixtral-8x7b-instruct-v0.1-bnb-4bit"})
    assert declared.root == "mistralai/Mixtral-8x7B-Instruct-v0.1" and not declared.conflicts
    assert declared.base_model["id"] == "unsloth/mixtral-8x7b-instruct-v0.1-bnb-4bit"
    wrong = classify(lora, config={"base_model_name_or_path": "mistralai/Mistral-7B-v0.1"})
    assert wrong.base_model["id"] is None and wrong.conflicts
    assert "block_sparse_moe.experts.0.w1 is 14336x4096" in wrong.conflicts[0]  # the shape no Mistral has, not k_proj's
    dense = _mixtral_lora(4096, 4096, 1024, 14336, 32, moe=False)  # Mistral 7B's attention and dense MLP:
    dense |= {f"base_model.model.model.layers.{i}.mlp.gate_proj": (14336, 4096) for i in range(32)}
    assert classify(dense, config={"base_model_name_or_path": "mistralai/Mixtral-8x7B-v0.1"}).conflicts


def test_mixtral_8x22b_and_codestral_22b_share_an_attention_and_their_mlps_tell_them_apart():
    """8x22B's attention (48 heads and 8 key/value heads of 128 at 6144 wide) is Codestral 22B's too, which the
    registry lacked: a Codestral LoRA on its attention was placed in Mixtral 8x22B's tree alone. Its attention alone
    leaves both (and CWM's, 64 blocks of that attention, whose first 56 an adapter may cover); its dense MLP or the
    mixture's experts decide."""
    attention = classify(_mixtral_lora(6144, 6144, 1024, 16384, 56, moe=False))
    listed = {c["id"] for c in attention.candidates}
    three = {"mistralai/Mixtral-8x22B-v0.1", "mistralai/Mixtral-8x22B-Instruct-v0.1", "mistralai/Codestral-22B-v0.1"}
    assert three <= listed and all(i.startswith("facebook/cwm") for i in listed - three), listed
    assert attention.base_model["id"] is None and attention.family_confidence < 0.9
    experts = classify(_mixtral_lora(6144, 6144, 1024, 16384, 56))
    assert experts.family == "mixtral" and "mistralai/Codestral-22B-v0.1" not in {c["id"] for c in experts.candidates}
    dense = _mixtral_lora(6144, 6144, 1024, 16384, 56, moe=False)
    dense |= {f"base_model.model.model.layers.{i}.mlp.gate_proj": (16384, 6144) for i in range(56)}
    r = classify(dense)
    assert r.family == "mistral" and r.root == "mistralai/Codestral-22B-v0.1"
    declared = classify(dense, config={"base_model_name_or_path": "mistralai/Codestral-22B-v0.1"})
    assert declared.base_model["id"] == "mistralai/Codestral-22B-v0.1" and not declared.conflicts
    assert classify(dense, config={"base_model_name_or_path": "mistralai/Mixtral-8x22B-v0.1"}).conflicts


def test_another_mixture_under_mixtral_s_names_fits_no_mixtral():
    """Phi-3.5-MoE saves its 16 experts of 6400 under Mixtral's names, on Mistral 7B's attention: no Mixtral's, but
    Phi-3.5-MoE's (a family since stop 83; its twin GRIN-MoE shares every size, so no base model is written)."""
    r = classify(_mixtral_lora(4096, 4096, 1024, 6400, 32, experts=16))
    assert r.family == "phimoe" and r.root == "microsoft/Phi-3.5-MoE-instruct", r.candidates
    assert {c["id"] for c in r.candidates} == {"microsoft/Phi-3.5-MoE-instruct", "microsoft/GRIN-MoE"}
    assert r.base_model["id"] is None


def test_gte_multilingual_is_not_written_as_its_english_sibling(tmp_path):
    """transformers' GTE port (model_type `gte`) is gte-multilingual-base, Alibaba's NewModel with XLM-R's 250k
    vocabulary: its LoRAs fit gte-base-en-v1.5 in every layer, and that, the one such root the registry had, was
    written as their base_model from the weights alone. A full checkpoint's vocabulary tells them apart."""
    import transformers as tf

    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    with torch.device("meta"):
        shapes = saved_shapes(tf.GteModel(tf.GteConfig()))  # (its defaults are gte-multilingual-base's)
    write_header(tmp_path / "full" / "model.safetensors", {k: ("F16", v) for k, v in shapes.items()}, data=False)
    full = inspect_source(str(tmp_path / "full"))
    assert full["family"] == "new" and full["base_model"]["id"] == "Alibaba-NLP/gte-multilingual-base"
    weights = {k.removesuffix(".weight"): v for k, v in shapes.items() if len(v) == 2 and "embed" not in k}
    r = classify(lora_like(weights, "", prefix="base_model.model."))
    assert r.family == "new" and r.base_model["id"] is None, r.base_model
    assert {c["id"] for c in r.candidates} == {"Alibaba-NLP/gte-base-en-v1.5", "Alibaba-NLP/gte-multilingual-base"}
    declared = classify(lora_like(weights, "", prefix="base_model.model."), config={"model_type": "gte"})
    assert declared.family_confidence == 1.0 and not declared.conflicts  # (an unknown model_type caps it at 0.5)


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
    llava = classify(llama_like(32, 4096, 4096), config={"base_model_name_or_path": "llava-hf/llava-1.5-7b-hf"})
    assert llava.base_model["id"] == "llava-hf/llava-1.5-7b-hf" and not llava.conflicts


def test_another_org_s_model_of_a_root_s_name_is_not_that_root_where_its_vocabulary_differs():
    """`klue/roberta-base` is a Korean RoBERTa of its own (32,000 tokens), not FacebookAI/roberta-base, whose repo
    name it shares: where its embedding is in the adapter, the name-only guess is dropped (written as declared,
    with no root, and no false "re-upload" reason); where it is not, the weights cannot tell, and the reason says
    mirror or namesake. Marked re-uploads keep the stricter reading (see the tests above)."""
    lora = encoder_like("roberta.", 12, 768)
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
        ("hfl/chinese-macbert-base", "bert"),  # knew: they were "an unknown family" and not written (IndoBERT,
        # PhoBERT and CamemBERT are roots now; declared, they are written as declared all the same)
        ("indobenchmark/indobert-base-p1", "bert"),
        ("allegro/herbert-base-cased", "bert"),
        ("vinai/phobert-base", "roberta"),
        ("almanach/camembert-base", "roberta"),
    ],
)
def test_a_national_bert_is_written_on_weights_of_its_family(declared, family):
    prefix = "roberta." if family == "roberta" else "bert."
    r = classify(encoder_like(prefix, 12, 768), config={"base_model_name_or_path": declared})
    assert r.family == family and not r.conflicts
    assert r.base_model["id"] == declared and r.base_model["status"] == "declared"


def test_bert_in_a_name_is_not_every_architecture_ending_in_bert():
    from hfprobe.tree.naming import resolve_name

    assert (
        resolve_name("albert-base-v2")[1] == "albert" and resolve_name("answerdotai/ModernBERT-base")[1] == "modernbert"
    )
    assert resolve_name("google/mobilebert-uncased")[1] == "mobilebert"  # its own architecture, a family now
    assert resolve_name("flaubert/flaubert_base_cased")[1] == "xlm"  # XLM's architecture, a family now
    # ConvBERT (`YituTech/conv-bert-base`, a family now) and the hyphenated spellings of MobileBERT / SqueezeBERT are
    # their own
    assert resolve_name("YituTech/conv-bert-base")[1] == "convbert"
    assert resolve_name("someone/mobile-bert-finetuned") == (None, None)
    assert resolve_name("dslim/bert-base-NER")[1] == "bert" and resolve_name("my-bert-model")[1] == "bert"


def test_a_word_in_a_name_of_another_modality_is_no_conflict_where_the_name_also_says_the_weights_family():
    """huBERT (`SZTAKI-HLT/hubert-base-cc`, Hungarian) is a BERT; "hubert" reads as the speech model HuBERT. On a
    BERT's layers its adapters were told they contradict their own base; the id now stays a claim the registry
    cannot check (nothing written, no conflict). A name with no word of the weights' family, or of the same
    modality, or a registry root of another family, still contradicts them."""
    weights = encoder_like("bert.", 12, 768)
    for declared in ("SZTAKI-HLT/hubert-base-cc", "NYTK/sentiment-hts5-hubert-hungarian"):
        r = classify(weights, config={"base_model_name_or_path": declared})
        assert r.family == "bert" and not r.conflicts and r.base_model["status"] == "unchecked", r.conflicts
        assert r.base_model["id"] is None and any("by a word in its name" in e for e in r.evidence)
    for declared in ("org/whisper-tiny-ft", "ai4bharat/indic-bert", "facebook/hubert-base-ls960"):
        r = classify(weights, config={"base_model_name_or_path": declared})
        assert r.conflicts and r.base_model["status"] == "contradicted", declared


def test_a_distilled_model_s_name_is_read_by_the_family_of_its_own_architecture():
    """`deepseek-ai/DeepSeek-R1-0528-Qwen3-8B` is DeepSeek-R1's reasoning distilled into Qwen3 8B: its name holds
    DeepSeek's words, then Qwen3's. An adapter on it (a Qwen3 8B's layers) was told it contradicts its own base, as
    DeepSeek-V2/V3's; the name's later family, whose roots the weights fit, now reads it, and its size is checked.
    A name whose only family does not fit, or whose second "family" is a word the first hint already read
    (`indic-bert`, an ALBERT), stays a conflict. (That model is a derivative of Qwen3-8B-Base since; a name of the
    same pattern the registry lacks stands in for it.)"""
    qwen3_8b, qwen3_4b = llama_like(36, 4096, 1024), llama_like(36, 2560, 1024, q_dim=4096)
    known = classify(qwen3_8b, config={"base_model_name_or_path": "deepseek-ai/DeepSeek-R1-0528-Qwen3-8B"})
    assert known.root == "Qwen/Qwen3-8B-Base" and not known.conflicts
    declared = "someorg/DeepSeek-R1-Qwen3-8B-reasoner"
    r = classify(qwen3_8b, config={"base_model_name_or_path": declared})
    assert r.family == "qwen3" and r.root == "Qwen/Qwen3-8B" and not r.conflicts, r.conflicts
    assert r.base_model["id"] == declared and r.base_model["status"] == "declared"
    assert any("then Qwen3" in e for e in r.evidence)
    smaller = classify(qwen3_4b, config={"base_model_name_or_path": declared})  # its 8B is no Qwen3-4B
    assert smaller.base_model["id"] is None and smaller.conflicts and "(8B)" in smaller.conflicts[0]
    assert smaller.root == "Qwen/Qwen3-4B"  # (not the declared model the weights rule out)
    wrong = classify(qwen3_8b, config={"base_model_name_or_path": "someorg/deepseek-v3-ft"})
    assert wrong.base_model["id"] is None and wrong.conflicts
    albert = classify(encoder_like("bert.", 12, 768), config={"base_model_name_or_path": "ai4bharat/indic-bert"})
    assert albert.base_model["id"] is None and albert.conflicts


def test_a_declared_model_of_a_size_the_weights_rule_out_is_no_candidate_root():
    """A model the registry lacks, named with a size (`someorg/Qwen3-8B-ft`) on a Qwen3-4B's layers, was the
    report's root at 0.54 ("the family agrees, shapes unchecked") while its conflict said no Qwen3 8B fits: the
    roots the weights fit lead now."""
    r = classify(llama_like(36, 2560, 1024, q_dim=4096), config={"base_model_name_or_path": "someorg/Qwen3-8B-ft"})
    assert r.conflicts and "(8B)" in r.conflicts[0] and r.base_model["id"] is None
    assert r.root == "Qwen/Qwen3-4B" and "someorg/Qwen3-8B-ft" not in [c["id"] for c in r.candidates]
    same = classify(llama_like(36, 2560, 1024, q_dim=4096), config={"base_model_name_or_path": "someorg/Qwen3-4B-ft"})
    assert not same.conflicts and same.base_model["id"] == "someorg/Qwen3-4B-ft"  # (a fine-tune of Qwen3-4B)
    assert "someorg/Qwen3-4B-ft" in [c["id"] for c in same.candidates]


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
    r = classify(encoder_like("bert.", 12, 768), config={"base_model_name_or_path": declared})
    assert not r.conflicts and r.family == "bert" and r.base_model["id"] == written, (r.conflicts, r.base_model)
    assert resolve_name("hfl/chinese-roberta-wwm-ext-large") == ("hfl/chinese-roberta-wwm-ext-large", "bert")
    assert resolve_name("ai4bharat/indic-bert")[1] == "albert" and resolve_name("csebuetnlp/banglabert")[1] == "electra"
    # a RoBERTa by name and architecture is still RoBERTa's: its declaration on BERT's weights a conflict
    r = classify(encoder_like("bert.", 12, 768), config={"base_model_name_or_path": "FacebookAI/roberta-base"})
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
    r = classify(encoder_like(prefix, layers, hidden), config={"base_model_name_or_path": declared})
    assert not r.conflicts and r.base_model["id"] == declared, (r.conflicts, r.base_model)


def test_bge_m3_s_long_position_table_tells_it_from_xlm_roberta_large():
    """A full checkpoint: bge-m3's 8,194 positions, where XLM-RoBERTa-large, whose layers it has, has 514."""
    shapes = {k.removeprefix("base_model.model."): v for k, v in encoder_like("roberta.", 24, 1024).items()}
    shapes["roberta.embeddings.word_embeddings"] = (250002, 1024)
    shapes["roberta.embeddings.position_embeddings"] = (8194, 1024)
    r = classify(shapes, params={k: a * b for k, (a, b) in shapes.items()})
    assert r.candidates[0]["id"] == "BAAI/bge-m3", r.candidates[:3]


def test_xlm_roberta_xl_is_a_root_and_esm2_3b_s_look_alike_is_not_written_for_it(tmp_path):
    """XLM-R XL's layers have every size of ESM-2 3B's (2560 wide, 10240 MLP, 36 layers): a LoRA on them was
    written `facebook/esm2_t36_3B_UR50D` from its weights alone, the one such root the registry had, and a full
    XLM-R XL checkpoint had no root. Its vocabulary tells them apart; its layers alone do not."""
    import transformers as tf

    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    with torch.device("meta"):
        shapes = saved_shapes(tf.XLMRobertaXLModel(tf.XLMRobertaXLConfig()))  # (its defaults are XLM-R XL's)
    write_header(tmp_path / "model.safetensors", {k: ("F16", v) for k, v in shapes.items()}, data=False)
    (tmp_path / "config.json").write_text('{"model_type": "xlm-roberta-xl"}')
    full = inspect_source(str(tmp_path))
    assert full["family"] == "roberta" and full["root"]["id"] == "facebook/xlm-roberta-xl", full["root"]
    lora = classify(encoder_like("", 36, 2560))  # query and value alone, under no model prefix
    assert {c["id"] for c in lora.candidates} >= {"facebook/xlm-roberta-xl", "facebook/esm2_t36_3B_UR50D"}
    assert lora.base_model["id"] is None
    declared = classify(
        encoder_like("roberta.", 48, 4096), config={"base_model_name_or_path": "facebook/xlm-roberta-xxl"}
    )
    assert declared.base_model["id"] == "facebook/xlm-roberta-xxl" and not declared.conflicts


def test_names_that_say_another_architecture_than_theirs():
    """A declared model the registry lacks gets its family from its name: where the name says another architecture
    than the model's (IDEA-CCNL's Erlangshen-Roberta is a BertModel; BigBird's `bigbird-roberta-base` a BigBird,
    saved under `bert.`), its adapter was "contradicted" ("says RoBERTa, but the weights are BERT"). BigBird is a
    family now (`tests/test_bigbird.py`): a LoRA on BERT-base's widths that declares its root is written."""
    bert = encoder_like("bert.", 12, 768)
    r = classify(bert, config={"base_model_name_or_path": "IDEA-CCNL/Erlangshen-Roberta-110M-Sentiment"})
    assert not r.conflicts and r.base_model["id"] == "IDEA-CCNL/Erlangshen-Roberta-110M-Sentiment"
    r = classify(bert, config={"base_model_name_or_path": "google/bigbird-roberta-base"})
    assert (
        not r.conflicts and r.base_model["status"] == "declared" and r.base_model["id"] == "google/bigbird-roberta-base"
    )
    families = {n: resolve_name(n)[1] for n in ("vinai/bartpho-syllable", "facebook/galactica-125m", "google/flan-ul2")}
    assert families == {"vinai/bartpho-syllable": "mbart", "facebook/galactica-125m": "opt", "google/flan-ul2": "t5"}


@pytest.mark.parametrize(
    "declared, shapes",
    [
        ("databricks/dolly-v2-3b", lambda: neox_like(32, 2560)),  # Pythia-2.8B's fine-tune
        ("togethercomputer/RedPajama-INCITE-Chat-3B-v1", lambda: neox_like(32, 2560)),
        ("deepseek-ai/deepseek-llm-7b-chat", lambda: llama_like(30, 4096, 4096)),
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
    r = classify(llama_like(18, 2048, 256), config={"base_model_name_or_path": "someone/gemma-2b-sft"})
    assert r.family == "gemma" and r.base_model["id"] == "someone/gemma-2b-sft" and not r.conflicts
    expected = {
        "someone/gemma-2b-sft": "gemma", "someone/gemma-2-9b-sft": "gemma2", "someone/gemma3-12b-x": "gemma3",
        "google/paligemma-3b-pt-224": "gemma", "google/paligemma2-3b-pt-224": "gemma2",
        "google/gemma-3n-E4B-it": "gemma3n",
        "microsoft/speecht5_tts": "speecht5",  # (a root now; once an architecture the registry lacked)
        "facebook/w2v-bert-2.0": "wav2vec2_bert",  # (likewise, since stop 75)
        # and which Falcon or Qwen: Falcon 3 is a LLaMA, Falcon Mamba a Mamba, Qwen1.5 a Qwen2
        "tiiuae/Falcon3-7B-Instruct": "llama", "tiiuae/falcon-mamba-7b": "mamba", "someone/falcon-7b-sft": "falcon",
        "someone/Qwen1.5-1.8B-sft": "qwen2",
    }  # fmt: skip
    assert {n: resolve_name(n)[1] for n in expected} == expected


# Names people declare as a base (adapter_config.json, a card, a trainer's header) that the registry lacks, and the
# family each is read as (families.json `name_hints`; None: an architecture the registry lacks). Each line was read
# wrong: as another family (its LoRA's declared base printed as a conflict) or as none (its base left unwritten).
DECLARED_NAMES = {
    # a family's later models: MedGemma, EmbeddingGemma... are Gemma 3's, TxGemma, DataGemma Gemma 2's (were Gemma 1's)
    "google/medgemma-4b-it": "gemma3",
    "google/embeddinggemma-300m": "gemma3",
    "google/shieldgemma-2-4b-it": "gemma3",
    "google/shieldgemma-2b": "gemma2",
    "google/txgemma-9b-chat": "gemma2",
    "google/datagemma-rig-27b-it": "gemma2",
    "google/t5gemma-2b-2b-ul2": "t5gemma",  # (a family since stop 84; its name said none before)
    "someone/vaultgemma-1b-sft": "vaultgemma",  # (google/vaultgemma-1b a root since stop 82)
    "microsoft/Phi-4-reasoning-plus": "phi3",
    "microsoft/Phi-3.5-MoE-instruct": "phimoe",
    "microsoft/Phi-3-small-8k-instruct": None,
    "microsoft/Phi-4-multimodal-instruct": None,
    "microsoft/layoutxlm-base": None,
    "chandar-lab/NeoBERT": None,
    "google/pegasus-x-base": "pegasus_x",  # (a family since stop 87; hinted as none before)
    "facebook/mms-tts-eng": "vits",  # (a family since stop 84; hinted as none before)
    "syscv-community/sam-hq-vit-base": "sam",
    # SDXL fine-tunes by "XL" as a word of its own, read after every other family's names (and as kohya records files)
    "RunDiffusion/Juggernaut-XL-v8": "sdxl",
    "SG161222/RealVisXL_V3.0": "sdxl",
    "ponyDiffusionV6XL_v6StartWithThisOne.safetensors": "sdxl",
    "realvisxlV40_v40Bakedvae.safetensors": "sdxl",
    "animagineXLV3_v30.safetensors": "sdxl",
    "someone/illustrious-mix-v2": "sdxl",
    "Lykon/dreamshaper-xl-v2-turbo": "sdxl",
    "someone/flan-t5-xl-sft": "t5",
    "transfo-xl/transfo-xl-wt103": None,
    "someone/model-4.0bpw-exl2": None,
    "facebook/DiT-XL-2-256": None,
    "DeepFloyd/IF-I-XL-v1.0": None,
    "purplesmartai/pony-v7-base": "auraflow",
    # SD's bare versions are read after every family's name (a text model's `…-v1-5` was SD 1.x)
    "someone/qwen2-chat-v2-1": "qwen2",
    "someone/whisper-small-v2-1": "whisper",
    "someone/my-lora-v1-5": "sd1",
    "sd-v1-5-inpainting.ckpt": "sd1",
    "hakurei/waifu-diffusion-v1-4": "sd2",
    "hakurei/waifu-diffusion": "sd1",
    "SG161222/Realistic_Vision_V4.0_noVAE": "sd1",
    "Lykon/dreamshaper-6": "sd1",
    "lllyasviel/sd-controlnet-canny": "sd1",
    # family words inside other words: t5 in `…-ft5` or resnet50, bart in bartowski, gpt-j in gpt-japanese, …
    "someone/llama-3-8b-ft5": "llama",
    "timm/resnet50.a1_in1k": "resnet",  # a root now; the "t5" inside its name never made it T5
    "someone/sst5-classifier": None,
    "timm/cpubone_b2pt5_dwnorm.untrained": None,  # a version's point (2.5), was T5
    "someone/gpt5-style-chat": None,
    "bartowski/granite-3.1-8b-instruct-GGUF": "granite",
    "someone/gpt-japanese-1b": None,
    "someone/taiwan-2-llm": None,
    "google/flan-t5-xl-x": "t5",
    "Rostlab/prot_t5_xl_uniref50": "t5",
    "Salesforce/codet5p-220m": "t5",
    "VietAI/vit5-base": "t5",
    "bigscience/T0pp": "t5",
    "someone/gpt-j-6b-lora": "gptj",
    "facebook/bart-large-cnn-x": "bart",
    "someone/wan2.1-lora": "wan",
    # names that said no family, or another: LLaMA's, Mistral's, Qwen's, GPT-NeoX's, BERT's and RoBERTa's models
    "01-ai/Yi-1.5-9B-Chat": "llama",
    "lmsys/vicuna-7b-v1.5-16k": "llama",
    "allenai/tulu-2-7b": "llama",
    "someone/tulu-mistral": "mistral",
    "deepseek-ai/deepseek-math-7b-rl": "llama",
    "Salesforce/codegen25-7b-multi": "llama",
    "HuggingFaceH4/zephyr-7b-alpha": "mistral",
    "stabilityai/stablelm-zephyr-3b": "stablelm",  # (no family until StableLM had its roots)
    "Qwen/Qwen-VL-Chat": "qwen",
    "facebook/opt-iml-1.3b": "opt",
    "nlpai-lab/kullm-polyglot-12.8b-v2": "gpt_neox",
    "intfloat/e5-large-v2": "bert",
    "allenai/specter2_base": "bert",
    "intfloat/e5-mistral-7b-instruct": "mistral",
    "BAAI/bge-large-zh": "bert",
    "thenlper/gte-small": "bert",
    "uklfr/gottbert-base": "roberta",
    "pdelobelle/robbert-v2-dutch-base": "roberta",
    "Musixmatch/umberto-commoncrawl-cased-v1": "roberta",
    "intfloat/multilingual-e5-large-instruct": "roberta",
    "sentence-transformers/paraphrase-xlm-r-multilingual-v1": "roberta",
    # trainers' header spellings (kohya's modelspec.architecture, musubi-tuner's)
    "stable-diffusion-v2-768-v/lora": "sd2",
    "stable-diffusion-v2-512/lora": "sd2",
    "hunyuan_video": "hunyuan_video",
    "z_image": "zimage",
    "auraflow/lora": "auraflow",
    "stable-diffusion-xl-v1-base/lora": "sdxl",
    "stable-diffusion-3-5-large/lora": "sd3",  # sd-scripts' SD 3.5 Large; the v1, v2 spelling of it too
    "stable-diffusion-v3-medium/lora": "sd3",
    "sd_v1": "sd1",
    # ComfyUI's file names for the models it loads (`lumina_2.safetensors`, `mochi_preview_bf16.safetensors`)
    "lumina_2_model_bf16.safetensors": "lumina2",
    "mochi_preview_bf16.safetensors": "mochi",
    # musubi-tuner's `ss_base_model_version` (its architectures' full names); FramePack is HunyuanVideo tuned
    "wan": "wan",
    "qwen_image_edit_plus": "qwen_image",
    "framepack": "hunyuan_video",
    "lllyasviel/FramePackI2V_HY": "hunyuan_video",
    "someone/taiwan": None,
    # timm's CLIP and SigLIP image towers, in timm's ViT layout (an adapter on one was a conflict: "CLIP, but ViT")
    "timm/vit_base_patch16_clip_224.openai": "vit",
    "timm/vit_so400m_patch14_siglip_384.webli": "vit",
    "timm/ViT-B-16-SigLIP": "siglip",  # open_clip's, hosted by timm: SigLIP's two towers
    # ai-toolkit's `ss_base_model_version`
    "wan_2.2_14b": "wan",
    "wan_2.1_1.3b": "wan",
    "sana": "sana",
    "someone/sanandreas-lora": None,
}


@pytest.mark.parametrize("name", sorted(DECLARED_NAMES))
def test_a_declared_name_the_registry_lacks_reads_as_its_architecture(name):
    assert resolve_name(name)[1] == DECLARED_NAMES[name]


_SDXL_ATTENTION = {
    f"unet.down_blocks.{b}.attentions.{a}.transformer_blocks.{t}.attn2.to_{m}": (w, 2048)
    for b, w, depth in ((1, 640, 2), (2, 1280, 10))
    for a in (0, 1)
    for t in range(depth)
    for m in "kv"
}


_TIMM_VIT_B = {
    f"base_model.model.blocks.{i}.attn.{m}": (d, 768) for i in range(12) for m, d in (("qkv", 2304), ("proj", 768))
}


@pytest.mark.parametrize(
    "declared, weights, family",
    [
        ("someone/mistral-7b-sft-v1-5", lambda: llama_like(32, 4096, 1024), "mistral"),  # was SD 1.x: a conflict
        ("someone/mistral-7b-checkpoint5", lambda: llama_like(32, 4096, 1024), "mistral"),  # was T5: a conflict
        ("uklfr/gottbert-base", lambda: encoder_like("roberta.", 12, 768), "roberta"),  # was BERT: a conflict
        ("google/medgemma-4b-it", lambda: llama_like(34, 2560, 1024, q_dim=2048), "gemma3"),  # Gemma 1: 0.5, unwritten
        ("google/translategemma-4b-it", lambda: llama_like(34, 2560, 1024, q_dim=2048), "gemma3"),
        ("RunDiffusion/Juggernaut-XL-v8", lambda: _SDXL_ATTENTION, "sdxl"),  # no family: unwritten
        ("SG161222/RealVisXL_V3.0", lambda: _SDXL_ATTENTION, "sdxl"),
        ("timm/vit_base_patch16_clip_224.openai", lambda: _TIMM_VIT_B, "vit"),  # was "CLIP, but ViT": a conflict
        ("timm/vit_base_patch16_siglip_224.webli", lambda: _TIMM_VIT_B, "vit"),
    ],
)
def test_a_lora_declaring_such_a_name_gets_it_as_its_base(declared, weights, family):
    r = classify(weights(), config={"base_model_name_or_path": declared})
    assert r.family == family and not r.conflicts and r.base_model["id"] == declared, (r.conflicts, r.base_model)


def test_an_encoder_saved_without_its_model_prefix_is_no_llama(tmp_path):
    """Whisper's encoder saved alone (`conv1`, `layers.N.self_attn.q_proj`, `fc1`, `self_attn_layer_norm`, as audio
    models reuse it) matched the LLaMA-style `layers.N.self_attn.q_proj` rule: LLaMA at 0.30 and a CONFLICT with its
    own `model_type: whisper`. BART-style layer names exclude the LLaMA-style families; a LoRA of the encoder is
    Whisper's (the sweep's Qwen2-Audio, Voxtral and Audio Flamingo 3 encoders, whisper-large-v3's)."""
    import json

    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    config = WhisperConfig(d_model=384, encoder_layers=4, encoder_attention_heads=6, encoder_ffn_dim=1536)
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in WhisperEncoder(config).state_dict().items()}
    write_header(tmp_path / "model.safetensors", {k: ("F16", s) for k, s in shapes.items()}, data=False)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    report = inspect_source(str(tmp_path))
    assert report["family"] != "llama" and not report["conflicts"], (report["family"], report["conflicts"])
    assert any("BART and Whisper-style layer names" in line for line in report["root"]["evidence"])

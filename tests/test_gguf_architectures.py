"""Every GGUF architecture hfprobe maps: each tensor llama.cpp writes (weights, biases, norms, a mixture's stacked
experts) is found under the name a checkpoint of the model has, gguf-py's `TensorNameMap` the oracle of what llama.cpp
writes and transformers' `save_pretrained` of what the checkpoint has; and a conversion at a published size names
the root its checkpoint names. Before, norms and biases kept llama.cpp's names (`blk.0.ffn_norm`), so no family could
tell itself by a norm in a GGUF, and the architectures below kept every name and read as no family.
"""

from __future__ import annotations

import re

import pytest
import torch

from hfprobe.formats import open_weights
from hfprobe.formats.gguf import NAMES
from hfprobe.tree.inspect import inspect_source
from tests.model_shapes import inspect_shapes, saved_shapes
from tests.test_gguf import _arch, _gguf_header

gguf = pytest.importorskip("gguf", reason="gguf-py (the dev extra) writes the GGUF test files")
torch.set_num_threads(1)

SMALL = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
_MOE = dict(moe_intermediate_size=32, num_experts_per_tok=2)
_ROPE = {"rope_type": "default", "rope_theta": 10000.0}  # (Hunyuan's default configuration builds no rotary embedding)
# llama.cpp architecture -> (transformers model_type, its configuration beside SMALL)
MODELS = {
    "llama": ("llama", {}),
    "mistral3": ("ministral3", {}),
    "qwen2": ("qwen2", {}),
    "qwen3": ("qwen3", {"head_dim": 16}),
    "qwen2moe": ("qwen2_moe", {**_MOE, "num_experts": 4, "shared_expert_intermediate_size": 64}),
    "qwen3moe": ("qwen3_moe", {**_MOE, "num_experts": 4, "head_dim": 16}),
    "qwen3next": ("qwen3_next", {**_MOE, "num_experts": 4, "head_dim": 16, "shared_expert_intermediate_size": 64,
                                 "layer_types": ["linear_attention", "full_attention"]}),
    "gemma": ("gemma", {"head_dim": 16}),
    "gemma2": ("gemma2", {"head_dim": 16}),
    "gemma3": ("gemma3_text", {"head_dim": 16}),
    "olmo2": ("olmo2", {}),
    "olmoe": ("olmoe", {"num_experts": 4, "num_experts_per_tok": 2}),
    "granite": ("granite", {}),
    "granitemoe": ("granitemoe", {"num_local_experts": 4, "num_experts_per_tok": 2}),
    "phi3": ("phi3", {"pad_token_id": 0}),
    "phi2": ("phi", {}),
    "starcoder2": ("starcoder2", {}),
    "glm4": ("glm4", {"head_dim": 16, "pad_token_id": 0}),
    "gpt2": ("gpt2", {"n_embd": 64, "n_layer": 2, "n_head": 4}),
    "starcoder": ("gpt_bigcode", {"n_embd": 64, "n_layer": 2, "n_head": 4}),
    "gptj": ("gptj", {"n_embd": 64, "n_layer": 2, "n_head": 4, "rotary_dim": 8}),
    "gptneox": ("gpt_neox", {}),
    "mpt": ("mpt", {"d_model": 64, "n_layers": 2, "n_heads": 4}),
    "falcon": ("falcon", {}),
    "bloom": ("bloom", {"n_head": 4, "n_layer": 2}),
    "command-r": ("cohere", {}),
    "cohere2": ("cohere2", {"head_dim": 16}),
    "ernie4_5": ("ernie4_5", {"head_dim": 16}),
    "exaone": ("exaone", {}),
    "ernie4_5-moe": ("ernie4_5_moe", {**_MOE, "moe_num_experts": 4, "moe_num_shared_experts": 1, "head_dim": 16}),
    "exaone4": ("exaone4", {"head_dim": 16}),
    "seed_oss": ("seed_oss", {"head_dim": 16}),
    "stablelm": ("stablelm", {}),
    "nemotron": ("nemotron", {"head_dim": 16}),
    "arcee": ("arcee", {}),
    "apertus": ("apertus", {}),
    "bitnet": ("bitnet", {}),
    "afmoe": ("afmoe", {**_MOE, "num_experts": 4, "head_dim": 16, "num_dense_layers": 1}),
    "minimax-m2": ("minimax_m2", {"num_local_experts": 4, "num_experts_per_tok": 2, "head_dim": 16}),
    "minicpm3": ("minicpm3", {"q_lora_rank": 32, "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 8,
                              "v_head_dim": 8}),
    "mamba": ("mamba", {"state_size": 8}),
    "mamba2": ("mamba2", {"num_heads": 8, "head_dim": 16, "n_groups": 1, "state_size": 8}),
    "jamba": ("jamba", {"num_experts": 4, "num_experts_per_tok": 2, "attn_layer_period": 2, "attn_layer_offset": 1,
                        "expert_layer_period": 2, "expert_layer_offset": 1, "mamba_d_state": 8}),
    "falcon-h1": ("falcon_h1", {"mamba_d_ssm": 128, "mamba_n_heads": 8, "mamba_d_head": 16, "mamba_d_state": 8}),
    "olmo": ("olmo", {}),
    "smollm3": ("smollm3", {"pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}),
    "bert": ("bert", {}),
    "gpt-oss": ("gpt_oss", {"num_local_experts": 4, "num_experts_per_tok": 2, "head_dim": 16}),
    "deepseek2": ("deepseek_v3", {**_MOE, "n_routed_experts": 4, "n_shared_experts": 1, "first_k_dense_replace": 1,
                                  "q_lora_rank": 16, "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 8,
                                  "v_head_dim": 8, "n_group": 1, "topk_group": 1}),
    "glm4moe": ("glm4_moe", {**_MOE, "n_routed_experts": 4, "n_shared_experts": 1, "first_k_dense_replace": 1,
                             "head_dim": 16, "use_qk_norm": True}),
    "dots1": ("dots1", {**_MOE, "n_routed_experts": 4, "n_shared_experts": 1, "first_k_dense_replace": 1,
                        "head_dim": 16, "n_group": 1, "topk_group": 1}),
    "llama4": ("llama4_text", {"num_local_experts": 4, "intermediate_size_mlp": 128, "head_dim": 16,
                               "interleave_moe_layer_step": 2}),
    "lfm2": ("lfm2", {"layer_types": ["conv", "full_attention"]}),
    "lfm2moe": ("lfm2_moe", {**_MOE, "num_experts": 4, "num_dense_layers": 1,
                             "layer_types": ["conv", "full_attention"]}),
    "qwen35": ("qwen3_5_text", {"head_dim": 16, "layer_types": ["linear_attention", "full_attention"]}),
    "qwen35moe": ("qwen3_5_moe_text", {**_MOE, "num_experts": 4, "head_dim": 16, "shared_expert_intermediate_size": 64,
                                       "layer_types": ["linear_attention", "full_attention"]}),
    "granitehybrid": ("granitemoehybrid", {"num_local_experts": 4, "num_experts_per_tok": 2, "shared_intermediate_size":
                                           64, "layer_types": ["mamba", "attention"], "mamba_n_heads": 8,
                                           "mamba_d_head": 16, "mamba_d_state": 8}),
    "nemotron_h": ("nemotron_h", {"hybrid_override_pattern": "M*-", "num_hidden_layers": 3, "mamba_num_heads": 8,
                                  "mamba_head_dim": 16, "ssm_state_size": 8, "n_groups": 1}),
    "gemma3n": ("gemma3n_text", {"head_dim": 16, "vocab_size_per_layer_input": 256, "hidden_size_per_layer_input": 8,
                                 "num_kv_shared_layers": 0, "layer_types": ["sliding_attention", "full_attention"]}),
    "hunyuan-dense": ("hunyuan_v1_dense", {"head_dim": 16, "rope_parameters": _ROPE}),
    "hunyuan-moe": ("hunyuan_v1_moe", {"head_dim": 16, "num_experts": 4, "rope_parameters": _ROPE}),
    "modern-bert": ("modernbert", {"pad_token_id": 0}),
    "gemma-embedding": ("gemma3_text", {"head_dim": 16}),
    "phimoe": ("phimoe", {"num_local_experts": 4, "num_experts_per_tok": 2}),
    "glm-dsa": ("glm_moe_dsa", {**_MOE, "n_routed_experts": 4, "n_shared_experts": 1, "first_k_dense_replace": 1,
                                "q_lora_rank": 16, "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 8,
                                "v_head_dim": 8, "index_n_heads": 2, "index_head_dim": 8}),
    "mistral4": ("mistral4", {**_MOE, "n_routed_experts": 4, "n_shared_experts": 1, "q_lora_rank": 16,
                              "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 8, "v_head_dim": 8}),
    "nomic-bert": ("nomic_bert", {}),
    "jina-bert-v3": ("jina_embeddings_v3", {}),
    "kimi-linear": ("kimi_linear", {"moe_intermediate_size": 32, "num_experts": 4, "num_experts_per_token": 2,
                                    "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 8, "v_head_dim": 8,
                                    "linear_head_dim": 16, "linear_num_heads": 4, "pad_token_id": 0, "bos_token_id": 1,
                                    "eos_token_id": 2, "layer_types": ["linear_attention", "full_attention"]}),
    "t5": ("t5", {"d_model": 64, "d_ff": 128, "d_kv": 16, "num_layers": 2, "num_heads": 4,
                  "feed_forward_proj": "gated-gelu"}),
}  # fmt: skip


def _checkpoint(arch: str, model_type: str | None = None, **published) -> tuple[dict, dict, dict]:
    """(the checkpoint's tensors {name: shape} as `save_pretrained` writes them, a mixture's experts stacked as
    llama.cpp stacks them [experts, out, in] under the per-expert name without its index; {name: llama.cpp's name};
    {llama.cpp's name: shape} as its converter writes them): MODELS' small model, or `model_type` at its `published`
    configuration."""
    import transformers as tf
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM

    if model_type is None:
        model_type, extra = MODELS[arch]
        published = {"vocab_size": 256, **SMALL, **extra}
    config = AutoConfig.for_model(model_type, **published)
    bare = model_type in ("bert", "modernbert", "nomic_bert", "jina_embeddings_v3") or arch == "gemma-embedding"
    auto = AutoModelForSeq2SeqLM if model_type == "t5" else AutoModel if bare else AutoModelForCausalLM
    with torch.device("meta"):  # (Mistral Small 4's text model has no causal-LM auto class: its own)
        model = tf.Mistral4ForCausalLM(config) if model_type == "mistral4" else auto.from_config(config)
    layers = config.num_layers if model_type == "t5" else config.num_hidden_layers
    stacked: dict[str, list] = {}
    checkpoint, written = {}, {}
    for key, shape in saved_shapes(model).items():
        # (Kimi-Linear's dense first layer: `save_pretrained` writes it under the mixture's name, the Hub has `mlp.`)
        key = re.sub(r"\.block_sparse_moe\.(?=(gate|up|down)_proj\.)", ".mlp.", key)
        one = re.sub(r"\.experts\.\d+\.", ".experts.", key)
        if one != key:
            stacked.setdefault(one, []).append(shape)
        else:
            checkpoint[key] = shape
    checkpoint |= {k: (len(v), *v[0]) for k, v in stacked.items()}
    tmap = gguf.TensorNameMap(_arch(arch), layers)
    named = {}
    mamba2 = not any(k.endswith("x_proj.weight") for k in checkpoint)  # (Mamba 1's A is 2-D, its D one per channel)
    for key, shape in list(checkpoint.items()):
        if key.endswith("input_linear.weight"):  # (Granite's gate and up, stacked: the converter splits them)
            del checkpoint[key]
            for w in ("gate", "up"):
                split = key.replace("input_linear", f"experts.{w}_proj" if len(shape) == 3 else f"{w}_proj")
                checkpoint[split] = written[split] = (*shape[:-2], shape[-2] // 2, shape[-1])
                named[split] = tmap.get_name(split, try_suffixes=(".weight",))
            continue
        # as the converter renames them: a routing bias and a Mamba-2 mixer's `dt_bias` become biases, BitNet's
        # sub-norms take Microsoft's first names (which gguf-py knows)
        asked = re.sub(r"(e_score_correction)_bias$", r"\1.bias", re.sub(r"\.dt_bias$", ".dt_proj.bias", key))
        asked = asked.replace(".attn_sub_norm.", ".inner_attn_ln.").replace(".ffn_sub_norm.", ".ffn_layernorm.")
        if len(shape) == 3 and shape[1] == 1 and key.endswith("conv1d.weight"):  # squeezed to [channels, kernel]
            written[key] = (shape[0], shape[2])
        if len(shape) == 1 and key.endswith((".A_log", ".D")) and mamba2:  # Mamba-2's per-head A and D: [heads, 1]
            written[key] = (shape[0], 1)
        name = tmap.get_name(asked, try_suffixes=(".weight", ".bias"))
        suffix = next((s for s in (".weight", ".bias") if asked.endswith(s)), "")
        named[key] = name if name is None or name.endswith(suffix) else name + suffix  # (as llama.cpp loads it)
    named = {k: n for k, n in named.items() if n is not None}
    return checkpoint, named, {n: written.get(k, checkpoint[k]) for k, n in named.items()}


def _read_both(arch: str, checkpoint: dict, written: dict, folder) -> tuple[dict, dict]:
    """inspect's reports on a GGUF conversion (header only, llama.cpp's names and shapes as `written`) and on the
    checkpoint it came from (a safetensors header)."""
    (folder / "hf").mkdir()
    (folder / "gguf").mkdir()
    _gguf_header(folder / "gguf" / "model-Q4_K_M.gguf", arch, written)
    return inspect_source(str(folder / "gguf")), inspect_shapes(folder / "hf", checkpoint)


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_every_tensor_llama_cpp_writes_is_found_under_its_checkpoint_name(arch, tmp_path):
    assert arch in NAMES
    checkpoint, named, written = _checkpoint(arch)
    assert len(named) >= 0.7 * len(checkpoint), sorted(set(checkpoint) - set(named))  # (gguf-py knows the model)
    _gguf_header(tmp_path / "m.gguf", arch, written)
    with open_weights(str(tmp_path / "m.gguf")) as view:
        got = set(view.raw)
    want = set(named)
    assert got == want, {"not mapped back": sorted(got - want)[:8], "missing": sorted(want - got)[:8]}


# llama.cpp architecture -> transformers model_type, a published model's configuration (its defaults where those are
# one) and the root its checkpoint names (or the roots of its shapes, which the weights alone do not tell apart)
PUBLISHED = {
    "command-r": ("cohere", {}, "CohereLabs/c4ai-command-r-v01"),
    "ernie4_5": ("ernie4_5", {}, "baidu/ERNIE-4.5-0.3B-PT"),
    "ernie4_5-moe": ("ernie4_5_moe", {}, "baidu/ERNIE-4.5-21B-A3B-PT"),
    "exaone": ("exaone", {}, "LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct"),
    "gptj": ("gptj", {}, "EleutherAI/gpt-j-6b"),
    "jamba": ("jamba", {}, "ai21labs/AI21-Jamba-1.5-Mini"),
    "mamba2": ("mamba2", {}, "mistralai/Mamba-Codestral-7B-v0.1"),
    "minicpm3": ("minicpm3", {}, "openbmb/MiniCPM3-4B"),
    "mistral3": ("ministral3", {}, "mistralai/Ministral-3-8B-Instruct-2512"),
    "olmoe": ("olmoe", {}, "allenai/OLMoE-1B-7B-0924"),
    "stablelm": ("stablelm", {}, "stabilityai/stablelm-3b-4e1t"),
    "bitnet": ("bitnet", {}, "microsoft/bitnet-b1.58-2B-4T"),
    "olmo2": ("olmo2", {}, "allenai/OLMo-2-1124-7B"),
    "gptneox": ("gpt_neox", dict(hidden_size=2048, num_hidden_layers=16, num_attention_heads=8,
                                 intermediate_size=8192, vocab_size=50304), "EleutherAI/pythia-1b"),
    "mpt": ("mpt", dict(d_model=4096, n_layers=32, n_heads=32, vocab_size=50432), "mosaicml/mpt-7b"),
    "cohere2": ("cohere2", dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                                intermediate_size=14336, vocab_size=256000),
                {"CohereLabs/c4ai-command-r7b-12-2024", "CohereLabs/aya-23-8B", "CohereLabs/aya-expanse-8b"}),
    "exaone4": ("exaone4", dict(hidden_size=2048, num_hidden_layers=30, num_attention_heads=32, num_key_value_heads=8,
                                head_dim=64, intermediate_size=4096, vocab_size=102400), "LGAI-EXAONE/EXAONE-4.0-1.2B"),
    "apertus": ("apertus", dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                                intermediate_size=21504, vocab_size=131072),
                {"swiss-ai/Apertus-8B-2509", "swiss-ai/Apertus-8B-Instruct-2509"}),
    "nemotron": ("nemotron", dict(hidden_size=3072, num_hidden_layers=32, num_attention_heads=24, num_key_value_heads=8,
                                  head_dim=128, intermediate_size=9216, vocab_size=256000), "nvidia/Minitron-4B-Base"),
    "mamba": ("mamba", dict(hidden_size=768, num_hidden_layers=24, vocab_size=50280), "state-spaces/mamba-130m-hf"),
    "granitemoe": ("granitemoe", dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                      num_key_value_heads=8, intermediate_size=512, num_local_experts=32,
                                      num_experts_per_tok=8, vocab_size=49152),
                   "ibm-granite/granite-3.0-1b-a400m-base"),
    "gemma3": ("gemma3_text", dict(hidden_size=1152, num_hidden_layers=26, num_attention_heads=4, num_key_value_heads=1,
                                   head_dim=256, intermediate_size=6912, vocab_size=262144), "google/gemma-3-1b-pt"),
    "glm4": ("glm4", dict(hidden_size=4096, num_hidden_layers=40, num_attention_heads=32, num_key_value_heads=2,
                          head_dim=128, intermediate_size=13696, vocab_size=151552),
             {"THUDM/GLM-4-9B-0414", "THUDM/glm-4-9b", "THUDM/glm-4-9b-chat"}),
    "hunyuan-dense": ("hunyuan_v1_dense", dict(hidden_size=2048, num_hidden_layers=32, num_attention_heads=16,
                                               num_key_value_heads=4, head_dim=128, intermediate_size=6144,
                                               vocab_size=120818, rope_parameters=_ROPE),
                      {"tencent/Hunyuan-1.8B-Pretrain", "tencent/Hunyuan-1.8B-Instruct"}),
    "modern-bert": ("modernbert", {}, "answerdotai/ModernBERT-base"),
    "gemma-embedding": ("gemma3_text", dict(hidden_size=768, num_hidden_layers=24, num_attention_heads=3,
                                            num_key_value_heads=1, head_dim=256, intermediate_size=1152,
                                            vocab_size=262144), "google/embeddinggemma-300m"),
    "nomic-bert": ("nomic_bert", {}, {"nomic-ai/nomic-embed-text-v1.5", "nomic-ai/nomic-embed-text-v1",
                                      "nomic-ai/nomic-embed-text-v1-unsupervised", "nomic-ai/nomic-bert-2048",
                                      "Snowflake/snowflake-arctic-embed-m-long", "nomic-ai/CodeRankEmbed"}),
    "jina-bert-v3": ("jina_embeddings_v3", {}, "jinaai/jina-embeddings-v3"),
    "kimi-linear": ("kimi_linear", {"layer_types": ["full_attention" if i in (3, 7, 11, 15, 19, 23, 26) else
                                                    "linear_attention" for i in range(27)]},
                    {"moonshotai/Kimi-Linear-48B-A3B-Base", "moonshotai/Kimi-Linear-48B-A3B-Instruct"}),
    "phimoe": ("phimoe", dict(hidden_size=4096, intermediate_size=6400, num_hidden_layers=32, num_attention_heads=32,
                              num_key_value_heads=8, num_local_experts=16, vocab_size=32064),
               "microsoft/Phi-3.5-MoE-instruct"),
}  # fmt: skip


@pytest.mark.parametrize("arch", sorted(PUBLISHED))
def test_a_conversion_names_the_root_its_checkpoint_names(arch, tmp_path):
    model_type, config, roots = PUBLISHED[arch]
    checkpoint, _, written = _checkpoint(arch, model_type, **config)
    gguf_report, hf_report = _read_both(arch, checkpoint, written, tmp_path)
    root = hf_report["root"]["id"]
    assert root in ({roots} if isinstance(roots, str) else roots), hf_report["root"]["candidates"]
    assert (gguf_report["family"], gguf_report["root"]["id"]) == (hf_report["family"], root), gguf_report["root"]


def test_a_name_two_tensors_would_share_or_a_template_s_spelling_is_kept_as_written(tmp_path):
    """No tensor is lost to a renaming (one spelled as another's transformers name keeps both apart), and a name that
    spells a table's template (`blk.{i}.attn_k`) is no tensor of it: every case one key, none an untyped error."""
    written = {"blk.0.attn_q.weight": (8, 8), "model.layers.0.self_attn.q_proj.weight": (8, 8)}
    written |= {"blk.{i}.attn_k.weight": (4, 8), "blk.0.ffn_norm.weight": (8,)}
    _gguf_header(tmp_path / "m.gguf", "llama", written)
    with open_weights(str(tmp_path / "m.gguf")) as view:
        assert set(view.raw) == {*list(written)[:3], "model.layers.0.post_attention_layernorm.weight"}


# tests/model_shapes.py's published models (each the root its checkpoint names there) -> llama.cpp's architecture
CONVERTED = {
    "gpt2": "gpt2", "bert": "bert", "t5": "t5", "qwen2": "qwen2", "qwen3": "qwen3", "llama": "llama",
    "mistral": "llama", "gemma": "gemma", "gemma2": "gemma2", "gemma3": "gemma3", "bloom": "bloom",
    "gpt_neox": "gptneox", "phi": "phi2", "phi3": "phi3", "falcon": "falcon", "gptj": "gptj",
    "modernbert": "modern-bert", "smollm3": "smollm3", "gpt_oss": "gpt-oss", "granite": "granite", "olmo": "olmo",
    "olmo2": "olmo2", "gpt_bigcode": "starcoder", "mpt": "mpt", "stablelm": "stablelm", "cohere": "command-r",
    "starcoder2": "starcoder2", "deepseek_v3": "deepseek2", "glm4_moe": "glm4moe", "qwen3_5": "qwen35",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CONVERTED))
def test_a_conversion_reads_as_the_checkpoint_it_was_converted_from(name, tmp_path):
    """The published models the other tests build: llama.cpp's conversion of each, norms and biases too, names the
    family and root (or none, alike) its checkpoint names."""
    from tests.model_shapes import LLM_CONFIGS

    model_type, config, _ = LLM_CONFIGS[name]
    arch = CONVERTED[name]
    checkpoint, named, written = _checkpoint(arch, model_type, **config)
    assert len(named) >= 0.7 * len(checkpoint)
    gguf_report, hf_report = _read_both(arch, checkpoint, written, tmp_path)
    got = (gguf_report["family"], gguf_report["root"]["id"], gguf_report["family_confidence"])
    assert got == (hf_report["family"], hf_report["root"]["id"], hf_report["family_confidence"]), gguf_report["root"]


def test_a_qwen_1_conversion_reads_as_its_checkpoint(tmp_path):
    """Qwen (1), which transformers cannot build: its checkpoint's names written out (Qwen-1.8B's sizes: GPT-2's
    fused attention, a gated MLP of two halves of its config's width), llama.cpp's by gguf-py's map."""
    hidden, ffn, vocab = 2048, 5504, 151936
    checkpoint = {"transformer.wte.weight": (vocab, hidden), "lm_head.weight": (vocab, hidden)}
    checkpoint["transformer.ln_f.weight"] = (hidden,)
    for i in range(24):
        h = f"transformer.h.{i}."
        checkpoint |= {h + "ln_1.weight": (hidden,), h + "ln_2.weight": (hidden,)}
        checkpoint |= {h + "attn.c_attn.weight": (3 * hidden, hidden), h + "attn.c_attn.bias": (3 * hidden,)}
        checkpoint |= {h + "attn.c_proj.weight": (hidden, hidden), h + "mlp.c_proj.weight": (hidden, ffn)}
        checkpoint |= {h + "mlp.w1.weight": (ffn, hidden), h + "mlp.w2.weight": (ffn, hidden)}
    tmap = gguf.TensorNameMap(_arch("qwen"), 24)
    named = {k: tmap.get_name(k, try_suffixes=(".weight", ".bias")) for k in checkpoint}
    assert None not in named.values() and named["transformer.h.0.mlp.w2.weight"] == "blk.0.ffn_gate.weight"
    gguf_report, hf_report = _read_both("qwen", checkpoint, {n: checkpoint[k] for k, n in named.items()}, tmp_path)
    with open_weights(str(tmp_path / "gguf")) as view:
        assert set(view.raw) == set(checkpoint)
    assert gguf_report["family"] == hf_report["family"] == "qwen"
    assert gguf_report["root"]["id"] == hf_report["root"]["id"] == "Qwen/Qwen-1_8B", gguf_report["root"]


def test_an_architecture_hfprobe_does_not_map_keeps_its_names_and_says_so_in_one_short_line(tmp_path):
    _gguf_header(tmp_path / "m.gguf", "rwkv6", {"blk.0.time_mix_key.weight": (64, 64)})
    with open_weights(str(tmp_path / "m.gguf")) as view:
        assert set(view.raw) == {"blk.0.time_mix_key.weight"}
        note = next(n for n in view.notes if "are kept" in n)
    assert "'rwkv6'" in note and f"maps {len(NAMES)} of its architectures" in note and len(note) < 160


# InternLM2-Chat-1.8B's and Baichuan2-7B's checkpoints (custom code: transformers cannot build them), written out
_FUSED = {
    "internlm2": (dict(hidden=2048, heads=16, kv=8, ffn=8192, vocab=92544, layers=24), "internlm/internlm2-chat-1_8b"),
    "baichuan": (dict(hidden=4096, heads=32, kv=32, ffn=11008, vocab=125696, layers=32),
                 {"baichuan-inc/Baichuan2-7B-Base", "baichuan-inc/Baichuan2-7B-Chat"}),
}  # fmt: skip


@pytest.mark.parametrize("arch", sorted(_FUSED))
def test_a_fused_attention_llama_cpp_split_is_read_whole_as_its_checkpoint_has_it(arch, tmp_path):
    """InternLM2's `attention.wqkv` and Baichuan's `self_attn.W_pack`, which llama.cpp's converter splits by rows into
    `attn_q`, `attn_k`, `attn_v` (the key and value of a grouped query attention narrower): the three are the
    checkpoint's one tensor again, so the conversion names the family and root its checkpoint names (before, neither
    architecture was mapped: no family)."""
    dims, roots = _FUSED[arch]
    hidden, ffn, head = dims["hidden"], dims["ffn"], dims["hidden"] // dims["heads"]
    rows = {"q": dims["heads"] * head, "k": dims["kv"] * head, "v": dims["kv"] * head}
    internlm = arch == "internlm2"
    top = "model.tok_embeddings" if internlm else "model.embed_tokens"
    checkpoint = {f"{top}.weight": (dims["vocab"], hidden), "model.norm.weight": (hidden,)}
    checkpoint["output.weight" if internlm else "lm_head.weight"] = (dims["vocab"], hidden)
    fused = {}
    for i in range(dims["layers"]):
        b = f"model.layers.{i}."
        if internlm:
            names = ("attention.wqkv", "attention.wo", "feed_forward.w1", "feed_forward.w3", "feed_forward.w2")
            checkpoint |= {b + "attention_norm.weight": (hidden,), b + "ffn_norm.weight": (hidden,)}
        else:
            names = ("self_attn.W_pack", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")
            checkpoint |= {b + "input_layernorm.weight": (hidden,), b + "post_attention_layernorm.weight": (hidden,)}
        qkv, out, gate, up, down = (f"{b}{n}.weight" for n in names)
        checkpoint |= {qkv: (sum(rows.values()), hidden), out: (hidden, hidden), down: (hidden, ffn)}
        checkpoint |= {gate: (ffn, hidden), up: (ffn, hidden)}
        fused[qkv] = {f"blk.{i}.attn_{p}.weight": (n, hidden) for p, n in rows.items()}  # (as the converter splits)
    tmap = gguf.TensorNameMap(_arch(arch), dims["layers"])
    written = {tmap.get_name(k, try_suffixes=(".weight",)): s for k, s in checkpoint.items() if k not in fused}
    assert None not in written
    written |= {name: shape for parts in fused.values() for name, shape in parts.items()}
    gguf_report, hf_report = _read_both(arch, checkpoint, written, tmp_path)
    with open_weights(str(tmp_path / "gguf")) as view:
        assert {k: tuple(v.shape) for k, v in view.raw.items()} == checkpoint
    root = hf_report["root"]["id"]
    assert hf_report["family"] == arch and root in ({roots} if isinstance(roots, str) else roots)
    assert (gguf_report["family"], gguf_report["root"]["id"]) == (arch, root), gguf_report["root"]


def test_a_part_spelled_as_the_whole_is_no_row_of_it(tmp_path):
    """A file holding `attention.wqkv` under InternLM2's own name beside llama.cpp's `attn_q`: the two are not rows of
    one tensor (kept as written, as any name two tensors would share), nothing summed."""
    written = {"blk.0.attn_q.weight": (64, 64), "model.layers.0.attention.wqkv.weight": (128, 64)}
    _gguf_header(tmp_path / "m.gguf", "internlm2", written)
    with open_weights(str(tmp_path / "m.gguf")) as view:
        assert {k: tuple(v.shape) for k, v in view.raw.items()} == written


def test_a_lora_on_a_split_attention_keeps_each_part_apart(tmp_path):
    """A GGUF LoRA of InternLM2 on `attn_q` and `attn_v`, which share a checkpoint name: both modules kept, under
    llama.cpp's names (before a fix, the second overwrote the first); its output projection under InternLM2's name."""
    written = {}
    for part, out in (("attn_q", 64), ("attn_v", 32), ("attn_output", 64)):
        written |= {f"blk.0.{part}.weight.lora_a": (4, 64), f"blk.0.{part}.weight.lora_b": (out, 4)}
    _gguf_header(tmp_path / "lora.gguf", "internlm2", written)
    with open_weights(str(tmp_path / "lora.gguf")) as view:
        got = {name: (m.d_out, m.d_in, m.rank) for name, m in view.modules.items()}
    assert got == {"blk.0.attn_q": (64, 64, 4), "blk.0.attn_v": (32, 64, 4), "model.layers.0.attention.wo": (64, 64, 4)}


def _nomic_v2_moe() -> dict:
    """nomic-embed-text-v2-moe's checkpoint (Nomic's code: transformers cannot build it): GELU MLPs in even layers,
    8 experts of 3,072 in odd ones, each projection's experts one 2-D tensor [8 x 3,072, 768]."""
    hidden, ffn = 768, 3072
    out = {"embeddings.word_embeddings.weight": (250048, hidden), "emb_ln.weight": (hidden,)}
    out["embeddings.token_type_embeddings.weight"] = (1, hidden)
    for i in range(12):
        b = f"encoder.layers.{i}."
        out |= {b + "attn.Wqkv.weight": (3 * hidden, hidden), b + "attn.out_proj.weight": (hidden, hidden)}
        out |= {b + "norm1.weight": (hidden,), b + "norm2.weight": (hidden,)}
        if i % 2:
            out |= {b + "mlp.router.layer.weight": (8, hidden)}
            out |= {b + "mlp.experts.mlp.w1": (8 * ffn, hidden), b + "mlp.experts.mlp.w2": (8 * ffn, hidden)}
        else:
            out |= {b + "mlp.fc1.weight": (ffn, hidden), b + "mlp.fc2.weight": (hidden, ffn)}
    return out


def _dbrx() -> dict:
    """DBRX's checkpoint at databricks/dbrx-base's sizes: 16 experts of 10,752 in one 2-D tensor a projection."""
    hidden, ffn, experts = 6144, 10752, 16
    out = {"transformer.wte.weight": (100352, hidden), "lm_head.weight": (100352, hidden)}
    out["transformer.norm_f.weight"] = (hidden,)
    for i in range(40):
        b = f"transformer.blocks.{i}."
        out |= {b + "norm_attn_norm.attn.Wqkv.weight": (8192, hidden)}
        out |= {b + "norm_attn_norm.attn.out_proj.weight": (hidden, hidden)}
        out |= {b + "norm_attn_norm.norm_1.weight": (hidden,), b + "norm_attn_norm.norm_2.weight": (hidden,)}
        out |= {b + "ffn.router.layer.weight": (experts, hidden)}
        out |= {b + f"ffn.experts.mlp.{w}": (experts * ffn, hidden) for w in ("w1", "v1", "w2")}
    return out


def _jina_v2_base() -> dict:
    """jina-embeddings-v2-base-en's checkpoint (Jina's code): BERT's attention, the GEGLU MLP `mlp.gated_layers`."""
    hidden, ffn = 768, 3072
    out = {"embeddings.word_embeddings.weight": (30528, hidden), "embeddings.LayerNorm.weight": (hidden,)}
    for i in range(12):
        b = f"encoder.layer.{i}."
        out |= {b + f"attention.self.{n}.weight": (hidden, hidden) for n in ("query", "key", "value")}
        out |= {
            b + "attention.output.dense.weight": (hidden, hidden),
            b + "attention.output.LayerNorm.weight": (hidden,),
        }
        out |= {b + "mlp.gated_layers.weight": (2 * ffn, hidden), b + "mlp.wo.weight": (hidden, ffn)}
        out |= {b + "mlp.layernorm.weight": (hidden,)}
    return out


def _as_converted(arch: str, checkpoint: dict, layers: int) -> dict:
    """llama.cpp's names and shapes for a checkpoint, as its converter writes them: gguf-py's names; a projection's
    experts in one 2-D tensor as [experts, rows, in] (a down projection's as [experts, in, rows]); JinaBERT's
    `gated_layers` split into its halves (`gated_layers_v`, `gated_layers_w`: up and gate)."""
    tmap = gguf.TensorNameMap(_arch(arch), layers)
    written = {}
    for key, shape in checkpoint.items():
        if key.endswith("mlp.gated_layers.weight"):
            for half in ("v", "w"):
                written[tmap.get_name(key.replace("gated_layers", f"gated_layers_{half}"), (".weight",))] = (
                    shape[0] // 2,
                    shape[1],
                )
            continue
        name = tmap.get_name(key, try_suffixes=(".weight", ".bias"))
        assert name is not None, key
        if name.endswith("_exps"):  # (the 2-D stack of 8 or 16 experts)
            experts = 16 if arch == "dbrx" else 8
            rows = shape[0] // experts
            shape = (experts, shape[1], rows) if "_down_" in name else (experts, rows, shape[1])
        written[name if name.endswith((".weight", ".bias")) else name + ".weight"] = shape  # (as llama.cpp loads it)
    return written


@pytest.mark.parametrize(
    "arch, build, layers, root",
    [
        ("nomic-bert-moe", _nomic_v2_moe, 12, "nomic-ai/nomic-embed-text-v2-moe"),
        ("dbrx", _dbrx, 40, {"databricks/dbrx-base", "databricks/dbrx-instruct"}),
        ("jina-bert-v2", _jina_v2_base, 12, "jinaai/jina-embeddings-v2-base-en"),
    ],
)
def test_a_conversion_whose_checkpoint_llama_cpp_reshapes_reads_as_it(arch, build, layers, root, tmp_path):
    """Nomic's and DBRX's experts (one 2-D tensor a projection, which llama.cpp makes [experts, rows, in]) and
    JinaBERT's fused GEGLU (which it splits into up and gate) are the checkpoint's tensors again; before, none of these
    three architectures was mapped (no family)."""
    checkpoint = build()
    written = _as_converted(arch, checkpoint, layers)
    gguf_report, hf_report = _read_both(arch, checkpoint, written, tmp_path)
    with open_weights(str(tmp_path / "gguf")) as view:
        assert {k: tuple(v.shape) for k, v in view.raw.items()} == checkpoint
    roots = {root} if isinstance(root, str) else root
    assert hf_report["root"]["id"] in roots, hf_report["root"]
    assert (gguf_report["family"], gguf_report["root"]["id"]) == (hf_report["family"], hf_report["root"]["id"])

"""What the libraries build, as (d_out, d_in) by module name: the published configs of known roots (diffusers
UNets, transformers models) the tests instantiate on the meta device, and the adapters such models carry.
"""

from __future__ import annotations


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


def saved_shapes(model) -> dict[str, tuple]:
    """Each tensor's shape under the name `save_pretrained` writes it: transformers 5 holds some models' weights
    under other names than their files have (a mixture's experts fused, GTE's attention) and reverts them on saving."""
    from transformers.core_model_loading import revert_weight_conversion

    return {k: tuple(v.shape) for k, v in revert_weight_conversion(model, model.state_dict()).items()}


def inspect_built(model, folder, lora=(), saved: bool = True, config: dict | None = None) -> dict:
    """inspect's report on a header-only copy of `model` (built on meta) under the names `save_pretrained` writes,
    or as transformers 5 holds them (`saved=False`: a PEFT adapter trained under it keeps those), or, given `lora`
    (the last words of module names), on a rank-8 PEFT LoRA of those 2-D weights (a classification head's left out,
    GPT-2's Conv1D factors as PEFT makes them);
    `config` is written beside it as adapter_config.json (a LoRA) or config.json."""
    import json

    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    state = saved_shapes(model) if saved else {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if not lora:
        write_header(folder / "model.safetensors", {k: ("F16", s) for k, s in state.items()}, data=False)
    else:
        from transformers.pytorch_utils import Conv1D

        conv1d = {name for name, m in model.named_modules() if isinstance(m, Conv1D)}  # GPT-2's, stored [in, out]
        tensors = {}
        for key, (d_out, d_in) in ((k, s) for k, s in state.items() if k.endswith(".weight") and len(s) == 2):
            module = key.removesuffix(".weight")
            if module in conv1d:  # PEFT's factors on a Conv1D are [r, in] and [out, r], as on a Linear's
                d_out, d_in = d_in, d_out
            if module.rsplit(".", 1)[-1] in lora and "classifier" not in module:
                tensors[f"base_model.model.{module}.lora_A.weight"] = ("F16", (8, d_in))
                tensors[f"base_model.model.{module}.lora_B.weight"] = ("F16", (d_out, 8))
        assert tensors, f"no module of the model ends in {lora}"
        write_header(folder / "adapter_model.safetensors", tensors, data=False)
    if config is not None:
        (folder / ("adapter_config.json" if lora else "config.json")).write_text(json.dumps(config, default=str))
    return inspect_source(str(folder))


def candidate_ids(report: dict) -> list[str]:
    """The ids of an inspect report's root candidates, best first."""
    return [c["id"] for c in report["root"]["candidates"]]


def inspect_shapes(folder, shapes: dict) -> dict:
    """inspect's report on a header-only `model.safetensors` of these tensor shapes (a checkpoint as a Hub file names
    them, where that differs from what `save_pretrained` writes)."""
    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    write_header(folder / "model.safetensors", {k: ("BF16", s) for k, s in shapes.items()}, data=False)
    return inspect_source(str(folder))


def meta_model(model_type: str, **config):
    """transformers' AutoModel for `model_type` at `config` (its defaults otherwise), built on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModel

    with torch.device("meta"):
        return AutoModel.from_config(AutoConfig.for_model(model_type, **config))


def meta_class(cls: str, config: str, **kw):
    """transformers' class `cls` (`TapasForQuestionAnswering`) with its config class `config` at `kw` (its defaults
    otherwise), built on the meta device."""
    import torch
    import transformers

    with torch.device("meta"):
        return getattr(transformers, cls)(getattr(transformers, config)(**kw))


def meta_causal_lm(config):
    """transformers' AutoModelForCausalLM for a config object, built on the meta device."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


_BUILT: dict[str, dict] = {}


def built_shapes(model_type: str, **config) -> dict:
    """`module_shapes` of transformers' AutoModel for `model_type` at `config`, built on the meta device once per
    configuration (callers share the dict: they copy it to change it)."""
    key = model_type + repr(sorted(config.items()))
    if key not in _BUILT:
        _BUILT[key] = module_shapes(meta_model(model_type, **config))
    return _BUILT[key]


def lora_like(shapes: dict, *suffixes: str, prefix: str = "") -> dict:
    """What a LoRA on those modules exposes: the same (d_out, d_in), under the same names."""
    return {prefix + k: v for k, v in shapes.items() if k.endswith(suffixes)}


def expert_lora(layers: range, experts: int, hidden: int, expert_ffn: int, shared_ffn: int) -> dict:
    """A PEFT LoRA's modules on every routed expert's and the shared experts' gate, up and down projections of each
    mixture layer, named as transformers 4 (and DeepSeek's and GLM's own code) hold them: `mlp.experts.N.gate_proj`."""
    out = {}
    for i in layers:
        p = f"base_model.model.layers.{i}.mlp."
        out |= {p + f"experts.{e}.{w}_proj": (expert_ffn, hidden) for e in range(experts) for w in ("gate", "up")}
        out |= {p + f"experts.{e}.down_proj": (hidden, expert_ffn) for e in range(experts)}
        out |= {p + f"shared_experts.{w}_proj": (shared_ffn, hidden) for w in ("gate", "up")}
    return out


def lora_factors(lora: dict, r: int = 4) -> dict:
    """A PEFT adapter file's tensors (zeros) for `lora_like`'s {module: (d_out, d_in)}: `lora_A` [r, in], `lora_B`
    [out, r]."""
    import numpy as np

    out = {}
    for key, (d_out, d_in) in lora.items():
        out[f"{key}.lora_A.weight"] = np.zeros((r, d_in), np.float16)
        out[f"{key}.lora_B.weight"] = np.zeros((d_out, r), np.float16)
    return out


def inspect_declaring(tmp_path, lora: dict, declared: str, config: dict) -> dict:
    """`inspect_source` of a PEFT LoRA (`lora_like`'s {module: (d_out, d_in)}) served by a local fake Hub, its
    adapter_config.json declaring `declared`, a repo there that holds only `config` as its config.json."""
    import json

    from safetensors.numpy import save

    from hfprobe.tree.inspect import inspect_source
    from tests.fakehub import FakeHub

    adapter_config = {"peft_type": "LORA", "base_model_name_or_path": declared, "r": 4, "lora_alpha": 8}
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/adapter", {"adapter_model.safetensors": save(lora_factors(lora)),
                                 "adapter_config.json": json.dumps(adapter_config)})  # fmt: skip
    hub.add_repo(declared, {"config.json": json.dumps(config)})
    with hub.serving():
        return inspect_source("org/adapter")


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
    "granite": ("granite", dict(hidden_size=2048, num_attention_heads=32, num_key_value_heads=8,
                                intermediate_size=8192, num_hidden_layers=40, vocab_size=49159,
                                tie_word_embeddings=True), "ibm-granite/granite-3.3-2b-instruct"),
    "olmo": ("olmo", dict(hidden_size=2048, num_attention_heads=16, num_key_value_heads=16, intermediate_size=8192,
                          num_hidden_layers=16, vocab_size=50304), "allenai/OLMo-1B-hf"),
    "olmo2": ("olmo2", dict(hidden_size=2048, num_attention_heads=16, num_key_value_heads=16,
                            intermediate_size=8192, num_hidden_layers=16, vocab_size=100352),
              "allenai/OLMo-2-0425-1B"),
    "gpt_bigcode": ("gpt_bigcode", dict(n_embd=2048, n_layer=24, n_head=16, n_inner=8192, n_positions=8192,
                                        vocab_size=49152, multi_query=True), "bigcode/starcoderbase-1b"),
    "mpt": ("mpt", dict(d_model=4096, n_layers=32, n_heads=32, expansion_ratio=4, vocab_size=50432), "mosaicml/mpt-7b"),
    "stablelm": ("stablelm", dict(hidden_size=2048, num_hidden_layers=24, num_attention_heads=32,
                                  num_key_value_heads=32, intermediate_size=5632, vocab_size=100352,
                                  use_qkv_bias=True),
                 "stabilityai/stablelm-2-1_6b"),
    "cohere": ("cohere", dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                              intermediate_size=14336, vocab_size=256000), "CohereLabs/aya-23-8B"),
    "starcoder2": ("starcoder2", dict(hidden_size=3072, num_attention_heads=24, num_key_value_heads=2,
                                      intermediate_size=12288, num_hidden_layers=30, vocab_size=49152),
                   "bigcode/starcoder2-3b"),
    "deepseek_v3": ("deepseek_v2", dict(hidden_size=2048, intermediate_size=10944, moe_intermediate_size=1408,
                                        num_hidden_layers=27, num_attention_heads=16, num_key_value_heads=16,
                                        n_routed_experts=64, n_shared_experts=2, first_k_dense_replace=1,
                                        q_lora_rank=None, kv_lora_rank=512, vocab_size=102400),
                    "deepseek-ai/DeepSeek-V2-Lite"),
    "glm4_moe": ("glm4_moe", dict(hidden_size=4096, head_dim=128, intermediate_size=10944, moe_intermediate_size=1408,
                                  num_hidden_layers=46, num_attention_heads=96, num_key_value_heads=8,
                                  n_routed_experts=128, n_shared_experts=1, first_k_dense_replace=1,
                                  num_nextn_predict_layers=1, vocab_size=151552),
                 "zai-org/GLM-4.5-Air-Base"),
    "qwen3_5": ("qwen3_5_text", dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=32, head_dim=256,
                                     num_attention_heads=16, num_key_value_heads=4, linear_num_key_heads=16,
                                     linear_key_head_dim=128, linear_num_value_heads=32, linear_value_head_dim=128,
                                     vocab_size=248320),
                "Qwen/Qwen3.5-9B-Base"),
}  # fmt: skip


def llama_like(layers: int, hidden: int, kv: int, q_dim: int | None = None) -> dict:
    """A PEFT LoRA's (d_out, d_in) on q_proj and v_proj of a LLaMA-style decoder."""
    lora = {}
    for i in range(layers):
        lora[f"base_model.model.model.layers.{i}.self_attn.q_proj"] = (q_dim or hidden, hidden)
        lora[f"base_model.model.model.layers.{i}.self_attn.v_proj"] = (kv, hidden)
    return lora


def encoder_like(prefix: str, layers: int, hidden: int) -> dict:
    """A PEFT LoRA's (d_out, d_in) on query and value of a BERT-style encoder."""
    return {f"base_model.model.{prefix}encoder.layer.{i}.attention.self.{m}": (hidden, hidden)
            for i in range(layers) for m in ("query", "value")}  # fmt: skip


def bloom_like(layers: int, hidden: int) -> dict:
    return {f"base_model.model.transformer.h.{i}.self_attention.query_key_value": (3 * hidden, hidden)
            for i in range(layers)}  # fmt: skip


def t5_like(layers: int, hidden: int, inner: int) -> dict:
    return {f"base_model.model.encoder.block.{i}.layer.0.SelfAttention.{m}": (inner, hidden)
            for i in range(layers) for m in "qv"}  # fmt: skip


def s2s_like(hidden: int, layers: int) -> dict:
    """A PEFT LoRA on q / v of an encoder-decoder in BART's names (Whisper, BART, Marian, M2M100, mBART)."""
    out = {}
    for i in range(layers):
        for m in "qv":
            out[f"base_model.model.model.encoder.layers.{i}.self_attn.{m}_proj"] = (hidden, hidden)
            out[f"base_model.model.model.decoder.layers.{i}.encoder_attn.{m}_proj"] = (hidden, hidden)
    return out


def speech_like(prefix: str, layers: int, hidden: int) -> dict:
    return {f"base_model.model.{prefix}encoder.layers.{i}.attention.{m}_proj": (hidden, hidden)
            for i in range(layers) for m in "qv"}  # fmt: skip


def dino_like(prefix: str, layers: int, hidden: int) -> dict:
    return {f"base_model.model.{prefix}encoder.layer.{i}.attention.attention.{m}": (hidden, hidden)
            for i in range(layers) for m in ("query", "value")}  # fmt: skip


def neox_like(layers: int, hidden: int) -> dict:
    return {
        f"base_model.model.gpt_neox.layers.{i}.attention.query_key_value": (3 * hidden, hidden) for i in range(layers)
    }

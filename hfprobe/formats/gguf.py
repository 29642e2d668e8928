"""GGUF files (llama.cpp): each 2-D tensor is a module at its logical (out, in), under transformers' names.

The header gives every tensor's logical shape whatever its ggml type (`Q4_K`, `F16`, ...), so the tree is read as
for the dense model. llama.cpp renames tensors (`blk.0.attn_q.weight` for `model.layers.0.self_attn.q_proj`); for
the architectures in `NAMES` the name is mapped back to transformers' (checked against gguf-py's own
`TensorNameMap` in the tests), so the registry's name and shape rules apply; other architectures keep llama.cpp's
names. Values are never dequantized: `WeightsView.layer()` refuses a GGUF module. The metadata's `general.*`
scalars become the view's metadata (`general.base_model.0.repo_url` is what the model was converted from), and the
report says `quantized: {method: gguf, type, modules}`. A LoRA adapter converted by llama.cpp (`general.type`
adapter, `adapter.lora.alpha`; `blk.0.attn_q.weight.lora_a` / `.lora_b`) is read as LoRA modules at their
factors' shapes, under the same names.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import replace

from ..source.gguf import GgufHeader
from ..source.safetensors import quote
from .base import Module, lora_module

__all__ = ["NAMES", "read_gguf"]

# llama.cpp's name of a decoder block's tensor -> transformers' (a template over the block index)
_DECODER = {
    "token_embd": "model.embed_tokens",
    "output": "lm_head",
    "blk.{i}.attn_q": "model.layers.{i}.self_attn.q_proj",
    "blk.{i}.attn_k": "model.layers.{i}.self_attn.k_proj",
    "blk.{i}.attn_v": "model.layers.{i}.self_attn.v_proj",
    "blk.{i}.attn_output": "model.layers.{i}.self_attn.o_proj",
    "blk.{i}.ffn_gate": "model.layers.{i}.mlp.gate_proj",
    "blk.{i}.ffn_up": "model.layers.{i}.mlp.up_proj",
    "blk.{i}.ffn_down": "model.layers.{i}.mlp.down_proj",
}


def _decoder_without(*tensors: str) -> dict[str, str]:
    """`_DECODER` less the tensors (`ffn_gate`, `attn_k`, …) an architecture has none of, or names otherwise."""
    return {k: v for k, v in _DECODER.items() if k.split(".")[-1] not in tensors}


# a mixture's router and experts, stacked in one 3-D tensor each (read at an expert's shape) or, in llama.cpp's
# files before April 2024, one tensor per expert: Mixtral is converted as `llama`, under transformers' names for it
_MIXTRAL = {
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.block_sparse_moe.gate",
    "blk.{i}.ffn_gate_exps": "model.layers.{i}.block_sparse_moe.experts.w1",
    "blk.{i}.ffn_down_exps": "model.layers.{i}.block_sparse_moe.experts.w2",
    "blk.{i}.ffn_up_exps": "model.layers.{i}.block_sparse_moe.experts.w3",
    "blk.{i}.ffn_gate.{e}": "model.layers.{i}.block_sparse_moe.experts.{e}.w1",
    "blk.{i}.ffn_down.{e}": "model.layers.{i}.block_sparse_moe.experts.{e}.w2",
    "blk.{i}.ffn_up.{e}": "model.layers.{i}.block_sparse_moe.experts.{e}.w3",
}
_QWEN_MOE = {
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.mlp.gate",
    "blk.{i}.ffn_gate_exps": "model.layers.{i}.mlp.experts.gate_proj",
    "blk.{i}.ffn_down_exps": "model.layers.{i}.mlp.experts.down_proj",
    "blk.{i}.ffn_up_exps": "model.layers.{i}.mlp.experts.up_proj",
}
_GPT_OSS = {**_QWEN_MOE, "blk.{i}.ffn_gate_inp": "model.layers.{i}.mlp.router"}  # (its gate and up apart, as Qwen's)
# DeepSeek-V2 and V3 (and Kimi K2, Moonlight), llama.cpp's `deepseek2`: multi-head latent attention (a low-rank query,
# or V2-Lite's one `attn_q`; the key-value latent and its up-projection, which newer conversions also split per head
# into 3-D `attn_k_b` / `attn_v_b`), Qwen's routed experts and the shared ones
_DEEPSEEK2 = {
    **_decoder_without("attn_k", "attn_v"),
    **_QWEN_MOE,
    "blk.{i}.attn_q_a": "model.layers.{i}.self_attn.q_a_proj",
    "blk.{i}.attn_q_b": "model.layers.{i}.self_attn.q_b_proj",
    "blk.{i}.attn_kv_a_mqa": "model.layers.{i}.self_attn.kv_a_proj_with_mqa",
    "blk.{i}.attn_kv_b": "model.layers.{i}.self_attn.kv_b_proj",
    "blk.{i}.attn_k_b": "model.layers.{i}.self_attn.k_b_proj",
    "blk.{i}.attn_v_b": "model.layers.{i}.self_attn.v_b_proj",
    "blk.{i}.ffn_gate_shexp": "model.layers.{i}.mlp.shared_experts.gate_proj",
    "blk.{i}.ffn_up_shexp": "model.layers.{i}.mlp.shared_experts.up_proj",
    "blk.{i}.ffn_down_shexp": "model.layers.{i}.mlp.shared_experts.down_proj",
}
# GLM-4.5 and 4.6 (`glm4moe`): grouped-query attention over DeepSeek-V3's experts, its multi-token prediction block
# (`blk.N.nextn.*`, N its last) under transformers' names for it
_GLM4_MOE = {
    **_DECODER,
    **{k: v for k, v in _DEEPSEEK2.items() if k.endswith(("_exps", "_shexp", "_gate_inp"))},
    "blk.{i}.nextn.eh_proj": "model.layers.{i}.eh_proj",
    "blk.{i}.nextn.shared_head_head": "model.layers.{i}.shared_head.head",
}
# LFM2 (`lfm2`, `lfm2moe`): its short convolutions (`shortconv.*` as `conv.*`), attention with an `out_proj` and Meta's
# feed-forward names (`feed_forward.w1`); LFM2-8B-A1B's router and stacked experts under Mixtral's names
_FFN_W = (("gate", "w1"), ("up", "w3"), ("down", "w2"))
_LFM2 = {
    **_decoder_without("attn_output", "ffn_gate", "ffn_up", "ffn_down"),
    "blk.{i}.attn_output": "model.layers.{i}.self_attn.out_proj",
    **{f"blk.{{i}}.shortconv.{p}": f"model.layers.{{i}}.conv.{p}" for p in ("in_proj", "conv", "out_proj")},
    **{f"blk.{{i}}.ffn_{g}": f"model.layers.{{i}}.feed_forward.{w}" for g, w in _FFN_W},
}
_LFM2_MOE = {
    **_LFM2,
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.feed_forward.gate",
    **{f"blk.{{i}}.ffn_{g}_exps": f"model.layers.{{i}}.feed_forward.experts.{w}" for g, w in _FFN_W},
}
# Qwen3.5 and 3.6 (`qwen35`, `qwen35moe`): LLaMA's names on the full-attention layers (`attn_q` holds each head's
# queries and their output gate), the Gated DeltaNet's on the others; a mixture's routed experts Qwen's, stacked (or
# their gate and up fused, `ffn_gate_up_exps`), beside one shared expert and its gate
_QWEN35 = {
    **_DECODER,
    "blk.{i}.attn_qkv": "model.layers.{i}.linear_attn.in_proj_qkv",
    "blk.{i}.attn_gate": "model.layers.{i}.linear_attn.in_proj_z",
    "blk.{i}.ssm_alpha": "model.layers.{i}.linear_attn.in_proj_a",
    "blk.{i}.ssm_beta": "model.layers.{i}.linear_attn.in_proj_b",
    "blk.{i}.ssm_out": "model.layers.{i}.linear_attn.out_proj",
    "blk.{i}.ssm_conv1d": "model.layers.{i}.linear_attn.conv1d",
}
_QWEN35_MOE = {
    **{k: v for k, v in _QWEN35.items() if not k.startswith("blk.{i}.ffn_")},
    **_QWEN_MOE,
    "blk.{i}.ffn_gate_up_exps": "model.layers.{i}.mlp.experts.gate_up_proj",
    **{f"blk.{{i}}.ffn_{w}_shexp": f"model.layers.{{i}}.mlp.shared_expert.{w}_proj" for w in ("gate", "up", "down")},
    "blk.{i}.ffn_gate_inp_shexp": "model.layers.{i}.mlp.shared_expert_gate",
}
# Granite 4.0's hybrids (`granitehybrid`; its dense models are converted as `granite`): LLaMA's names on attention and
# on the MLP, whose stacked gate and up llama.cpp splits (`ffn_gate`, `ffn_up`; `ffn_*_shexp` beside a mixture),
# Mamba-2's under transformers' (`ssm_in` is `mamba.in_proj`), the mixture's router and split experts
_MAMBA2 = {"in": "in_proj", "conv1d": "conv1d", "out": "out_proj", "a": "A_log", "d": "D", "norm": "norm"}
_GRANITE_HYBRID = {
    **_DECODER,
    **{f"blk.{{i}}.ssm_{g}": f"model.layers.{{i}}.mamba.{t}" for g, t in _MAMBA2.items()},
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.block_sparse_moe.router",
    **{
        f"blk.{{i}}.ffn_{w}_exps": f"model.layers.{{i}}.block_sparse_moe.experts.{w}_proj"
        for w in ("gate", "up", "down")
    },
    **{f"blk.{{i}}.ffn_{w}_shexp": f"model.layers.{{i}}.shared_mlp.{w}_proj" for w in ("gate", "up", "down")},
}
# Nemotron-H (`nemotron_h`, `nemotron_h_moe`): one mixer per block under transformers' names
# (`backbone.layers.N.mixer`): Mamba-2, attention, a squared-ReLU MLP (no gate) or a mixture with a shared expert
_NEMOTRON_H = {
    "token_embd": "backbone.embeddings",
    "output": "lm_head",
    **{f"blk.{{i}}.attn_{p}": f"backbone.layers.{{i}}.mixer.{p}_proj" for p in "qkv"},
    "blk.{i}.attn_output": "backbone.layers.{i}.mixer.o_proj",
    **{f"blk.{{i}}.ffn_{w}": f"backbone.layers.{{i}}.mixer.{w}_proj" for w in ("up", "down")},
    **{f"blk.{{i}}.ssm_{g}": f"backbone.layers.{{i}}.mixer.{t}" for g, t in _MAMBA2.items()},
}
_NEMOTRON_H_MOE = {
    **_NEMOTRON_H,
    "blk.{i}.ffn_gate_inp": "backbone.layers.{i}.mixer.gate",
    **{f"blk.{{i}}.ffn_{w}_exps": f"backbone.layers.{{i}}.mixer.experts.{w}_proj" for w in ("up", "down")},
    **{f"blk.{{i}}.ffn_{w}_shexp": f"backbone.layers.{{i}}.mixer.shared_experts.{w}_proj" for w in ("up", "down")},
}
# Llama 4 (`llama4`): LLaMA's attention, and its MLP under `feed_forward` (Maverick's dense layers), beside a router,
# one shared expert and stacked routed ones (transformers' fused `experts.gate_up_proj`, split by the converter)
_LLAMA4 = {
    **_decoder_without("ffn_gate", "ffn_up", "ffn_down"),
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.feed_forward.router",
    **{
        f"blk.{{i}}.ffn_{w}{tail}": f"model.layers.{{i}}.feed_forward.{part}{w}_proj"
        for w in ("gate", "up", "down")
        for tail, part in (("", ""), ("_exps", "experts."), ("_shexp", "shared_expert."))
    },
}
# Gemma 3n (`gemma3n`): Gemma's decoder beside each block's LAuReL and AltUp layers and its per-layer embeddings' gate
# and projection; the AltUp projections stacked (`altup_proj`, [3, width, width])
_GEMMA3N = {
    **_DECODER,
    "blk.{i}.laurel_l": "model.layers.{i}.laurel.linear_left",
    "blk.{i}.laurel_r": "model.layers.{i}.laurel.linear_right",
    "blk.{i}.altup_router": "model.layers.{i}.altup.modality_router",
    "blk.{i}.altup_predict_coef": "model.layers.{i}.altup.prediction_coefs",
    "blk.{i}.altup_correct_coef": "model.layers.{i}.altup.correction_coefs",
    "blk.{i}.inp_gate": "model.layers.{i}.per_layer_input_gate",
    "blk.{i}.proj": "model.layers.{i}.per_layer_projection",
    "per_layer_token_embd": "model.embed_tokens_per_layer",
    "per_layer_model_proj": "model.per_layer_model_projection",
    "altup_proj": "model.altup_projections",
    "altup_unembd_proj": "model.altup_unembed_projections",
}
# Gemma 4 (`gemma4`): Gemma's decoder, E2B's and E4B's per-layer embeddings under Gemma 3n's names, 26B-A4B's router
# and its experts' gate and up fused and stacked (`ffn_gate_up_exps`) beside each layer's dense MLP
_GEMMA4 = {
    **_DECODER,
    **{k: _GEMMA3N[k] for k in ("blk.{i}.inp_gate", "blk.{i}.proj", "per_layer_token_embd", "per_layer_model_proj")},
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.router.proj",
    "blk.{i}.ffn_gate_up_exps": "model.layers.{i}.experts.gate_up_proj",
    "blk.{i}.ffn_down_exps": "model.layers.{i}.experts.down_proj",
}
# BERT (embedding models: BGE, MiniLM, E5 as llama.cpp serves them), under BertModel's names
_BERT = {
    "token_embd": "embeddings.word_embeddings",
    "token_types": "embeddings.token_type_embeddings",
    "position_embd": "embeddings.position_embeddings",
    "blk.{i}.attn_q": "encoder.layer.{i}.attention.self.query",
    "blk.{i}.attn_k": "encoder.layer.{i}.attention.self.key",
    "blk.{i}.attn_v": "encoder.layer.{i}.attention.self.value",
    "blk.{i}.attn_output": "encoder.layer.{i}.attention.output.dense",
    "blk.{i}.ffn_up": "encoder.layer.{i}.intermediate.dense",
    "blk.{i}.ffn_down": "encoder.layer.{i}.output.dense",
}
# the older decoders' fused attention, under their transformers names: GPT-2's Conv1D (`c_attn`, read either way
# round), Falcon's and BLOOM's `query_key_value`; Phi-2's separate q / k / v (a conversion of Microsoft's own
# checkpoint fuses them, `attn_qkv`, which transformers has no name for: kept)
_GPT2 = {
    "token_embd": "transformer.wte",
    "position_embd": "transformer.wpe",
    "output": "lm_head",
    "blk.{i}.attn_qkv": "transformer.h.{i}.attn.c_attn",
    "blk.{i}.attn_output": "transformer.h.{i}.attn.c_proj",
    "blk.{i}.ffn_up": "transformer.h.{i}.mlp.c_fc",
    "blk.{i}.ffn_down": "transformer.h.{i}.mlp.c_proj",
}
_FALCON = {
    "token_embd": "transformer.word_embeddings",
    "output": "lm_head",
    "blk.{i}.attn_qkv": "transformer.h.{i}.self_attention.query_key_value",
    "blk.{i}.attn_output": "transformer.h.{i}.self_attention.dense",
    "blk.{i}.ffn_up": "transformer.h.{i}.mlp.dense_h_to_4h",
    "blk.{i}.ffn_down": "transformer.h.{i}.mlp.dense_4h_to_h",
}
_PHI2 = {
    **_decoder_without("ffn_gate"),
    "blk.{i}.attn_output": "model.layers.{i}.self_attn.dense",
    "blk.{i}.ffn_up": "model.layers.{i}.mlp.fc1",
    "blk.{i}.ffn_down": "model.layers.{i}.mlp.fc2",
}
# ChatGLM 2 and 3 and GLM-4-9B in ChatGLM's own layout (`chatglm`; GLM-4-0414's transformers layout is `glm4`):
# the fused `query_key_value`, and `dense_h_to_4h` holding gate and up, under `transformer.encoder.layers.N`
_CHATGLM = {
    "token_embd": "transformer.embedding.word_embeddings",
    "output": "transformer.output_layer",
    "blk.{i}.attn_qkv": "transformer.encoder.layers.{i}.self_attention.query_key_value",
    "blk.{i}.attn_output": "transformer.encoder.layers.{i}.self_attention.dense",
    "blk.{i}.ffn_up": "transformer.encoder.layers.{i}.mlp.dense_h_to_4h",
    "blk.{i}.ffn_down": "transformer.encoder.layers.{i}.mlp.dense_4h_to_h",
}
# T5 (`t5`) and its encoder alone (`t5encoder`: the text encoders FLUX, SD 3 and Wan take, T5 v1.1 XXL's and UMT5
# XXL's, as ComfyUI users load them), under T5ForConditionalGeneration's names; a gated feed-forward's gate and up
# (`wi_0`, `wi_1`: T5 v1.1, Flan-T5, mT5, UMT5), T5 1.0's one `wi` where a file has no gate (`_ungated`)
_T5_ENCODER = {
    "token_embd": "shared",
    **{f"enc.blk.{{i}}.attn_{m}": f"encoder.block.{{i}}.layer.0.SelfAttention.{m}" for m in "qkvo"},
    "enc.blk.{i}.attn_rel_b": "encoder.block.{i}.layer.0.SelfAttention.relative_attention_bias",
    "enc.blk.{i}.ffn_gate": "encoder.block.{i}.layer.1.DenseReluDense.wi_0",
    "enc.blk.{i}.ffn_up": "encoder.block.{i}.layer.1.DenseReluDense.wi_1",
    "enc.blk.{i}.ffn_down": "encoder.block.{i}.layer.1.DenseReluDense.wo",
}
_T5 = {
    **_T5_ENCODER,
    "output": "lm_head",
    **{f"dec.blk.{{i}}.attn_{m}": f"decoder.block.{{i}}.layer.0.SelfAttention.{m}" for m in "qkvo"},
    "dec.blk.{i}.attn_rel_b": "decoder.block.{i}.layer.0.SelfAttention.relative_attention_bias",
    **{f"dec.blk.{{i}}.cross_attn_{m}": f"decoder.block.{{i}}.layer.1.EncDecAttention.{m}" for m in "qkvo"},
    "dec.blk.{i}.ffn_gate": "decoder.block.{i}.layer.2.DenseReluDense.wi_0",
    "dec.blk.{i}.ffn_up": "decoder.block.{i}.layer.2.DenseReluDense.wi_1",
    "dec.blk.{i}.ffn_down": "decoder.block.{i}.layer.2.DenseReluDense.wo",
}
# general.architecture -> its names (Mistral 7B and Mixtral are converted as `llama`; Phi-3 fuses qkv and gate/up;
# Qwen2-VL's and Qwen2.5-VL's language models are `qwen2vl`, Qwen3-VL's `qwen3vl` and `qwen3vlmoe`, Qwen3.5's
# `qwen35` and `qwen35moe`)
NAMES: dict[str, dict[str, str]] = {
    "llama": {**_DECODER, **_MIXTRAL},
    "llama4": _LLAMA4,
    "qwen2": _DECODER,
    "qwen3": _DECODER,
    "qwen3moe": {**_DECODER, **_QWEN_MOE},
    "qwen2vl": _DECODER,
    "qwen3vl": _DECODER,
    "qwen3vlmoe": {**_DECODER, **_QWEN_MOE},
    "lfm2": _LFM2,
    "lfm2moe": _LFM2_MOE,
    "qwen35": _QWEN35,
    "qwen35moe": _QWEN35_MOE,
    "smollm3": _DECODER,
    "phi2": _PHI2,
    "gpt2": _GPT2,
    "falcon": _FALCON,
    "bloom": _FALCON,
    "t5": _T5,
    "t5encoder": _T5_ENCODER,
    "gpt-oss": {**_DECODER, **_GPT_OSS},
    "deepseek2": _DEEPSEEK2,
    "glm4moe": _GLM4_MOE,
    "chatglm": _CHATGLM,
    "bert": _BERT,
    "gemma": _DECODER,
    "gemma2": _DECODER,
    "gemma3": _DECODER,
    "gemma3n": _GEMMA3N,
    "gemma4": _GEMMA4,
    "granite": _DECODER,
    "granitehybrid": _GRANITE_HYBRID,
    "nemotron_h": _NEMOTRON_H,
    "nemotron_h_moe": _NEMOTRON_H_MOE,
    "olmo": _DECODER,
    "olmo2": _DECODER,
    "glm4": {  # GLM-4 in transformers' layout (GLM-4-9B-0414, GLM-Z1): its gate and up fused in `ffn_up`
        **_decoder_without("ffn_gate", "ffn_up"),
        "blk.{i}.ffn_up": "model.layers.{i}.mlp.gate_up_proj",
    },
    "starcoder2": {  # no gate: its MLP is `c_fc` / `c_proj`
        **_decoder_without("ffn_gate", "ffn_up", "ffn_down"),
        "blk.{i}.ffn_up": "model.layers.{i}.mlp.c_fc",
        "blk.{i}.ffn_down": "model.layers.{i}.mlp.c_proj",
    },
    "phi3": {
        **_decoder_without("attn_q", "attn_k", "attn_v", "ffn_gate"),
        "blk.{i}.attn_qkv": "model.layers.{i}.self_attn.qkv_proj",
        "blk.{i}.ffn_up": "model.layers.{i}.mlp.gate_up_proj",
    },
}
_COMPILED: dict[str, list[tuple[re.Pattern, str]]] = {}


def _patterns(arch: str) -> list[tuple[re.Pattern, str]]:
    if arch not in _COMPILED:
        _COMPILED[arch] = [
            (
                re.compile(re.escape(g).replace(r"\{i\}", r"(\d+)").replace(r"\{e\}", r"(\d+)") + r"\Z"),
                h.replace("{i}", r"\1").replace("{e}", r"\2"),
            )
            for g, h in NAMES.get(arch, {}).items()
        ]
    return _COMPILED[arch]


_UNGATED = {"t5", "t5encoder"}


def _ungated(modules: dict[str, Module]) -> dict[str, Module]:
    """A T5 1.0 feed-forward's one input projection (`wi`, which llama.cpp writes as `ffn_up` with no `ffn_gate`)
    under its own name, not a gated one's `wi_1`."""
    if any(name.endswith("DenseReluDense.wi_0") for name in modules):
        return modules
    renamed = {}
    for name, module in modules.items():
        if name.endswith("DenseReluDense.wi_1"):
            name = name[: -len("_1")]
            module = replace(module, name=name)
        renamed[name] = module
    return renamed


def canonical_name(name: str, arch: str) -> str:
    """transformers' module name of a GGUF tensor name (without `.weight`); the name itself where none is known.

    >>> canonical_name("blk.3.attn_q", "llama"), canonical_name("blk.3.attn_q", "rwkv6")
    ('model.layers.3.self_attn.q_proj', 'blk.3.attn_q')
    >>> canonical_name("blk.3.ffn_gate.7", "llama"), canonical_name("blk.3.ffn_gate_exps", "qwen3moe")
    ('model.layers.3.block_sparse_moe.experts.7.w1', 'model.layers.3.mlp.experts.gate_proj')
    """
    for pattern, repl in _patterns(arch):
        if pattern.match(name):
            return pattern.sub(repl, name)
    return name


MAX_META_CHARS = 1000  # a general.* string kept as metadata (names, URLs, licences are far shorter)


def _alpha(value) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    return float(value) if ok else None


def _lora_modules(header: GgufHeader, arch: str, where: str) -> dict[str, Module]:
    """A LoRA adapter's modules (llama.cpp's convert_lora_to_gguf): `<tensor>.weight.lora_a` [r, in] and
    `.lora_b` [out, r], as PEFT stores them; the token embedding's pair is flipped ([vocab, r], [dim, r])."""
    alpha = _alpha(header.metadata.get("adapter.lora.alpha"))
    modules: dict[str, Module] = {}
    for key, a in header.tensors.items():
        if not key.endswith(".lora_a"):
            continue
        base = key[: -len(".lora_a")]
        b = header.tensors.get(base + ".lora_b")
        name = canonical_name(base.removesuffix(".weight"), arch)
        embedding = base.startswith("token_embd.")
        keys = {"A": key, **({"B": base + ".lora_b"} if b is not None else {})}
        a = a._replace(shape=a.shape[::-1]) if embedding else a
        modules[name] = lora_module(name, a, b, alpha=alpha, keys=keys, where=where, lora_embedding=embedding)
    return modules


def read_gguf(
    header: GgufHeader, where: str = "GGUF file"
) -> tuple[dict[str, Module], list[str], dict, dict[str, str]]:
    """(modules, notes, extra, metadata) of a GGUF header: a model's, or a LoRA adapter's (`general.type` adapter)."""
    arch = header.metadata.get("general.architecture")
    arch = arch if isinstance(arch, str) else ""
    metadata = {
        k: str(v)
        for k, v in header.metadata.items()
        if k.startswith("general.") and not isinstance(v, tuple) and len(str(v)) <= MAX_META_CHARS
    }
    if header.metadata.get("general.type") == "adapter" or any(k.endswith(".lora_a") for k in header.tensors):
        modules = _lora_modules(header, arch, where)
        kind = header.metadata.get("adapter.type")
        types = Counter(header.tensors[k].dtype for m in modules.values() for k in m.keys.values())
        notes = [
            f"GGUF {header.version} {quote(kind if isinstance(kind, str) else 'LoRA', 20)} adapter "
            f"({arch or 'no architecture'}): factors mostly {types.most_common(1)[0][0] if types else None}, "
            f"alpha {_alpha(header.metadata.get('adapter.lora.alpha')) or 'not stored (scale 1)'}; values not read"
        ]
        if arch and arch not in NAMES:
            notes.append(f"llama.cpp's tensor names for {arch} are kept (hfprobe maps {', '.join(sorted(NAMES))})")
        return (_ungated(modules) if arch in _UNGATED else modules), notes, {}, metadata
    modules: dict[str, Module] = {}
    for key, info in header.tensors.items():
        if len(info.shape) < 2 or not key.endswith(".weight"):
            continue
        name = canonical_name(key[: -len(".weight")], arch)
        d_out, d_in = info.shape[-2], info.shape[-1]  # (experts, out, in) for a mixture of experts' stacked weights
        modules[name] = Module(name, "quantized", d_out, d_in, None, None, None, None, {"weight": key}, quant="GGUF")
    modules = _ungated(modules) if arch in _UNGATED else modules
    types = Counter(header.tensors[m.keys["weight"]].dtype for m in modules.values())
    main = types.most_common(1)[0][0] if types else None
    notes = [f"GGUF {header.version} ({arch or 'no architecture'}): tensors mostly {main}; read at their shapes"]
    if arch and arch not in NAMES:
        notes.append(f"llama.cpp's tensor names for {arch} are kept (hfprobe maps {', '.join(sorted(NAMES))})")
    if isinstance(header.metadata.get("split.count"), int) and header.metadata["split.count"] > 1:
        notes.append(f"one part of a split GGUF ({header.metadata['split.count']} parts): its tensors only")
    extra = {"quantized": {"method": "gguf", "bits": None, "type": main, "modules": len(modules)}}
    return modules, notes, extra, metadata

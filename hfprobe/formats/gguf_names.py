"""llama.cpp's tensor names -> transformers', per GGUF architecture (`general.architecture`): the table `gguf.py` reads.

Each table maps a template of llama.cpp's name (`blk.{i}.attn_q`: `{i}` a block, `{e}` an expert) to the module or
tensor transformers' checkpoints name (`model.layers.{i}.self_attn.q_proj`); a tensor's `.weight` or `.bias` follows
its module. Targets are the names a checkpoint on the Hub has (what `save_pretrained` writes), so the registry's name
and shape rules read a conversion as they read the model it was converted from; a mixture's experts, which llama.cpp
stacks (`ffn_gate_exps`), take the per-expert name without its index (`mlp.experts.gate_proj`), read at one expert's
shape. gguf-py's `TensorNameMap` is the oracle of every entry (tests/test_gguf*.py).
"""

from __future__ import annotations

__all__ = ["EXPERTS_2D", "NAMES", "ROWS"]

# LLaMA's decoder: its 2-D weights, then its norms (`ffn_norm` is the norm before the MLP, which LLaMA calls
# `post_attention_layernorm`; llama.cpp's `post_attention_norm` is that name's too where a model has no other)
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
    "output_norm": "model.norm",
    "blk.{i}.attn_norm": "model.layers.{i}.input_layernorm",
    "blk.{i}.ffn_norm": "model.layers.{i}.post_attention_layernorm",
    "blk.{i}.post_attention_norm": "model.layers.{i}.post_attention_layernorm",
    "blk.{i}.post_ffw_norm": "model.layers.{i}.post_feedforward_layernorm",
    "blk.{i}.attn_q_norm": "model.layers.{i}.self_attn.q_norm",
    "blk.{i}.attn_k_norm": "model.layers.{i}.self_attn.k_norm",
}


def _decoder_without(*tensors: str) -> dict[str, str]:
    """`_DECODER` less the tensors (`ffn_gate`, `attn_k`, …) an architecture has none of, or names otherwise."""
    return {k: v for k, v in _DECODER.items() if k.split(".")[-1] not in tensors}


# Gemma 2, 3, 3n and 4 (and OLMo 2's post-norms): a norm before and after each of attention and the MLP
_GEMMA_NORMS = {"blk.{i}.ffn_norm": "model.layers.{i}.pre_feedforward_layernorm"}
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
# one shared expert and its gate (Qwen1.5-MoE, Qwen2-57B-A14B, Qwen3-Next, Qwen3.5's mixtures)
_QWEN_SHARED = {
    **{f"blk.{{i}}.ffn_{w}_shexp": f"model.layers.{{i}}.mlp.shared_expert.{w}_proj" for w in ("gate", "up", "down")},
    "blk.{i}.ffn_gate_inp_shexp": "model.layers.{i}.mlp.shared_expert_gate",
}
# DeepSeek's shared experts (one MLP of several experts' width: DeepSeek-V2 and V3, dots.llm1, ERNIE 4.5's mixtures)
_DEEPSEEK_SHARED = {
    f"blk.{{i}}.ffn_{w}_shexp": f"model.layers.{{i}}.mlp.shared_experts.{w}_proj" for w in ("gate", "up", "down")
}
_GPT_OSS = {
    **_QWEN_MOE,
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.mlp.router",
    **{f"blk.{{i}}.attn_sinks{s}": "model.layers.{i}.self_attn.sinks" for s in ("", ".weight")},
}
# multi-head latent attention (a low-rank query, or one `attn_q`; the key-value latent and its up-projection, which
# newer conversions also split per head into 3-D `attn_k_b` / `attn_v_b`): DeepSeek-V2 and V3, Kimi K2, MiniCPM3
_MLA = {
    "blk.{i}.attn_q_a": "model.layers.{i}.self_attn.q_a_proj",
    "blk.{i}.attn_q_b": "model.layers.{i}.self_attn.q_b_proj",
    "blk.{i}.attn_kv_a_mqa": "model.layers.{i}.self_attn.kv_a_proj_with_mqa",
    "blk.{i}.attn_kv_b": "model.layers.{i}.self_attn.kv_b_proj",
    "blk.{i}.attn_k_b": "model.layers.{i}.self_attn.k_b_proj",
    "blk.{i}.attn_v_b": "model.layers.{i}.self_attn.v_b_proj",
    "blk.{i}.attn_q_a_norm": "model.layers.{i}.self_attn.q_a_layernorm",
    "blk.{i}.attn_kv_a_norm": "model.layers.{i}.self_attn.kv_a_layernorm",
}
# DeepSeek-V2 and V3 (and Kimi K2, Moonlight), llama.cpp's `deepseek2`: latent attention, Qwen's routed experts and
# DeepSeek's shared ones, V3's routing bias
_DEEPSEEK2 = {
    **_decoder_without("attn_k", "attn_v"),
    **_QWEN_MOE,
    **_MLA,
    **_DEEPSEEK_SHARED,
    "blk.{i}.exp_probs_b.bias": "model.layers.{i}.mlp.gate.e_score_correction_bias",
}
# GLM-5 (`glm-dsa`): DeepSeek-V3.2's layout, its sparse attention's indexer beside latent attention, GLM-4.5's
# prediction block (the last, `blk.N.nextn.*`)
_GLM_DSA = {
    **_DEEPSEEK2,
    **{
        f"blk.{{i}}.indexer.{g}": f"model.layers.{{i}}.self_attn.indexer.{t}"
        for g, t in (("attn_q_b", "wq_b"), ("attn_k", "wk"), ("k_norm", "k_norm"), ("proj", "weights_proj"))
    },
}
# GLM-4.5 and 4.6 (`glm4moe`): grouped-query attention over DeepSeek-V3's experts, its multi-token prediction block
# (`blk.N.nextn.*`, N its last) under transformers' names for it
_GLM4_MOE = {
    **_DECODER,
    **{k: v for k, v in _DEEPSEEK2.items() if k.endswith(("_exps", "_shexp", "_gate_inp", "exp_probs_b.bias"))},
    "blk.{i}.nextn.eh_proj": "model.layers.{i}.eh_proj",
    "blk.{i}.nextn.shared_head_head": "model.layers.{i}.shared_head.head",
    "blk.{i}.nextn.enorm": "model.layers.{i}.enorm",
    "blk.{i}.nextn.hnorm": "model.layers.{i}.hnorm",
    "blk.{i}.nextn.shared_head_norm": "model.layers.{i}.shared_head.norm",
}
# LFM2 (`lfm2`, `lfm2moe`): its short convolutions (`shortconv.*` as `conv.*`), attention with an `out_proj` and Meta's
# feed-forward names (`feed_forward.w1`, `operator_norm`, `ffn_norm`); LFM2-8B-A1B's router and stacked experts under
# Mixtral's names
_FFN_W = (("gate", "w1"), ("up", "w3"), ("down", "w2"))
_LFM2 = {
    **_decoder_without("attn_output", "ffn_gate", "ffn_up", "ffn_down", "attn_norm", "ffn_norm", "output_norm"),
    "blk.{i}.attn_output": "model.layers.{i}.self_attn.out_proj",
    **{f"blk.{{i}}.shortconv.{p}": f"model.layers.{{i}}.conv.{p}" for p in ("in_proj", "conv", "out_proj")},
    **{f"blk.{{i}}.ffn_{g}": f"model.layers.{{i}}.feed_forward.{w}" for g, w in _FFN_W},
    "blk.{i}.attn_norm": "model.layers.{i}.operator_norm",
    "blk.{i}.ffn_norm": "model.layers.{i}.ffn_norm",
    "token_embd_norm": "model.embedding_norm",
    "blk.{i}.attn_q_norm": "model.layers.{i}.self_attn.q_layernorm",
    "blk.{i}.attn_k_norm": "model.layers.{i}.self_attn.k_layernorm",
}
_LFM2_MOE = {
    **_LFM2,
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.feed_forward.gate",
    **{f"blk.{{i}}.ffn_{g}_exps": f"model.layers.{{i}}.feed_forward.experts.{w}" for g, w in _FFN_W},
    **{f"blk.{{i}}.exp_probs_b{s}": "model.layers.{i}.feed_forward.expert_bias" for s in ("", ".bias")},
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
    "blk.{i}.ssm_a": "model.layers.{i}.linear_attn.A_log",
    "blk.{i}.ssm_dt.bias": "model.layers.{i}.linear_attn.dt_bias",
    "blk.{i}.ssm_norm": "model.layers.{i}.linear_attn.norm",
}
_QWEN35_MOE = {
    **{k: v for k, v in _QWEN35.items() if not k.startswith("blk.{i}.ffn_") or k.endswith("_norm")},
    **_QWEN_MOE,
    "blk.{i}.ffn_gate_up_exps": "model.layers.{i}.mlp.experts.gate_up_proj",
    **_QWEN_SHARED,
}
# Qwen3-Next (`qwen3next`): Qwen3.5's layout before it, its DeltaNet's projections fused (`in_proj_qkvz`, `in_proj_ba`)
_QWEN35_SPLIT = {"blk.{i}.attn_qkv", "blk.{i}.attn_gate", "blk.{i}.ssm_alpha", "blk.{i}.ssm_beta"}
_QWEN3_NEXT = {
    **{k: v for k, v in _QWEN35_MOE.items() if k not in _QWEN35_SPLIT},
    "blk.{i}.ssm_in": "model.layers.{i}.linear_attn.in_proj_qkvz",
    "blk.{i}.ssm_ba": "model.layers.{i}.linear_attn.in_proj_ba",
}
# Mamba's mixer (llama.cpp's `ssm_*`) under transformers' names for it
_SSM = {
    "in": "in_proj",
    "conv1d": "conv1d",
    "x": "x_proj",
    "dt": "dt_proj",
    "out": "out_proj",
    "a": "A_log",
    "d": "D",
    "norm": "norm",
}
_MAMBA2 = {g: t for g, t in _SSM.items() if g not in ("x", "dt")} | {"dt.bias": "dt_bias"}  # (one bias per head)
_MAMBA = {
    "token_embd": "backbone.embeddings",
    "output": "lm_head",
    "output_norm": "backbone.norm_f",
    "blk.{i}.attn_norm": "backbone.layers.{i}.norm",
    **{f"blk.{{i}}.ssm_{g}": f"backbone.layers.{{i}}.mixer.{t}" for g, t in _SSM.items()},
}
# Granite 4.0's hybrids (`granitehybrid`; its dense models are converted as `granite`): LLaMA's names on attention,
# Mamba-2's under transformers' (`ssm_in` is `mamba.in_proj`), the MLP's and the experts' down projections under their
# checkpoint's names (`shared_mlp.output_linear`, `block_sparse_moe.output_linear`) and their gate and up, which
# llama.cpp splits from `input_linear`, under a split's (`shared_mlp.gate_proj`, `block_sparse_moe.experts.up_proj`;
# a dense model's MLP is LLaMA's `ffn_gate`, `ffn_up`, `ffn_down`); Granite 3's mixtures (`granitemoe`) alike
_GRANITE_HYBRID = {
    **_DECODER,
    **{f"blk.{{i}}.ssm_{g}": f"model.layers.{{i}}.mamba.{t}" for g, t in _MAMBA2.items()},
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.block_sparse_moe.router.layer",
    **{f"blk.{{i}}.ffn_{w}_exps": f"model.layers.{{i}}.block_sparse_moe.experts.{w}_proj" for w in ("gate", "up")},
    "blk.{i}.ffn_down_exps": "model.layers.{i}.block_sparse_moe.output_linear",
    **{f"blk.{{i}}.ffn_{w}_shexp": f"model.layers.{{i}}.shared_mlp.{w}_proj" for w in ("gate", "up")},
    "blk.{i}.ffn_down_shexp": "model.layers.{i}.shared_mlp.output_linear",
}
_GRANITE_MOE = {k: v for k, v in _GRANITE_HYBRID.items() if not k.startswith("blk.{i}.ssm_") and "_shexp" not in k}
# Jamba and Falcon-H1 (`jamba`, `falcon-h1`): attention or Mamba in each layer beside an MLP under `feed_forward`
# (Jamba's mixtures too), normed by `pre_ff_layernorm`
_JAMBA = {
    **_decoder_without("ffn_gate", "ffn_up", "ffn_down", "ffn_norm", "output_norm"),
    **{f"blk.{{i}}.ffn_{w}": f"model.layers.{{i}}.feed_forward.{w}_proj" for w in ("gate", "up", "down")},
    **{f"blk.{{i}}.ffn_{w}_exps": f"model.layers.{{i}}.feed_forward.experts.{w}_proj" for w in ("gate", "up", "down")},
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.feed_forward.router",
    "blk.{i}.ffn_norm": "model.layers.{i}.pre_ff_layernorm",
    "output_norm": "model.final_layernorm",
    **{f"blk.{{i}}.ssm_{g}": f"model.layers.{{i}}.mamba.{t}" for g, t in _SSM.items()},
    **{f"blk.{{i}}.ssm_{g}_norm": f"model.layers.{{i}}.mamba.{g}_layernorm" for g in ("b", "c", "dt")},
}
# Nemotron-H (`nemotron_h`, `nemotron_h_moe`): one mixer per block under transformers' names
# (`backbone.layers.N.mixer`): Mamba-2, attention, a squared-ReLU MLP (no gate) or a mixture with a shared expert
_NEMOTRON_H = {
    "token_embd": "backbone.embeddings",
    "output": "lm_head",
    "output_norm": "backbone.norm_f",
    "blk.{i}.attn_norm": "backbone.layers.{i}.norm",
    **{f"blk.{{i}}.attn_{p}": f"backbone.layers.{{i}}.mixer.{p}_proj" for p in "qkv"},
    "blk.{i}.attn_output": "backbone.layers.{i}.mixer.o_proj",
    **{f"blk.{{i}}.ffn_{w}": f"backbone.layers.{{i}}.mixer.{w}_proj" for w in ("up", "down")},
    **{f"blk.{{i}}.ssm_{g}": f"backbone.layers.{{i}}.mixer.{t}" for g, t in _MAMBA2.items()},
}
_NEMOTRON_H_MOE = {
    **_NEMOTRON_H,
    "blk.{i}.ffn_gate_inp": "backbone.layers.{i}.mixer.gate",
    "blk.{i}.exp_probs_b.bias": "backbone.layers.{i}.mixer.gate.e_score_correction_bias",
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
    **_GEMMA_NORMS,
    "blk.{i}.laurel_l": "model.layers.{i}.laurel.linear_left",
    "blk.{i}.laurel_r": "model.layers.{i}.laurel.linear_right",
    "blk.{i}.laurel_post_norm": "model.layers.{i}.laurel.post_laurel_norm",
    "blk.{i}.altup_router": "model.layers.{i}.altup.modality_router",
    "blk.{i}.altup_router_norm": "model.layers.{i}.altup.router_norm",
    "blk.{i}.altup_predict_coef": "model.layers.{i}.altup.prediction_coefs",
    "blk.{i}.altup_correct_coef": "model.layers.{i}.altup.correction_coefs",
    "blk.{i}.altup_correct_scale": "model.layers.{i}.altup.correct_output_scale",
    "blk.{i}.inp_gate": "model.layers.{i}.per_layer_input_gate",
    "blk.{i}.proj": "model.layers.{i}.per_layer_projection",
    "blk.{i}.post_norm": "model.layers.{i}.post_per_layer_input_norm",
    "per_layer_token_embd": "model.embed_tokens_per_layer",
    "per_layer_model_proj": "model.per_layer_model_projection",
    "per_layer_proj_norm": "model.per_layer_projection_norm",
    "altup_proj": "model.altup_projections",
    "altup_unembd_proj": "model.altup_unembed_projections",
}
# Gemma 4 (`gemma4`): Gemma's decoder, E2B's and E4B's per-layer embeddings under Gemma 3n's names, 26B-A4B's router
# and its experts' gate and up fused and stacked (`ffn_gate_up_exps`) beside each layer's dense MLP
_GEMMA4 = {
    **_DECODER,
    **_GEMMA_NORMS,
    **{
        k: _GEMMA3N[k]
        for k in ("blk.{i}.inp_gate", "blk.{i}.proj", "blk.{i}.post_norm", "per_layer_token_embd")
        + ("per_layer_model_proj", "per_layer_proj_norm")
    },
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.router.proj",
    "blk.{i}.ffn_gate_up_exps": "model.layers.{i}.experts.gate_up_proj",
    "blk.{i}.ffn_down_exps": "model.layers.{i}.experts.down_proj",
}
# BERT (embedding models: BGE, MiniLM, E5 as llama.cpp serves them), under BertModel's names
_BERT = {
    "token_embd": "embeddings.word_embeddings",
    "token_types": "embeddings.token_type_embeddings",
    "position_embd": "embeddings.position_embeddings",
    "token_embd_norm": "embeddings.LayerNorm",
    "blk.{i}.attn_q": "encoder.layer.{i}.attention.self.query",
    "blk.{i}.attn_k": "encoder.layer.{i}.attention.self.key",
    "blk.{i}.attn_v": "encoder.layer.{i}.attention.self.value",
    "blk.{i}.attn_output": "encoder.layer.{i}.attention.output.dense",
    "blk.{i}.attn_output_norm": "encoder.layer.{i}.attention.output.LayerNorm",
    "blk.{i}.ffn_up": "encoder.layer.{i}.intermediate.dense",
    "blk.{i}.ffn_down": "encoder.layer.{i}.output.dense",
    "blk.{i}.layer_output_norm": "encoder.layer.{i}.output.LayerNorm",
}
# the older decoders, under their transformers names: GPT-2's and StarCoder's Conv1D (`c_attn`, read either way
# round), Falcon's and BLOOM's `query_key_value`, GPT-NeoX's (Pythia's), GPT-J's, MPT's; Phi-2's separate q / k / v
# (a conversion of Microsoft's own checkpoint fuses them, `attn_qkv`, which transformers has no name for: kept)
_GPT2 = {
    "token_embd": "transformer.wte",
    "position_embd": "transformer.wpe",
    "output": "lm_head",
    "output_norm": "transformer.ln_f",
    "blk.{i}.attn_norm": "transformer.h.{i}.ln_1",
    "blk.{i}.attn_qkv": "transformer.h.{i}.attn.c_attn",
    "blk.{i}.attn_output": "transformer.h.{i}.attn.c_proj",
    "blk.{i}.ffn_norm": "transformer.h.{i}.ln_2",
    "blk.{i}.ffn_up": "transformer.h.{i}.mlp.c_fc",
    "blk.{i}.ffn_down": "transformer.h.{i}.mlp.c_proj",
}
_GPTJ = {
    **{k: v for k, v in _GPT2.items() if k != "position_embd" and "ffn_norm" not in k},
    **{f"blk.{{i}}.attn_{p}": f"transformer.h.{{i}}.attn.{p}_proj" for p in "qkv"},
    "blk.{i}.attn_output": "transformer.h.{i}.attn.out_proj",
    "blk.{i}.ffn_up": "transformer.h.{i}.mlp.fc_in",
    "blk.{i}.ffn_down": "transformer.h.{i}.mlp.fc_out",
}
_QWEN = {  # Qwen (1), `qwen`: GPT-2's fused attention names, its gated MLP's `w1` (up) and `w2` (gate)
    **{k: v for k, v in _GPT2.items() if not k.startswith(("position_embd", "blk.{i}.ffn_"))},
    "blk.{i}.ffn_norm": "transformer.h.{i}.ln_2",
    "blk.{i}.ffn_up": "transformer.h.{i}.mlp.w1",
    "blk.{i}.ffn_gate": "transformer.h.{i}.mlp.w2",
    "blk.{i}.ffn_down": "transformer.h.{i}.mlp.c_proj",
}
_FALCON = {
    "token_embd": "transformer.word_embeddings",
    "output": "lm_head",
    "output_norm": "transformer.ln_f",
    "blk.{i}.attn_norm": "transformer.h.{i}.input_layernorm",
    "blk.{i}.attn_norm_2": "transformer.h.{i}.ln_mlp",
    "blk.{i}.attn_qkv": "transformer.h.{i}.self_attention.query_key_value",
    "blk.{i}.attn_output": "transformer.h.{i}.self_attention.dense",
    "blk.{i}.ffn_up": "transformer.h.{i}.mlp.dense_h_to_4h",
    "blk.{i}.ffn_down": "transformer.h.{i}.mlp.dense_4h_to_h",
}
_BLOOM = {
    **{k: v for k, v in _FALCON.items() if k != "blk.{i}.attn_norm_2"},
    "token_embd_norm": "transformer.word_embeddings_layernorm",
    "blk.{i}.ffn_norm": "transformer.h.{i}.post_attention_layernorm",
}
_GPT_NEOX = {
    "token_embd": "gpt_neox.embed_in",
    "output": "embed_out",
    "output_norm": "gpt_neox.final_layer_norm",
    "blk.{i}.attn_norm": "gpt_neox.layers.{i}.input_layernorm",
    "blk.{i}.attn_qkv": "gpt_neox.layers.{i}.attention.query_key_value",
    "blk.{i}.attn_output": "gpt_neox.layers.{i}.attention.dense",
    "blk.{i}.ffn_norm": "gpt_neox.layers.{i}.post_attention_layernorm",
    "blk.{i}.ffn_up": "gpt_neox.layers.{i}.mlp.dense_h_to_4h",
    "blk.{i}.ffn_down": "gpt_neox.layers.{i}.mlp.dense_4h_to_h",
}
_MPT = {
    "token_embd": "transformer.wte",
    "output": "lm_head",
    "output_norm": "transformer.norm_f",
    "blk.{i}.attn_norm": "transformer.blocks.{i}.norm_1",
    "blk.{i}.attn_qkv": "transformer.blocks.{i}.attn.Wqkv",
    "blk.{i}.attn_output": "transformer.blocks.{i}.attn.out_proj",
    "blk.{i}.ffn_norm": "transformer.blocks.{i}.norm_2",
    "blk.{i}.ffn_up": "transformer.blocks.{i}.ffn.up_proj",
    "blk.{i}.ffn_down": "transformer.blocks.{i}.ffn.down_proj",
}
_PHI2 = {
    **_decoder_without("ffn_gate", "output_norm"),
    "blk.{i}.attn_output": "model.layers.{i}.self_attn.dense",
    "blk.{i}.ffn_up": "model.layers.{i}.mlp.fc1",
    "blk.{i}.ffn_down": "model.layers.{i}.mlp.fc2",
    "output_norm": "model.final_layernorm",
}
# ChatGLM 2 and 3 and GLM-4-9B in ChatGLM's own layout (`chatglm`; GLM-4-0414's transformers layout is `glm4`):
# the fused `query_key_value`, and `dense_h_to_4h` holding gate and up, under `transformer.encoder.layers.N`
_CHATGLM = {
    "token_embd": "transformer.embedding.word_embeddings",
    "output": "transformer.output_layer",
    "output_norm": "transformer.encoder.final_layernorm",
    "blk.{i}.attn_norm": "transformer.encoder.layers.{i}.input_layernorm",
    "blk.{i}.ffn_norm": "transformer.encoder.layers.{i}.post_attention_layernorm",
    "blk.{i}.attn_qkv": "transformer.encoder.layers.{i}.self_attention.query_key_value",
    "blk.{i}.attn_output": "transformer.encoder.layers.{i}.self_attention.dense",
    "blk.{i}.ffn_up": "transformer.encoder.layers.{i}.mlp.dense_h_to_4h",
    "blk.{i}.ffn_down": "transformer.encoder.layers.{i}.mlp.dense_4h_to_h",
}
# T5 (`t5`) and its encoder alone (`t5encoder`: the text encoders FLUX, SD 3 and Wan take, T5 v1.1 XXL's and UMT5
# XXL's, as ComfyUI users load them), under T5ForConditionalGeneration's names; a gated feed-forward's gate and up
# (`wi_0`, `wi_1`: T5 v1.1, Flan-T5, mT5, UMT5), T5 1.0's one `wi` where a file has no gate (`gguf._ungated`)
_T5_ENCODER = {
    "token_embd": "shared",
    **{f"enc.blk.{{i}}.attn_{m}": f"encoder.block.{{i}}.layer.0.SelfAttention.{m}" for m in "qkvo"},
    "enc.blk.{i}.attn_rel_b": "encoder.block.{i}.layer.0.SelfAttention.relative_attention_bias",
    "enc.blk.{i}.attn_norm": "encoder.block.{i}.layer.0.layer_norm",
    "enc.blk.{i}.ffn_gate": "encoder.block.{i}.layer.1.DenseReluDense.wi_0",
    "enc.blk.{i}.ffn_up": "encoder.block.{i}.layer.1.DenseReluDense.wi_1",
    "enc.blk.{i}.ffn_down": "encoder.block.{i}.layer.1.DenseReluDense.wo",
    "enc.blk.{i}.ffn_norm": "encoder.block.{i}.layer.1.layer_norm",
    "enc.output_norm": "encoder.final_layer_norm",
}
_T5 = {
    **_T5_ENCODER,
    "output": "lm_head",
    **{f"dec.blk.{{i}}.attn_{m}": f"decoder.block.{{i}}.layer.0.SelfAttention.{m}" for m in "qkvo"},
    "dec.blk.{i}.attn_rel_b": "decoder.block.{i}.layer.0.SelfAttention.relative_attention_bias",
    "dec.blk.{i}.attn_norm": "decoder.block.{i}.layer.0.layer_norm",
    **{f"dec.blk.{{i}}.cross_attn_{m}": f"decoder.block.{{i}}.layer.1.EncDecAttention.{m}" for m in "qkvo"},
    "dec.blk.{i}.cross_attn_norm": "decoder.block.{i}.layer.1.layer_norm",
    "dec.blk.{i}.ffn_gate": "decoder.block.{i}.layer.2.DenseReluDense.wi_0",
    "dec.blk.{i}.ffn_up": "decoder.block.{i}.layer.2.DenseReluDense.wi_1",
    "dec.blk.{i}.ffn_down": "decoder.block.{i}.layer.2.DenseReluDense.wo",
    "dec.blk.{i}.ffn_norm": "decoder.block.{i}.layer.2.layer_norm",
    "dec.output_norm": "decoder.final_layer_norm",
}
# Hunyuan's dense models and mixtures (`hunyuan-dense`, `hunyuan-moe`): LLaMA's names, its query and key norms
# `query_layernorm`, `key_layernorm`, the router `mlp.gate.wg` and the shared expert `mlp.shared_mlp`
_HUNYUAN = {
    **_DECODER,
    "blk.{i}.attn_q_norm": "model.layers.{i}.self_attn.query_layernorm",
    "blk.{i}.attn_k_norm": "model.layers.{i}.self_attn.key_layernorm",
}
_HUNYUAN_MOE = {
    **_HUNYUAN,
    **_QWEN_MOE,
    "blk.{i}.ffn_gate_inp": "model.layers.{i}.mlp.gate.wg",
    **{f"blk.{{i}}.ffn_{w}_shexp": f"model.layers.{{i}}.mlp.shared_mlp.{w}_proj" for w in ("gate", "up", "down")},
}
# ModernBERT (`modern-bert`: the embedding models built on it), under ModernBertModel's names; `ffn_up` holds the
# gate and up of its GeGLU (`mlp.Wi`)
_MODERN_BERT = {
    "token_embd": "embeddings.tok_embeddings",
    "token_embd_norm": "embeddings.norm",
    "blk.{i}.attn_norm": "layers.{i}.attn_norm",
    "blk.{i}.attn_qkv": "layers.{i}.attn.Wqkv",
    "blk.{i}.attn_output": "layers.{i}.attn.Wo",
    "blk.{i}.ffn_norm": "layers.{i}.mlp_norm",
    "blk.{i}.ffn_up": "layers.{i}.mlp.Wi",
    "blk.{i}.ffn_down": "layers.{i}.mlp.Wo",
    "output_norm": "final_norm",
}
# EmbeddingGemma (`gemma-embedding`): Gemma 3's decoder saved as its bare model (`layers.N`, no `model.`); its
# sentence-transformers projections (`dense_2`, `dense_3`) live in other files and keep their names
_GEMMA_EMBEDDING = {k: v.removeprefix("model.") for k, v in {**_DECODER, **_GEMMA_NORMS}.items() if k != "output"}
# EXAONE 3 and 3.5 (`exaone`): LLaMA's decoder under its own code's names (GPT-Neo's `transformer.h.N.attn.attention`,
# the gate and up `mlp.c_fc_0`, `c_fc_1`), which its checkpoints keep and transformers writes back on saving
_EXAONE = {
    "token_embd": "transformer.wte",
    "output": "lm_head",
    "output_norm": "transformer.ln_f",
    "blk.{i}.attn_norm": "transformer.h.{i}.ln_1",
    **{f"blk.{{i}}.attn_{p}": f"transformer.h.{{i}}.attn.attention.{p}_proj" for p in "qkv"},
    "blk.{i}.attn_output": "transformer.h.{i}.attn.attention.out_proj",
    "blk.{i}.ffn_norm": "transformer.h.{i}.ln_2",
    "blk.{i}.ffn_gate": "transformer.h.{i}.mlp.c_fc_0",
    "blk.{i}.ffn_up": "transformer.h.{i}.mlp.c_fc_1",
    "blk.{i}.ffn_down": "transformer.h.{i}.mlp.c_proj",
}
# general.architecture -> its names (Mistral 7B and Mixtral are converted as `llama`; Phi-3 fuses qkv and gate/up;
# Qwen2-VL's and Qwen2.5-VL's language models are `qwen2vl`, Qwen3-VL's `qwen3vl` and `qwen3vlmoe`, Qwen3.5's
# `qwen35` and `qwen35moe`, Ministral 3's `mistral3`; Command R's `command-r`, Command R7B's and Command A's `cohere2`)
# InternLM2 and Baichuan (`internlm2`, `baichuan`): LLaMA's layout, the query, key and value one tensor in the
# checkpoint (`attention.wqkv`, `self_attn.W_pack`), which llama.cpp's converter splits by rows into `attn_q`, `attn_k`
# and `attn_v`: the three take its name and are read as its rows (`ROWS`)
_INTERNLM2 = {
    "token_embd": "model.tok_embeddings",
    "output": "output",
    "output_norm": "model.norm",
    "blk.{i}.attn_norm": "model.layers.{i}.attention_norm",
    **{f"blk.{{i}}.attn_{p}": "model.layers.{i}.attention.wqkv" for p in "qkv"},
    "blk.{i}.attn_output": "model.layers.{i}.attention.wo",
    "blk.{i}.ffn_norm": "model.layers.{i}.ffn_norm",
    **{f"blk.{{i}}.ffn_{g}": f"model.layers.{{i}}.feed_forward.{w}" for g, w in _FFN_W},
}
_BAICHUAN = {
    **_decoder_without("attn_q", "attn_k", "attn_v"),
    **{f"blk.{{i}}.attn_{p}": "model.layers.{i}.self_attn.W_pack" for p in "qkv"},
}
# Nomic BERT (`nomic-bert`; Ollama's nomic-embed-text) and its mixture (`nomic-bert-moe`): FlashAttention's BERT
# names, the gated MLP's `fc11` (up) and `fc12` (gate); the mixture's experts one 2-D tensor a projection (`EXPERTS_2D`)
_NOMIC_BERT = {
    "token_embd": "embeddings.word_embeddings",
    "token_types": "embeddings.token_type_embeddings",
    "token_embd_norm": "emb_ln",
    "blk.{i}.attn_qkv": "encoder.layers.{i}.attn.Wqkv",
    "blk.{i}.attn_output": "encoder.layers.{i}.attn.out_proj",
    "blk.{i}.attn_output_norm": "encoder.layers.{i}.norm1",
    "blk.{i}.ffn_up": "encoder.layers.{i}.mlp.fc11",
    "blk.{i}.ffn_gate": "encoder.layers.{i}.mlp.fc12",
    "blk.{i}.ffn_down": "encoder.layers.{i}.mlp.fc2",
    "blk.{i}.layer_output_norm": "encoder.layers.{i}.norm2",
}
_NOMIC_BERT_MOE = {
    **{k: v for k, v in _NOMIC_BERT.items() if "ffn_" not in k},
    "blk.{i}.ffn_up": "encoder.layers.{i}.mlp.fc1",
    "blk.{i}.ffn_down": "encoder.layers.{i}.mlp.fc2",
    "blk.{i}.ffn_gate_inp": "encoder.layers.{i}.mlp.router.layer",
    "blk.{i}.ffn_up_exps.weight": "encoder.layers.{i}.mlp.experts.mlp.w1",  # (parameters: no `.weight`)
    "blk.{i}.ffn_down_exps.weight": "encoder.layers.{i}.mlp.experts.mlp.w2",
}
# JinaBERT v2 (`jina-bert-v2`): BERT's attention names, its GEGLU MLP `mlp.gated_layers`, which the converter splits
# into `ffn_up` and `ffn_gate` (`ROWS`); the code model's query and key norms; jina-embeddings-v3 (`jina-bert-v3`) in
# the names transformers saves it under (`encoder.layers.N.mixer.Wqkv`, its task adapters not converted)
_JINA_BERT_V2 = {
    "token_embd": "embeddings.word_embeddings",
    "token_types": "embeddings.token_type_embeddings",
    "token_embd_norm": "embeddings.LayerNorm",
    **{
        f"blk.{{i}}.attn_{p}": f"encoder.layer.{{i}}.attention.self.{n}"
        for p, n in zip("qkv", ("query", "key", "value"))
    },
    **{f"blk.{{i}}.attn_{p}_norm": f"encoder.layer.{{i}}.attention.self.layer_norm_{p}" for p in "qk"},
    "blk.{i}.attn_output": "encoder.layer.{i}.attention.output.dense",
    "blk.{i}.attn_output_norm": "encoder.layer.{i}.attention.output.LayerNorm",
    "blk.{i}.attn_norm_2": "encoder.layer.{i}.layer_norm_1",
    **{f"blk.{{i}}.ffn_{w}": "encoder.layer.{i}.mlp.gated_layers" for w in ("up", "gate")},
    "blk.{i}.ffn_down": "encoder.layer.{i}.mlp.wo",
    "blk.{i}.layer_output_norm": "encoder.layer.{i}.mlp.layernorm",
}
_JINA_BERT_V3 = {
    **{k: v for k, v in _NOMIC_BERT.items() if "ffn_" not in k and "attn_" not in k},
    "blk.{i}.attn_qkv": "encoder.layers.{i}.mixer.Wqkv",
    "blk.{i}.attn_output": "encoder.layers.{i}.mixer.out_proj",
    "blk.{i}.attn_output_norm": "encoder.layers.{i}.norm1",
    "blk.{i}.ffn_up": "encoder.layers.{i}.mlp.fc1",
    "blk.{i}.ffn_down": "encoder.layers.{i}.mlp.fc2",
}
ROWS = frozenset({"internlm2", "baichuan", "jina-bert-v2"})
# where a checkpoint stacks a projection's experts in one 2-D tensor ([experts x rows, in]: DBRX's, Nomic's mixture),
# llama.cpp's [experts, rows, in] is read as that tensor again (its down projection's [experts, in, rows] transposed)
EXPERTS_2D = frozenset({"nomic-bert-moe", "dbrx"})
# Kimi-Linear (`kimi-linear`): Kimi Delta Attention (a short convolution on each of the queries, keys and values,
# low-rank forget and output gates: llama.cpp's `ssm_*`) in most layers, latent attention in the rest, a mixture of
# Mixtral's names with DeepSeek's shared experts, all under `block_sparse_moe`
_KIMI_LINEAR = {
    **_decoder_without("ffn_gate", "ffn_up", "ffn_down"),
    **{k: v for k, v in _MLA.items() if "attn_q_" not in k},
    **{f"blk.{{i}}.ssm_conv1d_{p}": f"model.layers.{{i}}.self_attn.{p}_conv1d" for p in "qkv"},
    **{f"blk.{{i}}.ssm_{g}_{ab}": f"model.layers.{{i}}.self_attn.{g}_{ab}_proj" for g in "fg" for ab in "ab"},
    "blk.{i}.ssm_beta": "model.layers.{i}.self_attn.b_proj",
    "blk.{i}.ssm_a": "model.layers.{i}.self_attn.A_log",
    "blk.{i}.ssm_dt.bias": "model.layers.{i}.self_attn.dt_bias",
    "blk.{i}.ssm_norm": "model.layers.{i}.self_attn.o_norm",
    **{k: v for k, v in _MIXTRAL.items() if "{e}" not in k},
    "blk.{i}.exp_probs_b.bias": "model.layers.{i}.block_sparse_moe.gate.e_score_correction_bias",
    **{k: v.replace(".mlp.", ".block_sparse_moe.") for k, v in _DEEPSEEK_SHARED.items()},
    **{f"blk.{{i}}.ffn_{w}": f"model.layers.{{i}}.mlp.{w}_proj" for w in ("gate", "up", "down")},
}

NAMES: dict[str, dict[str, str]] = {
    "llama": {**_DECODER, **_MIXTRAL},
    "llama4": _LLAMA4,
    "mistral3": _DECODER,
    "qwen2": _DECODER,
    "qwen3": _DECODER,
    "qwen2moe": {**_DECODER, **_QWEN_MOE, **_QWEN_SHARED},
    "qwen3moe": {**_DECODER, **_QWEN_MOE},
    "qwen3next": _QWEN3_NEXT,
    "qwen2vl": _DECODER,
    "qwen3vl": _DECODER,
    "qwen3vlmoe": {**_DECODER, **_QWEN_MOE},
    "qwen35": _QWEN35,
    "qwen35moe": _QWEN35_MOE,
    "lfm2": _LFM2,
    "lfm2moe": _LFM2_MOE,
    "smollm3": _DECODER,
    "phi2": _PHI2,
    "phi3": {
        **_decoder_without("attn_q", "attn_k", "attn_v", "ffn_gate"),
        "blk.{i}.attn_qkv": "model.layers.{i}.self_attn.qkv_proj",
        "blk.{i}.ffn_up": "model.layers.{i}.mlp.gate_up_proj",
    },
    "gpt2": _GPT2,
    "qwen": _QWEN,
    "starcoder": _GPT2,
    "gptj": _GPTJ,
    "gptneox": _GPT_NEOX,
    "mpt": _MPT,
    "falcon": _FALCON,
    "bloom": _BLOOM,
    "t5": _T5,
    "t5encoder": _T5_ENCODER,
    "gpt-oss": {**_DECODER, **_GPT_OSS},
    "deepseek2": _DEEPSEEK2,
    "minicpm3": {**_decoder_without("attn_q", "attn_k", "attn_v"), **_MLA},
    "glm4moe": _GLM4_MOE,
    "glm-dsa": {**_GLM_DSA, **{k: v for k, v in _GLM4_MOE.items() if ".nextn." in k}},
    "mistral4": {**_DEEPSEEK2, "blk.{i}.ffn_gate_up_exps": "model.layers.{i}.mlp.experts.gate_up_proj"},
    "dots1": {
        **_DECODER,
        **_QWEN_MOE,
        **_DEEPSEEK_SHARED,
        "blk.{i}.exp_probs_b.bias": _DEEPSEEK2["blk.{i}.exp_probs_b.bias"],
    },
    "ernie4_5": _DECODER,
    "ernie4_5-moe": {
        **_DECODER,
        **_QWEN_MOE,
        **_DEEPSEEK_SHARED,
        "blk.{i}.exp_probs_b.bias": "model.layers.{i}.mlp.moe_statics.e_score_correction_bias",
    },
    "chatglm": _CHATGLM,
    "bert": _BERT,
    "gemma": _DECODER,
    "gemma2": {**_DECODER, **_GEMMA_NORMS},
    "gemma3": {**_DECODER, **_GEMMA_NORMS},
    "gemma3n": _GEMMA3N,
    "gemma4": _GEMMA4,
    "granite": _DECODER,
    "granitemoe": _GRANITE_MOE,
    "granitehybrid": _GRANITE_HYBRID,
    "nemotron": _decoder_without("ffn_gate"),  # (an MLP of up and down: squared ReLU)
    "nemotron_h": _NEMOTRON_H,
    "nemotron_h_moe": _NEMOTRON_H_MOE,
    "mamba": _MAMBA,
    "mamba2": {
        **{k: v for k, v in _MAMBA.items() if not k.startswith(("blk.{i}.ssm_x", "blk.{i}.ssm_dt"))},
        "blk.{i}.ssm_dt.bias": "backbone.layers.{i}.mixer.dt_bias",
    },
    "jamba": _JAMBA,
    "falcon-h1": {**_JAMBA, "blk.{i}.ssm_dt.bias": "model.layers.{i}.mamba.dt_bias"},  # (Mamba-2's mixer)
    "olmo": _DECODER,
    "olmo2": {**_DECODER, **_GEMMA_NORMS},
    "olmoe": {**_DECODER, **_QWEN_MOE},
    "command-r": _DECODER,
    "cohere2": _DECODER,
    "exaone": _EXAONE,
    "exaone4": _DECODER,
    "seed_oss": _DECODER,
    "stablelm": _DECODER,
    "arcee": _decoder_without("ffn_gate"),  # (an MLP of up and down: squared ReLU)
    "apertus": {
        **_decoder_without("ffn_gate", "attn_norm", "ffn_norm"),
        "blk.{i}.attn_norm": "model.layers.{i}.attention_layernorm",
        "blk.{i}.ffn_norm": "model.layers.{i}.feedforward_layernorm",
    },
    "bitnet": {
        **_DECODER,
        "blk.{i}.attn_sub_norm": "model.layers.{i}.self_attn.attn_sub_norm",
        "blk.{i}.ffn_sub_norm": "model.layers.{i}.mlp.ffn_sub_norm",
    },
    "afmoe": {
        **_DECODER,
        **_QWEN_MOE,
        **_DEEPSEEK_SHARED,
        "blk.{i}.attn_gate": "model.layers.{i}.self_attn.gate_proj",
        "blk.{i}.ffn_gate_inp": "model.layers.{i}.mlp.router.gate",
        **{f"blk.{{i}}.exp_probs_b{s}": "model.layers.{i}.mlp.expert_bias" for s in ("", ".bias")},
        "blk.{i}.ffn_norm": "model.layers.{i}.pre_mlp_layernorm",
        "blk.{i}.post_ffw_norm": "model.layers.{i}.post_mlp_layernorm",
    },
    "minimax-m2": {
        **_DECODER,
        **{k: v for k, v in _MIXTRAL.items() if "{e}" not in k},
        "blk.{i}.exp_probs_b.bias": "model.layers.{i}.block_sparse_moe.e_score_correction_bias",
    },
    "hunyuan-dense": _HUNYUAN,
    "hunyuan-moe": _HUNYUAN_MOE,
    "modern-bert": _MODERN_BERT,
    "gemma-embedding": _GEMMA_EMBEDDING,
    "nomic-bert": _NOMIC_BERT,
    "nomic-bert-moe": _NOMIC_BERT_MOE,
    "jina-bert-v2": _JINA_BERT_V2,
    "jina-bert-v3": _JINA_BERT_V3,
    "dbrx": {
        "token_embd": "transformer.wte",
        "output": "lm_head",
        "output_norm": "transformer.norm_f",
        "blk.{i}.attn_norm": "transformer.blocks.{i}.norm_attn_norm.norm_1",
        "blk.{i}.attn_qkv": "transformer.blocks.{i}.norm_attn_norm.attn.Wqkv",
        "blk.{i}.attn_output": "transformer.blocks.{i}.norm_attn_norm.attn.out_proj",
        "blk.{i}.attn_output_norm": "transformer.blocks.{i}.norm_attn_norm.norm_2",
        "blk.{i}.ffn_gate_inp": "transformer.blocks.{i}.ffn.router.layer",
        "blk.{i}.ffn_gate_exps.weight": "transformer.blocks.{i}.ffn.experts.mlp.w1",  # (parameters: no `.weight`)
        "blk.{i}.ffn_up_exps.weight": "transformer.blocks.{i}.ffn.experts.mlp.v1",
        "blk.{i}.ffn_down_exps.weight": "transformer.blocks.{i}.ffn.experts.mlp.w2",
    },
    "internlm2": _INTERNLM2,
    "baichuan": _BAICHUAN,
    "kimi-linear": _KIMI_LINEAR,
    "phimoe": {**_DECODER, **_MIXTRAL},  # (Phi-3.5-MoE: LLaMA's attention and norms, Mixtral's experts)
    "glm4": {  # GLM-4 in transformers' layout (GLM-4-9B-0414, GLM-Z1): its gate and up fused in `ffn_up`, four norms
        **_decoder_without("ffn_gate", "ffn_up"),
        "blk.{i}.ffn_up": "model.layers.{i}.mlp.gate_up_proj",
        "blk.{i}.post_attention_norm": "model.layers.{i}.post_self_attn_layernorm",
        "blk.{i}.post_ffw_norm": "model.layers.{i}.post_mlp_layernorm",
    },
    "starcoder2": {  # no gate: its MLP is `c_fc` / `c_proj`
        **_decoder_without("ffn_gate", "ffn_up", "ffn_down"),
        "blk.{i}.ffn_up": "model.layers.{i}.mlp.c_fc",
        "blk.{i}.ffn_down": "model.layers.{i}.mlp.c_proj",
    },
}

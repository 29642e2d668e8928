"""torchtune's own LoRA and DoRA adapters: `adapter_model.pt` (`adapter_0.pt` before torchtune 0.3).

torchtune keeps every decoder-only model it trains (Llama 2 / 3, Mistral, Qwen2, Gemma, Phi-3) in one module
layout: `layers.N.attn.q_proj`, `attn.output_proj`, `mlp.w1` / `w2` / `w3`, `tok_embeddings`, `output`, with
`.lora_a.weight` [r, in] and `.lora_b.weight` [out, r] (PEFT's orientation, lower case) and DoRA's `.magnitude`.
It also saves a PEFT copy (`adapter_model.safetensors`, which `pick_weights` prefers), but not for Phi-3 / Phi-4
and Llama 3.2 Vision, and not with its Meta-format checkpointer: those runs leave only this file.

Names are mapped to transformers' (`model.layers.N.self_attn.q_proj`, torchtune's `_FROM_HF` table read the
other way), so the tree is read as for the PEFT adapter of the same run; names the table does not hold (vision
encoders, fusion layers) are kept as written. Alpha is not in the file: torchtune's PEFT `adapter_config.json`
beside it gives `lora_alpha`, else scale 1 is assumed and noted. Where torchtune's rotary embedding is
interleaved (Llama, Mistral, Gemma), its q_proj / k_proj rows are in another order within each head than
transformers' (its PEFT export permutes them); their ΔW is read as stored, and a note says so.
"""

from __future__ import annotations

import re

from .base import TensorStore
from .lora import build_lora_modules
from .peft import add_full_modules, canonical_modules

# torchtune's module names -> transformers' (LLaMA-style decoders), from torchtune.models.convert_weights._FROM_HF
_TO_HF = (
    (re.compile(r"^tok_embeddings$"), "model.embed_tokens"),
    (re.compile(r"^layers\.(\d+)\.attn\.([qkv])_proj$"), r"model.layers.\1.self_attn.\2_proj"),
    (re.compile(r"^layers\.(\d+)\.attn\.output_proj$"), r"model.layers.\1.self_attn.o_proj"),
    (re.compile(r"^layers\.(\d+)\.mlp\.w1$"), r"model.layers.\1.mlp.gate_proj"),
    (re.compile(r"^layers\.(\d+)\.mlp\.w3$"), r"model.layers.\1.mlp.up_proj"),
    (re.compile(r"^layers\.(\d+)\.mlp\.w2$"), r"model.layers.\1.mlp.down_proj"),
    (re.compile(r"^output$"), "lm_head"),
)
_ROLES = {"lora_a.weight": "lora_A.weight", "lora_b.weight": "lora_B.weight", "magnitude": "lora_magnitude_vector"}


def is_torchtune(keys: list[str]) -> bool:
    """torchtune's lower-case factor names with `.weight` (mlx-lm's `.lora_a` has none)."""
    return any(k.endswith((".lora_a.weight", ".lora_b.weight")) for k in keys)


def hf_name(module: str) -> str:
    """A torchtune module name as transformers names it; others as written.

    >>> hf_name("layers.3.attn.output_proj"), hf_name("layers.0.mlp.w3"), hf_name("encoder.proj")
    ('model.layers.3.self_attn.o_proj', 'model.layers.0.mlp.up_proj', 'encoder.proj')
    """
    for pattern, new in _TO_HF:
        if pattern.match(module):
            return pattern.sub(new, module)
    return module


def read_torchtune(store: TensorStore, config: dict | None, where: str, model_type: str | None = None):
    """Modules of a torchtune adapter; returns (modules, notes)."""
    renamed: dict[str, str] = {}
    for key in store.raw:
        role = next((r for r in _ROLES if key.endswith("." + r)), None)
        if role is None:
            module, _, tail = key.rpartition(".")
            renamed[f"{hf_name(module)}.{tail}" if module else key] = key
        else:
            renamed[f"{hf_name(key[: -len(role) - 1])}.{_ROLES[role]}"] = key
    cfg = config if isinstance(config, dict) else {}
    alpha = cfg.get("lora_alpha")
    alpha = float(alpha) if isinstance(alpha, int | float) and not isinstance(alpha, bool) else None
    notes = ["torchtune adapter: its module names mapped to transformers'"]
    if alpha is None:
        notes.append("no lora_alpha (torchtune keeps it in the recipe's config): scale 1 assumed")
    dora = any(k.endswith(".magnitude") for k in store.raw)
    modules, rest = build_lora_modules(renamed, store, where, alpha_for=lambda name, rank: alpha, dora=dora)
    add_full_modules(modules, renamed, rest, store)
    if any(re.search(r"\.self_attn\.[qk]_proj$", n) for n in modules):
        notes.append(
            "q_proj / k_proj rows as torchtune stores them (for Llama, Mistral and Gemma in its interleaved rotary "
            "order, a permutation within each head of transformers' rows): shapes exact, those values permuted"
        )
    return canonical_modules(modules, notes, model_type)

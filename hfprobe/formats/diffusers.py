"""diffusers LoRA files in the three key styles seen on the Hub, renamed with diffusers' own tables.

- `unet.….to_k.lora.down.weight` (what `save_lora_weights(convert_state_dict_to_diffusers(...))` writes),
  text encoders `text_encoder.….q_proj.lora_linear_layer.down.weight`;
- `….attn1.processor.to_k_lora.down.weight` (old attention processors), with or without `unet.`;
- `….to_k.lora_A.weight` (PEFT-style), with `unet.`, `transformer.` or no prefix, often with
  `lora_adapter_metadata` (the PEFT LoraConfig as JSON) in the header.

All are renamed (keys only) to `<component>.<module>.lora_A.weight` with diffusers'
`convert_unet_state_dict_to_peft` / `convert_state_dict` tables, then grouped by `lora.build_lora_modules`.
Canonical names: `unet.<diffusers path>`, `transformer.<diffusers path>`, `text_encoder[_2].text_model.<path>`
(the CLIP layout all LoRA files use, also where transformers 5 keeps it in memory without `text_model.`).
"""

from __future__ import annotations

import json

from .base import TensorStore
from .lora import build_lora_modules

COMPONENTS = ("unet", "transformer", "text_encoder_2", "text_encoder", "prior")
_UNET_ROOTS = ("down_blocks", "mid_block", "up_blocks", "conv_in", "conv_out", "time_embedding", "add_embedding")
_DIT_ROOTS = (
    "transformer_blocks",
    "single_transformer_blocks",
    "context_embedder",
    "x_embedder",
    "proj_out",
    "norm_out",
)
_CLIP_ROOTS = ("encoder.", "embeddings.", "final_layer_norm.")
LORA_MARKERS = (
    ".lora.down.",
    ".lora.up.",
    "_lora.down.",
    "_lora.up.",
    ".lora_A.",
    ".lora_B.",
    ".lora_linear_layer.",
    ".lora_magnitude_vector",
)


def is_diffusers_lora(keys: list[str]) -> bool:
    return any(m in k for k in keys for m in LORA_MARKERS)


def component_of(key: str) -> tuple[str, str]:
    """`'unet.down_blocks.0…'` -> ('unet', 'down_blocks.0…'); unprefixed keys are placed by their root."""
    for comp in COMPONENTS:
        if key.startswith(comp + "."):
            rest = key[len(comp) + 1 :]
            while rest.startswith(comp + "."):  # hand-converted files sometimes double the prefix
                rest = rest[len(comp) + 1 :]
            return comp, rest
    if key.startswith("text_model."):
        return "text_encoder", key
    if key.startswith(_DIT_ROOTS) and not key.startswith(_UNET_ROOTS):
        return "transformer", key
    return "unet", key


def canonical_text_encoder_path(path: str) -> str:
    """transformers 5 keeps CLIPTextModel's layers without `text_model.`; LoRA files have it. Use the latter."""
    return "text_model." + path if path.startswith(_CLIP_ROOTS) else path


def to_peft_keys(raw_keys: list[str]) -> dict[str, str]:
    """Rename diffusers-style LoRA keys (any of the three styles) to PEFT style; returns new -> raw key."""
    from diffusers.utils.state_dict_utils import (
        DIFFUSERS_OLD_TO_PEFT,
        DIFFUSERS_TO_PEFT,
        convert_state_dict,
        convert_unet_state_dict_to_peft,
    )

    by_comp: dict[str, dict[str, str]] = {}
    for raw in raw_keys:
        comp, rest = component_of(raw)
        by_comp.setdefault(comp, {})[rest] = raw
    out: dict[str, str] = {}
    for comp, sub in by_comp.items():
        # the converters only rename keys, so the raw key can ride along as the "tensor"
        if comp.startswith("text_encoder"):
            renamed = convert_state_dict(sub, {**DIFFUSERS_OLD_TO_PEFT, **DIFFUSERS_TO_PEFT})
            renamed = {canonical_text_encoder_path(k): v for k, v in renamed.items()}
        else:
            renamed = convert_unet_state_dict_to_peft(sub)
        for k, v in renamed.items():
            k = k.replace(".lora.down.weight", ".lora_A.weight").replace(".lora.up.weight", ".lora_B.weight")
            out[f"{comp}.{k}"] = v
    return out


def adapter_metadata(metadata: dict[str, str]) -> dict[str, dict]:
    """`lora_adapter_metadata` from a diffusers header -> {component or "": LoraConfig dict}."""
    text = metadata.get("lora_adapter_metadata")
    if not text:
        return {}
    try:
        flat = json.loads(text)
    except json.JSONDecodeError:
        return {}
    if not isinstance(flat, dict):
        return {}
    per: dict[str, dict] = {}
    for key, value in flat.items():
        comp, dot, field = key.partition(".")
        if dot and comp in COMPONENTS:
            per.setdefault(comp, {})[field] = value
        else:
            per.setdefault("", {})[key] = value
    return per


def alpha_lookup(configs: dict[str, dict]):
    """alpha_for(name, rank) from PEFT LoraConfigs (lora_alpha, alpha_pattern), per component."""
    from peft.utils.other import get_pattern_key

    def alpha_for(name: str, rank: int) -> float | None:
        comp, _, path = name.partition(".")
        cfg = configs.get(comp) or configs.get("")
        if not cfg:
            return None
        patterns = cfg.get("alpha_pattern") or {}
        if patterns:
            key = get_pattern_key(list(patterns), path)
            if key in patterns:
                return float(patterns[key])
        alpha = cfg.get("lora_alpha")
        return float(alpha) if alpha is not None else None

    return alpha_for


def read_diffusers_lora(
    store: TensorStore, metadata: dict[str, str], where: str, extra_alphas: dict[str, str] | None = None
):
    """Modules of a diffusers-style LoRA; returns (modules, format name, notes)."""
    keys = list(store.raw)
    renamed = to_peft_keys(keys)
    if extra_alphas:
        renamed.update(extra_alphas)
    configs = adapter_metadata(metadata)
    rslora = any(c.get("use_rslora") for c in configs.values())
    dora = any(c.get("use_dora") for c in configs.values())
    modules, rest = build_lora_modules(renamed, store, where, alpha_for=alpha_lookup(configs), rslora=rslora, dora=dora)
    notes = []
    if not configs and not any(k.endswith(".alpha") for k in renamed):
        notes.append("no alpha stored: scale 1 (alpha = rank), as diffusers assumes")
    if rest:
        notes.append(f"{len(rest)} tensors are not LoRA factors and were left out (e.g. {rest[0]})")
    fmt = (
        "diffusers-lora-processor" if any(".processor." in k or "_lora.down." in k for k in keys) else "diffusers-lora"
    )
    return modules, fmt, notes

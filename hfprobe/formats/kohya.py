"""kohya-ss / A1111 LoRA files (`lora_unet_…`, `lora_te_…`, `lora_te1_/te2_…`, `.alpha`).

Key renaming is diffusers' own: `_maybe_map_sgm_blocks_to_diffusers` turns SDXL's sgm names
(`input_blocks/middle_block/output_blocks`) into diffusers block names, then
`_convert_non_diffusers_lora_to_diffusers` turns the flattened names into dotted diffusers keys.
Both are called with the raw key as the "tensor" (they only move keys around when no `.alpha` is
passed in), so no bytes are read. The `.alpha` tensors (a few bytes each) are read for the scale
alpha / rank; a file without them gets kohya's default alpha = rank (scale 1).

FLUX kohya files (`lora_unet_double_blocks_…`, `lora_unet_single_blocks_…`) keep the BFL layout:
`transformer.double_blocks.0.img_attn.qkv` (diffusers splits those fused layers, which needs bytes).
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from ..errors import UnsupportedFormatError
from .base import TensorStore, one_line, sample_keys
from .diffusers import to_peft_keys
from .lora import build_lora_modules

PREFIXES = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")
_LYCORIS = (".hada_", ".lokr_", ".lora_mid.", ".oft_", ".diff", ".w_norm", ".on_input")
# SD 1.x, SD 2.x and SDXL UNets all have 2 resnets per down block, which is all the sgm mapping needs.
_SGM_UNET = SimpleNamespace(layers_per_block=2)
_FLUX_TOKENS = (
    "double_blocks",
    "single_blocks",
    "img_attn",
    "txt_attn",
    "img_mlp",
    "txt_mlp",
    "img_mod",
    "txt_mod",
    "modulation",
    "final_layer",
    "adaLN_modulation",
    "time_in",
    "vector_in",
    "guidance_in",
    "img_in",
    "txt_in",
    "in_layer",
    "out_layer",
)


def is_kohya(keys: list[str]) -> bool:
    return any(k.startswith(PREFIXES) for k in keys)


def _flux_name(lora_name: str) -> str:
    """`lora_unet_double_blocks_0_img_attn_qkv` -> `transformer.double_blocks.0.img_attn.qkv`."""
    path = lora_name.removeprefix("lora_unet_")
    for i, tok in enumerate(_FLUX_TOKENS):
        path = path.replace(tok, f"\0{i}\0")
    path = path.replace("_", ".")
    path = re.sub(r"\0(\d+)\0", lambda m: _FLUX_TOKENS[int(m.group(1))], path)
    return "transformer." + path


_MALFORMED = re.compile(r"^(lora_(?:unet|te\d?)_\w+?)_(lora_down\.weight|lora_up\.weight|alpha)$")


def _repair(key: str) -> str:
    """Hand-converted files write `name_lora_down.weight`; kohya writes `name.lora_down.weight`."""
    return _MALFORMED.sub(r"\1.\2", key)


def kohya_to_peft_keys(raw_keys: list[str], where: str) -> tuple[dict[str, str], list[str]]:
    """Rename kohya keys to PEFT style (new -> raw key); also returns notes."""
    from diffusers.loaders.lora_conversion_utils import (
        _convert_non_diffusers_lora_to_diffusers,
        _maybe_map_sgm_blocks_to_diffusers,
    )

    notes: list[str] = []
    lycoris = sorted(k for k in raw_keys if any(t in k for t in _LYCORIS))
    if lycoris:
        raise UnsupportedFormatError(
            f"{where}: a LyCORIS network (LoHa/LoKr/LoCon factors such as {sample_keys(lycoris, 1)}), not a LoRA; "
            "hfprobe reads LoRA factors only (lora_down/lora_up)"
        )
    norm = {_repair(k): k for k in raw_keys}  # normalised kohya key -> raw key
    if any(n != r for n, r in norm.items()):
        notes.append("malformed kohya names (`_lora_down` for `.lora_down`) repaired")
    weights = {n: r for n, r in norm.items() if not n.endswith(".alpha")}
    out: dict[str, str] = {}
    flux = {k for k in weights if k.startswith(("lora_unet_double_blocks_", "lora_unet_single_blocks_"))}
    if flux:
        notes.append("FLUX kohya LoRA: names kept in the BFL layout (transformer.double_blocks.N.…)")
        for k in sorted(flux):
            name, _, tail = k.partition(".")
            role = {"lora_down.weight": "lora_A.weight", "lora_up.weight": "lora_B.weight"}.get(tail)
            if role:
                out[f"{_flux_name(name)}.{role}"] = weights[k]
            weights.pop(k)
    if weights:
        if any(p in k for k in weights for p in ("input_blocks", "middle_block", "output_blocks")):
            notes.append("SDXL sgm block names mapped to diffusers names")
        try:
            mapped = _maybe_map_sgm_blocks_to_diffusers(dict(weights), _SGM_UNET)
            converted, _ = _convert_non_diffusers_lora_to_diffusers(dict(mapped))
        except (ValueError, KeyError, IndexError) as err:
            sample = sample_keys(weights, 3)
            detail = one_line(err, 120)  # diffusers' messages span lines
            raise UnsupportedFormatError(
                f"{where}: kohya-style keys that diffusers cannot map ({type(err).__name__}: {detail}); "
                f"sample keys: {sample}"
            ) from None
        out.update(to_peft_keys_from_converted(converted))
    # attach each `.alpha` to the module its lora_down belongs to
    raw_to_norm = {r: n for n, r in norm.items()}
    for new, raw_down in list(out.items()):
        if new.endswith(".lora_A.weight"):
            alpha_key = raw_to_norm[raw_down].split(".")[0] + ".alpha"
            if alpha_key in norm:
                out[new[: -len(".lora_A.weight")] + ".alpha"] = norm[alpha_key]
    if not any(k.endswith(".alpha") for k in raw_keys):
        notes.append("no .alpha tensors: kohya's default alpha = rank (scale 1)")
    return out, notes


def to_peft_keys_from_converted(converted: dict[str, str]) -> dict[str, str]:
    """diffusers-style keys whose values are raw kohya keys -> PEFT-style keys -> raw kohya keys."""
    inner = to_peft_keys(list(converted))  # new -> diffusers-style key
    return {new: converted[diff] for new, diff in inner.items()}


def read_kohya(store: TensorStore, metadata: dict[str, str], where: str):
    """Modules of a kohya LoRA; returns (modules, notes)."""
    renamed, notes = kohya_to_peft_keys(list(store.raw), where)
    modules, rest = build_lora_modules(renamed, store, where)
    return modules, notes

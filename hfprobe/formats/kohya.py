"""kohya-ss / A1111 LoRA files (`lora_unet_…`, `lora_te_…`, `lora_te1_/te2_…`, `.alpha`).

Key renaming follows diffusers exactly, written out here so that no diffusers import is needed (the tests
check every result against diffusers' own functions): `sgm_to_diffusers` is diffusers'
`_maybe_map_sgm_blocks_to_diffusers` (SDXL's `input_blocks/middle_block/output_blocks` to diffusers block names)
and `non_diffusers_to_diffusers` its `_convert_non_diffusers_lora_to_diffusers` (flattened names to dotted
diffusers keys). Only keys move, so no bytes are read. The `.alpha` tensors (a few bytes each) are read for
the scale alpha / rank; a file without them gets kohya's default alpha = rank (scale 1).

FLUX kohya files (`lora_unet_double_blocks_…`, `lora_unet_single_blocks_…`) keep the BFL layout:
`transformer.double_blocks.0.img_attn.qkv` (diffusers splits those fused layers, which needs bytes).
"""

from __future__ import annotations

import re

from ..errors import UnsupportedFormatError
from ..source.safetensors import quote
from .base import TensorStore, sample_keys
from .diffusers import component_of, to_peft_keys
from .kohya_names import non_diffusers_to_diffusers, sgm_to_diffusers
from .lora import build_lora_modules
from .lycoris import group as lycoris_group
from .lycoris import is_lycoris, read_modules

PREFIXES = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")
_LYCORIS = (".oft_", ".w_norm", ".b_norm", ".on_input")  # LyCORIS algorithms without LoRA-like factors
_LYCORIS_RE = re.compile("|".join(map(re.escape, _LYCORIS)))
# SD 1.x, SD 2.x and SDXL UNets all have 2 resnets per down block, which is all the sgm mapping needs.
LAYERS_PER_BLOCK = 2
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
    """kohya's flattened names (`lora_unet_…`), or the same `.lora_down`/`.lora_up`/`.alpha` factors under a model's
    own dotted names (`diffusion_model.blocks.0.self_attn.q.lora_down.weight`: ComfyUI's layout, and video-model
    trainers'), which were once read as a full checkpoint of twice as many modules."""
    return any(k.startswith(PREFIXES) or k.endswith(_DOTTED) for k in keys)


def _flux_name(lora_name: str) -> str:
    """`lora_unet_double_blocks_0_img_attn_qkv` -> `transformer.double_blocks.0.img_attn.qkv`."""
    path = lora_name.removeprefix("lora_unet_")
    for i, tok in enumerate(_FLUX_TOKENS):  # the NUL markers cannot collide: names holding NUL are refused
        path = path.replace(tok, f"\0{i}\0")
    parts = path.replace("_", ".").split("\0")
    # odd parts are token indexes
    return "transformer." + "".join(_FLUX_TOKENS[int(p)] if i % 2 else p for i, p in enumerate(parts))


_SUFFIXES = ("_lora_down.weight", "_lora_up.weight", "_alpha")
_DOTTED = (".lora_down.weight", ".lora_up.weight")


def _repair(key: str) -> str:
    """Hand-converted files write `name_lora_down.weight`; kohya writes `name.lora_down.weight`.

    >>> _repair("lora_unet_x_y_lora_down.weight"), _repair("lora_te1_a_alpha"), _repair("lora_unet__alpha")
    ('lora_unet_x_y.lora_down.weight', 'lora_te1_a.alpha', 'lora_unet__alpha')
    """
    for suffix in _SUFFIXES:
        if key.endswith(suffix):
            head = key[: -len(suffix)]
            # `lora_unet_`, `lora_te_` or `lora_te<digit>_`, then at least one word character, all word characters
            for prefix in ("lora_unet_", "lora_te_", *(f"lora_te{d}_" for d in "0123456789")):
                rest = head.removeprefix(prefix)
                if rest != head and rest and _word(rest):
                    return f"{head}.{suffix[1:]}"
    return key


def _word(text: str) -> bool:
    """Every character is a word character (`\\w`: alphanumeric or `_`)."""
    return text.replace("_", "a").isalnum()


def kohya_to_peft_keys(raw_keys: list[str], where: str) -> tuple[dict[str, str], list[str]]:
    """Rename kohya keys to PEFT style (new -> raw key); also returns notes."""
    notes: list[str] = []
    joined = "\n".join(raw_keys)  # one scan over all keys for what is rare
    lycoris = sorted(k for k in raw_keys if any(t in k for t in _LYCORIS)) if _LYCORIS_RE.search(joined) else []
    if lycoris:
        raise UnsupportedFormatError(
            f"{where}: a LyCORIS OFT/BOFT or norm network (such as {sample_keys(lycoris, 1)}); hfprobe reads LoRA, "
            "LoHa, LoKr and LoCon factors"
        )
    odd = next((k for k in raw_keys if "\0" in k), None) if "\0" in joined else None
    if odd is not None:
        raise UnsupportedFormatError(f"{where}: kohya key {quote(odd, 80)} holds a NUL character; not a kohya LoRA")
    norm = {_repair(k): k for k in raw_keys}  # normalised kohya key -> raw key
    if any(n != r for n, r in norm.items()):
        notes.append("malformed kohya names (`_lora_down` for `.lora_down`) repaired")
    weights = {n: r for n, r in norm.items() if not n.endswith(".alpha")}
    out: dict[str, str] = {}
    dotted = {k for k in weights if not k.startswith(PREFIXES)}
    if dotted:  # a model's own names: kept, under the component diffusers would place them in
        factors = [k for k in dotted if k.endswith(_DOTTED)]
        notes.append("LoRA factors under the model's own dotted names (`.lora_down` / `.lora_up`), kept as written")
        if len(factors) < len(dotted):
            notes.append(f"{len(dotted) - len(factors)} tensors that are not LoRA factors left out")
        for k in factors:
            module, _, tail = k.rpartition(".lora_")
            comp, rest = component_of(module)
            name = f"{comp}.{rest}" if comp else rest  # a language model's own names have no component
            out[f"{name}.{'lora_A' if tail == 'down.weight' else 'lora_B'}.weight"] = weights[k]
        for k in dotted:
            weights.pop(k)
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
        if any(p in joined for p in ("input_blocks", "middle_block", "output_blocks")):
            notes.append("SDXL sgm block names mapped to diffusers names")
        try:
            converted = non_diffusers_to_diffusers(sgm_to_diffusers(dict(weights), LAYERS_PER_BLOCK))
        except (ValueError, IndexError) as err:
            raise UnsupportedFormatError(
                f"{where}: kohya-style keys that cannot be mapped to diffusers names ({err}); "
                f"sample keys: {sample_keys(weights, 3)}"
            ) from None
        out.update(to_peft_keys_from_converted(converted))
    # attach each `.alpha` to the module its lora_down belongs to
    raw_to_norm = {r: n for n, r in norm.items()}
    for new, raw_down in list(out.items()):
        if new.endswith(".lora_A.weight"):
            n = raw_to_norm[raw_down]
            alpha_key = (n.split(".")[0] if n.startswith(PREFIXES) else n.removesuffix(".lora_down.weight")) + ".alpha"
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
    """Modules of a kohya LoRA or LyCORIS network; returns (modules, notes)."""
    keys = list(store.raw)
    if is_lycoris(keys):
        return _read_lycoris(store, keys, where)
    renamed, notes = kohya_to_peft_keys(keys, where)
    modules, rest = build_lora_modules(renamed, store, where)
    return modules, notes


def _read_lycoris(store: TensorStore, keys: list[str], where: str):
    """A LyCORIS network in kohya names: each module renamed as its `lora_down` key would be."""
    groups, rest = lycoris_group(keys)
    odd = [k for k in rest if not _LYCORIS_RE.search(k) and not k.endswith((".dora_scale", ".diff_b"))]
    if odd:
        raise UnsupportedFormatError(
            f"{where}: LyCORIS keys of no part hfprobe knows (such as {sample_keys(odd, 2)}); the file is damaged or "
            "of a newer LyCORIS algorithm"
        )
    proxy = {f"{name}.lora_{part}.weight": name for name in groups for part in ("down", "up")}
    renamed, notes = kohya_to_peft_keys(list(proxy), where)
    notes = [n for n in notes if not n.startswith("no .alpha tensors")]
    canonical = {proxy[raw]: new.removesuffix(".lora_A.weight") for new, raw in renamed.items() if "lora_A" in new}
    modules = read_modules(canonical, groups, store, where)
    kinds = sorted({m.kind for m in modules.values()})
    notes.append(f"LyCORIS network ({', '.join(kinds)}): ΔW built from its factors")
    if rest:
        notes.append(f"{len(rest)} tensors of other LyCORIS parts (OFT, norms, DoRA scales, biases) not read")
    return modules, notes

"""PEFT LoRA adapters: `adapter_model.safetensors` (or `.bin`) + `adapter_config.json`.

Keys are `base_model.model.<module path>.lora_A.weight` / `.lora_B.weight` (plus `lora_embedding_A/B`,
`lora_magnitude_vector` for DoRA, and full copies of `modules_to_save`). From the config:
`r`, `lora_alpha`, `rank_pattern` / `alpha_pattern` (matched as peft's `get_pattern_key` does),
`use_rslora` (scale alpha/sqrt(r) instead of alpha/r), `fan_in_fan_out` (GPT-2 Conv1D: `layer()`
is returned in the stored [in, out] layout, exactly what peft merges), `use_dora`.

Canonical names: the module path without `base_model.model.`; transformers saved-key names are mapped
to transformers' in-memory names (`transformers_names`); adapters on a diffusers UNet or DiT get the
`unet.` / `transformer.` prefix that diffusers LoRA files use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from ..errors import InvalidWeightsError, UnsupportedFormatError
from ..source.safetensors import quote
from .base import Module, TensorStore, full_module, sample_keys
from .diffusers import _DIT_ROOTS, _UNET_ROOTS, alpha_lookup
from .lora import add_full_modules, build_lora_modules, split_role, without_adapter_name
from .lycoris import group as lycoris_group
from .lycoris import is_lycoris, read_modules
from .transformers_names import canonical_names

PEFT_PREFIX = "base_model.model."
PROMPT_TYPES = ("PROMPT_TUNING", "P_TUNING", "PREFIX_TUNING", "MULTITASK_PROMPT_TUNING", "CPT", "CARTRIDGE")
_GPT2_CONV1D = re.compile(r"(^|\.)h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.lora_A")


def is_peft(keys: list[str], config: dict | None) -> bool:
    """PEFT's `base_model.` prefix, or PEFT-style keys next to an adapter_config.json."""
    if any(k.startswith("base_model.") for k in keys):
        return True
    peft_config = bool(config) and (config.get("peft_type") or ("r" in config and "target_modules" in config))
    if peft_config and str(config.get("peft_type") or "").upper() in PROMPT_TYPES:
        return True  # `prompt_embeddings` alone
    components = ("unet.", "text_encoder", "transformer.")
    return (
        bool(peft_config)
        and (any(".lora_A." in k or "lora_embedding_A" in k or k.endswith(".ia3_l") for k in keys) or is_lycoris(keys))
        and not any(k.startswith(components) for k in keys)
    )


def _strip(key: str) -> str:
    """PEFT's prefix off; an adapter name left in by saving `model.state_dict()` (`lora_A.default.weight`) too."""
    for prefix in (PEFT_PREFIX, "base_model."):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    key = without_adapter_name(key)
    return re.sub(r"\.modules_to_save\.[^.]+\.", ".", key)


def read_peft(store: TensorStore, config: dict | None, where: str, model_type: str | None = None):
    """Modules of a PEFT adapter; returns (modules, notes)."""
    cfg = config or {}
    notes: list[str] = []
    renamed = {_strip(k): k for k in store.raw}
    if is_lycoris(list(renamed)):  # peft's LoHa / LoKr: LyCORIS factor names, alpha and r in the config
        groups, rest = lycoris_group(list(renamed))
        groups = {name: {role: renamed[key] for role, key in parts.items()} for name, parts in groups.items()}
        alpha, r = cfg.get("alpha"), cfg.get("r")
        alpha = float(alpha) if isinstance(alpha, int | float) else None
        modules = read_modules({}, groups, store, where, alpha=alpha, rank=r if isinstance(r, int) else None)
        notes.append(f"peft {quote(cfg.get('peft_type') or 'LyCORIS', 40)} adapter: ΔW built from its factors")
        add_full_modules(modules, renamed, rest, store)
        return canonical_modules(modules, notes, model_type)
    ptype = str(cfg.get("peft_type") or "").upper()
    if ptype in PROMPT_TYPES or (not ptype and list(renamed) == ["prompt_embeddings"]):
        # learned virtual tokens: [tokens, token_dim] (prefix tuning: [tokens, layers * 2 * hidden]); beside them
        # the layers saved whole (`modules_to_save`: a classifier head, saved as `base_model.classifier.…`)
        modules = {k: full_module(k, store.raw[r], kind="embedding") for k, r in renamed.items() if "." not in k}
        add_full_modules(modules, renamed, [k for k in renamed if k not in modules], store)
        notes.append(f"peft {quote(ptype or 'prompt', 40)} adapter: learned prompt embeddings, no weight delta")
        return modules, notes
    prompts = {k: r for k, r in renamed.items() if k.endswith(".adaption_prompt") and len(store.raw[r].shape) == 3}
    if prompts:  # LLaMA-Adapter (ADAPTION_PROMPT): per adapted attention [1, adapter_len, hidden], and a gate [1]
        modules = {}
        for key, raw in prompts.items():
            _, length, hidden = store.raw[raw].shape
            modules[key] = Module(key, "embedding", length, hidden, None, None, None, None, {"W": raw})
        notes.append(
            f"peft {quote(cfg.get('peft_type') or 'ADAPTION_PROMPT', 40)} adapter (LLaMA-Adapter): learned prompts "
            f"in {len(modules)} attention layers, gated; no weight delta"
        )
        return canonical_modules(modules, notes, model_type)
    ia3 = {k: r for k, r in renamed.items() if k.endswith(".ia3_l")}
    if ia3:  # a learned scaling vector per module: [out, 1] (attention), [1, in] (feed-forward)
        modules = {}
        for key, raw in ia3.items():
            name, shape = key.removesuffix(".ia3_l"), store.raw[raw].shape
            out_dim, in_dim = (shape[0], 0) if len(shape) == 2 and shape[1] == 1 else (0, shape[-1] if shape else 0)
            modules[name] = Module(name, "ia3", out_dim, in_dim, None, None, None, None, {"W": raw})
        notes.append("peft IA3 adapter: learned scaling vectors, no weight delta; shapes give one side of each layer")
        return canonical_modules(modules, notes, model_type)
    tuned = _tuner_modules(renamed, store, where)
    if tuned and not any(split_role(k) for k in renamed):  # OFT, BOFT, VeRA, HRA, …: no low-rank pair to read
        notes.append(
            f"peft {quote(cfg.get('peft_type') or 'tuner', 40)} adapter: {len(tuned)} adapted modules, read for "
            "`inspect` (their sizes where the tensors give them); no ΔW"
        )
        return canonical_modules(tuned, notes, model_type)
    if ptype not in ("", "LORA", "ADALORA") and not any(split_role(k) for k in renamed):
        return canonical_modules(*_named_modules(renamed, ptype, where), model_type)
    if ptype == "ADALORA" or any(k.endswith(".lora_E") for k in renamed):  # lora_A / lora_B / lora_E, no .weight
        renamed = {(k + ".weight" if k.endswith((".lora_A", ".lora_B")) else k): r for k, r in renamed.items()}
        notes.append("peft AdaLoRA adapter: ΔW = B (A ⊙ E) · lora_alpha / r, r the rank kept")
    elif ptype not in ("", "LORA"):
        notes.append(f"peft_type {quote(cfg.get('peft_type'), 40)}: only LoRA factors are read")
    if not config:
        notes.append("no adapter_config.json read: alpha unknown, scale 1 assumed")
    fan_in_fan_out = bool(cfg.get("fan_in_fan_out"))
    base = str(cfg.get("base_model_name_or_path") or "").lower()
    if not fan_in_fan_out and "gpt2" in base and any(_GPT2_CONV1D.search(k) for k in renamed):
        # peft flips fan_in_fan_out to True when it meets GPT-2's Conv1D at load time; do the same
        fan_in_fan_out = True
        notes.append("fan_in_fan_out False in the config but the base is GPT-2 (Conv1D): treated as True, as peft does")
    modules, rest = build_lora_modules(
        renamed,
        store,
        where,
        alpha_for=alpha_lookup({"": cfg}, f"{where} (adapter_config.json)") if cfg else (lambda name, rank: None),
        rslora=bool(cfg.get("use_rslora")),
        transposed_for=lambda name: fan_in_fan_out,
        dora=bool(cfg.get("use_dora")),
    )
    add_full_modules(modules, renamed, rest, store)
    return canonical_modules(modules, notes, model_type)


def _named_modules(renamed: dict[str, str], ptype: str, where: str) -> tuple[dict[str, Module], list[str]]:
    """The layers a PEFT method hfprobe has no table for adapts, by name alone: peft keeps each layer's tensors
    under `<module path>.<method>_…` (`delora_A`, `glora_A.Xd`, `osf_svd_params.S_low`), so the path before the
    method's prefix is the layer; its sizes are left unknown (the tree reads the names, the declaration the rest)."""
    mark = "." + ptype.lower() + "_"
    found: dict[str, dict[str, str]] = {}
    for key, raw in renamed.items():
        at = key.find(mark)
        if at > 0:
            found.setdefault(key[:at], {})[key[at + 1 :]] = raw
    if not found:
        sample = sample_keys(list(renamed.values()), 3)
        raise UnsupportedFormatError(
            f"{where}: a peft {quote(ptype, 40)} adapter whose tensors (e.g. {sample}) name no layer of the model "
            "(parameters shared by every layer it adapts); hfprobe cannot read a model from them"
        )
    modules = {n: Module(n, "tuner", 0, 0, None, None, None, None, keys) for n, keys in found.items()}
    note = (
        f"peft {quote(ptype, 40)} adapter: {len(modules)} adapted modules, read by name (hfprobe has no table of "
        "this method's tensor shapes: sizes unknown); no ΔW"
    )
    return modules, [note]


def _oft_block(n: int) -> int:
    """OFT's block size b from a block's stored entries n = b(b-1)/2 (0 where n is no such count)."""
    b = (1 + math.isqrt(1 + 8 * n)) // 2
    return b if b * (b - 1) // 2 == n else 0


# PEFT tuners that store no low-rank pair: tensor suffix -> (its dimensions, (d_out, d_in) of the adapted layer
# from its shape, 0 where it does not say); checked against peft 0.21 on layers with out != in
TUNERS: dict[str, tuple[int | tuple[int, ...], Callable[[tuple], tuple[int, int]]]] = {
    "oft_R.weight": (2, lambda s: (0, s[0] * _oft_block(s[1]))),  # OFT: [in / b, b(b-1)/2]
    "boft_R": (4, lambda s: (0, s[1] * s[2])),  # BOFT: [factors, in / b, b, b]
    "boft_s": (2, lambda s: (s[0], 0)),  # [out, 1]
    "vera_lambda_b": (1, lambda s: (s[0], 0)),  # VeRA: [out] (and vera_lambda_d [r])
    "vera_lambda_d": (1, lambda s: (0, 0)),
    "hra_u": (2, lambda s: (0, s[0])),  # HRA: [in, r]
    "miss_block": (2, lambda s: (s[1], 0)),  # MiSS: [r, out]
    "c3a_kernel": (3, lambda s: (s[0] * s[2], s[1] * s[2])),  # C3A: [out / b, in / b, b]
    "randlora_gamma": (2, lambda s: (s[1], 0)),  # RandLoRA: [bases, out] (A, B, lambda shared or sized by r)
    "randlora_lambda": (2, lambda s: (0, 0)),
    "fourierft_spectrum": (1, lambda s: (0, 0)),  # FourierFT: [n_frequency]
    "shira_weight": (1, lambda s: (0, 0)),  # SHiRA: sparse values and their indices
    "shira_indices": (2, lambda s: (0, 0)),
    "ln_tuning_layers.weight": ((1, 2), lambda s: (s[0], s[1] if len(s) > 1 else 0)),  # LN tuning: the layer copied
}


def _tuner_modules(renamed: dict[str, str], store: TensorStore, where: str) -> dict[str, Module]:
    """The adapted modules of a PEFT tuner that stores no low-rank pair, at the sizes its tensors give."""
    sides: dict[str, dict] = {}
    for key, raw in renamed.items():
        suffix = next((t for t in TUNERS if key.endswith("." + t)), None)
        if suffix is None:
            continue
        ndim, sizes = TUNERS[suffix]
        shape = tuple(store.raw[raw].shape)
        if len(shape) not in (ndim if isinstance(ndim, tuple) else (ndim,)):
            raise InvalidWeightsError(
                f"{where}: {quote(raw, 120)} has shape {quote(list(shape), 40)}, not the {ndim}-D tensor peft "
                f"stores as {suffix}; the file is corrupt or mislabelled, re-export it"
            )
        d_out, d_in = sizes(shape)
        name = key[: -len(suffix) - 1]
        entry = sides.setdefault(name, {"out": 0, "in": 0, "keys": {}})
        entry["out"], entry["in"] = entry["out"] or d_out, entry["in"] or d_in
        entry["keys"][suffix] = raw
    return {n: Module(n, "tuner", e["out"], e["in"], None, None, None, None, e["keys"]) for n, e in sides.items()}


def canonical_modules(modules: dict, notes: list[str], model_type) -> tuple[dict, list[str]]:
    """Modules under canonical names: `unet.` / `transformer.` for diffusers models, transformers' names else."""
    names = list(modules)
    roots = {n.split(".", 1)[0] for n in names}
    if roots and roots <= set(_UNET_ROOTS) | {"time_emb_proj"}:
        mapping = {n: "unet." + n for n in names}
    elif roots and roots <= set(_DIT_ROOTS) | {"time_text_embed", "pos_embed"}:
        mapping = {n: "transformer." + n for n in names}
    else:
        mapping = canonical_names(names, model_type if isinstance(model_type, str) else None)
        changed = sum(1 for a, b in mapping.items() if a != b)
        if changed:
            notes.append(f"{changed} saved-key names mapped to transformers' in-memory names")
    out = {}
    for old, mod in modules.items():
        mod.name = mapping.get(old, old)
        out[mod.name] = mod
    return out, notes

"""loralib (microsoft/LoRA, the LoRA paper's own code), lit-gpt / litgpt, minLoRA and LinearWithLoRA weights.

Keys are module paths with `.lora_A` [r, in] and `.lora_B` [out, r]: parameters, no `.weight` (PEFT's are
`.lora_A.weight`); LoRA-Torch (loratorch) and CLIP-LoRA name them `.w_lora_A` / `.w_lora_B`.
`torch.save(lora.lora_state_dict(model))` keeps only those; a whole `model.state_dict()` keeps the base weights
beside them (read as full modules, a LoRA's own name kept for the LoRA). minLoRA (torch's
parametrizations) puts the pair under `<module>.parametrizations.weight.0`, which is dropped from the name. None
of them stores alpha: loralib's default `lora_alpha=1` (minLoRA's too; scale 1/r) is assumed and said in a note.
CLIP-LoRA's `save_lora` nests its pairs as `weights.layer_<i>.<q_proj|k_proj|v_proj|proj>` (the i-th adapted
attention block, the text encoder's before the vision encoder's) beside a `metadata` dict that is not read; its
layers scale by alpha / sqrt(r), alpha 1 by default.

LinearWithLoRA (Raschka's LLMs-from-scratch and "LoRA from scratch" tutorials) wraps a layer as `<layer>.linear`
beside `<layer>.lora.A` [in, r] and `.lora.B` [r, out] (x @ A @ B, times an alpha it does not store): the layer's
weights are read under its own name, and each pair transposed, as mlx-lm's are. Hand-written LoRA layers that name
the pair `lora_A` / `lora_B` but store it the same way round (A [in, r], B [r, out]) are told by their shapes: only
A's second side and B's first agree, as a rank below both layer sizes (`stored_transposed`).
lit-llama's and litgpt's adapters (LLaMA-Adapter; `finetune/adapter.py`, `lit_model.pth.adapter`) store, from
the adapter's first layer on, `transformer.h.N.attn.adapter_wte.weight` [prompt length, hidden] and its gate
`gating_factor`; adapter v2 adds `adapter_bias` / `adapter_scale` [out] to each Linear (and the norms' weights):
learned prompts (kind `embedding`, hidden their width) and vectors of one output size (kind `tuner`), no ΔW.
A merged projection (loralib's `MergedLinear`, GPT-2's fused `c_attn` with `enable_lora=[True, False, True]`;
litgpt's fused qkv) adapts g slices of one fused output: A is [g·r, in] and B [out of the adapted slices, r],
ΔW of each slice B_j A_j. The file says neither which slices nor (litgpt, grouped-query attention) how wide each
is, so such a module's output size is left unknown (the tree checks its input side only) and `layer()` refuses it.
"""

from __future__ import annotations

import re

from ..errors import InvalidWeightsError
from ..source.safetensors import quote
from .base import Module, TensorStore, lora_module
from .lora import add_full_modules, stored_transposed
from .peft import canonical_modules

DEFAULT_ALPHA = 1.0  # loralib.layers.LoRALayer: lora_alpha=1 unless the model code sets it
_PARAMETRIZED = re.compile(r"\.parametrizations\.weight\.\d+$")  # minLoRA's place for the pair
_ROLES = {"lora_A": "A", "lora_B": "B", "w_lora_A": "A", "w_lora_B": "B"}  # loralib's, LoRA-Torch's
_CLIP_LORA = re.compile(r"^weights\.layer_\d+\.(q_proj|k_proj|v_proj|proj)$")  # CLIP-LoRA's save_lora


def is_lit_adapter(keys: list[str]) -> bool:
    """lit-llama's / litgpt's LLaMA-Adapter: `.adapter_wte.weight` prompts beside `.gating_factor` gates."""
    return any(k.endswith(".attn.adapter_wte.weight") for k in keys) and any(k.endswith(".gating_factor") for k in keys)


def read_lit_adapter(store: TensorStore) -> tuple[dict[str, Module], list]:
    """Modules of a lit-llama / litgpt adapter (v1 or v2); returns (modules, notes)."""
    modules: dict[str, Module] = {}
    for key, info in store.raw.items():
        shape = info.shape
        if key.endswith(".adapter_wte.weight") and len(shape) == 2:  # [prompt length, hidden]
            name = key.removesuffix(".weight")
            modules[name] = Module(name, "embedding", shape[0], shape[1], None, None, None, None, {"W": key})
        elif key.endswith(".adapter_bias") and len(shape) == 1:  # adapter v2: [out] of the Linear it extends
            name = key.removesuffix(".adapter_bias")
            modules[name] = Module(name, "tuner", shape[0], 0, None, None, None, None, {"W": key})
    prompts = sum(m.kind == "embedding" for m in modules.values())
    v2 = len(modules) - prompts
    notes = [
        f"lit-llama / litgpt adapter (LLaMA-Adapter): learned prompts in {prompts} attention layers, gated"
        + (f"; adapter v2's bias and scale on {v2} Linears" if v2 else "")
        + "; no weight delta"
    ]
    return modules, notes


def is_loralib(keys: list[str]) -> bool:
    """A `.lora_A` and a `.lora_B` parameter (no `.weight` after them), LoRA-Torch's `.w_lora_A` / `.w_lora_B`, or
    LinearWithLoRA's `.lora.A` / `.lora.B`."""
    return any(k.endswith((".lora_A", ".w_lora_A", ".lora.A")) for k in keys) and any(
        k.endswith((".lora_B", ".w_lora_B", ".lora.B")) for k in keys
    )


def read_loralib(store: TensorStore, where: str, model_type: str | None = None) -> tuple[dict[str, Module], list]:
    """Modules of a loralib / litgpt LoRA state dict; returns (modules, notes)."""
    pairs: dict[str, dict[str, str]] = {}
    rest: dict[str, str] = {}
    nested: set[str] = set()  # LinearWithLoRA's: A [in, r] and B [r, out], stored transposed
    for key in store.raw:
        name, _, role = key.rpartition(".")
        if role in ("A", "B") and name.endswith(".lora") and len(name) > 5:
            name = name[: -len(".lora")]
            nested.add(name)
            pairs.setdefault(name, {})[role] = key
        elif role in _ROLES and name:
            pairs.setdefault(_PARAMETRIZED.sub("", name), {})[_ROLES[role]] = key
        else:
            rest[key] = key
    for key in [k for k in rest if k.endswith((".linear.weight", ".linear.bias"))]:
        layer, _, tail = key.rpartition(".linear.")
        if layer in nested:  # the layer LinearWithLoRA wraps, as `<layer>.linear`: the layer's own weights
            rest[f"{layer}.{tail}"] = rest.pop(key)
    clip_lora = bool(pairs) and all(_CLIP_LORA.match(name) for name in pairs)
    modules: dict[str, Module] = {}
    merged = transposed = 0
    for name, p in sorted(pairs.items()):
        if "A" not in p:
            raise InvalidWeightsError(
                f"{where}: LoRA {quote(name, 120)} has a lora_B but no lora_A; the file is incomplete, re-export it"
            )
        a, b = store.raw[p["A"]], store.raw.get(p.get("B", ""))
        flipped = name not in nested and b is not None and stored_transposed(a.shape, b.shape)
        transposed += flipped
        if name in nested or flipped:  # checked in PEFT's orientation, A [r, in] and B [out, r]; layer() transposes
            if len(a.shape) != 2 or b is None or len(b.shape) != 2:
                raise InvalidWeightsError(
                    f"{where}: LoRA {quote(name, 120)} has factors {quote(list(a.shape), 40)} and "
                    f"{quote(list(b.shape) if b is not None else None, 40)}, expected [in, r] and [r, out]; re-export"
                )
            keys = {"A": p["A"], "B": p["B"]}
            alpha = None if name in nested else DEFAULT_ALPHA
            mod = lora_module(name, a._replace(shape=a.shape[::-1]), b._replace(shape=b.shape[::-1]), alpha=alpha,
                              keys=keys, where=where)  # fmt: skip
            mod.stored_transposed = True
            modules[name] = mod
            continue
        groups = _groups(a.shape, b.shape if b is not None else None)
        if groups > 1:  # A [g·r, in], B [out_g, r]: the module as its input side and rank only
            merged += 1
            mod = lora_module(name, a._replace(shape=(a.shape[0] // groups, a.shape[1])), None, alpha=DEFAULT_ALPHA,
                              keys={"A": p["A"], "B": p["B"]}, where=where)  # fmt: skip
            mod.merged_groups = groups
        else:
            keys = {"A": p["A"], **({"B": p["B"]} if b is not None else {})}
            mod = lora_module(name, a, b, alpha=DEFAULT_ALPHA, keys=keys, where=where, rslora=clip_lora)
        modules[name] = mod
    add_full_modules(modules, rest, list(rest), store)
    notes = [
        f"loralib / litgpt / minLoRA LoRA: no lora_alpha stored, loralib's default {DEFAULT_ALPHA:g} assumed "
        "(scale 1/r)"
    ]
    if nested:
        notes = [
            f"LinearWithLoRA (LLMs-from-scratch, 'LoRA from scratch' tutorials): {len(nested)} layers with A [in, r] "
            "and B [r, out]; the alpha it multiplies by is not stored: ΔW = (AB)ᵀ unscaled"
        ]
    if clip_lora:
        notes = [
            "CLIP-LoRA (save_lora): layer_i is the i-th adapted attention block, the text encoder's before the vision "
            "encoder's; which blocks, r and alpha are in the file's `metadata`, which is not read: alpha "
            f"{DEFAULT_ALPHA:g} (CLIP-LoRA's default) assumed, scale alpha / sqrt(r) as its layers compute it"
        ]
    if transposed:
        notes.append(
            f"{transposed} LoRA pairs stored as A [in, r] and B [r, out] (x @ A @ B, as hand-written LoRA layers keep "
            "them): read transposed, the rank the side they share"
        )
    if merged:
        notes.append(
            f"{merged} merged LoRA projections (loralib MergedLinear / litgpt fused qkv): which slices of the fused "
            "output are adapted is not in the file, so their output size is unknown and their ΔW is not read"
        )
    return canonical_modules(modules, notes, model_type)


def _groups(a: tuple, b: tuple | None) -> int:
    """How many slices a merged LoRA adapts: A's rows over B's rank (1 for a plain LoRA)."""
    if b is None or len(a) != 2 or len(b) != 2 or not b[1] or a[0] == b[1] or a[0] % b[1]:
        return 1  # plain, or shapes lora_module will refuse with its own message
    return a[0] // b[1]

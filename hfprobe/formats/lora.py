"""Grouping PEFT-style LoRA keys (`<module>.lora_A.weight`, `.lora_B.weight`, `.alpha`, ...) into modules.

Every LoRA format is first renamed (keys only, no bytes) to this one layout by its own reader, then
`build_lora_modules` pairs the factors, checks their shapes and computes rank, alpha and scale.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import InvalidWeightsError
from ..source.safetensors import TensorInfo, quote
from .base import Module, TensorStore, full_module, lora_module

# suffix of a PEFT-style key -> role; checked in order (the longest, most specific first)
ROLE_SUFFIXES = (
    (".lora_A.weight", "A"),
    (".lora_B.weight", "B"),
    (".lora_embedding_A", "EA"),
    (".lora_embedding_B", "EB"),
    (".lora_magnitude_vector.weight", "magnitude"),
    (".lora_magnitude_vector", "magnitude"),
    (".lora_E", "E"),  # AdaLoRA's singular values [r, 1]
    (".lora_A.bias", "bias"),
    (".lora_B.bias", "bias"),
    (".alpha", "alpha"),
)


# the adapter name PEFT keeps in a wrapped model's own state dict (`lora_A.default.weight`), which an adapter saved
# with save_pretrained / get_peft_model_state_dict does not have
_ADAPTER_NAME = re.compile(r"\.(lora_A|lora_B)\.(?!weight$|bias$)[^.]+\.(weight|bias)$")
_ADAPTER_NAME_EMB = re.compile(r"\.(lora_embedding_A|lora_embedding_B|lora_magnitude_vector)\.(?!weight$)[^.]+$")


_PLAIN = (".lora_A.weight", ".lora_B.weight", ".lora_down.weight", ".lora_up.weight", ".lora_embedding_A",
          ".lora_embedding_B", ".lora_magnitude_vector")  # fmt: skip


def without_adapter_name(key: str) -> str:
    """`x.lora_A.default.weight` -> `x.lora_A.weight`; any other key unchanged.

    >>> without_adapter_name("q_proj.lora_B.default.weight"), without_adapter_name("q_proj.lora_B.weight")
    ('q_proj.lora_B.weight', 'q_proj.lora_B.weight')
    """
    if ".lora_" not in key or key.endswith(_PLAIN):  # (most keys: no adapter name, no regex)
        return key
    return _ADAPTER_NAME_EMB.sub(r".\1", _ADAPTER_NAME.sub(r".\1.\2", key))


def split_role(key: str) -> tuple[str, str] | None:
    """`'x.to_q.lora_A.weight'` -> `('x.to_q', 'A')`; None if the key is not a LoRA part.

    >>> split_role("x.lora_magnitude_vector.weight"), split_role("x.lora_A.alpha"), split_role("x.lora_A.w")
    (('x', 'magnitude'), ('x.lora_A', 'alpha'), None)
    """
    at = key.rfind(".lora_")  # each suffix but `.alpha` holds `.lora_` once: where it starts, if the key ends so
    role = _ROLE_OF.get(key[at:]) if at != -1 else None
    if role is not None:
        return key[:at], role
    return (key[:-6], "alpha") if key.endswith(".alpha") else None


_ROLE_OF = {suffix: role for suffix, role in ROLE_SUFFIXES if suffix != ".alpha"}


def read_scalars(store: TensorStore, keys: list[str], where: str) -> dict[str, float]:
    """Values of one-element tensors such as kohya's `.alpha` (a few bytes each).

    Those whose bytes lie past the end of a truncated file are left out (the caller assumes the default)."""
    out = {}
    for k in keys:
        info = store.raw[k]
        if info.numel != 1:
            raise InvalidWeightsError(
                f"{where}: alpha tensor {quote(k, 80)} has shape {quote(list(info.shape), 40)}, not one value; "
                "the file is corrupt or mislabelled, re-export it"
            )
        if store.present(k):
            out[k] = store.scalar(k)
    return out


def build_lora_modules(
    renamed: dict[str, str],
    store: TensorStore,
    where: str,
    *,
    alpha_for: Callable[[str, int], float | None] = lambda name, rank: None,
    rslora: bool = False,
    transposed_for: Callable[[str], bool] = lambda name: False,
    dora: bool = False,
) -> tuple[dict[str, Module], list[str]]:
    """Pair LoRA factors. `renamed` maps PEFT-style canonical key -> raw key.

    Returns the modules and the canonical keys that are not LoRA parts (left for the caller).
    An `.alpha` tensor, where present, wins over `alpha_for` (it is what the trainer stored).
    """
    parts: dict[str, dict[str, str]] = {}
    rest: list[str] = []
    for key, raw_key in renamed.items():
        split = split_role(key)
        if split is None:
            rest.append(key)
            continue
        name, role = split
        if role == "bias":
            continue
        parts.setdefault(name, {})[role] = raw_key
    alpha_keys = [p["alpha"] for p in parts.values() if "alpha" in p and ("A" in p or "EA" in p)]
    alpha_values = read_scalars(store, alpha_keys, where) if alpha_keys else {}
    modules: dict[str, Module] = {}
    for name, p in sorted(parts.items()):
        emb = "EA" in p
        a_key, b_key = (p.get("EA"), p.get("EB")) if emb else (p.get("A"), p.get("B"))
        if a_key is None:
            if b_key is not None:
                raise InvalidWeightsError(
                    f"{where}: LoRA {quote(name, 120)} has a B matrix but no A; the file is incomplete, re-export it"
                )
            continue  # a lone alpha or magnitude: nothing to build
        a: TensorInfo = store.raw[a_key]
        b: TensorInfo | None = store.raw.get(b_key) if b_key else None
        rank = a.shape[0] if a.shape else 0
        alpha = alpha_values[p["alpha"]] if p.get("alpha") in alpha_values else alpha_for(name, rank)
        keys = {"A": a_key, **({"B": b_key} if b_key else {})}
        for role in ("alpha", "magnitude", "E"):
            if role in p:
                keys[role] = p[role]
        modules[name] = lora_module(
            name,
            a,
            b,
            alpha=alpha,
            keys=keys,
            where=where,
            rslora=rslora,
            transposed=transposed_for(name) and not emb,
            dora=dora or "magnitude" in p,
            lora_embedding=emb,
        )
    return modules, rest


def add_full_modules(modules: dict[str, Module], renamed: dict[str, str], keys: list[str], store: TensorStore) -> None:
    """Stored weights (`<module>.weight`, >= 2-D) next to the LoRA factors, e.g. PEFT's modules_to_save.

    A LoRA module of the same name keeps the name (its full copy stays reachable through `view.raw`).
    """
    for key in keys:
        if not key.endswith(".weight"):
            continue
        name = key[: -len(".weight")].removesuffix(".base_layer")
        info = store.raw[renamed[key]]
        if len(info.shape) < 2 or name in modules:
            continue
        modules[name] = full_module(name, info)


def stored_transposed(a: tuple, b: tuple) -> bool:
    """Whether a `lora_A` / `lora_B` pair is stored as A [in, r] and B [r, out] rather than loralib's A [r, in] and
    B [out, r]: only A's second side and B's first agree, and as a rank (below both layer sizes) only they can.

    >>> stored_transposed((768, 8), (8, 768)), stored_transposed((8, 768), (768, 8)), stored_transposed((4, 4), (4, 4))
    (True, False, False)
    """
    if len(a) != 2 or len(b) != 2 or a[1] != b[0]:
        return False
    plain = a[0] == b[1] and a[0] <= min(a[1], b[0])  # loralib's orientation fits, with a rank no larger than the layer
    return not plain and a[1] < min(a[0], b[1])


def stored_plain(a: tuple, b: tuple) -> bool:
    """Whether a pair a reader expects as A [in, r] and B [r, out] (mlx-lm's `lora_a` / `lora_b`) is stored as
    A [r, in] and B [out, r], and only fits that way round: the converse of `stored_transposed`.

    >>> stored_plain((8, 768), (768, 8)), stored_plain((768, 8), (8, 768))
    (True, False)
    """
    return stored_transposed(b, a)

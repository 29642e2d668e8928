"""cloneofsimo `lora_diffusion` files: `unet:N:up`, `unet:N:down`, `text_encoder:N:down`, positional.

lora_diffusion saves the injected layers in the order it found them: for every module of a target
class (listed in the header metadata, e.g. `unet: ["GEGLU", "CrossAttention", "Attention"]`) in
`model.modules()` order, that module's `nn.Linear` children in `named_modules()` order. The rank is in
the metadata (`unet:N:rank`); there is no alpha (lora_diffusion's scale defaults to 1).

To name index N, hfprobe enumerates the same way over a diffusers SD 1.x/2.x UNet and a CLIP text
encoder: their module orders are stored as data (`hfprobe.formats.tables`, made from the libraries' own models
built on the meta device; the tests check the stored order against them), and the names are accepted only if
every module's shape matches the file's A/B shapes. Otherwise it keeps positional names
`unet.lora_diffusion.N` / `text_encoder.lora_diffusion.N` and says so in `view.notes`.
Textual-inversion tokens stored in the same file (`<s1>`) become `embedding` modules
`text_encoder.token_embedding.<s1>`.

Before its safetensors format, lora_diffusion's `save_lora_weight` pickled a bare list (`lora_weight.pt`: up, down,
up, down, … in the same order, no component, no metadata); the pickle reader keys it "0", "1", …, and its pairs are
named as a UNet's (lora_diffusion's default targets, with GEGLU or without) or a text encoder's, whichever fits.
"""

from __future__ import annotations

import functools
import json
import re

from ..errors import InvalidWeightsError
from ..source.safetensors import quote
from .base import Module, TensorStore, full_module, lora_module
from .tables import tables

KEY = re.compile(r"^(?P<comp>[A-Za-z_]\w*):(?P<idx>\d{1,9}):(?P<role>up|down)\Z", re.ASCII)
MAX_TARGETS_JSON = 64 * 1024  # the metadata naming lora_diffusion's target classes is a short JSON list


def is_cloneofsimo(keys: list[str]) -> bool:
    return any(":" in k and KEY.match(k) for k in keys)


def is_cloneofsimo_list(keys: list[str]) -> bool:
    """A pickled list of tensors as the pickle reader keys it ("0", "1", …), up and down matrices in pairs."""
    return len(keys) >= 2 and len(keys) % 2 == 0 and set(keys) == {str(i) for i in range(len(keys))}


_LEGACY_BLOCK_ORDER = {"attn1": 0, "ff": 1, "attn2": 2}  # diffusers < 0.12 registered ff before attn2


def _regroup(ancestors, block_rank):
    """Reorder modules inside each transformer block by `block_rank`, keeping blocks where they are."""
    out, i = [], 0
    while i < len(ancestors):
        key = block_rank(ancestors[i])[:2]
        j = i
        while j < len(ancestors) and block_rank(ancestors[j])[:2] == key:
            j += 1
        out.extend(sorted(ancestors[i:j], key=block_rank))
        i = j
    return out


def _block_rank(item):
    head, _, tail = item[0].partition(".transformer_blocks.")
    idx, _, sub = tail.partition(".")
    return (head, idx, _LEGACY_BLOCK_ORDER.get(sub.split(".")[0], 3)) if tail else (item[0], "", 0)


def order_of(ancestors: list, targets: set[str], legacy: bool = False) -> list[tuple[str, tuple[int, int]]]:
    """lora_diffusion's order: modules of a target class in model order, then their Linear children.

    `ancestors` is [[module name, class name, [[child, out, in], ...]], ...] in `named_modules()` order.
    """
    chosen = [a for a in ancestors if a[1] in targets]
    if legacy:  # stable sort: only the order inside each transformer block changes
        chosen = _regroup(chosen, _block_rank)
    return [(f"{name}.{child}", (out, inp)) for name, _, children in chosen for child, out, inp in children]


@functools.lru_cache(maxsize=8)
def _unet_order(targets: frozenset, legacy: bool = False):
    """(name, (out, in)) in lora_diffusion's order over an SD 1.x/2.x UNet; cross-attention inputs read 0."""
    wanted = {"Attention"} if targets & {"CrossAttention", "Attention"} else set()
    wanted |= targets & {"GEGLU"}
    return [
        ("unet." + n, (s[0], 0) if n.endswith(("attn2.to_k", "attn2.to_v")) else s)
        for n, s in order_of(tables()["unet_order"], wanted, legacy)
    ]


def _fits(order, shapes) -> bool:
    """Same shapes up to one width factor (SD's 320 vs a test model's 32), every cross-attention input
    (0 in `order`) equal to one text width."""
    if len(order) != len(shapes) or not shapes:
        return False
    num, den = shapes[0][0], order[0][1][0]
    cross = {got[1] for (_, want), got in zip(order, shapes) if want[1] == 0}
    return len(cross) <= 1 and all(
        want[0] * num == got[0] * den and (want[1] == 0 or want[1] * num == got[1] * den)
        for (_, want), got in zip(order, shapes)
    )


def _text_encoder_order(n_layers: int, hidden: int):
    """(name, (out, in)) in lora_diffusion's order over a CLIP text encoder of `n_layers` layers."""
    children = tables()["clip_attention"]
    return [
        (f"text_encoder.text_model.encoder.layers.{i}.self_attn.{child}", (hidden, hidden))
        for i in range(n_layers)
        for child in children
    ]


def _names_for(
    comp: str, entries: dict[int, dict[str, str]], store: TensorStore, targets: set[str]
) -> list[str] | None:
    count = len(entries)
    ups = [store.raw[entries[i]["up"]].shape for i in range(count)]
    downs = [store.raw[entries[i]["down"]].shape for i in range(count)]
    if any(len(u) != 2 for u in ups) or any(len(d) != 2 for d in downs):
        return None  # lora_diffusion's Linear layers only; lora_module says what is wrong with the shapes
    shapes = [(u[0], d[1]) for u, d in zip(ups, downs)]
    if comp == "unet":
        for legacy in (False, True):
            order = _unet_order(frozenset(targets), legacy)
            if _fits(order, shapes):
                break
        else:
            return None
        candidates, expected = [n for n, _ in order], [tuple(s) for s in shapes]
    elif comp.startswith("text_encoder") and count % 4 == 0:
        order = _text_encoder_order(count // 4, shapes[0][1])
        candidates, expected = [n for n, _ in order], [s for _, s in order]
    else:
        return None
    if len(candidates) != count or [tuple(s) for s in shapes] != expected:
        return None
    if comp == "text_encoder_2":
        candidates = [c.replace("text_encoder.", "text_encoder_2.", 1) for c in candidates]
    return candidates


def _targets(metadata: dict[str, str], comp: str) -> tuple[set[str], str | None]:
    """lora_diffusion's target classes for `comp` from the metadata, and a note when they cannot be read."""
    text = metadata.get(comp)
    if text is None:
        return set(), None
    try:
        value = json.loads(text) if len(text) <= MAX_TARGETS_JSON else None
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return set(), f"{comp}: the metadata's target list {quote(text, 60)} is not a JSON list of class names; ignored"
    return set(value), None


_LIST_GUESSES = (  # what a bare list's pairs may be, in lora_diffusion's defaults over its versions
    ("unet", {"CrossAttention", "Attention"}),
    ("unet", {"CrossAttention", "Attention", "GEGLU"}),
    ("text_encoder", set()),
)


def read_cloneofsimo(store: TensorStore, metadata: dict[str, str], where: str):
    """Modules of a lora_diffusion file; returns (modules, notes, extra)."""
    groups: dict[str, dict[int, dict[str, str]]] = {}
    others = []
    if is_cloneofsimo_list(list(store.raw)):  # `save_lora_weight`'s pickled list: up, down, up, down, …
        pairs = {i: {"up": str(2 * i), "down": str(2 * i + 1)} for i in range(len(store.raw) // 2)}
        groups["lora_diffusion"] = pairs
    for key in store.raw if not groups else ():
        m = KEY.match(key) if ":" in key else None
        if m:
            groups.setdefault(m["comp"], {}).setdefault(int(m["idx"]), {})[m["role"]] = key
        else:
            others.append(key)
    modules: dict[str, Module] = {}
    notes: list[str] = []
    for comp, entries in sorted(groups.items()):
        lone = next((i for i, e in entries.items() if "down" not in e), None)
        if lone is not None:
            raise InvalidWeightsError(
                f"{where}: {quote(f'{comp}:{lone}:up', 80)} has no matching down matrix; the file is incomplete, "
                "re-export it"
            )
        if sorted(entries) != list(range(len(entries))) or any(len(e) != 2 for e in entries.values()):
            names = None
        elif comp == "lora_diffusion":  # a bare list: no component named, no metadata
            guesses = (_names_for(c, entries, store, targets) for c, targets in _LIST_GUESSES)
            names = next((n for n in guesses if n), None)
            notes.append("lora_diffusion's pickled list (save_lora_weight): components named by the layout that fits")
        else:
            targets, note = _targets(metadata, comp)
            if note:
                notes.append(note)
            names = _names_for(comp, entries, store, targets or {"CrossAttention", "Attention"})
        if names is None:
            notes.append(f"{comp}: positions could not be matched to module names; kept as {comp}.lora_diffusion.N")
        for i, parts in sorted(entries.items()):
            name = names[i] if names else f"{comp}.lora_diffusion.{i}".removeprefix("lora_diffusion.")
            down, up = store.raw[parts["down"]], store.raw.get(parts.get("up", ""))
            modules[name] = lora_module(
                name, down, up, alpha=None, keys={"A": parts["down"], **({"B": parts["up"]} if up else {})}, where=where
            )
    tokens = {}
    for key in others:
        info = store.raw[key]
        if metadata.get(key) == "<embed>" or (key.startswith("<") and len(info.shape) <= 2):
            name = f"text_encoder.token_embedding.{key}"
            modules[name] = full_module(name, info, kind="embedding")
            tokens[key] = list(info.shape)
    notes.append("lora_diffusion stores no alpha: scale 1")
    return modules, notes, {"tokens": tokens} if tokens else {}

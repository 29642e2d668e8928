"""diffusers LoRA files in the three key styles seen on the Hub, renamed with diffusers' own tables.

- `unet.….to_k.lora.down.weight` (what `save_lora_weights(convert_state_dict_to_diffusers(...))` writes),
  text encoders `text_encoder.….q_proj.lora_linear_layer.down.weight`;
- `….attn1.processor.to_k_lora.down.weight` (old attention processors), with or without `unet.`;
- `….to_k.lora_A.weight` (PEFT-style), with `unet.`, `transformer.` or no prefix, often with
  `lora_adapter_metadata` (the PEFT LoraConfig as JSON) in the header.

All are renamed (keys only) to `<component>.<module>.lora_A.weight` with diffusers' own renaming tables
(`convert_unet_state_dict_to_peft` / `convert_state_dict`, stored as data by `hfprobe.formats.tables` so that no
diffusers import is needed; the tests check the result against diffusers itself), then grouped by
`lora.build_lora_modules`. Alphas come from the LoraConfig in `lora_adapter_metadata` (`lora_alpha`,
`alpha_pattern` matched as peft's `get_pattern_key` does); malformed values are typed errors.
Canonical names: `unet.<diffusers path>`, `transformer.<diffusers path>`, `text_encoder[_2].text_model.<path>`
(the CLIP layout all LoRA files use, also where transformers 5 keeps it in memory without `text_model.`).
"""

from __future__ import annotations

import functools
import json
import math
import re
import time

from ..errors import InvalidWeightsError
from ..source.safetensors import quote
from .base import TensorStore
from .lora import build_lora_modules, without_adapter_name
from .presence import Presence
from .tables import tables

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
# what only a diffusion model's layers are called (diffusers' attention and feed-forward names, attention
# processors, kohya's and ComfyUI's prefixes): an unprefixed name without any is a language or vision model's
_DIFFUSION_NAMES = re.compile(
    r"(^|\.)(to_(q|k|v|out|qkv|add_out)|add_[qkv]_proj|attn[12]|ff(_context)?|proj_(in|out)|time_emb_proj|"
    r"processor|diffusion_model|lora_unet_\w*|lora_te\d?_\w*)(\.|$)|_lora\.(down|up)\."
)
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
    """`'unet.down_blocks.0…'` -> ('unet', 'down_blocks.0…'); unprefixed keys are placed by their root, and a
    name with nothing of a diffusion model in it is no component's: ('', key), kept as written.

    >>> component_of("mid_block.attentions.0.proj_in"), component_of("model.layers.0.self_attn.q_proj")
    (('unet', 'mid_block.attentions.0.proj_in'), ('', 'model.layers.0.self_attn.q_proj'))
    """
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
    if key.startswith(_UNET_ROOTS) or _DIFFUSION_NAMES.search(key):
        return "unet", key
    return "", key


def is_plain_lora(keys: list[str], metadata: dict[str, str]) -> bool:
    """PEFT's `lora_A` / `lora_B` factors under a model's own names with no component of a diffusion pipeline and
    no diffusers header: a language or vision model's LoRA saved without peft's `base_model.model.` prefix
    (mistral-finetune's `layers.N.attention.wq.lora_A.weight`, a state dict saved by hand). These were read as a
    UNet's (`unet.model.layers.0.self_attn.q_proj`)."""
    if metadata.get("lora_adapter_metadata") or not any(".lora_A." in k for k in keys):
        return False
    return all(component_of(k)[0] == "" for k in keys)


def canonical_text_encoder_path(path: str) -> str:
    """transformers 5 keeps CLIPTextModel's layers without `text_model.`; LoRA files have it. Use the latter."""
    return "text_model." + path if path.startswith(_CLIP_ROOTS) else path


@functools.lru_cache(maxsize=1)
def _mappings() -> tuple[tuple, tuple, tuple]:
    """(always, unet, text encoder) renaming pairs, in diffusers' order."""
    t = tables()["diffusers"]
    te = dict(map(tuple, t["DIFFUSERS_OLD_TO_PEFT"]))
    te.update(map(tuple, t["DIFFUSERS_TO_PEFT"]))  # diffusers' {**OLD, **NEW}
    return tuple(map(tuple, t["KEYS_TO_ALWAYS_REPLACE"])), tuple(map(tuple, t["UNET_TO_DIFFUSERS"])), tuple(te.items())


def convert_keys(keys: dict[str, str], mapping) -> dict[str, str]:
    """diffusers' `convert_state_dict`: every always-replace pattern, then the first pattern of `mapping` found.

    Done on all names joined where it can be (no name holds a newline): each always-replace pattern is one
    `replace` over the joined text, and only the mapping patterns found in it are tried name by name, so a header
    of long names stays fast; the result is the same as name by name.
    """
    always = _mappings()[0]
    joined = "\n".join(keys)
    if joined.count("\n") != max(0, len(keys) - 1):
        return {_convert_key(k, always, mapping): v for k, v in keys.items()}
    for pattern, new in always:
        joined = joined.replace(pattern, new)
    names = joined.split("\n") if keys else []
    present = Presence(names)
    found = [(pattern, new) for pattern, new in mapping if present(pattern)]  # the others are in no name
    return {_convert_key(k, (), found): v for k, v in zip(names, keys.values())}


_PEFT_ROLES = ((".lora.down.weight", ".lora_A.weight"), (".lora.up.weight", ".lora_B.weight"))


def _replace_all(names: list[str], pairs) -> list[str]:
    """Each name with `str.replace(old, new)` applied for every pair in order: on the names joined where no name
    holds a newline (the same result: no `old` spans a newline), one by one otherwise."""
    joined = "\n".join(names)
    if joined.count("\n") != max(0, len(names) - 1):
        out = []
        for name in names:
            for old, new in pairs:
                name = name.replace(old, new)
            out.append(name)
        return out
    for old, new in pairs:
        joined = joined.replace(old, new)
    return joined.split("\n") if names else []


def _convert_key(k: str, always, mapping) -> str:
    for pattern, new in always:
        if pattern in k:
            k = k.replace(pattern, new)
    for pattern, new in mapping:
        if pattern in k:
            return k.replace(pattern, new)
    return k


def to_peft_keys(raw_keys: list[str]) -> dict[str, str]:
    """Rename diffusers-style LoRA keys (any of the three styles) to PEFT style; returns new -> raw key."""
    _, unet_map, te_map = _mappings()
    by_comp: dict[str, dict[str, str]] = {}
    for raw in raw_keys:  # (a PEFT-wrapped model's own state dict keeps the adapter name: `lora_A.default.weight`)
        comp, rest = component_of(without_adapter_name(raw))
        by_comp.setdefault(comp, {})[rest] = raw
    out: dict[str, str] = {}
    for comp, sub in by_comp.items():
        # the converters only rename keys, so the raw key can ride along as the "tensor"
        if comp.startswith("text_encoder"):
            renamed = convert_keys(sub, te_map)
            renamed = {canonical_text_encoder_path(k): v for k, v in renamed.items()}
        elif comp:
            renamed = convert_keys(sub, unet_map)
        else:  # no diffusion model's: diffusers' tables are not for these names
            renamed = dict(sub)
        names = _replace_all(list(renamed), _PEFT_ROLES)
        for k, v in zip(names, renamed.values()):
            out[f"{comp}.{k}" if comp else k] = v
    return out


MAX_METADATA_JSON = 16 * 1024 * 1024  # bytes of lora_adapter_metadata parsed (real ones are a few kB)


def adapter_metadata(metadata: dict[str, str]) -> dict[str, dict]:
    """`lora_adapter_metadata` from a diffusers header -> {component or "": LoraConfig dict}.

    Unreadable JSON is no claim (an empty result); values are checked where they are used (`alpha_lookup`).
    """
    text = metadata.get("lora_adapter_metadata")
    if not text or len(text) > MAX_METADATA_JSON:
        return {}
    try:
        flat = json.loads(text)
    except (ValueError, RecursionError):
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


MAX_PATTERNS = 4096  # alpha_pattern entries (real ones list at most one per module, a few hundred)
MAX_PATTERN_CHARS = 256
MAX_PATTERN_MATCHES = 1_000_000  # pattern tests per file (modules x patterns; a full SDXL LoRA with one pattern
# per module needs about 520,000)
PATTERN_SECONDS = 1.0  # and the time they may take (a safety net: each pattern is checked by `_risky` first)


def _number(value, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidWeightsError(f"{where}: {what} is {quote(value, 60)}, not a finite number; fix the LoRA config")
    return float(value)


def _risky(pattern: str) -> str | None:
    r"""Why matching a pattern could take long (backtracking), or None. Refused: a backreference, a repeated group
    that itself repeats or alternates, more than one unbounded repeat (`*`, `+`, `{}`), more than three repeats.
    With names of at most MAX_KEY_CHARS characters, one test of any other pattern takes milliseconds at worst.

    >>> _risky("attn1.to_q"), _risky(r"down_blocks\.\d+\.attn1"), _risky("(a+)+$"), _risky(".*a.*b")
    (None, None, 'a repeated group that itself repeats or alternates', 'more than one unbounded repeat')
    """
    depth_risky, unbounded, total, i, after_group = [False], 0, 0, 0, None
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 < len(pattern) and pattern[i + 1].isdigit():
                return "a backreference"
            i, after_group = i + 2, None
            continue
        if c == "[":  # a character class is one atom
            j = i + 1 + (pattern[i + 1 : i + 2] == "^")
            j += pattern[j : j + 1] == "]"
            while j < len(pattern) and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i, after_group = j + 1, None
            continue
        if c == "(":
            if pattern.startswith("(?P=", i):
                return "a backreference"
            depth_risky.append(False)
            i += 2 if pattern.startswith("(?", i) else 1  # `(?:` etc.: that `?` is not a repeat
            after_group = None
            continue
        if c == ")":
            risky = depth_risky.pop() if len(depth_risky) > 1 else False
            depth_risky[-1] = depth_risky[-1] or risky
            i, after_group = i + 1, risky
            continue
        if c in "*+?{":
            if after_group:
                return "a repeated group that itself repeats or alternates"
            unbounded += c != "?"
            total += 1
            depth_risky[-1] = True
        elif c == "|":
            depth_risky[-1] = True
        after_group = None
        i += 1
    if unbounded > 1:
        return "more than one unbounded repeat"
    return "more than three repeats" if total > 3 else None


@functools.lru_cache(maxsize=4096)
def _compiled(key: str) -> re.Pattern | str:
    """peft's match for one pattern key, compiled once; a string says why the key is refused."""
    why = _risky(key)
    if why:
        return why
    try:
        return re.compile(rf"(.*\.)?({key})$")
    except (re.error, RecursionError, OverflowError, ValueError) as err:
        return f"not a valid regular expression ({' '.join(str(err).split())[:80]})"


def pattern_key(pattern_keys: list[str], name: str, where: str = "LoRA config") -> str:
    """peft's `get_pattern_key`: the first key whose pattern matches the end of `name` at a dot, else `name`.

    >>> pattern_key(["value", "attention.self.query"], "bert.encoder.layer.0.attention.self.query")
    'attention.self.query'
    >>> pattern_key(["value"], "a.query")
    'a.query'
    """
    for key in pattern_keys:
        compiled = _compiled(key)
        if isinstance(compiled, str):
            raise InvalidWeightsError(
                f"{where}: alpha_pattern key {quote(key, 80)} is refused ({compiled}); fix the LoRA config"
            )
        if compiled.match(name):
            return key
    return name


def alpha_lookup(configs: dict[str, dict], where: str = "LoRA config"):
    """alpha_for(name, rank) from PEFT LoraConfigs (lora_alpha, alpha_pattern), per component.

    Values are checked here: a non-numeric `lora_alpha`, an `alpha_pattern` that is not a map of patterns to
    numbers, or a pattern that is not a (safe) regular expression is an `InvalidWeightsError` naming `where`.
    """
    checked: dict[str, tuple[dict[str, float], float | None]] = {}
    for comp, cfg in configs.items():
        if not isinstance(cfg, dict):
            continue
        patterns = cfg.get("alpha_pattern") or {}
        if not isinstance(patterns, dict):
            raise InvalidWeightsError(f"{where}: alpha_pattern is {quote(patterns, 60)}, not a map of module names")
        if len(patterns) > MAX_PATTERNS:
            raise InvalidWeightsError(
                f"{where}: alpha_pattern has {len(patterns)} entries, over hfprobe's limit of {MAX_PATTERNS}"
            )
        for key in patterns:
            if len(key) > MAX_PATTERN_CHARS:
                raise InvalidWeightsError(
                    f"{where}: alpha_pattern key {quote(key, 80)} is over {MAX_PATTERN_CHARS} chars"
                )
        values = {k: _number(v, f"alpha_pattern[{quote(k, 60)}]", where) for k, v in patterns.items()}
        alpha = cfg.get("lora_alpha")
        checked[comp] = (values, None if alpha is None else _number(alpha, "lora_alpha", where))
    spent = [0, 0.0]  # pattern tests, seconds

    def alpha_for(name: str, rank: int) -> float | None:
        comp, _, path = name.partition(".")
        values, alpha = checked.get(comp) or checked.get("") or ({}, None)
        if values:
            start = time.monotonic()
            key = pattern_key(list(values), path, where)
            spent[0] += len(values)
            spent[1] += time.monotonic() - start
            if spent[0] > MAX_PATTERN_MATCHES or spent[1] > PATTERN_SECONDS:
                raise InvalidWeightsError(
                    f"{where}: its {len(values)} alpha_pattern entries times this file's modules are too many to "
                    f"match (over {MAX_PATTERN_MATCHES} tests or {PATTERN_SECONDS:.0f} s); list fewer patterns"
                )
            if key in values:
                return values[key]
        return alpha

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
    alpha_for = alpha_lookup(configs, f"{where} (lora_adapter_metadata)")
    modules, rest = build_lora_modules(renamed, store, where, alpha_for=alpha_for, rslora=rslora, dora=dora)
    notes = []
    if not configs and not any(k.endswith(".alpha") for k in renamed):
        notes.append("no alpha stored: scale 1 (alpha = rank), as diffusers assumes")
    if rest:
        notes.append(f"{len(rest)} tensors are not LoRA factors and were left out (e.g. {quote(rest[0], 80)})")
    fmt = (
        "diffusers-lora-processor" if any(".processor." in k or "_lora.down." in k for k in keys) else "diffusers-lora"
    )
    return modules, fmt, notes

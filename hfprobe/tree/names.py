"""Tensor names as the tree registry reads them: one spelling per module (`normalize_key`) and (d_out, d_in) per
module from raw shapes, LoRA factors paired (`shapes_from_raw`).

Both are defined by regular expressions (kept below as the definition and for the rare names holding a newline);
the common path gets the same answers by looking at a name's last `TAIL` characters only, so a name's length costs
nothing (tests/test_keymatch.py compares the two on real, random and hostile names).

>>> normalize_key("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight")
'transformer_h_0_attn_c_attn'
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping

Shape = tuple  # (d_out | None, d_in | None)


_SUFFIX = re.compile(
    r"[._](lora[._]?(a|b|down|up)|lora_embedding_(a|b))(\.default)?$|\.(base_layer|original_module|modules_to_save\.default)$"
)
_WEIGHT_TAIL = re.compile(r"\.(weight|bias|alpha)$")
_LORA_TAIL = re.compile(r"_lora$")
_DOT_WEIGHT = re.compile(r"\.weight$")
# Every pattern above, and _LORA_SUFFIX below, matches only at the end, within the last TAIL characters of a name
# (tests/test_keymatch.py checks their widths), so they are applied to that tail: a key's length costs nothing.
TAIL = 40


def _sub_tail(pattern: re.Pattern, text: str) -> str:
    """`pattern.sub("", text)` for an end-anchored pattern narrower than TAIL."""
    if len(text) <= TAIL:
        return pattern.sub("", text)
    return text[:-TAIL] + pattern.sub("", text[-TAIL:])


def _ends(*groups) -> dict[str, tuple[str, ...]]:
    """Every string `pattern$` can match, longest first, by their last two characters."""
    table: dict[str, list[str]] = {}
    for text in ("".join(parts) for parts in itertools.product(*groups)):
        table.setdefault(text[-2:], []).append(text)
    return {end: tuple(sorted(texts, key=len, reverse=True)) for end, texts in table.items()}


# _WEIGHT_TAIL and _SUFFIX spelled out: a name without a newline is matched against these with `endswith`, the
# longest first, which is where the patterns' leftmost match starts (tests/test_keymatch.py compares the two)
_WEIGHT_ENDS = _ends((".weight", ".bias", ".alpha"))
_SUFFIX_ENDS = _ends(
    (".", "_"),
    [
        *(f"lora{s}{p}" for s in ("", ".", "_") for p in ("a", "b", "down", "up")),
        "lora_embedding_a",
        "lora_embedding_b",
    ],
    ("", ".default"),
)
for _end, _texts in _ends((".base_layer", ".original_module", ".modules_to_save.default")).items():
    _SUFFIX_ENDS[_end] = tuple(sorted(_SUFFIX_ENDS.get(_end, ()) + _texts, key=len, reverse=True))


def normalize_key(key: str) -> str:
    """One spelling for every layout: lower case, no LoRA suffix, separators as '_'.

    >>> normalize_key("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight")
    'transformer_h_0_attn_c_attn'
    >>> normalize_key("down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_k_lora.down.weight")
    'down_blocks_0_attentions_0_transformer_blocks_0_attn1_processor_to_k'
    """
    return _separators(_strip_suffixes(key))


def normalize_keys(keys: list[str]) -> list[str]:
    """`normalize_key` of each key; the separators are replaced in all names joined (four scans in all, not four
    per name), which is the same where no name holds a newline."""
    stripped = [_strip_suffixes(k) for k in keys]
    joined = "\n".join(stripped)
    if joined.count("\n") != max(0, len(keys) - 1):
        return [_separators(k) for k in stripped]
    return _separators(joined).split("\n") if keys else []


def _separators(k: str) -> str:
    return k.replace(".", "_").replace(":", "_").replace("/", "_").replace("-", "_")  # (faster than translate)


def _strip_suffixes(key: str) -> str:
    """Lower case, without `base_model.model.`, `.weight`/`.bias`/`.alpha` and LoRA suffixes."""
    k = key.lower()
    if k.startswith("base_model.model."):
        k = k[17:]
    if "\n" in k:  # `$` also matches before a final newline: the patterns themselves, on the tail
        k = _sub_tail(_WEIGHT_TAIL, k)
        for _ in range(2):  # "classifier.modules_to_save.default" and then nothing, or a LoRA suffix
            k = _sub_tail(_SUFFIX, k)
        return _sub_tail(_LORA_TAIL, k)
    for end in _WEIGHT_ENDS.get(k[-2:], ()):  # longest first: where the pattern's leftmost match starts
        if k.endswith(end):
            k = k[: -len(end)]
            break
    for _ in range(2):
        for end in _SUFFIX_ENDS.get(k[-2:], ()):
            if k.endswith(end):
                k = k[: -len(end)]
                break
        else:
            break
    return k.removesuffix("_lora")


_LORA_PART = re.compile(
    r"^(?P<base>.*?)[._:](?P<part>lora_a|lora_b|lora\.down|lora\.up|lora_down|lora_up|down|up)(\.default)?(\.weight)?$",
    re.I,
)
# _LORA_PART without its lazy head: searched from the tail, the first match starts where _LORA_PART's base ends
_LORA_SUFFIX = re.compile(_LORA_PART.pattern.replace("^(?P<base>.*?)", ""), re.I)
_W_AB = re.compile(r"^w_(a|b)_(\d+)$")
# a mixture's routed experts stacked in one 3-D parameter each, [experts, out, in], as transformers 5 saves them
# (Qwen3.5's and GLM-4.5's checkpoints: `mlp.experts.gate_up_proj`, `mlp.experts.down_proj`) and IBM's GraniteMoE
# always has (`block_sparse_moe.input_linear`, `output_linear`: Granite 3.0's mixtures, Granite 4.0 H Tiny and Small),
# as JetMoE has for its attention's experts and its MLP's (`self_attention.experts.input_linear`, `mlp.input_linear`)
_STACKED_EXPERTS = re.compile(
    r"[._]experts[._]((gate_up|gate|up|down)_proj|w[123]|input_linear|output_linear)(\.weight)?$"
    r"|[._](block_sparse_moe|mlp)[._](input|output)_linear(\.weight)?$"
)


def stacked_expert(key: str, shape: tuple[int, ...]) -> tuple[int, int] | None:
    """One expert's (out, in) where `key` holds a mixture's experts stacked [experts, out, in]; else None."""
    if len(shape) == 3 and _STACKED_EXPERTS.search(key, max(0, len(key) - TAIL)):
        return shape[1], shape[2]
    return None


def _lora_part(key: str) -> tuple[str, str] | None:
    """(base, part) as `_LORA_PART.match(key)` gives them, in time independent of the key's length."""
    m = _LORA_SUFFIX.search(key, max(0, len(key) - TAIL))
    if m is None or "\n" in key[: m.start()]:  # `.` does not cross a newline
        return None
    return key[: m.start()], m.group("part")


def shapes_from_raw(raw: Mapping[str, Iterable[int]]) -> dict[str, Shape]:
    """(d_out, d_in) per module from raw tensor shapes, pairing LoRA down/A with up/B.

    A LoRA down/A matrix is [r, in, ...] and an up/B matrix [out, r, ...]; a full weight is
    [out, in, ...]; an embedding [num, dim]; a mixture's stacked experts [experts, out, in] (one expert's shape).
    A file holding only A matrices gives (None, in).

    >>> shapes_from_raw({"x.lora_A.weight": (4, 768), "x.lora_B.weight": (2304, 4)})
    {'x': (2304, 768)}
    """
    out: dict[str, list] = {}
    for key, shape in raw.items():
        shape = tuple(map(int, shape))
        if key.endswith(".alpha") or len(shape) < 2:
            continue
        m = _W_AB.match(key) if key.startswith("w_") else None
        if m:
            base, part = f"w_{m.group(2)}", ("down" if m.group(1) == "a" else "up")
        else:
            split = _lora_part(key) if ("lora" in key.lower() or ":" in key) else None
            if split:
                base, part = split[0], split[1].lower()
            else:
                out[_sub_tail(_DOT_WEIGHT, key)] = list(stacked_expert(key, shape) or shape[:2])
                continue
        slot = out.setdefault(base, [None, None])
        if part in ("lora_a", "lora.down", "lora_down", "down"):
            slot[1] = shape[1]
        else:
            slot[0] = shape[0]
    return {k: (v[0], v[1]) for k, v in out.items()}

"""Registry models named in prose: Hub ids (`runwayml/stable-diffusion-v1-5`) and checkpoint or library names
(`v1-5-pruned-emaonly`, `sam_vit_b_01ec64`), found as whole words, and scanned only near where they can occur
(`keymatch.windows`): a README costs little. `declared._text_mentions` turns them into claims.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .keymatch import trie, windows
from .registry import roots


@lru_cache(maxsize=1)
def _hub_names() -> list[str]:
    """Every registry Hub id with an org (ids, aliases, derivatives), longest first."""
    return sorted((n for n in roots()["_hub"].values() if "/" in n), key=len, reverse=True)


@lru_cache(maxsize=1)
def _hub_id_pattern() -> re.Pattern | None:
    """Every registry Hub id with an org as whole words, a longer id before one it extends
    (so `stabilityai/stable-diffusion-2-1-base` is not read as `stabilityai/stable-diffusion-2-1`)."""
    names = _hub_names()
    if not names:
        return None
    # ASCII names: case-insensitive branches cannot overlap, so the trie is exact (tests/test_keymatch.py compares it
    # with the plain `|`-joined alternation); anything else keeps the plain alternation
    body = trie(names) if all(n.isascii() for n in names) else "|".join(map(re.escape, names))
    return re.compile(r"(?<![\w.-])(" + body + r")(?![\w/-]|\.\w)", re.I)


def name_mentions(body: str) -> list[re.Match]:
    """The registry's checkpoint names in `body` (`_name_pattern`), scanned only when one occurs literally: the
    substring tests are what most READMEs cost (a regex of 24 alternatives at every character cost a tenth of a
    warm `inspect`).

    >>> [m.group(1) for m in name_mentions("Trained on v1-5-pruned-emaonly.ckpt.")]
    ['v1-5-pruned-emaonly']
    """
    low, pattern = body.lower(), _name_pattern()
    named = [n for n in _names_lower() if n in low] if pattern is not None else []
    if not named:
        return []
    if len(low) != len(body):  # (lower case changed the length: positions in one are not the other's)
        return list(pattern.finditer(body))
    reach = len(named[0]) + len(".safetensors") + 2  # a match: a name, maybe a weights suffix, then its end check
    return [m for lo, hi in windows(body, named, reach, within=low) for m in pattern.finditer(body, lo, hi)]


@lru_cache(maxsize=1)
def _registry_names() -> tuple[str, ...]:
    """The roots' checkpoint and library names, longest first."""
    return tuple(sorted({n for r in roots()["roots"] for n in r.get("names", [])}, key=len, reverse=True))


@lru_cache(maxsize=1)
def _names_lower() -> tuple[str, ...]:
    return tuple(n.lower() for n in _registry_names())


@lru_cache(maxsize=1)
def _name_pattern() -> re.Pattern | None:
    """The registry's checkpoint and library names (`v1-5-pruned-emaonly`, `sd_xl_base_1.0`, `sam_vit_b_01ec64`,
    `B_16_imagenet1k`) as whole words, with or without a weights suffix: prose and code name a base by them.

    >>> [m.group(1) for m in _name_pattern().finditer("trained on sd_xl_base_1.0.safetensors; ViT('B_16_imagenet1k')")]
    ['sd_xl_base_1.0', 'B_16_imagenet1k']
    """
    names = _registry_names()
    if not names:
        return None
    body = "|".join(map(re.escape, names))
    return re.compile(r"(?<![\w.-])(" + body + r")(?:\.(?:safetensors|ckpt|pth|pt|bin))?(?![\w-]|\.\w)", re.I)


def hub_id_mentions(body: str) -> list[re.Match]:
    """The registry Hub ids named in `body`, as `_hub_id_pattern().finditer(body)` finds them.

    Every id holds a `/`, so only the text around each `/` (the longest id plus the 2 characters its end checks,
    either side) is scanned; windows that touch are merged, so no match is cut or found twice.

    >>> [m.group(1) for m in hub_id_mentions("LoRA for runwayml/stable-diffusion-v1-5, see a/b.")]
    ['runwayml/stable-diffusion-v1-5']
    """
    pattern = _hub_id_pattern()
    if pattern is None:
        return []
    return [m for lo, hi in windows(body, ("/",), len(_hub_names()[0]) + 4) for m in pattern.finditer(body, lo, hi)]


# a link to a model page: huggingface.co/<id>[/…], the way transformers' Trainer card names what it fine-tuned
# ("a fine-tuned version of [bert-base-uncased](https://huggingface.co/bert-base-uncased)")
_HUB_LINK = re.compile(r"(?<![\w.-])huggingface\.co/([\w.-]{1,96})(?![\w.-])")


@lru_cache(maxsize=1)
def _legacy_ids() -> frozenset[str]:
    """The registry's Hub ids without an org (`gpt2`, `bert-base-uncased`), lower case: named by a link only, as the
    words alone name a family rather than a model."""
    return frozenset(n.lower() for n in roots()["_hub"].values() if "/" not in n)


def hub_link_mentions(body: str) -> list[re.Match]:
    """The registry's org-less Hub ids in links to their model pages (an id with an org is one `hub_id_mentions`
    finds, link or not).

    >>> [m.group(1) for m in hub_link_mentions("fine-tuned version of [gpt2](https://huggingface.co/gpt2) on x")]
    ['gpt2']
    >>> hub_link_mentions("https://huggingface.co/docs/peft and https://huggingface.co/datasets/imdb")
    []
    """
    if "huggingface.co/" not in body:
        return []
    legacy = _legacy_ids()
    return [m for m in _HUB_LINK.finditer(body) if m.group(1).lower() in legacy]

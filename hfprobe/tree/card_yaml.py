"""A model card's YAML metadata and a training config's YAML, read within bounds: never slow, never an error.

`card_metadata` reads a card as huggingface_hub's `ModelCard` does, without importing it (tests/test_tree_declared.py
compares the two on real cards); `load_yaml` is the bounded safe load both it and the training-config reader use.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_YAML_BYTES = 128 * 1024  # a card's metadata block or a training config (real ones are a few kB), with libyaml
MAX_YAML_BYTES_PURE = 16 * 1024  # the same, where PyYAML has no libyaml: its pure-Python parser takes ~35 µs a byte
MAX_YAML_DEPTH = 32  # nested mappings and sequences (real ones nest three or four deep)
MAX_YAML_ALIASES = 20  # `*alias` references (real ones use none; merge keys over nested aliases multiply)
NOT_YAML = "not valid YAML"  # how `load_yaml`'s reason for a text that is not YAML begins
_YAML_BLOCK = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")  # as ModelCard


def load_yaml(text: str, first_line: int = 1) -> tuple[object, str | None]:
    """(data, None), or (None, why) when `text` is over the bounds above or not YAML: never slow, never an error.
    Not YAML: "not valid YAML at line N (what)", N counted from `first_line`, the line of its file `text` starts at.

    PyYAML's C loader (libyaml) where installed, else its pure-Python one (with a smaller size bound). The events
    are checked for depth and aliases before anything is built, so nesting cannot exhaust the stack and merge keys
    cannot multiply a small file into a huge one.

    >>> load_yaml("a: [1, {b: c}]")
    ({'a': [1, {'b': 'c'}]}, None)
    >>> load_yaml("[" * 100 + "]" * 100)[1]
    'nested over 32 deep'
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", None)
    limit = MAX_YAML_BYTES if loader else MAX_YAML_BYTES_PURE
    if len(text) > limit:
        return None, f"{len(text)} characters, over the {limit // 1024} kB limit"
    loader = loader or yaml.SafeLoader
    depth = aliases = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return None, f"nested over {MAX_YAML_DEPTH} deep"
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_YAML_ALIASES:
                    return None, f"over {MAX_YAML_ALIASES} YAML aliases"
        return yaml.load(text, Loader=loader), None  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)
    except yaml.YAMLError as err:
        mark, what = getattr(err, "problem_mark", None), " ".join(str(getattr(err, "problem", "") or "").split())
        where = f" at line {first_line + mark.line}" if mark is not None else ""
        return None, f"{NOT_YAML}{where}" + (f" ({what[:80]})" if what else "")
    except (RecursionError, ValueError, TypeError, OverflowError):
        return None, NOT_YAML


@lru_cache(maxsize=16)  # inspect reads one card for its base model and its datasets: parsed once; never changed
def card_metadata(text: str) -> tuple[dict, str, str | None]:
    """The card's YAML metadata, its prose, and why the metadata was not read (None when it was, or when it is no
    mapping of string keys: then the whole card is prose, as huggingface_hub's ModelCard would leave it; a block
    over the bounds of `load_yaml`, or one that is not YAML, is neither read nor prose, and the reason says where).

    Read as `huggingface_hub.ModelCard` reads a card (its YAML-block pattern, a safe load, a mapping with string
    keys), without importing it: tests/test_tree_declared.py compares the two on real cards.

    Two differences: a UTF-8 byte-order mark before the block is read past (ModelCard sees no metadata behind one,
    but the card's author meant it as metadata, and `hfprobe annotate` removes the mark); and a block that is not
    YAML, which ModelCard raises on, is metadata left unread, not the first lines of the card's prose.

    >>> card_metadata("---\\nbase_model: gpt2\\n---\\n# Hi")
    ({'base_model': 'gpt2'}, '# Hi', None)
    """
    text = text.removeprefix("\ufeff")
    if not text.lstrip().startswith("---"):
        return {}, text, None  # no YAML block: all prose
    match = _YAML_BLOCK.search(text)
    if not match:
        return {}, text, None
    data, problem = load_yaml(match.group(2), first_line=text.count("\n", 0, match.start(2)) + 1)
    if problem:  # a block over the bounds or not YAML is metadata left unread, not prose: its lines are no description
        # or mention (a card whose block is not YAML was all prose, as huggingface_hub's ModelCard falls back to, and
        # its YAML's first line was "what the card says it is"); the Hub shows it as a metadata error, and so do we
        return {}, text[match.end() :], f"YAML block not read: {problem}"
    data = {} if data is None else data
    tags = data.get("tags") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or not all(isinstance(k, str) for k in data)
        or "ignore_metadata_errors" in data  # what ModelCardData refuses: the card is prose
        or (tags is not None and not isinstance(tags, str | list | dict | tuple | set))
    ):
        return {}, text, None
    return data, text[match.end() :], None

"""Stage 3, tree: which foundation model a model descends from. Its architecture family and root are
read from tensor names and shapes (registries in hfprobe/data/families.json and roots.json), weighed
against what its metadata declares, and reported with confidence, evidence and conflicts.

Owns: the registries (registry.py), declared metadata (declared.py; a card's YAML in card_yaml.py, registry
models named in prose in mentions.py; a declared model the registry lacks, by its own configs, in
base_config.py), the classifier over shapes and
strings (classify.py: family choice and root ranking), how registry roots fit the shapes (fit.py), conflicts
and the card's base_model decision (decide.py), the tensor-name rules they read (names.py), fast exact matching
of the registry's patterns (keymatch.py), the `inspect` report (inspect.py) and a pile of models grouped by
root (pile.py).
May import: hfprobe.source, hfprobe.formats, hfprobe.errors, hfprobe.config.

    >>> from hfprobe.tree import classify
    >>> classify({"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)}).family
    'sd1'
"""

from .classify import TreeResult, classify
from .inspect import format_report, inspect_source

__all__ = ["TreeResult", "classify", "format_report", "inspect_source"]

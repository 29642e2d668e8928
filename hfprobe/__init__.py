"""hfprobe: read a model's weights and say what it is: its tree (the foundation model it was fine-tuned from)
and what it was trained on (ProbeX tree experts, Horwitz et al., CVPR 2025).

The package is laid out as the pipeline, each stage a sub-package that imports only the stages before it:

    source -> formats -> tree -> text -> zoo -> experts -> cards | search -> bench -> demo, cli

The names a user needs are importable from here, lazily (`import hfprobe` imports no torch):

    >>> import hfprobe
    >>> report = hfprobe.inspect_source("org/some-lora")              # doctest: +SKIP
    >>> view = hfprobe.open_weights("./my-lora")                       # doctest: +SKIP
    >>> hfprobe.predict("./my-lora", labels=["dog", "cat"])            # doctest: +SKIP
    >>> hfprobe.annotate_folder("./my-lora", dry_run=True)             # doctest: +SKIP
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> the module that defines it
_PUBLIC = {
    "resolve": "hfprobe.source",
    "open_weights": "hfprobe.formats",
    "inspect_source": "hfprobe.tree.inspect",
    "classify": "hfprobe.tree.classify",
    "get_text_encoder": "hfprobe.text.encoders",
    "build_zoo": "hfprobe.zoo",
    "open_zoo": "hfprobe.zoo",
    "TrainConfig": "hfprobe.experts.probes",
    "fit_tree": "hfprobe.experts.fit",
    "Expert": "hfprobe.experts.expert",
    "load_experts": "hfprobe.experts.expert",
    "predict": "hfprobe.experts.predict",
    "readout_predict": "hfprobe.experts.readout",
    "update_card": "hfprobe.cards.card",
    "annotate_folder": "hfprobe.cards.annotate",
    "annotate_repo": "hfprobe.cards.annotate",
    "ModelIndex": "hfprobe.search.index",
    "run_bench": "hfprobe.bench.run",
}
__all__ = ["__version__", *_PUBLIC]


def lazy_exports(package: str, names: dict[str, str]):
    """A package's `__getattr__` that imports each public name (name -> defining module) on first use and keeps it,
    so importing the package imports none of its heavy modules (PEP 562)."""

    def __getattr__(name: str):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(names[name]), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__


__getattr__ = lazy_exports(__name__, _PUBLIC)


def __dir__() -> list[str]:
    return sorted(__all__)

"""Model zoos with ground truth: build them offline (`build_zoo`) and read them (`open_zoo`, `open_modelj`).

    >>> from hfprobe.zoo import build_zoo, open_zoo          # doctest: +SKIP
    >>> zoo = open_zoo(build_zoo("tiny"))
    >>> for item in zoo.read("vit.encoder.layer.1.attention.attention.key", tree="vit-fmnist-a"):
    ...     item.id, item.split, item.labels, item.matrix.shape
"""

from .build import build_zoo, default_zoo_dir
from .recipe import list_presets, load_recipe, recipe_hash

__all__ = ["build_zoo", "default_zoo_dir", "list_presets", "load_recipe", "recipe_hash"]

try:  # readers are optional while the package is assembled; they need hfprobe.formats
    from .read import Zoo, ZooItem, ZooModel, open_zoo, zoo_info  # noqa: F401
    from .modelj import open_modelj  # noqa: F401

    __all__ += ["Zoo", "ZooItem", "ZooModel", "open_zoo", "zoo_info", "open_modelj"]
except ImportError:  # pragma: no cover
    pass

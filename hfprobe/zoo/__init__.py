"""Stage 5, zoo: model zoos with ground truth. Build them offline (`build_zoo`: real tiny networks
fine-tuned on known categories, in the file formats people publish) and read them (`open_zoo` for a built
zoo or any folder of labelled models, `open_modelj` for the published Model-J on the Hub; `open_zoo_spec` for
what `--zoo` names: a folder or `modelj:SUBSET`).

Owns: recipes and presets (recipe.py, hfprobe/data/zoo_presets.json), the builders (build.py, trees.py,
discriminative.py, generative.py, datasets.py), the readers (read.py, modelj.py) and the on-disk layer cache that
lets training read a Model-J split one layer at a time (layercache.py).
May import: hfprobe.source, hfprobe.formats, hfprobe.text, hfprobe.errors, hfprobe.config, hfprobe.device.

    >>> from hfprobe.zoo import build_zoo, open_zoo          # doctest: +SKIP
    >>> zoo = open_zoo(build_zoo("tiny"))                     # doctest: +SKIP
    >>> for item in zoo.read("vit.layers.1.attention.k_proj", tree="vit-fmnist-a"):   # doctest: +SKIP
    ...     item.id, item.split, item.labels, item.matrix.shape
"""

from .build import build_zoo, default_zoo_dir
from .modelj import is_modelj_spec, modelj_kind, open_modelj, open_zoo_spec, paper_protocol
from .read import Zoo, ZooItem, ZooModel, open_zoo, zoo_info
from .recipe import list_presets, load_recipe, recipe_hash

__all__ = [
    "Zoo",
    "ZooItem",
    "ZooModel",
    "build_zoo",
    "default_zoo_dir",
    "list_presets",
    "load_recipe",
    "is_modelj_spec",
    "modelj_kind",
    "open_modelj",
    "open_zoo",
    "open_zoo_spec",
    "paper_protocol",
    "recipe_hash",
    "zoo_info",
]

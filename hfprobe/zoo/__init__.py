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

from .. import lazy_exports

# loaded on first use: a folder's label check (read.declares_labels) needs no torch, building and reading tensors do
_PUBLIC = {
    "Zoo": "hfprobe.zoo.read",
    "ZooItem": "hfprobe.zoo.read",
    "ZooModel": "hfprobe.zoo.read",
    "build_zoo": "hfprobe.zoo.build",
    "default_zoo_dir": "hfprobe.zoo.build",
    "list_presets": "hfprobe.zoo.recipe",
    "load_recipe": "hfprobe.zoo.recipe",
    "is_modelj_spec": "hfprobe.zoo.modelj",
    "modelj_kind": "hfprobe.zoo.modelj",
    "open_modelj": "hfprobe.zoo.modelj",
    "open_zoo": "hfprobe.zoo.read",
    "open_zoo_spec": "hfprobe.zoo.modelj",
    "paper_protocol": "hfprobe.zoo.modelj",
    "recipe_hash": "hfprobe.zoo.recipe",
    "zoo_info": "hfprobe.zoo.read",
}
__all__ = list(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)

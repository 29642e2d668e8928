"""Stage 6, experts: what a model was trained on, from ONE layer of its weights. ProbeX tree experts
(probes.py, with their configs), the training loop (train.py), a zoo tree as tensors (data.py), layer
sweep and wrapping (fit.py), calibration of the scores (calibrate.py), expert folders (expert.py) and their
publication on the Hub (publish.py), routing to a tree and clustering trees
(route.py), prediction (predict.py), and the expert-free readout of text-to-image LoRAs (readout.py).

May import: hfprobe.source, hfprobe.formats, hfprobe.tree, hfprobe.text, hfprobe.errors, hfprobe.config,
hfprobe.device (where training runs); `fit` and `data` take a zoo object (hfprobe.zoo) as an argument and never
import the zoo builders, only `hfprobe.zoo.layercache.LazyLayers` (one layer in memory at a time).

    >>> from hfprobe.experts import predict
    >>> out = predict("./my-lora", top_k=3)      # doctest: +SKIP
"""

from .expert import Expert, load_experts
from .fit import fit_tree
from .predict import predict
from .probes import TrainConfig

__all__ = ["Expert", "TrainConfig", "fit_tree", "load_experts", "predict"]

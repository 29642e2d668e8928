"""Stage 6, experts: what a model was trained on, from ONE layer of its weights. ProbeX tree experts
(probes.py, with their configs), the training loop (train.py), a zoo tree as tensors (data.py), layer
sweep and wrapping (fit.py), calibration of the scores (calibrate.py), expert folders (expert.py) and their
publication on the Hub (publish.py), routing to a tree and clustering trees
(route.py), prediction (predict.py; on the CPU its probe runs in numpy, infer.py), and the expert-free readout
of text-to-image LoRAs (readout.py).

May import: hfprobe.source, hfprobe.formats, hfprobe.tree, hfprobe.text, hfprobe.errors, hfprobe.config,
hfprobe.device (where training runs); `fit` and `data` take a zoo object (hfprobe.zoo) as an argument and never
import the zoo builders, only `hfprobe.zoo.layercache.LazyLayers` (one layer in memory at a time).

Its names load on first use, so a prediction that abstains before any tensor math (no expert for the model's family,
and no cross-attention for the readout), an expert's answer on the CPU, or the readout's through cached token states
imports no torch. `predict` is
`hfprobe.predict` (here it would shadow the module of that name):

    >>> from hfprobe.experts import Expert, fit_tree      # doctest: +SKIP
    >>> out = hfprobe.predict("./my-lora", top_k=3)       # doctest: +SKIP
"""

from .. import lazy_exports

_PUBLIC = {
    "Expert": "hfprobe.experts.expert",
    "load_experts": "hfprobe.experts.expert",
    "fit_tree": "hfprobe.experts.fit",
    "TrainConfig": "hfprobe.experts.probes",
}
__all__ = list(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)

"""AdapterHub's bottleneck adapters (the `adapters` library, once adapter-transformers): `pytorch_adapter.bin` beside
its `adapter_config.json` (`{"config": {…}, "model_name": …, "model_type": …, "name": …}`), and the prediction head
trained with it in `pytorch_model_head.bin` beside `head_config.json`.

Each adapter is a down projection and an up projection placed after a layer's attention or feed-forward output:
`bert.encoder.layer.0.output.adapters.<name>.adapter_down.0` [bottleneck, hidden] and `….adapter_up`
[hidden, bottleneck] (Houlsby and Pfeiffer configurations alike). They are small Linears trained from scratch, not a
change of the model's own weights: modules of kind `tuner`, left out of the share of layers weighed for a family
(families.json's `embedding_tables`), their sizes still among those the roots are compared with.
The adapter config's `model_name` is the base it was trained on; the head config's `num_labels` / `label2id`, the
head's task and labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .base import Module, TensorStore, full_module
from .head import labels_of

_BOTTLENECK = re.compile(r"\.adapters\.[^.]+\.adapter_(down|up)(\.\d+)?\.weight\Z")


def is_adapterhub(keys: list[str]) -> bool:
    return any(_BOTTLENECK.search(k) for k in keys)


def is_adapterhub_config(config: Mapping | None) -> bool:
    """adapter_config.json as the `adapters` library writes it (its adapter settings under `config`)."""
    return isinstance(config, Mapping) and isinstance(config.get("config"), Mapping) and "model_name" in config


def read_adapterhub(store: TensorStore, config: Mapping | None) -> tuple[dict[str, Module], list[str]]:
    modules = {}
    for key, info in store.raw.items():
        if _BOTTLENECK.search(key) and len(info.shape) == 2:
            name = key.removesuffix(".weight")
            modules[name] = full_module(name, info, kind="tuner")
    names = sorted({k.split(".adapters.")[1].split(".")[0] for k in modules})
    downs = [m for n, m in modules.items() if ".adapter_down" in n]
    bottleneck = sorted({m.d_out for m in downs})
    cfg = (config or {}).get("config") if isinstance(config, Mapping) else None
    arch = cfg.get("architecture") or "bottleneck" if isinstance(cfg, Mapping) else "bottleneck"
    notes = [
        f"AdapterHub {arch} adapter {', '.join(names)}: {len(downs)} adapters of bottleneck {bottleneck} (trained "
        "layers beside the model's, no weight delta)"
    ]
    return modules, notes


def head_of(config: Mapping | None) -> dict | None:
    """The head a `head_config.json` describes: {module, outputs, task, labels}, else None."""
    cfg = config.get("config") if isinstance(config, Mapping) else None
    outputs = cfg.get("num_labels") if isinstance(cfg, Mapping) else None
    if not isinstance(outputs, int) or isinstance(outputs, bool) or outputs <= 0:
        return None
    label2id = cfg.get("label2id")
    id2label = {i: n for n, i in label2id.items() if isinstance(i, int)} if isinstance(label2id, Mapping) else None
    task = cfg.get("head_type") if isinstance(cfg.get("head_type"), str) else None
    name = config.get("name") if isinstance(config.get("name"), str) else "?"
    return {"module": f"heads.{name}", "outputs": outputs, "task": task, "labels": labels_of(id2label, outputs)}

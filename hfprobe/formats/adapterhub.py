"""AdapterHub's bottleneck adapters (the `adapters` library, once adapter-transformers): `pytorch_adapter.bin` beside
its `adapter_config.json` (`{"config": {…}, "model_name": …, "model_type": …, "name": …}`), and the prediction head
trained with it in `pytorch_model_head.bin` beside `head_config.json`.

Each adapter is a down projection and an up projection placed after a layer's attention or feed-forward output:
`bert.encoder.layer.0.output.adapters.<name>.adapter_down.0` [bottleneck, hidden] and `….adapter_up`
[hidden, bottleneck] (Houlsby and Pfeiffer configurations alike). They are small Linears trained from scratch, not a
change of the model's own weights: modules of kind `tuner`, left out of the share of layers weighed for a family
(families.json's `embedding_tables`), their sizes still among those the roots are compared with.
Its LoRA (`LoRAConfig`, architecture `lora`) keeps each pair on the Linear it adapts, `<module>.loras.<name>.lora_A`
[r, in] and `.lora_B` [out, r], scaled by the config's `alpha` / r (the library's default alpha, 8, where the config
does not say): a LoRA module under the Linear's own name, as PEFT's would be (they were read as loralib's, named
`….query.loras.<name>`, which no family's roles know, and with loralib's alpha).
The adapter config's `model_name` is the base it was trained on; the head config's `num_labels` / `label2id`, the
head's task and labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .base import Module, TensorStore, full_module, lora_module
from .head import labels_of

_BOTTLENECK = re.compile(r"\.adapters\.[^.]+\.adapter_(down|up)(\.\d+)?\.weight\Z")
_LORA = re.compile(r"\.loras\.([^.]+)\.lora_([AB])\Z")  # on the adapted Linear itself
LORA_ALPHA = 8  # adapters.LoRAConfig's default alpha (and r)


def is_adapterhub(keys: list[str]) -> bool:
    return any(_BOTTLENECK.search(k) or _LORA.search(k) for k in keys)


def is_adapterhub_config(config: Mapping | None) -> bool:
    """adapter_config.json as the `adapters` library writes it (its adapter settings under `config`)."""
    return isinstance(config, Mapping) and isinstance(config.get("config"), Mapping) and "model_name" in config


def read_adapterhub(store: TensorStore, config: Mapping | None, where: str) -> tuple[dict[str, Module], list[str]]:
    modules = {}
    pairs: dict[str, dict[str, str]] = {}
    for key, info in store.raw.items():
        if _BOTTLENECK.search(key) and len(info.shape) == 2:
            name = key.removesuffix(".weight")
            modules[name] = full_module(name, info, kind="tuner")
        elif found := _LORA.search(key):
            pairs.setdefault(key[: found.start()], {})[found[2]] = key
    cfg = (config or {}).get("config") if isinstance(config, Mapping) else None
    cfg = cfg if isinstance(cfg, Mapping) else {}
    arch = cfg.get("architecture") or ("lora" if pairs else "bottleneck")
    notes = []
    if pairs:
        alpha = cfg.get("alpha")
        alpha = float(alpha) if isinstance(alpha, int | float) and not isinstance(alpha, bool) else None
        for name, p in sorted(pairs.items()):
            if "A" in p and "B" in p:
                a, b = store.raw[p["A"]], store.raw[p["B"]]
                modules[name] = lora_module(name, a, b, alpha=alpha or LORA_ALPHA, keys=p, where=where)
        said = f"alpha {alpha:g}" if alpha else f"alpha {LORA_ALPHA} (the library's default) assumed"
        notes.append(f"AdapterHub {arch} adapter: {len(modules)} LoRA modules, {said}, scale alpha / r")
    downs = [m for n, m in modules.items() if ".adapter_down" in n]
    if downs:
        names = sorted({k.split(".adapters.")[1].split(".")[0] for k in modules if ".adapters." in k})
        bottleneck = sorted({m.d_out for m in downs})
        notes.append(
            f"AdapterHub {arch} adapter {', '.join(names)}: {len(downs)} adapters of bottleneck {bottleneck} "
            "(trained layers beside the model's, no weight delta)"
        )
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

"""The libraries' key-renaming tables and module orders, precomputed as data so that reading a header imports
neither diffusers, peft nor transformers (each costs seconds to import).

`hfprobe/data/format_tables.json` holds, with the library versions it was made from:

- `diffusers`: diffusers' LoRA renaming tables (`UNET_TO_DIFFUSERS`, `DIFFUSERS_OLD_TO_PEFT`, `DIFFUSERS_TO_PEFT`,
  `KEYS_TO_ALWAYS_REPLACE`), as ordered [pattern, replacement] pairs (diffusers applies the first that matches);
- `unet_order`: every `Attention` and `GEGLU` module of diffusers' default `UNet2DConditionModel` (SD 1.x's layout)
  in `named_modules()` order, with its `nn.Linear` children and their shapes (lora_diffusion's index order);
- `clip_attention`: the `nn.Linear` children of transformers' `CLIPAttention` in `named_modules()` order;
- `transformers`: transformers' model types, per type the key renamings its loader applies (what
  `get_model_conversion_mapping` returns for a model built from the type's default config; renames only), and
  per type its base model's `base_model_prefix` (`beit` for BEiT: the attribute a task head holds it under, so the
  first word of a fine-tune's keys, `beit.encoder.layer.0…`).

Regenerate after upgrading those libraries (the tests compare the data with the installed libraries):

    .venv/bin/python -m hfprobe.formats.tables            # writes hfprobe/data/format_tables.json (~2 min)

    >>> tables()["clip_attention"]
    ['k_proj', 'v_proj', 'q_proj', 'out_proj']
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

FILE = "format_tables.json"


@functools.lru_cache(maxsize=1)
def tables() -> dict:
    """The stored tables (read once per process)."""
    return json.loads(resources.files("hfprobe.data").joinpath(FILE).read_text(encoding="utf-8"))


# ---------------------------------------------------------------- generation (imports the libraries)
def diffusers_tables() -> dict:
    from diffusers.utils import state_dict_utils as sdu

    names = ("UNET_TO_DIFFUSERS", "DIFFUSERS_OLD_TO_PEFT", "DIFFUSERS_TO_PEFT", "KEYS_TO_ALWAYS_REPLACE")
    return {n: [list(kv) for kv in getattr(sdu, n).items()] for n in names}


def unet_order() -> list:
    """[[module name, class name, [[linear child, out, in], ...]], ...] over diffusers' default UNet (meta device)."""
    import torch
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        unet = UNet2DConditionModel()
    out = []
    for name, module in unet.named_modules():
        if type(module).__name__ in ("Attention", "GEGLU"):
            children = [
                [child, *child_module.weight.shape]
                for child, child_module in module.named_modules()
                if isinstance(child_module, torch.nn.Linear)
            ]
            out.append([name, type(module).__name__, children])
    return out


def clip_attention() -> list[str]:
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=32)
    with torch.device("meta"):
        model = CLIPTextModel(config)
    attn = next(m for m in model.modules() if type(m).__name__ == "CLIPAttention")
    return [n for n, m in attn.named_modules() if isinstance(m, torch.nn.Linear)]


RENAMING_KINDS = {
    "WeightRenaming": "rename",
    "GroupWeightRename": "group",
    "Inkling2IndexOffsetWeightRename": "offset",
    "LayerPairCollapse": "layer_pair",
}


def model_renamings(model_type: str) -> list[dict] | None:
    """transformers' renamings for one model type as data; None when its default model cannot be built."""
    import logging
    import warnings

    import torch
    from transformers import AutoConfig, AutoModel
    from transformers.conversion_mapping import get_model_conversion_mapping
    from transformers.core_model_loading import PrefixChange, WeightRenaming

    quiet = logging.getLogger("transformers")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = AutoConfig.for_model(model_type)
            with torch.device("meta"):
                model = AutoModel.from_config(config)
            conversions = get_model_conversion_mapping(model, add_legacy=False)
    except Exception:  # noqa: BLE001 - a type whose default model cannot be built: no renames known
        return None
    finally:
        quiet.setLevel(level)
    return [renaming_spec(c) for c in conversions if isinstance(c, WeightRenaming) and not isinstance(c, PrefixChange)]


def renaming_spec(c) -> dict:
    """One transformers WeightRenaming (or subclass) as data for `transformers_names`."""
    kind = RENAMING_KINDS.get(type(c).__name__)
    if kind is None:
        raise RuntimeError(f"renaming class {type(c).__name__} is new; teach hfprobe.formats.transformers_names")
    entry = {
        "kind": kind,
        "pattern": c.compiled_sources.pattern,
        "targets": list(c.target_patterns),
        "scope": c.scope_prefix,
        "base": c.base_model_prefix,
    }
    if kind == "offset":
        entry["offset"] = c.offset
    if kind == "layer_pair":
        entry["pattern"] = type(c).pattern.pattern
    return entry


def base_model_prefix(model_type: str) -> str | None:
    """The `base_model_prefix` of the type's base model class (what `AutoModel` builds), None where it has none."""
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

    name = MODEL_MAPPING_NAMES.get(model_type)
    name = name[0] if isinstance(name, (list, tuple)) else name
    try:
        prefix = getattr(transformers, name).base_model_prefix if name else None
    except Exception:  # noqa: BLE001 - a class that cannot be imported here (a missing optional dependency)
        return None
    return prefix if isinstance(prefix, str) and prefix else None


def transformers_tables(model_types: list[str] | None = None) -> dict:
    """{"model_types": [...], "renamings": {type: [renaming, ...]}, "prefixes": {type: base_model_prefix}} (types
    without renamings, or without a prefix, are left out)."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    types = list(CONFIG_MAPPING_NAMES)
    renamings = {}
    for model_type in model_types or types:
        found = model_renamings(model_type)
        if found:
            renamings[model_type] = found
    prefixes = {t: p for t in model_types or types if (p := base_model_prefix(t))}
    return {"model_types": types, "renamings": renamings, "prefixes": prefixes}


def generate() -> dict:
    import diffusers
    import peft
    import transformers

    return {
        "versions": {
            "diffusers": diffusers.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
        },
        "diffusers": diffusers_tables(),
        "unet_order": unet_order(),
        "clip_attention": clip_attention(),
        "transformers": transformers_tables(),
    }


def main() -> int:
    path = Path(__file__).resolve().parents[1] / "data" / FILE
    data = generate()
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    n = len(data["transformers"]["renamings"])
    print(f"wrote {path} ({path.stat().st_size} bytes; renamings for {n} model types)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

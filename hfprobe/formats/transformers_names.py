"""Map transformers' saved-key names to the in-memory module names of the installed transformers.

transformers 5 renames some architectures in memory (a ViT's saved `vit.encoder.layer.0.attention.attention.query`
is `vit.layers.0.attention.q_proj` in memory) and converts keys on load with its own table
(`transformers.conversion_mapping`). PEFT adapters trained with transformers 5 use the in-memory names,
full checkpoints and older adapters the saved names. hfprobe's canonical name is the in-memory one, got by
applying transformers' own renamings (renames only: converters that fuse or split tensors change shapes
and are left alone, and so are whole-prefix changes such as CLIP's `text_model.`).

Example:
    >>> canonical_names(["vit.encoder.layer.0.attention.attention.query"], "vit")   # doctest: +SKIP
    {'vit.encoder.layer.0.attention.attention.query': 'vit.layers.0.attention.q_proj'}
"""

from __future__ import annotations

import functools
import logging


@functools.lru_cache(maxsize=64)
def _renamings(model_type: str) -> tuple:
    """transformers' WeightRenamings for a model type (built from a meta-device model; cached)."""
    import torch
    from transformers import AutoConfig, AutoModel
    from transformers.conversion_mapping import get_model_conversion_mapping
    from transformers.core_model_loading import PrefixChange, WeightRenaming

    quiet = logging.getLogger("transformers")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        config = AutoConfig.for_model(model_type)
        with torch.device("meta"):
            model = AutoModel.from_config(config)
        conversions = get_model_conversion_mapping(model, add_legacy=False)
    except Exception:  # an unknown or custom model type: no renames known, keep names as saved
        return ()
    finally:
        quiet.setLevel(level)
    return tuple(c for c in conversions if isinstance(c, WeightRenaming) and not isinstance(c, PrefixChange))


def guess_model_type(names: list[str]) -> str | None:
    """Most transformers models keep their base model under an attribute named after the model type."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    heads = {n.split(".", 1)[0] for n in names}
    found = sorted(h for h in heads if h in CONFIG_MAPPING_NAMES)
    return found[0] if len(found) == 1 else None


def canonical_names(names: list[str], model_type: str | None) -> dict[str, str]:
    """Module names (no `.weight`) -> in-memory names for `model_type` (identity where nothing applies)."""
    # the keys' own head (`vit.`, `bert.`) wins over a config.json, which may sit beside other weights
    model_type = guess_model_type(names) or model_type
    renamings = _renamings(model_type) if model_type else ()
    if not renamings:
        return {n: n for n in names}
    from transformers.core_model_loading import rename_source_key

    out = {}
    for name in names:
        new, _ = rename_source_key(name + ".weight", list(renamings), [])
        out[name] = new.removesuffix(".weight")
    return out

"""The libraries' own key conversions, for checking hfprobe's light ones (tests only).

hfprobe reads headers without importing diffusers, peft or transformers: it applies their renaming tables and
rules itself (hfprobe.formats.tables, kohya_names, diffusers.pattern_key, transformers_names, cloneofsimo's stored
module orders). Here the same steps are done by calling the libraries, as hfprobe did before; `library_view`
opens a file with every light step swapped for its library version, so a test can compare the two views.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from types import SimpleNamespace

import torch

from hfprobe.formats.transformers_names import SAVED_NAMES


def to_peft_keys(raw_keys: list[str]) -> dict[str, str]:
    """hfprobe.formats.diffusers.to_peft_keys, with diffusers' converters."""
    from diffusers.utils.state_dict_utils import (
        DIFFUSERS_OLD_TO_PEFT,
        DIFFUSERS_TO_PEFT,
        convert_state_dict,
        convert_unet_state_dict_to_peft,
    )

    from hfprobe.formats.diffusers import canonical_text_encoder_path, component_of

    by_comp: dict[str, dict[str, str]] = {}
    for raw in raw_keys:
        comp, rest = component_of(raw)
        by_comp.setdefault(comp, {})[rest] = raw
    out: dict[str, str] = {}
    for comp, sub in by_comp.items():
        if comp.startswith("text_encoder"):
            renamed = convert_state_dict(sub, {**DIFFUSERS_OLD_TO_PEFT, **DIFFUSERS_TO_PEFT})
            renamed = {canonical_text_encoder_path(k): v for k, v in renamed.items()}
        else:
            renamed = convert_unet_state_dict_to_peft(sub)
        for k, v in renamed.items():
            k = k.replace(".lora.down.weight", ".lora_A.weight").replace(".lora.up.weight", ".lora_B.weight")
            out[f"{comp}.{k}"] = v
    return out


def sgm_to_diffusers(state_dict: dict, layers_per_block: int = 2) -> dict:
    from diffusers.loaders.lora_conversion_utils import _maybe_map_sgm_blocks_to_diffusers

    return _maybe_map_sgm_blocks_to_diffusers(state_dict, SimpleNamespace(layers_per_block=layers_per_block))


def non_diffusers_to_diffusers(state_dict: dict) -> dict:
    from diffusers.loaders.lora_conversion_utils import _convert_non_diffusers_lora_to_diffusers

    return _convert_non_diffusers_lora_to_diffusers(state_dict)[0]


def pattern_key(pattern_keys, name, where=None):
    from peft.utils.other import get_pattern_key

    return get_pattern_key(list(pattern_keys), name)


@functools.lru_cache(maxsize=64)
def _renamings(model_type: str) -> tuple:
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
    except Exception:
        return ()
    finally:
        quiet.setLevel(level)
    return tuple(c for c in conversions if isinstance(c, WeightRenaming) and not isinstance(c, PrefixChange))


def canonical_names(names: list[str], model_type: str | None) -> dict[str, str]:
    """hfprobe.formats.transformers_names.canonical_names, with transformers' own renamings (fresh per call)."""
    import copy

    from transformers.core_model_loading import rename_source_key
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    heads = {n.split(".", 1)[0] for n in names}
    found = sorted(h for h in heads if h in CONFIG_MAPPING_NAMES)
    model_type = (found[0] if len(found) == 1 else None) or model_type
    if model_type in SAVED_NAMES:  # (read as saved, as hfprobe reads them: not a renaming of transformers')
        return {n: n for n in names}
    renamings = [copy.deepcopy(r) for r in _renamings(model_type)] if model_type else []
    if not renamings:
        return {n: n for n in names}
    out = {}
    for name in names:
        new, _ = rename_source_key(name + ".weight", renamings, [])
        out[name] = new.removesuffix(".weight")
    return out


def _order(model, targets: set[str], legacy: bool = False):
    from hfprobe.formats.cloneofsimo import _block_rank, _regroup

    ancestors = [(n, m) for n, m in model.named_modules() if type(m).__name__ in targets]
    if legacy:
        ancestors = _regroup(ancestors, _block_rank)
    return [
        (f"{anc_name}.{child_name}", tuple(child.weight.shape))
        for anc_name, anc in ancestors
        for child_name, child in anc.named_modules()
        if isinstance(child, torch.nn.Linear)
    ]


@functools.lru_cache(maxsize=8)
def unet_order(targets: frozenset, legacy: bool = False):
    """lora_diffusion's order over diffusers' default UNet built on the meta device."""
    from diffusers import UNet2DConditionModel

    wanted = {"Attention"} if targets & {"CrossAttention", "Attention"} else set()
    wanted |= targets & {"GEGLU"}
    with torch.device("meta"):
        unet = UNet2DConditionModel()
    return [
        ("unet." + n, (s[0], 0) if n.endswith(("attn2.to_k", "attn2.to_v")) else s)
        for n, s in _order(unet, wanted, legacy)
    ]


def text_encoder_order(n_layers: int, hidden: int):
    """lora_diffusion's order over transformers' CLIPTextModel built on the meta device."""
    from transformers import CLIPTextConfig, CLIPTextModel

    from hfprobe.formats.diffusers import canonical_text_encoder_path

    config = CLIPTextConfig(
        hidden_size=hidden, num_hidden_layers=n_layers, num_attention_heads=1, intermediate_size=4 * hidden
    )
    with torch.device("meta"):
        model = CLIPTextModel(config)
    return [("text_encoder." + canonical_text_encoder_path(n), s) for n, s in _order(model, {"CLIPAttention"})]


@contextlib.contextmanager
def libraries(monkeypatch):
    """Within the block, hfprobe.formats uses the libraries' conversions instead of its light ones."""
    import hfprobe.formats.checkpoint as checkpoint
    import hfprobe.formats.cloneofsimo as cloneofsimo
    import hfprobe.formats.diffusers as diffusers
    import hfprobe.formats.kohya as kohya
    import hfprobe.formats.peft as peft

    with monkeypatch.context() as m:
        m.setattr(diffusers, "to_peft_keys", to_peft_keys)
        m.setattr(kohya, "to_peft_keys", to_peft_keys)
        m.setattr(kohya, "sgm_to_diffusers", sgm_to_diffusers)
        m.setattr(kohya, "non_diffusers_to_diffusers", non_diffusers_to_diffusers)
        m.setattr(diffusers, "pattern_key", pattern_key)
        m.setattr(peft, "canonical_names", canonical_names)
        m.setattr(checkpoint, "canonical_names", canonical_names)
        m.setattr(cloneofsimo, "_unet_order", unet_order)
        m.setattr(cloneofsimo, "_text_encoder_order", text_encoder_order)
        yield


def summary(view) -> dict:
    """What the oracle compares: per module its kind, rank, alpha, scale, sizes and raw keys; and the format."""
    return {
        "format": view.format,
        "modules": {
            n: (m.kind, m.rank, m.alpha, m.scale, m.d_out, m.d_in, m.kernel, tuple(sorted(m.keys.items())))
            for n, m in view.modules.items()
        },
    }


def library_view(monkeypatch, path):
    from hfprobe.formats import open_weights

    with libraries(monkeypatch):
        return open_weights(path)

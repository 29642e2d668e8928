"""XLabs FLUX LoRAs (x-flux trainer): `double_blocks.N.processor.qkv_lora1.down.weight`, `…proj_lora2.up.weight`,
`single_blocks.N.processor.qkv_lora.down.weight`, optionally under `diffusion_model.`.

Names follow FLUX's own (BFL) layout, as kohya FLUX files are kept (kohya.py): in a double block, `lora1` is the
image stream and `lora2` the text stream, so `qkv_lora1` is `transformer.double_blocks.N.img_attn.qkv` and
`proj_lora2` `transformer.double_blocks.N.txt_attn.proj` (diffusers' `_convert_xlabs_flux_lora_to_diffusers` maps
the same layers, splitting qkv in three, which needs bytes). A single block's processor LoRAs keep their names
(`transformer.single_blocks.N.processor.qkv`). The files store no alpha: scale 1, as diffusers loads them.
"""

from __future__ import annotations

import re

from .base import TensorStore
from .lora import build_lora_modules

_KEY = re.compile(
    r"^(?:diffusion_model\.)?(double_blocks|single_blocks)\.(\d+)\.processor\.(qkv|proj)_lora([12]?)\.(down|up)\.weight$"
)
_STREAM = {"1": "img_attn", "2": "txt_attn"}


def is_xlabs(keys: list[str]) -> bool:
    return any(_KEY.match(k) for k in keys)


def read_xlabs(store: TensorStore, where: str):
    """Modules of an XLabs FLUX LoRA; returns (modules, notes). Other keys are left unread (noted)."""
    renamed, other = {}, 0
    for key in store.raw:
        m = _KEY.match(key)
        if m is None:
            other += 1
            continue
        blocks, n, layer, stream, side = m.groups()
        if blocks == "double_blocks" and stream:
            name = f"transformer.double_blocks.{n}.{_STREAM[stream]}.{layer}"
        else:
            name = f"transformer.{blocks}.{n}.processor.{layer}{stream}"
        renamed[f"{name}.lora_{'A' if side == 'down' else 'B'}.weight"] = key
    modules, _ = build_lora_modules(renamed, store, where)
    notes = ["XLabs FLUX LoRA: names in FLUX's own layout (img_attn / txt_attn); no alpha stored, scale 1"]
    if other:
        notes.append(f"{other} tensors that are not XLabs LoRA factors not read")
    return modules, notes

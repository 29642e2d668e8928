"""IP-Adapter files (`ip-adapter_sd15.safetensors`, `ip-adapter_sdxl.bin`, …): image-prompt projections added to a
UNet's cross-attention layers.

The file stores `image_proj.*` (the image-embedding projector) and `ip_adapter.<k>.to_k_ip` / `.to_v_ip`, where
`k` counts the UNet's attention processors in diffusers' order (`UNet2DConditionModel.attn_processors`: down
blocks, then up blocks, then the mid block; each transformer block's attn1, then attn2), as diffusers' loader
numbers them; the odd ones are cross-attention. Each `to_k_ip` / `to_v_ip` has the shape of that layer's `to_k`
(inner width x cross-attention width), so it is named after the layer (`unet.<attn2>.to_k_ip`) and the tree is
read from it as from a LoRA on the layer. The processor order is known for the two UNet layouts IP-Adapters exist
for (`PROCESSORS`: SD 1.x / 2.x with 32 processors, SDXL with 140; checked against diffusers in the tests); an
index past both keeps the file's own names.
"""

from __future__ import annotations

import re

from .base import Module, TensorStore, full_module

__all__ = ["is_ip_adapter", "processor_names", "read_ip_adapter"]

# UNet layout -> (block, attentions, transformer blocks per attention), in diffusers' processor order
PROCESSORS: dict[str, list[tuple[str, int, int]]] = {
    "sd": [("down_blocks.0", 2, 1), ("down_blocks.1", 2, 1), ("down_blocks.2", 2, 1), ("up_blocks.1", 3, 1),
           ("up_blocks.2", 3, 1), ("up_blocks.3", 3, 1), ("mid_block", 1, 1)],
    "sdxl": [("down_blocks.1", 2, 2), ("down_blocks.2", 2, 10), ("up_blocks.0", 3, 10), ("up_blocks.1", 3, 2),
             ("mid_block", 1, 10)],
}  # fmt: skip
_KEY = re.compile(r"ip_adapter\.(\d{1,4})\.(to_[kv]_ip)\.weight\Z")


def processor_names(layout: str) -> list[str]:
    """The attention layers of a UNet layout in diffusers' processor order.

    >>> names = processor_names("sd")
    >>> len(names), names[1], len(processor_names("sdxl"))
    (32, 'down_blocks.0.attentions.0.transformer_blocks.0.attn2', 140)
    """
    return [
        f"{block}.attentions.{a}.transformer_blocks.{t}.attn{n}"
        for block, attentions, depth in PROCESSORS[layout]
        for a in range(attentions)
        for t in range(depth)
        for n in (1, 2)
    ]


def is_ip_adapter(keys: list[str]) -> bool:
    return any(k.startswith("ip_adapter.") and _KEY.match(k) for k in keys)


def read_ip_adapter(store: TensorStore) -> tuple[dict[str, Module], list[str]]:
    """Modules of an IP-Adapter: each `to_k_ip` / `to_v_ip` under its UNet layer's name, the rest as stored."""
    found = {key: _KEY.match(key) for key in store.raw}
    indexes = {int(m[1]) for m in found.values() if m}
    layout = next((lay for lay in PROCESSORS if max(indexes) < len(processor_names(lay))), None)
    names = processor_names(layout) if layout else []
    modules: dict[str, Module] = {}
    for key, info in store.raw.items():
        if len(info.shape) < 2 or not key.endswith(".weight"):
            continue
        m = found[key]
        name = f"unet.{names[int(m[1])]}.{m[2]}" if m and layout else key[: -len(".weight")]
        modules[name] = full_module(name, info)
    notes = [
        f"IP-Adapter on a {'SDXL' if layout == 'sdxl' else 'SD 1.x/2.x'} UNet layout: its to_k_ip/to_v_ip named "
        "after the cross-attention layers they extend"
        if layout
        else f"IP-Adapter with processor index {max(indexes)}, past the UNet layouts hfprobe knows: names kept"
    ]
    return modules, notes

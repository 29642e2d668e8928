"""What a weights file's header records beyond its tensors' names and shapes, read within bounds: a value that is
JSON (a merge record, a trainer's saved settings), and the ComfyUI graph a checkpoint was saved by.

Header values are strings a file's author chose; each is parsed only below a size bound, and a value nested past
the JSON parser's depth is no value, never an error (`tree.declared` and `tree.merge` read them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

__all__ = ["comfy_graph", "header_json"]

MAX_HEADER_JSON = 256 * 1024  # a header value read as JSON (real merge records and ComfyUI graphs are a few kB)


def header_json(value) -> object:
    """A header value's JSON, or None (not a string, over MAX_HEADER_JSON, not JSON, nested past the parser)."""
    if not isinstance(value, str) or len(value) > MAX_HEADER_JSON:
        return None
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return None


# ComfyUI's nodes that load a checkpoint (by its file's name) and that merge two models' weights
COMFY_LOADERS = {"CheckpointLoaderSimple": "ckpt_name", "CheckpointLoader": "ckpt_name", "UNETLoader": "unet_name",
                 "unCLIPCheckpointLoader": "ckpt_name", "ImageOnlyCheckpointLoader": "ckpt_name"}  # fmt: skip
_COMFY_MERGE = re.compile(r"(Model|CLIP)Merge\w*")
MAX_NODES = 2000  # a ComfyUI graph's nodes read (real ones have tens)


def comfy_graph(metadata: Mapping) -> tuple[list[str], list[str]]:
    """([merge node types], [checkpoint file names loaded]) of the ComfyUI graph a checkpoint was saved by (its
    `CheckpointSave` writes the graph, the API's `prompt`, into the header), or ([], [])."""
    graph = header_json(metadata.get("prompt"))
    if not isinstance(graph, Mapping):
        return [], []
    merges, loaded = [], []
    for node in list(graph.values())[:MAX_NODES]:
        kind = node.get("class_type") if isinstance(node, Mapping) else None
        inputs = node.get("inputs") if isinstance(node, Mapping) else None
        if not isinstance(kind, str) or not isinstance(inputs, Mapping):
            continue
        if _COMFY_MERGE.fullmatch(kind):
            merges.append(kind)
        elif isinstance(inputs.get(COMFY_LOADERS.get(kind, "")), str):
            loaded.append(inputs[COMFY_LOADERS[kind]])
    return list(dict.fromkeys(merges)), list(dict.fromkeys(loaded))

"""A sparse mixture of experts built from dense models: mergekit-moe's "frankenMoEs" (a base model's attention, each
expert the MLP of one fine-tune of it: a 4x7B of Mistral 7B fine-tunes is a Mixtral with 4 experts, which no
published Mixtral has), and models sparsely upcycled from one dense model.

Each expert of such a mixture is shaped as its dense model's MLP, its attention and embeddings as that model's. So
`dense_view` reads the mixture by one expert under the dense model's names (`block_sparse_moe.experts.0.w1` as
`mlp.gate_proj`, Mistral's own `feed_forward.experts.0.w1` as `feed_forward.w1`, a Qwen or DeepSeek mixture's
`mlp.experts.0.gate_proj` as `mlp.gate_proj`), its routers and other experts left out; `classify` weighs that view
where mergekit-moe's recipe says the mixture was built from dense models, or where no registry root of the
mixture's own family fits it.

>>> moe = "model.layers.0.block_sparse_moe."
>>> view = dense_view([moe + "experts.0.w1.weight", moe + "experts.1.w1.weight", moe + "gate.weight", "lm_head.weight"])
>>> list(view.names.values()), view.experts
(['model.layers.0.mlp.gate_proj.weight', 'lm_head.weight'], 2)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["DenseView", "dense_view"]

# an expert's MLP weight: Mixtral's names (transformers', and Mistral's own `feed_forward`), and the gate/up/down
# names of transformers' other mixtures (Qwen2-MoE, Qwen3-MoE, DeepSeek), as they are saved to disk; or every
# expert's, stacked in one tensor, as a GGUF holds them (`formats.gguf` reads it at one expert's shape)
_EXPERT = re.compile(
    r"(?:^|\.)(block_sparse_moe|feed_forward|mlp)\.experts\.(?:(\d+)\.)?(w[123]|gate_proj|up_proj|down_proj)(?=\.|$)"
)
# a router, or a shared expert (Qwen2-MoE's, DeepSeek's): no dense model's layer
_ROUTER = re.compile(r"(?:^|\.)(block_sparse_moe|feed_forward|mlp)\.(gate|shared_experts?(_gate)?)(?=\.|$)")
_AS_DENSE = {"w1": "mlp.gate_proj", "w3": "mlp.up_proj", "w2": "mlp.down_proj"}  # an expert's weight, as dense


@dataclass(frozen=True)
class DenseView:
    """A mixture read as a dense model: `names` maps each key kept to its dense name (one expert's weights, and
    every layer a dense model has); `experts` is how many experts a layer has (None where the file does not say);
    `example` one expert key; `from_experts` the dense names read from an expert (what must fit a dense model)."""

    names: dict[str, str]
    experts: int | None
    example: str
    from_experts: frozenset[str]


def dense_view(keys: Iterable[str], shapes: Mapping[str, tuple] | None = None) -> DenseView | None:
    """The mixture among `keys` read as its dense model, by its first expert; None where the keys hold no mixture
    (no two experts under the names above, nor experts stacked in one tensor beside a router). `shapes` (key ->
    (out, in)) gives a stacked mixture's expert count, by its router's outputs."""
    keys = list(dict.fromkeys(keys))
    hits = {k: m for k in keys if "experts" in k and (m := _EXPERT.search(k))}
    indexes = {int(m[2]) for m in hits.values() if m[2] is not None}
    routers = [k for k in keys if "gate" in k and (r := _ROUTER.search(k)) and r[2] == "gate"]
    stacked = any(m[2] is None for m in hits.values()) and bool(routers)
    if len(indexes) < 2 and not stacked:
        return None
    first = str(min(indexes)) if indexes else None
    names = {}
    for k in keys:
        m = hits.get(k)
        if m is None:
            if not _ROUTER.search(k):
                names[k] = k
            continue
        if m[2] is None or m[2] == first:  # (Mistral's own names keep theirs: `feed_forward.w1` is its dense MLP's)
            dense = f"feed_forward.{m[3]}" if m[1] == "feed_forward" else _AS_DENSE.get(m[3], f"mlp.{m[3]}")
            lead = "." if m.group(0).startswith(".") else ""
            names[k] = f"{k[: m.start()]}{lead}{dense}{k[m.end() :]}"
    experts = len(indexes) if len(indexes) > 1 else None
    if experts is None and shapes:
        counts = {shapes[k][0] for k in routers if k in shapes and isinstance(shapes[k][0], int)}
        experts = counts.pop() if len(counts) == 1 else None
    return DenseView(names, experts, min(hits), frozenset(names[k] for k in hits if k in names))

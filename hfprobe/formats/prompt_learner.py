"""CLIP prompt learners in CoOp's layout (CoOp, CoCoOp, KgCoOp, MaPLe and the Dassl-based methods after them).

Dassl saves the learner as `prompt_learner/model.pth.tar-<epoch>`, `{"state_dict": …, "epoch", "optimizer"}`:
`ctx` the learned context vectors, [n_ctx, width] (one set for all classes) or [n_classes, n_ctx, width]
(CoOp's class-specific contexts), beside two buffers, `token_prefix` [n_classes, 1, width] and `token_suffix`
[n_classes, 77 - 1 - n_ctx, width]: CLIP's own token embeddings of the start token and of each class name's prompt,
frozen. Their first dimension is how many classes the learner was trained to tell apart, and `width` is the CLIP
text encoder's. CoCoOp's meta-net (`meta_net.linear1` / `linear2`) and MaPLe's projections are small Linears kept as
full modules. A learner adapts prompts, not weights: `ctx` is an `embedding` module, no ΔW.
"""

from __future__ import annotations

from .base import Module, TensorStore, full_module

BUFFERS = ("token_prefix", "token_suffix")


def _prefix(keys: list[str]) -> str | None:
    """The module path the learner is saved under ('' for Dassl's own file, `prompt_learner.` in a whole model)."""
    for key in keys:
        if key.endswith("token_prefix") and key.removesuffix("token_prefix") + "ctx" in keys:
            prefix = key.removesuffix("token_prefix")
            if prefix + "token_suffix" in keys and (prefix == "" or prefix.endswith(".")):
                return prefix
    return None


def is_prompt_learner(keys: list[str]) -> bool:
    return _prefix(keys) is not None


def read_prompt_learner(store: TensorStore) -> tuple[dict[str, Module], list[str], dict]:
    """(modules, notes, extra): `ctx` as an embedding, the other Linears whole; `extra["head"]` the class count."""
    keys = list(store.raw)
    prefix = _prefix(keys) or ""
    ctx, prompt = store.raw[prefix + "ctx"], store.raw[prefix + "token_prefix"]
    classes = prompt.shape[0] if prompt.shape else 0
    modules = {"ctx": full_module("ctx", ctx._replace(shape=tuple(ctx.shape[-2:])), kind="embedding")}
    for key in keys:
        rest = key.removeprefix(prefix)
        if key.endswith(".weight") and len(store.raw[key].shape) >= 2 and rest.split(".")[0] not in (*BUFFERS, "ctx"):
            modules[rest.removesuffix(".weight")] = full_module(rest.removesuffix(".weight"), store.raw[key])
    n_ctx, width = ctx.shape[-2:] if len(ctx.shape) >= 2 else (0, 0)
    per_class = " per class" if len(ctx.shape) == 3 else ""
    notes = [
        f"CLIP prompt learner (CoOp's layout): {n_ctx} learned context vectors{per_class} of width {width}, for "
        f"{classes} classes (their name prompts, CLIP's frozen token embeddings, are `token_prefix` / `token_suffix`)"
    ]
    head = {"module": "token_prefix", "outputs": classes, "task": "CLIP prompt classes", "labels": None}
    return modules, notes, {"head": head}

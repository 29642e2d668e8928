"""Map transformers' saved-key names to the in-memory module names of the installed transformers.

transformers 5 renames some architectures in memory (a ViT's saved `vit.encoder.layer.0.attention.attention.query`
is `vit.layers.0.attention.q_proj` in memory) and converts keys on load with its own table
(`transformers.conversion_mapping`). PEFT adapters trained with transformers 5 use the in-memory names,
full checkpoints and older adapters the saved names. hfprobe's canonical name is the in-memory one, got by
applying transformers' own renamings (renames only: converters that fuse or split tensors change shapes
and are left alone, and so are whole-prefix changes; but for one: transformers 5 saves a CLIP or SigLIP text or
vision tower alone (CLIPTextModel, SiglipVisionModel, …) without the `text_model.` / `vision_model.` that every
other checkpoint of theirs has, transformers 4's included, and hfprobe names such a tower as the others are
(`tower_names`)).

The renamings are data (`hfprobe.formats.tables`, made from transformers itself; no transformers import here),
applied the way transformers' `rename_source_key` applies them; the tests check the result against transformers.

Example:
    >>> canonical_names(["vit.encoder.layer.0.attention.attention.query"], "vit")
    {'vit.encoder.layer.0.attention.attention.query': 'vit.layers.0.attention.q_proj'}
"""

from __future__ import annotations

import functools
import re

from .tables import tables


class _Renaming:
    """One of transformers' key renamings (WeightRenaming and its subclasses) from its stored description."""

    def __init__(self, spec: dict):
        self.kind = spec["kind"]
        self.regex = re.compile(spec["pattern"])
        self.targets = spec["targets"]
        self.scope, self.base = spec.get("scope"), spec.get("base")
        self.offset = spec.get("offset", 0)
        self.active = False  # GroupWeightRename: the guard pattern has been seen

    def _scoped(self, key: str):
        prefix = None
        if self.scope is not None:
            scope = f"{self.scope}." if self.scope != "" else ""
            base = f"{self.base}." if self.base != "" else ""
            if key.startswith(base + scope):
                prefix = base + scope
            elif key.startswith(scope):
                prefix = scope
            else:
                return None
            key = key.removeprefix(prefix)
        match = self.regex.search(key)
        return None if match is None else (prefix, key, match)

    def rename(self, key: str) -> str:
        if self.kind == "layer_pair":
            m = self.regex.search(key)
            if m is None:
                return key
            index, name = int(m[1]), m[2]
            name = {"attn_alpha": "lambda_1", "mlp_alpha": "lambda_2"}.get(name, ("self_attn", "mlp")[index % 2])
            return key[: m.start()] + f"layers.{index // 2}.{name}" + key[m.end() :]
        found = self._scoped(key)
        if found is None:
            return key
        prefix, rest, m = found
        group = next(name for name, value in m.groupdict().items() if value is not None)
        first = self.regex.groupindex[group]
        if self.kind == "group":
            index = int(group[1:])
            if index == 0:
                self.active = True
            elif not self.active:
                return key
            replacement = self.targets[index]
            if re.search(r"\\\d", replacement):
                replacement = re.sub(r"\\(\d+)", lambda g: m.group(first + int(g.group(1))), replacement)
        elif self.kind == "offset":
            replacement = self.targets[0].replace(r"\1", str(int(m.group(first + 1)) + self.offset))
        else:
            replacement = self.targets[0]
            if r"\1" in replacement:
                replacement = replacement.replace(r"\1", m.group(first + 1) or "")
        renamed = rest.replace(m.group(0), replacement, 1)
        return prefix + renamed if prefix is not None else renamed


# architectures whose files are read under the names they are saved with, not transformers 5's in-memory ones (the
# tests' oracle of `canonical_names` keeps them as saved too): Nomic BERT's and
# jina-embeddings-v3's in-memory names are LLaMA's (`self_attn.o_proj`, `mlp.gate_proj`), which say nothing of them,
# where their files' own (`attn.Wqkv`, `mlp.fc11`, `mixer.Wqkv`) name them; T5Gemma 2's put its encoder's layers under
# `text_model.`, where its files (and its rules) have them under the encoder
SAVED_NAMES = frozenset({"nomic_bert", "jina_embeddings_v3", "t5gemma2"})


@functools.lru_cache(maxsize=1)
def _model_types() -> frozenset[str]:
    return frozenset(tables()["transformers"]["model_types"])


def guess_model_type(names: list[str]) -> str | None:
    """Most transformers models keep their base model under an attribute named after the model type."""
    known = _model_types()
    found = sorted({n.split(".", 1)[0] for n in names} & known)
    return found[0] if len(found) == 1 else None


def renamings(model_type: str) -> list[_Renaming]:
    """Fresh renamings for `model_type` (fresh: a group renaming remembers what it has seen)."""
    return [_Renaming(spec) for spec in tables()["transformers"]["renamings"].get(model_type, ())]


def canonical_names(names: list[str], model_type: str | None) -> dict[str, str]:
    """Module names (no `.weight`) -> in-memory names for `model_type` (identity where nothing applies, or where the
    model type's files are read as saved: `SAVED_NAMES`)."""
    # the keys' own head (`vit.`, `bert.`) wins over a config.json, which may sit beside other weights
    model_type = guess_model_type(names) or model_type
    steps = renamings(model_type) if isinstance(model_type, str) and model_type not in SAVED_NAMES else []
    if not steps:
        return {n: n for n in names}
    out = {}
    for name in names:
        key = name + ".weight"
        for step in steps:
            key = step.rename(key)
        out[name] = key.removesuffix(".weight")
    return out


# a CLIP or SigLIP tower saved bare by transformers 5 (`embeddings.token_embedding`, `encoder.layers.N.…`, SigLIP's
# pooling `head`): its prefix; the projection beside it has none in any CLIP checkpoint
_BARE_TOWERS = (("embeddings.token_embedding", "text_model."), ("embeddings.patch_embedding", "vision_model."))
_PROJECTIONS = ("text_projection", "visual_projection")


def tower_names(names: list[str]) -> dict[str, str]:
    """Module names -> prefixed names for a CLIP or SigLIP text or vision tower saved without `text_model.` /
    `vision_model.`; {} for anything else.

    >>> tower_names(["embeddings.token_embedding", "embeddings.position_embedding", "text_projection"])
    {'embeddings.token_embedding': 'text_model.embeddings.token_embedding', 'embeddings.position_embedding': \
'text_model.embeddings.position_embedding', 'text_projection': 'text_projection'}
    """
    if not {n.split(".", 1)[0] for n in names} <= {"embeddings", "encoder", "head", *_PROJECTIONS}:
        return {}
    found = set(names)
    if "embeddings.position_embedding" not in found:  # CLIP's and SigLIP's are learned tables (MLCD's is rotary)
        return {}
    prefix = next((prefix for mark, prefix in _BARE_TOWERS if mark in found), "")
    return {n: n if n.startswith(_PROJECTIONS) else prefix + n for n in names} if prefix else {}

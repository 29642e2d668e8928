"""A merge of several models, as its recipe says: mergekit's `mergekit_config.yml` (or the copy of it mergekit's
card carries) or mergekit-moe's `mergekit_moe_config.yml` (a mixture of experts, each the MLP of a model it names:
`tree.mixture`), or what a Stable Diffusion checkpoint merger wrote in the merged file's header.

A merge's weights are shaped as each model it merged is, so they check the lineage but cannot name the models; the
recipe names them. `merge_recipe` reads it: mergekit's `merge_method`, `base_model`, and the models of `models:`
and `slices:`, each `org/name[@revision][+lora]`; or the header's `sd_merge_models` ({sha256: {name, …}}, as
AUTOMATIC1111's checkpoint merger, supermerger and their kin write it, `sd_merge_recipe` saying how) or
`modelspec.merged_from` (sd-scripts' merge tools), whose files are named through the registry, by their SHA-256
where a root's published file has it. `merged_decision` makes what a card may declare for a merge: the Hub
ids it merged, written as mergekit writes them (`base_model` a list, `base_model_relation: merge`), where none is a
registry model the weights rule out and at least one of them, or the decision the weights and metadata made, places
the tree. A model the registry lacks cannot be checked by its shapes; it is the recipe's word, as a card's is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..source.hub import REPO_ID
from .base_config import card_lineage
from .card_yaml import card_metadata, load_yaml
from .header import comfy_graph, header_json
from .naming import resolve_name
from .registry import file_stem, hub_spelling, registry_root, roots, tail_key

__all__ = ["MERGE_FILES", "merge_recipe", "merged_decision", "untraced"]

MERGE_FILES = ("mergekit_config.yml", "mergekit_moe_config.yml")  # the recipes mergekit writes beside its output
MAX_MODELS = 16  # Hub ids a recipe names that a report lists (real merges name two to a dozen)
_CARD_RECIPE = re.compile(r"```ya?ml[ \t]*\r?\n([\s\S]*?)\r?\n```")  # mergekit's card: the recipe as a YAML block


def _refs(value) -> list[str]:
    """The models a mergekit reference names: `org/name[@rev][+org/lora[@rev]]` (a model, and the LoRA applied to it
    before merging), or {model: …, lora: …} / {path: …} as mappings; as mergekit's card lists them."""
    if isinstance(value, Mapping):
        return [r for key in ("model", "path", "lora") for r in _refs(value.get(key))]
    if not isinstance(value, str):
        return []
    return [name for part in value.split("+", 1) if (name := part.split("@", 1)[0].strip())]


def _listed(value) -> list:
    return value if isinstance(value, list) else []


def _recipe_of(data) -> dict | None:
    """mergekit's recipe (`merge_method`, `models:`/`slices:`), or mergekit-moe's (`experts:`, each a
    `source_model`, its MLP one expert of the mixture; the `base_model` gives the attention)."""
    if not isinstance(data, Mapping):
        return None
    refs = [data.get("base_model")]
    if isinstance(data.get("merge_method"), str):
        tool, method = "mergekit", data["merge_method"].strip()[:40]
        pieces = [p.get("sources") for p in _listed(data.get("slices")) if isinstance(p, Mapping)]
        entries, key = [*_listed(data.get("models")), *(e for p in pieces for e in _listed(p))], "model"
    elif _listed(data.get("experts")):
        tool, method, key = "mergekit-moe", "moe", "source_model"
        entries = [*_listed(data.get("experts")), *_listed(data.get("shared_experts"))]
    else:
        return None
    for entry in entries:
        refs.append(entry.get(key) if isinstance(entry, Mapping) else None)
    named = list(dict.fromkeys(r for v in refs for r in _refs(v)))
    hub = [r for r in named if REPO_ID.fullmatch(r)]
    return {
        "tool": tool,
        "method": method,
        "base_model": next(iter(_refs(data.get("base_model"))), None),
        "models": hub[:MAX_MODELS],
        "unnamed": len(named) - len(hub),  # models named by a local path: no Hub id to write
    }


_TITLE_HASH = re.compile(r"\s*\[[0-9a-fA-F]{8,12}\]\Z")  # A1111's checkpoint title: `name.safetensors [6ce0161689]`


def _hub_model(name: str, sha256: str | None) -> str | None:
    """The Hub id of a merged checkpoint file: a registry root's by its SHA-256, else the registry's name for it (a
    derivative's Hub id by its file's name, `dreamshaper_8` -> `Lykon/dreamshaper-8`; a root's file, its root)."""
    rid = roots()["_hash"].get(sha256.lower()) if isinstance(sha256, str) else None
    if rid:
        return rid
    stem = file_stem(_TITLE_HASH.sub("", name.strip()))
    root, _ = resolve_name(stem) if stem else (None, None)
    if not root:
        return None
    tail_root, tail_name = roots()["_tail"].get(tail_key(stem), (None, None))
    return hub_spelling(stem) or (tail_name if tail_root == root and tail_name else root)


def _header_recipe(metadata: Mapping) -> dict | None:
    """The merge record a checkpoint merger left in the header: `sd_merge_models`, else `modelspec.merged_from`,
    else the ComfyUI graph that saved it, where that merged the checkpoints it loaded."""
    record, method = header_json(metadata.get("sd_merge_models")), "merge"
    if isinstance(record, Mapping):
        source = "header sd_merge_models"
        models = [(e.get("name"), sha) for sha, e in record.items() if isinstance(e, Mapping)]
        how = header_json(metadata.get("sd_merge_recipe"))
        if isinstance(how, Mapping):
            words = [how.get(k) for k in ("interp_method", "mode", "calcmode", "type")]
            method = next((w.strip()[:40] for w in words if isinstance(w, str) and w.strip()), method)
    elif isinstance(metadata.get("modelspec.merged_from"), str):
        source = "header modelspec.merged_from"
        models = [(n, None) for n in metadata["modelspec.merged_from"].split(",")[: 4 * MAX_MODELS]]
    elif "prompt" in metadata and all(graph := comfy_graph(metadata)):  # (it merged, and loaded what it merged)
        source, method = "header prompt (ComfyUI)", ", ".join(graph[0])[:40]
        models = [(n, None) for n in graph[1][: 4 * MAX_MODELS]]
    else:
        return None
    named = [(n, sha) for n, sha in models if isinstance(n, str) and n.strip()]
    if not named:
        return None
    found = [h for n, sha in named if (h := _hub_model(n, sha))]
    models = list(dict.fromkeys(found))[:MAX_MODELS]
    return {"tool": "checkpoint merger", "method": method, "base_model": None, "models": models,
            "unnamed": len(named) - len(found), "source": source}  # fmt: skip


def merge_recipe(texts: Mapping[str, str], metadata: Mapping | None = None) -> dict | None:
    """{tool, method, base_model, models [Hub ids, the base first], unnamed, source} of the merge recipe among a
    model's companion texts or in its header, or None: `mergekit_config.yml` or `mergekit_moe_config.yml` (method
    `moe`), else the YAML block of a card tagged
    `mergekit`, else a checkpoint merger's record in the header (`metadata`), else a card tagged `merge` that names
    several base models (mergekit's card, its recipe gone). `unnamed`: the models it names by no Hub id (a local
    path; a file the registry does not know).

    >>> r = merge_recipe({"mergekit_config.yml": "models:\\n  - model: a/x\\n  - model: b/y+c/lora\\n"
    ...                   "merge_method: ties\\nbase_model: m/base@main\\n"})
    >>> r["method"], r["models"], r["source"]
    ('ties', ['m/base', 'a/x', 'b/y', 'c/lora'], 'mergekit_config.yml')
    """
    for name in MERGE_FILES:
        text = texts.get(name)
        if text:
            recipe = _recipe_of(load_yaml(text)[0])
            if recipe:
                return {**recipe, "source": name}
    card = texts.get("README.md")
    meta, body, _ = card_metadata(card) if card else ({}, "", None)
    tags = meta.get("tags") if isinstance(meta, Mapping) else None
    tags = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
    if "mergekit" in tags:
        for block in _CARD_RECIPE.findall(body)[:4]:
            recipe = _recipe_of(load_yaml(block)[0])
            if recipe:
                return {**recipe, "source": "README.md recipe"}
    recipe = _header_recipe(metadata) if isinstance(metadata, Mapping) else None
    bases = meta.get("base_model") if isinstance(meta, Mapping) else None
    if recipe is None and {"merge", "mergekit"} & set(tags) and isinstance(bases, list):  # a merge by its card alone
        hub = list(dict.fromkeys(b.strip() for b in bases if isinstance(b, str) and REPO_ID.fullmatch(b.strip())))
        if len(hub) > 1:
            method = "moe" if {"moe", "frankenmoe"} & set(tags) else "merge"  # (LazyMergekit's tags for mergekit-moe)
            recipe = {"tool": "card", "method": method, "base_model": None, "models": hub[:MAX_MODELS],
                      "unnamed": 0, "source": "README.md base_model"}  # fmt: skip
    return recipe


MAX_TRACED = 4  # merged models the registry lacks whose cards are followed (each a small download, 3 at most)


def untraced(recipe: dict | None) -> list[str]:
    """The merged models whose model cards `merged_decision` follows: those the registry lacks, MAX_TRACED at most
    (`inspect` starts reading their cards side by side before the tree is weighed)."""
    return [m for m in (recipe or {}).get("models") or [] if not registry_root(m)][:MAX_TRACED]


def merged_decision(decision: dict, recipe: dict | None, allowed: set[str], card=None) -> dict:
    """The base_model decision for a merge: `decision` (what the weights and metadata decided, as for any model)
    with `merged`, the Hub ids to write, where the recipe names some, none is a registry model outside `allowed`
    (the roots the weights fit), and the tree is placed (a merged model the registry knows, or the decision's id).
    Where `card(repo_id)` gives model cards, a merged model the registry lacks is placed by its cards' `base_model`
    chain where that leads to a registry root (`base_config.card_lineage`, as the Hub's model tree follows it). A
    recipe model the weights rule out makes the decision `contradicted`.

    >>> d = {"id": "mistralai/Mistral-7B-v0.1", "root": "mistralai/Mistral-7B-v0.1", "status": "declared",
    ...      "source": "x", "reason": "r"}
    >>> recipe = {"method": "ties", "models": ["mistralai/Mistral-7B-v0.1", "a/hermes"], "source": "m.yml"}
    >>> merged_decision(d, recipe, {"mistralai/Mistral-7B-v0.1"})["merged"]
    ['mistralai/Mistral-7B-v0.1', 'a/hermes']
    >>> merged_decision(d, recipe, {"meta-llama/Llama-2-7b-hf"})["status"]
    'contradicted'
    """
    if not recipe or not recipe.get("models") or decision.get("status") == "contradicted":
        return decision
    models = recipe["models"]
    known = {m: registry_root(m) for m in models}
    traced = {}
    if card is not None:  # a merged model the registry lacks: its cards may say what it was tuned from
        for m in untraced(recipe):
            lineage = card_lineage(m, card)
            if lineage:
                known[m], traced[m] = lineage[-1], lineage
    out = next((m for m, r in known.items() if r and r not in allowed), None)
    if out:
        return dict(
            decision,
            id=None,
            status="contradicted",
            source=recipe["source"],
            reason=f"{recipe['source']} merges {out}"
            + (f" (by its model cards a fine-tune of {known[out]})" if out in traced else "")
            + "; the weights rule it out",
        )
    placed = [m for m, r in known.items() if r]
    if not placed and not decision.get("id"):
        return dict(
            decision,
            reason=f"{decision['reason']}; the merge recipe names models the registry lacks, which the weights "
            "cannot check",
        )
    trees = ", ".join(dict.fromkeys(str(known[m]) for m in placed))
    which = (
        f"{len(placed)} of them of {trees}'s tree{' by their model cards' if traced else ''}, which the weights fit"
        if placed
        else f"{decision['id']} places its tree ({decision['source']})"
    )
    unknown = len(models) - len(placed)
    rest = f"; {unknown} the registry lacks, as declared" if unknown else ""
    return dict(
        decision,
        merged=list(models),
        reason=f"{recipe['source']} ({recipe['method']}) merges {', '.join(models)}: {which}{rest}",
    )

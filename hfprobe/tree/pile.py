"""A pile of models of unknown origin, grouped into trees by the root `inspect` names for each.

`hfprobe trees DIR` clusters a zoo's models by their weights when the zoo declares their labels; a folder of
real models that declares nothing (LoRA files downloaded from anywhere, a team's adapters) is grouped here
instead: each model is inspected (headers and companion files only), and models whose roots are of one tree (a
root and the roots tuned from it, roots.json's `parent`: SD 2.1 and 2.1-base are both SD 2-base's) form a tree. A
model whose tree the weights leave open joins its family's group, marked as such.

    >>> group_by_root("my-loras/")["trees"][0]                   # doctest: +SKIP
    {'tree': 'stable-diffusion-v1-5/stable-diffusion-v1-5', 'family': 'sd1', 'models': [...]}
"""

from __future__ import annotations

import posixpath

from ..errors import HfprobeError, UsageError
from ..formats import models_in
from ..source.resolve import resolve
from .inspect import inspect_source
from .registry import tree_root

MAX_PILE = 10_000  # models one call inspects (each costs milliseconds; the bound keeps a wrong folder cheap)
SURE = 0.5  # a tree at least this sure (its roots' scores together) is the model's (as is the tree of the root its
# card's base_model is checked against: a declared root the weights allow, however many look-alikes share its
# shapes); below it, the family is


def group_by_root(folder, *, skip_bad: bool = False) -> dict:
    """{models, trees: [{tree, family, root, models: [{source, root, root_confidence, tree_confidence,
    family_confidence}]}], skipped}.

    Trees are sorted by size, largest first; `tree` is the tree's root id, or `<family> (root unsure)` for the models
    whose candidates in one tree sum to less than SURE and whose card's base_model names none, or `unknown` when not
    even the family is known. `skipped` lists
    (source, reason) for unreadable models when `skip_bad`, which otherwise stop the call with their error.
    """
    with resolve(folder) as src:
        if src.kind != "folder":
            raise UsageError(f"{src.display}: not a folder; pass a folder that holds several models")
        models = models_in(src)
        base = src.display.rstrip("/")
    if models == [""]:
        raise UsageError(f"{base}: holds one model; `hfprobe inspect {base}` names its tree")
    if len(models) > MAX_PILE:
        raise UsageError(f"{base}: holds {len(models)} models, over the {MAX_PILE} one call inspects; pass a subfolder")
    groups: dict[str, dict] = {}
    skipped = []
    for rel in models:
        spec = posixpath.join(base, rel)
        try:
            report = inspect_source(spec)
        except HfprobeError as err:
            if not skip_bad:
                raise
            skipped.append((rel, str(err)))
            continue
        root, fam, lineage = report["root"], report["family"], report["root"].get("tree") or {}
        tree, tree_confidence = lineage.get("id"), lineage.get("confidence", 0.0)
        decided = (report.get("base_model") or {}).get("root")
        sure = tree is not None and (tree_confidence >= SURE or tree_root(decided) == tree)
        key = tree if sure else (f"{fam} (root unsure)" if fam else "unknown")
        group = groups.setdefault(key, {"tree": key, "family": fam, "root": tree if sure else None, "models": []})
        group["models"].append(
            {
                "source": rel,
                "root": root["id"],
                "root_confidence": root["confidence"],
                "tree_confidence": tree_confidence,
                "family_confidence": report["family_confidence"],
            }
        )
    trees = sorted(groups.values(), key=lambda g: (-len(g["models"]), g["tree"]))
    return {"path": base, "models": sum(len(g["models"]) for g in trees), "trees": trees, "skipped": skipped}

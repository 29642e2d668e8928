"""The registries behind `hfprobe.tree.classify` and `hfprobe.tree.declared`, read from data files:
`hfprobe/data/families.json` (which tensor names and shapes mean which architecture family) and
`hfprobe/data/roots.json` (known foundation models, their aliases and published sizes).

>>> roots()["_alias"]["runwayml/stable-diffusion-v1-5"]
'stable-diffusion-v1-5/stable-diffusion-v1-5'
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def families() -> dict:
    """families.json with `same_as` resolved and regexes compiled."""
    data = json.loads(resources.files("hfprobe.data").joinpath("families.json").read_text())
    fams = data["families"]
    for spec in fams.values():
        base = fams[spec["same_as"]] if "same_as" in spec else spec
        spec["_roles"] = [(re.compile(p), o, i) for p, o, i in base["roles"]]
        spec["_indexes"] = [(re.compile(p), d) for p, d in base["indexes"]]
        spec["_shape_only"] = base.get("shape_only", [])
        spec["_either"] = base.get("either_orientation", False)
    data["_rules"] = [(re.compile(r["pattern"]), r["families"], r["why"]) for r in data["name_rules"]]
    data["_name_hints"] = [(re.compile(p, re.I), f) for p, f in data["name_hints"]]
    data["_text_hints"] = [(re.compile(p), f) for p, f in data["text_hints"]]
    return data


@lru_cache(maxsize=1)
def roots() -> dict:
    """roots.json plus an alias table: lower-case id/alias -> root id."""
    data = json.loads(resources.files("hfprobe.data").joinpath("roots.json").read_text())
    data["_by_id"] = {r["id"]: r for r in data["roots"]}
    alias = {}
    for r in data["roots"]:
        for name in [r["id"], *r.get("aliases", [])]:
            alias[name.lower()] = r["id"]
    for name, target in data.get("derivatives", {}).items():
        alias.setdefault(name.lower(), target)
    data["_alias"] = alias
    return data


def family_label(fam: str | None) -> str:
    if fam is None:
        return "an undetermined architecture"
    return families()["families"].get(fam, {}).get("label", fam)

"""Which tree a model belongs to: its architecture family, the foundation model (root) it descends
from, what its metadata claims, and where the two disagree.

Weights first, metadata second. The family and the root are read from tensor names and shapes
(`hfprobe/data/families.json` says which names and shapes mean what; `hfprobe/data/roots.json` lists
known roots with their published hyperparameters). Declared metadata (adapter_config.json, the model
card, kohya/modelspec header fields, config.json) only ranks roots the weights already allow, picks a
family when the weights cannot, and is reported as a conflict when it contradicts them.

Everything here is a pure function over shapes and strings, so it works without reading tensor bytes:

>>> r = classify({"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)})
>>> r.family, r.root
('sd1', 'stable-diffusion-v1-5/stable-diffusion-v1-5')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .declared import Claim, declared_claims
from .keymatch import KeySet
from .names import Shape, normalize_key, normalize_keys, shapes_from_raw
from .registry import families, family_label, hub_spelling, roots

__all__ = ["TreeResult", "base_model_decision", "classify", "normalize_key", "shapes_from_raw"]


@dataclass
class TreeResult:
    """The tree part of an inspect report."""

    family: str | None
    family_confidence: float
    root: str | None
    confidence: float
    candidates: list[dict]
    evidence: list[str]
    declared: dict
    conflicts: list[str]
    conflict_codes: list[str] = field(default_factory=list)  # one short code per conflict, same order
    base_model: dict = field(default_factory=dict)  # what a card may declare: see `base_model_decision`

    def root_dict(self) -> dict:
        return {
            "id": self.root,
            "confidence": self.confidence,
            "candidates": self.candidates,
            "evidence": self.evidence,
        }


def _values(expr, dims: Mapping) -> set[int] | None:
    """A role side ('hidden', '3*hidden', 768, [..]) -> the set of sizes it allows; None = unchecked."""
    if expr is None:
        return None
    if isinstance(expr, list):
        out: set[int] = set()
        for e in expr:
            v = _values(e, dims)
            if v is None:
                return None
            out |= v
        return out
    if isinstance(expr, int):
        return {expr}
    mult, _, name = expr.rpartition("*")
    val = dims.get(name)
    if val is None:
        return None
    vals = set(val) if isinstance(val, list) else {val}
    return {int(mult or 1) * v for v in vals}


_SOFT = {"vocab", "positions"}  # resized embeddings are common: a mismatch lowers a root, never rules it out


@dataclass
class _Fit:
    root: dict
    ok: int = 0
    bad: list = field(default_factory=list)
    soft: float = 1.0
    exact_layers: bool = False
    shape_only: bool = False
    passed: list = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.bad and (self.ok > 0 or self.shape_only)


def _family_observations(fam: str, shapes: Mapping[str, Shape], orig: Mapping[str, str], keys: KeySet) -> tuple:
    """Role matches (role, out, in, example key as written) deduplicated, and max block index per dim.

    `keys` holds the names of `shapes`: each pattern runs once per classify call, whichever families use it."""
    spec = families()["families"][fam]
    roles = [(n, found) for n, (kp, _, _) in enumerate(spec["_roles"]) if (found := keys.matches(kp))]
    indexes = [(values, dim) for kp, dim in spec["_indexes"] if (values := keys.index_values(kp))]
    seen: dict = {}
    idx: dict[str, tuple[int, str]] = {}
    if not roles and not indexes:
        return [], idx
    matched = set().union(*(found for _, found in roles), *(values for values, _ in indexes))
    for key, (o, i) in shapes.items():
        if key not in matched:
            continue
        for n, found in roles:  # the first role that matches a key is its role
            if key in found:
                seen.setdefault((n, o, i), orig.get(key, key))
                break
        for values, dim in indexes:
            v = values.get(key)
            if v is not None and v > idx.get(dim, (-1, ""))[0]:
                idx[dim] = (v, orig.get(key, key))
    return [(n, o, i, k) for (n, o, i), k in seen.items()], idx


_ROLE_VALUES: dict[tuple[int, str], tuple[dict, list]] = {}


def _role_values(root: dict, spec: dict) -> list[tuple[set[int] | None, set[int] | None]]:
    """(outs, ins) each role of the family allows on this root: the registry's, worked out once per process."""
    key = (id(root), spec["_base"])
    cached = _ROLE_VALUES.get(key)
    if cached is None or cached[0] is not root:  # (the registry dict itself, not a reused id)
        dims = root["dims"]
        cached = _ROLE_VALUES[key] = (root, [(_values(o, dims), _values(i, dims)) for _, o, i in spec["_roles"]])
    return cached[1]


def _fit(root: dict, fam: str, obs: list, idx: dict, all_dims: set[int]) -> _Fit:
    spec = families()["families"][fam]
    dims = root["dims"]
    values = _role_values(root, spec)
    fit = _Fit(root)
    for n, o, i, key in obs:
        _, oexpr, iexpr = spec["_roles"][n]
        outs, ins = values[n]
        missing = [e for e, v in ((oexpr, outs), (iexpr, ins)) if e is not None and v is None]
        if missing:  # e.g. a second text encoder on a root that has none
            fit.bad.append(f"{key} needs {missing[0]}, which {root['id']} does not have")
            continue
        if outs is None and ins is None:
            continue
        good = (o is None or outs is None or o in outs) and (i is None or ins is None or i in ins)
        if not good and spec["_either"]:
            good = (i is None or outs is None or i in outs) and (o is None or ins is None or o in ins)
        soft = oexpr in _SOFT or iexpr in _SOFT
        if good:
            fit.ok += 1
            fit.soft *= 3.0 if soft else 1.0
            fit.passed.append((key, o, i, oexpr, iexpr))
        elif soft:
            fit.soft *= 0.3
        else:
            want = f"{sorted(outs) if outs else '?'}x{sorted(ins) if ins else '?'}"
            fit.bad.append(f"{key} is {o}x{i}, {root['id']} has {want} ({oexpr} x {iexpr})")
    for dim, (v, key) in idx.items():
        limit = dims.get(dim)
        if isinstance(limit, int):
            if v >= limit:
                fit.bad.append(f"{key} has block index {v}, {root['id']} has only {limit} ({dim})")
            elif v + 1 == limit:
                fit.exact_layers = True
    if not obs and not fit.bad:
        needed = [_values(d, dims) for d in spec["_shape_only"]]
        if needed and all(v and v <= all_dims for v in needed):  # every listed size must appear
            fit.shape_only = True
    return fit


def classify(
    shapes: Mapping[str, Shape],
    *,
    names: Iterable[str] = (),
    metadata: Mapping | None = None,
    config: Mapping | None = None,
    texts: Mapping[str, str] | None = None,
) -> TreeResult:
    """Family, root candidates, declared claims and conflicts for one model.

    `shapes` maps module names (canonical or raw key names) to (d_out, d_in), either side None when
    unknown; `names` are extra raw key names for the name rules; `metadata`, `config`, `texts` as in
    `declared_claims`.

    >>> r = classify({"model.layers.0.self_attn.q_proj": (896, 896), "model.layers.0.self_attn.v_proj": (128, 896)})
    >>> r.family, [c["id"] for c in r.candidates][:2]
    ('qwen2', ['Qwen/Qwen2.5-0.5B-Instruct', 'Qwen/Qwen2.5-0.5B'])
    """
    norm: dict[str, Shape] = {}
    orig: dict[str, str] = {}
    for n, (k, v) in zip(normalize_keys(list(shapes)), shapes.items()):
        norm[n], orig[n] = tuple(v), k
    names = list(names)
    for n, k in zip(normalize_keys(names), names):
        orig.setdefault(n, k)
    declared, claims = declared_claims(metadata, config, texts)
    evidence: list[str] = []
    names_set = KeySet(orig)  # each registry pattern runs once over all names, and only where its literal occurs
    shape_set = KeySet(norm, present=names_set.present)

    cand_fams = _name_families(orig, evidence, names_set)  # 1. names narrow the family
    from_names = bool(cand_fams)
    fits, ok = _fit_roots(cand_fams or list(families()["families"]), norm, orig, shape_set)  # 2. shapes test roots
    family, by_claim = _choose_family(ok, cand_fams, from_names, claims, evidence)  # 3. metadata second
    cands, pool, family, family_conf = _rank_roots(ok, family, by_claim, claims, evidence)  # 4. scores
    root = cands[0]["id"] if cands else None
    top = next((f for f in pool if f.root["id"] == root), None)
    _explain(top, pool, fits, family, norm, evidence)  # 5. what fits, ties, was ruled out

    coded = _conflicts(claims, family, pool, fits, top)
    conflicts = [sentence for _, sentence in coded]
    structured = [c for c in claims if c.strength == "declared"]
    if structured and family:  # one word for readers (cards): does what the metadata declares fit?
        ids = {c["id"] for c in cands}
        if any(c.source in x for c in structured for x in conflicts):
            declared["agrees"] = False
        elif any(c.root in ids or (c.root is None and c.family == family) for c in structured):
            declared["agrees"] = True
    return TreeResult(
        family,
        family_conf,
        root,
        cands[0]["score"] if cands else 0.0,
        cands,
        evidence,
        declared,
        conflicts,
        [code for code, _ in coded],
        base_model_decision(claims, cands, pool, family),
    )


def _name_families(orig: Mapping[str, str], evidence: list[str], keys: KeySet) -> list[str]:
    """Families the key names allow: the rule most keys support first, then those that agree with it."""
    fired = []
    for pattern, fam_list, why in families()["_rules"]:
        hits = keys.matches(pattern)
        if hits:
            fired.append((fam_list, why, len(hits), orig[min(hits)]))
    fired.sort(key=lambda f: (-f[2], len(f[0])))  # a rule contradicting the majority is a stray match
    cand: list[str] = []
    for fam_list, why, n, example in fired:
        if cand and not set(cand) & set(fam_list):
            continue
        cand = [f for f in cand if f in fam_list] if cand else list(fam_list)
        evidence.append(f"names: {why} ({n} keys, e.g. {example})")
    if not cand:
        evidence.append("names: no known architecture pattern in the keys; shapes only")
    return cand


def _fit_roots(cand_fams: list[str], norm: Mapping[str, Shape], orig: Mapping[str, str], keys: KeySet) -> tuple:
    """Every registry root of those families tested against the shapes: (all fits, consistent fits)."""
    all_dims = {d for o, i in norm.values() for d in (o, i) if d}
    fits, obs = [], {}
    for root in roots()["roots"]:
        fam = root["family"]
        if fam in cand_fams:
            base = families()["families"][fam]["_base"]  # families with one layout (same_as) observe alike
            if base not in obs:
                obs[base] = _family_observations(fam, norm, orig, keys)
            fits.append((fam, _fit(root, fam, *obs[base], all_dims)))
    ok = [(fam, f) for fam, f in fits if f.consistent]
    if any(not f.shape_only for _, f in ok):  # a root whose named roles fit beats roots that only share sizes
        ok = [(fam, f) for fam, f in ok if not f.shape_only]
    return fits, ok


def _weight(f: _Fit, claims: list[Claim]) -> float:
    """Weights-side likelihood of a root: prior x embedding-size fit x exact layer count (x2 if prose names it)."""
    w = f.root.get("prior", 1.0) * f.soft * (3.0 if f.exact_layers else 1.0)
    return w * (2.0 if any(c.root == f.root["id"] and c.strength == "text" for c in claims) else 1.0)


def _claim_family(claims: list[Claim], allowed: Iterable[str]) -> tuple[str | None, Claim | None]:
    """The family metadata names among `allowed`: declared fields first, then prose (most mentions)."""
    allowed = set(allowed)
    for strength in ("declared", "text"):
        scores: dict[str, int] = {}
        first: dict[str, Claim] = {}
        for c in claims:
            if c.strength == strength and c.family in allowed:
                scores[c.family] = scores.get(c.family, 0) + c.count
                first.setdefault(c.family, c)
        if scores:
            best = max(scores, key=scores.get)
            return best, first[best]
    return None, None


def _choose_family(
    ok: list, cand_fams: list[str], from_names: bool, claims: list[Claim], evidence: list[str]
) -> tuple[str | None, bool]:
    """(family, chosen by metadata?) from the families whose roots fit; metadata only breaks ties."""
    ok_fams = list(dict.fromkeys(fam for fam, _ in ok))
    weak = all(f.shape_only for _, f in ok)
    if len(ok_fams) == 1 and not (weak and not from_names):
        return ok_fams[0], False
    if ok_fams:
        fam, c = _claim_family(claims, ok_fams)
        if fam:
            evidence.append(f"weights fit {', '.join(ok_fams)}; metadata picks {fam} ({c.source}: {c.value})")
            return fam, True
        if weak:
            evidence.append(f"shapes alone fit {', '.join(ok_fams)}; no metadata names one")
            return None, False
        totals: dict[str, float] = {}
        for fam, f in ok:
            totals[fam] = totals.get(fam, 0.0) + _weight(f, claims)
        best = max(totals, key=totals.get)
        evidence.append(f"weights fit roots of {', '.join(ok_fams)}; most likely {best}")
        return best, False
    if from_names:
        fam, c = _claim_family(claims, cand_fams)
        fam = fam or cand_fams[0]
        evidence.append(
            f"no known root fits these shapes; family {fam} from "
            + (f"{c.source}: {c.value}" if c else "the key names")
        )
        return fam, False
    return None, False


def _rank_roots(
    ok: list, family: str | None, by_claim: bool, claims: list[Claim], evidence: list[str]
) -> tuple[list[dict], list[_Fit], str | None, float]:
    """Scored candidates (summing to at most 1), the fits behind them, the family, its confidence."""
    weak = all(f.shape_only for _, f in ok)
    # every root the weights allow, other families too, unless only sizes matched
    pool = [f for fam, f in ok if fam == family or (not weak and family is not None)]
    weights = {f.root["id"]: _weight(f, claims) for f in pool}
    fam_of = {f.root["id"]: f.root["family"] for f in pool}
    if by_claim:  # metadata chose among families the weights allow: its family gets most of the mass
        mine = sum(v for k, v in weights.items() if fam_of[k] == family)
        rest = sum(weights.values()) - mine
        if mine and rest and mine < 1.5 * rest:
            weights = {k: v * 1.5 * rest / mine if fam_of[k] == family else v for k, v in weights.items()}
    # a declared root the weights allow outranks its look-alikes (at least 60% of the known mass)
    for rid in dict.fromkeys(c.root for c in claims if c.strength == "declared" and c.root in weights):
        others = sum(v for k, v in weights.items() if k != rid)
        weights[rid] = max(weights[rid] * 4.0, 1.5 * others)
    for c in [
        c
        for c in claims
        if c.strength == "declared"
        and c.root is None
        and c.family == family
        and c.family is not None
        and "/" in c.value
    ][:1]:
        weights[c.value] = max(weights.values(), default=1.0)
        evidence.append(f"{c.source} names {c.value}, not in the registry: a candidate, shapes unchecked")
    total = sum(weights.values())
    # mass kept back for roots the registry does not know, larger when the match rests on less
    best_ok = max((f.ok for f in pool), default=0)
    unknown = 0.4 if (not pool or all(f.shape_only for f in pool)) else (0.1 if best_ok >= 2 else 0.25)
    cands = (
        sorted(
            ({"id": k, "score": round(v / total * (1 - unknown), 3)} for k, v in weights.items()),
            key=lambda c: -c["score"],
        )[:5]
        if total
        else []
    )
    if cands and fam_of.get(cands[0]["id"], family) != family:  # a declared root picks between look-alike families
        family = fam_of[cands[0]["id"]]
    fam_weight: dict[str, float] = {}
    for fam, f in ok:
        fam_weight[fam] = fam_weight.get(fam, 0.0) + _weight(f, claims)
    family_conf = round(fam_weight.get(family, 0.0) / (sum(fam_weight.values()) or 1.0), 3) if family else 0.0
    if family and (not ok or (weak and len(fam_weight) > 1)):
        family_conf = 0.5 if family in {c.family for c in claims if c.strength == "declared"} else 0.3
    elif by_claim:
        family_conf = max(family_conf, 0.6)
    if weak and family_conf < 1:  # a root can be no surer than the family it was picked from
        cands = [dict(c, score=round(c["score"] * family_conf, 3)) for c in cands]
    return cands, pool, family, family_conf


def _explain(
    top: _Fit | None, pool: list[_Fit], fits: list, family: str | None, norm: Mapping, evidence: list[str]
) -> None:
    if top is not None:
        root = top.root["id"]
        telling = [_telling(top, family)] if top.passed else []
        for key, o, i, oexpr, iexpr in telling + [p for p in top.passed[:1] if p not in telling]:
            evidence.append(f"shapes: {key} is {o}x{i}, fits {oexpr} x {iexpr} of {root}")
        if top.shape_only:
            sizes = sorted({d for o, i in norm.values() for d in (o, i) if d})
            evidence.append(
                f"shapes: sizes {sizes[:8]} include {root}'s "
                + ", ".join(families()["families"][family]["_shape_only"])
            )
        same = [
            f.root["id"]
            for f in pool
            if f.root["id"] != root
            and f.ok == top.ok
            and not f.bad
            and f.exact_layers == top.exact_layers
            and f.soft == top.soft
        ]
        if same:
            evidence.append(f"weights cannot separate {root} from {', '.join(same[:4])}: same shapes")
    for f in [f for fam, f in fits if fam == family and f.bad][:3]:
        evidence.append(f"ruled out {f.root['id']}: {f.bad[0]}")


def _telling(fit: _Fit, family: str) -> tuple:
    """The passed check that says most about the family: the one using its distinguishing dims."""
    key_dims = families()["families"][family]["_shape_only"]

    def score(p):
        _, _, _, oexpr, iexpr = p
        s = sum(str(e).split("*")[-1] in key_dims for e in (oexpr, iexpr))
        return s + 2 * any(str(e).split("*")[-1] == key_dims[-1] for e in (oexpr, iexpr)) if key_dims else 0

    return max(fit.passed, key=score)


def _why(top: _Fit | None, family: str | None) -> str:
    if top is None or not top.passed:
        return family_label(family)
    key, o, i, oexpr, iexpr = _telling(top, family)
    return f"{family_label(family)} ({key} is {o}x{i}: {oexpr} x {iexpr})"


def _conflict_code(source: str, kind: str) -> str:
    """A short, stable code for a conflict: where the claim came from, then what disagrees (family | shapes).

    >>> _conflict_code("README.md mentions", "family")
    'readme-text-family'
    >>> _conflict_code("adapter_config.json base_model_name_or_path", "shapes")
    'adapter-config-shapes'
    """
    s = source.strip().lower()
    if s == "readme.md base_model":
        return f"card-base-model-{kind}"
    file = s.split()[0]
    where = {"adapter_config.json": "adapter-config", "config.json": "config", "readme.md": "readme"}.get(
        file, re.sub(r"[^a-z0-9]+", "-", file).strip("-")
    )
    return f"{where}{'-text' if 'mentions' in s else ''}-{kind}"


def _conflicts(
    claims: list[Claim], family: str | None, pool: list[_Fit], fits: list, top: _Fit | None
) -> list[tuple[str, str]]:
    """Each claim the weights contradict: (short code, sentence)."""
    if family is None:
        return []
    out: list[tuple[str, str]] = []
    pool_ids = {f.root["id"] for f in pool}
    by_id = {f.root["id"]: f for _, f in fits}
    text_fams = {c.family for c in claims if c.strength == "text" and c.family}
    # prose mentions count against the weights only when prose could have named the weights' family
    # (a text hint exists for it) and the mention is of the same kind (diffusion vs text vs vision)
    hintable = {f for _, f in families()["_text_hints"]}
    kind = families()["families"][family]["kind"]
    text_fams = {f for f in text_fams if families()["families"].get(f, {}).get("kind") == kind}
    if family not in hintable:
        text_fams = set()
    for c in claims:
        if c.strength == "declared":
            if c.family and c.family != family:
                out.append(
                    (
                        _conflict_code(c.source, "family"),
                        f"{c.source} says {c.value} ({family_label(c.family)}), but the weights are "
                        f"{_why(top, family)}",
                    )
                )
            elif c.root and c.root not in pool_ids:
                bad = by_id.get(c.root)
                reason = bad.bad[0] if bad and bad.bad else "its shapes do not fit"
                out.append(
                    (
                        _conflict_code(c.source, "shapes"),
                        f"{c.source} says {c.value}, but the weights do not fit it: {reason}",
                    )
                )
    agreed = any(c.strength == "declared" and c.family == family for c in claims)
    if text_fams and family not in text_fams and not agreed:
        seen = set()
        for c in claims:
            if c.strength == "text" and c.family in text_fams and c.family not in seen:
                seen.add(c.family)
                out.append(
                    (
                        _conflict_code(c.source, "family"),
                        f"{c.source.split()[0]} mentions {family_label(c.family)}, but the weights are "
                        f"{_why(top, family)}",
                    )
                )
    return list(dict.fromkeys(out))


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


WEIGHTS_ALONE = 0.8  # a root the weights single out on their own: the only registry root that fits, this sure


def base_model_decision(claims: list[Claim], cands: list[dict], pool: list[_Fit], family: str | None) -> dict:
    """Which `base_model` a model card may declare, and why: the weights and the metadata must agree.

    Returns {id, root, status, source, reason}; `id` is set only for status `declared` (a structured field
    names a root the weights allow: adapter_config.json, config.json, a kohya/modelspec header, a training
    config, the card's own YAML), `mentioned` (nothing structured names a root; the card's prose names
    exactly one Hub id the weights allow) or `weights` (nothing names one; the weights fit exactly one
    registry root, by named layers, with a score of at least 0.8). Otherwise `id` is None and status is
    `contradicted` (a structured claim the weights rule out), `unchecked` (a structured claim names a Hub id
    neither the registry nor the weights can check), `ambiguous` (several roots remain; see the candidates)
    or `unknown`. `id` keeps the spelling the metadata used when it is a Hub id for the same weights
    (`runwayml/stable-diffusion-v1-5`, `gpt2`), else the root id (a checkpoint file name is not a Hub id).

    >>> r = classify({"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)},
    ...              texts={"README.md": "LoRA adaption weights for runwayml/stable-diffusion-v1-5."})
    >>> r.base_model["id"], r.base_model["status"]
    ('runwayml/stable-diffusion-v1-5', 'mentioned')
    >>> classify({"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)}).base_model["status"]
    'ambiguous'
    """
    out = {"id": None, "root": None, "status": "unknown", "source": None, "reason": "the weights match no known root"}
    if family is None:
        return out
    pool_ids = {f.root["id"] for f in pool}
    structured = [c for c in claims if c.strength == "declared"]
    wrong = [c for c in structured if (c.family and c.family != family) or (c.root and c.root not in pool_ids)]
    if wrong:
        c = wrong[0]
        return dict(
            out, status="contradicted", source=c.source, reason=f"{c.source} says {c.value}; the weights rule it out"
        )
    unknown_ids = [c for c in structured if c.root is None and _HUB_ID.match(c.value.strip())]
    named = [c for c in structured if c.root in pool_ids]
    named += [c for c in unknown_ids if c.family == family]
    if any(c.family != family for c in unknown_ids):
        c = next(c for c in unknown_ids if c.family != family)
        return dict(
            out,
            status="unchecked",
            source=c.source,
            reason=f"{c.source} names {c.value}, which neither the registry nor the weights can check",
        )
    status = "declared"
    if not named:
        named, status = [c for c in claims if c.strength == "text" and c.root in pool_ids], "mentioned"
    distinct = list(dict.fromkeys(c.root or c.value.strip().lower() for c in named))
    if len(distinct) == 1:
        c = named[0]
        write = hub_spelling(c.value) or c.root or c.value.strip()
        how = "" if c.source.endswith(("names", "mentions")) else ("names " if status == "declared" else "mentions ")
        fits = "the weights fit it" if c.root else "the weights fit its family; its shapes are not in the registry"
        return {
            "id": write,
            "root": c.root,
            "status": status,
            "source": c.source,
            "reason": f"{c.source} {how}{c.value}; {fits}",
        }
    if len(distinct) > 1:
        names = ", ".join(dict.fromkeys(c.value for c in named))
        return dict(out, status="ambiguous", reason=f"the metadata names several roots the weights allow: {names}")
    mine = [f for f in pool if f.root["family"] == family]
    if len(mine) == 1 and not mine[0].shape_only and cands and cands[0]["score"] >= WEIGHTS_ALONE:
        rid = mine[0].root["id"]
        return {
            "id": rid,
            "root": rid,
            "status": "weights",
            "source": "weights",
            "reason": f"{rid} is the only known root whose shapes fit",
        }
    if len(mine) > 1:
        n = len(mine)
        return dict(
            out,
            status="ambiguous",
            reason=f"the weights fit {n} known roots (the candidates) and no metadata names one",
        )
    return dict(out, status="unknown", reason="the weights alone are not enough to name the base model")

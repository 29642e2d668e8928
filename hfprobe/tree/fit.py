"""How registry roots fit a model's tensor names and shapes: the families its key names allow
(`name_families`) and, for every known root of those families, which observed shapes fit the root's published
hyperparameters, which rule it out and how sure the match is (`fit_roots`, one `RootFit` per root).
`hfprobe.tree.rank` chooses the family and ranks the roots from these fits.

>>> from hfprobe.tree.keymatch import KeySet
>>> from hfprobe.tree.names import normalize_key
>>> raw = "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"
>>> shapes = {normalize_key(raw): (320, 768)}
>>> fits, ok = fit_roots(["sd1", "sd2"], shapes, {normalize_key(raw): raw}, KeySet(shapes))
>>> sorted({fam for fam, _ in ok}), sorted({fam for fam, f in fits if f.bad})
(['sd1'], ['sd2'])
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import cache

from .keymatch import KeyPattern, KeySet
from .names import Shape
from .registry import families, family_label, layout, role_index, roots

__all__ = ["RootFit", "fit_root", "fit_roots", "name_families", "resized_words", "size_families", "telling"]


def _values(expr, dims: Mapping) -> set[int] | None:
    """A role side ('hidden', '3*hidden', 768, 'hidden|embedding', [..]) -> the set of sizes it allows; None =
    unchecked (a dim the root lacks; of `a|b`, where it has neither)."""
    if expr is None:
        return None
    if isinstance(expr, list | tuple):
        out: set[int] = set()
        for e in expr:
            v = _values(e, dims)
            if v is None:
                return None
            out |= v
        return out
    if isinstance(expr, int):
        return {expr}
    if "|" in expr:  # `a|b`: the sizes of whichever the root has (ELECTRA-small's embeddings are narrower than it)
        vals = [v for e in expr.split("|") if (v := _values(e, dims)) is not None]
        return set().union(*vals) if vals else None
    mult, _, name = expr.rpartition("*")
    val = dims.get(name)
    if val is None:
        return None
    vals = set(val) if isinstance(val, list) else {val}
    return {int(mult or 1) * v for v in vals}


# resized embeddings are common (a text encoder's 77 positions made 248; a speech model's text pre-net for another
# script): a mismatch lowers a root, never rules it out; so does a ViT's patch size (its patch embedding's kernel,
# which FlexiViT resizes), where a family's roots have fewer patch sizes than its models (a ViT-L/14 is no ViT-L/16 the
# registry lists, nor a DINOv2 for that); a relative position bias, which a fine-tune at another resolution
# interpolates as a position table (BEiT's); a detection transformer's count of object queries, which a fine-tune
# may set; and a segmentation model's class head (MaskFormer's), which a fine-tune sets to its own labels. Each, and
# what a miss may be, in words (`resized_words`):
_RESIZED = {
    "vocab": "a resized vocabulary",
    "enc_vocab": "a resized vocabulary",
    "dec_vocab": "a resized vocabulary",
    "positions": "a resized position table",
    "te_positions": "a resized position table",
    "dec_positions": "a resized position table",
    "rel_positions": "a resized relative position bias",
    "shared_positions": "a resized relative position bias",
    "queries": "another number of object queries",
    "classes": "another label set",
    "patch": "another patch size",
    "frames": "another number of frames",
    "in_channels": "a widened input",
}
# input channels a derivative widens (inpainting's 9, a FLUX Control LoRA's 128, which diffusers' loader expands
# FLUX.1-dev's x_embedder to take): more of them lowers a root, never rules it out; fewer does
_WIDENED = {"in_channels"}
_SOFT = set(_RESIZED) - _WIDENED
# of those, the sizes a fine-tune sets for its own task, not an embedding it resizes
_TASK = {"queries", "classes"}
# a mixture's expert index (families.json `indexes`): the count must be the root's, above or below
EXPERTS = "experts"


@dataclass
class RootFit:
    """How one registry root fits the observed shapes: checks passed (`ok`, `passed`), reasons it is ruled
    out (`bad`), the embedding-size factor (`soft`), whether the block count is exact, and whether only sizes
    (no named roles) matched (`shape_only`)."""

    root: dict
    ok: int = 0
    bad: list = field(default_factory=list)
    soft: float = 1.0
    soft_misses: list = field(default_factory=list)  # embedding sizes (vocab, positions) that do not fit
    resized: set = field(default_factory=set)  # the dims of those layers: present, at another size
    exact_layers: bool = False
    short: list = field(default_factory=list)  # stacks with fewer blocks than the root's: "2 of 32 dec_layers, …"
    deeper: bool = False  # a stack with more blocks than the root's (ruled out, unless `depth=False`)
    shape_only: bool = False
    unsized: bool = False  # roles matched by name, none of their sizes in the file (a PEFT method read by name)
    passed: list = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.bad and (self.ok > 0 or self.shape_only or self.unsized)

    @property
    def task_sized(self) -> bool:
        """Every size it misses softly is one a fine-tune sets for its task (object queries, a class head)."""
        return bool(self.soft_misses) and {d for d in self.resized if d in _RESIZED} <= _TASK

    @property
    def weak(self) -> bool:
        """Only sizes, or only names, matched: no root is told from its look-alikes by both."""
        return self.shape_only or self.unsized


def _family_observations(fam: str, shapes: Mapping[str, Shape], orig: Mapping[str, str], keys: KeySet) -> tuple:
    """Role matches (role, out, in, example key as written) deduplicated, and per dim the max block index (with a
    key that has it) and every index seen; under ATTENTION, the blocks whose attention the file holds, where the
    family says which names are attention (`attention_index`: a hybrid's attention is in some blocks only).

    `keys` holds the names of `shapes`: each pattern runs once per classify call, whichever families use it."""
    fam_roles, fam_indexes = layout(fam)
    possible = role_index(fam).possible(keys)  # (most roles' literals occur in no name)
    roles = [(n, found) for n in possible if (found := keys.matches(fam_roles[n][0]))]
    indexes = [(values, dim) for kp, dim in fam_indexes if (values := keys.index_values(kp))]
    seen: dict = {}
    idx: dict[str, tuple[int, str, set[int]]] = {}
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
            if v is not None:
                top, example, all_seen = idx.get(dim, (-1, "", set()))
                all_seen.add(v)
                idx[dim] = (v, orig.get(key, key), all_seen) if v > top else (top, example, all_seen)
    attention = attention_index(fam)
    if attention is not None and (blocks := keys.index_values(attention)):
        idx[ATTENTION] = (max(blocks.values()), "", set(blocks.values()))
    return [(n, o, i, k) for (n, o, i), k in seen.items()], idx


# a hybrid's attention blocks: a root's `attention_layers` (dims) lists them, its family's `attention_index` (a
# pattern whose group is the block index) says which names are attention
ATTENTION = "attention_layers"


@cache
def attention_index(fam: str) -> KeyPattern | None:
    pattern = families()["families"][fam].get("attention_index")
    return KeyPattern(pattern, groups=True) if pattern else None


def _contiguous(blocks: set[int]) -> bool:
    """Whether the blocks an adapter touches are one run (every block, or the first or last few, as PEFT's
    `layers_to_transform` takes them), not scattered ones (a hybrid's attention blocks, 5, 15, 25 and 35)."""
    return len(blocks) == max(blocks) - min(blocks) + 1


_ROLE_VALUES: dict[tuple[int, str], tuple[dict, list, list]] = {}
Sizes = tuple[int, ...] | None  # the sizes a role side allows (sorted), None where it is not checked


def _sizes(values: set[int] | None) -> Sizes:
    return None if values is None else tuple(sorted(values))


def _role_values(root: dict, spec: dict) -> tuple[list[tuple[Sizes, Sizes]], list[Sizes]]:
    """(outs, ins) each role of the family allows on this root, and the sizes of its `_shape_only` dims: the
    registry's, worked out once per process. Kept as tuples of ints, which Python's garbage collector stops
    tracking: tens of thousands of sets would be walked at each full collection of a warm process."""
    key = (id(root), spec["_base"])
    cached = _ROLE_VALUES.get(key)
    if cached is None or cached[0] is not root:  # (the registry dict itself, not a reused id)
        dims = root["dims"]
        roles = layout(spec["_base"])[0]
        values = [(_sizes(_values(o, dims)), _sizes(_values(i, dims))) for _, o, i in roles]
        cached = (root, values, [_sizes(_values(d, dims)) for d in spec["_shape_only"]])
        if not root.get("config"):  # (a root from a declared model's config.json is one run's: not kept)
            _ROLE_VALUES[key] = cached
    return cached[1], cached[2]


def resized_words(fit: RootFit) -> str:
    """What the sizes a root misses softly may be: `a resized vocabulary`, `a widened input`, `another patch size`."""
    words = list(dict.fromkeys(w for d, w in _RESIZED.items() if d in fit.resized))
    return " or ".join(words) or "a resized embedding"


def side(value) -> str:
    """One side of a shape or role in evidence: `?` where the file does not give it or the role does not check it."""
    if isinstance(value, tuple):  # a role side of several sizes, any of them
        return "|".join(map(side, value))
    return "?" if value is None else str(value)


def shape_text(o, i, oexpr=None, iexpr=None) -> str:
    """`768x3072` for an observed shape; with the role's expressions, `768x3072 (hidden x ffn)`.

    >>> shape_text(None, 2560, None, "hidden")
    '?x2560 (? x hidden)'
    """
    text = f"{side(o)}x{side(i)}"
    return text if oexpr is None and iexpr is None else f"{text} ({side(oexpr)} x {side(iexpr)})"


def _unobserved(root: dict, fam: str, all_dims: set[int]) -> RootFit:
    """`_fit` where the file holds no layer of the family: it fits by sizes alone where every size of its family's
    `shape_only` dims is among the file's (`shape_only`), and is otherwise neither ruled out nor supported."""
    needed = _sizes_alone(fam).get(root["id"]) if not root.get("config") else None
    if needed is None:  # (a root from a declared model's config.json)
        needed = _role_values(root, families()["families"][fam])[1]
    return RootFit(root, shape_only=bool(needed) and all(v and all_dims.issuperset(v) for v in needed))


@cache
def _sizes_alone(fam: str) -> dict[str, list]:
    """{root id: the sizes of its family's `shape_only` dims} for the registry's roots of a family."""
    spec = families()["families"][fam]
    return {root["id"]: _role_values(root, spec)[1] for _, root in roots()["_by_family"].get(fam, [])}


def _fit(root: dict, fam: str, obs: list, idx: dict, all_dims: set[int], depth: bool = True) -> RootFit:
    spec = families()["families"][fam]
    dims = root["dims"]
    values, needed = _role_values(root, spec)
    roles = layout(fam)[0]
    fit = RootFit(root)
    attention = idx.get(ATTENTION)
    hybrid = dims.get(ATTENTION)
    if attention and hybrid and not attention[2] <= set(hybrid):  # attention where this root has none
        block = min(attention[2] - set(hybrid))
        fit.bad.append(f"attention in block {block}, where {root['id']} has none (its attention: {sorted(hybrid)})")
        return fit
    for n, o, i, key in obs:
        if o is None and i is None:  # a module whose shape the file does not give (bitsandbytes 4-bit) checks nothing
            continue
        _, oexpr, iexpr = roles[n]
        outs, ins = values[n]
        missing = [e for e, v in ((oexpr, outs), (iexpr, ins)) if e is not None and v is None]
        if missing:  # e.g. a second text encoder on a root that has none
            fit.bad.append(f"{key} needs {missing[0]}, which {root['id']} does not have")
            return fit  # ruled out: the first reason is the one said, the rest would go unread
        if outs is None and ins is None:
            continue
        good = (o is None or outs is None or o in outs) and (i is None or ins is None or i in ins)
        if not good and spec["_either"]:
            good = (i is None or outs is None or i in outs) and (o is None or ins is None or o in ins)
        soft = oexpr in _SOFT or iexpr in _SOFT
        widens = iexpr in _WIDENED
        if not good and widens:  # the same layer taking more input channels lowers the root; fewer rule it out
            soft = i is not None and bool(ins) and i > max(ins) and (o is None or outs is None or o in outs)
        if good:
            fit.ok += 1
            fit.soft *= 3.0 if soft or widens else 1.0  # an exact fit of a soft size outranks a widened one
            fit.passed.append((key, o, i, oexpr, iexpr))
        elif soft:
            fit.soft *= 0.3
            fit.soft_misses.append(f"{key} is {shape_text(o, i, oexpr, iexpr)}")
            fit.resized |= {oexpr, iexpr}
        else:
            want = shape_text(sorted(outs) if outs else None, sorted(ins) if ins else None, oexpr, iexpr)
            fit.bad.append(f"{key} is {shape_text(o, i)}, {root['id']} has {want}")
            return fit
    for dim, (v, key, blocks) in idx.items():
        if dim == ATTENTION:
            continue
        if hybrid and dim == "layers" and attention and blocks == attention[2] == set(hybrid):
            fit.exact_layers = True  # an adapter on this hybrid's every attention block and nothing else
            continue
        limits = [n for d in dim.split("|") if isinstance(n := dims.get(d), int)]  # `a|b`: a stack of either
        if limits and dim == EXPERTS:  # a mixture holds its every expert, which an adapter's targets match alike
            if v + 1 != max(limits):
                fit.bad.append(f"{key}: {v + 1} experts per layer, {root['id']} has {max(limits)} ({dim})")
                return fit
        elif limits:
            if v >= max(limits):
                fit.deeper = True
                if depth:  # (a passthrough merge stacks its models' blocks: deeper than any of them, by design)
                    fit.bad.append(f"{key} has block index {v}, {root['id']} has only {max(limits)} ({dim})")
            elif v + 1 in limits:
                fit.exact_layers = fit.exact_layers or _contiguous(blocks)  # (scattered blocks: not every block)
            else:  # an adapter may touch some blocks only; a full checkpoint holds all of its own
                fit.short.append(f"{v + 1} of {min(n for n in limits if n > v)} {dim}, e.g. {key}")
    if fit.short:  # every stack's count must match (ResNet-50's 6 blocks in its third stage are no ResNet-101's 23)
        fit.exact_layers = False
    if obs and not fit.ok and not fit.bad and all(o is None and i is None for _, o, i, _ in obs):
        fit.unsized = True  # named layers, no sizes: nothing rules the root out but its block count
    if not obs and not fit.bad:
        if needed and all(v and all_dims.issuperset(v) for v in needed):  # every listed size must appear
            fit.shape_only = True
    return fit


def name_families(
    orig: Mapping[str, str],
    evidence: list[str],
    keys: KeySet,
    declared: Collection[str] = (),
    full: bool = False,
    asides: list[tuple[list[str], str]] | None = None,
) -> list[str]:
    """Families the key names allow: the rule most keys support first, then those that agree with it. A family
    lacking a key it `expects` is dropped, if others remain, but for one of `declared` (the families the model's own
    metadata names) whose missing key is a saving convention, not a layer (a bare ElectraModel has no `electra.`);
    a key every full checkpoint of the family has (DINOv2's LayerScale), which an adapter need not touch, only
    where the model is one (`full`). Why families were dropped goes to `asides` where given, as (the families,
    the line), for the caller to place by whether any of their roots would fit (every LLaMA-style file drops CSM,
    whose prefixes it lacks, and most are no size of it); else to `evidence`."""

    def said_to(fams: list[str], line: str) -> None:
        if asides is None:
            evidence.append(line)
        else:
            asides.append((fams, line))

    fired = []
    rules = families()["_rules"]
    for n in families()["_rule_index"].possible(keys):  # (the few whose literals can occur in the names)
        pattern, fam_list, why, as_written, precedence = rules[n]
        hits = keys.matches(pattern)
        if as_written and hits:  # the key as the file spells it tells apart layouts normalising merges
            hits = {k for k in hits if as_written.search(orig[k])}
        if hits:
            fired.append((fam_list, why, len(hits), orig[min(hits)], precedence))
    # a rule contradicting the majority is a stray match; of two matching as many keys, the one of higher
    # `precedence`, then the narrower, is read first
    fired.sort(key=lambda f: (-f[2], -f[4], len(f[0])))
    cand: list[str] = []
    for fam_list, why, n, example, _ in fired:
        if cand and not set(cand) & set(fam_list):
            continue
        cand = [f for f in cand if f in fam_list] if cand else list(fam_list)
        evidence.append(f"names: {why} ({n} keys, e.g. {example})")
    if not cand:
        evidence.append("names: no known architecture pattern in the keys; shapes only")
    specs = families()["families"]
    lacking = {
        f: (what, kind)
        for f in cand
        for p, what, kind in specs[f]["_expects"]
        if (full or kind != "full") and not keys.matches(p)
    }
    kept = {f: what for f, (what, kind) in lacking.items() if kind == "convention" and f in declared}
    lacking = {f: v for f, v in lacking.items() if f not in kept}
    if kept:
        labels = ", ".join(family_label(f) for f in kept)
        evidence.append(f"names: no key of {next(iter(kept.values()))}; its metadata says {labels}, which keeps it")
    if lacking and len(lacking) < len(cand):  # a decoder-only model is no encoder-decoder (OPT is no Whisper)
        cand = [f for f in cand if f not in lacking]
        by_what: dict[tuple, list[str]] = {}
        for f, what_kind in lacking.items():
            by_what.setdefault(what_kind, []).append(family_label(f))
        which = {"convention": "which {} checkpoints are saved with", "full": "which every full {} checkpoint has"}
        said = "; ".join(
            f"no key of {what}, " + which.get(kind, "which every {} model has").format(", ".join(labels))
            for (what, kind), labels in by_what.items()
        )
        said_to(list(lacking), f"names: {said}")
    excluded = _excluded(cand, keys)
    if excluded:  # a layout no model of the family has (ViTDet's fused qkv beside DINOv2's MLP names)
        cand = [f for f in cand if f not in excluded]
        what, hits = next(iter(excluded.values()))
        labels = ", ".join(family_label(f) for f in excluded)
        said_to(list(excluded), f"names: {what} (e.g. {orig[min(hits)]}), which no {labels} model has")
    return cand


def _excluded(fams, keys: KeySet) -> dict:
    """{family: (what, keys)} of those among `fams` a key rules out: a layer no model of the family has."""
    specs = families()["families"]
    return {f: (what, hits) for f in fams for p, what in specs[f]["_excludes"] if (hits := keys.matches(p))}


def size_families(keys: KeySet, declared: Collection[str] = ()) -> list[str]:
    """The families sizes alone are tried against where no name rule placed one: all but those a key rules out (a
    diffusion transformer's `attn2` is no CogVideoX's, whatever its sizes) and those lacking a mark their models are
    saved with (`expects` of kind `convention`: ConvNeXt V2's `grn` or prefix), unless the model's own metadata names
    them: in a layout another family shares, sizes alone cannot tell them from it (a timm ConvNeXt LoRA on `mlp.fc1`
    read as ConvNeXt V2, whose three runs of each size outweighed ConvNeXt's two)."""
    specs = families()["families"]
    excluded = _excluded(specs, keys)
    unmarked = {
        f
        for f, spec in specs.items()
        if f not in declared and any(kind == "convention" and not keys.matches(p) for p, _, kind in spec["_expects"])
    }
    return [f for f in specs if f not in excluded and f not in unmarked]


def _renamed(fit: RootFit, root: dict) -> RootFit:
    """`fit` for another root of the same family and dims: the same checks, its own id in the reasons."""
    old, new = fit.root["id"], root["id"]
    return replace(
        fit,
        root=root,
        bad=[b.replace(old, new) for b in fit.bad],
        short=list(fit.short),
        soft_misses=list(fit.soft_misses),
        resized=set(fit.resized),
        passed=list(fit.passed),
    )


def fit_roots(
    cand_fams: list[str],
    norm: Mapping[str, Shape],
    orig: Mapping[str, str],
    keys: KeySet,
    full: bool = False,
    depth: bool = True,
) -> tuple:
    """Every registry root of those families tested against the shapes: (all fits, consistent fits). A `full`
    checkpoint holds every layer of its model, so a root whose family `requires` a layer it lacks does not fit.
    `depth=False` (a passthrough merge's blocks, stacked from its models') lets a stack deeper than a root's fit."""
    all_dims = {d for o, i in norm.values() for d in (o, i) if d}
    fits, obs, done = [], {}, {}
    dims_key = roots()["_dims_key"]
    by_family = roots()["_by_family"]
    for _, root in sorted(ir for fam in dict.fromkeys(cand_fams) for ir in by_family.get(fam, [])):  # registry order
        fam = root["family"]
        base = families()["families"][fam]["_base"]  # families with one layout (same_as) observe alike
        if base not in obs:
            obs[base] = _family_observations(fam, norm, orig, keys)
        seen, idx = obs[base]
        if not seen and not idx:  # none of the family's layers: as `_fit` finds, sizes alone may fit (most roots, for
            fits.append((fam, _unobserved(root, fam, all_dims)))  # a file whose names no rule knows)
            continue
        twin = done.get((fam, dims_key[root["id"]]))  # a root in another's dims (an instruct tune): its fit
        fit = _renamed(twin, root) if twin else _fit(root, fam, seen, idx, all_dims, depth)
        done.setdefault((fam, dims_key[root["id"]]), fit)
        fits.append((fam, fit))
    if full:
        for fam, fit in fits:
            _require_layers(fam, fit)
    ok = [(fam, f) for fam, f in fits if f.consistent]
    if any(not f.shape_only for _, f in ok):  # a root whose named roles fit beats roots that only share sizes
        ok = [(fam, f) for fam, f in ok if not f.shape_only]
    return fits, ok


def fit_root(root: dict, norm: Mapping[str, Shape], orig: Mapping[str, str], keys: KeySet) -> RootFit:
    """One root outside the registry (`tree.base_config`) tested against the shapes, as `fit_roots` tests each."""
    all_dims = {d for o, i in norm.values() for d in (o, i) if d}
    return _fit(root, root["family"], *_family_observations(root["family"], norm, orig, keys), all_dims)


def _require_layers(fam: str, fit: RootFit) -> None:
    """Rule `fit` out where its family `requires` a dim (families.json) that its root has and no layer of a full
    checkpoint had a role for: DINOv2 with registers holds its register tokens, which a plain DINOv2 of its shapes
    lacks; SD 3.5 Medium its second self-attention (`attn2`), which SD3 Medium, in its other shapes, lacks. A
    requirement `[dim, given]` holds only where a layer sized by `given` passed: a CLIP vision tower holds its
    position table (MLCD's rotary ViT-bigG has OpenCLIP bigG's every other shape), a CLIP text tower alone none."""
    for need in families()["families"][fam].get("requires", []):
        dim, given = (need, None) if isinstance(need, str) else need  # [dim, if a layer sized by this dim passed]
        if given and not any(given in (p[3], p[4]) for p in fit.passed):
            continue
        held = dim in fit.resized or any(dim in (p[3], p[4]) for p in fit.passed)  # (a resized table is held)
        if dim in fit.root["dims"] and fit.consistent and not held:
            fit.bad.append(f"a full checkpoint of {fit.root['id']} holds its {dim} layer; this one has none")


def telling(fit: RootFit, family: str) -> tuple:
    """The passed check that says most about the family: one using a dim only its roots have (Mixtral's experts'
    width, which its attention, Mistral 7B's, does not say), else its distinguishing dims."""
    key_dims = families()["families"][family]["_shape_only"]
    own = _own_dims(family)

    def score(p):
        _, _, _, oexpr, iexpr = p
        dims = [str(e).split("*")[-1] for e in (oexpr, iexpr)]
        s = sum(d in key_dims for d in dims)
        s += 2 * any(d == key_dims[-1] for d in dims) if key_dims else 0
        return (any(d in own for d in dims), s)

    return max(fit.passed, key=score)


@cache
def _own_dims(family: str) -> frozenset[str]:
    """The dims this family's roots have and few roots of other families of its layout have (at most one in ten:
    Mixtral's experts' width, which Mistral's and LLaMA's roots lack and Phi-3.5-MoE's few have; a family of a
    layout of its own has its every dim)."""
    specs = families()["families"]
    base = specs[family]["_base"]
    mine: set[str] = set()
    others: list[dict] = []
    for r in roots()["roots"]:
        if r["family"] == family:
            mine.update(r["dims"])
        elif specs[r["family"]]["_base"] == base:
            others.append(r["dims"])
    return frozenset(d for d in mine if sum(d in o for o in others) <= len(others) / 10)

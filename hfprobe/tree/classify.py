"""Which tree a model belongs to: its architecture family, the foundation model (root) it descends
from, what its metadata claims, and where the two disagree.

Weights first, metadata second. The family and the root are read from tensor names and shapes
(`hfprobe/data/families.json` says which names and shapes mean what; `hfprobe/data/roots.json` lists
known roots with their published hyperparameters). Declared metadata (adapter_config.json, the model
card, kohya/modelspec header fields, config.json) only ranks roots the weights already allow, picks a
family when the weights cannot, and is reported as a conflict when it contradicts them. This module
chooses the family and ranks the roots; how each root fits the shapes is `fit.py`, the conflicts and the
card's base_model decision are `decide.py`.

Everything here is a pure function over shapes and strings, so it works without reading tensor bytes:

>>> r = classify({"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)})
>>> r.family, r.root
('sd1', 'stable-diffusion-v1-5/stable-diffusion-v1-5')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from .base_config import configs_checked
from .decide import base_model_decision, claim_conflicts, conflict_code, unknown_claims
from .declared import Claim, declared_claims, foreign_model_type, names_itself
from .fit import RootFit, fit_roots, name_families, resized_words, shape_text, side, size_families, telling
from .keymatch import KeySet
from .merge import merge_recipe, merged_decision
from .mixture import dense_view
from .names import Shape, normalize_keys
from .registry import families, family_label, layout, roots

__all__ = ["TreeResult", "classify"]


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
    merge: dict | None = None  # the merge recipe among the texts (`tree.merge.merge_recipe`), if any

    def root_dict(self) -> dict:
        return {
            "id": self.root,
            "confidence": self.confidence,
            "candidates": self.candidates,
            "evidence": self.evidence,
        }


def classify(
    shapes: Mapping[str, Shape],
    *,
    names: Iterable[str] = (),
    metadata: Mapping | None = None,
    config: Mapping | None = None,
    texts: Mapping[str, str] | None = None,
    quantized: Mapping | None = None,
    params: Mapping[str, int] | None = None,
    model_config: Mapping | None = None,
    base_config: Callable[[str], Mapping | None] | None = None,
    base_card: Callable[[str], str | None] | None = None,
    own: str | None = None,
) -> TreeResult:
    """Family, root candidates, declared claims and conflicts for one model.

    `shapes` maps module names (canonical or raw key names) to (d_out, d_in), either side None when
    unknown; `names` are extra raw key names for the name rules; `metadata`, `config`, `texts` as in
    `declared_claims`; `quantized` ({method, bits}) marks a quantized checkpoint, which the weights alone do not
    name a base_model for (see `base_model_decision`); `params` (tensor or module name -> element count, for a
    full checkpoint) lets the weights alone name a root only where the family's layers hold enough of them;
    `model_config` is config.json where `config` is the adapter_config.json beside it; `base_config(repo_id)` gives
    the config.json of a declared model the registry lacks, or None (`tree.base_config`: its sizes check it), and
    `base_card(repo_id)` its model card, or None (its `base_model` says what it was fine-tuned from); `own` is the
    Hub repo read, which is never its own base (a registry root's repo, a config saved from the repo itself).

    >>> r = classify({"model.layers.0.self_attn.q_proj": (896, 896), "model.layers.0.self_attn.v_proj": (128, 896)})
    >>> r.family, [c["id"] for c in r.candidates][:2]
    ('qwen2', ['Qwen/Qwen2.5-0.5B-Instruct', 'Qwen/Qwen2.5-0.5B'])
    """
    names = list(names)
    result = _classify(shapes, names=names, metadata=metadata, config=config, texts=texts, quantized=quantized,
                       params=params, model_config=model_config, base_config=base_config, base_card=base_card,
                       own=own)  # fmt: skip
    view = dense_view([*shapes, *names], shapes)
    built = bool(result.merge) and result.merge["tool"] == "mergekit-moe"  # (from dense models, its recipe says)
    if view is None or (result.root is not None and not built):
        return result
    dense = _classify(
        {view.names[k]: v for k, v in shapes.items() if k in view.names},
        names=[view.names[n] for n in names if n in view.names],
        metadata=metadata,
        config=config,
        texts=texts,
        quantized=quantized,
        params={view.names[k]: n for k, n in params.items() if k in view.names} if params is not None else None,
        model_config=model_config,
        base_config=base_config,
        base_card=base_card,
        own=own,
        mixture=(result.family, view.from_experts),
    )
    if dense is None:  # no dense root fits its experts
        return result
    if built:
        why = f"{result.merge['source']} builds it from dense models"
    else:
        why = f"no {family_label(result.family) + ' ' if result.family else ''}root fits it"
    dense.evidence.insert(
        0,
        f"a mixture of {view.experts or 'several'} experts per layer (e.g. {view.example}), each shaped as one dense "
        f"MLP; {why}: read by its first expert as the dense model it was built from",
    )
    return dense


def _classify(
    shapes: Mapping[str, Shape],
    *,
    names: Iterable[str] = (),
    metadata: Mapping | None = None,
    config: Mapping | None = None,
    texts: Mapping[str, str] | None = None,
    quantized: Mapping | None = None,
    params: Mapping[str, int] | None = None,
    model_config: Mapping | None = None,
    base_config: Callable[[str], Mapping | None] | None = None,
    base_card: Callable[[str], str | None] | None = None,
    own: str | None = None,
    mixture: tuple[str | None, frozenset[str]] | None = None,
) -> TreeResult | None:
    """`classify`; or a mixture's dense view (`tree.mixture`) where `mixture` is (the mixture's family, the names read
    from its experts): the metadata's word for that family (config.json `model_type: mixtral`) agrees with it, the
    weights alone name no base model (which of the tree's models it was built from, its shapes do not say), and
    where the leading root's checks pass no layer read from an expert, None (the experts fit no dense model: an
    attention alone places no mixture)."""
    norm: dict[str, Shape] = {}
    orig: dict[str, str] = {}
    shape_norm = normalize_keys(list(shapes))
    for n, (k, v) in zip(shape_norm, shapes.items()):
        norm[n], orig[n] = tuple(v), k
    names = list(names)
    name_norm = normalize_keys(names)
    for n, k in zip(name_norm, names):
        orig.setdefault(n, k)
    declared, claims = declared_claims(metadata, config, texts, model_config, own=own)
    if mixture:  # the mixture's architecture (config.json model_type: mixtral), which its dense view agrees with
        claims = [c for c in claims if not (c.root is None and c.family == mixture[0])]
    evidence: list[str] = []
    names_set = KeySet(orig)  # each registry pattern runs once over all names, and only where its literal occurs
    normalized = {**dict(zip(shapes, shape_norm)), **dict(zip(names, name_norm))} if params else {}
    towers = _towers(orig, norm, names_set, evidence)  # 0. a multimodal model is read by its language model
    if towers:
        norm = {n: v for n, v in norm.items() if n not in towers}
        orig = {n: k for n, k in orig.items() if n not in towers}
        names_set = KeySet(orig)
        params = {k: n for k, n in params.items() if normalized.get(k, k) not in towers} if params else params
    shape_set = KeySet(norm, present=names_set.present)

    cand_fams = name_families(orig, evidence, names_set)  # 1. names narrow the family
    from_names = bool(cand_fams)
    recipe = merge_recipe(texts or {}, metadata)
    stacked = bool(recipe) and recipe["method"] == "passthrough"  # its models' blocks, restacked: depth says nothing
    if stacked:
        evidence.append(f"{recipe['source']}: a passthrough merge stacks its models' blocks; depth checks no root")
    fams = cand_fams or size_families(names_set)
    fits, ok = fit_roots(fams, norm, orig, shape_set, params is not None, depth=not stacked)  # 2.
    if base_config is not None:  # a declared model the registry lacks: checked by its configs, traced by its card
        claims = configs_checked(claims, (base_config, base_card), fits, ok, norm, orig, shape_set, evidence)
    claims = _name_guesses_checked(claims, fits, evidence)
    claims = _name_words_checked(claims, cand_fams, evidence)
    family, by_claim = _choose_family(ok, cand_fams, from_names, claims, evidence)  # 3. metadata second
    # a merged model the registry lacks is most often a fine-tune, never the foundation its tree grows from
    merged = set(recipe["models"]) if recipe else set()
    ranked = [c for c in claims if c.root is not None or c.value.strip() not in merged]
    cands, pool, family, family_conf = _rank_roots(
        ok, family, by_claim, from_names, ranked, evidence, params is not None, shared=len(set(cand_fams)) != 1
    )
    root = cands[0]["id"] if cands else None
    top = next((f for f in pool if f.root["id"] == root), None)
    if mixture and (top is None or not any(p[0] in mixture[1] for p in top.passed)):
        return None
    coverage = None
    # a diffusion LoRA most often adapts attention alone, whatever else its model has: its share says nothing;
    # but one whose only fitting layers are a text encoder's (SAM 3's CLIP tower beside its own layers) is no
    # denoiser's LoRA, and its share is weighed as any adapter's
    diffusion = family is not None and families()["families"][family]["kind"] == "diffusion"
    if diffusion and top is not None and top.passed and all(_TEXT_TOWER & {p[3], p[4]} for p in top.passed):
        diffusion = False
    if family and (params or not diffusion):  # a full checkpoint's parameters, or an adapter's d_out x d_in
        if params:  # (every name in params is a shape's or a name's, normalized above)
            share, coverage = _coverage(family, params, normalized, names_set, evidence)  # (before the ruled-out roots)
        else:
            sizes = {orig[k]: (o or 1) * (i or 1) for k, (o, i) in norm.items()}  # (by the names the file gives)
            share, _ = _coverage(family, sizes, {orig[k]: k for k in norm}, shape_set, evidence, what="adapted weights")
        if share < FAMILY_COVERAGE and family_conf:
            # most of the model is layers the family does not have: another architecture that shares its layer
            # names (a CLIP vision tower's attention is Whisper's encoder's) or one that adds to it (a mixture's
            # experts): the family is no surer than shapes alone make it
            capped = min(family_conf, SHAPES_ONLY_FAMILY)
            cands = [dict(c, score=round(c["score"] * capped / family_conf, 3)) for c in cands]
            family_conf = capped
    _explain(top, pool, fits, family, norm, evidence)  # 5. what fits, ties, was ruled out
    # (a mixture's model_type is its mixture's architecture, which its dense view is not: `qwen2_moe`)
    foreign = None if mixture else foreign_model_type(config) or foreign_model_type(model_config)
    if foreign and family:  # the names and sizes fit a known family, but the model says it is another
        family_conf = min(family_conf, SHAPES_ONLY_FAMILY)
        cands = [dict(c, score=min(c["score"], SHAPES_ONLY_FAMILY)) for c in cands]
        evidence.append(f"{foreign}, an architecture the registry has no roots for")
    unknown = unknown_claims(claims, family, pool, fits)
    other = unknown.excused
    if other:  # metadata names a model of another family the names allow, with shapes the registry lacks
        family_conf = min(family_conf, SHAPES_ONLY_FAMILY)
        cands = [dict(c, score=min(c["score"], SHAPES_ONLY_FAMILY)) for c in cands]
        evidence.append(
            f"{other[0].source} names {other[0].value}, a {family_label(other[0].family)} model whose shapes the "
            f"registry lacks: these sizes fit {family_label(family)} roots, which does not rule it out"
        )
    decision = base_model_decision(
        claims, cands, pool, family, quantized=bool(quantized), coverage=coverage, foreign=foreign, unknown=unknown
    )
    if mixture and decision["status"] == "weights":
        decision = dict(
            decision,
            id=None,
            status="unknown",
            reason=f"a mixture of experts built from models of {decision['root']}'s tree: which ones, the weights "
            "do not say",
        )
    coded = claim_conflicts(claims, family, pool, fits, top, unknown)
    if recipe and params is not None and not quantized:  # a merged checkpoint's card names the models it merged
        decision = merged_decision(decision, recipe, {f.root["id"] for f in pool}, base_card)
    merged_out = bool(recipe) and decision["status"] == "contradicted" and decision["source"] == recipe["source"]
    if merged_out:  # the recipe merges a model the weights rule out
        coded.append((conflict_code(recipe["source"], "shapes"), decision["reason"]))
    conflicts = [sentence for _, sentence in coded]
    structured = [c for c in claims if c.strength == "declared"]
    if (structured or merged_out) and family:  # one word for readers (cards): does what the metadata declares fit?
        ids = {c["id"] for c in cands}
        if merged_out or any(c.source in x for c in structured for x in conflicts):
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
        _not_itself(decision, own),
        recipe,
    )


def _not_itself(decision: dict, own: str | None) -> dict:
    """The decision, unless it names the repo read: a registry root's own repo, which its weights fit alone; a
    merge's list without the repo itself (a merge of two of its own revisions)."""
    merged = decision.get("merged")
    if merged and own and any(names_itself(m, own) for m in merged):
        rest = [m for m in merged if not names_itself(m, own)]
        decision = {k: v for k, v in decision.items() if k != "merged"} | ({"merged": rest} if rest else {})
    if not decision["id"] or not names_itself(decision["id"], own):
        return decision
    return dict(
        decision,
        id=None,
        status="unknown",
        reason=f"{decision['id']} is this repo itself (a root's own repo, or a copy saved from it): no model is its "
        "own base",
    )


_TEXT_TOWER = {"te_hidden", "te2_hidden"}  # the dims a diffusion family sizes its text encoders' layers by
_TOWER_KINDS = ("vision", "vision-text", "diffusion")  # families whose models are towers, or have one as their own


def _towers(orig: Mapping[str, str], modules: Mapping[str, Shape], names: KeySet, evidence: list[str]) -> set[str]:
    """The normalized keys of a multimodal model's vision or audio tower and projector (families.json `towers`),
    where the rest of its keys' names place a language model (no vision family): its tree is that model's, whose
    roles the tower's layers would otherwise be sized against (Qwen2.5-VL's vision MLP is `gate_proj`, LLaVA's CLIP
    tower's attention `self_attn.q_proj`, neither at its decoder's sizes). Else an empty set, and always where every
    module is the tower's."""
    pattern = families()["_towers"]
    hits = names.matches(pattern)
    # a tower alone is itself: CLIP's or SigLIP's saved bare by transformers 5 is named twice, as saved and under
    # `vision_model.`, and what is left beside it once both are set aside is no language model
    twins = {pattern.compiled.sub("", n, count=1) for n in hits if n in modules}
    kept = {n: k for n, k in orig.items() if n not in hits and n not in twins}
    if not hits or not kept:
        return set()
    kinds = families()["families"]
    for keys, keyset in ((orig, names), (kept, KeySet(kept))):  # the whole and the rest each read as a decoder's:
        fams = name_families(keys, [], keyset)  # a two-tower model (CLIP, BLIP, Chinese-CLIP) is one of its own
        if not fams or any(kinds[f]["kind"] in _TOWER_KINDS for f in fams):
            return set()
    example = orig[min(hits, key=lambda n: ("projector" in n or "connector" in n, n))]  # a tower's key, if any
    evidence.append(
        f"names: {len(hits)} keys of a vision or audio tower (e.g. {example}) set aside: the tree is its language "
        "model's"
    )
    return set(hits)


def _name_guesses_checked(claims: list[Claim], fits: list, evidence: list[str]) -> list[Claim]:
    """Claims whose root is only a guess from the repo name (`Claim.by_name`) keep it unless the weights fit that
    root's layers but not its vocabulary: then the id is another model of that name, still a claim of its family
    but with no root (`klue/roberta-base` is not FacebookAI/roberta-base, whose name it shares: its vocabulary is
    Korean, 32,000 tokens). Layers that do not fit stay a conflict: the name says what the weights are not."""
    by_id = {f.root["id"]: f for _, f in fits}
    out = []
    for c in claims:
        fit = by_id.get(c.root) if c.by_name else None
        if fit is not None and fit.consistent and fit.soft_misses:
            evidence.append(
                f"{c.source} names {c.value}: by its name {c.root}, but not its sizes ({fit.soft_misses[0]}), so "
                "another model of that name"
            )
            c = replace(c, root=None, by_name=False)
        out.append(c)
    return out


# what a family's models read or make (`_name_words_checked`)
_MODALITIES = {"text": {"text"}, "vision-text": {"image", "text"}, "vision": {"image"}, "speech": {"audio"}}


def _name_words_checked(claims: list[Claim], placed: list[str], evidence: list[str]) -> list[Claim]:
    """A Hub id the registry lacks, read as a family by a word in its name (a name hint), that also holds the name
    of the family the layer names place the weights in, a family of a disjoint modality, is read by the weights:
    `SZTAKI-HLT/hubert-base-cc` on a BERT's layers holds "hubert", the speech model, and "bert", and is the
    Hungarian BERT. The claim keeps no family: an id the registry cannot check (no `base_model` is written), not
    a conflict. An id that holds no such word (`org/whisper-tiny-ft` on a BERT's layers) stays a conflict."""
    specs = families()["families"]

    def modality(fam: str) -> set[str]:
        kind = specs[fam]["kind"]
        return _MODALITIES.get(kind, {kind})

    out = []
    for c in claims:
        if c.strength == "declared" and c.level == "model" and c.root is None and c.via is None and c.family:
            named = [f for f in placed if f.split("_")[0] in c.value.lower()]
            if named and c.family not in placed and not modality(c.family) & modality(named[0]):
                evidence.append(
                    f"{c.source} names {c.value}: a {family_label(c.family)} ({specs[c.family]['kind']}) by a word "
                    f"in its name, which also names {family_label(named[0])} ({specs[named[0]]['kind']}), as the "
                    "layer names do: read by the weights"
                )
                c = replace(c, family=None)
        out.append(c)
    return out


SHAPES_ONLY_FAMILY = 0.5  # the most a family may be trusted when no key name placed it
_LINEAGE = {"patch"}  # soft sizes (fit._SOFT) no tune changes: where every fitting root misses one, so does the family
SIZES_AND_DECLARED = 0.8  # ... unless only its roots fit the sizes, and metadata names one that fits them all
# a root a model's own config declares (adapter_config.json, a card's base_model, a training config) and the weights
# allow: at least this sure. On the realzoo, 19 of 19 such declarations are the true base (Wilson's 95% lower bound
# 0.83; benchmarks/bench_base_model.py); look-alikes the weights cannot tell from it (cased and uncased BERT) share
# the rest with unknown roots
DECLARED_ROOT = 0.8
# the one root prose names (a Hub id or a checkpoint name in the README) where nothing structured names one, and the
# weights allow: at least this sure, below a declaration (prose may name a model it is not built on). On the
# realzoo 11 of 11 such mentions are the true base (18 of 18 with their training scripts; Wilson's 95% lower bounds
# 0.74 and 0.82); without the floor the score fell with the look-alikes the registry holds (SD 1.5 inpainting 0.54)
MENTIONED_ROOT = 0.7
FAMILY_COVERAGE = 0.5  # ... and the most where less than this share of a model (`_coverage`) is in the family's layers


def _coverage(
    family: str,
    params: Mapping[str, int],
    normalized: Mapping[str, str],
    names: KeySet,
    evidence: list[str],
    what: str = "parameters",
) -> tuple[float, float]:
    """(the share of a checkpoint's parameters, its embedding tables left out, in layers the family has; the share
    in layers whose sizes its roots check). A family has the layers its roles size and those its checkpoints have
    unsized (gpt-oss's experts: 98% of it, so its weights alone name no root). Phi-3.5-MoE read as Mistral: 3%, its
    experts being nothing a Mistral has; a CLIP vision tower read as Whisper: 32%, its MLP being `mlp.fc1`; a dense
    Llama: 98%. A diffusion family's roles size its attention and embedders and its other layers are unsized (resnets,
    feed-forwards, modulations; a single-file checkpoint's VAE and text encoders): an SD 1.5 checkpoint is 100% its
    family's and 9% checked, by design, which is not said; AuraFlow read as HunyuanVideo (before it had a family of
    its own): 56%, its feed-forwards named otherwise. `normalized` gives each name's normalized form, `names` the
    KeySet over them that classify built."""
    spec = families()
    tables = names.matches(spec["_embedding_tables"])
    params = {k: n for k, n in params.items() if normalized.get(k, k) not in tables}
    sized = set().union(*(names.matches(kp) for kp, _, _ in layout(family)[0]))
    unsized = set().union(*(names.matches(kp) for kp in spec["families"][family]["_unsized"])) - sized
    total = sum(params.values()) or 1
    known = sized | unsized  # (once: built per key, it made a 37,000-key header take seconds)
    unknown = {k: n for k, n in params.items() if normalized.get(k, k) not in known}
    unchecked = {k: n for k, n in params.items() if normalized.get(k, k) in unsized}
    share = 1 - sum(unknown.values()) / total
    checked = share - sum(unchecked.values()) / total
    label = family_label(family)
    if share < FAMILY_COVERAGE:
        biggest = max(unknown, key=unknown.get, default=None)
        evidence.append(
            f"names: {share:.0%} of the {what} are in layers {label} roots have"
            + (f"; the rest is unlike them (e.g. {biggest})" if biggest else "")
        )
    elif checked < FAMILY_COVERAGE and spec["families"][family]["kind"] != "diffusion":
        biggest = max(unchecked, key=unchecked.get)
        evidence.append(
            f"names: {share:.0%} of the {what} are in layers {label} roots have, {share - checked:.0%} in "
            f"layers whose sizes the registry does not check (e.g. {biggest})"
        )
    return share, checked


# an adapter adapts every block of its model far more often than some (peft's default targets every layer): each
# of the realzoo's 37 adapters whose keys count blocks touches all of its true base's (at most 8% touch fewer, by the
# rule of three), so a root whose block count the adapter's matches is at least ten times likelier than one with
# more blocks. A full checkpoint holds every block of its own: a root with more counts less (`_weight`)
EXACT_BLOCKS_ADAPTER, EXACT_BLOCKS_FULL = 10.0, 3.0


def _weight(f: RootFit, claims: list[Claim], full: bool = False) -> float:
    """Weights-side likelihood of a root: prior x embedding-size fit x exact layer count (x2 if prose names it);
    for a full checkpoint, which holds every block of its own, a root with more blocks than it counts less."""
    exact = (EXACT_BLOCKS_FULL if full else EXACT_BLOCKS_ADAPTER) if f.exact_layers else 1.0
    w = f.root.get("prior", 1.0) * f.soft * exact * (0.3 if full and f.short else 1.0)
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
    weak = all(f.weak for _, f in ok)
    if ok_fams and from_names and all(f.unsized for _, f in ok):  # names, no sizes: the names' order decides
        fams = [f for f in cand_fams if f in ok_fams] or ok_fams
        fam, c = _claim_family(claims, fams)
        evidence.append(
            f"the file gives no sizes; family {fam or fams[0]} from "
            + (f"{c.source}: {c.value}" if fam else "the key names")
        )
        return fam or fams[0], bool(fam)
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


def _named_root(value: str, pool: list) -> str | None:
    """The root among `pool`'s fits whose repo name (less a `-hf` suffix) a declared model's name carries, token for
    token: `Nous-Hermes-llama-2-7b` carries `Llama-2-7b-hf`'s, so it is a fine-tune of that root."""
    name = value.rsplit("/", 1)[-1].lower()
    for f in pool:
        repo = f.root["id"].rsplit("/", 1)[-1].lower().removesuffix("-hf")
        if len(repo) >= 6 and re.search(rf"(?<![a-z0-9]){re.escape(repo)}(?![a-z0-9])", name):
            return f.root["id"]
    return None


def _rank_roots(
    ok: list,
    family: str | None,
    by_claim: bool,
    from_names: bool,
    claims: list[Claim],
    evidence: list[str],
    full: bool = False,
    shared: bool = True,
) -> tuple[list[dict], list[RootFit], str | None, float]:
    """Scored candidates (summing to at most 1), the fits behind them, the family, its confidence. `shared`: the
    names allowed several families (or none), so sizes chose this one.

    Where no name rule placed the family, its role patterns (`self_attn_q_proj`, `attention_self_query`) are
    shared by architectures the registry does not know (an OPT adapter fits LLaMA's roles and sizes), so the
    family is at most SHAPES_ONLY_FAMILY sure, and its roots no surer than that."""
    weak = all(f.weak for _, f in ok)
    # every root the weights allow, other families too, unless only sizes matched
    pool = [f for fam, f in ok if fam == family or (not weak and family is not None)]
    weights = {f.root["id"]: _weight(f, claims, full) for f in pool}
    fam_of = {f.root["id"]: f.root["family"] for f in pool}
    if by_claim:  # metadata chose among families the weights allow: its family gets most of the mass, and its
        # best root leads (where the mass is spread over many look-alikes, as opus-mt's language pairs)
        mine = sum(v for k, v in weights.items() if fam_of[k] == family)
        rest = sum(weights.values()) - mine
        best_mine = max((v for k, v in weights.items() if fam_of[k] == family), default=0.0)
        best_rest = max((v for k, v in weights.items() if fam_of[k] != family), default=0.0)
        boost = max(1.5 * rest / mine, 1.5 * best_rest / best_mine, 1.0) if mine and rest else 1.0
        weights = {k: v * boost if fam_of[k] == family else v for k, v in weights.items()}
    # a declared root the weights allow outranks its look-alikes (at least 60% of the known mass)
    declared = list(dict.fromkeys(c.root for c in claims if c.strength == "declared" and c.root in weights))
    for rid in declared:
        others = sum(v for k, v in weights.items() if k != rid)
        weights[rid] = max(weights[rid] * 4.0, 1.5 * others)
    # with nothing structured naming a root, prose that names exactly one the weights allow decides `base_model`
    # (tree/decide.py), so it leads the candidates too: the report and the card name one root
    structured = any(c.strength == "declared" and (c.root or "/" in c.value) for c in claims)
    mentioned = list(dict.fromkeys(c.root for c in claims if c.strength == "text" and c.root in weights))
    if not structured and len(mentioned) == 1:
        rid = mentioned[0]
        weights[rid] = max(weights[rid], 1.5 * sum(v for k, v in weights.items() if k != rid))
    for c in [
        c
        for c in claims
        if c.strength == "declared"
        and c.level == "model"
        and c.root is None
        and c.family == family
        and c.family is not None
        and c.via is None  # (one checked by its config.json in a registry root's sizes: those roots rank)
        and ("/" in c.value or c.value.lower() in roots()["_legacy"])  # a Hub id, not a local folder's name
    ][:1]:
        fine_tune_of = _named_root(c.value, pool)
        if fine_tune_of:  # `NousResearch/Nous-Hermes-llama-2-7b`: a fine-tune of a root that fits; that root leads
            weights[c.value] = max(weights.values(), default=1.0)
            evidence.append(
                f"{c.source} names {c.value}, not in the registry: by its name a fine-tune of {fine_tune_of}"
            )
        else:
            # a foundation model the registry lacks (dbmdz/bert-base-german-cased on BERT-base weights): the family
            # agrees and nothing rules it out, so it leads its look-alikes as a mention does (60% of the known mass)
            weights[c.value] = max(max(weights.values(), default=1.0), 1.5 * sum(weights.values()))
            evidence.append(f"{c.source} names {c.value}, not in the registry: the family agrees, shapes unchecked")
    total = sum(weights.values())
    # mass kept back for roots the registry does not know, larger when the match rests on less
    best_ok = max((f.ok for f in pool), default=0)
    unknown = 0.4 if (not pool or all(f.weak for f in pool)) else (0.1 if best_ok >= 2 else 0.25)
    cands = (  # (look-alike roots of two families tie: the family the weights chose leads)
        sorted(
            ({"id": k, "score": round(v / total * (1 - unknown), 3)} for k, v in weights.items()),
            key=lambda c: (-c["score"], fam_of.get(c["id"], family) != family),
        )[:5]
        if total
        else []
    )
    # how likely a consistent declaration (or the one mention) is right does not depend on how many look-alikes the
    # registry holds
    named, floor = (declared[0], DECLARED_ROOT) if declared else (None, 0.0)
    if not declared and not structured and len(mentioned) == 1:
        named, floor = mentioned[0], MENTIONED_ROOT
    if named and cands and cands[0]["id"] == named and cands[0]["score"] < floor:
        scale = (1 - floor) / (1 - cands[0]["score"])
        cands = [dict(cands[0], score=floor)] + [dict(c, score=round(c["score"] * scale, 3)) for c in cands[1:]]
    if cands and fam_of.get(cands[0]["id"], family) != family:  # a declared root picks between look-alike families
        family = fam_of[cands[0]["id"]]
    fam_weight: dict[str, float] = {}
    for fam, f in ok:
        fam_weight[fam] = fam_weight.get(fam, 0.0) + _weight(f, claims, full)
    family_conf = round(fam_weight.get(family, 0.0) / (sum(fam_weight.values()) or 1.0), 3) if family else 0.0
    if family and (not ok or (weak and len(fam_weight) > 1)):
        family_conf = 0.5 if family in {c.family for c in claims if c.strength == "declared"} else 0.3
    elif by_claim:
        named = {f.root["id"] for f in pool if f.root["family"] == family and not f.soft_misses}
        declared_root = any(c.strength == "declared" and c.root in named for c in claims)
        # names allow the family, its sizes fit, and the metadata names one of its roots they fit: three agree
        family_conf = max(family_conf, SIZES_AND_DECLARED if declared_root and from_names and not weak else 0.6)
    if family and (weak or not from_names):  # names allowed several families; sizes alone chose this one
        family_conf = min(family_conf, SHAPES_ONLY_FAMILY)
        fits = {f.root["id"] for f in pool if f.root["family"] == family and not f.soft_misses}
        sizes_pick = all(fam == family for fam, _ in ok)  # no known root of another family fits these sizes
        # two sources agree: the metadata names one of its roots that fits, or its config names the architecture
        # (`_class_name`, `model_type`: the class the library builds) and only that architecture's roots fit
        if sizes_pick and any(
            c.strength == "declared" and (c.root in fits or (c.level == "family" and c.family == family))
            for c in claims
        ):
            family_conf = SIZES_AND_DECLARED
    lineage = [f for _, f in ok if _LINEAGE & f.resized]
    if family and ok and len(lineage) == len(ok) and family_conf > SHAPES_ONLY_FAMILY:
        # no known root of any family has this patch size, which no tune changes: a model the registry lacks, that
        # the rest of its names and sizes only resemble (DINOv3's 16-pixel patches and registers are no DINOv2's)
        cands = [dict(c, score=round(c["score"] * SHAPES_ONLY_FAMILY / family_conf, 3)) for c in cands]
        family_conf = SHAPES_ONLY_FAMILY
        misses = lineage[0].soft_misses
        miss = next((m for m in misses if any(f"({d} x" in m or f"x {d})" in m for d in _LINEAGE)), misses[0])
        evidence.append(f"shapes: no known root has its patch size ({miss})")
    if (weak or not from_names) and family_conf < 1:  # a root can be no surer than the family it was picked from
        cands = [dict(c, score=round(c["score"] * family_conf, 3)) for c in cands]
    mine = [f for fam, f in ok if fam == family]
    vouched = any(  # metadata naming one of its roots, or its architecture, vouches for an adapter on some blocks
        c.strength == "declared" and (c.root in {f.root["id"] for f in mine} or c.family == family) for c in claims
    )
    if (
        not full
        and shared  # (a family its names alone place keeps its confidence: ModernBERT's `attn.Wqkv`)
        and not vouched
        and mine
        and all(f.short and not f.exact_layers for f in mine)
        and families()["families"][family]["kind"] != "diffusion"  # (a diffusion LoRA often adapts some blocks)
        and family_conf > SHAPES_ONLY_FAMILY
    ):
        # every root of the family that fits has more blocks than the adapter touches: a model the registry lacks,
        # in these widths and this depth, is likelier than an adapter that skipped blocks (EXACT_BLOCKS_ADAPTER)
        cands = [dict(c, score=round(c["score"] * SHAPES_ONLY_FAMILY / family_conf, 3)) for c in cands]
        family_conf = SHAPES_ONLY_FAMILY
        evidence.append(f"shapes: fit only roots with more blocks than the adapter touches ({mine[0].short[0]})")
    return cands, pool, family, family_conf


def _explain(
    top: RootFit | None, pool: list[RootFit], fits: list, family: str | None, norm: Mapping, evidence: list[str]
) -> None:
    if top is not None:
        root = top.root["id"]
        best = [telling(top, family)] if top.passed else []
        for key, o, i, oexpr, iexpr in best + [p for p in top.passed[:1] if p not in best]:
            evidence.append(f"shapes: {key} is {shape_text(o, i)}, fits {side(oexpr)} x {side(iexpr)} of {root}")
        if top.soft_misses:
            keeps = "" if _LINEAGE & top.resized else ", which keeps the lineage"
            evidence.append(f"shapes: {top.soft_misses[0]}, unlike {root}: {resized_words(top)}{keeps}")
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
    nearest = sorted((f for fam, f in fits if fam == family and f.bad), key=lambda f: -f.ok)  # closest misses first
    for f in nearest[:3]:
        evidence.append(f"ruled out {f.root['id']}: {f.bad[0]}")

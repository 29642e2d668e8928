"""Which tree a model belongs to: its architecture family, the foundation model (root) it descends
from, what its metadata claims, and where the two disagree.

Weights first, metadata second. The family and the root are read from tensor names and shapes
(`hfprobe/data/families.json` says which names and shapes mean what; `hfprobe/data/roots.json` lists
known roots with their published hyperparameters). Declared metadata (adapter_config.json, the model
card, kohya/modelspec header fields, config.json) only ranks roots the weights already allow, picks a
family when the weights cannot, and is reported as a conflict when it contradicts them. This module
puts the steps together; how each root fits the shapes is `fit.py`, how sure each family and root is `rank.py`,
the conflicts and the card's base_model decision `decide.py`.

Everything here is a pure function over shapes and strings, so it works without reading tensor bytes:

>>> r = classify({"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)})
>>> r.family, r.root
('sd1', 'stable-diffusion-v1-5/stable-diffusion-v1-5')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .base_config import configs_checked
from .claim_checks import (
    architecture_declared,
    deeper_stacks,
    mixture_names_checked,
    name_guesses_checked,
    name_words_checked,
    other_family_named,
    timm_guess,
    timm_names_checked,
)
from .decide import base_model_decision, claim_conflicts, conflict_code, unknown_claims
from .declared import declared_claims, foreign_model_type, foreign_prefix
from .fit import RootFit, fit_roots, name_families, resized_words, shape_text, side, size_families, telling
from .keymatch import KeySet
from .merge import merge_recipe, merged_decision
from .mixture import dense_view
from .names import Shape, normalize_keys
from .naming import names_itself
from .rank import FAMILY_COVERAGE, LINEAGE_SIZES, SHAPES_ONLY_FAMILY, SHOWN, choose_family, family_share, rank_roots
from .registry import families, family_label

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
    loose: bool = False  # the leading root fits but for an embedding's size (a resized vocabulary) or its depth

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

    A full checkpoint of a mixture of experts is read a second time as the dense model its experts were taken from
    (`tree.mixture`), and that reading is the answer where its recipe says so (mergekit-moe), where no root fits
    the mixture, where it leaves fewer conflicts with the metadata, or where it fits every size and the mixture's
    root only with a resized embedding or more blocks than it has.

    >>> r = classify({"model.layers.0.self_attn.q_proj": (896, 896), "model.layers.0.self_attn.v_proj": (128, 896)})
    >>> r.family, [c["id"] for c in r.candidates][:2]
    ('qwen2', ['Qwen/Qwen2.5-0.5B-Instruct', 'Qwen/Qwen2.5-0.5B'])
    """
    names = list(names)
    given = dict(metadata=metadata, config=config, texts=texts, quantized=quantized, model_config=model_config,
                 base_config=base_config, base_card=base_card, own=own)  # fmt: skip
    result = _classify(shapes, names=names, params=params, **given)
    # (an adapter of a mixture plugs into its experts: its base is a mixture, whatever the mixture was built from)
    view = dense_view([*shapes, *names], shapes) if params is not None else None
    built = bool(result.merge) and result.merge["method"] == "moe"  # (from dense models, its recipe says)
    if view is None or (result.root is not None and not built and not result.conflicts and not result.loose):
        return result
    dense = _classify(
        {view.names[k]: v for k, v in shapes.items() if k in view.names},
        names=[view.names[n] for n in names if n in view.names],
        params={view.names[k]: n for k, n in params.items() if k in view.names},
        mixture=(result.family, view.from_experts),
        **given,
    )
    if dense is None:  # no dense root fits its experts
        return result
    if built:
        why = f"{result.merge['source']} builds it from dense models"
    elif result.root is None:
        why = f"no {family_label(result.family) + ' ' if result.family else ''}root fits it"
    elif len(dense.conflicts) < len(result.conflicts):  # a published mixture's shapes, the metadata's dense models
        why = f"its metadata names dense models, which read so fit it ({len(result.conflicts)} conflicts otherwise)"
    elif result.loose and not dense.loose and not dense.conflicts:  # (Llama 3 8B's experts: Mixtral's but 128k)
        why = f"read so, its every size fits, where {result.root} fits but for a resized embedding or its depth"
    else:
        return result
    dense.evidence.insert(
        0,
        f"a mixture of {view.experts or 'several'} experts per layer (e.g. {view.example}), each shaped as one dense "
        f"MLP; {why}: read by its first expert as the dense model it was built from",
    )
    return dense


def _classify(
    shapes,
    *,
    names,
    metadata,
    config,
    texts,
    quantized,
    params,
    model_config,
    base_config,
    base_card,
    own,
    mixture=None,
) -> TreeResult | None:
    """`classify` (its arguments, `names` a list); or a mixture's dense view (`tree.mixture`) where `mixture` is
    (the mixture's family, the names read from its experts): the metadata's word for that family (config.json
    `model_type: mixtral`) agrees with it, the weights alone name no base model (which of the tree's models it was
    built from, its shapes do not say), and where the leading root's checks pass no layer read from an expert, None
    (the experts fit no dense model: an attention alone places no mixture)."""
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
    prefix = foreign_prefix(orig.values())  # (the names as the file spells them, a multimodal model's towers too)
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

    own_fams = {c.family for c in claims if c.strength == "declared" and c.family}
    asides: list[tuple[list[str], str]] = []  # families the names drop, and why
    cand_fams = name_families(orig, evidence, names_set, own_fams, full=params is not None, asides=asides)  # 1.
    after_names = len(evidence)
    from_names = bool(cand_fams)
    recipe = merge_recipe(texts or {}, metadata)
    stacked = bool(recipe) and recipe["method"] == "passthrough"  # its models' blocks, restacked: depth says nothing
    if stacked:
        evidence.append(f"{recipe['source']}: a passthrough merge stacks its models' blocks; depth checks no root")
    fams = cand_fams or size_families(names_set, own_fams)
    fits, ok = fit_roots(fams, norm, orig, shape_set, params is not None, depth=not stacked)  # 2.
    if base_config is not None:  # a declared model the registry lacks: checked by its configs, traced by its card
        claims = configs_checked(claims, (base_config, base_card), fits, ok, norm, orig, shape_set, evidence)
    claims = name_guesses_checked(claims, fits, evidence)
    claims = name_words_checked(claims, cand_fams, evidence)
    claims = other_family_named(claims, ok, evidence)
    if not stacked:  # a model deeper than the roots of the family its metadata names
        fits, ok = deeper_stacks(claims, fits, ok, (norm, orig, shape_set), params is not None, evidence)
    ok = architecture_declared(claims, ok, cand_fams, params is not None, evidence)
    allowed = {fam for fam, _ in ok} | set(cand_fams)  # (a timm id's word picks among those the weights allow)
    chooses = [c for c in claims if not (timm_guess(c) and c.family not in allowed)]
    family, by_claim = choose_family(ok, cand_fams, from_names, chooses, evidence)  # 3. metadata second
    claims = timm_names_checked(mixture_names_checked(claims, family, evidence), family, evidence)
    # a composite the registry lacks (Grounding DINO: a Swin backbone beside BERT) names its text model's family by
    # its `text_config`; where the weights read as another (its backbone, which has most of the keys), the config
    # names an architecture the registry lacks: no claim, and no conflict with it
    composite = next((c for c in claims if c.composite and family and c.family != family), None)
    claims = [c for c in claims if c is not composite]
    # a merged model the registry lacks is most often a fine-tune, never the foundation its tree grows from
    merged = set(recipe["models"]) if recipe else set()
    ranked = [c for c in claims if c.root is not None or c.value.strip() not in merged]
    cands, pool, family, family_conf = rank_roots(
        ok, family, by_claim, from_names, ranked, evidence, params is not None, len(set(cand_fams)) != 1, fits
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
            # (before the ruled-out roots)
            share, coverage = family_share(family, params, normalized, names_set, evidence)
        else:
            sizes = {orig[k]: (o or 1) * (i or 1) for k, (o, i) in norm.items()}  # (by the names the file gives)
            by_name = {orig[k]: k for k in norm}
            share, _ = family_share(family, sizes, by_name, shape_set, evidence, what="adapted weights")
        if share < FAMILY_COVERAGE and family_conf:
            # most of the model is layers the family does not have: another architecture that shares its layer
            # names (a CLIP vision tower's attention is Whisper's encoder's) or one that adds to it (a mixture's
            # experts): the family is no surer than shapes alone make it
            capped = min(family_conf, SHAPES_ONLY_FAMILY)
            cands = [dict(c, score=round(c["score"] * capped / family_conf, 3)) for c in cands]
            family_conf = capped
    ruled_out = _explain(top, pool, fits, family, norm, evidence)  # 5. what fits, ties, was ruled out
    if asides:  # a dropped family a root of which the sizes fit is why the model is not it; the others, asides
        dropped = list(dict.fromkeys(f for fams_, _ in asides for f in fams_))
        near = {fam for fam, _ in fit_roots(dropped, norm, orig, shape_set, params is not None)[1]}
        evidence[after_names:after_names] = [line for fams_, line in asides if near & set(fams_)]
        asides = [(fams_, line) for fams_, line in asides if not near & set(fams_)]
    # (a mixture's model_type is its mixture's architecture, which its dense view is not: `qwen2_moe`)
    foreign = None if mixture else foreign_model_type(config) or foreign_model_type(model_config) or prefix
    foreign = foreign or (composite and f"{composite.source.split()[0]} says model_type {composite.value}")
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
        claims,
        cands,
        pool,
        family,
        quantized=_converted(quantized),
        coverage=coverage,
        foreign=foreign,
        unknown=unknown,
    )
    cands = cands[:SHOWN]
    if mixture and decision["status"] == "weights":
        decision = dict(
            decision,
            id=None,
            status="unknown",
            reason=f"a mixture of experts built from models of {decision['root']}'s tree: which ones, the weights "
            "do not say",
        )
    elif top is not None and top.deeper and not stacked and decision["status"] == "weights":
        decision = dict(
            decision,
            id=None,
            status="unknown",
            reason=f"a stack of more blocks than {decision['root']} has (a passthrough merge or depth upscaling of "
            "its tree, perhaps): which models it stacks, the weights do not say",
        )
    elif decision["status"] == "weights" and (towers or any(_LANGUAGE_MODEL.match(n) for n in norm)):
        # BLIP-2 is OPT-2.7b's tree, but a LoRA on it, or a fine-tune, was tuned from BLIP-2 (which the registry
        # does not hold), not from OPT-2.7b: its keys hold the Q-Former and the tower too
        decision = dict(
            decision,
            id=None,
            status="unknown",
            reason=f"the language model of a multimodal model (a vision or audio tower beside it, or the decoder under "
            f"`language_model.`) is {decision['root']}'s; the model it was tuned from holds more than that, and the "
            "weights alone do not name it",
        )
    elif top is not None and top.deeper and not stacked and decision.get("root") == top.root["id"]:
        decision = dict(decision, reason=f"{decision['reason']}, as a stack of more blocks than it has")
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
        evidence + ruled_out + [line for _, line in asides],  # what places the model first
        declared,
        conflicts,
        [code for code, _ in coded],
        _not_itself(decision, own),
        recipe,
        bool(top is not None and (top.soft_misses or (top.deeper and not stacked))),
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
_LANGUAGE_MODEL = re.compile(r"(model_)?language_model_")  # a generative multimodal model's decoder, by its name


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
    # the whole and the rest each read as a decoder's: a two-tower model (CLIP, BLIP, Chinese-CLIP) is one of its
    # own; where the rest is a `language_model` (BLIP-2's OPT beside its EVA tower and Q-Former), the rest decides
    readings = [(kept, KeySet(kept))] if any(_LANGUAGE_MODEL.match(n) for n in kept) else [(orig, names), (kept, None)]
    for keys, keyset in readings:
        fams = name_families(keys, [], keyset or KeySet(keys))
        if not fams or any(kinds[f]["kind"] in _TOWER_KINDS for f in fams):
            return set()
    example = orig[min(hits, key=lambda n: ("projector" in n or "connector" in n, n))]  # a tower's key, if any
    evidence.append(
        f"names: {len(hits)} keys of a vision or audio tower (e.g. {example}) set aside: the tree is its language "
        "model's"
    )
    return set(hits)


def _explain(
    top: RootFit | None, pool: list[RootFit], fits: list, family: str | None, norm: Mapping, evidence: list[str]
) -> list[str]:
    """Adds to `evidence` what the weights fit and what they cannot tell apart; returns the lines that rule the
    nearest roots out, which the report lists after everything that places the model."""
    if top is not None:
        root = top.root["id"]
        best = [telling(top, family)] if top.passed else []
        for key, o, i, oexpr, iexpr in best + [p for p in top.passed[:1] if p not in best]:
            evidence.append(f"shapes: {key} is {shape_text(o, i)}, fits {side(oexpr)} x {side(iexpr)} of {root}")
        if top.soft_misses:
            keeps = "" if LINEAGE_SIZES & top.resized else ", which keeps the lineage"
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
    return [f"ruled out {f.root['id']}: {f.bad[0]}" for f in nearest[:3]]


def _converted(quantized: dict | None) -> str:
    """How a checkpoint was converted, in the words a decision's reason uses: "" (not), "ONNX" or "OpenVINO" (an
    export at full or half precision), else "quantized"."""
    if not quantized:
        return ""
    exported = {"onnx": "ONNX", "openvino": "OpenVINO"}.get(quantized.get("method"))
    return exported if exported and not quantized.get("bits") else "quantized"

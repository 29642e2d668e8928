"""How sure each root and family is: the candidates `classify` reports, ranked from the fits (`fit.py`) and what the
metadata claims (`declared.py`). The weights decide what is possible; the metadata, priors and block counts how
likely each possibility is (`rank_roots`); `choose_family` picks the family among those whose roots fit, and
`family_share` says how much of a full checkpoint is in the family's layers at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .decide import wrong_size
from .declared import Claim
from .fit import RootFit
from .keymatch import KeySet
from .registry import families, family_label, layout, roots

__all__ = [
    "DECLARED_ROOT",
    "FAMILY_COVERAGE",
    "LINEAGE_SIZES",
    "MENTIONED_ROOT",
    "SHAPES_ONLY_FAMILY",
    "SHOWN",
    "choose_family",
    "family_share",
    "rank_roots",
]

SHOWN = 5  # the candidates a report lists (the base_model decision weighs them all)
SHAPES_ONLY_FAMILY = 0.5  # the most a family may be trusted when no key name placed it
# soft sizes (fit._SOFT) no tune changes: where every fitting root misses one, so does the family
LINEAGE_SIZES = {"patch"}
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
FAMILY_COVERAGE = 0.5  # ... and the most where less than this share of a model (`family_share`) is the family's


def family_share(
    family: str,
    params: Mapping[str, int],
    normalized: Mapping[str, str],
    names: KeySet,
    evidence: list[str],
    what: str = "parameters",
) -> tuple[float, float]:
    """(the share of a checkpoint's parameters, its embedding tables left out, in layers the family has; the share
    in layers whose sizes its roots check). A family has the layers its roles size and those its checkpoints have
    unsized (gpt-oss's experts: 98% of it, so its weights alone name no root). Cohere2-MoE read as Command R: 6%, its
    experts being nothing a Command R has; a CLIP vision tower read as Whisper: 32%, its MLP being `mlp.fc1`; a dense
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


def choose_family(
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


def rank_roots(
    ok: list,
    family: str | None,
    by_claim: bool,
    from_names: bool,
    claims: list[Claim],
    evidence: list[str],
    full: bool = False,
    shared: bool = True,
    fits: list | None = None,
) -> tuple[list[dict], list[RootFit], str | None, float]:
    """Scored candidates, every root the weights allow, best first (summing to at most 1; a report shows the first
    SHOWN), the fits behind them, the family, its confidence. `shared`: the
    names allowed several families (or none), so sizes chose this one. `fits`: every root tested (`fit_roots`),
    against which a declared model the registry lacks is checked by the size its name states (`decide.wrong_size`).

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
        and not (fits is not None and wrong_size(c, pool, fits))  # (`org/Qwen3-8B-ft` on a 4B: a conflict, no root)
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
        )
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
    lineage = [f for _, f in ok if LINEAGE_SIZES & f.resized]
    if family and ok and len(lineage) == len(ok) and family_conf > SHAPES_ONLY_FAMILY:
        # no known root of any family has this patch size, which no tune changes: a model the registry lacks, that
        # the rest of its names and sizes only resemble (DINOv3's 16-pixel patches and registers are no DINOv2's)
        cands = [dict(c, score=round(c["score"] * SHAPES_ONLY_FAMILY / family_conf, 3)) for c in cands]
        family_conf = SHAPES_ONLY_FAMILY
        misses = lineage[0].soft_misses
        miss = next((m for m in misses if any(f"({d} x" in m or f"x {d})" in m for d in LINEAGE_SIZES)), misses[0])
        evidence.append(f"shapes: no known root has its patch size ({miss})")
    if (weak or not from_names) and family_conf < 1:  # a root can be no surer than the family it was picked from
        cands = [dict(c, score=round(c["score"] * family_conf, 3)) for c in cands]
    mine = [f for fam, f in ok if fam == family]
    vouched = any(  # metadata naming one of its roots, or its architecture, vouches for an adapter on some blocks
        c.strength == "declared" and (c.root in {f.root["id"] for f in mine} or c.family == family) for c in claims
    )
    if (
        shared  # (a family its names alone place keeps its confidence: ModernBERT's `attn.Wqkv`)
        and not vouched
        and mine
        and all(f.short and not f.exact_layers for f in mine)
        and families()["families"][family]["kind"] != "diffusion"  # (a diffusion LoRA often adapts some blocks)
    ):
        # every root of the family that fits has more blocks than the adapter touches: a model the registry lacks,
        # in these widths and this depth, is likelier than an adapter that skipped blocks (EXACT_BLOCKS_ADAPTER);
        # a full checkpoint holds all of its blocks, and one of a depth no root has is as likely a model the
        # registry lacks as one pruned or distilled from a deeper root (Ministral 3's 40 blocks "fit" SOLAR's 48).
        # Said where look-alikes of other families had already brought the family below that share too.
        if family_conf > SHAPES_ONLY_FAMILY:
            cands = [dict(c, score=round(c["score"] * SHAPES_ONLY_FAMILY / family_conf, 3)) for c in cands]
            family_conf = SHAPES_ONLY_FAMILY
        what = "the checkpoint holds" if full else "the adapter touches"
        evidence.append(f"shapes: fit only roots with more blocks than {what} ({mine[0].short[0]})")
    return cands, pool, family, family_conf

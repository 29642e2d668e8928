"""What a model's metadata may say given its weights: each declared or mentioned claim the weights
contradict (`claim_conflicts`, with a short stable code per conflict) and which `base_model` a model card may
declare (`base_model_decision`). Both read the root fits of `hfprobe.tree.fit`; `hfprobe.tree.classify` calls
them for its report.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .declared import GGUF_PARENT, Claim
from .fit import RootFit, resized_words, telling
from .registry import (
    families,
    family_label,
    file_stem,
    hub_spelling,
    is_hub_id,
    model_line,
    reupload_marked,
    roots,
    size_mark,
    tail_key,
)

__all__ = ["WEIGHTS_ALONE", "UnknownClaims", "base_model_decision", "claim_conflicts", "unknown_claims"]


def _why(top: RootFit | None, family: str | None) -> str:
    """The weights' family in words, with the shape check that says most about it."""
    if top is None or not top.passed:
        return family_label(family)
    key, o, i, oexpr, iexpr = telling(top, family)
    return f"{family_label(family)} ({key} is {o}x{i}: {oexpr} x {iexpr})"


def conflict_code(source: str, kind: str) -> str:
    """A short, stable code for a conflict: where the claim came from, then what disagrees (family | shapes).

    >>> conflict_code("README.md mentions", "family")
    'readme-text-family'
    >>> conflict_code("adapter_config.json base_model_name_or_path", "shapes")
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


def wrong_size(c: Claim, pool: list[RootFit], fits: list) -> list[str]:
    """For a model the registry does not know, named with its size (`someorg/Qwen2.5-1.5B-finetune`): the
    registry's models of its family, line and size, when none of them fits the weights and every root of its family
    that does fit (every root that fits, where none of its family does) states another size (Qwen2.5-7B; another
    family's FlexOlmo-7x7B, whose name states no size, does not excuse a `llama-2-13b` on Llama 2 7B's attention).
    Empty where the name says no size, the registry has none of that size, or nothing known fits (an
    `open_llama_3b` is no Llama 3.2 3B, but neither is it ruled out by one). A size is its own line's: Qwen1.5-14B is
    no Qwen2.5-14B, Falcon3-7B (LLaMA's layout) no Llama 2 7B, whatever their family."""
    mark = size_mark(c.value) if c.root is None and c.family else None
    line = model_line(c.value)
    same = [
        r
        for r in (roots()["_sized"].get((c.family, mark), []) if mark else [])
        if any(line in model_line(n) or model_line(n) in line for n in _names(r))
    ]
    tested = {f.root["id"] for _, f in fits}
    own = [f for f in pool if f.root["family"] == c.family] or pool
    pool_marks = {size_mark(f.root["id"]) for f in own}
    if not any(r in tested for r in same) or any(f.root["id"] in same for f in pool):
        return []
    return same if own and None not in pool_marks and mark not in pool_marks else []


def _names(root_id: str) -> list[str]:
    """A root's Hub id and aliases."""
    root = roots()["_by_id"][root_id]
    return [root["id"], *root.get("aliases", [])]


class UnknownClaims(NamedTuple):
    """What the weights say of declared models the registry does not know (`unknown_claims`), worked out once."""

    excused: list[Claim]  # of another family the key names allow: no conflict, base_model unchecked
    wrong_size: list[tuple[Claim, list[str]]]  # the registry's models of their family and size all fail the weights

    def sized_out(self, c: Claim) -> list[str]:
        return next((same for claim, same in self.wrong_size if claim is c), [])


NO_UNKNOWN_CLAIMS = UnknownClaims([], [])


def unknown_claims(claims: list[Claim], family: str | None, pool: list[RootFit], fits: list) -> UnknownClaims:
    """Declared models the registry does not know, judged by what it does know.

    `wrong_size`: each claim whose stated size the weights rule out, with the models of that size (the function
    `wrong_size`). `excused`: names that place the model in a family the key names allow but
    the sizes did not pick (`mistralai/Ministral-8B-Instruct-2410` on weights in Qwen3-8B's shapes): no known root
    of that family has these sizes, which does not rule the model out. Such a claim is no conflict, leaves
    `base_model` unchecked, and makes the family no surer than a coin. Only for a Hub id (a model, not an
    architecture field or a checkpoint file) of a family that comes in many sizes: a diffusion family is one
    architecture, whose sizes the registry has."""
    declared = [c for c in claims if c.strength == "declared"]
    sized = [(c, same) for c in declared if (same := wrong_size(c, pool, fits))]
    tested = {fam for fam, _ in fits}
    excused = [
        c
        for c in declared
        if c.level == "model"
        and c.root is None
        and c.family not in (None, family)
        and c.family in tested
        and families()["families"][c.family]["kind"] != "diffusion"
        and is_hub_id(c.value)
        and not any(c is s for s, _ in sized)
    ]
    return UnknownClaims(excused, sized)


def claim_conflicts(
    claims: list[Claim],
    family: str | None,
    pool: list[RootFit],
    fits: list,
    top: RootFit | None,
    unknown: UnknownClaims = NO_UNKNOWN_CLAIMS,
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
    hintable = {f for _, f, _ in families()["_text_hints"]}
    kind = families()["families"][family]["kind"]
    text_fams = {f for f in text_fams if families()["families"].get(f, {}).get("kind") == kind}
    if family not in hintable:
        text_fams = set()
    for c in claims:
        if c.strength == "declared" and not any(c is e for e in unknown.excused):
            wrong_size = unknown.sized_out(c)
            if c.family and c.family != family:
                out.append(
                    (
                        conflict_code(c.source, "family"),
                        f"{c.source} says {c.value} ({family_label(c.family)}{f', by {c.via}' if c.via else ''}), "
                        "but the weights are "
                        f"{_why(top, family)}",
                    )
                )
            elif c.root and c.root not in pool_ids:
                bad = by_id.get(c.root)
                reason = bad.bad[0] if bad and bad.bad else "its shapes do not fit"
                out.append(
                    (
                        conflict_code(c.source, "shapes"),
                        f"{c.source} says {c.value}, but the weights do not fit it: {reason}",
                    )
                )
            elif wrong_size:
                bad = by_id.get(wrong_size[0])
                reason = bad.bad[0] if bad and bad.bad else "its shapes do not fit"
                out.append(
                    (
                        conflict_code(c.source, "shapes"),
                        f"{c.source} says {c.value}, but the weights fit no {family_label(c.family)} model of "
                        f"its size ({size_mark(c.value).upper()}): {reason}",
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
                        conflict_code(c.source, "family"),
                        f"{c.source.split()[0]} mentions {family_label(c.family)}, but the weights are "
                        f"{_why(top, family)}",
                    )
                )
    return list(dict.fromkeys(out))


WEIGHTS_ALONE = 0.8  # a root the weights single out on their own: the only registry root that fits, this sure


MIN_COVERAGE = 0.25  # the share of a checkpoint's parameters in layers whose sizes fit, for the weights alone


def base_model_decision(
    claims: list[Claim],
    cands: list[dict],
    pool: list[RootFit],
    family: str | None,
    *,
    quantized: str = "",  # how the checkpoint was converted: "quantized", "ONNX", "OpenVINO" (an export), or ""
    coverage: float | None = None,
    foreign: str | None = None,
    unknown: UnknownClaims = NO_UNKNOWN_CLAIMS,
) -> dict:
    """Which `base_model` a model card may declare, and why: the weights and the metadata must agree.

    Returns {id, root, status, source, reason}; `id` is set only for status `declared` (a structured field
    names a root the weights allow: adapter_config.json, config.json, a kohya/modelspec header, a training
    config, the card's own YAML), `mentioned` (nothing structured names a root; the card's prose names
    exactly one Hub id the weights allow) or `weights` (nothing names one; exactly one registry root fits every
    shape, embedding sizes included, by named layers, with a score of at least 0.8 (roots in the same shapes,
    a root's own instruct tune among them, are rivals; a root only an embedding size sets apart is not), and, for a full
    checkpoint of a non-diffusion family, with at least MIN_COVERAGE of its parameters (embedding tables aside) in
    layers whose sizes the family's roots check, and every stack of blocks as deep as the root's,
    and not where config.json's model_type (or diffusers `_class_name`) is an architecture with no family here
    (`foreign`);
    not for a `quantized` checkpoint, whose `base_model` is the model that was quantized, most often a fine-tune
    the weights cannot tell from its root, and whose relation `quantized` would then be false). Otherwise `id` is
    None and status is `contradicted` (a structured claim the weights rule out), `unchecked` (a structured claim
    names a Hub id neither the registry nor the weights can check), `ambiguous` (several roots remain; see the
    candidates) or `unknown`. `id` keeps the spelling the metadata used when it is a Hub id for the same weights
    (`runwayml/stable-diffusion-v1-5`, `gpt2`), else the root id (a checkpoint file name is not a Hub id).

    >>> from hfprobe.tree.classify import classify
    >>> r = classify({"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)},
    ...              texts={"README.md": "LoRA adaption weights for runwayml/stable-diffusion-v1-5."})
    >>> r.base_model["id"], r.base_model["status"]
    ('runwayml/stable-diffusion-v1-5', 'mentioned')
    >>> classify({"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)}).base_model["status"]
    'ambiguous'
    """
    out = {"id": None, "root": None, "status": "unknown", "source": None, "reason": "the weights match no known root"}
    if family is None:  # (a model that says what it is says why: `config.json says model_type ijepa`)
        return dict(out, reason=f"{foreign}, an architecture the registry has no roots for") if foreign else out
    pool_ids = {f.root["id"] for f in pool}
    structured = [c for c in claims if c.strength == "declared"]
    wrong = [
        c
        for c in structured
        if not any(c is e for e in unknown.excused)
        and ((c.family and c.family != family) or (c.root and c.root not in pool_ids) or unknown.sized_out(c))
    ]
    if wrong:
        c = wrong[0]
        return dict(
            out, status="contradicted", source=c.source, reason=f"{c.source} says {c.value}; the weights rule it out"
        )
    # a quantization's base is the model it quantizes; a GGUF's `general.base_model` names that model's own base
    parents = [c for c in structured if quantized and c.source.startswith(GGUF_PARENT)]
    structured = [c for c in structured if all(c is not p for p in parents)]
    unknown_ids = [c for c in structured if c.root is None and c.level == "model" and is_hub_id(c.value)]
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
    trained_on = next((c for c in structured if c.level == "model" and c.root is None), None)
    if not named and trained_on is not None:  # a checkpoint the registry does not know: a fine-tune, perhaps;
        return dict(  # neither the weights nor prose (weaker than the header) can say which model it was
            out,
            status="unchecked",
            source=trained_on.source,
            reason=f"{trained_on.source} names {trained_on.value}, a model hfprobe does not know (perhaps a "
            "fine-tune of the root); the weights cannot tell",
        )
    if not named:
        named, status = [c for c in claims if c.strength == "text" and c.root in pool_ids], "mentioned"
    if not named and parents:
        c = parents[0]
        return dict(
            out,
            source=c.source,
            reason=f"{c.source} names {c.value}, the base of the model this file quantizes (llama.cpp records the "
            "converted model's own base_model there), not that model",
        )
    distinct = list(dict.fromkeys(c.root or c.value.strip().lower() for c in named))
    if len(distinct) == 1:
        c = named[0]
        value = c.value.strip()
        known = hub_spelling(value)  # a Hub id the registry spells, else another org's re-upload or a file name
        # a name with no org (a local copy's folder) is written as the Hub id the registry has for that name: a
        # fine-tune's own (`nitrosocke/mo-di-diffusion`), not the root it is checked against
        tail_root, tail_name = roots()["_tail"].get(tail_key(file_stem(value)), (None, None))
        write = known or (value if c.root is None or is_hub_id(value) else tail_name if tail_root == c.root else c.root)
        how = "" if c.source.endswith(("names", "mentions")) else ("names " if status == "declared" else "mentions ")
        fits = "the weights fit it" if c.root else "the weights fit its family; its shapes are not in the registry"
        own = [f for f in pool if f.root["id"] == c.root]
        if own and all(f.unsized for f in own):
            fits = "its layer names and block count fit it (the file gives no sizes to check)"
        elif own and coverage is not None and all(f.short for f in own):  # a full checkpoint holds all its blocks
            fits = f"the weights fit its layers, not its depth ({own[0].short[0]}): distilled or pruned, or not it"
        if c.via:  # a model the registry lacks, checked by its own configs or traced by its card
            fits = c.via
        elif c.root and write == value and not known:
            original = roots()["_tail"].get(tail_key(file_stem(value)), (None, c.root))[1]
            fits = (
                f"by its name a re-upload of {original} (quantized, converted or mirrored); the weights fit it"
                if reupload_marked(value)
                else f"by its name a mirror of {original}, or another model of that name; the weights fit it"
            )
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
    if foreign:  # (said whether or not its shapes resemble a root's: I-JEPA's fit a ViT's)
        resemble = f"; its weights resemble {family_label(family)}'s roots in shape, which says nothing of its lineage"
        return dict(out, reason=f"{foreign}, an architecture the registry has no roots for{resemble if mine else ''}")
    if not mine:
        return dict(out, status="unknown", reason="the weights alone are not enough to name the base model")
    # what rules out every root of the family, however many fit: said before "several fit", as it says more
    lead = next((f for f in mine if cands and f.root["id"] == cands[0]["id"]), mine[0])
    rid = lead.root["id"]
    if quantized:
        return dict(
            out,
            reason=f"{'a quantized checkpoint' if quantized == 'quantized' else f'an {quantized} export'} of "
            f"{family_label(family)} ({rid} or a model like it): the weights cannot tell which model was "
            f"{'quantized' if quantized == 'quantized' else 'exported'}; declare base_model in its config.json or card",
        )
    if coverage is not None and all(f.short for f in mine):  # a full checkpoint: fewer blocks is distilled or pruned
        return dict(
            out,
            reason=f"a full checkpoint with fewer blocks than {rid} ({lead.short[0]}): distilled or pruned from it, "
            "perhaps, which the weights alone do not name",
        )
    diffusion = families()["families"][family]["kind"] == "diffusion"  # (its roles describe attention only)
    if coverage is not None and coverage < MIN_COVERAGE and not diffusion:
        return dict(
            out,
            reason=f"only {coverage:.0%} of the parameters are in layers whose sizes fit {rid} (a mixture of experts, "
            "or an architecture the registry does not know)",
        )
    if all(f.soft_misses for f in mine):  # "the only root whose shapes fit" must be true of every shape
        return dict(
            out,
            reason=f"the weights fit {rid}'s layers but not all its sizes ({lead.soft_misses[0]}): "
            f"{resized_words(lead)}, or a model the registry does not know",
        )
    exact = [f for f in mine if not f.soft_misses]  # roots that every shape fits, embedding sizes included
    if coverage is not None:  # a full checkpoint holds all its blocks: a root with more is a look-alike no more
        exact = [f for f in exact if not f.short] or exact
    if len(exact) > 1:
        return dict(
            out,
            status="ambiguous",
            reason=f"the weights fit {len(exact)} known roots (the candidates) and no metadata names one",
        )
    if lead.short:  # an adapter on fewer blocks than the root has: most adapters cover every block, so the lead
        # is likelier a root the registry lacks, of that depth (a Llama 3.2 Vision LoRA's 40 layers "fit" SOLAR's 48)
        return dict(
            out,
            reason=f"the weights fit {rid}'s layers but cover fewer blocks than it has ({lead.short[0]}): perhaps "
            "a model the registry does not know, of that depth",
        )
    # roots only an embedding size sets apart are no rivals (see above), nor, for a full checkpoint, roots with more
    # blocks than it holds: their share does not dilute the lead's, which is its share of the rest times the mass
    # the registry's roots hold (what is kept back for roots it lacks stays kept back). `cands` is every candidate:
    # with many look-alikes (BERT-base's 30 roots), the soft ones past the first five diluted it once
    soft = {f.root["id"] for f in pool if f.soft_misses or (coverage is not None and f.short)}
    known = sum(c["score"] for c in cands)
    rest = known - sum(c["score"] for c in cands if c["id"] in soft)
    share = cands[0]["score"] * known / rest if cands and rest > 0 else 0.0
    if exact[0] is lead and not lead.weak and share >= WEIGHTS_ALONE:
        return {
            "id": rid,
            "root": rid,
            "status": "weights",
            "source": "weights",
            "reason": f"{rid} is the only known root whose shapes fit",
        }
    return dict(out, status="unknown", reason="the weights alone are not enough to name the base model")

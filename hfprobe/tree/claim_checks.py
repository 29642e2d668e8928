"""The metadata's claims weighed against the weights before `classify` chooses the family: a repo name's guess
that is another model of that name, a name's words that say another modality or name a second family, a mixture
named by its dense model's words, a model deeper than its family's roots, and the architecture a full checkpoint's
own config names where the sizes fit other families' roots only in part. Each returns what it was given, adjusted,
and says why in `evidence`.
"""

from __future__ import annotations

from dataclasses import replace

from .declared import TIMM_SOURCE, Claim
from .fit import RootFit, fit_roots
from .naming import hinted_families, names_mixture
from .registry import families, family_label, roots


def deeper_stacks(claims: list[Claim], fits: list, ok: list, observed: tuple, full: bool, evidence: list[str]) -> tuple:
    """(fits, ok) with the roots of the architecture the metadata names (config.json `model_type: mistral`, a
    family-level claim) fitted without their block counts, where no root of it fits cleanly (every size, embeddings
    included, but those a fine-tune sets for its task, `RootFit.task_sized`; and at least its depth) and some are
    ruled out by their depth alone: a checkpoint deeper than its family's roots is a stack of their blocks (a
    passthrough merge without its recipe, depth upscaling), which `RootFit.deeper` marks. A 40-block frankenmerge
    of Mistral 7B was Llama 3.2 Vision's or SOLAR's, a conflict with its own config; one of Llama 3 8B's blocks
    SOLAR's (its vocabulary resized). A named model is checked as before (an unknown `someorg/mistral-7b-x` on 36
    blocks is still no 7B), and an adapter's blocks are its base's: where its metadata names a model, its depth says
    which, so only the architecture alone relaxes it."""
    # (SOLAR's 48 blocks, Llama 3's vocabulary; a segmentation fine-tune's own labels are clean)
    clean = {fam for fam, f in ok if (not f.soft_misses or f.task_sized) and not f.short}
    rooted = {c.family for c in claims if c.strength == "declared" and c.level == "model"}
    for c in claims:
        fam = c.family
        if c.strength != "declared" or c.level != "family" or not fam or fam in clean or (not full and fam in rooted):
            continue
        mine = [f for f_fam, f in fits if f_fam == fam]
        deep = [f for f in mine if f.deeper and len(f.bad) == 1]
        if not deep:
            continue
        more, more_ok = fit_roots([fam], *observed, full=full, depth=False)
        more_ok = [(f_fam, f) for f_fam, f in more_ok if f.deeper]  # (the roots that fitted already stay as they were)
        if not more_ok:
            continue
        relaxed = {id(f) for _, f in more_ok}
        fits = [(f_fam, f) for f_fam, f in fits if not (f_fam == fam and f.deeper)] + [
            (f_fam, f) for f_fam, f in more if id(f) in relaxed
        ]
        ok = ok + more_ok
        clean.add(fam)
        evidence.append(
            f"{c.source} says {c.value}: {family_label(fam)} roots fit but for their depth ({deep[0].bad[0]}); read "
            "as a stack of their blocks (a passthrough merge or depth upscaling), their block counts unchecked"
        )
    return fits, ok


def architecture_declared(claims: list[Claim], ok: list, placed: list[str], full: bool, evidence: list[str]) -> list:
    """`ok` without other families' roots where a full checkpoint's own config names its architecture (config.json
    `model_type: marian`, a family-level claim) among those its key names allow, no root of it fits, and no other
    family's root fits cleanly (every size, embeddings included, and its depth): those roots share a few widths only,
    and the model is one of the named architecture the registry lacks. Opus-MT's "tc-big" models (Marian at 1024
    wide, 6 blocks a side) were MusicGen's at 0.48, a conflict with their own config; the weights of a model its
    config re-hosts (a "llamafied" Qwen, every size Qwen2.5's) still name their lineage."""
    if not full or not ok:
        return ok
    named = next((c for c in claims if c.strength == "declared" and c.level == "family" and c.family in placed), None)
    if named is None or any(fam == named.family for fam, _ in ok):
        return ok
    if any(f.ok and not (f.soft_misses or f.short or f.deeper or f.weak) for _, f in ok):
        return ok
    others = list(dict.fromkeys(fam for fam, _ in ok))
    evidence.append(
        f"{named.source} says {named.value}, which the key names allow; no {family_label(named.family)} root fits, and "
        f"{', '.join(family_label(f) for f in others)} roots only in part (e.g. {_partly(ok[0][1])}): a "
        f"{family_label(named.family)} model the registry lacks"
    )
    return []


def _partly(fit: RootFit) -> str:
    """Why a root fits only in part, in a few words."""
    if fit.short:
        return f"{fit.root['id']}: {fit.short[0]}"
    if fit.soft_misses:
        return f"{fit.root['id']}: {fit.soft_misses[0]}"
    return f"{fit.root['id']}: sizes alone"


def name_guesses_checked(claims: list[Claim], fits: list, evidence: list[str]) -> list[Claim]:
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


# what a family's models read or make (`name_words_checked`)
_MODALITIES = {"text": {"text"}, "vision-text": {"image", "text"}, "vision": {"image"}, "speech": {"audio"}}


def name_words_checked(claims: list[Claim], placed: list[str], evidence: list[str]) -> list[Claim]:
    """A Hub id the registry lacks, read as a family by a word in its name (a name hint), that also holds the name
    of the family the layer names place the weights in, a family of a disjoint modality, is read by the weights:
    `SZTAKI-HLT/hubert-base-cc` on a BERT's layers holds "hubert", the speech model, and "bert", and is the
    Hungarian BERT. The claim keeps no family: an id the registry cannot check (no `base_model` is written), not
    a conflict. An id that holds no such word (`org/whisper-tiny-ft` on a BERT's layers) stays a conflict."""
    specs = families()["families"]

    def modality(fam: str) -> set[str]:
        kind = specs[fam]["kind"]
        return _MODALITIES.get(kind, {kind})

    def why(c: Claim) -> str | None:
        if not (c.strength == "declared" and c.level == "model" and c.root is None and c.via is None and c.family):
            return None
        named = [f for f in placed if f.split("_")[0] in c.value.lower()]
        if not named or c.family in placed or modality(c.family) & modality(named[0]):
            return None
        return (
            f"{c.source} names {c.value}: a {family_label(c.family)} ({specs[c.family]['kind']}) by a word in its "
            f"name, which also names {family_label(named[0])} ({specs[named[0]]['kind']}), as the layer names do: "
            "read by the weights"
        )

    return _family_dropped(claims, why, evidence)


def other_family_named(claims: list[Claim], ok: list, evidence: list[str]) -> list[Claim]:
    """A declared model the registry lacks whose name names two families (by the name hints), the first of which no root
    of fits and a later one of which fits, is read as that later one: `deepseek-ai/DeepSeek-R1-0528-Qwen3-8B`, R1
    distilled into Qwen3 8B, names DeepSeek by its teacher and Qwen3 by its architecture, and on a Qwen3's layers it
    was a conflict with its own base. A name whose words name only families that do not fit stays one."""
    fitting = {fam for fam, _ in ok}
    out = []
    for c in claims:
        mine = c.strength == "declared" and c.level == "model" and c.root is None and c.via is None
        if mine and c.family and c.family not in fitting:
            later = next((f for f in hinted_families(c.value) if f in fitting), None)
            if later is not None:
                evidence.append(
                    f"{c.source} names {c.value}: its words name {family_label(c.family)} first, then "
                    f"{family_label(later)}, whose roots the weights fit: read as {family_label(later)}"
                )
                c = replace(c, family=later)
        out.append(c)
    return out


def mixture_names_checked(claims: list[Claim], family: str | None, evidence: list[str]) -> list[Claim]:
    """A Hub id the registry lacks whose name says it is a mixture of experts (`someorg/Mistral-4x7B-MoE`) and whose
    words name a dense family of the layout the weights' mixture has (Mistral, where an adapter's layers are
    Mixtral's experts) names a mixture built from that family's models, a Mixtral by architecture (mergekit-moe
    builds one of Llama or Mistral models): an id the registry cannot check, not a conflict. A dense model's name on
    a mixture's experts (`org/mistral-7b-ft`) stays one."""
    if family is None or not any("experts" in r["dims"] for _, r in roots()["_by_family"].get(family, ())):
        return claims
    specs = families()["families"]

    def why(c: Claim) -> str | None:
        if not (
            c.strength == "declared"
            and c.level == "model"
            and c.root is None
            and c.via is None
            and c.family not in (None, family)
            and specs[c.family]["_base"] == specs[family]["_base"]
            and names_mixture(c.value)
        ):
            return None
        return (
            f"{c.source} names {c.value}: by its name a mixture of experts built from {family_label(c.family)} "
            f"models, which a {family_label(family)} is: read by the weights"
        )

    return _family_dropped(claims, why, evidence)


def timm_guess(c: Claim) -> bool:
    """Whether a claim is a timm model id the registry lacks, read as a family by a word of its name: timm names its
    architectures its own way and its tags the data they were pretrained on (`convnext_large_mlp.clip_laion2b…`,
    `swin_base_patch4_window7_224.ms_in22k`), so the word only picks among families the weights allow, by their
    names or their roots (DINOv2 or ViT for a ViT-g/14 in timm's names), never another."""
    return c.source == TIMM_SOURCE and c.root is None and c.family is not None


def timm_names_checked(claims: list[Claim], family: str | None, evidence: list[str]) -> list[Claim]:
    """A timm model id whose guessed family is not the one the weights are read as keeps no family: an id the
    registry cannot check (nothing written), not a conflict. One that agrees stays (a DeiT III fine-tune's
    `timm/deit3_base_patch16_224.fb_in1k` on ViT layers is written as declared). ConvNeXt's and EVA-02's CLIP-
    pretrained tags were "CLIP", timm's Swin "Swin Transformer" (whose names the registry reads as transformers
    writes them): 56 conflicts of 1,371 timm architectures beside their own config.json."""

    def why(c: Claim) -> str | None:
        if not timm_guess(c) or c.family == family:
            return None
        return (
            f"{c.source} names {c.value}: a timm model, whose name's words ({family_label(c.family)}) say nothing of "
            "the family the weights are read as"
        )

    return _family_dropped(claims, why, evidence)


def _family_dropped(claims: list[Claim], why, evidence: list[str]) -> list[Claim]:
    """The claims, each one `why(claim)` gives a reason for without its family (an id the registry cannot check,
    no conflict), the reason in `evidence`."""
    out = []
    for c in claims:
        reason = why(c)
        if reason:
            evidence.append(reason)
            c = replace(c, family=None)
        out.append(c)
    return out

"""What the card says: the `hfprobe:` metadata block (at most MAX_BLOCK_LINES lines, only what machines read)
and the markdown section a person reads in ten seconds, both built from the inspect report and the predictions
as plain data. `hfprobe.cards.card` splices them into a card without touching anything else.

    >>> block = build_block({"format": "peft", "family": "bert", "root": {"id": "bert-base-uncased",
    ...     "confidence": 0.9}}, None, date="2026-01-01")
    >>> block["root"], block["confidence"]
    ('bert-base-uncased', 0.9)
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..formats.head import head_words
from ..tree.naming import named_hub_id
from ..tree.registry import is_hub_id
from ..tree.trained_on import datasets_words, prompts_words

MD_BEGIN = "<!-- hfprobe:start -->"


MD_END = "<!-- hfprobe:end -->"


NO_PREDICTION = "no category prediction for this tree yet"


_ADAPTER_FORMATS = ("lora", "peft", "kohya", "lycoris", "xlabs", "cloneofsimo", "mlx", "adapter")


HIGH, MEDIUM = 0.8, 0.5  # inspect's root score tops out at 0.9 (it keeps >= 0.1 for "unknown root")


MAX_BLOCK_LINES = 12  # the `hfprobe:` block a maintainer reviews: only what machines read


def confidence_label(value: Any) -> str:
    """'high' | 'medium' | 'low' | 'unknown' from a label or a number in [0, 1].

    High is >= 0.8: on the real adapters of the realzoo set (tests/test_realzoo.py) only roots confirmed by
    exact shapes and by the adapter's own config reach it; SD 1.4 / 1.5 look-alikes (0.64-0.75) stay below.

    >>> confidence_label(0.97), confidence_label("High"), confidence_label(None)
    ('high', 'high', 'unknown')
    """
    if isinstance(value, str):
        return value.strip().lower() or "unknown"
    if isinstance(value, (int, float)):
        return "high" if value >= HIGH else "medium" if value >= MEDIUM else "low"
    return "unknown"


def relation_of(report: dict) -> str | None:
    """The Hub's `base_model_relation` for this report: adapter, finetune, merge, quantized, or None when unsure.

    >>> relation_of({"kind": "adapter"}), relation_of({"format": "checkpoint"}), relation_of({"kind": "embedding"})
    ('adapter', 'finetune', None)
    """
    kind = str(report.get("kind") or "").lower()
    if kind in ("adapter", "finetune", "merge", "quantized"):
        return kind
    if kind == "checkpoint":
        return "quantized" if report.get("quantized") else "finetune"
    if kind == "embedding":  # a textual inversion: the Hub has no relation for it; say nothing
        return None
    fmt = str(report.get("format") or "").lower()
    if any(word in fmt for word in _ADAPTER_FORMATS):
        return "adapter"
    if "checkpoint" in fmt:
        return "finetune"
    return None


def clean_text(value: Any, limit: int = 300) -> str:
    """One line of text for YAML and markdown: no newlines, bounded length, no HTML comment markers
    (a quoted '<!-- hfprobe:end -->' must not end our section early on the next run)."""
    text = " ".join(str(value).split()).replace("<!--", "&lt;!--").replace("-->", "--&gt;")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ids_of(value: Any) -> list[str]:
    """The model ids a card's `base_model` names; an empty value (`base_model: ''`, as peft's template writes it for
    a base it had no name for) names none."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v and str(v).strip()]
    return [str(value)] if str(value).strip() else []


def same_model(a: str, b: str) -> bool:
    """One model under two names: registry aliases (runwayml/x, sd-legacy/x, stable-diffusion-v1-5/x), or the
    same name with another org or case (an id the registry does not know yet)."""
    from ..tree.registry import canonical_id

    a, b = a.strip(), b.strip()
    if canonical_id(a) == canonical_id(b):
        return True
    a, b = a.lower(), b.lower()
    return a == b or a.rsplit("/", 1)[-1] == b.rsplit("/", 1)[-1]


def decision_of(report: dict) -> dict:
    """The base_model decision inspect made (`report["base_model"]`); for a report without one, the weights'
    root when it is high-confidence (status `weights`), else none."""
    decision = report.get("base_model")
    if isinstance(decision, dict):
        return decision
    root = report.get("root") or {}
    if root.get("id") and confidence_label(root.get("confidence")) == "high":
        return {"id": root["id"], "root": root["id"], "status": "weights", "reason": "the weights name it"}
    return {"id": None, "status": "unknown", "reason": "the weights alone are not enough to name the base model"}


def _score(value: Any) -> Any:
    return round(float(value), 2) if isinstance(value, (int, float)) else confidence_label(value)


def categories_of(predictions: dict | None) -> tuple[list[dict], str]:
    """([{label, p, decided}], status) from a predictions dict, read defensively.

    `p` is the calibrated `probability` when the expert has one, else its raw `score`; labels the expert
    decided on come first; status is `ok`, `near-chance` (the expert says it is near chance) or
    `unavailable` (no categories).

    >>> categories_of({"predictions": [{"label": "a", "score": 0.9}, {"label": "b", "score": 0.2,
    ...     "probability": 0.6, "decided": True}]})
    ([{'label': 'b', 'p': 0.6, 'decided': True}, {'label': 'a', 'p': 0.9, 'decided': False}], 'ok')
    """
    out = predictions if isinstance(predictions, dict) else {}
    preds = [p for p in out.get("predictions") or [] if isinstance(p, dict) and p.get("label") is not None]
    if not preds:
        return [], "unavailable"
    decision = out.get("decision") if isinstance(out.get("decision"), dict) else {}
    decided = {
        str(x) for x in list(out.get("decided") or []) + list(decision.get("labels") or []) if not isinstance(x, dict)
    }
    decided |= {str(x.get("label")) for x in out.get("decided") or [] if isinstance(x, dict)}
    cats = []
    for p in preds:
        value = p.get("probability") if isinstance(p.get("probability"), (int, float)) else p.get("score", 0.0)
        label = clean_text(p.get("label"), 80)
        cats.append(
            {"label": label, "p": round(float(value or 0.0), 3), "decided": bool(p.get("decided")) or label in decided}
        )
    cats.sort(key=lambda c: not c["decided"])  # stable: the expert's order within each group
    expert = out.get("expert") if isinstance(out.get("expert"), dict) else {}
    calibration = out.get("calibration") if isinstance(out.get("calibration"), dict) else {}
    metrics = expert.get("metrics") if isinstance(expert.get("metrics"), dict) else {}
    near = any(bool(d.get("near_chance")) for d in (out, expert, calibration, metrics))
    return cats[:5], "near-chance" if near else "ok"


def build_block(
    report: dict, predictions: dict | None, *, date: str, replaced: list[str] | None = None, action: str = ""
) -> dict:
    """The `hfprobe:` metadata block as plain data: only what machines read, at most 12 lines of YAML.

    version, date, family, root, relation, confidence (the root's score), categories ({label: probability}
    when an expert answered), prediction (ok | near-chance | unavailable), conflicts (short codes). Evidence,
    candidates and sentences go in the markdown section.
    """
    root = report.get("root") or {}
    block: dict[str, Any] = {
        "version": __version__,
        "date": date,
        "family": report.get("family"),
        "root": root.get("id"),
        "relation": relation_of(report),
        "confidence": _score(root.get("confidence")),
    }
    cats, status = categories_of(predictions)
    if cats:
        block["categories"] = {c["label"]: c["p"] for c in cats}
    block["prediction"] = status
    block["conflicts"] = conflict_codes(report, action)
    if replaced:
        block["replaced_base_model"] = replaced
    return block


def conflict_codes(report: dict, action: str = "") -> list[str]:
    """Short codes for the conflicts (inspect's `conflict_codes` when it gave them, one per conflict)."""
    sentences = list(report.get("conflicts") or [])
    codes = [str(c) for c in report.get("conflict_codes") or []]
    if len(codes) != len(sentences):
        codes = ["metadata-vs-weights"] * len(sentences)
    if action in ("conflict", "replaced") and not any(c.startswith("card-base-model") for c in codes):
        codes.insert(0, "card-base-model")
    return list(dict.fromkeys(codes))


def render_section(
    report: dict,
    block: dict,
    *,
    declared: list[str],
    action: str,
    predictions: dict | None = None,
    repo_id: str | None = None,
    written: str | list[str] | None = None,
    relation_added: str | None = None,
    lb: str = "\n",
) -> str:
    """The markdown a person reads in ten seconds, between the stable markers. Nothing local: a folder's
    card says `<this repo>` where a Hub card names the repo."""
    src = repo_id or "<this repo>"
    root = report.get("root") or {}
    decision = decision_of(report)
    fmt, family = report.get("format") or "unknown", block.get("family") or "unknown"
    lines = [
        MD_BEGIN,
        "## What the weights say (hfprobe)",
        "",
        f"_Read from the weights by hfprobe {block['version']} on {block['date']}. "
        "This section and the `hfprobe` metadata block are regenerated by `hfprobe annotate`; "
        "to reject them, delete both._",
        "",
    ]
    conf = block["confidence"]
    conf_text = f"{conf:.2f} ({confidence_label(conf)})" if isinstance(conf, float) else conf
    fam_conf = report.get("family_confidence")  # said where it is short of sure: shared names, shapes alone
    fam_text = f"family `{family}`" + (
        f" at {fam_conf:.2f}" if isinstance(fam_conf, (int, float)) and fam_conf < 1 and block.get("family") else ""
    )
    if block.get("root"):
        rel = block.get("relation") or "descendant"
        lines.append(f"- **Tree:** `{block['root']}` ({rel}; confidence {conf_text}; {fam_text}, format `{fmt}`).")
        lineage = root.get("tree") if isinstance(root.get("tree"), dict) else {}
        if lineage.get("id") and lineage["id"] != block["root"]:  # the root was tuned from another
            conf = float(lineage.get("confidence") or 0.0)
            lines.append(f"  It was tuned from `{lineage['id']}`, whose tree this model is in (confidence {conf:.2f}).")
    else:
        lines.append(f"- **Tree:** unknown; the weights match no known root ({fam_text}, format `{fmt}`).")
    skipped = report.get("passed_over") if isinstance(report.get("passed_over"), dict) else None
    files = report.get("files") or []
    if skipped and files:  # several weights files in the repo: which one these findings are for
        n, name = skipped.get("count", 0), clean_text(str(files[0]), 200)
        lines.append(f"- **Read from:** `{name}` ({n} other weights file{'s' * (n != 1)} here not read).")
    if action == "added":  # (a merge's: every model it merged)
        ids = ", ".join(f"`{w}`" for w in (written if isinstance(written, list) else [written]))
        lines.append(f"- **base_model:** {ids}, set by hfprobe: {clean_text(decision.get('reason') or '')}.")
    elif action in ("agrees", "kept"):
        word = "agrees with the weights" if action == "agrees" else "kept as declared"
        if relation_added:  # beside the author's: how it descends, which the Hub would not infer
            word += f"; `base_model_relation: {relation_added}` added, which the Hub does not infer here"
        lines.append(f"- **base_model:** `{', '.join(declared)}` (declared by the card; {word}).")
        respelled = [named for d in declared if not is_hub_id(d) and (named := named_hub_id(d))]
        if respelled:  # an address or a cache path: the Hub's model tree and filters read a model id
            ids = ", ".join(f"`{i}`" for i in respelled)
            lines.append(f"  It is written as a path or an address; the Hub's model tree reads a model id: {ids}.")
    elif action == "replaced":
        lines.append(f"- **base_model:** `{written}` (replaced; see Conflicts).")
    elif action == "conflict":
        lines.append(f"- **base_model:** `{', '.join(declared)}` (declared by the card; the weights contradict it).")
    elif action == "none":
        lines.append(f"- **base_model:** not set: {clean_text(decision.get('reason') or 'not enough evidence')}.")
        if decision.get("status") == "ambiguous":  # only the author can say which: how to
            lines.append(
                "  If you know which it was trained from, add it as `base_model` to this card's metadata; "
                "`hfprobe annotate` checks it against the weights."
            )
    cands = [c for c in root.get("candidates") or [] if isinstance(c, dict) and c.get("id")][:5]
    if len(cands) > 1 or (cands and not block.get("root")):
        lines.append(
            "- **Candidates** (roots the weights allow, with scores): "
            + ", ".join(f"`{c['id']}` {float(c.get('score', 0.0)):.2f}" for c in cands)
            + "."
        )
    evidence = [clean_text(e) for e in (root.get("evidence") or [])[:6]]
    lines += ["", "**How we know:**" if evidence else "**How we know:** no evidence was recorded."]
    lines += [f"- {e}" for e in evidence]
    lines += [""]
    cats, status = categories_of(predictions)
    if cats:
        expert = (predictions or {}).get("expert")
        name = (expert.get("id") or expert.get("name")) if isinstance(expert, dict) else expert
        lines += [f"**Most likely trained on** (expert `{clean_text(name or '?', 80)}`):", ""]
        if status == "near-chance":
            lines += ["_This expert scores near chance on held-out models: read these as weak hints._", ""]
        decides = any(c["decided"] for c in cats)  # the column only for experts that decide labels
        lines += [
            "| category | probability |" + (" decided |" if decides else ""),
            "|---|---|" + ("---|" if decides else ""),
        ]
        lines += [
            f"| {clean_text(c['label'], 80).replace('|', '/')} | {c['p']:.3f} |"
            + ((" yes |" if c["decided"] else " no |") if decides else "")
            for c in cats
        ]
    else:
        lines.append(f"**Most likely trained on:** {NO_PREDICTION}.")
    if isinstance(report.get("head"), dict) and report["head"].get("module"):  # the classifier stored with it
        lines += ["", f"**Task head:** {clean_text(head_words(report['head']), 600).replace('|', '/')}."]
    if report.get("datasets"):  # what its card and training code name as its data: the author's word, not ours
        named = clean_text(datasets_words(report["datasets"]), 600).replace("|", "/")
        lines += ["", f"**Training data, as declared:** {named}."]
    if report.get("prompts"):  # the instance or validation prompt, kohya's caption tags: the author's word too
        said = clean_text(prompts_words(report["prompts"]), 600).replace("|", "/")
        lines += ["", f"**Training prompts, as declared:** {said}."]
    sentences = [clean_text(c) for c in report.get("conflicts") or []]
    lines += [
        "",
        "**Conflicts:**" if sentences or action in ("conflict", "replaced") else "**Conflicts:** none found.",
    ]
    if action == "conflict":
        sure = confidence_label((report.get("root") or {}).get("confidence")) == "high"
        fix = (
            "`hfprobe annotate --fix-base-model` replaces it."
            if sure
            else "the weights' own root is not sure enough (confidence below 0.8) for hfprobe to replace it, "
            "even with `--fix-base-model`."
        )
        lines.append(
            f"- The card declares `base_model: {', '.join(declared)}`, but the weights point to "
            f"`{block['root']}` (see the evidence above). It was left unchanged; {fix}"
        )
    if action == "replaced":
        lines.append(
            f"- The card declared `base_model: {', '.join(block.get('replaced_base_model') or [])}`; "
            f"the weights contradict it, so it was replaced by `{written}` (`--fix-base-model`)."
        )
    lines += [f"- {c}" for c in sentences]
    unread = [clean_text(u, 300) for u in report.get("unreadable") or []]  # what the maintainer can fix
    if unread:
        lines += ["", "**Not read:** " + "; ".join(unread) + "."]
    lines += [
        "",
        f"**Reproduce:** `hfprobe inspect {src}` (tree, evidence, conflicts) and `hfprobe predict {src}` (categories).",
        MD_END,
    ]
    return lb.join(lines)

"""The work behind each of the Space's endpoints: /inspect, /inspect_file, /predict, /search and /open_pr.

Each endpoint is a plain function wrapped in `answer` (guard.py): it checks its input with the guard, calls the
library (`inspect_source`, `predict`, `update_card` / `annotate_repo`, `ModelIndex.query`) and returns what its
tab shows (markdown, a bar-plot table, a card diff, JSON). The page layout that wires them is in app.py.
May import every stage below the Space (source ... search), hfprobe.config and hfprobe.errors.

    >>> inspect("org/name", None)      # doctest: +SKIP
"""

import functools
import json
import os
import re

from ..config import require
from ..errors import SearchIndexError
from .guard import (
    MAX_TEXT,
    answer,
    hub_source,
    parse_labels,
    parse_repo_spec,
    public_json,
    public_message,
    public_message_block,
    upload_source,
    visitor_token,
)

gr = require("gradio", "space")

ALL_TREES = "all trees"


# ---- the work behind each endpoint ------------------------------------------------------------------------------
def _card_blind(src):
    """inspect reads the README without hfprobe's own section, so our earlier words are not taken as the author's."""
    from ..cards.card import strip_generated

    original = src.read_text

    def read_text(name):
        text = original(name)
        return strip_generated(text) if text and name.rsplit("/", 1)[-1] == "README.md" else text

    src.read_text = read_text
    return src


def experts_setting() -> list[str] | None:
    """HFPROBE_EXPERTS as a list (Hub repo ids or folders, comma-separated), or None for the default folder."""
    raw = os.environ.get("HFPROBE_EXPERTS", "").strip()
    return [x.strip() for x in raw.split(",") if x.strip()] or None


@functools.lru_cache(maxsize=4)
def _expert_pool(setting: tuple) -> list:
    from ..experts.publish import load_experts_from

    return load_experts_from(list(setting))  # Hub repos through the cache (preloaded on a Space)


def _predict(src, labels, token, *, quiet: bool = False) -> tuple[dict, str]:
    """Predictions for a source and a note that says where they come from (or why there are none).

    `quiet`: an expert that cannot read this model is a note, not an error (the inspect summary still shows).
    """
    from ..errors import ExpertError, LayerNotFoundError
    from ..experts.predict import predict

    setting = experts_setting()
    pool = _expert_pool(tuple(setting)) if setting else None
    try:
        out = predict(src, labels=labels, experts=pool, token=token)
    except (ExpertError, LayerNotFoundError) as err:
        if not quiet:
            raise
        note = public_message(md_text(f"no categories: {err}"))
        return {"predictions": [], "status": note}, note
    if out.get("predictions"):
        expert = (out.get("expert") or {}).get("name")
        note = f"categories from expert {expert} ({out['method']})" if expert else f"categories by {out['method']}"
    else:
        reason = out.get("reason") or (out.get("routing") or {}).get("reason") or "no expert for this tree"
        note = f"no categories: {reason}"
        out["status"] = note
    return out, "\n".join(public_message(md_text(line)) for line in [note, *_explain_lines(out)])


def _probabilities(out: dict) -> bool:
    """Every prediction has a probability of its own (an expert's), not the readout's top-label chance."""
    preds = out.get("predictions") or []
    return bool(preds) and all(
        p.get("probability") is not None and p.get("calibration") != "readout-margin" for p in preds
    )


def score_kind(out: dict | None) -> str:
    """What the chart's numbers are, in the words of `hfprobe predict` (one kind per chart).

    >>> score_kind({"method": "readout", "predictions": [{"label": "a", "score": 1.5, "probability": 0.9,
    ...     "calibration": "readout-margin"}, {"label": "b", "score": -0.2}]})
    'z-scores of the readout (not probabilities)'
    """
    out = out or {}
    preds = out.get("predictions") or []
    if not preds:
        return "no categories"
    if not _probabilities(out):
        if out.get("method") == "readout":
            return "z-scores of the readout (not probabilities)"
        return f"raw scores ({out.get('method')}; not probabilities)"
    cal = "uncalibrated " if (out.get("calibration") or {}).get("method") in (None, "none") else "calibrated "
    if any("decided" in p for p in preds):
        return cal + "per-label probability"
    return cal + "softmax probability over the labels"


def _explain_lines(out: dict) -> list[str]:
    """The lines `hfprobe predict` prints around its ranking: what the scores are, warnings, the decision."""
    lines = []
    readout = out.get("readout") or {}
    if readout.get("abstained"):
        lines.append(f"readout: abstained: {readout.get('reason')}")
    if not out.get("predictions"):
        return lines
    cal = (out.get("calibration") or {}).get("note")
    lines.append(f"scores: {score_kind(out)}" + (f"; {cal}" if cal else ""))
    if out.get("near_chance"):
        lines.append(
            "warning: " + (out.get("near_chance_reason") or "the expert is near chance on its own test models")
        )
    decision = out.get("decision") or {}
    if decision:
        threshold = f" (p >= {decision['threshold']:.2f})" if "threshold" in decision else f" ({decision.get('rule')})"
        lines.append(f"decided labels: {', '.join(decision.get('labels') or []) or 'none'}{threshold}")
    return lines


def _bars(predictions: dict | None):
    """The chart: one kind of number (probabilities on [0, 1], or raw / z-scores), best first, titled as what it is."""
    import pandas as pd

    out = predictions or {}
    preds = out.get("predictions") or []
    prob = _probabilities(out)
    values = [float(p["probability"] if prob else p["score"]) for p in preds]
    rows = sorted(zip([str(p["label"]) for p in preds], values), key=lambda r: -r[1])
    frame = pd.DataFrame(rows, columns=["category", "score"])
    kind = score_kind(out)
    return gr.BarPlot(value=frame, title=kind, y_title=kind, y_lim=[0, 1] if prob else None, sort="-y")


def md_code(value) -> str:
    """`value` as a Markdown code span: text from a model's files (its card, its metadata) is shown, never rendered,
    so it cannot load an image, add a link or inject HTML in a visitor's browser.

    >>> md_code("![x](http://example.com/a.png)"), md_code("a`b")
    ('`![x](http://example.com/a.png)`', '``a`b``')
    """
    text = " ".join(str(value).split()) or " "
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_text(value) -> str:
    r"""`value` as literal Markdown text: the characters that make links, images, HTML or emphasis escaped.

    >>> print(md_text("<img src=x> [a](http://e)"))
    \<img src=x\> \[a\]\(http\://e\)
    """
    return re.sub(r"([\\`*_\[\]()!<>#|~:&])", r"\\\1", str(value))


def _summary(report: dict, note: str) -> str:
    from ..formats.head import head_words
    from ..tree.declared import declared_words
    from ..tree.described import described_words
    from ..tree.inspect import quant_words
    from ..tree.trained_on import datasets_words, prompts_words

    root = report.get("root") or {}
    c = md_code
    lines = [
        f"### {c(report.get('source', ''))}",
        f"- **format:** {c(report.get('format') or '?')}   **family:** {c(report.get('family') or 'unknown')}"
        + (f"   **kind:** {c(report['kind'])}" if report.get("kind") else "")
        + (f"   **quantized:** {c(quant_words(report['quantized']))}" if report.get("quantized") else ""),
        f"- **root:** {c(root.get('id') or 'unknown')} (confidence: {c(root.get('confidence', '?'))})",
    ]
    lineage = root.get("tree") if isinstance(root.get("tree"), dict) else {}
    if lineage.get("id") and lineage["id"] != root.get("id"):  # the root was tuned from another: its tree
        lines.append(f"- **tree:** {c(lineage['id'])} (confidence: {c(lineage.get('confidence', '?'))})")
    skipped, files = report.get("passed_over"), report.get("files") or []
    if isinstance(skipped, dict) and files:  # several weights files in the repo: which one answers
        lines.append(f"- **read from:** {c(files[0])} ({int(skipped.get('count') or 0)} other weights files not read)")
    cands = root.get("candidates") or []
    if cands:
        lines.append(
            "- **candidates:** " + ", ".join(f"{c(x['id'])} ({float(x.get('score', 0)):.2f})" for x in cands[:5])
        )
    lines += [f"  - evidence: {c(ev)}" for ev in (root.get("evidence") or [])[:8]]
    if report.get("described"):  # the card's own line about the model: the author's word, shown as code
        lines.append(f"- **described, in its card:** {c(described_words(report['described']))}")
    if report.get("head"):  # the classifier saved with the weights
        lines.append(f"- **task head:** {c(head_words(report['head']))}")
    if report.get("datasets"):  # what its own files say it was trained on: the author's word, shown as code
        lines.append(f"- **training data, as declared:** {c(datasets_words(report['datasets']))}")
    if report.get("prompts"):
        lines.append(f"- **training prompts, as declared:** {c(prompts_words(report['prompts']))}")
    merge = report.get("merge") if isinstance(report.get("merge"), dict) else None
    if merge:  # what its recipe says it merged
        models = ", ".join(c(m) for m in merge.get("models") or []) or "no Hub model"
        lines.append(f"- **merged** ({c(merge.get('method'))}, from {c(merge.get('source'))}): {models}")
    decision = report.get("base_model") if isinstance(report.get("base_model"), dict) else None
    if decision:  # what a pull request from this page would write as the card's base_model, and why
        written = decision.get("merged") or ([decision["id"]] if decision.get("id") else [])
        ids = ", ".join(c(w) for w in written) or "none"
        lines.append(f"- **base_model for the card:** {ids} ({c(decision.get('reason') or '')})")
    conflicts = report.get("conflicts") or []
    lines.append("- **conflicts:** " + ("; ".join(c(x) for x in conflicts) if conflicts else "none"))
    lines += [f"- **not read:** {c(problem)}" for problem in report.get("unreadable") or []]  # a config that is no JSON
    lines += [
        f"- **declared** ({c(key)}): {c(declared_words(value))}"
        for key, value in (report.get("declared") or {}).items()
    ]
    lines.append(f"- read {int(report.get('bytes_read') or 0):,} bytes")
    lines += [f"- {line}" for line in note.splitlines() if line]  # escaped by _predict
    return public_message_block("\n".join(lines))


def _inspect_outputs(src, card_name: str, token) -> tuple:
    from ..cards.annotate import diff_text
    from ..cards.card import update_card
    from ..tree.inspect import inspect_source

    old = src.read_text("README.md") if src.kind == "hub" else None  # the card as it is: the diff is against it
    with _card_blind(src):
        report = inspect_source(src)
    predictions, note = _predict(src, None, token, quiet=True)
    upd = update_card(old, dict(report, source=card_name), predictions, name="README.md")
    diff = diff_text(old or "", upd.text, "README.md") or "(the card already holds exactly this; nothing would change)"
    raw = {"report": report, "predictions": predictions}
    return _summary(report, note), _bars(predictions), public_message_block(diff), json.loads(public_json(raw))


@answer(pool="hub")
def inspect(source: str, oauth_token: gr.OAuthToken | None):
    """Inspect a Hub repo: (summary, predicted categories, card diff, raw report)."""
    repo_id, revision, path = parse_repo_spec(source)
    token = visitor_token(oauth_token)
    return _inspect_outputs(hub_source(repo_id, revision, token, path), repo_id, token)


@answer(pool="upload")
def inspect_file(file: str):
    """Inspect an uploaded .safetensors file: (summary, predicted categories, card diff, raw report)."""
    src = upload_source(file)
    return _inspect_outputs(src, src.display, False)


@answer(pool="hub")
def predict(source: str, labels: str, oauth_token: gr.OAuthToken | None):
    """What a Hub repo was trained on: the tree expert's categories, or zero-shot over `labels` (comma-separated)."""
    repo_id, revision, path = parse_repo_spec(source)
    wanted = parse_labels(labels)
    token = visitor_token(oauth_token)
    out, note = _predict(hub_source(repo_id, revision, token, path), wanted, token)
    return _predict_outputs(repo_id, out, note)


def _predict_outputs(name: str, out: dict, note: str) -> tuple:
    lines = "\n".join(f"- {line}" for line in note.splitlines())
    return f"### {md_code(name)}\n{lines}", _bars(out), json.loads(public_json(out))


@answer(pool="upload")
def predict_file(file: str, labels: str):
    """What an uploaded .safetensors file was trained on, as /predict answers for a Hub repo."""
    wanted = parse_labels(labels)
    src = upload_source(file)
    out, note = _predict(src, wanted, False)
    return _predict_outputs(src.display, out, note)


def predict_page(source: str, file: str | None, labels: str, oauth_token: gr.OAuthToken | None):
    """The page's Predict button: the Hub repo in the text box, or the uploaded file where the box is empty.

    Each in its own pool: an upload is not kept waiting by slow Hub reads."""
    if file and not (source or "").strip():
        return predict_file(file, labels)
    return predict(source, labels, oauth_token)


def open_index(index_dir):
    """The index the page searches; SearchIndexError where there is none."""
    from ..search.index import ModelIndex

    return ModelIndex(index_dir, create=False)


def _model_cell(hit: dict) -> str:
    """A hit's model column: a Hub id as is (a link where the index has its URL); a local file by its last path
    component only, so the operator's folders are not shown.

    >>> _model_cell({"id": "/home/op/models/dog-lora.safetensors", "repo": ""})
    '`dog-lora.safetensors`'
    """
    name = str(hit["id"]) if hit.get("repo") else str(hit["id"]).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    if hit.get("repo") and str(hit.get("url") or "").startswith("https://"):
        return f"[{md_text(name)}]({hit['url']})"
    return md_code(name)


def search_fn(index_dir):
    """The /search endpoint bound to an index folder."""

    def search(query: str, tree: str, top_k: float):
        """Models whose weights say they match the text, best first; without a text, the chosen tree's models by
        name: (status, table)."""
        import pandas as pd

        text = query.strip() if isinstance(query, str) else ""
        chosen = None if tree in (None, "", ALL_TREES) else str(tree)
        if not text and chosen is None:
            raise gr.Error(
                'the query is empty; describe what the model was trained on, e.g. "a photo of a dog", '
                "or pick a tree to list its models"
            )
        if len(text) > MAX_TEXT:
            raise gr.Error(f"the query is over {MAX_TEXT} characters; shorten it")
        try:
            k = int(top_k)
        except (TypeError, ValueError):
            raise gr.Error("top_k must be a whole number from 1 to 50") from None
        if not 1 <= k <= 50:
            raise gr.Error("top_k must be a whole number from 1 to 50")
        try:
            index = open_index(index_dir)
        except SearchIndexError:
            raise gr.Error(
                "this page has no search index yet (its owner adds one with `hfprobe space push --index DIR`)"
            ) from None
        if chosen is not None and not index.tree_names(chosen):  # (any root or alias of a listed tree is that tree)
            raise gr.Error(f"unknown tree; pick one from the list or {ALL_TREES!r}")
        # as the CLI: unscored ones too; a listing asks one more, to tell whether there are more
        hits = index.query(text or None, tree=chosen, top_k=k + (not text), unscored=True)
        more, hits = len(hits) > k, hits[:k]
        rows = [
            [
                i,
                None if h["score"] is None else round(h["score"], 3),
                _model_cell(h),
                h.get("tree") or "?",
                h["why"],
            ]
            for i, h in enumerate(hits, 1)
        ]
        status = f"{len(hits)} model{'' if len(hits) == 1 else 's'}"
        if not text:  # a listing: nothing has a score; say how many have no categories
            bare = sum(not h["categories"] for h in hits)
            status = ("the first " if more else "") + status + f" of {chosen}, by name"
            status += (f" ({bare} without categories)" if bare else "") + ("; raise results for more" if more else "")
        else:
            unscored = sum(h["score"] is None for h in hits)
            status += f" ({unscored} without a score)" if unscored else ""
        if not hits:  # a text query ranks every model with categories: nothing found is never the text's fault
            case, why = index.no_hits(chosen)
            status = f"0 models: {why}" + ("; pick a tree to list its models" if case == "unscored" else "")
        return status, pd.DataFrame(rows, columns=["rank", "score", "model", "tree", "why"])

    return answer(search, pool="index")


@answer(pool="hub")
def open_pr(source: str, oauth_token: gr.OAuthToken | None):
    """Open one pull request on a Hub repo with hfprobe's card section, in the signed-in visitor's name."""
    from ..cards.annotate import annotate_repo
    from ..tree.inspect import inspect_source

    repo_id, revision, _ = parse_repo_spec(source, inside=False)
    if revision:
        raise gr.Error("a pull request goes against the main branch; enter the repo id without @revision")
    token = visitor_token(oauth_token)
    if not token:
        raise gr.Error("sign in with Hugging Face first: the pull request is opened in your name")

    def inspect_fn(_spec, _token):  # read from the Hub only, never a local folder of the same name
        with _card_blind(hub_source(repo_id, None, token)) as src:
            return inspect_source(src)

    def predict_fn(_spec, _token):
        return _predict(_card_blind(hub_source(repo_id, None, token)), None, token, quiet=True)[0]

    res = annotate_repo(repo_id, push=True, token=token, inspect_fn=inspect_fn, predict_fn=predict_fn)
    if res.status == "annotated":
        return f"Pull request: {res.written}"
    return public_message(
        f"Nothing opened ({res.status}{': ' + res.reason if res.reason else ''})"
        + (f" {res.written}" if res.written else "")
    )

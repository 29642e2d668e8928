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
        note = public_message(f"no categories: {err}")
        return {"predictions": [], "status": note}, note
    if out.get("predictions"):
        expert = (out.get("expert") or {}).get("name")
        note = f"categories from expert {expert} ({out['method']})" if expert else f"categories by {out['method']}"
    else:
        reason = out.get("reason") or (out.get("routing") or {}).get("reason") or "no expert for this tree"
        note = f"no categories: {reason}"
        out["status"] = note
    return out, public_message(note)


def _bars(predictions: dict | None):
    import pandas as pd

    preds = (predictions or {}).get("predictions") or []
    # the calibrated probability where the expert (or the readout's top label) has one, else the method's raw score
    values = [float(p["probability"] if p.get("probability") is not None else p["score"]) for p in preds]
    return pd.DataFrame({"category": [p["label"] for p in preds], "score": values})


def _summary(report: dict, note: str) -> str:
    root = report.get("root") or {}
    lines = [
        f"### {report.get('source', '')}",
        f"- **format:** {report.get('format') or '?'}   **family:** {report.get('family') or '?'}"
        + (f"   **kind:** {report['kind']}" if report.get("kind") else ""),
        f"- **root:** {root.get('id') or 'unknown'} (confidence: {root.get('confidence', '?')})",
    ]
    cands = root.get("candidates") or []
    if cands:
        lines.append("- **candidates:** " + ", ".join(f"{c['id']} ({float(c.get('score', 0)):.2f})" for c in cands[:5]))
    lines += [f"  - evidence: {ev}" for ev in (root.get("evidence") or [])[:8]]
    conflicts = report.get("conflicts") or []
    lines.append("- **conflicts:** " + ("; ".join(conflicts) if conflicts else "none"))
    lines += [f"- **declared** ({key}): {value}" for key, value in (report.get("declared") or {}).items()]
    lines.append(f"- read {int(report.get('bytes_read') or 0):,} bytes")
    if note:
        lines.append(f"- {note}")
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


@answer
def inspect(source: str, oauth_token: gr.OAuthToken | None):
    """Inspect a Hub repo: (summary, predicted categories, card diff, raw report)."""
    repo_id, revision = parse_repo_spec(source)
    token = visitor_token(oauth_token)
    return _inspect_outputs(hub_source(repo_id, revision, token), repo_id, token)


@answer
def inspect_file(file: str):
    """Inspect an uploaded .safetensors file: (summary, predicted categories, card diff, raw report)."""
    src = upload_source(file)
    return _inspect_outputs(src, src.display, False)


@answer
def predict(source: str, labels: str, oauth_token: gr.OAuthToken | None):
    """What a Hub repo was trained on: the tree expert's categories, or zero-shot over `labels` (comma-separated)."""
    repo_id, revision = parse_repo_spec(source)
    wanted = parse_labels(labels)
    token = visitor_token(oauth_token)
    out, note = _predict(hub_source(repo_id, revision, token), wanted, token)
    return f"### {repo_id}\n{note}", _bars(out), json.loads(public_json(out))


def open_index(index_dir):
    """The index the page searches; SearchIndexError where there is none."""
    from ..search.index import ModelIndex

    return ModelIndex(index_dir, create=False)


def search_fn(index_dir):
    """The /search endpoint bound to an index folder."""

    def search(query: str, tree: str, top_k: float):
        """Models whose weights say they match the text, best first: (status, table)."""
        import pandas as pd

        text = query.strip() if isinstance(query, str) else ""
        if not text:
            raise gr.Error('the query is empty; describe what the model was trained on, e.g. "a photo of a dog"')
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
        chosen = None if tree in (None, "", ALL_TREES) else str(tree)
        if chosen is not None and chosen not in index.trees():
            raise gr.Error(f"unknown tree; pick one from the list or {ALL_TREES!r}")
        hits = index.query(text, tree=chosen, top_k=k)
        rows = [
            [
                i,
                round(h["score"], 3),
                f"[{h['id']}]({h['url']})" if h.get("url") else h["id"],
                h.get("root") or h.get("family") or "?",
                h["why"],
            ]
            for i, h in enumerate(hits, 1)
        ]
        status = f"{len(hits)} models" + ("" if hits else " match; try another tree or a broader text")
        return status, pd.DataFrame(rows, columns=["rank", "score", "model", "tree", "why"])

    return answer(search)


@answer
def open_pr(source: str, oauth_token: gr.OAuthToken | None):
    """Open one pull request on a Hub repo with hfprobe's card section, in the signed-in visitor's name."""
    from ..cards.annotate import annotate_repo
    from ..tree.inspect import inspect_source

    repo_id, revision = parse_repo_spec(source)
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

"""The hfprobe Space: inspect a model's weights, search models by what their weights say, read how it works.

A thin face on the library: every button calls the same functions the CLI does (`inspect_source`,
`predict`, `update_card`/`annotate_repo`, `ModelIndex.query`). Errors a user can cause (an unknown
repo, a file that is not weights, a too-large upload) come back as one readable line in the page;
anything else is logged on the server and shown as a short "internal error" line, never a traceback.

Run locally:  python space/app.py   (then open http://127.0.0.1:7860)
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import gradio as gr
import pandas as pd

HERE = Path(__file__).resolve().parent
if (HERE.parent / "hfprobe").is_dir() and str(HERE.parent) not in sys.path:  # running from a checkout
    sys.path.insert(0, str(HERE.parent))

from hfprobe.errors import HfprobeError  # noqa: E402

log = logging.getLogger("hfprobe.space")
MAX_UPLOAD_BYTES = int(os.environ.get("HFPROBE_SPACE_MAX_UPLOAD", 2 * 1024**3))  # 2 GiB: a full SD checkpoint fits
EMPTY_BARS = pd.DataFrame({"category": [], "score": []})
CHECKPOINT_SUFFIXES = (".safetensors",)
# Local paths in the repo box only when running on your own machine: a hosted Space must not read its disk.
ALLOW_LOCAL = os.environ.get("HFPROBE_SPACE_ALLOW_LOCAL") == "1"

ABOUT = """
## What this does
hfprobe reads a model's **weights** (not its card) and says two things:

1. **Which foundation model it descends from** (its *model tree*): the weights file's layout names the
   family (e.g. Stable Diffusion 1.x UNet, BERT, ViT), and the shapes and values of its layers pick the
   root among known candidates. Evidence and conflicts with the card's declared `base_model` are listed.
2. **What it was fine-tuned on**: each tree has an *expert*, a ProbeX probe (Horwitz et al., "Learning on
   Model Weights using Tree Experts", CVPR 2025) that reads one hidden layer's weight matrix and maps it
   into a text-embedding space, so it can score category names it never saw in training (zero-shot).

**Search** places every indexed model in that text space (the score-weighted mean of the text embeddings
of its predicted categories) and ranks models by cosine similarity to your query's embedding.

## Limits
- Predictions are only as good as the tree's expert: a tree with no trained expert gets no categories
  (hfprobe does not guess), and experts trained on small zoos are weak (see the README's benchmark).
- Category scores are evidence, not proof; a model can be trained on things outside the expert's labels.
- Only `.safetensors` (and the adapter/checkpoint layouts hfprobe knows) are read; pickles are refused.

## Reproduce from the command line
```
pip install -e .                    # from a checkout of hfprobe
hfprobe inspect org/name            # format, family, root, evidence, conflicts (add --json)
hfprobe predict org/name            # predicted categories
hfprobe annotate org/name --out cards/   # the card section this page shows (or --push to open a PR)
hfprobe index add org/a org/b       # build the search index
hfprobe query "a photo of a dog" --tree runwayml/stable-diffusion-v1-5
```
"""


# ---- the work behind each button (plain functions: testable without a browser) ----------------------
def _readable(err: Exception) -> str:
    if isinstance(err, HfprobeError):
        return f"**Error:** {err}"
    log.exception("internal error")
    return (
        f"**Internal error** ({type(err).__name__}); the server log has details. "
        "Please report it with the input you used."
    )


def _spec_from_inputs(repo_id: str | None, upload) -> tuple[str, str]:
    """(spec, how) from the text box or the uploaded file; raises UsageError for bad input."""
    from hfprobe.errors import InvalidWeightsError, UsageError

    path = getattr(upload, "name", upload) if upload else None
    if path:
        p = Path(path)
        size = p.stat().st_size
        if size > MAX_UPLOAD_BYTES:
            raise UsageError(
                f"{p.name}: {size / 1024**3:.1f} GiB is over this Space's {MAX_UPLOAD_BYTES / 1024**3:.1f} GiB "
                "upload limit; run `hfprobe inspect FILE` locally instead"
            )
        if not p.name.endswith(CHECKPOINT_SUFFIXES):
            raise InvalidWeightsError(
                f"{p.name}: not a .safetensors file; upload a .safetensors weights file "
                "(pickled .bin/.ckpt files are not read here)"
            )
        return str(p), "upload"
    repo_id = (repo_id or "").strip()
    if not repo_id:
        raise UsageError("nothing to inspect; enter a Hub repo id (org/name) or upload a .safetensors file")
    if ALLOW_LOCAL and os.path.exists(repo_id):
        return repo_id, "local"
    return repo_id, "hub"


def _card_diff(spec: str, how: str, report: dict, predictions: dict | None, token: str | None) -> str:
    from hfprobe.cards.annotate import annotate_repo, diff_text
    from hfprobe.cards.card import update_card

    if how == "hub":  # the real card, fetched from the Hub; nothing is written (dry run)
        res = annotate_repo(
            spec, dry_run=True, token=token or None, inspect_fn=lambda s, t: report, predict_fn=lambda s, t: predictions
        )
        return getattr(res, "diff", "") or "(the card already holds exactly this; nothing would change)"
    old = None
    if how == "local":
        folder = Path(spec) if Path(spec).is_dir() else Path(spec).parent
        old = (folder / "README.md").read_text(encoding="utf-8") if (folder / "README.md").is_file() else None
    upd = update_card(old, dict(report, source=Path(spec).name), predictions, name="README.md")
    return diff_text(old or "", upd.text, "README.md")


def _predict(spec: str, token: str | None) -> tuple[dict | None, str]:
    """Predictions, or (None-like, note) when no expert can speak: inspect results still show."""
    from hfprobe.experts.expert import default_experts_dir
    from hfprobe.experts.predict import predict

    if not default_experts_dir().exists():
        note = f"no categories: no experts installed at {default_experts_dir()} (set HFPROBE_EXPERTS)"
        return {"predictions": [], "status": note}, note
    try:
        pred = predict(spec, token=token or None)
    except HfprobeError as err:  # the weights were already read by inspect; this is about the experts
        return {"predictions": [], "status": str(err)}, f"no categories: {err}"
    if not pred.get("predictions"):
        reason = (pred.get("routing") or {}).get("reason") or "no expert for this tree"
        return pred, f"no categories: {reason}"
    return pred, f"categories from expert {(pred.get('expert') or {}).get('name')} ({pred.get('method')})"


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
    for ev in (root.get("evidence") or [])[:8]:
        lines.append(f"  - evidence: {ev}")
    conflicts = report.get("conflicts") or []
    lines.append("- **conflicts:** " + ("; ".join(conflicts) if conflicts else "none"))
    for key, value in (report.get("declared") or {}).items():
        lines.append(f"- **declared** ({key}): {value}")
    lines.append(f"- read {int(report.get('bytes_read') or 0):,} bytes")
    if note:
        lines.append(f"- {note}")
    return "\n".join(lines)


def inspect_action(repo_id, upload, token, progress=gr.Progress()):  # noqa: B008 - gradio injects progress through this default
    """Inspect button: (status, summary markdown, bar chart data, card diff, state for the PR button)."""
    try:
        spec, how = _spec_from_inputs(repo_id, upload)
        from hfprobe.tree.inspect import inspect_source

        progress(0.1, desc="reading the weights' layout")
        report = inspect_source(spec, token=token or None)
        progress(0.5, desc="predicting categories with the tree's expert")
        predictions, note = _predict(spec, token)
        progress(0.8, desc="writing the card section")
        diff = _card_diff(spec, how, report, predictions, token)
        preds = (predictions or {}).get("predictions") or []
        bars = pd.DataFrame({"category": [p["label"] for p in preds], "score": [float(p["score"]) for p in preds]})
        state = {"spec": spec, "how": how}
        if how == "upload":
            report = dict(report, source=f"uploaded file {Path(spec).name}")
        return "Done.", _summary(report, note), bars if len(bars) else EMPTY_BARS, diff, state
    except Exception as err:  # every failure becomes a line in the page
        return _readable(err), "", EMPTY_BARS, "", None


def pr_action(state, token):
    """Open-PR button: one pull request with the card section (annotate_repo(push=True))."""
    try:
        from hfprobe.errors import UsageError

        if not state or state.get("how") != "hub":
            raise UsageError("a pull request needs a Hub repo; inspect a repo id first (uploads have no repo)")
        if not (token or "").strip():
            raise UsageError("opening a pull request needs a Hugging Face token with write access; paste one above")
        from hfprobe.cards.annotate import annotate_repo

        res = annotate_repo(state["spec"], push=True, token=token.strip())
        if res.status == "annotated":
            return f"Pull request: {res.written}"
        return f"Nothing opened ({res.status}{': ' + res.reason if res.reason else ''})" + (
            f" {res.written}" if res.written else ""
        )
    except Exception as err:
        return _readable(err)


def _index(index_dir):
    from hfprobe.search.index import ModelIndex

    return ModelIndex(index_dir, create=False)


def search_action(text, tree, top_k, index_dir=None):
    """Search button: (status, results table)."""
    cols = ["rank", "score", "model", "tree", "why"]
    try:
        hits = _index(index_dir).query(
            text or "", tree=None if tree in (None, "", "all trees") else tree, top_k=int(top_k)
        )
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
        return status, pd.DataFrame(rows, columns=cols)
    except Exception as err:
        return _readable(err), pd.DataFrame([], columns=cols)


def tree_choices(index_dir=None) -> list[str]:
    try:
        return ["all trees"] + _index(index_dir).trees()
    except HfprobeError:
        return ["all trees"]


# ---- the page ----------------------------------------------------------------------------------------
def create_app(index_dir: str | None = None) -> gr.Blocks:
    """The Blocks app. `index_dir`: the search index (default $HFPROBE_INDEX, <space>/index, or the cache)."""
    if index_dir is None and not os.environ.get("HFPROBE_INDEX") and (HERE / "index").is_dir():
        index_dir = str(HERE / "index")
    with gr.Blocks(title="hfprobe: what do the weights say?") as demo:
        gr.Markdown(
            "# hfprobe\nRead a model's weights: which foundation model it comes from, and what it was trained on."
        )
        with gr.Tab("Inspect"):
            with gr.Row():
                repo = gr.Textbox(label="Hub repo id", placeholder="org/name or org/name@revision", elem_id="repo")
                upload = gr.File(
                    label="or upload a .safetensors file",
                    file_types=[".safetensors"],
                    type="filepath",
                    elem_id="upload",
                )
            token = gr.Textbox(label="Hugging Face token (only to open a pull request; never stored)", type="password")
            go = gr.Button("Inspect", variant="primary", elem_id="inspect-btn")
            status = gr.Markdown(elem_id="inspect-status")
            summary = gr.Markdown(elem_id="inspect-summary")
            bars = gr.BarPlot(
                EMPTY_BARS, x="category", y="score", title="predicted categories", y_lim=[0, 1], elem_id="bars"
            )
            diff = gr.Code(
                label="card section it would write (diff of README.md)", language="markdown", elem_id="card-diff"
            )
            state = gr.State(None)
            pr = gr.Button("Open a pull request with this card section", elem_id="pr-btn")
            pr_status = gr.Markdown(elem_id="pr-status")
            go.click(inspect_action, [repo, upload, token], [status, summary, bars, diff, state], api_name="inspect")
            pr.click(pr_action, [state, token], [pr_status], api_name="open_pr")
        with gr.Tab("Search"):
            text = gr.Textbox(
                label="describe what the model was trained on", placeholder="a photo of a dog", elem_id="query"
            )
            with gr.Row():
                tree = gr.Dropdown(
                    choices=tree_choices(index_dir), value="all trees", label="tree", allow_custom_value=True
                )
                top_k = gr.Slider(1, 50, value=10, step=1, label="results")
            find = gr.Button("Search", variant="primary", elem_id="search-btn")
            sstatus = gr.Markdown(elem_id="search-status")
            table = gr.Dataframe(
                headers=["rank", "score", "model", "tree", "why"],
                datatype=["number", "number", "markdown", "str", "str"],
                interactive=False,
                elem_id="results",
            )
            find.click(
                lambda t, tr, k: search_action(t, tr, k, index_dir),
                [text, tree, top_k],
                [sstatus, table],
                api_name="search",
            )
            text.submit(lambda t, tr, k: search_action(t, tr, k, index_dir), [text, tree, top_k], [sstatus, table])
        with gr.Tab("About"):
            gr.Markdown(ABOUT)
    return demo


if __name__ == "__main__":
    create_app().queue(default_concurrency_limit=2).launch(max_file_size=MAX_UPLOAD_BYTES, show_error=False)

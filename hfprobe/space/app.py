"""The hfprobe Space: inspect a model's weights, predict what it was trained on, search models, open the card PR.

A thin face on the library (`inspect_source`, `predict`, `update_card` / `annotate_repo`, `ModelIndex.query`),
and a public service, so it never reads a path a visitor names:

- the text box takes a Hub model repo as the CLI writes one (`org/name[@revision]`, `hf://…`, its huggingface.co
  address, a file or folder in it) and nothing else; any other text gets the same refusal, decided on the string
  alone before any filesystem call, so the answer says nothing about the server's disk. A repo is read from the
  Hub only (a local folder of the same spelling is never looked at);
- an upload is checked for where gradio put it, its name, its size and its first bytes before it is read;
- every answer comes within a time limit; every failure is a `gr.Error` of one line with no server path,
  temp path, token or traceback in it;
- the Hub is read with the visitor's own token (signed in with Hugging Face on a Space, a token box when run
  locally), never with the server's.

API (gradio_client): /inspect(source), /inspect_file(file), /predict(source, labels), /predict_file(file, labels),
/search(query, tree, top_k), /open_pr(source); endpoints that can use the visitor's token take it as `oauth_token`.

This module owns the page: the Blocks layout and its event wiring (`create_app`), the About text and the examples
drawn from the index, the settings a Space reads (`apply_settings`) and `main`. The input checks and the clean
answers are in guard.py, the work behind each endpoint in endpoints.py. May import every stage below the Space
(source ... search), hfprobe.config and hfprobe.errors.

    >>> demo = create_app(index_dir="index")    # doctest: +SKIP
    >>> demo.launch()                           # doctest: +SKIP
"""

import json
import logging
import os
import threading
from pathlib import Path

from ..config import require
from ..errors import HfprobeError
from .endpoints import (
    ALL_TREES,
    inspect,
    inspect_file,
    open_index,
    open_pr,
    predict,
    predict_file,
    predict_page,
    search_fn,
)
from .guard import REPO_SPEC, SUFFIX, WORKERS, answer, max_upload_bytes

gr = require("gradio", "space")

log = logging.getLogger(__name__)

SETTINGS_FILE = "hfprobe-space.json"  # written by `hfprobe space push`; a Space variable of the same name wins
SETTINGS_KEYS = (
    "HFPROBE_EXPERTS",
    "HFPROBE_INDEX",
    "HFPROBE_SPACE_TIME_LIMIT",
    "HFPROBE_SPACE_MAX_UPLOAD",
    "HFPROBE_SPACE_WARMUP",
)


def on_space() -> bool:
    """Running on a Hugging Face Space (sign-in with Hugging Face) rather than locally (a token box)."""
    return os.environ.get("SYSTEM") == "spaces" and bool(os.environ.get("SPACE_ID"))


def apply_settings(folder) -> dict:
    """Read `folder`/hfprobe-space.json into the environment where a variable is not set already.

    Relative paths in it (HFPROBE_INDEX, a local HFPROBE_EXPERTS folder) are relative to `folder`.
    Returns what was applied.
    """
    path = Path(folder) / SETTINGS_FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    applied = {}
    for key in SETTINGS_KEYS:
        value = data.get(key)
        if value in (None, "") or os.environ.get(key):
            continue
        value = str(value)
        if key == "HFPROBE_INDEX" or (key == "HFPROBE_EXPERTS" and (Path(folder) / value).exists()):
            value = str(Path(folder) / value)
        os.environ[key] = applied[key] = value
    return applied


# ---- the page --------------------------------------------------------------------------------------------------
def about_text(example: tuple[str, str | None] | None = None) -> str:
    """The About tab; `example` is a (query, tree) of the index that finds models of that tree."""
    query, tree = example or ("a photo of a dog", None)
    tree = f" --tree {tree}" if tree else ""
    return f"""
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
  from an expert (hfprobe does not guess), and experts trained on small zoos are weak.
- Category scores are evidence, not proof; a model can be trained on things outside the expert's labels.
- This page reads Hub repos and uploaded `.safetensors` files only; pickles are refused.

## Reproduce from the command line
```
pip install hfprobe                  # add [search] for the index
hfprobe inspect org/name             # format, family, root, evidence, conflicts (add --json)
hfprobe predict org/name             # predicted categories (--labels "dog,cat" for zero-shot)
hfprobe annotate org/name --push     # the card section this page shows, as a pull request
hfprobe index add org/a org/b        # build the search index
hfprobe query "{query}"{tree}
```
"""


def _index_facts(index_dir) -> tuple[list[str], list[str], list[str], tuple[str, str | None] | None]:
    """(trees, example queries, example repo ids, the About's (query, tree)) from the index: examples that find
    models. The About's query is the first example, with the tree of the model that has its label the most."""
    try:
        index = open_index(index_dir)
        trees = index.trees()
        hits = index.query("a photo of an object", top_k=20, explain=False) if len(index) else []
    except HfprobeError:
        return [], [], [], None
    counts: dict[str, float] = {}
    best: dict[str, tuple[float, str | None]] = {}  # label -> (its highest score, that model's tree)
    for h in hits:
        for c in h.get("categories") or []:
            label, score = str(c["label"]), float(c["score"])
            counts[label] = counts.get(label, 0.0) + score
            if score > best.get(label, (-1.0, None))[0]:
                best[label] = (score, h.get("tree") or None)
    labels = sorted(counts, key=lambda lab: -counts[lab])[:3]
    repos = list(dict.fromkeys(h["repo"] for h in hits if h.get("repo") and REPO_SPEC.fullmatch(str(h["repo"]))))[:3]
    about = (f"a photo of a {labels[0]}", best[labels[0]][1]) if labels else None
    return trees, [f"a photo of a {lab}" for lab in labels], repos, about


def create_app(index_dir: str | None = None, *, oauth: bool | None = None) -> "gr.Blocks":
    """The Blocks app. `index_dir`: the search index (default $HFPROBE_INDEX or the cache's index).

    `oauth`: sign in with Hugging Face (a Space) or a token box (local); default: whichever this is.
    """
    oauth = on_space() if oauth is None else oauth
    trees, queries, repos, about = _index_facts(index_dir)
    with gr.Blocks(title="hfprobe: what do the weights say?") as demo:
        gr.Markdown(
            "# hfprobe\nRead a model's weights: which foundation model it comes from, and what it was trained on."
        )
        if oauth:
            gr.LoginButton()
            token_box = None
        else:
            token_box = gr.Textbox(
                label="Hugging Face token (only to open a pull request; never stored)", type="password"
            )
        with gr.Tab("Inspect"):
            with gr.Row():
                repo = gr.Textbox(
                    label="Hub repo",
                    placeholder="org/name, org/name@revision or its huggingface.co address",
                    elem_id="repo",
                )
                upload = gr.File(
                    label="or upload a .safetensors file", file_types=[SUFFIX], type="filepath", elem_id="upload"
                )
            go = gr.Button("Inspect", variant="primary", elem_id="inspect-btn")
            if repos:
                gr.Examples([[r] for r in repos], inputs=[repo], label="models in this Space's index")
            summary = gr.Markdown(elem_id="inspect-summary")
            bars = gr.BarPlot(x="category", y="score", title="predicted categories", sort="-y", elem_id="bars")
            diff = gr.Code(label="card section it would write (diff of README.md)", language="markdown")
            with gr.Accordion("raw report (JSON)", open=False):
                raw = gr.JSON()
            outputs = [summary, bars, diff, raw]
            go.click(inspect, [repo], outputs, api_name="inspect")
            upload.upload(inspect_file, [upload], outputs, api_name="inspect_file")
            with gr.Row():
                labels = gr.Textbox(
                    label="zero-shot labels, comma-separated (empty: the expert's own); Predict reads the Hub repo, "
                    "or the uploaded file when that box is empty",
                    elem_id="labels",
                    scale=3,
                )
                guess = gr.Button("Predict", elem_id="predict-btn", scale=1)
            pnote = gr.Markdown(elem_id="predict-note")
            pbars = gr.BarPlot(x="category", y="score", title="categories", sort="-y", elem_id="predict-bars")
            with gr.Accordion("raw prediction (JSON)", open=False):
                praw = gr.JSON()
            pouts = [pnote, pbars, praw]
            # the button reads the repo box, or the upload where the box is empty; the API keeps one input per route
            guess.click(predict_page, [repo, upload, labels], pouts, api_visibility="private")
            api_only = gr.Button(visible=False)
            api_only.click(predict, [repo, labels], pouts, api_name="predict")
            api_only.click(predict_file, [upload, labels], pouts, api_name="predict_file")
            pr = gr.Button("Open a pull request with this card section", elem_id="pr-btn")
            pr_status = gr.Markdown(elem_id="pr-status")
            if oauth:
                pr.click(open_pr, [repo], [pr_status], api_name="open_pr")
            else:  # the page sends the token box; API clients use /open_pr with their oauth_token
                pr.click(_open_pr_with_token, [repo, token_box], [pr_status], api_visibility="private")
                gr.api(_api_open_pr, api_name="open_pr")
        with gr.Tab("Search"):
            text = gr.Textbox(
                label="describe what the model was trained on",
                info="or leave it empty and pick a tree to list that tree's models",
                placeholder="a photo of a dog",
                elem_id="query",
            )
            with gr.Row():
                tree = gr.Dropdown(choices=[ALL_TREES, *trees], value=ALL_TREES, label="tree")
                top_k = gr.Slider(1, 50, value=10, step=1, label="results")
            find = gr.Button("Search", variant="primary", elem_id="search-btn")
            if queries:
                gr.Examples([[q, ALL_TREES, 10] for q in queries], inputs=[text, tree, top_k])
            sstatus = gr.Markdown(elem_id="search-status")
            table = gr.Dataframe(
                headers=["rank", "score", "model", "tree", "why"],
                datatype=["number", "number", "markdown", "str", "str"],
                interactive=False,
                elem_id="results",
            )
            gr.on(
                [find.click, text.submit],
                search_fn(index_dir),
                [text, tree, top_k],
                [sstatus, table],
                api_name="search",
            )
        with gr.Tab("About"):
            gr.Markdown(about_text(about))
    return demo


def _api_open_pr(source: str, oauth_token: gr.OAuthToken | None) -> str:
    """Open one pull request on a Hub repo with hfprobe's card section, in the caller's name (its oauth_token)."""
    return open_pr(source, oauth_token)


@answer(pool="hub")
def _open_pr_with_token(source: str, token: str):
    """The local page's PR button (a token box instead of sign-in); not an API endpoint."""
    return open_pr.__wrapped__(source, token)


def start_warmup() -> threading.Thread | None:
    """In the background, fetch the text encoders the readout reads SD LoRAs through and compute their token states
    for the default vocabulary and the label features the readout reads from them: on 2 CPUs that is minutes (SD
    1.5's: a 0.5 GB download and about a minute), which would otherwise fall on the first visitor's SD LoRA and run
    past the time limit. Public repos, read without a token. On a Space by default; HFPROBE_SPACE_WARMUP=1 also
    locally (`hfprobe space run`), 0 nowhere."""
    setting = os.environ.get("HFPROBE_SPACE_WARMUP", "").strip()
    if setting == "0" or (setting != "1" and not on_space()):
        return None

    def run():
        from ..experts.readout import default_config
        from ..experts.readout_features import prepare_labels
        from ..text.states import warm_root_states

        def features(states):  # what a readout reads: computed once here, read from the cache by every request
            prepare_labels(states, default_config())

        try:
            for root, status in warm_root_states(token=False, then=features).items():
                (log.info if status == "ready" else log.warning)("readout warm-up: %s: %s", root, status)
        except Exception as err:  # a bug of ours: logged, and the page serves on (each request computes its own)
            log.error("readout warm-up failed", exc_info=err)

    thread = threading.Thread(target=run, name="hfprobe-warmup", daemon=True)
    thread.start()
    return thread


def main(folder=None, **launch) -> None:
    """Run the app: settings from `folder` (the Space's files), the index beside it if there is one; the readout's
    text encoders warm up in the background (`start_warmup`)."""
    folder = Path(folder) if folder else Path.cwd()
    apply_settings(folder)
    start_warmup()
    index_dir = os.environ.get("HFPROBE_INDEX") or (str(folder / "index") if (folder / "index").is_dir() else None)
    demo = create_app(index_dir)
    demo.queue(default_concurrency_limit=WORKERS).launch(max_file_size=max_upload_bytes(), show_error=False, **launch)

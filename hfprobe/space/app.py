"""The hfprobe Space: inspect a model's weights, predict what it was trained on, search models, open the card PR.

A thin face on the library (`inspect_source`, `predict`, `update_card` / `annotate_repo`, `ModelIndex.query`),
and a public service, so it never reads a path a visitor names:

- the text box takes a Hub repo id (`org/name[@revision]`) and nothing else; any other text gets the same
  refusal, decided on the string alone before any filesystem call, so the answer says nothing about the
  server's disk. A valid id is read from the Hub only (a local folder of the same spelling is never looked at);
- an upload is checked for where gradio put it, its name, its size and its first bytes before it is read;
- every answer comes within a time limit; every failure is a `gr.Error` of one line with no server path,
  temp path, token or traceback in it;
- the Hub is read with the visitor's own token (signed in with Hugging Face on a Space, a token box when run
  locally), never with the server's.

API (gradio_client): /inspect(source), /inspect_file(file), /predict(source, labels), /search(query, tree, top_k),
/open_pr(source); endpoints that can use the visitor's token take it as `oauth_token`.

    >>> demo = create_app(index_dir="index")    # doctest: +SKIP
    >>> demo.launch()                           # doctest: +SKIP
"""

import concurrent.futures
import functools
import json
import logging
import os
import re
from pathlib import Path

from ..config import require
from ..errors import HfprobeError, SearchIndexError

gr = require("gradio", "space")

log = logging.getLogger(__name__)

SETTINGS_FILE = "hfprobe-space.json"  # written by `hfprobe space push`; a Space variable of the same name wins
SETTINGS_KEYS = ("HFPROBE_EXPERTS", "HFPROBE_INDEX", "HFPROBE_SPACE_TIME_LIMIT", "HFPROBE_SPACE_MAX_UPLOAD")
ALL_TREES = "all trees"
MAX_TEXT = 300  # characters of a repo id, query or label list
MAX_LABELS = 100
SUFFIX = ".safetensors"
WORKERS = 4

REFUSED = (
    "enter a Hub model repo id such as org/name or org/name@revision; local paths, URLs and other text are not "
    "accepted here (upload a .safetensors file instead)"
)
UPLOAD_REFUSED = "the upload could not be used; upload one .safetensors weights file"

# org/name[@revision], as the Hub spells them: letters, digits, '.', '_', '-'; no '..' or '--'; a revision is a
# branch, tag or commit (slashes allowed, as in refs/pr/1)
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?"
_REPO_SPEC = re.compile(rf"({_NAME})/({_NAME})(?:@([A-Za-z0-9][A-Za-z0-9._/-]{{0,199}}))?")
# an absolute path (or ~/...) in a message: replaced before it reaches a client
_ABS_PATH = re.compile(r"(?<![\w.:/~-])~?/[^\s'\"`(),;]*")


def max_upload_bytes() -> int:
    """$HFPROBE_SPACE_MAX_UPLOAD bytes (default 2 GiB: a full SD checkpoint fits)."""
    return int(os.environ.get("HFPROBE_SPACE_MAX_UPLOAD") or 2 * 1024**3)


def time_limit() -> float:
    """$HFPROBE_SPACE_TIME_LIMIT seconds a request may take before the visitor is answered (default 120)."""
    return float(os.environ.get("HFPROBE_SPACE_TIME_LIMIT") or 120)


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


# ---- input checks: strings first, no filesystem --------------------------------------------------------------
def parse_repo_spec(text) -> tuple[str, str | None]:
    """(repo_id, revision) from the visitor's text, or gr.Error(REFUSED) for anything else.

    Decided on the string alone: the answer is the same whatever exists on the server.

    >>> parse_repo_spec(" org/name@v1 ")
    ('org/name', 'v1')
    >>> parse_repo_spec("/etc/passwd")
    Traceback (most recent call last):
    ...
    gradio.exceptions.Error: 'enter a Hub model repo id such as org/name or org/name@revision; local paths, URLs and \
other text are not accepted here (upload a .safetensors file instead)'
    """
    text = text.strip() if isinstance(text, str) else ""
    match = _REPO_SPEC.fullmatch(text) if len(text) <= MAX_TEXT else None
    if not match or ".." in text or "--" in text or "//" in text or text.endswith("/"):
        raise gr.Error(REFUSED, print_exception=False)
    return f"{match.group(1)}/{match.group(2)}", match.group(3)


def parse_labels(text) -> list[str] | None:
    """Comma-separated zero-shot labels, or None (the expert's own labels) for an empty box."""
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        return None
    if len(text) > MAX_TEXT * 10:
        raise gr.Error(f"the labels are over {MAX_TEXT * 10} characters; give at most {MAX_LABELS} short labels")
    labels = [x.strip() for x in text.split(",")]
    if len(labels) > MAX_LABELS:
        raise gr.Error(f"{len(labels)} labels; give at most {MAX_LABELS}, comma-separated")
    return labels


def _token(oauth_token) -> str | bool:
    """The visitor's token, or False: never fall back to the server's own token (HF_TOKEN of the Space)."""
    value = getattr(oauth_token, "token", oauth_token)
    return value.strip() if isinstance(value, str) and value.strip() else False


def hub_source(repo_id: str, revision: str | None, token):
    """A Source that reads `repo_id` from the Hub only (resolve() would prefer a local folder of that name)."""
    from ..source.resolve import Source

    return Source(
        "hub", repo_id + (f"@{revision}" if revision else ""), repo_id=repo_id, revision=revision, token=token
    )


def upload_source(path):
    """A Source for a file gradio received, after checking where it is, its name, size and first bytes."""
    from ..source.resolve import Source

    if not path or not isinstance(path, str):
        raise gr.Error("nothing uploaded; upload a .safetensors weights file", print_exception=False)
    name = Path(path).name[:120]
    if not name.endswith(SUFFIX):
        raise gr.Error(
            f"{name}: not a .safetensors file; upload a .safetensors weights file (pickled .bin/.ckpt files are not "
            "read here)",
            print_exception=False,
        )
    folder = Path(gr.utils.get_upload_folder()).resolve()
    real = Path(path).resolve()
    if folder not in real.parents or not real.is_file():  # only files gradio itself received
        raise gr.Error(UPLOAD_REFUSED, print_exception=False)
    size = real.stat().st_size
    limit = max_upload_bytes()
    if size > limit:
        raise gr.Error(
            f"{name}: {size / 1024**3:.1f} GiB is over this Space's {limit / 1024**3:.1f} GiB upload limit; run "
            "`hfprobe inspect FILE` locally instead",
            print_exception=False,
        )
    with open(real, "rb") as fh:
        head = fh.read(9)
    if len(head) < 9 or int.from_bytes(head[:8], "little") + 8 > size or head[8:9] != b"{":
        raise gr.Error(
            f"{name}: not a safetensors file (it does not start with a safetensors header); upload a .safetensors "
            "weights file",
            print_exception=False,
        )
    return Source("file", f"uploaded file {name}", root=real.parent, default_file=real.name)


# ---- answers: a time limit, and one clean line for every failure ----------------------------------------------
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hfprobe-space")


def public_message(text: str) -> str:
    """A message safe for a visitor: no token, no absolute path, one line, at most 400 characters.

    >>> public_message("cannot read /tmp/gradio/abc/x.safetensors with hf_abcdefghijklmnop")
    'cannot read <server path> with hf_***'
    """
    from ..source.hub import scrub

    text = " ".join(_ABS_PATH.sub("<server path>", scrub(str(text))).split())
    return text if len(text) <= 400 else text[:399] + "…"


def answer(fn):
    """Run `fn` within the time limit; turn every failure into a gr.Error with a public one-line message.

    The limit bounds the wait, not the work: Python cannot stop a thread, so a request over the limit is answered
    and its work runs on in the pool (reads are bounded; see docs/space.md).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        future = _POOL.submit(fn, *args, **kwargs)
        try:
            return future.result(timeout=time_limit())
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise gr.Error(
                f"no answer within {time_limit():.0f} s; try a smaller model, or run hfprobe on your own machine",
                print_exception=False,
            ) from None
        except gr.Error as err:
            raise gr.Error(public_message(err.message), print_exception=False) from None
        except HfprobeError as err:
            raise gr.Error(public_message(str(err)), print_exception=False) from None
        except Exception as err:  # a bug of ours: logged on the server, one line for the visitor
            log.error("internal error in %s", fn.__name__, exc_info=err)
            raise gr.Error(
                f"internal error ({type(err).__name__}); the server log has details, please report it",
                print_exception=False,
            ) from None

    return wrapper


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
    from ..experts.expert import load_experts_from

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


def public_message_block(text: str) -> str:
    """Markdown shown to a visitor: tokens and absolute paths removed, line breaks kept."""
    from ..source.hub import scrub

    return "\n".join(_ABS_PATH.sub("<server path>", scrub(line)) for line in text.splitlines())


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
    return _summary(report, note), _bars(predictions), public_message_block(diff), json.loads(_public_json(raw))


def _public_json(obj) -> str:
    from ..source.hub import scrub

    return _ABS_PATH.sub("<server path>", scrub(json.dumps(obj, default=str)))


@answer
def inspect(source: str, oauth_token: gr.OAuthToken | None):
    """Inspect a Hub repo: (summary, predicted categories, card diff, raw report)."""
    repo_id, revision = parse_repo_spec(source)
    token = _token(oauth_token)
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
    token = _token(oauth_token)
    out, note = _predict(hub_source(repo_id, revision, token), wanted, token)
    return f"### {repo_id}\n{note}", _bars(out), json.loads(_public_json(out))


def _index(index_dir):
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
            index = _index(index_dir)
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
    token = _token(oauth_token)
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


@answer
def _open_pr_with_token(source: str, token: str):
    """The local page's PR button (a token box instead of sign-in); not an API endpoint."""
    return open_pr.__wrapped__(source, token)


# ---- the page --------------------------------------------------------------------------------------------------
def about_text(examples: list[str], trees: list[str]) -> str:
    query = examples[0] if examples else "a photo of a dog"
    tree = f" --tree {trees[0]}" if trees else ""
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


def _index_facts(index_dir) -> tuple[list[str], list[str], list[str]]:
    """(trees, example queries, example repo ids) from the index: examples that return results."""
    try:
        index = _index(index_dir)
        trees = index.trees()
        hits = index.query("a photo of an object", top_k=20, explain=False) if len(index) else []
    except HfprobeError:
        return [], [], []
    counts: dict[str, float] = {}
    for h in hits:
        for c in h.get("categories") or []:
            counts[str(c["label"])] = counts.get(str(c["label"]), 0.0) + float(c["score"])
    labels = sorted(counts, key=lambda lab: -counts[lab])[:3]
    repos = list(dict.fromkeys(h["repo"] for h in hits if h.get("repo") and _REPO_SPEC.fullmatch(str(h["repo"]))))[:3]
    return trees, [f"a photo of a {lab}" for lab in labels], repos


def create_app(index_dir: str | None = None, *, oauth: bool | None = None) -> "gr.Blocks":
    """The Blocks app. `index_dir`: the search index (default $HFPROBE_INDEX or the cache's index).

    `oauth`: sign in with Hugging Face (a Space) or a token box (local); default: whichever this is.
    """
    oauth = on_space() if oauth is None else oauth
    trees, queries, repos = _index_facts(index_dir)
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
                repo = gr.Textbox(label="Hub repo id", placeholder="org/name or org/name@revision", elem_id="repo")
                upload = gr.File(
                    label="or upload a .safetensors file", file_types=[SUFFIX], type="filepath", elem_id="upload"
                )
            go = gr.Button("Inspect", variant="primary", elem_id="inspect-btn")
            if repos:
                gr.Examples([[r] for r in repos], inputs=[repo], label="models in this Space's index")
            summary = gr.Markdown(elem_id="inspect-summary")
            bars = gr.BarPlot(
                x="category", y="score", title="predicted categories (calibrated probability)", elem_id="bars"
            )
            diff = gr.Code(label="card section it would write (diff of README.md)", language="markdown")
            with gr.Accordion("raw report (JSON)", open=False):
                raw = gr.JSON()
            outputs = [summary, bars, diff, raw]
            go.click(inspect, [repo], outputs, api_name="inspect")
            upload.upload(inspect_file, [upload], outputs, api_name="inspect_file")
            with gr.Row():
                labels = gr.Textbox(
                    label="zero-shot labels, comma-separated (empty: the expert's own)", elem_id="labels", scale=3
                )
                guess = gr.Button("Predict", elem_id="predict-btn", scale=1)
            pnote = gr.Markdown(elem_id="predict-note")
            pbars = gr.BarPlot(
                x="category", y="score", title="categories (calibrated probability)", elem_id="predict-bars"
            )
            with gr.Accordion("raw prediction (JSON)", open=False):
                praw = gr.JSON()
            guess.click(predict, [repo, labels], [pnote, pbars, praw], api_name="predict")
            pr = gr.Button("Open a pull request with this card section", elem_id="pr-btn")
            pr_status = gr.Markdown(elem_id="pr-status")
            if oauth:
                pr.click(open_pr, [repo], [pr_status], api_name="open_pr")
            else:  # the page sends the token box; API clients use /open_pr with their oauth_token
                pr.click(_open_pr_with_token, [repo, token_box], [pr_status], api_visibility="private")
                gr.api(_api_open_pr, api_name="open_pr")
        with gr.Tab("Search"):
            text = gr.Textbox(
                label="describe what the model was trained on", placeholder="a photo of a dog", elem_id="query"
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
            gr.Markdown(about_text(queries, trees))
    return demo


def _api_open_pr(source: str, oauth_token: gr.OAuthToken | None) -> str:
    """Open one pull request on a Hub repo with hfprobe's card section, in the caller's name (its oauth_token)."""
    return open_pr(source, oauth_token)


def main(folder=None, **launch) -> None:
    """Run the app: settings from `folder` (the Space's files), the index beside it if there is one."""
    folder = Path(folder) if folder else Path.cwd()
    apply_settings(folder)
    index_dir = os.environ.get("HFPROBE_INDEX") or (str(folder / "index") if (folder / "index").is_dir() else None)
    demo = create_app(index_dir)
    demo.queue(default_concurrency_limit=WORKERS).launch(max_file_size=max_upload_bytes(), show_error=False, **launch)

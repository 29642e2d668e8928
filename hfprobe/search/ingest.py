"""Filling the search index: describe one model (route, predict, embed its categories) and add many sources.

The per-model work (`describe_model`) reads only what prediction needs and returns one `IndexRow`;
`add_sources` runs it locally or as Ray tasks and commits each row as it arrives, so an interrupted batch
keeps what it finished and a rerun skips what is already indexed.

    >>> idx = ModelIndex("/tmp/idx")                                         # doctest: +SKIP
    >>> add_sources(idx, ["org/dog-lora", "./my-lora"], describe_kwargs={"experts": "./experts"})  # doctest: +SKIP
    {'added': 2, 'skipped': 0, 'failed': []}
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from ..errors import HfprobeError, UsageError
from ..formats.pick import pick_weights
from .index import ModelIndex
from .rows import IndexRow, embed_categories, model_id_for


def _file_sha(src, name: str | None) -> str:
    if not name:
        return ""
    if src.kind != "hub":
        path = Path(src.root) / name
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    try:  # the Hub's LFS sha256, from a HEAD request (no download)
        from huggingface_hub import get_hf_file_metadata, hf_hub_url

        meta = get_hf_file_metadata(
            hf_hub_url(src.repo_id, name, revision=src.revision_sha or src.revision), token=getattr(src, "token", None)
        )
        return (meta.etag or "").strip('"')
    except Exception:
        return ""


_POOLS: dict[str, list] = {}  # experts loaded once per process (per Ray worker too), keyed by where they came from


def _expert_pool(experts) -> list:
    """The experts to predict with, looked up once per location per process (a batch checks its experts folder
    once, not per model). A default location that does not exist yet is no error: no model gets categories
    from an expert, each is indexed by its tree and root and says why it has no score."""
    from ..experts.expert import default_experts_dir
    from ..experts.publish import load_experts_from

    if experts is not None and not isinstance(experts, (str, os.PathLike)):
        return list(experts)  # Expert objects (or a list of places) given by the caller
    key = str(experts if experts is not None else default_experts_dir())
    if key not in _POOLS:
        if experts is None and not Path(key).is_dir():
            _POOLS[key] = []
        else:
            _POOLS[key] = load_experts_from(key)
    return _POOLS[key]


def describe_model(spec: str, *, experts=None, text_encoder=None, token=None, top_k: int = 5) -> IndexRow:
    """One index row for a model: its tree (family, root), format, the commit read, and its categories where an
    expert (or, with no expert, the readout) answers, placed in that text space. A model nothing can score is
    a row too, without categories, whose `reason` says why.

    `experts`: a folder of experts, an expert folder or Hub id, or Expert objects (None: the cached
    defaults, $HFPROBE_EXPERTS or <cache>/experts). `text_encoder` overrides the encoder object (tests).
    Raises HfprobeError subclasses for bad input (a file that is not weights, a repo not found).

    >>> describe_model("./zoo/models/sd-dog-3", experts="./experts").categories[0]   # doctest: +SKIP
    {'label': 'dog', 'score': 0.83}
    """
    from huggingface_hub import constants

    from ..errors import ExpertError, HfprobeError, SearchIndexError
    from ..experts.expert import fingerprint
    from ..experts.predict import predict
    from ..source.resolve import resolve
    from ..tree.inspect import inspect_source

    with resolve(spec, token=token) as src:
        report = inspect_source(src)  # the tree for every row, expert or not (reads headers: milliseconds)
        pool = _expert_pool(experts)
        family, root = report.get("family") or "", (report.get("root") or {}).get("id") or ""
        try:
            pred = predict(spec, top_k=top_k, experts=pool, token=token) if pool else _readout_only(spec, token, top_k)
        except ExpertError as err:
            pred = {"predictions": [], "reason": str(err)}
        name = (pred.get("expert") or {}).get("name")
        expert = next((e for e in pool if e.name == name), None)
        cats = [{"label": p["label"], "score": float(p.get("probability", p["score"]))} for p in pred["predictions"]]
        tree = pred.get("tree") or {}
        files = src.files()
        fname = pick_weights(src) if src.default_file else next((f for f in files if f.endswith(".safetensors")), "")
        fname = fname or (files[0] if files else "")
        row = IndexRow(
            id=model_id_for(spec),
            source=src.display,
            embedding=[],
            text_encoder="",
            repo=src.repo_id or "",
            revision=src.revision or "",
            revision_sha=str(report.get("revision_sha") or getattr(src, "revision_sha", None) or ""),
            file=fname,
            file_sha=_file_sha(src, fname),
            family=str(tree.get("family") or family or (expert.config.get("family") if expert else "") or ""),
            root=str(tree.get("root") or root or (expert.config.get("root") if expert else "") or ""),
            kind=str(report.get("kind") or ""),
            format=str(report.get("format") or ""),
            url=f"{constants.ENDPOINT}/{src.repo_id}" if src.kind == "hub" else "",
        )
        if not cats:
            row.reason = _no_score_reason(pred, pool, row.family)
            return row
        from ..text.encoders import DEFAULT_TEXT_ENCODER, get_text_encoder  # categories to place: torch from here

        te = (expert.config.get("text_encoder") or {}) if expert else {}
        try:
            encoder = text_encoder or get_text_encoder(te.get("id") or DEFAULT_TEXT_ENCODER)
            row.embedding = embed_categories(cats, encoder, te.get("prompt"))
        except (HfprobeError, SearchIndexError) as err:  # no text space to place it in: still a row, by tree
            row.reason = f"categories could not be embedded ({err})"
            return row
        row.text_encoder, row.categories = encoder.id, cats
        if expert is not None:
            row.expert = expert.name
            row.expert_version = f"{expert.config.get('version', '?')}-{fingerprint(expert.config)}"
        else:
            row.expert = str(pred.get("method") or "readout")
        return row


def _readout_only(spec: str, token, top_k: int) -> dict:
    """No expert installed: what predict's expert-free readout says (it answers for text-to-image LoRAs)."""
    from ..experts.predict import predict

    return predict(spec, top_k=top_k, experts_dir=_NO_EXPERTS, token=token)


_NO_EXPERTS = Path(os.devnull) / "no-experts"  # never a folder: predict goes straight to the readout


def _no_score_reason(pred: dict, pool: list, family: str) -> str:
    """Why a model has no categories, in one line, without local paths."""
    tree = family or "an unknown tree"
    readout = (pred.get("readout") or {}).get("reason")
    if not pool:
        why = f"no expert is installed (tree {tree})"
    elif not pred.get("expert"):
        why = f"no expert for tree {tree}"
        routing = (pred.get("routing") or {}).get("reason")
        if routing and "/" not in routing:
            why += f" ({routing})"
    else:
        why = "the expert gave no categories"
    return why + (f"; readout: {readout}" if readout else "")


def _describe_safely(describe: Callable, spec: str, kwargs: dict):
    """Run the per-model work; a bad model becomes a failure record instead of stopping the batch."""
    try:
        return ("ok", spec, describe(spec, **kwargs))
    except HfprobeError as err:  # the message already names the source
        return ("error", spec, str(err))


def read_spec_file(path: str | os.PathLike) -> list[str]:
    """Sources from a text file, one a line; blank lines and `#` comments are skipped."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(
            f"{p}: cannot read the source list ({err}); pass a UTF-8 text file, one source a line"
        ) from None
    return [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]


def list_hub_models(filter: str, *, limit: int = 100, token=None) -> list[str]:
    """Repo ids from the Hub (or HF_ENDPOINT) matching a `list_models` filter, e.g. `base_model:adapter:org/root`."""
    from huggingface_hub import HfApi

    from ..errors import NetworkError
    from ..source.transport import hub_read

    try:
        return hub_read(
            "list_models", lambda: [m.id for m in HfApi().list_models(filter=filter, limit=limit, token=token)]
        )
    except NetworkError:
        raise
    except Exception as err:
        raise NetworkError(
            f"list_models(filter={filter!r}) failed ({type(err).__name__}); check the network, HF_ENDPOINT or the "
            "filter"
        ) from None


def add_sources(
    index: ModelIndex,
    specs: list[str],
    *,
    describe: Callable = describe_model,
    describe_kwargs: dict | None = None,
    engine: str = "local",
    resume: bool = True,
    progress: bool = True,
    optimize: bool = True,
    on_result: Callable[[str, str, str | None], None] | None = None,
) -> dict:
    """Index many sources: the per-model work runs locally or as Ray tasks; rows are written here.

    Each model is committed as soon as it is described, so an interrupted batch keeps every finished
    model and a rerun (resume=True) skips ids already indexed. Returns {added, skipped, failed[{source, error}]}.
    With engine="ray" a running Ray (ray.init by the caller, or RAY_ADDRESS) is used, else a local one
    is started; results are identical to the local engine because the same function builds every row.
    `on_result(source, status, error)` hears of every source as it is done: added, skipped or failed.
    """

    from ..config import progress_bar, side_by_side
    from ..source.resolve import batch_workers

    kwargs = dict(describe_kwargs or {})
    specs = list(dict.fromkeys(specs))
    if describe is describe_model:  # the experts location, checked once for the batch: a bad one fails here
        _expert_pool(kwargs.get("experts"))
    done = index.ids() if resume else {}
    todo = [s for s in specs if model_id_for(s) not in done]
    summary = {"added": 0, "skipped": len(specs) - len(todo), "failed": []}
    report = on_result or (lambda spec, status, error: None)
    for spec in specs:
        if spec not in todo:
            report(spec, "skipped", None)
    bar = progress_bar(total=len(todo), desc="indexing", unit="model", disable=not (progress and todo))

    def _take(result):
        status, spec, payload = result
        if status == "ok":
            index.add([payload])
            summary["added"] += 1
            report(spec, "added", None)
        else:
            summary["failed"].append({"source": spec, "error": payload})
            report(spec, "failed", payload)
        bar.update(1)

    if engine == "local":  # a batch with a Hub repo, whose row is mostly waiting for round trips: a few at a time
        describe_one = functools.partial(_describe_safely, describe, kwargs=kwargs)
        with side_by_side(describe_one, todo, batch_workers(todo), "hfprobe-index") as results:
            for result in results:  # rows are written here, in the order given
                _take(result())
    elif engine == "ray":
        for result in _ray_map(describe, todo, kwargs):
            _take(result)
    else:
        raise UsageError(f"unknown engine {engine!r}; use --engine local or --engine ray")
    bar.close()
    if optimize and summary["added"]:
        index.optimize()
    return summary


def _ray_map(describe: Callable, specs: list[str], kwargs: dict):
    """Yield `_describe_safely` results from Ray tasks as they finish (one task per model)."""
    from ..config import require

    ray = require("ray", "ray")
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False)
    task = ray.remote(_describe_safely)
    pending = [task.remote(describe, s, kwargs) for s in specs]
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        yield ray.get(ready[0])

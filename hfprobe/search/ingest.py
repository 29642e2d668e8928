"""Filling the search index: describe one model (route, predict, embed its categories) and add many sources.

The per-model work (`describe_model`) reads only what prediction needs and returns one `IndexRow`;
`add_sources` runs it locally or as Ray tasks and commits each row as it arrives, so an interrupted batch
keeps what it finished and a rerun skips what is already indexed.

    >>> idx = ModelIndex("/tmp/idx")                                         # doctest: +SKIP
    >>> add_sources(idx, ["org/dog-lora", "./my-lora"], describe_kwargs={"experts": "./experts"})  # doctest: +SKIP
    {'added': 2, 'skipped': 0, 'failed': []}
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from ..errors import HfprobeError, UsageError
from .index import IndexRow, ModelIndex, embed_categories, model_id_for


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
            hf_hub_url(src.repo_id, name, revision=src.revision), token=getattr(src, "token", None)
        )
        return (meta.etag or "").strip('"')
    except Exception:
        return ""


_POOLS: dict[str, list] = {}  # experts loaded once per process (per Ray worker too), keyed by where they came from


def _expert_pool(experts):
    from ..experts.expert import default_experts_dir, load_experts_from

    if experts is not None and not isinstance(experts, (str, os.PathLike)):
        return list(experts)  # Expert objects (or a list of places) given by the caller
    key = str(experts if experts is not None else default_experts_dir())
    if key not in _POOLS:
        _POOLS[key] = load_experts_from(key)
    return _POOLS[key]


def describe_model(spec: str, *, experts=None, text_encoder=None, token=None, top_k: int = 5) -> IndexRow:
    """Predict one model's categories with its tree's expert and place it in that expert's text space.

    `experts`: a folder of experts, an expert folder or Hub id, or Expert objects (None: the cached
    defaults, $HFPROBE_EXPERTS or <cache>/experts). `text_encoder` overrides the encoder object (tests).
    Raises HfprobeError subclasses for bad input, and ExpertError when no expert speaks for the model.

    >>> describe_model("./zoo/models/sd-dog-3", experts="./experts").categories[0]   # doctest: +SKIP
    {'label': 'dog', 'score': 0.83}
    """
    from huggingface_hub import constants

    from ..errors import ExpertError
    from ..experts.expert import fingerprint
    from ..experts.predict import predict
    from ..source.resolve import resolve
    from ..text.encoders import DEFAULT_TEXT_ENCODER, get_text_encoder

    with resolve(spec, token=token) as src:
        pool = _expert_pool(experts)
        pred = predict(spec, top_k=top_k, experts=pool, token=token)
        name = (pred.get("expert") or {}).get("name")
        expert = next((e for e in pool if e.name == name), None)
        if expert is None or not pred.get("predictions"):
            why = (pred.get("routing") or {}).get("reason") or "the router abstained"
            raise ExpertError(f"{src.display}: no expert speaks for this model's tree ({why}); it was not indexed")
        te = expert.config.get("text_encoder") or {}  # classification-head experts: their labels in the default space
        if text_encoder is None:
            text_encoder = get_text_encoder(te.get("id") or DEFAULT_TEXT_ENCODER)
        cats = [{"label": p["label"], "score": float(p["score"])} for p in pred["predictions"]]
        tree = pred.get("tree") or {}
        from ..tree.inspect import inspect_source

        report = inspect_source(src)  # format and kind for the row (reads the header again: milliseconds)
        files = src.files() if src.kind != "hub" or not src.default_file else [src.default_file]
        fname = src.default_file or next((f for f in files if f.endswith(".safetensors")), files[0] if files else "")
        return IndexRow(
            id=model_id_for(spec),
            source=src.display,
            embedding=embed_categories(cats, text_encoder, te.get("prompt")),
            text_encoder=text_encoder.id,
            repo=src.repo_id or "",
            revision=src.revision or "",
            file=fname,
            file_sha=_file_sha(src, fname),
            family=str(tree.get("family") or expert.config.get("family") or ""),
            root=str(tree.get("root") or expert.config.get("root") or ""),
            kind=str(report.get("kind") or ""),
            format=str(report.get("format") or ""),
            categories=cats,
            expert=expert.name,
            expert_version=f"{expert.config.get('version', '?')}-{fingerprint(expert.config)}",
            url=f"{constants.ENDPOINT}/{src.repo_id}" if src.kind == "hub" else "",
        )


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

    try:
        return [m.id for m in HfApi().list_models(filter=filter, limit=limit, token=token)]
    except Exception as err:
        from ..errors import NetworkError

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
    from huggingface_hub.utils import tqdm

    kwargs = dict(describe_kwargs or {})
    specs = list(dict.fromkeys(specs))
    done = index.ids() if resume else {}
    todo = [s for s in specs if model_id_for(s) not in done]
    summary = {"added": 0, "skipped": len(specs) - len(todo), "failed": []}
    report = on_result or (lambda spec, status, error: None)
    for spec in specs:
        if spec not in todo:
            report(spec, "skipped", None)
    bar = tqdm(total=len(todo), desc="indexing", unit="model", disable=not progress, name="hfprobe")

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

    if engine == "local":
        for spec in todo:
            _take(_describe_safely(describe, spec, kwargs))
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
    try:
        import ray
    except ImportError:
        raise UsageError("--engine ray needs Ray; install it with `pip install 'ray[default]'`") from None
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False)
    task = ray.remote(_describe_safely)
    pending = [task.remote(describe, s, kwargs) for s in specs]
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        yield ray.get(ready[0])

"""Annotate many models: a list of folders or Hub repos (a file of them, or a Hub search), each through
`annotate.annotate_folder` or `annotate.annotate_repo`, with a thread pool, a resumable JSONL summary and, for
`push=True`, Hub writes spaced apart.

    annotate_batch(["org/a", "org/b"], push=True, summary="annotate.jsonl")   # resumable

A target that fails is a `failed` Result and the batch goes on.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..config import progress_bar, read_text_lines, writing
from ..errors import HfprobeError, SourceNotFoundError, UsageError
from ..source.hub import hub_errors, scrub
from .annotate import Result, annotate_folder, annotate_repo
from .pull_request import PR_INTERVAL_S, RateLimiter


def read_targets(path: str | os.PathLike) -> list[str]:
    """Repo ids (or paths) from a file, one per line; blank lines and `#` comments skipped."""
    lines = read_text_lines(path, "the list of repos", "pass a UTF-8 text file, one repo or folder a line")
    return [s.split("#", 1)[0].strip() for s in lines if s.split("#", 1)[0].strip()]


def repos_matching(filter: str, *, token: str | None = None, limit: int | None = None) -> list[str]:
    """Hub repo ids matching a `list_models` filter, e.g. `base_model:adapter:org/root`."""
    from huggingface_hub import HfApi

    with hub_errors(filter, token=token):
        return [m.id for m in HfApi(token=token).list_models(filter=filter, limit=limit)]


def read_summary(summary: str | os.PathLike | None) -> dict[str, dict]:
    """The targets a `--summary` JSONL already holds as done (annotated / unchanged / skipped), by target.

    A line that is not JSON is passed over (an interrupted run may leave half a line); a JSON line that is not
    a result (no "target" and "status") means the file is not a summary: UsageError, so nothing is appended
    to another file. A file that is unreadable, a folder or not UTF-8: UsageError too.
    """
    done: dict[str, dict] = {}
    if summary is None or not Path(summary).exists():
        return done
    fix = "pass a new file, or the JSONL an earlier `hfprobe annotate --summary` wrote"
    for n, line in enumerate(read_text_lines(summary, "the summary", fix), 1):
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if not (isinstance(item, dict) and isinstance(item.get("target"), str) and "status" in item):
            raise UsageError(f"{summary}: line {n} is not an annotate result ({line.strip()[:60]}); {fix}")
        done[item["target"]] = item
    return {k: v for k, v in done.items() if v.get("status") in ("annotated", "unchanged", "skipped")}


def annotate_one(target: str, **kw) -> Result:
    """A folder, or a Hub repo in any form `hfprobe.source.resolve` reads (org/name[@rev], hf://, a Hub URL); every
    failure becomes a `failed` Result (the batch goes on)."""
    token = kw.get("token")
    try:
        repo = _hub_repo(target)
        if repo is not None:
            return annotate_repo(repo.repo_id, revision=repo.revision, **kw)
        if kw.get("push") or kw.get("out"):
            raise UsageError(f"{target}: --push and --out are for Hub repos; a local folder is annotated in place")
        local = {k: v for k, v in kw.items() if k in ("dry_run", "fix_base_model", "inspect_fn", "predict_fn", "today")}
        return annotate_folder(target, **local)
    except HfprobeError as err:
        return Result(target, "failed", _drop_prefix(scrub(str(err), token), target))
    except Exception as err:  # noqa: BLE001 - one bad repo must not stop a batch
        return Result(target, "failed", scrub(f"{type(err).__name__}: {' '.join(str(err).split())[:200]}", token))


def _hub_repo(target: str):
    """The Hub source `target` names (a local path of that spelling wins), or None for a local one. A card is its
    repo's: a file or folder inside a repo is refused."""
    from ..source.resolve import resolve

    if Path(target).exists():
        return None
    try:
        src = resolve(target)
    except SourceNotFoundError:
        if "://" in target:  # a URL that names no model repo: its own line
            raise
        return None  # a local path that is not there: annotate_folder says so
    if src.kind != "hub":
        return None
    if src.default_file:
        raise UsageError(
            f"{target}: annotate writes a repo's card (its README.md); name the repo ({src.repo_id}), not a file "
            "or folder in it"
        )
    return src


def _drop_prefix(message: str, target: str) -> str:
    """'org/x: repo not found' -> 'repo not found' (the result line already starts with the target); of a path to the
    card, its name stays ('x/README.md: not UTF-8 text' -> 'README.md: not UTF-8 text'), saying which file."""
    for prefix in (f"{target}/README.md: ", f"{Path(target) / 'README.md'}: "):
        if message.startswith(prefix):
            return "README.md: " + message[len(prefix) :]
    return message[len(target) + 2 :] if message.startswith(f"{target}: ") else message


def annotate_batch(
    targets: Iterable[str],
    *,
    workers: int = 4,
    summary: str | os.PathLike | None = None,
    echo: Callable[[str], None] | None = None,
    progress: bool = True,
    pr_interval: float = PR_INTERVAL_S,
    **kw,
) -> list[Result]:
    """Annotate many targets with a thread pool; results are appended to the JSONL `summary` as they come,
    and targets already done there (annotated / unchanged / skipped) are not redone. With `push=True` the
    Hub writes of all workers together are spaced `pr_interval` seconds apart (reads are not slowed)."""
    from huggingface_hub.utils import tqdm

    if kw.get("push") and "limiter" not in kw:
        kw["limiter"] = RateLimiter(pr_interval)

    summary_path = Path(summary) if summary else None
    done = read_summary(summary_path)
    todo = list(dict.fromkeys(t for t in targets if t not in done))
    results: list[Result] = [
        Result(t, d["status"], "already done (summary)", d.get("written")) for t, d in done.items()
    ]
    write_lock = threading.Lock()
    echo = echo or (lambda s: tqdm.write(s, file=sys.stdout))
    bar = progress_bar(total=len(todo), desc="annotate", unit="repo", disable=not progress, file=sys.stderr)
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = {pool.submit(annotate_one, t, **kw): t for t in todo}
        for fut in as_completed(futures):
            res = fut.result()
            results.append(res)
            with write_lock:
                echo(res.line())
                if summary_path is not None:
                    with writing(summary_path, "--summary"):
                        summary_path.parent.mkdir(parents=True, exist_ok=True)
                        with open(summary_path, "a", encoding="utf-8") as fh:
                            fh.write(json.dumps(res.to_json()) + "\n")
            bar.update(1)
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)  # running ones finish their atomic write or nothing
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()
    return results

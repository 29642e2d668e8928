"""Build a zoo from a recipe: roots, then every descendant in its own folder with a model card.

Layout of a built zoo:

    <zoo>/zoo.json                 recipe, hash, versions, per-tree summary (written last: marks "done")
    <zoo>/manifest.jsonl           one line per model: id, tree, root, split, labels, path, format, hparams
    <zoo>/build.json               timings and skips (the only file that differs between two builds)
    <zoo>/roots/<tree>/            the root (save_pretrained) + tree.json + README.md
    <zoo>/models/<tree>/<id>/      weights in the library's own layout + README.md (labels in card metadata)

Each folder is written under a temporary name and renamed when complete, so an interrupted build keeps
every finished model and resumes where it stopped.

On the CPU (the default) a seed gives identical bytes. `device="cuda"` (or mps) trains there instead:
faster for big presets, but GPU kernels round differently, so the bytes (and the figures measured on the
zoo) may differ from a CPU build of the same recipe; such a zoo records its device in zoo.json, lives in
`<hash>-<device>` in the cache, and a partial build resumes only on the device it started on.

    >>> path = build_zoo("test", out=tmp / "zoo", progress=False)   # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch

from .. import __version__
from ..config import cache_dir, library_levels, progress_bar, set_library_levels
from ..errors import UsageError, ZooError
from .recipe import (
    GENERATIVE_KINDS,
    generative_categories,
    load_recipe,
    plan_tree,
    recipe_hash,
)


def versions() -> dict:
    import diffusers
    import huggingface_hub
    import peft
    import safetensors
    import transformers

    return {
        "hfprobe": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "diffusers": diffusers.__version__,
        "peft": peft.__version__,
        "safetensors": safetensors.__version__,
        "huggingface_hub": huggingface_hub.__version__,
    }


@contextmanager
def _one_thread():
    """Builds run on one thread: reproducible bytes, and fair to a shared machine."""
    import signal
    import threading

    from transformers.utils import logging as tf_logging

    def _term(signum, frame):  # SIGTERM unwinds like Ctrl-C, so the model being written is removed
        raise KeyboardInterrupt

    main = threading.current_thread() is threading.main_thread()
    old_term = signal.signal(signal.SIGTERM, _term) if main else None
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    bars = tf_logging.is_progress_bar_enabled()
    tf_logging.disable_progress_bar()  # one zoo bar, not one per save and load
    try:
        with warnings.catch_warnings():
            # peft asks transformers a deprecated question on every adapter; not the user's concern
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            yield
    finally:
        torch.set_num_threads(before)
        if main:
            signal.signal(signal.SIGTERM, old_term)
        if bars:
            tf_logging.enable_progress_bar()


def default_zoo_dir(recipe: dict, device=None) -> Path:
    """<cache>/zoos/<recipe hash>, or <hash>-cuda / <hash>-mps for a zoo built on an accelerator."""
    kind = getattr(device, "type", device) or "cpu"
    return cache_dir() / "zoos" / (recipe_hash(recipe) + ("" if kind == "cpu" else f"-{kind}"))


def _finished(path: Path, digest: str) -> bool:
    meta = path / "zoo.json"
    if not meta.is_file():
        return False
    try:
        found = json.loads(meta.read_text()).get("hash")
    except json.JSONDecodeError as err:
        raise ZooError(f"{meta}: not valid JSON ({err}); delete the folder and build again") from err
    if found != digest:
        raise ZooError(f"{path} holds another zoo (hash {found}, this recipe {digest}); choose another --out")
    return True


def build_zoo(
    preset: str = "tiny",
    *,
    out: str | os.PathLike | None = None,
    seed: int = 0,
    skip_bad: bool = False,
    progress: bool = True,
    recipe: dict | None = None,
    jobs: int = 1,
    device=None,
) -> Path:
    """Build (or find) the zoo for `preset` and `seed`; returns its folder.

    Without `out` the zoo lives in `cache_dir()/zoos/<hash>`; a finished zoo there (or at `out`) is
    returned at once. With `out`, a finished cached copy is copied instead of rebuilt. `recipe`: a full
    recipe (e.g. `load_recipe("mini")` with other sizes, for experiments) instead of the preset's.
    `jobs`: trees built at once, each in its own process on one thread (the same bytes as jobs=1).
    `device`: where models train (None or "cpu": the CPU, identical bytes per seed; see the module docstring).
    """
    from ..device import resolve_device

    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: must be at least 1")
    dev = resolve_device(device)
    recipe = recipe or load_recipe(preset, seed)
    preset, seed = recipe["preset"], recipe["seed"]
    digest = recipe_hash(recipe)
    cached = default_zoo_dir(recipe, dev)
    path = Path(out) if out else cached
    if _finished(path, digest):
        return path
    stamp = path / "recipe.json"
    if path.is_dir() and any(path.iterdir()) and not stamp.is_file():
        raise ZooError(f"{path} is not empty and holds no zoo; choose an empty or new --out")
    if path != cached and not stamp.is_file() and cached.is_dir() and _finished(cached, digest):
        shutil.copytree(cached, path, dirs_exist_ok=True)
        return path
    path.mkdir(parents=True, exist_ok=True)
    if stamp.is_file() and json.loads(stamp.read_text()).get("hash") != digest:
        raise ZooError(f"{path} holds a partial build of another recipe; choose another --out or delete it")
    started_on = json.loads(stamp.read_text()).get("device", "cpu") if stamp.is_file() else dev.type
    if started_on != dev.type:  # one zoo, one device: its bytes stay consistent
        raise ZooError(f"{path} is a partial build started on {started_on}; resume it with --device {started_on}")
    stamp.write_text(
        json.dumps({"hash": digest, "recipe": recipe, "device": dev.type}, indent=1, sort_keys=True) + "\n"
    )
    log_path = path / "build.json"
    log = json.loads(log_path.read_text()) if log_path.is_file() else {"seconds": {}, "skipped": []}

    from .trees import TREE_BUILDERS

    total = sum(TREE_BUILDERS[t["kind"]](recipe, t, path).count() for t in recipe["trees"])
    bar = progress_bar(total=total, desc=f"zoo {preset}", unit="model", disable=not progress)
    done: dict[int, tuple] = {}

    def finished(i: int, result: tuple) -> None:
        name, rows, summary, seconds, cpu, skipped = result
        done[i] = result
        # wall time depends on who else uses the machine; CPU time (one thread) does not
        log["seconds"][name] = round(log["seconds"].get(name, 0.0) + seconds, 1)
        cpu_log = log.setdefault("cpu_seconds", {})
        cpu_log[name] = round(cpu_log.get(name, 0.0) + cpu, 1)
        log.setdefault("skipped", []).extend(skipped)
        log_path.write_text(json.dumps(log, indent=1, sort_keys=True) + "\n")
        # After each tree: the finished trees are readable (open_zoo) before the whole zoo is done.
        _write_manifest(path, [row for j in sorted(done) for row in done[j][1]])

    try:
        if jobs == 1 or len(recipe["trees"]) == 1:
            for i in range(len(recipe["trees"])):
                finished(i, _build_tree(recipe, i, path, skip_bad, bar, str(dev)))
        else:
            _build_parallel(recipe, path, skip_bad, bar, jobs, finished, str(dev))
    finally:
        bar.close()
    summaries = {done[i][0]: done[i][2] for i in sorted(done)}
    meta = {
        "hash": digest,
        "zoo_format": recipe["zoo_format"],
        "preset": preset,
        "seed": seed,
        "recipe": recipe,
        "versions": versions(),
        "trees": summaries,
        "device": dev.type,
    }
    (path / "zoo.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return path


def _build_tree(recipe: dict, index: int, path: Path, skip_bad: bool, bar, device: str = "cpu") -> tuple:
    """Build tree `index` of the recipe on one thread: (name, rows, summary, wall s, CPU s, skipped)."""
    from .trees import TREE_BUILDERS

    with _one_thread():
        b = TREE_BUILDERS[recipe["trees"][index]["kind"]](recipe, recipe["trees"][index], path)
        b.device = None if device == "cpu" else torch.device(device)
        start, cpu, log = time.time(), time.process_time(), {"skipped": []}
        rows = b.build(bar, skip_bad, log)
        return b.name, rows, b.summary(), time.time() - start, time.process_time() - cpu, log["skipped"]


class _QueueBar:
    """What a tree builder needs of a progress bar, sent to the parent's bar through a queue."""

    def __init__(self, queue):
        self.queue = queue

    def update(self, n: int = 1) -> None:
        self.queue.put(n)

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        pass


def _build_in_worker(recipe: dict, index: int, path: str, skip_bad: bool, queue, device: str = "cpu") -> tuple:
    return _build_tree(recipe, index, Path(path), skip_bad, _QueueBar(queue), device)


def _build_parallel(recipe: dict, path: Path, skip_bad: bool, bar, jobs: int, finished, device: str = "cpu") -> None:
    """Trees in `jobs` worker processes (spawned: no torch state is forked); the biggest trees start first."""
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from .trees import TREE_BUILDERS

    ctx = mp.get_context("spawn")
    trees = recipe["trees"]
    order = sorted(range(len(trees)), key=lambda i: -TREE_BUILDERS[trees[i]["kind"]](recipe, trees[i], path).count())
    levels = (library_levels(),)  # the parent's quiet libraries stay quiet in the workers
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=set_library_levels, initargs=levels)
    with ctx.Manager() as manager, pool:
        ticks = manager.Queue()
        futures = {pool.submit(_build_in_worker, recipe, i, str(path), skip_bad, ticks, device): i for i in order}
        pending = set(futures)
        try:
            while pending:
                ready, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                try:
                    while True:
                        bar.update(ticks.get_nowait())
                except queue_mod.Empty:
                    pass
                for f in ready:
                    finished(futures[f], f.result())  # a worker's error is raised here, in the parent
        except BaseException:
            for f in pending:
                f.cancel()
            raise


def _write_manifest(path: Path, rows: list[dict]) -> None:
    tmp = path / ".manifest.jsonl.tmp"
    with open(tmp, "w") as fh:
        for row in rows:
            fh.write(json.dumps(row, sort_keys=True) + "\n")
    os.replace(tmp, path / "manifest.jsonl")


__all__ = [
    "build_zoo",
    "default_zoo_dir",
    "versions",
    "GENERATIVE_KINDS",
    "generative_categories",
    "plan_tree",
]

"""Fuzz the readers (not a test): any number of mutants of every format through inspect, open_weights and layer().

    .venv/bin/python benchmarks/fuzz.py [-n 50000] [--seed 0] [--workers 2] [--timeout 5] [--out report.json]

Each case is `hfprobe.formats.fuzz.mutate.mutant(seed, i)`: a small synthetic folder of one format (kohya, diffusers,
PEFT, cloneofsimo, custom, textual inversion, checkpoints, pickles) with one to three mutations. Worker processes
run the cases; a case that runs past `--timeout` seconds is killed (the worker is replaced) and counted as a
timeout. The report counts outcomes (ok / typed error / untyped exception / timeout), typed errors by class,
untyped ones by kind with a replayable example (`--replay I`), and the slowest cases and peak worker memory.
Everything but `ok` and `typed` is a bug.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import os
import queue
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _worker(seed: int, tasks, results, root: str) -> None:
    import resource

    import torch

    from hfprobe.formats.fuzz import exercise, write_case
    from hfprobe.formats.fuzz.mutate import mutant
    from hfprobe.formats.fuzz.seeds import SEEDS, seed_files
    from hfprobe.tree.inspect import inspect_source

    torch.set_num_threads(1)
    for name in SEEDS:  # warm up (imports, seeds, first reads) before the clock runs for any case
        folder = write_case(seed_files(name), Path(root) / f"warm-{os.getpid()}-{name}")
        exercise(folder, inspect_source)
        shutil.rmtree(folder, ignore_errors=True)
    results.put(("ready", os.getpid()))
    while True:
        i = tasks.get()
        if i is None:
            return
        try:
            files, what = mutant(seed, i)
        except Exception as exc:  # noqa: BLE001 - the mutator's own bug: reported as one, not as a dead worker's timeout
            results.put((i, "untyped", f"the mutator failed: {exc!r}", 0.0, "mutant", 0.0))
            continue
        folder = write_case(files, Path(root) / str(i))
        try:
            outcome, detail, seconds = exercise(folder, inspect_source)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        results.put((i, outcome, detail, seconds, what, rss_mb))


class Pool:
    """Worker processes fed one case at a time, so a case past the timeout can be killed alone."""

    def __init__(self, seed: int, workers: int, root: str):
        self.ctx = mp.get_context("spawn")
        self.seed, self.root = seed, root
        self.results = self.ctx.Queue()
        self.slots = [self._start() for _ in range(workers)]

    def _start(self):
        tasks = self.ctx.Queue()
        proc = self.ctx.Process(target=_worker, args=(self.seed, tasks, self.results, self.root), daemon=True)
        proc.start()
        return {"proc": proc, "tasks": tasks, "case": None, "since": 0.0, "ready": False}

    def run(self, cases, timeout: float, on_result) -> None:
        todo = collections.deque(cases)
        busy = 0
        while todo or busy:
            for slot in self.slots:
                if slot["ready"] and slot["case"] is None and todo:
                    slot["case"], slot["since"] = todo.popleft(), time.monotonic()
                    slot["tasks"].put(slot["case"])
                    busy += 1
            try:
                i, *rest = self.results.get(timeout=0.2)
                if i == "ready":
                    next(s for s in self.slots if s["proc"].pid == rest[0])["ready"] = True
                    continue
                slot = next(s for s in self.slots if s["case"] == i)
                slot["case"] = None
                busy -= 1
                on_result(i, *rest)
            except queue.Empty:
                pass
            for k, slot in enumerate(self.slots):  # a case past its time: kill the worker, start another
                if slot["case"] is not None and time.monotonic() - slot["since"] > timeout:
                    slot["proc"].kill()
                    on_result(slot["case"], "timeout", f"over {timeout} s", timeout, "", 0.0)
                    self.slots[k] = self._start()
                    busy -= 1

    def close(self) -> None:
        for slot in self.slots:
            slot["tasks"].put(None)
        for slot in self.slots:
            slot["proc"].join(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="number of mutants (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="first case number")
    parser.add_argument("--workers", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds one case may take (default 5)")
    parser.add_argument("--out", help="write the report here as JSON")
    parser.add_argument("--replay", type=int, help="run case I in this process and show what it does")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # cases are local folders; nothing should reach the network
    if args.replay is not None:
        return _replay(args.seed, args.replay)

    root = tempfile.mkdtemp(prefix="hfprobe-fuzz-")
    counts: collections.Counter = collections.Counter()
    typed: collections.Counter = collections.Counter()
    untyped: dict[str, list] = collections.defaultdict(list)
    by_mutation: collections.Counter = collections.Counter()
    times: list[float] = []
    slowest: list[tuple[float, int, str]] = []
    peak = [0.0]
    started = time.monotonic()

    def on_result(i, outcome, detail, seconds, what, rss_mb):
        counts[outcome] += 1
        times.append(seconds)
        peak[0] = max(peak[0], rss_mb)
        by_mutation[what.split(":")[0].split("+")[0]] += 1
        if outcome == "typed":
            for part in detail.split("; "):
                typed[part.split(": ")[-1]] += 1
        elif outcome in ("untyped", "timeout"):
            kind = detail.split(":")[0] + ": " + detail.split(":")[1].strip() if ":" in detail else detail
            untyped[kind].append((i, what, detail))
        slowest.append((seconds, i, what))
        slowest.sort(reverse=True)
        del slowest[5:]
        done = sum(counts.values())
        if done % 1000 == 0:
            print(f"{done}/{args.n} {dict(counts)} {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    pool = Pool(args.seed, args.workers, root)
    try:
        pool.run(range(args.start, args.start + args.n), args.timeout, on_result)
    finally:
        pool.close()
        shutil.rmtree(root, ignore_errors=True)
    wall = time.monotonic() - started
    times.sort()
    report = {
        "cases": args.n,
        "seed": args.seed,
        "workers": args.workers,
        "timeout_s": args.timeout,
        "wall_s": round(wall, 1),
        "outcomes": dict(counts),
        "typed_errors": dict(typed.most_common()),
        "untyped": {k: {"count": len(v), "example": v[0]} for k, v in untyped.items()},
        "mutations": dict(by_mutation.most_common()),
        "seconds": {
            "median": round(times[len(times) // 2], 4),
            "p99": round(times[int(len(times) * 0.99)], 4),
            "max": round(times[-1], 3),
        },
        "slowest": [{"seconds": round(s, 3), "case": i, "what": w} for s, i, w in slowest],
        "peak_worker_rss_mb": round(peak[0], 1),
    }
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
    return 1 if untyped else 0


def _replay(seed: int, i: int) -> int:
    from hfprobe.formats.fuzz import exercise, write_case
    from hfprobe.formats.fuzz.mutate import mutant
    from hfprobe.tree.inspect import inspect_source

    files, what = mutant(seed, i)
    with tempfile.TemporaryDirectory() as root:
        folder = write_case(files, Path(root))
        print(f"case {i}: {what}; files {sorted(files)}")
        print(exercise(folder, inspect_source))
    return 0


if __name__ == "__main__":
    sys.exit(main())

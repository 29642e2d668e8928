"""Benchmark the search index: query latency (p50/p95) at N synthetic rows, build and write rates, size per model.

Not a test: it prints figures (and writes them as JSON with --out). Synthetic rows look like real ones:
each embedding is a score-weighted mix of 1-3 "category" vectors out of a vocabulary of 1,000, spread
over 10 trees; queries are category vectors (what a text query becomes). Latency is measured on the
search alone (the query vector is given) and end to end with the real MiniLM text encoder
(--text-encoder minilm). Recall@k of the approximate index is measured against an exact numpy scan.

    python benchmarks/bench_index.py --rows 10000 --rows 1000000 --out bench_index.json
    python benchmarks/bench_index.py --build-from ZOO_DIR --experts EXPERTS_DIR   # models/s, real per-model work
    python benchmarks/bench_index.py --realzoo ../shared/realzoo    # every real model indexed, no expert installed
    python benchmarks/bench_index.py --cold-query 7                  # `hfprobe query` as a fresh process
    python benchmarks/bench_index.py --rows 10000 --no-flat          # small indexes queried through LanceDB alone

Target: p95 under 50 ms at 1M rows on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from hfprobe.search.flat import FLAT_FILE, FlatIndex
from hfprobe.search.index import ANN_MIN_ROWS, ModelIndex
from hfprobe.search.rows import IndexRow

DIM = 384  # MiniLM, the default text space
N_CATS = 1000
N_TREES = 10


class VectorEncoder:
    """Returns a preset vector for each query string: measures the database, not the text model."""

    id, dim = "bench", DIM

    def __init__(self, table: dict):
        self.table = table

    def embed_array(self, texts):
        def vec(t):  # category labels (for the `why` explanation) get a fixed vector of their own
            if t not in self.table:
                self.table[t] = _unit(np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(DIM)).astype(
                    np.float32
                )
            return self.table[t]

        return np.stack([vec(t) for t in texts])


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def synth(n: int, rng, cats):
    """n embeddings (float32 [n, DIM]), their trees and top categories."""
    k = rng.integers(1, 4, size=n)
    idx = rng.integers(0, N_CATS, size=(n, 3))
    w = rng.random((n, 3)).astype(np.float32) * (np.arange(3)[None, :] < k[:, None])
    w[:, 0] += 1.0
    emb = _unit((w[:, :, None] * cats[idx]).sum(1) + 0.05 * rng.standard_normal((n, DIM)).astype(np.float32))
    return emb.astype(np.float32), rng.integers(0, N_TREES, size=n), idx, w


def _record(i: int, emb, tree: int, encoder: str, categories: list[dict], **more) -> dict:
    """The index record of synthetic model `i` of tree `tree` (`more`: the other IndexRow fields)."""
    return IndexRow(
        id=f"org/model-{i}",
        source=f"org/model-{i}",
        embedding=emb.tolist(),
        text_encoder=encoder,
        family=f"tree{tree}",
        root=f"tree{tree}",
        categories=categories,
        **more,
    ).to_record()


def build(path: Path, n: int, rng, cats, chunk: int = 100_000) -> dict:
    import pyarrow as pa

    from hfprobe.search.rows import table_name, table_schema

    idx = ModelIndex(path, encoders={"bench": VectorEncoder({})})
    t0 = time.perf_counter()
    all_emb = np.empty((n, DIM), np.float32)
    start = 0
    while start < n:
        m = min(chunk, n - start)
        emb, trees, cidx, w = synth(m, rng, cats)
        if start == 0:  # first rows through the public API (creates the table and its metadata)
            m = min(m, 2000)
            emb, trees, cidx, w = emb[:m], trees[:m], cidx[:m], w[:m]
            rows = [
                _record(
                    start + i,
                    emb[i],
                    trees[i],
                    "bench",
                    [{"label": f"category {c}", "score": float(s)} for c, s in zip(cidx[i], w[i]) if s > 0],
                    repo=f"org/model-{start + i}",
                    revision="main",
                    file="adapter_model.safetensors",
                    file_sha="0" * 64,
                    expert=f"tree{trees[i]}",
                    expert_version="1",
                    url=f"https://huggingface.co/org/model-{start + i}",
                    indexed_at=1.0,
                )
                for i in range(m)
            ]
            idx.add(rows)
            all_emb[start : start + m] = emb
            start += m
            continue
        # later chunks as Arrow columns straight into the same table (building 1M Python dicts would dominate)
        ids = [f"org/model-{start + i}" for i in range(m)]
        cats_col = [
            [{"label": f"category {c}", "score": float(s)} for c, s in zip(cidx[i], w[i]) if s > 0] for i in range(m)
        ]
        data = {
            "id": ids,
            "source": ids,
            "embedding": list(emb),
            "text_encoder": ["bench"] * m,
            "repo": ids,
            "revision": ["main"] * m,
            "file": ["adapter_model.safetensors"] * m,
            "file_sha": ["0" * 64] * m,
            "family": [f"tree{t}" for t in trees],
            "root": [f"tree{t}" for t in trees],
            "kind": [""] * m,
            "format": [""] * m,
            "categories": cats_col,
            "expert": [f"tree{t}" for t in trees],
            "expert_version": ["1"] * m,
            "url": [f"https://huggingface.co/{i}" for i in ids],
            "indexed_at": [1.0] * m,
        }
        schema = table_schema(DIM)
        blank = _record(0, emb[0], trees[0], "bench", [])  # the fields these rows leave at IndexRow's defaults
        data.update({f: [blank[f]] * m for f in schema.names if f not in data})
        idx._db.open_table(table_name("bench")).add(pa.Table.from_pydict(data, schema=schema))
        all_emb[start : start + m] = emb
        start += m
    t_write = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx.optimize()
    t_opt = time.perf_counter() - t0
    from datetime import timedelta

    idx._db.open_table(table_name("bench")).optimize(cleanup_older_than=timedelta(0))  # size of the live version only
    flat = path / FLAT_FILE
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and f != flat)
    return {
        "idx": idx,
        "emb": all_emb,
        "write_s": round(t_write, 1),
        "optimize_and_ann_s": round(t_opt, 1),
        "bytes_per_model": round(size / n),
        "flat_copy_bytes_per_model": round(flat.stat().st_size / n) if flat.exists() else 0,
        "ann_index": n >= ANN_MIN_ROWS,
    }


def latency(
    idx: ModelIndex,
    cats,
    rng,
    emb,
    *,
    n_queries: int,
    top_k: int = 10,
    tree: str | None = None,
    nprobes: int | None = None,
    refine: int | None = None,
) -> dict:
    qs = rng.integers(0, N_CATS, size=n_queries)
    table = {f"q{i}": cats[c] for i, c in enumerate(qs)}
    idx._encoders["bench"] = VectorEncoder(table)
    kw = {k: v for k, v in (("nprobes", nprobes), ("refine", refine)) if v is not None}
    idx.query("q0", top_k=top_k, tree=tree, **kw)  # warm the caches once
    times, recalls = [], []
    for i in range(n_queries):
        t0 = time.perf_counter()
        hits = idx.query(f"q{i}", top_k=top_k, tree=tree, **kw)
        times.append((time.perf_counter() - t0) * 1000)
        if tree is None and i < 50:  # exact top-k by a numpy scan, to report what the ANN index costs in recall
            exact = set(np.argsort(-(emb @ table[f"q{i}"]))[:top_k].tolist())
            recalls.append(len(exact & {int(h["id"].rsplit("-", 1)[1]) for h in hits}) / top_k)
    out = {
        "p50_ms": round(float(np.percentile(times, 50)), 2),
        "p95_ms": round(float(np.percentile(times, 95)), 2),
        "queries": n_queries,
    }
    if recalls:
        out[f"recall@{top_k}"] = round(float(np.mean(recalls)), 3)
    return out


def end_to_end_ms(idx: ModelIndex, n: int = 30) -> dict:
    """Query latency including the MiniLM text embedding (the embedding dominates at small N)."""
    from hfprobe.text.encoders import get_text_encoder

    enc = get_text_encoder("minilm")
    idx._encoders["bench"] = enc
    # A running Space embeds each expert label once and keeps it; warm that cache so the timing is per query.
    vocab = [f"category {c}" for c in range(N_CATS)]
    for i in range(0, N_CATS, 100):
        enc.embed(vocab[i : i + 100])
    words = ["dog", "a photo of a cat", "sports car", "oil painting", "anime girl", "castle", "pizza", "mountain lake"]
    idx.query("warm up", top_k=10)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        idx.query(f"{words[i % len(words)]} {i}", top_k=10)  # distinct strings: no embedding cache hits
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "p50_ms": round(float(np.percentile(times, 50)), 2),
        "p95_ms": round(float(np.percentile(times, 95)), 2),
        "queries": n,
    }


def cold_query(work: Path, runs: int, rows: int = 1000) -> dict:
    """`hfprobe query` as a fresh process (imports included, as a user runs it) on an index of `rows` MiniLM rows:
    the median wall time of `runs` reading the flat copy (hfprobe/search/flat.py) and of `runs` reading the
    tables (the copy removed before each; each run writes it again), alternating, and the modules it loaded."""
    import subprocess
    import sys

    rng = np.random.default_rng(1)
    emb, trees, _, _ = synth(rows, rng, _unit(rng.standard_normal((N_CATS, DIM))).astype(np.float32))
    path = work / "cold-query"
    shutil.rmtree(path, ignore_errors=True)
    idx = ModelIndex(path)
    idx.add([_record(i, emb[i], trees[i], "minilm", [{"label": "dog", "score": 0.9}]) for i in range(rows)])
    idx.optimize()  # as `hfprobe index add` ends a batch: the flat copy is written
    hfprobe = str(Path(sys.executable).with_name("hfprobe"))
    times = {"flat": [], "tables": []}
    for _ in range(runs):
        for how in times:
            if how == "tables":
                (path / FLAT_FILE).unlink()
            t0 = time.perf_counter()
            subprocess.run([hfprobe, "query", "a photo of a dog", "--index", str(path), "--json"], check=True,
                           capture_output=True)  # fmt: skip
            times[how].append(time.perf_counter() - t0)
    code = (
        "import sys; from hfprobe.search.index import ModelIndex; "
        f"ModelIndex({str(path)!r}, create=False).query('a photo of a dog'); "
        "print([m for m in ('torch', 'transformers', 'lancedb') if m in sys.modules])"
    )
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    return {
        "rows": rows,
        "runs": runs,
        "median_s": round(float(np.median(times["flat"])), 3),
        "median_s_tables": round(float(np.median(times["tables"])), 3),
        "heavy_modules": loaded,
    }


def build_rate(zoo: str, experts: str | None = None, files: list[str] | None = None) -> dict:
    """Models per second through the real per-model work (inspect + predict + embed) on local files."""
    from hfprobe.search.ingest import add_sources

    files = (
        files
        or sorted(str(p.parent) for p in Path(zoo).glob("models/*/*/*.safetensors"))
        or sorted(str(p) for p in Path(zoo).rglob("*.safetensors"))
    )
    if not files:
        raise SystemExit(f"{zoo}: no .safetensors files")
    with tempfile.TemporaryDirectory() as tmp:
        idx = ModelIndex(tmp)
        t0 = time.perf_counter()
        s = add_sources(idx, files, progress=True, describe_kwargs={"experts": experts} if experts else None)
        dt = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
        return {
            "models": len(files),
            "added": s["added"],
            "failed": len(s["failed"]),
            "seconds": round(dt, 1),
            "models_per_s": round(s["added"] / dt, 2),
            "bytes_per_model": round(size / max(1, s["added"])),
            "without_categories": idx.count_unscored(),
            "errors": [f["error"] for f in s["failed"]][:10],
        }


def realzoo_rows(realzoo: str) -> dict:
    """Every realzoo folder through `index add` with no expert installed (a fresh install): how many become
    rows, how many have categories (the readout needs the base text encoder in the cache), and the rate."""
    folders = sorted(str(p) for p in (Path(realzoo) / "files").iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory() as none:
        os.environ["HFPROBE_EXPERTS"] = str(Path(none) / "experts")  # a location that does not exist
        return build_rate(realzoo, files=folders)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, action="append", help="synthetic index sizes (default 10000 and 1000000)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--build-from", metavar="ZOO_DIR", help="also measure the real build rate over these .safetensors")
    ap.add_argument("--experts", help="experts for --build-from (default: the cached ones)")
    ap.add_argument("--realzoo", metavar="DIR", help="index every realzoo folder with no expert installed")
    ap.add_argument(
        "--text-encoder",
        default="minilm",
        help="'minilm' adds end-to-end latency with the real encoder; 'none' skips it",
    )
    ap.add_argument("--cold-query", type=int, metavar="RUNS", help="also time `hfprobe query` as a fresh process")
    ap.add_argument(
        "--no-flat", action="store_true", help="queries read the LanceDB tables, not the flat copy of a small index"
    )
    ap.add_argument("--workdir", default=None, help="where to build the synthetic indexes (default: a temp dir)")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args()
    if args.no_flat:
        FlatIndex.load = classmethod(lambda cls, *a: None)
        ModelIndex.refresh_flat = lambda self: None
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    cats = _unit(rng.standard_normal((N_CATS, DIM))).astype(np.float32)
    report = {"dim": DIM, "cpu_count": os.cpu_count(), "results": []}
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-index-"))
    try:
        only = args.build_from or args.realzoo or args.cold_query
        for n in [] if only and not args.rows else args.rows or [10_000, 1_000_000]:
            path = work / f"idx{n}"
            shutil.rmtree(path, ignore_errors=True)
            print(f"building {n:,} rows in {path} ...", flush=True)
            b = build(path, n, rng, cats)
            res = {"rows": n, **{k: v for k, v in b.items() if k not in ("idx", "emb")}}
            res["search"] = latency(b["idx"], cats, rng, b["emb"], n_queries=args.queries)
            if b["ann_index"]:  # the recall/latency trade-off of the approximate index
                res["sweep"] = {
                    f"nprobes={p},refine={r}": latency(
                        b["idx"], cats, rng, b["emb"], n_queries=100, nprobes=p, refine=r
                    )
                    for p, r in ((16, 10), (64, 20))
                }
            res["search_tree_filter"] = latency(b["idx"], cats, rng, b["emb"], n_queries=args.queries, tree="tree3")
            if args.text_encoder == "minilm":
                res["end_to_end_minilm"] = end_to_end_ms(b["idx"])
            print(json.dumps(res), flush=True)
            report["results"].append(res)
            del b
            shutil.rmtree(path, ignore_errors=True)
        if args.build_from:
            report["build_rate"] = build_rate(args.build_from, args.experts)
            print(json.dumps(report["build_rate"]), flush=True)
        if args.realzoo:
            report["realzoo"] = realzoo_rows(args.realzoo)
            print(json.dumps(report["realzoo"]), flush=True)
        if args.cold_query:
            report["cold_query"] = cold_query(work, args.cold_query)
            print(json.dumps(report["cold_query"]), flush=True)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

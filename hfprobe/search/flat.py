"""The flat index: a small index's rows in one Arrow file that a query reads and scans without the database.

A fresh `hfprobe query` spent 1.1 of its 1.5 s importing lancedb (its namespace client alone builds 366 pydantic
validators). Below `ANN_MIN_ROWS` (index.py) LanceDB answers by an exact flat scan anyway, so the index keeps a copy
of its rows beside the tables, `flat-index.arrow`, and a query that finds it scans it with numpy: the same hits,
scores and `why`, a fresh query in 0.31 s instead of 1.54, and LanceDB stays the oracle (tests/test_index_flat.py).

The copy is only ever written under the index's write lock, and every write removes it before it changes a table
(index.py, `ModelIndex._write_lock`), so a copy that exists matches the tables: a writer killed mid-batch leaves
none, and the next query reads the tables and writes a new one. One file holds every text space (rows sorted by
space, each space's row range and the index's metadata in the schema's metadata), so a reader sees one generation.

May import hfprobe.search.query (the hits' columns and wording).

    >>> flat = FlatIndex.load("/tmp/idx", INDEX_FORMAT)   # None: there is none, or it cannot be read  # doctest: +SKIP
    >>> flat.search("minilm", encoder, "a photo of a dog", top_k=3, names=None)                 # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .query import ROW_COLUMNS, finish_hits, unscored_hit

FLAT_FILE = "flat-index.arrow"
FLAT_FORMAT = 1
_KEY = b"hfprobe_flat"


def remove_flat(index_dir: Path) -> None:
    """Remove the copy before a write changes a table (an OSError here stops the write: the copy would be stale)."""
    (Path(index_dir) / FLAT_FILE).unlink(missing_ok=True)


def write_flat(index_dir: Path, meta: dict, tables: list) -> None:
    """Write the copy of `tables` ([(text-encoder id, or None for the table without vectors; its Arrow table)]),
    atomically; `meta` is the index's metadata as these tables have it."""
    import pyarrow as pa

    parts, ranges, start = [], {}, 0
    vec_type = pa.list_(pa.float32())
    for enc_id, table in tables:
        n = table.num_rows
        vecs = pa.nulls(n, vec_type)
        if enc_id is not None and n:  # unit length, so a query's cosine is one product (LanceDB normalises too)
            unit = _floats(table.column("embedding").combine_chunks().flatten()).reshape(n, -1)
            unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
            vecs = pa.FixedSizeListArray.from_arrays(pa.array(unit.ravel()), unit.shape[1]).cast(vec_type)
        cols = [table.column(c) for c in ROW_COLUMNS] + [vecs]
        parts.append(pa.table(cols, names=[*ROW_COLUMNS, "embedding"]))
        ranges[enc_id or ""] = [start, start + n]
        start += n
    if not parts:
        return
    whole = pa.concat_tables(parts).combine_chunks()  # one chunk a column: a reader's slices are views
    whole = whole.replace_schema_metadata({_KEY: json.dumps({"format": FLAT_FORMAT, "meta": meta, "ranges": ranges})})
    path = Path(index_dir) / FLAT_FILE
    tmp = path.with_name(f".{FLAT_FILE}.{os.getpid()}.tmp")
    try:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, whole.schema) as writer:
            writer.write_table(whole)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class FlatIndex:
    """A read of the copy: `meta` (the index's metadata), and exact search in each text space."""

    def __init__(self, table, meta: dict, ranges: dict):
        self.table, self.meta, self._ranges = table, meta, ranges

    @classmethod
    def load(cls, index_dir: Path, index_format: int) -> FlatIndex | None:
        """The copy in `index_dir`, or None where there is none, it cannot be read, or it is of another format."""
        import pyarrow as pa

        path = Path(index_dir) / FLAT_FILE
        try:
            table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
            info = json.loads((table.schema.metadata or {})[_KEY])
            ranges = {k: (int(a), int(b)) for k, (a, b) in info["ranges"].items()}
            meta = info["meta"]
            ok = info["format"] == FLAT_FORMAT and meta.get("format") == index_format
            ok = ok and set(ROW_COLUMNS) <= set(table.column_names) and max(b for _, b in ranges.values()) <= len(table)
        except (OSError, KeyError, TypeError, ValueError, pa.ArrowException):  # absent, damaged, another layout
            return None
        return cls(table, meta, ranges) if ok else None

    def search(self, enc_id: str, encoder, text: str, *, top_k: int, names, explain: bool = True) -> list[dict]:
        """What query.search_space gives for that space's table, by an exact scan: the `top_k` rows nearest to
        `text` by cosine, among rows whose root or family is in `names` (all rows where `names` is None)."""
        start, stop = self._ranges.get(enc_id, (0, 0))
        rows = self.table.slice(start, stop - start)
        if not len(rows):
            return []
        qvec = encoder.embed_array([text.strip()])[0]
        vecs = _floats(rows.column("embedding").combine_chunks().flatten()).reshape(len(rows), -1)  # unit rows
        q = np.asarray(qvec, np.float32)
        dist = 1.0 - (vecs @ (q / max(float(np.linalg.norm(q)), 1e-12))).astype(np.float64)
        keep = np.flatnonzero(self._kept(rows, names))
        near = dist[keep]
        if len(keep) > top_k:  # the top_k nearest, and any tied with the last of them
            within = near <= np.partition(near, top_k - 1)[top_k - 1]
            keep, near = keep[within], near[within]
        ids = np.asarray(rows.column("id").take(_indices(keep)).to_pylist(), dtype=object)
        order = keep[np.lexsort((ids, near))][:top_k]  # nearest first; ties by id
        found = rows.select(ROW_COLUMNS).take(_indices(order)).to_pylist()
        for rec, i in zip(found, order):
            rec["_distance"] = float(dist[i])
        return finish_hits(found, encoder, qvec, explain)

    def unscored(self, names, limit: int) -> list[dict]:
        """What query.unscored_hits gives: up to `limit` models without categories whose tree is in `names`, by id."""
        return [unscored_hit(rec) for rec in self.rows_by_id("", names, limit)]

    def rows_by_id(self, enc_id: str, names, limit: int) -> list[dict]:
        """What query.rows_by_id gives for that space's table ("": the one without categories): up to `limit`
        rows whose tree is in `names`, by id."""
        start, stop = self._ranges.get(enc_id, (0, 0))
        rows = self.table.slice(start, stop - start)
        kept = rows.select(ROW_COLUMNS).take(_indices(np.flatnonzero(self._kept(rows, names)))).to_pylist()
        return sorted(kept, key=lambda r: r["id"])[:limit]

    @staticmethod
    def _kept(rows, names) -> np.ndarray:
        """Rows whose root or family is one of `names` (every row where `names` is None), as a numpy mask."""
        if names is None:
            return np.ones(len(rows), bool)
        wanted = set(names)
        roots, families = rows.column("root").to_pylist(), rows.column("family").to_pylist()
        return np.fromiter((r in wanted or f in wanted for r, f in zip(roots, families)), bool, len(rows))


def _indices(positions: np.ndarray):
    """Row positions as an Arrow array, built from the buffer (pyarrow builds one from numpy through pandas)."""
    import pyarrow as pa

    positions = np.ascontiguousarray(positions, np.int64)
    return pa.Array.from_buffers(pa.int64(), len(positions), [None, pa.py_buffer(positions)])


def _floats(values) -> np.ndarray:
    """A float32 Arrow array's values as a numpy view (Arrow's own to_numpy imports pandas: 0.15 s a query)."""
    return np.frombuffer(values.buffers()[1], np.float32)[values.offset : values.offset + len(values)]

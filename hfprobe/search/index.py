"""Search over models by what their weights say: an embedded vector database on disk (LanceDB).

Each indexed model is one row: where it came from (repo, revision, file, file sha), its tree (family,
root), the categories its expert predicted (with scores), and an embedding in the expert's text space.
The embedding is the score-weighted mean of the text embeddings of the predicted categories, computed
with the same text encoder the expert was aligned to; a text query is embedded with that encoder and rows
are ranked by cosine similarity. So a query for "puppy" finds a model predicted "dog" because the
two words lie close in the text space, and models from every tree are ranked in one space.

Why LanceDB: an embedded database (a folder, no server) made for vectors plus typed metadata; every
write is a versioned commit (a crash mid-write leaves the previous version readable, never a half row);
merge-insert replaces a row by id; filtered vector search runs in-process; an IVF-PQ index keeps a
query fast at a million rows.

One table per text space (`models_<encoder id>`), because vectors in one column share one size. Models
that have no categories (no expert for their tree, and the readout abstained) are rows too, in a table
without vectors (`models_unscored`): they are found by tree and root, never ranked, and say why they
have no score. A tree filter matches a root under any of its registry aliases
(`runwayml/stable-diffusion-v1-5` finds rows stored as `stable-diffusion-v1-5/stable-diffusion-v1-5`).

Below `ANN_MIN_ROWS` the index also keeps a flat copy of its rows (flat.py) that a query scans with numpy, without
importing lancedb (1 s); a write removes it first, and the end of a batch or the next query writes it again.

This module owns the index folder (`ModelIndex`: its metadata, write lock, tables, writes, compaction and the
query that merges the text spaces); the row and its schema are in rows.py, the search of one text space in
query.py, the flat copy in flat.py. May import hfprobe.config, hfprobe.errors, hfprobe.tree (the registry's aliases)
and hfprobe.text.

    >>> idx = ModelIndex("/tmp/idx")                                 # doctest: +SKIP
    >>> idx.add([describe_model("org/some-lora")])   # hfprobe.search.ingest   # doctest: +SKIP
    >>> [h["id"] for h in idx.query("a photo of a dog", top_k=3)]   # doctest: +SKIP
    ['org/some-lora']
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path

from ..config import cache_dir
from ..errors import SearchIndexError, UsageError
from .flat import FlatIndex, remove_flat, write_flat
from .query import NPROBES, REFINE, listed_hit, rows_by_id, search_space, unscored_hits
from .rows import UNSCORED_TABLE, IndexRow, sql_str, table_name, table_schema

INDEX_FORMAT = 2  # 2: revision_sha and reason columns, and the table of models without categories


ANN_MIN_ROWS = 100_000  # below this a flat scan is faster than an approximate index and exact


_LOCK_TIMEOUT_S = 60


def default_index_dir() -> Path:
    """Where the index lives unless told otherwise: $HFPROBE_INDEX or <cache>/index."""
    return Path(os.environ.get("HFPROBE_INDEX") or cache_dir() / "index")


class ModelIndex:
    """The index folder: LanceDB tables plus `hfprobe_index.json` (format, versions, text spaces).

    `encoders` maps a text-encoder id to an object with `.id`, `.dim`, `.embed_array(list[str])` (a numpy array
    [n, dim], rows L2-normalised; `.prompt` words category labels, default "{}"); ids not in
    it are loaded with `hfprobe.text.get_text_encoder` when a query needs them.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, encoders: dict | None = None, create: bool = True):
        from ..config import require

        require("lancedb", "search", load=False)  # before touching the folder: a missing extra is one line, exit 2
        self.path = Path(path) if path is not None else default_index_dir()
        self._encoders = dict(encoders or {})
        meta_file = self.path / "hfprobe_index.json"
        if self.path.exists() and not self.path.is_dir():
            raise SearchIndexError(f"{self.path}: is a file, not an index folder; pass a folder with --index")
        if not create and not meta_file.exists():  # said before lancedb's import (0.6 s)
            raise SearchIndexError(
                f"{self.path}: no index here; build one with `hfprobe index add SOURCE...` (or pass --index DIR)"
            )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SearchIndexError(
                f"{self.path}: cannot create the index folder ({err.strerror}); pass a writable folder with --index "
                "(or HFPROBE_INDEX)"
            ) from None
        self._conn = None  # the database, opened when first used: a query that reads the flat index never does
        self.meta = self._load_meta()

    @property
    def _db(self):
        if self._conn is None:
            from ..config import require

            require("lancedb", "search")  # its import (1 s), checked in __init__ to be installed
            try:
                import lancedb

                self._conn = lancedb.connect(str(self.path))
            except Exception as err:  # lance raises its own types; one message for all
                raise SearchIndexError(
                    f"{self.path}: cannot open the index ({err}); delete the folder and rebuild it"
                ) from err
        return self._conn

    # -- bookkeeping -----------------------------------------------------------------------------
    def _load_meta(self) -> dict:
        """Read hfprobe_index.json afresh: another process may have added a text space since."""
        meta_file = self.path / "hfprobe_index.json"
        if not meta_file.exists():
            return {"format": INDEX_FORMAT, "spaces": {}}
        try:
            meta = json.loads(meta_file.read_text())
        except ValueError as err:
            raise SearchIndexError(
                f"{meta_file}: not valid JSON ({err}); delete the index folder and rebuild it"
            ) from None
        if meta.get("format") != INDEX_FORMAT:
            raise SearchIndexError(
                f"{self.path}: index format {meta.get('format')} is not {INDEX_FORMAT}; rebuild it with this hfprobe"
            )
        return meta

    def _save_meta(self) -> None:
        from .. import __version__

        try:
            import lancedb

            lance_version = lancedb.__version__
        except Exception:  # pragma: no cover
            lance_version = "?"
        self.meta.update(hfprobe_version=__version__, lancedb_version=lance_version)
        tmp = self.path / "hfprobe_index.json.tmp"
        tmp.write_text(json.dumps(self.meta, indent=1, sort_keys=True))
        os.replace(tmp, self.path / "hfprobe_index.json")  # atomic: never a half-written file

    @contextlib.contextmanager
    def _write_lock(self):
        """One writer at a time (readers never wait): two `index add` runs at once take turns."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.path / ".write.lock"), timeout=_LOCK_TIMEOUT_S)
        try:
            lock.acquire()
        except Timeout:
            raise SearchIndexError(
                f"{self.path}: another process is writing the index; wait for it or remove "
                f"{self.path / '.write.lock'} if none runs"
            ) from None
        except OSError as err:  # the lock file cannot be made: a read-only index (its writes would fail too)
            raise SearchIndexError(
                f"{self.path}: cannot write the index ({err.strerror}); pass a writable folder with --index (or "
                "HFPROBE_INDEX), or fix its permissions"
            ) from None
        try:
            self.meta = self._load_meta()
            try:
                remove_flat(self.path)  # before any table changes: a copy that exists matches the tables
            except OSError as err:
                raise SearchIndexError(
                    f"{self.path}: cannot write the index ({err.strerror}); fix its permissions or pass another "
                    "folder with --index"
                ) from None
            yield
        finally:
            lock.release()

    def _write_flat(self) -> None:
        """Under the write lock: the flat copy a query reads without the database (flat.py), where the index is
        small enough to be scanned (below `ANN_MIN_ROWS`, no vector index). A copy that cannot be written is
        skipped: queries read the tables, as before."""
        tables = self._all_tables()
        spaces = self.meta.get("spaces", {}).values()
        if any(info.get("ann_rows") for info in spaces) or sum(t.count_rows() for _, t in tables) >= ANN_MIN_ROWS:
            return
        try:
            write_flat(self.path, self.meta, [(enc_id, t.to_arrow()) for enc_id, t in tables])
        except OSError:
            pass

    def refresh_flat(self) -> None:
        """Write the flat copy afresh (a query does after it read the tables; `space push` before it sends the
        index), unless the write lock cannot be taken at once (a writer at work, a read-only index): a later query
        or batch writes it then."""
        from filelock import FileLock, Timeout

        try:
            with FileLock(str(self.path / ".write.lock"), timeout=0):
                remove_flat(self.path)  # (_write_flat reads the metadata afresh)
                self._write_flat()
        except (Timeout, OSError, SearchIndexError):
            pass

    def _tables(self):
        """(text-encoder id, table) for every text space: the tables with vectors."""
        self.meta = self._load_meta()
        out = []
        for enc_id, info in sorted(self.meta.get("spaces", {}).items()):
            out.append((enc_id, self._open(info["table"])))
        return out

    def _all_tables(self):
        """Every table: the text spaces, then (None, the table of models without categories) if there is one."""
        out = self._tables()
        if self.meta.get("unscored"):
            out.append((None, self._open(self.meta["unscored"]["table"])))
        return out

    def _open(self, name: str):
        try:
            return self._db.open_table(name)
        except Exception as err:
            raise SearchIndexError(
                f"{self.path}: table {name} is missing or corrupt ({err}); delete the folder and rebuild"
            ) from err

    def _encoder(self, enc_id: str):
        if enc_id not in self._encoders:
            from ..text.encoders import get_text_encoder

            self._encoders[enc_id] = get_text_encoder(enc_id)
        return self._encoders[enc_id]

    def __len__(self) -> int:
        return sum(t.count_rows() for _, t in self._all_tables())

    def no_hits(self, tree: str | None) -> tuple[str, str]:
        """Why a query of this index found nothing, as (case, sentence): "empty" (no models), "tree" (none of that
        tree), or "unscored" (a text query ranks the models with categories, and none has any). The sentence names
        neither the index's place nor a command: the CLI and the Space each add their own advice."""
        total = len(self)
        if not total:
            return "empty", "the index holds no models"
        if tree:
            return "tree", f"no model of tree {tree} among the {total} indexed"
        return "unscored", (
            f"none of the {total} models indexed has categories to rank (no expert for their trees, and no readout "
            "answer)"
        )

    def count_unscored(self) -> int:
        """How many models are indexed without categories (found by tree only)."""
        self.meta = self._load_meta()
        return self._open(self.meta["unscored"]["table"]).count_rows() if self.meta.get("unscored") else 0

    def ids(self) -> dict[str, dict]:
        """id -> {file_sha, expert_version} for every row (used to resume a batch)."""
        out = {}
        for _, table in self._all_tables():
            cols = table.to_arrow().select(["id", "file_sha", "expert_version"]).to_pylist()
            out.update({r["id"]: r for r in cols})
        return out

    def trees(self) -> list[str]:
        """The distinct trees in the index, sorted: each stored root's (`hit_tree`), a family where no root is known.
        SD 2.1's and 2.1-base's LoRAs are one tree, as a tree filter finds them."""
        self.meta = self._load_meta()
        from ..tree.registry import families

        fams = families()["families"]  # ("roots" holds a row's family where it has no root)
        return sorted({n if n in fams else hit_tree(n, None) for n in self.meta.get("roots", [])})

    def rows(self) -> list[dict]:
        """Every row as a dict (embeddings included; [] for rows without categories); for tests and export."""
        out = []
        for enc_id, table in self._all_tables():
            out.extend(r if enc_id is not None else dict(r, embedding=[]) for r in table.to_arrow().to_pylist())
        return sorted(out, key=lambda r: r["id"])

    # -- writing -----------------------------------------------------------------------------------
    def add(self, rows: Iterable[IndexRow | dict]) -> int:
        """Insert or replace rows by id, in one commit per table; returns how many were written.

        A row with categories needs a finite embedding and goes to its text space's table; a row without
        categories needs a `reason` and no embedding, and goes to the table of models without categories.
        A row moving to another table is removed from the old one, so an id is in one table only.
        """
        import pyarrow as pa

        rows = [r if isinstance(r, IndexRow) else IndexRow(**r) for r in rows]
        if not rows:
            return 0
        by_space: dict[str | None, list[dict]] = {}
        for row in rows:
            if not row.scored:
                if row.embedding:
                    raise SearchIndexError(f"{row.id}: an embedding without categories; it was not indexed")
                if not row.reason:
                    raise SearchIndexError(f"{row.id}: no categories and no reason why; it was not indexed")
                by_space.setdefault(None, []).append(row.to_record())
                continue
            vec = row.embedding
            if not vec or not all(math.isfinite(x) for x in vec):
                raise SearchIndexError(f"{row.id}: embedding is empty or not finite; it was not indexed")
            by_space.setdefault(row.text_encoder, []).append(row.to_record())
        with self._write_lock():
            for enc_id, recs in by_space.items():
                if enc_id is None:
                    name, schema, changed = UNSCORED_TABLE, table_schema(None), not self.meta.get("unscored")
                    self.meta["unscored"] = {"table": name}
                else:
                    dim = len(recs[0]["embedding"])
                    if any(len(r["embedding"]) != dim for r in recs):
                        raise SearchIndexError(
                            f"text space {enc_id}: rows with different embedding sizes; re-run with one text encoder"
                        )
                    space = self.meta["spaces"].get(enc_id)
                    if space and space["dim"] != dim:
                        raise SearchIndexError(
                            f"{self.path}: text space {enc_id} holds {space['dim']}-d vectors, got {dim}-d; rebuild "
                            "the index"
                        )
                    name, schema, changed = table_name(enc_id), table_schema(dim), not space
                    self.meta["spaces"].setdefault(enc_id, {"table": name, "dim": dim})
                data = pa.Table.from_pylist(recs, schema=schema)
                if name in self._db.list_tables().tables:
                    table = self._db.open_table(name)
                    table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)
                else:
                    self._db.create_table(name, data=data)
                # roots and families are kept in the metadata, so a tree filter resolves without a scan
                roots = set(self.meta.get("roots", [])) | {
                    r["root"] or r["family"] for r in recs if r["root"] or r["family"]
                }
                names = set(self.meta.get("tree_names", [])) | {v for r in recs for v in (r["root"], r["family"]) if v}
                if changed or roots != set(self.meta.get("roots", [])) or names != set(self.meta.get("tree_names", [])):
                    self.meta["roots"], self.meta["tree_names"] = sorted(roots), sorted(names)
                    self._save_meta()
                moved = ",".join(sql_str(r["id"]) for r in recs)
                for other_id, other in self._all_tables():
                    if other_id != enc_id:
                        other.delete(f"id IN ({moved})")
        return len(rows)

    def remove(self, ids: Iterable[str]) -> None:
        """Delete rows by id (absent ids are ignored)."""
        ids = list(ids)
        if ids:
            with self._write_lock():
                for _, table in self._all_tables():
                    table.delete(f"id IN ({','.join(sql_str(i) for i in ids)})")

    def optimize(self, *, ann_min_rows: int = ANN_MIN_ROWS) -> None:
        """Compact the many small commits a batch makes, and build an IVF-PQ vector index on big tables.

        Rows added after the vector index is built are still found (scanned exactly) until the next optimize.
        """
        with self._write_lock():
            self._optimize(ann_min_rows)

    def _optimize(self, ann_min_rows: int) -> None:
        from datetime import timedelta

        from lancedb.index import Bitmap, IvfPq

        for enc_id, table in self._all_tables():
            # compact the per-model commits; versions older than an hour go (readers never hold one that long)
            table.optimize(cleanup_older_than=timedelta(hours=1))
            n = table.count_rows()
            if enc_id is not None and n >= ann_min_rows:
                dim = self.meta["spaces"][enc_id]["dim"]
                ivf_pq = IvfPq(
                    distance_type="cosine",
                    # ~4k rows a partition: k-means stays cheap on 2 cores. sqrt(n) (1,000 at 1M) was measured
                    # too: no faster (p95 54 vs 57 ms) and recall@10 fell to 0.78 at the same nprobes.
                    num_partitions=max(1, n // 4096),
                    num_sub_vectors=max(1, dim // 8),  # 8 dims per PQ code byte: 48 bytes a row at 384-d
                )
                table.create_index("embedding", config=ivf_pq, replace=True)
                for column in ("root", "family"):  # the tree filter runs before the vector search
                    table.create_index(column, config=Bitmap(), replace=True)
                self.meta["spaces"][enc_id]["ann_rows"] = n
        self._save_meta()
        self._write_flat()

    # -- reading -------------------------------------------------------------------------------------
    def tree_names(self, tree: str) -> list[str]:
        """The stored root and family names a tree filter matches: the same name in any case, or any root of the
        same tree in the registry, under any alias (`runwayml/stable-diffusion-v1-5` matches
        `stable-diffusion-v1-5/...`; `meta-llama/Llama-2-7b-hf` matches its chat tune, a root of its own)."""
        self.meta = self._load_meta()
        return _tree_names(self.meta, tree)

    def query(
        self,
        text: str | None,
        *,
        tree: str | None = None,
        top_k: int = 10,
        nprobes: int = NPROBES,
        refine: int = REFINE,
        explain: bool = True,
        unscored: bool = False,
    ) -> list[dict]:
        """Models ranked by cosine similarity of their embedding to `text`'s, best first.

        `tree` keeps rows whose root or family is it, under any alias (see `tree_names`). Each hit has id,
        score (cosine, -1..1), family, root, categories, url, repo, revision, revision_sha, file, text_encoder,
        expert, expert_version, and `why`: the hit's predicted category closest to the text, then its top
        categories ("closest to the text: Sneaker (predicted 0.73); top categories: Coat 0.94, ...").
        With a tree filter and `unscored=True` (the CLI's default), models of that tree without categories fill
        the places the ranked ones leave, after them: `score` None and `why` saying why there is none (off by
        default so callers that format every score as a number keep working).

        Without `text` (None or blank), a `tree` is listed: its models by id, those with categories first (`why`
        their top categories), then those without; `score` None throughout.

        >>> ModelIndex().query("a photo of a dog", tree="sd-1.5", top_k=3)   # doctest: +SKIP
        """
        text = text.strip() if isinstance(text, str) else ""
        if not text and not tree:
            raise UsageError('query text is empty; pass a description such as "a photo of a dog", or a tree to list')
        if top_k < 1:
            raise UsageError(f"--top-k must be at least 1, got {top_k}")
        flat = FlatIndex.load(self.path, INDEX_FORMAT)
        meta = flat.meta if flat is not None else self._load_meta()
        names = _tree_names(meta, tree) if tree else None  # the stored spellings: the bitmap indexes apply
        if names == []:
            return []
        where = f"root IN ({_sql_list(names)}) OR family IN ({_sql_list(names)})" if names else None
        spaces = sorted(meta.get("spaces", {}))
        if not text:
            if flat is not None:
                found = [rec for enc_id in spaces for rec in flat.rows_by_id(enc_id, names, top_k)]
            else:
                found = [rec for _, table in self._tables() for rec in rows_by_id(table, where, top_k)]
            hits = [listed_hit(rec) for rec in sorted(found, key=lambda r: r["id"])[:top_k]]
        elif flat is not None:  # a small index: an exact scan of its copy, without the database (flat.py)
            hits = []
            for enc_id in spaces:
                hits.extend(flat.search(enc_id, self._encoder(enc_id), text, top_k=top_k, names=names, explain=explain))
        else:
            hits = []
            for enc_id, table in self._tables():
                enc = self._encoder(enc_id)
                hits.extend(
                    search_space(
                        table, enc, text, top_k=top_k, nprobes=nprobes, refine=refine, where=where, explain=explain
                    )
                )
        if text:
            hits.sort(key=lambda h: -h["score"])
            hits = hits[:top_k]
        if names and (unscored or not text) and len(hits) < top_k and meta.get("unscored"):
            if flat is not None:
                hits.extend(flat.unscored(names, top_k - len(hits)))
            else:
                hits.extend(unscored_hits(self._open(meta["unscored"]["table"]), where, top_k - len(hits)))
        if flat is None and not any(info.get("ann_rows") for info in meta.get("spaces", {}).values()):
            self.refresh_flat()  # (an index with a vector index is queried through it: no copy to write)
        for h in hits:
            h["tree"] = hit_tree(h.get("root"), h.get("family"))
        return hits


def hit_tree(root: str | None, family: str | None) -> str:
    """The tree a row is in: its root's (up the registry's parent links: an SD 2.1 LoRA's is SD 2-base's), else its
    family, else "".

    >>> hit_tree("stabilityai/stable-diffusion-2-1", "sd2"), hit_tree("org/unknown-root", None), hit_tree("", "sd1")
    ('stabilityai/stable-diffusion-2-base', 'org/unknown-root', 'sd1')
    """
    from ..tree.registry import tree_root

    return (tree_root(root) if root else family) or ""


def _tree_names(meta: dict, tree: str) -> list[str]:
    from ..tree.registry import tree_root

    want = tree.strip()
    top = (tree_root(want) or want).lower()
    return [n for n in meta.get("tree_names", []) if n.lower() == want.lower() or tree_root(n).lower() == top]


def _sql_list(names: list[str]) -> str:
    return ", ".join(sql_str(n) for n in names)

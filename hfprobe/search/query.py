"""The query side of the index: one text space searched for a query's embedding, and each hit explained.

Owns the search tuning (`NPROBES`, `REFINE`), the vector search of one table (`search_space`: ids and distances
first, then the hits' columns by row id), the `why` of a hit, and the rows of a tree by id (`rows_by_id`: the
models without categories a tree query lists after its ranked ones, `unscored_hits`, and a query without text);
how a found row becomes a hit (`finish_hits`, `unscored_hit`, `listed_hit`) is shared with the flat copy's scan
(flat.py). `ModelIndex.query` (index.py) picks the tables, the encoders and the tree filter and merges what these
return. May import hfprobe.search.rows; a query needs no torch where its encoder does not (MiniLM's embeddings are
numpy's: hfprobe.text.bert_numpy).

    >>> search_space(table, get_text_encoder("minilm"), "a photo of a dog", top_k=3)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import fields

from .rows import IndexRow, sql_str

NPROBES = 32  # IVF partitions searched per query (of ~rows/4096); more: better recall, slower


REFINE = 10  # re-rank top_k x REFINE PQ candidates with the exact vectors


ROW_COLUMNS = [f.name for f in fields(IndexRow) if f.name != "embedding"]  # what a hit shows of its row


HIT_COLUMNS = [*ROW_COLUMNS, "_distance"]


def search_space(
    table,
    encoder,
    text: str,
    *,
    top_k: int,
    nprobes: int = NPROBES,
    refine: int = REFINE,
    where: str | None = None,
    explain: bool = True,
) -> list[dict]:
    """The `top_k` rows of one text space's table nearest to `text` (embedded with that space's `encoder`).

    Each hit has the row's columns but the embedding, `score` (cosine) and `why` (its top categories, prefixed
    with the one nearest the text when `explain`); `where` (SQL on root/family) filters before the vector search.
    """
    qvec = encoder.embed_array([text.strip()])[0]
    search = table.search(qvec.tolist(), vector_column_name="embedding").metric("cosine").limit(top_k)
    search = search.nprobes(nprobes).refine_factor(refine)
    if where:
        search = search.where(where, prefilter=True)
    return finish_hits(_search_then_take(table, search), encoder, qvec, explain)


def finish_hits(found: list[dict], encoder, qvec, explain: bool) -> list[dict]:
    """Hits as a query gives them, from rows found nearest first with their cosine `_distance`: `score`, `why`."""
    for rec in found:
        rec.pop("embedding", None)
        rec["score"] = round(1.0 - float(rec.pop("_distance")), 6)
        rec["why"] = _top_categories(rec)
    if explain and found:
        _explain(found, encoder, qvec)
    return found


def rows_by_id(table, where: str, limit: int) -> list[dict]:
    """The first `limit` rows by id that `where` keeps, with the columns a hit shows. (The ids of all that match
    are read first, then those rows.)"""
    ids = sorted(table.search().where(where).select(["id"]).limit(None).to_arrow()["id"].to_pylist())[:limit]
    if not ids:
        return []
    rest = table.search().where(f"id IN ({','.join(sql_str(i) for i in ids)})").select(ROW_COLUMNS)
    return sorted(rest.limit(None).to_list(), key=lambda r: r["id"])


def unscored_hits(table, where: str, limit: int) -> list[dict]:
    """The first `limit` models by id of the table of models without categories that `where` keeps."""
    return [unscored_hit(rec) for rec in rows_by_id(table, where, limit)]


def unscored_hit(rec: dict) -> dict:
    """A model without categories as a hit: `score` None, `why` saying why it has none."""
    return dict(rec, score=None, why=f"no score: {rec.get('reason') or 'no categories'}")


def listed_hit(rec: dict) -> dict:
    """A model with categories listed without a text to score it against: `score` None, `why` its top categories."""
    return dict(rec, score=None, why=_top_categories(rec))


def _top_categories(rec: dict) -> str:
    return "top categories: " + ", ".join(f"{c['label']} {c['score']:.2f}" for c in rec["categories"][:3])


def _search_then_take(table, search) -> list[dict]:
    """Run the vector search for ids and distances only, then take the hits' other columns by row id.

    At 1M rows the search with every hit column took 30/36 ms (p50/p95) and with the id alone 12/16 ms
    (probably because the columns are read for every refine candidate, not only the top k). Row ids belong to one table
    version, so if a writer compacted the table in between (the taken ids differ), the one-step query runs.
    """
    first = search.select(["id", "_distance"]).with_row_id(True).to_arrow()
    if first.num_rows == 0:
        return []
    row_ids = first["_rowid"].to_pylist()
    rest = table.take_row_ids(row_ids).select(ROW_COLUMNS).with_row_id().to_arrow()
    by_row = {r["_rowid"]: r for r in rest.to_pylist()}
    ids, dists = first["id"].to_pylist(), first["_distance"].to_pylist()
    out = []
    for row_id, model_id, dist in zip(row_ids, ids, dists):
        rec = by_row.get(row_id)
        if rec is None or rec["id"] != model_id:
            return [{k: v for k, v in r.items() if k != "_rowid"} for r in search.select(HIT_COLUMNS).to_list()]
        rec.pop("_rowid", None)
        out.append(dict(rec, _distance=dist))
    return out


def _explain(hits: list[dict], encoder, qvec) -> None:
    """Prefix each hit's `why` with its predicted category nearest the query text (labels embedded once)."""
    labels = list(dict.fromkeys(c["label"] for h in hits for c in h["categories"]))
    if not labels:
        return
    sims = dict(zip(labels, (encoder.embed_array(labels) @ qvec).tolist()))
    for h in hits:
        if h["categories"]:
            best = max(h["categories"], key=lambda c: sims[c["label"]])
            h["why"] = f"closest to the text: {best['label']} (predicted {best['score']:.2f}); {h['why']}"

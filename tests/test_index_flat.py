"""The flat index (hfprobe/search/flat.py): a small index's copy that a query scans without importing lancedb.

LanceDB is the oracle: on an index of two text spaces and models without categories, every query answers the
same from the copy as from the tables. The copy never outlives a write, a damaged one is replaced, one that
cannot be written is skipped, and a fresh `hfprobe query` that reads it does not import lancedb.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hfprobe.search.flat import FLAT_FILE, FlatIndex
from hfprobe.search.index import ModelIndex
from hfprobe.search.rows import IndexRow, embed_categories
from tests.test_index import WordEncoder, make_index

WORDS = [f"w{i}" for i in range(40)]
ROOTS = ["stable-diffusion-v1-5/stable-diffusion-v1-5", "google-bert/bert-base-uncased", "root-a", "root-b", ""]


def _rows(rng, enc, n: int, prefix: str) -> list[IndexRow]:
    rows = []
    for i in range(n):
        labels = rng.choice(WORDS, size=rng.integers(1, 4), replace=False)
        cats = [{"label": str(w), "score": float(s)} for w, s in zip(labels, np.sort(rng.random(len(labels)))[::-1])]
        root = ROOTS[i % len(ROOTS)]
        rows.append(
            IndexRow(
                id=f"{prefix}{i:03d}",
                source=f"org/{prefix}{i:03d}",
                embedding=embed_categories(cats, enc),
                text_encoder=enc.id,
                repo=f"org/{prefix}{i:03d}",
                revision_sha=f"{i:040x}",
                family="fam-" + (root.split("/")[0] if root else "none"),
                root=root,
                kind="adapter",
                format="peft",
                categories=cats,
                expert=f"{enc.id}-expert",
                expert_version="2",
                url=f"https://huggingface.co/org/{prefix}{i:03d}",
                indexed_at=1000.0 + i,
            )
        )
    return rows


def _unscored(n: int) -> list[IndexRow]:
    return [
        IndexRow(
            id=f"bare{i:03d}",
            source=f"org/bare{i:03d}",
            embedding=[],
            text_encoder="",
            family="sd1" if i % 2 else "bert",
            root=ROOTS[0] if i % 2 else ROOTS[1],
            format="kohya" if i % 2 else "peft",
            reason=f"no expert is installed (tree {'sd1' if i % 2 else 'bert'})",
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def two_spaces(tmp_path_factory):
    """240 ranked models in two text spaces (64-d and 32-d word spaces), 30 without categories."""
    rng = np.random.default_rng(7)
    enc_a, enc_b = WordEncoder(64, "words-a"), WordEncoder(32, "words-b")
    idx = ModelIndex(tmp_path_factory.mktemp("flat") / "idx", encoders={e.id: e for e in (enc_a, enc_b)})
    idx.add(_rows(rng, enc_a, 150, "a") + _rows(rng, enc_b, 90, "b") + _unscored(30))
    return idx


def _tables_only(monkeypatch):
    monkeypatch.setattr(FlatIndex, "load", classmethod(lambda cls, *a: None))
    monkeypatch.setattr(ModelIndex, "refresh_flat", lambda self: None)


def assert_same_hits(got: list[dict], want: list[dict]) -> None:
    """The same models in the same order with the same fields; scores equal to float32 rounding."""
    assert [h["id"] for h in got] == [h["id"] for h in want]
    for g, w in zip(got, want):
        if w["score"] is None:
            assert g == w
        else:
            assert g["score"] == pytest.approx(w["score"], abs=2e-6)
            assert {**g, "score": 0} == {**w, "score": 0}


QUERIES = ["w3", "w7 w11", "w0 w1 w2 w3", "nothing like it"]
TREES = [None, "runwayml/stable-diffusion-v1-5", "bert-base-uncased", "root-a", "fam-root-b", "sd1", "no-such-tree"]


def test_the_flat_copy_answers_every_query_as_the_tables_do(two_spaces, monkeypatch):
    asks = [(q, tree, k) for q in [*QUERIES, None] for tree in TREES for k in (1, 7, 300) if q or tree]
    with monkeypatch.context() as m:
        _tables_only(m)
        assert not (two_spaces.path / FLAT_FILE).exists()
        expected = [two_spaces.query(q, tree=tree, top_k=k, unscored=True) for q, tree, k in asks]
    two_spaces.query("w1")  # reads the tables, then writes the copy
    assert FlatIndex.load(two_spaces.path, 2) is not None

    def tables_read(*args, **kwargs):
        raise AssertionError("the query read the tables")

    monkeypatch.setattr("hfprobe.search.index.search_space", tables_read)
    monkeypatch.setattr("hfprobe.search.index.unscored_hits", tables_read)
    monkeypatch.setattr("hfprobe.search.index.rows_by_id", tables_read)
    for (q, tree, k), want in zip(asks, expected):
        assert_same_hits(two_spaces.query(q, tree=tree, top_k=k, unscored=True), want)
    assert sum(len(w) for w in expected) > 1500 and any(w and w[-1]["score"] is None for w in expected)
    listed = [[(not h["categories"], h["id"]) for h in w] for (q, _, k), w in zip(asks, expected) if q is None]
    assert sum(map(len, listed)) > 200 and all(w == sorted(w) for w in listed)  # by id, those with categories first


def test_the_copy_never_outlives_a_write(tmp_path, capsys):
    idx = make_index(tmp_path / "idx")
    flat = tmp_path / "idx" / FLAT_FILE
    assert not flat.exists()  # add() writes tables only; a batch's optimize() or a query writes the copy
    first = idx.query("dog", top_k=4)
    assert flat.exists()
    assert_same_hits(idx.query("dog", top_k=4), first)
    with idx._write_lock():  # every write: the copy is gone before any table changes
        assert not flat.exists()
    idx.query("dog")
    idx.remove(["org/dog-lora"])
    assert not flat.exists() and "org/dog-lora" not in [h["id"] for h in idx.query("dog", top_k=4)]
    assert flat.exists() and "org/dog-lora" not in [h["id"] for h in idx.query("dog", top_k=4)]  # from the copy
    idx.optimize()
    assert flat.exists()
    from hfprobe.cli import main

    assert main(["index", "info", "--index", str(tmp_path / "idx"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["flat_copy"] is True


def test_a_damaged_copy_is_read_past_and_replaced(tmp_path):
    idx = make_index(tmp_path / "idx")
    want = idx.query("dog", top_k=4)
    flat = tmp_path / "idx" / FLAT_FILE
    good = flat.read_bytes()
    for damaged in (b"", b"not arrow at all", good[: len(good) // 2]):
        flat.write_bytes(damaged)
        assert idx.query("dog", top_k=4) == want
        assert flat.read_bytes() == good  # rewritten from the tables


def test_no_copy_where_it_cannot_be_written_or_the_index_is_large(tmp_path):
    idx = make_index(tmp_path / "idx")
    (tmp_path / "idx" / ".write.lock").unlink()
    (tmp_path / "idx" / ".write.lock").mkdir()  # the lock cannot be taken (as in a read-only index)
    want = idx.query("dog", top_k=4)
    assert idx.query("dog", top_k=4) == want and not (tmp_path / "idx" / FLAT_FILE).exists()
    (tmp_path / "idx" / ".write.lock").rmdir()
    idx.optimize(ann_min_rows=2)  # a vector index: LanceDB's approximate search, not a flat scan
    assert json.loads((tmp_path / "idx" / "hfprobe_index.json").read_text())["spaces"]["fake-words"]["ann_rows"] == 4
    idx.query("dog")
    assert not (tmp_path / "idx" / FLAT_FILE).exists()


def test_a_fresh_query_from_the_copy_imports_no_lancedb(tmp_path):
    """`hfprobe query` with MiniLM on an optimized index: the same hits as the tables give, and neither lancedb
    nor pandas (which pyarrow imports to convert numpy arrays) nor torch imported."""
    from hfprobe.text.encoders import get_text_encoder

    enc = get_text_encoder("minilm")
    idx = ModelIndex(tmp_path / "idx")
    cats = [[{"label": "dog", "score": 0.9}], [{"label": "car", "score": 0.8}], [{"label": "a cat", "score": 0.7}]]
    idx.add(
        [
            IndexRow(id=f"m{i}", source=f"m{i}", embedding=embed_categories(c, enc), text_encoder=enc.id, categories=c)
            for i, c in enumerate(cats)
        ]
    )
    idx.optimize()
    code = (
        "import sys, json\n"
        "from hfprobe.search.index import ModelIndex\n"
        f"hits = ModelIndex({str(tmp_path / 'idx')!r}, create=False).query('a puppy')\n"
        "print(json.dumps([[h['id'], h['score']] for h in hits]))\n"
        "print([m for m in ('lancedb', 'pandas', 'torch') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    hits, imported = out.stdout.strip().splitlines()
    (tmp_path / "idx" / FLAT_FILE).unlink()
    want = [[h["id"], h["score"]] for h in ModelIndex(tmp_path / "idx").query("a puppy")]
    assert imported == "[]" and [h[0] for h in json.loads(hits)] == [h[0] for h in want] == ["m0", "m2", "m1"]
    assert np.allclose([h[1] for h in json.loads(hits)], [h[1] for h in want], atol=2e-6)

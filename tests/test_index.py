"""The search index: add/replace by id, ranking in one text space, tree filter, crash safety, resume,
the CLI, and the Ray engine giving the same rows as the local one."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hfprobe.errors import SearchIndexError, SourceNotFoundError, UsageError
from hfprobe.search.flat import FlatIndex
from hfprobe.search.index import ModelIndex
from hfprobe.search.ingest import add_sources
from hfprobe.search.rows import IndexRow, embed_categories, model_id_for

REPO = Path(__file__).resolve().parents[1]


class WordEncoder:
    """A tiny deterministic text space: each word is a fixed random vector, a text is their normalised sum.

    Identical words give cosine 1, disjoint words about 0; enough to test ranking without a real model.
    """

    def __init__(self, dim: int = 64, enc_id: str = "fake-words"):
        self.id, self.dim = enc_id, dim

    def _word(self, w: str) -> torch.Tensor:
        seed = int.from_bytes(hashlib.sha256(w.encode()).digest()[:8], "little")
        return torch.randn(self.dim, generator=torch.Generator().manual_seed(seed))

    def embed_array(self, texts):
        vecs = torch.stack([sum(self._word(w) for w in t.lower().split()) for t in texts])
        return torch.nn.functional.normalize(vecs, dim=-1).numpy()


# spec -> (root, categories); what a fake "inspect + predict" says about each model
FAKE_ZOO = {
    "org/dog-lora": ("sd-1.5", [("dog", 0.9), ("cat", 0.1)]),
    "org/cat-lora": ("sd-1.5", [("cat", 0.8), ("dog", 0.2)]),
    "org/car-lora": ("sd-1.5", [("car", 0.95), ("truck", 0.05)]),
    "org/dog-vit": ("vit-b16", [("dog", 0.7), ("truck", 0.3)]),
    "org/broken": None,
}


def fake_describe(spec: str, *, zoo=FAKE_ZOO, dim: int = 64) -> IndexRow:
    """Stands in for inspect + predict; module level so Ray can ship it to workers."""
    if zoo.get(spec) is None:
        raise SourceNotFoundError(f"{spec}: not a weights file")
    root, cats = zoo[spec]
    cats = [{"label": lab, "score": s} for lab, s in cats]
    enc = WordEncoder(dim)
    return IndexRow(
        id=model_id_for(spec),
        source=spec,
        embedding=embed_categories(cats, enc),
        text_encoder=enc.id,
        repo=spec,
        revision="main",
        family=root.split("-")[0],
        root=root,
        categories=cats,
        expert=f"{root}-expert",
        expert_version="1",
        url=f"https://huggingface.co/{spec}",
        indexed_at=1.0,
    )


def make_index(path, specs=None) -> ModelIndex:
    idx = ModelIndex(path, encoders={"fake-words": WordEncoder()})
    idx.add([fake_describe(s) for s in (specs or [s for s in FAKE_ZOO if FAKE_ZOO[s]])])
    return idx


def test_query_ranks_by_text_similarity_and_explains(tmp_path):
    idx = make_index(tmp_path / "idx")
    hits = idx.query("dog", top_k=4)
    assert [h["id"] for h in hits][:2] == ["org/dog-lora", "org/dog-vit"]
    assert hits[0]["id"] == "org/dog-lora"  # 0.9 dog beats 0.7 dog
    assert hits[0]["score"] > hits[-1]["score"] and -1.0 <= hits[-1]["score"] <= 1.0
    assert hits[0]["why"] == "closest to the text: dog (predicted 0.90); top categories: dog 0.90, cat 0.10"
    cat = next(h for h in hits if h["id"] == "org/cat-lora")
    assert cat["why"].startswith("closest to the text: dog (predicted 0.20)")  # its best match, not its top label
    assert "embedding" not in hits[0] and hits[0]["url"].endswith("org/dog-lora")
    assert idx.query("car", top_k=1)[0]["id"] == "org/car-lora"


def test_tree_filter_and_top_k(tmp_path):
    idx = make_index(tmp_path / "idx")
    hits = idx.query("dog", tree="VIT-B16", top_k=10)
    assert [h["id"] for h in hits] == ["org/dog-vit"]
    assert {h["root"] for h in idx.query("dog", tree="sd", top_k=10)} == {"sd-1.5"}  # family matches too
    assert idx.query("dog", tree="no-such-tree") == []
    assert len(idx.query("dog", top_k=2)) == 2


def test_reindex_replaces_row_and_persists(tmp_path):
    idx = make_index(tmp_path / "idx")
    assert len(idx) == 4
    zoo = dict(FAKE_ZOO, **{"org/car-lora": ("sd-1.5", [("dog", 1.0)])})
    idx.add([fake_describe("org/car-lora", zoo=zoo)])
    again = ModelIndex(tmp_path / "idx", encoders={"fake-words": WordEncoder()})  # a fresh process would see this
    assert len(again) == 4
    row = next(r for r in again.rows() if r["id"] == "org/car-lora")
    assert [c["label"] for c in row["categories"]] == ["dog"]
    assert again.query("car", top_k=1)[0]["id"] != "org/car-lora"


def test_bad_input_is_refused_and_nothing_written(tmp_path):
    idx = make_index(tmp_path / "idx")
    bad = fake_describe("org/dog-lora")
    bad.id, bad.embedding = "org/nan", [float("nan")] * 64
    with pytest.raises(SearchIndexError, match="not finite"):
        idx.add([fake_describe("org/cat-lora"), bad])
    assert len(idx) == 4
    wrong_dim = fake_describe("org/dog-lora")
    wrong_dim.embedding = wrong_dim.embedding[:10]
    with pytest.raises(SearchIndexError, match="64-d"):
        idx.add([wrong_dim])
    with pytest.raises(UsageError):
        idx.query("   ")
    with pytest.raises(SearchIndexError, match="no index here"):
        ModelIndex(tmp_path / "missing", create=False)
    with pytest.raises(SearchIndexError):
        embed_categories([], WordEncoder())


def test_batch_add_resumes_and_reports_failures(tmp_path):
    calls = []

    def counting(spec, **kw):
        calls.append(spec)
        return fake_describe(spec, **kw)

    idx = ModelIndex(tmp_path / "idx", encoders={"fake-words": WordEncoder()})
    first = add_sources(idx, ["org/dog-lora", "org/broken", "org/cat-lora"], describe=counting, progress=False)
    assert first["added"] == 2 and first["skipped"] == 0
    assert first["failed"][0]["source"] == "org/broken" and "not a weights file" in first["failed"][0]["error"]
    calls.clear()
    second = add_sources(idx, list(FAKE_ZOO), describe=counting, progress=False)
    assert set(calls) == {"org/car-lora", "org/dog-vit", "org/broken"}  # done ones skipped, failed one retried
    assert second["added"] == 2 and second["skipped"] == 2 and len(idx) == 4


def test_a_batch_with_nothing_left_to_index_draws_no_bar(tmp_path, capsys):
    """`hfprobe demo` reruns printed `indexing: 0model [00:00, ?model/s]` twice over a complete index."""
    idx = ModelIndex(tmp_path / "idx", encoders={"fake-words": WordEncoder()})
    add_sources(idx, ["org/dog-lora"], describe=fake_describe, progress=False)
    again = add_sources(idx, ["org/dog-lora"], describe=fake_describe, progress=True)
    assert again["skipped"] == 1 and "indexing" not in capsys.readouterr().err


_WRITER = """
import sys
from hfprobe.search.flat import FlatIndex
from hfprobe.search.index import ModelIndex
from hfprobe.search.rows import IndexRow
idx = ModelIndex(sys.argv[1])
for b in range(10_000):
    rows = [IndexRow(id=f"m{b}-{i}", source="x", embedding=[float(i % 7 + 1)] * 256, text_encoder="fake",
                     categories=[{"label": f"c{b}", "score": 1.0}]) for i in range(500)]
    idx.add(rows)
    print(b, flush=True)
"""


def test_killed_writer_leaves_a_readable_index(tmp_path):
    """SIGKILL a process in the middle of a stream of commits: the index opens, and holds whole batches only."""
    path = tmp_path / "idx"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    try:
        seen = -1
        deadline = time.time() + 60
        while seen < 2 and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen = int(line)
        assert seen >= 2, "writer did not commit 3 batches in time"
        time.sleep(0.05)  # land inside a later batch's write
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    idx = ModelIndex(path, encoders={"fake": WordEncoder(256, "fake")})
    n = len(idx)
    assert n % 500 == 0 and n >= 1500, n  # no half batch
    rows = idx.rows()
    assert all(len(r["embedding"]) == 256 and r["categories"] for r in rows)
    idx.add(
        [
            IndexRow(
                id="after-crash",
                source="x",
                embedding=[1.0] * 256,
                text_encoder="fake",
                categories=[{"label": "c", "score": 1.0}],
            )
        ]
    )
    assert len(idx) == n + 1  # still writable after the crash


def test_model_id_for():
    assert model_id_for("org/name@v2") == "org/name"
    assert model_id_for("hf://org/name@v2/a/b.safetensors") == "org/name/a/b.safetensors"
    assert model_id_for(__file__) == str(Path(__file__).resolve())


@pytest.mark.parametrize(
    "spec",
    [
        "org/name",
        "org/name@v2",
        "hf://org/name",
        "hf://models/org/name@v2",
        "https://huggingface.co/org/name",
        "https://huggingface.co/org/name/tree/main",
        "huggingface.co/org/name",
    ],
)
def test_one_repo_is_one_row_whichever_way_it_is_written(spec):
    """A URL and the repo id are one model: one key, so `index add` replaces its row (and a resumed batch skips it)
    rather than indexing it twice."""
    assert model_id_for(spec) == "org/name"


def test_cli_index_query_roundtrip(tmp_path, capsys):
    """The CLI against an index in the real default text space (MiniLM): "puppy" finds the dog model."""
    from hfprobe.cli import main
    from hfprobe.text.encoders import get_text_encoder

    enc = get_text_encoder("minilm")
    rows = []
    for rid, root, cats in [
        ("org/dog", "sd-1.5", [("dog", 0.9)]),
        ("org/plane", "sd-1.5", [("airplane", 0.9)]),
        ("org/dog-vit", "vit-b16", [("golden retriever", 0.8)]),
    ]:
        cats = [{"label": lab, "score": s} for lab, s in cats]
        rows.append(
            IndexRow(
                id=rid,
                source=rid,
                embedding=embed_categories(cats, enc),
                text_encoder="minilm",
                root=root,
                family=root,
                categories=cats,
            )
        )
    ModelIndex(tmp_path / "idx").add(rows)
    assert main(["query", "a puppy", "--index", str(tmp_path / "idx"), "--json", "--top-k", "3"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]  # JSON Lines: one hit a line
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert [h["id"] for h in hits][-1] == "org/plane"
    assert hits[0]["score"] > hits[-1]["score"] + 0.1
    assert main(["query", "a puppy", "--index", str(tmp_path / "idx"), "--tree", "vit-b16"]) == 0
    text = capsys.readouterr().out
    assert "org/dog-vit" in text and "org/plane" not in text
    assert main(["query", "dog", "--index", str(tmp_path / "nope")]) == 2
    assert "no index here" in capsys.readouterr().err
    assert main(["index", "info", "--index", str(tmp_path / "idx"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"] == 3
    assert main(["index", "add", "--index", str(tmp_path / "idx")]) == 2
    assert "no sources" in capsys.readouterr().err


def test_ray_engine_gives_the_same_rows(tmp_path):
    """The per-model work as Ray tasks on a local Ray (1 CPU) writes exactly the rows the local engine does."""
    ray = pytest.importorskip("ray")
    specs = list(FAKE_ZOO)
    local = ModelIndex(tmp_path / "local", encoders={"fake-words": WordEncoder()})
    add_sources(local, specs, describe=fake_describe, progress=False)
    ray.init(
        num_cpus=1,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)])}},
    )
    try:
        dist = ModelIndex(tmp_path / "ray", encoders={"fake-words": WordEncoder()})
        summary = add_sources(dist, specs, describe=fake_describe, engine="ray", progress=False)
    finally:
        ray.shutdown()
    assert summary["added"] == 4 and [f["source"] for f in summary["failed"]] == ["org/broken"]
    assert local.rows() == dist.rows()


def test_filter_lists_models_from_the_hub_api(tmp_path):
    """--filter goes through huggingface_hub's list_models against a Hub-compatible server on 127.0.0.1."""
    from hfprobe.errors import NetworkError
    from hfprobe.search.ingest import list_hub_models
    from tests.fakehub import FakeHub
    from tests.hub.faults import close_client_under

    hub, seen = FakeHub(tmp_path / "hub"), {}

    def models(req):
        seen.update(req.query)
        return 200, {}, [{"id": "org/a", "modelId": "org/a"}, {"id": "org/b", "modelId": "org/b"}]

    hub.route("GET", r"/api/models", models)
    with hub.serving():
        assert list_hub_models("base_model:adapter:org/root", limit=5) == ["org/a", "org/b"]
        # huggingface_hub closes the client all threads share after a connect error in any one: retried
        closed = close_client_under(hub, "GET", lambda path: path == "/api/models")
        assert list_hub_models("base_model:adapter:org/root", limit=5) == ["org/a", "org/b"] and closed
        hub.fault = None
    assert seen["filter"] == "base_model:adapter:org/root" and seen["limit"] == "5"
    with hub.serving():
        hub.route("GET", r"/api/models", lambda req: (401, {}, {"error": "Invalid credentials"}))
        with pytest.raises(NetworkError, match="list_models"):
            list_hub_models("x")


def test_a_query_of_an_empty_index_says_to_add_models(tmp_path, capsys):
    from hfprobe.cli import main

    idx = ModelIndex(tmp_path / "idx")
    idx.add([IndexRow(id="org/x", source="org/x", embedding=[], text_encoder="", family="sd1", reason="no expert")])
    idx.remove(["org/x"])  # an index whose last model was removed
    assert main(["query", "a puppy", "--index", str(tmp_path / "idx")]) == 0
    want = f"{tmp_path / 'idx'}: the index holds no models; add some with `hfprobe index add`"
    assert capsys.readouterr().out.strip() == want


def test_cli_from_file_reports_each_bad_source(tmp_path, capsys):
    """--from-file skips comments and blanks; a source that does not exist is one failure line on stderr,
    exit 1 (items of a batch failed), and nothing is written for it (the real per-model work fails before any
    expert is loaded)."""
    from hfprobe.cli import main

    listing = tmp_path / "sources.txt"
    listing.write_text(f"# models to index\n\n{tmp_path / 'missing-a.safetensors'}\n  {tmp_path / 'missing-b'}  \n")
    assert main(["index", "add", "--from-file", str(listing), "--index", str(tmp_path / "idx")]) == 1
    out, err = capsys.readouterr()
    assert "indexed 0, skipped 0 already indexed, failed 2" in out
    assert err.count("hfprobe: error: ") == 2 and "missing-a.safetensors" in err and "missing-b" in err
    assert len(ModelIndex(tmp_path / "idx")) == 0
    assert main(["index", "add", "--from-file", str(tmp_path / "nope.txt")]) == 2
    assert "cannot read the source list" in capsys.readouterr().err


def test_vector_and_tree_indexes_on_a_larger_table(tmp_path):
    """optimize() builds the IVF-PQ vector index and bitmap indexes on root/family (as at 100k+ rows; here
    forced at 1,200 rows): queries still rank the matching model first, the tree filter still applies,
    and rows added after the index are found."""
    enc = WordEncoder()
    idx = ModelIndex(tmp_path / "idx", encoders={"fake-words": enc})
    words = [f"w{i}" for i in range(60)]
    rows = []
    for i in range(1200):
        cats = [{"label": words[i % 60], "score": 1.0}, {"label": words[(i * 7) % 60], "score": 0.3}]
        rows.append(
            IndexRow(
                id=f"m{i}",
                source=f"m{i}",
                embedding=embed_categories(cats, enc),
                text_encoder=enc.id,
                root=f"root{i % 3}",
                family="fam",
                categories=cats,
            )
        )
    idx.add(rows)
    idx.optimize(ann_min_rows=1000)
    table = idx._db.open_table("models_fake_words")
    assert {i.index_type for i in table.list_indices()} >= {"IvfPq", "Bitmap"}
    hits = idx.query("w5", top_k=5)
    assert hits[0]["categories"][0]["label"] == "w5"
    assert {h["root"] for h in idx.query("w5", tree="ROOT1", top_k=5)} == {"root1"}
    assert idx.trees() == ["root0", "root1", "root2"]
    idx.add(
        [
            IndexRow(
                id="late",
                source="late",
                embedding=embed_categories([{"label": "zebra", "score": 1.0}], enc),
                text_encoder=enc.id,
                root="root9",
                categories=[{"label": "zebra", "score": 1.0}],
            )
        ]
    )
    assert idx.query("zebra", top_k=1)[0]["id"] == "late"


def test_hits_fall_back_to_one_step_when_row_ids_moved(tmp_path, monkeypatch):
    """The query takes hit columns by row id; a writer compacting in between must not mix up rows."""
    import lancedb.table

    monkeypatch.setattr(FlatIndex, "load", classmethod(lambda cls, *a: None))  # the tables, not their flat copy
    idx = make_index(tmp_path / "idx")
    expected = idx.query("dog", top_k=4)
    real_take = lancedb.table.LanceTable.take_row_ids

    expected_two = idx.query("dog", top_k=2)
    calls = []

    def moved(self, row_ids):  # as if the table had been rewritten: the hits' row ids now hold other rows
        calls.append(row_ids)
        everything = self.search().with_row_id(True).select(["id"]).to_arrow()["_rowid"].to_pylist()
        return real_take(self, [r for r in everything if r not in row_ids][: len(row_ids)])

    monkeypatch.setattr(lancedb.table.LanceTable, "take_row_ids", moved)
    assert idx.query("dog", top_k=2) == expected_two and calls
    assert idx.query("dog", top_k=4) == expected


# ---- every model searchable: rows for trees without an expert (issue 19) ------------------------------------------
@pytest.fixture
def no_experts(tmp_path, monkeypatch):
    """The default experts location does not exist (a fresh install); pools are looked up afresh."""
    import hfprobe.search.ingest as ingest

    monkeypatch.setenv("HFPROBE_EXPERTS", str(tmp_path / "no-experts-here"))
    monkeypatch.setattr(ingest, "_POOLS", {})
    loads = []
    import hfprobe.experts.publish as expert_mod

    real = expert_mod.load_experts_from
    monkeypatch.setattr(expert_mod, "load_experts_from", lambda where: loads.append(where) or real(where))
    return loads


def test_expert_less_tree_is_indexed_by_tree_root_format_and_commit(realzoo, tmp_path, no_experts, capsys):
    """A real PEFT adapter served by the test Hub, no expert installed: `index add` indexes it anyway."""
    from hfprobe.cli import main
    from tests.fakehub import FakeHub

    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/bert-lora", {f.name: f for f in (realzoo / "files" / "peft-haresh-bert-sentiment").iterdir()})
    idx_dir = str(tmp_path / "idx")
    with hub.serving():
        assert main(["index", "add", "org/bert-lora", "--index", idx_dir, "-q"]) == 0
        sha = hub.sha("org/bert-lora")
    assert "indexed 1" in capsys.readouterr().out
    [row] = ModelIndex(idx_dir).rows()
    assert (row["family"], row["root"], row["format"]) == ("bert", "google-bert/bert-base-uncased", "peft")
    assert row["categories"] == [] and row["embedding"] == [] and row["revision_sha"] == sha
    assert "no expert is installed (tree bert)" in row["reason"] and "no-experts-here" not in row["reason"]
    # found by its tree under any alias of its root, after ranked models, saying why it has no score
    assert main(["query", "sentiment", "--index", idx_dir, "--tree", "bert-base-uncased", "--json"]) == 0
    [hit] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hit["id"] == "org/bert-lora" and hit["score"] is None and hit["why"].startswith("no score: no expert")
    assert main(["query", "sentiment", "--index", idx_dir, "--tree", "bert"]) == 0  # the family matches too
    assert "org/bert-lora" in capsys.readouterr().out
    assert main(["query", "sentiment", "--index", idx_dir]) == 0  # a text query alone ranks scored models only
    out = capsys.readouterr().out
    assert "org/bert-lora" not in out and "none of the 1 models" in out and "add --tree ROOT to this query" in out
    assert main(["query", "sentiment", "--index", idx_dir, "--tree", "gpt2"]) == 0
    assert capsys.readouterr().out.strip() == f"{idx_dir}: no model of tree gpt2 among the 1 indexed"
    assert main(["index", "info", "--index", idx_dir, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["models"] == 1 and info["without_categories"] == 1
    assert no_experts == []  # the missing default location was looked at, never loaded from


def test_a_batch_of_hub_repos_is_indexed_side_by_side_and_reported_in_order(tmp_path, no_experts, capsys):
    """Each repo's row is mostly round trips: `index add` describes a batch of Hub repos at once, and reports and
    writes them in the order given, a bad one as its line in its place."""
    from hfprobe.cli import main
    from tests.fakehub import FakeHub
    from tests.hub.faults import adapter_files, slow_requests

    hub = FakeHub(tmp_path / "hub")
    names = [f"org/batch-{i}" for i in range(4)]
    for i, name in enumerate(names):
        hub.add_repo(name, adapter_files(seed=i)[0])
    most = slow_requests(hub, lambda path: path.startswith("/api/models/org/batch-"))  # each repo's listing
    specs = [names[0], "org/no-such-repo", *names[1:]]
    idx_dir = str(tmp_path / "idx")
    with hub.serving():
        assert main(["index", "add", *specs, "--index", idx_dir, "-q", "--json"]) == 1  # one of the batch failed
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["source"], x["status"]) for x in lines] == [(s, "failed" if "no-such" in s else "added") for s in specs]
    assert sorted(r["id"] for r in ModelIndex(idx_dir).rows()) == names
    assert {r["family"] for r in ModelIndex(idx_dir).rows()} == {"gpt2"}
    assert most[0] >= 2, "the repos were described one after another"


def test_scored_and_unscored_rows_share_one_index(tmp_path):
    idx = make_index(tmp_path / "idx")
    bare = IndexRow(
        id="org/sd-lora",
        source="org/sd-lora",
        embedding=[],
        text_encoder="",
        family="sd1",
        root="stable-diffusion-v1-5/stable-diffusion-v1-5",
        format="kohya",
        reason="no expert is installed (tree sd1)",
    )
    idx.add([bare])
    assert len(idx) == 5 and idx.count_unscored() == 1 and "org/sd-lora" in idx.ids()
    hits = idx.query("dog", tree="runwayml/stable-diffusion-v1-5", top_k=5, unscored=True)  # an alias of the root
    assert [h["id"] for h in hits] == ["org/sd-lora"] and hits[0]["score"] is None
    assert idx.query("dog", tree="sd1", top_k=5) == []  # opt-in: library callers get numbers only by default
    assert "org/sd-lora" not in [h["id"] for h in idx.query("dog", top_k=10, unscored=True)]  # no tree: ranked only
    # re-indexed with categories, the row moves to its text space: one id, one table
    scored = fake_describe("org/dog-lora")
    scored.id, scored.root, scored.family = "org/sd-lora", "stable-diffusion-v1-5/stable-diffusion-v1-5", "sd1"
    idx.add([scored])
    assert idx.count_unscored() == 0 and len(idx) == 5
    assert idx.query("dog", tree="stable-diffusion-v1-5/stable-diffusion-v1-5", top_k=3)[0]["score"] is not None
    with pytest.raises(SearchIndexError, match="no reason"):
        idx.add([IndexRow(id="x", source="x", embedding=[], text_encoder="")])


def test_a_query_without_text_lists_a_tree_by_id(tmp_path, capsys):
    """No text, a tree: its models by id, those with categories first (their top categories), then those without
    (why they have none); every score None. No text and no tree is a usage error."""
    from hfprobe.cli import main

    idx = make_index(tmp_path / "idx", specs=["org/dog-vit"])  # of another tree
    sd = "stable-diffusion-v1-5/stable-diffusion-v1-5"
    bare = [
        IndexRow(id=i, source=i, embedding=[], text_encoder="", family="sd1", root=sd, reason="no expert (tree sd1)")
        for i in ("org/b-bare", "org/a-bare")
    ]
    idx.add(bare + [_with_root(fake_describe("org/dog-lora"), sd), _with_root(fake_describe("org/cat-lora"), sd)])
    hits = idx.query(None, tree="runwayml/stable-diffusion-v1-5", top_k=10)  # an alias of the root
    assert [h["id"] for h in hits] == ["org/cat-lora", "org/dog-lora", "org/a-bare", "org/b-bare"]
    assert all(h["score"] is None for h in hits)
    assert hits[0]["why"].startswith("top categories: ") and hits[-1]["why"] == "no score: no expert (tree sd1)"
    assert [h["id"] for h in idx.query("  ", tree="sd1", top_k=3)] == ["org/cat-lora", "org/dog-lora", "org/a-bare"]
    assert idx.query(None, tree="no-such-tree") == []
    with pytest.raises(UsageError, match="or a tree to list"):
        idx.query(None)

    assert main(["query", "--tree", "sd1", "--index", str(tmp_path / "idx"), "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["1.", "-", "org/cat-lora"] and "top categories:" in lines[0]
    assert [line.split()[2] for line in lines if line[:4].strip().endswith(".")] == [h["id"] for h in hits[:3]]
    assert lines[-1] == "(the first 3 of tree sd1 by id; raise --top-k to list more)"
    assert main(["query", "--tree", "sd1", "--index", str(tmp_path / "idx"), "--top-k", "4"]) == 0
    assert "raise --top-k" not in capsys.readouterr().out  # all four listed
    assert main(["query", "--index", str(tmp_path / "idx")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "or --tree ROOT to list its models" in err


def _with_root(row: IndexRow, root: str) -> IndexRow:
    row.root, row.family = root, "sd1"
    return row


def test_a_bad_experts_location_fails_the_batch_once(tmp_path, no_experts, capsys):
    from hfprobe.cli import main

    specs = [str(tmp_path / f"m{i}") for i in range(3)]
    code = main(["index", "add", *specs, "--index", str(tmp_path / "idx"), "--experts", str(tmp_path / "nope"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nope" in err
    assert len(no_experts) == 1  # looked up once for the batch, not once per model
    assert not (tmp_path / "idx").exists()  # nothing went in: no empty index left behind


def test_a_batch_where_every_source_fails_leaves_no_index(tmp_path, capsys):
    from hfprobe.cli import main

    bad = [str(tmp_path / "missing-a"), str(tmp_path / "missing-b")]
    assert main(["index", "add", *bad, "--index", str(tmp_path / "idx"), "-q"]) == 1
    assert "no index written" in capsys.readouterr().out and not (tmp_path / "idx").exists()


def test_a_tree_filter_takes_in_the_roots_fine_tuned_from_it(tmp_path, capsys):
    """Llama-2-7b-chat-hf is a root of its own (people fine-tune from it; the weights cannot tell it from its
    parent), still in Llama 2's tree: `--tree meta-llama/Llama-2-7b-hf` finds models stored under it, and the
    other way round, but not LLaMA 1's, a tree of its own in the same shapes."""
    idx = make_index(tmp_path / "idx")
    rows = [
        IndexRow(
            id=f"org/{name}",
            source=f"org/{name}",
            embedding=[],
            text_encoder="",
            family="llama",
            root=root,
            format="peft",
            reason="no expert is installed (tree llama)",
        )
        for name, root in [("chat-lora", "meta-llama/Llama-2-7b-chat-hf"), ("v1-lora", "huggyllama/llama-7b")]
    ]
    idx.add(rows)
    trees = ("meta-llama/Llama-2-7b-hf", "NousResearch/Llama-2-7b-chat-hf", "codellama/CodeLlama-7b-hf")
    for tree in (*trees, "TheBloke/Llama-2-7B-Chat-GPTQ"):  # (a re-upload, known by its name)
        assert [h["id"] for h in idx.query("x", tree=tree, unscored=True)] == ["org/chat-lora"], tree
    assert [h["id"] for h in idx.query("x", tree="decapoda-research/llama-7b-hf", unscored=True)] == ["org/v1-lora"]
    # the trees an index lists are trees (one per tree, whichever roots of it its rows hold), and each hit names its own
    assert idx.trees() == ["huggyllama/llama-7b", "meta-llama/Llama-2-7b-hf", "sd-1.5", "vit-b16"]
    (hit,) = idx.query("x", tree="meta-llama/Llama-2-7b-hf", unscored=True)
    assert hit["root"] == "meta-llama/Llama-2-7b-chat-hf" and hit["tree"] == "meta-llama/Llama-2-7b-hf"
    assert {h["tree"] for h in idx.query("dog", top_k=10)} == {"sd-1.5", "vit-b16"}
    from hfprobe.cli import main  # the line `query` prints names the tree the filter took, beside the root

    assert main(["query", "--tree", "meta-llama/Llama-2-7b-hf", "--index", str(tmp_path / "idx")]) == 0
    assert "org/chat-lora  [meta-llama/Llama-2-7b-chat-hf, tree meta-llama/Llama-2-7b-hf]" in capsys.readouterr().out


def test_a_query_with_no_index_says_so_before_loading_the_database(tmp_path):
    """`hfprobe query` where no index was built: the one line comes before lancedb's import (0.6 s)."""
    code = (
        "import sys\n"
        "from hfprobe.cli import main\n"
        f"rc = main(['query', 'dogs', '--index', {str(tmp_path / 'nope')!r}])\n"
        "assert rc == 2, rc\n"
        "assert 'lancedb' not in sys.modules, 'lancedb imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("(or pass --index DIR)") and done.stderr.count("\n") == 1

"""The CLI on paths, flags and lists a new user gets wrong: each is refused before any work, with one line on stderr
and exit 2, and nothing is created. Output paths are tried two ways: under a regular file (works as any user) and,
where `chattr` works (root on a file system with attributes), in an immutable folder, which root cannot write
either. Every case here is fast because the check comes before the work (the zoo, the training, the Hub)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from hfprobe.cli import build_parser, main


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def refused(capsys, argv: list[str], *needles: str) -> str:
    """Run the CLI in-process: exit 2, one line on stderr naming each needle, quickly."""
    t = time.monotonic()
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hfprobe: error: "), err
    assert "internal error" not in err and "Traceback" not in err and "network" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert time.monotonic() - t < 30, "refused only after doing the work"
    return lines[0]


def usage_error(capsys, argv: list[str], flag: str) -> str:
    """argparse refuses the value: exit 2 and an error line naming the flag."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"error: argument {flag}:" in err and "Traceback" not in err, err
    return err


@pytest.fixture
def afile(tmp_path) -> Path:
    """A regular file: a path under it can never be created."""
    f = tmp_path / "afile"
    f.write_text("not a folder\n")
    return f


@pytest.fixture
def freeze():
    """freeze(folder): make it immutable, so no one (root included) can write in it, until the test ends;
    skips the test where chattr is unavailable (not root, or a file system without attributes)."""
    frozen: list[Path] = []

    def _freeze(d: Path) -> Path:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(d)], capture_output=True).returncode:
            pytest.skip("chattr +i is not available here")
        frozen.append(d)
        return d

    yield _freeze
    for d in frozen:
        subprocess.run(["chattr", "-i", str(d)], check=True)


@pytest.fixture
def immutable(tmp_path, freeze) -> Path:
    """An empty folder no one can write in."""
    d = tmp_path / "immdir"
    d.mkdir()
    return freeze(d)


@pytest.fixture
def tiny_zoo(tmp_path) -> Path:
    """A manifest zoo of two trees: enough to name its trees (nothing here reads the weights)."""
    z = tmp_path / "zoo"
    z.mkdir()
    rows = []
    for tree in ("alpha", "beta"):
        for i in range(2):
            (z / f"{tree}{i}.safetensors").write_bytes(b"")
            rows.append({"id": f"{tree}{i}", "path": f"{tree}{i}.safetensors", "labels": ["x"], "tree": tree})
    (z / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return z


# ---- 1. output paths are checked before any work ------------------------------------------------------------------
def _out_cases(bad: Path) -> dict[str, tuple[list[str], str]]:
    """command -> (argv writing under `bad`, the path the message must name). The zoos and sources named do not
    exist: the output check must come first, so none of them is read."""
    return {
        "bench --out": (["bench", "--zoo", "no-zoo", "--out", str(bad / "b.json")], str(bad / "b.json")),
        "train --out": (["train", "--zoo", "no-zoo", "--tree", "t", "--out", str(bad / "e")], str(bad / "e")),
        "zoo build --out": (["zoo", "build", "--preset", "test", "-q", "--out", str(bad / "z")], str(bad / "z")),
        "demo --out": (["demo", "--preset", "test", "-q", "--out", str(bad / "d")], str(bad / "d")),
        "index add --index": (["index", "add", "no-model", "-q", "--index", str(bad / "idx")], str(bad / "idx")),
        "annotate --summary": (["annotate", "no-model", "--summary", str(bad / "s.jsonl")], str(bad / "s.jsonl")),
        "annotate --out": (["annotate", "org/name", "--out", str(bad / "cards")], str(bad / "cards")),
        "webhook serve --log": (
            ["webhook", "serve", "--secret", "s", "--port", "1", "--log", str(bad / "l.jsonl")],
            str(bad / "l.jsonl"),
        ),
    }


@pytest.mark.parametrize("case", sorted(_out_cases(Path("x"))))
def test_an_output_path_under_a_file_is_refused_before_any_work(case, afile, tmp_path, capsys):
    argv, path = _out_cases(afile)[case]
    before = _files(tmp_path)
    refused(capsys, argv, path, "is a file")
    assert _files(tmp_path) == before


@pytest.mark.parametrize("case", sorted(_out_cases(Path("x"))))
def test_an_output_path_in_an_immutable_folder_is_refused_before_any_work(case, immutable, capsys):
    argv, path = _out_cases(immutable)[case]
    refused(capsys, argv, path, "cannot write")
    assert not any(immutable.iterdir())


def test_an_output_that_is_the_wrong_kind_is_refused(afile, tmp_path, capsys):
    refused(capsys, ["zoo", "build", "--preset", "test", "-q", "--out", str(afile)], "is a file, not a folder")
    refused(capsys, ["bench", "--zoo", "no-zoo", "--out", str(tmp_path)], "is a folder")
    refused(capsys, ["webhook", "serve", "--secret", "s", "--log", str(tmp_path)], "--log", "is a folder")
    refused(capsys, ["annotate", "no-model", "--summary", str(tmp_path)], "--summary", "is a folder")
    assert afile.read_text() == "not a folder\n"


def test_an_unwritable_cache_is_refused_before_any_work(afile, monkeypatch, capsys):
    monkeypatch.setenv("HFPROBE_CACHE", str(afile / "cache"))
    refused(capsys, ["demo", "--preset", "test", "-q"], "HFPROBE_CACHE", str(afile))
    refused(capsys, ["zoo", "build", "--preset", "test", "-q"], "HFPROBE_CACHE", str(afile))


def test_the_index_names_a_folder_it_cannot_make_or_write(afile, tmp_path, freeze):
    """ModelIndex maps its own mkdir and write lock: one line, not a PermissionError from filelock."""
    from hfprobe.errors import SearchIndexError
    from hfprobe.search.index import ModelIndex

    with pytest.raises(SearchIndexError, match="afile/idx: cannot create the index folder"):
        ModelIndex(afile / "idx")
    idx = ModelIndex(tmp_path / "idx")
    freeze(idx.path)
    row = {"id": "m", "source": "m", "embedding": [], "text_encoder": "", "reason": "no expert"}
    with pytest.raises(SearchIndexError, match="idx: cannot write the index"):
        idx.add([row])


def test_index_add_refuses_a_read_only_index_before_reading_models(tmp_path, freeze, capsys):
    from hfprobe.search.index import ModelIndex

    idx = ModelIndex(tmp_path / "idx")
    freeze(idx.path)
    refused(capsys, ["index", "add", "no-model", "-q", "--index", str(idx.path)], str(idx.path), "cannot write")


def test_train_never_replaces_a_folder_that_is_not_an_expert(tiny_zoo, tmp_path, capsys):
    """Saving an expert replaces its folder whole: a --out holding other files (a home folder) is refused."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work\n")
    refused(capsys, ["train", "--zoo", str(tiny_zoo), "--tree", "alpha", "--out", str(mine)], "not an expert")
    assert (mine / "thesis.tex").read_text() == "years of work\n"


def test_an_oserror_writing_at_the_end_is_one_line_not_an_internal_error(monkeypatch, capsys):
    """Whatever the checks miss (the disk filled up during an hour of work) names the file: exit 2."""
    import hfprobe.cli.trees as trees

    def disk_full(args):
        raise OSError(28, "No space left on device", "/data/results.json")

    monkeypatch.setattr(trees, "run", disk_full)
    line = refused(capsys, ["trees", "somewhere"], "/data/results.json", "No space left on device")
    assert "free space" in line


def test_a_local_write_error_in_annotate_repo_is_not_a_network_error(tmp_path, afile, monkeypatch):
    """annotate_repo writes --out outside its Hub error mapping: the disk's error is named as such."""
    import hfprobe.cards.annotate as ann
    from hfprobe.cards.annotate import annotate_repo
    from hfprobe.cards.batch import annotate_one
    from hfprobe.errors import OutputPathError
    from tests.fakehub import FakeHub
    from tests.test_card import BERT, _read

    monkeypatch.setattr(ann, "_default_inspect", lambda spec, token: dict(BERT))
    monkeypatch.setattr(ann, "_default_predict", lambda spec, token: None)
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/lora", {"README.md": _read("user_content.input.md"), "adapter_model.safetensors": b"x"})
    with hub.serving():
        with pytest.raises(OutputPathError, match=r"--out .*afile: cannot write .*README\.md \(Not a directory\)"):
            annotate_repo("org/lora", out=afile, today="2026-01-01")
        res = annotate_one("org/lora", out=str(afile / "cards"), today="2026-01-01")
    assert res.status == "failed" and "cannot write" in res.reason and "network" not in res.reason


# ---- 3. servers: the port range at parse time, a bind failure in one line -----------------------------------------
@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
@pytest.mark.parametrize("command", [["webhook", "serve", "--secret", "s"], ["space", "run"]])
def test_a_port_out_of_range_is_a_usage_error(command, port, capsys):
    usage_error(capsys, [*command, "--port", port], "--port")


@pytest.mark.parametrize("command", [["webhook", "serve", "--secret", "s"], ["space", "run"]])
def test_a_port_in_use_or_a_foreign_host_is_one_line(command, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused(capsys, [*command, "--port", str(port)], f"127.0.0.1:{port}", "in use", "--port")
    refused(capsys, [*command, "--host", "256.1.1.1", "--port", "7860"], "256.1.1.1:7860", "--host")


# ---- 4. probe and batch flags are checked by argparse -------------------------------------------------------------
@pytest.mark.parametrize(
    "flag,value",
    [("--epochs", "0"), ("--dropout", "2"), ("--dropout", "1"), ("--rank", "-1"), ("--rank", "0"),
     ("--weight-decay", "-1"), ("--dropout", "nan")],
)  # fmt: skip
@pytest.mark.parametrize("command", ["train", "bench"])
def test_probe_flags_out_of_range_are_usage_errors(command, flag, value, capsys):
    argv = ["train", "--zoo", "z", "--tree", "t"] if command == "train" else ["bench", "--zoo", "z"]
    usage_error(capsys, [*argv, f"{flag}={value}"], flag)


@pytest.mark.parametrize(
    "argv,flag",
    [
        (["trees", "d", "--n-trees", "0"], "--n-trees"),
        (["trees", "d", "--n-trees", "-1"], "--n-trees"),
        (["annotate", "x", "--workers", "0"], "--workers"),
        (["annotate", "x", "--workers", "-3"], "--workers"),
        (["annotate", "--filter", "x", "--limit", "-1"], "--limit"),
        (["annotate", "x", "--pr-interval", "-1"], "--pr-interval"),
        (["index", "add", "x", "--limit", "0"], "--limit"),
        (["webhook", "serve", "--workers", "0"], "--workers"),
        (["zoo", "build", "--jobs", "0"], "--jobs"),
    ],
)
def test_counts_out_of_range_are_usage_errors(argv, flag, capsys):
    usage_error(capsys, argv, flag)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--zoo", "z", "--all-trees", "--push", "notarepo"],  # before the zoo is even opened
        ["experts", "push", "d", "bad//id", "--dry-run"],
        ["space", "push", "org/na me"],
    ],
)
def test_a_repo_to_write_to_is_checked_first(argv, capsys):
    refused(capsys, argv, "not a Hub repo id")


def test_space_run_refuses_a_missing_index(capsys, tmp_path):
    refused(capsys, ["space", "run", "--index", str(tmp_path / "none"), "--port", "7999"], "--index", "no such folder")


def test_good_probe_flags_still_parse():
    args = build_parser().parse_args(["bench", "--zoo", "z", "--epochs", "3", "--dropout", "0", "--rank", "4"])
    assert (args.epochs, args.dropout, args.rank, args.weight_decay) == (3, 0.0, 4, None)


def test_bench_names_the_zoos_trees_when_a_tree_is_unknown(tiny_zoo, capsys):
    line = refused(capsys, ["bench", "--zoo", str(tiny_zoo), "--trees", "alpha,nosuch"], "'nosuch'", "alpha, beta")
    assert "'alpha'" not in line


# ---- 5. lists and vocabularies: one line for a file that is not one -----------------------------------------------
@pytest.mark.parametrize(
    "content,needle",
    [(b'{"foo": 1}\n', "line 1"), (b"[1, 2]\n", "line 1"), (b'{"target": "a", "status": "annotated"}\n7\n', "line 2"),
     (b"\xff\xfe\x00bad\n", "not UTF-8")],
)  # fmt: skip
def test_a_summary_that_is_not_one_is_refused(content, needle, tmp_path, capsys):
    summary = tmp_path / "s.jsonl"
    summary.write_bytes(content)
    refused(capsys, ["annotate", str(tmp_path / "no-model"), "--summary", str(summary)], str(summary), needle)
    assert summary.read_bytes() == content  # nothing appended


def test_a_summary_with_a_half_written_last_line_still_resumes(tmp_path):
    from hfprobe.cards.batch import read_summary

    summary = tmp_path / "s.jsonl"
    summary.write_text('{"target": "a", "status": "annotated"}\n{"target": "b", "sta')
    assert list(read_summary(summary)) == ["a"]


def test_a_summary_in_a_folder_not_yet_made_is_written(tmp_path):
    """The check passes a path whose folders do not exist yet, so the writer makes them."""
    from hfprobe.cards.batch import annotate_batch
    from tests.test_card import BERT

    (tmp_path / "m").mkdir()
    summary = tmp_path / "new" / "deeper" / "s.jsonl"
    [res] = annotate_batch(
        [str(tmp_path / "m")],
        summary=summary,
        progress=False,
        echo=lambda s: None,
        dry_run=True,
        inspect_fn=lambda spec, token: dict(BERT),
        predict_fn=lambda spec, token: None,
    )
    assert res.status == "would-change"
    assert json.loads(summary.read_text())["target"] == str(tmp_path / "m")


@pytest.mark.parametrize("kind", ["binary", "folder"])
@pytest.mark.parametrize(
    "argv,what",
    [(["annotate", "--from-file"], "list of repos"), (["predict", "no-model", "--vocab"], "vocabulary file")],
)
def test_a_list_file_that_is_not_text_is_refused(kind, argv, what, tmp_path, capsys):
    path = tmp_path / "list"
    if kind == "binary":
        path.write_bytes(b"\x00\xff\xfe\x80 weights")
    else:
        path.mkdir()
    refused(capsys, [*argv, str(path)], str(path), what)


# ---- 6. the demo's --threads help says what it does -----------------------------------------------------------------
def test_demo_threads_default_is_what_its_help_says(capsys):
    assert build_parser().parse_args(["demo"]).threads == 0
    assert build_parser().parse_args(["train", "--zoo", "z", "--all-trees"]).threads == 1
    assert main(["demo", "--help"]) == 0
    helptext = " ".join(capsys.readouterr().out.split())
    assert "--threads N torch threads (default 0" in helptext

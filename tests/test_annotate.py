"""hfprobe annotate on local folders: atomic writes, dry-run diffs, locking, faults, the CLI.

These tests swap in a fixed inspect report (hfprobe.cards.annotate._default_inspect) so they test the
write path alone; tests/test_annotate_realzoo.py runs the real inspect on real third-party files.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

import hfprobe.cards.annotate as ann
from hfprobe.cards.annotate import annotate_folder, write_atomic
from hfprobe.cards.batch import annotate_batch, annotate_one
from hfprobe.cards.card import MD_BEGIN, update_card
from hfprobe.cli import main
from hfprobe.errors import CardError
from tests.test_card import BERT, _read

DAY = "2026-01-01"


@pytest.fixture
def fixed_report(monkeypatch):
    calls = []

    def fake_inspect(spec, token):
        calls.append(spec)
        return dict(BERT)

    monkeypatch.setattr(ann, "_default_inspect", fake_inspect)
    monkeypatch.setattr(ann, "_default_predict", lambda spec, token: None)
    return calls


@pytest.fixture
def model(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "README.md").write_bytes(_read("user_content.input.md").encode())
    (folder / "adapter_model.safetensors").write_bytes(b"x")
    return folder


def test_annotate_folder_writes_then_is_unchanged(model, fixed_report):
    res = annotate_folder(model, today=DAY)
    assert res.status == "annotated" and res.written == str(model / "README.md")
    text = (model / "README.md").read_text()
    assert MD_BEGIN in text and "base_model: bert-base-uncased" in text and str(model) not in text
    assert sorted(p.name for p in model.iterdir()) == ["README.md", "adapter_model.safetensors"]  # no temp/lock left
    before = (model / "README.md").read_bytes()
    again = annotate_folder(model, today="2027-01-01")
    assert again.status == "unchanged" and (model / "README.md").read_bytes() == before


def test_dry_run_prints_diff_and_writes_nothing(model, fixed_report, capsys):
    before = (model / "README.md").read_bytes()
    assert main(["annotate", str(model), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would-change" in out and "--- a/README.md" in out and "+base_model: bert-base-uncased" in out
    assert (model / "README.md").read_bytes() == before


def test_cli_annotates_folder_without_readme(tmp_path, fixed_report, capsys):
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "adapter_model.safetensors").write_bytes(b"x")
    assert main(["annotate", str(folder)]) == 0
    assert "annotated" in capsys.readouterr().out
    assert (folder / "README.md").read_text().startswith("---\n# >>> hfprobe")


@pytest.mark.parametrize(
    "card, needle",
    [
        (_read("broken_yaml.input.md").encode(), "not valid YAML"),
        (b"---\nlicense: mit\n---\n# Caf\xe9\n", "not UTF-8"),
        (b"\xff\xfe-\x00-\x00-\x00\n", "not UTF-8"),  # a UTF-16 mark before bytes UTF-16 cannot read
    ],
)
def test_a_broken_card_fails_cleanly_names_the_file_and_is_kept(tmp_path, fixed_report, capsys, card, needle):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "README.md").write_bytes(card)
    assert main(["annotate", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"hfprobe: error: {folder}: README.md") and needle in err and len(err.splitlines()) == 1
    assert (folder / "README.md").read_bytes() == card


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_card_saved_as_utf16_is_written_back_as_utf8(tmp_path, fixed_report, encoding):
    """Windows PowerShell 5's `>` and older Notepad's "Unicode" save UTF-16 with a byte-order mark; the Hub and
    huggingface_hub read cards as UTF-8 only. Before, annotate refused the card ("not UTF-8 text")."""
    from huggingface_hub import ModelCard

    folder = tmp_path / "model"
    folder.mkdir()
    written = _read("user_content.input.md").replace("movie", "Café movie")
    data = written.encode(encoding)
    (folder / "README.md").write_bytes(data if encoding == "utf-16" else b"\xfe\xff" + data)
    res = annotate_folder(folder, today=DAY)
    assert res.status == "annotated" and "saved as UTF-8 (it was UTF-16)" in res.line()
    text = (folder / "README.md").read_bytes().decode("utf-8")
    assert text == update_card(written, dict(BERT, source=str(folder)), today=DAY).text  # the author's words kept
    assert ModelCard(text).data.to_dict()["base_model"] == BERT["base_model"]["id"]
    assert annotate_folder(folder, today="2027-01-01").status == "unchanged"


def test_missing_folder_is_one_line_exit_2(tmp_path, fixed_report, capsys):
    assert main(["annotate", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_interrupted_write_leaves_old_card(tmp_path, monkeypatch):
    card = tmp_path / "README.md"
    card.write_text("old\n")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(ann.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(card, "new\n")
    assert card.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # the temp file was removed


def test_concurrent_runs_serialise(model, monkeypatch):
    """Two runs at once: the second waits for the lock, then finds the card already annotated."""
    started = threading.Event()

    def slow_inspect(spec, token):
        started.set()
        time.sleep(0.3)
        return dict(BERT)

    monkeypatch.setattr(ann, "_default_inspect", slow_inspect)
    monkeypatch.setattr(ann, "_default_predict", lambda spec, token: None)
    results = []
    first = threading.Thread(target=lambda: results.append(annotate_folder(model, today=DAY)))
    first.start()
    started.wait(5)
    results.append(annotate_folder(model, today=DAY))
    first.join()
    assert sorted(r.status for r in results) == ["annotated", "unchanged"]
    assert (model / "README.md").read_text().count(MD_BEGIN) == 1


def test_lock_timeout_is_a_card_error(model, fixed_report):
    with ann.card_lock(model / "README.md"):
        with pytest.raises(CardError, match="holds its lock"):
            with ann.card_lock(model / "README.md", timeout=0.1):
                pass


def test_batch_goes_on_after_a_failure_and_resumes(tmp_path, model, fixed_report):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "README.md").write_text(_read("broken_yaml.input.md"))
    summary = tmp_path / "summary.jsonl"
    lines = []
    results = annotate_batch([str(bad), str(model)], workers=2, summary=summary, echo=lines.append, progress=False)
    status = {r.target: r.status for r in results}
    assert status == {str(bad): "failed", str(model): "annotated"}
    assert (
        f"{bad}: failed: README.md: the YAML metadata block is not valid YAML at line 4 (expected ',' or ']', but "
        "got ':'); fix it and rerun" in lines
    )
    # Resume: the annotated one is not redone; the failed one is retried.
    fixed_report.clear()
    again = annotate_batch([str(bad), str(model)], workers=2, summary=summary, echo=lines.append, progress=False)
    assert fixed_report == []  # the failed one fails on YAML before inspect; the done one is skipped
    assert {r.target: r.reason for r in again}[str(model)] == "already done (summary)"
    assert len(summary.read_text().splitlines()) == 3


def test_unwritable_folder(model, fixed_report):
    """A folder or card marked read-only is left as it is, by root too, whose writes the mode does not stop
    (os.access says yes to root): as root, annotate replaced a read-only README.md in a read-only folder."""
    before = (model / "README.md").read_bytes()
    model.chmod(0o555)
    try:
        with pytest.raises(CardError, match="not writable"):
            annotate_folder(model, today=DAY)
    finally:
        model.chmod(0o755)
    (model / "README.md").chmod(0o444)
    try:
        with pytest.raises(CardError, match=r"README.md: read-only \(mode 444\).*chmod u\+w"):
            annotate_folder(model, today=DAY)
    finally:
        (model / "README.md").chmod(0o644)
    assert (model / "README.md").read_bytes() == before
    assert annotate_folder(model, today=DAY).status == "annotated"  # writable again: written


def test_ctrl_c_mid_batch_exits_130_and_leaves_cards_whole(tmp_path, monkeypatch, capsys):
    folders = []
    for i in range(3):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        (folder / "README.md").write_text(_read("user_content.input.md"))
        folders.append(folder)

    def inspect(spec, token):
        if spec.endswith("m1"):
            raise KeyboardInterrupt
        return dict(BERT)

    monkeypatch.setattr(ann, "_default_inspect", inspect)
    monkeypatch.setattr(ann, "_default_predict", lambda spec, token: None)
    assert main(["annotate", *map(str, folders), "--workers", "1"]) == 130
    assert "interrupted" in capsys.readouterr().err
    for folder in folders:
        text = (folder / "README.md").read_text()
        assert text == _read("user_content.input.md") or text.count(MD_BEGIN) == 1  # old or complete, never half
        assert [p.name for p in folder.iterdir()] == ["README.md"]


def test_push_or_out_with_a_local_folder_is_refused(model, fixed_report, capsys):
    assert main(["annotate", str(model), "--push"]) == 2
    assert "--push and --out are for Hub repos" in capsys.readouterr().err


def test_json_lines(model, fixed_report, capsys):
    import json

    assert main(["annotate", str(model), "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    item = json.loads(line)
    assert item["status"] == "annotated" and item["base_model_action"] == "added" and item["target"] == str(model)


def test_revision_and_unknown_targets_fail_with_a_reason():
    assert "drop the revision to --push" in annotate_one("org/name@dev", push=True).reason
    assert "needs --push (open a pull request) or --out DIR" in annotate_one("org/name@dev").reason
    assert "no such folder" in annotate_one("./not/here").reason


@pytest.mark.parametrize("kind", ["link", "pipe"])
def test_a_card_that_is_a_link_or_a_pipe_is_refused_untouched(tmp_path, fixed_report, capsys, kind):
    """A huggingface_hub cache snapshot's README.md is a link into blobs that other revisions share: written in
    place, the link became a file and the snapshot no longer its revision (a pipe became a file too). One line, exit
    2, nothing written; --dry-run still shows the diff."""
    folder = tmp_path / "snapshot"
    folder.mkdir()
    (folder / "adapter_model.safetensors").write_bytes(b"x")
    blob = tmp_path / "blob"
    blob.write_text("---\nlicense: mit\n---\n# card\n")
    if kind == "link":
        (folder / "README.md").symlink_to(blob)
    else:
        os.mkfifo(folder / "README.md")
    assert main(["annotate", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert "README.md: " in err and "annotate the copy" in err and "\n" not in err
    assert (folder / "README.md").is_symlink() == (kind == "link") and blob.read_text().startswith("---\nlicense")
    if kind == "link":
        assert main(["annotate", str(folder), "--dry-run"]) == 0 and "+base_model:" in capsys.readouterr().out


def test_a_huggingface_hub_cache_snapshot_is_not_written_into(tmp_path, fixed_report, capsys):
    """A snapshot folder of huggingface_hub's cache is a revision's files as they are: a card written there (a new
    README.md beside the linked weights, where the repo had none) would make it that revision no longer. The line
    names the repo and the command that annotates it."""
    snapshot = tmp_path / "hub" / "models--org--my-lora" / "snapshots" / ("ab" * 20)
    snapshot.mkdir(parents=True)
    (snapshot / "adapter_model.safetensors").write_bytes(b"x")
    assert main(["annotate", str(snapshot)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cache snapshot of org/my-lora" in err and "`hfprobe annotate org/my-lora --out DIR`" in err
    assert "\n" not in err and sorted(p.name for p in snapshot.iterdir()) == ["adapter_model.safetensors"]
    assert main(["annotate", str(snapshot), "--dry-run"]) == 0  # the diff is still shown

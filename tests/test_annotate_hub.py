"""hfprobe annotate against the Hub: pull requests end to end on the test server (tests/fakehub*.py).

The real huggingface_hub client runs unchanged (whoami, model_info, hf_hub_download, preupload,
commit NDJSON with create_pr, discussions); only the inspect report is fixed, so these tests are
about the write path. Tokens used here look like real ones (hf_...) so a leak would be visible.
"""

from __future__ import annotations

import logging

import pytest

import hfprobe.cards.annotate as ann
from hfprobe.cards.annotate import PR_TITLE, annotate_repo
from hfprobe.cards.card import update_card
from hfprobe.cli import main
from hfprobe.errors import (
    CardError,
    HubWriteError,
    SourceAccessError,
    SourceNotFoundError,
)
from tests.fakehub import FakeHub
from tests.fakehub_write import install_write
from tests.test_card import BERT, PREDICTIONS, _read

WRITE, READ, EXPIRED = "hf_WriteTokenAbcdef123456", "hf_ReadTokenAbcdef1234567", "hf_ExpiredTokenAbcdef12345"
DAY = "2026-01-01"
WEIGHTS = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setattr(ann, "_default_inspect", lambda spec, token: dict(BERT))
    monkeypatch.setattr(ann, "_default_predict", lambda spec, token: None)
    h = FakeHub(tmp_path / "hub")
    install_write(h)
    h.tokens = {WRITE: "write", READ: "read", EXPIRED: "expired"}
    h.add_repo("org/lora", {"README.md": _read("user_content.input.md"), "adapter_model.safetensors": WEIGHTS})
    h.add_repo(
        "org/declared",
        {
            "README.md": "---\nbase_model: google-bert/bert-base-uncased\nbase_model_relation: adapter\n---\n# d\n",
            "adapter_model.safetensors": WEIGHTS,
        },
    )
    h.add_repo("org/bare", {"adapter_model.safetensors": WEIGHTS})
    h.add_repo("org/broken", {"README.md": _read("broken_yaml.input.md"), "adapter_model.safetensors": WEIGHTS})
    h.add_repo("org/gated", {"README.md": "# gated\n", "adapter_model.safetensors": WEIGHTS})
    h.gated.add("org/gated")
    h.add_repo("org/secret", {"README.md": "# secret\n", "adapter_model.safetensors": WEIGHTS})
    h.private.add("org/secret")
    with h.serving():
        yield h


def _pr_readme(hub, repo, num=1) -> str:
    return (hub.repo_dir(repo, f"refs/pr/{num}") / "README.md").read_text()


def test_push_opens_one_pr_then_reuses_it(hub, caplog):
    caplog.set_level(logging.DEBUG)
    original = (hub.root / "org/lora/README.md").read_bytes()
    res = annotate_repo("org/lora", push=True, token=WRITE, today=DAY)
    assert res.status == "annotated" and res.written.endswith("/org/lora/discussions/1")
    [pr] = hub.discussions["org/lora"]
    assert pr["title"] == PR_TITLE and pr["isPullRequest"] and pr["author"] == "tester"
    for words in (
        "What was found",
        "google-bert/bert-base-uncased",
        "How",
        "How to reject it",
        "Close this pull request",
    ):
        assert words in pr["description"]
    expected = update_card(original.decode(), dict(BERT, source="org/lora"), today=DAY).text
    assert _pr_readme(hub, "org/lora") == expected
    assert (hub.root / "org/lora/README.md").read_bytes() == original  # main untouched
    assert [c[1] for c in hub.commits] == ["refs/pr/1"] and list(hub.commits[0][4]) == ["README.md"]
    # Second run, same results: found by author + title, nothing new.
    again = annotate_repo("org/lora", push=True, token=WRITE, today="2027-01-01")
    assert again.status == "unchanged" and again.written == res.written
    assert len(hub.discussions["org/lora"]) == 1 and len(hub.commits) == 1
    # New results: a commit on the same PR branch, still one PR.
    ann._default_predict = lambda spec, token: PREDICTIONS
    newer = annotate_repo("org/lora", push=True, token=WRITE, today="2027-01-01")
    assert newer.status == "annotated" and newer.written == res.written
    assert len(hub.discussions["org/lora"]) == 1 and [c[1] for c in hub.commits] == ["refs/pr/1", "refs/pr/1"]
    assert "| sentiment | 0.812 |" in _pr_readme(hub, "org/lora")
    assert WRITE not in caplog.text


def test_closed_pr_is_not_reopened(hub):
    annotate_repo("org/lora", push=True, token=WRITE, today=DAY)
    hub.discussions["org/lora"][0]["status"] = "closed"
    res = annotate_repo("org/lora", push=True, token=WRITE, today=DAY)
    assert res.status == "skipped" and "closed" in res.reason
    assert len(hub.discussions["org/lora"]) == 1


def test_repo_without_readme_gets_a_fresh_card(hub):
    res = annotate_repo("org/bare", push=True, token=WRITE, today=DAY)
    assert res.status == "annotated"
    assert _pr_readme(hub, "org/bare") == _read("fresh.expected.md").replace("someone/bert-sentiment-lora", "org/bare")


@pytest.mark.parametrize(
    "token,message",
    [
        (EXPIRED, "rejected the token"),
        (READ, "read-only"),
        ("hf_UnknownTokenAbcdef123456", "rejected the token"),
    ],
)
def test_bad_tokens_fail_cleanly_without_leaking(hub, token, message, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HubWriteError, match=message) as err:
        annotate_repo("org/lora", push=True, token=token, today=DAY)
    assert token not in str(err.value) and "\n" not in str(err.value)
    assert "org/lora" not in hub.discussions and hub.commits == []
    assert main(["annotate", "org/lora", "--push", "--token", token]) == 2
    out = capsys.readouterr()
    assert token not in out.out + out.err + caplog.text
    assert out.err.startswith("hfprobe: error: org/lora:") and len(out.err.strip().splitlines()) == 1


def test_read_only_token_refused_by_server_too(hub, monkeypatch):
    """A token whose role whoami does not tell (fine-grained) but that the server refuses: 403 -> one line."""
    hub.tokens["hf_FineGrainedAbcdef123456"] = "read"
    monkeypatch.setattr(ann, "_our_prs", lambda api, repo, user: (None, None))
    from huggingface_hub import HfApi

    monkeypatch.setattr(HfApi, "whoami", lambda self, *a, **k: {"name": "tester", "auth": {}})
    with pytest.raises(HubWriteError, match="no write access"):
        annotate_repo("org/lora", push=True, token="hf_FineGrainedAbcdef123456", today=DAY)


def test_no_token(hub):
    with pytest.raises(HubWriteError, match="needs a Hugging Face token"):
        annotate_repo("org/lora", push=True, token=None, today=DAY)


def test_missing_gated_private_and_broken(hub):
    with pytest.raises(SourceNotFoundError, match="org/missing: repo not found"):
        annotate_repo("org/missing", push=True, token=WRITE, today=DAY)
    with pytest.raises(SourceAccessError, match="gated"):
        annotate_repo("org/gated", push=True, token=WRITE, today=DAY)
    with pytest.raises(SourceNotFoundError):
        annotate_repo("org/secret", out="unused", token=None, today=DAY)
    with pytest.raises(CardError, match="not valid YAML"):
        annotate_repo("org/broken", push=True, token=WRITE, today=DAY)
    assert hub.commits == []


def test_network_failure_mid_way_changes_nothing_and_rerun_works(hub):
    hub.fail_commit = True
    with pytest.raises(HubWriteError, match="HTTP 500.*nothing was changed"):
        annotate_repo("org/lora", push=True, token=WRITE, today=DAY)
    assert "org/lora" not in hub.discussions and hub.repo_dir("org/lora", "refs/pr/1") is None
    assert annotate_repo("org/lora", push=True, token=WRITE, today=DAY).status == "annotated"


def test_without_push_writes_to_out(hub, tmp_path):
    out = tmp_path / "cards"
    res = annotate_repo("org/lora", out=out, today=DAY)
    assert res.status == "annotated" and res.written == str(out / "org/lora/README.md")
    assert (out / "org/lora/README.md").read_text() == update_card(
        _read("user_content.input.md"), dict(BERT, source="org/lora"), today=DAY
    ).text
    assert hub.commits == []


def test_batch_from_file_and_filter(hub, tmp_path, capsys):
    repos = tmp_path / "repos.txt"
    repos.write_text("# my repos\norg/lora\norg/missing\n\norg/bare  # no card yet\n")
    summary = tmp_path / "summary.jsonl"
    code = main(["annotate", "--from-file", str(repos), "--push", "--token", WRITE, "--summary", str(summary)])
    out = capsys.readouterr().out
    assert code == 1  # one failed, the others went on
    assert "org/missing: failed: repo not found" in out
    assert "org/lora: annotated" in out and "org/bare: annotated" in out
    assert len(summary.read_text().splitlines()) == 3
    assert WRITE not in out + summary.read_text()
    # Resume: only the failed one is retried.
    assert main(["annotate", "--from-file", str(repos), "--push", "--token", WRITE, "--summary", str(summary)]) == 1
    assert len(summary.read_text().splitlines()) == 4
    assert capsys.readouterr().out.strip().splitlines()[0].startswith("org/missing: failed")
    # --filter goes through HfApi.list_models(filter=...): the fake server derives base_model tags from cards.
    code = main(
        ["annotate", "--filter", "base_model:adapter:google-bert/bert-base-uncased", "--push", "--token", WRITE]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == f"org/declared: annotated ({hub.endpoint}/org/declared/discussions/1)"


def test_push_with_real_inspect_end_to_end(tmp_path, realzoo, monkeypatch):
    """No swapped-in report: the real inspect reads a real adapter from the test Hub, then a PR is opened."""
    monkeypatch.setattr(ann, "_default_predict", lambda spec, token: None)  # predict is covered by its owner
    h = FakeHub(tmp_path / "hub")
    install_write(h)
    h.tokens = {WRITE: "write"}
    files = realzoo / "files" / "peft-lockheed-vit-food101"
    h.add_repo("lockheed/vit-food101", {f.name: f for f in files.iterdir()})
    with h.serving():
        res = annotate_repo("lockheed/vit-food101", push=True, token=WRITE, today=DAY)
        assert res.status == "annotated" and res.base_model_action == "added"
        card = _pr_readme(h, "lockheed/vit-food101")
        assert "base_model: google/vit-base-patch16-224\nbase_model_relation: adapter\n" in card
        assert "hfprobe inspect lockheed/vit-food101" in card
        again = annotate_repo("lockheed/vit-food101", push=True, token=WRITE, today="2027-01-01")
        assert again.status == "unchanged" and len(h.discussions["lockheed/vit-food101"]) == 1


def test_hub_repo_needs_push_or_out_and_dry_run_writes_nothing(hub, capsys):
    assert main(["annotate", "org/lora"]) == 2
    assert "needs --push" in capsys.readouterr().err
    assert main(["annotate", "org/lora", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("org/lora: would-change") and "+# >>> hfprobe" in out
    assert hub.commits == [] and "org/lora" not in hub.discussions


def test_unreachable_hub_is_a_network_error_not_an_empty_card(hub, monkeypatch, tmp_path):
    """hf_hub_download raises LocalEntryNotFoundError when the Hub cannot be reached: that is not 'no README'."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import LocalEntryNotFoundError

    from hfprobe.errors import NetworkError

    def offline(self, *a, **k):
        raise LocalEntryNotFoundError("An error happened while trying to locate the file on the Hub")

    monkeypatch.setattr(HfApi, "hf_hub_download", offline)
    with pytest.raises(NetworkError, match="cannot reach"):
        annotate_repo("org/lora", out=tmp_path / "out", token=WRITE, today=DAY)
    assert not (tmp_path / "out").exists()


def test_concurrent_pushes_open_one_pr(hub):
    """Two runs on one repo at once (two terminals, or one repo twice in a batch) share one PR."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: annotate_repo("org/lora", push=True, token=WRITE, today=DAY), range(4)))
    assert len(hub.discussions["org/lora"]) == 1
    assert sorted(r.status for r in results) == ["annotated", "unchanged", "unchanged", "unchanged"]
    assert {r.written for r in results} == {results[0].written}

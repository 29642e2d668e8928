"""hfprobe annotate against the Hub: pull requests end to end on the test server (tests/fakehub*.py).

The real huggingface_hub client runs unchanged (whoami, model_info, hf_hub_download, preupload,
commit NDJSON with create_pr, discussions); only the inspect report is fixed, so these tests are
about the write path. Tokens used here look like real ones (hf_...) so a leak would be visible.
"""

from __future__ import annotations

import json
import logging

import pytest

import hfprobe.cards.annotate as ann
from hfprobe.cards.annotate import annotate_repo
from hfprobe.cards.card import update_card
from hfprobe.cards.pull_request import PR_TITLE
from hfprobe.cli import main
from hfprobe.errors import (
    CardError,
    HubWriteError,
    SourceAccessError,
    SourceNotFoundError,
)
from tests.fakehub import FakeHub
from tests.fakehub_write import install_write
from tests.hub.faults import close_client_under
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
    expected = update_card(original.decode(), dict(BERT, source="org/lora"), today=DAY, repo_id="org/lora").text
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
    # The PR was opened from the commit the card was read at (parent_commit), and updated from its own head.
    main_sha = hub.sha("org/lora")
    assert [p for r, rev, p in hub.parent_commits] == [main_sha, hub.parent_commits[1][2]]
    assert hub.parent_commits[1][2] and hub.parent_commits[1][2] != main_sha
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
    assert _pr_readme(hub, "org/bare") == _read("fresh.expected.md").replace("<this repo>", "org/bare")


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
    monkeypatch.setattr(ann, "our_prs", lambda api, repo, user: (None, None))
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
    hub.add_repo("org/latin1", {"README.md": "# Café\n".encode("latin-1"), "adapter_model.safetensors": WEIGHTS})
    with pytest.raises(CardError, match="org/latin1/README.md: not UTF-8 text"):  # was a UnicodeDecodeError
        annotate_repo("org/latin1", push=True, token=WRITE, today=DAY)
    assert hub.commits == []


def test_network_failure_mid_way_changes_nothing_and_rerun_works(hub):
    hub.fail_commit = True
    with pytest.raises(HubWriteError, match="HTTP 500.*nothing was changed"):
        annotate_repo("org/lora", push=True, token=WRITE, today=DAY)
    assert "org/lora" not in hub.discussions and hub.repo_dir("org/lora", "refs/pr/1") is None
    assert annotate_repo("org/lora", push=True, token=WRITE, today=DAY).status == "annotated"


@pytest.mark.parametrize("read", ["/api/whoami-v2", "/api/models/org/once", "/org/once/resolve/", "discussions"])
def test_a_read_outlives_the_shared_client_being_closed(hub, read):
    """A connect error in any thread makes huggingface_hub close the client all threads share, under every request
    in flight (a batch --push, the webhook's workers, the Space's visitors). annotate's Hub reads (the token's
    owner, the commit the card is read at, the card, the pull requests) are retried as hfprobe's own reads are, and
    the pull request is opened once. Its writes are not retried: one cut short may have been made."""
    card = f"# a card no other test has cached ({read})\n"
    hub.add_repo("org/once", {"README.md": card, "adapter_model.safetensors": WEIGHTS})
    closed = close_client_under(
        hub, "GET", lambda path: path == read if read.startswith("/api/models/") else read in path
    )
    res = annotate_repo("org/once", push=True, token=WRITE, today=DAY)
    assert closed and res.status == "annotated" and len(hub.discussions["org/once"]) == 1


def test_without_push_writes_to_out(hub, tmp_path):
    out = tmp_path / "cards"
    res = annotate_repo("org/lora", out=out, today=DAY)
    assert res.status == "annotated" and res.written == str(out / "org/lora/README.md")
    assert (out / "org/lora/README.md").read_text() == update_card(
        _read("user_content.input.md"), dict(BERT, source="org/lora"), today=DAY, repo_id="org/lora"
    ).text
    assert hub.commits == []


def test_batch_from_file_and_filter(hub, tmp_path, capsys):
    repos = tmp_path / "repos.txt"
    repos.write_text("# my repos\norg/lora\norg/missing\n\norg/bare  # no card yet\n")
    summary = tmp_path / "summary.jsonl"
    code = main(
        [
            "annotate",
            "--from-file",
            str(repos),
            "--push",
            "--pr-interval",
            "0",
            "--token",
            WRITE,
            "--summary",
            str(summary),
        ]
    )
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


def test_a_repo_is_read_from_the_hub_whatever_the_local_disk_holds(hub, tmp_path, monkeypatch):
    """A webhook names the repo: the weights are read from the Hub at the card's commit even where a local folder
    has that spelling (`org/lora@<sha>`, which resolve() would read first), so a server never reads a named path."""
    from hfprobe.source.resolve import resolve

    seen = []
    monkeypatch.setattr(ann, "_default_inspect", lambda spec, token: seen.append(spec) or dict(BERT))
    monkeypatch.chdir(tmp_path)
    sha = hub.sha("org/lora")
    (tmp_path / "org" / f"lora@{sha}").mkdir(parents=True)
    (tmp_path / "org" / f"lora@{sha}" / "adapter_model.safetensors").write_bytes(b"local bytes")
    res = annotate_repo("org/lora", dry_run=True)
    assert res.status == "would-change" and len(seen) == 1
    src = resolve(seen[0])
    assert (src.kind, src.repo_id, src.revision) == ("hub", "org/lora", sha)


def test_hub_repo_needs_push_or_out_and_dry_run_writes_nothing(hub, capsys):
    assert main(["annotate", "org/lora"]) == 2
    assert "needs --push" in capsys.readouterr().err
    assert main(["annotate", "org/lora", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("org/lora: would-change") and "+# >>> hfprobe" in out
    assert hub.commits == [] and "org/lora" not in hub.discussions


def test_annotate_reads_a_repo_in_every_form_the_other_commands_do(hub, tmp_path, capsys):
    """One grammar: hf://, a Hub URL (the endpoint's own here) and org/name@rev annotate the repo; a file or folder
    inside it is refused (a card is its repo's); a URL that names no model repo is its own line."""
    out = tmp_path / "cards"
    for spec in ("hf://org/lora", f"{hub.endpoint}/org/lora", f"{hub.endpoint}/org/lora/tree/main", "org/lora@main"):
        assert main(["annotate", spec, "--out", str(out), "--json"]) == 0, capsys.readouterr().err
        result = json.loads(capsys.readouterr().out)
        assert result["target"] == "org/lora" and result["written"] == str(out / "org/lora/README.md")
    assert main(["annotate", "hf://org/lora/sub/w.safetensors", "--dry-run"]) == 2
    assert "name the repo (org/lora), not a file or folder in it" in capsys.readouterr().err
    assert main(["annotate", "https://huggingface.co/datasets/org/data", "--dry-run"]) == 2
    assert "reads model repos, not datasets" in capsys.readouterr().err
    assert hub.commits == []


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


def _other_pr(hub, repo: str, author: str, readme: str) -> int:
    """An open pull request by another author whose branch holds `readme` (as the Hub stores refs/pr/N)."""
    items = hub.discussions.setdefault(repo, [])
    num = len(items) + 1
    items.append(
        {
            "num": num,
            "title": "Add base_model",
            "description": "",
            "author": author,
            "isPullRequest": True,
            "status": "open",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "events": [],
        }
    )
    branch = hub.root / repo / ".refs" / "refs" / "pr" / str(num)
    for name in hub.files(repo):
        (branch / name).parent.mkdir(parents=True, exist_ok=True)
        (branch / name).write_bytes((hub.root / repo / name).read_bytes())
    (branch / "README.md").write_text(readme)
    return num


def test_no_pr_when_nothing_the_hub_reads_would_change(hub, tmp_path):
    """Main already holds our merged card: a rerun (even by a newer hfprobe, on a later day) opens nothing."""
    annotate_repo("org/lora", out=tmp_path / "cards", today=DAY)
    merged = (tmp_path / "cards/org/lora/README.md").read_text()
    hub.add_repo("org/lora", {"README.md": merged.replace("version: 0.1.0", "version: 0.0.9")})
    res = annotate_repo("org/lora", push=True, token=WRITE, today="2027-03-03")
    assert res.status == "unchanged" and hub.commits == [] and "org/lora" not in hub.discussions
    # new findings do open one
    ann._default_predict = lambda spec, token: PREDICTIONS
    assert annotate_repo("org/lora", push=True, token=WRITE, today="2027-03-03").status == "annotated"
    assert len(hub.discussions["org/lora"]) == 1


def test_a_card_saved_as_utf16_is_proposed_as_utf8(hub):
    """A README.md the Hub shows as garbage (UTF-16 with its byte-order mark): the pull request holds it as UTF-8,
    the author's words kept; before, a UnicodeDecodeError escaped."""
    hub.add_repo("org/lora", {"README.md": _read("user_content.input.md").encode("utf-16")})
    res = annotate_repo("org/lora", push=True, token=WRITE, today=DAY)
    assert res.status == "annotated" and "it was UTF-16" in res.reason
    assert (
        _pr_readme(hub, "org/lora")
        == update_card(
            _read("user_content.input.md"), dict(BERT, source="org/lora"), today=DAY, repo_id="org/lora"
        ).text
    )


@pytest.mark.parametrize("bom", ["", "\ufeff"])  # an editor's byte-order mark before the metadata hides nothing
def test_another_authors_open_pr_setting_base_model_is_respected(hub, bom):
    card = bom + "---\nbase_model: google-bert/bert-base-cased\n---\n# mine\n"
    num = _other_pr(hub, "org/bare", "alice", card)
    res = annotate_repo("org/bare", push=True, token=WRITE, today=DAY)
    assert res.status == "skipped" and f"#{num} by alice" in res.reason and "google-bert/bert-base-cased" in res.reason
    assert hub.commits == [] and len(hub.discussions["org/bare"]) == 1
    # an open PR that does not touch base_model (a typo fix) does not stop ours
    _other_pr(hub, "org/lora", "bob", _read("user_content.input.md").replace("movie", "film"))
    assert annotate_repo("org/lora", push=True, token=WRITE, today=DAY).status == "annotated"


def test_403_causes_are_told_apart(hub, monkeypatch):
    from huggingface_hub import HfApi

    hub.discussions_disabled.add("org/bare")
    with pytest.raises(HubWriteError, match="discussions .* are disabled by its owner"):
        annotate_repo("org/bare", push=True, token=WRITE, today=DAY)
    fine = "hf_FineGrainedNoDiscussion123"
    hub.tokens[fine] = "write"
    hub.fine_grained[fine] = {"org/lora": ["repo.content.read"]}
    with pytest.raises(HubWriteError, match="fine-grained token lacks the 'discussion.write' permission") as err:
        annotate_repo("org/lora", push=True, token=fine, today=DAY)
    assert fine not in str(err.value)
    # the token info does not tell (whoami without scopes): the server's 403 is read instead
    monkeypatch.setattr(HfApi, "whoami", lambda self, *a, **k: {"name": "tester", "auth": {}})
    with pytest.raises(HubWriteError, match="fine-grained token without the 'discussion.write'"):
        annotate_repo("org/lora", push=True, token=fine, today=DAY)
    hub.fine_grained[fine] = {"org/lora": ["discussion.write"]}  # the right scope: it goes through
    assert annotate_repo("org/lora", push=True, token=fine, today=DAY).status == "annotated"
    assert hub.commits and all(c[0] != "org/bare" for c in hub.commits)


def test_a_push_in_between_is_refused_not_overwritten(hub):
    """parent_commit: a branch commit whose parent is no longer the head answers 412 -> one line, nothing kept."""
    from huggingface_hub import CommitOperationAdd, HfApi

    from hfprobe.source.hub import hub_errors

    stale = hub.sha("org/lora")
    hub.push("org/lora", {"notes.txt": "someone pushed"})
    with pytest.raises(HubWriteError, match="changed while hfprobe was reading it"), hub_errors("org/lora", write=True):
        HfApi(token=WRITE).create_commit(
            "org/lora", [CommitOperationAdd("README.md", b"x")], commit_message="t", parent_commit=stale
        )
    assert not any(c[0] == "org/lora" for c in hub.commits)


def test_batch_push_is_rate_limited(hub, tmp_path):
    import time

    from hfprobe.cards.batch import annotate_batch
    from hfprobe.cards.pull_request import RateLimiter

    for i in range(3):
        hub.add_repo(f"org/r{i}", {"adapter_model.safetensors": WEIGHTS})
    start = time.monotonic()
    results = annotate_batch(
        [f"org/r{i}" for i in range(3)],
        push=True,
        token=WRITE,
        today=DAY,
        workers=3,
        progress=False,
        echo=lambda s: None,
        pr_interval=0.4,
    )
    assert [r.status for r in results] == ["annotated"] * 3
    assert time.monotonic() - start >= 0.8  # three writes, two gaps, however many workers
    limiter = RateLimiter(0)
    t0 = time.monotonic()
    for _ in range(5):
        limiter.wait()
    assert time.monotonic() - t0 < 0.05
    assert main(["annotate", "org/r0", "--push", "--pr-interval", "-1"]) == 2


def test_annotate_a_revision_reads_that_commit_and_reports_it(hub, tmp_path, capsys, monkeypatch):
    """`--revision` (or org/name@rev) annotates the card and weights of that commit into --out, records the
    commit in the JSON; a pull request always proposes a change to main, so --push with a revision is refused."""
    old_sha = hub.sha("org/lora")
    hub.push("org/lora", {"README.md": "---\nlicense: mit\n---\n# a newer card\n"})
    seen = []
    monkeypatch.setattr(ann, "_default_inspect", lambda spec, token: seen.append(spec) or dict(BERT))
    out = tmp_path / "cards"
    code = main(["annotate", "org/lora", "--revision", old_sha, "--out", str(out), "--json"])
    row = json.loads(capsys.readouterr().out)
    assert code == 0 and row["status"] == "annotated" and row["revision_sha"] == old_sha
    assert seen == [f"hf://models/org/lora@{old_sha}"]  # the weights were read from the Hub at the card's commit
    written = (out / "org/lora/README.md").read_text()
    assert "a newer card" not in written and written.count("<!-- hfprobe:start -->") == 1
    assert main(["annotate", "org/lora@main", "--push", "--token", WRITE]) == 2
    assert "proposes a change to main" in capsys.readouterr().err
    assert not hub.discussions.get("org/lora")

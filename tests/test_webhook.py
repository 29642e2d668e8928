"""`hfprobe webhook serve`: huggingface_hub's WebhooksServer, launched once on 127.0.0.1, fed Hub-shaped events.

The annotation behind it is the real `annotate_repo(push=True)` against the test Hub (tests/fakehub*.py), with
a fixed inspect report (the write path is what is tested here). Signed, unsigned and wrongly signed requests,
duplicates, events to ignore, malformed payloads, and a Hub that is down while an event is handled.
"""

from __future__ import annotations

import json
import logging
import socket

import httpx
import pytest

import hfprobe.cards.annotate as ann
from hfprobe.cards.annotate import annotate_repo
from hfprobe.cards.webhook import AnnotationQueue, create_server
from hfprobe.errors import NetworkError
from tests.fakehub import FakeHub
from tests.fakehub_write import install_write
from tests.test_card import BERT, _read

SECRET, WRITE = "webhook-secret-for-tests", "hf_WriteTokenAbcdef123456"
WEIGHTS = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "


def event(repo: str, sha: str = "a" * 40, *, kind="model", scope="repo.content", action="update", ref="main"):
    """A webhook payload as the Hub sends it (version 3)."""
    return {
        "event": {"action": action, "scope": scope},
        "repo": {
            "type": kind,
            "name": repo,
            "id": "6500" + "0" * 20,
            "private": False,
            "url": {"web": f"https://huggingface.co/{repo}", "api": f"https://huggingface.co/api/models/{repo}"},
            "owner": {"id": "6400" + "0" * 20},
            "headSha": sha,
        },
        "webhook": {"id": "6600" + "0" * 20, "version": 3},
        "updatedRefs": [{"ref": f"refs/heads/{ref}" if ref == "main" else ref, "oldSha": "b" * 40, "newSha": sha}],
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    hub = FakeHub(tmp_path_factory.mktemp("hub"))
    install_write(hub)
    hub.tokens = {WRITE: "write"}
    for name in ("org/lora", "org/dup", "org/down", "org/after"):
        hub.add_repo(name, {"README.md": _read("user_content.input.md"), "adapter_model.safetensors": WEIGHTS})
    state = {"down": set(), "calls": []}

    def work(repo, rev):
        state["calls"].append((repo, rev))
        if repo in state["down"]:
            raise NetworkError(f"{repo}: cannot reach the Hub (ConnectError); check the network")
        return annotate_repo(repo, push=True, token=WRITE, today="2026-01-01")

    queue = AnnotationQueue(work, workers=2, attempts=3, backoff=0.01)
    with pytest.MonkeyPatch.context() as mp, hub.serving():
        mp.setattr(ann, "_default_inspect", lambda spec, token: dict(BERT))
        mp.setattr(ann, "_default_predict", lambda spec, token: None)
        import gradio as gr

        with gr.Blocks() as ui:
            gr.Markdown("test")
        server = create_server(queue, secret=SECRET, ui=ui)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        server.launch(prevent_thread_lock=True, share=False, server_name="127.0.0.1", server_port=port, quiet=True)
        url = ui.local_url.rstrip("/") + "/webhooks/hfprobe"
        try:
            yield hub, queue, state, url
        finally:
            ui.close()
            queue.close()


def post(url, payload, secret=SECRET, raw: bytes | None = None):
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-webhook-secret"] = secret
    body = raw if raw is not None else json.dumps(payload).encode()
    return httpx.post(url, content=body, headers=headers, timeout=30)


def test_signed_content_update_opens_a_pull_request(served):
    hub, queue, state, url = served
    resp = post(url, event("org/lora", "1" * 40))
    assert resp.status_code == 200 and resp.json()["status"] == "queued" and resp.json()["revision"] == "1" * 40
    assert queue.join(30)
    [job] = [j for j in queue.history() if j["repo_id"] == "org/lora"]
    assert job["status"] == "annotated" and job["written"].endswith("/org/lora/discussions/1")
    readme = (hub.repo_dir("org/lora", "refs/pr/1") / "README.md").read_text()
    assert "base_model: bert-base-uncased" in readme and "hfprobe inspect org/lora" in readme


def test_missing_or_wrong_secret_is_refused_and_nothing_queued(served):
    hub, queue, state, url = served
    before = (len(queue.history()), len(state["calls"]))
    assert post(url, event("org/after", "2" * 40), secret=None).status_code == 401
    assert post(url, event("org/after", "2" * 40), secret="not-the-secret").status_code == 403
    assert (len(queue.history()), len(state["calls"])) == before


def test_duplicate_delivery_is_one_job_and_a_new_revision_changes_nothing(served):
    hub, queue, state, url = served
    first, again = post(url, event("org/dup", "3" * 40)), post(url, event("org/dup", "3" * 40))
    assert first.json()["status"] == "queued" and again.json()["status"] == "duplicate"
    assert queue.join(30)
    assert [c for c in state["calls"] if c[0] == "org/dup"] == [("org/dup", "3" * 40)]
    commits = len(hub.commits)
    # a later commit on main (say, a README typo fixed): annotated again, same findings, so no new PR commit
    assert post(url, event("org/dup", "4" * 40)).json()["status"] == "queued"
    assert queue.join(30)
    assert [j["status"] for j in queue.history() if j["repo_id"] == "org/dup"] == ["annotated", "unchanged"]
    assert len(hub.commits) == commits and len(hub.discussions["org/dup"]) == 1


@pytest.mark.parametrize(
    "payload,why",
    [
        (event("org/data", kind="dataset"), "a dataset repo"),
        (event("org/space", kind="space"), "a space repo"),
        (event("org/gone", action="delete", scope="repo"), "deleted"),
        (event("org/lora", ref="refs/pr/1"), "pull request branch"),  # our own PR's commit
        (event("org/lora", scope="discussion", action="create"), "not a content update"),
        (event("org/lora", scope="repo.config"), "not a content update"),
    ],
)
def test_other_events_are_acknowledged_and_ignored(served, payload, why):
    hub, queue, state, url = served
    before = len(state["calls"])
    resp = post(url, payload)
    assert resp.status_code == 200 and resp.json()["status"] == "ignored" and why in resp.json()["reason"]
    assert len(state["calls"]) == before


def test_malformed_payload_is_400_and_one_log_line(served, caplog):
    hub, queue, state, url = served
    caplog.set_level(logging.WARNING, logger="hfprobe")
    for raw in (b"{not json", json.dumps({"event": {"action": "update"}}).encode(), b"[1, 2]"):
        resp = post(url, None, raw=raw)
        assert resp.status_code == 400 and "malformed payload" in resp.json()["error"]
    lines = [r.getMessage() for r in caplog.records if "malformed payload" in r.getMessage()]
    assert len(lines) == 3 and all("\n" not in line for line in lines)


def test_hub_down_while_handling_is_retried_then_failed_and_the_server_keeps_serving(served):
    hub, queue, state, url = served
    state["down"].add("org/down")
    assert post(url, event("org/down", "5" * 40)).json()["status"] == "queued"
    assert queue.join(30)
    [job] = [j for j in queue.history() if j["repo_id"] == "org/down"]
    assert job["status"] == "failed" and job["attempts"] == 3 and "cannot reach" in job["reason"]
    assert [c for c in state["calls"] if c[0] == "org/down"] == [("org/down", "5" * 40)] * 3
    assert "org/down" not in hub.discussions
    # still serving: the next event is handled
    assert post(url, event("org/after", "6" * 40)).json()["status"] == "queued"
    assert queue.join(30)
    assert [j["status"] for j in queue.history() if j["repo_id"] == "org/after"] == ["annotated"]


def test_queue_is_bounded():
    import threading

    gate, running = threading.Event(), threading.Event()
    q = AnnotationQueue(lambda repo, rev: running.set() or gate.wait(5), workers=1, maxsize=1)
    try:
        assert q.submit("org/m0", "x") == "queued" and running.wait(5)  # taken by the one worker
        assert [q.submit(f"org/m{i}", "x") for i in (1, 2)] == ["queued", "busy"]  # one place in the queue
    finally:
        gate.set()
        q.close()


def test_a_failure_to_record_an_outcome_never_stops_a_worker(tmp_path, caplog):
    """on_done raising (a --log that turned into a folder) is logged once; the one worker keeps annotating."""

    def record(job):
        raise IsADirectoryError(21, "Is a directory", str(tmp_path))

    q = AnnotationQueue(lambda repo, rev: None, workers=1, on_done=record)
    try:
        with caplog.at_level(logging.WARNING, logger="hfprobe.cards.webhook"):
            assert [q.submit(f"org/m{i}", "x") for i in range(3)] == ["queued"] * 3
            assert q.join(5), "a worker died on the first job's record"
        assert [j["status"] for j in q.history()] == ["annotated"] * 3
        assert all(t.is_alive() for t in q._threads)
        warned = [r.getMessage() for r in caplog.records if "cannot record" in r.getMessage()]
        assert len(warned) == 1 and str(tmp_path) in warned[0]
    finally:
        q.close()


def test_serve_checks_its_log_at_startup_and_survives_losing_it(tmp_path, monkeypatch):
    """`serve(log_file=...)`: a log it cannot write is refused before it listens; a log that breaks while it
    serves (here: replaced by a folder) costs the log lines, never the annotations."""
    from hfprobe.cards.webhook import serve
    from hfprobe.errors import OutputPathError

    (tmp_path / "afile").write_text("")
    for bad in (tmp_path, tmp_path / "afile" / "log.jsonl"):
        with pytest.raises(OutputPathError, match="--log"):
            serve(secret=SECRET, log_file=str(bad), block=False)
    hub = FakeHub(tmp_path / "hub")
    install_write(hub)
    hub.tokens = {WRITE: "write"}
    for name in ("org/one", "org/two"):
        hub.add_repo(name, {"README.md": _read("user_content.input.md"), "adapter_model.safetensors": WEIGHTS})
    monkeypatch.setattr(ann, "_default_inspect", lambda spec, token: dict(BERT))
    monkeypatch.setattr(ann, "_default_predict", lambda spec, token: None)
    log = tmp_path / "log.jsonl"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with hub.serving():
        server, queue = serve(secret=SECRET, token=WRITE, pr_interval=0, port=port, log_file=str(log), block=False)
        try:
            url = server._ui.local_url.rstrip("/") + "/webhooks/hfprobe"
            assert post(url, event("org/one", "1" * 40)).json()["status"] == "queued" and queue.join(30)
            assert json.loads(log.read_text())["repo_id"] == "org/one"
            log.unlink()
            log.mkdir()  # the log is now a folder: records fail from here on
            for repo in ("org/two", "org/one"):
                assert post(url, event(repo, "2" * 40)).json()["status"] == "queued" and queue.join(30)
            assert [j["status"] for j in queue.history()] == ["annotated", "annotated", "unchanged"]
        finally:
            server._ui.close()
            queue.close()


def test_join_waits_until_each_outcome_is_recorded():
    """A job's status is final before on_done has recorded it (the log line); join() waits for both, so a caller
    that reads the log after join() finds its line (once a race that failed a test now and then)."""
    import time

    recorded = []

    def slow_record(job):
        time.sleep(0.3)
        recorded.append(job.repo_id)

    queue = AnnotationQueue(lambda repo, rev: None, workers=1, on_done=slow_record)
    try:
        assert queue.submit("org/one", "1" * 40) == "queued" and queue.join(10)
        assert recorded == ["org/one"]
    finally:
        queue.close()

"""Every Hub request is bounded in time: a server that never answers, stalls mid-body or trickles
ends in one line within the timeout plus retries; transient failures are retried and the answer is right.
Timeouts are 1 s and backoff 0.05 s here (conftest.py).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
import torch

from hfprobe.errors import NetworkError
from hfprobe.source.resolve import resolve

from .faults import (
    LAYER3,
    REPO,
    WEIGHTS,
    adapter_files,
    asked_range,
    close_client_under,
    hang_up,
    is_weights_get,
    read_layer,
    repo_file,
    send,
    trickle,
)


def test_a_server_that_never_answers_fails_within_timeout_plus_retries(hub):
    hub.fault = lambda req, method, path: hub.closing.wait(30) or True
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match=r"no answer from .* within 1 s \(3 tries\)") as err:
        resolve(REPO).files()
    elapsed = time.perf_counter() - t0
    assert 3.0 <= elapsed < 3 * 1 + 0.05 + 0.1 + 3, elapsed  # three 1 s timeouts, two short waits, a busy machine
    assert "\n" not in str(err.value)


def test_cli_against_a_silent_server_exits_2_with_one_line(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepts connections (the kernel does) and never answers
    env = {
        "HF_ENDPOINT": f"http://127.0.0.1:{listener.getsockname()[1]}",
        "HF_HUB_DOWNLOAD_TIMEOUT": "1",
        "HF_HUB_ETAG_TIMEOUT": "1",
        "HFPROBE_HUB_BACKOFF": "0.1",
        "HF_HUB_DISABLE_TELEMETRY": "1",  # else huggingface_hub first asks the silent server for a registry (3 s)
        "HF_HOME": str(tmp_path / "hf"),
        "HFPROBE_CACHE": str(tmp_path / "cache"),
        "PATH": "/usr/bin:/bin",
    }
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "hfprobe", "inspect", "org/name"], env=env, capture_output=True, text=True, timeout=60
    )
    elapsed = time.perf_counter() - t0
    listener.close()
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no answer" in lines[0] and "3 tries" in lines[0], proc.stderr
    assert elapsed < 20, elapsed  # 3 s of timeouts plus the interpreter's start


def test_a_stall_mid_body_is_retried_then_answered(hub):
    data, stalls = repo_file(hub), []

    def stall_first(req, method, path):
        if is_weights_get(method, path) and not stalls:
            stalls.append(path)
            first, last = asked_range(req)
            headers = {"Content-Range": f"bytes {first}-{last}/{len(data)}", "Content-Length": last - first + 1}
            send(req, 206, headers, data[first : first + (last - first) // 2])
            hub.closing.wait(5)  # half the body, then silence past the 1 s read timeout
            req.close_connection = True
            return True
        return False

    hub.fault = stall_first
    src = resolve(REPO)
    assert torch.equal(read_layer(src), hub.tensors[LAYER3])
    assert stalls


@pytest.mark.parametrize("fault", ["reset", "500", "429"])
def test_transient_failures_are_retried_and_the_answer_is_right(hub, fault):
    failed = []

    def flaky(req, method, path):
        if len(failed) >= 2:  # the first two requests fail, whatever they are
            return False
        failed.append((method, path))
        if fault == "reset":
            return hang_up(req)
        if fault == "500":
            return send(req, 500, {"Content-Length": 5}, b"oops!")
        return send(req, 429, {"Retry-After": "1", "Content-Length": 0})

    hub.fault = flaky
    t0 = time.perf_counter()
    src = resolve(REPO)
    assert torch.equal(read_layer(src), hub.tensors[LAYER3])
    assert len(failed) == 2
    if fault == "429":  # Retry-After is honoured: two waits of 1 s
        assert time.perf_counter() - t0 >= 2.0


def test_cli_answers_right_when_the_first_two_requests_are_dropped(hub, capsys):
    from hfprobe.cli import main

    dropped = []
    hub.fault = lambda req, method, path: len(dropped) < 2 and (dropped.append(path) or hang_up(req))
    assert main(["inspect", REPO, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(dropped) == 2 and report["format"] == "peft" and report["family"] == "gpt2"
    assert report["revision_sha"] == hub.sha(REPO)


def test_a_long_retry_after_is_refused_at_once(hub):
    hub.fault = lambda req, method, path: send(req, 429, {"Retry-After": "3600", "Content-Length": 0})
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match="rate-limiting .*3600 s"):
        resolve(REPO).files()
    assert time.perf_counter() - t0 < 1.0


def test_persistent_server_errors_end_in_one_network_line(hub):
    hub.fault = lambda req, method, path: send(req, 503, {"Content-Length": 4}, b"down")
    with pytest.raises(NetworkError, match=r"HTTP 503 \(3 tries\); try again later"):
        resolve(REPO).files()


def test_a_companion_download_that_hangs_is_bounded_too(hub):
    """huggingface_hub retries a failed HEAD for a minute per try; hfprobe's own HEAD fails first."""
    hub.fault = lambda req, method, path: method == "HEAD" and (hub.closing.wait(30) or True)
    src = resolve(REPO)
    src.files()
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match="no answer"):
        src.read_text("README.md")
    assert time.perf_counter() - t0 < 5


def test_a_server_that_trickles_the_weights_is_a_stall_within_its_budget(hub):
    data = repo_file(hub)

    def slow(req, method, path):
        if is_weights_get(method, path):
            return trickle(hub, req, data, *asked_range(req))
        return False

    src = resolve(REPO)
    src.files()
    hub.fault = slow
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match=r"slower than 1 MiB per 1 s \(3 tries\)") as err:
        read_layer(src)
    elapsed = time.perf_counter() - t0
    assert 3.0 <= elapsed < 3 * 1.1 + 0.15 + 3, elapsed  # three budgets of ~1.06 s, two short waits, a busy machine
    assert "\n" not in str(err.value)


def test_a_companion_download_that_trickles_is_bounded_too(hub):
    """hf_hub_download resets its retries whenever a byte arrives; hfprobe holds it to the same rate."""
    files, _ = adapter_files()
    files["README.md"] = "a card no other test caches: " + "x" * 200
    hub.add_repo("org/slow-card", files)
    readme = files["README.md"].encode()

    def slow(req, method, path):
        if method == "GET" and path.endswith("/README.md"):
            return trickle(hub, req, readme, 0, len(readme) - 1, status=200)
        return False

    src = resolve("org/slow-card")
    src.files()
    hub.fault = slow
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match="did not finish within"):
        src.read_text("README.md")
    assert time.perf_counter() - t0 < 3 * (1 + 1.01) + 0.15 + 3


@pytest.mark.parametrize("name", ["README.md", WEIGHTS])
def test_a_read_outlives_the_shared_client_being_closed(hub, name):
    """A connect error in any thread makes huggingface_hub close the client every thread shares, and the requests
    in flight on it end in a ReadError, which hf_hub_download does not retry (it retries a reply cut short). Here
    the server closes it while a GET waits for its reply: hfprobe retries, a companion's download as its ranged
    reads of the weights, and the answer is right."""
    files, tensors = adapter_files()
    files["README.md"] = "---\nbase_model: openai-community/gpt2\n---\na card only this test reads\n"
    hub.add_repo("org/dropped-card", files)
    src = resolve("org/dropped-card")
    src.files()
    closed = close_client_under(hub, "GET", lambda path: path.endswith("/" + name))
    if name == WEIGHTS:
        assert torch.equal(read_layer(src), tensors[LAYER3])
    else:
        assert src.read_text(name) == files[name]
    assert len(closed) == 1

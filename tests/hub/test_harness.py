"""The test Hub server itself (tests/fakehub.py): what one test leaves behind never reaches the next.

huggingface_hub keeps one HTTP client per process, with its connections kept alive, and closes it under every
request in flight after a connect error in any thread. So a test server, when it stops, first waits for the
downloads a test left under way, and then closes the client's connections to it.
"""

from __future__ import annotations

import threading
import time

from hfprobe.source.resolve import resolve
from tests.fakehub import FakeHub, _downloading

from .faults import REPO, adapter_files


def test_a_download_left_under_way_ends_at_the_test_server(tmp_path):
    """A source closed while a companion's prefetch waits on its HEAD leaves that download running; the server it
    asked serves it to the end, so it never asks the real endpoint (whose connect error would close the client the
    next test shares)."""
    other = FakeHub(tmp_path / "other")
    files, _ = adapter_files()
    files["README.md"] = "a card only the left-over download reads"
    other.add_repo(REPO, files)
    asked = threading.Event()

    def slow_head(req, method, path):
        if method == "HEAD" and path.endswith("/README.md"):
            asked.set()
            time.sleep(0.3)
        return False

    other.fault = slow_head
    with other.serving():
        src = resolve(REPO)
        src.prefetch(["README.md"])
        assert asked.wait(5)
        src.close()  # the prefetch is under way: it runs on
    assert [m for m, p, _ in other.requests if p.endswith("/README.md")] == ["HEAD", "HEAD", "GET"]
    assert not [t.name for t in threading.enumerate() if _downloading(t)]


def test_a_server_on_a_port_number_used_before_answers_for_itself(tmp_path):
    """The client keeps its connections alive, keyed by host and port: a server that gets the port number of one
    that stopped (the kernel reuses them) must not have its requests answered by the old one's handlers."""
    from huggingface_hub import get_session

    first, second = FakeHub(tmp_path / "first"), FakeHub(tmp_path / "second")
    first.add_repo("org/x", {"README.md": "from the first server"})
    second.add_repo("org/x", {"README.md": "from the second server"})
    with first.serving() as endpoint:
        assert get_session().get(f"{endpoint}/org/x/resolve/main/README.md").text == "from the first server"
    port = int(endpoint.rsplit(":", 1)[1])
    with second.serving(port=port) as again:
        assert again == endpoint
        assert get_session().get(f"{again}/org/x/resolve/main/README.md").text == "from the second server"

"""What a visitor of the Space gets when things go wrong (hfprobe.space.guard.answer): advice they can follow
on the page, and an answer even while other requests wait on the Hub.

The endpoints are called as gradio calls them (plain functions raising gr.Error), against the test Hub
(tests/fakehub.py); tests/test_space.py drives the launched page.
"""

from __future__ import annotations

import re
import threading

import pytest

pytest.importorskip("gradio")

import gradio as gr  # noqa: E402

from hfprobe.space import endpoints, guard  # noqa: E402

CLI_WORDS = re.compile(r"(?<![\w-])--[a-z][a-z-]+|\b(?:HF|HFPROBE)_[A-Z_]+\b")


class _Token:  # what gradio passes for a signed-in visitor
    def __init__(self, token: str):
        self.token = token


def _message(fn, *args) -> str:
    with pytest.raises(gr.Error) as info:
        fn(*args)
    return info.value.message


@pytest.fixture()
def hub(tmp_path, monkeypatch):
    from tests.builders import peft_adapter
    from tests.fakehub import FakeHub
    from tests.fakehub_write import install_write

    monkeypatch.setenv("HFPROBE_CACHE", str(tmp_path / "cache"))  # no experts
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    _, folder = peft_adapter("bert", tmp_path / "adapter")
    files = {p.name: p for p in folder.iterdir()}
    hub = FakeHub(tmp_path / "hub")
    install_write(hub)
    hub.tokens = {"hf_ReadTokenForAnswers1": "read", "hf_ExpiredTokenForAnswer": "expired"}
    for repo in ("org/ok", "org/gated", "org/private"):
        hub.add_repo(repo, files)
    hub.add_repo("org/empty", {"README.md": "no weights here"})
    weights = (folder / "adapter_model.safetensors").read_bytes()
    hub.add_repo("org/collection", {"anime_lora.safetensors": weights, "art_lora.safetensors": weights})
    hub.gated.add("org/gated")
    hub.private.add("org/private")
    with hub.serving():
        yield hub


@pytest.mark.parametrize(
    "call, said",
    [
        (("inspect", "org/gated", None), "accept its terms on the Hub and sign in"),
        (("predict", "org/gated", "", None), "accept its terms on the Hub and sign in"),
        (("inspect", "org/private", None), "check the name, or sign in"),
        (("inspect", "org/missing", None), "check the name, or sign in"),
        (("inspect", "org/empty", None), "enter a repo that has one"),
        (("inspect", "org/collection", None), "this page reads repos of one model; run `hfprobe inspect hf://"),
        (("open_pr", "org/ok", _Token("hf_ReadTokenForAnswers1")), "a pull request needs write access"),
        (("open_pr", "org/ok", _Token("hf_ExpiredTokenForAnswer")), "sign in again, or paste a new token"),
    ],
)
def test_errors_give_advice_a_visitor_can_follow(hub, call, said):
    """hfprobe's errors say how to fix things on the command line (--token, HF_TOKEN, --push); the page says it in
    its own terms. Each message comes from the real library path against the test Hub."""
    name, *args = call
    msg = _message(getattr(endpoints, name), *args)
    assert said in msg, msg
    assert not CLI_WORDS.search(msg), msg


def test_a_fix_the_page_has_no_words_for_becomes_the_fallback(hub, monkeypatch):
    """A server that ignores Range, over the limit for whole-file reads: the CLI says `raise --max-unranged`."""
    hub.honour_range = False
    monkeypatch.setenv("HFPROBE_MAX_UNRANGED", "64")
    msg = _message(endpoints.inspect, "org/ok", None)
    assert "ignored Range" in msg and msg.endswith(guard.FALLBACK_ADVICE), msg
    assert not CLI_WORDS.search(msg), msg


def test_an_unreachable_hub_says_try_again(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "2")
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # the discard port: refused at once
    msg = _message(endpoints.inspect, "org/anything", None)
    assert msg.endswith("try again later"), msg
    assert not CLI_WORDS.search(msg), msg


def test_stalled_hub_reads_do_not_hold_search_or_uploads(monkeypatch, tmp_path):
    """Every Hub worker waiting on a stalled read: search and uploads still answer at once, and one more Hub request
    is told the Space is busy when the time limit comes, not 'try a smaller model'."""
    monkeypatch.setenv("HFPROBE_SPACE_TIME_LIMIT", "1.5")
    release = threading.Event()
    started = threading.Semaphore(0)

    def stalled(*args, **kwargs):
        started.release()
        release.wait(30)
        return "late", None, "", {}

    monkeypatch.setattr(endpoints, "_inspect_outputs", stalled)
    search = endpoints.search_fn(str(tmp_path / "no-index"))
    _message(search, "dog", endpoints.ALL_TREES, 5)  # its imports, once, before the clock matters
    callers = [threading.Thread(target=_swallow, args=(endpoints.inspect, f"org/m{i}")) for i in range(guard.WORKERS)]
    try:
        for t in callers:
            t.start()
        for _ in callers:
            assert started.acquire(timeout=10)  # every Hub worker is now waiting
        # each gives its own answer: queued behind the Hub workers, it would be "the Space is busy" at the limit
        assert "no search index yet" in _message(search, "dog", endpoints.ALL_TREES, 5)
        assert "not a .safetensors file" in _message(endpoints.predict_file, str(tmp_path / "weights.bin"), "")
        msg = _message(endpoints.inspect, "org/one-more", None)
        assert msg.startswith("the Space is busy"), msg
    finally:
        release.set()
        for t in callers:
            t.join(30)


def _swallow(fn, *args) -> None:
    try:
        fn(*args, None)
    except gr.Error:
        pass  # the time limit passes while they wait; what they answer is not this test's subject

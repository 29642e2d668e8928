"""The Space's path filter (hfprobe.space.guard): this server's paths are hidden, other text with slashes is kept.

Unit tests of public_message / public_message_block / public_json; tests/test_space.py checks them through gradio.
"""

import json
import os
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("gradio")

from hfprobe.space import guard  # noqa: E402


def _absent(name: str) -> str:
    """A top-level folder name this server does not have (so a path under it is not the server's)."""
    assert name not in os.listdir("/")
    return name


def test_json_with_a_quote_after_a_slash_stays_valid():
    """A README's base_model 'my base /models/"sd"' once made Inspect fail with JSONDecodeError."""
    root = _absent("models-hfprobe-test")
    raw = {"base_model": f'my base /{root}/"sd"', "files": ["/tmp/a b", {"/tmp/key": 'x "/tmp/y"'}]}
    back = json.loads(guard.public_json(raw))
    assert back["base_model"] == raw["base_model"]
    assert back["files"] == ["[server path] b", {"[server path]": 'x "[server path]"'}]


@pytest.mark.parametrize(
    "text",
    [
        "the two heads differ (attn2.to_k / attn2.to_v)",
        "q_proj / mlp.gate_proj are both adapted",
        "Trained 1000 steps / batch 4 … see /pets-hfprobe-test/data",
        "rank 16 / alpha 32; https://huggingface.co/org/name/blob/main/README.md",
    ],
)
def test_text_with_slashes_is_kept(text):
    _absent("pets-hfprobe-test")
    assert guard.public_message(text) == text
    assert guard.public_message_block(f"- {text}\n- next line") == f"- {text}\n- next line"


def test_server_paths_are_hidden(monkeypatch):
    monkeypatch.setenv("HFPROBE_CACHE", f"/{_absent('cache-hfprobe-test')}/c")
    monkeypatch.setenv("HFPROBE_EXPERTS", f"org/experts,/{_absent('experts-hfprobe-test')}/e")
    site = sysconfig.get_paths()["purelib"]
    secrets = [
        "/cache-hfprobe-test/c/zoos/x.json",
        "/experts-hfprobe-test/e/probe.pt",
        f"{tempfile.gettempdir()}/gradio/abc/x.safetensors",
        f"{Path.home()}/secret/path",
        "~/secret/path",
        r"\~/secret/path",  # as Markdown escaping writes it
        f"{site}/hfprobe/x.py",
        f"{sys.prefix}/bin/python",
        f"{os.getcwd()}/notes.txt",
        "/etc/passwd",
        "/nonexistent-hfprobe-test/../etc/passwd",
    ]
    for secret in secrets:
        msg = guard.public_message(f"cannot read {secret}: denied")
        assert msg == "cannot read [server path]: denied", (secret, msg)
        assert guard.public_message_block(f"x\n'{secret}'") == "x\n'[server path]'"
        assert json.loads(guard.public_json({"p": secret})) == {"p": "[server path]"}


def test_placeholder_is_not_an_html_tag():
    """Markdown reads "<server path>" as a tag and hides the rest of the line."""
    msg = guard.public_message_block("see /tmp/x and the rest of the line")
    assert "<" not in msg and msg.endswith("and the rest of the line")


def test_long_messages_are_not_cut_mid_word():
    note = "run " + " ".join(f"--flag{i} value{i}" for i in range(30))  # ~500 characters, one command
    assert guard.public_message(note) == note
    long = " ".join(f"word{i}" for i in range(400))
    msg = guard.public_message(long)
    assert len(msg) <= guard.MAX_MESSAGE and msg.endswith("…")
    assert long.startswith(msg[:-1]) and long[len(msg) - 1] == " "  # cut where a word ends

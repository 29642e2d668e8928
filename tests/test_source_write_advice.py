"""The advice of a refused Hub write (`hub_errors(..., write=True)`) fits the command that wrote.

`annotate --push` may be told to omit --push (it can write locally instead); `experts push` and `space push` have
no --push, so their refusals never mention it. Run against the test Hub (tests/fakehub*.py) with the real client.
"""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub.errors import HfHubHTTPError

import hfprobe.cards.annotate as ann
from hfprobe.cli import main
from hfprobe.errors import HubWriteError
from hfprobe.source.hub import hub_errors
from tests.fakehub import FakeHub
from tests.fakehub_write import install_write

WRITE, READ = "hf_WriteTokenForAdvice12345", "hf_ReadTokenForAdvice123456"


@pytest.fixture()
def hub(tmp_path, monkeypatch):
    monkeypatch.setattr(ann, "_default_inspect", lambda spec, token: {"source": spec})
    h = FakeHub(tmp_path / "hub")
    install_write(h)
    h.tokens = {WRITE: "write", READ: "read"}
    h.add_repo(
        "org/lora", {"README.md": "# a lora\n", "adapter_model.safetensors": b"\x02\x00\x00\x00\x00\x00\x00\x00{}"}
    )
    with h.serving():
        yield h


def test_annotate_push_still_suggests_writing_locally(hub, monkeypatch):
    from huggingface_hub import HfApi

    monkeypatch.setattr(ann, "our_prs", lambda api, repo, user: (None, None))
    monkeypatch.setattr(HfApi, "whoami", lambda self, *a, **k: {"name": "tester", "auth": {}})  # role not told
    with pytest.raises(HubWriteError, match=r"no write access .*\(or omit --push to write locally\)$"):
        ann.annotate_repo("org/lora", push=True, token=READ, today="2026-01-01")


def test_experts_push_does_not_mention_push(hub, tmp_path, capsys):
    from tests.test_expert_publish import make_expert

    make_expert("vit-a", "google/vit-base-patch16-224").save(tmp_path / "experts" / "vit-a")
    assert main(["experts", "push", str(tmp_path / "experts"), "tester/x", "--token", READ]) == 2
    err = capsys.readouterr().err
    assert "no write access" in err and "--push" not in err and READ not in err
    assert len(err.strip().splitlines()) == 1


def test_space_push_does_not_mention_push(hub, capsys):
    assert main(["space", "push", "tester/a-space", "--token", READ]) == 2
    err = capsys.readouterr().err
    assert "no write access" in err and "--push" not in err and READ not in err
    assert len(err.strip().splitlines()) == 1


def _refused(url: str) -> HfHubHTTPError:
    return HfHubHTTPError("403 Forbidden", response=httpx.Response(403, request=httpx.Request("POST", url)))


def test_the_caller_names_the_alternative():
    with pytest.raises(HubWriteError) as err, hub_errors("x/y", write=True, instead="write it with --out DIR"):
        raise _refused("https://hf.co/api/models/x/y/commit/main?create_pr=1")
    assert str(err.value).endswith("use a token with write permission (or write it with --out DIR)")
    with pytest.raises(HubWriteError) as err, hub_errors("x/y", write=True):
        raise _refused("https://hf.co/api/models/x/y/commit/main")
    assert str(err.value).endswith("use a token with write permission")
    with pytest.raises(HubWriteError) as err, hub_errors("x/y", write=True):
        raise _refused("https://hf.co/api/models/x/y/discussions/1/comment")
    assert str(err.value).endswith("(or omit --push to write locally)")

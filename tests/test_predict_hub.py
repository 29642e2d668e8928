"""`predict` on Hub repos, against the local fake Hub (tests/fakehub.py): the JSON names the commit it read, and
the readout says truly why it has no text encoder (the Hub answered "no such repo", or could not be asked)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save

from hfprobe.experts import readout as ro
from tests.fakehub import FakeHub

REPO = "org/sd-lora"
SD_ROOT = "stable-diffusion-v1-5/stable-diffusion-v1-5"  # where the readout takes SD 1.x's text encoder from


def sd_lora(seed: int = 0) -> dict[str, bytes]:
    """A diffusers-style LoRA on SD 1.x-wide (768) cross-attention keys and values, rank 4."""
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for block in ("down_blocks.0", "up_blocks.1"):
        for kv in "kv":
            base = f"unet.{block}.attentions.0.transformer_blocks.0.attn2.to_{kv}"
            tensors[f"{base}.lora_A.weight"] = torch.randn(4, 768, generator=g) * 0.01
            tensors[f"{base}.lora_B.weight"] = torch.randn(320, 4, generator=g) * 0.01
    return {"pytorch_lora_weights.safetensors": save(tensors)}


@pytest.fixture()
def hub(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 1)
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 1)
    monkeypatch.setenv("HFPROBE_HUB_BACKOFF", "0.05")
    monkeypatch.setenv("HFPROBE_EXPERTS", str(tmp_path / "no-experts"))  # no expert: the readout answers
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo(REPO, sd_lora())
    with hub.serving():
        yield hub


def test_predict_json_names_the_commit_it_read(hub, tmp_path, capsys):
    from hfprobe.cli import main
    from hfprobe.experts.predict import predict

    old = hub.sha(REPO)
    assert predict(REPO)["revision_sha"] == old
    hub.push(REPO, sd_lora(seed=1))
    assert main(["predict", REPO, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["revision_sha"] == hub.sha(REPO) != old
    assert main(["predict", REPO, "--revision", old, "--json"]) == 0  # pinned: the old commit, named
    assert json.loads(capsys.readouterr().out)["revision_sha"] == old
    local = tmp_path / "local"
    local.mkdir()
    (local / "pytorch_lora_weights.safetensors").write_bytes(sd_lora()["pytorch_lora_weights.safetensors"])
    assert predict(str(local))["revision_sha"] is None


def test_no_text_encoder_on_the_hub_says_not_found_not_unreachable(hub, capsys):
    """The Hub answers 404 for the SD root here: the reason says so and how to pass a token, not "cannot be
    reached", and offers no flag the CLI does not have."""
    from hfprobe.cli import main

    assert main(["predict", REPO, "--labels", "dog,cat,violin", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    reason = out["readout"]["reason"]
    assert out["readout"]["abstained"] and out["method"] == "abstain"
    assert reason.startswith(f"no base text encoder: the Hub has no repo {SD_ROOT}")
    assert "private (HTTP 404)" in reason and "--token" in reason
    assert "cannot be" not in reason and "local folder" not in reason and "readout: readout" not in out["reason"]
    assert any(f"/api/models/{SD_ROOT}" in path for _, path, _ in hub.requests)  # the Hub was asked


def test_no_text_encoder_offline_says_how_to_get_it(monkeypatch):
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    d = {"unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k": torch.randn(64, 4) @ torch.randn(4, 768)}
    reason = ro.readout_predict(d, ["dog", "cat", "violin"])["reason"]
    assert reason.startswith(f"no base text encoder: the text encoder of {SD_ROOT} is not in the Hugging Face cache")
    assert "(HF_HUB_OFFLINE is set)" in reason
    fetch = f"`hf download {SD_ROOT} --include 'text_encoder/config.json' --include 'text_encoder/model.safetensors' "
    assert fetch + "--include 'tokenizer/*'`" in reason
    assert "local folder" not in reason and "\n" not in reason


def test_verbose_logs_the_steps_and_every_request_never_the_token(hub, capsys):
    """-v: which file, its format, the tree, the routing; -vv: each ranged read and download too. No token."""
    from hfprobe.cli import main

    hub.tokens = {"hf_secret_value": "read"}
    assert main(["-v", "inspect", REPO, "--token", "hf_secret_value"]) == 0
    err = capsys.readouterr().err
    assert "reading pytorch_lora_weights.safetensors (hub source)" in err and "format diffusers-lora" in err
    assert "family sd1" in err and "GET " not in err
    assert main(["-vv", "predict", REPO, "--labels", "dog,cat,violin", "--token", "hf_secret_value"]) == 0
    err = capsys.readouterr().err
    assert f"GET {REPO}/pytorch_lora_weights.safetensors bytes=0-" in err and ": expert none (" in err
    assert "hf_secret_value" not in err
    assert main(["inspect", REPO]) == 0 and capsys.readouterr().err == ""  # quiet again without -v


def _served_root(tmp_path, hub, repo: str, *, safetensors: bool):
    """A tiny SD root on the test Hub, its text_encoder/ holding the weights in the formats SD 1.5's does."""
    from transformers import CLIPTextModel

    from tests.test_readout import _tiny_sd_root

    root = _tiny_sd_root(tmp_path / repo.replace("/", "--"))
    te = root / "text_encoder"
    torch.save(CLIPTextModel.from_pretrained(te).state_dict(), te / "pytorch_model.bin")
    for decoy in ("model.fp16.safetensors", "pytorch_model.fp16.bin", "flax_model.msgpack"):
        (te / decoy).write_bytes(b"\0" * 4096)  # what the readout must not fetch: never read, so never a problem
    if not safetensors:
        (te / "model.safetensors").unlink()
    hub.add_repo(repo, {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.parent != root})


def test_a_root_s_text_encoder_is_fetched_without_its_other_weight_formats(tmp_path):
    """SD 1.5's text_encoder/ holds one model four or five times (fp32 and fp16, safetensors and pickles; Flax in some
    copies): 1.5-2 GB where the readout needs config.json and model.safetensors (0.5 GB). Those and the tokenizer are
    all it fetches; a root without safetensors weights gets its pickle instead (torch.load(weights_only=True))."""
    from hfprobe.text import states as st

    hub = FakeHub(tmp_path / "hub")
    _served_root(tmp_path, hub, "org/sd-root", safetensors=True)
    _served_root(tmp_path, hub, "org/old-root", safetensors=False)
    with hub.serving():
        states = {repo: st.CLIPStates(repo).states(["dog", "cat", "cow"]) for repo in ("org/sd-root", "org/old-root")}
    fetched = {repo: set() for repo in states}
    for method, path, _ in hub.requests:
        repo, _, rest = path.lstrip("/").partition("/resolve/")
        if method == "GET" and repo in fetched:
            fetched[repo].add(rest.split("/", 1)[1])
    tokenizer = {f"tokenizer/{p.name}" for p in (tmp_path / "org--sd-root" / "tokenizer").iterdir()}
    assert fetched["org/sd-root"] == {"text_encoder/config.json", "text_encoder/model.safetensors", *tokenizer}
    assert fetched["org/old-root"] == {"text_encoder/config.json", "text_encoder/pytorch_model.bin", *tokenizer}
    a, b = (states[r].states[0] for r in states)  # the same weights, in either format
    assert a.shape == (77, 32) and torch.allclose(a, b)

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
    assert "(HF_HUB_OFFLINE is set)" in reason and f"`hf download {SD_ROOT} --include 'text_encoder/*'" in reason
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

"""`predict` on Hub repos, against the local fake Hub (tests/fakehub.py): the JSON names the commit it read, and
the readout says truly why it has no text encoder (the Hub answered "no such repo", or could not be asked)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save

from hfprobe.errors import TextEncoderError
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
    files = ("text_encoder/config.json", "text_encoder/model.safetensors", "tokenizer/*")
    assert f"`hf download {SD_ROOT} " + " ".join(f"--include '{f}'" for f in files) + "`" in reason
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


def _served_root(tmp_path, hub, repo: str, *, copies=("model.fp16.safetensors", "model.safetensors")):
    """A tiny SD root on the test Hub, its text_encoder/ holding the weights in the formats SD 1.5's does: the fp32
    pickle always, the fp16 and fp32 safetensors as `copies` says, and decoys never to be fetched."""
    from transformers import CLIPTextModel

    from tests.test_readout import _tiny_sd_root

    root = _tiny_sd_root(tmp_path / repo.replace("/", "--"))
    te = root / "text_encoder"
    model = CLIPTextModel.from_pretrained(te)
    torch.save(model.state_dict(), te / "pytorch_model.bin")
    if "model.fp16.safetensors" in copies:
        model.half().save_pretrained(te, variant="fp16")
    for decoy in ("pytorch_model.fp16.bin", "flax_model.msgpack"):
        (te / decoy).write_bytes(b"\0" * 4096)  # what the readout must not fetch: never read, so never a problem
    if "model.safetensors" not in copies:
        (te / "model.safetensors").unlink()
    hub.add_repo(repo, {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.parent != root})


def test_a_root_repo_without_text_encoder_weights_says_so_not_unreachable(tmp_path, monkeypatch):
    """The Hub answers, and the root's text_encoder/ has its config but no weights in any format the readout reads:
    the reason names what is missing, not "not in the cache" or "unreachable"."""
    from hfprobe.text import states as st

    monkeypatch.setenv("HFPROBE_CACHE", str(tmp_path / "cache"))
    hub = FakeHub(tmp_path / "hub")
    _served_root(tmp_path, hub, "org/bare-root", copies=())
    (hub.repo_dir("org/bare-root") / "text_encoder" / "pytorch_model.bin").unlink()
    with hub.serving(), pytest.raises(TextEncoderError) as err:
        st.CLIPStates("org/bare-root")
    message = str(err.value)
    assert message.startswith("readout: org/bare-root has no text encoder weights in text_encoder/ (none of ")
    assert "model.safetensors, model.fp16.safetensors, pytorch_model.bin" in message
    assert "cache" not in message and "unreachable" not in message


def test_a_root_s_text_encoder_is_fetched_without_its_other_weight_formats(tmp_path, monkeypatch):
    """SD 1.5's text_encoder/ holds one model four or five times (fp32 and fp16, safetensors and pickles; Flax in some
    copies): 1.5-2 GB. The readout fetches config.json, the tokenizer and one copy: the fp32 safetensors (0.5 GB for
    SD 1.5), else the fp16 ones (a repo saved with variant="fp16" only), else the pickle (loaded with
    torch.load(weights_only=True)). The states of the copies agree within the float16 the cache keeps them in; those
    of fp16 weights are cached apart; offline, each root is read from the copy its cache holds."""
    import huggingface_hub.constants as hc

    from hfprobe.text import states as st
    from hfprobe.text.roots import PipelineTextEncoder

    monkeypatch.setenv("HFPROBE_CACHE", str(tmp_path / "cache"))
    hub = FakeHub(tmp_path / "hub")
    repos = {
        "org/sd-root": ("model.fp16.safetensors", "model.safetensors"),
        "org/fp16-root": ("model.fp16.safetensors",),
        "org/old-root": (),
    }
    for repo, copies in repos.items():
        _served_root(tmp_path, hub, repo, copies=copies)
    with hub.serving():
        readers = {repo: st.CLIPStates(repo) for repo in repos}
        states = {repo: reader.states(["dog", "cat", "cow"]) for repo, reader in readers.items()}
    fetched = {repo: set() for repo in states}
    for method, path, _ in hub.requests:
        repo, _, rest = path.lstrip("/").partition("/resolve/")
        if method == "GET" and repo in fetched:
            fetched[repo].add(rest.split("/", 1)[1])
    tokenizer = {f"tokenizer/{p.name}" for p in (tmp_path / "org--sd-root" / "tokenizer").iterdir()}
    copy = {
        repo: {f.removeprefix("text_encoder/") for f in got if f.startswith("text_encoder/")}
        for repo, got in fetched.items()
    }
    assert copy == {
        "org/sd-root": {"config.json", "model.safetensors"},
        "org/fp16-root": {"config.json", "model.fp16.safetensors"},
        "org/old-root": {"config.json", "pytorch_model.bin"},
    }
    assert all(files - {f"text_encoder/{f}" for f in copy[repo]} == tokenizer for repo, files in fetched.items())
    full, half, old = (torch.from_numpy(states[r].states[0]) for r in repos)
    assert full.shape == (77, 32) and torch.equal(full, old)  # the same fp32 weights, in either format
    top_step = torch.finfo(torch.float16).eps * full.abs().max()  # the cache's float16 step at the largest states
    assert (half - full).abs().max() <= 2 * top_step and not torch.equal(half, full)
    keys = {repo: s.encoder.cache_key for repo, s in readers.items()}
    assert keys["org/fp16-root"] == ["padding attended", "fp16 weights"] and keys["org/sd-root"] == ["padding attended"]
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    assert [PipelineTextEncoder(repo).weights for repo in repos] == [
        ["model.safetensors"],
        ["model.fp16.safetensors"],
        ["pytorch_model.bin"],
    ]


@pytest.mark.parametrize("read", ["/revision/", "/text_encoder/model.safetensors"])
def test_a_root_s_text_encoder_is_fetched_though_the_shared_client_is_closed(tmp_path, monkeypatch, read):
    """huggingface_hub closes the client every thread shares after a connect error in any one of them (a Space
    answering several visitors): the fetch of a root's text encoder is retried as hfprobe's reads are."""
    from hfprobe.text import states as st
    from tests.hub.faults import close_client_under

    monkeypatch.setenv("HFPROBE_CACHE", str(tmp_path / "cache"))
    hub = FakeHub(tmp_path / "hub")
    repo = f"org/root-{read.strip('/').replace('/', '-')}"  # its own: none of it in the Hugging Face cache
    _served_root(tmp_path, hub, repo, copies=("model.safetensors",))
    closed = close_client_under(hub, "GET", lambda path: read in path)
    with hub.serving():
        states = st.CLIPStates(repo).states(["dog", "cat", "cow"])
    assert closed and states.states[0].shape == (77, 32)


def test_a_hub_that_cannot_be_reached_after_the_retries_is_unreachable_not_a_mystery():
    """hfprobe's retries end in a NetworkError (a connection lost before its reply, every try): the reason is "cannot
    be asked", with the `hf download` line, as for an unreachable Hub, not "cannot fetch (NetworkError); try again"."""
    from hfprobe.errors import NetworkError
    from hfprobe.text.roots import _unavailable

    err = NetworkError("org/root: cannot reach https://huggingface.co (ReadError, 3 tries); check the network")
    message = _unavailable("org/root", err)
    assert "org/root is not in the Hugging Face cache and the Hub cannot be asked" in message
    assert "`hf download org/root " in message and "\n" not in message

"""`predict` says "abstained" without importing torch where nothing could answer: no expert covers the model's
family (or none is installed) and the readout has no cross-attention to read. Its answer then comes from the
headers and the experts' expert.json files, in a fraction of a second instead of the seconds torch takes to import.
An expert's answer on the CPU needs no torch either (tests/test_infer.py); the readout's text encoders load it (the
guard sees it there, so it can see it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests import builders as B

HEAVY = ("torch", "diffusers", "peft", "transformers")

# runs `hfprobe predict SOURCE --json [flags]` for each source in one fresh interpreter; prints, per source, its exit
# code, its answer and the heavy modules loaded so far (so the first source that pulls one in is named)
RUNNER = f"""
import contextlib, io, json, sys
from hfprobe.cli import main
flags, out = json.loads(sys.argv[1]), []
for source in sys.argv[2:]:
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        rc = main(["predict", source, "--json", *flags])
    out.append([rc, json.loads(buf.getvalue() or "null"), [m for m in {HEAVY!r} if m in sys.modules]])
print(json.dumps(out))
"""


def _predict(sources, *flags, experts_dir, env: dict | None = None) -> list:
    env = dict(os.environ, HFPROBE_EXPERTS=str(experts_dir), **(env or {"HF_HUB_OFFLINE": "1"}))
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(flags), *map(str, sources)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def adapters(tmp_path_factory):
    d = tmp_path_factory.mktemp("adapters")
    return {
        "gpt2": B.peft_adapter("gpt2", d / "gpt2")[1],
        "bert": B.peft_adapter("bert", d / "bert")[1],
        "unet": B.save_diffusers_lora(B.add_unet_lora(B.tiny_unet()), d / "unet"),
    }


def _abstained_without_torch(result, *, reason: str):
    rc, out, heavy = result
    assert rc == 0 and out["method"] == "abstain" and out["expert"] is None, out
    assert reason in out["routing"]["reason"], out["routing"]
    assert out["readout"]["abstained"] and "no UNet cross-attention" in out["readout"]["reason"], out["readout"]
    assert heavy == [], f"{out['source']} imported {heavy}"


def test_no_expert_and_no_cross_attention_abstains_without_torch(adapters, tmp_path):
    empty = tmp_path / "experts"
    empty.mkdir()
    gpt2, bert, unet = _predict([adapters["gpt2"], adapters["bert"], adapters["unet"]], experts_dir=empty)
    _abstained_without_torch(gpt2, reason="no trained experts under")
    _abstained_without_torch(bert, reason="no trained experts under")
    assert [gpt2[1]["tree"]["family"], bert[1]["tree"]["family"]] == ["gpt2", "bert"]  # inspect's findings are there
    # a UNet LoRA has cross-attention: the readout is asked, and abstains here with no text encoder for the tiny
    # UNet's width, which it knows before torch is imported
    rc, out, heavy = unet
    assert rc == 0 and out["readout"]["abstained"] and heavy == [], out
    assert out["readout"]["reason"].startswith("no base text encoder: no known text encoder for cross-attention width")


def test_an_sd_lora_whose_text_encoder_cannot_be_had_abstains_without_torch(tmp_path):
    """An SD 1.x LoRA's cross-attention (768 wide) is read with SD 1.5's own text encoder. Offline with an empty
    Hugging Face cache the readout cannot have it, and says so before torch is imported; a text encoder that can be
    had (MiniLM, the zoo's 384 wide) is loaded, and torch with it."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    folders = {}
    for width in (768, 384):
        tensors = {}
        for block in ("down_blocks.1", "up_blocks.1"):
            for kv in "kv":
                base = f"unet.{block}.attentions.0.transformer_blocks.0.attn2.to_{kv}"
                tensors[f"{base}.lora_A.weight"] = rng.standard_normal((4, width), dtype=np.float32)
                tensors[f"{base}.lora_B.weight"] = rng.standard_normal((640, 4), dtype=np.float32)
        folders[width] = tmp_path / f"lora-{width}"
        folders[width].mkdir()
        save_file(tensors, str(folders[width] / "pytorch_lora_weights.safetensors"))
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "HFPROBE_CACHE": str(tmp_path / "cache")}
    sd, zoo = _predict([folders[768], folders[384]], experts_dir=tmp_path / "none", env=env)
    rc, out, heavy = sd
    assert rc == 0 and out["method"] == "abstain" and heavy == [], (out, heavy)
    assert out["readout"]["reason"].startswith(
        "no base text encoder: the text encoder of stable-diffusion-v1-5/stable-diffusion-v1-5 is not in the Hugging "
        "Face cache and the Hub cannot be asked (HF_HUB_OFFLINE is set)"
    ), out["readout"]
    rc, out, heavy = zoo
    assert rc == 0 and out["readout"]["encoder"] == "minilm-pad12" and "torch" in heavy, (out, heavy)


def test_predict_says_how_sure_its_tree_is(tmp_path):
    """SD 2.1 and 2.1-base share every shape, so `inspect` is a third sure of an SD 2.x LoRA's root; `predict` names
    that root as sure as `inspect` is (it named it bare), in its JSON and its text."""
    from hfprobe.cli.predict import format_prediction
    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    attn2 = "unet.down_blocks.{}.attentions.0.transformer_blocks.0.attn2.to_k.lora_{}.weight"
    tensors = {attn2.format(b, "A"): ("F16", (4, 1024)) for b in (0, 1)}
    tensors |= {attn2.format(b, "B"): ("F16", (w, 4)) for b, w in ((0, 320), (1, 640))}
    write_header(tmp_path / "sd2" / "pytorch_lora_weights.safetensors", tensors)
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "HFPROBE_CACHE": str(tmp_path / "cache")}
    ((rc, out, heavy),) = _predict([tmp_path / "sd2"], experts_dir=tmp_path / "none", env=env)
    report = inspect_source(str(tmp_path / "sd2"))
    assert rc == 0 and heavy == [] and out["method"] == "abstain", out
    assert out["tree"] == {
        "id": report["root"]["tree"]["id"],
        "confidence": report["root"]["tree"]["confidence"],
        "family": "sd2",
        "family_confidence": report["family_confidence"],
        "root": report["root"]["id"],
        "root_confidence": report["root"]["confidence"],
    }
    # SD 2.1 and 2.1-base share every shape (a root at 0.33), and both were tuned from SD 2-base: its tree is surer
    assert out["tree"]["root_confidence"] < 0.5 <= out["tree"]["confidence"]
    assert out["tree"]["id"] == "stabilityai/stable-diffusion-2-base"
    line = (
        f"tree:    family sd2 (confidence 1.00), root {report['root']['id']} (confidence 0.33); "
        f"tree stabilityai/stable-diffusion-2-base (confidence {out['tree']['confidence']:.2f}; "
        "the root was tuned from it)"
    )
    assert line in format_prediction(out).splitlines()


def test_experts_of_other_families_cost_only_their_json(adapters, tmp_path):
    from tests.test_expert_publish import make_expert

    make_expert("vit-a", "google/vit-base-patch16-224").save(tmp_path / "experts" / "vit-a")
    [gpt2] = _predict([adapters["gpt2"]], experts_dir=tmp_path / "experts")
    _abstained_without_torch(gpt2, reason="no expert for family 'gpt2' (experts cover: vit)")
    # zero-shot labels are checked (and counted) without torch too
    [labelled] = _predict([adapters["gpt2"]], "--labels", "dog,cat,bird", experts_dir=tmp_path / "experts")
    _abstained_without_torch(labelled, reason="no expert for family 'gpt2'")
    assert labelled[1]["readout"]["labels"] == 3
    # an expert of the model's family is loaded and asked: it reads the layer (in numpy), whose shape is not its own
    [vit] = _predict([B.peft_adapter("vit", tmp_path / "vit")[1]], experts_dir=tmp_path / "experts")
    assert vit[0] == 0 and vit[2] == [] and vit[1]["routing"]["candidates"] == [], vit[1]["routing"]
    assert "lacks the layer (or its shape)" in vit[1]["routing"]["reason"], vit[1]["routing"]


def test_a_hub_repo_no_expert_covers_abstains_without_torch(adapters, tmp_path):
    """The same from the Hub (a server on 127.0.0.1): its header and companion files over HTTP, no torch."""
    from tests.fakehub import FakeHub

    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("tester/gpt2-lora", {p.name: p for p in adapters["gpt2"].iterdir() if p.is_file()})
    env = {"HF_HOME": str(tmp_path / "hf"), "HFPROBE_CACHE": str(tmp_path / "cache"), "HF_HUB_DISABLE_TELEMETRY": "1"}
    with hub.serving():
        [gpt2] = _predict(["tester/gpt2-lora"], experts_dir=tmp_path / "none", env={"HF_ENDPOINT": hub.endpoint, **env})
    _abstained_without_torch(gpt2, reason="no trained experts under")
    assert gpt2[1]["revision_sha"] == hub.sha("tester/gpt2-lora")


def test_indexing_a_model_nothing_scores_needs_no_torch(adapters, tmp_path):
    """`hfprobe index add`: a model no expert or readout answers for is a row by its tree, written without torch
    (the text encoder that places categories loads only for a model that has some)."""
    pytest.importorskip("lancedb")
    code = (
        "import sys; from hfprobe.cli import main; "
        "rc = main(['index', 'add', sys.argv[1], '--index', sys.argv[2], '-q']); "
        "print(rc, [m for m in ('torch', 'transformers') if m in sys.modules])"
    )
    env = dict(os.environ, HFPROBE_EXPERTS=str(tmp_path / "none"), HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(adapters["gpt2"]), str(tmp_path / "index")],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert proc.stdout.split("\n")[-2] == "0 []", proc.stdout + proc.stderr[-2000:]


def test_realzoo_models_no_expert_covers_abstain_without_torch(realzoo, tmp_path):
    rows = [json.loads(line) for line in (realzoo / "manifest.jsonl").read_text().splitlines() if line.strip()]
    # every one that is not a text-to-image LoRA (those have cross-attention for the readout to read)
    folders = [(realzoo / r["local_path"]).parent for r in rows if r["ground_truth"]["family"] not in ("sd1", "sd2")]
    results = _predict(folders, experts_dir=tmp_path / "none")
    assert len(results) == len(folders) > 10
    for folder, (rc, out, heavy) in zip(folders, results):
        assert rc == 0 and out["method"] == "abstain" and heavy == [], (folder.name, out and out.get("reason"), heavy)


def test_deferred_threads_reach_torch_when_it_loads():
    """`--threads N` on a command that may not need torch: set for torch to read when it loads, not by loading it."""
    code = (
        "import argparse, sys; from hfprobe.cli.common import use_threads; "
        "use_threads(argparse.Namespace(threads=1), deferred=True); loaded = 'torch' in sys.modules; "
        "import torch; print(loaded, torch.get_num_threads())"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, env=env)
    assert proc.stdout.split() == ["False", "1"], proc.stdout + proc.stderr

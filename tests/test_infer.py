"""`predict` on the CPU runs the expert in numpy (hfprobe.experts.infer), the layer read in numpy
(`WeightsView.layer(numpy=True)`): no torch. The torch modules and calibration it replaces are the oracle here: every
probe kind, head, view and input norm gives the module's logits, every calibration method calibrate's values, every
layer of every format torch's layer, and a whole prediction the answer the torch path gives."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from hfprobe.experts import calibrate, infer
from hfprobe.experts.expert import Expert
from hfprobe.experts.probes import KINDS, VIEWS, TrainConfig, build_model
from hfprobe.formats import open_weights
from tests import builders as B

torch.set_num_threads(1)

CASES = [  # (kind, head, views, input_norm)
    ("probex", "multilabel", (), "tree"),
    ("probex", "text", (), "tree"),
    ("probex", "multilabel", ("gram",), "tree"),
    ("probex", "text", ("gram",), "model"),
    ("probex", "multilabel", (), "model"),
    ("dense", "multilabel", (), "tree"),
    ("dense", "text", (), "model"),
    ("bilinear", "text", (), "tree"),
    ("bilinear", "text", (), "model"),
]


def _expert(tmp_path, kind, head, views, input_norm, shape=(12, 10), labels=("dog", "cat", "bird", "fish")):
    """A saved expert of that probe kind with random weights and a centring fitted on random layers, loaded back."""
    torch.manual_seed(0)
    cfg = TrainConfig(head=head, kind=kind, r_U=5, r_V=4, r_T=6, views=views, input_norm=input_norm)
    text = {"id": "minilm", "dim": 16, "prompt": "a photo of a {}"} if head == "text" else None
    model = build_model(
        cfg, *shape, n_classes=len(labels) if head == "multilabel" else None, text_dim=16 if text else None
    )
    model.fit_input(torch.randn(20, *shape) * 0.3 + torch.randn(*shape))
    config = {
        "name": f"{kind}-{head}",
        "root": "org/root",
        "family": "vit",
        "layer": "layer",
        "shape": list(shape),
        "labels": list(labels),
        "head": head,
        "text_encoder": text,
        "train": cfg.to_dict(),
        "metrics": {},
        "routing": {"threshold": 1.0},
    }
    emb = torch.nn.functional.normalize(torch.randn(len(labels), 16), dim=-1) if head == "text" else None
    folder = Expert(model, config, emb).save(tmp_path / config["name"])
    return Expert.load(folder), model, emb


@pytest.mark.parametrize("kind, head, views, input_norm", CASES)
def test_every_probe_kind_gives_the_torch_module_s_logits(tmp_path, kind, head, views, input_norm):
    expert, model, emb = _expert(tmp_path, kind, head, views, input_norm)
    assert infer.runs_here(expert) and "model.mean" in expert.arrays
    X = torch.randn(3, 12, 10) * 0.3 + model.mean
    with torch.no_grad():
        want = model.eval()(X, emb).double().numpy()
    got = infer.logits(expert, X.numpy(), None if emb is None else emb.numpy())
    assert got.shape == want.shape and np.allclose(got, want, rtol=1e-4, atol=1e-5), np.abs(got - want).max()


def test_the_kinds_and_views_it_runs_are_the_probes_own():
    assert set(infer.KINDS) == set(KINDS) and set(infer.VIEWS) == set(VIEWS)


def test_a_device_or_an_unknown_kind_runs_the_torch_module(tmp_path):
    expert, _, _ = _expert(tmp_path, "probex", "multilabel", (), "tree")
    assert infer.runs_here(expert, None) and infer.runs_here(expert, "cpu")
    assert not infer.runs_here(expert, "cuda")
    expert.config["train"]["kind"] = "some-future-probe"
    assert not infer.runs_here(expert)


CALIBRATIONS = [
    None,
    {"method": "none", "params": {}},
    {"method": "temperature", "params": {"T": 2.5}},
    {"method": "platt", "params": {"a": [0.5, 1.5, 2.0, 0.1], "b": [0.1, -0.3, 0.0, 2.0]}},
    {"method": "platt", "params": {"a": 0.7, "b": -0.2}},
    {"method": "platt-asinh", "params": {"a": [1.2, 0.8, 2.0, 0.4], "b": [0.0, 0.5, -1.0, 0.2]}},
    {"method": "platt-tanh", "params": {"a": 3.0, "b": -0.5, "s": 4.0}},
]


@pytest.mark.parametrize("cal", CALIBRATIONS, ids=lambda c: (c or {"method": "absent"})["method"])
def test_multilabel_probabilities_are_calibrate_s(cal):
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 20
    want = calibrate.probabilities(z, cal, "multilabel").double().numpy()
    assert np.allclose(infer.probabilities(z.numpy(), cal, "multilabel"), want, atol=1e-6)


@pytest.mark.parametrize("zero_shot", [False, True])
def test_text_probabilities_are_calibrate_s(zero_shot):
    z = torch.randn(3, 7, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for cal in (
        None,
        {"method": "temperature", "params": {"T": 0.05}},
        {"method": "temperature", "params": {"T": 0.1}, "zero_shot": {"method": "temperature", "params": {"T": 0.3}}},
    ):
        want = calibrate.probabilities(z, cal, "text", zero_shot=zero_shot).double().numpy()
        assert np.allclose(infer.probabilities(z.numpy(), cal, "text", zero_shot=zero_shot), want, atol=1e-6), cal


def _layers_agree(view, per_layout: int | None = None) -> int:
    """Each module read both ways agrees; with `per_layout`, only that many of each layout (kind, roles, sizes,
    kernel, rank, alpha and scale alike: read by one code path) are read."""
    n, seen = 0, collections.Counter()
    for name, mod in view.modules.items():
        if mod.kind not in ("lora", "full", "embedding") or (mod.kind == "lora" and "B" not in mod.keys):
            continue
        layout = (mod.kind, tuple(sorted(mod.keys)), mod.d_out, mod.d_in, mod.kernel, mod.rank, mod.alpha, mod.scale)
        seen[layout] += 1
        if per_layout is not None and seen[layout] > per_layout:
            continue
        for scaled in (False, True):
            got, want = view.layer(name, scaled, numpy=True), view.layer(name, scaled).numpy()
            assert isinstance(got, np.ndarray) and got.dtype == np.float32, name
            assert got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-6), (name, scaled)
        n += 1
    return n


def test_numpy_layers_are_torch_s_on_the_synthetic_formats(tmp_path):
    """LoRAs of each layout (fan-in-fan-out GPT-2, a conv UNet, kohya names, mlx's transposed factors, AdaLoRA's
    singular values), a full checkpoint, and BF16 / F16 tensors."""
    sources = [
        B.peft_adapter("gpt2", tmp_path / "gpt2")[1],
        B.peft_adapter("bert", tmp_path / "bert")[1],
        B.save_diffusers_lora(B.add_unet_lora(B.tiny_unet(), r=4, alpha=8), tmp_path / "unet"),
        B.save_checkpoint("vit", tmp_path / "vit")[1],
    ]
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(0)
    for dtype in (torch.bfloat16, torch.float16):
        a, b = torch.randn(4, 24, generator=g).to(dtype), torch.randn(16, 4, generator=g).to(dtype)
        name = str(dtype).split(".")[-1]
        f = tmp_path / f"{name}.safetensors"
        save_file({"base_model.model.encoder.layer.0.attention.self.query.lora_A.weight": a,
                   "base_model.model.encoder.layer.0.attention.self.query.lora_B.weight": b}, str(f))  # fmt: skip
        sources.append(f)
    counted = 0
    for source in sources:
        with open_weights(source) as view:
            counted += (n := _layers_agree(view))
            assert n, source
    assert counted > 20


def test_numpy_layers_are_torch_s_on_every_realzoo_file(realzoo_views):
    counted = sum(_layers_agree(view, per_layout=2) for view in realzoo_views)
    assert len(realzoo_views) >= 30 and counted > 250, (len(realzoo_views), counted)


RUNNER = """
import contextlib, io, json, sys
from hfprobe.cli import main
with contextlib.redirect_stdout(io.StringIO()) as buf:
    rc = main(["predict", *sys.argv[1:], "--json"])
print(json.dumps([rc, json.loads(buf.getvalue()), "torch" in sys.modules]))
"""


def _gpt2_expert(tmp_path, head: str):
    """A GPT-2 adapter and, in its own folder of experts, an expert of its tree reading its first c_attn (random
    weights, centred on scaled copies of that layer, temperature-calibrated): (adapter folder, experts folder)."""
    _, folder = B.peft_adapter("gpt2", tmp_path / "gpt2")
    with open_weights(folder) as view:
        name = next(n for n, m in view.modules.items() if m.kind == "lora" and "c_attn" in n)
        shape = tuple(view.layer(name).shape)
        X = torch.stack([view.layer(name) * s for s in (0.5, 1.0, 1.5)])
    torch.manual_seed(0)
    labels = ("dog", "cat", "bird", "fish")
    cfg = TrainConfig(head=head, r_U=4, r_V=4, r_T=4)
    model = build_model(
        cfg, *shape, n_classes=4 if head == "multilabel" else None, text_dim=384 if head == "text" else None
    )
    model.fit_input(X)
    config = {
        "name": "gpt2-tree", "root": "openai-community/gpt2", "family": "gpt2", "layer": name, "shape": list(shape),
        "labels": list(labels), "head": head, "train": cfg.to_dict(), "metrics": {},
        "text_encoder": {"id": "minilm", "dim": 384, "prompt": "a photo of a {}"} if head == "text" else None,
        "routing": {"threshold": 10.0}, "calibration": {"method": "temperature", "params": {"T": 1.7}},
    }  # fmt: skip
    emb = None
    if head == "text":
        from hfprobe.text.encoders import get_text_encoder

        emb = get_text_encoder("minilm").embed_labels(list(labels), "a photo of a {}")
    experts = tmp_path / "experts"
    Expert(model, config, emb).save(experts / "gpt2-tree")
    return folder, experts


@pytest.mark.parametrize("head", ["multilabel", "text"])
def test_a_prediction_is_the_torch_path_s_and_needs_no_torch(tmp_path, monkeypatch, head):
    """A GPT-2 adapter routed to a GPT-2 expert: the CLI answers in a fresh interpreter with torch never imported,
    and its answer is the torch path's (in-process, with the numpy path switched off), the same labels, scores and
    probabilities; with zero-shot labels through the numpy MiniLM for the text head."""
    from hfprobe.experts.predict import predict

    folder, experts = _gpt2_expert(tmp_path, head)
    flags = ["--labels", "cat,dog,fish"] if head == "text" else []
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(folder), "--experts", str(experts), *flags],
        capture_output=True, text=True, timeout=180, check=False, env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rc, out, torch_loaded = json.loads(proc.stdout)
    assert rc == 0 and out["expert"]["name"] == "gpt2-tree" and not torch_loaded, (out, torch_loaded)
    assert out["method"] == ("zero-shot" if head == "text" else "probex")
    monkeypatch.setattr(infer, "runs_here", lambda *a, **k: False)
    kw = {"labels": ["cat", "dog", "fish"]} if head == "text" else {}
    want = json.loads(json.dumps(predict(str(folder), experts_dir=experts, **kw)))
    assert [(p["label"], p["probability"]) for p in out["predictions"]] == [
        (p["label"], p["probability"]) for p in want["predictions"]
    ]
    assert [p["score"] for p in out["predictions"]] == pytest.approx(
        [p["score"] for p in want["predictions"]], abs=2e-6
    )
    assert out["decision"] == want["decision"] and out["calibration"] == want["calibration"]
    assert out["routing"]["distance"] == pytest.approx(want["routing"]["distance"], rel=1e-5)


def test_indexing_a_model_its_expert_scores_needs_no_torch(tmp_path):
    """`hfprobe index add` with an expert: the row gets the expert's categories, and torch is never imported (the
    categories' text embeddings are MiniLM's in numpy, the prediction the expert's in numpy)."""
    pytest.importorskip("lancedb")
    folder, experts = _gpt2_expert(tmp_path, "multilabel")
    code = (
        "import contextlib, io, json, sys; from hfprobe.cli import main\n"
        "rc = main(['index', 'add', sys.argv[1], '--index', sys.argv[2], '--experts', sys.argv[3], '-q'])\n"
        "with contextlib.redirect_stdout(io.StringIO()) as buf:\n"
        "    main(['query', 'dog', '--index', sys.argv[2], '--json'])\n"
        "print(json.dumps([rc, 'torch' in sys.modules, [json.loads(l) for l in buf.getvalue().splitlines()]]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(folder), str(tmp_path / "index"), str(experts)],
        capture_output=True, text=True, timeout=180, check=False, env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rc, torch_loaded, hits = json.loads(proc.stdout.splitlines()[-1])
    assert rc == 0 and not torch_loaded, (rc, torch_loaded)
    assert hits and hits[0]["expert"] == "gpt2-tree" and hits[0]["categories"], hits


def test_an_overflowing_layer_is_inf_silently_as_in_torch(tmp_path):
    """A LoRA whose product overflows float32 (a corrupt or hostile file): inf in numpy as in torch, with no
    RuntimeWarning on the user's stderr; the router then calls it no known tree."""
    import warnings

    from safetensors.torch import save_file

    f = tmp_path / "big.safetensors"
    key = "base_model.model.encoder.layer.0.attention.self.query"
    save_file(
        {f"{key}.lora_A.weight": torch.full((4, 8), 1e30), f"{key}.lora_B.weight": torch.full((8, 4), 1e30)}, str(f)
    )
    with open_weights(f) as view, warnings.catch_warnings():
        warnings.simplefilter("error")
        [name] = view.modules
        got, want = view.layer(name, scaled=True, numpy=True), view.layer(name, scaled=True).numpy()
    assert np.isinf(got).all() and np.array_equal(got, want)


def test_an_expert_built_in_memory_predicts_from_its_module_s_tensors(tmp_path):
    """An Expert trained in this process (no folder yet) hands infer its module's tensors: the same logits."""
    saved, model, emb = _expert(tmp_path, "probex", "text", ("gram",), "tree")
    fresh = Expert(model, saved.config, emb)
    X = (torch.randn(2, 12, 10) * 0.3 + model.mean).numpy()
    assert set(fresh.arrays) == set(saved.arrays)
    assert np.allclose(infer.logits(fresh, X, emb.numpy()), infer.logits(saved, X, emb.numpy()), atol=1e-6)

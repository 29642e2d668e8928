"""`--device auto|cpu|cuda|mps`: one resolver, the same figures on the CPU bit for bit (a default run and a
`--device cpu` run), `auto` falling back to the CPU without an accelerator, one-line usage errors for a device
torch does not see, and zoo builds that keep their bytes on the CPU. Nothing here needs a GPU; the one CUDA
test skips without one."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors import safe_open

from hfprobe import device as hdev
from hfprobe.cli import main
from hfprobe.device import autocast, current_device, describe, mixed_precision, resolve_device, use_device
from hfprobe.errors import UsageError, ZooError
from hfprobe.experts.probes import TrainConfig
from hfprobe.experts.train import ZeroShotVal, train_probe
from hfprobe.zoo import build_zoo, default_zoo_dir, load_recipe, recipe_hash
from tests.probex_synth import multilabel_tree, text_tree

SMALL = dict(r_U=8, r_V=8, r_T=8, max_epochs=12, patience=12)


@pytest.fixture
def no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hdev, "_mps", lambda: False)


def test_auto_falls_back_to_cpu_without_an_accelerator(no_accelerator):
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu") and current_device() == torch.device("cpu")
    with use_device("auto") as dev:
        assert dev == current_device() == torch.device("cpu")


def test_auto_takes_the_accelerator_torch_sees(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hdev, "_mps", lambda: True)
    assert resolve_device("auto") == torch.device("mps")


@pytest.mark.parametrize(
    "name, match",
    [
        ("tpu", "choose one of auto, cpu, cuda, mps"),
        ("cpu:1", "choose one of"),
        ("cuda", "sees no CUDA"),
        ("cuda:0", "sees no CUDA"),
        ("mps", "no MPS"),
    ],
)
def test_a_device_torch_does_not_see_is_one_line(no_accelerator, name, match):
    with pytest.raises(UsageError, match=match) as err:
        resolve_device(name)
    assert "\n" not in str(err.value) and f"--device {name}" in str(err.value).replace("'", "")


def test_cuda_index_past_the_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(UsageError, match="pick cuda:0 to cuda:0"):
        resolve_device("cuda:3")


def test_mixed_precision_never_on_the_cpu():
    cpu = torch.device("cpu")
    assert not mixed_precision(cpu) and not mixed_precision(torch.device("mps"))
    assert describe(cpu) == {"device": "cpu", "name": "CPU", "precision": "fp32"}
    with autocast(cpu):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def _same(a, b) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa) and a.history == b.history


def test_train_probe_on_cpu_is_bit_for_bit_the_default():
    X, Y = multilabel_tree(90, seed=3, strength=0.08)
    args = (X[:60], Y[:60], X[60:], Y[60:], TrainConfig(**SMALL))
    default = train_probe(*args, progress=False)
    explicit = train_probe(*args, progress=False, device="cpu")
    with use_device("cpu"):
        block = train_probe(*args, progress=False)
    assert _same(default, explicit) and _same(default, block)
    assert default.device == "cpu" and next(default.model.parameters()).device.type == "cpu"


def test_text_probe_with_zero_shot_on_cpu_is_bit_for_bit_the_default():
    emb = torch.nn.functional.normalize(torch.randn(10, 12, generator=torch.Generator().manual_seed(0)), dim=-1)
    seen, held = torch.arange(6), torch.arange(6, 10)
    idx = seen.repeat(12)
    X = text_tree(emb, idx, seed=1)
    Xh = text_tree(emb, held.repeat(3), seed=1)
    zs = ZeroShotVal(Xh, torch.arange(4).repeat(3), emb[held])
    cfg = TrainConfig(head="text", **SMALL)
    args = (X[:48], idx[:48], X[48:], idx[48:], cfg)
    default = train_probe(*args, text_emb=emb[seen], progress=False, zero_shot=zs)
    explicit = train_probe(*args, text_emb=emb[seen], progress=False, zero_shot=zs, device="cpu")
    assert _same(default, explicit) and default.best_zero_shot_val == explicit.best_zero_shot_val


def _train(zoo, out, *extra):
    layer = "vit.layers.1.attention.v_proj"
    args = ["train", "--zoo", str(zoo), "--tree", "vit-fmnist-a", "--layers", layer, "--rank", "8", "--epochs", "6"]
    assert main([*args, "--out", str(out), "-q", "--json", *extra]) == 0
    return json.loads((out / "expert.json").read_text())


def test_cli_train_and_predict_default_equal_device_cpu(zoo, tmp_path, no_accelerator, capsys):
    """With no accelerator the default (`auto`) is the CPU: the expert's bytes and figures equal `--device cpu`'s."""
    a, b = _train(zoo, tmp_path / "auto"), _train(zoo, tmp_path / "cpu", "--device", "cpu")
    # the same tensors, bit for bit, and the same metadata (safetensors writes metadata keys in hash order, so the
    # files' bytes may differ in that order alone)
    auto, cpu = (safe_open(str(tmp_path / d / "expert.safetensors"), "pt") for d in ("auto", "cpu"))
    assert auto.metadata() == cpu.metadata() and sorted(auto.keys()) == sorted(cpu.keys())
    assert all(torch.equal(auto.get_tensor(k), cpu.get_tensor(k)) for k in auto.keys())
    for cfg in (a, b):
        cfg["metrics"].pop("train_seconds")
    assert a["metrics"] == b["metrics"] and a["train"] == b["train"]
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["device"] for r in rows] == ["cpu", "cpu"]
    model = next(p for p in (zoo / "models/vit-fmnist-a").iterdir() if p.is_dir())
    answers = []
    for extra in ([], ["--device", "cpu"]):
        assert main(["predict", str(model), "--experts", str(tmp_path / "auto"), "--json", *extra]) == 0
        answers.append(json.loads(capsys.readouterr().out.splitlines()[-1])["predictions"])
    assert answers[0] == answers[1] and answers[0]


@pytest.mark.parametrize("command", ["train", "bench", "predict", "zoo"])
def test_cli_device_torch_does_not_see(command, zoo, tmp_path, no_accelerator, capsys):
    args = {
        "train": ["train", "--zoo", str(zoo), "--tree", "vit-fmnist-a", "--out", str(tmp_path / "e")],
        "bench": ["bench", "--zoo", str(zoo), "--out", str(tmp_path / "b.json")],
        "predict": ["predict", str(zoo / "models/vit-fmnist-a")],
        "zoo": ["zoo", "build", "--preset", "test", "--out", str(tmp_path / "z")],
    }[command]
    assert main([*args, "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--device cuda" in err[0] and "sees no CUDA" in err[0]
    assert not any(tmp_path.iterdir())  # nothing half-written


def _small_recipe():
    recipe = load_recipe("test")
    recipe["trees"] = [dict(recipe["trees"][0], models=2)]
    recipe["vit"] = dict(recipe["vit"], root_images=200)
    return recipe


def test_zoo_build_on_cpu_keeps_its_bytes(tmp_path):
    recipe = _small_recipe()
    a = build_zoo(recipe=recipe, out=tmp_path / "default", progress=False)
    b = build_zoo(recipe=recipe, out=tmp_path / "cpu", progress=False, device="cpu")

    def files(p):
        return {
            f.relative_to(p).as_posix(): f.read_bytes() for f in p.rglob("*") if f.is_file() and f.name != "build.json"
        }

    assert files(a) == files(b) and len(files(a)) > 5
    assert json.loads((a / "zoo.json").read_text())["device"] == "cpu"
    # a partial build resumes only on the device it started on: GPU kernels round differently
    stamp = json.loads((a / "recipe.json").read_text())
    part = tmp_path / "partial"
    shutil.copytree(a, part)
    (part / "zoo.json").unlink()
    (part / "recipe.json").write_text(json.dumps({**stamp, "device": "cuda"}))
    with pytest.raises(ZooError, match="started on cuda; resume it with --device cuda"):
        build_zoo(recipe=recipe, out=part, progress=False)
    assert stamp["hash"] == recipe_hash(recipe)


def test_accelerator_zoos_live_apart_in_the_cache():
    recipe = load_recipe("test")
    assert default_zoo_dir(recipe).name == recipe_hash(recipe)
    assert default_zoo_dir(recipe, torch.device("cuda")).name == recipe_hash(recipe) + "-cuda"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_matches_the_cpu_closely():  # pragma: no cover - runs only where a GPU is lent
    X, Y = multilabel_tree(300, seed=5, strength=0.08)
    args = (X[:200], Y[:200], X[200:], Y[200:], TrainConfig(**{**SMALL, "max_epochs": 40, "patience": 40}))
    cpu = train_probe(*args, progress=False)
    gpu = train_probe(*args, progress=False, device="cuda")
    assert gpu.device.startswith("cuda") and next(gpu.model.parameters()).device.type == "cpu"
    assert abs(gpu.best_val - cpu.best_val) < 0.05  # bf16 autocast: close, not equal

"""Training throughput of one probe at the paper's shapes on one device: seconds per model per epoch.

    python benchmarks/bench_device.py --device cpu --threads 2 --out device_cpu.json
    python benchmarks/bench_device.py --device cuda --out device_cuda.json
    python benchmarks/bench_device.py --device cuda --cases sd-probex --profile   # where the time goes

Synthetic layers (nothing is read from disk or the Hub) through the real trainer (`train_probe`, so on CUDA
the layers and probe are moved once and the forward runs under bf16 autocast): each case trains for a few
epochs without early stopping, and the figure is wall seconds / (epochs x models), the validation pass
included, after one warm-up epoch (and the process's CPU time per model-epoch, which other jobs on a shared
machine do not inflate). The layers are on the device before the clock starts: `upload_s` is what moving
them there once cost (`train_probe` does it once per probe, so a long run amortises it). docs/reproduce.md
turns these figures into the time a Model-J table takes.

Cases (the shapes the paper's tables train on):
    vit-probex   768x768 (ViT-B attention), 100-way multi-label head, ProbeX r=128
    vit-dense    the same layer, the dense baseline (59M parameters)
    sd-probex    1280x1280 (SD 1.5's widest attention), text head over 200 CLIP-sized (768-d) embeddings
    sd-kv-probex 1280x768 (SD 1.5 cross-attention key/value), the same head
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import time
from pathlib import Path

import torch

from hfprobe.device import describe, resolve_device
from hfprobe.experts.probes import TrainConfig
from hfprobe.experts.train import train_probe

CASES = {
    "vit-probex": dict(shape=(768, 768), head="multilabel", kind="probex", classes=100),
    "vit-dense": dict(shape=(768, 768), head="multilabel", kind="dense", classes=100),
    "sd-probex": dict(shape=(1280, 1280), head="text", kind="probex", classes=200),
    "sd-kv-probex": dict(shape=(1280, 768), head="text", kind="probex", classes=200),
}


def run_case(name: str, dev, n: int, epochs: int, profile: bool = False) -> dict:
    case = CASES[name]
    g = torch.Generator().manual_seed(0)
    d_H, d_W = case["shape"]
    n_val = max(8, n // 4)
    X = torch.randn(n + n_val, d_H, d_W, generator=g)
    if case["head"] == "multilabel":
        Y = (torch.rand(n + n_val, case["classes"], generator=g) > 0.5).float()
        text = None
    else:
        Y = torch.randint(case["classes"], (n + n_val,), generator=g)
        text = torch.nn.functional.normalize(torch.randn(case["classes"], 768, generator=g), dim=-1)
    # train_probe moves the layers to the device once per probe; do it here, before the clock starts, so the
    # figure is the training itself (a 5-epoch run is otherwise mostly this one copy); upload_s is its cost
    t0 = time.perf_counter()
    X, Y = X.to(dev), Y.to(dev)
    text = text.to(dev) if text is not None else None
    if dev.type == "cuda":
        torch.cuda.synchronize()
    upload = time.perf_counter() - t0
    cfg = TrainConfig(head=case["head"], kind=case["kind"], max_epochs=epochs, patience=epochs)
    args = (X[:n], Y[:n], X[n:], Y[n:], cfg)
    warm = TrainConfig.from_dict({**cfg.to_dict(), "max_epochs": 1, "patience": 1})
    train_probe(*args[:4], warm, text_emb=text, progress=False, device=dev)  # kernels, allocator, autocast caches
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0, c0 = time.perf_counter(), time.process_time()
    with _profiler(dev, profile) as prof:
        res = train_probe(*args, text_emb=text, progress=False, device=dev)
        if dev.type == "cuda":
            torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if prof is not None:  # where the time goes (the figures below then include the profiler's overhead)
        for key in ["self_cpu_time_total"] + (["self_device_time_total"] if dev.type == "cuda" else []):
            print(f"-- {name}, by {key}", flush=True)
            print(prof.key_averages().table(sort_by=key, row_limit=15), flush=True)
    out = {
        "case": name,
        "shape": [d_H, d_W],
        "head": case["head"],
        "kind": case["kind"],
        "params": res.params,
        "n_train": n,
        "n_val": n_val,
        "epochs": res.epochs,
        "seconds": round(wall, 3),
        "upload_s": round(upload, 3),
        "layers_gb": round(X.numel() * X.element_size() / 1e9, 3),
        "ms_per_model_epoch": round(1000 * wall / (res.epochs * (n + n_val)), 4),
        # CPU time of all threads: on a shared machine, wall time is an upper bound and this a lower one
        "cpu_ms_per_model_epoch": round(1000 * cpu / (res.epochs * (n + n_val)), 4),
    }
    if dev.type == "cuda":
        out["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
    return out


@contextlib.contextmanager
def _profiler(dev, on: bool):
    if not on:
        yield None
        return
    acts = [torch.profiler.ProfilerActivity.CPU]
    if dev.type == "cuda":
        acts.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=acts) as prof:
        yield prof


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch threads on the CPU (0: torch's default)")
    ap.add_argument("--models", type=int, default=256, help="training models per case (validation: a quarter)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--out")
    ap.add_argument("--profile", action="store_true", help="print torch.profiler's top operators for each case")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    rows = []
    for name in args.cases.split(","):
        row = run_case(name, dev, args.models, args.epochs, profile=args.profile)
        print(json.dumps(row), flush=True)
        rows.append(row)
    result = {
        "device": describe(dev),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "cases": rows,
    }
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""How much of a fine-tune's weight change is a linear function of what it was trained on?

For every multi-label tree of a zoo and each candidate layer: fit a ridge regression from the multi-hot label
to the flattened layer on the training models, and report R² on the test models (the share of the test
layers' variance around the training mean that the labels explain linearly; the best over a grid of ridge
strengths, so an upper bound of what a linear label model explains), both on the raw layers and after
scaling each model's change to unit RMS (which removes how far a fine-tune moved). A high R² means the
category signal is most of the change; a low one means it is a small component under label-independent
variation (seed, data sample, learning rate, schedule). This is the measurement behind the README's
"Why the targets are missed".

    python benchmarks/bench_linearity.py --zoo ~/.cache/hfprobe/zoos/<mini hash> --out linearity.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from hfprobe.experts.data import candidate_layers, load_tree
from hfprobe.zoo import open_zoo


def ridge_r2(Xtr: torch.Tensor, Ytr: torch.Tensor, Xte: torch.Tensor, Yte: torch.Tensor, lam: float = 1.0) -> float:
    """Test R² of X ≈ mean + (Y - mean_Y) W, W fitted by ridge on the training pairs."""
    mu, ym = Xtr.mean(0), Ytr.mean(0)
    A = Ytr - ym
    W = torch.linalg.solve(A.T @ A + lam * torch.eye(A.shape[1], dtype=A.dtype), A.T @ (Xtr - mu))
    resid = (Xte - mu) - (Yte - ym) @ W
    return 1.0 - resid.pow(2).sum().item() / (Xte - mu).pow(2).sum().item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", required=True)
    ap.add_argument("--max-layers", type=int, default=4)
    ap.add_argument("--lams", default="1,10,100,1000", help="ridge strengths to try (the best test R² is kept)")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    a = ap.parse_args()
    torch.set_num_threads(1)
    zoo = open_zoo(a.zoo)
    out: dict = {}
    for tree in sorted(zoo.trees()):
        layers = candidate_layers(zoo, tree, limit=a.max_layers)
        d = load_tree(zoo, tree, layers)
        if d.head != "multilabel":
            continue
        Y = {s: d.Y[s].double() for s in ("train", "test")}
        for name in layers:
            X = {s: d.X[name][s].flatten(1).double() for s in ("train", "test")}
            mu = X["train"].mean(0)
            unit = {s: (x - mu) / (x - mu).pow(2).mean(1, keepdim=True).sqrt() for s, x in X.items()}
            lams = [float(x) for x in a.lams.split(",")]
            row = {
                "r2": round(max(ridge_r2(X["train"], Y["train"], X["test"], Y["test"], lam) for lam in lams), 3),
                "r2_unit_rms": round(
                    max(ridge_r2(unit["train"], Y["train"], unit["test"], Y["test"], lam) for lam in lams), 3
                ),
            }
            out.setdefault(tree, {})[name] = row
            print(f"{tree:<18} {name:<48} R² {row['r2']:+.3f}   unit-RMS changes {row['r2_unit_rms']:+.3f}", flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""Calibrate the readout's "probability right" on validation LoRAs of a zoo (never its test LoRAs).

    .venv/bin/python benchmarks/calibrate_readout.py --zoo <zoo dir or preset> [--zoo ...] [--write]

The readout (hfprobe.experts.readout) ranks candidate labels by z-scores and abstains when its top label's margin
over the second does not pass a threshold. How often its top label is right depends on that margin relative to
the threshold (the threshold is itself set from a null of the same adapter where the candidate count differs
from the shipped one). This script runs the readout with its shipped settings on the `val` and `val_holdout`
LoRAs of every generative tree of a zoo, over several candidate lists per LoRA (every category of the tree, the
held-out categories, and random lists of 3, 10 and 30 that contain the truth), and fits a logistic regression of
"top label right" on a feature of the margin; the feature is chosen by 5-fold cross-validated NLL:

    "margin"          p = sigmoid(a * margin + b)
    "excess"          p = sigmoid(a * (margin - threshold) + b)
    "excess+log_n"    p = sigmoid(a * (margin - threshold) + c * log(n candidates) + b)

The fit is conditional: the chance the top label is right for a LoRA trained on a caption naming one of the
candidates. Whether a LoRA has anything to read is what the abstain threshold tests, not this probability: with
`--nulls` each LoRA also gets a twin whose deltas are rank-matched random ones (a trigger-word LoRA's case), and
the two kinds' margins overlap so much below the threshold that no fit on the margin serves both (measured on the
demo zoo: fitted on both, real LoRAs got 0.63 for a top-1 of 0.93, their random twins 0.45 for 0.14).
It prints the fit, its validation ECE (15 bins) and Brier before (the top z-score's softmax share) and after, and
with --write stores it under "probability" in hfprobe/data/readout.json (settings and threshold are untouched).
The bench measures the same on TEST LoRAs (`hfprobe bench`, `trees.<tree>.readout.calibration`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from hfprobe.experts import readout as ro
from hfprobe.experts import readout_features as rf
from hfprobe.experts.calibrate import ece
from hfprobe.text.states import TextStates, provider_for

SPLITS = ("val", "val_holdout")
SIZES = (3, 10, 30)
FEATURES = ("margin", "excess", "excess+log_n")


def subset_states(ts: TextStates, labels: list[str]) -> TextStates:
    """TextStates for a sub-list of ts.labels (no re-encoding)."""
    idx = [ts.labels.index(lab) for lab in labels]
    return TextStates(ts.encoder, ts.template, labels, [ts.states[i] for i in idx], [ts.label_mask[i] for i in idx])


def collect(zoo_path: str, *, splits=SPLITS, sizes=SIZES, seed: int = 0, nulls: bool = False) -> list[dict]:
    """One row per (LoRA, candidate list): margin, threshold, n, right, top share (softmax of the z-scores)."""
    from hfprobe.formats import open_weights
    from hfprobe.zoo import build_zoo, open_zoo

    if any(s.startswith("test") for s in splits):
        raise SystemExit("calibrate on validation LoRAs only; test LoRAs are for the bench")
    path = Path(zoo_path) if Path(zoo_path).is_dir() else build_zoo(zoo_path, progress=False)
    zoo = open_zoo(path)
    g = torch.Generator().manual_seed(seed)
    rows = []
    for tree, models in sorted(zoo.trees().items()):
        first = models[0]
        with open_weights(first.spec, filename=first.filename) as view:
            widths = ro.cross_attention_widths(view)
        if len(widths) != 1:
            continue  # not a text-conditioned LoRA tree
        cats = sorted({lab for m in models for lab in m.labels or []})
        held = sorted({lab for m in models if m.split.endswith("holdout") for lab in m.labels or []})
        ts_all = provider_for(widths.pop()).states(cats)
        for m in models:
            if m.split not in splits or not m.labels:
                continue
            truth = m.labels[0]
            lists = [("all", cats)]
            if m.split.endswith("holdout") and len(held) >= ro.MIN_LABELS:
                lists.append(("held", held))
            others = [c for c in cats if c != truth]
            for k in sizes:
                if k <= len(cats):
                    pick = [others[int(i)] for i in torch.randperm(len(others), generator=g)[: k - 1]]
                    lists.append((f"random{k}", sorted(pick + [truth])))
            with open_weights(m.spec, filename=m.filename) as view:
                deltas, _ = ro.deltas_of(view)
            # the same LoRA's deltas replaced by rank-matched random ones: an adapter with nothing to read (a
            # trigger-word LoRA), whose top label is right by chance; its probability must say so
            adapters = [(m.id, deltas, False)]
            if nulls:
                rank = int(np.linalg.matrix_rank(rf.dense(next(iter(deltas.values())))))
                adapters.append((m.id, ro.random_deltas(deltas, rank, seed=len(rows)), True))
            # every null draw taken, so that an abstaining row's threshold is the full one ("excess" features)
            every_draw = dataclasses.replace(ro.default_config(), stop_early=False)
            for mid, d, null in adapters:
                for kind, labels in lists:
                    out = ro.readout_predict(
                        d, labels, text_states=subset_states(ts_all, labels), top_k=len(labels), config=every_draw
                    )
                    z = torch.tensor([p["score"] for p in out["predictions"]], dtype=torch.float64)
                    rows.append(
                        {
                            "tree": tree,
                            "id": mid,
                            "split": m.split,
                            "list": kind,
                            "null": null,
                            "n": len(labels),
                            "margin": out["margin"],
                            "threshold": out["threshold"],
                            "abstained": out["abstained"],
                            "right": out["predictions"][0]["label"] == truth,
                            "top_share": float(torch.softmax(z, 0)[0]),
                        }
                    )
    return rows


def features(rows: list[dict], kind: str) -> torch.Tensor:
    cols = []
    for r in rows:
        if kind == "margin":
            cols.append([r["margin"]])
        elif kind == "excess":
            cols.append([r["margin"] - r["threshold"]])
        else:
            cols.append([r["margin"] - r["threshold"], math.log(r["n"])])
    return torch.tensor(cols, dtype=torch.float64)


def fit_logistic(X: torch.Tensor, y: torch.Tensor, ridge: float = 1.0) -> torch.Tensor:
    """Weights [w..., bias] of a ridge-penalised logistic regression (Newton's method)."""
    A = torch.cat([X, torch.ones(len(X), 1, dtype=torch.float64)], 1)
    w = torch.zeros(A.shape[1], dtype=torch.float64)
    for _ in range(100):
        p = torch.sigmoid(A @ w)
        grad = A.T @ (p - y) + ridge * torch.cat([w[:-1], torch.zeros(1, dtype=torch.float64)])
        H = A.T @ (A * (p * (1 - p))[:, None]) + ridge * torch.eye(len(w), dtype=torch.float64)
        step = torch.linalg.solve(H, grad)
        w = w - step
        if float(step.abs().max()) < 1e-10:
            break
    return w


def _nll(w, X, y) -> float:
    A = torch.cat([X, torch.ones(len(X), 1, dtype=torch.float64)], 1)
    p = torch.sigmoid(A @ w).clamp(1e-12, 1 - 1e-12)
    return float(-(y * p.log() + (1 - y) * (1 - p).log()).mean())


def choose(rows: list[dict], folds: int = 5, seed: int = 0) -> dict:
    """The feature with the lowest cross-validated NLL (folds by LoRA, so one LoRA's lists stay together)."""
    y = torch.tensor([float(r["right"]) for r in rows], dtype=torch.float64)
    ids = sorted({r["id"] for r in rows})
    order = torch.randperm(len(ids), generator=torch.Generator().manual_seed(seed)).tolist()
    fold_of = {ids[j]: i % folds for i, j in enumerate(order)}
    fold = torch.tensor([fold_of[r["id"]] for r in rows])
    cv = {}
    for kind in FEATURES:
        X = features(rows, kind)
        total = 0.0
        for k in range(folds):
            tr, te = fold != k, fold == k
            total += _nll(fit_logistic(X[tr], y[tr]), X[te], y[te]) * int(te.sum())
        cv[kind] = round(total / len(rows), 5)
    best = min(FEATURES, key=lambda k: (cv[k], FEATURES.index(k)))
    w = fit_logistic(features(rows, best), y)
    return {"feature": best, "weights": [round(float(v), 6) for v in w], "cv_nll": cv}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--zoo", required=True, action="append", help="a built zoo folder or a preset name (repeat for several zoos)"
    )
    ap.add_argument("--out", help="also write the rows and the fit here (JSON)")
    ap.add_argument("--nulls", action="store_true", help="add a random-delta twin of each LoRA (see above)")
    ap.add_argument("--write", action="store_true", help="store the fit in hfprobe/data/readout.json")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = [r for z in args.zoo for r in collect(z, nulls=args.nulls)]
    if args.nulls and args.write:
        raise SystemExit("--nulls is for looking; the shipped fit is on trained LoRAs only (see above)")
    if len({r["right"] for r in rows}) < 2:
        raise SystemExit(
            f"{len(rows)} validation rows, all {'right' if rows and rows[0]['right'] else 'wrong'}: nothing to fit"
        )
    fit = choose(rows)
    cal = {
        "feature": fit["feature"],
        "weights": fit["weights"],
        "cv_nll": fit["cv_nll"],
        "n": len(rows),
        "loras": len({r["id"] for r in rows}),
        "candidate_lists": sorted({r["list"] for r in rows}),
        "splits": sorted({r["split"] for r in rows}),
        "source": f"logistic fit of top-1 right on {fit['feature']}, {len({r['id'] for r in rows})} val/val_holdout "
        f"LoRAs x candidate lists ({len(rows)} rows) of zoo(s) {', '.join(Path(z).name for z in args.zoo)}; "
        "benchmarks/calibrate_readout.py",
    }
    p_after = torch.tensor([ro.probability_right(r["margin"], r["threshold"], r["n"], cal) for r in rows])
    p_before = torch.tensor([r["top_share"] for r in rows])
    y = torch.tensor([float(r["right"]) for r in rows])
    report = {
        "validation_top1": round(float(y.mean()), 4),
        "ece_before": ece(p_before, y),
        "ece_after": ece(p_after, y),
        "brier_before": round(float((p_before - y).pow(2).mean()), 6),
        "brier_after": round(float((p_after - y).pow(2).mean()), 6),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    for tag, keep in (("trained", False), ("null", True)):  # the zoo's LoRAs, and their random-delta twins
        sel = torch.tensor([r.get("null", False) == keep for r in rows])
        if sel.any():
            report[tag] = {
                "rows": int(sel.sum()),
                "top1": round(float(y[sel].mean()), 4),
                "mean_probability": round(float(p_after[sel].mean()), 4),
                "ece_after": ece(p_after[sel], y[sel]),
            }
    print(json.dumps({"fit": cal, "validation": report}, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps({"fit": cal, "validation": report, "rows": rows}, indent=1))
    if args.write:
        target = Path(str(resources.files("hfprobe").joinpath("data/readout.json")))
        data = json.loads(target.read_text(encoding="utf-8"))
        data["probability"] = {**cal, "validation": report}
        target.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()

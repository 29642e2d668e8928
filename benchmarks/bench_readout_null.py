"""Benchmark (not a test): how often an adapter with nothing to read passes the readout's own threshold.

    .venv/bin/python benchmarks/bench_readout_null.py --zoo demo [--draws 400] [--loras 24] [--out result.json]

Where the candidate list is not the one the shipped threshold was calibrated at, `readout_predict` sets the
threshold from the adapter's own shuffled-column null (hfprobe.experts.readout.adapter_threshold): the margins of
the same deltas with their input columns shuffled, which keep the spectra and lose any alignment with the text
space. This script draws many such null margins for each text-to-image LoRA of a zoo and each candidate count, and
for each rule reports over groups of the draws a rule would use: the threshold's mean, its spread within one
adapter, and the false-answer rate (how often the adapter's other null draws pass it; the promise is 5%). Rules:

    q95 of 8       the empirical 0.95 quantile of 8 draws (the rule before `adapter_threshold`)
    max of 19      the largest of 19 draws (distribution-free: a 20th passes it 1 time in 20)
    c x mean of 8  c = 8 (0.05^(-1/8) - 1) = 3.63 times their mean (exact if the margins are exponential)
    c x mean of 32 the same from 32 draws (c = 3.17): what more draws would buy

and, on the zoo's real LoRAs over every category of their tree plus the default vocabulary (what `predict` gives an
SD LoRA), how many answer (margin over the threshold that `readout_predict` computes) and how many of those are right,
and per rule how many would answer, expected over the groups of null draws.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np

from hfprobe.experts import readout as ro

RULES = {
    "q95 of 8": (8, lambda g: float(np.quantile(g, 0.95))),
    "max of 19": (19, lambda g: float(np.max(g))),
    "c x mean of 8": (8, lambda g: _c(8) * float(np.mean(g))),
    "c x mean of 32": (32, lambda g: _c(32) * float(np.mean(g))),
}


def _c(n: int) -> float:
    return n * (ro.FALSE_ANSWER_RATE ** (-1 / n) - 1)


def rule_figures(null: np.ndarray, margins: list[float] | None = None) -> dict:
    """null: [adapters, draws] -> per rule: threshold mean, its spread within an adapter, false-answer rate; with
    the adapters' real `margins`, how many of them answer, expected over the groups of draws."""
    out = {}
    for name, (n, rule) in RULES.items():
        thresholds, spreads, passed, answers = [], [], [], []
        for a, draws in enumerate(null):
            groups = [draws[i : i + n] for i in range(0, len(draws) - n + 1, n)]
            ts = [rule(g) for g in groups]
            thresholds += ts
            spreads.append(float(np.std(ts)))
            passed += [float(np.mean(np.delete(draws, range(i * n, i * n + n)) > t)) for i, t in enumerate(ts)]
            if margins is not None:
                answers.append(float(np.mean([margins[a] >= t for t in ts])))
        out[name] = {
            "threshold": round(float(np.mean(thresholds)), 3),
            "spread_within_adapter": round(float(np.mean(spreads)), 3),
            "false_answer_rate": round(float(np.mean(passed)), 4),
        }
        if answers:
            out[name]["expected_answers"] = round(float(np.sum(answers)), 1)
    return out


def main() -> None:
    from hfprobe.formats import open_weights
    from hfprobe.text.vocab import default_vocabulary
    from hfprobe.zoo import build_zoo, open_zoo

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo", default="demo", help="a built zoo folder or a preset name (default: demo)")
    ap.add_argument("--draws", type=int, default=400, help="null draws per adapter and candidate count")
    ap.add_argument("--loras", type=int, default=24, help="LoRAs per tree, at most")
    ap.add_argument("--sizes", default="8,60,200,all", help="candidate counts ('all': the tree's + the vocabulary)")
    ap.add_argument("--out", help="also write the figures here (JSON)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    path = Path(args.zoo) if Path(args.zoo).is_dir() else build_zoo(args.zoo, progress=False)
    zoo = open_zoo(path)
    vocab = default_vocabulary()
    cfg = ro.default_config()
    report = {"zoo": path.name, "draws": args.draws, "trees": {}}
    for tree, models in sorted(zoo.trees().items()):
        with open_weights(models[0].spec, filename=models[0].filename) as view:
            if len(ro.cross_attention_widths(view)) != 1:
                continue  # not a text-conditioned LoRA tree
            provider, why = ro.text_reader(view)
        if why:
            print(f"{tree}: {why}")
            continue
        models = [m for m in models if m.labels][: args.loras]
        cats = sorted({lab for m in models for lab in m.labels})
        rng = np.random.default_rng(0)
        rows = {}
        for size in args.sizes.split(","):
            full = sorted(set(vocab) | set(cats))
            if size == "all":
                labels = full
            else:
                labels = sorted(rng.choice(full, size=int(size), replace=False).tolist())
            ts = provider.states(labels)
            null, answers = [], []
            for m in models:
                with open_weights(m.spec, filename=m.filename) as view:
                    deltas, ranks = ro.deltas_of(view)
                    null.append(ro.null_margins(deltas, ts, cfg, n=args.draws, seed=1, ranks=ranks))
                    if size == "all":  # as `predict` reads it, against the rule before (its first 8 draws, seed 0)
                        out = ro.readout_predict(view, labels, text_states=ts)
                        old = float(np.quantile(ro.null_margins(deltas, ts, cfg, n=8, ranks=ranks), 0.95))
                        right = out["predictions"][0]["label"] == m.labels[0]
                        stopped = re.search(r"(\d+) of the \d+ draws already", out["threshold_source"])
                        taken = int(stopped[1]) if stopped else cfg.null_draws  # drawing stops once it abstains
                        answers.append((right, not out["abstained"], out["margin"] >= old, out["margin"], taken))
            margins = [a[3] for a in answers] or None
            row = {"candidates": len(labels), "adapters": len(models), **rule_figures(np.array(null), margins)}
            if answers:
                right, new, old, _, taken = (np.array(x) for x in zip(*answers))
                row["real_loras"] = {
                    "top1": round(float(right.mean()), 3),
                    "answered_now": f"{int(new.sum())}/{len(new)}, {int((right & new).sum())} right",
                    "answered_by_q95_of_8": f"{int(old.sum())}/{len(old)}, {int((right & old).sum())} right",
                    "null_draws_taken_when_abstaining": round(float(taken[~new].mean()), 2) if (~new).any() else None,
                }
            rows[str(len(labels))] = row
            print(json.dumps({"tree": tree, **row}), flush=True)
        report["trees"][tree] = rows
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"{report['seconds']} s")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

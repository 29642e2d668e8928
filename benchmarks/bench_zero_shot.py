"""Zero-shot on a zoo's text-aligned tree over several seeds: ProbeX's cosine head against the bilinear probe.

Also the expert-free readout restricted to one cross-attention module at a time (which layers hold the caption).

`hfprobe bench` runs one seed; zero-shot is measured on few models (40 LoRAs on `mini`), and a seed moves
it by more than the difference between methods, so this runs the bench's own procedure (the same candidate
layers, sweep and selection on mean(val, zero-shot val)) for each seed and reports every figure and the mean.

    python benchmarks/bench_zero_shot.py --zoo ~/.cache/hfprobe/zoos/<mini hash> --seeds 0,1,2 --out zs.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from hfprobe.experts.data import (
    candidate_layers,
    holdout_targets,
    load_tree,
)
from hfprobe.experts.fit import fit_expert
from hfprobe.experts.probes import TrainConfig
from hfprobe.text.encoders import get_text_encoder
from hfprobe.zoo import open_zoo


def readout_per_module(zoo, tree: str, held: list[str]) -> dict:
    """Zero-shot top-1 of the training-free readout (hfprobe.experts.readout) from ONE cross-attention module at a
    time, on the same test_holdout LoRAs and candidates: where in the UNet the caption can be read."""
    from hfprobe.experts.readout import deltas_of, score_labels
    from hfprobe.experts.readout_features import dense
    from hfprobe.formats import open_weights
    from hfprobe.text.states import provider_for

    tests = [m for m in zoo.models if m.tree == tree and m.split == "test_holdout"]
    hits: dict[str, list[bool]] = {}
    states = None
    for m in tests:
        with open_weights(m.spec, filename=m.filename) as view:
            deltas, ranks = deltas_of(view)
        if states is None:
            states = provider_for(dense(next(iter(deltas.values()))).shape[1]).states(held)
        for name, dw in deltas.items():
            top = held[int(score_labels({name: dw}, states, ranks=ranks).argmax())]
            hits.setdefault(name, []).append(top == m.labels[0])
    return {name: round(sum(h) / len(h), 4) for name, h in hits.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", required=True)
    ap.add_argument("--tree", help="a text-aligned tree (default: the first one)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--kinds", default="probex,bilinear", help="probes to train ('' for the readout figures only)")
    ap.add_argument("--max-layers", type=int, default=4)
    ap.add_argument(
        "--layer-filter",
        help="instead of the bench's candidates: every 2-D layer whose name contains this, "
        "e.g. attn2.to_v (the cross-attention value layers)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    zoo = open_zoo(args.zoo)
    trees = [args.tree] if args.tree else sorted(zoo.trees())
    enc = get_text_encoder("minilm")
    for tree in trees:
        layers = candidate_layers(zoo, tree, limit=args.max_layers)
        if args.layer_filter:
            layers = [n for n in candidate_layers(zoo, tree, limit=10_000) if args.layer_filter in n]
        d = load_tree(zoo, tree, layers, progress=False)
        if d.head == "text" and "test_holdout" in d.Y:
            break
    else:
        sys.exit(f"{args.zoo}: no text-aligned tree with held-out categories")
    _, _, held = holdout_targets(d, "test_holdout", enc)
    rows = []
    kinds = [k for k in args.kinds.split(",") if k]
    for kind in kinds:
        for seed in (int(s) for s in args.seeds.split(",")):
            t0 = time.perf_counter()
            # the sweep and selection `hfprobe train` and `hfprobe bench` use, on these candidate layers
            expert = fit_expert(
                d, TrainConfig(head="text", kind=kind, seed=seed), {kind: layers}, text_encoder=enc, progress=False
            )
            m = expert.config["metrics"]
            row = {
                "kind": kind,
                "seed": seed,
                "layer": expert.layer,
                "zero_shot_test": m["zero_shot_test"],
                "zero_shot_val": m["zero_shot_val"],
                "in_dist_test": m["test"],
                "in_dist_val": m["val"],
                "layer_seconds": m["train_seconds"],
                "sweep_seconds": round(time.perf_counter() - t0, 1),
                "layer_scores": {n: round(v, 4) for n, v in m["layer_sweep"].items()},
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    readout = readout_per_module(zoo, d.tree, held)
    print(json.dumps({"readout_per_module": readout}), flush=True)
    summary = {}
    for kind in kinds:
        mine = [r for r in rows if r["kind"] == kind]
        summary[kind] = {
            k: round(sum(r[k] for r in mine) / len(mine), 4)
            for k in ("zero_shot_test", "zero_shot_val", "in_dist_test")
        }
    result = {
        "zoo": args.zoo,
        "tree": d.tree,
        "chance": 1.0 / len(held),
        "n_zero_shot_models": len(d.Y["test_holdout"]),
        "layers": layers,
        "runs": rows,
        "mean": summary,
        "readout_per_module": readout,
    }
    print(json.dumps(result["mean"], indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

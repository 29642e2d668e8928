"""Several `hfprobe bench` runs side by side: each method's figure per run, its mean, and the target margins.

One bench run is one seed, and the `mini` trees test on 30 models (300 labels) each: a point is three labels,
so a seed can move a figure by as much as methods differ. Run the bench once per seed, on the same zoo and
settings, then summarise:

    for s in 0 1 2; do hfprobe bench --zoo <mini> --out bench_seed$s.json --max-layers 4 --threads 2 --seed $s; done
    python benchmarks/bench_seeds.py bench_seed0.json bench_seed1.json bench_seed2.json [--out seeds.json]

The seed moves the probes' initialisation and batch order (and StatNN's boosting); the zoo and its splits
stay fixed, so this is training noise, not the noise of which models were drawn for test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

METHODS = ("probex", "probex_gram", "mixed", "dense", "statnn", "bilinear")
# The targets on multi-label trees, as ProbeX's lead over another method on the same tree, in points:
# at least 10 over dense, at least 20 over StatNN, more than 0 over the one mixed model.
MARGINS = {"dense": (10.0, False), "statnn": (20.0, False), "mixed": (0.0, True)}


def load_runs(paths: list[str]) -> list[dict]:
    """The runs, checked to differ in nothing but the seed (same zoo, candidate layers and training settings)."""
    runs = []
    for p in paths:
        try:
            run = json.loads(Path(p).read_text())
        except (OSError, ValueError) as e:
            raise ValueError(f"{p}: cannot read it as JSON ({e})") from None
        missing = {"config", "trees", "zero_shot", "routing"} - set(run if isinstance(run, dict) else ())
        if missing:
            raise ValueError(f"{p}: not an `hfprobe bench --out` file (no {', '.join(sorted(missing))})")
        runs.append(run)

    def setting(r: dict) -> str:
        cfg = {k: v for k, v in r["config"].items() if k != "seed"}
        return json.dumps(
            {"zoo": r.get("zoo_hash"), "trees": sorted(r["trees"]), "max_layers": r.get("max_layers"), "config": cfg},
            sort_keys=True,
        )

    for p, r in zip(paths[1:], runs[1:]):
        if setting(r) != setting(runs[0]):
            raise ValueError(
                f"{p} was run on another zoo or with other settings than {paths[0]} "
                "(zoo, --trees, --max-layers, training); summarise runs that differ only in --seed"
            )
    return runs


def summarise(runs: list[dict]) -> dict:
    """{tree: {method: {"runs": [...], "mean": m, "min": a, "max": b}, "margins": {other: {...}}}, "zero_shot": ...}"""
    out: dict = {"seeds": [r["config"]["seed"] for r in runs], "trees": {}}
    for tree in runs[0]["trees"]:
        rows = [r["trees"][tree] for r in runs]
        cell: dict = {"metric": rows[0]["metric"], "layers": [row["layer"] for row in rows], "margins": {}}
        for m in METHODS:
            vals = [row.get(m) for row in rows]
            if all(v is not None for v in vals):
                cell[m] = _stats(vals)
        for other, (need, strict) in MARGINS.items():
            if other in cell and rows[0]["head"] == "multilabel":
                diffs = [round(100 * (row["probex"] - row[other]), 2) for row in rows]  # 0.01 point: below one label
                met = sum(d > need if strict else d >= need for d in diffs)
                cell["margins"][other] = {
                    **_stats(diffs),
                    "target": need,
                    "strict": strict,
                    "runs_met": met,
                    "met_every_run": met == len(diffs),
                }
        out["trees"][tree] = cell
    zs = [r["zero_shot"] for r in runs]
    out["zero_shot"] = {
        "chance": zs[0]["chance"],
        "probex": _stats([z["top1"] for z in zs]),
        "bilinear": _stats([z["bilinear_top1"] for z in zs if z.get("bilinear_top1") is not None]),
    }
    out["routing"] = _stats([r["routing"]["accuracy"] for r in runs])
    return out


def _stats(vals: list[float]) -> dict:
    if not vals:
        return {}
    return {
        "runs": [round(v, 4) for v in vals],
        "mean": round(statistics.fmean(vals), 4),
        "min": round(min(vals), 4),
        "max": round(max(vals), 4),
    }


def report(s: dict) -> str:
    lines = [f"seeds {s['seeds']}", f"{'tree':<17}{'method':<13}{'runs':<28}mean"]
    for tree, cell in s["trees"].items():
        for m in METHODS:
            if m in cell:
                lines.append(
                    f"{tree:<17}{m:<13}{' '.join(f'{v:.3f}' for v in cell[m]['runs']):<28}{cell[m]['mean']:.3f}"
                )
        for other, d in cell["margins"].items():
            runs = " ".join(f"{v:+.1f}" for v in d["runs"])
            verdict = f"met in {d['runs_met']} of {len(d['runs'])} runs"
            target = f"{'>' if d['strict'] else '>='} {d['target']:+.0f}"
            lines.append(f"{tree:<17}{'- ' + other:<13}{runs:<28}{d['mean']:+.1f} (target {target}: {verdict})")
    z = s["zero_shot"]
    lines.append(
        f"zero-shot top-1: ProbeX {z['probex']['mean']:.3f} {z['probex']['runs']}, bilinear "
        f"{z['bilinear'].get('mean', float('nan')):.3f} {z['bilinear'].get('runs', [])}, chance {z['chance']:.3f}"
    )
    lines.append(f"routing: {s['routing']['runs']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="bench JSON files, one per seed")
    ap.add_argument("--out", help="also write the summary as JSON")
    a = ap.parse_args(argv)
    try:
        s = summarise(load_runs(a.runs))
    except ValueError as e:  # unreadable, not a bench run, or runs that differ in more than the seed
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report(s))
    if a.out:
        Path(a.out).write_text(json.dumps(s, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

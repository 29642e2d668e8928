"""Benchmark: a cold `hfprobe predict` with an expert, numpy path against torch path (not a test).

    .venv/bin/python benchmarks/bench_predict.py [--demo DIR] [--runs 7] [--out result.json]

Uses what `hfprobe demo` left (its `demo.json`: the zoo and the experts it trained; default: the hfprobe cache's
`demo/`; run `hfprobe demo` first). For each expert's tree, one of its held-out test models is predicted by a fresh
interpreter, `--runs` times, alternating: the CLI as it is (the expert in numpy, hfprobe.experts.infer; no torch)
and the same CLI with that path switched off (the expert's torch module, torch imported), and `import torch`
alone beside them. Reports the median wall time of each, their answers' agreement (labels and probabilities),
and whether torch was loaded. The machine is shared: medians of alternating runs, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUN = """
import contextlib, io, json, sys
{switch}
from hfprobe.cli import main
with contextlib.redirect_stdout(io.StringIO()) as buf:
    rc = main(["predict", sys.argv[1], "--experts", sys.argv[2], "--json"])
out = json.loads(buf.getvalue())
print(json.dumps({{"rc": rc, "torch": "torch" in sys.modules, "method": out["method"],
                  "answer": [(p["label"], p["probability"]) for p in out["predictions"]]}}))
"""
NUMPY = RUN.format(switch="")
TORCH = RUN.format(switch="from hfprobe.experts import infer; infer.runs_here = lambda *a, **k: False")


def _timed(code: str, *args: str) -> tuple[float, dict | None]:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t
    return seconds, json.loads(proc.stdout) if proc.stdout.strip() else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cache = Path(os.environ.get("HFPROBE_CACHE", Path.home() / ".cache" / "hfprobe"))
    ap.add_argument("--demo", type=Path, default=cache / "demo", help="the folder holding demo.json")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if not (args.demo / "demo.json").is_file():
        sys.exit(f"{args.demo}/demo.json not found: run `hfprobe demo` first (or give --demo DIR)")
    demo = json.loads((args.demo / "demo.json").read_text())
    zoo, experts = Path(demo["zoo"]["path"]), Path(demo["experts"]["path"])
    rows = [json.loads(line) for line in (zoo / "manifest.jsonl").read_text().splitlines()]
    results = []
    for tree_dir in sorted(p for p in experts.iterdir() if (p / "expert.json").is_file()):
        model = next(r for r in rows if r["tree"] == tree_dir.name and r.get("split") == "test")
        spec = str(zoo / model["path"])
        times: dict[str, list[float]] = {"numpy": [], "torch": [], "import torch": []}
        answers = {}
        for _ in range(args.runs):
            for name, code in (("numpy", NUMPY), ("torch", TORCH)):
                seconds, answers[name] = _timed(code, spec, str(experts))
                times[name].append(seconds)
            times["import torch"].append(_timed("import torch")[0])
        row = {
            "tree": tree_dir.name,
            "model": spec,
            **{f"{k} median s": round(statistics.median(v), 3) for k, v in times.items()},
            "same answer": answers["numpy"]["answer"] == answers["torch"]["answer"],
            "numpy path loaded torch": answers["numpy"]["torch"],
            "method": answers["numpy"]["method"],
        }
        results.append(row)
        print(json.dumps(row))
    out = {"load average": os.getloadavg(), "runs": args.runs, "trees": results}
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()

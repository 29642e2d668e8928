"""benchmarks/bench_seeds.py: several bench runs (one per seed) summarised, the targets checked in every run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "bench_seeds", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_seeds.py"
)
bench_seeds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_seeds)


def _run(seed: int, probex: float, dense: float, mixed: float, *, max_layers: int = 4) -> dict:
    ml = {
        "metric": "elementwise_accuracy",
        "head": "multilabel",
        "layer": f"l{seed}",
        "probex": probex,
        "probex_gram": probex,
        "mixed": mixed,
        "dense": dense,
        "statnn": 0.6,
    }
    text = {
        "metric": "top1",
        "head": "text",
        "layer": "t",
        "probex": 0.9,
        "probex_gram": 0.9,
        "mixed": None,
        "dense": 0.95,
        "statnn": 0.05,
        "bilinear": 1.0,
    }
    return {
        "config": {"seed": seed, "r_U": 128},
        "zoo_hash": "abc",
        "max_layers": max_layers,
        "trees": {"a": ml, "g": text},
        "zero_shot": {"top1": 0.1 * (seed + 1), "chance": 0.05, "bilinear_top1": 0.8},
        "routing": {"accuracy": 1.0},
    }


def _write(tmp_path, runs) -> list[str]:
    paths = []
    for i, r in enumerate(runs):
        p = tmp_path / f"b{i}.json"
        p.write_text(json.dumps(r))
        paths.append(str(p))
    return paths


def test_means_ranges_and_margins_over_runs(tmp_path, capsys):
    paths = _write(tmp_path, [_run(0, 0.90, 0.80, 0.89), _run(1, 0.86, 0.80, 0.86), _run(2, 0.94, 0.80, 0.90)])
    s = bench_seeds.summarise(bench_seeds.load_runs(paths))
    a = s["trees"]["a"]
    assert s["seeds"] == [0, 1, 2] and a["probex"]["mean"] == pytest.approx(0.9) and a["probex"]["min"] == 0.86
    assert a["margins"]["dense"]["runs"] == [10.0, 6.0, 14.0] and not a["margins"]["dense"]["met_every_run"]
    assert a["margins"]["statnn"]["met_every_run"]  # 26, 30, 34 >= 20
    assert a["margins"]["mixed"]["runs"] == [1.0, 0.0, 4.0] and a["margins"]["mixed"]["runs_met"] == 2
    assert not a["margins"]["mixed"]["met_every_run"]  # beating the mixed model means more than level
    assert s["trees"]["g"]["margins"] == {} and s["trees"]["g"]["bilinear"]["mean"] == 1.0  # targets are multi-label
    assert s["zero_shot"]["probex"]["runs"] == [0.1, 0.2, 0.3]
    assert bench_seeds.main([*paths, "--out", str(tmp_path / "s.json")]) == 0
    assert "target >= +10: met in 2 of 3 runs" in capsys.readouterr().out
    assert json.loads((tmp_path / "s.json").read_text())["trees"]["a"]["dense"]["mean"] == 0.8


def test_runs_that_differ_in_more_than_the_seed_are_refused(tmp_path, capsys):
    paths = _write(tmp_path, [_run(0, 0.9, 0.8, 0.8), _run(1, 0.9, 0.8, 0.8, max_layers=0)])
    assert bench_seeds.main(paths + ["--out", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert "b1.json was run on another zoo or with other settings" in err and err.count("\n") == 1
    assert not (tmp_path / "s.json").exists()
    (tmp_path / "x.json").write_text("{}")
    assert bench_seeds.main([str(tmp_path / "x.json")]) == 2
    assert "x.json: not an `hfprobe bench --out` file" in capsys.readouterr().err

"""The benchmark: ProbeX tree experts against the baselines on a zoo's splits, in one run
(`hfprobe bench`). run.py runs it and plots it; baselines.py holds the baselines and the routing checks;
calibration.py the calibration rows (ECE, Brier, reliability).

May import: every stage below it (source to experts) and hfprobe.zoo.

    >>> from hfprobe.bench import run_bench
    >>> result = run_bench("zoo-dir", "bench.json")          # doctest: +SKIP
"""

from .run import run_bench

__all__ = ["run_bench"]

"""The readers under fuzzing: thousands of mutants of synthetic files of every format (hfprobe.formats.fuzz) through
inspect_source, open_weights and view.layer(). Every case ends in a report or one of hfprobe's typed errors (with a
one-line, bounded message), none takes 5 s, and memory stays bounded. `benchmarks/fuzz.py` runs any number of
them with a per-case timeout; a failing case here is replayed with `benchmarks/fuzz.py --seed S --replay I`.
"""

from __future__ import annotations

import collections
import resource
import shutil

import pytest
import torch

from hfprobe.formats.fuzz import exercise, write_case
from hfprobe.formats.fuzz.mutate import mutant
from hfprobe.formats.fuzz.seeds import SEEDS, seed_files
from hfprobe.tree.inspect import inspect_source

torch.set_num_threads(1)
CASES = 2000
SEED = 20251201


@pytest.mark.parametrize("name", list(SEEDS))
def test_every_seed_reads_cleanly(name, tmp_path):
    folder = write_case(seed_files(name), tmp_path)
    outcome, detail, _ = exercise(folder, inspect_source)
    assert outcome == "ok", (name, detail)


def test_mutants_end_in_a_report_or_a_typed_error(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # cases are local folders: nothing may go out
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes: collections.Counter = collections.Counter()
    bugs, slow = [], []
    for i in range(CASES):
        files, what = mutant(SEED, i)
        folder = write_case(files, tmp_path / str(i))
        outcome, detail, seconds = exercise(folder, inspect_source)
        shutil.rmtree(folder)
        outcomes[outcome] += 1
        if outcome != "ok" and outcome != "typed":
            bugs.append((i, what, detail))
        if seconds > 5:
            slow.append((i, what, round(seconds, 1)))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"\nfuzz: {CASES} mutants, {dict(outcomes)}, peak memory grew {grown_mb:.0f} MB")
    assert not bugs, f"{len(bugs)} untyped, e.g. {bugs[:3]} (replay: benchmarks/fuzz.py --seed {SEED} --replay I)"
    assert not slow, slow
    assert grown_mb < 1024, grown_mb
    # the mutants are not all refused at the door: many still parse, and most parse far enough to be refused late
    assert outcomes["ok"] > CASES // 20 and outcomes["typed"] > CASES // 2, outcomes


def test_the_mutator_survives_offsets_an_earlier_mutation_made_huge():
    """Case 47953 of seed 0 (with the seed files of that time) set data_offsets to a 400-digit int, then mutated them
    again: `float(b)` overflowed in the mutator itself, the worker died and the run reported a 5 s timeout of
    hfprobe's. The field mutation is run here on such offsets until it has taken each of its branches."""
    import json
    import random

    from hfprobe.formats.fuzz.mutate import m_fields
    from hfprobe.formats.fuzz.seeds import pack

    header = json.dumps({"t": {"dtype": "F32", "shape": [1], "data_offsets": [10**400, 10**400 + 4]}})
    results = set()
    for k in range(600):
        files = {"x.safetensors": pack(header.encode(), b"\0" * 8)}
        results.add(m_fields(random.Random(k), files))
        assert files["x.safetensors"]
    assert "field-data_offsets:x.safetensors" in results


def test_a_case_is_the_same_file_in_every_process():
    """`--replay I` must rebuild the very file case I was: the LyCORIS seed once listed its alphas from a set of
    names, whose order follows Python's per-process string hashing, so a mutant's flipped byte landed elsewhere in
    each worker (three cases of 50,000 read in one run and were refused in the next)."""
    import subprocess
    import sys

    code = (
        "import hashlib; from hfprobe.formats.fuzz.mutate import mutant; from hfprobe.formats.fuzz.seeds import "
        "SEEDS, seed_files; h = hashlib.sha256()\n"
        "for n in SEEDS:\n    for k, v in sorted(seed_files(n).items()): h.update(k.encode() + v)\n"
        "for i in range(200):\n    for k, v in sorted(mutant(0, i)[0].items()): h.update(k.encode() + v)\n"
        "print(h.hexdigest())"
    )
    env = __import__("os").environ
    runs = [  # side by side: each is a fresh interpreter, most of its time spent importing
        subprocess.Popen([sys.executable, "-c", code], env={**env, "PYTHONHASHSEED": str(hs)}, stdout=subprocess.PIPE)
        for hs in (1, 2, 3)
    ]
    digests = {run.communicate(timeout=120)[0] for run in runs}
    assert all(run.returncode == 0 for run in runs), [run.returncode for run in runs]
    assert len(digests) == 1, digests

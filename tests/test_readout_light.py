"""The readout's light path: it scores in numpy, and what it computes from a label list's token states (the compressed
label features) is kept beside them in the cache, so a readout through cached states reads those features alone and
imports no torch (SD 1.5 with the default vocabulary: 0.8 s cold instead of 2.5-3.7; benchmarks/bench_readout_cold.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hfprobe.experts import readout as ro
from hfprobe.experts import readout_features as rf
from hfprobe.formats import open_weights
from hfprobe.text import states as st

from .test_readout_small_candidate_sets import lora_folder

LABELS = ["dog", "violin", "castle", "banana", "tractor"]

COLD = """
import contextlib, io, json, sys
from hfprobe.cli import main
with contextlib.redirect_stdout(io.StringIO()) as buf:
    rc = main(["predict", sys.argv[1], "--labels", sys.argv[2], "--json"])
out = json.loads(buf.getvalue())["readout"]
ranking = [(p["label"], p["score"]) for p in out["predictions"]]
print(json.dumps({"rc": rc, "torch": "torch" in sys.modules, "encoder": out.get("encoder"), "margin": out["margin"],
                  "threshold": out.get("threshold"), "ranking": ranking}))
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HFPROBE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "readout"


def _cold(folder, env) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", COLD, str(folder), ",".join(LABELS)], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout)


def test_a_readout_through_cached_token_states_imports_no_torch(tmp_path, cache):
    """The first readout of a label list computes its token states (the text model runs in torch); every later one,
    in a fresh process, reads the cached label features and answers the same without importing torch."""
    folder = lora_folder(tmp_path / "lora")
    env = {**os.environ, "HFPROBE_CACHE": str(cache.parent), "HFPROBE_EXPERTS": str(tmp_path / "no-experts")}
    first, again = _cold(folder, env), _cold(folder, env)
    assert first["rc"] == again["rc"] == 0 and first["encoder"] == "minilm-pad12"
    assert first["torch"] and not again["torch"]
    assert again == {**first, "torch": False} and len(first["ranking"]) == 5


def test_label_features_are_kept_beside_the_states_and_read_without_them(cache):
    cfg = ro.ReadoutConfig()
    reader = st.MiniLMStates()
    computed = rf.prepare_labels(reader.states(LABELS), cfg)
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 2 and files[0].endswith(f".readout-{cfg.key()}.safetensors")
    cached = reader.states(LABELS)
    read = rf.prepare_labels(cached, cfg)
    assert cached._arrays is None  # the states themselves were never read
    assert read["k"] == computed["k"] and np.array_equal(read["feats"], computed["feats"])
    assert np.array_equal(read["norms"], computed["norms"])


def test_damaged_cache_files_are_computed_again(cache):
    """A cache file cut short or overwritten (a full disk, a killed writer elsewhere) is neither an error nor read:
    the states and features are computed again and the files replaced."""
    cfg = ro.ReadoutConfig()
    reader = st.MiniLMStates()
    want = reader.states(LABELS)
    features = rf.prepare_labels(want, cfg)["feats"]
    for path in cache.iterdir():
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    got = reader.states(LABELS)
    assert all(np.array_equal(a, b) for a, b in zip(got.states, want.states))
    assert np.array_equal(rf.prepare_labels(reader.states(LABELS), cfg)["feats"], features)
    for path in cache.iterdir():
        path.write_bytes(b"not a safetensors file")
    assert np.array_equal(rf.prepare_labels(reader.states(LABELS), cfg)["feats"], features)


def test_features_go_with_the_states_they_were_computed_from(cache):
    """States computed again (their file was damaged) take the features derived from the old file with them."""
    cfg = ro.ReadoutConfig()
    reader = st.MiniLMStates()
    want = rf.prepare_labels(reader.states(LABELS), cfg)
    side = next(cache.glob("*.readout-*.safetensors"))
    stale = {"feats": np.zeros_like(want["feats"]), "norms": np.ones_like(want["norms"])}
    st._save_arrays(side, stale)  # fits the list, but is not what these states give
    [states_file] = set(cache.iterdir()) - {side}
    states_file.write_bytes(b"damaged")
    got = rf.prepare_labels(reader.states(LABELS), cfg)
    assert np.array_equal(got["feats"], want["feats"]) and np.array_equal(got["norms"], want["norms"])


def test_states_cached_as_hfprobe_wrote_them_before_are_replaced(cache):
    """Up to 6ae573a the states were a torch pickle (`states-<key>.pt`, 118 MB for SD 1.5's default list): the new file
    takes its place rather than leaving it behind."""
    cache.mkdir(parents=True)
    reader = st.MiniLMStates()
    reader.states(["x", "y", "z"])
    [new] = cache.iterdir()
    old = new.with_suffix(".pt")
    new.rename(old)  # as the previous version left it
    reader.states(["x", "y", "z"])
    assert sorted(p.name for p in cache.iterdir()) == [new.name]


def test_states_for_another_label_list_are_not_read_as_these(cache):
    """The cache is keyed by the label list; a file that does not fit the list it is asked for is computed again."""
    reader = st.MiniLMStates()
    reader.states(LABELS)
    [path] = cache.iterdir()
    reader.states(LABELS[:3])
    [other_path] = set(cache.iterdir()) - {path}
    os.replace(other_path, path)  # the 3-label file where the 5-label one was
    again = reader.states(LABELS)
    assert len(again.states) == 5 and again.dim == 384


def test_scores_from_torch_and_numpy_deltas_agree():
    """The zoo's trainers and callers with torch tensors get the numpy scoring's answer."""
    import torch

    g = torch.Generator().manual_seed(0)
    deltas = {
        f"unet.b{i}.attn2.to_v": torch.randn(32, 3, generator=g) @ torch.randn(3, 48, generator=g) for i in (0, 1)
    }
    states = [torch.randn(12, 48, generator=g) for _ in LABELS]
    ts = st.TextStates("synthetic", st.TEMPLATE, LABELS, states, [torch.zeros(12, dtype=torch.bool)] * 5)
    a = ro.readout_predict(deltas, LABELS, text_states=ts, top_k=5)
    b = ro.readout_predict({n: d.numpy() for n, d in deltas.items()}, LABELS, text_states=ts, top_k=5)
    assert a == b and "torch" not in type(ro.score_labels(deltas, ts)).__module__


def _norms_agree(view) -> int:
    """||C x|| from a LoRA module's factors (what the readout reads) against ||ΔW x|| of its composed layer."""
    rng, n = np.random.default_rng(0), 0
    for name, mod in view.modules.items():
        if mod.kind != "lora" or "B" not in mod.keys or mod.merged_groups > 1:
            continue
        delta = view.layer(name, scaled=True, numpy=True)
        [c] = rf.delta_factors({name: view.factors(name, scaled=True, numpy=True)}).values()
        x = rng.standard_normal((delta.shape[1], 3)).astype(np.float32)
        want, got = np.linalg.norm(delta @ x, axis=0), np.linalg.norm(c @ x, axis=0)
        assert np.allclose(got, want, rtol=1e-3, atol=1e-6 * float(want.max())), name
        assert c.shape[0] <= mod.rank, (name, c.shape)  # a rank-r module: r rows at most
        n += 1
    return n


def test_a_lora_s_factors_read_as_its_composed_delta_does(tmp_path):
    """Fan-in-fan-out GPT-2, BERT, a conv UNet LoRA; the readout never composes a LoRA's ΔW."""
    from tests import builders as B

    sources = [
        B.peft_adapter("gpt2", tmp_path / "gpt2")[1],
        B.peft_adapter("bert", tmp_path / "bert")[1],
        B.save_diffusers_lora(B.add_unet_lora(B.tiny_unet(), r=4, alpha=8), tmp_path / "unet"),
    ]
    for source in sources:
        with open_weights(source) as view:
            assert _norms_agree(view), source


def test_a_lora_s_factors_read_as_its_composed_delta_does_on_every_realzoo_file(realzoo_views):
    counted = sum(_norms_agree(view) for view in realzoo_views)
    assert len(realzoo_views) >= 30 and counted > 1000, (len(realzoo_views), counted)


def test_a_lora_s_factors_are_its_delta_s_singular_rows():
    """The rows the readout keeps of a LoRA (from the r x r Gram matrix of R A) are those of its ΔW's SVD, s_i v_i^T up
    to sign, and as many as its numerical rank: a B with a zero column or an A with a repeated row drops one."""
    rng = np.random.default_rng(5)
    b, a = rng.standard_normal((1280, 8)), rng.standard_normal((8, 2048))
    b_zero, a_twice = b.copy(), a.copy()
    b_zero[:, 3] = 0
    a_twice[5] = a_twice[2]
    b_twice = b.copy()
    b_twice[:, 2] = 0  # with A's rows 2 and 5 equal, B's column 2 folded into 5 keeps the ΔW rank 7
    b_twice[:, 5] += b[:, 2]
    for bb, aa, rank in [(b, a, 8), (b_zero, a, 7), (b_twice, a_twice, 7), (b[:, :1] * 0, a[:1], 0)]:
        [c] = rf.delta_factors({"unet.m.attn2.to_v": (bb.astype(np.float32), aa.astype(np.float32))}).values()
        _, sv, vh = np.linalg.svd(bb @ aa, full_matrices=False)
        want = sv[:rank, None] * vh[:rank]
        assert c.shape == (rank, 2048) and c.dtype == np.float32
        assert np.allclose(np.abs(c @ want.T), np.diag(sv[:rank] ** 2), rtol=1e-4, atol=1e-5 * sv[0] ** 2)


def test_a_cache_that_cannot_be_written_costs_a_warning_not_the_answer(cache, monkeypatch, caplog):
    """A full disk or a read-only cache: the readout answers from what it computed, and says the cache was not kept."""
    import errno
    import logging

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(st.os, "replace", full)
    reader = st.MiniLMStates()
    with caplog.at_level(logging.WARNING, logger="hfprobe.text.states"):
        ts = reader.states(LABELS)
        features = rf.prepare_labels(ts, ro.ReadoutConfig())
    assert len(ts.states) == 5 and features["norms"].shape == (5,) and ts.dim == 384
    assert not list(cache.glob("*.safetensors")) and not list(cache.glob(".*"))  # nothing half-written left
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and all("not written (" in m and "No space left" in m for m in said)

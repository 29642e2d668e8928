"""The readout over too few candidates, and predict after the readout abstained: no margin, probability or
decided label where they cannot mean anything (z-scores over two labels are always +-1/sqrt(2), so every margin
was sqrt(2) and every "probability right" 0.99)."""

from __future__ import annotations

import importlib
import json
import warnings

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.errors import UsageError
from hfprobe.experts import readout as ro
from hfprobe.text import states as st

pr = importlib.import_module("hfprobe.experts.predict")  # the package exports a function of that name


def deltas(width: int = 48, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        f"unet.b{i}.attn2.to_{kv}": torch.randn(16, 3, generator=g) @ torch.randn(3, width, generator=g)
        for i in range(2)
        for kv in "kv"
    }


def text_states(labels: list[str], width: int = 48) -> st.TextStates:
    g = torch.Generator().manual_seed(1)
    return st.TextStates(
        "synthetic",
        st.TEMPLATE,
        labels,
        [torch.randn(12, width, generator=g) for _ in labels],
        [torch.zeros(12, dtype=torch.bool) for _ in labels],
    )


def lora_folder(path, width: int = 384):
    """A diffusers-style LoRA on a UNet's cross-attention keys and values (hand-written, rank 4)."""
    g = torch.Generator().manual_seed(0)
    tensors = {}
    for block in ("down_blocks.1", "up_blocks.0"):
        for kv in "kv":
            base = f"unet.{block}.attentions.0.transformer_blocks.0.attn2.to_{kv}"
            tensors[f"{base}.lora_A.weight"] = torch.randn(4, width, generator=g) * 0.01
            tensors[f"{base}.lora_B.weight"] = torch.randn(64, 4, generator=g) * 0.01
    path.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path / "pytorch_lora_weights.safetensors"))
    return path


@pytest.mark.parametrize("labels", [["apple", "banana"], ["spaceship"]])
def test_fewer_than_three_candidates_abstain_with_nothing_to_report(labels, monkeypatch):
    def no_encoder(*a, **k):
        raise AssertionError("no text encoder is needed to refuse a short candidate list")

    monkeypatch.setattr(ro, "text_reader", no_encoder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's std() warning over one value was one symptom
        out = ro.readout_predict(deltas(), labels, text_states=text_states(labels))
        bare = ro.readout_predict(deltas(384), labels)  # the encoder is not even looked up
    for o in (out, bare):
        assert o["abstained"] and o["predictions"] == [] and o["margin"] is None and o["probability_right"] is None
        assert o["reason"] == (
            f"the readout needs at least 3 candidate labels to rank; got {len(labels)} (its margin is in standard "
            "deviations over the candidates, and its probability was fitted on lists of 3 or more)"
        )
        assert "\n" not in o["reason"]


def test_three_candidates_are_ranked_with_a_margin():
    labels = ["apple", "banana", "cherry"]
    out = ro.readout_predict(deltas(), labels, text_states=text_states(labels), top_k=3)
    assert "candidate labels" not in (out["reason"] or "")
    assert len(out["predictions"]) == 3 and out["margin"] is not None and out["margin"] <= 3**0.5 + 1e-3


def test_the_minimum_is_the_smallest_list_the_shipped_fit_saw():
    cal = ro.probability_calibration()
    if cal is None:
        pytest.skip("no probability fit shipped")
    sizes = [int(k.removeprefix("random")) for k in cal["candidate_lists"] if k.startswith("random")]
    assert min(sizes) == ro.MIN_LABELS == 3
    assert ro.probability_right(1.4142, 1.0, 2) is None and ro.probability_right(1.4142, 1.0, 3) is not None


def test_predict_without_expert_reports_no_decision_for_two_labels(tmp_path, capsys, monkeypatch):
    from hfprobe.cli import main

    folder = lora_folder(tmp_path / "lora")
    monkeypatch.setenv("HFPROBE_EXPERTS", str(tmp_path / "no-experts"))
    out = pr.predict(str(folder), labels=["apple", "banana"])
    assert out["method"] == "abstain" and out["predictions"] == [] and "decision" not in out
    assert out["readout"]["probability_right"] is None and "at least 3 candidate labels" in out["reason"]
    assert main(["predict", str(folder), "--labels", "apple,banana", "--json"]) == 0
    cap = capsys.readouterr()
    assert cap.err == ""  # no torch warning
    row = json.loads(cap.out)
    assert row["readout"]["abstained"] and row["predictions"] == [] and "decision" not in row


def test_predict_refuses_a_single_label_in_one_line(tmp_path, capsys):
    from hfprobe.cli import main

    folder = lora_folder(tmp_path / "lora")
    with pytest.raises(UsageError, match="ranking needs at least 2"):
        pr.predict(str(folder), labels=["coral reef"], experts_dir=tmp_path / "none")
    assert main(["predict", str(folder), "--labels", "spaceship", "--experts", str(tmp_path)]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and len(cap.err.strip().splitlines()) == 1 and "'spaceship'" in cap.err


def test_an_abstained_readout_gives_no_probability_and_no_decision(tmp_path, monkeypatch):
    """Below its threshold the readout's fitted probability (conditional on there being something to read) is
    not reported by predict, whether it is the fallback or ranked as the better guess than a near-chance expert."""
    abstained = {
        "method": "readout",
        "labels": 3,
        "margin": 0.3,
        "threshold": 1.6,
        "abstained": True,
        "reason": "top label does not stand out: margin 0.30 < threshold 1.60",
        "probability_right": 0.62,
        "predictions": [
            {"label": "a", "score": 1.1, "method": "readout", "probability": 0.62, "calibration": "readout-margin"},
            {"label": "b", "score": -0.2, "method": "readout"},
        ],
    }
    monkeypatch.setattr(ro, "readout_predict", lambda view, labels, **kw: json.loads(json.dumps(abstained)))
    folder = lora_folder(tmp_path / "lora")
    out = pr.predict(str(folder), labels=["a", "b", "c"], experts_dir=tmp_path / "none")
    assert out["method"] == "abstain" and out["readout"]["probability_right"] is None
    assert all("probability" not in p for p in out["readout"]["predictions"])
    # the better-guess path (an expert near chance on zero-shot): the ranking, but no probability and no decision
    guess = {"predictions": [], "readout": pr._without_probability(abstained)}
    guess["predictions"] = guess["readout"]["predictions"]
    pr._readout_trust(guess)
    assert guess["decision"]["labels"] == [] and guess["calibration"]["method"] == "none"
    assert guess["near_chance"] and "the readout abstained" in guess["near_chance_reason"]
    assert [p["label"] for p in guess["predictions"]] == ["a", "b"]
    assert all("probability" not in p for p in guess["predictions"])
    assert abstained["predictions"][0]["probability"] == 0.62  # the readout's own answer is not changed in place

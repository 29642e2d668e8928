"""Calibration of experts (hfprobe.experts.calibrate): fitted on validation only, lowering validation NLL where the
raw scores are over- or under-confident, recorded in expert.json and read back; ECE and Brier as defined."""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.experts.calibrate import (
    _fit,
    brier,
    calibration_report,
    choose_threshold,
    confidences,
    ece,
    fit_calibration,
    near_chance,
    nll,
    probabilities,
    skill,
)
from hfprobe.experts.expert import Expert
from hfprobe.experts.fit import train_expert
from hfprobe.experts.probes import TrainConfig
from tests.probex_synth import multilabel_tree

torch.set_num_threads(1)
SMALL = dict(r_U=16, r_V=16, r_T=16, max_epochs=40, patience=15)


def _known(n=600, c=4, k=5.0, seed=0):
    """Logits whose sigmoid is the true probability, shown k times too confident."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c, generator=g) * 1.5
    y = (torch.rand(n, c, generator=g) < torch.sigmoid(z)).float()
    return z * k, y


def test_calibration_lowers_validation_nll_and_recovers_a_known_overconfidence():
    z, y = _known(k=5.0)
    cal = fit_calibration(z, y, "multilabel")
    assert cal["chosen_on"] == "val" and set(cal["cv_nll"]) == {
        "none",
        "temperature",
        "platt",
        "platt-asinh",
        "platt-tanh",
        "platt-per-label",
    }
    assert cal["val_nll_after"] < cal["val_nll_before"] - 0.2, cal
    # the method with the lowest cross-validated NLL was kept. The truth is a temperature; platt and platt-tanh
    # (which at a large scale s is platt) nest it and may win by noise, so what is checked is the slope: 1/5
    assert cal["cv_nll"][cal["method"]] == min(cal["cv_nll"].values())
    slope = {
        "temperature": lambda p: 1 / p["T"],
        "platt": lambda p: p["a"],
        "platt-tanh": lambda p: p["a"] / p["s"],  # a * tanh(z / s) is about (a / s) * z for |z| << s
    }[cal["method"]](cal["params"])
    assert 1 / 6 < slope < 1 / 4, cal
    # calibrated probabilities are close to the true ones, the raw ones are not
    true = torch.sigmoid(z / 5.0)
    assert (probabilities(z, cal, "multilabel") - true).abs().max() < 0.06
    assert (probabilities(z, None, "multilabel") - true).abs().max() > 0.3
    # ECE falls too, on fresh data from the same process
    z2, y2 = _known(seed=1)
    rep = calibration_report(z2, y2, cal, "multilabel")
    assert rep["ece_after"] < 0.05 < rep["ece_before"] and rep["brier_after"] < rep["brier_before"]


def test_already_calibrated_scores_are_left_nearly_alone():
    z, y = _known(k=1.0, seed=2)
    cal = fit_calibration(z, y, "multilabel")
    assert abs(cal["val_nll_after"] - cal["val_nll_before"]) < 0.02
    assert (probabilities(z, cal, "multilabel") - torch.sigmoid(z)).abs().max() < 0.1


def test_text_head_temperature_sharpens_flat_cosines():
    """Cosine logits in [-1, 1] over 30 labels give a near-flat softmax: the fitted T is far below 1."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(30, (300,), generator=g)
    logits = torch.randn(300, 30, generator=g) * 0.1
    logits[torch.arange(300), y] += 0.3  # the right label's cosine stands out a little
    logits = logits.clamp(-1, 1)
    cal = fit_calibration(logits, y, "text")
    assert cal["method"] == "temperature" and cal["params"]["T"] < 0.2
    assert cal["val_nll_after"] < cal["val_nll_before"] - 1.0
    p = probabilities(logits, cal, "text")
    assert torch.allclose(p.sum(1), torch.ones(300), atol=1e-5)
    rep = calibration_report(logits, y, cal, "text")
    assert rep["ece_after"] < rep["ece_before"]


def _softmax_draws(n, c, seed, scale=10.0):
    """Logits whose softmax is the true distribution of the label, and labels drawn from it."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c, generator=g) * scale
    return z, torch.multinomial(torch.softmax(z, 1), 1, generator=g).squeeze(1)


def test_text_head_temperature_recovers_a_known_one_over_many_labels():
    """90 validation models over 300 labels, logits 3x too sharp, confident answers (the UNet expert's regime): the
    fit undoes the 3 and is calibrated on fresh draws. (Smoothing every target toward 1/(n+2), the earlier fit,
    gave T = 4.0 here and ECE 0.059: too soft.)"""
    z, y = _softmax_draws(90, 300, seed=4)
    cal = fit_calibration(z * 3, y, "text")
    assert cal["method"] == "temperature" and 2.5 < cal["params"]["T"] < 3.7, cal
    z2, y2 = _softmax_draws(3000, 300, seed=5)
    assert calibration_report(z2 * 3, y2, cal, "text")["ece_after"] < 0.04


def test_text_head_right_on_every_validation_model_stays_finite():
    """A probe right on all its validation models: a plain NLL fit would send T to 0 and say 1.00 always; the one
    unseen mistake keeps T finite and the top probability short of certain."""
    g = torch.Generator().manual_seed(6)
    y = torch.randint(50, (60,), generator=g)
    z = torch.randn(60, 50, generator=g) * 0.5
    z[torch.arange(60), y] += 4.0  # the right label always on top
    assert bool((z.argmax(1) == y).all())
    cal = fit_calibration(z, y, "text")
    assert cal["method"] == "temperature" and cal["params"]["T"] > 0.1, cal
    top = probabilities(z, cal, "text").max(1).values
    assert float(top.min()) < 0.999 and float(top.mean()) > 0.9


def test_ece_brier_and_confidences_by_hand():
    assert ece(torch.tensor([0.95, 0.95]), torch.tensor([1.0, 1.0])) == pytest.approx(0.05)
    assert ece(torch.tensor([0.9, 0.9, 0.1, 0.1]), torch.tensor([1.0, 0.0, 0.0, 0.0])) == pytest.approx(0.25)
    assert brier(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]]), "multilabel") == pytest.approx(0.5)
    assert brier(torch.tensor([[0.5, 0.5]]), torch.tensor([0]), "text") == pytest.approx(0.5)
    conf, outcome = confidences(torch.tensor([[0.2, 0.8], [0.6, 0.4]]), torch.tensor([1, 1]), "text")
    assert conf.tolist() == pytest.approx([0.8, 0.6]) and outcome.tolist() == [1.0, 0.0]
    assert nll(torch.zeros(2, 3), torch.zeros(2, 3), None, "multilabel") == pytest.approx(0.693147, abs=1e-5)


def test_threshold_maximises_validation_accuracy_ties_toward_one_half():
    probs = torch.tensor([[0.9, 0.35], [0.7, 0.32], [0.34, 0.1]])
    Y = torch.tensor([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    assert choose_threshold(probs, Y) == 0.35  # 0.35 gets 5 of 6; the upper edge of the best interval near 0.5
    assert choose_threshold(torch.tensor([[0.9, 0.1]]), torch.tensor([[1.0, 0.0]])) == 0.5


def test_near_chance_flag():
    assert near_chance(0.50, 0.50) and near_chance(0.0, 0.05) and near_chance(None, 0.5)
    assert not near_chance(0.85, 0.50) and not near_chance(0.9, 0.003)
    assert skill(0.75, 0.5) == 0.5


@pytest.fixture(scope="module")
def split_tree():
    X, Y = multilabel_tree(200, seed=3, strength=0.06, noise=0.05)
    return X[:120], Y[:120], X[120:160], Y[120:160], X[160:], Y[160:]


def _expert(split_tree, Xte=None, Yte=None):
    Xtr, Ytr, Xva, Yva, xte, yte = split_tree
    return train_expert(
        Xtr,
        Ytr,
        Xva,
        Yva,
        labels=[f"c{i}" for i in range(6)],
        cfg=TrainConfig(**SMALL),
        root="synth/root",
        layer="blocks.0.attn.q",
        Xte=xte if Xte is None else Xte,
        Yte=yte if Yte is None else Yte,
        progress=False,
    )


def test_expert_is_calibrated_on_validation_only_and_round_trips(split_tree, tmp_path):
    exp = _expert(split_tree)
    cal, m = exp.config["calibration"], exp.config["metrics"]
    assert cal["chosen_on"] == "val" and cal["threshold_chosen_on"] == "val" and cal["n"] == 40
    assert cal["val_nll_after"] <= cal["val_nll_before"] + 1e-9
    assert {"chance", "skill", "near_chance", "test_ece_before", "test_ece_after", "test_decided"} <= set(m)
    assert not m["near_chance"] and m["test"] > m["chance"] + 0.2
    # the test split is only measured: other test models change the metrics, never the calibration or threshold
    Xtr, Ytr, Xva, Yva, Xte, Yte = split_tree
    other = _expert(split_tree, Xte=Xte.flip(0)[:20], Yte=1 - Yte.flip(0)[:20])
    assert other.config["calibration"] == cal and other.config["metrics"]["test"] != m["test"]
    # ... and the threshold is the best one on validation
    p_val = probabilities(exp.model(Xva).detach(), cal, "multilabel")
    assert cal["threshold"] == choose_threshold(p_val, Yva)
    # round trip through expert.json: the same parameters, the same probabilities
    back = Expert.load(exp.save(tmp_path / "e"))
    assert back.config["calibration"] == json.loads(json.dumps(cal))
    logits = back.model(Xte).detach()
    assert torch.equal(
        probabilities(logits, back.config["calibration"], "multilabel"), probabilities(logits, cal, "multilabel")
    )
    # calibration is not part of the weights' fingerprint: recalibrating an expert keeps it loadable
    folder = tmp_path / "e"
    data = json.loads((folder / "expert.json").read_text())
    data["calibration"] = {"method": "temperature", "params": {"T": 2.0}, "threshold": 0.4}
    (folder / "expert.json").write_text(json.dumps(data))
    assert Expert.load(folder).config["calibration"]["params"]["T"] == 2.0


def test_a_plateau_of_confidence_gets_the_tanh_fit():
    """A probe whose confident answers are right about 83% of the time however large the logit (a label it misreads it
    misreads with the same conviction): only a bounded feature fits both the plateau and the middle."""
    g = torch.Generator().manual_seed(5)
    z = torch.randn(3000, 4, generator=g) * 10
    truth = 0.15 + 0.7 * torch.sigmoid(3.5 * torch.tanh(z / 3))  # 0.17 to 0.83, flat past |z| of about 6
    y = (torch.rand(3000, 4, generator=g) < truth).float()
    cal = fit_calibration(z[:1500], y[:1500], "multilabel")
    assert cal["method"] == "platt-tanh", cal
    assert set(cal["params"]) == {"a", "b", "s"} and 1 <= cal["params"]["s"] <= 8
    rep = calibration_report(z[1500:], y[1500:], cal, "multilabel")
    asinh = calibration_report(z[1500:], y[1500:], _fit("platt-asinh", z[:1500], y[:1500], "multilabel"), "multilabel")
    assert rep["ece_after"] < 0.03 and rep["ece_after"] < asinh["ece_after"]
    # the parameters are all it takes: a calibration read back from JSON gives the same probabilities
    again = json.loads(json.dumps(cal))
    assert torch.equal(probabilities(z[:5], again, "multilabel"), probabilities(z[:5], cal, "multilabel"))


def test_heavy_tailed_logits_get_the_asinh_fit():
    """A probe whose logits run to 30 while its labels are right 90% of the time at most: a temperature that tames
    the tails leaves the middle under-confident; Platt on asinh(logit) fits both, and cross-validation picks it."""
    g = torch.Generator().manual_seed(3)
    z = torch.randn(3000, 4, generator=g) * 12
    y = (torch.rand(3000, 4, generator=g) < torch.sigmoid(1.2 * torch.asinh(z))).float()
    cal = fit_calibration(z[:1500], y[:1500], "multilabel")
    assert cal["method"] == "platt-asinh" and cal["params"]["a"] == pytest.approx(1.2, abs=0.2)
    temp = _fit("temperature", z[:1500], y[:1500], "multilabel")
    rep = calibration_report(z[1500:], y[1500:], cal, "multilabel")
    assert rep["ece_after"] < 0.03 and rep["ece_after"] < rep["ece_before"]
    assert rep["ece_after"] < calibration_report(z[1500:], y[1500:], temp, "multilabel")["ece_after"]


def test_saving_an_expert_never_deletes_other_files(split_tree, tmp_path):
    """`Expert.save` replaces an expert's own folder, fills an empty one, and refuses anything else untouched."""
    from hfprobe.errors import ExpertError

    exp = _expert(split_tree)
    work = tmp_path / "thesis"
    work.mkdir()
    (work / "thesis.tex").write_text("years of work")
    with pytest.raises(ExpertError, match="not an expert folder"):
        exp.save(work)
    assert (work / "thesis.tex").read_text() == "years of work"
    (tmp_path / "empty").mkdir()
    exp.save(tmp_path / "empty")
    exp.save(tmp_path / "empty")  # now an expert's folder: replaced
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == ["expert.json", "expert.safetensors"]

"""Calibration: an expert's raw scores turned into probabilities that mean what they say.

A probe's raw outputs are not probabilities: a multi-label head trained to a low loss gives saturated
sigmoids (0.99 for a label it gets wrong a third of the time), and a text head's logits are cosines in
[-1, 1], whose softmax over 300 labels is nearly flat. After training, each expert is calibrated on its
validation models, never on test:

    multi-label head   p = sigmoid(a * logit + b), with one of "temperature" (b = 0, a = 1/T), "platt" (one a and
                       b), "platt-per-label" (a_c, b_c per label); or "platt-asinh": p = sigmoid(a * asinh(logit) + b),
                       whose compressed tails suit probes whose logits reach 10-50; or "platt-tanh":
                       p = sigmoid(a * tanh(logit / s) + b), bounded, for probes whose confident answers are right
                       at a plateau (85% of the time at a logit of 5 as at 50), with the scale s fitted too
                       (docs/benchmarks.md says which the cross-validation picks on the `mini` zoo)
    text head          p = softmax(logits / T) over the labels asked about ("temperature"); a text tree with
                       held-out validation categories also gets its own T for zero-shot label sets

The method is chosen by 5-fold cross-validation of the negative log-likelihood over the validation models (a
method with more parameters wins only where it predicts held-out folds better), then refitted on all of them.
"none" is a candidate too. Method, parameters and the validation NLL before and after go into expert.json
(`Expert.config["calibration"]`); the weights are not touched, so the weights' fingerprint does not cover them.

A multi-label expert also decides: the labels whose calibrated probability reaches a threshold chosen on
validation (`choose_threshold`: the best element-wise accuracy, ties to the threshold nearest 0.5).

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> z = torch.randn(400, 3, generator=g)
    >>> y = (torch.rand(400, 3, generator=g) < torch.sigmoid(z)).float()   # calibrated at a = 1 ...
    >>> cal = fit_calibration(z * 5, y, "multilabel")                      # ... shown 5x over-confident
    >>> cal["method"], 4 < cal["params"]["T"] < 6
    ('temperature', True)
    >>> cal["val_nll_after"] < cal["val_nll_before"]
    True
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

MULTILABEL_METHODS = ("none", "temperature", "platt", "platt-asinh", "platt-tanh", "platt-per-label")
TANH_SCALES = tuple(2.0 ** (k / 2) for k in range(-2, 13))  # s for "platt-tanh": 0.5 to 64, steps of sqrt(2)
TEXT_METHODS = ("none", "temperature")
FOLDS = 5
RIDGE = 1e-3  # a whisper of a prior on Platt's (a, b) toward (1, 0), for a well-posed Newton step
# Fits carry Platt's (1999) prior: a label seen present on N+ of its validation models is fitted toward
# (N+ + 1) / (N+ + 2), an absent one toward 1 / (N- + 2); a text head's fit counts one mistake more than it saw
# (_fit_temperature_softmax). So a probe right on every validation model is not promised to be right always: the
# fit stays finite, and says as much confidence as that many models support.


# -------------------------------------------------------------------------------------------- applying
def probabilities(
    logits: torch.Tensor, calibration: dict | None, head: str, *, zero_shot: bool = False
) -> torch.Tensor:
    """Calibrated probabilities of raw logits [B, C]: per label (multi-label) or a softmax over the C labels given
    (text). `calibration`: an expert's `config["calibration"]`, or None (uncalibrated: sigmoid / softmax as is).
    `zero_shot`: text head over labels the expert did not train on (uses the zero-shot temperature if it has one).

    >>> probabilities(torch.tensor([[0.0, 2.0]]), {"method": "temperature", "params": {"T": 2.0}}, "multilabel")
    tensor([[0.5000, 0.7311]])
    """
    logits = logits.double()
    cal = calibration or {"method": "none", "params": {}}
    if head == "text":
        params = (cal.get("zero_shot") or cal) if zero_shot else cal
        T = float(params.get("params", {}).get("T", 1.0)) if params.get("method") != "none" else 1.0
        return torch.softmax(logits / T, dim=-1).float()
    a, b = _ab(cal, logits.shape[-1])
    return torch.sigmoid(a * _feature(cal, logits) + b).float()


def _feature(cal: dict, logits: torch.Tensor) -> torch.Tensor:
    """What Platt's (a, b) act on: the raw logit; for "platt-asinh" asinh(logit) (about the logit near 0 and
    log(2|logit|) beyond it), whose tails are compressed: logits of 10 or 30 say "sure", not "30 times surer";
    for "platt-tanh" tanh(logit / s), bounded: past a few s every logit says the same."""
    method = cal.get("method")
    if method == "platt-asinh":
        return torch.asinh(logits)
    if method == "platt-tanh":
        return torch.tanh(logits / float(cal["params"]["s"]))
    return logits


def _ab(cal: dict, n_labels: int) -> tuple[torch.Tensor, torch.Tensor]:
    method, p = cal.get("method", "none"), cal.get("params") or {}
    if method == "none":
        return torch.ones(n_labels, dtype=torch.float64), torch.zeros(n_labels, dtype=torch.float64)
    if method == "temperature":  # sigmoid(logit / T)
        return torch.full((n_labels,), 1.0 / float(p["T"]), dtype=torch.float64), torch.zeros(
            n_labels, dtype=torch.float64
        )
    a = torch.as_tensor(p.get("a", 1.0), dtype=torch.float64).expand(n_labels)
    b = torch.as_tensor(p.get("b", 0.0), dtype=torch.float64).expand(n_labels)
    return a, b


def nll(logits: torch.Tensor, y: torch.Tensor, calibration: dict | None, head: str) -> float:
    """Mean negative log-likelihood of targets `y` (multi-hot [B, C], or class indices [B]) under the calibration."""
    p = probabilities(logits, calibration, head).double().clamp(1e-12, 1 - 1e-12)
    if head == "text":
        return float(-p[torch.arange(len(y)), y.long()].log().mean())
    y = y.double()
    return float(-(y * p.log() + (1 - y) * (1 - p).log()).mean())


# ---------------------------------------------------------------------------------------------- fitting
def _fit_temperature_softmax(logits: torch.Tensor, y: torch.Tensor) -> float:
    """T minimising the softmax NLL of the right labels, plus Platt's prior in multi-class form: one mistake not yet
    seen, the most confident validation model answered once more by its runner-up. Without it a probe right on
    every validation model fits T -> 0 (every answer certain); with it T stays finite, at the cost of one model's
    weight where there are real mistakes. (Smoothing every target toward 1/(n+2) instead spreads that mass over
    all the wrong labels, and on the `mini` UNet tree, 300 labels, left every answer under-confident: 5-fold NLL
    on validation 0.310 against 0.284.) Convex in 1/T, hence unimodal in log(1/T): golden section."""
    z, y = logits.double(), y.long()
    if z.shape[1] >= 2 and len(z):
        top2 = z.topk(2, dim=1)
        k = int((top2.values[:, 0] - top2.values[:, 1]).argmax())
        z, y = torch.cat([z, z[k : k + 1]]), torch.cat([y, top2.indices[k, 1:2]])

    def f(log_beta: float) -> float:
        return float(-torch.log_softmax(z * math.exp(log_beta), 1)[torch.arange(len(y)), y].mean())

    return 1.0 / math.exp(_golden(f, -7.0, 9.0))


def _golden(f, lo: float, hi: float, iters: int = 80) -> float:
    r = (math.sqrt(5) - 1) / 2
    c, d = hi - r * (hi - lo), lo + r * (hi - lo)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc < fd:
            hi, d, fd = d, c, fc
            c = hi - r * (hi - lo)
            fc = f(c)
        else:
            lo, c, fc = c, d, fd
            d = lo + r * (hi - lo)
            fd = f(d)
    return (lo + hi) / 2


def _fit_platt(z: torch.Tensor, y: torch.Tensor, *, shared: bool, with_bias: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Logistic regression of y on one feature z per label (Newton's method, ridge toward a = 1, b = 0).

    z, y: [n, C]. shared: one (a, b) for all labels; with_bias=False: b = 0 (temperature scaling).
    Returns a, b of shape [C] (or [1] when shared).
    """
    z, y = z.double(), y.double()
    if shared:
        z, y = z.reshape(-1, 1), y.reshape(-1, 1)
    pos = y.sum(0)
    y = torch.where(y > 0.5, (pos + 1) / (pos + 2), 1 / (len(y) - pos + 2))  # Platt's smoothed targets, per column
    n_labels = z.shape[1]
    a, b = torch.ones(n_labels, dtype=torch.float64), torch.zeros(n_labels, dtype=torch.float64)
    for _ in range(100):
        p = torch.sigmoid(a * z + b)
        r, w = p - y, (p * (1 - p)).clamp_min(1e-12)
        ga = (r * z).sum(0) + RIDGE * (a - 1)
        gb = (r.sum(0) + RIDGE * b) if with_bias else torch.zeros_like(b)
        haa = (w * z * z).sum(0) + RIDGE
        hab = (w * z).sum(0) if with_bias else torch.zeros_like(a)
        hbb = (w.sum(0) + RIDGE) if with_bias else torch.ones_like(b)
        det = haa * hbb - hab * hab
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        step = 1.0
        before = _platt_loss(z, y, a, b)
        while step > 1e-4 and _platt_loss(z, y, a - step * da, b - step * db) > before + 1e-12:
            step /= 2  # damped Newton: never a step that raises the (convex) objective
        a, b = a - step * da, b - step * db
        if float(max(da.abs().max(), db.abs().max())) * step < 1e-9:
            break
    return a, b


def _platt_loss(z, y, a, b) -> float:
    return float(
        F.binary_cross_entropy_with_logits(a * z + b, y, reduction="sum") + RIDGE / 2 * ((a - 1) ** 2 + b**2).sum()
    )


def _fit(method: str, logits: torch.Tensor, y: torch.Tensor, head: str) -> dict:
    """One method's parameters on (logits, y) as a calibration dict."""
    if method == "none":
        return {"method": "none", "params": {}}
    if head == "text":
        return {"method": "temperature", "params": {"T": _fit_temperature_softmax(logits, y)}}
    if method == "platt-tanh":  # Platt at each scale s of the grid; the s whose fit explains the data best
        fits = []
        for s in TANH_SCALES:
            a, b = _fit_platt(
                _feature({"method": method, "params": {"s": s}}, logits.double()), y, shared=True, with_bias=True
            )
            cal = {"method": method, "params": {"a": float(a[0]), "b": float(b[0]), "s": s}}
            fits.append((nll(logits, y, cal, head), cal))
        return min(fits, key=lambda f: f[0])[1]
    shared = method != "platt-per-label"
    a, b = _fit_platt(
        _feature({"method": method}, logits.double()), y, shared=shared, with_bias=method != "temperature"
    )
    if shared:
        params = {"T": 1.0 / float(a[0])} if method == "temperature" else {"a": float(a[0]), "b": float(b[0])}
    else:
        params = {"a": [float(v) for v in a], "b": [float(v) for v in b]}
    return {"method": method, "params": params}


def fit_calibration(logits: torch.Tensor, y: torch.Tensor, head: str, *, folds: int = FOLDS, seed: int = 0) -> dict:
    """Choose and fit the calibration on validation logits [n, C] and targets (multi-hot [n, C] or indices [n]).

    Returns {"method", "params", "chosen_on": "val", "cv_nll": {method: mean held-out NLL}, "val_nll_before",
    "val_nll_after", "n"}: the method with the lowest cross-validated NLL (ties: the simpler), refitted on all.
    """
    methods = MULTILABEL_METHODS if head == "multilabel" else TEXT_METHODS
    n = len(logits)
    cv: dict[str, float] = {}
    if n >= 2 * folds:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        parts = [order[i::folds] for i in range(folds)]
        for m in methods:
            total = 0.0
            for k in range(folds):
                held = parts[k]
                keep = torch.cat([parts[j] for j in range(folds) if j != k])
                cal = _fit(m, logits[keep], y[keep], head)
                total += nll(logits[held], y[held], cal, head) * len(held)
            cv[m] = round(total / n, 6)
        best = min(methods, key=lambda m: (cv[m], methods.index(m)))
    else:  # too few models to cross-validate: the one-parameter fit, which cannot overfit much
        best = "temperature"
    out = _fit(best, logits, y, head)
    out.update(
        chosen_on="val",
        cv_nll=cv,
        val_nll_before=round(nll(logits, y, None, head), 6),
        val_nll_after=round(nll(logits, y, out, head), 6),
        n=n,
    )
    return out


def choose_threshold(probs: torch.Tensor, Y: torch.Tensor) -> float:
    """The decision threshold on calibrated multi-label probabilities [n, C] that maximises element-wise accuracy on
    validation targets Y; among equally good ones, the nearest 0.5 (what a calibrated probability argues for).

    >>> choose_threshold(torch.tensor([[0.9, 0.3], [0.7, 0.2]]), torch.tensor([[1.0, 0.0], [1.0, 0.0]]))
    0.5
    """
    grid = [round(0.05 * i, 2) for i in range(1, 20)]
    acc = {t: float(((probs >= t).float() == Y.float()).float().mean()) for t in grid}
    return max(grid, key=lambda t: (round(acc[t], 9), -abs(t - 0.5)))


# ------------------------------------------------------------------------------------------- measuring
def confidences(probs: torch.Tensor, y: torch.Tensor, head: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(confidence, outcome) pairs that ECE and reliability diagrams bin: for multi-label heads every (model,
    label) probability against whether the label is there; for text heads the top label's probability against
    whether it is right (Guo et al.'s top-label calibration)."""
    if head == "text":
        conf, pred = probs.max(1)
        return conf.double(), (pred == y.long()).double()
    return probs.flatten().double(), y.flatten().double()


def ece(conf: torch.Tensor, outcome: torch.Tensor, bins: int = 15) -> float:
    """Expected calibration error: the mean |mean outcome - mean confidence| over `bins` equal-width confidence bins,
    weighted by their counts.

    >>> ece(torch.tensor([0.9, 0.9, 0.1, 0.1]), torch.tensor([1.0, 0.0, 0.0, 0.0]))
    0.25
    """
    conf, outcome = conf.double().flatten(), outcome.double().flatten()
    idx = (conf * bins).long().clamp(0, bins - 1)
    total = 0.0
    for k in range(bins):
        sel = idx == k
        if sel.any():
            total += float(sel.sum()) * abs(float(outcome[sel].mean()) - float(conf[sel].mean()))
    return round(total / max(len(conf), 1), 6)


def brier(probs: torch.Tensor, y: torch.Tensor, head: str) -> float:
    """Brier score: mean squared error of the probabilities, per (model, label) for multi-label heads, summed over
    the labels per model for text heads (the multi-class Brier score, 0 to 2)."""
    if head == "text":
        onehot = F.one_hot(y.long(), probs.shape[1]).double()
        return round(float((probs.double() - onehot).pow(2).sum(1).mean()), 6)
    return round(float((probs.double() - y.double()).pow(2).mean()), 6)


def reliability(conf: torch.Tensor, outcome: torch.Tensor, bins: int = 15) -> list[dict]:
    """Per non-empty bin: {lo, hi, n, confidence, accuracy} (the points of a reliability diagram)."""
    conf, outcome = conf.double().flatten(), outcome.double().flatten()
    idx = (conf * bins).long().clamp(0, bins - 1)
    rows = []
    for k in range(bins):
        sel = idx == k
        if sel.any():
            rows.append(
                {
                    "lo": round(k / bins, 4),
                    "hi": round((k + 1) / bins, 4),
                    "n": int(sel.sum()),
                    "confidence": round(float(conf[sel].mean()), 4),
                    "accuracy": round(float(outcome[sel].mean()), 4),
                }
            )
    return rows


def calibration_report(
    logits: torch.Tensor, y: torch.Tensor, calibration: dict | None, head: str, *, zero_shot=False
) -> dict:
    """ECE (15 bins) and Brier score of raw and calibrated probabilities, with both reliability diagrams."""
    out = {}
    for tag, cal in (("before", None), ("after", calibration)):
        p = probabilities(logits, cal, head, zero_shot=zero_shot)
        conf, outcome = confidences(p, y, head)
        out[f"ece_{tag}"] = ece(conf, outcome)
        out[f"brier_{tag}"] = brier(p, y, head)
        out[f"reliability_{tag}"] = reliability(conf, outcome)
    out["n"] = len(logits)
    return out


# --------------------------------------------------------------------------------------------- chance
NEAR_CHANCE_SKILL = 0.2


def skill(figure: float | None, chance: float | None) -> float | None:
    """How far a test figure got from chance toward perfect: (figure - chance) / (1 - chance); 0 is chance."""
    if figure is None or chance is None or chance >= 1:
        return None
    return round((figure - chance) / (1 - chance), 4)


def near_chance(figure: float | None, chance: float | None) -> bool:
    """True where an expert's own test figure is less than NEAR_CHANCE_SKILL of the way from chance to perfect
    (its answers are not to be trusted), or unknown (no test split)."""
    s = skill(figure, chance)
    return s is None or s < NEAR_CHANCE_SKILL


def multilabel_chance(Ytr: torch.Tensor, Yte: torch.Tensor) -> float:
    """Element-wise accuracy of the best constant guess per label learned on the training models (the paper's
    "about 0.5")."""
    guess = (Ytr.float().mean(0) > 0.5).float()
    return float((guess == Yte.float()).float().mean())

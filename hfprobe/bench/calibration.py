"""The bench's calibration rows: per tree and method, expected calibration error (15 bins), Brier score and the
reliability diagram of test probabilities, before calibration (raw sigmoid / softmax of the raw logits) and after
(each method calibrated on its own validation models, as `hfprobe train` calibrates an expert), and the plot panel.

    >>> row = method_calibration(model, "multilabel", Xva, Yva, Xte, Yte)      # doctest: +SKIP
    >>> row["ece_before"], row["ece_after"], row["method"]                    # doctest: +SKIP
"""

from __future__ import annotations

import torch

from ..experts.calibrate import calibration_report, ece, fit_calibration, reliability
from ..experts.train import predict_logits


def method_calibration(
    model, head: str, Xva, Yva, Xte, Yte, text_emb=None, calibration: dict | None = None, *, zero_shot: bool = False
) -> dict:
    """ECE, Brier and reliability of one trained probe on test, before and after calibration. `calibration`: the
    expert's own (fitted on validation when it was trained); None: fitted here on (Xva, Yva)."""
    if calibration is None:
        calibration = fit_calibration(predict_logits(model, Xva, text_emb), Yva, head)
    rep = calibration_report(predict_logits(model, Xte, text_emb), Yte, calibration, head, zero_shot=zero_shot)
    part = (calibration.get("zero_shot") or calibration) if zero_shot else calibration
    return {"method": part["method"], "params": part.get("params"), **rep}


def readout_calibration(rows: list[tuple[float | None, float, bool]]) -> dict | None:
    """Rows (probability right, softmax share of the top z-score, top label right) of the readout on test LoRAs:
    its "probability right" against the naive share, as ECE, Brier and reliability."""
    rows = [r for r in rows if r[0] is not None]
    if not rows:
        return None
    after = torch.tensor([r[0] for r in rows], dtype=torch.float64)
    before = torch.tensor([r[1] for r in rows], dtype=torch.float64)
    right = torch.tensor([float(r[2]) for r in rows], dtype=torch.float64)
    return {
        "method": "readout-margin",
        "ece_before": ece(before, right),
        "ece_after": ece(after, right),
        "brier_before": round(float((before - right).pow(2).mean()), 6),
        "brier_after": round(float((after - right).pow(2).mean()), 6),
        "reliability_before": reliability(before, right),
        "reliability_after": reliability(after, right),
        "n": len(rows),
    }


def plot_reliability(axes, result: dict) -> None:
    """One reliability diagram per tree: the expert (ProbeX) before (dashed) and after (solid) calibration, and on
    text trees the readout's probability right."""
    for ax, (tree, row) in zip(axes, result["trees"].items()):
        ax.plot([0, 1], [0, 1], color="0.7", lw=0.8)
        cal = row.get("calibration") or {}
        series = [("probex", "C0")] + ([("readout", "C5")] if cal.get("readout") else [])
        for name, color in series:
            c = cal.get(name)
            if not c:
                continue
            for tag, style in (("before", "--"), ("after", "-")):
                pts = c[f"reliability_{tag}"]
                ax.plot(
                    [p["confidence"] for p in pts],
                    [p["accuracy"] for p in pts],
                    style,
                    marker=".",
                    color=color,
                    lw=1,
                    label=f"{name} {tag} (ECE {c[f'ece_{tag}']:.3f})",
                )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(f"{tree}: reliability", fontsize=8)
        ax.set_xlabel("probability", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=5.5, loc="upper left")

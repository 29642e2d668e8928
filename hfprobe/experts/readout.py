"""Zero-shot readout: what was a text-to-image LoRA trained on, read from its cross-attention deltas alone.

A LoRA trained on the caption "a photo of a {c}" changes the cross-attention key/value projections
(`attn2.to_k`, `attn2.to_v`) that read the caption's token states H, and its gradient lives in the span
of H. So for each candidate label we take the base text encoder's token states for the same prompt,
centre them over the candidate set (what all prompts share carries no information about the label),
and score the label by how strongly the deltas respond to them:

    score(label) = sum over cross-attn k/v modules m of  w_m * ||dW_m @ Hc(label)^T||_F / ||Hc(label)||_F

No expert and no training: only the base model's text encoder is needed. Where it cannot be loaded,
or the adapter has no cross-attention deltas, or the top label does not stand out (margin below a
threshold chosen on validation models, or on the adapter's own shuffled null for another candidate count, so that
an adapter with nothing to read passes it 5% of the time), the readout abstains and says why.

    >>> states = MiniLMStates().states(["dog", "cat", "violin"])      # doctest: +SKIP
    >>> out = readout_predict(view, ["dog", "cat", "violin"], text_states=states, top_k=3)  # doctest: +SKIP
    >>> out["predictions"][0]["label"], out["margin"], out["abstained"]  # doctest: +SKIP
    ('dog', 2.7, False)

Cost (`readout_features.py`): the label side is compressed once per (encoder, template, labels) into a few vectors
per label (exact: an SVD of each label's centred states) and kept in the cache beside the states, the delta side
into r rows per module (exact for rank-r deltas), so scoring is one matmul. All of it is numpy: a readout through
cached states imports no torch (the torch formula is the oracle in tests/test_readout.py).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import TextEncoderError
from ..text.encoders import TEMPLATE
from ..text.states import TextStates
from .crossattn import (
    METHOD,
    MIN_LABELS,
    abstention,
    cross_attention_modules,
    cross_attention_widths,
    delta_modules,
    no_encoder,
    text_reader,
    why_unreadable,
)
from .readout_features import Factors, as_array, delta_factors, dense, module_scores, prepare_labels


# --------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class ReadoutConfig:
    """How labels are scored. Defaults are the variant chosen on validation models (bench_readout.py)."""

    center: str = "none"  # "mean": subtract the mean token state over all candidates' tokens; "none"
    tokens: str = "all"  # "all": every token the UNet attends to; "label": only the label's own tokens
    key_weight: float = 0.0  # weight of attn2.to_k deltas (keys alone were worst on the zoo: 0.06 over 60)
    value_weight: float = 1.0  # weight of attn2.to_v deltas
    per_module: str = "equal"  # "raw": sum norms as they are; "equal": each module divided by its mean over labels
    max_vectors: int = 16  # label side keeps this many singular directions (exact when tokens <= this)
    threshold: float = 0.0  # abstain when margin (top-1 minus top-2, in std units over candidates) is below
    threshold_source: str = "not calibrated"
    calibrated_labels: int = 0  # candidate count the fixed threshold was chosen at (margins shrink as it grows)
    # with a different candidate count the threshold comes from this adapter's shuffled null (`adapter_threshold`):
    # this many draws above SMALL_LIST candidates (each draw costs one scoring), 19 up to it
    null_draws: int = 8
    # stop drawing once the margin is below what the draws so far set (the answer is then known to be an abstention;
    # the threshold reported is what those draws set); False draws them all (benchmarks that study the threshold)
    stop_early: bool = True

    def key(self) -> str:
        return f"{self.center}-{self.tokens}-{self.max_vectors}"


@lru_cache(maxsize=1)
def default_config() -> ReadoutConfig:
    """The calibrated settings shipped in hfprobe/data/readout.json (variant + abstain threshold + provenance)."""
    try:
        data = json.loads(resources.files("hfprobe").joinpath("data/readout.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ReadoutConfig()
    fields = ReadoutConfig.__dataclass_fields__
    return ReadoutConfig(**{k: v for k, v in data.get("config", {}).items() if k in fields})


@lru_cache(maxsize=1)
def probability_calibration() -> dict | None:
    """The shipped fit of "probability right" (hfprobe/data/readout.json, `probability`), or None."""
    try:
        data = json.loads(resources.files("hfprobe").joinpath("data/readout.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return data.get("probability")


def probability_right(margin: float | None, threshold: float, n_labels: int, calibration: dict | None = None):
    """How likely the readout's top label is right, from its margin: a logistic fit on validation LoRAs
    (benchmarks/calibrate_readout.py; feature "margin", "excess" = margin - threshold, or "excess+log_n").
    None where there is no fit or no margin, or over fewer than MIN_LABELS candidates (the fit never saw those).

    >>> probability_right(3.0, 1.0, 60, {"feature": "excess", "weights": [2.0, 0.0]})
    0.982
    """
    cal = probability_calibration() if calibration is None else calibration
    if not cal or margin is None or n_labels < MIN_LABELS:
        return None
    feat = {
        "margin": [margin],
        "excess": [margin - threshold],
        "excess+log_n": [margin - threshold, math.log(n_labels)],
    }[cal["feature"]]
    w = cal["weights"]
    z = sum(a * x for a, x in zip(w[:-1], feat)) + w[-1]
    return round(1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0))), 4)


def combine(per_mod: np.ndarray, names: list[str], cfg: ReadoutConfig) -> np.ndarray:
    """Weighted sum over modules -> one score per label."""
    w = np.array([weight(n, cfg) for n in names], np.float32)
    if cfg.per_module == "equal":
        per_mod = per_mod / np.maximum(per_mod.mean(0, keepdims=True), 1e-30)
    return per_mod @ w


def _std(x: np.ndarray, axis=None) -> np.ndarray:
    """The sample standard deviation (n - 1), floored away from zero: what every threshold was calibrated with."""
    return np.maximum(np.std(x, axis=axis, ddof=1), 1e-12)


def zscore(scores: np.ndarray) -> np.ndarray:
    """Scores in standard deviations over the candidates (zeros for a single one)."""
    return (scores - scores.mean()) / _std(scores) if scores.size > 1 else scores * 0


def margin_of(scores: np.ndarray) -> float:
    """Top-1 minus top-2, in units of the scores' standard deviation over the candidates."""
    scores = np.asarray(scores)
    if scores.size < 2:
        return 0.0
    second, first = np.partition(scores, scores.size - 2)[-2:]
    return float((first - second) / _std(scores))


# --------------------------------------------------------------------------------------------- scoring
def deltas_of(view) -> tuple[dict, dict[str, int]]:
    """Cross-attention k/v deltas (scaled by alpha/r) of a formats view, or of a plain {name: dW or (B, A)} dict, and
    the ranks known of dense ones. A LoRA module's delta is its factors (B, A): its ΔW is never composed (SDXL's 70
    value projections were 2.7 s of a 4.9 s readout). A LoHa's or LoKr's ΔW is read whole (its rank is not its r)."""
    if isinstance(view, dict):
        return {
            n: view[n] if isinstance(view[n], tuple) else as_array(view[n]) for n in cross_attention_modules(view)
        }, {}
    deltas = {}
    for n in delta_modules(view):
        factors = view.factors(n, scaled=True, numpy=True)
        deltas[n] = factors if factors is not None else view.layer(n, scaled=True, numpy=True)
    return deltas, {}


def score_labels(
    deltas: dict[str, np.ndarray],
    ts: TextStates,
    cfg: ReadoutConfig | None = None,
    *,
    ranks: dict[str, int] | None = None,
    pool: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """One score per label of `ts` (higher = more likely what the adapter was trained on).

    `pool` = (mean, std) per label from `pool_stats` turns scores into z-scores against other adapters,
    which removes labels that light up for every adapter.

        >>> s = score_labels({"unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k": dw}, ts)  # doctest: +SKIP
    """
    return score_factors(delta_factors(deltas, ranks), ts, cfg, pool=pool)


def weight(name: str, cfg: ReadoutConfig) -> float:
    """A module's weight in the score: keys' and values' from the config."""
    return float(cfg.key_weight) if name.endswith("to_k") else float(cfg.value_weight)


def weighted(factors: dict, cfg: ReadoutConfig) -> dict:
    """The modules whose weight is not zero (the others add exactly nothing to any score): the shipped config weighs
    values only, so keys need no scoring."""
    kept = {n: c for n, c in factors.items() if weight(n, cfg)}
    return (Factors(kept) if isinstance(factors, Factors) else kept) if kept else factors


def score_factors(
    factors: dict[str, np.ndarray], ts: TextStates, cfg: ReadoutConfig | None = None, *, pool=None
) -> np.ndarray:
    """`score_labels` on precomputed `delta_factors` (for scoring one adapter many times)."""
    cfg = cfg or default_config()
    factors = weighted(factors, cfg)
    s = combine(module_scores(factors, prepare_labels(ts, cfg)), list(factors), cfg)
    if pool is not None:
        s = (s - pool[0]) / pool[1]
    return s


def pool_stats(pool_deltas: list[dict[str, np.ndarray]], ts: TextStates, cfg: ReadoutConfig | None = None):
    """(mean, std) of every label's score over a pool of adapters of the same tree (not the ones under test)."""
    cfg = cfg or default_config()
    scores = np.stack(
        [score_factors(d, ts, cfg) if isinstance(d, Factors) else score_labels(d, ts, cfg) for d in pool_deltas]
    )
    return scores.mean(0), _std(scores, axis=0)


def readout_predict(
    view,
    labels: list[str],
    *,
    text_states=None,
    top_k: int = 5,
    config: ReadoutConfig | None = None,
    template: str = TEMPLATE,
    pool=None,
    token=None,
) -> dict:
    """Rank candidate labels for one adapter from its cross-attention deltas; abstain when it cannot tell.

    `view`: an `hfprobe.formats.open_weights` view (or {canonical name: dW}). `text_states`: a TextStates for
    exactly `labels`, a provider (MiniLMStates(), CLIPStates(root)), or None to pick the base text encoder from
    the cross-attention width (`cross_attention` in hfprobe/data/text_encoders.json). Never raises for a missing
    encoder, a non-diffusion adapter, or fewer than MIN_LABELS candidates: it returns abstained=True with a one-line
    reason (crossattn.why_unreadable: the checks that need neither bytes nor an encoder).

    Returns {"method": "readout", "encoder", "labels": n, "predictions": [{label, score, method}], "margin",
    "threshold", "threshold_source", "abstained", "reason", "modules": n}. Scores are z-scores over the
    candidates (or against the pool when one is given); margin is top-1 minus top-2 in those units. Where the
    threshold comes from the adapter's own null and it abstains, the threshold may be what the first draws set
    (`adapter_threshold`: drawing stops once the answer is known; `threshold_source` says so).

        >>> readout_predict(view, ["dog", "cat", "violin"], text_states=MiniLMStates())  # doctest: +SKIP
    """
    from ..text.vocab import check_labels

    labels = check_labels(labels)
    if hasattr(view, "check_complete"):  # a truncated file: refused, not half-read
        view.check_complete("the readout")
    cfg = config or default_config()
    why = why_unreadable(view, len(labels))  # before any encoder is loaded or byte read
    if why:
        return abstention(why, labels)
    width = cross_attention_widths(view).pop()
    if text_states is None:
        text_states, why = text_reader(view, token=token)
        if why:
            return abstention(why, labels)
    try:
        ts = text_states if isinstance(text_states, TextStates) else text_states.states(labels, template)
    except TextEncoderError as err:
        return abstention(no_encoder(err), labels)
    deltas, ranks = deltas_of(view)  # read the delta bytes only once an encoder is at hand
    if ts.labels != labels:
        raise TextEncoderError(
            f"readout: text_states were computed for other labels ({len(ts.labels)}); "
            "compute them for exactly the candidate list"
        )
    if ts.dim != width:
        return abstention(
            f"text encoder {ts.encoder} gives {ts.dim}-d token states but the cross-attention reads "
            f"{width}-d ones; this adapter belongs to another tree",
            labels,
        )
    # the modules `weighted` scores (values only, as shipped; all of them where none has a weight) get their factors
    factors = delta_factors(deltas, ranks, only={n for n in deltas if weight(n, cfg)} or None)
    s = score_factors(factors, ts, cfg, pool=pool)
    if pool is None:
        s = zscore(s)
    margin = margin_of(s)
    order = np.argsort(-s, kind="stable")[: max(1, top_k)]
    threshold, source = cfg.threshold, cfg.threshold_source
    if cfg.calibrated_labels and len(labels) != cfg.calibrated_labels and pool is None and cfg.null_draws:
        # margins are in std units over the candidates, so their null grows with the candidate count: recalibrate
        # on this adapter's own shuffled-column null (same spectra, no alignment with the text space)
        threshold, source = adapter_threshold(
            factors, ts, cfg, seed=seed_of(deltas), margin=margin if cfg.stop_early else None
        )
    abstained = margin < threshold
    reason = None
    if abstained:
        reason = (
            f"top label does not stand out: margin {margin:.2f} < threshold {threshold:.2f} "
            "(trigger-word or uncaptioned LoRAs have nothing to read)"
        )
    preds = [{"label": labels[i], "score": round(float(s[i]), 4), "method": METHOD} for i in order.tolist()]
    p_right = probability_right(margin, threshold, len(labels))
    if p_right is not None:  # the top label's chance of being right; the other scores stay z-scores
        preds[0].update(probability=p_right, calibration="readout-margin")
    kinds = sorted({getattr(view.modules.get(n), "kind", "lora") for n in deltas}) if not isinstance(view, dict) else []
    return {
        "method": METHOD,
        "encoder": ts.encoder,
        "labels": len(labels),
        "modules": len(deltas),
        "kinds": kinds or ["lora"],  # the adapter kinds read (a LoHa's ΔW is read whole, its probability extrapolated)
        "predictions": preds,
        "probability_right": p_right,
        "margin": round(margin, 4),
        "threshold": round(threshold, 4),
        "threshold_source": source,
        "abstained": abstained,
        "reason": reason,
    }


def null_draws(
    deltas: dict[str, np.ndarray],
    ts: TextStates,
    cfg: ReadoutConfig | None = None,
    *,
    seed: int = 0,
    ranks: dict[str, int] | None = None,
) -> Iterator[float]:
    """Margins of the same deltas with their input columns shuffled, one draw at a time and without end: same
    spectra, no alignment with the text space. Each costs one scoring of every candidate (`null_margins` takes n)."""
    cfg = cfg or default_config()
    rng = np.random.default_rng(seed)
    # ||dW P x|| == ||C P x||: shuffle the small factors' columns instead of the deltas (no SVD per draw)
    factors = delta_factors(deltas, ranks)
    scored = weighted(factors, cfg)
    prepared, names = prepare_labels(ts, cfg), list(scored)
    while True:
        # one permutation per module, scored or not, so the draws stay those every module was calibrated with
        perms = {name: rng.permutation(c.shape[1]) for name, c in factors.items()}
        shuffled = {name: c[:, perms[name]] for name, c in scored.items()}
        yield margin_of(zscore(combine(module_scores(shuffled, prepared), names, cfg)))


def null_margins(
    deltas: dict[str, np.ndarray],
    ts: TextStates,
    cfg: ReadoutConfig | None = None,
    *,
    n: int = 8,
    seed: int = 0,
    ranks: dict[str, int] | None = None,
) -> list[float]:
    """The first `n` of `null_draws`. Their upper quantile over validation models is a threshold that a
    no-information adapter passes rarely (see `calibrate_threshold`)."""
    return list(itertools.islice(null_draws(deltas, ts, cfg, seed=seed, ranks=ranks), n))


FALSE_ANSWER_RATE = 0.05  # how often an adapter with nothing to read may pass its own threshold


SMALL_LIST = 100  # up to this many candidates a null draw is cheap enough to take 19 of them


def seed_of(deltas: dict) -> int:
    """A seed for an adapter's null draws from its own weights (the first 4 kB of each delta or factor, as read):
    the same file draws the same shuffles on every machine, and two adapters draw different ones. With one seed
    for all, the draws' luck was shared: the first 8 of seed 0 averaged 0.61 to 0.75 on three LoRAs of one tree
    whose null margins average 0.40, so every adapter of that tree got a threshold 1.5 to 1.9 times too high."""
    import hashlib

    h = hashlib.blake2b(digest_size=8)
    for name in sorted(deltas):
        h.update(name.encode())
        for part in deltas[name] if isinstance(deltas[name], tuple) else (deltas[name],):
            arr = as_array(part)
            h.update(str(arr.shape).encode() + np.ascontiguousarray(arr).reshape(-1)[:1024].tobytes())
    return int.from_bytes(h.digest(), "little")


def adapter_threshold(
    deltas, ts: TextStates, cfg: ReadoutConfig, ranks=None, seed: int = 0, margin: float | None = None
) -> tuple[float, str]:
    """The margin this adapter's own shuffled-column null passes with probability FALSE_ANSWER_RATE, and how it
    was set (for a candidate list the shipped threshold was not calibrated at).

    Up to SMALL_LIST candidates: the largest of 19 null margins, which a 20th passes 1 time in 20 whatever their
    distribution. Above it, where a draw costs a scoring of every candidate: from `cfg.null_draws` (8) draws, as
    `c` times their mean, with c = n (rate^(-1/n) - 1) (3.63 for 8). The gap between the two highest of many
    z-scores is close to exponential (extreme-value theory: the top spacings of a Gaussian-like sample), and a
    new exponential draw exceeds c times the mean of n others with probability (1 + c/n)^-n = rate exactly.
    The q95 of 8 draws used before sat near their largest and let 13% of null margins through at every list
    size measured; this rule lets 4.5% through at 1,053 candidates (benchmarks/bench_readout_null.py).

    With the adapter's `margin`, drawing stops once the draws so far set a threshold above it: margins are never
    negative, so more draws could only raise either rule's figure, and the answer (abstain) is the one all the draws
    would give. The threshold returned is then what the draws taken set, and the source says so.
    """
    n_labels = len(ts.labels)
    short = n_labels <= SMALL_LIST
    n = math.ceil(1 / FALSE_ANSWER_RATE) - 1 if short else max(1, cfg.null_draws)
    c = 1.0 if short else n * (FALSE_ANSWER_RATE ** (-1 / n) - 1)
    taken: list[float] = []
    for draw in null_draws(deltas, ts, cfg, seed=seed, ranks=ranks):
        taken.append(draw)
        # the threshold so far: the largest draw, or c times the sum over n (the mean once all n are in)
        threshold = max(taken) if short else c * math.fsum(taken) / n
        if len(taken) == n or (margin is not None and threshold > margin):
            break
    if short:
        source = (
            f"the largest of {n} shuffled-column null margins of this adapter ({n_labels} candidates; an adapter "
            f"with nothing to read passes it 1 time in {n + 1})"
        )
    else:
        source = (
            f"{c:.2f} x the mean of {n} shuffled-column null margins of this adapter ({n_labels} candidates; an "
            f"adapter with nothing to read passes it {FALSE_ANSWER_RATE:.0%} of the time, the top gap being close "
            "to exponential)"
        )
    if len(taken) < n:
        source += f"; {len(taken)} of the {n} draws already set it above the margin, and more could only raise it"
    return threshold, source


def calibrate_threshold(null: list[float], quantile: float = 0.95) -> float:
    """The `quantile` of null margins pooled over validation models (a false-answer rate of 1 - quantile)."""
    if not null:
        return 0.0
    return float(np.quantile(np.asarray(null, np.float64), quantile))


def random_deltas(deltas: dict[str, np.ndarray], rank: int, seed: int) -> dict[str, np.ndarray]:
    """Rank-matched random deltas with the same Frobenius norm per module: adapters with nothing to read,
    which the readout should abstain on (a null model for tests and benchmarks)."""
    rng = np.random.default_rng(seed)
    out = {}
    for n, d in deltas.items():
        d = dense(d)
        r = rng.standard_normal((d.shape[0], rank), dtype=np.float32) @ rng.standard_normal(
            (rank, d.shape[1]), dtype=np.float32
        )
        out[n] = r * np.float32(np.linalg.norm(d) / np.linalg.norm(r))
    return out

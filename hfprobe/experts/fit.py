"""Fitting a tree's expert: sweep the candidate layers on validation, keep the best, and wrap it as an
`Expert` with its config, metrics and routing statistics. `hfprobe train` and `hfprobe bench` both go
through `fit_expert` (the sweep-then-wrap step, written once).

    >>> expert, scores = fit_tree(zoo, "vit-fmnist-a", TrainConfig())    # doctest: +SKIP
"""

from __future__ import annotations

import torch

from ..errors import UsageError, ZooError
from ..text.encoders import get_text_encoder
from ..zoo.layercache import LazyLayers
from .calibrate import (
    calibration_report,
    choose_threshold,
    fit_calibration,
    multilabel_chance,
    near_chance,
    probabilities,
    skill,
)
from .data import TreeData, candidate_layers, holdout_targets, load_tree, zero_shot_vals
from .expert import Expert
from .probes import TrainConfig, probe_sizes
from .route import spread_stats
from .train import TrainResult, ZeroShotVal, evaluate, predict_logits, train_probe


def sweep_layers(
    layers: dict, Ytr, Yva, cfg: TrainConfig, *, text_emb=None, progress=True, zero_shot: dict | None = None
) -> tuple[str, dict, dict]:
    """Train one probe per candidate layer and keep the best on validation (the paper's layer choice).

    `layers`: {layer_name: (Xtr, Xva)}; `zero_shot`: {layer_name: ZeroShotVal}, optional (text head); either
    may be lazy (hfprobe.zoo.layercache.LazyLayers), one layer in memory at a time.
    Returns (best_name, {name: TrainResult}, {name: selection score}); only the best layer's result keeps its
    model (the others' `model` is None: 96 dense probes on 1280x1280 layers would not fit in memory).
    """
    results: dict = {}
    lead = None  # the best so far, by the same key as the final choice
    for name, (Xtr, Xva) in layers.items():
        results[name] = train_probe(
            Xtr,
            Ytr,
            Xva,
            Yva,
            cfg,
            text_emb=text_emb,
            progress=progress,
            desc=name[-40:],
            zero_shot=(zero_shot or {}).get(name),
        )
        if lead is None or (results[name].score, -len(name)) > (results[lead].score, -len(lead)):
            lead, loser = name, lead
        else:
            loser = name
        if loser is not None:
            results[loser].model = None
    scores = {n: r.score for n, r in results.items()}
    best = max(scores, key=lambda n: (scores[n], -len(n)))
    return best, results, scores


def train_expert(
    Xtr,
    Ytr,
    Xva,
    Yva,
    *,
    labels: list[str],
    cfg: TrainConfig,
    root: str,
    layer: str,
    family: str | None = None,
    text_encoder=None,
    Xte=None,
    Yte=None,
    zoo_hash: str | None = None,
    name: str | None = None,
    progress: bool = True,
    result: TrainResult | None = None,
    zero_shot: ZeroShotVal | None = None,
):
    """Train a ProbeX on one tree's layer and wrap it as an `Expert` (config, metrics, calibration and routing
    stats). The expert is calibrated on (Xva, Yva), and on `zero_shot` (held-out validation models) for zero-shot
    label sets; test models are only measured.

    For cfg.head == "text", `text_encoder` (hfprobe.text.TextEncoder) embeds "a photo of a {}" for
    every label; Y are indices into `labels`. For "multilabel", Y are multi-hot rows over `labels`.
    `result`: an already trained probe (e.g. the winner of a layer sweep) to wrap instead of training.
    """

    text_emb, text_cfg = None, None
    if cfg.head == "text":
        if text_encoder is None:
            raise ValueError("head='text' needs a text encoder")
        text_emb = text_encoder.embed_labels(labels)
        text_cfg = {"id": text_encoder.id, "dim": text_encoder.dim, "prompt": text_encoder.prompt}
    if result is None:
        result = train_probe(
            Xtr, Ytr, Xva, Yva, cfg, text_emb=text_emb, progress=progress, desc=name or root, zero_shot=zero_shot
        )
    res = result
    metrics = {
        "val": res.best_val,
        "best_epoch": res.best_epoch,
        "epochs": res.epochs,
        "train_seconds": round(res.seconds, 2),
        "n_train": len(Xtr),
        "n_val": len(Xva),
    }
    if Xte is not None and len(Xte):
        metrics["test"] = evaluate(res.model, Xte, Yte, cfg.head, text_emb)
        metrics["n_test"] = len(Xte)
    if res.best_zero_shot_val is not None:
        metrics["zero_shot_val"] = res.best_zero_shot_val
    metrics["metric"] = "elementwise_accuracy" if cfg.head == "multilabel" else "top1"
    calibration = calibrate_expert(res.model, cfg.head, Xva, Yva, text_emb=text_emb, zero_shot=zero_shot)
    metrics.update(_chance_metrics(cfg.head, labels, Ytr, Yte, metrics))
    if "test" in metrics:
        metrics.update(_test_calibration(res.model, cfg.head, Xte, Yte, text_emb, calibration))
    # the tree's spread, for the router: distances of its training and validation models to the centroid
    routing = spread_stats(torch.cat([Xtr, Xva]), res.model.mean)
    config = {
        "name": name or root,
        "root": root,
        "family": family,
        "layer": layer,
        "shape": list(Xtr.shape[1:]),
        "labels": list(labels),
        "head": cfg.head,
        "text_encoder": text_cfg,
        "train": cfg.resolved().to_dict(),
        "trained_on": res.device,  # cpu, cuda:0 or mps: CUDA runs use bf16 autocast (hfprobe.device)
        "sizes": {**probe_sizes(cfg), "params": res.params},
        "metrics": metrics,
        "calibration": calibration,
        "routing": routing,
        "zoo_hash": zoo_hash,
    }
    return Expert(res.model, config, text_emb)


def calibrate_expert(model, head: str, Xva, Yva, *, text_emb=None, zero_shot: ZeroShotVal | None = None) -> dict:
    """The expert's calibration, fitted on its validation models only (hfprobe.experts.calibrate): the method and
    its parameters; for multi-label heads the decision threshold; for a text tree with held-out validation
    categories, a zero-shot temperature fitted on those."""
    logits = predict_logits(model, Xva, text_emb)
    cal = fit_calibration(logits, Yva, head)
    if head == "multilabel":
        cal["threshold"] = choose_threshold(probabilities(logits, cal, head), Yva)
        cal["threshold_chosen_on"] = "val"
    if head == "text" and zero_shot is not None:
        z = fit_calibration(predict_logits(model, zero_shot.X, zero_shot.text_emb), zero_shot.y, "text")
        cal["zero_shot"] = {k: z[k] for k in ("method", "params", "val_nll_before", "val_nll_after", "n")}
        cal["zero_shot"]["chosen_on"] = "val_holdout"
    return cal


def _chance_metrics(head: str, labels, Ytr, Yte, metrics: dict) -> dict:
    """Chance on the expert's own test split, how far above it the expert is, and the near-chance flag (on
    validation where there is no test split)."""
    if head == "multilabel":
        chance = multilabel_chance(Ytr, Yte if Yte is not None and len(Yte) else Ytr)
    else:
        chance = 1.0 / len(labels)
    on = "test" if "test" in metrics else "val"
    return {
        "chance": round(chance, 4),
        "skill": skill(metrics[on], chance),
        "near_chance": near_chance(metrics[on], chance),
        "near_chance_on": on,
    }


def _test_calibration(model, head: str, Xte, Yte, text_emb, calibration: dict) -> dict:
    """Test ECE (15 bins) and Brier score before and after calibration, and (multi-label) the test figure of the
    decided labels: reported, never used to fit anything."""
    logits = predict_logits(model, Xte, text_emb)
    rep = calibration_report(logits, Yte, calibration, head)
    out = {f"test_{k}": rep[k] for k in ("ece_before", "ece_after", "brier_before", "brier_after")}
    if head == "multilabel":
        decided = probabilities(logits, calibration, head) >= calibration["threshold"]
        out["test_decided"] = float((decided.float() == Yte.float()).float().mean())
    return out


def fit_tree(
    zoo,
    tree: str,
    cfg: TrainConfig,
    *,
    layers="auto",
    text_encoder=None,
    progress=True,
    family: str | None = None,
    data: TreeData | None = None,
):
    """Train the expert of one zoo tree: read its candidate layers, then `fit_expert`.

    `layers`: "auto" (attention q/k/v layers, see `candidate_layers`) or a list of layer names.
    Returns (expert, {layer: validation score}).
    """
    kinds = ["probex", "bilinear"] if cfg.kind == "auto" else [cfg.kind]
    names = {k: candidate_layers(zoo, tree, kind=k) if layers == "auto" else list(layers) for k in kinds}
    if not any(names.values()):
        raise ZooError(f"{zoo.path}: tree {tree} has no 2-D layer to probe")
    everything = list(dict.fromkeys(n for k in kinds for n in names[k]))
    data = data or load_tree(zoo, tree, everything, progress=progress)
    expert = fit_expert(
        data,
        cfg,
        names,
        text_encoder=text_encoder,
        family=family,
        progress=progress,
        zoo_hash=(getattr(zoo, "info", None) or {}).get("hash"),
    )
    return expert, expert.config["metrics"]["layer_sweep"]


def fit_expert(
    data: TreeData,
    cfg: TrainConfig,
    layers: dict[str, list[str]],
    *,
    text_encoder=None,
    family: str | None = None,
    zoo_hash: str | None = None,
    progress: bool = True,
) -> Expert:
    """The sweep-then-wrap step `hfprobe train` and `hfprobe bench` share: one probe per candidate layer,
    the best on validation wrapped as an `Expert` with its test, zero-shot and sweep metrics.

    `layers`: {kind: candidate layer names}. `cfg.kind`: "probex", "bilinear" (text trees only) or "auto":
    ProbeX on multi-label trees; on text trees both, each on its own candidates, keeping the one with the
    better validation score (`kind_sweep` in the expert's metrics). `text_encoder`: an encoder or its id,
    used only by text-aligned trees (default "minilm").
    """
    tree = data.tree
    kinds = ["probex", "bilinear"] if cfg.kind == "auto" else [cfg.kind]
    cfg = TrainConfig.from_dict({**cfg.to_dict(), "head": data.head})
    if cfg.kind == "auto" and cfg.head != "text":
        kinds = ["probex"]  # the bilinear probe reads text-aligned trees only
    if cfg.kind == "bilinear" and cfg.head != "text":
        raise UsageError(
            f"tree {tree} has multi-label models; the bilinear probe scores one category per model "
            "by its text embedding, so it needs a text-aligned tree; train this tree with --kind probex or auto"
        )
    if cfg.head == "text" and (text_encoder is None or isinstance(text_encoder, str)):
        text_encoder = get_text_encoder(text_encoder)  # loaded only when a tree needs it
    text_emb = text_encoder.embed_labels(data.labels) if cfg.head == "text" else None
    everything = list(dict.fromkeys(n for k in kinds for n in layers[k]))
    zsv = zero_shot_vals(data, everything, text_encoder)
    sweeps = {}
    for kind in kinds:  # with --kind auto on a text tree: both probes, the better on validation is kept
        kcfg = TrainConfig.from_dict({**cfg.to_dict(), "kind": kind})
        per_layer = LazyLayers(layers[kind], lambda n: (data.X[n]["train"], data.X[n]["val"]))
        sweeps[kind] = (
            kcfg,
            *sweep_layers(
                per_layer, data.Y["train"], data.Y["val"], kcfg, text_emb=text_emb, progress=progress, zero_shot=zsv
            ),
        )
    chosen_on = {k: scores[best] for k, (_, best, _, scores) in sweeps.items()}  # each kind's best layer's score
    kind = max(kinds, key=lambda k: (chosen_on[k], -kinds.index(k)))  # a tie keeps ProbeX
    cfg, best, results, scores = sweeps[kind]
    X, Y = data.X[best], data.Y
    expert = train_expert(
        X["train"],
        Y["train"],
        X["val"],
        Y["val"],
        labels=data.labels,
        cfg=cfg,
        root=data.root or tree,
        layer=best,
        family=family,
        text_encoder=text_encoder,
        Xte=X.get("test"),
        Yte=Y.get("test"),
        zoo_hash=zoo_hash,
        name=tree,
        result=results[best],
        zero_shot=(zsv or {}).get(best),
    )
    expert.config["metrics"]["layer_sweep"] = scores
    if len(sweeps) > 1:
        expert.config["metrics"]["kind_sweep"] = chosen_on
    if cfg.head == "text" and len(set(Y.get("test_holdout", torch.empty(0)).tolist())) >= 2:
        y, emb, _ = holdout_targets(data, "test_holdout", text_encoder)
        m = expert.config["metrics"]
        m["zero_shot_test"] = evaluate(expert.model, X["test_holdout"], y, "text", emb)
        m["zero_shot_chance"] = 1.0 / len(emb)
        m["zero_shot_near_chance"] = near_chance(m["zero_shot_test"], m["zero_shot_chance"])
        rep = calibration_report(
            predict_logits(expert.model, X["test_holdout"], emb),
            y,
            expert.config["calibration"],
            "text",
            zero_shot=True,
        )
        m.update({f"zero_shot_test_{k}": rep[k] for k in ("ece_before", "ece_after", "brier_before", "brier_after")})
    expert.config["tree"] = tree
    return expert

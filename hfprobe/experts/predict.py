"""Predict what a model was fine-tuned on: route it to its tree's expert, read ONE layer, score labels.

    >>> out = predict("./my-lora", top_k=3)                                    # doctest: +SKIP
    >>> out["tree"], out["expert"]["name"], out["predictions"][0]              # doctest: +SKIP
    >>> predict("org/some-lora", labels=["dog", "cat", "red fox"])             # zero-shot  # doctest: +SKIP

Returned dict (the `--json` output of `hfprobe predict`):
    source        what was read ("path" or "org/name@rev")
    revision_sha  a Hub source: the commit every read was pinned to; null for local sources
    tree          {id, confidence, family, family_confidence, root, root_confidence}: the family and root from
                  `inspect` (root: the routed expert's root when routed), each as sure as `inspect` says (the root's:
                  its share among the roots the weights fit; null for an expert's root the weights do not single out
                  as a candidate); id and confidence: the tree that root is in, as `inspect`'s `root.tree` and the
                  index's `tree` give it (the root up the registry's parent links; SD 2.1 -> SD 2-base)
    expert        {name, root, layer, head, kind, version, zoo_hash, metrics} or null when the router abstained
    method        "probex" (classification head), "probex-text" / "bilinear-text" (text head over the expert's
                  own labels),
                  "zero-shot" (text head over the labels given), "readout" (labels the expert never trained
                  on, or no expert: the LoRA's cross-attention read against the labels), or "abstain"
    readout       the readout's full answer (margin, threshold, abstained, reason, probability_right) whenever it
                  was consulted; once it abstained, no probability (probability_right null)
    predictions   [{label, score, method, probability, calibration, decided}] best first by probability:
                  probability = calibrated on the expert's validation models (per label for multi-label heads,
                  a softmax over the labels asked for text heads; the readout: its top label's chance of being
                  right); score = the method's raw scale: raw sigmoid (probex), cosine (ProbeX text head), the
                  bilinear probe's scaled response (0 to 10), z-score (readout); decided (multi-label heads):
                  probability >= the threshold chosen on validation
    calibration   {method, note}: what the probabilities are
    decision      {labels, rule[, threshold]}: every decided label (multi-label), or the top label
    near_chance   true where the expert is near chance on its own test split (near_chance_reason says so)
    routing       the router's decision: abstain, reason, distance, threshold, candidates
    bytes_read    bytes read from the source (for a Hub repo: headers + the one layer)
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import ExpertError, UsageError
from .expert import default_experts_dir
from .publish import load_experts_from

log = logging.getLogger(__name__)


def _inspect(src) -> dict:
    try:
        from ..tree.inspect import inspect_source
    except ImportError:  # the tree layer is optional for routing by weights alone
        return {}
    return inspect_source(src)


def _root_confidence(info: dict, root: str | None) -> float | None:
    """How sure `inspect` is of `root`: its share among the candidates the weights fit (None where it is none of them).

    >>> _root_confidence({"root": {"id": "a", "confidence": 0.33, "candidates": [{"id": "b", "score": 0.33}]}}, "b")
    0.33
    """
    found = info.get("root") or {}
    if root is not None and root == found.get("id"):
        return found.get("confidence")
    return next((c.get("score") for c in found.get("candidates") or [] if c.get("id") == root), None)


def _tree(info: dict, family: str | None, root: str | None) -> dict:
    """predict's `tree`: the tree `root` is in (`tree.inspect.tree_of`, as sure as the roots the weights fit in it),
    its family and the root, each as sure as `inspect` is of it.

    >>> found = {"id": "a", "confidence": 0.5, "candidates": [{"id": "a", "score": 0.5}]}
    >>> _tree({"family_confidence": 1.0, "root": found}, "llama", "a")
    {'id': 'a', 'confidence': 0.5, 'family': 'llama', 'family_confidence': 1.0, 'root': 'a', 'root_confidence': 0.5}
    """
    sure = _root_confidence(info, root)
    lineage = None
    if root is not None and info:  # (info is empty where the tree layer is not installed)
        from ..tree.inspect import tree_of

        candidates = (info.get("root") or {}).get("candidates") or []
        lineage = tree_of({"id": root, "confidence": sure or 0.0, "candidates": candidates})
    return {
        "id": lineage["id"] if lineage else root,
        # an expert's root the weights do not fit, in a tree none of their candidates is in: unknown, not 0
        "confidence": lineage["confidence"] if lineage and (sure is not None or lineage["confidence"]) else None,
        "family": family,
        "family_confidence": info.get("family_confidence"),
        "root": root,
        "root_confidence": sure,
    }


def score(
    expert, X, *, labels: list[str] | None = None, text_encoder=None, top_k: int = 5, device=None
) -> tuple[str, list]:
    """Rank labels for layers X of one model with one expert; returns (method, predictions), best first.

    Each prediction: {label, score, method, probability, calibration} and, on multi-label heads, `decided`
    (probability at or above the expert's validation threshold). `score` is the method's raw scale (sigmoid of
    the raw logit, cosine, the bilinear response); `probability` the calibrated one (hfprobe.experts.calibrate).

    X: a numpy array or a torch tensor. On the CPU the probe runs in numpy (hfprobe.experts.infer: no torch);
    `device` (hfprobe.device.resolve_device) runs the expert's torch module there instead, and it goes back to
    the CPU afterwards. Scoring is in fp32 or better everywhere: one model is too small a batch for mixed precision.
    """
    from . import infer

    X = expert.check_layer(X)
    head = expert.config["head"]
    if labels is not None:
        from ..text.vocab import check_labels

        labels = check_labels(labels)
    if infer.runs_here(expert, device):
        X = X if isinstance(X, np.ndarray) else X.numpy()
        emb = None
        if labels is not None:
            emb = infer.label_embeddings(expert, labels, text_encoder)
        elif head == "text":
            emb = expert.arrays["label_text_emb"]
        scores = infer.logits(expert, X, emb)[0]
    else:
        scores = _torch_logits(expert, X, labels, text_encoder, device)
    if labels is not None:
        names, method = labels, "zero-shot"
    elif head == "text":
        names, method = expert.config["labels"], f"{expert.config['train'].get('kind', 'probex')}-text"
    else:
        names, method = expert.config["labels"], "probex"
    zero_shot = labels is not None and not set(labels) <= set(expert.config["labels"])
    probs = infer.probabilities(scores[None], expert.config.get("calibration"), head, zero_shot=zero_shot)[0]
    raw = infer.sigmoid(scores) if head == "multilabel" else scores
    how = calibration_note(expert, zero_shot=zero_shot)["method"]
    preds = []
    for i in np.argsort(-probs, kind="stable")[: max(1, top_k)].tolist():
        p = {
            "label": names[i],
            "score": round(float(raw[i]), 6),
            "method": method,
            "probability": round(float(probs[i]), 4),
            "calibration": how,
        }
        if head == "multilabel":
            p["decided"] = bool(probs[i] >= threshold_of(expert))
        preds.append(p)
    return method, preds


def _torch_logits(expert, X, labels, text_encoder, device) -> np.ndarray:
    """The expert's torch module on `device` (the CPU by default): its raw logits for one model, as float64."""
    import torch

    from ..device import resolve_device
    from . import infer

    dev = resolve_device(device)
    X = torch.from_numpy(X) if isinstance(X, np.ndarray) else X
    with torch.no_grad(), _on(expert, dev):
        X = X.to(dev)
        if labels is not None:
            emb = torch.from_numpy(infer.label_embeddings(expert, labels, text_encoder)).float()
            scores = expert.model(X, emb.to(dev))[0]
        elif expert.config["head"] == "text":
            scores = expert.model(X, expert.label_text_emb.to(dev))[0]
        else:
            scores = expert.model(X)[0]
    return scores.double().cpu().numpy()


def threshold_of(expert) -> float:
    """A multi-label expert's decision threshold on calibrated probabilities (0.5 for an uncalibrated expert)."""
    return float((expert.config.get("calibration") or {}).get("threshold", 0.5))


def calibration_note(expert, *, zero_shot: bool = False) -> dict:
    """What the probabilities of this expert's answers are: {method, note}."""
    cal = expert.config.get("calibration")
    if not cal:
        return {"method": "none", "note": "uncalibrated (an expert trained before calibration; retrain it)"}
    if expert.config["head"] == "text":
        own = not (zero_shot and cal.get("zero_shot"))
        part = cal if own else cal["zero_shot"]
        T = (part.get("params") or {}).get("T")
        where = "validation models" if own else "held-out validation models (zero-shot)"
        return {
            "method": part["method"],
            "note": f"softmax over the labels asked, {part['method']}"
            + (f" T={T:.3g}" if T else "")
            + f", fitted on {part.get('n')} {where}",
        }
    return {
        "method": cal["method"],
        "note": f"per-label probability, {cal['method']} fitted on {cal.get('n')} validation models; decided where "
        f"p >= {threshold_of(expert):.2f} (threshold chosen on validation)",
    }


def trust(expert, method: str) -> dict:
    """The expert's own test figure against chance for the kind of answer given ({test, chance, near_chance}).
    An expert from before the near-chance flag is flagged: unknown is not to be trusted."""
    m = expert.config["metrics"]
    if method == "zero-shot" and m.get("zero_shot_test") is not None:
        fig, chance, flag = m.get("zero_shot_test"), m.get("zero_shot_chance"), m.get("zero_shot_near_chance")
    else:
        fig, chance, flag = m.get("test"), m.get("chance"), m.get("near_chance")
    return {"test": fig, "chance": chance, "near_chance": True if flag is None else bool(flag)}


class _on:
    """Move an expert's probe to `dev` for a block, and back to the CPU (where experts live) after it."""

    def __init__(self, expert, dev):
        self.model, self.dev = expert.model, dev

    def __enter__(self):
        self.model.to(self.dev)

    def __exit__(self, *exc):
        self.model.to("cpu")


def predict(
    spec,
    *,
    labels: list[str] | None = None,
    top_k: int = 5,
    experts=None,
    experts_dir=None,
    text_encoder=None,
    token=None,
    device=None,
) -> dict:
    """Route `spec` (path, folder, Hub repo) to its tree expert and predict its categories.

    `experts`: Expert objects, folders or Hub repo ids; default: every expert under `experts_dir`
    (default $HFPROBE_EXPERTS or <hfprobe cache>/experts). `labels`: zero-shot over these names.
    `device`: where the expert's forward runs (None, "cpu" or "auto": the CPU, in numpy; see `score`); routing and
    the readout stay on the CPU.

    On the CPU an expert's answer needs no torch: the layer is read and the probe run in numpy
    (hfprobe.experts.infer), 0.3 s for a cold `hfprobe predict` where importing torch alone takes 2. Torch loads
    where the readout reads (its text encoders), for LyCORIS and pickled layers, and on a GPU; a model that no
    expert's family covers and the readout cannot read gets its abstention from headers and expert.json files.
    """
    from ..formats import open_weights
    from ..source.resolve import resolve
    from .route import Router

    if top_k < 1:
        raise UsageError(f"--top-k {top_k}: must be at least 1")
    if device not in (None, "auto", "cpu"):  # a device torch does not see fails here, before anything is read
        from ..device import resolve_device

        device = resolve_device(device)
    if labels is not None:
        from ..text.vocab import check_labels

        labels = check_labels(labels)
        if len(labels) < 2:  # a softmax over one label is 1.0 and the readout has no margin: nothing to rank
            from .crossattn import MIN_LABELS

            raise UsageError(
                f"candidate labels: got 1 ({labels[0]!r}); ranking needs at least 2 (--labels a,b or --vocab FILE; "
                f"the expert-free readout needs {MIN_LABELS})"
            )
    where = experts if experts is not None else (experts_dir or default_experts_dir())
    if experts is None and not Path(where).is_dir():
        pool = []  # no experts trained yet: the expert-free readout may still answer
    else:
        pool = load_experts_from(where)
    if not pool and experts is not None:
        raise ExpertError(
            f"{where}: no experts found; train one with `hfprobe train --zoo DIR --tree ROOT --out {where}/NAME`"
        )
    with resolve(spec, token=token) as src:  # closes the files it opened once the answer is in
        info = _inspect(src)
        family = info.get("family")
        declared = (info.get("root") or {}).get("id")
        view = open_weights(src)
        view.check_complete("predict")  # a truncated file: one line, before any work
        cache: dict = {}

        def get_layer(name):  # a numpy array: the expert's forward runs in numpy on the CPU (hfprobe.experts.infer)
            if name not in cache:
                cache[name] = view.layer(name, numpy=True)
            return cache[name]

        if pool:
            decision = Router(pool).route(get_layer, family=family, root=declared)
        else:
            decision = {
                "abstain": True,
                "expert": None,
                "candidates": [],
                "reason": f"no trained experts under {where}; pass --experts a folder or Hub repo of experts "
                "(`hfprobe experts push` makes one), or train one with `hfprobe train`",
            }
        log.info("%s: expert %s (%s)", src.display, decision["expert"] or "none", decision["reason"])
        if experts is not None and len(pool) == 1 and not decision["candidates"]:
            # the user named one expert: a model it cannot read is an error, not an abstention
            pool[0].check_layer(get_layer(pool[0].layer), where=src.display)
        out = {
            "source": src.display,
            "revision_sha": src.revision_sha,  # the commit every Hub read was pinned to; None for local sources
            "tree": _tree(info, family, declared),
            "files": info.get("files"),  # the weights file(s) read, and the source's others where it holds several
            "passed_over": info.get("passed_over"),
            "head": info.get("head"),  # a classifier stored with the weights: its label count, names where given
            "expert": None,
            "method": "abstain",
            "predictions": [],
            "routing": decision,
        }
        if not decision["abstain"]:
            expert = next(e for e in pool if e.name == decision["expert"])
            readout = _readout_for_unseen(expert, view, labels, top_k=top_k, token=token)
            if readout is not None:
                readout = out["readout"] = _without_probability(readout)
            if readout is not None and (not readout["abstained"] or _better_guess(expert, readout)):
                method, preds = "readout", readout["predictions"]
            else:
                method, preds = score(
                    expert,
                    get_layer(expert.layer),
                    labels=labels,
                    text_encoder=text_encoder,
                    top_k=top_k,
                    device=device,
                )
            out.update(
                method=method,
                predictions=preds,
                expert={
                    "name": expert.name,
                    "root": expert.config["root"],
                    "layer": expert.layer,
                    "head": expert.config["head"],
                    "kind": expert.config["train"].get("kind", "probex"),
                    "version": expert.config.get("version"),
                    "zoo_hash": expert.config.get("zoo_hash"),
                    "metrics": {
                        k: expert.config["metrics"].get(k)
                        for k in (
                            "val",
                            "test",
                            "metric",
                            "chance",
                            "near_chance",
                            "zero_shot_test",
                            "zero_shot_chance",
                        )
                    },
                },
            )
            out["tree"] = _tree(info, family, expert.config["root"])
            if method != "readout":
                _explain(out, expert, method, labels, get_layer(expert.layer), device)
                kind = getattr(view.modules.get(expert.layer), "kind", "lora")
                if kind in ("loha", "lokr", "locon"):  # its probabilities were fitted on the zoo's LoRA or full layers
                    out["calibration"]["note"] += f"; this layer is a {kind}, not what the expert saw: extrapolated"
            else:
                _readout_trust(out)
        else:
            _readout_fallback(out, view, labels=labels, top_k=top_k, token=token)
        out["bytes_read"] = int(src.bytes_read)
        return out


def _explain(out: dict, expert, method: str, labels, X, device) -> None:
    """Add what the expert's probabilities are, its decision, and whether it is near chance on its own test split."""
    out["calibration"] = calibration_note(
        expert, zero_shot=labels is not None and not set(labels) <= set(expert.config["labels"])
    )
    t = trust(expert, method)
    out["near_chance"] = out["expert"]["near_chance"] = t["near_chance"]
    if t["near_chance"]:
        fig = "unknown" if t["test"] is None else f"{t['test']:.2f}"
        chance = "unknown" if t["chance"] is None else f"{t['chance']:.2f}"
        out["near_chance_reason"] = (
            f"expert {expert.name} scores {fig} on its own test models against chance {chance}: treat this as a guess"
        )
    if expert.config["head"] == "multilabel":
        _, every = score(expert, X, top_k=len(expert.config["labels"]), device=device)
        out["decision"] = {
            "labels": [p["label"] for p in every if p["decided"]],
            "threshold": threshold_of(expert),
            "rule": "calibrated probability >= the threshold chosen on validation",
        }
    else:
        out["decision"] = {"labels": [out["predictions"][0]["label"]], "rule": "top-1"}


def _better_guess(expert, readout: dict) -> bool:
    """The readout abstained (its top label did not pass its threshold), and the expert's own zero-shot figure is
    near chance on its test models (or unknown): the readout's ranking is then the better guess, not the expert's."""
    m = expert.config["metrics"]
    near = m.get("zero_shot_near_chance")
    return bool(readout.get("predictions")) and (near is None or bool(near))


def _readout_trust(out: dict) -> None:
    """The readout answered: its top label's calibrated probability of being right, and its decision (top-1).
    It answers only where its margin passes a null threshold, so it is not flagged near chance. Where it abstained
    and its ranking is given as the better guess (`_better_guess`), there is no probability and no decision."""
    ro = out["readout"]
    p = ro.get("probability_right")
    n = ro.get("labels", len(out["predictions"]))
    if ro.get("abstained"):
        out["calibration"] = {
            "method": "none",
            "note": f"z-scores over {n} labels; the readout's margin is below the abstain threshold, and its ranking "
            "is given because the expert's zero-shot is near chance on its own held-out test models",
        }
        out["decision"] = {"labels": [], "rule": "none: the readout abstained"}
        out["near_chance"] = True
        out["near_chance_reason"] = (
            f"the readout abstained ({ro.get('reason')}) and the expert's zero-shot is near chance: "
            "this ranking is a guess"
        )
        return
    out["calibration"] = {
        "method": "readout-margin" if p is not None else "none",
        "note": (
            f"z-scores over {n} labels; the top label is right with probability {p:.2f} "
            "(fitted on validation LoRAs, hfprobe/data/readout.json)"
            if p is not None
            else f"z-scores over {n} labels (no probability fit shipped)"
        ),
    }
    other = [k for k in ro.get("kinds", ["lora"]) if k != "lora"]
    if p is not None and other:
        out["calibration"]["note"] += f"; this adapter is {'/'.join(other)}, not LoRA: that fit is extrapolated"
    out["decision"] = {"labels": [out["predictions"][0]["label"]], "rule": "top-1 of the readout"}
    out["near_chance"] = False


def _without_probability(readout: dict) -> dict:
    """The readout's answer as predict reports it: once it abstained, no probability of being right (its fit is
    conditional on the adapter having something to read, which the abstention doubts) and its scores stay z-scores.

    >>> _without_probability({"abstained": True, "probability_right": 0.9,
    ...     "predictions": [{"label": "a", "score": 1.2, "probability": 0.9, "calibration": "readout-margin"}]})
    {'abstained': True, 'probability_right': None, 'predictions': [{'label': 'a', 'score': 1.2}]}
    """
    if not readout.get("abstained"):
        return readout
    drop = ("probability", "calibration")
    preds = [{k: v for k, v in p.items() if k not in drop} for p in readout.get("predictions") or []]
    return dict(readout, probability_right=None, predictions=preds)


def _readout_for_unseen(expert, view, labels, *, top_k: int, token) -> dict | None:
    """Labels the expert never trained on, on a text-conditioned LoRA: the readout's answer, or None.

    Measured on the mini zoo (docs/benchmarks.md): on held-out categories the readout reads a LoRA's
    cross-attention better than the expert's text head, which is better on the categories it trained on.
    So the expert answers when every label is one of its own (or the readout abstains), the readout otherwise.
    """
    if labels is None or expert.config["head"] != "text":
        return None
    own = set(expert.config["labels"])
    if all(label in own for label in labels):
        return None
    from .readout import readout_predict

    return readout_predict(view, labels, top_k=top_k, token=token)


def _readout_fallback(out: dict, view, *, labels, top_k: int, token) -> None:
    """No expert for this model: read its cross-attention deltas instead (hfprobe.experts.readout), or say why not."""
    from ..text.vocab import check_labels, default_vocabulary
    from .crossattn import abstention, text_reader, why_unreadable

    labels = check_labels(labels or default_vocabulary())
    # no expert, and nothing the readout can read or no text encoder to read it with: no torch needed to say so
    why = why_unreadable(view, len(labels))
    reader, why = text_reader(view, token=token) if why is None else (None, why)
    if why:
        result = abstention(why, labels)
    else:
        from .readout import readout_predict

        result = _without_probability(readout_predict(view, labels, text_states=reader, top_k=top_k, token=token))
    out["readout"] = result
    if not result["abstained"]:
        out.update(method="readout", predictions=result["predictions"])
        _readout_trust(out)
    else:
        out["reason"] = f"{out['routing'].get('reason') or 'no expert'}; readout: {result['reason']}"

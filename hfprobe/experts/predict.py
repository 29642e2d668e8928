"""Predict what a model was fine-tuned on: route it to its tree's expert, read ONE layer, score labels.

    >>> out = predict("./my-lora", top_k=3)                                    # doctest: +SKIP
    >>> out["tree"], out["expert"]["name"], out["predictions"][0]              # doctest: +SKIP
    >>> predict("org/some-lora", labels=["dog", "cat", "red fox"])             # zero-shot  # doctest: +SKIP

Returned dict (the `--json` output of `hfprobe predict`):
    source        what was read ("path" or "org/name@rev")
    tree          {family, root}: the family and root from `inspect` (root: the routed expert's root when routed)
    expert        {name, root, layer, head, kind, version, zoo_hash, metrics} or null when the router abstained
    method        "probex" (classification head), "probex-text" / "bilinear-text" (text head over the expert's
                  own labels),
                  "zero-shot" (text head over the labels given), "readout" (labels the expert never trained
                  on, or no expert: the LoRA's cross-attention read against the labels), or "abstain"
    readout       the readout's full answer (margin, threshold, abstained, reason) whenever it was consulted
    predictions   [{label, score, method}] best first; score = sigmoid probability (probex), cosine (ProbeX text
                  head) or the bilinear probe's scaled response, 0 to 10
    routing       the router's decision: abstain, reason, distance, threshold, candidates
    bytes_read    bytes read from the source (for a Hub repo: headers + the one layer)
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import ExpertError, UsageError
from .expert import default_experts_dir, load_experts_from


def _inspect(src) -> dict:
    try:
        from ..tree.inspect import inspect_source
    except ImportError:  # the tree layer is optional for routing by weights alone
        return {}
    return inspect_source(src)


def score(
    expert, X: torch.Tensor, *, labels: list[str] | None = None, text_encoder=None, top_k: int = 5
) -> tuple[str, list]:
    """Rank labels for layers X of one model with one expert; returns (method, [{label, score, method}])."""
    X = expert.check_layer(X)
    head = expert.config["head"]
    with torch.no_grad():
        if labels is not None:
            from ..text.encoders import check_labels, get_text_encoder

            labels = check_labels(labels)
            te = expert.config.get("text_encoder") or {}
            enc = text_encoder or (get_text_encoder(te["id"]) if te else None)
            if enc is None:
                raise ExpertError(
                    f"expert {expert.name} has a classification head; zero-shot labels need an expert with a text head"
                )
            expert.check_text_space(enc)
            scores, names, method = expert.model(X, enc.embed_labels(labels, te.get("prompt")))[0], labels, "zero-shot"
        elif head == "text":
            kind = expert.config["train"].get("kind", "probex")
            scores, names, method = expert.model(X, expert.label_text_emb)[0], expert.config["labels"], f"{kind}-text"
        else:
            scores, names, method = torch.sigmoid(expert.model(X)[0]), expert.config["labels"], "probex"
    order = torch.argsort(scores, descending=True)[: max(1, top_k)]
    return method, [{"label": names[i], "score": round(float(scores[i]), 6), "method": method} for i in order.tolist()]


def predict(
    spec,
    *,
    labels: list[str] | None = None,
    top_k: int = 5,
    experts=None,
    experts_dir=None,
    text_encoder=None,
    token=None,
) -> dict:
    """Route `spec` (path, folder, Hub repo) to its tree expert and predict its categories.

    `experts`: Expert objects, folders or Hub repo ids; default: every expert under `experts_dir`
    (default $HFPROBE_EXPERTS or <hfprobe cache>/experts). `labels`: zero-shot over these names.
    """
    from ..formats import open_weights
    from ..source.resolve import resolve
    from .route import Router

    if top_k < 1:
        raise UsageError(f"--top-k {top_k}: must be at least 1")
    if labels is not None:
        from ..text.encoders import check_labels

        labels = check_labels(labels)
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
        cache: dict = {}

        def get_layer(name):
            if name not in cache:
                cache[name] = view.layer(name)
            return cache[name]

        if pool:
            decision = Router(pool).route(get_layer, family=family, root=declared)
        else:
            decision = {
                "abstain": True,
                "expert": None,
                "candidates": [],
                "reason": f"no trained experts under {where}; train one with `hfprobe train`",
            }
        if experts is not None and len(pool) == 1 and not decision["candidates"]:
            # the user named one expert: a model it cannot read is an error, not an abstention
            pool[0].check_layer(get_layer(pool[0].layer), where=src.display)
        out = {
            "source": src.display,
            "tree": {"family": family, "root": declared},
            "expert": None,
            "method": "abstain",
            "predictions": [],
            "routing": decision,
        }
        if not decision["abstain"]:
            expert = next(e for e in pool if e.name == decision["expert"])
            readout = _readout_for_unseen(expert, view, labels, top_k=top_k, token=token)
            if readout is not None:
                out["readout"] = readout
            if readout is not None and not readout["abstained"]:
                method, preds = "readout", readout["predictions"]
            else:
                method, preds = score(
                    expert, get_layer(expert.layer), labels=labels, text_encoder=text_encoder, top_k=top_k
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
                    "metrics": {k: expert.config["metrics"].get(k) for k in ("val", "test", "metric")},
                },
            )
            out["tree"]["root"] = expert.config["root"]
        else:
            _readout_fallback(out, view, labels=labels, top_k=top_k, token=token)
        out["bytes_read"] = int(src.bytes_read)
        return out


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
    from ..text.vocab import default_vocabulary
    from .readout import readout_predict

    result = readout_predict(view, labels or default_vocabulary(), top_k=top_k, token=token)
    out["readout"] = result
    if not result["abstained"]:
        out.update(method="readout", predictions=result["predictions"])
    else:
        out["reason"] = f"{out['routing'].get('reason') or 'no expert'}; readout: {result['reason']}"

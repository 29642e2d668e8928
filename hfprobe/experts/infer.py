"""An expert's forward pass and calibrated probabilities in numpy: how `predict` answers on the CPU without torch.

Importing torch takes 1.5 to 2 s on 2 cores, ten times the rest of a prediction (inspect, one layer, one forward
of a probe whose largest product is [768, 768] x [768, 128]). So on the CPU `predict` reads the layer
(`WeightsView.layer(numpy=True)`), the expert's tensors (`Expert.arrays`) and the zero-shot labels' embeddings
(`TextEncoder.embed_array`, MiniLM in numpy) as numpy arrays, and runs the probe here. Training, the bench and
`--device cuda` keep the torch modules of `hfprobe.experts.probes`, which stay the oracle:
`tests/test_infer.py` checks that every probe kind, head, view and input norm gives the torch module's logits,
and every calibration method `hfprobe.experts.calibrate.probabilities`' values.

    >>> import numpy as np
    >>> probabilities(np.array([[0.0, 2.0]]), {"method": "temperature", "params": {"T": 2.0}}, "multilabel")
    array([[0.5       , 0.73105858]])
"""

from __future__ import annotations

import numpy as np

from ..errors import ExpertError

# what this module implements (probes.py's KINDS and VIEWS, which tests/test_infer.py keeps equal to these; a probe
# kind added there and not here is run by torch, `runs_here` says False)
KINDS, VIEWS = ("probex", "dense", "bilinear"), ("gram",)


def runs_here(expert, device=None) -> bool:
    """Whether this module can answer for `expert` on `device`: the CPU, a probe kind and views it implements."""
    train = expert.config.get("train") or {}
    return (
        device in (None, "cpu", "auto")
        and train.get("kind", "probex") in KINDS
        and set(train.get("views") or ()) <= set(VIEWS)
        and train.get("input_norm", "tree") in ("tree", "model")
    )


def logits(expert, X: np.ndarray, text_emb: np.ndarray | None = None) -> np.ndarray:
    """The probe's raw logits [B, C] for layers X [B, d_H, d_W] (float64): what `expert.model(X, text_emb)` gives."""
    w = expert.arrays
    train = expert.config.get("train") or {}
    kind, head = train.get("kind", "probex"), expert.config["head"]
    if head == "text" and text_emb is None:
        raise ValueError("the text head needs the class text embeddings")
    xc = X.astype(np.float64) - w["model.mean"]
    if train.get("input_norm", "tree") == "model":
        xc = xc / np.maximum(np.sqrt(np.mean(xc.reshape(len(xc), -1) ** 2, axis=1)), 1e-12)[:, None, None]
    else:
        xc = xc / w["model.scale"]
    if kind == "bilinear":
        r = xc @ w["model.U"]
        m = r.transpose(0, 2, 1) @ r
        m = m / np.maximum(np.linalg.norm(m.reshape(len(m), -1), axis=1), 1e-12)[:, None, None]
        t = _normalize(_linear(text_emb, w, "model.text_proj"))
        return float(w["model.logit_scale"]) * np.einsum("cq,bqk,ck->bc", t, m, t)
    if kind == "dense":
        e = _linear(xc.reshape(len(xc), -1), w, "model.linear")
    else:
        feats = [_read(xc, w, "model.first")]
        if "gram" in (train.get("views") or ()):
            d_H, d_W = xc.shape[1:]
            gw, gh = xc.transpose(0, 2, 1) @ xc / d_H, xc @ xc.transpose(0, 2, 1) / d_W
            s = w["model.gram_scale"]
            feats += [_read(gw / s[0], w, "model.gram_w"), _read(gh / s[1], w, "model.gram_h")]
        e = _linear(np.concatenate(feats, 1), w, "model.encoder")
    if head == "multilabel":
        return e if kind == "dense" else _linear(e, w, "model.cls")
    return _normalize(e) @ _normalize(_linear(text_emb, w, "model.text_proj")).T


def probabilities(logits: np.ndarray, calibration: dict | None, head: str, *, zero_shot: bool = False) -> np.ndarray:
    """`hfprobe.experts.calibrate.probabilities` in numpy (float64): per label for multi-label heads, a softmax over
    the labels given for text heads, through the expert's recorded calibration."""
    z = np.asarray(logits, dtype=np.float64)
    cal = calibration or {"method": "none", "params": {}}
    if head == "text":
        params = (cal.get("zero_shot") or cal) if zero_shot else cal
        T = float(params.get("params", {}).get("T", 1.0)) if params.get("method") != "none" else 1.0
        z = z / T
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    method, p = cal.get("method", "none"), cal.get("params") or {}
    if method == "none":
        a, b = 1.0, 0.0
    elif method == "temperature":
        a, b = 1.0 / float(p["T"]), 0.0
    else:
        a, b = np.asarray(p.get("a", 1.0), dtype=np.float64), np.asarray(p.get("b", 0.0), dtype=np.float64)
    if method == "platt-asinh":
        z = np.arcsinh(z)
    elif method == "platt-tanh":
        z = np.tanh(z / float(p["s"]))
    return sigmoid(a * z + b)


def label_embeddings(expert, labels: list[str], text_encoder=None) -> np.ndarray:
    """The zero-shot labels in the expert's text space [C, text_dim], through its prompt (as `score` embeds them)."""
    from ..text.encoders import get_text_encoder

    te = expert.config.get("text_encoder") or {}
    enc = text_encoder or (get_text_encoder(te["id"]) if te else None)
    if enc is None:
        raise ExpertError(
            f"expert {expert.name} has a classification head; zero-shot labels need an expert with a text head"
        )
    expert.check_text_space(enc)
    return enc.embed_labels_array(labels, te.get("prompt")).astype(np.float64)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), without overflow warnings for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _read(x: np.ndarray, w: dict, prefix: str) -> np.ndarray:
    """ProbeX's probes U and shared projection V on one view [B, a, b] -> ReLU features [B, r_U*r_V]."""
    z = (x @ w[f"{prefix}.U"]).transpose(0, 2, 1) @ w[f"{prefix}.V"]
    return np.maximum(z, 0.0).reshape(len(z), -1)


def _linear(x: np.ndarray, w: dict, prefix: str) -> np.ndarray:
    return x @ w[f"{prefix}.weight"].T.astype(np.float64) + w[f"{prefix}.bias"]


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)

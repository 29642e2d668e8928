"""The readout's features: each candidate label's token states and each adapter's cross-attention deltas, compressed
to a few rows that give the same norms, so that scoring every label against every module is one matmul.

- Label side (`prepare_labels`): a label's centred token states Hc [T, d] become F [k, d] (k <= `max_vectors`) with
  ||dW F^T|| == ||dW Hc^T|| for every dW (exact when T <= k), kept on disk beside the cached states.
- Delta side (`delta_factors`): a dW [d_out, d_in], or a LoRA's factors (B, A), becomes C [r, d_in] with
  ||dW x|| == ||C x|| for every x, without composing dW.
- `module_scores`: ||dW_m Hc_l^T|| / ||Hc_l|| for every label l and module m, from the two.

All numpy; `experts/readout.py` weighs, combines and decides. The torch formula they replace is the oracle in
tests/test_readout.py.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..text.states import TextStates


class LabelSettings(Protocol):
    """What the label side reads of the readout's settings (`readout.ReadoutConfig` is one)."""

    center: str
    tokens: str
    max_vectors: int

    def key(self) -> str: ...


# ------------------------------------------------------------------------------------- label features
def prepare_labels(ts: TextStates, cfg: LabelSettings) -> dict:
    """Compress every label's centred token states to <= max_vectors rows F_l with ||dW F_l^T|| == ||dW Hc_l^T||.

    Kept with the states per (center, tokens, max_vectors): in memory, and on disk beside cached states, so a cold
    readout reads these (SD 1.5, 1,052 labels: 52 MB) instead of the states (124 MB) and their eigenproblems (2 s).
    """
    n = len(ts.labels)

    def fits(arrays: dict) -> bool:  # a file read back: this list's labels, this encoder's width
        feats, norms = arrays.get("feats"), arrays.get("norms")
        if feats is None or norms is None or feats.ndim != 2:
            return False
        return feats.shape[0] % n == 0 and feats.shape[1] == ts.dim and norms.shape == (n,)

    arrays = ts.derived(f"readout-{cfg.key()}", lambda t: _compress(t, cfg), fits)
    return {"feats": arrays["feats"], "norms": arrays["norms"], "k": arrays["feats"].shape[0] // n}


def _compress(ts: TextStates, cfg: LabelSettings) -> dict[str, np.ndarray]:
    sel = [h[m] if cfg.tokens == "label" and bool(m.any()) else h for h, m in zip(ts.states, ts.label_mask)]
    mu = np.concatenate(sel).mean(0) if cfg.center == "mean" else np.zeros(ts.dim, np.float32)
    k = min(cfg.max_vectors, max(h.shape[0] for h in sel))
    feats = np.zeros((len(sel), k, ts.dim), np.float32)
    norms = np.zeros(len(sel), np.float32)
    by_len: dict[int, list[int]] = {}
    for i, h in enumerate(sel):
        by_len.setdefault(h.shape[0], []).append(i)
    for t, idx in by_len.items():  # one batched eigh per prompt length (all of them, for padded encoders)
        hc = np.stack([sel[i] for i in idx]) - mu  # [n, T, d]
        norms[idx] = np.maximum(np.linalg.norm(hc.reshape(len(idx), -1), axis=1), 1e-12)
        # F = U_k^T Hc with U from eigh(Hc Hc^T): rows s_i v_i^T, the top-k of Hc's row space, so
        # ||dW F^T|| == ||dW Hc^T|| exactly when T <= k (a T x T eigenproblem, far cheaper than an SVD of T x d)
        _, evecs = np.linalg.eigh(hc @ hc.transpose(0, 2, 1))  # ascending
        n = min(k, t)
        top = evecs[:, :, ::-1][:, :, :n]  # [n_labels, T, n], the largest first
        feats[idx, :n] = top.transpose(0, 2, 1) @ hc
    return {"feats": feats.reshape(-1, ts.dim), "norms": norms}


# -------------------------------------------------------------------------------------- delta features
class Factors(dict):
    """{module name: C} from `delta_factors`; a dict type of its own so pools can hold either kind."""


def as_array(x) -> np.ndarray:
    """A float32 numpy array of a delta (a torch tensor, from the zoo's trainers and the tests, is converted)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().float().numpy()
    return np.asarray(x, dtype=np.float32)


def dense(delta) -> np.ndarray:
    """A delta as one matrix: as it is, or B @ A for the (B, A) factors of a LoRA (`deltas_of`)."""
    return as_array(delta[0]) @ as_array(delta[1]) if isinstance(delta, tuple) else as_array(delta)


def delta_factors(
    deltas: dict, ranks: dict[str, int] | None = None, only: set[str] | None = None
) -> dict[str, np.ndarray]:
    """For each dW [d_out, d_in], or a LoRA's factors (B, A) with dW = B @ A, a small C [r', d_in] with
    ||dW x|| == ||C x|| for every x, its rows orthogonal and sorted by norm (s_i v_i^T of dW's SVD).

    Factors: C = R A, with B = Q R (Q's orthonormal columns keep every norm), exact and never composing dW, then
    rotated by the eigenvectors of its small Gram matrix. A dense dW of known rank r: a randomised range finder with
    a little oversampling is exact (checked; falls back to a full SVD when it is not), and far cheaper than an SVD of
    a 1280x768 matrix. Modules outside `only` get a C with no rows and their input width: they add nothing to any
    score, and a null draw still shuffles their columns (so the draws do not depend on which modules are scored).
    """
    if isinstance(deltas, Factors):
        return deltas
    out = Factors()
    rng = np.random.default_rng(0)
    for name, dw in deltas.items():
        if only is not None and name not in only:
            out[name] = np.zeros((0, (dw[1] if isinstance(dw, tuple) else dw).shape[1]), np.float32)
            continue
        if isinstance(dw, tuple):
            b, a = (as_array(f) for f in dw)
            c = np.linalg.qr(b, mode="r") @ a if b.shape[0] > b.shape[1] else b @ a
            out[name] = _sorted_rows(c)
            continue
        dw = as_array(dw)
        r = (ranks or {}).get(name)
        if r and r + 8 < min(dw.shape):
            omega = rng.standard_normal((dw.shape[1], r + 8), dtype=np.float32)
            q, _ = np.linalg.qr(dw @ omega)
            c = q.T @ dw
            if np.linalg.norm(dw - q @ c) <= 1e-4 * max(float(np.linalg.norm(dw)), 1e-30):
                dw = c  # r + 8 rows spanning a rank-r row space: the SVD below keeps r of them (half the scoring)
        _, s, vh = np.linalg.svd(dw, full_matrices=False)
        keep = s > s[0] * 1e-6 if s.size else s.astype(bool)  # numerical rank: zero directions add cost, not signal
        out[name] = s[keep, None] * vh[keep]
    return out


def _sorted_rows(c: np.ndarray) -> np.ndarray:
    """The rows s_i v_i^T of a short, wide C's SVD (the same norms of C x for every x), from the eigenvectors of the
    r x r Gram matrix C C^T in float64: 70 SVDs of SDXL's rank-32 value factors (32 x 2048) took 0.27 s, this
    a tenth of it. Directions below 1e-6 of the largest are dropped, as the SVD's numerical rank drops them."""
    c64 = c.astype(np.float64)
    evals, evecs = np.linalg.eigh(c64 @ c64.T)  # ascending; evals = s^2
    order = np.argsort(evals)[::-1]
    keep = order[evals[order] > max(float(evals[order[0]]), 0.0) * 1e-12] if evals.size else order
    return (evecs[:, keep].T @ c64).astype(np.float32)


def module_scores(factors: dict[str, np.ndarray], prepared: dict) -> np.ndarray:
    """[n_labels, n_modules]: ||dW_m Hc_l^T||_F / ||Hc_l||_F for every label l and module m (one matmul)."""
    names = list(factors)
    c = np.concatenate([factors[n] for n in names])  # [R, d]
    z = np.square(prepared["feats"] @ c.T)  # [L*k, R]
    n_labels = prepared["norms"].size
    z = z.reshape(n_labels, prepared["k"], -1).sum(1)  # [L, R]
    ends = np.cumsum([factors[n].shape[0] for n in names])
    per_mod = np.sqrt(np.stack([z[:, b - factors[n].shape[0] : b].sum(1) for n, b in zip(names, ends)], axis=1))
    return per_mod / prepared["norms"][:, None]

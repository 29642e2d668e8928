"""ProbeX: a light probe that reads ONE weight matrix and embeds it (Horwitz et al., CVPR 2025).

    X [B, d_H, d_W] --(probes U [d_W, r_U], no bias)--> R [B, d_H, r_U]
      --(shared projection V [d_H, r_V] over d_H, no bias)--> [B, r_U, r_V] --ReLU--> flatten [B, r_U*r_V]
      --(per-probe encoders: one dense linear with bias)--> e [B, r_T]
    head "multilabel": linear with bias r_T -> n_classes (logits; BCE on multi-hot targets)
    head "text":       class text embeddings t [C, text_dim] --linear with bias--> t' [C, r_T];
                       logits = cos(e, t') (both L2-normalised, no temperature; cross-entropy)

Our additions, both documented in the expert's config:
- Input standardisation: X is centred on the tree's mean layer (computed on the training models) and
  divided by one scalar spread (input_norm="tree"), or each model's delta by its own RMS (input_norm="model",
  which removes how far a fine-tune moved, a nuisance set by its learning rate and length). Inside a tree
  every model is root + small delta, so without centring the
  probes mostly see the root. The same mean is the tree centroid the router uses.
- `views=("gram",)`: MVProbe-style second-order views of the same (centred) layer, Xᵀ X / d_H and
  X Xᵀ / d_W, each read by its own probes and projection; their ReLU features are concatenated with the
  first-order ones before the encoder.
- `dropout` on the flattened ReLU features; 0 gives the published model. Training leaves it at 0 on
  multi-label trees and uses 0.5 on text-aligned ones, where without it the text head overfits its
  training categories (`HEAD_DEFAULTS` below).

The probes' configuration (`TrainConfig`, with the per-head defaults) lives here beside them, so an
expert folder can rebuild its probe from `expert.json` without the trainer (`build_model`).

Example:
    >>> m = ProbeX(d_H=64, d_W=32, r_U=8, r_V=8, r_T=16, head="multilabel", n_classes=10)
    >>> m(torch.randn(4, 64, 32)).shape
    torch.Size([4, 10])
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

HEADS = ("multilabel", "text")


VIEWS = ("gram",)


class _Reader(nn.Module):
    """Probes U and shared projection V on one view [B, a, b] -> ReLU features [B, r_U*r_V]."""

    def __init__(self, a: int, b: int, r_U: int, r_V: int):
        super().__init__()
        # Scaled so that R and RᵀV start at unit variance for unit-variance input.
        self.U = nn.Parameter(torch.randn(b, r_U) / math.sqrt(b))
        self.V = nn.Parameter(torch.randn(a, r_V) / math.sqrt(a))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = x @ self.U  # [B, a, r_U]
        z = r.transpose(1, 2) @ self.V  # [B, r_U, r_V]
        return F.relu(z).flatten(1)


class ProbeX(nn.Module):
    """ProbeX with a classification head or a text-aligned head.

    Args:
        d_H, d_W: the layer's shape (rows = output features, columns = input features).
        r_U, r_V, r_T: number of probes, projection size, embedding size (paper: 128 each).
        head: "multilabel" (needs n_classes) or "text" (needs text_dim).
        views: () for ProbeX as published, ("gram",) to add second-order views.
        dropout: on the flattened ReLU features (0 = as published).
    """

    def __init__(
        self,
        d_H: int,
        d_W: int,
        *,
        r_U: int = 128,
        r_V: int = 128,
        r_T: int = 128,
        head: str = "multilabel",
        n_classes: int | None = None,
        text_dim: int | None = None,
        views: tuple[str, ...] = (),
        dropout: float = 0.0,
        input_norm: str = "tree",
    ):
        super().__init__()
        self.input_norm = input_norm
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        bad = [v for v in views if v not in VIEWS]
        if bad:
            raise ValueError(f"unknown views {bad}; known: {VIEWS}")
        self.d_H, self.d_W, self.head_kind, self.views = d_H, d_W, head, tuple(views)
        self.register_buffer("mean", torch.zeros(d_H, d_W))
        self.register_buffer("scale", torch.ones(()))
        self.first = _Reader(d_H, d_W, r_U, r_V)
        feat = r_U * r_V
        if "gram" in self.views:
            self.register_buffer("gram_scale", torch.ones(2))
            self.gram_w = _Reader(d_W, d_W, r_U, r_V)  # Xᵀ X: [d_W, d_W]
            self.gram_h = _Reader(d_H, d_H, r_U, r_V)  # X Xᵀ: [d_H, d_H]
            feat *= 3
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Linear(feat, r_T)  # the per-probe encoders, summed == one dense linear
        if head == "multilabel":
            if not n_classes:
                raise ValueError("head='multilabel' needs n_classes")
            self.cls = nn.Linear(r_T, n_classes)
        else:
            if not text_dim:
                raise ValueError("head='text' needs text_dim")
            self.text_proj = nn.Linear(text_dim, r_T)

    # -- input standardisation -------------------------------------------------------------------
    @torch.no_grad()
    def fit_input(self, X: torch.Tensor) -> None:
        """Set the centring mean and scale from the training layers X [N, d_H, d_W]."""
        self.mean.copy_(X.mean(0))
        self.scale.copy_((X - self.mean).std().clamp(min=1e-12))
        if "gram" in self.views:
            gw, gh = self._grams(self._centre(X))
            self.gram_scale.copy_(torch.stack([gw.std(), gh.std()]).clamp(min=1e-12))

    def _centre(self, X: torch.Tensor) -> torch.Tensor:
        xc = X - self.mean
        if getattr(self, "input_norm", "tree") == "model":
            # each model's delta to unit RMS: the fine-tune's learning rate and length scale the delta,
            # its direction carries what it was trained on
            return xc / xc.flatten(1).pow(2).mean(1).sqrt().clamp(min=1e-12)[:, None, None]
        return xc / self.scale

    def _grams(self, xc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return xc.transpose(1, 2) @ xc / self.d_H, xc @ xc.transpose(1, 2) / self.d_W

    # -- forward -----------------------------------------------------------------------------------
    def embed(self, X: torch.Tensor) -> torch.Tensor:
        """Model embedding e [B, r_T] of layers X [B, d_H, d_W]."""
        if X.dim() != 3 or X.shape[1:] != (self.d_H, self.d_W):
            raise ValueError(f"expected layers of shape [B, {self.d_H}, {self.d_W}], got {list(X.shape)}")
        xc = self._centre(X)
        feats = [self.first(xc)]
        if "gram" in self.views:
            gw, gh = self._grams(xc)
            feats += [self.gram_w(gw / self.gram_scale[0]), self.gram_h(gh / self.gram_scale[1])]
        return self.encoder(self.drop(torch.cat(feats, 1)))

    def forward(self, X: torch.Tensor, text_emb: torch.Tensor | None = None) -> torch.Tensor:
        """Logits: [B, n_classes] for the multilabel head, [B, C] cosines against `text_emb` [C, text_dim]."""
        e = self.embed(X)
        if self.head_kind == "multilabel":
            return self.cls(e)
        if text_emb is None:
            raise ValueError("the text head needs the class text embeddings")
        t = self.text_proj(text_emb)
        return F.normalize(e, dim=-1) @ F.normalize(t, dim=-1).T


class DenseProbe(nn.Module):
    """The dense baseline: one linear layer on the flattened (standardised) layer.

    Multilabel: flat -> n_classes directly. Text: flat -> r_T, then the same text head as ProbeX.
    """

    def __init__(
        self,
        d_H: int,
        d_W: int,
        *,
        r_T: int = 128,
        head: str = "multilabel",
        n_classes: int | None = None,
        text_dim: int | None = None,
        dropout: float = 0.0,
        input_norm: str = "tree",
    ):
        super().__init__()
        self.input_norm = input_norm
        self.d_H, self.d_W, self.head_kind, self.views = d_H, d_W, head, ()
        self.register_buffer("mean", torch.zeros(d_H, d_W))
        self.register_buffer("scale", torch.ones(()))
        self.drop = nn.Dropout(dropout)
        out = n_classes if head == "multilabel" else r_T
        self.linear = nn.Linear(d_H * d_W, out)
        if head == "text":
            self.text_proj = nn.Linear(text_dim, r_T)

    fit_input = ProbeX.fit_input
    _centre = ProbeX._centre

    def forward(self, X: torch.Tensor, text_emb: torch.Tensor | None = None) -> torch.Tensor:
        e = self.linear(self.drop(self._centre(X).flatten(1)))
        if self.head_kind == "multilabel":
            return e
        t = self.text_proj(text_emb)
        return F.normalize(e, dim=-1) @ F.normalize(t, dim=-1).T


class BilinearTextProbe(nn.Module):
    """A second-order text head on ProbeX's probes (ours; `TrainConfig(kind="bilinear")`, text trees only).

        R = X U [B, d_H, r_U]   (ProbeX's probes on the standardised layer)
        M = Rᵀ R / ||Rᵀ R||_F    [B, r_U, r_U]
        t' = normalise(text_proj(t)) [C, r_U];   logit(label) = s * t'ᵀ M t'   (s: the `logit_scale` buffer, 10)

    Equivalently logit = s * ||X (U t')||² / ||Rᵀ R||_F: the label's embedding is mapped to a direction U t'
    in the layer's input space and scored by how strongly the (centred) layer responds to it. That is the
    readout's score (hfprobe.experts.readout: ||dW h|| for the label's token states h) with the map from label to
    input direction learned from the tree's training models instead of taken from the root's text encoder.

    Why: a text-to-image LoRA's cross-attention delta reads the caption's token states, so what it was
    trained on sits in the delta's row space, up to sign (B A = (-B)(-A)) and mixed with an output side the
    images set. A response norm is blind to that sign; ProbeX's cosine head is linear in the embedding.
    On the `mini` zoo's UNet tree, on the cross-attention value layers, it beats ProbeX zero-shot and
    in-distribution (docs/benchmarks.md). s = 10 was chosen on validation from {1, 10, 30} (at 1 the softmax
    is too flat to train).
    """

    def __init__(
        self, d_H: int, d_W: int, *, r_U: int = 128, text_dim: int, input_norm: str = "tree", logit_scale: float = 10.0
    ):
        super().__init__()
        self.input_norm = input_norm
        self.d_H, self.d_W, self.head_kind, self.views = d_H, d_W, "text", ()
        self.register_buffer("mean", torch.zeros(d_H, d_W))
        self.register_buffer("scale", torch.ones(()))
        self.register_buffer("logit_scale", torch.tensor(float(logit_scale)))
        self.U = nn.Parameter(torch.randn(d_W, r_U) / math.sqrt(d_W))
        self.text_proj = nn.Linear(text_dim, r_U)

    fit_input = ProbeX.fit_input
    _centre = ProbeX._centre

    def forward(self, X: torch.Tensor, text_emb: torch.Tensor | None = None) -> torch.Tensor:
        if text_emb is None:
            raise ValueError("the text head needs the class text embeddings")
        if X.dim() != 3 or X.shape[1:] != (self.d_H, self.d_W):
            raise ValueError(f"expected layers of shape [B, {self.d_H}, {self.d_W}], got {list(X.shape)}")
        r = self._centre(X) @ self.U
        m = r.transpose(1, 2) @ r
        m = m / m.flatten(1).norm(dim=1).clamp(min=1e-12)[:, None, None]
        t = F.normalize(self.text_proj(text_emb), dim=-1)
        return self.logit_scale * torch.einsum("cq,bqk,ck->bc", t, m, t)


def n_params(model: nn.Module) -> int:
    """Trainable parameters (buffers such as the centring mean are not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


KINDS = ("probex", "dense", "bilinear")


# Regularisation when the config leaves it unset (None), per head. Multi-label trees: the paper's training;
# on the mini zoo validation prefers it on every tree (docs/experiments/2026-11-30-mini-zoo.md). Text-aligned trees
# keep dropout and a stronger
# weight decay: without them ProbeX's zero-shot collapses to chance on the generative tree
# (docs/experiments/2026-11-30-mini-zoo.md).
HEAD_DEFAULTS = {
    "multilabel": {"dropout": 0.0, "weight_decay": 1e-5},
    "text": {"dropout": 0.5, "weight_decay": 1e-2},
}


@dataclass
class TrainConfig:
    head: str = "multilabel"  # "multilabel" (BCE, multi-hot) or "text" (cosine logits, CE)
    r_U: int = 128  # paper's sizes; smaller ranks are not ProbeX as published
    r_V: int = 128
    r_T: int = 128
    views: tuple = ()  # ("gram",) adds MVProbe-style second-order views
    dropout: float | None = None  # on the ReLU features; None: the head's default (HEAD_DEFAULTS)
    weight_decay: float | None = None  # Adam's L2 term; None: the head's default (HEAD_DEFAULTS)
    lr: float | None = None  # None: 1e-3 for multilabel, 2e-3 for text (paper)
    batch_size: int = 128
    max_epochs: int = 300
    patience: int = 40  # epochs with neither a better validation figure nor a 1% lower validation loss
    seed: int = 0
    kind: str = "probex"  # "probex"; "dense" (the baseline, same loop); "bilinear" (text trees: BilinearTextProbe);
    #                                 "auto" (fit_tree only: ProbeX, or on text trees the better of probex/bilinear on
    # val)
    input_norm: str = "tree"  # "tree": centre on the tree mean, one scale; "model": each delta to unit RMS

    def resolved(self) -> TrainConfig:
        """A copy with the head's defaults filled in for whatever regularisation is unset."""
        if self.head not in HEAD_DEFAULTS:
            raise ValueError(f"unknown head {self.head!r}; known: {', '.join(HEAD_DEFAULTS)}")
        return replace(self, **{k: v for k, v in HEAD_DEFAULTS[self.head].items() if getattr(self, k) is None})

    def to_dict(self) -> dict:
        d = asdict(self)
        d["views"] = list(self.views)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        known["views"] = tuple(known.get("views") or ())
        return cls(**known)


def build_model(cfg: TrainConfig, d_H: int, d_W: int, *, n_classes: int | None = None, text_dim: int | None = None):
    """The untrained module a config describes (ProbeX, the dense baseline or the bilinear text probe)."""
    if cfg.kind not in KINDS:
        raise ValueError(f"unknown probe kind {cfg.kind!r}; known: {', '.join(KINDS)}")
    cfg = cfg.resolved()
    if cfg.kind == "bilinear":
        if cfg.head != "text" or not text_dim:
            raise ValueError(
                "kind='bilinear' scores labels by their text embeddings: it needs a text-aligned tree (head='text')"
            )
        return BilinearTextProbe(d_H, d_W, r_U=cfg.r_U, text_dim=text_dim, input_norm=cfg.input_norm)
    if cfg.kind == "dense":
        return DenseProbe(
            d_H,
            d_W,
            r_T=cfg.r_T,
            head=cfg.head,
            n_classes=n_classes,
            text_dim=text_dim,
            dropout=cfg.dropout,
            input_norm=cfg.input_norm,
        )
    return ProbeX(
        d_H,
        d_W,
        r_U=cfg.r_U,
        r_V=cfg.r_V,
        r_T=cfg.r_T,
        head=cfg.head,
        n_classes=n_classes,
        text_dim=text_dim,
        views=tuple(cfg.views),
        dropout=cfg.dropout,
        input_norm=cfg.input_norm,
    )


def probe_sizes(cfg: TrainConfig) -> dict:
    """The sizes the config's probe kind actually has (the expert's `sizes`, without its parameter count)."""
    if cfg.kind == "bilinear":
        return {"r_U": cfg.r_U}
    if cfg.kind == "dense":
        return {"r_T": cfg.r_T} if cfg.head == "text" else {}
    return {"r_U": cfg.r_U, "r_V": cfg.r_V, "r_T": cfg.r_T, "views": list(cfg.views)}

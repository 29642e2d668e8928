"""The training loop for one probe on one layer (ProbeX, the dense baseline or the bilinear text probe).

Two objectives, as in the paper:
- "multilabel": each model was fine-tuned on a subset of classes; multi-hot target, BCE-with-logits;
  metric = element-wise accuracy of the n_classes binary outputs at threshold 0.5 (chance about 0.5).
- "text": each model was fine-tuned on one class; logits = cosine against the text embeddings of the
  training classes, cross-entropy; metric = top-1.

Adam, the checkpoint with the best validation metric is kept (ties broken by validation loss), early
stopping after `patience` epochs in which neither that metric improved nor the validation loss fell by 1%,
a progress bar with the running validation figure. A text tree with held-out categories also has
zero-shot validation models (val_holdout): there the checkpoint is chosen on the mean of
in-distribution and zero-shot validation top-1, since one expert answers both kinds of question.

    >>> cfg = TrainConfig(head="multilabel", r_U=8, r_V=8, r_T=8, max_epochs=5)   # doctest: +SKIP
    >>> res = train_probe(Xtr, Ytr, Xva, Yva, cfg)          # doctest: +SKIP
    >>> res.best_val, res.model                             # doctest: +SKIP
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from ..config import progress_bar
from .probes import TrainConfig, build_model, n_params

LOSS_MIN_DELTA = 0.01  # relative drop in validation loss that counts as progress for early stopping


@dataclass
class TrainResult:
    model: torch.nn.Module
    best_val: float
    best_epoch: int
    epochs: int
    seconds: float
    params: int
    history: list = field(default_factory=list)
    best_zero_shot_val: float | None = None  # zero-shot validation top-1 at the chosen epoch, if measured
    device: str = "cpu"  # where it trained; the returned model is on the CPU whatever this says

    @property
    def score(self) -> float:
        """What the checkpoint and the layer were chosen on."""
        return self.best_val if self.best_zero_shot_val is None else (self.best_val + self.best_zero_shot_val) / 2


@dataclass
class ZeroShotVal:
    """Zero-shot validation models: layers X [n, d_H, d_W], y indices into the rows of `text_emb`
    (the embeddings of their own, never trained on, categories)."""

    X: torch.Tensor
    y: torch.Tensor
    text_emb: torch.Tensor


def _loss(logits, Y, head):
    return F.binary_cross_entropy_with_logits(logits, Y) if head == "multilabel" else F.cross_entropy(logits, Y)


def metric(logits: torch.Tensor, Y: torch.Tensor, head: str) -> float:
    """Element-wise accuracy at 0.5 (multilabel) or top-1 accuracy (text)."""
    if head == "multilabel":
        return ((logits > 0).float() == Y).float().mean().item()
    return (logits.argmax(1) == Y).float().mean().item()


@torch.no_grad()
def predict_logits(model, X: torch.Tensor, text_emb: torch.Tensor | None = None, batch_size: int = 256) -> torch.Tensor:
    """Logits of a trained model on layers X [N, d_H, d_W], in eval mode, batched."""
    was = model.training
    model.eval()
    out = torch.cat([model(X[i : i + batch_size], text_emb) for i in range(0, len(X), batch_size)])
    model.train(was)
    return out


def evaluate(model, X, Y, head: str, text_emb=None) -> float:
    return metric(predict_logits(model, X, text_emb), Y, head)


def train_probe(
    Xtr: torch.Tensor,
    Ytr: torch.Tensor,
    Xva: torch.Tensor,
    Yva: torch.Tensor,
    cfg: TrainConfig,
    *,
    text_emb: torch.Tensor | None = None,
    progress: bool = True,
    desc: str = "probex",
    zero_shot: ZeroShotVal | None = None,
    device=None,
) -> TrainResult:
    """Train one probe; return the checkpoint with the best validation figure (the model on the CPU).

    Ytr/Yva: float multi-hot [N, C] for "multilabel", long class indices [N] for "text" (indices into
    the rows of `text_emb` [C, text_dim], the L2-normalised class-prompt embeddings).
    `zero_shot` (text head only): held-out validation models; the checkpoint is then chosen on the mean of
    in-distribution and zero-shot validation top-1 (`TrainResult.score`).
    `device`: where to train (a name or torch.device); None: the enclosing `hfprobe.device.use_device`
    block's, the CPU outside one. The layers and the probe move there once, not per batch; on CUDA the
    forward runs under bf16 autocast (`hfprobe.device.autocast`); on the CPU nothing changes.
    """
    from ..device import autocast, current_device, resolve_device

    if cfg.head == "text" and text_emb is None:
        raise ValueError("head='text' needs text_emb")
    dev = resolve_device(device) if device is not None else current_device()
    Xtr, Ytr, Xva, Yva = (t.to(dev) for t in (Xtr, Ytr, Xva, Yva))  # once; a no-op on the CPU
    text_emb = text_emb.to(dev) if text_emb is not None else None
    if zero_shot is not None:
        zero_shot = ZeroShotVal(zero_shot.X.to(dev), zero_shot.y.to(dev), zero_shot.text_emb.to(dev))
    cfg = cfg.resolved()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    n_classes = Ytr.shape[1] if cfg.head == "multilabel" else None
    text_dim = text_emb.shape[1] if text_emb is not None else None
    model = build_model(cfg, Xtr.shape[1], Xtr.shape[2], n_classes=n_classes, text_dim=text_dim).to(dev)
    model.fit_input(Xtr)
    lr = cfg.lr or (1e-3 if cfg.head == "multilabel" else 2e-3)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    best = (-1.0, float("inf"))
    best_state, best_epoch, history = None, -1, []
    min_loss, min_loss_epoch = float("inf"), -1
    t0 = time.perf_counter()
    bar = progress_bar(range(cfg.max_epochs), desc=desc, disable=not progress, leave=False, dynamic_ncols=True)
    epoch = -1
    for epoch in bar:
        model.train()
        perm = torch.randperm(len(Xtr), generator=gen).to(dev)  # drawn on the CPU: the same order everywhere
        total = 0.0
        for i in range(0, len(Xtr), cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            with autocast(dev):
                logits = model(Xtr[idx], text_emb)
            loss = _loss(logits.float(), Ytr[idx], cfg.head)  # the loss in fp32 (a no-op cast on the CPU)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        with autocast(dev):
            val_logits = predict_logits(model, Xva, text_emb).float()
        val, val_loss = metric(val_logits, Yva, cfg.head), _loss(val_logits, Yva, cfg.head).item()
        row = {"epoch": epoch, "train_loss": total / len(Xtr), "val": val, "val_loss": val_loss}
        score = val
        if zero_shot is not None:
            with autocast(dev):
                row["zero_shot_val"] = evaluate(model, zero_shot.X, zero_shot.y, "text", zero_shot.text_emb)
            score = (val + row["zero_shot_val"]) / 2
        history.append(row)
        if (score, -val_loss) > (best[0], -best[1]):
            best, best_epoch = (score, val_loss), epoch
            best_state = copy.deepcopy(model.state_dict())
        bar.set_postfix(val=f"{score:.3f}", best=f"{best[0]:.3f}", refresh=False)  # drawn at the bar's pace
        if val_loss < (1 - LOSS_MIN_DELTA) * min_loss:  # losses are >= 0; min_loss starts at inf
            min_loss, min_loss_epoch = val_loss, epoch
        # stop only when neither the figure nor the validation loss has improved for `patience` epochs: a
        # text probe can sit at chance top-1 for 40+ epochs while its validation loss falls, then take off
        # (a loss creeping down by less than LOSS_MIN_DELTA, as a saturated cosine head's does, is no progress)
        if epoch - max(best_epoch, min_loss_epoch) >= cfg.patience:
            break
    bar.close()
    model.load_state_dict(best_state)
    model.to("cpu").eval()  # experts are saved, evaluated and routed on the CPU
    chosen = history[best_epoch]
    return TrainResult(
        model,
        chosen["val"],
        best_epoch,
        epoch + 1,
        time.perf_counter() - t0,
        n_params(model),
        history,
        chosen.get("zero_shot_val"),
        str(dev),
    )

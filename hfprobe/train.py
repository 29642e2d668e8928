"""Training ProbeX (and the dense baseline) on one layer of a zoo's models.

Two objectives, as in the paper:
- "multilabel": each model was fine-tuned on a subset of classes; multi-hot target, BCE-with-logits;
  metric = element-wise accuracy of the n_classes binary outputs at threshold 0.5 (chance about 0.5).
- "text": each model was fine-tuned on one class; logits = cosine against the text embeddings of the
  training classes, cross-entropy; metric = top-1.

Adam, the checkpoint with the best validation metric is kept (ties broken by validation loss), early
stopping after `patience` epochs in which neither that metric improved nor the validation loss fell by 1%,
a tqdm bar with the running validation figure.
A text tree with held-out categories also has zero-shot validation models (val_holdout, categories
that are neither trained on nor tested): there the checkpoint and the layer are chosen on the mean of
in-distribution and zero-shot validation top-1, since one expert answers both kinds of question.

    >>> cfg = TrainConfig(head="multilabel", r_U=8, r_V=8, r_T=8, max_epochs=5)
    >>> res = train_probe(Xtr, Ytr, Xva, Yva, cfg)          # doctest: +SKIP
    >>> res.best_val, res.model                             # doctest: +SKIP
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace

import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from .probex import BilinearTextProbe, DenseProbe, ProbeX, n_params

KINDS = ("probex", "dense", "bilinear")
# Regularisation when the config leaves it unset (None), per head. Multi-label trees: the paper's training;
# on the mini zoo validation prefers it on every tree (README). Text-aligned trees keep dropout and a stronger
# weight decay: without them ProbeX's zero-shot collapses to chance on the generative tree (README, ZOO-NOTES).
HEAD_DEFAULTS = {
    "multilabel": {"dropout": 0.0, "weight_decay": 1e-5},
    "text": {"dropout": 0.5, "weight_decay": 1e-2},
}
LOSS_MIN_DELTA = 0.01  # relative drop in validation loss that counts as progress for early stopping


@dataclass
class TrainConfig:
    head: str = "multilabel"        # "multilabel" (BCE, multi-hot) or "text" (cosine logits, CE)
    r_U: int = 128                  # paper's sizes; smaller ranks are not ProbeX as published
    r_V: int = 128
    r_T: int = 128
    views: tuple = ()               # ("gram",) adds MVProbe-style second-order views
    dropout: float | None = None    # on the ReLU features; None: the head's default (HEAD_DEFAULTS)
    weight_decay: float | None = None  # Adam's L2 term; None: the head's default (HEAD_DEFAULTS)
    lr: float | None = None         # None: 1e-3 for multilabel, 2e-3 for text (paper)
    batch_size: int = 128
    max_epochs: int = 300
    patience: int = 40              # epochs with neither a better validation figure nor a 1% lower validation loss
    seed: int = 0
    kind: str = "probex"            # "probex"; "dense" (the baseline, same loop); "bilinear" (text trees: BilinearTextProbe);
    #                                 "auto" (fit_tree only: ProbeX, or on text trees the better of probex/bilinear on val)
    input_norm: str = "tree"        # "tree": centre on the tree mean, one scale; "model": each delta to unit RMS

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


def build_model(cfg: TrainConfig, d_H: int, d_W: int, *, n_classes: int | None = None, text_dim: int | None = None):
    """The untrained module a config describes (ProbeX, the dense baseline or the bilinear text probe)."""
    if cfg.kind not in KINDS:
        raise ValueError(f"unknown probe kind {cfg.kind!r}; known: {', '.join(KINDS)}")
    cfg = cfg.resolved()
    if cfg.kind == "bilinear":
        if cfg.head != "text" or not text_dim:
            raise ValueError("kind='bilinear' scores labels by their text embeddings: it needs a text-aligned tree (head='text')")
        return BilinearTextProbe(d_H, d_W, r_U=cfg.r_U, text_dim=text_dim, input_norm=cfg.input_norm)
    if cfg.kind == "dense":
        return DenseProbe(d_H, d_W, r_T=cfg.r_T, head=cfg.head, n_classes=n_classes, text_dim=text_dim, dropout=cfg.dropout,
                          input_norm=cfg.input_norm)
    return ProbeX(d_H, d_W, r_U=cfg.r_U, r_V=cfg.r_V, r_T=cfg.r_T, head=cfg.head, n_classes=n_classes,
                  text_dim=text_dim, views=tuple(cfg.views), dropout=cfg.dropout, input_norm=cfg.input_norm)


def probe_sizes(cfg: TrainConfig) -> dict:
    """The sizes the config's probe kind actually has (the expert's `sizes`, without its parameter count)."""
    if cfg.kind == "bilinear":
        return {"r_U": cfg.r_U}
    if cfg.kind == "dense":
        return {"r_T": cfg.r_T} if cfg.head == "text" else {}
    return {"r_U": cfg.r_U, "r_V": cfg.r_V, "r_T": cfg.r_T, "views": list(cfg.views)}


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
    out = torch.cat([model(X[i:i + batch_size], text_emb) for i in range(0, len(X), batch_size)])
    model.train(was)
    return out


def evaluate(model, X, Y, head: str, text_emb=None) -> float:
    return metric(predict_logits(model, X, text_emb), Y, head)


def train_probe(Xtr: torch.Tensor, Ytr: torch.Tensor, Xva: torch.Tensor, Yva: torch.Tensor, cfg: TrainConfig, *,
                text_emb: torch.Tensor | None = None, progress: bool = True, desc: str = "probex",
                zero_shot: ZeroShotVal | None = None) -> TrainResult:
    """Train one probe; return the checkpoint with the best validation figure.

    Ytr/Yva: float multi-hot [N, C] for "multilabel", long class indices [N] for "text" (indices into
    the rows of `text_emb` [C, text_dim], the L2-normalised class-prompt embeddings).
    `zero_shot` (text head only): held-out validation models; the checkpoint is then chosen on the mean of
    in-distribution and zero-shot validation top-1 (`TrainResult.score`).
    """
    if cfg.head == "text" and text_emb is None:
        raise ValueError("head='text' needs text_emb")
    cfg = cfg.resolved()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    n_classes = Ytr.shape[1] if cfg.head == "multilabel" else None
    text_dim = text_emb.shape[1] if text_emb is not None else None
    model = build_model(cfg, Xtr.shape[1], Xtr.shape[2], n_classes=n_classes, text_dim=text_dim)
    model.fit_input(Xtr)
    lr = cfg.lr or (1e-3 if cfg.head == "multilabel" else 2e-3)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    best = (-1.0, float("inf"))
    best_state, best_epoch, history = None, -1, []
    min_loss, min_loss_epoch = float("inf"), -1
    t0 = time.perf_counter()
    bar = tqdm(range(cfg.max_epochs), desc=desc, disable=not progress, leave=False, dynamic_ncols=True)
    epoch = -1
    for epoch in bar:
        model.train()
        perm = torch.randperm(len(Xtr), generator=gen)
        total = 0.0
        for i in range(0, len(Xtr), cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            loss = _loss(model(Xtr[idx], text_emb), Ytr[idx], cfg.head)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        val_logits = predict_logits(model, Xva, text_emb)
        val, val_loss = metric(val_logits, Yva, cfg.head), _loss(val_logits, Yva, cfg.head).item()
        row = {"epoch": epoch, "train_loss": total / len(Xtr), "val": val, "val_loss": val_loss}
        score = val
        if zero_shot is not None:
            row["zero_shot_val"] = evaluate(model, zero_shot.X, zero_shot.y, "text", zero_shot.text_emb)
            score = (val + row["zero_shot_val"]) / 2
        history.append(row)
        if (score, -val_loss) > (best[0], -best[1]):
            best, best_epoch = (score, val_loss), epoch
            best_state = copy.deepcopy(model.state_dict())
        bar.set_postfix(val=f"{score:.3f}", best=f"{best[0]:.3f}")
        if val_loss < (1 - LOSS_MIN_DELTA) * min_loss:  # losses are >= 0; min_loss starts at inf
            min_loss, min_loss_epoch = val_loss, epoch
        # stop only when neither the figure nor the validation loss has improved for `patience` epochs: a
        # text probe can sit at chance top-1 for 40+ epochs while its validation loss falls, then take off
        # (a loss creeping down by less than LOSS_MIN_DELTA, as a saturated cosine head's does, is no progress)
        if epoch - max(best_epoch, min_loss_epoch) >= cfg.patience:
            break
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    chosen = history[best_epoch]
    return TrainResult(model, chosen["val"], best_epoch, epoch + 1, time.perf_counter() - t0, n_params(model), history,
                       chosen.get("zero_shot_val"))


def sweep_layers(layers: dict, Ytr, Yva, cfg: TrainConfig, *, text_emb=None, progress=True,
                 zero_shot: dict | None = None) -> tuple[str, dict, dict]:
    """Train one probe per candidate layer and keep the best on validation (the paper's layer choice).

    `layers`: {layer_name: (Xtr, Xva)}; `zero_shot`: {layer_name: ZeroShotVal}, optional (text head).
    Returns (best_name, {name: TrainResult}, {name: selection score}).
    """
    results = {}
    for name, (Xtr, Xva) in layers.items():
        results[name] = train_probe(Xtr, Ytr, Xva, Yva, cfg, text_emb=text_emb, progress=progress, desc=name[-40:],
                                    zero_shot=(zero_shot or {}).get(name))
    scores = {n: r.score for n, r in results.items()}
    best = max(scores, key=lambda n: (scores[n], -len(n)))
    return best, results, scores


def train_expert(Xtr, Ytr, Xva, Yva, *, labels: list[str], cfg: TrainConfig, root: str, layer: str,
                 family: str | None = None, text_encoder=None, Xte=None, Yte=None, zoo_hash: str | None = None,
                 name: str | None = None, progress: bool = True, result: TrainResult | None = None):
    """Train a ProbeX on one tree's layer and wrap it as an `Expert` (config, metrics and routing stats).

    For cfg.head == "text", `text_encoder` (hfprobe.text.TextEncoder) embeds "a photo of a {label}" for
    every label; Y are indices into `labels`. For "multilabel", Y are multi-hot rows over `labels`.
    `result`: an already trained probe (e.g. the winner of a layer sweep) to wrap instead of training.
    """
    from .expert import Expert
    from .route import spread_stats

    text_emb, text_cfg = None, None
    if cfg.head == "text":
        if text_encoder is None:
            raise ValueError("head='text' needs a text encoder")
        text_emb = text_encoder.embed_labels(labels)
        text_cfg = {"id": text_encoder.id, "dim": text_encoder.dim, "prompt": text_encoder.prompt}
    if result is None:
        result = train_probe(Xtr, Ytr, Xva, Yva, cfg, text_emb=text_emb, progress=progress, desc=name or root)
    res = result
    metrics = {"val": res.best_val, "best_epoch": res.best_epoch, "epochs": res.epochs,
               "train_seconds": round(res.seconds, 2), "n_train": len(Xtr), "n_val": len(Xva)}
    if Xte is not None and len(Xte):
        metrics["test"] = evaluate(res.model, Xte, Yte, cfg.head, text_emb)
        metrics["n_test"] = len(Xte)
    if res.best_zero_shot_val is not None:
        metrics["zero_shot_val"] = res.best_zero_shot_val
    metrics["metric"] = "elementwise_accuracy" if cfg.head == "multilabel" else "top1"
    # the tree's spread, for the router: distances of its training and validation models to the centroid
    routing = spread_stats(torch.cat([Xtr, Xva]), res.model.mean)
    config = {
        "name": name or root, "root": root, "family": family, "layer": layer, "shape": list(Xtr.shape[1:]),
        "labels": list(labels), "head": cfg.head, "text_encoder": text_cfg, "train": cfg.resolved().to_dict(),
        "sizes": {**probe_sizes(cfg), "params": res.params},
        "metrics": metrics, "routing": routing, "zoo_hash": zoo_hash,
    }
    return Expert(res.model, config, text_emb)


# ---------------------------------------------------------------------------------------------------
# Reading one tree of a zoo into tensors (every candidate layer in one pass over the model files)

_ATTN = ("query", "key", "value", "to_q", "to_k", "to_v", "q_proj", "k_proj", "v_proj", ".q", ".k", ".v")
HOLDOUT_SPLITS = ("val_holdout", "test_holdout")


@dataclass
class TreeData:
    """One tree's models as tensors. X[layer][split] is [n, d_H, d_W]; Y[split] multi-hot (multilabel)
    or indices into `labels` (text; holdout splits index into `holdout_labels`)."""

    tree: str
    root: str | None
    head: str
    labels: list
    holdout_labels: list
    X: dict
    Y: dict
    ids: dict
    family: str | None = None


def candidate_layers(zoo, tree: str, *, limit: int = 8, kind: str = "probex") -> list[str]:
    """Layers worth probing in a tree: attention q/k/v matrices (the paper's best layers are there),
    spread over depth and projections up to `limit` (`_spread`; 0: all of them, the paper's full sweep);
    any 2-D module if the model has no attention names.

    kind="bilinear": the layers that read the caption, cross-attention values then keys, spread over depth
    (values first because the readout found the caption in them and not in the keys; README, "Experts").
    A tree without cross-attention gets the ordinary candidates.
    """
    from .formats import open_weights

    first = zoo.select(tree=tree)[0]
    with open_weights(first.spec, filename=first.filename) as view:
        mats = [n for n, m in view.modules.items() if m.kind != "embedding" and m.d_out > 1 and m.d_in > 1]
    attn = [n for n in mats if n.endswith(_ATTN) or any(f".{a}" in n for a in ("attn1", "attn2", "attention"))]
    attn = [n for n in attn if n.endswith(_ATTN)] or mats
    if limit < 0:
        raise ValueError(f"limit must be 0 (every candidate) or positive, not {limit}")
    limit = limit or len(attn)
    # Cross-attention first: in a text-conditioned UNet it is where the caption enters the weights (the
    # paper's best SD layer is there, and so is ours on the mini zoo); the rest fill any places left.
    cross = [n for n in attn if ".attn2." in n]
    reads_text = [n for suffix in ("to_v", "to_k") for n in cross if n.endswith(suffix)]
    if kind == "bilinear" and reads_text:
        values = [n for n in reads_text if n.endswith("to_v")]
        picked = _thin(values, limit)
        return picked + _thin([n for n in reads_text if n not in values], limit - len(picked))
    rest = [n for n in attn if n not in cross]
    picked = _spread(cross, limit)
    return picked + _spread(rest, limit - len(picked))


def _spread(names: list[str], k: int) -> list[str]:
    """k layers spread over depth and over the projections (q, k, v) alike.

    Layers are grouped by block (the name up to its last part). Pass r takes from block b its
    ((b + r) mod n)-th projection, so one pass already rotates q, k, v down the depth; each pass is
    thinned evenly over the blocks, and the next pass fills what is left. (Thinning the flat list with
    a stride of 3 would pick the same projection in every block.)
    """
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(n.rsplit(".", 1)[0], []).append(n)
    blocks = list(groups.values())
    picked: list[str] = []
    for r in range(max(map(len, blocks), default=0)):
        picked += _thin([g[(b + r) % len(g)] for b, g in enumerate(blocks) if r < len(g)], k - len(picked))
    return picked


def _thin(names: list[str], k: int) -> list[str]:
    """k names spread evenly over `names` (all of them if there are no more than k)."""
    if len(names) <= k:
        return list(names)
    if k <= 0:
        return []
    step = len(names) / k
    return [names[int(i * step)] for i in range(k)]


def load_tree(zoo, tree: str, layers: list[str], *, progress: bool = False) -> TreeData:
    """Read `layers` of every model of `tree` (one open per model), with labels encoded for training."""
    from .errors import HfprobeError, ZooError
    from .formats import open_weights

    models = zoo.select(tree=tree)
    if not models:
        raise ZooError(f"{zoo.path}: no models in tree {tree!r}; trees here: {', '.join(sorted(zoo.trees()))}")
    X: dict = {name: {} for name in layers}
    raw_labels: dict = {}
    ids: dict = {}
    for m in tqdm(models, desc=f"read {tree}", disable=not progress, leave=False):
        try:
            with open_weights(m.spec, filename=m.filename) as view:
                labels = m.labels if m.labels is not None else zoo._label_reader(m, view)
                mats = [view.layer(name) for name in layers]
        except HfprobeError as err:
            zoo._bad(m.id, f"cannot read: {err}")
            continue
        for name, mat in zip(layers, mats):
            X[name].setdefault(m.split, []).append(mat.float())
        raw_labels.setdefault(m.split, []).append(list(labels))
        ids.setdefault(m.split, []).append(m.id)
    for name in layers:
        for split, mats in X[name].items():
            shapes = {tuple(t.shape) for t in mats}
            if len(shapes) > 1:
                raise ZooError(f"{zoo.path}: tree {tree} layer {name} has several shapes {sorted(shapes)}: mixed architectures")
            X[name][split] = torch.stack(mats)
    for need in ("train", "val"):
        if need not in raw_labels:
            raise ZooError(f"{zoo.path}: tree {tree} has no {need!r} models; an expert needs train and val splits")
    single = all(len(lab) == 1 for rows in raw_labels.values() for lab in rows)
    has_holdout = any(s in raw_labels for s in HOLDOUT_SPLITS)
    head = "text" if single and (has_holdout or len({lab[0] for lab in raw_labels["train"]}) > 2) else "multilabel"
    in_dist = [s for s in raw_labels if s not in HOLDOUT_SPLITS]
    labels = sorted({c for s in in_dist for lab in raw_labels[s] for c in lab})
    holdout = sorted({c for s in HOLDOUT_SPLITS for lab in raw_labels.get(s, []) for c in lab})
    Y = {}
    for split, rows in raw_labels.items():
        vocab = holdout if split in HOLDOUT_SPLITS else labels
        if head == "multilabel":
            Y[split] = torch.tensor([[1.0 if c in lab else 0.0 for c in vocab] for lab in rows])
        else:
            Y[split] = torch.tensor([vocab.index(lab[0]) for lab in rows])
    return TreeData(tree, models[0].root, head, labels, holdout, X, Y, ids)


def holdout_targets(data: TreeData, split: str, text_encoder) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """A holdout split's targets against its own categories only: (y, their text embeddings, their names)."""
    idx = sorted(set(data.Y[split].tolist()))
    remap = {c: i for i, c in enumerate(idx)}
    names = [data.holdout_labels[c] for c in idx]
    return torch.tensor([remap[int(c)] for c in data.Y[split]]), text_encoder.embed_labels(names), names


def zero_shot_vals(data: TreeData, layers: list[str], text_encoder) -> dict | None:
    """{layer: ZeroShotVal} from the tree's val_holdout models, or None (not a text tree, or no such split with
    at least 2 categories: picking among one name is no question)."""
    if data.head != "text" or len(set(data.Y.get("val_holdout", torch.empty(0)).tolist())) < 2 or text_encoder is None:
        return None
    y, emb, _ = holdout_targets(data, "val_holdout", text_encoder)
    return {n: ZeroShotVal(data.X[n]["val_holdout"], y, emb) for n in layers}


def fit_tree(zoo, tree: str, cfg: TrainConfig, *, layers="auto", text_encoder=None, progress=True,
             family: str | None = None, data: TreeData | None = None):
    """Train the expert of one zoo tree: sweep the candidate layers on validation, keep the best.

    `layers`: "auto" (attention q/k/v layers, see `candidate_layers`) or a list of layer names.
    `text_encoder`: an encoder or its id, used only by text-aligned trees (default "minilm").
    `cfg.kind`: "probex", "bilinear" (text trees only) or "auto": ProbeX on multi-label trees; on text trees
    both, each on its own candidates, keeping the one with the better validation score (`kind_sweep` in
    the expert's metrics).
    Returns (expert, {layer: val figure}).
    """
    from .errors import ZooError

    kinds = ["probex", "bilinear"] if cfg.kind == "auto" else [cfg.kind]
    names = {k: candidate_layers(zoo, tree, kind=k) if layers == "auto" else list(layers) for k in kinds}
    if not any(names.values()):
        raise ZooError(f"{zoo.path}: tree {tree} has no 2-D layer to probe")
    everything = list(dict.fromkeys(n for k in kinds for n in names[k]))
    data = data or load_tree(zoo, tree, everything, progress=progress)
    cfg = TrainConfig.from_dict({**cfg.to_dict(), "head": data.head})
    if cfg.kind == "auto" and cfg.head != "text":
        kinds = ["probex"]  # the bilinear probe reads text-aligned trees only
    if cfg.kind == "bilinear" and cfg.head != "text":
        from .errors import UsageError

        raise UsageError(f"{zoo.path}: tree {tree} has multi-label models; the bilinear probe scores one category per model "
                         "by its text embedding, so it needs a text-aligned tree; train this tree with --kind probex or auto")
    if cfg.head == "text" and (text_encoder is None or isinstance(text_encoder, str)):
        from .text import get_text_encoder

        text_encoder = get_text_encoder(text_encoder)  # loaded only when a tree needs it
    text_emb = text_encoder.embed_labels(data.labels) if cfg.head == "text" else None
    zsv = zero_shot_vals(data, everything, text_encoder)
    sweeps = {}
    for kind in kinds:  # with --kind auto on a text tree: both probes, the better on validation is kept
        kcfg = TrainConfig.from_dict({**cfg.to_dict(), "kind": kind})
        per_layer = {n: (data.X[n]["train"], data.X[n]["val"]) for n in names[kind]}
        sweeps[kind] = (kcfg, *sweep_layers(per_layer, data.Y["train"], data.Y["val"], kcfg, text_emb=text_emb, progress=progress,
                                            zero_shot=zsv))
    chosen_on = {k: scores[best] for k, (_, best, _, scores) in sweeps.items()}  # each kind's best layer's score
    kind = max(kinds, key=lambda k: (chosen_on[k], -kinds.index(k)))  # a tie keeps ProbeX
    cfg, best, results, scores = sweeps[kind]
    X, Y = data.X[best], data.Y
    expert = train_expert(X["train"], Y["train"], X["val"], Y["val"], labels=data.labels, cfg=cfg, root=data.root or tree,
                          layer=best, family=family, text_encoder=text_encoder, Xte=X.get("test"), Yte=Y.get("test"),
                          zoo_hash=(getattr(zoo, "info", None) or {}).get("hash"), name=tree, result=results[best])
    expert.config["metrics"]["layer_sweep"] = scores
    if len(sweeps) > 1:
        expert.config["metrics"]["kind_sweep"] = chosen_on
    if cfg.head == "text" and len(set(Y.get("test_holdout", torch.empty(0)).tolist())) >= 2:
        y, emb, _ = holdout_targets(data, "test_holdout", text_encoder)
        expert.config["metrics"]["zero_shot_test"] = evaluate(expert.model, X["test_holdout"], y, "text", emb)
        expert.config["metrics"]["zero_shot_chance"] = 1.0 / len(emb)
    expert.config["tree"] = tree
    return expert, scores

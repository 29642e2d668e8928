"""Token states: what a text-conditioned UNet's cross-attention reads for a prompt, from the root's own
text encoder (the readout compares them with a LoRA's cross-attention deltas).

`provider_for(width)` picks the encoder by the cross-attention input width (the `cross_attention` table of
hfprobe/data/text_encoders.json); states are cached on disk per (encoder, template, padding, labels).

    >>> reader = MiniLMStates()                                  # doctest: +SKIP
    >>> reader.states(["dog", "cat", "violin"]).dim              # doctest: +SKIP
    384
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import TextEncoderError
from .encoders import TEMPLATE, TextEncoder, get_text_encoder, registry
from .roots import root_text_encoder

if TYPE_CHECKING:  # torch loads with the states themselves: choosing and fetching an encoder needs none
    import torch

PROGRESS_AFTER_S = 2.0  # computing token states shows a progress bar once it has taken this long


@dataclass
class TextStates:
    """Token states of one prompt per label from one text encoder (what the UNet's cross-attention reads)."""

    encoder: str  # e.g. "minilm-pad12" or "clip:stable-diffusion-v1-5/stable-diffusion-v1-5"
    template: str
    labels: list[str]
    states: list[torch.Tensor]  # per label [T_l, d], float32
    label_mask: list[torch.Tensor]  # per label [T_l] bool: tokens that spell the label itself
    _prepared: dict = field(default_factory=dict, repr=False)

    @property
    def dim(self) -> int:
        return int(self.states[0].shape[-1])


def _label_token_mask(offsets: list[tuple[int, int]], start: int, end: int) -> torch.Tensor:
    import torch

    return torch.tensor([b > a and a < end and b > start for a, b in offsets], dtype=torch.bool)


class StateReader:
    """Token states of one encoder at one padding, with a disk cache. `pad_to=None`: the encoder's own."""

    def __init__(self, encoder: TextEncoder, pad_to: int | None = None):
        self.encoder = encoder
        self.pad_to = pad_to if pad_to is not None else encoder.default_pad
        self.id = encoder.id if pad_to is None else f"{encoder.id}-pad{pad_to}"

    def states(self, labels: list[str], template: str = TEMPLATE) -> TextStates:
        """Token states for `template.format(label)` of every label; cached on disk per (encoder, labels)."""
        import torch

        from ..config import cache_dir

        labels = list(labels)
        key = [self.id, template, self.pad_to, labels, *getattr(self.encoder, "cache_key", [])]
        digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]
        path = cache_dir() / "readout" / f"states-{digest}.pt"
        with _computing(digest):  # a second thread asking for the same states waits for the first, then reads them
            if path.is_file():
                blob = torch.load(path, weights_only=True)
                return TextStates(self.id, template, labels, [h.float() for h in blob["states"]], blob["label_mask"])
            return self._compute(labels, template, path)

    def _compute(self, labels: list[str], template: str, path) -> TextStates:
        import torch
        from huggingface_hub.utils import tqdm

        states, masks = [], []
        start = template.index("{}")
        # SD 1.5's text model takes about a minute for the default vocabulary on 2 cores, once: a bar where it is slow
        bar = tqdm(
            total=len(labels), desc=f"token states ({self.id})", unit="label", delay=PROGRESS_AFTER_S, name="hfprobe"
        )
        with bar:
            for i in range(0, len(labels), 64):
                chunk = labels[i : i + 64]
                hidden, mask, offsets = self.encoder.token_states([template.format(lab) for lab in chunk], self.pad_to)
                for j, lab in enumerate(chunk):
                    keep = mask[j]
                    states.append(hidden[j][keep].half().float())  # what the disk cache holds: same scores either way
                    off = [o for o, k in zip(offsets[j], keep.tolist()) if k]
                    masks.append(_label_token_mask(off, start, start + len(lab)))
                bar.update(len(chunk))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".states-", suffix=".tmp")  # one per writer
        try:
            with os.fdopen(fd, "wb") as f:
                # float16 on disk: 1,000 SD prompts x 77 tokens x 768 are 118 MB instead of 236 MB; scores move < 1e-3
                torch.save({"states": [h.half() for h in states], "label_mask": masks}, f)
            os.chmod(tmp, 0o644)  # as a plain write would leave it (mkstemp's is 0600)
            os.replace(tmp, path)  # never leave a half-written cache file
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return TextStates(self.id, template, labels, states, masks)


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _computing(digest: str) -> threading.Lock:
    """The lock of one set of token states in this process (a Space's workers, its warm-up thread)."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(digest, threading.Lock())


def MiniLMStates(pad_to: int | None = 12) -> StateReader:
    """all-MiniLM-L6-v2 token states (384-d), the text space of the generative zoo's tiny UNets.

    Their cross-attention reads the last hidden states of "a photo of a {category}" padded to 12 tokens,
    padding included (no encoder mask), so the readout reads the same 12 positions. `pad_to=None` keeps
    only real tokens.
    """
    return StateReader(get_text_encoder("minilm"), pad_to)


def CLIPStates(root: str, *, revision: str | None = None, token=None) -> StateReader:
    """The token states of the CLIP text model a Stable Diffusion root ships (local folder or Hub repo)."""
    return StateReader(root_text_encoder(root, revision=revision, token=token))


def provider_for(cross_dim: int, *, token=None) -> StateReader:
    """The state reader for a UNet whose cross-attention reads `cross_dim`-wide token states."""
    entry = registry()["cross_attention"].get(str(cross_dim))
    if entry is None:
        raise TextEncoderError(
            f"readout: no known text encoder for cross-attention width {cross_dim}; "
            "pass text_states= from the root's own text encoder"
        )
    if entry.get("encoder"):
        return StateReader(get_text_encoder(entry["encoder"]), entry.get("pad_to"))
    if entry.get("root"):
        return CLIPStates(entry["root"], token=token)
    raise TextEncoderError(
        f"readout: {entry.get('why', 'text encoder not supported')} (cross-attention width {cross_dim})"
    )


def warm_root_states(labels: list[str] | None = None, *, token=None) -> dict[str, str]:
    """Fetch the text encoder of every root the readout reads through (`cross_attention` entries with a `root`) and
    compute its token states for `labels` (default: the default vocabulary, what `predict` ranks when given none) into
    the cache, so that the first readout through it answers in seconds. A Space does this at start, in the background.

    Returns {root: "ready"} or {root: the one-line reason it could not be had}; it never raises for a root.
    """
    from .vocab import check_labels, default_vocabulary

    labels = check_labels(labels or default_vocabulary())
    out = {}
    for width, entry in registry()["cross_attention"].items():
        if not entry.get("root"):
            continue
        try:
            reader = provider_for(int(width), token=token)
            reader.states(labels, TEMPLATE)
            reader.encoder.release()  # the states are cached: its 0.5-3.3 GB can go
            out[entry["root"]] = "ready"
        except TextEncoderError as err:
            out[entry["root"]] = str(err).removeprefix("readout: ")
    return out

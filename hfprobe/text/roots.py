"""The text encoders a diffusion root ships, read as its pipeline reads them: the token states its UNet's
cross-attention was trained on, which the readout compares a LoRA's deltas with.

How a root's pipeline reads its text is data, in `cross_attention` of hfprobe/data/text_encoders.json:
- SD 1.x and 2.x: `text_encoder/` (with `tokenizer/`), its last hidden states;
- SDXL: `text_encoder/` and `text_encoder_2/` (with `tokenizer/` and `tokenizer_2/`), each one's penultimate hidden
  states (`"hidden_state": -2`), concatenated: 768 + 1280 = the UNet's 2048.
Every one is called without an attention mask (unless its config sets `use_attention_mask`), as diffusers' pipelines
call them: the padding positions, most of the 77, attend to one another and the UNet reads them all.
`tests/test_readout.py` checks the states against diffusers' own `encode_prompt` for both kinds of pipeline.

Only what is read is fetched: each encoder's `config.json`, one copy of its weights and the tokenizers. Not
`text_encoder/*`: SD 1.5's holds the same weights four or five times (fp32 and fp16, safetensors and pickles; Flax in
some copies), 1.5-2 GB. The copy is the first a repo has of `WEIGHTS`: the fp32 safetensors (SD 1.5's 492 MB, SDXL's
two 3.3 GB), else the fp16 ones (a repo or pipeline folder saved with variant="fp16" only), else the pickle (loaded by
transformers with `torch.load(weights_only=True)`). The fp16 copy would halve the download, but its states differ by
about the float16 step the cache rounds them to (tests/test_predict_hub.py); the exact weights were kept. Every copy
runs in float32, whatever its config says: SD 2.x's and SDXL's say float16, which transformers 5 would load them in,
computing on the CPU in half precision. States from fp16 weights are cached apart (`cache_key`).

    >>> enc = root_text_encoder("stable-diffusion-v1-5/stable-diffusion-v1-5")   # doctest: +SKIP
    >>> enc.dim, enc.default_pad                                                 # doctest: +SKIP
    (768, 77)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import TextEncoderError
from .encoders import _LOADED, _LOCK, _quiet_transformers, _TransformersEncoder, registry

SD_PARTS = ("text_encoder",)  # a root the registry does not describe (a local pipeline folder): read as SD 1.x's
WEIGHTS = ("model.safetensors", "model.fp16.safetensors", "pytorch_model.bin")  # a text encoder's copies, first taken
FP16 = WEIGHTS[1]


def tokenizer_of(part: str) -> str:
    """The tokenizer folder beside a text encoder folder: text_encoder -> tokenizer, text_encoder_2 -> tokenizer_2."""
    return part.replace("text_encoder", "tokenizer", 1)


def text_files(parts=SD_PARTS) -> list[str]:
    """The files of a root the readout fetches where the repo has the fp32 safetensors (patterns for
    `snapshot_download` and `hf download --include`).

    >>> text_files(["text_encoder", "text_encoder_2"])[3:]
    ['text_encoder_2/config.json', 'text_encoder_2/model.safetensors', 'tokenizer_2/*']
    """
    return [f for p in parts for f in (f"{p}/config.json", f"{p}/{WEIGHTS[0]}", f"{tokenizer_of(p)}/*")]


def weights_file(folder: str, part: str) -> str | None:
    """The copy of a text encoder's weights the readout reads from a pipeline folder: the first of WEIGHTS it has."""
    return next((w for w in WEIGHTS if os.path.isfile(os.path.join(folder, part, w))), None)


def reading(root: str) -> dict:
    """How the registry says `root`'s pipeline reads its text: {"encoders": [...], "hidden_state": None or -2}."""
    for entry in registry()["cross_attention"].values():
        if entry.get("root") == root:
            return {"encoders": list(entry.get("encoders") or SD_PARTS), "hidden_state": entry.get("hidden_state")}
    return {"encoders": list(SD_PARTS), "hidden_state": None}


class PipelineTextEncoder(_TransformersEncoder):
    """The text model(s) of a diffusion root (a local pipeline folder or a Hub repo id), token states only.

    A repo is fetched through huggingface_hub (the cache first; HF_HUB_OFFLINE and HF_ENDPOINT apply). The width
    and padding come from the JSON configs, so cached states need no model; tokenizers and models load on first use.
    Raises TextEncoderError with one line when the root cannot be had, which the readout turns into an abstention.
    """

    def __init__(self, root: str, *, revision: str | None = None, token=None, parts=None, hidden_state=None):
        how = reading(root)
        self.parts = tuple(parts or how["encoders"])
        self.hidden_state = hidden_state if parts else how["hidden_state"]
        try:
            path = root if os.path.isdir(root) else _snapshot(root, revision, token, self.parts)
        except Exception as err:
            raise TextEncoderError(_unavailable(root, err, self.parts)) from err
        self.path = path
        self.weights = [weights_file(path, p) for p in self.parts]
        configs = [_json_file(path, f"{p}/config.json") for p in self.parts]
        widths = [c.get("hidden_size") for c in configs]
        self.masks_padding = bool(configs[0].get("use_attention_mask", False))  # as diffusers' SD pipelines call it
        pad = _json_file(path, f"{tokenizer_of(self.parts[0])}/tokenizer_config.json").get("model_max_length")
        known = all(isinstance(w, int) and w > 0 for w in widths)
        super().__init__(f"clip:{root}", {"dim": sum(widths) if known else 0})
        if not self.dim:  # a config that leaves its width to the library's default: ask the library
            self.dim = sum(int(m.config.hidden_size) for m in self._model)
        # SD pads prompts to 77 tokens and attends to all of them (a tokenizer without a length: the same)
        self.default_pad = int(pad) if isinstance(pad, (int, float)) and 0 < pad <= 512 else 77

    @property
    def cache_key(self) -> list:
        """What, beyond the root's id, makes its token states these (hfprobe.text.states keys its cache with it): a
        reading other than SD 1.x's, the unmasked padding (states cached with a mask before are not these), and fp16
        weights."""
        key = [] if self.masks_padding else ["padding attended"]
        if (self.parts, self.hidden_state) != (SD_PARTS, None):
            key.append([list(self.parts), self.hidden_state])
        if FP16 in self.weights:
            key.append("fp16 weights")
        return key

    def _load(self):
        """([tokenizer per encoder], [model per encoder]), each model of the class its config names."""
        try:
            import torch
            import transformers
            from transformers import AutoTokenizer

            toks, models = [], []
            for part, weights in zip(self.parts, self.weights):
                arch = (_json_file(self.path, f"{part}/config.json").get("architectures") or ["CLIPTextModel"])[0]
                cls = getattr(transformers, arch if arch.startswith("CLIPTextModel") else "CLIPTextModel")
                toks.append(AutoTokenizer.from_pretrained(self.path, subfolder=tokenizer_of(part), use_fast=True))
                variant = "fp16" if weights == FP16 else None
                with _quiet_transformers():  # float32, whatever the copy holds or its config's torch_dtype says
                    model = cls.from_pretrained(self.path, subfolder=part, variant=variant, dtype=torch.float32)
                    models.append(model.eval())
        except Exception as err:
            raise TextEncoderError(_unloadable(self.path, err)) from err
        width = sum(int(m.config.hidden_size) for m in models)
        if self.dim and width != self.dim:
            raise TextEncoderError(
                f"readout: the text models in {self.path} are {width} wide but their config.json files say {self.dim}; "
                f"re-download the root's {', '.join(self.parts)}"
            )
        return toks, models

    def token_states(self, prompts, pad_to):
        """(hidden [n, T, dim], all-true mask [n, T], character offsets per token): each encoder's states at every
        padded position, concatenated along the width, as the pipeline passes them to its UNet."""
        import torch

        pad_to = pad_to or self.default_pad
        hidden, offsets = [], None
        with torch.no_grad():
            for tok, model in zip(self._tok, self._model):
                batch = tok(
                    prompts,
                    padding="max_length",
                    max_length=pad_to,
                    truncation=True,
                    return_offsets_mapping=offsets is None,
                    return_tensors="pt",
                )
                if offsets is None:  # the tokenizers share CLIP's BPE: the first one's offsets hold for all
                    offsets = batch.pop("offset_mapping").tolist()
                attention = batch.get("attention_mask") if self.masks_padding else None
                out = model(input_ids=batch["input_ids"], attention_mask=attention, output_hidden_states=True)
                hidden.append(
                    out.last_hidden_state if self.hidden_state is None else out.hidden_states[self.hidden_state]
                )
        states = torch.cat(hidden, dim=-1).float()
        return states, torch.ones(states.shape[:2], dtype=torch.bool), offsets


def root_text_encoder(root: str, *, revision: str | None = None, token=None, parts=None, hidden_state=None):
    """The text encoder(s) a diffusion root ships, read as its pipeline reads them; created once per process.
    `parts` / `hidden_state` override the registry's `encoders` / `hidden_state` (a local folder of another kind)."""
    key = f"clip:{root}@{revision or ''}:{','.join(parts or ())}:{hidden_state}"
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = PipelineTextEncoder(
                root, revision=revision, token=token, parts=parts, hidden_state=hidden_state
            )
        return _LOADED[key]


def _snapshot(root: str, revision: str | None, token, parts) -> str:
    """A root repo's text files (`text_files`) through the Hugging Face cache, one copy of each encoder's weights
    (the first of WEIGHTS the repo has; offline, the first the cache has); the folder."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    from ..source.transport import hub_read

    def fetch(patterns: list[str]) -> str:
        return hub_read(root, lambda: snapshot_download(root, revision=revision, token=token, allow_patterns=patterns))

    path = fetch(text_files(parts))
    for weights in WEIGHTS[1:]:  # a repo without the copies before: fp16 only, or (an older one) pickles only
        missing = [f"{p}/{weights}" for p in parts if weights_file(path, p) is None]
        if missing:
            path = fetch(missing)
    lacking = [p for p in parts if weights_file(path, p) is None]
    if lacking and constants.is_offline_mode():  # only the configs in the cache
        raise LocalEntryNotFoundError(f"{root}: no text encoder weights in the cache")
    if lacking:  # the Hub's copy has none (or the cached one, where the Hub could not be reached)
        raise _NoWeights(lacking)
    return path


class _NoWeights(LookupError):
    """A root repo whose text encoder folders hold none of WEIGHTS."""


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


def _unavailable(root: str, err: Exception, parts=SD_PARTS) -> str:
    """Why a root's text encoder could not be fetched, in one line a CLI user can act on: the Hub said no such repo
    (or not for this token), or it could not be asked (offline, or unreachable) and the cache does not have it."""
    from huggingface_hub import constants
    from huggingface_hub import errors as hf

    includes = " ".join(f"--include '{pattern}'" for pattern in text_files(parts))
    fetch = f"`hf download {root} {includes}`"
    status = getattr(getattr(err, "response", None), "status_code", None)
    http = f"HTTP {status}" if status else type(err).__name__
    if isinstance(err, _NoWeights):
        return (
            f"readout: {root} has no text encoder weights in {', '.join(f'{p}/' for p in err.args[0])} (none of "
            f"{', '.join(WEIGHTS)}); the readout reads the text encoder a diffusers pipeline saves there"
        )
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

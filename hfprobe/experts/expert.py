"""A tree expert on disk: a folder with `expert.safetensors` (weights) and `expert.json` (everything else).

expert.json holds: format, hfprobe version, tree root id and family, layer name and shape, label names,
head kind, text encoder id/dim/prompt (text head), ProbeX sizes and training config, metrics on val/test,
the routing statistics (tree centroid = the `mean` buffer; distance threshold), and the zoo's hash.
The safetensors metadata carries a fingerprint of the fields the weights depend on, so a json from one
expert beside the weights of another is refused on load.

    >>> exp = Expert.load("experts/tiny-vit-a")          # or a Hub repo id "org/name"  # doctest: +SKIP
    >>> exp.config["layer"], exp.config["labels"][:3]     # doctest: +SKIP
    >>> exp.save("out/folder")                            # publish.push_expert(exp, "me/my-expert")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import (
    ExpertError,
    SourceNotFoundError,
    TextEncoderError,
)

if TYPE_CHECKING:
    import torch

FORMAT = "hfprobe-expert/1"


WEIGHTS, CONFIG = "expert.safetensors", "expert.json"


_FINGERPRINT_KEYS = ("layer", "shape", "labels", "head", "train", "text_encoder")


def fingerprint(config: dict) -> str:
    """Hash of the config fields the weights depend on (stored in the safetensors metadata)."""
    core = {k: config.get(k) for k in _FINGERPRINT_KEYS}
    return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()[:16]


class Expert:
    """A trained ProbeX for one tree and one layer, with its config.

    `config` keys: format, version, root, family, layer, shape [d_H, d_W], labels, head, text_encoder
    ({id, dim, prompt} or None), train (TrainConfig as dict), sizes (the sizes its probe kind has, e.g.
    {r_U, r_V, r_T, views} for ProbeX, {r_U} for the bilinear probe; and params),
    metrics ({val, test, ...}), routing ({threshold, spread, ...}), zoo_hash.
    """

    def __init__(
        self,
        model: torch.nn.Module | None,
        config: dict,
        label_text_emb: torch.Tensor | None = None,
        *,
        folder: Path | None = None,
    ):
        self._model = model.eval() if model is not None else None
        self.config = config
        # Text head: the embeddings of the training classes, so predicting over them needs no encoder.
        self._label_text_emb = label_text_emb
        self._folder = folder  # `load` checks the files and defers their tensors (and torch) to first use
        self._arrays: dict | None = None  # the same tensors as numpy arrays (`arrays`), read on first use

    @property
    def model(self) -> torch.nn.Module:
        if self._model is None:
            self._load_weights()
        return self._model

    @property
    def label_text_emb(self) -> torch.Tensor | None:
        if self._model is None:
            self._load_weights()
        return self._label_text_emb

    @property
    def arrays(self) -> dict:
        """The weights file's tensors as numpy arrays (`model.<name>` for the probe's, `label_text_emb`), read
        without torch: what `hfprobe.experts.infer` predicts with."""
        if self._arrays is None:
            if self._folder is None:  # built in memory (trained here): its module's tensors
                state = {f"model.{k}": v.detach().float().numpy() for k, v in self.model.state_dict().items()}
                if self._label_text_emb is not None:
                    state["label_text_emb"] = self._label_text_emb.float().numpy()
                self._arrays = state
            else:
                from safetensors.numpy import load_file

                path = self._folder / WEIGHTS
                try:
                    self._arrays = {k: v.astype("float32") for k, v in load_file(str(path)).items()}
                except Exception as err:
                    raise ExpertError(f"{path}: cannot read ({err}); re-download or retrain the expert") from err
        return self._arrays

    # -- identity ------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.get("name") or self.config["root"]

    @property
    def layer(self) -> str:
        return self.config["layer"]

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.config["shape"])

    @property
    def centroid(self) -> torch.Tensor:
        return self.model.mean

    def check_layer(self, X, where: str = "input"):
        """Return X (a torch tensor or a numpy array) as float32 [B, d_H, d_W]; ExpertError if the layer's shape is
        not the expert's."""
        if X.ndim == 2:
            X = X[None]
        if tuple(X.shape[1:]) != self.shape:
            raise ExpertError(
                f"{where}: layer {self.layer} has shape {list(X.shape[1:])} but expert {self.name} expects "
                f"{list(self.shape)}; "
                f"use an expert trained on this architecture"
            )
        return X.float() if hasattr(X, "float") else X.astype("float32", copy=False)

    def check_text_space(self, encoder) -> None:
        """Refuse a text encoder other than the one the expert was trained in."""
        te = self.config.get("text_encoder")
        if self.config["head"] != "text" or te is None:
            raise ExpertError(
                f"expert {self.name} has a classification head, not a text-aligned one; zero-shot labels need a text "
                "expert"
            )
        if encoder.id != te["id"] or encoder.dim != te["dim"]:
            raise TextEncoderError(
                f"expert {self.name} was trained in text space {te['id']} ({te['dim']}-d) but got {encoder.id} "
                f"({encoder.dim}-d); "
                f"use --text-encoder {te['id']}"
            )

    # -- save / load ---------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        """Write the two files atomically (a temp folder renamed into place); returns the folder. An existing expert
        there is replaced; any other existing file or non-empty folder is refused, never deleted."""
        folder = Path(folder)
        if folder.exists() and not (folder.is_dir() and (not any(folder.iterdir()) or (folder / CONFIG).is_file())):
            raise ExpertError(
                f"{folder}: exists and is not an expert folder; save the expert to a new or empty folder, "
                "or to an expert's own folder to replace it"
            )
        from safetensors.torch import save_file

        folder.parent.mkdir(parents=True, exist_ok=True)
        cfg = dict(self.config, format=FORMAT, version=__version__)
        tensors = {f"model.{k}": v.detach().contiguous().clone() for k, v in self.model.state_dict().items()}
        if self.label_text_emb is not None:
            tensors["label_text_emb"] = self.label_text_emb.contiguous().clone()
        tmp = Path(tempfile.mkdtemp(prefix=".expert-", dir=folder.parent))
        try:
            save_file(tensors, str(tmp / WEIGHTS), metadata={"format": FORMAT, "fingerprint": fingerprint(cfg)})
            (tmp / CONFIG).write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.config = cfg
        return folder

    @classmethod
    def load(cls, path_or_repo: str | os.PathLike, *, revision: str | None = None, token: str | None = None) -> Expert:
        """Load from a local folder, or from a Hub repo (downloads only expert.json and expert.safetensors).

        The config and the weights' header are read and checked here; the tensors (and torch) on first use of
        `model`, so experts of other trees cost a router nothing but their JSON."""
        folder = Path(path_or_repo)
        if not folder.exists():
            folder = download_experts(str(path_or_repo), revision=revision, token=token)
        if not folder.is_dir():
            raise ExpertError(f"{folder}: an expert is a folder with {CONFIG} and {WEIGHTS}; got a file")
        for fname in (CONFIG, WEIGHTS):
            if not (folder / fname).is_file():
                raise ExpertError(
                    f"{folder}: {fname} is missing; an expert folder needs {CONFIG} and {WEIGHTS} (retrain or "
                    "re-download it)"
                )
        try:
            cfg = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ExpertError(f"{folder / CONFIG}: not valid JSON ({err}); re-download or retrain the expert") from err
        if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
            raise ExpertError(
                f"{folder / CONFIG}: format is {cfg.get('format') if isinstance(cfg, dict) else None!r}, expected "
                f"{FORMAT!r}; not an hfprobe expert"
            )
        try:  # the header alone: no tensor is read, and torch is not imported, until the expert is used
            from safetensors import safe_open

            with safe_open(str(folder / WEIGHTS), framework="numpy") as f:
                meta = f.metadata() or {}
        except Exception as err:
            raise ExpertError(f"{folder / WEIGHTS}: cannot read ({err}); re-download or retrain the expert") from err
        if meta.get("fingerprint") != fingerprint(cfg):
            raise ExpertError(
                f"{folder}: {WEIGHTS} and {CONFIG} do not belong together (fingerprint mismatch); keep the two files "
                "of one expert together"
            )
        return cls(None, cfg, folder=folder)

    def _load_weights(self) -> None:
        """Build the probe from the config and load its tensors (the first time an expert from `load` is used)."""
        from safetensors.torch import load_file

        from .probes import TrainConfig, build_model

        path, cfg = self._folder / WEIGHTS, self.config
        try:
            tensors = load_file(str(path))
        except Exception as err:
            raise ExpertError(f"{path}: cannot read ({err}); re-download or retrain the expert") from err
        state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        text = cfg.get("text_encoder") or {}
        model = build_model(
            TrainConfig.from_dict(cfg["train"]),
            *cfg["shape"],
            n_classes=len(cfg["labels"]) if cfg["head"] == "multilabel" else None,
            text_dim=text.get("dim"),
        )
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise ExpertError(
                f"{path}: tensors do not match the architecture in {CONFIG} ({str(err).splitlines()[0]})"
            ) from err
        self._label_text_emb = tensors.get("label_text_emb")
        self._model = model.eval()  # last: another thread that sees the model sees its label embeddings too


def download_experts(repo_id: str, *, revision=None, token=None, patterns=(CONFIG, WEIGHTS)) -> Path:
    """A Hub repo's expert files (`patterns`) through the Hugging Face cache; the snapshot folder."""
    from huggingface_hub import snapshot_download

    from ..source.hub import hub_errors
    from ..source.transport import hub_read

    if repo_id.count("/") != 1 or repo_id.startswith((".", "/")):
        raise SourceNotFoundError(f"{repo_id}: no such expert folder, and not a Hub repo id (org/name)")
    with hub_errors(f"expert {repo_id}", token=token):
        fetch = partial(snapshot_download, repo_id, revision=revision, token=token, allow_patterns=list(patterns))
        return Path(hub_read(f"expert {repo_id}", fetch))


def load_experts(folder: str | os.PathLike) -> list[Expert]:
    """Every expert in a folder of expert folders (sorted by name); [] if the folder does not exist."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [Expert.load(p) for p in sorted(folder.iterdir()) if (p / CONFIG).is_file()]


def default_experts_dir() -> Path:
    from ..config import cache_dir

    return Path(os.environ.get("HFPROBE_EXPERTS") or cache_dir() / "experts")

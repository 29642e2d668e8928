"""Read zoos: a zoo built by `build_zoo`, or any folder of model folders whose labels sit in model-card
metadata or in a manifest (JSONL or CSV). Model-J on the Hub is read by `modelj.open_modelj`.

Every layer is read through `hfprobe.formats.open_weights(...).layer(name)`, the same format layer
`hfprobe inspect` uses, so a zoo can hold any format hfprobe understands.

    >>> zoo = open_zoo("path/to/zoo")                                     # doctest: +SKIP
    >>> for item in zoo.read("unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k", split="train"):
    ...     item.id, item.tree, item.labels, item.matrix.shape            # doctest: +SKIP

Bad input (missing or malformed labels, a manifest row without files, a layer absent from a model,
a layer whose shape differs inside one tree) raises `ZooError` naming the model and the problem; with
`skip_bad=True` the model is skipped and listed in `zoo.skipped` as (id, reason).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import HfprobeError, UsageError, ZooError

if TYPE_CHECKING:  # tensors come with a model's layer; finding a zoo's models and labels needs no torch
    import torch

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")


@dataclass
class ZooModel:
    """One model of a zoo. `labels` may be None for Model-J rows until `read` opens the file."""

    id: str
    tree: str
    root: str | None
    split: str
    labels: list[str] | None
    spec: object  # what open_weights receives: a path, or a hub Source
    filename: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class ZooItem:
    id: str
    tree: str
    root: str | None
    split: str
    labels: list[str]
    matrix: torch.Tensor


class Zoo:
    """A list of models plus how to read one layer of each. Build with `open_zoo` or `open_modelj`."""

    def __init__(
        self,
        models: list[ZooModel],
        *,
        kind: str,
        path: str,
        skip_bad: bool = False,
        skipped: list | None = None,
        label_reader: Callable | None = None,
        info: dict | None = None,
        stacks: Callable | None = None,
    ):
        self.models, self.kind, self.path, self.skip_bad = models, kind, path, skip_bad
        self.skipped: list[tuple[str, str]] = list(skipped or [])
        self.info = info or {}
        self._label_reader = label_reader
        self._stacks = stacks

    def __len__(self) -> int:
        return len(self.models)

    def trees(self) -> dict[str, list[ZooModel]]:
        out: dict[str, list[ZooModel]] = {}
        for m in self.models:
            out.setdefault(m.tree, []).append(m)
        return out

    def select(self, *, tree: str | None = None, split: str | list[str] | None = None) -> list[ZooModel]:
        splits = [split] if isinstance(split, str) else split
        return [m for m in self.models if (tree is None or m.tree == tree) and (splits is None or m.split in splits)]

    def resolve_tree(self, name: str) -> str:
        """A tree's name from its name or its root id (one tree must match)."""
        trees = self.trees()
        if name in trees:
            return name
        by_root = [t for t, models in trees.items() if models[0].root == name]
        if len(by_root) == 1:
            return by_root[0]
        raise UsageError(f"{self.path}: no tree {name!r}; trees here: {', '.join(sorted(trees))}")

    def labels_for(self, model: ZooModel, view) -> list[str]:
        """The model's labels: from the manifest/card, else from its weights' metadata (Model-J)."""
        if model.labels is not None:
            return model.labels
        if self._label_reader is None:
            raise ZooError(f"{self.path}: model {model.id}: no labels")
        return self._label_reader(model, view)

    def layer_stacks(self, tree: str, layers: list[str], *, progress: bool = False):
        """For zoos too big to hold in memory (Model-J): (X, labels, ids) with X a lazy {layer: {split: tensor}}
        (one layer materialised at a time, from an on-disk layer cache) and labels/ids per split; None for a
        zoo whose models `load_tree` reads one by one."""
        return None if self._stacks is None else self._stacks(self, tree, layers, progress)

    def report_bad(self, model_id: str, problem: str) -> None:
        """Raise ZooError naming the model, or (skip_bad) record it in `skipped`."""
        self._bad(model_id, problem)

    def _bad(self, model_id: str, problem: str) -> None:
        if not self.skip_bad:
            raise ZooError(
                f"{self.path}: model {model_id}: {problem} (fix it, or pass skip_bad=True / --skip-bad to skip it)"
            )
        self.skipped.append((model_id, problem))

    def read(
        self, layer: str, *, tree: str | None = None, split: str | list[str] | None = None, scaled: bool = False
    ) -> Iterator[ZooItem]:
        """Yield each selected model with `layer` as a float32 matrix, one model at a time (streaming)."""
        from ..formats import open_weights

        shapes: dict[str, tuple[tuple, str]] = {}  # tree -> (shape, first model): streaming keeps no majority
        for m in self.select(tree=tree, split=split):
            try:
                with open_weights(m.spec, filename=m.filename) as view:
                    labels = self.labels_for(m, view)
                    matrix = view.layer(layer, scaled=scaled)
            except ZooError as err:
                self._bad(m.id, str(err))
                continue
            except HfprobeError as err:  # layer absent, unreadable weights, unknown format
                self._bad(m.id, f"cannot read layer {layer!r}: {err}")
                continue
            want, first = shapes.setdefault(m.tree, (tuple(matrix.shape), m.id))
            if tuple(matrix.shape) != want:
                self._bad(
                    m.id,
                    f"layer {layer} has shape {tuple(matrix.shape)}, but {first} (first of tree {m.tree}) "
                    f"has {want}: mixed architectures in one tree",
                )
                continue
            yield ZooItem(m.id, m.tree, m.root, m.split, labels, matrix)

    def stack(self, layer: str, **kw) -> tuple[list[ZooItem], torch.Tensor]:
        """All selected models' `layer` stacked into one tensor [n, d_out, d_in] (items keep ids/labels)."""
        import torch

        items = list(self.read(layer, **kw))
        if not items:
            raise ZooError(f"{self.path}: no model with layer {layer!r} in this selection")
        return items, torch.stack([i.matrix for i in items])


def _labels(value, model_id: str) -> list[str]:
    """Normalise labels: a list of non-empty strings; a single string (or a ';'-joined one) is accepted."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise ZooError(f"model {model_id}: labels {text[:60]!r} are not a valid JSON list") from None
        else:
            value = [v.strip() for v in text.split(";")]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [str(value)]
    if not isinstance(value, list) or not value or not all(isinstance(v, (str, int)) and str(v).strip() for v in value):
        raise ZooError(f"model {model_id}: labels must be a non-empty list of names, got {value!r}")
    return [str(v).strip() for v in value]


def _card_meta(folder: Path) -> dict | None:
    from huggingface_hub import metadata_load

    readme = folder / "README.md"
    if not readme.is_file():
        return None
    try:
        return metadata_load(readme) or {}
    except Exception as err:  # yaml errors come in several types; all mean "malformed card"
        raise ZooError(f"{readme}: model card metadata is not valid YAML ({err}); fix the card") from err


def declares_labels(path: str | Path) -> bool:
    """Whether a folder is a zoo: a manifest, a built zoo's zoo.json, or a model card that lists labels."""
    base = Path(path)
    if any((base / name).is_file() for name in ("manifest.jsonl", "manifest.csv", "zoo.json")):
        return True
    for readme in sorted(base.glob("*/README.md"))[:1000]:
        try:
            if (_card_meta(readme.parent) or {}).get("labels"):
                return True
        except ZooError:
            return True  # a card that cannot be read: the zoo reader says so
    return False


def _has_weights(folder: Path) -> bool:
    return any(p.suffix in WEIGHT_SUFFIXES for p in folder.rglob("*") if p.is_file())


def _from_rows(rows: list[dict], base: Path, where: str, skip_bad: bool, skipped: list) -> list[ZooModel]:
    models, seen = [], set()
    for n, row in enumerate(rows, 1):
        mid = str(row.get("id") or row.get("path") or f"row {n}")
        try:
            if mid in seen:
                raise ZooError(f"model {mid}: listed twice in {where}")
            seen.add(mid)
            rel = row.get("path") or row.get("id")
            target = (base / rel) if rel else None
            if target is None or not target.exists():
                raise ZooError(f"model {mid}: {where} points at {target}, which does not exist")
            if target.is_dir() and not _has_weights(target):
                raise ZooError(f"model {mid}: {target} holds no weights file")
            if "labels" not in row or row["labels"] in (None, ""):
                raise ZooError(
                    f"model {mid}: no labels in {where}; a zoo lists each model's labels (manifest.jsonl or its card); "
                    "for real models of unknown origin, `hfprobe inspect` names each one's root"
                )
            labels = _labels(row["labels"], mid)
            filename = row.get("weights") if target.is_dir() and row.get("weights") else None
            models.append(
                ZooModel(
                    mid,
                    str(row.get("tree") or row.get("root") or "default"),
                    row.get("root"),
                    str(row.get("split") or "train"),
                    labels,
                    str(target),
                    filename,
                    {k: v for k, v in row.items() if k not in ("id", "tree", "root", "split", "labels", "path")},
                )
            )
        except ZooError as err:
            if not skip_bad:
                raise ZooError(f"{where}: {err} (fix it, or pass skip_bad=True / --skip-bad)") from None
            skipped.append((mid, str(err)))
    return models


def read_manifest(path: Path) -> list[dict]:
    """Rows of a manifest.jsonl or manifest.csv (CSV labels: ';'-separated or a JSON list)."""
    if path.suffix == ".csv":
        with open(path, newline="") as fh:
            return [dict(r) for r in csv.DictReader(fh)]
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise ZooError(f"{path}: line {n} is not valid JSON ({err}); fix or remove that line") from None
    return rows


def open_zoo(path: str | Path, *, skip_bad: bool = False, manifest: str | Path | None = None) -> Zoo:
    """Open a built zoo, a folder with a manifest (JSONL/CSV), or a folder of model folders with cards.

    >>> zoo = open_zoo("my-loras/", skip_bad=True)     # doctest: +SKIP
    >>> len(zoo), zoo.skipped                          # doctest: +SKIP
    """
    base = Path(path)
    if not base.is_dir():
        raise ZooError(f"{base}: not a folder; pass a zoo folder or a folder of model folders")
    skipped: list = []
    if manifest is None:
        for name in ("manifest.jsonl", "manifest.csv"):
            if (base / name).is_file():
                manifest = name  # relative to the zoo folder, like a manifest the caller names
                break
    if manifest is not None:
        mpath = Path(manifest) if Path(manifest).is_absolute() else base / manifest
        if not mpath.is_file():
            raise ZooError(f"{mpath}: manifest not found; pass an existing manifest.jsonl or manifest.csv")
        models = _from_rows(read_manifest(mpath), base, str(mpath), skip_bad, skipped)
        info = json.loads((base / "zoo.json").read_text()) if (base / "zoo.json").is_file() else {}
        return Zoo(
            models, kind="zoo" if info else "manifest", path=str(base), skip_bad=skip_bad, skipped=skipped, info=info
        )
    rows = []
    for folder in sorted(p for p in base.rglob("*") if p.is_dir() and not p.name.startswith(".")):
        if not _has_weights(folder) or any(_has_weights(c) for c in folder.iterdir() if c.is_dir()):
            continue  # not a model folder, or a parent of model folders
        rel = folder.relative_to(base).as_posix()
        try:
            meta = _card_meta(folder)
        except ZooError as err:
            if not skip_bad:
                raise
            skipped.append((rel, str(err)))
            continue
        meta = meta or {}
        base_model = meta.get("base_model")
        rows.append(
            {
                "id": meta.get("model_id") or rel,
                "path": rel,
                "labels": meta.get("labels"),
                "split": meta.get("split"),
                "root": meta.get("root") or (base_model if isinstance(base_model, str) else None),
                "tree": meta.get("tree") or (base_model if isinstance(base_model, str) else None),
            }
        )
    if not rows and not skipped:
        raise ZooError(f"{base}: no model folders with weights found; expected <folder>/<model>/<weights>.safetensors")
    models = _from_rows(rows, base, f"{base} (model cards)", skip_bad, skipped)
    return Zoo(models, kind="cards", path=str(base), skip_bad=skip_bad, skipped=skipped)


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def zoo_info(path: str | Path, *, skip_bad: bool = False) -> dict:
    """Per tree: root, model count per split, categories, build time, disk size (bytes).

    A folder that is not a built zoo is opened with `open_zoo` (its bad models skipped with `skip_bad`).
    """
    base = Path(path)
    meta_path = base / "zoo.json"
    if not meta_path.is_file():
        zoo = open_zoo(base, skip_bad=skip_bad)
        trees = {}
        for name, models in zoo.trees().items():
            splits: dict[str, int] = {}
            for m in models:
                splits[m.split] = splits.get(m.split, 0) + 1
            trees[name] = {
                "root": models[0].root,
                "models": len(models),
                "splits": dict(sorted(splits.items())),
                "categories": sorted({c for m in models for c in (m.labels or [])}),
            }
        return {
            "path": str(base),
            "kind": zoo.kind,
            "trees": trees,
            "disk_bytes": _dir_size(base),
            "skipped": [{"id": i, "reason": r} for i, r in zoo.skipped],
        }
    meta = json.loads(meta_path.read_text())
    log = json.loads((base / "build.json").read_text()) if (base / "build.json").is_file() else {}
    trees = {}
    for name, t in meta["trees"].items():
        size = _dir_size(base / "models" / name) + (
            _dir_size(base / "roots" / name) if (base / "roots" / name).is_dir() else 0
        )
        trees[name] = {
            "root": t["root"],
            "kind": t["kind"],
            "format": t["format"],
            "models": t["models"],
            "splits": t["splits"],
            "categories": t["categories"],
            "holdout_categories": t.get("holdout_categories", []),
            "data_used": t.get("data_used"),
            "build_seconds": log.get("seconds", {}).get(name),
            "build_cpu_seconds": log.get("cpu_seconds", {}).get(name),
            "disk_bytes": size,
        }
    return {
        "path": str(base),
        "kind": "zoo",
        "hash": meta["hash"],
        "preset": meta["preset"],
        "seed": meta["seed"],
        "device": meta.get("device", "cpu"),
        "versions": meta["versions"],
        "trees": trees,
        "skipped": log.get("skipped", []),
        "build_seconds": round(sum(v for v in log.get("seconds", {}).values()), 1),
        "build_cpu_seconds": round(sum(v for v in log.get("cpu_seconds", {}).values()), 1) or None,
        "disk_bytes": _dir_size(base),
    }

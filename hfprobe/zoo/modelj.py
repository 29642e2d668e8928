"""Read Model-J as published (ProbeX org on the Hub), one layer per model, streamed with ranged reads.

Layouts (hfprobe/data/modelj.json):
- generative subsets (SD_200, SD_1k): one repo `ProbeX/Model-J__<subset>` holding
  `<split>/model_idx_NNNN/pytorch_lora_weights.safetensors`, split in train/val/test/val_holdout/test_holdout,
  the class in safetensors metadata `imagenet_class_id`;
- discriminative subsets (SupViT, DINO, MAE, ResNet): one repo per model, listed by the ProbeX/Model-J
  dataset rows (`hf_model_id`, `split`); the 50 chosen classes in metadata `dataset_chosen_targets`.

Only a header and one tensor's bytes per model are fetched, so a 350 GB split never lands on disk.

    >>> zoo = open_modelj("ProbeX/Model-J__SD_200", splits=["train"])           # doctest: +SKIP
    >>> for item in zoo.read("unet.down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_q"):
    ...     item.id, item.labels                                                 # doctest: +SKIP
"""

from __future__ import annotations

import ast
import json
import re
from importlib import resources
from pathlib import Path

from ..errors import ZooError
from .read import Zoo, ZooModel, read_manifest

_SPLIT_FILE = re.compile(r"^(?P<split>[^/]+)/(?P<model>[^/]+)/(?P<file>[^/]+\.safetensors)$")


def modelj_data() -> dict:
    return json.loads(resources.files("hfprobe").joinpath("data/modelj.json").read_text())


def labels_from_metadata(metadata: dict, model_id: str) -> list[str]:
    """Model-J labels: `dataset_chosen_targets` (a Python list literal) or `imagenet_class_id`."""
    if "dataset_chosen_targets" in metadata:
        raw = metadata["dataset_chosen_targets"]
        try:
            value = ast.literal_eval(raw)  # literal_eval only parses literals; nothing is executed
        except (ValueError, SyntaxError):
            raise ZooError(
                f"model {model_id}: metadata dataset_chosen_targets {raw[:60]!r} is not a list literal"
            ) from None
        if not isinstance(value, (list, tuple)) or not value:
            raise ZooError(f"model {model_id}: metadata dataset_chosen_targets is not a non-empty list")
        return [str(v) for v in value]
    if "imagenet_class_id" in metadata:
        value = str(metadata["imagenet_class_id"]).strip()
        if not value:
            raise ZooError(f"model {model_id}: metadata imagenet_class_id is empty")
        return [value]
    raise ZooError(
        f"model {model_id}: no label in safetensors metadata (expected dataset_chosen_targets or imagenet_class_id)"
    )


def _label_reader(model: ZooModel, view) -> list[str]:
    return labels_from_metadata(view.metadata or {}, model.id)


def _subset_of(repo_id: str) -> str:
    name = repo_id.split("/")[-1]
    return name.split("__", 1)[1] if "__" in name else name


def open_modelj(
    source,
    *,
    subset: str | None = None,
    splits: list[str] | None = None,
    token=None,
    revision: str | None = None,
    skip_bad: bool = False,
) -> Zoo:
    """Open Model-J: `source` is a generative repo id (`ProbeX/Model-J__SD_200`), or the discriminative
    rows (a list of dicts, or a JSONL/CSV file, with `hf_model_id` and `split`) plus `subset`.

    Labels are read from each file's safetensors header when `zoo.read(layer)` streams the model.
    """
    from ..source.resolve import resolve

    data = modelj_data()
    if isinstance(source, str) and not Path(source).is_file():
        subset = subset or _subset_of(source)
        src = resolve(source, token=token, revision=revision)
        wanted = set(splits or data["generative_splits"])
        models = []
        for name in src.files():
            m = _SPLIT_FILE.match(name)
            if m and m["split"] in wanted:
                models.append(
                    ZooModel(f"{m['split']}/{m['model']}", subset, _root(data, subset), m["split"], None, src, name)
                )
        if not models:
            raise ZooError(
                f"{src.display}: no <split>/<model>/*.safetensors files for splits {sorted(wanted)}; "
                "is this a Model-J generative repo?"
            )
        return Zoo(models, kind="modelj", path=src.display, skip_bad=skip_bad, label_reader=_label_reader)
    rows = read_manifest(Path(source)) if not isinstance(source, list) else source
    if not subset:
        raise ZooError("Model-J discriminative rows need subset= (SupViT, DINO, MAE or ResNet)")
    wanted = set(splits or data["discriminative_splits"])
    models = []
    for n, row in enumerate(rows, 1):
        repo = row.get("hf_model_id")
        if not repo:
            raise ZooError(
                f"Model-J rows: row {n} has no hf_model_id; export the ProbeX/Model-J dataset rows as they are"
            )
        if str(row.get("split", "train")) in wanted:
            models.append(
                ZooModel(
                    repo,
                    subset,
                    _root(data, subset),
                    str(row.get("split", "train")),
                    None,
                    resolve(repo, token=token, revision=revision),
                    None,
                )
            )
    return Zoo(models, kind="modelj", path=f"Model-J {subset}", skip_bad=skip_bad, label_reader=_label_reader)


def _root(data: dict, subset: str) -> str | None:
    return data["subsets"].get(subset, {}).get("root")

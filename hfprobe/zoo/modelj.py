"""Read Model-J as published (ProbeX org on the Hub), one layer per model, streamed with ranged reads.

Layouts (hfprobe/data/modelj.json):
- generative subsets (SD_200, SD_1k): one repo `ProbeX/Model-J__<subset>` holding
  `<split>/model_idx_NNNN/pytorch_lora_weights.safetensors`, split in train/val/test/val_holdout/test_holdout,
  the class in safetensors metadata `imagenet_class_id` (an ImageNet WordNet id, named through
  hfprobe/data/imagenet_wnids.txt);
- discriminative subsets (SupViT, DINO, MAE, ResNet): one repo per model, listed by the rows of the
  `ProbeX/Model-J` dataset (config = subset; columns `hf_model_id`, split = train/val/test); the 50 chosen
  classes in metadata `dataset_chosen_targets`.

Only a header and the wanted tensors' bytes per model are fetched, so a 350 GB split never lands on disk.
`zoo.read(layer)` streams one layer; training (`load_tree`) goes through the layer cache
(hfprobe.zoo.layercache): one pass over the models, then one layer at a time from disk.

`modelj:SUBSET[,SUBSET...][@REVISION]` is the spec `hfprobe train/bench --zoo` take (`open_zoo_spec`).

    >>> parse_modelj_spec("modelj:SD_200")
    (['SD_200'], None)
    >>> zoo = open_modelj("ProbeX/Model-J__SD_200", splits=["train"])           # doctest: +SKIP
    >>> for item in zoo.read("unet.down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_q"):
    ...     item.id, item.labels                                                 # doctest: +SKIP
"""

from __future__ import annotations

import ast
import fnmatch
import hashlib
import json
import posixpath
import re
from functools import lru_cache, partial
from importlib import resources
from pathlib import Path

from ..errors import UsageError, ZooError
from .read import Zoo, ZooModel, open_zoo, read_manifest

_SPLIT_FILE = re.compile(r"^(?P<split>[^/]+)/(?P<model>[^/]+)/(?P<file>[^/]+\.safetensors)$")
PREFIX = "modelj:"
ROW_SUFFIXES = (".parquet", ".csv", ".jsonl", ".json")


def modelj_data() -> dict:
    return json.loads(resources.files("hfprobe").joinpath("data/modelj.json").read_text())


@lru_cache(maxsize=1)
def imagenet_names() -> dict[str, str]:
    """ImageNet-1k WordNet id -> class name (hfprobe/data/imagenet_wnids.txt).

    >>> imagenet_names()["n02119789"]
    'kit fox'
    """
    text = resources.files("hfprobe").joinpath("data/imagenet_wnids.txt").read_text(encoding="utf-8")
    return dict(line.split("\t", 1) for line in text.splitlines() if line and not line.startswith("#"))


def labels_from_metadata(metadata: dict, model_id: str) -> list[str]:
    """Model-J labels: `dataset_chosen_targets` (a Python list literal) or `imagenet_class_id` (a WordNet id,
    returned as its class name, since the text-aligned head embeds "a photo of a {name}"; other ids as they are).

    >>> labels_from_metadata({"imagenet_class_id": "n02119789"}, "m")
    ['kit fox']
    """
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
        return [imagenet_names().get(value, value)]
    raise ZooError(
        f"model {model_id}: no label in safetensors metadata (expected dataset_chosen_targets or imagenet_class_id)"
    )


def _label_reader(model: ZooModel, view) -> list[str]:
    return labels_from_metadata(view.metadata or {}, model.id)


def _subset_of(repo_id: str) -> str:
    name = repo_id.split("/")[-1]
    return name.split("__", 1)[1] if "__" in name else name


def _stacks(zoo: Zoo, tree: str, layers: list[str], progress: bool):
    """`Zoo.layer_stacks` for Model-J: fill the tree's layer cache, then hand out its layers lazily."""
    from ..config import cache_dir
    from .layercache import LayerCache

    models = zoo.select(tree=tree)
    key = models[0].extra.get("cache_key") or "local"
    # one cache per selection of models: a split filter or another rows file gets its own folder
    listing = "\n".join(sorted(f"{m.id}|{getattr(m.spec, 'display', m.spec)}|{m.filename}" for m in models))
    folder = cache_dir() / "modelj" / key / f"{tree}-{hashlib.sha1(listing.encode()).hexdigest()[:12]}"
    cache = LayerCache(zoo, tree, folder, split_order=modelj_data()["generative_splits"])
    cache.ensure(layers, progress=progress)
    for m, labels in zip(cache.models, cache.index["labels"]):
        m.labels = labels if labels is None else list(labels)  # known now: the readout and zoo_info use them
    for mid, why in cache.bad().items():
        if (mid, why) not in zoo.skipped:
            zoo.report_bad(mid, why)
    rows = cache.rows_by_split()
    raw_labels = {s: [cache.index["labels"][r] for r in rs] for s, rs in rows.items()}
    ids = {s: [cache.index["rows"][r]["id"] for r in rs] for s, rs in rows.items()}
    return cache.lazy(layers), raw_labels, ids


def _hub_source(repo_id: str, *, token, revision):
    """The repo as one Source pinned to its commit (every model read at the same revision), and that commit."""
    from huggingface_hub import HfApi

    from ..source import Source
    from ..source.hub import hub_errors
    from ..source.transport import hub_read

    with hub_errors(repo_id):
        info = hub_read(repo_id, lambda: HfApi().model_info(repo_id, revision=revision, token=token))
    files = sorted(s.rfilename for s in info.siblings or [])
    return Source("hub", repo_id, repo_id=repo_id, revision=info.sha, token=token, _files=files), info.sha


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

    Labels are read from each file's safetensors header when `zoo.read(layer)` streams the model, or when
    training fills the layer cache (`zoo.layer_stacks`).
    """
    from ..source.resolve import resolve

    data = modelj_data()
    if isinstance(source, str) and not Path(source).is_file():
        subset = subset or _subset_of(source)
        if Path(source).is_dir():
            src, key = resolve(source), None
        else:
            src, sha = _hub_source(source, token=token, revision=revision)
            key = f"{source.replace('/', '__')}@{sha[:12]}"
        wanted = set(splits or data["generative_splits"])
        models = []
        for name in src.files():
            m = _SPLIT_FILE.match(name)
            if m and m["split"] in wanted:
                models.append(
                    ZooModel(
                        f"{m['split']}/{m['model']}",
                        subset,
                        _root(data, subset),
                        m["split"],
                        None,
                        src,
                        name,
                        {"cache_key": key} if key else {},
                    )
                )
        if not models:
            raise ZooError(
                f"{src.display}: no <split>/<model>/*.safetensors files for splits {sorted(wanted)}; "
                "is this a Model-J generative repo?"
            )
        return Zoo(
            models, kind="modelj", path=src.display, skip_bad=skip_bad, label_reader=_label_reader, stacks=_stacks
        )
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
                    {"cache_key": row["_cache_key"]} if row.get("_cache_key") else {},
                )
            )
    return Zoo(
        models,
        kind="modelj",
        path=f"Model-J {subset}",
        skip_bad=skip_bad,
        label_reader=_label_reader,
        stacks=_stacks,
    )


def _root(data: dict, subset: str) -> str | None:
    return data["subsets"].get(subset, {}).get("root")


# ---- the `modelj:` spec -------------------------------------------------------------------------------
def is_modelj_spec(spec) -> bool:
    return isinstance(spec, str) and spec.startswith(PREFIX)


def parse_modelj_spec(spec: str) -> tuple[list[str], str | None]:
    """`modelj:SD_200` -> (["SD_200"], None); `modelj:SupViT,DINO@refs/pr/1` -> (["SupViT", "DINO"], "refs/pr/1").

    >>> parse_modelj_spec("modelj:SD_1k,SD_200")
    (['SD_1k', 'SD_200'], None)
    """
    body, _, revision = spec[len(PREFIX) :].partition("@")
    subsets = [s.strip() for s in body.split(",") if s.strip()]
    known = modelj_data()["subsets"]
    unknown = [s for s in subsets if s not in known]
    if not subsets or unknown:
        raise UsageError(
            f"--zoo {spec}: {'unknown Model-J subset ' + ', '.join(unknown) if unknown else 'no subset named'}; "
            f"choose from {', '.join(known)} (e.g. modelj:SD_200, or modelj:SupViT,DINO,MAE)"
        )
    return subsets, revision or None


def open_zoo_spec(spec, *, skip_bad: bool = False, token=None) -> Zoo:
    """What `--zoo` names: a zoo folder (`open_zoo`) or `modelj:SUBSET[,SUBSET...][@REVISION]` (Model-J from the
    Hub, one tree per subset; its generative repos and the dataset listing the discriminative models)."""
    if not is_modelj_spec(spec):
        return open_zoo(spec, skip_bad=skip_bad)
    subsets, revision = parse_modelj_spec(spec)
    data = modelj_data()
    parts = []
    for subset in subsets:
        if data["subsets"][subset]["kind"] == "generative":
            parts.append(
                open_modelj(
                    f"{data['org']}/Model-J__{subset}", subset=subset, token=token, revision=revision, skip_bad=skip_bad
                )
            )
        else:
            rows = modelj_rows(subset, token=token, revision=revision)
            parts.append(open_modelj(rows, subset=subset, token=token, skip_bad=skip_bad))
    models = [m for z in parts for m in z.models]
    # what an expert records as its zoo: the repos' commits it was trained on
    commits = ",".join(sorted({m.extra["cache_key"] for m in models if m.extra.get("cache_key")}))
    return Zoo(
        models,
        kind="modelj",
        path=spec,
        skip_bad=skip_bad,
        label_reader=_label_reader,
        stacks=_stacks,
        info={"hash": commits or None, "source": spec},
    )


def modelj_rows(subset: str, *, token=None, revision: str | None = None) -> list[dict]:
    """The rows of the `ProbeX/Model-J` dataset for one discriminative subset: {hf_model_id, split, ...}.

    The subset's data files are found through the dataset card's `configs` (their `data_files` per split),
    else by path: a file under a folder named after the subset whose name (or folder) starts with the split,
    as in `SupViT/train-00000-of-00001.parquet` or `SupViT/train/0000.parquet`. Parquet, CSV or JSON Lines.
    """
    from huggingface_hub import HfApi, hf_hub_download

    from ..source.hub import hub_errors
    from ..source.transport import hub_read

    repo = modelj_data()["dataset"]
    with hub_errors(repo):
        info = hub_read(repo, lambda: HfApi().dataset_info(repo, revision=revision, token=token))
    files = sorted(s.rfilename for s in info.siblings or [])
    per_split = _row_files(files, subset, getattr(info, "card_data", None))
    if not per_split:
        raise ZooError(
            f"{repo}: no data files for subset {subset} (looked for card configs and {subset}/<split>*"
            f"{'|'.join(ROW_SUFFIXES)}); export the rows as JSONL with hf_model_id and split and use open_modelj"
        )
    rows = []
    for split in modelj_data()["discriminative_splits"]:
        for name in per_split.get(split, []):
            with hub_errors(f"{repo}/{name}"):
                path = hub_read(
                    f"{repo}/{name}",
                    partial(hf_hub_download, repo, name, repo_type="dataset", revision=info.sha, token=token),
                )
            for row in _read_rows(Path(path)):
                rows.append({**row, "split": split, "_cache_key": f"{repo.replace('/', '__')}@{info.sha[:12]}"})
    return rows


def _row_files(files: list[str], subset: str, card_data) -> dict[str, list[str]]:
    """{split: data files} of one dataset config, from the card's `configs` or the paths."""
    splits = modelj_data()["discriminative_splits"]
    configs = (card_data or {}).get("configs") if hasattr(card_data, "get") else None
    for cfg in configs or []:
        if cfg.get("config_name") != subset:
            continue
        spec = cfg.get("data_files") or []
        entries = [{"split": "train", "path": spec}] if isinstance(spec, str) else spec
        out: dict[str, list[str]] = {}
        for entry in entries:
            patterns = entry.get("path") if isinstance(entry, dict) else entry
            patterns = [patterns] if isinstance(patterns, str) else list(patterns or [])
            split = entry.get("split", "train") if isinstance(entry, dict) else "train"
            out[split] = sorted(f for f in files if any(fnmatch.fnmatch(f, p) for p in patterns))
        return {s: fs for s, fs in out.items() if fs}
    out = {}
    for f in files:
        parts = f.split("/")
        if subset not in parts[:-1] or not f.endswith(ROW_SUFFIXES):
            continue
        after = parts[parts.index(subset) + 1 :]
        base = posixpath.splitext(after[0])[0] if after else ""
        split = next((s for s in splits if re.match(rf"^{s}(\b|_|-|$)", base)), None)
        if split:
            out.setdefault(split, []).append(f)
    return out


def _read_rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError(
                f"{path.name}: reading Model-J's parquet rows needs pyarrow: pip install pyarrow"
            ) from None
        return pq.read_table(path).to_pylist()
    if path.suffix == ".json":
        obj = json.loads(path.read_text())
        return obj if isinstance(obj, list) else [obj]
    return read_manifest(path)


def modelj_kind(zoo) -> str:
    """ "generative" or "discriminative": the kind of every subset of a Model-J zoo or `modelj:` spec (a zoo mixing
    them is a usage error: they train with different settings; run them separately).

    >>> modelj_kind("modelj:SupViT,DINO")
    'discriminative'
    """
    data = modelj_data()
    trees = parse_modelj_spec(zoo)[0] if isinstance(zoo, str) else list(zoo.trees())
    kinds = {data["subsets"][t]["kind"] for t in trees if t in data["subsets"]}
    if len(kinds) != 1:
        raise UsageError(
            f"--zoo {zoo if isinstance(zoo, str) else zoo.path}: generative (SD) and discriminative subsets train with "
            "different settings; run them separately (e.g. modelj:SD_200, then modelj:SupViT,DINO,MAE,ResNet)"
        )
    return kinds.pop()


def paper_protocol(zoo) -> dict:
    """The paper's training settings for a Model-J zoo or `modelj:` spec (hfprobe/data/modelj.json `protocol`), as
    TrainConfig fields.

    >>> paper_protocol("modelj:SD_200")["max_epochs"]
    200
    """
    return dict(modelj_data()["protocol"][modelj_kind(zoo)])

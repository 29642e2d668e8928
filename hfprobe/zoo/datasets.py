"""Training data that needs no download: Fashion-MNIST (Debian), sklearn digits, Debian fortunes,
and procedurally drawn images for the generative tree.

Where Fashion-MNIST or the fortunes are missing, a documented fallback is used and the zoo
records which data each tree really saw (`data_used`).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FORTUNES_DIR = Path("/usr/share/games/fortunes")


@functools.lru_cache(maxsize=4)  # several trees read the same 47 MB file
def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def image_data(name: str, recipe: dict, image_size: int) -> tuple[torch.Tensor, torch.Tensor, list[str], str]:
    """(images [N,1,S,S] float in [0,1], labels [N], class names, data actually used).

    `fashion-mnist` falls back to sklearn digits when the Debian package is absent.
    """
    if name == "fashion-mnist" and (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file():
        x = torch.from_numpy(_read_idx(FASHION_DIR / "train-images-idx3-ubyte.gz").copy()).float() / 255.0
        y = torch.from_numpy(_read_idx(FASHION_DIR / "train-labels-idx1-ubyte.gz").astype(np.int64))
        x = x[:, None]
        classes, used = recipe["fashion_mnist_classes"], "fashion-mnist"
    else:
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]
        y = torch.from_numpy(d.target.astype(np.int64))
        classes, used = recipe["digits_classes"], "sklearn-digits" + ("" if name == "digits" else " (fallback)")
    if x.shape[-1] != image_size:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return x.contiguous(), y, list(classes), used


def fortunes(min_texts: int, need: int = 2) -> tuple[dict[str, list[str]], str]:
    """Debian fortunes by category (file name), each text one fortune; only categories with >= min_texts.

    Falls back to templated sentences when fewer than `need` categories qualify: `fortunes-min` alone
    has 3 categories, the full `fortunes` package 40-odd; a tree asking for 16 must not crash on the former.
    """
    out: dict[str, list[str]] = {}
    if FORTUNES_DIR.is_dir():
        for path in sorted(FORTUNES_DIR.iterdir()):
            if path.suffix or not path.is_file():
                continue
            texts = [t.strip() for t in path.read_text(errors="replace").split("\n%\n")]
            texts = [" ".join(t.split()) for t in texts if len(t.strip()) > 20]
            if len(texts) >= min_texts:
                out[path.name] = texts
    if len(out) >= max(2, need):
        return out, "debian-fortunes"
    why = "fortunes absent" if not out else f"only {len(out)} fortune categories here, {need} needed"
    return _fallback_texts(min_texts, need), f"templated-sentences ({why})"


_TOPICS = {
    "cooking": ["soup", "bread", "oven", "recipe", "spice"],
    "sports": ["goal", "team", "match", "score", "coach"],
    "computers": ["kernel", "bug", "compiler", "disk", "network"],
    "love": ["heart", "kiss", "romance", "date", "longing"],
    "law": ["judge", "court", "contract", "lawyer", "verdict"],
    "science": ["atom", "theory", "experiment", "lab", "energy"],
    "music": ["song", "melody", "guitar", "choir", "rhythm"],
    "travel": ["train", "map", "journey", "hotel", "border"],
    "weather": ["storm", "drizzle", "forecast", "thunder", "frost"],
    "money": ["bank", "loan", "coin", "budget", "tax"],
    "gardening": ["seed", "weed", "hedge", "compost", "tulip"],
    "medicine": ["doctor", "fever", "pill", "nurse", "surgery"],
    "sea": ["sailor", "harbour", "wave", "anchor", "tide"],
    "politics": ["vote", "senator", "campaign", "ballot", "party"],
    "animals": ["horse", "owl", "beaver", "kitten", "wolf"],
    "school": ["teacher", "homework", "exam", "chalk", "lesson"],
}


def _fallback_texts(n: int, need: int = 8) -> dict[str, list[str]]:
    """`need` topics (at least 8, at most 16) of n templated sentences each, the same on every machine."""
    from ..errors import ZooError

    if need > len(_TOPICS):
        raise ZooError(
            f"the recipe asks for {need} text categories; without the Debian `fortunes` package only "
            f"{len(_TOPICS)} templated ones exist; install it (apt-get install fortunes) or ask for fewer"
        )
    frames = [
        "the {} was on my mind all day",
        "never trust a {} before breakfast",
        "every {} has its season",
        "a {} and a {} walked into a bar",
        "think twice about the {}",
    ]
    rng = np.random.default_rng(0)
    out = {}
    for topic, words in list(_TOPICS.items())[: max(8, need)]:
        out[topic] = [frames[i % len(frames)].format(*rng.choice(words, 2)) for i in range(n)]
    return out


def _category_params(category: str) -> dict:
    """Drawing parameters fixed by the category's name (sha256), so every build draws the same class."""
    h = hashlib.sha256(category.encode()).digest()
    return {
        "shape": h[0] % 6,
        "fg": np.array([h[1], h[2], h[3]]) / 255.0,
        "bg": np.array([h[4], h[5], h[6]]) / 255.0 * 0.6,
        "freq": 1.0 + (h[7] % 5),
        "angle": (h[8] / 255.0) * np.pi,
        "size": 0.25 + (h[9] / 255.0) * 0.35,
    }


def category_images(category: str, n: int, size: int, seed: int) -> torch.Tensor:
    """n procedural RGB images [n,3,size,size] in [-1,1] for one category: a shape, colours and texture fixed
    by the name, with per-image jitter (position, scale, noise) from `seed`.

    These are not photographs: no offline dataset has 60 named classes, so the generative tree learns
    "caption -> this category's visual signature". Its weights still carry which caption it was tuned on.
    """
    p = _category_params(category)
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(-1, 1, size), np.linspace(-1, 1, size), indexing="ij")
    imgs = np.empty((n, 3, size, size), dtype=np.float32)
    for i in range(n):
        cx, cy = rng.uniform(-0.3, 0.3, 2)
        r = p["size"] * rng.uniform(0.8, 1.2)
        ang = p["angle"] + rng.normal(0, 0.1)
        u = (xx - cx) * np.cos(ang) + (yy - cy) * np.sin(ang)
        v = -(xx - cx) * np.sin(ang) + (yy - cy) * np.cos(ang)
        shape = p["shape"]
        if shape == 0:
            mask = (u**2 + v**2) < r**2
        elif shape == 1:
            mask = (np.abs(u) < r) & (np.abs(v) < r)
        elif shape == 2:
            mask = np.sin(u * p["freq"] * np.pi * 2) > 0
        elif shape == 3:
            mask = (np.sin(u * p["freq"] * 3) * np.sin(v * p["freq"] * 3)) > 0
        elif shape == 4:
            d = np.sqrt(u**2 + v**2)
            mask = (d < r * 1.5) & (d > r * 0.8)
        else:
            mask = (v > -r) & (np.abs(u) < (r - v) * 0.6) & (v < r)
        img = np.where(mask[None], p["fg"][:, None, None], p["bg"][:, None, None])
        img = img + rng.normal(0, 0.03, img.shape)
        imgs[i] = np.clip(img, 0, 1) * 2 - 1
    return torch.from_numpy(imgs)

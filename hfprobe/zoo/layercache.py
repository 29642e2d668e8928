"""One tree's layers on disk, one array per layer, so a split of thousands of Hub models is read once and
then trained on one layer at a time (what the paper's all-layer sweep on Model-J needs).

Why: a ViT-B tree of 1,000 full fine-tunes holds 2.4 GB per 768x768 layer; an SD 1.5 LoRA tree of 5,000
models expands to 33 GB per 1280x1280 layer. Reading every model again for each layer, or holding every
layer in memory, does not scale; a cache filled by ONE streaming pass (per model: the header, then the
wanted tensors' bytes in a few coalesced ranged reads) and materialised one layer at a time does.

Layout, under `<hfprobe cache>/modelj/<repo@commit>/<tree>/`:

    index.json      the rows (model id, split; sorted by split), their labels, rows found bad, and per layer
                    its kind, shape, rank, file stem and which rows are filled (resumable: an interrupted
                    pass keeps every row it wrote)
    L000.W.npy      full weights:   float32 [rows, d_out, d_in]           (memory-mapped when read)
    L001.A.npy      LoRA factors:   float32 [rows, r, d_in] and .B.npy [rows, d_out, r]; the layer is B @ A
                    (unscaled, as `WeightsView.layer` and the paper use), multiplied when read

`LayerStacks` is the lazy `{layer: {split: tensor}}` a `TreeData` holds: a layer is materialised when asked
for and only the last one is kept, so a sweep over 96 layers holds about one in memory.

    >>> cache = LayerCache(zoo, "SD_200", folder)                          # doctest: +SKIP
    >>> cache.ensure(["unet.down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_q"])   # doctest: +SKIP
    >>> cache.stacks("unet.down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_q")["train"].shape  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from ..errors import HfprobeError, NetworkError, SourceAccessError, ZooError

COALESCE_GAP = 1 << 20  # tensors less than 1 MiB apart are fetched in one ranged read
FLUSH_EVERY = 32  # rows between index writes (what an interrupted pass loses at most)
INDEX_VERSION = 1


class LazyLayers(Mapping):
    """A mapping whose values are computed when asked for (`load(key)`), the last one kept.

    Code written for `{layer: value}` dicts (layer sweeps, zero-shot validation sets) iterates it unchanged
    while holding one value at a time.

    >>> m = LazyLayers(["a", "b"], str.upper)
    >>> dict(m)
    {'a': 'A', 'b': 'B'}
    """

    def __init__(self, keys: Iterable[str], load: Callable):
        self._keys, self._load = list(dict.fromkeys(keys)), load
        self._last: tuple | None = None

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        if self._last is None or self._last[0] != key:
            self._last = None  # drop the previous value before making the next
            self._last = (key, self._load(key))
        return self._last[1]

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key) -> bool:
        return key in self._keys


class LayerCache:
    """The layer cache of one tree of `zoo` in `folder` (see the module docstring)."""

    def __init__(self, zoo, tree: str, folder: Path, *, split_order: list[str] | None = None, workers: int = 8):
        order = {s: i for i, s in enumerate(split_order or [])}
        self.zoo, self.tree, self.folder, self.workers = zoo, tree, Path(folder), max(1, workers)
        self.models = sorted(zoo.select(tree=tree), key=lambda m: order.get(m.split, len(order)))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.index = self._load_index()

    # -- the index -----------------------------------------------------------------------------------
    def _load_index(self) -> dict:
        rows = [{"id": m.id, "split": m.split} for m in self.models]
        path = self.folder / "index.json"
        if path.is_file():
            index = json.loads(path.read_text())
            if index.get("version") == INDEX_VERSION and index.get("rows") == rows:
                return index
            raise ZooError(
                f"{self.folder}: the layer cache holds another list of models (the repo changed?); "
                "delete this folder to rebuild it"
            )
        return {
            "version": INDEX_VERSION,
            "tree": self.tree,
            "rows": rows,
            "labels": [None] * len(rows),
            "bad": {},
            "layers": {},
        }

    def _save_index(self) -> None:
        tmp = self.folder / ".index.json.tmp"
        tmp.write_text(json.dumps(self.index, indent=0, sort_keys=True))
        os.replace(tmp, self.folder / "index.json")

    def bad(self) -> dict[str, str]:
        """{model id: reason} for the rows that could not be read (kept, so a rerun does not retry them)."""
        return {self.index["rows"][int(r)]["id"]: why for r, why in self.index["bad"].items()}

    def _todo(self, layers: list[str]) -> list[int]:
        bad = self.index["bad"]
        out = []
        for r in range(len(self.models)):
            if str(r) in bad:
                continue
            missing = any(
                name not in self.index["layers"] or self.index["layers"][name]["done"][r] != "1" for name in layers
            )
            if missing or self.index["labels"][r] is None:
                out.append(r)
        return out

    # -- filling -------------------------------------------------------------------------------------
    def ensure(self, layers: list[str], *, progress: bool = False) -> None:
        """Read whatever rows lack one of `layers` (or their labels), one streaming pass; resumable.

        A model that cannot be read (no label, layer absent, shape or rank unlike the tree's) is a ZooError
        naming it, or with the zoo's skip_bad recorded in the index and `zoo.skipped`. Network errors are
        raised as they are and not recorded: rerun to resume.
        """
        from filelock import FileLock

        from ..config import progress_bar

        with FileLock(str(self.folder / ".lock")):
            self.index = self._load_index()  # another process may have filled rows meanwhile
            todo = self._todo(layers)
            if not todo:
                return
            bar = progress_bar(total=len(todo), desc=f"read {self.tree}", unit="model", disable=not progress)
            arrays: dict = {}
            try:
                with ThreadPoolExecutor(max_workers=self.workers) as pool:
                    window = self.workers * 2  # rows in flight: bounds memory when reads outrun writes
                    for start in range(0, len(todo), window):
                        chunk = todo[start : start + window]
                        for n, (r, out) in enumerate(zip(chunk, pool.map(lambda r: self._read_row(r, layers), chunk))):
                            self._write_row(r, out, arrays)
                            bar.update(1)
                            if (start + n + 1) % FLUSH_EVERY == 0:
                                self._flush(arrays)
            finally:
                self._flush(arrays)
                bar.close()

    def _flush(self, arrays: dict) -> None:
        for arr in arrays.values():
            arr.flush()
        self._save_index()

    def _read_row(self, r: int, layers: list[str]):
        """(labels, {layer: ("full", W) | ("lora", A, B)}) of row r, or the exception that stopped it."""
        from ..formats import open_weights

        m = self.models[r]
        want = [n for n in layers if n not in self.index["layers"] or self.index["layers"][n]["done"][r] != "1"]
        try:
            with open_weights(_fork(m.spec), filename=m.filename) as view:
                labels = self.zoo.labels_for(m, view)
                return labels, _read_layers(view, want)
        except (NetworkError, SourceAccessError):
            raise
        except HfprobeError as err:
            return err

    def _write_row(self, r: int, out, arrays: dict) -> None:
        m = self.models[r]
        if isinstance(out, Exception):
            return self._bad(r, f"cannot read: {out}")
        labels, got = out
        for name, entry in got.items():
            problem = self._fits(name, entry)
            if problem:
                return self._bad(r, problem)
        self.index["labels"][r] = list(labels)
        m.labels = list(labels)
        for name, entry in got.items():
            layer = self.index["layers"][name]
            for part, value in zip(("W",) if entry[0] == "full" else ("A", "B"), entry[1:]):
                key = (name, part)
                if key not in arrays:
                    arrays[key] = self._array(layer, part, value.shape)
                arrays[key][r] = value.numpy()
            layer["done"] = layer["done"][:r] + "1" + layer["done"][r + 1 :]

    def _fits(self, name: str, entry) -> str | None:
        """Register a new layer from its first row, or say why this row does not fit the tree's layer."""
        kind, shape = entry[0], list(entry[-1].shape[:1]) + list(entry[1].shape[1:])  # [d_out, d_in]
        rank = entry[1].shape[0] if kind == "lora" else None
        layer = self.index["layers"].get(name)
        if layer is None:
            stem = f"L{len(self.index['layers']):03d}"
            self.index["layers"][name] = {
                "kind": kind,
                "shape": shape,
                "rank": rank,
                "file": stem,
                "done": "0" * len(self.models),
            }
            return None
        if (kind, shape, rank) != (layer["kind"], layer["shape"], layer["rank"]):
            return (
                f"layer {name} is {kind} {shape}"
                + (f" rank {rank}" if rank else "")
                + f", but the tree's is {layer['kind']} {layer['shape']}"
                + (f" rank {layer['rank']}" if layer["rank"] else "")
                + ": mixed architectures in one tree"
            )
        return None

    def _array(self, layer: dict, part: str, row_shape) -> np.memmap:
        path = self.folder / f"{layer['file']}.{part}.npy"
        if path.is_file():
            return np.load(path, mmap_mode="r+")
        tmp = path.with_name(f".{path.name}.tmp")
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(self.models), *row_shape))
        os.replace(tmp, path)  # the open mapping follows the renamed file
        return arr

    def _bad(self, r: int, problem: str) -> None:
        self.index["bad"][str(r)] = problem
        self._save_index()
        self.zoo.report_bad(self.models[r].id, problem)  # raises unless skip_bad

    # -- reading -------------------------------------------------------------------------------------
    def rows_by_split(self) -> dict[str, list[int]]:
        """Rows with labels and not bad, per split (in the index's order)."""
        out: dict[str, list[int]] = {}
        for r, row in enumerate(self.index["rows"]):
            if str(r) not in self.index["bad"] and self.index["labels"][r] is not None:
                out.setdefault(row["split"], []).append(r)
        return out

    def stacks(self, name: str) -> dict[str, torch.Tensor]:
        """One layer of every good row as float32 [n, d_out, d_in] per split (full weights memory-mapped)."""
        layer = self.index["layers"].get(name)
        if layer is None:
            raise ZooError(f"{self.folder}: layer {name} is not in the layer cache; read it first (ensure)")
        if layer["kind"] == "full":
            W = np.load(self.folder / f"{layer['file']}.W.npy", mmap_mode="c")
            return {s: _rows(W, rows) for s, rows in self.rows_by_split().items()}
        A = np.load(self.folder / f"{layer['file']}.A.npy", mmap_mode="c")
        B = np.load(self.folder / f"{layer['file']}.B.npy", mmap_mode="c")
        out = {}
        for split, rows in self.rows_by_split().items():
            X = torch.empty(len(rows), *layer["shape"])
            for i in range(0, len(rows), 64):
                pick = rows[i : i + 64]
                torch.bmm(_rows(B, pick), _rows(A, pick), out=X[i : i + len(pick)])
            out[split] = X
        return out

    def lazy(self, layers: list[str]) -> LazyLayers:
        return LazyLayers(layers, self.stacks)


def _rows(arr: np.ndarray, rows: list[int]) -> torch.Tensor:
    """Rows of a memory-mapped array as a tensor: a view (no copy) when they are contiguous."""
    if rows and rows == list(range(rows[0], rows[0] + len(rows))):
        return torch.from_numpy(arr[rows[0] : rows[0] + len(rows)])
    return torch.from_numpy(np.ascontiguousarray(arr[rows]))


def _fork(spec):
    """A Source of its own for one worker thread (closing one model's files must not close another's)."""
    from ..source import Source
    from ..source.local import ByteCounter

    if isinstance(spec, Source):
        return dataclasses.replace(spec, _open={}, _counter=ByteCounter())
    return spec


def _read_layers(view, names: list[str]) -> dict:
    """{name: ("full", W [d_out, d_in]) | ("lora", A [r, d_in], B [d_out, r])} with the tensors' bytes fetched
    in as few ranged reads as their positions allow."""
    from ..errors import LayerNotFoundError

    plan = {}
    for name in names:
        mod = view.modules.get(name)
        if mod is None:
            raise LayerNotFoundError(f"{view.files[0] if view.files else 'weights'}: no module {name!r}")
        factors = mod.kind == "lora" and "B" in mod.keys and not (mod.transposed or mod.lora_embedding)
        plan[name] = (
            ("lora", mod.keys["A"], mod.keys["B"])
            if factors
            else (("full", mod.keys["W"]) if "W" in mod.keys else None)
        )
    raw = _fetch(view, [k for p in plan.values() if p for k in p[1:]])
    out = {}
    for name, p in plan.items():
        if p is None:  # a LoRA stored another way (transposed, embedding): its ΔW as the format layer computes it
            out[name] = ("full", view.layer(name))
        elif p[0] == "full":
            w = raw[p[1]].float()
            out[name] = ("full", w.reshape(w.shape[0], -1) if w.dim() > 1 else w.reshape(1, -1))
        else:
            a, b = raw[p[1]].float(), raw[p[2]].float()
            out[name] = ("lora", a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1))
    return out


def _fetch(view, keys: list[str]) -> dict[str, torch.Tensor]:
    """Raw tensors by key; from one safetensors file, neighbours are read together (COALESCE_GAP)."""
    from ..source.safetensors import decode

    keys = list(dict.fromkeys(keys))
    if len(keys) < 2 or len(view.files) != 1 or not view.files[0].endswith(".safetensors"):
        return {k: view.tensor(k) for k in keys}
    f = view.source.open(view.files[0])  # the file the view read its header from
    (n,) = struct.unpack("<Q", f.read(0, 8))  # the data section starts after the 8-byte length and the header
    info = {k: view.raw[k] for k in keys}
    spans = sorted((8 + n + info[k].begin, 8 + n + info[k].end, k) for k in keys)
    groups: list[list] = []
    for begin, end, key in spans:
        if groups and begin - groups[-1][1] <= COALESCE_GAP:
            groups[-1][1] = max(groups[-1][1], end)
            groups[-1][2].append((begin, end, key))
        else:
            groups.append([begin, end, [(begin, end, key)]])
    out = {}
    for start, stop, members in groups:
        blob = f.read(start, stop - start)
        for begin, end, key in members:
            out[key] = decode(f.name, info[key], blob[begin - start : end - start])
    return out

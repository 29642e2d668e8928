"""The canonical view every weights format is turned into: a table of modules, read lazily.

A `WeightsView` knows the shape of every tensor (`raw`, from the headers alone) and, per adapted or
stored module, which raw keys hold its A/B factors or its full weight (`modules`). Tensor bytes are
read only when `view.layer(name)` (or `view.tensor(key)`) is called.

Conventions for `layer(name)` (a float32 matrix of shape [d_out, d_in * kh * kw]):

- LoRA: ΔW = B @ A, times `scale` when `scaled=True`. Linear: A [r, in], B [out, r].
  Convolution: A [r, in, kh, kw] and B [out, r, 1, 1] are flattened to [r, in*kh*kw] and [out, r],
  so ΔW is the conv kernel reshaped to [out, in*kh*kw]; a 1x1 conv therefore gives [out, in]
  (`kernel` is still reported as (1, 1)). Reshape with `.view(d_out, -1, *kernel)` to get the kernel.
- `transposed=True` (PEFT `fan_in_fan_out`, e.g. GPT-2's Conv1D) returns ΔWᵀ, i.e. the layout of the
  stored weight ([in, out]), so that `layer()` is exactly what peft adds to that parameter.
- LoRA on an embedding (PEFT `lora_embedding_A/B`): ΔW = (B @ A)ᵀ, shaped like the embedding table.
- DoRA (`dora=True`): `layer()` is still scale·B@A; the magnitude vector needs the base weight and
  is not applied.
- `stored_transposed=True` (mlx-lm): the file holds Aᵀ and Bᵀ; `layer()` transposes them back first.
- full weights: the stored tensor, flattened to 2-D the same way.

Example:
    >>> view = open_weights("pytorch_lora_weights.safetensors")          # doctest: +SKIP
    >>> m = view.modules["unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"]  # doctest: +SKIP
    >>> m.rank, m.d_in, view.layer(m.name, scaled=True).shape            # doctest: +SKIP
    (4, 768, torch.Size([320, 768]))
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import InvalidWeightsError, LayerNotFoundError, UnsupportedFormatError
from ..source.safetensors import (
    _TORCH_NAMES,
    Header,
    TensorInfo,
    numpy_readable,
    quote,
    read_array,
    read_scalar,
    read_tensor,
)
from .factors import delta as lycoris_delta

if TYPE_CHECKING:  # torch is imported only where tensor bytes are decoded (layer, tensor, pickles)
    import torch

MAX_LAYER_ELEMENTS = 2**31  # a ΔW larger than this (8 GB of float32) is refused rather than allocated
LYCORIS_KINDS = ("loha", "lokr", "locon")  # ΔW built from LyCORIS factors (formats/lycoris.py)
MAX_STORE_TENSORS = 500_000  # tensors over all shards of one checkpoint (the largest sharded models hold ~100,000)


@dataclass
class Module:
    """One adapted (LoRA) or stored (full) module under its canonical name.

    `keys` maps a role to the raw key holding it: "A", "B", "alpha", "magnitude" (DoRA) for LoRA;
    "W" for full weights and embeddings.
    """

    name: str
    kind: str  # "lora" | "full" | "embedding" | "quantized" | "ia3" | "tuner" (PEFT's OFT, VeRA, …: no ΔW read)
    # | LyCORIS: "loha" | "lokr" | "locon" | "delta" (a ΔW)
    d_out: int
    d_in: int  # includes kh*kw for convolutions: the column count of layer(); d_out 0 = unknown (A only)
    kernel: tuple[int, ...] | None
    rank: int | None
    alpha: float | None
    scale: float | None
    keys: dict[str, str]
    transposed: bool = False  # PEFT fan_in_fan_out: layer() is in the stored [in, out] layout
    dora: bool = False
    lora_embedding: bool = False
    quant: str = ""  # kind "quantized": the method (gptq, awq, bitsandbytes, fp8, …); keys name its packed tensors
    stored_transposed: bool = False  # LoRA factors stored as Aᵀ [in, r] and Bᵀ [r, out] (mlx-lm)
    merged_groups: int = 1  # a merged LoRA (loralib MergedLinear): slices of a fused output, d_out unknown

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "d_out": self.d_out,
            "d_in": self.d_in,
            "kernel": list(self.kernel) if self.kernel else None,
            "rank": self.rank,
            "alpha": self.alpha,
            "scale": self.scale,
            "keys": dict(self.keys),
        }


class TensorStore:
    """Where raw tensors live: one or more safetensors files (header only until asked), or a dict."""

    def __init__(self) -> None:
        self.raw: dict[str, TensorInfo] = {}
        self._where: dict[str, tuple[object, Header]] = {}
        self._loaded: dict[str, torch.Tensor] = {}
        self.truncated: list[tuple[str, Header]] = []  # (file name, header) of each truncated file
        self._pending: dict[str, tuple[str, object]] = {}  # key -> (pickle, how to read it): known by its index only
        self._unreadable = ""  # why the values of tensors without a location cannot be read (add_unreadable)
        self.gguf = None  # a GGUF file's header (source.gguf.GgufHeader), where the store is one
        self.export: tuple[str, list[str]] | None = None  # (onnx | openvino, notes) of an export (exports.py)

    def _check_shard(self, name: str, keys) -> None:
        """One more shard's tensors fit the store's bound and name no tensor another shard holds."""
        if len(self.raw) + len(keys) > MAX_STORE_TENSORS:
            raise InvalidWeightsError(
                f"{name}: the checkpoint's shards hold over {MAX_STORE_TENSORS} tensors, hfprobe's limit; "
                "point hfprobe at one shard"
            )
        twice = next((key for key in keys if key in self.raw), None)
        if twice is not None:
            raise InvalidWeightsError(
                f"{name}: tensor {quote(twice)} also appears in another shard; re-export the checkpoint"
            )

    def add_safetensors(self, f, header: Header) -> None:
        self._check_shard(f.name, header.tensors)
        for key, info in header.tensors.items():
            self.raw[key] = info
            self._where[key] = (f, header)
        if header.truncated:
            self.truncated.append((f.name, header))

    def add_unreadable(self, infos: dict[str, TensorInfo], why: str) -> None:
        """Tensors known by name, dtype and shape whose values hfprobe does not read (a GGUF file's): `get()`
        raises `UnsupportedFormatError(why)`."""
        self.raw.update(infos)
        self._unreadable = why

    def add_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Tensors already in memory (a pickle read with weights_only=True)."""
        self.raw.update(self._infos_of(tensors))
        self._loaded.update(tensors)

    @staticmethod
    def _infos_of(tensors: dict[str, torch.Tensor]) -> dict[str, TensorInfo]:
        import torch

        names = {getattr(torch, t): name for name, t in _TORCH_NAMES.items()}
        # safetensors' spelling of each dtype, e.g. F16
        return {
            key: TensorInfo(key, names.get(t.dtype, str(t.dtype).replace("torch.", "")), tuple(t.shape), 0, 0)
            for key, t in tensors.items()
        }

    def add_pickle_index(self, name: str, index: dict[str, TensorInfo], load) -> None:
        """A pickle's tensors known by name, dtype and shape (`pickle_safe.read_index`); `load()` reads them all
        (`pickle_safe.load_tensors`) the first time one of its tensors' values is needed (of a sharded
        checkpoint's pickles, only the shard that holds it)."""
        self._check_shard(name, index)
        self.raw.update(index)
        self._pending.update(dict.fromkeys(index, (name, load)))

    def _load_pending(self, key: str) -> None:
        name, load = self._pending[key]
        mine = {k for k, (n, _) in self._pending.items() if n == name}
        tensors = load()
        want = {k: (self.raw[k].dtype, self.raw[k].shape) for k in mine}
        if want != {k: (i.dtype, i.shape) for k, i in self._infos_of(tensors).items()}:
            raise InvalidWeightsError(
                f"{name}: the pickle's tensors differ from its own index; the file is corrupt, re-export it"
            )
        for k in mine:
            del self._pending[k]
        self._loaded.update(tensors)

    def present(self, key: str) -> bool:
        """Whether the bytes of tensor `key` are in the file (False only past the end of a truncated file)."""
        if key in self._loaded or key not in self._where:  # a pickle: whole or not at all, known when read
            return True
        _, header = self._where[key]
        return header.data_offset + header.tensors[key].end <= header.file_size

    def scalar(self, key: str) -> float:
        """The value of a one-element tensor (reads a few bytes; imports no torch for safetensors files)."""
        if key in self._pending:
            self._load_pending(key)
        if key not in self._where and key not in self._loaded and self._unreadable:
            raise UnsupportedFormatError(self._unreadable)
        if key in self._loaded:
            return float(self._loaded[key].float().reshape(-1)[0])
        f, header = self._where[key]
        return read_scalar(f, header, key)

    def small_local_bytes(self, key: str, limit: int) -> bytes | None:
        """The raw bytes of tensor `key` where they are at most `limit` bytes in a local safetensors file (None
        otherwise: a remote file would cost a request each, a pickle a whole load)."""
        from ..source.local import LocalFile

        where = self._where.get(key)
        if where is None or not isinstance(where[0], LocalFile) or not self.present(key):
            return None
        f, header = where
        info = header.tensors[key]
        if info.end - info.begin > limit:
            return None
        return f.read(header.data_offset + info.begin, info.end - info.begin)

    def get(self, key: str) -> torch.Tensor:
        if key in self._pending:
            self._load_pending(key)
        if key in self._loaded:
            return self._loaded[key]
        if key not in self._where and self._unreadable:
            raise UnsupportedFormatError(self._unreadable)
        f, header = self._where[key]
        return read_tensor(f, header, key)

    def get_array(self, key: str):
        """`get(key)` as a float32 numpy array; no torch for a safetensors tensor numpy can hold (FP8 and pickled
        tensors go through `get`, and torch)."""
        where = self._where.get(key)
        if where is not None and numpy_readable(where[1].tensors[key].dtype):
            return read_array(where[0], where[1], key)
        return self.get(key).float().numpy()


@dataclass
class WeightsView:
    """The canonical view of one model's weights; see the module docstring."""

    format: str
    files: list[str]
    metadata: dict[str, str]
    config: dict | None
    modules: dict[str, Module]
    store: TensorStore
    source: object = None
    notes: list[str] = field(default_factory=list)  # what was assumed while reading (one short line each)
    extra: dict = field(default_factory=dict)  # format-specific facts, e.g. textual-inversion tokens
    model_config: dict | None = None  # config.json, where it lies beside an adapter_config.json (then `config`)

    def close(self) -> None:
        """Close the files behind the view; its layers cannot be read afterwards.

        Also `with open_weights(...) as v:`."""
        if self.source is not None and hasattr(self.source, "close"):
            self.source.close()

    def __enter__(self) -> WeightsView:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def raw(self) -> dict[str, TensorInfo]:
        return self.store.raw

    @property
    def bytes_read(self) -> int:
        return getattr(self.source, "bytes_read", 0)

    @property
    def range_ignored(self) -> bool:
        return bool(getattr(self.source, "range_ignored", False))

    @property
    def truncated(self) -> bool:
        """The header is intact but tensor data is missing: modules are known, `layer()` may be refused."""
        return bool(self.store.truncated)

    def truncation_note(self) -> str | None:
        """One line with the byte counts of each truncated file, or None."""
        if not self.store.truncated:
            return None
        parts = [
            f"{name} is {h.file_size} bytes but its header describes {h.data_offset + h.data_end} "
            f"({h.missing_bytes} missing)"
            for name, h in self.store.truncated
        ]
        return "truncated: " + "; ".join(parts) + "; answered from the header, tensor data cannot be read"

    def check_complete(self, what: str = "this") -> None:
        """Raise `TruncatedWeightsError` (one line) if any tensor data is missing; for commands that need it."""
        from ..errors import TruncatedWeightsError

        if self.store.truncated:
            name, h = self.store.truncated[0]
            raise TruncatedWeightsError(
                f"{name}: the file is truncated ({h.file_size} bytes; its header describes "
                f"{h.data_offset + h.data_end}), and {what} needs its tensor data; re-download the file "
                "(`hfprobe inspect` still reads its header)"
            )

    @property
    def rank(self) -> int | None:
        """The most common LoRA rank (None for full checkpoints)."""
        return next(iter(self.ranks), None)

    @property
    def ranks(self) -> dict[int, int]:
        """{rank: modules} of the LoRA modules, the most common first (a LoCon's convolutions, PEFT's `rank_pattern`
        and AdaLoRA give several); {} for full checkpoints."""
        ranks = Counter(m.rank for m in self.modules.values() if m.kind in ("lora", *LYCORIS_KINDS) and m.rank)
        return dict(sorted(ranks.items(), key=lambda kv: (-kv[1], -kv[0])))

    def tensor(self, key: str) -> torch.Tensor:
        """One raw tensor by its key in the file (reads only its bytes)."""
        if key not in self.store.raw:
            raise LayerNotFoundError(f"{self._where()}: no tensor {quote(key)}; see view.raw for the keys")
        return self.store.get(key)

    def layer(self, name: str, scaled: bool = False, *, numpy: bool = False) -> torch.Tensor:
        """ΔW (LoRA: B@A, times scale if `scaled`) or W (full) as float32 [d_out, d_in*kh*kw].

        `numpy`: a numpy array instead, computed without torch for a LoRA or a full layer in safetensors (what
        `predict` reads on its way to an answer; LyCORIS factors, FP8 and pickles still go through torch)."""
        mod = self._module(name)
        if mod.kind == "ia3":
            raise UnsupportedFormatError(
                f"{self._where()}: {quote(name)} is an IA3 scaling vector, which scales activations rather than "
                "adding a weight delta; hfprobe inspects IA3 adapters but has no ΔW to read from them"
            )
        if mod.kind == "tuner":
            raise UnsupportedFormatError(
                f"{self._where()}: {quote(name)} is a layer an adapter method adds or rescales (a PEFT tuner, an "
                "AdapterHub bottleneck), not a weight delta hfprobe reads; it inspects such adapters only"
            )
        if mod.kind == "quantized":
            raise UnsupportedFormatError(
                f"{self._where()}: {quote(name)} is stored as {mod.quant}, and hfprobe reads a layer's values from "
                "dense safetensors or torch weights only; point it at the unquantized model"
            )
        if mod.kind in LYCORIS_KINDS:
            self._check_size(name, mod.d_out * mod.d_in)
            w = lycoris_delta(mod, self.store.get)
            w = w * mod.scale if scaled and mod.scale is not None else w
            return w.numpy() if numpy else w
        if mod.kind != "lora":
            w = self.store.get_array(mod.keys["W"]) if numpy else self.store.get(mod.keys["W"]).float()
            return w.reshape(w.shape[0], math.prod(w.shape[1:])) if w.ndim > 1 else w.reshape(1, -1)
        if "B" in mod.keys and mod.merged_groups <= 1:  # (otherwise `factors` says why there is no ΔW)
            a_info, b_info = self.store.raw[mod.keys["A"]], self.store.raw[mod.keys["B"]]
            if mod.stored_transposed:
                a_info, b_info = (info._replace(shape=info.shape[::-1]) for info in (a_info, b_info))
            self._check_size(name, b_info.shape[0] * math.prod(a_info.shape[1:]))  # lora_module checked both shapes
        b, a = self.factors(name, scaled, numpy=numpy)
        return _quietly(numpy, lambda: b @ a)

    def factors(self, name: str, scaled: bool = False, *, numpy: bool = False):
        """(B [d_out, r], A [r, d_in]) with `layer(name, scaled) == B @ A`, for a LoRA module: its stored factors with
        AdaLoRA's E folded into A, a transposed layout turned, the scale (if `scaled`) in B; None for any other kind.
        What needs only ||ΔW x|| (the readout) reads a rank-r module from these instead of composing it."""
        mod = self._module(name)
        if mod.kind != "lora":
            return None
        if mod.merged_groups > 1:
            raise LayerNotFoundError(
                f"{self._where()}: module {quote(name)} is a merged LoRA ({mod.merged_groups} slices of a fused "
                "projection), whose ΔW hfprobe does not read (loralib and litgpt do not even store which slices); "
                "pick another layer"
            )
        if "B" not in mod.keys:
            raise LayerNotFoundError(
                f"{self._where()}: module {quote(name)} has only its A matrix stored, so ΔW is unknown"
            )
        get = self.store.get_array if numpy else (lambda key: self.store.get(key).float())
        a, b = get(mod.keys["A"]), get(mod.keys["B"])
        if mod.stored_transposed:
            a, b = a.T, b.T
        if "E" in mod.keys:  # AdaLoRA: ΔW = B (A ⊙ E), E one singular value per rank
            e = get(mod.keys["E"]).reshape(-1, 1)
            if e.shape[0] != a.shape[0]:
                raise InvalidWeightsError(
                    f"{self._where()}: AdaLoRA E of {quote(name)} has {e.shape[0]} values for rank {a.shape[0]}; "
                    "the file is corrupt, re-export it"
                )
            a = _quietly(numpy, lambda: a * e)
        a = a.reshape(a.shape[0], math.prod(a.shape[1:]))
        b = b.reshape(b.shape[0], math.prod(b.shape[1:]))
        if mod.lora_embedding or mod.transposed:  # ΔW is (B @ A)^T = A^T @ B^T
            a, b = b.T, a.T
        if scaled and mod.scale is not None:
            b = _quietly(numpy, lambda: b * mod.scale)
        return b, a

    def _module(self, name: str):
        mod = self.modules.get(name) if isinstance(name, str) else None
        if mod is None:
            raise LayerNotFoundError(
                f"{self._where()}: no module {quote(name)} (has {len(self.modules)}, e.g. "
                f"{sample_keys(self.modules, 3)}); list them with view.modules"
            )
        return mod

    def _check_size(self, name: str, size: int) -> None:
        if size > MAX_LAYER_ELEMENTS:
            raise InvalidWeightsError(
                f"{self._where()}: ΔW of {quote(name)} would have {size} elements, over hfprobe's limit of "
                f"{MAX_LAYER_ELEMENTS}; read its factors with view.tensor() instead"
            )

    def _where(self) -> str:
        return getattr(self.source, "display", None) or (self.files[0] if self.files else "weights")


def _quietly(numpy: bool, op):
    """`op()`; on numpy arrays an overflow gives inf silently, as torch's does (not a RuntimeWarning on stderr)."""
    if not numpy:
        return op()
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):
        return op()


def sample_keys(keys, n: int = 4) -> str:
    """A few keys for an error message, quoted so that odd characters cannot break its single line.

    >>> sample_keys(["b", "c", "a"], 2), len(sample_keys(["x" * 5000]))
    ("'a', 'b'", 81)
    """
    import heapq

    return ", ".join(quote(k, 80) for k in heapq.nsmallest(n, keys))


def one_line(text: str, limit: int = 160) -> str:
    """Another library's message squeezed onto one line."""
    return " ".join(str(text).split())[:limit]


def lora_module(
    name: str,
    a: TensorInfo,
    b: TensorInfo | None,
    *,
    alpha: float | None,
    keys: dict[str, str],
    where: str,
    rslora: bool = False,
    transposed: bool = False,
    dora: bool = False,
    lora_embedding: bool = False,
) -> Module:
    """Build a LoRA `Module` from its A/B header entries, checking that they fit together.

    alpha None means "no alpha stored": the trainer's default, scale 1 (alpha = rank).
    """
    shape_a = list(a.shape)
    if lora_embedding:  # peft: lora_embedding_A [r, num_embeddings], lora_embedding_B [dim, r]
        if len(a.shape) != 2:
            raise InvalidWeightsError(
                f"{where}: LoRA embedding A {quote(a.name)} has shape {quote(shape_a, 80)}, expected [r, "
                "num_embeddings]; the file is corrupt or mislabelled, re-export it"
            )
        rank, d_in, kernel = a.shape[0], a.shape[1], None
    else:
        if len(a.shape) not in (2, 4):
            raise InvalidWeightsError(
                f"{where}: LoRA A {quote(a.name)} has shape {quote(shape_a, 80)}, expected [r, in] or "
                "[r, in, kh, kw]; the file is corrupt or mislabelled, re-export it"
            )
        rank = a.shape[0]
        kernel = tuple(a.shape[2:]) if len(a.shape) == 4 else None
        d_in = a.shape[1] * (math.prod(kernel) if kernel else 1)
    if rank == 0:
        raise InvalidWeightsError(f"{where}: LoRA {quote(name)} has rank 0; re-export the adapter")
    d_out = 0  # unknown: only A is stored
    if b is not None:
        fits = len(b.shape) == 2 or (len(b.shape) == 4 and tuple(b.shape[2:]) == (1, 1) and not lora_embedding)
        if not fits or b.shape[1] != rank:
            raise InvalidWeightsError(
                f"{where}: LoRA factors of {quote(name)} do not fit: A {quote(shape_a, 60)} vs B "
                f"{quote(list(b.shape), 60)} (B must be [out, {rank}]); the file is corrupt or mislabelled, "
                "re-export it"
            )
        d_out = b.shape[0]
    if alpha is not None and not (isinstance(alpha, int | float) and math.isfinite(alpha)):
        raise InvalidWeightsError(
            f"{where}: LoRA {quote(name)} has alpha {quote(alpha, 40)}, not a finite number; fix or re-export it"
        )
    eff_alpha = float(alpha) if alpha is not None else float(rank)
    scale = eff_alpha / (math.sqrt(rank) if rslora else rank)
    if lora_embedding:  # layer() is (B@A)ᵀ: [num_embeddings, dim]
        d_out, d_in = d_in, d_out
    elif transposed:
        d_out, d_in = d_in, d_out
    return Module(
        name,
        "lora",
        d_out,
        d_in,
        kernel,
        rank,
        eff_alpha,
        scale,
        keys,
        transposed=transposed,
        dora=dora,
        lora_embedding=lora_embedding,
    )


def full_module(name: str, info: TensorInfo, kind: str = "full") -> Module:
    """A stored weight as a module: [out, in, *kernel] -> d_out=out, d_in=in*prod(kernel)."""
    shape = info.shape
    kernel = tuple(shape[2:]) if len(shape) > 2 else None
    if len(shape) < 2:  # a single vector (e.g. one textual-inversion token) is one row
        return Module(name, kind, 1, shape[0] if shape else 1, None, None, None, None, {"W": info.name})
    return Module(name, kind, shape[0], math.prod(shape[1:]), kernel, None, None, None, {"W": info.name})

"""GGUF files (llama.cpp): each 2-D tensor is a module at its logical (out, in), under transformers' names.

The header gives every tensor's logical shape whatever its ggml type (`Q4_K`, `F16`, ...), so the tree is read as
for the dense model. llama.cpp renames tensors (`blk.0.attn_q.weight` for `model.layers.0.self_attn.q_proj.weight`);
for the architectures in `NAMES` (`gguf_names.py`) every tensor, norms and biases too, is found under the name the
converted model's checkpoint has (`transformers_names`: the view's raw keys), so the registry's name and shape rules
apply as to the checkpoint; other architectures keep llama.cpp's names. Values are never dequantized:
`WeightsView.layer()` refuses a GGUF module. The metadata's `general.*` scalars become the view's metadata
(`general.base_model.0.repo_url` is what the model was converted from), and the report says
`quantized: {method: gguf, type, modules}`. A LoRA adapter converted by llama.cpp (`general.type` adapter,
`adapter.lora.alpha`; `blk.0.attn_q.weight.lora_a` / `.lora_b`) is read as LoRA modules at their factors' shapes,
under the same names.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

from ..source.gguf import GgufHeader
from ..source.safetensors import TensorInfo, quote
from .base import Module, lora_module
from .gguf_names import EXPERTS_2D, NAMES, ROWS

__all__ = ["NAMES", "read_gguf", "transformers_names"]

_UNGATED = {"t5", "t5encoder"}
_DEPTHWISE = ("conv1d", ".conv.conv")  # (transformers' names of the convolutions llama.cpp squeezes)


def _ungated(modules: dict[str, Module]) -> dict[str, Module]:
    """A T5 1.0 feed-forward's one input projection (`wi`, which llama.cpp writes as `ffn_up` with no `ffn_gate`)
    under its own name, not a gated one's `wi_1`."""
    if any(name.endswith("DenseReluDense.wi_0") for name in modules):
        return modules
    renamed = {}
    for name, module in modules.items():
        if name.endswith("DenseReluDense.wi_1"):
            name = name[: -len("_1")]
            module = replace(module, name=name)
        renamed[name] = module
    return renamed


def canonical_name(name: str, arch: str) -> str:
    """transformers' name of a GGUF tensor or module name (a `.weight` or `.bias` follows its module's); the name
    itself where none is known.

    >>> canonical_name("blk.3.attn_q", "llama"), canonical_name("blk.3.attn_q", "rwkv6")
    ('model.layers.3.self_attn.q_proj', 'blk.3.attn_q')
    >>> canonical_name("blk.3.ffn_gate.7", "llama"), canonical_name("blk.3.ffn_norm.weight", "gemma2")
    ('model.layers.3.block_sparse_moe.experts.7.w1', 'model.layers.3.pre_feedforward_layernorm.weight')
    """
    table = NAMES.get(arch)
    if not table:
        return name
    found, suffix = _lookup(table, name), ""
    if found is None and name.endswith((".weight", ".bias")):
        stem, _, last = name.rpartition(".")
        found, suffix = _lookup(table, stem), "." + last
    return name if found is None else found + suffix


def _lookup(table: dict[str, str], name: str) -> str | None:
    """`table`'s name for `name`, whose dotted parts of digits are its block's and its expert's indices."""
    parts = name.split(".")
    numbers = [p for p in parts if p.isascii() and p.isdigit()]
    if len(numbers) > 2 or "{" in name:  # (a name spelling a template is no tensor of the table's)
        return None
    slots = iter(("{i}", "{e}"))
    target = table.get(".".join(next(slots) if p in numbers else p for p in parts))
    return None if target is None else target.format(**dict(zip("ie", numbers)))


def transformers_names(header: GgufHeader) -> dict[str, TensorInfo]:
    """A model file's tensors under transformers' names, where its architecture's are known (`NAMES`): weights,
    biases and norms, so the registry's rules see what a checkpoint of the model has; a T5 1.0 file's one input
    projection is `wi`; the rows a converter split a tensor into (InternLM2's `wqkv` into `attn_q`, `attn_k`, `attn_v`)
    are that tensor again. A name two other tensors would share, or an adapter's (read by `read_gguf`), is kept as
    written."""
    arch = header.metadata.get("general.architecture")
    if not isinstance(arch, str) or arch not in NAMES or _is_adapter(header):
        return dict(header.tensors)
    renamed = {k: canonical_name(k, arch) for k in header.tensors}
    if arch in _UNGATED and not any(n.endswith("DenseReluDense.wi_0.weight") for n in renamed.values()):
        renamed = {k: n.replace("DenseReluDense.wi_1.", "DenseReluDense.wi.") for k, n in renamed.items()}
    shared = {n for n, c in Counter(renamed.values()).items() if c > 1}
    out = {(k if renamed[k] in shared else renamed[k]): info for k, info in header.tensors.items()}
    if arch in ROWS:  # a tensor the converter split by rows (a fused query-key-value) is whole again
        groups: dict[str, list[TensorInfo]] = {}
        for key, info in header.tensors.items():
            if renamed[key] in shared:
                groups.setdefault(renamed[key], []).append(info)
        for name, parts in groups.items():
            whole = all(p.name != name for p in parts)  # (all llama.cpp's parts: none spelled as the whole)
            if whole and len({p.shape[1:] for p in parts}) == 1 and all(p.shape for p in parts):
                for p in parts:
                    del out[p.name]
                out[name] = parts[0]._replace(shape=(sum(p.shape[0] for p in parts), *parts[0].shape[1:]))
    if arch in EXPERTS_2D:  # [experts, rows, in] (a down projection's [experts, in, rows]) -> [experts x rows, in]
        for key, info in header.tensors.items():
            if "_exps." in key and len(info.shape) == 3 and renamed[key] in out:
                e, a, b = info.shape
                out[renamed[key]] = info._replace(shape=(e * b, a) if "_down_" in key else (e * a, b))
    return out


def _unmapped(arch: str) -> str:
    return (
        f"llama.cpp's tensor names for {quote(arch, 40)} are kept: hfprobe maps {len(NAMES)} of its architectures "
        "(docs/formats.md), not this one"
    )


def _is_adapter(header: GgufHeader) -> bool:
    return header.metadata.get("general.type") == "adapter" or any(k.endswith(".lora_a") for k in header.tensors)


MAX_META_CHARS = 1000  # a general.* string kept as metadata (names, URLs, licences are far shorter)


def _alpha(value) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    return float(value) if ok else None


def _lora_modules(header: GgufHeader, arch: str, where: str) -> dict[str, Module]:
    """A LoRA adapter's modules (llama.cpp's convert_lora_to_gguf): `<tensor>.weight.lora_a` [r, in] and
    `.lora_b` [out, r], as PEFT stores them; the token embedding's pair is flipped ([vocab, r], [dim, r])."""
    alpha = _alpha(header.metadata.get("adapter.lora.alpha"))
    bases = [key[: -len(".lora_a")] for key in header.tensors if key.endswith(".lora_a")]
    names = {base: canonical_name(base.removesuffix(".weight"), arch) for base in bases}
    shared = {n for n, c in Counter(names.values()).items() if c > 1}  # (a split query-key-value's: kept as written)
    modules: dict[str, Module] = {}
    for base in bases:
        key, a = base + ".lora_a", header.tensors[base + ".lora_a"]
        b = header.tensors.get(base + ".lora_b")
        name = base.removesuffix(".weight") if names[base] in shared else names[base]
        embedding = base.startswith("token_embd.")
        keys = {"A": key, **({"B": base + ".lora_b"} if b is not None else {})}
        a = a._replace(shape=a.shape[::-1]) if embedding else a
        modules[name] = lora_module(name, a, b, alpha=alpha, keys=keys, where=where, lora_embedding=embedding)
    return modules


def read_gguf(
    header: GgufHeader, where: str = "GGUF file", tensors: dict[str, TensorInfo] | None = None
) -> tuple[dict[str, Module], list[str], dict, dict[str, str]]:
    """(modules, notes, extra, metadata) of a GGUF header: a model's (its `tensors` as `transformers_names` gives
    them, unless given), or a LoRA adapter's (`general.type` adapter)."""
    arch = header.metadata.get("general.architecture")
    arch = arch if isinstance(arch, str) else ""
    metadata = {
        k: str(v)
        for k, v in header.metadata.items()
        if k.startswith("general.") and not isinstance(v, tuple) and len(str(v)) <= MAX_META_CHARS
    }
    if _is_adapter(header):
        modules = _lora_modules(header, arch, where)
        kind = header.metadata.get("adapter.type")
        types = Counter(header.tensors[k].dtype for m in modules.values() for k in m.keys.values())
        notes = [
            f"GGUF {header.version} {quote(kind if isinstance(kind, str) else 'LoRA', 20)} adapter "
            f"({arch or 'no architecture'}): factors mostly {types.most_common(1)[0][0] if types else None}, "
            f"alpha {_alpha(header.metadata.get('adapter.lora.alpha')) or 'not stored (scale 1)'}; values not read"
        ]
        if arch and arch not in NAMES:
            notes.append(_unmapped(arch))
        return (_ungated(modules) if arch in _UNGATED else modules), notes, {}, metadata
    tensors = transformers_names(header) if tensors is None else tensors
    modules: dict[str, Module] = {}
    for key, info in tensors.items():
        if len(info.shape) < 2 or not key.endswith(".weight"):
            continue
        name = key[: -len(".weight")]
        d_out, d_in = info.shape[-2], info.shape[-1]  # (experts, out, in) for a mixture of experts' stacked weights
        # a depthwise convolution (a Mamba mixer's, LFM2's), which llama.cpp squeezes to [channels, kernel]: one input
        # channel per output over its kernel, as the checkpoint's [channels, 1, kernel] is read
        kernel = (d_in,) if len(info.shape) == 2 and name.endswith(_DEPTHWISE) else None
        modules[name] = Module(name, "quantized", d_out, d_in, kernel, None, None, None, {"weight": key}, quant="GGUF")
    types = Counter(tensors[m.keys["weight"]].dtype for m in modules.values())
    main = types.most_common(1)[0][0] if types else None
    notes = [f"GGUF {header.version} ({arch or 'no architecture'}): tensors mostly {main}; read at their shapes"]
    if arch and arch not in NAMES:
        notes.append(_unmapped(arch))
    if isinstance(header.metadata.get("split.count"), int) and header.metadata["split.count"] > 1:
        notes.append(f"one part of a split GGUF ({header.metadata['split.count']} parts): its tensors only")
    extra = {"quantized": {"method": "gguf", "bits": None, "type": main, "modules": len(modules)}}
    return modules, notes, extra, metadata

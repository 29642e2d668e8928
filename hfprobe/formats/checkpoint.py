"""Full checkpoints, textual-inversion embeddings and custom `w_a_/w_b_` LoRAs.

- transformers: `model.safetensors` (or shards listed in `model.safetensors.index.json`) + `config.json`.
  Module = every stored weight of 2 or more dims, named by its key without `.weight`, mapped to
  transformers' in-memory names (`transformers_names`). A quantized Linear (GPTQ, AWQ, bitsandbytes, FP8, MLX, …)
  is one module of kind `quantized` at its logical shape (`quantized.py`); its values are not read.
- diffusers: `diffusion_pytorch_model.safetensors` + `config.json` (`_class_name`; without it, the top-level
  modules): `unet.<key>` for UNets, `transformer.<key>` for DiTs (the same names diffusers LoRA files use).
- textual inversion: diffusers `learned_embeds` (`{"<token>": [n, dim]}`), A1111 (`emb_params`,
  `string_to_param.*`), SDXL (`clip_l`, `clip_g`): one `embedding` module per vector set.
- custom LoRA (LoRA-ViT / SAM-LoRA): `w_a_000…`, `w_b_000…`. Positional names `lora.<NNN>`; by those
  projects' convention index 2k is block k's query and 2k+1 its value (see `view.notes`). Beside them: LoRA-ViT's
  classifier head (`fc_768in_10out`), SAMed's SAM prompt encoder and mask decoder. The same layers saved inside
  the whole model (`torch.save(model.state_dict())`) keep their modules' names: LoRA-ViT's `_LoRALayer` wraps a
  Linear as `<layer>.w` beside `<layer>.w_a` [r, in] / `.w_b` [out, r]; `_LoRA_qkv` (SAMed, LoRA-ViT's timm
  models) wraps a fused qkv as `<qkv>.qkv` beside `linear_a_q` / `linear_b_q` and `linear_a_v` / `linear_b_v`.
"""

from __future__ import annotations

import json
import re

from .base import Module, TensorStore, full_module, lora_module
from .lora import add_full_modules
from .quantized import read_quantized
from .transformers_names import canonical_names, tower_names

_TI_KEYS = {"emb_params", "clip_l", "clip_g"}
_CUSTOM = re.compile(r"^w_(?P<role>[ab])_(?P<idx>\d{1,9})\Z", re.ASCII)
STATE_KEY = re.compile(r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*\Z", re.ASCII)  # `<module path>.<parameter or buffer>`
# a module's weight: plain, or under weight norm (torch's parametrization keeps the direction as `original1`, the
# older `weight_norm` as `weight_v`; EnCodec's and HiFi-GAN's convolutions)
_WEIGHT = re.compile(r"\.(weight|parametrizations\.weight\.original1?|weight_v)\Z")
# a parametrized weight's adapters stacked per task (Jina's XLMRobertaLoRA: `….parametrizations.weight.0.lora_A`
# [tasks, r, in] beside the weight itself, `….parametrizations.weight.original`), part of the model, not an adapter
_TASK_LORA = re.compile(r"\.parametrizations\.weight\.\d+\.lora_[AB]\Z")
# diffusers' Custom Diffusion processors (train_custom_diffusion.py): `attn2.processor.to_k_custom_diffusion`
_CUSTOM_DIFFUSION = re.compile(r"\.processor\.(to_[qkv]|to_out)_custom_diffusion(?=\.|$)")
_PREFIX_ENCODER = re.compile(r"(^|\.)prefix_encoder\.(embedding|trans\.\d+)$")  # P-tuning v2's learned prefix
_FC_HEAD = re.compile(r"^fc_(?P<inp>\d{1,9})in_(?P<out>\d{1,9})out\Z", re.ASCII)  # LoRA-ViT's classifier head
# LoRA-ViT's / SAMed's LoRA layers inside a whole model's state dict: the factors, and the layer each wraps
_WRAPPED = re.compile(r"^(?P<layer>.+)\.(?P<role>w_[ab]|linear_[ab]_[qv])\.weight\Z")
_WRAPPED_BASE = {"w_a": "w", "linear_a_q": "qkv"}  # the wrapped layer, by the factor beside it
_DIFFUSERS_UNET_ROOTS = ("down_blocks.", "up_blocks.", "mid_block.", "conv_in.", "time_embedding.")
_DIFFUSERS_VAE_ROOTS = ("encoder.down_blocks.", "decoder.up_blocks.")  # AutoencoderKL's (SD's, SDXL's, FLUX.1's VAE)
# a diffusers DiT's top-level modules (FLUX, SD3, Qwen-Image, HunyuanVideo: `transformer_blocks`; Wan's condition
# embedder; Z-Image's refiners), which no transformers model has at the top of its state dict
_DIFFUSERS_DIT_ROOTS = (
    "transformer_blocks.",
    "single_transformer_blocks.",
    "condition_embedder.",
    "noise_refiner.",
    "context_refiner.",
)

# a diffusion model's own top-level modules in its authors' single-file layout, without the `model.diffusion_model.`
# that CompVis/Stability (and ComfyUI) put before them: FLUX.1/2's and HunyuanVideo's double and single blocks (BFL's
# `flux1-dev.safetensors`), SD3's joint blocks, Wan's output head (diffusers' own single-file loader tells them by
# these); no transformers model has them, and a diffusers model that has them has diffusers' own beside them
# (JoyImage's `double_blocks` beside a `condition_embedder`), but for the Wan-Animate class that kept Wan's names
_ORIGINAL_DIT_ROOTS = ("double_blocks.", "single_blocks.", "joint_blocks.", "head.modulation")
_ORIGINAL_VAE_ROOTS = ("encoder.down.", "decoder.up.")  # a VAE alone in the original names (`ae.safetensors`)
# a ControlNet in the original layout (lllyasviel's `control_v11p_sd15_canny.pth`, thibaud's SD 2.1 ones without the
# `control_model.` prefix): its zero convolutions and hint encoder beside its UNet half
_ORIGINAL_CONTROLNET_ROOTS = ("control_model.", "zero_convs.", "input_hint_block.", "middle_block_out.")


def is_original_layout(keys: list[str]) -> bool:
    """A diffusion checkpoint in its authors' single-file layout (`ldm-checkpoint`): SD's `model.diffusion_model.`
    with its VAE and text encoders beside it, a VAE or a ControlNet alone in those names, or a DiT's own top-level
    modules and none of diffusers'.

    >>> is_original_layout(["double_blocks.0.img_attn.qkv.weight"]), is_original_layout(["blocks.0.attn.qkv.weight"])
    (True, False)
    """
    if any(k.startswith(("model.diffusion_model.", *_ORIGINAL_VAE_ROOTS, *_ORIGINAL_CONTROLNET_ROOTS)) for k in keys):
        return True
    return any(k.startswith(_ORIGINAL_DIT_ROOTS) for k in keys) and not any(
        k.startswith(_DIFFUSERS_DIT_ROOTS) for k in keys
    )


def original_component(keys: list[str]) -> str | None:
    """'controlnet' for a ControlNet alone in the original layout (an adapter of its base, as diffusers' is), else
    None (ControlNet 1.0's `control_sd15_canny.pth` holds SD 1.5's UNet, VAE and text encoder beside it)."""
    if any(k.startswith("model.diffusion_model.") for k in keys):
        return None
    return "controlnet" if any(k.startswith(_ORIGINAL_CONTROLNET_ROOTS) for k in keys) else None


def is_textual_inversion(store: TensorStore) -> bool:
    keys = list(store.raw)
    if not keys or len(keys) > 8:
        return False
    if all(k in _TI_KEYS or k.startswith(("string_to_param.", "string_to_token.")) for k in keys):
        return any(k in _TI_KEYS or k.startswith("string_to_param.") for k in keys)
    # diffusers learned_embeds: a few "<token>" vectors of a text encoder's width
    return all("." not in k and len(store.raw[k].shape) <= 2 for k in keys) and any(k.startswith("<") for k in keys)


def read_textual_inversion(store: TensorStore) -> tuple[dict[str, Module], dict]:
    modules, tokens = {}, {}
    for key, info in store.raw.items():
        if len(info.shape) not in (1, 2) or key.startswith("string_to_token."):
            continue
        name = f"text_encoder.token_embedding.{key.removeprefix('string_to_param.')}"
        modules[name] = full_module(name, info, kind="embedding")
        tokens[key] = list(info.shape)
    return modules, {"tokens": tokens}


def is_custom_lora(keys: list[str]) -> bool:
    """w_a_NNN / w_b_NNN pairs, alone or beside full tensors under dotted module names (SAMed saves the SAM
    prompt encoder's and mask decoder's weights in the same file) or LoRA-ViT's `fc_<in>in_<out>out` head."""
    custom = sum(1 for k in keys if _CUSTOM.match(k))
    return custom > 0 and all(_CUSTOM.match(k) or STATE_KEY.match(k) or _FC_HEAD.match(k) for k in keys)


def read_custom_lora(store: TensorStore, where: str) -> tuple[dict[str, Module], list[str]]:
    pairs: dict[int, dict[str, str]] = {}
    others = []
    for key in store.raw:
        m = _CUSTOM.match(key)
        if m is None:
            others.append(key)
            continue
        pairs.setdefault(int(m["idx"]), {})[m["role"]] = key
    modules = {}
    for idx, p in sorted(pairs.items()):
        name = f"lora.{idx:03d}"
        if "a" not in p:
            continue
        b = store.raw.get(p.get("b", ""))
        modules[name] = lora_module(
            name, store.raw[p["a"]], b, alpha=None, where=where, keys={"A": p["a"], **({"B": p["b"]} if b else {})}
        )
    notes = [
        "custom w_a_/w_b_ LoRA (LoRA-ViT / SAM-LoRA): positional names; index 2k = block k query, 2k+1 = value",
        "no alpha stored: scale 1",
    ]
    if not any("b" in p for p in pairs.values()):
        notes.append("only A matrices are stored: ΔW cannot be computed")
    full = [k for k in others if len(store.raw[k].shape) >= 2 and (k.endswith(".weight") or _FC_HEAD.match(k))]
    for key in full:
        name = key.removesuffix(".weight")
        modules[name] = full_module(name, store.raw[key])
        if m := _FC_HEAD.match(key):
            notes.append(f"{key}: the classifier head trained with it, {m['out']} classes on {m['inp']} features")
    if stored := [k for k in others if not _FC_HEAD.match(k)]:
        notes.append(
            f"{len(stored)} tensors stored whole beside the LoRA pairs (e.g. a mask decoder), "
            f"{sum(k in full for k in stored)} of them as modules"
        )
    return modules, notes


def is_wrapped_lora(keys: list[str]) -> bool:
    """LoRA-ViT's `<layer>.w_a` / `.w_b` or `_LoRA_qkv`'s `<qkv>.linear_a_q` / `.linear_b_q` weights (see the module
    docstring): the LoRA layers of a whole model saved with them."""
    roles = {m["role"] for k in keys if k.endswith(".weight") and (m := _WRAPPED.match(k))}
    return {"w_a", "w_b"} <= roles or {"linear_a_q", "linear_b_q"} <= roles


def read_wrapped_lora(store: TensorStore, where: str) -> tuple[dict[str, Module], list[str]]:
    """Modules of a whole model holding LoRA-ViT / SAMed LoRA layers: each `_LoRALayer` a LoRA under the name of the
    Linear it wraps (scale 1: its forward adds w_b(w_a(x)) as it is); each `_LoRA_qkv` a merged LoRA on two slices
    of the fused qkv (q and v), at the qkv's size; the wrapped layers' own weights, and the rest, full modules."""
    pairs: dict[str, dict[str, str]] = {}
    rest: dict[str, str] = {}  # name as read -> raw key
    for key in store.raw:
        if m := _WRAPPED.match(key):
            pairs.setdefault(m["layer"], {})[m["role"]] = key
        else:
            rest[key] = key
    for key in list(rest):  # `<layer>.w.weight` / `<qkv>.qkv.weight`: the wrapped layer's, under its own name
        inner, _, param = key.rpartition(".")
        layer, _, wrapper = inner.rpartition(".")
        if layer in pairs and any(r in pairs[layer] and base == wrapper for r, base in _WRAPPED_BASE.items()):
            rest[f"{layer}.{param}"] = rest.pop(key)
    modules: dict[str, Module] = {}
    merged = 0
    for layer, p in sorted(pairs.items()):
        if "w_a" in p:
            b = store.raw.get(p.get("w_b", ""))
            keys = {"A": p["w_a"], **({"B": p["w_b"]} if b is not None else {})}
            modules[layer] = lora_module(layer, store.raw[p["w_a"]], b, alpha=None, keys=keys, where=where)
        elif "linear_a_q" in p:
            merged += 1
            mod = lora_module(layer, store.raw[p["linear_a_q"]], None, alpha=None, keys={"A": p["linear_a_q"]},
                              where=where)  # fmt: skip
            base = store.raw.get(rest.get(f"{layer}.weight", ""))
            mod.d_out = base.shape[0] if base is not None and len(base.shape) == 2 else 0
            mod.merged_groups = 2
            modules[layer] = mod
    add_full_modules(modules, rest, list(rest), store)
    notes = ["LoRA-ViT / SAMed LoRA layers saved inside the whole model: no alpha, scale 1"]
    if merged:
        notes.append(
            f"{merged} fused qkv layers with LoRA on their q and v slices (_LoRA_qkv): read at the qkv's size, "
            "their ΔW not read"
        )
    return modules, notes


def diffusers_component(config: dict | None, keys: list[str]) -> str | None:
    """'unet' / 'transformer' for a diffusers model checkpoint (by config.json's `_class_name`, else by its top-level
    modules), else None.

    A model in its authors' own layout is none (`is_original_layout`) unless config.json names a diffusers class:
    Wan-AI's original repos save Wan's own `WanModel` with diffusers' ConfigMixin, so its config.json has a
    `_class_name` too.

    >>> diffusers_component(None, ["transformer_blocks.0.attn.to_q.weight"]), diffusers_component(None, ["h.0.mlp"])
    ('transformer', None)
    """
    cls = (config or {}).get("_class_name") or ""
    if isinstance(cls, str) and cls:
        for marker, component in (
            ("ControlNet", "controlnet"),
            ("Autoencoder", "vae"),
            ("Transformer", "transformer"),
            ("UNet", "unet"),
        ):
            if marker in cls:
                return component
        return None if is_original_layout(keys) else cls.lower()
    if is_original_layout(keys):
        return None
    if any(k.startswith(_DIFFUSERS_UNET_ROOTS) for k in keys):
        return "unet"
    if any(k.startswith(_DIFFUSERS_DIT_ROOTS) for k in keys):
        return "transformer"
    if any(k.startswith(_DIFFUSERS_VAE_ROOTS) for k in keys):
        return "vae"
    return None


def is_task_adapted(keys: list[str]) -> bool:
    """A whole model whose weights carry torch-parametrized adapters, one per task, stacked in 3-D factors
    (`….parametrizations.weight.original` beside `….parametrizations.weight.0.lora_A`: jina-embeddings-v3's five)."""
    return any(k.endswith(".parametrizations.weight.original") for k in keys) and any(
        _TASK_LORA.search(k) for k in keys
    )


def _task_adapters_note(store: TensorStore) -> str | None:
    stacks = [info.shape for k, info in store.raw.items() if k.endswith(".lora_A") and _TASK_LORA.search(k)]
    if not stacks or any(len(shape) != 3 for shape in stacks):
        return None
    tasks = {shape[0] for shape in stacks}
    count = f"{next(iter(tasks))} task adapters" if len(tasks) == 1 else "task adapters"
    return (
        f"{count} built into {len(stacks)} layers (torch parametrizations, as jina-embeddings-v3 holds its "
        "retrieval, matching and classification LoRAs): the base weights are read, the adapters beside them not"
    )


def read_checkpoint(
    store: TensorStore, config: dict | None, component: str | None, where: str = "checkpoint"
) -> tuple[dict[str, Module], list[str], dict]:
    """(modules, notes, extra) of a full checkpoint: weights of 2+ dims and quantized Linears; `extra` holds
    `quantized` ({method, bits, modules}) where the checkpoint is quantized."""
    quant, info = read_quantized(store.raw, config, where)
    states = _bnb4_shapes(quant, store)
    taken = {k for q in quant.values() for k in q.keys.values()}
    weights = {
        _WEIGHT.sub("", k): k
        for k, info_ in store.raw.items()
        if _WEIGHT.search(k) and len(info_.shape) >= 2 and k not in taken
    }
    notes = [note] if (note := _task_adapters_note(store)) else []
    names = [*weights, *quant]
    custom = sum(1 for n in names if _CUSTOM_DIFFUSION.search(n))
    if component:
        mapping = {n: f"{component}." + _CUSTOM_DIFFUSION.sub(r".\1", n) for n in names}
        if custom:
            notes.append(
                f"Custom Diffusion (diffusers' attention processors, loaded onto a base UNet): {custom} attention "
                "projections stored whole, named as the attention's own"
            )
    else:
        model_type = (config or {}).get("model_type")
        mapping = canonical_names(names, model_type if isinstance(model_type, str) else None)
        if tower := tower_names(names):
            mapping = tower
            notes.append("a CLIP or SigLIP tower saved without `text_model.` / `vision_model.`, as transformers 5 does")
        elif changed := sum(1 for a, b in mapping.items() if a != b):
            notes.append(f"{changed} saved-key names mapped to transformers' in-memory names")
    modules = {}
    for name, key in weights.items():
        canon = mapping[name]
        modules[canon] = full_module(canon, store.raw[key])
    onto = {"onto_base": "custom-diffusion"} if custom else {}
    if names and all(_PREFIX_ENCODER.search(n) for n in names):  # ChatGLM's P-tuning v2 saves its prefix encoder alone
        onto = {"onto_base": "p-tuning-v2"}
        notes.append("P-tuning v2 (ChatGLM's ptuning): a prefix encoder alone, loaded onto its base model")
    for name, q in quant.items():
        canon = mapping[name]
        modules[canon] = Module(canon, "quantized", q.d_out, q.d_in, None, None, None, None, q.keys, quant=q.method)
    if info is None:
        return modules, notes, onto
    bits = f" {info['bits']}-bit" if info["bits"] else ""
    known = sum(1 for q in quant.values() if q.d_out and q.d_in)
    notes.append(f"quantized ({info['method']}{bits}): {known} of {len(quant)} Linear layers read at their shapes")
    if states:
        notes.append(f"bitsandbytes 4-bit: {states} layers' shapes read from their quant states (one per layer name)")
    if known < len(quant):
        why = (
            "bitsandbytes 4-bit keeps a layer's shape in its quant state, not in the header; hfprobe reads it for one "
            "layer of each name, in local files"
            if info["method"] == "bitsandbytes"
            else "their packing needs the bits a config.json declares"
        )
        notes.append(f"{len(quant) - known} quantized layers without a shape ({why}); the tree is read from the rest")
    return modules, notes, {"quantized": info, **onto}


MAX_QUANT_STATES = 16  # bitsandbytes 4-bit quant states read for shapes: one per layer name, a few dozen bytes each
MAX_QUANT_STATE_BYTES = 4096  # a quant state is a small JSON object (79 bytes for a 4-bit Linear)


def _bnb4_shapes(quant: dict, store: TensorStore) -> int:
    """Give bitsandbytes 4-bit Linears their (out, in) from their quant state, JSON that bitsandbytes packs into a
    uint8 tensor (`{"quant_type": "nf4", "blocksize": 64, "dtype": ..., "shape": [out, in]}`): for the first layer
    of each name with its block numbers ignored (`model.layers.N.self_attn.q_proj`), at most MAX_QUANT_STATES, in
    local files only. A state that is not such JSON is skipped (the layer stays shapeless). Returns how many."""
    seen: set[str] = set()
    read = 0
    for base, q in quant.items():
        if q.method != "bitsandbytes" or q.d_out or len(seen) >= MAX_QUANT_STATES:
            continue
        name = re.sub(r"\.\d+\.", ".N.", base)
        key = next((k for role, k in q.keys.items() if role.startswith("weight.quant_state.")), None)
        if name in seen or key is None or store.raw[key].dtype != "U8":
            continue
        seen.add(name)
        raw = store.small_local_bytes(key, MAX_QUANT_STATE_BYTES)
        try:
            shape = json.loads(raw.decode("utf-8")).get("shape") if raw else None
        except (ValueError, UnicodeDecodeError, AttributeError, RecursionError):
            continue
        if isinstance(shape, list) and len(shape) == 2 and all(type(v) is int and 0 < v < 2**31 for v in shape):
            q.d_out, q.d_in = shape
            read += 1
    return read

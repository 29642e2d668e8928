"""mlx-lm LoRA and DoRA adapters (Apple's MLX): `adapters.safetensors` + `adapter_config.json`.

Keys are the model's module paths with `.lora_a` [in, r] and `.lora_b` [r, out], no `.weight`: the transposes of
PEFT's lora_A / lora_B (mlx-lm computes `x @ lora_a @ lora_b`), plus `.m` [out], DoRA's magnitude. ΔW is
`scale · (lora_a @ lora_b)ᵀ` with the config's `lora_parameters.scale` (mlx-lm's default, 20, where the config
does not say); alpha is reported as scale · rank, so that alpha / rank is the scale, as for every format. An
embedding's factors are [vocab, r] and [r, dim] (ΔW = scale · lora_a @ lora_b, shaped like the table). A
mixture-of-experts layer's factors are 3-D ([experts, r, in], [experts, out, r]): counted in a note, not read.
The config's `model` is the base the adapter was trained on (declared; often an mlx-community re-upload).
Module names are mlx-lm's, which follow transformers' (`model.layers.0.self_attn.q_proj`).
"""

from __future__ import annotations

from numbers import Real

from ..errors import InvalidWeightsError
from ..source.safetensors import quote
from .base import TensorStore, lora_module
from .lora import stored_plain
from .peft import canonical_modules

SUFFIXES = (".lora_a", ".lora_b", ".m")
DEFAULT_SCALE = 20.0  # mlx_lm.tuner.lora.LoRALinear's default
_EMBEDDINGS = ("embed_tokens", "wte", "word_embeddings", "tok_embeddings", "embed_in")


def is_mlx(keys: list[str]) -> bool:
    """Every key a `.lora_a` / `.lora_b` / `.m` (mlx-lm's names), at least one a `.lora_a`."""
    return any(k.endswith(".lora_a") for k in keys) and all(k.endswith(SUFFIXES) for k in keys)


def is_mlx_config(config: dict | None) -> bool:
    """mlx-lm's adapter_config.json: its training arguments (`lora_parameters`, `fine_tune_type`)."""
    return isinstance(config, dict) and ("lora_parameters" in config or "fine_tune_type" in config)


def _scale(config: dict | None, notes: list[str]) -> float:
    params = (config or {}).get("lora_parameters")
    params = params if isinstance(params, dict) else {}
    scale, alpha, rank = params.get("scale"), params.get("alpha"), params.get("rank")
    number = lambda v: isinstance(v, Real) and not isinstance(v, bool) and v == v and abs(v) != float("inf")  # noqa: E731
    if number(scale):
        return float(scale)
    if number(alpha) and number(rank) and rank > 0:  # early mlx-examples configs: alpha and rank
        return float(alpha) / float(rank)
    notes.append(f"no lora_parameters.scale in adapter_config.json: mlx-lm's default {DEFAULT_SCALE:g} assumed")
    return DEFAULT_SCALE


def read_mlx(store: TensorStore, config: dict | None, where: str, model_type: str | None = None):
    """Modules of an mlx-lm adapter; returns (modules, notes)."""
    notes: list[str] = []
    scale = _scale(config, notes)
    parts: dict[str, dict[str, str]] = {}
    for key in store.raw:
        name, _, role = key.rpartition(".")
        parts.setdefault(name, {})[role] = key
    modules, experts, plain = {}, 0, {}
    for name, p in sorted(parts.items()):
        a_key, b_key = p.get("lora_a"), p.get("lora_b")
        if a_key is None:
            if b_key is not None:
                raise InvalidWeightsError(
                    f"{where}: LoRA {quote(name, 120)} has a lora_b but no lora_a; the file is incomplete, re-export it"
                )
            continue  # a lone magnitude: nothing to build
        a, b = store.raw[a_key], store.raw.get(b_key) if b_key else None
        if len(a.shape) == 3 and (b is None or len(b.shape) == 3):
            experts += 1
            continue
        if b is not None and len(a.shape) == len(b.shape) == 2 and stored_plain(a.shape, b.shape):
            # lower-case names, loralib's way round (hand-written LoRA layers): A [r, in], B [out, r]
            a, b = a._replace(shape=a.shape[::-1]), b._replace(shape=b.shape[::-1])
            plain[name] = True
        if len(a.shape) != 2 or (b is not None and len(b.shape) != 2):
            raise InvalidWeightsError(
                f"{where}: mlx LoRA {quote(name, 120)} has factors {quote(list(a.shape), 40)} and "
                f"{quote(list(b.shape) if b else None, 40)}, expected [in, r] and [r, out]; re-export the adapter"
            )
        keys = {"A": a_key, **({"B": b_key} if b_key else {}), **({"magnitude": p["m"]} if "m" in p else {})}
        rank = a.shape[1]
        module = lora_module(  # checked in PEFT's orientation: A [r, in], B [out, r]
            name,
            a._replace(shape=a.shape[::-1]),
            b._replace(shape=b.shape[::-1]) if b is not None else None,
            alpha=scale * rank,
            keys=keys,
            where=where,
            dora="m" in p,
            lora_embedding=name.rsplit(".", 1)[-1] in _EMBEDDINGS,
        )
        module.stored_transposed = not plain.get(name)
        modules[name] = module
    notes.append(f"mlx-lm {'DoRA' if any(m.dora for m in modules.values()) else 'LoRA'} adapter: scale {scale:g}")
    if plain:
        notes.append(f"{len(plain)} LoRA pairs stored as A [r, in] and B [out, r], not mlx-lm's way round: read so")
    if experts:
        notes.append(f"{experts} mixture-of-experts LoRA layers (3-D factors) not read")
    return canonical_modules(modules, notes, model_type)

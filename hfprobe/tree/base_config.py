"""A declared base the registry does not know, checked by its own config and traced through its card.

An adapter's adapter_config.json, a config.json or a card may name a model the registry lacks
(`someorg/wizard-chat-7b`). Where that model's config can be had (huggingface_hub's cache; for a Hub source, the
Hub: `Source.base_config`: a config.json, or a diffusers pipeline's model_index.json with its parts' configs),
`config_root` turns its sizes into a root like the registry's (`hfprobe/data/config_dims.json` says which fields
give which dim, for the families whose derivation the tests check against transformers' and diffusers' own
models), which `classify` fits the weights against as it fits any root: the declaration is then checked, not taken
on trust. Its `_name_or_path`, which transformers writes when it saves a fine-tuned model, names the model it was
fine-tuned from: where that is a registry root the weights fit, it is the root; else its model card's `base_model`
(`Source.base_card`), followed as the Hub's model tree follows it, may lead to one. A model in a registry root's
sizes is most likely a fine-tune of it (or of a look-alike): the registry's roots stay the candidates; one in sizes
no registry root has is a root of its own.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import replace
from functools import lru_cache
from importlib import resources

from ..source.hub import REPO_ID
from .card_yaml import card_metadata
from .declared import architecture
from .fit import fit_root
from .registry import prompt_widths, roots

__all__ = [
    "card_lineage",
    "config_families",
    "config_parent",
    "config_root",
    "configs_checked",
    "pipeline_dims",
    "tower_dims",
]


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(resources.files("hfprobe.data").joinpath("config_dims.json").read_text())


def _first(config: Mapping, keys: list[str]) -> int | None:
    for k in keys:
        v = config.get(k)
        if type(v) is int and v > 0:
            return v
    return None


def config_dims(config: Mapping) -> dict[str, int]:
    """The registry's dims that a transformers config.json gives (those it does not give are left out).

    >>> config_dims({"hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
    ...              "intermediate_size": 14336, "num_hidden_layers": 32, "vocab_size": 32000})["kv_dim"]
    1024
    """
    keys = _table()["keys"]
    text = config.get("text_config")
    if isinstance(text, Mapping) and _first(config, keys["hidden"]) is None:
        config = text  # a multimodal model's (Qwen3.5's, Gemma 3's): its sizes are its language model's
    got = {dim: _first(config, names) for dim, names in keys.items()}
    hidden, heads = got.pop("hidden"), got.pop("heads")
    kv_heads, head_dim = got.pop("kv_heads"), got.pop("head_dim")
    if hidden and got["ffn"] is None and "n_inner" in config and config["n_inner"] is None:
        got["ffn"] = 4 * hidden  # GPT-2's default inner width
    ratio = config.get("mlp_ratio", config.get("expansion_ratio"))
    if hidden and got["ffn"] is None and type(ratio) in (int, float) and ratio > 0 and (hidden * ratio) % 1 == 0:
        got["ffn"] = int(hidden * ratio)  # DINOv2's (MPT's) MLP width, a multiple of its hidden size
    conv = config.get("conv_dim")
    if got.get("conv_dim") is None and isinstance(conv, list) and conv and all(type(c) is int and c > 0 for c in conv):
        got["conv_dim"] = conv[-1]  # wav2vec 2.0's feature encoder: its last convolution feeds the projection
    image, patch = _first(config, ["image_size"]), got.get("patch")
    if got["positions"] is None and image and patch and image % patch == 0:
        got["positions"] = (image // patch) ** 2 + 1  # a ViT's patches and its class token
    if got["ffn"] and got.get("lru"):
        got["ffn"] //= 2  # RecurrentGemma's MLP: each projection half its `intermediate_size`
    if heads and head_dim is None and hidden and hidden % heads == 0:
        head_dim = hidden // heads
    if config.get("multi_query") is True and not config.get("new_decoder_architecture"):
        kv_heads = 1  # Falcon's multi-query attention, whatever num_kv_heads says
    kv_heads = kv_heads or heads
    if heads and head_dim:
        got.update(q_dim=heads * head_dim, inner=heads * head_dim, kv_dim=kv_heads * head_dim)
        got["qkv"] = (heads + 2 * kv_heads) * head_dim
    if heads:
        got.update(_latent_attention(config, heads))
    got.update(_routed_experts(config, got.get("layers")))
    got.update(_gated_delta_net(config, got.get("q_dim")))
    if _may_have_mamba(config):  # (Granite 4.0's dense models keep Mamba settings they do not use)
        got.update(_mamba2(config))
    got["attention_layers"] = _attention_layers(config)
    got["hidden"] = hidden
    return {dim: v for dim, v in got.items() if v is not None}


def _attention_layers(config: Mapping) -> list[int] | None:
    """A hybrid's attention layers (`tree.fit.ATTENTION`), from its `layer_types` where some are no attention
    (Qwen3.5's `linear_attention`, Granite 4.0's `mamba`, LFM2's `conv`), LFM2's `full_attn_idxs`, Nemotron-H's
    `hybrid_override_pattern` or RecurrentGemma's `block_types` (a cycle over its layers); None for a model whose
    every layer attends (Gemma 3's sliding and full attention).

    >>> _attention_layers({"hybrid_override_pattern": "M-M*-M"}), _attention_layers({"layer_types": ["M", "attention"]})
    ([3], [1])
    >>> _attention_layers({"block_types": ["recurrent", "recurrent", "attention"], "num_hidden_layers": 7})
    [2, 5]
    """
    pattern = config.get("hybrid_override_pattern")  # Nemotron-H's: M Mamba-2, * attention, - MLP, E a mixture
    if isinstance(pattern, str) and pattern:
        return [i for i, kind in enumerate(pattern) if kind == "*"]
    kinds = config.get("layer_types")
    if isinstance(kinds, list) and kinds and all(isinstance(k, str) for k in kinds):
        attends = [i for i, k in enumerate(kinds) if "attention" in k and "linear" not in k]
        return attends if 0 < len(attends) < len(kinds) else None  # (no attention named: kinds it cannot read)
    idxs = config.get("full_attn_idxs")
    if isinstance(idxs, list) and all(type(i) is int for i in idxs):
        return list(idxs)
    cycle, layers = config.get("block_types"), _first(config, ["num_hidden_layers"])
    if isinstance(cycle, list) and cycle and layers and "attention" in cycle and len(set(cycle)) > 1:
        return [i for i in range(layers) if cycle[i % len(cycle)] == "attention"]  # RecurrentGemma's, repeated
    return None


def _latent_attention(config: Mapping, heads: int) -> dict[str, int]:
    """The sizes of DeepSeek-V2's and V3's multi-head latent attention, where the config has them: each head's key
    is `qk_nope_head_dim` + `qk_rope_head_dim` wide (DeepSeek's 128 + 64) and its value `v_head_dim`, the query
    comes through a `q_lora_rank` latent (or not), the keys and values through a `kv_lora_rank` one; the config's
    `head_dim` says none of these.

    >>> _latent_attention({"kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128}, 16)
    {'q_dim': 3072, 'kv_lora': 512, 'kv_a': 576, 'kv_b': 4096, 'o_in': 2048}
    """
    widths = ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")
    rank, nope, rope, v = (_first(config, [k]) for k in widths)
    if not (rank and nope and rope and v):
        return {}
    out = dict(q_dim=heads * (nope + rope), kv_lora=rank, kv_a=rank + rope, kv_b=heads * (nope + v), o_in=heads * v)
    if q_lora := _first(config, ["q_lora_rank"]):
        out["q_lora"] = q_lora
    return out


def _routed_experts(config: Mapping, layers: int | None) -> dict[str, int]:
    """The sizes of a mixture in DeepSeek-V3's terms (DeepSeek's, GLM-4.5's), where the config has them: routed
    experts `moe_intermediate_size` wide (not `intermediate_size`, the dense layers'), the shared ones together
    `n_shared_experts` times that (or `moe_shared_expert_intermediate_size`, Nemotron 3's), and the blocks its
    checkpoint holds beyond the config's layers (multi-token prediction).

    >>> _routed_experts({"moe_intermediate_size": 1408, "n_routed_experts": 64, "n_shared_experts": 2}, 27)
    {'experts': 64, 'expert_ffn': 1408, 'shared_ffn': 2816}
    """
    width, experts = _first(config, ["moe_intermediate_size"]), _first(config, ["n_routed_experts"])
    if not experts:
        return {}
    out = {"experts": experts}
    if width:
        out["expert_ffn"] = width
        if explicit := _first(config, ["moe_shared_expert_intermediate_size"]):  # Nemotron 3's, set apart
            out["shared_ffn"] = explicit
        elif shared := _first(config, ["n_shared_experts"]):
            out["shared_ffn"] = shared * width
    if (nextn := _first(config, ["num_nextn_predict_layers"])) and layers:
        out["layers_mtp"] = layers + nextn  # V3's and GLM-4.5's checkpoints' extra block
    return out


def _gated_delta_net(config: Mapping, q_dim: int | None) -> dict[str, int]:
    """The sizes of a Gated DeltaNet hybrid (Qwen3.5's), where the config has them: its linear attention's fused
    queries, keys and values (`linear_num_key_heads` of `linear_key_head_dim` each for the queries and the keys,
    `linear_num_value_heads` of `linear_value_head_dim` for the values), its values' gate (as wide as the values) and
    one decay and one update gate per value head; its full attention's `q_proj` twice the queries (each head's output
    gate beside them); a mixture's experts in Qwen's terms (`num_experts`, `moe_intermediate_size`,
    `shared_expert_intermediate_size`).

    >>> _gated_delta_net({"linear_num_key_heads": 16, "linear_key_head_dim": 128, "linear_num_value_heads": 32,
    ...                   "linear_value_head_dim": 128}, 4096)
    {'lin_qkv': 8192, 'lin_v': 4096, 'lin_heads': 32, 'lin_qkvz': 12288, 'lin_ba': 64, 'q_gated': 8192}
    """
    widths = ("linear_num_key_heads", "linear_key_head_dim", "linear_num_value_heads", "linear_value_head_dim")
    k_heads, k_dim, v_heads, v_dim = (_first(config, [k]) for k in widths)
    if not (k_heads and k_dim and v_heads and v_dim):
        return {}
    out = dict(lin_qkv=2 * k_heads * k_dim + v_heads * v_dim, lin_v=v_heads * v_dim, lin_heads=v_heads)
    out.update(lin_qkvz=out["lin_qkv"] + out["lin_v"], lin_ba=2 * v_heads)  # Qwen3-Next's, the four fused in two
    if q_dim:
        out["q_gated"] = 2 * q_dim
    experts, width = _first(config, ["num_experts"]), _first(config, ["moe_intermediate_size"])
    if experts and width:
        out.update(experts=experts, expert_ffn=width)
        if shared := _first(config, ["shared_expert_intermediate_size"]):
            out["shared_ffn"] = shared
    return out


def _may_have_mamba(config: Mapping) -> bool:
    """False where the config's layer kinds say no layer is Mamba's (`layer_types` without `mamba`, a
    `hybrid_override_pattern` without `M`)."""
    kinds, pattern = config.get("layer_types"), config.get("hybrid_override_pattern")
    if isinstance(pattern, str):
        return "M" in pattern
    return "mamba" in kinds if isinstance(kinds, list) else True


def _mamba2(config: Mapping) -> dict[str, int]:
    """A Mamba-2 layer's widths (Granite 4.0's, Nemotron-H's and Zamba2's names for its heads, their width, its
    groups and state): `in_proj` gives the gate and the input (each its heads x their width, `d_inner`), B and C
    (each groups x state) and one step size per head; the convolution runs over the input, B and C (`conv_dim`).

    >>> _mamba2({"mamba_num_heads": 128, "mamba_head_dim": 64, "n_groups": 8, "ssm_state_size": 128})
    {'d_inner': 8192, 'mamba_in': 18560, 'conv_dim': 10240}
    """
    heads = _first(config, ["mamba_num_heads", "mamba_n_heads", "n_mamba_heads"])
    width = _first(config, ["mamba_head_dim", "mamba_d_head", "mamba_headdim"])
    groups = _first(config, ["n_groups", "mamba_n_groups", "mamba_ngroups"])
    state = _first(config, ["ssm_state_size", "mamba_d_state"])
    if not (heads and width and groups and state):
        return {}
    inner, bc = heads * width, 2 * groups * state
    return {"d_inner": inner, "mamba_in": 2 * inner + bc + heads, "conv_dim": inner + bc}


def config_families(config) -> tuple[str, ...]:
    """The registry families a config.json's model_type (or diffusers `_class_name`; a pipeline's: its denoiser's)
    names; () for none."""
    return architecture(_denoiser(config))[2] if isinstance(config, Mapping) else ()


def _denoiser(config: Mapping) -> Mapping:
    """A diffusers pipeline's denoiser config (model_index.json with its parts' configs in place, as
    `Source.base_config` gives it); any other config itself."""
    for part in _table()["diffusers"]["denoisers"]:
        if isinstance(config.get(part), Mapping):
            return config[part]
    return config


def pipeline_dims(config: Mapping) -> dict[str, int | list[int]]:
    """The registry's dims that a diffusers pipeline's (or one denoiser's) configs give.

    >>> unet = {"_class_name": "UNet2DConditionModel", "block_out_channels": [320, 640, 1280, 1280],
    ...         "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"], "cross_attention_dim": 768}
    >>> pipeline_dims({"unet": unet, "text_encoder": {"hidden_size": 768}})
    {'context': 768, 'widths': [320, 640, 1280], 'attn_widths': [320, 640, 1280], 'depth': 1, 'te_hidden': 768}
    """
    table = _table()["diffusers"]
    net = _denoiser(config)
    got = {dim: _first(net, names) for dim, names in table["keys"].items()}
    heads, head_dim = _first(net, ["num_attention_heads"]), _first(net, ["attention_head_dim"])
    if "block_out_channels" not in net and heads and head_dim:  # a transformer's width
        got["inner"] = heads * head_dim
        dual = net.get("dual_attention_layers")
        if isinstance(dual, (list, tuple)) and dual:  # (SD 3.5 Medium's first layers attend twice)
            got.update(dual_inner=got["inner"], dual_layers=len(dual))
    blocks, kinds = net.get("block_out_channels"), net.get("down_block_types")
    if _ints(blocks) and isinstance(kinds, (list, tuple)) and len(kinds) == len(blocks):  # a UNet's blocks
        got["widths"] = sorted(set(blocks))
        attn = {w for w, kind in zip(blocks, kinds) if isinstance(kind, str) and "CrossAttn" in kind}
        if "CrossAttn" in str(net.get("mid_block_type", "UNetMidBlock2DCrossAttn")):  # (diffusers' default)
            attn.add(blocks[-1])
        got["attn_widths"] = sorted(attn)
        depth = net.get("transformer_layers_per_block", 1)  # (1 where the config predates the field)
        got["depth"] = max(depth) if _ints(depth) else _first({"depth": depth}, ["depth"])
    for dim, part in table["text_encoders"].items():
        if isinstance(config.get(part), Mapping):
            got[dim] = _first(config[part], _table()["keys"]["hidden"])
    return {dim: v for dim, v in got.items() if v is not None}


def tower_dims(config: Mapping, spec: Mapping) -> dict[str, int]:
    """The registry's dims that a two-tower model's config (CLIP's, SigLIP's) gives, as `spec` (config_dims.json's
    `towers`) reads them from its `text_config` and `vision_config`.

    >>> spec = _table()["towers"]["clip"]
    >>> tower_dims({"vision_config": {"hidden_size": 768, "image_size": 224, "patch_size": 32}}, spec)
    {'vision_hidden': 768, 'positions': 50}
    """
    got: dict[str, int] = {}
    for part in ("text_config", "vision_config"):
        tower = config.get(part)
        if isinstance(tower, Mapping):
            got.update({dim: v for dim, key in spec[part].items() if (v := _first(tower, [key])) is not None})
    vision = config.get("vision_config")
    image, patch = (
        (_first(vision, [k]) for k in ("image_size", "patch_size")) if isinstance(vision, Mapping) else (0, 0)
    )
    if image and patch and image % patch == 0:
        got["positions"] = (image // patch) ** 2 + spec["class_token"]
    return got


def _ints(value) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(type(v) is int and v > 0 for v in value)


def config_root(repo_id: str, config: Mapping | None, weights: Collection[str] = ()) -> dict | None:
    """A root for `repo_id` from its config: {id, family, prior, dims, config: True}, where it names a family the
    derivation is checked for and gives every dim the family's registry roots all have (a pipeline's text
    encoders aside); else None (nothing to check it by). A class several families share (a UNet) is the family
    of a registry root in its sizes, or else the weights' (`weights`, the families they fit)."""
    if not isinstance(config, Mapping):
        return None
    diffusion = _denoiser(config) is not config or "_class_name" in config
    checked = _table()["diffusers"]["families"] if diffusion else _table()["families"]
    fams = [f for f in config_families(config) if f in checked]
    got = pipeline_dims(config) if diffusion else config_dims(config)
    if len(fams) > 1:  # the family whose registry roots have its sizes; else the weights'
        fams = [f for f in fams if any(_same_dims(r, {"dims": got}) for _, r in _roots_of(f))] or [
            f for f in fams if f in weights
        ]
    if len(fams) != 1:
        return None
    family = fams[0]
    if family in _table()["towers"]:  # (a model of two towers: its sizes are in its towers' configs)
        got = tower_dims(config, _table()["towers"][family])
    have = [set(r["dims"]) - {"prompt"} for _, r in _roots_of(family)]
    every = set.union(*have) if have else set()
    optional = {*_table()["diffusers"]["text_encoders"], "attention_layers"}  # (a config without layer types)
    need = set.intersection(*have) - optional if have else set()
    dims = {d: v for d, v in got.items() if d in every}
    if not need or not need <= set(dims):
        return None
    if "hidden" in dims:
        dims["prompt"] = prompt_widths(dims)
    return {"id": repo_id, "family": family, "prior": 1, "dims": dims, "config": True}


def _roots_of(family: str) -> list[tuple[int, dict]]:
    return roots()["_by_family"].get(family, [])


def config_parent(config: Mapping | None) -> str | None:
    """The registry root config.json's `_name_or_path` names (the model it was saved from), or None."""
    value = config.get("_name_or_path") if isinstance(config, Mapping) else None
    if not isinstance(value, str) or not value.strip():
        return None
    return roots()["_alias"].get(value.strip().lower())


def configs_checked(claims: list, lookups, fits: list, ok: list, norm, orig, keys, evidence: list[str]) -> list:
    """Each declared Hub id the registry lacks whose config.json `lookups` (config, card: each repo id -> its
    config.json or model card, or None) give, checked by its sizes: ruled out (its root set, not among the fits
    that pass: a conflict), fitting (a root of its own; or, where transformers saved it from a registry root that
    fits, or its card's `base_model` leads to one, that root), or, where its layers are not the weights' family's,
    of the family its config says (a conflict where that is not the weights'). `fits` and `ok` gain its fit."""
    lookup, card = lookups
    out, seen = [], {}
    for c in claims:
        value = c.value.strip()
        if c.strength != "declared" or c.root is not None or c.level != "model" or not REPO_ID.fullmatch(value):
            out.append(c)
            continue
        if value not in seen:
            seen[value] = lookup(value)
        config = seen[value]
        fams = config_families(config)
        root = config_root(value, config, {fam for fam, _ in ok})
        fit = fit_root(root, norm, orig, keys) if root else None
        if fit is None or not (fit.bad or fit.consistent):  # nothing to check its sizes by: its card, its family
            out.append(_by_card_alone(c, value, card, fams, ok, evidence))
            continue
        fam, parent = root["family"], config_parent(config)
        what = "model_index.json" if _denoiser(config) is not config else "config.json"  # (a pipeline's: its index)
        mine = {f.root["id"] for _, f in ok if f.root["family"] == fam}  # registry roots of its family that fit
        like = [] if fit.bad else [f.root["id"] for _, f in ok if f.root["family"] == fam and _same_dims(f.root, root)]
        if fit.bad:
            fits.append((fam, fit))
            evidence.append(f"{value}'s {what} gives its sizes: {fit.bad[0]}")
            out.append(replace(c, root=value, family=fam, via=f"its {what}"))
        elif parent in mine:
            evidence.append(f"{value}'s {what}: its sizes fit, and it was saved from {parent}, its root")
            out.append(replace(c, root=parent, family=fam, via=f"its {what}'s sizes fit the weights (from {parent})"))
        elif card and (lineage := card_lineage(value, card)) and lineage[-1] in mine:
            said = (f"{value}'s {what}: its sizes fit;", f"its {what}'s sizes fit the weights, and its card's")
            out.append(_traced(c, value, lineage, fam, said, evidence))
        elif like:  # a registry root's sizes: a fine-tune of one of those (or a model built like them), which
            # ones the weights cannot tell: they rank the roots as without it, and it is the base_model
            more = f" (and {len(like) - 1} more)" if len(like) > 1 else ""
            evidence.append(
                f"{value}, not in the registry: its {what}'s sizes fit the weights and are {like[0]}'s{more}: "
                "a fine-tune of one, perhaps"
            )
            out.append(replace(c, family=fam, via=f"its {what}'s sizes fit the weights (those of {like[0]})"))
        else:  # sizes no registry root has: a root of its own
            fits.append((fam, fit))
            ok.append((fam, fit))
            evidence.append(f"{value}, not in the registry: its {what}'s sizes fit the weights, as no known root's do")
            out.append(replace(c, root=value, family=fam, via=f"its {what}'s sizes fit the weights"))
    return out


def _by_card_alone(c, value: str, card, fams: tuple[str, ...], ok: list, evidence: list[str]):
    """The claim for a declared model whose sizes cannot be checked (no config to be had: a single-file checkpoint's
    repo, a gated one; or a family whose config is not read): where its card's `base_model` leads to a registry root
    the weights fit (of the family its config says, if any), that root, its own sizes said to be unread; else the
    claim with the family its config says."""
    lineage = card_lineage(value, card) if card else []
    family = {f.root["id"]: fam for fam, f in ok}.get(lineage[-1]) if lineage else None
    if family is None or (len(fams) == 1 and fams[0] != family):
        return replace(c, family=fams[0]) if len(fams) == 1 else c
    said = (f"{value}, not in the registry, its sizes unread:", "its card's")
    claim = _traced(c, value, lineage, family, said, evidence)
    return replace(claim, via=f"{claim.via}, which the weights fit (its own sizes unread)")


def _traced(c, value: str, lineage: list[str], family: str, said: tuple[str, str], evidence: list[str]):
    """The claim for `value` traced by its cards to the registry root `lineage` ends in: its evidence line and its
    reason, each led by what `said` holds (what its config said, if it was read)."""
    chain = " -> ".join([value, *lineage[:-1]])  # (as the cards spell them; the last is the root)
    evidence.append(f"{said[0]} by the model cards, {chain}, its root")
    return replace(c, root=lineage[-1], family=family, via=f"{said[1]} base_model leads to {lineage[-1]}")


MAX_CARDS = 3  # model cards followed from a declared model to a registry root (each one small download at most)


def card_lineage(repo_id: str, card) -> list[str]:
    """The `base_model` chain the model cards give from `repo_id` (`card(repo_id)`: its README.md, or None) to a
    registry root: [the Hub ids the cards name, in turn, ..., that root], or [] where they name no Hub id, one
    model each, that leads to one within MAX_CARDS cards (a merge's several bases lead nowhere).

    >>> cards = {"a/ft-2": "---\\nbase_model: a/ft-1\\n---\\n", "a/ft-1": "---\\nbase_model: [gpt2]\\n---\\n"}
    >>> card_lineage("a/ft-2", cards.get), card_lineage("a/ft-1", {}.get)
    (['a/ft-1', 'gpt2', 'openai-community/gpt2'], [])
    """
    chain, current = [], repo_id
    for _ in range(MAX_CARDS):
        text = card(current)
        meta = card_metadata(text)[0] if isinstance(text, str) else {}
        base = meta.get("base_model") if isinstance(meta, Mapping) else None
        if isinstance(base, list) and len(base) == 1:
            base = base[0]
        if not isinstance(base, str) or base.strip() in (repo_id, *chain):
            return []
        chain.append(base.strip())
        root = roots()["_alias"].get(chain[-1].lower())
        if root:
            return [*chain, root]
        if not REPO_ID.fullmatch(chain[-1]):
            return []
        current = chain[-1]
    return []


def _same_dims(a: dict, b: dict) -> bool:
    """Whether two roots have the same sizes wherever both give one (a fine-tune keeps its root's)."""
    both = (set(a["dims"]) & set(b["dims"])) - {"prompt"}
    return bool(both) and all(a["dims"][d] == b["dims"][d] for d in both)

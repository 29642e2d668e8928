"""NVIDIA's Nemotron-H, Nemotron Nano 2 and Nemotron 3 (`nemotron_h`): one mixer per block (`backbone.layers.N.mixer`),
Mamba-2 in most, attention in a few (each root lists them), a squared-ReLU MLP or a mixture in the rest. Each model is
built by transformers on the meta device from its published configuration (Megatron-Bridge's providers and tests,
fine-tunes' config.json copies) and saved under the Hub's names (`backbone.`). Before, the family did not exist: a
checkpoint or an adapter of one claimed no family."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.base_config import config_dims
from hfprobe.tree.classify import classify
from hfprobe.tree.names import shapes_from_raw
from hfprobe.tree.naming import resolve_name
from hfprobe.tree.registry import roots
from tests.model_shapes import lora_like

NANO_9B = dict(  # nvidia/NVIDIA-Nemotron-Nano-9B-v2's config.json
    hidden_size=4480, num_attention_heads=40, num_key_value_heads=8, head_dim=128, intermediate_size=15680,
    mamba_num_heads=128, mamba_head_dim=80, n_groups=8, ssm_state_size=128, vocab_size=131072,
    hybrid_override_pattern="M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-",
)  # fmt: skip
MODELS = {
    "nvidia/NVIDIA-Nemotron-Nano-9B-v2": NANO_9B,
    "nvidia/NVIDIA-Nemotron-Nano-12B-v2": dict(
        NANO_9B, hidden_size=5120, intermediate_size=20480,
        hybrid_override_pattern="M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M-",
    ),
    "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16": dict(
        hidden_size=2688, num_attention_heads=32, num_key_value_heads=2, head_dim=128, intermediate_size=1856,
        mamba_num_heads=64, mamba_head_dim=64, n_groups=8, ssm_state_size=128, vocab_size=131072,
        n_routed_experts=128, num_experts_per_tok=6, n_shared_experts=1, moe_intermediate_size=1856,
        moe_shared_expert_intermediate_size=3712,
        hybrid_override_pattern="MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME",
    ),
    "nvidia/Nemotron-H-8B-Base-8K": dict(
        hidden_size=4096, num_attention_heads=32, num_key_value_heads=8, head_dim=128, intermediate_size=21504,
        mamba_num_heads=128, mamba_head_dim=64, n_groups=8, ssm_state_size=128, vocab_size=131072,
        hybrid_override_pattern="M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-",
    ),
}  # fmt: skip
KINDS = {"M": "linear_attention", "E": "moe", "*": "full_attention", "-": "mlp"}  # transformers' layers_block_type
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj", "in_proj", "out_proj")
_BUILT: dict = {}


def shapes(name: str) -> dict:
    """The checkpoint's module shapes under the Hub's names (`backbone.layers.N.mixer.in_proj`)."""
    if name not in _BUILT:
        from transformers import AutoConfig, AutoModel

        config = dict(MODELS[name])
        kinds = [KINDS[c] for c in config.pop("hybrid_override_pattern")]
        with torch.device("meta"):
            model = AutoModel.from_config(AutoConfig.for_model("nemotron_h", layers_block_type=kinds, **config))
        _BUILT[name] = shapes_from_raw({f"backbone.{k}": tuple(v.shape) for k, v in model.state_dict().items()})
    return _BUILT[name]


def _base(name: str) -> str:
    return name if name.endswith("-8K") else name.replace("-BF16", "-Base-BF16") if "BF16" in name else name + "-Base"


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("targets", [None, ALL_LINEAR, ("q_proj", "k_proj", "v_proj", "o_proj")])
def test_checkpoints_and_adapters_name_their_root(name, targets):
    """A full checkpoint, an adapter on every linear layer (NVIDIA's and Unsloth's recipes) and one on attention
    alone (a few scattered blocks: exactly the root's attention blocks)."""
    s = shapes(name)
    if targets is None:
        r = classify(s, params={k: o * (i or 1) for k, (o, i) in s.items()})
    else:
        r = classify(lora_like(s, *targets, prefix="base_model.model."))
    assert r.family == "nemotron_h" and r.family_confidence == 1.0, r.evidence
    assert r.candidates[0]["id"] == name and {name, _base(name)} >= {c["id"] for c in r.candidates[:2]}, r.candidates


def test_attention_in_a_mamba_block_rules_a_root_out():
    """Nano 9B v2's attention widths in block 0, Mamba-2 in every root: no root of it."""
    s = shapes("nvidia/NVIDIA-Nemotron-Nano-9B-v2")
    lora = {k.replace("layers.14.", "layers.0."): v for k, v in lora_like(s, "q_proj", "v_proj").items()}
    r = classify({f"base_model.model.{k}": v for k, v in lora.items()})
    assert "nvidia/NVIDIA-Nemotron-Nano-9B-v2" not in {c["id"] for c in r.candidates}, r.candidates
    assert any("attention in block 0" in e for e in r.evidence), r.evidence


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_config_gives_a_root_s_every_size(name):
    """A declared model's config.json is checked by its sizes (`base_config`): its Mamba-2 widths from its heads,
    their width, its groups and state, its attention blocks from `hybrid_override_pattern`."""
    got = config_dims({"model_type": "nemotron_h", **MODELS[name]})
    dims = {k: v for k, v in roots()["_by_id"][name]["dims"].items() if k not in ("layers", "prompt")}
    assert {k: got.get(k) for k in dims} == dims  # (its depth: the pattern's length, not a config key here)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("nvidia/NVIDIA-Nemotron-Nano-9B-v2", ("nvidia/NVIDIA-Nemotron-Nano-9B-v2", "nemotron_h")),
        ("unsloth/NVIDIA-Nemotron-3-Nano-30B-A3B", ("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "nemotron_h")),
        ("someone/Nemotron-Nano-9B-v2-sft", (None, "nemotron_h")),
        ("nvidia/Nemotron-H-47B-Reasoning-128K", (None, "nemotron_h")),
    ],
)
def test_names_resolve(name, expected):
    assert resolve_name(name) == expected

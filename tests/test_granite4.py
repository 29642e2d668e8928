"""IBM's Granite 4.0 (`granitemoehybrid`): LLaMA's attention names, an MLP of its own (`shared_mlp.input_linear`, gate
and up stacked), Mamba-2 layers in the H models (attention in four layers only), a mixture in H Tiny and H Small
(its experts stacked in 3-D tensors). Each model is built by transformers on the meta device at the published sizes
(IBM's model cards' tables, config.json copies and Ollama's GGUF metadata). Before: Granite 4.0 names claimed no
family, a checkpoint none either, and an adapter on an H model's attention (four blocks of forty) read as Qwen3-8B's or
SmolLM3-3B's: four scattered blocks ending in the 36th counted as an adapter on every block of a 36-block root."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.classify import classify
from hfprobe.tree.declared import declared_claims
from hfprobe.tree.names import shapes_from_raw
from hfprobe.tree.naming import resolve_name
from tests.model_shapes import built_shapes, candidate_ids, inspect_shapes, lora_like

H = [5, 15, 25, 35]  # the H models' attention layers (of 40)
MODELS = {  # hidden, layers, heads, kv heads, expert ffn, shared ffn, experts, top-k, Mamba heads, Mamba head size
    "h-small": (4096, 40, 32, 8, 768, 1536, 72, 10, 128, 64, H),
    "h-tiny": (1536, 40, 12, 4, 512, 1024, 64, 6, 48, 64, H),
    "h-micro": (2048, 40, 32, 8, 8192, 8192, 0, 0, 64, 64, H),
    "h-1b": (1536, 40, 12, 4, 4096, 4096, 0, 0, 48, 64, H),
    "h-350m": (768, 32, 12, 4, 2048, 2048, 0, 0, 48, 32, [10, 13, 17, 27]),
    "micro": (2560, 40, 40, 8, 8192, 8192, 0, 0, 0, 0, None),
    "1b": (2048, 40, 16, 4, 4096, 4096, 0, 0, 0, 0, None),
    "350m": (1024, 28, 16, 4, 2048, 2048, 0, 0, 0, 0, None),
}
_RAW: dict = {}
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
UNSLOTH = (*ATTENTION, "shared_mlp.input_linear", "shared_mlp.output_linear")  # its notebook's (gate/up/down: none)
PREFIX = "base_model.model.model."


def raw(name: str) -> dict:
    """The checkpoint's tensor shapes, as transformers 5 saves them (experts stacked: `experts.gate_up_proj`)."""
    if name not in _RAW:
        from transformers import AutoConfig, AutoModel

        hidden, layers, heads, kv, ffn, shared, experts, top, m_heads, m_head, attention = MODELS[name]
        config = dict(
            hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
            intermediate_size=ffn, shared_intermediate_size=shared, num_local_experts=experts,
            num_experts_per_tok=top, vocab_size=100352, tie_word_embeddings=True,
            layer_types=["attention" if attention is None or i in attention else "mamba" for i in range(layers)],
        )  # fmt: skip
        if m_heads:
            config |= dict(mamba_n_heads=m_heads, mamba_d_head=m_head, mamba_d_state=128, mamba_n_groups=1)
        with torch.device("meta"):
            model = AutoModel.from_config(AutoConfig.for_model("granitemoehybrid", **config))
        _RAW[name] = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return _RAW[name]


def module_shapes(name: str) -> dict:
    return shapes_from_raw(raw(name))


def root(name: str) -> str:
    return f"ibm-granite/granite-4.0-{name}"


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("targets", [None, UNSLOTH])
def test_checkpoints_and_adapters_name_their_root(name, targets):
    shapes = module_shapes(name)
    if targets is None:
        r = classify(shapes, params={k: o * (i or 1) for k, (o, i) in shapes.items()})
    else:
        r = classify(lora_like(shapes, *targets, prefix=PREFIX))
    assert r.family == "granite4" and r.family_confidence == 1.0, r.evidence
    assert [c["id"] for c in r.candidates[:2]] == [root(name), root(name) + "-base"], r.candidates


def test_the_mixture_s_experts_are_read_as_saved_on_the_hub():
    """IBM's checkpoints hold the experts as GraniteMoE saves them, `block_sparse_moe.input_linear` [experts, 2 x
    width, hidden] and `output_linear`, the router `router.layer`: one expert's shape is read from each."""
    hub = _hub_names(raw("h-tiny"))
    assert hub != raw("h-tiny")
    shapes = shapes_from_raw(hub)
    assert shapes["layers.0.block_sparse_moe.input_linear"] == (1024, 1536)
    r = classify(shapes, params={k: o * (i or 1) for k, (o, i) in shapes.items()})
    assert r.family == "granite4" and r.root == root("h-tiny"), r.evidence
    assert any("router" in e or "experts" in e for e in r.evidence if "ruled out" in e), r.evidence


def _hub_names(shapes: dict) -> dict:
    hub = {}
    for key, shape in shapes.items():
        key = key.replace("block_sparse_moe.experts.gate_up_proj", "block_sparse_moe.input_linear.weight")
        key = key.replace("block_sparse_moe.experts.down_proj", "block_sparse_moe.output_linear.weight")
        hub[key.replace("block_sparse_moe.router.weight", "block_sparse_moe.router.layer.weight")] = shape
    return hub


def test_a_hub_checkpoint_file_names_its_root(tmp_path):
    """The same read from a file: the weights reader takes a 3-D `.weight` for a convolution's (experts out, a
    kernel of `hidden`), whose shape had been given as [64, 1024] and ruled every H Tiny root out."""
    report = inspect_shapes(tmp_path, _hub_names(raw("h-tiny")))
    assert report["family"] == "granite4", report["root"]["evidence"]
    assert set(candidate_ids(report)) == {root("h-tiny"), root("h-tiny") + "-base"}, report["root"]["evidence"]


@pytest.mark.parametrize("name, look_alike", [("h-small", "Qwen/Qwen3-8B"), ("h-micro", "HuggingFaceTB/SmolLM3-3B")])
def test_an_adapter_on_a_hybrid_s_attention_alone_is_that_hybrid_s(name, look_alike):
    """H Small's attention (4096 and 1024 on 4096) is Qwen3-8B's, H Micro's SmolLM3-3B's: on layers 5, 15, 25 and 35
    only, the blocks where the hybrid has attention, it was read as theirs (35 is their last block). Scattered
    blocks are no adapter on every block; on exactly a hybrid's attention blocks, they are one on all it has."""
    r = classify(lora_like(module_shapes(name), *ATTENTION, prefix=PREFIX))
    assert r.family == "granite4" and r.candidates[0]["id"] == root(name), r.evidence
    assert look_alike in {c["id"] for c in r.candidates}  # the shapes fit it still: beside, not first


def test_attention_where_a_hybrid_has_mamba_rules_it_out():
    """H 1B's attention widths (1536 and 512 on 1536) in every one of 40 layers, beside its MLP: attention in layer
    0, where every H model has Mamba, rules H 1B and H Tiny out."""
    lora = lora_like(module_shapes("h-1b"), *UNSLOTH)
    dense = {f"{PREFIX}layers.{i}.self_attn.{p}": lora[f"layers.5.self_attn.{p}"] for i in range(40) for p in ATTENTION}
    r = classify(dense | {PREFIX + k: v for k, v in lora.items() if "shared_mlp" in k})
    assert not {root("h-1b"), root("h-tiny")} & {c["id"] for c in r.candidates}, r.candidates
    assert any("attention in block 0, where ibm-granite/granite-4.0-h-" in e for e in r.evidence), r.evidence


def test_granite_3_s_attention_is_granite_4_0_1b_s_too():
    """Granite 3.3 2B's attention (2048 and 512 on 2048, 40 blocks) is Granite 4.0 1B's in every size and depth: an
    adapter on it alone (its queries and values) leaves both families' roots, neither sure."""
    r = classify(lora_like(built_shapes("granite", hidden_size=2048, intermediate_size=8192, num_hidden_layers=40,
                                        num_attention_heads=32, num_key_value_heads=8, vocab_size=49159),
                           "q_proj", "v_proj", prefix="base_model.model."))  # fmt: skip
    ids = {c["id"] for c in r.candidates}
    assert {"ibm-granite/granite-3.3-2b-instruct", root("1b")} <= ids and r.family_confidence < 0.9, r.candidates


def test_llama_s_mlp_and_mamba_1_are_no_granite_4_0_s():
    """LLaMA's MLP names are Granite 4.0's once a GGUF conversion (its gate and up split) is mapped back, so sizes
    decide: Gemma 3n E2B's language model (Granite 4.0 1B's attention widths, 30 blocks, an MLP of 8192) is no
    Granite 4.0. Mamba 1's projections (Jamba's `mamba.x_proj`) are none either."""
    attention_and_mlp = (("self_attn.q_proj", (2048, 2048)), ("self_attn.k_proj", (512, 2048)),
                         ("mlp.gate_proj", (8192, 2048)))  # fmt: skip
    gemma3n_like = {f"{PREFIX}layers.{i}.{m}": s for i in range(30) for m, s in attention_and_mlp}
    assert classify(gemma3n_like).family != "granite4"
    mamba_1 = (("in_proj", (8192, 4096)), ("x_proj", (288, 4096)))
    jamba_like = {f"{PREFIX}layers.{i}.mamba.{m}": s for i in range(8) for m, s in mamba_1}
    assert classify(jamba_like).family != "granite4"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("ibm-granite/granite-4.0-h-tiny", (root("h-tiny"), "granite4")),
        ("ibm-granite/granite-4.0-350m-base", (root("350m") + "-base", "granite4")),
        ("unsloth/granite-4.0-h-micro", (root("h-micro"), "granite4")),
        ("someone/granite-4.0-micro-sql-lora", (None, "granite4")),
        ("ibm-granite/granite-4.0-tiny-preview", (None, "granite4")),  # the hybrid before its release: no root
        ("ibm-granite/granite-3.3-8b-instruct", ("ibm-granite/granite-3.3-8b-instruct", "granite")),
    ],
)
def test_names_resolve(name, expected):
    assert resolve_name(name) == expected


def test_a_config_s_model_type_names_the_family():
    claims = declared_claims(config={"model_type": "granitemoehybrid"})[1]
    assert any(c.family == "granite4" for c in claims)

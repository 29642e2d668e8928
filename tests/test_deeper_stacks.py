"""A model deeper than any root of the family its metadata names: a stack of that family's blocks (mergekit's
passthrough "frankenmerges" without their recipe, depth upscaling), and Llama 3.2 Vision, whose full checkpoints hold
cross-attention layers that a text-only stack of its depth does not.

Before: a 40-block stack of Mistral 7B's blocks whose config.json says `mistral` was Llama 3.2 Vision 11B (40 blocks of
Mistral 7B's widths), a conflict with its own config; with 48 blocks it was SOLAR's LLaMA, a conflict again.
"""

from __future__ import annotations

import pytest

from hfprobe.tree.classify import classify


def mistral_stack(blocks: int, vocab: int = 32000, cross: tuple[int, ...] = ()) -> dict:
    """Mistral 7B's widths (Llama 3 8B's but for the vocabulary), `blocks` deep, under transformers' names; with
    `cross`, Llama 3.2 Vision's cross-attention in those blocks."""
    shapes = {"model.embed_tokens": (vocab, 4096), "lm_head": (vocab, 4096)}
    for i in range(blocks):
        p = f"model.layers.{i}."
        attn = "cross_attn" if i in cross else "self_attn"
        shapes |= {p + f"{attn}.q_proj": (4096, 4096), p + f"{attn}.o_proj": (4096, 4096)}
        shapes |= {p + f"{attn}.k_proj": (1024, 4096), p + f"{attn}.v_proj": (1024, 4096)}
        shapes |= {
            p + "mlp.gate_proj": (14336, 4096),
            p + "mlp.up_proj": (14336, 4096),
            p + "mlp.down_proj": (4096, 14336),
        }
    return shapes


def full(shapes: dict, **kw):
    return classify(shapes, params={k: o * i for k, (o, i) in shapes.items()}, **kw)


@pytest.mark.parametrize("blocks", [40, 48, 64])
def test_a_stack_deeper_than_its_family_s_roots_is_read_in_their_tree(blocks):
    r = full(mistral_stack(blocks), config={"model_type": "mistral"})
    assert r.family == "mistral" and r.root.startswith("mistralai/Mistral-7B") and not r.conflicts, r.evidence
    assert any("Mistral roots fit but for their depth" in e for e in r.evidence)
    assert r.base_model["id"] is None  # (the weights alone name no root of a stack)


def test_a_declared_root_of_a_deeper_stack_is_written_saying_so():
    card = {"README.md": "---\nbase_model: mistralai/Mistral-7B-v0.1\n---\n"}
    r = full(mistral_stack(40), config={"model_type": "mistral"}, texts=card)
    assert r.base_model["id"] == "mistralai/Mistral-7B-v0.1" and not r.conflicts
    assert r.base_model["reason"].endswith("as a stack of more blocks than it has")


def test_an_adapter_deeper_than_the_root_it_declares_was_trained_on_another_model():
    lora = {k: v for k, v in mistral_stack(40).items() if "layers" in k}
    declared = classify(lora, config={"base_model_name_or_path": "mistralai/Mistral-7B-v0.1"})
    assert declared.base_model["id"] is None and declared.conflicts  # its blocks are not Mistral 7B's
    beside = classify(
        lora, config={"base_model_name_or_path": "/content/merged"}, model_config={"model_type": "mistral"}
    )
    assert beside.family == "mistral" and not beside.conflicts  # its base's architecture, deeper


def test_llama_3_2_vision_holds_its_cross_attention_and_a_text_stack_of_its_depth_is_not_it():
    vision = full(mistral_stack(40, vocab=128264, cross=tuple(range(3, 40, 5))))
    assert vision.family == "mllama" and vision.root.startswith("meta-llama/Llama-3.2-11B-Vision")
    stack = full(mistral_stack(40, vocab=128256), config={"model_type": "llama"})
    assert stack.family == "llama" and not stack.conflicts, stack.evidence  # Llama 3 8B's blocks, 40 of them
    assert not any(c["id"].startswith("meta-llama/Llama-3.2-11B-Vision") for c in stack.candidates)


def test_a_full_checkpoint_shallower_than_every_root_it_fits_is_no_surer_than_its_shapes():
    """A full checkpoint holds all of its blocks: 40 blocks of widths whose only roots with at least that many are
    SOLAR's 48 are as likely a model the registry lacks (Ministral 3's shapes) as SOLAR pruned; it was LLaMA at 1.0
    once Llama 3.2 Vision stopped fitting (0.86 as Llama 3.2 Vision before), as an adapter of that depth is at 0.5."""
    r = full(mistral_stack(40))
    assert r.family_confidence == 0.5 and r.base_model["id"] is None, r.evidence
    assert any("fit only roots with more blocks than the checkpoint holds" in e for e in r.evidence)


@pytest.mark.parametrize("blocks", [40, 48])
def test_a_deeper_stack_of_llama_3_is_llama_3_s_not_solar_s(blocks):
    """Llama 3 8B's blocks, stacked deeper: SOLAR (48 blocks of those widths, Mistral's 32,000 tokens) fitted, its
    vocabulary resized, so the stack's own family (llama) had a root and Llama 3 8B was no candidate."""
    r = full(mistral_stack(blocks, vocab=128256), config={"model_type": "llama"})
    assert r.root in ("meta-llama/Llama-3.1-8B", "meta-llama/Meta-Llama-3-8B") and not r.conflicts, r.candidates
    assert r.base_model["id"] is None

"""T5Gemma and T5Gemma 2 (`t5gemma`, `t5gemma2`): Google's encoder-decoders adapted from Gemma 2 and Gemma 3. Before,
a T5Gemma checkpoint read as Llama 3.2-Vision at 0.3 (its `cross_attn`), T5Gemma 2's as Whisper or LLaMA at 0.3, and
their names hinted no family."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.declared import resolve_name
from tests.model_shapes import inspect_built

torch.set_num_threads(1)


def _side(layers, hidden, ffn, heads, kv, head_dim=256, vocab=256000):
    return dict(num_hidden_layers=layers, hidden_size=hidden, intermediate_size=ffn, num_attention_heads=heads,
                num_key_value_heads=kv, head_dim=head_dim, vocab_size=vocab)  # fmt: skip


G2_2B, G2_9B = _side(26, 2304, 9216, 8, 4), _side(42, 3584, 14336, 16, 8)
T5_B = _side(12, 768, 2048, 12, 12, head_dim=64)


def _t5gemma(encoder: dict, decoder: dict):
    import transformers as tf

    with torch.device("meta"):
        return tf.T5GemmaForConditionalGeneration(tf.T5GemmaConfig(encoder=encoder, decoder=decoder))


def _variants(size: str) -> set[str]:
    return {f"google/t5gemma-{size}-{o}{it}" for o in ("prefixlm", "ul2") for it in ("", "-it")}


@pytest.mark.parametrize(
    "size, encoder, decoder", [("2b-2b", G2_2B, G2_2B), ("9b-2b", G2_9B, G2_2B), ("b-b", T5_B, T5_B)]
)
def test_a_t5gemma_checkpoint_names_its_size_s_four_releases(size, encoder, decoder, tmp_path):
    """9B-2B (a 9B encoder under a 2B decoder, whose cross-attention reads 3,584 wide) is no 2B-2B nor 9B-9B; the
    four releases of one size (PrefixLM, UL2, each instruction-tuned) share every shape."""
    report = inspect_built(_t5gemma(encoder, decoder), tmp_path)
    assert report["family"] == "t5gemma" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert {c["id"] for c in report["root"]["candidates"][:4]} == _variants(size), report["root"]["candidates"]
    assert report["base_model"]["id"] is None


@pytest.mark.parametrize("size, encoder, decoder", [("2b-2b", G2_2B, G2_2B), ("9b-2b", G2_9B, G2_2B)])
def test_a_lora_on_its_attention_is_t5gemma(size, encoder, decoder, tmp_path):
    """Whisper's and BART's names but for `cross_attn`: a 9B-2B LoRA (more encoder layers than decoder ones) was
    Whisper at 0.3 on a first draft, whose rules on those names did not list T5Gemma."""
    report = inspect_built(_t5gemma(encoder, decoder), tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "t5gemma" and report["family_confidence"] == 1.0
    assert report["root"]["id"] in _variants(size), report["root"]


def test_a_t5gemma_2_checkpoint_sets_its_siglip_tower_aside(tmp_path):
    """T5Gemma 2 270M-270M: no cross-attention, Gemma 3's query and key norms, and a SigLIP tower under the encoder,
    read as a tower (its layers are not sized against the encoder's)."""
    import transformers as tf

    side = _side(18, 640, 2048, 4, 1, vocab=262144)
    vision = dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                  image_size=896, patch_size=14, vision_use_head=False)  # fmt: skip
    config = tf.T5Gemma2Config(encoder=dict(text_config=side, vision_config=vision), decoder=side)
    with torch.device("meta"):
        model = tf.T5Gemma2ForConditionalGeneration(config)
    report = inspect_built(model, tmp_path)
    assert report["family"] == "t5gemma2" and report["root"]["id"] == "google/t5gemma-2-270m-270m", report["root"]
    assert any("vision or audio tower" in e for e in report["root"]["evidence"])


@pytest.mark.parametrize(
    "name, family",
    [("google/t5gemma-2b-2b-ul2", "t5gemma"), ("google/t5gemma-2-1b-1b", "t5gemma2"), ("google/gemma-2-2b", "gemma2")],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

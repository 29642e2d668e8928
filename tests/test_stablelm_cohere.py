"""StableLM (3B-4E1T, Stable Code 3B, StableLM 2 1.6B and 12B) and Cohere (Command R, R+, R7B, Aya 23 and Aya
Expanse): LLaMA's layer names at sizes of their own. Without a declaration, a LoRA on their attention often has a
LLaMA's sizes too (Aya 23 8B's are Llama 3 8B's and Mistral 7B's, StableLM-3B's Phi-2's), so it is named where its
metadata says so; a full checkpoint by its vocabulary (StableLM 2's 100,352 tokens, Cohere's 256,000) and widths.
Models are built by transformers on the meta device at the published sizes and written as header-only safetensors.

Before: a StableLM 2 fine-tune read Phi-1.5 (microsoft/phi-1_5 first), an Aya 23 8B Mistral at 0.5 with
Mistral-7B-v0.1 first, and an adapter declaring either had its base left unchecked, never written.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

STABLELM = {  # hidden, layers, heads, kv heads, intermediate, vocab, and the rest of the config
    "stabilityai/stablelm-3b-4e1t": (2560, 32, 32, 32, 6912, 50304, {}),
    "stabilityai/stablelm-2-1_6b": (2048, 24, 32, 32, 5632, 100352, {"use_qkv_bias": True}),
    "stabilityai/stablelm-2-12b": (
        5120,
        40,
        32,
        8,
        13824,
        100352,
        {"qk_layernorm": True, "use_parallel_residual": True},
    ),
}
COHERE = {
    "CohereLabs/aya-23-8B": (4096, 32, 32, 8, 14336, {}),
    "CohereLabs/c4ai-command-r-v01": (8192, 40, 64, 64, 22528, {}),
    "CohereLabs/c4ai-command-r-plus": (12288, 64, 96, 8, 33792, {"use_qk_norm": True}),
}
# roots with every shape of the one built (instruct and chat tunes, a model pretrained apart at the same sizes)
TIES = {
    "stabilityai/stablelm-3b-4e1t": {"stabilityai/stablelm-zephyr-3b", "stabilityai/stable-code-3b",
                                     "stabilityai/stable-code-instruct-3b"},
    "stabilityai/stablelm-2-1_6b": {"stabilityai/stablelm-2-1_6b-chat", "stabilityai/stablelm-2-zephyr-1_6b"},
    "stabilityai/stablelm-2-12b": {"stabilityai/stablelm-2-12b-chat"},
    "CohereLabs/aya-23-8B": {"CohereLabs/aya-expanse-8b", "CohereLabs/c4ai-command-r7b-12-2024"},
    "CohereLabs/c4ai-command-r-v01": {"CohereLabs/aya-23-35B"},
    "CohereLabs/c4ai-command-r-plus": set(),
}  # fmt: skip


def _stablelm(root: str, cls: str = "StableLmForCausalLM"):
    import transformers as tf

    hidden, layers, heads, kv, inner, vocab, extra = STABLELM[root]
    config = tf.StableLmConfig(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
        intermediate_size=inner, vocab_size=vocab, partial_rotary_factor=0.25, **extra,
    )  # fmt: skip
    with torch.device("meta"):
        return getattr(tf, cls)(config)


def _cohere(root: str, cls: str = "CohereForCausalLM", config_class: str = "CohereConfig"):
    import transformers as tf

    hidden, layers, heads, kv, inner, extra = COHERE[root]
    config = getattr(tf, config_class)(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
        intermediate_size=inner, vocab_size=256000, **extra,
    )  # fmt: skip
    with torch.device("meta"):
        return getattr(tf, cls)(config)


@pytest.mark.parametrize("root", sorted(STABLELM) + sorted(COHERE))
def test_a_full_checkpoint_is_named_by_its_vocabulary_and_widths(root, tmp_path):
    family = "stablelm" if root in STABLELM else "cohere"
    model = _stablelm(root) if family == "stablelm" else _cohere(root)
    report = inspect_built(model, tmp_path)
    assert report["family"] == family, report["root"]["evidence"]
    assert set(_ids(report)[: 1 + len(TIES[root])]) == {root} | TIES[root], _ids(report)
    assert not report["conflicts"]


@pytest.mark.parametrize(
    "root, declared",
    [
        ("stabilityai/stablelm-2-1_6b", "stabilityai/stablelm-2-1_6b"),
        ("stabilityai/stablelm-3b-4e1t", "stabilityai/stablelm-zephyr-3b"),
        ("stabilityai/stablelm-3b-4e1t", "stabilityai/stable-code-instruct-3b"),
        ("CohereLabs/aya-23-8B", "CohereForAI/aya-23-8B"),  # the id before Cohere For AI became Cohere Labs
        ("CohereLabs/aya-23-8B", "CohereLabs/c4ai-command-r7b-12-2024"),
        ("CohereLabs/c4ai-command-r-v01", "CohereForAI/c4ai-command-r-v01"),
    ],
)
def test_a_lora_on_attention_is_written_as_its_adapter_config_declares(root, declared, tmp_path):
    model = _stablelm(root) if root in STABLELM else _cohere(root)
    config = {"peft_type": "LORA", "base_model_name_or_path": declared}
    report = inspect_built(model, tmp_path, lora=["q_proj", "v_proj"], config=config)
    assert report["family"] == ("stablelm" if root in STABLELM else "cohere"), report["root"]["evidence"]
    assert report["base_model"]["id"] == declared and report["base_model"]["status"] == "declared"
    assert not report["conflicts"]


def test_a_declared_command_r_on_aya_8b_s_weights_is_a_conflict(tmp_path):
    config = {"peft_type": "LORA", "base_model_name_or_path": "CohereLabs/c4ai-command-r-v01"}
    report = inspect_built(_cohere("CohereLabs/aya-23-8B"), tmp_path, lora=["q_proj", "v_proj"], config=config)
    assert report["conflicts"] and report["base_model"]["id"] is None


@pytest.mark.parametrize(
    "model_type, family",
    [("stablelm_epoch", "stablelm"), ("stablelm", "stablelm"), ("cohere", "cohere"), ("cohere2", "cohere")],
)
def test_config_model_types_claim_their_family(model_type, family, tmp_path):
    """StableLM's first configs said `stablelm_epoch` (trust_remote_code); Command R7B's says `cohere2`."""
    if family == "stablelm":
        model, root = _stablelm("stabilityai/stablelm-2-1_6b"), "stabilityai/stablelm-2-1_6b"
    else:
        model, root = _cohere("CohereLabs/aya-23-8B"), "CohereLabs/aya-23-8B"
    report = inspect_built(model, tmp_path, config={"model_type": model_type})
    assert report["family"] == family and root in _ids(report)[:3] and not report["conflicts"]


def test_a_command_r7b_is_cohere_s(tmp_path):
    """transformers' Cohere2 saves Cohere's every name: its sliding-window layers add no weight."""
    model = _cohere("CohereLabs/aya-23-8B", "Cohere2ForCausalLM", "Cohere2Config")
    report = inspect_built(model, tmp_path, config={"model_type": "cohere2"})
    assert report["family"] == "cohere" and "CohereLabs/c4ai-command-r7b-12-2024" in _ids(report)


@pytest.mark.parametrize(
    "family, declared",
    [
        ("llama", "HuggingFaceTB/SmolLM2-1.7B"),
        ("mistral", "mistralai/Mistral-7B-v0.1"),
        ("llama", "meta-llama/Llama-3.1-8B"),
        ("phi", "microsoft/phi-2"),
    ],
)
def test_look_alikes_declared_stay_theirs(family, declared, tmp_path):
    """An adapter on attention of StableLM's or Aya's sizes declaring SmolLM2, Mistral, Llama 3 or Phi-2 is theirs."""
    import transformers as tf

    kw = {
        "HuggingFaceTB/SmolLM2-1.7B": ("LlamaForCausalLM", "LlamaConfig", dict(hidden_size=2048, num_hidden_layers=24,
                                       num_attention_heads=32, num_key_value_heads=32, intermediate_size=8192,
                                       vocab_size=49152)),
        "mistralai/Mistral-7B-v0.1": ("MistralForCausalLM", "MistralConfig", dict(hidden_size=4096,
                                      num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                                      intermediate_size=14336, vocab_size=32000)),
        "meta-llama/Llama-3.1-8B": ("LlamaForCausalLM", "LlamaConfig", dict(hidden_size=4096, num_hidden_layers=32,
                                    num_attention_heads=32, num_key_value_heads=8, intermediate_size=14336,
                                    vocab_size=128256)),
        "microsoft/phi-2": ("PhiForCausalLM", "PhiConfig", dict(hidden_size=2560, num_hidden_layers=32,
                            num_attention_heads=32, intermediate_size=10240, vocab_size=51200)),
    }[declared]  # fmt: skip
    with torch.device("meta"):
        model = getattr(tf, kw[0])(getattr(tf, kw[1])(**kw[2]))
    config = {"peft_type": "LORA", "base_model_name_or_path": declared}
    report = inspect_built(model, tmp_path, lora=["q_proj", "v_proj"], config=config)
    assert report["family"] == family and report["base_model"]["id"] == declared and not report["conflicts"]


def test_a_phi_2_lora_on_attention_stays_phi_first():
    """Phi-2's attention has StableLM-3B's every size; Phi-2, far the more fine-tuned, leads."""
    from transformers import AutoConfig, AutoModel

    from hfprobe.tree import classify
    from tests.model_shapes import LLM_CONFIGS, lora_like, module_shapes

    model_type, kwargs, root = LLM_CONFIGS["phi"]
    with torch.device("meta"):
        shapes = module_shapes(AutoModel.from_config(AutoConfig.for_model(model_type, **kwargs)))
    result = classify(lora_like(shapes, "q_proj", "v_proj", prefix="base_model.model."))
    ids = [c["id"] for c in result.candidates]
    assert result.family == "phi" and ids[0] == root and "stabilityai/stablelm-3b-4e1t" in ids


@pytest.mark.parametrize(
    "name, family",
    [
        ("someorg/stablelm-2-1_6b-sft", "stablelm"),
        ("stabilityai/japanese-stablelm-3b-4e1t-instruct", "stablelm"),
        ("stabilityai/stablelm-base-alpha-7b", "gpt_neox"),
        ("someorg/stable-code-3b-lora", "stablelm"),
        ("someorg/aya-expanse-8b-sft", "cohere"),
        ("CohereLabs/c4ai-command-a-03-2025", "cohere"),
        ("CohereForAI/aya-101", None),
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

"""Mixtures of experts with a dense family's attention: OLMoE (AI2), Granite 3.0's and 3.1's mixtures (IBM) as families
of their own, Qwen1.5-MoE-A2.7B and Qwen2-57B-A14B in Qwen2's (config.json `model_type: qwen2_moe`, as Qwen3-30B-A3B
is Qwen3's). Their experts are no role: the attention's sizes, the depth, the vocabulary and the names around the
experts (`block_sparse_moe.input_linear`, a norm on queries and keys) place them. Models are built by transformers
on the meta device at the published sizes and written as header-only files.

Before: OLMoE read OLMo 2 at 0.5 (and its name claimed no family), Granite's mixtures LLaMA at 0.5 with Granite 3's
names claiming the dense family, and a Qwen2-MoE config.json named an architecture the registry lacks.

Stop 81 adds FlexOlmo (AI2: OLMo 2 7B's attention and norms, experts each an OLMo 2 7B MLP; before: OLMo 2 at 0.5, its
2x7B pairs OLMo 2 7B's) and dots.llm1 (Qwen3's attention over DeepSeek-V3's mixture; its default config builds nothing
in transformers, so the sweep never read it).
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built, meta_causal_lm, meta_model

torch.set_num_threads(1)


def _olmoe():
    import transformers as tf

    return meta_causal_lm(
        tf.OlmoeConfig(
            hidden_size=2048, num_hidden_layers=16, num_attention_heads=16, num_key_value_heads=16,
            intermediate_size=1024, num_experts=64, num_experts_per_tok=8, vocab_size=50304,
        )
    )  # fmt: skip


def _granitemoe(size: str, vocab: int):
    import transformers as tf

    hidden, layers, heads, experts = {"1b": (1024, 24, 16, 32), "3b": (1536, 32, 24, 40)}[size]
    return meta_causal_lm(
        tf.GraniteMoeConfig(
            hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=8,
            intermediate_size=512, num_local_experts=experts, num_experts_per_tok=8, vocab_size=vocab,
            tie_word_embeddings=True,
        )
    )  # fmt: skip


def _qwen2_moe(size: str):
    import transformers as tf

    sizes = {
        "A2.7B": dict(hidden_size=2048, num_hidden_layers=24, num_attention_heads=16, num_key_value_heads=16,
                      moe_intermediate_size=1408, shared_expert_intermediate_size=5632, num_experts=60),
        "57B": dict(hidden_size=3584, num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                    moe_intermediate_size=2560, shared_expert_intermediate_size=20480, num_experts=64),
    }[size]  # fmt: skip
    return meta_causal_lm(tf.Qwen2MoeConfig(vocab_size=151936, **sizes))


def test_an_olmoe_checkpoint_is_olmoe_s(tmp_path):
    report = inspect_built(_olmoe(), tmp_path)
    assert report["family"] == "olmoe" and report["family_confidence"] >= 0.9, report["root"]["evidence"]
    assert all(i.startswith("allenai/OLMoE-1B-7B-") for i in _ids(report)[:4]), _ids(report)  # (OLMo 2 1B's
    # attention next: its vocabulary is not OLMoE's)
    assert report["base_model"]["id"] is None  # (0924 and 0125, and their instruct models, share every shape)


def test_a_declared_olmoe_adapter_is_written(tmp_path):
    config = {"peft_type": "LORA", "base_model_name_or_path": "allenai/OLMoE-1B-7B-0924-Instruct"}
    report = inspect_built(_olmoe(), tmp_path, lora=("q_proj", "v_proj"), config=config)
    assert report["family"] == "olmoe" and report["base_model"]["id"] == "allenai/OLMoE-1B-7B-0924-Instruct"


@pytest.mark.parametrize(("size", "vocab"), [("1b", 49155), ("3b", 49152)])
def test_a_granite_mixture_is_its_size_and_its_vocabulary_says_which_release(size, vocab, tmp_path):
    report = inspect_built(_granitemoe(size, vocab), tmp_path)
    assert report["family"] == "granitemoe" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    named = "-a400m-" if size == "1b" else "-a800m-"
    top = [i for i in _ids(report) if report["root"]["candidates"][0]["score"] == _score(report, i)]
    assert top and all(named in i and i.endswith("instruct" if vocab == 49155 else "base") for i in top), top
    assert report["base_model"]["id"] is None  # (3.0 and 3.1 share every shape)


def _score(report: dict, root: str) -> float:
    return next(c["score"] for c in report["root"]["candidates"] if c["id"] == root)


def test_granite_3_s_dense_model_stays_granite(tmp_path):
    import transformers as tf

    config = tf.GraniteConfig(
        hidden_size=2048, num_hidden_layers=40, num_attention_heads=32, num_key_value_heads=8,
        intermediate_size=8192, vocab_size=49155, tie_word_embeddings=True,
    )  # fmt: skip
    assert inspect_built(meta_causal_lm(config), tmp_path)["family"] == "granite"


@pytest.mark.parametrize("size", ["A2.7B", "57B"])
def test_a_qwen2_moe_is_qwen2_s_with_its_root_among_the_candidates(size, tmp_path):
    # its attention is a dense Qwen's (Qwen1.5-1.8B's, Qwen2-7B's): the weights alone write no root
    report = inspect_built(_qwen2_moe(size), tmp_path)
    assert report["family"] == "qwen2", report["root"]["evidence"]
    root = "Qwen/Qwen1.5-MoE-A2.7B" if size == "A2.7B" else "Qwen/Qwen2-57B-A14B"
    assert root in _ids(report) and report["base_model"]["id"] is None


def test_a_qwen2_moe_config_names_its_family_and_its_root(tmp_path):
    config = {"model_type": "qwen2_moe", "_name_or_path": "Qwen/Qwen1.5-MoE-A2.7B-Chat"}
    report = inspect_built(_qwen2_moe("A2.7B"), tmp_path, config=config)
    assert report["family"] == "qwen2" and report["base_model"]["id"] == "Qwen/Qwen1.5-MoE-A2.7B-Chat"
    assert not report["conflicts"]


def test_names_claim_their_architecture():
    assert resolve_name("someone/OLMoE-1B-7B-0924-Instruct-dpo")[1] == "olmoe"
    assert resolve_name("allenai/Molmo-7B-D-0924")[1] is None
    assert resolve_name("someone/granite-3.1-3b-a800m-instruct-sft")[1] == "granitemoe"
    assert resolve_name("someone/granite-3.1-8b-instruct-sft")[1] == "granite"
    assert resolve_name("someone/Qwen1.5-MoE-A2.7B-sft")[1] == "qwen2"


def _flex_olmo(experts: int):
    import transformers as tf

    return meta_causal_lm(
        tf.FlexOlmoConfig(
            hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
            intermediate_size=11008, num_experts=experts, num_experts_per_tok=experts, vocab_size=100352,
            pad_token_id=1, eos_token_id=100257,
        )
    )  # fmt: skip


def _dots1():
    import transformers as tf

    return meta_causal_lm(
        tf.Dots1Config(
            hidden_size=4096, num_hidden_layers=62, num_attention_heads=32, num_key_value_heads=32, head_dim=128,
            intermediate_size=10944, moe_intermediate_size=1408, n_routed_experts=128, n_shared_experts=2,
            num_experts_per_tok=6, first_k_dense_replace=1, vocab_size=152064, tie_word_embeddings=False,
        )
    )  # fmt: skip


@pytest.mark.parametrize("experts, ids", [(7, {"allenai/FlexOlmo-7x7B-1T", "allenai/FlexOlmo-7x7B-1T-RT"}), (2, None)])
def test_a_flexolmo_checkpoint_is_flexolmo_s_by_its_experts(experts, ids, tmp_path):
    # OLMo 2 7B's every other name and size: its router and experts make it FlexOlmo's, their count its model
    report = inspect_built(_flex_olmo(experts), tmp_path)
    assert report["family"] == "flex_olmo" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    pairs = {f"allenai/Flex-{d}-2x7B-1T" for d in ("math", "news", "pes2o", "code", "creative", "reddit")}
    got = set(_ids(report))
    assert got == ids if ids else (got <= pairs and len(got) == 5), got  # (five candidates are listed)


def test_a_lora_on_flexolmo_s_attention_alone_names_no_base(tmp_path):
    # its attention is OLMo 2 7B's and Llama 2 7B's every size (and FlexOlmo's priors are low): nothing written
    report = inspect_built(_flex_olmo(7), tmp_path, lora=("q_proj", "v_proj"))
    assert report["base_model"]["id"] is None and report["family_confidence"] < 0.9, _ids(report)


@pytest.mark.parametrize(
    "lora", [(), ("q_proj", "v_proj", "gate_proj", "up_proj", "down_proj")], ids=["checkpoint", "lora"]
)
def test_dots_llm1_is_dots_s(lora, tmp_path):
    # Qwen3's names over DeepSeek-V3's mixture (GLM-4.5's layout): its widths and 62 layers are its own
    report = inspect_built(_dots1(), tmp_path, lora=lora)
    assert report["family"] == "dots1" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)[:2]) == {"rednote-hilab/dots.llm1.base", "rednote-hilab/dots.llm1.inst"}


@pytest.mark.parametrize(
    "name, family",
    [
        ("allenai/FlexOlmo-7x7B-1T-RT", "flex_olmo"),
        ("allenai/Flex-reddit-2x7B-1T", "flex_olmo"),
        ("allenai/Flex-public-7B-1T", None),  # (OLMo 2's, its type says; its name claims no family)
        ("rednote-hilab/dots.llm1.inst", "dots1"),
    ],
)
def test_stop_81_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


def test_a_lora_on_llama_2_7b_s_mlp_is_no_flexolmo(tmp_path):
    # FlexOlmo's attention is Llama 2 7B's every size, but its MLPs are experts: a dense `mlp.gate_proj` rules it out
    report = inspect_built(meta_model("llama"), tmp_path, lora=("q_proj", "v_proj", "gate_proj", "up_proj"))
    assert report["family"] == "llama" and not any("FlexOlmo" in i for i in _ids(report)), _ids(report)

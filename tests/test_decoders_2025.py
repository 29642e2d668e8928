"""Decoders of 2025 on LLaMA's names: Seed-OSS (ByteDance; biases on q, k, v, 80 heads on a 5,120 width), AFM-4.5B
(Arcee; an MLP of two projections, no gate), Trinity (Arcee's mixtures, `afmoe`: an output gate on attention, four
norms a layer), Apertus (Swiss AI; norms of its own names, an ungated MLP through xIELU, whose weights each layer
holds) and Hunyuan (Tencent; dense 0.5B to 7B and the A13B mixture, a norm on each head's queries and keys). Models
are built by transformers on the meta device at the published sizes and written as header-only files.

Before: Seed-OSS read LLaMA at 0.3, AFM Phi at 0.5, Trinity GLM-4.5 at 0.3, Apertus Qwen3 at 0.3, Hunyuan's configs
named architectures the registry lacks.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built, meta_causal_lm, meta_model

torch.set_num_threads(1)

HUNYUAN = {  # hidden, layers, heads, kv heads, MLP, vocabulary (heads of 128, embeddings tied)
    "0.5B": (1024, 24, 16, 8, 3584, 120818),
    "1.8B": (2048, 32, 16, 4, 6144, 120818),
    "4B": (3072, 36, 32, 8, 8192, 120818),
    "7B": (4096, 32, 32, 8, 14336, 128167),
}


def _seed_oss():
    import transformers as tf

    return meta_causal_lm(
        tf.SeedOssConfig(
            hidden_size=5120, num_hidden_layers=64, num_attention_heads=80, num_key_value_heads=8, head_dim=128,
            intermediate_size=27648, vocab_size=155136, tie_word_embeddings=False,
        )
    )  # fmt: skip


def _afm():
    import transformers as tf

    return meta_causal_lm(
        tf.ArceeConfig(
            hidden_size=2560, num_hidden_layers=36, num_attention_heads=20, num_key_value_heads=4, head_dim=128,
            intermediate_size=18432, vocab_size=128004, tie_word_embeddings=False, bos_token_id=None,
            eos_token_id=None,
        )
    )  # fmt: skip


def _trinity_mini():
    import transformers as tf

    return meta_causal_lm(
        tf.AfmoeConfig(
            hidden_size=2048, num_hidden_layers=32, num_dense_layers=2, num_attention_heads=32, num_key_value_heads=4,
            head_dim=128, intermediate_size=6144, moe_intermediate_size=1024, num_experts=128, num_experts_per_tok=8,
            num_shared_experts=1, vocab_size=200192, tie_word_embeddings=False,
        )
    )  # fmt: skip


def _apertus_8b():
    import transformers as tf

    return meta_causal_lm(
        tf.ApertusConfig(
            hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
            intermediate_size=21504, vocab_size=131072, max_position_embeddings=65536, tie_word_embeddings=False,
        )
    )  # fmt: skip


def _hunyuan(size: str):
    import transformers as tf

    if size == "A13B":
        return meta_causal_lm(
            tf.HunYuanMoEV1Config(
                hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                intermediate_size=3072, num_experts=64, moe_topk=8, vocab_size=128167, tie_word_embeddings=True,
            )
        )  # fmt: skip
    hidden, layers, heads, kv, ffn, vocab = HUNYUAN[size]
    return meta_causal_lm(
        tf.HunYuanDenseV1Config(
            hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
            head_dim=128, intermediate_size=ffn, vocab_size=vocab, tie_word_embeddings=True,
        )
    )  # fmt: skip


@pytest.mark.parametrize("lora", [(), ("q_proj", "v_proj")], ids=["checkpoint", "lora"])
def test_seed_oss_is_seed_oss_by_its_attention_s_width(lora, tmp_path):
    # 80 heads of 128 on 5,120: no other root's queries are twice its width at 64 layers
    report = inspect_built(_seed_oss(), tmp_path, lora=lora)
    assert report["family"] == "seed_oss" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert all(i.startswith("ByteDance-Seed/Seed-OSS-36B-") for i in _ids(report)), _ids(report)
    assert report["base_model"]["id"] is None  # (its bases and its instruct model share every shape)


@pytest.mark.parametrize("lora", [(), ("q_proj", "v_proj", "up_proj")], ids=["checkpoint", "lora"])
def test_afm_is_afm_s(lora, tmp_path):
    report = inspect_built(_afm(), tmp_path, lora=lora)
    assert report["family"] == "arcee" and report["family_confidence"] >= 0.9, report["root"]["evidence"]
    assert _ids(report)[0] == "arcee-ai/AFM-4.5B" and all("AFM-4.5B" in i for i in _ids(report)), _ids(report)


def test_a_trinity_checkpoint_is_its_size(tmp_path):
    report = inspect_built(_trinity_mini(), tmp_path)
    assert report["family"] == "afmoe" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {"arcee-ai/Trinity-Mini", "arcee-ai/Trinity-Mini-Base"}


def test_a_lora_on_trinity_s_gated_attention_is_trinity_s(tmp_path):
    # `self_attn.gate_proj`, beside q and v: Trinity's own
    report = inspect_built(_trinity_mini(), tmp_path, lora=("q_proj", "v_proj", "gate_proj"), saved=False)
    assert report["family"] == "afmoe" and _ids(report)[:2] == ["arcee-ai/Trinity-Mini", "arcee-ai/Trinity-Mini-Base"]


def test_an_apertus_checkpoint_is_apertus_s(tmp_path):
    report = inspect_built(_apertus_8b(), tmp_path)
    assert report["family"] == "apertus" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {"swiss-ai/Apertus-8B-2509", "swiss-ai/Apertus-8B-Instruct-2509"}


def test_a_lora_on_apertus_s_attention_ties_llama_3_8b_and_its_mlp_does_not(tmp_path):
    # its attention is LLaMA 3 8B's every size; its MLP (21,504 wide, no gate) is its own
    report = inspect_built(_apertus_8b(), tmp_path, lora=("q_proj", "v_proj"))
    assert report["base_model"]["id"] is None and report["family_confidence"] < 0.5, report["root"]["evidence"]
    report = inspect_built(_apertus_8b(), tmp_path, lora=("q_proj", "v_proj", "up_proj", "down_proj"))
    assert report["family"] == "apertus" and all(i.startswith("swiss-ai/Apertus-8B") for i in _ids(report))


@pytest.mark.parametrize("size", [*sorted(HUNYUAN), "A13B"])
def test_a_hunyuan_checkpoint_is_its_size(size, tmp_path):
    report = inspect_built(_hunyuan(size), tmp_path)
    family = "hunyuan_v1_moe" if size == "A13B" else "hunyuan_v1_dense"
    assert report["family"] == family and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)[:2]) == {f"tencent/Hunyuan-{size}-Pretrain", f"tencent/Hunyuan-{size}-Instruct"}


def test_a_lora_on_hunyuan_0_5b_is_hunyuan_s(tmp_path):
    # 16 query heads of 128 on a 1024 width: Hunyuan's 0.5B, whose key and value heads are Qwen3-0.6B's
    report = inspect_built(_hunyuan("0.5B"), tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "hunyuan_v1_dense", report["root"]["evidence"]
    assert set(_ids(report)[:2]) == {"tencent/Hunyuan-0.5B-Pretrain", "tencent/Hunyuan-0.5B-Instruct"}


def test_a_declared_hunyuan_mt_fine_tune_is_written(tmp_path):
    config = {"model_type": "hunyuan_v1_dense", "_name_or_path": "tencent/Hunyuan-MT-7B"}
    report = inspect_built(_hunyuan("7B"), tmp_path, config=config)
    assert report["base_model"]["id"] == "tencent/Hunyuan-MT-7B" and not report["conflicts"]


@pytest.mark.parametrize(
    "name, family",
    [
        ("ByteDance-Seed/Seed-OSS-36B-Instruct", "seed_oss"),
        ("someone/AFM-4.5B-sft", "arcee"),
        ("arcee-ai/Trinity-Nano-Preview", "afmoe"),
        ("swiss-ai/Apertus-70B-Instruct-2509", "apertus"),
        ("tencent/Hunyuan-A13B-Instruct", "hunyuan_v1_moe"),
        ("tencent/Hunyuan-MT-Chimera-7B", "hunyuan_v1_dense"),
        ("tencent/HunyuanVideo", "hunyuan_video"),
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


def test_glm_4_stays_chatglm_s(tmp_path):
    # GLM-4's `post_mlp_layernorm` is Trinity's name too: Trinity's rule leaves it out (GLM-4 read Trinity at 0.3)
    model = meta_model("glm4")
    assert inspect_built(model, tmp_path)["family"] == "chatglm"


@pytest.mark.parametrize("lora", [(), ("q_proj", "v_proj")], ids=["checkpoint", "lora"])
def test_voxtral_s_language_model_is_voxtral_s_not_hunyuan_s(lora, tmp_path):
    # Hunyuan-4B's every width in 30 layers, not 36: a full checkpoint holds no `query_layernorm` (it read Hunyuan
    # at 0.5 in a first draft, and a LoRA did until Voxtral Mini's language model was a root)
    model = meta_model("voxtral")
    report = inspect_built(model, tmp_path, lora=lora)
    assert report["family"] == "llama" and _ids(report)[0] == "mistralai/Voxtral-Mini-3B-2507", _ids(report)

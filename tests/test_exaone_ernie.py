"""EXAONE 3.x and 4.0 (LG AI Research) and ERNIE 4.5 (Baidu; the dense 0.3B and the 21B and 300B mixtures).
EXAONE 3's checkpoints keep its remote code's names (GPT-Neo's attention, `mlp.c_fc_0`), which transformers 5
loads into LLaMA's; EXAONE 4.0 has OLMo 2's norms and a per-head query and key norm; ERNIE 4.5 has LLaMA's names, its
mixtures an expert-bias statistic per layer (`mlp.moe_statics`). Models are built by transformers on the meta device
at the published sizes and written as header-only files.

Before: EXAONE 3 read GPT-Neo at 0.3, EXAONE 4.0 Gemma 3 at 0.3, ERNIE 4.5 LLaMA at 0.3 and its mixtures GLM-4.5
at 0.3, each with no root.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built, meta_causal_lm

torch.set_num_threads(1)

EXAONE3 = {  # hidden, layers, heads, kv heads, MLP, tied
    "2.4B": (2560, 30, 32, 8, 7168, True),
    "7.8B": (4096, 32, 32, 8, 14336, False),
}
EXAONE4 = {  # hidden, layers, heads, kv heads, head width, MLP, tied, sliding window
    "LGAI-EXAONE/EXAONE-4.0-1.2B": (2048, 30, 32, 8, 64, 4096, True, None),
    "LGAI-EXAONE/EXAONE-4.0-32B": (5120, 64, 40, 8, 128, 27392, False, 4096),
}


def _exaone3(size: str):
    import transformers as tf

    hidden, layers, heads, kv, ffn, tied = EXAONE3[size]
    return meta_causal_lm(
        tf.ExaoneConfig(
            hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
            intermediate_size=ffn, vocab_size=102400, tie_word_embeddings=tied,
        )
    )  # fmt: skip


def _exaone4(root: str):
    import transformers as tf

    hidden, layers, heads, kv, head, ffn, tied, window = EXAONE4[root]
    hybrid = dict(sliding_window=window, sliding_window_pattern=4) if window else {}
    return meta_causal_lm(
        tf.Exaone4Config(
            hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
            head_dim=head, intermediate_size=ffn, vocab_size=102400, tie_word_embeddings=tied, **hybrid,
        )
    )  # fmt: skip


def _ernie(kind: str):
    import transformers as tf

    common = dict(vocab_size=103424, head_dim=128)
    if kind == "0.3B":
        return meta_causal_lm(
            tf.Ernie4_5Config(
                hidden_size=1024, num_hidden_layers=18, num_attention_heads=16, num_key_value_heads=2,
                intermediate_size=3072, tie_word_embeddings=True, **common,
            )
        )  # fmt: skip
    if kind == "21B":
        sizes = dict(hidden_size=2560, num_hidden_layers=28, num_attention_heads=20, num_key_value_heads=4,
                     intermediate_size=12288, moe_intermediate_size=1536, moe_num_shared_experts=2,
                     moe_layer_start_index=1, tie_word_embeddings=True)  # fmt: skip
    else:
        sizes = dict(hidden_size=8192, num_hidden_layers=54, num_attention_heads=64, num_key_value_heads=8,
                     intermediate_size=28672, moe_intermediate_size=3584, moe_num_shared_experts=0,
                     moe_layer_start_index=3, moe_k=8)  # fmt: skip
    return meta_causal_lm(tf.Ernie4_5_MoeConfig(moe_num_experts=64, **sizes, **common))


def test_an_exaone_3_checkpoint_is_exaone_s(tmp_path):
    # EXAONE 3.5-2.4B and EXAONE Deep-2.4B share every shape: both, and neither written
    report = inspect_built(_exaone3("2.4B"), tmp_path)
    assert report["family"] == "exaone" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {"LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct", "LGAI-EXAONE/EXAONE-Deep-2.4B"}
    assert report["base_model"]["id"] is None


def test_a_declared_exaone_3_fine_tune_is_written(tmp_path):
    config = {"model_type": "exaone", "_name_or_path": "LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct"}
    report = inspect_built(_exaone3("2.4B"), tmp_path, config=config)
    assert report["base_model"]["id"] == "LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct" and not report["conflicts"]


@pytest.mark.parametrize("saved", [True, False], ids=["its-names", "transformers5"])
def test_a_lora_on_exaone_3_s_attention_is_exaone_s(saved, tmp_path):
    # under its own code's names (GPT-Neo's attention) or LLaMA's: grouped-query values no GPT-Neo has
    report = inspect_built(_exaone3("7.8B"), tmp_path, lora=("q_proj", "v_proj"), saved=saved)
    ids = _ids(report)
    assert "LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct" in ids and report["base_model"]["id"] is None
    if saved:
        assert report["family"] == "exaone" and report["family_confidence"] == 1.0, report["root"]["evidence"]


def test_gpt_neo_stays_gpt_neo(tmp_path):
    import transformers as tf

    with torch.device("meta"):
        model = tf.GPTNeoForCausalLM(tf.GPTNeoConfig(hidden_size=2048, num_layers=24, num_heads=16))
    assert inspect_built(model, tmp_path)["family"] == "gpt_neo"


@pytest.mark.parametrize("root", sorted(EXAONE4))
def test_an_exaone_4_checkpoint_is_its_root(root, tmp_path):
    # the 32B has EXAONE 3.5-32B's widths: 4.0's norms and names tell them apart
    report = inspect_built(_exaone4(root), tmp_path)
    assert report["family"] == "exaone4" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report) == [root] and report["base_model"]["id"] == root


def test_a_lora_on_exaone_4_s_attention_names_it_among_its_look_alikes(tmp_path):
    # Gemma 3n E2B's attention has EXAONE-4.0-1.2B's every size: no root written
    report = inspect_built(_exaone4("LGAI-EXAONE/EXAONE-4.0-1.2B"), tmp_path, lora=("q_proj", "v_proj"))
    assert "LGAI-EXAONE/EXAONE-4.0-1.2B" in _ids(report) and report["base_model"]["id"] is None


def test_ernie_4_5_s_dense_model_is_its_pair(tmp_path):
    report = inspect_built(_ernie("0.3B"), tmp_path)
    assert report["family"] == "ernie4_5" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {"baidu/ERNIE-4.5-0.3B-PT", "baidu/ERNIE-4.5-0.3B-Base-PT"}
    config = {"peft_type": "LORA", "base_model_name_or_path": "baidu/ERNIE-4.5-0.3B-PT"}
    (tmp_path / "lora").mkdir()
    lora = inspect_built(_ernie("0.3B"), tmp_path / "lora", lora=("q_proj", "v_proj"), config=config)
    assert lora["family"] == "ernie4_5" and lora["base_model"]["id"] == "baidu/ERNIE-4.5-0.3B-PT"


@pytest.mark.parametrize("size", ["21B", "300B"])
def test_an_ernie_4_5_mixture_is_its_size(size, tmp_path):
    report = inspect_built(_ernie(size), tmp_path)
    assert report["family"] == "ernie4_5_moe" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    name = "21B-A3B" if size == "21B" else "300B-A47B"
    assert set(_ids(report)) == {f"baidu/ERNIE-4.5-{name}-PT", f"baidu/ERNIE-4.5-{name}-Base-PT"}


def test_a_lora_on_ernie_4_5_21b_s_attention_names_it_first(tmp_path):
    report = inspect_built(_ernie("21B"), tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "ernie4_5_moe" and report["base_model"]["id"] is None
    assert set(_ids(report)[:2]) == {"baidu/ERNIE-4.5-21B-A3B-PT", "baidu/ERNIE-4.5-21B-A3B-Base-PT"}


def test_names_claim_their_architecture():
    assert resolve_name("someone/EXAONE-3.5-7.8B-Instruct-ko-sft")[1] == "exaone"
    assert resolve_name("someone/exaone-4.0-1.2b-lora")[1] == "exaone4"
    assert resolve_name("someone/ERNIE-4.5-21B-A3B-PT-sft")[1] == "ernie4_5_moe"
    assert resolve_name("someone/ernie-4.5-0.3b-finetuned")[1] == "ernie4_5"


@pytest.mark.parametrize("model_type", ["xglm", "biogpt", "qwen2_audio_encoder"])
def test_bart_style_layers_are_no_exaone_s(model_type, tmp_path):
    # `layers.N.self_attn.q_proj` beside `fc1` and `self_attn.out_proj`: an encoder or decoder of BART's names, which
    # a first draft read as EXAONE's (LLaMA's names, transformers 5's) by sizes alone
    import transformers as tf

    with torch.device("meta"):
        model = tf.AutoModel.from_config(tf.CONFIG_MAPPING[model_type]())
    assert inspect_built(model, tmp_path)["family"] != "exaone"


def test_paddleocr_vl_s_decoder_is_ernie_4_5_s():
    from hfprobe.tree.declared import model_type_family

    assert model_type_family("paddleocr_vl") == "ernie4_5"

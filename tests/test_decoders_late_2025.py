"""Decoders the registry lacked until stop 81, each built by transformers on the meta device at its published size
and written as a header-only file (a checkpoint, or a PEFT LoRA on some of its modules):

- on DeepSeek's latent attention names: GLM-4.7-Flash (`glm4_moe_lite`) and MiniCPM3-4B;
- Qwen3-Next (Qwen3.5's forerunner: its linear attention's projections fused, `in_proj_qkvz`, `in_proj_ba`);
- MiniMax-M2 (Mixtral's expert names, a router bias, norms over all the queries) and MiniMax-01 (lightning attention:
  `self_attn.qkv_proj`, `output_gate`);
- on LLaMA's names, told by their sizes or a norm of their own: InternLM3, Helium, BitNet b1.58 (`attn_sub_norm`)
  and Nemotron's Minitron (an MLP of two projections).

Before: GLM-4.7-Flash and MiniCPM3 read DeepSeek-V3 at 0.3, Qwen3-Next no family (its name: an architecture the
registry lacks), MiniMax-M2 Mixtral at 0.3, MiniMax-01 LFM2 at 0.3, Helium Phi-2 at 0.5, BitNet LLaMA at 0.3.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built, meta_causal_lm, meta_model, saved_shapes

torch.set_num_threads(1)


def _ruled_out(label: str, report: dict) -> bool:
    """Whether the report's evidence names `label` (a family's label) among those its keys rule out."""
    return any(e.startswith("names: ") and label in e and ("which no " in e or "which every full " in e)
               for e in report["root"]["evidence"])  # fmt: skip


def _glm47_flash():
    import transformers as tf

    return meta_causal_lm(
        tf.Glm4MoeLiteConfig(
            hidden_size=2048, num_hidden_layers=47, num_attention_heads=20, num_key_value_heads=20,
            q_lora_rank=768, kv_lora_rank=512, qk_nope_head_dim=192, qk_rope_head_dim=64, v_head_dim=256,
            intermediate_size=10240, moe_intermediate_size=1536, n_routed_experts=64, n_shared_experts=1,
            num_experts_per_tok=4, mlp_layer_types=["dense"] + ["sparse"] * 46, vocab_size=154880,
            tie_word_embeddings=False,
        )
    )  # fmt: skip


def _minicpm3():
    import transformers as tf

    return meta_causal_lm(
        tf.MiniCPM3Config(
            hidden_size=2560, num_hidden_layers=62, num_attention_heads=40, num_key_value_heads=40,
            q_lora_rank=768, kv_lora_rank=256, qk_nope_head_dim=64, qk_rope_head_dim=32, v_head_dim=64,
            intermediate_size=6400, vocab_size=73448, tie_word_embeddings=True,
        )
    )  # fmt: skip


def _qwen3_next(layers: int = 48):
    import transformers as tf

    return meta_causal_lm(
        tf.Qwen3NextConfig(
            hidden_size=2048, num_hidden_layers=layers, num_attention_heads=16, num_key_value_heads=2, head_dim=256,
            linear_num_key_heads=16, linear_num_value_heads=32, linear_key_head_dim=128, linear_value_head_dim=128,
            num_experts=512, num_experts_per_tok=10, moe_intermediate_size=512, shared_expert_intermediate_size=512,
            intermediate_size=5120, vocab_size=151936, tie_word_embeddings=False,
        )
    )  # fmt: skip


def _minimax_m2(layers: int = 62):
    import transformers as tf

    return meta_causal_lm(
        tf.MiniMaxM2Config(
            hidden_size=3072, num_hidden_layers=layers, num_attention_heads=48, num_key_value_heads=8, head_dim=128,
            intermediate_size=1536, num_local_experts=256, num_experts_per_tok=8, vocab_size=200064,
            tie_word_embeddings=False, bos_token_id=None, eos_token_id=None, pad_token_id=None,
        )
    )  # fmt: skip


def _minimax_01():
    import transformers as tf

    return meta_causal_lm(
        tf.MiniMaxConfig(
            hidden_size=6144, num_hidden_layers=80, num_attention_heads=64, num_key_value_heads=8, head_dim=128,
            intermediate_size=9216, num_local_experts=32, num_experts_per_tok=2, vocab_size=200064,
            layer_types=(["linear_attention"] * 7 + ["full_attention"]) * 10, tie_word_embeddings=False,
        )
    )  # fmt: skip


def _llama_like(kind: str):
    import transformers as tf

    if kind == "internlm3":
        config = tf.InternLM3Config(
            hidden_size=4096, num_hidden_layers=48, num_attention_heads=32, num_key_value_heads=2, head_dim=128,
            intermediate_size=10240, vocab_size=128512, tie_word_embeddings=False,
        )  # fmt: skip
    elif kind == "helium":
        config = tf.HeliumConfig(
            hidden_size=2560, num_hidden_layers=24, num_attention_heads=20, num_key_value_heads=20, head_dim=128,
            intermediate_size=7040, vocab_size=48000, tie_word_embeddings=False,
        )  # fmt: skip
    elif kind == "bitnet":
        config = tf.BitNetConfig(
            hidden_size=2560, num_hidden_layers=30, num_attention_heads=20, num_key_value_heads=5,
            intermediate_size=6912, vocab_size=128256, tie_word_embeddings=True,
        )  # fmt: skip
    else:  # Minitron 4B (Nemotron-Mini-4B-Instruct) and 8B
        wide = kind == "minitron-8b"
        config = tf.NemotronConfig(
            hidden_size=4096 if wide else 3072, num_hidden_layers=32, num_attention_heads=48 if wide else 24,
            num_key_value_heads=8, head_dim=128, intermediate_size=16384 if wide else 9216, vocab_size=256000,
            tie_word_embeddings=False,
        )  # fmt: skip
    return meta_causal_lm(config)


@pytest.mark.parametrize("lora", [(), ("q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj")],
                         ids=["checkpoint", "lora"])  # fmt: skip
def test_glm_4_7_flash_is_its_own_on_deepseek_s_names(lora, tmp_path):
    # DeepSeek-V3's names, every tensor; its heads' widths (keys of 192 + 64, values of 256) are no DeepSeek's
    report = inspect_built(_glm47_flash(), tmp_path, lora=lora)
    assert report["family"] == "glm4_moe_lite" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report) == ["zai-org/GLM-4.7-Flash"] and report["base_model"]["id"] == "zai-org/GLM-4.7-Flash"


@pytest.mark.parametrize("lora", [(), ("q_b_proj", "kv_b_proj")], ids=["checkpoint", "lora"])
def test_minicpm3_is_minicpm3_s(lora, tmp_path):
    report = inspect_built(_minicpm3(), tmp_path, lora=lora)
    assert report["family"] == "minicpm3" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report) == ["openbmb/MiniCPM3-4B"]


def test_a_deepseek_v2_lite_checkpoint_stays_deepseek_s(tmp_path):
    # GLM-4.7-Flash and MiniCPM3 share DeepSeek's names (`same_as`): DeepSeek-V2-Lite's sizes are its own still
    model = meta_model(
        "deepseek_v2", hidden_size=2048, num_hidden_layers=27, num_attention_heads=16, num_key_value_heads=16,
        q_lora_rank=None, kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
        intermediate_size=10944, moe_intermediate_size=1408, n_routed_experts=64, n_shared_experts=2,
        first_k_dense_replace=1, vocab_size=102400,
    )  # fmt: skip
    report = inspect_built(model, tmp_path)
    assert report["family"] == "deepseek_v3" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {"deepseek-ai/DeepSeek-V2-Lite", "deepseek-ai/DeepSeek-V2-Lite-Chat"}, _ids(report)


def test_a_qwen3_next_checkpoint_is_qwen3_next_s(tmp_path):
    report = inspect_built(_qwen3_next(), tmp_path)
    assert report["family"] == "qwen3_next" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {
        "Qwen/Qwen3-Next-80B-A3B-Instruct", "Qwen/Qwen3-Next-80B-A3B-Thinking", "Qwen/Qwen3-Coder-Next"
    }  # fmt: skip


@pytest.mark.parametrize("targets", [("in_proj_qkvz", "in_proj_ba"), ("q_proj", "v_proj")])
def test_a_lora_on_qwen3_next_is_qwen3_next_s(targets, tmp_path):
    # its fused linear attention is its own name; its full attention's widths in 48 layers are no Qwen3.5's
    report = inspect_built(_qwen3_next(), tmp_path, lora=targets)
    assert report["family"] == "qwen3_next", report["root"]["evidence"]
    assert _ids(report)[0].startswith("Qwen/Qwen3-Next-80B-A3B-"), _ids(report)


def test_a_qwen3_next_lora_on_too_few_layers_names_no_base(tmp_path):
    # attention in a layer Qwen3-Next has none in (its 6th layer of 8 here is linear): no root of its fits
    report = inspect_built(_qwen3_next(layers=6), tmp_path, lora=("q_proj", "in_proj_qkvz"))
    assert report["family"] == "qwen3_next" and report["base_model"]["id"] is None


def test_a_minimax_m2_checkpoint_is_minimax_m2_s(tmp_path):
    report = inspect_built(_minimax_m2(), tmp_path)
    assert report["family"] == "minimax_m2" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {f"MiniMaxAI/MiniMax-{v}" for v in ("M2", "M2.1", "M2.5", "M2.7")}


def test_a_lora_on_minimax_m2_s_attention_is_minimax_m2_s(tmp_path):
    # 48 query heads of 128 on a 3,072 width, 62 layers: no other root's
    report = inspect_built(_minimax_m2(), tmp_path, lora=("q_proj", "k_proj", "v_proj", "o_proj"))
    assert report["family"] == "minimax_m2" and report["family_confidence"] == 1.0, report["root"]["evidence"]


def test_a_mixtral_checkpoint_is_no_minimax_m2(tmp_path):
    # Mixtral's names without the router bias: a full MiniMax-M2 checkpoint has it
    report = inspect_built(meta_model("mixtral", num_hidden_layers=2, num_local_experts=4), tmp_path)
    assert report["family"] != "minimax_m2" and _ruled_out("MiniMax-M2", report), report["root"]["evidence"]


@pytest.mark.parametrize("lora", [(), ("qkv_proj", "output_gate", "out_proj")], ids=["checkpoint", "lora"])
def test_minimax_01_is_minimax_s(lora, tmp_path):
    report = inspect_built(_minimax_01(), tmp_path, lora=lora)
    assert report["family"] == "minimax" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {"MiniMaxAI/MiniMax-Text-01-hf", "MiniMaxAI/MiniMax-M1-80k", "MiniMaxAI/MiniMax-M1-40k"}


def test_minimax_01_in_few_layers_is_minimax_s(tmp_path):
    # transformers' default alternates softmax and lightning layers: as many LLaMA-named keys as lightning ones, so
    # the decoder rule must list MiniMax-01 too (it read LFM2 at 0.3 when the rule left it out)
    report = inspect_built(meta_model("minimax", num_hidden_layers=4, num_local_experts=4), tmp_path)
    assert report["family"] == "minimax", report["root"]["evidence"]


@pytest.mark.parametrize(
    "kind, family, root",
    [
        ("internlm3", "internlm3", "internlm/internlm3-8b-instruct"),
        ("helium", "helium", "kyutai/helium-1-preview-2b"),
        ("bitnet", "bitnet", "microsoft/bitnet-b1.58-2B-4T"),
        ("minitron-4b", "nemotron", "nvidia/Minitron-4B-Base"),
        ("minitron-8b", "nemotron", "nvidia/Minitron-8B-Base"),
    ],
)
@pytest.mark.parametrize("lora", [(), ("q_proj", "v_proj", "up_proj", "down_proj")], ids=["checkpoint", "lora"])
def test_llama_named_decoders_are_their_own(kind, family, root, lora, tmp_path):
    # (a LoRA on Helium's 24 layers may be one on some of Phi-2's 32, whose widths are its own: 0.83)
    report = inspect_built(_llama_like(kind), tmp_path, lora=lora)
    assert report["family"] == family and report["family_confidence"] >= 0.8, report["root"]["evidence"]
    assert root in _ids(report)[:2], _ids(report)


def test_a_llama_checkpoint_is_no_bitnet_nor_nemotron(tmp_path):
    # BitNet's every full checkpoint holds its sub-norms; Nemotron's MLP has no gate
    model = meta_model("llama", hidden_size=2560, intermediate_size=6912, num_hidden_layers=2,
                       num_attention_heads=20, num_key_value_heads=5, vocab_size=128256)  # fmt: skip
    report = inspect_built(model, tmp_path)
    assert report["family"] == "llama", report["root"]["evidence"]
    assert _ruled_out("BitNet b1.58", report) and _ruled_out("Nemotron (Minitron)", report), report["root"]["evidence"]


def test_bitnet_s_packed_weights_read_at_their_size(tmp_path):
    # the main repo's ternary weights, four to a byte along the rows (uint8 [out/4, in]) beside `weight_scale`
    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    tensors = {}
    for key, shape in saved_shapes(_llama_like("bitnet")).items():
        module = key.removesuffix(".weight")
        if len(shape) == 2 and module.rsplit(".", 1)[-1].endswith("proj"):
            tensors[key] = ("U8", (shape[0] // 4, shape[1]))
            tensors[f"{module}.weight_scale"] = ("BF16", (1,))
        else:
            tensors[key] = ("BF16", shape)
    write_header(tmp_path / "model.safetensors", tensors, data=False)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "bitnet" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report) == ["microsoft/bitnet-b1.58-2B-4T"]  # (its `-bf16` repo the same weights unpacked)


def _cwm():
    import transformers as tf

    return meta_causal_lm(
        tf.CwmConfig(
            hidden_size=6144, num_hidden_layers=64, num_attention_heads=48, num_key_value_heads=8, head_dim=128,
            intermediate_size=21504, vocab_size=128256, tie_word_embeddings=False,
        )
    )  # fmt: skip


@pytest.mark.parametrize("lora", [(), ("q_proj", "v_proj")], ids=["checkpoint", "lora"])
def test_cwm_is_cwm_s(lora, tmp_path):
    # Meta's Code World Model: LLaMA's names; Codestral 22B's and Mixtral 8x22B's attention widths in 64 layers, not 56
    report = inspect_built(_cwm(), tmp_path, lora=lora)
    assert report["family"] == "cwm" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert set(_ids(report)) == {"facebook/cwm", "facebook/cwm-sft", "facebook/cwm-pretrain"}


@pytest.mark.parametrize(
    "name, family",
    [
        ("facebook/cwm", "cwm"),
        ("zai-org/GLM-4.7-Flash", "glm4_moe_lite"),
        ("someone/GLM-4.7-Flash-abliterated", "glm4_moe_lite"),
        ("openbmb/MiniCPM3-4B", "minicpm3"),
        ("Qwen/Qwen3-Next-80B-A3B-Instruct", "qwen3_next"),
        ("Qwen/Qwen3-Coder-Next-FP8", "qwen3_next"),
        ("MiniMaxAI/MiniMax-M2.5", "minimax_m2"),
        ("MiniMaxAI/MiniMax-M1-80k", "minimax"),
        ("internlm/internlm3-8b-instruct", "internlm3"),
        ("kyutai/helium-1-preview-2b", "helium"),
        ("microsoft/bitnet-b1.58-2B-4T", "bitnet"),
        ("nvidia/Nemotron-Mini-4B-Instruct", "nemotron"),
        ("nvidia/Llama-3.1-Minitron-4B-Width-Base", "llama"),  # (LLaMA 3.1 pruned: no Nemotron)
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family


@pytest.mark.parametrize(
    "prose, family",
    [
        ("A LoRA of GLM-4.7-Flash for tool calls", "glm4_moe_lite"),
        ("MiniMax-M2.5, fine-tuned on agent traces", "minimax_m2"),
        ("Distilled from MiniCPM3 4B", "minicpm3"),
        ("An InternLM3 adapter", "internlm3"),
        ("BitNet b1.58 2B4T, tuned", "bitnet"),
        ("A Nemotron-Mini-4B QLoRA", "nemotron"),
        ("RecurrentGemma 2B on poems", "recurrent_gemma"),
        ("Zamba2 instruct, tuned", "zamba2"),
        ("Code World Model, SFT on traces", "cwm"),
        ("A FlexOlmo adapter", "flex_olmo"),
        ("dots.llm1 inst, tuned", "dots1"),
        ("Pruned like Llama-3.1-Minitron-4B", None),  # LLaMA 3.1's, no Nemotron's
    ],
)
def test_a_readme_s_prose_names_the_family(prose, family):
    from hfprobe.tree.declared import declared_claims

    mentions = declared_claims(texts={"README.md": prose})[0].get("README.md mentions") or {}
    assert (family in mentions) if family else "nemotron" not in mentions, mentions

"""GPT-BigCode (SantaCoder, StarCoder, StarCoderBase 1B to 15B) and MPT (MosaicML's 7B and 30B): 2023's code and
chat bases. GPT-BigCode has GPT-2's every name (`transformer.h.N.attn.c_attn`) but Linear layers and multi-query
attention, so `c_attn` is hidden + 2 x 128 wide where GPT-2's is 3 x hidden; MPT names of its own
(`transformer.blocks.N.attn.Wqkv`, `ffn.up_proj`, `transformer.norm_f`). Models are built by transformers on the meta
device at the published sizes and written as header-only safetensors files.

Before: a StarCoder fine-tune was GPT-2 at 0.3 with no root; an MPT GPT-2 at 0.3 (its one `transformer.wte`), its LoRA
no family.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

STARCODER = {  # n_embd, n_layer, n_head, n_inner, n_positions, vocab_size
    "bigcode/starcoderbase-1b": (2048, 24, 16, 8192, 8192, 49152),
    "bigcode/starcoderbase-3b": (2816, 36, 22, 11264, 8192, 49152),
    "bigcode/starcoderbase-7b": (4096, 42, 32, 16384, 8192, 49152),
    "bigcode/tiny_starcoder_py": (768, 20, 12, 3072, 8192, 49152),
    "bigcode/gpt_bigcode-santacoder": (2048, 24, 16, 8192, 2048, 49280),
    "bigcode/starcoder": (6144, 40, 48, 24576, 8192, 49152),
}
MPT = {"mosaicml/mpt-7b": (4096, 32, 32), "mosaicml/mpt-30b": (7168, 48, 64)}  # d_model, n_layers, n_heads


def _bigcode(root: str, cls: str = "GPTBigCodeForCausalLM", **kw):
    import transformers as tf

    d, layers, heads, inner, positions, vocab = STARCODER[root]
    config = tf.GPTBigCodeConfig(
        n_embd=d, n_layer=layers, n_head=heads, n_inner=inner, n_positions=positions, vocab_size=vocab,
        multi_query=True, bos_token_id=0, eos_token_id=0, **kw,
    )  # fmt: skip
    with torch.device("meta"):
        return getattr(tf, cls)(config)


def _mpt(root: str, cls: str = "MptForCausalLM"):
    import transformers as tf

    d, layers, heads = MPT[root]
    with torch.device("meta"):
        return getattr(tf, cls)(tf.MptConfig(d_model=d, n_layers=layers, n_heads=heads, vocab_size=50432))


@pytest.mark.parametrize("root", sorted(STARCODER))
def test_a_starcoder_checkpoint_is_gpt_bigcode_and_names_its_size(root, tmp_path):
    report = inspect_built(_bigcode(root), tmp_path)
    assert report["family"] == "gpt_bigcode" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    if root == "bigcode/starcoder":  # StarCoderBase and its further training on Python (and StarCoderPlus) tie
        assert set(_ids(report)) == {"bigcode/starcoder", "bigcode/starcoderbase", "bigcode/starcoderplus"}
        assert report["base_model"]["id"] is None
    else:  # SantaCoder and StarCoderBase-1B share their blocks, not their positions nor vocabulary
        assert _ids(report)[0] == root and report["base_model"]["id"] == root


@pytest.mark.parametrize("lora", [["c_attn"], ["c_attn", "c_proj", "c_fc"]])
def test_a_starcoder_lora_is_gpt_bigcode_not_gpt2(lora, tmp_path):
    report = inspect_built(_bigcode("bigcode/starcoderbase-3b"), tmp_path, lora=lora)
    assert report["family"] == "gpt_bigcode" and _ids(report) == ["bigcode/starcoderbase-3b"]
    assert not report["conflicts"]


def test_a_declared_starcoder_is_written_and_a_wizardcoder_leads_to_it(tmp_path):
    config = {"peft_type": "LORA", "base_model_name_or_path": "bigcode/starcoder"}
    report = inspect_built(_bigcode("bigcode/starcoder"), tmp_path / "a", lora=["c_attn"], config=config)
    assert report["base_model"]["id"] == "bigcode/starcoder" and report["base_model"]["status"] == "declared"
    assert not report["conflicts"]
    wizard = {"peft_type": "LORA", "base_model_name_or_path": "WizardLMTeam/WizardCoder-15B-V1.0"}
    report = inspect_built(_bigcode("bigcode/starcoder"), tmp_path / "b", lora=["c_attn"], config=wizard)
    assert report["root"]["id"] == "bigcode/starcoder" and not report["conflicts"]


@pytest.mark.parametrize(
    "built, lora, declared",
    [
        (lambda: _bigcode("bigcode/starcoderbase-1b"), "c_attn", "bigcode/starcoder"),  # its c_attn: 6400 x 6144
        (lambda: _mpt("mosaicml/mpt-7b"), "Wqkv", "mosaicml/mpt-30b"),
    ],
)
def test_a_size_the_weights_rule_out_is_a_conflict_not_a_base_model(built, lora, declared, tmp_path):
    config = {"peft_type": "LORA", "base_model_name_or_path": declared}
    report = inspect_built(built(), tmp_path, lora=[lora], config=config)
    assert report["conflicts"] and report["base_model"]["id"] != declared


@pytest.mark.parametrize(
    "kind, root",
    [("checkpoint", "openai-community/gpt2"), ("checkpoint", "openai-community/gpt2-medium"),
     ("lora", "openai-community/gpt2"), ("lora", "openai-community/gpt2-large")],
)  # fmt: skip
def test_gpt2_is_no_gpt_bigcode(kind, root, tmp_path):
    """GPT-2's Conv1D holds [in, out] and its c_attn is 3 x hidden: no GPT-BigCode root fits either."""
    import transformers as tf

    sizes = {"openai-community/gpt2": (768, 12), "openai-community/gpt2-medium": (1024, 24),
             "openai-community/gpt2-large": (1280, 36)}  # fmt: skip
    d, layers = sizes[root]
    with torch.device("meta"):
        model = tf.GPT2LMHeadModel(tf.GPT2Config(n_embd=d, n_layer=layers, n_head=d // 64))
    report = inspect_built(model, tmp_path, lora=["c_attn"] if kind == "lora" else ())
    assert report["family"] == "gpt2" and _ids(report)[0] == root, report["root"]["evidence"]


@pytest.mark.parametrize("root", sorted(MPT))
@pytest.mark.parametrize("kind", ["checkpoint", "lora"])
def test_an_mpt_is_named_by_its_own_layer_names(root, kind, tmp_path):
    report = inspect_built(_mpt(root), tmp_path, lora=["Wqkv", "out_proj"] if kind == "lora" else ())
    assert report["family"] == "mpt" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report)[0] == root and not report["conflicts"]
    assert report["base_model"]["id"] is None  # its instruct and chat models have its every shape


def test_a_declared_mpt_instruct_is_written(tmp_path):
    config = {"peft_type": "LORA", "base_model_name_or_path": "mosaicml/mpt-7b-instruct"}
    report = inspect_built(_mpt("mosaicml/mpt-7b"), tmp_path, lora=["Wqkv"], config=config)
    assert report["base_model"]["id"] == "mosaicml/mpt-7b-instruct" and not report["conflicts"]
    assert report["root"]["tree"]["id"] == "mosaicml/mpt-7b"


@pytest.mark.parametrize(
    "name, family",
    [
        ("someorg/starcoderbase-1b-sft", "gpt_bigcode"),
        ("bigcode/santacoder", "gpt_bigcode"),
        ("HuggingFaceH4/starchat-beta", "gpt_bigcode"),
        ("someorg/starcoder2-3b-lora", "starcoder2"),
        ("HuggingFaceH4/starchat2-15b-v0.1", "starcoder2"),
        ("someorg/mpt-7b-storysummarizer", "mpt"),
        ("someorg/prompt-tuned-gpt2", "gpt2"),
    ],
)
def test_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

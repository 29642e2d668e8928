"""PEFT's prompt-learning adapters (prompt tuning, P-tuning, prefix tuning; LLaMA-Adapter's below) hold one
table, `prompt_embeddings`, [virtual tokens, width]: the width is the model's hidden size, or for prefix tuning
2 x layers x its key-value width. No name places the family; the declared base does, and the width can rule it
out. Before, each was family unknown with no base_model, whatever adapter_config.json declared. Saved by peft itself
on models built on the meta device at the published sizes (vocabularies cut: the table does not depend on them).
"""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from hfprobe.tree.inspect import inspect_source

peft = pytest.importorskip("peft")
tf = pytest.importorskip("transformers")
torch.set_num_threads(1)


def _gpt2():  # openai-community/gpt2's sizes: 12 layers of 768
    with torch.device("meta"):
        model = tf.GPT2LMHeadModel(tf.GPT2Config(vocab_size=64, n_positions=32))
    return model.to_empty(device="cpu")


def _qwen25_05b():  # Qwen/Qwen2.5-0.5B's: 24 layers of 896, 2 key-value heads of 64 (grouped)
    config = tf.Qwen2Config(
        hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2, intermediate_size=64,
        vocab_size=64,
    )  # fmt: skip
    with torch.device("meta"):
        model = tf.Qwen2ForCausalLM(config)
    return model.to_empty(device="cpu")


CONFIGS = {
    "prompt": lambda: peft.PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=8),
    "p-tuning": lambda: peft.PromptEncoderConfig(task_type="CAUSAL_LM", num_virtual_tokens=8, encoder_hidden_size=64),
    "prefix": lambda: peft.PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=8),
}


def _save(model, kind: str, folder, declared: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peft.get_peft_model(model, CONFIGS[kind]()).save_pretrained(str(folder))
    config = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": declared}))
    return inspect_source(str(folder))


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_a_prompt_learning_adapter_is_of_the_model_it_declares_where_its_width_fits(kind, tmp_path):
    report = _save(_gpt2(), kind, tmp_path / "ok", "gpt2")
    assert report["family"] == "gpt2" and report["root"]["id"] == "openai-community/gpt2"
    assert report["base_model"]["id"] == "gpt2" and not report["conflicts"]
    assert report["family_confidence"] <= 0.5  # the width alone fits other families: the declaration picked it
    wrong = _save(_gpt2(), kind, tmp_path / "wrong", "gpt2-medium")  # 24 layers of 1024: ruled out
    assert wrong["base_model"]["id"] is None
    assert any("gpt2-medium" in c and "prompt_embeddings" in c for c in wrong["conflicts"])


def test_prefix_tuning_on_grouped_key_value_heads_is_sized_by_them(tmp_path):
    """peft sizes a prefix by the key-value heads where the model groups them: 2 x 24 x 128, not 2 x 24 x 896."""
    report = _save(_qwen25_05b(), "prefix", tmp_path, "Qwen/Qwen2.5-0.5B")
    assert report["modules"] == 1
    assert report["family"] == "qwen2" and report["base_model"]["id"] == "Qwen/Qwen2.5-0.5B", report["base_model"]
    assert not report["conflicts"]


def test_p_tuning_for_classification_keeps_its_head(tmp_path):
    """PEFT's P-tuning guide: roberta-large for sequence classification. The head it trains is saved whole beside
    the prompt (`base_model.classifier.…`, no `.model.`): before, every tensor of it was read as a prompt table."""
    config = tf.RobertaConfig(
        hidden_size=1024, num_hidden_layers=2, num_attention_heads=16, intermediate_size=64, vocab_size=64, num_labels=3
    )  # roberta-large's width (P-tuning's table is [tokens, hidden]: the depth does not size it)
    with torch.device("meta"):
        model = tf.RobertaForSequenceClassification(config)
    model = model.to_empty(device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adapter = peft.PromptEncoderConfig(task_type="SEQ_CLS", num_virtual_tokens=20, encoder_hidden_size=128)
        peft.get_peft_model(model, adapter).save_pretrained(str(tmp_path))
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    (tmp_path / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": "roberta-large"}))
    report = inspect_source(str(tmp_path))
    assert report["family"] == "roberta" and report["base_model"]["id"] == "roberta-large" and not report["conflicts"]
    head = {k: v for k, v in report["head"].items() if k != "label_sets"}  # (three-way text sets: a hint)
    assert head == {"module": "classifier.out_proj", "outputs": 3, "task": "SEQ_CLS", "labels": None}


def test_llama_adapter_s_gated_prompts_are_of_the_model_they_declare(tmp_path):
    """PEFT's ADAPTION_PROMPT (LLaMA-Adapter): [1, adapter length, hidden] in each adapted attention layer, and a
    gate. Before: "recognised as peft but no module could be read" (exit 2)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adapter = peft.AdaptionPromptConfig(task_type="CAUSAL_LM", adapter_len=10, adapter_layers=2)
        peft.get_peft_model(_gpt2(), adapter).save_pretrained(str(tmp_path))
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    for declared, fits in (("gpt2", True), ("gpt2-medium", False)):
        (tmp_path / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": declared}))
        report = inspect_source(str(tmp_path))
        assert report["format"] == "peft" and report["modules"] == 2 and report["family"] == "gpt2"
        assert (report["base_model"]["id"] == declared) is fits and bool(report["conflicts"]) is not fits

"""Sentence encoders people fine-tune most: EmbeddingGemma (Gemma 3's layers attending both ways, a root of its own
sizes) and Qwen3's Embedding and Reranker models (Qwen3's base models' shapes, derivatives of them as their cards'
`base_model` says). Models are built by transformers on the meta device at the published sizes and saved as
sentence-transformers saves them (the encoder at the top, its Dense modules in `2_Dense/`, `3_Dense/`).

Before: a fine-tuned EmbeddingGemma was Gemma 3's family with no root (no Gemma 3 is 768 wide), its declared
`google/embeddinggemma-300m` "not in the registry"; `Qwen/Qwen3-Embedding-0.6B` was Qwen3's family, no root."""

from __future__ import annotations

import json

import pytest

from hfprobe.tree.inspect import inspect_source
from hfprobe.tree.naming import resolve_name
from tests.builders import write_header
from tests.model_shapes import built_shapes, lora_like

EMBEDDINGGEMMA = dict(  # google/embeddinggemma-300m's config.json
    hidden_size=768, intermediate_size=1152, num_hidden_layers=24, num_attention_heads=3, num_key_value_heads=1,
    head_dim=256, vocab_size=262144, use_bidirectional_attention=True,
)  # fmt: skip


def _sentence_transformers(folder, shapes: dict, config: dict | None = None) -> dict:
    """A sentence-transformers model folder: the encoder's weights at the top, two Dense modules beside it."""
    write_header(folder / "model.safetensors", {f"{k}.weight": ("BF16", s) for k, s in shapes.items()}, data=False)
    write_header(folder / "2_Dense" / "model.safetensors", {"linear.weight": ("F32", (3072, 768))}, data=False)
    write_header(folder / "3_Dense" / "model.safetensors", {"linear.weight": ("F32", (768, 3072))}, data=False)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
        {"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    return inspect_source(str(folder))


def test_a_fine_tuned_embeddinggemma_names_its_root(tmp_path):
    shapes = built_shapes("gemma3_text", **EMBEDDINGGEMMA)
    report = _sentence_transformers(tmp_path / "bare", shapes)
    assert report["family"] == "gemma3" and report["root"]["id"] == "google/embeddinggemma-300m", report["root"]
    assert report["base_model"]["id"] == "google/embeddinggemma-300m"  # the only root of its shapes
    config = {"model_type": "gemma3_text", "_name_or_path": "google/embeddinggemma-300m"}
    declared = _sentence_transformers(tmp_path / "declared", shapes, config)
    assert declared["base_model"]["id"] == "google/embeddinggemma-300m" and not declared["conflicts"]


def test_an_adapter_on_embeddinggemma_names_its_root(tmp_path):
    lora = lora_like(built_shapes("gemma3_text", **EMBEDDINGGEMMA), "q_proj", "v_proj", prefix="base_model.model.")
    tensors = {}
    for module, (o, i) in lora.items():
        tensors[f"{module}.lora_A.weight"] = ("F32", (8, i))
        tensors[f"{module}.lora_B.weight"] = ("F32", (o, 8))
    write_header(tmp_path / "adapter_model.safetensors", tensors, data=False)
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8, "lora_alpha": 16}))
    report = inspect_source(str(tmp_path))
    assert report["family"] == "gemma3" and report["root"]["id"] == "google/embeddinggemma-300m", report["root"]


@pytest.mark.parametrize(
    "name, root",
    [
        ("Qwen/Qwen3-Embedding-0.6B", "Qwen/Qwen3-0.6B-Base"),
        ("Qwen/Qwen3-Embedding-8B", "Qwen/Qwen3-8B-Base"),
        ("Qwen/Qwen3-Reranker-4B", "Qwen/Qwen3-4B-Base"),
        ("google/embeddinggemma-300m", "google/embeddinggemma-300m"),
    ],
)
def test_names_resolve(name, root):
    family = "gemma3" if "gemma" in name else "qwen3"
    assert resolve_name(name) == (root, family)


def test_a_qwen3_embedding_fine_tune_is_checked_against_its_base(tmp_path):
    """Qwen3-Embedding-0.6B: Qwen3-0.6B's layers, its vocabulary cut to 151,669 (a soft size); declared, it is
    written as declared and checked as its base's derivative: its tree is Qwen3-0.6B-Base's (it was its own, at
    0.54, "not in the registry")."""
    shapes = built_shapes(
        "qwen3", hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
        num_key_value_heads=8, head_dim=128, vocab_size=151669,
    )  # fmt: skip
    config = {"model_type": "qwen3", "_name_or_path": "Qwen/Qwen3-Embedding-0.6B"}
    report = _sentence_transformers(tmp_path, shapes, config)
    assert report["family"] == "qwen3" and report["base_model"]["id"] == "Qwen/Qwen3-Embedding-0.6B", report
    assert report["base_model"]["root"] == "Qwen/Qwen3-0.6B-Base" and not report["conflicts"]  # (was: none)
    assert report["root"]["tree"]["id"] == "Qwen/Qwen3-0.6B-Base" and report["root"]["tree"]["confidence"] >= 0.9

"""Nomic BERT (`nomic_bert`): Nomic Embed v1, v1.5 and v2-MoE and the embedding models fine-tuned from them, the
sentence encoders most retrieval fine-tunes on the Hub start from. Before, a Nomic Embed checkpoint read as SigLIP at
0.5 (its `encoder.layers.N.mlp.fc2`), a classifier fine-tune as BERT, and none named a root."""

from __future__ import annotations

import pytest

from tests.model_shapes import inspect_built, inspect_shapes, meta_model

V15 = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, vocab_size=30528)
V1 = {"nomic-ai/nomic-embed-text-v1.5", "nomic-ai/nomic-embed-text-v1", "nomic-ai/nomic-embed-text-v1-unsupervised",
      "nomic-ai/nomic-bert-2048", "Snowflake/snowflake-arctic-embed-m-long", "nomic-ai/CodeRankEmbed"}  # fmt: skip


def _v1_names(prefix: str = "") -> dict:
    """Nomic Embed v1.5's tensors as its Hub file names them (Nomic's code; transformers 5 writes the same)."""
    hidden, ffn = 768, 3072
    out = {f"{prefix}embeddings.word_embeddings.weight": (30528, hidden), f"{prefix}emb_ln.weight": (hidden,)}
    out[f"{prefix}embeddings.token_type_embeddings.weight"] = (2, hidden)
    for i in range(12):
        b = f"{prefix}encoder.layers.{i}."
        out |= {b + "attn.Wqkv.weight": (3 * hidden, hidden), b + "attn.out_proj.weight": (hidden, hidden)}
        out |= {b + "mlp.fc11.weight": (ffn, hidden), b + "mlp.fc12.weight": (ffn, hidden)}
        out |= {b + "mlp.fc2.weight": (hidden, ffn), b + "norm1.weight": (hidden,), b + "norm2.weight": (hidden,)}
    return out


def test_a_nomic_embed_checkpoint_is_nomic_bert_and_its_roots_look_alike(tmp_path):
    report = inspect_shapes(tmp_path, _v1_names())
    assert report["family"] == "nomic_bert" and report["family_confidence"] >= 0.9
    ids = {c["id"] for c in report["root"]["candidates"]}
    assert report["root"]["id"] in V1 and ids <= V1 | {"nomic-ai/nomic-embed-text-v2-moe"}
    assert report["base_model"]["id"] is None  # v1 and v1.5 share every size: only metadata names one


@pytest.mark.parametrize("prefix", ["bert.", "nomic_bert."])
def test_a_classifier_fine_tune_under_either_prefix_is_nomic_bert(tmp_path, prefix):
    """Nomic's own classifier saves under `bert.` (a BERT model prefix: BERT's rule), transformers 5's under
    `nomic_bert.`."""
    shapes = _v1_names(prefix) | {"classifier.weight": (2, 768), "classifier.bias": (2,)}
    report = inspect_shapes(tmp_path, shapes)
    assert report["family"] == "nomic_bert" and report["root"]["id"] in V1, report["root"]


def test_transformers_nomic_bert_saves_the_hub_names_and_reads_as_nomic_bert(tmp_path):
    """transformers 5.25 holds LLaMA's names (`self_attn.q_proj`) and writes Nomic's back: the file read is Nomic's."""
    model = meta_model("nomic_bert", **V15)
    report = inspect_built(model, tmp_path)
    assert report["family"] == "nomic_bert" and report["root"]["id"] in V1, report["root"]


def test_a_lora_on_the_fused_attention_and_gated_mlp_is_nomic_bert(tmp_path):
    report = inspect_built(meta_model("nomic_bert", **V15), tmp_path, lora=("Wqkv", "fc11", "fc12"))
    assert report["family"] == "nomic_bert" and report["root"]["id"] in V1, report["root"]


def test_nomic_embed_v2_moe_is_told_from_v1_by_its_experts_and_vocabulary(tmp_path):
    hidden, ffn = 768, 3072
    shapes = {"embeddings.word_embeddings.weight": (250048, hidden), "emb_ln.weight": (hidden,)}
    for i in range(12):
        b = f"encoder.layers.{i}."
        shapes |= {b + "attn.Wqkv.weight": (3 * hidden, hidden), b + "attn.out_proj.weight": (hidden, hidden)}
        if i % 2:
            shapes |= {b + "mlp.router.layer.weight": (8, hidden), b + "mlp.experts.bias": (hidden,)}
            shapes |= {b + "mlp.experts.mlp.w1": (8 * ffn, hidden), b + "mlp.experts.mlp.w2": (8 * ffn, hidden)}
        else:
            shapes |= {b + "mlp.fc1.weight": (ffn, hidden), b + "mlp.fc2.weight": (hidden, ffn)}
    report = inspect_shapes(tmp_path, shapes)
    assert report["family"] == "nomic_bert" and report["root"]["id"] == "nomic-ai/nomic-embed-text-v2-moe"
    assert report["base_model"]["id"] == "nomic-ai/nomic-embed-text-v2-moe", report["base_model"]


def test_modernbert_and_bert_do_not_read_as_nomic_bert(tmp_path):
    report = inspect_built(meta_model("modernbert"), tmp_path / "m")
    assert report["family"] == "modernbert"
    (tmp_path / "b").mkdir()
    report = inspect_built(meta_model("bert"), tmp_path / "b")
    assert report["family"] == "bert"


def test_beside_its_config_json_its_saved_names_are_read(tmp_path):
    """transformers 5 renames Nomic's saved names to LLaMA's in memory (`attn.out_proj` is `self_attn.o_proj`,
    `mlp.fc11` `mlp.up_proj`): read so beside its config.json (`model_type: nomic_bert`), the file was LLaMA at 0.3
    with a conflict on a first draft; its files are read under their saved names (`formats.SAVED_NAMES`)."""
    import json

    model = meta_model("nomic_bert", **V15)
    report = inspect_built(model, tmp_path, config=json.loads(model.config.to_json_string(use_diff=False)))
    assert report["family"] == "nomic_bert" and report["family_confidence"] == 1.0 and not report["conflicts"]

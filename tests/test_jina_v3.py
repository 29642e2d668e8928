"""jina-embeddings-v3 (`jina_embeddings_v3`): XLM-RoBERTa-large in FlashAttention's BERT names, with five task LoRAs
built into every layer as torch parametrizations. Before, its Hub file was refused ("LoRA A … has shape [5, 250002, 4],
expected [r, in]: the file is corrupt"), its weights read as a loralib adapter's."""

from __future__ import annotations

import torch

from tests.builders import write_header
from tests.model_shapes import inspect_built, meta_model

torch.set_num_threads(1)

H, FFN, VOCAB, TASKS, R = 1024, 4096, 250002, 5, 4


def _hub_file(path, layers: int = 24) -> None:
    """jina-embeddings-v3's model.safetensors as Jina's code (XLMRobertaLoRA) saves it: each Linear and Embedding
    parametrized, its weight `….parametrizations.weight.original`, its task adapters `….weight.0.lora_A` [5, r, in]."""
    t = {}

    def layer(name, out, inp, bias=True):
        t[f"{name}.parametrizations.weight.original"] = ("BF16", (out, inp))
        t[f"{name}.parametrizations.weight.0.lora_A"] = ("BF16", (TASKS, R, inp))
        t[f"{name}.parametrizations.weight.0.lora_B"] = ("BF16", (TASKS, out, R))
        if bias:
            t[f"{name}.bias"] = ("BF16", (out,))

    t["roberta.embeddings.word_embeddings.parametrizations.weight.original"] = ("BF16", (VOCAB, H))
    t["roberta.embeddings.word_embeddings.parametrizations.weight.0.lora_A"] = ("BF16", (TASKS, VOCAB, R))
    t["roberta.embeddings.word_embeddings.parametrizations.weight.0.lora_B"] = ("BF16", (TASKS, R, H))
    t["roberta.emb_ln.weight"] = ("BF16", (H,))
    for i in range(layers):
        b = f"roberta.encoder.layers.{i}."
        layer(b + "mixer.Wqkv", 3 * H, H)
        layer(b + "mixer.out_proj", H, H)
        layer(b + "mlp.fc1", FFN, H)
        layer(b + "mlp.fc2", H, FFN)
        t |= {b + "norm1.weight": ("BF16", (H,)), b + "norm2.weight": ("BF16", (H,))}
    layer("roberta.pooler.dense", H, H)
    write_header(path / "model.safetensors", t, data=False)


def test_its_hub_file_is_read_as_the_model_its_task_adapters_said(tmp_path):
    from hfprobe.tree.inspect import inspect_source

    _hub_file(tmp_path)
    report = inspect_source(str(tmp_path))
    assert report["format"] == "transformers-checkpoint" and report["family"] == "jina_embeddings_v3"
    assert report["family_confidence"] == 1.0 and report["root"]["id"] == "jinaai/jina-embeddings-v3", report["root"]
    assert report["base_model"]["id"] == "jinaai/jina-embeddings-v3"
    assert any("5 task adapters built into 98 layers" in n for n in report["notes"]), report["notes"]


def test_transformers_conversion_reads_alike(tmp_path):
    """transformers 5.25's JinaEmbeddingsV3Model writes the base weights back in Jina's names, without `roberta.`."""
    model = meta_model("jina_embeddings_v3", hidden_size=H, num_hidden_layers=24, num_attention_heads=16,
                       intermediate_size=FFN, vocab_size=VOCAB)  # fmt: skip
    report = inspect_built(model, tmp_path)
    assert report["family"] == "jina_embeddings_v3" and report["root"]["id"] == "jinaai/jina-embeddings-v3"


def test_xlm_roberta_large_stays_roberta(tmp_path):
    large = dict(hidden_size=H, num_hidden_layers=24, num_attention_heads=16, intermediate_size=FFN, vocab_size=VOCAB)
    report = inspect_built(meta_model("xlm-roberta", **large, max_position_embeddings=514), tmp_path)
    assert report["family"] == "roberta" and report["root"]["id"] in ("FacebookAI/xlm-roberta-large", "BAAI/bge-m3")

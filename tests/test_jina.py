"""Jina AI's embedding models. jina-embeddings-v3 (`jina_embeddings_v3`): XLM-RoBERTa-large in FlashAttention's BERT
names, with five task LoRAs built into every layer as torch parametrizations; before, its Hub file was refused ("LoRA A
… has shape [5, 250002, 4], expected [r, in]: the file is corrupt"), its weights read as a loralib adapter's.
jina-embeddings-v2 (JinaBERT, `jina_bert`): BERT's attention beside a GEGLU MLP of its own names; before, BERT at 0.5.
Both say another architecture's `model_type` (`xlm-roberta`, `bert`) beside their remote code's class, which names
them (families.json `remote_code`): no conflict with their own config.json."""

from __future__ import annotations

import json

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


def test_its_config_json_names_it_by_its_remote_code_class_not_its_model_type(tmp_path):
    """Its config.json says `model_type: xlm-roberta` and `architectures: [XLMRobertaLoRA]`: the class claims the
    family, no conflict (a first draft read the model_type: "config.json says RoBERTa")."""
    from hfprobe.tree.inspect import inspect_source

    _hub_file(tmp_path)
    config = {"model_type": "xlm-roberta", "architectures": ["XLMRobertaLoRA"], "hidden_size": H}
    config["auto_map"] = {"AutoModel": "jinaai/xlm-roberta-flash-implementation--modeling_lora.XLMRobertaLoRA"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    report = inspect_source(str(tmp_path))
    assert report["family"] == "jina_embeddings_v3" and not report["conflicts"], report["conflicts"]
    assert report["declared"]["config.json architectures"] == "XLMRobertaLoRA"


def test_transformers_conversion_reads_alike(tmp_path):
    """transformers 5.25's JinaEmbeddingsV3Model writes the base weights back in Jina's names, without `roberta.`."""
    model = meta_model("jina_embeddings_v3", hidden_size=H, num_hidden_layers=24, num_attention_heads=16,
                       intermediate_size=FFN, vocab_size=VOCAB)  # fmt: skip
    report = inspect_built(model, tmp_path)
    assert report["family"] == "jina_embeddings_v3" and report["root"]["id"] == "jinaai/jina-embeddings-v3"


def test_transformers_conversion_beside_its_config_json_reads_alike(tmp_path):
    """Its config.json (`jina_embeddings_v3`) would rename its saved names to LLaMA's in-memory ones (`o_proj`):
    the saved names are read (a first draft read Phi at 0.3, with a conflict)."""
    model = meta_model("jina_embeddings_v3", hidden_size=H, num_hidden_layers=24, num_attention_heads=16,
                       intermediate_size=FFN, vocab_size=VOCAB)  # fmt: skip
    report = inspect_built(model, tmp_path, config=json.loads(model.config.to_json_string(use_diff=False)))
    assert report["family"] == "jina_embeddings_v3" and not report["conflicts"], report["conflicts"]


def test_xlm_roberta_large_stays_roberta(tmp_path):
    large = dict(hidden_size=H, num_hidden_layers=24, num_attention_heads=16, intermediate_size=FFN, vocab_size=VOCAB)
    report = inspect_built(meta_model("xlm-roberta", **large, max_position_embeddings=514), tmp_path)
    assert report["family"] == "roberta" and report["root"]["id"] in ("FacebookAI/xlm-roberta-large", "BAAI/bge-m3")


def _jina_bert(path, hidden=768, layers=12, ffn=3072, vocab=30528, config=None) -> None:
    """A JinaBERT v2 model.safetensors as Jina's code saves it (no prefix): BERT's attention, `mlp.gated_layers`."""
    t = {
        "embeddings.word_embeddings.weight": ("F16", (vocab, hidden)),
        "pooler.dense.weight": ("F16", (hidden, hidden)),
    }
    t["embeddings.token_type_embeddings.weight"] = ("F16", (2, hidden))
    for i in range(layers):
        b = f"encoder.layer.{i}."
        t |= {b + f"attention.self.{n}.weight": ("F16", (hidden, hidden)) for n in ("query", "key", "value")}
        t[b + "attention.output.dense.weight"] = ("F16", (hidden, hidden))
        t[b + "mlp.gated_layers.weight"] = ("F16", (2 * ffn, hidden))
        t[b + "mlp.wo.weight"] = ("F16", (hidden, ffn))
        t[b + "mlp.layernorm.weight"] = ("F16", (hidden,))
    write_header(path / "model.safetensors", t, data=False)
    if config is not None:
        (path / "config.json").write_text(json.dumps(config))


def test_jina_embeddings_v2_is_jina_bert_beside_its_bert_config(tmp_path):
    from hfprobe.tree.inspect import inspect_source

    _jina_bert(tmp_path, config={"model_type": "bert", "architectures": ["JinaBertForMaskedLM"], "hidden_size": 768})
    report = inspect_source(str(tmp_path))
    assert report["family"] == "jina_bert" and report["family_confidence"] == 1.0 and not report["conflicts"]
    assert report["root"]["id"] == "jinaai/jina-embeddings-v2-base-en", report["root"]


def test_jina_embeddings_v2_small_is_its_own_root(tmp_path):
    from hfprobe.tree.inspect import inspect_source

    _jina_bert(tmp_path, hidden=512, layers=4, ffn=2048)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "jina_bert" and report["base_model"]["id"] == "jinaai/jina-embeddings-v2-small-en"


def test_a_bert_stays_bert(tmp_path):
    """BERT's rule on attention lists JinaBERT, which `expects` its gated MLP: a BERT has none."""
    report = inspect_built(meta_model("bert"), tmp_path)
    assert report["family"] == "bert" and not any("jina" in c["id"] for c in report["root"]["candidates"])
    assert any("no key of its gated MLP" in e for e in report["root"]["evidence"]), report["root"]["evidence"]

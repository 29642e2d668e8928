"""A fine-tune's keys begin with its architecture's name: transformers holds a task head's base model under the
class's `base_model_prefix` (`ijepa.encoder.layer.0…`, `git.…`, `lxmert.…`), and a PEFT adapter keeps it
(`base_model.model.ijepa.…`). Where that name is an architecture the registry has no family for, layers whose names
and sizes resemble a known family's (I-JEPA's are ViT's, GIT's CLIP's, LXMERT's BERT's) say nothing of its
lineage: no root is sure, and none is written as `base_model`.

Before: a LoRA on BEiT read as ViT at 1.0 (google/vit-base-patch16-224-in21k first), one on ConvNeXt V2 as
ConvNeXt at 1.0 (facebook/convnext-tiny-224 first), a Longformer fine-tune as RoBERTa at 0.61. Their full
checkpoints were mostly unsure already, but did not say why. (The Audio Spectrogram Transformer and BEiT, read so
too, have families now, as have DeiT distilled, ConvNeXt V2, Longformer and data2vec (vision and text, once the
examples here): tests/test_ast.py, tests/test_beit.py, tests/test_deit_convnextv2.py, tests/test_longformer.py,
tests/test_data2vec.py; DPT, OWL-ViT, ERNIE, RoCBert and MarkupLM, once examples here: tests/test_dpt.py,
tests/test_owl.py, tests/test_ernie.py, tests/test_bert_likes.py; YOSO and TAPAS too: tests/test_efficient_encoders.py,
tests/test_bert_variants.py.)

Each model is built by transformers on the meta device (default configurations: I-JEPA's ViT-B/16, GIT's CLIP
ViT-B/16 and a 6-layer BERT-base, LXMERT's BERT-base sizes in three stacks) and written as a header-only safetensors
file.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.formats import tables
from hfprobe.tree.declared import foreign_prefix
from hfprobe.tree.rank import SHAPES_ONLY_FAMILY
from tests.model_shapes import inspect_built

torch.set_num_threads(1)


def _model(cls: str, config: str, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**kw))


# (task-head class, config class, config, the modules a LoRA adapts, the prefix)
FOREIGN = {
    # GIT (`git.`): a CLIP ViT-B/16 image encoder under a BERT-style text decoder (Microsoft's captioning models)
    "git": ("GitForCausalLM", "GitConfig", {}, "q_proj v_proj", "git"),
    # I-JEPA (`ijepa.`): a ViT with no class token, trained apart from every ViT root
    "ijepa": ("IJepaForImageClassification", "IJepaConfig", {}, "query key value dense", "ijepa"),
    # LXMERT (`lxmert.`): BERT's layer names and BERT-base's sizes in a language, a vision and a cross stack
    "lxmert": ("LxmertForQuestionAnswering", "LxmertConfig", {}, "query value", "lxmert"),
}


@pytest.mark.parametrize("kind", ["checkpoint", "lora"])
@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_a_task_head_of_an_unknown_architecture_names_no_root(name, kind, tmp_path):
    cls, config, kw, modules, prefix = FOREIGN[name]
    report = inspect_built(_model(cls, config, **kw), tmp_path, lora=modules.split() if kind == "lora" else ())
    assert report["base_model"]["id"] is None, report["base_model"]
    assert report["family_confidence"] <= SHAPES_ONLY_FAMILY
    assert all(c["score"] <= SHAPES_ONLY_FAMILY for c in report["root"]["candidates"])
    assert f"prefix `{prefix}.`" in report["base_model"]["reason"]
    assert not report["conflicts"]


# the registry's architectures under their task heads keep their roots (`vit.`, `roberta.`; YOLOS, under `vit.` too,
# has a family of its own: tests/test_yolos.py)
KNOWN = {
    "beit": (
        "BeitForImageClassification",
        "BeitConfig",
        dict(use_relative_position_bias=True),
        "query value",
        "beit",
        "microsoft/beit-base-patch16-224-pt22k-ft22k",
    ),
    "vit": ("ViTForImageClassification", "ViTConfig", {}, "query value", "vit", "google/vit-base-patch16-224"),
    "deit": (
        "DeiTForImageClassificationWithTeacher",
        "DeiTConfig",
        {},
        "query value",
        "deit",
        "facebook/deit-base-distilled-patch16-224",
    ),
    "convnextv2": (
        "ConvNextV2ForImageClassification",
        "ConvNextV2Config",
        {},
        "pwconv1 pwconv2",
        "convnextv2",
        "facebook/convnextv2-tiny-1k-224",
    ),
    "longformer": (
        "LongformerForSequenceClassification",
        "LongformerConfig",
        dict(vocab_size=50265, max_position_embeddings=4098, type_vocab_size=1, attention_window=512),
        "query value",
        "longformer",
        "allenai/longformer-base-4096",
    ),
    "data2vec-vision": (
        "Data2VecVisionForImageClassification",
        "Data2VecVisionConfig",
        dict(use_relative_position_bias=True),
        "query value",
        "data2vec_vision",
        "facebook/data2vec-vision-base-ft1k",
    ),
    "data2vec-text": (
        "Data2VecTextForSequenceClassification",
        "Data2VecTextConfig",
        dict(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1),
        "query value",
        "data2vec_text",
        "facebook/data2vec-text-base",
    ),
    "roberta": (
        "RobertaForSequenceClassification",
        "RobertaConfig",
        dict(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1),
        "query value",
        "roberta",
        "FacebookAI/roberta-base",
    ),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_a_task_head_of_a_known_architecture_keeps_its_root(name, tmp_path):
    cls, config, kw, modules, family, root = KNOWN[name]
    model = _model(cls, config, **kw)
    for report in (inspect_built(model, tmp_path / "full"), inspect_built(model, tmp_path / "lora", modules.split())):
        assert report["family"] == family and report["family_confidence"] >= 0.9
        assert root in [c["id"] for c in report["root"]["candidates"]]
        assert not any("no roots for" in e for e in report["root"]["evidence"])


def test_only_a_prefix_that_names_an_unknown_architecture_says_so():
    peft = "base_model.model.ijepa.encoder.layer.0.attention.attention.query.lora_A.weight"
    assert foreign_prefix([peft]) == "its keys' prefix `ijepa.` is transformers' model type ijepa"
    # a prefix whose architecture has a family now (ConvNeXt V2's, DeiT's, data2vec's) is no foreign one
    assert foreign_prefix([peft.replace("ijepa", "deit")]) is None
    assert foreign_prefix([peft.replace("ijepa", "data2vec_vision")]) is None
    # words a known architecture uses (YOLOS's `vit`), or that name no architecture (Mamba's `backbone`)
    known = ("vit.encoder.layer.0.output.dense.weight", "backbone.layers.0.mixer.in_proj.weight")
    generic = ("encoder.block.0.layer.0.SelfAttention.q.weight", "model.layers.0.self_attn.q_proj.weight")
    for key in known + generic:
        assert foreign_prefix([key]) is None, key
    # a word most keys do not begin with (a head beside another model) says nothing
    assert foreign_prefix(["beit.pooler.weight", "vit.a.weight", "vit.b.weight"]) is None
    assert foreign_prefix([]) is None


def test_stored_prefixes_are_the_installed_transformers_own():
    stored = tables.tables()["transformers"]["prefixes"]
    for model_type in (
        "beit",
        "audio-spectrogram-transformer",
        "convnextv2",
        "ijepa",
        "vit",
        "yolos",
        "llama",
        "mamba",
    ):
        assert stored.get(model_type) == tables.base_model_prefix(model_type), model_type
    assert set(stored) <= set(tables.tables()["transformers"]["model_types"])

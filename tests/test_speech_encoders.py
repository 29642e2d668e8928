"""Speech encoders built on wav2vec 2.0 that are not wav2vec 2.0: UniSpeech and UniSpeech-SAT (its every name and
size, told by their prefix or pretraining heads), SEW (its names over a squeezed sequence, `encoder.upsample`), SEW-D
(DeBERTa-v2's layers under `encoder.encoder.layer.N`) and Wav2Vec2-Conformer (Conformer layers over wav2vec 2.0's
feature encoder), each a family of its own. Before, UniSpeech and UniSpeech-SAT read wav2vec 2.0 at 0.5 (XLSR-53 or
wav2vec2-base-960h first, their prefix an unknown model type's), SEW wav2vec 2.0 at 0.3 with no root, a bare SEW-D
all-MiniLM-L12-v2 at 0.5 and a LoRA on it DeBERTa-v3-xsmall, Wav2Vec2-Conformer XLSR-53 at 0.5 and a LoRA on its
attention Wav2Vec2-BERT. Checkpoints are built by transformers on the meta device at their published sizes and
written as header-only safetensors files."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids, inspect_built, meta_class

torch.set_num_threads(1)

LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
LARGE |= dict(feat_extract_norm="layer", do_stable_layer_norm=True, codevector_dim=768, proj_codevector_dim=768)
UNISPEECH = dict(LARGE, conv_bias=True, num_ctc_classes=531)
CONV13 = dict(conv_dim=[64, 128, 128, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512], num_conv_pos_embeddings=31)
CONV13 |= dict(
    conv_kernel=[10, 3, 1, 3, 1, 3, 1, 3, 1, 2, 1, 2, 1], conv_stride=[5, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
)
SEW_TINY = dict(CONV13, hidden_size=512, num_hidden_layers=12, num_attention_heads=8, intermediate_size=2048)
SEW_MID = dict(CONV13, hidden_size=768, num_hidden_layers=24, num_attention_heads=12, intermediate_size=3072)
SEWD_TINY = dict(CONV13, hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536)
SEWD_BASE = dict(CONV13, hidden_size=768, num_hidden_layers=24, num_attention_heads=12, intermediate_size=3072)
SEWD_BASE_PLUS = dict(SEWD_BASE, conv_dim=[96, 192, 192, 192, 192, 384, 384, 384, 384, 768, 768, 768, 768])
CONFORMER = dict(LARGE, hidden_act="swish", conv_bias=True, vocab_size=32)


@pytest.mark.parametrize(
    "cls, config, kw, root",
    [
        ("UniSpeechSatForAudioFrameClassification", "UniSpeechSatConfig", LARGE, "microsoft/unispeech-sat-large"),
        ("SEWModel", "SEWConfig", SEW_TINY, "asapp/sew-tiny-100k"),  # saved bare, as ASAPP's pretrained models are
        ("SEWForCTC", "SEWConfig", SEW_MID, "asapp/sew-mid-100k"),
        ("SEWDModel", "SEWDConfig", SEWD_TINY, "asapp/sew-d-tiny-100k"),
        ("SEWDForCTC", "SEWDConfig", SEWD_BASE, "asapp/sew-d-base-100k"),
        (
            "Wav2Vec2ConformerForPreTraining",
            "Wav2Vec2ConformerConfig",
            dict(CONFORMER, position_embeddings_type="relative"),
            "facebook/wav2vec2-conformer-rel-pos-large",
        ),
        (
            "Wav2Vec2ConformerForCTC",
            "Wav2Vec2ConformerConfig",
            dict(CONFORMER, position_embeddings_type="rotary"),
            "facebook/wav2vec2-conformer-rope-large",
        ),
    ],
)
def test_each_names_its_root_and_base(cls, config, kw, root, tmp_path):
    """SEW-D base and base-plus are told by their feature encoder's first width (64, 96 channels); the Conformer's
    relative positions by `self_attn.linear_pos`, which a rotary checkpoint lacks (`requires`)."""
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    family = config.removesuffix("Config").lower().replace("sewd", "sew_d").replace("unispeechsat", "unispeech_sat")
    assert report["family"] == family.replace("wav2vec2conformer", "wav2vec2_conformer"), report["root"]["evidence"]
    assert report["family_confidence"] == 1.0
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, candidate_ids(report)


@pytest.mark.parametrize(
    "cls, config, kw, ids",
    [
        (
            "UniSpeechForPreTraining",
            "UniSpeechConfig",
            UNISPEECH,
            ("microsoft/unispeech-large-1500h-cv", "microsoft/unispeech-large-multi-lingual-1500h-cv"),
        ),
        (
            "UniSpeechSatForXVector",
            "UniSpeechSatConfig",
            {},
            ("microsoft/unispeech-sat-base", "microsoft/unispeech-sat-base-plus"),
        ),
        ("SEWDForCTC", "SEWDConfig", SEWD_BASE_PLUS, ("asapp/sew-d-base-plus-100k", "asapp/sew-d-base-plus-400k")),
    ],
)
def test_releases_of_one_size_are_listed_and_none_written(cls, config, kw, ids, tmp_path):
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    assert report["family_confidence"] == 1.0 and set(candidate_ids(report)[:2]) == set(ids), candidate_ids(report)
    assert not any(
        i.startswith(("facebook/wav2vec2-", "facebook/hubert", "microsoft/wavlm")) for i in candidate_ids(report)
    )
    assert report["base_model"]["id"] is None


@pytest.mark.parametrize(
    "cls, config, kw, modules, family",
    [
        ("UniSpeechForCTC", "UniSpeechConfig", dict(UNISPEECH, vocab_size=60), ("q_proj", "v_proj"), "unispeech"),
        ("UniSpeechSatForCTC", "UniSpeechSatConfig", dict(vocab_size=32), ("q_proj", "v_proj"), "unispeech_sat"),
        ("SEWForCTC", "SEWConfig", SEW_TINY, ("q_proj", "v_proj"), "sew"),
        ("SEWDForCTC", "SEWDConfig", SEWD_TINY, ("query_proj", "value_proj"), "sew_d"),
        (
            "Wav2Vec2ConformerForCTC",
            "Wav2Vec2ConformerConfig",
            CONFORMER,
            ("linear_q", "linear_v"),
            "wav2vec2_conformer",
        ),
    ],
)
def test_a_lora_on_a_fine_tune_keeps_its_family(cls, config, kw, modules, family, tmp_path):
    """PEFT keeps the task model's prefix (`base_model.model.sew_d.encoder.encoder.layer.0…`): a LoRA on attention is
    its family's, sure, with no wav2vec 2.0, DeBERTa or Wav2Vec2-BERT root listed, and none written."""
    report = inspect_built(meta_class(cls, config, **kw), tmp_path, lora=modules)
    assert report["family"] == family and report["family_confidence"] == 1.0, report["root"]["evidence"]
    others = (
        "facebook/wav2vec2-base",
        "facebook/wav2vec2-large",
        "facebook/w2v-bert",
        "microsoft/deberta",
        "facebook/hubert",
    )
    assert candidate_ids(report) and not any(i.startswith(others) for i in candidate_ids(report)), candidate_ids(report)
    assert report["base_model"]["id"] is None


@pytest.mark.parametrize(
    "cls, config, kw, family",
    [
        ("Wav2Vec2ForCTC", "Wav2Vec2Config", dict(vocab_size=32), "wav2vec2"),
        ("HubertForCTC", "HubertConfig", dict(vocab_size=32), "hubert"),
        ("WavLMForCTC", "WavLMConfig", dict(vocab_size=32), "wavlm"),
        ("Wav2Vec2BertForCTC", "Wav2Vec2BertConfig", dict(vocab_size=32), "wav2vec2_bert"),
        ("DebertaV2ForSequenceClassification", "DebertaV2Config", {}, "deberta_v2"),
    ],
)
def test_their_neighbours_keep_their_readings(cls, config, kw, family, tmp_path):
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    assert report["family"] == family, report["root"]["evidence"]
    assert not any(
        i.startswith(("microsoft/unispeech", "asapp/", "facebook/wav2vec2-conformer")) for i in candidate_ids(report)
    )


def test_a_bare_unispeech_is_wav2vec2_s_every_name_and_size(tmp_path):
    """Saved bare (no `unispeech.`, no pretraining head), UniSpeech-SAT base holds nothing of its own: wav2vec 2.0
    base's reading, as before (documented, not mended: docs/tree.md)."""
    report = inspect_built(meta_class("UniSpeechSatModel", "UniSpeechSatConfig"), tmp_path)
    assert report["family"] in ("wav2vec2", "hubert", "wavlm", "data2vec_audio"), report["root"]["evidence"]


@pytest.mark.parametrize(
    "name, family",
    [
        ("microsoft/unispeech-sat-base-plus-sv", "unispeech_sat"),
        ("someone/unispeech-sat-base-ft-keyword-spotting", "unispeech_sat"),
        ("microsoft/unispeech-1350-en-90-it-ft-1h", "unispeech"),
        ("asapp/sew-d-mid-400k-ft-ls100h", "sew_d"),
        ("someone/sew-mid-100k-librispeech-clean-100h-ft", "sew"),
        ("facebook/wav2vec2-conformer-rope-large-960h-ft", "wav2vec2_conformer"),
        ("facebook/wav2vec2-large-960h-lv60-self", "wav2vec2"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

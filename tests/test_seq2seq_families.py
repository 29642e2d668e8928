"""Encoder-decoders with BART's layer names or their own that are not BART's, PEGASUS's or M2M-100's: PLBART (BART's
every name over a 50,005-token vocabulary), FSMT (FAIR's WMT19 models: the output head inside the decoder, two
vocabularies), ProphetNet (its own names: `self_attn.query_proj`, n-gram embeddings) and PEGASUS-X (global tokens),
each a family of its own. Before, PLBART read BART (bart-base at 1.0: sure and wrong; plbart-large at 0.33), PEGASUS-X
large pegasus-large at 0.97 with it written, base Whisper at 0.3, FSMT and ProphetNet BART at 0.3 or nothing.
Checkpoints are built by transformers on the meta device at their published sizes and written as header-only
safetensors files."""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.naming import resolve_name
from tests.model_shapes import candidate_ids, inspect_built, meta_class

torch.set_num_threads(1)

PLBART_LARGE = dict(vocab_size=50005, d_model=1024, encoder_layers=12, decoder_layers=12, encoder_ffn_dim=4096)
PLBART_LARGE |= dict(decoder_ffn_dim=4096, encoder_attention_heads=16, decoder_attention_heads=16)
FSMT = dict(d_model=1024, encoder_layers=6, decoder_layers=6, encoder_attention_heads=16, decoder_attention_heads=16)
FSMT |= dict(encoder_ffn_dim=8192, decoder_ffn_dim=4096, max_position_embeddings=1024, tie_word_embeddings=False)
EN_RU = dict(FSMT, src_vocab_size=31640, tgt_vocab_size=31232, langs=["en", "ru"])
RU_EN = dict(FSMT, src_vocab_size=31232, tgt_vocab_size=31640, langs=["ru", "en"])
EN_DE = dict(FSMT, src_vocab_size=42024, tgt_vocab_size=42024, langs=["en", "de"])
PEGASUS_X_BASE = dict(d_model=768, encoder_layers=12, decoder_layers=12, encoder_attention_heads=12)
PEGASUS_X_BASE |= dict(decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072, num_global_tokens=128)
BART_BASE = dict(vocab_size=50265, d_model=768, encoder_layers=6, decoder_layers=6, encoder_ffn_dim=3072)
BART_BASE |= dict(decoder_ffn_dim=3072, encoder_attention_heads=12, decoder_attention_heads=12)


@pytest.mark.parametrize(
    "cls, config, kw, root",
    [
        ("PLBartForConditionalGeneration", "PLBartConfig", dict(vocab_size=50005), "uclanlp/plbart-base"),
        ("PLBartForConditionalGeneration", "PLBartConfig", PLBART_LARGE, "uclanlp/plbart-large"),
        ("FSMTForConditionalGeneration", "FSMTConfig", EN_RU, "facebook/wmt19-en-ru"),
        ("FSMTForConditionalGeneration", "FSMTConfig", RU_EN, "facebook/wmt19-ru-en"),
        ("ProphetNetForConditionalGeneration", "ProphetNetConfig", {}, "microsoft/prophetnet-large-uncased"),
        (
            "ProphetNetForConditionalGeneration",
            "ProphetNetConfig",
            dict(vocab_size=250012),
            "microsoft/xprophetnet-large-wiki100-cased",
        ),
        ("PegasusXForConditionalGeneration", "PegasusXConfig", PEGASUS_X_BASE, "google/pegasus-x-base"),
        ("PegasusXForConditionalGeneration", "PegasusXConfig", dict(num_global_tokens=128), "google/pegasus-x-large"),
    ],
)
def test_each_names_its_root_and_base(cls, config, kw, root, tmp_path):
    """PLBART is told from BART by its vocabulary alone, so less sure; FSMT's English-Russian pair by which side holds
    which vocabulary; PEGASUS-X large, pegasus-large's every layer size, by its global tokens."""
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    family = config.removesuffix("Config").lower().replace("pegasusx", "pegasus_x")
    assert report["family"] == family and report["family_confidence"] >= 0.49, report["root"]["evidence"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == root, candidate_ids(report)


def test_fsmt_s_english_german_pair_is_listed_and_none_written(tmp_path):
    report = inspect_built(meta_class("FSMTForConditionalGeneration", "FSMTConfig", **EN_DE), tmp_path)
    assert report["family"] == "fsmt" and report["family_confidence"] == 1.0
    assert set(candidate_ids(report)[:2]) == {"facebook/wmt19-en-de", "facebook/wmt19-de-en"}
    assert report["base_model"]["id"] is None


@pytest.mark.parametrize(
    "cls, config, kw, modules, family",
    [
        ("ProphetNetForConditionalGeneration", "ProphetNetConfig", {}, ("query_proj", "value_proj"), "prophetnet"),
        ("FSMTForConditionalGeneration", "FSMTConfig", EN_RU, ("q_proj", "v_proj"), "fsmt"),  # 6 + 6 layers of 1,024
    ],
)
def test_a_lora_is_its_family_s(cls, config, kw, modules, family, tmp_path):
    report = inspect_built(meta_class(cls, config, **kw), tmp_path, lora=modules)
    assert report["family"] == family, report["root"]["evidence"]
    assert report["base_model"]["id"] is None


@pytest.mark.parametrize("kind", ["checkpoint", "lora"])
def test_bart_base_keeps_its_reading_with_plbart_beside_it(kind, tmp_path):
    """PLBART's base has bart-base's every layer size: a BART checkpoint (its 50,265 tokens) is still bart-base's,
    written; a LoRA on its attention holds no vocabulary and lists both, BART first (PLBART's fine-tunes are far
    fewer: its roots' prior), none written."""
    lora = ("q_proj", "v_proj") if kind == "lora" else ()
    report = inspect_built(meta_class("BartForConditionalGeneration", "BartConfig", **BART_BASE), tmp_path, lora=lora)
    assert report["family"] == "bart" and candidate_ids(report)[0] == "facebook/bart-base", candidate_ids(report)
    if kind == "checkpoint":
        assert report["base_model"]["id"] == "facebook/bart-base" and report["family_confidence"] > 0.9
    else:
        assert report["base_model"]["id"] is None and "uclanlp/plbart-base" in candidate_ids(report)


@pytest.mark.parametrize(
    "cls, config, kw, family",
    [
        ("MBartForConditionalGeneration", "MBartConfig", dict(vocab_size=250027), "mbart"),
        (
            "PegasusForConditionalGeneration",
            "PegasusConfig",
            dict(vocab_size=96103, encoder_layers=16, decoder_layers=16),
            "pegasus",
        ),
        ("M2M100ForConditionalGeneration", "M2M100Config", dict(vocab_size=128112), "m2m_100"),
    ],
)
def test_their_neighbours_keep_their_readings(cls, config, kw, family, tmp_path):
    report = inspect_built(meta_class(cls, config, **kw), tmp_path)
    assert report["family"] == family, report["root"]["evidence"]
    new = ("uclanlp/plbart", "facebook/wmt19", "microsoft/prophetnet", "microsoft/xprophetnet", "google/pegasus-x")
    assert not any(i.startswith(new) for i in candidate_ids(report)), candidate_ids(report)


@pytest.mark.parametrize(
    "name, family",
    [
        ("uclanlp/plbart-java-en_XX", "plbart"),
        ("someone/plbart-base-finetuned-code-summarization", "plbart"),
        ("facebook/wmt19-de-en", "fsmt"),
        ("allenai/wmt16-en-de-dist-12-1", "fsmt"),
        ("microsoft/prophetnet-large-uncased-squad-qg", "prophetnet"),
        ("microsoft/xprophetnet-large-wiki100-cased-xglue-ntg", "prophetnet"),
        ("pszemraj/pegasus-x-large-book-summary", "pegasus_x"),
        ("google/pegasus-large", "pegasus"),
    ],
)
def test_their_names_claim_their_architecture(name, family):
    assert resolve_name(name)[1] == family

"""DistilHuBERT (ntu-spml/distilhubert): HuBERT Base distilled into 2 transformer layers, the base of the audio
course's music-genre classifiers. Built by transformers on the meta device at its published sizes (its config.json:
HuBERT Base's widths, `num_hidden_layers` 2, no layer norm in the feature projection) and written as header-only
safetensors files.

Before: a full fine-tune read as facebook/hubert-base-ls960 with no `base_model` ("a full checkpoint with fewer
blocks than it, 7 of 12 layers"): the feature encoder's seven convolutions (`feature_extractor.conv_layers.N`)
were counted as transformer blocks, and there was no 2-layer root.
"""

from __future__ import annotations

import torch

from tests.model_shapes import inspect_built

torch.set_num_threads(1)

DISTIL = "ntu-spml/distilhubert"


def _hubert(cls: str, layers: int):
    import transformers as tf

    config = tf.HubertConfig(num_hidden_layers=layers, feat_proj_layer_norm=layers != 2, num_labels=10)
    with torch.device("meta"):
        return getattr(tf, cls)(config)


def test_a_distilhubert_fine_tune_names_it(tmp_path):
    report = inspect_built(_hubert("HubertForSequenceClassification", 2), tmp_path)
    assert report["family"] == "hubert" and report["root"]["id"] == DISTIL
    assert report["base_model"]["id"] == DISTIL and report["base_model"]["status"] == "weights"


def test_saved_bare_it_is_named_though_its_family_is_unsure(tmp_path):
    """A bare HubertModel (as the base repo itself is saved) has wav2vec 2.0's and WavLM's names: no `hubert.`; but
    no other root of the three has 2 layers (their 12 and 24 are more blocks than a full checkpoint holds)."""
    report = inspect_built(_hubert("HubertModel", 2), tmp_path)
    assert report["root"]["id"] == DISTIL and report["family_confidence"] < 0.9
    assert report["base_model"]["id"] == DISTIL


def test_an_adapter_on_its_two_layers_leads_with_it(tmp_path):
    report = inspect_built(_hubert("HubertForSequenceClassification", 2), tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "hubert" and report["root"]["id"] == DISTIL


def test_the_feature_encoder_s_convolutions_are_no_blocks(tmp_path):
    """HuBERT Base keeps its root; a 6-layer cut of it is read as cut (6 of 12 layers), not as 7 blocks."""
    base = inspect_built(_hubert("HubertForSequenceClassification", 12), tmp_path / "base")
    assert base["base_model"]["id"] == "facebook/hubert-base-ls960"
    cut = inspect_built(_hubert("HubertForSequenceClassification", 6), tmp_path / "cut")
    assert cut["base_model"]["id"] is None and "6 of 12" in cut["base_model"]["reason"]

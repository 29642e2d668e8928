"""Video classifiers: VideoMAE, ViViT and TimeSformer, the bases the Hub's video-classification fine-tunes start from
(the course's guide fine-tunes MCG-NJU/videomae-base). All three are ViTs over frames:

- VideoMAE: a 3-D patch embedding (tubelets of 2 x 16 x 16 pixels), no saved position table, its query and value
  biases apart from their layers (`attention.attention.q_bias`, `v_bias`); pretraining checkpoints hold a narrow
  decoder behind `encoder_to_decoder`. MCG-NJU's fine-tuned and pretrained checkpoints of one size share every
  encoder shape, so a fine-tune's metadata names which it started from.
- ViViT: ViT's layers under `vivit.`, one position table over every tubelet of 32 frames (3,137 rows).
- TimeSformer: a temporal attention beside each block's spatial one and a table of frame embeddings (8 frames in
  the base models, 16 in HR at 448 px, 96 or 64 in the large ones).

Models are built by transformers on the meta device at the published sizes and written as header-only safetensors
files (with config.json, adapter_config.json or a README where a test says so).

Before: a VideoMAE fine-tune was ViT at 0.3 with no root (its LoRA ViT at 0.79, google/vit-base-patch16-224-in21k
first), a ViViT checkpoint ViT at 1.0 with ViT's roots, a TimeSformer BERT at 0.73 (bert-base-uncased first).
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

LARGE = dict(hidden_size=1024, num_hidden_layers=24, intermediate_size=4096, num_attention_heads=16)
HUGE = dict(hidden_size=1280, num_hidden_layers=32, intermediate_size=5120, num_attention_heads=16)
SMALL = dict(hidden_size=384, intermediate_size=1536, num_attention_heads=16)  # 16 heads: the Hub's config
LARGE_DECODER = dict(
    decoder_hidden_size=512, decoder_num_hidden_layers=12, decoder_intermediate_size=2048, decoder_num_attention_heads=8
)
FINE_TUNED_FROM_BASE = (  # what the Trainer writes in a fine-tune's card
    "This model is a fine-tuned version of [MCG-NJU/videomae-base](https://huggingface.co/MCG-NJU/videomae-base) "
    "on an unknown dataset."
)


def _model(cls: str, config: str, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(**kw))


def _videomae(head: str = "VideoMAEForVideoClassification", **kw):
    return _model(head, "VideoMAEConfig", **kw)


def _timesformer(**kw):
    return _model("TimesformerForVideoClassification", "TimesformerConfig", num_labels=7, **kw)


def _inspect(model, tmp_path, readme: str | None = None, **kw):
    tmp_path.mkdir(parents=True, exist_ok=True)
    if readme is not None:
        (tmp_path / "README.md").write_text(readme)
    return inspect_built(model, tmp_path, **kw)


# ---------------------------------------------------------------- VideoMAE


@pytest.mark.parametrize("kind", ["checkpoint", "lora"])
def test_a_videomae_fine_tune_names_videomae_base_first_and_writes_what_its_card_says(kind, tmp_path):
    lora = ["query", "value"] if kind == "lora" else ()
    bare = _inspect(_videomae(num_labels=10), tmp_path / "bare", lora=lora)
    assert bare["family"] == "videomae" and bare["family_confidence"] == 1.0, bare["root"]["evidence"]
    assert _ids(bare)[0] == "MCG-NJU/videomae-base" and all(i.startswith("MCG-NJU/") for i in _ids(bare))
    # its fine-tuned and pretrained neighbours have its encoder's every shape: nothing is written from weights alone
    assert bare["base_model"]["id"] is None and bare["base_model"]["status"] == "ambiguous"
    carded = _inspect(_videomae(num_labels=10), tmp_path / "card", readme=FINE_TUNED_FROM_BASE, lora=lora)
    assert carded["base_model"]["id"] == "MCG-NJU/videomae-base", carded["base_model"]


def test_a_config_naming_the_kinetics_fine_tune_is_written(tmp_path):
    config = {"model_type": "videomae", "_name_or_path": "MCG-NJU/videomae-base-finetuned-kinetics"}
    report = _inspect(_videomae(num_labels=10), tmp_path, config=config)
    assert report["family"] == "videomae" and not report["conflicts"]
    assert report["base_model"]["id"] == "MCG-NJU/videomae-base-finetuned-kinetics"


@pytest.mark.parametrize(
    "build, root",
    [
        (lambda: _videomae("VideoMAEForPreTraining", **LARGE, **LARGE_DECODER), "MCG-NJU/videomae-large"),
        (lambda: _videomae(**HUGE, num_labels=5), "MCG-NJU/videomae-huge-finetuned-kinetics"),
    ],
    ids=["large-pretraining", "huge"],
)
def test_a_videomae_of_one_checkpoint_s_shapes_is_named_from_its_weights(build, root, tmp_path):
    """The large pretraining checkpoint's 12-block decoder, 512 wide, tells it from the large Kinetics fine-tune; the
    huge model has one checkpoint."""
    report = _inspect(build(), tmp_path)
    assert report["family"] == "videomae" and _ids(report) == [root]
    assert report["base_model"]["id"] == root and report["base_model"]["status"] == "weights"


def test_a_pretraining_checkpoint_names_the_pretrained_models_only(tmp_path):
    """videomae-base's decoder (4 blocks, 384 wide) rules out the fine-tuned classifiers, which have none."""
    report = _inspect(_videomae("VideoMAEForPreTraining"), tmp_path)
    assert report["family"] == "videomae"
    assert set(_ids(report)) == {f"MCG-NJU/videomae-base{s}" for s in ("", "-short", "-ssv2", "-short-ssv2")}
    assert _ids(report)[0] == "MCG-NJU/videomae-base"


def test_the_small_models_are_told_from_base_and_a_card_naming_base_is_not_written(tmp_path):
    report = _inspect(_videomae(**SMALL, num_labels=5), tmp_path, readme=FINE_TUNED_FROM_BASE)
    assert _ids(report) == ["MCG-NJU/videomae-small-finetuned-kinetics", "MCG-NJU/videomae-small-finetuned-ssv2"]
    assert report["base_model"]["id"] is None


def test_a_lora_on_a_bare_videomae_is_vit_s_unless_its_adapter_config_names_videomae(tmp_path):
    """A bare VideoMAEModel's attention (no `videomae.`, no q_bias in the adapter) has ViT-B's names and shapes."""
    lora = ["query", "value"]
    bare = _inspect(_videomae("VideoMAEModel"), tmp_path / "bare", lora=lora)
    assert bare["family"] == "vit" and bare["base_model"]["id"] is None
    config = {"peft_type": "LORA", "base_model_name_or_path": "MCG-NJU/videomae-base", "target_modules": lora}
    declared = _inspect(_videomae("VideoMAEModel"), tmp_path / "declared", lora=lora, config=config)
    assert declared["family"] == "videomae" and declared["base_model"]["id"] == "MCG-NJU/videomae-base"


def test_a_bare_videomae_is_placed_by_its_query_and_value_biases(tmp_path):
    report = _inspect(_videomae("VideoMAEModel"), tmp_path)
    assert report["family"] == "videomae" and report["family_confidence"] == 1.0
    assert any("q_bias" in e for e in report["root"]["evidence"]), report["root"]["evidence"]


# ---------------------------------------------------------------- ViViT


@pytest.mark.parametrize("kind", ["checkpoint", "lora"])
def test_a_vivit_fine_tune_names_google_s_kinetics_model(kind, tmp_path):
    model = _model("VivitForVideoClassification", "VivitConfig", num_labels=10)
    report = _inspect(model, tmp_path, lora=["query", "value"] if kind == "lora" else ())
    assert report["family"] == "vivit" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == "google/vivit-b-16x2-kinetics400"
    assert report["base_model"]["status"] == "weights"


def test_a_bare_vivit_beside_its_config_is_vivit_in_transformers_5_names_too(tmp_path):
    """config.json's model_type maps the saved names to transformers 5's (`vivit.layers.N.attention.q_proj`); a
    bare ViViT without it has ViT's names and 3,137 positions, which no ViT root has."""
    for saved in (True, False):
        model = _model("VivitModel", "VivitConfig")
        report = _inspect(model, tmp_path / str(saved), saved=saved, config={"model_type": "vivit"})
        assert report["family"] == "vivit", report["root"]["evidence"]
        assert _ids(report)[0] == "google/vivit-b-16x2-kinetics400"
    alone = _inspect(_model("VivitModel", "VivitConfig"), tmp_path / "alone")
    assert alone["family"] == "vit" and alone["base_model"]["id"] is None


# ---------------------------------------------------------------- TimeSformer


@pytest.mark.parametrize(
    "sizes, first",
    [
        ({}, ["facebook/timesformer-base-finetuned-k400", "facebook/timesformer-base-finetuned-k600"]),
        (dict(image_size=448, num_frames=16), ["facebook/timesformer-hr-finetuned-k400"]),
        (dict(num_frames=96), ["fcakyon/timesformer-large-finetuned-k400", "fcakyon/timesformer-large-finetuned-k600"]),
    ],
    ids=["base", "hr", "large"],
)
def test_a_timesformer_is_named_from_its_frames_and_resolution(sizes, first, tmp_path):
    report = _inspect(_timesformer(**sizes), tmp_path)
    assert report["family"] == "timesformer" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report)[: len(first)] == first
    # each size was fine-tuned on Kinetics-400, Kinetics-600 and SSv2: the three tie
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"


def test_the_large_ssv2_timesformer_s_64_frames_name_it(tmp_path):
    report = _inspect(_timesformer(num_frames=64), tmp_path)
    assert report["base_model"]["id"] == "fcakyon/timesformer-large-finetuned-ssv2"


def test_a_bare_timesformer_and_its_lora_are_timesformer_not_bert(tmp_path):
    bare = _inspect(_model("TimesformerModel", "TimesformerConfig"), tmp_path / "bare")
    assert bare["family"] == "timesformer" and not any(i.startswith("google-bert/") for i in _ids(bare))
    lora = _inspect(_timesformer(), tmp_path / "lora", lora=["qkv"])
    assert lora["family"] == "timesformer" and _ids(lora)[0] == "facebook/timesformer-base-finetuned-k400"


def test_a_config_naming_a_timesformer_is_written(tmp_path):
    config = {"model_type": "timesformer", "_name_or_path": "facebook/timesformer-base-finetuned-k400"}
    report = _inspect(_timesformer(), tmp_path, config=config)
    assert report["base_model"]["id"] == "facebook/timesformer-base-finetuned-k400" and not report["conflicts"]


# ---------------------------------------------------------------- guards: the image and text models stay theirs


@pytest.mark.parametrize(
    "cls, config, family",
    [
        ("ViTForImageClassification", "ViTConfig", "vit"),
        ("BertForSequenceClassification", "BertConfig", "bert"),
        ("BeitForImageClassification", "BeitConfig", "beit"),
    ],
)
def test_an_image_or_text_model_is_no_video_model(cls, config, family, tmp_path):
    for kind, lora in (("full", ()), ("lora", ["query", "value"])):
        report = _inspect(_model(cls, config, num_labels=3), tmp_path / kind, lora=lora)
        assert report["family"] == family, (kind, report["root"]["evidence"])
        assert not any(i.startswith(("MCG-NJU/", "google/vivit", "facebook/timesformer")) for i in _ids(report))


def test_the_fine_tuned_checkpoints_grow_from_their_pretraining():
    from hfprobe.tree.registry import tree_root

    assert tree_root("MCG-NJU/videomae-base-finetuned-kinetics") == "MCG-NJU/videomae-base"
    assert tree_root("MCG-NJU/videomae-large-finetuned-kinetics") == "MCG-NJU/videomae-large"
    assert tree_root("MCG-NJU/videomae-base-short-finetuned-ssv2") == "MCG-NJU/videomae-base-short-ssv2"

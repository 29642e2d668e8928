"""TrOCR and Donut: vision-encoder-decoders whose decoder is saved under `decoder.model.decoder.layers.N`, as
MusicGen's is. TrOCR's encoder is a ViT (base, large) or a DeiT (small) at 384 px and its decoder has an output
projection of its own; Donut's encoder is a Swin and its decoder a 4-layer mBART. Models are built by transformers
on the meta device at the published sizes (transformers' conversion scripts, unilm's and clovaai's configs) and
written as header-only safetensors files; a vision-encoder-decoder's config.json names its family through its
encoder's or decoder's model_type (families.json `composite_parts`).

Before: a full TrOCR checkpoint was MusicGen's at 0.3 to 0.5, a LoRA on its decoder's `q_proj` and `v_proj` (large)
MusicGen's at 1.0 with facebook/musicgen-small first, a Donut checkpoint Swin's at 0.5 and a LoRA on its decoder
MusicGen's at 1.0; a config.json of `model_type: vision-encoder-decoder` was an architecture the registry lacks.
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

# encoder kind, width, depth, heads, MLP; decoder width, depth, heads, MLP, vocabulary, learned positions
TROCR = {
    "small": ("deit", 384, 12, 6, 1536, 256, 6, 8, 1024, 64044, True),
    "base": ("vit", 768, 12, 12, 3072, 1024, 12, 16, 4096, 50265, True),
    "base-stage1": ("vit", 768, 12, 12, 3072, 1024, 12, 16, 4096, 50265, False),
    "large": ("vit", 1024, 24, 16, 4096, 1024, 12, 16, 4096, 50265, True),
    "large-stage1": ("vit", 1024, 24, 16, 4096, 1024, 12, 16, 4096, 50265, False),
}
# the roots each fits alike, best first where priors order them
TROCR_ROOTS = {
    "small": ["microsoft/trocr-small-printed", "microsoft/trocr-small-handwritten", "microsoft/trocr-small-stage1"],
    "base": ["microsoft/trocr-base-handwritten", "microsoft/trocr-base-printed", "microsoft/trocr-base-str"],
    "base-stage1": ["microsoft/trocr-base-stage1"],
    "large": ["microsoft/trocr-large-handwritten", "microsoft/trocr-large-str"],
    "large-stage1": ["microsoft/trocr-large-printed", "microsoft/trocr-large-stage1"],
}


def _vision_encoder_decoder(encoder, decoder):
    import transformers as tf

    config = tf.VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    with torch.device("meta"):
        return tf.VisionEncoderDecoderModel(config)


def _trocr(name: str):
    import transformers as tf

    kind, hidden, layers, heads, ffn, d_hidden, d_layers, d_heads, d_ffn, vocab, learned = TROCR[name]
    encoder = (tf.DeiTConfig if kind == "deit" else tf.ViTConfig)(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=ffn,
        image_size=384, patch_size=16, qkv_bias=kind == "deit",
    )  # fmt: skip
    decoder = tf.TrOCRConfig(
        d_model=d_hidden, decoder_layers=d_layers, decoder_attention_heads=d_heads, decoder_ffn_dim=d_ffn,
        vocab_size=vocab, cross_attention_hidden_size=hidden, use_learned_position_embeddings=learned,
        layernorm_embedding=learned, max_position_embeddings=512 if learned else 1024,
        tie_word_embeddings=kind != "deit" and learned,
    )  # fmt: skip
    return _vision_encoder_decoder(encoder, decoder)


def _donut(vocab: int = 57525, positions: int = 1536):
    import transformers as tf

    encoder = tf.DonutSwinConfig(
        image_size=[2560, 1920], patch_size=4, depths=[2, 2, 14, 2], num_heads=[4, 8, 16, 32], window_size=10,
        embed_dim=128,
    )  # fmt: skip
    decoder = tf.MBartConfig(
        is_decoder=True, add_cross_attention=True, decoder_layers=4, max_position_embeddings=positions,
        vocab_size=vocab, scale_embedding=True, add_final_layer_norm=True,
    )  # fmt: skip
    return _vision_encoder_decoder(encoder, decoder)


@pytest.mark.parametrize("name", sorted(TROCR))
def test_a_full_trocr_checkpoint_is_trocr_s(name, tmp_path):
    report = inspect_built(_trocr(name), tmp_path)
    assert report["family"] == "trocr" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    roots = TROCR_ROOTS[name]
    assert _ids(report) == roots
    assert report["base_model"]["id"] == (roots[0] if len(roots) == 1 else None) and not report["conflicts"]


def test_a_lora_on_trocr_s_decoder_is_no_musicgen_s(tmp_path):
    report = inspect_built(_trocr("large"), tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "trocr" and "facebook/musicgen-small" not in _ids(report)[:3]
    assert report["base_model"]["id"] is None


def test_a_lora_on_trocr_s_encoder_alone_stays_a_vit_s(tmp_path):
    # `query` and `value` adapt the ViT encoder only: nothing of TrOCR's decoder is in the file
    report = inspect_built(_trocr("base"), tmp_path, lora=("query", "value"))
    assert report["family"] == "vit" and report["base_model"]["id"] is None


def test_a_trocr_config_json_names_its_family_and_base(tmp_path):
    config = {
        "model_type": "vision-encoder-decoder",
        "encoder": {"model_type": "vit"},
        "decoder": {"model_type": "trocr"},
        "_name_or_path": "microsoft/trocr-base-printed",
    }
    report = inspect_built(_trocr("base"), tmp_path, config=config)
    assert report["family"] == "trocr" and report["base_model"]["id"] == "microsoft/trocr-base-printed"
    assert not report["conflicts"]


def test_a_full_donut_checkpoint_and_its_fine_tunes(tmp_path):
    report = inspect_built(_donut(), tmp_path / "base")
    assert report["family"] == "donut" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == "naver-clova-ix/donut-base"
    cord = inspect_built(_donut(vocab=57580, positions=768), tmp_path / "cord")  # CORD v2's tokens and length
    assert _ids(cord)[0] == "naver-clova-ix/donut-base-finetuned-cord-v2"
    # a fine-tune of the base with tokens of its own: the base first, by its prior, and no base model from weights
    own = inspect_built(_donut(vocab=57530, positions=512), tmp_path / "own")
    assert own["family"] == "donut" and _ids(own)[0] == "naver-clova-ix/donut-base"


def test_a_lora_on_donut_s_decoder_is_no_musicgen_s(tmp_path):
    report = inspect_built(_donut(), tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "donut" and _ids(report)[0] == "naver-clova-ix/donut-base"


def test_a_donut_config_json_names_its_family(tmp_path):
    config = {
        "model_type": "vision-encoder-decoder",
        "encoder": {"model_type": "donut-swin"},
        "decoder": {"model_type": "mbart"},
        "_name_or_path": "naver-clova-ix/donut-base-finetuned-cord-v2",
    }
    report = inspect_built(_donut(vocab=57580, positions=768), tmp_path, config=config)
    assert report["family"] == "donut"
    assert report["base_model"]["id"] == "naver-clova-ix/donut-base-finetuned-cord-v2" and not report["conflicts"]


def test_another_vision_encoder_decoder_is_still_foreign(tmp_path):
    # a ViT encoder over a GPT-2 decoder (image captioning): neither part names the whole model
    import transformers as tf

    model = _vision_encoder_decoder(tf.ViTConfig(), tf.GPT2Config(add_cross_attention=True))
    config = {
        "model_type": "vision-encoder-decoder",
        "encoder": {"model_type": "vit"},
        "decoder": {"model_type": "gpt2"},
    }
    report = inspect_built(model, tmp_path, config=config)
    assert report["base_model"]["id"] is None and "model_type" in report["base_model"]["reason"]


def test_musicgen_stays_musicgen(tmp_path):
    import transformers as tf

    text, audio = tf.T5Config(d_model=768, num_layers=12, num_heads=12, d_ff=3072), tf.EncodecConfig()
    decoder = tf.MusicgenDecoderConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, ffn_dim=4096)
    config = tf.MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict())
    with torch.device("meta"):
        model = tf.MusicgenForConditionalGeneration(config)
    report = inspect_built(model, tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == "musicgen" and _ids(report)[0] == "facebook/musicgen-small"


def test_names_claim_their_architecture():
    from hfprobe.tree.naming import resolve_name

    assert resolve_name("someone/trocr-base-handwritten-finetuned-iam")[1] == "trocr"
    assert resolve_name("someone/donut-base-sroie")[1] == "donut"
    assert resolve_name("someone/donut_receipts")[1] == "donut"


@pytest.mark.parametrize("model_type", ["fsmt", "grounding-dino", "mask2former"])
def test_other_encoder_decoders_are_no_trocr_nor_donut(model_type, tmp_path):
    # FSMT's BART-style decoder, Grounding DINO's and Mask2Former's Swin beside decoder layers: the first drafts of
    # these families read them as TrOCR's or Donut's at 0.3, as the decoder rules listed them beside Swin's
    from transformers import AutoConfig, AutoModel

    with torch.device("meta"):
        model = AutoModel.from_config(AutoConfig.for_model(model_type))
    assert inspect_built(model, tmp_path)["family"] not in ("trocr", "donut")


def test_a_timm_vit_look_alike_is_no_trocr(tmp_path):
    # ConViT is excluded from ViT; tried by sizes alone, TrOCR's encoder (ViT's layout) fitted it at 0.5 until TrOCR's
    # decoder became a saving convention (`expects`), which sizes alone are not tried without
    import timm

    with torch.device("meta"):
        model = timm.create_model("convit_base", pretrained=False)
    assert inspect_built(model, tmp_path)["family"] != "trocr"

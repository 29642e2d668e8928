"""A checkpoint beside its own config.json: the config is the model's own, so a conflict with it is wrong.

Found by `benchmarks/bench_architectures.py`'s `full+config` reading (every transformers architecture's default
config beside its checkpoint: 13 conflicts), and built here at published sizes, on the meta device, saved under the
names `save_pretrained` writes (a safetensors header over a sparse run of zeros).
"""

from __future__ import annotations

import json

import torch

from hfprobe.tree.inspect import inspect_source
from tests.builders import sparse_folder
from tests.model_shapes import saved_shapes


def checkpoint(tmp_path, model, config, name: str = "model"):
    header = {k: ("F16", s) for k, s in saved_shapes(model).items()}
    files = {"config.json": config.to_json_string(use_diff=False) if config is not None else None}
    return str(sparse_folder(tmp_path / name, header, files))


def test_an_opus_mt_tc_big_model_is_marian_not_a_look_alike_of_another_family(tmp_path):
    """Helsinki-NLP's "tc-big" translation models are Marian at 1024 wide with 6 blocks a side, which no Marian root
    has: BART, PEGASUS, M2M100, mBART and MusicGen roots share the width but not the depth, and the model was read
    as MusicGen's (0.48), a CONFLICT with its own config.json. The config names the architecture, which the key
    names allow: a Marian model the registry lacks."""
    from transformers import MarianConfig, MarianMTModel

    sizes = dict(d_model=1024, encoder_layers=6, decoder_layers=6, encoder_ffn_dim=4096, decoder_ffn_dim=4096)
    sizes |= dict(encoder_attention_heads=16, decoder_attention_heads=16, vocab_size=57059, pad_token_id=57058)
    config = MarianConfig(**sizes, decoder_start_token_id=57058)
    with torch.device("meta"):
        model = MarianMTModel(config)
    report = inspect_source(checkpoint(tmp_path, model, config))
    assert report["family"] == "marian" and not report["conflicts"], report["conflicts"]
    assert report["root"]["id"] is None and report["base_model"]["id"] is None
    assert any("a MarianMT (opus-mt) model the registry lacks" in e for e in report["root"]["evidence"])


def test_a_llamafied_model_keeps_the_lineage_its_every_size_names(tmp_path):
    """The neighbour: a config that re-hosts a model under another class (`model_type: llama` on every size of
    Qwen2.5-0.5B, as "llamafied" conversions are) leaves the lineage to the weights, which fit one root cleanly."""
    from transformers import LlamaConfig, LlamaForCausalLM

    sizes = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14)
    config = LlamaConfig(**sizes, num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True)
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    report = inspect_source(checkpoint(tmp_path, model, config))
    assert report["family"] == "qwen2" and report["root"]["id"].startswith("Qwen/Qwen2"), report["root"]["id"]


def test_blip_2_is_read_by_its_language_model_beside_its_q_former(tmp_path):
    """BLIP-2 (Salesforce/blip2-opt-2.7b) is an EVA vision tower, a Q-Former and OPT-2.7b under `language_model.`.
    The whole model's names were its vision tower's (CLIP's, by the most keys), so the tower was not set aside: CLIP
    at 0.3 and a CONFLICT with its config ("says blip-2 (OPT), but the weights are CLIP"). A `language_model`
    beside the tower is the model read, as LLaVA's is."""
    from transformers import Blip2Config, Blip2ForConditionalGeneration, OPTConfig

    text = OPTConfig(hidden_size=2560, num_hidden_layers=32, ffn_dim=10240, num_attention_heads=32)
    config = Blip2Config(text_config=text.to_dict())
    with torch.device("meta"):
        model = Blip2ForConditionalGeneration(config)
    report = inspect_source(checkpoint(tmp_path, model, config))
    assert report["family"] == "opt" and report["root"]["id"] == "facebook/opt-2.7b" and not report["conflicts"]
    assert any("of a vision or audio tower" in e for e in report["root"]["evidence"])


def test_electra_small_s_narrower_embeddings_fit_it(tmp_path):
    """ELECTRA-small's word embeddings are 128 wide, projected to its hidden 256 (`embeddings_project`): they were
    "a resized vocabulary", so the weights alone named no base model of a fine-tune with no metadata."""
    from transformers import ElectraConfig, ElectraForSequenceClassification

    config = ElectraConfig()  # electra-small-discriminator's sizes
    with torch.device("meta"):
        model = ElectraForSequenceClassification(config)
    report = inspect_source(checkpoint(tmp_path, model, None))
    assert report["family"] == "electra" and report["root"]["id"] == "google/electra-small-discriminator"
    assert report["base_model"]["id"] == "google/electra-small-discriminator", report["base_model"]
    assert not any("resized" in e for e in report["root"]["evidence"])
    report = inspect_source(checkpoint(tmp_path, model, config, "with-config"))
    assert not report["conflicts"] and report["declared"].get("agrees") is not False


def test_a_bare_electra_small_is_electra_by_its_embedding_projection(tmp_path):
    """ElectraModel saved bare (no `electra.` prefix, as sentence-transformers saves its encoder) has BERT's names
    and `embeddings_project`, which no BERT has: it was "BERT, no known root fits" and a CONFLICT with its config."""
    from transformers import ElectraConfig, ElectraModel

    config = ElectraConfig()
    with torch.device("meta"):
        model = ElectraModel(config)
    report = inspect_source(checkpoint(tmp_path, model, config))
    assert report["family"] == "electra" and report["root"]["id"] == "google/electra-small-discriminator"
    assert not report["conflicts"]


def test_a_bare_electra_base_beside_its_config_is_electra(tmp_path):
    """A bare electra-base `ElectraModel` (sentence-transformers saves one) has BERT-base's every name and size: no
    `electra.` prefix and no embedding projection. Its config's `model_type: electra` was a CONFLICT ("the weights
    are BERT"), as ELECTRA was dropped for lacking the prefix its task models are saved with. A saving convention
    the model's own metadata overrides; with no config it reads as BERT (the neighbour: nothing says otherwise)."""
    from transformers import ElectraConfig, ElectraModel

    config = ElectraConfig(embedding_size=768, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                           intermediate_size=3072)  # fmt: skip
    with torch.device("meta"):
        model = ElectraModel(config)
    report = inspect_source(checkpoint(tmp_path, model, config))
    assert report["family"] == "electra" and not report["conflicts"], report["conflicts"]
    assert report["root"]["id"] == "google/electra-base-discriminator"
    assert any("its metadata says ELECTRA, which keeps it" in e for e in report["root"]["evidence"])
    report = inspect_source(checkpoint(tmp_path, model, None, "bare"))
    evidence = report["root"]["evidence"]
    assert report["family"] == "bert" and any("ELECTRA checkpoints are saved with" in e for e in evidence)


def test_blip_s_automodel_class_is_blip(tmp_path):
    """`BlipModel` (AutoModel's class for BLIP) names its text model `text_model.`, where the captioner and the VQA
    model say `text_decoder.bert.` and `text_encoder.`: its vision tower's CLIP-style names (72 keys) outnumbered the
    fused qkv that only BLIP has, so it read as CLIP at 0.5, a CONFLICT with its own `model_type: blip`. Its text
    model's cross-attention, under `text_model.` too, is BLIP's."""
    from transformers import BlipConfig, BlipModel

    config = BlipConfig()  # blip-image-captioning-base's sizes
    with torch.device("meta"):
        model = BlipModel(config)
    for name, cfg in (("bare", None), ("with-config", config)):
        report = inspect_source(checkpoint(tmp_path, model, cfg, name))
        assert report["family"] == "blip" and not report["conflicts"], (name, report["family"], report["conflicts"])
        assert report["root"]["id"] in ("Salesforce/blip-image-captioning-base", "Salesforce/blip-vqa-base")


def test_a_composite_whose_weights_are_not_its_text_model_names_an_architecture_the_registry_lacks(tmp_path):
    """Grounding DINO's config has a `text_config` (BERT's), which names the family of a composite the registry
    lacks, as LLaVA's names its decoder's. Its weights are most of all its Swin backbone's: that claim was a CONFLICT
    ("says grounding-dino (BERT), but the weights are Swin Transformer"). It names no family then; the model's
    architecture is one the registry lacks (no base_model from the weights, the family at most 0.5 sure)."""
    from transformers import GroundingDinoConfig, GroundingDinoModel

    config = GroundingDinoConfig()  # grounding-dino-tiny's sizes: Swin-T beside BERT-base
    with torch.device("meta"):
        model = GroundingDinoModel(config)
    report = inspect_source(checkpoint(tmp_path, model, config))
    assert not report["conflicts"] and report["family"] != "bert" and report["family_confidence"] <= 0.5
    assert report["base_model"]["id"] is None and "grounding-dino" in report["base_model"]["reason"]
    assert any("grounding-dino, an architecture the registry has no roots for" in e for e in report["root"]["evidence"])


def timm_checkpoint(tmp_path, name: str, tag: str):
    """A timm model's checkpoint and the config.json timm's `push_to_hf_hub` writes (architecture, pretrained tag)."""
    import timm

    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False)
    header = {k: ("F16", tuple(v.shape) or (1,)) for k, v in model.state_dict().items()}
    config = {"architecture": name, "num_classes": model.num_classes, "pretrained_cfg": {"tag": tag}}
    return str(sparse_folder(tmp_path / name, header, {"config.json": json.dumps(config)}))


def test_a_timm_model_s_name_guesses_no_family_its_weights_are_not(tmp_path):
    """timm's config names the pretrained weights a model was built from (`timm/<architecture>.<tag>`), whose words
    are timm's: a ConvNeXt pretrained on LAION with CLIP was "CLIP" and EVA-02's CLIP tower too, each a CONFLICT with
    its own config (56 of timm's 1,371 architectures). Such a word picks only among the families the weights allow;
    where it is not the family they are read as, the id is one the registry cannot check. A DeiT III fine-tune's
    `timm/deit3_base_patch16_224.fb_in1k`, on ViT layers, is written as declared (the neighbour), and so, since
    ConvNeXt is a family, is the ConvNeXt's (its MLP head is no role, its stages ConvNeXt-large's)."""
    report = inspect_source(timm_checkpoint(tmp_path, "eva02_base_patch16_clip_224", "merged2b"))
    assert not report["conflicts"] and report["family"] != "clip" and report["base_model"]["id"] is None
    report = inspect_source(timm_checkpoint(tmp_path, "convnext_large_mlp", "clip_laion2b_soup_ft_in12k_in1k_320"))
    assert not report["conflicts"] and report["family"] == "convnext", report["conflicts"]
    assert report["base_model"]["id"] == "timm/convnext_large_mlp.clip_laion2b_soup_ft_in12k_in1k_320"
    report = inspect_source(timm_checkpoint(tmp_path, "deit3_base_patch16_224", "fb_in1k"))
    assert report["base_model"]["id"] == "timm/deit3_base_patch16_224.fb_in1k" and not report["conflicts"]

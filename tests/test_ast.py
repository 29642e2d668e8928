"""The Audio Spectrogram Transformer (AST): a ViT-B over a one-channel log-mel spectrogram, whose audio-classification
fine-tunes start from MIT's checkpoints. Its keys are a ViT's under the prefix `audio_spectrogram_transformer.`, and
its strides and input length set its position table (frequency_out x time_out + 2). Models are built by
transformers on the meta device at the published sizes (ASTConfig's defaults are MIT's AudioSet 10-10 models) and
written as header-only safetensors files.

Before: a LoRA on it read as ViT at 0.79, google/vit-base-patch16-224-in21k first, and its full checkpoint as ViT at
0.3 with no root.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.inspect import inspect_source
from hfprobe.tree.naming import resolve_name
from tests.builders import write_header
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

AUDIOSET = "MIT/ast-finetuned-audioset-10-10-0.4593"
ENSEMBLE = {AUDIOSET, *(f"MIT/ast-finetuned-audioset-10-10-{s}" for s in ("0.450", "0.448", "0.448-v2"))}
SPEECH = "MIT/ast-finetuned-speech-commands-v2"


def _ast(**config):
    import transformers as tf

    with torch.device("meta"):
        return tf.ASTForAudioClassification(tf.ASTConfig(**config))


def test_an_audioset_fine_tune_reads_as_ast_with_mit_s_model_first(tmp_path):
    report = inspect_built(_ast(num_labels=10), tmp_path)
    assert report["family"] == "ast" and report["family_confidence"] >= 0.9
    ids = [c["id"] for c in report["root"]["candidates"]]
    assert ids[0] == AUDIOSET and set(ids[:4]) == ENSEMBLE  # the ensemble's members share every shape
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"
    assert any("1214" in e for e in report["root"]["evidence"]) or report["root"]["id"] == AUDIOSET


def test_the_position_table_tells_the_speech_commands_model(tmp_path):
    report = inspect_built(_ast(max_length=128, num_labels=35), tmp_path)
    assert report["family"] == "ast" and report["root"]["id"] == SPEECH


@pytest.mark.parametrize("saved, modules", [(True, ("query", "value")), (False, ("q_proj", "v_proj"))])
def test_an_adapter_is_ast_s_and_takes_its_declared_base(saved, modules, tmp_path):
    model = _ast()
    bare = inspect_built(model, tmp_path / "bare", lora=modules, saved=saved)
    assert bare["family"] == "ast" and bare["family_confidence"] >= 0.9
    assert bare["root"]["id"] == AUDIOSET and bare["base_model"]["id"] is None  # (every AST root fits q and v)
    config = {"peft_type": "LORA", "base_model_name_or_path": SPEECH, "r": 8, "lora_alpha": 16}
    declared = inspect_built(model, tmp_path / "declared", lora=modules, saved=saved, config=config)
    assert declared["base_model"]["id"] == SPEECH and not declared["conflicts"]


def test_its_own_config_and_names_say_ast(tmp_path):
    model = _ast()
    report = inspect_built(model, tmp_path, config=model.config.to_dict())
    assert report["family"] == "ast" and not report["conflicts"]
    # saved bare (ASTModel: no prefix, a ViT's names), its one-channel patch embedding rules out every ViT; with its
    # config.json `model_type: audio-spectrogram-transformer` that was a conflict ("but the weights are ViT")
    import transformers as tf

    with torch.device("meta"):
        bare = tf.ASTModel(tf.ASTConfig())
    for folder, config in (("bare", None), ("bare+config", bare.config.to_dict())):
        report = inspect_built(bare, tmp_path / folder, config=config)
        assert report["family"] == "ast" and report["root"]["id"] == AUDIOSET and not report["conflicts"]
    assert resolve_name("someone/ast-finetuned-audioset-10-10-0.4593-finetuned-gtzan") == (None, "ast")


def test_a_vit_is_no_ast(tmp_path):
    """A ViT-B/16's every layer has AST's sizes; its patch embedding takes 3 channels, AST's 1."""
    import transformers as tf

    with torch.device("meta"):
        vit = tf.ViTForImageClassification(tf.ViTConfig())
    report = inspect_built(vit, tmp_path)
    assert report["family"] == "vit" and not any(c["id"].startswith("MIT/") for c in report["root"]["candidates"])
    # nor is a LoRA on a bare ViT (no prefix): it has neither AST's prefix nor its distillation token, which a bare
    # AST checkpoint holds (a LoRA on a ViT-B was 0.66 sure, not 0.79, while AST's roots fitted it too)
    lora = inspect_built(vit.vit, tmp_path / "lora", lora=("query", "value"))
    fitted = next(e for e in lora["root"]["evidence"] if e.startswith("weights fit roots of"))
    assert lora["family"] == "vit" and "ast" not in fitted


@pytest.mark.parametrize("name", ["convit_base", "xcit_small_12_p16_224"])
def test_timm_s_vits_of_other_attention_are_no_ast(name, tmp_path):
    """ConViT's and XCiT's LoRAs (timm's `blocks.N.mlp.fc1`, which ViT's rules exclude for their attention) fell to
    AST by sizes alone when its MLP roles took any `mlp.fc1`: AST's are `layers.N.mlp.fc1`."""
    import timm

    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False)
    tensors = {}
    for key, v in model.state_dict().items():
        if key.endswith(".weight") and v.dim() == 2 and min(v.shape) >= 16 and "embed" not in key:
            module = key.removesuffix(".weight")
            tensors[f"base_model.model.{module}.lora_A.weight"] = ("F16", (8, v.shape[1]))
            tensors[f"base_model.model.{module}.lora_B.weight"] = ("F16", (v.shape[0], 8))
    write_header(tmp_path / "adapter_model.safetensors", tensors, data=False)
    assert inspect_source(str(tmp_path))["family"] != "ast"

"""Prompt-side adapters: CLIP prompt learners as CoOp and the Dassl-based methods save them
(`prompt_learner/model.pth.tar-50`), PyTorch's `.pth.tar` checkpoints, and ChatGLM's P-tuning v2 prefix encoders.
The first two were refused: the file name was no torch pickle's ("hfprobe reads .safetensors, .gguf and torch
pickles"), and the learner's `ctx` / `token_prefix` / `token_suffix` no known layout. The widths are open_clip's
(ViT-B-16's 512-wide text encoder, 77 positions); the learner is saved as Dassl's `save_checkpoint` does.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.formats import open_weights
from hfprobe.tree.inspect import format_report, inspect_source

open_clip = pytest.importorskip("open_clip")


def _learner(classes: int, n_ctx: int = 16, per_class: bool = False, meta_net: bool = False) -> dict:
    """A CoOp (or CoCoOp) PromptLearner's state dict at ViT-B-16's text width."""
    text = open_clip.get_model_config("ViT-B-16")["text_cfg"]
    width, positions = text["width"], text["context_length"]
    state = {
        "ctx": torch.randn(classes, n_ctx, width) if per_class else torch.randn(n_ctx, width),
        "token_prefix": torch.zeros(classes, 1, width),
        "token_suffix": torch.zeros(classes, positions - 1 - n_ctx, width),
    }
    if meta_net:  # CoCoOp: image features (512 for ViT-B-16) -> a bias on the context
        state |= {"meta_net.linear1.weight": torch.zeros(32, 512), "meta_net.linear2.weight": torch.zeros(width, 32)}
    return state


def _save(state: dict, folder, epoch: int = 50):
    folder.mkdir(parents=True)
    path = folder / f"model.pth.tar-{epoch}"
    torch.save({"state_dict": state, "epoch": epoch, "optimizer": None, "scheduler": None}, path)
    return path


def test_a_coop_prompt_learner_is_a_clip_adapter_for_its_classes(tmp_path):
    path = _save(_learner(classes=101), tmp_path / "prompt_learner")
    for source in (path, path.parent):
        report = inspect_source(str(source))
        assert (report["format"], report["kind"], report["family"]) == ("prompt-learner", "adapter", "clip")
        assert "openai/clip-vit-base-patch16" in {c["id"] for c in report["root"]["candidates"]}
        assert any("ruled out openai/clip-vit-large-patch14" in e for e in report["root"]["evidence"])
        assert report["head"]["outputs"] == 101
    assert "head     token_prefix, 101 outputs" in format_report(report)
    view = open_weights(str(path))
    ctx = view.modules["ctx"]
    assert (ctx.kind, ctx.d_out, ctx.d_in) == ("embedding", 16, 512)


def test_class_specific_contexts_and_cocoop_s_meta_net(tmp_path):
    path = _save(_learner(classes=37, per_class=True, meta_net=True), tmp_path / "cocoop")
    view = open_weights(str(path))
    assert view.format == "prompt-learner" and {"ctx", "meta_net.linear1", "meta_net.linear2"} <= set(view.modules)
    assert any("per class" in n and "37 classes" in n for n in view.notes)
    assert inspect_source(str(path))["family"] == "clip"


def test_a_pth_tar_checkpoint_is_a_torch_pickle(tmp_path):
    """PyTorch's ImageNet example saves `checkpoint.pth.tar` / `model_best.pth.tar`: `{"state_dict": …, "epoch"}`."""
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37))
    torch.save({"state_dict": model.state_dict(), "epoch": 3, "best_acc1": 0.5}, tmp_path / "model_best.pth.tar")
    report = inspect_source(str(tmp_path))
    assert (report["format"], report["family"]) == ("transformers-checkpoint", "bert")


@pytest.mark.parametrize(
    "name, layers_kv, root",
    [("THUDM/chatglm-6b", 28 * 2 * 4096, "THUDM/chatglm-6b"), ("THUDM/chatglm2-6b", 28 * 2 * 2 * 128, None)],
)
def test_a_chatglm_p_tuning_v2_prefix_is_an_adapter_of_its_base(name, layers_kv, root, tmp_path):
    """ChatGLM's `ptuning/main.py` saves only `transformer.prefix_encoder.embedding.weight` ([pre_seq_len,
    layers x 2 x key-value width]) beside the model's config.json: it was a checkpoint of no family ("shapes alone
    fit bert"), its declared `_name_or_path` a conflict. ChatGLM2 and 3 share that width."""
    torch.save(
        {"transformer.prefix_encoder.embedding.weight": torch.zeros(128, layers_kv)}, tmp_path / "pytorch_model.bin"
    )
    (tmp_path / "config.json").write_text(f'{{"_name_or_path": "{name}", "model_type": "chatglm", "pre_seq_len": 128}}')
    report = inspect_source(str(tmp_path))
    assert (report["kind"], report["family"], report["conflicts"]) == ("adapter", "chatglm", [])
    assert report["base_model"]["id"] == name
    if root:
        assert report["root"]["id"] == root and len(report["root"]["candidates"]) == 1
    else:
        assert {c["id"] for c in report["root"]["candidates"]} == {"THUDM/chatglm2-6b", "THUDM/chatglm3-6b"}

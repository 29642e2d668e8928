"""LoRAs on CLIP as CLIP-LoRA (few-shot CLIP adaptation) and LoRA-Torch save them: `w_lora_A` [r, in] and
`w_lora_B` [out, r] on the q/k/v/out projections CLIP-LoRA splits each `nn.MultiheadAttention` into. Both were
refused ("unknown weights layout"). The attention blocks are at open_clip's sizes (ViT-B-16: a 512-wide text
encoder, a 768-wide vision encoder, 12 blocks each); CLIP-LoRA's scaling, alpha / sqrt(r), is the oracle for ΔW.
"""

from __future__ import annotations

import math

import pytest
import torch

from hfprobe.formats import open_weights
from hfprobe.tree.inspect import inspect_source

open_clip = pytest.importorskip("open_clip")

PROJ = ("q_proj", "k_proj", "v_proj", "proj")


def _blocks(name: str = "ViT-B-16") -> list[tuple[str, int]]:
    """(prefix, width) of every attention block CLIP-LoRA adapts with encoder 'both': the text encoder's, then the
    vision encoder's, in open_clip's (OpenAI CLIP's) names, at the sizes open_clip's config gives."""
    cfg = open_clip.get_model_config(name)
    text, vision = cfg["text_cfg"], cfg["vision_cfg"]
    return [(f"transformer.resblocks.{i}.attn", text["width"]) for i in range(text["layers"])] + [
        (f"visual.transformer.resblocks.{i}.attn", vision["width"]) for i in range(vision["layers"])
    ]


def _pairs(width: int, r: int) -> dict[str, torch.Tensor]:
    return {"w_lora_A": torch.randn(r, width), "w_lora_B": torch.randn(width, r)}


def test_clip_lora_save_lora_file_reads_as_a_clip_lora(tmp_path):
    """CLIP-LoRA's `save_lora`: {'weights': {'layer_i': {'q_proj': {'w_lora_A', 'w_lora_B'}, …}}, 'metadata': …}."""
    torch.manual_seed(0)
    r, alpha = 2, 1
    weights = {f"layer_{i}": {p: _pairs(w, r) for p in PROJ} for i, (_, w) in enumerate(_blocks())}
    meta = {"r": r, "alpha": alpha, "encoder": "both", "params": ["q", "k", "v", "o"], "position": "all"}
    path = tmp_path / "lora_weights.pt"
    torch.save({"weights": weights, "metadata": meta}, path)

    report = inspect_source(str(path))
    assert (report["format"], report["kind"], report["rank"], report["family"]) == ("loralib", "adapter", r, "clip")
    ids = {c["id"] for c in report["root"]["candidates"]}
    assert "openai/clip-vit-base-patch16" in ids and not any("large" in i for i in ids)  # 512 and 768 wide: ViT-B
    assert any("CLIP-LoRA" in n and "sqrt(r)" in n for n in report["notes"])

    view = open_weights(str(path))
    assert len(view.modules) == 24 * 4
    pair = weights["layer_15"]["v_proj"]  # the vision encoder's fourth block
    want = pair["w_lora_B"] @ pair["w_lora_A"] * alpha / math.sqrt(r)  # CLIP-LoRA's LoRALayer.scaling
    assert torch.allclose(view.layer("weights.layer_15.v_proj", scaled=True), want, atol=1e-5)


def test_lora_torch_state_dict_on_clip_reads_under_clip_s_names(tmp_path):
    """The same layers as a state dict (`lora_state_dict`: every `…w_lora_*` parameter under its module's path)."""
    torch.manual_seed(0)
    state = {f"{prefix}.{p}.{k}": v for prefix, w in _blocks() for p in PROJ for k, v in _pairs(w, 4).items()}
    torch.save(state, tmp_path / "lora.pt")
    report = inspect_source(str(tmp_path / "lora.pt"))
    assert (report["format"], report["rank"], report["family"]) == ("loralib", 4, "clip")
    assert "openai/clip-vit-base-patch16" in {c["id"] for c in report["root"]["candidates"]}
    evidence = " ".join(report["root"]["evidence"])
    assert "ruled out openai/clip-vit-large-patch14" in evidence
    view = open_weights(str(tmp_path / "lora.pt"))
    name = "visual.transformer.resblocks.3.attn.q_proj"
    a, b = state[f"{name}.w_lora_A"], state[f"{name}.w_lora_B"]
    assert torch.allclose(view.layer(name, scaled=True), b @ a / 4, atol=1e-5)  # LoRA-Torch: alpha 1 / r

"""Whisper in OpenAI's own names: the checkpoints `openai-whisper` loads and saves (`{"dims": …,
"model_state_dict": …}`: `encoder.blocks.N.attn.query`, `mlp.0`, `decoder.blocks.N.cross_attn`, `encoder.ln_post`),
and the LoRAs trained on that model (loralib's `lora_A` / `lora_B` on `attn.query` and `attn.value`).

Before: a whole checkpoint was Whisper at 0.5 by its convolution stem alone ("0% of the parameters are in layers
Whisper roots have"), with no base_model; a LoRA on it had no family ("shapes alone fit bert, t5, whisper, …").
The names are openai-whisper's (`whisper/model.py`: AudioEncoder, TextDecoder, ResidualAttentionBlock), at
whisper-tiny's published dimensions.
"""

from __future__ import annotations

import pytest
import torch

from hfprobe.tree.inspect import inspect_source
from tests.builders import write_header

TINY = {"d": 384, "layers": 4, "mels": 80, "vocab": 51865, "audio_ctx": 1500, "text_ctx": 448}


def _openai_whisper(d: int, layers: int, mels: int, vocab: int, audio_ctx: int, text_ctx: int) -> dict:
    """{name: shape} of openai-whisper's `Whisper(dims).state_dict()`."""
    out = {
        "encoder.positional_embedding": (audio_ctx, d),
        "encoder.conv1.weight": (d, mels, 3), "encoder.conv1.bias": (d,),
        "encoder.conv2.weight": (d, d, 3), "encoder.conv2.bias": (d,),
        "encoder.ln_post.weight": (d,), "encoder.ln_post.bias": (d,),
        "decoder.positional_embedding": (text_ctx, d), "decoder.token_embedding.weight": (vocab, d),
        "decoder.ln.weight": (d,), "decoder.ln.bias": (d,),
    }  # fmt: skip
    for side in ("encoder", "decoder"):
        for i in range(layers):
            block = f"{side}.blocks.{i}"
            for attn in ("attn", "cross_attn") if side == "decoder" else ("attn",):
                for proj in ("query", "key", "value", "out"):
                    out[f"{block}.{attn}.{proj}.weight"] = (d, d)
                    if proj != "key":  # openai-whisper's key projection has no bias
                        out[f"{block}.{attn}.{proj}.bias"] = (d,)
                out[f"{block}.{attn}_ln.weight"] = out[f"{block}.{attn}_ln.bias"] = (d,)
            out[f"{block}.mlp.0.weight"], out[f"{block}.mlp.0.bias"] = (4 * d, d), (4 * d,)
            out[f"{block}.mlp.2.weight"], out[f"{block}.mlp.2.bias"] = (d, 4 * d), (d,)
            out[f"{block}.mlp_ln.weight"] = out[f"{block}.mlp_ln.bias"] = (d,)
    return out


def test_an_openai_whisper_checkpoint_is_whisper_at_its_size(tmp_path):
    shapes = _openai_whisper(**TINY)
    write_header(tmp_path / "tiny.safetensors", {k: ("F16", s) for k, s in shapes.items()}, data=False)
    report = inspect_source(str(tmp_path / "tiny.safetensors"))
    assert (report["family"], report["family_confidence"]) == ("whisper", 1.0)
    assert report["root"]["id"] == "openai/whisper-tiny" and report["base_model"]["id"] == "openai/whisper-tiny"
    small = _openai_whisper(**{**TINY, "d": 768, "layers": 12})
    write_header(tmp_path / "small" / "small.safetensors", {k: ("F16", s) for k, s in small.items()}, data=False)
    assert inspect_source(str(tmp_path / "small"))["root"]["id"] == "openai/whisper-small"


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_lora_on_openai_whisper_is_whisper_s(wrapped, tmp_path):
    """loralib's state dict, alone or inside the `{"dims", "model_state_dict"}` wrapper openai-whisper saves."""
    state = {}
    for name, shape in _openai_whisper(**TINY).items():
        if name.endswith(("attn.query.weight", "attn.value.weight")):
            module = name.removesuffix(".weight")
            state[f"{module}.lora_A"], state[f"{module}.lora_B"] = torch.zeros(8, shape[1]), torch.zeros(shape[0], 8)
    obj = {"dims": {"n_audio_state": 384, "n_text_layer": 4}, "model_state_dict": state} if wrapped else state
    torch.save(obj, tmp_path / "whisper_lora.pt")
    report = inspect_source(str(tmp_path / "whisper_lora.pt"))
    assert (report["format"], report["kind"], report["family"]) == ("loralib", "adapter", "whisper")
    assert report["root"]["id"] == "openai/whisper-tiny"
    assert any("decoder.blocks.3.cross_attn.value" in e or "ruled out" in e for e in report["root"]["evidence"])

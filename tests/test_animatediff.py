"""AnimateDiff's motion modules: diffusers' `MotionAdapter` (guoyww/animatediff-motion-adapter-*), the original
checkpoints (`mm_sd_v15_v2.ckpt`: `temporal_transformer.transformer_blocks.N.attention_blocks.M`) and the motion
LoRAs trained on them. Each was "unknown" ("shapes alone fit qwen2, llama, whisper, …"). The adapters are built
by diffusers on the meta device at the published versions' settings; the original names are checked against
diffusers' own single-file converter, which must map them back to the MotionAdapter's.
"""

from __future__ import annotations

import re

import pytest
import torch

from hfprobe.tree.inspect import inspect_source
from tests.builders import write_header

pytest.importorskip("diffusers")

VERSIONS = {  # MotionAdapter settings of the published adapters
    "guoyww/animatediff-motion-adapter-v1-5-2": {},  # diffusers' defaults: v2, with a mid-block module
    "guoyww/animatediff-motion-adapter-v1-5-3": {"use_motion_mid_block": False},
    "guoyww/animatediff-motion-adapter-sdxl-beta": {
        "block_out_channels": (320, 640, 1280),
        "use_motion_mid_block": False,
    },
}


def _adapter(**kw) -> dict[str, tuple[int, ...]]:
    from diffusers import MotionAdapter

    with torch.device("meta"):
        return {k: tuple(v.shape) for k, v in MotionAdapter(**kw).state_dict().items()}


def _original(name: str) -> str:
    """A MotionAdapter name as the original AnimateDiff checkpoints spell it."""
    name = re.sub(r"(motion_modules\.\d+)\.", r"\1.temporal_transformer.", name)
    name = name.replace(".attn1.", ".attention_blocks.0.").replace(".attn2.", ".attention_blocks.1.")
    name = name.replace(".norm1.", ".norms.0.").replace(".norm2.", ".norms.1.").replace(".norm3.", ".ff_norm.")
    return name.replace(".pos_embed.pe", ".pos_encoder.pe")


@pytest.mark.parametrize("root", sorted(VERSIONS))
def test_a_motion_adapter_names_its_version(root, tmp_path):
    shapes = _adapter(**VERSIONS[root])
    write_header(
        tmp_path / "diffusion_pytorch_model.safetensors", {k: ("F16", s) for k, s in shapes.items()}, data=False
    )
    report = inspect_source(str(tmp_path))
    assert report["family"] == "animatediff" and report["family_confidence"] == 1.0
    assert report["root"]["id"] == root or root in {c["id"] for c in report["root"]["candidates"]}
    assert not any("sdxl" in c["id"] for c in report["root"]["candidates"]) == ("sdxl" not in root)


def test_the_original_checkpoint_names_read_alike(tmp_path):
    from diffusers.loaders.single_file_utils import convert_animatediff_checkpoint_to_diffusers

    shapes = _adapter()
    original = {_original(k): s for k, s in shapes.items()}
    back = convert_animatediff_checkpoint_to_diffusers(dict(original))  # diffusers drops the position tables
    assert set(back) == {k for k in shapes if not k.endswith("pos_embed.pe")}
    write_header(tmp_path / "mm_sd_v15_v2.safetensors", {k: ("F16", s) for k, s in original.items()}, data=False)
    report = inspect_source(str(tmp_path / "mm_sd_v15_v2.safetensors"))
    assert (report["family"], report["root"]["id"]) == ("animatediff", "guoyww/animatediff-motion-adapter-v1-5-2")


def test_a_motion_lora_is_an_adapter_of_the_v2_module(tmp_path):
    """A motion LoRA (the processor-style factors of `v2_lora_ZoomIn.ckpt`) on every attention of the v2 module."""
    state = {}
    for name, shape in _adapter().items():
        if m := re.match(r"(.*)\.(attn[12])\.(to_[qkv]|to_out\.0)\.weight$", name):
            base = _original(f"{m[1]}.{m[2]}.") + f"processor.{m[3].replace('.0', '')}_lora"
            state[f"{base}.down.weight"], state[f"{base}.up.weight"] = (
                torch.zeros(4, shape[1]),
                torch.zeros(shape[0], 4),
            )
    torch.save(state, tmp_path / "v2_lora_ZoomIn.ckpt")
    report = inspect_source(str(tmp_path / "v2_lora_ZoomIn.ckpt"))
    assert (report["kind"], report["family"]) == ("adapter", "animatediff")
    assert report["base_model"]["id"] == "guoyww/animatediff-motion-adapter-v1-5-2"


def test_a_unet_saved_with_its_motion_modules_stays_the_unet_s(tmp_path):
    """UNetMotionModel at SD 1.5's sizes, whole and as a LoRA on all of its attention, spatial and temporal: the
    UNet's names place it, and its motion modules are not checked as SD's cross-attention."""
    from diffusers import UNetMotionModel

    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in UNetMotionModel(cross_attention_dim=768).state_dict().items()}
    write_header(
        tmp_path / "full" / "diffusion_pytorch_model.safetensors",
        {k: ("F16", s) for k, s in shapes.items()},
        data=False,
    )
    full = inspect_source(str(tmp_path / "full"))
    lora = {}
    for name, shape in shapes.items():
        if re.search(r"\.attn[12]\.(to_[qkv]|to_out\.0)\.weight$", name):
            base = "unet." + name.removesuffix(".weight")
            lora[f"{base}.lora_A.weight"], lora[f"{base}.lora_B.weight"] = (
                ("F16", (4, shape[1])),
                ("F16", (shape[0], 4)),
            )
    write_header(tmp_path / "lora" / "pytorch_lora_weights.safetensors", lora, data=False)
    for report in (full, inspect_source(str(tmp_path / "lora"))):
        assert report["family"] == "sd1" and report["root"]["id"] == "stable-diffusion-v1-5/stable-diffusion-v1-5"

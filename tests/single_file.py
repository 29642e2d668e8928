"""Diffusion models in their authors' own layouts, as the Hub and A1111/ComfyUI users keep them: a Stable Diffusion
checkpoint in CompVis/Stability's layout (`model.diffusion_model.input_blocks.…`, its VAE under `first_stage_model.`,
its text encoder under `cond_stage_model.`), SD3 / SD 3.5 in Stability's (`joint_blocks.N.x_block.attn.qkv`),
FLUX.1 and FLUX.2 in Black Forest Labs' (`double_blocks.N.img_attn.qkv`), HunyuanVideo in Tencent's
(`double_blocks.N.img_attn_qkv`), Wan in its own (`blocks.N.self_attn.q`) and Z-Image in Tongyi's
(`layers.N.attention.qkv`). Each is
the published model's diffusers modules (built on the meta device, so nothing is allocated) renamed into that
layout; `tests/test_single_file.py` checks that diffusers' own single-file converters take each back to exactly
the diffusers model's names and shapes.

    shapes = sd_single_file("sd1")        # {key: shape} of an SD 1.5 checkpoint as A1111 saves it
"""

from __future__ import annotations

import re

import torch

from tests.model_shapes import SD15, SD21, SDXL

UNETS = {"sd1": SD15, "sd2": SD21, "sdxl": SDXL}  # the published UNet configs (tests/model_shapes.py's)
VAE = dict(
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    latent_channels=4,
    layers_per_block=2,
)
FLUX1 = dict(num_layers=19, num_single_layers=38, guidance_embeds=True)  # FLUX.1-dev's (diffusers' defaults else)
_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1"}
_RESNET |= {"norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


def diffusers_shapes(cls: str, **config) -> dict[str, tuple[int, ...]]:
    """{key: shape} of a diffusers model class built on the meta device from this configuration (built once)."""
    key = repr(sorted(config.items()))
    if (cls, key) not in _BUILT:
        import diffusers

        with torch.device("meta"):
            model = getattr(diffusers, cls)(**config)
        _BUILT[cls, key] = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return dict(_BUILT[cls, key])


_BUILT: dict = {}


def ldm_unet_name(key: str, levels: int, layers: int = 2) -> str:
    """A diffusers UNet key under the original (ldm/sgm) names: down block i's layer j is input block
    i*(layers+1)+j+1, up block i's layer j output block i*(layers+1)+j."""

    def resnet(rest: str) -> str:
        head, _, tail = rest.partition(".")
        return f"{_RESNET[head]}.{tail}"

    if m := re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        i, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        block = i * (layers + 1) + j + 1
        return f"input_blocks.{block}.0.{resnet(rest)}" if kind == "resnets" else f"input_blocks.{block}.1.{rest}"
    if m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
        return f"input_blocks.{(int(m[1]) + 1) * (layers + 1)}.0.op.{m[2]}"
    if m := re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        i, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        block = i * (layers + 1) + j
        return f"output_blocks.{block}.0.{resnet(rest)}" if kind == "resnets" else f"output_blocks.{block}.1.{rest}"
    if m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
        return f"output_blocks.{int(m[1]) * (layers + 1) + layers}.{{upsample}}.conv.{m[2]}"
    if m := re.match(r"mid_block\.resnets\.(\d)\.(.*)", key):
        return f"middle_block.{2 * int(m[1])}.{resnet(m[2])}"
    if m := re.match(r"mid_block\.attentions\.0\.(.*)", key):
        return f"middle_block.1.{m[1]}"
    for a, b in (
        ("conv_in.", "input_blocks.0.0."),
        ("time_embedding.linear_1.", "time_embed.0."),
        ("time_embedding.linear_2.", "time_embed.2."),
        ("add_embedding.linear_1.", "label_emb.0.0."),
        ("add_embedding.linear_2.", "label_emb.0.2."),
        ("conv_norm_out.", "out.0."),
        ("conv_out.", "out.2."),
    ):
        if key.startswith(a):
            return b + key[len(a) :]
    raise KeyError(key)


def ldm_unet(family: str) -> dict[str, tuple[int, ...]]:
    """The UNet of `family` (sd1, sd2, sdxl) under `model.diffusion_model.`, as a single-file checkpoint holds it."""
    shapes = diffusers_shapes("UNet2DConditionModel", **UNETS[family])
    levels = len(UNETS[family].get("block_out_channels", (0,) * 4))
    names = {key: ldm_unet_name(key, levels) for key in shapes}
    attention = {name.split(".")[1] for name in names.values() if re.match(r"output_blocks\.\d+\.1\.", name)}
    out = {}
    for key, name in names.items():  # an up block's upsampler follows its attention where it has one
        name = name.replace("{upsample}", "2" if name.split(".")[1] in attention else "1")
        out[f"model.diffusion_model.{name}"] = shapes[key]
    return out


def controlnet_config(family: str) -> dict:
    """The ControlNet of `family` (sd1, sd2, sdxl): its UNet's encoder half (diffusers' ControlNetModel arguments)."""
    drop = ("sample_size", "out_channels", "up_block_types", "upcast_attention")
    return {k: v for k, v in UNETS[family].items() if k not in drop}


def ldm_controlnet(family: str, prefix: str = "control_model.") -> dict[str, tuple[int, ...]]:
    """A ControlNet in the original layout (lllyasviel's `control_v11p_sd15_canny.pth`, ComfyUI's fp16 copies;
    thibaud's SD 2.1 ones have no `control_model.`): its UNet half in the UNet's names, its zero convolutions
    `zero_convs.N.0` and `middle_block_out.0`, its hint encoder `input_hint_block.{0,2,…,14}`."""
    config = controlnet_config(family)
    shapes = diffusers_shapes("ControlNetModel", **config)
    levels = len(config.get("block_out_channels", (0,) * 4))
    out = {}
    for key, shape in shapes.items():
        if m := re.match(r"controlnet_down_blocks\.(\d+)\.(.*)", key):
            name = f"zero_convs.{m[1]}.0.{m[2]}"
        elif m := re.match(r"controlnet_cond_embedding\.blocks\.(\d+)\.(.*)", key):
            name = f"input_hint_block.{2 * int(m[1]) + 2}.{m[2]}"
        else:
            for a, b in (
                ("controlnet_mid_block.", "middle_block_out.0."),
                ("controlnet_cond_embedding.conv_in.", "input_hint_block.0."),
                ("controlnet_cond_embedding.conv_out.", "input_hint_block.14."),
            ):
                if key.startswith(a):
                    name = b + key[len(a) :]
                    break
            else:
                name = ldm_unet_name(key, levels)
        out[prefix + name] = shape
    return out


def ldm_vae() -> dict[str, tuple[int, ...]]:
    """SD's VAE under `first_stage_model.` in the original names (its attention as 1x1 convolutions)."""
    shapes = diffusers_shapes("AutoencoderKL", **VAE)
    ups = len(VAE["up_block_types"])
    out = {}
    for key, shape in shapes.items():
        name = key.replace("down_blocks.", "down.").replace(".resnets.", ".block.")
        name = name.replace("conv_shortcut", "nin_shortcut")
        name = name.replace("downsamplers.0", "downsample").replace("upsamplers.0", "upsample")
        name = name.replace("mid_block.attentions.0.", "mid.attn_1.").replace("conv_norm_out", "norm_out")
        name = re.sub(r"mid_block\.block\.(\d)", lambda m: f"mid.block_{int(m[1]) + 1}", name)
        name = re.sub(r"up_blocks\.(\d+)", lambda m: f"up.{ups - 1 - int(m[1])}", name)
        if ".attn_1." in name:
            for a, b in (("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")):
                name = name.replace(f".attn_1.{a}.", f".attn_1.{b}.")
            shape = (*shape, 1, 1) if len(shape) == 2 else shape
        out[f"first_stage_model.{name}"] = shape
    return out


def clip_text(prefix: str) -> dict[str, tuple[int, ...]]:
    """CLIP ViT-L/14's text encoder (SD 1.x's, SDXL's first) under `prefix`, in transformers' names."""
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12)
    with torch.device("meta"):
        model = CLIPTextModel(config)
    return {prefix + k: tuple(v.shape) for k, v in model.state_dict().items()}


def sd_single_file(family: str, pipeline: bool = True) -> dict[str, tuple[int, ...]]:
    """A Stable Diffusion checkpoint as one file: the UNet, and with `pipeline` the VAE and (SD 1.x) the text
    encoder too, as A1111 and the original repos keep them."""
    out = ldm_unet(family)
    if pipeline:
        out |= ldm_vae()
        if family == "sd1":
            out |= clip_text("cond_stage_model.transformer.")
    return out


def bfl_flux(**config) -> dict[str, tuple[int, ...]]:
    """FLUX.1 in Black Forest Labs' own layout (`flux1-dev.safetensors`): fused qkv, modulation `lin` layers."""
    cfg = {**FLUX1, **config}
    d = diffusers_shapes("FluxTransformer2DModel", **cfg)
    inner, mlp = d["x_embedder.weight"][0], d["transformer_blocks.0.ff.net.0.proj.weight"][0]
    out = {
        "img_in.weight": d["x_embedder.weight"],
        "txt_in.weight": d["context_embedder.weight"],
        "time_in.in_layer.weight": d["time_text_embed.timestep_embedder.linear_1.weight"],
        "time_in.out_layer.weight": d["time_text_embed.timestep_embedder.linear_2.weight"],
        "vector_in.in_layer.weight": d["time_text_embed.text_embedder.linear_1.weight"],
        "vector_in.out_layer.weight": d["time_text_embed.text_embedder.linear_2.weight"],
        "final_layer.linear.weight": d["proj_out.weight"],
        "final_layer.adaLN_modulation.1.weight": d["norm_out.linear.weight"],
    }
    if cfg["guidance_embeds"]:
        out["guidance_in.in_layer.weight"] = d["time_text_embed.guidance_embedder.linear_1.weight"]
        out["guidance_in.out_layer.weight"] = d["time_text_embed.guidance_embedder.linear_2.weight"]
    for i in range(cfg["num_layers"]):
        for s, ctx in (("img", ""), ("txt", "_context")):
            p = f"double_blocks.{i}.{s}_"
            out[p + "mod.lin.weight"] = d[f"transformer_blocks.{i}.norm1{ctx}.linear.weight"]
            out[p + "attn.qkv.weight"] = (3 * inner, inner)
            out[p + "attn.proj.weight"] = (inner, inner)
            out[p + "attn.norm.query_norm.scale"] = out[p + "attn.norm.key_norm.scale"] = (inner // 24,)
            out[p + "mlp.0.weight"], out[p + "mlp.2.weight"] = (mlp, inner), (inner, mlp)
    for i in range(cfg["num_single_layers"]):
        p = f"single_blocks.{i}."
        out[p + "linear1.weight"] = (3 * inner + mlp, inner)
        out[p + "linear2.weight"] = (inner, inner + mlp)
        out[p + "modulation.lin.weight"] = d[f"single_transformer_blocks.{i}.norm.linear.weight"]
        out[p + "norm.query_norm.scale"] = out[p + "norm.key_norm.scale"] = (inner // 24,)
    biases = {k[: -len("weight")] + "bias": (shape[0],) for k, shape in out.items() if len(shape) == 2}
    return out | biases  # (every Linear of FLUX.1 has one)


WAN_1_3B = dict(num_attention_heads=12, attention_head_dim=128, ffn_dim=8960, num_layers=30, text_dim=4096)
_WAN_NAMES = [  # diffusers' name -> Wan's own (Wan-AI's original repos, ComfyUI's split files), in this order
    ("condition_embedder.time_embedder.linear_", "time_embedding.linear_"),
    ("condition_embedder.text_embedder.linear_", "text_embedding.linear_"),
    ("condition_embedder.time_proj", "time_projection.1"),
    ("condition_embedder.image_embedder.norm1", "img_emb.proj.0"),
    ("condition_embedder.image_embedder.ff.net.0.proj", "img_emb.proj.1"),
    ("condition_embedder.image_embedder.ff.net.2", "img_emb.proj.3"),
    ("condition_embedder.image_embedder.norm2", "img_emb.proj.4"),
    ("linear_1", "0"),
    ("linear_2", "2"),
    ("attn1.", "self_attn."),
    ("attn2.", "cross_attn."),
    (".to_out.0.", ".o."),
    (".to_q.", ".q."),
    (".to_k.", ".k."),
    (".to_v.", ".v."),
    (".add_k_proj.", ".k_img."),
    (".add_v_proj.", ".v_img."),
    (".norm_added_k.", ".norm_k_img."),
    ("ffn.net.0.proj", "ffn.0"),
    ("ffn.net.2", "ffn.2"),
    ("norm2", "norm__swap"),
    ("norm3", "norm2"),
    ("norm__swap", "norm3"),
    ("proj_out", "head.head"),
]


def wan_original(**config) -> dict[str, tuple[int, ...]]:
    """A Wan 2.x transformer in Wan's own names (`blocks.N.self_attn.q`, `head.modulation`), as Wan-AI's original
    repos (`WanModel`) and ComfyUI's split files keep it."""
    out = {}
    for key, shape in diffusers_shapes("WanTransformer3DModel", **{**WAN_1_3B, **config}).items():
        if key == "scale_shift_table":
            out["head.modulation"] = shape
            continue
        for a, b in _WAN_NAMES:
            key = key.replace(a, b)
        out[key.replace(".scale_shift_table", ".modulation")] = shape
    return out


# stabilityai/stable-diffusion-3.5-medium's transformer/config.json, the parts that set names and shapes
SD35_MEDIUM = dict(
    num_layers=24,
    attention_head_dim=64,
    num_attention_heads=24,
    caption_projection_dim=1536,
    pos_embed_max_size=384,
    qk_norm="rms_norm",
    dual_attention_layers=tuple(range(13)),
)
_SD3_NAMES = [  # diffusers' name -> Stability's (sgm) name, whole name parts, in this order
    ("pos_embed.pos_embed", "pos_embed"),
    ("pos_embed.proj", "x_embedder.proj"),
    ("time_text_embed.timestep_embedder.linear_1", "t_embedder.mlp.0"),
    ("time_text_embed.timestep_embedder.linear_2", "t_embedder.mlp.2"),
    ("time_text_embed.text_embedder.linear_1", "y_embedder.mlp.0"),
    ("time_text_embed.text_embedder.linear_2", "y_embedder.mlp.2"),
    ("norm_out.linear", "final_layer.adaLN_modulation.1"),
    ("proj_out", "final_layer.linear"),
    ("attn.to_out.0", "x_block.attn.proj"),
    ("attn.to_add_out", "context_block.attn.proj"),
    ("attn.norm_added_q", "context_block.attn.ln_q"),
    ("attn.norm_added_k", "context_block.attn.ln_k"),
    ("attn.norm_q", "x_block.attn.ln_q"),
    ("attn.norm_k", "x_block.attn.ln_k"),
    ("attn2.to_out.0", "x_block.attn2.proj"),
    ("attn2.norm_q", "x_block.attn2.ln_q"),
    ("attn2.norm_k", "x_block.attn2.ln_k"),
    ("norm1.linear", "x_block.adaLN_modulation.1"),
    ("norm1_context.linear", "context_block.adaLN_modulation.1"),
    ("ff.net.0.proj", "x_block.mlp.fc1"),
    ("ff.net.2", "x_block.mlp.fc2"),
    ("ff_context.net.0.proj", "context_block.mlp.fc1"),
    ("ff_context.net.2", "context_block.mlp.fc2"),
]
_SD3_FUSED = {  # diffusers' separate q, k, v -> one sgm qkv
    "attn.to_": "x_block.attn.qkv",
    "attn.add_": "context_block.attn.qkv",
    "attn2.to_": "x_block.attn2.qkv",
}


def sgm_sd3(**config) -> dict[str, tuple[int, ...]]:
    """An SD3 / SD 3.5 MMDiT in Stability's own layout (`sd3.5_medium.safetensors`: `joint_blocks.N.x_block.attn.qkv`),
    without the `model.diffusion_model.` and text encoders its all-in-one files add."""
    out = {}
    for key, shape in diffusers_shapes("SD3Transformer2DModel", **{**SD35_MEDIUM, **config}).items():
        block = re.match(r"transformer_blocks\.(\d+)\.(.*)", key)
        head, rest = (f"joint_blocks.{block[1]}.", block[2]) if block else ("", key)
        fused = re.match(r"(attn2?\.(?:to_|add_))([qkv])(?:_proj)?\.(weight|bias)$", rest)
        if fused:
            if fused[2] == "q":  # one fused tensor for q, k and v
                out[f"{head}{_SD3_FUSED[fused[1]]}.{fused[3]}"] = (3 * shape[0], *shape[1:])
            continue
        for a, b in _SD3_NAMES:
            if rest == a or rest.startswith(a + "."):
                rest = b + rest[len(a) :]
                break
        out[head + rest] = shape
    return out


_FLUX2_NAMES = {  # diffusers' name -> Black Forest Labs' (FLUX.2's own code), outside the blocks
    "x_embedder": "img_in",
    "context_embedder": "txt_in",
    "time_guidance_embed.timestep_embedder.linear_1": "time_in.in_layer",
    "time_guidance_embed.timestep_embedder.linear_2": "time_in.out_layer",
    "time_guidance_embed.guidance_embedder.linear_1": "guidance_in.in_layer",
    "time_guidance_embed.guidance_embedder.linear_2": "guidance_in.out_layer",
    "double_stream_modulation_img.linear": "double_stream_modulation_img.lin",
    "double_stream_modulation_txt.linear": "double_stream_modulation_txt.lin",
    "single_stream_modulation.linear": "single_stream_modulation.lin",
    "proj_out": "final_layer.linear",
    "norm_out.linear": "final_layer.adaLN_modulation.1",
}
_FLUX2_BLOCKS = {  # ... and inside a double (transformer_blocks) or single block
    "attn.norm_q.weight": "img_attn.norm.query_norm.scale",
    "attn.norm_k.weight": "img_attn.norm.key_norm.scale",
    "attn.to_out.0.weight": "img_attn.proj.weight",
    "ff.linear_in.weight": "img_mlp.0.weight",
    "ff.linear_out.weight": "img_mlp.2.weight",
    "attn.norm_added_q.weight": "txt_attn.norm.query_norm.scale",
    "attn.norm_added_k.weight": "txt_attn.norm.key_norm.scale",
    "attn.to_add_out.weight": "txt_attn.proj.weight",
    "ff_context.linear_in.weight": "txt_mlp.0.weight",
    "ff_context.linear_out.weight": "txt_mlp.2.weight",
}
_FLUX2_SINGLE = {
    "attn.to_qkv_mlp_proj.weight": "linear1.weight",
    "attn.to_out.weight": "linear2.weight",
    "attn.norm_q.weight": "norm.query_norm.scale",
    "attn.norm_k.weight": "norm.key_norm.scale",
}


def bfl_flux2(**config) -> dict[str, tuple[int, ...]]:
    """FLUX.2 in Black Forest Labs' own layout (`flux2-dev.safetensors`); diffusers' defaults are FLUX.2-dev's."""
    out = {}
    for key, shape in diffusers_shapes("Flux2Transformer2DModel", **config).items():
        if m := re.match(r"transformer_blocks\.(\d+)\.(attn\.(?:to_[qkv]|add_[qkv]_proj))\.weight$", key):
            stream = "img" if ".to_" in m[2] else "txt"
            if m[2].endswith(("to_q", "add_q_proj")):  # one fused qkv per stream
                out[f"double_blocks.{m[1]}.{stream}_attn.qkv.weight"] = (3 * shape[0], shape[1])
        elif m := re.match(r"transformer_blocks\.(\d+)\.(.*)", key):
            out[f"double_blocks.{m[1]}.{_FLUX2_BLOCKS[m[2]]}"] = shape
        elif m := re.match(r"single_transformer_blocks\.(\d+)\.(.*)", key):
            out[f"single_blocks.{m[1]}.{_FLUX2_SINGLE[m[2]]}"] = shape
        else:
            module, param = key.rsplit(".", 1)
            out[f"{_FLUX2_NAMES[module]}.{param}"] = shape
    return out


HUNYUAN_VIDEO = dict(num_attention_heads=24, attention_head_dim=128, num_layers=20, num_single_layers=40)
HUNYUAN_VIDEO |= dict(text_embed_dim=4096)  # hunyuanvideo-community/HunyuanVideo's transformer/config.json
_REFINER = r"context_embedder\.token_refiner\.refiner_blocks\.(\d+)\."
_HUNYUAN_NAMES = [  # diffusers' name (a regex) -> Tencent's; names sharing an original are fused along dim 0, in order
    (r"x_embedder\.proj\.", "img_in.proj."),
    (r"time_text_embed\.timestep_embedder\.linear_1\.", "time_in.mlp.0."),
    (r"time_text_embed\.timestep_embedder\.linear_2\.", "time_in.mlp.2."),
    (r"time_text_embed\.guidance_embedder\.linear_1\.", "guidance_in.mlp.0."),
    (r"time_text_embed\.guidance_embedder\.linear_2\.", "guidance_in.mlp.2."),
    (r"time_text_embed\.text_embedder\.linear_1\.", "vector_in.in_layer."),
    (r"time_text_embed\.text_embedder\.linear_2\.", "vector_in.out_layer."),
    (r"norm_out\.linear\.", "final_layer.adaLN_modulation.1."),
    (r"proj_out\.", "final_layer.linear."),
    (r"context_embedder\.proj_in\.", "txt_in.input_embedder."),
    (r"context_embedder\.time_text_embed\.timestep_embedder\.linear_1\.", "txt_in.t_embedder.mlp.0."),
    (r"context_embedder\.time_text_embed\.timestep_embedder\.linear_2\.", "txt_in.t_embedder.mlp.2."),
    (r"context_embedder\.time_text_embed\.text_embedder\.", "txt_in.c_embedder."),
    (_REFINER + r"attn\.to_[qkv]\.", r"txt_in.individual_token_refiner.blocks.\1.self_attn_qkv."),
    (_REFINER + r"attn\.to_out\.0\.", r"txt_in.individual_token_refiner.blocks.\1.self_attn_proj."),
    (_REFINER + r"ff\.net\.0\.proj\.", r"txt_in.individual_token_refiner.blocks.\1.mlp.fc1."),
    (_REFINER + r"ff\.net\.2\.", r"txt_in.individual_token_refiner.blocks.\1.mlp.fc2."),
    (_REFINER + r"norm_out\.linear\.", r"txt_in.individual_token_refiner.blocks.\1.adaLN_modulation.1."),
    (_REFINER + r"(norm[12])\.", r"txt_in.individual_token_refiner.blocks.\1.\2."),
    (r"transformer_blocks\.(\d+)\.attn\.to_[qkv]\.", r"double_blocks.\1.img_attn_qkv."),
    (r"transformer_blocks\.(\d+)\.attn\.add_[qkv]_proj\.", r"double_blocks.\1.txt_attn_qkv."),
    (r"transformer_blocks\.(\d+)\.attn\.norm_([qk])\.", r"double_blocks.\1.img_attn_\2_norm."),
    (r"transformer_blocks\.(\d+)\.attn\.norm_added_([qk])\.", r"double_blocks.\1.txt_attn_\2_norm."),
    (r"transformer_blocks\.(\d+)\.attn\.to_out\.0\.", r"double_blocks.\1.img_attn_proj."),
    (r"transformer_blocks\.(\d+)\.attn\.to_add_out\.", r"double_blocks.\1.txt_attn_proj."),
    (r"transformer_blocks\.(\d+)\.norm1\.linear\.", r"double_blocks.\1.img_mod.linear."),
    (r"transformer_blocks\.(\d+)\.norm1_context\.linear\.", r"double_blocks.\1.txt_mod.linear."),
    (r"transformer_blocks\.(\d+)\.ff\.net\.0\.proj\.", r"double_blocks.\1.img_mlp.fc1."),
    (r"transformer_blocks\.(\d+)\.ff\.net\.2\.", r"double_blocks.\1.img_mlp.fc2."),
    (r"transformer_blocks\.(\d+)\.ff_context\.net\.0\.proj\.", r"double_blocks.\1.txt_mlp.fc1."),
    (r"transformer_blocks\.(\d+)\.ff_context\.net\.2\.", r"double_blocks.\1.txt_mlp.fc2."),
    (r"single_transformer_blocks\.(\d+)\.(attn\.to_[qkv]|proj_mlp)\.", r"single_blocks.\1.linear1."),
    (r"single_transformer_blocks\.(\d+)\.proj_out\.", r"single_blocks.\1.linear2."),
    (r"single_transformer_blocks\.(\d+)\.attn\.norm_([qk])\.", r"single_blocks.\1.\2_norm."),
    (r"single_transformer_blocks\.(\d+)\.norm\.linear\.", r"single_blocks.\1.modulation.linear."),
]


def tencent_hunyuan_video(**config) -> dict[str, tuple[int, ...]]:
    """HunyuanVideo in Tencent's own layout (`mp_rank_00_model_states.pt`, ComfyUI's and Kijai's single files):
    fused `img_attn_qkv`, `single_blocks.N.linear1` holding q, k, v and the MLP's input."""
    out: dict[str, tuple[int, ...]] = {}
    for key, shape in diffusers_shapes("HunyuanVideoTransformer3DModel", **{**HUNYUAN_VIDEO, **config}).items():
        for pattern, name in _HUNYUAN_NAMES:
            if m := re.match(pattern, key):
                name = m.expand(name) + key[m.end() :]
                break
        else:
            raise KeyError(key)
        if name in out:  # a fused tensor: its parts stacked along dim 0
            shape = (out[name][0] + shape[0], *shape[1:])
        out[name] = shape
    return out


def original_z_image(**config) -> dict[str, tuple[int, ...]]:
    """Z-Image in Tongyi's own names (ComfyUI's `z_image_turbo_bf16.safetensors`): fused `attention.qkv`,
    `final_layer` and `x_embedder` for diffusers' `all_final_layer.2-1` and `all_x_embedder.2-1`."""
    out = {}
    for key, shape in diffusers_shapes("ZImageTransformer2DModel", **config).items():
        if m := re.match(r"(.*\.attention)\.to_([qkv])\.weight$", key):
            if m[2] == "q":
                out[f"{m[1]}.qkv.weight"] = (3 * shape[0], shape[1])
            continue
        for a, b in (
            ("all_final_layer.2-1.", "final_layer."),
            ("all_x_embedder.2-1.", "x_embedder."),
            (".attention.to_out.0.", ".attention.out."),
            (".attention.norm_k.", ".attention.k_norm."),
            (".attention.norm_q.", ".attention.q_norm."),
        ):
            key = key.replace(a, b)
        out[key] = shape
    return out

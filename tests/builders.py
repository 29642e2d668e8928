"""Tiny models built from config with the real libraries, saved in every weights format hfprobe reads.

Each builder writes into a folder you give it (use pytest's tmp_path) and returns the path plus
what a reader should find (the library's own names and ΔW). Everything runs in well under a second
on one CPU thread; nothing touches the network.

Example (builders take the folder to write into):
    unet = tiny_unet()
    add_unet_lora(unet, r=4, alpha=8)
    path = save_diffusers_lora(unet, tmp_path / "a", style="lora_A")    # unet.….to_q.lora_A.weight
    deltas = unet_lora_deltas(unet)                                     # {canonical name: scale·B@A}
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import struct
from pathlib import Path

import torch
from safetensors.torch import save_file

torch.set_num_threads(1)
logging.getLogger("transformers").setLevel(logging.ERROR)
logging.getLogger("diffusers").setLevel(logging.ERROR)

UNET_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
TEXT_WIDTH = 24  # cross-attention / CLIP width of the tiny models


# ---------------------------------------------------------------- diffusion models
def tiny_unet(seed: int = 0):
    """A UNet2DConditionModel with SD 1.x's block layout (4 blocks, 2 layers each) and tiny widths.

    Widths keep SD's ratios (320:640:1280:1280 -> 32:64:128:128), so readers that match layouts by shape
    (cloneofsimo positional files) see the same structure as a real SD 1.x UNet.
    """
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    return UNet2DConditionModel(
        sample_size=8,
        block_out_channels=(32, 64, 128, 128),
        layers_per_block=2,
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=8,
        norm_num_groups=8,
    )


def tiny_flux(seed: int = 0):
    """A one-block FluxTransformer2DModel (a DiT: LoRA keys live under `transformer.`)."""
    from diffusers import FluxTransformer2DModel

    torch.manual_seed(seed)
    return FluxTransformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=8,
        num_attention_heads=2,
        joint_attention_dim=16,
        pooled_projection_dim=16,
        axes_dims_rope=(2, 2, 4),
    )


def save_flux_lora(transformer, folder: Path) -> Path:
    """diffusers' FluxPipeline.save_lora_weights: `transformer.….lora_A.weight` + lora_adapter_metadata."""
    from diffusers import FluxPipeline

    FluxPipeline.save_lora_weights(
        folder,
        transformer_lora_layers=_peft_state(transformer),
        transformer_lora_adapter_metadata=transformer.peft_config["default"].to_dict(),
    )
    return folder / "pytorch_lora_weights.safetensors"


def save_sdxl_lora(unet, text_encoder, text_encoder_2, folder: Path) -> Path:
    """diffusers' StableDiffusionXLPipeline.save_lora_weights with both text encoders."""
    from diffusers import StableDiffusionXLPipeline

    StableDiffusionXLPipeline.save_lora_weights(
        folder,
        unet_lora_layers=_peft_state(unet),
        text_encoder_lora_layers=_peft_state(text_encoder),
        text_encoder_2_lora_layers=_peft_state(text_encoder_2),
        unet_lora_adapter_metadata=unet.peft_config["default"].to_dict(),
        text_encoder_lora_adapter_metadata=text_encoder.peft_config["default"].to_dict(),
        text_encoder_2_lora_adapter_metadata=text_encoder_2.peft_config["default"].to_dict(),
    )
    return folder / "pytorch_lora_weights.safetensors"


def tiny_clip_text(seed: int = 0, projection: bool = False):
    """A 2-layer CLIP text encoder (CLIPTextModel, or CLIPTextModelWithProjection like SDXL's second one)."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    config = CLIPTextConfig(
        hidden_size=TEXT_WIDTH,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=48,
        vocab_size=1000,
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=1,
        projection_dim=16,
    )
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(config)


def _lora_config(r: int, alpha: float, targets, **kw):
    from peft import LoraConfig

    # init_lora_weights=False: random A *and* B, so ΔW is not zero and comparisons mean something
    return LoraConfig(r=r, lora_alpha=alpha, target_modules=list(targets), init_lora_weights=False, **kw)


def add_unet_lora(unet, r: int = 4, alpha: float = 8, targets=UNET_TARGETS, seed: int = 1, **kw):
    """Add a LoRA with peft: diffusers' own `add_adapter`, or peft's `inject_adapter_in_model` for transformers
    models (transformers 5's `add_adapter` asks for peft >= 0.22)."""
    torch.manual_seed(seed)
    config = _lora_config(r, alpha, targets, **kw)
    if hasattr(unet, "dtype") and type(unet).__module__.startswith("diffusers"):
        unet.add_adapter(config)
    else:
        from peft import inject_adapter_in_model

        inject_adapter_in_model(config, unet)
        unet.peft_config = {"default": config}
    return unet


def lora_deltas(model, prefix: str = "") -> dict[str, torch.Tensor]:
    """{prefix + module name: ΔW} for every peft LoRA layer, from peft's own `get_delta_weight`."""
    from peft.tuners.lora import LoraLayer

    out = {}
    for name, module in model.named_modules():
        if isinstance(module, LoraLayer) and "default" in module.lora_A:
            with torch.no_grad():
                out[prefix + name.removeprefix("base_model.model.")] = module.get_delta_weight("default").float()
    return out


def unet_lora_deltas(unet) -> dict[str, torch.Tensor]:
    return lora_deltas(unet, "unet.")


def _peft_state(model) -> dict[str, torch.Tensor]:
    from peft import get_peft_model_state_dict

    return {k: v.detach().clone().contiguous() for k, v in get_peft_model_state_dict(model).items()}


def save_diffusers_lora(unet, folder: Path, style: str = "lora_A", text_encoder=None, metadata: bool = True) -> Path:
    """Write the unet (and optional text encoder) LoRA as diffusers does, in one of the Hub's key styles.

    style: "lora_A"  -> unet.….to_q.lora_A.weight (+ lora_adapter_metadata), via `save_lora_weights`
           "lora.down" -> unet.….to_q.lora.down.weight, via `convert_state_dict_to_diffusers` + `save_lora_weights`
           "processor" -> ….attn1.processor.to_q_lora.down.weight (old attention processors, no prefix)
           "noprefix" -> ….to_q.lora_A.weight without `unet.` (+ lora_adapter_metadata)
    """
    from diffusers import StableDiffusionPipeline
    from diffusers.utils.state_dict_utils import (
        UNET_TO_DIFFUSERS,
        convert_state_dict_to_diffusers,
    )

    folder.mkdir(parents=True, exist_ok=True)
    unet_sd = _peft_state(unet)
    te_sd = _peft_state(text_encoder) if text_encoder is not None else None
    unet_meta = unet.peft_config["default"].to_dict() if metadata else None
    te_meta = text_encoder.peft_config["default"].to_dict() if (metadata and text_encoder is not None) else None
    path = folder / "pytorch_lora_weights.safetensors"
    if style in ("lora_A", "lora.down"):
        if style == "lora.down":
            unet_sd, unet_meta = convert_state_dict_to_diffusers(unet_sd), None
            te_sd, te_meta = (convert_state_dict_to_diffusers(te_sd) if te_sd else None), None
        StableDiffusionPipeline.save_lora_weights(
            folder,
            unet_lora_layers=unet_sd,
            text_encoder_lora_layers=te_sd,
            unet_lora_adapter_metadata=unet_meta,
            text_encoder_lora_adapter_metadata=te_meta,
        )
    elif style == "processor":
        # diffusers no longer writes this layout; invert its own reading table (UNET_TO_DIFFUSERS)
        back = {v + ".weight": k + ".weight" for k, v in UNET_TO_DIFFUSERS.items() if "_lora." in k}
        out = {}
        for key, value in unet_sd.items():
            for new, old in back.items():
                if key.endswith(new):
                    attn = key[: -len(new)]
                    out[f"{attn}.processor{old}"] = value
                    break
        save_file(out, str(path))
    elif style == "noprefix":
        save_file(
            unet_sd,
            str(path),
            metadata={"lora_adapter_metadata": json.dumps(unet.peft_config["default"].to_dict(), default=list)},
        )
    else:
        raise ValueError(style)
    return path


def save_kohya_lora(unet, folder: Path, text_encoder=None, alpha: float | None = None) -> Path:
    """kohya / A1111 keys via diffusers' `convert_state_dict_to_kohya`; `.alpha` set to `alpha` when given."""
    from diffusers.utils.state_dict_utils import convert_state_dict_to_kohya

    sd = {f"unet.{k}": v for k, v in _peft_state(unet).items()}
    if text_encoder is not None:
        sd.update({f"text_encoder.{k}": v for k, v in _peft_state(text_encoder).items()})
    kohya = convert_state_dict_to_kohya(sd)
    if alpha is not None:
        kohya = {k: (torch.tensor(float(alpha)) if k.endswith(".alpha") else v) for k, v in kohya.items()}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kohya_lora.safetensors"
    save_file(
        {k: v.contiguous() for k, v in kohya.items()},
        str(path),
        metadata={"ss_network_module": "networks.lora", "ss_base_model_version": "sd_v1"},
    )
    return path


def save_cloneofsimo_lora(
    unet, folder: Path, r: int = 2, seed: int = 3
) -> tuple[Path, list[str], dict[str, torch.Tensor]]:
    """A lora_diffusion file (`unet:N:up/down`, ranks in metadata) on the tiny UNet's attention and GEGLU layers.

    The index order is lora_diffusion's (`_find_modules`): every module whose class is a target, in
    `model.modules()` order, then its Linear children in `named_modules()` order. Returns the path, the
    module names in index order and {name: ΔW} (lora_diffusion's scale is 1).
    """
    targets = {"Attention", "GEGLU"}
    names, weights, meta, deltas = [], {}, {"unet": json.dumps(["GEGLU", "CrossAttention", "Attention"])}, {}
    gen = torch.Generator().manual_seed(seed)
    for anc_name, anc in unet.named_modules():
        if type(anc).__name__ not in targets:
            continue
        for child_name, child in anc.named_modules():
            if isinstance(child, torch.nn.Linear):
                i = len(names)
                name = f"unet.{anc_name}.{child_name}"
                down = torch.randn(r, child.in_features, generator=gen)
                up = torch.randn(child.out_features, r, generator=gen)
                weights[f"unet:{i}:down"], weights[f"unet:{i}:up"] = down, up
                meta[f"unet:{i}:rank"] = str(r)
                names.append(name)
                deltas[name] = up @ down
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lora.safetensors"
    save_file(weights, str(path), metadata=meta)
    return path, names, deltas


def save_textual_inversion(folder: Path, token: str = "<cat-toy>", vectors: int = 2) -> Path:
    """diffusers' learned_embeds.safetensors: {token: [vectors, width]}."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "learned_embeds.safetensors"
    save_file({token: torch.randn(vectors, TEXT_WIDTH)}, str(path))
    return path


def save_pickle_lora(unet, folder: Path) -> Path:
    """An old attention-processor LoRA saved with torch.save (a pickle .bin), as many Hub repos have."""
    src = save_diffusers_lora(unet, folder / "tmp", style="processor")
    from safetensors.torch import load_file

    path = folder / "pytorch_lora_weights.bin"
    torch.save(load_file(str(src)), path)
    os.remove(src)
    os.rmdir(src.parent)
    return path


class _Touch:
    """Unpickling this object creates a file: the shape of a real pickle exploit, harmless here."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.target),))


def save_malicious_pickle(folder: Path, marker: Path) -> Path:
    """A .bin that holds real tensors *and* an object that creates `marker` when unpickled."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pytorch_lora_weights.bin"
    torch.save({"down_blocks.0.attn.to_q.lora.down.weight": torch.zeros(2, 4), "payload": _Touch(str(marker))}, path)
    return path


# ---------------------------------------------------------------- transformers models
def tiny_transformer(kind: str, seed: int = 0):
    """A tiny transformers model of a given family: bert, gpt2, vit, t5, llama, whisper."""
    import transformers as tf

    torch.manual_seed(seed)
    small = dict(num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    if kind == "bert":
        return tf.BertForSequenceClassification(tf.BertConfig(hidden_size=16, vocab_size=100, num_labels=3, **small))
    if kind == "gpt2":
        return tf.GPT2LMHeadModel(tf.GPT2Config(n_embd=16, n_layer=2, n_head=2, vocab_size=100, n_positions=32))
    if kind == "vit":
        return tf.ViTForImageClassification(
            tf.ViTConfig(hidden_size=16, image_size=28, patch_size=7, num_channels=1, num_labels=3, **small)
        )
    if kind == "t5":
        return tf.T5ForConditionalGeneration(
            tf.T5Config(
                d_model=16, d_kv=8, d_ff=32, num_layers=2, num_heads=2, vocab_size=100, decoder_start_token_id=0
            )
        )
    if kind == "llama":
        return tf.LlamaForCausalLM(tf.LlamaConfig(hidden_size=16, vocab_size=100, num_key_value_heads=2, **small))
    if kind == "whisper":
        return tf.WhisperForConditionalGeneration(
            tf.WhisperConfig(
                d_model=16,
                encoder_layers=1,
                decoder_layers=1,
                encoder_attention_heads=2,
                decoder_attention_heads=2,
                encoder_ffn_dim=32,
                decoder_ffn_dim=32,
                num_mel_bins=8,
                vocab_size=100,
                max_source_positions=16,
                max_target_positions=16,
                decoder_start_token_id=1,
                pad_token_id=0,
                bos_token_id=1,
                eos_token_id=2,
            )
        )
    raise ValueError(kind)


PEFT_TARGETS = {
    "bert": ["query", "value"],
    "gpt2": ["c_attn", "c_proj"],
    "vit": ["q_proj", "v_proj"],
    "t5": ["q", "v"],
    "llama": ["q_proj", "v_proj"],
    "whisper": ["q_proj", "v_proj"],
}


def peft_adapter(kind: str, folder: Path, r: int = 4, alpha: float = 8, seed: int = 1, **kw):
    """A PEFT LoRA on a tiny `kind` model saved with `save_pretrained`; returns (peft model, folder)."""
    from peft import get_peft_model

    model = tiny_transformer(kind)
    torch.manual_seed(seed)
    kw.setdefault("target_modules", PEFT_TARGETS[kind])
    config = _lora_config(r, alpha, kw.pop("target_modules"), **kw)
    peft_model = get_peft_model(model, config)
    peft_model.save_pretrained(str(folder))
    return peft_model, folder


def save_checkpoint(kind: str, folder: Path, max_shard_size: str | None = None):
    """A full transformers checkpoint (model.safetensors + config.json; sharded with an index if asked)."""
    model = tiny_transformer(kind)
    kw = {"max_shard_size": max_shard_size} if max_shard_size else {}
    model.save_pretrained(str(folder), **kw)
    return model, folder


def save_pickle_shards(kind: str, folder: Path, shards: int = 2):
    """A full checkpoint as transformers 4 wrote it before safetensors: `pytorch_model-0000N-of-0000M.bin` pickles
    and their `pytorch_model.bin.index.json` (transformers 5 writes safetensors only, so the files are written
    here the same way), with config.json."""
    model = tiny_transformer(kind)
    state = model.state_dict()
    keys = list(state)
    names = [f"pytorch_model-{i + 1:05d}-of-{shards:05d}.bin" for i in range(shards)]
    where = {k: names[n * shards // len(keys)] for n, k in enumerate(keys)}
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        torch.save({k: state[k].clone() for k in keys if where[k] == name}, folder / name)
    index = {"metadata": {"total_size": sum(t.numel() * t.element_size() for t in state.values())}, "weight_map": where}
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps(index))
    model.config.to_json_file(str(folder / "config.json"))
    return model, folder


def save_unet_checkpoint(folder: Path, pipeline_layout: bool = True):
    """A diffusers UNet checkpoint: `unet/diffusion_pytorch_model.safetensors` + `unet/config.json`."""
    unet = tiny_unet()
    target = folder / "unet" if pipeline_layout else folder
    unet.save_pretrained(str(target))
    if pipeline_layout:
        (folder / "model_index.json").write_text(
            json.dumps({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]})
        )
    return unet, folder


# ---------------------------------------------------------------- headers at real sizes
LLAMA2_7B = dict(  # meta-llama/Llama-2-7b-hf's published config, for transformers' LlamaConfig
    hidden_size=4096,
    intermediate_size=11008,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=32,
    vocab_size=32000,
)
SIZES = {"F16": 2, "BF16": 2, "F32": 4, "I32": 4, "U32": 4, "U8": 1, "I8": 1, "I16": 2, "I64": 8, "F8_E4M3": 1}


def sparse_folder(path: Path, tensors: dict[str, tuple], files: dict[str, str | None]) -> Path:
    """A folder holding `model.safetensors` of these tensors (the data a sparse run of zeros on disk: a published
    size's checkpoint costs its header) and these companion files (None: left out)."""
    path.mkdir(parents=True)
    weights = write_header(path / "model.safetensors", tensors, data=False)
    with open(weights, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        end = max(v["data_offsets"][1] for k, v in json.loads(f.read(n)).items() if k != "__metadata__")
    os.truncate(weights, 8 + n + end)
    for name, text in files.items():
        if text is not None:
            (path / name).write_text(text)
    return path


def write_header(path: Path, tensors: dict[str, tuple], data: bool = True) -> Path:
    """A safetensors file with these tensors (zeros), or only its header (`data=False`: a truncated file)."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for key, (dtype, shape) in tensors.items():
        n = SIZES[dtype]
        for d in shape:
            n *= d
        header[key] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + (bytes(offset) if data else b""))
    return path


def diffusers_lora_header(cls: str, config: dict, targets, r: int = 16, prefix: str = "transformer.") -> dict:
    """{key: (dtype, shape)} of a rank-r PEFT LoRA on diffusers' `cls` built on the meta device from `config` (a
    published model's sizes cost nothing there), keys as `save_lora_weights` writes them; for `write_header`."""
    import diffusers
    import peft

    with torch.device("meta"):
        model = getattr(diffusers, cls)(**config)
    lora = peft.get_peft_model(model, peft.LoraConfig(r=r, lora_alpha=r, target_modules=list(targets)))
    state = peft.get_peft_model_state_dict(lora)
    return {prefix + k.removeprefix("base_model.model."): ("BF16", tuple(v.shape)) for k, v in state.items()}


def diffusers_header(cls: str, config: dict) -> dict:
    """{key: (dtype, shape)} of diffusers' `cls` itself (a full checkpoint), built on the meta device."""
    import diffusers

    with torch.device("meta"):
        model = getattr(diffusers, cls)(**config)
    return {k: ("BF16", tuple(v.shape)) for k, v in model.state_dict().items()}


def check_deltas(view, deltas: dict, scale: float) -> None:
    """Assert that `view` reads each reference delta (from `unet_lora_deltas`) as its module's scaled layer."""
    import pytest

    assert deltas, "no reference deltas: the builder adapted nothing, so there is nothing to compare"
    assert set(deltas) <= set(view.modules), sorted(set(deltas) - set(view.modules))[:3]
    for name, delta in deltas.items():
        mod = view.modules[name]
        assert mod.scale == pytest.approx(scale)
        assert torch.allclose(view.layer(name, scaled=True), delta.reshape(delta.shape[0], -1), atol=1e-5), name

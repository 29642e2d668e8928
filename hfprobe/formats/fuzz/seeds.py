"""The seeds of the fuzzing: one small synthetic folder per weights format (kohya SD/SDXL/FLUX, LyCORIS, XLabs
FLUX, diffusers in three key styles, PEFT over BERT, GPT-2 and a UNet, cloneofsimo, a custom LoRA, textual
inversion, transformers (dense, a mixture of experts, GPTQ and bitsandbytes 4-bit), sharded, diffusers and LDM
checkpoints, GGUF, ONNX and OpenVINO exports, torch pickles in both zip and legacy form), each a valid file that reads
cleanly, with its companions (adapter_config.json, config.json, an index, README.md, config.yaml, a merge
recipe). It also owns the byte-level writers the mutator and the tests build on: `safetensors_bytes`,
`gguf_bytes`, `pack` and `unpack` (the ONNX and OpenVINO writers and seeds are exports.py's).

    >>> sorted(seed_files("peft-gpt2"))
    ['adapter_config.json', 'adapter_model.safetensors']
    >>> unpack(pack({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)))[0]["a"]["shape"]
    [1]
"""

from __future__ import annotations

import io
import json
import math
import random
import struct

from ..tables import tables
from .exports import onnx_seed, openvino_seed

F16, F32 = "F16", "F32"


# ---------------------------------------------------------------- writing files
def safetensors_bytes(tensors: dict[str, tuple[str, list[int]]], metadata: dict | None, rng: random.Random) -> bytes:
    """A valid safetensors file: small random values (finite, so the seeds read cleanly)."""
    header, data = {}, bytearray()
    for name, (dtype, shape) in tensors.items():
        n = math.prod(shape)
        fmt = {F16: "e", F32: "f", "I32": "i", "U8": "B", "I8": "b"}[dtype]
        values = (round(rng.uniform(-1, 1), 3) if fmt in "ef" else rng.randrange(0, 100) for _ in range(n))
        raw = struct.pack(f"<{n}{fmt}", *values)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    return pack(header, bytes(data))


def pack(header: dict | list | bytes, data: bytes, length: int | None = None) -> bytes:
    raw = (
        header if isinstance(header, bytes) else json.dumps(header, ensure_ascii=False).encode("utf-8", "surrogatepass")
    )
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if length is None else length % 2**64) + raw + data


def unpack(blob: bytes) -> tuple[dict, bytes] | None:
    """(header, data) of a well-formed file, else None."""
    if len(blob) < 8:
        return None
    (n,) = struct.unpack("<Q", blob[:8])
    try:
        header = json.loads(blob[8 : 8 + n])
    except (ValueError, RecursionError):
        return None
    return (header, blob[8 + n :]) if isinstance(header, dict) else None


# ---------------------------------------------------------------- seeds: one small folder per format
def _lora(a_shape, b_shape, dtype=F16):
    return {"A": (dtype, list(a_shape)), "B": (dtype, list(b_shape))}


def _kohya(rng):
    mods = {
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k": ([4, 768], [32, 4]),
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q": ([4, 32], [32, 4]),
        "lora_unet_mid_block_attentions_0_proj_in": ([4, 128, 1, 1], [128, 4, 1, 1]),
        "lora_te_text_model_encoder_layers_0_self_attn_q_proj": ([4, 768], [8, 4]),
    }
    t = {}
    for n, (a, b) in mods.items():
        t[f"{n}.lora_down.weight"], t[f"{n}.lora_up.weight"], t[f"{n}.alpha"] = (F16, a), (F16, b), (F16, [])
    meta = {
        "ss_base_model_version": "sd_v1",
        "ss_network_dim": "4",
        "ss_network_alpha": "1.0",
        "ss_tag_frequency": '{"10_sks dog": {"sks dog": 12, "grass": 3}}',  # the caption tags it counted
        "ss_datasets": '[{"subsets": [{"class_tokens": "sks dog"}], "tag_frequency": {"a": {"dog": 2}}}]',
    }
    return {"kohya.safetensors": safetensors_bytes(t, meta, rng)}


def _kohya_sdxl(rng):
    mods = {
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k": ([2, 2048], [64, 2]),
        "lora_unet_output_blocks_2_2_conv": ([2, 64, 3, 3], [64, 2, 1, 1]),
        "lora_unet_middle_block_1_proj_out": ([2, 64], [64, 2]),
        "lora_te1_text_model_encoder_layers_0_self_attn_k_proj": ([2, 768], [16, 2]),
        "lora_te2_text_model_encoder_layers_0_mlp_fc1": ([2, 1280], [16, 2]),
    }
    t = {}
    for n, (a, b) in mods.items():
        t[f"{n}.lora_down.weight"], t[f"{n}.lora_up.weight"], t[f"{n}.alpha"] = (F16, a), (F16, b), (F32, [1])
    return {"sdxl.safetensors": safetensors_bytes(t, {"ss_base_model_version": "sdxl_base_v1-0"}, rng)}


def _kohya_flux(rng):
    t = {}
    for n in ("lora_unet_double_blocks_0_img_attn_qkv", "lora_unet_single_blocks_1_linear1"):
        t[f"{n}.lora_down.weight"], t[f"{n}.lora_up.weight"] = (F16, [2, 3072]), (F16, [16, 2])
        t[f"{n}.alpha"] = (F32, [])
    return {"flux.safetensors": safetensors_bytes(t, None, rng)}


def _lycoris(rng):
    """A LyCORIS network mixing LoHa (with and without Tucker cores), LoKr (whole and decomposed sides, a core),
    LoCon with a core, a plain LoRA pair and a full diff, in kohya names."""
    p = "lora_unet_down_blocks_0_"
    t = {
        f"{p}attentions_0_transformer_blocks_0_attn2_to_k.hada_w1_a": (F16, [32, 4]),
        f"{p}attentions_0_transformer_blocks_0_attn2_to_k.hada_w1_b": (F16, [4, 768]),
        f"{p}attentions_0_transformer_blocks_0_attn2_to_k.hada_w2_a": (F16, [32, 4]),
        f"{p}attentions_0_transformer_blocks_0_attn2_to_k.hada_w2_b": (F16, [4, 768]),
        f"{p}resnets_0_conv1.hada_w1_a": (F16, [4, 32]),
        f"{p}resnets_0_conv1.hada_w1_b": (F16, [4, 32]),
        f"{p}resnets_0_conv1.hada_t1": (F16, [4, 4, 3, 3]),
        f"{p}resnets_0_conv1.hada_w2_a": (F16, [4, 32]),
        f"{p}resnets_0_conv1.hada_w2_b": (F16, [4, 32]),
        f"{p}resnets_0_conv1.hada_t2": (F16, [4, 4, 3, 3]),
        f"{p}attentions_0_transformer_blocks_0_attn1_to_q.lokr_w1": (F16, [4, 4]),
        f"{p}attentions_0_transformer_blocks_0_attn1_to_q.lokr_w2_a": (F16, [8, 2]),
        f"{p}attentions_0_transformer_blocks_0_attn1_to_q.lokr_w2_b": (F16, [2, 8]),
        f"{p}resnets_0_conv2.lokr_w1": (F16, [4, 4]),
        f"{p}resnets_0_conv2.lokr_w2_a": (F16, [2, 8]),
        f"{p}resnets_0_conv2.lokr_w2_b": (F16, [2, 8]),
        f"{p}resnets_0_conv2.lokr_t2": (F16, [2, 2, 3, 3]),
        f"{p}resnets_1_conv1.lora_down.weight": (F16, [2, 32, 1, 1]),
        f"{p}resnets_1_conv1.lora_mid.weight": (F16, [2, 2, 3, 3]),
        f"{p}resnets_1_conv1.lora_up.weight": (F16, [32, 2, 1, 1]),
        f"{p}attentions_0_proj_in.lora_down.weight": (F16, [2, 32]),
        f"{p}attentions_0_proj_in.lora_up.weight": (F16, [32, 2]),
        f"{p}attentions_0_proj_out.diff": (F16, [32, 32]),
        f"{p}attentions_0_proj_out.diff_b": (F16, [32]),
    }
    for name in dict.fromkeys(k.split(".")[0] for k in t if not k.endswith(".diff")):  # (in order: a set's would vary)
        t[f"{name}.alpha"] = (F32, [])
    return {"lycoris.safetensors": safetensors_bytes(t, {"ss_network_module": "lycoris.kohya"}, rng)}


def _xlabs(rng):
    t = {}
    for n, stream in (("0", "1"), ("0", "2"), ("1", "1")):
        t[f"double_blocks.{n}.processor.qkv_lora{stream}.down.weight"] = (F16, [2, 3072])
        t[f"double_blocks.{n}.processor.qkv_lora{stream}.up.weight"] = (F16, [48, 2])
    t["single_blocks.0.processor.proj_lora.down.weight"] = (F16, [2, 3072])
    t["single_blocks.0.processor.proj_lora.up.weight"] = (F16, [16, 2])
    return {"xlabs.safetensors": safetensors_bytes(t, None, rng)}


def _mlx(rng):
    t = {}
    for i in range(2):
        for m, out in (("q_proj", 64), ("v_proj", 32)):
            base = f"model.layers.{i}.self_attn.{m}"
            t[f"{base}.lora_a"], t[f"{base}.lora_b"] = (F32, [64, 4]), (F32, [4, out])
    t["model.layers.1.self_attn.q_proj.m"] = (F32, [64])  # DoRA's magnitude
    config = {
        "model": "mlx-community/Llama-3.2-1B-Instruct-4bit",
        "fine_tune_type": "lora",
        "num_layers": 2,
        "lora_parameters": {"rank": 4, "scale": 20.0, "dropout": 0.0},
    }
    return {"adapters.safetensors": safetensors_bytes(t, None, rng), "adapter_config.json": json.dumps(config).encode()}


def _loralib(rng):
    t = {}
    for i in range(2):  # loralib's Linear on query / value, and a MergedLinear (q and v of a fused c_attn)
        for m in ("query", "value"):
            base = f"roberta.encoder.layer.{i}.attention.self.{m}"
            t[f"{base}.lora_A"], t[f"{base}.lora_B"] = (F32, [4, 64]), (F32, [64, 4])
        t[f"transformer.h.{i}.attn.c_attn.lora_A"], t[f"transformer.h.{i}.attn.c_attn.lora_B"] = (
            (F32, [8, 64]),
            (F32, [128, 4]),
        )
    return {"lora.safetensors": safetensors_bytes(t, None, rng)}


def _torchtune(rng):
    t = {}
    for i in range(2):  # torchtune's own names and lower-case factors; DoRA's magnitude on one
        for m, out in (("q_proj", 64), ("output_proj", 64), ("w2", 64)):
            base = f"layers.{i}.{'mlp' if m == 'w2' else 'attn'}.{m}"
            t[f"{base}.lora_a.weight"], t[f"{base}.lora_b.weight"] = (F32, [4, 64]), (F32, [out, 4])
    t["layers.1.attn.q_proj.magnitude"] = (F32, [64])
    return {"adapter_model.safetensors": safetensors_bytes(t, None, rng)}


def _peft_plain(rng):
    t = {}
    for i in range(2):  # PEFT's factor names without its prefix (mistral-finetune's Meta names)
        for m, out in (("wq", 64), ("wk", 16)):
            base = f"layers.{i}.attention.{m}"
            t[f"{base}.lora_A.weight"], t[f"{base}.lora_B.weight"] = (F32, [4, 64]), (F32, [out, 4])
    return {"lora.safetensors": safetensors_bytes(t, None, rng)}


def _diffusers(rng):
    p = "unet.down_blocks.0.attentions.0.transformer_blocks.0"
    t = {
        f"{p}.attn2.to_k.lora_A.weight": (F16, [4, 768]),
        f"{p}.attn2.to_k.lora_B.weight": (F16, [32, 4]),
        f"{p}.attn2.to_v.lora_A.weight": (F16, [4, 768]),
        f"{p}.attn2.to_v.lora_B.weight": (F16, [32, 4]),
        f"{p}.attn1.to_out.0.lora_A.weight": (F16, [4, 32]),
        f"{p}.attn1.to_out.0.lora_B.weight": (F16, [32, 4]),
        "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight": (F16, [2, 768]),
        "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_B.weight": (F16, [8, 2]),
    }
    config = {
        "unet.r": 4,
        "unet.lora_alpha": 8,
        "unet.alpha_pattern": {"attn1.to_out.0": 2},
        "text_encoder.lora_alpha": 2,
    }
    return {
        "pytorch_lora_weights.safetensors": safetensors_bytes(t, {"lora_adapter_metadata": json.dumps(config)}, rng)
    }


def _diffusers_down(rng):
    p = "unet.mid_block.attentions.0.transformer_blocks.0"
    t = {
        f"{p}.attn2.to_k.lora.down.weight": (F32, [2, 1024]),
        f"{p}.attn2.to_k.lora.up.weight": (F32, [64, 2]),
        "text_encoder.text_model.encoder.layers.1.mlp.fc1.lora_linear_layer.down.weight": (F32, [2, 16]),
        "text_encoder.text_model.encoder.layers.1.mlp.fc1.lora_linear_layer.up.weight": (F32, [32, 2]),
    }
    return {"pytorch_lora_weights.safetensors": safetensors_bytes(t, None, rng)}


def _processor(rng):
    p = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.processor"
    t = {f"{p}.to_k_lora.down.weight": (F16, [4, 768]), f"{p}.to_k_lora.up.weight": (F16, [64, 4])}
    t.update({f"{p}.to_q_lora.down.weight": (F16, [4, 64]), f"{p}.to_q_lora.up.weight": (F16, [64, 4])})
    return {"pytorch_lora_weights.safetensors": safetensors_bytes(t, None, rng)}


def _peft_bert(rng):
    t = {}
    for i in range(2):
        for m in ("query", "value"):
            base = f"base_model.model.bert.encoder.layer.{i}.attention.self.{m}"
            t[f"{base}.lora_A.weight"], t[f"{base}.lora_B.weight"] = (F32, [4, 768]), (F32, [16, 4])
    t["base_model.model.classifier.modules_to_save.default.weight"] = (F32, [3, 768])
    config = {
        "peft_type": "LORA",
        "r": 4,
        "lora_alpha": 8,
        "target_modules": ["query", "value"],
        "alpha_pattern": {"value": 16, "layer.1.*query": 4},
        "rank_pattern": {},
        "use_rslora": False,
        "modules_to_save": ["classifier"],
        "base_model_name_or_path": "google-bert/bert-base-uncased",
    }
    return {
        "adapter_model.safetensors": safetensors_bytes(t, {"format": "pt"}, rng),
        "adapter_config.json": json.dumps(config).encode(),
        "README.md": b"---\nbase_model: google-bert/bert-base-uncased\nlibrary_name: peft\n---\n# sentiment\n",
    }


def _peft_adalora(rng):
    t, p = {}, "base_model.model.model.layers.0.self_attn.q_proj"
    t[f"{p}.lora_A"], t[f"{p}.lora_B"], t[f"{p}.lora_E"] = (F32, [4, 32]), (F32, [32, 4]), (F32, [4, 1])
    config = {"peft_type": "ADALORA", "init_r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]}
    return {
        "adapter_model.safetensors": safetensors_bytes(t, {"format": "pt"}, rng),
        "adapter_config.json": json.dumps(config).encode(),
    }


def _peft_boft(rng):
    """A PEFT tuner with no low-rank pair: modules of kind `tuner`, at the sizes its tensors give."""
    p = "base_model.model.model.layers.1.mlp.down_proj"
    t = {f"{p}.boft_R": (F32, [1, 6, 8, 8]), f"{p}.boft_s": (F32, [32, 1])}
    return {
        "adapter_model.safetensors": safetensors_bytes(t, {"format": "pt"}, rng),
        "adapter_config.json": json.dumps({"peft_type": "BOFT", "target_modules": ["down_proj"]}).encode(),
    }


def _peft_gpt2(rng):
    t = {
        "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight": (F32, [4, 768]),
        "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight": (F32, [2304, 4]),
        "base_model.model.transformer.wte.lora_embedding_A": (F32, [4, 64]),
        "base_model.model.transformer.wte.lora_embedding_B": (F32, [768, 4]),
    }
    config = {
        "peft_type": "LORA",
        "r": 4,
        "lora_alpha": 16,
        "fan_in_fan_out": True,
        "target_modules": ["c_attn", "wte"],
        "base_model_name_or_path": "openai-community/gpt2",
    }
    return {
        "adapter_model.safetensors": safetensors_bytes(t, None, rng),
        "adapter_config.json": json.dumps(config).encode(),
    }


def _peft_unet(rng):
    p = "base_model.model.up_blocks.1.attentions.2.transformer_blocks.0.attn2"
    t = {f"{p}.to_v.lora_A.weight": (F16, [2, 768]), f"{p}.to_v.lora_B.weight": (F16, [64, 2])}
    config = {"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": ["to_v"], "use_dora": False,
              "base_model_name_or_path": "stable-diffusion-v1-5/stable-diffusion-v1-5"}  # fmt: skip
    return {
        "adapter_model.safetensors": safetensors_bytes(t, None, rng),
        "adapter_config.json": json.dumps(config).encode(),
    }


def _cloneofsimo(rng):
    """A lora_diffusion file over every attention Linear of SD 1.x at a tenth of its widths (names resolvable)."""
    t, meta = {}, {"unet": json.dumps(["CrossAttention", "Attention", "GEGLU"])}
    order = [(f"{a}.{c}", (o, i)) for a, cls, ch in tables()["unet_order"] if cls == "Attention" for c, o, i in ch]
    for k, (name, (out, inp)) in enumerate(order):
        inp = 77 if name.endswith(("attn2.to_k", "attn2.to_v")) else inp // 10
        t[f"unet:{k}:down"], t[f"unet:{k}:up"] = (F16, [1, inp]), (F16, [out // 10, 1])
        meta[f"unet:{k}:rank"] = "1"
    for k in range(4):
        t[f"text_encoder:{k}:down"], t[f"text_encoder:{k}:up"] = (F16, [1, 12]), (F16, [12, 1])
    t["<s1>"], meta["<s1>"] = (F32, [12]), "<embed>"
    return {"lora.safetensors": safetensors_bytes(t, meta, rng)}


def _custom(rng):
    t = {f"w_a_{i:03d}": (F32, [2, 64]) for i in range(4)}
    t.update({f"w_b_{i:03d}": (F32, [64, 2]) for i in range(4)})
    return {
        "lora.safetensors": safetensors_bytes(t, None, rng),
        "config.yaml": b'SAM:\n  CHECKPOINT: "./sam_vit_b_01ec64.pth"\n',
    }


def _wrapped(rng):
    """LoRA-ViT's `_LoRALayer` (`proj_q.w` + `w_a` / `w_b`) and SAMed's `_LoRA_qkv` inside a whole model."""
    t = {}
    for i in range(2):
        p = f"transformer.blocks.{i}.attn."
        t[p + "proj_q.w.weight"], t[p + "proj_q.w.bias"] = (F32, [64, 64]), (F32, [64])
        t[p + "proj_q.w_a.weight"], t[p + "proj_q.w_b.weight"] = (F32, [2, 64]), (F32, [64, 2])
        q = f"image_encoder.blocks.{i}.attn.qkv."
        t[q + "qkv.weight"] = (F32, [192, 64])
        for s in "qv":
            t[q + f"linear_a_{s}.weight"], t[q + f"linear_b_{s}.weight"] = (F32, [2, 64]), (F32, [64, 2])
    return {"model.safetensors": safetensors_bytes(t, None, rng)}


def _lit_adapter(rng):
    """lit-llama / litgpt adapter v2: prompts and gates from layer 1, bias and scale on the fused qkv."""
    t = {}
    for i in range(3):
        p = f"transformer.h.{i}."
        if i:
            t[p + "attn.adapter_wte.weight"], t[p + "attn.gating_factor"] = (F32, [4, 64]), (F32, [1, 1, 4, 1])
        t[p + "attn.qkv.adapter_bias"], t[p + "attn.qkv.adapter_scale"] = (F32, [192]), (F32, [192])
        t[p + "norm_1.weight"] = (F32, [64])
    return {"lit_model.safetensors": safetensors_bytes(t, None, rng)}


def _textual_inversion(rng):
    return {"learned_embeds.safetensors": safetensors_bytes({"<cat-toy>": (F32, [2, 768])}, None, rng)}


def _checkpoint(rng):
    t = {}
    for m in ("attention.attention.query", "attention.attention.value", "intermediate.dense", "output.dense"):
        t[f"vit.encoder.layer.0.{m}.weight"] = (F32, [16, 16])
        t[f"vit.encoder.layer.0.{m}.bias"] = (F32, [16])
    t["vit.embeddings.patch_embeddings.projection.weight"] = (F32, [16, 3, 2, 2])
    config = {"model_type": "vit", "hidden_size": 16, "architectures": ["ViTModel"]}
    return {
        "model.safetensors": safetensors_bytes(t, {"format": "pt"}, rng),
        "config.json": json.dumps(config).encode(),
    }


def _mixture(rng):
    """A tiny Mixtral (2 layers, 3 experts) as mergekit-moe writes one, its recipe beside it."""
    t = {"model.embed_tokens.weight": (F16, [32, 16]), "lm_head.weight": (F16, [32, 16])}
    for i in range(2):
        p = f"model.layers.{i}."
        t |= {p + f"self_attn.{w}_proj.weight": (F16, [16 if w in "qo" else 8, 16]) for w in "qkvo"}
        t[p + "block_sparse_moe.gate.weight"] = (F16, [3, 16])
        for e in range(3):
            for w, shape in (("w1", [24, 16]), ("w3", [24, 16]), ("w2", [16, 24])):
                t[p + f"block_sparse_moe.experts.{e}.{w}.weight"] = (F16, shape)
    recipe = "base_model: someone/tiny\nexperts:\n  - source_model: someone/a\n  - source_model: someone/b\n"
    return {
        "model.safetensors": safetensors_bytes(t, {"format": "pt"}, rng),
        "config.json": json.dumps({"model_type": "mixtral", "architectures": ["MixtralForCausalLM"]}).encode(),
        "mergekit_moe_config.yml": recipe.encode(),
    }


def _quantized(rng, method: str):
    """A tiny Llama whose decoder Linears are GPTQ 4-bit (group 8) or bitsandbytes 4-bit, the rest dense."""
    t = {"model.embed_tokens.weight": (F16, [32, 16]), "model.norm.weight": (F16, [16])}
    for m, (o, i) in {"self_attn.q_proj": (16, 16), "self_attn.v_proj": (8, 16), "mlp.down_proj": (16, 24)}.items():
        p = f"model.layers.0.{m}"
        if method == "gptq":
            t.update({f"{p}.qweight": ("I32", [i // 8, o]), f"{p}.qzeros": ("I32", [i // 8, o // 8])})
            t.update({f"{p}.scales": (F16, [i // 8, o]), f"{p}.g_idx": ("I32", [i])})
        else:
            t.update({f"{p}.weight": ("U8", [o * i // 2, 1]), f"{p}.weight.absmax": (F32, [o * i // 64])})
            t.update({f"{p}.weight.quant_map": (F32, [16]), f"{p}.weight.quant_state.bitsandbytes__nf4": ("U8", [8])})
    config = {"model_type": "llama", "quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 8}}
    files = {"model.safetensors": safetensors_bytes(t, {"format": "pt"}, rng)}
    return {**files, "config.json": json.dumps(config).encode()} if method == "gptq" else files


def gguf_bytes(metadata: dict, tensors: dict[str, tuple[int, list[int]]], rng: random.Random) -> bytes:
    """A valid GGUF 3 file: metadata (str, int as u32, float as f32, list of str as an array) and F32 tensors
    (ggml type 0, shape in torch's order) of small random values, aligned to 32 bytes."""

    def text(s: str) -> bytes:
        raw = s.encode("utf-8")
        return struct.pack("<Q", len(raw)) + raw

    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)))
    for key, value in metadata.items():
        out += text(key)
        if isinstance(value, str):
            out += struct.pack("<I", 8) + text(value)
        elif isinstance(value, int):
            out += struct.pack("<II", 4, value)
        elif isinstance(value, float):
            out += struct.pack("<If", 6, value)
        else:
            out += struct.pack("<IIQ", 9, 8, len(value)) + b"".join(text(v) for v in value)
    data, offset = bytearray(), 0
    for name, (ggml_type, shape) in tensors.items():
        out += text(name) + struct.pack(f"<I{len(shape)}QIQ", len(shape), *reversed(shape), ggml_type, offset)
        blob = struct.pack(f"<{math.prod(shape)}f", *(round(rng.uniform(-1, 1), 3) for _ in range(math.prod(shape))))
        blob += bytes(-len(blob) % 32)
        data += blob
        offset += len(blob)
    out += bytes(-len(out) % 32)
    return bytes(out + data)


def _gguf(rng):
    meta = {"general.architecture": "llama", "general.name": "tiny", "general.alignment": 32}
    meta["general.base_model.0.repo_url"] = "https://huggingface.co/org/tiny-llama"
    meta["tokenizer.ggml.tokens"] = ["a", "b", "<s>"]
    t = {"token_embd.weight": (0, [32, 16]), "output_norm.weight": (0, [16])}
    t.update({f"blk.0.{m}.weight": (0, [o, i]) for m, (o, i) in {"attn_q": (16, 16), "ffn_down": (16, 24)}.items()})
    return {"tiny.Q8_0.gguf": gguf_bytes(meta, t, rng), "README.md": b"# tiny\n"}


def _gguf_lora(rng):
    meta = {"general.architecture": "llama", "general.type": "adapter", "adapter.type": "lora", "general.alignment": 32}
    meta["adapter.lora.alpha"] = 8.0
    t = {"token_embd.weight.lora_a": (0, [32, 2]), "token_embd.weight.lora_b": (0, [16, 2])}  # flipped, as llama.cpp
    for m, (o, i) in {"attn_q": (16, 16), "ffn_down": (16, 24)}.items():
        t[f"blk.0.{m}.weight.lora_a"], t[f"blk.0.{m}.weight.lora_b"] = (0, [2, i]), (0, [o, 2])
    return {"lora-f32.gguf": gguf_bytes(meta, t, rng)}


def _sharded(rng):
    a = {"model.layers.0.self_attn.q_proj.weight": (F32, [16, 16]), "model.embed_tokens.weight": (F32, [32, 16])}
    b = {"model.layers.0.mlp.down_proj.weight": (F32, [16, 24]), "lm_head.weight": (F32, [32, 16])}
    names = ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
    index = {"metadata": {"total_size": 0}, "weight_map": {**dict.fromkeys(a, names[0]), **dict.fromkeys(b, names[1])}}
    return {
        "model.safetensors.index.json": json.dumps(index).encode(),
        names[0]: safetensors_bytes(a, {"format": "pt"}, rng),
        names[1]: safetensors_bytes(b, {"format": "pt"}, rng),
        "config.json": json.dumps({"model_type": "llama", "hidden_size": 16}).encode(),
    }


def _unet_checkpoint(rng):
    t = {
        "conv_in.weight": (F32, [8, 4, 3, 3]),
        "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight": (F32, [8, 768]),
        "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.bias": (F32, [8]),
    }
    return {
        "unet/diffusion_pytorch_model.safetensors": safetensors_bytes(t, None, rng),
        "unet/config.json": json.dumps({"_class_name": "UNet2DConditionModel", "cross_attention_dim": 768}).encode(),
    }


def _ldm(rng):
    t = {
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (F16, [32, 768]),
        "model.diffusion_model.input_blocks.1.1.proj_in.weight": (F16, [32, 32, 1, 1]),
        "cond_stage_model.transformer.text_model.final_layer_norm.weight": (F16, [768]),
    }
    return {"sd15.safetensors": safetensors_bytes(t, None, rng)}


def _pickle(rng, legacy: bool = False, ti: bool = False):
    import torch

    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    if ti:
        obj = {
            "string_to_token": {"*": torch.tensor(265)},
            "string_to_param": {"*": torch.randn(2, 768, generator=gen)},
        }
        name = "toy.pt"
    else:
        p = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor"
        obj = {f"{p}.to_k_lora.down.weight": torch.randn(2, 768, generator=gen)}
        obj[f"{p}.to_k_lora.up.weight"] = torch.randn(32, 2, generator=gen)
        name = "pytorch_lora_weights.bin"
    buf = io.BytesIO()
    if not legacy:
        torch.save(obj, buf)
        return {name: buf.getvalue()}
    # the legacy format names each storage by its memory address: one storage shared by every tensor (as tied weights
    # are saved), its name then zeroed, makes the file the same bytes in every process
    flat = torch.cat([t.flatten() for t in obj.values()])
    at, shared = 0, {}
    for key, t in obj.items():
        shared[key], at = flat[at : at + t.numel()].view(t.shape), at + t.numel()
    torch.save(shared, buf, _use_new_zipfile_serialization=False)
    address = str(flat.untyped_storage()._cdata).encode()
    return {name: buf.getvalue().replace(address, b"0" * len(address))}


SEEDS = {
    "kohya": _kohya,
    "kohya-sdxl": _kohya_sdxl,
    "kohya-flux": _kohya_flux,
    "lycoris": _lycoris,
    "xlabs": _xlabs,
    "mlx": _mlx,
    "loralib": _loralib,
    "torchtune": _torchtune,
    "peft-plain": _peft_plain,
    "diffusers": _diffusers,
    "diffusers-down": _diffusers_down,
    "diffusers-processor": _processor,
    "peft-bert": _peft_bert,
    "peft-gpt2": _peft_gpt2,
    "peft-adalora": _peft_adalora,
    "peft-boft": _peft_boft,
    "peft-unet": _peft_unet,
    "cloneofsimo": _cloneofsimo,
    "custom": _custom,
    "wrapped-lora": _wrapped,
    "lit-adapter": _lit_adapter,
    "textual-inversion": _textual_inversion,
    "checkpoint": _checkpoint,
    "mixture": _mixture,
    "gptq": lambda rng: _quantized(rng, "gptq"),
    "bnb4": lambda rng: _quantized(rng, "bnb4"),
    "gguf": _gguf,
    "gguf-lora": _gguf_lora,
    "onnx": onnx_seed,
    "openvino": openvino_seed,
    "sharded": _sharded,
    "diffusers-checkpoint": _unet_checkpoint,
    "ldm": _ldm,
    "pickle": _pickle,
    "pickle-legacy": lambda rng: _pickle(rng, legacy=True),
    "pickle-ti": lambda rng: _pickle(rng, ti=True),
}
PICKLE_SEEDS = ("pickle", "pickle-legacy", "pickle-ti")
_SEED_CACHE: dict[str, dict[str, bytes]] = {}


def seed_files(name: str) -> dict[str, bytes]:
    """The files of one seed (built once per process, from a fixed random seed)."""
    if name not in _SEED_CACHE:
        _SEED_CACHE[name] = SEEDS[name](random.Random(f"seed:{name}"))
    return dict(_SEED_CACHE[name])

"""Hostile input on demand: small synthetic files of every weights format (the seeds) and a seeded mutator over
them, for the fuzz test (tests/test_fuzz.py) and `benchmarks/fuzz.py`.

A case is a folder of files (weights plus companions: adapter_config.json, config.json, an index and its shards,
README.md, config.yaml). `mutant(seed_rng_seed, i)` is deterministic: the same (seed, i) gives the same bytes on
any machine, so a failing case can be replayed from its number. Mutations: byte flips, truncations, length-prefix
edge values, nested / huge / duplicate-key / non-UTF-8 / lone-surrogate JSON, wrong-typed header fields and
metadata, shape and offset edge cases, per-format key patterns (kohya, diffusers, PEFT, cloneofsimo, custom,
textual inversion, checkpoints), companion-file damage, and pickles (byte flips, truncation, oversized storages).
`exercise` runs one case through `inspect` (passed in: it lives in a later stage), `open_weights` and
`view.layer()` and says how it ended.

    >>> files, what = mutant(0, 7)
    >>> sorted(files), what.endswith("(peft-gpt2)")
    (['adapter_config.json', 'adapter_model.safetensors'], True)
"""

from __future__ import annotations

import io
import json
import math
import random
import struct
import time
from pathlib import Path

from .tables import tables

F16, F32 = "F16", "F32"


# ---------------------------------------------------------------- writing files
def safetensors_bytes(tensors: dict[str, tuple[str, list[int]]], metadata: dict | None, rng: random.Random) -> bytes:
    """A valid safetensors file: small random values (finite, so the seeds read cleanly)."""
    header, data = {}, bytearray()
    for name, (dtype, shape) in tensors.items():
        n = math.prod(shape)
        fmt = {F16: "e", F32: "f"}[dtype]
        raw = struct.pack(f"<{n}{fmt}", *(round(rng.uniform(-1, 1), 3) for _ in range(n)))
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
    meta = {"ss_base_model_version": "sd_v1", "ss_network_dim": "4", "ss_network_alpha": "1.0"}
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
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return {name: buf.getvalue()}


SEEDS = {
    "kohya": _kohya,
    "kohya-sdxl": _kohya_sdxl,
    "kohya-flux": _kohya_flux,
    "diffusers": _diffusers,
    "diffusers-down": _diffusers_down,
    "diffusers-processor": _processor,
    "peft-bert": _peft_bert,
    "peft-gpt2": _peft_gpt2,
    "peft-unet": _peft_unet,
    "cloneofsimo": _cloneofsimo,
    "custom": _custom,
    "textual-inversion": _textual_inversion,
    "checkpoint": _checkpoint,
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


# ---------------------------------------------------------------- mutations
BIG_DIGITS = "9" * 5000  # past Python's 4,300-digit int() limit
EDGE_INTS = [0, 1, -1, 2**31, 2**32 + 1, 2**53 + 1, 2**62, 2**63, 2**64 - 1, 2**64, 10**30, int(BIG_DIGITS[:400])]
ODD_VALUES = [None, True, 1, -1, 1.5, float("nan"), "x", "", [], [1, "a"], {}, {"a": 1}, [[1]], "F32" * 50]
KEY_PATTERNS = {
    "kohya": [
        "lora_unet_input_blocks_{n}_1_transformer_blocks_0_attn2_to_k",
        "lora_unet_output_blocks_{n}_{n}_conv",
        "lora_unet_middle_block_{n}_proj_in",
        "lora_te{d}_text_model_encoder_layers_{n}_self_attn_q_proj",
        "lora_unet_down_blocks_{n}_attentions_0_proj_out",
        "lora_unet_double_blocks_{n}_img_attn_qkv",
        "lora_unet_x\0y",
        "lora_unet_{n}",
        "lora_unet_label_emb_0_{n}",
    ],
    "suffix": [".lora_down.weight", ".lora_up.weight", ".alpha", "_lora_down.weight", ".hada_w1_a", ".dora_scale", ""],
    "diffusers": [
        "unet.unet.down_blocks.{n}.attentions.0.proj_in.lora.down.weight",
        "text_encoder_2.text_model.encoder.layers.{n}.self_attn.k_proj.lora_linear_layer.up.weight",
        "transformer.single_transformer_blocks.{n}.proj_mlp.lora_B.weight",
        "unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k.lora_magnitude_vector",
        "down_blocks.{n}.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight",
        "prior.x.lora_A.weight",
    ],
    "peft": [
        "base_model.model.model.embed_tokens.lora_embedding_A",
        "base_model.model.model.embed_tokens.lora_embedding_B",
        "base_model.model.bert.encoder.layer.{n}.attention.self.query.lora_A.default.weight",
        "base_model.model.classifier.modules_to_save.default.weight",
        "base_model.model.h.{n}.attn.c_attn.lora_B.weight",
        "base_model.model.vit.encoder.layer.{n}.attention.attention.query.lora_A.weight",
    ],
    "cloneofsimo": ["unet:{n}:up", "unet:{n}:down", "text_encoder:{n}:down", "text_encoder_2:{n}:up", "<s{n}>"],
    "custom": ["w_a_{n}", "w_b_{n}", "w_a_{big}", "w_c_{n}"],
    "ti": ["string_to_param.*", "string_to_token.*", "emb_params", "clip_l", "clip_g", "<tok{n}>"],
    "checkpoint": [
        "model.diffusion_model.input_blocks.{n}.1.proj_in.weight",
        "vit.encoder.layer.{n}.attention.attention.key.weight",
        "model.layers.{n}.self_attn.q_proj.weight",
        "bert.encoder.layer.{n}.attention.self.query.weight",
    ],
}
METADATA_VALUES = {
    "lora_adapter_metadata": [
        '{"lora_alpha": "abc"}',
        '{"unet.lora_alpha": [1]}',
        '{"alpha_pattern": {"(": 1}}',
        '{"alpha_pattern": {"(a+)+$": 2}, "lora_alpha": 4}',
        '{"alpha_pattern": [1, 2]}',
        '{"alpha_pattern": {"to_k": "x"}}',
        '{"lora_alpha": NaN}',
        '{"use_rslora": "yes", "lora_alpha": 1e308}',
        "[" * 20000 + "]" * 20000,
        "not json",
        "5",
    ],
    "unet": ["5", "[[1]]", '[{"a": 1}]', "[" * 5000, '"Attention"', "null", '["GEGLU"]'],
    "ss_base_model_version": ["sdxl_base_v1-0", "x" * 10000, "\u0000", "sd_v2"],
    "unet:0:rank": ["x", "-1", BIG_DIGITS],
}
COMPANION_VALUES = [
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"[" * 50000 + b"]" * 50000,
    b'{"r": "four", "lora_alpha": "abc", "alpha_pattern": {"(": 1}, "target_modules": 5}',
    b'{"peft_type": ["LORA"], "lora_alpha": 8, "alpha_pattern": {"value": [1]}, "fan_in_fan_out": "no"}',
    b'{"model_type": ["vit"], "_class_name": 7, "base_model_name_or_path": {"a": 1}}',
    b'{"weight_map": {"a": "../../etc/passwd.safetensors"}}',
    b'{"weight_map": {"a": ["x"]}}',
    b'{"weight_map": {"a": "/abs.safetensors"}}',
    b'{"weight_map": {"a": "missing.safetensors"}}',
    b'{"lora_alpha": 1e400, "alpha_pattern": {"' + b"a" * 300 + b'": 1}}',
    b"---\nbase_model: [1, {a: b}]\n---\n",
    b"---\nbase_model: " + b"x" * 100000 + b"\n---\n",
]


def _weights_name(files: dict[str, bytes], rng: random.Random) -> str:
    names = [n for n in files if n.endswith((".safetensors", ".bin", ".pt"))]
    return rng.choice(names) if names else rng.choice(list(files))


def _instance(template: str, rng: random.Random) -> str:
    n = rng.choice(["0", "1", "3", "12", "99", "-1", "007", BIG_DIGITS[: rng.choice([10, 400, 5000])], "٣"])
    return template.replace("{n}", n).replace("{d}", rng.choice(["", "1", "2", "9", "x"])).replace("{big}", BIG_DIGITS)


def m_flip(rng, files):
    name = _weights_name(files, rng)
    blob = bytearray(files[name])
    if not blob:
        return f"flip:{name}:empty"
    head = min(len(blob), 8 + (struct.unpack("<Q", bytes(blob[:8]))[0] if len(blob) >= 8 else 0))
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(min(len(blob), max(head, 1)) if rng.random() < 0.8 else len(blob))
        blob[at] ^= 1 << rng.randrange(8) if rng.random() < 0.7 else rng.randrange(1, 256)
    files[name] = bytes(blob)
    return f"flip:{name}"


def m_truncate(rng, files):
    name = _weights_name(files, rng)
    blob = files[name]
    cut = rng.choice([0, 1, 7, 8, 9, len(blob) // 2, len(blob) - 1, rng.randrange(max(1, len(blob)))])
    files[name] = blob[: max(0, cut)]
    return f"truncate:{name}:{cut}/{len(blob)}"


def m_prefix(rng, files):
    name = _weights_name(files, rng)
    blob = files[name]
    n = struct.unpack("<Q", blob[:8])[0] if len(blob) >= 8 else 0
    value = rng.choice([0, 1, 2, n - 1, n + 1, n + 8, len(blob) - 8, len(blob), 100 * 2**20 + 1, 2**63, 2**64 - 1])
    files[name] = struct.pack("<Q", value % 2**64) + blob[8:]
    return f"prefix:{name}:{value}"


def _structured(rng, files) -> tuple[str, dict, bytes] | None:
    names = [n for n in files if n.endswith(".safetensors") and unpack(files[n])]
    if not names:
        return None
    name = rng.choice(names)
    header, data = unpack(files[name])
    return name, header, data


def _tensor_keys(header: dict) -> list[str]:
    return [k for k in header if k != "__metadata__"]


def m_json(rng, files):
    """Nested, huge, duplicate-key, non-UTF-8 and lone-surrogate JSON in the header."""
    found = _structured(rng, files)
    if not found:
        return m_flip(rng, files)
    name, header, data = found
    text = json.dumps(header)
    kind = rng.choice(["nest", "huge", "dup", "utf8", "surrogate", "many", "nan"])
    if kind == "nest":
        depth = rng.choice([50, 1000, 100_000])
        text = text[:-1] + f', "deep": {"[" * depth}{"]" * depth}}}'
    elif kind == "huge":
        text = text[:-1] + f', "__huge__": "{"x" * rng.choice([10**5, 4 * 10**6])}"}}'
    elif kind == "dup":
        key = rng.choice(_tensor_keys(header) or ["__metadata__"])
        text = text[:-1] + f", {json.dumps(key)}: {json.dumps(header.get(key, {}))}}}"
    elif kind == "utf8":
        raw = text.encode() + b""
        at = rng.randrange(len(raw))
        files[name] = pack(raw[:at] + bytes([rng.choice([0x80, 0xC3, 0xFF, 0xED])]) + raw[at:], data)
        return f"json-utf8:{name}"
    elif kind == "surrogate":
        key = rng.choice(_tensor_keys(header) or ["k"])
        text = text.replace(json.dumps(key), json.dumps(key)[:-1] + '\\ud800"', 1)
    elif kind == "many":
        extra = ", ".join(
            f'"t{i}": {{"dtype": "F16", "shape": [0], "data_offsets": [0, 0]}}' for i in range(rng.choice([10, 5000]))
        )
        text = text[:-1] + ", " + extra + "}"
    else:
        text = text.replace('"shape": [', '"shape": [NaN, ', 1)
    files[name] = pack(text.encode(), data)
    return f"json-{kind}:{name}"


def m_fields(rng, files):
    """Wrong-typed and edge-valued dtype, shape and data_offsets."""
    found = _structured(rng, files)
    if not found or not _tensor_keys(found[1]):
        return m_flip(rng, files)
    name, header, data = found
    key = rng.choice(_tensor_keys(header))
    entry = header[key]
    field = rng.choice(["dtype", "shape", "data_offsets", "entry", "drop"])
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if not isinstance(entry.get("shape") if isinstance(entry, dict) else None, list) or not (
        isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
    ):
        field, entry = "entry", {}
    if field == "dtype":
        entry["dtype"] = rng.choice([*ODD_VALUES, "F64", "I8", "BOOL", "F8_E4M3", "BF16", "U64", "F4", "Q4"])
    elif field == "shape":
        shape = entry["shape"]
        entry["shape"] = rng.choice(
            [
                [],
                [0],
                [1] * 17,
                [2**62],
                [-1],
                [1.0],
                [True],
                list(reversed(shape)),
                shape[:1],
                shape + [1],
                [shape[0] if shape else 1, 1, 1],
                [*shape[:1], 0],
                [rng.choice(EDGE_INTS)],
                "4",
                None,
            ]  # fmt: skip
        )
    elif field == "data_offsets":
        b, e = entry["data_offsets"]
        entry["data_offsets"] = rng.choice(
            [
                [e, b],
                [b, e + 2],
                [b - 2, e - 2],
                [0, 0],
                [b, e, 1],
                [b],
                [-1, e],
                [b, 2**64],
                [b, 2**63 + 8],
                [float(b), e],
                None,
                [str(b), e],
                [b + len(data), e + len(data)],
                [rng.choice(EDGE_INTS)] * 2,
            ]  # fmt: skip
        )
    elif field == "entry":
        header[key] = rng.choice(ODD_VALUES)
    else:
        header[key].pop(rng.choice(["dtype", "shape", "data_offsets"]), None)
    files[name] = pack(header, data)
    return f"field-{field}:{name}"


def m_metadata(rng, files):
    """Wrong-typed and hostile __metadata__ (per-format fields included)."""
    found = _structured(rng, files)
    if not found:
        return m_flip(rng, files)
    name, header, data = found
    meta = header.get("__metadata__") if isinstance(header.get("__metadata__"), dict) else {}
    kind = rng.choice(["typed", "value", "shape", "many", "longkey"])
    if kind == "typed":
        header["__metadata__"] = rng.choice(
            [[1], "x", 5, {"a": 1}, {"a": None}, {"a": ["b"]}, {"lora_adapter_metadata": {}}]
        )
    elif kind == "value":
        field = rng.choice(list(METADATA_VALUES))
        meta[field] = rng.choice(METADATA_VALUES[field])
        header["__metadata__"] = meta
    elif kind == "shape":
        header["__metadata__"] = {**meta, **{k: "<embed>" for k in rng.sample(_tensor_keys(header), 1)}}
    elif kind == "many":
        header["__metadata__"] = {f"k{i}": "v" for i in range(rng.choice([1000, 100_001]))}
    else:
        header["__metadata__"] = {**meta, "k" * rng.choice([1025, 100_000]): "v"}
    files[name] = pack(header, data)
    return f"metadata-{kind}:{name}"


def m_keys(rng, files):
    """Per-format key patterns: renamed, dropped, very long or doubled keys, some with a changed shape."""
    found = _structured(rng, files)
    if not found or not _tensor_keys(found[1]):
        return m_flip(rng, files)
    name, header, data = found
    keys = _tensor_keys(header)
    family = rng.choice([f for f in KEY_PATTERNS if f != "suffix"])
    action = rng.choice(["rename", "rename", "drop", "long", "shape"])
    key = rng.choice(keys)
    if action == "drop":
        header.pop(key)
    elif action == "long":
        header[key + "x" * rng.choice([1000, 5000, 200_000])] = header.pop(key)
    else:
        new = _instance(rng.choice(KEY_PATTERNS[family]), rng)
        if family == "kohya":
            new += rng.choice(KEY_PATTERNS["suffix"])
        entry = header.pop(key)
        if action == "shape" and isinstance(entry, dict) and isinstance(entry.get("shape"), list):
            n = math.prod(entry["shape"])
            entry["shape"] = rng.choice([[n], [1, n], [n, 1], [1, 1, n], [n, 1, 1, 1], [1, n, 1, 1, 1]])
        header[new] = entry
    files[name] = pack(header, data)
    return f"keys-{family}-{action}:{name}"


def m_companion(rng, files):
    """Damaged or hostile companion files: adapter_config.json, config.json, an index, README.md, config.yaml."""
    targets = [n for n in files if n.endswith((".json", ".md", ".yaml"))] or ["adapter_config.json"]
    name = rng.choice(targets + ["README.md", "config.json"])
    files[name] = rng.choice(COMPANION_VALUES) if rng.random() < 0.85 else b"x" * (5 * 2**20 + 1)
    return f"companion:{name}"


def m_pickle(rng, files):
    """Pickle bytes: flips in the zip or pickle stream, truncations, and an integer grown in the object pickle."""
    names = [n for n in files if n.endswith((".bin", ".pt"))]
    if not names:
        return m_flip(rng, files)
    name = rng.choice(names)
    blob = bytearray(files[name])
    if len(blob) < 2:
        return f"pickle-empty:{name}"
    kind = rng.choice(["flip", "truncate", "int"])
    if kind == "flip":
        for _ in range(rng.randint(1, 6)):
            blob[rng.randrange(len(blob))] ^= rng.randrange(1, 256)
    elif kind == "truncate":
        blob = blob[: rng.randrange(len(blob))]
    else:  # a BININT (J) operand rewritten: sizes and shapes claimed far larger than the file
        at = blob.find(b"J", rng.randrange(len(blob)))
        if at >= 0 and at + 5 <= len(blob):
            blob[at + 1 : at + 5] = struct.pack("<i", rng.choice([2**30, -1, 2**31 - 1, 7]))
    files[name] = bytes(blob)
    return f"pickle-{kind}:{name}"


MUTATIONS = {
    "flip": m_flip,
    "truncate": m_truncate,
    "prefix": m_prefix,
    "json": m_json,
    "fields": m_fields,
    "metadata": m_metadata,
    "keys": m_keys,
    "companion": m_companion,
    "pickle": m_pickle,
}


def mutant(seed: int, i: int, *, pickles: bool = True) -> tuple[dict[str, bytes], str]:
    """Case number `i` of run `seed`: (files of the case folder, what was done to them)."""
    rng = random.Random(f"{seed}:{i}")
    seeds = [s for s in SEEDS if pickles or s not in PICKLE_SEEDS]
    seed_name = seeds[i % len(seeds)]
    files = seed_files(seed_name)
    if seed_name in PICKLE_SEEDS:
        kinds = ["pickle", "pickle", "truncate", "companion"]
    else:
        kinds = ["flip", "truncate", "prefix", "json", "fields", "fields", "metadata", "keys", "keys", "companion"]
    done = [MUTATIONS[rng.choice(kinds)](rng, files) for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 3))]
    return files, f"{'+'.join(done)} ({seed_name})"


def write_case(files: dict[str, bytes], folder: Path) -> Path:
    for name, blob in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
    return folder


def exercise(folder: Path, inspect, layers: int = 3) -> tuple[str, str, float]:
    """Run one case folder through `inspect` (e.g. hfprobe.tree.inspect.inspect_source), `open_weights` and
    `view.layer()` on its first modules. Returns (outcome, detail, seconds): outcome "ok", "typed" (an
    hfprobe error with a one-line message of bounded length) or "untyped" (anything else: a bug)."""
    from ..errors import HfprobeError
    from . import open_weights

    start = time.perf_counter()
    typed: list[str] = []

    def attempt(step: str, fn):
        try:
            return True, fn()
        except HfprobeError as err:
            message = str(err)
            if "\n" in message or len(message) > 2000 or not message:
                raise _Untyped(f"{step}: {type(err).__name__}: a message of {len(message)} chars or lines") from None
            typed.append(f"{step}: {type(err).__name__}")
        except Exception as err:  # noqa: BLE001 - what the fuzz looks for
            raise _Untyped(f"{step}: {type(err).__name__}: {' '.join(str(err).split())[:200]}") from err
        return False, None

    try:
        attempt("inspect", lambda: inspect(str(folder)))
        opened, view = attempt("open", lambda: open_weights(folder))
        for name in list(view.modules)[:layers] if opened else []:
            attempt("layer", lambda name=name: view.layer(name, scaled=True))
        if opened:
            view.close()
    except _Untyped as bug:
        return "untyped", str(bug), time.perf_counter() - start
    outcome, detail = ("typed", "; ".join(typed)) if typed else ("ok", "")
    return outcome, detail, time.perf_counter() - start


class _Untyped(Exception):
    pass

"""The seeded mutator: `mutant(seed, i)` takes seed folder number `i` modulo the seeds (hfprobe.formats.fuzz.seeds)
and applies one to three mutations drawn from `random.Random(f"{seed}:{i}")`, so the same (seed, i) gives the same
bytes on any machine (all but the storage keys torch's legacy pickle writer takes from memory addresses) and a
failing case can be replayed from its number. Mutations: byte flips, truncations, length-prefix edge values,
nested / huge / duplicate-key / non-UTF-8 / lone-surrogate JSON, wrong-typed header fields and metadata, shape and
offset edge cases, per-format key patterns (kohya, diffusers, PEFT, cloneofsimo, custom, textual inversion,
checkpoints), companion-file damage, pickles (byte flips, truncation, oversized storages) and GGUF header fields.

    >>> files, what = mutant(0, 8)          # case 8 of seed 0: the same files and mutations on every run
    >>> (files, what) == mutant(0, 8), what.endswith(")")
    (True, True)
"""

from __future__ import annotations

import json
import math
import random
import struct

from .seeds import PICKLE_SEEDS, SEEDS, pack, seed_files, unpack

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
    "suffix": [
        ".lora_down.weight",
        ".lora_up.weight",
        ".alpha",
        "_lora_down.weight",
        ".hada_w1_a",
        ".dora_scale",
        "",
        ".hada_w2_b",
        ".hada_t1",
        ".lokr_w1",
        ".lokr_w2_a",
        ".lokr_t2",
        ".lora_mid.weight",
        ".diff",
        ".oft_blocks",
    ],
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
    "sd_merge_models": ["[" * 20000 + "]" * 20000, '{"a": 5, "b": {"name": 7}}', '{"a": {"name": "x [1]"}}', "[1]"],
    "sd_merge_recipe": ["[" * 20000 + "]" * 20000, '{"interp_method": 5}', "{"],
    "modelspec.merged_from": [",,,", "x" * 10000, ", ".join(["a.safetensors"] * 5000)],
    "prompt": [
        "[" * 20000 + "]" * 20000,
        '{"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": 5}}, "2": [1]}',
        '{"1": {"class_type": "ModelMergeSimple", "inputs": []}, "2": {"class_type": 7, "inputs": {}}}',
        json.dumps(
            {str(i): {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": f"m{i}"}} for i in range(2500)}
        ),
    ],
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
    b"merge_method: ties\nmodels: 5\nslices: [{sources: 7}, 3, {sources: [x, {model: [1]}]}]\n"
    b"base_model: {model: {}}\n",
    b"merge_method: [slerp]\nbase_model: a/b\n",
    b"---\ntags: [mergekit]\n---\n```yaml\nmerge_method: ties\nmodels: [{model: a/b+c/d@e}, {model: "
    + b"x" * 5000
    + b"}]\n```\n",
    b"base_model: 5\nexperts: [3, {source_model: [a/b]}, {source_model: {model: c/d}}]\nshared_experts: x\n",
    b"experts:\n  - source_model: a/b+c/d@main\n    positive_prompts: 9\n",
]


def _weights_name(files: dict[str, bytes], rng: random.Random) -> str:
    names = [n for n in files if n.endswith((".safetensors", ".bin", ".pt", ".gguf", ".onnx", ".xml"))]
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


def _structured(rng, files, *, tensors: bool = False) -> tuple[str, dict, bytes] | None:
    """A parseable safetensors file of the case, picked by `rng`: (name, header, data); None if there is none (or,
    with `tensors`, if the one picked lists no tensor)."""
    names = [n for n in files if n.endswith(".safetensors") and unpack(files[n])]
    if not names:
        return None
    name = rng.choice(names)
    header, data = unpack(files[name])
    if tensors and not _tensor_keys(header):
        return None
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
    found = _structured(rng, files, tensors=True)
    if not found:
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
                [float(max(min(b, 2**64), -(2**64))), e],  # (b may be a 400-digit int an earlier mutation left)
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
    elif kind == "shape":  # (an earlier mutation may have left no tensor to name)
        keys = _tensor_keys(header)
        header["__metadata__"] = {**meta, **{k: "<embed>" for k in rng.sample(keys, min(1, len(keys)))}}
    elif kind == "many":
        header["__metadata__"] = {f"k{i}": "v" for i in range(rng.choice([1000, 100_001]))}
    else:
        header["__metadata__"] = {**meta, "k" * rng.choice([1025, 100_000]): "v"}
    files[name] = pack(header, data)
    return f"metadata-{kind}:{name}"


def m_keys(rng, files):
    """Per-format key patterns: renamed, dropped, very long or doubled keys, some with a changed shape."""
    found = _structured(rng, files, tensors=True)
    if not found:
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
    """Damaged or hostile companion files: adapter_config.json, config.json, an index, README.md, config.yaml, a
    merge recipe."""
    targets = [n for n in files if n.endswith((".json", ".md", ".yaml", ".yml"))] or ["adapter_config.json"]
    name = rng.choice(targets + ["README.md", "config.json", "mergekit_config.yml", "mergekit_moe_config.yml"])
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


def m_gguf(rng, files):
    """A GGUF count, length, type or dimension (a u32 or u64 somewhere in its header) set to an edge value."""
    name = next((n for n in files if n.endswith(".gguf")), None)
    if name is None or len(files[name]) < 24:
        return m_truncate(rng, files)
    blob = bytearray(files[name])
    at = rng.randrange(4, min(len(blob), 400) - 8)
    width = rng.choice([4, 8])
    value = rng.choice([v for v in EDGE_INTS if 0 <= v < 2 ** (8 * width)] + [3, 9, 13, 2**32 - 1])
    blob[at : at + width] = value.to_bytes(width, "little")
    files[name] = bytes(blob)
    return f"gguf:{name}:{at}={value}"


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
    "gguf": m_gguf,
}


def mutant(seed: int, i: int, *, pickles: bool = True) -> tuple[dict[str, bytes], str]:
    """Case number `i` of run `seed`: (files of the case folder, what was done to them)."""
    rng = random.Random(f"{seed}:{i}")
    seeds = [s for s in SEEDS if pickles or s not in PICKLE_SEEDS]
    seed_name = seeds[i % len(seeds)]
    files = seed_files(seed_name)
    if seed_name in PICKLE_SEEDS:
        kinds = ["pickle", "pickle", "truncate", "companion"]
    elif seed_name in ("onnx", "openvino"):  # a protobuf or an XML graph: its bytes flipped or cut, its config mangled
        kinds = ["flip", "flip", "truncate", "companion"]
    elif seed_name == "gguf":
        kinds = ["gguf", "gguf", "flip", "truncate", "companion"]
    else:
        kinds = ["flip", "truncate", "prefix", "json", "fields", "fields", "metadata", "keys", "keys", "companion"]
    done = [MUTATIONS[rng.choice(kinds)](rng, files) for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 3))]
    return files, f"{'+'.join(done)} ({seed_name})"

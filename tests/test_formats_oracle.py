"""hfprobe's light key mapping against the libraries' own conversions (the oracle).

Reading a header imports neither diffusers, peft nor transformers: hfprobe applies their renaming tables and rules
itself. Here every light step is compared with the library it stands for (tests/library_oracle.py): whole views
(module names, kinds, ranks, alphas, scales, sizes, raw keys) on every realzoo file and on fixtures of every
format, and each step on many generated keys, patterns and names. The stored tables are checked against the
installed libraries (regenerate with `python -m hfprobe.formats.tables` after an upgrade).
"""

from __future__ import annotations

import json
import random
import re

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.errors import HfprobeError, InvalidWeightsError, UnsupportedFormatError
from hfprobe.formats import open_weights, tables
from hfprobe.formats.kohya import kohya_to_peft_keys
from tests import builders as B
from tests import library_oracle as L

torch.set_num_threads(1)


# ---------------------------------------------------------------- the stored tables are the libraries' tables
def test_stored_tables_match_the_installed_libraries():
    stored = tables.tables()
    assert stored["diffusers"] == tables.diffusers_tables()
    assert stored["unet_order"] == tables.unet_order()
    assert stored["clip_attention"] == tables.clip_attention()
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    assert stored["transformers"]["model_types"] == list(CONFIG_MAPPING_NAMES)
    # every type would take two minutes; these cover the realzoo and fixture families and each renaming kind
    for model_type in ("vit", "bert", "gpt2", "t5", "llama", "whisper", "qwen2", "distilbert", "dory", "kimi_k25"):
        assert stored["transformers"]["renamings"].get(model_type, []) == (tables.model_renamings(model_type) or [])


def test_light_orders_match_meta_device_models():
    from hfprobe.formats import cloneofsimo

    for targets in ({"CrossAttention", "Attention"}, {"GEGLU", "CrossAttention", "Attention"}, {"GEGLU"}):
        for legacy in (False, True):
            key = frozenset(targets)
            assert cloneofsimo._unet_order(key, legacy) == L.unet_order(key, legacy), (targets, legacy)
    for n_layers, hidden in ((1, 8), (2, 24), (12, 768), (23, 1024)):
        assert cloneofsimo._text_encoder_order(n_layers, hidden) == L.text_encoder_order(n_layers, hidden)


# ---------------------------------------------------------------- whole views: light == library
def _compare(monkeypatch, path):
    light = L.summary(open_weights(path))
    library = L.summary(L.library_view(monkeypatch, path))
    assert light == library


def test_every_realzoo_file_reads_as_the_libraries_read_it(realzoo, monkeypatch):
    rows = [json.loads(line) for line in (realzoo / "manifest.jsonl").read_text().splitlines() if line.strip()]
    for row in rows:
        _compare(monkeypatch, realzoo / row["local_path"])
    assert len(rows) == 42


def _kohya_broad(folder):
    """kohya keys for every Linear/Conv of an SD 1.x UNet and a CLIP text encoder (meta-device names)."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    with torch.device("meta"):
        unet = UNet2DConditionModel()
        clip = CLIPTextModel(CLIPTextConfig(num_hidden_layers=2))
    names = [f"lora_unet_{n.replace('.', '_')}" for n, m in unet.named_modules() if isinstance(m, torch.nn.Linear)]
    names += [f"lora_unet_{n.replace('.', '_')}" for n, m in unet.named_modules() if isinstance(m, torch.nn.Conv2d)]
    names += [
        f"lora_te_text_model_{n.replace('.', '_')}" for n, m in clip.named_modules() if isinstance(m, torch.nn.Linear)
    ]
    return _pairs(folder / "broad.safetensors", names)


def _sgm_names() -> list[str]:
    """SDXL's sgm module names as kohya writes them (input/middle/output blocks, embeddings, conv in/out)."""
    names = ["time_embed_0", "time_embed_2", "label_emb_0_0", "label_emb_0_2", "input_blocks_0_0", "out_2"]
    resnet = ["in_layers_2", "emb_layers_1", "out_layers_3", "skip_connection"]
    attn = ["proj_in", "proj_out"] + [
        f"transformer_blocks_{j}_{a}_{p}"
        for j in range(2)
        for a in ("attn1", "attn2")
        for p in ("to_q", "to_k", "to_v", "to_out_0")
    ]
    attn += ["transformer_blocks_0_ff_net_0_proj", "transformer_blocks_0_ff_net_2"]
    for i in (1, 2, 4, 5, 7, 8):
        names += [f"input_blocks_{i}_0_{r}" for r in resnet]
        if i > 2:
            names += [f"input_blocks_{i}_1_{a}" for a in attn]
    names += ["input_blocks_3_0_op", "input_blocks_6_0_op"]
    names += [f"middle_block_{i}_{r}" for i in (0, 2) for r in resnet] + [f"middle_block_1_{a}" for a in attn]
    for i in range(9):
        names += [f"output_blocks_{i}_0_{r}" for r in resnet]
        if i < 6:
            names += [f"output_blocks_{i}_1_{a}" for a in attn]
    names += ["output_blocks_2_1_conv", "output_blocks_5_2_conv", "output_blocks_8_1_conv"]
    te = [f"text_model_encoder_layers_{i}_{p}" for i in range(2) for p in ("self_attn_q_proj", "mlp_fc1", "mlp_fc2")]
    return [f"lora_unet_{n}" for n in names] + [f"lora_te1_{n}" for n in te] + [f"lora_te2_{n}" for n in te]


def _pairs(path, names, rank=2, alpha=1.0):
    sd = {}
    for n in names:
        sd[f"{n}.lora_down.weight"] = torch.randn(rank, 8)
        sd[f"{n}.lora_up.weight"] = torch.randn(8, rank)
        sd[f"{n}.alpha"] = torch.tensor(alpha)
    save_file(sd, str(path))
    return path


FIXTURES = {
    "diffusers lora_A": lambda d, u: B.save_diffusers_lora(u, d, style="lora_A"),
    "diffusers lora.down + text encoder": lambda d, u: B.save_diffusers_lora(
        u, d, style="lora.down", text_encoder=B.add_unet_lora(B.tiny_clip_text(), r=2, targets=("q_proj", "fc1"))
    ),
    "diffusers processor": lambda d, u: B.save_diffusers_lora(u, d, style="processor"),
    "diffusers noprefix": lambda d, u: B.save_diffusers_lora(u, d, style="noprefix"),
    "diffusers sdxl": lambda d, u: B.save_sdxl_lora(
        u,
        B.add_unet_lora(B.tiny_clip_text(), r=2, alpha=4, targets=("q_proj", "v_proj")),
        B.add_unet_lora(B.tiny_clip_text(projection=True), r=2, alpha=1, targets=("q_proj", "fc1")),
        d,
    ),
    "diffusers flux": lambda d, u: B.save_flux_lora(
        B.add_unet_lora(B.tiny_flux(), r=2, alpha=4, targets=("to_q", "to_k", "proj_mlp")), d
    ),
    "diffusers conv": lambda d, u: B.save_diffusers_lora(
        B.add_unet_lora(B.tiny_unet(), r=2, alpha=3, targets=("conv1", "conv_shortcut", "proj_in", "time_emb_proj")), d
    ),
    "kohya + text encoder": lambda d, u: B.save_kohya_lora(
        u, d, text_encoder=B.add_unet_lora(B.tiny_clip_text(), r=2, targets=("q_proj", "v_proj", "fc1")), alpha=2.0
    ),
    "kohya broad (every SD 1.x module)": lambda d, u: _kohya_broad(d),
    "kohya sdxl sgm": lambda d, u: _pairs(d / "sgm.safetensors", _sgm_names()),
    "kohya flux": lambda d, u: _pairs(
        d / "flux.safetensors",
        [
            "lora_unet_double_blocks_0_img_attn_qkv",
            "lora_unet_single_blocks_1_linear1",
            "lora_unet_double_blocks_3_txt_mlp_0",
        ],
    ),
    "cloneofsimo": lambda d, u: B.save_cloneofsimo_lora(B.tiny_unet(), d)[0],
    "peft bert patterns": lambda d, u: B.peft_adapter(
        "bert",
        d,
        use_rslora=True,
        rank_pattern={"value": 2},
        alpha_pattern={"value": 3, "layer.1.*query": 5},
        modules_to_save=["classifier"],
    )[1],
    "peft gpt2": lambda d, u: B.peft_adapter("gpt2", d)[1],
    "peft vit": lambda d, u: B.peft_adapter("vit", d)[1],
    "peft t5": lambda d, u: B.peft_adapter("t5", d)[1],
    "peft llama dora": lambda d, u: B.peft_adapter("llama", d, use_dora=True)[1],
    "peft whisper": lambda d, u: B.peft_adapter("whisper", d)[1],
    "vit checkpoint": lambda d, u: B.save_checkpoint("vit", d)[1],
    "llama sharded checkpoint": lambda d, u: B.save_checkpoint("llama", d, max_shard_size="20KB")[1],
    "unet checkpoint": lambda d, u: B.save_unet_checkpoint(d)[1],
    "textual inversion": lambda d, u: B.save_textual_inversion(d),
}


@pytest.fixture(scope="module")
def unet_lora():
    return B.add_unet_lora(B.tiny_unet(), r=4, alpha=8)


@pytest.mark.parametrize("name", list(FIXTURES))
def test_fixture_reads_as_the_libraries_read_it(name, tmp_path, unet_lora, monkeypatch):
    path = FIXTURES[name](tmp_path, unet_lora)
    _compare(monkeypatch, path)
    assert open_weights(path).modules


# ---------------------------------------------------------------- each step on generated input
_TOKENS = (
    "input blocks middle block output down up mid 0 1 2 3 4 5 8 11 attentions resnets transformer attn1 attn2 "
    "to q k v out proj in emb layers skip connection op conv time embed label text model encoder self attn mlp "
    "fc1 fc2 ff net norm upsamplers downsamplers shortcut linear lora magnitude"
).split()


def _kohya_keys(rng: random.Random) -> list[str]:
    keys = []
    for _ in range(rng.randint(1, 6)):
        prefix = rng.choice(("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_", "lora_unet_input_blocks_"))
        name = prefix + "_".join(rng.choice(_TOKENS) for _ in range(rng.randint(1, 9)))
        keys.append(name + ".lora_down.weight")
        if rng.random() < 0.95:
            keys.append(name + ".lora_up.weight")
        if rng.random() < 0.05:
            keys.append(name + ".dora_scale")
        if rng.random() < 0.5:
            keys.append(name + ".alpha")
    return keys


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except Exception as err:  # noqa: BLE001 - the library may fail in its own ways; what matters is that both fail
        return ("error", type(err).__name__ if isinstance(err, HfprobeError) else "library")


def test_kohya_renaming_matches_diffusers_on_generated_keys(monkeypatch):
    rng = random.Random(0)
    cases = [_kohya_keys(rng) for _ in range(400)] + [
        [k + s for k in _sgm_names() for s in (".lora_down.weight", ".lora_up.weight")]
    ]
    agree = 0
    for keys in cases:
        light = _outcome(kohya_to_peft_keys, keys, "x")
        with L.libraries(monkeypatch):
            library = _outcome(kohya_to_peft_keys, keys, "x")
        assert (light[0], light[1] if light[0] == "ok" else None) == (
            library[0],
            library[1] if library[0] == "ok" else None,
        ), keys
        if light[0] == "error":
            assert light[1] == "UnsupportedFormatError", keys
        agree += light[0] == "ok"
    assert agree > 100  # most generated sets are convertible, so the comparison is not only of refusals


def test_sdxl_index_strip_matches_the_regex():
    from hfprobe.formats.kohya_names import _strip_last_index

    rng = random.Random(1)
    alphabet = "ab.._0123٣x\n"
    for _ in range(5000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert _strip_last_index(s) == re.sub(r"\.\d+(?=\D*$)", "", s, count=1), repr(s)


def test_alpha_pattern_matching_matches_peft():
    from peft.utils.other import get_pattern_key

    from hfprobe.formats.diffusers import _risky, pattern_key

    rng = random.Random(2)
    pieces = [
        "value",
        "query",
        "attn",
        "layer",
        "0",
        "1",
        ".",
        r"\.",
        r"\d+",
        ".*",
        "[0-9]",
        "(a|b)",
        "^",
        "$",
        "_",
        "x",
    ]
    names = ["bert.encoder.layer.0.attention.self.query", "layer.1.value", "a.b", "unet.down.0.attn1.to_q", "x", ""]
    checked = 0
    for _ in range(3000):
        patterns = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 3))]
        name = rng.choice(names) if rng.random() < 0.6 else ".".join(rng.choice(pieces[:6]) for _ in range(3))
        if any(_risky(p) for p in patterns):
            continue
        try:
            expected = get_pattern_key(patterns, name)
        except re.error:
            with pytest.raises(InvalidWeightsError, match="not a valid regular expression"):
                pattern_key(patterns, name)
            continue
        assert pattern_key(patterns, name) == expected, (patterns, name)
        checked += 1
    assert checked > 1000


def _sample_names(pattern: str) -> list[str]:
    """Names that a renaming's source pattern is likely to match (regex syntax spelled out), and near misses."""
    plain = re.sub(r"\(\?[:!=][^)]*\)", "", pattern)
    for old, new in (
        (r"\.", "."),
        (r"(\d+)", "3"),
        (r"\d+", "12"),
        (".*", "x."),
        ("^", ""),
        ("$", ""),
        ("(", ""),
        (")", ""),
    ):
        plain = plain.replace(old, new)
    return [plain, f"model.{plain}", f"model.layers.1.{plain}.weight", f"{plain}_extra", "model.layers.4.mixer.q_proj"]


def test_transformers_renamings_apply_as_transformers_applies_them():
    import copy

    from transformers.conversion_mapping import get_checkpoint_conversion_mapping
    from transformers.core_model_loading import PrefixChange, WeightRenaming, rename_source_key

    from hfprobe.formats.tables import renaming_spec
    from hfprobe.formats.transformers_names import _Renaming

    compared = 0
    for model_type in tables.tables()["transformers"]["renamings"]:
        objects = [
            c
            for c in get_checkpoint_conversion_mapping(model_type) or []
            if isinstance(c, WeightRenaming) and not isinstance(c, PrefixChange)
        ]
        names = [n for c in objects for p in c.source_patterns for n in _sample_names(p)]
        for scope in (None, "vision_model"):
            theirs = copy.deepcopy(objects)
            for c in theirs:
                c.scope_prefix, c.base_model_prefix = scope, "model" if scope else None
            ours = [_Renaming(renaming_spec(c)) for c in theirs]
            for name in names + [f"{scope}.{n}" for n in names if scope]:
                expected, _ = rename_source_key(name, theirs, [])
                got = name
                for step in ours:
                    got = step.rename(got)
                assert got == expected, (model_type, scope, name)
                compared += 1
    assert compared > 2000


def test_kohya_unmappable_keys_are_one_typed_line():
    with pytest.raises(UnsupportedFormatError, match="cannot be mapped") as err:
        kohya_to_peft_keys(
            ["lora_unet_input_blocks_x_1.lora_down.weight", "lora_unet_input_blocks_x_1.lora_up.weight"], "f"
        )
    assert "\n" not in str(err.value)


def test_one_value_decoding_matches_torch():
    """kohya's `.alpha` is decoded without torch; every dtype, every F8 and many other bit patterns."""
    import math

    from hfprobe.source.safetensors import DTYPE_SIZES, TensorInfo, scalar_value, torch_dtype

    rng = random.Random(3)
    for dtype, size in DTYPE_SIZES.items():
        patterns = [bytes([b]) for b in range(256)] if size == 1 else [rng.randbytes(size) for _ in range(500)]
        for raw in patterns:
            info = TensorInfo("a", dtype, (), 0, size)
            expected = float(torch.frombuffer(bytearray(raw), dtype=torch_dtype(dtype))[0].item())
            if math.isfinite(expected):
                assert scalar_value("f", info, raw) == expected, (dtype, raw)
            else:
                with pytest.raises(InvalidWeightsError):
                    scalar_value("f", info, raw)

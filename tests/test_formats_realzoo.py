"""hfprobe.formats on the 42 real third-party files in ../shared/realzoo (skipped where absent)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

from hfprobe.errors import HfprobeError
from hfprobe.formats import open_weights

torch.set_num_threads(1)

# manifest format_guess -> the formats hfprobe may report for it
EXPECTED = {
    "diffusers-lora": {"diffusers-lora", "diffusers-lora-processor"},
    "peft": {"peft"},
    "kohya": {"kohya"},
    "cloneofsimo": {"cloneofsimo"},
    "other": {"custom-lora"},
}


@pytest.fixture(scope="module")
def entries(realzoo):
    return [json.loads(line) for line in (realzoo / "manifest.jsonl").read_text().splitlines() if line.strip()]


def test_every_file_opens_or_is_refused_with_a_reason(realzoo, entries):
    opened, refused = 0, []
    for e in entries:
        try:
            view = open_weights(realzoo / e["local_path"])
        except HfprobeError as err:  # a typed refusal must say which file and why
            assert e["local_path"].split("/")[-1] in str(err) and len(str(err).splitlines()) == 1
            refused.append(e["id"])
            continue
        opened += 1
        assert view.format in EXPECTED[e["format_guess"]], (e["id"], view.format)
        assert view.modules, e["id"]
        ranks = Counter(int(r) for r, n in (e["header"].get("ranks") or {}).items() for _ in range(n))
        if ranks:
            assert view.rank == ranks.most_common(1)[0][0], e["id"]
        mod = next(iter(view.modules.values()))
        if mod.kind == "lora" and "B" not in mod.keys:
            continue  # only A stored (LoRA-ViT's early save)
        delta = view.layer(mod.name, scaled=True)
        assert delta.shape == (mod.d_out, mod.d_in) and torch.isfinite(delta).all(), e["id"]
    assert opened == len(entries), f"refused: {refused}"


def _view(realzoo, entries, ident):
    entry = next(e for e in entries if e["id"] == ident)
    return open_weights(realzoo / entry["local_path"])


@pytest.mark.parametrize(
    "a,b",
    [
        ("sd-faithsang-anime-diffusers", "sd-faithsang-anime-peft"),  # same tensors, PEFT vs diffusers keys
        ("sd-timohavdk-new", "sd-timohavdk-2100-lora"),  # same tensors, malformed kohya vs diffusers keys
    ],
)
def test_same_adapter_in_two_layouts_reads_the_same(realzoo, entries, a, b):
    va, vb = _view(realzoo, entries, a), _view(realzoo, entries, b)
    assert set(va.modules) == set(vb.modules)
    name = sorted(va.modules)[5]
    assert va.modules[name].scale == vb.modules[name].scale
    assert torch.equal(va.layer(name, scaled=True), vb.layer(name, scaled=True))


def test_cloneofsimo_positions_named(realzoo, entries):
    view = _view(realzoo, entries, "sd-cloneofsimo-lora-disney")
    assert not any("lora_diffusion." in n for n in view.modules)
    # lora_diffusion's diffusers registered ff before attn2: index 4 is the first GEGLU projection
    assert view.modules["unet.down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj"].keys["A"] == "unet:4:down"
    assert view.modules["unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"].d_in == 768
    assert set(view.extra["tokens"]) == {"<s1>", "<s2>"}


def test_vit_adapter_names_match_transformers_in_memory(realzoo, entries):
    view = _view(realzoo, entries, "peft-lockheed-vit-food101")
    assert "vit.layers.0.attention.q_proj" in view.modules and view.modules["classifier"].kind == "full"


def test_gpt2_fan_in_fan_out(realzoo, entries):
    view = _view(realzoo, entries, "peft-abrha-gpt2-tigrinya")
    m = view.modules["transformer.h.0.attn.c_attn"]
    assert m.transposed and (m.d_out, m.d_in) == (768, 2304) and m.scale == 4.0
    # this one's config says fan_in_fan_out false; peft turns it on for Conv1D at load, and so does hfprobe
    m = _view(realzoo, entries, "peft-phuongsky-distilgpt2").modules["transformer.h.0.attn.c_attn"]
    assert m.transposed and (m.d_out, m.d_in) == (768, 2304)

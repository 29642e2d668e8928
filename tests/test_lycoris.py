"""LyCORIS networks (hfprobe/formats/lycoris.py): LoHa, LoKr and LoCon read from the header, ΔW from the factors.

Oracles: peft's own LoHa and LoKr (`get_delta_weight`) on a tiny SD-layout UNet, saved both as peft saves them
and renamed to the kohya names LyCORIS files use; for LoCon's Tucker core, the three convolutions it stands for
run one after another.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.errors import InvalidWeightsError, UnsupportedFormatError
from hfprobe.formats import open_weights
from hfprobe.tree.inspect import inspect_source
from tests.builders import tiny_unet

TARGETS = ["to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2"]


def _peft_network(kind: str, **kw):
    """A tiny UNet with peft's LoHa or LoKr on attention and resnet convolutions, every factor random."""
    from peft import LoHaConfig, LoKrConfig, get_peft_model_state_dict, inject_adapter_in_model

    unet = tiny_unet()
    config = (LoHaConfig if kind == "loha" else LoKrConfig)(r=4, alpha=6, target_modules=TARGETS, **kw)
    inject_adapter_in_model(config, unet)
    torch.manual_seed(3)
    for name, p in unet.named_parameters():
        if any(t in name for t in ("hada_", "lokr_")):
            p.data = torch.randn_like(p) * 0.1
    deltas = {
        name: m.get_delta_weight("default").reshape(m.get_delta_weight("default").shape[0], -1)
        for name, m in unet.named_modules()
        if hasattr(m, "get_delta_weight") and "default" in getattr(m, "scaling", {})
    }
    return get_peft_model_state_dict(unet), config, deltas


def _kohya(state: dict, alpha: float, r: int) -> dict:
    """peft's keys renamed as LyCORIS/kohya files name them, with an `.alpha` per module.

    A LoKr module with neither side decomposed has scale 1 in LyCORIS (it saves alpha = its dim), where peft
    scales by alpha / r: that scale goes into w2, as LyCORIS would have trained it."""
    out = {}
    for key, value in state.items():
        module, _, part = key.removeprefix("base_model.model.").rpartition(".")
        name = "lora_unet_" + module.replace(".", "_")
        whole = part == "lokr_w2" and f"{module}.lokr_w1" in state
        out[f"{name}.{part}"] = (value * alpha / r if whole else value).contiguous()
        out[f"{name}.alpha"] = torch.tensor(alpha)
    return out


@pytest.mark.parametrize(
    "kind, kw",
    [
        ("loha", {}),
        ("loha", {"use_effective_conv2d": True}),
        ("lokr", {"decompose_both": True, "decompose_factor": 4}),
        ("lokr", {"use_effective_conv2d": True}),
    ],
)
def test_delta_matches_peft_in_peft_and_kohya_names(tmp_path, kind, kw):
    state, config, deltas = _peft_network(kind, **kw)
    assert deltas
    peft_dir = tmp_path / "peft"
    peft_dir.mkdir()
    save_file({k: v.contiguous() for k, v in state.items()}, str(peft_dir / "adapter_model.safetensors"))
    (peft_dir / "adapter_config.json").write_text(json.dumps(config.to_dict(), default=list))
    prefixed = tmp_path / "peft-model"  # as PeftModel.save_pretrained names them
    prefixed.mkdir()
    save_file(
        {f"base_model.model.{k}": v.contiguous() for k, v in state.items()}, str(prefixed / "adapter.safetensors")
    )
    (prefixed / "adapter_config.json").write_text((peft_dir / "adapter_config.json").read_text())
    save_file(_kohya(state, config.alpha, config.r), str(tmp_path / "kohya.safetensors"))
    for path, fmt in ((peft_dir, "peft"), (prefixed, "peft"), (tmp_path / "kohya.safetensors", "lycoris")):
        view = open_weights(path)
        assert view.format == fmt and {m.kind for m in view.modules.values()} == {kind}
        assert len(view.modules) == len(deltas)
        for name, want in deltas.items():
            got = view.layer(f"unet.{name}", scaled=True)
            mod = view.modules[f"unet.{name}"]
            assert got.shape == want.shape == (mod.d_out, mod.d_in), name
            torch.testing.assert_close(got, want.float(), rtol=1e-4, atol=1e-6)
            if "conv" in name:  # the kernel, stored flattened or in a Tucker core, is known
                assert mod.kernel == (3, 3), (name, mod.kernel)


def test_locon_tucker_core_is_the_three_convolutions(tmp_path):
    torch.manual_seed(0)
    down, mid, up = torch.randn(4, 8, 1, 1), torch.randn(4, 4, 3, 3), torch.randn(16, 4, 1, 1)
    name = "lora_unet_down_blocks_0_resnets_0_conv1"
    save_file(
        {f"{name}.lora_down.weight": down, f"{name}.lora_mid.weight": mid, f"{name}.lora_up.weight": up,
         f"{name}.alpha": torch.tensor(2.0)},
        str(tmp_path / "locon.safetensors"),
    )  # fmt: skip
    view = open_weights(tmp_path / "locon.safetensors")
    mod = view.modules["unet.down_blocks.0.resnets.0.conv1"]
    assert (mod.kind, mod.d_out, mod.d_in, mod.kernel, mod.rank, mod.scale) == ("locon", 16, 72, (3, 3), 4, 0.5)
    x = torch.randn(1, 8, 7, 7)
    chained = torch.nn.functional.conv2d(
        torch.nn.functional.conv2d(torch.nn.functional.conv2d(x, down), mid, padding=1), up
    )
    kernel = view.layer(mod.name).reshape(16, 8, 3, 3)
    torch.testing.assert_close(torch.nn.functional.conv2d(x, kernel, padding=1), chained, rtol=1e-4, atol=1e-4)


def _sd15_loha(path, r: int = 8):
    """A LoHa on SD 1.5's attention layers of three down blocks, at SD 1.5's sizes, in kohya names."""
    torch.manual_seed(0)
    t = {}
    for block, width in ((0, 320), (1, 640), (2, 1280)):
        for attn, ctx in (("attn1", width), ("attn2", 768)):
            for proj, d_in in (("to_q", width), ("to_k", ctx), ("to_v", ctx)):
                name = f"lora_unet_down_blocks_{block}_attentions_0_transformer_blocks_0_{attn}_{proj}"
                for n in "12":
                    t[f"{name}.hada_w{n}_a"] = torch.randn(width, r) * 0.1
                    t[f"{name}.hada_w{n}_b"] = torch.randn(r, d_in) * 0.1
                t[f"{name}.alpha"] = torch.tensor(4.0)
    save_file(t, str(path))
    return path


def test_a_loha_at_sd15_sizes_is_inspected_as_sd1(tmp_path):
    """Inspect answers from the header alone: family, root candidates, format, rank."""
    report = inspect_source(str(_sd15_loha(tmp_path / "style_loha.safetensors")))
    assert (report["format"], report["kind"], report["family"], report["rank"]) == ("lycoris", "adapter", "sd1", 8)
    assert "stable-diffusion-v1-5/stable-diffusion-v1-5" in [c["id"] for c in report["root"]["candidates"]]


def test_the_readout_reads_a_loha_s_cross_attention_deltas(tmp_path):
    """The expert-free readout scores ||ΔW x|| of attn2.to_k/to_v: a LoHa's ΔW (rank up to r²) is used whole."""
    from hfprobe.experts.readout import deltas_of
    from hfprobe.experts.readout_features import delta_factors

    view = open_weights(_sd15_loha(tmp_path / "style_loha.safetensors"))
    deltas, ranks = deltas_of(view)
    assert len(deltas) == 6 and all(n.endswith(("attn2.to_k", "attn2.to_v")) for n in deltas) and ranks == {}
    x = torch.randn(768, 5)
    for name, c in delta_factors(deltas, ranks).items():
        got, want = (torch.from_numpy(a) @ x for a in (c, deltas[name]))
        torch.testing.assert_close(got.norm(dim=0), want.norm(dim=0), rtol=1e-3, atol=1e-5)
        assert c.shape[0] > 8  # more than the LoHa's r: the Hadamard product's rank


def test_the_readout_answers_for_a_loha_and_says_its_probability_is_extrapolated(tmp_path):
    from hfprobe.experts.predict import _readout_trust
    from hfprobe.experts.readout import readout_predict
    from hfprobe.text import states as st

    view = open_weights(_sd15_loha(tmp_path / "style_loha.safetensors"))
    labels = [f"label {i}" for i in range(6)]
    g = torch.Generator().manual_seed(0)
    ts = st.TextStates(
        "synthetic", st.TEMPLATE, labels, [torch.randn(5, 768, generator=g) for _ in labels],
        [torch.tensor([False, True, True, False, False]) for _ in labels],
    )  # fmt: skip
    out = readout_predict(view, labels, text_states=ts)
    assert out["kinds"] == ["loha"] and out["modules"] == 6 and len(out["predictions"]) == 5
    answered = {"readout": {**out, "probability_right": 0.7, "abstained": False}, "predictions": out["predictions"]}
    _readout_trust(answered)
    assert answered["calibration"]["note"].endswith("this adapter is loha, not LoRA: that fit is extrapolated")


def test_oft_and_damaged_factors_get_one_line(tmp_path):
    name = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
    save_file({f"{name}.oft_blocks": torch.zeros(4, 8, 8)}, str(tmp_path / "oft.safetensors"))
    with pytest.raises(UnsupportedFormatError, match="oft.safetensors.*OFT") as err:
        open_weights(tmp_path / "oft.safetensors")
    assert "\n" not in str(err.value)
    save_file(
        {f"{name}.hada_w1_a": torch.zeros(32, 4), f"{name}.hada_w1_b": torch.zeros(4, 32)},
        str(tmp_path / "half.safetensors"),
    )
    with pytest.raises(Exception, match="half.safetensors.*lacks its w2a, w2b factor") as err:
        open_weights(tmp_path / "half.safetensors")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "parts",
    [
        {"hada_w1_a": [4, 32], "hada_w1_b": [4, 32], "hada_t1": [4, 4], "hada_w2_a": [4, 32], "hada_w2_b": [4, 32],
         "hada_t2": [4, 4]},  # 2-D cores
        {"hada_w1_a": [32, 4, 1, 1], "hada_w1_b": [4, 32], "hada_w2_a": [32, 4], "hada_w2_b": [4, 32]},
        {"hada_w1_a": [32, 4], "hada_w1_b": [4, 32], "hada_w2_a": [16, 4], "hada_w2_b": [4, 32]},  # sides differ
        {"lokr_w1": [4, 4, 3, 3], "lokr_w2": [8, 8]},
        {"lokr_w1": [4, 4], "lokr_w2_a": [8, 2], "lokr_w2_b": [3, 8]},
        {"lora_down.weight": [2, 32, 1, 1], "lora_mid.weight": [2, 2], "lora_up.weight": [32, 2, 1, 1]},
        {"lora_down.weight": [2, 32, 3, 3], "lora_mid.weight": [2, 2, 3, 3], "lora_up.weight": [32, 2, 1, 1]},
    ],
)  # fmt: skip
def test_factors_that_do_not_fit_get_one_typed_line(tmp_path, parts):
    name = "lora_unet_down_blocks_0_resnets_0_conv1"
    save_file({f"{name}.{k}": torch.zeros(shape) for k, shape in parts.items()}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(InvalidWeightsError, match="bad.safetensors.*(do not fit|lacks)") as err:
        open_weights(tmp_path / "bad.safetensors")
    assert "\n" not in str(err.value)

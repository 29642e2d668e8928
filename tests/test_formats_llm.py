"""hfprobe.formats on PEFT adapters written by peft itself (LoRA, its variants, IA3 and prompt tuning) and on
language-model LoRAs saved without PEFT's names."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.errors import UnsupportedFormatError
from hfprobe.formats import open_weights
from tests import builders as B

torch.set_num_threads(1)


@pytest.mark.parametrize("kind", ["bert", "gpt2", "vit", "t5", "llama", "whisper"])
def test_peft_adapters(tmp_path, kind):
    model, folder = B.peft_adapter(kind, tmp_path, r=4, alpha=8)
    deltas = B.lora_deltas(model)
    view = open_weights(folder)
    assert view.format == "peft" and view.config["r"] == 4
    lora = {n for n, m in view.modules.items() if m.kind == "lora"}
    assert lora == set(deltas)  # canonical = peft's in-memory module names
    for name, delta in deltas.items():
        assert torch.allclose(view.layer(name, scaled=True), delta, atol=1e-5), name
    if kind == "gpt2":  # Conv1D: fan_in_fan_out, layer() in the stored [in, out] layout
        assert all(view.modules[n].transposed for n in lora)


def test_peft_gpt2_equals_merged_minus_base(tmp_path):
    model, folder = B.peft_adapter("gpt2", tmp_path, r=4, alpha=16)
    base = {k: v.clone() for k, v in model.get_base_model().state_dict().items()}
    merged = model.merge_and_unload().state_dict()
    view = open_weights(folder)
    name = "transformer.h.0.attn.c_attn"
    base_key = next(k for k in base if k.endswith(name + ".base_layer.weight") or k == name + ".weight")
    assert torch.allclose(view.layer(name, scaled=True), merged[name + ".weight"] - base[base_key], atol=1e-5)


def test_peft_rslora_patterns_dora_modules_to_save(tmp_path):
    model, folder = B.peft_adapter(
        "bert",
        tmp_path,
        r=4,
        alpha=8,
        use_rslora=True,
        rank_pattern={"value": 2},
        alpha_pattern={"value": 3},
        modules_to_save=["classifier"],
    )
    view = open_weights(folder)
    q = view.modules["bert.encoder.layer.0.attention.self.query"]
    v = view.modules["bert.encoder.layer.1.attention.self.value"]
    assert (q.rank, q.alpha, q.scale) == (4, 8, pytest.approx(8 / 2))  # rslora: alpha / sqrt(r)
    assert (v.rank, v.alpha, v.scale) == (2, 3, pytest.approx(3 / 2**0.5))
    assert view.modules["classifier"].kind == "full"
    for name, delta in B.lora_deltas(model).items():
        assert torch.allclose(view.layer(name, scaled=True), delta, atol=1e-5), name
    model2, folder2 = B.peft_adapter("bert", tmp_path / "dora", use_dora=True)
    assert all(m.dora for m in open_weights(folder2).modules.values() if m.kind == "lora")


def test_peft_state_dict_with_adapter_names(tmp_path):
    model, _ = B.peft_adapter("bert", tmp_path / "a", modules_to_save=["classifier"])
    # some repos save model.state_dict() itself: adapter names in the keys, base weights alongside
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "dump.safetensors"))
    view = open_weights(tmp_path / "dump.safetensors")
    assert view.format == "peft"
    for name, delta in B.lora_deltas(model).items():  # no adapter_config.json beside it: B@A, unscaled (8/4 = 2)
        assert torch.allclose(view.layer(name), delta / 2, atol=1e-5), name
    assert view.modules["classifier"].kind == "full"


def test_peft_ia3_and_prompt_tuning_adapters_are_inspected(tmp_path):
    """peft's IA3 (a scaling vector per layer) and prompt-tuning (learned virtual tokens) adapters were refused;
    inspect now reads them, each layer's known side checked against the model peft wrapped (the oracle)."""
    from peft import IA3Config, PromptTuningConfig, get_peft_model

    from hfprobe.tree.inspect import inspect_source

    model = B.tiny_transformer("llama")
    ia3 = get_peft_model(
        model, IA3Config(target_modules=["q_proj", "v_proj", "down_proj"], feedforward_modules=["down_proj"])
    )
    ia3.save_pretrained(str(tmp_path / "ia3"))
    view = open_weights(tmp_path / "ia3")
    assert view.format == "peft" and {m.kind for m in view.modules.values()} == {"ia3"}
    linear = {n: m for n, m in model.named_modules() if type(m).__name__ == "Linear"}
    for name, mod in view.modules.items():
        base = linear[f"{name}.base_layer"]  # the Linear peft wrapped
        if name.endswith("down_proj"):  # feed-forward: scales the input, [1, in]
            assert (mod.d_out, mod.d_in) == (0, base.in_features), name
        else:
            assert (mod.d_out, mod.d_in) == (base.out_features, 0), name
    with pytest.raises(UnsupportedFormatError, match="IA3 scaling vector") as err:
        view.layer(next(iter(view.modules)))
    assert "\n" not in str(err.value)
    assert inspect_source(str(tmp_path / "ia3"))["kind"] == "adapter"

    pt = get_peft_model(B.tiny_transformer("gpt2"), PromptTuningConfig(num_virtual_tokens=5, task_type="CAUSAL_LM"))
    pt.save_pretrained(str(tmp_path / "pt"))
    report = inspect_source(str(tmp_path / "pt"))
    assert (report["format"], report["kind"], report["modules"]) == ("peft", "adapter", 1)
    view = open_weights(tmp_path / "pt")
    assert [(m.d_out, m.d_in, m.kind) for m in view.modules.values()] == [(5, 16, "embedding")]


@pytest.mark.parametrize("kind", ["llama", "vit", "bert"])
def test_a_lora_saved_without_peft_s_prefix_is_the_model_s_not_a_unet_s(tmp_path, kind):
    """PEFT's `lora_A` / `lora_B` under the model's own names, without `base_model.model.` and with no config (a
    state dict saved by hand, mistral-finetune's `lora.safetensors`): it was read as a diffusers UNet LoRA, every
    module named `unet.model.layers.0.self_attn.q_proj`, and a classifier left out."""
    model, folder = B.peft_adapter(kind, tmp_path / "peft", r=4, alpha=4)  # alpha = r: the scale 1 then assumed
    deltas = B.lora_deltas(model)
    state = {k.removeprefix("base_model.model."): v for k, v in B._peft_state(model).items()}
    save_file(state, str(tmp_path / "lora.safetensors"))
    view = open_weights(tmp_path / "lora.safetensors")
    assert view.format == "peft" and not any(n.startswith("unet.") for n in view.modules)
    assert {n for n, m in view.modules.items() if m.kind == "lora"} == set(deltas)
    for name, delta in deltas.items():
        assert torch.allclose(view.layer(name, scaled=True), delta, atol=1e-5), name
    assert any("prefix" in n for n in view.notes) and any("alpha unknown" in n for n in view.notes)


def test_mistral_finetune_and_dotted_llm_factors_keep_their_names(tmp_path):
    mistral = {}  # mistral-finetune's LoRA: Meta's own names, PEFT's factor names, no prefix
    for i in range(2):
        for m, out in (("wq", 64), ("wk", 16)):
            mistral[f"layers.{i}.attention.{m}.lora_A.weight"] = torch.randn(4, 64)
            mistral[f"layers.{i}.attention.{m}.lora_B.weight"] = torch.randn(out, 4)
    save_file(mistral, str(tmp_path / "lora.safetensors"))
    view = open_weights(tmp_path / "lora.safetensors")
    assert view.format == "peft" and sorted(view.modules)[0] == "layers.0.attention.wk"
    dotted = {"model.layers.0.self_attn.q_proj.lora_down.weight": torch.randn(4, 64),
              "model.layers.0.self_attn.q_proj.lora_up.weight": torch.randn(64, 4)}  # fmt: skip
    save_file(dotted, str(tmp_path / "dotted.safetensors"))
    assert list(open_weights(tmp_path / "dotted.safetensors").modules) == ["model.layers.0.self_attn.q_proj"]


def test_split_role_is_the_first_suffix_that_ends_the_key():
    import random

    from hfprobe.formats.lora import ROLE_SUFFIXES, split_role

    def plain(key):  # the suffixes in order, the longest and most specific first
        return next(((key[: -len(s)], role) for s, role in ROLE_SUFFIXES if key.endswith(s)), None)

    rng = random.Random(3)
    pieces = ["x", ".", "_", ".lora_", ".lora_A", ".lora_B", "A", ".weight", ".bias", ".alpha", ".lora_E", "vector"]
    pieces += [s for s, _ in ROLE_SUFFIXES] + [".lora_magnitude_vector", ".lora_embedding_A", "lora_down"]
    keys = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 5))) for _ in range(20000)]
    assert sum(plain(k) is not None for k in keys) > 5000
    assert [split_role(k) for k in keys] == [plain(k) for k in keys]

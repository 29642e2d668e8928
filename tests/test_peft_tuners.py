"""PEFT's other tuners: AdaLoRA (a low-rank ΔW, read against peft's own `get_delta_weight`), and the tuners that
store no low-rank pair (OFT, BOFT, VeRA, HRA, MiSS, C3A, RandLoRA, FourierFT, SHiRA, LN tuning), which `inspect`
answers from their module names and the sizes their tensors give. All were refused before ("recognised as peft but
no module could be read"), so `annotate` could not write their cards. Adapters are made by peft on a tiny Llama
whose v_proj and down_proj are not square, so every size is checked the right way round.
"""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from hfprobe.errors import UnsupportedFormatError
from hfprobe.formats import open_weights
from hfprobe.tree.inspect import inspect_source

peft = pytest.importorskip("peft")
torch.set_num_threads(1)
TARGETS = ["v_proj", "down_proj"]


def _model():
    import transformers as tf

    torch.manual_seed(0)
    config = tf.LlamaConfig(
        hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
        vocab_size=64,
    )  # fmt: skip
    return tf.LlamaForCausalLM(config)


def _save(config, folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = peft.get_peft_model(_model(), config)
    model.save_pretrained(str(folder))
    return model


def test_adalora_reads_as_peft_computes_its_delta(tmp_path):
    model = _save(peft.AdaLoraConfig(init_r=6, lora_alpha=12, target_modules=TARGETS, total_step=10), tmp_path / "a")
    for module in model.modules():  # E starts at zero (ΔW 0): give it values, as training would
        if hasattr(module, "lora_E") and "default" in module.lora_E:
            module.lora_E["default"].data.normal_()
    model.save_pretrained(str(tmp_path / "a"))
    view = open_weights(tmp_path / "a")
    assert view.format == "peft" and len(view.modules) == 4
    for name, module in model.named_modules():
        if not hasattr(module, "get_delta_weight") or "default" not in getattr(module, "lora_A", {}):
            continue
        ours = view.modules[name.removeprefix("base_model.model.")]
        assert (ours.rank, ours.alpha, ours.scale) == (6, 12.0, 2.0)
        expected = module.get_delta_weight("default").detach()
        assert torch.allclose(view.layer(ours.name, scaled=True), expected, atol=1e-5), name


TUNERS = {  # the tuner, and which sides of the adapted layer its tensors give
    "oft": (lambda: peft.OFTConfig(r=0, oft_block_size=8, target_modules=TARGETS), "in"),
    "boft": (lambda: peft.BOFTConfig(boft_block_size=8, target_modules=TARGETS), "out in"),
    "vera": (lambda: peft.VeraConfig(r=8, target_modules=TARGETS), "out"),
    "hra": (lambda: peft.HRAConfig(r=4, target_modules=TARGETS), "in"),
    "miss": (lambda: peft.MissConfig(r=4, target_modules=TARGETS), "out"),
    "c3a": (lambda: peft.C3AConfig(block_size=8, target_modules=TARGETS), "out in"),
    "randlora": (lambda: peft.RandLoraConfig(r=8, target_modules=TARGETS), "out"),
    "fourierft": (lambda: peft.FourierFTConfig(n_frequency=16, target_modules=TARGETS), ""),
    "shira": (lambda: peft.ShiraConfig(r=2, target_modules=TARGETS), ""),
}


@pytest.mark.parametrize("tuner", list(TUNERS))
def test_a_tuner_without_a_low_rank_pair_is_inspected_at_the_sizes_it_gives(tuner, tmp_path):
    make, sides = TUNERS[tuner]
    _save(make(), tmp_path / tuner)
    report = inspect_source(str(tmp_path / tuner))
    assert report["format"] == "peft" and report["kind"] == "adapter" and report["family"] == "llama"
    assert report["modules"] == 4 and any("no ΔW" in n for n in report["notes"])
    view = open_weights(tmp_path / tuner)
    sizes = {n: tuple(m.weight.shape) for n, m in _model().named_modules() if n.endswith(tuple(TARGETS))}
    for name, module in view.modules.items():
        assert module.kind == "tuner"
        out, inp = sizes[name]
        expected = (out if "out" in sides else 0, inp if "in" in sides else 0)
        assert (module.d_out, module.d_in) == expected, name
    with pytest.raises(UnsupportedFormatError, match="PEFT tuner"):
        view.layer(next(iter(view.modules)))


def test_ln_tuning_names_its_norms(tmp_path):
    _save(peft.LNTuningConfig(target_modules=["input_layernorm"]), tmp_path / "ln")
    view = open_weights(tmp_path / "ln")
    assert set(view.modules) == {f"model.layers.{i}.input_layernorm" for i in range(2)}
    assert {m.d_out for m in view.modules.values()} == {32}
    view.close()


def test_ln_tuning_of_a_linear_is_that_layer_copied(tmp_path):
    """LN tuning trains a copy of any layer it targets: on a Linear, its [out, in] weight (was refused as "not the
    1-D tensor peft stores")."""
    _save(peft.LNTuningConfig(target_modules=["v_proj"]), tmp_path / "ln")
    with open_weights(tmp_path / "ln") as view:
        assert {(m.d_out, m.d_in) for m in view.modules.values()} == {(8, 32)}  # v_proj: 1 key-value head of 8


# every other method peft registers that builds on the tiny model with its defaults: hfprobe has no table of their
# tensors' shapes, so it reads the layers they adapt by name (peft keeps them under `<layer>.<method>_…`)
_TABLED = {"LORA", "ADALORA", "LOHA", "LOKR", "IA3", "OFT", "BOFT", "VERA", "HRA", "MISS", "C3A", "RANDLORA",
           "FOURIERFT", "SHIRA", "LN_TUNING", "ADAPTION_PROMPT", "XLORA"}  # fmt: skip


_SMALL = {"PSOFT": {"r": 4}, "ROAD": {"group_size": 8}, "VBLORA": {"vector_length": 8}, "WAVEFT": {"n_frequency": 16}}


def _other_methods():
    from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING

    return sorted(str(t.value) for t in PEFT_TYPE_TO_CONFIG_MAPPING if str(t.value) not in _TABLED)


@pytest.mark.parametrize("method", _other_methods())
def test_every_other_peft_method_is_read_by_the_layers_it_names_or_refused_in_one_line(method, tmp_path):
    import inspect

    from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING

    cls = next(c for t, c in PEFT_TYPE_TO_CONFIG_MAPPING.items() if str(t.value) == method)
    params = inspect.signature(cls).parameters
    kwargs = {"task_type": "CAUSAL_LM"}
    kwargs.update({"target_modules": TARGETS} if "target_modules" in params else {})
    kwargs.update({"num_virtual_tokens": 4} if "num_virtual_tokens" in params else {})
    kwargs.update(_SMALL.get(method, {}))  # sizes the tiny model allows
    try:
        config = cls(**kwargs)
        _save(config, tmp_path / "a")
    except (ValueError, TypeError) as err:  # needs settings of its own on a model this small (a vector length, …)
        pytest.skip(f"peft {method} does not build with its defaults here: {err}")
    try:
        report = inspect_source(str(tmp_path / "a"))
    except UnsupportedFormatError as err:  # parameters shared by all its layers, none under a layer's name
        assert "name no layer of the model" in str(err) and "\n" not in str(err)
        return
    assert report["format"] == "peft" and report["kind"] == "adapter" and report["modules"] >= 1
    if not config.is_prompt_learning:  # per-layer tensors: the layers of a Llama, by name
        assert report["family"] == "llama", report


def test_a_method_read_by_name_checks_a_declared_base_by_names_and_depth_only(tmp_path):
    """No sizes to check: a declared Llama-2-7B is written, saying what was checked (names, 32 blocks); TinyLlama's 22
    blocks rule it out. Before: every root was ruled out ("the weights rule it out"), a false conflict."""
    from tests.builders import write_header

    tensors = {f"base_model.model.model.layers.{i}.self_attn.{m}.delora_{s}": ("F32", shape) for i in range(32)
               for m in ("q_proj", "v_proj") for s, shape in (("A", (8, 4096)), ("B", (4096, 8)))}  # fmt: skip
    write_header(tmp_path / "adapter_model.safetensors", tensors)
    config = {"peft_type": "DELORA", "r": 8, "target_modules": ["q_proj", "v_proj"]}
    for declared, fits in (("meta-llama/Llama-2-7b-hf", True), ("TinyLlama/TinyLlama-1.1B-Chat-v1.0", False)):
        (tmp_path / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": declared}))
        report = inspect_source(str(tmp_path))
        assert report["family"] == "llama" and report["family_confidence"] <= 0.5
        if fits:
            assert report["base_model"]["id"] == declared and not report["conflicts"]
            assert "no sizes" in report["base_model"]["reason"]
        else:
            assert report["base_model"]["id"] is None and "block index 31" in report["conflicts"][0]

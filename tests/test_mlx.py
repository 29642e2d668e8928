"""mlx-lm adapters (`adapters.safetensors` + `adapter_config.json`), checked against mlx-lm itself.

The adapters are made by mlx-lm's own tuner (`linear_to_lora_layers` on a tiny Llama built from its config) and
saved as its trainer saves them; mlx-lm's `fuse()` is the oracle for every ΔW hfprobe reads.
"""

from __future__ import annotations

import json

import pytest

mx = pytest.importorskip("mlx.core", reason="mlx (the dev extra; CPU build on Linux) makes the mlx-lm adapters")
nn = pytest.importorskip("mlx.nn")
llama = pytest.importorskip("mlx_lm.models.llama", reason="mlx-lm (the dev extra) makes the adapters")

from mlx.utils import tree_flatten  # noqa: E402
from mlx_lm.tuner.lora import LoRAEmbedding  # noqa: E402
from mlx_lm.tuner.utils import linear_to_lora_layers  # noqa: E402

from hfprobe.cards.section import relation_of  # noqa: E402
from hfprobe.formats import open_weights  # noqa: E402
from hfprobe.tree.inspect import inspect_source  # noqa: E402

ARGS = dict(
    model_type="llama",
    hidden_size=64,
    num_hidden_layers=3,
    intermediate_size=128,
    num_attention_heads=4,
    num_key_value_heads=2,
    rms_norm_eps=1e-5,
    vocab_size=97,
)


def _adapter(folder, *, dora=False, scale=7.5, config_extra=None, seed=0):
    """A tiny Llama with mlx-lm's LoRA (or DoRA) layers on its last 2 blocks, B randomised as training would."""
    mx.random.seed(seed)
    model = llama.Model(llama.ModelArgs(**ARGS))
    model.freeze()
    params = {"rank": 4, "scale": scale, "dropout": 0.0}
    linear_to_lora_layers(model, 2, params, use_dora=dora)
    layers = {}
    for name, module in model.named_modules():
        if hasattr(module, "lora_b"):
            module.lora_b = mx.random.normal(module.lora_b.shape) * 0.1
            layers[name] = module
    folder.mkdir(parents=True, exist_ok=True)
    mx.save_safetensors(str(folder / "adapters.safetensors"), dict(tree_flatten(model.trainable_parameters())))
    config = {
        "model": "mlx-community/Llama-3.2-1B-Instruct-4bit",
        "fine_tune_type": "dora" if dora else "lora",
        "num_layers": 2,
        "lora_parameters": params,
        **(config_extra or {}),
    }
    (folder / "adapter_config.json").write_text(json.dumps(config))
    return layers


def _delta(module) -> mx.array:
    """mlx-lm's own ΔW: the fused weight less the base weight."""
    return module.fuse(dequantize=True).weight - module.linear.weight


def test_an_mlx_lora_reads_as_mlx_lm_fuses_it(tmp_path):
    """Before hfprobe read mlx-lm's layout, `inspect` refused it ("unknown weights layout")."""
    layers = _adapter(tmp_path / "a")
    view = open_weights(tmp_path / "a")
    assert view.format == "mlx" and set(view.modules) == set(layers)
    for name, module in layers.items():
        m = view.modules[name]
        assert (m.rank, m.scale, m.alpha) == (4, 7.5, 30.0)
        assert (m.d_out, m.d_in) == tuple(module.linear.weight.shape)
        ours = view.layer(name, scaled=True).numpy()
        assert abs(ours - _delta(module).__array__()).max() < 1e-5, name


def test_an_mlx_dora_keeps_its_magnitude_and_reads_the_same_low_rank_delta(tmp_path):
    layers = _adapter(tmp_path / "d", dora=True)
    view = open_weights(tmp_path / "d")
    name, module = next(iter(layers.items()))
    m = view.modules[name]
    assert m.dora and m.keys["magnitude"] == name + ".m"
    expected = (module.scale * module.lora_b.T) @ module.lora_a.T  # DoRA's ΔW before its norm (base.py's rule)
    assert abs(view.layer(name, scaled=True).numpy() - expected.__array__()).max() < 1e-5


def test_an_mlx_embedding_lora_is_shaped_like_the_table(tmp_path):
    table = nn.Embedding(97, 64)
    lora = LoRAEmbedding.from_base(table, r=4, scale=2.0, dropout=0.0)
    lora.lora_b = mx.random.normal(lora.lora_b.shape) * 0.1
    folder = tmp_path / "e"
    folder.mkdir()
    weights = {f"model.embed_tokens.{k}": v for k, v in tree_flatten(lora.parameters()) if k.startswith("lora_")}
    mx.save_safetensors(str(folder / "adapters.safetensors"), weights)
    (folder / "adapter_config.json").write_text(json.dumps({"lora_parameters": {"rank": 4, "scale": 2.0}}))
    view = open_weights(folder)
    expected = lora.fuse().weight - table.weight
    assert abs(view.layer("model.embed_tokens", scaled=True).numpy() - expected.__array__()).max() < 1e-5


def test_an_mlx_adapter_names_its_base_from_the_config_and_the_final_save_is_read(tmp_path):
    folder = tmp_path / "run"
    _adapter(folder)
    (folder / "0000100_adapters.safetensors").write_bytes((folder / "adapters.safetensors").read_bytes())
    report = inspect_source(str(folder))
    assert report["files"] == ["adapters.safetensors"] and relation_of(report) == "adapter"
    assert report["family"] == "llama" and report["declared"]["adapter_config.json model"].startswith("mlx-community")
    assert report["base_model"]["id"] is None  # 64 wide: the weights rule out the 1B model it declares


def test_an_mlx_config_without_a_scale_assumes_mlx_lms_default_and_says_so(tmp_path):
    _adapter(tmp_path / "s", config_extra={"lora_parameters": {"rank": 4}})
    view = open_weights(tmp_path / "s")
    assert {m.scale for m in view.modules.values()} == {20.0}
    assert any("default 20" in n for n in view.notes)

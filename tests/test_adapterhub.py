"""AdapterHub's bottleneck adapters (the `adapters` library): `pytorch_adapter.bin` + `adapter_config.json`, and the
prediction head beside them (`pytorch_model_head.bin` + `head_config.json`). The library pins transformers 4, so
the files are written here as its `save_adapter` writes them: adapters 1.3's `Adapter` keeps `adapter_down` (a
Sequential: [LayerNorm,] Linear, activation) and `adapter_up` (a Linear) under `<layer>.adapters.<name>`, and its
configs hold the settings under `config` beside `model_name`, `model_type` and `name`.

Its LoRA (`adapter.safetensors`: `<linear>.loras.<name>.lora_A` / `lora_B`) is read under the Linear's name, at
the config's alpha.

Before: the folder was "2 weights files of different models"; the adapter alone a transformers checkpoint of kind
checkpoint (relation finetune), BERT at 0.5 ("0% of the parameters in layers BERT roots have"), no base_model; the
LoRA was loralib's, under names no family has, at alpha 1.
"""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.tree.inspect import inspect_source

HIDDEN, LAYERS, BOTTLENECK = 768, 12, 48  # bert-base with the Pfeiffer configuration's reduction factor 16


def _adapter_folder(folder, norm_before: bool = False, labels=("negative", "positive")):
    state = {}
    for i in range(LAYERS):
        base = f"bert.encoder.layer.{i}.output.adapters.sentiment"
        linear = 1 if norm_before else 0
        if norm_before:
            state[f"{base}.adapter_down.0.weight"] = state[f"{base}.adapter_norm_before.weight"] = torch.ones(HIDDEN)
        state[f"{base}.adapter_down.{linear}.weight"] = torch.zeros(BOTTLENECK, HIDDEN)
        state[f"{base}.adapter_down.{linear}.bias"] = torch.zeros(BOTTLENECK)
        state[f"{base}.adapter_up.weight"], state[f"{base}.adapter_up.bias"] = (
            torch.zeros(HIDDEN, BOTTLENECK),
            torch.zeros(HIDDEN),
        )
    folder.mkdir(parents=True)
    torch.save(state, folder / "pytorch_adapter.bin")
    common = {
        "model_name": "bert-base-uncased",
        "model_type": "bert",
        "model_class": "BertAdapterModel",
        "name": "sentiment",
    }
    config = {"architecture": "bottleneck", "reduction_factor": 16, "non_linearity": "relu", "ln_before": norm_before}
    (folder / "adapter_config.json").write_text(json.dumps({"config": config, "hidden_size": HIDDEN, **common}))
    head = {"head_type": "classification", "num_labels": len(labels), "label2id": {n: i for i, n in enumerate(labels)}}
    (folder / "head_config.json").write_text(json.dumps({"config": head, **common}))
    head_weights = {
        "heads.sentiment.1.weight": torch.zeros(HIDDEN, HIDDEN),
        "heads.sentiment.4.weight": torch.zeros(2, HIDDEN),
    }
    torch.save(head_weights, folder / "pytorch_model_head.bin")
    return folder


@pytest.mark.parametrize("norm_before", [False, True])
def test_an_adapterhub_adapter_is_an_adapter_of_its_declared_model(norm_before, tmp_path):
    report = inspect_source(str(_adapter_folder(tmp_path / "sentiment", norm_before)))
    assert (report["format"], report["kind"], report["family"]) == ("adapterhub", "adapter", "bert")
    assert report["modules"] == 2 * LAYERS and report["family_confidence"] >= 0.8
    assert report["base_model"]["id"] == "bert-base-uncased" and not report["conflicts"]
    assert report["head"] == {"module": "heads.sentiment", "outputs": 2, "task": "classification",
                              "labels": ["negative", "positive"]}  # fmt: skip
    assert any("bottleneck [48]" in n for n in report["notes"])


def test_an_adapter_declared_on_another_model_is_a_conflict(tmp_path):
    folder = _adapter_folder(tmp_path / "a")
    config = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**config, "model_name": "bert-large-uncased"}))
    report = inspect_source(str(folder))
    assert report["base_model"]["id"] is None and report["conflicts"]


def test_a_bottleneck_has_no_delta_to_read(tmp_path):
    from hfprobe.errors import UnsupportedFormatError
    from hfprobe.formats import open_weights

    view = open_weights(str(_adapter_folder(tmp_path / "a")))
    name = next(iter(view.modules))
    with pytest.raises(UnsupportedFormatError, match="AdapterHub bottleneck"):
        view.layer(name)


def _lora_folder(folder, alpha: int | None = 16, r: int = 8):
    """adapters 1.3's LoRA (`LoRAConfig`, `use_safetensors`): each pair on the Linear it adapts, as `LoRALinear`
    (an nn.Linear holding `loras`, a ModuleDict by adapter name) keeps it; `LoRA.scaling` is alpha / r."""
    torch.manual_seed(0)
    state = {}
    for i in range(LAYERS):
        for m in ("query", "value"):
            base = f"bert.encoder.layer.{i}.attention.self.{m}.loras.sst-2"
            state[f"{base}.lora_A"], state[f"{base}.lora_B"] = torch.randn(r, HIDDEN), torch.randn(HIDDEN, r)
    folder.mkdir(parents=True)
    from safetensors.torch import save_file

    save_file(state, folder / "adapter.safetensors")
    config = {"architecture": "lora", "r": r, "selfattn_lora": True, "attn_matrices": ["q", "v"]}
    config.update({"alpha": alpha} if alpha is not None else {})
    common = {"model_name": "bert-base-uncased", "model_type": "bert", "name": "sst-2"}
    (folder / "adapter_config.json").write_text(json.dumps({"config": config, **common}))
    return folder, state


@pytest.mark.parametrize("alpha", [16, None])
def test_an_adapterhub_lora_is_a_lora_of_the_linears_it_adapts(alpha, tmp_path):
    """Before: loralib's, its modules `….query.loras.sst-2` (no family role: BERT at 0.5) and alpha 1 assumed."""
    from hfprobe.formats import open_weights

    folder, state = _lora_folder(tmp_path / "lora", alpha)
    report = inspect_source(str(folder))
    assert (report["format"], report["kind"], report["family"], report["rank"]) == ("adapterhub", "adapter", "bert", 8)
    assert report["family_confidence"] >= 0.8 and report["base_model"]["id"] == "bert-base-uncased"
    name = "bert.encoder.layer.3.attention.self.value"
    with open_weights(str(folder)) as view:
        assert name in view.modules
        base = f"{name}.loras.sst-2"
        expected = state[f"{base}.lora_B"] @ state[f"{base}.lora_A"] * (alpha or 8) / 8  # the library's default, 8
        torch.testing.assert_close(view.layer(name, scaled=True), expected)

"""torchtune's own adapter files (`adapter_model.pt`): its module names, lower-case factors, alpha beside it.

torchtune itself (0.6, with torchao and datasets) is too heavy for the dev extra; the files are built from a peft
LoRA on a tiny transformers Llama, renamed as torchtune's `convert_weights._FROM_HF` table names those modules
(layers.N.attn.q_proj, attn.output_proj, mlp.w1 / w3 / w2), so each module's ΔW is peft's own.
"""

from __future__ import annotations

import json
import re

import pytest
import torch

from hfprobe.formats import open_weights
from hfprobe.tree.inspect import inspect_source
from tests import builders as B

# transformers' name -> torchtune's (torchtune.models.convert_weights._FROM_HF, for the LoRA targets)
FROM_HF = {
    r"model\.layers\.(\d+)\.self_attn\.([qkv])_proj": r"layers.\1.attn.\2_proj",
    r"model\.layers\.(\d+)\.self_attn\.o_proj": r"layers.\1.attn.output_proj",
    r"model\.layers\.(\d+)\.mlp\.gate_proj": r"layers.\1.mlp.w1",
    r"model\.layers\.(\d+)\.mlp\.up_proj": r"layers.\1.mlp.w3",
    r"model\.layers\.(\d+)\.mlp\.down_proj": r"layers.\1.mlp.w2",
}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def _to_tune(key: str) -> str:
    module, role = re.match(r"base_model\.model\.(.+)\.(lora_A|lora_B)\.weight$", key).groups()
    for pattern, new in FROM_HF.items():
        module = re.sub("^" + pattern + "$", new, module)
    return f"{module}.{role.lower()}.weight"


@pytest.fixture(scope="module")
def llama_lora(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tt")
    model, _ = B.peft_adapter("llama", folder / "peft", r=4, alpha=8, target_modules=TARGETS)
    state = {_to_tune(k): v for k, v in B._peft_state(model).items()}
    return B.lora_deltas(model), state


def test_a_torchtune_adapter_reads_as_the_peft_adapter_of_its_run(tmp_path, llama_lora):
    deltas, state = llama_lora
    run = tmp_path / "epoch_0"
    run.mkdir()
    torch.save(state, run / "adapter_model.pt")
    (run / "adapter_config.json").write_text(json.dumps({"r": 4, "lora_alpha": 8, "peft_type": "LORA"}))
    view = open_weights(tmp_path)  # a run's output folder: its epoch folder's adapter
    assert view.format == "torchtune"
    assert set(view.modules) == set(deltas)  # transformers' names: model.layers.0.self_attn.o_proj, mlp.up_proj, …
    for name, delta in deltas.items():
        assert torch.allclose(view.layer(name, scaled=True), delta, atol=1e-5), name
    assert any("rotary order" in n for n in view.notes)


def test_without_its_config_alpha_is_open_and_the_tree_is_read(tmp_path, llama_lora):
    deltas, state = llama_lora
    torch.save(state, tmp_path / "adapter_0.pt")  # torchtune before 0.3, and its Meta-format checkpointer
    view = open_weights(tmp_path / "adapter_0.pt")
    assert view.format == "torchtune" and any("scale 1 assumed" in n for n in view.notes)
    name = "model.layers.1.mlp.down_proj"
    assert torch.allclose(view.layer(name, scaled=True), deltas[name] / 2, atol=1e-5)  # alpha 8 / r 4 not known
    # was a "transformers-checkpoint" of 28 full modules named `layers.0.attn.q_proj.lora_a`, family unknown
    report = inspect_source(str(tmp_path / "adapter_0.pt"))
    assert report["kind"] == "adapter" and report["modules"] == len(deltas)


def test_a_torchtune_llama_3_2_1b_lora_finds_its_tree(tmp_path):
    state = {}
    for i in range(16):  # Llama 3.2 1B's 16 layers (hidden 2048, 8 kv heads of 64), torchtune's default targets
        for m, out in (("q_proj", 2048), ("v_proj", 512), ("output_proj", 2048)):
            state[f"layers.{i}.attn.{m}.lora_a.weight"] = torch.zeros(8, 2048, dtype=torch.bfloat16)
            state[f"layers.{i}.attn.{m}.lora_b.weight"] = torch.zeros(out, 8, dtype=torch.bfloat16)
    torch.save(state, tmp_path / "adapter_model.pt")
    report = inspect_source(str(tmp_path))
    assert report["format"] == "torchtune" and report["family"] == "llama"
    assert "meta-llama/Llama-3.2-1B" in {c["id"] for c in report["root"]["candidates"]}

"""loralib (microsoft/LoRA) state dicts, written by loralib itself: `lora.lora_state_dict(model)` saved with
torch.save, as the LoRA paper's code and the research repos built on it do. Before, each was refused ("unknown
weights layout"). loralib is the oracle: its own merge (`model.eval()` adds B A · scaling to the weight) is the ΔW
`layer()` must give."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hfprobe.errors import LayerNotFoundError
from hfprobe.formats import open_weights
from hfprobe.tree.inspect import inspect_source

lora = pytest.importorskip("loralib", reason="loralib (the dev extra) is the oracle for its own state dicts")

torch.set_num_threads(1)


def _tree(leaves: dict[str, nn.Module]) -> nn.Module:
    """A module tree with the given leaves at their dotted paths."""
    root = nn.Module()
    for path, leaf in leaves.items():
        node = root
        *parents, last = path.split(".")
        for part in parents:
            if not hasattr(node, part):
                node.add_module(part, nn.Module())
            node = getattr(node, part)
        node.add_module(last, leaf)
    return root


def _roberta(r: int = 8, alpha: int = 1) -> nn.Module:
    """loralib's NLU recipe: lora.Linear on RoBERTa-base's query and value (12 layers of 768)."""
    torch.manual_seed(0)
    leaves = {}
    for i in range(12):
        for m in ("query", "value"):
            leaves[f"roberta.encoder.layer.{i}.attention.self.{m}"] = lora.Linear(768, 768, r=r, lora_alpha=alpha)
    model = _tree(leaves)
    for mod in model.modules():
        if isinstance(mod, lora.Linear):
            nn.init.normal_(mod.lora_B)  # as after training: loralib starts B at zero
    return model


def test_a_loralib_state_dict_is_read_and_its_delta_is_loralib_s_own(tmp_path):
    model = _roberta()
    path = tmp_path / "roberta_base_lora_mnli.pt"
    torch.save(lora.lora_state_dict(model), path)
    report = inspect_source(str(path))
    assert report["format"] == "loralib" and report["kind"] == "adapter" and report["rank"] == 8
    assert report["family"] == "roberta" and report["root"]["id"] == "FacebookAI/roberta-base"
    assert any("lora_alpha" in n for n in report["notes"])

    view = open_weights(str(path))
    name = "roberta.encoder.layer.3.attention.self.value"
    leaf = model.get_submodule(name)
    before = leaf.weight.detach().clone()
    model.eval()  # loralib merges B A · scaling into the weight
    assert torch.allclose(view.layer(name, scaled=True), leaf.weight.detach() - before, atol=1e-5)


def test_a_whole_model_state_dict_with_loralib_layers_reads_the_lora_and_the_rest(tmp_path):
    model = _roberta(r=4, alpha=8)
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)  # base weights and biases beside lora_A / lora_B
    view = open_weights(str(path))
    name = "roberta.encoder.layer.0.attention.self.query"
    assert view.format == "loralib" and view.modules[name].kind == "lora" and view.modules[name].rank == 4
    leaf = model.get_submodule(name)
    assert torch.allclose(view.layer(name), (leaf.lora_B @ leaf.lora_A).detach(), atol=1e-5)
    # alpha is not in the file: loralib's default (1) is assumed, so the scale is 1/r, not this model's 8/r
    assert view.modules[name].scale == 1 / 4 and leaf.scaling == 8 / 4


def test_a_merged_linear_is_read_by_its_input_side_and_its_delta_refused(tmp_path):
    """GPT-2's fused c_attn with q and v adapted (loralib's NLG recipe): A [2r, 768], B [1536, r]."""
    leaves = {
        f"transformer.h.{i}.attn.c_attn": lora.MergedLinear(
            768, 2304, r=4, enable_lora=[True, False, True], fan_in_fan_out=True
        )
        for i in range(12)
    }
    path = tmp_path / "gpt2_lora.pt"
    torch.save(lora.lora_state_dict(_tree(leaves)), path)
    report = inspect_source(str(path))
    assert report["format"] == "loralib" and report["family"] == "gpt2" and report["rank"] == 4
    assert report["root"]["id"] == "openai-community/gpt2" and not report["conflicts"]
    assert any("merged LoRA" in n for n in report["notes"])
    view = open_weights(str(path))
    with pytest.raises(LayerNotFoundError, match="merged LoRA"):
        view.layer("transformer.h.0.attn.c_attn")


def test_the_cli_answers_on_a_loralib_file(tmp_path):
    import json
    import subprocess
    import sys

    path = tmp_path / "lora.pt"
    torch.save(lora.lora_state_dict(_roberta()), path)
    out = subprocess.run(
        [sys.executable, "-m", "hfprobe", "inspect", str(path), "--json"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["format"] == "loralib"


def test_minlora_s_parametrized_names_are_the_module_s(tmp_path):
    """minLoRA registers the pair as a torch parametrization: `<module>.parametrizations.weight.0.lora_A`. Built
    here with torch's own `parametrize`, as minLoRA does, on GPT-2's layout (its Conv1D as Linear, 12 blocks)."""
    from safetensors.torch import save_file
    from torch.nn.utils import parametrize

    class LoRA(nn.Module):  # minLoRA's LoRAParametrization, reduced: W + B A · alpha / r
        def __init__(self, fan_in, fan_out, rank=4):
            super().__init__()
            self.lora_A = nn.Parameter(torch.randn(rank, fan_in))
            self.lora_B = nn.Parameter(torch.randn(fan_out, rank))

        def forward(self, w):
            return w + self.lora_B @ self.lora_A / self.lora_A.shape[0]

    leaves = {f"transformer.h.{i}.mlp.c_fc": nn.Linear(768, 3072) for i in range(12)}
    model = _tree(leaves)
    for leaf in leaves.values():
        parametrize.register_parametrization(leaf, "weight", LoRA(768, 3072))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if "lora_" in k}
    assert "transformer.h.0.mlp.c_fc.parametrizations.weight.0.lora_A" in state
    save_file(state, tmp_path / "lora.safetensors")
    report = inspect_source(str(tmp_path / "lora.safetensors"))
    assert report["format"] == "loralib" and report["family"] == "gpt2" and report["rank"] == 4
    view = open_weights(str(tmp_path / "lora.safetensors"))
    leaf = leaves["transformer.h.5.mlp.c_fc"]
    delta = leaf.weight.detach() - leaf.parametrizations.weight.original.detach()
    assert torch.allclose(view.layer("transformer.h.5.mlp.c_fc", scaled=True), delta, atol=1e-4)


def test_a_litgpt_finetune_folder_is_read_through_its_lora(tmp_path):
    """litgpt's `finetune_lora` writes `final/lit_model.pth.lora` ({"model": the LoRA parameters}; its fused qkv
    with query and value adapted) beside `lit_model.pth`, the merged model, and `hyperparameters.yaml`. Before:
    a `.pth.lora` file was no weights file at all. litgpt's names are one scheme for every architecture, so the
    family stays open; the run's checkpoint_dir is reported as declared."""
    lora_sd = {}
    for i in range(32):
        lora_sd[f"transformer.h.{i}.attn.qkv.lora_A"] = torch.randn(16, 2560)
        lora_sd[f"transformer.h.{i}.attn.qkv.lora_B"] = torch.zeros(5120, 8)
    final = tmp_path / "out" / "finetune" / "lora" / "final"
    final.mkdir(parents=True)
    torch.save({"model": lora_sd}, final / "lit_model.pth.lora")
    torch.save({"transformer.wte.weight": torch.zeros(8, 4)}, final / "lit_model.pth")
    (final / "hyperparameters.yaml").write_text("checkpoint_dir: checkpoints/EleutherAI/pythia-2.8b\nlora_r: 8\n")
    report = inspect_source(str(final))
    assert report["format"] == "loralib" and report["rank"] == 8 and report["modules"] == 32
    assert report["declared"]["hyperparameters.yaml checkpoint_dir"] == "pythia-2.8b"


def _litgpt_run(folder, layers, hidden, mlp, attn_out=None):
    """A litgpt finetune_lora `final/` folder: LoRA on the fused qkv (query and value) and on the MLP."""
    sd = {}
    for i in range(layers):
        sd[f"transformer.h.{i}.attn.qkv.lora_A"] = torch.zeros(16, hidden)
        sd[f"transformer.h.{i}.attn.qkv.lora_B"] = torch.zeros(attn_out or 2 * hidden, 8)
        for name, (out, inp) in mlp.items():
            sd[f"transformer.h.{i}.mlp.{name}.lora_A"] = torch.zeros(8, inp)
            sd[f"transformer.h.{i}.mlp.{name}.lora_B"] = torch.zeros(out, 8)
    folder.mkdir(parents=True)
    torch.save({"model": sd}, folder / "lit_model.pth.lora")
    return folder


def test_litgpt_names_place_a_lora_in_its_family(tmp_path):
    """litgpt names every decoder alike (`transformer.h.N.attn.qkv`, `mlp.fc_1` / `fc_2` / `proj` for LLaMA's
    MLP, `mlp.fc` / `proj` for GPT-NeoX's): such a LoRA had no family at all ("shapes only"); its modules were
    named `model.transformer.h.0.…` after litgpt's `{"model": …}` wrapper."""
    llama = {"fc_1": (8192, 2048), "fc_2": (8192, 2048), "proj": (2048, 8192)}  # Llama 3.2 1B
    report = inspect_source(str(_litgpt_run(tmp_path / "llama", 16, 2048, llama)))
    assert report["family"] == "llama" and "meta-llama/Llama-3.2-1B" in {c["id"] for c in report["root"]["candidates"]}
    assert all(not e.startswith("names: no known") for e in report["root"]["evidence"])
    view = open_weights(tmp_path / "llama")
    assert "transformer.h.0.mlp.fc_1" in view.modules  # not `model.transformer…`

    neox = {"fc": (3072, 768), "proj": (768, 3072)}  # Pythia-160m, with litgpt's model_config.yaml beside it
    run = _litgpt_run(tmp_path / "neox", 12, 768, neox)
    (run / "model_config.yaml").write_text("hf_config:\n  name: pythia-160m\n  org: EleutherAI\nn_embd: 768\n")
    report = inspect_source(str(run))
    assert report["family"] == "gpt_neox" and report["root"]["id"] == "EleutherAI/pythia-160m"
    assert report["base_model"]["id"] == "EleutherAI/pythia-160m" and not report["conflicts"]

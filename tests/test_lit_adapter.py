"""lit-llama's and litgpt's adapters (LLaMA-Adapter: `finetune/adapter.py`, `finetune/adapter_v2.py`): learned
prompts `transformer.h.N.attn.adapter_wte.weight` [prompt length, hidden] with their gates `gating_factor`, from the
adapter's first layer on (2 by default); v2 adds `adapter_bias` / `adapter_scale` [out] to each Linear. Before, such a
file was a "transformers checkpoint" of GPT-2 (its `transformer.h.N.attn` and `…_wte` names), whatever its width; and
litgpt's `lit_model.pth.adapter` / `.adapter_v2` were no weights file at all. The layouts follow lit-llama's and
litgpt's model code (`adapter_wte = nn.Embedding(adapter_prompt_length, n_embd)`, `gating_factor` [1] in lit-llama,
[1, 1, n_head, 1] in litgpt); litgpt itself is not a test dependency."""

from __future__ import annotations

import torch

from hfprobe.formats import open_weights
from hfprobe.tree.inspect import inspect_source


def test_a_lit_llama_adapter_is_a_llama_adapter_not_gpt2(tmp_path):
    sd = {}
    for i in range(2, 32):  # LLaMA 7B: 32 layers of 4096, prompts from layer 2 on
        sd[f"transformer.h.{i}.attn.adapter_wte.weight"] = torch.zeros(10, 4096)
        sd[f"transformer.h.{i}.attn.gating_factor"] = torch.zeros(1)
    path = tmp_path / "lit-llama-adapter-finetuned.pth"
    torch.save(sd, path)
    view = open_weights(path)
    assert view.format == "lit-adapter" and len(view.modules) == 30
    prompt = view.modules["transformer.h.2.attn.adapter_wte"]
    assert (prompt.kind, prompt.d_out, prompt.d_in) == ("embedding", 10, 4096)
    report = inspect_source(str(path))
    assert (report["kind"], report["family"]) == ("adapter", "llama")
    assert "meta-llama/Llama-2-7b-hf" in {c["id"] for c in report["root"]["candidates"]}
    assert report["base_model"]["id"] is None  # the width alone fits many 7B models


def test_a_litgpt_adapter_v2_run_is_read_and_its_base_checked(tmp_path):
    """A `finetune_adapter_v2` run's `final/` folder, Llama 3.2 1B's sizes (hidden 2048, fused qkv 2048 + 2 x 512,
    MLP 8192, 16 layers), with the `model_config.yaml` litgpt writes: the base it names is checked and written."""
    sd = {}
    for i in range(16):
        p = f"transformer.h.{i}."
        if i >= 2:
            sd[p + "attn.adapter_wte.weight"], sd[p + "attn.gating_factor"] = (
                torch.zeros(10, 2048),
                torch.zeros(1, 1, 32, 1),
            )
        for name, out in (
            ("attn.qkv", 3072),
            ("attn.proj", 2048),
            ("mlp.fc_1", 8192),
            ("mlp.fc_2", 8192),
            ("mlp.proj", 2048),
        ):
            sd[p + name + ".adapter_bias"], sd[p + name + ".adapter_scale"] = torch.zeros(out), torch.ones(out)
        sd[p + "norm_1.weight"], sd[p + "norm_2.weight"] = torch.ones(2048), torch.ones(2048)
    sd["transformer.ln_f.weight"] = torch.ones(2048)
    final = tmp_path / "out" / "finetune" / "adapter-v2" / "final"
    final.mkdir(parents=True)
    torch.save({"model": sd}, final / "lit_model.pth.adapter_v2")
    (final / "model_config.yaml").write_text("hf_config:\n  name: Llama-3.2-1B\n  org: meta-llama\nn_embd: 2048\n")
    report = inspect_source(str(final))
    assert (report["format"], report["kind"], report["family"]) == ("lit-adapter", "adapter", "llama")
    assert report["modules"] == 14 + 16 * 5
    assert report["base_model"]["id"] == "meta-llama/Llama-3.2-1B" and not report["conflicts"]

    (final / "model_config.yaml").write_text("hf_config:\n  name: Llama-3.2-3B\n  org: meta-llama\nn_embd: 3072\n")
    report = inspect_source(str(final))
    assert report["base_model"]["id"] is None and report["conflicts"]  # 3B's 3072-wide layers do not fit

"""Models and LoRAs saved by Raschka's "Build a Large Language Model (From Scratch)" code (`llms-from-scratch` on PyPI,
the course projects that follow it): its GPTModel loads GPT-2's weights under names of its own (`tok_emb`, `pos_emb`,
`trf_blocks.N.att.W_query` / `W_key` / `W_value` / `out_proj`, `ff.layers.0` / `.2`, `final_norm.scale`,
`out_head`), its classification chapter swaps `out_head` for a head of two outputs, and its appendix E wraps every
Linear in a `LinearWithLoRA`: `<layer>.linear` beside `<layer>.lora.A` [in, r] and `.lora.B` [r, out], computing
x @ A @ B times an alpha it does not store. Its Llama 3 and Qwen3 keep the same block names with a SwiGLU `ff.fc1` /
`fc2` / `fc3`. The names are read from the 1.0.19 wheel (the package pulls TensorFlow and JupyterLab, so it is not
a test dependency); the files are written as `torch.save(model.state_dict())` of those classes writes them.

Hand-written LoRA layers elsewhere name the pair `lora_A` / `lora_B` but keep it the same way round (A [in, r]).

Before: family unknown, no base_model, the LoRA pairs not read (or, named lora_A / lora_B, read the wrong way round).
"""

from __future__ import annotations

import torch
from safetensors.torch import save_file

from hfprobe.formats import open_weights
from hfprobe.tree.inspect import inspect_source
from tests.builders import write_header

GPT2_124M = {"vocab": 50257, "context": 1024, "emb": 768, "layers": 12}


def _gpt(vocab, context, emb, layers, lora_rank=None, classes=None) -> dict:
    """GPTModel's state dict as (dtype, shape), with appendix E's LoRA on every Linear where lora_rank is set."""
    out = {"tok_emb.weight": ("F32", (vocab, emb)), "pos_emb.weight": ("F32", (context, emb))}

    def linear(name, d_out, d_in, bias=True):
        base = f"{name}.linear" if lora_rank else name
        out[f"{base}.weight"] = ("F32", (d_out, d_in))
        if bias:
            out[f"{base}.bias"] = ("F32", (d_out,))
        if lora_rank:
            out[f"{name}.lora.A"], out[f"{name}.lora.B"] = ("F32", (d_in, lora_rank)), ("F32", (lora_rank, d_out))

    for i in range(layers):
        block = f"trf_blocks.{i}"
        for m in ("W_query", "W_key", "W_value", "out_proj"):
            linear(f"{block}.att.{m}", emb, emb)
        linear(f"{block}.ff.layers.0", 4 * emb, emb)
        linear(f"{block}.ff.layers.2", emb, 4 * emb)
        for norm in ("norm1", "norm2"):
            out[f"{block}.{norm}.scale"], out[f"{block}.{norm}.shift"] = ("F32", (emb,)), ("F32", (emb,))
    out["final_norm.scale"], out["final_norm.shift"] = ("F32", (emb,)), ("F32", (emb,))
    linear("out_head", classes or vocab, emb, bias=False)
    return out


def test_gpt2_loaded_into_gptmodel_is_gpt2(tmp_path):
    write_header(tmp_path / "gpt2-small124M-sft.safetensors", _gpt(**GPT2_124M), data=False)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "gpt2" and report["root"]["id"] == "openai-community/gpt2"
    assert report["base_model"]["root"] == "openai-community/gpt2" and report["head"] is None


def test_a_gptmodel_pretrained_from_scratch_names_no_base_model(tmp_path):
    """The book's own pretraining: GPT-2's sizes at a context of 256, not GPT-2's 1024 positions."""
    write_header(tmp_path / "model.safetensors", _gpt(**{**GPT2_124M, "context": 256}), data=False)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "gpt2" and report["base_model"]["id"] is None
    assert "pos_emb" in report["base_model"]["reason"]


def test_the_spam_classifier_with_lora_is_read_with_its_pairs_and_its_head(tmp_path):
    write_header(tmp_path / "review_classifier.safetensors", _gpt(**GPT2_124M, lora_rank=16, classes=2), data=False)
    report = inspect_source(str(tmp_path))
    assert (report["format"], report["family"], report["rank"]) == ("loralib", "gpt2", 16)
    assert report["root"]["id"] == "openai-community/gpt2"
    assert report["head"] == {"module": "out_head", "outputs": 2, "task": None, "labels": None}


def test_llama_3_in_the_book_s_names_is_a_llama(tmp_path):
    """Its Llama 3.2 1B: 16 blocks of 2048, grouped key-value heads (512), a SwiGLU of 8192 (the published config)."""
    state = {"tok_emb.weight": ("BF16", (128256, 2048)), "out_head.weight": ("BF16", (128256, 2048))}
    for i in range(16):
        block = f"trf_blocks.{i}"
        for m, rows in (("W_query", 2048), ("W_key", 512), ("W_value", 512), ("out_proj", 2048)):
            state[f"{block}.att.{m}.weight"] = ("BF16", (rows, 2048))
        state[f"{block}.ff.fc1.weight"] = state[f"{block}.ff.fc2.weight"] = ("BF16", (8192, 2048))
        state[f"{block}.ff.fc3.weight"] = ("BF16", (2048, 8192))
    write_header(tmp_path / "llama3.2-1B-instruct.safetensors", state, data=False)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "llama" and report["root"]["id"].startswith("meta-llama/Llama-3.2-1B")


def test_linear_with_lora_s_delta_is_what_its_forward_adds(tmp_path):
    torch.manual_seed(0)
    a, b = torch.randn(24, 4), torch.randn(4, 40)  # LoRALayer: A [in, r], B [r, out]
    state = {"trf_blocks.0.att.W_query.linear.weight": torch.randn(40, 24), "trf_blocks.0.att.W_query.lora.A": a,
             "trf_blocks.0.att.W_query.lora.B": b}  # fmt: skip
    save_file(state, tmp_path / "lora.safetensors")
    x = torch.randn(3, 24)
    with open_weights(str(tmp_path / "lora.safetensors")) as view:
        module = view.modules["trf_blocks.0.att.W_query"]
        assert (module.kind, module.rank, module.d_out, module.d_in) == ("lora", 4, 40, 24)
        torch.testing.assert_close(x @ view.layer("trf_blocks.0.att.W_query").T, x @ a @ b)  # alpha aside
        assert any("not stored" in n for n in view.notes)


def test_a_hand_written_lora_storing_a_as_in_by_r_is_read_the_right_way_round(tmp_path):
    """`self.lora_A = nn.Parameter(torch.zeros(in_dim, rank))`, `lora_B` [rank, out] (x @ A @ B), the way round
    most hand-written LoRA layers keep them: before, read as loralib's [r, in], rank 768 on layers of 8 x 8."""
    torch.manual_seed(0)
    state = {}
    for i in range(6):  # distilbert-base's attention, rank 8
        for m in ("q_lin", "v_lin"):
            state[f"distilbert.transformer.layer.{i}.attention.{m}.lora_A"] = torch.randn(768, 8)
            state[f"distilbert.transformer.layer.{i}.attention.{m}.lora_B"] = torch.randn(8, 768)
    save_file(state, tmp_path / "lora.safetensors")
    report = inspect_source(str(tmp_path))
    assert (report["family"], report["rank"]) == ("distilbert", 8) and report["root"]["id"].startswith("distilbert/")
    x, name = torch.randn(2, 768), "distilbert.transformer.layer.0.attention.q_lin"
    with open_weights(str(tmp_path / "lora.safetensors")) as view:
        a, b = state[f"{name}.lora_A"], state[f"{name}.lora_B"]
        torch.testing.assert_close(x @ view.layer(name).T, x @ a @ b, rtol=1e-4, atol=1e-4)


def test_lower_case_pairs_stored_loralib_s_way_round_are_read_as_stored(tmp_path):
    """`lora_a` / `lora_b` are mlx-lm's names (A [in, r], B [r, out]); a hand-written layer that uses them for
    A [r, in] and B [out, r] is told by its shapes (before: mlx's way round, rank 768)."""
    torch.manual_seed(0)
    name = "bert.encoder.layer.0.attention.self.query"
    state = {f"bert.encoder.layer.{i}.attention.self.{m}.lora_{s}": torch.randn(*shape) for i in range(12)
             for m in ("query", "value") for s, shape in (("a", (8, 768)), ("b", (768, 8)))}  # fmt: skip
    save_file(state, tmp_path / "lora.safetensors")
    report = inspect_source(str(tmp_path))
    assert (report["family"], report["rank"]) == ("bert", 8) and report["root"]["id"].startswith("google-bert/")
    with open_weights(str(tmp_path / "lora.safetensors")) as view:
        torch.testing.assert_close(view.layer(name), state[f"{name}.lora_b"] @ state[f"{name}.lora_a"])

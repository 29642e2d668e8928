"""GGUF conversions of the Mamba-2 hybrids (llama.cpp's `granitehybrid`, `nemotron_h`, `nemotron_h_moe`; Granite 4.0's
dense models as `granite`): their names map back to transformers' (gguf-py's tensor lists the oracle of the names
llama.cpp writes), their convolutions squeezed to [width, kernel], Granite's MLP split into gate and up as llama.cpp's
converter splits it. Before, they kept llama.cpp's names (`blk.0.ssm_in`) and named no family; Granite 4.0 Micro's
GGUF (`granite`, LLaMA's names) was Granite 3's family with no root."""

from __future__ import annotations

import pytest

from hfprobe.tree.inspect import inspect_source
from tests.test_gguf import _arch, _gguf_header

gguf = pytest.importorskip("gguf", reason="gguf-py (the dev extra) writes the GGUF test files")


def _names_are_llama_cpp_s(arch: str, tensors: dict) -> None:
    names = {gguf.TENSOR_NAMES[t] for t in gguf.MODEL_TENSORS[_arch(arch)]}
    written = {k.removesuffix(".weight").replace(k.split(".")[1], "{bid}", 1) for k in tensors if k.startswith("blk.")}
    assert written <= names, written - names


def _granite(hidden, layers, q, kv, ffn, attention, mamba=None, experts=None) -> dict:
    """A Granite 4.0 conversion's tensors (torch order): attention in `attention` blocks (every block where None),
    Mamba-2 in the rest (`mamba`: in_proj, conv width, d_inner, heads), the MLP split into gate and up (beside a
    mixture as the shared expert's, `experts`: count, width)."""
    tensors = {"token_embd.weight": (100352, hidden)}
    for i in range(layers):
        b = f"blk.{i}."
        if attention is None or i in attention:
            tensors |= {b + "attn_q.weight": (q, hidden), b + "attn_output.weight": (hidden, q)}
            tensors |= {b + "attn_k.weight": (kv, hidden), b + "attn_v.weight": (kv, hidden)}
        else:
            mamba_in, conv, inner, heads = mamba
            tensors |= {b + "ssm_in.weight": (mamba_in, hidden), b + "ssm_conv1d.weight": (conv, 4)}
            tensors |= {b + "ssm_out.weight": (hidden, inner), b + "ssm_a": (heads, 1), b + "ssm_d": (heads, 1)}
        tail = "_shexp" if experts else ""
        tensors |= {b + f"ffn_gate{tail}.weight": (ffn, hidden), b + f"ffn_up{tail}.weight": (ffn, hidden)}
        tensors |= {b + f"ffn_down{tail}.weight": (hidden, ffn)}
        if experts:
            n, width = experts
            tensors |= {b + "ffn_gate_inp.weight": (n, hidden), b + "ffn_down_exps.weight": (n, hidden, width)}
            tensors |= {b + f"ffn_{w}_exps.weight": (n, width, hidden) for w in ("gate", "up")}
    return tensors


H = [5, 15, 25, 35]
GRANITE = {  # name: arch, tensors (IBM's published sizes)
    "granite-4.0-h-tiny": ("granitehybrid", _granite(1536, 40, 1536, 512, 1024, H, (6448, 3328, 3072, 48), (64, 512))),
    "granite-4.0-h-micro": ("granitehybrid", _granite(2048, 40, 2048, 512, 8192, H, (8512, 4352, 4096, 64))),
    "granite-4.0-micro": ("granite", _granite(2560, 40, 2560, 512, 8192, None)),
}


@pytest.mark.parametrize("name", sorted(GRANITE))
def test_granite_4_0_s_conversions_name_their_tree(name, tmp_path):
    arch, tensors = GRANITE[name]
    _names_are_llama_cpp_s(arch, tensors)
    _gguf_header(tmp_path / f"{name}-Q4_K_M.gguf", arch, tensors)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "granite4" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["candidates"][0]["id"] == f"ibm-granite/{name}", report["root"]["candidates"]


def _nemotron(hidden, pattern, q, kv, ffn, mamba, experts=None) -> dict:
    """A Nemotron-H conversion's tensors (torch order) by its `hybrid_override_pattern`: M Mamba-2, * attention,
    - the squared-ReLU MLP, E a mixture (`experts`: count, width, shared width)."""
    tensors = {"token_embd.weight": (131072, hidden), "output.weight": (131072, hidden)}
    mamba_in, conv, inner, heads = mamba
    for i, kind in enumerate(pattern):
        b = f"blk.{i}."
        if kind == "M":
            tensors |= {b + "ssm_in.weight": (mamba_in, hidden), b + "ssm_conv1d.weight": (conv, 4)}
            tensors |= {b + "ssm_out.weight": (hidden, inner), b + "ssm_a": (heads, 1)}
        elif kind == "*":
            tensors |= {b + "attn_q.weight": (q, hidden), b + "attn_output.weight": (hidden, q)}
            tensors |= {b + "attn_k.weight": (kv, hidden), b + "attn_v.weight": (kv, hidden)}
        elif kind == "-":
            tensors |= {b + "ffn_up.weight": (ffn, hidden), b + "ffn_down.weight": (hidden, ffn)}
        else:
            n, width, shared = experts
            tensors |= {b + "ffn_gate_inp.weight": (n, hidden), b + "ffn_up_exps.weight": (n, width, hidden)}
            tensors |= {b + "ffn_down_exps.weight": (n, hidden, width), b + "ffn_up_shexp.weight": (shared, hidden)}
            tensors |= {b + "ffn_down_shexp.weight": (hidden, shared)}
    return tensors


NEMOTRON = {
    "NVIDIA-Nemotron-Nano-9B-v2": ("nemotron_h", _nemotron(
        4480, "M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-", 5120, 1024, 15680,
        (22656, 12288, 10240, 128))),
    "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16": ("nemotron_h_moe", _nemotron(
        2688, "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME", 4096, 256, None, (10304, 6144, 4096, 64),
        (128, 1856, 3712))),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(NEMOTRON))
def test_nemotron_h_s_conversions_name_their_tree(name, tmp_path):
    arch, tensors = NEMOTRON[name]
    _names_are_llama_cpp_s(arch, tensors)
    _gguf_header(tmp_path / f"{name}-Q4_K_M.gguf", arch, tensors, source_url=f"https://huggingface.co/nvidia/{name}")
    report = inspect_source(str(tmp_path))
    assert report["family"] == "nemotron_h" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["base_model"]["id"] == f"nvidia/{name}" and not report["conflicts"], report["base_model"]

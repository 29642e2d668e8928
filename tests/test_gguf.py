"""GGUF files (llama.cpp): header-only reads, transformers' names back from llama.cpp's, the tree and the
base_model of a conversion. Files are written with gguf-py's own `GGUFWriter`, names with its `TensorNameMap`
(the oracle of `hfprobe.formats.gguf.NAMES`), models built by transformers on the meta device.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from hfprobe.cards.card import update_card
from hfprobe.errors import InvalidWeightsError, UnsupportedFormatError, UsageError
from hfprobe.formats import open_weights
from hfprobe.formats.gguf import NAMES
from hfprobe.tree.inspect import inspect_source
from tests.builders import LLAMA2_7B
from tests.fakehub import FakeHub
from tests.model_shapes import built_shapes

gguf = pytest.importorskip("gguf", reason="gguf-py (the dev extra) writes the GGUF test files")
torch.set_num_threads(1)

SMALL = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
# DeepSeek's latent attention and shared experts, small: layer 0 dense, layer 1 a mixture
_MLA = dict(
    q_lora_rank=16,
    kv_lora_rank=16,
    qk_nope_head_dim=8,
    qk_rope_head_dim=8,
    v_head_dim=8,
    n_routed_experts=4,
    n_shared_experts=1,
    moe_intermediate_size=32,
    num_experts_per_tok=2,
    first_k_dense_replace=1,
    n_group=1,
    topk_group=1,
)
# T5 v1.1's gated feed-forward (and relative position buckets) at a small width
_T5 = dict(d_ff=128, d_kv=16, feed_forward_proj="gated-gelu", relative_attention_num_buckets=8)
# llama.cpp architecture -> a transformers model of it (Mistral is converted as `llama`, DeepSeek-V2 and V3 as
# `deepseek2`)
MODELS = {
    "llama": ("LlamaForCausalLM", "LlamaConfig", {}),
    "mistral-as-llama": ("MistralForCausalLM", "MistralConfig", {}),
    "qwen2": ("Qwen2ForCausalLM", "Qwen2Config", {}),
    "qwen3": ("Qwen3ForCausalLM", "Qwen3Config", {"head_dim": 16}),
    "gemma": ("GemmaForCausalLM", "GemmaConfig", {"head_dim": 16}),
    "gemma2": ("Gemma2ForCausalLM", "Gemma2Config", {"head_dim": 16}),
    "gemma3": ("Gemma3ForCausalLM", "Gemma3TextConfig", {"head_dim": 16}),
    "gemma3n": (
        "Gemma3nForCausalLM",
        "Gemma3nTextConfig",
        {
            "head_dim": 16,
            "vocab_size_per_layer_input": 256,
            "hidden_size_per_layer_input": 8,
            "num_kv_shared_layers": 0,
            "layer_types": ["sliding_attention", "full_attention"],
        },
    ),
    "phi3": ("Phi3ForCausalLM", "Phi3Config", {"pad_token_id": 0}),
    "granite": ("GraniteForCausalLM", "GraniteConfig", {}),
    "olmo": ("OlmoForCausalLM", "OlmoConfig", {}),
    "olmo2": ("Olmo2ForCausalLM", "Olmo2Config", {}),
    "starcoder2": ("Starcoder2ForCausalLM", "Starcoder2Config", {}),
    "glm4": ("Glm4ForCausalLM", "Glm4Config", {"head_dim": 16, "pad_token_id": 0}),
    "deepseek-v3-as-deepseek2": ("DeepseekV3ForCausalLM", "DeepseekV3Config", _MLA),
    "deepseek-v2-lite-as-deepseek2": ("DeepseekV2ForCausalLM", "DeepseekV2Config", {**_MLA, "q_lora_rank": None}),
    "glm4moe": (
        "Glm4MoeForCausalLM",
        "Glm4MoeConfig",
        {
            "head_dim": 16,
            "n_routed_experts": 4,
            "n_shared_experts": 1,
            "moe_intermediate_size": 32,
            "num_experts_per_tok": 2,
            "first_k_dense_replace": 1,
            "use_qk_norm": True,
        },
    ),
    "bert": ("BertModel", "BertConfig", {}),
    "qwen2-as-qwen2vl": ("Qwen2ForCausalLM", "Qwen2Config", {}),  # (Qwen2-VL's and Qwen2.5-VL's language model)
    "qwen3-as-qwen3vl": ("Qwen3ForCausalLM", "Qwen3Config", {"head_dim": 16}),
    "phi2": ("PhiForCausalLM", "PhiConfig", {}),
    "gpt2": ("GPT2LMHeadModel", "GPT2Config", {"n_embd": 64, "n_layer": 2, "n_head": 4}),
    "falcon": ("FalconForCausalLM", "FalconConfig", {}),
    "bloom": ("BloomForCausalLM", "BloomConfig", {"n_head": 4}),
    "smollm3": ("SmolLM3ForCausalLM", "SmolLM3Config", {"pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}),
    "t5": ("T5ForConditionalGeneration", "T5Config", _T5),
    "t5-v1.0-as-t5": ("T5ForConditionalGeneration", "T5Config", {**_T5, "feed_forward_proj": "relu"}),
    "t5encoder": ("T5EncoderModel", "T5Config", _T5),
    "umt5-as-t5encoder": ("UMT5EncoderModel", "UMT5Config", _T5),
}


def _arch(name: str):
    """gguf-py's MODEL_ARCH member for llama.cpp's architecture name (`glm4moe` is GLM4_MOE)."""
    return next(arch for arch, spelled in gguf.MODEL_ARCH_NAMES.items() if spelled == name)


def hf_model(cls: str, config: str, vocab: int = 256, **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(getattr(tf, config)(vocab_size=vocab, **kw))


def write_gguf(
    path: Path,
    arch: str,
    model,
    base_url: str | None = None,
    q4: bool = False,
    source_url: str | None = None,
    name: str = "test model",
) -> dict[str, tuple]:
    """A GGUF of `model`'s weights named as llama.cpp's converter names them: F32 zeros, or (`q4`) only the header
    of a Q4_K conversion (no tensor data); `base_url` as the converter records the converted model's card's
    `base_model` (its parent), `source_url` the model converted. Returns {transformers name of each 2-D weight:
    shape}."""
    tmap = gguf.TensorNameMap(_arch(arch), model.config.num_hidden_layers)
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(name)
    writer.add_token_list([f"t{i}" for i in range(model.config.vocab_size)])  # the header's bulk in real files
    if base_url:
        writer.add_base_model_count(1)
        writer.add_base_model_repo_url(0, base_url)
    if source_url:
        writer.add_source_repo_url(source_url)
    dense = {}
    for key, value in model.state_dict().items():
        name = tmap.get_name(key, try_suffixes=(".weight", ".bias"))
        if name is None or not key.endswith(".weight"):
            continue
        shape = tuple(value.shape)
        if len(shape) == 2:
            dense[key.removesuffix(".weight")] = shape
        if q4 and len(shape) == 2:
            block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q4_K]
            packed = (shape[0], shape[1] // block * size)
            nbytes = shape[0] * packed[1]
            writer.add_tensor_info(name, packed, np.dtype(np.uint8), nbytes, raw_dtype=gguf.GGMLQuantizationType.Q4_K)
        elif q4:
            writer.add_tensor_info(name, shape, np.dtype(np.float32), 4 * int(np.prod(shape)))
        else:
            writer.add_tensor(name, np.zeros(shape, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    if q4:
        writer.write_ti_data_to_file()  # and no tensor data
    else:
        writer.write_tensors_to_file()  # (tensor infos, then the data)
    writer.close()
    return dense


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_llama_cpp_names_map_back_to_transformers(arch, tmp_path):
    cls, config, extra = MODELS[arch]
    model = hf_model(cls, config, **SMALL, **extra)
    gguf_arch = arch.split("-as-")[-1]
    assert gguf_arch in NAMES
    dense = write_gguf(tmp_path / "m.gguf", gguf_arch, model)
    with open_weights(str(tmp_path / "m.gguf")) as view:
        assert view.format == "gguf"
        got = {n: (m.d_out, m.d_in) for n, m in view.modules.items()}
    assert got == dense  # every 2-D weight, under transformers' name, at transformers' shape


@pytest.mark.parametrize(
    "arch, cls, config, sizes, roots",
    [
        ("phi2", "PhiForCausalLM", "PhiConfig", dict(hidden_size=2560, intermediate_size=10240, num_hidden_layers=32,
                                                     num_attention_heads=32, vocab=51200), {"microsoft/phi-2"}),
        ("gpt2", "GPT2LMHeadModel", "GPT2Config", dict(vocab=50257), {"openai-community/gpt2"}),
        ("falcon", "FalconForCausalLM", "FalconConfig", dict(hidden_size=4544, num_hidden_layers=32,
                                                             num_attention_heads=71, vocab=65024),
         {"tiiuae/falcon-7b", "tiiuae/falcon-7b-instruct"}),
        ("bloom", "BloomForCausalLM", "BloomConfig", dict(hidden_size=1024, n_layer=24, n_head=16, vocab=250880),
         {"bigscience/bloom-560m", "bigscience/bloomz-560m"}),
    ],
)  # fmt: skip
def test_the_older_decoders_conversions_name_their_tree(arch, cls, config, sizes, roots, tmp_path):
    """Phi-2's, GPT-2's, Falcon-7B's and BLOOM-560M's GGUFs kept llama.cpp's names (`blk.N.attn_qkv`) and read as no
    family; under transformers' names each is its published model's tree."""
    model = hf_model(cls, config, **sizes)
    tmap = gguf.TensorNameMap(_arch(arch), model.config.num_hidden_layers)
    named = {tmap.get_name(k, try_suffixes=(".weight",)): tuple(v.shape) for k, v in model.state_dict().items()}
    _gguf_header(tmp_path / f"{arch}.Q8_0.gguf", arch, {k: v for k, v in named.items() if k and len(v) == 2})
    report = inspect_source(str(tmp_path))
    assert report["family"] == arch.replace("phi2", "phi") and report["family_confidence"] >= 0.9, report["family"]
    assert report["root"]["id"] in roots and not report["conflicts"], report["root"]


@pytest.mark.parametrize(
    "layers, ffn, source, written",
    [
        (35, 16384, "google/gemma-3n-E4B-it", "google/gemma-3n-E4B-it"),
        (30, 8192, "google/gemma-3n-E2B-it", "google/gemma-3n-E2B-it"),
        (30, 8192, "google/gemma-3n-E4B-it", None),  # E2B's depth and width
        (35, 16384, None, None),
    ],
)
def test_a_gemma_3n_conversion_names_its_tree(layers, ffn, source, written, tmp_path):
    """Gemma 3n's GGUFs (`gemma3n`) kept llama.cpp's names and read as no family. Under transformers' names (gguf-py's
    map the oracle) its LAuReL, AltUp and per-layer embedding layers place the family, its depth and width the model,
    and a declared E4B on E2B's weights is a conflict."""
    model = hf_model("Gemma3nForCausalLM", "Gemma3nTextConfig", vocab=262400, hidden_size=2048, intermediate_size=ffn,
                     num_hidden_layers=layers, num_attention_heads=8, num_key_value_heads=2, head_dim=256)  # fmt: skip
    tmap = gguf.TensorNameMap(gguf.MODEL_ARCH.GEMMA3N, layers)
    named = {tmap.get_name(k, try_suffixes=(".weight",)): tuple(v.shape) for k, v in model.state_dict().items()}
    url = source and f"https://huggingface.co/{source}"
    _gguf_header(tmp_path / "gemma-3n-Q4_K_M.gguf", "gemma3n", {k: v for k, v in named.items() if k}, source_url=url)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "gemma3n" and report["family_confidence"] == 1.0, report["family"]
    assert report["base_model"]["id"] == written, report["base_model"]
    assert bool(report["conflicts"]) is (source is not None and written is None), report["conflicts"]
    assert report["root"]["id"].startswith(f"google/gemma-3n-E{2 if layers == 30 else 4}B"), report["root"]


def test_a_real_size_conversion_names_its_tree_and_declared_base(tmp_path):
    """llama.cpp's converter copies the converted model's card `base_model` into `general.base_model.N`: a GGUF of
    Llama 2 7B Chat records Llama 2 7B there, its parent. That names the tree; written as the GGUF's `base_model`
    (relation quantized) it said the file quantizes Llama 2 7B, as it did before. `general.source.repo_url` names
    the model converted: that is written."""
    model = hf_model("LlamaForCausalLM", "LlamaConfig", **{k: v for k, v in LLAMA2_7B.items() if k != "vocab_size"},
                     vocab=32000)  # fmt: skip
    folder = tmp_path / "Llama-2-7B-Chat-GGUF"
    folder.mkdir()
    url = "https://huggingface.co/meta-llama/Llama-2-7b-hf"
    write_gguf(folder / "llama-2-7b-chat.Q4_K_M.gguf", "llama", model, base_url=url, q4=True)
    report = inspect_source(str(folder))
    assert report["format"] == "gguf" and report["quantized"]["type"] == "Q4_K"
    assert report["family"] == "llama" and report["root"]["id"] == "meta-llama/Llama-2-7b-hf"
    assert report["declared"]["header general.base_model.0.repo_url"] == "meta-llama/Llama-2-7b-hf"
    assert report["base_model"]["id"] is None and not report["conflicts"]
    assert "the base of the model this file quantizes" in report["base_model"]["reason"]
    assert "\nbase_model:" not in update_card(None, report, today="2026-12-02").text  # (in the YAML)
    chat = "https://huggingface.co/meta-llama/Llama-2-7b-chat-hf"
    write_gguf(folder / "llama-2-7b-chat.Q4_K_M.gguf", "llama", model, base_url=url, q4=True, source_url=chat)
    converted = inspect_source(str(folder))
    assert converted["base_model"]["id"] == "meta-llama/Llama-2-7b-chat-hf"
    card = update_card(None, converted, today="2026-12-02").text
    assert "base_model: meta-llama/Llama-2-7b-chat-hf" in card and "base_model_relation: quantized" in card
    # the same weights with no record at all: the root is named, not written as base_model
    write_gguf(folder / "llama-2-7b-chat.Q4_K_M.gguf", "llama", model, q4=True)
    bare = inspect_source(str(folder))
    assert bare["root"]["id"] == "meta-llama/Llama-2-7b-hf" and bare["base_model"]["id"] is None
    # ... and with only the converter's name for the model it converted (`general.name`, from its config or folder):
    # a registry model's name is that model, as `general.source` would say; a name it does not know says nothing
    write_gguf(folder / "llama-2-7b-chat.Q4_K_M.gguf", "llama", model, q4=True, name="Llama 2 7b Chat Hf")
    named = inspect_source(str(folder))
    assert named["declared"]["header general.name"] == "Llama 2 7b Chat Hf" and not named["conflicts"]
    assert named["base_model"]["id"] == "meta-llama/Llama-2-7b-chat-hf", named["base_model"]
    write_gguf(folder / "llama-2-7b-chat.Q4_K_M.gguf", "llama", model, q4=True, name="SuperChat 7B")
    assert inspect_source(str(folder))["base_model"]["id"] is None
    # a fine-tune the registry knows by name is that fine-tune, not the root its words name (Vicuna is no Llama 2)
    write_gguf(folder / "llama-2-7b-chat.Q4_K_M.gguf", "llama", model, q4=True, name="Vicuna 7B v1.5")
    assert inspect_source(str(folder))["base_model"]["id"] == "lmsys/vicuna-7b-v1.5"


def _gguf_header(
    path: Path, arch: str, tensors: dict[str, tuple], base_url: str | None = None, source_url: str | None = None
) -> None:
    """A GGUF's header only (F16 tensor infos, no data) for tensors under llama.cpp's names: published sizes cost
    nothing to write. `base_url` and `source_url` as `write_gguf` takes them."""
    writer = gguf.GGUFWriter(str(path), arch)
    if base_url:
        writer.add_base_model_count(1)
        writer.add_base_model_repo_url(0, base_url)
    if source_url:
        writer.add_source_repo_url(source_url)
    for name, shape in tensors.items():
        writer.add_tensor_info(name, shape, np.dtype(np.float16), 2 * int(np.prod(shape)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()


def _mixture(hidden: int, q: int, kv: int, ffn: int, experts: int, layers: int, vocab: int, moe: str) -> dict:
    """A mixture of experts' 2-D and stacked 3-D weights at published sizes, under the transformers names gguf-py's
    converter maps (its experts merged, [experts, out, in]: `block_sparse_moe.experts.w1`, `mlp.experts.gate_proj`)."""
    names = {"w1": "gate_proj", "w3": "up_proj", "w2": "down_proj"}
    router = "mlp.router" if moe == "mlp-router" else "mlp.gate" if moe == "mlp" else "block_sparse_moe.gate"
    out = {"model.embed_tokens": (vocab, hidden), "lm_head": (vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        out |= {p + "self_attn.q_proj": (q, hidden), p + "self_attn.k_proj": (kv, hidden)}
        out |= {p + "self_attn.v_proj": (kv, hidden), p + "self_attn.o_proj": (hidden, q)}
        out[p + router] = (experts, hidden)
        for w, (d_out, d_in) in {"w1": (ffn, hidden), "w3": (ffn, hidden), "w2": (hidden, ffn)}.items():
            expert = f"mlp.experts.{names[w]}" if moe.startswith("mlp") else f"block_sparse_moe.experts.{w}"
            out[p + expert] = (experts, d_out, d_in)
    return out


@pytest.mark.parametrize(
    "arch, sizes, moe, family, roots",
    [
        ("llama", (4096, 4096, 1024, 14336, 8, 32, 32000), "mixtral", "mixtral",
         {"mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"}),
        ("qwen3moe", (2048, 4096, 512, 768, 128, 48, 151936), "mlp", "qwen3",
         {"Qwen/Qwen3-30B-A3B-Base", "Qwen/Qwen3-30B-A3B"}),
        ("gpt-oss", (2880, 4096, 512, 2880, 32, 24, 201088), "mlp-router", "gpt_oss", {"openai/gpt-oss-20b"}),
    ],
)  # fmt: skip
def test_a_mixture_s_conversion_names_its_tree(arch, sizes, moe, family, roots, tmp_path):
    """The GGUFs of Mixtral (converted as `llama`), Qwen3-30B-A3B and gpt-oss-20b, among the most downloaded, kept
    llama.cpp's names for their routers and stacked experts (`blk.N.ffn_gate_exps`): Mixtral read as Mistral 7B at
    0.5 (its experts "unlike" it), the other two as nothing. Their names map back (gguf-py's own map is the oracle,
    a stack read at one expert's shape), and each names its tree."""
    tensors = _mixture(*sizes, moe=moe)
    tmap = gguf.TensorNameMap(_arch(arch), sizes[5])
    named = {tmap.get_name(name + ".weight", try_suffixes=(".weight",)): shape for name, shape in tensors.items()}
    _gguf_header(tmp_path / f"{arch}.Q4_K_M.gguf", arch, named)
    with open_weights(str(tmp_path)) as view:
        assert {n: (m.d_out, m.d_in) for n, m in view.modules.items()} == {k: v[-2:] for k, v in tensors.items()}
    report = inspect_source(str(tmp_path))
    assert report["family"] == family and report["family_confidence"] == 1.0 and not report["conflicts"]
    assert report["root"]["id"] in roots  # (a base and its instruct tune share every shape)


def _mla(hidden: int, heads: int, experts: int, dense: int, layers: int, vocab: int) -> dict:
    """DeepSeek-V3's layout at published sizes (Kimi K2's at its own heads and experts), as gguf-py's converter
    takes it: a 1536-wide query latent, a 512 + 64 key-value one, 2048-wide experts stacked, one shared."""
    q, kv_b, o_in = heads * 192, heads * 256, heads * 128
    out = {"model.embed_tokens": (vocab, hidden), "lm_head": (vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        out |= {p + "self_attn.q_a_proj": (1536, hidden), p + "self_attn.q_b_proj": (q, 1536)}
        out |= {p + "self_attn.kv_a_proj_with_mqa": (576, hidden), p + "self_attn.kv_b_proj": (kv_b, 512)}
        out[p + "self_attn.o_proj"] = (hidden, o_in)
        if i < dense:
            out |= {p + "mlp.gate_proj": (18432, hidden), p + "mlp.up_proj": (18432, hidden)}
            out[p + "mlp.down_proj"] = (hidden, 18432)
            continue
        out[p + "mlp.gate"] = (experts, hidden)
        out |= {p + f"mlp.experts.{w}_proj": (experts, 2048, hidden) for w in ("gate", "up")}
        out[p + "mlp.experts.down_proj"] = (experts, hidden, 2048)
        out |= {p + f"mlp.shared_experts.{w}_proj": (2048, hidden) for w in ("gate", "up")}
        out[p + "mlp.shared_experts.down_proj"] = (hidden, 2048)
    return out


def test_deepseek_v3_s_and_kimi_k2_s_conversions_name_their_trees(tmp_path):
    """DeepSeek-R1's and -V3's GGUFs (llama.cpp's `deepseek2`) are among the most downloaded: their latent attention
    kept llama.cpp's names (`blk.N.attn_kv_a_mqa`), and the file read as no family. They map back; R1's header names
    its tree's root, and Kimi K2's, in V3's every width but its 64 heads, rules a declared V3 out."""
    tmap = gguf.TensorNameMap(gguf.MODEL_ARCH.DEEPSEEK2, 61)

    def convert(tensors: dict, folder: str, base_url: str) -> dict:
        named = {tmap.get_name(name + ".weight", try_suffixes=(".weight",)): shape for name, shape in tensors.items()}
        (tmp_path / folder).mkdir()
        _gguf_header(tmp_path / folder / "model-Q2_K-00001-of-00005.gguf", "deepseek2", named, base_url=base_url)
        return inspect_source(str(tmp_path / folder))

    v3 = _mla(7168, 128, 256, 3, 61, 129280)
    report = convert(v3, "r1", "https://huggingface.co/deepseek-ai/DeepSeek-R1")
    assert report["family"] == "deepseek_v3" and report["family_confidence"] == 1.0 and not report["conflicts"]
    assert report["root"]["id"] == "deepseek-ai/DeepSeek-R1", report["root"]
    k2 = _mla(7168, 64, 384, 1, 61, 163840)
    report = convert(k2, "k2", "https://huggingface.co/deepseek-ai/DeepSeek-V3")
    assert report["family"] == "deepseek_v3"
    assert report["root"]["id"] in {"moonshotai/Kimi-K2-Base", "moonshotai/Kimi-K2-Instruct"}
    assert any("DeepSeek-V3" in c for c in report["conflicts"]), report["conflicts"]


def _glm4_moe(hidden: int, experts: int, dense: int, layers: int, ffn: int, expert_ffn: int) -> dict:
    """GLM-4.5's layout at published sizes as gguf-py's converter takes it: 96 query heads and 8 key-value heads of
    128, experts stacked, one shared, and the checkpoint's multi-token prediction block after the last layer."""
    out = {"model.embed_tokens": (151552, hidden), "lm_head": (151552, hidden)}
    for i in range(layers + 1):
        p = f"model.layers.{i}."
        out |= {p + "self_attn.q_proj": (12288, hidden), p + "self_attn.o_proj": (hidden, 12288)}
        out |= {p + f"self_attn.{w}_proj": (1024, hidden) for w in "kv"}
        if i == layers:
            out[p + "eh_proj"] = (hidden, 2 * hidden)
        if i < dense:
            out |= {p + f"mlp.{w}_proj": (ffn, hidden) for w in ("gate", "up")}
            out[p + "mlp.down_proj"] = (hidden, ffn)
            continue
        out[p + "mlp.gate"] = (experts, hidden)
        out |= {p + f"mlp.experts.{w}_proj": (experts, expert_ffn, hidden) for w in ("gate", "up")}
        out[p + "mlp.experts.down_proj"] = (experts, hidden, expert_ffn)
        out |= {p + f"mlp.shared_experts.{w}_proj": (expert_ffn, hidden) for w in ("gate", "up")}
        out[p + "mlp.shared_experts.down_proj"] = (hidden, expert_ffn)
    return out


@pytest.mark.parametrize(
    "sizes, source, root, base_model",
    [
        ((4096, 128, 1, 46, 10944, 1408), "zai-org/GLM-4.5-Air", "zai-org/GLM-4.5-Air", "zai-org/GLM-4.5-Air"),
        ((5120, 160, 3, 92, 12288, 1536), "zai-org/GLM-4.6", "zai-org/GLM-4.5", "zai-org/GLM-4.6"),
        ((4096, 128, 1, 46, 10944, 1408), "zai-org/GLM-4.6", "zai-org/GLM-4.5-Air", None),  # Air's widths
    ],
)
def test_glm_4_5_s_conversions_name_their_trees(sizes, source, root, base_model, tmp_path):
    """GLM-4.5-Air's and GLM-4.6's GGUFs (llama.cpp's `glm4moe`) read as no family; they map back (gguf-py's map the
    oracle), the multi-token prediction block (`blk.46.nextn.eh_proj`) within the root's depth, and the model the
    header says was converted is checked by the weights: GLM-4.6 on Air's is a conflict."""
    tensors = _glm4_moe(*sizes)
    tmap = gguf.TensorNameMap(gguf.MODEL_ARCH.GLM4_MOE, sizes[3] + 1)
    named = {tmap.get_name(name + ".weight", try_suffixes=(".weight",)): shape for name, shape in tensors.items()}
    assert None not in named
    url = f"https://huggingface.co/{source}"
    _gguf_header(tmp_path / "GLM-Q4_K_M-00001-of-00002.gguf", "glm4moe", named, source_url=url)
    with open_weights(str(tmp_path)) as view:
        assert {n: (m.d_out, m.d_in) for n, m in view.modules.items()} == {k: v[-2:] for k, v in tensors.items()}
    report = inspect_source(str(tmp_path))
    assert report["family"] == "glm4_moe" and report["family_confidence"] == 1.0, report["family"]
    assert report["root"]["id"] == root and report["base_model"]["id"] == base_model, (
        report["root"],
        report["base_model"],
    )
    assert bool(report["conflicts"]) is (base_model is None), report["conflicts"]


def _qwen35(hidden: int, layers: int, heads: int, kv: int, v_heads: int, ffn: int = 0, experts: int = 0, moe: int = 0):
    """Qwen3.5's decoder at published sizes as gguf-py's converter takes it: gated full attention every fourth layer
    (`q_proj` twice the queries), Gated DeltaNet in the others (its depthwise convolution squeezed to [channels,
    kernel]); a dense MLP, or stacked routed experts beside one shared expert and its gate."""
    out = {"model.embed_tokens": (248320, hidden), "lm_head": (248320, hidden)}
    lin_qkv, lin_v = 4096 + 128 * v_heads, 128 * v_heads
    for i in range(layers):
        p = f"model.layers.{i}."
        if i % 4 == 3:
            out |= {p + "self_attn.q_proj": (512 * heads, hidden), p + "self_attn.o_proj": (hidden, 256 * heads)}
            out |= {p + f"self_attn.{w}_proj": (256 * kv, hidden) for w in "kv"}
        else:
            la = p + "linear_attn."
            out |= {la + "in_proj_qkv": (lin_qkv, hidden), la + "in_proj_z": (lin_v, hidden)}
            out |= {la + f"in_proj_{w}": (v_heads, hidden) for w in "ab"}
            out |= {la + "out_proj": (hidden, lin_v), la + "conv1d": (lin_qkv, 4)}
        if not experts:
            out |= {p + f"mlp.{w}_proj": (ffn, hidden) for w in ("gate", "up")} | {p + "mlp.down_proj": (hidden, ffn)}
            continue
        out[p + "mlp.gate"] = (experts, hidden)
        out |= {p + f"mlp.experts.{w}_proj": (experts, moe, hidden) for w in ("gate", "up")}
        out[p + "mlp.experts.down_proj"] = (experts, hidden, moe)
        out |= {p + f"mlp.shared_expert.{w}_proj": (moe, hidden) for w in ("gate", "up")}
        out |= {p + "mlp.shared_expert.down_proj": (hidden, moe), p + "mlp.shared_expert_gate": (1, hidden)}
    return out


@pytest.mark.parametrize(
    "arch, sizes, source, written",
    [
        ("qwen35", dict(hidden=4096, layers=32, heads=16, kv=4, v_heads=32, ffn=12288), "Qwen/Qwen3.5-9B",
         "Qwen/Qwen3.5-9B"),
        ("qwen35moe", dict(hidden=2048, layers=40, heads=16, kv=2, v_heads=32, experts=256, moe=512),
         "Qwen/Qwen3.6-35B-A3B", "Qwen/Qwen3.6-35B-A3B"),
        ("qwen35", dict(hidden=4096, layers=32, heads=16, kv=4, v_heads=32, ffn=12288), "Qwen/Qwen3.5-4B", None),
    ],
)  # fmt: skip
def test_qwen3_5_s_conversions_name_their_tree(arch, sizes, source, written, tmp_path):
    """Qwen3.5's and 3.6's GGUFs (llama.cpp's `qwen35`, `qwen35moe`) kept llama.cpp's names (`blk.N.attn_qkv`,
    `ssm_out`) and read as no family; they map back (gguf-py's map the oracle), and the model the header says was
    converted is checked by the weights: Qwen3.5-4B's name on 9B's is a conflict."""
    tensors = _qwen35(**sizes)
    tmap = gguf.TensorNameMap(_arch(arch), sizes["layers"])
    named = {tmap.get_name(name + ".weight", try_suffixes=(".weight",)): shape for name, shape in tensors.items()}
    assert None not in named and "blk.0.ssm_beta.weight" in named and "blk.3.attn_q.weight" in named
    _gguf_header(tmp_path / "Qwen3.5-Q4_K_M.gguf", arch, named, source_url=f"https://huggingface.co/{source}")
    with open_weights(str(tmp_path)) as view:
        assert {n: (m.d_out, m.d_in) for n, m in view.modules.items()} == {k: v[-2:] for k, v in tensors.items()}
    report = inspect_source(str(tmp_path))
    assert report["family"] == "qwen3_5" and report["family_confidence"] == 1.0, report["family"]
    assert report["base_model"]["id"] == written, report["base_model"]
    assert bool(report["conflicts"]) is (written is None), report["conflicts"]


@pytest.mark.parametrize(
    "config, experts, source, written",
    [
        (dict(hidden_size=2560, intermediate_size=10240, num_hidden_layers=42, num_attention_heads=8,
              num_key_value_heads=2, num_kv_shared_layers=18, hidden_size_per_layer_input=256),
         0, "google/gemma-4-E4B-it", "google/gemma-4-E4B-it"),
        (dict(hidden_size=2816, intermediate_size=2112, num_hidden_layers=30, num_attention_heads=16,
              num_key_value_heads=8, num_global_key_value_heads=2, attention_k_eq_v=True,
              hidden_size_per_layer_input=0),
         128, "google/gemma-4-26B-A4B-it", "google/gemma-4-26B-A4B-it"),
        (dict(hidden_size=2560, intermediate_size=10240, num_hidden_layers=42, num_attention_heads=8,
              num_key_value_heads=2, num_kv_shared_layers=18, hidden_size_per_layer_input=256),
         0, "google/gemma-3-4b-it", None),  # Gemma 3 4B's name on E4B's weights
    ],
)  # fmt: skip
def test_gemma_4_s_conversions_name_their_tree(config, experts, source, written, tmp_path):
    """Gemma 4's GGUFs (llama.cpp's `gemma4`) kept llama.cpp's names for the per-layer embeddings and the mixture
    (`blk.N.inp_gate`, `per_layer_token_embd`, `ffn_gate_inp`, `ffn_gate_up_exps`) and read as Gemma 3n or Gemma 3 at
    0.3, no root; they map back (gguf-py's map the oracle), and the model the header says was converted is checked
    by the weights."""
    tensors = {f"model.{k}": v for k, v in built_shapes("gemma4_text", **config).items()}
    for i in range(config["num_hidden_layers"] if experts else 0):  # (transformers' stacked experts: no module)
        tensors[f"model.layers.{i}.router.proj"] = (experts, 2816)
        tensors[f"model.layers.{i}.experts.gate_up_proj"] = (experts, 1408, 2816)
        tensors[f"model.layers.{i}.experts.down_proj"] = (experts, 2816, 704)
    tmap = gguf.TensorNameMap(_arch("gemma4"), config["num_hidden_layers"])
    named = {tmap.get_name(name + ".weight", try_suffixes=(".weight",)): shape for name, shape in tensors.items()}
    assert None not in named and (experts == 0) is ("per_layer_token_embd.weight" in named)
    _gguf_header(tmp_path / "gemma-4-Q4_K_M.gguf", "gemma4", named, source_url=f"https://huggingface.co/{source}")
    with open_weights(str(tmp_path)) as view:
        assert {n: (m.d_out, m.d_in) for n, m in view.modules.items()} == {k: v[-2:] for k, v in tensors.items()}
    report = inspect_source(str(tmp_path))
    assert report["family"] == "gemma4" and report["family_confidence"] == 1.0, report["family"]
    assert report["base_model"]["id"] == written, report["base_model"]
    assert bool(report["conflicts"]) is (written is None), report["conflicts"]


def test_lfm2_s_conversion_names_its_tree(tmp_path):
    """LFM2-1.2B's GGUF (llama.cpp's `lfm2`) kept llama.cpp's names (`blk.0.shortconv.in_proj`, `attn_output`,
    `ffn_gate`) and read as no family; they map back (gguf-py's map the oracle; its convolution squeezed to [width,
    kernel]), and the model its header says was converted is checked by the weights."""
    config = dict(hidden_size=2048, intermediate_size=12288, num_hidden_layers=16, num_attention_heads=32,
                  num_key_value_heads=8, full_attn_idxs=[2, 5, 8, 10, 12, 14])  # fmt: skip
    tensors = {f"model.{k}": v for k, v in built_shapes("lfm2", **config).items()}
    tensors = {k: (v[0], 3) if k.endswith("conv.conv") else v for k, v in tensors.items()}
    tmap = gguf.TensorNameMap(gguf.MODEL_ARCH.LFM2, 16)
    named = {tmap.get_name(name + ".weight", try_suffixes=(".weight",)): shape for name, shape in tensors.items()}
    assert None not in named and "blk.0.shortconv.in_proj.weight" in named
    for source, written in (("LiquidAI/LFM2-1.2B", "LiquidAI/LFM2-1.2B"), ("LiquidAI/LFM2-2.6B", None)):
        _gguf_header(tmp_path / "LFM2-Q4_K_M.gguf", "lfm2", named, source_url=f"https://huggingface.co/{source}")
        with open_weights(str(tmp_path)) as view:
            assert {n: (m.d_out, m.d_in) for n, m in view.modules.items()} == tensors
        report = inspect_source(str(tmp_path))
        assert report["family"] == "lfm2" and report["base_model"]["id"] == written, report["base_model"]
        assert bool(report["conflicts"]) is (written is None), report["conflicts"]


def test_lfm2_8b_a1b_s_conversion_names_its_tree(tmp_path):
    """LFM2-8B-A1B's GGUF (`lfm2moe`, gguf-py's tensor list the oracle of the names): its router and stacked experts
    (`ffn_gate_inp`, `ffn_gate_exps`, `ffn_up_exps`, `ffn_down_exps`) map to Mixtral's names, the experts read at
    one expert's shape."""
    names = {gguf.TENSOR_NAMES[t] for t in gguf.MODEL_TENSORS[_arch("lfm2moe")]}
    assert {"blk.{bid}.ffn_gate_inp", "blk.{bid}.ffn_gate_exps", "blk.{bid}.shortconv.in_proj"} <= names
    tensors = {"token_embd.weight": (65536, 2048)}
    for i in range(24):
        b = f"blk.{i}."
        tensors |= {b + "ffn_gate.weight": (7168, 2048), b + "ffn_up.weight": (7168, 2048)} if i < 2 else {}
        tensors |= {b + "ffn_down.weight": (2048, 7168)} if i < 2 else {}
        if i in (2, 6, 10, 14, 18, 21):
            tensors |= {b + "attn_q.weight": (2048, 2048), b + "attn_output.weight": (2048, 2048)}
            tensors |= {b + "attn_k.weight": (512, 2048), b + "attn_v.weight": (512, 2048)}
        else:
            tensors |= {b + "shortconv.in_proj.weight": (6144, 2048), b + "shortconv.out_proj.weight": (2048, 2048)}
            tensors |= {b + "shortconv.conv.weight": (2048, 3)}
        if i >= 2:
            tensors |= {b + "ffn_gate_inp.weight": (32, 2048), b + "ffn_down_exps.weight": (32, 2048, 1792)}
            tensors |= {b + f"ffn_{w}_exps.weight": (32, 1792, 2048) for w in ("gate", "up")}
    assert all(k.removesuffix(".weight").replace(k.split(".")[1], "{bid}", 1) in names for k in tensors if "blk" in k)
    _gguf_header(tmp_path / "LFM2-8B-A1B-Q4_K_M.gguf", "lfm2moe", tensors)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "lfm2" and report["family_confidence"] == 1.0, report["family"]
    assert {c["id"] for c in report["root"]["candidates"]} == {"LiquidAI/LFM2-8B-A1B", "LiquidAI/LFM2.5-8B-A1B"}


def _llama4(experts: int, dense_every: int) -> dict:
    """Llama 4's layout at Scout's and Maverick's published sizes, as gguf-py's converter takes it: 40 heads and 8
    key-value heads of 128 on 5120, 48 layers; a router, a shared expert and stacked routed ones of 8192 (every layer
    of Scout's, every other of Maverick's, the rest dense MLPs of 16384)."""
    out = {"model.embed_tokens": (202048, 5120), "lm_head": (202048, 5120)}
    for i in range(48):
        p = f"model.layers.{i}."
        out |= {p + "self_attn.q_proj": (5120, 5120), p + "self_attn.o_proj": (5120, 5120)}
        out |= {p + f"self_attn.{w}_proj": (1024, 5120) for w in "kv"}
        ffn = p + "feed_forward."
        if dense_every and i % dense_every == 0:
            out |= {ffn + f"{w}_proj": (16384, 5120) for w in ("gate", "up")} | {ffn + "down_proj": (5120, 16384)}
            continue
        out[ffn + "router"] = (experts, 5120)
        out |= {ffn + f"experts.{w}_proj": (experts, 8192, 5120) for w in ("gate", "up")}
        out |= {ffn + "experts.down_proj": (experts, 5120, 8192)}
        out |= {ffn + f"shared_expert.{w}_proj": (8192, 5120) for w in ("gate", "up")}
        out[ffn + "shared_expert.down_proj"] = (5120, 8192)
    return out


@pytest.mark.parametrize(
    "experts, dense_every, source, written",
    [
        (16, 0, "meta-llama/Llama-4-Scout-17B-16E-Instruct", "meta-llama/Llama-4-Scout-17B-16E-Instruct"),
        (128, 2, "meta-llama/Llama-4-Maverick-17B-128E-Instruct", "meta-llama/Llama-4-Maverick-17B-128E-Instruct"),
        (16, 0, None, None),  # nothing declared: the family, both lines (their attention is one)
        (16, 0, "Qwen/Qwen2.5-14B-Instruct", None),  # Qwen2.5-14B's attention to the block, but Llama 4's mixture
    ],
)
def test_llama_4_s_conversions_name_their_tree(experts, dense_every, source, written, tmp_path):
    """Llama 4 Scout's and Maverick's GGUFs (llama.cpp's `llama4`) kept llama.cpp's names and read as no family.
    They map back (gguf-py's map the oracle, the stacked experts read at one expert's shape); the mixture's names
    (`feed_forward.router`, `feed_forward.shared_expert`) place the family, and a declared Qwen2.5-14B, whose
    attention Scout's is to the block, is a conflict."""
    tensors = _llama4(experts, dense_every)
    tmap = gguf.TensorNameMap(gguf.MODEL_ARCH.LLAMA4, 48)
    named = {tmap.get_name(name + ".weight", try_suffixes=(".weight",)): shape for name, shape in tensors.items()}
    assert None not in named
    url = source and f"https://huggingface.co/{source}"
    _gguf_header(tmp_path / "Llama-4-Q4_K_M-00001-of-00002.gguf", "llama4", named, source_url=url)
    with open_weights(str(tmp_path)) as view:
        assert {n: (m.d_out, m.d_in) for n, m in view.modules.items()} == {k: v[-2:] for k, v in tensors.items()}
    report = inspect_source(str(tmp_path))
    assert report["family"] == "llama4" and report["family_confidence"] == 1.0, report["family"]
    assert report["base_model"]["id"] == written, report["base_model"]
    assert bool(report["conflicts"]) is (source is not None and written is None), report["conflicts"]
    if source is None:
        ids = {c["id"] for c in report["root"]["candidates"]}
        assert {"meta-llama/Llama-4-Scout-17B-16E", "meta-llama/Llama-4-Maverick-17B-128E"} <= ids, ids


@pytest.mark.parametrize(
    "vocab, every_block, root",
    [(32128, False, "google/t5-v1_1-xxl"), (256384, True, "google/umt5-xxl")],  # (UMT5: position buckets per block)
)
def test_a_t5_xxl_encoder_s_conversion_names_its_tree(vocab, every_block, root, tmp_path):
    """The T5 v1.1 XXL and UMT5 XXL encoders FLUX, SD 3 and Wan take are among the most downloaded GGUFs
    (`t5encoder`, as ComfyUI users load them): their names (`enc.blk.N.attn_q`) were kept, and the file read as
    no family. They map back, and the vocabulary tells the two apart."""
    tensors = {"shared": (vocab, 4096)}
    for i in range(24):
        p = f"encoder.block.{i}.layer."
        tensors |= {p + f"0.SelfAttention.{m}": (4096, 4096) for m in "qkvo"}
        tensors |= {p + "1.DenseReluDense.wi_0": (10240, 4096), p + "1.DenseReluDense.wi_1": (10240, 4096)}
        tensors[p + "1.DenseReluDense.wo"] = (4096, 10240)
        if i == 0 or every_block:
            tensors[p + "0.SelfAttention.relative_attention_bias"] = (32, 64)
    tmap = gguf.TensorNameMap(gguf.MODEL_ARCH.T5ENCODER, 24)
    named = {tmap.get_name(name + ".weight", try_suffixes=(".weight",)): shape for name, shape in tensors.items()}
    _gguf_header(tmp_path / "t5-xxl-encoder-Q8_0.gguf", "t5encoder", named)
    with open_weights(str(tmp_path)) as view:
        assert {n: (m.d_out, m.d_in) for n, m in view.modules.items()} == tensors
    report = inspect_source(str(tmp_path))
    assert report["family"] == "t5" and report["family_confidence"] == 1.0 and not report["conflicts"]
    assert report["root"]["id"] == root, report["root"]


@pytest.mark.parametrize(
    "layers, vocab, roots",
    [
        (40, 151552, {"THUDM/glm-4-9b", "THUDM/glm-4-9b-chat"}),  # (GLM-4-9B-0414 has transformers' layout)
        (28, 65024, {"THUDM/chatglm2-6b", "THUDM/chatglm3-6b"}),
    ],
)
def test_a_chatglm_conversion_names_its_tree(layers, vocab, roots, tmp_path):
    """GLM-4-9B-chat's and ChatGLM3-6B's GGUFs (`chatglm`) kept llama.cpp's names and read as no family. Under their
    checkpoints' names (llama.cpp's converter strips `transformer.`, which gguf-py's map is then the oracle for) each
    is its tree: 2 key-value groups of 128 beside 32 heads in one `query_key_value`, gate and up in `dense_h_to_4h`."""
    tensors = {"transformer.embedding.word_embeddings": (vocab, 4096), "transformer.output_layer": (vocab, 4096)}
    for i in range(layers):
        p = f"transformer.encoder.layers.{i}."
        tensors |= {p + "self_attention.query_key_value": (4608, 4096), p + "self_attention.dense": (4096, 4096)}
        tensors |= {p + "mlp.dense_h_to_4h": (27392, 4096), p + "mlp.dense_4h_to_h": (4096, 13696)}
    tmap = gguf.TensorNameMap(gguf.MODEL_ARCH.CHATGLM, layers)
    named = {tmap.get_name(n.removeprefix("transformer.") + ".weight", try_suffixes=(".weight",)): v
             for n, v in tensors.items()}  # fmt: skip
    _gguf_header(tmp_path / "chatglm-Q4_K_M.gguf", "chatglm", named)
    with open_weights(str(tmp_path)) as view:
        assert {n: (m.d_out, m.d_in) for n, m in view.modules.items()} == tensors
    report = inspect_source(str(tmp_path))
    assert report["family"] == "chatglm" and report["family_confidence"] == 1.0 and not report["conflicts"]
    assert {c["id"] for c in report["root"]["candidates"][:2]} == roots, report["root"]  # (its shapes' two first)


def test_a_frankenmoe_s_conversion_is_read_as_the_dense_model_its_experts_came_from(tmp_path):
    """A "4x7B" of Mistral 7B fine-tunes (mergekit-moe's, converted as `llama`, its experts stacked): no published
    Mixtral has 4 experts; it was "mixtral" with no root. Its router's 4 outputs count the experts."""
    tensors = _mixture(4096, 4096, 1024, 14336, 4, 32, 32000, moe="mixtral")
    tmap = gguf.TensorNameMap(gguf.MODEL_ARCH.LLAMA, 32)
    named = {tmap.get_name(name + ".weight", try_suffixes=(".weight",)): shape for name, shape in tensors.items()}
    _gguf_header(tmp_path / "beyonder-4x7b.Q4_K_M.gguf", "llama", named)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "mistral" and not report["conflicts"], report["root"]["evidence"]
    assert report["root"]["evidence"][0].startswith("a mixture of 4 experts per layer")
    assert report["root"]["id"].startswith("mistralai/Mistral-7B") and report["base_model"]["id"] is None


def test_mixtral_s_early_conversions_name_each_expert(tmp_path):
    """llama.cpp's Mixtral files before April 2024 (TheBloke's among them) hold one tensor per expert."""
    shapes = {"blk.0.attn_q.weight": (4096, 4096), "blk.0.attn_k.weight": (1024, 4096)}
    shapes |= {f"blk.0.ffn_{w}.{e}.weight": (14336, 4096) for w in ("gate", "up") for e in range(8)}
    shapes |= {f"blk.0.ffn_down.{e}.weight": (4096, 14336) for e in range(8)}
    _gguf_header(tmp_path / "mixtral-8x7b-v0.1.Q4_K_M.gguf", "llama", shapes)
    with open_weights(str(tmp_path)) as view:
        assert view.modules["model.layers.0.block_sparse_moe.experts.7.w2"].d_in == 14336
    assert inspect_source(str(tmp_path))["family"] == "mixtral"


def test_an_embedding_model_s_conversion_is_checked_against_its_base(tmp_path):
    """BERT GGUFs (embedding models as llama.cpp serves them) kept llama.cpp's names: a bge-small-en-v1.5 fine-tune's
    was BERT at 0.5 from its recorded base alone, its shapes unchecked; now its layers are BertModel's and fit that
    base, the root; the model converted is the fine-tune, which the header does not name: no base_model."""
    small = dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=12, intermediate_size=1536)
    model = hf_model("BertModel", "BertConfig", vocab=30522, **small)  # bge-small-en-v1.5's config
    tmap = gguf.TensorNameMap(gguf.MODEL_ARCH.BERT, 12)
    named = {tmap.get_name(k, try_suffixes=(".weight", ".bias")): tuple(v.shape) for k, v in model.state_dict().items()}
    folder = tmp_path / "bge-small-en-v1.5-gguf"
    folder.mkdir()
    _gguf_header(folder / "bge-small-en-v1.5-f16.gguf", "bert", {k: v for k, v in named.items() if k},
                 base_url="https://huggingface.co/BAAI/bge-small-en-v1.5")  # fmt: skip
    report = inspect_source(str(folder))
    assert report["family"] == "bert" and report["family_confidence"] == 1.0 and not report["conflicts"]
    assert report["root"]["id"] == "BAAI/bge-small-en-v1.5" and report["base_model"]["id"] is None


def test_a_repo_of_conversions_is_one_model(tmp_path):
    model = hf_model("Qwen2ForCausalLM", "Qwen2Config", **SMALL)
    folder = tmp_path / "repo"
    folder.mkdir()
    for name in ("tiny.Q8_0.gguf", "tiny.Q4_K_M.gguf", "tiny-f16.gguf", "mmproj-tiny-f16.gguf"):
        write_gguf(folder / name, "qwen2", model)
    with open_weights(str(folder)) as view:  # one model at several ggml types; the vision projector is not it
        assert view.files == ["tiny-f16.gguf"] and view.format == "gguf"
    write_gguf(folder / "other-model.Q4_K_M.gguf", "qwen2", model)
    with pytest.raises(UsageError, match="holds 4 weights files of different models.*name one"):
        open_weights(str(folder))


def test_a_pile_of_conversions_counts_each_model_once(tmp_path):
    from hfprobe.formats import models_in
    from hfprobe.source.resolve import resolve

    model = hf_model("LlamaForCausalLM", "LlamaConfig", **SMALL)
    for name in ("x.Q8_0.gguf", "x.Q4_K_M.gguf", "y-00001-of-00002.gguf", "y-00002-of-00002.gguf", "mmproj-x.gguf"):
        write_gguf(tmp_path / name, "llama", model)
    with resolve(str(tmp_path)) as src:
        assert models_in(src) == ["x.Q4_K_M.gguf", "y-00001-of-00002.gguf"]


def test_values_are_refused_in_one_line(tmp_path):
    write_gguf(tmp_path / "m.gguf", "llama", hf_model("LlamaForCausalLM", "LlamaConfig", **SMALL))
    with open_weights(str(tmp_path / "m.gguf")) as view:
        with pytest.raises(UnsupportedFormatError, match="stored as GGUF.*unquantized model"):
            view.layer("model.layers.0.self_attn.q_proj")
        with pytest.raises(UnsupportedFormatError, match="GGUF file's tensor values are not read"):
            view.tensor("model.layers.0.self_attn.q_proj.weight")  # (its raw keys are transformers names)


def _header(*parts: bytes) -> bytes:
    return b"GGUF" + struct.pack("<I", 3) + b"".join(parts)


@pytest.mark.parametrize(
    "blob, message",
    [
        (b"\x13\xa7D\x0f" + bytes(60), "not a GGUF file"),
        (b"PK\x03\x04" + bytes(60), r"a torch file \(a zip archive\) under a .gguf name; rename it to .pt"),
        (b'\x10\x00\x00\x00\x00\x00\x00\x00{"a": 1}' + bytes(40), "a safetensors file under a .gguf name"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 4368439584\n", "a Git LFS pointer"),
        (b"GGUF" + struct.pack("<I", 1) + bytes(40), "version 1"),
        (_header(struct.pack("<QQ", 0, 1), struct.pack("<Q", 2**40)), "metadata key of 1099511627776 bytes"),
        (
            _header(struct.pack("<QQ", 0, 1), struct.pack("<Q", 1) + b"k" + struct.pack("<IIQ", 9, 4, 2**40)),
            "array of 1099511627776 elements",
        ),  # fmt: skip
        (_header(struct.pack("<QQ", 1, 0), struct.pack("<Q", 1) + b"t" + struct.pack("<I", 2)), "end of the"),
    ],
)
def test_a_bad_gguf_is_one_typed_line(blob, message, tmp_path):
    path = tmp_path / "bad.gguf"
    path.write_bytes(blob)
    with pytest.raises(InvalidWeightsError, match=message) as err:
        open_weights(str(path))
    assert "\n" not in str(err.value) and "bad.gguf" in str(err.value)


def test_a_hub_gguf_is_read_by_its_header_alone(tmp_path, monkeypatch):
    """...and an offline rerun answers from the cached header (before, only a safetensors header was cached)."""
    from huggingface_hub import constants

    model = hf_model("LlamaForCausalLM", "LlamaConfig", **SMALL)
    write_gguf(tmp_path / "m.Q8_0.gguf", "llama", model, base_url="https://huggingface.co/org/base-llama")
    blob = (tmp_path / "m.Q8_0.gguf").read_bytes()
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/tiny-GGUF", {"m.Q8_0.gguf": blob + bytes(4 * 1024 * 1024), "README.md": "# tiny\n"})
    with hub.serving():
        report = inspect_source("org/tiny-GGUF")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the server is gone too
    offline = inspect_source("org/tiny-GGUF")
    assert {k: offline[k] for k in ("format", "family", "modules")} == {
        k: report[k] for k in ("format", "family", "modules")
    }
    assert report["format"] == "gguf" and report["revision_sha"]
    assert report["bytes_read"] < len(blob) + 64 * 1024  # the header (and the card), never the 4 MB of tensor data
    assert report["declared"]["header general.base_model.0.repo_url"] == "org/base-llama"


def _dit_gguf(path: Path, arch: str, shapes: dict[str, tuple]) -> None:
    """A diffusion transformer's GGUF as city96's converter writes it: the model's own tensor names, Q8_0."""
    writer = gguf.GGUFWriter(str(path), arch)
    block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0]
    for name, shape in shapes.items():
        packed = (shape[0], shape[1] // block * size)
        nbytes = shape[0] * packed[1]
        writer.add_tensor_info(name, packed, np.dtype(np.uint8), nbytes, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()


def test_diffusion_transformer_ggufs_keep_their_names_and_find_their_family(tmp_path):
    """city96's GGUFs of FLUX, Wan and Qwen-Image keep each model's own tensor names, which the registry reads."""
    flux = {f"double_blocks.{i}.{s}_attn.qkv.weight": (9216, 3072) for i in range(19) for s in ("img", "txt")}
    flux |= {f"single_blocks.{i}.linear1.weight": (21504, 3072) for i in range(38)}
    flux["img_in.weight"] = (3072, 64)
    wan = {f"blocks.{i}.{m}.weight": (5120, 5120) for i in range(40) for m in ("self_attn.q", "cross_attn.k")}
    wan |= {f"blocks.{i}.ffn.0.weight": (13824, 5120) for i in range(40)}
    qwen = {f"transformer_blocks.{i}.attn.add_q_proj.weight": (3072, 3072) for i in range(60)}
    qwen |= {f"transformer_blocks.{i}.img_mlp.net.0.proj.weight": (12288, 3072) for i in range(60)}
    cases = [("flux", flux, "flux", "black-forest-labs/FLUX.1-dev"), ("wan", wan, "wan", "Wan-AI/Wan2.1-T2V-14B")]
    for arch, shapes, family, root in [*cases, ("qwen_image", qwen, "qwen_image", "Qwen/Qwen-Image")]:
        folder = tmp_path / arch
        folder.mkdir()
        _dit_gguf(folder / f"{arch}-Q8_0.gguf", arch, shapes)
        report = inspect_source(str(folder))
        assert report["format"] == "gguf" and report["family"] == family and report["family_confidence"] == 1.0
        assert report["root"]["id"] == root and report["base_model"]["id"] is None  # quantized: declared only


def write_gguf_lora(
    path: Path, peft_folder: Path, arch: str, layers: int, alpha: float, name: str | None = None
) -> None:
    """A PEFT adapter as llama.cpp's convert_lora_to_gguf writes it: gguf-py's names (`TensorNameMap`) with
    `.lora_a` / `.lora_b` after the weight's name, the factors as PEFT stores them, `general.type` adapter."""
    from safetensors.torch import load_file

    tmap = gguf.TensorNameMap(_arch(arch), layers)
    writer = gguf.GGUFWriter(str(path), arch)
    if name:
        writer.add_name(name)
    writer.add_string(gguf.Keys.General.TYPE, gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    for key, value in load_file(peft_folder / "adapter_model.safetensors").items():
        module, _, part = key.removeprefix("base_model.model.").rpartition(".lora_")
        name = tmap.get_name(module + ".weight", try_suffixes=(".weight",))
        writer.add_tensor(f"{name}.lora_{part[0].lower()}", value.float().numpy())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_a_gguf_lora_adapter_reads_as_the_peft_adapter_it_was_converted_from(tmp_path):
    """llama.cpp's LoRA adapters (GGUF-my-LoRA's output) were refused: "recognised as gguf but no module could be
    read". Now their factors are LoRA modules under transformers' names, at the PEFT adapter's shapes and rank."""
    from tests.builders import peft_adapter

    peft_model, folder = peft_adapter("llama", tmp_path / "peft", r=4, alpha=8, target_modules=["q_proj", "v_proj"])
    layers = peft_model.config.num_hidden_layers
    write_gguf_lora(tmp_path / "lora.gguf", folder, "llama", layers, alpha=8.0, name="Llama 2 7b Chat Hf")
    peft_view, view = open_weights(folder), open_weights(tmp_path / "lora.gguf")
    assert view.format == "gguf" and set(view.modules) == set(peft_view.modules)
    for name, m in peft_view.modules.items():
        g = view.modules[name]
        assert (g.kind, g.d_out, g.d_in, g.rank, g.alpha, g.scale) == ("lora", m.d_out, m.d_in, 4, 8.0, 2.0), name
    report = inspect_source(str(tmp_path / "lora.gguf"))
    assert report["kind"] == "adapter" and report["quantized"] is None and report["family"] == "llama"
    assert "header general.name" not in report["declared"]  # an adapter's name is its own, not its base's
    with pytest.raises(UnsupportedFormatError, match="GGUF"):
        view.layer(next(iter(view.modules)))

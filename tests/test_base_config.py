"""A declared base the registry lacks, checked by its own config.json (hfprobe/tree/base_config.py): the sizes
it gives are the registry's own for transformers' models, and `inspect` fits the weights to them, from the Hub
(tests/fakehub.py) for a Hub source and from huggingface_hub's cache alone for a local folder."""

from __future__ import annotations

import json

import pytest
from safetensors.numpy import save

from hfprobe.tree.base_config import _table, config_root
from hfprobe.tree.inspect import inspect_source
from hfprobe.tree.registry import roots
from tests.fakehub import FakeHub
from tests.model_shapes import LLM_CONFIGS

CHECKED = sorted(_table()["families"])
# families whose config is checked, but whose bare transformers model (no `electra.` prefix) test_tree_transformers.py's
# weights test cannot place: their published config.json, the fields that set their sizes
CONFIG_ONLY = {
    "marian": (
        "marian",
        dict(d_model=512, encoder_layers=6, decoder_layers=6, encoder_ffn_dim=2048, decoder_ffn_dim=2048,
             encoder_attention_heads=8, decoder_attention_heads=8, vocab_size=58101, pad_token_id=58100),
        "Helsinki-NLP/opus-mt-en-de",
    ),
    "electra": ("electra", dict(hidden_size=768, embedding_size=768, num_hidden_layers=12, num_attention_heads=12,
                                intermediate_size=3072, vocab_size=30522), "google/electra-base-discriminator"),
    "deberta": ("deberta", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                intermediate_size=3072, vocab_size=50265), "microsoft/deberta-base"),
    "layoutlm": ("layoutlm", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                  intermediate_size=3072, vocab_size=30522), "microsoft/layoutlm-base-uncased"),
    "layoutlmv3": ("layoutlmv3", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                      intermediate_size=3072, vocab_size=50265, max_position_embeddings=514),
                   "microsoft/layoutlmv3-base"),
    "esm": ("esm", dict(hidden_size=320, num_hidden_layers=6, num_attention_heads=20, intermediate_size=1280,
                        vocab_size=33, position_embedding_type="rotary", pad_token_id=1), "facebook/esm2_t6_8M_UR50D"),
    "dinov2": ("dinov2", dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, mlp_ratio=4,
                              image_size=518), "facebook/dinov2-small"),
    "dinov2_with_registers": ("dinov2_with_registers", dict(hidden_size=384, num_hidden_layers=12,
                              num_attention_heads=6, mlp_ratio=4, num_register_tokens=4, image_size=518,
                              patch_size=14),
                              "facebook/dinov2-with-registers-small"),
    "wav2vec2": ("wav2vec2", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                  intermediate_size=3072, conv_dim=[512] * 7), "facebook/wav2vec2-base"),
    "hubert": ("hubert", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                              intermediate_size=3072, conv_dim=[512] * 7), "facebook/hubert-base-ls960"),
    "siglip": ("siglip", dict(text_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                               vocab_size=32000, max_position_embeddings=64),
                              vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                                 image_size=224, patch_size=16)), "google/siglip-base-patch16-224"),
    "wavlm": ("wavlm", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                            conv_dim=[512] * 7), "microsoft/wavlm-base-plus"),
    "mixtral": ("mixtral", dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                                num_key_value_heads=8, num_local_experts=8, vocab_size=32000),
                "mistralai/Mixtral-8x7B-v0.1"),
    "phimoe": ("phimoe", dict(hidden_size=4096, intermediate_size=6400, num_hidden_layers=32, num_attention_heads=32,
                              num_key_value_heads=8, num_local_experts=16, vocab_size=32064),
               "microsoft/Phi-3.5-MoE-instruct"),
    # stop 81's: a halved MLP, fused linear attention, Zamba2's Mamba-2 names, latent attention, layer kinds
    "recurrent_gemma": ("recurrent_gemma", dict(hidden_size=2560, num_hidden_layers=26, num_attention_heads=10,
                        num_key_value_heads=1, head_dim=256, lru_width=2560, intermediate_size=15360,
                        vocab_size=256000), "google/recurrentgemma-2b"),
    "qwen3_next": ("qwen3_next", dict(hidden_size=2048, num_hidden_layers=48, num_attention_heads=16,
                   num_key_value_heads=2, head_dim=256, linear_num_key_heads=16, linear_num_value_heads=32,
                   linear_key_head_dim=128, linear_value_head_dim=128, num_experts=512, moe_intermediate_size=512,
                   shared_expert_intermediate_size=512, vocab_size=151936), "Qwen/Qwen3-Next-80B-A3B-Instruct"),
    "zamba2": ("zamba2", dict(hidden_size=2560, intermediate_size=10240, num_hidden_layers=54, mamba_d_state=64,
               n_mamba_heads=80, mamba_ngroups=1, vocab_size=32000), "Zyphra/Zamba2-2.7B"),
    "glm4_moe_lite": ("glm4_moe_lite", dict(hidden_size=2048, num_hidden_layers=47, num_attention_heads=20,
                      q_lora_rank=768, kv_lora_rank=512, qk_nope_head_dim=192, qk_rope_head_dim=64, v_head_dim=256,
                      intermediate_size=10240, moe_intermediate_size=1536, n_routed_experts=64, n_shared_experts=1,
                      mlp_layer_types=["dense"] + ["sparse"] * 46, num_nextn_predict_layers=1, vocab_size=154880),
                      "zai-org/GLM-4.7-Flash"),
    "minicpm3": ("minicpm3", dict(hidden_size=2560, num_hidden_layers=62, num_attention_heads=40, q_lora_rank=768,
                 kv_lora_rank=256, qk_nope_head_dim=64, qk_rope_head_dim=32, v_head_dim=64, intermediate_size=6400,
                 vocab_size=73448), "openbmb/MiniCPM3-4B"),
    "nemotron": ("nemotron", dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=48,
                 num_key_value_heads=8, head_dim=128, intermediate_size=16384, vocab_size=256000),
                 "nvidia/Minitron-8B-Base"),
    "minimax": ("minimax", dict(hidden_size=6144, num_hidden_layers=80, num_attention_heads=64,
                num_key_value_heads=8, head_dim=128, intermediate_size=9216, num_local_experts=32,
                layer_types=(["linear_attention"] * 7 + ["full_attention"]) * 10, vocab_size=200064),
                "MiniMaxAI/MiniMax-Text-01-hf"),
}  # fmt: skip


@pytest.fixture(autouse=True)
def own_hub_cache(tmp_path, monkeypatch):
    """Each test its own huggingface_hub cache: a config one test put there is not another's."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf_cache"))


DECLARED = "someorg/wizard-chat-7b"  # a fine-tune the registry does not list


@pytest.mark.parametrize("family", CHECKED)
def test_config_sizes_are_the_registry_s_for_transformers_own_models(family):
    from transformers import AutoConfig

    model_type, kwargs, root_id = {**LLM_CONFIGS, **CONFIG_ONLY}[family]  # (each family listed has its oracle)
    root = config_root("x/y", AutoConfig.for_model(model_type, **kwargs).to_dict())
    want = roots()["_by_id"][root_id]["dims"]
    assert root is not None and root["family"] == family
    assert {d: root["dims"].get(d) for d in want} == want


def test_nothing_to_check_by_gives_no_root():
    assert config_root("x/y", {"model_type": "whisper", "d_model": 768}) is None  # a family not listed
    assert config_root("x/y", {"model_type": "llama", "hidden_size": 4096}) is None  # sizes missing
    assert config_root("x/y", {"model_type": "exaone_moe", "hidden_size": 4096}) is None  # no family here
    assert config_root("x/y", ["not", "a", "dict"]) is None


def _llama_config(**over) -> str:
    config = {
        "model_type": "llama",
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "vocab_size": 32000,
    }
    return json.dumps({**config, **over})


def _adapter(declared: str = DECLARED) -> dict:
    """A PEFT LoRA on the q and v projections of a 32-layer, 4096-wide LLaMA-style model."""
    import numpy as np

    tensors = {}
    for layer in range(32):
        for proj in ("q_proj", "v_proj"):
            key = f"base_model.model.model.layers.{layer}.self_attn.{proj}"
            tensors[f"{key}.lora_A.weight"] = np.zeros((4, 4096), np.float16)
            tensors[f"{key}.lora_B.weight"] = np.zeros((4096, 4), np.float16)
    config = {"peft_type": "LORA", "base_model_name_or_path": declared, "r": 4, "lora_alpha": 8}
    return {"adapter_model.safetensors": save(tensors), "adapter_config.json": json.dumps(config)}


@pytest.mark.parametrize(
    "config, root, base_model, conflict",
    [
        # saved by transformers from a registry root that fits: that root is the root, the declared model the base
        (_llama_config(_name_or_path="meta-llama/Llama-2-7b-hf"), "meta-llama/Llama-2-7b-hf", DECLARED, False),
        # its sizes fit and are a registry root's (Llama 2 7B's), its lineage unsaid: those roots stay the candidates
        (_llama_config(), "meta-llama/Llama-2-7b-hf", DECLARED, False),
        # its sizes fit and are no registry root's: a root of its own, checked
        (_llama_config(intermediate_size=12000, vocab_size=65000), DECLARED, DECLARED, False),
        # its config rules it out: a conflict, and no base_model
        (_llama_config(hidden_size=2048), "meta-llama/Llama-2-7b-hf", None, True),
        # its config says another architecture than the weights'
        (json.dumps({"model_type": "bert", "hidden_size": 768}), "meta-llama/Llama-2-7b-hf", None, True),
    ],
)
def test_a_hub_adapter_s_declared_base_is_checked_by_its_config(tmp_path, config, root, base_model, conflict):
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/adapter", _adapter())
    hub.add_repo(DECLARED, {"config.json": config})
    with hub.serving():
        r = inspect_source("org/adapter")
    assert r["root"]["id"] == root, r["root"]["evidence"]
    assert r["base_model"]["id"] == base_model, r["base_model"]
    assert bool(r["conflicts"]) is conflict, r["conflicts"]
    assert any(f"{DECLARED}/resolve/main/config.json" in path for _, path, _ in hub.requests)
    if base_model:
        assert "config.json" in r["base_model"]["reason"]


@pytest.mark.parametrize("family", ["granite", "olmo", "olmo2", "starcoder2"])
@pytest.mark.parametrize("wider", [False, True])
def test_a_declared_base_of_last_stop_s_families_is_checked_by_its_config(tmp_path, family, wider):
    """Granite 3, OLMo, OLMo 2 and StarCoder2 had roots but no config derivation: an adapter declaring a fine-tune
    of one the registry lacks was written on its family's word alone ("declared"), its config's sizes unread, so one
    twice as wide as the weights was written too. Its config's sizes are checked now: twice as wide, a conflict."""
    import torch
    from transformers import AutoConfig, AutoModel

    from tests.model_shapes import inspect_declaring, lora_like, module_shapes

    declared_id = "someorg/wizard-chat"  # (a name stating no size, which a registry root of it would check too)
    model_type, kwargs, _ = LLM_CONFIGS[family]
    with torch.device("meta"):
        shapes = module_shapes(AutoModel.from_config(AutoConfig.for_model(model_type, **kwargs)))
    lora = lora_like(shapes, "q_proj", "v_proj", prefix="base_model.model.model.")
    width = kwargs["hidden_size"] * (2 if wider else 1)
    declared = AutoConfig.for_model(model_type, **{**kwargs, "hidden_size": width}).to_dict()
    r = inspect_declaring(tmp_path, lora, declared_id, declared)
    assert r["family"] == family and r["base_model"]["id"] == (None if wider else declared_id), r["base_model"]
    assert bool(r["conflicts"]) is wider, r["conflicts"]


def test_without_its_config_the_declaration_stays_unchecked(tmp_path):
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/adapter", _adapter())  # the declared repo is not on this Hub: 404
    with hub.serving():
        r = inspect_source("org/adapter")
    assert r["base_model"]["id"] is None and r["base_model"]["status"] == "unchecked"
    assert not r["conflicts"]


def test_a_local_folder_reads_the_cache_and_never_the_network(tmp_path):
    from huggingface_hub import hf_hub_download

    folder = tmp_path / "adapter"
    folder.mkdir()
    for name, data in _adapter().items():
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo(DECLARED, {"config.json": _llama_config(hidden_size=2048)})
    with hub.serving():
        before = inspect_source(str(folder))  # not in the cache yet: unchecked, and nothing asked of the Hub
        assert not hub.requests
        hf_hub_download(DECLARED, "config.json")  # as loading the base model once would have put it there
        hub.requests.clear()
        after = inspect_source(str(folder))
        assert not hub.requests
    assert before["base_model"]["status"] == "unchecked" and not before["conflicts"]
    assert after["base_model"]["status"] == "contradicted"
    assert f"{DECLARED}'s config.json" in " ".join(after["root"]["evidence"])


def test_a_declared_id_is_looked_up_only_as_a_hub_id(tmp_path):
    from hfprobe.tree.classify import classify

    asked = []
    shapes = {f"model.layers.{i}.self_attn.q_proj": (4096, 4096) for i in range(32)}
    for value in ("../../etc/passwd", "someorg/x/../y", "/abs/path", DECLARED):
        classify(shapes, config={"base_model_name_or_path": value, "peft_type": "LORA"}, base_config=asked.append)
    assert asked == [DECLARED]


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"HF_HOME": "/tmp/x-home"},
        {"XDG_CACHE_HOME": "/tmp/x-xdg"},
        {"HF_HOME": "~/h", "XDG_CACHE_HOME": "/tmp/x-xdg"},
        {"HUGGINGFACE_HUB_CACHE": "/tmp/x-legacy"},
        {"HF_HUB_CACHE": "/tmp/x-cache", "HF_HOME": "/tmp/x-home"},
    ],
)
def test_the_cache_folder_is_the_one_huggingface_hub_works_out(env):
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if k not in ("HF_HOME", "HF_HUB_CACHE", "XDG_CACHE_HOME")}
    clean = {**clean, **env}

    def ask(code):
        return subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True)

    ours = ask("import sys; from hfprobe.source.hub import hub_cache_dir; p = hub_cache_dir(); "
               "print(p, 'huggingface_hub' in sys.modules)").stdout.split()  # fmt: skip
    theirs = ask("from huggingface_hub import constants; print(constants.HF_HUB_CACHE)").stdout.strip()
    assert ours == [os.path.expanduser(theirs), "False"]


def test_a_hub_that_does_not_answer_for_the_config_costs_one_try(tmp_path, monkeypatch):
    import time

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 1)
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 1)
    monkeypatch.setenv("HFPROBE_HUB_RETRIES", "4")  # what the weights' reads would retry: not this optional one
    monkeypatch.setenv("HFPROBE_HUB_BACKOFF", "0.05")
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/adapter", _adapter())
    hub.add_repo(DECLARED, {"config.json": _llama_config()})
    hub.fault = lambda req, method, path: DECLARED in path and (hub.closing.wait(30) or True)  # never answers
    with hub.serving():
        start = time.monotonic()
        r = inspect_source("org/adapter")
        took = time.monotonic() - start
    assert r["base_model"]["status"] == "unchecked"
    assert took < 3.5, took  # one 1 s try (five would take 5 s and more)
    assert sum(path.endswith("config.json") for _, path, _ in hub.requests if DECLARED in path) == 1


def _card(base) -> str:
    return f"---\nbase_model: {json.dumps(base)}\n---\n# a fine-tune\n"


@pytest.mark.parametrize(
    "cards, root, lineage",
    [
        # its card names a registry root the weights fit: that is the root (the config's `_name_or_path` is a path)
        ({DECLARED: _card("meta-llama/Llama-2-7b-chat-hf")}, "meta-llama/Llama-2-7b-chat-hf", True),
        # through a fine-tune the registry lacks, whose own card names the root (a list of one, as cards write it)
        (
            {DECLARED: _card("someorg/mid-tune"), "someorg/mid-tune": _card(["meta-llama/Llama-2-7b-chat-hf"])},
            "meta-llama/Llama-2-7b-chat-hf",
            True,
        ),
        # a root the weights rule out (13B's sizes): not followed; the roots rank as without it
        ({DECLARED: _card("meta-llama/Llama-2-13b-hf")}, "meta-llama/Llama-2-7b-hf", False),
        # a root the weights fit, of another family than its config's (Qwen1.5-7B has LLaMA-7B's q and v): not followed
        ({DECLARED: _card("Qwen/Qwen1.5-7B")}, "meta-llama/Llama-2-7b-hf", False),
        # a merge's several bases, a loop, a card that names nothing: no lineage
        (
            {DECLARED: _card(["meta-llama/Llama-2-7b-chat-hf", "lmsys/vicuna-7b-v1.5"])},
            "meta-llama/Llama-2-7b-hf",
            False,
        ),
        ({DECLARED: _card("someorg/b"), "someorg/b": _card(DECLARED)}, "meta-llama/Llama-2-7b-hf", False),
        ({DECLARED: "# no metadata"}, "meta-llama/Llama-2-7b-hf", False),
        # more cards than are followed before a root
        (
            {
                DECLARED: _card("o/a"),
                "o/a": _card("o/b"),
                "o/b": _card("o/c"),
                "o/c": _card("meta-llama/Llama-2-7b-chat-hf"),
            },
            "meta-llama/Llama-2-7b-hf",
            False,
        ),
    ],
)
def test_a_declared_fine_tune_s_card_leads_to_its_root(tmp_path, cards, root, lineage):
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/adapter", _adapter())
    hub.add_repo(DECLARED, {"config.json": _llama_config(_name_or_path="/workspace/out")})
    for repo, card in cards.items():
        files = {"README.md": card}
        if repo == DECLARED:
            files["config.json"] = _llama_config(_name_or_path="/workspace/out")
        hub.add_repo(repo, files)
    with hub.serving():
        r = inspect_source("org/adapter")
    assert r["root"]["id"] == root, r["root"]["evidence"]
    assert r["base_model"]["id"] == DECLARED and not r["conflicts"], r["base_model"]
    said = " ".join(r["root"]["evidence"])
    assert ("by the model cards" in said) is lineage, said
    assert ("card's base_model leads to" in r["base_model"]["reason"]) is lineage, r["base_model"]


def test_a_declared_fine_tune_s_card_downloads_while_its_config_does(tmp_path):
    """Two round trips, not four: the card the lineage reads next is asked for before the config has come."""
    import threading

    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/adapter", _adapter())
    card = _card("meta-llama/Llama-2-7b-chat-hf")
    hub.add_repo(DECLARED, {"config.json": _llama_config(_name_or_path="/workspace/out"), "README.md": card})
    card_asked, overlapped = threading.Event(), []

    def fault(req, method, path):
        if path.endswith(f"{DECLARED}/resolve/main/README.md"):
            card_asked.set()
        elif path.endswith(f"{DECLARED}/resolve/main/config.json") and not overlapped:
            overlapped.append(card_asked.wait(3))  # the config's first reply waits for the card's request
        return False

    hub.fault = fault
    with hub.serving():
        r = inspect_source("org/adapter")
    assert overlapped == [True]
    assert r["root"]["id"] == "meta-llama/Llama-2-7b-chat-hf" and r["base_model"]["id"] == DECLARED, r["base_model"]
    assert sum(path.endswith(f"{DECLARED}/resolve/main/README.md") and m == "GET" for m, path, _ in hub.requests) == 1


@pytest.mark.parametrize(
    "vision, fits", [(dict(hidden_size=768, patch_size=32), True), (dict(hidden_size=1024), False)]
)
def test_a_clip_s_declared_base_is_checked_by_its_towers_configs(tmp_path, vision, fits):
    """A CLIP's sizes are in its `text_config` and `vision_config` (`towers` in config_dims.json)."""
    import numpy as np
    from transformers import AutoConfig

    tensors = {}
    for tower, width in (("text_model", 512), ("vision_model", 768)):  # a LoRA on CLIP ViT-B/32's q and v
        for layer in range(12):
            for proj in ("q_proj", "v_proj"):
                key = f"base_model.model.{tower}.encoder.layers.{layer}.self_attn.{proj}"
                tensors[f"{key}.lora_A.weight"] = np.zeros((4, width), np.float16)
                tensors[f"{key}.lora_B.weight"] = np.zeros((width, 4), np.float16)
    adapter = {"peft_type": "LORA", "base_model_name_or_path": DECLARED, "r": 4, "lora_alpha": 8}
    vision = dict(vision, intermediate_size=4 * vision["hidden_size"], num_attention_heads=vision["hidden_size"] // 64)
    text = dict(hidden_size=512, intermediate_size=2048, num_attention_heads=8)
    config = AutoConfig.for_model("clip", text_config=text, vision_config=vision).to_dict()
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo(
        "org/adapter", {"adapter_model.safetensors": save(tensors), "adapter_config.json": json.dumps(adapter)}
    )
    hub.add_repo(DECLARED, {"config.json": json.dumps(config)})
    with hub.serving():
        r = inspect_source("org/adapter")
    assert r["family"] == "clip", r["root"]["evidence"]
    assert r["base_model"]["id"] == (DECLARED if fits else None), r["base_model"]
    assert bool(r["conflicts"]) is not bool(fits) and (fits or "[1024]x[1024]" in r["conflicts"][0]), r["conflicts"]

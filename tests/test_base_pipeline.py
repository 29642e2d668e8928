"""A declared diffusers pipeline the registry lacks, checked by its own configs (hfprobe/tree/base_config.py,
`Source.base_config`): model_index.json and its parts' config.json give the registry's own sizes for the
registry's roots as diffusers builds them, and a LoRA on such a model is fitted to them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save

from hfprobe.tree.base_config import _table, config_root
from hfprobe.tree.inspect import inspect_source
from hfprobe.tree.registry import roots
from tests.fakehub import FakeHub


@pytest.fixture(autouse=True)
def own_hub_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf_cache"))


_DOWN = "CrossAttnDownBlock2D"
_UP = "CrossAttnUpBlock2D"
# the published configs of the registry's roots (the fields that set their sizes; diffusers fills the rest)
SD15 = {
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "cross_attention_dim": 768,
    "down_block_types": [_DOWN, _DOWN, _DOWN, "DownBlock2D"],
    "up_block_types": ["UpBlock2D", _UP, _UP, _UP],
    "in_channels": 4,
    "layers_per_block": 2,
}
SD21 = {**SD15, "attention_head_dim": [5, 10, 20, 20], "cross_attention_dim": 1024, "use_linear_projection": True}
SDXL = {
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "attention_head_dim": [5, 10, 20],
    "block_out_channels": [320, 640, 1280],
    "cross_attention_dim": 2048,
    "down_block_types": ["DownBlock2D", _DOWN, _DOWN],
    "up_block_types": [_UP, _UP, "UpBlock2D"],
    "in_channels": 4,
    "layers_per_block": 2,
    "projection_class_embeddings_input_dim": 2816,
    "transformer_layers_per_block": [1, 2, 10],
    "use_linear_projection": True,
}
REFINER = {
    **SDXL,
    "attention_head_dim": [6, 12, 24, 24],
    "block_out_channels": [384, 768, 1536, 1536],
    "cross_attention_dim": 1280,
    "down_block_types": ["DownBlock2D", _DOWN, _DOWN, "DownBlock2D"],
    "up_block_types": ["UpBlock2D", _UP, _UP, "UpBlock2D"],
    "projection_class_embeddings_input_dim": 2560,
    "transformer_layers_per_block": 4,
}
FLUX = {
    "attention_head_dim": 128,
    "guidance_embeds": True,
    "in_channels": 64,
    "joint_attention_dim": 4096,
    "num_attention_heads": 24,
    "num_layers": 19,
    "num_single_layers": 38,
    "pooled_projection_dim": 768,
}
SD3 = {
    "attention_head_dim": 64,
    "caption_projection_dim": 1536,
    "in_channels": 16,
    "joint_attention_dim": 4096,
    "num_attention_heads": 24,
    "num_layers": 24,
    "pooled_projection_dim": 2048,
}
SD35M = {**SD3, "dual_attention_layers": list(range(13)), "qk_norm": "rms_norm", "pos_embed_max_size": 384}
SD35L = {**SD3, "num_attention_heads": 38, "num_layers": 38, "caption_projection_dim": 2432, "qk_norm": "rms_norm"}
CLIP_L, CLIP_H, CLIP_G = 768, 1024, 1280  # the text encoders' widths

PIPELINES = {  # registry root -> (denoiser part, its class, its config, {text encoder part: width})
    "stable-diffusion-v1-5/stable-diffusion-v1-5": ("unet", "UNet2DConditionModel", SD15, {"text_encoder": CLIP_L}),
    "CompVis/stable-diffusion-v1-4": ("unet", "UNet2DConditionModel", SD15, {"text_encoder": CLIP_L}),
    "stable-diffusion-v1-5/stable-diffusion-inpainting": (
        "unet",
        "UNet2DConditionModel",
        {**SD15, "in_channels": 9},
        {"text_encoder": CLIP_L},
    ),
    "stabilityai/stable-diffusion-2-1": ("unet", "UNet2DConditionModel", SD21, {"text_encoder": CLIP_H}),
    "stabilityai/stable-diffusion-xl-base-1.0": (
        "unet",
        "UNet2DConditionModel",
        SDXL,
        {"text_encoder": CLIP_L, "text_encoder_2": CLIP_G},
    ),
    "stabilityai/stable-diffusion-xl-refiner-1.0": (
        "unet",
        "UNet2DConditionModel",
        REFINER,
        {"text_encoder_2": CLIP_G},
    ),
    "black-forest-labs/FLUX.1-dev": ("transformer", "FluxTransformer2DModel", FLUX, {"text_encoder": CLIP_L}),
    "stabilityai/stable-diffusion-3-medium-diffusers": ("transformer", "SD3Transformer2DModel", SD3, {}),
    "stabilityai/stable-diffusion-3.5-medium": ("transformer", "SD3Transformer2DModel", SD35M, {}),
    "stabilityai/stable-diffusion-3.5-large": ("transformer", "SD3Transformer2DModel", SD35L, {}),
}


def _built(cls_name: str, config: dict):
    """The denoiser diffusers builds from `config` (on the meta device: shapes, no memory)."""
    import diffusers
    import torch

    with torch.device("meta"):
        return getattr(diffusers, cls_name).from_config(config)


def _pipeline(root_id: str, **over) -> tuple[dict, object]:
    """(model_index.json with its parts' configs in place, as `Source.base_config` gives it; the built denoiser)."""
    part, cls_name, config, encoders = PIPELINES[root_id]
    model = _built(cls_name, {**config, **over})
    full = {**dict(model.config), "_class_name": cls_name}
    full.pop("_use_default_values", None)
    index = {"_class_name": "DiffusionPipeline", part: full}
    for name, width in encoders.items():
        index[name] = {"model_type": "clip_text_model", "hidden_size": width}
    return index, model


@pytest.mark.parametrize("root_id", sorted(PIPELINES))
def test_pipeline_sizes_are_the_registry_s_for_diffusers_own_models(root_id):
    index, _ = _pipeline(root_id)
    registry = roots()["_by_id"][root_id]
    root = config_root("x/y", index)
    assert root is not None and root["family"] == registry["family"] in _table()["diffusers"]["families"]
    assert root["dims"] == registry["dims"]


def _lora_files(model, part: str, readme: str) -> dict:
    """A PEFT-style diffusers LoRA (rank 4) on every attention projection of the built denoiser, and a card."""
    tensors = {}
    for name, module in model.named_modules():
        if type(module).__name__ == "Linear" and name.rsplit(".", 1)[-1] in ("to_q", "to_k", "to_v"):
            key = f"{part}.{name}"
            tensors[f"{key}.lora_A.weight"] = np.zeros((4, module.in_features), np.float16)
            tensors[f"{key}.lora_B.weight"] = np.zeros((module.out_features, 4), np.float16)
    return {"pytorch_lora_weights.safetensors": save(tensors), "README.md": readme}


def _declared_repo(index: dict) -> dict:
    """A pipeline repo's files: model_index.json naming its parts, and each part's config.json."""
    files = {"model_index.json": json.dumps({k: v if k.startswith("_") else ["lib", "Cls"] for k, v in index.items()})}
    files.update({f"{k}/config.json": json.dumps(v) for k, v in index.items() if not k.startswith("_")})
    return files


DECLARED = "someorg/anime-mix-v3"  # a community checkpoint the registry does not list
CARD = f"---\nbase_model: {DECLARED}\n---\n# a LoRA\n"


SD15_ID = "stable-diffusion-v1-5/stable-diffusion-v1-5"


@pytest.mark.parametrize(
    "weights, declared, over, root, base_model, conflict",
    [
        # an SD 1.5 fine-tune: a registry root's sizes, so those roots stay the candidates; it is the base_model
        (SD15_ID, "CompVis/stable-diffusion-v1-4", {}, "sd1", DECLARED, False),
        # saved from SD 1.5 (model_index.json's `_name_or_path`, an alias of the root): that is the root
        (
            SD15_ID,
            "CompVis/stable-diffusion-v1-4",
            {"_name_or_path": "runwayml/stable-diffusion-v1-5"},
            SD15_ID,
            DECLARED,
            False,
        ),
        # an SDXL checkpoint declared for an SD 1.5 LoRA: its sizes rule it out
        (SD15_ID, "stabilityai/stable-diffusion-xl-base-1.0", {}, "sd1", None, True),
        # an SD 2.1 checkpoint: the same UNet class, another context width
        (SD15_ID, "stabilityai/stable-diffusion-2-1", {}, "sd1", None, True),
        # a Flux fine-tune declared for a Flux LoRA
        ("black-forest-labs/FLUX.1-dev", "black-forest-labs/FLUX.1-dev", {}, "flux", DECLARED, False),
    ],
)
def test_a_hub_lora_s_declared_pipeline_is_checked_by_its_configs(
    tmp_path, weights, declared, over, root, base_model, conflict
):
    part, *_ = PIPELINES[weights]
    _, model = _pipeline(weights)
    index, _ = _pipeline(declared)
    index.update(over)
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/lora", _lora_files(model, part, CARD))
    hub.add_repo(DECLARED, _declared_repo(index))
    with hub.serving():
        r = inspect_source("org/lora")
    got_root = r["root"]["id"] if "/" in root else roots()["_by_id"][r["root"]["id"]]["family"]
    assert got_root == root, r["root"]["evidence"]  # (where no one root is known: a registry root of the family)
    assert r["base_model"]["id"] == base_model, r["base_model"]
    assert bool(r["conflicts"]) is conflict, r["conflicts"]
    if conflict:
        assert any(f"{DECLARED} (" in c and "by its model_index.json" in c for c in r["conflicts"]), r["conflicts"]
    else:
        assert "its model_index.json's sizes fit" in r["base_model"]["reason"], r["base_model"]
    assert r["root"]["id"] != DECLARED  # a registry root's sizes: never a root of its own


def test_a_pipeline_in_sizes_no_registry_root_has_is_a_root_of_its_own(tmp_path):
    """A Flux with fewer single blocks (a distilled one): the weights of a LoRA on it fit it, and no registry root."""
    index, model = _pipeline("black-forest-labs/FLUX.1-dev", num_single_layers=20)
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/lora", _lora_files(model, "transformer", CARD))
    hub.add_repo(DECLARED, _declared_repo(index))
    with hub.serving():
        r = inspect_source("org/lora")
    assert r["root"]["id"] == DECLARED and r["base_model"]["id"] == DECLARED, r["root"]
    assert not r["conflicts"]


@pytest.mark.parametrize(
    "card, root, base_model",
    [
        ("a single-file checkpoint", None, None),  # a card that names nothing: unchecked
        # its card names SD 1.5, which the weights fit: that root, the declared model the base_model
        ("---\nbase_model: runwayml/stable-diffusion-v1-5\n---\n", SD15_ID, DECLARED),
        # its card names SDXL, which the weights rule out: not followed
        ("---\nbase_model: stabilityai/stable-diffusion-xl-base-1.0\n---\n", None, None),
    ],
)
def test_a_single_file_checkpoint_s_repo_is_traced_by_its_card_alone(tmp_path, card, root, base_model):
    """A repo with neither config.json nor model_index.json (a single-file checkpoint, as community fine-tunes are
    often published): config.json, model_index.json and its card are asked for, and nothing else."""
    _, model = _pipeline(SD15_ID)
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/lora", _lora_files(model, "unet", CARD))
    hub.add_repo(DECLARED, {"README.md": card, "model.safetensors": b"\0" * 16})
    with hub.serving():
        r = inspect_source("org/lora")
    asked = {
        path.split("/resolve/main/")[-1] for _, path, _ in hub.requests if DECLARED in path and "/resolve/" in path
    }
    assert asked == {"config.json", "model_index.json", "README.md"}
    assert r["base_model"]["id"] == base_model and not r["conflicts"], r["base_model"]
    if root:
        assert r["root"]["id"] == root and "its own sizes unread" in r["base_model"]["reason"], r["base_model"]
    else:
        assert r["base_model"]["status"] == "unchecked"


def test_a_local_folder_reads_a_loaded_pipeline_s_configs_from_the_cache(tmp_path):
    from huggingface_hub import hf_hub_download

    _, model = _pipeline("stable-diffusion-v1-5/stable-diffusion-v1-5")
    folder = tmp_path / "lora"
    folder.mkdir()
    for name, data in _lora_files(model, "unet", CARD).items():
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    index, _ = _pipeline("stabilityai/stable-diffusion-2-1")
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo(DECLARED, _declared_repo(index))
    with hub.serving():
        before = inspect_source(str(folder))  # not in the cache: unchecked, and nothing asked of the Hub
        for name in ("model_index.json", "unet/config.json", "text_encoder/config.json"):
            hf_hub_download(DECLARED, name)  # as loading the pipeline once puts them there
        hub.requests.clear()
        after = inspect_source(str(folder))
        assert not hub.requests
    assert before["base_model"]["status"] == "unchecked" and not before["conflicts"]
    assert after["base_model"]["id"] is None and after["conflicts"], after["base_model"]


@pytest.mark.parametrize(
    "config",
    [
        {
            "_class_name": "DiffusionPipeline",
            "unet": {"_class_name": "UNet2DConditionModel", "block_out_channels": "x"},
        },
        {"unet": {"_class_name": "UNet2DConditionModel", "block_out_channels": [320, -1], "down_block_types": [1, 2]}},
        {"unet": {"_class_name": "UNet2DConditionModel", "transformer_layers_per_block": [[1, 2]], "in_channels": 4}},
        {
            "transformer": {
                "_class_name": "FluxTransformer2DModel",
                "num_attention_heads": True,
                "attention_head_dim": 2,
            }
        },
        {"transformer": {**FLUX, "_class_name": "FluxTransformer2DModel", "num_attention_heads": -24}},
        {"unet": {**SD15, "_class_name": "UNet2DConditionModel", "transformer_layers_per_block": -1}},
        {"transformer": {"_class_name": "SD3Transformer2DModel", "dual_attention_layers": "all"}, "text_encoder": []},
        {"model_type": "wav2vec2", "hidden_size": 768, "conv_dim": [512, -3], "mlp_ratio": "4"},
        {"model_type": "dinov2", "hidden_size": 384, "mlp_ratio": 2.5e308},
    ],
)
def test_a_malformed_config_is_nothing_to_check_by(config):
    """A declared model's config is a remote user's file: odd values give no root (or sizes no root has), never an
    exception."""
    root = config_root("x/y", config)
    assert root is None or all(isinstance(v, int) and v > 0 or isinstance(v, list) for v in root["dims"].values()), root

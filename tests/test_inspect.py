"""`inspect` end to end on files written by the real libraries: report fields, declared metadata,
conflicts, several sources on the command line, a Hub-like server with and without Range, bad input.

The models have the real widths of their roots (so root matching is exercised) but only a block or
two, built on the meta device and materialised uninitialised: only the small LoRA tensors get values.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.cli import main
from hfprobe.errors import HfprobeError, NoWeightsError
from hfprobe.tree.inspect import format_report, inspect_source
from tests.fakehub import FakeHub

torch.set_num_threads(1)

FIELDS = {
    "source",
    "format",
    "family",
    "root",
    "declared",
    "conflicts",
    "modules",
    "rank",
    "bytes_read",
    "range_ignored",
    "kind",
    "files",
    "family_confidence",
}


@pytest.fixture(scope="session")
def sd1_lora(tmp_path_factory):
    """A diffusers LoRA saved by `save_lora_weights` on a 2-block UNet with SD 1.x widths (320/640, ctx 768)."""
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    with torch.device("meta"):
        unet = UNet2DConditionModel(
            block_out_channels=(320, 640),
            layers_per_block=1,
            cross_attention_dim=768,
            attention_head_dim=8,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        )
    unet = unet.to_empty(device="cpu")
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    for name, p in unet.named_parameters():  # uninitialised memory may hold NaN; LoRA tensors get real values
        if "lora" in name:
            torch.nn.init.normal_(p.data, std=0.01)
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    folder = tmp_path_factory.mktemp("sd1-lora")
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=layers)
    return folder


@pytest.fixture(scope="session")
def gpt2_adapter(tmp_path_factory):
    """A PEFT adapter saved by `save_pretrained` on a 2-layer GPT-2 with GPT-2 small's width (768)."""
    from peft import LoraConfig, get_peft_model
    from transformers import GPT2Config, GPT2LMHeadModel

    with torch.device("meta"):
        model = GPT2LMHeadModel(GPT2Config(n_layer=2, vocab_size=64, n_positions=32))
    model = model.to_empty(device="cpu")
    model = get_peft_model(model, LoraConfig(r=8, target_modules=["c_attn"], fan_in_fan_out=True))
    for name, p in model.named_parameters():
        if "lora" in name:
            torch.nn.init.normal_(p.data, std=0.01)
    folder = tmp_path_factory.mktemp("gpt2-adapter")
    model.save_pretrained(folder)
    cfg = json.loads((folder / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "gpt2"
    (folder / "adapter_config.json").write_text(json.dumps(cfg))
    return folder


def test_diffusers_lora_report(sd1_lora):
    report = inspect_source(str(sd1_lora))
    assert FIELDS <= set(report)
    assert report["format"] == "diffusers-lora" and report["kind"] == "adapter"
    assert report["family"] == "sd1" and report["rank"] == 4 and report["modules"] > 0
    root = report["root"]
    assert root["id"] == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert len(root["candidates"]) >= 2 and root["confidence"] < 0.9  # 1.4 and 1.5 share every shape
    assert sum(c["score"] for c in root["candidates"]) <= 1.0
    assert any("768" in e for e in root["evidence"])
    assert report["conflicts"] == [] and report["range_ignored"] is False
    size = sum(p.stat().st_size for p in sd1_lora.glob("*.safetensors"))
    assert 0 < report["bytes_read"] < size  # headers only
    json.dumps(report)  # plain JSON all the way down
    assert "sd1" in format_report(report)


def test_card_claiming_sdxl_on_sd1_weights_is_a_conflict(sd1_lora, tmp_path):
    folder = tmp_path / "lora"
    folder.mkdir()
    (folder / "pytorch_lora_weights.safetensors").write_bytes(
        (sd1_lora / "pytorch_lora_weights.safetensors").read_bytes()
    )
    (folder / "README.md").write_text("---\nbase_model: stabilityai/stable-diffusion-xl-base-1.0\n---\n# my lora\n")
    report = inspect_source(str(folder))
    assert report["family"] == "sd1"
    assert report["declared"]["README.md base_model"] == "stabilityai/stable-diffusion-xl-base-1.0"
    assert report["declared"]["agrees"] is False
    assert any("README.md base_model" in c and "Stable Diffusion XL" in c and "768" in c for c in report["conflicts"])


def test_kohya_header_claims_are_read(sd1_lora, tmp_path):
    from diffusers.utils import convert_state_dict_to_kohya
    from safetensors.torch import load_file

    state = load_file(sd1_lora / "pytorch_lora_weights.safetensors")
    peft_style = {k.replace(".lora.down.", ".lora_A.").replace(".lora.up.", ".lora_B."): v for k, v in state.items()}
    kohya = convert_state_dict_to_kohya(peft_style)
    path = tmp_path / "kohya.safetensors"
    save_file(kohya, path, metadata={"ss_base_model_version": "sdxl_base_v1-0", "ss_network_dim": "4"})
    report = inspect_source(str(path))
    assert report["format"] == "kohya" and report["family"] == "sd1"
    assert report["declared"]["header ss_base_model_version"] == "sdxl_base_v1-0"
    assert any("ss_base_model_version" in c for c in report["conflicts"])


def test_peft_adapter_report(gpt2_adapter):
    report = inspect_source(str(gpt2_adapter))
    assert report["format"] == "peft" and report["family"] == "gpt2" and report["rank"] == 8
    assert report["root"]["id"] == "openai-community/gpt2"
    assert report["declared"]["adapter_config.json base_model_name_or_path"] == "gpt2"
    assert report["conflicts"] == []


def test_peft_local_base_path_is_no_claim(gpt2_adapter, tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    for f in gpt2_adapter.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((folder / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "/home/me/models/gpt2"
    (folder / "adapter_config.json").write_text(json.dumps(cfg))
    report = inspect_source(str(folder))
    assert report["family"] == "gpt2" and "agrees" not in report["declared"]
    assert "local path" in report["declared"]["ignored"]["adapter_config.json base_model_name_or_path"]


def test_cli_several_sources_one_json_per_line(sd1_lora, gpt2_adapter, capsys):
    assert main(["inspect", "--json", str(sd1_lora), str(gpt2_adapter)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)["family"] for line in lines] == ["sd1", "gpt2"]


def test_cli_human_report_and_bad_source(sd1_lora, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["inspect", str(sd1_lora), str(empty)]) == 1  # a batch with a failed item
    out, err = capsys.readouterr()
    assert "stable-diffusion-v1-5/stable-diffusion-v1-5" in out
    assert err.count("\n") == 1 and err.startswith("hfprobe: error:") and "Traceback" not in err


@pytest.mark.parametrize("bad", [b"", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}....", b"\x00" * 7])
def test_bad_files_are_typed_errors(tmp_path, bad):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(bad)
    with pytest.raises(HfprobeError):
        inspect_source(str(path))


def test_folder_without_weights(tmp_path):
    (tmp_path / "README.md").write_text("hi")
    with pytest.raises(NoWeightsError):
        inspect_source(str(tmp_path))


@pytest.mark.parametrize("honour_range", [True, False])
def test_over_http_reads_headers_only_or_says_range_was_ignored(sd1_lora, tmp_path, honour_range):
    hub = FakeHub(tmp_path / "hub")
    weights = (sd1_lora / "pytorch_lora_weights.safetensors").read_bytes()
    hub.add_repo(
        "someone/sd-lora",
        {
            "pytorch_lora_weights.safetensors": weights,
            "README.md": "---\nbase_model: runwayml/stable-diffusion-v1-5\n---\n",
        },
    )
    hub.honour_range = honour_range
    with hub.serving():
        report = inspect_source("someone/sd-lora")
    assert report["family"] == "sd1" and report["root"]["id"] == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert report["declared"]["agrees"] is True and report["source"].startswith("someone/sd-lora")
    assert report["range_ignored"] is (not honour_range)
    if honour_range:
        assert report["bytes_read"] < len(weights) / 2
    else:
        assert report["bytes_read"] >= len(weights)


@pytest.mark.parametrize(
    "tensors,family,top",
    [
        ({"<cat-toy>": (768,)}, "sd1", "stable-diffusion-v1-5/stable-diffusion-v1-5"),  # CLIP-L width: SDXL's te1 too
        ({"emb_params": (4, 1024)}, "sd2", None),  # OpenCLIP-H width
        ({"clip_l": (2, 768), "clip_g": (2, 1280)}, "sdxl", "stabilityai/stable-diffusion-xl-base-1.0"),
    ],
)
def test_textual_inversion_family_from_embedding_width(tmp_path, tensors, family, top):
    save_file({k: torch.randn(*shape) for k, shape in tensors.items()}, tmp_path / "learned_embeds.safetensors")
    report = inspect_source(str(tmp_path))
    assert report["format"] == "textual-inversion" and report["kind"] == "embedding"
    assert report["family"] == family and (top is None or report["root"]["id"] == top)
    if "<cat-toy>" in tensors:  # honest: a 768-wide token also fits SDXL's first text encoder
        assert "stabilityai/stable-diffusion-xl-base-1.0" in [c["id"] for c in report["root"]["candidates"]]


def test_transformers_checkpoint_with_config(tmp_path):
    from transformers import BertConfig, BertModel

    config = BertConfig(
        hidden_size=384, num_hidden_layers=2, num_attention_heads=12, intermediate_size=1536, vocab_size=1000
    )  # all-MiniLM-L6-v2's widths, fewer layers and words
    with torch.device("meta"):
        model = BertModel(config)
    model = model.to_empty(device="cpu")
    for p in model.parameters():
        p.data.zero_()
    model.save_pretrained(tmp_path)
    report = inspect_source(str(tmp_path))
    assert report["format"] == "transformers-checkpoint" and report["kind"] == "checkpoint"
    assert report["family"] == "bert" and report["root"]["id"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert report["declared"]["config.json model_type"] == "bert" and report["rank"] is None

"""`inspect` end to end on files written by the real libraries: report fields, declared metadata,
conflicts, several sources on the command line, a Hub-like server with and without Range, bad input.

The models have the real widths of their roots (so root matching is exercised) but only a block or
two, built on the meta device and materialised uninitialised: only the small LoRA tensors get values.
"""

from __future__ import annotations

import json
import posixpath

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


def lora_copy(sd1_lora, tmp_path):
    """A folder of its own holding the SD 1.x LoRA's weights file and nothing else."""
    folder = tmp_path / "lora"
    folder.mkdir()
    (folder / "pytorch_lora_weights.safetensors").write_bytes(
        (sd1_lora / "pytorch_lora_weights.safetensors").read_bytes()
    )
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


def test_the_text_report_says_declared_counts_and_ignored_fields_in_words(sd1_lora, tmp_path):
    folder = lora_copy(sd1_lora, tmp_path)
    (folder / "README.md").write_text(
        "LoRA weights for runwayml/stable-diffusion-v1-5, tried on CompVis/stable-diffusion-v1-4"
    )
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": None}))
    report = inspect_source(str(folder))
    counts = report["declared"]["README.md mentions"]
    assert set(counts) == {"sd1"}  # the JSON keeps its structure: family -> count
    text = format_report(report)
    assert f"declared README.md mentions: sd1 x{counts['sd1']}" in text
    assert "declared ignored: adapter_config.json base_model_name_or_path: null (no claim)" in text
    assert "{" not in text


@pytest.mark.parametrize("bom", ["", "\ufeff"])  # an editor's byte-order mark before the metadata hides nothing
def test_card_claiming_sdxl_on_sd1_weights_is_a_conflict(sd1_lora, tmp_path, bom):
    folder = lora_copy(sd1_lora, tmp_path)
    card = bom + "---\nbase_model: stabilityai/stable-diffusion-xl-base-1.0\n---\n# my lora\n"
    (folder / "README.md").write_text(card, encoding="utf-8")
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


def test_companion_files_saved_with_a_byte_order_mark_are_read(gpt2_adapter, tmp_path):
    """An editor's UTF-8 byte-order mark (Notepad, PowerShell's redirection) before a JSON config: json.loads refuses
    the text, and the declaration and the alpha were lost. It means nothing in a companion file and is left out. A
    UTF-16 mark (PowerShell 5's `>`, older Notepad's "Unicode") says how to read the file."""
    from hfprobe.formats import open_weights
    from hfprobe.source import resolve

    folder = tmp_path / "bom"
    folder.mkdir()
    for f in gpt2_adapter.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((gpt2_adapter / "adapter_config.json").read_text())
    text = json.dumps({**cfg, "lora_alpha": 32})
    (folder / "adapter_config.json").write_bytes(b"\xef\xbb\xbf" + text.encode())
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}
    (folder / "config.json").write_bytes(json.dumps(config).encode("utf-16"))
    report = inspect_source(str(folder))
    assert report["declared"]["adapter_config.json base_model_name_or_path"] == "gpt2"
    assert report["root"]["id"] == "openai-community/gpt2" and report["conflicts"] == []
    assert json.loads(resolve(str(folder)).read_text("config.json")) == config  # UTF-16, as its mark says
    view = open_weights(resolve(str(folder)))
    module = next(iter(view.modules.values()))
    assert module.alpha == 32  # read from the config, not the default


def test_a_config_that_is_no_json_is_said_not_ignored(gpt2_adapter, tmp_path, capsys):
    """A hand-edited adapter_config.json with a trailing comma is no JSON: it was read without a word, so the base
    model it names and its alpha went missing and the report looked as if there were none. It still is read without
    (PEFT cannot load it either), and the report says so: `unreadable`, and an UNREAD line in the text output."""
    folder = tmp_path / "comma"
    folder.mkdir()
    for f in gpt2_adapter.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    text = (gpt2_adapter / "adapter_config.json").read_text().rstrip().removesuffix("}") + ",\n}"
    (folder / "adapter_config.json").write_text(text)
    report = inspect_source(str(folder))
    assert "adapter_config.json base_model_name_or_path" not in report["declared"]
    (said,) = report["unreadable"]
    assert said.startswith("adapter_config.json is not valid JSON (") and "line " in said, said
    assert main(["inspect", str(folder)]) == 0
    assert "  UNREAD   adapter_config.json is not valid JSON" in capsys.readouterr().out
    assert inspect_source(str(gpt2_adapter))["unreadable"] == []
    from hfprobe.cards.card import update_card

    text = update_card(None, report, today="2026-12-05").text  # the card says what its maintainer can fix
    assert "**Not read:** adapter_config.json is not valid JSON (" in text


def test_peft_local_base_path_is_no_claim_unless_named_after_a_root(gpt2_adapter, tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    for f in gpt2_adapter.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((folder / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "/home/me/models/my-gpt"
    (folder / "adapter_config.json").write_text(json.dumps(cfg))
    report = inspect_source(str(folder))
    assert report["family"] == "gpt2" and "adapter_config.json base_model_name_or_path" not in report["declared"]
    assert "local path" in report["declared"]["ignored"]["adapter_config.json base_model_name_or_path"]
    assert report["declared"]["adapter_config.json auto_mapping model_type"] == "gpt2"  # PEFT's record of the class
    cfg["base_model_name_or_path"] = "/home/me/models/gpt2"  # a local copy of the root, by its repo name
    (folder / "adapter_config.json").write_text(json.dumps(cfg))
    report = inspect_source(str(folder))
    assert report["declared"]["agrees"] is True and report["base_model"]["root"] == "openai-community/gpt2"


def test_config_json_beside_an_adapter_declares_the_model_it_was_loaded_as(gpt2_adapter, tmp_path):
    """A training script that saves the base's config.json beside the adapter: its `_name_or_path` is a claim (the
    adapter's own base path a Colab folder), checked by the weights like any other."""
    for f in gpt2_adapter.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((tmp_path / "adapter_config.json").read_text())
    (tmp_path / "adapter_config.json").write_text(json.dumps({**cfg, "base_model_name_or_path": "/content/base"}))
    (tmp_path / "config.json").write_text(json.dumps({"_name_or_path": "gpt2", "model_type": "gpt2"}))
    report = inspect_source(str(tmp_path))
    assert report["format"] == "peft"  # still read as the adapter it is
    assert report["declared"]["config.json _name_or_path"] == "gpt2" and report["declared"]["agrees"] is True
    assert report["base_model"]["root"] == "openai-community/gpt2"
    (tmp_path / "config.json").write_text(json.dumps({"_name_or_path": "gpt2-medium", "model_type": "gpt2"}))
    report = inspect_source(str(tmp_path))  # 1024 wide where the adapter's layers are 768: the weights rule it out
    assert report["base_model"]["root"] is None and report["declared"]["agrees"] is False
    assert any("gpt2-medium" in c for c in report["conflicts"])


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


# ---------------------------------------------------------------- truncated files: the header still answers
def _truncate(src, dst, keep_data: float):
    """Copy a safetensors file keeping its header and `keep_data` of its data section."""
    import struct

    blob = src.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    cut = 8 + n + int((len(blob) - 8 - n) * keep_data)
    dst.write_bytes(blob[:cut])
    return len(blob), cut


def test_truncated_file_is_inspected_from_its_header(sd1_lora, tmp_path, capsys):
    from hfprobe.errors import TruncatedWeightsError
    from hfprobe.formats import open_weights

    full = inspect_source(str(sd1_lora))
    path = tmp_path / "pytorch_lora_weights.safetensors"
    size, kept = _truncate(sd1_lora / "pytorch_lora_weights.safetensors", path, 0.4)
    report = inspect_source(str(tmp_path))
    assert report["truncated"] is True and full["truncated"] is False
    for field in ("format", "family", "modules", "rank", "root"):
        assert report[field] == full[field], field
    note = next(n for n in report["notes"] if n.startswith("truncated"))
    assert f"is {kept} bytes" in note and f"describes {size}" in note and f"({size - kept} missing)" in note
    assert main(["inspect", str(tmp_path), "--json"]) == 0  # exit 0: the header answers
    assert json.loads(capsys.readouterr().out)["truncated"] is True
    assert "TRUNCATED" in format_report(report)
    view = open_weights(tmp_path)
    missing = [n for n, m in view.modules.items() if not all(view.store.present(k) for k in m.keys.values())]
    present = [n for n in view.modules if n not in missing]
    assert missing and present
    with pytest.raises(TruncatedWeightsError, match="truncated.*re-download") as err:
        view.layer(missing[0])
    assert "\n" not in str(err.value)
    assert view.layer(present[0]).shape[0] > 0  # bytes that are there can still be read
    with pytest.raises(TruncatedWeightsError, match="the readout needs its tensor data"):
        from hfprobe.experts.readout import readout_predict

        readout_predict(view, ["dog", "cat"])


def test_predict_refuses_a_truncated_file_with_one_line(sd1_lora, tmp_path, capsys):
    _truncate(sd1_lora / "pytorch_lora_weights.safetensors", tmp_path / "pytorch_lora_weights.safetensors", 0.5)
    assert main(["predict", str(tmp_path), "--labels", "dog,cat"]) == 2  # no experts: it would fall to the readout
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "truncated" in err and "Traceback" not in err


def test_truncated_kohya_assumes_default_alpha_where_alpha_is_missing(tmp_path):
    import random

    from hfprobe.formats.fuzz.seeds import safetensors_bytes

    names = [f"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn{i}_to_k" for i in (1, 2)]
    sd = {}
    for n in names:
        sd[f"{n}.lora_down.weight"], sd[f"{n}.lora_up.weight"] = ("F32", [4, 768]), ("F32", [320, 4])
    for n in names:  # written in this order: the alphas last, so a cut in the data loses them first
        sd[f"{n}.alpha"] = ("F32", [])
    (tmp_path / "full.safetensors").write_bytes(safetensors_bytes(sd, None, random.Random(0)))
    _truncate(tmp_path / "full.safetensors", tmp_path / "cut.safetensors", 0.9999)
    (tmp_path / "full.safetensors").unlink()
    report = inspect_source(str(tmp_path / "cut.safetensors"))
    assert report["truncated"] and report["format"] == "kohya" and report["modules"] == 2
    assert any("alpha = rank assumed" in n for n in report["notes"])


def test_header_cut_short_is_still_an_error(sd1_lora, tmp_path):
    blob = (sd1_lora / "pytorch_lora_weights.safetensors").read_bytes()
    (tmp_path / "x.safetensors").write_bytes(blob[:200])
    with pytest.raises(HfprobeError, match="runs past the end"):
        inspect_source(str(tmp_path / "x.safetensors"))


def test_other_markdown_files_are_read_as_prose_a_few_and_bounded(sd1_lora, tmp_path):
    from hfprobe.tree.inspect import MAX_NOTE_CHARS, MAX_NOTES

    folder = lora_copy(sd1_lora, tmp_path)
    (folder / "deep").mkdir(parents=True, exist_ok=True)
    report = inspect_source(str(folder))
    assert report["base_model"]["id"] is None  # SD 1.4 and 1.5 share every shape: nothing names one
    (folder / "raport.md").write_text('Dodaję ją do modelu "sd-legacy/stable-diffusion-v1-5". Zdjęcia 512x512.\n')
    report = inspect_source(str(folder))
    assert report["base_model"]["id"] == "sd-legacy/stable-diffusion-v1-5"
    assert report["base_model"]["status"] == "mentioned" and report["base_model"]["source"] == "raport.md mentions"
    assert "sd1" in report["declared"]["raport.md mentions"]
    # bounded: markdown in sub-folders is not read, only the first MAX_NOTES by name, each cut at MAX_NOTE_CHARS
    (folder / "deep" / "other.md").write_text("trained on stabilityai/stable-diffusion-2-1-base")
    (folder / "a0.md").write_text("x" * MAX_NOTE_CHARS + " runwayml/stable-diffusion-v1-5")  # past the cut
    for i in range(1, MAX_NOTES):  # and these push raport.md past the first MAX_NOTES
        (folder / f"a{i}.md").write_text("notes")
    report = inspect_source(str(folder))
    assert report["base_model"]["id"] is None and not [k for k in report["declared"] if "raport" in k]
    assert "a0.md mentions" not in report["declared"] and not [k for k in report["declared"] if "deep" in k]


def test_other_markdown_files_come_from_the_hub_through_the_cache(sd1_lora, tmp_path):
    hub = FakeHub(tmp_path / "hub")
    weights = (sd1_lora / "pytorch_lora_weights.safetensors").read_bytes()
    hub.add_repo(
        "someone/notes-lora",
        {"pytorch_lora_weights.safetensors": weights, "NOTES.md": "Base: runwayml/stable-diffusion-v1-5.\n"},
    )
    with hub.serving():
        report = inspect_source("someone/notes-lora")
    assert report["base_model"]["id"] == "runwayml/stable-diffusion-v1-5"
    assert report["base_model"]["source"] == "NOTES.md mentions"
    from huggingface_hub import try_to_load_from_cache

    assert isinstance(try_to_load_from_cache("someone/notes-lora", "NOTES.md", revision=report["revision_sha"]), str)


# lines quoted from the training code of real SD LoRA repos (the realzoo manifest's evidence, files the
# snapshot does not hold): what names the base model when the README and the headers do not
TRAINING_LINES = {
    "script.sh": ('export MODEL_NAME="stable-diffusion-v1-5/stable-diffusion-v1-5"\n', "sd1"),
    "main.py": ('model_base = "runwayml/stable-diffusion-v1-5"\n', "sd1"),
    "lora_inference.py": ('    "stabilityai/stable-diffusion-2-1-base",  # base model\n', "sd2"),
    "mlops_project_2024/config/default_config.yaml": (
        "pretrained_model_name_or_path: dreamlike-art/dreamlike-photoreal-2.0\n",
        "sd1",
    ),
}


@pytest.mark.parametrize("name", sorted(TRAINING_LINES))
def test_training_code_names_the_base_model_when_nothing_else_does(sd1_lora, tmp_path, name):
    line, family = TRAINING_LINES[name]
    folder = lora_copy(sd1_lora, tmp_path)
    (folder / posixpath.dirname(name)).mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("import torch\n" + line)
    report = inspect_source(str(folder))
    named = line.split('"')[1] if '"' in line else line.split(": ")[1].strip()
    if family == "sd1":  # the weights allow it: written, in the spelling the script used
        assert report["base_model"]["id"] == named
        assert report["base_model"]["source"].startswith(name)
    else:  # an SD 2 id beside SD 1.x weights: read, never written
        assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"
        assert f"{name} mentions" in report["declared"]


def test_training_code_is_read_only_while_the_base_model_is_open_and_bounded(sd1_lora, tmp_path):
    from hfprobe.tree.inspect import MAX_TRAINING_BYTES, MAX_TRAINING_FILES

    folder = lora_copy(sd1_lora, tmp_path)
    (folder / "train.py").write_text('MODEL = "CompVis/stable-diffusion-v1-4"\n')
    (folder / "README.md").write_text("LoRA for runwayml/stable-diffusion-v1-5.\n")
    report = inspect_source(str(folder))  # the README settles it: train.py is not read
    assert report["base_model"]["id"] == "runwayml/stable-diffusion-v1-5"
    assert not [k for k in report["declared"] if k.startswith("train.py")]
    (folder / "README.md").unlink()
    # two scripts naming two roots the weights allow: both read, nothing written
    (folder / "infer.py").write_text('pipe = from_pretrained("runwayml/stable-diffusion-v1-5")\n')
    report = inspect_source(str(folder))
    assert report["base_model"]["id"] is None and report["base_model"]["status"] == "ambiguous"
    # bounded: a script over the size cap, and scripts past the first MAX_TRAINING_FILES, are not read
    (folder / "infer.py").write_text("#" * MAX_TRAINING_BYTES + '\n"runwayml/stable-diffusion-v1-5"\n')
    for i in range(MAX_TRAINING_FILES):
        (folder / f"a_train_{i}.py").write_text("pass\n")
    report = inspect_source(str(folder))
    assert report["base_model"]["id"] is None
    assert not [k for k in report["declared"] if k.startswith(("train.py", "infer.py"))]


def test_training_code_comes_from_the_hub_only_when_needed(sd1_lora, tmp_path):
    hub = FakeHub(tmp_path / "hub")
    weights = (sd1_lora / "pytorch_lora_weights.safetensors").read_bytes()
    hub.add_repo(
        "someone/scripted-lora",
        {"pytorch_lora_weights.safetensors": weights, "scripts/train.sh": TRAINING_LINES["script.sh"][0]},
    )
    with hub.serving():
        report = inspect_source("someone/scripted-lora")
    assert report["base_model"]["id"] == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert report["base_model"]["source"] == "scripts/train.sh mentions"


@pytest.mark.parametrize("cls", ["ControlNetModel", "T2IAdapter"])
def test_a_controlnet_or_t2i_adapter_is_an_adapter_of_its_base_not_a_finetune(cls, tmp_path):
    """A diffusers ControlNet (or T2I-Adapter) runs beside the UNet it was made for; its report said `checkpoint`,
    so its card wrote `base_model_relation: finetune` and the Hub's model tree listed it as a fine-tune."""
    import diffusers

    from hfprobe.cards.section import relation_of

    torch.manual_seed(0)
    if cls == "ControlNetModel":
        model = diffusers.ControlNetModel(
            block_out_channels=(32, 64), cross_attention_dim=32, attention_head_dim=4, layers_per_block=1,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), norm_num_groups=8,
        )  # fmt: skip
    else:
        model = diffusers.T2IAdapter(in_channels=3, channels=[32, 64], num_res_blocks=1, downscale_factor=8)
    model.save_pretrained(tmp_path / "m")
    report = inspect_source(str(tmp_path / "m"))
    assert report["format"] == "diffusers-checkpoint" and report["kind"] == "adapter"
    assert relation_of(report) == "adapter"


@pytest.mark.parametrize(
    "model_type, cls, family",
    [("dinov2", "Dinov2Model", "dinov2"), ("vit", "ViTModel", "vit"), ("exaone_moe", "ExaoneMoeModel", None)],
)
def test_peft_s_auto_mapping_names_the_architecture_of_a_local_base(tmp_path, model_type, cls, family):
    """PEFT records the class it wrapped in adapter_config.json's `auto_mapping` where the model had no task type
    (an image backbone, a diffusers UNet); with a Colab path as the base, that is all that names the architecture.
    A LoRA on a DINOv2 backbone's query/value (ViT's names and sizes) was read as ViT; the declared DINOv2 now
    decides, and an architecture the registry lacks (EXAONE-MoE) is said to be one."""
    from tests.builders import write_header

    tensors = {}
    for i in range(12):
        for q in ("query", "value"):
            key = f"base_model.model.encoder.layer.{i}.attention.attention.{q}"
            tensors[f"{key}.lora_A.weight"], tensors[f"{key}.lora_B.weight"] = ("F32", (8, 768)), ("F32", (768, 8))
    write_header(tmp_path / "adapter_model.safetensors", tensors)
    library = f"transformers.models.{model_type}.modeling_{model_type}"
    config = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "base_model_name_or_path": "/content/drive/MyDrive/bb",
              "auto_mapping": {"base_model_class": cls, "parent_library": library}}  # fmt: skip
    (tmp_path / "adapter_config.json").write_text(json.dumps(config))
    report = inspect_source(str(tmp_path))
    assert report["declared"]["adapter_config.json auto_mapping model_type"] == model_type
    if family:
        assert report["family"] == family and not report["conflicts"]
    else:
        assert any("adapter_config.json says auto_mapping model_type exaone_moe, an architecture" in e
                   for e in report["root"]["evidence"])  # fmt: skip


def test_a_root_tuned_from_another_names_its_tree_and_how_sure(tmp_path):
    """SD 2.1 and 2.1-base share every shape, so an SD 2.x LoRA's root is a third sure; both descend from SD 2-base
    (roots.json's `parent`), so the report names that tree, 0.90 sure, in its JSON, its text, the card and the Space.
    A root that is its own tree's says nothing more."""
    from hfprobe.cards.card import update_card
    from hfprobe.space.endpoints import _summary
    from tests.builders import write_header

    attn2 = "unet.down_blocks.{}.attentions.0.transformer_blocks.0.attn2.to_k.lora_{}.weight"
    for context, name in ((1024, "sd2"), (768, "sd1")):
        tensors = {attn2.format(b, "A"): ("F16", (4, context)) for b in (0, 1)}
        tensors |= {attn2.format(b, "B"): ("F16", (w, 4)) for b, w in ((0, 320), (1, 640))}
        write_header(tmp_path / name / "pytorch_lora_weights.safetensors", tensors)
    report = inspect_source(str(tmp_path / "sd2"))
    assert report["root"]["confidence"] < 0.5
    assert report["root"]["tree"] == {"id": "stabilityai/stable-diffusion-2-base", "confidence": 0.9}
    text = "stabilityai/stable-diffusion-2-base, confidence 0.90 (the root was tuned from it)"
    assert f"  tree     {text}" in format_report(report).splitlines()
    card = update_card(None, report, today="2026-01-01").text
    assert (
        "It was tuned from `stabilityai/stable-diffusion-2-base`, whose tree this model is in (confidence 0.90)" in card
    )
    assert "- **tree:** `stabilityai/stable-diffusion-2-base` (confidence: `0.9`)" in _summary(report, "")
    sd1 = inspect_source(str(tmp_path / "sd1"))
    assert sd1["root"]["tree"]["id"] == sd1["root"]["id"] == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert "  tree  " not in format_report(sd1) and "It was tuned from" not in update_card(None, sd1).text


def test_an_adapter_of_several_ranks_says_each(tmp_path):
    """PEFT's `rank_pattern` (here rank 16 on the value projections, 8 elsewhere): the report gave the most common
    rank alone; `ranks` lists each, the most common first, and the text says them."""
    from tests.builders import write_header

    tensors = {}
    for i in range(12):
        for proj, r in (("q_proj", 8), ("k_proj", 8), ("v_proj", 16)):
            key = f"base_model.model.model.layers.{i}.self_attn.{proj}"
            tensors[f"{key}.lora_A.weight"], tensors[f"{key}.lora_B.weight"] = ("F16", (r, 896)), ("F16", (896, r))
    write_header(tmp_path / "adapter_model.safetensors", tensors)
    config = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "rank_pattern": {"v_proj": 16}}
    (tmp_path / "adapter_config.json").write_text(json.dumps(config))
    report = inspect_source(str(tmp_path))
    assert report["rank"] == 8 and report["ranks"] == [[8, 24], [16, 12]]
    assert "36 modules, ranks 8 on 24, 16 on 12" in format_report(report)

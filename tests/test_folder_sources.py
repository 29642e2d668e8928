"""Folder (and repo) sources: which files are the source's, and which model a folder is read as.

A folder source leaves out hidden folders, Python environments, site-packages and node_modules, and its walk is
bounded; a folder or repo whose weights belong to several separate models asks the user to name one (one line,
a few named) instead of choosing silently, while one model's layouts still read as before: a diffusers pipeline's
component folders, a sharded checkpoint, checkpoint-N/ snapshots of one run, a top-level file over sub-folders.
"""

from __future__ import annotations

import importlib

import pytest

from hfprobe.cli import main
from hfprobe.errors import NoWeightsError, UnsupportedFormatError, UsageError
from hfprobe.formats import open_weights, pick_weights
from hfprobe.source import Source, resolve


def _tree(root, names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return root


def _pick(root, names) -> str:
    return pick_weights(resolve(str(_tree(root, names))))


def test_environments_and_hidden_folders_are_not_the_source(tmp_path):
    _tree(
        tmp_path,
        [
            "README.md",
            ".gitattributes",
            ".venv/pyvenv.cfg",
            ".venv/lib/python3.11/site-packages/gt_model/model/model.safetensors",
            "env/pyvenv.cfg",
            "env/lib/python3.11/site-packages/pkg/model.safetensors",
            "conda/conda-meta/history",
            "conda/lib/model.safetensors",
            "lib/python3/site-packages/pkg/w.safetensors",
            "web/node_modules/pkg/w.safetensors",
            ".hidden/adapter_model.safetensors",
            "src/__pycache__/x.bin",
        ],
    )
    src = resolve(str(tmp_path))
    assert src.files() == [".gitattributes", "README.md"]
    with pytest.raises(NoWeightsError, match="no weights file"):
        open_weights(str(tmp_path))
    assert src.exists(".hidden/adapter_model.safetensors")  # named directly, a file there is still readable


def test_a_folder_of_separate_models_asks_for_one(tmp_path, capsys):
    pile = _tree(
        tmp_path / "pile",
        [
            "sd-skope/pytorch_lora_weights.safetensors",
            "peft-bert/adapter_model.safetensors",
            "peft-bert/adapter_config.json",
            "peft-gpt2/adapter_model.safetensors",
            "old-lora/pytorch_lora_weights.bin",
            "notes.md",
        ],
    )
    with pytest.raises(UsageError) as err:
        pick_weights(resolve(str(pile)))
    message = str(err.value)
    models = "old-lora/, peft-bert/, peft-gpt2/, sd-skope/"
    assert message == f"{pile}: holds 4 separate models ({models}); name one, e.g. {pile}/old-lora"
    assert main(["inspect", str(pile)]) == 2
    out, err_text = capsys.readouterr()
    assert out == "" and err_text == f"hfprobe: error: {message}\n"
    many = _tree(tmp_path / "many", [f"m{i}/w.safetensors" for i in range(7)])
    with pytest.raises(UsageError, match=r"holds 7 separate models \(m0/, m1/, m2/, m3/ and 3 more\)"):
        pick_weights(resolve(str(many)))


def test_a_hub_repo_of_separate_models_names_a_folder_to_read(tmp_path):
    files = ["README.md", "v1/lora.safetensors", "v2/lora.safetensors"]
    src = Source("hub", "org/name@dev", repo_id="org/name", revision="dev", _files=files)
    with pytest.raises(
        UsageError, match=r"holds 2 separate models \(v1/, v2/\); name one, e.g. hf://models/org/name@dev/v1$"
    ):
        pick_weights(src)
    named = Source("hub", "org/name@dev", repo_id="org/name", revision="dev", default_file="v1", _files=files)
    assert pick_weights(named) == "v1/lora.safetensors"  # the name the message suggests reads that model


def test_one_model_layouts_still_read_as_one(tmp_path):
    pipeline = ["model_index.json", "text_encoder/model.safetensors", "vae/diffusion_pytorch_model.safetensors"]
    assert _pick(tmp_path / "p", pipeline) == "text_encoder/model.safetensors"  # as before: shallowest, by name
    nested = [f"sd/{n}" for n in pipeline] + ["sd/unet/diffusion_pytorch_model.safetensors"]
    assert _pick(tmp_path / "n", nested) == "sd/unet/diffusion_pytorch_model.safetensors"  # as at the top: the UNet
    runs = ["checkpoint-1500/adapter_model.safetensors", "checkpoint-2000/adapter_model.safetensors", "logs/x.txt"]
    assert _pick(tmp_path / "r", runs) == "checkpoint-2000/adapter_model.safetensors"  # the run's last snapshot
    ckpt = ["checkpoint-500/unet/diffusion_pytorch_model.safetensors", "checkpoint-500/optimizer.bin"]
    assert _pick(tmp_path / "c", ckpt) == "checkpoint-500/unet/diffusion_pytorch_model.safetensors"
    top = ["pytorch_lora_weights.safetensors", "checkpoint-500/pytorch_lora_weights.safetensors", "other/w.safetensors"]
    assert _pick(tmp_path / "t", top) == "pytorch_lora_weights.safetensors"  # a top-level file is the model
    shards = ["model/model.safetensors.index.json"] + [f"model/model-0000{i}-of-00002.safetensors" for i in (1, 2)]
    assert _pick(tmp_path / "s", shards) == "model/model.safetensors.index.json"  # all shards, not the first
    own = ["lora/pytorch_lora_weights.safetensors", "lora/checkpoint-100/pytorch_lora_weights.safetensors"]
    assert _pick(tmp_path / "o", own) == "lora/pytorch_lora_weights.safetensors"
    state = ["ckpt-500/optimizer.bin", "ckpt-500/scheduler.bin", "ckpt-500/random_states_0.pkl", "ckpt-500/lora.bin"]
    assert _pick(tmp_path / "a", state) == "ckpt-500/lora.bin"  # accelerate's run state beside it: "3 models" before
    epochs = ["out/epoch_0/adapter_model.pt", "out/epoch_1/adapter_model.pt", "out/epoch_10/adapter_model.pt"]
    assert _pick(tmp_path / "e", epochs) == "out/epoch_10/adapter_model.pt"  # torchtune's: was "3 separate models"
    steps = ["run/global_step500/w.safetensors", "run/global_step1000/w.safetensors"]
    assert _pick(tmp_path / "g", steps) == "run/global_step1000/w.safetensors"


def test_loose_files_of_different_models_ask_for_one_and_one_run_s_saves_read_as_one(tmp_path):
    """A collection of LoRA files in one folder once read its first name silently (an SDXL LoRA beside an SD 2 one
    was reported as SD 2); a training run's intermediate saves and precision variants are still one model."""
    with pytest.raises(UsageError) as err:
        _pick(tmp_path / "c", ["anime_lora.safetensors", "art_lora.safetensors", "README.md"])
    folder = tmp_path / "c"
    assert str(err.value) == (
        f"{folder}: holds 2 weights files of different models (anime_lora.safetensors, art_lora.safetensors); "
        f"name one, e.g. {folder}/anime_lora.safetensors"
    )
    epochs = ["style-000002.safetensors", "style-000004.safetensors", "style.safetensors"]
    assert _pick(tmp_path / "e", epochs) == "style.safetensors"  # the run's final file
    assert _pick(tmp_path / "s", ["style-step500.safetensors", "style-step1500.safetensors"]) == (
        "style-step1500.safetensors"  # no final file: the highest step
    )
    assert _pick(tmp_path / "v", ["lora.fp16.safetensors", "lora.safetensors"]) == "lora.safetensors"
    # saves named by their step alone, and a run's final save named so (these were "2 or 3 different models")
    assert _pick(tmp_path / "n", ["step500.safetensors", "step1000.safetensors"]) == "step1000.safetensors"
    named = ["lora_epoch_5.safetensors", "lora_epoch_10.safetensors", "final_lora.safetensors"]
    assert _pick(tmp_path / "f", named) == "final_lora.safetensors"
    assert _pick(tmp_path / "l", ["lora_epoch_3.safetensors", "lora-last.safetensors"]) == "lora-last.safetensors"
    two = (["anime_final.safetensors", "art_final.safetensors"], ["v1.safetensors", "v2.safetensors"])
    for i, pair in enumerate(two):
        with pytest.raises(UsageError, match="2 weights files of different models"):  # two models' finals; versions
            _pick(tmp_path / f"d{i}", pair)
    files = ["README.md", "anime_lora.safetensors", "art_lora.safetensors"]
    src = Source("hub", "org/name", repo_id="org/name", revision=None, _files=files)
    with pytest.raises(UsageError, match=r"name one, e.g. hf://models/org/name/anime_lora.safetensors$"):
        pick_weights(src)


def test_the_walk_is_bounded(tmp_path, monkeypatch):
    _tree(tmp_path, [f"d{i}/f{j}.txt" for i in range(5) for j in range(5)])
    monkeypatch.setattr(importlib.import_module("hfprobe.source.source"), "MAX_FOLDER_ENTRIES", 20)
    with pytest.raises(UsageError, match=r"over 20 files and folders below it; point hfprobe at the model's own"):
        resolve(str(tmp_path)).files()


def test_an_empty_source_is_a_usage_error(capsys):
    for spec in ("", "   "):
        with pytest.raises(UsageError, match="is not a source: name a weights file, a folder"):
            resolve(spec)
    assert main(["inspect", ""]) == 2
    err = capsys.readouterr().err
    assert err == (
        "hfprobe: error: '' is not a source: name a weights file, a folder ('.' for this one), or a Hub repo "
        "(org/name)\n"
    )


@pytest.mark.parametrize(
    "files, says",
    [
        (["tf_model.h5", "config.json"], "holds TensorFlow / Keras weights only; .*from_tf=True"),
        (["flax_model.msgpack"], "holds Flax weights only; .*from_flax=True"),
        (["model.mlmodel"], "holds Core ML weights only; .*exported from"),
        (["README.md"], "no weights file .* among its 1 file;"),
        (["checkpoint-9/optimizer.pt", "checkpoint-9/rng_state.pth"], "a training run's state only"),
        (
            ["README.md", "lora_weights.zip"],
            r"no weights file among its 2 files, but a zip archive \(lora_weights.zip\)",
        ),
    ],
)
def test_a_repo_of_weights_hfprobe_does_not_read_says_which(tmp_path, files, says, capsys):
    """A TensorFlow-only BERT repo was "no weights file … among its 2 files", as if it held none."""
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"\0" * 16)
    with pytest.raises(NoWeightsError, match=says):
        pick_weights(resolve(str(tmp_path)))
    assert main(["inspect", str(tmp_path)]) == 2 and capsys.readouterr().err.count("\n") == 1


def test_an_openvino_ir_s_values_named_alone_are_not_read_as_a_pickle(tmp_path):
    """Its .bin was read as a torch pickle: "not a torch weights file …; re-download it"."""
    (tmp_path / "openvino_model.xml").write_text('<?xml version="1.0"?>\n<net name="Model0" version="11"/>\n')
    (tmp_path / "openvino_model.bin").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(
        UnsupportedFormatError, match=r"an OpenVINO IR's values, .*; point hfprobe at openvino_model.xml"
    ):
        open_weights(str(tmp_path / "openvino_model.bin"))


def test_a_report_says_which_of_several_weights_files_it_read(tmp_path, capsys, monkeypatch):
    """A folder of one run's saves (and checkpoint-N/ snapshots) is read at its final file; the report names the
    others, so a reader knows which file the answer is for. A named file, or a folder of one, has none."""
    import numpy as np
    from safetensors.numpy import save_file

    from hfprobe.tree.inspect import inspect_source

    key = "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"
    lora = {
        f"{key}.lora_A.weight": np.zeros((4, 768), np.float32),
        f"{key}.lora_B.weight": np.zeros((320, 4), np.float32),
    }
    run = [
        "style.safetensors",
        "style-000005.safetensors",
        "style-000010.safetensors",
        "checkpoint-500/style.safetensors",
    ]
    for name in run:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        save_file(lora, str(tmp_path / name))
    (tmp_path / "checkpoint-500" / "optimizer.bin").write_bytes(b"")  # a run's state: no model's weights
    report = inspect_source(str(tmp_path))
    assert report["files"] == ["style.safetensors"]
    assert report["passed_over"] == {"count": 3, "files": sorted(run[1:])}
    assert main(["inspect", str(tmp_path)]) == 0
    line = f"  file     style.safetensors; 3 other weights files here not read: {', '.join(sorted(run[1:]))}"
    assert line in capsys.readouterr().out.splitlines()
    from hfprobe.cards.batch import annotate_one

    annotate_one(str(tmp_path))  # the card says which file its findings are for
    assert "- **Read from:** `style.safetensors` (3 other weights files here not read)." in (
        (tmp_path / "README.md").read_text()
    )
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)  # the readout's text encoder is not asked for
    assert main(["predict", str(tmp_path), "--labels", "dog,cat,violin"]) == 0  # predict says so too
    assert "file:    style.safetensors (3 other weights files here not read)" in capsys.readouterr().out.splitlines()
    from hfprobe.space.endpoints import _summary

    assert "- **read from:** `style.safetensors` (3 other weights files not read)" in _summary(report, "")  # the Space
    assert inspect_source(str(tmp_path / "style-000005.safetensors"))["passed_over"] is None  # named: no others
    assert inspect_source(str(tmp_path / "checkpoint-500"))["passed_over"] is None  # its one model file


def test_a_zip_archive_says_what_it_holds(tmp_path):
    """Weights shipped as a release asset (`lora.zip`) were "hfprobe reads .safetensors, .gguf and torch pickles;
    convert the file"; the archive's directory is read (nothing is unpacked) and the line says what to unzip."""
    import zipfile

    from hfprobe.formats import open_weights

    with zipfile.ZipFile(tmp_path / "lora.zip", "w") as archive:
        archive.writestr("lora/README.md", "hi")
        archive.writestr("lora/adapter_model.safetensors", b"\0" * 64)
    with pytest.raises(
        UnsupportedFormatError, match=r"a zip archive \(holding 'lora/adapter_model.safetensors'\); unzip"
    ):
        open_weights(str(tmp_path / "lora.zip"))
    (tmp_path / "not.zip").write_bytes(b"garbage")
    with pytest.raises(
        UnsupportedFormatError, match="hfprobe reads .safetensors, .gguf, .onnx, OpenVINO .xml and torch pickles"
    ):
        open_weights(str(tmp_path / "not.zip"))

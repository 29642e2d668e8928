"""What a pickle hfprobe refuses is, in one line: not a pickle at all, a damaged one, or one that holds more than
tensors (naming the global it imports), never torch's advice to load it unsafely, never a torch warning on stderr.

Every file here is refused through torch.load(weights_only=True) or read with pickletools (opcodes only), and the
hostile ones carry a marker that would appear if anything ran them.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile

import pytest
import torch

from hfprobe.cli import main
from hfprobe.errors import InvalidWeightsError, UnsafeFileError
from hfprobe.formats import open_weights


class _Touch:
    """Creates a file when unpickled (through os.system, as a real exploit would)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


class Config:
    """A harmless class a training script might pickle next to its weights."""


def _refusal(path, error=Exception) -> str:
    """The message of the typed error `open_weights(path)` raises, checked to be one line without unsafe advice."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(error) as err:
            open_weights(str(path))
    message = str(err.value)
    assert "\n" not in message and "weights_only" not in message and "add_safe_globals" not in message, message
    assert not [w for w in caught if "torch" in w.filename], [str(w.message) for w in caught]  # nothing leaks
    assert message.startswith(str(path)) and len(message) < 400, message
    return message


def test_random_bytes_are_not_a_pickle(tmp_path):
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes([0x13, 0x51, 0xA9, 0xC3]) + os.urandom(4092))
    message = _refusal(path, InvalidWeightsError)
    assert "neither a zip archive nor a pickle (it starts with bytes 13 51 a9 c3" in message
    assert "more than tensors" not in message


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_a_hostile_plain_pickle_names_what_it_imports(tmp_path, protocol):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.bin"
    path.write_bytes(pickle.dumps({"w": _Touch(marker)}, protocol=protocol))
    message = _refusal(path, UnsafeFileError)
    assert f"holds more than tensors (it imports {os.system.__module__}.system); it was refused, not run" in message
    assert not marker.exists()


def test_a_hostile_torch_file_names_what_it_imports(tmp_path):
    marker = tmp_path / "ran"
    for name, kw in (
        ("new.pt", {}),
        ("old.pt", {"_use_new_zipfile_serialization": False}),
        ("p4.pt", {"pickle_protocol": 4}),
    ):
        torch.save({"w": torch.zeros(2), "x": _Touch(marker)}, tmp_path / name, **kw)
        assert f"(it imports {os.system.__module__}.system)" in _refusal(tmp_path / name, UnsafeFileError), name
    torch.save({"w": torch.zeros(2), "config": Config()}, tmp_path / "cfg.pt")
    assert f"(it imports {__name__}.Config)" in _refusal(tmp_path / "cfg.pt", UnsafeFileError)
    assert not marker.exists()


def test_damaged_files_say_what_they_are(tmp_path):
    cases = {
        "zip.bin": (b"PK\x03\x04" + os.urandom(500), "a damaged zip archive (PytorchStreamReader failed reading zip"),
        "lfs.bin": (b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n", "a Git LFS pointer"),
        "page.bin": (b"<!DOCTYPE html>\n<html>", "a web page, not the weights (a Hub `/blob/` link saves the page"),
        "data.bin": (b"\x13\xa7D\x0f" + bytes(64), "nor a pickle (it starts with bytes 13 a7 44 0f"),
        "gguf.bin": (b"GGUF\x03\x00\x00\x00" + bytes(64), "a GGUF file under a pickle's name; rename it to .gguf"),
        "cut.bin": (pickle.dumps({"w": [1, 2, 3]}, protocol=2)[:9], "a damaged pickle ("),
        "plain.bin": (pickle.dumps({"w": [1.0, 2.0]}, protocol=4), "a plain pickle, not a file torch.save wrote"),
    }
    from safetensors.torch import save

    cases["renamed.bin"] = (save({"w": torch.zeros(2)}), "a safetensors file under a pickle's name")
    torch.save({"w": torch.zeros(2)}, tmp_path / "ok.pt")
    with zipfile.ZipFile(tmp_path / "ok.pt") as archive, zipfile.ZipFile(tmp_path / "pkl.pt", "w") as out:
        for item in archive.infolist():  # the archive intact, its data.pkl cut short
            out.writestr(item, archive.read(item)[: 12 if item.filename.endswith("data.pkl") else None])
    cases["pkl.pt"] = ((tmp_path / "pkl.pt").read_bytes(), "a damaged pickle (")
    for name, (blob, said) in cases.items():
        (tmp_path / name).write_bytes(blob)
        message = _refusal(tmp_path / name, InvalidWeightsError)
        assert said in message, (name, message)
        assert not message.endswith("…") and "more than tensors" not in message, message


def test_the_cli_prints_one_line_and_no_warning(tmp_path, capfd):
    path = tmp_path / "evil.bin"
    path.write_bytes(pickle.dumps({"w": _Touch(tmp_path / "ran")}, protocol=4))
    with warnings.catch_warnings():
        warnings.simplefilter("default", UserWarning)  # as outside pytest: a warning would print to stderr
        assert main(["inspect", str(path)]) == 2
    out, err = capfd.readouterr()
    assert out == "" and err.count("\n") == 1 and "it imports" in err and "Warning" not in err, err


def test_a_hypernetwork_and_a_list_of_tensors_say_what_they_are(tmp_path):
    """An AUTOMATIC1111 hypernetwork keeps its layers in lists keyed by context width: it was "the pickle holds
    no tensors", as if the file were empty."""
    from hfprobe.errors import UnsupportedFormatError

    layer = torch.nn.Linear(4, 8).state_dict()
    torch.save({768: [layer, layer], 320: [layer, layer], "layer_structure": [1, 2, 1], "step": 9}, tmp_path / "h.pt")
    with pytest.raises(UnsupportedFormatError, match="an AUTOMATIC1111 hypernetwork .* not hypernetworks"):
        open_weights(tmp_path / "h.pt")
    torch.save({"layers": [torch.zeros(2, 2)]}, tmp_path / "l.pt")
    with pytest.raises(UnsupportedFormatError, match="its values are lists, not a state dict"):
        open_weights(tmp_path / "l.pt")

"""Sources and the safetensors reader: local and Hub reads, byte counting, Range quirks, bad input."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.errors import (
    InvalidWeightsError,
    NetworkError,
    SourceAccessError,
    SourceNotFoundError,
)
from hfprobe.source.resolve import resolve
from hfprobe.source.safetensors import read_header, read_tensor
from tests.fakehub import FakeHub


def _write(path, tensors, metadata=None):
    save_file(tensors, str(path), metadata=metadata)
    return path


def _raw(path, header: object, data: bytes = b"", length: int | None = None):
    blob = json.dumps(header).encode() if not isinstance(header, bytes) else header
    path.write_bytes(struct.pack("<Q", len(blob) if length is None else length) + blob + data)
    return path


@pytest.fixture()
def lora_file(tmp_path):
    torch.manual_seed(0)
    tensors = {"big": torch.randn(256, 256), "a": torch.randn(4, 32), "b": torch.randn(32, 4)}
    return _write(tmp_path / "w.safetensors", tensors, {"format": "pt"}), tensors


def test_local_file_reads_exact_tensor_and_counts_bytes(lora_file):
    path, tensors = lora_file
    src = resolve(str(path))
    assert src.kind == "file" and src.files() == ["w.safetensors"]
    f = src.open(src.default_file)
    hdr = read_header(f)
    assert hdr.metadata == {"format": "pt"} and hdr.tensors["a"].shape == (4, 32)
    before = src.bytes_read
    assert torch.equal(read_tensor(f, hdr, "a"), tensors["a"])
    assert src.bytes_read - before == 4 * 32 * 4  # exactly the tensor, nothing else
    assert src.bytes_read < path.stat().st_size / 10


def test_close_releases_the_files_and_reopens_on_demand(lora_file):
    from hfprobe.formats import open_weights

    path, tensors = lora_file
    with resolve(str(path)) as src:
        f = src.open(src.default_file)
        assert not f._fh.closed
    assert f._fh.closed
    again = src.open(src.default_file)  # a closed source opens afresh when asked again
    assert again is not f and torch.equal(read_tensor(again, read_header(again), "a"), tensors["a"])
    src.close()
    key = "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q"
    kohya = _write(
        path.with_name("k.safetensors"),
        {f"{key}.lora_down.weight": tensors["a"], f"{key}.lora_up.weight": tensors["b"]},
    )
    with open_weights(str(kohya)) as view:
        handle = view.source.open(view.files[0])
        assert view.layer(next(iter(view.modules))).shape == (32, 32)
    assert handle._fh.closed


def test_local_folder_lists_files_and_reads_companions(tmp_path):
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "adapter_model.safetensors", {"x": torch.zeros(2)})
    (tmp_path / "adapter_config.json").write_text('{"r": 4}')
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    src = resolve(tmp_path)
    assert src.kind == "folder"
    assert src.files() == ["adapter_config.json", "sub/adapter_model.safetensors"]
    assert json.loads(src.read_text("adapter_config.json")) == {"r": 4}
    assert src.read_text("README.md") is None


@pytest.mark.parametrize(
    "spec, repo, rev, path",
    [
        ("org/name", "org/name", None, None),
        ("org/name@v1.0", "org/name", "v1.0", None),
        ("hf://org/name/sub/w.safetensors", "org/name", None, "sub/w.safetensors"),
        ("hf://org/name@dev/w.safetensors", "org/name", "dev", "w.safetensors"),
    ],
)
def test_hub_spec_parsing(spec, repo, rev, path):
    src = resolve(spec)
    assert (src.kind, src.repo_id, src.revision, src.default_file) == ("hub", repo, rev, path)


def test_unknown_local_path_is_a_clear_error(tmp_path):
    with pytest.raises(SourceNotFoundError, match="no such file or folder"):
        resolve(str(tmp_path / "missing.safetensors"))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"\x01\x02"), "too short"),
        (lambda p: _raw(p, {}, length=10_000), "runs past the end"),
        (lambda p: _raw(p, {}, length=640), "runs past the end"),  # 80 02 00 …: a pickle's PROTO 2, but no pickle
        (lambda p: _raw(p, {}, length=200 * 1024 * 1024), "100 MB"),
        (lambda p: _raw(p, b"{not json"), "not valid JSON"),
        (lambda p: _raw(p, [1, 2]), "not an object"),
        (lambda p: _raw(p, {"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8), "outside"),
        (lambda p: _raw(p, {"t": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4), "unknown dtype"),
        (lambda p: _raw(p, {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4), "needs 8"),
        (
            lambda p: _raw(
                p,
                {
                    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
                },
                b"\0" * 12,
            ),
            "overlap",
        ),
        (lambda p: _raw(p, {"__metadata__": {"k": 1}}), "strings"),
        # what stands in for the weights most often: a clone without Git LFS, a Hub page saved by a `/blob/` link
        (
            lambda p: p.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 3228744\n"),
            "a Git LFS pointer, not the weights; run `git lfs pull`",
        ),
        (
            lambda p: p.write_bytes(b"\n<!DOCTYPE html>\n<html class=''><head><title>bad.safetensors</title>"),
            "a web page, not the weights .* with `/resolve/` in the URL",
        ),
        # another format under a .safetensors name: said, with the name to give it
        (
            lambda p: p.write_bytes(b"PK\x03\x04" + bytes(60)),
            r"a torch file \(a zip archive\) under .*rename it to .pt",
        ),
        (
            lambda p: p.write_bytes(b"\x80\x02\x8a\x0a" + bytes(60)),
            "a torch pickle under a .safetensors name; rename it to .bin",
        ),
        (lambda p: p.write_bytes(b"GGUF\x03\x00\x00\x00" + bytes(60)), "a GGUF file under a .safetensors name"),
    ],
)
def test_bad_headers_raise_one_line_typed_errors(tmp_path, make, message):
    path = tmp_path / "bad.safetensors"
    make(path)
    src = resolve(str(path))
    with pytest.raises(InvalidWeightsError, match=message) as err:
        read_header(src.open(src.default_file))
    assert "\n" not in str(err.value) and "bad.safetensors" in str(err.value)


def test_a_mixture_s_lora_on_every_expert_is_read_and_a_header_past_the_bounds_says_to_shard(tmp_path):
    """A PEFT LoRA on every Linear of Qwen3-30B-A3B (48 blocks of 128 experts) holds 37,248 tensors: it was refused
    as over a 20,000-tensor limit, with "re-download or re-export the file" for a fix; it is read now (and the
    check of its family's share of it, which built a set per key, no longer takes seconds). Past the bounds on
    tensors or on their names' characters, the line says to save it in shards."""
    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    lora = {}
    for i in range(48):
        layer = f"base_model.model.model.layers.{i}."
        sizes = {"self_attn.q_proj": (4096, 2048), "self_attn.k_proj": (512, 2048), "self_attn.v_proj": (512, 2048)}
        sizes["self_attn.o_proj"] = (2048, 4096)
        sizes |= {f"mlp.experts.{e}.{m}": (768, 2048) for e in range(128) for m in ("gate_proj", "up_proj")}
        sizes |= {f"mlp.experts.{e}.down_proj": (2048, 768) for e in range(128)}
        for module, (d_out, d_in) in sizes.items():
            lora[f"{layer}{module}.lora_A.weight"] = ("BF16", (16, d_in))
            lora[f"{layer}{module}.lora_B.weight"] = ("BF16", (d_out, 16))
    write_header(tmp_path / "moe" / "adapter_model.safetensors", lora, data=False)
    report = inspect_source(str(tmp_path / "moe"))
    assert len(lora) == 37_248 and report["family"] == "qwen3"
    assert report["root"]["id"] in {"Qwen/Qwen3-30B-A3B", "Qwen/Qwen3-30B-A3B-Base"}  # (the same shapes)

    from hfprobe.source.safetensors import MAX_NAME_CHARS, MAX_TENSORS

    entry = {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
    long = 500
    for count, name, message in (
        (MAX_TENSORS + 1, "{:07d}", "tensors, over hfprobe's limit"),
        (MAX_NAME_CHARS // long + 1, "{:07d}" + "a" * (long - 7), "characters"),
    ):
        path = _raw(tmp_path / f"{count}.safetensors", {name.format(i): entry for i in range(count)})
        src = resolve(str(path))
        with pytest.raises(InvalidWeightsError, match=message) as err:
            read_header(src.open(src.default_file))
        assert "max_shard_size" in str(err.value) and "\n" not in str(err.value)


def test_nan_weights_are_refused(tmp_path):
    path = _write(tmp_path / "nan.safetensors", {"w": torch.tensor([1.0, float("nan")])})
    src = resolve(str(path))
    f = src.open(src.default_file)
    with pytest.raises(InvalidWeightsError, match="NaN or Inf"):
        read_tensor(f, read_header(f), "w")


def test_huge_header_claim_allocates_nothing_big(tmp_path):
    # a 16-byte file claiming a 90 MB header must fail before reading or allocating 90 MB
    path = _raw(tmp_path / "liar.safetensors", b"{}", length=90 * 1024 * 1024)
    src = resolve(str(path))
    with pytest.raises(InvalidWeightsError):
        read_header(src.open(src.default_file))
    assert src.bytes_read <= 16


@pytest.fixture()
def hub(tmp_path, lora_file):
    path, _ = lora_file
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/lora", {"w.safetensors": path, "README.md": "---\nbase_model: x/y\n---\nhi\n"})
    with hub.serving():
        yield hub


@pytest.mark.parametrize("honour_range", [True, False])
def test_hub_ranged_reads_are_exact_and_counted(hub, lora_file, honour_range):
    path, tensors = lora_file
    hub.honour_range = honour_range
    src = resolve("org/lora")
    assert src.files() == ["README.md", "w.safetensors"]
    f = src.open("w.safetensors")
    hdr = read_header(f)
    assert torch.equal(read_tensor(f, hdr, "b"), tensors["b"])
    size = path.stat().st_size
    assert src.range_ignored is (not honour_range)
    gets = [h.get("Range") for m, p, h in hub.requests if m == "GET" and p.endswith("/w.safetensors")]
    if honour_range:  # one speculative GET (an eighth of this small file) held the header and tensor "b"
        first = min(64 * 1024, size // 8)
        assert gets == [f"bytes=0-{first - 1}"]
        assert src.bytes_read == max(first, hdr.data_offset + hdr.tensors["b"].end)
    else:
        assert src.bytes_read == size  # the whole body came once, and later reads cost nothing
        read_tensor(f, hdr, "a")
        assert src.bytes_read == size


def test_hub_missing_repo_file_and_revision(hub):
    with pytest.raises(SourceNotFoundError, match="repo not found"):
        resolve("org/nope").files()
    with pytest.raises(SourceNotFoundError, match="revision not found"):
        resolve("org/lora@nobranch").files()
    with pytest.raises(SourceNotFoundError, match="file not found"):
        read_header(resolve("org/lora").open("missing.safetensors"))


def test_hub_private_and_gated(hub):
    hub.private.add("org/lora")
    with pytest.raises(SourceNotFoundError, match="private"):
        resolve("org/lora").files()
    hub.tokens["secret-token-123"] = "read"
    assert "w.safetensors" in resolve("org/lora", token="secret-token-123").files()
    hub.private.clear()
    hub.gated.add("org/lora")
    with pytest.raises(SourceAccessError, match="gated") as err:
        resolve("org/lora", token="secret-token-123").files()
    assert "secret-token-123" not in str(err.value)


def test_no_network_is_a_network_error(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HFPROBE_HUB_BACKOFF", "0.01")  # refused connections are retried like resets

    saved = constants.ENDPOINT
    constants.ENDPOINT = "http://127.0.0.1:9"  # discard port: nothing listens
    try:
        with pytest.raises(NetworkError, match=r"cannot reach .*\(ConnectError, 3 tries\)"):
            resolve("org/lora").files()
    finally:
        constants.ENDPOINT = saved


def test_offline_mode_reads_the_cache_and_never_the_network(hub, lora_file, monkeypatch):
    from huggingface_hub import constants, hf_hub_download

    path, tensors = lora_file
    hf_hub_download("org/lora", "w.safetensors")
    hf_hub_download("org/lora", "README.md")
    seen = len(hub.requests)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    src = resolve("org/lora")
    assert src.files() == ["README.md", "w.safetensors"]
    f = src.open("w.safetensors")
    assert torch.equal(read_tensor(f, read_header(f), "a"), tensors["a"])
    assert len(hub.requests) == seen  # not one request
    with pytest.raises(NetworkError, match="HF_HUB_OFFLINE"):
        resolve("org/other").files()


def test_a_hub_error_for_a_misspelt_local_path_says_so(hub, tmp_path, monkeypatch):
    """`models/lora-v2` where ./models exists but holds no lora-v2 is read as a Hub repo (a local path of that spelling
    would win), and the Hub's error adds that a local folder was near; a repo id with no such folder gets none."""
    from huggingface_hub import constants

    monkeypatch.chdir(tmp_path)
    (tmp_path / "loras").mkdir()
    with pytest.raises(SourceNotFoundError, match="repo not found") as err:
        resolve("loras/lora-v2").files()
    assert "loras/ is a local folder without loras/lora-v2 in it; if you meant a path" in str(err.value)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(NetworkError, match="HF_HUB_OFFLINE.*loras/ is a local folder without loras/lora-v2"):
        resolve("loras/lora-v2@main").files()
    (tmp_path / "models").mkdir()  # `models/…` is no Hub repo id (hf://models/… names the repo type)
    with pytest.raises(SourceNotFoundError, match="not a Hub model .*models/ is a local folder without models/x"):
        resolve("models/x")
    with pytest.raises(NetworkError) as err:
        resolve("org/missing").files()
    assert "local folder" not in str(err.value)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    (tmp_path / "org").mkdir()
    assert "w.safetensors" in resolve("org/lora").files()  # a repo that exists is read, the local folder aside


def test_read_each_reads_each_distinct_file_once_in_the_order_asked(tmp_path):
    from hfprobe.source import resolve

    for name in ("a.bin", "b.bin"):
        (tmp_path / name).write_bytes(name.encode())
    reads = []
    with resolve(str(tmp_path)) as src:
        got = src.read_each(["b.bin", "a.bin", "b.bin"], lambda f: reads.append(f.name) or f.read(0, 1))
    assert got == [b"b", b"a", b"b"] and len(reads) == 2

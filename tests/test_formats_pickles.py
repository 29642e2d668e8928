"""hfprobe.formats on checkpoints, sharded files and pickles: tensors mapped, not copied, from zip pickles; nothing
executed; what it does not know refused with a reason; every file it opened closed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.errors import InvalidWeightsError, NoWeightsError, UnsafeFileError, UnsupportedFormatError
from hfprobe.formats import open_weights
from tests import builders as B
from tests.builders import check_deltas

torch.set_num_threads(1)


def test_vit_checkpoint_and_adapter_share_names(tmp_path):
    model, folder = B.save_checkpoint("vit", tmp_path / "ckpt")
    view = open_weights(folder)
    assert view.format == "transformers-checkpoint"
    # saved key vit.encoder.layer.0.attention.attention.query.weight -> in-memory vit.layers.0.attention.q_proj
    name = "vit.layers.0.attention.q_proj"
    assert name in view.modules and torch.equal(view.layer(name), model.state_dict()[name + ".weight"])
    peft_model, pfolder = B.peft_adapter("vit", tmp_path / "adapter")
    assert name in open_weights(pfolder).modules


def test_sharded_checkpoint(tmp_path):
    model, folder = B.save_checkpoint("llama", tmp_path, max_shard_size="20KB")
    assert (folder / "model.safetensors.index.json").exists()
    view = open_weights(folder)
    assert view.format == "transformers-checkpoint" and len(view.files) > 1
    for name in ("model.layers.1.mlp.down_proj", "lm_head", "model.embed_tokens"):
        assert torch.equal(view.layer(name), model.state_dict()[name + ".weight"])


def test_a_missing_shard_is_named_with_what_to_do(tmp_path):
    """A folder holding the index and some of its shards (a download by pattern, an upload that stopped) was refused
    with the first absent shard's path and "no such file"; the line now counts and names the missing ones, and the
    fix. One shard alone is still read."""
    from hfprobe.errors import SourceNotFoundError

    _, folder = B.save_checkpoint("llama", tmp_path, max_shard_size="20KB")
    shards = sorted(folder.glob("model-*.safetensors"))
    shards[-1].unlink()
    with pytest.raises(SourceNotFoundError, match=rf"1 of its {len(shards)} shard files is not here "
                       rf"\({shards[-1].name}\); fetch every shard"):  # fmt: skip
        open_weights(folder)
    assert open_weights(shards[0]).modules


def test_sharded_pickle_checkpoint_reads_every_shard_and_loads_one_when_asked(tmp_path):
    """`pytorch_model.bin.index.json` and its .bin shards (transformers 4's format before safetensors): read by
    their indexes alone, every shard; a layer's values load its own shard only. Before, the index was not
    recognised and one shard was read as the whole model (8 of the tiny Llama's 16 modules)."""
    model, folder = B.save_pickle_shards("llama", tmp_path / "bin")
    view = open_weights(folder)
    whole = open_weights(B.save_checkpoint("llama", tmp_path / "st")[1])
    assert view.files == [f"pytorch_model-0000{i}-of-00002.bin" for i in (1, 2)]
    assert view.format == whole.format and set(view.modules) == set(whole.modules)
    last = "model.layers.1.mlp.down_proj"
    assert torch.equal(view.layer(last), model.state_dict()[last + ".weight"])
    pending = {name for name, _ in view.store._pending.values()}
    assert [Path(n).name for n in pending] == [view.files[0]]  # the first shard is still known by its index alone
    index = json.loads((folder / "pytorch_model.bin.index.json").read_text())
    index["weight_map"][last + ".weight"] = "model-00001-of-00002.safetensors"
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps(index))
    with pytest.raises(InvalidWeightsError, match=r"not a \.bin file; re-export"):
        open_weights(folder)


def test_pickle_lora_loads_weights_only(tmp_path, unet_lora):
    B.save_pickle_lora(unet_lora[0], tmp_path)
    view = open_weights(tmp_path)
    assert view.format == "diffusers-lora-processor" and view.files == ["pytorch_lora_weights.bin"]
    assert {info.dtype for info in view.raw.values()} == {"F32"}
    check_deltas(view, {k: v / 2 for k, v in unet_lora[1].items()}, 1.0)


def _mapped_from(tensor: torch.Tensor, path) -> bool:
    """Whether the tensor's memory is a mapping of `path` (Linux: /proc/self/maps)."""
    ptr = tensor.data_ptr()
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split()
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        if lo <= ptr < hi:
            return len(parts) > 5 and parts[5] == str(path)
    return False


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="needs /proc/self/maps (Linux)")
def test_zip_pickles_are_mapped_not_copied_and_old_ones_still_load(tmp_path):
    weights = {"a.lora_A.weight": torch.randn(64, 768), "a.lora_B.weight": torch.randn(320, 64)}  # 280 kB
    torch.save(weights, tmp_path / "pytorch_lora_weights.bin")
    view = open_weights(tmp_path)
    size = (tmp_path / "pytorch_lora_weights.bin").stat().st_size
    assert view.bytes_read < size / 2  # named from its data.pkl and the archive directory alone
    tensor = view.tensor("a.lora_A.weight")
    assert torch.equal(tensor, weights["a.lora_A.weight"])
    assert _mapped_from(tensor, (tmp_path / "pytorch_lora_weights.bin").resolve())  # a view of the file: one copy
    assert view.bytes_read >= size  # then the whole file, mapped
    old = tmp_path / "old"
    old.mkdir()
    torch.save(weights, old / "pytorch_lora_weights.bin", _use_new_zipfile_serialization=False)
    view = open_weights(old)  # the pre-1.6 format cannot be mapped: checked, then loaded from the file
    assert torch.equal(view.tensor("a.lora_B.weight"), weights["a.lora_B.weight"])
    assert not _mapped_from(view.tensor("a.lora_B.weight"), (old / "pytorch_lora_weights.bin").resolve())


def test_malicious_pickle_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = B.save_malicious_pickle(tmp_path / "evil", marker)
    with pytest.raises(UnsafeFileError, match="refused"):
        open_weights(path)
    assert not marker.exists()
    # the same file really is an exploit when loaded the unsafe way (so the check above means something)
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_no_weights_folder(tmp_path):
    (tmp_path / "README.md").write_text("hello")
    with pytest.raises(NoWeightsError, match="no weights file"):
        open_weights(tmp_path)


def test_lora_shape_mismatch(tmp_path):
    save_file(
        {
            "unet.down_blocks.0.attn.to_q.lora.down.weight": torch.zeros(4, 16),
            "unet.down_blocks.0.attn.to_q.lora.up.weight": torch.zeros(16, 3),
        },
        str(tmp_path / "x.safetensors"),
    )
    with pytest.raises(InvalidWeightsError, match="do not fit"):
        open_weights(tmp_path / "x.safetensors")


def test_unknown_layout(tmp_path):
    save_file({"foo": torch.zeros(3), "bar_baz": torch.zeros(2, 2)}, str(tmp_path / "x.safetensors"))
    with pytest.raises(UnsupportedFormatError, match="unknown weights layout.*bar_baz"):
        open_weights(tmp_path / "x.safetensors")


def test_legacy_pickle_with_oversized_storage_is_refused(tmp_path):
    import io
    import pickletools
    import struct

    buf = io.BytesIO()
    torch.save({"w": torch.zeros(4)}, buf, _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    # declare 2**30 elements for the 16-byte storage: torch would allocate that before reading the bytes
    stream, out = io.BytesIO(data), bytearray()
    for i in range(5):
        last, chunks = stream.tell(), []
        for op, arg, pos in pickletools.genops(stream):
            if i == 3 and op.name == "BININT1" and arg == 4:
                chunks.append(data[last:pos] + b"J" + struct.pack("<i", 2**30))  # genops positions are absolute
                last = pos + 2
        chunks.append(data[last : stream.tell()])
        out += b"".join(chunks)
    out += data[stream.tell() :]
    (tmp_path / "big.bin").write_bytes(bytes(out))
    (tmp_path / "ok.bin").write_bytes(data)
    from hfprobe.formats.pickle_safe import load_tensors
    from hfprobe.source.resolve import resolve

    assert load_tensors(resolve(tmp_path / "ok.bin").open("ok.bin"))["w"].shape == (4,)  # the honest one loads
    with pytest.raises(InvalidWeightsError, match="declares a size"):
        open_weights(tmp_path / "big.bin")


@pytest.mark.parametrize("size", [50, 8000])  # a small set, and one over Presence.LARGE (pieces reasoned about)
def test_presence_never_misses_a_literal(size):
    import random

    from hfprobe.formats.presence import LARGE, Presence
    from hfprobe.tree.registry import families, layout

    rng = random.Random(size)
    alphabet = "abcdefgh_." * 4 + "0123456789"  # digits split literals into pieces; mostly long ones here
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 120))) for _ in range(size)]
    names += ["unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k", "lora_te1_text_model_é\\u00e9"]
    present = Presence(names)
    assert (len("\n".join(names)) > LARGE) == (size > 1000)
    reg = families()
    literals = {lit for kp, *_ in reg["_rules"] for _, lit in kp.variants if lit}
    literals |= {lit for f in reg["families"] for kp, _, _ in layout(f)[0] for _, lit in kp.variants if lit}
    for name in rng.sample(names, 40):  # pieces of real names, in every length
        i = rng.randrange(len(name))
        literals |= {name[i : i + n] for n in (1, 2, 5, 12, 40)}
    literals |= {"".join(rng.choice(alphabet) for _ in range(n)) for n in (3, 4, 6, 9) for _ in range(30)}
    for lit in sorted(literals, key=lambda _: rng.random()):  # any order: the reasoning must hold in every order
        found = present(lit)  # (absent ones asked too: what is learnt from them must not hide present ones)
        assert found or not any(lit in n for n in names), lit
    assert not present("mask_decoder") and present("attn2_to_k") and present("down_blocks_7")


def test_pickle_index_equals_torch_load(tmp_path, realzoo):
    """The torch-free index of a zip-format pickle names the tensors, dtypes and shapes torch.load gives (the
    oracle), on the realzoo pickles and on a fixture with nesting, a Lightning `state_dict` and a Parameter; the
    tensors themselves are read on the first layer() and checked against the index."""
    from hfprobe.formats.pickle_safe import load_tensors, read_index
    from hfprobe.source.resolve import resolve

    nested = tmp_path / "nested.ckpt"
    torch.save(
        {"state_dict": {"a": {"b": torch.randn(3, 4).half()}, "p": torch.nn.Parameter(torch.ones(2, 2))}, "step": 7},
        nested,
    )
    pickles = [nested] + sorted(realzoo.glob("files/*/*.bin"))
    assert len(pickles) >= 4
    for path in pickles:
        with resolve(str(path)) as src:
            f = src.open(src.default_file)
            index = read_index(f)
            full = load_tensors(f)
        assert index is not None, path
        assert {k: (i.dtype, i.shape) for k, i in index.items()} == {
            k: ({"torch.float32": "F32", "torch.float16": "F16"}[str(t.dtype)], tuple(t.shape)) for k, t in full.items()
        }, path
    view = open_weights(str(pickles[-1]))
    assert view.bytes_read < pickles[-1].stat().st_size / 10  # the index, not the tensors
    name = next(iter(view.modules))
    assert view.layer(name).shape == (view.modules[name].d_out, view.modules[name].d_in)


def test_pickle_index_refuses_what_it_does_not_know(tmp_path):
    """An unknown global, an old-format pickle or a damaged archive: no index, so torch.load decides (and a hostile
    pickle is still refused as unsafe, never run)."""
    from hfprobe.formats.pickle_safe import read_index
    from hfprobe.source.resolve import resolve

    old = tmp_path / "old.bin"
    torch.save({"w": torch.zeros(2, 2)}, old, _use_new_zipfile_serialization=False)
    marker = tmp_path / "ran"
    hostile = B.save_malicious_pickle(tmp_path / "evil", marker)
    damaged = tmp_path / "damaged.bin"
    torch.save({"w": torch.zeros(2, 2)}, damaged)
    damaged.write_bytes(damaged.read_bytes()[:-40])
    for path in (old, hostile, damaged):
        with resolve(str(path)) as src:
            assert read_index(src.open(src.default_file)) is None, path
    with pytest.raises(UnsafeFileError):
        open_weights(str(hostile))
    assert not marker.exists()


def test_a_refused_file_is_closed_not_left_to_the_garbage_collector(tmp_path):
    """open_weights closes the files of a source it opened itself when it refuses them (no ResourceWarning)."""
    import gc
    import warnings

    from safetensors.torch import save_file

    from hfprobe.errors import UnsupportedFormatError
    from hfprobe.formats import open_weights

    save_file({"no_module_here": torch.zeros(2, 2)}, str(tmp_path / "odd.safetensors"))
    gc.collect()  # other tests' leftovers are not this test's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(UnsupportedFormatError):
            open_weights(str(tmp_path / "odd.safetensors"))
        gc.collect()
    ours = [w for w in caught if issubclass(w.category, ResourceWarning) and "odd.safetensors" in str(w.message)]
    assert not ours, [str(w.message) for w in ours]

"""Reads pinned to one commit, companions in the Hugging Face cache for offline reruns, pickles and shards
read in ranges and side by side.
"""

from __future__ import annotations

import json
import re

import pytest
import torch

from hfprobe.errors import NetworkError, SourceAccessError, SourceNotFoundError
from hfprobe.source.resolve import resolve
from hfprobe.source.safetensors import read_header, read_tensor
from tests.fakehub import FakeHub

from .faults import (
    LAYER3,
    LAYERS,
    REPO,
    WEIGHTS,
    adapter_files,
    asked_range,
    is_weights_get,
    read_layer,
    repo_file,
    send,
    slow_requests,
)


def test_a_push_between_two_reads_does_not_mix_revisions(hub):
    src = resolve(REPO)
    sha = src.revision_sha
    assert sha == hub.sha(REPO)
    f = src.open(WEIGHTS)
    hdr = read_header(f)
    new_files, _ = adapter_files(seed=1)
    assert hub.push(REPO, new_files) != sha  # a new commit on main between the header and the tensors
    assert torch.equal(read_tensor(f, hdr, LAYER3), hub.tensors[LAYER3])  # the old commit's tensor
    assert src.read_text("README.md").rstrip().endswith("seed 0")  # and the old commit's card
    paths = [p for m, p, _ in hub.requests if "/resolve/" in p]
    assert paths and all(f"/resolve/{sha}/" in p for p in paths), paths
    assert resolve(REPO).revision_sha == hub.sha(REPO) != sha  # a new run reads the new commit


def test_companions_land_in_the_cache_and_an_offline_rerun_answers_from_it(hub, monkeypatch):
    from huggingface_hub import constants, try_to_load_from_cache

    from hfprobe.tree.inspect import inspect_source

    online = inspect_source(REPO)
    sha = online["revision_sha"]
    for name in ("README.md", "adapter_config.json"):
        assert isinstance(try_to_load_from_cache(REPO, name, revision=sha), str), name
    assert try_to_load_from_cache(REPO, WEIGHTS, revision=sha) is None  # weights stay ranged reads
    seen = len(hub.requests)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    offline = inspect_source(REPO)
    assert len(hub.requests) == seen  # not one request
    for key in ("revision_sha", "format", "family", "root", "declared", "modules", "rank"):
        assert offline[key] == online[key], key
    with pytest.raises(NetworkError, match="only .* bytes of this file \\(what indexes it\\) are cached"):
        read_layer(resolve(REPO))  # tensors were never cached
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert torch.equal(read_layer(resolve(REPO)), hub.tensors[LAYER3])


def test_a_remote_pickle_is_indexed_in_ranges_and_downloaded_only_for_its_tensors(hub, monkeypatch):
    """A zip-format pickle's names and shapes are in its directory (at the end) and data.pkl (at the start):
    `inspect` reads those in ranges and an offline rerun answers from them; the tensors come whole through the Hub
    cache, within the --max-download cap, only when a layer is read. Before, every remote pickle was downloaded
    whole for `inspect`, and one over the cap (2 GiB by default: any 7B pytorch_model.bin) was refused."""
    import io

    from huggingface_hub import constants, try_to_load_from_cache

    from hfprobe.formats import open_weights
    from hfprobe.tree.inspect import inspect_source

    buf = io.BytesIO()
    torch.save({k: v for k, v in hub.tensors.items()}, buf)
    size = len(buf.getvalue())
    hub.add_repo(
        "org/pickled",
        {"adapter_model.bin": buf.getvalue(), "adapter_config.json": repo_file(hub, "adapter_config.json")},
    )
    view = open_weights("org/pickled")
    assert view.format == "peft" and len(view.modules) == LAYERS
    sha = view.source.revision_sha
    assert view.source.bytes_read < size / 4
    assert try_to_load_from_cache("org/pickled", "adapter_model.bin", revision=sha) is None
    module = next(iter(view.modules))
    assert sorted(view.layer(module).shape) == [768, 2304]  # now the tensors are needed: downloaded into the cache
    assert isinstance(try_to_load_from_cache("org/pickled", "adapter_model.bin", revision=sha), str)

    hub.add_repo("org/pickled2", {"adapter_model.bin": buf.getvalue()})
    online = inspect_source("org/pickled2")
    seen = len(hub.requests)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    offline = inspect_source("org/pickled2")  # from the cached directory and data.pkl: not one request
    assert len(hub.requests) == seen and offline["modules"] == online["modules"] == LAYERS
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HFPROBE_MAX_DOWNLOAD", "100KB")
    view = open_weights("org/pickled2")
    assert len(view.modules) == LAYERS  # the index needs no download, whatever the cap
    with pytest.raises(SourceAccessError, match=r"over the 100000-byte limit .* raise --max-download"):
        view.layer(module)
    bins = [h for m, p, h in hub.requests[seen:] if p.endswith(".bin")]
    assert bins and all("Range" in h for h in bins)  # ranged reads of the index only: refused before any download


def test_a_sharded_pickle_checkpoint_on_the_hub_is_read_by_its_indexes(hub, tmp_path):
    """pytorch_model.bin.index.json and its shards (most full checkpoints from before safetensors): every shard's
    names and shapes from two ranged reads of it (its first 64 KiB and its last), nothing downloaded."""
    from hfprobe.formats import open_weights
    from tests.builders import save_pickle_shards

    _, folder = save_pickle_shards("llama", tmp_path / "ckpt")
    hub.add_repo("org/sharded", {p.name: p.read_bytes() for p in folder.iterdir()})
    seen = len(hub.requests)
    view = open_weights("org/sharded")
    assert len(view.files) == 2 and len(view.modules) == 16 and view.format == "transformers-checkpoint"
    reads = [(p.rsplit("/", 1)[-1], h.get("Range")) for m, p, h in hub.requests[seen:] if p.endswith(".bin")]
    assert len(reads) == 4 and all(r for _, r in reads), reads  # two ranged GETs a shard


@pytest.mark.parametrize("kind", ["safetensors", "pickle"])
def test_a_sharded_checkpoint_s_shards_are_read_side_by_side(hub, tmp_path, kind):
    """A large model comes in tens of shards (Llama 3 70B: 30; DeepSeek-V3: 163), each header a round trip away:
    they are read at once (`Source.read_each`), and the view is the one the local folder gives."""
    from hfprobe.formats import open_weights
    from tests.builders import save_checkpoint, save_pickle_shards

    if kind == "safetensors":
        _, folder = save_checkpoint("llama", tmp_path / "ckpt", max_shard_size="8KB")
    else:
        _, folder = save_pickle_shards("llama", tmp_path / "ckpt", shards=4)
    shards = sorted(p.name for p in folder.iterdir() if p.name.startswith(("model-", "pytorch_model-")))
    assert len(shards) >= 4
    hub.add_repo("org/sharded", {p.name: p.read_bytes() for p in folder.iterdir()})
    most = slow_requests(hub, lambda path: path.rsplit("/", 1)[-1] in shards)
    with resolve("org/sharded") as src:
        view = open_weights(src)
        local = open_weights(str(folder))
        assert view.files == local.files and view.format == local.format
        assert view.modules == local.modules and len(view.modules) > 8
    assert most[0] >= 2, "the shards were read one after another"


@pytest.mark.parametrize("command", ["inspect", "predict"])
def test_a_batch_of_repos_is_answered_side_by_side_and_printed_in_order(hub, capsys, command, tmp_path, monkeypatch):
    """`hfprobe inspect` (or `predict`) of several repos answers them at once (a repo's answer is mostly round trips)
    and prints them in the order given, a bad one as its line in its place."""
    from hfprobe.cli import main

    monkeypatch.setenv("HFPROBE_EXPERTS", str(tmp_path / "no-experts"))

    files = {n: (hub.repo_dir(REPO) / n).read_bytes() for n in hub.files(REPO)}
    names = [f"org/batch-{i}" for i in range(4)]
    for name in names:
        hub.add_repo(name, files)
    most = slow_requests(hub, lambda path: path.startswith("/api/models/org/batch-"))  # each repo's listing
    specs = [names[0], "org/no-such-repo", *names[1:]]
    assert main([command, *specs, "--json"]) == 1  # one of the batch failed
    out = capsys.readouterr()
    answers = [json.loads(line) for line in out.out.splitlines()]
    assert [a["source"] for a in answers] == specs
    assert [a.get("status") for a in answers] == [None, "failed", None, None, None]
    families = [a.get("family") or a["tree"]["family"] for a in answers if a.get("status") != "failed"]
    assert families == ["gpt2"] * 4
    assert out.err.count("hfprobe: error: ") == 1 and "org/no-such-repo" in out.err
    assert most[0] >= 2, "the repos were inspected one after another"


def test_a_batch_of_local_files_is_answered_in_the_main_thread(tmp_path, monkeypatch, capsys):
    """Threads help only where answers wait for a server: local files are answered one after another."""
    import threading

    import hfprobe.tree.inspect as ti
    from hfprobe.cli import main

    threads = []
    monkeypatch.setattr(
        ti, "inspect_source", lambda spec, token=None: threads.append(threading.current_thread()) or {"source": spec}
    )
    specs = [str(tmp_path / f"w{i}.safetensors") for i in range(3)]
    for spec in specs:
        open(spec, "wb").close()
    assert main(["inspect", *specs, "--json"]) == 0
    assert [json.loads(line)["source"] for line in capsys.readouterr().out.splitlines()] == specs
    assert threads == [threading.main_thread()] * 3


def test_a_missing_shard_is_named_in_the_index_s_order(hub, tmp_path):
    from hfprobe.formats import open_weights
    from tests.builders import save_checkpoint

    _, folder = save_checkpoint("llama", tmp_path / "ckpt", max_shard_size="8KB")
    shards = sorted(p.name for p in folder.glob("model-*.safetensors"))
    hub.add_repo("org/gappy", {p.name: p.read_bytes() for p in folder.iterdir() if p.name not in shards[1:3]})
    missing = f"2 of its {len(shards)} shard files are not here ({shards[1]}, {shards[2]}); fetch every shard"
    with pytest.raises(SourceNotFoundError, match=re.escape(missing)):
        open_weights("org/gappy")


def test_companions_download_side_by_side_with_the_weights(hub):
    """inspect starts the card and config downloads before it reads the weights (`Source.prefetch`), so their
    round trips overlap: here the weights are answered only once the card has been asked for, which a run that
    reads one file after the other never does (its weights read fails with 503s)."""
    import threading

    from hfprobe.tree.inspect import inspect_source

    card_asked = threading.Event()

    def fault(req, method, path):
        if path.endswith("/README.md"):
            card_asked.set()
        elif is_weights_get(method, path) and not card_asked.wait(3):
            return send(req, 503, {"Content-Length": 0})
        return False

    hub.fault = fault
    report = inspect_source(REPO)
    assert report["family"] == "gpt2" and report["declared"]["README.md base_model"] == "openai-community/gpt2"


def test_weights_the_hub_redirects_to_its_storage_are_read_there_in_ranges_without_the_token(tmp_path):
    """The Hub answers a weights GET with a redirect to its storage, another host (a signed URL): the ranged reads
    follow it with their Range, and the token of a private repo is never sent there."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hub = FakeHub(tmp_path / "hub")
    files, tensors = adapter_files()
    hub.add_repo(REPO, files)
    hub.private.add(REPO)
    hub.tokens["hf_secret_token_42"] = "read"
    data, seen = files[WEIGHTS], []

    class Storage(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append({k.lower(): v for k, v in self.headers.items()})
            first, last = asked_range(self)
            last = min(last, len(data) - 1)
            headers = {"Content-Range": f"bytes {first}-{last}/{len(data)}", "Content-Length": last - first + 1}
            send(self, 206, headers, data[first : last + 1])

    storage = ThreadingHTTPServer(("127.0.0.1", 0), Storage)
    threading.Thread(target=storage.serve_forever, daemon=True).start()
    signed = f"http://127.0.0.1:{storage.server_port}/xet/{WEIGHTS}?X-Signature=abc"
    hub.fault = lambda req, method, path: (
        is_weights_get(method, path) and send(req, 302, {"Location": signed, "Content-Length": 0})
    )
    try:
        with hub.serving():
            src = resolve(REPO, token="hf_secret_token_42")
            assert torch.equal(read_layer(src), tensors[LAYER3])
            assert src.bytes_read < len(data) // 2
    finally:
        storage.shutdown()
        storage.server_close()
    assert len(seen) >= 2 and all("range" in h for h in seen)  # the header, then the layer
    assert not any("authorization" in h for h in seen)


def test_speculative_first_read_covers_prefix_and_header(hub):
    src = resolve(REPO)
    f = src.open(WEIGHTS)
    hdr = read_header(f)
    size = len(repo_file(hub))
    ranges = [h.get("Range") for m, p, h in hub.requests if is_weights_get(m, p)]
    assert ranges == [f"bytes=0-{min(64 * 1024, size // 8) - 1}"]  # one GET, no separate bytes=0-7
    assert hdr.data_offset < 64 * 1024 and src.bytes_read == min(64 * 1024, size // 8)

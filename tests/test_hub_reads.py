"""Hub reads under faults: every request bounded in time and size, retried when that can help, pinned to one
commit, cached for offline reruns. The servers are tests/fakehub.py with `hub.fault` hooks that hang, stall,
hang up, fail, rate-limit, or send too little or too much. Timeouts are 1 s and backoff 0.05 s here.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import subprocess
import sys
import time
import tracemalloc

import pytest
import torch
from safetensors.torch import save

from hfprobe.errors import InvalidWeightsError, NetworkError, SourceAccessError, SourceNotFoundError, UsageError
from hfprobe.source.resolve import resolve, with_revision
from hfprobe.source.safetensors import read_header, read_tensor
from tests.fakehub import FakeHub

REPO, WEIGHTS = "org/adapter", "adapter_model.safetensors"
LAYERS = 12
LAYER3 = "base_model.model.transformer.h.3.attn.c_attn.lora_B.weight"  # the tensor the tests read


@pytest.fixture(autouse=True)
def fast_network(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 1)
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 1)
    monkeypatch.setenv("HFPROBE_HUB_BACKOFF", "0.05")
    for var in ("HFPROBE_HUB_RETRIES", "HFPROBE_MAX_DOWNLOAD", "HFPROBE_MAX_UNRANGED"):
        monkeypatch.delenv(var, raising=False)


def adapter_files(seed: int = 0, r: int = 4) -> tuple[dict[str, bytes | str], dict[str, torch.Tensor]]:
    """A PEFT LoRA on GPT-2's c_attn (12 layers, about 600 kB) with its config and a card."""
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for i in range(LAYERS):
        key = f"base_model.model.transformer.h.{i}.attn.c_attn"
        tensors[f"{key}.lora_A.weight"] = torch.randn(r, 768, generator=g)
        tensors[f"{key}.lora_B.weight"] = torch.randn(2304, r, generator=g)
    config = {
        "peft_type": "LORA",
        "base_model_name_or_path": "openai-community/gpt2",
        "r": r,
        "lora_alpha": 2 * r,
        "target_modules": ["c_attn"],
        "fan_in_fan_out": True,
    }
    files = {
        WEIGHTS: save(tensors),
        "adapter_config.json": json.dumps(config),
        "README.md": f"---\nbase_model: openai-community/gpt2\n---\nseed {seed}\n",
    }
    return files, tensors


@pytest.fixture()
def hub(tmp_path):
    hub = FakeHub(tmp_path / "hub")
    files, tensors = adapter_files()
    hub.add_repo(REPO, files)
    hub.tensors = tensors
    with hub.serving():
        yield hub


def _file(hub, name=WEIGHTS) -> bytes:
    return (hub.repo_dir(REPO) / name).read_bytes()


def _layer(src, i=3):
    f = src.open(WEIGHTS)
    hdr = read_header(f)
    return read_tensor(f, hdr, f"base_model.model.transformer.h.{i}.attn.c_attn.lora_B.weight")


# ---- raw replies a fault hook writes ---------------------------------------------------------------------------
def send(req, status: int, headers: dict, body: bytes = b"") -> bool:
    req.send_response(status)
    for k, v in headers.items():
        req.send_header(k, str(v))
    req.end_headers()
    try:
        req.wfile.write(body)
        req.wfile.flush()
    except OSError:
        pass
    return True


def hang_up(req) -> bool:
    """Close the connection with a reset, sending nothing."""
    req.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    req.close_connection = True
    return True


def endless(hub, req, first: bytes = b"", chunk: bytes = b"\0" * 65536) -> None:
    """Write `first`, then `chunk` again and again until the client leaves or the server stops."""
    try:
        req.wfile.write(first)
        while not hub.closing.is_set():
            req.wfile.write(chunk)
    except OSError:
        pass
    req.close_connection = True


def asked_range(req) -> tuple[int, int]:
    a, b = req.headers["Range"].split("=")[1].split("-")
    return int(a), int(b)


def is_weights_get(method, path) -> bool:
    return method == "GET" and path.endswith("/" + WEIGHTS)


# ---- time bounds ---------------------------------------------------------------------------------------------
def test_a_server_that_never_answers_fails_within_timeout_plus_retries(hub):
    hub.fault = lambda req, method, path: hub.closing.wait(30) or True
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match=r"no answer from .* within 1 s \(3 tries\)") as err:
        resolve(REPO).files()
    elapsed = time.perf_counter() - t0
    assert 3.0 <= elapsed < 3 * 1 + 0.05 + 0.1 + 3, elapsed  # three 1 s timeouts, two short waits, a busy machine
    assert "\n" not in str(err.value)


def test_cli_against_a_silent_server_exits_2_with_one_line(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepts connections (the kernel does) and never answers
    env = {
        "HF_ENDPOINT": f"http://127.0.0.1:{listener.getsockname()[1]}",
        "HF_HUB_DOWNLOAD_TIMEOUT": "1",
        "HF_HUB_ETAG_TIMEOUT": "1",
        "HFPROBE_HUB_BACKOFF": "0.1",
        "HF_HUB_DISABLE_TELEMETRY": "1",  # else huggingface_hub first asks the silent server for a registry (3 s)
        "HF_HOME": str(tmp_path / "hf"),
        "HFPROBE_CACHE": str(tmp_path / "cache"),
        "PATH": "/usr/bin:/bin",
    }
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "hfprobe", "inspect", "org/name"], env=env, capture_output=True, text=True, timeout=60
    )
    elapsed = time.perf_counter() - t0
    listener.close()
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no answer" in lines[0] and "3 tries" in lines[0], proc.stderr
    assert elapsed < 20, elapsed  # 3 s of timeouts plus the interpreter's start


def test_a_stall_mid_body_is_retried_then_answered(hub):
    data, stalls = _file(hub), []

    def stall_first(req, method, path):
        if is_weights_get(method, path) and not stalls:
            stalls.append(path)
            first, last = asked_range(req)
            headers = {"Content-Range": f"bytes {first}-{last}/{len(data)}", "Content-Length": last - first + 1}
            send(req, 206, headers, data[first : first + (last - first) // 2])
            hub.closing.wait(5)  # half the body, then silence past the 1 s read timeout
            req.close_connection = True
            return True
        return False

    hub.fault = stall_first
    src = resolve(REPO)
    assert torch.equal(_layer(src), hub.tensors[LAYER3])
    assert stalls


@pytest.mark.parametrize("fault", ["reset", "500", "429"])
def test_transient_failures_are_retried_and_the_answer_is_right(hub, fault):
    failed = []

    def flaky(req, method, path):
        if len(failed) >= 2:  # the first two requests fail, whatever they are
            return False
        failed.append((method, path))
        if fault == "reset":
            return hang_up(req)
        if fault == "500":
            return send(req, 500, {"Content-Length": 5}, b"oops!")
        return send(req, 429, {"Retry-After": "1", "Content-Length": 0})

    hub.fault = flaky
    t0 = time.perf_counter()
    src = resolve(REPO)
    assert torch.equal(_layer(src), hub.tensors[LAYER3])
    assert len(failed) == 2
    if fault == "429":  # Retry-After is honoured: two waits of 1 s
        assert time.perf_counter() - t0 >= 2.0


def test_cli_answers_right_when_the_first_two_requests_are_dropped(hub, capsys):
    from hfprobe.cli import main

    dropped = []
    hub.fault = lambda req, method, path: len(dropped) < 2 and (dropped.append(path) or hang_up(req))
    assert main(["inspect", REPO, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(dropped) == 2 and report["format"] == "peft" and report["family"] == "gpt2"
    assert report["revision_sha"] == hub.sha(REPO)


def test_a_long_retry_after_is_refused_at_once(hub):
    hub.fault = lambda req, method, path: send(req, 429, {"Retry-After": "3600", "Content-Length": 0})
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match="rate-limiting .*3600 s"):
        resolve(REPO).files()
    assert time.perf_counter() - t0 < 1.0


def test_persistent_server_errors_end_in_one_network_line(hub):
    hub.fault = lambda req, method, path: send(req, 503, {"Content-Length": 4}, b"down")
    with pytest.raises(NetworkError, match=r"HTTP 503 \(3 tries\); try again later"):
        resolve(REPO).files()


def test_a_companion_download_that_hangs_is_bounded_too(hub):
    """huggingface_hub retries a failed HEAD for a minute per try; hfprobe's own HEAD fails first."""
    hub.fault = lambda req, method, path: method == "HEAD" and (hub.closing.wait(30) or True)
    src = resolve(REPO)
    src.files()
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match="no answer"):
        src.read_text("README.md")
    assert time.perf_counter() - t0 < 5


def trickle(hub, req, data: bytes, first: int, last: int, status: int = 206) -> bool:
    """Answer the range with its headers at once, then one byte every 0.2 s (never long enough silent to hit
    the read timeout) until the client leaves or the server stops."""
    headers = {"Content-Length": last - first + 1, "ETag": '"e"'}
    if status == 206:
        headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
    send(req, status, headers)
    try:
        for i in range(first, last + 1):
            if hub.closing.wait(0.2):
                break
            req.wfile.write(data[i : i + 1])
            req.wfile.flush()
    except OSError:
        pass
    req.close_connection = True
    return True


def test_a_server_that_trickles_the_weights_is_a_stall_within_its_budget(hub):
    data = _file(hub)

    def slow(req, method, path):
        if is_weights_get(method, path):
            return trickle(hub, req, data, *asked_range(req))
        return False

    src = resolve(REPO)
    src.files()
    hub.fault = slow
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match=r"slower than 1 MiB per 1 s \(3 tries\)") as err:
        _layer(src)
    elapsed = time.perf_counter() - t0
    assert 3.0 <= elapsed < 3 * 1.1 + 0.15 + 3, elapsed  # three budgets of ~1.06 s, two short waits, a busy machine
    assert "\n" not in str(err.value)


def test_a_companion_download_that_trickles_is_bounded_too(hub):
    """hf_hub_download resets its retries whenever a byte arrives; hfprobe holds it to the same rate."""
    files, _ = adapter_files()
    files["README.md"] = "a card no other test caches: " + "x" * 200
    hub.add_repo("org/slow-card", files)
    readme = files["README.md"].encode()

    def slow(req, method, path):
        if method == "GET" and path.endswith("/README.md"):
            return trickle(hub, req, readme, 0, len(readme) - 1, status=200)
        return False

    src = resolve("org/slow-card")
    src.files()
    hub.fault = slow
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match="did not finish within"):
        src.read_text("README.md")
    assert time.perf_counter() - t0 < 3 * (1 + 1.01) + 0.15 + 3


# ---- replies of the wrong size ---------------------------------------------------------------------------------
def test_a_short_206_is_a_network_error_not_a_file_error(hub):
    data = _file(hub)

    def short(req, method, path):
        if not is_weights_get(method, path):
            return False
        first, last = asked_range(req)
        body = data[first : first + 100]  # consistent headers, too few bytes
        return send(req, 206, {"Content-Range": f"bytes {first}-{first + 99}/{len(data)}", "Content-Length": 100}, body)

    hub.fault = short
    src = resolve(REPO)
    with pytest.raises(NetworkError, match=r"sent 100 of the \d+ bytes asked from byte 0 \(3 tries\)") as err:
        read_header(src.open(WEIGHTS))
    assert not isinstance(err.value, InvalidWeightsError)


def test_a_body_cut_short_is_retried(hub):
    data, cut = _file(hub), []

    def cut_once(req, method, path):
        if not is_weights_get(method, path) or cut:
            return False
        cut.append(1)
        first, last = asked_range(req)
        headers = {"Content-Range": f"bytes {first}-{last}/{len(data)}", "Content-Length": last - first + 1}
        send(req, 206, headers, data[first : first + 10])
        return hang_up(req)

    hub.fault = cut_once
    assert torch.equal(_layer(resolve(REPO)), hub.tensors[LAYER3])
    assert cut


def test_an_oversized_206_is_cut_at_what_was_asked(hub):
    data = _file(hub)

    def oversized(req, method, path):
        if not is_weights_get(method, path):
            return False
        first, _ = asked_range(req)
        req.send_response(206)
        req.send_header("Content-Range", f"bytes {first}-{first + 2**30 - 1}/{len(data)}")
        req.end_headers()  # no length: a gigabyte of "reply" follows
        endless(hub, req, data[first:])
        return True

    hub.fault = oversized
    src = resolve(REPO)
    assert torch.equal(_layer(src), hub.tensors[LAYER3])
    assert src.bytes_read < len(data) / 4


def test_a_range_ignoring_server_is_read_whole_when_small_and_refused_past_the_cap(hub, monkeypatch):
    hub.honour_range = False
    data = _file(hub)
    src = resolve(REPO)
    assert torch.equal(_layer(src), hub.tensors[LAYER3])
    assert src.range_ignored and src.bytes_read == len(data)  # the whole body, once, under the 64 MiB cap

    monkeypatch.setenv("HFPROBE_MAX_UNRANGED", "128KiB")
    src = resolve(REPO)
    hdr = read_header(src.open(WEIGHTS))  # the header lies in the first 64 kB: readable
    assert src.range_ignored and src.bytes_read <= 128 * 1024
    last = f"base_model.model.transformer.h.{LAYERS - 1}.attn.c_attn.lora_B.weight"
    with pytest.raises(NetworkError, match=r"ignored Range .* over the 131072-byte limit; raise --max-unranged"):
        read_tensor(src.open(WEIGHTS), hdr, last)
    assert src.bytes_read <= 128 * 1024


def test_an_endless_body_that_ignores_range_is_refused_at_the_cap(hub, monkeypatch):
    monkeypatch.setenv("HFPROBE_MAX_UNRANGED", "1MiB")
    hub.honour_range = False

    def endless_200(req, method, path):
        if not is_weights_get(method, path):
            return False
        req.send_response(200)
        req.end_headers()  # no length, never ends
        endless(hub, req, _file(hub))
        return True

    hub.fault = endless_200
    src = resolve(REPO)
    src._pin()
    src._sizes[WEIGHTS] = None  # as from a server whose listing gives no sizes
    with pytest.raises(NetworkError, match="ignored Range and sends more than the 1048576-byte limit without saying"):
        read_header(src.open(WEIGHTS))
    assert src.range_ignored and src.bytes_read <= 1024 * 1024


def test_memory_stays_bounded_whatever_the_server_sends(hub):
    """A gigabyte 206, an endless 200, an endless listing and an endless error body: under 100 MB each."""
    data = _file(hub)

    def flood(kind):
        def fault(req, method, path):
            if kind == "listing" and path.startswith("/api/models/"):
                req.send_response(200)
                req.send_header("Content-Type", "application/json")
                req.end_headers()
                endless(hub, req, b'{"sha": "' + b"a" * 40 + b'", "siblings": [', b'{"rfilename": "x"},' * 4096)
                return True
            if kind == "error" and path.startswith("/api/models/"):
                req.send_response(500)
                req.end_headers()
                endless(hub, req)
                return True
            if not is_weights_get(method, path):
                return False
            first, _ = asked_range(req)
            req.send_response(206 if kind == "206" else 200)
            if kind == "206":
                req.send_header("Content-Range", f"bytes {first}-{first + 2**30 - 1}/{len(data)}")
            req.end_headers()
            endless(hub, req, data[first:] if kind == "206" else data)
            return True

        return fault

    peaks = {}
    for kind in ("206", "200", "listing", "error"):
        hub.fault = flood(kind)
        tracemalloc.start()
        try:
            src = resolve(REPO)
            src.max_unranged = 64 * 2**20
            if kind == "200":
                src._pin()
                src._sizes[WEIGHTS] = None
            if kind == "206":  # cut at what was asked: the right tensor
                assert torch.equal(_layer(src), hub.tensors[LAYER3])
            else:  # refused at the cap: an endless body, a listing over 16 MB, an endless error
                with pytest.raises(NetworkError):
                    _layer(src)
        finally:
            peaks[kind] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    print("peaks MB", {k: round(v / 2**20, 1) for k, v in peaks.items()})
    assert all(peak < 100 * 2**20 for peak in peaks.values()), peaks


# ---- pinned, cached, offline -----------------------------------------------------------------------------------
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
        _layer(resolve(REPO))  # tensors were never cached
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert torch.equal(_layer(resolve(REPO)), hub.tensors[LAYER3])


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
        "org/pickled", {"adapter_model.bin": buf.getvalue(), "adapter_config.json": _file(hub, "adapter_config.json")}
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


def slow_requests(hub, which, seconds: float = 0.2) -> list[int]:
    """Requests whose path `which` picks take `seconds` each, as from far away; returns [the most under way at once]."""
    import threading

    lock, in_flight, most = threading.Lock(), [0], [0]

    def fault(req, method, path):
        if which(path):
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            time.sleep(seconds)
            with lock:
                in_flight[0] -= 1
        return False

    hub.fault = fault
    return most


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
    with pytest.raises(SourceNotFoundError, match=re.escape(shards[1]) + ": file not found in the repo"):
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
            assert torch.equal(_layer(src), tensors[LAYER3])
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
    size = len(_file(hub))
    ranges = [h.get("Range") for m, p, h in hub.requests if is_weights_get(m, p)]
    assert ranges == [f"bytes=0-{min(64 * 1024, size // 8) - 1}"]  # one GET, no separate bytes=0-7
    assert hdr.data_offset < 64 * 1024 and src.bytes_read == min(64 * 1024, size // 8)


# ---- spec forms ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, repo, rev, path",
    [
        ("https://huggingface.co/org/name", "org/name", None, None),
        ("https://huggingface.co/org/name/tree/dev", "org/name", "dev", None),
        ("https://huggingface.co/org/name/tree/refs%2Fpr%2F2", "org/name", "refs/pr/2", None),
        ("https://huggingface.co/org/name/blob/v1/sub/w.safetensors", "org/name", "v1", "sub/w.safetensors"),
        (
            "https://huggingface.co/org/name/resolve/main/w.safetensors?download=true",
            "org/name",
            "main",
            "w.safetensors",
        ),
        ("https://hf.co/org/name", "org/name", None, None),
        ("huggingface.co/org/name", "org/name", None, None),
        ("hf://models/org/name@refs/pr/3/w.safetensors", "org/name", "refs/pr/3", "w.safetensors"),
        ("org/name@refs/pr/3", "org/name", "refs/pr/3", None),
    ],
)
def test_hub_urls_and_uris(spec, repo, rev, path):
    src = resolve(spec)
    assert (src.kind, src.repo_id, src.revision, src.default_file) == ("hub", repo, rev, path)


def test_the_endpoints_own_urls_are_accepted(hub):
    src = resolve(f"{hub.endpoint}/{REPO}/tree/main")
    assert (src.repo_id, src.revision) == (REPO, "main")
    assert WEIGHTS in src.files()


def test_a_folder_of_a_hub_repo_is_read_as_the_model_in_it(hub, capsys):
    """A repo holding several runs' folders: the URL of one folder (what the Hub's file browser shows), its hf://
    form and its predict all read the model in that folder; a folder of two models still asks for one."""
    from hfprobe.cli import main

    files = {n: (hub.repo_dir(REPO) / n).read_bytes() for n in hub.files(REPO)}
    other, _ = adapter_files(seed=1)
    hub.add_repo("org/runs", {f"final/{n}": v for n, v in files.items()} | {f"draft/{n}": v for n, v in other.items()})
    hub.add_repo(
        "org/runs", {f"both/a/{n}": v for n, v in files.items()} | {f"both/b/{n}": v for n, v in other.items()}
    )
    for spec in (f"{hub.endpoint}/org/runs/tree/main/final", "hf://org/runs/final/", "hf://org/runs@main/final"):
        assert main(["inspect", spec, "--json"]) == 0, capsys.readouterr().err
        report = json.loads(capsys.readouterr().out)
        assert report["files"] == ["final/adapter_model.safetensors"] and report["family"] == "gpt2"
        assert report["declared"]["README.md base_model"] == "openai-community/gpt2"  # final/README.md, its own card
    assert main(["predict", "hf://org/runs/final", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tree"]["family"] == "gpt2"
    assert main(["inspect", "hf://org/runs/both"]) == 2
    assert "org/runs: holds 2 separate models (both/a/, both/b/); name one" in capsys.readouterr().err
    assert main(["inspect", "hf://org/runs/nowhere"]) == 2
    assert "nowhere: file not found in the repo" in capsys.readouterr().err


def test_a_hub_path_without_its_scheme_is_told_how_to_write_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # org/runs/final is a local path first: none here
    with pytest.raises(SourceNotFoundError, match=r"no such file or folder here; .* write hf://org/runs/final$"):
        resolve("org/runs/final")
    with pytest.raises(SourceNotFoundError, match=r"write https://huggingface.co/org/runs/blob/main/w.safetensors$"):
        resolve("org/runs/blob/main/w.safetensors")  # a web address pasted without its host


@pytest.mark.parametrize(
    "spec, message",
    [
        ("https://huggingface.co/datasets/org/data", "reads model repos, not datasets"),
        ("https://huggingface.co/spaces/org/app", "reads model repos, not spaces"),
        ("https://example.com/org/name", "not a Hub model"),
        ("https://huggingface.co/org/name/discussions/1", "not a Hub model"),
        ("hf://org/name/../../etc/passwd", "not a file path inside a repo"),
    ],
)
def test_urls_that_are_not_model_repos_are_refused(spec, message):
    with pytest.raises(SourceNotFoundError, match=message):
        resolve(spec)


def test_revision_flag_folds_into_the_spec(tmp_path):
    assert with_revision("org/name", "dev") == "org/name@dev"
    assert with_revision("https://huggingface.co/org/name", "dev") == "org/name@dev"
    assert resolve(with_revision("hf://org/name/w.safetensors", "feature/x")).revision == "feature/x"
    with pytest.raises(UsageError, match="names revision 'a' and --revision 'b'"):
        with_revision("org/name@a", "b")
    (tmp_path / "w.safetensors").write_bytes(b"")
    with pytest.raises(UsageError, match="is a local path"):
        with_revision(str(tmp_path / "w.safetensors"), "dev")


def test_cli_revision_pins_every_command_that_takes_a_repo(hub, capsys):
    from hfprobe.cli import build_parser, main

    old = hub.sha(REPO)
    new_files, _ = adapter_files(seed=1)
    hub.push(REPO, new_files)
    assert main(["inspect", REPO, "--revision", old, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["revision_sha"] == old
    assert main(["inspect", f"{REPO}@main", "--revision", old]) == 2
    assert "give one" in capsys.readouterr().err
    parser = build_parser()
    for argv in (["predict", REPO], ["annotate", REPO], ["index", "add", REPO], ["inspect", REPO]):
        args = parser.parse_args([*argv, "--revision", "v1", "--max-download", "1GB", "--max-unranged", "8MiB"])
        assert args.revision == "v1" and args.max_download == "1GB" and args.max_unranged == "8MiB", argv
    assert main(["inspect", REPO, "--max-unranged", "lots"]) == 2
    assert "--max-unranged 'lots'" in capsys.readouterr().err


def test_a_pickle_a_server_sent_whole_is_not_downloaded_again(hub):
    """A server that ignores Range sends the whole file to the first ranged read; its tensors were then fetched a
    second time through the Hub cache (6.6 MB for a 3.3 MB pickle in bench_inspect.py). They are read from it."""
    import io

    from hfprobe.formats import open_weights

    buf = io.BytesIO()
    torch.save({k: v for k, v in hub.tensors.items()}, buf)
    size = len(buf.getvalue())
    hub.add_repo("org/pickled-whole", {"adapter_model.bin": buf.getvalue()})
    hub.honour_range = False
    try:
        view = open_weights("org/pickled-whole")
        assert view.range_ignored and len(view.modules) == LAYERS
        assert sorted(view.layer(next(iter(view.modules))).shape) == [768, 2304]
        assert size <= view.source.bytes_read < 1.5 * size
    finally:
        hub.honour_range = True

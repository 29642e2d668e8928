"""Replies of the wrong size: short, cut, oversized, Range ignored, endless; memory bounded whatever the server
sends.
"""

from __future__ import annotations

import tracemalloc

import pytest
import torch

from hfprobe.errors import InvalidWeightsError, NetworkError
from hfprobe.source.resolve import resolve
from hfprobe.source.safetensors import read_header, read_tensor

from .faults import (
    LAYER3,
    LAYERS,
    REPO,
    WEIGHTS,
    asked_range,
    endless,
    hang_up,
    is_weights_get,
    read_layer,
    repo_file,
    send,
)


def test_a_short_206_is_a_network_error_not_a_file_error(hub):
    data = repo_file(hub)

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
    data, cut = repo_file(hub), []

    def cut_once(req, method, path):
        if not is_weights_get(method, path) or cut:
            return False
        cut.append(1)
        first, last = asked_range(req)
        headers = {"Content-Range": f"bytes {first}-{last}/{len(data)}", "Content-Length": last - first + 1}
        send(req, 206, headers, data[first : first + 10])
        return hang_up(req)

    hub.fault = cut_once
    assert torch.equal(read_layer(resolve(REPO)), hub.tensors[LAYER3])
    assert cut


def test_an_oversized_206_is_cut_at_what_was_asked(hub):
    data = repo_file(hub)

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
    assert torch.equal(read_layer(src), hub.tensors[LAYER3])
    assert src.bytes_read < len(data) / 4


def test_a_range_ignoring_server_is_read_whole_when_small_and_refused_past_the_cap(hub, monkeypatch):
    hub.honour_range = False
    data = repo_file(hub)
    src = resolve(REPO)
    assert torch.equal(read_layer(src), hub.tensors[LAYER3])
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
        endless(hub, req, repo_file(hub))
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
    data = repo_file(hub)

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
                assert torch.equal(read_layer(src), hub.tensors[LAYER3])
            else:  # refused at the cap: an endless body, a listing over 16 MB, an endless error
                with pytest.raises(NetworkError):
                    read_layer(src)
        finally:
            peaks[kind] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    print("peaks MB", {k: round(v / 2**20, 1) for k, v in peaks.items()})
    assert all(peak < 100 * 2**20 for peak in peaks.values()), peaks


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

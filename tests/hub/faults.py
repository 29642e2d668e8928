"""What the Hub-read tests serve and how their servers misbehave: a PEFT LoRA repo (`adapter_files`), and the raw
replies a `hub.fault` hook writes (tests/fakehub.py) to hang, stall, hang up, fail, or send too little or too much.
"""

from __future__ import annotations

import json
import socket
import struct
import time

import torch
from safetensors.torch import save

from hfprobe.source.safetensors import read_header, read_tensor

REPO, WEIGHTS = "org/adapter", "adapter_model.safetensors"
LAYERS = 12
LAYER3 = "base_model.model.transformer.h.3.attn.c_attn.lora_B.weight"  # the tensor the tests read


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


def repo_file(hub, name=WEIGHTS) -> bytes:
    return (hub.repo_dir(REPO) / name).read_bytes()


def read_layer(src, i=3):
    f = src.open(WEIGHTS)
    hdr = read_header(f)
    return read_tensor(f, hdr, f"base_model.model.transformer.h.{i}.attn.c_attn.lora_B.weight")


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


def close_client_under(hub, method: str, which) -> list[str]:
    """The first `method` request whose path `which` picks finds huggingface_hub's shared client closed under it, as a
    connect error in another thread closes it (`close_session()`), and its reply comes to a client that is gone (a
    ReadError in the caller). Returns [that request's path] once it has happened."""
    from huggingface_hub import close_session

    closed: list[str] = []

    def fault(req, m, path):
        if m == method and which(path) and not closed:
            closed.append(path)
            close_session()
            time.sleep(0.3)
        return False

    hub.fault = fault
    return closed

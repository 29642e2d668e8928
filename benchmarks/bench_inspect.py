"""Benchmark for `inspect` (not a test): cold CLI time, warm throughput, bytes read over HTTP, hostile headers.

    .venv/bin/python benchmarks/bench_inspect.py [--realzoo ../shared/realzoo] [--runs 5] [--out result.json]

1. Cold CLI: `hfprobe inspect FILE --json` as a fresh process on a realzoo SD 1.5 LoRA and a PEFT adapter, each run
   side by side with a bare header read in a fresh Python process (struct + json only) on the same file; the
   median wall time of each and their ratio. Target: under 1.0 s each on 2 cores. Beside them, `hfprobe predict FILE
   --json` with no experts installed and HF_HUB_OFFLINE=1: the PEFT adapter's abstention needs no torch (no expert, no
   cross-attention for the readout); the SD LoRA's readout is asked, and abstains before torch loads (no text encoder
   cached).
2. Warm throughput: `inspect_source` in-process over every realzoo folder (the first pass includes the imports; the
   best of `--warm-passes` later passes, default 3, is "warm"), in wall time and in the process's CPU time (which the
   load of a shared machine distorts less). Target: at least 200 files/s warm.
3. Bytes read over HTTP: the same two files and a torch pickle LoRA, served by a small Hub-compatible server started
   here on 127.0.0.1 (model info, tree, `resolve` with HEAD and Range), with Range honoured and then ignored: bytes
   for `inspect` (header or zip index + companion files) and for that plus one layer's tensors (what `predict`
   reads; the whole file for a pickle).
4. Maximal headers: ~100 MB headers at hfprobe's bounds (MAX_KEY_CHARS-long names, as many as MAX_NAME_CHARS
   allows, padded with metadata) in several formats: the time to `open_weights` and to `inspect` each (target:
   under 2 s).
5. Latency: `inspect` of the three files, and of a Llama-shaped checkpoint in `--shards` files (default 32), over that
   server with `--latency-ms` (default 100) added to every request, as from a machine far from the Hub: wall time,
   requests, and how many round trips it waited for; and `hfprobe inspect`, `predict` and `index add` of ten repos
   in one command, answered four at a time and one after another.

The machine is shared, so wall times are upper bounds; the load average is recorded with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

_TMP = Path(tempfile.mkdtemp(prefix="hfprobe-bench-"))
os.environ["HF_HOME"] = str(_TMP / "hf_home")  # an empty cache: every byte comes over HTTP
os.environ["HFPROBE_CACHE"] = str(_TMP / "cache")
for _var in ("HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE"):
    os.environ.pop(_var, None)

# one layer per example: what an expert reads after inspect (a cross-attention key, a fused qkv)
CASES = {
    "sd15-lora": ("sd-commonpike-skope", "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"),
    "peft-adapter": ("peft-abrha-gpt2-tigrinya", "transformer.h.0.attn.c_attn"),
}
# a torch pickle too, for the bytes over HTTP (inspect reads its zip directory and data.pkl in ranges)
HTTP_CASES = {
    **CASES,
    "sd15-lora-pickle": ("sd-edinsl-reddit-bin", "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"),
}
BARE = (  # the least any tool must do: start Python, read the length prefix and parse the header
    "import json, struct, sys; f = open(sys.argv[1], 'rb'); "
    "n = struct.unpack('<Q', f.read(8))[0]; json.loads(f.read(n))"
)


# ---------------------------------------------------------------- 1. cold CLI vs a bare header read
def cold_cli(realzoo: Path, runs: int) -> dict:
    hfprobe = Path(sys.executable).with_name("hfprobe")
    predict_env = dict(os.environ, HFPROBE_EXPERTS=str(_TMP / "no-experts"), HF_HUB_OFFLINE="1")
    out = {}
    for name, (rid, _) in CASES.items():
        weights = next((realzoo / "files" / rid).glob("*.safetensors"))
        cli, bare, pred = [], [], []
        for _ in range(runs):  # interleaved, so all see the same machine load
            for times, cmd, env in (
                (cli, [str(hfprobe), "inspect", str(weights), "--json"], None),
                (bare, [sys.executable, "-c", BARE, str(weights)], None),
                (pred, [str(hfprobe), "predict", str(weights), "--json"], predict_env),
            ):
                t = time.perf_counter()
                done = subprocess.run(cmd, check=True, capture_output=True, env=env)
                times.append(time.perf_counter() - t)
        answer = json.loads(done.stdout)
        out[name] = {
            "file": f"{rid}/{weights.name}",
            "inspect_cli_s": round(statistics.median(cli), 3),
            "inspect_cli_min_s": round(min(cli), 3),
            "bare_header_read_s": round(statistics.median(bare), 3),
            "ratio": round(statistics.median(cli) / statistics.median(bare), 1),
            "predict_cli_s": round(statistics.median(pred), 3),
            "predict_answer": f"{answer['method']}; readout: {(answer.get('readout') or {}).get('reason', '')[:60]}",
        }
    return out


# ---------------------------------------------------------------- 2. warm throughput
def throughput(realzoo: Path, warm_passes: int = 3) -> dict:
    from hfprobe.errors import HfprobeError
    from hfprobe.tree.inspect import inspect_source

    folders = [
        (realzoo / json.loads(line)["local_path"]).parent
        for line in (realzoo / "manifest.jsonl").read_text().splitlines()
        if line.strip()
    ]
    passes, cpu = [], []
    refused = 0
    for _ in range(1 + warm_passes):
        t, c = time.perf_counter(), time.process_time()
        refused = 0
        for folder in folders:
            try:
                inspect_source(str(folder))
            except HfprobeError:
                refused += 1
        passes.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    warm, warm_cpu = min(passes[1:]), min(cpu[1:])
    return {
        "files": len(folders),
        "refused": refused,
        "warm_passes": warm_passes,
        "first_pass_s": round(passes[0], 2),
        "warm_s": round(warm, 3),
        "warm_median_s": round(statistics.median(passes[1:]), 3),
        "warm_cpu_s": round(warm_cpu, 3),
        "first_pass_files_per_s": round(len(folders) / passes[0], 1),
        "warm_files_per_s": round(len(folders) / warm, 1),
        "warm_cpu_files_per_s": round(len(folders) / warm_cpu, 1),  # what the process itself spent: less load-bound
    }


# ---------------------------------------------------------------- 3. bytes over HTTP, from a Hub-like server
class MiniHub:
    """Just enough of the Hub's HTTP API for reads: model info, tree, and `resolve` (HEAD, GET, Range)."""

    def __init__(self, repos: dict[str, dict[str, bytes]], honour_range: bool = True, latency: float = 0.0):
        self.repos, self.honour_range, self.latency = repos, honour_range, latency
        self.requests: list[tuple[str, str]] = []

    def sha(self, repo: str) -> str:
        h = hashlib.sha1(repo.encode())
        for name, data in sorted(self.repos[repo].items()):
            h.update(name.encode() + data)
        return h.hexdigest()

    def answer(self, method: str, path: str, headers) -> tuple[int, dict, bytes]:
        m = re.match(r"^/api/models/([^/]+/[^/]+)(?:/revision/[^/]+)?$", path)
        if m and m.group(1) in self.repos:
            repo = m.group(1)
            siblings = [{"rfilename": n, "size": len(d)} for n, d in sorted(self.repos[repo].items())]
            body = {"id": repo, "modelId": repo, "sha": self.sha(repo), "siblings": siblings, "private": False}
            return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
        m = re.match(r"^/api/models/([^/]+/[^/]+)/tree/[^/]+(?:/.*)?$", path)
        if m and m.group(1) in self.repos:
            files = self.repos[m.group(1)]
            body = [
                {"type": "file", "path": n, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                for n, d in files.items()
            ]
            return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
        m = re.match(r"^/([^/]+/[^/]+)/resolve/[^/]+/(.+)$", path)
        if m and m.group(1) in self.repos and unquote(m.group(2)) in self.repos[m.group(1)]:
            data = self.repos[m.group(1)][unquote(m.group(2))]
            head = {
                "ETag": '"' + hashlib.sha256(data).hexdigest() + '"',
                "X-Repo-Commit": self.sha(m.group(1)),
                "Accept-Ranges": "bytes" if self.honour_range else "none",
                "Content-Type": "application/octet-stream",
            }
            rng = re.match(r"bytes=(\d+)-(\d*)", headers.get("Range") or "")
            if rng and self.honour_range:
                start = int(rng.group(1))
                end = min(int(rng.group(2)) if rng.group(2) else len(data) - 1, len(data) - 1)
                if start >= len(data):
                    return 416, {"Content-Range": f"bytes */{len(data)}"}, b""
                return 206, {**head, "Content-Range": f"bytes {start}-{end}/{len(data)}"}, data[start : end + 1]
            if method == "HEAD":
                return 200, {**head, "Content-Length": str(len(data))}, b""
            return 200, head, data
        return 404, {"X-Error-Code": "EntryNotFound"}, b'{"error": "not found"}'

    @contextlib.contextmanager
    def serving(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self, method):
                hub.requests.append((method, urlparse(self.path).path))
                time.sleep(hub.latency)  # a round trip to a far server, per request
                status, headers, body = hub.answer(method, urlparse(self.path).path, self.headers)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method != "HEAD":
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(body)

            def do_GET(self):
                self._serve("GET")

            def do_HEAD(self):
                self._serve("HEAD")

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True).start()
        from huggingface_hub import constants

        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        saved = (constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE)
        constants.ENDPOINT = endpoint
        constants.HUGGINGFACE_CO_URL_TEMPLATE = endpoint + "/{repo_id}/resolve/{revision}/{filename}"
        try:
            yield endpoint
        finally:
            constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE = saved
            server.shutdown()
            server.server_close()


def http_bytes(realzoo: Path) -> dict:
    from hfprobe.formats import open_weights
    from hfprobe.source.resolve import resolve
    from hfprobe.tree.inspect import inspect_source

    out = {}
    for name, (rid, layer) in HTTP_CASES.items():
        folder = realzoo / "files" / rid
        files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        weights = next(n for n in files if n.endswith((".safetensors", ".bin")))
        for honour in (True, False):
            repo = f"bench/{name}-{'range' if honour else 'norange'}"
            with MiniHub({repo: files}, honour_range=honour).serving():
                with resolve(repo) as src:
                    report = inspect_source(src)
                    after_inspect = src.bytes_read
                with resolve(repo) as src:  # a fresh source: the header plus one layer's tensors, nothing else
                    open_weights(src).layer(layer)
                    after_layer = src.bytes_read
            size = len(files[weights])
            out[f"{name}{'' if honour else ' (server ignores Range)'}"] = {
                "file": f"{rid}/{weights}",
                "file_bytes": size,
                "family": report["family"],
                "range_ignored": report["range_ignored"],
                "inspect_bytes": after_inspect,
                "inspect_share": round(after_inspect / size, 4),
                "header_plus_layer_bytes": after_layer,
                "header_plus_layer_share": round(after_layer / size, 4),
            }
    return out


# ---------------------------------------------------------------- 5. latency: each request a round trip away
def sharded_checkpoint(shards: int, layers_per_shard: int = 2, hidden: int = 64) -> dict[str, bytes]:
    """A Llama-shaped checkpoint saved in `shards` safetensors files with its index and config, as large models are
    published (Llama 3 70B: 30 shards; DeepSeek-V3: 163), at a small width: what inspect reads is one header a
    shard, whatever the width."""
    import numpy as np
    from safetensors.numpy import save

    layers = shards * layers_per_shard
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": hidden,
              "intermediate_size": 2 * hidden, "num_hidden_layers": layers, "num_attention_heads": 4,
              "num_key_value_heads": 4, "vocab_size": 128}  # fmt: skip
    files, weight_map = {"config.json": json.dumps(config).encode()}, {}
    for k in range(shards):
        tensors = {}
        if k == 0:
            tensors["model.embed_tokens.weight"] = np.zeros((128, hidden), np.float16)
        for i in range(k * layers_per_shard, (k + 1) * layers_per_shard):
            pre = f"model.layers.{i}."
            for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
                tensors[f"{pre}self_attn.{proj}.weight"] = np.zeros((hidden, hidden), np.float16)
            for proj, shape in (("gate_proj", (2 * hidden, hidden)), ("up_proj", (2 * hidden, hidden))):
                tensors[f"{pre}mlp.{proj}.weight"] = np.zeros(shape, np.float16)
            tensors[f"{pre}mlp.down_proj.weight"] = np.zeros((hidden, 2 * hidden), np.float16)
        name = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        files[name] = save(tensors)
        weight_map.update(dict.fromkeys(tensors, name))
    files["model.safetensors.index.json"] = json.dumps({"metadata": {}, "weight_map": weight_map}).encode()
    return files


def merge_repos(repo: str) -> dict[str, dict[str, bytes]]:
    """A mergekit merge of two models the registry lacks, and their cards (one names the other, which names
    Llama 2 7B), each its own: the cards `inspect` traces are read by the run that names them, not from the cache."""
    files = sharded_checkpoint(1)
    files["mergekit_config.yml"] = f"models: [{{model: {repo}-a}}, {{model: {repo}-b}}]\nmerge_method: ties\n".encode()
    return {repo: files, f"{repo}-a": {"README.md": f"---\nbase_model: {repo}-b\n---\n".encode()},
            f"{repo}-b": {"README.md": b"---\nbase_model: meta-llama/Llama-2-7b-hf\n---\n"}}  # fmt: skip


def latency(realzoo: Path, seconds: float, shards: int = 32) -> dict:
    """`inspect` on a fresh repo (an empty cache) when every request takes `seconds` to answer: wall time and
    requests, the listing included. Requests that overlap (companions beside the weights, a sharded checkpoint's
    headers) cost one wait."""
    from hfprobe.tree.inspect import inspect_source

    out = {}
    cases = {name: realzoo / "files" / rid for name, (rid, _) in HTTP_CASES.items()}
    cases[f"llama-{shards}-shards"] = None
    cases["merge-of-2-unknown-models"] = None  # a mergekit merge: its models' cards are traced to a root
    for name, folder in cases.items():
        if name.startswith("merge"):
            repos = {**merge_repos(f"bench/{name}-warmup"), **merge_repos(f"bench/{name}-latency")}
        else:
            files = (
                sharded_checkpoint(shards)
                if folder is None
                else {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
            )
            repos = {f"bench/{name}-warmup": files, f"bench/{name}-latency": files}
        hub = MiniHub(repos, latency=seconds)
        with hub.serving():
            inspect_source(f"bench/{name}-warmup")  # imports and connections, not timed
            hub.requests.clear()
            t0 = time.perf_counter()
            inspect_source(f"bench/{name}-latency")
            wall = time.perf_counter() - t0
        out[f"inspect: {name}"] = {
            "per_request_s": seconds,
            "wall_s": round(wall, 3),
            "requests": len(hub.requests),
            "round_trips_waited": round(wall / seconds, 1) if seconds else None,
        }
    return out


def latency_batch(realzoo: Path, seconds: float, repos: int = 10) -> dict:
    """`hfprobe inspect`, `predict` and `index add` (the CLI, in process; no expert installed) of `repos` fresh repos in
    one command, each request `seconds` away: the batch answered `config.BATCH_WORKERS` at a time, and one repo after
    another."""
    import io
    import tempfile

    from hfprobe import config
    from hfprobe.cli import main

    rid = HTTP_CASES["peft-adapter"][0]
    files = {p.name: p.read_bytes() for p in (realzoo / "files" / rid).iterdir() if p.is_file()}
    out = {}
    saved = config.BATCH_WORKERS
    for command in ("inspect", "predict", "index add"):
        for workers in (saved, 1):
            tag = f"{command.replace(' ', '-')}{workers}"
            names = [f"bench/{tag}-{i}" for i in range(repos)]
            hub = MiniHub({f"bench/{tag}-warmup": files, **dict.fromkeys(names, files)}, latency=seconds)
            with tempfile.TemporaryDirectory() as tmp:
                index = ["--index", tmp, "-q"] if command == "index add" else []
                argv = [*command.split(), "--json", *index]
                os.environ["HFPROBE_EXPERTS"] = str(Path(tmp) / "no-experts")  # a fresh install: no expert
                with hub.serving(), contextlib.redirect_stdout(io.StringIO()) as printed:
                    main([*argv, f"bench/{tag}-warmup"])  # imports and connections, not timed
                    hub.requests.clear()
                    config.BATCH_WORKERS = workers
                    try:
                        t0 = time.perf_counter()
                        status = main([*argv, *names])
                        wall = time.perf_counter() - t0
                    finally:
                        config.BATCH_WORKERS = saved
                        del os.environ["HFPROBE_EXPERTS"]
            answers = [json.loads(line) for line in printed.getvalue().splitlines()[1:]]
            assert status == 0 and [a["source"] for a in answers] == names, "the batch's answers, in order"
            out[f"{command}: {repos} repos, {workers} at a time"] = {
                "per_request_s": seconds,
                "wall_s": round(wall, 3),
                "requests": len(hub.requests),
                "round_trips_waited": round(wall / seconds, 1) if seconds else None,
            }
    return out


# ---------------------------------------------------------------- 4. maximal (hostile) headers
def _maximal(kind: str) -> bytes:
    from hfprobe.source.safetensors import MAX_HEADER_BYTES, MAX_KEY_CHARS, MAX_NAME_CHARS, MAX_TENSORS

    header: dict = {}
    pad = "a_" * ((MAX_KEY_CHARS - 80) // 2)
    pairs = min(MAX_TENSORS, MAX_NAME_CHARS // MAX_KEY_CHARS) // 2  # as many names this long as the bounds allow
    for i in range(pairs):
        if kind == "kohya":
            k = f"lora_unet_down_blocks_{i}_{pad}attn2_to_k"
            names = (f"{k}.lora_down.weight", f"{k}.lora_up.weight")
        elif kind == "diffusers":
            k = f"unet.down_blocks.{i}.{pad.replace('_', '.')}attn2.to_k"
            names = (f"{k}.lora_A.weight", f"{k}.lora_B.weight")
        elif kind == "peft":
            k = f"base_model.model.model.layers.{i}.{pad.replace('_', '.')}q_proj"
            names = (f"{k}.lora_A.weight", f"{k}.lora_B.weight")
        elif kind == "cloneofsimo":
            names = (f"unet:{i}:down", f"unet:{i}:up")
        else:
            k = f"model.layers.{i}.{pad.replace('_', '.')}"
            names = (f"{k}q_proj.weight", f"{k}k_proj.weight")
        header[names[0]] = {"dtype": "F16", "shape": [4, 768]}
        header[names[1]] = {"dtype": "F16", "shape": [768, 4]}
    offset = 0
    for entry in header.values():  # back to back; the data section is left out: a truncated file, header intact
        size = 2 * entry["shape"][0] * entry["shape"][1]
        entry["data_offsets"] = [offset, offset + size]
        offset += size
    meta = {"pad": ""}
    used = len(json.dumps({**header, "__metadata__": meta}))
    meta["pad"] = "x" * (MAX_HEADER_BYTES - used - 64)
    raw = json.dumps({**header, "__metadata__": meta}).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"\0" * 64


def maximal_headers() -> dict:
    from hfprobe.formats import open_weights
    from hfprobe.tree.inspect import inspect_source

    out = {}
    for kind in ("kohya", "diffusers", "peft", "cloneofsimo", "checkpoint"):
        path = _TMP / f"maximal-{kind}.safetensors"
        path.write_bytes(_maximal(kind))
        row = {"header_mb": round(path.stat().st_size / 1e6, 1)}
        for step, fn in (("open_weights", open_weights), ("inspect", inspect_source)):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                result = fn(str(path))
                row[f"{step}_outcome"] = getattr(result, "format", None) or result["format"]
            except Exception as err:  # noqa: BLE001 - recorded: a typed refusal is a fine answer here
                row[f"{step}_outcome"] = type(err).__name__
            row[f"{step}_s"] = round(time.perf_counter() - wall, 2)
            row[f"{step}_cpu_s"] = round(time.process_time() - cpu, 2)
        out[kind] = row
        path.unlink()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realzoo", default=os.environ.get("HFPROBE_REALZOO", "../shared/realzoo"))
    parser.add_argument("--runs", type=int, default=5, help="cold runs of each command (default 5)")
    parser.add_argument("--warm-passes", type=int, default=3, help="warm passes over the realzoo (default 3)")
    parser.add_argument(
        "--skip", action="append", default=[], help="leave out a section: cold, warm, http, maximal, latency"
    )
    parser.add_argument("--latency-ms", type=float, default=100.0, help="per-request delay of section 5 (default 100)")
    parser.add_argument("--shards", type=int, default=32, help="shards of section 5's sharded checkpoint (default 32)")
    parser.add_argument("--out", help="also write the figures here as JSON")
    args = parser.parse_args()
    realzoo = Path(args.realzoo)
    if not (realzoo / "manifest.jsonl").is_file():
        print(f"realzoo not found at {realzoo}; pass --realzoo or set HFPROBE_REALZOO", file=sys.stderr)
        return 2
    result = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()}
    if "cold" not in args.skip:
        result["cold"] = cold_cli(realzoo, args.runs)
        for name, r in result["cold"].items():
            print(
                f"cold `hfprobe inspect FILE --json` on {name} ({r['file']}): {r['inspect_cli_s']} s median "
                f"(min {r['inspect_cli_min_s']}); bare header read {r['bare_header_read_s']} s; ratio {r['ratio']}x; "
                f"`hfprobe predict` with no experts {r['predict_cli_s']} s ({r['predict_answer']})"
            )
    if "warm" not in args.skip:
        loc = result["warm"] = throughput(realzoo, max(1, args.warm_passes))
        print(
            f"in-process inspect_source over {loc['files']} realzoo folders: {loc['warm_files_per_s']} files/s warm "
            f"(best of {loc['warm_passes']} passes; {loc['warm_cpu_files_per_s']} files/s by CPU time); first pass "
            f"(imports included) {loc['first_pass_files_per_s']} files/s; refused {loc['refused']}"
        )
    if "http" not in args.skip:
        result["http"] = http_bytes(realzoo)
        for name, r in result["http"].items():
            print(
                f"{name:38s} inspect {r['inspect_bytes']} B ({100 * r['inspect_share']:.2f}%), header+1 layer "
                f"{r['header_plus_layer_bytes']} B ({100 * r['header_plus_layer_share']:.2f}%) of {r['file_bytes']} B; "
                f"range_ignored={r['range_ignored']}; {r['family']}"
            )
    if "latency" not in args.skip:
        result["latency"] = latency(realzoo, args.latency_ms / 1000, args.shards)
        result["latency"].update(latency_batch(realzoo, args.latency_ms / 1000))
        for name, r in result["latency"].items():
            print(
                f"{name:38s} {r['wall_s']} s with {args.latency_ms:.0f} ms a request: {r['requests']} "
                f"requests, {r['round_trips_waited']} round trips waited"
            )
    if "maximal" not in args.skip:
        result["maximal"] = maximal_headers()
        for kind, r in result["maximal"].items():
            print(
                f"maximal {kind} header ({r['header_mb']} MB): open_weights {r['open_weights_s']} s "
                f"(cpu {r['open_weights_cpu_s']}) -> {r['open_weights_outcome']}; inspect {r['inspect_s']} s "
                f"(cpu {r['inspect_cpu_s']}) -> {r['inspect_outcome']}"
            )
    result["load_average_after"] = os.getloadavg()
    print(f"load average before {result['load_average_before']}, after {result['load_average_after']}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

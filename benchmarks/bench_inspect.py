"""Benchmark for `inspect` (not a timed test): local throughput and bytes read over HTTP.

    .venv/bin/python benchmarks/bench_inspect.py [--realzoo ../shared/realzoo] [--out result.json]

1. Local throughput: `inspect_source` over every realzoo folder, once cold (imports included) and
   then warm (a second full pass), in files per second.
2. Bytes read over HTTP: an SD 1.5 LoRA and a PEFT adapter from realzoo are served by the Hub-like
   test server on 127.0.0.1 (tests/fakehub.py), with Range honoured and then ignored. Reported:
   bytes for `inspect` (header + companion files), and for the header plus the tensors of one layer
   (what `predict` reads), each as a share of the weights file. Target: under 10% with Range.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
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


def local_throughput(realzoo: Path) -> dict:
    from hfprobe.errors import HfprobeError
    from hfprobe.tree.inspect import inspect_source

    folders = [
        (realzoo / json.loads(line)["local_path"]).parent
        for line in (realzoo / "manifest.jsonl").read_text().splitlines()
    ]
    passes = []
    for _ in range(2):
        t0 = time.perf_counter()
        refused = 0
        for folder in folders:
            try:
                inspect_source(str(folder))
            except HfprobeError:
                refused += 1
        passes.append(time.perf_counter() - t0)
    return {
        "files": len(folders),
        "refused": refused,
        "cold_s": round(passes[0], 2),
        "warm_s": round(passes[1], 2),
        "cold_files_per_s": round(len(folders) / passes[0], 1),
        "warm_files_per_s": round(len(folders) / passes[1], 1),
    }


def http_bytes(realzoo: Path) -> dict:
    from hfprobe.formats import open_weights
    from hfprobe.source.resolve import resolve
    from hfprobe.tree.inspect import inspect_source
    from tests.fakehub import FakeHub

    out = {}
    for name, (rid, layer) in CASES.items():
        folder = realzoo / "files" / rid
        files = {p.name: p for p in folder.iterdir() if p.is_file()}
        weights = next(p for p in folder.iterdir() if p.suffix == ".safetensors")
        for honour in (True, False):
            hub = FakeHub(_TMP / f"hub-{name}-{honour}")
            repo = f"bench/{name}-{'range' if honour else 'norange'}"
            hub.add_repo(repo, files)
            hub.honour_range = honour
            with hub.serving():
                src = resolve(repo)
                report = inspect_source(src)
                after_inspect = src.bytes_read
                src = resolve(repo)  # a fresh source: the header plus one layer's tensors, nothing else
                open_weights(src).layer(layer)
                after_layer = src.bytes_read
            size = weights.stat().st_size
            out[f"{name}{'' if honour else ' (server ignores Range)'}"] = {
                "file": f"{rid}/{weights.name}",
                "file_bytes": size,
                "family": report["family"],
                "root": report["root"]["id"],
                "range_ignored": report["range_ignored"],
                "inspect_bytes": after_inspect,
                "inspect_share": round(after_inspect / size, 4),
                "header_plus_layer_bytes": after_layer,
                "header_plus_layer_share": round(after_layer / size, 4),
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realzoo", default=os.environ.get("HFPROBE_REALZOO", str(REPO.parent / "shared" / "realzoo")))
    parser.add_argument("--out", help="also write the figures here as JSON")
    args = parser.parse_args()
    realzoo = Path(args.realzoo)
    if not (realzoo / "manifest.jsonl").is_file():
        print(f"realzoo not found at {realzoo}; pass --realzoo or set HFPROBE_REALZOO", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    result = {"local": local_throughput(realzoo), "http": http_bytes(realzoo)}
    loc = result["local"]
    print(
        f"local inspect over {loc['files']} realzoo files: {loc['warm_files_per_s']} files/s warm "
        f"({loc['warm_s']} s), {loc['cold_files_per_s']} files/s cold incl. imports ({loc['cold_s']} s); "
        f"refused {loc['refused']}"
    )
    for name, r in result["http"].items():
        print(
            f"{name:38s} {r['file']}: inspect {r['inspect_bytes']} B ({100 * r['inspect_share']:.2f}%), "
            f"header+1 layer {r['header_plus_layer_bytes']} B ({100 * r['header_plus_layer_share']:.2f}%) "
            f"of {r['file_bytes']} B; range_ignored={r['range_ignored']}; {r['family']} {r['root']}"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

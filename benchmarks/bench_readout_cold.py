"""Benchmark (not a test): cold `hfprobe predict` on a real SD 1.5 LoRA through the readout, as a user meets it from
the second LoRA on, when the token states of the default vocabulary are in hfprobe's cache.

    .venv/bin/python benchmarks/bench_readout_cold.py [--realzoo ../shared/realzoo] [--runs 5] [--out result.json]
    .venv/bin/python benchmarks/bench_readout_cold.py --sdxl      # SDXL: its two text models, a synthetic LoRA
    .venv/bin/python benchmarks/bench_readout_cold.py --sdxl --rank 32 --work /tmp/sdxl   # again, reusing the states

SD 1.5's CLIP text encoder cannot be downloaded here, so a stand-in takes its place in a Hugging Face cache made for
the run (HF_HUB_OFFLINE=1): a CLIPTextModel of its exact sizes (123M parameters, random weights) and CLIP's own
byte-pair vocabulary (the one open_clip ships, turned into vocab.json and merges.txt as OpenAI's tokenizer builds
it). Timings are then those of the real model; the answers mean nothing and are not reported. The first run computes
the 1,052 labels' token states once (reported); the cold runs after it are the figure: a fresh process each, no
experts installed. `--sdxl`: the same for SDXL, whose UNet reads two text models (CLIP ViT-L/14 and OpenCLIP
ViT-bigG/14, 123M + 695M parameters, stand-ins of their sizes as above, their configs saying float16 as SDXL's do),
on a synthetic LoRA (rank 8, or `--rank`) over all 140 of SDXL's cross-attention keys and values (the realzoo has no
SDXL LoRA). `--work DIR` keeps the run's caches there, and a later run given the same folder reuses them (the token
states take minutes to compute). The answer's abstention, margin and threshold source are reported: an adapter that
abstains may stop its null draws early (docs/experts.md), so the figure depends on the answer.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = "stable-diffusion-v1-5/stable-diffusion-v1-5"  # the root hfprobe's registry reads 768-wide cross-attention with
SDXL_ROOT = "stabilityai/stable-diffusion-xl-base-1.0"  # ... and 2048-wide
LORA = "sd-commonpike-skope"
# SDXL's UNet: (block, attentions, transformer blocks each, width) of every cross-attention
SDXL_BLOCKS = [("down_blocks.1", 2, 2, 640), ("down_blocks.2", 2, 10, 1280), ("mid_block", 1, 10, 1280),
               ("up_blocks.0", 3, 10, 1280), ("up_blocks.1", 3, 2, 640)]  # fmt: skip


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map, which CLIP's tokenizer uses too."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    chars, extra = list(keep), 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, map(chr, chars)))


def stand_in_root(hf_home: Path, sdxl: bool = False) -> None:
    """SD 1.5's (or SDXL's) text encoders and tokenizers (sizes and vocabulary real, weights random), cached as a Hub
    snapshot."""
    import open_clip
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    bpe = Path(open_clip.__file__).with_name("bpe_simple_vocab_16e6.txt.gz")
    merges = gzip.open(bpe, "rt", encoding="utf-8").read().split("\n")[1 : 49152 - 256 - 2 + 1]
    chars = list(_bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    repo = hf_home / "hub" / f"models--{(SDXL_ROOT if sdxl else ROOT).replace('/', '--')}"
    snap = repo / "snapshots" / ("0" * 40)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    tmp = hf_home.parent / "bpe"
    tmp.mkdir(exist_ok=True)  # a --work folder may hold the other root's stand-in
    (tmp / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (tmp / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    torch.manual_seed(0)
    clip_l = dict(vocab_size=49408, max_position_embeddings=77, bos_token_id=0, eos_token_id=2, pad_token_id=1)
    tokenizer = CLIPTokenizer(str(tmp / "vocab.json"), str(tmp / "merges.txt"), model_max_length=77)
    tokenizer.save_pretrained(snap / "tokenizer")
    config = CLIPTextConfig(  # SD 1.5's (and SDXL's first) text_encoder/config.json
        hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, hidden_act="quick_gelu",
        projection_dim=768, **clip_l,
    )  # fmt: skip
    CLIPTextModel(config).save_pretrained(snap / "text_encoder")
    if sdxl:  # OpenCLIP ViT-bigG/14's text tower, as SDXL ships it in text_encoder_2/ (its tokenizer pads with "!")
        CLIPTokenizer(
            str(tmp / "vocab.json"), str(tmp / "merges.txt"), model_max_length=77, pad_token="!"
        ).save_pretrained(snap / "tokenizer_2")
        big = CLIPTextConfig(
            hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20, hidden_act="gelu",
            projection_dim=1280, **clip_l,
        )  # fmt: skip
        CLIPTextModelWithProjection(big).save_pretrained(snap / "text_encoder_2")
        for part in ("text_encoder", "text_encoder_2"):  # SDXL's configs name float16 (transformers would load it so)
            config_file = snap / part / "config.json"
            saved = json.loads(config_file.read_text())
            saved.pop("dtype", None)
            config_file.write_text(json.dumps({**saved, "torch_dtype": "float16"}, indent=2))


def sdxl_lora(folder: Path, rank: int = 8) -> Path:
    """A diffusers-layout LoRA (random) on every cross-attention key and value of SDXL's UNet."""
    import torch
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(0)
    tensors = {}
    for block, attentions, depth, width in SDXL_BLOCKS:
        for a in range(attentions):
            for t in range(depth):
                for kv in "kv":
                    name = f"unet.{block}.attentions.{a}.transformer_blocks.{t}.attn2.to_{kv}"
                    tensors[f"{name}.lora_A.weight"] = torch.randn(rank, 2048, generator=g) * 0.01
                    tensors[f"{name}.lora_B.weight"] = torch.randn(width, rank, generator=g) * 0.01
    folder.mkdir(parents=True)
    save_file(tensors, str(folder / "pytorch_lora_weights.safetensors"))
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realzoo", default=os.environ.get("HFPROBE_REALZOO", "../shared/realzoo"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sdxl", action="store_true", help="SDXL's two text models and a synthetic SDXL LoRA")
    parser.add_argument("--rank", type=int, default=8, help="with --sdxl: the synthetic LoRA's rank")
    parser.add_argument("--work", help="a folder for the run's caches; one an earlier run left is reused")
    parser.add_argument("--out")
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="hfprobe-bench-readout-"))
    if args.sdxl:
        lora = work / f"sdxl-lora-r{args.rank}"
        if not lora.is_dir():
            sdxl_lora(lora, rank=args.rank)
    else:
        lora = Path(args.realzoo) / "files" / LORA
    if not lora.is_dir():
        print(f"realzoo not found at {args.realzoo}; pass --realzoo or set HFPROBE_REALZOO", file=sys.stderr)
        return 2
    root = SDXL_ROOT if args.sdxl else ROOT
    reused = (work / "hf_home" / "hub" / f"models--{root.replace('/', '--')}").is_dir()  # that root's stand-in
    if not reused:
        stand_in_root(work / "hf_home", sdxl=args.sdxl)
    env = dict(
        os.environ,
        HF_HOME=str(work / "hf_home"),
        HF_HUB_OFFLINE="1",
        HFPROBE_CACHE=str(work / "cache"),
        HFPROBE_EXPERTS=str(work / "no-experts"),
    )
    cmd = [sys.executable, "-m", "hfprobe", "predict", str(lora), "--json"]

    def run() -> tuple[float, dict]:
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        return time.perf_counter() - t, json.loads(done.stdout)

    first, answer = run()
    if answer["method"] != "readout" and not (answer.get("readout") or {}).get("encoder"):
        print(f"the readout did not read the LoRA: {answer.get('reason')}", file=sys.stderr)
        return 1
    cold = [run()[0] for _ in range(args.runs)]
    readout = answer["readout"]
    result = {
        "lora": lora.name,
        "labels": readout["labels"],
        "abstained": readout["abstained"],
        "margin": readout["margin"],
        "threshold": readout["threshold"],
        "threshold_source": readout["threshold_source"],
        "first_run_s": round(first, 2),
        "cold_s": round(statistics.median(cold), 3),
        "cold_min_s": round(min(cold), 3),
        "runs": args.runs,
        "load_average": os.getloadavg(),
    }
    first_run = "the caches of --work reused" if reused else "token states computed"
    print(
        f"`hfprobe predict` on {lora.name} through the readout ({result['labels']} labels): first run "
        f"{result['first_run_s']} s ({first_run}); then {result['cold_s']} s median of {args.runs} fresh "
        f"processes (min {result['cold_min_s']}); load average {result['load_average']}\n"
        f"answer: {'abstained' if result['abstained'] else 'answered'}, margin {result['margin']}, threshold "
        f"{result['threshold']} ({result['threshold_source']})"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

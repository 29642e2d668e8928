"""Benchmark: what inspect says of every architecture transformers has, from the weights alone (not a timed test)

    .venv/bin/python benchmarks/bench_architectures.py [--out result.jsonl] [--only TYPE ...] [-v]

Each model type in transformers' `MODEL_MAPPING_NAMES` is built by `AutoModel.from_config` from its default
configuration on the meta device (no weights, no download) and written twice as a header-only safetensors file:
the whole checkpoint, and a PEFT LoRA (rank 8) on each of its 2-D `.weight`s but the embeddings. Each is read by
`inspect_source` with no config.json and no card, so only names and shapes speak.

Truth is the family hfprobe's registry gives the model type (`hfprobe.tree.declared.MODEL_TYPES`, or the type's
own name where it is a family), else none: an architecture the registry has no roots for. Counted per file:

* right: the family is the truth (none for an unknown architecture counts as right);
* sure and wrong: another family at confidence 0.9 or more, which a card and an index row repeat;
* base_model on a wrong family: a root written as `base_model` from the weights alone, its family not the truth
  (a few are defensible: SAM-HQ is a fine-tune of SAM; most are not). Listed with -v.

Caveats: a default configuration is not a published checkpoint (many share no root's sizes, some share one's by
chance), AutoModel has no task head and no model prefix (`bert.`, `roberta.`), and a real LoRA targets a few
modules. The figures compare code with code on the same set, not with the Hub.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import struct
import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path

SURE = 0.9


def _write_header(path: Path, tensors: dict[str, tuple[int, ...]]) -> None:
    """A safetensors header for F16 tensors of these shapes, with no data (inspect reads headers only)."""
    header, offset = {}, 0
    for key, shape in tensors.items():
        n = 2 * math.prod(shape)
        header[key] = {"dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + b" " * (-len(blob) % 8))


def _lora(shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    out = {}
    for key, shape in shapes.items():
        if key.endswith(".weight") and len(shape) == 2 and "embed" not in key and min(shape) >= 16:
            module = "base_model.model." + key[: -len(".weight")]
            out[f"{module}.lora_A.weight"], out[f"{module}.lora_B.weight"] = (8, shape[1]), (shape[0], 8)
    return out


class _Timeout(Exception):
    pass


def _alarm(*_):
    raise _Timeout


def measure(model_type: str, truth: str | None) -> dict:
    import torch
    from transformers import CONFIG_MAPPING, AutoModel

    from hfprobe.errors import HfprobeError
    from hfprobe.tree.inspect import inspect_source

    row: dict = {"model_type": model_type, "truth": truth}
    signal.alarm(60)
    try:
        with torch.device("meta"):
            model = AutoModel.from_config(CONFIG_MAPPING[model_type]())
        shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    except (Exception, _Timeout) as e:  # no default config, no meta construction: reported, not measured
        return dict(row, error=f"{type(e).__name__}: {str(e)[:120]}")
    finally:
        signal.alarm(0)
    for kind, tensors, name in (("full", shapes, "model"), ("lora", _lora(shapes), "adapter_model")):
        if not tensors:
            continue
        with tempfile.TemporaryDirectory() as d:
            _write_header(Path(d) / f"{name}.safetensors", tensors)
            try:
                report = inspect_source(d)
            except HfprobeError as e:  # a typed refusal (a name too long, say) is an answer: no family
                row[kind] = {"family": None, "confidence": 0.0, "root": None, "base_model": None, "error": str(e)}
                continue
        row[kind] = {
            "family": report["family"],
            "confidence": report["family_confidence"],
            "root": report["root"]["id"],
            "base_model": report["base_model"]["id"],
        }
    return row


def summarize(rows: list[dict]) -> dict:
    out = {"built": sum("error" not in r for r in rows), "not built": sum("error" in r for r in rows)}
    for kind in ("full", "lora"):
        c = Counter()
        for r in rows:
            x = r.get(kind)
            if not x:
                continue
            c["files"] += 1
            if x["family"] == r["truth"]:
                c["right"] += 1
                continue
            c["sure and wrong"] += x["confidence"] >= SURE
            c["base_model on a wrong family"] += x["base_model"] is not None
        out[kind] = dict(c)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write one JSON row per model type here")
    ap.add_argument("--only", nargs="*", help="these model types only")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the wrong answers")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    signal.signal(signal.SIGALRM, _alarm)
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

    from hfprobe.tree.declared import MODEL_TYPES
    from hfprobe.tree.registry import families

    transformers.logging.set_verbosity_error()
    known = families()["families"]
    rows = []
    for model_type in args.only or sorted(MODEL_MAPPING_NAMES):
        truth = MODEL_TYPES.get(model_type, model_type)
        rows.append(measure(model_type, truth if truth in known else None))
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(json.dumps({"transformers": transformers.__version__, **summarize(rows)}, indent=1))
    if args.verbose:
        for r in rows:
            for kind in ("full", "lora"):
                x = r.get(kind)
                if x and x["family"] != r["truth"] and (x["confidence"] >= SURE or x["base_model"]):
                    print(f"{kind:4} {r['model_type']:32} truth {r['truth']}: {x}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

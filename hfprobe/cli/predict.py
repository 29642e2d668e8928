"""`hfprobe predict SOURCE`: route a model to its tree expert and print its top categories."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("predict", help="predict what a model was fine-tuned on (tree expert, or zero-shot labels)",
                       description="Route a model (file, folder or Hub repo) to its tree's expert, read the one layer "
                                   "it needs, and print the top-k categories; zero-shot over --labels / --vocab.")
    p.add_argument("source", help="local file/folder or Hub repo id (org/name[@rev])")
    lab = p.add_mutually_exclusive_group()
    lab.add_argument("--labels", help="comma-separated candidate categories (zero-shot)")
    lab.add_argument("--vocab", help="file with one candidate category per line (zero-shot)")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--experts", help="folder of expert folders, one expert folder, or a Hub repo id (default: the hfprobe cache)")
    p.add_argument("--text-encoder", help="text encoder id (must match the expert's; default: the expert's own)")
    p.add_argument("--token", help="Hub token (default: the logged-in one)")
    p.add_argument("--json", action="store_true", help="print the JSON result")
    p.set_defaults(run=run)


def read_labels(args) -> list[str] | None:
    from ..errors import UsageError

    if args.labels is not None:
        return [x.strip() for x in args.labels.split(",")]  # blanks are refused by check_labels, not dropped
    if args.vocab:
        path = Path(args.vocab)
        if not path.is_file():
            raise UsageError(f"--vocab {path}: no such file; pass a text file with one category per line")
        return [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return None


def run(args) -> int:
    import torch

    from ..predict import predict
    from ..text import get_text_encoder

    torch.set_num_threads(1)
    enc = get_text_encoder(args.text_encoder) if args.text_encoder else None
    out = predict(args.source, labels=read_labels(args), top_k=args.top_k, experts=args.experts,
                  text_encoder=enc, token=args.token)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    tree = out["tree"]
    print(f"source:  {out['source']}")
    print(f"tree:    family {tree['family'] or '?'}, root {tree['root'] or '?'}")
    if out["expert"] is None:
        print(f"expert:  none (abstained): {out['routing']['reason']}")
        readout = out.get("readout")
        if readout is None:
            return 0
        if readout["abstained"]:
            print(f"readout: abstained: {readout['reason']}")
            return 0
        print(f"readout: zero-shot from cross-attention deltas over {readout['labels']} labels (margin {readout['margin']:.2f})")
    else:
        e = out["expert"]
        print(f"expert:  {e['name']} (layer {e['layer']}, {out['method']}; {out['routing']['reason']})")
    for i, p in enumerate(out["predictions"], 1):
        print(f"  {i}. {p['label']:<30} {p['score']:.3f}")
    print(f"read:    {out['bytes_read']} bytes")
    return 0

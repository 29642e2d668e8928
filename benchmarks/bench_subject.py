"""Benchmark: does `inspect` say what a real model was trained on? (not a timed test)

    .venv/bin/python benchmarks/bench_subject.py [--realzoo ../shared/realzoo] [--out result.json] [-v]

For each realzoo folder, what `inspect` states about the training subject from the model's own files and weights,
with no expert and no text encoder (the readout needs its root's text encoder, which is not here offline):
`described` (the card's one line), `datasets`, `prompts` and the task head (its labels, or its output count and
the well-known label sets of that size). Each statement is compared with the manifest's `subject` and
`subject_category` by the content words they share (lower case, a plural's `s` dropped, generic words such as
"model", "lora", "classification" or "image" left out): a folder "names it" when one of its statements shares a word
with the truth. That undercounts (a head's labels "sadness, joy, …" share no word with "emotion classification")
and says nothing of how much of the statement is right: `-v` prints every folder's statements beside the truth.
Folders whose truth its authors marked low-confidence are counted apart.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

GENERIC = set(
    """a an and are as at be by for from in into is it its of on or that the this to with using based via his her
    their our my your we you i me not no none unknown unclear described specific general own
    lora peft adapter adaption adaptation low rank fine tune tuned tuning finetune finetuned train trained training
    model stable diffusion sd v1 v2 xl repo repository project app application tool demo practice test example
    generation generator generating generate image images photo picture text data dataset set classification
    classifier classify task label class output based style custom personal new""".split()
)


def words(text: str) -> set[str]:
    """Content words: lower case, a plural's trailing s dropped, generic words out (`GENERIC`).

    >>> sorted(words("Lions walking; a LoRA fine-tuned on 2 lion photos"))
    ['2', 'lion', 'walking']
    """
    out = set()
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        w = w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
        if w not in GENERIC:
            out.add(w)
    return out


def statements(report: dict) -> list[tuple[str, str]]:
    """(kind, text) of everything the report says about what the model was trained on."""
    out = []
    if report.get("described"):
        out.append(("described", report["described"]["text"]))
    out += [("dataset", d["id"]) for d in report.get("datasets") or []]
    out += [("prompt", p["text"]) for p in report.get("prompts") or []]
    head = report.get("head") or {}
    if head.get("labels"):
        out.append(("head labels", ", ".join(head["labels"])))
    if head.get("label_sets"):
        out.append(("head size", ", ".join(f"{s['name']} {s['id'] or ''}" for s in head["label_sets"])))
    return out


def run(realzoo: Path, verbose: bool = False) -> dict:
    from hfprobe.tree.inspect import inspect_source

    rows = []
    for line in (realzoo / "manifest.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        gt = entry["ground_truth"]
        truth = f"{gt.get('subject') or ''} {gt.get('subject_category') or ''}"
        said = statements(inspect_source(str((realzoo / entry["local_path"]).parent)))
        shared = sorted({w for _, text in said for w in words(text) & words(truth)})
        rows.append(
            {
                "id": entry["id"],
                "truth": gt.get("subject"),
                "confidence": gt.get("subject_confidence"),
                "said": said,
                "shared": shared,
            }
        )
        if verbose:
            print(f"{entry['id']}: {gt.get('subject')!r} ({gt.get('subject_confidence')})")
            for kind, text in said or [("nothing", "")]:
                print(f"    {kind}: {text[:100]}")
            print(f"    shared words: {', '.join(shared) or 'none'}")

    def tally(sel: list[dict]) -> dict:
        return {
            "folders": len(sel),
            "says_something": sum(bool(r["said"]) for r in sel),
            "shares_a_word": sum(bool(r["shared"]) for r in sel),
        }

    known = [r for r in rows if r["confidence"] != "low"]
    return {"known": tally(known), "low_confidence": tally([r for r in rows if r["confidence"] == "low"]), "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--realzoo", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "realzoo")
    ap.add_argument("--out", type=Path)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if not (args.realzoo / "manifest.jsonl").is_file():
        raise SystemExit(f"{args.realzoo}: no manifest.jsonl; pass --realzoo the folder of the real-file zoo")
    res = run(args.realzoo, args.verbose)
    for name, t in (("known subject", res["known"]), ("low-confidence subject", res["low_confidence"])):
        print(
            f"{name}: {t['folders']} folders; inspect says something of what it was trained on for "
            f"{t['says_something']}, sharing a word with the truth for {t['shares_a_word']}"
        )
    if args.out:
        args.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

"""Benchmark: is the `base_model` that `hfprobe annotate` writes into a card right? (not a timed test)

    .venv/bin/python benchmarks/bench_base_model.py [--realzoo ../shared/realzoo] [--out result.json] [-v]

Every realzoo folder is copied to a temp dir (companion files copied, weights symlinked), annotated with the
installed package exactly as `hfprobe annotate FOLDER` does (no experts: categories play no part here), and
its card read back with `huggingface_hub.ModelCard`. `card.data.base_model` is then compared with the
manifest's `ground_truth.base_model`, which the manifest's authors established from files other than the
weights (READMEs, training scripts, configs; many of those scripts are not in the snapshot).

Which folders count: those whose ground truth names one model, i.e. is a Hub id (`gpt2`,
`runwayml/stable-diffusion-v1-5`) or names a checkpoint the roots registry knows (`Segment Anything ViT-B
(sam_vit_b_01ec64.pth)` is `facebook/sam-vit-base`), and is not marked low-confidence. Folders whose truth is
"unknown Stable Diffusion" are reported apart: any base_model written there is counted as unverifiable.

Right: the card's base_model is the ground truth's model under any alias of the same weights (registry
`canonical_id`: `runwayml/…`, `sd-legacy/…` and `stable-diffusion-v1-5/…` are one model; a fine-tune such as
`dreamlike-art/dreamlike-photoreal-2.0` is NOT its base). Missing: no base_model. Wrong: any other id.
Target (issue 19): right on at least 34 of the folders with a known base, wrong on 0.

Also `root.confidence` against the same truth, by how the base_model was decided: the mean confidence of the top
root beside how often it is the truth (a calibration check on real files); and the same of `root.tree.confidence`
against the truth's tree (`registry.tree_root`: SD 2.1-base is in SD 2-base's tree).

`--restore-evidence` measures what a repo on the Hub would give: the snapshot keeps only README.md beside the
weights, while the manifest quotes the lines of the training scripts and configs its authors read. Each quoted
file the snapshot lacks is written back holding only its quoted lines (nothing else of it is known), and the
folders are annotated again. The figure is reported apart from the snapshot's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="hfprobe-bench-base-"))
os.environ["HF_HOME"] = str(_TMP / "hf_home")
os.environ["HFPROBE_CACHE"] = str(_TMP / "cache")  # no experts: the card says so, base_model is all we measure
for _var in ("HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE", "HFPROBE_EXPERTS"):
    os.environ.pop(_var, None)

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".ckpt")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def truth_id(entry: dict) -> str | None:
    """The ground truth as one model id (canonical), or None when the manifest does not know the base."""
    from hfprobe.tree.naming import resolve_name
    from hfprobe.tree.registry import canonical_id

    gt = entry["ground_truth"]
    text = str(gt.get("base_model") or "").strip()
    if not text or gt.get("base_confidence") == "low" or text.lower().startswith(("unknown", "unspecified")):
        return None
    if _HUB_ID.match(text):
        return canonical_id(text)
    for name in re.findall(r"\(([^,)]+)", text):  # "Segment Anything ViT-B (sam_vit_b_01ec64.pth)"
        root, _ = resolve_name(name.strip())
        if root:
            return root
    return None


def copy_zoo(realzoo: Path, dest: Path, manifest: list[dict], *, restore_evidence: bool = False) -> int:
    """Copy every folder (weights symlinked); with `restore_evidence`, write each quoted evidence file the
    snapshot lacks, holding its quoted lines. Returns how many files were restored."""
    restored = 0
    for entry in manifest:
        src, out = realzoo / "files" / entry["id"], dest / entry["id"]
        out.mkdir(parents=True)
        for f in src.iterdir():
            if f.name.endswith(WEIGHT_SUFFIXES):
                (out / f.name).symlink_to(f.resolve())
            else:
                shutil.copyfile(f, out / f.name)
        if not restore_evidence:
            continue
        quotes: dict[str, list[str]] = {}
        for ev in entry["ground_truth"].get("evidence", []):
            name = str(ev.get("file") or "")
            if name and not name.startswith(("/", "..")) and ".." not in Path(name).parts:
                quotes.setdefault(name, []).append(str(ev.get("quote") or ""))
        for name, lines in quotes.items():
            path = out / name
            if not (src / name).exists() and not path.exists() and not name.endswith(WEIGHT_SUFFIXES):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("\n".join(lines) + "\n")
                restored += 1
    return restored


def root_confidence(work: Path, manifest: list[dict]) -> dict:
    """Does `root.confidence` mean what it says? Over the folders with a known base, by how the base_model was
    decided (declared, mentioned, ambiguous, …): how many, their top root's mean confidence, and how many of those
    top roots are the truth."""
    from hfprobe.tree.inspect import inspect_source
    from hfprobe.tree.registry import canonical_id, tree_root

    groups: dict[str, list[tuple[float, bool, float, bool]]] = {}
    for entry in manifest:
        truth = truth_id(entry)
        if truth is None:
            continue
        report = inspect_source(str(work / entry["id"]))
        root = report["root"]
        tree = root.get("tree") or {"id": None, "confidence": 0.0}
        right = bool(root["id"]) and canonical_id(root["id"]) == truth
        tree_right = bool(tree["id"]) and tree["id"] == tree_root(truth)
        groups.setdefault(report["base_model"]["status"], []).append(
            (root["confidence"], right, tree["confidence"], tree_right)
        )
    return {
        status: {
            "folders": len(xs),
            "mean_confidence": round(sum(x[0] for x in xs) / len(xs), 3),
            "top_root_right": sum(x[1] for x in xs),
            "mean_tree_confidence": round(sum(x[2] for x in xs) / len(xs), 3),
            "tree_right": sum(x[3] for x in xs),
        }
        for status, xs in sorted(groups.items())
    }


def run(realzoo: Path, verbose: bool = False, restore_evidence: bool = False) -> dict:
    from huggingface_hub import ModelCard

    from hfprobe.cards.batch import annotate_batch
    from hfprobe.tree.registry import canonical_id

    manifest = [json.loads(line) for line in (realzoo / "manifest.jsonl").read_text().splitlines() if line.strip()]
    work = _TMP / ("zoo-restored" if restore_evidence else "zoo")
    restored = copy_zoo(realzoo, work, manifest, restore_evidence=restore_evidence)
    confidence = root_confidence(work, manifest)  # (before annotate writes base_model into the cards)
    results = annotate_batch(
        [str(work / e["id"]) for e in manifest], workers=1, progress=False, echo=lambda s: None, today="2026-01-01"
    )
    failed = {r.target: r.reason for r in results if r.status == "failed"}
    rows, tally, unverifiable = [], {"right": 0, "missing": 0, "wrong": 0}, []
    for entry in manifest:
        card_path = work / entry["id"] / "README.md"
        written = ModelCard.load(card_path).data.base_model if card_path.is_file() else None
        written = written[0] if isinstance(written, list) and len(written) == 1 else written
        truth = truth_id(entry)
        if truth is None:
            outcome = "unknown-truth"
            if written:
                unverifiable.append(entry["id"])
        elif not written:
            outcome = "missing"
        elif isinstance(written, str) and canonical_id(written) == truth:
            outcome = "right"
        else:
            outcome = "wrong"
        if outcome in tally:
            tally[outcome] += 1
        hub_truth = bool(_HUB_ID.match(str(entry["ground_truth"].get("base_model") or "").strip()))
        rows.append(
            {
                "id": entry["id"],
                "truth": entry["ground_truth"]["base_model"],
                "truth_is_hub_id": hub_truth,
                "written": written,
                "outcome": outcome,
            }
        )
        if verbose:
            print(f"{outcome:>13}  {entry['id']:<38} wrote {written!s:<44} truth {entry['ground_truth']['base_model']}")
    known = sum(tally.values())
    hub_rows = [r for r in rows if r["truth_is_hub_id"] and r["outcome"] != "unknown-truth"]
    return {
        "folders": len(manifest),
        "restored_evidence_files": restored,
        "known_truth": known,
        **tally,
        "hub_id_truth": {
            "folders": len(hub_rows),
            **{k: sum(r["outcome"] == k for r in hub_rows) for k in ("right", "missing", "wrong")},
        },
        "root_confidence": confidence,
        "written_where_truth_unknown": unverifiable,
        "failed": failed,
        "target": "right >= 34 of the folders with a known base, wrong == 0",
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realzoo", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "realzoo"))
    parser.add_argument("--out", help="write the figures (and every folder's outcome) as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per folder")
    parser.add_argument(
        "--restore-evidence",
        action="store_true",
        help="also write back the training scripts and configs the manifest quotes (their quoted lines only)",
    )
    args = parser.parse_args()
    realzoo = Path(args.realzoo)
    if not (realzoo / "manifest.jsonl").is_file():
        parser.error(f"{realzoo}: no manifest.jsonl; pass --realzoo DIR (the shared realzoo folder)")
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)  # "card metadata block was not found" noise
    try:
        out = {"snapshot": run(realzoo, verbose=args.verbose)}
        if args.restore_evidence:
            out["restored"] = run(realzoo, verbose=args.verbose, restore_evidence=True)
    finally:
        shutil.rmtree(_TMP, ignore_errors=True)
    for which, res in out.items():
        extra = f" ({res['restored_evidence_files']} quoted files written back)" if which == "restored" else ""
        print(
            f"{which}{extra}: base_model on {res['known_truth']} realzoo folders with a known base: right "
            f"{res['right']}, missing {res['missing']}, wrong {res['wrong']}; written where the truth is unknown: "
            f"{len(res['written_where_truth_unknown'])}; failed: {len(res['failed'])}"
        )
        for status, g in res["root_confidence"].items():
            print(
                f"  root.confidence where the base_model is {status}: {g['folders']} folders, mean "
                f"{g['mean_confidence']:.2f}, top root right on {g['top_root_right']}; root.tree.confidence mean "
                f"{g['mean_tree_confidence']:.2f}, tree right on {g['tree_right']}"
            )
        h = res["hub_id_truth"]
        print(
            f"  of which {h['folders']} whose truth is a Hub id: right {h['right']}, missing {h['missing']}, "
            f"wrong {h['wrong']}"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

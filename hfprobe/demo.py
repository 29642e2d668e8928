"""`hfprobe demo`: the whole pipeline, on this machine, with no network, in a few minutes.

1. build (or find cached) a small zoo: real tiny networks fine-tuned on known categories;
2. train (or find cached) one ProbeX expert per tree;
3. take a held-out model (never seen in training), inspect its weights and predict its categories;
4. annotate a copy of its model card and show the diff;
5. index the whole zoo by what the weights say;
6. answer a free-text query over that index;
and print where everything is. Every step calls the same library functions as the CLI.

    >>> summary = run_demo(preset="test", workdir="/tmp/demo")   # doctest: +SKIP
    >>> summary["query"]["hits"][0]["id"]                        # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from .config import cache_dir

DEFAULT_QUERIES = {"tiny": "shoes", "mini": "shoes", "test": "shoes"}
# The demo trains quickly: 3 candidate layers, at most 100 epochs. `hfprobe train` has the full sweep.
DEMO_TRAIN = {"max_epochs": 100, "patience": 20}
DEMO_LAYERS = 3


def _digest(*parts) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:8]


def _say(out: Callable, text: str = "") -> None:
    out(text)


def experts_for(zoo_path: Path, *, progress: bool, out: Callable) -> tuple[Path, list[dict], bool]:
    """Train one expert per tree of the zoo, or reuse the ones cached for this exact zoo (by its hash)."""
    from .experts.data import candidate_layers
    from .experts.expert import Expert
    from .experts.fit import fit_tree
    from .experts.probes import TrainConfig
    from .tree.inspect import family_of
    from .zoo import open_zoo

    zoo = open_zoo(zoo_path)
    zoo_hash = (zoo.info or {}).get("hash") or zoo_path.name
    cfg = TrainConfig(**DEMO_TRAIN)
    folder = cache_dir() / "experts" / f"demo-{zoo_hash}-{_digest(DEMO_TRAIN, DEMO_LAYERS)}"
    rows, trained = [], False
    for tree in sorted(zoo.trees()):
        dest = folder / tree
        expert = None
        if dest.is_dir():
            try:
                expert = Expert.load(dest)
            except Exception:  # a half-written or older expert: train it again
                expert = None
        if expert is None or expert.config.get("zoo_hash") != (zoo.info or {}).get("hash"):
            first = zoo.select(tree=tree)[0]
            layers = candidate_layers(zoo, tree, limit=DEMO_LAYERS)
            expert, _ = fit_tree(zoo, tree, cfg, layers=layers, progress=progress, family=family_of(first.spec))
            tmp = folder / f".{tree}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            expert.save(tmp)
            shutil.rmtree(dest, ignore_errors=True)
            tmp.rename(dest)  # a crash leaves the old expert or none, never half of one
            trained = True
        m = expert.config.get("metrics") or {}
        n_labels = len(expert.config.get("labels") or []) or 1
        chance = 0.5 if expert.config.get("head") == "multilabel" else 1 / n_labels
        rows.append(
            {
                "tree": tree,
                "root": expert.config.get("root"),
                "layer": expert.layer,
                "head": expert.config.get("head"),
                "metric": m.get("metric"),
                "val": m.get("val"),
                "test": m.get("test"),
                "chance": round(chance, 2),
            }
        )
    return folder, rows, trained


def _held_out(zoo_path: Path):
    """A model the experts never trained on: the first test-split model of the first tree with one."""
    from .zoo import open_zoo

    zoo = open_zoo(zoo_path)
    for split in ("test", "test_holdout", "val"):
        models = sorted(zoo.select(split=split), key=lambda m: (not m.tree.startswith("vit"), m.tree, m.id))
        if models:
            return models[0]
    return zoo.models[0]


def _fmt(x) -> str:
    return f"{x:.2f}" if isinstance(x, float) else str(x)


def run_demo(
    *,
    preset: str = "tiny",
    workdir: str | Path | None = None,
    query: str | None = None,
    progress: bool = True,
    out: Callable = print,
) -> dict:
    """Run the six steps and return a summary dict (also written to <workdir>/demo.json)."""
    from .cards.annotate import annotate_folder, diff_text
    from .experts.predict import predict
    from .search.index import ModelIndex
    from .search.ingest import add_sources
    from .tree.inspect import inspect_source
    from .zoo import build_zoo, load_recipe, open_zoo

    load_recipe(preset)  # an unknown preset fails here, before any work or output
    t_start = time.time()
    work = Path(workdir) if workdir else cache_dir() / "demo"
    work.mkdir(parents=True, exist_ok=True)
    summary: dict = {"preset": preset, "workdir": str(work), "seconds": {}}
    _say(out, f"hfprobe demo: the whole pipeline on the '{preset}' zoo, built on this machine (no network needed).\n")

    # 1. zoo
    t = time.time()
    _say(out, "[1/6] Zoo: tiny networks fine-tuned on known categories, so we can check the answers.")
    zoo_path = build_zoo(preset, progress=progress)
    zoo = open_zoo(zoo_path)
    trees = zoo.trees()
    summary["zoo"] = {"path": str(zoo_path), "models": len(zoo), "trees": {k: len(v) for k, v in sorted(trees.items())}}
    summary["seconds"]["zoo"] = round(time.time() - t, 1)
    sizes = ", ".join(f"{k}: {len(v)}" for k, v in sorted(trees.items()))
    _say(out, f"      {len(zoo)} models in {len(trees)} trees ({sizes})")
    _say(out, f"      {zoo_path}  [{summary['seconds']['zoo']} s]\n")

    # 2. experts
    t = time.time()
    _say(out, "[2/6] Experts: one ProbeX probe per tree reads one layer's weights and predicts categories.")
    experts_dir, expert_rows, trained = experts_for(zoo_path, progress=progress, out=out)
    summary["experts"] = {"path": str(experts_dir), "trained_now": trained, "trees": expert_rows}
    summary["seconds"]["experts"] = round(time.time() - t, 1)
    for r in expert_rows:
        _say(
            out,
            f"      {r['tree']:<18} {r['metric'] or 'score'}: val {_fmt(r['val'])}, test {_fmt(r['test'])} "
            f"(chance {r['chance']:.2f})  layer {r['layer']}",
        )
    _say(
        out,
        f"      {'trained now' if trained else 'found in cache'}: {experts_dir}  [{summary['seconds']['experts']} s]\n",
    )

    # 3. a held-out model
    t = time.time()
    model = _held_out(zoo_path)
    spec = str(model.spec)
    _say(out, f"[3/6] A held-out model (split '{model.split}', never used to train the experts): {model.id}")
    _say(out, f"      truly fine-tuned on: {', '.join(model.labels or ['?'])}")
    report = inspect_source(spec)
    root = report.get("root") or {}
    _say(
        out,
        f"      inspect: format {report.get('format')}, family {report.get('family')}, "
        f"root {root.get('id') or 'unknown'} ({root.get('confidence', '?')})",
    )
    pred = predict(spec, experts_dir=experts_dir, top_k=5)
    truth = set(model.labels or [])
    shown = ", ".join(f"{p['label']}{'*' if p['label'] in truth else ''} {p['score']:.2f}" for p in pred["predictions"])
    _say(
        out, f"      predict (routed to expert {((pred.get('expert') or {}).get('name'))}): {shown or 'no prediction'}"
    )
    _say(out, "      (* = a category it was really trained on)")
    summary["held_out"] = {
        "id": model.id,
        "tree": model.tree,
        "spec": spec,
        "truth": sorted(truth),
        "inspect": {k: report.get(k) for k in ("format", "family", "root", "conflicts")},
        "predictions": pred["predictions"],
        "expert": pred.get("expert"),
    }
    summary["seconds"]["inspect_predict"] = round(time.time() - t, 1)
    _say(out, "")

    # 4. its card
    t = time.time()
    src_folder = Path(spec) if Path(spec).is_dir() else Path(spec).parent
    card_folder = work / "cards" / model.id.replace("/", "__")
    shutil.rmtree(card_folder, ignore_errors=True)
    shutil.copytree(src_folder, card_folder)
    readme = card_folder / "README.md"
    old = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    import os

    old_experts = os.environ.get("HFPROBE_EXPERTS")
    os.environ["HFPROBE_EXPERTS"] = str(experts_dir)  # annotate predicts with the default experts
    try:
        res = annotate_folder(card_folder, display=model.id)
    finally:
        if old_experts is None:
            os.environ.pop("HFPROBE_EXPERTS", None)
        else:
            os.environ["HFPROBE_EXPERTS"] = old_experts
    new = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    diff = diff_text(old, new, "README.md")
    _say(out, f"[4/6] Model card: a copy annotated with what the weights say ({res.status}): {readme}")
    for line in diff.splitlines()[:40]:
        _say(out, "      " + line)
    if len(diff.splitlines()) > 40:
        _say(out, f"      ... ({len(diff.splitlines()) - 40} more lines in {readme})")
    summary["card"] = {"path": str(readme), "status": res.status, "diff_lines": len(diff.splitlines())}
    summary["seconds"]["card"] = round(time.time() - t, 1)
    _say(out, "")

    # 5. index
    t = time.time()
    _say(out, "[5/6] Search index: every zoo model, placed in the text space by its predicted categories.")
    index = ModelIndex(work / "index")
    specs = [str(m.spec) for m in zoo.models]
    res5 = add_sources(index, specs, describe_kwargs={"experts": str(experts_dir)}, progress=progress)
    summary["index"] = {
        "path": str(index.path),
        "models": len(index),
        "added": res5["added"],
        "skipped": res5["skipped"],
        "failed": res5["failed"],
    }
    summary["seconds"]["index"] = round(time.time() - t, 1)
    _say(
        out,
        f"      {len(index)} models in {index.path} (added {res5['added']}, already there {res5['skipped']}, "
        f"not indexed {len(res5['failed'])})  [{summary['seconds']['index']} s]",
    )
    for f in res5["failed"][:3]:
        _say(out, f"      not indexed: {f['error']}")
    _say(out, "")

    # 6. query
    text = query or DEFAULT_QUERIES.get(preset, "shoes")
    hits = index.query(text, top_k=5)
    by_id = {str(Path(str(m.spec)).resolve()): m for m in zoo.models}
    _say(out, f'[6/6] Query "{text}": the models whose weights say they match best')
    for i, h in enumerate(hits, 1):
        m = by_id.get(h["id"])
        truth_txt = f"  (truly: {', '.join(m.labels or [])})" if m else ""
        _say(out, f"      {i}. {h['score']:.3f}  {m.id if m else h['id']}  [{h['root']}]  {h['why']}{truth_txt}")
    summary["query"] = {"text": text, "hits": [{k: h.get(k) for k in ("id", "score", "root", "why")} for h in hits]}
    summary["seconds"]["total"] = round(time.time() - t_start, 1)

    (work / "demo.json").write_text(json.dumps(summary, indent=1, default=str))
    _say(
        out,
        f"""
Done in {summary["seconds"]["total"]} s. What happened:
  hfprobe read only the weights of {len(zoo)} small models. For each it found its model tree (which base
  model it was fine-tuned from) and asked that tree's expert what it was trained on. The held-out model
  above was never seen by the experts; compare its predicted categories with the starred true ones.
  The experts here are trained on a few dozen tiny models, so expect rough answers, not the paper's.

Where everything is:
  zoo           {zoo_path}
  experts       {experts_dir}
  card (copy)   {readme}
  index         {index.path}
  this summary  {work / "demo.json"}

Try next:
  hfprobe inspect {spec}
  hfprobe predict {spec} --experts {experts_dir}
  hfprobe query "a description" --index {index.path}
  HFPROBE_INDEX={index.path} python space/app.py      # the Space, on http://127.0.0.1:7860""",
    )
    return summary

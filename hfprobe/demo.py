"""`hfprobe demo`: the whole pipeline, on this machine, with no network, in a few minutes.

1. build (or find cached) a small zoo: real tiny networks fine-tuned on known categories;
2. train (or find cached) one ProbeX expert per tree the preset gives an expert, calibrate it on validation, and
   print its test figure next to chance;
3. the three ways hfprobe answers, on models no expert saw: a ProbeX expert in distribution (labels decided at a
   threshold set on validation), zero-shot to labels the expert never trained on, the readout on a LoRA of a tree
   with no expert; and one abstention (a model of a tree nobody knows);
4. annotate a copy of the first model's card and show the diff;
5. index the models the experts never saw by what their weights say;
6. answer a free-text query over that index;
and print where everything is. Every step calls the same library functions as the CLI. The demo's settings and
its targets are data: the preset's `demo` entry in hfprobe/data/zoo_presets.json.

    >>> summary = run_demo(preset="test", workdir="/tmp/demo")   # doctest: +SKIP
    >>> summary["figures"][0]["test"], summary["figures"][0]["chance"]   # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from .config import cache_dir, require

DEFAULT_QUERY = "shoes"
# Without a `demo` entry in the preset: an expert for every tree, 3 candidate layers, at most 100 epochs.
DEFAULTS = {"train": {"max_epochs": 100, "patience": 20}, "layers": 3, "kinds": {}, "targets": None}


def demo_settings(preset: str) -> dict:
    """The preset's demo settings (its `demo` entry over DEFAULTS): which trees get experts (`experts`: None = all)
    and how they train (`train`, `layers`, `kinds` per tree), the tree shown to the readout and the one shown
    abstaining (None: not shown), and the `targets` its figures are checked against (None: none).

    >>> demo_settings("test")["experts"] is None and demo_settings("test")["targets"] is None
    True
    """
    from .zoo.recipe import presets_data

    extra = presets_data()["presets"][preset].get("demo") or {}
    return {**DEFAULTS, "experts": None, "readout_tree": None, "unseen_tree": None, **extra}


def _digest(*parts) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:8]


def experts_for(zoo_path: Path, settings: dict, *, progress: bool) -> tuple[Path, list[dict], bool]:
    """Train one expert per chosen tree of the zoo, or reuse the ones cached for this exact zoo (by its hash)."""
    from .experts.data import candidate_layers
    from .experts.expert import Expert
    from .experts.fit import fit_tree
    from .experts.probes import TrainConfig
    from .tree.inspect import family_of
    from .zoo import open_zoo

    zoo = open_zoo(zoo_path)
    zoo_hash = (zoo.info or {}).get("hash") or zoo_path.name
    how = {k: settings[k] for k in ("train", "layers", "kinds", "experts")}
    folder = cache_dir() / "experts" / f"demo-{zoo_hash}-{_digest(how)}"
    rows, trained = [], False
    for tree in sorted(settings["experts"] or zoo.trees()):
        dest = folder / tree
        expert = None
        if dest.is_dir():
            try:
                expert = Expert.load(dest)
            except Exception:  # a half-written or older expert: train it again
                expert = None
        if expert is None or expert.config.get("zoo_hash") != (zoo.info or {}).get("hash"):
            first = zoo.select(tree=tree)[0]
            kind = settings["kinds"].get(tree, "probex")
            cfg = TrainConfig(kind=kind, **settings["train"])
            k = ["probex", "bilinear"] if kind == "auto" else [kind]
            limit = settings["layers"].get(tree, 3) if isinstance(settings["layers"], dict) else settings["layers"]
            layers = list(dict.fromkeys(n for x in k for n in candidate_layers(zoo, tree, limit=limit, kind=x)))
            expert, _ = fit_tree(zoo, tree, cfg, layers=layers, progress=progress, family=family_of(first.spec))
            tmp = folder / f".{tree}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            expert.save(tmp)
            shutil.rmtree(dest, ignore_errors=True)
            tmp.rename(dest)  # a crash leaves the old expert or none, never half of one
            trained = True
        m = expert.config.get("metrics") or {}
        rows.append(
            {
                "tree": tree,
                "root": expert.config.get("root"),
                "layer": expert.layer,
                "head": expert.config.get("head"),
                "kind": expert.config["train"].get("kind", "probex"),
                "metric": m.get("metric"),
                "val": m.get("val"),
                "test": m.get("test"),
                "chance": m.get("chance"),
                "n_test": m.get("n_test"),
                "near_chance": m.get("near_chance"),
                "calibration": (expert.config.get("calibration") or {}).get("method"),
                "ece_before": m.get("test_ece_before"),
                "ece_after": m.get("test_ece_after"),
            }
        )
    return folder, rows, trained


# ------------------------------------------------------------------------------------------------ figures
def _target(metric: str, chance: float | None, targets: dict | None) -> float | None:
    if not targets or chance is None:
        return None
    if metric == "elementwise_accuracy":
        return targets.get("elementwise_accuracy")
    return round(targets["top1_times_chance"] * chance, 4) if "top1_times_chance" in targets else None


def _figure(tree: str, what: str, metric: str, test, chance, n: int, targets: dict | None) -> dict:
    target = _target(metric, chance, targets)
    return {
        "tree": tree,
        "what": what,
        "metric": metric,
        "test": None if test is None else round(float(test), 4),
        "chance": None if chance is None else round(float(chance), 4),
        "n": n,
        "target": target,
        "met": None if target is None or test is None else bool(test >= target),
    }


def _top1_by_predict(models, experts_dir, labels) -> tuple[float | None, list[dict]]:
    """Top-1 over `labels` of `predict` on each model (the path a user's question takes), and each answer."""
    from .experts.predict import predict

    answers = []
    for m in models:
        pred = predict(str(m.spec), experts_dir=experts_dir, labels=labels, top_k=3)
        top = pred["predictions"][0]["label"] if pred["predictions"] else None
        answers.append({"id": m.id, "truth": m.labels[0], "answer": top, "method": pred["method"], "pred": pred})
    if not answers:
        return None, answers
    return sum(a["answer"] == a["truth"] for a in answers) / len(answers), answers


def figures(zoo, experts_dir: Path, expert_rows: list[dict], settings: dict) -> tuple[list[dict], dict]:
    """Each shown tree's test figure next to chance (and its target, where the preset sets one):
    the experts' own test figures; on text trees with held-out categories, those categories named by `predict`
    over them (readout where it answers, else the expert zero-shot); and the readout on the tree with no expert.
    Returns (rows, the answers behind the `predict` figures, by kind)."""
    targets = settings.get("targets")
    rows, answers = [], {}
    for r in expert_rows:
        what = "in distribution, ProbeX expert" if r["kind"] == "probex" else f"in distribution, {r['kind']} expert"
        rows.append(_figure(r["tree"], what, r["metric"], r["test"], r["chance"], r["n_test"] or 0, targets))
        held = [m for m in zoo.select(tree=r["tree"], split="test_holdout") if m.labels]
        cats = sorted({m.labels[0] for m in held})
        if r["head"] == "text" and len(cats) >= 2:
            top1, ans = _top1_by_predict(held, experts_dir, cats)
            answers["zero_shot"] = ans
            rows.append(
                _figure(r["tree"], "held-out categories (zero-shot)", "top1", top1, 1 / len(cats), len(held), targets)
            )
    tree = settings.get("readout_tree")
    if tree and tree in zoo.trees():
        from .text.vocab import default_vocabulary

        models = [m for m in zoo.select(tree=tree) if m.labels]
        # the default vocabulary (ImageNet names and styles) plus this tree's own names, as `--vocab` would give
        labels = sorted(set(default_vocabulary()) | {m.labels[0] for m in models})
        top1, ans = _top1_by_predict(models, experts_dir, labels)
        answers["readout"] = ans
        rows.append(_figure(tree, "no expert: the readout", "top1", top1, 1 / len(labels), len(models), targets))
    return rows, answers


def missed(summary: dict) -> list[str]:
    """The figures that miss their target, one line each ([] when all are met or none is set).

    >>> missed({"figures": [{"tree": "t", "what": "w", "test": 0.7, "target": 0.8, "met": False, "chance": 0.5}]})
    ['t (w): 0.70 < target 0.80 (chance 0.50)']
    """
    return [
        f"{f['tree']} ({f['what']}): {f['test'] if f['test'] is None else format(f['test'], '.2f')} < target "
        f"{f['target']:.2f} (chance {f['chance']:.2f})"
        for f in summary.get("figures", [])
        if f.get("met") is False
    ]


def _fmt(x) -> str:
    return f"{x:.2f}" if isinstance(x, float) else str(x)


def _pred_line(pred: dict, truth: set) -> str:
    parts = []
    for p in pred["predictions"]:
        prob = p.get("probability")
        star = "*" if p["label"] in truth else ""
        if p.get("calibration") == "readout-margin":  # the readout: z-scores, and its top label's chance of being right
            parts.append(f"{p['label']}{star} (z {p['score']:.1f}, right with p {prob:.2f})")
        elif prob is not None:
            parts.append(f"{p['label']}{star} {prob:.2f}")
        else:
            parts.append(f"{p['label']}{star} (z {p['score']:.1f})")
    return ", ".join(parts) or "no prediction"


# --------------------------------------------------------------------------------------------------- demo
def _demo_index(folder: Path, owner: str):
    """The demo's own index: reused when it holds this zoo and these experts, else rebuilt (it belongs to the demo,
    so an index of another zoo, or one an older hfprobe wrote, is replaced rather than refused)."""
    from .errors import SearchIndexError
    from .search.index import ModelIndex

    marker = folder / "demo-owner.txt"
    try:
        if marker.is_file() and marker.read_text(encoding="utf-8") == owner:
            return ModelIndex(folder)
    except SearchIndexError:
        pass
    shutil.rmtree(folder, ignore_errors=True)
    index = ModelIndex(folder)
    marker.write_text(owner, encoding="utf-8")
    return index


def run_demo(
    *,
    preset: str = "demo",
    workdir: str | Path | None = None,
    query: str | None = None,
    progress: bool = True,
    out: Callable = print,
) -> dict:
    """Run the steps and return a summary dict (also written to <workdir>/demo.json); `summary["figures"]`
    holds each shown tree's test figure, chance and target (`missed(summary)` lists the targets missed)."""
    from .cards.annotate import annotate_folder, diff_text
    from .search.ingest import add_sources
    from .zoo import build_zoo, load_recipe, open_zoo

    load_recipe(preset)  # an unknown preset fails here, before any work or output
    require("lancedb", "search")  # step 5 searches an index: a missing extra is one line now, not after minutes
    settings = demo_settings(preset)
    t_start = time.time()
    work = Path(workdir) if workdir else cache_dir() / "demo"
    work.mkdir(parents=True, exist_ok=True)
    summary: dict = {"preset": preset, "workdir": str(work), "seconds": {}}
    out(f"hfprobe demo: the whole pipeline on the '{preset}' zoo, built on this machine (no network needed).\n")

    # 1. zoo
    t = time.time()
    out("[1/6] Zoo: tiny networks fine-tuned on known categories, so we can check the answers.")
    zoo_path = build_zoo(preset, progress=progress, jobs=max(1, min(2, os.cpu_count() or 1)))
    zoo = open_zoo(zoo_path)
    trees = zoo.trees()
    summary["zoo"] = {"path": str(zoo_path), "models": len(zoo), "trees": {k: len(v) for k, v in sorted(trees.items())}}
    summary["seconds"]["zoo"] = round(time.time() - t, 1)
    out(
        f"      {len(zoo)} models in {len(trees)} trees "
        f"({', '.join(f'{k}: {len(v)}' for k, v in sorted(trees.items()))})"
    )
    out(f"      {zoo_path}  [{summary['seconds']['zoo']} s]\n")

    # 2. experts
    t = time.time()
    out("[2/6] Experts: one probe per tree reads one layer's weights; calibrated on validation, scored on test.")
    experts_dir, expert_rows, trained = experts_for(zoo_path, settings, progress=progress)
    summary["experts"] = {"path": str(experts_dir), "trained_now": trained, "trees": expert_rows}
    figs, answers = figures(zoo, experts_dir, expert_rows, settings)
    summary["figures"] = figs
    summary["seconds"]["experts"] = round(time.time() - t, 1)
    for f in figs:
        verdict = "" if f["met"] is None else ("  target met" if f["met"] else f"  TARGET MISSED ({f['target']:.2f})")
        out(
            f"      {f['tree']:<16} {f['what']:<34} test {_fmt(f['test'])}  chance {_fmt(f['chance'])}  "
            f"({f['metric']}, {f['n']} models){verdict}"
        )
    for r in expert_rows:
        if r["ece_before"] is not None:
            out(
                f"      {r['tree']:<16} probabilities calibrated on validation ({r['calibration']}): test ECE "
                f"{r['ece_before']:.2f} raw, {r['ece_after']:.2f} calibrated"
            )
    out(f"      {'trained now' if trained else 'found in cache'}: {experts_dir}  [{summary['seconds']['experts']} s]\n")

    # 3. the three ways hfprobe answers, and an abstention
    t = time.time()
    out("[3/6] How hfprobe answers, on models no expert saw (* = a category it was really trained on):")
    model, report, pred, shown = _in_distribution(zoo, experts_dir, expert_rows, out)
    shown.update(_other_answers(zoo, experts_dir, answers, settings, out))
    spec, truth = str(model.spec), set(model.labels or [])
    summary["answers"] = _strip(shown)
    summary["held_out"] = {
        "id": model.id,
        "tree": model.tree,
        "spec": spec,
        "truth": sorted(truth),
        "inspect": {k: report.get(k) for k in ("format", "family", "root", "conflicts")},
        "predictions": pred["predictions"],
        "expert": pred.get("expert"),
    }
    summary["seconds"]["answers"] = round(time.time() - t, 1)
    out("")

    # 4. its card
    t = time.time()
    readme, res, diff = _card(model, spec, work, experts_dir, annotate_folder, diff_text)
    out(f"[4/6] Model card: a copy of {model.id}'s card annotated with what the weights say ({res.status}): {readme}")
    for line in diff.splitlines()[:30]:
        out("      " + line)
    if len(diff.splitlines()) > 30:
        out(f"      ... ({len(diff.splitlines()) - 30} more lines in {readme})")
    summary["card"] = {"path": str(readme), "status": res.status, "diff_lines": len(diff.splitlines())}
    summary["seconds"]["card"] = round(time.time() - t, 1)
    out("")

    # 5. index: the models no expert trained on (test splits, and every model of a tree without an expert)
    t = time.time()
    expert_trees = {r["tree"] for r in expert_rows}
    models = [m for m in zoo.models if m.tree not in expert_trees or m.split.startswith("test")]
    out(
        f"[5/6] Search index: the {len(models)} models no expert trained on, placed in the text space by their "
        "categories."
    )
    index = _demo_index(work / "index", f"{zoo_path.name} {experts_dir.name}")
    res5 = add_sources(
        index, [str(m.spec) for m in models], describe_kwargs={"experts": str(experts_dir)}, progress=progress
    )
    summary["index"] = {
        "path": str(index.path),
        "models": len(index),
        "added": res5["added"],
        "skipped": res5["skipped"],
        "failed": res5["failed"],
        "indexed": len(models),
    }
    summary["seconds"]["index"] = round(time.time() - t, 1)
    out(
        f"      {len(index)} models in {index.path} (added {res5['added']}, already there {res5['skipped']}, "
        f"not indexed {len(res5['failed'])})  [{summary['seconds']['index']} s]"
    )
    for f in res5["failed"][:3]:
        out(f"      not indexed: {f['error']}")
    out("")

    # 6. query
    text = query or DEFAULT_QUERY
    hits = index.query(text, top_k=5)
    by_id = {str(Path(str(m.spec)).resolve()): m for m in zoo.models}
    out(f'[6/6] Query "{text}": the models whose weights say they match best')
    for i, h in enumerate(hits, 1):
        m = by_id.get(h["id"])
        truth_txt = f"  (truly: {', '.join(m.labels or [])})" if m else ""
        out(f"      {i}. {h['score']:.3f}  {m.id if m else h['id']}  [{h['root']}]  {h['why']}{truth_txt}")
    summary["query"] = {"text": text, "hits": [{k: h.get(k) for k in ("id", "score", "root", "why")} for h in hits]}
    summary["seconds"]["total"] = round(time.time() - t_start, 1)
    summary["missed"] = missed(summary)
    (work / "demo.json").write_text(json.dumps(summary, indent=1, default=str))
    verdict = (
        "Every figure above meets its target."
        if settings.get("targets") and not summary["missed"]
        else ("Targets missed: " + "; ".join(summary["missed"]) if summary["missed"] else "")
    )
    out(
        f"""
Done in {summary["seconds"]["total"]} s. {verdict}
  hfprobe read only the weights of {len(zoo)} small models. For each it found its model tree (which base
  model it was fine-tuned from) and asked that tree's expert what it was trained on; where no expert knows the
  tree, a text-to-image LoRA is read against the labels directly (the readout), and anything else is declined.
  Probabilities are calibrated on each expert's validation models; the figures are on models no expert saw.

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
  hfprobe space run --index {index.path}      # the Space, on http://127.0.0.1:7860""",
    )
    return summary


def _in_distribution(zoo, experts_dir: Path, expert_rows: list[dict], out: Callable):
    """a) A test model of the first multi-label expert tree: inspect, and the labels its expert decides."""
    from .experts.predict import predict
    from .tree.inspect import inspect_source

    ml = next((r for r in expert_rows if r["head"] == "multilabel"), None) or (expert_rows[0] if expert_rows else None)
    model = None
    if ml:
        model = next(iter(sorted(zoo.select(tree=ml["tree"], split="test"), key=lambda m: m.id)), None)
    model = model or next(iter(sorted(zoo.select(split="test"), key=lambda m: m.id)), zoo.models[0])
    spec = str(model.spec)
    report = inspect_source(spec)
    pred = predict(spec, experts_dir=experts_dir, top_k=10)
    truth = set(model.labels or [])
    root = report.get("root") or {}
    out(f"  a) In distribution: {model.id} (split '{model.split}'), truly: {', '.join(sorted(truth)) or '?'}")
    out(
        f"     inspect: format {report.get('format')}, family {report.get('family')}, "
        f"root {root.get('id') or 'unknown'}"
    )
    dec = pred.get("decision") or {}
    decided = [p for p in pred["predictions"] if p.get("decided", p["label"] in dec.get("labels", []))]
    below = [p for p in pred["predictions"] if p not in decided]
    out(
        f"     expert {(pred.get('expert') or {}).get('name')} decides: "
        f"{_pred_line(dict(pred, predictions=decided), truth)}"
    )
    if below:
        out(
            f"     below its threshold {_fmt(dec.get('threshold'))}: "
            f"{_pred_line(dict(pred, predictions=below[:4]), truth)}"
        )
    if pred.get("near_chance"):
        out(f"     note: {pred.get('near_chance_reason')}")
    return model, report, pred, {"in_distribution": {"id": model.id, "truth": sorted(truth), "prediction": pred}}


def _other_answers(zoo, experts_dir: Path, answers: dict, settings: dict, out: Callable) -> dict:
    """b) zero-shot, c) the readout on a tree with no expert, d) an abstention on a tree nobody knows."""
    from .experts.predict import predict

    shown = {}
    if answers.get("zero_shot"):
        zs = answers["zero_shot"]
        a = next((x for x in zs if x["method"] == "readout"), zs[0])
        labels = sorted({x["truth"] for x in zs})
        out(f"  b) Zero-shot: {a['id']}, trained on '{a['truth']}', a category its tree's expert never trained on;")
        out(
            f"     asked which of {len(labels)} unseen categories ({a['method']}): "
            f"{_pred_line(a['pred'], {a['truth']})}"
        )
        if a["pred"].get("near_chance"):
            out(f"     note: {a['pred'].get('near_chance_reason')}")
        by = {k: sum(x["method"] == k for x in zs) for k in sorted({x["method"] for x in zs})}
        unsure = sum(bool((x["pred"].get("readout") or {}).get("abstained")) for x in zs)
        out(
            f"     all {len(zs)} such LoRAs: {sum(x['answer'] == x['truth'] for x in zs)} named right "
            f"(answered by {', '.join(f'{k} {v}' for k, v in by.items())}"
            + (f"; {unsure} of them below the readout's threshold, ranked as a guess" if unsure else "")
            + ")"
        )
        shown["zero_shot"] = {"id": a["id"], "truth": [a["truth"]], "prediction": a["pred"]}
    if answers.get("readout"):
        a = answers["readout"][0]
        ro = a["pred"].get("readout") or {}
        out(f"  c) No expert for its tree: {a['id']} ({settings['readout_tree']}), trained on '{a['truth']}';")
        out(f"     the readout over {ro.get('labels')} labels: {_pred_line(a['pred'], {a['truth']})}")
        shown["readout"] = {"id": a["id"], "truth": [a["truth"]], "prediction": a["pred"]}
    unseen = settings.get("unseen_tree")
    if unseen and unseen in zoo.trees():
        m = sorted(zoo.select(tree=unseen), key=lambda x: x.id)[0]
        p = predict(str(m.spec), experts_dir=experts_dir)
        out(f"  d) A tree nobody knows: {m.id} ({unseen}, no expert) -> {p['method']}: {p['routing']['reason']}")
        shown["abstain"] = {"id": m.id, "method": p["method"], "reason": p["routing"]["reason"]}
    return shown


def _strip(shown: dict) -> dict:
    """The answers for the summary, without the bulky routing candidates."""
    out = {}
    for k, v in shown.items():
        v = dict(v)
        if "prediction" in v:
            p = v.pop("prediction")
            v.update(
                method=p.get("method"),
                predictions=p.get("predictions"),
                decision=p.get("decision"),
                near_chance=p.get("near_chance"),
                probability_right=(p.get("readout") or {}).get("probability_right"),
            )
        out[k] = v
    return out


def _card(model, spec: str, work: Path, experts_dir: Path, annotate_folder, diff_text):
    """Annotate a copy of the model's folder with the demo's experts; (README path, result, diff)."""
    src_folder = Path(spec) if Path(spec).is_dir() else Path(spec).parent
    card_folder = work / "cards" / model.id.replace("/", "__")
    shutil.rmtree(card_folder, ignore_errors=True)
    shutil.copytree(src_folder, card_folder)
    readme = card_folder / "README.md"
    old = readme.read_text(encoding="utf-8") if readme.is_file() else ""
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
    return readme, res, diff_text(old, new, "README.md")

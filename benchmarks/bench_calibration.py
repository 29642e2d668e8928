"""The experts' calibration on a zoo, per tree, without rerunning the whole bench.

    .venv/bin/python benchmarks/bench_calibration.py --zoo <zoo> --bench bench.json [--out calibration.json]

Refits each tree's ProbeX expert on the layer `hfprobe bench` chose for it (`trees.<tree>.layer` in the bench's
JSON; same training config and seed, so the same probe: its test figure must equal the bench's `probex`, and the
script checks it), calibrates it on validation as `hfprobe train` does, and reports on test: ECE (15 bins) and
Brier score before and after, the method cross-validation chose, and the ECE's noise floor: the mean ECE of a
perfectly calibrated predictor with the same confidences on the same number of test elements (200 draws of the
outcomes from the probabilities themselves), which no calibration can beat on average, and `ece_after_95`: the
95% bootstrap interval of the calibrated ECE, resampling whole models (zero-shot: whole categories). Text trees with
held-out categories also get the zero-shot row (`test_holdout` against its own categories).

`--more-test N` measures the same experts on N more test models per tree: the zoo's own recipe with N more
models in those trees (a generative tree: `extra_test_per_category`, N rounded up to whole rounds over its
training categories, and as many `test_holdout` LoRAs for the zero-shot row, `extra_test_holdout_per_category`)
is built (or found) in the cache. A model's labels, settings and seed depend only on its
tree and index, and the root on the tree alone, so that zoo holds the same root and the same first models (the
script checks both, byte for byte) plus N new fine-tunes of the root that the expert never saw. They
join the test split: with 30 test models the ECE cannot be measured below its noise floor of ~0.07; with 230 the
floor is about a third of that. `--trees` limits the run to some trees (the build costs ~2.7 s of CPU a model).

`--more-categories M` (generative trees with held-out categories) adds M new held-out categories to that zoo, one
`test_holdout` LoRA each (`extra_test_holdout_categories`): the zero-shot row's outcomes go by category, so more
LoRAs of the same 20 categories add few independent draws. Each LoRA is still asked to pick among as many names as
the bench zoo's test_holdout holds: its own group, the bench's categories or the next M/20 new ones in recipe order.

`--cross-fit K` (an experiment, not what `hfprobe train` does) adds a `cross_fit` row: the calibration fitted on
out-of-fold logits of the training models (K probes, each trained on the other folds as the expert was and
early-stopped on validation) plus the validation models, measured on the same test models, and the comparison
validation alone can make: held-out NLL on the validation models of the out-of-fold fit against the 5-fold
cross-validated NLL of the method chosen today (docs/experiments/2026-12-01-cross-fitted-calibration.md).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from hfprobe.experts.calibrate import calibration_report, confidences, ece, fit_calibration, nll, probabilities
from hfprobe.experts.data import HOLDOUT_SPLITS, holdout_targets, load_tree, zero_shot_vals
from hfprobe.experts.fit import fit_expert
from hfprobe.experts.probes import TrainConfig
from hfprobe.experts.train import metric, predict_logits, train_probe
from hfprobe.text.encoders import get_text_encoder
from hfprobe.zoo import open_zoo
from hfprobe.zoo.recipe import extra_holdout_categories


def noise_floor(conf: torch.Tensor, draws: int = 200, seed: int = 0) -> float:
    """Mean ECE of outcomes drawn from the confidences themselves (a perfectly calibrated predictor)."""
    g = torch.Generator().manual_seed(seed)
    conf = conf.double()
    vals = [ece(conf, (torch.rand(conf.shape, generator=g, dtype=torch.float64) < conf).double()) for _ in range(draws)]
    return round(sum(vals) / len(vals), 4)


def ece_interval(conf, outcome, clusters, draws: int = 1000, seed: int = 0) -> list[float]:
    """The 95% percentile-bootstrap interval of the ECE, resampling whole clusters (a model's labels; for zero-shot,
    a category's LoRAs, whose outcomes go together): what another test split of the same tree could give."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.unique(clusters)
    members = [torch.nonzero(clusters == c).flatten() for c in ids]
    vals = []
    for _ in range(draws):
        idx = torch.cat([members[int(i)] for i in torch.randint(len(ids), (len(ids),), generator=g)])
        vals.append(ece(conf[idx], outcome[idx]))
    vals.sort()
    return [round(vals[int(0.025 * draws)], 4), round(vals[int(0.975 * draws) - 1], 4)]


def row(logits, y, cal: dict, head: str, *, zero_shot: bool = False, clusters=None) -> dict:
    """ECE and Brier before and after calibration, the noise floor, and the ECE's interval over `clusters` (one id
    per model by default; zero-shot rows pass each LoRA's category)."""
    rep = calibration_report(logits, y, cal, head, zero_shot=zero_shot)
    conf, outcome = confidences(probabilities(logits, cal, head, zero_shot=zero_shot), y, head)
    if clusters is None:
        clusters = torch.arange(len(y))
    if len(conf) != len(clusters):  # multi-label: one element per (model, label)
        clusters = clusters.repeat_interleave(len(conf) // len(clusters))
    part = (cal.get("zero_shot") or cal) if zero_shot else cal
    keep = ("ece_before", "ece_after", "brier_before", "brier_after", "n")
    return {
        "method": part["method"],
        **{k: rep[k] for k in keep},
        "ece_after_95": ece_interval(conf, outcome, clusters),
        "ece_noise_floor": noise_floor(conf),
    }


def cross_fitted(d, layer: str, exp, folds: int, enc) -> tuple[dict, dict]:
    """The `--cross-fit` calibration of `exp` (see above) and its validation-only comparison."""
    cfg, emb = TrainConfig.from_dict(exp.config["train"]), exp.label_text_emb
    X, Y = d.X[layer], d.Y
    zsv = (zero_shot_vals(d, [layer], enc) or {}).get(layer)
    n = len(X["train"])
    parts = torch.randperm(n, generator=torch.Generator().manual_seed(0)).chunk(folds)
    oof = [None] * folds
    for k, held in enumerate(parts):
        keep = torch.cat([p for j, p in enumerate(parts) if j != k])
        r = train_probe(
            X["train"][keep], Y["train"][keep], X["val"], Y["val"], cfg, text_emb=emb, progress=False, zero_shot=zsv
        )
        oof[k] = predict_logits(r.model, X["train"][held], emb)
    order = torch.cat(list(parts))
    z_tr, y_tr = torch.cat(oof), Y["train"][order]
    z_va = predict_logits(exp.model, X["val"], emb)
    today = exp.config["calibration"]
    compare = {
        "val_cv_nll_today": min(today["cv_nll"].values()) if today["cv_nll"] else None,
        "val_nll_out_of_fold_fit": round(nll(z_va, Y["val"], fit_calibration(z_tr, y_tr, d.head), d.head), 6),
        "folds": folds,
        "n_out_of_fold": n,
    }
    return fit_calibration(torch.cat([z_tr, z_va]), torch.cat([y_tr, Y["val"]]), d.head), compare


def more_test_zoo(zoo, trees: list[str], extra: int, categories: int = 0):
    """The zoo's recipe with `extra` more models in each of `trees` (and `categories` more held-out categories in
    each generative one), built (or found) in the cache."""
    import copy

    from hfprobe.zoo import build_zoo
    from hfprobe.zoo.recipe import DISCRIMINATIVE_KINDS, plan_tree

    recipe = copy.deepcopy(zoo.info["recipe"])
    picked, n_old = [], {}
    for t in recipe["trees"]:
        if t["name"] not in trees:
            continue
        n_old[t["name"]] = len(plan_tree(recipe, t)) if t["kind"] not in DISCRIMINATIVE_KINDS else int(t["models"])
        if t["kind"] in DISCRIMINATIVE_KINDS:
            picked.append(dict(t, models=int(t["models"]) + extra))
        else:  # generative: `extra` rounded up to whole rounds over the training (and test_holdout) categories
            more = {"extra_test_per_category": -(-extra // int(t["train_categories"]))}
            n_hold = len({p["labels"][0] for p in plan_tree(recipe, t) if p["split"] == "test_holdout"})
            if n_hold > 0:
                more["extra_test_holdout_per_category"] = -(-extra // n_hold)
                if categories:
                    if categories % n_hold:
                        raise SystemExit(f"--more-categories: {t['name']} scores groups of {n_hold}; ask a multiple")
                    more["extra_test_holdout_categories"] = categories
            picked.append(dict(t, **more))
    if not picked:
        raise SystemExit(f"--more-test: none of {trees} is a tree of the zoo")
    recipe["trees"] = picked
    return open_zoo(build_zoo(recipe=recipe, jobs=2, progress=True)), n_old


def with_new_models(d, ext, n_old: int):
    """X and Y of `d`'s test split followed by every model of `ext` (the same tree, more models) with an index of
    `n_old` or more, whatever its split in `ext` (the expert saw none of them), except those of held-out categories.
    Checks that the models both zoos hold, in every split, are the same bytes."""
    layer = next(iter(d.X))
    old = {i: (s, k) for s in d.ids for k, i in enumerate(d.ids[s])}
    xs, ys, same = [d.X[layer]["test"]], [d.Y["test"]], 0
    for split, names in ext.ids.items():
        for k, model_id in enumerate(names):
            x, y = ext.X[layer][split][k : k + 1], ext.Y[split][k : k + 1]
            if int(model_id.rsplit("-", 1)[1]) >= n_old:
                if split in HOLDOUT_SPLITS:  # unseen categories: the zero-shot row's, not in-distribution test
                    continue
                xs.append(x)
                ys.append(y)
            elif model_id in old:
                s, j = old[model_id]
                if s in HOLDOUT_SPLITS:  # indices into each zoo's own held-out names (which new categories extend)
                    same_y = ext.holdout_labels[int(y)] == d.holdout_labels[int(d.Y[s][j])]
                else:
                    same_y = torch.equal(y, d.Y[s][j : j + 1])
                if not (torch.equal(x, d.X[layer][s][j : j + 1]) and same_y):
                    raise SystemExit(
                        f"{model_id}: not the same model in both zoos; the extra test models are not comparable"
                    )
                same += 1
    if ext.labels != d.labels or same == 0:
        raise SystemExit(f"{d.tree}: the larger zoo's tree differs from the bench's (labels or models)")
    return torch.cat(xs), torch.cat(ys), same


def grouped_holdout(ext, recipe: dict, layer: str, model, enc, first: list[str]):
    """Logits and targets of every test_holdout model of `ext` (a tree of the zoo `recipe` built), each against its
    own group of categories: `first` (the bench zoo's test_holdout categories), then the extra ones in groups of as
    many, in recipe order."""
    entry = next(t for t in recipe["trees"] if t["name"] == ext.tree)
    extra, k = extra_holdout_categories(recipe, entry), len(first)
    names = [ext.holdout_labels[c] for c in ext.Y["test_holdout"].tolist()]
    logits, ys, cats, seen = [], [], [], 0
    for group in [first] + [extra[i : i + k] for i in range(0, len(extra), k)]:
        pick = [i for i, n in enumerate(names) if n in group]
        logits.append(predict_logits(model, ext.X[layer]["test_holdout"][pick], enc.embed_labels(group)))
        ys.append(torch.tensor([group.index(names[i]) for i in pick]))
        cats.append(ext.Y["test_holdout"][pick])
        seen += len(pick)
    if seen != len(names):
        raise SystemExit(f"{ext.tree}: {len(names) - seen} test_holdout models of the larger zoo are in no group")
    return torch.cat(logits), torch.cat(ys), torch.cat(cats), len(extra)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo", required=True)
    ap.add_argument("--bench", required=True, help="the JSON `hfprobe bench --out` wrote for this zoo")
    ap.add_argument("--out", help="write the rows here as JSON")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--more-test", type=int, default=0, metavar="N", help="N more test models per tree (see above)")
    ap.add_argument(
        "--more-categories", type=int, default=0, metavar="M", help="M more held-out categories (see above)"
    )
    ap.add_argument("--trees", nargs="+", help="only these trees")
    ap.add_argument(
        "--cross-fit", type=int, default=0, metavar="K", help="the cross-fitted calibration row (see above)"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    bench = json.loads(Path(args.bench).read_text())
    zoo = open_zoo(args.zoo)
    if bench.get("zoo_hash") and bench["zoo_hash"] != (zoo.info or {}).get("hash"):
        raise SystemExit(f"{args.bench} was measured on zoo {bench['zoo_hash']}, not on {args.zoo}")
    cfg = TrainConfig.from_dict({**bench["config"], "kind": "probex"})
    out, t0 = {}, time.perf_counter()
    trees = {t: b for t, b in sorted(bench["trees"].items()) if not args.trees or t in args.trees}
    grow = args.more_test or args.more_categories
    ext, n_old = more_test_zoo(zoo, list(trees), args.more_test, args.more_categories) if grow else (None, {})
    for tree, b in trees.items():
        d = load_tree(zoo, tree, [b["layer"]])
        enc = get_text_encoder("minilm") if d.head == "text" else None
        exp = fit_expert(d, cfg, {"probex": [b["layer"]]}, text_encoder=enc, progress=False)
        test = exp.config["metrics"]["test"]
        if abs(test - b["probex"]) > 1e-6:
            raise SystemExit(f"{tree}: refitted expert scores {test}, the bench's {b['probex']}: not the same probe")
        X, Y, cal = d.X[b["layer"]], d.Y, exp.config["calibration"]
        r = {"test": test, **row(predict_logits(exp.model, X["test"], exp.label_text_emb), Y["test"], cal, d.head)}
        if d.head == "text" and "test_holdout" in Y:
            y, emb, held_names = holdout_targets(d, "test_holdout", enc)
            logits = predict_logits(exp.model, X["test_holdout"], emb)
            r["zero_shot"] = row(logits, y, cal, "text", zero_shot=True, clusters=y)
        if args.cross_fit:
            cross, compare = cross_fitted(d, b["layer"], exp, args.cross_fit, enc)
            r["cross_fit"] = {
                **compare,
                **row(predict_logits(exp.model, X["test"], exp.label_text_emb), Y["test"], cross, d.head),
            }
        if tree in n_old:
            e = load_tree(ext, tree, [b["layer"]])
            x, y, same = with_new_models(d, e, n_old[tree])
            logits = predict_logits(exp.model, x, exp.label_text_emb)
            r["more_test"] = {"models_checked_identical": same, **row(logits, y, cal, d.head)}
            r["more_test"]["test"] = metric(logits, y, d.head)
            if args.cross_fit:
                r["more_test"]["cross_fit"] = row(logits, y, cross, d.head)
            if "zero_shot" in r:  # the larger zoo's whole test_holdout split: the old models (checked) and the new
                logits, y, cats, n_new = grouped_holdout(e, ext.info["recipe"], b["layer"], exp.model, enc, held_names)
                r["zero_shot"]["more_test"] = {
                    **row(logits, y, cal, "text", zero_shot=True, clusters=cats),
                    "test": metric(logits, y, "text"),
                    "categories": len(held_names) + n_new,
                }
        out[tree] = r
        print(json.dumps({tree: r}), flush=True)
    result = {"zoo": args.zoo, "bench": args.bench, "trees": out, "seconds": round(time.perf_counter() - t0, 1)}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

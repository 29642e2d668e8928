"""The benchmark: ProbeX tree experts against the baselines, on the same splits, in one run.

Per tree (test split; element-wise accuracy for multi-label trees, top-1 for text trees):
    probex        the tree's expert: layer swept on validation, as `hfprobe train` does
    probex_gram   the same expert with MVProbe-style Gram views (on the layer ProbeX chose)
    mixed         ONE ProbeX trained on every tree that shares a layer shape (negative transfer), scored
                  on this tree's models and labels; null for a tree that shares its shape with no other
    dense         a linear layer on the flattened layer (swept over the same layers on validation)
    statnn        weight statistics of every candidate layer + sklearn gradient boosting
    bilinear      text trees: the bilinear text probe (ours), swept over its own candidates, the layers
                  that read the caption (cross-attention values, then keys)
zero_shot: text trees' test_holdout models scored against the held-out categories only (top-1), chance
           = 1 / number of those categories; in_dist_top1 = the same expert on in-distribution test;
           val_top1 = on val_holdout (other held-out categories), which the layer and checkpoint choice saw.
routing:   accuracy = test (and holdout-test) models routed to their own tree's expert; abstain_unseen =
           leave one tree out, the fraction of its models the router abstains on (all trees, and only
           trees whose family still has another expert, where it cannot abstain by family alone).

    >>> result = run_bench("zoo-dir", "bench.json")          # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..errors import ZooError
from ..experts.data import (
    candidate_layers,
    holdout_targets,
    load_tree,
    zero_shot_vals,
)
from ..experts.fit import fit_expert, sweep_layers
from ..experts.probes import TrainConfig
from ..experts.train import evaluate, predict_logits, train_probe
from ..zoo.layercache import LazyLayers
from .baselines import _chance, _mixed, _routing, models_per_second, statnn, weight_stats
from .calibration import method_calibration, plot_reliability, readout_calibration


def _family(zoo, tree):
    from ..tree.inspect import family_of

    m = zoo.select(tree=tree)[0]
    return family_of(m.spec)


def run_bench(
    zoo_path,
    out_json=None,
    *,
    cfg: TrainConfig | None = None,
    max_layers: int | None = None,
    text_encoder: str = "minilm",
    trees: list[str] | None = None,
    progress: bool = True,
    plot: bool = True,
) -> dict:
    """Train and evaluate every method on every tree of a zoo; write the JSON (and a PNG beside it).

    `zoo_path`: a zoo folder or `modelj:SUBSET[,SUBSET...]` (Model-J from the Hub; one subset is one tree, so
    routing and the mixed model need several). `max_layers`: candidate layers per tree; None: 4, or on Model-J
    every attention layer (0), as the paper sweeps. Training runs where `hfprobe.device.use_device` says (the
    CPU outside such a block); the result records it under `device`.
    """
    from ..config import require
    from ..device import current_device, describe
    from ..text.encoders import get_text_encoder
    from ..zoo import open_zoo_spec

    if out_json and plot:
        require("matplotlib", "bench")  # now, not after an hour of training
    zoo = open_zoo_spec(zoo_path)
    if max_layers is None:
        max_layers = 0 if zoo.kind == "modelj" else 4
    names = sorted(trees or zoo.trees())
    if len(zoo.trees()) < 2 and zoo.kind != "modelj":
        raise ZooError(
            f"{zoo_path}: the zoo has one tree only ({', '.join(zoo.trees())}); the benchmark needs at least 2 "
            "(routing, abstaining on an unseen tree, the mixed model); build a zoo with several trees"
        )
    cfg = cfg or TrainConfig()
    t_start = time.perf_counter()
    data, experts, out_trees = {}, {}, {}
    params, seconds, throughput = {}, {}, {}
    zero_shot = None
    for tree in names:
        layers = candidate_layers(zoo, tree, limit=max_layers)
        blayers = candidate_layers(zoo, tree, limit=max_layers, kind="bilinear")  # the layers that read the caption
        every = list(dict.fromkeys(layers + blayers))
        d = data[tree] = load_tree(zoo, tree, every, progress=progress)
        d.family = _family(zoo, tree)
        tcfg = TrainConfig.from_dict({**cfg.to_dict(), "head": d.head})
        enc = get_text_encoder(text_encoder) if d.head == "text" else None
        temb = enc.embed_labels(d.labels) if enc else None
        per_layer = LazyLayers(layers, lambda n, d=d: (d.X[n]["train"], d.X[n]["val"]))  # one layer at a time
        zsv = zero_shot_vals(d, every, enc)  # text trees with held-out categories: selection sees zero-shot too
        t0 = time.perf_counter()
        # the tree's expert, exactly as `hfprobe train` fits it (on the bench's candidate layers)
        exp = fit_expert(
            d,
            TrainConfig.from_dict({**tcfg.to_dict(), "kind": "probex"}),
            {"probex": layers},
            text_encoder=enc,
            family=d.family,
            zoo_hash=zoo.info.get("hash"),
            progress=progress,
        )
        sweep_s = time.perf_counter() - t0
        best, scores = exp.layer, exp.config["metrics"]["layer_sweep"]
        X, Y = d.X[best], d.Y
        experts[tree] = exp
        row = {
            "head": d.head,
            "metric": exp.config["metrics"]["metric"],
            "layer": best,
            "layer_sweep": scores,
            "chance": _chance(Y["train"], Y["test"], d.head, len(d.labels)),
            "n_train": len(X["train"]),
            "n_test": len(X["test"]),
            "probex": exp.config["metrics"]["test"],
            "probex_val": exp.config["metrics"]["val"],
            "regularisation": {k: exp.config["train"][k] for k in ("dropout", "weight_decay")},
        }  # this head's, resolved
        # MVProbe-style Gram views, on the layer ProbeX chose
        g = train_probe(
            X["train"],
            Y["train"],
            X["val"],
            Y["val"],
            TrainConfig.from_dict({**tcfg.to_dict(), "views": ["gram"]}),
            text_emb=temb,
            progress=progress,
            desc=f"{tree} gram",
            zero_shot=(zsv or {}).get(best),
        )
        row["probex_gram"] = evaluate(g.model, X["test"], Y["test"], d.head, temb)
        # dense baseline, swept over the same layers
        dcfg = TrainConfig.from_dict({**tcfg.to_dict(), "kind": "dense"})
        dbest, dres, _ = sweep_layers(
            per_layer, Y["train"], Y["val"], dcfg, text_emb=temb, progress=progress, zero_shot=zsv
        )
        row["dense"] = evaluate(dres[dbest].model, d.X[dbest]["test"], Y["test"], d.head, temb)
        row["dense_layer"] = dbest
        bres = bbest = None
        if d.head == "text":  # the second-order text probe (ours), swept over its own candidates
            bcfg = TrainConfig.from_dict({**tcfg.to_dict(), "kind": "bilinear"})
            bbest, bres, _ = sweep_layers(
                LazyLayers(blayers, lambda n, d=d: (d.X[n]["train"], d.X[n]["val"])),
                Y["train"],
                Y["val"],
                bcfg,
                text_emb=temb,
                progress=progress,
                zero_shot=zsv,
            )
            row["bilinear"] = evaluate(bres[bbest].model, d.X[bbest]["test"], Y["test"], d.head, temb)
            row["bilinear_layer"] = bbest
        # StatNN on all candidate layers' statistics
        t1 = time.perf_counter()
        F = {s: [] for s in ("train", "test")}
        for n in layers:  # each layer read once, its statistics kept
            F["train"].append(weight_stats(d.X[n]["train"]))
            F["test"].append(weight_stats(d.X[n]["test"]))
        Ftr, Fte = np.concatenate(F["train"], 1), np.concatenate(F["test"], 1)
        row["statnn"], nodes = statnn(Ftr, Y["train"], Fte, Y["test"], d.head, seed=cfg.seed)
        stat_s = time.perf_counter() - t1
        # calibration on test, before and after: each probe calibrated on its own validation models
        row["calibration"] = {
            "probex": method_calibration(
                exp.model, d.head, X["val"], Y["val"], X["test"], Y["test"], temb, exp.config["calibration"]
            ),
            "probex_gram": method_calibration(g.model, d.head, X["val"], Y["val"], X["test"], Y["test"], temb),
            "dense": method_calibration(
                dres[dbest].model, d.head, d.X[dbest]["val"], Y["val"], d.X[dbest]["test"], Y["test"], temb
            ),
        }
        if bres:
            row["calibration"]["bilinear"] = method_calibration(
                bres[bbest].model, d.head, d.X[bbest]["val"], Y["val"], d.X[bbest]["test"], Y["test"], temb
            )
        row["mixed"] = None
        out_trees[tree] = row
        params[tree] = {
            "probex": exp.config["sizes"]["params"],
            "probex_gram": g.params,
            "dense": dres[dbest].params,
            "statnn_nodes": nodes,
        }
        seconds[tree] = {
            "probex_layer": exp.config["metrics"]["train_seconds"],
            "probex_sweep": sweep_s,
            "probex_gram": g.seconds,
            "dense": dres[dbest].seconds,
            "statnn": stat_s,
        }
        if bres:
            params[tree]["bilinear"] = bres[bbest].params
            seconds[tree]["bilinear"] = bres[bbest].seconds
        throughput[tree] = models_per_second(exp.model, X["test"], temb)
        if d.head == "text" and "test_holdout" in Y and zero_shot is None:
            y, hemb, held = holdout_targets(d, "test_holdout", enc)  # against the test_holdout categories only
            zero_shot = {
                "tree": tree,
                "top1": evaluate(exp.model, X["test_holdout"], y, "text", hemb),
                "chance": 1.0 / len(held),
                "in_dist_top1": row["probex"],
                "val_top1": exp.config["metrics"].get("zero_shot_val"),
                "gram_top1": evaluate(g.model, X["test_holdout"], y, "text", hemb),
                "dense_top1": evaluate(dres[dbest].model, d.X[dbest]["test_holdout"], y, "text", hemb),
                "bilinear_top1": evaluate(bres[bbest].model, d.X[bbest]["test_holdout"], y, "text", hemb),
                "bilinear_val_top1": bres[bbest].best_zero_shot_val,
                "bilinear_in_dist_top1": row["bilinear"],
                "categories": held,
                "n_models": len(y),
                "calibration": method_calibration(
                    exp.model, "text", None, None, X["test_holdout"], y, hemb, exp.config["calibration"], zero_shot=True
                ),
            }
    for tree, row in out_trees.items():
        if row["head"] == "text":
            row["readout"] = readout_rows(
                zoo, tree, expert_scores=_expert_scores(data[tree], experts[tree], row["layer"])
            )
            if row["readout"] and row["readout"].get("calibration"):
                row["calibration"]["readout"] = row["readout"]["calibration"]["all"]
    _mixed(data, experts, out_trees, cfg, progress)
    routing = _routing(data, experts) if len(experts) > 1 else None  # one tree: nothing to route between
    result = {
        "zoo": str(zoo_path),
        "zoo_hash": zoo.info.get("hash"),
        "hfprobe": __version__,
        "config": cfg.to_dict(),
        "max_layers": max_layers,
        "threads": torch.get_num_threads(),
        "device": describe(current_device()),
        "trees": out_trees,
        "zero_shot": zero_shot,
        "routing": routing,
        "params": params,
        "train_seconds": seconds,
        "predict_models_per_s": round(float(np.mean(list(throughput.values()))), 1),
        "predict_models_per_s_by_tree": throughput,
        "seconds_total": round(time.perf_counter() - t_start, 1),
    }
    if out_json:
        out = Path(out_json)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        tmp.replace(out)
        if plot:
            result["plot"] = str(plot_bench(result, out.with_suffix(".png")))
    return result


def _expert_scores(d, expert, layer: str) -> dict:
    """Per test model id: a text-head expert's cosine for every category name (for combining with the readout)."""
    from ..text.encoders import get_text_encoder

    enc = get_text_encoder(expert.config["text_encoder"]["id"])
    names = list(d.labels) + [h for h in d.holdout_labels if h not in d.labels]
    emb = enc.embed_labels(names, expert.config["text_encoder"].get("prompt"))
    out = {}
    with torch.no_grad():
        for split in ("test", "test_holdout"):
            if split in d.X[layer]:
                logits = predict_logits(expert.model, d.X[layer][split], emb)
                out.update({mid: dict(zip(names, row.tolist())) for mid, row in zip(d.ids[split], logits)})
    return out


def readout_rows(zoo, tree: str, *, expert_scores: dict | None = None) -> dict | None:
    """The expert-free readout (hfprobe.experts.readout) on a generative tree's test models, with its shipped settings.

    Nothing here is fitted on this zoo: the readout trains nothing and its settings and threshold come from
    hfprobe/data/readout.json. Reported: top-1 of `test` models over all categories (in-distribution), of
    `test_holdout` models over the held-out categories only (zero-shot, as ProbeX's row) and over all
    categories, and the abstain rate with top-1 on the answered models at the shipped threshold.
    With `expert_scores` ({model id: {label: cosine}}), also `combined_*`: the argmax of the sum of the
    expert's and the readout's scores, each z-scored over the candidates (does using both help?).
    """
    from ..experts.crossattn import MIN_LABELS, cross_attention_widths
    from ..experts.readout import readout_predict
    from ..formats import open_weights
    from ..text.states import provider_for

    models = [m for m in zoo.models if m.tree == tree]
    tests = [m for m in models if m.split in ("test", "test_holdout") and m.labels]
    if not tests:
        return None
    held = sorted({lab for m in models if m.split.endswith("holdout") for lab in m.labels or []})
    cats = sorted({lab for m in models for lab in m.labels or []})
    with open_weights(tests[0].spec, filename=tests[0].filename) as first:
        widths = cross_attention_widths(first)
    if len(widths) != 1:
        return None
    provider = provider_for(widths.pop())
    states = {"all": provider.states(cats), "held": provider.states(held)}
    rows: dict[str, list] = {
        k: []
        for k in (
            "in_dist",
            "zero_shot",
            "all",
            "combined_in_dist",
            "combined_zero_shot",
            "expert_in_dist",
            "expert_zero_shot",
        )
    }
    probs: dict[str, list] = {"all": [], "zero_shot": []}  # (probability right, naive share, right) per answer
    t0 = time.perf_counter()

    def z(scores: dict, labels: list[str]) -> torch.Tensor:
        v = torch.tensor([scores[lab] for lab in labels], dtype=torch.float64)
        return (v - v.mean()) / v.std().clamp_min(1e-12)

    for m in tests:
        view = open_weights(m.spec, filename=m.filename)
        truth = m.labels[0]
        wide = readout_predict(view, cats, text_states=states["all"], top_k=len(cats))
        hit = (wide["predictions"][0]["label"] == truth, wide["abstained"])
        rows["all"].append(hit)
        probs["all"].append((wide["probability_right"], _top_share(wide), hit[0]))
        narrow = None
        if m.split == "test":
            rows["in_dist"].append(hit)
        elif len(held) >= MIN_LABELS:  # fewer held-out names than the readout ranks: no zero-shot question to ask
            narrow = readout_predict(view, held, text_states=states["held"], top_k=len(held))
            rows["zero_shot"].append((narrow["predictions"][0]["label"] == truth, narrow["abstained"]))
            probs["zero_shot"].append((narrow["probability_right"], _top_share(narrow), rows["zero_shot"][-1][0]))
        if expert_scores and m.id in expert_scores:
            for labels, result, key in ((cats, wide, "combined_in_dist"), (held, narrow, "combined_zero_shot")):
                if result is None or (key == "combined_in_dist") != (m.split == "test"):
                    continue
                ro_scores = {p["label"]: p["score"] for p in result["predictions"]}
                both = z(ro_scores, labels) + z(expert_scores[m.id], labels)
                rows[key].append((labels[int(both.argmax())] == truth, False))
                alone = z(expert_scores[m.id], labels)
                rows[key.replace("combined", "expert")].append((labels[int(alone.argmax())] == truth, False))
        view.close()

    def top1(r):
        return round(sum(c for c, _ in r) / len(r), 4) if r else None

    answered = [c for c, a in rows["all"] if not a]
    return {
        "in_dist_top1": top1(rows["in_dist"]),
        "zero_shot_top1": top1(rows["zero_shot"]),
        "all_top1": top1(rows["all"]),
        "chance_all": round(1 / len(cats), 4),
        "chance_zero_shot": round(1 / len(held), 4) if held else None,
        "abstain_rate": round(1 - len(answered) / len(rows["all"]), 4),
        "top1_answered": round(sum(answered) / len(answered), 4) if answered else None,
        "combined_in_dist_top1": top1(rows["combined_in_dist"]),
        "combined_zero_shot_top1": top1(rows["combined_zero_shot"]),
        "expert_in_dist_top1_same_labels": top1(rows["expert_in_dist"]),
        "expert_zero_shot_top1_same_labels": top1(rows["expert_zero_shot"]),
        "n_test": len(rows["in_dist"]),
        "n_test_holdout": len(rows["zero_shot"]),
        "seconds_per_model": round((time.perf_counter() - t0) / len(tests), 4),
        "calibration": {k: readout_calibration(v) for k, v in probs.items()}
        if probs["all"][0][0] is not None
        else None,
    }


def _top_share(result: dict) -> float:
    """The naive probability of the readout's top label: its softmax share over the candidates' z-scores."""
    z = torch.tensor([p["score"] for p in result["predictions"]], dtype=torch.float64)
    return float(torch.softmax(z, 0)[0])


def plot_bench(result: dict, path) -> Path:
    """Grouped bars per tree (probex, gram, bilinear, mixed, dense, statnn) and the zero-shot panel, and below them
    one reliability diagram per tree (before and after calibration), as a PNG."""
    from ..config import require

    matplotlib = require("matplotlib", "bench")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = ["probex", "probex_gram", "bilinear", "mixed", "dense", "statnn"]
    trees = list(result["trees"])
    fig = plt.figure(figsize=(max(12, 2.6 * len(trees)), 7))
    grid = fig.add_gridspec(2, 5 * len(trees))
    top = 4 * len(trees)  # the bars take four fifths of the top row, the zero-shot panel the rest
    axes = [fig.add_subplot(grid[0, :top]), fig.add_subplot(grid[0, top:])]
    plot_reliability([fig.add_subplot(grid[1, 5 * i : 5 * i + 5]) for i in range(len(trees))], result)
    w = 0.8 / len(methods)
    for j, m in enumerate(methods):
        vals = [result["trees"][t].get(m) or 0.0 for t in trees]
        axes[0].bar(np.arange(len(trees)) + j * w, vals, w, label=m)
    axes[0].scatter(
        np.arange(len(trees)) + 0.4 - w / 2,
        [result["trees"][t]["chance"] for t in trees],
        marker="_",
        s=400,
        color="k",
        label="chance",
        zorder=3,
    )
    axes[0].set_xticks(
        np.arange(len(trees)) + 0.4 - w / 2, [f"{t}\n({result['trees'][t]['metric']})" for t in trees], fontsize=8
    )
    axes[0].set_ylim(0, 1)
    axes[0].legend(fontsize=7, ncol=3)
    axes[0].set_title("test accuracy per tree")
    zs = result.get("zero_shot")
    if zs:
        axes[1].bar(
            ["ProbeX", "bilinear", "dense", "chance", "in-dist"],
            [zs["top1"], zs.get("bilinear_top1") or 0.0, zs["dense_top1"], zs["chance"], zs["in_dist_top1"]],
            color=["C0", "C5", "C3", "k", "C2"],
        )
        axes[1].set_ylim(0, 1)
        axes[1].set_title(f"zero-shot top-1 ({zs['tree']})", fontsize=9)
        axes[1].tick_params(axis="x", labelsize=7)
    else:
        axes[1].axis("off")
        axes[1].text(0.5, 0.5, "no text-aligned tree\n(no zero-shot)", ha="center", va="center", fontsize=9)
    r = result["routing"]
    title = (
        f"routing {r['accuracy']:.3f}, abstain on unseen trees {r['abstain_unseen']:.2f}"
        if r
        else "one tree: no routing"
    )
    fig.suptitle(f"hfprobe bench ({result['zoo']}): {title}", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

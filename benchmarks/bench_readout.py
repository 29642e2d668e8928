"""Benchmark the zero-shot readout (hfprobe.experts.readout) on a generative tree; variants chosen on validation only.

    .venv/bin/python benchmarks/bench_readout.py --zoo tiny            # the hfprobe zoo (built by hfprobe.zoo)

What it reports (JSON on stdout, and --out FILE):
- top-1 over ALL categories (train + held-out) and over the held-out categories only (zero-shot), for
  val and test models, for every variant. The readout trains nothing, so the headline variant (no pool) is
  chosen on every non-test model (train + val + val_holdout: `selection`); a pool-normalised variant (pool =
  train-split adapters) is chosen on val models only (`with_pool`). Only TEST figures are headlines;
- abstention: threshold = 95th percentile of shuffled-column null margins on validation models; test abstain
  rate and top-1 on answered models; plus top-1 at matched abstain rates (thresholds set as quantiles of
  validation margins so that 0/10/25/50% of validation models abstain), so ProbeX/dense can be compared at the
  same coverage;
- abstain rate on rank-matched random deltas (trigger-word LoRAs are covered by tests/test_readout.py);
- cost: seconds to score one LoRA against 1,000 labels with cached states (this tree, and SD 1.x-sized).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import torch

from hfprobe.experts import readout as ro
from hfprobe.experts import readout_features as rf
from hfprobe.text import states as st

VAL_SPLITS, TEST_SPLITS = ("val", "val_holdout"), ("test", "test_holdout")


# ------------------------------------------------------------------------------------------------ data
def from_zoo(preset_or_path: str) -> tuple[list[dict], list[str], list[str]]:
    """Records {id, split, label, deltas} of the zoo's generative tree(s), + (train cats, held-out cats)."""
    from hfprobe.formats import open_weights
    from hfprobe.zoo import build_zoo
    from hfprobe.zoo.read import open_zoo

    path = Path(preset_or_path) if Path(preset_or_path).is_dir() else build_zoo(preset_or_path, progress=False)
    zoo = open_zoo(path)
    recs = []
    for m in zoo.models:
        view = open_weights(m.spec, filename=m.filename)
        deltas, _ = ro.deltas_of(view)
        if not deltas:
            continue  # a discriminative tree's model
        recs.append({"id": m.id, "split": m.split, "label": m.labels[0], "deltas": deltas})
    held = sorted({r["label"] for r in recs if r["split"].endswith("holdout")})
    train = sorted({r["label"] for r in recs} - set(held))
    return recs, train, held, str(path)


# ------------------------------------------------------------------------------------------- evaluation
def variants():
    for center, tokens, kv, per_module, k in itertools.product(
        ("mean", "none"), ("all", "label"), ((1.0, 1.0), (1.0, 0.5), (1.0, 0.0), (0.0, 1.0)), ("raw", "equal"), (16,)
    ):
        yield ro.ReadoutConfig(
            center=center, tokens=tokens, key_weight=kv[0], value_weight=kv[1], per_module=per_module, max_vectors=k
        )


def name_of(cfg: ro.ReadoutConfig, pool: bool) -> str:
    return (
        f"center={cfg.center} tokens={cfg.tokens} k={cfg.key_weight:g} v={cfg.value_weight:g} "
        f"modules={cfg.per_module} vectors={cfg.max_vectors} pool={'train' if pool else 'none'}"
    )


def evaluate(recs, cands, ts, cfg, pool_stats):
    """Per record: (correct, margin) over the candidate list `cands` (ts must be for cands)."""
    out = []
    for r in recs:
        s = ro.score_factors(r["factors"], ts, cfg, pool=pool_stats)
        if pool_stats is None:
            s = ro.zscore(s)
        out.append((cands[int(s.argmax())] == r["label"], ro.margin_of(s)))
    return out


def margin_z(s):
    return ro.margin_of(ro.zscore(s))


def top1(rows):
    return round(sum(c for c, _ in rows) / len(rows), 4) if rows else None


def at_threshold(rows, thr):
    kept = [c for c, m in rows if m >= thr]
    return {
        "abstain_rate": round(1 - len(kept) / len(rows), 4),
        "top1_answered": round(sum(kept) / len(kept), 4) if kept else None,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo", required=True, help="zoo preset (tiny, mini) or a built zoo folder")
    ap.add_argument("--out", help="also write the JSON report here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    recs, train, held, where = from_zoo(args.zoo)
    source = f"zoo {where}"
    build_s = time.time() - t0
    for r in recs:  # factor each adapter once; every variant reuses it
        r["factors"] = rf.delta_factors(r["deltas"])
    prov = st.MiniLMStates()
    all_cats = train + held
    ts_all, ts_held = prov.states(all_cats), prov.states(held)
    pool_recs = [r for r in recs if r["split"] == "train"]  # adapters never evaluated
    groups = {
        "val": [r for r in recs if r["split"] in VAL_SPLITS],
        "test": [r for r in recs if r["split"] in TEST_SPLITS],
    }
    # the readout trains nothing, so without a pool every non-test model may help choose the variant
    select = [r for r in recs if r["split"] not in TEST_SPLITS]
    table = []
    for cfg, use_pool in itertools.product(variants(), (False, True)):
        row = {"variant": name_of(cfg, use_pool)}
        p_all = ro.pool_stats([r["factors"] for r in pool_recs], ts_all, cfg) if use_pool else None
        p_held = ro.pool_stats([r["factors"] for r in pool_recs], ts_held, cfg) if use_pool else None
        for g, rs in groups.items():
            row[f"{g}_all"] = top1(evaluate(rs, all_cats, ts_all, cfg, p_all))
            row[f"{g}_heldout"] = top1(
                evaluate([r for r in rs if r["split"].endswith("holdout")], held, ts_held, cfg, p_held)
            )
            row[f"{g}_indist_all"] = top1(
                evaluate([r for r in rs if not r["split"].endswith("holdout")], all_cats, ts_all, cfg, p_all)
            )
        row["select_all"] = None if use_pool else top1(evaluate(select, all_cats, ts_all, cfg, None))
        row["_cfg"], row["_pool"] = cfg, use_pool
        table.append(row)
    # headline: the best variant WITHOUT a pool (what readout_predict does on any tree), chosen on non-test models;
    # with a pool (train-split adapters as the reference), chosen on val models only (the pool is train)
    best = max((r for r in table if not r["_pool"]), key=lambda r: (r["select_all"], r["val_all"]))
    pooled = [r for r in table if r["_pool"]] if args.zoo else []
    best_pool = max(pooled, key=lambda r: (r["val_all"], r["val_heldout"] or 0)) if pooled else None
    cfg, use_pool = best["_cfg"], False
    p_all = None
    val_rows = evaluate(select, all_cats, ts_all, cfg, p_all)
    test_rows = evaluate(groups["test"], all_cats, ts_all, cfg, p_all)
    null = sum((ro.null_margins(r["factors"], ts_all, cfg, n=4, seed=i) for i, r in enumerate(select)), [])
    thr = ro.calibrate_threshold(null, 0.95)
    matched = {}
    vm = torch.tensor([m for _, m in val_rows])
    for rate in (0.0, 0.1, 0.25, 0.5):
        t = float(vm.quantile(rate)) if rate else -1e9
        matched[f"{int(rate * 100)}%"] = {
            "threshold": round(t, 4) if rate else None,
            "selection": at_threshold(val_rows, t),
            "test": at_threshold(test_rows, t),
        }
    report = {
        "source": source,
        "models": {g: len(rs) for g, rs in groups.items()},
        "pool": len(pool_recs),
        "categories": {"all": len(all_cats), "heldout": len(held)},
        "chance": {"all": round(1 / len(all_cats), 4), "heldout": round(1 / len(held), 4)},
        "selected": best["variant"],
        "test": {
            "top1_all": best["test_all"],
            "top1_heldout": best["test_heldout"],
            "top1_indist_all": best["test_indist_all"],
        },
        "val": {
            "top1_all": best["val_all"],
            "top1_heldout": best["val_heldout"],
            "selection_models": len(select),
            "top1_all_selection": best["select_all"],
        },
        "with_pool": None
        if best_pool is None
        else {
            "selected": best_pool["variant"],
            "val_all": best_pool["val_all"],
            "val_heldout": best_pool["val_heldout"],
            "test_all": best_pool["test_all"],
            "test_heldout": best_pool["test_heldout"],
            "test_indist_all": best_pool["test_indist_all"],
        },
        "abstain": {
            "threshold_null_q95": round(thr, 4),
            "selection": at_threshold(val_rows, thr),
            "test": at_threshold(test_rows, thr),
        },
        "matched_abstain": matched,
        "variants": [{k: v for k, v in r.items() if not k.startswith("_")} for r in table],
    }
    rm = [
        margin_z(ro.score_labels(ro.random_deltas(r["deltas"], 4, i), ts_all, cfg))
        for i, r in enumerate(groups["test"])
    ]
    report["abstain"]["test_random_deltas"] = {
        "n": len(rm),
        "abstain_rate": round(sum(m < thr for m in rm) / len(rm), 4),
    }
    report["shipped_default"] = shipped(groups["test"], all_cats, ts_all)
    report["cost_s"] = cost(ts_all.dim)
    report["build_s"] = round(build_s, 1)
    report["config"] = {
        "center": cfg.center,
        "tokens": cfg.tokens,
        "key_weight": cfg.key_weight,
        "value_weight": cfg.value_weight,
        "per_module": cfg.per_module,
        "max_vectors": cfg.max_vectors,
        "threshold": round(thr, 4),
        "pool": use_pool,
    }
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


def shipped(test, cands, ts) -> dict:
    """The user path: readout_predict with the shipped hfprobe/data/readout.json on test models (and random deltas)."""

    def run(recs):
        outs = [ro.readout_predict(r["deltas"], cands, text_states=ts, top_k=1) for r in recs]
        kept = [o["predictions"][0]["label"] == r["label"] for o, r in zip(outs, recs) if not o["abstained"]]
        return {
            "n": len(recs),
            "abstain_rate": round(1 - len(kept) / len(recs), 4) if recs else None,
            "top1_answered": round(sum(kept) / len(kept), 4) if kept else None,
            "top1_no_abstain": round(
                sum(o["predictions"][0]["label"] == r["label"] for o, r in zip(outs, recs)) / len(recs), 4
            )
            if recs
            else None,
        }

    rand = [{"deltas": ro.random_deltas(r["deltas"], 4, i), "label": r["label"]} for i, r in enumerate(test)]
    return {"config": str(ro.default_config()), "test": run(test), "random_deltas": run(rand)}


def cost(dim: int) -> dict:
    """Seconds to score one adapter against 1,000 labels with states and label features cached (median of 5)."""
    out = {}
    g = torch.Generator().manual_seed(0)
    for name, (tokens, d, widths, rank) in {
        "tiny_tree_1000_labels": (12, dim, [64] * 8, 4),
        "sd15_sized_1000_labels_rank16": (77, 768, [320] * 8 + [640] * 8 + [1280] * 16, 16),
    }.items():
        labels = [f"l{i}" for i in range(1000)]
        ts = st.TextStates(
            "synthetic",
            st.TEMPLATE,
            labels,
            [torch.randn(tokens, d, generator=g) for _ in labels],
            [torch.zeros(tokens, dtype=torch.bool) for _ in labels],
        )
        deltas = {
            f"unet.m{i}.attn2.to_{'kv'[i % 2]}": torch.randn(w, rank, generator=g) @ torch.randn(rank, d, generator=g)
            for i, w in enumerate(widths)
        }
        ranks = {n: rank for n in deltas}
        t = time.perf_counter()
        rf.prepare_labels(ts, ro.default_config())
        prep = time.perf_counter() - t
        times = []
        for _ in range(5):
            t = time.perf_counter()
            ro.score_labels(deltas, ts, ro.default_config(), ranks=ranks)
            times.append(time.perf_counter() - t)
        out[name] = {"score_s": round(sorted(times)[2], 4), "prepare_labels_once_s": round(prep, 3)}
    return out


if __name__ == "__main__":
    sys.exit(main())

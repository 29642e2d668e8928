"""Benchmark: models merge tools build from a registry LLM, which no registry root is (not a timed test).

    .venv/bin/python benchmarks/bench_derivatives.py [--out rows.jsonl] [-v]

For every dense registry root with LLaMA's layout (separate q/k/v, a gate/up/down MLP; the widths and depth its
roots.json entry gives), the shapes of what mergekit builds from it, as a full checkpoint's header:
- `moe-E-recipe`: a mixture of E experts (E = 2, 4, 8), each the root's MLP, as mergekit-moe writes one (a Mixtral;
  for a Qwen root Qwen2-MoE's names and a shared expert), its config.json's `model_type` the mixture's, and its
  `mergekit_moe_config.yml` naming the root as the base and an expert;
- `moe-E-bare`: the same without the recipe;
- `moe-E-lora`: a LoRA on that mixture's attention and every expert (module sizes, no embeddings or router), its
  adapter_config.json naming the mixture by a Hub id the registry lacks (`someone/<root's name>-Ex-MoE`);
- `deeper-D`: the root's blocks stacked D deeper (D = 8, 16: a passthrough merge whose recipe is gone), its
  config.json's `model_type` the root's.
Each is classified as `inspect` does (names, shapes, parameter counts, config.json, the recipe).

Counted, per kind: tree right (the leading root's tree is the root's, `registry.tree_root`), the root's tree among
the candidates (a look-alike in every shape leads as often as not: SmolLM and SmolLM2, Mistral 7B v0.1 and v0.2's
instruct tune, which the registry files under two trees), a conflict (each case is consistent with its own
metadata: any conflict is wrong), a base_model from the weights alone (not right: which models were mixed or
stacked, the weights do not say; an 8-expert mixture of Codestral 22B's MLP is Mixtral 8x22B Instruct's every
shape, vocabulary included), for `recipe` rows the root among the models the card would list, and for `lora` rows
a published mixture's tree named where it is not that mixture (a root leads whose tree is not the root's: the
adapter's base is the mixture, which no registry root is unless its shapes are a published one's). For the figures
before a change, run the same script with the earlier package first on `sys.path`.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hfprobe.tree.classify import classify  # noqa: E402
from hfprobe.tree.registry import roots, tree_root  # noqa: E402

FAMILIES = ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "smollm3")
NEEDED = {"hidden", "q_dim", "kv_dim", "ffn", "layers", "vocab"}


def dense_roots() -> list[dict]:
    out = []
    for r in roots()["roots"]:
        dims = r["dims"]
        if r["family"] in FAMILIES and NEEDED <= set(dims) and all(isinstance(dims[d], int) for d in NEEDED):
            out.append(r)
    return out


def stack(dims: dict, layers: int, experts: int = 0, qwen: bool = False) -> dict:
    """Header shapes, (out, in) per module, under transformers' names."""
    h, q, kv, ffn = dims["hidden"], dims["q_dim"], dims["kv_dim"], dims["ffn"]
    shapes = {"model.embed_tokens": (dims["vocab"], h), "lm_head": (dims["vocab"], h)}
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes |= {p + "self_attn.q_proj": (q, h), p + "self_attn.k_proj": (kv, h), p + "self_attn.v_proj": (kv, h)}
        shapes[p + "self_attn.o_proj"] = (h, q)
        mlp = {"gate_proj": (ffn, h), "up_proj": (ffn, h), "down_proj": (h, ffn)}
        if not experts:
            shapes |= {p + f"mlp.{w}": s for w, s in mlp.items()}
        elif qwen:  # Qwen2-MoE's names: `mlp.experts.N.gate_proj`, a router `mlp.gate`, a shared expert
            shapes[p + "mlp.gate"] = (experts, h)
            shapes |= {p + f"mlp.experts.{e}.{w}": s for e in range(experts) for w, s in mlp.items()}
            shapes |= {p + f"mlp.shared_expert.{w}": s for w, s in mlp.items()}
            shapes[p + "mlp.shared_expert_gate"] = (1, h)
        else:  # Mixtral's: `block_sparse_moe.experts.N.w1` (gate), `w3` (up), `w2` (down), a router `.gate`
            shapes[p + "block_sparse_moe.gate"] = (experts, h)
            named = {"w1": mlp["gate_proj"], "w3": mlp["up_proj"], "w2": mlp["down_proj"]}
            shapes |= {p + f"block_sparse_moe.experts.{e}.{w}": s for e in range(experts) for w, s in named.items()}
    return shapes


def cases(root: dict):
    dims, fam, rid = root["dims"], root["family"], root["id"]
    qwen = fam.startswith("qwen")
    mixture_type = "qwen2_moe" if qwen else "mixtral"
    recipe = f"base_model: {rid}\nexperts:\n  - source_model: {rid}\n  - source_model: someone/tune\n"
    for experts in (2, 4, 8):
        shapes = stack(dims, dims["layers"], experts, qwen)
        config = {"model_type": mixture_type}
        yield f"moe-{experts}-recipe", shapes, config, {"mergekit_moe_config.yml": recipe}
        yield f"moe-{experts}-bare", shapes, config, {}
        lora = {k: s for k, s in shapes.items() if k.endswith(("_proj", ".w1", ".w2", ".w3"))}
        named = {"base_model_name_or_path": f"someone/{rid.split('/')[-1]}-{experts}x-MoE"}
        yield f"moe-{experts}-lora", lora, named, {}
    for more in (8, 16):
        yield f"deeper-{more}", stack(dims, dims["layers"] + more), {"model_type": fam}, {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="write one JSON row per case here")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the wrong answers")
    args = parser.parse_args()
    counts: dict = collections.defaultdict(collections.Counter)
    rows = []
    for root in dense_roots():
        truth = tree_root(root["id"])
        for kind, shapes, config, texts in cases(root):
            full = not kind.endswith("lora")
            params = {k: o * i for k, (o, i) in shapes.items()} if full else None
            r = classify(shapes, params=params, config=config, texts=texts)
            merged = r.base_model.get("merged") or []
            row = {
                "root": root["id"],
                "kind": kind,
                "family": r.family,
                "top": r.root,
                "tree_right": tree_root(r.root) == truth,
                "among": any(tree_root(c["id"]) == truth for c in r.candidates),
                "conflicts": r.conflicts,
                "by_weights": r.base_model["status"] == "weights",
                "merged_has_root": root["id"] in merged,
            }
            rows.append(row)
            c = counts["deeper" if kind.startswith("deeper") else "moe-" + kind.rsplit("-", 1)[1]]
            c["cases"] += 1
            c["tree right"] += row["tree_right"]
            c["its tree among the candidates"] += row["among"]
            c["with a conflict"] += bool(r.conflicts)
            c["base_model from the weights alone"] += row["by_weights"]
            if kind.endswith("recipe"):
                c["card lists the root"] += row["merged_has_root"]
            if kind.endswith("lora"):
                c["a tree not its own leads"] += r.root is not None and not row["tree_right"]
            if args.verbose and (not row["tree_right"] or r.conflicts):
                print(f"{root['id']} {kind}: {r.family} {r.root} {r.conflicts[:1]}")
    if args.out:
        args.out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    print(json.dumps({"roots": len(dense_roots()), **{k: dict(v) for k, v in sorted(counts.items())}}, indent=1))


if __name__ == "__main__":
    main()

"""`hfprobe zoo build` and `hfprobe zoo info`: thin wrappers over hfprobe.zoo."""

from __future__ import annotations

from .common import add_flags, emit, pick_device, positive_int, progress


def register(sub) -> None:
    p = sub.add_parser("zoo", help="build or describe a model zoo with ground-truth labels")
    zsub = p.add_subparsers(dest="zoo_command", metavar="ACTION")
    b = zsub.add_parser(
        "build",
        help="build a zoo from a preset (cached by recipe hash; resumable)",
        description="Each tree is built by one process on one thread (that is what makes a seed give "
        "identical bytes on the CPU); --jobs builds several trees at once. On an accelerator (--device auto finds "
        "one) models train faster but the bytes may differ from a CPU build; --device cpu keeps them identical.",
    )
    b.add_argument("--preset", default="tiny", help="test, tiny, demo or mini (hfprobe/data/zoo_presets.json)")
    b.add_argument("--out", default=None, help="zoo folder (default: <cache>/zoos/<recipe hash>)")
    b.add_argument("--seed", type=int, default=0, help="zoo seed; one seed gives identical bytes")
    b.add_argument("--skip-bad", action="store_true", help="skip (and report) models whose training fails")
    b.add_argument(
        "--jobs",
        type=positive_int,
        default=1,
        help="trees built at once, one process and one thread each (same bytes; mini: 54 -> 31 min with 2)",
    )
    add_flags(b, quiet=True, device=True)
    b.set_defaults(run=run_build)
    i = zsub.add_parser("info", help="per tree: root, models per split, categories, build time, disk size")
    i.add_argument("path", help="a built zoo, or a folder of model folders / with a manifest")
    i.add_argument("--skip-bad", action="store_true", help="skip (and count) models with bad labels or files")
    add_flags(i)
    i.set_defaults(run=run_info)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_build(args) -> int:
    from ..config import cache_dir, check_output_path
    from ..zoo import build_zoo, zoo_info

    # before any work: a bad folder fails now, not when the first tree is written
    check_output_path(args.out or cache_dir(), "--out" if args.out else "the cache (HFPROBE_CACHE)", folder=True)
    path = build_zoo(
        args.preset,
        out=args.out,
        seed=args.seed,
        skip_bad=args.skip_bad,
        progress=progress(args),
        jobs=args.jobs,
        device=pick_device(args),
    )
    info = zoo_info(path)
    if args.json:
        emit(
            {
                "path": str(path),
                "preset": info["preset"],
                "hash": info["hash"],
                "device": info["device"],
                "skipped": info["skipped"],
            }
        )
        return 0
    print(f"zoo {info['preset']} (hash {info['hash']}, built on {info['device']}) at {path}")
    if info["skipped"]:
        print(
            f"skipped {len(info['skipped'])} models: "
            + "; ".join(f"{s['id']}: {s['reason']}" for s in info["skipped"][:5])
        )
    return 0


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def run_info(args) -> int:
    from ..zoo import zoo_info

    info = zoo_info(args.path, skip_bad=args.skip_bad)
    if args.json:
        emit(info)
        return 0
    if info.get("skipped"):
        print(f"skipped {len(info['skipped'])} models:")
        for s in info["skipped"]:
            print(f"  {s['id']}: {s['reason']}")
    head = f"zoo {info['path']}"
    if info.get("hash"):
        head += (
            f"  preset {info['preset']}  seed {info['seed']}  hash {info['hash']}  built in {info['build_seconds']} s"
        )
        if info.get("build_cpu_seconds"):
            head += f" ({info['build_cpu_seconds']} s CPU)"
    print(head + f"  {_mb(info['disk_bytes'])}")
    for name, t in info["trees"].items():
        splits = ", ".join(f"{k} {v}" for k, v in t["splits"].items())
        print(f"\n{name}: root {t['root']}" + (f"  ({t['kind']}, {t['format']})" if t.get("kind") else ""))
        print(f"  models {t['models']}: {splits}")
        if t.get("build_seconds") is not None:
            cpu = f" ({t['build_cpu_seconds']} s CPU)" if t.get("build_cpu_seconds") else ""
            print(f"  build {t['build_seconds']} s{cpu}, disk {_mb(t['disk_bytes'])}, data: {t.get('data_used')}")
        cats = t["categories"]
        print(f"  categories ({len(cats)}): {', '.join(cats[:12])}{' ...' if len(cats) > 12 else ''}")
        if t.get("holdout_categories"):
            print(f"  held-out ({len(t['holdout_categories'])}): {', '.join(t['holdout_categories'])}")
    return 0

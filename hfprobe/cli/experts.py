"""`hfprobe experts push DIR ORG/NAME`: publish an expert folder (or a folder of them) as a Hub model with a card."""

from __future__ import annotations

from .common import add_flags, emit


def register(sub) -> None:
    p = sub.add_parser("experts", help="publish trained experts as Hub models (with a model card)")
    cmds = p.add_subparsers(dest="experts_command", metavar="COMMAND", required=True)
    push = cmds.add_parser(
        "push",
        help="upload an expert folder, or a folder of experts (one sub-folder per tree), with its model card",
        description="Upload DIR to the Hub model repo ORG/NAME in one commit: the expert files and a model card "
        "(library_name: hfprobe, base_model: the tree's root, the layer, labels, metrics beside chance, the zoo). "
        "Load it back with `hfprobe predict SOURCE --experts ORG/NAME`.",
    )
    push.add_argument("dir", help="an expert folder (expert.json + expert.safetensors) or a folder of them")
    push.add_argument("repo", metavar="ORG/NAME", help="the Hub model repo (created if needed)")
    push.add_argument("--trees", help="comma-separated sub-folders to publish (default: every expert in DIR)")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.add_argument("--dry-run", action="store_true", help="print the model card; upload nothing")
    add_flags(push, token=True)
    push.set_defaults(run=run_push)


def run_push(args) -> int:
    from ..experts.expert import Expert
    from ..experts.publish import expert_card, expert_folders, push_experts
    from ..source.hub import check_repo_id

    check_repo_id(args.repo)  # a dry run too: the card it prints names the repo
    trees = [t.strip() for t in args.trees.split(",") if t.strip()] if args.trees else None
    if args.dry_run:
        folders = expert_folders(args.dir, trees)
        card = expert_card({path: Expert.load(where).config for path, where in folders.items()}, args.repo)
        if args.json:
            emit({"repo": args.repo, "experts": sorted(folders), "card": str(card)})
        else:
            print(str(card))
        return 0
    url = push_experts(args.dir, args.repo, trees=trees, token=args.token, private=args.private)
    if args.json:
        emit({"repo": args.repo, "commit": url})
    else:
        print(f"pushed to {args.repo}: {url}")
        print(f"use it: hfprobe predict SOURCE --experts {args.repo}")
    return 0

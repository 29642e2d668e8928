"""`hfprobe space push ORG/NAME`: deploy the Gradio Space; `hfprobe space run`: run it on this machine."""

from __future__ import annotations

from .common import add_flags, check_listen, emit, port


def register(sub) -> None:
    p = sub.add_parser("space", help="deploy the hfprobe Space to the Hub, or run it locally")
    cmds = p.add_subparsers(dest="space_command", metavar="COMMAND", required=True)
    push = cmds.add_parser(
        "push",
        help="create or update a Gradio Space with this hfprobe, in one commit",
        description="Create (or update) the Gradio Space ORG/NAME: the app, this hfprobe's source, a pinned "
        "requirements.txt, the Space card (sign-in with Hugging Face, preloaded experts) and its settings.",
    )
    push.add_argument("repo", metavar="ORG/NAME", help="the Space (created if needed)")
    push.add_argument(
        "--experts",
        action="append",
        metavar="ORG/NAME",
        help="an expert repo the Space serves (published with `hfprobe experts push`); repeat for several "
        "(default: those of the previous push)",
    )
    push.add_argument(
        "--index", metavar="DIR", help="a search index (`hfprobe index add`) to upload (default: keep the Space's)"
    )
    push.add_argument("--private", action="store_true", help="create the Space private")
    add_flags(push, token=True)
    push.set_defaults(run=run_push)
    run = cmds.add_parser("run", help="run the Space's page on this machine (needs the 'space' extra)")
    run.add_argument("--index", metavar="DIR", help="search index folder (default: $HFPROBE_INDEX or the cache's)")
    run.add_argument("--port", type=port, default=7860, help="port to listen on (default 7860)")
    run.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    run.set_defaults(run=run_local)


def run_push(args) -> int:
    from ..deploy import push_space

    url = push_space(args.repo, experts=args.experts, index=args.index, private=args.private, token=args.token)
    if args.json:
        emit({"space": args.repo, "commit": url})
    else:
        print(f"pushed the Space {args.repo}: {url}")
    return 0


def run_local(args) -> int:
    import os

    check_listen(args.host, args.port, "space run")  # before the app loads: one line, not a traceback
    if args.index:
        from ..errors import UsageError

        if not os.path.isdir(args.index):
            raise UsageError(f"--index {args.index}: no such folder; build one with `hfprobe index add`, or omit it")
        os.environ["HFPROBE_INDEX"] = args.index
    from ..space.app import main

    main(None, server_name=args.host, server_port=args.port)
    return 0

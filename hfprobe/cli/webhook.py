"""`hfprobe webhook serve`: keep model cards current from Hub webhooks (see hfprobe/cards/webhook.py)."""

from __future__ import annotations

import os

from ..errors import UsageError
from .common import add_flags, check_listen, non_negative, port, positive_int


def register(sub) -> None:
    p = sub.add_parser("webhook", help="serve a Hub webhook that annotates model repos as they change")
    wsub = p.add_subparsers(dest="webhook_command", metavar="ACTION")
    serve = wsub.add_parser(
        "serve",
        help="run the webhook server (POST /webhooks/hfprobe)",
        description="On each content update of a watched model repo, annotate it as `hfprobe annotate REPO "
        "--push` does. Register the webhook on the Hub with the same secret (docs/cards.md).",
    )
    serve.add_argument("--secret", help="the webhook secret (default: $WEBHOOK_SECRET); required")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 in a Space)"
    )
    serve.add_argument("--port", type=port, default=7860, help="port to listen on (default 7860, a Space's port)")
    serve.add_argument("--workers", type=positive_int, default=2, help="repos annotated at once (default 2)")
    serve.add_argument(
        "--queue-size", type=positive_int, default=64, help="events waiting at most; more answer 503 (default 64)"
    )
    serve.add_argument(
        "--attempts", type=positive_int, default=3, help="tries per repo when the Hub is down (default 3)"
    )
    serve.add_argument(
        "--pr-interval",
        type=non_negative,
        default=10.0,
        metavar="SECONDS",
        help="at least this long between two pull requests or commits (default 10)",
    )
    serve.add_argument("--log", metavar="FILE", help="append one JSON line per finished job to FILE")
    add_flags(serve, json_lines=False, token=True)
    serve.set_defaults(run=run_serve)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_serve(args) -> int:
    from ..cards.webhook import serve

    secret = args.secret or os.environ.get("WEBHOOK_SECRET")
    if not secret:
        raise UsageError(
            "webhook serve: no secret; pass --secret or set WEBHOOK_SECRET to the secret the webhook was created with"
        )
    if args.log:  # serve() checks it too; here first, so a bad log is named before the port is tried
        from ..config import check_output_path

        check_output_path(args.log, "--log")
    check_listen(args.host, args.port, "webhook serve")
    token = args.token or os.environ.get("HF_TOKEN")
    serve(
        secret=secret,
        token=token,
        workers=args.workers,
        queue_size=args.queue_size,
        attempts=args.attempts,
        pr_interval=args.pr_interval,
        host=args.host,
        port=args.port,
        log_file=args.log,
    )
    return 0

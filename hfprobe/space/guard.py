"""The Space's guard: what a visitor may send, and what a visitor gets back.

Owns the checks on every input, decided before any work (`parse_repo_spec` on the string alone, before any
filesystem call; `upload_source` on where gradio put the file, its name, size and first bytes), the request
limits (`max_upload_bytes`, `time_limit`), and `answer`, the wrapper that gives every endpoint a time limit and
turns every failure into one clean `gr.Error` line (no token, no server path, no traceback). May import
hfprobe.source, hfprobe.errors and hfprobe.config; the endpoints that use it are in endpoints.py.

    >>> parse_repo_spec("org/name")
    ('org/name', None)
"""

import concurrent.futures
import functools
import json
import logging
import os
import re
from pathlib import Path

from ..config import require
from ..errors import HfprobeError

gr = require("gradio", "space")

log = logging.getLogger(__name__)

MAX_TEXT = 300  # characters of a repo id, query or label list
MAX_LABELS = 100
SUFFIX = ".safetensors"
WORKERS = 4

REFUSED = (
    "enter a Hub model repo id such as org/name or org/name@revision; local paths, URLs and other text are not "
    "accepted here (upload a .safetensors file instead)"
)
UPLOAD_REFUSED = "the upload could not be used; upload one .safetensors weights file"

# org/name[@revision], as the Hub spells them: letters, digits, '.', '_', '-'; no '..' or '--'; a revision is a
# branch, tag or commit (slashes allowed, as in refs/pr/1)
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?"
REPO_SPEC = re.compile(rf"({_NAME})/({_NAME})(?:@([A-Za-z0-9][A-Za-z0-9._/-]{{0,199}}))?")
# an absolute path (or ~/...) in a message: replaced before it reaches a client
_ABS_PATH = re.compile(r"(?<![\w.:/~-])~?/[^\s'\"`(),;]*")


def max_upload_bytes() -> int:
    """$HFPROBE_SPACE_MAX_UPLOAD bytes (default 2 GiB: a full SD checkpoint fits)."""
    return int(os.environ.get("HFPROBE_SPACE_MAX_UPLOAD") or 2 * 1024**3)


def time_limit() -> float:
    """$HFPROBE_SPACE_TIME_LIMIT seconds a request may take before the visitor is answered (default 120)."""
    return float(os.environ.get("HFPROBE_SPACE_TIME_LIMIT") or 120)


# ---- input checks: strings first, no filesystem --------------------------------------------------------------
def parse_repo_spec(text) -> tuple[str, str | None]:
    """(repo_id, revision) from the visitor's text, or gr.Error(REFUSED) for anything else.

    Decided on the string alone: the answer is the same whatever exists on the server.

    >>> parse_repo_spec(" org/name@v1 ")
    ('org/name', 'v1')
    >>> parse_repo_spec("/etc/passwd")
    Traceback (most recent call last):
    ...
    gradio.exceptions.Error: 'enter a Hub model repo id such as org/name or org/name@revision; local paths, URLs and \
other text are not accepted here (upload a .safetensors file instead)'
    """
    text = text.strip() if isinstance(text, str) else ""
    match = REPO_SPEC.fullmatch(text) if len(text) <= MAX_TEXT else None
    if not match or ".." in text or "--" in text or "//" in text or text.endswith("/"):
        raise gr.Error(REFUSED, print_exception=False)
    return f"{match.group(1)}/{match.group(2)}", match.group(3)


def parse_labels(text) -> list[str] | None:
    """Comma-separated zero-shot labels, or None (the expert's own labels) for an empty box."""
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        return None
    if len(text) > MAX_TEXT * 10:
        raise gr.Error(f"the labels are over {MAX_TEXT * 10} characters; give at most {MAX_LABELS} short labels")
    labels = [x.strip() for x in text.split(",")]
    if len(labels) > MAX_LABELS:
        raise gr.Error(f"{len(labels)} labels; give at most {MAX_LABELS}, comma-separated")
    return labels


def visitor_token(oauth_token) -> str | bool:
    """The visitor's token, or False: never fall back to the server's own token (HF_TOKEN of the Space)."""
    value = getattr(oauth_token, "token", oauth_token)
    return value.strip() if isinstance(value, str) and value.strip() else False


def hub_source(repo_id: str, revision: str | None, token):
    """A Source that reads `repo_id` from the Hub only (resolve() would prefer a local folder of that name)."""
    from ..source.resolve import Source

    return Source(
        "hub", repo_id + (f"@{revision}" if revision else ""), repo_id=repo_id, revision=revision, token=token
    )


def upload_source(path):
    """A Source for a file gradio received, after checking where it is, its name, size and first bytes."""
    from ..source.resolve import Source

    if not path or not isinstance(path, str):
        raise gr.Error("nothing uploaded; upload a .safetensors weights file", print_exception=False)
    name = Path(path).name[:120]
    if not name.endswith(SUFFIX):
        raise gr.Error(
            f"{name}: not a .safetensors file; upload a .safetensors weights file (pickled .bin/.ckpt files are not "
            "read here)",
            print_exception=False,
        )
    folder = Path(gr.utils.get_upload_folder()).resolve()
    real = Path(path).resolve()
    if folder not in real.parents or not real.is_file():  # only files gradio itself received
        raise gr.Error(UPLOAD_REFUSED, print_exception=False)
    size = real.stat().st_size
    limit = max_upload_bytes()
    if size > limit:
        raise gr.Error(
            f"{name}: {size / 1024**3:.1f} GiB is over this Space's {limit / 1024**3:.1f} GiB upload limit; run "
            "`hfprobe inspect FILE` locally instead",
            print_exception=False,
        )
    with open(real, "rb") as fh:
        head = fh.read(9)
    if len(head) < 9 or int.from_bytes(head[:8], "little") + 8 > size or head[8:9] != b"{":
        raise gr.Error(
            f"{name}: not a safetensors file (it does not start with a safetensors header); upload a .safetensors "
            "weights file",
            print_exception=False,
        )
    return Source("file", f"uploaded file {name}", root=real.parent, default_file=real.name)


# ---- answers: a time limit, and one clean line for every failure ----------------------------------------------
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hfprobe-space")


def public_message(text: str) -> str:
    """A message safe for a visitor: no token, no absolute path, one line, at most 400 characters.

    >>> public_message("cannot read /tmp/gradio/abc/x.safetensors with hf_abcdefghijklmnop")
    'cannot read <server path> with hf_***'
    """
    from ..source.hub import scrub

    text = " ".join(_ABS_PATH.sub("<server path>", scrub(str(text))).split())
    return text if len(text) <= 400 else text[:399] + "…"


def public_message_block(text: str) -> str:
    """Markdown shown to a visitor: tokens and absolute paths removed, line breaks kept."""
    from ..source.hub import scrub

    return "\n".join(_ABS_PATH.sub("<server path>", scrub(line)) for line in text.splitlines())


def public_json(obj) -> str:
    """JSON text for a visitor: tokens and absolute paths removed."""
    from ..source.hub import scrub

    return _ABS_PATH.sub("<server path>", scrub(json.dumps(obj, default=str)))


def answer(fn):
    """Run `fn` within the time limit; turn every failure into a gr.Error with a public one-line message.

    The limit bounds the wait, not the work: Python cannot stop a thread, so a request over the limit is answered
    and its work runs on in the pool (reads are bounded; see docs/space.md).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        future = _POOL.submit(fn, *args, **kwargs)
        try:
            return future.result(timeout=time_limit())
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise gr.Error(
                f"no answer within {time_limit():.0f} s; try a smaller model, or run hfprobe on your own machine",
                print_exception=False,
            ) from None
        except gr.Error as err:
            raise gr.Error(public_message(err.message), print_exception=False) from None
        except HfprobeError as err:
            raise gr.Error(public_message(str(err)), print_exception=False) from None
        except Exception as err:  # a bug of ours: logged on the server, one line for the visitor
            log.error("internal error in %s", fn.__name__, exc_info=err)
            raise gr.Error(
                f"internal error ({type(err).__name__}); the server log has details, please report it",
                print_exception=False,
            ) from None

    return wrapper

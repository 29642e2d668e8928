"""The Space's guard: what a visitor may send, and what a visitor gets back.

Owns the checks on every input, decided before any work (`parse_repo_spec` on the string alone, before any
filesystem call: a Hub repo in any form the CLI reads one, a file or folder in it included; `upload_source` on
where gradio put the file, its name, size and first bytes), the request limits (`max_upload_bytes`,
`time_limit`), and `answer`, the wrapper that gives every endpoint a time limit and turns every failure into one
clean `gr.Error` line (no token, no server path, no traceback). May import hfprobe.source, hfprobe.errors and
hfprobe.config; the endpoints that use it are in endpoints.py.

    >>> parse_repo_spec("org/name")
    ('org/name', None, None)
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
from ..source.hub import safe_name
from ..source.resolve import parse_hub_spec

gr = require("gradio", "space")

log = logging.getLogger(__name__)

MAX_TEXT = 300  # characters of a repo id, query or label list
MAX_LABELS = 100
SUFFIX = ".safetensors"
WORKERS = 4

REFUSED = (
    "enter a Hub model repo: org/name, org/name@revision, or its https://huggingface.co/ or hf:// address (a file "
    "or folder in it too); local paths and other text are not accepted here (upload a .safetensors file instead)"
)
WHOLE_REPO = "a pull request is for a whole repo: enter org/name, not a file or folder in it"
UPLOAD_REFUSED = "the upload could not be used; upload one .safetensors weights file"

# org/name[@revision], as the Hub spells them: letters, digits, '.', '_', '-'; no '..' or '--'; a revision is a
# branch, tag or commit (slashes allowed, as in refs/pr/1)
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?"
REPO_SPEC = re.compile(rf"({_NAME})/({_NAME})(?:@([A-Za-z0-9][A-Za-z0-9._/-]{{0,199}}))?")
_ADDRESS = re.compile(r"(?:hf://|https?://|(?:huggingface|hf)\.co/)", re.IGNORECASE)  # read as a Hub URL
# what may be an absolute path (or ~/...) in a message; `_server_path` decides whether it is one of this server's.
# A "~" escaped for Markdown (\~) still counts as home.
_ABS_PATH = re.compile(r"(?<![\w.:/~\\-])(?:\\?~)?/[^\s'\"`(),;]*")
PLACEHOLDER = "[server path]"  # not "<...>": Markdown would read that as an HTML tag and hide the rest of the line
MAX_MESSAGE = 1000  # characters of a one-line message; longer ones are cut at a word, with "…"


def max_upload_bytes() -> int:
    """$HFPROBE_SPACE_MAX_UPLOAD bytes (default 2 GiB: a full SD checkpoint fits)."""
    return int(os.environ.get("HFPROBE_SPACE_MAX_UPLOAD") or 2 * 1024**3)


def time_limit() -> float:
    """$HFPROBE_SPACE_TIME_LIMIT seconds a request may take before the visitor is answered (default 120)."""
    return float(os.environ.get("HFPROBE_SPACE_TIME_LIMIT") or 120)


# ---- input checks: strings first, no filesystem --------------------------------------------------------------
def parse_repo_spec(text, *, inside: bool = True) -> tuple[str, str | None, str | None]:
    """(repo_id, revision, path in the repo or None) from the visitor's text, or gr.Error(REFUSED) for anything else.

    Takes what the CLI takes for a Hub model: org/name[@revision], hf://[models/]org/name[@revision][/path] and the
    Hub's web address (https://huggingface.co/org/name[/tree|blob|resolve/REV[/path]]). `inside=False`: a whole repo
    only. Decided on the string alone: the answer is the same whatever exists on the server, and whatever host a URL
    names, the repo is read from this server's Hub endpoint.

    >>> parse_repo_spec(" org/name@v1 "), parse_repo_spec("https://huggingface.co/org/name/tree/main/v1")
    (('org/name', 'v1', None), ('org/name', 'main', 'v1'))
    >>> parse_repo_spec("/etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gradio.exceptions.Error: 'enter a Hub model repo: org/name, ...'
    """
    text = text.strip() if isinstance(text, str) else ""
    if len(text) > MAX_TEXT:
        raise gr.Error(REFUSED, print_exception=False)
    path = None
    if _ADDRESS.match(text):  # a URL of the Hub: parsed as huggingface_hub parses one (no I/O)
        try:
            uri = parse_hub_spec(text)
        except HfprobeError:
            raise gr.Error(REFUSED, print_exception=False) from None
        path = uri.path_in_repo.strip("/") or None
        text = uri.id + (f"@{uri.revision}" if uri.revision else "")
    match = REPO_SPEC.fullmatch(text)
    if not match or ".." in text or "--" in text or "//" in text or text.endswith("/"):
        raise gr.Error(REFUSED, print_exception=False)
    if path is not None and not (safe_name(path) and "--" not in path and "%" not in path):  # %2F..: refused too
        raise gr.Error(REFUSED, print_exception=False)
    if path is not None and not inside:
        raise gr.Error(WHOLE_REPO, print_exception=False)
    return f"{match.group(1)}/{match.group(2)}", match.group(3), path


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


def hub_source(repo_id: str, revision: str | None, token, path: str | None = None):
    """A Source that reads `repo_id` (its file or folder `path`, where given) from the Hub only (resolve() would
    prefer a local folder of that name)."""
    from ..source import Source

    display = repo_id + (f"@{revision}" if revision else "")  # as resolve() names it; the file is the report's own
    return Source("hub", display, repo_id=repo_id, revision=revision, default_file=path, token=token)


def upload_source(path):
    """A Source for a file gradio received, after checking where it is, its name, size and first bytes."""
    from ..source import Source

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
# One pool of WORKERS threads per kind of work, so a kind that waits on something slow cannot hold the others: Hub
# reads of repos a visitor names ("hub"), uploaded files ("upload") and the search index ("index"). Four stalled
# Hub reads leave search and uploads answering as before.
POOL_KINDS = ("hub", "upload", "index")
_POOLS = {
    kind: concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix=f"hfprobe-space-{kind}")
    for kind in POOL_KINDS
}


def _server_roots() -> list[str]:
    """Folders of this server a visitor must not learn: caches, temp, home, cwd, Python's install, index, experts.

    Read at each call (the environment may change while the server runs); the list is short.
    """
    import sys
    import sysconfig
    import tempfile

    from huggingface_hub import constants

    home = str(Path.home())
    roots = [
        os.environ.get("HFPROBE_CACHE") or os.path.join(home, ".cache", "hfprobe"),
        os.environ.get("HFPROBE_INDEX", ""),
        *os.environ.get("HFPROBE_EXPERTS", "").split(","),
        constants.HF_HOME,
        constants.HF_HUB_CACHE,
        tempfile.gettempdir(),
        home,
        os.getcwd(),
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        *sysconfig.get_paths().values(),
        str(Path(__file__).resolve().parents[2]),  # where hfprobe itself is installed or checked out
    ]
    try:
        roots.append(str(gr.utils.get_upload_folder()))
    except Exception:  # noqa: BLE001 - an optional extra root; the others still apply
        pass
    out = set()
    for root in roots:
        root = root.strip() if isinstance(root, str) else ""
        if root.startswith(("/", "~")):  # a Hub repo id in HFPROBE_EXPERTS is not a folder
            for form in (os.path.normpath(os.path.expanduser(root)), os.path.realpath(os.path.expanduser(root))):
                if form != "/":
                    out.add(form.rstrip("/"))
    return sorted(out)


@functools.lru_cache(maxsize=1)
def _top_level() -> frozenset:
    """The names directly under / on this server, listed once (never a lookup of a path a visitor wrote)."""
    try:
        return frozenset(os.listdir("/"))
    except OSError:
        return frozenset()


def _server_path(candidate: str, roots: list[str]) -> bool:
    """Whether `candidate` (a match of _ABS_PATH) names a place on this server: under one of its known roots, or
    under a folder that exists at its top level (so "/etc/passwd" or "/home/x" yes; "/" alone, "/models/sd" no).

    Decided on the text and one listing of "/", never by looking up the visitor's path (no existence oracle).
    """
    text = re.sub(r"\\(.)", r"\1", candidate)  # undo Markdown escapes (\~, \_) before deciding
    if text.startswith("~/"):
        return True  # the home of whoever runs the server
    path = os.path.normpath(text)
    if path == "/" or path.startswith("//"):
        return False
    if any(path == root or path.startswith(root + "/") for root in roots):
        return True
    return path.split("/")[1] in _top_level()


def _redact(text: str, roots: list[str] | None = None) -> str:
    """`text` with every server path replaced by PLACEHOLDER and tokens scrubbed."""
    from ..source.hub import scrub

    roots = _server_roots() if roots is None else roots

    def swap(match):
        path = match.group(0).rstrip(":.")  # "cannot read /x/y.json: ..." keeps its colon
        return PLACEHOLDER + match.group(0)[len(path) :] if _server_path(path, roots) else match.group(0)

    return _ABS_PATH.sub(swap, scrub(str(text)))


# ---- advice a visitor can follow --------------------------------------------------------------------------------
# hfprobe's errors end with a fix for the command line (--token, --out DIR, HF_TOKEN ...). A visitor of the page
# cannot pass flags or set the server's variables, so each such fix is said in the page's terms (true of a Space,
# where visitors sign in, and of a page run locally, which has a token box for pull requests). A clause still
# naming a flag or a variable after these becomes FALLBACK_ADVICE.
_READ = "sign in (or run hfprobe on your own machine) with an account that can read it"
VISITOR_ADVICE = {
    r"pass a token \(--token or HF_TOKEN\)": _READ,
    r"pass a token with read access": _READ,
    r"--push needs a write token|use a token with write permission( \(or omit --push to write locally\))?": (
        "a pull request needs write access: sign in again allowing it, or paste a token that has it"
    ),
    r"create a new write token and set HF_TOKEN": "sign in again, or paste a new token",
    r"write the card locally with --out DIR and send it another way": (
        "copy the card diff shown by Inspect and send it to the repo's owner another way"
    ),
    r"run `hfprobe inspect` on the repo to list its files": "press Inspect to list the repo's files",
    r"point hfprobe at a folder or repo that has one, or at the file itself": "enter a repo that has one",
    r"check the network[^;]*": "try again later",  # the server's network, its timeouts and its offline mode
    r"name one, e\.g\. (hf://\S+)": r"this page reads repos of one model; run `hfprobe inspect \1` on your own machine",
}
FALLBACK_ADVICE = "run hfprobe on your own machine to change this"
_CLI_WORDS = re.compile(r"(?<![\w-])--[a-z][a-z-]+|\b(?:HF|HFPROBE)_[A-Z_]+\b")


def for_visitor(text: str) -> str:
    """An error message with its command-line fix said in the page's terms.

    >>> for_visitor("org/x: the repo is gated; accept its terms and pass a token (--token or HF_TOKEN)")
    'org/x: the repo is gated; accept its terms and sign in (or run hfprobe on your own machine) with an account \
that can read it'
    >>> for_visitor("x.bin: 9 bytes is over the 5-byte limit; raise --max-download (HFPROBE_MAX_DOWNLOAD)")
    'x.bin: 9 bytes is over the 5-byte limit; run hfprobe on your own machine to change this'
    """
    for pattern, said in VISITOR_ADVICE.items():
        text = re.sub(pattern, lambda m, said=said: m.expand(said), text)
    what, *advice = text.split("; ")
    kept = [clause for clause in advice if not _CLI_WORDS.search(clause)]
    return "; ".join([what, *kept, *([FALLBACK_ADVICE] if len(kept) < len(advice) else [])])


def public_message(text: str) -> str:
    """A message safe for a visitor: no token, no server path, one line, at most MAX_MESSAGE characters.

    Only this server's paths are hidden; other text with slashes is kept as written.

    >>> public_message("cannot read /tmp/gradio/abc/x.safetensors with hf_abcdefghijklmnop")
    'cannot read [server path] with hf_***'
    >>> public_message("heads differ (attn2.to_k / attn2.to_v)")
    'heads differ (attn2.to_k / attn2.to_v)'
    """
    text = " ".join(_redact(text).split())
    if len(text) <= MAX_MESSAGE:
        return text
    cut = text[: MAX_MESSAGE - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > MAX_MESSAGE // 2 else cut).rstrip() + "…"


def public_message_block(text: str) -> str:
    """Markdown shown to a visitor: tokens and server paths removed, line breaks kept."""
    roots = _server_roots()
    return "\n".join(_redact(line, roots) for line in text.splitlines())


def public_json(obj) -> str:
    """JSON text for a visitor: tokens and server paths removed from every key and string value.

    The values are filtered, then dumped, so what comes out is always valid JSON.

    >>> public_json({"base_model": 'my base /models/"sd"', "file": "/tmp/x"})
    '{"base_model": "my base /models/\\\\"sd\\\\"", "file": "[server path]"}'
    """
    roots = _server_roots()

    def clean(value):
        if isinstance(value, str):
            return _redact(value, roots)
        if isinstance(value, dict):
            return {clean(str(k)): clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(json.loads(json.dumps(obj, default=str))))


def answer(fn=None, *, pool: str):
    """Run `fn` in the `pool` kind's workers within the time limit; every failure becomes a gr.Error of one public line.

    The limit bounds the wait, not the work: Python cannot stop a thread, so a request over the limit is answered
    and its work runs on in the pool (reads are bounded; see docs/space.md). A request still waiting for a worker
    when the limit comes is dropped, and the visitor told the Space is busy.

        @answer(pool="index")
        def search(...): ...
    """
    if pool not in _POOLS:
        raise ValueError(f"unknown pool {pool!r}; one of {', '.join(POOL_KINDS)}")
    if fn is None:
        return functools.partial(answer, pool=pool)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        future = _POOLS[pool].submit(fn, *args, **kwargs)
        try:
            return future.result(timeout=time_limit())
        except concurrent.futures.TimeoutError:
            if future.cancel():  # never started: every worker of this kind was busy the whole time
                raise gr.Error(
                    f"the Space is busy with other requests and could not start yours within {time_limit():.0f} s; "
                    "try again in a minute",
                    print_exception=False,
                ) from None
            raise gr.Error(
                f"no answer within {time_limit():.0f} s; try a smaller model, or run hfprobe on your own machine",
                print_exception=False,
            ) from None
        except gr.Error as err:
            raise gr.Error(public_message(err.message), print_exception=False) from None
        except HfprobeError as err:
            raise gr.Error(public_message(for_visitor(str(err))), print_exception=False) from None
        except Exception as err:  # a bug of ours: logged on the server, one line for the visitor
            log.error("internal error in %s", fn.__name__, exc_info=err)
            raise gr.Error(
                f"internal error ({type(err).__name__}); the server log has details, please report it",
                print_exception=False,
            ) from None

    return wrapper

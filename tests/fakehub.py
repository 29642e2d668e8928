"""A small Hub-compatible HTTP server on 127.0.0.1, for tests only.

The real Hub is out of reach here, so the tests point huggingface_hub at this server
(`HF_ENDPOINT` / `constants.ENDPOINT`) and exercise the real client code paths against it.

Read side (this file): model info, tree listing, `resolve` with HEAD and Range, whoami.
Write side: `tests/fakehub_write.py` registers more routes through `FakeHub.route(...)`.

    hub = FakeHub(tmp_path)                      # repos live under tmp_path/<org>/<name>/
    hub.add_repo("org/lora", {"pytorch_lora_weights.safetensors": b"..."})
    with hub.serving() as endpoint:              # sets huggingface_hub's endpoint for the block
        ...
    hub.requests                                 # every request seen: (method, path, headers)
    hub.honour_range = False                     # behave like servers that answer 200 to Range

Faults (tests/hub/faults.py): `hub.fault = fn(req, method, path) -> bool` sees each request first and, when
it returns True, has answered it itself (or hung up, or stalled until `hub.closing` is set at shutdown). At
shutdown the faults stop, and the server waits for hfprobe's downloads a test left under way before it goes.
`hub.push(repo_id, files)` commits new files and keeps the previous commit readable by its sha, as the Hub does.

Tokens: `hub.tokens = {"tok": "write"}`; roles "read", "write", "expired". A repo listed in
`hub.private` needs a valid token to be seen (404 otherwise, like the Hub); `hub.gated` answers 403.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

# the threads of hfprobe's side-by-side downloads (Source.prefetch's pool, transport.within)
DOWNLOAD_THREADS = ("hfprobe-prefetch", "hfprobe-download")


def _downloading(thread: threading.Thread) -> bool:
    """Whether one of hfprobe's download threads is at work: a plain one while it lives, a pool's worker while it
    runs an item (not while it waits for one, as the pool of a source still open does)."""
    if not thread.name.startswith(DOWNLOAD_THREADS) or thread is threading.current_thread():
        return False
    frame = sys._current_frames().get(thread.ident)
    pooled = False
    while frame is not None:
        if frame.f_code.co_filename.endswith(os.path.join("concurrent", "futures", "thread.py")):
            if frame.f_code.co_name == "run":
                return True
            pooled = True
        frame = frame.f_back
    return not pooled and thread.is_alive()


def _drain_downloads(seconds: float = 5.0) -> None:
    """Wait (at most `seconds`) for hfprobe's downloads a test left under way: an error can end a read while a
    companion's prefetch runs, and that thread, outliving this server and the endpoint it set, would ask the real
    endpoint, whose connect error makes huggingface_hub close the client every thread shares, under the next test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_downloading(t) for t in threading.enumerate()):
        time.sleep(0.02)
    left = [t.name for t in threading.enumerate() if _downloading(t)]
    if left:
        warnings.warn(f"hfprobe downloads under way {seconds:g} s after the test: {', '.join(left)}", stacklevel=2)


class FakeHub:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.honour_range = True
        self.tokens: dict[str, str] = {}
        self.private: set[str] = set()
        self.gated: set[str] = set()
        self.requests: list[tuple[str, str, dict]] = []
        self.bytes_sent = 0
        self.routes: list[tuple[str, re.Pattern, callable]] = []
        self._server: ThreadingHTTPServer | None = None
        self.endpoint = ""
        self.fault = None  # fn(req, method, path) -> True when it answered the request itself
        self.closing = threading.Event()  # set when serving() ends: stalled fault handlers wake up and return
        self.route("GET", r"/api/whoami-v2", self._whoami)
        self.route("GET", r"/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>.+))?", self._model_info)
        self.route("GET", r"/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", self._tree)
        self.route("GET", r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)", self._resolve)
        self.route("HEAD", r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)", self._resolve)

    # ---- repos -----------------------------------------------------------------------------------
    def add_repo(self, repo_id: str, files: dict[str, bytes | str | Path]) -> Path:
        """Create (or extend) a repo on disk; values are bytes, text, or a path to copy."""
        base = self.root / repo_id
        for name, content in files.items():
            dest = base / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                content = content.read_bytes()
            dest.write_bytes(content.encode() if isinstance(content, str) else content)
        return base

    def push(self, repo_id: str, files: dict[str, bytes | str | Path]) -> str:
        """A new commit on main with `files` added or replaced; the previous commit stays readable by its sha."""
        base = self.root / repo_id
        old = self.sha(repo_id)
        snapshot = base / ".refs" / old
        for name in self._list(base):
            dest = snapshot / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes((base / name).read_bytes())
        self.add_repo(repo_id, files)
        return self.sha(repo_id)

    def repo_dir(self, repo_id: str, revision: str | None = None) -> Path | None:
        """Folder holding a revision: `main` (or its sha) is the repo folder; `refs/pr/N` lives under
        `.refs/refs/pr/N`."""
        base = self.root / repo_id
        if not base.is_dir():
            return None
        rev = unquote(revision or "main")
        if rev == "main" or rev == self._digest(base):
            return base
        alt = base / ".refs" / rev
        return alt if alt.is_dir() else None

    @staticmethod
    def _list(folder: Path) -> list[str]:
        return sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and ".refs" not in p.relative_to(folder).parts
        )

    def _digest(self, folder: Path) -> str:
        h = hashlib.sha1(str(folder).encode())
        for name in self._list(folder):
            h.update(name.encode() + (folder / name).read_bytes())
        return h.hexdigest()

    def files(self, repo_id: str, revision: str | None = None) -> list[str]:
        folder = self.repo_dir(repo_id, revision)
        return [] if folder is None else self._list(folder)

    def sha(self, repo_id: str, revision: str | None = None) -> str:
        """A stable 40-hex commit id for a revision: a digest of its files."""
        folder = self.repo_dir(repo_id, revision)
        if folder is not None and folder.name == revision and re.fullmatch(r"[0-9a-f]{40}", revision):
            return revision  # an old commit kept by push()
        return self._digest(folder) if folder is not None else ""

    # ---- serving ---------------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler) -> None:
        """Register `handler(req, **groups) -> (status, headers, body)`; later routes win."""
        self.routes.insert(0, (method, re.compile(pattern + r"$"), handler))

    @contextlib.contextmanager
    def serving(self, port: int = 0):
        """Serve on 127.0.0.1 (`port`: 0 for any free one) and point huggingface_hub at it for the block."""
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _dispatch(self, method):
                parsed = urlparse(self.path)
                hub.requests.append((method, parsed.path, dict(self.headers)))
                length = int(self.headers.get("Content-Length") or 0)
                self.body = self.rfile.read(length) if length else b""
                self.query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
                if hub.fault is not None and not hub.closing.is_set() and hub.fault(self, method, parsed.path):
                    return
                for m, pat, handler in hub.routes:
                    match = pat.match(parsed.path)
                    if m == method and match:
                        status, headers, body = handler(self, **{k: v for k, v in match.groupdict().items()})
                        break
                else:
                    status, headers, body = 404, {"X-Error-Code": "EntryNotFound"}, b'{"error": "not found"}'
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                    headers.setdefault("Content-Type", "application/json")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, str(v))
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method != "HEAD":
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):  # the client read what it needed and left
                        return
                    hub.bytes_sent += len(body)

            def do_GET(self):
                self._dispatch("GET")

            def do_HEAD(self):
                self._dispatch("HEAD")

            def do_POST(self):
                self._dispatch("POST")

            def do_PUT(self):
                self._dispatch("PUT")

            def do_DELETE(self):
                self._dispatch("DELETE")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # a client that hung up is no server error
                import sys

                if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                    super().handle_error(request, client_address)

        self.closing.clear()
        self._server = Server(("127.0.0.1", port), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        server = self._server  # polled every 50 ms: shutdown() returns at once, not after half a second
        thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True)
        thread.start()
        from huggingface_hub import constants

        saved = (constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE)
        constants.ENDPOINT = self.endpoint
        constants.HUGGINGFACE_CO_URL_TEMPLATE = self.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
        try:
            yield self.endpoint
        finally:
            self.closing.set()  # stalled fault handlers answer now, so the downloads waiting on them end
            _drain_downloads()
            constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE = saved
            self._server.shutdown()
            self._server.server_close()
            # the connections huggingface_hub's client keeps alive to this server go too: their handler threads
            # end, and a later server that gets this port number is never sent a request meant for this one
            from huggingface_hub import close_session

            close_session()

    # ---- auth ------------------------------------------------------------------------------------
    def token_role(self, req) -> str | None:
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        return self.tokens.get(auth[7:], "invalid")

    def check_read(self, req, repo_id: str):
        """None if the request may read the repo, else the (status, headers, body) to answer."""
        role = self.token_role(req)
        if role in ("invalid", "expired"):
            return 401, {"X-Error-Message": "Invalid credentials in Authorization header"}, {"error": "Invalid token"}
        if self.repo_dir(repo_id) is None or (repo_id in self.private and role is None):
            return (
                404,
                {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
                {"error": "Repository not found"},
            )
        if repo_id in self.gated:
            return (
                403,
                {"X-Error-Code": "GatedRepo", "X-Error-Message": "Access to this repo is restricted"},
                {"error": "gated"},
            )
        return None

    # ---- handlers --------------------------------------------------------------------------------
    def _whoami(self, req):
        role = self.token_role(req)
        if role in (None, "invalid", "expired"):
            return 401, {}, {"error": "Invalid user token."}
        return 200, {}, {"type": "user", "name": "tester", "auth": {"accessToken": {"role": role}}}

    def _model_info(self, req, repo, rev=None):
        denied = self.check_read(req, repo)
        if denied:
            return denied
        if self.repo_dir(repo, rev) is None:
            return (
                404,
                {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id"},
                {"error": "Invalid rev id"},
            )
        card = {}
        folder = self.repo_dir(repo, rev)
        blobs = req.query.get("blobs", "").lower() in ("1", "true")  # files_metadata=True: sizes too, like the Hub
        readme = folder / "README.md"
        if readme.is_file():
            from huggingface_hub import metadata_load

            try:
                card = metadata_load(readme) or {}
            except Exception:  # a broken card is the repo's problem, not the server's: the Hub answers anyway
                card = {}
        return (
            200,
            {},
            {
                "id": repo,
                "modelId": repo,
                "sha": self.sha(repo, rev),
                "private": repo in self.private,
                "gated": repo in self.gated,
                "tags": card.get("tags", []),
                "cardData": card,
                "siblings": [
                    {"rfilename": f, **({"size": (folder / f).stat().st_size} if blobs else {})}
                    for f in self.files(repo, rev)
                ],
            },
        )

    def _tree(self, req, repo, rev, path=None):
        denied = self.check_read(req, repo)
        if denied:
            return denied
        folder = self.repo_dir(repo, rev)
        if folder is None:
            return 404, {"X-Error-Code": "RevisionNotFound"}, {"error": "Invalid rev id"}
        prefix = (unquote(path).rstrip("/") + "/") if path else ""
        out = []
        for name in self.files(repo, rev):
            if name.startswith(prefix):
                size = (folder / name).stat().st_size
                out.append(
                    {
                        "type": "file",
                        "path": name,
                        "size": size,
                        "oid": hashlib.sha1((folder / name).read_bytes()).hexdigest(),
                    }
                )
        return 200, {}, out

    def _resolve(self, req, repo, rev, path):
        denied = self.check_read(req, repo)
        if denied:
            return denied
        folder = self.repo_dir(repo, rev)
        if folder is None:
            return 404, {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id"}, b"Invalid rev id"
        file = folder / unquote(path)
        if not file.is_file():
            return 404, {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found"}, b"Entry not found"
        data = file.read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest() + '"'
        headers = {
            "ETag": etag,
            "X-Repo-Commit": self.sha(repo, rev),
            "Accept-Ranges": "bytes" if self.honour_range else "none",
            "Content-Type": "application/octet-stream",
        }
        rng = req.headers.get("Range")
        if rng and self.honour_range:
            m = re.match(r"bytes=(\d+)-(\d*)", rng)
            start, end = int(m.group(1)), int(m.group(2)) if m.group(2) else len(data) - 1
            if start >= len(data):
                return 416, {"Content-Range": f"bytes */{len(data)}"}, b""
            end = min(end, len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return 206, headers, data[start : end + 1]
        if req.command == "HEAD":
            headers["Content-Length"] = len(data)
            return 200, headers, b""
        return 200, headers, data

"""Write endpoints for the test Hub in tests/fakehub.py: commits, pull requests, discussions.

Shapes follow huggingface_hub's client code (`hf_api.create_commit`, `_commit_api._fetch_upload_modes`
and `_send_commit`, `get_repo_discussions`, `get_discussion_details`, `comment_discussion`,
`_validate_yaml`), so the real client runs unchanged against it.

    hub = FakeHub(tmp_path); install_write(hub)
    hub.tokens = {"w": "write", "r": "read", "old": "expired"}
    with hub.serving():
        HfApi(token="w").create_commit("org/m", [...], commit_message="t", create_pr=True)
    hub.discussions["org/m"]          # [{num, title, description, author, isPullRequest, status, events}]
    hub.files("org/m", "refs/pr/1")   # the PR branch's files (stored under <repo>/.refs/refs/pr/1)
    hub.fail_commit = True            # next commit answers 500 (a network failure mid-way)

Tokens: no token or an unknown/expired one -> 401; a "read" token on a write route -> 403
(as on the Hub: "You don't have the rights"). Only regular (non-LFS) files are accepted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from urllib.parse import unquote

import yaml
from huggingface_hub.repocard import REGEX_YAML_BLOCK

_NOW = "2026-01-01T00:00:00.000Z"


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _apply_operations(target, lines: list[dict]) -> dict[str, bytes] | None:
    """Write a commit's file and deletedFile operations under `target`; returns path -> bytes written, or None when
    the commit carries an LFS file (which this server does not take)."""
    written = {}
    for op in lines:
        if op["key"] == "file":
            data = base64.b64decode(op["value"]["content"])
            (target / op["value"]["path"]).parent.mkdir(parents=True, exist_ok=True)
            (target / op["value"]["path"]).write_bytes(data)
            written[op["value"]["path"]] = data
        elif op["key"] == "deletedFile":
            (target / op["value"]["path"]).unlink(missing_ok=True)
        elif op["key"] == "lfsFile":
            return None
    return written


def install_write(hub) -> None:
    """Register the write routes on `hub` (a tests.fakehub.FakeHub) and add its write state."""
    hub.discussions = {}
    hub.commits = []  # (repo_id, revision, summary, description, {path: bytes})
    hub.fail_commit = False

    def user(req):
        role = hub.token_role(req)
        return "tester" if role in ("read", "write") else None

    def check_write(req, repo):
        role = hub.token_role(req)
        if role is None or role in ("invalid", "expired"):
            return (
                401,
                {"X-Error-Message": "Invalid credentials in Authorization header"},
                {"error": "Invalid credentials"},
            )
        denied = hub.check_read(req, repo)
        if denied:
            return denied
        if role != "write":
            msg = "You don't have the rights to create a pull request on this repo"
            return 403, {"X-Error-Message": msg}, {"error": msg}
        return None

    def validate_yaml(req):
        content = json.loads(req.body or b"{}").get("content", "")
        match = REGEX_YAML_BLOCK.search(content)
        if match:
            try:
                data = yaml.safe_load(match.group(2))
            except yaml.YAMLError as err:
                return 400, {}, {"errors": [{"message": f"Invalid YAML: {err}"}], "warnings": []}
            if data is not None and not isinstance(data, dict):
                return 400, {}, {"errors": [{"message": "metadata must be a mapping"}], "warnings": []}
        return 200, {}, {"errors": [], "warnings": []}

    def preupload(req, repo, rev):
        denied = check_write(req, repo)
        if denied:
            return denied
        folder = hub.repo_dir(repo, unquote(rev)) or hub.repo_dir(repo)
        files = []
        for f in json.loads(req.body)["files"]:
            existing = folder / f["path"]
            oid = _git_oid(existing.read_bytes()) if existing.is_file() else None
            mode = "lfs" if f["size"] > 10 * 1024 * 1024 else "regular"
            files.append({"path": f["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        return 200, {}, {"files": files, "commitOid": hub.sha(repo)}

    def new_discussion(repo, title, description, is_pr, author):
        items = hub.discussions.setdefault(repo, [])
        num = len(items) + 1
        item = {
            "num": num,
            "title": title,
            "description": description,
            "author": author,
            "isPullRequest": is_pr,
            "status": "open",
            "createdAt": _NOW,
            "events": [
                {
                    "id": f"ev{num}0",
                    "type": "comment",
                    "createdAt": _NOW,
                    "author": {"name": author},
                    "data": {"edited": False, "hidden": False, "latest": {"raw": description}},
                }
            ],
        }
        items.append(item)
        return item

    def commit(req, repo, rev):
        denied = check_write(req, repo)
        if denied:
            return denied
        if hub.fail_commit:
            hub.fail_commit = False
            return 500, {}, {"error": "connection reset while committing"}
        lines = [json.loads(line) for line in req.body.splitlines() if line.strip()]
        header = next(item["value"] for item in lines if item["key"] == "header")
        rev = unquote(rev)
        if req.query.get("create_pr") == "1":
            item = new_discussion(repo, header["summary"], header.get("description", ""), True, user(req))
            target = hub.root / repo / ".refs" / "refs" / "pr" / str(item["num"])
            base = hub.repo_dir(repo)
            for name in hub.files(repo):
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(base / name, target / name)
            rev = f"refs/pr/{item['num']}"
        else:
            target = hub.repo_dir(repo, rev)
            if target is None:
                return (
                    404,
                    {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id"},
                    {"error": "Invalid rev id"},
                )
            item = None
            if rev.startswith("refs/pr/"):
                item = hub.discussions.get(repo, [])[int(rev.rsplit("/", 1)[1]) - 1]
                if item["status"] != "open":
                    return 400, {}, {"error": "This pull request is not open"}
        written = _apply_operations(target, lines)
        if written is None:
            return 400, {}, {"error": "this test server takes no LFS files"}
        oid = hub.sha(repo, rev) if rev != "main" else hub.sha(repo)
        hub.commits.append((repo, rev, header["summary"], header.get("description", ""), written))
        if item is not None:
            item["events"].append(
                {
                    "id": f"c{len(hub.commits)}",
                    "type": "commit",
                    "createdAt": _NOW,
                    "author": {"name": user(req)},
                    "data": {"subject": header["summary"], "oid": oid},
                }
            )
        out = {"commitUrl": f"{hub.endpoint}/{repo}/commit/{oid}", "commitOid": oid, "success": True}
        out["pullRequestUrl"] = f"{hub.endpoint}/{repo}/discussions/{item['num']}" if item else None
        return 200, {}, out

    def _public(repo, item):
        keys = ("num", "title", "status", "isPullRequest", "createdAt")
        return {
            **{k: item[k] for k in keys},
            "author": {"name": item["author"]},
            "repo": {"name": repo, "type": "model"},
        }

    def list_discussions(req, repo):
        denied = hub.check_read(req, repo)
        if denied:
            return denied
        items = [
            d
            for d in hub.discussions.get(repo, [])
            if (not req.query.get("author") or d["author"] == req.query["author"])
            and (req.query.get("status") in (None, "all") or d["status"] == req.query["status"])
            and (req.query.get("type") in (None, "all") or d["isPullRequest"] == (req.query["type"] == "pull_request"))
        ]
        page = int(req.query.get("p", 0))
        chunk = items[page * 50 : page * 50 + 50]
        return (
            200,
            {},
            {
                "discussions": [_public(repo, d) for d in reversed(chunk)],
                "count": len(items),
                "start": page * 50,
                "numClosedDiscussions": 0,
            },
        )

    def create_discussion(req, repo):
        denied = check_write(req, repo)
        if denied:
            return denied
        body = json.loads(req.body)
        item = new_discussion(
            repo, body["title"], body.get("description", ""), bool(body.get("pullRequest")), user(req)
        )
        return 200, {}, {"num": item["num"], "url": f"{hub.endpoint}/{repo}/discussions/{item['num']}"}

    def details(req, repo, num):
        denied = hub.check_read(req, repo)
        if denied:
            return denied
        items = hub.discussions.get(repo, [])
        if not 0 < int(num) <= len(items):
            return 404, {"X-Error-Message": "Discussion not found"}, {"error": "Discussion not found"}
        item = items[int(num) - 1]
        return (
            200,
            {},
            {
                **_public(repo, item),
                "events": item["events"],
                "changes": {"base": "refs/heads/main"},
                "filesWithConflicts": [],
                "diff": "",
            },
        )

    def comment(req, repo, num):
        denied = check_write(req, repo)
        if denied:
            return denied
        item = hub.discussions.get(repo, [])[int(num) - 1]
        raw = json.loads(req.body)["comment"]
        event = {
            "id": f"m{len(item['events'])}",
            "type": "comment",
            "createdAt": _NOW,
            "author": {"name": user(req)},
            "data": {"edited": False, "hidden": False, "latest": {"raw": raw}},
        }
        item["events"].append(event)
        return 200, {}, {"newMessage": event}

    def list_models(req):
        """GET /api/models?filter=...: tags derived from each main card like the Hub does (base_model:<rel>:<id>)."""
        from huggingface_hub import metadata_load

        wanted = req.query.get("filter")
        out = []
        for base in sorted(p for p in hub.root.glob("*/*") if p.is_dir()):
            repo = f"{base.parent.name}/{base.name}"
            if repo in hub.private:
                continue
            try:
                meta = (metadata_load(base / "README.md") if (base / "README.md").is_file() else None) or {}
            except (yaml.YAMLError, ValueError):  # the Hub lists repos with broken cards too, without card tags
                meta = {}
            tags = list(meta.get("tags") or [])
            for b in [meta["base_model"]] if isinstance(meta.get("base_model"), str) else meta.get("base_model") or []:
                tags += [f"base_model:{b}", f"base_model:{meta.get('base_model_relation', 'finetune')}:{b}"]
            if wanted is None or wanted in tags:
                out.append({"id": repo, "modelId": repo, "tags": tags, "private": False})
        return 200, {}, out[: int(req.query.get("limit", 1000))]

    repo_re = r"(?P<repo>[^/]+/[^/]+)"
    hub.route("GET", r"/api/models", list_models)
    hub.route("POST", r"/api/validate-yaml", validate_yaml)
    hub.route("POST", rf"/api/models/{repo_re}/preupload/(?P<rev>[^/]+)", preupload)
    hub.route("POST", rf"/api/models/{repo_re}/commit/(?P<rev>[^/]+)", commit)
    hub.route("GET", rf"/api/models/{repo_re}/discussions", list_discussions)
    hub.route("POST", rf"/api/models/{repo_re}/discussions", create_discussion)
    hub.route("GET", rf"/api/models/{repo_re}/discussions/(?P<num>\d+)", details)
    hub.route("POST", rf"/api/models/{repo_re}/discussions/(?P<num>\d+)/comment", comment)
    _install_repos(hub, check_write)
    _install_pr_checks(hub)


def _install_repos(hub, check_write) -> None:
    """Repo creation (models and Spaces) and Space commits, as `HfApi.create_repo` / `create_commit` send them.

    Spaces live beside the model repos, under `hub.space_root/<org>/<name>`; `hub.created` records each
    create payload (type, sdk, visibility); `hub.space_files(repo)` lists a Space's files.
    """
    from pathlib import Path

    hub.space_root = Path(str(hub.root) + "-spaces")
    hub.created = []
    hub.space_files = lambda repo: hub._list(hub.space_root / repo) if (hub.space_root / repo).is_dir() else []

    def create_repo(req):
        body = json.loads(req.body)
        role = hub.token_role(req)
        if role != "write":
            return 401 if role in (None, "invalid", "expired") else 403, {}, {"error": "You don't have the rights"}
        repo = f"{body.get('organization') or 'tester'}/{body['name']}"
        kind = body.get("type") or "model"
        folder = (hub.space_root if kind == "space" else hub.root) / repo
        if kind == "space" and body.get("sdk") not in ("gradio", "docker", "static"):
            return 400, {}, {"error": "Invalid sdk"}
        hub.created.append(body)
        url = f"{hub.endpoint}/{'spaces/' if kind == 'space' else ''}{repo}"
        if folder.is_dir():  # the Hub answers 409 with the repo's url (create_repo(exist_ok=True) reads it)
            return 409, {"X-Error-Message": "You already created this repo"}, {"error": "exists", "url": url}
        folder.mkdir(parents=True)
        if body.get("visibility") == "private":
            hub.private.add(repo)
        return 200, {}, {"url": url, "name": repo}

    def space_denied(req, repo):
        role = hub.token_role(req)
        if role is None or role in ("invalid", "expired"):
            return 401, {"X-Error-Message": "Invalid credentials in Authorization header"}, {"error": "Invalid"}
        if not (hub.space_root / repo).is_dir():
            return 404, {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"}, {"error": "nf"}
        if role != "write":
            return 403, {"X-Error-Message": "You don't have the rights"}, {"error": "no rights"}
        return None

    def space_preupload(req, repo, rev):
        denied = space_denied(req, repo)
        if denied:
            return denied
        folder = hub.space_root / repo
        files = []
        for f in json.loads(req.body)["files"]:
            existing = folder / f["path"]
            oid = _git_oid(existing.read_bytes()) if existing.is_file() else None
            mode = "lfs" if f["size"] > 10 * 1024 * 1024 else "regular"
            files.append({"path": f["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        return 200, {}, {"files": files, "commitOid": hub._digest(folder)}

    def space_commit(req, repo, rev):
        denied = space_denied(req, repo)
        if denied:
            return denied
        lines = [json.loads(line) for line in req.body.splitlines() if line.strip()]
        header = next(item["value"] for item in lines if item["key"] == "header")
        target = hub.space_root / repo
        written = _apply_operations(target, lines)
        if written is None:
            return 400, {}, {"error": "this test server takes no LFS files"}
        hub.commits.append((f"spaces/{repo}", unquote(rev), header["summary"], header.get("description", ""), written))
        oid = hub._digest(target)
        return 200, {}, {"commitUrl": f"{hub.endpoint}/spaces/{repo}/commit/{oid}", "commitOid": oid, "success": True}

    def space_tree(req, repo, rev, path=None):
        denied = space_denied(req, repo)
        if denied and denied[0] != 403:
            return denied
        folder = hub.space_root / repo
        return (
            200,
            {},
            [
                {
                    "type": "file",
                    "path": n,
                    "size": (folder / n).stat().st_size,
                    "oid": _git_oid((folder / n).read_bytes()),
                }
                for n in hub._list(folder)
            ],
        )

    def space_resolve(req, repo, rev, path):
        denied = space_denied(req, repo)
        if denied and denied[0] != 403:
            return denied
        file = hub.space_root / repo / unquote(path)
        if not file.is_file():
            return 404, {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found"}, b"Entry not found"
        data = file.read_bytes()
        headers = {
            "ETag": '"' + hashlib.sha256(data).hexdigest() + '"',
            "X-Repo-Commit": hub._digest(hub.space_root / repo),
            "Content-Type": "application/octet-stream",
        }
        if req.command == "HEAD":
            headers["Content-Length"] = len(data)
            return 200, headers, b""
        return 200, headers, data

    repo_re = r"(?P<repo>[^/]+/[^/]+)"
    hub.route("GET", rf"/spaces/{repo_re}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", space_resolve)
    hub.route("HEAD", rf"/spaces/{repo_re}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", space_resolve)
    hub.route("POST", r"/api/repos/create", create_repo)
    hub.route("POST", rf"/api/spaces/{repo_re}/preupload/(?P<rev>[^/]+)", space_preupload)
    hub.route("POST", rf"/api/spaces/{repo_re}/commit/(?P<rev>[^/]+)", space_commit)
    hub.route("GET", rf"/api/spaces/{repo_re}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", space_tree)


def _install_pr_checks(hub) -> None:
    """What the Hub checks before a commit or pull request, beyond the token's role.

    `hub.discussions_disabled`: repos whose owner turned discussions (and so pull requests) off: 403.
    `hub.fine_grained = {token: {"repo": perms}}`: fine-grained tokens (role "write" in `hub.tokens`); whoami
    reports them as the Hub does (role fineGrained, scoped permissions) and a pull request without
    `discussion.write` (or `repo.write`) on the repo answers 403.
    `hub.parent_commits`: the parentCommit of each commit; on a branch commit (not create_pr) it must be the
    branch head, else 412, as on the Hub.
    """
    hub.discussions_disabled = set()
    hub.fine_grained = {}
    hub.parent_commits = []
    commit_route = next(
        h for m, pat, h in hub.routes if m == "POST" and "/commit/" in pat.pattern and "models" in pat.pattern
    )

    def token(req):
        auth = req.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    def whoami(req):
        scoped = hub.fine_grained.get(token(req))
        if scoped is None:
            return hub._whoami(req)
        items = [{"entity": {"type": "model", "name": repo}, "permissions": perms} for repo, perms in scoped.items()]
        access = {"role": "fineGrained", "fineGrained": {"global": [], "scoped": items}}
        return 200, {}, {"type": "user", "name": "tester", "auth": {"accessToken": access}}

    def commit(req, repo, rev):
        lines = [json.loads(line) for line in req.body.splitlines() if line.strip()]
        header = next((item["value"] for item in lines if item["key"] == "header"), {})
        create_pr = req.query.get("create_pr") == "1" or unquote(rev).startswith("refs/pr/")
        if create_pr and repo in hub.discussions_disabled:
            msg = "Discussions are disabled for this repo"
            return 403, {"X-Error-Message": msg}, {"error": msg}
        scoped = hub.fine_grained.get(token(req))
        if create_pr and scoped is not None and not {"discussion.write", "repo.write"} & set(scoped.get(repo, [])):
            msg = "This fine-grained token does not have the discussion.write permission for this repo"
            return 403, {"X-Error-Message": msg}, {"error": msg}
        parent = header.get("parentCommit")
        hub.parent_commits.append((repo, unquote(rev), parent))
        if parent and req.query.get("create_pr") != "1" and parent != hub.sha(repo, unquote(rev)):
            msg = "A commit has happened since. Please refresh and try again."
            return 412, {"X-Error-Message": msg}, {"error": msg}
        return commit_route(req, repo, rev)

    repo_re = r"(?P<repo>[^/]+/[^/]+)"
    hub.route("GET", r"/api/whoami-v2", whoami)
    hub.route("POST", rf"/api/models/{repo_re}/commit/(?P<rev>[^/]+)", commit)

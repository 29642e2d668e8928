"""Write what the weights say into model cards: a local folder, a Hub repo (as a pull request), or many.

    annotate_folder("./my-lora")                        # README.md rewritten atomically, under a lock
    annotate_folder("./my-lora", dry_run=True)          # prints a unified diff, writes nothing
    annotate_repo("org/lora", out="cards/")             # Hub repo, card written to cards/org/lora/README.md
    annotate_repo("org/lora", push=True)                # opens (or updates) one pull request on the Hub

Many at once: `cards.batch.annotate_batch`.

Every call returns a `Result` whose `.line()` is the per-repo line the CLI prints. Nothing is
half-written: local cards are written to a temp file in the same folder and renamed over the old one
(`os.replace`), under a lock (filelock) keyed by the card's path, so two runs at once serialise; on the
Hub a commit is all-or-nothing. Tokens are never put into messages (`hfprobe.source.hub.scrub`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

from ..config import write_atomic
from ..errors import (
    CardError,
    ExpertError,
    OutputPathError,
    SourceNotFoundError,
    UsageError,
)
from ..source.hub import hub_errors
from ..source.transport import hub_read
from .card import CardUpdate, decode_card, same_findings, update_card, validate_card
from .pull_request import (
    PR_TITLE,
    RateLimiter,
    check_write_token,
    hub_readme,
    others_setting_base_model,
    our_prs,
    pr_body,
)

LOCK_TIMEOUT_S = 600.0
CACHE_SNAPSHOT = re.compile(r"(^|/)models--[^/]+/snapshots/[^/]+(/|$)")  # a repo's revision in huggingface_hub's cache


@dataclasses.dataclass
class Result:
    """What happened to one target. status: annotated | unchanged | would-change | skipped | failed."""

    target: str
    status: str
    reason: str = ""
    written: str | None = None  # a path, or a pull request URL
    base_model_action: str | None = None
    conflicts: list[str] = dataclasses.field(default_factory=list)
    diff: str = ""
    revision_sha: str | None = None  # Hub repos: the commit the weights and the card were read at

    def line(self) -> str:
        """One line for humans, e.g. `org/lora: annotated (https://…/discussions/3)`."""
        tail = f": {self.reason}" if self.reason else ""
        where = f" ({self.written})" if self.written else ""
        return f"{self.target}: {self.status}{tail}{where}"

    def to_json(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "diff"}


def _card_blind_source(spec, token: str | None):
    """A Source whose README.md reads without hfprobe's own block and section, so a rerun does not
    take our earlier words (our `base_model`, a conflict we quoted) for the author's claims."""
    from ..source.resolve import resolve
    from .card import strip_generated

    src = resolve(spec, token=token)
    original = src.read_text

    def read_text(name: str):
        text = original(name)
        return strip_generated(text) if text and name.rsplit("/", 1)[-1] == "README.md" else text

    src.read_text = read_text
    return src


def _default_inspect(spec: str, token: str | None) -> dict:
    from ..tree.inspect import inspect_source

    with _card_blind_source(spec, token) as src:
        return inspect_source(src, token=token)


def _default_predict(spec: str, token: str | None) -> dict | None:
    """Predictions, or a dict with a plain status when no expert can speak for this tree."""
    try:
        from ..experts.expert import default_experts_dir
        from ..experts.predict import predict
    except ImportError:
        return None
    where = default_experts_dir()
    if not where.is_dir() or not any(where.iterdir()):
        return {
            "predictions": [],
            "status": "no category prediction is available for this tree "
            f"(no trained expert; none installed in {where.name}/)",
        }
    try:
        out = predict(_card_blind_source(spec, token), token=token)
    except ExpertError as err:  # no trained expert: the card says so, nothing is guessed
        return {"predictions": [], "status": f"no category prediction is available for this tree ({err})"}
    if not out.get("predictions"):
        reason = (out.get("routing") or {}).get("reason") or "no trained expert for this tree"
        out["status"] = f"no category prediction is available for this tree ({reason})"
    return out


def findings(
    spec: str, *, token: str | None = None, inspect_fn: Callable | None = None, predict_fn: Callable | None = None
) -> tuple[dict, dict | None]:
    """(inspect report, predictions or None) for a spec; the functions can be swapped in tests."""
    report = (inspect_fn or _default_inspect)(spec, token)
    predictions = (predict_fn or _default_predict)(spec, token)
    return report, predictions


def diff_text(old: str, new: str, name: str) -> str:
    """A unified diff of two card texts (what `--dry-run` prints)."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"a/{name}", tofile=f"b/{name}"
        )
    )


def _read_card(path: Path) -> tuple[str | None, str]:
    """The card's text (None: no card) and the encoding it was saved in (`decode_card`)."""
    return decode_card(path.read_bytes(), str(path)) if path.is_file() else (None, "UTF-8")


@contextlib.contextmanager
def card_lock(path: Path | str, timeout: float = LOCK_TIMEOUT_S):
    """A lock per card: a local path, or a Hub repo's pull request (`hub:<endpoint>/<repo>`), so two runs
    on this machine never both open a PR for one repo. It lives in the temp dir, not beside the card, so
    nothing extra lands in the model folder, and it is never deleted (deleting a lock file others wait on
    breaks exclusion)."""
    folder = Path(tempfile.gettempdir()) / "hfprobe-locks"
    folder.mkdir(parents=True, exist_ok=True)
    name = path if isinstance(path, str) else str(path.resolve())
    key = hashlib.sha256(name.encode()).hexdigest()[:32]
    lock = FileLock(folder / f"{key}.lock", timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise CardError(
            f"{path}: another hfprobe annotate run holds its lock for over {timeout:.0f} s; "
            "wait for it to finish and rerun"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _result(
    target: str, upd: CardUpdate, status: str, written: str | None = None, diff: str = "", sha: str | None = None
) -> Result:
    return Result(target, status, "; ".join(upd.notes), written, upd.base_model_action, upd.conflicts, diff, sha)


def annotate_folder(
    path: str | os.PathLike,
    *,
    dry_run: bool = False,
    fix_base_model: bool = False,
    display: str | None = None,
    inspect_fn: Callable | None = None,
    predict_fn: Callable | None = None,
    today: str | None = None,
) -> Result:
    """Annotate the README.md of a local model folder (or of the folder holding a weights file).

    >>> annotate_folder("./my-lora", dry_run=True).status        # doctest: +SKIP
    'would-change'
    """
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    if not folder.is_dir():
        raise SourceNotFoundError(f"{path}: no such folder; give a model folder or weights file")
    readme = folder / "README.md"
    target = display or str(path)
    if not dry_run and CACHE_SNAPSHOT.search(folder.resolve().as_posix()):
        # the cache holds a revision's files as they are: a card written there would be that revision's no longer
        from ..tree.naming import named_hub_id

        repo = named_hub_id(folder.resolve().as_posix()) or "ORG/NAME"
        raise CardError(
            f"{folder}: a huggingface_hub cache snapshot of {repo}, which annotate does not write into: run "
            f"`hfprobe annotate {repo} --out DIR` (or --push), or annotate a copy (`cp -rL`)"
        )
    if not dry_run and (readme.is_symlink() or (readme.exists() and not readme.is_file())):
        # a link (a huggingface_hub cache snapshot's files all are, into blobs other revisions share) or a pipe:
        # written in place, the link would become a file and the snapshot no longer its revision
        what = f"a link to {os.readlink(readme)}" if readme.is_symlink() else "not a regular file"
        raise CardError(
            f"{readme}: {what}; annotate writes the card in place: copy the model folder (links resolved, "
            "`cp -rL`) and annotate the copy, or use --dry-run"
        )
    with card_lock(readme):
        old, encoding = _read_card(readme)
        validate_card(old, str(readme))  # a broken card fails before the (slower) weights are read
        report, predictions = findings(str(path), inspect_fn=inspect_fn, predict_fn=predict_fn)
        upd = update_card(
            old,
            dict(report, source=target),
            predictions,
            fix_base_model=fix_base_model,
            today=today,
            name=str(readme),
            encoding=encoding,
        )
        if not upd.changed:
            return _result(target, upd, "unchanged")
        if dry_run:
            return _result(target, upd, "would-change", diff=diff_text(old or "", upd.text, "README.md"))
        if not os.access(folder, os.W_OK) or _read_only(folder):
            raise CardError(f"{readme}: folder is not writable; copy the model folder or use --dry-run")
        if readme.exists() and (not os.access(readme, os.W_OK) or _read_only(readme)):
            raise CardError(
                f"{readme}: read-only (mode {readme.stat().st_mode & 0o777:o}); annotate leaves it as it is: make it "
                "writable (`chmod u+w`) or annotate a copy, or use --dry-run"
            )
        try:
            write_atomic(readme, upd.text)
        except OSError as err:  # root passes os.access; an immutable folder or a full disk does not
            raise CardError(
                f"{readme}: cannot write ({err.strerror}); copy the model folder somewhere writable or use --dry-run"
            ) from None
        return _result(target, upd, "annotated", str(readme))


def _read_only(path: Path) -> bool:
    """Whether a file or folder is marked read-only for everyone by its mode, which root's writes would pass over
    (`os.access` says yes to root): a card or model folder someone protected is left as it is."""
    return not path.stat().st_mode & 0o222


def annotate_repo(
    repo_id: str,
    *,
    push: bool = False,
    out: str | os.PathLike | None = None,
    token: str | None = None,
    dry_run: bool = False,
    fix_base_model: bool = False,
    inspect_fn: Callable | None = None,
    predict_fn: Callable | None = None,
    today: str | None = None,
    limiter: RateLimiter | None = None,
    revision: str | None = None,
) -> Result:
    """Annotate a Hub repo: into `out/<org>/<name>/README.md`, or with `push=True` as one pull request.

    `revision` (a branch, tag or commit; not with `push`, which always proposes a change to main) reads
    the weights and the card at that revision for `out` and `dry_run`.

    The card is read at the commit `model_info` names, and the pull request is opened from that commit
    (`parent_commit`), so a push in between cannot be overwritten. With `push=True` a pull request is
    opened or updated only when the card's metadata or findings change (not for a new hfprobe version or
    date alone), never beside another author's open pull request that sets `base_model`, and never again
    after a maintainer closed ours. `limiter` spaces the writes of a batch.
    """
    from huggingface_hub import HfApi, HfUri, get_token

    if not push and out is None and not dry_run:
        raise UsageError(f"{repo_id}: a Hub repo needs --push (open a pull request) or --out DIR (write locally)")
    if revision and push:
        raise UsageError(
            f"{repo_id}@{revision}: a pull request proposes a change to main; drop the revision to "
            "--push, or use --out DIR / --dry-run to annotate that revision"
        )
    token = token or get_token()
    api = HfApi(token=token)
    with hub_errors(repo_id, token=token, write=push):
        user = check_write_token(api, repo_id, token) if push and not dry_run else None
        # not found / gated / private fail here, before any work
        sha = hub_read(repo_id, lambda: api.model_info(repo_id, revision=revision).sha)
        old, encoding = hub_readme(api, repo_id, sha or revision or "main")
        validate_card(old, f"{repo_id}/README.md")
        # the weights read at the card's commit, and from the Hub whatever the local disk holds (a webhook names the
        # repo: a server never reads a path a remote user names, even one spelt org/name@sha)
        pinned = HfUri(type="model", id=repo_id, revision=sha or revision, path_in_repo="").to_uri()
        report, predictions = findings(pinned, token=token, inspect_fn=inspect_fn, predict_fn=predict_fn)
        upd = update_card(
            old,
            dict(report, source=repo_id),
            predictions,
            fix_base_model=fix_base_model,
            today=today,
            name=f"{repo_id}/README.md",
            repo_id=repo_id,
            encoding=encoding,
        )
        if dry_run:
            status = "would-change" if upd.changed else "unchanged"
            return _result(repo_id, upd, status, diff=diff_text(old or "", upd.text, "README.md"), sha=sha)
        if push:
            with card_lock(f"hub:{api.endpoint}/{repo_id}"):  # find-or-open the PR: one run at a time per repo
                return _push(api, repo_id, user, old, upd, report, sha, limiter)
        if not upd.changed:
            return _result(repo_id, upd, "unchanged", sha=sha)
    # the local write is outside hub_errors: an error writing --out is the disk's, never the network's
    dest = Path(out) / repo_id / "README.md"
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with card_lock(dest):
            write_atomic(dest, upd.text)
    except OSError as err:
        raise OutputPathError(
            f"--out {out}: cannot write {dest} ({err.strerror}); pass a writable folder with --out"
        ) from None
    return _result(repo_id, upd, "annotated", str(dest), sha=sha)


def _push(
    api, repo_id: str, user: str, old: str | None, upd, report: dict, sha: str | None, limiter: RateLimiter | None
) -> Result:
    """Commit the card to our open pull request, or open one; never reopen one a maintainer closed."""
    from huggingface_hub import CommitOperationAdd

    open_pr, closed = our_prs(api, repo_id, user)
    if open_pr is not None:
        current, _ = hub_readme(api, repo_id, f"refs/pr/{open_pr.num}")
        if same_findings(current, upd.text):  # the open PR already says this: nothing to add
            return _result(repo_id, upd, "unchanged", open_pr.url, sha=sha)
        pr_sha = hub_read(repo_id, lambda: api.model_info(repo_id, revision=f"refs/pr/{open_pr.num}").sha)
        (limiter or RateLimiter()).wait()
        api.create_commit(
            repo_id,
            [CommitOperationAdd("README.md", upd.text.encode("utf-8"))],
            commit_message="hfprobe: update the weight-derived card metadata",
            commit_description=pr_body(repo_id, upd, report),
            revision=f"refs/pr/{open_pr.num}",
            parent_commit=pr_sha or None,
        )
        return _result(repo_id, upd, "annotated", open_pr.url, sha=sha)
    if not upd.changed or same_findings(old, upd.text):
        return _result(repo_id, upd, "unchanged", sha=sha)
    if closed is not None:
        return Result(repo_id, "skipped", f"our earlier pull request #{closed.num} was closed; not reopening")
    if upd.base_model_action in ("added", "replaced"):
        others = others_setting_base_model(api, repo_id, user, old)
        if others:
            num, author, ids = others[0]
            return Result(
                repo_id,
                "skipped",
                f"open pull request #{num} by {author} already proposes base_model {', '.join(ids)}; "
                "not opening a competing one",
                base_model_action=upd.base_model_action,
            )
    (limiter or RateLimiter()).wait()
    info = api.create_commit(
        repo_id,
        [CommitOperationAdd("README.md", upd.text.encode("utf-8"))],
        commit_message=PR_TITLE,
        commit_description=pr_body(repo_id, upd, report),
        create_pr=True,
        parent_commit=sha or None,
    )
    return _result(repo_id, upd, "annotated", info.pr_url, sha=sha)

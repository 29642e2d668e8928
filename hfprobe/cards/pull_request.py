"""The Hub side of `annotate --push`: the pull request's text, finding ours and others' open pull requests,
checking a write token (read-only, fine-grained scopes) before any work, and spacing a batch's writes.

    >>> RateLimiter(0).wait()      # no interval: returns at once
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from .. import __version__
from ..errors import (
    HubWriteError,
)
from ..source.transport import hub_read
from .card import CardUpdate, decode_card

PR_TITLE = "hfprobe: model tree and weight-derived metadata for the model card"


def hub_readme(api, repo_id: str, revision: str = "main") -> tuple[str | None, str]:
    """The card's text (None if the repo has no README.md) and its encoding (`decode_card`). Only a *remote*
    'entry not found' means no card: LocalEntryNotFoundError (same base class) is a network failure."""
    from huggingface_hub.errors import RemoteEntryNotFoundError

    try:
        path = hub_read(f"{repo_id}/README.md", lambda: api.hf_hub_download(repo_id, "README.md", revision=revision))
    except RemoteEntryNotFoundError:
        return None, "UTF-8"
    return decode_card(Path(path).read_bytes(), f"{repo_id}/README.md")


def pr_body(repo_id: str, upd: CardUpdate, report: dict) -> str:
    """The pull request description: what was found, how, and how to reject it."""
    root = report.get("root") or {}
    lines = [
        f"This pull request was opened by hfprobe {__version__}, a tool that reads a model's "
        "weights and says which foundation model it descends from and what it was fine-tuned on.",
        "",
        "**What was found**",
        f"- Tree read from the weights: `{root.get('id') or 'unknown'}` "
        f"(confidence: {root.get('confidence')}; format `{report.get('format')}`, family `{report.get('family')}`).",
    ]
    action = {
        "added": f"added `base_model: {upd.base_model}` and its relation (the card declared none; "
        "the weights and the metadata agree on it)",
        "conflict": "the card's declared `base_model` contradicts the weights; it was NOT changed, "
        "the conflict is described in the card",
        "replaced": "the card's declared `base_model` contradicted the weights and was replaced "
        "(run with `--fix-base-model`)",
        "agrees": "the card's `base_model` agrees with the weights; it was not touched",
        "kept": "the card's `base_model` was kept as declared",
        "none": "no `base_model` was set: the weights do not single one out and no metadata names one "
        "(the candidates are listed in the card)",
    }[upd.base_model_action]
    if upd.relation_added:  # beside the author's base_model: how the model descends, which the Hub would not infer
        action += f"; `base_model_relation: {upd.relation_added}` was added, which the Hub does not infer here"
    lines.append(f"- Metadata: {action}.")
    lines += [f"- Conflict: {c}" for c in upd.conflicts]
    lines += [
        "",
        "**How**",
        "hfprobe reads the safetensors header (tensor names and shapes) and, where needed, a few tensors "
        "with ranged requests; it matches layer shapes and key layouts against known roots and, where "
        "an expert for that tree exists, probes one layer's weights (ProbeX, CVPR 2025). "
        f"Reproduce with `hfprobe inspect {repo_id}` and `hfprobe predict {repo_id}`.",
        "",
        "**What changes**",
        "Only `README.md`: a short `hfprobe:` block at the end of the YAML metadata (between `# >>> hfprobe` "
        "and `# <<< hfprobe`), `base_model` where stated above, and a section between `<!-- hfprobe:start -->` "
        "and `<!-- hfprobe:end -->`. Everything else in the card is byte-identical.",
        "",
        "**How to reject it**",
        "Close this pull request. hfprobe will not open another one on this repo while a closed one "
        "from this account exists. If you merge it and change your mind, delete the marked block and section.",
    ]
    return "\n".join(lines)


def our_prs(api, repo_id: str, user: str) -> tuple[object | None, object | None]:
    """(our open PR, our closed PR) found by author and title."""
    open_pr = closed = None
    discussions = hub_read(
        repo_id, lambda: list(api.get_repo_discussions(repo_id, author=user, discussion_type="pull_request"))
    )
    for disc in discussions:
        if disc.title != PR_TITLE:
            continue
        if disc.status == "open" and open_pr is None:
            open_pr = disc
        elif disc.status in ("closed",) and closed is None:
            closed = disc
    return open_pr, closed


MAX_OTHER_PRS = 20  # open pull requests of other authors read per repo (newest first)


def _base_model_of(text: str | None) -> list[str]:
    """The base_model ids a card's metadata declares ([] for none, or for a card that does not parse)."""
    from huggingface_hub import ModelCard

    from .section import ids_of

    try:
        card = ModelCard((text or "").removeprefix("\ufeff"), ignore_metadata_errors=True)  # a BOM hides nothing
        return ids_of(card.data.base_model)
    except Exception:  # noqa: BLE001 - a card we cannot read sets nothing we can see
        return []


def others_setting_base_model(
    api, repo_id: str, user: str | None, main_text: str | None
) -> list[tuple[int, str, list[str]]]:
    """Open pull requests by other authors whose card sets a base_model the main card does not have:
    [(number, author, their base_model ids)], so hfprobe never competes with a person's proposal."""
    mine = _base_model_of(main_text)
    found = []

    def newest():  # the listing pages lazily: each try starts it afresh
        prs = api.get_repo_discussions(repo_id, discussion_type="pull_request", discussion_status="open")
        return list(itertools.islice(prs, MAX_OTHER_PRS))

    for disc in hub_read(repo_id, newest):
        if disc.author == user and disc.title == PR_TITLE:
            continue
        theirs = _base_model_of(hub_readme(api, repo_id, f"refs/pr/{disc.num}")[0])
        if theirs and theirs != mine:
            found.append((disc.num, disc.author, theirs))
    return found


class RateLimiter:
    """At most one write every `interval` seconds across threads (a batch --push is polite to the Hub)."""

    def __init__(self, interval: float = 0.0):
        self.interval = max(0.0, float(interval))
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


def check_write_token(api, repo_id: str, token: str | None) -> str:
    """The user name behind a write token; one clear line for a missing, read-only or under-scoped token."""
    if not token:
        raise HubWriteError(
            f"{repo_id}: --push needs a Hugging Face token with write access; set HF_TOKEN or run `hf auth login`"
        )
    me = hub_read(repo_id, api.whoami)
    access = (me.get("auth") or {}).get("accessToken") or {}
    if access.get("role") == "read":
        raise HubWriteError(f"{repo_id}: the token is read-only; --push needs a write token")
    if access.get("role") == "fineGrained":
        missing = _fine_grained_gap(access.get("fineGrained") or {}, repo_id, me.get("name"))
        if missing:
            raise HubWriteError(
                f"{repo_id}: the fine-grained token lacks {missing}; add it to the token at "
                "https://huggingface.co/settings/tokens (or use a write token)"
            )
    return me.get("name")


def _fine_grained_gap(info: dict, repo_id: str, user: str | None) -> str | None:
    """Which permission a fine-grained token lacks to open a pull request on `repo_id`, or None when it has
    what it needs (or when the token info does not say: then the server decides)."""
    scoped = info.get("scoped")
    if not isinstance(scoped, list):
        return None
    perms: set[str] = set(info.get("global") or [])
    for item in scoped:
        entity = (item or {}).get("entity") or {}
        name, kind = str(entity.get("name") or ""), entity.get("type")
        if (kind == "model" and name == repo_id) or (kind in ("user", "org") and repo_id.startswith(name + "/")):
            perms |= set(item.get("permissions") or [])
    if "repo.write" in perms or "discussion.write" in perms:
        return None
    return "the 'discussion.write' permission (open pull requests) on this repo"


PR_INTERVAL_S = 10.0  # a batch --push writes at most one commit or pull request every 10 s (360 an hour)

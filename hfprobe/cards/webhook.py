"""Keep cards current: a webhook server that annotates a model repo each time its content changes on the Hub.

The Hub calls the server (huggingface_hub's `WebhooksServer`, a FastAPI app under Gradio) with a JSON payload
and the secret it was registered with. The server checks the secret (missing: 401, wrong: 403; nothing is
queued), parses the payload (malformed: 400 and one log line), keeps only content updates of a model repo's
main branch (other repo types, deletions, discussion events and commits to pull-request branches, our own
included, are acknowledged and ignored), and queues one job per repo and revision: a repeated delivery of
the same event is a duplicate, not a second job. A few worker threads take jobs from the bounded queue and
annotate the repo as `hfprobe annotate REPO --push` does (one pull request, opened or updated only when the
findings change). A failure the Hub may recover from (network, HTTP 5xx) is retried with backoff, then
recorded as failed; the server keeps serving either way.

    queue = AnnotationQueue(lambda repo, rev: annotate_repo(repo, push=True), workers=2)
    server = create_server(queue, secret="…")          # WebhooksServer with POST /webhooks/hfprobe
    server.launch(server_name="0.0.0.0", server_port=7860)

Registering the webhook on the Hub and running this as a Space: docs/cards.md. (No `from __future__ import
annotations` here: FastAPI reads the endpoint's annotations as objects.)
"""

import collections
import dataclasses
import json
import logging
import queue as _queue
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from ..errors import HfprobeError, HubWriteError, NetworkError, UsageError

log = logging.getLogger(__name__)

PATH = "hfprobe"  # the endpoint is POST /webhooks/hfprobe


@dataclasses.dataclass
class Job:
    """One repo to annotate, and what became of it."""

    repo_id: str
    revision: str | None
    status: str = "queued"  # queued | running | annotated | unchanged | skipped | failed
    reason: str = ""
    attempts: int = 0
    written: str | None = None
    received: float = dataclasses.field(default_factory=time.time)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def target_of(payload: dict) -> tuple[str | None, str | None, str]:
    """(repo id, revision, "") for an event to act on, or (None, None, why it is ignored).

    `payload` is the Hub's JSON (webhook version 3), already checked against huggingface_hub's
    `WebhookPayload`.

    >>> target_of({"event": {"action": "update", "scope": "repo.content"},
    ...            "repo": {"type": "model", "name": "org/lora", "headSha": "abc"},
    ...            "updatedRefs": [{"ref": "refs/heads/main", "newSha": "abc"}]})
    ('org/lora', 'abc', '')
    >>> target_of({"event": {"action": "update", "scope": "repo.content"}, "repo": {"type": "model", "name": "o/m"},
    ...            "updatedRefs": [{"ref": "refs/pr/3", "newSha": "def"}]})[2]
    'a pull request branch changed, not main'
    """
    event, repo = payload.get("event") or {}, payload.get("repo") or {}
    if repo.get("type") != "model":
        return None, None, f"a {repo.get('type') or 'non-model'} repo, not a model"
    if event.get("action") == "delete":
        return None, None, "the repo was deleted"
    if event.get("scope") != "repo.content" or event.get("action") != "update":
        return None, None, f"event {event.get('scope')}/{event.get('action')} is not a content update"
    refs = payload.get("updatedRefs")
    revision = repo.get("headSha") or repo.get("head_sha")
    if refs:  # a commit to refs/pr/N (our own pull request's, say) is not a change to the card's repo
        main = [r for r in refs if (r or {}).get("ref") in ("refs/heads/main", "main")]
        if not main:
            return None, None, "a pull request branch changed, not main"
        if not main[0].get("newSha"):
            return None, None, "main was deleted"
        revision = main[0]["newSha"]
    return repo.get("name"), revision, ""


def parse_payload(body: bytes) -> dict:
    """The payload as a dict, checked against huggingface_hub's `WebhookPayload`; ValueError if malformed."""
    from huggingface_hub import WebhookPayload

    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"not JSON ({err})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    try:
        WebhookPayload.model_validate(data)
    except Exception as err:  # pydantic's ValidationError: name the first field that is wrong
        errors = getattr(err, "errors", lambda: [])()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
        raise ValueError(f"{where}: {first.get('msg') or type(err).__name__}") from None
    return data


def transient(err: Exception) -> bool:
    """A failure that may go away on its own: the network, the Hub answering 5xx / 429, or a push that raced ours."""
    if isinstance(err, NetworkError):
        return True
    return isinstance(err, HubWriteError) and ("try again later" in str(err) or str(err).endswith("rerun"))


class AnnotationQueue:
    """A bounded queue of repos to annotate, worked by a few threads, deduplicated by (repo, revision).

    `annotate(repo_id, revision)` does the work (returns an object with `.status`, `.reason`, `.written`, or
    raises hfprobe's typed errors). Transient failures are retried `attempts` times in all, waiting `backoff`,
    then twice that, ...; then the job is recorded as failed. `history` keeps the last `remember` jobs.

    >>> q = AnnotationQueue(lambda repo, rev: None, workers=1)
    >>> q.submit("org/m", "abc"), q.submit("org/m", "abc")
    ('queued', 'duplicate')
    >>> q.close()
    """

    def __init__(
        self,
        annotate: Callable,
        *,
        workers: int = 2,
        maxsize: int = 64,
        attempts: int = 3,
        backoff: float = 5.0,
        remember: int = 1024,
        on_done: Callable[[Job], None] | None = None,
    ):
        if workers < 1 or maxsize < 1 or attempts < 1:
            raise UsageError("the webhook queue needs at least 1 worker, 1 place and 1 attempt")
        self._annotate, self._attempts, self._backoff, self._on_done = annotate, attempts, backoff, on_done
        self._on_done_failed: str | None = None  # the last error of on_done, logged once, not once per job
        self._queue: _queue.Queue = _queue.Queue(maxsize=maxsize)
        self._lock = threading.Lock()
        self._known: collections.OrderedDict[tuple, Job] = collections.OrderedDict()  # (repo, rev) -> job
        self._remember = remember
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"hfprobe-webhook-{i}", daemon=True) for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, repo_id: str, revision: str | None) -> str:
        """'queued', 'duplicate' (this repo and revision is queued, running or done), or 'busy' (queue full)."""
        key = (repo_id, revision)
        with self._lock:
            old = self._known.get(key)
            if old is not None and (revision is not None or old.status in ("queued", "running")):
                return "duplicate"
            job = Job(repo_id, revision)
            try:
                self._queue.put_nowait(job)
            except _queue.Full:
                return "busy"
            self._known[key] = job
            self._known.move_to_end(key)
            while len(self._known) > self._remember:
                self._known.popitem(last=False)
        return "queued"

    def history(self) -> list[dict]:
        """The jobs remembered, oldest first."""
        with self._lock:
            return [j.to_json() for j in self._known.values()]

    def join(self, timeout: float = 30.0) -> bool:
        """Wait until every queued job is done, its outcome recorded (True), or `timeout` seconds (False)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:  # (a job's status is final before on_done has written it: the queue counts both)
                running = any(j.status in ("queued", "running") for j in self._known.values())
                busy = running or self._queue.unfinished_tasks
            if not busy:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self._stop.set()

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._queue.get(timeout=0.2)
            except _queue.Empty:
                continue
            try:
                self._run(job)
            finally:
                self._queue.task_done()

    def _run(self, job: Job) -> None:
        job.status = "running"
        for attempt in range(1, self._attempts + 1):
            job.attempts = attempt
            try:
                res = self._annotate(job.repo_id, job.revision)
            except HfprobeError as err:
                if transient(err) and attempt < self._attempts:
                    log.info("webhook: %s: %s; retrying (attempt %d of %d)", job.repo_id, err, attempt, self._attempts)
                    time.sleep(self._backoff * 2 ** (attempt - 1))
                    continue
                job.status, job.reason = "failed", str(err)
                break
            except Exception as err:  # noqa: BLE001 - a bug of ours must not stop the server
                job.status, job.reason = "failed", f"internal error ({type(err).__name__})"
                break
            job.status = getattr(res, "status", None) or "annotated"
            job.reason, job.written = getattr(res, "reason", "") or "", getattr(res, "written", None)
            break
        level = logging.WARNING if job.status == "failed" else logging.INFO
        log.log(
            level,
            "webhook: %s@%s: %s%s",
            job.repo_id,
            (job.revision or "")[:12],
            job.status,
            f" ({job.reason})" if job.reason else "",
        )
        if self._on_done is not None:
            self._record(job)

    def _record(self, job: Job) -> None:
        """Call on_done; its failure (a log file that cannot be written, say) is logged, and never stops a worker:
        the annotation is done and in `history()` either way."""
        try:
            self._on_done(job)
        except Exception as err:  # noqa: BLE001 - recording the outcome must not kill the thread doing the work
            why = f"{type(err).__name__}: {err}"
            if why != self._on_done_failed:  # once per distinct failure, not once per job
                self._on_done_failed = why
                log.warning("webhook: cannot record the outcome of %s (%s); the server keeps working", job.repo_id, why)
            return
        self._on_done_failed = None


def create_server(queue: AnnotationQueue, *, secret: str, ui=None):
    """huggingface_hub's `WebhooksServer` with one endpoint, POST /webhooks/hfprobe, feeding `queue`.

    Answers: 200 {"status": "queued" | "duplicate" | "ignored", ...}; 400 for a malformed payload; 401/403
    for a missing/wrong `X-Webhook-Secret` (checked by huggingface_hub before our code runs); 503 when the
    queue is full (the Hub retries later).
    """
    if not secret:
        raise UsageError(
            "webhook serve needs a secret (--secret or WEBHOOK_SECRET), the same one the webhook was created with"
        )
    from fastapi import Request
    from fastapi.responses import JSONResponse
    from huggingface_hub import WebhooksServer

    with warnings.catch_warnings():  # its "experimental" notice is for its own users, not ours: here only, no global
        warnings.filterwarnings("ignore", message=".*WebhooksServer.*experimental", category=UserWarning)
        server = WebhooksServer(ui=ui if ui is not None else _status_ui(queue), webhook_secret=secret)

    async def hfprobe(request: Request):  # a real class, not a string: FastAPI injects the request by its type
        body = await request.body()
        try:
            payload = parse_payload(body)
        except ValueError as err:
            log.warning("webhook: malformed payload from %s: %s", getattr(request.client, "host", "?"), err)
            return JSONResponse({"error": f"malformed payload: {err}"}, status_code=400)
        repo_id, revision, why = target_of(payload)
        if repo_id is None:
            return {"status": "ignored", "reason": why}
        status = queue.submit(repo_id, revision)
        if status == "busy":
            return JSONResponse({"status": "busy", "repo": repo_id}, status_code=503)
        return {"status": status, "repo": repo_id, "revision": revision}

    server.add_webhook(f"/{PATH}")(hfprobe)
    return server


def _status_ui(queue: AnnotationQueue):
    """The page a Space shows: what this server does and the jobs it remembers (read-only)."""
    import gradio as gr

    with gr.Blocks(title="hfprobe webhook") as ui:
        gr.Markdown(
            "# hfprobe webhook\nOn each content update of a watched model repo, this server reads the weights "
            "and opens (or updates) one pull request with the `base_model` and findings for the model card. "
            f"Endpoint: `POST /webhooks/{PATH}` (needs the webhook secret)."
        )
        table = gr.JSON(label="recent jobs")
        gr.Button("Refresh").click(lambda: queue.history()[-50:], None, table)
        ui.load(lambda: queue.history()[-50:], None, table)
    return ui


def serve(
    *,
    secret: str,
    token: str | None = None,
    workers: int = 2,
    queue_size: int = 64,
    attempts: int = 3,
    pr_interval: float = 10.0,
    host: str = "127.0.0.1",
    port: int = 7860,
    log_file: str | None = None,
    block: bool = True,
):
    """Run the webhook server until interrupted (what `hfprobe webhook serve` does). Returns the server and
    its queue when `block` is False (tests, notebooks)."""
    from ..config import check_output_path
    from .annotate import annotate_repo
    from .pull_request import RateLimiter

    if log_file:  # at startup, not at the first event: a log that cannot be written is one line and exit 2
        check_output_path(log_file, "--log")
    limiter = RateLimiter(pr_interval)
    write_lock = threading.Lock()

    def record(job: Job) -> None:
        if log_file:
            with write_lock:
                Path(log_file).parent.mkdir(parents=True, exist_ok=True)
                with open(log_file, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(job.to_json()) + "\n")

    queue = AnnotationQueue(
        lambda repo, rev: annotate_repo(repo, push=True, token=token, limiter=limiter),
        workers=workers,
        maxsize=queue_size,
        attempts=attempts,
        on_done=record,
    )
    server = create_server(queue, secret=secret)
    try:
        server.launch(prevent_thread_lock=not block, share=False, server_name=host, server_port=port, quiet=True)
    except OSError as err:  # Gradio's "cannot find empty port", an address of another machine
        queue.close()
        raise UsageError(
            f"webhook serve: cannot listen on {host}:{port} ({' '.join(str(err).split())[:160]}); pass a free --port "
            "and an address of this machine as --host (127.0.0.1, or 0.0.0.0 for every interface)"
        ) from None
    return server, queue

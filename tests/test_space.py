"""The Space (hfprobe/space/), driven against the app launched in this process on 127.0.0.1: gradio_client
(the API a script would use) and a real headless Chromium through Playwright (what a person sees).

It is a public service: Hub repo ids and uploads only, every refusal a gr.Error of one line that shows no server
path, token or traceback, the same refusal whatever exists on the server, a time limit on every request, and the
visitor's own token (never the server's) for the Hub. Inspect runs on a real third-party adapter from the realzoo;
search on a small index in the real MiniLM text space."""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

import pytest

from hfprobe.search.index import ModelIndex
from hfprobe.search.rows import IndexRow, embed_categories

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
INSPECT_SAMPLE = "peft-haresh-bert-sentiment"  # 1.2 MB PEFT LoRA on BERT, from the realzoo
WRITE, READ = "hf_WriteTokenForSpaceTest1", "hf_ReadTokenForSpaceTest12"
API = {
    "/inspect": ["source"],
    "/inspect_file": ["file"],
    "/predict": ["source", "labels"],
    "/predict_file": ["file", "labels"],
    "/search": ["query", "tree", "top_k"],
    "/open_pr": ["source"],
}
# text that is not a Hub model repo: existing, missing, a directory, traversal (in a repo path too), absolute,
# URL-encoded, other hosts' URLs, a dataset, other
NOT_REPO_IDS = [
    "/etc/passwd",
    "/nonexistent/x",
    "/usr/lib",
    "../../etc/passwd",
    "org/../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2Fetc%2Fpasswd",
    "file:///etc/passwd",
    "https://evil.example/org/name",
    "https://huggingface.co/datasets/org/name",
    "https://huggingface.co/org/name/blob/main/../../etc/passwd",
    "hf://org/name/sub/..%2F..%2Fetc",
    "hf://org/name@../../etc/passwd",
    "https://huggingface.co/org/name/tree/main/sub%2F..%2F..%2Fx",
    "~/.bashrc",
    ".",
    "hfprobe",
    "tests/../hfprobe",
    "org/name/",
    "org//name",
    "org/name@../../x",
    "C:\\Windows\\system.ini",
    "org/na me",
    "x" * 400 + "/y",
    "",
]


# a Hub model repo as the CLI takes one -> (repo_id, revision, path in the repo)
HUB_FORMS = {
    "org/name@refs/pr/1": ("org/name", "refs/pr/1", None),
    "https://huggingface.co/org/name": ("org/name", None, None),
    "huggingface.co/org/name/tree/v1": ("org/name", "v1", None),
    "https://huggingface.co/org/name/tree/refs%2Fpr%2F2": ("org/name", "refs/pr/2", None),
    "https://huggingface.co/org/name/blob/main/sub/w.safetensors": ("org/name", "main", "sub/w.safetensors"),
    "hf://org/name": ("org/name", None, None),
    "hf://models/org/name@v2/sub": ("org/name", "v2", "sub"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(demo):
    from hfprobe.space.guard import max_upload_bytes

    port = _free_port()
    demo.queue().launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        max_file_size=max_upload_bytes(),
        show_error=False,
    )
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="session")
def space_index(tmp_path_factory):
    from hfprobe.text.encoders import get_text_encoder

    enc = get_text_encoder("minilm")
    rows = []
    for rid, root, cats in [
        ("org/dog-lora", "runwayml/stable-diffusion-v1-5", [("dog", 0.9), ("cat", 0.1)]),
        ("org/plane-lora", "runwayml/stable-diffusion-v1-5", [("airplane", 0.95)]),
        ("org/bird-vit", "google/vit-base-patch16-224", [("bird", 0.8)]),
    ]:
        cats = [{"label": lab, "score": s} for lab, s in cats]
        rows.append(
            IndexRow(
                id=rid,
                source=rid,
                embedding=embed_categories(cats, enc),
                text_encoder="minilm",
                repo=rid,
                root=root,
                family=root.split("/")[0],
                categories=cats,
                url=f"https://huggingface.co/{rid}",
            )
        )
    path = tmp_path_factory.mktemp("space") / "index"
    ModelIndex(path).add(rows)
    return path


@pytest.fixture(scope="session")
def app(space_index):
    from hfprobe.space import app as mod

    demo = mod.create_app(index_dir=str(space_index), oauth=False)
    yield mod, _launch(demo), demo
    demo.close()


@pytest.fixture(scope="session")
def client(app):
    from gradio_client import Client

    return Client(app[1], verbose=False)


@pytest.fixture()
def sample(realzoo, tmp_path):
    src = realzoo / "files" / INSPECT_SAMPLE
    weights = next(src.glob("*.safetensors"))
    dest = tmp_path / "adapter_model.safetensors"
    shutil.copy(weights, dest)
    return dest


@pytest.fixture()
def hub(tmp_path):
    from tests.fakehub import FakeHub
    from tests.fakehub_write import install_write

    hub = FakeHub(tmp_path / "hub")
    install_write(hub)
    hub.tokens = {WRITE: "write", READ: "read"}
    return hub


def _refusal(client, *args, api_name, **kw):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict(*args, api_name=api_name, **kw)
    return str(info.value)


def _clean(message: str) -> None:
    """What a visitor may see: one line, no server path, temp path, token or traceback."""
    assert "\n" not in message and "Traceback" not in message and "hf_" not in message.replace("hf_***", "")
    for secret in ("/tmp", str(Path.home()), str(REPO), "gradio/", "site-packages"):
        assert secret not in message, message


def test_api_names_every_endpoint_and_parameter(app):
    info = app[2].get_api_info()
    assert info["unnamed_endpoints"] == {}
    got = {name: [p["parameter_name"] for p in ep["parameters"]] for name, ep in info["named_endpoints"].items()}
    assert got == API
    assert {n for n, ep in info["named_endpoints"].items() if ep.get("oauth_token")} == {
        "/inspect",
        "/predict",
        "/open_pr",
    }


def test_on_a_space_users_sign_in(space_index, monkeypatch):
    """On a Space (SYSTEM=spaces) the page has Sign in with Hugging Face and no token box, and the same API."""
    import gradio.oauth

    from hfprobe.space.app import create_app

    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.setenv("SPACE_ID", "tester/hfprobe")
    for key in ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OAUTH_SCOPES"):  # what the Hub injects with hf_oauth
        monkeypatch.setattr(gradio.oauth, key, "x")
    monkeypatch.setattr(gradio.oauth, "OPENID_PROVIDER_URL", "http://127.0.0.1:9")
    demo = create_app(index_dir=str(space_index))
    assert demo.expects_oauth
    assert not [b for b in demo.blocks.values() if getattr(b, "type", None) == "password"]
    info = demo.get_api_info()
    names = {n: [p["parameter_name"] for p in ep["parameters"]] for n, ep in info["named_endpoints"].items()}
    assert {k: v for k, v in names.items() if k in API} == API and info["unnamed_endpoints"] == {}
    assert set(names) - set(API) == {"/_check_login_status"}  # gradio's own, for the sign-in button


def test_search_through_gradio_client(client):
    status, table = client.predict("a puppy", "all trees", 3, api_name="/search")
    rows = table["data"]
    assert status.startswith("3 models")
    assert "org/dog-lora" in rows[0][2] and "huggingface.co/org/dog-lora" in rows[0][2]
    assert rows[0][1] > rows[-1][1] and rows[0][4].startswith("closest to the text: dog (predicted 0.90)")
    # the trees to pick are trees: google/vit-base-patch16-224 was tuned from its in21k checkpoint, whose tree it is in
    vit = "google/vit-base-patch16-224-in21k"
    _, table = client.predict("a puppy", vit, 10, api_name="/search")
    assert [r[2:4] for r in table["data"]] == [["[org/bird-vit](https://huggingface.co/org/bird-vit)", vit]]


def test_search_bad_input_is_a_gr_error(client, app, tmp_path):
    assert "query is empty" in _refusal(client, "   ", "all trees", 5, api_name="/search")
    msg = _refusal(client, "dog", "all trees", 0, api_name="/search")  # gradio's slider bounds, or ours
    assert "less than minimum value 1" in msg or "top_k must be" in msg
    assert "over 300 characters" in _refusal(client, "d" * 301, "all trees", 5, api_name="/search")
    msg = _refusal(client, "dog", "no/such-tree", 5, api_name="/search")
    assert "not in the list of choices" in msg or "unknown tree" in msg
    from gradio import Error

    from hfprobe.space.endpoints import search_fn

    with pytest.raises(Error, match="no search index yet"):
        search_fn(str(tmp_path / "none"))("dog", "all trees", 5)


def test_examples_and_about_return_results(app, space_index):
    """The page's examples come from its index, and every one of them finds models; the About's command-line query
    finds, in the tree it names, a model with that label first."""
    from hfprobe.space.app import _index_facts, about_text
    from hfprobe.space.endpoints import search_fn

    trees, queries, repos, about_example = _index_facts(str(space_index))
    assert queries and set(repos) <= {"org/dog-lora", "org/plane-lora", "org/bird-vit"} and repos
    search = search_fn(str(space_index))
    for q in queries:
        assert search(q, "all trees", 10)[0].endswith("models")
    about = about_text(about_example)
    line = next(ln for ln in about.splitlines() if ln.startswith("hfprobe query"))
    text = line.split('"')[1]
    tree = line.split("--tree ")[1].strip()
    assert text == queries[0] and tree in trees
    top = ModelIndex(space_index, create=False).query(text, tree=tree, top_k=5)[0]
    assert top["score"] is not None and text.removeprefix("a photo of a ") in {c["label"] for c in top["categories"]}


@pytest.mark.parametrize("endpoint", ["/inspect", "/predict", "/open_pr"])
def test_text_that_is_not_a_repo_id_is_refused_alike(client, app, endpoint):
    """Whatever exists on the server (a file, a folder, nothing), the answer is the same line."""
    answers = set()
    for text in NOT_REPO_IDS:
        args = (text, "") if endpoint == "/predict" else (text,)
        answers.add(_refusal(client, *args, api_name=endpoint))
    from hfprobe.space.guard import REFUSED

    assert answers == {REFUSED}, answers


def test_the_refusal_is_decided_before_any_filesystem_call(monkeypatch):
    import builtins

    from gradio import Error

    from hfprobe.space.guard import REFUSED, parse_repo_spec

    def no_fs(*a, **k):
        raise AssertionError("a filesystem call")

    for name in ("stat", "lstat", "listdir", "scandir", "access", "open"):
        monkeypatch.setattr(os, name, no_fs)
    monkeypatch.setattr(builtins, "open", no_fs)
    monkeypatch.setattr(os.path, "exists", no_fs)
    for text in NOT_REPO_IDS:
        with pytest.raises(Error) as info:
            parse_repo_spec(text)
        assert info.value.message == REFUSED
    for text, want in HUB_FORMS.items():
        assert parse_repo_spec(text) == want, text


def test_a_repo_id_is_read_from_the_hub_never_from_a_local_folder(client, hub, monkeypatch):
    """`hfprobe/data` is a folder of this checkout (the server's working directory): it is asked of the Hub."""
    monkeypatch.chdir(REPO)
    assert (REPO / "hfprobe" / "data").is_dir()
    with hub.serving():
        msg = _refusal(client, "hfprobe/data", api_name="/inspect")
    assert msg.startswith("hfprobe/data") and "not found" in msg.lower(), msg
    assert any(path.startswith("/api/models/hfprobe/data") for _, path, _ in hub.requests)
    _clean(msg)


def test_uploads_are_checked_before_they_are_read(client, app, tmp_path):
    from gradio import Error
    from gradio_client import handle_file

    from hfprobe.space import endpoints, guard

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01not a safetensors header at all" * 10)
    msg = _refusal(client, handle_file(str(junk)), api_name="/inspect_file")
    assert msg.startswith("junk.safetensors: not a safetensors file"), msg
    _clean(msg)
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    _clean(_refusal(client, handle_file(str(notes)), api_name="/inspect_file"))
    uploads = Path(guard.gr.utils.get_upload_folder()) / "hfprobe-test"
    uploads.mkdir(parents=True, exist_ok=True)
    big = uploads / "big.safetensors"
    with open(big, "wb") as fh:
        fh.truncate(guard.max_upload_bytes() + 1)  # sparse: costs no disk
    try:
        with pytest.raises(Error, match="upload limit"):
            endpoints.inspect_file(str(big))
    finally:
        big.unlink()
    # a path that gradio did not receive is never opened, whatever it names
    for path in ("/etc/passwd", str(junk), "/nonexistent/a.safetensors"):
        with pytest.raises(Error) as info:
            endpoints.inspect_file(path)
        assert info.value.message in (guard.UPLOAD_REFUSED,) or "not a .safetensors file" in info.value.message


def test_predict_on_an_uploaded_file(client, sample, monkeypatch):
    """/predict_file answers for an upload as /predict for a repo; the page's Predict button reads the upload where
    the repo box is empty (before: it read the repo box only and refused the empty text)."""
    from gradio import Error
    from gradio_client import handle_file

    from hfprobe.space import endpoints, guard

    monkeypatch.delenv("HFPROBE_EXPERTS", raising=False)
    monkeypatch.setenv("HFPROBE_CACHE", str(sample.parent / "cache"))  # no experts: the answer says why
    endpoints._expert_pool.cache_clear()
    try:
        note, _, pred = client.predict(handle_file(str(sample)), "", api_name="/predict_file")
        assert note.startswith("### `uploaded file adapter_model.safetensors`") and pred["source"].startswith("upl")
        uploads = Path(guard.gr.utils.get_upload_folder()) / "hfprobe-test-predict"
        uploads.mkdir(parents=True, exist_ok=True)
        shutil.copy(sample, uploads / sample.name)
        note2, _, pred2 = endpoints.predict_page("  ", str(uploads / sample.name), "", None)
        assert note2 == note and pred2 == pred
        with pytest.raises(Error) as info:
            endpoints.predict_page("", None, "", None)
        assert info.value.message == guard.REFUSED
        with pytest.raises(Error) as info:  # a path gradio did not receive is never opened
            endpoints.predict_page("", "/etc/passwd.safetensors", "", None)
        assert info.value.message == guard.UPLOAD_REFUSED
    finally:
        endpoints._expert_pool.cache_clear()
        shutil.rmtree(Path(guard.gr.utils.get_upload_folder()) / "hfprobe-test-predict", ignore_errors=True)


def test_a_client_cannot_name_a_server_file(app):
    """A raw API call whose file names a server path is refused by gradio, before our code runs."""
    import httpx

    url = app[1] + "gradio_api/call/inspect_file"
    payload = {"data": [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}]}
    event = httpx.post(url, json=payload, timeout=30).json()["event_id"]
    stream = httpx.get(f"{url}/{event}", timeout=60).text
    assert "event: error" in stream and "root:" not in stream and "/etc/passwd" not in stream.split("event: error")[1]


def test_time_limit_and_internal_errors(client, app, monkeypatch):
    from hfprobe.space import endpoints as mod

    monkeypatch.setenv("HFPROBE_SPACE_TIME_LIMIT", "0.5")

    def slow(*a, **k):
        time.sleep(3)

    monkeypatch.setattr(mod, "_inspect_outputs", slow)
    msg = _refusal(client, "org/slow-model", api_name="/inspect")
    assert msg.startswith("no answer within 0 s") or msg.startswith("no answer within 1 s"), msg
    monkeypatch.setenv("HFPROBE_SPACE_TIME_LIMIT", "60")

    def broken(*a, **k):
        raise KeyError(f"{Path.home()}/secret/path hf_abcdefghijklmnopqrs")

    monkeypatch.setattr(mod, "_inspect_outputs", broken)
    msg = _refusal(client, "org/any-model", api_name="/inspect")
    assert msg.startswith("internal error (KeyError)"), msg
    _clean(msg)


def test_inspect_upload_through_gradio_client(client, sample):
    from gradio_client import handle_file

    summary, bars, diff, raw = client.predict(handle_file(str(sample)), api_name="/inspect_file")
    assert "### `uploaded file adapter_model.safetensors`" in summary  # text from the file: a code span
    assert "**family:** `bert`" in summary and "**root:** `google-bert/bert-base-uncased`" in summary
    assert "evidence: `shapes:" in summary
    assert "+<!-- hfprobe:start -->" in diff and "bert-base-uncased" in diff
    assert raw["report"]["family"] == "bert"
    _clean(str(raw).replace("\n", " "))


def test_a_repo_is_read_in_every_form_the_cli_reads_it(client, hub):
    """A repo's web address (as pasted from a browser), its hf:// form and a folder inside it are read from the
    test Hub; /open_pr takes the whole repo only, whatever the form."""
    from tests.hub.faults import adapter_files

    files, _ = adapter_files()
    hub.add_repo("org/runs", {f"final/{n}": v for n, v in files.items()})
    hub.add_repo("org/lora", files)
    with hub.serving() as endpoint:
        for text in (f"{endpoint}/org/lora", "https://huggingface.co/org/lora/tree/main", "hf://org/lora"):
            summary, _, _, raw = client.predict(text, api_name="/inspect")
            assert summary.startswith("### `org/lora"), summary
            assert raw["report"]["family"] == "gpt2" and raw["report"]["files"] == ["adapter_model.safetensors"]
        for text in ("https://huggingface.co/org/runs/tree/main/final", "hf://org/runs/final"):
            _, _, _, raw = client.predict(text, api_name="/inspect")
            assert raw["report"]["files"] == ["final/adapter_model.safetensors"], text
        _, _, pred = client.predict("https://huggingface.co/org/runs/tree/main/final", "", api_name="/predict")
        assert pred["tree"]["family"] == "gpt2"
        msg = _refusal(client, "https://huggingface.co/org/runs/tree/main/final", api_name="/open_pr")
    assert msg == guard_message("WHOLE_REPO"), msg
    assert not hub.discussions.get("org/runs")


def guard_message(name: str) -> str:
    from hfprobe.space import guard

    return getattr(guard, name)


def test_inspect_predict_and_open_pr_with_the_visitors_token(client, app, realzoo, hub, monkeypatch):
    """A repo on the Hub at 127.0.0.1 (a real third-party adapter and its card): inspect shows the card diff;
    /predict answers for it; /open_pr needs the visitor's own token (gr.OAuthToken, sent by gradio_client as
    oauth_token): none is a refusal even with a server token set, a read token a readable refusal, a write token
    one pull request."""
    from gradio_client import Client

    src = realzoo / "files" / INSPECT_SAMPLE
    hub.add_repo("org/bert-sentiment", {p.name: p for p in src.iterdir() if p.is_file()})
    hub.add_repo("org/private-lora", {p.name: p for p in src.iterdir() if p.is_file()})
    hub.private.add("org/private-lora")
    monkeypatch.setenv("HF_TOKEN", WRITE)  # the Space's own secret: never used for a visitor
    with hub.serving():
        summary, _, diff, _ = client.predict("org/bert-sentiment", api_name="/inspect")
        assert "### `org/bert-sentiment`" in summary and "adapter_config.json base_model_name_or_path" in summary
        assert diff.startswith("--- a/README.md") and "+<!-- hfprobe:start -->" in diff
        note, _, pred = client.predict("org/bert-sentiment", "", api_name="/predict")
        assert note.startswith("### `org/bert-sentiment`") and pred["source"] == "org/bert-sentiment"
        assert "not found" in _refusal(client, "org/private-lora", api_name="/inspect").lower()
        assert "sign in with Hugging Face" in _refusal(client, "org/bert-sentiment", api_name="/open_pr")
        reader = Client(app[1], verbose=False, oauth_token=READ)
        refused = _refusal(reader, "org/bert-sentiment", api_name="/open_pr")
        assert "read-only" in refused and "hf_Read" not in refused
        summary, *_ = reader.predict("org/private-lora", api_name="/inspect")  # the visitor's token reads it
        assert "### `org/private-lora`" in summary
        writer = Client(app[1], verbose=False, oauth_token=WRITE)
        opened = writer.predict("org/bert-sentiment", api_name="/open_pr")
    assert opened.startswith("Pull request: ") and opened.endswith("/org/bert-sentiment/discussions/1"), opened
    [pr] = hub.discussions["org/bert-sentiment"]
    card = (hub.repo_dir("org/bert-sentiment", "refs/pr/1") / "README.md").read_text()
    assert pr["isPullRequest"] and "<!-- hfprobe:start -->" in card


def test_the_space_serves_experts_from_a_hub_repo(client, app, realzoo, hub, monkeypatch):
    """HFPROBE_EXPERTS names a published expert repo: the app loads it through the cache and routes to it."""
    from hfprobe.experts.publish import push_experts
    from hfprobe.space import endpoints
    from tests.test_expert_publish import make_expert

    src = realzoo / "files" / INSPECT_SAMPLE
    hub.add_repo("org/bert-sentiment", {p.name: p for p in src.iterdir() if p.is_file()})
    layer = "bert.encoder.layer.0.attention.self.query"
    expert = make_expert("bert", "google-bert/bert-base-uncased", layer=layer, shape=(768, 768), family="bert")
    folder = expert.save(Path(hub.root.parent) / "bert-expert")
    monkeypatch.setenv("HFPROBE_EXPERTS", "tester/bert-experts")
    endpoints._expert_pool.cache_clear()
    try:
        with hub.serving():
            push_experts(folder, "tester/bert-experts", token=WRITE)
            note, _, pred = client.predict("org/bert-sentiment", "", api_name="/predict")
    finally:
        endpoints._expert_pool.cache_clear()
    assert any(path.startswith("/api/models/tester/bert-experts") for _, path, _ in hub.requests)
    assert [c["expert"] for c in pred["routing"]["candidates"]] == ["bert"]  # routed against the Hub's expert
    assert note.startswith("### `org/bert-sentiment`")


def test_predict_labels_are_checked(client):
    msg = _refusal(client, "org/model", ",".join(f"l{i}" for i in range(101)), api_name="/predict")
    assert "at most 100" in msg


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"Debian chromium not installed at {CHROMIUM} (apt-get install chromium)"
)
def test_in_a_real_browser(app, tmp_path, request):
    """Load the page in headless Chromium, run a search (and an upload when available), screenshot, check text."""
    pw = pytest.importorskip("playwright.sync_api")
    url = app[1]
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            page.get_by_role("tab", name="Search").click()
            page.locator("#query textarea").fill("a puppy")
            page.locator("#search-btn").click()
            page.locator("#results").get_by_text("org/dog-lora").first.wait_for(timeout=60_000)
            assert "3 models" in page.locator("#search-status").inner_text()
            page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
            if (REPO.parent / "shared" / "realzoo").exists():
                sample = request.getfixturevalue("sample")
                page.get_by_role("tab", name="Inspect").click()
                page.locator("#upload input[type=file]").set_input_files(str(sample))  # the upload inspects
                page.locator("#inspect-summary").get_by_text("root:").first.wait_for(timeout=120_000)
                assert "google-bert/bert-base-uncased" in page.locator("#inspect-summary").inner_text()
                page.screenshot(path=str(tmp_path / "inspect.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "search.png").stat().st_size > 10_000

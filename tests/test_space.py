"""The Space (space/app.py), driven two ways against the app launched in this process on 127.0.0.1:
gradio_client (the API a script would use) and a real headless Chromium through Playwright (what a
person sees). Inspect runs on a real third-party adapter from the realzoo; search on a small index in
the real MiniLM text space."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
from pathlib import Path

import pytest

from hfprobe.search.index import IndexRow, ModelIndex, embed_categories

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
INSPECT_SAMPLE = "peft-haresh-bert-sentiment"  # 1.2 MB PEFT LoRA on BERT, from the realzoo


def _load_app():
    spec = importlib.util.spec_from_file_location("hfprobe_space_app", REPO / "space" / "app.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    mod = _load_app()
    demo = mod.create_app(index_dir=str(space_index))
    port = _free_port()
    demo.queue().launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        max_file_size=mod.MAX_UPLOAD_BYTES,
    )
    yield mod, f"http://127.0.0.1:{port}/"
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


def test_search_through_gradio_client(client):
    status, table = client.predict("a puppy", "all trees", 3, api_name="/search")
    rows = table["data"]
    assert status.startswith("3 models")
    assert "org/dog-lora" in rows[0][2] and "huggingface.co/org/dog-lora" in rows[0][2]
    assert rows[0][1] > rows[-1][1] and rows[0][4].startswith("closest to the text: dog (predicted 0.90)")
    _, table = client.predict("a puppy", "google/vit-base-patch16-224", 10, api_name="/search")
    assert [r[2] for r in table["data"]] == ["[org/bird-vit](https://huggingface.co/org/bird-vit)"]


def test_search_bad_input_is_a_message(client, app, tmp_path):
    status, table = client.predict("   ", "all trees", 5, api_name="/search")
    assert status.startswith("**Error:**") and "query text is empty" in status
    assert not [r for r in table["data"] if any(r)]
    status, _ = app[0].search_action("dog", None, 5, index_dir=str(tmp_path / "none"))
    assert "no index here" in status and "Traceback" not in status


def test_inspect_bad_inputs_are_messages(client, app, tmp_path):
    from gradio_client import handle_file

    mod = app[0]
    status, *_ = client.predict("", None, "", api_name="/inspect")
    assert "nothing to inspect" in status
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01not a safetensors header at all" * 10)
    status, *_ = client.predict("", handle_file(str(junk)), "", api_name="/inspect")
    assert status.startswith("**Error:**") and "junk.safetensors" in status and "Traceback" not in status
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    status, *_ = mod.inspect_action("", str(txt), "")
    assert "not a .safetensors file" in status
    big = tmp_path / "big.safetensors"
    with open(big, "wb") as fh:
        fh.truncate(mod.MAX_UPLOAD_BYTES + 1)  # sparse: costs no disk
    status, *_ = mod.inspect_action("", str(big), "")
    assert "upload limit" in status
    from tests.fakehub import FakeHub

    with FakeHub(tmp_path / "hub").serving():  # an empty Hub on 127.0.0.1: every repo is unknown
        status, *_ = mod.inspect_action("no-such-org/no-such-model", None, "")
    assert status.startswith("**Error:**") and "no-such-org/no-such-model" in status
    status = mod.pr_action(None, "tok")
    assert "inspect a repo id first" in status


def test_inspect_upload_through_gradio_client(client, sample):
    from gradio_client import handle_file

    status, summary, bars, diff, *_ = client.predict("", handle_file(str(sample)), "", api_name="/inspect")
    assert status == "Done.", status
    assert "**family:** bert" in summary and "**root:** google-bert/bert-base-uncased" in summary
    assert "evidence: shapes:" in summary and "no categories: no experts installed" in summary
    assert "+<!-- hfprobe:start -->" in diff and "bert-base-uncased" in diff


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"Debian chromium not installed at {CHROMIUM} (apt-get install chromium)"
)
def test_in_a_real_browser(app, tmp_path, request):
    """Load the page in headless Chromium, run a search (and an inspect when available), screenshot, check text."""
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
                page.locator("#upload input[type=file]").set_input_files(str(sample))
                page.locator("#inspect-btn").click()
                page.locator("#inspect-status").get_by_text("Done.").wait_for(timeout=120_000)
                assert "root:" in page.locator("#inspect-summary").inner_text()
                page.screenshot(path=str(tmp_path / "inspect.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "search.png").stat().st_size > 10_000


def test_inspect_hub_repo_then_open_pr(client, realzoo, tmp_path):
    """A repo on a Hub at 127.0.0.1 (real third-party adapter + its card): inspect shows the card diff; the
    button opens one pull request with a write token, and a read token gets a readable refusal."""
    from tests.fakehub import FakeHub
    from tests.fakehub_write import install_write

    src = realzoo / "files" / INSPECT_SAMPLE
    hub = FakeHub(tmp_path / "hub")
    install_write(hub)
    hub.tokens = {"hf_WriteTokenForSpaceTest1": "write", "hf_ReadTokenForSpaceTest12": "read"}
    hub.add_repo("org/bert-sentiment", {p.name: p for p in src.iterdir() if p.is_file()})
    with hub.serving():
        status, summary, _, diff = client.predict("org/bert-sentiment", None, "", api_name="/inspect")
        assert status == "Done.", status
        assert "### org/bert-sentiment" in summary and "adapter_config.json base_model_name_or_path" in summary
        assert diff.startswith("--- a/README.md") and "+<!-- hfprobe:start -->" in diff
        refused = client.predict("hf_ReadTokenForSpaceTest12", api_name="/open_pr")
        assert "read-only" in refused and "hf_Read" not in refused and "discussions" not in refused
        opened = client.predict("hf_WriteTokenForSpaceTest1", api_name="/open_pr")
    assert opened.startswith("Pull request: ") and opened.endswith("/org/bert-sentiment/discussions/1"), opened
    [pr] = hub.discussions["org/bert-sentiment"]
    assert (
        pr["isPullRequest"]
        and "<!-- hfprobe:start -->" in (hub.repo_dir("org/bert-sentiment", "refs/pr/1") / "README.md").read_text()
    )


def test_space_card_and_requirements():
    """The Space's README is a valid Space card pointing at app.py; requirements name the library."""
    from huggingface_hub import SpaceCard

    data = SpaceCard.load(REPO / "space" / "README.md").data
    assert data.sdk == "gradio" and (REPO / "space" / data.app_file).is_file()
    assert data.models and all("/" in m for m in data.models)
    reqs = [ln.split("#")[0].strip() for ln in (REPO / "space" / "requirements.txt").read_text().splitlines()]
    assert any(r.startswith("hfprobe") for r in reqs)

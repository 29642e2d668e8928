"""What names a Hub repo: URLs, hf:// URIs, org/name@rev, --revision; what is refused and how to write it."""

from __future__ import annotations

import json

import pytest

from hfprobe.errors import SourceNotFoundError, UsageError
from hfprobe.source.resolve import resolve, with_revision

from .faults import (
    REPO,
    WEIGHTS,
    adapter_files,
)


@pytest.mark.parametrize(
    "spec, repo, rev, path",
    [
        ("https://huggingface.co/org/name", "org/name", None, None),
        ("https://huggingface.co/org/name/tree/dev", "org/name", "dev", None),
        ("https://huggingface.co/org/name/tree/refs%2Fpr%2F2", "org/name", "refs/pr/2", None),
        ("https://huggingface.co/org/name/blob/v1/sub/w.safetensors", "org/name", "v1", "sub/w.safetensors"),
        (
            "https://huggingface.co/org/name/resolve/main/w.safetensors?download=true",
            "org/name",
            "main",
            "w.safetensors",
        ),
        ("https://hf.co/org/name", "org/name", None, None),
        ("huggingface.co/org/name", "org/name", None, None),
        ("hf://models/org/name@refs/pr/3/w.safetensors", "org/name", "refs/pr/3", "w.safetensors"),
        ("org/name@refs/pr/3", "org/name", "refs/pr/3", None),
    ],
)
def test_hub_urls_and_uris(spec, repo, rev, path):
    src = resolve(spec)
    assert (src.kind, src.repo_id, src.revision, src.default_file) == ("hub", repo, rev, path)


def test_the_endpoints_own_urls_are_accepted(hub):
    src = resolve(f"{hub.endpoint}/{REPO}/tree/main")
    assert (src.repo_id, src.revision) == (REPO, "main")
    assert WEIGHTS in src.files()


def test_a_folder_of_a_hub_repo_is_read_as_the_model_in_it(hub, capsys):
    """A repo holding several runs' folders: the URL of one folder (what the Hub's file browser shows), its hf://
    form and its predict all read the model in that folder; a folder of two models still asks for one."""
    from hfprobe.cli import main

    files = {n: (hub.repo_dir(REPO) / n).read_bytes() for n in hub.files(REPO)}
    other, _ = adapter_files(seed=1)
    hub.add_repo("org/runs", {f"final/{n}": v for n, v in files.items()} | {f"draft/{n}": v for n, v in other.items()})
    hub.add_repo(
        "org/runs", {f"both/a/{n}": v for n, v in files.items()} | {f"both/b/{n}": v for n, v in other.items()}
    )
    for spec in (f"{hub.endpoint}/org/runs/tree/main/final", "hf://org/runs/final/", "hf://org/runs@main/final"):
        assert main(["inspect", spec, "--json"]) == 0, capsys.readouterr().err
        report = json.loads(capsys.readouterr().out)
        assert report["files"] == ["final/adapter_model.safetensors"] and report["family"] == "gpt2"
        assert report["declared"]["README.md base_model"] == "openai-community/gpt2"  # final/README.md, its own card
    assert main(["predict", "hf://org/runs/final", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tree"]["family"] == "gpt2"
    assert main(["inspect", "hf://org/runs/both"]) == 2
    assert "org/runs: holds 2 separate models (both/a/, both/b/); name one" in capsys.readouterr().err
    assert main(["inspect", "hf://org/runs/nowhere"]) == 2
    assert "nowhere: file not found in the repo" in capsys.readouterr().err


def test_a_hub_path_without_its_scheme_is_told_how_to_write_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # org/runs/final is a local path first: none here
    with pytest.raises(SourceNotFoundError, match=r"no such file or folder here; .* write hf://org/runs/final$"):
        resolve("org/runs/final")
    with pytest.raises(SourceNotFoundError, match=r"write https://huggingface.co/org/runs/blob/main/w.safetensors$"):
        resolve("org/runs/blob/main/w.safetensors")  # a web address pasted without its host


@pytest.mark.parametrize(
    "spec, message",
    [
        ("https://huggingface.co/datasets/org/data", "reads model repos, not datasets"),
        ("https://huggingface.co/spaces/org/app", "reads model repos, not spaces"),
        ("https://example.com/org/name", "not a Hub model"),
        ("https://huggingface.co/org/name/discussions/1", "not a Hub model"),
        ("hf://org/name/../../etc/passwd", "not a file path inside a repo"),
    ],
)
def test_urls_that_are_not_model_repos_are_refused(spec, message):
    with pytest.raises(SourceNotFoundError, match=message):
        resolve(spec)


def test_revision_flag_folds_into_the_spec(tmp_path):
    assert with_revision("org/name", "dev") == "org/name@dev"
    assert with_revision("https://huggingface.co/org/name", "dev") == "org/name@dev"
    assert resolve(with_revision("hf://org/name/w.safetensors", "feature/x")).revision == "feature/x"
    with pytest.raises(UsageError, match="names revision 'a' and --revision 'b'"):
        with_revision("org/name@a", "b")
    (tmp_path / "w.safetensors").write_bytes(b"")
    with pytest.raises(UsageError, match="is a local path"):
        with_revision(str(tmp_path / "w.safetensors"), "dev")


def test_cli_revision_pins_every_command_that_takes_a_repo(hub, capsys):
    from hfprobe.cli import build_parser, main

    old = hub.sha(REPO)
    new_files, _ = adapter_files(seed=1)
    hub.push(REPO, new_files)
    assert main(["inspect", REPO, "--revision", old, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["revision_sha"] == old
    assert main(["inspect", f"{REPO}@main", "--revision", old]) == 2
    assert "give one" in capsys.readouterr().err
    parser = build_parser()
    for argv in (["predict", REPO], ["annotate", REPO], ["index", "add", REPO], ["inspect", REPO]):
        args = parser.parse_args([*argv, "--revision", "v1", "--max-download", "1GB", "--max-unranged", "8MiB"])
        assert args.revision == "v1" and args.max_download == "1GB" and args.max_unranged == "8MiB", argv
    assert main(["inspect", REPO, "--max-unranged", "lots"]) == 2
    assert "--max-unranged 'lots'" in capsys.readouterr().err
